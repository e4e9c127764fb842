"""``generate``: write a synthetic CRM world, block by block, in the data contract's layout."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np

from crindex.calendar import add_months
from crindex.errors import DataError, Problem, Reason, raise_if
from crindex.synth.profiles import PROFILES, Profile
from crindex.synth.tables import TRUTH_SCHEMA, BlockTables, Sink, schemas
from crindex.synth.world import DAY, BlockSimulator

#: customers per block. A block is the unit of randomness (its own RNG stream derived from the
#: seed) and of streaming (one row group per table), so it is fixed: changing it would change
#: the world a seed makes.
BLOCK = 10_000
_LEADS_STREAM = 1 << 40
_OWNER_STREAM = (1 << 40) + 1


def month_grid(start: dt.date, months: int) -> np.ndarray:
    """Epoch seconds (UTC midnight) of ``start`` plus 0..months calendar months."""
    epoch = dt.date(1970, 1, 1)
    return np.array([(add_months(start, m) - epoch).days * DAY for m in range(months + 1)],
                    dtype=np.int64)


def block_rng(seed: int, profile: Profile, stream: int) -> np.random.Generator:
    """The independent random stream ``stream`` of a world (blocks, leads, owners)."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(entropy=seed, spawn_key=(profile.code, stream))))


def _check(profile: str, customers: int, start: Any, months: int, seed: int,
           fmt: str) -> list[Problem]:
    problems = []
    if profile not in PROFILES:
        problems.append(Problem(f"unknown profile `{profile}`", "profile",
                                f"use one of: {', '.join(PROFILES)}", Reason.BAD_PARAMETER))
    if not isinstance(customers, int) or customers < 1:
        problems.append(Problem(f"customers must be a whole number >= 1, got {customers!r}",
                                "customers", "e.g. --customers 2000", Reason.BAD_PARAMETER))
    if not isinstance(months, int) or months < 1:
        problems.append(Problem(f"months must be a whole number >= 1, got {months!r}",
                                "months", "e.g. --months 24", Reason.BAD_PARAMETER))
    if not isinstance(start, dt.date):
        problems.append(Problem(f"start must be a date, got {start!r}", "start",
                                "e.g. --start 2024-01-01", Reason.BAD_PARAMETER))
    if not isinstance(seed, int) or seed < 0:
        problems.append(Problem(f"seed must be a whole number >= 0, got {seed!r}", "seed",
                                "e.g. --seed 7", Reason.BAD_PARAMETER))
    if fmt not in ("parquet", "csv"):
        problems.append(Problem(f"unknown format `{fmt}`", "format", "use parquet or csv",
                                Reason.BAD_PARAMETER))
    return problems


def generate(profile: str = "ecommerce", customers: int = 2000,
             start: dt.date | str = dt.date(2024, 1, 1), months: int = 24, seed: int = 7,
             out: str | Path = "synthetic", fmt: str = "parquet", truth: bool = False,
             progress: bool = True) -> dict[str, Any]:
    """Write a synthetic CRM world whose churn has causes.

    Each customer carries a hidden relationship health that drifts and takes shocks (a badly
    handled support case, a price rise, a competitor); it drives every observable table and the
    hazard of churning. Output follows the data contract's "Files" layout: ``out/customers``,
    ``orders``, ``interactions``, ``surveys``, ``leads``, ``spend`` and, for ``saas``,
    ``subscriptions``, as ``.parquet`` or UTF-8 ``.csv`` with a BOM.

    Parameters
    ----------
    profile
        ``ecommerce``, ``b2b`` or ``saas``.
    customers
        Customers in the world: about 60% already customers at ``start``, the rest joining
        during the period. Customer ids ``C0000001``... run in order of joining.
    start, months
        The simulated period ``[start, start + months)``; no event falls outside it.
        ``start`` is a date or ``YYYY-MM-DD`` text.
    seed
        Same seed, same arguments: byte-identical files.
    out
        Folder to write into (created); existing tables of the same names are replaced.
    fmt
        ``parquet`` or ``csv``.
    truth
        Also write ``out/truth/health.<fmt>``: every customer's monthly hidden health and
        shocks (for research; never part of the contract tables).
    progress
        Show a progress bar (only when stderr is a terminal).

    Returns
    -------
    dict
        ``rows`` per table, ``customers``, ``churned``, ``start``, ``end`` and ``as_of`` (the
        suggested scoring date: the end of the period), ``files``.

    Raises
    ------
    DataError
        With reason ``bad_parameter`` for every invalid argument at once.
    """
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start.strip())
        except ValueError:
            pass  # reported by _check with the other problems
    raise_if(_check(profile, customers, start, months, seed, fmt), DataError,
             "cannot generate the synthetic world")
    assert isinstance(start, dt.date)  # checked above
    if isinstance(start, dt.datetime):
        start = start.date()
    prof = PROFILES[profile]
    out = Path(out)
    grid = month_grid(start, months)
    owner_quality = block_rng(seed, prof, _OWNER_STREAM).normal(0.0, prof.owner_quality_sd,
                                                                max(prof.owners, 1))
    sim = BlockSimulator(prof, grid, customers, owner_quality, truth)
    tables = BlockTables(prof, customers, grid)
    table_schemas = schemas(prof)
    if truth:
        table_schemas["truth"] = TRUTH_SCHEMA
    leads_per_month = np.zeros((months, len(prof.lead_sources)))
    churned = 0
    sink = Sink(out, fmt, table_schemas)
    bar = _progress(progress, customers, f"synth {profile}")
    try:
        for first in range(0, customers, BLOCK):
            count = min(BLOCK, customers - first)
            block = sim.run(block_rng(seed, prof, first // BLOCK), first, count)
            churned += block.churned
            ld = block.leads.data
            month = np.searchsorted(grid, ld["ts"], side="right") - 1
            np.add.at(leads_per_month, (month, ld["source"]), 1)
            for name, table in tables.convert(block).items():
                sink.write(name, table)
            del block
            bar.advance(count)
        sink.write("spend", tables.spend(leads_per_month, block_rng(seed, prof, _LEADS_STREAM)))
    except BaseException:
        sink.abort()
        raise
    finally:
        bar.stop()
    sink.close()
    end = add_months(start, months)
    return {
        "profile": profile, "customers": customers, "churned": churned,
        "start": start, "end": end, "as_of": end, "seed": seed,
        "rows": {k: v for k, v in sink.rows.items() if k != "truth"},
        "files": {k: str(v) for k, v in sink.paths.items()},
    }


class _Bar:
    """A rich progress bar, or nothing when progress is off or stderr is not a terminal."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.progress = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TimeRemainingColumn(),
                                     console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(label + " customers", total=total)

    def advance(self, n: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, n)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _progress(enabled: bool, total: int, label: str) -> _Bar:
    return _Bar(enabled, total, label)
