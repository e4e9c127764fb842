"""Proposed weights, and a new model file that carries them.

A :class:`WeightSet` holds weights for a model as dimension weights and metric shares within
each dimension (percent). :func:`write_model` writes a *new* model file with them: the original
is read with ruamel.yaml's round-trip loader, only the ``weight`` values change (comments, key
order, quoting and layout stay), the result is parsed and checked like any model before it
lands, and the file is written atomically. :func:`weight_diff` gives the before/after table.
"""

from __future__ import annotations

import difflib
import io
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, Literal

from crindex.errors import FitError, ModelError, Problem, Reason, raise_if
from crindex.model.spec import CRIModel

Style = Literal["keep", "flat", "dimensions"]
STYLES: tuple[str, ...] = ("keep", "flat", "dimensions")


def round_preserving_sum(values: Mapping[str, float], total: float = 100.0,
                         decimals: int = 0) -> dict[str, float]:
    """Round ``values`` (which sum to ``total``) to ``decimals`` so they still sum to ``total``.

    The largest-remainder method: every value is rounded down to the step ``10**-decimals``,
    then the steps still missing go to the values with the largest remainders (ties to the
    earlier key). ``{a: 33.3333, b: 33.3333, c: 33.3334}`` becomes ``{a: 33, b: 33, c: 34}``.

    Raises
    ------
    ValueError
        When a value is negative or the values do not sum to ``total`` (within 1e-6).
    """
    if any(v < 0 or not math.isfinite(v) for v in values.values()):
        raise ValueError(f"weights must be non-negative numbers, got {dict(values)}")
    if not math.isclose(sum(values.values()), total, abs_tol=1e-6):
        raise ValueError(f"weights sum to {sum(values.values())}, not {total}")
    step = Decimal(1).scaleb(-decimals)
    exact = {k: Decimal(repr(float(v))) for k, v in values.items()}
    floors = {k: (v / step).to_integral_value(ROUND_FLOOR) for k, v in exact.items()}
    short = int((Decimal(repr(float(total))) / step).to_integral_value() - sum(floors.values()))
    order = sorted(values, key=lambda k: -(exact[k] / step - floors[k]))
    for k in order[:max(short, 0)]:
        floors[k] += 1
    return {k: float(floors[k] * step) for k in values}


@dataclass(frozen=True)
class WeightSet:
    """Weights of a model: dimension weights and metric shares within each dimension.

    Both in percent: ``dimensions`` sums to 100 and every ``shares[d]`` sums to 100. A metric's
    share of the total is ``dimensions[d] * shares[d][m] / 100`` (see :meth:`overall`).
    """

    dimensions: dict[str, float]
    shares: dict[str, dict[str, float]]

    def overall(self) -> dict[str, float]:
        """Each metric's share of the total score, in percent."""
        return {m: self.dimensions[d] * s / 100.0
                for d, ms in self.shares.items() for m, s in ms.items()}

    @classmethod
    def of_model(cls, model: CRIModel) -> WeightSet:
        """The weights a model file declares now."""
        overall = {m.id: model.effective_weight(d, m) for d, m in model.metrics}
        return cls.from_overall(model, overall)

    @classmethod
    def from_overall(cls, model: CRIModel, overall: Mapping[str, float],
                     dimensions: Mapping[str, float] | None = None) -> WeightSet:
        """Weights from each metric's share of the total (summing to 100, or any positive sum).

        A dimension's weight is the sum of its metrics' (or ``dimensions[d]`` when given);
        within a dimension whose metrics all weigh 0, the model's current shares are kept.
        """
        problems = []
        ids = [m.id for _, m in model.metrics]
        unknown = sorted(set(overall) - set(ids))
        absent = [m for m in ids if m not in overall]
        if unknown or absent:
            problems.append(Problem(
                "weights do not match the model's metrics"
                + (f": unknown {', '.join(unknown)}" if unknown else "")
                + (f": no weight for {', '.join(absent)}" if absent else ""),
                model.path, "metrics of the model: " + ", ".join(ids), Reason.BAD_PARAMETER))
        raise_if(problems, FitError)
        values = {k: float(overall[k]) for k in ids}
        total = sum(values.values())
        if total <= 0 or any(v < 0 for v in values.values()):
            raise FitError.single(Reason.FIT, f"weights must be non-negative with a positive "
                                  f"sum, got {values}", model.path)
        values = {k: 100.0 * v / total for k, v in values.items()}
        dims: dict[str, float] = {}
        shares: dict[str, dict[str, float]] = {}
        for d in model.dimensions:
            dim_total = sum(values[m.id] for m in d.metrics)
            dims[d.id] = float(dimensions[d.id]) if dimensions and d.id in dimensions \
                else dim_total
            if dim_total > 0:
                shares[d.id] = {m.id: 100.0 * values[m.id] / dim_total for m in d.metrics}
            else:
                shares[d.id] = _current_shares(model, d.id)
        dim_sum = sum(dims.values())
        dims = {k: 100.0 * v / dim_sum for k, v in dims.items()}
        return cls(dims, shares)


