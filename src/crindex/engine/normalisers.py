"""Normalisers: a metric's raw value to a 0..100 score, as Ibis expressions.

Each is registered under the ``method`` name of its spec in :mod:`crindex.model.spec`. A
missing raw value stays missing (null) here; the metric's missing-value policy decides later.
Percentile and z-score look across customers (window functions over the scored population).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from crindex.model import spec as s

Normalise = Callable[[Any, ir.Value], ir.FloatingValue]
NORMALISERS: dict[str, Normalise] = {}
#: normalisers that look across customers and can take precomputed :class:`Population` columns
LOOK_ACROSS = {"percentile": "ranks", "zscore": "moments"}


@dataclass(frozen=True)
class Population:
    """Where each customer's value of one column stands among all customers with a value.

    Given by engines on which a window over every customer runs in one place (Spark computes
    these with a bucketed sort and joins, see :mod:`crindex.engine.spark`); without it the
    normalisers use window functions.
    """

    n: ir.IntegerValue | None = None  #: customers with a value
    below: ir.IntegerValue | None = None  #: customers with a value strictly below this one
    same: ir.IntegerValue | None = None  #: customers with this very value (itself included)
    mean: ir.FloatingValue | None = None
    std: ir.FloatingValue | None = None  #: population standard deviation

    def percent_rank(self, descending: bool = False) -> ir.FloatingValue:
        """``percent_rank()``: customers before this one over (customers with a value - 1)."""
        assert self.n is not None and self.below is not None and self.same is not None
        n = self.n.cast("float64")
        before = (n - self.below - self.same) if descending else self.below.cast("float64")
        return ibis.ifelse(n <= 1, 0.0, before / (n - 1.0))

    def cume_dist(self, descending: bool = False) -> ir.FloatingValue:
        """``cume_dist()``: share of customers at or before this one in the order."""
        assert self.n is not None and self.below is not None and self.same is not None
        n = self.n.cast("float64")
        upto = (n - self.below) if descending else (self.below + self.same).cast("float64")
        return upto / n


def register(name: str) -> Callable[[Normalise], Normalise]:
    def deco(fn: Normalise) -> Normalise:
        NORMALISERS[name] = fn
        return fn

    return deco


def _clip100(x: ir.FloatingValue) -> ir.FloatingValue:
    return x.clip(lower=0.0, upper=100.0)


def _oriented(score: ir.FloatingValue, direction: str) -> ir.FloatingValue:
    return score if direction == "higher" else 100.0 - score


@register("range")
def _range(spec: s.RangeNorm, raw: ir.Value) -> ir.FloatingValue:
    x = raw.cast("float64")
    score = _clip100((x - spec.min) / (spec.max - spec.min) * 100.0)
    return _oriented(score, spec.direction)


@register("log_range")
def _log_range(spec: s.LogRangeNorm, raw: ir.Value) -> ir.FloatingValue:
    import math

    x = raw.cast("float64").clip(lower=spec.min)
    lo, hi = math.log1p(spec.min), math.log1p(spec.max)
    score = _clip100(((x + 1.0).ln() - lo) / (hi - lo) * 100.0)
    return _oriented(score, spec.direction)


@register("percentile")
def _percentile(spec: s.PercentileNorm, raw: ir.Value,
                population: Population | None = None) -> ir.FloatingValue:
    x = raw.cast("float64")
    if population is not None:
        rank = population.percent_rank(descending=spec.direction != "higher")
    else:
        order = x if spec.direction == "higher" else x.desc()
        # customers without a value form their own partition so they never take a rank
        window = ibis.window(group_by=x.isnull(), order_by=order)
        rank = ibis.percent_rank().over(window)
    return ibis.ifelse(x.isnull(), ibis.null("float64"), rank * 100.0)


@register("bins")
def _bins(spec: s.BinsNorm, raw: ir.Value) -> ir.FloatingValue:
    x = raw.cast("float64")
    cases = []
    for b in spec.bins:
        cond: ir.BooleanValue = ibis.literal(True)
        if b.min is not None:
            cond = cond & (x >= b.min)
        if b.max is not None:
            cond = cond & (x < b.max)
        cases.append((cond, ibis.literal(b.points / spec.out_of * 100.0)))
    default = (spec.default or 0.0) / spec.out_of * 100.0
    out = ibis.cases(*cases, else_=ibis.literal(default))
    return ibis.ifelse(x.isnull(), ibis.null("float64"), _clip100(out.cast("float64")))


@register("points")
def _points(spec: s.PointsNorm, raw: ir.Value) -> ir.FloatingValue:
    x = raw.cast("float64")
    pts = (spec.base + spec.points * x / spec.per).clip(lower=0.0, upper=spec.cap)
    out_of = spec.out_of if spec.out_of is not None else spec.cap
    return _clip100(pts * (100.0 / out_of))


@register("map")
def _map(spec: s.MapNorm, raw: ir.Value) -> ir.FloatingValue:
    x = raw.cast("string")
    cases = [(x == key, ibis.literal(float(v))) for key, v in spec.values.items()]
    default = ibis.literal(spec.default, type="float64") if spec.default is not None \
        else ibis.null("float64")
    out = ibis.cases(*cases, else_=default) if cases else default
    return ibis.ifelse(x.isnull(), ibis.null("float64"), _clip100(out.cast("float64")))


@register("zscore")
def _zscore(spec: s.ZScoreNorm, raw: ir.Value,
            population: Population | None = None) -> ir.FloatingValue:
    x = raw.cast("float64")
    mean: Any
    std: Any
    if population is not None and population.mean is not None and population.std is not None:
        mean, std = population.mean, population.std
    else:
        mean = x.mean().over()
        std = x.std(how="pop").over()
    z = ibis.ifelse(std.isnull() | (std == 0), 0.0, (x - mean) / std)
    z = z.clip(lower=-spec.clip, upper=spec.clip)
    score = (z + spec.clip) / (2.0 * spec.clip) * 100.0
    return ibis.ifelse(x.isnull(), ibis.null("float64"), _oriented(score, spec.direction))


@register("identity")
def _identity(spec: s.IdentityNorm, raw: ir.Value) -> ir.FloatingValue:
    return _clip100(raw.cast("float64"))


def normalise(spec: Any, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
    """The 0..100 score of ``raw`` under the normaliser ``spec`` (null where raw is null).

    ``population`` (precomputed ranks or moments of ``raw``) replaces the windows over every
    customer of the normalisers in :data:`LOOK_ACROSS`.
    """
    if population is not None and spec.method in LOOK_ACROSS:
        return NORMALISERS[spec.method](spec, raw, population)  # type: ignore[call-arg]
    return NORMALISERS[spec.method](spec, raw)
