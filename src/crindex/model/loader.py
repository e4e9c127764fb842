"""Load a model file: YAML with file:line kept, pydantic parsing, then every validation rule.

All problems are collected and raised once as a :class:`~crindex.errors.ModelError`; problems
of warning-level rules are kept on the model (``CRIModel.warnings``). The rules themselves are
registered in :mod:`crindex.model.rules` and by plug-ins (see :mod:`crindex.model.registry`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError

from crindex.errors import CrindexError, ModelError, Problem, Reason, raise_if
from crindex.model import wording
from crindex.model.registry import AGGREGATES, NORMALISERS, RegisteredUnion, metric_table
from crindex.model.rules import Loc, param_problems, validate, weight_problems
from crindex.model.spec import CRIModel, Spec

__all__ = ["Locator", "bounded", "check_model", "decode_model", "load_model", "metric_table",
           "parse_model", "read_model_text", "weight_problems"]


class _Constructor(RoundTripConstructor):
    """Round-trip YAML with dates kept as their text: the schema reads them (with a line)."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp",
                             RoundTripConstructor.construct_yaml_str)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
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


def _pick(info: FieldInfo, raw: Any) -> type[BaseModel] | None:
    """The class of a field that depends on the document: a normaliser by its ``method``."""
    if any(isinstance(m, RegisteredUnion) for m in info.metadata) and isinstance(raw, dict):
        return NORMALISERS.get(str(raw.get("method")))
    return None


def _pydantic_problems(exc: ValidationError, doc: Any, where: Locator) -> list[Problem]:
    """Each pydantic finding in crindex's words, at its line, named by ids (see ``wording``)."""
    normalisers = NORMALISERS.names()
    found: list[tuple[Loc, bool, Mapping[str, Any]]] = []
    for details in exc.errors():
        loc, through_union = wording.clean_loc(details["loc"], normalisers)
        found.append((loc, through_union, details))
    # a value no member of a union takes is reported once, at the deepest place it was tried
    tried_deeper = {loc[:i] for loc, through, _ in found if through for i in range(len(loc))}
    problems: list[Problem] = []
    seen: set[Loc] = set()
    extras: dict[Loc, list[str]] = {}
    for loc, _, e in found:
        if e["type"] == "extra_forbidden" and loc:
            extras.setdefault(loc[:-1], []).append(str(loc[-1]))
    for loc, through, err in found:
        if through:
            if loc in tried_deeper or loc in seen:
                continue
            seen.add(loc)
            if not isinstance(err.get("input"), float):
                err = {**err, "type": "union_type"}
        kind = err["type"]
        if kind == "union_tag_invalid":
            given = err.get("input")
            name = given.get("method") if isinstance(given, dict) else given
            label = wording.name_key(doc, (*loc, "method"))
            problems.append(Problem(
                f"{label}: unknown normaliser `{name}`", where((*loc, "method")),
                wording.with_guess(name, normalisers,
                                   "known normalisers: " + ", ".join(normalisers)),
                Reason.UNKNOWN_NORMALISER))
            continue
        if kind == "union_tag_not_found":
            problems.append(Problem(
                f"{wording.name_key(doc, loc)} needs a `method`", where(loc),
                "e.g. normalise: {method: range, min: 0, max: 100}; known normalisers: "
                + ", ".join(normalisers), Reason.MODEL_SCHEMA))
            continue
        if kind == "missing" and loc and any(
                wording.did_you_mean(key, [str(loc[-1])]) for key in extras.get(loc[:-1], [])):
            continue  # the misspelt key beside it says "did you mean" this one
        tp, field = wording.walk(CRIModel, doc, loc, _pick)
        keys: list[str] = []
        if kind == "extra_forbidden":
            owner, _ = wording.walk(CRIModel, doc, loc[:-1], _pick)
            keys = list(owner.model_fields) if wording.is_spec(owner) else []
        problems.append(wording.problem(err, doc, loc, tp, field, where(loc), keys))
    return problems


#: a model file larger than this is refused before it is parsed: models are a few KB (the
#: b2b example, 12 metrics, is 4.5 KB), and parsing YAML with every line kept takes seconds
#: per hundred KB
MAX_MODEL_BYTES = 256 * 1024
#: problems of one kind listed before the rest of that kind is only counted
MAX_PROBLEMS_PER_KIND = 20


