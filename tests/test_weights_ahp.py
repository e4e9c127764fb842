"""AHP: published figures (Saaty), Harker's incomplete matrices, refusals, the file format."""

from __future__ import annotations

import difflib
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from crindex.errors import FitError, ModelError, Reason
from crindex.model.loader import load_model
from crindex.weights.ahp import (
    RANDOM_INDEX,
    ahp,
    model_weights,
    parse_ahp,
    snap_to_scale,
    solve,
)
from crindex.weights.commands import register
from crindex.weights.rewrite import WeightSet, rewritten_model, round_preserving_sum

ROOT = Path(__file__).resolve().parents[1]
ECOMMERCE = ROOT / "examples" / "ecommerce.yaml"
B2B = ROOT / "examples" / "b2b.yaml"

DRINKS = ["coffee", "wine", "tea", "beer", "soda", "milk", "water"]
# Saaty (2008), relative consumption of drinks in the US: upper triangle, row over column
DRINK_UPPER = {
    "coffee": [9, 5, 2, 1, 1, "1/2"],
    "wine": ["1/3", "1/9", "1/9", "1/9", "1/9"],
    "tea": ["1/3", "1/4", "1/3", "1/9"],
    "beer": ["1/2", 1, "1/3"],
    "soda": [2, "1/2"],
    "milk": ["1/3"],
}


def drinks_yaml() -> str:
    lines = ["comparisons:"]
    for i, row in enumerate(DRINKS[:-1]):
        for k, value in enumerate(DRINK_UPPER[row]):
            lines.append(f"  {row}/{DRINKS[i + 1 + k]}: {value}")
    return "\n".join(lines) + "\n"


def test_saaty_drink_consumption_example():
    res = solve(parse_ahp(drinks_yaml(), "drinks.yaml")).top
    published = {"water": 0.327, "soda": 0.190, "coffee": 0.177, "milk": 0.129, "beer": 0.116,
                 "tea": 0.042, "wine": 0.019}
    got = res.weight_of()
    assert res.items == DRINKS
    for drink, weight in published.items():
        assert got[drink] == pytest.approx(weight, abs=5e-4), drink
    assert res.lambda_max == pytest.approx(7.177, abs=5e-4)
    assert res.ri == 1.32
    assert res.cr == pytest.approx(0.022, abs=5e-4)
    assert res.ci == pytest.approx((res.lambda_max - 7) / 6)


def test_perfectly_consistent_matrix_gives_4_2_1_sevenths():
    res = solve(parse_ahp("comparisons: {A/B: 2, A/C: 4, B/C: 2}\n")).top
    assert res.weights == pytest.approx([4 / 7, 2 / 7, 1 / 7], abs=1e-12)
    assert res.lambda_max == pytest.approx(3.0, abs=1e-12)
    assert res.cr == pytest.approx(0.0, abs=1e-12)


def test_random_indices_are_saatys():
    assert [RANDOM_INDEX[n] for n in range(3, 11)] == [0.58, 0.90, 1.12, 1.24, 1.32, 1.41,
                                                       1.45, 1.49]


def test_harker_incomplete_matrix_by_hand():
    # A/B 2, B/C 2, A/C not compared. Harker: a_AC = a_CA = 0 and rows A and C get +1 on the
    # diagonal: [[2, 2, 0], [1/2, 1, 2], [0, 1/2, 2]] x (4, 2, 1) = (12, 6, 3) = 3 x (4, 2, 1),
    # so the weights are 4/7, 2/7, 1/7 and lambda_max = 3 = n: consistent.
    res = ahp([[1, 2, None], [None, 1, 2], [None, None, 1]], ["A", "B", "C"])
    assert res.missing == 1
    assert res.weights == pytest.approx([4 / 7, 2 / 7, 1 / 7], abs=1e-12)
    assert res.lambda_max == pytest.approx(3.0, abs=1e-12)
    assert res.cr == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(1.0, 3.0), min_size=3, max_size=8),
    drop=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_consistent_matrices_with_missing_pairs_give_back_their_weights(weights, drop):
    # a_ij = w_i / w_j is perfectly consistent (ratios stay within 1/3..3, on the scale);
    # removing pairs that keep the chain A-B-C-... intact must not change the weights.
    n = len(weights)
    w = np.array(weights)
    m = (w[:, None] / w[None, :]).astype(float)
    optional = [(i, j) for i in range(n) for j in range(i + 2, n)]
    for k in drop:
        if optional:
            i, j = optional[k % len(optional)]
            m[i, j] = m[j, i] = np.nan
    res = ahp(m)
    assert res.weights == pytest.approx(w / w.sum(), rel=1e-9)
    assert res.cr == pytest.approx(0.0, abs=1e-9)


