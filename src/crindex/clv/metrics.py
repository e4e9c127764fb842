"""CLV, P(alive) and expected purchases as metrics of a model file.

Three aggregates over ``orders`` (paid orders, the metric's ``where`` and ``window``, never after
``as_of``)::

    - id: clv_1y
      aggregate: clv
      params: {horizon: 12m, discount_rate: 0.1, margin: 1.0, model: bgnbd}
      normalise: {method: log_range, max: 5000}
    - {id: alive, aggregate: p_alive, normalise: {method: range, min: 0, max: 1}}
    - {id: next_90d, aggregate: expected_purchases, params: {horizon: 90d}, ...}

Everything about them lives here: their descriptions and params schemas (checked when a model
is loaded, so ``crindex validate`` rejects a bad ``horizon`` or an unknown param with its
file:line), their validation rule, their fit and their plan. Numpy, scipy and Ibis are imported
inside the fit and the plan only.

How they are computed, in the pipeline's two steps:

1. **fit** (:func:`fit`, called by :mod:`crindex.engine.fit` before compiling; it runs queries):
   the RFM summary of the orders (:func:`crindex.clv.rfm_summary`, in weeks, calibration ending
   on ``as_of``) runs in the engine; its distinct ``(x, t_x, T)`` patterns are fitted by
   MBG/NBD (or BG/NBD when asked), and for ``clv`` the repeat buyers' mean spend by
   Gamma-Gamma (buyers whose mean repeat spend is not > 0 set aside, and named); a model with
   several CLV metrics over the same orders and settings fits once. A fit that runs away or
   does not converge is refused (:mod:`crindex.clv.models`). Each buyer's prediction
   is computed from the fitted parameters (the conditional expectation needs the Gaussian
   hypergeometric function, which SQL does not have) into an in-memory table named
   ``clv__<metric id>_<digest of its content>``. The fitted parameters are reported.
2. **compile** (:func:`build`, pure): the plan left-joins that named table on
   ``customer_id``. So the compiled SQL is the query that ran: it reads the predictions from
   the named table, and the table's name changes whenever its content does.

Compiled without data (``crindex sql`` with no ``--data``) nothing can be fitted, and the
predictions appear as a table named ``clv__<metric id>``. Customers without a paid order, or
whose prediction is not a number, have no value (the metric's ``missing`` policy applies).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError

from crindex.calendar import WEEKS_PER_MONTH, window_weeks
from crindex.contract import CONTRACT
from crindex.errors import FitError, ModelError, NotFittedError, Problem, Reason, raise_if
from crindex.model.registry import (
    AggregateInfo,
    params_of,
    register_aggregate,
    register_rule,
)
from crindex.model.spec import Spec

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from crindex.clv.bgnbd import BetaGeo
    from crindex.clv.gamma_gamma import GammaGamma
    from crindex.model.rules import Checking

#: the purchase models a metric may name, by ``params.model``
MODELS = {"bgnbd": "BetaGeo", "mbgnbd": "ModifiedBetaGeo"}
#: share of one-time buyers above which a BG/NBD metric is warned about (BG/NBD gives each of
#: them a P(alive) of exactly 1, so they rank as the most alive)
ONE_TIME_WARNING = 0.3
#: customers named in a warning, at most
NAMED = 20


def horizon_weeks(text: str) -> float:
    """A horizon (``90d``, ``26w``, ``12m``, ``1y``) in weeks; ``ValueError`` when it is none."""
    weeks = window_weeks(str(text))
    if weeks is None:
        raise ValueError("a horizon is needed, e.g. 90d, 26w, 12m, 1y")
    return weeks


def _horizon(text: str) -> str:
    horizon_weeks(text)
    return text


class PAliveParams(Spec):
    """Params of ``p_alive``: the purchase model and its L2 penalty.

    MBG/NBD by default: BG/NBD gives every one-time buyer a P(alive) of exactly 1.
    """

    model: Literal["bgnbd", "mbgnbd"] = "mbgnbd"
    penalizer: float = Field(default=0.0, ge=0)


class ExpectedPurchasesParams(PAliveParams):
    """Params of ``expected_purchases``: also the horizon."""

    horizon: Annotated[str, AfterValidator(_horizon)] = "12m"


class ClvParams(ExpectedPurchasesParams):
    """Params of ``clv``: also the yearly discount rate and the margin on spend."""

    discount_rate: float = Field(default=0.1, ge=0)
    margin: float = Field(default=1.0, ge=0)


@dataclass(frozen=True)
class Settings:
    """A CLV metric's checked settings, with the horizon in weeks."""

    model: str
    penalizer: float
    horizon_weeks: float
    discount_rate: float
    margin: float


