"""``crindex kpis``: the portfolio KPIs of one period (see :func:`crindex.kpis.kpis`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "customers":
        return f"{value:,.0f}"
    return f"{value:,.2f}" + ("%" if unit == "%" else "")


def missing_group_warning(customers: Any, by: str) -> str | None:
    """A warning when customers have no value in the ``--by`` column, else ``None``.

    Such customers are counted in the group ``(none)``; a column that is empty for everyone
    usually means the data's column mapping misses it.
    """
    from crindex.kpis.core import NO_GROUP

    column = customers[by]
    total, missing = (int(v) for v in customers.aggregate(
        total=customers.count(), missing=column.isnull().sum()).execute().iloc[0])
    if not missing:
        return None
    if missing == total:
        return (f"warning: --by {by}: no customer has a value in column `{by}` (all "
                f"{total:,} are null), so every customer is in the group {NO_GROUP}; check "
                f"that the customers data has the column `{by}` (or map it in the model)")
    return (f"warning: --by {by}: {missing:,} of {total:,} customers have no value in column "
            f"`{by}`; they are counted in the group {NO_GROUP}")


def register(app: typer.Typer) -> None:
    """Add the ``kpis`` command to ``app``."""
    from crindex.cli import MaxAgeOpt, MaxRejectedOpt, RatioLimitOpt, guarded_model


    @app.command("kpis")
    def kpis_command(
        data: str = typer.Option(..., "--data", "-d", help="data folder, DuckDB file or URL"),
        as_of: str | None = typer.Option(None, "--as-of", help="last day of the period "
                                         "YYYY-MM-DD (default today); no later row is read"),
        period: str = typer.Option("90d", "--period", help="length of the period ending on "
                                   "--as-of: 90d, 12w, 3m, 1y"),
        by: str | None = typer.Option(None, "--by", help="break down by a customers column: "
                                      "segment, owner, region, ...; or rfm_segment (with "
                                      "--model, a model with segments:)"),
        model: Path | None = typer.Option(None, "--model", "-m", help="a model file: its "
                                          "sources map the data, its churn rule says who "
                                          "churned, its scores give the mean CRI"),
        clv_horizon: str = typer.Option("12m", "--clv-horizon", help="CLV horizon"),
        discount_rate: float = typer.Option(0.1, "--discount-rate", help="yearly CLV discount "
                                            "rate"),
        as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
        max_rejected: list[str] | None = MaxRejectedOpt,
        max_age_days: str | None = MaxAgeOpt,
        ratio_limit: list[str] | None = RatioLimitOpt,
    ) -> None:
        """Portfolio KPIs over one period: churn, retention, NPS, CAC, CLV/CAC, ...

        Also repurchase, CSAT, CES, lead conversion, first-response time, revenue
        concentration and, with --model, the mean CRI.
        """
        from rich.table import Table

        from crindex.api import as_date, score
        from crindex.data import open_dataset
        from crindex.kpis import DEFINITIONS, kpis
        from crindex.kpis.core import SCORE_GROUPS
        from crindex.output import dumps
        from crindex.util import console, progress

        spec = guarded_model(model, max_rejected, max_age_days, ratio_limit) if model \
            else None
        day = as_date(as_of, spec.as_of if spec else None)
        with progress("reading the data, computing the KPIs…", quiet=as_json):
            ds = open_dataset(data, model=spec, as_of=day)
            scores = score(spec, ds, day).table if spec else None
            report = kpis(ds.tables, day, period, by, scores=scores, clv_horizon=clv_horizon,
                          discount_rate=discount_rate,
                          churn_rule=spec.churn if spec else None)
        err = console(stderr=True)
        if by is not None and by not in SCORE_GROUPS:
            warning = missing_group_warning(ds.tables["customers"], by)
            if warning:
                err.print(warning, highlight=False, soft_wrap=True)
        if as_json:
            sys.stdout.write(dumps(report.to_dict()) + "\n")
            return
        table = Table(title=f"KPIs, {period} ending {report.as_of} (after {report.start})")
        table.add_column("KPI")
        groups = list(report.values)
        for g in groups:
            table.add_column(g, justify="right")
        for k in DEFINITIONS:
            table.add_row(k.label, *[_fmt(report.values[g].get(k.id), k.unit) for g in groups])
        out = console()
        out.print(table)
        for kpi, note in report.notes.items():
            err.print(f"{kpi}: {note}", highlight=False)
