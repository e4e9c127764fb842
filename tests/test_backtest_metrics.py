"""Backtest figures against values computed by hand, and the laws they obey."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crindex.backtest import metrics as bm

# --------------------------------------------------------------------------------------------
# deciles and lift


def test_deciles_of_twenty_distinct_scores_hold_two_each():
    deciles = bm.risk_deciles(np.arange(20, 0, -1))  # scores 20..1
    # the two lowest scores (1, 2) are the last two entries -> decile 1; 19, 20 -> decile 10
    assert deciles.tolist() == [10, 10, 9, 9, 8, 8, 7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_lift_of_the_lowest_tenth():
    scores = np.arange(1, 21, dtype=float)  # 20 customers scoring 1..20
    churned = np.isin(scores, [1, 5, 11, 17])  # 4 churners -> base rate 4 / 20 = 0.2
    # lowest 10% = ranks <= 2 = scores 1 and 2: 1 churner of 2 = 0.5 -> lift 0.5 / 0.2 = 2.5
    assert bm.lift(scores, churned) == pytest.approx(2.5)
    rows = bm.decile_rows(scores, churned, revenue=scores * 10)
    assert rows[0]["decile"] == 1 and rows[0]["customers"] == 2
    assert rows[0]["churn_rate"] == 0.5 and rows[0]["lift"] == pytest.approx(2.5)
    # decile 3 = scores 5, 6: one churner -> 0.5; revenue 50 + 60 = 110
    assert rows[2]["churned"] == 1 and rows[2]["revenue"] == 110.0
    assert (rows[2]["min_score"], rows[2]["max_score"]) == (5.0, 6.0)
    # decile 2 = scores 3, 4: nobody churned -> lift 0
    assert rows[1]["lift"] == 0.0


def test_lift_keeps_ties_together():
    scores = np.arange(1, 21, dtype=float)
    scores[2] = 2.0  # scores 2 and 2 tie at ranks 2 and 3: average rank 2.5 > 2 -> both out
    churned = np.isin(np.arange(20), [0, 4, 10, 16])  # customer 0 (score 1) churned; base 0.2
    # lowest 10% is now the score-1 customer alone: churn 1 / 1 -> lift 1.0 / 0.2 = 5.0
    assert bm.lift(scores, churned) == pytest.approx(5.0)
    assert bm.lift(scores, np.zeros(20, bool)) is None  # nobody churned: no base rate


# --------------------------------------------------------------------------------------------
# churn and revenue by tier, tier order, calibration


TIERS = ["core", "potential", "at_risk"]


def test_churn_and_revenue_by_tier():
    tiers = ["core", "core", "potential", "potential", "potential", "at_risk", "at_risk",
             "at_risk"]
    churned = [0, 0, 1, 0, 0, 1, 1, 0]
    revenue = [100, 300, 0, 50, 50, 0, 10, 40]  # total 550
    rows = bm.group_rows(tiers, TIERS, churned, revenue)
    core, potential, at_risk = rows
    # core: 0 of 2 churn; revenue 100 + 300 = 400, 200 per customer, 400 / 550 = 0.72727 of all
    assert (core["customers"], core["churned"], core["churn_rate"]) == (2, 0, 0.0)
    assert core["revenue"] == 400 and core["revenue_per_customer"] == 200
    assert core["share_revenue"] == pytest.approx(400 / 550)
    assert core["share_customers"] == pytest.approx(2 / 8)
    # potential: 1 of 3 = 0.3333; at_risk: 2 of 3 = 0.6667, revenue 10 + 40 = 50
    assert potential["churn_rate"] == pytest.approx(1 / 3)
    assert at_risk["churn_rate"] == pytest.approx(2 / 3) and at_risk["revenue"] == 50
    check = bm.tier_order(rows)
    assert check["ordered"] and check["violations"] == [] and check["zero_ties"] == []


def row(tier: str, n: int, churned: int) -> dict:
    return {"group": tier, "customers": n, "churn_rate": churned / n if n else None}


def test_tier_order_flags_the_tier_that_churns_as_much_as_a_worse_one():
    # core 1/10 = 0.10 > potential 1/20 = 0.05: core breaks the order; potential 0.05 < 0.30 ok
    check = bm.tier_order([row("core", 10, 1), row("potential", 20, 1), row("at_risk", 10, 3)])
    assert not check["ordered"] and check["flagged"] == ["core"]
    assert check["violations"][0] == {"tier": "core", "kind": "inversion", "next": "potential",
                                      "churn_rate": 0.1, "next_churn_rate": 0.05}
    # a tie above zero is not a strict fall: potential 2/20 = 0.10 = at_risk 1/10
    check = bm.tier_order([row("core", 10, 0), row("potential", 20, 2), row("at_risk", 10, 1)])
    assert check["flagged"] == ["potential"]


def test_tier_order_counts_ties_at_zero_as_not_ordered():
    # core and potential both lost nobody: churn does not fall from one to the other -> core
    # is flagged (kind zero_tie) and the pair is listed; potential 0 < at_risk 2/10 is fine
    check = bm.tier_order([row("core", 5, 0), row("potential", 9, 0), row("at_risk", 10, 2)])
    assert not check["ordered"] and check["zero_ties"] == [["core", "potential"]]
    assert check["flagged"] == ["core"]
    assert check["violations"] == [{"tier": "core", "kind": "zero_tie", "next": "potential",
                                    "churn_rate": 0.0, "next_churn_rate": 0.0}]


def test_tier_order_flags_an_empty_tier_and_compares_across_it():
    # `ordinary` is empty -> flagged; potential (1/10 = 0.1) is compared with at_risk
    # (1/20 = 0.05) across the gap -> potential is flagged too
    check = bm.tier_order([row("core", 5, 0), row("potential", 10, 1), row("ordinary", 0, 0),
                           row("at_risk", 20, 1)])
    assert not check["ordered"] and check["empty"] == ["ordinary"]
    assert check["flagged"] == ["potential", "ordinary"]
    assert [v["kind"] for v in check["violations"]] == ["inversion", "empty"]


def test_calibration_bands():
    # band 0-10: score 5 (churned) -> 1.0; band 10-20: 15 (churned), 12 -> 0.5, mean 13.5;
    # band 90-100 is closed on the right: 95 and 100 -> 0.0; every other band is empty
    rows = bm.calibration_rows([5, 15, 12, 95, 100], [1, 1, 0, 0, 0], [0, 0, 30, 70, 100])
    by_band = {r["band"]: r for r in rows}
    assert len(rows) == 10
    assert by_band["0-10"]["churn_rate"] == 1.0
    assert by_band["10-20"]["churn_rate"] == 0.5 and by_band["10-20"]["mean_score"] == 13.5
    assert by_band["90-100"]["customers"] == 2 and by_band["90-100"]["churn_rate"] == 0.0
    assert by_band["90-100"]["revenue_per_customer"] == 85.0
    assert by_band["50-60"]["customers"] == 0 and by_band["50-60"]["churn_rate"] is None


# --------------------------------------------------------------------------------------------
# PSI


def test_psi_by_hand():
    # expected: two of four in 0-10 and two in 10-20 -> (0.5, 0.5); actual (0.25, 0.75);
    # PSI = (0.25-0.5) ln(0.25/0.5) + (0.75-0.5) ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5
    #     = 0.25 ln 3 = 0.274653
    assert bm.psi([5, 5, 15, 15], [5, 15, 15, 15]) == pytest.approx(0.25 * math.log(3))
    assert bm.psi([5, 5, 15, 15], [5, 15, 15, 15]) == pytest.approx(0.274653, abs=1e-6)


def test_psi_floors_an_empty_bin():
    # expected all in 0-10 (share 1, band 90-100 empty -> floored to 1e-4); actual half/half:
    # (0.5 - 1) ln(0.5 / 1) + (0.5 - 1e-4) ln(0.5 / 1e-4) = 0.346574 + 0.4999 x 8.517193
    #     = 0.346574 + 4.257745 = 4.604319
    assert bm.psi([5, 5], [5, 95]) == pytest.approx(4.604319, abs=1e-5)
    assert bm.psi_label(0.05) == "stable" and bm.psi_label(0.2) == "shift"
    assert bm.psi_label(0.3) == "changed"


# --------------------------------------------------------------------------------------------
# laws

score_lists = st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60)


@settings(max_examples=100, deadline=None)
@given(score_lists, score_lists)
def test_psi_is_nonnegative_symmetric_and_zero_on_identical(a, b):
    assert bm.psi(a, a) == 0.0
    assert bm.psi(a, b) >= 0.0
    assert bm.psi(a, b) == pytest.approx(bm.psi(b, a))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=1, max_size=60))
def test_deciles_follow_the_score_and_keep_ties_together(scores):
    deciles = bm.risk_deciles(scores)
    order = np.argsort(scores, kind="stable")
    assert np.all(np.diff(deciles[order]) >= 0)
    for value in set(scores):
        assert len({d for s, d in zip(scores, deciles, strict=True) if s == value}) == 1
    assert bm.lift(scores, [True] * len(scores), share=1.0) == 1.0
