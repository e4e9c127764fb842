"""How long the path to the next tier takes per customer (crindex.act.next_tier).

Generates a synthetic world (``--profile``, ``--customers``), scores it with the shipped model
of that profile, then times ``ScoreResult.explain`` (which now carries the path) and the path
alone for every scored customer. Prints the figures and how many customers have a path.

    .venv/bin/python bench/bench_act.py --profile b2b --customers 2000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="b2b", choices=["b2b", "ecommerce"])
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    from crindex.api import score
    from crindex.examples import example_path
    from crindex.synth import generate

    folder = Path(tempfile.mkdtemp(prefix="crindex-bench-act-"))
    generate(args.profile, customers=args.customers, start="2024-01-01", months=18, seed=7,
             out=folder / "data", progress=False)
    result = score(example_path(args.profile), str(folder / "data"), "2025-06-30")
    ids = [c for c, s in zip(result.table.column("customer_id").to_pylist(),
                             result.table.column("score").to_pylist(), strict=True)
           if s is not None]
    times, found, changes = [], 0, []
    for cid in ids:
        start = time.perf_counter()
        path = result.explain(cid).next_tier
        times.append(time.perf_counter() - start)
        if path is not None and path.found:
            found += 1
            changes.append(len(path.changes))
    times.sort()
    print(f"{args.profile}: {len(ids)} scored customers, {found} with a path "
          f"(metrics changed: mean {statistics.mean(changes) if changes else 0:.2f}, "
          f"max {max(changes, default=0)})")
    print(f"explain with the path, per customer: median {statistics.median(times) * 1e3:.1f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))] * 1e3:.1f} ms, max {times[-1] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
