"""Benchmark: derived columns on 10M orders cost no second scan.

One model scores spend margin and big orders over the last 365 days, three ways, on the orders
of the scoring benchmark (bench_score.generate: 1M customers, 10M orders as Parquet):

- ``hand_sql``: one single-pass DuckDB query written by hand (the baseline);
- ``crindex_inline``: ``crindex.api.score`` (reading, every quality check, scoring) with the
  model's own aggregates: ``profit`` and ``count`` filtered on ``amount >= 100``;
- ``crindex_derived``: the same, the two values coming from derived columns of orders
  (``margin: "amount - coalesce(cost, 0)"``, ``big: "amount >= 100"``) summed and filtered.

Each contender runs in its own process, rounds interleaved, best of ``--repeat``; all three
give the same scores.

    .venv/bin/python bench/bench_derive.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_score import AS_OF, MACRO, ROOT, generate, interleave, print_results  # noqa: E402

HAND_SQL = """
WITH o AS (
  SELECT customer_id,
         sum(amount - coalesce(cost, 0)) FILTER (WHERE status = 'paid'
           AND ordered_at::DATE > DATE '2024-12-31') AS margin,
         count(*) FILTER (WHERE status = 'paid' AND amount >= 100
           AND ordered_at::DATE > DATE '2024-12-31') AS big
  FROM read_parquet('{d}/orders.parquet')
  WHERE ordered_at::DATE <= DATE '2025-12-31'
  GROUP BY customer_id),
t AS (
  SELECT c.customer_id,
         round(0.6 * clip100(coalesce(o.margin, 0) / 5000 * 100)
               + 0.4 * clip100(coalesce(o.big, 0) / 20 * 100), 6) AS score
  FROM read_parquet('{d}/customers.parquet') c LEFT JOIN o USING (customer_id)
  WHERE (c.created_at IS NULL OR c.created_at::DATE <= DATE '2025-12-31')
    AND (c.churned_at IS NULL OR c.churned_at::DATE > DATE '2025-12-31'))
SELECT customer_id, score,
       CASE WHEN score >= 90 THEN 'core' WHEN score >= 70 THEN 'potential'
            WHEN score >= 50 THEN 'ordinary' ELSE 'at_risk' END AS tier
FROM t ORDER BY customer_id
"""

MODEL = """\
name: derive-bench
{sources}
dimensions:
  - id: value
    metrics:
      - {{id: margin, {margin}, window: 365d, weight: 60,
          normalise: {{method: range, min: 0, max: 5000}}}}
      - {{id: big, aggregate: count, table: orders, {big}, window: 365d, weight: 40,
          normalise: {{method: range, min: 0, max: 20}}}}
"""
INLINE = MODEL.format(sources="", margin="aggregate: profit",
                      big="where: {amount: {'>=': 100}}")
DERIVED = MODEL.format(
    sources='sources:\n  orders:\n    derive: {margin: "amount - coalesce(cost, 0)", '
            'big: "amount >= 100"}',
    margin="aggregate: sum, column: margin", big="where: {big: true}")


def run_one(kind: str, d: Path) -> dict:
    """In a child process: one warm-up, one timed run; the scores' sum and tiers."""
    import duckdb
    import pyarrow.compute as pc

    times = []
    for _ in range(2):  # the first run warms the OS page cache
        t0 = time.perf_counter()
        if kind == "hand_sql":
            con = duckdb.connect()
            con.execute(MACRO)
            table = con.execute(HAND_SQL.format(d=d)).to_arrow_table()
        else:
            from crindex.api import score
            from crindex.model import parse_model

            model = parse_model(DERIVED if kind == "crindex_derived" else INLINE)
            table = score(model, str(d), AS_OF).table
        times.append(time.perf_counter() - t0)
    counts = pc.value_counts(table.column("tier")).to_pylist()
    return {"kind": kind, "best_s": min(times[1:]), "runs": times[1:], "rows": table.num_rows,
            "score_sum": round(pc.sum(table.column("score")).as_py(), 3),
            "tiers": {c["values"]: c["counts"] for c in counts},
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "score-data")
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.data)))
        return
    generate(args.data, args.customers, args.orders)
    kinds = ["hand_sql", "crindex_inline", "crindex_derived"]
    results = interleave(__file__, kinds, args.data, args.repeat)
    print_results(results, kinds)
    for kind in kinds:
        print(f"{kind}: tiers {results[kind]['tiers']}")
    derived, inline = (min(results[k]["runs"]) for k in ("crindex_derived", "crindex_inline"))
    print(f"derived / inline = {derived / inline:.2f}")


if __name__ == "__main__":
    main()
