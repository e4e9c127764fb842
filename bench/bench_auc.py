"""Churn AUC with a bootstrap interval on 1,000,000 scores: memory and time.

    .venv/bin/python bench/bench_auc.py                    # 1M scores, 100 resamples
    .venv/bin/python bench/bench_auc.py --n 100000         # while developing

Each variant runs in a fresh subprocess that draws the same seeded scores (CRI-like: 0..100 in
steps of 0.01, so many ties; ~15% churners, who score lower on average), then runs the
variant once. Peak memory is the subprocess's ``ru_maxrss``; ``above data`` is the peak minus
the resident size after the inputs were made (what the AUC itself added). Variants:

- ``stats.auc``: :func:`crindex.stats.churn_auc` (the point AUC);
- ``scipy``: ``scipy.stats.mannwhitneyu`` U / (n1 n0), the baseline for the point AUC;
- ``stats.bootstrap_auc``: :func:`crindex.stats.bootstrap_auc`, ``--boot`` resamples;
- ``dense``: the bootstrap crindex had before (copied below): an n x B matrix of draws,
  resampled scores and their ranks. Run under an address-space limit (``--dense-limit-gb``)
  so it cannot take the machine down; if it runs out, the table says so.

The two bootstraps draw the same resamples (same seed, same generator calls), so their
intervals must agree exactly; the script checks it.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_data(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    churned = rng.random(n) < 0.15
    raw = rng.normal(60.0, 15.0, n) - 12.0 * churned
    scores = np.round(np.clip(raw, 0.0, 100.0), 2)
    return scores, churned


def dense_bootstrap_auc(scores: Any, labels: Any, *, n_boot: int = 1000, level: float = 0.95,
                        seed: int = 0) -> dict[str, Any]:
    """The former ``crindex.backtest.metrics.bootstrap_auc`` (dense n x B), kept as baseline."""
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    ranks_all = rankdata(s)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    point = (float(ranks_all[y].sum()) - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    out: dict[str, Any] = {"auc": point, "low": None, "high": None, "used": 0}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, s.size, size=(n_boot, s.size))
    boot_s, boot_y = s[idx], y[idx]
    pos = boot_y.sum(axis=1)
    neg = s.size - pos
    ranks = rankdata(boot_s, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (ranks * boot_y).sum(axis=1) - pos * (pos + 1) / 2.0
        values = u / (pos * neg)
    values = values[(pos > 0) & (neg > 0)]
    alpha = (1.0 - level) / 2.0
    out["low"] = float(np.quantile(values, alpha))
    out["high"] = float(np.quantile(values, 1.0 - alpha))
    out["used"] = int(values.size)
    return out


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def child(variant: str, n: int, n_boot: int, limit_gb: float) -> dict[str, Any]:
    if variant == "dense" and limit_gb > 0:
        cap = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    sys.path.insert(0, str(ROOT / "src"))
    from scipy.stats import mannwhitneyu

    from crindex.stats import bootstrap_auc, churn_auc

    scores, churned = make_data(n)
    before = rss_mb()
    t0 = time.perf_counter()
    result: dict[str, Any] = {}
    try:
        if variant == "stats.auc":
            result = {"auc": churn_auc(scores, churned)}
        elif variant == "scipy":
            stayed, left = scores[~churned], scores[churned]
            u = mannwhitneyu(stayed, left).statistic
            result = {"auc": float(u) / (stayed.size * left.size)}
        elif variant == "stats.bootstrap_auc":
            ci = bootstrap_auc({"s": scores}, ~churned, n_boot=n_boot, seed=0)["s"]
            result = {"auc": ci.value, "low": ci.low, "high": ci.high, "used": ci.used}
        elif variant == "dense":
            result = dense_bootstrap_auc(-scores, churned, n_boot=n_boot, seed=0)
        else:
            raise SystemExit(f"unknown variant {variant}")
    except MemoryError:
        result = {"error": f"MemoryError under a {limit_gb:g} GB address-space limit"}
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return {"variant": variant, "seconds": seconds, "peak_mb": peak, "data_mb": before,
            **result}


def run(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", variant, "--n", str(args.n), "--boot",
           str(args.boot), "--dense-limit-gb", str(args.dense_limit_gb)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"variant": variant, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--boot", type=int, default=100)
    parser.add_argument("--dense-limit-gb", type=float, default=8.0)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n, args.boot, args.dense_limit_gb)))
        return
    print(f"{args.n:,} scores, {args.boot} resamples; {platform.processor() or platform.machine()}"
          f", Python {platform.python_version()}, numpy {np.__version__}")
    rows = [run(v, args) for v in ("stats.auc", "scipy", "stats.bootstrap_auc", "dense")]
    print(f"{'variant':22} {'seconds':>8} {'peak MB':>9} {'above data':>11}  result")
    for r in rows:
        if "seconds" not in r:
            print(f"{r['variant']:22} failed: {r.get('error')}")
            continue
        shown = {k: r[k] for k in ("auc", "low", "high", "used", "error") if k in r}
        print(f"{r['variant']:22} {r['seconds']:8.2f} {r['peak_mb']:9.0f} "
              f"{r['peak_mb'] - r['data_mb']:11.0f}  {shown}")
    point, scipy_point, boot, dense = rows
    if "auc" in point and "auc" in scipy_point:
        print(f"point AUC: stats {point['auc']:.12f}, scipy {scipy_point['auc']:.12f}, "
              f"difference {abs(point['auc'] - scipy_point['auc']):.1e}")
    if "low" in dense and "low" in boot:
        same = (boot["low"], boot["high"], boot["used"]) == (dense["low"], dense["high"],
                                                             dense["used"])
        print(f"intervals identical to the dense baseline: {same}")
    if "peak_mb" in boot:
        print(f"bootstrap peak {boot['peak_mb']:.0f} MB: "
              f"{'under' if boot['peak_mb'] < 1024 else 'OVER'} 1 GB")


if __name__ == "__main__":
    main()
