"""The synthetic world: deterministic, true to the contract, and its churn has causes.

Small worlds (2,000 customers over three years) are generated once per module; every check reads
the written files back with DuckDB, as a user would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from crindex.contract import CONTRACT
from crindex.errors import DataError, Reason
from crindex.synth import BLOCK, PROFILES, generate

START = dt.date(2023, 1, 1)
MONTHS = 36
END = dt.date(2026, 1, 1)
SMALL = 2000
SEED = 7
EVENT_TIME = {"orders": "ordered_at", "interactions": "occurred_at", "surveys": "answered_at",
              "subscriptions": "started_at"}
CHANNELS = {"support", "email", "event", "social", "web", "app", "phone", "visit"}
KINDS = {"ticket_opened", "ticket_resolved", "email_sent", "email_opened", "email_clicked",
         "event_attended", "content_downloaded", "like", "comment", "share", "follow", "login",
         "feature_used", "visit", "call"}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, Path]:
    """One small world per profile (ecommerce with the truth file)."""
    out = {}
    for name in PROFILES:
        folder = tmp_path_factory.mktemp(name)
        generate(profile=name, customers=SMALL, start=START, months=MONTHS, seed=SEED,
                 out=folder, truth=name == "ecommerce", progress=False)
        out[name] = folder
    return out


def connect(folder: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for path in folder.glob("*.parquet"):
        con.execute(f"CREATE VIEW {path.stem} AS SELECT * FROM read_parquet('{path}')")
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()[0]


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- determinism ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path, fmt):
    kw = dict(profile="saas", customers=600, start=START, months=14, fmt=fmt, truth=True,
              progress=False)
    generate(seed=11, out=tmp_path / "a", **kw)
    generate(seed=11, out=tmp_path / "b", **kw)
    generate(seed=12, out=tmp_path / "c", **kw)
    a, b, c = (digests(tmp_path / x) for x in "abc")
    assert sorted(a) == sorted(f"{t}.{fmt}" for t in (
        "customers", "orders", "interactions", "surveys", "subscriptions", "leads", "spend")) \
        + [f"truth/health.{fmt}"]
    assert a == b
    assert all(a[name] != c[name] for name in a)


def test_csv_is_utf8_with_bom_and_holds_the_same_rows_as_parquet(tmp_path, worlds):
    generate(profile="ecommerce", customers=SMALL, start=START, months=MONTHS, seed=SEED,
             out=tmp_path, fmt="csv", progress=False)
    con = connect(worlds["ecommerce"])
    for table in ("customers", "orders", "interactions", "surveys", "leads", "spend"):
        path = tmp_path / f"{table}.csv"
        assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
        from_csv = duckdb.sql(f"SELECT count(*) FROM read_csv('{path}')").fetchall()[0][0]
        assert from_csv == one(con, f"SELECT count(*) FROM {table}")
    spent = duckdb.sql(f"SELECT round(sum(amount), 2) FROM read_csv('{tmp_path}/orders.csv') "
                       "WHERE status = 'paid'").fetchall()[0][0]
    assert spent == one(con, "SELECT round(sum(amount), 2) FROM orders WHERE status = 'paid'")


def test_a_world_of_several_blocks_numbers_customers_in_order_of_joining(tmp_path):
    n = BLOCK + 1500
    info = generate(profile="b2b", customers=n, start=START, months=3, seed=1, out=tmp_path,
                    progress=False)
    con = connect(tmp_path)
    ids = [r[0] for r in con.execute(
        "SELECT customer_id FROM customers ORDER BY created_at").fetchall()]
    assert ids == [f"C{i:07d}" for i in range(1, n + 1)]
    assert pq.ParquetFile(tmp_path / "interactions.parquet").num_row_groups == 2
    assert one(con, "SELECT count(*) FROM orders o ANTI JOIN customers USING (customer_id)") == 0
    assert one(con, "SELECT count(DISTINCT order_id) FROM orders") == info["rows"]["orders"]


# -- the contract ----------------------------------------------------------------------------

@pytest.mark.parametrize("profile", list(PROFILES))
def test_tables_use_only_contract_columns_types_and_vocabulary(worlds, profile):
    folder = worlds[profile]
    expected = {"customers", "orders", "interactions", "surveys", "leads", "spend"}
    if profile == "saas":
        expected.add("subscriptions")
    assert {p.stem for p in folder.glob("*.parquet")} == expected
    duck_type = {"id": "VARCHAR", "cat": "VARCHAR", "ts": "TIMESTAMP", "num": "DOUBLE",
                 "bool": "BOOLEAN"}
    con = connect(folder)
    for table in expected:
        described = con.execute(f"DESCRIBE {table}").fetchall()
        for column, typ, *_ in described:
            assert column in CONTRACT[table], f"{table}.{column} is not in the contract"
            assert typ == duck_type[CONTRACT[table][column]], f"{table}.{column} is {typ}"
    assert {r[0] for r in con.execute("SELECT DISTINCT channel FROM interactions").fetchall()} \
        <= CHANNELS
    assert {r[0] for r in con.execute("SELECT DISTINCT kind FROM interactions").fetchall()} \
        <= KINDS
    assert {r[0] for r in con.execute("SELECT DISTINCT status FROM orders").fetchall()} \
        == {"paid", "refunded", "cancelled"}
    # negative amounts only on refunds, every amount in whole cents
    assert one(con, "SELECT count(*) FROM orders WHERE amount < 0 AND status <> 'refunded'") == 0
    assert one(con, "SELECT count(*) FROM orders WHERE status = 'refunded' AND amount >= 0") == 0
    assert one(con, "SELECT count(*) FROM orders WHERE abs(amount * 100 - round(amount * 100)) "
                    "> 1e-6") == 0
    # satisfaction only on resolved tickets, 1..5; first-response hours there
    assert one(con, "SELECT count(*) FROM interactions WHERE satisfaction IS NOT NULL AND "
                    "(kind <> 'ticket_resolved' OR satisfaction NOT IN (1, 2, 3, 4, 5))") == 0
    assert one(con, "SELECT count(*) FROM interactions WHERE kind = 'ticket_resolved' AND "
                    "(satisfaction IS NULL OR value IS NULL OR value <= 0)") == 0
    ranges = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    for kind, low, high in con.execute(
            "SELECT kind, min(score), max(score) FROM surveys GROUP BY 1").fetchall():
        assert ranges[kind][0] <= low <= high <= ranges[kind][1]
    assert one(con, "SELECT count(*) FROM surveys WHERE score <> round(score)") == 0


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_foreign_key_resolves_and_ids_are_unique(worlds, profile):
    con = connect(worlds[profile])
    assert one(con, "SELECT count(*) - count(DISTINCT customer_id) FROM customers") == 0
    assert one(con, "SELECT count(*) - count(DISTINCT order_id) FROM orders") == 0
    assert one(con, "SELECT count(*) - count(DISTINCT lead_id) FROM leads") == 0
    for table in EVENT_TIME:
        if (worlds[profile] / f"{table}.parquet").exists():
            orphans = one(con, f"SELECT count(*) FROM {table} ANTI JOIN customers "
                               "USING (customer_id)")
            assert orphans == 0, f"{table} has {orphans} rows of unknown customers"
    assert one(con, "SELECT count(*) FROM leads l WHERE converted_customer_id IS NOT NULL AND "
                    "converted_customer_id NOT IN (SELECT customer_id FROM customers)") == 0
    # every customer acquired in the period came from exactly one converted lead
    assert one(con, "SELECT count(*) FROM leads WHERE converted_customer_id IS NOT NULL") == one(
        con, f"SELECT count(*) FROM customers WHERE created_at >= DATE '{START}'")


@pytest.mark.parametrize("profile", list(PROFILES))
def test_no_event_after_churn_before_creation_or_outside_the_period(worlds, profile):
    con = connect(worlds[profile])
    tables = dict(EVENT_TIME)
    tables["subscriptions_end"] = "ended_at"
    for table, column in tables.items():
        name = table.removesuffix("_end")
        if not (worlds[profile] / f"{name}.parquet").exists():
            continue
        bad = one(con, f"""SELECT count(*) FROM {name} e JOIN customers c USING (customer_id)
                          WHERE e.{column} > c.churned_at OR e.{column} < c.created_at""")
        assert bad == 0, f"{name}.{column}: {bad} rows after churned_at or before created_at"
        if name != "subscriptions":  # a contract may have started before the period
            outside = one(con, f"SELECT count(*) FROM {name} WHERE {column} < DATE '{START}' "
                               f"OR {column} >= DATE '{END}'")
            assert outside == 0
    assert one(con, "SELECT count(*) FROM leads l JOIN customers c "
                    "ON l.converted_customer_id = c.customer_id "
                    "WHERE l.created_at > c.created_at") == 0


def test_hidden_health_is_only_in_the_truth_file(worlds):
    folder = worlds["ecommerce"]
    truth = pq.read_table(folder / "truth" / "health.parquet")
    assert truth.column_names == ["customer_id", "month", "health", "shock"]
    con = connect(folder)
    for path in folder.glob("*.parquet"):
        assert "health" not in pq.read_schema(path).names
    shocks = {r[0] for r in con.execute(
        f"SELECT DISTINCT shock FROM read_parquet('{folder}/truth/health.parquet')").fetchall()}
    assert shocks == {None, "bad_support", "price_rise", "competitor", "delight"}


# -- behaviour true to life ------------------------------------------------------------------

def test_churn_hazard_rises_as_hidden_health_falls(worlds):
    """Monthly churn by quintile of that month's health (from the truth file): strictly falling."""
    folder = worlds["ecommerce"]
    con = connect(folder)
    rates = [r[1] for r in con.execute(f"""
        WITH t AS (SELECT h.customer_id, h.health,
                          coalesce(c.churned_at >= h.month
                                   AND c.churned_at < h.month + INTERVAL 1 MONTH, false)::INT
                          AS churned
                   FROM read_parquet('{folder}/truth/health.parquet') h
                   JOIN customers c USING (customer_id))
        SELECT ntile(5) OVER (ORDER BY health) q, churned FROM t
    """).df().groupby("q").churned.mean().items()]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False)), rates
    assert rates[0] > 4 * rates[-1]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_yearly_churn_is_between_15_and_35_percent(worlds, profile):
    con = connect(worlds[profile])
    for year in (2023, 2024, 2025):
        rate = one(con, f"""SELECT avg(coalesce(churned_at < DATE '{year + 1}-01-01', false)::INT)
                           FROM customers
                           WHERE created_at < DATE '{year}-01-01'
                             AND (churned_at IS NULL OR churned_at >= DATE '{year}-01-01')""")
        assert 0.15 <= rate <= 0.35, f"{profile} {year}: churn {rate:.1%}"


