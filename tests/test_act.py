"""The path to the next tier and why a score changed (crindex.act), on random models."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crindex.act import (
    MetricNow,
    MetricState,
    SnapshotState,
    next_tier_path,
    peers_of,
    why_changed,
)
from crindex.model.arithmetic import combine
from crindex.model.loader import parse_model
from crindex.model.registry import raw_domain
from crindex.model.spec import CRIModel, RawDomain
from crindex.store.adjust import Adjustment, apply
from crindex.store.snapshot import model_info

MODEL = """
name: act
dimensions:
  - id: d
    metrics:
      - {id: orders, aggregate: count, table: orders, window: 90d, weight: 40,
         actionable: true, normalise: {method: range, min: 0, max: 10}}
      - {id: nps_answer, aggregate: survey_mean, kind: nps, weight: 30, actionable: true,
         normalise: {method: bins, out_of: 10,
                     bins: [{min: 9, points: 10}, {min: 7, max: 9, points: 7},
                            {max: 7, points: 2}]}}
      - {id: tenure, aggregate: tenure_days, weight: 30,
         normalise: {method: range, min: 0, max: 1000}}
"""


def test_one_metric_golden() -> None:
    """Score 0.4*30 + 0.3*20 + 0.3*50 = 33 (at_risk); ordinary needs 50: a gap of 17.

    orders alone: 17 / 0.4 = 42.5 more points, 30 + 42.5 = 72.5 points = 7.25 orders, so 8
    orders (whole): score 80, +20 points, distance 50. nps alone: an answer of 9 gives 100
    points (+24 total) but moves 80 points on its scale: orders wins on distance.
    """
    model = parse_model(MODEL)
    now = {"orders": MetricNow(3, 30.0), "nps_answer": MetricNow(6, 20.0),
           "tenure": MetricNow(500, 50.0)}
    path = next_tier_path(model, now)
    assert (path.score, path.tier, path.next_tier, path.threshold) == (33.0, "at_risk",
                                                                        "ordinary", 50.0)
    assert [(c.metric, c.raw_from, c.raw_to, c.change) for c in path.changes] == \
        [("orders", 3, 8.0, 5.0)]
    assert path.changes[0].points == pytest.approx(20.0, abs=1e-9)
    assert path.score_after == pytest.approx(53.0, abs=1e-9)
    assert path.distance == pytest.approx(50.0, abs=1e-9)


def test_next_tier_from_ordinary_golden() -> None:
    """With 8 orders: 0.4*80 + 0.3*20 + 0.3*50 = 53 (ordinary); potential needs 70, gap 17.

    orders alone: at best (10 orders, 100 points) adds 0.4*20 = 8: not enough. nps alone: an
    answer of 7 (70 points) adds 0.3*50 = 15: 68, short; 9 (100 points) adds 0.3*80 = 24:
    77. So one metric: the answer 9 instead of 6.
    """
    model = parse_model(MODEL)
    now = {"orders": MetricNow(8, 80.0), "nps_answer": MetricNow(6, 20.0),
           "tenure": MetricNow(500, 50.0)}
    path = next_tier_path(model, now)
    assert (path.tier, path.next_tier) == ("ordinary", "potential")
    assert [(c.metric, c.raw_to) for c in path.changes] == [("nps_answer", 9.0)]
    assert path.changes[0].points == pytest.approx(24.0, abs=1e-9)
    assert path.tier_after == "potential"


def test_two_metrics_golden() -> None:
    """Score 33, core needs 90 from ordinary... at_risk's next is ordinary; make the bound
    hard: tiers core 60 / rest. Gap 27: orders at best adds 28 (alone: 30 + 67.5 = 97.5
    points -> 10 orders, distance 70). nps alone adds at most 24: no. So orders alone.
    With tenure 0 (score 18): gap 42, orders alone 28, nps alone 24: two metrics. Lightest
    (nps, 0.3) giving back first: orders at 100 (+28) leaves 14 for nps: 20 + 46.7 -> the
    bins give 70 (+15): distance 70 + 50 = 120. Orders giving back first: nps at 100 (+24)
    leaves 18: orders 30 + 45 = 75 -> 8 orders (80, +20): distance 50 + 80 = 130. So 10
    orders and an answer of 7: 0.4*100 + 0.3*70 + 0 = 61.
    """
    model = parse_model(MODEL + """
tiers:
  levels:
    - {id: core, min: 60}
    - {id: rest}
