"""History commands: backfill, history, trend, migration, adjust, adjustments.

Every one takes ``--store`` (default ``$CRINDEX_STORE``, else ``crindex-history.duckdb``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from crindex.util import console

out = console()
err = console(stderr=True)

StoreOpt = typer.Option(None, "--store", "-s", help="history store: a DuckDB file or a "
                        "postgresql:// URL (default: $CRINDEX_STORE, else "
                        "crindex-history.duckdb)")
LockOpt = typer.Option(30.0, "--lock-timeout", help="seconds to wait for another run that "
                       "holds the store")
ModelNameOpt = typer.Option(None, "--model", "-m", help="model name (needed when the store "
                            "holds several)")
JsonOpt = typer.Option(False, "--json", help="print JSON instead of a table")


def open_cli_store(store: str | None, lock_timeout: float = 30.0, *,
                   create: bool = False) -> Any:
    """The store of ``--store``; only commands that write history pass ``create=True``.

    A reading command on a store that does not exist fails with a
    :class:`~crindex.errors.StoreNotFoundError` and leaves no empty file behind.
    """
    from crindex.store import open_store

    return open_store(store, lock_timeout=lock_timeout, create=create)


def parse_day(text: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD option value, or a clear error naming the option."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        from crindex.store.base import store_error

        raise store_error(f"{option} {text!r} is not a date", "write it as YYYY-MM-DD",
                          option) from None


def fmt(value: Any, digits: int = 1) -> str:
    """A table cell: ``-`` for nothing (None, NaN, an empty list), no ``-0.0``, lists joined."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        text = f"{value:,.{digits}f}"
        return text[1:] if text.startswith("-") and not text.strip("-0.,") else text
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "-"
    return str(value)


def print_frame(frame: Any, title: str, as_json: bool, index: bool = False) -> None:
    """A DataFrame as a rich table, or as JSON records."""
    if as_json:
        from crindex.output import frame_records, print_json

        print_json(frame_records(frame.reset_index() if index else frame))
        return
    table = Table(title=title)
    if index:
        table.add_column(str(frame.index.name or ""))
    for col in frame.columns:
        table.add_column(str(col), justify="right" if frame[col].dtype.kind in "if" else "left")
    for key, row in frame.iterrows():
        cells = [fmt(v) for v in row.tolist()]
        table.add_row(*([str(key)] if index else []), *cells)
    out.print(table)


