"""K-means clusters as an alternative tiering (``clusters:`` in the model).

The customers' raw values of the chosen metrics (RFM, or any numeric metrics) are standardised
(mean 0, standard deviation 1 per metric; a missing value takes the metric's mean, 0 once
standardised; a constant metric stays 0), then clustered by k-means [1]_ (scikit-learn,
``n_init=10``, ``random_state=seed``: the same data and seed give the same clusters). Clusters
are ordered by their customers' mean score, best first (ties by size), and named by the
model's ``names``. The silhouette [2]_ says how well apart they are (-1..1; computed on at most
:data:`SILHOUETTE_SAMPLE` customers drawn with the seed). Only customers are clustered, never
the parent accounts of a hierarchy.

References
----------
.. [1] S. P. Lloyd, "Least squares quantization in PCM", IEEE Transactions on Information
   Theory 28(2), 1982; D. Arthur, S. Vassilvitskii, "k-means++: the advantages of careful
   seeding", SODA 2007.
.. [2] P. J. Rousseeuw, "Silhouettes: a graphical aid to the interpretation and validation of
   cluster analysis", Journal of Computational and Applied Mathematics 20, 1987.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from crindex.errors import DataError, NotFittedError, Reason
from crindex.model.spec import ClusterSpec

#: the column of a result naming each customer's cluster
CLUSTER_COLUMN = "cluster"
#: the silhouette is computed on at most this many customers (it costs n^2)
SILHOUETTE_SAMPLE = 5_000


class KMeansTiers:
    """K-means clusters of customers over standardised metrics, ordered by mean score.

    Parameters
    ----------
    spec
        The model's ``clusters:`` settings (metrics, k, seed, names).

    Attributes
    ----------
    means_, scales_ : numpy.ndarray
        The standardisation of each metric (its mean and standard deviation).
    centers_ : numpy.ndarray
        Cluster centres in standardised units, best cluster first.
    labels_ : list of str
        Each fitted customer's cluster name.
    sizes_, mean_scores_ : list
        Customers and mean score per cluster, best first.
    silhouette_ : float or None
        Mean silhouette (``None`` with fewer than k + 1 customers).
    """

    def __init__(self, spec: ClusterSpec):
        self.spec = spec

    def _matrix(self, raw: np.ndarray) -> np.ndarray:
        x = (raw - self.means_) / self.scales_
        return np.where(np.isnan(x), 0.0, x)

    def fit(self, raw: np.ndarray, scores: np.ndarray) -> KMeansTiers:
        """Fit on ``raw`` (customers x metrics, ``nan`` for missing) and their ``scores``.

        Raises
        ------
        DataError
            Fewer customers than clusters.
        """
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        raw = np.asarray(raw, dtype=float)
        n, k = raw.shape[0], self.spec.k
        if n < k:
            raise DataError.single(Reason.BAD_PARAMETER, f"{k} clusters need at least {k} "
                                   f"customers; {n} were scored", "clusters.k",
                                   "lower `k` or score more customers")
        with np.errstate(all="ignore"):
            means = np.nanmean(raw, axis=0)
            scales = np.nanstd(raw, axis=0)
        self.means_ = np.where(np.isnan(means), 0.0, means)
        self.scales_ = np.where(np.isnan(scales) | (scales == 0), 1.0, scales)
        x = self._matrix(raw)
        km = KMeans(n_clusters=k, n_init=10, random_state=self.spec.seed).fit(x)
        found = km.labels_
        scores = np.asarray(scores, dtype=float)
        stats = []
        for c in range(k):
            mine = scores[found == c]
            mine = mine[~np.isnan(mine)]
            stats.append((float(mine.mean()) if mine.size else -np.inf, int((found == c).sum()),
                          c))
        # best first: the higher mean score, then the larger cluster, then k-means' own order
        order = [c for _, _, c in sorted(stats, key=lambda s: (-s[0], -s[1], s[2]))]
        rank = {c: i for i, c in enumerate(order)}
        names = self.spec.labels
        self.centers_ = km.cluster_centers_[order]
        self.codes_ = np.array([rank[c] for c in found], dtype=int)
        self.labels_ = [names[i] for i in self.codes_]
        self.sizes_ = [stats[c][1] for c in order]
        self.mean_scores_ = [stats[c][0] if np.isfinite(stats[c][0]) else None for c in order]
        distinct = len(set(self.codes_.tolist()))
        if 2 <= distinct < n:
            self.silhouette_: float | None = float(silhouette_score(
                x, self.codes_, sample_size=min(n, SILHOUETTE_SAMPLE),
                random_state=self.spec.seed))
        else:
            self.silhouette_ = None
        return self

    def _check(self) -> None:
        if not hasattr(self, "centers_"):
            raise NotFittedError.single(Reason.NOT_FITTED, "KMeansTiers is not fitted",
                                        hint="call fit(raw, scores) first")

    def report(self) -> dict[str, Any]:
        """The clusters, best first: name, customers, mean score, centre; and the silhouette."""
        self._check()
        return {
            "on": list(self.spec.on), "k": self.spec.k, "seed": self.spec.seed,
            "silhouette": self.silhouette_,
            "clusters": [{"name": name, "customers": size, "mean_score": mean,
                          "center": dict(zip(self.spec.on, (float(v) for v in center),
                                             strict=True))}
                         for name, size, mean, center in zip(
                             self.spec.labels, self.sizes_, self.mean_scores_, self.centers_,
                             strict=True)],
        }


def cluster_result(spec: ClusterSpec, table: pa.Table) -> tuple[pa.Table, KMeansTiers]:
    """``table`` with a ``cluster`` column (customers only; parents get none) and the fit."""
    level = table.column("account_level").to_pylist() if "account_level" in \
        table.column_names else [0] * table.num_rows
    rows = [i for i, lv in enumerate(level) if lv == 0]
    raw = np.column_stack([
        np.asarray(table.column(f"{m}__raw").take(pa.array(rows, pa.int64()))
                   .cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
        for m in spec.on]) if rows else np.empty((0, len(spec.on)))
    scores = np.asarray(table.column("score").take(pa.array(rows, pa.int64()))
                        .cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    fit = KMeansTiers(spec).fit(raw, scores)
    names: list[str | None] = [None] * table.num_rows
    for i, name in zip(rows, fit.labels_, strict=True):
        names[i] = name
    return table.append_column(CLUSTER_COLUMN, pa.array(names, pa.string())), fit
