"""Aggregates: one table's rows for a customer to one raw value, described and computed here.

An aggregate turns one table's rows for a customer (inside the metric's window, through its
filter, never after ``as_of``) into one raw value. Each registers itself here with its
description (:class:`~crindex.model.registry.AggregateInfo`: table, keys, params) and its
builder; adding one touches this module and its test. Ibis is imported inside the builders
only, so loading a model never loads it.

An aggregate is planned in two steps so one pass per table serves every metric: ``parts`` are
grouped aggregates over the table (one ``GROUP BY customer_id`` per table, each part with its
own ``where=``), and ``finish`` turns the joined parts into the raw value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from crindex.calendar import DAYS_PER_MONTH, DAYS_PER_YEAR
from crindex.contract import PURCHASE, TIME_COLUMN
from crindex.errors import Problem, Reason
from crindex.model.registry import AggregateInfo, register_aggregate, register_rule
from crindex.model.spec import FlagSpec, MetricSpec, SubAggregate

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from crindex.model.rules import Checking

Getter = Callable[[str], "ir.Value"]


@dataclass
class Plan:
    """Partial aggregates over one table and how to finish them into the raw value."""

    parts: dict[str, ir.Value] = field(default_factory=dict)
    finish: Callable[[Getter], ir.Value] | None = None
    #: no rows in the window means 0 (a count, a sum), not a missing value
    zero_when_empty: bool = False
    #: a per-customer table (``customer_id`` and the parts' names) computed outside the grouped
    #: pass and left-joined on ``customer_id`` (model predictions such as CLV)
    table: ir.Table | None = None


@dataclass
class Context:
    """What an aggregate sees: the table (already cut at ``as_of``), the window, the metric.

    ``fitted`` is what the fit step learned for this metric (see :mod:`crindex.engine.fit`),
    ``None`` when nothing was fitted.
    """

    table: ir.Table
    table_name: str
    as_of: dt.date
    start: dt.date | None
    prefix: str
    fitted: Any = None

    @property
    def ts(self) -> ir.TimestampColumn:
        return self.table[TIME_COLUMN[self.table_name]]

    @property
    def day(self) -> ir.DateColumn:
        # differences are taken on dates: engines disagree on whole days between timestamps
        return self.ts.date()

    def name(self, part: str) -> str:
        return f"{self.prefix}__{part}"

    def condition(self, spec: MetricSpec | SubAggregate | FlagSpec) -> ir.BooleanValue:
        """Window and filter of a metric (or one side of a ratio, or a flag) as one boolean."""
        import ibis

        conds: list[ir.BooleanValue] = []
        if self.start is not None:
            conds.append(self.day > ibis.literal(self.start))
        where_ = dict(spec.where or {})
        if spec.kind is not None:
            where_.setdefault("kind", spec.kind)
        if self.table_name == "orders" and "status" not in where_:
            where_["status"] = PURCHASE  # only paid orders are purchases (data contract)
        conds += [filter_condition(self.table[col], cond) for col, cond in where_.items()]
        if not conds:
            return ibis.literal(True)
        out = conds[0]
        for c in conds[1:]:
            out = out & c
        return out


def filter_condition(column: ir.Column, cond: Any) -> ir.BooleanValue:
    """``{col: value}``, ``{col: [a, b]}`` or ``{col: {">=": 1, "not_in": [...]}}``."""
    import ibis

    if isinstance(cond, list):
        return column.isin(cond)
    if isinstance(cond, dict):
        out: ir.BooleanValue | None = None
        for op, value in cond.items():
            if op == "==":
                c = column == value
            elif op == "!=":
                c = column != value
            elif op == ">":
                c = column > value
            elif op == ">=":
                c = column >= value
            elif op == "<":
                c = column < value
            elif op == "<=":
                c = column <= value
            elif op == "in":
                c = column.isin(list(value))  # type: ignore[arg-type]
            elif op == "not_in":
                c = ~column.isin(list(value))  # type: ignore[arg-type]
            elif op == "is_null":
                c = column.isnull() if value else column.notnull()
            else:  # pragma: no cover - rejected when the model is loaded
                raise ValueError(f"unknown filter operator {op}")
            out = c if out is None else out & c
        return out if out is not None else ibis.literal(True)
    if cond is None:
        return column.isnull()
    return column == cond


Builder = Callable[[Context, MetricSpec], Plan]


def aggregate(name: str, summary: str, **info: Any) -> Callable[[Builder], Builder]:
    """Register the decorated builder as aggregate ``name`` with its description (``info``)."""

    def deco(build: Builder) -> Builder:
        register_aggregate(AggregateInfo(name, summary, build=build, **info))
        return build

    return deco


def _simple(ctx: Context, spec: MetricSpec | SubAggregate, name: str) -> tuple[ir.Value, bool]:
    """One grouped aggregate for count/sum/mean/min/max/distinct_count; (expr, zero_when_empty)."""
    cond = ctx.condition(spec)
    t = ctx.table
    if spec.aggregate == "count":
        return t.customer_id.count(where=cond), True
    col = t[spec.column]  # type: ignore[index]
    if spec.aggregate == "sum":
        return col.sum(where=cond), True
    if spec.aggregate == "mean":
        return col.mean(where=cond), False
    if spec.aggregate == "min":
        return col.min(where=cond), False
    if spec.aggregate == "max":
        return col.max(where=cond), False
    if spec.aggregate == "distinct_count":
        return col.nunique(where=cond), True
    raise KeyError(name)  # pragma: no cover


def _single(ctx: Context, m: MetricSpec) -> Plan:
    expr, zero = _simple(ctx, m, m.aggregate)
    key = ctx.name("v")
    return Plan({key: expr}, lambda get: get(key), zero)


#: the aggregates that are one grouped aggregate, which may also be the sides of a ratio
SIMPLE = {
    "count": ("number of rows", "orders", False),
    "sum": ("sum of a column", "orders", True),
    "mean": ("mean of a column", "orders", True),
    "min": ("minimum of a column", "orders", True),
    "max": ("maximum of a column", "orders", True),
    "distinct_count": ("number of distinct values (cross-sell breadth)", "orders", True),
}
#: the simple aggregates that count (a whole number from 0)
COUNTS = ("count", "distinct_count")
for _name, (_summary, _table, _column) in SIMPLE.items():
    _counted = {"whole": True, "lowest": 0.0} if _name in COUNTS else {}
    aggregate(_name, _summary, default_table=_table, needs_column=_column, **_counted)(_single)


@aggregate("monthly_count", "rows per month of the window (count / window months)",
           default_table="interactions", lowest=0.0)
def _monthly_count(ctx: Context, m: MetricSpec) -> Plan:
    key = ctx.name("n")
    days = (ctx.as_of - ctx.start).days if ctx.start else None
    if days is None:  # pragma: no cover - rejected when the model is loaded
        raise ValueError(f"metric {m.id}: monthly_count needs a window (e.g. 90d)")
    months = days / DAYS_PER_MONTH
    return Plan({key: ctx.table.customer_id.count(where=ctx.condition(m))},
                lambda get: get(key) / months, True)


@register_rule("monthly_count needs a window")
def _monthly_count_window(checking: Checking) -> Iterable[Problem]:
    for m in checking.metrics("monthly_count"):
        if m.window is None or str(m.window).strip().lower() in ("", "all"):
            yield Problem(f"metric `{m.id}`: monthly_count needs a window", checking.at(m),
                          "add e.g. window: 90d (the count is divided by the window's months)",
                          Reason.BAD_PARAMETER)


def _recency(ctx: Context, m: MetricSpec) -> Plan:
    import ibis

    key = ctx.name("last_day")
    as_of = ibis.literal(ctx.as_of)
    return Plan({key: ctx.day.max(where=ctx.condition(m))},
                lambda get: as_of.delta(get(key), unit="day"))


aggregate("recency_days", "days from the last row's date to as_of",
          default_table="orders", whole=True, lowest=0.0)(_recency)
aggregate("days_since_last", "days since the last interaction of a kind",
          default_table="interactions", needs_kind=True, whole=True, lowest=0.0)(_recency)


@aggregate("latest", "the column's value on the most recent row", default_table="orders",
           needs_column=True, passes_column=True)
def _latest(ctx: Context, m: MetricSpec) -> Plan:
    key = ctx.name("latest")
    col = ctx.table[m.column]  # type: ignore[index]
    return Plan({key: col.argmax(ctx.ts, where=ctx.condition(m))}, lambda get: get(key))


@aggregate("ratio", "numerator aggregate / denominator aggregate (e.g. opens / sends)",
           default_table="interactions", parts=tuple(SIMPLE), lowest=0.0)
def _ratio(ctx: Context, m: MetricSpec) -> Plan:
    import ibis

    assert m.numerator is not None and m.denominator is not None

    def side(part: SubAggregate) -> SubAggregate:
        # the metric's own filter applies to both sides; a side's own keys win
        return part.model_copy(update={
            "where": {**(m.where or {}), **(part.where or {})} or None,
            "kind": part.kind or m.kind,
        })

    num, _ = _simple(ctx, side(m.numerator), "numerator")
    den, _ = _simple(ctx, side(m.denominator), "denominator")
    kn, kd = ctx.name("num"), ctx.name("den")

    def finish(get: Getter) -> ir.Value:
        d = get(kd).cast("float64")
        return ibis.ifelse(d.isnull() | (d == 0), ibis.null("float64"),
                           get(kn).cast("float64").fill_null(0) / d)

    return Plan({kn: num, kd: den}, finish)


@aggregate("profit", "sum of amount - cost", fixed_table="orders", reads=("amount", "cost"))
def _profit(ctx: Context, m: MetricSpec) -> Plan:
    key = ctx.name("profit")
    t = ctx.table
    return Plan({key: (t.amount - t.cost.fill_null(0)).sum(where=ctx.condition(m))},
                lambda get: get(key), True)


@aggregate("tenure_days", "days from customers.created_at to as_of", fixed_table="customers",
           whole=True, lowest=0.0)
def _tenure(ctx: Context, m: MetricSpec) -> Plan:
    import ibis

    as_of = ibis.literal(ctx.as_of)
    return Plan({}, lambda get: as_of.delta(get("created_at").date(), unit="day"))


@aggregate("nps", "promoters % - detractors % of NPS answers (-100..100)",
           fixed_table="surveys", reads=("kind", "score"), lowest=-100.0, highest=100.0)
def _nps(ctx: Context, m: MetricSpec) -> Plan:
    import ibis

    t = ctx.table
    spec = m.model_copy(update={"kind": m.kind or "nps"})
    cond = ctx.condition(spec)
    kp, kd, kn = ctx.name("promoters"), ctx.name("detractors"), ctx.name("answers")
    parts = {
        kp: t.customer_id.count(where=cond & (t.score >= 9)),
        kd: t.customer_id.count(where=cond & (t.score <= 6)),
        kn: t.customer_id.count(where=cond),
    }

    def finish(get: Getter) -> ir.Value:
        n = get(kn).cast("float64")
        return ibis.ifelse(n.isnull() | (n == 0), ibis.null("float64"),
                           100.0 * (get(kp).cast("float64") - get(kd).cast("float64")) / n)

    return Plan(parts, finish)


@aggregate("survey_mean", "mean survey score of a kind (csat, ces, nps)", fixed_table="surveys",
           needs_kind=True, reads=("kind", "score"))
def _survey_mean(ctx: Context, m: MetricSpec) -> Plan:
    key = ctx.name("mean")
    return Plan({key: ctx.table.score.mean(where=ctx.condition(m))}, lambda get: get(key))


@aggregate("attribute", "a column of the customers table", fixed_table="customers",
           needs_column=True, numeric=False, passes_column=True)
def _attribute(ctx: Context, m: MetricSpec) -> Plan:
    col = m.column or ""
    return Plan({}, lambda get: get(col))


# --------------------------------------------------------------------------------------------
# relative and trend metrics: one simple aggregate (``of``) read over several windows


#: the simple aggregates a relative metric may read (``of``)
RELATIVE_OF = tuple(SIMPLE)
#: the simple aggregates that are 0 on a window with no rows (the others have no value)
ZERO_WHEN_EMPTY = ("count", "sum", "distinct_count")


class ChangeParams(BaseModel):
    """Params of ``change``: the aggregate compared and how the change is said.

    ``as: percent`` is ``(this - previous) / |previous| x 100`` (no value when the previous
    window's is 0 or missing); ``as: points`` is ``this - previous``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    of: Literal[RELATIVE_OF]  # type: ignore[valid-type]
    as_: Literal["percent", "points"] = Field(default="percent", alias="as")


class TrendParams(BaseModel):
    """Params of ``trend``: the aggregate, how many windows, and the minimum-data gate.

    The value is the least-squares slope of the aggregate over ``periods`` back-to-back
    windows (per window: window 1 is the oldest), over the windows that end after the customer
    was created. The gate: a customer with rows in fewer than ``min_periods`` of those windows
    gets no value (the metric's ``missing`` policy applies).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    of: Literal[RELATIVE_OF]  # type: ignore[valid-type]
    periods: int = Field(default=6, ge=2, le=36)
    min_periods: int = Field(default=3, ge=2)

    @field_validator("min_periods")
    @classmethod
    def _gate_fits(cls, value: int, info: ValidationInfo) -> int:
        periods = info.data.get("periods")
        if periods is not None and value > periods:
            raise ValueError(f"min_periods ({value}) cannot exceed periods ({periods})")
        return value


#: days per unit of a tenure rate
PER_DAYS = {"day": 1.0, "week": 7.0, "month": DAYS_PER_MONTH, "year": DAYS_PER_YEAR}


class TenureRateParams(BaseModel):
    """Params of ``tenure_rate``: the aggregate and the time unit of the rate.

    The value is the aggregate over the window divided by the time the customer had in it:
    the window's days, or fewer for a customer created inside it (at least one day), in
    ``per`` units. Without a window, the whole tenure.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    of: Literal["count", "sum", "distinct_count"]
    per: Literal["day", "week", "month", "year"] = "month"


def _base(ctx: Context, m: MetricSpec, of: str, start: dt.date | None, end: dt.date,
          name: str) -> tuple[ir.Value, ir.Value]:
    """(the ``of`` aggregate, its row count) over ``(start, end]`` through the metric's filter."""
    import dataclasses

    import ibis

    spec = m.model_copy(update={"aggregate": of})
    inside = ctx.day <= ibis.literal(end)
    if start is not None:
        inside = inside & (ctx.day > ibis.literal(start))
    # the filter of the metric without its window (the windows are given here)
    cond = dataclasses.replace(ctx, start=None).condition(spec) & inside
    t = ctx.table
    rows = t.customer_id.count(where=cond)
    if of == "count":
        return rows, rows
    col = t[spec.column]  # type: ignore[index]
    value = {"sum": col.sum, "mean": col.mean, "min": col.min, "max": col.max,
             "distinct_count": col.nunique}[of](where=cond)
    return value, rows


def _windows(ctx: Context, m: MetricSpec, periods: int) -> list[tuple[dt.date, dt.date]]:
    from crindex.calendar import consecutive_windows

    assert m.window is not None  # a rule asks for it
    return consecutive_windows(ctx.as_of, m.window, periods)


def _lookback_of(periods: Callable[[MetricSpec], int]) -> Callable[[Any], int]:
    def lookback(m: Any) -> int:
        try:
            return periods(m)
        except Exception:  # params not checked yet: the rules say what is wrong
            return 1

    return lookback


def _change_periods(m: MetricSpec) -> int:
    return 2


def _trend_periods(m: MetricSpec) -> int:
    from crindex.model.registry import params_of

    return int(params_of(m).periods)  # type: ignore[attr-defined]


@aggregate("change", "change of an aggregate (params.of) against the previous window of the "
           "same length, in percent or points", default_table="orders", params=ChangeParams,
           lookback=_lookback_of(_change_periods))
def _change(ctx: Context, m: MetricSpec) -> Plan:
    import ibis

    from crindex.model.registry import params_of

    p = params_of(m)
    assert isinstance(p, ChangeParams)
    (prev_start, prev_end), (start, end) = _windows(ctx, m, 2)
    cur, cur_rows = _base(ctx, m, p.of, start, end, "cur")
    prev, prev_rows = _base(ctx, m, p.of, prev_start, prev_end, "prev")
    kc, kp = ctx.name("this"), ctx.name("previous")
    kcn, kpn = ctx.name("this_rows"), ctx.name("previous_rows")
    zero = p.of in ZERO_WHEN_EMPTY

    def value(get: Getter, key: str, rows: str) -> ir.Value:
        v = get(key).cast("float64")
        return v.fill_null(0.0) if zero else ibis.ifelse(get(rows).fill_null(0) > 0, v,
                                                         ibis.null("float64"))

    def finish(get: Getter) -> ir.Value:
        now, before = value(get, kc, kcn), value(get, kp, kpn)
        if p.as_ == "points":
            return now - before
        return ibis.ifelse(before.isnull() | (before == 0), ibis.null("float64"),
                           (now - before) / before.abs() * 100.0)

    return Plan({kc: cur, kp: prev, kcn: cur_rows, kpn: prev_rows}, finish)


@aggregate("trend", "least-squares slope of an aggregate (params.of) per window over "
           "params.periods windows, with a minimum-data gate (params.min_periods)",
           default_table="orders", params=TrendParams, lookback=_lookback_of(_trend_periods))
def _trend(ctx: Context, m: MetricSpec) -> Plan:
    import ibis

    from crindex.model.registry import params_of

    p = params_of(m)
    assert isinstance(p, TrendParams)
    windows = _windows(ctx, m, p.periods)
    parts: dict[str, ir.Value] = {}
    for k, (start, end) in enumerate(windows):
        parts[ctx.name(f"w{k}")], parts[ctx.name(f"n{k}")] = _base(ctx, m, p.of, start, end,
                                                                   f"w{k}")
    zero = p.of in ZERO_WHEN_EMPTY

    def finish(get: Getter) -> ir.Value:
        created = get("created_at").date()
        n = s_x = s_y = s_xx = s_xy = ibis.literal(0.0)
        with_rows = ibis.literal(0)
        for k, (_, end) in enumerate(windows):
            x = float(k + 1)
            rows = get(ctx.name(f"n{k}")).fill_null(0)
            # a window counts once the customer exists by its end
            live = created.isnull() | (created <= ibis.literal(end))
            y = get(ctx.name(f"w{k}")).cast("float64")
            used = live if zero else live & (rows > 0)
            y = y.fill_null(0.0)
            one = ibis.ifelse(used, 1.0, 0.0)
            n, s_x, s_y = n + one, s_x + one * x, s_y + one * y
            s_xx, s_xy = s_xx + one * x * x, s_xy + one * x * y
            with_rows = with_rows + ibis.ifelse(live & (rows > 0), 1, 0)
        spread = n * s_xx - s_x * s_x
        slope = (n * s_xy - s_x * s_y) / spread
        return ibis.ifelse((with_rows >= p.min_periods) & (spread > 0), slope,
                           ibis.null("float64"))

    return Plan(parts, finish)


@aggregate("tenure_rate", "an aggregate (params.of) per unit of the time the customer had in "
           "the window (params.per: day, week, month, year)", default_table="orders",
           params=TenureRateParams)
def _tenure_rate(ctx: Context, m: MetricSpec) -> Plan:
    import ibis

    from crindex.model.registry import params_of

    p = params_of(m)
    assert isinstance(p, TenureRateParams)
    value, _ = _base(ctx, m, p.of, ctx.start, ctx.as_of, "v")
    key = ctx.name("v")
    as_of = ibis.literal(ctx.as_of)
    window_days = (ctx.as_of - ctx.start).days if ctx.start is not None else None

    def finish(get: Getter) -> ir.Value:
        tenure = as_of.delta(get("created_at").date(), unit="day").cast("float64")
        days = tenure if window_days is None else ibis.least(tenure, float(window_days))
        days = ibis.greatest(days.fill_null(float(window_days or 1)), 1.0)
        return get(key).cast("float64").fill_null(0.0) / (days / PER_DAYS[p.per])

    return Plan({key: value}, finish, True)


@register_rule("relative metrics read the column and window they need")
def _relative_needs(checking: Checking) -> Iterable[Problem]:
    from pydantic import ValidationError

    from crindex.model.registry import params_of

    for m in checking.metrics("change", "trend", "tenure_rate"):
        if m.aggregate in ("change", "trend") and (
                m.window is None or str(m.window).strip().lower() in ("", "all")):
            yield Problem(f"metric `{m.id}`: {m.aggregate} needs a window", checking.at(m),
                          "add e.g. window: 30d (the length of each window compared)",
                          Reason.BAD_PARAMETER)
        try:
            of = params_of(m).of  # type: ignore[attr-defined]
        except ValidationError:
            continue  # the params rule reports it
        if of != "count" and not m.column:
            yield Problem(f"metric `{m.id}`: {m.aggregate} of `{of}` needs a column",
                          checking.at(m), "add e.g. column: amount", Reason.BAD_PARAMETER)