def test_churned_customers_are_less_active_in_their_last_90_days(worlds):
    """Each churned customer against the retained ones over the same calendar window.

    Customer-initiated events only (not the company's e-mail sends). The comparison group for a
    churner leaving on day c is everyone who never churned and joined before c - 90 days; the
    churner's count over (c - 90d, c] is set against that group's mean count over the same days.
    """
    con = connect(worlds["ecommerce"])
    own, expected = con.execute(f"""
        WITH ev AS (
            SELECT customer_id, occurred_at AS t FROM interactions WHERE kind <> 'email_sent'
            UNION ALL SELECT customer_id, ordered_at FROM orders),
        churner AS (
            SELECT customer_id, churned_at - INTERVAL 90 DAY AS w0, churned_at AS w1
            FROM customers
            WHERE churned_at >= DATE '{START}' + INTERVAL 90 DAY
              AND created_at < churned_at - INTERVAL 90 DAY),
        retained AS (SELECT customer_id, created_at FROM customers WHERE churned_at IS NULL),
        own AS (SELECT c.customer_id, count(e.t) AS n FROM churner c
                LEFT JOIN ev e ON e.customer_id = c.customer_id AND e.t > c.w0 AND e.t <= c.w1
                GROUP BY 1),
        peers AS (
            SELECT c.customer_id,
                   (SELECT count(*) FROM ev JOIN retained r USING (customer_id)
                    WHERE r.created_at < c.w0 AND ev.t > c.w0 AND ev.t <= c.w1)::DOUBLE
                   / (SELECT count(*) FROM retained r WHERE r.created_at < c.w0) AS n
            FROM churner c)
        SELECT sum(own.n), sum(peers.n) FROM own JOIN peers USING (customer_id)
    """).fetchone()
    assert own < 0.6 * expected, (own, expected)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_nps_answers_spread_over_detractors_passives_and_promoters(worlds, profile):
    con = connect(worlds[profile])
    detractors, passives, promoters = con.execute(
        "SELECT avg((score <= 6)::INT), avg((score BETWEEN 7 AND 8)::INT), "
        "avg((score >= 9)::INT) FROM surveys WHERE kind = 'nps'").fetchone()
    assert min(detractors, passives, promoters) >= 0.10, (detractors, passives, promoters)


