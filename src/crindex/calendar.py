"""Calendar arithmetic: windows, months and horizons, in one place.

A *window* or *horizon* is written as a count and a unit: ``90d``, ``12w``, ``6m``, ``1y``
(``all`` is no window). Days and weeks count days; months and years are calendar months, the
day clamped to the month's end (2025-01-31 + 1m = 2025-02-28; 2024-02-29 + 1y = 2025-02-28).
Where a month has to be a *length* (a rate per month, a CLV horizon in weeks) it is the mean
Gregorian month, 365.25 / 12 days.

Two readings of a length on a date, both half-open so that consecutive periods never share a
day:

- a window *ending* on ``as_of`` keeps the days ``(window_start(as_of, w), as_of]``;
- a horizon *after* ``as_of`` is ``(as_of, horizon_end(as_of, h)]``.

Standard library only (and :mod:`crindex.errors`), so the model package can use it.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
import re

from crindex.errors import DataError, Reason

#: mean Gregorian year and month, in days: lengths, never calendar steps
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7

_WINDOW = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")
_HORIZON_HINT = "write a number and a unit: 90d, 12w, 6m or 1y"


def parse_window(text: str | None) -> tuple[int, str] | None:
    """Parse ``"90d"``, ``"12w"``, ``"6m"``, ``"1y"`` or ``"all"`` into (count, unit).

    Returns ``None`` for ``all``, an empty text or ``None`` (no window).

    Raises
    ------
    ValueError
        When the text is neither a count with a unit nor ``all``.
    """
    if text is None or str(text).strip().lower() in {"all", ""}:
        return None
    m = _WINDOW.match(str(text).lower())
    if not m:
        raise ValueError(
            f"window {text!r} is not understood; write a number and a unit: 90d, 12w, 6m, 1y, "
            "or 'all'"
        )
    return int(m.group(1)), m.group(2)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months (negative: back), the day clamped to the month.

    >>> add_months(dt.date(2025, 1, 31), 1)
    datetime.date(2025, 2, 28)
    """
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, _stdlib_calendar.monthrange(year, month)[1]))


def shift(day: dt.date, count: int, unit: str) -> dt.date:
    """``day`` moved by ``count`` units (``d``, ``w``, ``m``, ``y``; negative: back)."""
    if unit == "d":
        return day + dt.timedelta(days=count)
    if unit == "w":
        return day + dt.timedelta(weeks=count)
    if unit in ("m", "y"):
        return add_months(day, count * (12 if unit == "y" else 1))
    raise ValueError(f"unknown unit {unit!r}: use d, w, m or y")


def window_start(as_of: dt.date, window: str | None) -> dt.date | None:
    """First day *excluded* from a window ending on ``as_of``: rows count when day > start.

    ``90d`` ending 2026-06-30 keeps days 2026-04-02 .. 2026-06-30 (90 days). Months and years
    are calendar months (the day is clamped to the month's end). ``None`` for no window.
    """
    parsed = parse_window(window)
    if parsed is None:
        return None
    return shift(as_of, -parsed[0], parsed[1])


def consecutive_windows(as_of: dt.date, window: str, periods: int,
                        ) -> list[tuple[dt.date, dt.date]]:
    """``periods`` windows back to back ending on ``as_of``, oldest first: ``(start, end]``.

    Each is as long as ``window`` (calendar months for ``m`` and ``y``): ``30d`` and 3 periods
    ending 2025-06-30 are (2025-04-01, 2025-05-01], (2025-05-01, 2025-05-31] and
    (2025-05-31, 2025-06-30]. The last one is the window a plain metric reads.
    """
    parsed = parse_window(window)
    if parsed is None:
        raise ValueError("consecutive windows need a length (e.g. 30d), not `all`")
    count, unit = parsed
    ends = [shift(as_of, -count * k, unit) for k in range(periods + 1)]
    return [(ends[k + 1], ends[k]) for k in reversed(range(periods))]


def _horizon(horizon: str) -> tuple[int, str]:
    try:
        parsed = parse_window(horizon)
    except ValueError:
        parsed = None
    if parsed is None or parsed[0] <= 0:
        raise DataError.single(Reason.BAD_PARAMETER,
                               f"horizon {horizon!r} is not a length of time", "--horizon",
                               _HORIZON_HINT)
    return parsed


def horizon_end(as_of: dt.date, horizon: str) -> dt.date:
    """Last day of the horizon ``(as_of, end]``: ``90d`` from 2025-06-30 ends 2025-09-28.

    Raises
    ------
    DataError
        ``BAD_PARAMETER`` (where ``--horizon``) when ``horizon`` is not a positive length.
    """
    return shift(as_of, *_horizon(horizon))


def horizon_start(as_of: dt.date, horizon: str) -> dt.date:
    """``as_of`` moved back by one horizon: the date whose horizon ends on ``as_of``.

    For days and weeks ``horizon_end(horizon_start(d, h), h) == d``; for months the clamping
    can make it earlier (2025-03-31 - 1m = 2025-02-28, whose month ends on 2025-03-28).

    Raises
    ------
    DataError
        As :func:`horizon_end`.
    """
    count, unit = _horizon(horizon)
    return shift(as_of, -count, unit)


def window_weeks(window: str | None) -> float | None:
    """Length of a window in weeks, months and years at their mean length (``12m`` = 52.18).

    ``None`` for no window.
    """
    parsed = parse_window(window)
    if parsed is None:
        return None
    count, unit = parsed
    return count * {"d": 1 / 7, "w": 1.0, "m": WEEKS_PER_MONTH, "y": 12 * WEEKS_PER_MONTH}[unit]
