"""K-means tiers (crindex.engine.clusters): a planted 3-cluster world, seeds, the report."""

from __future__ import annotations

import numpy as np
import pytest

from crindex.api import score
from crindex.engine.clusters import KMeansTiers
from crindex.errors import DataError, ModelError
from crindex.model import parse_model
from crindex.model.spec import ClusterSpec
from tests.conftest import AS_OF, five_frames


def planted(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three groups of 60 customers around far-apart centres, on very different scales.

    (recency days, frequency, monetary): loyal (10, 20, 5000), casual (120, 5, 800),
    lapsed (400, 1, 50); spreads are a tenth of the gaps. Scores: loyal 80s, casual 50s,
    lapsed 20s. A few values are missing.
    """
    rng = np.random.default_rng(seed)
    centres = np.array([[400.0, 1.0, 50.0], [10.0, 20.0, 5000.0], [120.0, 5.0, 800.0]])
    spread = np.array([15.0, 0.5, 40.0])
    truth = np.repeat([0, 1, 2], 60)
    raw = centres[truth] + rng.normal(0, 1, (180, 3)) * spread
    scores = np.array([20.0, 85.0, 55.0])[truth] + rng.normal(0, 3, 180)
    raw[::37, 1] = np.nan  # missing frequencies take the mean
    return raw, scores, truth


SPEC = ClusterSpec(on=["recency", "frequency", "monetary"], k=3, seed=11,
                   names=["loyal", "casual", "lapsed"])


def test_the_planted_clusters_are_found_and_named_by_mean_score():
    raw, scores, truth = planted()
    fit = KMeansTiers(SPEC).fit(raw, scores)
    # every planted group is one cluster, named in score order (group 1 best, then 2, then 0)
    expected = np.array(["lapsed", "loyal", "casual"])[truth]
    assert fit.labels_ == expected.tolist()
    assert fit.sizes_ == [60, 60, 60]
    assert fit.mean_scores_[0] > fit.mean_scores_[1] > fit.mean_scores_[2]
    # far-apart, tight groups: close to the best silhouette of 1
    assert fit.silhouette_ is not None and fit.silhouette_ > 0.8
    report = fit.report()
    assert [c["name"] for c in report["clusters"]] == ["loyal", "casual", "lapsed"]
    # the loyal centre: far below the mean recency, far above the mean monetary
    assert report["clusters"][0]["center"]["recency"] < -0.5
    assert report["clusters"][0]["center"]["monetary"] > 0.5


def test_the_same_seed_gives_the_same_clusters_and_another_data_order_the_same_partition():
    raw, scores, _ = planted()
    first = KMeansTiers(SPEC).fit(raw, scores)
    again = KMeansTiers(SPEC).fit(raw, scores)
    assert first.labels_ == again.labels_
    np.testing.assert_array_equal(first.centers_, again.centers_)
    assert first.silhouette_ == again.silhouette_
    shuffled = np.random.default_rng(0).permutation(len(scores))
    other = KMeansTiers(SPEC).fit(raw[shuffled], scores[shuffled])
    assert other.labels_ == [first.labels_[i] for i in shuffled]


def test_fewer_customers_than_clusters_is_a_clear_error():
    with pytest.raises(DataError) as info:
        KMeansTiers(SPEC).fit(np.ones((2, 3)), np.array([1.0, 2.0]))
    assert "3 clusters need at least 3 customers" in str(info.value)


MODEL = """\
name: clustered
dimensions:
  - id: all
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 50, normalise: {method: percentile}}
      - {id: n_orders, aggregate: count, window: 365d, weight: 50, normalise: {method: identity}}
clusters:
  on: [spend, n_orders]
  k: 2
  seed: 5
  names: [high, low]
"""


def test_a_scoring_run_names_each_customers_cluster_and_reports_the_silhouette():
    from crindex.report.html import render_report
    from crindex.report.scoring import report_figures

    result = score(parse_model(MODEL), five_frames(), AS_OF)
    clusters = dict(zip(result.table.column("customer_id").to_pylist(),
                        result.table.column("cluster").to_pylist(), strict=True))
    # spend 1500, 300, 50, 0, 400 and orders 2, 2, 1, 0, 1: c1 stands apart; scores c1 51 is
    # the best, so its cluster is `high`
    assert clusters["c1"] == "high"
    assert set(clusters.values()) == {"high", "low"}
    figures = report_figures(result)
    assert figures["clusters"]["silhouette"] == pytest.approx(result.clusters.silhouette_)
    page = render_report(figures, "zh")
    assert "K 均值聚类分层" in page and "轮廓系数" in page


def test_clusters_name_metrics_of_the_model():
    with pytest.raises(ModelError) as info:
        parse_model(MODEL.replace("on: [spend, n_orders]", "on: [spend, recency]"))
    assert "`recency` is no metric of the model" in str(info.value)
    with pytest.raises(ModelError) as info:
        parse_model(MODEL.replace("names: [high, low]", "names: [a, b, c]"))
    assert "3 names for k = 2" in str(info.value)