def _current_shares(model: CRIModel, dim_id: str) -> dict[str, float]:
    """Metric shares (percent) within a dimension as the model has them (equal if all 0)."""
    dim = next(d for d in model.dimensions if d.id == dim_id)
    ws = {m.id: m.weight for m in dim.metrics}
    total = sum(ws.values())
    if total <= 0:
        return {k: 100.0 / len(ws) for k in ws}
    return {k: 100.0 * v / total for k, v in ws.items()}


def resolve_style(model: CRIModel, style: str) -> Literal["flat", "dimensions"]:
    """``keep`` becomes the model's own style; anything else must be flat or dimensions."""
    if style not in STYLES:
        raise ModelError.single(Reason.BAD_PARAMETER, f"unknown weight style `{style}`",
                                "--style", "use keep (the model's own), flat or dimensions")
    if style == "keep":
        return "flat" if model.flat_weights else "dimensions"
    return style  # type: ignore[return-value]


def file_weights(weights: WeightSet, style: str,
                 decimals: int = 0) -> tuple[dict[str, float] | None, dict[str, float]]:
    """The numbers to write: (dimension weights or ``None``, metric weights), rounded.

    ``flat``: metric weights are shares of the total and sum to 100; ``dimensions``: dimension
    weights sum to 100 and metric weights sum to 100 within each dimension. Rounding keeps
    every sum exact (:func:`round_preserving_sum`).
    """
    if style == "flat":
        return None, round_preserving_sum(weights.overall(), 100.0, decimals)
    dims = round_preserving_sum(weights.dimensions, 100.0, decimals)
    metrics: dict[str, float] = {}
    for shares in weights.shares.values():
        metrics.update(round_preserving_sum(shares, 100.0, decimals))
    return dims, metrics


def _number(value: float, decimals: int) -> int | float:
    return int(round(value)) if decimals <= 0 or float(value).is_integer() else round(value,
                                                                                    decimals)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a user's long lines
    return yaml


def load_round_trip(text: str) -> tuple[Any, Any]:
    """(the round-trip YAML writer set to the text's own indents, the loaded document).

    Change the document and ``yaml.dump`` it: comments, key order, quoting and layout stay.
    """
    from ruamel.yaml.util import load_yaml_guess_indent

    _, indent, block_indent = load_yaml_guess_indent(text)
    yaml = _yaml()
    yaml.indent(mapping=block_indent or 2, sequence=indent or 2, offset=block_indent or 0)
    return yaml, yaml.load(text)


def flip_normaliser(norm: Any, spec: Any) -> str:
    """Turn a metric's ``normalise`` mapping ``norm`` around in place; say what changed.

    ``spec`` is the parsed normaliser; its :meth:`~crindex.model.spec.NormaliserSpec.reversal`
    says how: the other ``direction`` (the key added when the file has none), or a map's
    points reversed (100 minus each value's, and its ``default``'s).

    Raises
    ------
    ValueError
        For a normaliser that cannot be turned around (bins, points, identity).
    """
    how = spec.reversal()
    if how is None:
        raise ValueError(f"a {spec.method} normaliser cannot be turned around automatically")
    if how["direction"] is not None:
        norm["direction"] = how["direction"]
    else:
        for key in norm["values"]:
            norm["values"][key] = _number(100 - float(norm["values"][key]), 6)
        if norm.get("default") is not None:
            norm["default"] = _number(100 - float(norm["default"]), 6)
    return str(how["change"])


def rewrite_text(text: str, weights: WeightSet, style: str = "flat",
                 decimals: int = 0, flips: Mapping[str, Any] | None = None) -> str:
    """The model text with its weights replaced; everything else as it was.

    ``style`` is ``flat`` or ``dimensions`` (see :func:`resolve_style`). Dimension ``weight``
    keys are added (after ``label``, or ``id``) or removed as the style needs. ``flips``:
    metric id -> its parsed normaliser, for the metrics to turn around (:func:`flip_normaliser`).
    """
    yaml, doc = load_round_trip(text)
    dims, metrics = file_weights(weights, style, decimals)
    for dim in doc["dimensions"]:
        if dims is None:
            if "weight" in dim:
                del dim["weight"]
        elif "weight" in dim:
            dim["weight"] = _number(dims[str(dim["id"])], decimals)
        else:
            keys = list(dim)
            anchor = "label" if "label" in keys else "id"
            dim.insert(keys.index(anchor) + 1, "weight", _number(dims[str(dim["id"])], decimals))
        for met in dim["metrics"]:
            met["weight"] = _number(metrics[str(met["id"])], decimals)
            if flips and str(met["id"]) in flips:
                flip_normaliser(met["normalise"], flips[str(met["id"])])
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


