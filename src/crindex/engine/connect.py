"""The one module that knows the engines. Backends are imported lazily.

DuckDB (embedded, the default) needs nothing but the base install. Other engines are install
extras and are imported only when asked for: ``spark`` (``crindex[spark]``) through Ibis's
PySpark backend, see :mod:`crindex.engine.spark`.
"""

from __future__ import annotations

from typing import Any

from crindex.errors import EngineError, Reason

ENGINES = ("duckdb", "spark")

#: DuckDB's own settings, read from the environment for every DuckDB connection crindex opens
#: (the data's and the scoring's): how much memory DuckDB may hold before it spills to disk
#: (``4GB``, ``70%``; DuckDB's default is 80% of the machine's), where it spills (default: a
#: ``.tmp`` folder next to a database file, or the system's temporary folder in memory) and how
#: many threads it runs (default: one per core). docs/BENCHMARKS.md has a 100M-event run.
DUCKDB_SETTINGS = {
    "memory_limit": "CRINDEX_DUCKDB_MEMORY_LIMIT",
    "temp_directory": "CRINDEX_DUCKDB_TEMP_DIRECTORY",
    "threads": "CRINDEX_DUCKDB_THREADS",
}


def duckdb_settings() -> dict[str, str]:
    """The DuckDB settings given in the environment (:data:`DUCKDB_SETTINGS`)."""
    import os

    return {name: os.environ[var].strip() for name, var in DUCKDB_SETTINGS.items()
            if os.environ.get(var, "").strip()}


def connect(engine: str = "duckdb", **options: Any) -> Any:
    """An Ibis backend for ``engine``.

    ``duckdb``: in memory unless ``database=`` is given; the settings of
    :data:`DUCKDB_SETTINGS` given in the environment apply (``options`` override them).
    ``spark``: ``master=`` (``local[2]``, ``spark://host:7077``, ``sc://host:15002``; default:
    the active session, else ``local[2]``) or ``session=`` an existing SparkSession; the
    session time zone is UTC.
    """
    if engine == "duckdb":
        import ibis

        try:
            return ibis.duckdb.connect(**{**duckdb_settings(), **options})
        except Exception as exc:  # a setting DuckDB refuses: say which and where it came from
            given = ", ".join(f"{DUCKDB_SETTINGS[k]}={v}" for k, v in duckdb_settings().items())
            if not given:
                raise
            raise EngineError.single(
                Reason.ENGINE, f"DuckDB refused its settings: {exc}", given,
                "memory_limit like 4GB or 70%, temp_directory a folder, threads a number",
            ) from exc
    if engine == "spark":
        from crindex.engine.spark import connect_spark

        return connect_spark(**options)
    raise EngineError.single(
        Reason.ENGINE, f"unknown engine `{engine}`", hint="engines: " + ", ".join(ENGINES),
    )


def execute(backend: Any, expr: Any, sort_after: tuple[str, ...] = ()) -> Any:
    """Run a compiled expression on ``backend`` and return a pyarrow Table.

    ``sort_after``: columns to sort the collected rows by (ascending), for a query compiled
    without its final sort (:attr:`crindex.engine.compile.Compiled.sort_after`).
    """
    try:
        table = backend.to_pyarrow(expr)
    except Exception as exc:  # the backend's own errors, reported with the engine's words
        raise EngineError.single(
            Reason.ENGINE, f"the {getattr(backend, 'name', 'engine')} backend failed: {exc}",
            hint="`crindex sql` prints the query that was run",
        ) from exc
    return table.sort_by([(c, "ascending") for c in sort_after]) if sort_after else table
