"""Benchmark: a grocery purchase log of 10M lines scored through a lookup and a roll-up.

The world (generated in DuckDB from ``range()``, seeded): households, products with their
departments, and purchase lines (household, basket, product, quantity, sales value, time; about
8 lines per basket) as Parquet. The model (``MODEL`` below) maps them with ``sources:`` alone:
the products joined onto the lines (``lookups:``), the lines rolled up into one order per basket
(``rollup:``, the department of the basket's first line as its product line), then four metrics
per household: baskets and spend in the last 365 days, days since the last basket, departments.

Baseline in the same run: the same thing written by hand as one DuckDB query over the same files
(``hand_sql``). Contenders: ``crindex_engine`` (the files opened with ``checks=False``, the
compiled model cut to customer_id, score, tier like the hand query) and ``crindex_full``
(``crindex.api.score`` on the folder: reading, every data-quality check of every line, the
roll-up, scoring). Each contender runs in its own process (peak RSS per process), warm-up once,
then one timed run; ``--repeat`` interleaved rounds, best of each. Also checks that both give the
same scores.

    .venv/bin/python bench/bench_exports.py [--households 200000] [--lines 10000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from bench_score import MACRO, interleave, print_results

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2025-12-31"
LINES_PER_BASKET = 8

MODEL = """
name: grocery_bench
sources:
  customers:
    path: households.parquet
    columns: {household_key: customer_id, joined: created_at}
  orders:
    path: lines.parquet
    lookups:
      - {path: products.parquet, on: PRODUCT_ID}
    columns: {household_key: customer_id, TRANS_TIME: ordered_at, SALES_VALUE: amount}
    rollup:
      by: BASKET_ID
      amount: sum(SALES_VALUE)
      product_line: first(DEPARTMENT)
dimensions:
  - id: all
    metrics:
      - {id: baskets, aggregate: count, window: 365d, weight: 40, normalise: {method: range, min: 0, max: 24}}
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 30, normalise: {method: range, min: 0, max: 500}}
      - {id: recency, aggregate: recency_days, weight: 20, missing: zero, normalise: {method: range, min: 0, max: 365, direction: lower}}
      - {id: departments, aggregate: distinct_count, column: product_line, window: 365d, weight: 10, normalise: {method: range, min: 0, max: 10}}
"""


HAND_SQL = """
WITH
b AS (
  SELECT l.BASKET_ID, arg_min_null(l.household_key, l.file_row_number) AS household_key,
         min(l.TRANS_TIME) AS ordered_at, sum(l.SALES_VALUE) AS amount,
         arg_min_null(p.DEPARTMENT, l.file_row_number) AS department
  FROM read_parquet('{d}/lines.parquet', file_row_number = true) l
  LEFT JOIN read_parquet('{d}/products.parquet') p USING (PRODUCT_ID)
  GROUP BY l.BASKET_ID),
o AS (
  SELECT household_key,
         count(*) FILTER (WHERE ordered_at::DATE > DATE '2024-12-31') AS baskets,
         sum(amount) FILTER (WHERE ordered_at::DATE > DATE '2024-12-31') AS spend,
         max(ordered_at::DATE) AS last_day,
         count(DISTINCT department) FILTER (WHERE ordered_at::DATE > DATE '2024-12-31') AS depts
  FROM b WHERE ordered_at::DATE <= DATE '2025-12-31'
  GROUP BY household_key),
m AS (
  SELECT h.household_key AS customer_id,
         clip100(coalesce(o.baskets, 0) / 24 * 100) AS s_baskets,
         clip100(coalesce(o.spend, 0) / 500 * 100) AS s_spend,
         coalesce(100 - clip100((DATE '2025-12-31' - o.last_day) / 365 * 100), 0) AS s_rec,
         clip100(coalesce(o.depts, 0) / 10 * 100) AS s_depts
  FROM read_parquet('{d}/households.parquet') h LEFT JOIN o USING (household_key)
  WHERE h.joined::DATE <= DATE '2025-12-31'),
t AS (
  SELECT customer_id,
         round((40 * s_baskets + 30 * s_spend + 20 * s_rec + 10 * s_depts) / 100, 6) AS score
  FROM m)
SELECT customer_id, score,
       CASE WHEN score >= 90 THEN 'core' WHEN score >= 70 THEN 'potential'
            WHEN score >= 50 THEN 'ordinary' ELSE 'at_risk' END AS tier
