"""The figures of a backtest: does the score rank the customers who left, and the revenue.

Every function here is pure: arrays in, numbers or plain rows out. The convention throughout is
that a *higher* score means a *better* relationship, so the score predicts churn when churners
score *low*. The churn AUC and its interval are :func:`crindex.stats.churn_auc` and
:func:`crindex.stats.bootstrap_auc`, the AUC every part of crindex uses.

References
----------
.. [1] Yurdakul, B. (2018). Statistical properties of population stability index. PhD thesis,
   Western Michigan University (PSI = sum (a - e) ln(a / e)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from crindex.stats import scored_labels

#: Score bands of the calibration table and of the PSI: [0, 10), [10, 20), ..., [90, 100].
SCORE_EDGES: tuple[float, ...] = tuple(float(x) for x in range(0, 101, 10))
#: Share given to an empty PSI bin, so that ln(a / e) stays finite (a common convention).
PSI_FLOOR = 1e-4


def risk_deciles(scores: Any) -> np.ndarray:
    """Decile of each score, 1 = the lowest-scoring tenth (the riskiest), 10 = the highest.

    ``decile = ceil(10 r / n)`` with ``r`` the average rank (ascending) of the score among the
    ``n`` scores, so tied scores always share a decile (and deciles can be uneven when many tie).
    """
    s = np.asarray(scores, dtype=float)
    if s.size == 0:
        return np.zeros(0, dtype=int)
    r = rankdata(s)
    return np.clip(np.ceil(10.0 * r / s.size - 1e-9), 1, 10).astype(int)


def _rate(part: np.ndarray) -> float | None:
    return float(part.mean()) if part.size else None


def lift(scores: Any, churned: Any, share: float = 0.1) -> float | None:
    """Churn rate among the lowest-scoring ``share`` of customers, over the overall churn rate.

    A customer is in the lowest ``share`` when its average rank ``r`` satisfies
    ``r <= share * n`` (ties stay together, as in :func:`risk_deciles`: with ``share = 0.1``
    this is exactly decile 1). ``None`` when nobody churned.
    """
    s, y = scored_labels(scores, churned)
    base = _rate(y)
    if not base:
        return None
    r = rankdata(s)
    top = y[r <= share * s.size + 1e-9]
    if top.size == 0:
        return None
    return float(top.mean()) / base


def group_rows(groups: Any, order: Sequence[Any], churned: Any, revenue: Any,
               scores: Any | None = None) -> list[dict[str, Any]]:
    """Customers, churners, churn rate and revenue for each group, in ``order``.

    ``revenue`` is what each customer brought in the horizon; ``share_customers`` and
    ``share_revenue`` are the group's shares of the whole. A group of ``order`` with no customer
    gets a row with ``customers = 0`` and no rates.
    """
    g = np.asarray(groups, dtype=object)
    y = np.asarray(churned, dtype=bool)
    rev = np.asarray(revenue, dtype=float)
    sc = None if scores is None else np.asarray(scores, dtype=float)
    total_n = g.size or 1
    total_rev = float(rev.sum())
    rows = []
    for key in order:
        mask = g == key
        n = int(mask.sum())
        part_rev = float(rev[mask].sum())
        row: dict[str, Any] = {
            "group": key,
            "customers": n,
            "churned": int(y[mask].sum()),
            "churn_rate": _rate(y[mask]),
            "revenue": part_rev,
            "revenue_per_customer": part_rev / n if n else None,
            "share_customers": n / total_n,
            "share_revenue": part_rev / total_rev if total_rev else None,
        }
        if sc is not None:
            row["mean_score"] = float(sc[mask].mean()) if n else None
        rows.append(row)
    return rows


def decile_rows(scores: Any, churned: Any, revenue: Any) -> list[dict[str, Any]]:
    """Churn and revenue by :func:`risk_deciles` (1 = lowest scores).

    Each row also carries the decile's score range and lift (its churn rate over the overall).
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(churned, dtype=bool)
    deciles = risk_deciles(s)
    rows = group_rows(deciles, range(1, 11), y, revenue, s)
    base = _rate(y)
    for row in rows:
        mask = deciles == row["group"]
        row["decile"] = row.pop("group")
        row["min_score"] = float(s[mask].min()) if mask.any() else None
        row["max_score"] = float(s[mask].max()) if mask.any() else None
        row["lift"] = (row["churn_rate"] / base
                       if base and row["churn_rate"] is not None else None)
    return rows


def score_bands(scores: Any, edges: Sequence[float] = SCORE_EDGES) -> np.ndarray:
    """Index of the band ``[edges[i], edges[i+1])`` of each score; the last band is closed."""
    s = np.asarray(scores, dtype=float)
    inner = np.asarray(edges[1:-1], dtype=float)
    return np.searchsorted(inner, s, side="right")


