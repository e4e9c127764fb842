"""``crindex synth``: write a synthetic CRM world (see :func:`crindex.synth.build.generate`)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer

from crindex.errors import DataError, Reason


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise DataError.single(Reason.BAD_PARAMETER, f"start {text!r} is not a date", "--start",
                               "write it as YYYY-MM-DD, e.g. 2024-01-01") from None


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to ``app``."""

    @app.command("synth")
    def synth_command(
        profile: str = typer.Option("ecommerce", "--profile",
                                    help="kind of business: ecommerce, b2b or saas"),
        customers: int = typer.Option(2000, "--customers", help="customers in the world"),
        start: str = typer.Option("2024-01-01", "--start", help="first day YYYY-MM-DD"),
        months: int = typer.Option(24, "--months", help="length of the simulated period"),
        seed: int = typer.Option(7, "--seed", help="same seed, identical files"),
        out: Path = typer.Option(..., "--out", "-o", help="folder to write the tables into"),
        fmt: str = typer.Option("parquet", "--format", help="parquet or csv (UTF-8 with BOM)"),
        truth: bool = typer.Option(False, "--truth", help="also write the hidden health "
                                   "to <out>/truth/ (never part of the contract tables)"),
    ) -> None:
        """Generate a synthetic CRM world whose churn has causes."""
        from crindex.synth import generate
        from crindex.util import console

        err = console(stderr=True)
        info = generate(profile=profile, customers=customers, start=_date(start), months=months,
                        seed=seed, out=out, fmt=fmt, truth=truth, progress=sys.stderr.isatty())
        rows = ", ".join(f"{name} {n:,}" for name, n in info["rows"].items())
        err.print(f"wrote {profile} world to {out}: {rows}", highlight=False, soft_wrap=True)
        err.print(f"{info['churned']:,} of {customers:,} customers churned between "
                  f"{info['start']} and {info['end']}; score it as of {info['as_of']}",
                  highlight=False, soft_wrap=True)
