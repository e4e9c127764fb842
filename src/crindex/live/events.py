"""Events: one data row each (an order, an interaction, a survey answer), checked as it comes.

An event is a JSON object: ``event`` (``order``, ``interaction`` or ``survey``) and the
columns of its canonical table (:mod:`crindex.contract`), by their canonical names (an
interaction's or a survey answer's own ``kind`` column keeps its name)::

    {"event": "order", "customer_id": "C00042", "ordered_at": "2025-06-30T10:12:00",
     "amount": 129.0, "order_id": "O-99812"}
    {"event": "survey", "customer_id": "C00042", "answered_at": "2025-06-30", "kind": "nps",
     "score": 9}

Every rule of the contract that a row can break on its own is checked here, all problems at
once, each with where it is (``events[3].amount``): required columns, types, the words of
strict vocabularies (case folded, ``Paid`` is ``paid``), valid ranges, negative amounts only
for refunds. Defaults are filled in (an order without ``status`` is ``paid``). Columns outside
the contract are ignored (an export's own columns); whether the customer exists is the live
scorer's check (:meth:`crindex.live.scorer.LiveScorer.submit`). Model ``sources:`` mappings
do not apply: events are sent in canonical names.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crindex.contract import FALSE_WORDS, TABLE, TIME_COLUMN, TRUE_WORDS
from crindex.errors import DataError, Problem, Reason, raise_if

#: event kind -> canonical table
KINDS: dict[str, str] = {"order": "orders", "interaction": "interactions", "survey": "surveys"}


@dataclass(frozen=True)
class Event:
    """One checked event: its table, customer, time and typed row (canonical columns)."""

    kind: str
    table: str
    customer_id: str
    happened_at: dt.datetime
    row: dict[str, Any]

    def to_json(self) -> str:
        """The row as kept in the store (``events.row_json``): read back by :func:`parse_events`."""
        return json.dumps({"event": self.kind, **{k: _plain(v) for k, v in self.row.items()}},
                          ensure_ascii=False, sort_keys=True)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else \
            value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value).strip().replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a yes/no is not a number")
    number = float(str(value).strip()) if isinstance(value, str) else float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError("not a yes/no")


_TYPE_HINT = {"ts": "a date or time such as 2025-06-30 or 2025-06-30T10:12:00",
              "num": "a number", "bool": "yes/no, true/false or 1/0",
              "id": "a text id", "cat": "a short text"}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_event(item: Any, where: str) -> tuple[Event | None, list[Problem]]:
    """One event from a JSON object; ``(None, problems)`` when it breaks a rule."""
    if not isinstance(item, Mapping):
        return None, [Problem(f"an event must be a JSON object, got {type(item).__name__}",
                              where, 'e.g. {"event": "order", "customer_id": "C1", ...}',
                              Reason.BAD_PARAMETER)]
    kind = item.get("event")
    if kind not in KINDS:
        return None, [Problem(f"unknown event {kind!r}", f"{where}.event",
                              "`event` is one of " + ", ".join(KINDS), Reason.BAD_PARAMETER)]
    table = TABLE[KINDS[str(kind)]]
    problems: list[Problem] = []
    row: dict[str, Any] = {}
    for col in table.columns:
        at = f"{where}.{col.name}"
        value = item.get(col.name)
        if _empty(value):
            if col.default is not None:
                row[col.name] = col.default
            elif col.required:
                problems.append(Problem(f"{kind} event without `{col.name}`", at,
                                        f"give {_TYPE_HINT[col.type]}", Reason.BAD_PARAMETER))
            else:
                row[col.name] = None
            continue
        try:
            if col.type == "ts":
                typed: Any = _timestamp(value)
            elif col.type == "num":
                typed = _number(value)
            elif col.type == "bool":
                typed = _bool(value)
            else:
                if isinstance(value, (dict, list)):
                    raise ValueError("not a text")
                typed = str(value).strip()
        except (TypeError, ValueError):
            problems.append(Problem(f"`{col.name}` {value!r} is not {_TYPE_HINT[col.type]}",
                                    at, f"give {_TYPE_HINT[col.type]}", Reason.BAD_PARAMETER))
            continue
        if col.vocabulary and col.type == "cat":
            typed = typed.lower()
            if col.strict and typed not in col.vocabulary:
                problems.append(Problem(f"`{col.name}` {value!r} is not allowed", at,
                                        "use one of " + ", ".join(col.vocabulary),
                                        Reason.BAD_PARAMETER))
                continue
        row[col.name] = typed
    for col in table.columns:
        value = row.get(col.name)
        if not isinstance(value, float):
            continue
        at = f"{where}.{col.name}"
        bounds = col.valid
        if col.valid_by is not None:
            bounds = col.valid_by[1].get(str(row.get(col.valid_by[0])))
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            problems.append(Problem(f"`{col.name}` {value:g} is outside {bounds[0]:g}-"
                                    f"{bounds[1]:g}", at, "give a value in that range",
                                    Reason.BAD_PARAMETER))
        if col.negative_only_when is not None and value < 0:
            other, allowed = col.negative_only_when
            if row.get(other) != allowed:
                problems.append(Problem(f"`{col.name}` {value:g} is negative", at,
                                        f"a negative {col.name} needs {other} = {allowed}",
                                        Reason.BAD_PARAMETER))
    if problems:
        return None, problems
    time_col = TIME_COLUMN[table.name]
    return Event(str(kind), table.name, row["customer_id"], row[time_col], row), []


def parse_events(items: Sequence[Any], where: str = "events") -> list[Event]:
    """Every event of ``items``, or one :class:`~crindex.errors.DataError` with all problems."""
    events: list[Event] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        event, found = parse_event(item, f"{where}[{i}]")
        problems += found
        if event is not None:
            events.append(event)
    raise_if(problems, DataError, f"{len({p.where.split('.')[0] for p in problems})} of "
             f"{len(items)} events break the data contract; nothing was kept")
    return events