def _print_why(customer_id: str, change: Any) -> None:
    """The parts of one change as a table, the observed change as its total."""
    a, b = change.before, change.after
    title = (f"customer {customer_id}: {fmt(a['adjusted_score'])} on {a['as_of']} -> "
             f"{fmt(b['adjusted_score'])} on {b['as_of']}"
             + (" (the model changed)" if change.model_changed else ""))
    if change.change is None:
        out.print(f"{title}: {change.reason}", highlight=False, markup=False)
        return
    table = Table(title=title)
    for col, justify in (("kind", "left"), ("what", "left"), ("metric", "left"),
                         ("raw before", "right"), ("raw after", "right"), ("points", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for p in change.parts:
        table.add_row(p.kind, p.what, p.label or p.metric or "", fmt(p.raw_from),
                      fmt(p.raw_to), f"{p.points:+.2f}")
    table.add_section()
    for kind, total in change.totals.items():
        if kind != "rest" or abs(total) >= 0.005:
            table.add_row(f"{kind} total", "", "", "", "", f"{total:+.2f}")
    table.add_row("change", "", "", "", "", f"{change.change:+.2f}")
    out.print(table)


store_app = typer.Typer(help="The history store itself: check it for damage.",
                        no_args_is_help=True)


@store_app.command("check")
def check_command(
    store: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Read every table in full, count each run's rows, find orphan rows; exit 1 if damaged."""
    from crindex.errors import CrindexError, StoreNotFoundError
    from crindex.store.check import check_store

    try:
        handle = open_cli_store(store)
    except StoreNotFoundError:
        raise
    except CrindexError as exc:  # opening reads the schema version: that part is damaged
        err.print(f"damaged: the store cannot be opened: {exc.__cause__ or exc}",
                  highlight=False, markup=False)
        err.print("restore the store from a backup, or write the runs again into a new store "
                  "(`crindex backfill --store NEW`)", highlight=False)
        raise typer.Exit(1) from None
    report = check_store(handle)
    if as_json:
        from crindex.output import print_json

        print_json(report.to_dict())
    else:
        table = Table(title=f"store {report.store}")
        for col in ("table", "rows"):
            table.add_column(col, justify="right" if col == "rows" else "left")
        for name, rows in report.tables.items():
            table.add_row(name, "unreadable" if rows is None else f"{rows:,}")
        out.print(table)
        if report.tables.get("runs") is None:
            out.print("the runs table is unreadable: rows per run not counted")
        else:
            out.print(f"{len(report.runs)} run(s) checked: rows per run "
                      + ("as recorded" if not any(d.kind == "count" for d in report.damage)
                         else "DO NOT match"), highlight=False)
        for d in report.damage:
            err.print(f"damaged: {d.where}: {d.message}", highlight=False, markup=False)
    if not report.ok:
        err.print(f"{len(report.damage)} problem(s) found: restore the store from a backup, "
                  "or write the runs again into a new store (`crindex backfill --store NEW`)",
                  highlight=False)
        raise typer.Exit(1)
    err.print("the store is sound: every table read in full, every run's rows counted, no "
              "orphan rows", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the history commands to the ``crindex`` app."""
    app.add_typer(store_app, name="store")
    from crindex.cli import MaxAgeOpt, MaxRejectedOpt, RatioLimitOpt, guarded_model


    @app.command("backfill")
    def backfill_command(
        model: Path = typer.Option(..., "--model", "-m", help="the model file (YAML)"),
        data: str = typer.Option(..., "--data", "-d", help="data folder, DuckDB file or URL"),
        start: str = typer.Option(..., "--from", help="first as_of date, YYYY-MM-DD"),
        end: str = typer.Option(..., "--to", help="last as_of date, YYYY-MM-DD; always "
                                "included, also when it is not a whole step after the "
                                "previous date"),
        every: str = typer.Option("7d", "--every", help="step between dates from --from: 7d, "
                                  "2w, 1m"),
        store: str | None = StoreOpt,
        alerts: bool = typer.Option(True, "--alerts/--no-alerts", help="evaluate the "
                                    "model's alerts on each snapshot"),
        lock_timeout: float = LockOpt,
        max_rejected: list[str] | None = MaxRejectedOpt,
        max_age_days: str | None = MaxAgeOpt,
        ratio_limit: list[str] | None = RatioLimitOpt,
    ) -> None:
        """Write point-in-time snapshots for past dates (one transaction each)."""
        from crindex.backfill import backfill, open_checked, schedule
        spec = guarded_model(model, max_rejected, max_age_days, ratio_limit)
        dates = schedule(parse_day(start, "--from"), parse_day(end, "--to"),  # type: ignore[arg-type]
                         every)
        # the data and its guardrails first: a refused backfill creates no store
        from crindex.util import progress

        with progress("reading and checking the data…"):
            dataset = open_checked(spec, data, dates)
        handle = open_cli_store(store, lock_timeout, create=True)
        err.print(f"backfilling {len(dates)} snapshots of {spec.name} into {handle.describe()}",
                  highlight=False)

        def show(step: Any) -> None:
            alerts_text = f", alerts +{len(step.raised)} / resolved {len(step.resolved)}" \
                if spec.alerts and alerts else ""
            err.print(f"  {step.as_of}: {step.customers:,} customers, mean score "
                      f"{fmt(step.mean_score)}, run {step.run_id}{alerts_text}",
                      highlight=False)

        steps = backfill(spec, data, dates, handle, alerts=alerts, on_step=show,
                         dataset=dataset)
        raised = sum(len(s.raised) for s in steps)
        resolved = sum(len(s.resolved) for s in steps)
        alerts_text = f"; alerts: {raised:,} raised, {resolved:,} resolved" \
            if spec.alerts and alerts else ""
        span = f"{steps[0].as_of} to {steps[-1].as_of}" if steps else "no dates"
        err.print(f"done: {len(steps)} snapshots of {spec.name} ({span}) written to "
                  f"{handle.describe()}{alerts_text}", highlight=False, soft_wrap=True)

    @app.command("history")
    def history_command(
        customer_id: str = typer.Argument(..., help="the customer"),
        store: str | None = StoreOpt,
        model: str | None = ModelNameOpt,
        as_json: bool = JsonOpt,
        why: bool = typer.Option(False, "--why", help="split one change into its data, model "
                                 "and adjustment parts (the last one, or --from/--to)"),
        from_run: str | None = typer.Option(None, "--from", help="with --why: the earlier "
                                            "snapshot (run id or as_of date)"),
        to_run: str | None = typer.Option(None, "--to", help="with --why: the later snapshot "
                                          "(default: the latest)"),
    ) -> None:
        """One customer's score series: adjusted score, tier changes and why each changed."""
        from crindex.store.history import customer_change, customer_history

        if why or from_run or to_run:
            change = customer_change(open_cli_store(store), customer_id, from_run, to_run,
                                     model)
            if as_json:
                from crindex.util import dumps

                print(dumps(change.to_dict()))
                return
            _print_why(customer_id, change)
            return
        frame = customer_history(open_cli_store(store), customer_id, model)
        if as_json:  # ids, with their labels beside them
            print_frame(frame, f"customer {customer_id}", as_json)
            return
        shown = frame[["as_of", "score", "tier_label", "adjusted_score", "adjusted_tier_label",
                       "change", "why", "adjustments"]].rename(columns={
                           "tier_label": "tier", "adjusted_tier_label": "adjusted_tier"})
        before = shown["adjusted_tier"].shift(1)  # the tier move, in labels
        moves = [f"{b} -> {a}" if moved else "" for b, a, moved in zip(
            before, shown["adjusted_tier"], frame["tier_change"].astype(bool), strict=True)]
        shown.insert(6, "tier_change", moves)
        print_frame(shown, f"customer {customer_id}", as_json)

    @app.command("trend")
    def trend_command(
        store: str | None = StoreOpt,
        model: str | None = ModelNameOpt,
        by: str | None = typer.Option(None, "--by", help="break down by: owner"),
        as_json: bool = JsonOpt,
    ) -> None:
        """Average score and tier shares (%) per snapshot (and per owner with --by owner)."""
        from crindex.store.history import trend

        frame = trend(open_cli_store(store), model, by)
        print_frame(frame.drop(columns=["run_id"]) if not as_json else frame,
                    "portfolio trend" + (f" by {by}" if by else ""), as_json)

    @app.command("migration")
    def migration_command(
        from_run: str | None = typer.Option(None, "--from", help="run id or as_of date "
                                            "(default: the snapshot before --to)"),
        to_run: str | None = typer.Option(None, "--to", help="run id or as_of date (default: "
                                          "the latest snapshot)"),
        store: str | None = StoreOpt,
        model: str | None = ModelNameOpt,
        as_json: bool = JsonOpt,
    ) -> None:
        """Tier migration matrix between two snapshots (rows: before, columns: after)."""
        from crindex.store.base import store_error
        from crindex.store.history import migration

        handle = open_cli_store(store)
        if from_run is None or to_run is None:  # the last two snapshots by default
            runs = sorted(handle.runs(handle.resolve_model(model)), key=lambda r: r.as_of)
            if to_run is None:
                to_run = runs[-1].run_id if runs else ""
            if from_run is None:
                to_day = handle.run(to_run, model).as_of if to_run else None
                before = [r for r in runs if to_day is not None and r.as_of < to_day]
                if not before:
                    raise store_error("no snapshot before the one to compare with",
                                      "write another snapshot (crindex score --store or "
                                      "crindex backfill), or give --from and --to", "--from")
                from_run = before[-1].run_id
        frame = migration(handle, from_run, to_run, model)
        print_frame(frame, f"tier migration {frame.index.name}", as_json, index=True)

    @app.command("adjust")
    def adjust_command(
        customer_id: str = typer.Argument(..., help="the customer"),
        points: float | None = typer.Option(None, "--points", help="points to add (+5, -10)"),
        tier: str | None = typer.Option(None, "--tier", help="set the tier (e.g. core)"),
        revoke: int | None = typer.Option(None, "--revoke", help="withdraw adjustment ID"),
        reason: str = typer.Option(..., "--reason", help="why (kept in the audit log)"),
        by: str = typer.Option(..., "--by", help="who decides (kept in the audit log)"),
        expires: str | None = typer.Option(None, "--expires", help="in force for snapshots "
                                           "before this date, YYYY-MM-DD"),
        effective: str | None = typer.Option(None, "--from", help="in force from this as_of "
                                             "(default: the customer's latest snapshot)"),
        store: str | None = StoreOpt,
        model: str | None = ModelNameOpt,
    ) -> None:
        """Adjust a customer's score or tier by hand (an append-only audit log entry)."""
        from crindex.store.manual import adjust

        handle = open_cli_store(store)  # adjusts a customer of an existing history
        entry, effect = adjust(handle, customer_id, points=points, tier=tier, revoke=revoke,
                               reason=reason, by=by, expires=parse_day(expires, "--expires"),
                               effective=parse_day(effective, "--from"), model_name=model)
        err.print(f"adjustment {entry.adjustment_id} recorded: {effect}", highlight=False)

    @app.command("adjustments")
    def adjustments_command(
        customer_id: str | None = typer.Argument(None, help="only this customer"),
        store: str | None = StoreOpt,
        as_json: bool = JsonOpt,
    ) -> None:
        """The audit log of manual adjustments, oldest first."""
        import pandas as pd

        from crindex.store.manual import stale_log

        handle = open_cli_store(store)
        with handle.reading():
            log = handle.adjustments(customer_id)
            stale = stale_log(handle, log)
        frame = pd.DataFrame([a.to_dict() | {"stale": stale.get(a.adjustment_id)}
                              for a in log],
                             columns=["adjustment_id", "action", "customer_id", "model_name",
                                      "points", "tier", "reason", "made_by", "made_at",
                                      "effective", "expires", "revokes", "stale"])
        print_frame(frame, "adjustments (audit log)", as_json)
        for text in stale.values():
            err.print(f"warning: stale adjustment: {text}", highlight=False, markup=False)
