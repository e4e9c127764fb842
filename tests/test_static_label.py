"""Static churn labels: one export, a Yes/No column as the outcome, a stratified holdout.

The telecom-like export of :mod:`tests.support.telco` (2,000 customers, one row each, a planted
signal in the contract, the tenure and the payment method, none in the monthly charges) is
mapped by a model using ``sources:`` alone; ``weights learn`` and ``backtest`` run on it with no
time stamps.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crindex.backtest.run import run_backtest
from crindex.contract import CHURNED_WORDS, STAYED_WORDS
from crindex.data import open_dataset
from crindex.errors import DataError
from crindex.model.loader import load_model, parse_model
from crindex.model.spec import ChurnRule
from crindex.outcomes import churn
from crindex.stats import stratified_holdout
from crindex.weights.learn import learn_weights
from tests.conftest import failed
from tests.support.telco import EXPORT_DATE, MODEL, telco_frame, write_model, write_telco

N_BOOT = 300


def labels_of(values: list[str | None], rule: ChurnRule) -> dict[str, bool]:
    """The label of customers c1, c2, ... holding ``values`` in churn_label, by ``rule``."""
    ids = [f"c{i + 1}" for i in range(len(values))]
    data = open_dataset({"customers": pd.DataFrame({"customer_id": ids, "churn_label": values})})
    out = churn(data.tables, rule, EXPORT_DATE, EXPORT_DATE).to_pyarrow().to_pylist()
    assert all(r["active"] for r in out)  # no created_at: on the books whatever the day
    return {r["customer_id"]: r["churned"] for r in out}


LABEL = ChurnRule(label="churn_label")


# --------------------------------------------------------------------------------------------
# what a label says


def test_the_default_words_read_yes_no_one_zero_true_false_case_folded_and_trimmed():
    values = ["Yes", "no", " TRUE ", "0", "churned", "Stayed", "1", "N", "是", "否"]
    got = labels_of(values, LABEL)
    # churned: Yes, TRUE, churned, 1, 是 (c1, c3, c5, c7, c9); stayed: the rest
    assert [k for k, v in got.items() if v] == ["c1", "c3", "c5", "c7", "c9"]
    assert sum(not v for v in got.values()) == 5


def test_a_model_names_its_own_words():
    rule = ChurnRule.model_validate({"label": {"churned": ["Gone", 1], "stayed": ["here", 0]}})
    assert rule.label is not None and rule.label.churned == ["gone", "1"]
    got = labels_of(["gone", "HERE", "1", "0"], rule)
    assert got == {"c1": True, "c2": False, "c3": True, "c4": False}
    with pytest.raises(DataError, match="`yes` in customers c1"):
        labels_of(["yes", "here"], rule)  # not one of this model's words


def test_a_date_means_churned_on_that_day_and_an_empty_cell_beside_dates_means_stayed():
    got = labels_of(["2025-03-01", None, "2024-12-31 10:00:00", "no"], LABEL)
    assert got == {"c1": True, "c2": False, "c3": True, "c4": False}


def test_any_other_value_stops_the_run_naming_values_counts_and_customers():
    with pytest.raises(DataError) as exc:
        labels_of(["Yes", "Maybe", "maybe ", "N/A", "No", None, "MAYBE", "maybe"], LABEL)
    text = str(exc.value)
    # 6 bad values: maybe x4 (c2, c3, c7, c8: three named, then the count), n/a (c4), empty (c6)
    assert text.startswith("customers.churn_label: the model's churn label holds 6 value(s) "
                           "that are neither churned nor stayed")
    assert "`maybe` in customers c2, c3, c7, ... (4 customers)" in text
    assert "`n/a` in customers c4" in text
    assert "(empty) in customers c6" in text  # empty is no label where the column holds no date
    assert "churned: " + ", ".join(CHURNED_WORDS) in text
    assert "stayed: " + ", ".join(STAYED_WORDS) in text
    assert "churn: {label: {column: churn_label, churned: [...], stayed: [...]}}" in text


def test_a_label_column_left_unmapped_says_how_to_map_it():
    with pytest.raises(DataError, match=r"churn label customers.churn_label is empty in every "
                       r"row.*sources.customers.columns: \{Churn: churn_label\}"):
        labels_of([None, None], LABEL)


def test_the_rule_refuses_a_column_that_is_not_the_label_column_and_two_rules_at_once():
    with pytest.raises(ValueError, match=r"map your column onto it \(sources.customers.columns: "
                       r"\{Churn: churn_label\}\)"):
        ChurnRule.model_validate({"label": "Churn"})
    with pytest.raises(ValueError, match="a label or inactivity, not both"):
        ChurnRule.model_validate({"inactivity_days": 90, "label": "churn_label"})
    with pytest.raises(ValueError, match="cannot mean both churned and stayed: `yes`"):
        ChurnRule.model_validate({"label": {"churned": ["yes"], "stayed": ["Yes"]}})


LEAK = MODEL.replace("""      - id: charges
        aggregate: attribute
        column: employees
        normalise: {method: range, min: 18, max: 118, direction: lower}""", """      - id: charges
        aggregate: attribute
        column: churn_label
        normalise: {method: map, values: {"No": 100, "Yes": 0}}""")


def test_a_metric_reading_the_label_is_warned_about_by_name():
    text = LEAK
    assert text != MODEL
    model = parse_model(text, "telco.yaml")
    found = [w for w in model.warnings if "churn_label" in w.message]
    assert len(found) == 1
    assert "metric `charges` reads customers.churn_label (column), the churn label" in \
        found[0].message
    assert found[0].where.startswith("telco.yaml:")
    assert not [w for w in parse_model(MODEL).warnings if "churn_label" in w.message]


# --------------------------------------------------------------------------------------------
# the split


@settings(max_examples=100, deadline=None)
@given(labels=st.lists(st.booleans(), min_size=1, max_size=300),
       share=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_a_stratified_holdout_keeps_each_labels_share_and_ignores_row_order(labels, share, seed,
                                                                           data):
    y = np.array(labels, dtype=bool)
    ids = [f"id{i:04d}" for i in range(y.size)]
    held = stratified_holdout(ids, y, share, seed)
    for value in (True, False):
        n_c = int((y == value).sum())
        assert int((y[held] == value).sum()) == math.floor(share * n_c + 0.5)
    h = int(held.sum())
    if h:  # the held-out churn share is the whole's within 1/(2h) (<= 1/h)
        assert abs(y[held].mean() - y.mean()) <= 1 / (2 * h) + 1e-12
    order = data.draw(st.permutations(range(y.size)))
    shuffled = stratified_holdout([ids[k] for k in order], y[list(order)], share, seed)
    assert {ids[k] for k, h in zip(order, shuffled, strict=True) if h} == \
        {c for c, h in zip(ids, held, strict=True) if h}


# --------------------------------------------------------------------------------------------
# weights learn and backtest on the export


@pytest.fixture(scope="module")
def telco(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("telco")
    write_telco(folder)
    write_model(folder)
    return folder


@pytest.fixture(scope="module")
def learned(telco):
    return learn_weights(load_model(telco / "telco.yaml"), str(telco), n_boot=N_BOOT)


@pytest.fixture(scope="module")
def backtest(telco):
    return run_backtest(telco / "telco.yaml", str(telco), [], n_boot=N_BOOT)


def _churners() -> tuple[int, int]:
    frame = telco_frame()
    return len(frame), int((frame["Churn"] == "Yes").sum())


def test_weights_learn_on_one_export_beats_uniform_weights_on_the_holdout(learned):
    n, churners = _churners()  # 2,000 customers, 499 churned
    held_churners = math.floor(0.3 * churners + 0.5)  # 149.7 -> 150
    held = held_churners + math.floor(0.3 * (n - churners) + 0.5)  # 150 + 450 (450.3)
    assert (learned.holdout_customers, learned.holdout_churners) == (held, held_churners)
    assert (learned.fit_customers, learned.fit_churners) == (n - held, churners - held_churners)
    assert learned.split["share"] == 0.3 and learned.split["seed"] == 0
    w = learned.weights.overall()
    # the charges carry no signal: the fit gives them least; the planted signals the most
    assert w["charges"] < 10 < min(w["tenure"], w["contract"], w["payment"])
    a = learned.aucs
    for iv in a.values():
        assert iv.low <= iv.value <= iv.high
    # uniform weights give the charges 25%, the shipped ones 70%: the learned weights rank the
    # held-out churners better than both, beyond the paired bootstrap's noise
    assert a["learned"].value > a["uniform"].value > a["current"].value
    assert a["learned - uniform"].low > 0
    assert a["learned - current"].low > 0
    assert learned.to_dict()["split"]["held_out_churned"] == held_churners


def test_the_backtest_measures_the_same_holdout_and_gives_churn_by_tier(backtest, learned):
    n, churners = _churners()
    split = backtest["holdout"]
    assert (split["labelled"], split["churned"]) == (n, churners)
    assert (split["held_out"], split["held_out_churned"]) == (learned.holdout_customers,
                                                             learned.holdout_churners)
    assert abs(split["held_out_churn_rate"] - churners / n) <= 1 / (2 * split["held_out"])
    assert backtest["horizon"] is None
    assert backtest["churn_rule"] == {"kind": "label", "column": "churn_label", "holdout": 0.3,
                                      "seed": 0}
    (p,) = backtest["periods"]
    assert p["as_of"] == EXPORT_DATE.isoformat()
    assert (p["customers"], p["churned"]) == (split["held_out"], split["held_out_churned"])
    a = p["auc"]
    assert a["low"] <= a["auc"] <= a["high"]
    # the shipped weights on the same customers: the AUC weights learn calls `current`
    assert a["auc"] == pytest.approx(learned.aucs["current"].value, abs=1e-12)
    tiers = {t["tier"]: t for t in p["tiers"]}
    assert sum(t["churned"] for t in tiers.values()) == p["churned"]
    assert sum(t["customers"] for t in tiers.values()) == p["customers"]


def test_cli_learns_writes_and_backtests_the_learned_model_on_the_same_holdout(
        telco, cli, tmp_path, learned):
    model = telco / "telco.yaml"
    new = tmp_path / "learned.yaml"
    code, text = cli("weights", "learn", "-m", str(model), "-d", str(telco), "--bootstrap",
                     str(N_BOOT), "--write", str(new))
    assert code == 0, text
    a = learned.aucs  # the same run from Python (same data, seed and resamples)
    for needle in ("fit on the export as of 2025-06-30 less the holdout: 1,400 customers, "
                   "349 churned", "holdout: 600 customers, 150 churned",
                   "holdout AUC (95% bootstrap interval)",
                   f"learned │ {a['learned'].value:.3f} │ [{a['learned'].low:.3f}, "
                   f"{a['learned'].high:.3f}]",
                   f"learned - uniform │ {a['learned - uniform'].value:+.3f}",
                   f"wrote {new}"):
        assert needle in " ".join(text.split()), needle
    out = tmp_path / "bt"
    code, text = cli("backtest", "-m", str(new), "-d", str(telco), "-o", str(out),
                     "--bootstrap", str(N_BOOT))
    assert code == 0, text
    assert "static churn label: holdout 600 of 2,000 customers (30%, seed 0" in text
    assert "2025-06-30: 600 customers, 150 churned (label), AUC " in text
    assert "churn by tier: loyal " in text and "at_risk " in text
    report = json.loads((out / "backtest.json").read_text())
    (p,) = report["periods"]
    # the learned model file, backtested, ranks the same held-out customers as weights learn
    # measured it
    assert p["auc"]["auc"] == pytest.approx(a["learned"].value, abs=1e-12)
    rates = [t["churn_rate"] for t in p["tiers"]]
    assert rates == sorted(rates)  # churn rises from loyal to at_risk
    assert p["tier_order"]["ordered"]
    page = (out / "backtest.html").read_text()
    assert "Scores on 2025-06-30 compared with each customer&#x27;s churn label, on a holdout " \
        "of 600 of 2000 customers (30%, seed 0, stratified by the label)" in page
    assert "<h2>As of 2025-06-30: the holdout against its churn label</h2>" in page


def test_cli_refuses_several_dates_and_bad_labels_with_a_clear_message(telco, cli, tmp_path):
    model = telco / "telco.yaml"
    code, text = cli("backtest", "-m", str(model), "-d", str(telco), "-o", str(tmp_path / "o"),
                     "--as-of", "2025-06-30", "--as-of", "2025-03-31")
    failed(code, text, "2 --as-of dates given, but the model's churn is a static label")
    assert not (tmp_path / "o").exists()
    bad = tmp_path / "bad"
    frame = telco_frame(200)
    frame.loc[[3, 8], "Churn"] = "Unknown"
    bad.mkdir()
    frame.to_csv(bad / "telco.csv", index=False)
    write_model(bad)
    ids = ", ".join(sorted(frame.loc[[3, 8], "customerID"]))
    code, text = cli("weights", "learn", "-m", str(bad / "telco.yaml"), "-d", str(bad))
    failed(code, text, "holds 2 value(s) that are neither churned nor stayed",
           f"`unknown` in customers {ids}", "churned: true, t, yes")
    code, text = cli("validate", "-m", str(write_model(tmp_path, MODEL.replace(
        "label: churn_label", "label: Churn"))))
    failed(code, text, "telco.yaml:15: key `churn.label.column` is `Churn`",
           "the churn label is read from customers.churn_label, not `Churn`",
           "sources.customers.columns: {Churn: churn_label}")


def test_without_a_label_weights_learn_still_needs_a_holdout_date(cli):
    from crindex.examples import example_path

    code, text = cli("weights", "learn", "-m", str(example_path("ecommerce")), "-d", ".")
    failed(code, text, "no holdout date given", "--as-of")


def test_a_date_in_the_horizon_is_not_needed_under_a_label(telco):
    model = load_model(telco / "telco.yaml")
    rule = model.churn
    data = open_dataset(str(telco), model=model)
    far = churn(data.tables, rule, EXPORT_DATE, EXPORT_DATE + dt.timedelta(days=365))
    near = churn(data.tables, rule, EXPORT_DATE, EXPORT_DATE)
    assert far.to_pandas().equals(near.to_pandas())  # the horizon does not move a label


def test_kpis_under_a_label_count_customers_but_claim_no_churn_in_a_period(telco):
    from crindex.kpis.core import kpis

    model = load_model(telco / "telco.yaml")
    data = open_dataset(str(telco), model=model)
    report = kpis(data.tables, EXPORT_DATE, "90d", churn_rule=model.churn)
    row = report.overall
    frame = telco_frame()
    # the period is (2025-04-01, 2025-06-30]: signups 1 and 2 months back (05-30, 04-30) are
    # new, 3 months back (03-30) is before it
    new = int(frame["tenure"].isin([1, 2]).sum())
    assert (row["customers_start"], row["customers_end"], row["new_customers"]) == \
        (len(frame) - new, len(frame), new)
    assert row["churn_rate"] is None and row["retention_rate"] is None
    assert "static label" in report.notes["churn_rate"]


def test_backtest_and_learn_print_the_warning_of_a_metric_reading_the_label(telco, cli,
                                                                           tmp_path):
    leak = tmp_path / "leak.yaml"
    leak.write_text(LEAK.replace("path: telco.csv", f"path: {telco / 'telco.csv'}"))
    warning = "warning: " + str(leak) + ":"
    code, text = cli("backtest", "-m", str(leak), "-d", str(telco), "-o", str(tmp_path / "bt"),
                     "--bootstrap", "100")
    assert code == 0, text
    flat = " ".join(text.split())
    assert warning in flat and "metric `charges` reads customers.churn_label" in flat
    code, text = cli("weights", "learn", "-m", str(leak), "-d", str(telco), "--bootstrap",
                     "100")
    assert code == 0, text
    assert "metric `charges` reads customers.churn_label" in " ".join(text.split())


def test_compare_reads_the_label_of_every_customer_and_says_so(telco, learned):
    from crindex.weights.compare import compare_models

    n, churners = _churners()
    model = load_model(telco / "telco.yaml")
    result = compare_models(model, learned.learned.model, str(telco), n_boot=100)
    assert (result.labelled, result.churners, result.horizon) == (n, churners, None)
    assert any("static label, over every customer" in note for note in result.notes)
    assert result.aucs["B"].value > result.aucs["A"].value
