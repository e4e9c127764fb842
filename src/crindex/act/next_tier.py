"""The path to the next tier: the smallest changes of actionable metrics that lift a score.

For one customer, which changes of the metrics the model marks ``actionable: true`` bring the
score to the threshold of the tier above theirs, each change in the metric's own unit ("5
orders in 90d instead of 3") with the points it adds. Background metrics never move.

**Smallest** means, in this order:

1. the fewest metrics changed;
2. then the least distance: the sum, over the changed metrics, of how far each moves on its
   own 0..100 score scale (``|score after - score before|``; a metric with no value counts
   from 0). For a linear normaliser this is the change in raw units over the normaliser's
   span, so metrics of different units compare;
3. then the metrics in model order.

Each change is the raw value nearest the customer's whose score is enough (the normaliser's
``reach``: bounds, caps, bins, whole numbers and the aggregate's range respected, see
:class:`crindex.model.spec.RawDomain`), and no change can be made smaller with the others kept
(the suggestion is tight, metric by metric). The new score is computed by the model's own
arithmetic (:func:`crindex.model.arithmetic.combine`): weights, missing-value policies and
re-weighting included.

Exact for the normalisers that are piecewise linear in the raw value (``range``, ``bins``,
``points``, ``identity``, ``map``) and ``log_range``; ``percentile`` and ``zscore`` compare
with the current population, the other customers' values held where they are. The least
distance is exact for one metric, and for several on continuous scores (the remainder goes to
the lightest metric, the others at their best); with several step-wise metrics (``bins``) the
search tries each metric as the one that gives back first, which need not be the least of
every combination of their steps.

Tiers by score use the model's thresholds; tiers by rank use the lowest score now in the tier
above (the others' scores held where they are).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from crindex.model.arithmetic import combine
from crindex.model.registry import raw_domain
from crindex.model.spec import CRIModel, MetricSpec

#: metrics searched together at most (2^n subsets): a path needing more is not offered
MAX_ACTIONABLE = 12


@dataclass(frozen=True)
class MetricNow:
    """One metric of one customer as scored: raw value and normalised score.

    ``score`` is the normaliser's score, ``None`` when the metric has no value (``missing``;
    its policy then decides, as in :func:`crindex.model.arithmetic.combine`).
    """

    raw: Any
    score: float | None
    missing: bool = False


@dataclass(frozen=True)
class Change:
    """One suggested change: a metric's raw value from ``raw_from`` to ``raw_to``."""

    metric: str
    label: str
    raw_from: Any
    raw_to: Any
    #: ``raw_to - raw_from`` for numbers (``None`` for a category or from no value)
    change: float | None
    score_from: float | None
    score_to: float
    #: what the change adds to the total score, in the order the changes are listed
    points: float
    window: str | None = None

    def text(self) -> str:
        """``orders (90d) 3 -> 8 (+5): +20.00 points``, in the metric's own unit."""
        where = f" ({self.window})" if self.window else ""
        delta = "" if self.change is None else \
            f" ({'+' if self.change >= 0 else '-'}{_num(abs(self.change))})"
        start = "no value" if self.raw_from is None else _num(self.raw_from)
        return f"{self.label}{where} {start} -> {_num(self.raw_to)}{delta}: " \
               f"{self.points:+.2f} points"


@dataclass(frozen=True)
class NextTierPath:
    """The path of one customer to the tier above (``changes`` empty with ``reason`` if none)."""

    score: float | None
    tier: str | None
    next_tier: str | None
    #: ``>=`` or ``>`` and the score the next tier asks for
    op: str | None = None
    threshold: float | None = None
    gap: float | None = None
    changes: list[Change] = field(default_factory=list)
    score_after: float | None = None
    tier_after: str | None = None
    distance: float | None = None
    reason: str | None = None

    @property
    def found(self) -> bool:
        return bool(self.changes)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["found"] = self.found
        for change, done in zip(self.changes, out["changes"], strict=True):
            done["text"] = change.text()
        out["text"] = self.text()
        return out

    def text(self) -> str:
        """One line: ``next tier ordinary (score >= 50; now 33.00, 17.00 to go)``."""
        if self.next_tier is None or self.threshold is None:
            return f"next tier: {self.reason}"
        head = f"next tier {self.next_tier} (score {self.op} {_num(self.threshold)}; now " \
               f"{_num(self.score)}, {_num(self.gap)} to go)"
        if not self.changes:
            return f"{head}: {self.reason}"
        return f"{head}: " + "; ".join(c.text() for c in self.changes)


