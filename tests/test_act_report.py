"""Why the top movers of the report moved: data parts worked out by hand."""

from __future__ import annotations

import pytest

from crindex.api import score
from crindex.report.html import render_report
from crindex.report.scoring import report_figures
from tests.test_report import T1, T2, model, require_store, shop  # noqa: F401 - the fixture


def test_movers_say_why_by_hand(model, tmp_path):  # noqa: F811 - the fixture
    """r1: spend 300 -> 900 (30 -> 90 points at weight 60: +36), orders 1 -> 3 (20 -> 60 at
    weight 40: +16): 26 -> 78, +52, all data. r3: spend 400 -> 300 (40 -> 30: -6), orders
    4 -> 3 (80 -> 60: -8): 56 -> 42, -14. The same model: no model part."""
    require_store()
    from crindex.store import open_store

    store = tmp_path / "history.duckdb"
    with open_store(store) as st:
        st.write_snapshot(score(model, shop(), T1))
    figures = report_figures(score(model, shop(), T2), store=store)
    movers = {m["customer_id"]: m for m in figures["movers"]["risers"] +
              figures["movers"]["fallers"]}
    r1 = {(p["kind"], p["metric"]): p["points"] for p in movers["r1"]["why_parts"]}
    assert r1 == pytest.approx({("data", "spend"): 36.0, ("data", "orders"): 16.0})
    assert movers["r1"]["why"] == "data +52.00 (spend +36.00, orders +16.00)"
    assert movers["r3"]["why"] == "data -14.00 (orders -8.00, spend -6.00)"
    for m in movers.values():
        assert sum(p["points"] for p in m["why_parts"]) == pytest.approx(m["change"], abs=1e-9)
    assert "data +52.00 (spend +36.00, orders +16.00)" in render_report(figures, "en")
