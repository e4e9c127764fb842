"""One way in: the same dirty data scores the same, whatever it arrives as.

For random dirty data (repeated ids, ``PAID``/``Paid``, orphans, negative amounts, rows after
``as_of``, empty values, words outside the vocabulary, scores off their scale), in-memory
frames, a CSV folder, a Parquet folder and a DuckDB file give identical scores, identical
quality reports and identical quarantines (which rows were set aside, and why); and Spark,
reading the same files, gives the same scores and the same report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crindex.api import score
from crindex.data import open_dataset
from crindex.model import parse_model

AS_OF = dt.date(2025, 6, 30)

MODEL = parse_model("""
name: dirty
dimensions:
  - id: buying
    weight: 60
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 50, normalise: {method: identity}}
      - {id: n_orders, aggregate: count, window: 365d, weight: 30, normalise: {method: identity}}
      - {id: recency, aggregate: recency_days, weight: 20, normalise: {method: identity}}
  - id: engagement
    weight: 40
    metrics:
      - {id: logins, aggregate: count, table: interactions, kind: login, window: 365d, weight: 50, normalise: {method: identity}}
      - {id: nps, aggregate: nps, window: 365d, weight: 50, normalise: {method: identity}}
""")

#: c0..c5 are customers; c8 and c9 never are (orphans); None is a missing id
CUSTOMER_IDS = st.sampled_from(["c0", "c1", "c2", "c3", "c4", "c5"])
REFERRED_IDS = st.sampled_from(["c0", "c1", "c2", "c3", "c4", "c5", "c8", "c9", None])
# days around as_of: before it, on it, after it, and now and then missing
DAYS = st.integers(-400, 66).map(lambda n: None if n > 60 else AS_OF + dt.timedelta(days=n))
STATUS = st.sampled_from(["paid", "PAID", "Paid ", "refunded", "Refunded", "cancelled", None,
                          "pending"])
AMOUNTS = st.integers(-50, 410).map(lambda n: None if n > 400 else n / 2)
KINDS = st.sampled_from(["login", "LOGIN", "email_opened", "mystery", None])
SURVEY_KINDS = st.sampled_from(["nps", "NPS", "csat", "bogus"])


def _ts(days: list[dt.date | None]) -> pd.Series:
    return pd.Series(pd.to_datetime([pd.Timestamp(d) if d else None for d in days]),
                     dtype="datetime64[us]")


@st.composite
def dirty_worlds(draw: Any) -> dict[str, pd.DataFrame]:
    customers = draw(st.lists(st.tuples(st.one_of(CUSTOMER_IDS, st.none()), DAYS),
                              min_size=1, max_size=8))
    orders = draw(st.lists(st.tuples(st.sampled_from(["o1", "o2", "o3", "o4", "o5", None]),
                                     REFERRED_IDS, DAYS, AMOUNTS, STATUS), max_size=14))
    inter = draw(st.lists(st.tuples(REFERRED_IDS, DAYS, KINDS), max_size=10))
    surveys = draw(st.lists(st.tuples(REFERRED_IDS, DAYS, SURVEY_KINDS,
                                      st.integers(-2, 13).map(lambda n: None if n > 12 else n)), max_size=8))
    return {
        "customers": pd.DataFrame({
            "customer_id": pd.Series([c for c, _ in customers], dtype=object),
            "created_at": _ts([d for _, d in customers])}),
        "orders": pd.DataFrame({
            "order_id": pd.Series([o[0] for o in orders], dtype=object),
            "customer_id": pd.Series([o[1] for o in orders], dtype=object),
            "ordered_at": _ts([o[2] for o in orders]),
            "amount": pd.Series([o[3] for o in orders], dtype="float64"),
            "status": pd.Series([o[4] for o in orders], dtype=object)}),
        "interactions": pd.DataFrame({
            "customer_id": pd.Series([i[0] for i in inter], dtype=object),
            "occurred_at": _ts([i[1] for i in inter]),
            "kind": pd.Series([i[2] for i in inter], dtype=object)}),
        "surveys": pd.DataFrame({
            "customer_id": pd.Series([s[0] for s in surveys], dtype=object),
            "answered_at": _ts([s[1] for s in surveys]),
            "kind": pd.Series([s[2] for s in surveys], dtype=object),
            "score": pd.Series([s[3] for s in surveys], dtype="float64")}),
    }


def write_inputs(frames: dict[str, pd.DataFrame], root: Path) -> dict[str, Any]:
    """The same tables as frames, a CSV folder, a Parquet folder and a DuckDB file."""
    csv, parquet = root / "csv", root / "parquet"
    csv.mkdir()
    parquet.mkdir()
    db = duckdb.connect(str(root / "crm.duckdb"))
    for name, df in frames.items():
        df.to_csv(csv / f"{name}.csv", index=False, date_format="%Y-%m-%d")
        df.to_parquet(parquet / f"{name}.parquet", index=False)
        db.register("frame", df)
        db.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        db.unregister("frame")
    db.close()
    return {"frames": frames, "csv": csv, "parquet": parquet, "duckdb": root / "crm.duckdb"}


def scores(result: Any) -> pd.DataFrame:
    return result.table.to_pandas().set_index("customer_id").sort_index()


def report(quality: Any) -> list[Any]:
    """The quality report as data, places as row positions (a CSV line is the row + 1)."""
    out = []
    for t in quality.tables:
        shift = 1 if t.row_label == "line" else 0
        issues = [(i.table, i.reason, i.column, i.count, i.quarantined, i.distinct_values,
                   [(v["value"], v["count"]) for v in i.bad_values],
                   [e["row"] - shift for e in i.examples]) for i in t.issues]
        out.append((t.table, t.rows_read, t.rows_used, str(t.first_at), str(t.last_at), issues))
    # the guardrails judge the same figures whatever the input
    return [*out, [g.to_dict() for g in quality.guardrails]]


def quarantine(quality: Any) -> dict[str, list[tuple[int, str, str]]]:
    """Per table, the rows set aside: (position, reason, column)."""
    out = {}
    for t in quality.tables:
        rows = t.quarantine.to_pylist() if t.quarantine is not None else []
        shift = 1 if t.row_label == "line" else 0
        out[t.table] = [(r[f"crindex_{t.row_label}"] - shift, r["crindex_reason"],
                         r["crindex_column"]) for r in rows]
    return out


def assert_same_scores(got: pd.DataFrame, want: pd.DataFrame, label: str) -> None:
    assert list(got.index) == list(want.index), label
    assert (got.tier.fillna("-") == want.tier.fillna("-")).all(), label
    numeric = [c for c in want.columns if want[c].dtype.kind == "f"]
    for column in numeric:
        assert (got[column].isna() == want[column].isna()).all(), (label, column)
        assert (got[column] - want[column]).abs().max() <= 1e-9 or want[column].isna().all(), \
            (label, column)


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frames=dirty_worlds())
def test_every_input_gives_the_same_scores_report_and_quarantine(frames, tmp_path_factory):
    inputs = write_inputs(frames, tmp_path_factory.mktemp("dirty"))
    # dirty by design: the guardrails record what they find, and refuse nothing
    results = {kind: score(MODEL, data, AS_OF, guardrails=False) for kind, data in inputs.items()}
    want = results["frames"]
    for kind, result in results.items():
        assert_same_scores(scores(result), scores(want), kind)
        assert report(result.quality) == report(want.quality), kind
        assert quarantine(result.quality) == quarantine(want.quality), kind


def test_frames_are_checked_as_files_are():
    """The case from the issue: a repeated order_id and ``PAID`` as frames, as on a folder."""
    frames = {
        "customers": pd.DataFrame({"customer_id": ["a", "b"],
                                   "created_at": pd.to_datetime(["2024-01-01"] * 2)}),
        "orders": pd.DataFrame({"order_id": ["1", "1", "2"], "customer_id": ["a", "a", "b"],
                                "ordered_at": pd.to_datetime(["2025-06-01"] * 3),
                                "amount": [100.0, 50.0, 100.0],
                                "status": ["paid", "paid", "PAID"]}),
    }
    model = parse_model("""
