"""``crindex export``: upsert into a database table, write CRM import files, notify tier changes."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from crindex.store.commands import LockOpt, StoreOpt, err, open_cli_store


def register(app: typer.Typer) -> None:
    """Add ``crindex export`` to the app."""

    @app.command("export")
    def export_command(
        model: str = typer.Option(..., "--model", "-m", help="the model file (its tier "
                                  "names and strategies are written with the scores)"),
        store: str | None = StoreOpt,
        run: str | None = typer.Option(None, "--run", help="the snapshot (run id or as_of "
                                       "date; default the model's latest)"),
        to: str | None = typer.Option(None, "--to", help="the database to upsert into: a "
                                      "DuckDB file or a postgresql:// URL"),
        table: str = typer.Option("crindex_scores", "--table", help="the table in --to "
                                  "(created when missing; key model + customer_id)"),
        csv: Path | None = typer.Option(None, "--csv", help="write the CRM import as CSV "
                                        "(UTF-8 with BOM)"),
        excel: Path | None = typer.Option(None, "--excel", help="write the CRM import as "
                                          "Excel (.xlsx)"),
        lang: str = typer.Option("en", "--lang", help="headers of the CRM files: en or zh"),
        webhook: str | None = typer.Option(None, "--webhook", help="POST one signed message "
                                           "per customer whose tier changed"),
        secret_env: str = typer.Option("CRINDEX_WEBHOOK_SECRET", "--secret-env", help="the "
                                       "environment variable holding the signing secret"),
        attempts: int = typer.Option(5, "--attempts", min=1, help="tries per message"),
        lock_timeout: float = LockOpt,
    ) -> None:
        """Write the latest scores, tiers, segments and strategies back: table, files, webhook.

        With --to, a tier change is one against the row the table held; without it, against
        the model's previous snapshot.
        """
        from crindex.export.core import (
            export_rows,
            notify_tier_changes,
            tier_changes_since_previous,
            upsert_table,
            write_crm_files,
        )
        from crindex.model.loader import load_model
        from crindex.report.i18n import translator
        from crindex.store.base import store_error

        if to is None and csv is None and excel is None and webhook is None:
            raise store_error("nothing to export to", "give --to DATABASE, --csv FILE, "
                              "--excel FILE and/or --webhook URL")
        translator(lang)  # an unknown language fails before anything is written
        spec = load_model(model)
        handle = open_cli_store(store, lock_timeout)
        snapshot, rows = export_rows(handle, spec, run)
        changes = None
        if to is not None:
            report = upsert_table(to, table, rows)
            changes = report.tier_changes
            err.print(f"{report.table} in {report.target}: {report.inserted} inserted, "
                      f"{report.updated} updated, {report.unchanged} unchanged "
                      f"(snapshot {snapshot.run_id}, {snapshot.as_of})", highlight=False)
        for path in write_crm_files(rows, lang, csv, excel):
            err.print(f"wrote {path} ({len(rows)} customers, headers in {lang})",
                      highlight=False)
        if webhook is not None:
            if changes is None:
                changes = tier_changes_since_previous(handle, snapshot, rows)
            sent = notify_tier_changes(webhook, os.environ.get(secret_env, ""), rows, changes,
                                       attempts=attempts)
            err.print(f"webhook {sent.target}: {len(sent.delivered)} tier changes delivered, "
                      f"{len(sent.failed)} failed, {sent.attempts} attempts", highlight=False)
            if sent.failed:
                raise typer.Exit(1)
