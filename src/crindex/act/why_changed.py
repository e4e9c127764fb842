"""Why a score changed: the change between two snapshots of a customer, split exactly.

The observed change is the adjusted score of the later snapshot minus the earlier one's (what
``crindex history`` shows). It is split into parts that sum to it exactly, from what the
store kept of each snapshot (per metric: raw value, score, weight, contribution; the score;
the adjustments in force), never recomputed. With ``w`` a metric's weight (% of the total,
after re-weighting), ``e`` its score as it entered the total (0 where it had none) and ``c``
its stored contribution, ``a`` the earlier and ``b`` the later snapshot:

- **value** of metric m: ``w_a * (e_b - e_a) / 100`` (the new score at the old weight). A
  *data* part; a *model* part (``bounds``) when the model changed and the metric's raw value
  did not (only the normaliser can have moved its score);
- **weight** of metric m: ``(c_b - c_a) - value`` (``= (w_b - w_a) * e_b / 100``). A *model*
  part when the model changed (weights, metrics elsewhere added or removed); otherwise a
  *data* part (``re-weighting``: a metric without a value gave its weight to the others);
- a metric only in the later model: ``+c_b``, *model* (``added``); only in the earlier:
  ``-c_a``, *model* (``removed``);
- **adjustments**: ``(adjusted_b - score_b) - (adjusted_a - score_a)``;
- **rest**: ``(score_b - sum c_b) - (score_a - sum c_a)``, the total's clip to 0..100 and
  rounding (zero unless a total was clipped).

Every metric's two parts sum to ``c_b - c_a``, so the parts sum to the observed change by
construction. A model change and a change of the same metric's value in one step are one
*data* part (the value moved under the new bounds: the store keeps no score of the new value
under the old model); weight shifts in a step where the model changed are all *model* parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["data", "model", "adjustment", "rest"]
#: below this a part is left out of the list (its points still count in the totals)
NEGLIGIBLE = 1e-12
#: the rest below this is float rounding, left out of the list (it stays in the totals)
ROUNDING = 1e-10


@dataclass(frozen=True)
class MetricState:
    """One metric of one snapshot as the store keeps it (table ``metric_scores``)."""

    raw: Any
    score: float | None
    weight: float
    contribution: float
    label: str | None = None


@dataclass(frozen=True)
class SnapshotState:
    """One customer in one snapshot: scores, the model's hash and the metrics."""

    run_id: str
    as_of: Any
    score: float | None
    tier: str | None
    model_hash: str
    metrics: Mapping[str, MetricState]
    #: the score and tier once the adjustments in force are applied (the computed ones if none)
    adjusted_score: float | None = None
    adjusted_tier: str | None = None

    @property
    def shown_score(self) -> float | None:
        return self.score if self.adjusted_score is None else self.adjusted_score

    def head(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "as_of": _text(self.as_of), "score": self.score,
                "tier": self.tier, "adjusted_score": self.shown_score,
                "adjusted_tier": self.adjusted_tier or self.tier}


@dataclass(frozen=True)
class Part:
    """One part of a change: its kind, what moved and the points it accounts for."""

    kind: Kind
    what: str
    points: float
    metric: str | None = None
    label: str | None = None
    raw_from: Any = None
    raw_to: Any = None


@dataclass
class WhyChanged:
    """The change between two snapshots and its parts (``parts`` sum to ``change``)."""

    before: dict[str, Any]
    after: dict[str, Any]
    change: float | None
    model_changed: bool
    parts: list[Part] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["parts"] = [asdict(p) for p in self.parts]
        return out

    def summary(self, top: int = 3) -> str:
        """``data +2.10 (nps +2.50, orders -0.40), model -1.00, adjustments +5.00``."""
        if self.change is None:
            return self.reason or ""
        bits = []
        for kind, name in (("data", "data"), ("model", "model"), ("adjustment", "adjustments"),
                           ("rest", "rest")):
            total = self.totals.get(kind, 0.0)
            if abs(total) < 0.005 and not any(p.kind == kind and abs(p.points) >= 0.005
                                              for p in self.parts):
                continue
            by_metric: dict[str, float] = {}
            for p in self.parts:
                if p.kind == kind and p.metric is not None:
                    by_metric[p.metric] = by_metric.get(p.metric, 0.0) + p.points
            shown = sorted(((k, v) for k, v in by_metric.items() if abs(v) >= 0.005),
                           key=lambda kv: -abs(kv[1]))[:top]
            inner = f" ({', '.join(f'{k} {v:+.2f}' for k, v in shown)})" if shown else ""
            bits.append(f"{name} {total:+.2f}{inner}")
        return ", ".join(bits) or "no change"


def _text(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _entered(m: MetricState) -> float:
    """The score as it entered the total: 0 where the metric had none."""
    return 0.0 if m.score is None or (isinstance(m.score, float) and math.isnan(m.score)) \
        else float(m.score)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def why_changed(before: SnapshotState, after: SnapshotState) -> WhyChanged:
    """Split ``after.shown_score - before.shown_score`` into data, model and adjustment parts.

    See the module's docstring for the rule; the parts sum to the change (float rounding
    aside: within 1e-9).
    """
    model_changed = before.model_hash != after.model_hash
    out = WhyChanged(before.head(), after.head(), None, model_changed)
    if before.score is None or after.score is None:
        unscored = before if before.score is None else after
        out.reason = "no score in " + ("either snapshot" if before.score is None and
                                       after.score is None else
                                       f"the snapshot of {_text(unscored.as_of)}")
        return out
    a_shown, b_shown = before.shown_score, after.shown_score
    assert a_shown is not None and b_shown is not None
    out.change = b_shown - a_shown
    parts: list[Part] = []
    for metric in [*before.metrics, *(k for k in after.metrics if k not in before.metrics)]:
        a, b = before.metrics.get(metric), after.metrics.get(metric)
        label = (b or a).label if (b or a) is not None else None  # type: ignore[union-attr]
        if a is None:
            assert b is not None
            parts.append(Part("model", "added", b.contribution, metric, label, None, b.raw))
            continue
        if b is None:
            parts.append(Part("model", "removed", -a.contribution, metric, label, a.raw, None))
            continue
        value = a.weight * (_entered(b) - _entered(a)) / 100.0
        weight = (b.contribution - a.contribution) - value
        bounds = model_changed and _same(a.raw, b.raw)
        parts.append(Part("model" if bounds else "data", "bounds" if bounds else "value",
                          value, metric, label, a.raw, b.raw))
        parts.append(Part("model" if model_changed else "data",
                          "weight" if model_changed else "re-weighting", weight, metric, label,
                          a.raw, b.raw))
    adjusted = (b_shown - after.score) - (a_shown - before.score)
    parts.append(Part("adjustment", "adjustments", adjusted))
    rest = (after.score - math.fsum(m.contribution for m in after.metrics.values())) - \
        (before.score - math.fsum(m.contribution for m in before.metrics.values()))
    parts.append(Part("rest", "clip and rounding", rest))
    out.totals = {kind: math.fsum(p.points for p in parts if p.kind == kind)
                  for kind in ("data", "model", "adjustment", "rest")}
    out.parts = [p for p in parts if abs(p.points) >= (ROUNDING if p.kind == "rest"
                                                      else NEGLIGIBLE)]
    return out
