"""Golden values computed by hand on the five-customer fixture (tests/conftest.py).

as_of is 2025-06-30: a 365d window keeps days after 2024-06-30, a 90d window days after
2025-04-01. c6 (created after as_of) and c7 (churned before it) are never scored.
"""

from __future__ import annotations

import math

import pytest

from crindex.api import score
from crindex.examples import example_path
from crindex.model import load_model, parse_model
from crindex.model.arithmetic import combine, tier_of
from tests.conftest import AS_OF


def by_customer(result, column):
    return dict(zip(result.table.column("customer_id").to_pylist(),
                    result.table.column(column).to_pylist(), strict=True))


AGGREGATES_MODEL = """
name: aggregates
dimensions:
  - id: all
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 6, normalise: {method: identity}}
      - {id: recency, aggregate: recency_days, weight: 6, normalise: {method: identity}}
      - {id: n_orders, aggregate: count, window: 365d, weight: 6, normalise: {method: identity}}
      - {id: lines, aggregate: distinct_count, column: product_line, window: 365d, weight: 6, normalise: {method: identity}}
      - {id: avg_order, aggregate: mean, column: amount, window: 365d, weight: 6, normalise: {method: identity}}
      - {id: min_order, aggregate: min, column: amount, weight: 6, normalise: {method: identity}}
      - {id: max_order, aggregate: max, column: amount, weight: 6, normalise: {method: identity}}
      - {id: last_amount, aggregate: latest, column: amount, weight: 6, normalise: {method: identity}}
      - {id: profit, aggregate: profit, window: 365d, weight: 6, normalise: {method: identity}}
      - {id: tenure, aggregate: tenure_days, weight: 6, normalise: {method: identity}}
      - id: open_rate
        aggregate: ratio
        table: interactions
        numerator: {aggregate: count, kind: email_opened}
        denominator: {aggregate: count, kind: email_sent}
        window: 90d
        weight: 6
        normalise: {method: identity}
      - {id: since_open, aggregate: days_since_last, kind: email_opened, weight: 6, normalise: {method: identity}}
      - {id: support_sat, aggregate: mean, table: interactions, column: satisfaction, where: {channel: support}, window: 365d, weight: 6, normalise: {method: identity}}
      - {id: nps, aggregate: nps, window: 365d, weight: 6, normalise: {method: identity}}
      - {id: csat, aggregate: survey_mean, kind: csat, window: 365d, weight: 6, normalise: {method: identity}}
      - {id: band, aggregate: attribute, column: size_band, weight: 6, normalise: {method: map, values: {large: 100}}}
      - {id: emails_pm, aggregate: monthly_count, table: interactions, kind: email_sent, window: 90d, weight: 4, normalise: {method: identity}}
"""

MONTHS_90D = 90 / (365.25 / 12)

EXPECTED_RAW = {
    # c1: 1000 + 500 in the window; 2024-03-01 is outside, 2025-07-05 after as_of, the
    # refund does not count; c2: the order with no status counts as paid
    "spend": {"c1": 1500, "c2": 300, "c3": 50, "c4": 0, "c5": 400},
    "recency": {"c1": 10, "c2": 90, "c3": 0, "c4": None, "c5": 364},
    "n_orders": {"c1": 2, "c2": 2, "c3": 1, "c4": 0, "c5": 1},
    "lines": {"c1": 2, "c2": 1, "c3": 1, "c4": 0, "c5": 1},
    "avg_order": {"c1": 750, "c2": 150, "c3": 50, "c4": None, "c5": 400},
    "min_order": {"c1": 500, "c2": 100, "c3": 50, "c4": None, "c5": 400},
    "max_order": {"c1": 2000, "c2": 200, "c3": 50, "c4": None, "c5": 400},
    "last_amount": {"c1": 1000, "c2": 200, "c3": 50, "c4": None, "c5": 400},
    # (1000 - 600) + (500 - 200); (200 - 150) + (100 - no cost); 50 - no cost; 400 - 100
    "profit": {"c1": 700, "c2": 150, "c3": 50, "c4": 0, "c5": 300},
    "tenure": {"c1": 2007, "c2": 731, "c3": 180, "c4": 365, "c5": 1276},
    "open_rate": {"c1": 0.75, "c2": 0.0, "c3": None, "c4": None, "c5": 0.5},
    # c4 opened on 2025-03-02: 120 days; c5's open of 2025-08-01 is after as_of
    "since_open": {"c1": 14, "c2": None, "c3": None, "c4": 120, "c5": 18},
    "support_sat": {"c1": 4.5, "c2": 2.0, "c3": None, "c4": None, "c5": None},
    # c1 two promoters; c2 a detractor and a passive; c3 one passive; c5's answer is too old
    "nps": {"c1": 100, "c2": -50, "c3": 0, "c4": None, "c5": None},
    "csat": {"c1": 5, "c2": 2, "c3": None, "c4": None, "c5": 4},
    "band": {"c1": "large", "c2": "medium", "c3": "small", "c4": None, "c5": "large"},
    "emails_pm": {"c1": 4 / MONTHS_90D, "c2": 2 / MONTHS_90D, "c3": 0, "c4": 0,
                  "c5": 2 / MONTHS_90D},
}


