"""Spark: run a compiled model on a Spark session through Ibis's PySpark backend.

Nothing here is imported unless ``--engine spark`` (or :func:`connect_spark`) is asked for;
``pyspark`` comes with the ``crindex[spark]`` extra.

- The session time zone is pinned to UTC (``spark.sql.session.timeZone``): timestamps without a
  zone are read, cut at ``as_of`` and turned into dates in UTC, as DuckDB does.
- A data folder (``DIR/<table>.parquet`` or ``DIR/<table>.csv``, or a folder of part files under
  either name) is read by Spark itself, so the data never passes through the driver; the
  checks and the quality report of :func:`crindex.data.open_dataset` run on Spark (they are
  written in Ibis, :mod:`crindex.data.checks`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crindex.errors import DataError, EngineError, Problem, Reason

#: settings every crindex session gets (on top of what the cluster sets)
SESSION_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
#: extra settings for a local session started here (small machines, quiet logs)
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.log.level": "ERROR",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}
DEFAULT_MASTER = "local[2]"


def _pyspark() -> Any:
    try:
        import pyspark
    except ImportError:  # pragma: no cover - the extra is installed in dev and CI
        raise EngineError.single(
            Reason.ENGINE, "the spark engine needs pyspark, which is not installed",
            hint="pip install 'crindex[spark]' (pyspark 3.5 to 4.0 and a Java 17 runtime)",
        ) from None
    return pyspark


def parse_conf(items: Iterable[str]) -> dict[str, str]:
    """Spark settings written ``key=value`` (``--conf``, as ``spark-submit`` takes them).

    Every key must start with ``spark.`` (Spark ignores other keys, so a typo such as
    ``driver.memory=4g`` would be lost without a word); the value is what follows the first
    ``=`` (it may hold more). A key given twice keeps its last value, as ``spark-submit`` does.

    Raises
    ------
    EngineError
        Naming every malformed setting at once.
    """
    conf: dict[str, str] = {}
    problems: list[Problem] = []
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            problems.append(Problem(
                f"`{item}` is not a setting", "--conf",
                "write key=value, e.g. --conf spark.driver.memory=4g", Reason.BAD_PARAMETER))
        elif not key.startswith("spark."):
            problems.append(Problem(
                f"`{key}` is not a Spark setting (Spark ignores keys outside spark.*)", "--conf",
                f"did you mean spark.{key}? e.g. --conf spark.driver.memory=4g",
                Reason.BAD_PARAMETER))
        else:
            conf[key] = value
    if problems:
        raise EngineError(Reason.BAD_PARAMETER, problems, "bad --conf")
    return conf


def java_available() -> bool:
    """Whether a Java runtime can be found (``JAVA_HOME`` or ``java`` on ``PATH``)."""
    import shutil

    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def spark_session(master: str | None = None, app_name: str = "crindex",
                  conf: dict[str, str] | None = None) -> Any:
    """A Spark session for ``master``: ``local[N]``, ``spark://host:port``, ``yarn`` or ``sc://``.

    An ``sc://`` URL connects through Spark Connect. Without ``master`` the active session is
    reused (``spark-submit``, a Databricks job) or a ``local[2]`` one is started. The session
    time zone is set to UTC whatever the cluster's default. ``conf`` goes to the session
    builder (``spark.driver.memory`` and other settings read when the JVM starts take effect
    on a session started here); on an active session only settings Spark lets a running
    session change are set, and another is a clear error.
    """
    _pyspark()
    from pyspark.sql import SparkSession

    settings = dict(SESSION_CONF)
    if master is None:
        active = SparkSession.getActiveSession()
        if active is not None:
            _set_on_running(active, conf or {})
            for key, value in settings.items():
                active.conf.set(key, value)
            return active
        master = DEFAULT_MASTER
    if master.startswith("sc://"):
        builder = SparkSession.builder.remote(master)
    else:
        if not java_available():
            raise EngineError.single(
                Reason.ENGINE, "the spark engine needs a Java runtime and none was found",
                hint="install Java 17 (e.g. apt-get install openjdk-17-jre-headless) or set "
                "JAVA_HOME",
            )
        builder = SparkSession.builder.master(master)
        if master.startswith("local"):
            # tables Ibis creates go to a folder of this process, not ./spark-warehouse
            settings = {**LOCAL_CONF, "spark.sql.warehouse.dir": _local_warehouse(), **settings}
    builder = builder.appName(app_name)
    for key, value in {**settings, **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        raise EngineError.single(
            Reason.ENGINE, f"could not start a Spark session on {master}: {exc}",
            hint="check --master (local[2], spark://host:7077 or sc://host:15002)",
        ) from exc
    # getOrCreate may hand back an existing session: pin the zone on it too
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session


def _set_on_running(session: Any, conf: dict[str, str]) -> None:
    """Set ``conf`` on a running session; the settings it refuses are named in one error."""
    problems: list[Problem] = []
    for key, value in conf.items():
        try:
            session.conf.set(key, value)
        except Exception as exc:  # Spark's own refusal (a setting read when the JVM starts)
            problems.append(Problem(
                f"the running Spark session cannot change `{key}`: "
                f"{str(exc).splitlines()[0]}", "--conf",
                f"pass it where the session starts (spark-submit --conf {key}={value}), "
                "or give --master to start a session here", Reason.ENGINE))
    if problems:
        raise EngineError(Reason.ENGINE, problems, "cannot apply --conf")


def _local_warehouse() -> str:
    """A temporary warehouse folder for a local session, removed when the process exits."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="crindex-spark-warehouse-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _compiler() -> Any:
    """Ibis's PySpark compiler, writing float literals as ``DOUBLE``.

    Spark SQL reads ``6.0`` as ``DECIMAL(2,1)``, and arithmetic between decimals rounds each
    quotient to as few as 6 places (``4 / 2.9568788501026693`` is ``1.352778``): a weight
    share or a count per month would then differ from DuckDB's in the 7th digit. As
    ``CAST(6.0 AS DOUBLE)`` every literal takes part in floating-point arithmetic, as on DuckDB.
    """
    global _COMPILER
    if _COMPILER is None:
        import sqlglot.expressions as sge
        from ibis.backends.sql.compilers.pyspark import PySparkCompiler

        class DoubleLiteralCompiler(PySparkCompiler):
            def visit_NonNullLiteral(self, op: Any, *, value: Any, dtype: Any) -> Any:
                out = super().visit_NonNullLiteral(op, value=value, dtype=dtype)
                if dtype.is_floating() and isinstance(out, sge.Literal):
                    return sge.Cast(this=out, to=sge.DataType.build("DOUBLE"))
                return out

        _COMPILER = DoubleLiteralCompiler()
    return _COMPILER


