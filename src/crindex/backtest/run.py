"""Run a backtest: score point-in-time at each ``as_of``, then look at what happened next.

For every ``as_of`` the model scores the customers active on that day with
:func:`crindex.api.score` (no row after ``as_of`` is read), and the outcome is read in the
horizon ``(as_of, as_of + horizon]`` by :mod:`crindex.outcomes`, under the model's churn rule:

- churn: ``customers.churned_at`` falls in the horizon, or, when the model sets
  ``churn.inactivity_days: N``, the customer's N-day inactivity (no paid order; joining counts as
  activity) is reached in the horizon (``lapse: at_horizon_end``: and still so at its end);
- revenue: the amount of the customer's paid orders in the horizon.

Under a static churn label (``churn: {label: churn_label}``: one export with no time stamps),
the model is scored once, on one ``as_of`` (the export's day; default the model's, then today),
the outcome is each customer's label (no horizon), and the figures are those of a seeded holdout
stratified by the label (:func:`crindex.stats.stratified_holdout` with the model's
``churn.label.holdout`` and ``seed``): the customers ``crindex weights learn`` never fits on.

The figures (:mod:`crindex.backtest.metrics`) are kept per ``as_of`` and over time (core share,
churn and revenue by tier, PSI between consecutive dates), with checks a reader should see
first: a weak AUC, tiers out of order, metrics that point the wrong way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crindex.api import ScoreResult, as_date, score
from crindex.backtest import metrics as bm
from crindex.calendar import horizon_end
from crindex.data import Dataset, open_dataset
from crindex.errors import DataError, Problem, Reason, raise_if
from crindex.findings import finding, metric_points, tier_crowded, tier_empty
from crindex.model.loader import load_model
from crindex.model.rules import label_readers, outcome_text
from crindex.model.spec import ChurnRule, CRIModel
from crindex.outcomes import label_holdout, outcomes, rule_summary
from crindex.stats import DEFAULT_BOOTSTRAP, NOISE_SD, auc_noise, bootstrap_auc, churn_auc

#: AUC below this is reported as weak; below 0.5 the score points the wrong way.
WEAK_AUC = 0.6
#: a metric whose own churn AUC is below this reads its data backwards (wrong sign), when it
#: is below by more than :func:`crindex.stats.auc_noise` (``NOISE_SD`` null standard
#: deviations); closer to 0.5 than that, it carries no signal either way.
REVERSED_METRIC_AUC = 0.5
#: a metric whose own churn AUC is above this is too good to be true (leakage).
LEAKY_METRIC_AUC = 0.97


def outcome_frame(source: Dataset, rule: ChurnRule | None, as_of: dt.date,
                  end: dt.date) -> pd.DataFrame:
    """What happened to every customer in ``(as_of, end]`` (:func:`crindex.outcomes.outcomes`).

    One row per customer with ``active`` (on the books on ``as_of`` by the rule), ``churned``
    and ``revenue`` (paid orders in the horizon; NaN without an orders table).
    """
    return source.con.to_pyarrow(outcomes(source.tables, rule, as_of, end)).to_pandas()


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
    points away from churn. Each metric row also has its ``deciles``: churn and revenue by
    decile of its points (:func:`crindex.backtest.metrics.decile_rows`; tied points share a
    decile, so a metric with few distinct points fills few deciles).
    """
    churned = frame["churned"].to_numpy(bool)
    revenue = frame["revenue"].to_numpy(float) if "revenue" in frame else \
        np.zeros(len(frame))
    metric_rows = []
    for d, m in model.metrics:
        has = ~frame[f"{m.id}__missing"].fillna(True).to_numpy(bool)
        values = frame[f"{m.id}__score"].to_numpy(float)
        metric_rows.append({
            "id": m.id, "label": m.display, "dimension": d.display,
            "weight": model.effective_weight(d, m),
            "auc": churn_auc(values[has], churned[has]),
            "mean_points": float(values[has].mean()) if has.any() else None,
            "churned": int(churned[has].sum()),
            "customers": int(has.sum()), "coverage": float(has.mean()) if has.size else None,
            # churn by decile of the metric's own points (1 = lowest), as the score's deciles
            "deciles": bm.decile_rows(values[has], churned[has], revenue[has]),
        })
    dim_rows = []
    for d in model.dimensions:
        values = frame[f"dim__{d.id}"].to_numpy(float)
        has = ~np.isnan(values)
        dim_rows.append({"id": d.id, "label": d.display,
                         "auc": churn_auc(values[has], churned[has]),
                         "customers": int(has.sum())})
    return metric_rows, dim_rows


def _auc_figures(scores: np.ndarray, churned: np.ndarray, n_boot: int, seed: int
                 ) -> dict[str, Any]:
    """The churn AUC with its bootstrap interval, as ``backtest.json`` keeps it."""
    ci = bootstrap_auc({"auc": scores}, ~churned, n_boot=n_boot, seed=seed)["auc"]
    return {"auc": ci.value, "low": ci.low, "high": ci.high, "level": ci.level,
            "n_boot": ci.n_boot, "used": ci.used}


