"""The backtest on the synthetic e-commerce world: the shipped model predicts churn, a wrong one
is caught."""

from __future__ import annotations

import pytest

from crindex.backtest.run import run_backtest
from crindex.data import open_dataset
from crindex.examples import example_path
from crindex.model.loader import load_model

AS_OF = "2025-06-30"
QUARTERS = ["2024-12-31", "2025-03-31", AS_OF]
RECENCY_LOWER = "normalise: {method: range, min: 0, max: 270, direction: lower}"


@pytest.fixture(scope="module")
def world(ecommerce_world):
    return open_dataset(ecommerce_world, model=load_model(example_path("ecommerce")))


@pytest.fixture(scope="module")
def good(world):
    return run_backtest(example_path("ecommerce"), world, QUARTERS, "90d", n_boot=200)


@pytest.fixture(scope="module")
def wrong(world, tmp_path_factory):
    """examples/ecommerce.yaml with recency read backwards: long-gone buyers score highest."""
    text = example_path("ecommerce").read_text(encoding="utf-8")
    assert text.count(RECENCY_LOWER) == 1
    path = tmp_path_factory.mktemp("wrong") / "ecommerce_wrong.yaml"
    path.write_text(text.replace(RECENCY_LOWER, RECENCY_LOWER.replace("lower", "higher")),
                    encoding="utf-8")
    return run_backtest(path, world, [AS_OF], "90d", n_boot=200)


def period(report, as_of=AS_OF):
    return next(p for p in report["periods"] if p["as_of"] == as_of)


def test_shipped_model_predicts_90_day_churn_with_ordered_tiers(good):
    p = period(good)
    assert p["customers"] > 1000 and p["churned"] > 30
    assert p["auc"]["auc"] >= 0.70
    assert p["auc"]["low"] >= 0.70  # even the low end of the 95% interval
    order = p["tier_order"]
    # core 0/120, potential 1/328, ordinary 9/332, at_risk 41/329: churn falls strictly from
    # each tier to the next better one (with the bounds written by hand, core 0/27 and
    # potential 0/107 tied at 0% and at_risk held 57% of the customers)
    assert order["violations"] == [] and order["zero_ties"] == [] and order["empty"] == []
    assert [(t["customers"], t["churned"]) for t in p["tiers"]] == [(120, 0), (328, 1),
                                                                      (332, 9), (329, 41)]
    assert all(t["share_customers"] <= 0.5 for t in p["tiers"])
    rates = [t["churn_rate"] for t in p["tiers"]]
    assert rates == sorted(rates)  # never rises from the best tier to the worst
    assert rates[-1] > rates[-2]  # and the at-risk tier is the one that leaves
    assert p["lift_10"] > 2.0  # the lowest-scoring tenth churns over twice the base rate
    assert all(m["auc"] > 0.6 for m in p["metrics"])  # every metric carries signal


def test_rolling_checks_over_quarters(good):
    roll = good["rolling"]
    assert roll["as_of"] == QUARTERS
    assert len(roll["psi"]) == 2 and all(x["psi"] >= 0 for x in roll["psi"])
    assert len(roll["core_share"]) == 3 and all(0 < s < 1 for s in roll["core_share"])
    for series in roll["tiers"]:
        assert len(series["churn_rate"]) == len(series["revenue"]) == 3
    # revenue per customer falls from the best tier to the worst at every date
    per_customer = [s["revenue_per_customer"] for s in roll["tiers"]]
    for i in range(3):
        column = [tier[i] for tier in per_customer]
        assert column == sorted(column, reverse=True)


def test_reversed_recency_is_reported_worse_and_its_tiers_flagged(good, wrong):
    right, bad = period(good), period(wrong)
    assert bad["customers"] == right["customers"]
    assert bad["auc"]["auc"] < right["auc"]["auc"]
    assert bad["auc"]["auc"] < right["auc"]["low"]  # outside the good model's interval
    assert not bad["tier_order"]["ordered"] and bad["tier_order"]["flagged"]
    recency = next(m for m in bad["metrics"] if m["id"] == "recency")
    assert recency["auc"] < 0.45  # points away from churn
    codes = {(c["code"], c.get("params", {}).get("metric")) for c in wrong["checks"]}
    assert ("metric_reversed", "recency") in codes
    assert any(c["level"] == "fail" and c["code"] in ("tier_order", "tier_empty")
               for c in wrong["checks"])
