"""Normalisers: a metric's raw value to a 0..100 score.

Each normaliser is one class here: its ``method`` name, its settings (the fields, checked when
a model is loaded), what is wrong with them (:meth:`problems`) and its computation as an Ibis
expression (:meth:`score`). It registers itself; adding one touches this module and its test.
Ibis is imported inside the computations only, so loading a model never loads it.

Each also scores one value in plain Python (``value_score``, the same arithmetic as its
``score``; a test holds the two together) and answers the inverse question (``reach``: the
raw value nearest a customer's whose score reaches a target), which the path to the next
tier asks (:mod:`crindex.act.next_tier`).

A missing raw value stays missing (null) here; the metric's missing-value policy decides later.
Percentile and z-score look across customers (window functions over the scored population).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from crindex.model.registry import NORMALISERS, register_normaliser
from crindex.model.spec import ANY_NUMBER, NormaliserSpec, RawDomain, Spec

if TYPE_CHECKING:
    import ibis.expr.types as ir

Direction = Literal["higher", "lower"]


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
        import ibis

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


def _clip100(x: ir.FloatingValue) -> ir.FloatingValue:
    return x.clip(lower=0.0, upper=100.0)


def _oriented(score: ir.FloatingValue, direction: str) -> ir.FloatingValue:
    return score if direction == "higher" else 100.0 - score


def _unless_null(x: ir.Value, score: ir.Value) -> ir.FloatingValue:
    import ibis

    return ibis.ifelse(x.isnull(), ibis.null("float64"), score)


# --------------------------------------------------------------------------------------------
# plain-Python scores and their inverse (one value at a time)

#: a raw value far beyond any normaliser's bounds: where a monotone score is at its best
_FAR = 1e15


def _clip(x: float, low: float = 0.0, high: float = 100.0) -> float:
    return min(high, max(low, x))


def _number(raw: Any) -> float | None:
    if raw is None or isinstance(raw, str | bool):
        return None
    x = float(raw)
    return None if math.isnan(x) else x


def _step(x: float, up: bool, whole: bool) -> float:
    """The next value after ``x`` in the unit of the domain (1, or the next float)."""
    if whole:
        return x + 1.0 if up else x - 1.0
    return math.nextafter(x, math.inf if up else -math.inf)


def _settle(score: Callable[[float], float | None], x: float, target: float, up: bool,
            domain: RawDomain) -> float | None:
    """``x`` (an exact inverse) made a value of ``domain`` whose score reaches ``target``.

    Whole numbers round away from the worse side; a float inverse that falls a rounding
    error short moves by the smallest steps until its score reaches the target.
    """
    if domain.whole:
        x = float(math.ceil(x - 1e-9) if up else math.floor(x + 1e-9))
    if domain.lowest is not None:
        x = max(x, domain.lowest if not domain.whole else math.ceil(domain.lowest))
    if domain.highest is not None:
        x = min(x, domain.highest if not domain.whole else math.floor(domain.highest))
    for _ in range(64):
        got = score(x)
        if got is not None and got >= target:
            return x
        x = _step(x, up, domain.whole)
        if not domain.holds(x):
            return None
    return None  # pragma: no cover - an inverse is never that far off


def _extreme(up: bool, domain: RawDomain) -> float:
    """The domain's end in the better direction (far away when it is open)."""
    if up:
        return domain.highest if domain.highest is not None else _FAR
    return domain.lowest if domain.lowest is not None else -_FAR


def _monotone_reach(norm: Any, raw: Any, target: float, domain: RawDomain, up: bool,
                    inverse: Callable[[float], float], peers: Sequence[float] = ()) -> Any:
    """:meth:`NormaliserSpec.reach` of a score rising (``up``) or falling with the raw value.

    The nearest value reaching ``target`` is where the score meets it (the exact inverse),
    unless the value already reaches it; ``None`` when the domain's best end falls short.
    """
    def score(v: float) -> float | None:
        return norm.value_score(v, peers)  # type: ignore[no-any-return]

    x0 = _number(raw)
    if x0 is not None:
        now = score(x0)
        if now is not None and now >= target:
            return x0
    best = score(_extreme(up, domain))
    if best is None or best < target:
        return None
    x = inverse(target)
    if x0 is not None:  # never a change towards the worse side
        x = max(x, x0) if up else min(x, x0)
    return _settle(score, x, target, up, domain)