def evaluate_period(result: ScoreResult, outcome: pd.DataFrame, end: dt.date, *,
                    n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                    only: Collection[str] | None = None) -> dict[str, Any]:
    """All figures of one ``as_of``: scores joined to what happened in the horizon.

    ``only``: the customers to measure (the holdout of a static label); default everyone.
    """
    model = result.model
    frame = _frame(result).merge(outcome, on="customer_id", how="left")
    if only is not None:
        frame = frame[frame["customer_id"].isin(set(only))]
    frame["churned"] = frame["churned"].fillna(False).astype(bool)
    frame["revenue"] = frame["revenue"].fillna(0.0)
    frame["active"] = frame["active"].fillna(True).astype(bool)
    inactive = int((~frame["active"]).sum())
    unscored = int(frame["score"].isna().sum())
    frame = frame[frame["active"] & frame["score"].notna()]
    scores = frame["score"].to_numpy(float)
    churned = frame["churned"].to_numpy(bool)
    revenue = frame["revenue"].to_numpy(float)
    tier_ids = model.tiers.order
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
        "auc": _auc_figures(scores, churned, n_boot, seed),
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


def direction_fix(model: CRIModel, metric_id: str) -> dict[str, str]:
    """How to turn a metric around: the model's change, as ``fix`` text and ``direction``.

    A normaliser with a ``direction`` (range, log_range, percentile, zscore) gets the other
    one; one without (bins, points, map, identity) gets its points reversed.
    """
    for _, m in model.metrics:
        if m.id != metric_id:
            continue
        how = m.normalise.reversal()
        if how is not None and how["direction"] is not None:
            now = getattr(m.normalise, "direction", "higher")
            return {"direction": str(how["direction"]), "fix": f"set `direction: "
                    f"{how['direction']}` in its normalise (now `{now}`)"}
        return {"direction": "reversed", "fix": f"reverse its {m.normalise.method} points (give "
                "each value 100 minus its points)"}
    return {"direction": "reversed", "fix": "reverse its direction"}


