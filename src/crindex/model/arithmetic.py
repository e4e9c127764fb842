"""The arithmetic of one score, in plain Python: policies, weights, re-weighting, tiers.

The engine computes the same thing for every customer at once in SQL; this module is the
readable definition, used for what-if questions ("what would 5 more points of NPS give?"),
manual adjustments and to check the engine in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crindex.model.spec import CRIModel


@dataclass(frozen=True)
class Combined:
    """A total score with its parts: dimension scores, final weights, contributions."""

    score: float | None
    dimensions: dict[str, float | None]
    weights: dict[str, float]
    contributions: dict[str, float]
    coverage: float


def combine(model: CRIModel, scores: Mapping[str, float | None]) -> Combined:
    """Combine normalised metric scores (0..100, ``None`` = missing) into the total.

    Missing values follow each metric's policy: ``neutral`` scores its fixed value, ``zero``
    scores 0, ``reweight`` drops the metric and scales the others up within its dimension (and
    a dimension with nothing left drops out of the total the same way).
    """
    effective: dict[str, float | None] = {}
    coverage = 0.0
    for d, m in model.metrics:
        value = scores.get(m.id)
        if value is not None:
            coverage += model.effective_weight(d, m)
            effective[m.id] = float(value)
        elif m.missing.policy == "neutral":
            effective[m.id] = m.missing.score
        elif m.missing.policy == "zero":
            effective[m.id] = 0.0
        else:
            effective[m.id] = None
    dims: dict[str, float | None] = {}
    dim_present: dict[str, float] = {}
    for d in model.dimensions:
        present = [(m.weight, effective[m.id]) for m in d.metrics if effective[m.id] is not None]
        wsum = sum(w for w, _ in present)
        dim_present[d.id] = wsum
        dims[d.id] = sum(w * s for w, s in present if s is not None) / wsum if wsum > 0 else None
    weights: dict[str, float] = {}
    if model.flat_weights:
        total_w = sum(m.weight for _, m in model.metrics if effective[m.id] is not None)
        for _, m in model.metrics:
            has_value = effective[m.id] is not None and total_w > 0
            weights[m.id] = m.weight / total_w * 100.0 if has_value else 0.0
    else:
        total_w = sum(d.weight or 0.0 for d in model.dimensions if dim_present[d.id] > 0)
        for d in model.dimensions:
            for m in d.metrics:
                ok = effective[m.id] is not None and total_w > 0 and dim_present[d.id] > 0
                weights[m.id] = ((d.weight or 0.0) / total_w * m.weight / dim_present[d.id]
                                 * 100.0) if ok else 0.0
    contributions = {k: weights[k] * (effective[k] or 0.0) / 100.0 for k in weights}
    any_weight = sum(weights.values()) > 0
    total = min(100.0, max(0.0, sum(contributions.values()))) if any_weight else None
    return Combined(total, dims, weights, contributions, coverage)


def tier_of(model: CRIModel, score: float | None) -> str | None:
    """The tier of a score under score thresholds: :meth:`TiersSpec.tier_of`.

    Rank tiers need the whole population and raise ``ValueError``.
    """
    return model.tiers.tier_of(score)
