"""Laws every model obeys, checked with hypothesis on the real DuckDB engine.

- a normalised score stays in 0..100;
- a better raw value never gets a lower score (direction ``higher``);
- contributions sum to the score, and the engine agrees with the plain-Python definition
  of the arithmetic (:func:`crindex.model.arithmetic.combine`) for any weights and policies.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crindex.api import score
from crindex.model import parse_model
from crindex.model.arithmetic import combine

AS_OF = dt.date(2025, 6, 30)
SETTINGS = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

NORMALISERS = [
    "{method: range, min: -50, max: 250}",
    "{method: log_range, min: 0, max: 5000}",
    "{method: percentile}",
    "{method: bins, out_of: 5, bins: [{min: 100, points: 5}, {min: 10, points: 3}, {points: 1}]}",
    "{method: points, per: 20, points: 1, base: 0.5, cap: 8}",
    "{method: zscore, clip: 2.5}",
    "{method: identity}",
]

raw_values = st.lists(
    st.one_of(st.none(), st.floats(min_value=-1e4, max_value=1e6, allow_nan=False)),
    min_size=1, max_size=12,
)


def employees_world(values: list[float | None]) -> dict[str, pd.DataFrame]:
    return {"customers": pd.DataFrame({
        "customer_id": [f"c{i:02d}" for i in range(len(values))],
        "employees": pd.array(values, dtype="Float64"),
    })}


def one_metric(normaliser: str) -> str:
    return f"""
name: p
dimensions:
  - id: d
    metrics:
      - {{id: m, aggregate: attribute, column: employees, weight: 100, normalise: {normaliser}}}
"""


@pytest.mark.parametrize("normaliser", NORMALISERS)
@SETTINGS
@given(values=raw_values)
def test_scores_stay_in_range_and_never_fall_as_raw_rises(normaliser, values):
    result = score(parse_model(one_metric(normaliser)), employees_world(values), AS_OF)
    rows = result.table.select(["m__raw", "m__score", "score"]).to_pylist()
    present = [(r["m__raw"], r["m__score"]) for r in rows if r["m__raw"] is not None]
    for r in rows:
        for key in ("m__score", "score"):
            if r[key] is not None:
                assert -1e-9 <= r[key] <= 100 + 1e-9
    present.sort(key=lambda p: p[0])
    for (raw_a, score_a), (raw_b, score_b) in zip(present, present[1:], strict=False):
        assert raw_a <= raw_b
        assert score_a <= score_b + 1e-9, (normaliser, raw_a, score_a, raw_b, score_b)


@st.composite
def models_and_scores(draw):
    n_metrics = draw(st.integers(1, 5))
    n_dims = draw(st.integers(1, n_metrics))
    flat = draw(st.booleans())
    dim_of = [i % n_dims for i in range(n_metrics)]

    def split_100(k):
        cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=k - 1, max_size=k - 1)))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
        return parts

    policies = [draw(st.sampled_from(["zero", "reweight", "neutral"])) for _ in range(n_metrics)]
    neutral = [draw(st.integers(0, 100)) for _ in range(n_metrics)]
    if flat:
        metric_w = split_100(n_metrics)
        dim_w = [None] * n_dims
    else:
        dim_w = split_100(n_dims)
        metric_w = [0] * n_metrics
        for d in range(n_dims):
            members = [i for i in range(n_metrics) if dim_of[i] == d]
            for i, w in zip(members, split_100(len(members)), strict=True):
                metric_w[i] = w
    lines = ["name: prop", "dimensions:"]
    for d in range(n_dims):
        lines.append(f"  - id: d{d}")
        if dim_w[d] is not None:
            lines.append(f"    weight: {dim_w[d]}")
        lines.append("    metrics:")
        for i in range(n_metrics):
            if dim_of[i] != d:
                continue
            lines.append(
                f"      - {{id: m{i}, aggregate: mean, table: interactions, column: value, "
                f"kind: k{i}, window: all, weight: {metric_w[i]}, "
                f"normalise: {{method: identity}}, "
                f"missing: {{policy: {policies[i]}, score: {neutral[i]}}}}}")
    n_customers = draw(st.integers(1, 6))
    scores = [[draw(st.one_of(st.none(), st.floats(0, 100, allow_nan=False)))
               for _ in range(n_metrics)] for _ in range(n_customers)]
    return "\n".join(lines), scores


@SETTINGS
@given(case=models_and_scores())
def test_engine_agrees_with_the_arithmetic_and_contributions_sum(case):
    text, scores = case
    model = parse_model(text)
    customers = [f"c{j}" for j in range(len(scores))]
    rows = [(customers[j], f"k{i}", s) for j, row in enumerate(scores)
            for i, s in enumerate(row) if s is not None]
    interactions = pd.DataFrame({
        "customer_id": [r[0] for r in rows] or pd.Series([], dtype=str),
        "kind": [r[1] for r in rows] or pd.Series([], dtype=str),
        "value": [r[2] for r in rows] or pd.Series([], dtype=float),
        "occurred_at": [pd.Timestamp("2025-06-01")] * len(rows) or pd.Series([], dtype="M8[ns]"),
    })
    # interaction kinds k0, k1, ... are not the usual ones: this law is about the arithmetic,
    # so the data checks are skipped
    result = score(model, {"customers": pd.DataFrame({"customer_id": customers}),
                           "interactions": interactions}, AS_OF, checks=False)
    got = {r["customer_id"]: r for r in result.table.to_pylist()}
    metric_ids = [m.id for _, m in model.metrics]
    for j, cid in enumerate(customers):
        expected = combine(model, {f"m{i}": s for i, s in enumerate(scores[j])})
        row = got[cid]
        if expected.score is None:
            assert row["score"] is None
            continue
        assert row["score"] == pytest.approx(expected.score, abs=1e-5)
        assert 0 <= row["score"] <= 100
        contributions = [row[f"{m}__contribution"] for m in metric_ids]
        assert sum(contributions) == pytest.approx(row["score"], abs=1e-5)
        for m in metric_ids:
            assert row[f"{m}__weight"] == pytest.approx(expected.weights[m], abs=1e-6)
        assert row["coverage"] == pytest.approx(expected.coverage, abs=1e-6)
