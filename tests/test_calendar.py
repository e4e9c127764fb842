"""Calendar arithmetic (crindex.calendar): hand-computed dates and the laws they obey."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crindex.calendar import (
    DAYS_PER_MONTH,
    WEEKS_PER_MONTH,
    add_months,
    horizon_end,
    horizon_start,
    parse_window,
    shift,
    window_start,
    window_weeks,
)
from crindex.errors import DataError, Reason

D = dt.date
days = st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 12, 31))


def test_parse_window():
    assert parse_window("90d") == (90, "d")
    assert parse_window(" 12 W ") == (12, "w")
    assert parse_window("6m") == (6, "m") and parse_window("1y") == (1, "y")
    assert parse_window("all") is None and parse_window(None) is None and parse_window("") is None
    for bad in ("ninety days", "1.5m", "-3d", "3q"):
        with pytest.raises(ValueError, match="not understood"):
            parse_window(bad)


def test_add_months_clamps_to_the_months_end():
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)  # leap year
    assert add_months(D(2025, 3, 31), 1) == D(2025, 4, 30)
    assert add_months(D(2025, 3, 31), -1) == D(2025, 2, 28)
    assert add_months(D(2024, 2, 29), 12) == D(2025, 2, 28)
    assert add_months(D(2024, 2, 29), 48) == D(2028, 2, 29)
    assert add_months(D(2025, 11, 15), 2) == D(2026, 1, 15)  # over the year's end
    assert add_months(D(2025, 1, 15), -1) == D(2024, 12, 15)
    assert add_months(D(2025, 1, 15), -25) == D(2022, 12, 15)
    assert add_months(D(2025, 5, 20), 0) == D(2025, 5, 20)


def test_window_start_is_the_first_day_left_out():
    # 90d ending 2026-06-30 keeps 2026-04-02 .. 06-30: 29 + 31 + 30 = 90 days
    assert window_start(D(2026, 6, 30), "90d") == D(2026, 4, 1)
    assert window_start(D(2026, 6, 30), "2w") == D(2026, 6, 16)
    assert window_start(D(2025, 3, 31), "1m") == D(2025, 2, 28)
    assert window_start(D(2024, 3, 31), "1m") == D(2024, 2, 29)
    assert window_start(D(2025, 2, 28), "1y") == D(2024, 2, 28)
    assert window_start(D(2026, 6, 30), "all") is None


def test_horizon_end_and_start():
    assert horizon_end(D(2025, 6, 30), "90d") == D(2025, 9, 28)
    assert horizon_end(D(2025, 6, 30), "2w") == D(2025, 7, 14)
    assert horizon_end(D(2025, 1, 31), "1m") == D(2025, 2, 28)  # clamped
    assert horizon_end(D(2024, 2, 29), "1y") == D(2025, 2, 28)
    assert horizon_end(D(1997, 12, 31), "180d") == D(1998, 6, 29)
    assert horizon_start(D(2025, 9, 28), "90d") == D(2025, 6, 30)
    assert horizon_start(D(2025, 3, 31), "1m") == D(2025, 2, 28)
    for bad in ("all", "0d", "ninety days", ""):
        for fn in (horizon_end, horizon_start):
            with pytest.raises(DataError) as exc:
                fn(D(2025, 6, 30), bad)
            assert exc.value.reason == Reason.BAD_PARAMETER
            assert exc.value.problems[0].where == "--horizon"


def test_window_weeks_uses_the_mean_month():
    assert window_weeks("14d") == pytest.approx(2.0)
    assert window_weeks("12m") == pytest.approx(365.25 / 7)
    assert window_weeks("1y") == pytest.approx(365.25 / 7)
    assert window_weeks("all") is None
    assert DAYS_PER_MONTH == pytest.approx(30.4375) and WEEKS_PER_MONTH * 7 == DAYS_PER_MONTH


@given(days, st.integers(-600, 600))
def test_add_months_lands_in_the_right_month_on_the_clamped_day(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and
                                    (moved + dt.timedelta(days=1)).month != moved.month)


@given(days, st.integers(-600, 600))
def test_add_months_round_trips_when_the_day_exists_in_both_months(day, months):
    back = add_months(add_months(day, months), -months)
    assert back <= day  # clamping only ever moves a day earlier
    if day.day <= 28:
        assert back == day


@given(days, days, st.integers(-240, 240))
def test_add_months_is_monotonic(a, b, months):
    lo, hi = sorted((a, b))
    assert add_months(lo, months) <= add_months(hi, months)


@given(days, st.integers(0, 240), st.integers(0, 240))
def test_add_months_composes_like_the_sum_from_a_day_every_month_has(day, m1, m2):
    start = day.replace(day=min(day.day, 28))
    assert add_months(add_months(start, m1), m2) == add_months(start, m1 + m2)


@given(days, st.integers(1, 1000), st.sampled_from("dw"))
def test_day_and_week_horizons_invert_exactly(day, count, unit):
    h = f"{count}{unit}"
    assert horizon_start(horizon_end(day, h), h) == day
    assert horizon_end(day, h) - day == dt.timedelta(days=count * (7 if unit == "w" else 1))
    assert window_start(horizon_end(day, h), h) == day


@given(days, st.integers(1, 60), st.sampled_from("dwmy"))
def test_a_horizon_ends_after_as_of_and_a_window_starts_before(day, count, unit):
    h = f"{count}{unit}"
    assert horizon_end(day, h) > day > window_start(day, h)
    assert shift(day, count, unit) == horizon_end(day, h)