def test_every_aggregate_on_the_five_customers(five, con):
    result = score(parse_model(AGGREGATES_MODEL), five, AS_OF, con=con)
    assert sorted(result.table.column("customer_id").to_pylist()) == ["c1", "c2", "c3", "c4",
                                                                        "c5"]
    for metric, expected in EXPECTED_RAW.items():
        got = by_customer(result, f"{metric}__raw")
        for cid, value in expected.items():
            if value is None or isinstance(value, str):
                assert got[cid] == value, (metric, cid, got[cid])
            else:
                assert got[cid] == pytest.approx(value, abs=1e-6), (metric, cid, got[cid])


NORMALISERS_MODEL = """
name: normalisers
dimensions:
  - id: all
    metrics:
      - {id: rng, aggregate: attribute, column: employees, weight: 12, normalise: {method: range, min: 0, max: 1000}}
      - {id: rng_low, aggregate: attribute, column: employees, weight: 12, normalise: {method: range, min: 0, max: 1000, direction: lower}}
      - {id: logr, aggregate: attribute, column: employees, weight: 12, normalise: {method: log_range, min: 0, max: 999}}
      - {id: pct, aggregate: attribute, column: employees, weight: 12, normalise: {method: percentile}}
      - id: bins
        aggregate: attribute
        column: employees
        weight: 12
        normalise: {method: bins, out_of: 5, bins: [{min: 1000, points: 5}, {min: 100, max: 1000, points: 3}, {points: 1}]}
      - {id: pts, aggregate: attribute, column: employees, weight: 12, normalise: {method: points, per: 100, points: 1, cap: 10}}
      - {id: mapped, aggregate: attribute, column: size_band, weight: 12, normalise: {method: map, values: {large: 100, medium: 60}, default: 20}}
      - {id: z, aggregate: attribute, column: employees, weight: 16, normalise: {method: zscore, clip: 2}}
"""


def test_every_normaliser_by_hand(five, con):
    result = score(parse_model(NORMALISERS_MODEL), five, AS_OF, con=con)
    # employees: c1 500, c2 120, c3 10, c4 none, c5 2000
    mean = (500 + 120 + 10 + 2000) / 4  # 657.5
    std = math.sqrt(((500 - mean) ** 2 + (120 - mean) ** 2 + (10 - mean) ** 2
                     + (2000 - mean) ** 2) / 4)

    def z(x):
        return (max(-2.0, min(2.0, (x - mean) / std)) + 2) / 4 * 100

    expected = {
        "rng": {"c1": 50, "c2": 12, "c3": 1, "c5": 100},  # 2000 clipped to 100
        "rng_low": {"c1": 50, "c2": 88, "c3": 99, "c5": 0},
        "logr": {"c1": math.log(501) / math.log(1000) * 100,
                 "c2": math.log(121) / math.log(1000) * 100,
                 "c3": math.log(11) / math.log(1000) * 100, "c5": 100},
        # ranks among the four with a value: 10 < 120 < 500 < 2000
        "pct": {"c1": 200 / 3, "c2": 100 / 3, "c3": 0, "c5": 100},
        # 500 and 120 fall in [100, 1000): 3 of 5 points; 10: 1 point; 2000: 5 points
        "bins": {"c1": 60, "c2": 60, "c3": 20, "c5": 100},
        # one point per 100 employees, capped at 10 points = 100
        "pts": {"c1": 50, "c2": 12, "c3": 1, "c5": 100},
        "mapped": {"c1": 100, "c2": 60, "c3": 20, "c5": 100},
        "z": {"c1": z(500), "c2": z(120), "c3": z(10), "c5": z(2000)},
    }
    for metric, exp in expected.items():
        got = by_customer(result, f"{metric}__score")
        for cid, value in exp.items():
            assert got[cid] == pytest.approx(value, abs=1e-6), (metric, cid)
        # c4 has no employees and no size band: missing, re-weighted away
        assert got["c4"] is None
        assert by_customer(result, f"{metric}__missing")["c4"] is True
    assert by_customer(result, "score")["c4"] is None
    assert by_customer(result, "tier")["c4"] is None


