"""The one rank-based AUC of crindex, its bootstrap interval, and strategy holdouts.

Convention: :func:`auc` is the textbook area under the ROC curve, ``P(score of a positive >
score of a negative)`` with ties counting 1/2 (the Mann-Whitney U statistic over ``n+ n-``
[1]_). crindex scores are *higher is better*, so a score predicts churn when churners score
*low*: :func:`churn_auc` is ``P(score of a churner < score of a non-churner)`` (ties 1/2), which
is :func:`auc` with the non-churners as the positives. Every figure called "churn AUC" in
backtests, learned weights and model comparisons is :func:`churn_auc`.

Both are computed from tie groups of the sorted scores: with ``P_g`` and ``N_g`` the positives
and negatives whose score is the g-th smallest distinct value,
``AUC = sum_g P_g (N_<g + N_g / 2) / (P N)`` — the mid-rank form of the rank-sum statistic. The
scores are sorted once; a bootstrap resample only counts how often each customer is drawn,
so it costs O(n) memory, never an n x B matrix [2]_.

References
----------
.. [1] Hanley, J. A. and McNeil, B. J. (1982). The meaning and use of the area under a receiver
   operating characteristic (ROC) curve. Radiology 143(1), 29-36 (AUC = Mann-Whitney U / n1 n0).
.. [2] Efron, B. and Tibshirani, R. (1993). An Introduction to the Bootstrap, ch. 13
   (percentile intervals).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def scored_labels(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Scores (float) and labels (bool) as 1-d arrays, the observations without a score left out.

    Raises
    ------
    ValueError
        When they are not 1-d and of equal length.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError("scores and labels must be 1-d and of equal length: "
                         f"{s.shape} vs {y.shape}")
    keep = ~np.isnan(s)
    return s[keep], y[keep]


#: a bootstrap resample of n observations draws its n indices this many at a time, so that
#: beyond the scores' own O(n) arrays it holds at most 8 MB of indices whatever n (the draws,
#: and so the intervals, are the same as drawing all n at once)
DRAW_CHUNK = 1 << 20

#: bootstrap resamples of an AUC interval unless told otherwise (``--bootstrap`` of backtest,
#: ``weights learn`` and ``compare``). Memory does not grow with it (one resample is counted at
#: a time); time does, by about 0.024 s per resample per million customers (docs/BENCHMARKS.md)
DEFAULT_BOOTSTRAP = 1000


class _Ranked:
    """Scores sorted once: each observation's tie group code ``2 g + label``."""

    def __init__(self, scores: np.ndarray, labels: np.ndarray):
        _, group = np.unique(scores, return_inverse=True)
        self.groups = int(group.max()) + 1 if group.size else 0
        self.code = group.astype(np.int64) * 2 + labels.astype(np.int64)

    def counts(self, draws: np.ndarray | None = None) -> np.ndarray:
        """Negatives and positives per tie group among ``draws`` (default: all once)."""
        codes = self.code if draws is None else self.code[draws]
        return np.bincount(codes, minlength=2 * self.groups)

    def auc(self, draws: np.ndarray | None = None) -> float | None:
        """AUC of the observations ``draws`` (indices, repeats allowed; default: all once)."""
        return _auc_of_counts(self.counts(draws))


def _auc_of_counts(counts: np.ndarray) -> float | None:
    """The mid-rank AUC from ``counts`` (negatives, positives) per tie group, in score order."""
    pairs = counts.reshape(-1, 2)
    neg, pos = pairs[:, 0].astype(float), pairs[:, 1].astype(float)
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos == 0 or n_neg == 0:
        return None
    below = np.cumsum(neg) - neg  # negatives strictly below each group
    return float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))