def settings_of(metric: Any) -> Settings:
    """A metric's settings from its ``params``; one :class:`ModelError` listing every problem."""
    from crindex.model.rules import param_problems

    where = getattr(metric, "at", "") or f"metric {metric.id}"
    try:
        params: Any = params_of(metric)
    except ValidationError:
        raise_if(param_problems(metric.id, metric.aggregate, metric.params, lambda _: where),
                 ModelError, f"metric `{metric.id}` has bad params")
        raise  # pragma: no cover - param_problems reports what the schema refused
    horizon = getattr(params, "horizon", None)
    return Settings(params.model, params.penalizer, horizon_weeks(horizon) if horizon else 0.0,
                    getattr(params, "discount_rate", 0.0), getattr(params, "margin", 0.0))


# --------------------------------------------------------------------------------------------
# fit: learn from the data before compiling


def _purchase_model(name: str, penalizer: float) -> BetaGeo:
    from crindex.clv import bgnbd

    cls: type[BetaGeo] = getattr(bgnbd, MODELS[name])
    return cls(penalizer=penalizer)


def fit_purchases(summary: ir.Table, settings: Settings) -> BetaGeo:
    """The purchase model fitted on an RFM summary's distinct ``(x, t_x, T)`` patterns."""
    from crindex.clv.rfm import pattern_counts

    return _purchase_model(settings.model, settings.penalizer).fit(
        pattern_counts(summary).to_pyarrow())


def fit_spend(summary: ir.Table, settings: Settings) -> GammaGamma:
    """Gamma-Gamma fitted on the repeat buyers of an RFM summary."""
    from crindex.clv.gamma_gamma import GammaGamma
    from crindex.clv.rfm import pattern_counts

    repeat = summary.filter((summary.x > 0) & (summary.monetary > 0))
    return GammaGamma(penalizer=settings.penalizer).fit(
        pattern_counts(repeat, with_monetary=True).to_pyarrow())


def predict(aggregate: str, summary: Any, settings: Settings,
            models: tuple[BetaGeo, GammaGamma | None] | None = None,
            with_rfm: bool = False) -> pa.Table:
    """Each customer's prediction as a pyarrow table ``customer_id``, ``value``.

    ``models``: fitted ``(purchases, spend)`` models to use instead of fitting on ``summary``.
    ``with_rfm``: also the summary's ``x`` and ``monetary`` (what
    :func:`prediction_warnings` reads, so it runs no query of its own).
    """
    import numpy as np
    import pyarrow as pa

    from crindex.clv.gamma_gamma import customer_lifetime_value

    if models is None:
        models = (fit_purchases(summary, settings),
                  fit_spend(summary, settings) if aggregate == "clv" else None)
    purchases, spend = models
    rows = summary.select("customer_id", "x", "t_x", "T", "monetary").to_pyarrow()
    x, t_x, T = (np.asarray(rows.column(c).to_numpy(), dtype=np.float64)
                 for c in ("x", "t_x", "T"))
    with np.errstate(all="ignore"):  # what is not a number is made missing below
        if aggregate == "p_alive":
            value = purchases.p_alive(x, t_x, T)
        elif aggregate == "expected_purchases":
            value = purchases.conditional_expected_purchases(settings.horizon_weeks, x, t_x, T)
        else:
            assert spend is not None
            periods = max(1, round(settings.horizon_weeks / WEEKS_PER_MONTH))
            length = settings.horizon_weeks / periods
            per_period = (1.0 + settings.discount_rate) ** (length * 7 / 365.25) - 1.0
            monetary = np.asarray(rows.column("monetary").to_numpy(), dtype=np.float64)
            value = customer_lifetime_value(
                purchases, spend, x, t_x, T, np.where(_set_aside(x, monetary), 1.0, monetary),
                periods=periods, period_length=length, discount_rate=per_period,
                margin=settings.margin)
            # repeat buyers whose mean repeat spend is not > 0 were set aside from the spend fit:
            # they have no CLV (see MetricPredictions.fit, which names them)
            value = np.where(_set_aside(x, monetary), np.nan, value)
    # a prediction that is not a number is no value: the metric's missing policy applies, as
    # for a customer without a paid order (never a score: NaN once ranked as 100 points)
    value = np.where(np.isfinite(value), value, np.nan)
    out = pa.table({"customer_id": rows.column("customer_id"),
                    "value": pa.array(value, type=pa.float64(), from_pandas=True)})
    if with_rfm:
        out = out.append_column("x", rows.column("x")).append_column(
            "monetary", rows.column("monetary"))
    return out


