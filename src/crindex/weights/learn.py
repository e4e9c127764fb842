"""Weights learned from churn history, validated out of time.

The label of a customer scored on ``as_of`` is churn in ``(as_of, as_of + horizon]`` under the
model's churn rule, as :mod:`crindex.outcomes` defines it for every command: from
``customers.churned_at``, or from the model's inactivity rule (``churn: {inactivity_days: N}``).
The AUCs are :func:`crindex.stats.bootstrap_auc`'s. On snapshots *before* the holdout date, a
logistic regression of churn on the metrics' normalised scores, with every coefficient held
non-negative, finds how much each metric's score lowers the risk; the coefficients, scaled to
sum to 100, are the weights. The holdout date's customers (whose labels the fit never saw)
then rank churners by the current weights, uniform weights and the learned weights, each
scored by the engine with the model file it would write; AUCs come with paired bootstrap
confidence intervals.

Under a static churn label (``churn: {label: churn_label}``: one export, no time stamps) there
is one date: the model is scored once, the customers are split by
:func:`crindex.stats.stratified_holdout` (the model's ``churn.label.holdout`` share of the
churners and of the stayers, drawn with its ``seed``; the backtest holds out the same
customers), the fit sees the rest, and the held-out customers are ranked as above.

References
----------
.. [1] J. A. Hanley, B. J. McNeil, "The meaning and use of the area under a receiver operating
   characteristic (ROC) curve", Radiology 143(1), 1982 (AUC as the Mann-Whitney statistic).
.. [2] R. H. Byrd, P. Lu, J. Nocedal, C. Zhu, "A limited memory algorithm for bound constrained
   optimization", SIAM J. Scientific Computing 16(5), 1995 (L-BFGS-B).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crindex.calendar import horizon_end, horizon_start
from crindex.errors import DataError, FitError, NotFittedError, Problem, Reason, raise_if
from crindex.outcomes import churn, describe, label_holdout
from crindex.stats import DEFAULT_BOOTSTRAP, Interval, auc_noise, bootstrap_auc, churn_auc

# --------------------------------------------------------------------------------------------
# dates and labels


_EVENT_TABLES = {"orders": "ordered_at", "interactions": "occurred_at",
                 "surveys": "answered_at", "customers": "churned_at"}


def data_end(tables: dict[str, Any]) -> dt.date | None:
    """The last day any event (order, interaction, survey, churn) is recorded on."""
    days: list[dt.date] = []
    for table, col in _EVENT_TABLES.items():
        if table not in tables:
            continue
        value = tables[table][col].max().execute()
        if value is not None and value == value:  # not null, not NaT
            days.append(value.date() if hasattr(value, "date") else value)
    return max(days) if days else None


def churn_labels(tables: dict[str, Any], model: Any, as_of: dt.date,
                 horizon: str) -> dict[str, int]:
    """Customer id -> 1 if the customer churned in ``(as_of, as_of + horizon]``, else 0.

    See :class:`ChurnLabels` (which reads the data once for many dates).
    """
    return ChurnLabels(tables, model)(as_of, horizon)


class ChurnLabels:
    """Churn labels of one dataset under the model's churn rule, for any date.

    The label of a customer on the books on ``as_of`` is churn in ``(as_of, as_of + horizon]``
    as :mod:`crindex.outcomes` defines it (the one definition backtests and KPIs use): from
    ``customers.churned_at``, or under the model's ``churn: {inactivity_days: N}``. Customers
    not on the books on ``as_of`` (not yet joined, churned, or lapsed by the rule) get no label.

    Raises
    ------
    DataError
        When the model reads ``churned_at`` but the data keep no churn date, or has an
        inactivity rule but no orders table.
    """

    def __init__(self, tables: dict[str, Any], model: Any):
        self.tables = tables
        self.model = model
        self.rule = model.churn
        self.last_day = data_end(tables)
        if self.rule.label is not None:
            return  # a static label: churn_label is read (and checked) with the labels
        if self.rule.inactivity_days is None:
            customers = tables["customers"]
            if not customers.churned_at.notnull().any().to_pyarrow().as_py():
                raise DataError.single(
                    Reason.MISSING_COLUMN, "no churn labels: customers.churned_at is empty and "
                    "the model has no inactivity rule", model.path or "--model",
                    "keep churn dates in customers.churned_at, or add `churn: "
                    "{inactivity_days: 180}` to the model")
        elif "orders" not in tables:
            raise DataError.single(Reason.MISSING_TABLE, "the inactivity rule needs the orders "
                                   "table", "--data", "load orders, or keep customers.churned_at "
                                   "and remove the model's inactivity rule")

    @property
    def source(self) -> str:
        """Where the labels come from, in words."""
        return describe(self.rule)

    def __call__(self, as_of: dt.date, horizon: str | None) -> dict[str, int]:
        """Labels for ``as_of``: 1 = churned in ``(as_of, as_of + horizon]``.

        Under a static label, 1 = the label says churned (the horizon is not used).

        Raises
        ------
        DataError
            When the data do not reach the end of the label window, or a label is no label.
        """
        if self.rule.label is not None:
            return self._read(churn(self.tables, self.rule, as_of, as_of))
        horizon = horizon or "90d"
        end = horizon_end(as_of, horizon)
        if self.last_day is None or self.last_day < end:
            latest = horizon_start(self.last_day, horizon) if self.last_day else None
            raise DataError.single(
                Reason.BAD_PARAMETER,
                f"labels for as_of {as_of} need churn known up to {end} (as_of + {horizon}), "
                f"but the data end on {self.last_day}", "--as-of",
                f"choose an as_of on or before {latest}" if latest else "load data with events")
        return self._read(churn(self.tables, self.rule, as_of, end))

    @staticmethod
    def _read(out: Any) -> dict[str, int]:
        table = out.filter(out.active).select("customer_id", "churned").to_pyarrow()
        return dict(zip(table.column("customer_id").to_pylist(),
                        (int(v) for v in table.column("churned").to_pylist()), strict=True))


# --------------------------------------------------------------------------------------------
# the fit


class NonNegativeLogit:
    """Logistic regression of churn on scores with non-negative "health" coefficients.

    ``P(churn) = 1 / (1 + exp(-(b - x . beta)))`` with ``beta >= 0``: a higher score may only
    lower the risk, so ``beta`` can serve as weights of a score where higher is better. Fitted
    by L-BFGS-B (bounds ``beta >= 0``) on the mean log-loss plus ``l2 * |beta|^2``.

    Parameters
    ----------
    l2
        Ridge penalty; small, only to keep the fit stable when metrics move together.
    nonnegative
        ``False``: a plain logistic regression (any sign; same loss, same penalty): the
        baseline ``weights learn`` reports beside the weights.
    l1
        Lasso penalty ``l1 * sum(beta)`` (with ``beta >= 0`` this is ``l1 * |beta|_1``, smooth
        on the bounds): a metric whose score lowers the log-loss by less than it costs gets
        exactly 0 — useless metrics drop out. Only with ``nonnegative``.
    """

    def __init__(self, l2: float = 1e-3, max_iter: int = 500, nonnegative: bool = True,
                 l1: float = 0.0):
        if l1 < 0 or (l1 > 0 and not nonnegative):
            raise ValueError("l1 must be >= 0, and is only for the non-negative fit")
        self.l2 = l2
        self.max_iter = max_iter
        self.nonnegative = nonnegative
        self.l1 = l1

    def fit(self, x: Any, y: Any) -> NonNegativeLogit:
        """Fit on ``x`` (customers by metrics, 0..1; ``nan`` becomes the column mean) and ``y``.

        Raises
        ------
        FitError
            Without both churners and non-churners, or when the optimiser fails.
        """
        from scipy.optimize import minimize

        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        n_pos = int(y.sum())
        if n_pos == 0 or n_pos == len(y):
            raise FitError.single(Reason.FIT, f"the fit needs churners and non-churners; "
                                  f"{n_pos} of {len(y)} customers churned", "--as-of",
                                  "choose dates or a --horizon with churn in them")
        fill = np.nanmean(x, axis=0)
        self.fill_ = np.where(np.isnan(fill), 0.0, fill)
        x = np.where(np.isnan(x), self.fill_, x)
        k = x.shape[1]

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            b, beta = params[0], params[1:]
            z = b - x @ beta
            # log(1 + e^z) and the log-loss in a form that never overflows
            nll = float(np.mean(np.logaddexp(0.0, z) - y * z)) + self.l2 * float(beta @ beta) \
                + self.l1 * float(beta.sum())
            p = 0.5 * (1.0 + np.tanh(0.5 * z))
            g = p - y
            grad = np.concatenate([[g.mean()], -(x * g[:, None]).mean(axis=0)
                                   + 2 * self.l2 * beta + self.l1])
            return nll, grad

        start = np.zeros(k + 1)
        start[0] = np.log(n_pos / (len(y) - n_pos))
        res = minimize(loss, start, jac=True, method="L-BFGS-B",
                       bounds=[(None, None)] + [(0.0 if self.nonnegative else None, None)] * k,
                       options={"maxiter": self.max_iter})
        if not res.success and res.nit >= self.max_iter:
            raise FitError.single(Reason.FIT, f"the churn fit did not converge: {res.message}")
        self.intercept_ = float(res.x[0])
        self.coef_ = np.asarray(res.x[1:], dtype=float)
        self.n_iter_ = int(res.nit)
        self.loss_ = float(res.fun)
        return self

    def _check(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError.single(Reason.NOT_FITTED, "NonNegativeLogit is not fitted",
                                        hint="call fit(x, y) first")

    def health(self, x: Any) -> np.ndarray:
        """``x . beta``: higher is healthier (the weighted score, up to scale)."""
        self._check()
        x = np.asarray(x, dtype=float)
        return np.where(np.isnan(x), self.fill_, x) @ self.coef_

    def predict_proba(self, x: Any) -> np.ndarray:
        """Probability of churn within the horizon."""
        return 1.0 / (1.0 + np.exp(-(self.intercept_ - self.health(x))))

    @property
    def weights_(self) -> np.ndarray:
        """Coefficients scaled to sum to 100."""
        self._check()
        total = float(self.coef_.sum())
        if total <= 0:
            raise FitError.single(Reason.FIT, "no metric's score lowers the churn risk, so no "
                                  "weights can be learned", "",
                                  "check the labels (horizon, as_of) and the metrics' direction")
        return 100.0 * self.coef_ / total


# --------------------------------------------------------------------------------------------
# the whole procedure


def engine_fill(model: Any, scores: np.ndarray, overall: np.ndarray,
                flat: bool | None = None) -> np.ndarray:
    """Fill the scores ``reweight`` left out so that a weighted sum gives the engine's score.

    The engine leaves a missing metric out and scales the weights of the metrics present up
    (see :func:`crindex.model.arithmetic.combine`): with flat weights over the whole model,
    with dimension weights within the metric's dimension, and a dimension with nothing left
    out of the total. That equals giving the missing metric the customer's weighted mean of
    the scores that are present (in its dimension, or over the dimensions present), so with
    the gaps filled this way ``sum(overall * filled) / sum(overall)`` is the engine's score.
    A customer with no score at all keeps ``nan``.

    Parameters
    ----------
    overall
        Each metric's share of the total (any positive scale), in the model's metric order.
    flat
        Flat weights (default: the model's own style).
    """
    scores = np.asarray(scores, dtype=float)
    w = np.asarray(overall, dtype=float)
    present = ~np.isnan(scores)
    values = np.where(present, scores, 0.0)

    def weighted_mean(cols: list[int]) -> np.ndarray:
        num = values[:, cols] @ w[cols]
        den = present[:, cols].astype(float) @ w[cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    flat = model.flat_weights if flat is None else flat
    order = {m.id: k for k, (_, m) in enumerate(model.metrics)}
    groups = [[order[m.id] for m in d.metrics] for d in model.dimensions]
    filled = scores.copy()
    if flat:
        everyone = weighted_mean(list(range(len(w))))
        for cols in groups:
            for c in cols:
                filled[~present[:, c], c] = everyone[~present[:, c]]
        return filled
    dim_scores = np.column_stack([weighted_mean(cols) for cols in groups])
    dim_w = np.array([w[cols].sum() for cols in groups])
    dim_present = ~np.isnan(dim_scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall_mean = (np.where(dim_present, dim_scores, 0.0) @ dim_w) / \
            (dim_present.astype(float) @ dim_w)
    for g, cols in enumerate(groups):
        fallback = np.where(dim_present[:, g], dim_scores[:, g], overall_mean)
        for c in cols:
            filled[~present[:, c], c] = fallback[~present[:, c]]
    return filled


@dataclass
class Snapshot:
    """Scores and labels on one date: the customers scored then, with a label."""

    as_of: dt.date
    customer_ids: list[str]
    scores: np.ndarray
    total: np.ndarray
    churned: np.ndarray

    @property
    def churners(self) -> int:
        return int(self.churned.sum())


def snapshot(model: Any, dataset: Any, as_of: dt.date, horizon: str | None,
             labeller: ChurnLabels | None = None) -> Snapshot:
    """Score ``model`` on ``as_of`` and attach churn labels; unlabelled customers dropped."""
    from crindex.api import score
    from crindex.weights.objective import score_matrix

    labels = (labeller or ChurnLabels(dataset.tables, model))(as_of, horizon)
    result = score(model, dataset, as_of)
    matrix, _ = score_matrix(result)
    ids = result.table.column("customer_id").to_pylist()
    total = result.table.column("score").to_numpy(zero_copy_only=False).astype(float)
    keep = np.array([c in labels for c in ids], dtype=bool)
    return Snapshot(as_of, [c for c, k in zip(ids, keep, strict=True) if k], matrix[keep],
                    total[keep], np.array([labels[c] for c in ids if c in labels], dtype=int))


@dataclass
class LearnReport:
    """What :func:`learn_weights` found: weights, the fit, and the holdout comparison."""

    model: Any
    horizon: str | None
    fit_dates: list[dt.date]
    holdout_date: dt.date
    fit_customers: int
    fit_churners: int
    holdout_customers: int
    holdout_churners: int
    coefficients: dict[str, float]
    weights: Any
    learned: Any
    aucs: dict[str, Interval] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the split of a static label (share, seed, customers and churners on each side)
    split: dict[str, Any] | None = None
    #: metrics read backwards on the fit (own AUC below 0.5 beyond noise): each with ``metric``,
    #: ``auc`` (on the fit, as the model reads it), ``change`` and ``flipped`` (turned around in
    #: the learned model: the fit gave it weight once turned)
    flips: list[dict[str, Any]] = field(default_factory=list)
    #: the plain logistic regression on the same features (any sign): coefficients per metric
    baseline: dict[str, float] = field(default_factory=dict)

    @property
    def flipped(self) -> list[str]:
        """The metrics the learned model turns around."""
        return [f["metric"] for f in self.flips if f["flipped"]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "split": self.split,
            "flips": self.flips,
            "baseline_coefficients": self.baseline,
            "fit_dates": [d.isoformat() for d in self.fit_dates],
            "holdout_date": self.holdout_date.isoformat(),
            "fit": {"customers": self.fit_customers, "churners": self.fit_churners},
            "holdout": {"customers": self.holdout_customers, "churners": self.holdout_churners},
            "coefficients": self.coefficients,
            "learned_weights": self.weights.overall(),
            "auc": {k: {"value": v.value, "low": v.low, "high": v.high, "level": v.level}
                    for k, v in self.aucs.items()},
            "notes": self.notes,
        }


def learn_weights(model: Any, data: Any, as_of: dt.date | str | None = None,
                  horizon: str | None = None, *,
                  snapshots: int = 4, fit_as_of: Sequence[dt.date | str] | None = None,
                  n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, l2: float = 1e-3,
                  style: str = "keep",
                  decimals: int = 0, max_rounds: int = 5, flip: bool = True,
                  l1: float = 0.0) -> LearnReport:
    """Learn non-negative weights summing to 100 from churn, and test them out of time.

    Parameters
    ----------
    model
        A loaded model (read from a file: the learned model is its rewritten text).
    data
        A data folder, DuckDB file or URL, or a loaded :class:`~crindex.data.Dataset`.
    as_of
        The holdout date: its customers are labelled by churn in ``(as_of, as_of + horizon]``
        and never seen by the fit. Under a static churn label, the one scoring date (default:
        the model's ``as_of``, then today); the holdout is then a stratified share of the
        customers (the model's ``churn.label.holdout`` and ``seed``).
    horizon
        Length of the label window (``90d``, ``12w``, ``3m``, ``1y``; default ``90d``); not
        used under a static label.
    snapshots
        Fit on this many earlier dates, one horizon apart: ``as_of - horizon``,
        ``as_of - 2 horizon``... Each fit label window ends by ``as_of``.
    fit_as_of
        Fit dates instead (each must be at least one horizon before ``as_of``).
    n_boot, seed
        Bootstrap resamples and seed for the AUC intervals.
    style, decimals
        How the learned model file writes its weights (see
        :func:`~crindex.weights.rewrite.file_weights`); the holdout scores that file.
    l1
        Lasso penalty of the fit (:class:`NonNegativeLogit`): drops metrics that do not pay
        for themselves (weight 0). Default 0 (none).
    flip
        Turn around a metric read backwards (its own churn AUC on the fit below 0.5 by more
        than :func:`crindex.stats.auc_noise`): ``direction`` or a map's points, in the learned
        model. ``False``: such a metric keeps its direction (and gets no weight).

    Raises
    ------
    DataError
        Dates the data cannot label.
    FitError
        No churners, or no metric that lowers the risk.
    """
    from crindex.api import as_date
    from crindex.data import open_dataset

    if model.churn.label is not None:
        return _learn_static(model, open_dataset(data, model=model), as_date(as_of, model.as_of),
                             horizon, n_boot=n_boot, seed=seed, l2=l2, style=style,
                             decimals=decimals, max_rounds=max_rounds, flip=flip, l1=l1)
    need_holdout_date(model, as_of)
    horizon = horizon or "90d"
    holdout_date = as_date(as_of)
    horizon_end(holdout_date, horizon)  # checks the horizon's syntax first
    if fit_as_of:
        dates = sorted(as_date(d) for d in fit_as_of)
    else:
        if snapshots < 1:
            raise FitError.single(Reason.BAD_PARAMETER, "at least one fit snapshot is needed",
                                  "--snapshots")
        dates, day = [], holdout_date
        for _ in range(snapshots):
            day = horizon_start(day, horizon)
            dates.insert(0, day)
    problems = [Problem(f"fit date {d} labels churn up to {horizon_end(d, horizon)}, after the "
                        f"holdout date {holdout_date}: the holdout would not be out of time",
                        "--fit-as-of", f"use dates on or before "
                        f"{horizon_start(holdout_date, horizon)}", Reason.BAD_PARAMETER)
                for d in dates if horizon_end(d, horizon) > holdout_date]
    raise_if(problems, FitError)
    data = open_dataset(data, model=model)

    labeller = ChurnLabels(data.tables, model)
    fits = [snapshot(model, data, d, horizon, labeller) for d in dates]
    raw = np.vstack([f.scores for f in fits]) / 100.0
    y = np.concatenate([f.churned for f in fits])
    fit = _fit(model, raw, y, l2=l2, style=style, decimals=decimals, max_rounds=max_rounds,
               flip=flip, l1=l1)
    holdout = snapshot(model, data, holdout_date, horizon, labeller)
    common, churned, aucs, notes = _holdout_aucs(
        model, data, holdout, None, fit, n_boot=n_boot, seed=seed,
        where=f"the holdout ({holdout_date}, {horizon})")
    return LearnReport(model, horizon, dates, holdout_date, len(y), int(y.sum()), len(common),
                       int(churned.sum()), _coefficients(model, fit.logit), fit.weights,
                       fit.learned, aucs, [f"labels: {labeller.source}", *notes],
                       flips=fit.flips, baseline=_coefficients(model, fit.baseline))


def need_holdout_date(model: Any, as_of: object) -> None:
    """Churn over time needs the holdout date (a static label has one date, the export's).

    Raises
    ------
    FitError
        When the model's churn is not a static label and ``as_of`` is not given.
    """
    if as_of is None and model.churn.label is None:
        raise FitError.single(Reason.BAD_PARAMETER, "no holdout date given", "--as-of",
                              "give the holdout date, e.g. --as-of 2025-06-30 (its customers "
                              "are labelled by churn in the horizon after it)")


def _coefficients(model: Any, logit: NonNegativeLogit) -> dict[str, float]:
    return dict(zip([m.id for _, m in model.metrics], map(float, logit.coef_), strict=True))


def can_flip(metric: Any) -> bool:
    """Whether the learner can turn ``metric`` around (its normaliser's ``reversal``)."""
    return metric.normalise.reversal() is not None


def backwards(model: Any, raw: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    """The metrics read backwards on ``raw`` (0..1, as the model reads them).

    Those whose own churn AUC is below 0.5 by more than :func:`crindex.stats.auc_noise` of the
    customers they have data for.
    """
    found = []
    churned = np.asarray(y, dtype=bool)
    for k, (_, m) in enumerate(model.metrics):
        has = ~np.isnan(raw[:, k])
        value = churn_auc(raw[has, k], churned[has])
        n_pos = int(churned[has].sum())
        if value is not None and value < 0.5 - auc_noise(n_pos, int(has.sum()) - n_pos):
            found.append({"metric": m.id, "auc": value, "can_flip": can_flip(m)})
    return found


@dataclass
class Fit:
    """What :func:`_fit` found: the weights' fit, the baseline, the models it would write."""

    logit: NonNegativeLogit
    baseline: NonNegativeLogit
    weights: Any
    learned: Any
    uniform: Any
    flips: list[dict[str, Any]]


def _fit(model: Any, raw: np.ndarray, y: np.ndarray, *, l2: float, style: str, decimals: int,
         max_rounds: int, flip: bool = True, l1: float = 0.0) -> Fit:
    """The non-negative fit on the scores ``raw`` (0..1) and labels ``y``.

    A metric read backwards (:func:`backwards`) is turned around first (``1 - score``) when
    ``flip`` and its normaliser allows it; the learned model turns it around in its file when
    the fit gives it weight. The baseline is a plain logistic regression on ``raw``.
    """
    from crindex.weights.rewrite import WeightSet, resolve_style, rewritten_model

    names = [m.id for _, m in model.metrics]
    flat = resolve_style(model, style) == "flat"
    found = backwards(model, raw, y)
    turn = [names.index(f["metric"]) for f in found if flip and f["can_flip"]]
    x = raw.copy()
    x[:, turn] = 1.0 - x[:, turn]
    # the engine fills a gap with the customer's weighted mean, which depends on the weights
    # being learned: refit with the gaps filled by the last fit's weights until they settle
    current = np.ones(len(names))
    for _ in range(max_rounds):
        logit = NonNegativeLogit(l2=l2, l1=l1).fit(engine_fill(model, x, current, flat), y)
        learned_w = logit.coef_ if logit.coef_.sum() > 0 else current
        moved = float(np.abs(learned_w / learned_w.sum() - current / current.sum()).max())
        current = learned_w
        if moved < 1e-3:
            break
    overall = dict(zip(names, (float(w) for w in logit.weights_), strict=True))
    weights = WeightSet.from_overall(model, overall)
    spec = {m.id: m for _, m in model.metrics}
    flips = []
    for f in found:
        turned = bool(names.index(f["metric"]) in turn
                      and logit.coef_[names.index(f["metric"])] > 0)
        how = spec[f["metric"]].normalise.reversal()
        change = str(how["change"]) if how is not None else "none: reverse its points by hand"
        flips.append({"metric": f["metric"], "auc": f["auc"], "change": change,
                      "flipped": turned})
    flipped = [f["metric"] for f in flips if f["flipped"]]
    learned = rewritten_model(model, weights, style, decimals, "<learned>", flipped)
    uniform = rewritten_model(model, WeightSet.from_overall(model, dict.fromkeys(names, 1.0)),
                              style, max(decimals, 1), "<uniform>")
    baseline = NonNegativeLogit(l2=l2, nonnegative=False).fit(raw, y)
    return Fit(logit, baseline, weights, learned, uniform, flips)


def _holdout_aucs(model: Any, data: Any, holdout: Snapshot, keep: set[str] | None, fit: Fit,
                  *, n_boot: int, seed: int, where: str
                  ) -> tuple[list[str], np.ndarray, dict[str, Interval], list[str]]:
    """The churn AUCs of the current, uniform and learned weights and of the baseline.

    The baseline (``logistic``) is the plain logistic regression on the same features.
    ``keep``: only these of the snapshot's customers (a static label's holdout). The learned
    and uniform models are scored by the engine on the holdout's date.
    """
    learned, uniform = fit.learned, fit.uniform
    from crindex.api import score

    labelled = {c: y for c, y in zip(holdout.customer_ids, holdout.churned, strict=True)
                if keep is None or c in keep}
    by_name: dict[str, dict[str, float]] = {
        "current": {c: s for c, s in zip(holdout.customer_ids, holdout.total.tolist(),
                                         strict=True) if s == s and c in labelled}}
    health = fit.baseline.health(holdout.scores / 100.0)
    by_name["logistic"] = {c: float(h) for c, h in zip(holdout.customer_ids, health, strict=True)
                           if c in labelled}
    for name, spec in (("uniform", uniform.model), ("learned", learned.model)):
        table = score(spec, data, holdout.as_of).table
        by_name[name] = {c: s for c, s in zip(table.column("customer_id").to_pylist(),
                                              table.column("score").to_pylist(), strict=True)
                         if s is not None and c in labelled}
    common = sorted(set.intersection(*(set(v) for v in by_name.values())))
    churned = np.array([labelled[c] for c in common], dtype=int)
    notes = []
    if len(common) < len(labelled):
        notes.append(f"{len(labelled) - len(common)} holdout customer(s) without a score "
                     "(no data for any metric) are left out of the AUCs")
    if churned.sum() == 0 or churned.sum() == len(churned):
        raise FitError.single(Reason.FIT, f"{where} has {int(churned.sum())} churners of "
                              f"{len(churned)}: no AUC", "--as-of",
                              "choose a holdout with churners and customers who stayed")
    scores = {k: np.array([by_name[k][c] for c in common], dtype=float)
              for k in ("current", "uniform", "learned", "logistic")}
    aucs = bootstrap_auc(scores, churned == 0, n_boot=n_boot, seed=seed,
                         differences=[("learned", "current"), ("learned", "uniform"),
                                      ("learned", "logistic")])
    return common, churned, aucs, notes


def _learn_static(model: Any, data: Any, day: dt.date, horizon: str | None, *, n_boot: int,
                  seed: int, l2: float, style: str, decimals: int,
                  max_rounds: int, flip: bool, l1: float = 0.0) -> LearnReport:
    """:func:`learn_weights` under a static label: one date, a stratified holdout."""
    label = model.churn.label
    labeller = ChurnLabels(data.tables, model)
    snap = snapshot(model, data, day, None, labeller)
    held, split = label_holdout(labeller(day, None), label)
    fit_rows = np.array([c not in held for c in snap.customer_ids], dtype=bool)
    raw = snap.scores[fit_rows] / 100.0
    y = snap.churned[fit_rows]
    fit = _fit(model, raw, y, l2=l2, style=style, decimals=decimals, max_rounds=max_rounds,
               flip=flip, l1=l1)
    common, churned, aucs, notes = _holdout_aucs(
        model, data, snap, held, fit, n_boot=n_boot, seed=seed,
        where=f"the holdout of the label ({label.holdout:.0%}, seed {label.seed})")
    notes = [f"labels: {labeller.source}",
             f"holdout: {split['held_out']:,} of {split['labelled']:,} customers "
             f"({label.holdout:.0%} of the churners and of the stayers, seed {label.seed}); "
             "the fit never sees them", *notes]
    if horizon is not None:
        notes.append(f"the churn label is static: --horizon {horizon} is not used")
    return LearnReport(model, None, [day], day, len(y), int(y.sum()), len(common),
                       int(churned.sum()), _coefficients(model, fit.logit), fit.weights,
                       fit.learned, aucs, notes, split, fit.flips,
                       _coefficients(model, fit.baseline))