def auc(scores: Any, labels: Any) -> float | None:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties count 1/2.

    NaN scores are left out. ``None`` when either class is empty (the AUC is undefined).

    Raises
    ------
    ValueError
        When ``scores`` and ``labels`` are not 1-d arrays of equal length.
    """
    s, y = scored_labels(scores, labels)
    return _Ranked(s, y).auc()


def churn_auc(scores: Any, churned: Any) -> float | None:
    """How well a low score predicts churn: P(churner scores below a non-churner), ties 1/2.

    :func:`auc` with the non-churners as the positives (equal to ``auc(-scores, churned)``).
    """
    return auc(scores, ~np.asarray(churned, dtype=bool))


#: how many :func:`auc_null_sd` an AUC must lie below 0.5 to read its data backwards; closer
#: to 0.5 than that, a score carries no signal either way (the backtest and ``weights learn``)
NOISE_SD = 2.0


def auc_noise(n_pos: int, n_neg: int) -> float:
    """``NOISE_SD`` null standard deviations: how far from 0.5 an AUC of no signal may stray."""
    sd = auc_null_sd(n_pos, n_neg)
    return NOISE_SD * sd if sd is not None else 0.0


def auc_null_sd(n_pos: int, n_neg: int) -> float | None:
    """Standard deviation of the AUC of a score with no signal (untied Mann-Whitney null).

    ``sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg))``: the AUC is ``U / (n_pos n_neg)`` and
    ``Var U = n_pos n_neg (n_pos + n_neg + 1) / 12`` under no difference between the classes.
    150 churners and 450 stayers give 0.0272. ``None`` when a class is empty.
    """
    if n_pos <= 0 or n_neg <= 0:
        return None
    return math.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))


@dataclass(frozen=True)
class Interval:
    """An AUC (or a difference of AUCs) with its percentile bootstrap interval.

    ``value`` is ``None`` when the AUC is undefined; ``low``/``high`` are ``None`` without a
    resample that holds both classes. ``used`` counts the resamples that did, of ``n_boot``.
    """

    value: float | None
    low: float | None
    high: float | None
    level: float = 0.95
    n_boot: int = 0
    used: int = 0

    def __str__(self) -> str:
        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.3f}"

        return f"{fmt(self.value)} [{fmt(self.low)}, {fmt(self.high)}]"


def bootstrap_auc(scores: Mapping[str, Any], labels: Any, *,
                  n_boot: int = DEFAULT_BOOTSTRAP, level: float = 0.95, seed: int = 0,
                  differences: Sequence[tuple[str, str]] = (),
                  draw_chunk: int = DRAW_CHUNK) -> dict[str, Interval]:
    """:func:`auc` of each score with paired percentile bootstrap intervals [2]_.

    The observations are resampled with replacement ``n_boot`` times; every score is measured
    on the same resamples, so ``differences`` (pairs ``(a, b)``, reported as ``"a - b"``) get
    paired intervals. A resample with one class only has no AUC and is left out (``used`` says
    how many counted). Rows where any score is NaN are left out first. Seeded: the same inputs
    give the same intervals. Memory is O(n) per score whatever ``n_boot``: a resample's indices
    are drawn ``draw_chunk`` at a time and counted per tie group as they come (the chunk
    changes the memory held, never the draws or the intervals).

    Parameters
    ----------
    scores
        Name -> scores, all of the length of ``labels``.
    labels
        The positives (True) whose scores should be *higher*; for churn with a higher-is-better
        score pass the non-churners (``~churned``), as :func:`churn_auc` does.

    Returns
    -------
    dict
        Name (and ``"a - b"``) -> :class:`Interval`.
    """
    y = np.asarray(labels, dtype=bool)
    arrays = {k: np.asarray(v, dtype=float) for k, v in scores.items()}
    for name, s in arrays.items():
        if s.shape != y.shape or s.ndim != 1:
            raise ValueError(f"scores {name!r} and labels must be 1-d and of equal length: "
                             f"{s.shape} vs {y.shape}")
    keep = np.logical_and.reduce([~np.isnan(s) for s in arrays.values()] + [np.ones_like(y)])
    y = y[keep]
    ranked = {k: _Ranked(s[keep], y) for k, s in arrays.items()}
    points = {k: r.auc() for k, r in ranked.items()}
    n = int(y.size)
    draws: dict[str, list[float]] = {k: [] for k in ranked}
    rng = np.random.default_rng(seed)
    defined = n > 0 and all(v is not None for v in points.values())
    for _ in range(n_boot if defined else 0):
        # one resample, its n draws taken DRAW_CHUNK at a time and counted per tie group
        counts = {k: np.zeros(2 * r.groups, dtype=np.int64) for k, r in ranked.items()}
        for start in range(0, n, draw_chunk):
            idx = rng.integers(0, n, size=min(draw_chunk, n - start))
            for k, r in ranked.items():
                counts[k] += r.counts(idx)
        values = {k: _auc_of_counts(c) for k, c in counts.items()}
        if any(v is None for v in values.values()):
            continue  # one class only: same for every score, the labels are shared
        for k, v in values.items():
            draws[k].append(v)  # type: ignore[arg-type]
    alpha = (1.0 - level) / 2.0

    def interval(value: float | None, sample: np.ndarray) -> Interval:
        if not sample.size:
            return Interval(value, None, None, level, n_boot, 0)
        low, high = np.quantile(sample, [alpha, 1.0 - alpha])
        return Interval(value, float(low), float(high), level, n_boot, int(sample.size))

    stacked = {k: np.asarray(v, dtype=float) for k, v in draws.items()}
    out = {k: interval(points[k], stacked[k]) for k in ranked}
    for a, b in differences:
        pa, pb = points[a], points[b]
        out[f"{a} - {b}"] = interval(None if pa is None or pb is None else pa - pb,
                                     stacked[a] - stacked[b])
    return out


def stratified_holdout(ids: Sequence[Any], labels: Any, share: float, seed: int = 0
                       ) -> np.ndarray:
    """Which observations are held out: a seeded share of each label, drawn apart.

    The observations are put in the order of their ids (so the split does not depend on the
    order of the rows in a file); then, for each label value with ``n_c`` observations,
    ``round(share * n_c)`` of them are drawn without replacement by a generator seeded with
    ``seed``. Both labels keep their share in the holdout: with ``h`` held out, the holdout's
    positive share differs from the whole's by at most ``1 / (2 h)``. The same ids, labels,
    share and seed always give the same split (the backtest and the weight learner hold out the
    same customers).

    Returns
    -------
    numpy.ndarray
        Booleans in the order of ``ids``: True for a held-out observation.

    Raises
    ------
    ValueError
        When ``share`` is not strictly between 0 and 1, or ids and labels differ in length.
    """
    y = np.asarray(labels, dtype=bool)
    if y.shape != (len(ids),):
        raise ValueError(f"ids and labels must be of equal length: {len(ids)} vs {y.shape}")
    if not 0.0 < share < 1.0:
        raise ValueError(f"the holdout share must be between 0 and 1, got {share}")
    order = np.argsort(np.asarray([str(i) for i in ids], dtype=object), kind="stable")
    rng = np.random.default_rng(seed)
    held = np.zeros(y.size, dtype=bool)
    for value in (False, True):
        members = order[y[order] == value]
        take = int(np.floor(share * members.size + 0.5))
        held[rng.permutation(members)[:take]] = True
    return held


# --------------------------------------------------------------------------------------------
# strategy holdouts and their uplift


def holdout_draw(customer_id: Any, seed: int = 0) -> float:
    """A customer's uniform draw in [0, 1), from a hash of the seed and the id.

    The same id and seed give the same draw on every run, machine and engine, and the draw
    does not depend on the other customers: a customer stays in (or out of) a holdout while
    the share and the seed stay, whoever else joins. SHA-256 of ``"<seed>:<id>"``, its first
    8 bytes read as an integer over 2**64.
    """
    import hashlib

    digest = hashlib.sha256(f"{seed}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


#: the values of ``strategy_group``: the customer gets the tier's strategy, or is held out
TREATED, HELD_OUT = "treated", "holdout"


def strategy_groups(ids: Sequence[Any], tiers: Sequence[str | None],
                    holdouts: Mapping[str, tuple[float, int]]) -> list[str | None]:
    """Each customer's group under their tier's holdout: ``treated``, ``holdout`` or ``None``.

    ``holdouts`` maps a tier id to its (share, seed); a customer of a tier without a holdout
    (or without a tier) is in no group.
    """
    out: list[str | None] = []
    for cid, tier in zip(ids, tiers, strict=True):
        spec = holdouts.get(tier) if tier is not None else None
        if spec is None:
            out.append(None)
        else:
            out.append(HELD_OUT if holdout_draw(cid, spec[1]) < spec[0] else TREATED)
    return out


def bootstrap_difference(treated: Any, holdout: Any, *, n_boot: int = 1000,
                         level: float = 0.95, seed: int = 0) -> Interval:
    """Mean of ``treated`` minus mean of ``holdout``, with a percentile bootstrap interval.

    The two groups are resampled apart (each with replacement, at its own size) ``n_boot``
    times [2]_. For a yes/no outcome (retained) the means are rates, and the difference is the
    uplift in points of rate. NaNs are left out; ``value`` is ``None`` when a group is empty.
    """
    a = np.asarray(treated, dtype=float)
    b = np.asarray(holdout, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if not a.size or not b.size:
        return Interval(None, None, None, level, n_boot, 0)
    value = float(a.mean() - b.mean())
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for k in range(n_boot):  # O(n) memory whatever n_boot
        diffs[k] = a[rng.integers(0, a.size, a.size)].mean() \
            - b[rng.integers(0, b.size, b.size)].mean()
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(diffs, [alpha, 1.0 - alpha])
    return Interval(value, float(low), float(high), level, n_boot, n_boot)
