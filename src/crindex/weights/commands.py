"""``crindex weights ahp|entropy|critic|learn`` and ``crindex compare``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from crindex.output import print_json
from crindex.util import console, progress

out = console()
err = console(stderr=True)

WriteOpt = typer.Option(None, "--write", "-w", help="write a NEW model file with these weights "
                        "(comments and order kept); the --model file is never changed")
StyleOpt = typer.Option("keep", "--style", help="weights in the new file: keep (the model's "
                        "own), flat (metric weights sum to 100) or dimensions (dimension "
                        "weights, then metric weights within each)")
DecimalsOpt = typer.Option(0, "--decimals", min=0, max=4, help="decimals of the written "
                           "weights (rounding keeps every sum at exactly 100)")
JsonOpt = typer.Option(False, "--json", help="print JSON instead of tables")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def show_proposal(model: Any, weights: Any, write: Path | None, style: str, decimals: int,
                  as_json: bool, extra: dict[str, Any] | None = None,
                  flips: list[str] | None = None) -> None:
    """Print the weight diff of ``weights`` against ``model``; write the new file if asked.

    ``flips``: metrics the new file turns around (``direction``, or a map's points).
    """
    from crindex.weights.rewrite import rewritten_model, write_model

    if write is not None:
        result = write_model(model, weights, write, style, decimals, flips or ())
    else:
        result = rewritten_model(model, weights, style, decimals, flips=flips or ())
    if as_json:
        payload = dict(extra or {})
        payload["diff"] = [
            {"kind": r.kind, "id": r.id, "dimension": r.dimension, "old_weight": r.old,
             "new_weight": r.new, "old_share": r.old_share, "new_share": r.new_share}
            for r in result.diff]
        payload["written"] = str(write) if write else None
        print_json(payload)
    else:
        print_diff(result.diff, model.name)
    if write is not None:
        err.print(f"wrote {write} (model {model.path} unchanged)", highlight=False)
    else:
        err.print("nothing written; add --write NEW.yaml to write a new model file",
                  highlight=False)


def print_diff(rows: list[Any], name: str) -> None:
    """The weight diff: file weights and shares of the total, before and after."""
    table = Table(title=f"weights of {name}: now -> proposed")
    for col, justify in (("dimension / metric", "left"), ("weight now", "right"),
                         ("proposed", "right"), ("share of total now %", "right"),
                         ("proposed %", "right"), ("change", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        label = r.id if r.kind == "dimension" else f"  {r.id}"
        style = "bold" if r.kind == "dimension" else None
        table.add_row(label, _pct(r.old), _pct(r.new), _pct(r.old_share), _pct(r.new_share),
                      f"{r.change:+.1f}", style=style)
    out.print(table)


def _ahp_tables(solution: Any) -> None:
    from crindex.weights.ahp import scale_text

    for res in solution.results:
        title = f"AHP: {res.name or 'items'} (n={res.n}" + (
            f", {res.missing} pair(s) not compared, Harker's method" if res.missing else "") + ")"
        table = Table(title=title)
        table.add_column("item")
        table.add_column("weight", justify="right")
        for other in res.items:
            table.add_column(other, justify="right")
        for i, item in enumerate(res.items):
            cells = ["-" if res.matrix[i, j] != res.matrix[i, j] else
                     scale_text(float(res.matrix[i, j])) for j in range(res.n)]
            table.add_row(item, f"{res.weights[i]:.3f}", *cells)
        out.print(table)
        out.print(f"lambda_max {res.lambda_max:.3f}, CI {res.ci:.3f}, RI {res.ri:.2f}, "
                  f"CR {res.cr:.3f} (< 0.10: consistent)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``weights`` (ahp, entropy, critic, learn) and ``compare`` to ``app``."""
    from crindex.cli import MaxAgeOpt, MaxRejectedOpt, RatioLimitOpt, guarded_model
    from crindex.stats import DEFAULT_BOOTSTRAP

    weights_app = typer.Typer(help="Set weights you can defend: AHP, entropy, CRITIC, learned "
                              "from churn. Nothing is overwritten: --write NEW.yaml.",
                              no_args_is_help=True)
    app.add_typer(weights_app, name="weights")

    @weights_app.command("ahp")
    def ahp_command(
        file: Path = typer.Argument(..., help="YAML file of pairwise comparisons "
                                    "(docs/weights.md)"),
        model: Path | None = typer.Option(None, "--model", "-m", help="the model whose "
                                          "dimensions and metrics are compared"),
        write: Path | None = WriteOpt,
        style: str = StyleOpt,
        decimals: int = DecimalsOpt,
        as_json: bool = JsonOpt,
    ) -> None:
        """Weights from pairwise comparisons (Saaty's 1-9 scale); refuses CR >= 0.10."""
        from crindex.weights.ahp import load_ahp, model_weights, solve

        solution = solve(load_ahp(file))
        figures = {
            "matrices": [
                {"name": r.name or "items", "items": r.items,
                 "weights": [float(w) for w in r.weights], "lambda_max": r.lambda_max,
                 "ci": r.ci, "cr": r.cr, "ri": r.ri, "missing": r.missing}
                for r in solution.results],
            "overall": solution.overall(),
        }
        if model is None:
            if write is not None:
                raise typer.BadParameter("--write needs --model (the model to copy)",
                                         param_hint="--write")
            if as_json:
                print_json(figures)
                return
            _ahp_tables(solution)
            return
        from crindex.model.loader import load_model

        spec = load_model(model)
        weights, notes = model_weights(solution, spec)
        if not as_json:
            _ahp_tables(solution)
        for note in notes:
            err.print(f"note: {note}", highlight=False)
        show_proposal(spec, weights, write, style, decimals, as_json, figures)

    ModelOpt = typer.Option(..., "--model", "-m", help="the model file (YAML)")
    DataOpt = typer.Option(..., "--data", "-d", help="data folder, DuckDB file or database URL")
    AsOfOpt = typer.Option(None, "--as-of", help="scoring date YYYY-MM-DD (default: the "
                           "model's, then today)")
    HorizonOpt = typer.Option("90d", "--horizon", help="churn window after --as-of for each "
                              "metric's own churn AUC (the skew caution), when the data reach "
                              "it; not used under a static churn label")

    def objective(method: str, model: Path, data: str, as_of: str | None,
                  normalisation: str, write: Path | None, style: str, decimals: int,
                  as_json: bool, horizon: str = "90d") -> None:
        from crindex.api import score
        from crindex.data import open_dataset
        from crindex.model.loader import load_model
        from crindex.weights.objective import (
            critic_weights,
            entropy_weights,
            score_matrix,
            skew_cautions,
        )
        from crindex.weights.rewrite import WeightSet

        with progress("scoring…", quiet=as_json):
            spec = load_model(model)
            dataset = open_dataset(data, model=spec)
            result = score(spec, dataset, as_of)
        matrix, names = score_matrix(result)
        found = (entropy_weights(matrix, names, normalisation)  # type: ignore[arg-type]
                 if method == "entropy" else critic_weights(matrix, names))
        aucs, why = metric_aucs(spec, dataset, result, matrix, names, horizon)
        cautions = skew_cautions(found, matrix, aucs)
        figures = {k: v for k, v in found.figures.items() if v.ndim == 1}
        extra = {"method": found.method, "as_of": result.as_of.isoformat(),
                 "customers": result.table.num_rows,
                 "metrics": {n: {"weight": 100 * float(found.weights[j]),
                                 "customers_with_score": int(found.counts[j]),
                                 "churn_auc": None if aucs is None else aucs.get(n),
                                 **{k: float(v[j]) for k, v in figures.items()}}
                             for j, n in enumerate(names)},
                 "cautions": cautions, "churn_auc_note": why}
        for c in cautions:
            err.print(f"caution: {c['message']}", highlight=False)
        if why and cautions:
            err.print(f"note: {why}", highlight=False)
        if not as_json:
            table = Table(title=f"{found.method} weights of {result.model.name} as of "
                                f"{result.as_of} ({result.table.num_rows:,} customers)")
            table.add_column("metric")
            table.add_column("customers with a score", justify="right")
            for k in figures:
                table.add_column(k, justify="right")
            table.add_column("weight %", justify="right")
            for j, n in enumerate(names):
                table.add_row(n, f"{int(found.counts[j]):,}",
                              *[f"{float(v[j]):.4f}" for v in figures.values()],
                              f"{100 * found.weights[j]:.1f}")
            out.print(table)
        weights = WeightSet.from_overall(result.model, found.weight_of())
        show_proposal(result.model, weights, write, style, decimals, as_json, extra)

    @weights_app.command("entropy")
    def entropy_command(
        model: Path = ModelOpt,
        data: str = DataOpt,
        as_of: str | None = AsOfOpt,
        normalisation: str = typer.Option("sum", "--normalisation", help="sum (column-sum, "
                                          "the standard method) or minmax (spread only)"),
        horizon: str = HorizonOpt,
        write: Path | None = WriteOpt,
        style: str = StyleOpt,
        decimals: int = DecimalsOpt,
        as_json: bool = JsonOpt,
    ) -> None:
        """Entropy weights from the spread of each metric's normalised scores."""
        objective("entropy", model, data, as_of, normalisation, write, style, decimals,
                  as_json, horizon)

    @weights_app.command("critic")
    def critic_command(
        model: Path = ModelOpt,
        data: str = DataOpt,
        as_of: str | None = AsOfOpt,
        horizon: str = HorizonOpt,
        write: Path | None = WriteOpt,
        style: str = StyleOpt,
        decimals: int = DecimalsOpt,
        as_json: bool = JsonOpt,
    ) -> None:
        """CRITIC weights: each metric's spread times its conflict with the others."""
        objective("critic", model, data, as_of, "sum", write, style, decimals, as_json,
                  horizon)

    @weights_app.command("learn")
    def learn_command(
        model: Path = ModelOpt,
        data: str = DataOpt,
        as_of: str | None = typer.Option(None, "--as-of", help="holdout date YYYY-MM-DD: its "
                                         "customers are labelled by churn in (as_of, as_of + "
                                         "horizon] and never seen by the fit; under a static "
                                         "churn label, the export's date (default: the "
                                         "model's, then today)"),
        horizon: str | None = typer.Option(None, "--horizon", help="label window: 90d "
                                           "(default), 12w, 3m, 1y; not used under a static "
                                           "churn label"),
        snapshots: int = typer.Option(4, "--snapshots", min=1, help="fit on this many dates "
                                      "before the holdout, one horizon apart"),
        fit_as_of: list[str] = typer.Option(None, "--fit-as-of", help="fit dates instead "
                                            "(repeat the option); each a horizon before "
                                            "--as-of or earlier"),
        n_boot: int = typer.Option(DEFAULT_BOOTSTRAP, "--bootstrap", min=100,
                                   help="bootstrap resamples for the AUC intervals"),
        seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
        l1: float = typer.Option(0.0, "--l1", min=0.0, help="lasso penalty of the fit: "
                                 "metrics that do not pay for themselves get weight 0 (e.g. "
                                 "0.01; default 0, none)"),
        flip: bool = typer.Option(True, "--flip/--no-flip", help="turn around a metric read "
                                  "backwards (its direction, or a map's points); --no-flip "
                                  "keeps every direction"),
        write: Path | None = WriteOpt,
        style: str = StyleOpt,
        decimals: int = DecimalsOpt,
        as_json: bool = JsonOpt,
        max_rejected: list[str] | None = MaxRejectedOpt,
        max_age_days: str | None = MaxAgeOpt,
        ratio_limit: list[str] | None = RatioLimitOpt,
    ) -> None:
        """Weights learned from churn history, tested out of time against the current ones."""
        from crindex.data import open_dataset
        from crindex.util import print_warnings
        from crindex.weights.learn import learn_weights, need_holdout_date

        spec = guarded_model(model, max_rejected, max_age_days, ratio_limit)
        print_warnings(spec, err)  # a metric reading the churn label, ...
        need_holdout_date(spec, as_of)
        with progress("loading data, fitting, scoring the holdout…", quiet=as_json):
            dataset = open_dataset(data, model=spec)
            report = learn_weights(spec, dataset, as_of, horizon, snapshots=snapshots,
                                   fit_as_of=fit_as_of or None, n_boot=n_boot, seed=seed,
                                   style=style, decimals=decimals, flip=flip, l1=l1)
        if not as_json:
            print_learn(report)
        show_proposal(spec, report.weights, write, style, decimals, as_json, report.to_dict(),
                      report.flipped)


    @weights_app.command("submodels")
    def submodels_command(
        model: Path = ModelOpt,
        data: str = DataOpt,
        as_of: str = typer.Option(..., "--as-of", help="the fit dates are --snapshots "
                                  "horizons before this day (YYYY-MM-DD)"),
        horizon: str = typer.Option("90d", "--horizon", help="label window: 90d, 12w, 3m, 1y"),
        snapshots: int = typer.Option(2, "--snapshots", min=1, help="fit on this many dates, "
                                      "one horizon apart"),
        strength: float = typer.Option(200.0, "--strength", min=0.0, help="customers at "
                                       "which a sub-model's own weights count as much as the "
                                       "whole model's"),
        as_json: bool = JsonOpt,
    ) -> None:
        """Each sub-model's weights learned from churn, shrunk towards the whole model's."""
        from crindex.model import load_model
        from crindex.weights.shrink import learn_submodel_weights

        spec = load_model(model)
        with progress("scoring the fit dates, fitting each sub-model…", quiet=as_json):
            found = learn_submodel_weights(spec, data, as_of, horizon, snapshots=snapshots,
                                           strength=strength)
        if as_json:
            print_json([f.to_dict() for f in found])
            return
        for f in found:
            table = Table(title=f"sub-model {f.submodel}: {f.customers:,} customer-dates, "
                                f"{f.churners:,} churned, shrinkage {f.shrinkage:.2f} "
                                f"towards the whole model")
            for col in ("metric", "own %", "whole model %", "shrunk %"):
                table.add_column(col, justify="left" if col == "metric" else "right")
            for metric, weight in f.weights.items():
                own = f"{f.own[metric]:.1f}" if f.own is not None else "-"
                table.add_row(metric, own, f"{f.parent[metric]:.1f}", f"{weight:.1f}")
            out.print(table)
            for note in f.notes:
                err.print(f"note: {note}", highlight=False, markup=False)

    @app.command("compare")
    def compare_command(
        models: list[Path] = typer.Option(..., "--model", "-m", help="the two model files: "
                                          "--model A --model B"),
        data: str = DataOpt,
        as_of: str | None = AsOfOpt,
        horizon: str = typer.Option("90d", "--horizon", help="churn window after --as-of for "
                                    "the AUCs (when the data reach it)"),
        n_boot: int = typer.Option(DEFAULT_BOOTSTRAP, "--bootstrap", min=100,
                                   help="bootstrap resamples for the AUC intervals"),
        as_json: bool = JsonOpt,
    ) -> None:
        """Two models on the same data: tier migration, rank correlation, AUC."""
        from crindex.weights.compare import compare_models

        if len(models) != 2:
            raise typer.BadParameter(f"give exactly two models (--model A --model B), got "
                                     f"{len(models)}", param_hint="--model")
        with progress("scoring both models…", quiet=as_json):
            result = compare_models(models[0], models[1], data, as_of, horizon, n_boot=n_boot)
        if as_json:
            print_json(result.to_dict())
            return
        print_comparison(result)


def print_comparison(result: Any) -> None:
    """Tier migration matrix, rank correlation and AUCs of a comparison."""
    a, b = result.model_a, result.model_b
    out.print(f"A = {a.name} ({a.path}), B = {b.name} ({b.path}), as of {result.as_of}: "
              f"{result.customers:,} customers", highlight=False)
    table = Table(title="tier migration: rows A, columns B (customers, % of A's tier)")
    table.add_column("A \\ B")
    for tb in result.tiers_b:
        table.add_column(tb, justify="right")
    table.add_column("total", justify="right")
    for ta in result.tiers_a:
        row = result.migration[ta]
        total = sum(row.values())
        table.add_row(ta, *[f"{n:,} ({100 * n / total:.0f}%)" if total else "0"
                            for n in row.values()], f"{total:,}")
    out.print(table)
    out.print(f"same tier id in both: {result.unchanged:,} of {result.customers:,}; Spearman "
              f"rank correlation of the scores: {result.spearman:.3f} "
              f"({result.both_scored:,} customers scored by both)", highlight=False)
    if result.aucs:
        within = f"in ({result.as_of}, +{result.horizon}]" if result.horizon else "(label)"
        print_aucs(f"AUC: churn {within} ({result.churners:,} of {result.labelled:,}; 95% "
                   "bootstrap)", "model", result.aucs)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False)


