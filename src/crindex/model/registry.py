"""What each registered aggregate means and needs (the engine registers how to compute it).

An aggregate turns one table's rows for a customer (inside the metric's window, through its
filter, never after ``as_of``) into one raw value. Adding one: describe it here with
:func:`register_aggregate`, then implement it in :mod:`crindex.engine.aggregates` under the same
name; a test checks the two registries agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AggregateInfo:
    """The contract of one aggregate: which table, which parameters, what it returns."""

    name: str
    summary: str
    default_table: str | None = None
    fixed_table: str | None = None
    needs_column: bool = False
    needs_kind: bool = False
    ratio: bool = False
    numeric: bool = True


AGGREGATES: dict[str, AggregateInfo] = {}


def register_aggregate(info: AggregateInfo) -> AggregateInfo:
    AGGREGATES[info.name] = info
    return info


for _info in (
    AggregateInfo("recency_days", "days from the last row's date to as_of", "orders"),
    AggregateInfo(
        "days_since_last", "days since the last interaction of a kind", "interactions",
        needs_kind=True,
    ),
    AggregateInfo("count", "number of rows", "orders"),
    AggregateInfo("monthly_count", "rows per month of the window (count / window months)",
                  "interactions"),
    AggregateInfo("sum", "sum of a column", "orders", needs_column=True),
    AggregateInfo("mean", "mean of a column", "orders", needs_column=True),
    AggregateInfo("min", "minimum of a column", "orders", needs_column=True),
    AggregateInfo("max", "maximum of a column", "orders", needs_column=True),
    AggregateInfo("latest", "the column's value on the most recent row", "orders",
                  needs_column=True),
    AggregateInfo("distinct_count", "number of distinct values (cross-sell breadth)", "orders",
                  needs_column=True),
    AggregateInfo("ratio", "numerator aggregate / denominator aggregate (e.g. opens / sends)",
                  "interactions", ratio=True),
    AggregateInfo("profit", "sum of amount - cost", fixed_table="orders"),
    AggregateInfo("tenure_days", "days from customers.created_at to as_of",
                  fixed_table="customers"),
    AggregateInfo("nps", "promoters % - detractors % of NPS answers (-100..100)",
                  fixed_table="surveys"),
    AggregateInfo("survey_mean", "mean survey score of a kind (csat, ces, nps)",
                  fixed_table="surveys", needs_kind=True),
    AggregateInfo("attribute", "a column of the customers table", fixed_table="customers",
                  needs_column=True, numeric=False),
):
    register_aggregate(_info)

#: aggregates allowed as the numerator or denominator of a ratio
RATIO_PARTS = ("count", "sum", "mean", "min", "max", "distinct_count")

# packages that contribute aggregates describe them on import (CLV: p_alive, clv, ...)
import crindex.clv.metrics  # noqa: E402,F401