@dataclass(frozen=True)
class DiffRow:
    """One line of a weight diff: a dimension or a metric, before and after."""

    kind: Literal["dimension", "metric"]
    id: str
    dimension: str
    old: float | None
    new: float | None
    old_share: float
    new_share: float

    @property
    def change(self) -> float:
        return self.new_share - self.old_share


def weight_diff(old: CRIModel, new: CRIModel) -> list[DiffRow]:
    """Before/after of every dimension and metric: the file's weight and the share of total."""
    rows: list[DiffRow] = []
    new_dims = {d.id: d for d in new.dimensions}
    for d in old.dimensions:
        nd = new_dims[d.id]
        old_dim = sum(old.effective_weight(d, m) for m in d.metrics)
        new_dim = sum(new.effective_weight(nd, m) for m in nd.metrics)
        rows.append(DiffRow("dimension", d.id, d.id, d.weight, nd.weight, old_dim, new_dim))
        new_metrics = {m.id: m for m in nd.metrics}
        for m in d.metrics:
            nm = new_metrics[m.id]
            rows.append(DiffRow("metric", m.id, d.id, m.weight, nm.weight,
                                old.effective_weight(d, m), new.effective_weight(nd, nm)))
    return rows


@dataclass(frozen=True)
class Rewritten:
    """A new model: its text, the checked model, the weight diff and the text diff."""

    text: str
    model: CRIModel
    diff: list[DiffRow]
    text_diff: str


def rewritten_model(model: CRIModel, weights: WeightSet, style: str = "keep",
                    decimals: int = 0, file: str = "<new model>",
                    flips: Collection[str] = ()) -> Rewritten:
    """Rewrite ``model``'s file text with ``weights`` (and ``flips``) and check it loads.

    Raises
    ------
    ModelError
        When the model was not loaded from text, or the rewritten text does not pass the
        model checks (which would be a bug: the weights are rounded to sum to 100).
    """
    from crindex.model.loader import parse_model

    if not model.text:
        raise ModelError.single(Reason.BAD_PARAMETER, "the model was built in code, not read "
                                "from a file, so there is no file to rewrite", model.path,
                                "load it with crindex.model.load_model")
    turn = {m.id: m.normalise for _, m in model.metrics if m.id in flips}
    text = rewrite_text(model.text, weights, resolve_style(model, style), decimals, turn)
    new = parse_model(text, file)
    text_diff = "".join(difflib.unified_diff(
        model.text.splitlines(True), text.splitlines(True), model.path or "model", file))
    return Rewritten(text, new, weight_diff(model, new), text_diff)


def refuse_own_file(model: CRIModel, out: str | Path) -> Path:
    """``out`` as a path, unless it is the file ``model`` was read from.

    Raises
    ------
    ModelError
        When ``out`` is the model's own file: a model is never overwritten silently.
    """
    out = Path(out)
    if model.path and out.exists() and out.resolve() == Path(model.path).resolve():
        raise ModelError.single(Reason.BAD_PARAMETER, f"--write {out} is the model being "
                                "changed; crindex never overwrites a model", str(out),
                                "write to a new file and compare before replacing the old one")
    return out


def write_model(model: CRIModel, weights: WeightSet, out: str | Path, style: str = "keep",
                decimals: int = 0, flips: Collection[str] = ()) -> Rewritten:
    """Write a new model file with ``weights``; never the model's own file.

    Raises
    ------
    ModelError
        When ``out`` is the file the model was read from (a model is never overwritten
        silently), or the result does not load.
    """
    from crindex.util import atomic_write_text

    out = refuse_own_file(model, out)
    result = rewritten_model(model, weights, style, decimals, str(out), flips)
    atomic_write_text(out, result.text)
    return result


__all__ = ["STYLES", "DiffRow", "Rewritten", "WeightSet", "file_weights", "flip_normaliser",
           "load_round_trip", "refuse_own_file", "resolve_style",
           "rewrite_text", "rewritten_model", "round_preserving_sum", "weight_diff",
           "write_model"]
