"""Model errors in crindex's own words: names, key paths, what is allowed, "did you mean".

Pydantic checks the model's shape; this module turns each of its findings into a
:class:`~crindex.errors.Problem` a reader of the model file understands: the object by its
id (``metric `recency` (dimension `value`), key `weight```), never a 0-based index; what was
found (``.nan``, ``-5``, ``up``); what is allowed, read from the spec's own field (its bounds,
its choices, its keys); and the nearest allowed word when a key or a value looks misspelt.
No pydantic wording reaches the user.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from crindex.errors import Problem, Reason

Loc = tuple[str | int, ...]

#: the words a list item is called by, after the key of its list
_ITEM = {"dimensions": "dimension", "metrics": "metric", "levels": "tier", "alerts": "alert",
         "bins": "bin"}
#: list items named by their ``id`` (a 1-based position when they have none)
_NAMED = ("dimensions", "metrics", "levels", "alerts")


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``did you mean `normalise`?`` for the allowed word nearest ``word`` ("" if none is near).

    Case and ``-``/``_`` are ignored first (``Reweight``, ``log-range``), then the spelling
    (``normalize``, ``reweigh``).
    """
    if not isinstance(word, str) or not word:
        return ""
    options = [c for c in choices if c != word]
    fold = {c.lower().replace("-", "_"): c for c in options}
    key = word.lower().replace("-", "_").replace(" ", "_")
    if key in fold:
        return f"did you mean `{fold[key]}`?"
    near = difflib.get_close_matches(key, list(fold), n=1, cutoff=0.75)
    return f"did you mean `{fold[near[0]]}`?" if near else ""


def with_guess(word: object, choices: Iterable[str], hint: str) -> str:
    """``hint`` preceded by a "did you mean" for ``word`` when one is near."""
    guess = did_you_mean(word, list(choices))
    return f"{guess} {hint}" if guess and hint else guess or hint


def shown(value: Any) -> str:
    """A value as the user wrote it in YAML: ``.nan``, ``.inf``, ``-5``, ``up``, a mapping."""
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan (not a number)"
        if math.isinf(value):
            return ".inf (infinite)" if value > 0 else "-.inf (infinite)"
        return f"{value:g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping (`key: value` lines)"
    if isinstance(value, list):
        return "a list (`- ` items)"
    text = str(value)
    return f"`{text[:60]}...`" if len(text) > 60 else f"`{text}`"


# --------------------------------------------------------------------------------------------
# where a key is: the object by its id, and the key under it


def _node(doc: Any, loc: Loc) -> Any:
    """The raw document's value at ``loc`` (``None`` when it is not there)."""
    node = doc
    for seg in loc:
        if isinstance(seg, int) and isinstance(node, list) and 0 <= seg < len(node):
            node = node[seg]
        elif isinstance(node, dict) and str(seg) in node:
            node = node[str(seg)]
        else:
            return None
    return node


def place(doc: Any, loc: Loc) -> tuple[str, str]:
    """(the object, the key under it) for a path in the document, as the user wrote them.

    ``("dimensions", 0, "metrics", 1, "weight")`` is (``metric `recency` (dimension
    `value`)``, ``weight``); a list item without an id is counted from 1 (``bin 3``).
    """
    subject = ""
    owner = ""
    rest: list[str] = []
    i = 0
    while i < len(loc):
        seg = loc[i]
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        if seg in _NAMED and isinstance(nxt, int):
            item = _node(doc, loc[:i + 2])
            ident = item.get("id") if isinstance(item, dict) else None
            word = _ITEM[str(seg)]
            name = f"{word} `{ident}`" if isinstance(ident, str | int) and ident != "" \
                else f"{word} {nxt + 1}"
            if seg == "metrics" and subject.startswith("dimension"):
                owner = subject
            subject = f"{name} ({owner})" if owner and seg == "metrics" else name
            rest = []
            i += 2
            continue
        if seg == "tiers" and nxt == "levels" and i + 2 < len(loc):
            i += 1
            continue
        if seg == "sources" and isinstance(nxt, str) and not subject:
            subject = f"source `{nxt}`"
            rest = []
            i += 2
            continue
        if isinstance(seg, int):
            word = _ITEM.get(rest[-1], "item") if rest else "item"
            part = f"{word} {seg + 1}" + (f" of `{'.'.join(rest)}`" if rest else "")
            subject = f"{subject}, {part}" if subject else part
            rest = []
        else:
            rest.append(str(seg))
        i += 1
    return subject, ".".join(rest)


