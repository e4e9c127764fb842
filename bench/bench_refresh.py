"""Benchmark: a new run of 1M customers, from its commit to being served by `crindex serve`.

The store is bench_service.py's (two snapshots of examples/ecommerce.yaml for 1M made-up
customers, 8M metric rows each, cached in bench/out/), copied. For each worker count:

1. start `crindex serve --workers N --refresh 0.5` and time until every worker answers
   /healthz with 200 (its first load done; until then it answers 503 "loading");
2. replace the latest as_of with a new snapshot (another 1M customers) from this process and
   time, from the commit, until every worker serves the new run id;
3. read each worker's peak resident memory (VmHWM) and the server's total RSS.

Baseline in the same run: the write itself (the commit of the 1M-customer snapshot), and the
first load of each worker.

    .venv/bin/python bench/bench_refresh.py [--customers 1000000] [--workers 1 2]

Only loopback addresses are used; each server is stopped at the end of its round.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import HOST, OUT, ROOT, build_store, fake_snapshot, free_port, stop  # noqa: E402


def health(port: int) -> dict[str, object] | None:
    """/healthz of whichever worker answers (None while nothing listens)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=5) as r:
            return dict(json.loads(r.read()))
    except urllib.error.HTTPError as exc:  # 503 while loading
        return dict(json.loads(exc.read()))
    except OSError:
        return None


def wait_all(port: int, workers: int, want: object, key: str, timeout: float = 900) -> float:
    """Seconds until ``workers`` distinct workers answer with ``body[key] == want``."""
    t0 = time.perf_counter()
    seen: set[object] = set()
    while len(seen) < workers:
        body = health(port)
        if body is not None and body.get(key) == want:
            seen.add(body.get("worker"))
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"not every worker reached {key}={want} in {timeout} s")
        time.sleep(0.02)
    return time.perf_counter() - t0


def peak_rss_mb(pid: int) -> dict[str, float]:
    """Peak RSS (VmHWM) of each worker process under ``pid``, and the total RSS now."""
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    out: dict[str, float] = {}
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        hwm = [line.split()[1] for line in status if line.startswith("VmHWM:")]
        out[str(p)] = int(hwm[0]) / 1024 if hwm else 0.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()

    from crindex.examples import example_path
    from crindex.model.loader import load_model
    from crindex.store import open_store

    source, _ = build_store(args.customers)
    model = load_model(example_path("ecommerce"))
    new = fake_snapshot(model, args.customers, dt.date(2025, 12, 31), seed=9)
    results: dict[str, object] = {"customers": args.customers, "cpus": os.cpu_count(),
                                  "load_average": os.getloadavg(), "runs": []}
    for workers in args.workers:
        store = OUT / f"refresh-{args.customers}.duckdb"
        shutil.copyfile(source, store)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", "from crindex.cli import main; main()", "serve", "--store",
             str(store), "--model", str(ROOT / "examples" / "ecommerce.yaml"), "--port",
             str(port), "--workers", str(workers), "--refresh", "0.5"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ready = wait_all(port, workers, "ok", "status")
            t0 = time.perf_counter()
            run_id = open_store(store, lock_timeout=120).write_snapshot(new)
            commit = time.perf_counter() - t0
            served = wait_all(port, workers, run_id, "run_id")
            figures = {"workers": workers, "ready_s": ready, "write_commit_s": commit,
                       "commit_to_served_s": served, "peak_rss_mb": peak_rss_mb(proc.pid),
                       "alive": proc.poll() is None}
        finally:
            stop(proc)
            store.unlink(missing_ok=True)
            Path(str(store) + ".wal").unlink(missing_ok=True)
        results["runs"].append(figures)  # type: ignore[union-attr]
        print(json.dumps(figures), file=sys.stderr)
    (OUT / "refresh.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
