"""The scoring report: figures worked out by hand on six customers, movers from the store,
self-contained pages in English and Chinese."""

from __future__ import annotations

import json
import os
import re
import sys
from importlib.util import find_spec

import pandas as pd
import pytest

from crindex.api import score
from crindex.model.loader import load_model
from crindex.report.html import render_report
from crindex.report.scoring import report_figures, write_report
from tests.conftest import ts

T1, T2 = "2025-03-31", "2025-06-30"

MODEL = """
name: shop
dimensions:
  - id: value
    label: Value
    metrics:
      - id: spend
        aggregate: sum
        table: orders
        column: amount
        window: 365d
        weight: 60
        normalise: {method: range, min: 0, max: 1000}
  - id: activity
    label: Activity
    metrics:
      - id: orders
        aggregate: count
        table: orders
        window: 365d
        weight: 40
        normalise: {method: range, min: 0, max: 5}
tiers:
  levels:
    - {id: high, label: High, min: 70, strategy: Keep close}
    - {id: mid, label: Mid, min: 40}
    - {id: low, label: Low}
"""

# score = 0.6 x spend / 10 + 0.4 x orders x 20 (spend and orders of the 365 days to as_of)
ORDERS = [
    # r1: T2 3 x 300 -> 0.6 x 90 + 0.4 x 60 = 78; T1 only 01-10 -> 0.6 x 30 + 0.4 x 20 = 26
    ("r1", "2025-01-10", 300), ("r1", "2025-04-10", 300), ("r1", "2025-05-10", 300),
    # r2: 700 at both dates -> 0.6 x 70 + 0.4 x 20 = 50
    ("r2", "2024-07-15", 700),
    # r3: T2 three of 100 (the 2024-05-01 ones fell out) -> 18 + 24 = 42; T1 four -> 24 + 32 = 56
    ("r3", "2024-05-01", 100), ("r3", "2024-05-01", 100), ("r3", "2025-02-01", 100),
    ("r3", "2025-03-01", 100), ("r3", "2025-06-01", 100),
    # r4: T2 2 x 210 -> 0.6 x 42 + 0.4 x 40 = 41.2; T1 nothing -> 0
    ("r4", "2025-05-01", 210), ("r4", "2025-06-15", 210),
    # r6 joined 2025-04-15 (not there at T1): 500 -> 30 + 8 = 38; r5 never bought -> 0
    ("r6", "2025-05-01", 500),
]


def shop() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame({
        "customer_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "created_at": ts(*["2024-01-01"] * 5, "2025-04-15"),
    })
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(ORDERS))],
        "customer_id": [o[0] for o in ORDERS],
        "ordered_at": ts(*[o[1] for o in ORDERS]),
        "amount": [float(o[2]) for o in ORDERS],
    })
    return {"customers": customers, "orders": orders}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "shop.yaml"
    path.write_text(MODEL, encoding="utf-8")
    return load_model(path)


def test_report_figures_by_hand(model):
    figures = report_figures(score(model, shop(), T2))
    assert figures["customers"] == 6
    # scores r1 78, r2 50, r3 42, r4 41.2, r5 0, r6 38 -> mean 249.2 / 6
    assert figures["mean_score"] == pytest.approx(249.2 / 6)
    tiers = {t["tier"]: t for t in figures["tiers"]}
    assert [t["customers"] for t in figures["tiers"]] == [1, 3, 2]  # high r1; mid r2-r4
    assert tiers["mid"]["mean_score"] == pytest.approx((50 + 42 + 41.2) / 3)
    assert tiers["low"]["share"] == pytest.approx(2 / 6)
    assert tiers["high"]["strategy"] == "Keep close"
    hist = {int(b["low"]): b["customers"] for b in figures["histogram"]}
    # 0 -> [0, 5); 38 -> [35, 40); 41.2, 42 -> [40, 45); 50 -> [50, 55); 78 -> [75, 80)
    assert {k: v for k, v in hist.items() if v} == {0: 1, 35: 1, 40: 2, 50: 1, 75: 1}
    dims = {d["id"]: d["mean"] for d in figures["dimensions"]}
    # value = spend scores 90, 70, 30, 42, 0, 50; activity = order scores 60, 20, 60, 40, 0, 20
    assert dims["value"] == pytest.approx(282 / 6)
    assert dims["activity"] == pytest.approx(200 / 6)
    assert figures["movers"] == {"available": False, "reason": "no --store given",
                                 "code": "no_store"}
    weights = [m["effective_weight"] for d in figures["model"]["dimensions"]
               for m in d["metrics"]]
    assert weights == [60, 40]