def name_key(doc: Any, loc: Loc) -> str:
    """``metric `spend` (dimension `all`), key `weight``` (or ``key `name``` at the top)."""
    subject, key = place(doc, loc)
    if subject and key:
        return f"{subject}, key `{key}`"
    return subject or f"key `{key}`"


# --------------------------------------------------------------------------------------------
# what a field allows, read from the spec classes


@dataclass(frozen=True)
class Field:
    """The spec field at a path: its owner class, its name and pydantic's field info."""

    owner: type[BaseModel]
    name: str
    info: FieldInfo


def _unwrap(tp: Any) -> Any:
    """``X | None`` to ``X``; ``Annotated[X, ...]`` to ``X``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def is_spec(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def walk(root: type[BaseModel], doc: Any, loc: Loc,
         pick: Callable[[FieldInfo, Any], type[BaseModel] | None]) -> tuple[Any, Field | None]:
    """Follow ``loc`` through the spec classes from ``root``.

    Returns (the type at ``loc``, the last spec field passed on the way). ``pick(field, raw)``
    chooses the class of a field whose class depends on the document (a normaliser by its
    ``method``).
    """
    tp: Any = root
    last: Field | None = None
    for depth, seg in enumerate(loc):
        tp = _unwrap(tp)
        if is_spec(tp):
            info = tp.model_fields.get(str(seg))
            if info is None:
                return None, last
            last = Field(tp, str(seg), info)
            chosen = pick(info, _node(doc, loc[:depth + 1]))
            tp = chosen if chosen is not None else info.annotation
            continue
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is list and isinstance(seg, int) and args:
            tp = args[0]
        elif origin is dict and len(args) == 2:
            tp = args[1]
        else:
            return None, last
    return _unwrap(tp), last


def _bounds(info: FieldInfo) -> dict[str, float]:
    found: dict[str, float] = {}
    for meta in info.metadata:
        for name, cls in (("ge", annotated_types.Ge), ("gt", annotated_types.Gt),
                          ("le", annotated_types.Le), ("lt", annotated_types.Lt)):
            if isinstance(meta, cls):
                found[name] = float(getattr(meta, name))
    return found


def _num(x: float) -> str:
    return f"{x:g}"


def allowed(tp: Any, field: Field | None) -> str:
    """What a value at this place may be, in words (``a number from 0 to 100``)."""
    tp = _unwrap(tp)
    if tp is float or tp is int:
        word = "a whole number" if tp is int else "a number"
        b = _bounds(field.info) if field is not None else {}
        low = f"from {_num(b['ge'])}" if "ge" in b else f"above {_num(b['gt'])}" \
            if "gt" in b else ""
        high = f"to {_num(b['le'])}" if "le" in b else f"below {_num(b['lt'])}" \
            if "lt" in b else ""
        if low and high:
            if low.startswith("above"):
                high = high.replace("to ", "and at most ").replace("below", "and below")
            elif high.startswith("below"):
                high = "up to (not including) " + high.removeprefix("below ")
        elif low.startswith("from"):
            low = "of at least " + low.removeprefix("from ")
        elif high.startswith("to"):
            high = "of at most " + high.removeprefix("to ")
        return " ".join(p for p in (word, low, high) if p)
    if typing.get_origin(tp) is typing.Literal:
        return "one of: " + ", ".join(f"`{a}`" for a in typing.get_args(tp))
    if tp is bool:
        return "true or false"
    if tp is dt.date:
        return "a date as YYYY-MM-DD (e.g. 2025-06-30)"
    if tp is str:
        return "text"
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list, one `- ` item a line (or [a, b])"
    if origin is dict or is_spec(tp):
        return "a mapping of `key: value` lines (or {key: value})"
    return "a single value: text, a number or true/false"


# --------------------------------------------------------------------------------------------
# one pydantic finding in crindex's words

_TYPE_TAG = re.compile(r"^(str|int|float|bool|none|date|datetime|(nullable|list|dict|union|"
                       r"tuple|set|function-\w+|json-or-python)\[.*)$")


def clean_loc(loc: Sequence[Any], tags: Iterable[str] = ()) -> tuple[Loc, bool]:
    """A pydantic error path without its unions' tags; True when several members were tried.

    ``tags`` are the names a tagged union adds after its key (the normalisers' methods).
    """
    tags = set(tags)
    out: list[str | int] = []
    dropped = False
    for i, seg in enumerate(loc):
        if isinstance(seg, str) and _TYPE_TAG.match(seg):
            dropped = True
            continue
        if i and loc[i - 1] == "normalise" and seg in tags:
            continue  # the tag of the normalisers' union: one class is tried, not several
        out.append(seg)
    return tuple(out), dropped


def _pattern_fix(value: Any) -> str:
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(value))
    if not text or text[0].isdigit():
        text = "_" + text
    return text


def explain(err: Mapping[str, Any], doc: Any, loc: Loc, tp: Any, field: Field | None,
            keys: Sequence[str] = (), label: str | None = None) -> tuple[str, str]:
    """(message, hint) for one pydantic error at ``loc`` (already cleaned of union tags).

    ``tp`` and ``field`` say what the place allows (see :func:`walk`); ``keys`` are the keys
    allowed beside an unknown key; ``label`` names the place (default :func:`name_key`).
    """
    kind = err["type"]
    given = err.get("input")
    what = label if label is not None else name_key(doc, loc)
    need = allowed(tp, field)
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        subject = label if label is not None else place(doc, loc[:-1])[0] or \
            (f"key `{place(doc, loc[:-1])[1]}`" if loc[:-1] else "the model")
        hint = with_guess(key, keys, ("allowed keys: " + ", ".join(keys)) if keys else
                          "`crindex model schema` lists every allowed key")
        return f"{subject}: unknown key `{key}`", hint
    if kind == "missing":
        return f"{what} is required but missing", f"add `{loc[-1]}:` with {need}" if loc else ""
    if kind == "finite_number" or (isinstance(given, float) and not math.isfinite(given)):
        unbounded = field is not None and field.name in ("min", "max") and "bins" in loc
        return (f"{what} is {shown(given)}, which is not a number allowed here",
                f"write {need}" + ("; leave the key out for a bin without that bound"
                                   if unbounded else ""))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{what} is {shown(given)}, outside what is allowed", f"write {need}"
    if kind == "literal_error":
        choices = [str(a) for a in typing.get_args(_unwrap(tp))] if typing.get_origin(
            _unwrap(tp)) is typing.Literal else []
        return (f"{what} is {shown(given)}, not one of the values allowed",
                with_guess(given, choices, f"write {need}"))
    if kind == "string_pattern_mismatch":
        return (f"{what} is {shown(given)}, not a valid id: ids are letters, digits and `_`, "
                "not starting with a digit", f"write e.g. `{_pattern_fix(given)}`")
    if kind == "too_short":
        return f"{what} is empty", "it needs at least one item"
    if kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        return f"{what} is {shown(given)}, but it must be {need}", \
            "check the indentation and the `- ` of list items"
    if kind.startswith(("date", "datetime")):
        return f"{what} is {shown(given)}, not a date", f"write {need}"
    if kind in ("value_error", "assertion_error"):
        detail = str(err.get("msg", "")).removeprefix("Value error, ").removeprefix(
            "Assertion failed, ")
        return f"{what} is {shown(given)}: {detail}", ""
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"{what} has no known `method`", ""
    # float_parsing, int_parsing, bool_parsing, string_type, ... and any other type mismatch
    return f"{what} is {shown(given)}, but it must be {need}", f"write {need}"


def problem(err: Mapping[str, Any], doc: Any, loc: Loc, tp: Any, field: Field | None, where: str,
            keys: Sequence[str] = (), reason: Reason = Reason.MODEL_SCHEMA,
            label: str | None = None) -> Problem:
    """:func:`explain` as a :class:`Problem` at ``where``."""
    message, hint = explain(err, doc, loc, tp, field, keys, label)
    return Problem(message, where, hint, reason)