_COMPILER: Any = None


def connect_spark(master: str | None = None, session: Any = None, **conf: str) -> Any:
    """An Ibis PySpark backend on ``session`` (or a new one for ``master``), zone pinned to UTC.

    The backend compiles float literals as ``DOUBLE`` (see :func:`_compiler`); other Ibis
    PySpark backends in the process are left as they are.
    """
    _pyspark()
    import ibis

    session = session if session is not None else spark_session(master, conf=conf or None)
    backend = ibis.pyspark.connect(session)
    backend.compiler = _compiler()
    # Ibis sets UTC as well; pin it here so it does not rest on another project's default
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return backend


def _is_url(folder: str | Path) -> bool:
    """``hdfs://``, ``s3a://``, ``abfss://``, ``dbfs:/``, ``file:/``: a path Spark resolves."""
    text = str(folder)
    return isinstance(folder, str) and ":" in text.split("/", 1)[0] and len(
        text.split(":", 1)[0]) > 1


def _hadoop_exists(backend: Any, url: str) -> bool | None:
    """Whether ``url`` exists, asked of the cluster's Hadoop file system (None: cannot ask)."""
    session = getattr(backend, "_session", None)
    jvm = getattr(session, "_jvm", None)
    if session is None or jvm is None:  # Spark Connect has no JVM on the client
        return None
    path = jvm.org.apache.hadoop.fs.Path(url)
    return bool(path.getFileSystem(session._jsc.hadoopConfiguration()).exists(path))


def find_tables(folder: str | Path, backend: Any = None) -> dict[str, tuple[str, str]]:
    """The contract tables in a data folder: ``{table: (format, path)}``.

    ``folder`` is a local folder or a URL the cluster reads (``hdfs://``, ``s3a://``,
    ``abfss://``, ``dbfs:/``), whose files are looked up through Spark's Hadoop file system.
    """
    from crindex.contract import CONTRACT

    url = _is_url(folder)
    root = str(folder).rstrip("/") if url else Path(folder)
    if not url and not Path(root).is_dir():
        raise DataError.single(
            Reason.DATA_NOT_FOUND, f"data folder {root} does not exist", str(root),
            "the spark engine reads a folder holding <table>.parquet or <table>.csv files",
        )

    def exists(path: str) -> bool:
        if not url:
            return Path(path).exists()
        known = _hadoop_exists(backend, path)
        return True if known is None and path.endswith(".parquet") else bool(known)

    found: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    for table in CONTRACT:
        hits = [(fmt, f"{root}/{table}.{fmt}") for fmt in ("parquet", "csv")
                if exists(f"{root}/{table}.{fmt}")]
        if len(hits) > 1:
            names = ", ".join(p.rsplit("/", 1)[1] for _, p in hits)
            problems.append(Problem(
                f"table `{table}` is there twice ({names})",
                str(root), "keep one of them", Reason.DATA_UNREADABLE))
        elif hits:
            found[table] = hits[0]
    if "customers" not in found and not problems:
        problems.append(Problem(
            "no customers table", str(root),
            "expected customers.parquet or customers.csv (see docs/data.md)",
            Reason.MISSING_TABLE))
    if problems:
        raise DataError(Reason.DATA_UNREADABLE, problems, f"cannot read {root} on Spark")
    return found


