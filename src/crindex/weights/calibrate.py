"""Calibrate a model to its data: normaliser bounds from quantiles, tier thresholds for a mix.

The raw value of every metric comes from one scoring run (the engine's ``<metric>__raw``
column, at the run's ``as_of``): no metric is computed a second time here. From them:

- ``range``: ``min`` at the 5th and ``max`` at the 95th percentile of the customers with a
  value (a few outliers move neither bound); ``direction`` is kept;
- ``log_range``: ``max`` at the 95th percentile (``min`` is kept: usually 0, nothing spent);
- ``bins``: the distinct finite bounds, in order, move to evenly spaced quantiles (three
  bounds to the 25th, 50th and 75th percentiles); points and the bins' layout are kept. When
  ties would make two bounds equal, the bins are left as they are and the reason is noted;
- other methods (percentile, zscore, map, points, identity) already follow the data or state
  a scale of their own: left as they are.

The score tiers' thresholds are then set from the scores under the new bounds, so that each
tier holds its share of a target mix (:data:`default_mix`: the top tier 10%, the others an
equal share of the rest). Quantiles are numpy's (and pandas') default, linear interpolation.
:func:`calibrated_text` writes it all into the model's text, comments and layout kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crindex.errors import ModelError, Problem, Reason, raise_if
from crindex.model.spec import CRIModel, TiersSpec

#: the quantiles of ``range`` bounds
RANGE_QUANTILES = (0.05, 0.95)
#: the quantile of a ``log_range``'s ``max``
LOG_RANGE_QUANTILE = 0.95


def _nice(value: float) -> float:
    """``value`` to 6 significant digits (what the model file gets)."""
    return float(f"{value:.6g}")


def _written(value: float) -> int | float:
    """A whole number as an int (``300``, not ``300.0``), anything else as it is."""
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class BoundChange:
    """One metric's normaliser: its settings now and as proposed (``None``: left as it is)."""

    metric: str
    method: str
    old: dict[str, Any]
    new: dict[str, Any] | None
    note: str = ""


@dataclass(frozen=True)
class ThresholdChange:
    """One bounded score tier: its key (``min`` or ``above``), bound now and proposed."""

    tier: str
    key: str
    old: float
    new: float


@dataclass
class Calibration:
    """What calibrating found: new bounds, new thresholds, the mixes and mean points."""

    model: CRIModel
    bounds: list[BoundChange]
    thresholds: list[ThresholdChange]
    target: dict[str, float]
    text: str
    new_model: CRIModel
    mix_before: dict[str, int]
    mix_after: dict[str, int]
    points_before: dict[str, float | None]
    points_after: dict[str, float | None]
    notes: list[str] = field(default_factory=list)


def _values(table: Any, column: str) -> np.ndarray:
    """The column's non-null finite values as floats."""
    arr = np.asarray([v for v in table.column(column).to_pylist() if v is not None],
                     dtype="float64")
    return arr[np.isfinite(arr)]


def _settings(spec: Any) -> dict[str, Any]:
    return dict(spec.model_dump(exclude_defaults=False, mode="json"))


