"""Benchmark: GET /v1/customers/{id} of `crindex serve` over a store of 1M customers, on loopback.

The store holds two snapshots of examples/ecommerce.yaml for 1M made-up customers (5 metrics,
3 dimensions: 8M metric rows per snapshot), built once with numpy and cached in bench/out/.
A load generator in this file (asyncio on uvloop, raw keep-alive HTTP/1.1 sockets, a closed
loop of N connections each sending its next request when the last answer arrived, random
customer ids, bearer token) measures throughput and latency percentiles after a warm-up.

Baseline in the same run: the design the service avoids, a FastAPI app on the same
uvloop + httptools stack answering each request with DuckDB queries (a shared read-only
connection, a cursor per request, the customer's score row and metric rows), loaded by the
same generator.

    .venv/bin/python bench/bench_service.py [--customers 1000000] [--seconds 15]
        [--connections 16] [--workers 1 2] [--baseline-seconds 8]

``--pages N`` measures the dashboard instead: signed in through the login form, one request
at a time on one keep-alive connection (so each time is the server's work plus a loopback
round trip, never a queue), N requests each of the customer list (random filters, sorts and
pages), the This week page and random customers' pages, and an export of 100k rows (the list
searched for ``C00``: ids C0000001-C0099999) as CSV and as Excel; p50/p95/max in ms.

Only loopback addresses are used; every load loop stops after its fixed duration.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
HOST = "127.0.0.1"


# ------------------------------------------------------------------------------ the store


def fake_snapshot(model, n: int, as_of: dt.date, seed: int) -> SimpleNamespace:
    """A result table of ``n`` customers for the ecommerce model, computed with numpy.

    Raw values are drawn, normalised with the model's own ranges, weighted and summed, so a
    document carries the same kinds of numbers as a real run.
    """
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:07d}" for i in range(1, n + 1)])
    raws = {
        "annual_spend": np.round(rng.lognormal(6.5, 1.2, n), 2),
        "recency": rng.integers(0, 720, n).astype(float),
        "nps": rng.choice([-100.0, 0.0, 100.0], n),
        "email_open_rate": np.round(rng.beta(2, 5, n), 3),
        "support_satisfaction": rng.integers(1, 6, n).astype(float),
    }
    scores = {
        "annual_spend": np.clip(raws["annual_spend"] / 5000 * 100, 0, 100),
        "recency": np.clip((360 - raws["recency"]) / 360 * 100, 0, 100),
        "nps": (raws["nps"] + 100) / 2,
        "email_open_rate": np.clip(raws["email_open_rate"] * 100, 0, 100),
        "support_satisfaction": (raws["support_satisfaction"] - 1) * 25,
    }
    missing = {k: rng.random(n) < 0.05 for k in raws}
    cols: dict[str, object] = {"customer_id": ids}
    total = np.zeros(n)
    dims: dict[str, list[np.ndarray]] = {}
    metric_cols: dict[str, object] = {}
    for d, m in model.metrics:
        w = model.effective_weight(d, m)
        raw = np.where(missing[m.id], np.nan, raws[m.id])
        score = np.where(missing[m.id], 50.0, scores[m.id])
        contribution = w * score / 100
        total += contribution
        dims.setdefault(d.id, []).append(score)
        metric_cols.update({
            f"{m.id}__raw": pa.array(raw, from_pandas=True), f"{m.id}__score": score,
            f"{m.id}__weight": np.full(n, w), f"{m.id}__contribution": contribution,
            f"{m.id}__missing": missing[m.id]})
    tiers = np.select([total >= 90, total >= 70, total >= 50],
                      ["core", "potential", "ordinary"], "at_risk")
    cols.update(score=np.round(total, 6), tier=tiers, coverage=np.full(n, 100.0),
                owner=np.array([f"AM-{i:02d}" for i in rng.integers(1, 41, n)]),
                segment=rng.choice(["member", "standard", "vip"], n))
    cols.update({f"dim__{k}": np.mean(v, axis=0) for k, v in dims.items()})
    cols.update(metric_cols)
    table = pa.table({k: (v if isinstance(v, pa.Array) else pa.array(v)) for k, v in
                      cols.items()})
    return SimpleNamespace(model=model, as_of=as_of, table=table)


def build_store(n: int) -> tuple[Path, str]:
    """The cached store of ``n`` customers (two snapshots) and a read token for it."""
    from crindex.examples import example_path
    from crindex.model.loader import load_model
    from crindex.service.auth import create_token
    from crindex.store import open_store

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"service-{n}.duckdb"
    token_file = OUT / f"service-{n}.token"
    if not (path.exists() and token_file.exists()):
        for p in (path, Path(str(path) + ".wal"), token_file):
            p.unlink(missing_ok=True)
        model = load_model(example_path("ecommerce"))
        store = open_store(path)
        for k, day in enumerate((dt.date(2025, 9, 30), dt.date(2025, 12, 31))):
            t0 = time.perf_counter()
            store.write_snapshot(fake_snapshot(model, n, day, seed=k))
            print(f"  snapshot {day}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        token, _ = create_token(store, "bench", ["read"])
        token_file.write_text(token)
    return path, token_file.read_text().strip()


# ------------------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def start(args: list[str], port: int, workers: int = 1,
          timeout: float = 900) -> tuple[subprocess.Popen, float]:
    """Start a server; wait until ``workers`` distinct worker processes have answered."""
    import urllib.request

    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: set[int] = set()
    while True:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as r:
                body = json.loads(r.read())
                seen.add(body.get("worker", 0))
                if len(seen) >= workers:
                    return proc, time.perf_counter() - t0
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died")
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            raise RuntimeError("server did not start in time")
        time.sleep(0.05 if seen else 0.25)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def baseline_app(store: str):
    """FastAPI + DuckDB per request: the design the service avoids (for comparison)."""
    import duckdb
    import orjson
    from fastapi import FastAPI
    from fastapi.responses import Response

    con = duckdb.connect(store, read_only=True)
    run_id = con.execute("SELECT run_id FROM runs ORDER BY as_of DESC LIMIT 1").fetchall()[0][0]
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/v1/customers/{customer_id}")
    def customer(customer_id: str) -> Response:
        cur = con.cursor()
        row = cur.execute("SELECT customer_id, score, tier, coverage, owner, segment FROM scores "
                          "WHERE run_id = ? AND customer_id = ?", [run_id, customer_id]).fetchall()
        if not row:
            return Response(b"{}", status_code=404, media_type="application/json")
        metrics = cur.execute("SELECT item, raw_num, score, weight, contribution, missing "
                              "FROM metric_scores WHERE run_id = ? AND customer_id = ?",
                              [run_id, customer_id]).fetchall()
        keys = ("customer_id", "score", "tier", "coverage", "owner", "segment")
        doc = dict(zip(keys, row[0], strict=True))
        doc["explanation"] = [dict(zip(("item", "raw", "score", "weight", "contribution",
                                        "missing"), m, strict=True)) for m in metrics]
        return Response(orjson.dumps(doc), media_type="application/json")

    return app


# ------------------------------------------------------------------------------ load


async def _connection(port: int, token: str, ids: list[str], stop_at: float, warm_until: float,
                      lat: list[int], status: dict[int, int], seed: int) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(HOST, port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            cid = ids[rng.randrange(len(ids))]
            writer.write(f"GET /v1/customers/{cid} HTTP/1.1\r\nHost: {HOST}\r\n{auth}"
                         "\r\n".encode())
            t0 = time.perf_counter_ns()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            t1 = time.perf_counter_ns()
            if now >= warm_until:
                lat.append(t1 - t0)
                code = int(head[9:12])
                status[code] = status.get(code, 0) + 1
    finally:
        writer.close()


async def _load(port: int, token: str, ids: list[str], seconds: float, warmup: float,
                connections: int) -> dict[str, object]:
    lat: list[int] = []
    status: dict[int, int] = {}
    start_t = time.perf_counter()
    warm_until, stop_at = start_t + warmup, start_t + warmup + seconds
    await asyncio.gather(*(_connection(port, token, ids, stop_at, warm_until, lat, status, k)
                           for k in range(connections)))
    arr = np.array(lat, dtype=np.float64) / 1e6
    return {"requests": len(lat), "req_per_s": len(lat) / seconds,
            "p50_ms": float(np.percentile(arr, 50)) if len(arr) else None,
            "p90_ms": float(np.percentile(arr, 90)) if len(arr) else None,
            "p99_ms": float(np.percentile(arr, 99)) if len(arr) else None,
            "max_ms": float(arr.max()) if len(arr) else None,
            "status": {str(k): v for k, v in sorted(status.items())}}


def load(port: int, token: str, ids: list[str], seconds: float, warmup: float,
         connections: int) -> dict[str, object]:
    """Run the closed-loop load in this process for ``warmup + seconds`` (then stop)."""
    import uvloop

    return uvloop.run(_load(port, token, ids, seconds, warmup, connections))


# ------------------------------------------------------------------------------ pages


def sign_in(base: str, token: str):  # noqa: ANN201 (an httpx.Client)
    """A client signed in to the dashboard through its login form (session cookie)."""
    import re

    import httpx

    client = httpx.Client(base_url=base, timeout=600, headers={"Origin": base})
    login = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', login.text)
    assert csrf, login.text[:300]
    done = client.post("/ui/login", data={"token": token, "next": "/ui/",
                                          "csrf": csrf.group(1)})
    assert done.status_code == 303, done.text[:300]
    return client


def timed(client, paths: list[str]) -> dict[str, object]:  # noqa: ANN001
    times = []
    for path in paths:
        t0 = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
    arr = np.array(times)
    return {"requests": len(times), "p50_ms": float(np.percentile(arr, 50)),
            "p95_ms": float(np.percentile(arr, 95)), "max_ms": float(arr.max())}


def pages(store: Path, token: str, customers: int, n: int) -> dict[str, object]:
    """The dashboard pages' times over the store (see the module's docstring)."""
    port = free_port()
    model = str(ROOT / "examples" / "ecommerce.yaml")
    proc, ready = start([sys.executable, "-c", "from crindex.cli import main; main()",
                         "serve", "--store", str(store), "--model", model, "--port", str(port),
                         "--refresh", "3600"], port)
    rng = random.Random(2)
    sorts = ["-score", "score", "change", "-change", "customer_id"]
    tiers = ["", "core", "potential", "ordinary", "at_risk"]
    try:
        client = sign_in(f"http://{HOST}:{port}", token)
        client.get("/ui/customers?sort=change")  # the first sort of each kind is made once
        client.get("/ui/customers?sort=-change")
        lists = [f"/ui/customers?sort={rng.choice(sorts)}&tier={rng.choice(tiers)}"
                 f"&min_score={rng.choice(['', '20', '40'])}&page={rng.randrange(1, 200)}"
                 for _ in range(n)]
        out: dict[str, object] = {"customers": customers, "startup_s": ready}
        out["list"] = timed(client, lists)
        out["this_week"] = timed(client, ["/ui/"] * n)
        out["customer"] = timed(client, [f"/ui/customers/C{rng.randrange(1, customers):07d}"
                                         for _ in range(n)])
        for kind in ("csv", "xlsx"):
            t0 = time.perf_counter()
            r = client.get(f"/ui/customers.{kind}?q=C00&sort=-score")
            seconds = time.perf_counter() - t0
            assert r.status_code == 200, r.text[:300]
            rows = r.content.count(b"\n") - 1 if kind == "csv" else None
            out[f"export_{kind}"] = {"seconds": seconds, "bytes": len(r.content),
                                     "rows": rows}
        out["rss_mb"] = rss_mb(proc.pid)
    finally:
        stop(proc)
    return out


# ------------------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--baseline-seconds", type=float, default=8)
    ap.add_argument("--pages", type=int, default=0, metavar="N",
                    help="time the dashboard's pages (N requests each) instead")
    ap.add_argument("--serve-baseline", nargs=2, metavar=("STORE", "PORT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_baseline:
        import uvicorn

        store, port = args.serve_baseline
        uvicorn.run(baseline_app(store), host=HOST, port=int(port), loop="uvloop",
                    http="httptools", log_level="warning", access_log=False)
        return

    t0 = time.perf_counter()
    store, token = build_store(args.customers)
    print(f"store {store} ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.pages:
        figures = pages(store, token, args.customers, args.pages)
        (OUT / "service-pages.json").write_text(json.dumps(figures, indent=2))
        print(json.dumps(figures, indent=2))
        return
    rng = random.Random(1)
    ids = [f"C{rng.randrange(1, args.customers + 1):07d}" for _ in range(100_000)]
    results: dict[str, object] = {"customers": args.customers, "connections": args.connections,
                                  "seconds": args.seconds, "cpus": os.cpu_count(), "runs": []}
    model = str(ROOT / "examples" / "ecommerce.yaml")
    for workers in args.workers:
        port = free_port()
        proc, ready = start([sys.executable, "-c", "from crindex.cli import main; main()",
                             "serve", "--store", str(store), "--model", model, "--port",
                             str(port), "--workers", str(workers), "--refresh", "3600"], port,
                            workers)
        try:
            figures = load(port, token, ids, args.seconds, args.warmup, args.connections)
            figures.update(name=f"crindex serve, {workers} worker(s)", workers=workers,
                           startup_s=ready, rss_mb=rss_mb(proc.pid))
        finally:
            stop(proc)
        results["runs"].append(figures)  # type: ignore[union-attr]
        print(json.dumps(figures), file=sys.stderr)
    if args.baseline_seconds > 0:
        port = free_port()
        proc, ready = start([sys.executable, __file__, "--serve-baseline", str(store),
                             str(port)], port)
        try:
            figures = load(port, "", ids, args.baseline_seconds, args.warmup, args.connections)
            figures.update(name="baseline: FastAPI + DuckDB queries per request", workers=1,
                           startup_s=ready, rss_mb=rss_mb(proc.pid))
        finally:
            stop(proc)
        results["runs"].append(figures)  # type: ignore[union-attr]
        print(json.dumps(figures), file=sys.stderr)
    (OUT / "service.json").write_text(json.dumps(results, indent=2))
    print(f"\nGET /v1/customers/{{id}}, {args.customers:,} customers, {args.connections} "
          f"keep-alive connections, {args.seconds:g} s after {args.warmup:g} s warm-up\n")
    print("| server | workers | req/s | p50 ms | p99 ms | max ms | non-200 | start s | RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results["runs"]:  # type: ignore[union-attr]
        bad = sum(v for k, v in r["status"].items() if k != "200")
        print(f"| {r['name']} | {r['workers']} | {r['req_per_s']:,.0f} | {r['p50_ms']:.1f} | "
              f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | {bad} | {r['startup_s']:.1f} | "
              f"{r['rss_mb']:,.0f} |")


if __name__ == "__main__":
    main()
