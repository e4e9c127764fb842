"""`crindex compare`: migration, rank correlation and AUC, by hand and on a synthetic world."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from crindex.model.loader import parse_model
from crindex.weights.compare import compare_models
from tests.conftest import AS_OF, five_frames
from tests.test_weights_ahp import cli

ROOT = Path(__file__).resolve().parents[1]

SPEND = """\
name: spend
dimensions:
  - id: value
    metrics:
      - {id: spend, aggregate: sum, column: amount, weight: 100,
         normalise: {method: range, min: 0, max: 4000}}
tiers:
  levels:
    - {id: high, min: 50}
    - {id: mid, min: 5}
    - {id: low}
"""

TENURE = """\
name: tenure
dimensions:
  - id: depth
    metrics:
      - {id: tenure, aggregate: tenure_days, weight: 100,
         normalise: {method: range, min: 0, max: 2000}}
tiers:
  levels:
    - {id: high, min: 50}
    - {id: mid, min: 20}
    - {id: low}
"""


def test_compare_by_hand_on_the_five_customers():
    # as of 2025-06-30 (c6 created later and c7 churned before are not scored)
    # spend (paid, up to as_of; /4000): c1 3500 -> 87.5 high, c2 300 -> 7.5 mid,
    #   c3 50 -> 1.25 low, c4 0 -> 0 low, c5 400 -> 10 mid
    # tenure (days; /2000): c1 2007 -> 100 high, c2 731 -> 36.55 mid, c3 180 -> 9 low,
    #   c4 365 -> 18.25 low, c5 1276 -> 63.8 high
    # ranks by spend c4 < c3 < c2 < c5 < c1, by tenure c3 < c4 < c2 < c5 < c1:
    #   d = (1, -1, 0, 0, 0), rho = 1 - 6 x 2 / (5 x 24) = 0.9
    result = compare_models(parse_model(SPEND), parse_model(TENURE), five_frames(), AS_OF,
                            horizon="30d")
    assert result.customers == 5
    assert result.migration == {
        "high": {"high": 1, "mid": 0, "low": 0},
        "mid": {"high": 1, "mid": 1, "low": 0},
        "low": {"high": 0, "mid": 0, "low": 2},
    }
    assert result.unchanged == 4
    assert result.spearman == pytest.approx(0.9)
    # churn known to 2025-08-01 covers (06-30, 07-30], but nobody churned in it: no AUC
    assert result.aucs == {}
    assert any("0 of 5 labelled customers churned" in n for n in result.notes)


def test_same_model_twice_keeps_everyone_in_place():
    frames = five_frames()
    result = compare_models(parse_model(SPEND), parse_model(SPEND), frames, AS_OF)
    assert result.unchanged == result.customers == 5
    assert result.spearman == pytest.approx(1.0)
    assert any("no AUC" in n and "data end on 2025-08-01" in n for n in result.notes)


def test_auc_of_each_model_when_labels_exist():
    # c2 churns on 2025-07-10: spend ranks it 3rd of 5 (above c3, c4), so A's AUC is 2/4;
    # tenure ranks it 3rd too (above c3, c4): B's AUC is 2/4 as well
    frames = five_frames()
    customers = frames["customers"].copy()
    customers.loc[customers.customer_id == "c2", "churned_at"] = pd.Timestamp("2025-07-10")
    frames["customers"] = customers
    result = compare_models(parse_model(SPEND), parse_model(TENURE), frames, AS_OF,
                            horizon="30d", n_boot=200)
    assert (result.labelled, result.churners) == (5, 1)
    assert result.aucs["A"].value == pytest.approx(0.5)
    assert result.aucs["B"].value == pytest.approx(0.5)
    assert result.aucs["B - A"].value == pytest.approx(0.0)


@pytest.fixture(scope="module")
def world(ecommerce_world) -> Path:
    return ecommerce_world


def test_cli_compare_on_a_synthetic_world(world):
    result = CliRunner().invoke(cli(), [
        "compare", "--model", str(ROOT / "examples" / "ecommerce.yaml"),
        "--model", str(ROOT / "examples" / "b2b.yaml"), "--data", str(world),
        "--as-of", "2024-09-30", "--horizon", "90d", "--bootstrap", "200", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    total = sum(sum(row.values()) for row in payload["migration"].values())
    assert total == payload["customers"] > 100
    assert -1 <= payload["spearman"] <= 1
    assert payload["churners"] > 0
    for name in ("A", "B"):
        auc = payload["auc"][name]
        assert 0 <= auc["low"] <= auc["value"] <= auc["high"] <= 1


def test_cli_compare_needs_two_models(world):
    result = CliRunner().invoke(cli(), [
        "compare", "--model", str(ROOT / "examples" / "ecommerce.yaml"), "--data", str(world)])
    assert result.exit_code == 2
    assert "exactly two models" in result.output
