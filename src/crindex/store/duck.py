"""The history store in one DuckDB file (the default).

DuckDB lets one process at a time open a file for writing, and a reader cannot open it while
a writer holds it (``Could not set lock on file``). So every operation opens the file, does
its work and closes it again, and an operation that finds the file locked by another process
**waits and retries** (with growing pauses, up to ``lock_timeout`` seconds, 30 by default)
before failing with a :class:`~crindex.errors.StoreError` that says which process holds it.
Within one process, operations on the same file are serialised by a lock.

A write is one DuckDB transaction: a run that fails, or a process killed mid-write, leaves
the file exactly as it was (DuckDB replays only committed transactions from its WAL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pyarrow as pa

from crindex.store.base import Store, Tx, store_error
from crindex.store.schema import create_statements

_PROCESS_LOCKS: dict[str, threading.RLock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def _process_lock(path: str) -> threading.RLock:
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(path, threading.RLock())


class DuckTx(Tx):
    def __init__(self, con: Any) -> None:
        self.con = con
        self._result: Any = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> DuckTx:
        self._result = self.con.execute(sql, list(params))
        return self

    def rows(self) -> list[tuple[Any, ...]]:
        return self._result.fetchall()

    def columns(self) -> list[str]:
        return [d[0] for d in self._result.description]

    def insert(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        name = f"_crindex_insert_{table}"
        self.con.register(name, data)
        try:
            cols = ", ".join(data.column_names)
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
        finally:
            self.con.unregister(name)


class DuckDBStore(Store):
    """A history store in a DuckDB file (created on first use)."""

    dialect = "duckdb"

    def __init__(self, path: str | Path, lock_timeout: float = 30.0) -> None:
        super().__init__(lock_timeout)
        self.path = Path(path).expanduser().resolve()
        if self.path.is_dir():
            raise store_error(f"the store {self.path} is a folder",
                              "give the path of a DuckDB file, e.g. history.duckdb", "--store")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _process_lock(str(self.path))
        with self.transaction() as tx:
            for stmt in create_statements(indexes=False):
                tx.execute(stmt)
            self.check_version(tx)

    def describe(self) -> str:
        return str(self.path)

    def _connect(self) -> Any:
        import duckdb

        deadline = time.monotonic() + self.lock_timeout
        pause = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                text = str(exc)
                if "lock" not in text.lower():
                    raise store_error(f"cannot open the store {self.path}: {text}",
                                      "is it a DuckDB file?", "--store") from exc
                if time.monotonic() >= deadline:
                    holder = text.split("Conflicting lock is held in", 1)[-1].split(".")[0]
                    raise store_error(
                        f"the store {self.path} is in use by another process "
                        f"({holder.strip()}); waited {self.lock_timeout:g} s",
                        "wait for the other crindex run to finish, or give it more time "
                        "with --lock-timeout", "--store") from exc
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 1.0)
            except duckdb.Error as exc:
                raise store_error(f"cannot open the store {self.path}: {exc}",
                                  "is it a DuckDB file?", "--store") from exc

    def _failed(self, exc: Exception, doing: str) -> Exception:
        """The error of a failed read or write: the engine's own words and what to do.

        A damaged file (a block whose checksum does not match) says so and points at
        ``crindex store check``; the first error is kept, never the cleanup's.
        """
        text = str(exc)
        if "checksum" in text.lower() or "corrupt" in text.lower():
            return store_error(
                f"the store {self.path} is damaged: {text}"
                + ("; nothing was written" if doing == "write" else ""),
                f"see what is damaged with `crindex store check --store {self.path}`; then "
                "restore the file from a backup, or write the runs again into a new store "
                "(`crindex backfill --store NEW`)", "--store")
        if doing == "write":
            return store_error(f"the store {self.path} refused the write: {text}; nothing "
                               "was written")
        return store_error(f"reading the store {self.path} failed: {text}")

    @contextmanager
    def _begin(self) -> Iterator[Tx]:
        import duckdb

        with self._lock:
            con = self._connect()
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield DuckTx(con)
                except BaseException:
                    # the first error is the one to report: a rollback that fails in turn
                    # (an aborted transaction, a database invalidated by a damaged block)
                    # must not replace it; nothing is committed either way
                    with suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            except duckdb.Error as exc:
                raise self._failed(exc, "write") from exc
            finally:
                with suppress(duckdb.Error):
                    con.close()

    @contextmanager
    def _read(self) -> Iterator[Tx]:
        import duckdb

        with self._lock:
            con = self._connect()
            try:
                yield DuckTx(con)
            except duckdb.Error as exc:
                raise self._failed(exc, "read") from exc
            finally:
                with suppress(duckdb.Error):
                    con.close()