name: spend
dimensions:
  - id: d
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 100, normalise: {method: identity}}
""")
    # 1 of 3 orders set aside, more than the guardrail's 20%: looked at on purpose
    got = scores(score(model, frames, AS_OF, guardrails=False))
    # the repeat of order 1 is set aside (the first row is kept); PAID is paid
    assert got["spend__raw"].to_dict() == {"a": 100.0, "b": 100.0}
    quality = open_dataset(frames, model, AS_OF, guardrails=False).quality
    assert quality.count("orders", "duplicate_id") == 1
    # skipping the checks is a choice the report states
    unchecked = open_dataset(frames, model, AS_OF, checks=False)
    assert not unchecked.quality.checked
    assert unchecked.quality.summary_lines()[0].startswith("data checks skipped")


@pytest.mark.spark
@settings(max_examples=1, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frames=dirty_worlds(), kind=st.sampled_from(["csv", "parquet", "frames"]))
def test_spark_gives_the_same_scores_and_report(frames, kind, spark_con, tmp_path_factory):
    # a few examples only: every query is a Spark job
    inputs = write_inputs(frames, tmp_path_factory.mktemp("dirty_spark"))
    want = score(MODEL, inputs["frames"], AS_OF, guardrails=False)
    data = inputs[kind] if kind == "frames" else str(inputs[kind])
    got = score(MODEL, data, AS_OF, con=spark_con, guardrails=False)
    assert_same_scores(scores(got), scores(want), f"spark {kind}")
    assert report(got.quality) == report(want.quality), f"spark {kind}"
    assert quarantine(got.quality) == quarantine(want.quality), f"spark {kind}"


def test_time_zone_aware_frames_score_as_the_same_times_written_in_a_file(tmp_path):
    """A frame of Asia/Shanghai timestamps is read at the wall-clock time it shows, as a CSV
    value with its offset is: recency counts the user's days, whatever the input."""
    import pandas as pd

    from crindex.api import score
    from crindex.model.loader import parse_model

    model = parse_model("""
name: tz
dimensions:
  - id: value
    metrics:
      - {id: recency, aggregate: recency_days, table: orders, weight: 100,
         normalise: {method: range, min: 0, max: 100, direction: lower}}
""")
    local = pd.to_datetime(["2025-06-01 00:30", "2025-06-20 07:00"]).tz_localize("Asia/Shanghai")
    customers = pd.DataFrame({"customer_id": ["a", "b"]})
    orders = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["a", "b"],
                           "ordered_at": local, "amount": [10.0, 20.0]})
    (tmp_path / "data").mkdir()
    customers.to_csv(tmp_path / "data" / "customers.csv", index=False)
    orders.assign(ordered_at=[t.isoformat() for t in local]).to_csv(
        tmp_path / "data" / "orders.csv", index=False)
    frames = score(model, {"customers": customers, "orders": orders}, "2025-06-30").table
    files = score(model, tmp_path / "data", "2025-06-30").table
    # 2025-06-01 00:30 in Shanghai: 29 days to 06-30 (UTC would say 2025-05-31, 30 days)
    assert frames.column("recency__raw").to_pylist() == [29.0, 10.0]
    assert frames.column("score").to_pylist() == files.column("score").to_pylist()