def read_raw(backend: Any, data: Any, model: Any, wanted: list[str],
             raw_table: Any) -> tuple[dict[str, tuple[Any, Any]], str, Any]:
    """The wanted tables of ``data`` as found, on Spark, each with ``_row``.

    ``data`` is a folder or URL the cluster reads (:func:`find_tables`) or a mapping of
    in-memory frames (sent through Arrow, so a NaN in a pandas float column arrives as null, as
    on DuckDB). The files are read by Spark itself, so the data never passes through the
    driver; CSV columns are read as text (no schema guessing: ids like ``007`` keep their
    zeros) and typed by :func:`crindex.data.checks.type_columns`. ``_row`` is the row's place
    in its file (the CSV line, the Parquet row), as DuckDB numbers it. A model's ``sources:``
    mapping is refused (see docs/spark.md). ``raw_table`` builds the data layer's description
    of a table as found (:class:`crindex.data.read.RawTable`; passed in, so that the engine does
    not import the data layer above it). Returns ``{table: (Ibis table, raw table)}``, and what
    was read (its kind and place) for messages.
    """
    from collections.abc import Mapping

    if model is not None and getattr(model, "sources", None):
        raise DataError.single(
            Reason.DATA_UNREADABLE,
            f"model `{model.name}` maps its data with sources: ({', '.join(model.sources)}), "
            "which the spark engine does not apply", str(data),
            "write the tables in the data contract's layout first (score once on DuckDB, or "
            "convert them), then score them on Spark without sources:",
        )
    session = backend._session
    out: dict[str, tuple[Any, Any]] = {}
    if isinstance(data, Mapping):
        for table in [t for t in wanted if t in data]:
            df = session.createDataFrame(_numbered_arrow(data[table]))
            rt = raw_table(_view(df, table), f"frame {table}", "frame", None,
                          [c for c in df.columns if c != "_row"])
            out[table] = (backend.table(rt.name), rt)
        return out, "frames", "in-memory frames"
    for table, (fmt, path) in find_tables(data, backend).items():
        if table not in wanted:
            continue
        try:
            if fmt == "parquet":
                df = session.read.parquet(path)
            else:
                df = session.read.csv(path, header=True, inferSchema=False, encoding="UTF-8",
                                      escape='"')
            df = _numbered(df, 2 if fmt == "csv" else 1)
        except Exception as exc:
            raise DataError.single(
                Reason.DATA_UNREADABLE, f"Spark could not read {path}: {exc}", str(path),
                "check the file is valid Parquet or CSV with a header row",
            ) from exc
        rt = raw_table(_view(df, table), path.rsplit("/", 1)[1], fmt, None,
                      [c for c in df.columns if c != "_row"], "line" if fmt == "csv" else "row")
        out[table] = (backend.table(rt.name), rt)
    return out, "spark", str(data)


def _view(df: Any, table: str) -> str:
    import uuid

    name = f"crindex_raw_{table}_{uuid.uuid4().hex[:8]}"
    df.createOrReplaceTempView(name)
    return name


def _numbered_arrow(frame: Any) -> Any:
    """A pandas, pyarrow or Ibis table as Arrow, with ``_row`` numbering its rows from 1."""
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        arrow = frame
    elif hasattr(frame, "to_pyarrow"):
        arrow = frame.to_pyarrow()
    else:
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
    from crindex.util import wall_clock

    arrow = wall_clock(arrow).combine_chunks()
    return arrow.append_column("_row", pa.array(range(1, arrow.num_rows + 1), pa.int64()))


def _numbered(df: Any, first: int) -> Any:
    """``df`` with ``_row``: the row's place in its file, counted from ``first``.

    A file is split into partitions in file order and each partition keeps its rows' order, so
    a row's place is the rows of the partitions before it plus its place in its own partition
    (the low 33 bits of ``monotonically_increasing_id``). One pass counts the partitions' rows.
    """
    from pyspark.sql import functions as F

    try:
        single = df.rdd.getNumPartitions() == 1
    except Exception:  # Spark Connect has no RDDs: count the partitions' rows below
        single = False
    if single:  # a small file: its one partition is in file order
        return df.withColumn("_row", F.monotonically_increasing_id() + first)
    df = df.withColumn("_mid", F.monotonically_increasing_id()) \
        .withColumn("_part", F.spark_partition_id())
    sizes = sorted((r["_part"], r["count"]) for r in df.groupBy("_part").count().collect())
    offsets: list[Any] = []
    total = 0
    for part, size in sizes:
        offsets += [F.lit(part), F.lit(total)]
        total += size
    before = F.create_map(*offsets)[F.col("_part")] if offsets else F.lit(0)
    within = F.col("_mid") - F.shiftleft(F.col("_part").cast("long"), 33)
    return df.withColumn("_row", (before + within + first).cast("long")).drop("_mid", "_part")


