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


def test_each_submodel_is_learned_on_its_rows_and_shrunk_by_their_number(ecommerce_world,
                                                                           tmp_path, cli):
    """The shipped ecommerce model split by segment (member / the rest), on the shared world.

    Through ``crindex weights submodels --json``, whose output must parse as strict JSON (no
    NaN or Infinity: tests/test_cli_json.py leaves this command to this test).
    """
    import datetime as dt
    import json
    from types import SimpleNamespace

    from crindex.api import score
    from crindex.examples import example_path
    from crindex.model import parse_model
    from crindex.weights.learn import ChurnLabels

    text = example_path("ecommerce").read_text(encoding="utf-8") + """
submodels:
  - id: members
    match: {segment: member}
  - id: others
    default: true
"""
    model = parse_model(text)
    path = tmp_path / "split.yaml"
    path.write_text(text, encoding="utf-8")
    code, out = cli("weights", "submodels", "--model", str(path), "--data",
                    str(ecommerce_world), "--as-of", "2025-10-01", "--horizon", "90d",
                    "--snapshots", "1", "--strength", "300", "--json")
    assert code == 0, out

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in a --json output")

    found = [SimpleNamespace(**d) for d in json.loads(out, parse_constant=refuse)]
    # one fit date, 2025-07-03 (90 days before): the rows are the customers scored then with
    # a label, split by the sub-model that scored them
    day = dt.date(2025, 7, 3)
    result = score(model, str(ecommerce_world), day)
    from crindex.data import open_dataset

    labels = ChurnLabels(open_dataset(str(ecommerce_world), model=model).tables, model)(
        day, "90d")
    subs = [s for c, s in zip(result.table.column("customer_id").to_pylist(),
                              result.table.column("submodel").to_pylist(), strict=True)
            if c in labels]
    assert [f.submodel for f in found] == ["members", "others"]
    for f in found:
        assert f.customers == subs.count(f.submodel)
        assert f.shrinkage == pytest.approx(300 / (f.customers + 300))
        assert sum(f.weights.values()) == pytest.approx(100.0)
        assert f.parent == found[0].parent  # one whole-model fit
