"""Sub-model rules checked as a partition: every customer gets exactly one sub-model.

A sub-model's ``match`` is a conjunction of conditions on customers columns. Each column's
values fall into finitely many *atoms* that no condition can tell apart: empty (null), each
value a rule names, and one value for each stretch between (or beyond) them (for a number
column ``employees >= 250``: below 250, 250 itself, above 250; for a text column: each named
word and "any other word", unless the contract fixes the column's words). A cell picks one atom
per column; every customer falls in exactly one cell, and a rule holds on the whole cell or on
none of it. So checking one representative value per cell *proves* the rules exclusive (no
cell matched by two rules) and exhaustive (no cell matched by none, unless a ``default``
sub-model takes the rest), with the cell as the example in the message.

Conditions hold as in SQL, as the engine's filter (:func:`crindex.engine.aggregates.
filter_condition`) runs them: an empty value satisfies only ``is_null: true`` (or ``col:
null``), never ``!=`` or ``not_in``.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from crindex.contract import CONTRACT, VOCABULARIES
from crindex.errors import Problem, Reason
from crindex.model.registry import register_rule
from crindex.model.rules import Checking, _where_problems, extra_columns, weight_problems
from crindex.model.spec import SubModelSpec

#: more cells than this are not enumerated (the rule then says it could not check)
MAX_CELLS = 200_000
#: at most this many gap examples are reported (the rest are counted)
MAX_GAPS = 10

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class _Null:
    """An empty cell (SQL NULL)."""

    def __repr__(self) -> str:
        return "NULL"


NULL = _Null()


def holds(cond: Any, value: Any) -> bool:
    """Whether ``value`` (``NULL`` for empty) satisfies one column's condition, as SQL does."""
    if isinstance(cond, list):
        return value is not NULL and value in cond
    if cond is None:
        return value is NULL
    if not isinstance(cond, dict):
        return value is not NULL and value == cond
    for op, target in cond.items():
        if op == "is_null":
            ok = (value is NULL) == bool(target)
        elif value is NULL:
            ok = False
        elif op == "==":
            ok = value == target
        elif op == "!=":
            ok = value != target
        elif op == "in":
            ok = value in target
        elif op == "not_in":
            ok = value not in target
        else:
            try:
                ok = _ORDER[op](value, target)
            except TypeError:
                ok = False
        if not ok:
            return False
    return True


def matches(rule: dict[str, Any], row: dict[str, Any]) -> bool:
    """Whether a customer (``{column: value}``, ``NULL`` for empty) satisfies a ``match``."""
    return all(holds(cond, row.get(col, NULL)) for col, cond in rule.items())


@dataclass(frozen=True)
class Atom:
    """One value standing for every value of a column no condition tells apart."""

    value: Any
    text: str


def _literals(cond: Any) -> tuple[list[Any], bool]:
    """The values a condition names, and whether it compares by order (``>=``, ``<``...)."""
    if isinstance(cond, list):
        return [v for v in cond if v is not None], False
    if isinstance(cond, dict):
        out: list[Any] = []
        ordered = False
        for op, target in cond.items():
            if op == "is_null":
                continue
            ordered = ordered or op in _ORDER
            out += [v for v in (target if isinstance(target, list) else [target])
                    if v is not None]
        return out, ordered
    return ([] if cond is None else [cond]), False


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def atoms(column: str, conditions: list[Any], kind: str | None) -> list[Atom]:
    """The atoms of ``column`` under the rules' ``conditions`` on it (see the module text)."""
    values: list[Any] = []
    ordered = False
    for cond in conditions:
        found, by_order = _literals(cond)
        values += found
        ordered = ordered or by_order
    out = [Atom(NULL, f"{column} is empty")]
    if kind == "bool" or (values and all(isinstance(v, bool) for v in values)):
        return out + [Atom(True, f"{column} = true"), Atom(False, f"{column} = false")]
    if kind == "num" or (values and all(_number(v) for v in values)):
        points = sorted({float(v) for v in values if _number(v)})
        if not points:
            return out + [Atom(0.0, f"{column} is any number")]
        out.append(Atom(points[0] - 1.0, f"{column} < {points[0]:g}"))
        for lo, hi in itertools.pairwise(points):
            out.append(Atom(lo, f"{column} = {lo:g}"))
            out.append(Atom((lo + hi) / 2.0, f"{lo:g} < {column} < {hi:g}"))
        out.append(Atom(points[-1], f"{column} = {points[-1]:g}"))
        out.append(Atom(points[-1] + 1.0, f"{column} > {points[-1]:g}"))
        return out
    words = sorted({str(v) for v in values})
    vocabulary = VOCABULARIES.get("customers", {}).get(column, ())
    if vocabulary:
        return out + [Atom(w, f"{column} = {w}") for w in sorted({*vocabulary, *words})]
    out += [Atom(w, f"{column} = {w}") for w in words]
    if not ordered:
        other = "\x00other"
        named = ", ".join(words)
        return out + [Atom(other, f"{column} is another value" + (f" (not {named})"
                                                                    if named else ""))]
    # text compared by order: one word between each two named ones, and beyond them
    if not words:
        return out + [Atom("", f"{column} is any text")]
    if words[0] != "":
        out.append(Atom("", f"{column} < {words[0]!r}"))
    for low, high in itertools.pairwise(words):
        between = low + "\x00"
        if low < between < high:
            out.append(Atom(between, f"{low!r} < {column} < {high!r}"))
    out.append(Atom(words[-1] + "\x00", f"{column} > {words[-1]!r}"))
    return out


