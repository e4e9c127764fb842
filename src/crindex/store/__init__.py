"""The history store: immutable score snapshots, manual adjustments and alerts.

>>> from crindex.api import score
>>> from crindex.store import open_store, fingerprint
>>> store = open_store("history.duckdb")                 # or "postgresql://host/db?schema=x"
>>> result = score("examples/ecommerce.yaml", "data/", as_of="2025-12-31")  # doctest: +SKIP
>>> run_id = store.write_snapshot(result, fingerprint("data/"))             # doctest: +SKIP

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

__all__ = ["DEFAULT_STORE", "RunInfo", "Store", "default_store", "explain_adjusted",
           "fingerprint", "model_hash", "open_store"]


def default_store() -> str:
    """``$CRINDEX_STORE`` or ``crindex-history.duckdb`` in the working folder."""
    return os.environ.get("CRINDEX_STORE") or DEFAULT_STORE


def open_store(location: str | Path | None = None, *, lock_timeout: float = 30.0) -> Store:
    """Open (and create on first use) a history store.

    Parameters
    ----------
    location
        A DuckDB file path, or a ``postgresql://`` URL (``?schema=NAME`` picks the schema,
        default ``crindex``). ``None``: :func:`default_store`.
    lock_timeout
        Seconds a write (or, on DuckDB, any access) waits for another process that holds the
        store before failing with :class:`~crindex.errors.StoreError`.
    """
    text = str(location) if location is not None else default_store()
    if text.startswith(("postgresql://", "postgres://")):
        from crindex.store.postgres import PostgresStore

        return PostgresStore(text, lock_timeout=lock_timeout)
    if "://" in text:
        from crindex.store.base import store_error

        raise store_error(f"unknown store `{text}`",
                          "give a DuckDB file path or a postgresql:// URL", "--store")
    from crindex.store.duck import DuckDBStore

    return DuckDBStore(text, lock_timeout=lock_timeout)