def test_top_fifth_of_customers_brings_60_to_85_percent_of_revenue(worlds):
    con = connect(worlds["ecommerce"])
    share = one(con, """
        WITH r AS (SELECT c.customer_id, coalesce(sum(o.amount), 0) AS revenue FROM customers c
                   LEFT JOIN orders o ON o.customer_id = c.customer_id AND o.status = 'paid'
                   GROUP BY 1),
        ranked AS (SELECT revenue, row_number() OVER (ORDER BY revenue DESC) AS rank_,
                          count(*) OVER () AS n FROM r)
        SELECT sum(revenue) FILTER (WHERE rank_ <= n / 5) / sum(revenue) FROM ranked""")
    assert 0.60 <= share <= 0.85, share


def test_ecommerce_annual_spend_is_hundreds_to_a_few_thousands(worlds):
    con = connect(worlds["ecommerce"])
    q25, median, q90 = con.execute("""
        WITH s AS (SELECT c.customer_id, coalesce(sum(o.amount), 0) AS spend FROM customers c
                   LEFT JOIN orders o ON o.customer_id = c.customer_id AND o.status = 'paid'
                        AND o.ordered_at >= DATE '2024-01-01' AND o.ordered_at < DATE '2025-01-01'
                   WHERE c.created_at < DATE '2024-01-01'
                     AND (c.churned_at IS NULL OR c.churned_at >= DATE '2025-01-01')
                   GROUP BY 1)
        SELECT quantile_cont(spend, 0.25), median(spend), quantile_cont(spend, 0.9) FROM s
    """).fetchone()
    assert 100 <= q25 and 200 <= median <= 2000 and q90 <= 6000, (q25, median, q90)