def next_tier_path(model: CRIModel, now: Mapping[str, MetricNow],
                   peers: Mapping[str, Sequence[float]] | None = None,
                   tier_floors: Mapping[str, float] | None = None) -> NextTierPath:
    """The smallest changes of actionable metrics that lift the customer one tier.

    Parameters
    ----------
    model
        The model that scored the customer.
    now
        Every metric of the customer, by id.
    peers
        For normalisers that look across customers (``percentile``, ``zscore``): the other
        customers' raw values of the metric, sorted.
    tier_floors
        For tiers by rank: the lowest score now in each tier (by tier id).
    """
    peers = peers or {}
    base = {m.id: _score_or_none(now.get(m.id)) for _, m in model.metrics}
    score = combine(model, base).score
    tier = _tier(model, score, tier_floors)
    if score is None or tier is None:
        return NextTierPath(score, tier, None, reason="the customer has no score")
    order = model.tiers.order
    at = order.index(tier)
    if at == 0:
        return NextTierPath(score, tier, None, reason="already in the top tier")
    target_tier = order[at - 1]
    bound = _bound(model, target_tier, tier_floors)
    if bound is None:
        return NextTierPath(score, tier, target_tier,
                            reason=f"no score bound is known for tier `{target_tier}`")
    op, threshold = bound
    head = NextTierPath(score, tier, target_tier, op, threshold, threshold - score)
    movable = [m for _, m in model.metrics if m.actionable]
    if not movable:
        return _with(head, reason="the model marks no metric `actionable: true`")
    if len(movable) > MAX_ACTIONABLE:
        movable = sorted(movable, key=lambda m: -_weight(model, m))[:MAX_ACTIONABLE]
    search = _Search(model, now, peers, base, op, threshold)
    options = {m.id: search.top(m) for m in movable}
    movable = [m for m in movable if options[m.id] is not None]
    for k in range(1, len(movable) + 1):
        found = [plan for subset in itertools.combinations(movable, k)
                 if (plan := search.plan(list(subset), options)) is not None]
        if found:
            best = min(found, key=lambda p: (p[0], [movable.index(m) for m in p[1]]))
            return search.result(head, best[1], best[2])
    return _with(head, reason="no change of the actionable metrics within their bounds "
                 f"reaches {op} {threshold:g}")


def _with(path: NextTierPath, **changes: Any) -> NextTierPath:
    return NextTierPath(**(asdict(path) | changes))  # type: ignore[arg-type]


def _score_or_none(m: MetricNow | None) -> float | None:
    if m is None or m.missing or m.score is None:
        return None
    return float(m.score)


def _weight(model: CRIModel, metric: MetricSpec) -> float:
    for d, m in model.metrics:
        if m.id == metric.id:
            return model.effective_weight(d, m)
    return 0.0  # pragma: no cover - every metric is in its model


def _tier(model: CRIModel, score: float | None,
          floors: Mapping[str, float] | None) -> str | None:
    if score is None:
        return None
    if model.tiers.by == "score":
        return model.tiers.tier_of(score)
    for tier in model.tiers.order:  # rank tiers: the best tier whose lowest score it reaches
        if floors and tier in floors and score >= floors[tier]:
            return tier
    return model.tiers.order[-1]


def _bound(model: CRIModel, tier: str,
           floors: Mapping[str, float] | None) -> tuple[str, float] | None:
    if model.tiers.by == "score":
        for rule in model.tiers.score_rules():
            if rule.tier == tier:
                return rule.op, rule.bound
        return None
    if floors and tier in floors:
        return ">=", float(floors[tier])
    return None


def _holds(op: str, score: float | None, threshold: float) -> bool:
    if score is None:
        return False
    return score > threshold if op == ">" else score >= threshold