def metric_aucs(model: Any, dataset: Any, result: Any, matrix: Any, names: list[str],
                horizon: str) -> tuple[dict[str, float | None] | None, str | None]:
    """Each metric's own churn AUC on the scored customers, or ``None`` and why not.

    The outcome is the model's churn rule (:class:`crindex.weights.learn.ChurnLabels`): the
    label, or churn in ``(as_of, as_of + horizon]`` when the data reach that far.
    """
    import numpy as np

    from crindex.errors import CrindexError
    from crindex.stats import churn_auc
    from crindex.weights.learn import ChurnLabels

    try:
        labels = ChurnLabels(dataset.tables, model)(result.as_of, horizon)
    except CrindexError as exc:
        return None, f"no churn outcome to check the weights against: {exc.problems[0].message}"
    ids = result.table.column("customer_id").to_pylist()
    keep = np.array([c in labels for c in ids], dtype=bool)
    y = np.array([labels[c] for c in ids if c in labels], dtype=bool)
    return {n: churn_auc(matrix[keep, j], y) for j, n in enumerate(names)}, None


def print_learn(report: Any) -> None:
    """The fit, the learned weights and the holdout AUCs."""
    if report.split is not None:
        out.print(f"fit on the export as of {report.holdout_date} less the holdout: "
                  f"{report.fit_customers:,} customers, {report.fit_churners:,} churned (label)",
                  highlight=False)
        out.print(f"holdout: {report.holdout_customers:,} customers, "
                  f"{report.holdout_churners:,} churned (label; {report.split['share']:.0%} "
                  f"stratified by the label, seed {report.split['seed']})", highlight=False)
        title = "holdout AUC"
    else:
        dates = ", ".join(d.isoformat() for d in report.fit_dates)
        out.print(f"fit on {dates}: {report.fit_customers:,} customer-snapshots, "
                  f"{report.fit_churners:,} churned within {report.horizon}", highlight=False)
        out.print(f"holdout {report.holdout_date}: {report.holdout_customers:,} customers, "
                  f"{report.holdout_churners:,} churned in the next {report.horizon}",
                  highlight=False)
        title = f"out-of-time AUC on {report.holdout_date}"
    for note in report.notes:
        out.print(f"note: {note}", highlight=False)
    table = Table(title="learned weights (non-negative logistic regression on the scores)")
    table.add_column("metric")
    table.add_column("coefficient", justify="right")
    table.add_column("weight %", justify="right")
    table.add_column("logistic baseline", justify="right")
    overall = report.weights.overall()
    for name, coef in report.coefficients.items():
        table.add_row(name, f"{coef:.3f}", f"{overall[name]:.1f}",
                      f"{report.baseline.get(name, float('nan')):+.3f}")
    out.print(table)
    for f in report.flips:
        if f["flipped"]:
            done = f"turned around ({f['change']})"
        elif f["change"].startswith("none"):
            done = f"not turned around ({f['change']})"
        else:
            done = f"not turned around, no weight (turning it would take: {f['change']})"
        out.print(f"metric {f['metric']} is read backwards (churn AUC {f['auc']:.3f} on the "
                  f"fit): {done}", highlight=False)
    print_aucs(f"{title} (95% bootstrap interval)", "weights", report.aucs)
    out.print("logistic: a plain logistic regression on the same features (any sign), the "
              "baseline", highlight=False)


def print_aucs(title: str, what: str, intervals: dict[str, Any]) -> None:
    """AUCs and AUC differences (``"a - b"``, signed) with their intervals."""
    table = Table(title=title)
    table.add_column(what)
    table.add_column("AUC", justify="right")
    table.add_column("interval", justify="right")
    for name, iv in intervals.items():
        table.add_row(name, f"{iv.value:+.3f}" if " - " in name else f"{iv.value:.3f}",
                      "-" if iv.low is None else f"[{iv.low:.3f}, {iv.high:.3f}]")
    out.print(table)