def _bisect_reach(norm: Any, raw: Any, target: float, domain: RawDomain, up: bool,
                  peers: Sequence[float]) -> Any:
    """:meth:`NormaliserSpec.reach` of a monotone score with no closed-form inverse."""
    def score(v: float) -> float:
        got = norm.value_score(v, peers)
        return -math.inf if got is None else float(got)

    x0 = _number(raw)
    start = x0 if x0 is not None else (peers[0] if up and peers else
                                       peers[-1] if peers else 0.0)
    if score(start) >= target:
        if x0 is not None:
            return x0
    span = max(1.0, abs(start))
    far = start
    for _ in range(200):
        far = start + span if up else start - span
        if not domain.holds(far) and not domain.whole:
            far = _extreme(up, domain)
        if score(far) >= target or far == _extreme(up, domain):
            break
        span *= 2.0
    if score(far) < target:
        return None
    near = start
    for _ in range(200):
        mid = (near + far) / 2.0
        if mid in (near, far):
            break
        if score(mid) >= target:
            far = mid
        else:
            near = mid
    return _settle(lambda v: norm.value_score(v, peers), far, target, up, domain)


@register_normaliser
class RangeNorm(NormaliserSpec):
    """Linear map of ``[min, max]`` onto 0..100, clipped; ``lower`` reverses it."""

    method: Literal["range"]
    min: float
    max: float
    direction: Direction = "higher"

    def problems(self) -> list[str]:
        return [] if self.max > self.min else ["range needs max > min"]

    def score(self, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
        x = raw.cast("float64")
        score = _clip100((x - self.min) / (self.max - self.min) * 100.0)
        return _oriented(score, self.direction)

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        x = _number(raw)
        if x is None:
            return None
        score = _clip((x - self.min) / (self.max - self.min) * 100.0)
        return score if self.direction == "higher" else 100.0 - score

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        up = self.direction == "higher"
        share = (target if up else 100.0 - target) / 100.0
        return _monotone_reach(self, raw, target, domain, up,
                               lambda t: self.min + share * (self.max - self.min))


@register_normaliser
class LogRangeNorm(NormaliserSpec):
    """Like ``range`` on ``log(1 + x)``: for amounts spanning orders of magnitude."""

    method: Literal["log_range"]
    min: float = 0.0
    max: float
    direction: Direction = "higher"

    def problems(self) -> list[str]:
        return [] if self.max > self.min else ["log_range needs max > min"]

    def score(self, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
        x = raw.cast("float64").clip(lower=self.min)
        lo, hi = math.log1p(self.min), math.log1p(self.max)
        score = _clip100(((x + 1.0).ln() - lo) / (hi - lo) * 100.0)
        return _oriented(score, self.direction)

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        x = _number(raw)
        if x is None:
            return None
        lo, hi = math.log1p(self.min), math.log1p(self.max)
        score = _clip((math.log(max(x, self.min) + 1.0) - lo) / (hi - lo) * 100.0)
        return score if self.direction == "higher" else 100.0 - score

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        up = self.direction == "higher"
        lo, hi = math.log1p(self.min), math.log1p(self.max)
        share = (target if up else 100.0 - target) / 100.0
        return _monotone_reach(self, raw, target, domain, up,
                               lambda t: math.expm1(lo + share * (hi - lo)))


@register_normaliser
class PercentileNorm(NormaliserSpec):
    """Rank among customers with a value: ``percent_rank * 100`` (ties share the lowest)."""

    method: Literal["percentile"]
    direction: Direction = "higher"
    looks_across: ClassVar[str | None] = "ranks"

    def score(self, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
        import ibis

        x = raw.cast("float64")
        if population is not None:
            rank = population.percent_rank(descending=self.direction != "higher")
        else:
            order = x if self.direction == "higher" else x.desc()
            # customers without a value form their own partition so they never take a rank
            window = ibis.window(group_by=x.isnull(), order_by=order)
            rank = ibis.percent_rank().over(window)
        return _unless_null(x, rank * 100.0)

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        """``percent_rank`` among ``peers`` and this value: peers before it over their count."""
        x = _number(raw)
        if x is None:
            return None
        if not peers:
            return 0.0
        before = bisect.bisect_left(peers, x) if self.direction == "higher" else \
            len(peers) - bisect.bisect_right(peers, x)
        return before / len(peers) * 100.0

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        """Beat enough of the others: the value just past the peer that must be passed."""
        x0 = _number(raw)
        if x0 is not None and (self.value_score(x0, peers) or 0.0) >= target:
            return x0
        n = len(peers)
        need = math.ceil(target / 100.0 * n - 1e-9)  # peers to be ahead of
        if need > n or n == 0:
            return None
        up = self.direction == "higher"
        if need <= 0:
            x = x0 if x0 is not None else (peers[0] if up else peers[-1])
        else:
            x = _step(peers[need - 1] if up else peers[n - need], up, domain.whole)
        return _settle(lambda v: self.value_score(v, peers), x, target, up, domain)


class Bin(Spec):
    """One bin: raw values ``>= min`` (and ``< max`` where given) get ``points``."""

    min: float | None = None
    max: float | None = None
    points: float


def _bounds_text(b: Bin) -> str:
    parts = ([f"min {b.min:g}"] if b.min is not None else []) + \
        ([f"max {b.max:g}"] if b.max is not None else [])
    return ", ".join(parts) or "no bounds"


def _covered(lo: float, hi: float, spans: list[tuple[float, float]]) -> bool:
    """True when the half-open spans together hold every value of ``[lo, hi)``."""
    at = lo
    for s, e in sorted(spans):
        if s <= at < e:
            at = e
        if at >= hi:
            return True
    return at >= hi


@register_normaliser
class BinsNorm(NormaliserSpec):
    """Thresholds to points: the first bin (in file order) whose bounds hold wins.

    ``out_of`` is the top of the points scale (5 for a 1-5 scale): the score is
    ``points / out_of * 100``.
    """

    method: Literal["bins"]
    bins: list[Bin] = Field(min_length=1)
    out_of: float = 100.0
    default: float | None = None

    def problems(self) -> list[str]:
        return [text for _, text, _ in self.located_problems()]

    def located_problems(self) -> list[tuple[tuple[str | int, ...], str, str]]:
        """``out_of`` is not 0; no bin is empty, never reached, or overlaps one before it.

        A bin holds ``[min, max)``; the first bin that holds a value wins, so a later bin
        with only a ``min`` (or only a ``max``) takes what the bins before it leave, as
        thresholds do. A bin with both bounds written says which values it means: when a bin
        before it takes some of them, the two overlap.
        """
        found: list[tuple[tuple[str | int, ...], str, str]] = []
        if self.out_of == 0:
            found.append((("out_of",), "bins needs out_of != 0",
                          "out_of is the top of the points scale, e.g. 5 or 100"))
        spans: list[tuple[float, float]] = []
        for i, b in enumerate(self.bins):
            lo = -math.inf if b.min is None else b.min
            hi = math.inf if b.max is None else b.max
            name = f"bin {i + 1} ({_bounds_text(b)})"
            if lo >= hi:
                found.append((("bins", i), f"{name} holds no value: `min` must be below `max`",
                              "a bin holds min <= value < max; swap the two bounds"))
            elif _covered(lo, hi, spans):
                takers = [str(j + 1) for j, (s, e) in enumerate(spans) if s < hi and lo < e]
                found.append((("bins", i), f"{name} can never be reached: bin(s) "
                              f"{', '.join(takers)} before it take every value it holds (the "
                              "first bin that holds a value wins)",
                              "remove it, or move it before the bins that take its values"))
            elif b.min is not None and b.max is not None:
                for j, (s, e) in enumerate(spans):
                    if s < hi and lo < e:
                        found.append((("bins", i), f"{name} overlaps bin {j + 1} "
                                      f"({_bounds_text(self.bins[j])}): values from "
                                      f"{max(s, lo):g} to below {min(e, hi):g} get bin {j + 1}'s "
                                      "points", "make the ranges meet without overlapping: the "
                                      "`max` of one bin is the `min` of the next"))
                        break
            spans.append((lo, hi))
        return found

    def score(self, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
        import ibis

        x = raw.cast("float64")
        cases = []
        for b in self.bins:
            cond: ir.BooleanValue = ibis.literal(True)
            if b.min is not None:
                cond = cond & (x >= b.min)
            if b.max is not None:
                cond = cond & (x < b.max)
            cases.append((cond, ibis.literal(b.points / self.out_of * 100.0)))
        default = (self.default or 0.0) / self.out_of * 100.0
        out = ibis.cases(*cases, else_=ibis.literal(default))
        return _unless_null(x, _clip100(out.cast("float64")))

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        x = _number(raw)
        if x is None:
            return None
        for b in self.bins:
            if (b.min is None or x >= b.min) and (b.max is None or x < b.max):
                return _clip(b.points / self.out_of * 100.0)
        return _clip((self.default or 0.0) / self.out_of * 100.0)

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        """The nearest value of a stretch between bin bounds whose points reach ``target``.

        The bounds cut the line into stretches of one score each (the first bin that holds
        a value wins); of those that reach the target, the nearest point to ``raw`` (ties:
        the lower score, then the lower value). Bins need not rise with the value.
        """
        x0 = _number(raw)
        cuts = sorted({v for b in self.bins for v in (b.min, b.max) if v is not None})
        low = -math.inf if domain.lowest is None else domain.lowest
        high = math.inf if domain.highest is None else domain.highest
        edges = [-math.inf, *cuts, math.inf]
        best: tuple[float, float, float] | None = None
        for a, b in zip(edges, edges[1:], strict=False):
            lo = max(a, low)  # the stretch [a, b) inside the domain
            if domain.whole:
                lo = float(math.ceil(lo)) if lo > -math.inf else lo
                hi_in = float(math.ceil(b) - 1) if b < math.inf else math.inf
                hi_in = min(hi_in, math.floor(high)) if high < math.inf else hi_in
            else:
                hi_in = math.nextafter(b, -math.inf) if b <= high else high
            if lo > hi_in:
                continue
            probe = lo if lo > -math.inf else (hi_in if hi_in < math.inf else 0.0)
            score = self.value_score(probe)
            if score is None or score < target:
                continue
            if x0 is None:
                point = probe
                key = (0.0, score, point)
            else:
                point = min(max(x0, lo), hi_in)
                key = (abs(point - x0), score, point)
            if best is None or key < best:
                best = key
        return None if best is None else best[2]


@register_normaliser
class PointsNorm(NormaliserSpec):
    """Points per unit: ``base + points * raw / per``, clipped to ``[0, cap]``, scaled to 100.

    ``+1 per 1,000 spent, capped at 100`` is ``per: 1000, points: 1, cap: 100``.
    """

    method: Literal["points"]
    per: float = 1.0
    points: float = 1.0
    base: float = 0.0
    cap: float = 100.0
    out_of: float | None = None

    def problems(self) -> list[str]:
        return [] if self.per != 0 else ["points needs per != 0"]

    def score(self, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
        x = raw.cast("float64")
        pts = (self.base + self.points * x / self.per).clip(lower=0.0, upper=self.cap)
        out_of = self.out_of if self.out_of is not None else self.cap
        return _clip100(pts * (100.0 / out_of))

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        x = _number(raw)
        if x is None:
            return None
        pts = _clip(self.base + self.points * x / self.per, 0.0, self.cap)
        out_of = self.out_of if self.out_of is not None else self.cap
        return _clip(pts * (100.0 / out_of))

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        out_of = self.out_of if self.out_of is not None else self.cap
        up = self.points / self.per > 0
        return _monotone_reach(
            self, raw, target, domain, up,
            lambda t: (t * out_of / 100.0 - self.base) * self.per / self.points)


@register_normaliser
class MapNorm(NormaliserSpec):
    """Category to score: ``values: {大型: 100, 中型: 70}``; others get ``default``."""

    method: Literal["map"]
    values: dict[str, float]
    default: float | None = None

    def reversal(self) -> dict[str, str | None] | None:
        """A map is turned around by giving each value (and ``default``) 100 minus its points."""
        return {"change": "map points reversed (100 minus each)", "direction": None}

    def score(self, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
        import ibis

        x = raw.cast("string")
        cases = [(x == key, ibis.literal(float(v))) for key, v in self.values.items()]
        default = ibis.literal(self.default, type="float64") if self.default is not None \
            else ibis.null("float64")
        out = ibis.cases(*cases, else_=default) if cases else default
        return _unless_null(x, _clip100(out.cast("float64")))

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        if raw is None:
            return None
        points = self.values.get(str(raw), self.default)
        return None if points is None else _clip(float(points))

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        """The category of the fewest points that reach ``target`` (first written, on a tie)."""
        now = self.value_score(raw)
        if now is not None and now >= target:
            return raw
        fits = [(_clip(float(v)), i, k) for i, (k, v) in enumerate(self.values.items())
                if _clip(float(v)) >= target]
        return min(fits)[2] if fits else None


@register_normaliser
class ZScoreNorm(NormaliserSpec):
    """``(x - mean) / std`` across customers, clipped to ``[-clip, clip]``, mapped to 0..100."""

    method: Literal["zscore"]
    clip: float = 3.0
    direction: Direction = "higher"
    looks_across: ClassVar[str | None] = "moments"

    def problems(self) -> list[str]:
        return [] if self.clip > 0 else ["zscore needs clip > 0"]

    def score(self, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
        import ibis

        x = raw.cast("float64")
        mean: Any
        std: Any
        if population is not None and population.mean is not None and population.std is not None:
            mean, std = population.mean, population.std
        else:
            mean = x.mean().over()
            std = x.std(how="pop").over()
        z = ibis.ifelse(std.isnull() | (std == 0), 0.0, (x - mean) / std)
        z = z.clip(lower=-self.clip, upper=self.clip)
        score = (z + self.clip) / (2.0 * self.clip) * 100.0
        return _unless_null(x, _oriented(score, self.direction))

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        """The z-score among ``peers`` and this value (the mean and spread move with it)."""
        x = _number(raw)
        if x is None:
            return None
        values = [*peers, x]
        mean = math.fsum(values) / len(values)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
        z = 0.0 if std == 0 else _clip((x - mean) / std, -self.clip, self.clip)
        score = (z + self.clip) / (2.0 * self.clip) * 100.0
        return score if self.direction == "higher" else 100.0 - score

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        return _bisect_reach(self, raw, target, domain, self.direction == "higher", peers)


@register_normaliser
class IdentityNorm(NormaliserSpec):
    """The raw value is already a 0..100 score (clipped)."""

    method: Literal["identity"]

    def score(self, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
        return _clip100(raw.cast("float64"))

    def value_score(self, raw: Any, peers: Sequence[float] = ()) -> float | None:
        x = _number(raw)
        return None if x is None else _clip(x)

    def reach(self, raw: Any, target: float, domain: RawDomain = ANY_NUMBER,
              peers: Sequence[float] = ()) -> Any:
        return _monotone_reach(self, raw, target, domain, True, lambda t: t)


class _LookAcross(Mapping[str, str]):
    """Normalisers that compare customers, by method: which :class:`Population` figures."""

    def _known(self) -> dict[str, str]:
        return {name: cls.looks_across for name, cls in NORMALISERS.items()  # type: ignore[attr-defined]
                if getattr(cls, "looks_across", None)}

    def __getitem__(self, method: str) -> str:
        return self._known()[method]

    def __iter__(self) -> Iterator[str]:
        return iter(self._known())

    def __len__(self) -> int:
        return len(self._known())


LOOK_ACROSS: Mapping[str, str] = _LookAcross()


def normalise(spec: Any, raw: ir.Value, population: Population | None = None) -> ir.FloatingValue:
    """The 0..100 score of ``raw`` under the normaliser ``spec`` (null where raw is null).

    ``population`` (precomputed ranks or moments of ``raw``) replaces the windows over every
    customer of the normalisers that look across customers (:data:`LOOK_ACROSS`).
    """
    return spec.score(raw, population if spec.looks_across else None)  # type: ignore[no-any-return]
