"""Load a model file: YAML with file:line kept, pydantic parsing, then every validation rule.

All problems are collected and raised once as a :class:`~crindex.errors.ModelError`; problems
of warning-level rules are kept on the model (``CRIModel.warnings``). The rules themselves are
registered in :mod:`crindex.model.rules` and by plug-ins (see :mod:`crindex.model.registry`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from crindex.errors import ModelError, Problem, Reason, raise_if
from crindex.model.registry import AGGREGATES, NORMALISERS, metric_table
from crindex.model.rules import Loc, param_problems, validate, weight_problems
from crindex.model.spec import CRIModel, Spec

__all__ = ["Locator", "check_model", "load_model", "metric_table", "parse_model",
           "weight_problems"]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def _lines(node: Any, path: Loc, out: dict[Loc, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item under ``node``."""
    if isinstance(node, CommentedMap):
        for key in node:
            try:
                line = node.lc.key(key)[0] + 1
            except Exception:  # pragma: no cover - ruamel always has positions for loaded maps
                line = node.lc.line + 1
            out[(*path, str(key))] = line
            _lines(node[key], (*path, str(key)), out)
    elif isinstance(node, CommentedSeq):
        for i, item in enumerate(node):
            try:
                line = node.lc.item(i)[0] + 1
            except Exception:  # pragma: no cover
                line = node.lc.line + 1
            out[(*path, i)] = line
            _lines(item, (*path, i), out)


