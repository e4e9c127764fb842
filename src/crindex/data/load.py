"""One way in: any data to the checked canonical tables of the data contract.

:func:`open_dataset` takes a data folder, a single file, a DuckDB file, a PostgreSQL URL, a
mapping of table names to in-memory frames (pandas, pyarrow, Ibis), or any of the files on a
Spark backend. Every input takes the same steps: each table is read as found, with the place
of each row in the user's file (:mod:`crindex.data.read`; in-memory frames are registered in
DuckDB like a file, Spark reads files itself), its lookups joined on
(:mod:`crindex.data.shape`); the user's columns are mapped onto the contract's (``sources:`` in
the model: renames, units such as 万元 -> x10000, date formats, constants) and typed, the
contract's and the extra ones (``types:``, the columns a formula or a roll-up reads: one list,
``Typed.extras``); the derived columns are added (:mod:`crindex.data.derive`); then the checks
of :mod:`crindex.data.checks`, written once in Ibis, set aside the rows that cannot be used
(unreadable dates or numbers, missing keys, words outside a strict vocabulary, duplicate ids,
orphans, negative amounts, scores out of their scale) with their reason, never silently used;
the guardrails (:mod:`crindex.data.guardrails`) refuse a table that lost too many rows and,
given ``as_of``, data that is stale or starts after it. The clean lines of a table with a
``rollup:`` are then rolled up (customers ``from:`` another table are one per distinct id of
its typed rows). Everything found goes into the :class:`~crindex.data.quality.QualityReport`.
Skipping the checks is an explicit choice
(``checks=False``).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from crindex.contract import (
    CONTRACT,
    DEFAULTS,
    FALSE_WORDS,
    REQUIRED_COLUMNS,
    TIME_COLUMN,
    TRUE_WORDS,
    ibis_schema,
)
from crindex.data import shape
from crindex.data.checks import (
    Typed,
    check,
    id_sql,
    normalise_ids,
    type_columns,
    unseen_filters,
)
from crindex.data.derive import derive_columns
from crindex.data.guardrails import check_opened
from crindex.data.quality import QualityReport
from crindex.data.read import (
    RawTable,
    column_types,
    find_file,
    literal,
    number_sql,
    open_source,
    quote,
    read_duckdb_table,
    read_file,
    read_frame,
    read_url_table,
)
from crindex.errors import DataError, Problem, Reason
from crindex.model.expr import ExprError
from crindex.model.expr import columns as columns_read
from crindex.model.registry import AGGREGATES
from crindex.model.rules import Checking, metric_column_problems
from crindex.model.spec import EXCEL_SERIAL, CRIModel, SourceSpec

#: the order tables are checked in: orphans are judged against the cleaned customers
ORDER = tuple(CONTRACT)

#: date layouts tried after ISO when a model gives no date_format
DATE_FORMATS = ("%Y/%m/%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d",
                "%Y-%m-%d %H:%M", "%Y.%m.%d", "%d.%m.%Y", "%Y年%m月%d日")

#: the last day an Excel serial day number can name: 9999-12-31
EXCEL_LAST = 2958465

#: the DuckDB type of a constant given for a column of each contract type
DUCK_TYPES = {"id": "VARCHAR", "cat": "VARCHAR", "num": "DOUBLE", "ts": "TIMESTAMP",
              "bool": "BOOLEAN"}


@dataclass
class Dataset:
    """Canonical tables on one Ibis backend, with the quality report of their load."""

    con: Any
    tables: dict[str, ir.Table]
    quality: QualityReport
    sources: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> ir.Table:
        if name not in self.tables:
            raise DataError.single(
                Reason.MISSING_TABLE, f"the data has no `{name}` table", "",
                "tables loaded: " + ", ".join(sorted(self.tables)),
            )
        return self.tables[name]


def model_columns(model: CRIModel | None) -> dict[str, set[str]]:
    """The contract columns each table must have for ``model`` to be scored."""
    from crindex.model.loader import metric_table

    needed: dict[str, set[str]] = {"customers": {"customer_id"}}
    if model is None:
        return needed
    for _, m in model.metrics:
        table = metric_table(m)
        cols = needed.setdefault(table, set(REQUIRED_COLUMNS.get(table, ())))
        info = AGGREGATES[m.aggregate]
        # events are cut at as_of by their time; a customer without created_at is scored
        # (active since ever), so customers need it only to count tenure
        if table != "customers" or info.name == "tenure_days":
            cols.add(TIME_COLUMN[table])
        parts: list[Any] = [m] + [p for p in (m.numerator, m.denominator) if p is not None]
        for p in parts:
            if p.column:
                cols.add(p.column)
            if p.kind:
                cols.add("kind")
            cols.update((p.where or {}).keys())
        cols.update(info.reads)
    for flag in model.flags:
        cols = needed.setdefault(flag.table, set(REQUIRED_COLUMNS.get(flag.table, ())))
        if flag.table != "customers":
            cols.add(TIME_COLUMN[flag.table])
        if flag.kind:
            cols.add("kind")
        cols.update((flag.where or {}).keys())
    for table, cols in needed.items():
        cols &= set(CONTRACT[table])
    return needed


def model_values(model: CRIModel | None) -> dict[str, dict[str, set[str]]]:
    """Per table and column, the words the model's metrics filter on (``kind: login``, ...)."""
    from crindex.model.loader import metric_table
    from crindex.model.rules import part_filters

    found: dict[str, dict[str, set[str]]] = {}
    for _, m in (model.metrics if model else []):
        table = metric_table(m)
        parts: list[Any] = [m] + [p for p in (m.numerator, m.denominator) if p is not None]
        for p in parts:
            cols = found.setdefault(table, {})
            for col, words in part_filters(p).items():
                cols.setdefault(col, set()).update(words)
    return found


