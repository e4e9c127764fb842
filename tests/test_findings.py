"""Findings that catch a bad model: a metric read backwards, a metric built from the outcome,
tiers tied at 0%, a crowded tier, a metric whose bounds do not fit its data."""

from __future__ import annotations

from pathlib import Path

import pytest

from crindex.backtest.run import checks, run_backtest
from crindex.model.loader import parse_model
from tests.support.telco import MODEL, write_model, write_telco
from tests.test_backtest_run import AS_OF, SPEND_MODEL, spend_world

N_BOOT = 100
TENURE = "normalise: {method: range, min: 0, max: 2200}"
#: the telecom model with the tenure read backwards: the newest customers score highest
REVERSED = MODEL.replace(TENURE, TENURE[:-1] + ", direction: lower}")


def by_code(report: dict, code: str) -> list[dict]:
    return [c for c in report["checks"] if c["code"] == code]


@pytest.fixture(scope="module")
def telco(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("telco_findings")
    write_telco(folder)
    return folder


@pytest.fixture(scope="module")
def reversed_model(telco) -> Path:
    assert REVERSED.count("direction: lower") == 2  # the charges' own, and the tenure's
    folder = telco / "reversed"
    folder.mkdir()
    (folder / "telco.csv").symlink_to(telco / "telco.csv")
    return write_model(folder, REVERSED)


def test_a_metric_read_backwards_is_named_with_the_direction_to_set(reversed_model):
    report = run_backtest(reversed_model, str(reversed_model.parent), [], n_boot=N_BOOT)
    (p,) = report["periods"]
    tenure = next(m for m in p["metrics"] if m["id"] == "tenure")
    # churn falls with tenure (-0.04 per month in tests/support/telco.py): read as `lower`,
    # the newest customers score highest and churn most, so the metric's own AUC is below 0.5
    assert tenure["auc"] < 0.5
    (found,) = by_code(report, "metric_reversed")
    assert found["params"]["metric"] == "tenure" and found["params"]["direction"] == "higher"
    assert "set `direction: higher` in its normalise (now `lower`)" in found["message"]
    # 150 churners, 450 stayers held out: a metric without signal has AUC 0.5 +- 0.0272
    # (sqrt(601 / (12 x 150 x 450))); tenure is 7 of those below, the charges (no signal,
    # 0.481) within 2: reported as carrying no signal, not as reversed
    assert found["params"]["noise"] == pytest.approx(2 * (601 / (12 * 150 * 450)) ** 0.5)
    assert [c["params"]["metric"] for c in by_code(report, "metric_no_signal")] == ["charges"]
    # the page shows both findings, in either language
    from crindex.report.html import render_backtest

    en, zh = render_backtest(report, "en"), render_backtest(report, "zh")
    assert "metric tenure has churn AUC" in en and "set `direction: higher`" in en
    assert "指标 tenure 的流失 AUC" in zh and "指标 charges 的流失 AUC" in zh


def test_a_map_metric_read_backwards_is_told_to_reverse_its_points():
    model = parse_model(MODEL, "telco.yaml")
    period = {"as_of": "2025-06-30", "end": "2025-06-30", "auc": {"auc": 0.7},
              "tier_order": {"violations": []}, "tiers": [],
              "metrics": [{"id": "contract", "auc": 0.3, "mean_points": 50.0,
                           "customers": 100, "churned": 30}]}
    (found,) = [c for c in checks([period], {"psi": []}, None, model)
                if c["code"] == "metric_reversed"]
    assert "reverse its map points (give each value 100 minus its points)" in found["message"]


def test_a_metric_reading_the_churn_date_is_a_leakage_finding(tmp_path):
    # spend (weight 50) as in test_backtest_run, plus `left`: customers.churned_at read as an
    # attribute (no date -> 100 points, a date -> 0)
    leak = """
      - id: left
        aggregate: attribute
        column: churned_at
        weight: 50
        normalise: {method: map, values: {"none": 100}, default: 0}
"""
    spend = "        normalise: {method: range, min: 0, max: 1000}\n"
    text = SPEND_MODEL.replace("weight: 100", "weight: 50").replace(spend, spend + leak, 1)
    model = parse_model(text, "leak.yaml")
    assert any("customers.churned_at (column), the churn date" in w.message
               for w in model.warnings)
    report = run_backtest(model, spend_world(), [AS_OF], "90d", n_boot=N_BOOT)
    (found,) = by_code(report, "metric_leak")
    assert found["level"] == "fail"
    assert found["params"] == {"metric": "left", "column": "churned_at", "how": "column"}
    assert "leakage" in found["message"]
    # every customer scored has no churn date on as_of, so `left` is 0 for all: 0 points on
    # average, under 15
    assert [c["params"]["metric"] for c in by_code(report, "metric_points_low")] == ["left"]
    # the shipped spend model alone has no such finding
    clean = run_backtest(parse_model(SPEND_MODEL, "spend.yaml"), spend_world(), [AS_OF], "90d",
                         n_boot=N_BOOT)
    assert not by_code(clean, "metric_leak")


def test_a_metric_reading_the_label_is_too_good_to_be_true_and_a_leak(telco):
    leak = MODEL.replace("""        column: employees
        normalise: {method: range, min: 18, max: 118, direction: lower}""", """\
        column: churn_label
        normalise: {method: map, values: {"No": 100, "Yes": 0}}""")
    assert leak != MODEL
    folder = telco / "leak"
    folder.mkdir()
    (folder / "telco.csv").symlink_to(telco / "telco.csv")
    report = run_backtest(write_model(folder, leak), str(folder), [], n_boot=N_BOOT)
    (p,) = report["periods"]
    charges = next(m for m in p["metrics"] if m["id"] == "charges")
    assert charges["auc"] == 1.0  # the label itself: every churner 0, every stayer 100
    assert [c["params"]["metric"] for c in by_code(report, "metric_too_good")] == ["charges"]
    assert [c["params"]["column"] for c in by_code(report, "metric_leak")] == ["churn_label"]


def test_tiers_tied_at_zero_and_a_crowded_tier_are_findings():
    period = {"as_of": "2025-06-30", "end": "2025-09-28", "auc": {"auc": 0.8},
              "metrics": [{"id": "m", "auc": 0.8, "mean_points": 90.0, "customers": 34,
                           "churned": 2}],
              # core 0/5, potential 0/9, at_risk 2/20: 20 of 34 = 58.8% in at_risk
              "tiers": [{"tier": "core", "share_customers": 5 / 34},
                        {"tier": "potential", "share_customers": 9 / 34},
                        {"tier": "at_risk", "share_customers": 20 / 34}],
              "tier_order": {"violations": [{"tier": "core", "kind": "zero_tie",
                                             "next": "potential", "churn_rate": 0.0,
                                             "next_churn_rate": 0.0}]}}
    found = {c["code"]: c for c in checks([period], {"psi": []}, None)}
    assert found["tier_zero_tie"]["level"] == "fail"
    assert "`core` and `potential` both churn 0%" in found["tier_zero_tie"]["message"]
    assert "tier_order_ok" not in found
    assert found["tier_crowded"]["params"]["tier"] == "at_risk"
    assert found["tier_crowded"]["params"]["share"] == pytest.approx(20 / 34)
    assert found["metric_points_high"]["params"]["points"] == 90.0


def test_weights_learn_flips_the_reversed_metric_and_beats_the_reversed_model(
        reversed_model, cli, tmp_path):
    from crindex.model.loader import load_model
    from crindex.weights.learn import learn_weights

    folder = reversed_model.parent
    report = learn_weights(load_model(reversed_model), str(folder), n_boot=N_BOOT)
    (flip,) = report.flips  # the fit's 1,400 customers: tenure reads backwards, alone
    assert flip["metric"] == "tenure" and flip["flipped"] and flip["auc"] < 0.4
    assert flip["change"] == "direction: lower -> higher"
    tenure = next(m for _, m in report.learned.model.metrics if m.id == "tenure")
    assert tenure.normalise.direction == "higher"  # type: ignore[attr-defined]
    a = report.aucs
    # the learned model (tenure turned around) ranks the held-out churners better than the
    # reversed model beyond the paired bootstrap's noise, and as well as a plain logistic
    # regression on the same four scores (within 0.01)
    assert a["learned"].value > a["current"].value + 0.1
    assert a["learned - current"].low > 0
    assert abs(a["learned - logistic"].value) < 0.01
    assert report.baseline["tenure"] < 0  # the baseline, free of sign, reads tenure backwards
    assert report.to_dict()["flips"][0]["metric"] == "tenure"
    # the command writes the flipped direction back, keeping the rest of the file
    new = tmp_path / "learned.yaml"
    code, text = cli("weights", "learn", "-m", str(reversed_model), "-d", str(folder),
                     "--bootstrap", str(N_BOOT), "--write", str(new))
    assert code == 0, text
    flat = " ".join(text.split())
    assert "metric tenure is read backwards (churn AUC " in flat
    assert "turned around (direction: lower -> higher)" in flat
    assert f"logistic │ {a['logistic'].value:.3f}" in flat
    written = new.read_text(encoding="utf-8")
    assert "normalise: {method: range, min: 0, max: 2200, direction: higher}" in written
    assert "normalise: {method: range, min: 18, max: 118, direction: lower}" in written
    assert load_model(new).name == "telco"


def test_without_flipping_the_reversed_metric_gets_no_weight_and_falls_behind(reversed_model):
    from crindex.model.loader import load_model
    from crindex.weights.learn import learn_weights

    report = learn_weights(load_model(reversed_model), str(reversed_model.parent),
                           n_boot=N_BOOT, flip=False)
    # held >= 0, the tenure's signal is thrown away (the telecom case): weight 0, and
    # the learned weights fall clearly behind the logistic regression on the same features
    assert report.weights.overall()["tenure"] == 0
    assert [f["flipped"] for f in report.flips] == [False]
    assert report.aucs["learned - logistic"].high < 0


def test_an_l1_penalty_drops_the_metric_without_signal(telco):
    from crindex.model.loader import load_model
    from crindex.weights.learn import learn_weights

    folder = telco / "l1"
    folder.mkdir()
    (folder / "telco.csv").symlink_to(telco / "telco.csv")
    model = load_model(write_model(folder, MODEL))
    plain = learn_weights(model, str(folder), n_boot=N_BOOT)
    lasso = learn_weights(model, str(folder), n_boot=N_BOOT, l1=0.01)
    # without the penalty the charges (no signal) keep 3.0%; at l1 = 0.01 they drop to exactly
    # 0 while the three planted metrics keep their weight and the holdout AUC does not fall
    assert plain.weights.overall()["charges"] > 1
    w = lasso.weights.overall()
    assert w["charges"] == 0 and min(w["tenure"], w["contract"], w["payment"]) > 10
    assert lasso.aucs["learned"].value >= plain.aucs["learned"].value - 0.005


def test_turning_a_map_around_gives_each_value_100_minus_its_points():
    from crindex.weights.rewrite import WeightSet, rewritten_model

    model = parse_model(MODEL, "telco.yaml")
    new = rewritten_model(model, WeightSet.of_model(model), flips=["contract", "charges"])
    metrics = {m.id: m.normalise for _, m in new.model.metrics}
    # contract: Month-to-month 10 -> 90, One year 70 -> 30, Two year 100 -> 0
    assert metrics["contract"].values == {  # type: ignore[attr-defined]
        "Month-to-month": 90, "One year": 30, "Two year": 0}
    assert metrics["charges"].direction == "higher"  # type: ignore[attr-defined]
    assert metrics["tenure"].direction == "higher"  # type: ignore[attr-defined]  # untouched


# --- findings without outcomes: `crindex score`'s summary ------------------------------------


def test_score_findings_thresholds_by_hand():
    from crindex.findings import score_findings

    # 5 of 10 in a tier is exactly half: not crowded; 6 of 11 (54.5%) is. `unscored` is no
    # tier and not counted in the shares (6 of 11, not 6 of 111)
    assert score_findings({"a": 5, "b": 5}, {}) == []
    found = score_findings({"a": 6, "b": 5, "c": 0, "unscored": 100}, {}, "2025-06-30")
    assert [(f["code"], f["params"]["tier"]) for f in found] == [("tier_empty", "c"),
                                                               ("tier_crowded", "a")]
    assert found[1]["params"]["share"] == pytest.approx(6 / 11)
    assert all(f["as_of"] == "2025-06-30" for f in found)
    # 15 and 85 points are inside the band; just outside them, and None (no data) is no finding
    points = {"lo": 14.99, "at_lo": 15.0, "at_hi": 85.0, "hi": 85.01, "none": None}
    found = score_findings({}, points)
    assert [(f["code"], f["params"]["metric"]) for f in found] == [
        ("metric_points_low", "lo"), ("metric_points_high", "hi")]


def test_score_prints_and_keeps_the_findings_it_can_see_without_outcomes(cli, tmp_path):
    import json

    data = tmp_path / "data"
    data.mkdir()
    for name, frame in spend_world().items():
        frame.to_parquet(data / f"{name}.parquet")
    model = tmp_path / "model.yaml"
    text = SPEND_MODEL.replace("max: 1000", "max: 10000").replace("min: 60", "min: 9.5") \
        .replace("min: 30", "min: 4.5")
    model.write_text(text, encoding="utf-8")
    code, out = cli("score", "--model", str(model), "--data", str(data), "--as-of", AS_OF,
                    "--out", str(tmp_path / "out"))
    assert code == 0, out
    # spend of the 365 days to 2025-06-30 over a range of 0..10,000: a1 900 -> 9 points, a2 7,
    # a3 5, a4 4, a5 2, a6 1, a8 0 (a7 left on as_of: not scored). Tiers: high >= 9.5 nobody,
    # mid >= 4.5 a1 a2 a3, low a4 a5 a6 a8: 4 of 7 = 57.1%; spend averages 28 / 7 = 4 points
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    found = {f["code"]: f for f in summary["findings"]}
    assert set(found) == {"tier_empty", "tier_crowded", "metric_points_low"}
    assert found["tier_empty"]["params"]["tier"] == "high"
    assert found["tier_crowded"]["params"]["share"] == pytest.approx(4 / 7)
    assert found["metric_points_low"]["params"]["points"] == pytest.approx(4.0)
    assert "finding (warn): tier `low` holds 57.1% of the customers" in out
    assert "finding (warn): metric `spend` averages 4.0 points (outside 15-85)" in out
    assert "finding (fail): tier `high` has no customers" in out
    # the same model with bounds and thresholds that fit: no finding
    fitted = SPEND_MODEL.replace("min: 30", "min: 35")
    model.write_text(fitted, encoding="utf-8")
    code, out = cli("score", "--model", str(model), "--data", str(data), "--as-of", AS_OF,
                    "--out", str(tmp_path / "out"))
    assert code == 0, out
    # 0..1,000: 90, 70, 50, 40, 20, 10, 0 -> mean 280 / 7 = 40; high (>= 60) 2, mid (>= 35) 2,
    # low 3 of 7 = 42.9%
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["findings"] == [] and "finding" not in out
