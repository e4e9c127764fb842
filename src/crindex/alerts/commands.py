"""``crindex alerts``: list, acknowledge, resolve, evaluate and deliver alerts."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from crindex.store.commands import JsonOpt, LockOpt, StoreOpt, err, open_cli_store, print_frame

alerts_app = typer.Typer(help="Alerts raised on history snapshots: list, ack, resolve, "
                         "evaluate, deliver.", no_args_is_help=True)


@alerts_app.command("list")
def list_command(
    store: str | None = StoreOpt,
    status: str = typer.Option("open", "--status", help="open, acknowledged, resolved or all"),
    owner: str | None = typer.Option(None, "--owner", help="only this owner's alerts"),
    model: str | None = typer.Option(None, "--model", "-m", help="only this model's alerts"),
    as_json: bool = JsonOpt,
) -> None:
    """List alerts (open ones by default), newest snapshot first."""
    from crindex.store.base import store_error
    from crindex.store.schema import ALERT_STATUSES

    if status != "all" and status not in ALERT_STATUSES:
        raise store_error(f"unknown status `{status}`",
                          "use " + ", ".join(ALERT_STATUSES) + " or all", "--status")
    frame = open_cli_store(store).alerts(None if status == "all" else status, model, owner)
    if not as_json:
        frame = frame[["alert_id", "as_of", "severity", "rule_id", "customer_id", "owner",
                       "status", "message"]]
    print_frame(frame, f"alerts ({status})", as_json)
    if not as_json:  # the count on stderr: the JSON on stdout stays one document
        err.print(f"{len(frame):,} alert(s) ({status})", highlight=False)


def _move(ids: list[int], status: str, by: str, note: str | None, store: str | None) -> None:
    handle = open_cli_store(store)
    for alert_id in ids:
        handle.set_alert_status(alert_id, status, by, note)
        err.print(f"alert {alert_id}: {status} by {by}", highlight=False)


@alerts_app.command("ack")
def ack_command(
    ids: list[int] = typer.Argument(..., help="alert ids"),
    by: str = typer.Option(..., "--by", help="who acknowledges"),
    note: str | None = typer.Option(None, "--note"),
    store: str | None = StoreOpt,
) -> None:
    """Acknowledge alerts: someone is on it (it stays out of webhooks while its episode lasts)."""
    _move(ids, "acknowledged", by, note, store)


@alerts_app.command("resolve")
def resolve_command(
    ids: list[int] = typer.Argument(..., help="alert ids"),
    by: str = typer.Option(..., "--by", help="who resolves"),
    note: str | None = typer.Option(None, "--note"),
    store: str | None = StoreOpt,
) -> None:
    """Resolve alerts: the rule raises a new one once its condition clears and holds again."""
    _move(ids, "resolved", by, note, store)


@alerts_app.command("evaluate")
def evaluate_command(
    model: Path = typer.Option(..., "--model", "-m", help="the model file (YAML)"),
    run: str | None = typer.Option(None, "--run", help="run id or as_of date (default: the "
                                   "latest snapshot of the model)"),
    store: str | None = StoreOpt,
    lock_timeout: float = LockOpt,
) -> None:
    """Evaluate the model's alerts on a snapshot and recompute the alerts from the history."""
    from crindex.alerts.evaluate import evaluate_run
    from crindex.model.loader import load_model

    done = evaluate_run(open_cli_store(store, lock_timeout), load_model(model), run)
    err.print(f"snapshot {done.run.run_id} ({done.run.as_of}): {len(done.raised)} alerts "
              f"raised, {len(done.resolved)} resolved", highlight=False)


@alerts_app.command("deliver")
def deliver_command(
    store: str | None = StoreOpt,
    out_dir: Path | None = typer.Option(None, "--out", "-o", help="write alerts.json/.csv "
                                        "and owners/<owner>.json/.csv here"),
    fmt: str = typer.Option("json,csv", "--format", help="file formats: json, csv"),
    webhook: str | None = typer.Option(None, "--webhook", help="POST each open alert here"),
    secret_env: str = typer.Option("CRINDEX_WEBHOOK_SECRET", "--secret-env", help="the "
                                   "environment variable holding the signing secret"),
    attempts: int = typer.Option(5, "--attempts", min=1, help="tries per alert"),
    backoff: float = typer.Option(1.0, "--backoff", min=0.0, help="first pause between "
                                  "tries, seconds (doubles each time)"),
    model: str | None = typer.Option(None, "--model", "-m", help="only this model's alerts"),
) -> None:
    """Deliver alerts as files (per owner) and/or by signed webhook; attempts are logged."""
    from crindex.alerts.delivery import deliver_files, deliver_webhook
    from crindex.store.base import store_error

    if out_dir is None and webhook is None:
        raise store_error("nowhere to deliver", "give --out FOLDER and/or --webhook URL")
    handle = open_cli_store(store)
    if out_dir is not None:
        formats = tuple(f.strip() for f in fmt.split(",") if f.strip())
        written = deliver_files(handle, out_dir, formats, model)
        owners = sum(1 for p in written if p.parent.name == "owners")
        err.print(f"done: wrote {len(written)} files in {out_dir} ({owners} per-owner)",
                  highlight=False)
    if webhook is not None:
        report = deliver_webhook(handle, webhook, os.environ.get(secret_env, ""),
                                 model_name=model, attempts=attempts, backoff=backoff)
        err.print(f"webhook {report.target}: {len(report.delivered)} delivered, "
                  f"{len(report.failed)} failed, {report.attempts} attempts", highlight=False)
        if report.failed:
            raise typer.Exit(1)


@alerts_app.command("log")
def log_command(
    alert_id: int = typer.Argument(..., help="the alert"),
    store: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """An alert's status history and every delivery attempt."""
    handle = open_cli_store(store)
    if as_json:  # one document: the status history and the attempts side by side
        from crindex.output import frame_records, print_json

        print_json({"alert_id": alert_id,
                    "events": frame_records(handle.alert_events(alert_id)),
                    "deliveries": frame_records(handle.deliveries(alert_id))})
        return
    print_frame(handle.alert_events(alert_id), f"alert {alert_id}: status history", as_json)
    print_frame(handle.deliveries(alert_id), f"alert {alert_id}: delivery attempts", as_json)


def register(app: typer.Typer) -> None:
    """Add ``crindex alerts ...`` to the app."""
    app.add_typer(alerts_app, name="alerts")
