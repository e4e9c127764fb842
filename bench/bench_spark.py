"""Benchmark: score examples/ecommerce.yaml on DuckDB and on Spark local[2], 1M customers / 10M orders.

The data is the world of ``bench_score.py`` (1M customers, 10M orders, 5M interactions, 1M
survey answers as Parquet; generated once into bench/out/score-data and shared with it).
Contenders, every one through ``crindex.api.score`` and giving the full evaluation table:

- ``duckdb``: embedded DuckDB on the Parquet files typed but not checked
  (``score(model, folder, as_of, checks=False)``): the engine alone;
- ``duckdb_checked``: ``score(model, folder, as_of)`` without ``con``, the default path, which
  also runs every data-quality check of ``crindex.data.open_dataset``;
- ``spark``: ``connect("spark", master=..., **conf)`` then ``score(model, folder, as_of,
  con=con)``, which runs the same checks on Spark (they are written in Ibis): the same work as
  ``duckdb_checked``. In a fresh process: the session start (JVM launch included), the first
  score (``cold``: Spark plans, compiles and JIT-warms everything), ``--warm`` repeats in the
  same session, and once the same query into Spark's ``noop`` sink (run, output dropped,
  nothing collected);
- ``duckdb_cli`` and ``spark_cli``: the command line a user runs, ``crindex score ... --format
  parquet`` and the same with ``--engine spark --master M --conf key=value ...`` (the
  ``--conf`` settings of this script, ``spark.driver.memory=4g`` by default), timed from the
  process start to its exit. For ``spark_cli`` the script reads the JVM's command line and
  peak RSS from /proc, so the table shows the heap (``-Xmx``) the CLI's ``--conf`` gave it.

Each contender runs in its own process, rounds are interleaved (duckdb, duckdb_checked, spark,
...) so that every contender sees the same machine; medians over ``--rounds``. A DuckDB process
scores twice: the first run (``first``) is the one to set against Spark's cold run, the second
the one to set against a warm repeat. Every Spark result is checked against DuckDB's: the same
customers in the same order, the same tier for every one, and every score within 1e-9; the
script fails otherwise.

    .venv/bin/python bench/bench_spark.py [--rounds 3] [--master 'local[2]']
        [--conf spark.driver.memory=4g ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_score import AS_OF, generate  # noqa: E402  (the same world as the scoring benchmark)

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("customers", "orders", "interactions", "surveys")
#: how far a Spark score may be from DuckDB's: both round scores to 6 decimals, so anything
#: but float noise in the last bits is a real difference
SCORE_TOLERANCE = 1e-9
DEFAULT_CONF = ["spark.driver.memory=4g"]


def _keep(table: Any, path: Path) -> None:
    """Write the columns the comparison needs (customer_id, score, tier) for the parent."""
    import pyarrow.parquet as pq

    pq.write_table(table.select(["customer_id", "score", "tier"]), path)


def run_duckdb(d: Path, out: Path, checked: bool) -> dict:
    from crindex.api import score
    from crindex.examples import example_path

    model = example_path("ecommerce")
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        result = score(model, str(d), AS_OF, checks=checked)
        times.append(time.perf_counter() - t0)
    _keep(result.table, out)
    return {"first_s": times[0], "warm_s": times[1], "rows": result.table.num_rows,
            "columns": result.table.num_columns,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run_spark(d: Path, out: Path, master: str, conf: dict[str, str], warm: int,
              noop: bool = True) -> dict:
    from crindex.api import score
    from crindex.engine.connect import connect
    from crindex.examples import example_path

    model = example_path("ecommerce")
    t0 = time.perf_counter()
    con = connect("spark", master=master, **conf)
    session_s = time.perf_counter() - t0
    session = con._session
    jvm_pid = int(session._jvm.java.lang.ProcessHandle.current().pid())
    t0 = time.perf_counter()
    result = score(model, str(d), AS_OF, con=con)
    cold_s = time.perf_counter() - t0
    _keep(result.table, out)
    warm_s = []
    again = result
    for _ in range(warm):
        t0 = time.perf_counter()
        again = score(model, str(d), AS_OF, con=con)
        warm_s.append(time.perf_counter() - t0)
    # the same query without bringing the rows to Python: Spark runs it and drops the output
    query_only_s = None
    if noop:
        t0 = time.perf_counter()
        session.sql(str(con.compile(result.compiled.expr))).write.format("noop").mode(
            "overwrite").save()
        query_only_s = time.perf_counter() - t0
    out_row = {"session_s": session_s, "cold_s": cold_s, "warm_runs": warm_s,
               "query_only_s": query_only_s,
               "warm_s": statistics.median(warm_s),
               "rows": result.table.num_rows, "columns": result.table.num_columns,
               "warm_same": again.table.equals(result.table),
               "driver_memory": session.sparkContext.getConf().get("spark.driver.memory",
                                                                    "1g (default)"),
               "jvm_peak_rss_mb": _vm_hwm_mb(jvm_pid),
               "python_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    session.stop()
    return out_row


def _jvms(pgid: int) -> dict[int, tuple[float, str]]:
    """Java processes of process group ``pgid``: pid -> (VmHWM in MB, their -Xmx argument)."""
    out = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if int((p / "stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            args = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if not args or not args[0].endswith(b"java"):
            continue
        xmx = [a.decode() for a in args if a.startswith(b"-Xmx")]
        out[int(p.name)] = (_vm_hwm_mb(int(p.name)) or 0.0, xmx[-1] if xmx else "")
    return out


def run_cli(d: Path, out: Path, engine_args: list[str]) -> dict:
    """``crindex score`` in a process of its own: wall time, peak RSS, and its JVM if any."""
    import shutil

    from crindex.examples import example_path

    folder = out.with_suffix("")
    shutil.rmtree(folder, ignore_errors=True)
    cmd = [sys.executable, "-m", "crindex.cli", "score", "--model", str(example_path("ecommerce")),
           "--data", str(d), "--as-of", AS_OF, "--out", str(folder), "--format", "parquet",
           *engine_args]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    seen: dict[int, tuple[float, str]] = {}
    python_hwm = 0.0
    # peaks are read while the processes live (VmHWM only grows; the last half second is lost)
    while proc.poll() is None:
        python_hwm = max(python_hwm, _vm_hwm_mb(proc.pid) or 0.0)
        for pid, (hwm, xmx) in _jvms(proc.pid).items():
            seen[pid] = (max(hwm, seen.get(pid, (0.0, ""))[0]), xmx)
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    _, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"crindex score failed ({proc.returncode}):\n{stderr[-3000:]}")
    shutil.copy(folder / "scores.parquet", out)
    import pyarrow.parquet as pq

    meta = pq.read_metadata(out)
    return {"wall_s": wall, "rows": meta.num_rows, "columns": meta.num_columns,
            "python_peak_rss_mb": python_hwm,
            "jvm_peak_rss_mb": max((h for h, _ in seen.values()), default=None),
            "jvm_xmx": sorted({x for _, x in seen.values()})}


class OtherWork(threading.Thread):
    """CPU seconds that processes outside this benchmark used while it ran.

    The load average cannot tell: the benchmark alone keeps it near 2 on 2 cores. Every second
    the thread reads the CPU time of this process group (the parent, its children and the JVM
    they start) from /proc; the machine's busy time (/proc/stat) minus that is other work.
    Approximate: up to a second of each child's last CPU time is counted as other work.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.pgid = os.getpgid(0)
        self.tick = os.sysconf("SC_CLK_TCK")
        self.start_busy = self._busy()
        self.start_mine = self._mine()
        self.mine: dict[int, int] = dict(self.start_mine)
        self.done = threading.Event()
        self.t0 = time.perf_counter()

    @staticmethod
    def _busy() -> int:
        v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(v) - v[3] - v[4]  # all but idle and iowait

    def _mine(self) -> dict[int, int]:
        out = {}
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                f = (p / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(f[2]) == self.pgid:
                out[int(p.name)] = int(f[11]) + int(f[12])
        return out

    def run(self) -> None:
        while not self.done.wait(1.0):
            for pid, ticks in self._mine().items():
                self.mine[pid] = max(ticks, self.mine.get(pid, 0))

    def report(self) -> tuple[float, float]:
        """(CPU seconds of other work, its share of the machine's capacity over the run)."""
        self.done.set()
        self.join()
        mine = sum(self.mine.values()) - sum(self.start_mine.values())
        other = max(self._busy() - self.start_busy - mine, 0) / self.tick
        return other, other / ((time.perf_counter() - self.t0) * (os.cpu_count() or 1))


def compare(a: Path, b: Path) -> dict:
    """Spark's scores (``b``) against DuckDB's (``a``), customer by customer."""
    import duckdb

    con = duckdb.connect()
    row = con.execute(f"""
        SELECT count(*) FILTER (WHERE a.customer_id IS NOT NULL) AS a_rows,
               count(*) FILTER (WHERE b.customer_id IS NOT NULL) AS b_rows,
               count(*) FILTER (WHERE a.customer_id IS NULL OR b.customer_id IS NULL) AS unmatched,
               count(*) FILTER (WHERE a.tier IS DISTINCT FROM b.tier) AS tier_diff,
               count(*) FILTER (WHERE (a.score IS NULL) <> (b.score IS NULL)) AS null_diff,
               max(abs(a.score - b.score)) AS max_abs_diff,
               sum(a.score) AS a_sum, sum(b.score) AS b_sum
        FROM read_parquet('{a}') a FULL JOIN read_parquet('{b}') b USING (customer_id)""").fetchone()
    keys = ("duckdb_rows", "spark_rows", "unmatched", "tier_differs", "null_score_differs",
            "max_abs_score_diff", "duckdb_score_sum", "spark_score_sum")
    res = dict(zip(keys, row, strict=True))
    res["tiers"] = dict(con.execute(
        f"SELECT tier, count(*) FROM read_parquet('{a}') GROUP BY tier ORDER BY tier").fetchall())
    import pyarrow.parquet as pq

    # rows in the same order: DuckDB's query sorts them, Spark's are sorted after collecting
    res["same_order"] = pq.read_table(a, columns=["customer_id"]).equals(
        pq.read_table(b, columns=["customer_id"]))
    res["same"] = (res["unmatched"] == 0 and res["tier_differs"] == 0
                   and res["null_score_differs"] == 0 and res["same_order"]
                   and (res["max_abs_score_diff"] or 0.0) <= SCORE_TOLERANCE)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warm", type=int, default=2, help="warm Spark repeats per session")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--conf", action="append", default=None, metavar="KEY=VALUE",
                    help="a Spark setting for both Spark contenders, repeatable (default: "
                    + " ".join(DEFAULT_CONF) + "); passed to the CLI as --conf")
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "score-data")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "spark")
    ap.add_argument("--kinds", default="duckdb,duckdb_checked,spark,duckdb_cli,spark_cli")
    ap.add_argument("--no-noop", action="store_true",
                    help="skip the run of the query into Spark's noop sink (saves one run)")
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    if args.warm < 1 or args.rounds < 1:
        ap.error("--warm and --rounds must be at least 1")
    from crindex.engine.spark import parse_conf

    settings = args.conf if args.conf is not None else DEFAULT_CONF
    conf = parse_conf(settings)  # as the CLI reads them
    if args.child:
        out = args.out / f"{args.child}.parquet"
        if args.child == "spark":
            r = run_spark(args.data, out, args.master, conf, args.warm, not args.no_noop)
        elif args.child == "spark_cli":
            r = run_cli(args.data, out, ["--engine", "spark", "--master", args.master,
                                         *[x for c in settings for x in ("--conf", c)]])
        elif args.child == "duckdb_cli":
            r = run_cli(args.data, out, [])
        else:
            r = run_duckdb(args.data, out, checked=args.child == "duckdb_checked")
        print(json.dumps(r))
        return

    t0 = time.perf_counter()
    generate(args.data, args.customers, args.orders)
    print(f"data ready in {time.perf_counter() - t0:.1f}s at {args.data}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    kinds = args.kinds.split(",")
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    loads = [os.getloadavg()[0]]
    print(f"load average at the start: {os.getloadavg()}", file=sys.stderr)
    other = OtherWork()
    other.start()
    for round_no in range(args.rounds):
        for kind in kinds:
            cmd = [sys.executable, __file__, "--child", kind, "--data", str(args.data),
                   "--out", str(args.out), "--master", args.master, "--warm", str(args.warm),
                   *[x for c in settings for x in ("--conf", c)],
                   *(["--no-noop"] if args.no_noop else [])]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr[-5000:], file=sys.stderr)
                raise SystemExit(f"{kind} failed")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            runs[kind].append(r)
            loads.append(os.getloadavg()[0])
            times = {k: round(v, 2) for k, v in r.items() if k.endswith("_s") and v is not None}
            print(f"round {round_no + 1} {kind:15s} {times}  load {loads[-1]:.2f}",
                  file=sys.stderr)

    other_s, other_share = other.report()

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    print(f"\n{args.customers:,} customers, {args.orders:,} orders; {args.rounds} rounds; "
          f"cores {os.cpu_count()}; 1-min load average {min(loads):.2f}-{max(loads):.2f} "
          f"(this benchmark included); other processes used {other_s:.0f} CPU-s, "
          f"{100 * other_share:.1f}% of the machine over the run; Spark settings {settings}")
    for kind in kinds:
        rs = runs[kind]
        if kind == "spark":
            print(f"spark ({args.master}, driver memory {rs[0]['driver_memory']}): "
                  f"session start median {med(kind, 'session_s'):.2f}s "
                  f"{[round(r['session_s'], 2) for r in rs]}; "
                  f"cold median {med(kind, 'cold_s'):.2f}s {[round(r['cold_s'], 2) for r in rs]}; "
                  f"warm median {med(kind, 'warm_s'):.2f}s "
                  f"{[round(x, 2) for r in rs for x in r['warm_runs']]}; "
                  + (f"query alone (no collect) median {med(kind, 'query_only_s'):.2f}s "
                     f"{[round(r['query_only_s'], 2) for r in rs]}; " if not args.no_noop
                     else "")
                  + f"rows {rs[0]['rows']:,} x {rs[0]['columns']}; warm results equal to the "
                  f"cold ones: {all(r['warm_same'] for r in rs)}; JVM peak RSS "
                  f"{max(r['jvm_peak_rss_mb'] or 0 for r in rs):,.0f} MB, "
                  f"Python {max(r['python_peak_rss_mb'] for r in rs):,.0f} MB")
        elif kind.endswith("_cli"):
            jvm = max((r["jvm_peak_rss_mb"] or 0 for r in rs), default=0)
            print(f"{kind}: wall median {med(kind, 'wall_s'):.2f}s "
                  f"{[round(r['wall_s'], 2) for r in rs]}; rows {rs[0]['rows']:,} x "
                  f"{rs[0]['columns']}; Python peak RSS "
                  f"{max(r['python_peak_rss_mb'] for r in rs):,.0f} MB"
                  + (f"; JVM peak RSS {jvm:,.0f} MB, heap {sorted({x for r in rs for x in r['jvm_xmx']})}"
                     if kind == "spark_cli" else ""))
        else:
            print(f"{kind}: first median {med(kind, 'first_s'):.2f}s "
                  f"{[round(r['first_s'], 2) for r in rs]}; warm median "
                  f"{med(kind, 'warm_s'):.2f}s {[round(r['warm_s'], 2) for r in rs]}; "
                  f"rows {rs[0]['rows']:,} x {rs[0]['columns']}; "
                  f"peak RSS {max(r['peak_rss_mb'] for r in rs):,.0f} MB")
    if "spark" in kinds:
        for base in [k for k in kinds if k in ("duckdb", "duckdb_checked")]:
            print(f"ratio spark/{base}: cold/first {med('spark', 'cold_s') / med(base, 'first_s'):.2f}"
                  f", warm/warm {med('spark', 'warm_s') / med(base, 'warm_s'):.2f}, "
                  f"(session + cold)/first "
                  f"{(med('spark', 'session_s') + med('spark', 'cold_s')) / med(base, 'first_s'):.2f}")
    if "spark_cli" in kinds and "duckdb_cli" in kinds:
        print(f"ratio spark_cli/duckdb_cli (process start to exit): "
              f"{med('spark_cli', 'wall_s') / med('duckdb_cli', 'wall_s'):.2f}")
    base = next((k for k in ("duckdb_checked", "duckdb", "duckdb_cli") if k in kinds), None)
    failed = []
    for kind in [k for k in kinds if k.startswith("spark")]:
        if base is None:
            break
        cmp = compare(args.out / f"{base}.parquet", args.out / f"{kind}.parquet")
        print(f"{kind} vs {base}: same customers in the same order, the same tier for every "
              f"one, scores within {SCORE_TOLERANCE}: {cmp['same']}; "
              f"{json.dumps(cmp, default=str)}")
        if not cmp["same"]:
            failed.append(kind)
    if failed:
        raise SystemExit(f"different scores on {', '.join(failed)}")


if __name__ == "__main__":
    main()
