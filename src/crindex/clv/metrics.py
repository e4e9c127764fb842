"""CLV, P(alive) and expected purchases as metrics of a model file.

Three aggregates over ``orders`` (paid orders, the metric's ``where`` and ``window``, never after
``as_of``)::

    - id: clv_1y
      aggregate: clv
      params: {horizon: 12m, discount_rate: 0.1, margin: 1.0, model: bgnbd}
      normalise: {method: log_range, max: 5000}
    - {id: alive, aggregate: p_alive, normalise: {method: range, min: 0, max: 1}}
    - {id: next_90d, aggregate: expected_purchases, params: {horizon: 90d}, ...}

How they are computed: the RFM summary of the orders (:func:`crindex.clv.rfm_summary`, in weeks,
calibration ending on ``as_of``) runs in the engine; its distinct ``(x, t_x, T)`` patterns are
fitted by BG/NBD (or MBG/NBD), and for ``clv`` the repeat buyers' mean spend by Gamma-Gamma;
each customer's prediction is joined back on ``customer_id``. Customers without a paid order
have no value (the metric's ``missing`` policy applies). Compiled without data (``crindex sql``
with no ``--data``) the predictions appear as a table named ``clv__<metric id>``.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from crindex.clv.bgnbd import BetaGeo, ModifiedBetaGeo
from crindex.clv.gamma_gamma import GammaGamma, customer_lifetime_value
from crindex.clv.rfm import pattern_counts, rfm_summary
from crindex.contract import CONTRACT
from crindex.errors import ModelError, Problem, Reason, raise_if
from crindex.model.registry import AggregateInfo, register_aggregate
from crindex.model.spec import parse_window

WEEKS_PER_MONTH = 365.25 / 12 / 7
#: the settings each aggregate takes, with defaults
PARAMS: dict[str, dict[str, Any]] = {
    "p_alive": {"model": "bgnbd", "penalizer": 0.0},
    "expected_purchases": {"model": "bgnbd", "penalizer": 0.0, "horizon": "12m"},
    "clv": {"model": "bgnbd", "penalizer": 0.0, "horizon": "12m", "discount_rate": 0.1,
            "margin": 1.0},
}
MODELS: dict[str, type[BetaGeo]] = {"bgnbd": BetaGeo, "mbgnbd": ModifiedBetaGeo}

for _info in (
    AggregateInfo("p_alive", "probability the customer is still active (BG/NBD)", "orders"),
    AggregateInfo("expected_purchases", "expected purchases over params.horizon (BG/NBD)",
                  "orders"),
    AggregateInfo("clv", "discounted expected spend over params.horizon (BG/NBD x Gamma-Gamma)",
                  "orders"),
):
    register_aggregate(_info)


@dataclass(frozen=True)
class Settings:
    """A CLV metric's checked settings."""

    model: str
    penalizer: float
    horizon_weeks: float
    discount_rate: float
    margin: float


