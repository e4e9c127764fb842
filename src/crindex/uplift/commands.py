"""``crindex uplift``: does a tier's strategy work? Treated against holdout over a horizon."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``uplift`` command to ``app``."""
    from crindex.store.commands import LockOpt, StoreOpt

    @app.command("uplift")
    def uplift_command(
        model: Path = typer.Option(..., "--model", "-m", help="the model file (YAML): its "
                                   "name finds the snapshot, its sources map the data, its "
                                   "churn rule says who churned"),
        data: str = typer.Option(..., "--data", "-d", help="data folder, DuckDB file or URL "
                                 "holding what happened after the snapshot"),
        as_of: str | None = typer.Option(None, "--as-of", help="the snapshot: run id or "
                                         "as_of date (default: the latest)"),
        horizon: str = typer.Option("90d", "--horizon", help="how far to look after the "
                                    "snapshot: 90d, 12w, 6m, 1y"),
        n_boot: int = typer.Option(1000, "--bootstrap", help="resamples for the intervals"),
        seed: int = typer.Option(0, "--seed", help="seed of the resamples"),
        store: str | None = StoreOpt,
        lock_timeout: float = LockOpt,
        as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    ) -> None:
        """Retention and revenue of each tier's treated customers against its holdout.

        A tier declares its holdout in the model (`holdout: 0.2`); each run keeps who was
        held out. Uplift is treated minus holdout, with 95% bootstrap intervals.
        """
        from rich.table import Table

        from crindex.data import open_dataset
        from crindex.errors import Reason, StoreError
        from crindex.model.loader import load_model
        from crindex.output import dumps
        from crindex.store.commands import open_cli_store
        from crindex.uplift import uplift
        from crindex.util import console

        spec = load_model(model)
        handle = open_cli_store(store, lock_timeout)
        run = handle.run(as_of, spec.name) if as_of else handle.latest_run(spec.name)
        assignment = handle.holdouts(run.run_id)
        if assignment.empty:
            raise StoreError.single(
                Reason.STORE, f"snapshot {run.run_id} ({run.model_name}, {run.as_of}) holds "
                "no strategy holdout", "--as-of",
                "give a tier of the model a holdout (`holdout: 0.2` under the tier), score "
                "with --store, act on the treated customers, then measure after the horizon")
        ds = open_dataset(data, model=spec, guardrails=False)
        report = uplift(assignment, ds.tables, run.as_of, horizon, spec.churn, n_boot=n_boot,
                        seed=seed)
        err = console(stderr=True)
        if as_json:
            sys.stdout.write(dumps(report.to_dict()) + "\n")
        else:
            table = Table(title=f"uplift of {run.model_name} {run.as_of}, horizon {horizon} "
                          f"(to {report.end}), {report.level:.0%} intervals")
            for col in ("tier", "treated", "holdout", "retained treated", "retained holdout",
                        "retention uplift (points)", "revenue treated", "revenue holdout",
                        "revenue uplift"):
                table.add_column(col, justify="left" if col == "tier" else "right")
            for r in report.rows:
                ret, rev = r.retention_uplift, r.revenue_uplift
                table.add_row(
                    r.tier, f"{r.treated:,}", f"{r.holdout:,}", _pct(r.retention_treated),
                    _pct(r.retention_holdout),
                    _interval(ret, 100.0) + (" *" if r.retention_effect else ""),
                    _money(r.revenue_treated), _money(r.revenue_holdout),
                    _interval(rev, 1.0) + (" *" if r.revenue_effect else ""))
            console().print(table)
            err.print("* the interval excludes 0: an effect; otherwise no evidence of one",
                      highlight=False)
        for note in report.notes:
            err.print(f"note: {note}", highlight=False)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _interval(ci: object, scale: float) -> str:
    value, low, high = (getattr(ci, k) for k in ("value", "low", "high"))
    if value is None:
        return "-"
    body = f"{value * scale:+,.2f}"
    if low is None or high is None:
        return body
    return f"{body} [{low * scale:+,.2f}, {high * scale:+,.2f}]"
