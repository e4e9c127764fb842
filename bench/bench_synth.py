"""Benchmark: write 100M+ synthetic events and report events per second and peak memory.

Each world is generated in a fresh child process so its peak RSS (``ru_maxrss``) is its own.
The baseline, run in the same session, is pyarrow writing an already-built table of the same
shape as ``interactions`` with the same Parquet settings: the floor below which the generator
cannot go (it has to write its rows too).

    .venv/bin/python bench/bench_synth.py            # both worlds + baseline (~5 minutes)
    .venv/bin/python bench/bench_synth.py --quick    # a small run to check the script

Events are the rows of orders, interactions, surveys and subscriptions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENT_TABLES = ("orders", "interactions", "surveys", "subscriptions")

#: (label, profile, customers, months): 100M events over three years, and 10M customers
WORLDS = [
    ("ecommerce, 440k customers x 36 months", "ecommerce", 440_000, 36),
    ("ecommerce, 10M customers x 2 months", "ecommerce", 10_000_000, 2),
]
QUICK = [("ecommerce, 20k customers x 36 months", "ecommerce", 20_000, 36)]


def child(profile: str, customers: int, months: int, out: str) -> None:
    from crindex.synth import generate

    t0 = time.perf_counter()
    info = generate(profile=profile, customers=customers, start=dt.date(2023, 1, 1),
                    months=months, seed=7, out=Path(out), progress=False)
    seconds = time.perf_counter() - t0
    events = sum(n for name, n in info["rows"].items() if name in EVENT_TABLES)
    size = sum(f.stat().st_size for f in Path(out).glob("*.parquet"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "events": events, "rows": info["rows"],
                      "peak_rss_mb": peak_mb, "bytes": size}))


def baseline(rows: int, out: Path) -> dict[str, float]:
    """pyarrow alone writing ``rows`` interactions-shaped rows (built beforehand)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crindex.synth.tables import TS, id_strings
    from crindex.synth.world import CHANNELS, KINDS

    rng = np.random.default_rng(0)
    chunk = 2_000_000
    ids = id_strings("C", np.arange(1, 10_001), 7)
    value = rng.lognormal(1.5, 0.6, chunk)
    value[rng.random(chunk) < 0.6] = np.nan
    table = pa.table({
        "customer_id": pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, 10_000, chunk, dtype=np.int32)), ids),
        "occurred_at": pa.array(rng.integers(1.67e15, 1.77e15, chunk), type=TS),
        "channel": pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, len(CHANNELS), chunk, dtype=np.int32)), list(CHANNELS)),
        "kind": pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, len(KINDS), chunk, dtype=np.int32)), list(KINDS)),
        "value": pa.array(value, mask=np.isnan(value)),
        "satisfaction": pa.array(np.full(chunk, np.nan), mask=np.ones(chunk, bool)),
    })
    dict_cols = ["customer_id", "channel", "kind"]
    t0 = time.perf_counter()
    with pq.ParquetWriter(out, table.schema, compression="zstd", compression_level=1,
                          version="2.6", use_dictionary=dict_cols, store_schema=False,
                          data_page_version="1.0") as writer:
        for _ in range(rows // chunk):
            writer.write_table(table)
    seconds = time.perf_counter() - t0
    return {"rows": rows // chunk * chunk, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", nargs=4, metavar=("PROFILE", "CUSTOMERS", "MONTHS", "OUT"))
    args = ap.parse_args()
    if args.child:
        profile, customers, months, out = args.child
        child(profile, int(customers), int(months), out)
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    worlds = QUICK if args.quick else WORLDS
    tmp = Path(tempfile.mkdtemp(prefix="bench_synth_"))
    try:
        for label, profile, customers, months in worlds:
            out = tmp / "world"
            proc = subprocess.run([sys.executable, __file__, "--child", profile, str(customers),
                                   str(months), str(out)], check=True, capture_output=True,
                                  text=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"{label}: {r['events']:,} events in {r['seconds']:.1f} s = "
                  f"{r['events'] / r['seconds'] / 1e6:.2f}M events/s; peak RSS "
                  f"{r['peak_rss_mb']:,.0f} MB; {r['bytes'] / 1e9:.2f} GB of Parquet; "
                  f"rows {r['rows']}")
            shutil.rmtree(out)
        b = baseline(20_000_000 if not args.quick else 4_000_000, tmp / "baseline.parquet")
        print(f"baseline, pyarrow writing prebuilt interactions-shaped rows: {b['rows']:,} rows "
              f"in {b['seconds']:.1f} s = {b['rows'] / b['seconds'] / 1e6:.2f}M rows/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