class _Search:
    """The moves of one customer's metrics, scored by the model's own arithmetic."""

    def __init__(self, model: CRIModel, now: Mapping[str, MetricNow],
                 peers: Mapping[str, Sequence[float]], base: dict[str, float | None],
                 op: str, threshold: float) -> None:
        self.model, self.now, self.peers, self.base = model, now, peers, base
        self.op, self.threshold = op, threshold

    def raw(self, m: MetricSpec) -> Any:
        got = self.now.get(m.id)
        return None if got is None or got.missing else got.raw

    def reach(self, m: MetricSpec, target: float) -> tuple[Any, float] | None:
        """(raw value, its score) nearest the customer's reaching ``target``."""
        peers = self.peers.get(m.id, ())
        raw = m.normalise.reach(self.raw(m), target, raw_domain(m), peers)
        if raw is None:
            return None
        got = m.normalise.value_score(raw, peers)
        return None if got is None else (raw, float(got))

    def top(self, m: MetricSpec) -> tuple[Any, float] | None:
        """The best score the metric can reach (nearest value), when better than now."""
        now = self.base.get(m.id)
        low = -1e-9 if now is None else now
        best = self.reach(m, 100.0)
        if best is None:  # a cap below 100: the highest target still reached
            high = 100.0
            for _ in range(80):
                mid = (low + high) / 2.0
                if self.reach(m, mid) is None:
                    high = mid
                else:
                    low = mid
            best = self.reach(m, low)
        if best is None or (now is not None and best[1] <= now) or best[0] == self.raw(m):
            return None
        return best

    def total(self, scores: Mapping[str, float | None]) -> float | None:
        return combine(self.model, {**self.base, **scores}).score

    def plan(self, subset: list[MetricSpec], options: Mapping[str, tuple[Any, float] | None],
             ) -> tuple[float, list[MetricSpec], dict[str, tuple[Any, float]]] | None:
        """The least-distance tight moves of ``subset`` reaching the threshold, or None.

        All at their best first (none reaches: no plan); then, taking each metric in turn as
        the first to give back, every metric is lowered to the least that still reaches with
        the others where they are. For linear scores the least distance puts the remainder
        on the lightest metric and the others at their best: one of the orders tried.
        """
        tops = {m.id: options[m.id] for m in subset}
        if any(v is None for v in tops.values()):
            return None
        best_at = {k: v for k, v in tops.items() if v is not None}
        if not _holds(self.op, self.total({k: s for k, (_, s) in best_at.items()}),
                      self.threshold):
            return None
        weights = {m.id: _weight(self.model, m) for m in subset}
        found = None
        for first in subset:
            rest = sorted((m for m in subset if m is not first), key=lambda m: weights[m.id])
            moves = dict(best_at)
            for m in [first, *rest]:
                moves[m.id] = self.lower(m, moves)
            if any(self.raw(m) == moves[m.id][0] for m in subset):
                continue  # a metric not needed: a smaller set was tried before
            dist = sum(abs(s - (self.base.get(k) or 0.0)) for k, (_, s) in moves.items())
            if found is None or dist < found[0] - 1e-12:
                found = (dist, subset, moves)
        return found

    def lower(self, m: MetricSpec, moves: dict[str, tuple[Any, float]]) -> tuple[Any, float]:
        """The least move of ``m`` that still reaches the threshold, the others kept."""
        scores = {k: s for k, (_, s) in moves.items()}
        now = self.base.get(m.id)
        current = moves[m.id]
        total = self.total(scores)
        if total is None:  # pragma: no cover - a plan reaches a score
            return current
        weights = combine(self.model, {**self.base, **scores}).weights
        w = weights.get(m.id, 0.0)
        if w <= 0:  # pragma: no cover - a metric with a value carries weight
            return current
        need = current[1] - (total - self.threshold) * 100.0 / w
        floor = -math.inf if now is None else now
        for slack in (0.0, 1e-12, 1e-10, 1e-9, 1e-7):
            target = max(need + slack * max(1.0, abs(need)), floor)
            got = self.reach(m, target)
            if got is None or got[1] > current[1] + 1e-12:
                continue
            if _holds(self.op, self.total({**scores, m.id: got[1]}), self.threshold):
                return got
        return current

    def result(self, head: NextTierPath, subset: list[MetricSpec],
               moves: dict[str, tuple[Any, float]]) -> NextTierPath:
        """The path: changes by weight (heaviest first), each with the points it adds."""
        ordered = sorted(subset, key=lambda m: -_weight(self.model, m))
        changes, scores = [], {}
        before = head.score or 0.0
        for m in ordered:
            raw_to, s_to = moves[m.id]
            scores[m.id] = s_to
            after = self.total(scores) or 0.0
            raw_from = self.raw(m)
            delta = None
            if isinstance(raw_to, int | float) and isinstance(raw_from, int | float) and \
                    not isinstance(raw_from, bool):
                delta = float(raw_to) - float(raw_from)
            changes.append(Change(m.id, m.display, raw_from, raw_to, delta, self.base.get(m.id),
                                  s_to, after - before, m.window))
            before = after
        final = self.total(scores)
        dist = sum(abs(s - (self.base.get(k) or 0.0)) for k, (_, s) in moves.items())
        return _with(head, changes=changes, score_after=final,
                     tier_after=self.model.tiers.tier_of(final) if self.model.tiers.by ==
                     "score" else head.next_tier, distance=dist)


def _num(value: Any) -> str:
    """A raw value or score as a person reads it: ``8``, ``4999.5``, ``premium``."""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if not value.is_integer() else \
            f"{value:.0f}"
    return str(value)


def peers_of(values: Sequence[Any], own: Any) -> list[float]:
    """The sorted values of the other customers: ``values`` without one ``own`` value."""
    nums = sorted(float(v) for v in values if isinstance(v, int | float)
                  and not isinstance(v, bool) and not math.isnan(float(v)))
    if isinstance(own, int | float) and not isinstance(own, bool) and not math.isnan(own):
        import bisect

        at = bisect.bisect_left(nums, float(own))
        if at < len(nums) and nums[at] == float(own):
            nums.pop(at)
    return nums
