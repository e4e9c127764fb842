"""The one module that knows the engines. Backends are imported lazily.

DuckDB (embedded, the default) needs nothing but the base install. Other engines are install
extras and are imported only when asked for: ``spark`` (``crindex[spark]``) through Ibis's
PySpark backend, see :mod:`crindex.engine.spark`.
"""

from __future__ import annotations

from typing import Any

from crindex.errors import EngineError, Reason

ENGINES = ("duckdb", "spark")


def connect(engine: str = "duckdb", **options: Any) -> Any:
    """An Ibis backend for ``engine``.

    ``duckdb``: in memory unless ``database=`` is given. ``spark``: ``master=`` (``local[2]``,
    ``spark://host:7077``, ``sc://host:15002``; default: the active session, else
    ``local[2]``) or ``session=`` an existing SparkSession; the session time zone is UTC.
    """
    if engine == "duckdb":
        import ibis

        return ibis.duckdb.connect(**options)
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
