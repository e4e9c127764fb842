"""Benchmark: score examples/ecommerce.yaml on 1M customers / 10M orders.

The world (``--world issue``, the default) is shaped like a real export (issue 17): an id on
every fact row, orphan interactions, a personal ``name``, NPS and CSAT answers; ``--world
plain`` is the first benchmark's. Baseline in the same run: the same model written by hand as
one single-pass DuckDB SQL query over the same Parquet files. Contenders: ``crindex_engine_3col``
(the compiled model, output cut to customer_id, score, tier like the hand query),
``crindex_engine`` (the full evaluation table: per metric raw value, score, weight,
contribution, missing flag) and ``crindex_full`` (the whole ``crindex.api.score`` call: reading
the folder, data-quality checks, scoring); ``<kind>@before`` runs a kind with the code of
``--before-src``. Each contender runs in its own process (peak RSS is per process), warm-up
once (``--no-warmup``: not), then one timed run; ``--repeat`` interleaved rounds, best of each.
Also checks that every contender gives the hand query's scores.

    .venv/bin/python bench/bench_score.py [--world issue|plain] [--customers 1000000]
        [--orders 10000000] [--memory-limit 2GB] [--before-src OLD/src --kinds ...]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2025-12-31"

# least/greatest skip NULLs in DuckDB, so clamping keeps NULL explicitly
MACRO = "CREATE MACRO clip100(x) AS CASE WHEN x IS NULL THEN NULL ELSE least(greatest(x, 0), 100) END"

HAND_SQL = """
WITH
o AS (
  SELECT customer_id,
         sum(amount) FILTER (WHERE ordered_at::DATE > DATE '2024-12-31' AND status = 'paid') AS spend,
         max(ordered_at::DATE) FILTER (WHERE status = 'paid') AS last_day
  FROM read_parquet('{d}/orders.parquet')
  WHERE ordered_at::DATE <= DATE '2025-12-31'
  GROUP BY customer_id),
i AS (
  SELECT customer_id,
         count(*) FILTER (WHERE kind = 'email_opened' AND occurred_at::DATE > DATE '2025-10-02') AS opened,
         count(*) FILTER (WHERE kind = 'email_sent' AND occurred_at::DATE > DATE '2025-10-02') AS sent,
         avg(satisfaction) FILTER (WHERE channel = 'support' AND occurred_at::DATE > DATE '2024-12-31') AS sat
  FROM read_parquet('{d}/interactions.parquet')
  WHERE occurred_at::DATE <= DATE '2025-12-31'
  GROUP BY customer_id),
s AS (
  SELECT customer_id,
         100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) / count(*) AS nps
  FROM read_parquet('{d}/surveys.parquet')
  WHERE kind = 'nps' AND answered_at::DATE <= DATE '2025-12-31' AND answered_at::DATE > DATE '2024-12-31'
  GROUP BY customer_id),
m AS (
  SELECT c.customer_id,
         clip100(coalesce(o.spend, 0) / 5000 * 100) AS s_spend,
         coalesce(100 - clip100((DATE '2025-12-31' - o.last_day) / 360 * 100), 0) AS s_rec,
         coalesce(clip100((s.nps + 100) / 200 * 100), 50) AS s_nps,
         CASE WHEN i.sent > 0 THEN clip100(i.opened / i.sent * 100) END AS s_open,
         clip100((i.sat - 1) / 4 * 100) AS s_sat
  FROM read_parquet('{d}/customers.parquet') c
  LEFT JOIN o USING (customer_id) LEFT JOIN i USING (customer_id) LEFT JOIN s USING (customer_id)
  WHERE (c.created_at IS NULL OR c.created_at::DATE <= DATE '2025-12-31')
    AND (c.churned_at IS NULL OR c.churned_at::DATE > DATE '2025-12-31')),
t AS (
  SELECT customer_id,
         round((30 * s_spend + 25 * s_rec + 20 * s_nps + coalesce(15 * s_open, 0) + coalesce(10 * s_sat, 0))
           / (75 + CASE WHEN s_open IS NULL THEN 0 ELSE 15 END + CASE WHEN s_sat IS NULL THEN 0 ELSE 10 END), 6) AS score
  FROM m)
