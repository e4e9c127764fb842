"""The ``crindex`` command line: a thin typer app over the Python API.

Every command turns a :class:`~crindex.errors.CrindexError` into one readable message on
stderr and a non-zero exit, never a traceback. An ``OSError`` that no command foresaw gets the
same treatment (one line naming the path), as a last resort.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.markup import escape

from crindex.errors import CrindexError
from crindex.util import console

app = typer.Typer(
    name="crindex",
    help="Customer Relationship Index: score, explain and track customer relationships.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
model_app = typer.Typer(help="Work with model files.", no_args_is_help=True)
app.add_typer(model_app, name="model")

out = console()
err = console(stderr=True)


@model_app.command("schema")
def model_schema(
    output: Path | None = typer.Option(None, "--out", "-o", help="write here (default stdout)"),
) -> None:
    """Write the JSON Schema of model files."""
    from crindex.model.spec import CRIModel
    from crindex.util import atomic_write_text

    schema = json.dumps(CRIModel.model_json_schema(), indent=2, ensure_ascii=False)
    if output:
        atomic_write_text(output, schema + "\n")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(schema + "\n")


ModelOpt = typer.Option(..., "--model", "-m", help="the model file (YAML)")
DataOpt = typer.Option(..., "--data", "-d", help="data folder, DuckDB file or database URL")
AsOfOpt = typer.Option(None, "--as-of", help="scoring date YYYY-MM-DD (default: the model's, "
                       "then today); no row after it is used")


def _tier_table(result: object) -> None:
    from rich.table import Table

    from crindex.api import ScoreResult

    assert isinstance(result, ScoreResult)
    counts = result.tier_counts()
    total = sum(counts.values()) or 1
    levels = {lv.id: lv for lv in result.model.tiers.levels}
    table = Table(title=f"{result.model.name} as of {result.as_of}: {total:,} customers")
    table.add_column("tier")
    table.add_column("label")
    table.add_column("customers", justify="right")
    table.add_column("share", justify="right")
    for tier, n in counts.items():
        lv = levels.get(tier)
        table.add_row(tier, lv.display if lv else "-", f"{n:,}", f"{100 * n / total:.1f}%")
    out.print(table)


def _run_score(model: Path, data: str, as_of: str | None, quarantine: Path | None = None,
               engine: str = "duckdb", master: str | None = None) -> object:
    from crindex.api import score

    con = None
    if engine != "duckdb" or master:
        from crindex.engine.connect import ENGINES, connect

        if engine not in ENGINES:
            raise typer.BadParameter(f"unknown engine `{engine}`; use {' or '.join(ENGINES)}",
                                     param_hint="--engine")
        if engine != "spark":
            raise typer.BadParameter("--master only applies to --engine spark",
                                     param_hint="--master")
        with err.status("starting Spark…", spinner="dots"):
            con = connect("spark", master=master)
    with err.status("scoring…", spinner="dots"):
        return score(model, data, as_of, quarantine_dir=quarantine, con=con)


@app.command("score")
def score_command(
    model: Path = ModelOpt,
    data: str = DataOpt,
    as_of: str | None = AsOfOpt,
    out_dir: Path = typer.Option(..., "--out", "-o", help="folder for the results"),
    fmt: str = typer.Option("parquet,csv", "--format", help="comma-separated: parquet, csv"),
    duckdb_file: Path | None = typer.Option(None, "--duckdb", help="also write table `scores` "
                                            "into this DuckDB file"),
    store: str | None = typer.Option(None, "--store", help="also keep this run as a snapshot "
                                     "in a history store (DuckDB file or postgresql:// URL) "
                                     "and evaluate the model's alerts on it"),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (embedded, default) or spark "
                               "(needs crindex[spark] and Java 17; reads a data folder of "
                               "contract tables, see docs/spark.md)"),
    master: str | None = typer.Option(None, "--master", help="Spark master: local[N], "
                                      "spark://host:7077, yarn or sc://host:15002 (Spark "
                                      "Connect); default: the active session, else local[2]"),
) -> None:
    """Score every customer and write scores, the SQL and the data-quality report."""
    formats = tuple(f.strip() for f in fmt.split(",") if f.strip())
    bad = [f for f in formats if f not in ("parquet", "csv")]
    if bad:
        raise typer.BadParameter(f"unknown format {', '.join(bad)}; use parquet and/or csv",
                                 param_hint="--format")
    from crindex.output import check_result_targets

    check_result_targets(out_dir, duckdb_file)  # before scoring, which can take a while
    result = _run_score(model, data, as_of, engine=engine, master=master)
    written = result.write(out_dir, formats, duckdb_file)  # type: ignore[attr-defined]
    _tier_table(result)
    quality = result.quality  # type: ignore[attr-defined]
    if quality is not None:
        for line in quality.summary_lines():
            err.print(line, highlight=False)
    err.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False)
    if store:
        _keep_in_store(result, data, store)


def _keep_in_store(result: object, data: str, location: str) -> None:
    """Write ``result`` as a snapshot, then raise and resolve the model's alerts on it."""
    from crindex.alerts import evaluate_run
    from crindex.store import fingerprint, open_store

    st = open_store(location)
    try:
        run_id = st.write_snapshot(result, fingerprint(data))  # type: ignore[arg-type]
        ev = evaluate_run(st, result.model, run_id)  # type: ignore[attr-defined]
        err.print(f"snapshot {run_id} in {st.describe()}; alerts: {len(ev.raised)} raised, "
                  f"{len(ev.resolved)} resolved", highlight=False)
    finally:
        st.close()


