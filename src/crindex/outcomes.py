"""What happened to each customer in a horizon ``(as_of, end]``: churn and revenue.

The one definition of churn of crindex, under a model's churn rule
(:class:`~crindex.model.spec.ChurnRule`, ``churn:`` in the model file). Backtests, learned
weights, model comparisons and portfolio KPIs all read churn here, so they count the same
churners on the same data.

- **On the books** on a day ``d``: under the ``churned_at`` rule, a customer who joined by ``d``
  (or has no ``created_at``) and whose ``churned_at`` is empty or after ``d``; under
  ``inactivity_days: N``, one who joined by ``d`` and had activity (a paid order, or joining)
  in ``(d - N, d]``.
- **Churned in** ``(as_of, end]``: on the books on ``as_of``, and

  - ``churned_at`` rule: ``churned_at`` falls in ``(as_of, end]``;
  - inactivity rule, ``lapse: reached`` (the default): the lapse is reached in the horizon:
    some activity day ``a`` with ``as_of - N < a <= end - N`` is followed by no activity for
    N days, so the customer is lost on ``a + N``, a day in the horizon;
  - inactivity rule, ``lapse: at_horizon_end``: as ``reached``, and the customer has no
    activity in ``(end - N, end]`` either (still lapsed at the horizon's end).

- **Static label** (``churn: {label: churn_label}``, one export with no time stamps): a
  customer on the books on ``as_of`` (joined by then) churned when ``customers.churn_label``
  says so, whatever the horizon: a churned word, or a date (churned on that day); a stayed word,
  or an empty cell in a column that holds dates, means stayed. The words are the model's
  (``churn.label.churned`` / ``stayed``, by default :data:`crindex.contract.CHURNED_WORDS` /
  :data:`~crindex.contract.STAYED_WORDS`); any other value stops the run with the customers
  and values found (:func:`label_churn`).
- **Revenue**: the amount of the customer's paid orders with a day in ``(as_of, end]``.

Days are compared as dates (a timestamp's time of day never moves a row across a boundary).
Everything is an Ibis expression: nothing runs until the caller executes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import numpy as np

from crindex.contract import PURCHASE
from crindex.errors import DataError, Reason
from crindex.model.spec import ChurnLabel, ChurnRule

#: the rule used when a model says nothing: ``customers.churned_at``
CHURNED_AT = ChurnRule()


def _day(col: ir.Value) -> ir.DateValue:
    return col.cast("timestamp").date()


def describe(rule: ChurnRule | None) -> str:
    """The rule in words, e.g. ``no paid order for 180 days, reached in the horizon``."""
    rule = rule or CHURNED_AT
    if rule.label is not None:
        return (f"the static label customers.{rule.label.column} (model churn.label; "
                "the horizon is not used)")
    if rule.inactivity_days is None:
        return "customers.churned_at in the horizon"
    end = (", and still so at the horizon's end" if rule.lapse == "at_horizon_end" else "")
    return (f"no paid order for {rule.inactivity_days} days (model churn.inactivity_days), "
            f"reached in the horizon{end}")


def rule_summary(rule: ChurnRule | None) -> dict[str, object]:
    """The rule as plain data: ``{"kind": "churned_at"}`` or ``{"kind": "inactivity", ...}``."""
    rule = rule or CHURNED_AT
    if rule.label is not None:
        return {"kind": "label", "column": rule.label.column, "holdout": rule.label.holdout,
                "seed": rule.label.seed}
    if rule.inactivity_days is None:
        return {"kind": "churned_at"}
    return {"kind": "inactivity", "days": rule.inactivity_days, "lapse": rule.lapse}


def activity_days(tables: Mapping[str, ir.Table]) -> ir.Table:
    """``customer_id, day``: each distinct day a customer joined or placed a paid order."""
    customers = tables["customers"]
    joined = customers.select("customer_id", day=_day(customers.created_at))
    parts = [joined.filter(joined.day.notnull())]
    orders = tables.get("orders")
    if orders is not None:
        paid = orders.filter((orders.status == PURCHASE) & orders.ordered_at.notnull())
        parts.append(paid.select("customer_id", day=_day(paid.ordered_at)))
    return ibis.union(*parts, distinct=True)


def _joined_by(customers: ir.Table, day: dt.date) -> ir.BooleanValue:
    return customers.created_at.isnull() | (_day(customers.created_at) <= ibis.date(day))


def is_customer_on(customers: ir.Table, day: dt.date) -> ir.BooleanValue:
    """Joined by ``day`` (or no creation date) and no ``churned_at`` on or before it.

    Who is a customer on a day by the data's own dates: the customers a model scores on
    ``day`` (:func:`crindex.engine.compile.active_customers`) and, under the ``churned_at``
    rule, those on the books.
    """
    churned = customers.churned_at
    return _joined_by(customers, day) & (churned.isnull() | (_day(churned) > ibis.date(day)))


def on_books(tables: Mapping[str, ir.Table], rule: ChurnRule | None,
             day: dt.date) -> ir.Table:
    """``customer_id, active``: every customer, ``active`` when on the books on ``day``."""
    return churn(tables, rule, day, day).select("customer_id", "active")


def churn(tables: Mapping[str, ir.Table], rule: ChurnRule | None, as_of: dt.date,
          end: dt.date) -> ir.Table:
    """``customer_id, active, churned``: one row per customer of ``tables["customers"]``.

    ``active``: on the books on ``as_of``; ``churned``: churned in ``(as_of, end]`` (never
    True for a customer not active on ``as_of``). See the module's docstring for the rule.
    """
    rule = rule or CHURNED_AT
    customers = tables["customers"]
    if rule.label is not None:
        labels = label_churn(tables, rule.label)
        active = _joined_by(customers, as_of)
        out = customers.select("customer_id", active=active).left_join(labels, "customer_id")
        return out.select(out.customer_id, out.active,
                          churned=(out.active & out.churned).fill_null(False))
    lo, hi = ibis.date(as_of), ibis.date(end)
    if rule.inactivity_days is None:
        churn_day = _day(customers.churned_at)
        active = is_customer_on(customers, as_of)
        return customers.select(
            "customer_id",
            active=active,
            churned=(active & (churn_day > lo) & (churn_day <= hi)).fill_null(False),
        )
    gap = ibis.interval(days=rule.inactivity_days)
    acts = activity_days(tables)
    acts = acts.filter(acts.day <= hi)
    w = ibis.window(group_by="customer_id", order_by="day")
    acts = acts.mutate(next_day=acts.day.lead().over(w))
    first, last = lo - gap, hi - gap
    lapses = (acts.day > first) & (acts.day <= last) & (
        acts.next_day.isnull() | (acts.next_day > acts.day + gap))
    per = acts.group_by("customer_id").aggregate(
        alive=((acts.day > first) & (acts.day <= lo)).any(),
        lapsed=lapses.any(),
        latest=acts.day.max(),
    )
    out = customers.select("customer_id", joined=_joined_by(customers, as_of)) \
        .left_join(per, "customer_id")
    active = out.joined & out.alive.fill_null(False)
    churned = active & out.lapsed.fill_null(False)
    if rule.lapse == "at_horizon_end":
        churned = churned & (out.latest <= last)
    return out.select(out.customer_id, active=active, churned=churned.fill_null(False))


#: customers named per value in the error of a value that is no label
_IDS_SHOWN = 3
#: values named in that error, most frequent first
_VALUES_SHOWN = 10


def label_churn(tables: Mapping[str, ir.Table], label: ChurnLabel) -> ir.Table:
    """``customer_id, churned``: the static label of every customer, read by ``label``'s words.

    Runs two small queries on the customers table first: whether the column holds dates (an
    empty cell then means stayed), and which values are neither a churned word, a stayed word
    nor a date.

    Raises
    ------
    DataError
        When any customer's label is none of these: every such value, with its count and the
        first customers holding it, what is allowed, and the fix.
    """
    customers = tables["customers"]
    text = customers[label.column].cast("string").strip().lower()
    day = text.try_cast("timestamp")
    dated = bool(customers.select(d=day.notnull().any()).to_pyarrow().column("d")[0].as_py())
    churned = text.isin(label.churned) | day.notnull()
    stayed = text.isin(label.stayed) | (text.isnull() if dated else ibis.literal(False))
    read = customers.select("customer_id", value=text,
                            churned=ibis.cases((churned, True), (stayed, False),
                                               else_=ibis.null("boolean")))
    bad = read.filter(read.churned.isnull())
    found = bad.group_by("value").aggregate(n=bad.count(), ids=bad.customer_id.collect()) \
        .order_by([ibis.desc("n"), "value"]).limit(_VALUES_SHOWN).to_pyarrow().to_pylist()
    if found and len(found) == 1 and found[0]["value"] is None \
            and found[0]["n"] == int(customers.count().to_pyarrow().as_py()):
        raise DataError.single(
            Reason.MISSING_COLUMN, f"the model's churn label customers.{label.column} is empty "
            "in every row", f"customers.{label.column}",
            f"map your label column onto it: sources.customers.columns: {{Churn: "
            f"{label.column}}} (your column's name in place of Churn)")
    if found:
        total = int(bad.count().to_pyarrow().as_py())
        parts = []
        for row in found:
            ids = sorted(row["ids"])
            more = f", ... ({row['n']} customers)" if row["n"] > _IDS_SHOWN else ""
            shown = "(empty)" if row["value"] is None else f"`{row['value']}`"
            parts.append(f"{shown} in customers {', '.join(ids[:_IDS_SHOWN])}{more}")
        values = "; ".join(parts)
        raise DataError.single(
            Reason.DATA_UNREADABLE,
            f"the model's churn label holds {total} value(s) that are neither churned nor "
            f"stayed: {values}",
            f"customers.{label.column}",
            "churned: " + ", ".join(label.churned) + "; stayed: " + ", ".join(label.stayed)
            + "; or a date YYYY-MM-DD (churned on that day). Name your words in the model: "
            "churn: {label: {column: churn_label, churned: [...], stayed: [...]}}, or fix the "
            "rows")
    return read.select("customer_id", "churned")


def label_holdout(labels: Mapping[str, bool | int], label: ChurnLabel
                  ) -> tuple[set[str], dict[str, object]]:
    """The held-out customers of a static label, and the split in figures.

    ``labels``: customer id -> churned, for the customers on the books on the scoring day.
    The one split of a static label (:func:`crindex.stats.stratified_holdout` with the model's
    ``churn.label.holdout`` share and ``seed``): the backtest measures these customers and
    ``weights learn`` never fits on them.
    """
    from crindex.stats import stratified_holdout

    ids = sorted(labels)
    churned = np.array([bool(labels[c]) for c in ids], dtype=bool)
    held = stratified_holdout(ids, churned, label.holdout, label.seed)
    figures: dict[str, object] = {
        "share": label.holdout, "seed": label.seed, "stratified_by": "label",
        "labelled": len(ids), "churned": int(churned.sum()),
        "held_out": int(held.sum()), "held_out_churned": int(churned[held].sum()),
        "churn_rate": float(churned.mean()) if churned.size else None,
        "held_out_churn_rate": float(churned[held].mean()) if held.any() else None,
    }
    return {c for c, h in zip(ids, held, strict=True) if h}, figures


def revenue(tables: Mapping[str, ir.Table], as_of: dt.date, end: dt.date) -> ir.Table | None:
    """``customer_id, revenue``: paid orders in ``(as_of, end]``, for customers with any.

    ``None`` without an orders table.
    """
    orders = tables.get("orders")
    if orders is None:
        return None
    day = _day(orders.ordered_at)
    paid = orders.filter((orders.status == PURCHASE) & (day > ibis.date(as_of))
                         & (day <= ibis.date(end)))
    return paid.group_by("customer_id").aggregate(revenue=paid.amount.sum())


def outcomes(tables: Mapping[str, ir.Table], rule: ChurnRule | None, as_of: dt.date,
             end: dt.date) -> ir.Table:
    """``customer_id, active, churned, revenue`` of every customer for ``(as_of, end]``.

    ``revenue`` is 0 for a customer without paid orders in the horizon, and null for everyone
    when there is no orders table.
    """
    out = churn(tables, rule, as_of, end)
    money = revenue(tables, as_of, end)
    if money is None:
        return out.mutate(revenue=ibis.null("float64"))
    joined = out.left_join(money, "customer_id")
    return joined.select(joined.customer_id, joined.active, joined.churned,
                         revenue=joined.revenue.fill_null(0.0).cast("float64"))
