"""Every shipped example model scores a synthetic world of its kind, read from files as users do.

The e-commerce model must separate the customers who churn in the next 90 days (AUC >= 0.70),
and every example's tiers must fit its world: each tier holds customers, none more than half
(the bounds and thresholds were calibrated on these worlds; a second seed checks that they were
not fitted to one sample only).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.stats import rankdata

from crindex.api import score
from crindex.examples import example_path

AS_OF = dt.date(2025, 6, 30)
HORIZON = dt.timedelta(days=90)


@pytest.fixture(scope="module")
def worlds(ecommerce_world, b2b_world, saas_world) -> dict[str, Path]:
    """The shared synthetic worlds (tests/conftest.py), by profile."""
    return {"ecommerce": ecommerce_world, "b2b": b2b_world, "saas": saas_world}


def auc_retained_over_churned(scores: np.ndarray, churned: np.ndarray) -> float:
    """P(a retained customer outscores a churner), ties counting one half (Mann-Whitney)."""
    ranks = rankdata(scores)
    n_churn = churned.sum()
    n_keep = len(churned) - n_churn
    return float((ranks[~churned].sum() - n_keep * (n_keep + 1) / 2) / (n_keep * n_churn))


def test_auc_helper_by_hand():
    # retained 3, 5 vs churned 1, 3: pairs (3>1) (3=3: 1/2) (5>1) (5>3) -> 3.5 / 4
    assert auc_retained_over_churned(np.array([3.0, 5, 1, 3]),
                                     np.array([False, False, True, True])) == 0.875


def test_ecommerce_model_separates_the_customers_who_churn_in_the_next_90_days(worlds):
    result = score(example_path("ecommerce"), str(worlds["ecommerce"]), AS_OF)
    customers = pq.read_table(worlds["ecommerce"] / "customers.parquet").to_pandas()
    churn_day = {c: (None if pd.isna(t) else t.date())
                 for c, t in zip(customers.customer_id, customers.churned_at, strict=True)}
    ids = result.table.column("customer_id").to_pylist()
    churned = np.array([churn_day[c] is not None and AS_OF < churn_day[c] <= AS_OF + HORIZON
                        for c in ids])
    assert churned.sum() >= 20  # enough churners for the figure to mean something
    auc = auc_retained_over_churned(np.array(result.table.column("score").to_pylist()), churned)
    assert auc >= 0.70, auc
    counts = result.tier_counts()
    assert sum(counts.values()) == len(ids)
    assert len([n for n in counts.values() if n > 0]) >= 3


def test_b2b_model_scores_on_1_to_5_bins_with_chinese_labels(worlds):
    result = score(example_path("b2b"), str(worlds["b2b"]), AS_OF)
    table = result.table
    assert table.num_rows > 500
    for d in result.model.dimensions:
        for m in d.metrics:
            if m.normalise.method == "bins":
                # points / 5 x 100: only multiples of 20 can come out of a 1-5 bin
                scores = table.column(f"{m.id}__score").to_pylist()
                missing = table.column(f"{m.id}__missing").to_pylist()
                values = {v for v, gone in zip(scores, missing, strict=True) if not gone}
                assert values <= {20.0, 40.0, 60.0, 80.0, 100.0}, (m.id, values)
                # customers with no value get the metric's missing policy (zero here), no bin
                if m.missing.policy == "zero":
                    assert {v for v, gone in zip(scores, missing, strict=True) if gone} <= {0.0}
    ex = result.explain(table.column("customer_id")[0].as_py())
    assert [r.dimension for r in ex.rows][:2] == ["客户价值", "客户价值"]
    assert ex.rows[0].metric == "年采购金额"
    assert ex.tier_label in {"核心客户", "潜力客户", "普通客户", "风险客户"}
    assert abs(sum(r.weighted for r in ex.rows) - ex.score) < 1e-6


def test_saas_health_tiers_by_rank_share(worlds):
    result = score(example_path("saas_health"), str(worlds["saas"]), AS_OF)
    counts = result.tier_counts()
    n = sum(counts.values())
    scores = result.table.column("score").to_pylist()
    assert n > 500 and None not in scores
    # ties may only shrink a share: top 20% healthy, bottom 35% at risk
    assert 0.15 * n <= counts["healthy"] <= 0.20 * n
    assert 0.30 * n <= counts["at_risk"] <= 0.35 * n
    tiers = result.table.column("tier").to_pylist()
    worst_healthy = min(s for s, t in zip(scores, tiers, strict=True) if t == "healthy")
    best_steady = max(s for s, t in zip(scores, tiers, strict=True) if t == "steady")
    assert worst_healthy > best_steady


#: each example and the profile of the world it is written for
EXAMPLE_WORLDS = {"ecommerce": "ecommerce", "b2b": "b2b", "saas_health": "saas"}


def assert_tiers_fit(result) -> None:
    """Every tier holds customers, none more than half of the scored ones."""
    counts = result.tier_counts()
    n = sum(counts.values())
    assert n > 500
    for tier, count in counts.items():
        assert 0 < count <= n / 2, (result.model.name, tier, counts)


@pytest.mark.parametrize("example", list(EXAMPLE_WORLDS))
def test_every_tier_of_each_example_holds_customers_and_none_holds_half(example, worlds):
    assert_tiers_fit(score(example_path(example), str(worlds[EXAMPLE_WORLDS[example]]),
                           "2026-01-01"))


@pytest.mark.parametrize("example", list(EXAMPLE_WORLDS))
def test_the_tiers_fit_a_world_of_another_seed(example, tmp_path):
    from crindex.synth import generate
    from tests.conftest import WORLD, WORLD_AS_OF

    generate(profile=EXAMPLE_WORLDS[example], **{**WORLD, "seed": 11}, out=tmp_path,
             fmt="parquet", progress=False)
    assert_tiers_fit(score(example_path(example), str(tmp_path), WORLD_AS_OF))