""")
    now = {"orders": MetricNow(3, 30.0), "nps_answer": MetricNow(6, 20.0),
           "tenure": MetricNow(0, 0.0)}
    path = next_tier_path(model, now)
    assert path.score == pytest.approx(18.0)
    assert [(c.metric, c.raw_to) for c in path.changes] == [("orders", 10.0),
                                                            ("nps_answer", 7.0)]
    assert path.score_after == pytest.approx(61.0)
    assert path.distance == pytest.approx(120.0)
    assert [round(c.points, 9) for c in path.changes] == [28.0, 15.0]


def test_no_path_when_nothing_is_actionable() -> None:
    model = parse_model(MODEL.replace("actionable: true", "actionable: false"))
    now = {"orders": MetricNow(3, 30.0), "nps_answer": MetricNow(6, 20.0),
           "tenure": MetricNow(500, 50.0)}
    path = next_tier_path(model, now)
    assert not path.found and "actionable" in (path.reason or "")


def test_percentile_uses_the_population() -> None:
    """Peers 1..9, the customer 2: percent rank = 1 below / 9 = 11.1; passing 5 peers (1..5)
    needs more than 5, i.e. 6 (whole): 5/9 = 55.6 points."""
    model = parse_model("""
name: p
dimensions:
  - id: d
    metrics:
      - {id: logins, aggregate: count, table: interactions, weight: 100, actionable: true,
         normalise: {method: percentile}}
tiers:
  levels:
    - {id: top, min: 50}
    - {id: rest}