def propose_bounds(model: CRIModel, table: Any) -> list[BoundChange]:
    """Each metric's normaliser settings from the quantiles of its raw values in ``table``."""
    changes: list[BoundChange] = []
    for _, m in model.metrics:
        norm: Any = m.normalise
        method = str(norm.method)
        old = _settings(norm)
        values = _values(table, f"{m.id}__raw")
        if method not in ("range", "log_range", "bins"):
            changes.append(BoundChange(m.id, method, old, None,
                                       f"{method} is left as it is"))
            continue
        if values.size == 0:
            changes.append(BoundChange(m.id, method, old, None, "no customer has a value"))
            continue
        if method == "range":
            lo, hi = (_nice(float(np.quantile(values, q))) for q in RANGE_QUANTILES)
            if hi <= lo:
                changes.append(BoundChange(m.id, method, old, None, f"the 5th and 95th "
                                           f"percentiles are both {lo:g}; left as it is"))
                continue
            changes.append(BoundChange(m.id, method, old, {"min": lo, "max": hi}))
        elif method == "log_range":
            hi = _nice(float(np.quantile(values, LOG_RANGE_QUANTILE)))
            if hi <= norm.min:
                changes.append(BoundChange(m.id, method, old, None, f"the 95th percentile "
                                           f"{hi:g} is not above min {norm.min:g}; left as "
                                           "it is"))
                continue
            changes.append(BoundChange(m.id, method, old, {"max": hi}))
        else:
            edges = sorted({v for b in norm.bins for v in (b.min, b.max)
                            if v is not None and math.isfinite(v)})
            qs = [(j + 1) / (len(edges) + 1) for j in range(len(edges))]
            new_edges = [_nice(float(np.quantile(values, q))) for q in qs]
            if any(b <= a for a, b in zip(new_edges, new_edges[1:], strict=False)):
                changes.append(BoundChange(m.id, method, old, None, "ties: the quantiles "
                                           f"{', '.join(f'{v:g}' for v in new_edges)} are "
                                           "not all different; left as it is"))
                continue
            moved = dict(zip(edges, new_edges, strict=True))
            bins = [{k: (moved[v] if k in ("min", "max") and v is not None else v)
                     for k, v in b.model_dump(exclude_none=True).items()} for b in norm.bins]
            changes.append(BoundChange(m.id, method, old, {"bins": bins}))
    return changes


def default_mix(tiers: TiersSpec) -> dict[str, float]:
    """Four tiers or more: the top tier 10%, the others an equal share of the rest.

    Three tiers: 20/40/40; two: half each; one: everyone. No tier holds more than half.
    """
    order = tiers.order
    if len(order) == 1:
        return {order[0]: 1.0}
    if len(order) == 2:
        return dict.fromkeys(order, 0.5)
    if len(order) == 3:
        return dict(zip(order, (0.2, 0.4, 0.4), strict=True))
    rest = 0.9 / (len(order) - 1)
    return {t: (0.1 if i == 0 else rest) for i, t in enumerate(order)}


def parse_mix(text: str, tiers: TiersSpec) -> dict[str, float]:
    """``core=0.1,potential=0.3,...`` (shares, or percents when any is above 1) to shares.

    A tier left out gets what the others leave (only one may be left out).

    Raises
    ------
    ModelError
        Every problem at once: a malformed pair, an unknown tier, a negative share, shares
        summing above 1, more than one tier left out.
    """
    problems: list[Problem] = []
    given: dict[str, float] = {}
    known = tiers.order
    allowed = "tiers of the model: " + ", ".join(known)
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            share = float(value) if sep else math.nan
        except ValueError:
            share = math.nan
        if not sep or not math.isfinite(share):
            problems.append(Problem(f"`{part}` is not TIER=SHARE", "--target-mix",
                                    "e.g. core=0.1,potential=0.3,ordinary=0.3",
                                    Reason.BAD_PARAMETER))
        elif name not in known:
            problems.append(Problem(f"`{name}` is not a tier of the model", "--target-mix",
                                    allowed, Reason.BAD_PARAMETER))
        elif share < 0:
            problems.append(Problem(f"share of `{name}` is negative ({value})", "--target-mix",
                                    "a share is between 0 and 1 (or 0 and 100 %)",
                                    Reason.BAD_PARAMETER))
        else:
            given[name] = share
    raise_if(problems, ModelError)
    if any(v > 1 for v in given.values()):
        given = {k: v / 100.0 for k, v in given.items()}
    left = [t for t in known if t not in given]
    total = sum(given.values())
    if total > 1 + 1e-9:
        problems.append(Problem(f"the shares sum to {total:.4g}, above 1 (100%)",
                                "--target-mix", "shares of the customers sum to at most 1",
                                Reason.BAD_PARAMETER))
    if len(left) > 1:
        problems.append(Problem(f"no share for {', '.join(left)}", "--target-mix",
                                "give every tier a share, or leave out one tier (it takes the "
                                "rest)", Reason.BAD_PARAMETER))
    elif not left and not math.isclose(total, 1.0, abs_tol=1e-6):
        problems.append(Problem(f"the shares sum to {total:.4g}, not 1 (100%)",
                                "--target-mix", "make them sum to 1, or leave one tier out "
                                "(it takes the rest)", Reason.BAD_PARAMETER))
    raise_if(problems, ModelError)
    if left:
        given[left[0]] = max(0.0, 1.0 - total)
    return {t: given[t] for t in known}


