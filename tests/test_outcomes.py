"""Churn and revenue in a horizon (crindex.outcomes), and every caller counting the same churn.

Hand-computed fixtures for each rule, an independent pandas computation of the inactivity rule
checked on random worlds (hypothesis), and on CDNOW: backtest, weights learn, compare and kpis
count the same churners under one rule.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crindex.data import open_dataset
from crindex.model.spec import ChurnRule
from crindex.outcomes import churn, describe, on_books, outcomes, rule_summary
from tests.conftest import require_shared_data, ts

D = dt.date
AS_OF, END = D(2025, 6, 30), D(2025, 7, 30)  # a 30-day horizon
RULE = ChurnRule(inactivity_days=30)
AT_END = ChurnRule(inactivity_days=30, lapse="at_horizon_end")


def world() -> dict[str, pd.DataFrame]:
    """Customers a..i, N = 30 days, as_of 2025-06-30, horizon (06-30, 07-30]."""
    customers = pd.DataFrame({
        "customer_id": list("abcdefghi"),
        "created_at": ts(*["2025-01-01"] * 3, "2025-06-25", "2025-07-10", "2025-01-01", None,
                         "2025-01-01", "2025-01-01"),
        # read only by the churned_at rule
        "churned_at": ts("2025-07-30 23:59", "2025-06-30", "2025-07-31", None, "2025-07-20",
                         "2025-07-01", None, None, None),
    })
    rows = [("a", "2025-06-20", "paid", 5.0), ("a", "2025-07-05", "paid", 7.0),
            ("b", "2025-06-15", "paid", 1.0), ("c", "2025-05-01", "paid", 1.0),
            ("f", "2025-06-05", "paid", 1.0), ("f", "2025-07-20 18:00", "paid", 11.0),
            ("g", "2025-06-29", "paid", 1.0), ("h", "2025-06-10", "paid", 1.0),
            ("h", "2025-07-01", "refunded", -1.0), ("i", "2025-06-30 23:00", "paid", 3.0),
            ("a", "2025-07-31", "paid", 100.0)]
    orders = pd.DataFrame({
        "order_id": [f"o{k}" for k in range(len(rows))],
        "customer_id": [r[0] for r in rows],
        "ordered_at": ts(*[r[1] for r in rows]),
        "status": [r[2] for r in rows],
        "amount": [r[3] for r in rows],
    })
    return {"customers": customers, "orders": orders}


def canonical(frames) -> dict:
    """Frames as canonical tables, unchecked: these tests are about the outcome rules alone."""
    return open_dataset(frames, checks=False).tables


def run(expr) -> dict[str, dict]:
    frame = expr.to_pandas().set_index("customer_id")
    return frame.to_dict("index")


def test_inactivity_rule_by_hand():
    # activity = joining and paid orders; lost N = 30 days after an activity with none between
    # a: 06-20, 07-05: on the books; 06-20 + 30 = 07-20 but a bought on 07-05 -> stays
    # b: 06-15 -> lost 07-15, in the horizon; c: 05-01 -> lost 05-31, before as_of: not a customer
    # d: joined 06-25, never bought -> lost 07-25; e: joined 07-10, after as_of: not a customer
    # f: 06-05 -> lost 07-05, back on 07-20: churned when reached, not at the horizon's end
    # g: no created_at, bought 06-29 -> lost 07-29; h: 06-10 (the refund is no activity) ->
    # lost 07-10; i: 06-30 23:00 -> lost 07-30, the horizon's last day
    out = run(churn(canonical(world()), RULE, AS_OF, END))
    active = {k for k, v in out.items() if v["active"]}
    assert active == set("abdfghi")
    assert {k for k, v in out.items() if v["churned"]} == set("bdfghi")
    at_end = run(churn(canonical(world()), AT_END, AS_OF, END))
    assert {k for k, v in at_end.items() if v["active"]} == active
    assert {k for k, v in at_end.items() if v["churned"]} == set("bdghi")  # f came back


def test_churned_at_rule_by_hand():
    # on the books on 06-30: joined by then (or no created_at) and churned_at empty or later.
    # b left on 06-30 and e joined on 07-10: not customers. Churned in (06-30, 07-30]: a
    # (07-30 23:59 is on 07-30) and f (07-01); c (07-31) did not
    out = run(churn(canonical(world()), None, AS_OF, END))
    assert {k for k, v in out.items() if v["active"]} == set("acdfghi")
    assert {k for k, v in out.items() if v["churned"]} == {"a", "f"}
    assert rule_summary(None) == {"kind": "churned_at"}
    assert describe(ChurnRule()) == "customers.churned_at in the horizon"
    assert rule_summary(AT_END) == {"kind": "inactivity", "days": 30, "lapse": "at_horizon_end"}


def test_revenue_and_on_books():
    # paid orders in (06-30, 07-30]: a 7 (07-31 is after), f 11; i's 06-30 order is before;
    # h's refund is not paid
    out = run(outcomes(canonical(world()), RULE, AS_OF, END))
    assert {k: v["revenue"] for k, v in out.items()} == {
        "a": 7.0, "b": 0.0, "c": 0.0, "d": 0.0, "e": 0.0, "f": 11.0, "g": 0.0, "h": 0.0,
        "i": 0.0}
    # on the books on 07-30 by the rule: activity in (06-30, 07-30]: a (07-05), f (07-20),
    # e (joined 07-10); i's lapse is reached on 07-30, so i is no longer a customer
    books = run(on_books(canonical(world()), RULE, END))
    assert {k for k, v in books.items() if v["active"]} == {"a", "e", "f"}
    no_orders = {"customers": world()["customers"]}
    out = run(outcomes(canonical(no_orders), None, AS_OF, END))
    assert all(pd.isna(v["revenue"]) for v in out.values())


# --------------------------------------------------------------------------------------------
# an independent computation of the inactivity rule, in pandas


def pandas_inactivity(customers: pd.DataFrame, orders: pd.DataFrame, days: int, as_of: dt.date,
                      end: dt.date, lapse: str = "reached") -> pd.DataFrame:
    """``customer_id, active, churned`` by the rule, written with pandas on the raw frames."""
    gap = pd.Timedelta(days=days)
    start, stop = pd.Timestamp(as_of), pd.Timestamp(end)
    created = customers.set_index("customer_id")["created_at"].dt.normalize()
    paid = orders[orders["status"].fillna("paid") == "paid"]
    acts = pd.concat([
        pd.DataFrame({"customer_id": created.index, "day": created.to_numpy()}),
        pd.DataFrame({"customer_id": paid["customer_id"].to_numpy(),
                      "day": paid["ordered_at"].dt.normalize().to_numpy()}),
    ]).dropna().drop_duplicates()
    acts = acts[acts["day"] <= stop].sort_values(["customer_id", "day"])
    acts["next"] = acts.groupby("customer_id")["day"].shift(-1)
    lost_on = acts["day"] + gap
    acts["lost"] = (acts["next"].isna() | (acts["next"] > lost_on)) & (lost_on > start) & (
        lost_on <= stop)
    acts["alive"] = (acts["day"] > start - gap) & (acts["day"] <= start)
    per = acts.groupby("customer_id").agg(alive=("alive", "any"), lost=("lost", "any"),
                                          latest=("day", "max"))
    per = per.reindex(created.index)
    joined = created.isna() | (created <= start)
    active = joined & per["alive"].fillna(False).astype(bool)
    churned = active & per["lost"].fillna(False).astype(bool)
    if lapse == "at_horizon_end":
        churned &= per["latest"] <= stop - gap
    return pd.DataFrame({"active": active, "churned": churned})


def test_the_pandas_reference_agrees_with_the_hand_computed_world():
    frames = world()
    ref = pandas_inactivity(frames["customers"], frames["orders"], 30, AS_OF, END)
    assert set(ref.index[ref["churned"]]) == set("bdfghi")
    ref = pandas_inactivity(frames["customers"], frames["orders"], 30, AS_OF, END,
                            "at_horizon_end")
    assert set(ref.index[ref["churned"]]) == set("bdghi")


day_offsets = st.integers(-120, 120)


@st.composite
def random_worlds(draw):
    n = draw(st.integers(1, 8))
    created = [draw(st.one_of(st.none(), day_offsets)) for _ in range(n)]
    rows = draw(st.lists(st.tuples(st.integers(0, n - 1), day_offsets,
                                   st.sampled_from(["paid", "paid", "refunded"])), max_size=25))
    base = pd.Timestamp(AS_OF)
    customers = pd.DataFrame({
        "customer_id": [f"c{k}" for k in range(n)],
        "created_at": [None if c is None else base + pd.Timedelta(days=c) for c in created],
    })
    customers["created_at"] = pd.to_datetime(customers["created_at"])
    orders = pd.DataFrame({
        "order_id": [f"o{k}" for k in range(len(rows))],
        "customer_id": [f"c{r[0]}" for r in rows],
        "ordered_at": pd.to_datetime([base + pd.Timedelta(days=r[1], hours=13) for r in rows]),
        "status": [r[2] for r in rows],
        "amount": [1.0] * len(rows),
    })
    return customers, orders


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_worlds(), st.integers(1, 60), st.integers(1, 90),
       st.sampled_from(["reached", "at_horizon_end"]))
def test_outcomes_equal_the_pandas_reference(frames, days, horizon, lapse):
    customers, orders = frames
    end = AS_OF + dt.timedelta(days=horizon)
    rule = ChurnRule(inactivity_days=days, lapse=lapse)
    tables = canonical({"customers": customers, "orders": orders})
    got = churn(tables, rule, AS_OF, end).to_pandas().set_index("customer_id").sort_index()
    ref = pandas_inactivity(customers, orders, days, AS_OF, end, lapse).sort_index()
    assert got["active"].astype(bool).to_dict() == ref["active"].astype(bool).to_dict()
    assert got["churned"].astype(bool).to_dict() == ref["churned"].astype(bool).to_dict()


# --------------------------------------------------------------------------------------------
# one churn for every caller: CDNOW as of 1997-12-31, 180-day horizon, 180 days inactive

CDNOW_MODEL = """\
name: cdnow
churn: {inactivity_days: 180}
dimensions:
  - id: value
    metrics:
      - {id: spend, aggregate: sum, table: orders, column: amount, window: 365d, weight: 50,
         normalise: {method: range, min: 0, max: 500}, missing: zero}
      - {id: recency, aggregate: recency_days, table: orders, weight: 50,
         normalise: {method: range, min: 0, max: 360, direction: lower}, missing: zero}