def _plain(node: Any) -> Any:
    """Ruamel's round-trip containers to plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


class Locator:
    """Turns a path inside the document into ``file:line``."""

    def __init__(self, file: str, lines: dict[Loc, int]):
        self.file = file
        self.lines = lines

    def __call__(self, path: Loc) -> str:
        path = tuple(path)
        while path:
            if path in self.lines:
                return f"{self.file}:{self.lines[path]}"
            path = path[:-1]
        return f"{self.file}:1"


def _attach(obj: Any, path: Loc, where: Locator) -> None:
    """Set ``_where`` on every spec object, recursively."""
    if isinstance(obj, Spec):
        obj._where = where(path)
        obj._loc = tuple(path)
        for name in type(obj).model_fields:
            _attach(getattr(obj, name), (*path, name), where)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            _attach(item, (*path, i), where)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            _attach(item, (*path, str(key)), where)


def _pydantic_problems(exc: ValidationError, where: Locator) -> list[Problem]:
    problems = []
    normalisers = NORMALISERS.names()
    for err in exc.errors():
        loc = tuple(err["loc"])
        # discriminated unions add the tag to the path: drop it so the line is right
        clean = tuple(p for p in loc if p not in normalisers)
        field = ".".join(str(p) for p in clean)
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = f"unknown key `{loc[-1]}`"
            hint = "check the spelling; `crindex model schema` lists every allowed key"
        elif kind == "union_tag_invalid":
            given = err.get("input")
            name = given.get("method") if isinstance(given, dict) else given
            msg = f"unknown normaliser `{name}`"
            hint = "known normalisers: " + ", ".join(normalisers)
            problems.append(Problem(msg, where(clean), hint, Reason.UNKNOWN_NORMALISER))
            continue
        elif kind == "union_tag_not_found":
            msg = f"`{field}` needs a `method`"
            hint = "known normalisers: " + ", ".join(normalisers)
        elif kind == "missing":
            msg = f"`{field}` is required"
            hint = ""
        else:
            msg = f"`{field}`: {str(err['msg']).removeprefix('Value error, ')}"
            hint = ""
        problems.append(Problem(msg, where(clean), hint, Reason.MODEL_SCHEMA))
    return problems


def load_model(path: str | Path) -> CRIModel:
    """Read a model file and check it; raise one :class:`ModelError` listing every problem."""
    path = Path(path)
    if not path.exists():
        raise ModelError.single(
            Reason.DATA_NOT_FOUND, f"model file {path} does not exist",
            hint="give the path of a YAML model file, e.g. examples/ecommerce.yaml",
        )
    text = path.read_text(encoding="utf-8-sig")
    return parse_model(text, str(path))


def parse_model(text: str, file: str = "<model>") -> CRIModel:
    """Parse model text (YAML) into a checked :class:`CRIModel`."""
    try:
        doc = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{file}:{mark.line + 1}" if mark else file
        raise ModelError.single(
            Reason.MODEL_SYNTAX, f"not valid YAML: {exc.problem or exc}", line,
            "fix the indentation or quoting on that line",
        ) from None
    except Exception as exc:  # duplicate keys and other constructor errors
        raise ModelError.single(Reason.MODEL_SYNTAX, f"not valid YAML: {exc}", file) from None
    if not isinstance(doc, dict):
        raise ModelError.single(
            Reason.MODEL_SCHEMA, "a model file must be a mapping with `name` and `dimensions`",
            f"{file}:1",
        )
    lines: dict[Loc, int] = {}
    _lines(doc, (), lines)
    where = Locator(file, lines)
    plain = _plain(doc)
    problems = _pre_checks(plain, where)
    try:
        model = CRIModel.model_validate(plain)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, where)
        problems += _raw_weight_problems(plain, where)
        problems += _raw_param_problems(plain, where)
        raise_if(problems, ModelError, f"model {file} has {len(problems)} problem(s)")
        raise  # pragma: no cover
    _attach(model, (), where)
    model._path = file
    model._text = text
    errors, warnings = validate(model, where)
    problems += errors
    raise_if(problems, ModelError, f"model {file} has {len(problems)} problem(s)")
    model._warnings = warnings
    return model


def _pre_checks(doc: dict[str, Any], where: Locator) -> list[Problem]:
    """Checks pydantic would report badly: unknown aggregates and normalisers by name."""
    problems: list[Problem] = []
    for di, dim in enumerate(doc.get("dimensions") or []):
        if not isinstance(dim, dict):
            continue
        for mi, met in enumerate(dim.get("metrics") or []):
            if not isinstance(met, dict):
                continue
            base = ("dimensions", di, "metrics", mi)
            agg = met.get("aggregate")
            if agg is not None and agg not in AGGREGATES:
                problems.append(Problem(
                    f"metric `{met.get('id')}`: unknown aggregate `{agg}`",
                    where((*base, "aggregate")),
                    "known aggregates: " + ", ".join(sorted(AGGREGATES)),
                    Reason.UNKNOWN_AGGREGATE,
                ))
    return problems


def _raw_param_problems(doc: dict[str, Any], where: Locator) -> list[Problem]:
    """Params checked on the raw document, for files that fail schema checks too."""
    problems: list[Problem] = []
    for di, dim in enumerate(doc.get("dimensions") or []):
        for mi, met in enumerate((dim.get("metrics") or []) if isinstance(dim, dict) else []):
            if isinstance(met, dict) and isinstance(met.get("aggregate"), str):
                base = ("dimensions", di, "metrics", mi, "params")
                problems += param_problems(
                    str(met.get("id")), met["aggregate"], met.get("params"),
                    lambda key, base=base: where((*base, key)))  # type: ignore[misc]
    return problems


def _raw_weight_problems(doc: dict[str, Any], where: Locator) -> list[Problem]:
    """Weight sums read from the raw document, for files that fail schema checks too."""
    dims = []
    for di, dim in enumerate(doc.get("dimensions") or []):
        if not isinstance(dim, dict):
            return []
        metrics = []
        for met in dim.get("metrics") or []:
            w = met.get("weight") if isinstance(met, dict) else None
            if not isinstance(w, int | float):
                return []
            metrics.append((str(met.get("id")), float(w)))
        w = dim.get("weight")
        if w is not None and not isinstance(w, int | float):
            return []
        dims.append((str(dim.get("id")), None if w is None else float(w),
                     where(("dimensions", di)), metrics))
    return weight_problems(dims)


def check_model(model: CRIModel, where: Locator | None = None) -> list[Problem]:
    """The error-level problems of a parsed model (every registered validation rule)."""
    return validate(model, where)[0]
