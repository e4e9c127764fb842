"""The history store in a PostgreSQL schema (``--store postgresql://...``).

The URL is a libpq URL; ``?schema=NAME`` picks the schema (default ``crindex``), created on
first use. Writers are serialised by a transaction-scoped advisory lock on the schema, so two
runs at once take turns; one that waits longer than ``lock_timeout`` seconds fails with a
:class:`~crindex.errors.StoreError`. Bulk rows go in with ``COPY``. A write is one
transaction: a client that fails or is killed leaves the schema as it was (the server rolls
back a transaction whose connection is lost).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.csv as pacsv

from crindex.store.base import Store, Tx, store_error
from crindex.store.schema import SCHEMA_VERSION, create_statements

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def split_url(url: str) -> tuple[str, str]:
    """(libpq URL without ``schema=``, schema name)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), "crindex")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    if not _SCHEMA_NAME.match(schema):
        raise store_error(f"schema `{schema}` in the store URL is not a plain name",
                          "use letters, digits and underscores, e.g. ?schema=crindex", "--store")
    return urlunsplit(parts._replace(query=rest)), schema


class PgTx(Tx):
    def __init__(self, con: Any) -> None:
        self.con = con
        self.cur = con.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgTx:
        self.cur.execute(sql.replace("?", "%s"), list(params))
        return self

    def rows(self) -> list[tuple[Any, ...]]:
        return self.cur.fetchall()

    def columns(self) -> list[str]:
        return [d.name for d in self.cur.description or []]

    def insert(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        cols = ", ".join(data.column_names)
        options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        with self.cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            for batch in data.to_batches(max_chunksize=50_000):
                buffer = io.BytesIO()
                pacsv.write_csv(pa.Table.from_batches([batch]), buffer, options)
                copy.write(buffer.getvalue())


class PostgresStore(Store):
    """A history store in a PostgreSQL schema."""

    dialect = "postgresql"

    def __init__(self, url: str, lock_timeout: float = 30.0) -> None:
        super().__init__(lock_timeout)
        self.url, self.schema = split_url(url)
        # one advisory lock key per schema: writers to the same schema take turns
        self._lock_key = int.from_bytes(
            hashlib.sha256(self.schema.encode()).digest()[:8], "big", signed=True)
        with self._connection() as con:
            found = con.execute("SELECT to_regclass(%s)", (f'"{self.schema}".meta',)).fetchone()
            con.rollback()
            if found and found[0] is not None:  # an existing store: no lock needed to read it
                with con.transaction():
                    con.execute(f'SET LOCAL search_path TO "{self.schema}"')
                    self.check_version(PgTx(con), create=False)
                    current = self.schema_version(PgTx(con))
                if current is not None and current >= SCHEMA_VERSION:
                    return
                # an older store: upgraded below, under the write lock
            with con.transaction():
                cur = con.cursor()
                self._take_write_lock(cur)
                cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                cur.execute(f'SET LOCAL search_path TO "{self.schema}"')
                tx = PgTx(con)
                for stmt in create_statements(indexes=True):
                    tx.execute(stmt)
                self.check_version(tx)

    def describe(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = (f"{parts.username}@" if parts.username else "") + host + \
            (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc, query=f"schema={self.schema}"))

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        import psycopg

        try:
            con = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:
            raise store_error(f"cannot connect to the store {self.describe()}: {exc}",
                              "check the URL and that the server is running", "--store") from exc
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def _begin(self) -> Iterator[Tx]:
        import psycopg

        with self._connection() as con:
            try:
                with con.transaction():
                    cur = con.cursor()
                    self._take_write_lock(cur)
                    cur.execute(f'SET LOCAL search_path TO "{self.schema}"')
                    yield PgTx(con)
            except psycopg.Error as exc:
                raise store_error(f"the store {self.describe()} refused the write: {exc}") \
                    from exc

    def _take_write_lock(self, cur: Any) -> None:
        """Wait for the schema's advisory lock, polling, up to ``lock_timeout`` seconds."""
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.02
        while True:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (self._lock_key,))
            if cur.fetchone()[0]:
                return
            if time.monotonic() >= deadline:
                raise store_error(
                    f"the store {self.describe()} is in use by another writer; waited "
                    f"{self.lock_timeout:g} s",
                    "wait for the other crindex run to finish, or give it more time "
                    "with --lock-timeout", "--store")
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.5)

    @contextmanager
    def _read(self) -> Iterator[Tx]:
        import psycopg

        with self._connection() as con:
            try:
                with con.transaction():
                    # one snapshot for every statement of the read (see Store.reading)
                    con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    con.execute(f'SET LOCAL search_path TO "{self.schema}"')
                    yield PgTx(con)
            except psycopg.Error as exc:
                raise store_error(f"reading the store {self.describe()} failed: {exc}") from exc

    def drop(self) -> None:
        """Drop the whole schema (tests and throw-away stores)."""
        with self._connection() as con:
            with con.transaction():
                con.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