def propose_thresholds(tiers: TiersSpec, scores: Sequence[float],
                       mix: Mapping[str, float]) -> list[ThresholdChange]:
    """Score thresholds giving each bounded tier its share of ``mix`` (best tier first).

    A tier's bound is the ``1 - c`` quantile of the scores, where ``c`` is the share of that
    tier and every tier tried before it, rounded down to 0.1 so the customer at the quantile
    is in. Rank tiers (:func:`propose_shares`) need no scores.
    """
    if tiers.by != "score":
        return propose_shares(tiers, mix)
    arr = np.asarray([s for s in scores if s is not None and math.isfinite(s)], dtype="float64")
    if arr.size == 0:
        return []
    levels = {lv.id: lv for lv in tiers.levels}
    out: list[ThresholdChange] = []
    cum = 0.0
    for rule in tiers.score_rules():
        cum += mix.get(rule.tier, 0.0)
        q = float(np.quantile(arr, min(max(1.0 - cum, 0.0), 1.0)))
        bound = min(max(math.floor(q * 10 + 1e-9) / 10, 0.0), 100.0)
        key = "min" if levels[rule.tier].min is not None else "above"
        out.append(ThresholdChange(rule.tier, key, rule.bound, bound))
    return out


def propose_shares(tiers: TiersSpec, mix: Mapping[str, float]) -> list[ThresholdChange]:
    """Rank tiers: each ``top`` (``bottom``) level's share, counted from the best (worst).

    The ``top`` levels are tried in the order written, each holding the customers whose share
    from the top is within its bound, so a level's ``top`` is its share plus those of the
    ``top`` levels before it; ``bottom`` likewise from the last level up. A bound that would
    be 0 or 100 (a tier with no share, or all of them) is left as it is.
    """
    out: list[ThresholdChange] = []
    for key, levels in (("top", tiers.levels), ("bottom", list(reversed(tiers.levels)))):
        cum = 0.0
        for lv in levels:
            old = getattr(lv, key)
            if old is None:
                continue
            cum += mix.get(lv.id, 0.0)
            bound = round(100.0 * cum, 1)
            if 0 < bound < 100:
                out.append(ThresholdChange(lv.id, key, old, bound))
    order = tiers.order
    return sorted(out, key=lambda t: order.index(t.tier))


def tier_mix(tiers: TiersSpec, scores: Sequence[float | None]) -> dict[str, int]:
    """Customers per tier under score thresholds (``unscored`` for no score, when any)."""
    counts = dict.fromkeys(tiers.order, 0)
    for s in scores:
        t = tiers.tier_of(None if s is None or not math.isfinite(s) else s)
        key = t or "unscored"
        counts[key] = counts.get(key, 0) + 1
    return counts


def mean_points(model: CRIModel, table: Any) -> dict[str, float | None]:
    """Each metric's mean score (0..100) over the customers with a score."""
    out: dict[str, float | None] = {}
    for _, m in model.metrics:
        vals = _values(table, f"{m.id}__score")
        out[m.id] = float(vals.mean()) if vals.size else None
    return out