def checks(periods: Sequence[dict[str, Any]], roll: dict[str, Any],
           data_end: dt.date | None, model: CRIModel | None = None) -> list[dict[str, Any]]:
    """What a reader must see first, as coded findings (``level`` ok / warn / fail).

    With ``model``, the findings on the model itself: metrics that read the churn outcome
    (:func:`crindex.model.rules.label_readers`), and the fix of a metric read backwards.
    docs/backtest.md lists every finding with its threshold and fix.
    """
    found: list[dict[str, Any]] = []

    def add(level: str, code: str, as_of: str | None, message: str, **params: Any) -> None:
        found.append(finding(level, code, as_of, message, **params))

    if model is not None:
        for m, how, column in label_readers(model):
            add("fail", "metric_leak", None, f"metric `{m.id}` reads customers.{column} ({how}), "
                f"{outcome_text(model, column)}: the score is built from the outcome it is judged "
                "by (leakage); remove the metric or read another column", metric=m.id,
                column=column, how=how)
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
                found.append(tier_empty(v["tier"], p["as_of"], v))
            elif v["kind"] == "zero_tie":
                add("fail", "tier_zero_tie", p["as_of"],
                    f"tiers `{v['tier']}` and `{v['next']}` both churn 0%: churn does not fall "
                    "from one to the other, so the data cannot tell them apart (move their "
                    "threshold, or measure over a longer horizon or more customers)", **v)
            else:
                add("fail", "tier_order", p["as_of"],
                    f"tier `{v['tier']}` churns {v['churn_rate']:.1%}, not less than the next "
                    f"tier `{v['next']}` ({v['next_churn_rate']:.1%})", **v)
        if not order["violations"]:
            add("ok", "tier_order_ok", p["as_of"], "churn falls from tier to tier")
        found += [f for r in p["tiers"]
                  if (f := tier_crowded(r["tier"], r["share_customers"], p["as_of"]))]
        for m in p["metrics"]:
            auc, points = m["auc"], m.get("mean_points")
            churners = m.get("churned")
            noise = auc_noise(churners, m["customers"] - churners) if churners is not None \
                else 0.0
            if auc is not None and auc < REVERSED_METRIC_AUC - noise:
                fix = direction_fix(model, m["id"]) if model is not None else \
                    {"direction": "reversed", "fix": "reverse its direction"}
                add("warn", "metric_reversed", p["as_of"],
                    f"metric `{m['id']}` has churn AUC {auc:.3f} (< {REVERSED_METRIC_AUC}, "
                    f"beyond noise of {noise:.3f}): as the model reads it, it points away from "
                    f"churn; {fix['fix']}", metric=m["id"], auc=auc, noise=noise, **fix)
            elif auc is not None and abs(auc - 0.5) <= noise:
                add("warn", "metric_no_signal", p["as_of"],
                    f"metric `{m['id']}` has churn AUC {auc:.3f}, within {noise:.3f} of 0.5 "
                    f"({NOISE_SD:g} standard deviations of a metric without signal): it ranks "
                    "churners no better than a coin; lower its weight or drop it",
                    metric=m["id"], auc=auc, noise=noise)
            elif auc is not None and auc > LEAKY_METRIC_AUC:
                add("fail", "metric_too_good", p["as_of"],
                    f"metric `{m['id']}` has churn AUC {auc:.3f} (> {LEAKY_METRIC_AUC}): too "
                    "good to be true; check that it reads no row after as_of and not the churn "
                    "outcome (leakage)", metric=m["id"], auc=auc, threshold=LEAKY_METRIC_AUC)
            if (f := metric_points(m["id"], points, p["as_of"])) is not None:
                found.append(f)
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
                 checks: Sequence[Callable[[], object]] = ()) -> list[dt.date]:
    """The sorted distinct ``as_of`` dates; every bad input is reported at once.

    ``checks``: the caller's own input checks (the command's page language), each raising a
    :class:`~crindex.errors.CrindexError`, reported with the others.
    """
    from crindex.errors import CrindexError

    problems: list[Problem] = []

    def attempt(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except CrindexError as exc:
            problems.extend(exc.problems)
            return None

    days = {attempt(as_date, a) for a in as_of} - {None}
    attempt(horizon_end, dt.date(2000, 1, 1), horizon)
    for check in checks:
        attempt(check)
    if not as_of:
        problems.append(Problem("no as_of date given", "--as-of",
                                "give one or more, e.g. --as-of 2025-03-31 --as-of 2025-06-30",
                                Reason.BAD_PARAMETER))
    raise_if(problems, DataError)
    return sorted(days)


def run_backtest(model: CRIModel | str | Path, data: Any, as_of: Sequence[str | dt.date],
                 horizon: str = "90d", *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                 input_checks: Sequence[Callable[[], object]] = ()) -> dict[str, Any]:
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
    input_checks
        The caller's own input checks (e.g. the page language), run with the others so that
        every bad input is reported at once.

    Returns
    -------
    dict
        ``model``, ``horizon``, ``churn_rule``, ``periods`` (one per ``as_of``), ``rolling``,
        ``checks``, ``quality``: the content of ``backtest.json``.
    """
    spec = model if isinstance(model, CRIModel) else load_model(model)
    if spec.churn.label is not None:
        return _static_backtest(spec, data, as_of, n_boot=n_boot, seed=seed,
                                input_checks=input_checks)
    days = check_inputs(as_of, horizon, input_checks)
    ends = [horizon_end(d, horizon) for d in days]
    source = open_dataset(data, model=spec)
    periods = []
    for day, end in zip(days, ends, strict=True):
        result = score(spec, source, day)
        outcome = outcome_frame(source, spec.churn, day, end)
        periods.append(evaluate_period(result, outcome, end, n_boot=n_boot, seed=seed))
    roll = rolling(periods, spec)
    return {
        "kind": "backtest",
        "model": model_summary(spec),
        "horizon": horizon,
        "churn_rule": rule_summary(spec.churn),
        "periods": periods,
        "rolling": roll,
        "checks": checks(periods, roll, _data_end(source), spec),
        "quality": source.quality.to_dict() if source.quality is not None else None,
    }


def _static_backtest(spec: CRIModel, data: Any, as_of: Sequence[str | dt.date], *,
                     n_boot: int, seed: int,
                     input_checks: Sequence[Callable[[], object]]) -> dict[str, Any]:
    """The backtest of a static churn label: one date, the label, a stratified holdout."""
    def one_date() -> None:
        if len(as_of) > 1:
            raise DataError.single(
                Reason.BAD_PARAMETER, f"{len(as_of)} --as-of dates given, but the model's churn "
                "is a static label (one outcome per customer, no horizon)", "--as-of",
                "give one --as-of (the day the export was taken) or none (the model's as_of, "
                "then today)")

    day = check_inputs(list(as_of[:1]) or [as_date(None, spec.as_of)], "90d",
                       [*input_checks, one_date])[0]
    source = open_dataset(data, model=spec)
    result = score(spec, source, day)
    outcome = outcome_frame(source, spec.churn, day, day)
    assert spec.churn.label is not None
    on_books = outcome[outcome["active"].astype(bool)]
    held, split = label_holdout(
        dict(zip(on_books["customer_id"].astype(str), on_books["churned"].astype(bool),
                 strict=True)), spec.churn.label)
    period = evaluate_period(result, outcome, day, n_boot=n_boot, seed=seed, only=held)
    roll = rolling([period], spec)
    return {
        "kind": "backtest",
        "model": model_summary(spec),
        "horizon": None,
        "churn_rule": rule_summary(spec.churn),
        "holdout": split,
        "periods": [period],
        "rolling": roll,
        "checks": checks([period], roll, None, spec),
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

