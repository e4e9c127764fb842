"""``crindex backtest``: score point-in-time at several dates and compare with what happened."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command to ``app``."""
    from crindex.cli import MaxAgeOpt, MaxRejectedOpt, RatioLimitOpt, guarded_model
    from crindex.stats import DEFAULT_BOOTSTRAP


    @app.command("backtest")
    def backtest_command(
        model: Path = typer.Option(..., "--model", "-m", help="the model file (YAML)"),
        data: str = typer.Option(..., "--data", "-d",
                                 help="data folder, DuckDB file or database URL"),
        as_of: list[str] = typer.Option(None, "--as-of", help="scoring date YYYY-MM-DD; repeat "
                                        "for checks over time (e.g. quarterly); under a static "
                                        "churn label, one date (default: the model's, then "
                                        "today)"),
        horizon: str = typer.Option("90d", "--horizon", help="how far to look after each "
                                    "date: 90d, 12w, 6m, 1y"),
        out: Path = typer.Option(..., "--out", "-o", help="folder for backtest.json and "
                                 "backtest.html"),
        lang: str = typer.Option("en", "--lang", help="language of the page: en or zh"),
        n_boot: int = typer.Option(DEFAULT_BOOTSTRAP, "--bootstrap", help="resamples for the "
                                   "AUC's 95% confidence interval (memory does not grow with "
                                   "them, time does)"),
        max_rejected: list[str] | None = MaxRejectedOpt,
        max_age_days: str | None = MaxAgeOpt,
        ratio_limit: list[str] | None = RatioLimitOpt,
    ) -> None:
        """Backtest a model: churn AUC, lift, churn and revenue by tier and decile, PSI."""
        from functools import partial

        from crindex.backtest.run import run_backtest
        from crindex.report.html import write_backtest
        from crindex.report.i18n import translator
        from crindex.util import console, print_warnings, progress

        err = console(stderr=True)
        spec = guarded_model(model, max_rejected, max_age_days, ratio_limit)
        print_warnings(spec, err)  # a metric reading the churn label, ...
        with progress("backtesting…"):
            report = run_backtest(spec, data, as_of or [], horizon, n_boot=n_boot,
                                  input_checks=[partial(translator, lang)])
            paths = write_backtest(report, out, lang)
        split = report.get("holdout")
        if split:
            err.print(f"static churn label: holdout {split['held_out']:,} of "
                      f"{split['labelled']:,} customers ({split['share']:.0%}, seed "
                      f"{split['seed']}, stratified by the label: "
                      f"{split['held_out_churned']:,} churned, "
                      f"{split['held_out_churn_rate']:.1%} against {split['churn_rate']:.1%} "
                      "overall)", highlight=False)
        for p in report["periods"]:
            a = p["auc"]
            ci = f" [{a['low']:.3f}, {a['high']:.3f}]" if a["low"] is not None else ""
            auc = f"{a['auc']:.3f}{ci}" if a["auc"] is not None else "-"
            order = p["tier_order"]
            tiers = "ordered" if order["ordered"] else "FLAGGED " + ", ".join(order["flagged"])
            within = f" in {report['horizon']}" if report["horizon"] else " (label)"
            err.print(f"{p['as_of']}: {p['customers']:,} customers, {p['churned']:,} churned"
                      f"{within}, AUC {auc}, tiers {tiers}", highlight=False)
            err.print("  churn by tier: " + ", ".join(
                f"{r['tier']} {r['churned']:,}/{r['customers']:,}"
                + (f" ({r['churn_rate']:.1%})" if r["customers"] else "")
                for r in p["tiers"]), highlight=False)
        for c in report["checks"]:
            if c["level"] != "ok":
                err.print(f"{c['level']}: {c['as_of'] or ''} {c['message']}", highlight=False)
        err.print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