def _set_aside(x: Any, monetary: Any) -> Any:
    """Repeat buyers whose mean repeat spend is not > 0 (e.g. $0.00 orders): no spend model."""
    import numpy as np

    with np.errstate(invalid="ignore"):
        return (x > 0) & ~(monetary > 0)


def _named(ids: list[str], total: int) -> str:
    more = total - len(ids)
    return ", ".join(ids) + (f" and {more:,} more" if more > 0 else "")


def prediction_warnings(what: str, aggregate: str, model: str, predicted: pa.Table,
                        missing: str = "the metric's missing policy applies") -> list[str]:
    """What a run must say about CLV predictions (from :func:`predict` ``with_rfm=True``).

    Repeat buyers set aside from the spend fit (named), predictions that are not numbers (made
    missing), BG/NBD over many one-time buyers. ``what`` names the metric (or the KPI),
    ``missing`` says what becomes of a customer without a prediction.
    """
    import numpy as np

    out: list[str] = []
    buyers = predicted.num_rows
    x = np.asarray(predicted.column("x").to_numpy(zero_copy_only=False), dtype=np.float64)
    aside = 0
    if aggregate == "clv":
        monetary = np.asarray(predicted.column("monetary").to_numpy(zero_copy_only=False),
                              dtype=np.float64)
        bad = _set_aside(x, monetary)
        aside = int(bad.sum())
        if aside:
            ids = sorted(str(v) for v, b in zip(predicted.column("customer_id").to_pylist(),
                                                bad.tolist(), strict=True) if b)
            out.append(
                f"{what}: {aside:,} repeat buyer(s) with a mean repeat spend that is not > 0 "
                f"set aside from the Gamma-Gamma spend fit, so they have no CLV ({missing}): "
                f"{_named(ids[:NAMED], aside)}; fix: leave out zero-value "
                "orders (where: {amount: {'>': 0}}) or correct their amounts")
    not_numbers = predicted.column("value").null_count - aside
    if not_numbers:
        out.append(f"{what}: {not_numbers:,} of {buyers:,} buyer(s) got a prediction that is "
                   f"not a number; they are missing ({missing}), never scored")
    if model == "bgnbd" and buyers:
        once = int((x == 0).sum())
        if once / buyers > ONE_TIME_WARNING:
            out.append(
                f"{what}: BG/NBD gives each of the {once:,} one-time buyers ({once / buyers:.0%} "
                f"of {buyers:,}) a P(alive) of exactly 1, so they rank as the most alive; "
                "model: mbgnbd (the default) lets them drop out")
    return out


