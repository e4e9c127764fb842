"""A normaliser's plain-Python score of one value is the engine's, and ``reach`` inverts it."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crindex.act import peers_of
from crindex.engine.normalisers import normalise
from crindex.model.registry import NORMALISERS
from crindex.model.spec import RawDomain
from tests.test_act import normalisers

ACROSS = st.sampled_from([{"method": "percentile", "direction": "higher"},
                          {"method": "percentile", "direction": "lower"},
                          {"method": "zscore", "clip": 2.0, "direction": "higher"}])


def build(settings_: dict[str, Any]) -> Any:
    return NORMALISERS[settings_["method"]].model_validate(settings_)


@settings(max_examples=20, deadline=None)
@given(spec=st.one_of(normalisers(), ACROSS),
       values=st.lists(st.integers(-20, 300).map(float), min_size=2, max_size=12))
def test_value_score_is_the_engines_score(spec: dict[str, Any], values: list[float]) -> None:
    import ibis

    norm = build(spec)
    table = ibis.memtable({"i": list(range(len(values))), "x": values})
    expr = table.mutate(s=normalise(norm, table.x)).order_by("i")
    engine = ibis.duckdb.connect().execute(expr)["s"].tolist()
    for x, want in zip(values, engine, strict=True):
        got = norm.value_score(x, peers_of(values, x))
        assert got == pytest.approx(want, abs=1e-9), (spec, x)


@settings(max_examples=40, deadline=None)
@given(spec=normalisers(), raw=st.integers(0, 150).map(float),
       target=st.floats(0, 100, allow_nan=False), whole=st.booleans())
def test_reach_reaches_and_nothing_nearer_does(spec: dict[str, Any], raw: float,
                                               target: float, whole: bool) -> None:
    norm = build(spec)
    domain = RawDomain(0.0, None, whole)
    got = norm.reach(raw, target, domain)
    if got is None:  # nothing in the domain reaches: not at the far ends, not in between
        for x in [0.0, 1e6, *[float(v) for v in range(0, 400)]]:
            assert (norm.value_score(x) or 0.0) < target
        return
    assert domain.holds(got)
    assert norm.value_score(got) >= target
    step = 1.0 if whole else max(1e-9, abs(got) * 1e-9)
    nearer = got - step if got > raw else got + step
    if got != raw and (nearer - raw) * (got - raw) > 0 and domain.holds(nearer):
        assert (norm.value_score(nearer) or 0.0) < target or \
            math.isclose(abs(nearer - raw), abs(got - raw))
