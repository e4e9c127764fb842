"""Sub-model weights shrunk towards the parent's by the segment's size (crindex.weights.shrink)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crindex.errors import FitError
from crindex.weights.shrink import shrink


def test_shrinkage_computed_by_hand():
    # n = 50 customers, k = 150: s = 150 / (50 + 150) = 0.75
    # spend: 0.25 * 80 + 0.75 * 40 = 50; orders: 0.25 * 20 + 0.75 * 60 = 50
    out = shrink("b2b", {"spend": 80.0, "orders": 20.0}, {"spend": 40.0, "orders": 60.0},
                 customers=50, strength=150, churners=7)
    assert out.shrinkage == pytest.approx(0.75)
    assert out.weights == pytest.approx({"spend": 50.0, "orders": 50.0})
    assert (out.customers, out.churners) == (50, 7)


def test_a_segment_that_learned_nothing_keeps_the_parents_weights():
    out = shrink("tiny", None, {"a": 30.0, "b": 70.0}, customers=3, strength=200,
                 notes=["own weights not learned"])
    assert out.shrinkage == 1.0 and out.weights == {"a": 30.0, "b": 70.0}
    assert out.to_dict()["own"] is None


def test_weights_of_other_metrics_are_refused():
    with pytest.raises(FitError):
        shrink("x", {"a": 100.0}, {"b": 100.0}, customers=10)


weights = st.lists(st.floats(0, 1, allow_nan=False), min_size=3, max_size=3).filter(
    lambda v: sum(v) > 0).map(lambda v: {k: 100 * x / sum(v) for k, x in zip("abc", v, strict=True)})


@settings(max_examples=30, deadline=None)
@given(weights, weights, st.integers(0, 10_000), st.floats(0, 1000), st.integers(1, 500))
def test_the_blend_sums_to_100_lies_between_and_moves_to_its_own_as_it_grows(
        own, parent, n, k, more):
    small = shrink("s", own, parent, n, k)
    big = shrink("s", own, parent, n + more, k)
    assert sum(small.weights.values()) == pytest.approx(100.0, abs=1e-9)
    for m in own:
        lo, hi = sorted((own[m], parent[m]))
        assert lo - 1e-9 <= small.weights[m] <= hi + 1e-9
        # more customers: no farther from the segment's own weights
        assert abs(big.weights[m] - own[m]) <= abs(small.weights[m] - own[m]) + 1e-9
    assert big.shrinkage <= small.shrinkage