POLICY_MODEL = """
name: policies
dimensions:
  - id: a
    weight: 60
    metrics:
      - {id: emp, aggregate: attribute, column: employees, weight: 50, normalise: {method: range, min: 0, max: 1000}, missing: zero}
      - {id: band, aggregate: attribute, column: size_band, weight: 50, normalise: {method: map, values: {large: 100, medium: 60}, default: 20}, missing: {policy: neutral, score: 40}}
  - id: b
    weight: 40
    metrics:
      - {id: nps, aggregate: nps, window: 365d, weight: 100, normalise: {method: range, min: -100, max: 100}, missing: reweight}
"""


def test_missing_value_policies_weights_and_coverage(five, con):
    result = score(parse_model(POLICY_MODEL), five, AS_OF, con=con)
    scores = by_customer(result, "score")
    # c1: a = (50 + 100) / 2 = 75, b = nps 100 -> 100; 0.6 * 75 + 0.4 * 100
    assert scores["c1"] == pytest.approx(85.0)
    # c2: a = (12 + 60) / 2 = 36, b = nps -50 -> 25; 0.6 * 36 + 0.4 * 25
    assert scores["c2"] == pytest.approx(31.6)
    # c3: a = (1 + 20) / 2 = 10.5, b = nps 0 -> 50
    assert scores["c3"] == pytest.approx(26.3)
    # c4: employees missing -> 0 (zero), band missing -> 40 (neutral), nps missing ->
    # dimension b drops out and a carries the whole score: (0 + 40) / 2
    assert scores["c4"] == pytest.approx(20.0)
    # c5: nps answer too old -> re-weighted: a alone = (100 + 100) / 2
    assert scores["c5"] == pytest.approx(100.0)
    coverage = by_customer(result, "coverage")
    assert coverage == pytest.approx({"c1": 100, "c2": 100, "c3": 100, "c4": 0, "c5": 60})
    weights = by_customer(result, "nps__weight")
    assert weights["c5"] == 0 and weights["c1"] == pytest.approx(40)
    assert by_customer(result, "emp__weight")["c5"] == pytest.approx(50)
    dims = by_customer(result, "dim__a")
    assert dims["c4"] == pytest.approx(20) and by_customer(result, "dim__b")["c4"] is None
    tiers = by_customer(result, "tier")
    assert tiers == {"c1": "potential", "c2": "at_risk", "c3": "at_risk", "c4": "at_risk",
                     "c5": "core"}


def test_flat_weights_and_the_variant_tiers(five, con):
    model = parse_model(POLICY_MODEL.replace("    weight: 60\n", "").replace("    weight: 40\n", "")
                        .replace("weight: 50", "weight: 30").replace("weight: 100", "weight: 40")
                        + """
tiers:
  levels:
    - {id: high, above: 80}
    - {id: mid, min: 50}
    - {id: low}
""")
    result = score(model, five, AS_OF, con=con)
    scores = by_customer(result, "score")
    # flat: c1 = 0.3 * 50 + 0.3 * 100 + 0.4 * 100
    assert scores["c1"] == pytest.approx(85.0)
    # c5: nps re-weighted over the 60 points present: (30 * 100 + 30 * 100) / 60
    assert scores["c5"] == pytest.approx(100.0)
    # c2: 0.3 * 12 + 0.3 * 60 + 0.4 * 25
    assert scores["c2"] == pytest.approx(31.6)
    assert by_customer(result, "tier") == {"c1": "high", "c2": "low", "c3": "low", "c4": "low",
                                           "c5": "high"}


