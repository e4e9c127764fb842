"""``crindex report``: the report of one scoring run, as a self-contained HTML page and JSON."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to ``app``."""

    @app.command("report")
    def report_command(
        model: Path = typer.Option(..., "--model", "-m", help="the model file (YAML)"),
        data: str = typer.Option(..., "--data", "-d",
                                 help="data folder, DuckDB file or database URL"),
        as_of: str | None = typer.Option(None, "--as-of", help="scoring date YYYY-MM-DD "
                                         "(default: the model's, then today)"),
        out: Path = typer.Option(..., "--out", "-o", help="the HTML file to write; the JSON "
                                 "goes beside it (.json)"),
        lang: str = typer.Option("en", "--lang", help="language of the page: en or zh"),
        store: str | None = typer.Option(None, "--store", help="history store (DuckDB file or "
                                         "postgresql:// URL) for the top movers"),
    ) -> None:
        """Write the report of a scoring run: tiers, histogram, dimensions, quality, model."""
        from crindex.api import score
        from crindex.report.i18n import translator
        from crindex.report.scoring import report_figures, report_paths, write_report
        from crindex.util import console

        translator(lang)
        report_paths(out)  # a wrong --out fails now, not after scoring
        err = console(stderr=True)
        with err.status("scoring…", spinner="dots"):
            result = score(model, data, as_of)
            figures = report_figures(result, store)
            paths = write_report(figures, out, lang)
        if not figures["movers"]["available"] and store is not None:
            err.print(f"top movers left out: {figures['movers']['reason']}", highlight=False)
        err.print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