def calibrated_text(model: CRIModel, bounds: Sequence[BoundChange],
                    thresholds: Sequence[ThresholdChange]) -> str:
    """The model's text with the proposed bounds and thresholds; everything else kept."""
    from crindex.weights.rewrite import load_round_trip

    if not model.text:
        raise ModelError.single(Reason.BAD_PARAMETER, "the model was built in code, not read "
                                "from a file, so there is no file to rewrite", model.path,
                                "load it with crindex.model.load_model")
    yaml, doc = load_round_trip(model.text)
    wanted = {b.metric: b.new for b in bounds if b.new is not None}
    for dim in doc.get("dimensions") or []:
        for met in dim.get("metrics") or []:
            new = wanted.get(str(met.get("id")))
            if new is None or "normalise" not in met:
                continue
            norm = met["normalise"]
            for key, value in new.items():
                if key == "bins":  # bin by bin, so each bin's comments and layout stay
                    for doc_bin, bin_ in zip(norm["bins"], value, strict=True):
                        for bound in ("min", "max"):
                            if doc_bin.get(bound) is not None:
                                doc_bin[bound] = _written(bin_[bound])
                else:
                    norm[key] = _written(value)
    if thresholds:
        if "tiers" not in doc:
            doc["tiers"] = {"by": "score", "levels": [
                lv.model_dump(exclude_none=True) for lv in model.tiers.levels]}
        levels = {str(lv.get("id")): lv for lv in doc["tiers"]["levels"]}
        for t in thresholds:
            levels[t.tier][t.key] = _written(t.new)
    import io

    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


def calibrate(model: CRIModel, score: Callable[[CRIModel], Any],
              mix: Mapping[str, float] | None = None) -> Calibration:
    """Calibrate ``model``: ``score(model)`` runs the engine and returns its result table.

    Two runs: the model as it is (the raw values, the mix and points before), then the model
    with the new bounds (the scores the thresholds are set from). The thresholds change only
    the tiers, so the mix after is the new model's tier rule on the second run's scores; rank
    tiers (shares of customers, ties sharing a tier) take a third run of the engine.
    """
    from crindex.model.loader import parse_model

    before = score(model)
    bounds = propose_bounds(model, before)
    notes = [f"{b.metric}: {b.note}" for b in bounds if b.note]
    target = dict(mix) if mix is not None else default_mix(model.tiers)
    staged = parse_model(calibrated_text(model, bounds, []), model.path or "<model>")
    after = score(staged)
    scores = after.column("score").to_pylist()
    thresholds = propose_thresholds(model.tiers, scores, target)
    text = calibrated_text(model, bounds, thresholds)
    new_model = parse_model(text, model.path or "<model>")
    if model.tiers.by == "score":
        mix_before = tier_mix(model.tiers, before.column("score").to_pylist())
        mix_after = tier_mix(new_model.tiers, scores)
    else:  # ranks need every customer's score: the engine's rule, on a third run
        mix_before = _table_mix(model.tiers, before)
        mix_after = _table_mix(new_model.tiers, score(new_model) if thresholds else after)
    return Calibration(model, bounds, thresholds, target, text, new_model, mix_before,
                       mix_after, mean_points(model, before), mean_points(staged, after), notes)


def write_calibrated(cal: Calibration, out: str | Path) -> Path:
    """Write the calibrated model to a new file ``out`` (atomically), after checking it loads.

    Raises
    ------
    ModelError
        When ``out`` is the model's own file, or the text does not load as a model.
    """
    from crindex.model.loader import parse_model
    from crindex.util import atomic_write_text
    from crindex.weights.rewrite import refuse_own_file

    target = refuse_own_file(cal.model, out)
    parse_model(cal.text, str(target))
    atomic_write_text(target, cal.text)
    return target


def _table_mix(tiers: TiersSpec, table: Any) -> dict[str, int]:
    counts = dict.fromkeys(tiers.order, 0)
    for t in table.column("tier").to_pylist():
        counts[t or "unscored"] = counts.get(t or "unscored", 0) + 1
    return counts


__all__ = ["LOG_RANGE_QUANTILE", "RANGE_QUANTILES", "BoundChange", "Calibration",
           "ThresholdChange", "calibrate", "calibrated_text", "default_mix", "mean_points",
           "parse_mix", "propose_bounds", "propose_shares", "propose_thresholds", "tier_mix",
           "write_calibrated"]
