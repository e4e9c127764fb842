"""Findings on a model that need no outcome: tiers that do not separate, metrics at one end.

One home for the findings both ``crindex backtest`` (beside those that need churn) and
``crindex score`` (its printed summary and ``summary.json``) report, with their thresholds:

- ``tier_crowded`` (warn): a tier holds more than :data:`CROWDED_TIER_SHARE` of the scored
  customers;
- ``tier_empty`` (fail): a tier has no customers;
- ``metric_points_low`` / ``metric_points_high`` (warn): a metric averages fewer than
  :data:`LOW_POINTS` or more than :data:`HIGH_POINTS` points over the customers it has data for.

A finding is a dict ``{level, code, as_of, message, params}`` (the form of ``backtest.json``'s
``checks``); docs/backtest.md lists every finding with its threshold and the fix it suggests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from crindex.model.spec import CRIModel

#: a tier holding more than this share of the customers does not separate them.
CROWDED_TIER_SHARE = 0.5
#: a metric averaging fewer points than this (or more than ``HIGH_POINTS``) has bounds that
#: do not fit the data: most customers sit at one end of its scale.
LOW_POINTS = 15.0
HIGH_POINTS = 85.0


def finding(level: str, code: str, as_of: str | None, message: str,
            **params: Any) -> dict[str, Any]:
    """One finding as ``backtest.json`` and ``summary.json`` keep it."""
    return {"level": level, "code": code, "as_of": as_of, "message": message, "params": params}


def tier_empty(tier: str, as_of: str | None,
               details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Tier ``tier`` has no customers (``details``: the caller's own params, kept)."""
    return finding("fail", "tier_empty", as_of, f"tier `{tier}` has no customers: churn "
                   "cannot be seen to fall through it (thresholds that fit the scores: "
                   "`crindex model calibrate`)", **{**(details or {}), "tier": tier})


def tier_crowded(tier: str, share: float, as_of: str | None) -> dict[str, Any] | None:
    """The ``tier_crowded`` finding of a tier holding ``share`` of the customers, if it is."""
    if share <= CROWDED_TIER_SHARE:
        return None
    return finding("warn", "tier_crowded", as_of,
                   f"tier `{tier}` holds {share:.1%} of the customers (more than "
                   f"{CROWDED_TIER_SHARE:.0%}): the tiers do not separate them (move the "
                   "thresholds, e.g. with `crindex model calibrate`)", tier=tier, share=share,
                   threshold=CROWDED_TIER_SHARE)


def metric_points(metric: str, points: float | None, as_of: str | None
                  ) -> dict[str, Any] | None:
    """The ``metric_points_low`` / ``_high`` finding of a metric averaging ``points``, if any."""
    if points is None or LOW_POINTS <= points <= HIGH_POINTS:
        return None
    side = "low" if points < LOW_POINTS else "high"
    return finding("warn", f"metric_points_{side}", as_of,
                   f"metric `{metric}` averages {points:.1f} points (outside {LOW_POINTS:g}-"
                   f"{HIGH_POINTS:g}): most customers sit at one end of its scale; fit its "
                   "bounds to the data (e.g. `crindex model calibrate`)", metric=metric,
                   points=points, low=LOW_POINTS, high=HIGH_POINTS)


def mean_points(model: CRIModel, table: pa.Table) -> dict[str, float | None]:
    """Each metric's mean score (0-100) over the customers it has data for (not missing).

    ``table``: a scoring run's table (``<metric>__score`` and ``<metric>__missing`` columns).
    The backtest's ``mean_points`` is this mean over the customers active on its ``as_of``.
    """
    import pyarrow.compute as pc

    out: dict[str, float | None] = {}
    for _, m in model.metrics:
        has = pc.invert(pc.fill_null(table.column(f"{m.id}__missing"), True))
        values = pc.filter(table.column(f"{m.id}__score"), has).cast(pa.float64())
        values = pc.filter(values, pc.is_finite(values))
        out[m.id] = pc.mean(values).as_py() if len(values) else None
    return out


def score_findings(tier_counts: Mapping[str, int], mean_points: Mapping[str, float | None],
                   as_of: str | None = None) -> list[dict[str, Any]]:
    """The findings of one scoring run, from its customers per tier and mean points per metric.

    ``tier_counts``: the model's tiers in order (an ``unscored`` key, if any, is left out of the
    shares); ``mean_points``: each metric's mean score over the customers it has data for.
    """
    counts = {t: n for t, n in tier_counts.items() if t != "unscored"}
    total = sum(counts.values())
    found: list[dict[str, Any]] = []
    if total:
        found += [tier_empty(t, as_of) for t, n in counts.items() if n == 0]
        found += [f for t, n in counts.items() if (f := tier_crowded(t, n / total, as_of))]
    found += [f for m, p in mean_points.items() if (f := metric_points(m, p, as_of))]
    return found
