"""RFM summaries in the literature's sense, computed in the engine (Ibis, any backend).

For each customer, over the purchases up to the end of the calibration period:

- ``x`` (frequency): repeat purchases, counted on distinct days (several orders on one day are
  one purchase, their amounts summed); the first purchase day is not a repeat;
- ``t_x`` (recency): time from the first to the last purchase day;
- ``T`` (age): time from the first purchase day to the calibration end;
- ``monetary``: mean spend of the repeat purchase days (0 when ``x`` is 0), the Gamma-Gamma
  model's ``zbar``.

Times are in days or weeks (days / 7). These are the definitions of Fader, Hardie and Lee
(2005) and of the ``lifetimes`` library's ``summary_data_from_transaction_data``.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from crindex.contract import PURCHASE
from crindex.errors import DataError, Reason

#: days per time unit of a summary
UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0}

SUMMARY_COLUMNS = ("customer_id", "x", "t_x", "T", "monetary", "first_purchase",
                   "last_purchase")


def unit_days(unit: str) -> float:
    """Days in one time ``unit`` (``days`` or ``weeks``), or a clear error."""
    try:
        return UNITS[unit]
    except KeyError:
        raise DataError.single(
            Reason.BAD_PARAMETER, f"unknown time unit `{unit}`", "unit",
            "units: " + ", ".join(UNITS),
        ) from None


def rfm_summary(
    orders: ir.Table,
    calibration_end: dt.date | str,
    unit: str = "weeks",
    *,
    customer_col: str = "customer_id",
    time_col: str = "ordered_at",
    amount_col: str | None = "amount",
    paid_only: bool = True,
) -> ir.Table:
    """Per-customer ``x``, ``t_x``, ``T`` and mean repeat spend, as an Ibis expression.

    Parameters
    ----------
    orders
        Transactions: one row per order (canonical ``orders`` table by default).
    calibration_end
        Last day of the calibration period (included); later orders are ignored.
    unit
        ``weeks`` or ``days``: the unit of ``t_x`` and ``T``.
    customer_col, time_col, amount_col
        Column names; ``amount_col=None`` leaves ``monetary`` null (purchase counts only).
    paid_only
        Keep only orders whose ``status`` is ``paid`` (null counts as paid), when the table
        has a ``status`` column.

    Returns
    -------
    ibis.expr.types.Table
        Columns ``customer_id``, ``x`` (int64), ``t_x``, ``T``, ``monetary`` (float64),
        ``first_purchase``, ``last_purchase`` (dates); one row per customer who bought.
    """
    per_day = unit_days(unit)
    end = calibration_end if isinstance(calibration_end, dt.date) else \
        dt.date.fromisoformat(str(calibration_end))
    missing = [c for c in (customer_col, time_col, amount_col) if c and c not in orders.columns]
    if missing:
        raise DataError.single(
            Reason.MISSING_COLUMN, f"orders has no column {', '.join(missing)}", "rfm_summary",
            "columns found: " + ", ".join(orders.columns),
        )
    t = orders
    if paid_only and "status" in t.columns:
        t = t.filter(t.status.isnull() | (t.status == PURCHASE))
    day = t[time_col].date()
    t = t.filter(day <= ibis.literal(end))
    amount = t[amount_col].cast("float64") if amount_col else ibis.literal(0.0)
    # purchases on the same day are one purchase: their amounts are summed
    daily = t.group_by(_cid=t[customer_col], day=t[time_col].date()) \
        .aggregate(spend=amount.sum())
    totals = daily.group_by("_cid").aggregate(
        n_days=daily.count(),
        first_purchase=daily.day.min(),
        last_purchase=daily.day.max(),
        total_spend=daily.spend.sum(),
    )
    # the first day's spend by a join (no window, no ordered aggregate: both are slower and
    # not available on every backend); repeat spend = total - first day's
    first = daily.select(_fid=daily._cid, _fday=daily.day, first_spend=daily.spend)
    per_customer = totals.inner_join(
        first, (totals._cid == first._fid) & (totals.first_purchase == first._fday))
    per_customer = per_customer.mutate(
        customer_id=per_customer._cid.cast("string"),
        repeat_spend=per_customer.total_spend - per_customer.first_spend)
    x = per_customer.n_days - 1
    recency_days = per_customer.last_purchase.delta(per_customer.first_purchase, unit="day")
    age_days = ibis.literal(end).delta(per_customer.first_purchase, unit="day")
    monetary = ibis.ifelse(x > 0, per_customer.repeat_spend.fill_null(0.0) / x.cast("float64"),
                           0.0) if amount_col else ibis.null("float64")
    return per_customer.select(
        customer_id=per_customer.customer_id,
        x=x.cast("int64"),
        t_x=recency_days.cast("float64") / per_day,
        T=age_days.cast("float64") / per_day,
        monetary=monetary.cast("float64"),
        first_purchase=per_customer.first_purchase,
        last_purchase=per_customer.last_purchase,
    )


def pattern_counts(summary: ir.Table, with_monetary: bool = False) -> ir.Table:
    """Identical ``(x, t_x, T)`` rows counted: the compressed input a fit needs.

    Fader and Hardie fit on the distinct purchase patterns weighted by how many customers share
    each; on daily data this shrinks the rows a likelihood is evaluated on several-fold.
    """
    keys = ["x", "t_x", "T"] + (["monetary"] if with_monetary else [])
    return summary.group_by(keys).aggregate(weight=summary.count())