def settings_of(metric: Any) -> Settings:
    """Check a metric's ``params`` against its aggregate; one error listing every problem."""
    allowed = PARAMS[metric.aggregate]
    given = dict(getattr(metric, "params", None) or {})
    where = getattr(metric, "at", "") or f"metric {metric.id}"
    problems: list[Problem] = []
    for key in given:
        if key not in allowed:
            problems.append(Problem(
                f"metric `{metric.id}`: unknown param `{key}` for aggregate `{metric.aggregate}`",
                where, "params: " + ", ".join(allowed), Reason.BAD_PARAMETER))
    values = {**allowed, **{k: v for k, v in given.items() if k in allowed}}
    if values["model"] not in MODELS:
        problems.append(Problem(f"metric `{metric.id}`: unknown model `{values['model']}`",
                                where, "models: " + ", ".join(MODELS), Reason.BAD_PARAMETER))
    horizon = 0.0
    if "horizon" in allowed:
        try:
            parsed = parse_window(str(values["horizon"]))
        except ValueError as exc:
            parsed, message = None, str(exc)
        else:
            message = "a horizon is needed"
        if parsed is None:
            problems.append(Problem(f"metric `{metric.id}`: horizon: {message}", where,
                                    "e.g. 90d, 26w, 12m, 1y", Reason.BAD_PARAMETER))
        else:
            count, unit = parsed
            horizon = count * {"d": 1 / 7, "w": 1.0, "m": WEEKS_PER_MONTH,
                               "y": 12 * WEEKS_PER_MONTH}[unit]
    numbers = {}
    for key, low in (("penalizer", 0.0), ("discount_rate", 0.0), ("margin", 0.0)):
        if key not in allowed:
            numbers[key] = 0.0
            continue
        try:
            numbers[key] = float(values[key])
            ok = numbers[key] >= low
        except (TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(Problem(f"metric `{metric.id}`: {key} must be a number >= {low:g}",
                                    where, "discount_rate is yearly, e.g. 0.1 for 10%",
                                    Reason.BAD_PARAMETER))
    column = metric.column or "amount"
    if metric.aggregate == "clv" and CONTRACT["orders"].get(column) != "num":
        problems.append(Problem(f"metric `{metric.id}`: column `{column}` is not a numeric "
                                "column of orders", where, "the spend column, e.g. amount",
                                Reason.UNKNOWN_COLUMN))
    raise_if(problems, ModelError, f"metric `{metric.id}` has bad params")
    return Settings(str(values["model"]), numbers["penalizer"], horizon,
                    numbers["discount_rate"], numbers["margin"])


# fitted models by (summary query, model, penalizer): a model with clv and p_alive fits once
_FITS: OrderedDict[tuple[Any, ...], tuple[BetaGeo, GammaGamma | None]] = OrderedDict()


def _fitted(summary: Any, settings: Settings, with_spend: bool) -> tuple[BetaGeo,
                                                                         GammaGamma | None]:
    key = (summary.op(), settings.model, settings.penalizer)
    purchases, spend = _FITS.get(key, (None, None))
    if purchases is None:
        patterns = pattern_counts(summary).to_pyarrow()
        purchases = MODELS[settings.model](penalizer=settings.penalizer).fit(patterns)
    if with_spend and spend is None:
        repeat = summary.filter(summary.x > 0)
        spend = GammaGamma(penalizer=settings.penalizer).fit(
            pattern_counts(repeat, with_monetary=True).to_pyarrow())
    _FITS[key] = (purchases, spend)
    while len(_FITS) > 8:
        _FITS.popitem(last=False)
    return purchases, spend


def predict(aggregate: str, summary: Any, settings: Settings,
            models: tuple[BetaGeo, GammaGamma | None] | None = None) -> Any:
    """Each customer's prediction as a pyarrow table ``customer_id``, ``value``.

    ``models``: fitted ``(purchases, spend)`` models to use instead of fitting on ``summary``.
    """
    import pyarrow as pa

    purchases, spend = models or _fitted(summary, settings, with_spend=aggregate == "clv")
    rows = summary.select("customer_id", "x", "t_x", "T", "monetary").to_pyarrow()
    x, t_x, T = (np.asarray(rows.column(c).to_numpy(), dtype=np.float64)
                 for c in ("x", "t_x", "T"))
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
        value = customer_lifetime_value(purchases, spend, x, t_x, T, monetary, periods=periods,
                                        period_length=length, discount_rate=per_period,
                                        margin=settings.margin)
    return pa.table({"customer_id": rows.column("customer_id"), "value": value})


def _unbound(table: Any) -> bool:
    from ibis.expr.operations import UnboundTable

    return bool(table.op().find(UnboundTable))


def build(ctx: Any, metric: Any) -> Any:
    """The engine plan of a CLV aggregate: predictions joined on ``customer_id``."""
    import ibis

    from crindex.engine.aggregates import Plan

    settings = settings_of(metric)
    key = ctx.name("value")
    orders = ctx.table.filter(ctx.condition(metric))
    if _unbound(orders):
        table = ibis.table({"customer_id": "string", key: "float64"}, name=f"clv__{metric.id}")
    else:
        summary = rfm_summary(orders, ctx.as_of, unit="weeks", amount_col=metric.column or
                              "amount", paid_only=False)
        table = ibis.memtable(predict(metric.aggregate, summary, settings)
                              .rename_columns(["customer_id", key]))
    return Plan({}, lambda get: get(key), table=table)


#: the engine implementation of each aggregate registered here
BUILDERS = {name: build for name in PARAMS}


def clv_table(orders: Any, as_of: dt.date, aggregate: str = "clv",
              **params: Any) -> Any:
    """Predictions for every buyer of ``orders`` as of ``as_of``, outside a model file.

    ``clv_table(orders, date(2025, 12, 31), "clv", horizon="12m", discount_rate=0.1)``.
    """
    from types import SimpleNamespace

    metric = SimpleNamespace(id=aggregate, aggregate=aggregate, params=params, column=None,
                             at="clv_table")
    summary = rfm_summary(orders, as_of, unit="weeks")
    return predict(aggregate, summary, settings_of(metric))
