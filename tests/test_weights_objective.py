"""Entropy and CRITIC weights: a published figure, hand-computed matrices, laws, the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from crindex.errors import FitError, Reason
from crindex.model.loader import load_model
from crindex.weights.objective import critic_weights, entropy_weights
from tests.test_weights_ahp import cli

ROOT = Path(__file__).resolve().parents[1]

XU = [[30, 30, 38, 29], [19, 54, 86, 29], [19, 15, 85, 28.9], [68, 70, 60, 29]]


def test_entropy_weights_of_xus_matrix():
    # Xu's published entropy weights (column-sum normalisation)
    got = entropy_weights(XU).weights
    assert got == pytest.approx([0.4630, 0.3992, 0.1378, 0.0000], abs=5e-5)


def test_minmax_variant_by_hand():
    # min-max first: [5,6,6] -> [0,1,1]; [10,10,20] -> [0,0,1]; [1,2,3] -> [0,.5,1]
    # column sums: p = [0,.5,.5], [0,0,1], [0,1/3,2/3]; ln 3 = 1.098612
    # e1 = ln 2 / ln 3 = 0.630930 -> d1 = 0.369070
    # e2 = 0 (all mass on one customer) -> d2 = 1
    # e3 = (1/3 ln 3 + 2/3 ln 1.5) / ln 3 = (0.366204 + 0.270310) / 1.098612 = 0.579380
    #   -> d3 = 0.420620; sum d = 1.789690
    x = [[5, 10, 1], [6, 10, 2], [6, 20, 3]]
    got = entropy_weights(x, normalisation="minmax")
    assert got.weights == pytest.approx([0.369070 / 1.789690, 1 / 1.789690,
                                         0.420620 / 1.789690], abs=1e-5)
    # column-sum normalisation keeps the level: [5,6,6] is nearly even, so it weighs little
    assert entropy_weights(x).weights[0] < 0.03 < got.weights[0] / 5


def test_minmax_removes_the_level_that_column_sums_keep():
    # Xu's fourth column (28.9..29) hardly varies relative to its level: no weight with sums,
    # but min-max stretches its 0.1 range to 0..1
    assert entropy_weights(XU).weights[3] < 1e-4
    assert entropy_weights(XU, normalisation="minmax").weights[3] > 0.1


def test_critic_by_hand():
    # min-max: a = [0, .5, 1], b = [0, 1, .5], c = [1, 0, 1]
    # sigma (population): a = b = sqrt(1/6) = 0.408248, c = sqrt(2/9) = 0.471405
    # r_ab = .25 / sqrt(.5 * .5) = .5; r_ac = 0; r_bc = -.5 / sqrt(.5 * 2/3) = -0.866025
    # c_a = 0.408248 * (0 + .5 + 1)         = 0.612372
    # c_b = 0.408248 * (.5 + 0 + 1.866025)  = 0.965926
    # c_c = 0.471405 * (1 + 1.866025 + 0)   = 1.351058;  total 2.929356
    got = critic_weights([[0, 0, 1], [1, 2, 0], [2, 1, 1]], ["a", "b", "c"])
    assert got.figures["sigma"] == pytest.approx([0.408248, 0.408248, 0.471405], abs=1e-6)
    assert got.figures["correlation"][1, 2] == pytest.approx(-math.sqrt(3) / 2)
    assert got.weights == pytest.approx([0.209048, 0.329740, 0.461212], abs=5e-6)


def test_missing_scores_leave_only_their_own_metric():
    x = np.array([[10, 1], [20, 2], [30, np.nan], [40, 5]], dtype=float)
    both = entropy_weights(x)
    alone = entropy_weights(x[[0, 1, 3]][:, [1]])
    assert both.counts.tolist() == [4, 3]
    # the second metric's entropy is that of its three values alone
    assert both.figures["entropy"][1] == pytest.approx(alone.figures["entropy"][0])


def test_no_spread_and_negative_values_are_clear_errors():
    with pytest.raises(FitError) as exc:
        entropy_weights([[50, 50], [50, 50], [50, 50]], ["nps", "recency"])
    assert exc.value.reason == Reason.FIT
    with pytest.raises(FitError, match="metric `b` has negative values"):
        entropy_weights([[1, -1], [2, 3]], ["a", "b"])
    assert entropy_weights([[1, -1], [2, 3]], normalisation="minmax").weights.sum() == 1
    with pytest.raises(FitError, match="no metric varies"):
        critic_weights([[1, 2], [1, 2]])


matrices = arrays(np.float64, st.tuples(st.integers(3, 30), st.integers(2, 6)),
                  elements=st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 2)))


@settings(max_examples=80, deadline=None)
@given(matrices, st.floats(0.5, 20))
def test_weights_are_a_distribution_and_do_not_depend_on_units(x, factor):
    if np.ptp(x, axis=0).max() < 1e-6 or (x.sum(axis=0) <= 0).all():
        return
    for fit in (lambda m: entropy_weights(m), lambda m: critic_weights(m)):
        try:
            w = fit(x).weights
        except FitError:
            continue
        assert w.sum() == pytest.approx(1.0)
        assert (w >= 0).all()
        # scaling every metric's values by a constant changes no weight
        assert fit(x * factor).weights == pytest.approx(w, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(matrices, st.floats(-50, 50))
def test_critic_ignores_shifts(x, shift):
    if np.ptp(x, axis=0).max() < 1e-6:
        return
    try:
        before = critic_weights(x).weights
    except FitError:  # e.g. every metric moves in lockstep (r = 1): no information at all
        with pytest.raises(FitError):
            critic_weights(x + shift)
        return
    assert critic_weights(x + shift).weights == pytest.approx(before, abs=1e-9)


@pytest.fixture(scope="module")
def world(ecommerce_world) -> Path:
    return ecommerce_world


def test_cli_entropy_on_scores_writes_a_model_that_loads(world, tmp_path):
    new = tmp_path / "entropy.yaml"
    result = CliRunner().invoke(cli(), [
        "weights", "entropy", "--model", str(ROOT / "examples" / "ecommerce.yaml"),
        "--data", str(world), "--as-of", "2024-12-31", "--write", str(new)])
    assert result.exit_code == 0, result.output
    assert "divergence" in result.output and "annual_spend" in result.output
    model = load_model(new)
    assert sum(m.weight for _, m in model.metrics) == 100


def test_cli_critic_json(world):
    import json

    result = CliRunner().invoke(cli(), [
        "weights", "critic", "--model", str(ROOT / "examples" / "ecommerce.yaml"),
        "--data", str(world), "--as-of", "2024-12-31", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["method"] == "CRITIC"
    weights = [m["weight"] for m in payload["metrics"].values()]
    assert sum(weights) == pytest.approx(100)
    assert sum(r["new_share"] for r in payload["diff"] if r["kind"] == "metric") == \
        pytest.approx(100)


# --------------------------------------------------------------------------------------------
# the caution: a weight driven by skew


def test_skewness_by_hand():
    from crindex.weights.objective import skewness

    # [0, 0, 0, 10]: mean 2.5, sd sqrt(18.75) = 4.3301, mean cube 93.75 -> 93.75 / 81.19
    assert skewness([0, 0, 0, 10, np.nan]) == pytest.approx(93.75 / 18.75 ** 1.5)
    assert skewness([5, 5, 5]) == 0.0


def test_a_skewed_metric_with_a_weaker_auc_gets_a_caution_and_a_fair_one_does_not():
    from crindex.weights.objective import skew_cautions

    # column a: 0 for 9 customers, 100 for 1 (skewness (1 - 2p) / sqrt(p(1-p)) = 0.8 / 0.3 =
    # 2.667 with p = 0.1); b and c spread evenly. Entropy gives a the most weight by far.
    a = np.array([0.0] * 9 + [100.0])
    b = np.linspace(10, 100, 10)
    c = np.linspace(100, 10, 10)
    x = np.column_stack([a, b, c])
    found = entropy_weights(x, ["a", "b", "c"])
    assert found.weights[0] > 2 / 3  # over twice the uniform 1/3
    (caution,) = skew_cautions(found, x, {"a": 0.55, "b": 0.8, "c": 0.7})
    assert caution["metric"] == "a" and caution["kind"] == "auc"
    assert caution["skewness"] == pytest.approx(0.8 / 0.3)
    assert caution["others_auc"] == pytest.approx(0.75)
    assert "a weight driven by skew, not by churn" in caution["message"]
    # the same weight on a metric that ranks churners better than the others: no caution
    assert skew_cautions(found, x, {"a": 0.9, "b": 0.8, "c": 0.7}) == []
    # no churn outcome: cautioned on its skew alone (2.667 > 1)
    (alone,) = skew_cautions(found, x, None)
    assert alone["kind"] == "skew" and "no churn outcome" in alone["message"]


def test_entropy_and_critic_print_the_caution_on_an_export(tmp_path):
    from tests.support.telco import MODEL, write_model, write_telco

    write_telco(tmp_path)
    # the internet service (no signal) as 100 for "No" (22% of customers), 0 otherwise: a
    # skewed 0/100 metric that entropy weighs most
    text = MODEL.replace("""        column: employees
        normalise: {method: range, min: 18, max: 118, direction: lower}""", """\
        column: industry
        normalise: {method: map, values: {"No": 100}, default: 0}""")
    assert text != MODEL
    model = write_model(tmp_path, text)
    result = CliRunner().invoke(cli(), ["weights", "entropy", "-m", str(model), "-d",
                                        str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "caution: charges gets " in flat and "a weight driven by skew, not by churn" in flat
    payload = result.stdout[result.stdout.index("{"):]
    import json

    report = json.loads(payload)
    (caution,) = report["cautions"]
    assert caution["metric"] == "charges" and caution["ratio"] > 2
    aucs = {k: v["churn_auc"] for k, v in report["metrics"].items()}
    assert aucs["charges"] < sum(v for k, v in aucs.items() if k != "charges") / 3