def test_segments_and_size_differ_in_value(worlds):
    con = connect(worlds["b2b"])
    per_account = dict(con.execute("""
        SELECT c.segment, sum(o.amount) / count(DISTINCT c.customer_id) FROM customers c
        JOIN orders o ON o.customer_id = c.customer_id AND o.status = 'paid' GROUP BY 1
    """).fetchall())
    assert per_account["SMB"] < per_account["Mid-Market"] < per_account["Enterprise"]
    assert one(con, "SELECT count(DISTINCT owner) FROM customers") == PROFILES["b2b"].owners
    assert one(con, "SELECT count(*) FROM customers WHERE industry IS NULL OR employees < 1 "
                    "OR size_band IS NULL OR region IS NULL") == 0


def test_spend_buys_leads_and_leads_convert_at_their_sources_rate(worlds):
    con = connect(worlds["ecommerce"])
    months = one(con, "SELECT count(DISTINCT period_start) FROM spend")
    assert months == MONTHS
    assert one(con, "SELECT count(*) FROM spend WHERE period_end <= period_start "
                    "OR amount <= 0") == 0
    rates = dict(con.execute("SELECT source, avg((converted_customer_id IS NOT NULL)::INT) "
                             "FROM leads GROUP BY 1").fetchall())
    for source in PROFILES["ecommerce"].lead_sources:
        assert abs(rates[source.name] - source.conversion) < 0.1, (source.name, rates)


# -- the signal a relationship index can find ------------------------------------------------

SIGNAL_AS_OF = "2025-06-30"


