"""Validation rules of the model's account hierarchy and k-means clusters.

``hierarchy:`` (:class:`crindex.model.spec.HierarchySpec`) weighs children by a metric of the
model and counts healthy tiers the parents or customers can have; parents need score tiers
(a rank tier depends on every customer, a parent is rolled up one at a time).
``clusters:`` (:class:`crindex.model.spec.ClusterSpec`) clusters numeric metrics of the model.
"""

from __future__ import annotations

from collections.abc import Iterable

from crindex.errors import Problem, Reason
from crindex.model.registry import AGGREGATES, register_rule
from crindex.model.rules import Checking


@register_rule("hierarchy names a metric and tiers it has")
def _hierarchy(c: Checking) -> Iterable[Problem]:
    h = c.model.hierarchy
    if h is None:
        return
    by_id = {m.id: m for _, m in c.model.metrics}
    if h.weight is not None and h.weight not in by_id:
        yield Problem(f"hierarchy: `weight: {h.weight}` is no metric of the model",
                      c.line(h, "weight"), "weigh children by a metric's raw value (revenue, "
                      "contract value); metrics: " + ", ".join(by_id), Reason.HIERARCHY)
    elif h.weight is not None and not AGGREGATES[by_id[h.weight].aggregate].numeric:
        yield Problem(f"hierarchy: `weight: {h.weight}` is not a number "
                      f"({by_id[h.weight].aggregate})", c.line(h, "weight"),
                      "weigh children by a numeric metric (a sum of amounts, a contract's mrr)",
                      Reason.HIERARCHY)
    tiers = h.tiers or c.model.tiers
    if tiers.by != "score":
        yield Problem("parent accounts need score tiers: a rank tier depends on every "
                      "customer's score", c.line(h, "tiers") if h.tiers else c.line(h),
                      "give the hierarchy its own `tiers:` with `by: score` (min/above bounds)",
                      Reason.BAD_TIERS)
    known = set(c.model.tiers.order) | set(tiers.order)
    for i, tier in enumerate(h.healthy):
        if tier not in known:
            yield Problem(f"hierarchy: healthy tier `{tier}` is no tier of the model or of "
                          "the hierarchy", c.line(h, "healthy", i),
                          "tiers: " + ", ".join(sorted(known)), Reason.BAD_TIERS)


@register_rule("clusters read numeric metrics")
def _clusters(c: Checking) -> Iterable[Problem]:
    k = c.model.clusters
    if k is None:
        return
    by_id = {m.id: m for _, m in c.model.metrics}
    for i, metric_id in enumerate(k.on):
        m = by_id.get(metric_id)
        if m is None:
            yield Problem(f"clusters: `{metric_id}` is no metric of the model",
                          c.line(k, "on", i), "metrics: " + ", ".join(by_id),
                          Reason.UNKNOWN_COLUMN)
        elif not AGGREGATES[m.aggregate].numeric:
            yield Problem(f"clusters: metric `{metric_id}` is not a number ({m.aggregate})",
                          c.line(k, "on", i), "cluster on numeric metrics only",
                          Reason.BAD_PARAMETER)