SCALE = [float(Fraction(1, k)) for k in range(9, 1, -1)] + [float(k) for k in range(1, 10)]


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 9).flatmap(
    lambda n: st.lists(st.sampled_from(SCALE), min_size=n * (n - 1) // 2,
                       max_size=n * (n - 1) // 2)))
def test_any_reciprocal_matrix_gives_positive_weights_and_lambda_at_least_n(upper):
    n = int(round((1 + math.sqrt(1 + 8 * len(upper))) / 2))
    m = np.ones((n, n))
    it = iter(upper)
    for i in range(n):
        for j in range(i + 1, n):
            m[i, j] = next(it)
            m[j, i] = 1 / m[i, j]
    res = ahp(m)
    assert res.weights.sum() == pytest.approx(1.0)
    assert (res.weights > 0).all()
    assert res.lambda_max >= n - 1e-9  # Perron: lambda_max >= n for positive reciprocal
    assert res.cr >= -1e-12


INCONSISTENT = """\
# one judgement contradicts the rest
comparisons:
  A/B: 2
  A/C: 4
  A/D: 8
  B/C: 2
  B/D: 4
  C/D: 1/7
"""


def test_inconsistent_matrix_is_refused_naming_the_comparison_and_a_consistent_value():
    # the other five judgements are those of weights 8:4:2:1, so they imply C/D = 2
    with pytest.raises(FitError) as exc:
        solve(parse_ahp(INCONSISTENT, "judgements.yaml"))
    assert exc.value.reason == Reason.INCONSISTENT
    problem = exc.value.problems[0]
    assert problem.where == "judgements.yaml:8"
    assert "CR 0.361 >= 0.10" in problem.message
    assert "`C/D: 1/7`" in problem.hint
    assert "on Saaty's scale 2 (CR would be 0.000)" in problem.hint
    res = ahp(parse_ahp(INCONSISTENT).top.matrix, list("ABCD"))
    tip = res.most_inconsistent()
    assert (tip.row, tip.column, tip.snapped) == ("C", "D", Fraction(2))


def test_saaty_drinks_name_their_worst_judgement_without_refusing():
    res = solve(parse_ahp(drinks_yaml())).top
    assert res.consistent
    worst = res.most_inconsistent()
    errors = res.errors()
    i, j = DRINKS.index(worst.row), DRINKS.index(worst.column)
    assert errors[i, j] == pytest.approx(np.nanmax(errors))


def test_snap_to_scale():
    assert snap_to_scale(2.63) == 3
    assert snap_to_scale(0.3) == Fraction(1, 3)
    assert snap_to_scale(40) == 9
    assert snap_to_scale(1.3) == 1


def test_matrix_that_is_not_reciprocal_is_an_error_with_its_line():
    text = "items: [a, b, c]\nmatrix:\n  - [1, 3, 1/2]\n  - [3, 1, 2]\n  - [2, 1/2, 1]\n"
    with pytest.raises(ModelError) as exc:
        solve(parse_ahp(text, "m.yaml"))
    assert exc.value.reason == Reason.BAD_PARAMETER
    (problem,) = exc.value.problems
    assert "not reciprocal: a/b is 3 but b/a is 3" in problem.message
    assert problem.where == "m.yaml:4"
    assert "set b/a to 1/3" in problem.hint


def test_values_off_saatys_scale_are_errors_each_with_its_line():
    text = "comparisons:\n  a/b: 12\n  a/c: 0.05\n  b/c: 2\n"
    with pytest.raises(ModelError) as exc:
        solve(parse_ahp(text, "s.yaml"))
    wheres = {p.where: p.message for p in exc.value.problems}
    assert set(wheres) == {"s.yaml:2", "s.yaml:3"}
    assert "a/b is 12, outside Saaty's scale 1/9 .. 9" in wheres["s.yaml:2"]


def test_bad_values_and_keys_are_all_reported_at_once():
    text = "comparisons:\n  a/b: lots\n  a-b: 3\n  a/a: 2\n  b/c: -1\nextra: 1\n"
    with pytest.raises(ModelError) as exc:
        parse_ahp(text, "bad.yaml")
    wheres = sorted(p.where for p in exc.value.problems)
    assert wheres == ["bad.yaml:2", "bad.yaml:3", "bad.yaml:4", "bad.yaml:5", "bad.yaml:6"]


def test_both_sides_given_must_agree_and_may_be_given():
    ok = solve(parse_ahp("comparisons: {a/b: 3, b/a: 1/3, b/c: 1}\n")).top
    assert ok.weight_of()["a"] == pytest.approx(0.6)
    with pytest.raises(ModelError, match="not reciprocal"):
        solve(parse_ahp("comparisons: {a/b: 3, b/a: 3, b/c: 1}\n"))


def test_items_no_chain_of_comparisons_links_are_an_error():
    with pytest.raises(ModelError, match="c, d are not linked"):
        solve(parse_ahp("comparisons: {a/b: 3, c/d: 2}\n"))


def test_diagonal_must_be_one_and_at_most_ten_items():
    with pytest.raises(ModelError, match="compared with itself is 1"):
        ahp([[2, 1], [1, 1]], ["a", "b"])
    with pytest.raises(ModelError, match="at most 10"):
        ahp(np.ones((11, 11)))


ECOMMERCE_AHP = """\
dimensions:
  comparisons:
    value/loyalty: 2
    value/engagement: 4
    loyalty/engagement: 2
metrics:
  value:
    comparisons: {annual_spend/recency: 1/2}
  engagement:
    comparisons:
      email_open_rate/support_satisfaction: 1/3
"""


def test_hierarchy_gives_each_metric_its_share_of_the_total():
    model = load_model(ECOMMERCE)
    solution = solve(parse_ahp(ECOMMERCE_AHP))
    weights, notes = model_weights(solution, model)
    # dimensions 4/7, 2/7, 1/7; value split 1/3, 2/3; engagement 1/4, 3/4; loyalty has one
    overall = weights.overall()
    assert overall["annual_spend"] == pytest.approx(100 * 4 / 7 / 3)
    assert overall["recency"] == pytest.approx(100 * 4 / 7 * 2 / 3)
    assert overall["nps"] == pytest.approx(100 * 2 / 7)
    assert overall["email_open_rate"] == pytest.approx(100 / 7 / 4)
    assert overall["support_satisfaction"] == pytest.approx(100 / 7 * 3 / 4)
    assert notes == []
    # without the model, a dimension with no metric comparisons stays one entry
    assert solution.overall()["loyalty"] == pytest.approx(overall["nps"])


def test_written_model_keeps_everything_but_the_weights():
    model = load_model(ECOMMERCE)
    weights, _ = model_weights(solve(parse_ahp(ECOMMERCE_AHP)), model)
    new = rewritten_model(model, weights)  # the model's own style: flat
    changed = [line for line in difflib.ndiff(model.text.splitlines(), new.text.splitlines())
               if line[:2] in ("- ", "+ ")]
    assert changed and all("weight:" in line for line in changed)
    # overall 19.05, 38.10, 28.57, 3.57, 10.71 -> floors 19+38+28+3+10 = 98; the two largest
    # remainders (.71 support, .57 nps/e-mail) get the missing 2 points
    got = {m.id: m.weight for _, m in new.model.metrics}
    assert sum(got.values()) == 100
    assert got["annual_spend"] == 19 and got["recency"] == 38
    assert got["support_satisfaction"] == 11
    assert {got["nps"], got["email_open_rate"]} in ({29, 3}, {28, 4})


def test_dimension_style_adds_dimension_weights_summing_to_100():
    model = load_model(ECOMMERCE)
    weights, _ = model_weights(solve(parse_ahp(ECOMMERCE_AHP)), model)
    new = rewritten_model(model, weights, style="dimensions").model
    # 57.14, 28.57, 14.29 -> 57, 29, 14
    assert [d.weight for d in new.dimensions] == [57, 29, 14]
    assert [m.weight for _, m in new.metrics] == [33, 67, 100, 25, 75]
    assert "# 0 -> 0 points, 3,000 or more -> 100 points" in new.text


def test_ahp_items_must_be_the_models():
    model = load_model(B2B)
    text = "dimensions:\n  comparisons: {value/depth: 2, depth/activity: 1, money/value: 3}\n"
    with pytest.raises(ModelError) as exc:
        model_weights(solve(parse_ahp(text, "b2b_ahp.yaml")), model)
    message = str(exc.value)
    assert "money is not among them" in message and "satisfaction is not compared" in message


def test_one_level_over_dimensions_keeps_metric_shares():
    model = load_model(B2B)
    text = "comparisons: {value/depth: 1, value/activity: 1, value/satisfaction: 1}\n"
    weights, notes = model_weights(solve(parse_ahp(text)), model)
    assert weights.dimensions == pytest.approx({d: 25.0 for d in weights.dimensions})
    assert weights.shares["value"] == pytest.approx({"annual_purchases": 60, "annual_profit": 40})
    assert notes


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=12), st.integers(0, 3))
def test_rounding_keeps_the_sum_and_moves_each_weight_less_than_one_step(raw, decimals):
    total = sum(raw)
    if total <= 0:
        return
    values = {f"m{i}": 100 * v / total for i, v in enumerate(raw)}
    if not math.isclose(sum(values.values()), 100, abs_tol=1e-6):
        return
    rounded = round_preserving_sum(values, 100, decimals)
    step = 10.0 ** -decimals
    assert sum(rounded.values()) == pytest.approx(100, abs=1e-9)
    for k, v in values.items():
        assert abs(rounded[k] - v) < step + 1e-9


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps typer's sub-command layout
        pass

    return app