def raw_metrics(con: duckdb.DuckDBPyConnection, as_of: str):
    """The five raw metrics of examples/ecommerce.yaml in plain SQL, and the 90-day churn label."""
    return con.execute(f"""
        WITH base AS (
            SELECT customer_id,
                   coalesce(churned_at <= DATE '{as_of}' + INTERVAL 90 DAY, false)::INT AS churns
            FROM customers WHERE created_at <= DATE '{as_of}'
              AND (churned_at IS NULL OR churned_at > DATE '{as_of}')),
        paid AS (SELECT * FROM orders WHERE status = 'paid' AND ordered_at <= DATE '{as_of}'),
        spend AS (SELECT customer_id, sum(amount) AS annual_spend FROM paid
                  WHERE ordered_at > DATE '{as_of}' - INTERVAL 365 DAY GROUP BY 1),
        recency AS (SELECT customer_id,
                           date_diff('day', max(ordered_at)::DATE, DATE '{as_of}') AS recency
                    FROM paid GROUP BY 1),
        nps AS (SELECT customer_id, 100.0 * (count(*) FILTER (WHERE score >= 9)
                                             - count(*) FILTER (WHERE score <= 6)) / count(*) AS nps
                FROM surveys WHERE kind = 'nps' AND answered_at <= DATE '{as_of}'
                  AND answered_at > DATE '{as_of}' - INTERVAL 365 DAY GROUP BY 1),
        mail AS (SELECT customer_id, count(*) FILTER (WHERE kind = 'email_opened')::DOUBLE
                        / nullif(count(*) FILTER (WHERE kind = 'email_sent'), 0) AS open_rate
                 FROM interactions WHERE occurred_at <= DATE '{as_of}'
                   AND occurred_at > DATE '{as_of}' - INTERVAL 90 DAY GROUP BY 1),
        support AS (SELECT customer_id, avg(satisfaction) AS support_satisfaction
                    FROM interactions WHERE channel = 'support' AND occurred_at <= DATE '{as_of}'
                      AND occurred_at > DATE '{as_of}' - INTERVAL 365 DAY GROUP BY 1)
        SELECT churns, coalesce(annual_spend, 0) AS annual_spend, recency, nps, open_rate,
               support_satisfaction
        FROM base LEFT JOIN spend USING (customer_id) LEFT JOIN recency USING (customer_id)
        LEFT JOIN nps USING (customer_id) LEFT JOIN mail USING (customer_id)
        LEFT JOIN support USING (customer_id)
        ORDER BY customer_id
    """).df()


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for ``label`` == 1 (Mann-Whitney, ties halved)."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    pos = label == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def test_auc_helper_matches_a_hand_count():
    # pairs (pos, neg): 0.9>0.1, 0.9>0.5, 0.5=0.5 (half), 0.5>0.1 -> 3.5 of 4
    assert auc(np.array([0.9, 0.5, 0.5, 0.1]), np.array([1, 1, 0, 0])) == 3.5 / 4


def test_ecommerce_metrics_separate_customers_who_churn_in_the_next_90_days(worlds):
    """An equal-weight rank score of the five raw metrics reaches AUC >= 0.75 for 90-day churn.

    Higher is safer for every metric but recency; a missing value (never surveyed, no ticket)
    takes the middle rank. Each metric alone must carry signal too (AUC > 0.6).
    """
    df = raw_metrics(connect(worlds["ecommerce"]), SIGNAL_AS_OF)
    label = df.pop("churns").to_numpy()
    assert 40 <= label.sum() <= 0.2 * len(label)
    ranks = []
    for column, safer in (("annual_spend", 1), ("recency", -1), ("nps", 1), ("open_rate", 1),
                          ("support_satisfaction", 1)):
        values = safer * df[column].to_numpy(dtype=float)
        known = ~np.isnan(values)
        rank = np.full(len(values), 0.5)
        rank[known] = (np.argsort(np.argsort(values[known])) + 0.5) / known.sum()
        if column == "recency":  # never bought: the least safe
            rank[~known] = 0.0
        assert 1 - auc(rank, label) > 0.6, column
        ranks.append(rank)
    assert 1 - auc(np.mean(ranks, axis=0), label) >= 0.75


# -- errors and the command line -------------------------------------------------------------

def test_bad_arguments_are_reported_all_at_once(tmp_path):
    with pytest.raises(DataError) as info:
        generate(profile="retail", customers=0, months=0, start="2024-02-30", fmt="xlsx",
                 out=tmp_path)
    assert info.value.reason == Reason.BAD_PARAMETER
    assert len(info.value.problems) == 5
    assert "ecommerce, b2b, saas" in str(info.value)
    assert not any(tmp_path.iterdir())


def test_cli_writes_a_world_and_rejects_bad_input_without_traceback(tmp_path):
    run = [sys.executable, "-m", "crindex.cli", "synth"]
    ok = subprocess.run(run + ["--profile", "b2b", "--customers", "300", "--start", "2024-01-01",
                               "--months", "6", "--seed", "3", "--out", str(tmp_path / "w"),
                               "--format", "csv", "--truth"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "w" / "customers.csv").exists()
    assert (tmp_path / "w" / "truth" / "health.csv").exists()
    assert "score it as of 2024-07-01" in ok.stderr.replace("\n", " ")
    bad = subprocess.run(run + ["--profile", "retail", "--start", "2024-02-30", "--out",
                                str(tmp_path / "x")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "2024-02-30" in bad.stderr
