"""Load a model file: YAML with file:line kept, pydantic parsing, then every semantic check.

All problems are collected and raised once as a :class:`~crindex.errors.ModelError`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from crindex.contract import CONTRACT, VOCABULARIES
from crindex.errors import ModelError, Problem, Reason, raise_if
from crindex.model.registry import AGGREGATES, RATIO_PARTS
from crindex.model.spec import (
    FILTER_OPS,
    NORMALISER_NAMES,
    CRIModel,
    DimensionSpec,
    MetricSpec,
    SourceSpec,
    Spec,
    SubAggregate,
)

Loc = tuple[str | int, ...]


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
    for err in exc.errors():
        loc = tuple(err["loc"])
        # discriminated unions add the tag to the path: drop it so the line is right
        clean = tuple(p for p in loc if p not in NORMALISER_NAMES)
        field = ".".join(str(p) for p in clean)
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = f"unknown key `{loc[-1]}`"
            hint = "check the spelling; `crindex model schema` lists every allowed key"
        elif kind == "union_tag_invalid":
            given = err.get("input")
            name = given.get("method") if isinstance(given, dict) else given
            msg = f"unknown normaliser `{name}`"
            hint = "known normalisers: " + ", ".join(NORMALISER_NAMES)
            problems.append(Problem(msg, where(clean), hint, Reason.UNKNOWN_NORMALISER))
            continue
        elif kind == "union_tag_not_found":
            msg = f"`{field}` needs a `method`"
            hint = "known normalisers: " + ", ".join(NORMALISER_NAMES)
        elif kind == "missing":
            msg = f"`{field}` is required"
            hint = ""
        else:
            msg = f"`{field}`: {err['msg']}"
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
        raise_if(problems, ModelError, f"model {file} has {len(problems)} problem(s)")
        raise  # pragma: no cover
    _attach(model, (), where)
    model._path = file
    model._text = text
    problems += check_model(model, where)
    raise_if(problems, ModelError, f"model {file} has {len(problems)} problem(s)")
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
            f"dimensions {', '.join(missing)} have no weight while others do", dims[0][2],
            "give every dimension a weight (they sum to 100), or none and make the metric "
            "weights sum to 100 over the whole model", Reason.WEIGHTS_SUM,
        ))
    elif not any(weighted):
        flat = [w for _, _, _, ms in dims for _, w in ms]
        if not _sum_is_100(flat):
            detail = ", ".join(f"`{d}` {sum(w for _, w in ms):g} ({at})" for d, _, at, ms in dims)
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
            detail = ", ".join(f"`{d}` {w:g} ({at})" for d, w, at, _ in dims)
            problems.append(Problem(
                f"dimension weights sum to {total:g}, they must sum to 100: {detail}",
                dims[0][2], "change the dimension weights so they add up to 100",
                Reason.WEIGHTS_SUM,
            ))
        for d, _, at, ms in dims:
            ws = [w for _, w in ms]
            if not _sum_is_100(ws):
                detail = ", ".join(f"`{m}` {w:g}" for m, w in ms)
                problems.append(Problem(
                    f"weights of dimension `{d}` sum to {sum(ws):g}, they must sum to 100 "
                    f"({detail})", at, "metric weights within a dimension add up to 100",
                    Reason.WEIGHTS_SUM,
                ))
    return problems


def _sum_is_100(values: list[float]) -> bool:
    return math.isclose(sum(values), 100.0, abs_tol=1e-6)


def check_model(model: CRIModel, where: Locator | None = None) -> list[Problem]:
    """Semantic checks on a parsed model: weights, tables, columns, tiers, duplicates."""
    problems: list[Problem] = []

    def loc(obj: BaseModel) -> str:
        return getattr(obj, "at", "") or model.path

    # weights ------------------------------------------------------------------------------
    problems += weight_problems([
        (d.id, d.weight, loc(d), [(m.id, m.weight) for m in d.metrics])
        for d in model.dimensions
    ])

    # ids ------------------------------------------------------------------------------------
    seen: dict[str, str] = {}
    objs: list[DimensionSpec | MetricSpec] = [*model.dimensions, *(m for _, m in model.metrics)]
    for obj in objs:
        if obj.id in seen:
            problems.append(Problem(
                f"id `{obj.id}` is used twice (first at {seen[obj.id]})", loc(obj),
                "dimension and metric ids must be unique", Reason.DUPLICATE_ID,
            ))
        else:
            seen[obj.id] = loc(obj)

    # sources --------------------------------------------------------------------------------
    for table, src in model.sources.items():
        if table not in CONTRACT:
            problems.append(Problem(
                f"unknown table `{table}` in sources", loc(src),
                "canonical tables: " + ", ".join(CONTRACT), Reason.UNKNOWN_TABLE,
            ))
            continue
        for user_col, canon in src.columns.items():
            if canon not in CONTRACT[table]:
                problems.append(Problem(
                    f"sources.{table}.columns maps `{user_col}` to `{canon}`, which is not a "
                    f"column of {table}", loc(src),
                    f"columns of {table}: " + ", ".join(CONTRACT[table]),
                    Reason.UNKNOWN_COLUMN,
                ))
        for col in src.units:
            if CONTRACT[table].get(col) != "num":
                problems.append(Problem(
                    f"sources.{table}.units names `{col}`, not a numeric column of {table}",
                    loc(src),
                    "numeric columns: "
                    + ", ".join(c for c, t in CONTRACT[table].items() if t == "num"),
                    Reason.UNKNOWN_COLUMN,
                ))
        problems += _check_values(table, src, where, loc(src))

    # metrics --------------------------------------------------------------------------------
    for _, m in model.metrics:
        problems += _check_metric(m, loc(m))

    # tiers ----------------------------------------------------------------------------------
    problems += _check_tiers(model, loc)
    for col in model.keep_personal:
        if col not in CONTRACT["customers"]:
            problems.append(Problem(
                f"keep_personal names `{col}`, not a customers column", loc(model),
                "columns of customers: " + ", ".join(CONTRACT["customers"]),
                Reason.UNKNOWN_COLUMN,
            ))

    # alerts (rules are registered in crindex.alerts.rules) ------------------------------------
    if model.alerts:
        from crindex.alerts.rules import check_alerts

        problems += check_alerts(model)
    return problems


def _check_values(table: str, src: SourceSpec, where: Locator | None,
                  at: str) -> list[Problem]:
    """``values:`` maps categorical contract columns onto words of the contract's vocabulary.

    Constants of such a column must be in the vocabulary too.
    """
    problems: list[Problem] = []

    def line(*path: str) -> str:
        return where(("sources", table, *path)) if where is not None else at

    categorical = [c for c, t in CONTRACT[table].items() if t == "cat"]
    vocab = VOCABULARIES.get(table, {})
    for col, mapping in src.values.items():
        kind = CONTRACT[table].get(col)
        if kind is None:
            renamed = src.columns.get(col)
            hint = (f"values are keyed by the contract's column: `{col}` is renamed to "
                    f"`{renamed}`, write values: {{{renamed}: {{...}}}}" if renamed else
                    f"categorical columns of {table}: " + ", ".join(categorical))
            problems.append(Problem(
                f"sources.{table}.values names `{col}`, which is not a column of {table}",
                line("values", col), hint, Reason.UNKNOWN_COLUMN))
            continue
        if kind != "cat":
            problems.append(Problem(
                f"sources.{table}.values names `{col}`, a {kind} column; values maps the "
                "words of categorical columns", line("values", col),
                f"categorical columns of {table}: " + ", ".join(categorical),
                Reason.UNKNOWN_COLUMN))
            continue
        allowed = vocab.get(col)
        for given, target in mapping.items():
            if allowed is not None and target not in allowed:
                problems.append(Problem(
                    f"sources.{table}.values.{col} maps `{given}` to `{target}`, which is not a "
                    f"value of {table}.{col} in the data contract", line("values", col, given),
                    f"{table}.{col} is one of: " + ", ".join(allowed), Reason.BAD_PARAMETER))
    for col, value in src.constants.items():
        allowed = vocab.get(col)
        if allowed is not None and value is not None and str(value) not in allowed:
            problems.append(Problem(
                f"sources.{table}.constants gives {col} `{value}`, which is not a value of "
                f"{table}.{col} in the data contract", line("constants", col),
                f"{table}.{col} is one of: " + ", ".join(allowed), Reason.BAD_PARAMETER))
    return problems


def metric_table(m: MetricSpec) -> str:
    """The canonical table a metric reads."""
    info = AGGREGATES[m.aggregate]
    return info.fixed_table or m.table or info.default_table or "orders"


def _check_where(where_: dict[str, Any] | None, table: str, what: str, at: str) -> list[Problem]:
    problems: list[Problem] = []
    for col, cond in (where_ or {}).items():
        if col not in CONTRACT[table]:
            problems.append(Problem(
                f"{what}: filter column `{col}` is not a column of {table}", at,
                f"columns of {table}: " + ", ".join(CONTRACT[table]), Reason.UNKNOWN_COLUMN,
            ))
        if isinstance(cond, dict):
            for op in cond:
                if op not in FILTER_OPS:
                    problems.append(Problem(
                        f"{what}: unknown filter operator `{op}` on `{col}`", at,
                        "operators: " + ", ".join(FILTER_OPS), Reason.BAD_PARAMETER,
                    ))
    return problems


def _check_part(part: SubAggregate | MetricSpec, table: str, what: str, at: str) -> list[Problem]:
    problems: list[Problem] = []
    info = AGGREGATES.get(part.aggregate)
    if info is None:
        return problems  # reported by the pre-check
    if info.needs_column:
        if not part.column:
            problems.append(Problem(
                f"{what}: aggregate `{part.aggregate}` needs a `column`", at,
                f"columns of {table}: " + ", ".join(CONTRACT[table]), Reason.BAD_PARAMETER,
            ))
        elif part.column not in CONTRACT[table]:
            problems.append(Problem(
                f"{what}: column `{part.column}` is not a column of {table}", at,
                f"columns of {table}: " + ", ".join(CONTRACT[table]), Reason.UNKNOWN_COLUMN,
            ))
        elif info.numeric and part.aggregate not in ("latest", "distinct_count", "count") and \
                CONTRACT[table][part.column] not in ("num",):
            problems.append(Problem(
                f"{what}: `{part.aggregate}` needs a numeric column, `{part.column}` is "
                f"{CONTRACT[table][part.column]}", at,
                "numeric columns of " + table + ": "
                + ", ".join(c for c, t in CONTRACT[table].items() if t == "num"),
                Reason.BAD_PARAMETER,
            ))
    if info.needs_kind and not part.kind and not (part.where or {}).get("kind"):
        problems.append(Problem(
            f"{what}: aggregate `{part.aggregate}` needs a `kind` (e.g. kind: email_opened)", at,
            "", Reason.BAD_PARAMETER,
        ))
    if part.kind and "kind" not in CONTRACT[table]:
        problems.append(Problem(
            f"{what}: `kind` filters need a table with a kind column, {table} has none", at,
            "", Reason.BAD_PARAMETER,
        ))
    problems += _check_where(part.where, table, what, at)
    return problems


def _check_metric(m: MetricSpec, at: str) -> list[Problem]:
    info = AGGREGATES.get(m.aggregate)
    if info is None:
        return []
    what = f"metric `{m.id}`"
    problems: list[Problem] = []
    table = metric_table(m)
    if info.fixed_table and m.table and m.table != info.fixed_table:
        problems.append(Problem(
            f"{what}: aggregate `{m.aggregate}` always reads {info.fixed_table}, not {m.table}",
            at, "drop the `table` key", Reason.BAD_PARAMETER,
        ))
    if table not in CONTRACT:
        problems.append(Problem(
            f"{what}: unknown table `{table}`", at,
            "canonical tables: " + ", ".join(CONTRACT), Reason.UNKNOWN_TABLE,
        ))
        return problems
    if info.ratio:
        if m.numerator is None or m.denominator is None:
            problems.append(Problem(
                f"{what}: a ratio needs `numerator` and `denominator`", at,
                "e.g. numerator: {aggregate: count, kind: email_opened}, "
                "denominator: {aggregate: count, kind: email_sent}", Reason.BAD_PARAMETER,
            ))
        for side, part in (("numerator", m.numerator), ("denominator", m.denominator)):
            if part is None:
                continue
            if part.aggregate not in RATIO_PARTS:
                problems.append(Problem(
                    f"{what}: {side} aggregate `{part.aggregate}` cannot be part of a ratio", at,
                    "allowed: " + ", ".join(RATIO_PARTS), Reason.UNKNOWN_AGGREGATE,
                ))
                continue
            problems += _check_part(part, table, f"{what} {side}", at)
    else:
        problems += _check_part(m, table, what, at)
    if m.normalise.method == "map" and info.numeric and m.aggregate != "latest":
        pass  # a numeric value can still be mapped by its text form
    norm = m.normalise
    if norm.method in ("range", "log_range") and not norm.max > norm.min:  # type: ignore[union-attr]
        problems.append(Problem(
            f"{what}: {norm.method} needs max > min", at, "", Reason.BAD_PARAMETER,
        ))
    if norm.method == "points" and norm.per == 0:  # type: ignore[union-attr]
        problems.append(Problem(f"{what}: points needs per != 0", at, "", Reason.BAD_PARAMETER))
    return problems


def _check_tiers(model: CRIModel, loc: Any) -> list[Problem]:
    problems: list[Problem] = []
    levels = model.tiers.levels
    ids = [lv.id for lv in levels]
    if len(set(ids)) != len(ids):
        problems.append(Problem("tier ids must be unique", loc(model.tiers), "",
                                Reason.BAD_TIERS))
    catch_all = [lv for lv in levels if all(
        v is None for v in (lv.min, lv.above, lv.top, lv.bottom))]
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
