"""One tier palette: derived from the model's tiers, the same on the dashboard and both reports.

A model with five custom tiers is scored into a store and served by a real ``crindex serve``;
its tier colours are read from the dashboard (the badge stylesheet and the portfolio's tier
bars), from the backtest page (churn by tier) and from the scoring report (tier bars).
"""

from __future__ import annotations

import re

import pytest

from crindex.report.palette import css_class, ramp, tier_colors, tier_css
from crindex.report.svg import as_date, line_chart
from tests.support.service import AS_OF, Server, build_world, sign_in

FIVE = """
tiers:
  by: score
  levels:
    - {id: gold, label: Gold accounts, min: 80}
    - {id: silver, label: Silver, min: 65}
    - {id: bronze, label: Bronze, min: 50}
    - {id: iron, label: Iron, min: 35}
    - {id: lead, label: Lead}
"""


def test_the_ramp_by_hand():
    # five tiers sit at 0, 1/4, 1/2, 3/4, 1 of green (22,163,74) - amber (245,158,11) -
    # red (220,38,38); 1/4 is half way from green to amber: (22+245)/2 = 133.5 -> 134 (0x86),
    # (163+158)/2 = 160.5 -> 160 (0xa0), (74+11)/2 = 42.5 -> 42 (0x2a) (round half to even);
    # 3/4 half way from amber to red: (245+220)/2 = 232.5 -> 232 (0xe8), (158+38)/2 = 98
    # (0x62), (11+38)/2 = 24.5 -> 24 (0x18)
    five = tier_colors(["a", "b", "c", "d", "e"])
    assert five == {"a": "#16a34a", "b": "#86a02a", "c": "#f59e0b", "d": "#e86218",
                    "e": "#dc2626"}
    assert ramp(0.75) == five["d"]
    assert tier_colors(["only"]) == {"only": "#16a34a"}
    assert tier_colors([]) == {}
    css = tier_css(tier_colors(["core", "at risk"]))
    assert ".tier-core{background:#16a34a}" in css and ".tier-at_risk{background:#dc2626}" in css
    assert css_class("a b/c") == "tier-a_b_c"


def test_score_chart_draws_threshold_lines_both_series_and_dates_as_dates():
    chart = line_chart(["2025-12-01T00:00:00.000001", "2025-12-31 00:00:00"],
                       [("score", [40.0, 41.0]), ("adjusted", [40.0, 41.0])], title="t",
                       thresholds=[("≥ 90 Core", 90.0), ("≥ 50 Ordinary", 50.0)], y_max=100)
    assert chart.count('<line class="threshold"') == 2
    assert "≥ 90 Core" in chart
    assert chart.count('<polyline class="line"') == 2
    assert 'stroke-dasharray="6 4"' in chart  # the second (adjusted) line is dashed on top
    assert ">2025-12-31<" in chart and "00:00" not in chart.replace("title", "")
    assert as_date("2025-12-31T10:11:12.123456") == "2025-12-31"
    # the last date label stays inside the chart: its centre at most width - half its width
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle"',
                                       chart)]
    assert max(xs) <= 530 - (10 * 6.5) / 2


def bar_fills(html: str, labels: list[str]) -> dict[str, str]:
    """The fill of each tier's bar, read from a chart's bars' tooltips (``label: value``)."""
    fills = {}
    for fill, title in re.findall(r'<rect class="bar"[^>]*fill="(#[0-9a-f]{6})"><title>([^<]*)'
                                  r"</title>", html):
        label = title.rsplit(":", 1)[0]
        if label in labels:
            fills.setdefault(label, fill)
    return fills


@pytest.fixture(scope="module")
def five_tiers(tmp_path_factory):
    from crindex.api import score
    from crindex.model.loader import load_model
    from crindex.service.auth import create_token
    from crindex.store import fingerprint, open_store

    world = build_world()
    folder = tmp_path_factory.mktemp("five")
    text = world.model.read_text(encoding="utf-8")
    path = folder / "five.yaml"
    body = re.sub(r"\ntiers:\n(?:[ \n].*\n?)*", "\n", text)  # the shipped tiers out
    path.write_text(body + FIVE, encoding="utf-8")
    model = load_model(path)
    assert model.tiers.order == ["gold", "silver", "bronze", "iron", "lead"]
    result = score(model, str(world.data), AS_OF)
    store_path = folder / "five.duckdb"
    with open_store(store_path) as store:
        store.write_snapshot(result, fingerprint(str(world.data)))
        token = create_token(store, "palette", ["read"])[0]
    return world, path, model, result, store_path, token


def test_five_custom_tiers_have_one_palette_on_the_dashboard_and_both_reports(five_tiers,
                                                                               tmp_path):
    from crindex.backtest.run import run_backtest
    from crindex.report.html import render_backtest, render_report
    from crindex.report.scoring import report_figures

    world, path, model, result, store_path, token = five_tiers
    want = tier_colors(model.tiers.order)
    assert len(set(want.values())) == 5
    labels = {lv.id: lv.display for lv in model.tiers.levels}
    by_label = {labels[t]: c for t, c in want.items()}

    report = render_report(report_figures(result), "en")
    backtest = render_backtest(run_backtest(model, str(world.data), [AS_OF], "90d",
                                            n_boot=20), "en")
    server = Server(world, "palette", data=False, source=store_path, model=path,
                    tokens={"read": token})
    try:
        css = server.client().get("/ui/tiers.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        served = dict(re.findall(r"\.tier-(\w+)\{background:(#[0-9a-f]{6})\}", css.text))
        client, _ = sign_in(server, token)
        portfolio = client.get("/ui/portfolio").text
        customers = client.get("/ui/customers").text
    finally:
        server.stop()
    assert served == want
    assert bar_fills(portfolio, list(by_label)) == by_label
    # the scoring report's tier bars and the backtest's churn by tier: the same colours
    assert bar_fills(report, list(by_label)) == by_label
    assert bar_fills(backtest, list(by_label)) == by_label
    # every badge on the list carries its tier's class (so the served stylesheet colours it)
    assert re.search(r'class="tier tier-(gold|silver|bronze|iron|lead)"', customers)
    assert 'href="/ui/tiers.css"' in portfolio