@app.command("explain")
def explain_command(
    customer_id: str = typer.Argument(..., help="the customer to explain"),
    model: Path = ModelOpt,
    data: str = DataOpt,
    as_of: str | None = AsOfOpt,
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    store: str | None = typer.Option(None, "--store", help="history store whose manual "
                                     "adjustments to show (default: crindex-history.duckdb "
                                     "or $CRINDEX_STORE, when it exists)"),
) -> None:
    """Print the evaluation table of one customer's score, and adjustments in force."""
    from rich.table import Table

    from crindex.api import dumps

    result = _run_score(model, data, as_of)
    location = store or _existing_default_store()
    if location:
        from crindex.store import explain_adjusted, open_store

        st = open_store(location, create=False)
        try:
            ex = explain_adjusted(result, customer_id, st)  # type: ignore[arg-type]
        finally:
            st.close()
    else:
        ex = result.explain(customer_id)  # type: ignore[attr-defined]
    if as_json:
        sys.stdout.write(dumps(ex.to_dict()) + "\n")
        return
    table = Table(title=f"customer {ex.customer_id}: score {_fmt(ex.score)}, tier "
                        f"{ex.tier_label or '-'}, coverage {_fmt(ex.coverage)}%")
    for col, justify in (("dimension", "left"), ("metric", "left"), ("source", "left"),
                         ("raw value", "right"), ("score", "right"), ("weight %", "right"),
                         ("weighted score", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in ex.rows:
        table.add_row(r.dimension, r.metric, r.source,
                      "missing" if r.raw is None else _fmt(r.raw),
                      _fmt(r.score) + (" (policy)" if r.missing and r.score is not None else ""),
                      _fmt(r.weight), _fmt(r.weighted))
    table.add_section()
    table.add_row("total", "", "", "", "", _fmt(sum(r.weight for r in ex.rows)), _fmt(ex.score))
    out.print(table)
    if ex.strategy:
        out.print(f"[bold]strategy[/] ({ex.tier_label}): {ex.strategy}")
    for a in ex.adjustments:
        out.print(f"[bold]adjustment[/] {_adjustment_text(a)}")


def _adjustment_text(a: dict[str, object]) -> str:
    change = f"{a['points']:+g} points" if a.get("points") is not None else f"tier {a.get('tier')}"
    until = f" until {a['expires']}" if a.get("expires") else ""
    return (f"{change} by {a.get('made_by')} ({a.get('reason')}){until} -> score "
            f"{_fmt(a.get('score_after'))}, tier {a.get('tier_after')}")


def _existing_default_store() -> str | None:
    from pathlib import Path as _P

    from crindex.store import default_store

    where = default_store()
    if where.startswith(("postgresql://", "postgres://")) or _P(where).exists():
        return where
    return None


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


@app.command("validate")
def validate_command(
    model: Path = ModelOpt,
    data: str | None = typer.Option(None, "--data", "-d", help="also check this data"),
    as_of: str | None = AsOfOpt,
) -> None:
    """Check a model (and data) without scoring: every problem at once."""
    from crindex.api import as_date
    from crindex.engine.compile import compile_model
    from crindex.model.loader import load_model

    spec = load_model(model)
    n_metrics = len(spec.metrics)
    out.print(f"model {model}: {len(spec.dimensions)} dimensions, {n_metrics} metrics, "
              f"{len(spec.tiers.levels)} tiers - ok")
    if data:
        from crindex.data import load_dataset

        day = as_date(as_of, spec.as_of)
        ds = load_dataset(data, model=spec, as_of=day)
        compile_model(spec, ds.tables, day)
        for line in ds.quality.summary_lines():
            out.print(line, highlight=False)
        out.print(f"data {data}: tables {', '.join(sorted(ds.tables))} - ok")


@app.command("sql")
def sql_command(
    model: Path = ModelOpt,
    as_of: str | None = AsOfOpt,
    data: str | None = typer.Option(None, "--data", "-d", help="compile against this data "
                                    "(default: the data contract's schema)"),
    dialect: str = typer.Option("duckdb", "--dialect", help="SQL dialect (duckdb, postgres, "
                                "spark, snowflake, bigquery, ...)"),
) -> None:
    """Print the SQL a model compiles to."""
    from ibis.common.exceptions import IbisError

    from crindex.api import as_date
    from crindex.engine.compile import compile_model
    from crindex.model.loader import load_model

    dialect = sql_dialect(dialect)
    spec = load_model(model)
    day = as_date(as_of, spec.as_of)
    if data:
        from crindex.data import load_dataset

        tables = load_dataset(data, model=spec, as_of=day).tables
    else:
        tables = contract_tables()
    compiled = compile_model(spec, tables, day)
    try:
        text = compiled.sql(dialect=dialect)
    except IbisError as exc:  # e.g. druid has no DATE()
        raise typer.BadParameter(f"the {dialect} dialect cannot express this model: "
                                 f"{str(exc).splitlines()[0]}; try another dialect",
                                 param_hint="--dialect") from None
    sys.stdout.write(text + "\n")


#: dialect names people write that Ibis spells differently
DIALECT_ALIASES = {"spark": "pyspark", "postgresql": "postgres", "sqlserver": "mssql"}


def sql_dialect(name: str) -> str:
    """The Ibis compiler name of dialect ``name``, or a clear error listing the dialects."""
    import ibis.backends.sql.compilers as compilers

    known = sorted(n for n in vars(compilers) if not n.startswith("_")
                   and getattr(getattr(compilers, n), "compiler", None) is not None)
    wanted = DIALECT_ALIASES.get(name.strip().lower(), name.strip().lower())
    if wanted == "pyspark":
        import ibis

        try:  # loading the backend registers ibis.options.pyspark, which its compiler reads
            ibis.pyspark  # noqa: B018
        except (ImportError, AttributeError):
            raise typer.BadParameter("the spark dialect needs pyspark: pip install "
                                     "'crindex[spark]'", param_hint="--dialect") from None
    if wanted in known:
        return wanted
    raise typer.BadParameter(f"unknown SQL dialect `{name}`; use one of "
                             + ", ".join(sorted([*known, "spark"])), param_hint="--dialect")


def contract_tables() -> dict[str, object]:
    """Unbound Ibis tables with the data contract's schema."""
    import ibis

    from crindex.contract import CONTRACT, ibis_schema

    return {name: ibis.table(ibis_schema(name), name=name) for name in CONTRACT}


@app.command("demo")
def demo_command(
    customers: int = typer.Option(5000, "--customers", help="customers in the synthetic world"),
    out_dir: Path = typer.Option(Path("crindex-demo"), "--out", help="where to write"),
    seed: int = typer.Option(7, "--seed"),
) -> None:
    """Generate a synthetic CRM world, score it with examples/ecommerce.yaml, print tiers."""
    import datetime as dt

    from crindex.examples import example_path
    from crindex.synth import generate

    start = dt.date(2023, 1, 1)
    months = 36
    data_dir = out_dir / "data"
    err.print(f"generating a synthetic e-commerce world of {customers:,} customers in {data_dir}")
    info = generate(profile="ecommerce", customers=customers, start=start, months=months,
                    seed=seed, out=data_dir, fmt="parquet", progress=sys.stderr.isatty())
    as_of = info.get("as_of") if isinstance(info, dict) else None
    as_of = as_of or dt.date(2025, 12, 31)
    result = _run_score(example_path("ecommerce"), str(data_dir), str(as_of))
    written = result.write(out_dir / "results")  # type: ignore[attr-defined]
    _tier_table(result)
    table = result.table  # type: ignore[attr-defined]
    gone = customers - table.num_rows
    if gone > 0:
        err.print(f"{table.num_rows:,} of the {customers:,} customers are scored: the other "
                  f"{gone:,} churned before {as_of}", highlight=False, soft_wrap=True)
    at_risk = [c for c, t in zip(table.column("customer_id").to_pylist(),
                                 table.column("tier").to_pylist(), strict=True) if t == "at_risk"]
    example = at_risk[0] if at_risk else table.column("customer_id")[0].as_py()
    err.print(f"results in {out_dir / 'results'} ({len(written)} files); see why a customer "
              f"scored what they did:\n  {_program()} explain {example} --model "
              f"{example_path('ecommerce')} --data {data_dir} --as-of {as_of}", highlight=False,
              soft_wrap=True)


def _program() -> str:
    """How the user called crindex (``.venv/bin/crindex`` after ``make demo``), for hints."""
    import os

    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "crindex"
    if os.path.basename(argv0) != "crindex" or os.sep not in argv0:
        return "crindex"
    rel = os.path.relpath(argv0)
    return rel if not rel.startswith("..") else argv0


def command_modules() -> list[str]:
    """Modules that add commands: every ``crindex.<package>.commands``, in name order.

    Each defines ``register(app: typer.Typer) -> None``; a package adds commands to the CLI by
    shipping such a module, so no central list has to be edited.
    """
    import importlib.util
    import pkgutil

    import crindex

    names = []
    for info in sorted(pkgutil.iter_modules(crindex.__path__), key=lambda i: i.name):
        if info.ispkg and importlib.util.find_spec(f"crindex.{info.name}.commands") is not None:
            names.append(f"crindex.{info.name}.commands")
    return names


def _register_all() -> None:
    import importlib

    for name in command_modules():
        importlib.import_module(name).register(app)


_register_all()


def main() -> None:
    """Entry point: run the app, turning crindex errors into a message and exit code 2."""
    try:
        app()
    except CrindexError as exc:
        err.print(f"[bold red]error[/]: {escape(str(exc))}", markup=True, highlight=False,
                  soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was written")
        sys.exit(130)
    except OSError as exc:  # last resort: commands raise OutputError/DataError for known cases
        path = exc.filename if exc.filename is not None else "a file"
        err.print(f"[bold red]error[/]: cannot read/write {escape(str(path))}: "
                  f"{escape(str(exc.strerror or exc))}", markup=True, highlight=False,
                  soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
