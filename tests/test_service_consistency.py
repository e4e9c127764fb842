"""The service reads one committed snapshot, never a mixture, while a writer replaces it.

A real server (``crindex serve`` in a subprocess, refreshing every 0.2 s) serves a copy of the
test world's store while another process rewrites the same ``as_of`` in a loop, alternating
two versions of the snapshot: A (the engine's result) and B (every score, dimension score,
metric score, raw value and contribution + 1, and the last ten customers dropped). Every
rewrite deletes the old run and writes a new run id in one transaction. On DuckDB and on
PostgreSQL (where nothing stops the writer between two statements of a reader). Each answer read
during the loop must equal the answer to A or the answer to B (run ids aside), and a
customer present in both is never 404.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.support.service import AS_OF, PREVIOUS, Server, World, build_world

ROUNDS = 4


def version_b(table: pa.Table) -> pa.Table:
    """Every number a document shows, + 1; the last ten customers dropped."""
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        bump = name in ("score", "coverage") or name.startswith("dim__") or name.endswith(
            ("__score", "__contribution", "__raw"))
        cols[name] = pc.add(col, 1) if bump and pa.types.is_floating(col.type) else col
    return pa.table(cols).slice(0, table.num_rows - 10)


def without_run_ids(value: Any) -> Any:
    """A document with every ``run_id`` removed (each rewrite makes a new one)."""
    if isinstance(value, dict):
        return {k: without_run_ids(v) for k, v in value.items() if k != "run_id"}
    if isinstance(value, list):
        return [without_run_ids(v) for v in value]
    return value


WRITER = textwrap.dedent("""
    import sys, types
    import pyarrow.parquet as pq
    from crindex.model.loader import load_model
    from crindex.store import open_store
    store_path, model_path, as_of, rounds, *files = sys.argv[1:]
    model = load_model(model_path)
    tables = [pq.read_table(f) for f in files]
    store = open_store(store_path, lock_timeout=60)
    for k in range(int(rounds)):
        table = tables[k % len(tables)]
        run_id = store.write_snapshot(types.SimpleNamespace(model=model, as_of=as_of,
                                                            table=table))
        print(run_id, flush=True)
""")


def write(server: Server, files: list[str], rounds: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(server.store),
                             str(server.world.model), AS_OF.isoformat(), str(rounds), *files],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_run(server: Server, run_id: str) -> None:
    deadline = time.monotonic() + 60
    while server.client().get("/healthz").json().get("run_id") != run_id:
        assert time.monotonic() < deadline, "the server never served run " + run_id
        time.sleep(0.05)


@pytest.fixture(scope="module")
def world():
    return build_world()


def start_server(world: World, store_url: str) -> Server:
    """A server on a copy of the world's store (DuckDB), or on the same snapshots in a new
    PostgreSQL schema."""
    if not store_url.startswith("postgresql://"):
        return Server(world, "mixture", data=False, refresh=0.2)
    from crindex.service.auth import create_token
    from crindex.store import fingerprint, open_store

    store = open_store(store_url)
    for day in (PREVIOUS, AS_OF):
        store.write_snapshot(world.results[day], fingerprint(str(world.data)))
    token, _ = create_token(store, "test-read", ["read"])
    return Server(world, "mixture-pg", data=False, refresh=0.2, location=store_url,
                  tokens={"read": token})


def test_a_server_never_serves_a_mixture_while_a_writer_replaces_the_snapshot(world,
                                                                              store_url):
    a = world.results[AS_OF].table
    b = version_b(a)
    files = [str(world.folder / "mixture-a.parquet"), str(world.folder / "mixture-b.parquet")]
    pq.write_table(a, files[0])
    pq.write_table(b, files[1])
    ids = b.column("customer_id").to_pylist()
    watched = [ids[0], ids[len(ids) // 2], ids[-1]]  # in both versions
    gone = a.column("customer_id").to_pylist()[-1]  # only in A
    server = start_server(world, store_url)
    try:
        client = server.client("read")

        def answers() -> dict[str, Any]:
            out = {f"/v1/customers/{c}": client.get(f"/v1/customers/{c}") for c in watched}
            out["/v1/portfolio"] = client.get("/v1/portfolio")
            return out

        def documents(found: dict[str, Any]) -> dict[str, Any]:
            for path, r in found.items():
                assert r.status_code == 200, (path, r.status_code, r.text)
            return {path: without_run_ids(r.json()) for path, r in found.items()}

        # the answers to A (the store as copied: A written by the engine) and to B
        expect_a = documents(answers())
        from crindex.store import open_store

        store = open_store(server.store, lock_timeout=60)
        wait_for_run(server, store.write_snapshot(SimpleNamespace(
            model=world.results[AS_OF].model, as_of=AS_OF, table=b)))
        expect_b = documents(answers())
        assert client.get(f"/v1/customers/{gone}").status_code == 404
        for path in expect_a:  # the two versions differ in every answer watched
            assert expect_a[path] != expect_b[path], path

        writer = write(server, files, ROUNDS)  # A, B, A, ... (ends on B)
        seen = {"a": 0, "b": 0}
        reads = 0
        while writer.poll() is None or reads == 0:
            for path, r in answers().items():
                assert r.status_code == 200, (path, r.status_code, r.text)
                doc = without_run_ids(r.json())
                assert doc in (expect_a[path], expect_b[path]), f"a mixture on {path}"
                seen["a" if doc == expect_a[path] else "b"] += 1
                reads += 1
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err.decode()
        assert len(out.split()) == ROUNDS
        wait_for_run(server, out.decode().split()[-1])  # the last commit is served
        assert documents(answers()) == expect_b
        assert reads > 0
    finally:
        server.stop()


def test_until_its_first_load_a_worker_answers_503_loading_then_serves(tmp_path):
    """Start-up ends before the load (uvicorn's supervisor never waits on it); meanwhile
    /healthz and every route say "loading"."""
    import asyncio

    import httpx

    from crindex.service.app import Settings, create_app
    from crindex.store import open_store
    from tests.support.store import WATCH_MODEL, fake_result, watch_model

    model_file = tmp_path / "watch.yaml"
    model_file.write_text(WATCH_MODEL, encoding="utf-8")
    store = tmp_path / "h.duckdb"
    open_store(store).write_snapshot(fake_result(watch_model(), "2025-06-30",
                                                 {"a": {"score": 80.0}}))
    app = create_app(Settings(store=str(store), model=str(model_file)))

    async def get(*paths: str) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # no lifespan: nothing loads by itself
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            return [await client.get(p) for p in paths]

    health, portfolio, page = asyncio.run(get("/healthz", "/v1/portfolio", "/ui/"))
    assert (health.status_code, health.json()["status"]) == (503, "loading")
    assert health.headers["retry-after"] == "1"
    for r in (portfolio, page):
        assert r.status_code == 503 and r.json()["error"]["code"] == "loading"
    app.state.cache.refresh()  # what the background task does first
    health, portfolio = asyncio.run(get("/healthz", "/v1/portfolio"))
    assert (health.status_code, health.json()["status"], health.json()["customers"]) == \
        (200, "ok", 1)
    assert portfolio.status_code == 401  # past the gate: now the token is asked for