def load_model(path: str | Path) -> CRIModel:
    """Read a model file and check it; raise one :class:`ModelError` listing every problem."""
    path = Path(path)
    return parse_model(read_model_text(path), str(path))


def read_model_text(path: Path) -> str:
    """The text of a model file: UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030.

    An empty file, a folder, a binary file and a file over :data:`MAX_MODEL_BYTES` get one
    clear line each.
    """
    hint = "give the path of a YAML model file, e.g. examples/ecommerce.yaml"
    if not path.exists():
        raise ModelError.single(Reason.DATA_NOT_FOUND, f"model file {path} does not exist",
                                hint=hint)
    if path.is_dir():
        raise ModelError.single(Reason.DATA_NOT_FOUND,
                                f"model file {path} is a folder, not a file", hint=hint)
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelError.single(
                Reason.MODEL_SYNTAX,
                f"model file {path} is {_size(size)}; a model file is at most "
                f"{_size(MAX_MODEL_BYTES)} (models are a few KB)",
                hint="check that --model names the model's YAML file, not a data file")
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError.single(Reason.DATA_NOT_FOUND,
                                f"model file {path} cannot be read: {exc.strerror or exc}",
                                hint="check the path and its permissions") from None
    return decode_model(data, str(path))


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{-(-n // 1024)} KB"


def decode_model(data: bytes, file: str) -> str:
    """Model bytes to text, trying the encodings editors save in; or one clear error."""
    not_text = ModelError.single(
        Reason.MODEL_SYNTAX, f"model file {file} is not a text file",
        hint="give a YAML model file saved as text (UTF-8 or GBK), e.g. examples/ecommerce.yaml")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise not_text from None
    if b"\x00" in data:
        raise not_text
    first: UnicodeDecodeError | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            first = first or exc
            continue
        control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
        if control > max(2, len(text) // 100):
            raise not_text
        return text
    control = sum(1 for b in data if b < 32 and b not in b"\t\n\r\f")
    if first is None or control > max(2, len(data) // 100):
        raise not_text
    line = data[:first.start].count(b"\n") + 1
    raise ModelError.single(
        Reason.MODEL_SYNTAX, f"model file {file} is text in an encoding crindex does not read: "
        f"byte 0x{data[first.start]:02X} cannot be read as UTF-8 or GBK", f"{file}:{line}",
        "save the model as UTF-8 (in the editor: Save as, Encoding: UTF-8)")


def _empty(file: str) -> CrindexError:
    return ModelError.single(
        Reason.MODEL_SCHEMA, f"model file {file} is empty (no keys, only blanks or comments)",
        f"{file}:1", "write a model: `name:` and `dimensions:` with their metrics; "
        "start from examples/ecommerce.yaml")


#: ruamel's findings, in crindex's words: (its words, what we say, the fix)
_YAML_WORDS: tuple[tuple[str, str, str], ...] = (
    ("found duplicate key", "key {key} is written twice in the same mapping",
     "keep one of them"),
    ("mapping values are not allowed", "a `:` where a value was expected",
     "put a value that holds `: ` in quotes, or check the indentation of this line"),
    ("expected ',' or ']'", "a `[` list is not closed", "close it with `]`"),
    ("expected ',' or '}'", "a `{` mapping is not closed", "close it with `}`"),
    ("found unexpected end of stream", "a quote is not closed", "close the quote"),
    ("expected <block end>", "the indentation does not match the lines above",
     "indent the keys of one mapping by the same number of spaces"),
    ("could not find expected ':'", "a key without `:`",
     "write `key: value`, or quote a value that spans lines"),
    ("found undefined alias", "a value starts with `*` (a YAML reference)",
     "put the value in quotes"),
    ("found unknown escape character", "an unknown `\\` escape in a double-quoted value",
     "use single quotes, or write `\\\\` for a backslash"),
)


def _yaml_problem(exc: MarkedYAMLError, text: str, file: str) -> CrindexError:
    mark = exc.problem_mark or exc.context_mark
    number = mark.line + 1 if mark else 1
    lines = text.splitlines()
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    said = str(exc.problem or exc)
    indent = line[:len(line) - len(line.lstrip())]
    if "\t" in indent or "'\\t'" in said:
        return ModelError.single(
            Reason.MODEL_SYNTAX, f"line {number} is indented with a tab; YAML indents with "
            "spaces only", f"{file}:{number}", "replace the tab with spaces (2 per level)")
    for words, message, fix in _YAML_WORDS:
        if words in said:
            key = said.split('"')[1] if '"' in said else ""
            return ModelError.single(
                Reason.MODEL_SYNTAX, "not valid YAML: " + message.replace("{key}", f"`{key}`"),
                f"{file}:{number}", fix)
    return ModelError.single(
        Reason.MODEL_SYNTAX, f"not valid YAML: {said}", f"{file}:{number}",
        "fix the indentation or quoting on that line")


def bounded(problems: list[Problem], limit: int = MAX_PROBLEMS_PER_KIND) -> list[Problem]:
    """The first ``limit`` problems of each kind, and one line counting the rest of that kind."""
    kept: list[Problem] = []
    counts: dict[Any, int] = {}
    for p in problems:
        counts[p.reason] = counts.get(p.reason, 0) + 1
        if counts[p.reason] <= limit:
            kept.append(p)
    for reason, n in counts.items():
        if n > limit:
            kept.append(Problem(
                f"... and {n - limit:,} more problem(s) of the same kind "
                f"({getattr(reason, 'value', reason)}) not listed", "",
                "fix the ones above and run again", reason))
    return kept


def _raise(problems: list[Problem], file: str) -> None:
    if problems:
        raise_if(bounded(problems), ModelError, f"model {file} has {len(problems):,} problem(s)")


def parse_model(text: str, file: str = "<model>") -> CRIModel:
    """Parse model text (YAML) into a checked :class:`CRIModel`."""
    if not text.strip():
        raise _empty(file)
    try:
        doc = _yaml().load(text)
    except MarkedYAMLError as exc:
        raise _yaml_problem(exc, text, file) from None
    except Exception as exc:  # the reader's special characters and other constructor errors
        said = str(exc).split("\n")[0]
        raise ModelError.single(Reason.MODEL_SYNTAX, f"not valid YAML: {said}", file,
                                "save the model as plain text (UTF-8)") from None
    if doc is None:
        raise _empty(file)
    if not isinstance(doc, dict):
        raise ModelError.single(
            Reason.MODEL_SCHEMA, "a model file must be a mapping with `name` and `dimensions`; "
            f"this one is {wording.shown(_plain(doc))}", f"{file}:1",
            "start with `name: my_model` on the first line, then `dimensions:`")
    lines: dict[Loc, int] = {}
    _lines(doc, (), lines)
    where = Locator(file, lines)
    plain = _plain(doc)
    problems = _pre_checks(plain, where)
    try:
        model = CRIModel.model_validate(plain)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, plain, where)
        problems += _raw_weight_problems(plain, where)
        problems += _raw_param_problems(plain, where)
        _raise(problems, file)
        raise  # pragma: no cover
    _attach(model, (), where)
    model._path = file
    model._text = text
    errors, warnings = validate(model, where)
    problems += errors
    _raise(problems, file)
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
                    wording.with_guess(agg, AGGREGATES,
                                       "known aggregates: " + ", ".join(sorted(AGGREGATES))),
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


def _weight_like(w: Any) -> TypeGuard[float]:
    """A weight the schema accepts (others are reported by the schema, not summed)."""
    return isinstance(w, int | float) and not isinstance(w, bool) and 0 <= w <= 100


def _raw_weight_problems(doc: dict[str, Any], where: Locator) -> list[Problem]:
    """Weight sums read from the raw document, for files that fail schema checks too."""
    dims = []
    for di, dim in enumerate(doc.get("dimensions") or []):
        if not isinstance(dim, dict):
            return []
        metrics = []
        for met in dim.get("metrics") or []:
            w = met.get("weight") if isinstance(met, dict) else None
            if not _weight_like(w):
                return []
            metrics.append((str(met.get("id")), float(w)))
        w = dim.get("weight")
        if w is not None and not _weight_like(w):
            return []
        dims.append((str(dim.get("id")), None if w is None else float(w),
                     where(("dimensions", di)), metrics))
    return weight_problems(dims)


def check_model(model: CRIModel, where: Locator | None = None) -> list[Problem]:
    """The error-level problems of a parsed model (every registered validation rule)."""
    return validate(model, where)[0]