FROM t ORDER BY customer_id
"""


def generate(d: Path, households: int, lines: int) -> None:
    """The world as Parquet, from DuckDB's ``range()`` (seconds for 10M lines)."""
    import duckdb

    d.mkdir(parents=True, exist_ok=True)
    if (d / "lines.parquet").exists():
        return
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    products = max(lines // 200, 100)
    con.execute(f"""COPY (SELECT printf('H%07d', i) AS household_key,
        TIMESTAMP '2020-01-01' + to_days(CAST(random() * 1500 AS INTEGER)) AS joined
        FROM range({households}) t(i)) TO '{d}/households.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT printf('P%07d', i) AS PRODUCT_ID,
        printf('DEPT%02d', i % 30) AS DEPARTMENT, printf('BRAND%03d', i % 500) AS BRAND
        FROM range({products}) t(i)) TO '{d}/products.parquet' (FORMAT parquet)""")
    # a basket is LINES_PER_BASKET consecutive lines of one household at one time; households
    # buy with a skew (pow), over two years up to 2025-12-31
    con.execute(f"""COPY (SELECT printf('H%07d', CAST(floor(pow(hash(b) % 1000003 / 1000003.0, 1.5)
            * {households}) AS INTEGER)) AS household_key,
        printf('B%09d', b) AS BASKET_ID,
        printf('P%07d', CAST(floor(random() * {products}) AS INTEGER)) AS PRODUCT_ID,
        1 + CAST(random() * 3 AS INTEGER) AS QUANTITY,
        round(0.5 + random() * 12, 2) AS SALES_VALUE,
        TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(b * 31) % (731 * 86400) AS BIGINT))
            AS TRANS_TIME
        FROM (SELECT i // {LINES_PER_BASKET} AS b FROM range({lines}) t(i)) t)
        TO '{d}/lines.parquet' (FORMAT parquet)""")
    (d / "model.yaml").write_text(MODEL, encoding="utf-8")


def run_one(kind: str, d: Path, repeat: int) -> dict:
    """Runs in a child process: time ``kind`` and report peak RSS."""
    import datetime as dt

    import duckdb
    import pyarrow.compute as pc

    times = []
    table = None
    for _ in range(repeat + 1):  # the first run warms the OS page cache
        t0 = time.perf_counter()
        if kind == "hand_sql":
            con = duckdb.connect()
            con.execute(MACRO)
            table = con.execute(HAND_SQL.format(d=d)).to_arrow_table()
        elif kind == "crindex_engine":
            import ibis

            from crindex.data import open_dataset
            from crindex.engine.compile import compile_model
            from crindex.engine.connect import execute
            from crindex.model import load_model

            model = load_model(d / "model.yaml")
            icon = ibis.duckdb.connect()
            tables = open_dataset(d, model, con=icon, checks=False).tables
            compiled = compile_model(model, tables, dt.date.fromisoformat(AS_OF))
            table = execute(icon, compiled.expr.select("customer_id", "score", "tier"))
        else:  # the whole call: reading, every check of every line, roll-up, scoring
            from crindex.api import score

            table = score(str(d / "model.yaml"), str(d), AS_OF).table
        times.append(time.perf_counter() - t0)
    assert table is not None
    counts = pc.value_counts(table.column("tier")).to_pylist()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"kind": kind, "best_s": min(times[1:]), "runs": times[1:], "rows": table.num_rows,
            "score_sum": round(pc.sum(table.column("score")).as_py(), 3),
            "peak_rss_mb": peak_kb / 1024,
            "tiers": {c["values"]: c["counts"] for c in counts}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=200_000)
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "exports-data")
    ap.add_argument("--child", default=None)
    ap.add_argument("--kinds", default="hand_sql,crindex_engine,crindex_full")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.data, args.repeat)))
        return
    t0 = time.perf_counter()
    generate(args.data, args.households, args.lines)
    print(f"data ready in {time.perf_counter() - t0:.1f}s at {args.data}", file=sys.stderr)
    kinds = args.kinds.split(",")
    results = interleave(__file__, kinds, args.data, args.repeat)
    print_results(results, kinds)
    for kind in [k for k in kinds if k != "hand_sql"]:
        same = results["hand_sql"]["tiers"] == results[kind]["tiers"] and \
            results["hand_sql"]["score_sum"] == results[kind]["score_sum"]
        print(f"{kind}: same tiers and score sum as hand_sql: {same} "
              f"({results['hand_sql']['tiers']})")


if __name__ == "__main__":
    main()
