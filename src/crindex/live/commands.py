"""``crindex watch FOLDER``: take in event files as they land and rescore their customers."""

from __future__ import annotations

from pathlib import Path

import typer

from crindex.store.commands import LockOpt, StoreOpt, err, open_cli_store


def register(app: typer.Typer) -> None:
    """Add ``crindex watch`` to the app."""

    @app.command("watch")
    def watch_command(
        folder: Path = typer.Argument(..., help="the folder event files land in (*.jsonl, "
                                      "*.json, *.csv)"),
        model: str = typer.Option(..., "--model", "-m", help="the model file (YAML)"),
        data: str = typer.Option(..., "--data", "-d", help="the data the events are added "
                                 "to (folder, file, DuckDB file or URL)"),
        store: str | None = StoreOpt,
        as_of: str | None = typer.Option(None, "--as-of", help="the live run's date "
                                         "(default: the model's as_of, then today)"),
        interval: float = typer.Option(1.0, "--interval", min=0.05, help="seconds between "
                                       "two looks at the folder"),
        once: bool = typer.Option(False, "--once", help="take in the files there now, then "
                                  "stop (exit 1 if one failed)"),
        lock_timeout: float = LockOpt,
    ) -> None:
        """Rescore the customers of event files dropped in FOLDER (see docs/service.md)."""
        from crindex.live.scorer import LiveScorer
        from crindex.live.watch import FileResult, watch
        from crindex.model.loader import load_model
        from crindex.store import fingerprint
        from crindex.store.base import store_error

        if not folder.is_dir():
            raise store_error(f"{folder} is not a folder", "create it, or give the folder the "
                              "event files land in", "FOLDER")
        scorer = LiveScorer(load_model(model), data, open_cli_store(store, lock_timeout,
                                                                    create=True),
                            as_of, fingerprint=fingerprint(data))
        full = scorer.start()
        err.print(f"full run {full.run_id} ({scorer.as_of}, {full.run.customers} customers, "
                  f"events up to {scorer.last_event}); watching {folder}", highlight=False)

        def echo(r: FileResult) -> None:
            if r.error:
                err.print(f"{r.path.name}: refused, moved to failed/: {r.error}",
                          highlight=False)
            elif r.skipped:
                err.print(f"{r.path.name}: already taken in, moved to done/", highlight=False)
            else:
                err.print(f"{r.path.name}: {r.events} events, {r.customers} customers "
                          f"rescored in {r.seconds:.3f} s", highlight=False)

        try:
            results = watch(scorer, folder, once=once, interval=interval, echo=echo)
        except KeyboardInterrupt:
            return
        if any(r.error for r in results):
            raise typer.Exit(1)
