"""The one AUC (crindex.stats): golden cases by hand, the laws it obeys, and its bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crindex.stats import Interval, auc, bootstrap_auc, churn_auc

# --------------------------------------------------------------------------------------------
# golden cases


def test_auc_counts_pairs_and_half_ties():
    # positives score 3 and 2, negatives 1, 2, 0: the 6 (positive, negative) pairs are
    # (3,1) win, (3,2) win, (3,0) win, (2,1) win, (2,2) tie = 1/2, (2,0) win -> 5.5 / 6
    assert auc([3, 2, 1, 2, 0], [1, 1, 0, 0, 0]) == 5.5 / 6


def test_churn_auc_rewards_low_scores_for_churners():
    # churners score 10, 20, 50; the others 20, 40, 60. A churner "wins" a pair when it scores
    # lower: (10,20) (10,40) (10,60) (20,40) (20,60) (50,60) win = 6, (20,20) tie = 0.5,
    # (50,20) (50,40) lose -> 6.5 / 9
    scores = [10, 20, 20, 40, 50, 60]
    churned = [True, False, True, False, True, False]
    assert churn_auc(scores, churned) == pytest.approx(6.5 / 9)
    # churners 1 and 3, non-churners 2 and 4: the non-churner is higher in (1,2), (1,4), (3,4)
    assert churn_auc([1, 2, 3, 4], [1, 0, 1, 0]) == 0.75
    assert churn_auc([5, 5], [1, 0]) == 0.5


def test_auc_is_undefined_with_one_class_and_ignores_nan():
    assert auc([1, 2, 3], [0, 0, 0]) is None
    assert auc([1, 2, 3], [1, 1, 1]) is None
    assert auc([], []) is None
    # the NaN customer is left out: positives {3}, negatives {1} -> 1.0
    assert auc([3, float("nan"), 1], [1, 1, 0]) == 1.0
    with pytest.raises(ValueError, match="equal length"):
        auc([1, 2], [1])


# --------------------------------------------------------------------------------------------
# laws

n_obs = st.integers(2, 30)
scores_labels = n_obs.flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 20), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n),
).filter(lambda t: 0 < sum(t[1]) < len(t[1])))


def pair_count(scores, labels) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


@settings(max_examples=150, deadline=None)
@given(scores_labels)
def test_auc_equals_the_pairwise_count(data):
    scores, labels = data
    assert auc(scores, labels) == pytest.approx(pair_count(scores, labels), abs=1e-12)
    churned = [not y for y in labels]
    assert churn_auc(scores, churned) == pytest.approx(pair_count(scores, labels), abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(scores_labels)
def test_auc_of_the_reversed_score_is_one_minus_auc(data):
    scores, labels = data
    a = auc(scores, labels)
    assert 0.0 <= a <= 1.0
    assert a + auc([-s for s in scores], labels) == pytest.approx(1.0, abs=1e-12)
    assert churn_auc(scores, labels) == auc([-s for s in scores], labels)


@settings(max_examples=100, deadline=None)
@given(scores_labels, st.sampled_from([lambda s: 3 * s + 1, np.exp, lambda s: s ** 3,
                                       lambda s: np.floor(s / 1e9)]))
def test_auc_ignores_strictly_monotone_transforms(data, transform):
    scores, labels = data
    moved = [float(transform(float(s))) for s in scores]
    if len(set(moved)) < len(set(scores)):  # floor(s / 1e9) merges every score: not strict
        assert auc(moved, labels) == 0.5
    else:
        assert auc(moved, labels) == auc(scores, labels)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=40))
def test_auc_is_the_mann_whitney_statistic(rows):
    from scipy.stats import mannwhitneyu

    s = np.array([r[0] for r in rows], dtype=float)
    y = np.array([r[1] for r in rows])
    if y.all() or not y.any():
        return
    u = mannwhitneyu(s[y], s[~y]).statistic / (y.sum() * (~y).sum())
    assert auc(s, y) == pytest.approx(u, abs=1e-12)


# --------------------------------------------------------------------------------------------
# bootstrap


@settings(max_examples=30, deadline=None)
@given(scores_labels, st.integers(0, 2**16))
def test_each_resample_is_the_auc_of_the_drawn_customers(data, seed):
    """Counting draws per customer gives the AUC of the resampled arrays, draw for draw."""
    scores, labels = (np.asarray(x) for x in data)
    n_boot = 40
    rng = np.random.default_rng(seed)
    expected = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(scores), size=len(scores))
        value = auc(scores[idx], labels[idx])
        if value is not None:
            expected.append(value)
    got = bootstrap_auc({"s": scores}, labels, n_boot=n_boot, seed=seed, level=0.9)["s"]
    assert got.value == auc(scores, labels) and got.used == len(expected)
    # drawing a resample's indices a few at a time (as 1M customers are) draws the same ones
    for chunk in (1, 2, 7):
        assert bootstrap_auc({"s": scores}, labels, n_boot=n_boot, seed=seed, level=0.9,
                             draw_chunk=chunk)["s"] == got
    if expected:
        low, high = np.quantile(expected, [0.05, 0.95])
        assert (got.low, got.high) == (pytest.approx(low, abs=1e-12),
                                       pytest.approx(high, abs=1e-12))


def test_bootstrap_interval_is_seeded_and_matches_hanley_mcneil():
    rng = np.random.default_rng(3)
    n_pos, n_neg = 150, 250
    scores = np.concatenate([rng.normal(1.0, 1.0, n_pos), rng.normal(0.0, 1.0, n_neg)])
    labels = np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)]
    ci = bootstrap_auc({"s": scores}, labels, n_boot=1000, seed=1)["s"]
    assert ci == bootstrap_auc({"s": scores}, labels, n_boot=1000, seed=1)["s"]
    a = ci.value
    assert ci.low < a < ci.high and ci.used == ci.n_boot == 1000
    # Hanley & McNeil (1982) standard error: Q1 = A/(2-A), Q2 = 2A^2/(1+A),
    # SE^2 = (A(1-A) + (n1-1)(Q1-A^2) + (n2-1)(Q2-A^2)) / (n1 n2); a 95% interval is ~ +-1.96 SE
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = math.sqrt((a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a))
                   / (n_pos * n_neg))
    assert (ci.high - ci.low) == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_bootstrap_of_a_perfect_split_is_a_point():
    ci = bootstrap_auc({"s": [1, 2, 3, 4]}, [0, 0, 1, 1], n_boot=200, seed=0)["s"]
    # every resample that has both classes still separates them perfectly: AUC 1.0 each time
    assert (ci.value, ci.low, ci.high) == (1.0, 1.0, 1.0)
    assert 0 < ci.used <= 200  # resamples with a single class are left out


def test_paired_differences_and_mirrored_scores():
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.2
    s = rng.normal(size=300) - y
    first = bootstrap_auc({"a": s, "b": -s}, ~y, n_boot=400, seed=5, differences=[("a", "b")])
    assert first == bootstrap_auc({"a": s, "b": -s}, ~y, n_boot=400, seed=5,
                                  differences=[("a", "b")])
    assert first["a"].low < first["a"].value < first["a"].high
    assert first["a"].value + first["b"].value == pytest.approx(1.0)
    # the same resamples for both: each resample's a and b sum to 1, so do the quantiles
    assert first["a"].low + first["b"].high == pytest.approx(1.0)
    assert first["a - b"].value == pytest.approx(2 * first["a"].value - 1)
    assert first["a - b"].low > 0  # a ranks churners low far better than its mirror


def test_bootstrap_without_both_classes_has_no_interval():
    out = bootstrap_auc({"s": [1.0, 2.0, float("nan")]}, [1, 1, 0], n_boot=50)
    assert out["s"] == Interval(None, None, None, 0.95, 50, 0)
    assert str(out["s"]) == "- [-, -]"