""")
    peers = peers_of([1, 2, 2, 3, 4, 5, 6, 7, 8, 9], 2)
    assert peers == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    now = {"logins": MetricNow(2, 100 * 1 / 9)}
    path = next_tier_path(model, now, {"logins": peers})
    assert [(c.raw_to, round(c.score_to, 6)) for c in path.changes] == \
        [(6.0, round(500 / 9, 6))]


# --------------------------------------------------------------------------------------------
# property: applying the suggestion reaches the next tier; no smaller change does

LINEAR = ("range", "points", "bins", "identity", "log_range")


@st.composite
def normalisers(draw: Any) -> dict[str, Any]:
    method = draw(st.sampled_from(LINEAR))
    if method == "range":
        low = draw(st.integers(-50, 50))
        return {"method": "range", "min": low, "max": low + draw(st.integers(1, 200)),
                "direction": draw(st.sampled_from(["higher", "lower"]))}
    if method == "log_range":
        return {"method": "log_range", "min": 0, "max": draw(st.integers(10, 10000))}
    if method == "points":
        return {"method": "points", "per": draw(st.sampled_from([1, 5, 100])),
                "points": draw(st.sampled_from([1, 2, 10])),
                "cap": draw(st.sampled_from([50, 100])),
                "out_of": draw(st.sampled_from([None, 100, 50]))}
    if method == "bins":
        cuts = sorted(draw(st.sets(st.integers(0, 60), min_size=1, max_size=3)))
        edges = [None, *cuts, None]
        bins = [{"min": lo, "max": hi, "points": draw(st.integers(0, 10))}
                for lo, hi in zip(edges, edges[1:], strict=False)]
        for b in bins:
            for k in ("min", "max"):
                if b[k] is None:
                    del b[k]
        return {"method": "bins", "out_of": 10, "bins": bins}
    return {"method": "identity"}


AGGREGATES = [("count", {"table": "orders"}), ("sum", {"table": "orders", "column": "amount"}),
              ("recency_days", {"table": "orders"})]


@st.composite
def models(draw: Any) -> CRIModel:
    n = draw(st.integers(2, 4))
    metrics = []
    for i in range(n):
        agg, keys = draw(st.sampled_from(AGGREGATES))
        metrics.append({"id": f"m{i}", "aggregate": agg, **keys,
                        "weight": draw(st.integers(1, 50)),
                        "normalise": draw(normalisers()),
                        "actionable": draw(st.booleans()),
                        "missing": draw(st.sampled_from(["zero", "neutral", "reweight"]))})
    return CRIModel.model_validate({"name": "random", "dimensions": [{"id": "d",
                                                                      "metrics": metrics}]})


def _customer(draw: Any, model: CRIModel) -> dict[str, MetricNow]:
    now = {}
    for _, m in model.metrics:
        if draw(st.integers(0, 5)) == 0:
            now[m.id] = MetricNow(None, None, True)
            continue
        dom = raw_domain(m)
        raw: float = float(draw(st.integers(0, 120)))
        if not dom.whole and draw(st.booleans()):
            raw += draw(st.sampled_from([0.25, 0.5, 0.75]))
        now[m.id] = MetricNow(raw, m.normalise.value_score(raw))
    return now


def _rescore(model: CRIModel, now: dict[str, MetricNow], moves: dict[str, Any]) -> float | None:
    scores = {}
    for _, m in model.metrics:
        if m.id in moves:
            scores[m.id] = m.normalise.value_score(moves[m.id])
        else:
            got = now[m.id]
            scores[m.id] = None if got.missing else got.score
    return combine(model, scores).score


def _nearer(raw_from: float, raw_to: float, dom: RawDomain, span: float) -> float:
    """A value one unit nearer the customer's than the suggestion."""
    step = 1.0 if dom.whole else max(1e-6 * span, 1e-9 * abs(raw_to))
    return raw_to - step if raw_to > raw_from else raw_to + step


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_path_reaches_the_next_tier_and_is_tight(data: Any) -> None:
    model = data.draw(models())
    now = _customer(data.draw, model)
    path = next_tier_path(model, now)
    assume(path.next_tier is not None)
    order = model.tiers.order
    background = {m.id for _, m in model.metrics if not m.actionable}
    assert not background & {c.metric for c in path.changes}
    if not path.found:
        return
    moves = {c.metric: c.raw_to for c in path.changes}
    after = _rescore(model, now, moves)
    assert after is not None and path.score_after == pytest.approx(after, abs=1e-9)
    assert order.index(model.tiers.tier_of(after)) <= order.index(path.next_tier)
    assert sum(c.points for c in path.changes) == pytest.approx(after - path.score, abs=1e-9)
    for c in path.changes:  # every change within the metric's domain
        m = model.metric(c.metric)
        assert raw_domain(m).holds(c.raw_to)
    for c in path.changes:  # no smaller change of one metric, the others kept, reaches
        if c.raw_from is None:
            continue
        m = model.metric(c.metric)
        dom = raw_domain(m)
        span = 100.0
        closer = _nearer(c.raw_from, c.raw_to, dom, span)
        if (closer - c.raw_from) * (c.raw_to - c.raw_from) < 0 or not dom.holds(closer):
            continue  # the suggestion was one unit away
        fewer = _rescore(model, now, {**moves, c.metric: closer})
        assert fewer is not None
        assert order.index(model.tiers.tier_of(fewer)) > order.index(path.next_tier), \
            f"{c.metric}: {closer} instead of {c.raw_to} also reaches {path.next_tier}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_one_metric_paths_are_the_least_change(data: Any) -> None:
    """When one metric suffices, no single metric reaches with a smaller distance.

    Every actionable whole-number metric is tried alone at every value from 0 to 200 (a grid
    that holds each whole-number optimum). A metric's change is the value nearest the
    customer's that reaches (bins need not rise with the value: nearest in raw units first,
    then the smaller score change); measured so, none moves its score less than the path.
    """
    model = data.draw(models())
    now = _customer(data.draw, model)
    path = next_tier_path(model, now)
    assume(path.found and len(path.changes) == 1)
    order = model.tiers.order
    for _, m in model.metrics:
        if not m.actionable or now[m.id].missing:
            continue
        base = now[m.id].score or 0.0
        reaching = []
        for v in range(0, 201):
            if not raw_domain(m).holds(float(v)) or not raw_domain(m).whole:
                continue
            got = _rescore(model, now, {m.id: float(v)})
            if got is None or order.index(model.tiers.tier_of(got)) > \
                    order.index(path.next_tier):
                continue
            moved = abs((m.normalise.value_score(float(v)) or 0.0) - base)
            reaching.append((abs(v - now[m.id].raw), moved, v))
        if reaching:
            _, moved, v = min(reaching)
            assert moved >= (path.distance or 0.0) - 1e-9, (m.id, v, moved, path.distance)


# --------------------------------------------------------------------------------------------
# why it changed

