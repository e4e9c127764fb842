"""Portfolio KPIs over one period, from the canonical tables, in the engine (Ibis).

The period is the ``period`` (``90d``, ``3m``, ``1y``) ending on ``as_of``: the days after
``start = as_of - period`` up to ``as_of`` included, as for a metric's window. Only paid orders
are purchases. With ``by`` (``segment``, ``owner`` or another customers column) the customer
KPIs are also given per group; the KPIs of leads and marketing spend, which belong to no
customer, only for the whole portfolio.

Churn is read as :mod:`crindex.outcomes` defines it for the horizon ``(start, as_of]``, under
``customers.churned_at`` or a model's churn rule (``churn: {inactivity_days: N}``): the churn
rate of a period is the churn rate a backtest from ``start`` over the period measures.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import ibis
import ibis.expr.types as ir

from crindex.calendar import window_start, window_weeks
from crindex.contract import CONTRACT, PURCHASE
from crindex.errors import CrindexError, DataError, Reason
from crindex.model.spec import ChurnRule
from crindex.outcomes import churn, on_books

ALL = "all"
NO_GROUP = "(none)"


@dataclass(frozen=True)
class KpiDef:
    """What a KPI is: its id, its label, its unit and how it is computed."""

    id: str
    label: str
    unit: str
    formula: str
    per_group: bool = True


DEFINITIONS: tuple[KpiDef, ...] = (
    KpiDef("customers_start", "Customers at period start (S)", "customers",
           "created on or before the start and not churned by then (by the churn rule)"),
    KpiDef("customers_end", "Customers at period end (E)", "customers",
           "created on or before as_of and not churned by then (by the churn rule)"),
    KpiDef("new_customers", "New customers (N)", "customers", "created during the period"),
    KpiDef("churn_rate", "Churn rate", "%",
           "customers of S who churned in the period (customers.churned_at, or the model's "
           "churn rule) / S x 100"),
    KpiDef("retention_rate", "Customer retention rate", "%", "(E - N) / S x 100"),
    KpiDef("repurchase_rate", "Repurchase rate", "%",
           "customers buying on 2+ days in the period / customers buying in it x 100"),
    KpiDef("nps", "Net Promoter Score", "-100..100",
           "NPS answers in the period: % promoters (9-10) - % detractors (0-6)"),
    KpiDef("csat", "CSAT (share of 4-5)", "%", "CSAT answers in the period scoring 4 or 5 / "
           "all CSAT answers x 100"),
    KpiDef("ces", "Mean customer effort score", "1-7", "mean CES answer in the period "
           "(lower is better)"),
    KpiDef("lead_conversion_rate", "Lead conversion rate", "%", "leads created in the period "
           "with a converted customer / leads created in the period x 100", per_group=False),
    KpiDef("cac", "Customer acquisition cost", "money", "marketing spend in the period (rows "
           "overlapping it count pro rata by day) / N", per_group=False),
    KpiDef("mean_clv", "Mean predicted CLV", "money", "mean MBG/NBD x Gamma-Gamma CLV "
           "(horizon, discount rate) of the customers at period end who have bought (the "
           "model of a `clv` metric's default; customers without a prediction are left out)"),
    KpiDef("clv_cac", "CLV / CAC", "ratio", "mean_clv / cac", per_group=False),
    KpiDef("first_response_hours", "Mean first-response time", "hours", "mean `value` of "
           "the period's interactions of the response kind (ticket_resolved)"),
    KpiDef("top20_revenue_share", "Revenue share of the top 20% of customers", "%",
           "paid revenue in the period of the top ceil(20%) of buying customers / all paid "
           "revenue in the period x 100"),
    KpiDef("mean_cri", "Mean CRI", "0-100", "mean score of the customers scored as of as_of "
           "(needs a model)"),
)
BY_ID = {k.id: k for k in DEFINITIONS}


@dataclass
class KpiReport:
    """KPI values for the portfolio (``all``) and, with ``by``, for each group."""

    as_of: dt.date
    period: str
    start: dt.date
    by: str | None
    values: dict[str, dict[str, float | None]]
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def overall(self) -> dict[str, float | None]:
        return self.values[ALL]

    def to_frame(self) -> Any:
        """KPIs as rows, ``all`` and each group as columns (pandas)."""
        import pandas as pd

        return pd.DataFrame(self.values).reindex([k.id for k in DEFINITIONS])

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "period": self.period,
                "start_excluded": self.start.isoformat(), "by": self.by,
                "values": self.values, "notes": self.notes,
                "definitions": {k.id: {"label": k.label, "unit": k.unit, "formula": k.formula}
                                for k in DEFINITIONS}}


@dataclass
class _Ctx:
    tables: Mapping[str, ir.Table]
    as_of: dt.date
    start: dt.date
    groups: ir.Table  # customer_id, g
    churn: ChurnRule | None = None

    def day_in_period(self, column: ir.TimestampValue) -> ir.BooleanValue:
        day = column.date()
        return (day > ibis.literal(self.start)) & (day <= ibis.literal(self.as_of))

    def of_customers(self, name: str) -> ir.Table:
        """A customer table joined to its customer's group (rows of unknown customers drop)."""
        t = self.tables[name]
        return t.inner_join(self.groups, "customer_id")


