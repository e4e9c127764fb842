"""Why a score changed, read from a real store (DuckDB and PostgreSQL): worked by hand."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from crindex.model.loader import parse_model
from crindex.store import open_store
from crindex.store.history import customer_change, customer_history
from crindex.store.manual import adjust
from tests.support.store import WATCH_MODEL, fake_result, watch_model


def test_why_changed_with_a_model_change_and_an_adjustment(store_url, cli):
    """Week 1 (dimensions 60/40): spend 800 -> 80 points, 0.6 x 80 = 48; e-mail 12 days ->
    80 points, 0.4 x 80 = 32; score 80. Week 2 the model weighs 50/50: spend still 800 (80
    points) -> 40; e-mail 30 days -> 50 points -> 25; score 65, and +5 by hand: 70.

    spend: value 60 x (80 - 80) / 100 = 0, weight (40 - 48) - 0 = -8 (model);
    e-mail: value 40 x (50 - 80) / 100 = -12 (data), weight (25 - 32) + 12 = +5 (model);
    adjustment (70 - 65) - 0 = +5. Sum: -12 - 8 + 5 + 5 = -10 = 70 - 80.
    """
    store = open_store(store_url)
    store.write_snapshot(fake_result(watch_model(), "2025-06-23", {
        "a": {"score": 80.0, "spend": (800.0, 80.0), "email_recency": (12.0, 80.0)}}))
    even = parse_model(WATCH_MODEL.replace("weight: 60", "weight: 50")
                       .replace("weight: 40", "weight: 50"), "<watch>")
    store.write_snapshot(fake_result(even, "2025-06-30", {
        "a": {"score": 65.0, "spend": (800.0, 80.0), "email_recency": (30.0, 50.0)}}))
    adjust(store, "a", reason="key account", by="alice", points=5.0,
           effective=dt.date(2025, 6, 30))
    why = customer_change(store, "a")
    assert why.model_changed and why.change == pytest.approx(-10.0)
    assert why.totals == pytest.approx({"data": -12.0, "model": -3.0, "adjustment": 5.0,
                                        "rest": 0.0}, abs=1e-12)
    assert {(p.kind, p.what, p.metric): p.points for p in why.parts} == pytest.approx({
        ("model", "weight", "spend"): -8.0, ("data", "value", "email_recency"): -12.0,
        ("model", "weight", "email_recency"): 5.0, ("adjustment", "adjustments", None): 5.0})
    frame = customer_history(store, "a")
    assert frame.why.tolist() == ["", "data -12.00 (email_recency -12.00), model -3.00 "
                                  "(spend -8.00, email_recency +5.00), adjustments +5.00"]
    # the same split on the command line, by dates
    code, text = cli("history", "a", "--store", store_url, "--why", "--from", "2025-06-23",
                     "--to", "2025-06-30", "--json")
    assert code == 0, text
    assert json.loads(text)["totals"] == pytest.approx(why.totals)
    code, text = cli("history", "a", "--store", store_url, "--why", "--from", "2025-06-30",
                     "--to", "2025-06-30")
    assert code == 0 and "change" in text  # a snapshot against itself: no change, no error
    code, text = cli("history", "a", "--store", store_url, "--why", "--to", "2025-06-23")
    assert code == 2 and "Traceback" not in text and "no snapshot" in text
