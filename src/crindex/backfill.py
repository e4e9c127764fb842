"""Backfill: point-in-time snapshots for past dates, so history exists from day one.

Scoring a past ``as_of`` reads no row dated after it (see docs/model.md), so a backfilled
snapshot is what a run on that day would have written. The data is read once; each date is
scored and recorded with :func:`crindex.record.record_run` (its snapshot and, unless asked
not to, the alerts recomputed from the history, in one transaction), oldest date first.
Alerts are a function of the history (:mod:`crindex.alerts.episodes`), so backfilling the
same dates again, or dates before existing snapshots, leaves the alerts one ordered pass
would (same ids, same statuses).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crindex.calendar import parse_window, shift
from crindex.errors import Problem, Reason, StoreError, raise_if
from crindex.model.spec import CRIModel
from crindex.record import record_run
from crindex.store.base import Store
from crindex.store.snapshot import fingerprint


def schedule(start: dt.date, end: dt.date, every: str) -> list[dt.date]:
    """``start``, ``start + every``, ... up to ``end``, and ``end`` itself.

    ``end`` is always the last date, also when it is not on a step (2025-09-01 to 2025-12-31
    every 7d ends ..., 12-22, 12-29, 12-31), so a backfill reaches the day asked for.
    ``every`` is ``7d``, ``2w``, ``1m`` (calendar months: the day is kept where the month
    has it, else the month's last day) or ``1y``.
    """
    problems = []
    try:
        step = parse_window(every)
    except ValueError as exc:
        step = None
        problems.append(Problem(str(exc), "--every", "e.g. --every 7d", Reason.BAD_PARAMETER))
    else:
        if step is None or step[0] < 1:
            problems.append(Problem(f"--every {every!r} is not a step forward", "--every",
                                    "e.g. --every 7d or --every 1m", Reason.BAD_PARAMETER))
    if end < start:
        problems.append(Problem(f"--to {end} is before --from {start}", "--to",
                                "give the earliest date first", Reason.BAD_PARAMETER))
    raise_if(problems, StoreError, "cannot plan the backfill")
    assert step is not None
    count, unit = step
    dates: list[dt.date] = []
    i = 0
    while True:
        day = shift(start, i * count, unit)
        if day > end:
            if dates[-1] != end:  # --to is included even off the step
                dates.append(end)
            return dates
        dates.append(day)
        i += 1


@dataclass
class Step:
    """One backfilled snapshot."""

    as_of: dt.date
    run_id: str
    customers: int
    mean_score: float | None
    raised: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)


def open_checked(model: CRIModel, data: Any, dates: list[dt.date]) -> Any:
    """``data`` opened and checked once for every date of ``dates``, guardrails included.

    The data is judged at the last date (rows lost, stale data) and at the first (as_of before
    the data), so a backfill the guardrails refuse stops before its store is touched.
    """
    from crindex.data import open_dataset
    from crindex.data.guardrails import enforce, judge_dates

    dataset = open_dataset(data, model=model, as_of=max(dates) if dates else None)
    if dates:
        enforce(dataset.quality, judge_dates(dataset.quality, model, min(dates)))
    return dataset


def backfill(model: CRIModel, data: Any, dates: list[dt.date], store: Store, *,
             alerts: bool = True, on_step: Callable[[Step], None] | None = None,
             dataset: Any = None) -> list[Step]:
    """Score ``data`` at every date of ``dates`` and write each snapshot to ``store``.

    ``data`` is anything :func:`crindex.data.open_dataset` opens (a data folder, DuckDB file or
    URL, a mapping of canonical tables, ...); it is opened and checked once
    (:func:`open_checked`), or ``dataset`` is that opened data.
    """
    import pyarrow.compute as pc

    from crindex.api import score

    report = on_step or (lambda _step: None)
    data_fp = fingerprint(data)
    if dataset is None:
        dataset = open_checked(model, data, dates)
    steps = []
    for day in sorted(dates):
        result = score(model, dataset, day)
        record = record_run(store, result, data_fp, alerts=alerts)
        mean = pc.mean(result.table.column("score")).as_py() if result.table.num_rows else None
        step = Step(day, record.run_id, result.table.num_rows, mean, record.raised,
                    record.resolved)
        steps.append(step)
        report(step)
    return steps
