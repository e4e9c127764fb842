"""Derived columns: the parsed expressions of ``sources.<table>.derive`` compiled to Ibis.

:func:`derive_columns` adds the derived columns to a typed table as one projection over it,
so they are computed in the same scan as the table's read (never a second pass over a fact
table). The expressions are trees of :mod:`crindex.model.expr`; each node becomes the Ibis
expression of the same meaning, with its type checked first so a wrong formula is a clear
message at the ``derive`` key's file:line, not an engine error. No text is ever handed to the
engine as SQL.

The columns an expression reads are the table's columns after renaming and typing: the
contract's (``customer_id``, ``created_at``), the extra columns of the file (typed as
``sources.<table>.types`` declares, or as the file holds them: every CSV column is text).
Truth, for ``count_true``, is defined once: ``true`` for a yes/no column, a number other than
0, or one of the contract's yes-words (:data:`crindex.data.checks.TRUE_WORDS`: yes, y, true,
t, 1, ...; case and spaces ignored); anything else, and an empty value, counts as not true.
Personal data (the contract's personal columns) is only tested for emptiness: a derived column
never copies it under another name.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import ibis
import ibis.expr.types as ir

from crindex.contract import CONTRACT, IBIS_TYPES, PERSONAL_COLUMNS, ibis_schema
from crindex.data.checks import TRUE_WORDS, Typed
from crindex.errors import DataError, Problem, Reason
from crindex.model import expr as ex
from crindex.model.spec import SourceSpec

#: the expression types: the contract's ``num``, ``cat`` (text), ``ts``, ``bool``, and two of
#: the language's own: ``interval`` (months(n), days(n)) and ``null`` (fits any type)
INTERVAL, NULL = "interval", "null"
#: the type of a contract column inside an expression (ids are text)
KIND_OF = {"id": "cat", "cat": "cat", "num": "num", "ts": "ts", "bool": "bool"}
WORDS = {"num": "a number", "cat": "text", "ts": "a date", "bool": "true/false",
         INTERVAL: "a length of time", NULL: "null"}
INTERVAL_UNITS = {"months": "M", "days": "D"}


@dataclass(frozen=True)
class Scope:
    """What an expression reads: a table's typed columns (``kinds``: name -> type).

    ``origin``, ``columns`` (the user's own) and ``mapping`` (contract or extra column -> the
    user's) only word the refusals.
    """

    table: str
    expr: ir.Table
    kinds: dict[str, str]
    src: SourceSpec
    origin: str
    columns: list[str]
    mapping: dict[str, str]


def derive_columns(t: Typed) -> tuple[Typed, list[Problem]]:
    """``t`` with the derived columns of its source added, in one projection; or the problems.

    A derived column named after a contract column (``created_at``) becomes that column, cast
    to the contract's type, and is checked like it; any other name is an extra column.
    """
    src: SourceSpec | None = t.src
    if src is None or not src.derive:
        return t, []
    kinds = {c: KIND_OF[CONTRACT[t.table][c]] for c in t.present}
    kinds.update({c: KIND_OF[k] for c, k in t.extras.items()})
    scope = Scope(t.table, t.typed, kinds, src, t.origin, t.columns, t.mapping)
    new, problems = derived_values(scope)
    if problems:
        return t, problems
    present = [*t.present, *(n for n in new if n in CONTRACT[t.table])]
    extras = {**t.extras, **{n: k for n, (_, k) in new.items() if n not in CONTRACT[t.table]}}
    derived_text = {name: d.expr for name, d in src.derive.items()}
    return replace(t, typed=t.typed.mutate(**{n: v for n, (v, _) in new.items()}),
                   present=present, extras=extras, derived=derived_text), []


def unbound_tables(sources: dict[str, SourceSpec]) -> dict[str, ir.Table]:
    """Unbound Ibis tables of the data contract, with the model's extra and derived columns.

    What ``crindex sql`` compiles against without data: the declared columns with their
    types, the other columns the expressions read as text (as a CSV holds them).
    """
    tables: dict[str, ir.Table] = {}
    for name in CONTRACT:
        schema = dict(ibis_schema(name))
        src = sources.get(name)
        kinds = {c: KIND_OF[k] for c, k in CONTRACT[name].items()}
        if src is not None:
            for col, kind in src.types.items():
                schema[col], kinds[col] = IBIS_TYPES[kind], kind
            for derived in src.derive.values():
                try:
                    read = ex.columns(derived.tree)
                except ex.ExprError:
                    continue  # the model did not load
                for col in read:
                    if col not in schema and col not in src.derive:
                        schema[col], kinds[col] = "string", "cat"
        table = ibis.table(schema, name=name)
        if src is not None and src.derive:
            own = [c for c in schema if c not in CONTRACT[name]]
            scope = Scope(name, table, kinds, src, f"sources.{name}", own, {c: c for c in own})
            new, problems = derived_values(scope)
            if problems:
                raise DataError(Reason.BAD_PARAMETER, problems)
            table = table.mutate(**{n: v for n, (v, _) in new.items()})
        tables[name] = table
    return tables


def derived_values(scope: Scope) -> tuple[dict[str, tuple[Any, str]], list[Problem]]:
    """Each derived column of ``scope.src`` as (Ibis expression, type); or the problems."""
    src, table = scope.src, scope.table
    problems: list[Problem] = []
    new: dict[str, tuple[Any, str]] = {}
    for name, derived in src.derive.items():
        where = derived.at or f"sources.{table}.derive.{name}"
        what = f"sources.{table}.derive.{name}"
        try:
            value, kind = _compile(derived.tree, scope)
            contract = CONTRACT[table].get(name)
            if name in scope.kinds and (contract is None or name in scope.mapping) or \
                    name in scope.columns or name in src.constants:
                source = scope.mapping.get(name, name)
                raise ex.ExprError(f"`{name}` is already a column of {scope.origin} "
                                   f"(`{source}`)", "give the derived column another name")
            if kind in (INTERVAL, NULL):
                raise ex.ExprError(f"the expression is {WORDS[kind]}, not a value",
                                   "a derived column is a number, text, a date or true/false: "
                                   "e.g. date('2024-06-30') - months(tenure)")
            if contract is not None:
                want = KIND_OF[contract]
                if kind != want:
                    raise ex.ExprError(f"`{name}` is a {contract} column of {table} in the "
                                       f"data contract, the expression is {WORDS[kind]}",
                                       f"write an expression giving {WORDS[want]}")
                value = value.cast(IBIS_TYPES[contract])
            new[name] = (value, kind)
        except ex.ExprError as exc:
            problems.append(Problem(f"{what}: {exc.message}", where, exc.hint,
                                    Reason.BAD_PARAMETER))
    return new, problems


def _compile(node: ex.Node, scope: Scope) -> tuple[Any, str]:
    """The Ibis expression of ``node`` over ``scope.expr`` and its type."""

    def go(n: ex.Node) -> tuple[Any, str]:
        return _compile(n, scope)

    if isinstance(node, ex.Num):
        return ibis.literal(node.value), "num"
    if isinstance(node, ex.Text):
        return ibis.literal(node.value, "string"), "cat"
    if isinstance(node, ex.Bool):
        return ibis.literal(node.value, "boolean"), "bool"
    if isinstance(node, ex.Null):
        return None, NULL
    if isinstance(node, ex.Date):
        return ibis.literal(dt.datetime.combine(node.value, dt.time()), "timestamp"), "ts"
    if isinstance(node, ex.Column):
        return _column(node.name, scope)
    if isinstance(node, ex.Neg):
        value, kind = go(node.arg)
        _need(kind, ("num",), "`-` before a value", node)
        return -value, "num"
    if isinstance(node, ex.Not):
        value, kind = go(node.arg)
        _need(kind, ("bool",), "`not`", node)
        return ~value, "bool"
    if isinstance(node, ex.Binary):
        return _binary(node, go)
    if isinstance(node, ex.In):
        value, kind = go(node.arg)
        items = [go(i) for i in node.items]
        for _, k in items:
            _same(kind, k, "`in`", node)
        out = value.isin([v for v, _ in items])
        return (~out if node.negated else out), "bool"
    if isinstance(node, ex.IsNull):
        arg = node.arg
        value, kind = _column(arg.name, scope, True) if isinstance(arg, ex.Column) else go(arg)
        if kind == NULL:
            return ibis.literal(not node.negated), "bool"
        return (value.notnull() if node.negated else value.isnull()), "bool"
    if isinstance(node, ex.Case):
        pairs = []
        for cond, then in node.whens:
            c, ck = go(cond)
            _need(ck, ("bool",), "the condition after `when`", cond)
            pairs.append((c, go(then)))
        branches = [v for _, v in pairs] + ([go(node.default)] if node.default else [])
        kind = _unify([k for _, k in branches], "the values of `case`", node)
        typed = [(c, _null_as(v, k, kind)) for c, (v, k) in pairs]
        default = _null_as(*go(node.default), kind) if node.default else _null_as(None, NULL,
                                                                                   kind)
        return ibis.cases(*typed, else_=default), kind
    if isinstance(node, ex.Call):
        return _call(node, go)
    raise TypeError(node)  # pragma: no cover


def _column(name: str, scope: Scope, tested: bool = False) -> tuple[Any, str]:
    """The column ``name`` and its type; ``tested``: only whether it is empty is used."""
    if name in PERSONAL_COLUMNS and not tested:
        raise ex.ExprError(f"`{name}` is personal data (data contract): an expression only "
                           f"tests whether it is empty", f"write {name} is null or "
                           f"{name} is not null")
    if name in scope.kinds:
        return scope.expr[name], scope.kinds[name]
    renamed = [canon for canon, user in scope.mapping.items() if user == name and canon != name]
    if renamed:
        raise ex.ExprError(f"`{name}` is read as `{renamed[0]}` "
                           f"(sources.{scope.table}.columns)", f"write {renamed[0]}")
    if name in scope.src.derive:
        raise ex.ExprError(f"`{name}` is another derived column: an expression reads the "
                           "table's own columns", "write its expression in place of its name")
    close = difflib.get_close_matches(name, [*scope.kinds, *scope.columns], n=1)
    mean = f"did you mean `{close[0]}`? " if close else ""
    raise ex.ExprError(f"unknown column `{name}`",
                       f"{mean}columns of {scope.origin}: " + ", ".join(scope.columns)
                       + "; names are case-sensitive, a name with spaces goes in backquotes")


def _need(kind: str, allowed: tuple[str, ...], what: str, node: ex.Node) -> None:
    if kind not in (*allowed, NULL):
        need = " or ".join(WORDS[k] for k in allowed)
        raise ex.ExprError(f"{what} takes {need}, found {WORDS[kind]} in `{ex.unparse(node)}`",
                       _declare_hint(kind))


def _declare_hint(kind: str) -> str:
    if kind == "cat":
        return ("a column of a CSV file is text: declare its type, e.g. "
                "sources.<table>.types: {tenure: num}")
    return ""


def _same(a: str, b: str, what: str, node: ex.Node) -> None:
    if NULL not in (a, b) and a != b:
        raise ex.ExprError(f"{what} compares {WORDS[a]} with {WORDS[b]} in `{ex.unparse(node)}`",
                       _declare_hint("cat" if "cat" in (a, b) else a))


def _unify(kinds: list[str], what: str, node: ex.Node) -> str:
    found = [k for k in kinds if k != NULL]
    for k in found[1:]:
        if k != found[0]:
            raise ex.ExprError(f"{what} mix {WORDS[found[0]]} and {WORDS[k]} in "
                           f"`{ex.unparse(node)}`", "give every value the same type")
    return found[0] if found else NULL


def _null_as(value: Any, kind: str, want: str) -> Any:
    if kind != NULL:
        return value
    return ibis.null(IBIS_TYPES.get(want, "string") if want != NULL else "string")


def _binary(node: ex.Binary, go: Callable[[ex.Node], tuple[Any, str]]) -> tuple[Any, str]:
    (a, ka), (b, kb) = go(node.left), go(node.right)
    op = node.op
    if op in ("and", "or"):
        _need(ka, ("bool",), f"`{op}`", node.left)
        _need(kb, ("bool",), f"`{op}`", node.right)
        a, b = _null_as(a, ka, "bool"), _null_as(b, kb, "bool")
        return (a & b if op == "and" else a | b), "bool"
    if op in ex.COMPARISONS:
        if NULL in (ka, kb):
            raise ex.ExprError(f"`{op}` with null is never true in `{ex.unparse(node)}`",
                           "write `x is null` or `x is not null`")
        _same(ka, kb, f"`{op}`", node)
        compare = {"=": a.__eq__, "!=": a.__ne__, "<": a.__lt__, "<=": a.__le__,
                   ">": a.__gt__, ">=": a.__ge__}[op]
        return compare(b), "bool"
    # arithmetic
    if ka == "num" and kb == "num":
        out = {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__}[op](b)
        return out, "num"
    if op in ("+", "-") and ka == "ts" and kb == INTERVAL:
        return (a + b if op == "+" else a - b), "ts"
    if op == "+" and ka == INTERVAL and kb == "ts":
        return b + a, "ts"
    if NULL in (ka, kb):
        raise ex.ExprError(f"`{op}` with null is always null in `{ex.unparse(node)}`",
                       "use coalesce(x, 0) for an empty value")
    raise ex.ExprError(f"`{op}` takes two numbers" + (", or a date and months(n) or days(n)"
                                                  if op in "+-" else "")
                   + f"; found {WORDS[ka]} and {WORDS[kb]} in `{ex.unparse(node)}`",
                   _declare_hint("cat" if "cat" in (ka, kb) else ka))


def _call(node: ex.Call, go: Callable[[ex.Node], tuple[Any, str]]) -> tuple[Any, str]:
    args = [go(a) for a in node.args]
    f = node.func
    if f in INTERVAL_UNITS:
        value, kind = args[0]
        _need(kind, ("num",), f"`{f}`", node)
        if kind == NULL:
            value = ibis.null("float64")
        # whole months or days: a fraction is dropped
        return value.floor().cast("int64").as_interval(INTERVAL_UNITS[f]), INTERVAL
    if f in ("lower", "strip"):
        value, kind = args[0]
        _need(kind, ("cat",), f"`{f}`", node)
        if kind == NULL:
            return ibis.null("string"), "cat"
        return (value.lower() if f == "lower" else value.strip()), "cat"
    if f == "coalesce":
        kind = _unify([k for _, k in args], "the values of `coalesce`", node)
        return ibis.coalesce(*[_null_as(v, k, kind) for v, k in args]), kind
    if f == "count_true":
        counted = [_truth(v, k, node) for v, k in args if k != NULL]
        if not counted:
            return ibis.literal(0), "num"
        total = counted[0]
        for c in counted[1:]:
            total = total + c
        return total, "num"
    raise TypeError(f)  # pragma: no cover


def _truth(value: Any, kind: str, node: ex.Node) -> Any:
    """1 when ``value`` is true (see the module's docstring), else 0."""
    if kind == "bool":
        true = value
    elif kind == "num":
        true = value != 0
    elif kind == "cat":
        true = value.strip().lower().isin(TRUE_WORDS)
    else:
        raise ex.ExprError(f"`count_true` counts yes/no values, numbers and words; found "
                       f"{WORDS[kind]} in `{ex.unparse(node)}`", "")
    return ibis.ifelse(true.fill_null(False), 1, 0)
