"""One rule decides a score's tier: the engine's SQL, the arithmetic and manual adjustments agree.

Score tiers: the bounded levels are tried in the order written, the first that holds wins
(``min`` is >=, ``above`` is >), and the catch-all takes the rest wherever it is written.
"""

from __future__ import annotations

import datetime as dt

import ibis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crindex.engine.compile import _tier
from crindex.examples import example_path
from crindex.model import load_model
from crindex.model.arithmetic import tier_of
from crindex.model.spec import CRIModel, TierLevel, TiersSpec
from crindex.store.adjust import Adjustment, apply, tier_for_score
from crindex.store.snapshot import model_info

BASE = load_model(example_path("b2b"))


def with_tiers(tiers: TiersSpec) -> CRIModel:
    # a model built in code skips the file checks, so a catch-all in any place reaches every
    # caller; the rule must still give one answer
    return BASE.model_copy(update={"tiers": tiers})


def engine_tiers(model: CRIModel, scores: list[float | None]) -> list[str | None]:
    table = ibis.memtable({"i": list(range(len(scores))), "score": scores},
                          schema={"i": "int64", "score": "float64"})
    expr = table.mutate(tier=_tier(model, table.score)).order_by("i")
    return ibis.duckdb.connect().execute(expr)["tier"].tolist()


def all_three(model: CRIModel, scores: list[float | None]) -> list[tuple[object, ...]]:
    stored = model_info(model)["tiers"]
    engine = [None if t is None or t != t else t for t in engine_tiers(model, scores)]
    return [(e, tier_of(model, s), tier_for_score(s, stored))
            for e, s in zip(engine, scores, strict=True)]


bounds = st.one_of(st.integers(0, 100).map(float),
                   st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 2)))


@st.composite
def tiers_and_scores(draw):
    n = draw(st.integers(0, 5))
    levels = [TierLevel(id=f"t{i}", **{draw(st.sampled_from(["min", "above"])): draw(bounds)})
              for i in range(n)]
    levels.insert(draw(st.integers(0, n)), TierLevel(id="rest"))
    edges = [lv.min if lv.min is not None else lv.above for lv in levels if not lv.is_catch_all]
    score = st.one_of(st.floats(0, 100, allow_nan=False), bounds, st.none(),
                      *([st.sampled_from(edges)] if edges else []))
    return TiersSpec(by="score", levels=levels), draw(st.lists(score, min_size=1, max_size=30))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiers_and_scores())
def test_engine_arithmetic_and_adjustments_give_the_same_tier(case):
    tiers, scores = case
    for (engine, arithmetic, adjusted), s in zip(all_three(with_tiers(tiers), scores), scores,
                                                 strict=True):
        assert engine == arithmetic == adjusted, (s, engine, arithmetic, adjusted)
        # the rule itself: the first bounded level written that holds, else the catch-all
        held = [lv.id for lv in tiers.levels
                if (lv.min is not None and s is not None and s >= lv.min)
                or (lv.above is not None and s is not None and s > lv.above)]
        assert engine == (None if s is None else held[0] if held else "rest")


def test_catch_all_written_first_no_longer_swallows_the_bounded_tiers():
    # the adjustments used to return the catch-all as soon as they met it: 85 was `rest`
    # there while the engine (and the arithmetic) said `high`
    tiers = TiersSpec(by="score", levels=[TierLevel(id="rest"), TierLevel(id="high", min=80),
                                          TierLevel(id="mid", above=40)])
    model = with_tiers(tiers)
    scores: list[float | None] = [85.0, 80.0, 40.0, 40.5, 0.0]
    want = ["high", "high", "rest", "mid", "rest"]
    assert all_three(model, scores) == [(w, w, w) for w in want]
    # and a manual +5 points on a 75 follows it into `high`
    assert apply(75.0, "mid", [_points(5.0)], model_info(model)["tiers"]).adjusted_tier == "high"


def test_tier_order_is_the_order_written():
    assert BASE.tiers.order == ["core", "potential", "ordinary", "at_risk"]
    assert with_tiers(TiersSpec(levels=[TierLevel(id="b"), TierLevel(id="a", min=1)])
                      ).tiers.order == ["b", "a"]


def _points(points: float) -> Adjustment:
    return Adjustment(1, "add", "c1", None, points, None, "why", "me", dt.datetime(2025, 1, 1),
                      dt.date(2025, 1, 1), None, None)
