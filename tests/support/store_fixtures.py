"""Pytest fixtures for the history store: one suite, run on DuckDB and on PostgreSQL.

``store_url`` gives a fresh DuckDB file, then a fresh PostgreSQL schema (dropped afterwards)
on the server at ``CRINDEX_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Without a reachable server the PostgreSQL
case skips with a one-line reason, unless ``CI=true``, where it fails. The fixture is
registered for every test module by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

POSTGRES_URL = os.environ.get("CRINDEX_TEST_POSTGRES",
                              "postgresql://postgres@127.0.0.1:5432/test")


def postgres_or_skip() -> str:
    """The test server's URL; skip (or fail when ``CI=true``) when it cannot be reached."""
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception as exc:  # no driver, no server, no database: all mean "not here"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable but CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} (CI=true requires it)")
    return POSTGRES_URL


def drop_postgres_schema(url: str) -> None:
    from crindex.store.postgres import PostgresStore

    PostgresStore(url).drop()


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty store location on each engine."""
    if request.param == "duckdb":
        yield str(tmp_path / "history.duckdb")
        return
    base = postgres_or_skip()
    url = f"{base}?schema=crindex_test_{uuid.uuid4().hex[:12]}"
    try:
        yield url
    finally:
        drop_postgres_schema(url)