def _by_group(expr: ir.Table) -> dict[str, float | None]:
    frame = expr.to_pandas()
    return {str(g): (None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v))
            for g, v in zip(frame["g"], frame["v"], strict=True)}


def _customer_counts(ctx: _Ctx) -> dict[str, dict[str, float | None]]:
    # S and the churners are the horizon (start, as_of] of crindex.outcomes, E its last day
    rule = ctx.churn or ChurnRule()
    if rule.label is not None:  # a static label has no date: churn in a period is not known
        rule = ChurnRule()
    period = churn(ctx.tables, rule, ctx.start, ctx.as_of)
    at_end = on_books(ctx.tables, rule, ctx.as_of).rename(end_active="active")
    c = ctx.tables["customers"].inner_join(ctx.groups, "customer_id") \
        .inner_join(period, "customer_id").inner_join(at_end, "customer_id")
    new = c.created_at.notnull() & ctx.day_in_period(c.created_at)
    frame = c.group_by("g").aggregate(
        S=c.active.sum(), E=c.end_active.sum(), N=new.sum(), churned=c.churned.sum(),
    ).to_pandas()
    out: dict[str, dict[str, float | None]] = {}
    dated = (ctx.churn is None or ctx.churn.label is None)
    for row in frame.itertuples(index=False):
        s, e, n, ch = (float(v) for v in (row.S, row.E, row.N, row.churned))
        out[str(row.g)] = {
            "customers_start": s, "customers_end": e, "new_customers": n,
            "churn_rate": 100.0 * ch / s if s and dated else None,
            "retention_rate": 100.0 * (e - n) / s if s and dated else None,
        }
    return out


def _repurchase(ctx: _Ctx) -> dict[str, float | None]:
    o = ctx.of_customers("orders")
    o = o.filter((o.status == PURCHASE) & ctx.day_in_period(o.ordered_at))
    # purchases are counted on distinct days, as in the RFM summaries (a split order is one)
    per = o.group_by("g", "customer_id").aggregate(n=o.ordered_at.date().nunique())
    return _by_group(per.group_by("g").aggregate(
        v=100.0 * (per.n >= 2).sum().cast("float64") / per.count().cast("float64")))


def _survey(ctx: _Ctx, kind: str) -> dict[str, float | None]:
    s = ctx.of_customers("surveys")
    s = s.filter((s.kind == kind) & ctx.day_in_period(s.answered_at) & s.score.notnull())
    n = s.count().cast("float64")
    if kind == "nps":
        v = 100.0 * ((s.score >= 9).sum() - (s.score <= 6).sum()).cast("float64") / n
    elif kind == "csat":
        v = 100.0 * (s.score >= 4).sum().cast("float64") / n
    else:
        v = s.score.mean()
    return _by_group(s.group_by("g").aggregate(v=v))


def _first_response(ctx: _Ctx, kind: str) -> dict[str, float | None]:
    i = ctx.of_customers("interactions")
    i = i.filter((i.kind == kind) & ctx.day_in_period(i.occurred_at) & i.value.notnull())
    return _by_group(i.group_by("g").aggregate(v=i.value.mean()))