# --- ranks and moments across customers, without a window over everyone ------------------------

#: buckets of the distributed sort; each is ranked in its own window partition
BUCKETS = 64


def value_ranks(t: Any, column: str, buckets: int = BUCKETS) -> Any:
    """Every distinct non-null value of ``t[column]`` with the counts a rank needs, exactly.

    Columns: ``_v`` (the value), ``_below`` (rows with a smaller value), ``_same`` (rows with
    this value) and ``_n`` (rows with a value). A sort that stays distributed: the distinct
    values are cut into ``buckets`` ranges at approximate quantiles (one pass), each range is
    ranked in its own window partition, and a range's offset is the sum of the rows in the
    ranges below it (a window over at most ``buckets`` rows). The quantiles only balance the
    ranges: the counts are exact whatever they are.
    """
    import ibis

    x = t[column].cast("float64")
    values = t.select(_v=x).filter(ibis._._v.notnull())
    distinct = values.group_by("_v").aggregate(_same=ibis._.count())
    probs = [i / buckets for i in range(1, buckets)]
    cuts = distinct.aggregate(_q=distinct._v.approx_quantile(probs))
    cut = distinct.cross_join(cuts)
    # the range of a value: how many cuts lie below it (equal values share a range)
    bucket = sum((ibis.ifelse(cut._q[i] < cut._v, 1, 0) for i in range(buckets - 1)),
                 ibis.literal(0))
    ranged = cut.select("_v", "_same", _b=bucket)
    within = ibis.window(group_by=ranged._b, order_by=ranged._v, rows=(None, 0))
    ranged = ranged.mutate(_in=ranged._same.sum().over(within) - ranged._same)
    sizes = ranged.group_by("_b").aggregate(_size=ranged._same.sum())
    sizes = sizes.mutate(_off=sizes._size.cumsum(order_by=sizes._b) - sizes._size,
                         _n=sizes._size.sum().over())
    joined = ranged.join(sizes, "_b")
    return joined.select("_v", "_same", _below=joined._off + joined._in, _n=joined._n)


def populations(t: Any, wanted: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    """Add ranks (``"ranks"``) or mean and standard deviation (``"moments"``) of columns.

    Returns the table with helper columns ``_<kind>__<column>`` and, per column, the
    :class:`~crindex.engine.normalisers.Population` that refers to them. Ranks join on the
    value (one row per distinct value); moments come from one aggregate row cross-joined in
    (Spark broadcasts it). Rows keep their number and order of columns.
    """
    from crindex.engine.normalisers import Population

    # computed once and kept (lazily, on first use) in executor memory: the joins and sorts
    # below refer to ``t`` several times, and without the cache Spark would plan every
    # aggregation under it again for each reference (a plan that grows with every step and
    # ran out of driver memory on 3.6M interactions). Ibis's PySpark backend runs the cached
    # query without first registering the in-memory tables in it, as its execute() and
    # to_pyarrow() do: a fitted metric's predictions (crindex.engine.fit) would then be
    # TABLE_OR_VIEW_NOT_FOUND, so register them (and any UDF) here
    t._find_backend()._run_pre_execute_hooks(t)
    t = t.cache()
    out = t
    pops: dict[str, Population] = {}
    moments = [c for c, kind in wanted.items() if kind == "moments"]
    if moments:
        stats = t.aggregate(**{f"_mean__{c}": t[c].cast("float64").mean() for c in moments},
                            **{f"_std__{c}": t[c].cast("float64").std(how="pop")
                               for c in moments})
        out = out.cross_join(stats)
    for c in [c for c, kind in wanted.items() if kind == "ranks"]:
        ranks = value_ranks(t, c)
        ranks = ranks.rename({f"_v__{c}": "_v", f"_same__{c}": "_same",
                              f"_below__{c}": "_below", f"_n__{c}": "_n"})
        out = out.left_join(ranks, out[c].cast("float64") == ranks[f"_v__{c}"])
        out = out.drop(f"_v__{c}")
    for c in moments:
        pops[c] = Population(mean=out[f"_mean__{c}"], std=out[f"_std__{c}"])
    for c in [c for c, kind in wanted.items() if kind == "ranks"]:
        pops[c] = Population(n=out[f"_n__{c}"], below=out[f"_below__{c}"],
                             same=out[f"_same__{c}"])
    return out, pops