def require_store() -> None:
    if find_spec("crindex.store") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("crindex.store is missing but CI=true")
        pytest.skip("crindex.store (the history store) is not installed")


def test_top_movers_against_the_previous_snapshot(model, tmp_path):
    require_store()
    from crindex.store import open_store

    store = tmp_path / "history.duckdb"
    with open_store(store) as st:
        st.write_snapshot(score(model, shop(), T1))
    movers = report_figures(score(model, shop(), T2), store=store)["movers"]
    assert movers["available"] and movers["previous_as_of"] == T1
    assert movers["compared"] == 5  # r6 joined after T1
    # r1 26 -> 78 (+52), r4 0 -> 41.2 (+41.2); r3 56 -> 42 (-14); r2, r5 unchanged
    assert [(m["customer_id"], round(m["change"], 6)) for m in movers["risers"]] == [
        ("r1", 52.0), ("r4", 41.2)]
    assert [(m["customer_id"], m["previous_score"], m["score"]) for m in movers["fallers"]] == [
        ("r3", 56.0, 42.0)]
    assert movers["fallers"][0]["previous_tier"] == "mid"
    # a snapshot on the report's own date is not "previous"; none before T1 -> a reason
    early = report_figures(score(model, shop(), T1), store=store)["movers"]
    assert not early["available"] and "before 2025-03-31" in early["reason"]


def test_movers_are_skipped_without_the_store_package(model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "crindex.store", None)  # import fails as if absent
    figures = report_figures(score(model, shop(), T2), store=tmp_path / "h.duckdb")
    assert figures["movers"] == {"available": False,
                                 "reason": "crindex.store is not installed"}
    html = render_report(figures, "en")
    assert "No score history: crindex.store is not installed" in html


def test_pages_are_self_contained_in_both_languages(model, tmp_path):
    figures = report_figures(score(model, shop(), T2))
    for lang, words in (("en", ["Tier distribution", "Score distribution", "The model"]),
                        ("zh", ["等级分布", "得分分布", "各维度平均分", "模型"])):
        paths = write_report(figures, tmp_path / f"report_{lang}.html", lang)
        html = paths[0].read_text(encoding="utf-8")
        assert json.loads(paths[1].read_text(encoding="utf-8")) == json.loads(
            json.dumps(figures, default=str))
        for word in words:
            assert word in html
        assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in html
        # nothing to fetch: no script, stylesheet link, image or font URL; the one URL is the
        # SVG namespace
        assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", html)
        urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
        assert urls == {"http://www.w3.org/2000/svg"}
        assert html.count('<svg class="chart"') == 4  # tiers, histogram, dimensions, weights
        # one bar per tier (3), per histogram bin (20, empty ones at height 0), per dimension
        # (2) and per metric weight (2)
        assert html.count('class="bar"') == 3 + 20 + 2 + 2


def test_report_command_with_data_folder_and_quality(model, tmp_path):
    from typer.testing import CliRunner

    from crindex.cli import app

    data = tmp_path / "data"
    data.mkdir()
    for name, frame in shop().items():
        frame.to_parquet(data / f"{name}.parquet")
    out = tmp_path / "out" / "report.html"
    done = CliRunner().invoke(app, ["report", "--model", model.path, "--data", str(data),
                                    "--as-of", T2, "--out", str(out), "--lang", "zh"])
    assert done.exit_code == 0, done.output
    figures = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert figures["customers"] == 6
    assert {t["table"] for t in figures["quality"]["tables"]} == {"customers", "orders"}
    html = out.read_text(encoding="utf-8")
    assert "数据质量" in html and "orders.parquet" in html


def test_unknown_language_is_a_clear_error(model):
    from crindex.errors import DataError, Reason

    with pytest.raises(DataError) as exc:
        render_report(report_figures(score(model, shop(), T2)), "fr")
    assert exc.value.reason == Reason.BAD_PARAMETER and "en or zh" in str(exc.value)



