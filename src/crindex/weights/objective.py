"""Objective weights from the data: the entropy method and CRITIC.

Both read a matrix of customers (rows) by metrics (columns) in which higher is better — in
crindex the per-metric normalised scores (``<metric>__score``, 0..100) of a scoring run — and
weight a metric by how much it tells customers apart. A missing score (``nan``) is left out of
that metric's figures only.

References
----------
.. [1] C. E. Shannon, "A mathematical theory of communication", 1948; the entropy weight
   method as in Z. Xu, "Uncertain multiple attribute decision making", Springer, 2015.
.. [2] D. Diakoulaki, G. Mavrotas, L. Papayannakis, "Determining objective weights in multiple
   criteria problems: the CRITIC method", Computers & Operations Research 22(7), 1995,
   pp. 763-770.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from crindex.errors import FitError, Problem, Reason, raise_if

Normalisation = Literal["sum", "minmax"]
NORMALISATIONS: tuple[str, ...] = ("sum", "minmax")


@dataclass(frozen=True)
class ObjectiveWeights:
    """Weights (summing to 1) with the per-metric figures behind them.

    ``figures`` holds, per method: entropy ``e`` and divergence ``d = 1 - e``; CRITIC the
    standard deviation ``sigma``, the conflict ``sum(1 - r)`` and the information ``c``.
    """

    method: str
    names: list[str]
    weights: np.ndarray
    figures: dict[str, np.ndarray]
    counts: np.ndarray

    def weight_of(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(self.names, self.weights, strict=True)}


def _matrix(x: Any, names: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise FitError.single(Reason.BAD_PARAMETER, f"expected a table of customers by metrics, "
                              f"got shape {arr.shape}")
    labels = list(names) if names is not None else [f"x{k + 1}" for k in range(arr.shape[1])]
    if len(labels) != arr.shape[1]:
        raise FitError.single(Reason.BAD_PARAMETER, f"{len(labels)} names for "
                              f"{arr.shape[1]} columns")
    if np.isinf(arr).any():
        raise FitError.single(Reason.BAD_PARAMETER, "the scores contain infinite values")
    return arr, labels


def _minmax(col: np.ndarray) -> np.ndarray:
    lo, hi = np.nanmin(col), np.nanmax(col)
    return np.zeros_like(col) if hi == lo else (col - lo) / (hi - lo)


def _finish(method: str, names: list[str], info: np.ndarray, figures: dict[str, np.ndarray],
            counts: np.ndarray) -> ObjectiveWeights:
    total = float(info.sum())
    if not total > 1e-12:
        raise FitError.single(
            Reason.FIT, f"{method}: no metric varies across customers, so the data give no "
            "weights", "", "score more customers, or a date on which they differ")
    return ObjectiveWeights(method, names, info / total, figures, counts)


def entropy_weights(x: Any, names: Sequence[str] | None = None,
                    normalisation: Normalisation = "sum") -> ObjectiveWeights:
    """Entropy weights: metrics whose scores are spread unevenly carry more information.

    For each metric j over its m customers with a value, ``p_ij = x_ij / sum_i x_ij``
    (column-sum normalisation), ``e_j = -sum_i p_ij ln p_ij / ln m`` (with 0 ln 0 = 0),
    ``d_j = 1 - e_j`` and ``w_j = d_j / sum_k d_k``.

    Parameters
    ----------
    x
        Customers by metrics, higher is better; ``nan`` where a customer has no value.
    names
        The metrics' names.
    normalisation
        ``sum`` (the standard method, as published) or ``minmax``: each column is first
        rescaled to ``(x - min) / (max - min)``, then column-sum normalised. Min-max removes the
        level of a metric and keeps only its spread: a metric whose scores sit in 90..100 looks
        as uneven as one spread over 0..100 (and the lowest customer gets ``p = 0``).

    Raises
    ------
    FitError
        Negative values with ``sum`` normalisation, fewer than two customers, or no metric
        that varies.
    """
    arr, labels = _matrix(x, names)
    if normalisation not in NORMALISATIONS:
        raise FitError.single(Reason.BAD_PARAMETER, f"unknown normalisation `{normalisation}`",
                              "--normalisation", "use sum or minmax")
    problems = []
    d = np.zeros(arr.shape[1])
    e = np.ones(arr.shape[1])
    counts = (~np.isnan(arr)).sum(axis=0)
    for j, name in enumerate(labels):
        col = arr[~np.isnan(arr[:, j]), j]
        if normalisation == "sum" and (col < 0).any():
            problems.append(Problem(
                f"metric `{name}` has negative values; column-sum normalisation needs x >= 0",
                "", "use --normalisation minmax, or scores on 0..100", Reason.BAD_PARAMETER))
            continue
        if len(col) < 2:
            continue  # one customer or none: no spread to measure
        if normalisation == "minmax":
            col = _minmax(col)
        total = col.sum()
        if total <= 0:
            continue
        p = col / total
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(p > 0, p * np.log(p), 0.0)
        e[j] = -plogp.sum() / np.log(len(col))
        # an even column has e = 1 up to rounding: below 1e-12 is no information
        d[j] = 1.0 - e[j] if 1.0 - e[j] > 1e-12 else 0.0
    raise_if(problems, FitError)
    return _finish(f"entropy ({normalisation})", labels, d, {"entropy": e, "divergence": d},
                   counts)


def critic_weights(x: Any, names: Sequence[str] | None = None) -> ObjectiveWeights:
    """CRITIC weights: spread times conflict with the other metrics.

    Each metric is rescaled to ``(x - min) / (max - min)``; ``sigma_j`` is its (population)
    standard deviation, ``r_jk`` the Pearson correlation of metrics j and k over the customers
    that have both, ``c_j = sigma_j * sum_k (1 - r_jk)`` and ``w_j = c_j / sum_k c_k``. A
    metric that repeats another (r near 1) adds little; one that varies and disagrees adds much.

    Raises
    ------
    FitError
        When no metric varies.
    """
    arr, labels = _matrix(x, names)
    n = arr.shape[1]
    scaled = np.column_stack([_minmax(arr[:, j]) if np.isfinite(arr[:, j]).sum() else arr[:, j]
                              for j in range(n)])
    scaled[np.isnan(arr)] = np.nan
    sigma = np.array([np.nanstd(scaled[:, j]) if np.isfinite(scaled[:, j]).sum() > 1 else 0.0
                      for j in range(n)])
    corr = np.eye(n)
    for j in range(n):
        for k in range(j + 1, n):
            both = ~np.isnan(scaled[:, j]) & ~np.isnan(scaled[:, k])
            a, b = scaled[both, j], scaled[both, k]
            if both.sum() > 1 and a.std() > 0 and b.std() > 0:
                corr[j, k] = corr[k, j] = float(np.corrcoef(a, b)[0, 1])
            else:
                corr[j, k] = corr[k, j] = 0.0  # no joint spread: no evidence of redundancy
    conflict = (1.0 - corr).sum(axis=1)
    info = sigma * conflict
    counts = (~np.isnan(arr)).sum(axis=0)
    return _finish("CRITIC", labels, info,
                   {"sigma": sigma, "conflict": conflict, "information": info,
                    "correlation": corr}, counts)


#: a weight above this multiple of the uniform weight (1 / metrics) is checked for skew
SKEW_WEIGHT_RATIO = 2.0
#: without churn outcomes, a metric whose scores' skewness is beyond this (either sign) and
#: whose weight is above ``SKEW_WEIGHT_RATIO`` x uniform is cautioned on skew alone
SKEWED = 1.0


def skewness(col: Any) -> float:
    """The (population) skewness of the non-missing values: mean((x - m)^3) / sd^3; 0 if sd 0.

    By hand: [0, 0, 0, 10] has mean 2.5, deviations -2.5 (x3) and 7.5, sd sqrt(18.75) = 4.330,
    mean cube (3 x -15.625 + 421.875) / 4 = 93.75, skewness 93.75 / 81.19 = 1.155.
    """
    x = np.asarray(col, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return 0.0
    dev = x - x.mean()
    sd = float(np.sqrt(np.mean(dev ** 2)))
    return float(np.mean(dev ** 3) / sd ** 3) if sd > 0 else 0.0


def skew_cautions(found: ObjectiveWeights, x: Any,
                  aucs: dict[str, float | None] | None) -> list[dict[str, Any]]:
    """Weights driven by skew: above ``SKEW_WEIGHT_RATIO`` x the uniform weight on a metric...

    - with churn outcomes (``aucs``: each metric's own churn AUC), whose AUC is below the mean
      of the other metrics' AUCs: the weight rewards spread, not churn (``kind: auc``);
    - without them (``aucs`` is ``None``), whose scores' :func:`skewness` is beyond ``SKEWED``
      either way: the weight may reward spread only (``kind: skew``).

    Entropy and CRITIC weigh how much a metric's scores differ between customers; a skewed
    metric (most customers at one end, a few far away) differs a lot, whatever it says about
    churn.
    """
    arr = np.asarray(x, dtype=float)
    k = len(found.names)
    uniform = 1.0 / k if k else 0.0
    out = []
    for j, name in enumerate(found.names):
        w = float(found.weights[j])
        if k < 2 or w <= SKEW_WEIGHT_RATIO * uniform:
            continue
        sk = skewness(arr[:, j])
        row = {"metric": name, "weight": 100 * w, "uniform": 100 * uniform,
               "ratio": w / uniform, "skewness": sk}
        if aucs is not None:
            own = aucs.get(name)
            others = [v for n, v in aucs.items() if n != name and v is not None]
            if own is None or not others or own >= float(np.mean(others)):
                continue
            mean = float(np.mean(others))
            out.append({**row, "kind": "auc", "auc": own, "others_auc": mean, "message":
                        f"{name} gets {100 * w:.1f}% ({w / uniform:.1f}x the uniform "
                        f"{100 * uniform:.1f}%) from the spread of its scores (skewness "
                        f"{sk:+.2f}), yet ranks churners worse than the others (AUC {own:.3f} "
                        f"against {mean:.3f} on average): a weight driven by skew, not by "
                        "churn; check it with `crindex weights learn`"})
        elif abs(sk) > SKEWED:
            out.append({**row, "kind": "skew", "message":
                        f"{name} gets {100 * w:.1f}% ({w / uniform:.1f}x the uniform "
                        f"{100 * uniform:.1f}%) and its scores are skewed ({sk:+.2f}): the "
                        "weight may reward spread, not churn (no churn outcome to check it "
                        "against)"})
    return out


def score_matrix(result: Any) -> tuple[np.ndarray, list[str]]:
    """The ``<metric>__score`` columns of a scoring result: customers by metrics.

    Scores are taken as the model computes them: a value set by a missing-value policy
    (``zero``, ``neutral``) is part of the score and counts (a metric that is mostly a
    constant tells customers apart less); a metric left out by ``reweight`` is ``nan``.
    """
    names = [m.id for _, m in result.model.metrics]
    cols = [result.table.column(f"{name}__score").to_numpy(zero_copy_only=False).astype(float)
            for name in names]
    return np.column_stack(cols) if cols else np.empty((0, 0)), names