"""
CDNOW_AS_OF = D(1997, 12, 31)


@pytest.fixture(scope="module")
def cdnow_frames() -> dict[str, pd.DataFrame]:
    from crindex.clv.cdnow import read_cdnow

    orders = read_cdnow(require_shared_data() / "cdnow" / "CDNOW_master.txt")
    orders["status"] = "paid"
    # CDNOW keeps transactions only: a customer joins with their first purchase
    customers = orders.groupby("customer_id", as_index=False)["ordered_at"].min() \
        .rename(columns={"ordered_at": "created_at"})
    return {"customers": customers, "orders": orders.drop(columns="quantity")}


@pytest.mark.slow
def test_backtest_learn_compare_and_kpis_count_the_same_churners_on_cdnow(cdnow_frames):
    from crindex.backtest.run import run_backtest
    from crindex.kpis import kpis
    from crindex.model.loader import parse_model
    from crindex.weights.compare import compare_models
    from crindex.weights.learn import ChurnLabels, learn_weights

    model = parse_model(CDNOW_MODEL)
    horizon, end = "180d", D(1998, 6, 29)  # 1997-12-31 + 180 days
    tables = open_dataset(cdnow_frames).tables  # checked, as every caller opens them

    (bt,) = run_backtest(model, cdnow_frames, [CDNOW_AS_OF], horizon, n_boot=0)["periods"]
    assert bt["end"] == end.isoformat() and bt["unscored"] == 0
    labels = ChurnLabels(tables, model)(CDNOW_AS_OF, horizon)
    learned = learn_weights(model, cdnow_frames, CDNOW_AS_OF, horizon, snapshots=1, n_boot=0)
    compared = compare_models(model, model, cdnow_frames, CDNOW_AS_OF, horizon, n_boot=0)
    report = kpis(tables, end, horizon, churn_rule=model.churn)
    starting = report.overall["customers_start"]
    kpi_churners = round(report.overall["churn_rate"] * starting / 100)

    # every caller against the others: the same customers at risk, the same churners
    assert bt["customers"] == len(labels) == learned.holdout_customers == compared.labelled \
        == starting
    assert bt["churned"] == sum(labels.values()) == learned.holdout_churners \
        == compared.churners == kpi_churners
    assert report.overall["churn_rate"] == pytest.approx(100 * bt["churn_rate"], rel=1e-12)

    # and against the rule computed independently in pandas on the raw frames
    ref = pandas_inactivity(cdnow_frames["customers"], cdnow_frames["orders"], 180,
                            CDNOW_AS_OF, end)
    assert int(ref["active"].sum()) == bt["customers"] == 6343
    assert bt["customers"] + bt["inactive_at_as_of"] == 23570  # every CDNOW customer is scored
    assert int(ref["churned"].sum()) == bt["churned"] == 3690  # the backtest figure
    # the other reading, only when asked for: the figure the weight learner used to report
    at_end = ChurnRule(inactivity_days=180, lapse="at_horizon_end")
    ref_end = pandas_inactivity(cdnow_frames["customers"], cdnow_frames["orders"], 180,
                                CDNOW_AS_OF, end, "at_horizon_end")
    counted = churn(tables, at_end, CDNOW_AS_OF, end).churned.sum().to_pyarrow().as_py()
    assert counted == int(ref_end["churned"].sum()) == 2925