def test_every_backtest_finding_reads_in_both_languages():
    import inspect

    from crindex import findings
    from crindex.backtest import run
    from crindex.report.html import finding_text
    from crindex.report.i18n import STRINGS, translator

    # the backtest's own findings, and those it shares with `crindex score` (crindex.findings)
    codes = set(re.findall(r'add\("(?:ok|warn|fail)", "(\w+)"', inspect.getsource(run.checks)))
    codes |= set(re.findall(r'finding\("(?:ok|warn|fail)", "(\w+)"',
                            inspect.getsource(findings)))
    codes |= {f"metric_points_{side}" for side in ("low", "high")}  # the one f-string code
    assert {"auc_ok", "tier_order", "tier_empty", "tier_crowded", "metric_reversed",
            "psi_shift"} <= codes
    for code in codes:
        assert f"check.{code}" in STRINGS, code
    # a tier inversion, in each language, from the same params the JSON keeps
    check = {"code": "tier_order", "message": "EN", "params": {
        "tier": "core", "kind": "inversion", "next": "potential", "churn_rate": 0.1,
        "next_churn_rate": 0.05}}
    assert finding_text(check, translator("en")) == (
        "tier core churns 10.0%, not less than the next tier potential (5.0%)")
    assert finding_text(check, translator("zh")) == (
        "等级 core 流失率 10.0%，不低于下一等级 potential（5.0%）")


def test_date_labels_of_a_long_line_chart_do_not_overlap():
    import datetime as dt
    import re

    from crindex.report import svg

    dates = [(dt.date(2025, 1, 5) + dt.timedelta(days=7 * i)).isoformat() for i in range(19)]
    chart = svg.line_chart(dates, [("score", [50.0 + i for i in range(19)])], title="t")
    shown = [(float(x), label) for x, label in
             re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle"[^>]*>([\d-]+)</text>',
                        chart)]
    # 10 characters at ~6.5 px need ~65 px; the plot is 458 px wide for 19 points
    assert 2 <= len(shown) < 19
    assert shown[-1][1] == dates[-1]  # the latest date is always labelled
    xs = [x for x, _ in shown]
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 65
    # every point is still drawn
    assert chart.count('class="point"') == 19
    # few points: every date shown
    few = svg.line_chart(dates[:4], [("score", [1.0, 2.0, 3.0, 4.0])], title="t")
    assert all(d in few for d in dates[:4])


def test_the_model_section_reads_in_words_in_both_languages():
    from crindex.backtest.run import model_summary
    from crindex.examples import example_path
    from crindex.report.html import model_section
    from crindex.report.i18n import describe_normaliser, tier_rules, translator

    summary = model_summary(load_model(example_path("b2b")))
    for tier in summary["tiers"]:  # the shipped tiers with their default English names
        tier["label"] = {"core": "Core", "potential": "Potential", "ordinary": "Ordinary",
                         "at_risk": "At risk"}[tier["id"]]
    zh = model_section(summary, translator("zh"), "zh")
    en = model_section(summary, translator("en"), "en")
    for html in (zh, en):
        assert not re.search(r"\{'|\[\{|method=|at_risk|1000000\.0", html)
    # the shipped b2b model (calibrated): ordinary from 52, annual purchases >= 40,000 = 5 points
    assert "风险客户" in zh and "核心客户" in zh and "&lt; 52" in zh and "分档：≥ 40,000：5 分" in zh
    assert "At risk" in en and "bins: ≥ 40,000: 5 points" in en
    # the catch-all's rule is the lowest bound's complement; rank tiers by share
    assert tier_rules([{"id": "a", "min": 70}, {"id": "b", "above": 40}, {"id": "c"}],
                      "en") == {"a": "≥ 70", "b": "> 40", "c": "≤ 40"}
    assert tier_rules([{"id": "a", "top": 10}, {"id": "b"}], "zh") == {"a": "前 10%",
                                                                     "b": "其余"}
    assert describe_normaliser({"method": "range", "min": 0, "max": 1000.0,
                                "direction": "lower"}, "en") == \
        "linear from 1,000 (0 points) down to 0 (100 points); lower is better"
    assert describe_normaliser({"method": "custom_thing", "k": 2.0}, "en") == \
        "custom_thing (k 2)"