def _state(model: CRIModel, raws: dict[str, Any], run: str, model_hash: str,
           adjustments: list[float]) -> SnapshotState:
    scores = {m.id: m.normalise.value_score(raws.get(m.id)) for _, m in model.metrics}
    got = combine(model, scores)
    metrics = {}
    for _, m in model.metrics:
        s = scores[m.id]
        if s is None and m.missing.policy != "reweight":  # the policy's score, as the engine
            s = m.missing.score if m.missing.policy == "neutral" else 0.0
        metrics[m.id] = MetricState(raws.get(m.id), s, got.weights[m.id],
                                    got.contributions[m.id])
    log = [Adjustment(i + 1, "add", "c", None, p, None, "why", "me", None, None, None, None)
           for i, p in enumerate(adjustments)]  # type: ignore[arg-type]
    adj = apply(got.score, None, log, model_info(model)["tiers"])
    return SnapshotState(run, run, got.score, None, model_hash, metrics, adj.adjusted_score)


@st.composite
def model_pairs(draw: Any) -> tuple[CRIModel, CRIModel, bool]:
    a = draw(models())
    if not draw(st.booleans()):
        return a, a, False
    doc = a.model_dump(mode="json", exclude_none=True)
    metrics = doc["dimensions"][0]["metrics"]
    for m in metrics:
        if draw(st.booleans()):
            m["weight"] = draw(st.integers(1, 50))
        if m["normalise"]["method"] == "range" and draw(st.booleans()):
            m["normalise"]["max"] = m["normalise"]["min"] + draw(st.integers(1, 300))
    if len(metrics) > 2 and draw(st.booleans()):
        metrics.pop(draw(st.integers(0, len(metrics) - 1)))
    if draw(st.booleans()):
        metrics.append({"id": "added", "aggregate": "count", "table": "orders", "weight": 20,
                        "normalise": {"method": "range", "min": 0, "max": 10}})
    return a, CRIModel.model_validate(doc), True


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_why_changed_parts_sum_to_the_change(data: Any) -> None:
    model_a, model_b, changed = data.draw(model_pairs())
    raws = st.one_of(st.none(), st.integers(0, 150).map(float),
                     st.floats(0, 150, allow_nan=False))
    raw_a = {m.id: data.draw(raws) for _, m in model_a.metrics}
    same_data = data.draw(st.booleans())
    raw_b = {m.id: raw_a.get(m.id) if same_data and m.id in raw_a else data.draw(raws)
             for _, m in model_b.metrics}
    adj = st.lists(st.floats(-30, 30, allow_nan=False), max_size=3)
    adj_a, adj_b = data.draw(adj), data.draw(adj)
    before = _state(model_a, raw_a, "a", "h1", adj_a)
    after = _state(model_b, raw_b, "b", "h2" if changed else "h1", adj_b)
    why = why_changed(before, after)
    assume(why.change is not None)
    assert math.fsum(p.points for p in why.parts) == pytest.approx(why.change, abs=1e-9)
    assert math.fsum(why.totals.values()) == pytest.approx(why.change, abs=1e-9)
    if not changed:
        assert why.totals["model"] == 0.0
    if not adj_a and not adj_b:
        assert why.totals["adjustment"] == pytest.approx(0.0, abs=1e-12)
    if same_data and not changed:  # nothing moved but the adjustments
        assert why.totals["data"] == pytest.approx(0.0, abs=1e-9)
    if same_data and changed and set(raw_b) <= set(raw_a):  # only the model moved
        assert why.totals["data"] == pytest.approx(0.0, abs=1e-9)


def test_why_changed_golden() -> None:
    """orders 3 -> 5 (30 -> 50 points at weight 40: +8 data), tenure weight 30 -> 20 and a new
    metric... kept small: model A {orders 40, nps 30, tenure 30}, B the same with the NPS
    bins unchanged; nps 6 -> 9 (20 -> 100 points: 0.3 * 80 = +24 data); +5 adjustment.

    Before: 12 + 6 + 15 = 33; after 20 + 30 + 15 = 65, adjusted 70: change 37 = 8 + 24 + 5.
    """
    model = parse_model(MODEL)
    before = _state(model, {"orders": 3.0, "nps_answer": 6.0, "tenure": 500.0}, "a", "h", [])
    after = _state(model, {"orders": 5.0, "nps_answer": 9.0, "tenure": 500.0}, "b", "h", [5.0])
    why = why_changed(before, after)
    assert why.change == pytest.approx(37.0)
    got = {(p.kind, p.metric): p.points for p in why.parts}
    assert got == pytest.approx({("data", "orders"): 8.0, ("data", "nps_answer"): 24.0,
                                 ("adjustment", None): 5.0})
    assert why.summary() == "data +32.00 (nps_answer +24.00, orders +8.00), adjustments +5.00"