class MetricPredictions:
    """What one CLV metric learns from the orders: fitted models and each buyer's prediction.

    Follows scikit-learn: settings in ``__init__``, :meth:`fit` returns ``self``, learned
    attributes end in ``_`` and using them before :meth:`fit` raises ``NotFittedError``.

    Parameters
    ----------
    metric_id, aggregate
        The metric and its aggregate (``p_alive``, ``expected_purchases`` or ``clv``).
    settings
        Its checked params (:func:`settings_of`).

    Attributes
    ----------
    purchases_ : BetaGeo
        The fitted purchase model (BG/NBD or MBG/NBD).
    spend_ : GammaGamma or None
        The fitted spend model (``clv`` only).
    predictions_ : pyarrow.Table
        ``customer_id`` and ``<metric id>__value`` for every buyer.
    table_ : ibis Table
        The predictions as the in-memory table the compiled query reads, named
        ``clv__<metric id>_<digest>``.
    warnings_ : list of str
        What the run's summary must say: repeat buyers set aside from the spend fit (named),
        predictions that are not numbers (missing), BG/NBD over many one-time buyers.
    """

    def __init__(self, metric_id: str, aggregate: str, settings: Settings):
        self.metric_id = metric_id
        self.aggregate = aggregate
        self.settings = settings

    def fit(self, summary: ir.Table, shared: dict[Any, Any] | None = None) -> MetricPredictions:
        """Fit on an RFM summary (weeks); ``shared`` reuses fits across metrics of one model."""
        import pyarrow as pa
        import pyarrow.compute as pc

        shared = {} if shared is None else shared
        with_spend = self.aggregate == "clv"
        key = (summary.op(), self.settings.model, self.settings.penalizer)
        purchases, spend = shared.get(key, (None, None))
        if purchases is None:
            purchases = fit_purchases(summary, self.settings)
        if with_spend and spend is None:
            spend = fit_spend(summary, self.settings)
        shared[key] = (purchases, spend)
        column = f"{self.metric_id}__value"
        full = predict(self.aggregate, summary, self.settings, (purchases, spend), with_rfm=True)
        self.warnings_ = prediction_warnings(f"metric `{self.metric_id}`", self.aggregate,
                                             self.settings.model, full)
        values = full.select(["customer_id", "value"])
        # in customer order, so that the same data gives the same table (the engine's grouping
        # returns customers in any order)
        table = values.rename_columns(["customer_id", column]).sort_by("customer_id")
        # the name identifies the content; values are named at 6 decimals, below which parallel
        # sums differ from run to run, so that model.sql of two runs on the same data is equal
        named = table.set_column(1, column, pc.round(table.column(column), 6))
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, named.schema) as writer:
            writer.write_table(named)
        digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:12]
        self.purchases_ = purchases
        self.spend_ = spend if with_spend else None
        self.predictions_ = table
        self.table_ = _named_memtable(table, f"clv__{self.metric_id}_{digest}")
        return self

    def _check(self) -> None:
        if not hasattr(self, "table_"):
            raise NotFittedError.single(
                Reason.NOT_FITTED, f"the predictions of metric `{self.metric_id}` are not "
                "fitted yet", hint="call .fit(summary) first")

    def report(self) -> dict[str, Any]:
        """The fitted figures: model, parameters, log-likelihood, customers, table name."""
        self._check()
        out: dict[str, Any] = {
            "aggregate": self.aggregate,
            "model": self.settings.model,
            "customers": int(getattr(self.purchases_, "n_obs_", 0)),
            "purchases": dict(self.purchases_.params_),
            "log_likelihood": getattr(self.purchases_, "log_likelihood_", None),
            "table": self.table_.get_name(),
            "missing": self.predictions_.column(1).null_count,
        }
        if self.spend_ is not None:
            out["repeat_buyers"] = int(getattr(self.spend_, "n_obs_", 0))
            out["spend"] = dict(self.spend_.params_)
        return out

    def describe(self) -> str:
        """The fitted figures in one line."""
        r = self.report()
        text = (f"metric `{self.metric_id}`: {r['model']} fitted on {r['customers']:,} "
                "customers, " + ", ".join(f"{k} {v:.4g}" for k, v in r["purchases"].items()))
        if "spend" in r:
            text += f"; gamma-gamma on {r['repeat_buyers']:,} repeat buyers, " + ", ".join(
                f"{k} {v:.4g}" for k, v in r["spend"].items())
        return text


def _named_memtable(table: pa.Table, name: str) -> ir.Table:
    """An in-memory table under a name of our choosing (``ibis.memtable`` draws a random one)."""
    import ibis.expr.operations as ops
    import ibis.expr.schema as sch
    from ibis.formats.pyarrow import PyArrowTableProxy

    return ops.InMemoryTable(name=name, schema=sch.infer(table),
                             data=PyArrowTableProxy(table)).to_expr()