@dataclass(frozen=True)
class Finding:
    """What checking the rules found: overlapping pairs, uncovered cells, unused default."""

    #: (index of the earlier rule, index of the later one, the cell both take)
    overlaps: list[tuple[int, int, tuple[Atom, ...]]]
    #: cells no rule takes (only when there is no default)
    gaps: list[tuple[Atom, ...]]
    gap_count: int
    #: whether some cell is left to the default sub-model
    default_used: bool
    #: more cells than :data:`MAX_CELLS`: nothing was checked
    too_many: int = 0


def check_partition(rules: list[dict[str, Any]], kinds: dict[str, str | None],
                    has_default: bool) -> Finding:
    """Check ``rules`` (the non-default sub-models' ``match``, in order) as a partition.

    ``kinds`` gives each column's contract type (``num``, ``cat``, ``bool``...; ``None`` when
    unknown: read from the values the rules name).
    """
    columns = sorted({col for rule in rules for col in rule})
    per_column = [atoms(col, [r[col] for r in rules if col in r], kinds.get(col))
                  for col in columns]
    cells = math.prod(len(a) for a in per_column)
    if cells > MAX_CELLS:
        return Finding([], [], 0, True, too_many=cells)
    overlaps: dict[tuple[int, int], tuple[Atom, ...]] = {}
    gaps: list[tuple[Atom, ...]] = []
    gap_count = 0
    for cell in itertools.product(*per_column):
        row = {col: atom.value for col, atom in zip(columns, cell, strict=True)}
        hit = [i for i, rule in enumerate(rules) if matches(rule, row)]
        if not hit:
            gap_count += 1
            if len(gaps) < MAX_GAPS:
                gaps.append(cell)
        for i, j in itertools.combinations(hit, 2):
            overlaps.setdefault((i, j), cell)
    return Finding([(i, j, cell) for (i, j), cell in sorted(overlaps.items())],
                   gaps, gap_count, gap_count > 0)


def describe(cell: tuple[Atom, ...]) -> str:
    """A cell in words: ``segment = b2b, region is empty`` (every customer, for no column)."""
    return ", ".join(a.text for a in cell) or "every customer"


# --------------------------------------------------------------------------------------------
# the validation rules


def _key_line(c: Checking, key: str) -> str:
    """``file:line`` of a top-level key of the model file."""
    return c.where((key,)) if c.where is not None else c.model.path


def _rules(c: Checking) -> list[SubModelSpec]:
    return [s for s in c.model.submodels if not s.default]