def _top_share(ctx: _Ctx, share: float = 0.2) -> dict[str, float | None]:
    o = ctx.of_customers("orders")
    o = o.filter((o.status == PURCHASE) & ctx.day_in_period(o.ordered_at))
    rev = o.group_by("g", "customer_id").aggregate(revenue=o.amount.sum())
    rev = rev.filter(rev.revenue > 0)
    # rank 0 is the biggest buyer; ties broken by customer id so the count of top buyers is exact
    rank = ibis.row_number().over(group_by=rev.g, order_by=[rev.revenue.desc(), rev.customer_id])
    n = rev.count().over(group_by=rev.g)
    rev = rev.mutate(rank=rank, n=n)
    top = rev.rank < (rev.n.cast("float64") * share).ceil()
    return _by_group(rev.group_by("g").aggregate(
        v=100.0 * rev.revenue.sum(where=top) / rev.revenue.sum()))


def _lead_conversion(ctx: _Ctx) -> float | None:
    leads = ctx.tables["leads"]
    leads = leads.filter(ctx.day_in_period(leads.created_at))
    n = leads.count().to_pyarrow().as_py()
    if not n:
        return None
    converted = leads.converted_customer_id.notnull().sum().to_pyarrow().as_py()
    return 100.0 * float(converted) / float(n)


def _spend(ctx: _Ctx) -> float:
    s = ctx.tables["spend"]
    first = s.period_start.date()
    last = s.period_end.date().fill_null(first)
    lo = ibis.greatest(first, ibis.literal(ctx.start + dt.timedelta(days=1)))
    hi = ibis.least(last, ibis.literal(ctx.as_of))
    inside = hi.delta(lo, unit="day") + 1
    days = last.delta(first, unit="day") + 1
    share = ibis.ifelse(inside > 0, inside.cast("float64") / days.cast("float64"), 0.0)
    value = (s.amount * share).sum().to_pyarrow().as_py()
    return float(value or 0.0)


def _mean_clv(ctx: _Ctx, clv_models: Any, horizon: str, discount_rate: float,
              notes: list[str]) -> dict[str, float | None]:
    from crindex.clv import rfm_summary
    from crindex.clv.metrics import ClvParams, Settings, predict, prediction_warnings

    books = on_books(ctx.tables, ctx.churn, ctx.as_of)
    at_end = books.filter(books.active).select("customer_id")
    o = ctx.tables["orders"]
    o = o.filter(o.status == PURCHASE)
    o = o.semi_join(at_end, "customer_id")
    summary = rfm_summary(o, ctx.as_of, unit="weeks", paid_only=False)
    weeks = window_weeks(horizon)
    if weeks is None:
        raise DataError.single(Reason.BAD_PARAMETER, f"CLV horizon {horizon!r}", "clv_horizon",
                               "e.g. 12m, 52w")
    model = str(ClvParams.model_fields["model"].default)
    settings = Settings(model, 0.0, weeks, discount_rate, 1.0)
    predicted = predict("clv", summary, settings, clv_models, with_rfm=True)
    notes[:] = prediction_warnings("mean_clv", "clv", model, predicted,
                                   missing="left out of the mean")
    values = ibis.memtable(predicted.select(["customer_id", "value"]))
    joined = values.inner_join(ctx.groups, "customer_id")
    return _by_group(joined.group_by("g").aggregate(v=joined.value.mean()))