def calibration_rows(scores: Any, churned: Any, revenue: Any,
                     edges: Sequence[float] = SCORE_EDGES) -> list[dict[str, Any]]:
    """Observed churn and revenue per score band: does what happened follow the score.

    A rule-based score is not a probability, so calibration here means the observed churn rate
    of each band of ten points, next to the band's mean score; a well-built score shows churn
    falling band after band. Bands without customers are kept (``customers = 0``).
    """
    s = np.asarray(scores, dtype=float)
    bands = score_bands(s, edges)
    rows = group_rows(bands, range(len(edges) - 1), churned, revenue, s)
    for row in rows:
        i = row.pop("group")
        row["band"] = f"{edges[i]:g}-{edges[i + 1]:g}"
        row["low"], row["high"] = float(edges[i]), float(edges[i + 1])
    return rows


def tier_order(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Check that churn falls strictly from each tier to the next better one.

    ``rows`` are :func:`group_rows` rows in the model's tier order, best tier first. A tier
    breaks the order (and is flagged) when

    - it churns as much as or more than the next worse non-empty tier (``kind: inversion``);
    - nobody is in it (``kind: empty``): churn cannot be seen to fall through a tier without
      customers, and a model whose scores never reach a tier has thresholds that do not fit.

    Two neighbouring tiers that both lost nobody are not ordered either (``kind: zero_tie``,
    also listed in ``zero_ties``): churn does not fall from one to the other, so the data
    cannot tell them apart (the horizon or the tiers are too small, or the thresholds split
    customers who behave alike).

    Returns
    -------
    dict
        ``ordered`` (no violation), ``violations`` (list of {tier, kind, next, churn_rate,
        next_churn_rate}), ``flagged`` (tier ids), ``zero_ties``, ``empty``.
    """
    present = [r for r in rows if r["customers"] > 0]
    violations: list[dict[str, Any]] = []
    zero_ties = []
    for better, worse in zip(present, present[1:], strict=False):
        b, w = better["churn_rate"], worse["churn_rate"]
        if b < w:
            continue
        kind = "inversion"
        if b == w == 0:
            zero_ties.append([better["group"], worse["group"]])
            kind = "zero_tie"
        violations.append({"tier": better["group"], "kind": kind, "next": worse["group"],
                           "churn_rate": b, "next_churn_rate": w})
    empty = [r["group"] for r in rows if r["customers"] == 0]
    violations += [{"tier": t, "kind": "empty", "next": None, "churn_rate": None,
                    "next_churn_rate": None} for t in empty]
    order = [r["group"] for r in rows]
    violations.sort(key=lambda v: order.index(v["tier"]))
    return {
        "ordered": not violations,
        "violations": violations,
        "flagged": [v["tier"] for v in violations],
        "zero_ties": zero_ties,
        "empty": empty,
    }


def band_shares(scores: Any, edges: Sequence[float] = SCORE_EDGES) -> np.ndarray:
    """Share of the scores in each band of ``edges`` (NaN scores left out)."""
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    counts = np.bincount(score_bands(s, edges), minlength=len(edges) - 1).astype(float)
    return counts / counts.sum() if counts.sum() else counts


def psi_from_shares(expected: Any, actual: Any, floor: float = PSI_FLOOR) -> float:
    """Population stability index of two distributions over the same bins [1]_.

    ``PSI = sum_i (a_i - e_i) ln(a_i / e_i)``; a share below ``floor`` is raised to it so an
    empty bin does not make the index infinite. Each term is >= 0, so PSI >= 0, and PSI is 0
    for identical distributions. Rule of thumb: < 0.1 stable, 0.1-0.25 some shift, > 0.25 a
    population that has changed.
    """
    e = np.maximum(np.asarray(expected, dtype=float), floor)
    a = np.maximum(np.asarray(actual, dtype=float), floor)
    if e.shape != a.shape:
        raise ValueError(f"PSI needs the same bins on both sides: {e.shape} vs {a.shape}")
    return float(np.sum((a - e) * np.log(a / e)))


def psi(expected_scores: Any, actual_scores: Any, edges: Sequence[float] = SCORE_EDGES,
        floor: float = PSI_FLOOR) -> float:
    """PSI between two samples of scores, binned by ``edges`` (bands of 10 points)."""
    return psi_from_shares(band_shares(expected_scores, edges), band_shares(actual_scores, edges),
                           floor)


def psi_label(value: float | None) -> str:
    """``stable`` (< 0.1), ``shift`` (0.1-0.25) or ``changed`` (>= 0.25)."""
    if value is None or math.isnan(value):
        return "-"
    return "stable" if value < 0.1 else ("shift" if value < 0.25 else "changed")