def open_dataset(
    data: Any,
    model: CRIModel | None = None,
    as_of: dt.date | str | None = None,
    *,
    quarantine_dir: str | Path | None = None,
    con: Any = None,
    tables: Iterable[str] | None = None,
    checks: bool = True,
    guardrails: bool = True,
) -> Dataset:
    """Open ``data`` as checked canonical tables: the one way in for every input.

    Parameters
    ----------
    data
        A folder holding ``<table>.csv|.parquet|.xlsx|.txt`` files (or the files
        ``model.sources`` names), one such file (its name is its table), a DuckDB file, a
        ``postgresql://`` URL, a mapping of contract table names to pandas, pyarrow or Ibis
        tables, or an opened :class:`Dataset` (returned as it is). On a Spark backend
        (``con``), a folder or URL the cluster reads, or a mapping of frames.
    model
        Its ``sources`` map the user's files and columns; its metrics say which tables and
        columns must exist.
    as_of
        Rows dated after it are counted in the report (and ignored by scoring).
    quarantine_dir
        Also write the quality report and the rows set aside here.
    con
        The Ibis backend to open on: DuckDB (default: a new in-memory one) or Spark.
    tables
        Open only these tables (default: every contract table found).
    checks
        ``False`` skips every check and the quality report: the tables are only typed. Use it
        only for data known to be clean (a benchmark of the engine alone).
    guardrails
        ``False`` records what the guardrails find in the report but refuses nothing: a look
        at dirty data on purpose. By default a table that lost more rows to the checks than
        the model's ``guardrails`` allow, or (given ``as_of``) data that is stale or starts
        after it, raises a :class:`~crindex.errors.DataError` (see
        :mod:`crindex.data.guardrails`).

    Returns
    -------
    Dataset
        The clean tables (every contract column, absent ones as typed nulls, defaults filled
        in), the backend they live on, the quality report and each table's origin.
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    spark = getattr(con, "name", "") == "pyspark"
    if con is None:
        from crindex.engine.connect import connect

        con = connect("duckdb")
    sources: dict[str, SourceSpec] = dict(model.sources) if model else {}
    needed = model_columns(model)
    derived = sources["customers"].from_ if "customers" in sources else None
    if derived:  # customers come from another table, which must then be read
        needed.setdefault(derived, set(REQUIRED_COLUMNS[derived]))
    wanted = [t for t in ORDER if tables is None or t in set(tables) or t in needed]
    if isinstance(data, Mapping):
        _known_tables(data)
    if spark:
        from crindex.engine.spark import read_raw

        raws, kind, where = read_raw(con, data, model, wanted, RawTable)
    else:
        raws, kind, where = _read_duckdb(con, data, sources, wanted)

    problems: list[Problem] = []
    for table in needed:
        if table not in raws and not (table == "customers" and derived):
            problems.append(_missing_table(table, kind, where, model))
    typed: dict[str, Typed] = {}
    for table, (raw_t, rt) in raws.items():
        src = sources.get(table)
        mapping, col_problems = _map_columns(table, rt, src,
                                             shape.not_rolled_up(needed.get(table), src))
        # the roll-up's group id becomes the table's id, the columns it reads extra columns
        col_problems += [Problem(p.message, rt.origin, p.hint, p.reason)
                         for p in shape.rollup_columns(table, src, rt.columns, mapping)]
        problems += col_problems
        if not col_problems:
            ty = _type(con, spark, table, raw_t, rt, mapping, src)
            # the one place derived columns are computed: a projection over the typed read
            ty, derive_problems = derive_columns(ty)
            problems += derive_problems
            typed[table] = ty
    if derived and derived in typed:
        typed["customers"] = _derived_customers(con, typed[derived], sources["customers"])
    if model is not None and not problems:
        problems += _extra_use_problems(model, typed)
    if problems:
        reasons = [p.reason for p in problems]
        reason = Reason.MISSING_COLUMN if Reason.MISSING_COLUMN in reasons else reasons[0]
        raise DataError(reason or Reason.MISSING_TABLE, problems)

    origins = {t: rt.origin for t, (_, rt) in raws.items()}
    if "customers" in typed and derived:
        origins["customers"] = typed["customers"].origin
    report = QualityReport(as_of.isoformat() if as_of else None, checked=checks)
    if not checks:
        plain = {t: _rolled_up(ty, ty.typed.select("_row", *ty.present, *ty.extras)).drop("_row")
                 for t, ty in typed.items()}
        return Dataset(con, canonical_tables(plain), report, origins)
    counted = model_values(model)
    out: dict[str, ir.Table] = {}
    seen: dict[tuple[str, str, str], bool] = {}
    for table in ORDER:
        if table not in typed:
            continue
        done = check(con, typed[table], as_of, out.get("customers"), counted.get(table))
        report.tables.append(done.quality)
        src = typed[table].src
        if src is None or src.rollup is None:  # the lines' words, not a roll-up's
            seen.update({(table, col, w): held for (col, w), held in done.seen.items()})
        clean = _rolled_up(typed[table], done.clean).drop("_row")
        done.quality.steps += _steps(table, typed[table].src)
        if not spark:  # the clean rows as a view named after the table, for SQL users
            con.create_view(table, clean, overwrite=True)
            clean = con.table(table)
        out[table] = clean
    if model is not None:
        report.warnings += unseen_filters(con, out, model, seen)
    # the rows lost and (given as_of) the dates: a refusal raises, after writing the report
    check_opened(report, model, as_of, write_to=quarantine_dir, refuse=guardrails)
    return Dataset(con, canonical_tables(out), report, origins)


#: the former name of :func:`open_dataset`
load_dataset = open_dataset


def _derived_customers(con: Any, source: Typed, src: SourceSpec) -> Typed:
    """Customers derived from the typed ``source`` table (``customers: {from: orders}``)."""
    time = TIME_COLUMN[source.table]
    mapping = {"customer_id": source.mapping["customer_id"]}
    if time in source.mapping:
        mapping["created_at"] = source.mapping[time]
    typed = shape.derive_customers(con, source.typed, source.table)
    return Typed("customers", source.raw, typed, source.origin, source.fmt, source.encoding,
                 source.columns, mapping, list(shape.DERIVED_CUSTOMER_COLUMNS), {},
                 source.row_label, src)


def _rolled_up(t: Typed, lines: ir.Table) -> ir.Table:
    """The checked rows of ``t``, rolled up when its source says so (with ``_row``)."""
    if t.src is None or t.src.rollup is None:
        return lines
    return shape.roll_up(lines, t.table, t.src, t.mapping, t.extras)


def _steps(table: str, src: SourceSpec | None) -> list[str]:
    """How the table was shaped on its way in, in words, for the quality report."""
    if src is None:
        return []
    steps = [f"looked up {lk.path or lk.table} on {lk.keys[0]}" for lk in src.lookups]
    if src.from_:
        steps.append(shape.derived_note(src.from_))
    if src.rollup is not None:
        steps.append(shape.rollup_note(table, src))
    return steps


def canonical_tables(found: Mapping[str, ir.Table]) -> dict[str, ir.Table]:
    """Typed tables in the contract's full schema, then the extra columns they carry.

    Absent columns become typed nulls, and an empty value takes the contract's default
    (``orders.status`` is ``paid``). The extra columns (the user's own that the model reads,
    and the derived ones) follow the contract's, as typed.
    """
    tables: dict[str, ir.Table] = {}
    for name, t in found.items():
        schema = ibis_schema(name)
        cols = {col: t[col].cast(typ) if col in t.columns else ibis.null(typ)
                for col, typ in schema.items()}
        cols.update({col: t[col] for col in t.columns
                     if col not in schema and not col.startswith("_")})
        out = t.select(**cols)
        defaults = DEFAULTS.get(name, {})
        if defaults:
            out = out.mutate(**{c: out[c].fill_null(v) for c, v in defaults.items()})
        tables[name] = out
    return tables


def _known_tables(frames: Mapping[str, Any]) -> None:
    unknown = [name for name in frames if name not in CONTRACT]
    if unknown:
        raise DataError(Reason.UNKNOWN_TABLE, [
            Problem(f"unknown table `{name}`", "", "tables: " + ", ".join(CONTRACT),
                    Reason.UNKNOWN_TABLE) for name in unknown])


def _read_duckdb(con: Any, data: Any, sources: dict[str, SourceSpec],
                 wanted: list[str]) -> tuple[dict[str, tuple[ir.Table, RawTable]], str, Any]:
    """Every wanted table of ``data`` as found, in DuckDB: ``{table: (raw table, RawTable)}``."""
    raw = con.con
    where: Any
    if isinstance(data, Mapping):
        kind, where = "frames", "in-memory frames"
    else:
        kind, where = open_source(data)
    remote = None
    if kind == "duckdb":
        raw.execute(f"ATTACH {literal(str(where))} AS src_db (READ_ONLY)")
    elif kind == "url":
        remote = _connect_url(where)
    found: dict[str, RawTable] = {}
    failed: list[DataError] = []
    try:
        for table in wanted:
            src = sources.get(table)
            rt: RawTable | None
            if src is not None and src.from_:
                continue
            if kind == "frames":
                rt = read_frame(raw, table, data[table]) if table in data else None
            elif kind == "folder":
                path = find_file(where, table, src)
                rt = read_file(raw, table, path, src) if path else None
            elif kind == "file":
                rt = read_file(raw, table, where, src) if where.stem == table else None
            elif kind == "duckdb":
                rt = read_duckdb_table(raw, table, where, src)
            else:
                rt = read_url_table(raw, table, where, src, remote)
            if rt is not None and src is not None and src.lookups:
                try:
                    rt = shape.join_lookups(raw, table, rt, src,
                                            shape.lookup_reader(raw, kind, where, table, remote))
                except DataError as exc:  # every table's lookup problems at once
                    failed.append(exc)
            if rt is not None:
                found[table] = rt
    finally:
        if kind == "duckdb":
            raw.execute("DETACH src_db")
    if failed:
        raise DataError(failed[0].reason, [p for exc in failed for p in exc.problems])
    return {t: (con.table(rt.name), rt) for t, rt in found.items()}, kind, where


def _type(con: Any, spark: bool, table: str, raw_t: ir.Table, rt: RawTable,
          mapping: dict[str, str], src: SourceSpec | None) -> Typed:
    """One table typed by its engine: DuckDB SQL for what DuckDB read, Ibis casts on Spark.

    The columns of ``mapping`` that are not the contract's are the extra columns (declared in
    ``types``, read by a formula or by a roll-up), typed as declared or as the file holds them.
    """
    if spark:
        extras = _extra_kinds(table, mapping, src, {
            c: _source_kind(str(dtype)) for c, dtype in raw_t.schema().items()})
        typed, fails = type_columns(raw_t, table, mapping, extras)
        present = [c for c in CONTRACT[table] if c in mapping]
        typed = normalise_ids(typed, table, present)  # 1042.0 is the id 1042
    else:
        types = column_types(con.con, rt.name)
        extras = _extra_kinds(table, mapping, src, {c: _source_kind(k) for c, k in types.items()})
        name, fails, present = _duck_typed(con.con, table, rt, mapping, src, extras, types)
        typed = con.table(name)
    return Typed(table, raw_t, typed, rt.origin, rt.fmt, rt.encoding, rt.columns, mapping,
                 present, fails, rt.row_label, src, extras)


def _source_kind(engine_type: str) -> str:
    """The type an extra column keeps when the model does not declare one: the file's own.

    Numbers stay numbers, dates and timestamps dates, yes/no yes/no; text (every column of a
    CSV file) is text (``cat``).
    """
    t = engine_type.upper()
    if t.startswith(("DATE", "TIMESTAMP")):
        return "ts"
    if t.startswith("BOOL"):
        return "bool"
    if t.startswith(("INT", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UINT", "UBIGINT",
                     "USMALLINT", "UTINYINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")):
        return "num"
    return "cat"


def _extra_kinds(table: str, mapping: dict[str, str], src: SourceSpec | None,
                 found: dict[str, str]) -> dict[str, str]:
    """Each extra column of ``mapping`` (not the contract's) with the type it is read as."""
    declared = src.types if src else {}
    return {name: declared.get(name) or found.get(user, "cat")
            for name, user in mapping.items() if name not in CONTRACT[table]}


def _duck_typed(raw: Any, table: str, rt: RawTable, mapping: dict[str, str],
                src: SourceSpec | None, extras: dict[str, str], types: dict[str, str]
                ) -> tuple[str, dict[str, str], list[str]]:
    """View ``typed_<table>``: ``_row``, the contract and extra columns typed, ``_given_*``.

    ``types`` are the DuckDB types of the user's columns as read. Returns the view's name,
    the columns whose values may fail to convert (with the reason) and the contract columns
    present. A clean Parquet file is never copied: the view reads it.
    """
    select = ["_row"]
    fails: dict[str, str] = {}
    for canon, kind in [*CONTRACT[table].items(), *extras.items()]:
        if canon in mapping:
            user = mapping[canon]
            expr, fail = _typed(kind, user, types[user], src, canon, rt.decimal)
            select.append(f"{expr} AS {quote(canon)}")
            if fail:
                fails[canon] = fail
                select.append(f"NULLIF(TRIM(CAST({quote(user)} AS VARCHAR)), '') IS NOT NULL "
                              f"AS {quote(f'_given_{canon}')}")
        elif src and canon in src.constants:
            value = src.constants[canon]
            text = literal(str(value)) if value is not None else "NULL"
            select.append(f"CAST({text} AS {DUCK_TYPES[kind]}) AS {quote(canon)}")
    present = [c for c in CONTRACT[table] if c in mapping or (src and c in src.constants)]
    typed = f"typed_{table}"
    raw.execute(f"CREATE OR REPLACE TEMP VIEW {quote(typed)} AS SELECT {', '.join(select)} "
                f"FROM {quote(rt.name)}")
    return typed, fails, present


def _connect_url(url: str) -> Any:
    try:
        return ibis.connect(url)
    except ImportError as exc:
        raise DataError.single(
            Reason.DATA_UNREADABLE, "reading PostgreSQL needs the postgres extra", url,
            "pip install 'crindex[postgres]'",
        ) from exc
    except Exception as exc:
        raise DataError.single(
            Reason.DATA_UNREADABLE, f"cannot connect to the database: {exc}", url.split("@")[-1],
            "check the URL: postgresql://user[:password]@host[:port]/database",
        ) from exc


def _missing_table(table: str, kind: str, where: Any, model: CRIModel | None) -> Problem:
    users = sorted({m.id for _, m in (model.metrics if model else [])
                    if _metric_table(m) == table})
    need = ("metrics " + ", ".join(users) + " read it") if users else "every model needs it"
    if kind == "folder":
        names = sorted(p.name for p in Path(where).iterdir() if not p.name.startswith("."))
        hint = (f"add {table}.csv, {table}.parquet or {table}.xlsx, or name the file in the "
                f"model: sources.{table}.path; files here: " + (", ".join(names) or "(none)"))
    elif kind == "frames":
        hint = f"add a `{table}` frame to the mapping"
    elif kind == "spark":
        hint = f"add {table}.parquet or {table}.csv to the folder"
    elif kind == "file":
        hint = f"pass the folder holding {Path(where).name} and a {table} file"
    else:
        hint = f"create the table or name it in the model: sources.{table}.table"
    return Problem(f"table `{table}` is missing ({need})", str(where), hint, Reason.MISSING_TABLE)


def _metric_table(m: Any) -> str:
    from crindex.model.loader import metric_table

    return metric_table(m)


def _map_columns(table: str, rt: RawTable, src: SourceSpec | None,
                 needed: set[str] | None) -> tuple[dict[str, str], list[Problem]]:
    """Contract column -> the user's column, and the problems of columns that are not there."""
    have = rt.columns
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    renames = dict(src.columns) if src else {}
    for user, canon in renames.items():
        if user in have:
            mapping[canon] = user
        else:
            problems.append(Problem(
                f"sources.{table}.columns maps `{user}`, but {rt.origin} has no such column",
                rt.origin, "columns found: " + ", ".join(have), Reason.MISSING_COLUMN))
    folded = {c.strip().lower(): c for c in have}
    for canon in CONTRACT[table]:
        if canon in mapping:
            continue
        if canon in have:
            mapping[canon] = canon
        elif canon in folded and folded[canon] not in renames:
            mapping[canon] = folded[canon]
    for user in _extra_names(table, src):
        if user in mapping or user in renames or user in mapping.values():
            continue  # a contract column (refused in types; named by its contract name)
        if user in have:
            mapping[user] = user
        elif src and user in src.types:
            close = difflib.get_close_matches(user, have, n=1)
            mean = f"did you mean `{close[0]}`? " if close else ""
            problems.append(Problem(
                f"sources.{table}.types names `{user}`, but {rt.origin} has no such column",
                src.at or rt.origin, f"{mean}columns found: " + ", ".join(have),
                Reason.MISSING_COLUMN))
    constants = set(src.constants) if src else set()
    constants |= set(src.derive) if src else set()
    for canon in sorted((needed or set()) | set(REQUIRED_COLUMNS.get(table, ()))):
        if canon not in mapping and canon not in constants:
            problems.append(Problem(
                f"{table} has no column `{canon}`", rt.origin,
                f"columns found: {', '.join(have)}; rename one in the model: "
                f"sources.{table}.columns: {{<your column>: {canon}}}", Reason.MISSING_COLUMN))
    return mapping, problems


def _extra_names(table: str, src: SourceSpec | None) -> list[str]:
    """The user's columns besides the contract's that are read: declared, or in a formula."""
    if src is None:
        return []
    names = list(src.types)
    for derived in src.derive.values():
        try:
            read = columns_read(derived.tree)
        except ExprError:
            continue  # reported by derive_columns
        names += [c for c in read if c not in CONTRACT[table] and c not in names]
    return names


def _extra_use_problems(model: CRIModel, typed: Mapping[str, Typed]) -> list[Problem]:
    """The metrics' rules on extra columns, now that the type of each is known."""
    return metric_column_problems(Checking(model), {t: shape.model_kinds(ty)
                                                    for t, ty in typed.items()})


def _typed(kind: str, col: str, src_type: str, src: SourceSpec | None,
           canon: str, decimal: str = ".") -> tuple[str, str | None]:
    """SQL turning the user's column into the contract type, and the reason when it fails."""
    c = quote(col)
    is_text = src_type.startswith("VARCHAR")
    text = f"NULLIF(TRIM(CAST({c} AS VARCHAR)), '')"
    if kind in ("id", "cat"):  # checks.normalise_id's rule, in DuckDB's SQL
        return id_sql(c, src_type), None
    if kind == "num":
        unit = (src.units.get(canon) if src else None) or 1
        fail: str | None = None
        if is_text:
            expr = number_sql(text, decimal)
            fail = "unparseable_number"
        else:
            expr = f"CAST({c} AS DOUBLE)"
        return (f"({expr}) * {float(unit)!r}" if unit != 1 else expr), fail
    if kind == "ts":
        if not is_text and ("TIMESTAMP" in src_type or src_type == "DATE"):
            return f"CAST({c} AS TIMESTAMP)", None
        if src and src.date_format == EXCEL_SERIAL:  # days since 1899-12-30, a fraction: time
            micros = f"CAST(ROUND(TRY_CAST({text} AS DOUBLE) * 86400000000) AS BIGINT)"
            return (f"CASE WHEN TRY_CAST({text} AS DOUBLE) BETWEEN 1 AND {EXCEL_LAST} THEN "
                    f"TIMESTAMP '1899-12-30' + to_microseconds({micros}) END"), "unparseable_date"
        if src and src.date_format:
            return f"TRY_STRPTIME({text}, {literal(src.date_format)})", "unparseable_date"
        fmts = "[" + ", ".join(literal(f) for f in DATE_FORMATS) + "]"
        return (f"COALESCE(TRY_CAST({text} AS TIMESTAMP), TRY_STRPTIME({text}, {fmts}))",
                "unparseable_date")
    if kind == "bool":
        if src_type == "BOOLEAN":
            return c, None
        low = f"LOWER({text})"
        t = ", ".join(literal(w) for w in TRUE_WORDS)
        f = ", ".join(literal(w) for w in FALSE_WORDS)
        return (f"CASE WHEN {low} IN ({t}) THEN TRUE WHEN {low} IN ({f}) THEN FALSE END",
                "unparseable_bool")
    raise AssertionError(kind)
