"""``crindex watch FOLDER``: event files dropped in a folder, taken in like ``POST /v1/events``.

A file is one batch: ``*.jsonl`` (one event per line), ``*.json`` (one event, a list, or
``{"events": [...]}``) or ``*.csv`` (a header row; the event kind from an ``event`` column,
else from the file name: ``orders*.csv``, ``interactions*.csv``, ``surveys*.csv``). Names
starting with ``.`` or ending in ``.tmp`` are skipped: write a file under such a name, then
rename it. A file taken in moves to ``done/``; a file with bad events moves to ``failed/``
with ``<name>.errors.txt`` beside it (every problem, with its line), and none of its events
is kept. Each file's events are kept with the source ``watch:<name>:<sha256 prefix>``, so a
file seen again after a crash (kept, not yet moved) is not taken twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crindex.errors import CrindexError
from crindex.live.events import KINDS, parse_events
from crindex.live.scorer import LiveScorer

SUFFIXES = (".jsonl", ".json", ".csv")
_BY_TABLE = {table: kind for kind, table in KINDS.items()}


@dataclass
class FileResult:
    """What happened to one file."""

    path: Path
    events: int = 0
    customers: int = 0
    seconds: float = 0.0
    error: str | None = None
    skipped: bool = False


def read_items(path: Path) -> list[Any]:
    """The event objects of a file (see the module docstring for the formats)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if path.suffix == ".json":
        body = json.loads(text)
        if isinstance(body, dict) and "events" in body and "event" not in body:
            body = body["events"]
        return body if isinstance(body, list) else [body]
    kind = next((k for t, k in _BY_TABLE.items() if path.name.startswith(t)), None)
    rows = list(csv.DictReader(io.StringIO(text)))
    return [{"event": kind, **{k: v for k, v in r.items() if k is not None}} if "event" not in r
            else dict(r) for r in rows]


def source_of(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"watch:{path.name}:{digest}"


def take_file(scorer: LiveScorer, path: Path) -> FileResult:
    """Take in one file: keep and rescore its events, then move it to ``done/`` or ``failed/``."""
    began = time.perf_counter()
    result = FileResult(path)
    folder = path.parent
    try:
        source = source_of(path)
        if scorer.store.events_from(source):
            result.skipped = True              # kept before a crash: only the move was left
        else:
            items = read_items(path)
            where = "line" if path.suffix in (".jsonl", ".csv") else "events"
            try:
                done = scorer.submit(parse_events(items, where), source, where)
            except CrindexError as exc:        # say the file's line numbers, 1-based
                raise type(exc)(reason=exc.reason, problems=[
                    p.__class__(p.message, _line(p.where, path), p.hint, p.reason)
                    for p in exc.problems], summary=exc.summary) from None
            result.events, result.customers = len(done.event_ids), len(done.customers)
    except (CrindexError, ValueError, OSError) as exc:
        result.error = str(exc)
        failed = folder / "failed"
        failed.mkdir(exist_ok=True)
        (failed / f"{path.name}.errors.txt").write_text(result.error + "\n", encoding="utf-8")
        path.replace(failed / path.name)
        result.seconds = time.perf_counter() - began
        return result
    done_dir = folder / "done"
    done_dir.mkdir(exist_ok=True)
    path.replace(done_dir / path.name)
    result.seconds = time.perf_counter() - began
    return result


def _line(where: str, path: Path) -> str:
    """``line[3].amount`` -> ``orders.csv:5 amount`` (a CSV's header is line 1)."""
    if not where.startswith("line["):
        return f"{path.name}: {where}"
    index, _, rest = where[5:].partition("]")
    offset = 2 if path.suffix == ".csv" else 1
    return f"{path.name}:{int(index) + offset} {rest.lstrip('.')}".rstrip()


def pending(folder: Path) -> list[Path]:
    """Files waiting in ``folder``, oldest first."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES
             and not p.name.startswith(".") and not p.name.endswith(".tmp")]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def watch(scorer: LiveScorer, folder: Path, *, once: bool = False, interval: float = 1.0,
          echo: Callable[[FileResult], None] | None = None,
          stop: Callable[[], bool] | None = None) -> list[FileResult]:
    """Take in every file that lands in ``folder`` (``once``: those there now, then return)."""
    results: list[FileResult] = []
    while True:
        for path in pending(folder):
            result = take_file(scorer, path)
            results.append(result)
            if echo is not None:
                echo(result)
        if once or (stop is not None and stop()):
            return results
        time.sleep(interval)
