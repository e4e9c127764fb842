"""The history store: immutable score snapshots, manual adjustments and alerts.

>>> from crindex.api import score
>>> from crindex.record import record_run
>>> from crindex.store import open_store, fingerprint
>>> store = open_store("history.duckdb")                 # or "postgresql://host/db?schema=x"
>>> result = score("examples/ecommerce.yaml", "data/", as_of="2025-12-31")  # doctest: +SKIP
>>> record = record_run(store, result, fingerprint("data/"))  # snapshot + alerts  # doctest: +SKIP

See docs/history.md for the tables, the locking and what a snapshot holds.
"""

from __future__ import annotations

import os
from pathlib import Path

from crindex.store.base import Store
from crindex.store.history import explain_adjusted
from crindex.store.snapshot import RunInfo, fingerprint, model_hash

#: where the history lives when ``--store`` is not given (``CRINDEX_STORE`` overrides it)
DEFAULT_STORE = "crindex-history.duckdb"

__all__ = ["DEFAULT_STORE", "RunInfo", "Store", "check_location", "default_store",
           "explain_adjusted", "fingerprint", "model_hash", "open_store", "require_store"]


def default_store() -> str:
    """``$CRINDEX_STORE`` or ``crindex-history.duckdb`` in the working folder."""
    return os.environ.get("CRINDEX_STORE") or DEFAULT_STORE


def _is_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def require_store(location: str | Path | None = None) -> str:
    """``location`` (or :func:`default_store`) if the store exists; creates nothing.

    A DuckDB store must be an existing file; a PostgreSQL URL is taken as it is (its tables
    are created by the first write). Raises :class:`~crindex.errors.StoreNotFoundError`
    otherwise, so a command that only reads the history fails on a mistyped ``--store``
    instead of creating an empty store there.
    """
    from crindex.errors import Reason, StoreNotFoundError

    text = str(location) if location is not None else default_store()
    if _is_url(text) or "://" in text or Path(text).expanduser().exists():
        return text
    raise StoreNotFoundError.single(
        Reason.STORE_NOT_FOUND, f"no history store at {text}", "--store",
        "create one with `crindex score --store ...` or `crindex backfill`, or give the path "
        "of an existing store")


def check_location(location: str | Path) -> None:
    """Fail now, before a long run, if ``location`` cannot be a store here; opens nothing.

    A ``postgresql://`` URL needs the ``postgres`` extra; any other URL is not a store. A
    path must be a DuckDB database, or a new file whose folders can be created (a folder, an
    empty file or any other kind of file is refused before anything is written).
    """
    text = str(location)
    if _is_url(text):
        from crindex.extras import require

        require("postgres", "a PostgreSQL history store", "--store")
    elif "://" in text:
        from crindex.store.base import store_error

        raise store_error(f"unknown store `{text}`",
                          "give a DuckDB file path or a postgresql:// URL", "--store")
    else:  # a DuckDB file: not a folder, not another kind of file, creatable
        from crindex.errors import OutputError
        from crindex.store.base import store_error
        from crindex.util import check_duckdb_file

        try:
            check_duckdb_file(text, "--store", new_folders=True)
        except OutputError as exc:  # a store's problem is a StoreError, with the same words
            [problem] = exc.problems
            raise store_error(problem.message, problem.hint, problem.where) from None


def open_store(location: str | Path | None = None, *, lock_timeout: float = 30.0,
               create: bool = True) -> Store:
    """Open (and, unless ``create=False``, create on first use) a history store.

    Parameters
    ----------
    location
        A DuckDB file path, or a ``postgresql://`` URL (``?schema=NAME`` picks the schema,
        default ``crindex``). ``None``: :func:`default_store`.
    lock_timeout
        Seconds a write (or, on DuckDB, any access) waits for another process that holds the
        store before failing with :class:`~crindex.errors.StoreError`.
    create
        ``False`` for reading: a DuckDB file that does not exist is a
        :class:`~crindex.errors.StoreNotFoundError` (see :func:`require_store`), not a new
        empty store.
    """
    text = str(location) if location is not None else default_store()
    if not create:
        require_store(text)
    check_location(text)
    if _is_url(text):
        from crindex.store.postgres import PostgresStore

        return PostgresStore(text, lock_timeout=lock_timeout)
    from crindex.store.duck import DuckDBStore

    return DuckDBStore(text, lock_timeout=lock_timeout)
