"""The backtest run on tiny worlds whose outcome is worked out by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from crindex.backtest import metrics as bm
from crindex.backtest.run import run_backtest
from crindex.errors import DataError
from crindex.model.loader import load_model
from tests.conftest import ts

AS_OF = "2025-06-30"  # horizon 90d -> (2025-06-30, 2025-09-28]

SPEND_MODEL = """
name: spend
dimensions:
  - id: value
    metrics:
      - id: spend
        aggregate: sum
        table: orders
        column: amount
        window: 365d
        weight: 100
        normalise: {method: range, min: 0, max: 1000}
tiers:
  levels:
    - {id: high, min: 60}
    - {id: mid, min: 30}
    - {id: low}
"""


def model_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(SPEND_MODEL + extra, encoding="utf-8")
    return path


def spend_world() -> dict[str, pd.DataFrame]:
    """Seven customers scored on 2025-06-30 (score = spend of the last 365 days / 10)."""
    ids = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"]
    customers = pd.DataFrame({
        "customer_id": ids,
        "created_at": ts(*["2024-01-01"] * 8),
        # a2 leaves on the horizon's last day (counts), a3 the day after (does not),
        # a7 on as_of itself (already gone: not scored)
        "churned_at": ts(None, "2025-09-28", "2025-09-29", None, "2025-07-01", "2025-08-15",
                         "2025-06-30", None),
    })
    rows = [  # (customer, day, amount, status)
        ("a1", "2025-03-01", 900, "paid"), ("a2", "2025-03-01", 700, "paid"),
        ("a3", "2025-03-01", 500, "paid"), ("a4", "2025-03-01", 400, "paid"),
        ("a5", "2025-03-01", 200, "paid"), ("a6", "2025-03-01", 100, "paid"),
        ("a7", "2025-03-01", 300, "paid"),
        # in the horizon: a1 200; a3 100 on its last day; a8 40
        ("a1", "2025-07-10", 200, "paid"), ("a3", "2025-09-28", 100, "paid"),
        ("a8", "2025-07-01", 40, "paid"),
        # not revenue: a3 the day after the horizon, a4 a refund
        ("a3", "2025-09-29", 50, "paid"), ("a4", "2025-07-15", -30, "refunded"),
    ]
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(rows))],
        "customer_id": [r[0] for r in rows],
        "ordered_at": ts(*[r[1] for r in rows]),
        "amount": [float(r[2]) for r in rows],
        "status": [r[3] for r in rows],
    })
    return {"customers": customers, "orders": orders}


def test_backtest_figures_by_hand(tmp_path):
    report = run_backtest(model_file(tmp_path), spend_world(), [AS_OF], "90d", n_boot=200)
    (p,) = report["periods"]
    assert p["end"] == "2025-09-28"
    # scored: a1 90, a2 70, a3 50, a4 40, a5 20, a6 10, a8 0 (a7 churned on as_of)
    assert p["customers"] == 7
    # churned in (06-30, 09-28]: a2 (09-28), a5 (07-01), a6 (08-15); a3 (09-29) did not
    assert p["churned"] == 3 and p["churn_rate"] == pytest.approx(3 / 7)
    # churners 70, 20, 10 vs stayers 90, 50, 40, 0; a churner "wins" when it scores lower:
    # 70: beats 90 only -> 1; 20: 90, 50, 40 -> 3; 10: 90, 50, 40 -> 3; 7 of 12 pairs
    assert p["auc"]["auc"] == pytest.approx(7 / 12)
    assert p["auc"]["low"] <= p["auc"]["high"]
    assert p["lift_10"] is None  # 10% of 7 customers is less than one customer
    high, mid, low = p["tiers"]
    # high (>= 60): a1, a2 -> 1 of 2 churn; revenue a1 200
    assert (high["customers"], high["churned"], high["revenue"]) == (2, 1, 200.0)
    # mid (>= 30): a3, a4 -> 0 churn; revenue a3 100 (its 09-29 order and a4's refund excluded)
    assert (mid["customers"], mid["churned"], mid["revenue"]) == (2, 0, 100.0)
    # low: a5, a6, a8 -> 2 of 3; revenue a8 40; share of revenue 40 / 340
    assert low["churn_rate"] == pytest.approx(2 / 3) and low["revenue"] == 40.0
    assert low["share_revenue"] == pytest.approx(40 / 340)
    # high churns 50% > mid 0%: high breaks the order
    assert p["tier_order"]["flagged"] == ["high"]
    codes = {c["code"] for c in report["checks"]}
    assert "tier_order" in codes and "auc_weak" in codes  # 0.583 < 0.6
    spend = p["metrics"][0]
    assert spend["id"] == "spend" and spend["auc"] == pytest.approx(7 / 12)
    assert spend["customers"] == 7  # a sum is never missing
    # churn by decile of the metric's points: decile = ceil(10 r / 7) with r the ascending rank:
    # a8 0 -> r 1 -> 2; a6 10 -> 3; a5 20 -> 5; a4 40 -> 6; a3 50 -> 8; a2 70 -> 9; a1 90 -> 10;
    # churners a6, a5, a2; deciles 1, 4 and 7 hold nobody
    by_decile = {r["decile"]: (r["customers"], r["churned"]) for r in spend["deciles"]}
    assert by_decile == {1: (0, 0), 2: (1, 0), 3: (1, 1), 4: (0, 0), 5: (1, 1), 6: (1, 0),
                         7: (0, 0), 8: (1, 0), 9: (1, 1), 10: (1, 0)}
    assert spend["deciles"][2]["min_score"] == 10.0 and spend["deciles"][2]["churn_rate"] == 1
    # one metric of weight 100: its deciles are the score's
    assert spend["deciles"] == p["deciles"]
    assert report["churn_rule"] == {"kind": "churned_at"}
    # the page shows each metric's churn by decile (empty deciles blank)
    from crindex.report.html import render_backtest

    page = render_backtest(report, "en")
    assert "Churn rate by decile of each metric" in page
    row = page.split("Churn rate by decile of each metric")[1].split("<tbody>")[1] \
        .split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    assert cells == ["spend", "", "0.0%", "100.0%", "", "100.0%", "0.0%", "", "0.0%",
                     "100.0%", "0.0%"]
    assert "各指标按得分十分位的流失率" in render_backtest(report, "zh")


def test_inactivity_rule_by_hand(tmp_path):
    """``churn: {inactivity_days: 60}``: lost on the 60th day without a paid order."""
    ids = ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"]
    customers = pd.DataFrame({
        "customer_id": ids,
        "created_at": ts(*["2024-01-01"] * 7, "2025-06-20"),
        "churned_at": ts(*[None] * 8),  # the rule, not churned_at, decides
    })
    rows = [
        ("b1", "2025-06-01"), ("b1", "2025-07-15"), ("b1", "2025-09-01"),  # gaps 44, 48: stays
        ("b2", "2025-06-10"),                       # nothing after: lost 08-09 -> churned
        ("b3", "2025-05-01"),                       # lost 06-30 = as_of: already gone
        ("b4", "2025-05-02"), ("b4", "2025-07-05"),  # gap 64 > 60: lost 07-01 -> churned
        ("b5", "2025-06-30"), ("b5", "2025-08-20"),  # lost 10-19, after the horizon
        ("b6", "2025-06-15"), ("b6", "2025-07-30"),  # lost 09-28, the horizon's last day
        ("b7", "2025-06-15"), ("b7", "2025-07-31"),  # lost 09-29, the day after
    ]                                               # b8 joined 06-20, never bought: lost 08-19
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(rows) + 1)],
        "customer_id": [r[0] for r in rows] + ["b3"],
        "ordered_at": ts(*[r[1] for r in rows], "2025-06-15"),
        "amount": [10.0] * len(rows) + [-10.0],
        "status": ["paid"] * len(rows) + ["refunded"],  # a refund is not activity
    })
    path = model_file(tmp_path, "churn: {inactivity_days: 60}\n")
    report = run_backtest(path, {"customers": customers, "orders": orders}, [AS_OF], "90d",
                          n_boot=0)
    (p,) = report["periods"]
    assert report["churn_rule"] == {"kind": "inactivity", "days": 60, "lapse": "reached"}
    assert p["inactive_at_as_of"] == 1  # b3
    assert p["customers"] == 7
    assert p["churned"] == 4  # b2, b4, b6, b8
    # scores: one paid order of 10 up to as_of -> 10 / 1000 x 100 = 1 for b1, b2, b4, b5, b6,
    # b7; b8 never bought -> 0. Churners b2, b4, b6 (1) tie with each of the stayers b1, b5,
    # b7 (1) -> 3 x 3 x 1/2 = 4.5; b8 (0) scores below all three -> 3; AUC = 7.5 / 12
    assert p["auc"]["auc"] == pytest.approx(7.5 / 12)

    # lapse: at_horizon_end also needs no activity in (09-28 - 60 = 07-30, 09-28]. b9 lapses on
    # 07-14 and comes back on 08-01: churned when the lapse is reached, not at the horizon's
    # end. b4 came back on 07-05 too, but lapsed again on 09-03: still lapsed at the end.
    customers = pd.concat([customers, pd.DataFrame({
        "customer_id": ["b9"], "created_at": ts("2024-01-01"), "churned_at": ts(None)})])
    orders = pd.concat([orders, pd.DataFrame({
        "order_id": ["o90", "o91"], "customer_id": ["b9", "b9"],
        "ordered_at": ts("2025-05-15", "2025-08-01"), "amount": [10.0, 10.0],
        "status": ["paid", "paid"]})])
    world = {"customers": customers, "orders": orders}
    reached = run_backtest(path, world, [AS_OF], "90d", n_boot=0)["periods"][0]
    assert (reached["customers"], reached["churned"]) == (8, 5)  # b2, b4, b6, b8, b9
    path = model_file(tmp_path, "churn: {inactivity_days: 60, lapse: at_horizon_end}\n")
    report = run_backtest(path, world, [AS_OF], "90d", n_boot=0)
    (p,) = report["periods"]
    assert report["churn_rule"] == {"kind": "inactivity", "days": 60, "lapse": "at_horizon_end"}
    assert (p["customers"], p["inactive_at_as_of"], p["churned"]) == (8, 1, 4)
    # churners b2, b4, b6 (1) tie with stayers b1, b5, b7, b9 (1): 3 x 4 x 1/2 = 6; b8 (0)
    # scores below the four -> 4; AUC = 10 / 16
    assert p["auc"]["auc"] == pytest.approx(10 / 16)


def test_rolling_psi_and_tier_series(tmp_path):
    path = model_file(tmp_path)
    world = spend_world()
    report = run_backtest(path, world, ["2025-06-30", "2025-03-31", "2025-06-30"], "90d",
                          n_boot=0)
    roll = report["rolling"]
    assert roll["as_of"] == ["2025-03-31", "2025-06-30"]  # sorted, duplicates dropped
    from crindex.api import score

    model = load_model(path)
    before = score(model, world, "2025-03-31").table.column("score").to_numpy()
    after = score(model, world, "2025-06-30").table.column("score").to_numpy()
    assert roll["psi"][0]["psi"] == pytest.approx(bm.psi(before, after))
    assert roll["psi"][0]["from"] == "2025-03-31"
    # 2025-03-31: spend in the 365 days to that day is the same 03-01 orders, so scores are
    # unchanged for a1..a6 (and a7 is scored too): the top tier holds a1, a2 of 8 customers
    assert roll["core_share"][0] == pytest.approx(2 / 8)
    assert roll["core_share"][1] == pytest.approx(2 / 7)
    assert [s["tier"] for s in roll["tiers"]] == ["high", "mid", "low"]


def test_cli_backtest_writes_both_files_and_collects_bad_input(tmp_path):
    from typer.testing import CliRunner

    from crindex.cli import app

    data = tmp_path / "data"
    data.mkdir()
    for name, frame in spend_world().items():
        frame.to_parquet(data / f"{name}.parquet")
    path = model_file(tmp_path)
    out = tmp_path / "out"
    cmd = ["backtest", "--model", str(path), "--data", str(data), "--horizon", "90d", "--out",
           str(out), "--bootstrap", "50"]
    runner = CliRunner()
    done = runner.invoke(app, [*cmd, "--as-of", AS_OF, "--as-of", "2025-03-31", "--lang", "zh"])
    assert done.exit_code == 0, done.output
    report = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    assert [p["as_of"] for p in report["periods"]] == ["2025-03-31", AS_OF]
    assert report["periods"][1]["auc"]["auc"] == pytest.approx(7 / 12)
    html = (out / "backtest.html").read_text(encoding="utf-8")
    assert "模型 spend 回测报告" in html and "<svg" in html
    bad = runner.invoke(app, [*cmd, "--as-of", "2025-02-30", "--horizon", "soon", "--lang", "fr"])
    # every bad input in one error (the CLI's main() prints it and exits 2)
    assert isinstance(bad.exception, DataError)
    assert [p.where for p in bad.exception.problems] == ["--as-of", "--horizon", "--lang"]
