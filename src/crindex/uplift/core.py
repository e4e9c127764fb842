"""Treated against held-out customers of each tier with a holdout, over a horizon.

For each (tier, strategy) of a snapshot's holdout assignment (the store's ``holdouts``
table): the customers of each group on the books at ``as_of``, the share of them retained
(not churned in ``(as_of, end]``, under the model's churn rule) and their mean revenue in the
horizon, and the uplift of each (treated minus holdout) with its percentile bootstrap interval
(the groups resampled apart). An interval that excludes 0 is an effect; one that includes it
is no evidence of one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from crindex.calendar import horizon_end
from crindex.errors import DataError, Reason
from crindex.model.spec import ChurnRule
from crindex.outcomes import outcomes
from crindex.stats import HELD_OUT, TREATED, Interval, bootstrap_difference

#: the columns of an assignment (the store's ``holdouts`` rows of one run)
ASSIGNMENT_COLUMNS = ("customer_id", "tier", "strategy", "strategy_group")


@dataclass(frozen=True)
class UpliftRow:
    """One tier's strategy: both groups' outcomes and the uplift with its interval."""

    tier: str
    strategy: str | None
    treated: int
    holdout: int
    retention_treated: float | None
    retention_holdout: float | None
    retention_uplift: Interval
    revenue_treated: float | None
    revenue_holdout: float | None
    revenue_uplift: Interval

    @property
    def retention_effect(self) -> bool:
        """True when the retention interval excludes 0."""
        return _excludes_zero(self.retention_uplift)

    @property
    def revenue_effect(self) -> bool:
        """True when the revenue interval excludes 0."""
        return _excludes_zero(self.revenue_uplift)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["retention_effect"] = self.retention_effect
        out["revenue_effect"] = self.revenue_effect
        return out


def _excludes_zero(ci: Interval) -> bool:
    return ci.low is not None and ci.high is not None and (ci.low > 0 or ci.high < 0)


@dataclass
class UpliftReport:
    """The uplift of every tier with a holdout of one snapshot."""

    as_of: dt.date
    horizon: str
    end: dt.date
    level: float
    n_boot: int
    rows: list[UpliftRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "horizon": self.horizon,
                "end": self.end.isoformat(), "level": self.level, "n_boot": self.n_boot,
                "rows": [r.to_dict() for r in self.rows], "notes": self.notes}


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else None


def uplift(assignment: pd.DataFrame, tables: Mapping[str, ir.Table], as_of: dt.date,
           horizon: str = "90d", churn_rule: ChurnRule | None = None, *,
           n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> UpliftReport:
    """Retention and revenue of treated against held-out customers, per tier and strategy.

    Parameters
    ----------
    assignment
        ``customer_id, tier, strategy, strategy_group`` of one snapshot (the store's
        ``holdouts`` rows, :meth:`crindex.store.base.Store.holdouts`).
    tables
        The canonical tables (customers; orders for revenue and the inactivity rule).
    as_of
        The snapshot's date: the horizon is ``(as_of, end]``.
    horizon
        How far to look: ``90d``, ``12w``, ``6m``, ``1y``.
    churn_rule
        The model's churn rule (default ``customers.churned_at``).
    """
    missing = [c for c in ASSIGNMENT_COLUMNS if c not in assignment.columns]
    if missing:
        raise DataError.single(Reason.MISSING_COLUMN, "the assignment lacks "
                               + ", ".join(missing), "uplift",
                               "pass the store's holdouts rows of one run")
    if churn_rule is not None and churn_rule.label is not None:
        raise DataError.single(
            Reason.BAD_PARAMETER, "uplift needs churn in a horizon, and the model's churn is "
            "a static label (no churn date)", "churn.label",
            "measure uplift on data with churn dates (customers.churned_at) or the "
            "inactivity rule (churn: {inactivity_days: N})")
    end = horizon_end(as_of, horizon)
    report = UpliftReport(as_of, horizon, end, level, n_boot)
    happened = outcomes(tables, churn_rule, as_of, end).to_pandas()
    happened["customer_id"] = happened["customer_id"].astype(str)
    frame = assignment.assign(customer_id=assignment["customer_id"].astype(str)).merge(
        happened, on="customer_id", how="left")
    unknown = int(frame["active"].isna().sum())
    if unknown:
        report.notes.append(f"{unknown:,} assigned customer(s) are not in the data: left out")
    off_books = int((frame["active"] == False).sum())  # noqa: E712 - a column, not a bool
    if off_books:
        report.notes.append(f"{off_books:,} assigned customer(s) were not on the books at "
                            f"{as_of} under the churn rule: left out")
    frame = frame[frame["active"] == True]  # noqa: E712
    if "orders" not in tables:
        report.notes.append("no orders table: no revenue")
    frame = frame.assign(strategy=frame["strategy"].fillna(""))
    for (tier, strategy), rows in frame.groupby(["tier", "strategy"], sort=False):
        groups = {g: rows[rows["strategy_group"] == g] for g in (TREATED, HELD_OUT)}
        kept = {g: 1.0 - r["churned"].astype(float).to_numpy() for g, r in groups.items()}
        money = {g: r["revenue"].astype(float).to_numpy() for g, r in groups.items()}
        report.rows.append(UpliftRow(
            tier=str(tier), strategy=str(strategy) or None,
            treated=len(groups[TREATED]), holdout=len(groups[HELD_OUT]),
            retention_treated=_mean(kept[TREATED]), retention_holdout=_mean(kept[HELD_OUT]),
            retention_uplift=bootstrap_difference(kept[TREATED], kept[HELD_OUT],
                                                  n_boot=n_boot, level=level, seed=seed),
            revenue_treated=_mean(money[TREATED]), revenue_holdout=_mean(money[HELD_OUT]),
            revenue_uplift=bootstrap_difference(money[TREATED], money[HELD_OUT],
                                                n_boot=n_boot, level=level, seed=seed + 1),
        ))
        if not len(groups[HELD_OUT]) or not len(groups[TREATED]):
            report.notes.append(f"tier {tier}: a group is empty, no uplift")
    return report
