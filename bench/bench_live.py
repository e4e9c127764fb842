"""Benchmark: live rescoring (crindex.live) against rescoring everyone, on a large store.

A made-up world of N customers for examples/ecommerce.yaml (orders, interactions, surveys drawn
with numpy, ~4 orders, ~6 interactions and 0.3 survey answers per customer, two years up to
as_of) is written as Parquet to bench/out/live-N/. Then, on a fresh store:

1. the full run: open the data, score everyone, record the snapshot and the alerts (what a
   batch rescore of everyone costs, and what ``crindex serve --live`` does once on start);
2. single events: ``--events`` orders, one per call, each for a random customer: the time from
   the call to the committed rescored row (event kept, rows replaced, alerts updated) per
   event, its median and p99, and events per second;
3. batches: ``--batches`` calls of 100 events each (events per second, p99 per batch).

    .venv/bin/python bench/bench_live.py [--customers 1000000] [--events 200] [--batches 20]
        [--store URL]

Figures go to docs/BENCHMARKS.md by hand, with the machine's load (`uptime`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
AS_OF = dt.date(2025, 6, 30)


def build_world(n: int, folder: Path, seed: int = 5) -> None:
    """customers, orders, interactions and surveys Parquet files of ``n`` customers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if (folder / "surveys.parquet").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:07d}" for i in range(n)])
    start = np.datetime64("2023-07-01")
    days = (np.datetime64(AS_OF.isoformat()) - start).astype(int)
    created = start - rng.integers(0, 700, n).astype("timedelta64[D]")
    pq.write_table(pa.table({
        "customer_id": ids, "created_at": created.astype("datetime64[us]"),
        "owner": np.array([f"AM-{i % 40}" for i in range(n)]),
        "segment": rng.choice(np.array(["retail", "b2b", "vip"]), n),
    }), folder / "customers.parquet")

    def moments(count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        who = np.repeat(ids, count)
        when = start + rng.integers(0, days * 86400, len(who)).astype("timedelta64[s]")
        return who, when.astype("datetime64[us]")

    who, when = moments(rng.poisson(4, n))
    pq.write_table(pa.table({
        "order_id": np.array([f"O{i}" for i in range(len(who))]), "customer_id": who,
        "ordered_at": when, "amount": np.round(rng.lognormal(4.5, 1.0, len(who)), 2),
        "status": np.full(len(who), "paid"),
    }), folder / "orders.parquet")
    who, when = moments(rng.poisson(6, n))
    support = rng.random(len(who)) < 0.2
    kinds = np.where(support, "ticket_resolved",
                     rng.choice(np.array(["email_sent", "email_opened"]), len(who), p=[.6, .4]))
    pq.write_table(pa.table({
        "interaction_id": np.array([f"I{i}" for i in range(len(who))]), "customer_id": who,
        "occurred_at": when, "channel": np.where(support, "support", "email"), "kind": kinds,
        "satisfaction": pa.array(np.where(support, rng.integers(1, 6, len(who)), 0)
                                 .astype(float), mask=~support),
    }), folder / "interactions.parquet")
    who, when = moments(rng.binomial(1, 0.3, n))
    pq.write_table(pa.table({
        "customer_id": who, "answered_at": when, "kind": np.full(len(who), "nps"),
        "score": rng.integers(0, 11, len(who)).astype(float),
    }), folder / "surveys.parquet")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--store", default=None, help="default: a fresh DuckDB file")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from crindex.examples import example_path
    from crindex.live.scorer import LiveScorer
    from crindex.model.loader import parse_model
    from crindex.store import open_store

    print(f"load before: {os.getloadavg()}")
    folder = OUT / f"live-{args.customers}"
    began = time.perf_counter()
    build_world(args.customers, folder)
    print(f"world of {args.customers} customers: {time.perf_counter() - began:.1f} s")
    text = example_path("ecommerce").read_text(encoding="utf-8") + (
        "\nas_of: 2025-06-30\nguardrails: {max_age_days: 400}\nalerts:\n"
        "  - {id: low, rule: score_below, threshold: 30, severity: high}\n")
    model = parse_model(text, "bench-live.yaml")
    location = args.store or str(folder / "history.duckdb")
    if args.store is None:
        for stale in folder.glob("history.duckdb*"):
            stale.unlink()
    store = open_store(location)
    scorer = LiveScorer(model, str(folder), store, as_of=AS_OF)
    began, cpu0 = time.perf_counter(), time.process_time()
    full = scorer.start()
    full_s = time.perf_counter() - began
    print(f"full run (open, score everyone, record, alerts): {full_s:.1f} s "
          f"(CPU {time.process_time() - cpu0:.1f} s), {full.run.customers} customers")
    rng = random.Random(3)

    def order(n: int) -> dict[str, object]:
        return {"event": "order", "customer_id": f"C{rng.randrange(args.customers):07d}",
                "order_id": f"LIVE-{n}", "ordered_at": "2025-06-29T10:00:00",
                "amount": round(rng.uniform(5, 500), 2)}

    single: list[float] = []
    cpu: list[float] = []
    began = time.perf_counter()
    for n in range(args.events):
        t, c = time.perf_counter(), time.process_time()
        scorer.submit_json([order(n)], "bench")
        single.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    total = time.perf_counter() - began
    print(f"single events: {args.events} in {total:.1f} s = {args.events / total:.1f} events/s;"
          f" per event median {percentile(single, 50) * 1000:.0f} ms, "
          f"p99 {percentile(single, 99) * 1000:.0f} ms, max {max(single) * 1000:.0f} ms; "
          f"CPU per event (this process, all threads) median "
          f"{percentile(cpu, 50) * 1000:.0f} ms, p99 {percentile(cpu, 99) * 1000:.0f} ms")
    batches: list[float] = []
    began = time.perf_counter()
    for b in range(args.batches):
        t = time.perf_counter()
        scorer.submit_json([order(100_000 + b * 100 + i) for i in range(100)], "bench")
        batches.append(time.perf_counter() - t)
    total = time.perf_counter() - began
    print(f"batches of 100: {args.batches} in {total:.1f} s = "
          f"{args.batches * 100 / total:.0f} events/s; per batch median "
          f"{percentile(batches, 50) * 1000:.0f} ms, p99 {percentile(batches, 99) * 1000:.0f} ms")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