def test_cli_ahp_writes_a_new_model_and_never_the_old(tmp_path):
    ahp_file = tmp_path / "judgements.yaml"
    ahp_file.write_text(ECOMMERCE_AHP)
    new = tmp_path / "new.yaml"
    result = CliRunner().invoke(cli(), ["weights", "ahp", str(ahp_file), "--model",
                                        str(ECOMMERCE), "--write", str(new)])
    assert result.exit_code == 0, result.output
    assert "recency" in result.output and "+13.0" in result.output
    assert load_model(new).metric("recency").weight == 38
    copy = tmp_path / "model.yaml"
    copy.write_text(ECOMMERCE.read_text())
    result = CliRunner().invoke(cli(), ["weights", "ahp", str(ahp_file), "--model", str(copy),
                                        "--write", str(copy)])
    assert isinstance(result.exception, ModelError)
    assert copy.read_text() == ECOMMERCE.read_text()


def test_cli_ahp_refuses_an_inconsistent_file(tmp_path):
    ahp_file = tmp_path / "judgements.yaml"
    ahp_file.write_text(INCONSISTENT)
    result = CliRunner().invoke(cli(), ["weights", "ahp", str(ahp_file)])
    assert isinstance(result.exception, FitError)
    assert result.exception.reason == Reason.INCONSISTENT


