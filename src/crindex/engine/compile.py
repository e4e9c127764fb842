"""Compile a :class:`~crindex.model.spec.CRIModel` into one Ibis expression.

The plan: the customers active at ``as_of``; one grouped aggregate pass per source table (every
metric of that table a conditional aggregate in the same ``GROUP BY customer_id``), cut at
``as_of``; left joins on ``customer_id``; then raw values, normalised scores, missing-value
policies, weights, dimension scores, the total, coverage and tiers, column by column.

Output columns: ``customer_id``, ``score``, ``tier``, ``coverage``, the carried customer
attributes (``owner``, ``segment``), with ``flags:`` in the model ``flags`` and
``flag__<id>`` (:mod:`crindex.engine.flags`), with ``segments:`` ``rfm_cell`` and
``rfm_segment`` (:mod:`crindex.engine.segments`), ``dim__<dimension>`` and per metric
``<id>__raw``,
``<id>__score``, ``<id>__weight`` (share of the total after re-weighting, %),
``<id>__contribution`` (weight x score / 100) and ``<id>__missing``; with sub-models, last,
``submodel`` (the id of the sub-model that scored the row).

Rows come in ``ROW_ORDER``. On DuckDB the query sorts them itself (``ORDER BY customer_id``); on
Spark (``SORT_AFTER``) a final sort would be a range partitioning that runs the whole query
twice (once to sample the ranges), so the query leaves it out and the rows are sorted after
collecting (:attr:`Compiled.sort_after`, applied by :func:`crindex.engine.connect.execute`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from crindex.calendar import consecutive_windows, window_start
from crindex.contract import TIME_COLUMN
from crindex.engine.aggregates import Context, Plan
from crindex.engine.fit import ModelFit
from crindex.engine.normalisers import LOOK_ACROSS, Population, normalise
from crindex.errors import ModelError, Problem, Reason, raise_if
from crindex.model.registry import AGGREGATES as AGG_INFO
from crindex.model.registry import metric_table
from crindex.model.spec import CRIModel, MetricSpec
from crindex.outcomes import is_customer_on

#: customer attributes carried into the output (never personal data)
CARRIED = ("owner", "segment")
#: the order of the evaluation table's rows
ROW_ORDER = ("customer_id",)
#: engines on which the query is left unsorted and the collected rows are sorted instead:
#: Spark's ORDER BY samples the range boundaries with a run of its own, doubling the work
SORT_AFTER = frozenset({"pyspark"})
#: raw values are rounded before ranking: parallel float sums differ in the last bits
RAW_DECIMALS = 9
SCORE_DECIMALS = 6

#: where ranks and moments across customers come from, when not from the scored customers
#: themselves: ``(table, {column: "ranks" | "moments"})`` to the table with helper columns and
#: a :class:`Population` per column (Spark's distributed sort, a live rescore's reference)
PopulationSource = Callable[[ir.Table, dict[str, str]], tuple[ir.Table, dict[str, Population]]]

# The query's named steps, in order: each becomes one common table expression (``WITH name AS``)
# in the SQL, so a reader follows the query step by step instead of one inlined formula.
STEP_ACTIVE = "active_customers"
#: one grouped pass per source table: ``agg_orders``, ``agg_interactions``, ...
STEP_AGG = "agg_"
STEP_RAW = "raw"
STEP_NORMALISED = "normalised"
STEP_SCORED = "scored"
STEP_WEIGHTED = "weighted"
STEP_TIERED = "tiered"
#: between a sub-model's id and a step's name: ``b2b__raw``
SUBMODEL_STEP = "__"


@dataclass(frozen=True)
class Compiled:
    """A compiled model: the output expression and what went into it.

    :meth:`sql` shows the query ``expr`` stands for, step by step (see ``STEP_*``), with a
    comment naming each metric where its columns are computed.
    """

    expr: ir.Table
    model: CRIModel
    as_of: dt.date
    #: the Ibis backend name the expression was planned for (``duckdb``, ``pyspark``, ...)
    engine: str = "duckdb"
    #: what was learned from the data before compiling (``None`` when nothing was fitted)
    fitted: ModelFit | None = None
    #: columns to sort the collected rows by: ``ROW_ORDER`` where ``expr`` is unsorted
    #: (``SORT_AFTER`` engines), else empty (the query sorts)
    sort_after: tuple[str, ...] = ()

    def sql(self, dialect: str | None = None, pretty: bool = True) -> str:
        """The SQL of :attr:`expr` in ``dialect`` (an Ibis compiler name; default the engine's).

        Comments name each step and, on the column where each metric's values are computed,
        the metric and what it does (they change nothing the engine runs).
        """
        import ibis.backends.sql.compilers as compilers

        if dialect is None and self.engine == "pyspark":
            # the SQL Spark runs comes from the backend's own compiler (crindex.engine.spark)
            provider: Any = self.expr._find_backend(use_default=True)
        elif (provider := getattr(compilers, dialect or self.engine, None)) is None:
            raise ValueError(f"Unknown dialect {dialect or self.engine}")
        compiler = provider.compiler
        tree = compiler.to_sqlglot(self.expr.unbind())
        queries = tree if isinstance(tree, list) else [tree]
        for query in queries:
            _annotate(query, self.model)
        return ";\n".join(q.sql(dialect=compiler.dialect, pretty=pretty) for q in queries)


def _comment(text: str) -> str:
    # a value in a model (a map key, a filter) must not end the SQL comment early
    return " " + text.replace("*/", "* /").replace("/*", "/ *") + " "


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def _filters(spec: MetricSpec | Any) -> str:
    where_ = dict(spec.where or {})
    if spec.kind is not None:
        where_ = {"kind": spec.kind, **where_}
    return "".join(f" {col}={_plain(cond)}" for col, cond in where_.items())


def describe_metric(m: MetricSpec) -> str:
    """What a metric reads, on one line.

    For example ``interactions mean(satisfaction) channel=support, window 365d``.
    """
    if m.numerator is not None and m.denominator is not None:
        sides = [f"{s.aggregate}({s.column or ''}){_filters(s)}"
                 for s in (m.numerator, m.denominator)]
        what = f"{m.aggregate}({sides[0]} / {sides[1]})"
    else:
        what = f"{m.aggregate}({m.column or ''})"
    text = f"{metric_table(m)} {what}{_filters(m)}"
    if m.params:
        text += "".join(f" {k}={_plain(v)}" for k, v in sorted(m.params.items()))
    return text + (f", window {m.window}" if m.window else ", all history")


#: what each step does, written as a comment at the top of its common table expression
STEP_NOTES = {
    STEP_ACTIVE: "step {name}: customers that existed at as_of and had not churned by then",
    STEP_AGG: "step {name}: one GROUP BY customer_id over {table}, rows up to as_of",
    STEP_RAW: "step {name}: each metric's raw value per customer",
    STEP_NORMALISED: "step {name}: raw values mapped onto 0..100",
    STEP_SCORED: "step {name}: the missing-value policies",
    STEP_WEIGHTED: "step {name}: weights, dimension scores, contributions, total and coverage",
    STEP_TIERED: "step {name}: tiers by {tiers_by}",
}


def _metric_note(step: str, m: MetricSpec, suffix: str) -> str | None:
    """The comment on metric ``m``'s column ``<id>__<suffix>`` in ``step``, if it gets one."""
    if step == STEP_AGG or (step == STEP_RAW and suffix == "raw"):
        return describe_metric(m)
    if step == STEP_NORMALISED and suffix == "norm":
        params = m.normalise.model_dump(exclude={"method"}, exclude_none=True)
        return " ".join(["normalise", m.normalise.method,
                         *(f"{k}={_plain(v)}" for k, v in params.items())])
    if step == STEP_SCORED and suffix == "score":
        if m.missing.policy == "neutral":
            return f"missing -> neutral {_plain(m.missing.score)}"
        return f"missing -> {m.missing.policy}"
    if step == STEP_WEIGHTED and suffix == "weight":
        return f"weight {_plain(m.weight)}"
    return None


def _annotate(query: Any, model: CRIModel) -> None:
    """Comment the steps of ``query`` (a sqlglot tree) and each metric's first column in them."""
    import sqlglot.expressions as sge

    by_id = {m.id: m for _, m in model.metrics}
    # longest first: a metric `nps` must not claim the columns of a metric `nps_b2b`
    ids = sorted(by_id, key=len, reverse=True)
    for cte in query.find_all(sge.CTE):
        name = cte.alias
        local = name.split(SUBMODEL_STEP, 1)[1] if model.submodels and SUBMODEL_STEP in name \
            else name
        step = STEP_AGG if local.startswith(STEP_AGG) else local
        if step not in STEP_NOTES:
            continue
        cte.this.add_comments([_comment(
            STEP_NOTES[step].format(name=name, table=local.removeprefix(STEP_AGG),
                                    tiers_by=model.tiers.by))])
        noted: set[str] = set()
        for column in cte.this.find_all(sge.Alias):
            mid = next((i for i in ids if column.alias.startswith(f"{i}__")), None)
            if mid is None or mid in noted:
                continue
            note = _metric_note(step, by_id[mid], column.alias[len(mid) + 2:])
            if note is not None:
                column.add_comments([_comment(f"metric {mid}: {note}")])
                noted.add(mid)


def check_tables(model: CRIModel, tables: dict[str, ir.Table]) -> None:
    """Every table the model reads is in ``tables`` (``customers`` always), or a clear error."""
    problems = []
    if "customers" not in tables:
        problems.append(Problem("the customers table is missing", "", "", Reason.MISSING_TABLE))
    for _, m in model.metrics:
        table = metric_table(m)
        if table not in tables:
            problems.append(Problem(
                f"metric `{m.id}` reads table `{table}`, which the data does not have", m.at,
                "tables found: " + ", ".join(sorted(tables)) + f"; add {table} to the data or "
                "map it under sources:", Reason.MISSING_TABLE,
            ))
    for flag in model.flags:
        if flag.table not in tables:
            problems.append(Problem(
                f"flag `{flag.id}` reads table `{flag.table}`, which the data does not have",
                flag.at, "tables found: " + ", ".join(sorted(tables)) + f"; add {flag.table} "
                "to the data, map it under sources:, or remove the flag", Reason.MISSING_TABLE,
            ))
    raise_if(problems, ModelError, "the model needs tables the data does not have")


def rows_up_to(table: ir.Table, table_name: str, as_of: dt.date) -> ir.Table:
    """The rows of an event table up to ``as_of`` (its time column's day); customers as is."""
    if table_name == "customers":
        return table
    return table.filter(table[TIME_COLUMN[table_name]].date() <= ibis.literal(as_of))


def earliest_start(m: MetricSpec, as_of: dt.date) -> dt.date | None:
    """First day excluded from every row a metric reads: its window, or several back to back.

    An aggregate reading earlier windows too (``change``, ``trend``) says how many with its
    ``lookback``; ``None`` when the metric reads all history.
    """
    info = AGG_INFO[m.aggregate]
    periods = info.lookback(m) if info.lookback is not None else 1
    if m.window is None or periods <= 1:
        return window_start(as_of, m.window)
    return consecutive_windows(as_of, m.window, periods)[0][0]


def active_customers(customers: ir.Table, as_of: dt.date) -> ir.Table:
    """Customers that existed at ``as_of`` and had not churned by then."""
    return customers.filter(is_customer_on(customers, as_of))


def compile_model(model: CRIModel, tables: dict[str, ir.Table], as_of: dt.date,
                  engine: str = "duckdb", fitted: ModelFit | None = None,
                  populations: PopulationSource | None = None) -> Compiled:
    """Compile ``model`` over canonical ``tables`` at ``as_of`` into one Ibis expression.

    Pure: builds expressions and runs nothing. ``fitted`` is what the model learned from the
    same tables first (:func:`crindex.engine.fit.fit_model`); a model with metrics that learn
    (CLV) needs it, except over unbound tables (``crindex sql`` without data). ``engine`` (an
    Ibis backend name) picks how values are ranked across customers: window functions, or on
    ``pyspark`` a distributed sort (see :func:`_populations`), and whether the query sorts its
    rows (see ``SORT_AFTER``).

    A model with sub-models is compiled once per sub-model over the customers it matches
    (:mod:`crindex.engine.submodels`); the parts are stacked and each row names its
    sub-model in the column ``submodel``.
    ``populations`` replaces the ranking of both: the live rescore (:mod:`crindex.live`) ranks a
    few customers against the population of the last full run.
    """
    check_tables(model, tables)
    if fitted is not None:
        fitted.check_for(model, as_of)
    if not model.submodels:
        return _sorted(_compile_one(model, tables, as_of, engine, fitted,
                                    populations=populations), model, as_of, engine, fitted)
    from crindex.engine.submodels import submodel_parts

    stacked: ir.Table | None = None
    for sub, variant, part_tables in submodel_parts(model, tables):
        part_fit = fitted.parts_[sub.id] if fitted is not None else None
        part = _compile_one(variant, part_tables, as_of, engine, part_fit,
                            prefix=f"{sub.id}{SUBMODEL_STEP}", populations=populations)
        part = part.mutate(submodel=ibis.literal(sub.id, "string"))
        stacked = part if stacked is None else stacked.union(part)
    assert stacked is not None
    return _sorted(stacked, model, as_of, engine, fitted)


def _sorted(out: ir.Table, model: CRIModel, as_of: dt.date, engine: str,
            fitted: ModelFit | None) -> Compiled:
    """The rows in ``ROW_ORDER``: sorted by the query, or after collecting (``SORT_AFTER``)."""
    if engine in SORT_AFTER:
        return Compiled(out, model, as_of, engine, fitted, sort_after=ROW_ORDER)
    return Compiled(out.order_by(*ROW_ORDER), model, as_of, engine, fitted)


def _compile_one(model: CRIModel, tables: dict[str, ir.Table], as_of: dt.date, engine: str,
                 fitted: ModelFit | None, prefix: str = "",
                 populations: PopulationSource | None = None) -> ir.Table:
    """One model (no sub-models) over ``tables``: the expression of :func:`compile_model`.

    ``prefix`` starts the name of each step (a sub-model's steps are ``<id>__<step>``).
    """
    base = active_customers(tables["customers"], as_of)
    keep = ["customer_id", "created_at", *CARRIED]
    attribute_cols = {m.column for _, m in model.metrics if m.aggregate == "attribute" and m.column}
    keep += [c for c in sorted(attribute_cols) if c not in keep]
    joined = base.select(*keep).alias(prefix + STEP_ACTIVE)

    # one grouped pass per table ----------------------------------------------------------------
    plans: dict[str, Plan] = {}
    by_table: dict[str, list[MetricSpec]] = defaultdict(list)
    for _, m in model.metrics:
        by_table[metric_table(m)].append(m)
    for table_name, metrics in by_table.items():
        t = rows_up_to(tables[table_name], table_name, as_of)
        if table_name != "customers":
            starts = [earliest_start(m, as_of) for m in metrics]
            if all(st is not None for st in starts):
                # every metric has a window: read only the widest one
                widest = min(st for st in starts if st is not None)
                t = t.filter(t[TIME_COLUMN[table_name]].date() > ibis.literal(widest))
        parts: dict[str, ir.Value] = {}
        for m in metrics:
            ctx = Context(t, table_name, as_of, window_start(as_of, m.window), m.id,
                          fitted.get(m.id) if fitted is not None else None)
            build = AGG_INFO[m.aggregate].build
            assert build is not None
            plan = build(ctx, m)
            plans[m.id] = plan
            parts.update(plan.parts)
            if plan.table is not None:
                extra = plan.table.rename(_cid="customer_id")
                joined = joined.left_join(extra, joined.customer_id == extra._cid).drop("_cid")
        if parts:
            agg = t.group_by(t.customer_id.name("_cid")).aggregate(**parts).alias(
                f"{prefix}{STEP_AGG}{table_name}")
            joined = joined.left_join(agg, joined.customer_id == agg._cid).drop("_cid")

    flag_cols: list[str] = []
    if model.flags:
        from crindex.engine.flags import add_flags, flag_column

        joined = add_flags(model, tables, as_of, joined)
        flag_cols = [flag_column(f.id) for f in model.flags]

    # raw values and normalised scores --------------------------------------------------------
    cols: dict[str, ir.Value] = {}
    for _, m in model.metrics:
        plan = plans[m.id]
        assert plan.finish is not None
        raw = plan.finish(lambda name, j=joined: j[name])  # type: ignore[misc]
        if plan.zero_when_empty:
            raw = raw.fill_null(0)
        if AGG_INFO[m.aggregate].numeric and m.normalise.method != "map":
            raw = raw.cast("float64").round(RAW_DECIMALS)
        cols[f"{m.id}__raw"] = raw
    raw_table = joined.select("customer_id", *CARRIED, *flag_cols, **cols).alias(
        prefix + STEP_RAW)
    source = populations or (lambda t, wanted: _populations(engine, t, wanted))
    raw_table, pops = source(raw_table, {
        f"{m.id}__raw": LOOK_ACROSS[m.normalise.method] for _, m in model.metrics
        if m.normalise.method in LOOK_ACROSS})

    # each step is its own projection, so later steps refer to columns, not re-inlined formulas
    normed = raw_table.mutate(**{
        f"{m.id}__norm": normalise(m.normalise, raw_table[f"{m.id}__raw"],
                                   pops.get(f"{m.id}__raw")).cast("float64")
        for _, m in model.metrics
    }).alias(prefix + STEP_NORMALISED)
    scored_cols: dict[str, ir.Value] = {}
    for _, m in model.metrics:
        norm = normed[f"{m.id}__norm"]
        # no raw value, or one the normaliser cannot place (a category missing from a map)
        missing = norm.isnull()
        policy = m.missing.policy
        if policy == "neutral":
            score = ibis.ifelse(missing, m.missing.score, norm)
        elif policy == "zero":
            score = ibis.ifelse(missing, 0.0, norm)
        else:
            score = norm
        scored_cols[f"{m.id}__missing"] = missing
        scored_cols[f"{m.id}__score"] = score.cast("float64")
    scored = normed.mutate(**scored_cols)
    # a select, not drop(): Ibis keeps dropped names in a set, whose order (and so the SQL's
    # EXCLUDE list) changed from run to run
    norm_cols = {f"{m.id}__norm" for _, m in model.metrics}
    scored = scored.select(*[c for c in scored.columns if c not in norm_cols]).alias(
        prefix + STEP_SCORED)
    return _weigh(model, scored, source, prefix)


def _populations(engine: str, t: ir.Table,
                 wanted: dict[str, str]) -> tuple[ir.Table, dict[str, Population]]:
    """Ranks or moments of columns across customers, as columns, where windows cannot do.

    A window over every customer runs in a single partition on Spark, so there they come from
    a bucketed sort and joins; elsewhere this adds nothing and the windows stay.
    """
    if engine != "pyspark" or not wanted:
        return t, {}
    from crindex.engine.spark import populations

    return populations(t, wanted)


def _sum(values: list[ir.Value]) -> ir.Value:
    out = values[0]
    for v in values[1:]:
        out = out + v
    return out


def _weigh(model: CRIModel, t: ir.Table, populations: PopulationSource,
           prefix: str = "") -> ir.Table:
    """Dimension scores, total, contributions, coverage and tiers, one projection a step."""
    zero = ibis.literal(0.0)
    # weight each metric carries where it has a score (0 where re-weighted away)
    t = t.mutate(**{
        f"_p__{m.id}": ibis.ifelse(t[f"{m.id}__score"].isnull(), zero, ibis.literal(m.weight))
        for _, m in model.metrics
    })
    dim_cols: dict[str, ir.Value] = {}
    for d in model.dimensions:
        dim_cols[f"_w__{d.id}"] = _sum([t[f"_p__{m.id}"] for m in d.metrics])
        dim_cols[f"_n__{d.id}"] = _sum([t[f"_p__{m.id}"] * t[f"{m.id}__score"].fill_null(0)
                                        for m in d.metrics])
    t = t.mutate(**dim_cols)
    cols: dict[str, ir.Value] = {
        f"dim__{d.id}": ibis.ifelse(t[f"_w__{d.id}"] > 0, t[f"_n__{d.id}"] / t[f"_w__{d.id}"],
                                    ibis.null("float64")).round(SCORE_DECIMALS)
        for d in model.dimensions
    }
    if model.flat_weights:
        t = t.mutate(_total_w=_sum([t[f"_p__{m.id}"] for _, m in model.metrics]))
        for _, m in model.metrics:
            cols[f"{m.id}__weight"] = ibis.ifelse(
                t._total_w > 0, t[f"_p__{m.id}"] / t._total_w * 100.0, zero)
    else:
        t = t.mutate(**{
            f"_d__{d.id}": ibis.ifelse(t[f"_w__{d.id}"] > 0, ibis.literal(d.weight or 0.0), zero)
            for d in model.dimensions
        })
        t = t.mutate(_total_w=_sum([t[f"_d__{d.id}"] for d in model.dimensions]))
        for d in model.dimensions:
            for m in d.metrics:
                cols[f"{m.id}__weight"] = ibis.ifelse(
                    (t._total_w > 0) & (t[f"_w__{d.id}"] > 0),
                    t[f"_d__{d.id}"] / t._total_w * t[f"_p__{m.id}"] / t[f"_w__{d.id}"] * 100.0,
                    zero,
                )
    t = t.mutate(**cols)
    t = t.mutate(**{
        f"{m.id}__contribution": t[f"{m.id}__weight"] * t[f"{m.id}__score"].fill_null(0) / 100.0
        for _, m in model.metrics
    })
    covered = _sum([
        ibis.ifelse(t[f"{m.id}__missing"], zero, ibis.literal(model.effective_weight(d, m)))
        for d, m in model.metrics
    ])
    t = t.mutate(
        _any_w=_sum([t[f"{m.id}__weight"] for _, m in model.metrics]) > 0,
        _total=_sum([t[f"{m.id}__contribution"] for _, m in model.metrics]),
        coverage=covered.round(SCORE_DECIMALS),
    )
    t = t.mutate(score=ibis.ifelse(t._any_w, t._total.clip(lower=0.0, upper=100.0)
                                   .round(SCORE_DECIMALS), ibis.null("float64")))
    t = t.alias(prefix + STEP_WEIGHTED)
    t, pops = populations(t, {"score": "ranks"} if model.tiers.by == "rank" else {})
    t = t.mutate(tier=_tier(model, t.score, pops.get("score"))).alias(prefix + STEP_TIERED)
    segment_cols: list[str] = []
    if model.flags:
        from crindex.engine.flags import FLAGS_COLUMN, flag_column, flags_text

        t = t.mutate(**{FLAGS_COLUMN: flags_text(model, t)})
        segment_cols += [FLAGS_COLUMN, *[flag_column(f.id) for f in model.flags]]
    if model.segments is not None:
        from crindex.engine.segments import segment_columns

        seg = segment_columns(model.segments, t)
        t = t.mutate(**seg)
        segment_cols += list(seg)
    metric_cols = [f"{m.id}__{k}" for _, m in model.metrics
                   for k in ("raw", "score", "weight", "contribution", "missing")]
    out = t.select("customer_id", "score", "tier", "coverage", *CARRIED, *segment_cols,
                   *[f"dim__{d.id}" for d in model.dimensions], *metric_cols)
    return out


def _tier(model: CRIModel, score: ir.FloatingValue,
          population: Population | None = None) -> ir.StringValue:
    levels = model.tiers.levels
    catch_all = model.tiers.catch_all
    cases = []
    if model.tiers.by == "score":
        # the model's own rules, compared on the column (TiersSpec.tier_of does it in Python)
        cases = [(rule.holds(score), ibis.literal(rule.tier))
                 for rule in model.tiers.score_rules()]
    else:
        # share of customers scoring at least as high (ties share a tier)
        if population is not None:
            from_top = population.cume_dist(descending=True)
            from_bottom = population.cume_dist()
        else:
            from_top = ibis.cume_dist().over(ibis.window(group_by=score.isnull(),
                                                         order_by=score.desc()))
            from_bottom = ibis.cume_dist().over(ibis.window(group_by=score.isnull(),
                                                            order_by=score.asc()))
        for lv in levels:
            if lv.top is not None:
                cases.append((from_top <= lv.top / 100.0, ibis.literal(lv.id)))
        for lv in levels:
            if lv.bottom is not None:
                cases.append((from_bottom <= lv.bottom / 100.0, ibis.literal(lv.id)))
    tier = ibis.cases(*cases, else_=ibis.literal(catch_all.id)) if cases \
        else ibis.literal(catch_all.id)
    return ibis.ifelse(score.isnull(), ibis.null("string"), tier)

