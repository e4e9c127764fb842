"""Validation of a parsed model as a list of rules, each returning every problem it finds.

A rule is a function of a :class:`Checking` (the model, and where each key of the file is)
registered with :func:`~crindex.model.registry.register_rule` and a level: ``error`` problems
stop the model from loading, ``warning`` problems are kept on the model and printed by
``crindex validate`` and ``crindex score``. The rules here are the built-in ones; plug-ins add
theirs from their own modules (CLV params and spend column in :mod:`crindex.clv.metrics`,
``monthly_count`` in :mod:`crindex.engine.aggregates`, alerts in :mod:`crindex.alerts.rules`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from crindex.calendar import parse_window
from crindex.contract import CONTRACT, TABLE, TYPE_WORDS, UNIQUE_ID, USUAL_VALUES, VOCABULARIES
from crindex.errors import Problem, Reason
from crindex.model import wording
from crindex.model.expr import ExprError
from crindex.model.expr import parse as parse_expression
from crindex.model.registry import (
    AGGREGATES,
    RULES,
    NoParams,
    metric_table,
    register_rule,
)
from crindex.model.spec import (
    DERIVED_CUSTOMER_COLUMNS,
    FILTER_OPS,
    ROLLUP_FUNCTIONS,
    CRIModel,
    DimensionSpec,
    MetricSpec,
    SourceSpec,
    SubAggregate,
    parse_rollup,
    rollup_kind,
)

Loc = tuple[str | int, ...]

#: aggregates whose ``column`` may be of any type (the others need a number)
ANY_COLUMN = ("latest", "distinct_count", "count")


@dataclass(frozen=True)
class Checking:
    """What a rule sees: the model and a way to name the file:line of any key in it."""

    model: CRIModel
    #: ``file:line`` of a path inside the document (``None`` for a model built in code)
    where: Callable[[Loc], str] | None = None

    def at(self, obj: Any) -> str:
        """``file:line`` of a spec object (the model's path when built in code)."""
        return getattr(obj, "at", "") or self.model.path

    def line(self, obj: Any, *keys: str | int) -> str:
        """``file:line`` of a key under a spec object: ``line(metric, "params", "horizon")``."""
        loc = getattr(obj, "loc", ())
        if self.where is not None and loc:
            return self.where((*loc, *keys))
        return self.at(obj)

    def metrics(self, *aggregates: str) -> list[MetricSpec]:
        """The model's metrics (of the given aggregates only, when named)."""
        return [m for _, m in self.model.metrics if not aggregates or m.aggregate in aggregates]


def validate(model: CRIModel, where: Callable[[Loc], str] | None = None
             ) -> tuple[list[Problem], list[Problem]]:
    """Run every registered rule; return (errors, warnings), each in rule order."""
    checking = Checking(model, where)
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for rule in RULES.values():
        found = list(rule.check(checking))
        (warnings if rule.level == "warning" else errors).extend(found)
    return errors, warnings


# --------------------------------------------------------------------------------------------
# weights


def _sum_is_100(values: list[float]) -> bool:
    return math.isclose(sum(values), 100.0, abs_tol=1e-6)


def _listing(items: list[str], limit: int = 20) -> str:
    """``a, b, c``: at most ``limit`` items, then how many more."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


def weight_problems(
    dims: list[tuple[str, float | None, str, list[tuple[str, float]]]],
) -> list[Problem]:
    """Weights must sum to 100: per dimension set and within each dimension, or flat.

    ``dims`` holds (dimension id, its weight or None, file:line, [(metric id, weight)]).
    """
    problems: list[Problem] = []
    if not dims:
        return problems
    weighted = [w is not None for _, w, _, _ in dims]
    if any(weighted) and not all(weighted):
        missing = [d for d, w, _, _ in dims if w is None]
        problems.append(Problem(
            f"dimensions {_listing(missing)} have no weight while others do", dims[0][2],
            "give every dimension a weight (they sum to 100), or none and make the metric "
            "weights sum to 100 over the whole model", Reason.WEIGHTS_SUM,
        ))
    elif not any(weighted):
        flat = [w for _, _, _, ms in dims for _, w in ms]
        if not _sum_is_100(flat):
            detail = _listing([f"`{d}` {sum(w for _, w in ms):g} ({at})" for d, _, at, ms in dims])
            problems.append(Problem(
                f"metric weights sum to {sum(flat):g}, they must sum to 100 (dimensions carry "
                f"no weight, so metric weights are flat over the model; by dimension: {detail})",
                dims[0][2],
                "change the metric weights, or give each dimension a weight and make metric "
                "weights sum to 100 within each dimension", Reason.WEIGHTS_SUM,
            ))
    else:
        total = sum(w or 0.0 for _, w, _, _ in dims)
        if not _sum_is_100([w or 0.0 for _, w, _, _ in dims]):
            detail = _listing([f"`{d}` {w:g} ({at})" for d, w, at, _ in dims])
            problems.append(Problem(
                f"dimension weights sum to {total:g}, they must sum to 100: {detail}",
                dims[0][2], "change the dimension weights so they add up to 100",
                Reason.WEIGHTS_SUM,
            ))
        for d, _, at, ms in dims:
            ws = [w for _, w in ms]
            if not _sum_is_100(ws):
                detail = _listing([f"`{m}` {w:g}" for m, w in ms])
                problems.append(Problem(
                    f"weights of dimension `{d}` sum to {sum(ws):g}, they must sum to 100 "
                    f"({detail})", at, "metric weights within a dimension add up to 100",
                    Reason.WEIGHTS_SUM,
                ))
    return problems


@register_rule("weights sum to 100")
def _weights(c: Checking) -> list[Problem]:
    return weight_problems([
        (d.id, d.weight, c.at(d), [(m.id, m.weight) for m in d.metrics])
        for d in c.model.dimensions
    ])


@register_rule("weight 0 counts for nothing", level="warning")
def _zero_weights(c: Checking) -> Iterable[Problem]:
    for d in c.model.dimensions:
        if d.weight == 0:
            yield Problem(f"dimension `{d.id}` has weight 0: its metrics are computed but never "
                          "count", c.line(d, "weight"), "give it a weight or remove it",
                          Reason.WEIGHTS_SUM)
        for m in d.metrics:
            if m.weight == 0:
                yield Problem(f"metric `{m.id}` has weight 0: it is computed but never counts",
                              c.line(m, "weight"), "give it a weight or remove it",
                              Reason.WEIGHTS_SUM)


# --------------------------------------------------------------------------------------------
# ids, sources, personal columns


@register_rule("ids are unique")
def _unique_ids(c: Checking) -> Iterable[Problem]:
    seen: dict[str, str] = {}
    objs: list[DimensionSpec | MetricSpec] = [*c.model.dimensions, *c.metrics()]
    for obj in objs:
        if obj.id in seen:
            yield Problem(f"id `{obj.id}` is used twice (first at {seen[obj.id]})", c.at(obj),
                          "dimension and metric ids must be unique", Reason.DUPLICATE_ID)
        else:
            seen[obj.id] = c.at(obj)


@register_rule("sources name contract tables and columns")
def _sources(c: Checking) -> Iterable[Problem]:
    for table, src in c.model.sources.items():
        if table not in CONTRACT:
            yield Problem(f"unknown table `{table}` in sources", c.at(src),
                          wording.with_guess(table, CONTRACT,
                                             "canonical tables: " + ", ".join(CONTRACT)),
                          Reason.UNKNOWN_TABLE)
            continue
        for user_col, canon in src.columns.items():
            if canon not in CONTRACT[table]:
                yield Problem(
                    f"sources.{table}.columns maps `{user_col}` to `{canon}`, which is not a "
                    f"column of {table}", c.line(src, "columns", user_col),
                    wording.with_guess(canon, CONTRACT[table],
                                       f"columns of {table}: " + ", ".join(CONTRACT[table])),
                    Reason.UNKNOWN_COLUMN)
        for col in src.units:
            if CONTRACT[table].get(col) != "num":
                yield Problem(
                    f"sources.{table}.units names `{col}`, not a numeric column of {table}",
                    c.at(src), "numeric columns: "
                    + ", ".join(k for k, t in CONTRACT[table].items() if t == "num"),
                    Reason.UNKNOWN_COLUMN)
        for col in src.types:
            if col.startswith("_"):
                yield Problem(f"sources.{table}.types names `{col}`: names starting with _ are "
                              "crindex's own", c.line(src, "types", col),
                              "rename the column in your file", Reason.BAD_PARAMETER)
            elif col.strip().lower() in CONTRACT[table]:
                canon = col.strip().lower()
                yield Problem(
                    f"sources.{table}.types names `{col}`, read as the data contract's "
                    f"`{canon}`: its type is the contract's ({CONTRACT[table][canon]})",
                    c.line(src, "types", col),
                    "types declares the other columns of your file; remove this line",
                    Reason.BAD_PARAMETER)
        for name in src.derive:
            if name.startswith("_"):
                yield Problem(f"sources.{table}.derive names `{name}`: names starting with _ are "
                              "crindex's own", c.line(src, "derive", name),
                              "name it with a letter first", Reason.BAD_PARAMETER)
            elif name in src.types:
                yield Problem(f"sources.{table}.derive names `{name}`, which types also "
                              "declares", c.line(src, "derive", name),
                              "a derived column's type is its expression's: remove it from "
                              "types", Reason.BAD_PARAMETER)
        yield from _source_values(c, table)
        yield from _source_shape(c, table)


#: the tables a roll-up may build: those with an id of their own that refer to customers
ROLLUP_TABLES = tuple(t for t, cols in CONTRACT.items() if t in UNIQUE_ID
                      and "customer_id" in cols and t != "customers")


def _source_shape(c: Checking, table: str) -> Iterable[Problem]:
    """``from``, ``lookups`` and ``rollup`` name what exists and go together."""
    src = c.model.sources[table]
    if src.from_ is not None:
        if table != "customers":
            yield Problem(f"sources.{table}.from: only customers may be derived from another "
                          "table", c.line(src, "from"),
                          f"read {table} from a file (sources.{table}.path) or remove `from`",
                          Reason.BAD_PARAMETER)
        elif src.from_ not in CONTRACT or "customer_id" not in CONTRACT[src.from_] \
                or src.from_ == "customers":
            yield Problem(f"sources.customers.from names `{src.from_}`, which is not a table "
                          "with customer ids", c.line(src, "from"),
                          "tables with customer ids: " + ", ".join(
                              t for t, cols in CONTRACT.items()
                              if "customer_id" in cols and t != "customers"),
                          Reason.UNKNOWN_TABLE)
        for m in c.metrics():
            info = AGGREGATES.get(m.aggregate)
            cols = {m.column, *(info.reads if info else ())} - {None}
            if metric_table(m) == "customers" and cols - set(DERIVED_CUSTOMER_COLUMNS):
                yield Problem(
                    f"metric `{m.id}` reads customers."
                    + ", customers.".join(sorted(c_ for c_ in cols if c_))
                    + f", but customers are derived from {src.from_} (`from: {src.from_}`) "
                    "and hold only " + " and ".join(DERIVED_CUSTOMER_COLUMNS), c.at(m),
                    "read the customer file instead of `from:`, or remove the metric",
                    Reason.UNKNOWN_COLUMN)
        given = [k for k in ("path", "table", "sheet", "rollup") if getattr(src, k)]
        given += ["lookups"] if src.lookups else []
        given += ["columns"] if src.columns else []
        if given:
            yield Problem(f"sources.{table} is derived (`from: {src.from_}`), so it reads no "
                          "file: " + ", ".join(f"`{k}`" for k in given) + " cannot apply",
                          c.line(src, "from"), "remove them, or remove `from` and read a file",
                          Reason.BAD_PARAMETER)
    for i, lookup in enumerate(src.lookups):
        if bool(lookup.path) == bool(lookup.table):
            yield Problem(f"sources.{table}.lookups[{i}] needs either `path` (a file in the data "
                          "folder) or `table` (in a DuckDB file or database), one of them",
                          c.line(src, "lookups", i), "e.g. {path: demographics.csv, on: "
                          "household_key}", Reason.MODEL_SCHEMA)
    if src.rollup is not None:
        yield from _rollup_problems(c, table, src)


def _rollup_problems(c: Checking, table: str, src: SourceSpec) -> Iterable[Problem]:
    rollup = src.rollup
    assert rollup is not None
    if table not in ROLLUP_TABLES:
        yield Problem(f"sources.{table}.rollup: {table} cannot be rolled up",
                      c.line(src, "rollup"), "tables that can: " + ", ".join(ROLLUP_TABLES),
                      Reason.BAD_PARAMETER)
        return
    key = UNIQUE_ID[table]
    mapped = src.columns.get(rollup.by, rollup.by)
    if mapped in CONTRACT[table] and mapped != key:
        yield Problem(f"sources.{table}.rollup.by is `{rollup.by}`, which is {table}.{mapped}; "
                      f"a roll-up groups by the id of the rows it makes ({table}.{key})",
                      c.line(src, "rollup", "by"),
                      f"name the column holding the basket or group id (it becomes {key})",
                      Reason.BAD_PARAMETER)
    for out, text in rollup.columns.items():
        found = parse_rollup(text)
        where = c.line(src, "rollup", out)
        if found is None:
            yield Problem(f"sources.{table}.rollup.{out}: `{text}` is not a roll-up function",
                          where, "write <function>(<column>), function one of: "
                          + ", ".join(ROLLUP_FUNCTIONS) + "; count() takes no column",
                          Reason.BAD_PARAMETER)
        if out in (key, rollup.by):
            yield Problem(f"sources.{table}.rollup.{out}: `{out}` is the group's id, set by "
                          "`by`", where, "remove it", Reason.BAD_PARAMETER)


@register_rule("derived columns parse")
def _derived(c: Checking) -> Iterable[Problem]:
    for table, src in c.model.sources.items():
        for name, derived in src.derive.items():
            try:
                parse_expression(derived.expr)
            except ExprError as exc:
                yield Problem(f"sources.{table}.derive.{name}: {exc.message}",
                              c.line(src, "derive", name), exc.hint, Reason.BAD_PARAMETER)


def _source_values(c: Checking, table: str) -> Iterable[Problem]:
    """``values:`` maps categorical contract columns onto words of the contract's vocabulary.

    Constants of such a column must be in the vocabulary too.
    """
    src = c.model.sources[table]
    categorical = [k for k, t in CONTRACT[table].items() if t == "cat"]
    vocab = VOCABULARIES.get(table, {})
    for col, mapping in src.values.items():
        kind = CONTRACT[table].get(col)
        if kind is None:
            renamed = src.columns.get(col)
            hint = (f"values are keyed by the contract's column: `{col}` is renamed to "
                    f"`{renamed}`, write values: {{{renamed}: {{...}}}}" if renamed else
                    f"categorical columns of {table}: " + ", ".join(categorical))
            yield Problem(f"sources.{table}.values names `{col}`, which is not a column of "
                          f"{table}", c.line(src, "values", col), hint, Reason.UNKNOWN_COLUMN)
            continue
        if kind != "cat":
            yield Problem(f"sources.{table}.values names `{col}`, a {kind} column; values maps "
                          "the words of categorical columns", c.line(src, "values", col),
                          f"categorical columns of {table}: " + ", ".join(categorical),
                          Reason.UNKNOWN_COLUMN)
            continue
        allowed = vocab.get(col)
        for given, target in mapping.items():
            if allowed is not None and target not in allowed:
                yield Problem(
                    f"sources.{table}.values.{col} maps `{given}` to `{target}`, which is not a "
                    f"value of {table}.{col} in the data contract",
                    c.line(src, "values", col, given),
                    f"{table}.{col} is one of: " + ", ".join(allowed), Reason.BAD_PARAMETER)
    for col, value in src.constants.items():
        allowed = vocab.get(col)
        if allowed is not None and value is not None and str(value) not in allowed:
            yield Problem(
                f"sources.{table}.constants gives {col} `{value}`, which is not a value of "
                f"{table}.{col} in the data contract", c.line(src, "constants", col),
                f"{table}.{col} is one of: " + ", ".join(allowed), Reason.BAD_PARAMETER)


@register_rule("keep_personal names customers columns")
def _keep_personal(c: Checking) -> Iterable[Problem]:
    for col in c.model.keep_personal:
        if col not in CONTRACT["customers"]:
            yield Problem(f"keep_personal names `{col}`, not a customers column",
                          c.at(c.model),
                          "columns of customers: " + ", ".join(CONTRACT["customers"]),
                          Reason.UNKNOWN_COLUMN)


# --------------------------------------------------------------------------------------------
# metrics: tables, columns, filters, params, normalisers


def extra_columns(model: CRIModel, table: str) -> dict[str, str | None]:
    """The columns of ``table`` a model may read besides the contract's: ``{name: type}``.

    Those ``sources.<table>.types`` declares (with their type) and those
    ``sources.<table>.derive`` computes (type ``None``: the expression's, known once the
    data is open). A rolled-up table has the roll-up's outputs instead (``products:
    count_distinct(product_id)`` is a number; ``min``/``max``/``first``/``last`` keep their
    column's type, known once the data is open): the lines' columns do not outlive it.
    """
    src = model.sources.get(table)
    if src is None:
        return {}
    if src.rollup is not None:
        out: dict[str, str | None] = {}
        for name, text in src.rollup.columns.items():
            parsed = parse_rollup(text)
            if parsed is not None and name not in CONTRACT[table]:
                out[name] = rollup_kind(parsed[0], None)
        return out
    return {**{k: v for k, v in src.types.items()}, **{k: None for k in src.derive}}


def _not_a_column(what: str, col: str, table: str, extra: dict[str, str | None],
                  at: str, noun: str = "column") -> Problem:
    known = [*CONTRACT[table], *extra]
    return Problem(
        f"{what} `{col}` is not a column of {table}", at,
        wording.with_guess(col, known, f"columns of {table}: " + ", ".join(known)
                           + "; a column of your own file is declared with its type: "
                           f"sources.{table}.types: {{{col}: num}} (or cat, ts, bool), "
                           f"or computed: sources.{table}.derive"), Reason.UNKNOWN_COLUMN)


def _where_problems(where_: dict[str, Any] | None, table: str, what: str,
                    at: str, extra: dict[str, str | None]) -> list[Problem]:
    problems: list[Problem] = []
    for col, cond in (where_ or {}).items():
        kind = CONTRACT[table].get(col) or extra.get(col)
        if col not in CONTRACT[table] and col not in extra:
            problems.append(_not_a_column(f"{what}: filter column", col, table, extra, at))
            continue
        if kind is not None:
            problems += _condition_problems(cond, kind, f"{what}: filter on `{col}`", at)
    return problems


def _fits(value: Any, kind: str) -> bool:
    """A filter value can be compared with a contract column of type ``kind``."""
    if value is None:
        return True
    if kind == "num":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)


def _condition_problems(cond: Any, kind: str, what: str, at: str) -> list[Problem]:
    """Operators are known, lists are lists, and values fit the column's type."""
    expected = {"num": "a number", "bool": "true or false"}.get(kind, "text")
    bad: list[Any] = []
    problems: list[Problem] = []
    if isinstance(cond, dict):
        for op, value in cond.items():
            if op not in FILTER_OPS:
                problems.append(Problem(f"{what}: unknown filter operator `{op}`", at,
                                        "operators: " + ", ".join(FILTER_OPS),
                                        Reason.BAD_PARAMETER))
            elif op in ("in", "not_in"):
                if not isinstance(value, list):
                    problems.append(Problem(f"{what}: `{op}` needs a list, found {value!r}", at,
                                            f"write {op}: [a, b]", Reason.BAD_PARAMETER))
                else:
                    bad += [v for v in value if not _fits(v, kind)]
            elif op == "is_null":
                if not isinstance(value, bool):
                    problems.append(Problem(f"{what}: `is_null` takes true or false, found "
                                            f"{value!r}", at, "", Reason.BAD_PARAMETER))
            elif isinstance(value, list):
                problems.append(Problem(f"{what}: `{op}` compares with one value, found a list",
                                        at, "use `in` for a list", Reason.BAD_PARAMETER))
            elif not _fits(value, kind):
                bad.append(value)
    elif isinstance(cond, list):
        bad += [v for v in cond if not _fits(v, kind)]
    elif not _fits(cond, kind):
        bad.append(cond)
    if bad:
        problems.append(Problem(f"{what}: {', '.join(repr(v) for v in bad)} cannot be compared "
                                f"with a {kind} column", at, f"write {expected}",
                                Reason.BAD_PARAMETER))
    return problems


def _part_problems(part: SubAggregate | MetricSpec, table: str, what: str,
                   at: str, extra: dict[str, str | None]) -> list[Problem]:
    problems: list[Problem] = []
    info = AGGREGATES.get(part.aggregate)
    if info is None:
        return problems  # reported before the schema is checked
    columns: dict[str, str | None] = {**CONTRACT[table], **extra}
    if info.needs_column:
        kind = columns.get(part.column or "")
        if not part.column:
            problems.append(Problem(
                f"{what}: aggregate `{part.aggregate}` needs a `column`", at,
                f"columns of {table}: " + ", ".join(columns), Reason.BAD_PARAMETER,
            ))
        elif part.column not in columns:
            problems.append(_not_a_column(f"{what}: column", part.column, table, extra, at))
        elif info.numeric and part.aggregate not in ANY_COLUMN and kind not in ("num", None):
            problems.append(Problem(
                f"{what}: `{part.aggregate}` needs a numeric column, `{part.column}` is "
                f"{kind}", at,
                "numeric columns of " + table + ": "
                + ", ".join(k for k, t in columns.items() if t == "num"),
                Reason.BAD_PARAMETER,
            ))
    if not info.takes_column and part.column:
        problems.append(Problem(
            f"{what}: aggregate `{part.aggregate}` reads no `column` ({info.summary}), so "
            f"`column: {part.column}` would change nothing", at, "remove the `column` key",
            Reason.BAD_PARAMETER,
        ))
    if info.needs_kind and not part.kind and not (part.where or {}).get("kind"):
        problems.append(Problem(
            f"{what}: aggregate `{part.aggregate}` needs a `kind` (e.g. kind: email_opened)", at,
            "", Reason.BAD_PARAMETER,
        ))
    if part.kind and "kind" not in columns:
        problems.append(Problem(
            f"{what}: `kind` filters need a table with a kind column, {table} has none", at,
            "", Reason.BAD_PARAMETER,
        ))
    problems += _where_problems(part.where, table, what, at, extra)
    problems += _vocabulary_problems(part, table, what, at)
    return problems


def filter_words(cond: Any) -> set[str]:
    """The words a filter condition compares a column with (``paid``, ``[a, b]``, ``in: ...``)."""
    if isinstance(cond, str):
        return {cond}
    if isinstance(cond, list):
        return {v for v in cond if isinstance(v, str)}
    if isinstance(cond, dict):
        return set().union(*(filter_words(v) for op, v in cond.items() if op != "is_null"))
    return set()


def part_filters(part: SubAggregate | MetricSpec) -> dict[str, set[str]]:
    """Per column, the words a metric (or a side of a ratio) filters on, ``kind`` included."""
    found: dict[str, set[str]] = {}
    if part.kind:
        found.setdefault("kind", set()).add(part.kind)
    for col, cond in (part.where or {}).items():
        words = filter_words(cond)
        if words:
            found.setdefault(col, set()).update(words)
    return found


def _vocabulary_problems(part: SubAggregate | MetricSpec, table: str, what: str,
                         at: str) -> list[Problem]:
    """A filter word outside a fixed vocabulary (``status: payed``) matches no row: an error.

    Rows whose word is outside a strict vocabulary are set aside, and case is folded, so
    such a filter would make the metric 0 for every customer.
    """
    import difflib

    problems: list[Problem] = []
    for col, words in sorted(part_filters(part).items()):
        spec = TABLE[table].column(col) if col in CONTRACT[table] else None
        if spec is None or not spec.strict:
            continue
        allowed = spec.vocabulary
        for word in sorted(w for w in words if w not in allowed):
            close = [w for w in allowed if w == word.strip().lower()] or \
                difflib.get_close_matches(word.lower(), allowed, n=1, cutoff=0.6)
            hint = (f"did you mean `{close[0]}`? " if close else "") + \
                f"{table}.{col} is one of: {', '.join(allowed)} (map your own words onto " \
                f"them with sources.{table}.values)"
            problems.append(Problem(
                f"{what}: filter on `{col}`: `{word}` is not a value of {table}.{col}, so it "
                "would match no row", at, hint, Reason.BAD_PARAMETER))
    return problems


@register_rule("metrics read contract tables and columns")
def _metric_sources(c: Checking) -> Iterable[Problem]:
    return metric_column_problems(c)


def metric_column_problems(c: Checking, kinds: dict[str, dict[str, str]] | None = None
                           ) -> list[Problem]:
    """What is wrong with the tables and columns the metrics read.

    ``kinds`` gives the type of each extra column per table once the data is open (derived
    columns have no type before); without it, the model's declarations (:func:`extra_columns`).
    """
    return list(_metric_column_problems(c, kinds))


def _metric_column_problems(c: Checking, kinds: dict[str, dict[str, str]] | None
                            ) -> Iterable[Problem]:
    for m in c.metrics():
        info = AGGREGATES.get(m.aggregate)
        if info is None:
            continue
        what, at = f"metric `{m.id}`", c.at(m)
        table = metric_table(m)
        if info.fixed_table and m.table and m.table != info.fixed_table:
            yield Problem(f"{what}: aggregate `{m.aggregate}` always reads {info.fixed_table}, "
                          f"not {m.table}", at, "drop the `table` key", Reason.BAD_PARAMETER)
        if table not in CONTRACT:
            yield Problem(f"{what}: unknown table `{table}`", c.line(m, "table"),
                          wording.with_guess(table, CONTRACT,
                                             "canonical tables: " + ", ".join(CONTRACT)),
                          Reason.UNKNOWN_TABLE)
            continue
        extra: dict[str, str | None] = dict(extra_columns(c.model, table))
        if kinds is not None:
            extra.update(kinds.get(table, {}))
        if not info.ratio:
            yield from _part_problems(m, table, what, at, extra)
            continue
        # the metric's own filter applies to both sides
        yield from _where_problems(m.where, table, what, at, extra)
        if m.numerator is None or m.denominator is None:
            yield Problem(f"{what}: a {m.aggregate} needs `numerator` and `denominator`", at,
                          "e.g. numerator: {aggregate: count, kind: email_opened}, "
                          "denominator: {aggregate: count, kind: email_sent}",
                          Reason.BAD_PARAMETER)
        for side, part in (("numerator", m.numerator), ("denominator", m.denominator)):
            if part is None:
                continue
            if part.aggregate not in info.parts:
                yield Problem(f"{what}: {side} aggregate `{part.aggregate}` cannot be part of a "
                              f"{m.aggregate}", c.line(m, side, "aggregate"),
                              wording.with_guess(part.aggregate, info.parts,
                                                 "allowed: " + ", ".join(info.parts)),
                              Reason.UNKNOWN_AGGREGATE)
                continue
            yield from _part_problems(part, table, f"{what} {side}", at, extra)


@register_rule("a value that is not a number is scored by map")
def _word_values(c: Checking) -> Iterable[Problem]:
    """Only ``map`` scores a column's own values when they are not numbers.

    ``latest`` and ``attribute`` of a text, yes/no or date column give that column's values;
    the numeric normalisers would fail on them in the engine.
    """
    for m in c.metrics():
        info = AGGREGATES.get(m.aggregate)
        if info is None or not info.passes_column or not m.column or \
                m.normalise.method == "map":
            continue
        table = metric_table(m)
        kind = CONTRACT.get(table, {}).get(m.column)
        if kind is None or kind == "num":
            continue  # an unknown table or column is reported by its own rule
        words = (VOCABULARIES.get(table, {}).get(m.column)
                 or USUAL_VALUES.get(table, {}).get(m.column)
                 or (("true", "false") if kind == "bool" else ("A", "B")))
        example = ", ".join(f"{w}: {100 if i == 0 else 0}" for i, w in enumerate(words[:2]))
        yield Problem(
            f"metric `{m.id}`: `{m.aggregate}` of {table}.{m.column} is a {TYPE_WORDS[kind]}, "
            f"not a number, and normaliser `{m.normalise.method}` scores numbers only",
            c.line(m, "normalise", "method"),
            f"score its values with the map normaliser: normalise: {{method: map, values: "
            f"{{{example}}}, default: 0}}, or read a numeric column of {table}: "
            + ", ".join(k for k, t in CONTRACT[table].items() if t == "num"),
            Reason.BAD_PARAMETER)


def label_readers(model: CRIModel) -> list[tuple[MetricSpec, str, str]]:
    """The metrics that read a churn outcome column: (metric, how, column).

    ``how`` is ``column``, ``where``, ``numerator column``, ...; the columns are
    :func:`outcome_columns` (the label and ``churned_at``). The hook of the leakage checks:
    the outcome is what a score is judged by, so a metric reading it scores customers by their
    outcome.
    """
    columns = outcome_columns(model)
    found = []
    for _, m in model.metrics:
        if AGGREGATES.get(m.aggregate) is None or metric_table(m) != "customers":
            continue  # an unknown aggregate is reported by its own rule
        parts: list[tuple[str, MetricSpec | SubAggregate | None]] = [
            ("", m), ("numerator ", m.numerator), ("denominator ", m.denominator)]
        for side, part in parts:
            if part is None:
                continue
            for column in columns:
                if part.column == column:
                    found.append((m, f"{side}column", column))
                if column in (part.where or {}):
                    found.append((m, f"{side}where", column))
    return found


#: the churn date of the contract: the outcome of a time-stamped churn rule
CHURN_DATE_COLUMN = "churned_at"


def outcome_columns(model: CRIModel) -> tuple[str, ...]:
    """The customers' columns that hold the churn outcome: the label, then the churn date."""
    return (model.churn.label_column, CHURN_DATE_COLUMN)


def outcome_text(model: CRIModel, column: str) -> str:
    """What an outcome column is, for a message: ``the churn label`` or ``the churn date``."""
    return "the churn label" if column == model.churn.label_column else "the churn date"


@register_rule("no metric reads the churn outcome", level="warning")
def _label_leak(c: Checking) -> Iterable[Problem]:
    for m, how, column in label_readers(c.model):
        what = outcome_text(c.model, column)
        yield Problem(f"metric `{m.id}` reads customers.{column} ({how}), {what}: the "
                      "outcome the score is judged by, so backtests and learned weights would "
                      "measure the outcome against itself", c.at(m),
                      f"remove the metric or read another column; customers.{column} is the "
                      "churn outcome only", Reason.BAD_PARAMETER)


@register_rule("params fit the aggregate")
def _params(c: Checking) -> Iterable[Problem]:
    for m in c.metrics():
        def line(key: str, m: MetricSpec = m) -> str:
            return c.line(m, "params", key)

        yield from param_problems(m.id, m.aggregate, m.params, line)


def param_problems(metric_id: str, aggregate: str, params: Any,
                   line: Callable[[str], str]) -> list[Problem]:
    """One problem per wrong param, at its key's line (``line(key)``), naming what is allowed.

    Also run on the raw document when the schema fails elsewhere.
    """
    info = AGGREGATES.get(aggregate)
    if info is None or not isinstance(params, dict | None):
        return []
    schema: type[BaseModel] = info.params or NoParams
    try:
        schema.model_validate(dict(params or {}))
    except ValidationError as exc:
        errors = exc.errors()
    else:
        return []
    takes = [name if f.is_required() else f"{name} (default {f.default})"
             for name, f in schema.model_fields.items()]
    allowed = (f"params of `{aggregate}`: " + ", ".join(takes)) if takes else \
        f"`{aggregate}` takes no params: remove them"
    problems = []
    raw = dict(params or {})
    for err in errors:
        loc, _ = wording.clean_loc(err["loc"])
        key = str(loc[0]) if loc else "params"
        if err["type"] == "extra_forbidden":
            msg = f"metric `{metric_id}`: unknown param `{key}` of aggregate `{aggregate}`"
            hint = wording.with_guess(key, schema.model_fields, allowed)
        else:
            tp, field = wording.walk(schema, raw, loc[:1], lambda info, value: None)
            msg, fix = wording.explain(err, raw, loc[:1], tp, field,
                                       label=f"metric `{metric_id}`, param `{key}`")
            hint = f"{fix}; {allowed}" if fix else allowed
        problems.append(Problem(msg, line(key), hint, Reason.BAD_PARAMETER))
    return problems


@register_rule("normaliser settings hold")
def _normalisers(c: Checking) -> Iterable[Problem]:
    for m in c.metrics():
        for sub, text, fix in m.normalise.located_problems():
            yield Problem(f"metric `{m.id}`: {text}", c.line(m, "normalise", *sub), fix,
                          Reason.BAD_PARAMETER)


# --------------------------------------------------------------------------------------------
# windows


@register_rule("windows cover at least one day")
def _windows(c: Checking) -> Iterable[Problem]:
    found: list[tuple[str, Any, str, str | None]] = [
        (f"metric `{m.id}`", m, "window", m.window) for m in c.metrics()]
    found += [(f"alert `{a.id}`", a, "within", a.within) for a in c.model.alerts]
    for what, obj, key, text in found:
        parsed = parse_window(text)
        if parsed is not None and parsed[0] == 0:
            yield Problem(f"{what}: `{key}: {text}` covers no day, so it counts nothing",
                          c.line(obj, key),
                          "write a window of at least one day (e.g. 30d, 12w, 6m, 1y), or "
                          "`all` for every day up to as_of", Reason.BAD_PARAMETER)


# --------------------------------------------------------------------------------------------
# tiers


@register_rule("tiers are ordered with one catch-all")
def _tiers(c: Checking) -> list[Problem]:
    model, loc = c.model, c.at
    problems: list[Problem] = []
    levels = model.tiers.levels
    ids = [lv.id for lv in levels]
    if len(set(ids)) != len(ids):
        problems.append(Problem("tier ids must be unique", loc(model.tiers), "",
                                Reason.BAD_TIERS))
    catch_all = [lv for lv in levels if lv.is_catch_all]
    if len(catch_all) != 1:
        problems.append(Problem(
            f"exactly one tier must have no bound (it catches everyone else); found "
            f"{len(catch_all)}", loc(model.tiers),
            "remove the bound of the lowest tier, or add one catch-all tier", Reason.BAD_TIERS,
        ))
    if model.tiers.by == "score":
        bounds: list[float] = []
        for lv in levels:
            if lv.top is not None or lv.bottom is not None:
                problems.append(Problem(
                    f"tier `{lv.id}`: top/bottom shares need `by: rank`", loc(lv),
                    "use min (>=) or above (>) with score tiers", Reason.BAD_TIERS,
                ))
            if lv.min is not None and lv.above is not None:
                problems.append(Problem(
                    f"tier `{lv.id}` has both min and above", loc(lv), "keep one",
                    Reason.BAD_TIERS,
                ))
            bound = lv.min if lv.min is not None else lv.above
            if bound is not None:
                bounds.append(bound)
        if bounds != sorted(bounds, reverse=True) or len(set(bounds)) != len(bounds):
            problems.append(Problem(
                "score tiers must be listed best first with falling thresholds "
                f"(found {bounds})", loc(model.tiers), "", Reason.BAD_TIERS,
            ))
        rules = model.tiers.score_rules()
        for i, rule in enumerate(rules):
            if (rule.op == ">=" and rule.bound <= 0) or (rule.op == ">" and rule.bound >= 100):
                never = [r.tier for r in rules[i + 1:]] if rule.op == ">=" else [rule.tier]
                never += [lv.id for lv in catch_all] if rule.op == ">=" else []
                problems.append(Problem(
                    f"tier `{rule.tier}` ({'min' if rule.op == '>=' else 'above'} "
                    f"{rule.bound:g}): tier(s) {', '.join(f'`{t}`' for t in never)} can never "
                    "be reached (scores run from 0 to 100)", loc(model.tiers.levels[
                        [lv.id for lv in levels].index(rule.tier)]),
                    "give the lowest bounded tier a bound above 0, and keep `above` below 100",
                    Reason.BAD_TIERS))
                break
        if catch_all and catch_all[0] is not levels[-1]:
            problems.append(Problem(
                "the tier without a threshold must come last", loc(catch_all[0]), "",
                Reason.BAD_TIERS,
            ))
    else:
        seen_catch = False
        share = 0.0
        for lv in levels:
            if lv.min is not None or lv.above is not None:
                problems.append(Problem(
                    f"tier `{lv.id}`: min/above need `by: score`", loc(lv),
                    "use top: 20 or bottom: 30 (percent of customers) with rank tiers",
                    Reason.BAD_TIERS,
                ))
            if lv.top is not None and lv.bottom is not None:
                problems.append(Problem(f"tier `{lv.id}` has both top and bottom", loc(lv),
                                        "keep one", Reason.BAD_TIERS))
            if lv.top is not None and seen_catch:
                problems.append(Problem(
                    f"tier `{lv.id}`: top tiers come before the catch-all tier", loc(lv), "",
                    Reason.BAD_TIERS))
            if lv.bottom is not None and not seen_catch:
                problems.append(Problem(
                    f"tier `{lv.id}`: bottom tiers come after the catch-all tier", loc(lv), "",
                    Reason.BAD_TIERS))
            if lv in catch_all:
                seen_catch = True
            share += (lv.top or 0.0) + (lv.bottom or 0.0)
        if share >= 100:
            problems.append(Problem(
                f"rank shares sum to {share:g}%, they must leave room for the catch-all tier",
                loc(model.tiers), "", Reason.BAD_TIERS,
            ))
    return problems


# --------------------------------------------------------------------------------------------
# guardrails


@register_rule("guardrails name ratio metrics")
def _ratio_limits(c: Checking) -> Iterable[Problem]:
    ratios = [m.id for m in c.metrics("ratio")]
    g = c.model.guardrails
    for metric_id in g.ratio_limits:
        if metric_id not in ratios:
            yield Problem(
                f"guardrails.ratio_limits names `{metric_id}`, which is not a ratio metric",
                c.line(g, "ratio_limits", metric_id),
                ("ratio metrics: " + ", ".join(ratios)) if ratios else
                "the model has no ratio metric: remove ratio_limits", Reason.BAD_PARAMETER)


# --------------------------------------------------------------------------------------------
# RFM segments (the linter itself is crindex.model.segments.lint)


def _segment_lint(c: Checking) -> tuple[list[Problem], list[Problem]]:
    from crindex.model.segments import lint

    spec = c.model.segments
    if spec is None:
        return [], []
    return lint(spec, c.at(spec), {i: c.at(rule) for i, rule in enumerate(spec.rules)})


@register_rule("segments name metrics; their rules can match and never overlap")
def _segments(c: Checking) -> Iterable[Problem]:
    spec = c.model.segments
    if spec is None:
        return
    ids = [m.id for m in c.metrics()]
    for key, metric_id in (("recency", spec.recency), ("frequency", spec.frequency),
                           ("monetary", spec.monetary)):
        if metric_id not in ids:
            yield Problem(f"segments.{key} names `{metric_id}`, which is not a metric of the "
                          "model", c.line(spec, key),
                          wording.with_guess(metric_id, ids, "metrics: " + _listing(ids)),
                          Reason.UNKNOWN_COLUMN)
    if isinstance(spec.split, dict) and set(spec.split) != {"r", "f", "m"}:
        yield Problem("segments.split gives a threshold for " + ", ".join(sorted(spec.split))
                      + " only", c.line(spec, "split"),
                      "give one per axis: {r: 60, f: 50, m: 50} (scores 0..100), or write "
                      "mean or median", Reason.BAD_PARAMETER)
    yield from _segment_lint(c)[0]


@register_rule("segment rules leave no cell untaken", level="warning")
def _segment_gaps(c: Checking) -> Iterable[Problem]:
    yield from _segment_lint(c)[1]


# --------------------------------------------------------------------------------------------
# flags


@register_rule("flags read a contract table's columns")
def _flags(c: Checking) -> Iterable[Problem]:
    seen: dict[str, str] = {}
    for flag in c.model.flags:
        at = c.at(flag)
        what = f"flag `{flag.id}`"
        if flag.id in seen:
            yield Problem(f"{what}: the id is used twice (first at {seen[flag.id]})", at,
                          "flag ids must be unique", Reason.DUPLICATE_ID)
        seen.setdefault(flag.id, at)
        if flag.table not in CONTRACT:
            yield Problem(f"{what} reads unknown table `{flag.table}`", c.line(flag, "table"),
                          wording.with_guess(flag.table, CONTRACT,
                                             "tables: " + ", ".join(CONTRACT)),
                          Reason.UNKNOWN_TABLE)
            continue
        if flag.kind is not None and "kind" not in CONTRACT[flag.table]:
            yield Problem(f"{what}: table {flag.table} has no `kind` column",
                          c.line(flag, "kind"), "filter with `where:` instead",
                          Reason.UNKNOWN_COLUMN)
        if flag.table == "customers":
            if flag.window is not None:
                yield Problem(f"{what}: a window means nothing on customers (one row each)",
                              c.line(flag, "window"), "remove `window`", Reason.BAD_PARAMETER)
            if not flag.where:
                yield Problem(f"{what} on customers has no `where`: it would be raised for "
                              "everyone", at, "add e.g. where: {champion_left: true}",
                              Reason.BAD_PARAMETER)
        yield from _where_problems(flag.where, flag.table, what, at,
                                   extra_columns(c.model, flag.table))