@register_rule("sub-model rules are exhaustive and exclusive")
def _partition(c: Checking) -> Iterable[Problem]:
    subs = c.model.submodels
    if not subs:
        return
    defaults = [s for s in subs if s.default]
    for extra in defaults[1:]:
        yield Problem(f"sub-model `{extra.id}` is a second default (the first is "
                      f"`{defaults[0].id}` at {c.at(defaults[0])})", c.line(extra, "default"),
                      "keep one `default: true` sub-model: it takes the customers no rule "
                      "takes", Reason.SUBMODEL_OVERLAP)
    rules = _rules(c)
    extra_cols = extra_columns(c.model, "customers")
    bad_columns = False
    for sub in rules:
        found = _where_problems(sub.match, "customers", f"sub-model `{sub.id}` match",
                                c.line(sub, "match"), extra_cols)
        bad_columns = bad_columns or bool(found)
        yield from found
    if bad_columns:
        return  # the cells of unknown columns or ill-typed values prove nothing
    kinds = {col: CONTRACT["customers"].get(col) or extra_cols.get(col)
             for sub in rules for col in (sub.match or {})}
    finding = check_partition([dict(s.match or {}) for s in rules], kinds, bool(defaults))
    if finding.too_many:
        yield Problem(f"the sub-model rules split customers into {finding.too_many:,} cases, "
                      f"more than the {MAX_CELLS:,} checked: they were not proven exclusive",
                      _key_line(c, "submodels"), "match on fewer columns or values",
                      Reason.SUBMODEL_OVERLAP)
        return
    for i, j, cell in finding.overlaps:
        first, second = rules[i], rules[j]
        yield Problem(
            f"sub-models `{first.id}` ({c.line(first, 'match')}) and `{second.id}` both match "
            f"customers with {describe(cell)}", c.line(second, "match"),
            "each customer must match one sub-model: narrow one rule (e.g. add "
            "`not_in`, or a bound the other rule excludes)", Reason.SUBMODEL_OVERLAP)
    if not defaults:
        for cell in finding.gaps:
            yield Problem(f"no sub-model matches customers with {describe(cell)}",
                          _key_line(c, "submodels"),
                          "widen a rule, or add a sub-model with `default: true` for the "
                          "customers no rule takes", Reason.SUBMODEL_GAP)
        if finding.gap_count > len(finding.gaps):
            yield Problem(f"... and {finding.gap_count - len(finding.gaps):,} more cases no "
                          "sub-model matches", _key_line(c, "submodels"),
                          "add a sub-model with `default: true`", Reason.SUBMODEL_GAP)


@register_rule("a default sub-model takes some customers", level="warning")
def _default_used(c: Checking) -> Iterable[Problem]:
    defaults = [s for s in c.model.submodels if s.default]
    if not defaults:
        return
    rules = _rules(c)
    extra_cols = extra_columns(c.model, "customers")
    kinds = {col: CONTRACT["customers"].get(col) or extra_cols.get(col)
             for sub in rules for col in (sub.match or {})}
    finding = check_partition([dict(s.match or {}) for s in rules], kinds, True)
    if not finding.too_many and not finding.default_used:
        yield Problem(f"the default sub-model `{defaults[0].id}` takes no customer: the other "
                      "rules take every case", c.at(defaults[0]), "remove it",
                      Reason.SUBMODEL_GAP)


@register_rule("sub-model weights name metrics and sum to 100")
def _submodel_weights(c: Checking) -> Iterable[Problem]:
    model = c.model
    ids = {d.id for d in model.dimensions} | {m.id for _, m in model.metrics}
    seen: dict[str, str] = {}
    for sub in model.submodels:
        if sub.id in seen:
            yield Problem(f"sub-model id `{sub.id}` is used twice (first at {seen[sub.id]})",
                          c.at(sub), "give each sub-model its own id", Reason.DUPLICATE_ID)
        seen.setdefault(sub.id, c.at(sub))
        unknown = [k for k in sub.weights if k not in ids]
        for key in unknown:
            yield Problem(f"sub-model `{sub.id}` weighs `{key}`, which is no metric or "
                          "dimension of the model", c.line(sub, "weights", key),
                          "ids: " + ", ".join(sorted(ids)), Reason.UNKNOWN_COLUMN)
        if unknown:
            continue
        variant = model.submodel(sub.id)
        for p in weight_problems([(d.id, d.weight, c.line(sub, "weights"),
                                   [(m.id, m.weight) for m in d.metrics])
                                  for d in variant.dimensions]):
            yield Problem(f"sub-model `{sub.id}`: {p.message}", c.line(sub, "weights"),
                          p.hint, p.reason)
