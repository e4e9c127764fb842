"""Run a backtest: score point-in-time at each ``as_of``, then look at what happened next.

For every ``as_of`` the model scores the customers active on that day with
:func:`crindex.api.score` (no row after ``as_of`` is read), and the outcome is read in the
horizon ``(as_of, as_of + horizon]``:

- churn: ``customers.churned_at`` falls in the horizon, or, when the model sets
  ``churn.inactivity_days: N``, the customer's N-day inactivity (no paid order; joining counts as
  activity) is reached in the horizon;
- revenue: the amount of the customer's paid orders in the horizon.

The figures (:mod:`crindex.backtest.metrics`) are kept per ``as_of`` and over time (core share,
churn and revenue by tier, PSI between consecutive dates), with checks a reader should see
first: a weak AUC, tiers out of order, metrics that point the wrong way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from crindex.api import ScoreResult, as_date, score
from crindex.backtest import metrics as bm
from crindex.data import Dataset, open_dataset
from crindex.errors import DataError, Problem, Reason, raise_if
from crindex.model.loader import load_model
from crindex.model.spec import CRIModel, parse_window

#: AUC below this is reported as weak; below 0.5 the score points the wrong way.
WEAK_AUC = 0.6
#: a metric whose own churn AUC is below this works against the score.
REVERSED_METRIC_AUC = 0.45


def horizon_end(as_of: dt.date, horizon: str) -> dt.date:
    """Last day of the horizon ``(as_of, end]``: ``90d`` from 2025-06-30 ends 2025-09-28.

    Days and weeks count days; months and years are calendar months (the day is clamped to
    the month's end, as for model windows).
    """
    try:
        parsed = parse_window(horizon)
    except ValueError:
        parsed = None
    if parsed is None or parsed[0] <= 0:
        raise DataError.single(
            Reason.BAD_PARAMETER, f"horizon {horizon!r} is not a length of time", "--horizon",
            "write a number and a unit: 90d, 12w, 6m or 1y",
        )
    count, unit = parsed
    if unit in ("d", "w"):
        return as_of + dt.timedelta(days=count * (7 if unit == "w" else 1))
    months = count if unit == "m" else 12 * count
    year, month = divmod(as_of.year * 12 + as_of.month - 1 + months, 12)
    for day in (as_of.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, min(day, as_of.day))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _day(col: ir.Value) -> ir.Value:
    return col.cast("timestamp").date()


def outcomes(source: Dataset, as_of: dt.date, end: dt.date,
             inactivity_days: int | None = None) -> pd.DataFrame:
    """What happened to every customer in ``(as_of, end]``: churned, revenue, still active.

    Returns one row per customer with ``churned`` (bool), ``revenue`` (paid orders in the
    horizon, 0 when none) and ``active`` (False when the inactivity rule says the customer was
    already lost on ``as_of``; always True under the ``churned_at`` rule).
    """
    customers = source.tables["customers"]
    orders = source.tables.get("orders")
    lo, hi = ibis.date(as_of), ibis.date(end)
    if inactivity_days is None:
        churn_day = _day(customers.churned_at)
        churned = customers.select(
            "customer_id",
            churned=((churn_day > lo) & (churn_day <= hi)).fill_null(False),
            active=ibis.literal(True),
        )
    else:
        churned = _inactivity(customers, orders, as_of, end, inactivity_days)
    frame = source.con.to_pyarrow(churned).to_pandas()
    if orders is None:
        frame["revenue"] = np.nan
        return frame
    day = _day(orders.ordered_at)
    paid = orders.filter((orders.status == "paid") & (day > lo) & (day <= hi))
    revenue = paid.group_by("customer_id").aggregate(revenue=paid.amount.sum())
    rev = source.con.to_pyarrow(revenue).to_pandas()
    frame = frame.merge(rev, on="customer_id", how="left")
    frame["revenue"] = frame["revenue"].fillna(0.0)
    return frame


def _inactivity(customers: ir.Table, orders: ir.Table | None, as_of: dt.date, end: dt.date,
                days: int) -> ir.Table:
    """Churn by the inactivity rule.

    A customer's activity days are the days of their paid orders and the day they joined. An
    activity day ``a`` followed by no activity for ``days`` days makes the customer lost on
    ``a + days``. The customer churns in ``(as_of, end]`` when some activity day
    ``as_of - days < a <= end - days`` has its next activity more than ``days`` later (or none),
    and was already lost on ``as_of`` when no activity day falls in ``(as_of - days, as_of]``.
    """
    gap = ibis.interval(days=days)
    joined = customers.select("customer_id", day=_day(customers.created_at))
    parts = [joined.filter(joined.day.notnull())]
    if orders is not None:
        paid = orders.filter(orders.status == "paid")
        parts.append(paid.select("customer_id", day=_day(paid.ordered_at)))
    acts = ibis.union(*parts, distinct=True)
    acts = acts.filter(acts.day <= ibis.date(end))
    w = ibis.window(group_by="customer_id", order_by="day")
    acts = acts.mutate(next_day=acts.day.lead().over(w))
    first, last = ibis.date(as_of) - gap, ibis.date(end) - gap
    lost = (acts.day > first) & (acts.day <= last) & (
        acts.next_day.isnull() | (acts.next_day > acts.day + gap))
    alive = (acts.day > first) & (acts.day <= ibis.date(as_of))
    per = acts.group_by("customer_id").aggregate(
        churned=lost.any(), active=alive.any())
    out = customers.select("customer_id").left_join(per, "customer_id")
    return out.select(
        out.customer_id,
        churned=out.churned.fill_null(False),
        active=out.active.fill_null(False),
    )


def _frame(result: ScoreResult) -> pd.DataFrame:
    cols = ["customer_id", "score", "tier"]
    cols += [f"dim__{d.id}" for d in result.model.dimensions]
    for _, m in result.model.metrics:
        cols += [f"{m.id}__score", f"{m.id}__missing"]
    return result.table.select(cols).to_pandas()


def signal_rows(frame: pd.DataFrame, model: CRIModel) -> tuple[list[dict[str, Any]],
                                                                list[dict[str, Any]]]:
    """Each metric's and each dimension's own churn AUC, over the customers it has data for.

    A metric scored from data (not missing) is ranked on its normalised score, so its
    direction is the model's: an AUC well below 0.5 means the metric, as the model reads it,
    points away from churn.
    """
    churned = frame["churned"].to_numpy(bool)
    metric_rows = []
    for d, m in model.metrics:
        has = ~frame[f"{m.id}__missing"].fillna(True).to_numpy(bool)
        values = frame[f"{m.id}__score"].to_numpy(float)
        metric_rows.append({
            "id": m.id, "label": m.display, "dimension": d.display,
            "weight": model.effective_weight(d, m),
            "auc": bm.churn_auc(values[has], churned[has]),
            "customers": int(has.sum()), "coverage": float(has.mean()) if has.size else None,
        })
    dim_rows = []
    for d in model.dimensions:
        values = frame[f"dim__{d.id}"].to_numpy(float)
        has = ~np.isnan(values)
        dim_rows.append({"id": d.id, "label": d.display,
                         "auc": bm.churn_auc(values[has], churned[has]),
                         "customers": int(has.sum())})
    return metric_rows, dim_rows


def evaluate_period(result: ScoreResult, outcome: pd.DataFrame, end: dt.date, *,
                    n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """All figures of one ``as_of``: scores joined to what happened in the horizon."""
    model = result.model
    frame = _frame(result).merge(outcome, on="customer_id", how="left")
    frame["churned"] = frame["churned"].fillna(False).astype(bool)
    frame["revenue"] = frame["revenue"].fillna(0.0)
    frame["active"] = frame["active"].fillna(True).astype(bool)
    inactive = int((~frame["active"]).sum())
    unscored = int(frame["score"].isna().sum())
    frame = frame[frame["active"] & frame["score"].notna()]
    scores = frame["score"].to_numpy(float)
    churned = frame["churned"].to_numpy(bool)
    revenue = frame["revenue"].to_numpy(float)
    tier_ids = [lv.id for lv in model.tiers.levels]
    labels = {lv.id: lv.display for lv in model.tiers.levels}
    tiers = bm.group_rows(frame["tier"].to_numpy(object), tier_ids, churned, revenue, scores)
    for row in tiers:
        row["tier"] = row["group"]
        row["label"] = labels[row["group"]]
    metric_rows, dim_rows = signal_rows(frame, model)
    return {
        "as_of": result.as_of.isoformat(),
        "end": end.isoformat(),
        "customers": int(len(frame)),
        "unscored": unscored,
        "inactive_at_as_of": inactive,
        "churned": int(churned.sum()),
        "churn_rate": float(churned.mean()) if churned.size else None,
        "revenue": float(revenue.sum()),
        "mean_score": float(scores.mean()) if scores.size else None,
        "auc": bm.bootstrap_auc(-scores, churned, n_boot=n_boot, seed=seed),
        "lift_10": bm.lift(scores, churned, 0.1),
        "tiers": tiers,
        "tier_order": bm.tier_order(tiers),
        "deciles": bm.decile_rows(scores, churned, revenue),
        "calibration": bm.calibration_rows(scores, churned, revenue),
        "metrics": metric_rows,
        "dimensions": dim_rows,
        "score_shares": bm.band_shares(scores).tolist(),
    }


def rolling(periods: Sequence[dict[str, Any]], model: CRIModel) -> dict[str, Any]:
    """Figures over time: core share, churn and revenue by tier, AUC, PSI between dates."""
    dates = [p["as_of"] for p in periods]
    series = []
    for i, lv in enumerate(model.tiers.levels):
        rows = [p["tiers"][i] for p in periods]
        series.append({
            "tier": lv.id, "label": lv.display,
            "share": [r["share_customers"] for r in rows],
            "churn_rate": [r["churn_rate"] for r in rows],
            "revenue": [r["revenue"] for r in rows],
            "revenue_per_customer": [r["revenue_per_customer"] for r in rows],
        })
    psi = []
    for before, after in zip(periods, periods[1:], strict=False):
        value = bm.psi_from_shares(before["score_shares"], after["score_shares"])
        psi.append({"from": before["as_of"], "to": after["as_of"], "psi": value,
                    "label": bm.psi_label(value)})
    return {
        "as_of": dates,
        "core_share": series[0]["share"] if series else [],
        "auc": [p["auc"]["auc"] for p in periods],
        "churn_rate": [p["churn_rate"] for p in periods],
        "tiers": series,
        "psi": psi,
    }


def checks(periods: Sequence[dict[str, Any]], roll: dict[str, Any],
           data_end: dt.date | None) -> list[dict[str, Any]]:
    """What a reader must see first, as coded findings (``level`` ok / warn / fail)."""
    found: list[dict[str, Any]] = []

    def add(level: str, code: str, as_of: str | None, message: str, **params: Any) -> None:
        found.append({"level": level, "code": code, "as_of": as_of, "message": message,
                      "params": params})

    for p in periods:
        a = p["auc"]["auc"]
        if a is None:
            add("warn", "no_churn", p["as_of"], "no customer churned in the horizon (or all "
                "did): the AUC is undefined")
        elif a < 0.5:
            add("fail", "auc_reversed", p["as_of"], f"churn AUC {a:.3f} is below 0.5: the score "
                "ranks churners above the customers who stayed", auc=a)
        elif a < WEAK_AUC:
            add("warn", "auc_weak", p["as_of"], f"churn AUC {a:.3f} is weak (< {WEAK_AUC})",
                auc=a, threshold=WEAK_AUC)
        else:
            add("ok", "auc_ok", p["as_of"], f"churn AUC {a:.3f}", auc=a)
        order = p["tier_order"]
        for v in order["violations"]:
            if v["kind"] == "empty":
                add("fail", "tier_empty", p["as_of"], f"tier `{v['tier']}` has no customers: "
                    "churn cannot be seen to fall through it", **v)
            else:
                add("fail", "tier_order", p["as_of"],
                    f"tier `{v['tier']}` churns {v['churn_rate']:.1%}, not less than the next "
                    f"tier `{v['next']}` ({v['next_churn_rate']:.1%})", **v)
        if not order["violations"]:
            add("ok", "tier_order_ok", p["as_of"], "churn falls from tier to tier")
        for m in p["metrics"]:
            if m["auc"] is not None and m["auc"] < REVERSED_METRIC_AUC:
                add("warn", "metric_reversed", p["as_of"],
                    f"metric `{m['id']}` has churn AUC {m['auc']:.3f}: as the model reads it, "
                    "it points away from churn (check its direction)", metric=m["id"],
                    auc=m["auc"])
        if data_end is not None and dt.date.fromisoformat(p["end"]) > data_end:
            add("warn", "horizon_past_data", p["as_of"],
                f"the horizon ends {p['end']}, after the last order in the data ({data_end}): "
                "outcomes are incomplete", data_end=data_end.isoformat())
    for item in roll["psi"]:
        if item["label"] != "stable":
            add("warn", "psi_shift", item["to"], f"score distribution moved between "
                f"{item['from']} and {item['to']}: PSI {item['psi']:.3f}", **item)
    return found


def _data_end(source: Dataset) -> dt.date | None:
    orders = source.tables.get("orders")
    if orders is None:
        return None
    value = source.con.to_pyarrow(orders.ordered_at.max()).as_py()
    return value.date() if isinstance(value, dt.datetime) else value


def check_inputs(as_of: Sequence[str | dt.date], horizon: str,
                 lang: str | None = None) -> list[dt.date]:
    """The sorted distinct ``as_of`` dates; every bad input is reported at once."""
    from crindex.errors import CrindexError
    from crindex.report.i18n import translator

    problems: list[Problem] = []

    def attempt(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except CrindexError as exc:
            problems.extend(exc.problems)
            return None

    days = {attempt(as_date, a) for a in as_of} - {None}
    attempt(horizon_end, dt.date(2000, 1, 1), horizon)
    if lang is not None:
        attempt(translator, lang)
    if not as_of:
        problems.append(Problem("no as_of date given", "--as-of",
                                "give one or more, e.g. --as-of 2025-03-31 --as-of 2025-06-30",
                                Reason.BAD_PARAMETER))
    raise_if(problems, DataError)
    return sorted(days)


def run_backtest(model: CRIModel | str | Path, data: Any, as_of: Sequence[str | dt.date],
                 horizon: str = "90d", *, n_boot: int = 1000, seed: int = 0,
                 lang: str | None = None) -> dict[str, Any]:
    """Backtest ``model`` on ``data`` at each ``as_of``.

    Parameters
    ----------
    model
        A loaded model or the path of a model file.
    data
        A data folder, DuckDB file or URL, a loaded dataset, or canonical in-memory frames.
    as_of
        One or more scoring dates; they are sorted and must be distinct.
    horizon
        How far to look after each ``as_of``: ``90d``, ``12w``, ``6m``, ``1y``.
    n_boot, seed
        Bootstrap resamples of the AUC's confidence interval, and their seed.
    lang
        The page language that will be asked for, checked here with the other inputs.

    Returns
    -------
    dict
        ``model``, ``horizon``, ``churn_rule``, ``periods`` (one per ``as_of``), ``rolling``,
        ``checks``, ``quality``: the content of ``backtest.json``.
    """
    days = check_inputs(as_of, horizon, lang)
    spec = model if isinstance(model, CRIModel) else load_model(model)
    ends = [horizon_end(d, horizon) for d in days]
    source = open_dataset(data, model=spec)
    rule = spec.churn.inactivity_days
    periods = []
    for day, end in zip(days, ends, strict=True):
        result = score(spec, source, day)
        outcome = outcomes(source, day, end, rule)
        periods.append(evaluate_period(result, outcome, end, n_boot=n_boot, seed=seed))
    roll = rolling(periods, spec)
    return {
        "kind": "backtest",
        "model": model_summary(spec),
        "horizon": horizon,
        "churn_rule": ({"kind": "inactivity", "days": rule} if rule
                       else {"kind": "churned_at"}),
        "periods": periods,
        "rolling": roll,
        "checks": checks(periods, roll, _data_end(source)),
        "quality": source.quality.to_dict() if source.quality is not None else None,
    }


def model_summary(model: CRIModel) -> dict[str, Any]:
    """The model as a reader needs it: dimensions, metrics with their weights, tiers."""
    return {
        "name": model.name,
        "description": model.description,
        "version": None if model.version is None else str(model.version),
        "path": model.path,
        "dimensions": [{
            "id": d.id, "label": d.display, "weight": d.weight,
            "metrics": [{"id": m.id, "label": m.display, "aggregate": m.aggregate,
                         "window": m.window, "weight": m.weight,
                         "effective_weight": model.effective_weight(d, m),
                         "normalise": m.normalise.model_dump(exclude_none=True)
                         if hasattr(m.normalise, "model_dump") else str(m.normalise)}
                        for m in d.metrics],
        } for d in model.dimensions],
        "tiers": [{"id": lv.id, "label": lv.display, "min": lv.min, "above": lv.above,
                   "top": lv.top, "bottom": lv.bottom, "strategy": lv.strategy}
                  for lv in model.tiers.levels],
        "tiers_by": model.tiers.by,
    }


def write_backtest(report: dict[str, Any], out_dir: str | Path, lang: str = "en") -> list[Path]:
    """Write ``backtest.json`` and the self-contained ``backtest.html`` into ``out_dir``."""
    from crindex.api import dumps
    from crindex.report.html import render_backtest
    from crindex.util import atomic_write_text

    out = Path(out_dir)
    html = render_backtest(report, lang)
    paths = [out / "backtest.json", out / "backtest.html"]
    atomic_write_text(paths[0], dumps(report) + "\n")
    atomic_write_text(paths[1], html)
    return paths