def test_weightset_of_model_round_trips():
    model = load_model(B2B)
    weights = WeightSet.of_model(model)
    new = rewritten_model(model, weights)
    assert new.text == model.text


def test_dimensions_without_metric_comparisons_keep_the_models_shares():
    model = load_model(B2B)
    text = ("dimensions:\n  comparisons: {value/depth: 2, value/activity: 2, "
            "value/satisfaction: 2, depth/activity: 1, depth/satisfaction: 1, "
            "activity/satisfaction: 1}\nmetrics:\n  value:\n"
            "    comparisons: {annual_purchases/annual_profit: 3}\n")
    weights, notes = model_weights(solve(parse_ahp(text)), model)
    # value 2/5, the others 1/5 each (consistent); value's metrics 3/4, 1/4
    assert weights.dimensions == pytest.approx({"value": 40, "depth": 20, "activity": 20,
                                                "satisfaction": 20})
    assert weights.shares["value"] == pytest.approx({"annual_purchases": 75,
                                                     "annual_profit": 25})
    assert weights.shares["depth"] == pytest.approx({"product_lines": 50, "tenure": 50})
    assert len(notes) == 3


def test_metric_comparisons_of_a_dimension_not_compared_are_an_error():
    text = ("dimensions:\n  comparisons: {a/b: 2}\nmetrics:\n  c:\n"
            "    comparisons: {x/y: 3}\n")
    with pytest.raises(ModelError) as exc:
        solve(parse_ahp(text, "h.yaml"))
    (problem,) = exc.value.problems
    assert "metrics of `c`" in problem.message and problem.where == "h.yaml:4"


def test_one_level_over_every_metric_gives_shares_of_the_total():
    model = load_model(ECOMMERCE)
    # a consistent chain: each metric twice as important as the next -> 16:8:4:2:1 of 31
    ids = ["annual_spend", "recency", "nps", "email_open_rate", "support_satisfaction"]
    pairs = ", ".join(f"{a}/{b}: 2" for a, b in zip(ids, ids[1:], strict=False))
    weights, notes = model_weights(solve(parse_ahp(f"comparisons: {{{pairs}}}\n")), model)
    assert weights.overall() == pytest.approx(
        {m: 100 * w / 31 for m, w in zip(ids, [16, 8, 4, 2, 1], strict=True)})
    assert notes == []
