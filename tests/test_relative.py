"""Relative and trend metrics (``change``, ``trend``, ``tenure_rate``), golden values by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crindex.api import score
from crindex.calendar import DAYS_PER_MONTH, consecutive_windows
from crindex.errors import ModelError
from crindex.model import parse_model
from tests.conftest import AS_OF


def metric_model(*metrics: str) -> str:
    weight = 100 / len(metrics)
    lines = "\n".join(f"      - {{{m}, weight: {weight}, normalise: {{method: identity}}}}"
                      for m in metrics)
    return f"name: rel\ndimensions:\n  - id: all\n    metrics:\n{lines}\n"


def raw(result, metric):
    return dict(zip(result.table.column("customer_id").to_pylist(),
                    result.table.column(f"{metric}__raw").to_pylist(), strict=True))


def close(got, expected):
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert (got[k] is None) == (v is None), (k, got[k], v)
        if v is not None:
            assert got[k] == pytest.approx(v, abs=1e-9), k


def test_consecutive_windows_by_hand():
    # 90 days back from 2025-06-30 is 2025-04-01, 90 more 2025-01-01
    assert consecutive_windows(AS_OF, "90d", 2) == [
        (dt.date(2025, 1, 1), dt.date(2025, 4, 1)), (dt.date(2025, 4, 1), AS_OF)]
    # calendar months: 2025-03-30 -> 2025-04-30 -> 2025-05-30 -> 2025-06-30
    assert consecutive_windows(AS_OF, "1m", 3)[0] == (dt.date(2025, 3, 30), dt.date(2025, 4, 30))


def test_change_in_percent_and_points_by_hand(five):
    # windows (2025-01-01, 2025-04-01] and (2025-04-01, 2025-06-30]; paid orders:
    # c1 500 on 01-10 (previous), 1000 on 06-20 (this); its 2024 order is older, its refund
    #    of 05-01 is not a purchase
    # c2 100 on 03-01 and 200 on 04-01 (both previous: 04-01 ends the previous window)
    # c3 50 on 06-30 (this); c4 none; c5 400 on 2024-07-01 (older than both)
    model = parse_model(metric_model(
        "id: n_pct, aggregate: change, window: 90d, params: {of: count}",
        "id: n_pts, aggregate: change, window: 90d, params: {of: count, as: points}",
        "id: spend_pts, aggregate: change, column: amount, window: 90d, "
        "params: {of: sum, as: points}",
        "id: avg_pct, aggregate: change, column: amount, window: 90d, params: {of: mean}",
    ))
    result = score(model, five, AS_OF)
    # counts this/previous: c1 1/1 -> 0 %; c2 0/2 -> (0 - 2) / 2 = -100 %; c3 1/0, c4 0/0,
    # c5 0/0: no previous, no percent
    close(raw(result, "n_pct"), {"c1": 0.0, "c2": -100.0, "c3": None, "c4": None, "c5": None})
    close(raw(result, "n_pts"), {"c1": 0.0, "c2": -2.0, "c3": 1.0, "c4": 0.0, "c5": 0.0})
    # spend: c1 1000 - 500; c2 0 - 300; c3 50 - 0
    close(raw(result, "spend_pts"), {"c1": 500.0, "c2": -300.0, "c3": 50.0, "c4": 0.0,
                                     "c5": 0.0})
    # mean order: c1 (1000 - 500) / 500 = +100 %; c2 has no order this window and c3 none
    # before: a mean of no rows is no value
    close(raw(result, "avg_pct"), {"c1": 100.0, "c2": None, "c3": None, "c4": None,
                                   "c5": None})


def trend_world() -> dict[str, pd.DataFrame]:
    """Two customers over six 60-day windows ending 2025-06-30.

    The windows (oldest first): w1 (2024-07-05, 2024-09-03], w2 (.., 2024-11-02],
    w3 (.., 2025-01-01], w4 (.., 2025-03-02], w5 (.., 2025-05-01], w6 (.., 2025-06-30].
    """
    customers = pd.DataFrame({
        "customer_id": ["a", "b"],
        "created_at": pd.to_datetime(["2024-01-01", "2025-03-15"]),
    })
    days = {"a": ["2024-08-01", "2025-02-01", "2025-06-01", "2025-06-15"],
            "b": ["2025-04-01", "2025-06-10", "2025-06-11"]}
    rows = [(cid, d) for cid, ds in days.items() for d in ds]
    orders = pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(rows))],
        "customer_id": [c for c, _ in rows],
        "ordered_at": pd.to_datetime([d for _, d in rows]),
        "amount": [10.0] * len(rows),
        "status": ["paid"] * len(rows),
    })
    return {"customers": customers, "orders": orders}


def test_consecutive_windows_of_the_trend_world():
    ends = [e for _, e in consecutive_windows(AS_OF, "60d", 6)]
    assert ends == [dt.date(2024, 9, 3), dt.date(2024, 11, 2), dt.date(2025, 1, 1),
                    dt.date(2025, 3, 2), dt.date(2025, 5, 1), AS_OF]


def test_trend_slope_and_its_gate_by_hand():
    model = parse_model(metric_model(
        "id: t2, aggregate: trend, window: 60d, params: {of: count, periods: 6, min_periods: 2}",
        "id: t3, aggregate: trend, window: 60d, params: {of: count, periods: 6, min_periods: 3}",
    ))
    result = score(model, trend_world(), AS_OF)
    # a: orders per window 1, 0, 0, 1, 0, 2 at x = 1..6; mean x 3.5:
    #    slope = sum((x - 3.5) y) / sum((x - 3.5)^2) = (-2.5 + 0.5 + 2 x 2.5) / 17.5 = 3 / 17.5
    # b: created 2025-03-15, so only w5 and w6 (ending after it) count: y 1 then 2, slope 1
    #    (over all six windows it would be (1.5 + 2 x 2.5) / 17.5 = 0.371: the windows before
    #    a customer existed are not a rise)
    close(raw(result, "t2"), {"a": 3 / 17.5, "b": 1.0})
    # the gate: b has rows in 2 windows, fewer than 3: no value; a has 3
    close(raw(result, "t3"), {"a": 3 / 17.5, "b": None})


def test_trend_of_a_mean_skips_windows_without_rows(five):
    # 90-day windows ending 2025-06-30, four of them: w1 (2024-07-05, 2024-10-03],
    # w2 (.., 2025-01-01], w3 (.., 2025-04-01], w4 (.., 2025-06-30]
    # c1 mean order: w3 500 (01-10), w4 1000 (06-20); w1, w2 no order: left out, not 0
    #    -> the slope through (3, 500) and (4, 1000) is 500
    # c2: w3 only (100 and 200 on 03-01, 04-01): one window, under the gate of 2
    model = parse_model(metric_model(
        "id: avg_trend, aggregate: trend, column: amount, window: 90d, "
        "params: {of: mean, periods: 4, min_periods: 2}"))
    result = score(model, five, AS_OF)
    close(raw(result, "avg_trend"), {"c1": 500.0, "c2": None, "c3": None, "c4": None,
                                     "c5": None})


def test_tenure_rate_by_hand(five):
    model = parse_model(metric_model(
        "id: per_month, aggregate: tenure_rate, window: 365d, params: {of: count}",
        "id: spend_per_year, aggregate: tenure_rate, column: amount, window: 365d, "
        "params: {of: sum, per: year}",
    ))
    result = score(model, five, AS_OF)
    month = DAYS_PER_MONTH  # 30.4375 days
    # paid orders in (2024-06-30, 2025-06-30]: c1 2 (01-10, 06-20), c2 2, c3 1, c4 0,
    # c5 1 (2024-07-01). Time in the window: 365 days, but c3 was created 2025-01-01, 180
    # days before as_of: c3 is 1 order per 180 / 30.4375 months
    close(raw(result, "per_month"), {"c1": 2 / (365 / month), "c2": 2 / (365 / month),
                                     "c3": 1 / (180 / month), "c4": 0.0,
                                     "c5": 1 / (365 / month)})
    # spend per year: c1 1500 over 365 / 365.25 years; c3 50 over 180 / 365.25
    got = raw(result, "spend_per_year")
    assert got["c1"] == pytest.approx(1500 / (365 / 365.25), abs=1e-9)
    assert got["c3"] == pytest.approx(50 / (180 / 365.25), abs=1e-9)


def test_relative_metrics_say_what_they_need():
    with pytest.raises(ModelError) as info:
        parse_model(metric_model(
            "id: a, aggregate: change, params: {of: sum}",
            "id: b, aggregate: trend, window: 30d, params: {of: count, periods: 3, "
            "min_periods: 4}",
            "id: c, aggregate: tenure_rate, params: {of: mean}",
        ), "m.yaml")
    text = str(info.value)
    assert "metric `a`: change needs a window" in text
    assert "metric `a`: change of `sum` needs a column" in text
    assert "min_periods (4) cannot exceed periods (3)" in text
    assert "`c`" in text and "mean" in text