def kpis(
    tables: Mapping[str, ir.Table],
    as_of: dt.date | str,
    period: str = "90d",
    by: str | None = None,
    *,
    scores: Any = None,
    clv_models: tuple[Any, Any] | None = None,
    clv_horizon: str = "12m",
    discount_rate: float = 0.1,
    response_kind: str = "ticket_resolved",
    churn_rule: ChurnRule | None = None,
) -> KpiReport:
    """Compute every portfolio KPI (see :data:`DEFINITIONS`) over one period.

    Parameters
    ----------
    tables
        Canonical Ibis tables (``customers`` required; ``orders``, ``surveys``,
        ``interactions``, ``leads``, ``spend`` used when present).
    as_of
        Last day of the period; no later row is read.
    period
        Length of the period ending on ``as_of``: ``90d``, ``12w``, ``3m``, ``1y``.
    by
        A customers column (``segment``, ``owner``, ...) to break the KPIs down by, or
        ``rfm_segment``, read from ``scores`` (a model with ``segments:``).
    scores
        Scores of the same date (a table with ``customer_id`` and ``score``, e.g.
        ``ScoreResult.table``) for the mean CRI.
    clv_models
        Fitted ``(BetaGeo, GammaGamma)`` to use for CLV; default: fitted on the orders.
    clv_horizon, discount_rate
        CLV horizon and yearly discount rate.
    response_kind
        The interaction kind whose ``value`` is the hours to first response.
    churn_rule
        How churn is read (a model's ``churn``, see :mod:`crindex.outcomes`): who is a
        customer at the start and end (S, E) and who churned in the period. Default:
        ``customers.churned_at``.
    """
    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
    try:
        start = window_start(day, period)
    except ValueError as exc:
        raise DataError.single(Reason.BAD_PARAMETER, str(exc), "--period",
                               "e.g. 90d, 12w, 3m, 1y") from None
    if start is None:
        raise DataError.single(Reason.BAD_PARAMETER, "the period must have a length", "--period",
                               "e.g. 90d, 12w, 3m, 1y")
    if "customers" not in tables:
        raise DataError.single(Reason.MISSING_TABLE, "the customers table is missing", "kpis",
                               "tables found: " + ", ".join(sorted(tables)))
    customers = tables["customers"]
    scored_by = by is not None and by in SCORE_GROUPS
    if scored_by and (scores is None or by not in _column_names(scores)):
        raise DataError.single(
            Reason.UNKNOWN_COLUMN, f"cannot break KPIs down by `{by}` without it in the scores",
            "--by", "give a model (--model) with `segments:` (docs/act.md, RFM segments)")
    if by is not None and not scored_by and (by not in CONTRACT["customers"]
                                              or by not in customers.columns):
        raise DataError.single(
            Reason.UNKNOWN_COLUMN, f"cannot break KPIs down by `{by}`", "--by",
            "a customers column, e.g. segment, owner, region, size_band, or rfm_segment "
            "with a model that has segments")
    if scored_by:
        # the group comes from the scores (customers not scored at as_of are in no group)
        assert by is not None and scores is not None
        groups = ibis.memtable(_arrow(scores, ["customer_id", by]))
        customers = customers.left_join(groups, "customer_id").select(
            *customers.columns, by)
    # nothing after as_of is ever read
    cut: dict[str, ir.Table] = {}
    time_cols = {"orders": "ordered_at", "surveys": "answered_at", "interactions": "occurred_at",
                 "leads": "created_at", "spend": "period_start"}
    for name, t in tables.items():
        col = time_cols.get(name)
        cut[name] = t.filter(t[col].date() <= ibis.literal(day)) if col else t

    notes: dict[str, str] = {}
    if churn_rule is not None and churn_rule.label is not None:
        for kpi in ("churn_rate", "retention_rate"):
            notes[kpi] = ("the model's churn is a static label (no churn date): churn in a "
                          "period is not known; crindex backtest measures the label")
    values: dict[str, dict[str, float | None]] = {}
    groupings = [(ALL, None)] + ([(by, by)] if by else [])
    for _, column in groupings:
        g = customers[column].cast("string").fill_null(NO_GROUP) if column \
            else ibis.literal(ALL)
        ctx = _Ctx(cut, day, start, customers.select("customer_id", g=g), churn_rule)
        found: dict[str, dict[str, float | None]] = {}
        clv_notes: list[str] = []

        def put(kpi: str, per_group: dict[str, float | None], found=found) -> None:
            for group, v in per_group.items():
                found.setdefault(group, {})[kpi] = v

        for group, row in _customer_counts(ctx).items():
            found.setdefault(group, {}).update(row)
        steps: list[tuple[str, str, Callable[[], dict[str, float | None]]]] = [
            ("repurchase_rate", "orders", partial(_repurchase, ctx)),
            ("nps", "surveys", partial(_survey, ctx, "nps")),
            ("csat", "surveys", partial(_survey, ctx, "csat")),
            ("ces", "surveys", partial(_survey, ctx, "ces")),
            ("first_response_hours", "interactions", partial(_first_response, ctx, response_kind)),
            ("top20_revenue_share", "orders", partial(_top_share, ctx)),
            ("mean_clv", "orders",
             partial(_mean_clv, ctx, clv_models, clv_horizon, discount_rate, clv_notes)),
        ]
        for kpi, table, compute in steps:
            if table not in cut:
                notes[kpi] = f"no {table} table"
                continue
            try:
                put(kpi, compute())
            except CrindexError as exc:  # e.g. CLV cannot be fitted on too few customers
                notes[kpi] = " ".join(str(exc).split())
        if clv_notes and column is None:
            notes["mean_clv"] = "; ".join(n.removeprefix("mean_clv: ") for n in clv_notes)
        if scores is not None:
            put("mean_cri", _mean_scores(scores, ctx))
        else:
            notes["mean_cri"] = "give a model (--model) to score the customers"
        if column is None:
            values[ALL] = found.get(ALL, {})
        else:
            for group in sorted(found):
                values[group] = found[group]

    overall = values[ALL]
    n_new = overall.get("new_customers") or 0.0
    if "leads" in cut:
        overall["lead_conversion_rate"] = _lead_conversion(_Ctx(cut, day, start, customers))
    else:
        notes["lead_conversion_rate"] = "no leads table"
    if "spend" in cut:
        spend = _spend(_Ctx(cut, day, start, customers))
        overall["cac"] = spend / n_new if n_new else None
        if not n_new:
            notes["cac"] = "no new customers in the period"
    else:
        notes["cac"] = "no spend table"
    cac, clv = overall.get("cac"), overall.get("mean_clv")
    overall["clv_cac"] = clv / cac if cac and clv is not None else None
    if overall["clv_cac"] is None and "clv_cac" not in notes:
        notes["clv_cac"] = " and ".join(
            f"{k} is - ({notes.get(k) or EMPTY.get(k, 'no value')})" if overall.get(k) is None
            else f"{k} is 0"
            for k in ("mean_clv", "cac") if not overall.get(k))
    for group_values in values.values():
        for k in DEFINITIONS:
            group_values.setdefault(k.id, None)
    _why_missing(values, notes, by, response_kind)
    return KpiReport(day, period, start, by, values, notes)