SELECT customer_id, score,
       CASE WHEN score >= 90 THEN 'core' WHEN score >= 70 THEN 'potential'
            WHEN score >= 50 THEN 'ordinary' ELSE 'at_risk' END AS tier
FROM t ORDER BY customer_id
"""


def generate(d: Path, customers: int, orders: int, *, world: str = "plain",
             interactions: int | None = None, surveys: int | None = None,
             memory_limit: str | None = None) -> None:
    """Write the four tables as Parquet into ``d`` (nothing when ``d`` already holds them).

    ``world="plain"``: the project's first benchmark world (no interaction ids, no orphans, NPS
    only). ``world="issue"``: the world of issue 17, shaped like a real export: an id on every
    fact row (``order_id``, ``interaction_id``), one interaction in 1,000 of a customer that is
    not in customers (an orphan, set aside by the checks), a personal ``name`` column, and NPS
    and CSAT answers. Interactions default to ``orders // 2``, survey answers to one per
    customer. DuckDB writes every table from ``range()`` in a stream (``memory_limit`` caps it),
    so 100M rows are never held in memory.
    """
    import duckdb

    if world == "issue":
        return _generate_issue(d, customers, orders, orders // 2 if interactions is None
                               else interactions, customers if surveys is None else surveys,
                               memory_limit)
    d.mkdir(parents=True, exist_ok=True)
    if (d / "orders.parquet").exists():
        return
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    con.execute(f"""COPY (SELECT printf('C%08d', i) AS customer_id,
        TIMESTAMP '2020-01-01' + to_days(CAST(random() * 2000 AS INTEGER)) AS created_at,
        CASE WHEN random() < 0.1 THEN TIMESTAMP '2024-01-01' + to_days(CAST(random() * 900 AS INTEGER)) END AS churned_at,
        printf('owner%02d', i % 40) AS owner, ['retail','smb','vip'][1 + i % 3] AS segment
        FROM range({customers}) t(i)) TO '{d}/customers.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT printf('O%09d', i) AS order_id,
        printf('C%08d', CAST(floor(pow(random(), 1.7) * {customers}) AS INTEGER)) AS customer_id,
        TIMESTAMP '2023-01-01' + to_seconds(CAST(random() * 3 * 365 * 86400 AS BIGINT)) AS ordered_at,
        round(exp(random() * 6), 2) AS amount, round(exp(random() * 5), 2) AS cost,
        ['books','music','home','toys','garden'][1 + CAST(random() * 4 AS INTEGER)] AS product_line,
        CASE WHEN random() < 0.03 THEN 'refunded' ELSE 'paid' END AS status
        FROM range({orders}) t(i)) TO '{d}/orders.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT printf('C%08d', CAST(floor(random() * {customers}) AS INTEGER)) AS customer_id,
        TIMESTAMP '2024-06-01' + to_seconds(CAST(random() * 600 * 86400 AS BIGINT)) AS occurred_at,
        CASE WHEN r < 0.9 THEN 'email' ELSE 'support' END AS channel,
        CASE WHEN r < 0.6 THEN 'email_sent' WHEN r < 0.9 THEN 'email_opened' ELSE 'ticket_resolved' END AS kind,
        CAST(NULL AS DOUBLE) AS value,
        CASE WHEN r >= 0.9 THEN 1 + floor(random() * 5) END AS satisfaction
        FROM (SELECT random() AS r FROM range({orders // 2})) t) TO '{d}/interactions.parquet' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT printf('C%08d', CAST(floor(random() * {customers}) AS INTEGER)) AS customer_id,
        TIMESTAMP '2024-01-01' + to_seconds(CAST(random() * 730 * 86400 AS BIGINT)) AS answered_at,
        'nps' AS kind, floor(random() * 11) AS score
        FROM range({customers}) t(i)) TO '{d}/surveys.parquet' (FORMAT parquet)""")


def _generate_issue(d: Path, customers: int, orders: int, interactions: int, surveys: int,
                    memory_limit: str | None) -> None:
    """The world of issue 17 (see :func:`generate`), written table by table, then renamed in."""
    import duckdb

    d.mkdir(parents=True, exist_ok=True)
    if all((d / f"{t}.parquet").exists() for t in ("customers", "orders", "interactions",
                                                   "surveys")):
        return
    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{d / '.spill'}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    con.execute("SELECT setseed(0.42)")
    width = max(8, len(str(customers)))
    cid = f"printf('C%0{width}d', {{}})"
    tables = {
        "customers": f"""SELECT {cid.format('i')} AS customer_id,
            printf('Name %d Surname', i) AS name,
            TIMESTAMP '2020-01-01' + to_days(CAST(hash(i, 1) % 2000 AS INTEGER)) AS created_at,
            CASE WHEN hash(i, 2) % 10 = 0 THEN TIMESTAMP '2024-01-01'
                 + to_days(CAST(hash(i, 3) % 900 AS INTEGER)) END AS churned_at,
            printf('owner%02d', i % 40) AS owner, ['retail','smb','vip'][1 + i % 3] AS segment
            FROM range({customers}) t(i)""",
        "orders": f"""SELECT printf('O%010d', i) AS order_id,
            {cid.format(f'CAST(floor(pow(random(), 1.7) * {customers}) AS BIGINT)')} AS customer_id,
            TIMESTAMP '2023-01-01' + to_seconds(CAST(random() * 3 * 365 * 86400 AS BIGINT))
              AS ordered_at,
            round(exp(random() * 6), 2) AS amount, round(exp(random() * 5), 2) AS cost,
            ['books','music','home','toys','garden'][1 + CAST(random() * 4 AS INTEGER)]
              AS product_line,
            CASE WHEN random() < 0.03 THEN 'refunded' ELSE 'paid' END AS status
            FROM range({orders}) t(i)""",
        # one interaction in 1,000 names a customer id past the last one: an orphan
        "interactions": f"""SELECT printf('I%010d', i) AS interaction_id,
            CASE WHEN i % 1000 = 7 THEN {cid.format(f'{customers} + i % 97')}
                 ELSE {cid.format(f'CAST(floor(random() * {customers}) AS BIGINT)')} END
              AS customer_id,
            TIMESTAMP '2024-06-01' + to_seconds(CAST(random() * 600 * 86400 AS BIGINT))
              AS occurred_at,
            CASE WHEN r < 0.9 THEN 'email' ELSE 'support' END AS channel,
            CASE WHEN r < 0.6 THEN 'email_sent' WHEN r < 0.9 THEN 'email_opened'
                 ELSE 'ticket_resolved' END AS kind,
            CAST(NULL AS DOUBLE) AS value,
            CASE WHEN r >= 0.9 THEN 1 + floor(random() * 5) END AS satisfaction
            FROM (SELECT i, random() AS r FROM range({interactions}) t(i)) t""",
        # NPS (0-10) and CSAT (1-5) answers, half each
        "surveys": f"""SELECT {cid.format(f'CAST(floor(random() * {customers}) AS BIGINT)')}
              AS customer_id,
            TIMESTAMP '2024-01-01' + to_seconds(CAST(random() * 730 * 86400 AS BIGINT))
              AS answered_at,
            CASE WHEN i % 2 = 0 THEN 'nps' ELSE 'csat' END AS kind,
            CASE WHEN i % 2 = 0 THEN floor(random() * 11) ELSE 1 + floor(random() * 5) END
              AS score
            FROM range({surveys}) t(i)""",
    }
    for name, sql in tables.items():
        part = d / f".{name}.parquet.part"
        con.execute(f"COPY ({sql}) TO '{part}' (FORMAT parquet)")
        part.replace(d / f"{name}.parquet")
    con.close()


def run_one(kind: str, d: Path, repeat: int, warm: bool = True) -> dict:
    """Runs in a child process: time ``kind`` and report peak RSS.

    The DuckDB settings crindex reads from the environment (``CRINDEX_DUCKDB_*``, set by
    ``--memory-limit`` and ``--temp-directory``) apply to the hand-written query too.
    """
    import duckdb

    # crindex.engine.connect.DUCKDB_SETTINGS, read here too: an older checkout lacks it
    settings = {name: os.environ[f"CRINDEX_DUCKDB_{name.upper()}"]
                for name in ("memory_limit", "temp_directory", "threads")
                if os.environ.get(f"CRINDEX_DUCKDB_{name.upper()}")}
    if kind != "hand_sql":  # the imports are not the query's work (without a warm-up too)
        import ibis  # noqa: F401

        import crindex.api  # noqa: F401
    times = []
    cpu = []  # user + system seconds of the process (DuckDB's threads included)
    rows = None
    checksum = None
    for _ in range(repeat + 1 if warm else repeat):  # the first run warms the OS page cache
        t0 = time.perf_counter()
        use0 = resource.getrusage(resource.RUSAGE_SELF)
        if kind == "hand_sql":
            con = duckdb.connect(config=settings)
            con.execute(MACRO)
            table = con.sql(HAND_SQL.format(d=d)).to_arrow_table()
        elif kind in ("crindex_engine", "crindex_engine_3col"):
            import ibis

            from crindex.data import open_dataset
            from crindex.engine.compile import compile_model
            from crindex.engine.connect import execute
            from crindex.examples import example_path
            from crindex.model import load_model

            con = ibis.duckdb.connect()
            # the engine alone: the files typed, without the data checks
            tables = open_dataset(d, con=con, checks=False, tables=(
                "customers", "orders", "interactions", "surveys")).tables
            import datetime as dt

            compiled = compile_model(load_model(example_path("ecommerce")), tables,
                                     dt.date.fromisoformat(AS_OF))
            expr = compiled.expr
            if kind == "crindex_engine_3col":  # the same output as the hand-written query
                expr = expr.select("customer_id", "score", "tier")
            table = execute(con, expr)
        else:  # full pipeline: reading, quality checks, scoring
            from crindex.api import score
            from crindex.examples import example_path

            table = score(example_path("ecommerce"), str(d), AS_OF).table
        times.append(time.perf_counter() - t0)
        use1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append(use1.ru_utime + use1.ru_stime - use0.ru_utime - use0.ru_stime)
        rows = table.num_rows
        import pyarrow.compute as pc

        checksum = round(pc.sum(table.column("score")).as_py(), 3)
        counts = pc.value_counts(table.column("tier")).to_pylist()
        tiers = {c["values"]: c["counts"] for c in counts}
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timed = times[1:] if warm else times
    cpu_timed = cpu[1:] if warm else cpu
    done = {"kind": kind, "best_s": min(timed), "runs": timed, "cpu_s": cpu_timed,
            "src": os.environ.get("PYTHONPATH", ""), "data": str(d), "rows": rows,
            "score_sum": checksum, "peak_rss_mb": peak_kb / 1024, "tiers": tiers,
            "load": os.getloadavg()[0], "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    # every child's figures, kept: a run stopped half-way still leaves the rounds it did
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    with open(ROOT / "bench" / "out" / "bench_score_runs.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(done) + "\n")
    return done


def interleave(script: str, kinds: list[str], data: Path, repeat: int,
               before_src: Path | None = None, extra: list[str] | None = None
               ) -> dict[str, dict]:
    """Run ``script --child <kind>`` for every kind, ``repeat`` interleaved rounds.

    Rounds go hand, engine, ..., hand, engine, ...: on a shared machine the load changes over
    minutes, and interleaving gives every contender the same conditions. Each child times one
    run after a warm-up and reports its peak RSS; returns each kind's best, runs and peak RSS.
    A kind ending in ``@before`` runs the same child with ``before_src`` (the ``src`` folder
    of an older checkout) first on ``PYTHONPATH``: the code before a change, in the same run.
    ``extra`` are more arguments for every child.
    """
    results: dict[str, dict] = {}
    for round_no in range(repeat):
        for kind in kinds:
            env = dict(os.environ)
            if kind.endswith("@before"):
                if before_src is None:
                    raise SystemExit(f"{kind} needs --before-src")
                env["PYTHONPATH"] = str(before_src)
            else:
                env["PYTHONPATH"] = str(ROOT / "src")
            proc = subprocess.run([sys.executable, script, "--child", kind.split("@")[0],
                                   "--data", str(data), "--repeat", "1", *(extra or [])],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:  # reported (an out-of-memory run is a result too)
                print(proc.stderr[-2000:], file=sys.stderr)
                print(f"round {round_no + 1} {kind:20s} FAILED", file=sys.stderr)
                results.setdefault(kind, {"failed": proc.stderr.strip().splitlines()[-1:]})
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["kind"] = kind
            best = results.setdefault(kind, {**r, "runs": []})
            best["runs"] += r["runs"]
            best["best_s"] = min(best["runs"])
            best["peak_rss_mb"] = max(best["peak_rss_mb"], r["peak_rss_mb"])
            print(f"round {round_no + 1} {kind:20s} {r['runs'][0]:.2f}s", file=sys.stderr)
    return results


def print_results(results: dict[str, dict], kinds: list[str]) -> None:
    """Each kind's best, runs, rows, score sum and peak RSS, then its ratio to ``hand_sql``."""
    failed = [k for k in kinds if "failed" in results.get(k, {"failed": 1})]
    for kind in failed:
        print(f"{kind:20s} FAILED: {results.get(kind, {}).get('failed')}")
    kinds = [k for k in kinds if k not in failed]
    for kind in kinds:
        r = results[kind]
        print(f"{kind:20s} best {r['best_s']:.2f}s  runs {[round(x, 2) for x in r['runs']]}  "
              f"rows {r['rows']:,}  score sum {r['score_sum']}  peak RSS {r['peak_rss_mb']:.0f} MB")
    if "hand_sql" not in kinds:
        return
    base = results["hand_sql"]["best_s"]
    for kind in [k for k in kinds if k != "hand_sql"]:
        print(f"ratio {kind} / hand_sql = {results[kind]['best_s'] / base:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--interactions", type=int, default=None,
                    help="interactions (default: orders // 2)")
    ap.add_argument("--world", choices=("issue", "plain"), default="issue",
                    help="issue: ids on every fact row, orphans, a personal column, NPS and "
                    "CSAT (issue 17); plain: the first benchmark's world")
    ap.add_argument("--data", type=Path, default=None,
                    help="folder of the world (default: bench/out/score-<world>-<customers>)")
    ap.add_argument("--before-src", type=Path, default=None,
                    help="the src folder of an older checkout: kinds ending in @before run it")
    ap.add_argument("--memory-limit", default=None,
                    help="DuckDB's memory_limit for every contender (e.g. 1.5GB); it spills "
                    "to --temp-directory beyond it")
    ap.add_argument("--temp-directory", type=Path, default=None,
                    help="where DuckDB spills (default: <data>/.spill with --memory-limit)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="time the first run of each child (a world too big to run twice)")
    ap.add_argument("--child", default=None)
    ap.add_argument("--kinds",
                    default="hand_sql,crindex_engine_3col,crindex_engine,crindex_full")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.data, args.repeat, not args.no_warmup)))
        return
    if args.data is None:
        args.data = ROOT / "bench" / "out" / (
            "score-data" if args.world == "plain" and args.customers == 1_000_000
            else f"score-{args.world}-{args.customers}-{args.orders}")
    if args.memory_limit:  # for every child, crindex's and the hand-written query's
        os.environ["CRINDEX_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
        os.environ["CRINDEX_DUCKDB_TEMP_DIRECTORY"] = str(args.temp_directory
                                                          or args.data / ".spill")
    t0 = time.perf_counter()
    generate(args.data, args.customers, args.orders, world=args.world,
             interactions=args.interactions, memory_limit=args.memory_limit)
    print(f"data ready in {time.perf_counter() - t0:.1f}s at {args.data}", file=sys.stderr)
    kinds = args.kinds.split(",")
    results = interleave(__file__, kinds, args.data, args.repeat, args.before_src,
                         ["--no-warmup"] if args.no_warmup else [])
    print_results(results, kinds)
    results = {k: r for k, r in results.items() if "failed" not in r}
    hand = results.get("hand_sql")
    for kind in [k for k in results if k != "hand_sql" and hand is not None]:
        same = hand["tiers"] == results[kind]["tiers"] and \
            hand["score_sum"] == results[kind]["score_sum"]
        print(f"{kind}: same tiers and score sum as hand_sql: {same}")
    if hand is not None:
        print(f"hand_sql: {hand['rows']:,} scores, sum {hand['score_sum']}, tiers {hand['tiers']}")


if __name__ == "__main__":
    main()