def fit(ctx: Any, metric: Any, shared: dict[Any, Any]) -> MetricPredictions:
    """The fit step of a CLV metric (see :mod:`crindex.engine.fit`): it runs the summary."""
    from crindex.clv.rfm import rfm_summary

    orders = ctx.table.filter(ctx.condition(metric))
    summary = rfm_summary(orders, ctx.as_of, unit="weeks", amount_col=metric.column or "amount",
                          paid_only=False)
    try:
        return MetricPredictions(metric.id, metric.aggregate, settings_of(metric)).fit(summary,
                                                                                        shared)
    except FitError as exc:  # name the metric whose fit failed
        where = getattr(metric, "at", "") or f"metric {metric.id}"
        raise FitError(reason=exc.reason, summary=f"metric `{metric.id}` cannot be fitted",
                       problems=[Problem(f"metric `{metric.id}` ({metric.aggregate}): "
                                         f"{p.message}", p.where if p.where not in ("", "fit")
                                         else where, p.hint, p.reason)
                                 for p in exc.problems]) from None


# --------------------------------------------------------------------------------------------
# compile: join the predictions (pure: runs nothing)


def _unbound(table: Any) -> bool:
    from ibis.expr.operations import UnboundTable

    return bool(table.op().find(UnboundTable))


def build(ctx: Any, metric: Any) -> Any:
    """The engine plan of a CLV aggregate: the fitted predictions joined on ``customer_id``."""
    import ibis

    from crindex.engine.aggregates import Plan

    key = ctx.name("value")
    if ctx.fitted is not None:
        table = ctx.fitted.table_
    elif _unbound(ctx.table):
        table = ibis.table({"customer_id": "string", key: "float64"}, name=f"clv__{metric.id}")
    else:
        raise NotFittedError.single(
            Reason.NOT_FITTED, f"metric `{metric.id}` ({metric.aggregate}) needs its model "
            "fitted on the data before it is compiled", metric.at,
            "fit first: fitted = crindex.engine.fit.fit_model(model, tables, as_of), then "
            "compile_model(..., fitted=fitted); crindex.api.score does both")
    return Plan({}, lambda get: get(key), table=table)


for _info in (
    AggregateInfo("p_alive", "probability the customer is still active, from the paid orders",
                  fixed_table="orders", takes_column=False, params=PAliveParams, build=build,
                  fit=fit, reads=("amount",)),
    AggregateInfo("expected_purchases", "expected paid orders over params.horizon",
                  fixed_table="orders", takes_column=False, params=ExpectedPurchasesParams,
                  build=build, fit=fit, reads=("amount",)),
    AggregateInfo("clv", "discounted expected spend over params.horizon (with Gamma-Gamma)",
                  fixed_table="orders", params=ClvParams, build=build, fit=fit,
                  reads=("amount",)),
):
    register_aggregate(_info)


@register_rule("clv spend column is numeric")
def _spend_column(checking: Checking) -> Iterable[Problem]:
    for m in checking.metrics("clv"):
        column = m.column or "amount"
        if CONTRACT["orders"].get(column) != "num":
            yield Problem(f"metric `{m.id}`: column `{column}` is not a numeric column of "
                          "orders", checking.line(m, "column"),
                          "the spend column, e.g. amount (numeric columns of orders: "
                          + ", ".join(c for c, t in CONTRACT["orders"].items() if t == "num")
                          + ")", Reason.UNKNOWN_COLUMN)


def clv_table(orders: Any, as_of: dt.date, aggregate: str = "clv", **params: Any) -> pa.Table:
    """Predictions for every buyer of ``orders`` as of ``as_of``, outside a model file.

    ``clv_table(orders, date(2025, 12, 31), "clv", horizon="12m", discount_rate=0.1)``.
    """
    from types import SimpleNamespace

    from crindex.clv.rfm import rfm_summary

    metric = SimpleNamespace(id=aggregate, aggregate=aggregate, params=params, column=None,
                             at="clv_table")
    summary = rfm_summary(orders, as_of, unit="weeks")
    return predict(aggregate, summary, settings_of(metric))
