"""RFM summary + BG/NBD fit: crindex (DuckDB + numpy) against the archived lifetimes library.

    .venv/bin/python bench/bench_clv.py                      # 1M customers, ~10M orders
    .venv/bin/python bench/bench_clv.py --customers 100000   # while developing

Orders are drawn from a BG/NBD process (seeded) and loaded into DuckDB; lifetimes reads the same
rows from a Parquet file in bench/out/. Timed for both: the summary (x, t_x, T in weeks from
daily purchases, calibration end 2025-12-31) and the BG/NBD fit; reading the data is not timed.

lifetimes 0.11.3 (archived) no longer installs beside setuptools >= 82, so it runs in its own
virtual environment, bench/out/lifetimes-venv, made on first use with setuptools<82,
pandas<2, numpy<2, scipy<1.12. If that fails, the run reports crindex alone and says why.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "out"
VENV = OUT / "lifetimes-venv"
START = dt.date(2023, 1, 1)
END = dt.date(2025, 12, 31)

LIFETIMES_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter
from lifetimes.utils import summary_data_from_transaction_data
df = pd.read_parquet(sys.argv[1])
t0 = time.perf_counter()
summary = summary_data_from_transaction_data(
    df, "customer_id", "ordered_at", monetary_value_col="amount",
    observation_period_end=sys.argv[2], freq="D", freq_multiplier=7)
t1 = time.perf_counter()
model = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
t2 = time.perf_counter()
print(json.dumps({"summary_s": t1 - t0, "fit_s": t2 - t1, "params": model.params_.to_dict(),
                  "customers": len(summary), "sum_x": float(summary["frequency"].sum()),
                  "sum_t_x": float(summary["recency"].sum()), "sum_T": float(summary["T"].sum())}))
"""


def generate(customers: int, seed: int = 11) -> pa.Table:
    """Daily-stamped orders of a BG/NBD world: ~10 orders per customer on average."""
    rng = np.random.default_rng(seed)
    horizon = (END - START).days
    first = rng.uniform(0, 365, customers)                     # first purchase, days from START
    T = horizon + 1 - first
    lam = rng.gamma(0.9, 1 / 24.0, customers)                  # purchases per day
    p = rng.beta(1.4, 9.4, customers)                          # dropout after each purchase
    arrivals = rng.poisson(lam * T)
    repeats = np.minimum(rng.geometric(p), arrivals)
    # the first `repeats` of `arrivals` uniform arrival times in (first, first + T)
    owner = np.repeat(np.arange(customers), arrivals)
    u = rng.uniform(0, 1, owner.size)
    order = np.lexsort((u, owner))
    owner, u = owner[order], u[order]
    offsets = np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    keep = (np.arange(owner.size) - offsets) < repeats[owner]
    owner, u = owner[keep], u[keep]
    days = np.concatenate([first, first[owner] + u * T[owner]])
    cust = np.concatenate([np.arange(customers), owner])
    micros = (days * 86_400e6).astype(np.int64) + np.datetime64(START, "us").astype(np.int64)
    amount = np.round(rng.lognormal(3.5, 0.6, cust.size), 2)
    return pa.table({"customer_id": cust.astype(np.int64),
                     "ordered_at": pa.array(micros, pa.timestamp("us")),
                     "amount": amount})


def run_crindex(path: Path) -> dict[str, object]:
    import ibis

    from crindex.clv import BetaGeo, pattern_counts, rfm_summary

    con = ibis.duckdb.connect()
    orders = con.create_table("orders", con.read_parquet(str(path)))
    t0 = time.perf_counter()
    summary = rfm_summary(orders, END, unit="weeks", amount_col="amount", paid_only=False)
    patterns = pattern_counts(summary).to_pyarrow()
    t1 = time.perf_counter()
    model = BetaGeo().fit(patterns)
    t2 = time.perf_counter()
    totals = summary.aggregate(customers=summary.count(), sum_x=summary.x.sum(),
                               sum_t_x=summary.t_x.sum(), sum_T=summary["T"].sum()).to_pandas()
    # the same fit on one row per customer, without compressing identical patterns
    full = summary.select("x", "t_x", "T").to_pyarrow()
    t3 = time.perf_counter()
    uncompressed = BetaGeo().fit(full)
    t4 = time.perf_counter()
    return {"summary_s": t1 - t0, "fit_s": t2 - t1, "patterns": patterns.num_rows,
            "params": model.params_, "fit_all_rows_s": t4 - t3,
            "params_all_rows": uncompressed.params_,
            **{k: float(totals[k].iloc[0]) for k in ("customers", "sum_x", "sum_t_x", "sum_T")}}


def ensure_lifetimes() -> tuple[Path | None, str]:
    python = VENV / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import lifetimes"], capture_output=True)
        if check.returncode == 0:
            return python, ""
    log = OUT / "lifetimes-install.log"
    with log.open("w") as fh:
        steps = [[sys.executable, "-m", "venv", str(VENV)],
                 [str(VENV / "bin" / "pip"), "install", "-q", "setuptools<82"],
                 [str(VENV / "bin" / "pip"), "install", "-q", "lifetimes==0.11.3", "pandas<2",
                  "numpy<2", "scipy<1.12", "pyarrow<16"]]
        for step in steps:
            if subprocess.run(step, stdout=fh, stderr=subprocess.STDOUT).returncode != 0:
                return None, f"lifetimes could not be installed (see {log})"
    return python, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--no-lifetimes", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"clv_orders_{args.customers}.parquet"
    if not path.exists():
        t = time.perf_counter()
        table = generate(args.customers)
        pq.write_table(table, path)
        print(f"generated {table.num_rows:,} orders of {args.customers:,} customers in "
              f"{time.perf_counter() - t:.1f} s -> {path}", file=sys.stderr)
    orders = pq.read_metadata(path).num_rows

    ours = run_crindex(path)
    result: dict[str, object] = {"customers": args.customers, "orders": orders, "crindex": ours}
    if not args.no_lifetimes:
        python, why = ensure_lifetimes()
        if python is None:
            result["lifetimes"] = why
        else:
            proc = subprocess.run([str(python), "-c", LIFETIMES_SCRIPT, str(path), str(END)],
                                  capture_output=True, text=True,
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if proc.returncode != 0:
                result["lifetimes"] = "lifetimes failed: " + proc.stderr.strip()[-2000:]
            else:
                theirs = json.loads(proc.stdout.strip().splitlines()[-1])
                result["lifetimes"] = theirs
                rel = {k: abs(ours["params"][k] - v) / abs(v)  # type: ignore[index]
                       for k, v in theirs["params"].items()}
                result["max_relative_parameter_difference"] = max(rel.values())
                result["speedup_total"] = (theirs["summary_s"] + theirs["fit_s"]) / (
                    ours["summary_s"] + ours["fit_s"])  # type: ignore[operator]
                result["speedup_summary"] = theirs["summary_s"] / ours["summary_s"]
                result["speedup_fit"] = theirs["fit_s"] / ours["fit_s"]
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