#: why a KPI has no value over a set of customers (``-``), when no other note says why
EMPTY: dict[str, str] = {
    "churn_rate": "no customer at the period start (S = 0)",
    "retention_rate": "no customer at the period start (S = 0)",
    "repurchase_rate": "no customer bought in the period",
    "nps": "no NPS answer in the period",
    "csat": "no CSAT answer in the period",
    "ces": "no CES answer in the period",
    "lead_conversion_rate": "no lead created in the period",
    "cac": "no new customer in the period",
    "mean_clv": "no customer at the period end has a paid order",
    "first_response_hours": "no {kind} interaction in the period",
    "top20_revenue_share": "no paid revenue in the period",
    "mean_cri": "no customer was scored",
}


def _why_missing(values: dict[str, dict[str, float | None]], notes: dict[str, str],
                 by: str | None, response_kind: str) -> None:
    """A note for every KPI shown as ``-`` that no note explains yet (in place)."""
    for k in DEFINITIONS:
        empty = [g for g, row in values.items() if row.get(k.id) is None]
        if not empty or k.id in notes:
            continue
        if not k.per_group and empty == [g for g in values if g != ALL]:
            notes[k.id] = (f"portfolio only: not broken down by {by} (its rows belong to no "
                           "customer)")
            continue
        reason = EMPTY.get(k.id, "no data for it").format(kind=response_kind)
        if ALL in empty:
            notes[k.id] = reason
        else:
            notes[k.id] = f"{by} {', '.join(empty)}: {reason}"


#: ``--by`` columns that come from the scores, not from the customers table
SCORE_GROUPS = ("rfm_segment",)


def _column_names(scores: Any) -> list[str]:
    names = getattr(scores, "column_names", None)
    return list(names) if names is not None else list(scores.columns)


def _arrow(scores: Any, columns: list[str]) -> Any:
    """``columns`` of a scores table (Arrow or pandas) as an Arrow table."""
    import pyarrow as pa

    if hasattr(scores, "select") and hasattr(scores, "column_names"):
        return scores.select(columns)
    return pa.Table.from_pandas(scores[columns], preserve_index=False)


def _mean_scores(scores: Any, ctx: _Ctx) -> dict[str, float | None]:
    t = ibis.memtable(_arrow(scores, ["customer_id", "score"]))
    joined = t.inner_join(ctx.groups, "customer_id")
    return _by_group(joined.group_by("g").aggregate(v=joined.score.mean()))
