"""A model edited by hand (the dashboard's editor): weights, bounds, bins and tier thresholds.

:func:`edit_of` reads what can be edited from a model, :func:`edited_text` writes the changed
values into the model's own text (round trip: comments, key order and layout kept, as
:func:`crindex.weights.rewrite.rewrite_text` does for learned weights) and checks the result
with the model loader; :func:`text_diff` shows what changed, line by line.

Editable: every metric's ``weight`` and every dimension's (when dimensions carry weights);
``min`` / ``max`` of ``range`` and ``log_range`` normalisers; each bin's ``min`` / ``max``
and ``points``; each score tier's bound (``min`` or ``above``, whichever it has).
"""

from __future__ import annotations

import difflib
import io
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from crindex.errors import ModelError, Reason
from crindex.model.spec import CRIModel

#: normalisers whose bounds are edited as ``min`` / ``max``
BOUNDED = ("range", "log_range")


@dataclass
class ModelEdit:
    """Values to write into a model (only those given change)."""

    weights: dict[str, float] = field(default_factory=dict)  # metric id -> weight
    dimension_weights: dict[str, float] = field(default_factory=dict)  # dimension id -> weight
    bounds: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> min/max
    bins: dict[str, list[dict[str, float | None]]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)  # tier id -> its bound


def edit_of(model: CRIModel) -> ModelEdit:
    """The model's current editable values."""
    edit = ModelEdit()
    for d in model.dimensions:
        if d.weight is not None:
            edit.dimension_weights[d.id] = d.weight
        for m in d.metrics:
            edit.weights[m.id] = m.weight
            norm: Any = m.normalise
            if norm.method in BOUNDED:
                edit.bounds[m.id] = {"min": norm.min, "max": norm.max}
            elif norm.method == "bins":
                edit.bins[m.id] = [{"min": b.min, "max": b.max, "points": b.points}
                                   for b in norm.bins]
    if model.tiers.by == "score":
        edit.thresholds = {r.tier: r.bound for r in model.tiers.score_rules()}
    return edit


def _written(value: float) -> int | float:
    """A number as a person writes it: 50, not 50.0; 2.5 stays."""
    return int(value) if float(value).is_integer() else round(float(value), 6)


def edited_text(model: CRIModel, edit: ModelEdit) -> tuple[str, CRIModel]:
    """The model's text with ``edit`` written in, and the model it loads as.

    Raises
    ------
    ModelError
        When the model was not read from a file, or the edited model does not pass the
        loader's checks (every problem listed, located in the edited text).
    """
    from crindex.model.loader import parse_model
    from crindex.weights.rewrite import load_round_trip

    if not model.text:
        raise ModelError.single(Reason.BAD_PARAMETER, "the model was built in code, not read "
                                "from a file, so there is no file to edit", model.path,
                                "load it with crindex.model.load_model")
    yaml, doc = load_round_trip(model.text)
    for dim in doc.get("dimensions") or []:
        did = str(dim.get("id"))
        if did in edit.dimension_weights and "weight" in dim:
            dim["weight"] = _written(edit.dimension_weights[did])
        for met in dim.get("metrics") or []:
            mid = str(met.get("id"))
            if mid in edit.weights:
                met["weight"] = _written(edit.weights[mid])
            norm = met.get("normalise")
            if not isinstance(norm, MutableMapping):
                continue
            for key, value in edit.bounds.get(mid, {}).items():
                if value is not None:
                    norm[key] = _written(value)
            for doc_bin, new in zip(norm.get("bins") or [], edit.bins.get(mid, []),
                                    strict=False):
                for part in ("min", "max", "points"):
                    wanted = new.get(part)
                    if wanted is not None and doc_bin.get(part) is not None:
                        doc_bin[part] = _written(wanted)  # a bin's open end stays open
    if edit.thresholds and model.tiers.by == "score":
        if "tiers" not in doc:
            doc["tiers"] = {"by": "score", "levels": [
                lv.model_dump(exclude_none=True) for lv in model.tiers.levels]}
        for level in doc["tiers"]["levels"]:
            tid = str(level.get("id"))
            if tid not in edit.thresholds:
                continue
            bound = "min" if level.get("min") is not None else "above" \
                if level.get("above") is not None else None
            if bound is not None:
                level[bound] = _written(edit.thresholds[tid])
    buf = io.StringIO()
    yaml.dump(doc, buf)
    text = buf.getvalue()
    return text, parse_model(text, model.path or "<model>")


def text_diff(old: str, new: str, name: str = "model.yaml") -> list[str]:
    """The unified diff of two model texts, one line each (empty when they are equal)."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"{name} (before)", tofile=f"{name} (after)", n=2)]