def test_tiers_by_rank_share(five, con):
    model = parse_model(POLICY_MODEL + """
tiers:
  by: rank
  levels:
    - {id: core, top: 20}
    - {id: middle}
    - {id: at_risk, bottom: 40}
""")
    tiers = by_customer(score(model, five, AS_OF, con=con), "tier")
    # scores: c5 100 > c1 85 > c2 31.6 > c3 26.3 > c4 20: top 20% = 1 of 5, bottom 40% = 2
    assert tiers == {"c5": "core", "c1": "middle", "c2": "middle", "c3": "at_risk",
                     "c4": "at_risk"}


def test_rows_after_as_of_never_change_a_score(five, con):
    import pandas as pd

    before = score(parse_model(AGGREGATES_MODEL), five, AS_OF, con=con).table
    later = {k: v.copy() for k, v in five.items()}
    extra = pd.DataFrame({"order_id": ["late"], "customer_id": ["c4"],
                          "ordered_at": [pd.Timestamp("2025-07-01")], "amount": [1e6],
                          "product_line": ["Z"], "status": ["paid"]})
    later["orders"] = pd.concat([later["orders"], extra], ignore_index=True)
    after = score(parse_model(AGGREGATES_MODEL), later, AS_OF, con=con).table
    assert before.equals(after)


# --- the worked example ----------------------------------------------------------------------


def test_worked_example_from_scores():
    model = load_model(example_path("ecommerce"))
    combined = combine(model, {"annual_spend": 85, "recency": 90, "nps": 90,
                               "email_open_rate": 70, "support_satisfaction": 90})
    # 0.30 * 85 + 0.25 * 90 + 0.20 * 90 + 0.15 * 70 + 0.10 * 90
    assert combined.score == pytest.approx(85.5)
    assert sum(combined.contributions.values()) == pytest.approx(85.5)
    assert tier_of(model, combined.score) == "core"  # 85.5 >= core's 79


def test_worked_example_from_raw_data(con):
    import pandas as pd

    model = load_model(example_path("ecommerce"))
    day = pd.Timestamp("2025-06-30")
    customers = pd.DataFrame({"customer_id": ["w1"], "created_at": [pd.Timestamp("2020-01-01")]})
    # annual spend 2,550 -> 2550 / 3000 = 85; last purchase 27 days ago -> 1 - 27/270 = 90
    orders = pd.DataFrame({
        "order_id": ["a", "b"], "customer_id": ["w1", "w1"],
        "ordered_at": [day - pd.Timedelta(days=200), day - pd.Timedelta(days=27)],
        "amount": [1800.0, 750.0],
    })
    # NPS: 8 promoters and 2 passives -> 80 -> (80 + 100) / 200 = 90
    surveys = pd.DataFrame({
        "customer_id": ["w1"] * 10, "kind": ["nps"] * 10,
        "answered_at": [day - pd.Timedelta(days=10 * i) for i in range(10)],
        "score": [9.0, 10, 9, 10, 9, 10, 9, 10, 7, 8],
    })
    # 7 of 10 e-mails opened -> 70; tickets rated 5, 5, 5, 4, 4 -> 4.6 -> (4.6 - 1) / 4 = 90
    rows = [("email_sent", "email", None)] * 10 + [("email_opened", "email", None)] * 7 + \
        [("ticket_resolved", "support", s) for s in (5.0, 5.0, 5.0, 4.0, 4.0)]
    interactions = pd.DataFrame({
        "customer_id": ["w1"] * len(rows), "kind": [r[0] for r in rows],
        "channel": [r[1] for r in rows], "satisfaction": [r[2] for r in rows],
        "occurred_at": [day - pd.Timedelta(days=i % 30) for i in range(len(rows))],
    })
    result = score(model, {"customers": customers, "orders": orders, "surveys": surveys,
                           "interactions": interactions}, "2025-06-30", con=con)
    ex = result.explain("w1")
    assert [round(r.score, 9) for r in ex.rows] == [85, 90, 90, 70, 90]
    assert [r.weight for r in ex.rows] == pytest.approx([30, 25, 20, 15, 10])
    assert ex.score == pytest.approx(85.5)
    assert sum(r.weighted for r in ex.rows) == pytest.approx(85.5)
    assert ex.tier == "core" and ex.coverage == pytest.approx(100)
