"""The ``crindex`` command line: a thin typer app over the Python API.

Every command turns a :class:`~crindex.errors.CrindexError` into one readable message on
stderr and a non-zero exit, never a traceback. An ``OSError`` that no command foresaw gets the
same treatment (one line naming the path), as a last resort.
"""

from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import typer.core
import typer.main

from crindex.errors import CrindexError
from crindex.util import console


@functools.cache
def _commands_files() -> dict[str, Path]:
    """``crindex.<package>.commands`` -> its file, for every package that has one.

    Found by looking at the package folders, without importing the packages.
    """
    import importlib.util
    import pkgutil

    import crindex

    found = {}
    for info in sorted(pkgutil.iter_modules(crindex.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        spec = importlib.util.find_spec(f"crindex.{info.name}")  # imports crindex alone
        for folder in (spec.submodule_search_locations or []) if spec else []:
            if (Path(folder) / "commands.py").is_file():
                found[f"crindex.{info.name}.commands"] = Path(folder) / "commands.py"
                break
    return found


def command_modules() -> list[str]:
    """Modules that add commands: every ``crindex.<package>.commands``, in name order.

    Each defines ``register(app: typer.Typer) -> None``; a package adds commands to the CLI by
    shipping such a module, so no central list has to be edited. Found by their files, without
    importing anything: importing a package can cost a second (ibis, scipy), and
    ``crindex --help`` must not pay for commands it does not run.
    """
    return list(_commands_files())


@dataclass(frozen=True)
class CommandEntry:
    """A top-level command (or command group) a commands module adds, read from its source."""

    name: str
    help: str
    module: str
    group: bool = False


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(call: ast.Call, name: str) -> str | None:
    return next((_literal(k.value) for k in call.keywords if k.arg == name), None)


def _read_commands(module: str) -> list[CommandEntry]:
    """The commands ``module``'s ``register(app)`` adds to ``app``, read from its source.

    Recognises what every commands module writes: ``@app.command("name")`` on a function
    (help: its docstring, or ``help=``) and ``app.add_typer(group, name="name")`` (help: the
    group's ``typer.Typer(help=...)``), where ``app`` is ``register``'s parameter. A module
    written otherwise yields nothing here and is imported to list its commands instead.
    """
    tree = ast.parse(_commands_files()[module].read_text(encoding="utf-8"))
    register = next((n for n in tree.body if isinstance(n, ast.FunctionDef)
                     and n.name == "register" and n.args.args), None)
    if register is None:
        return []
    app_name = register.args.args[0].arg
    groups = {t.id: _keyword(n.value, "help") or "" for n in ast.walk(tree)
              if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
              and isinstance(n.value.func, ast.Attribute) and n.value.func.attr == "Typer"
              for t in n.targets if isinstance(t, ast.Name)}
    found: list[tuple[int, CommandEntry]] = []
    for node in ast.walk(register):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and \
                        deco.func.attr == "command" and isinstance(deco.func.value, ast.Name) \
                        and deco.func.value.id == app_name:
                    name = _literal(deco.args[0]) if deco.args else _keyword(deco, "name")
                    text = _keyword(deco, "help") or ast.get_docstring(node) or ""
                    if name:
                        found.append((node.lineno, CommandEntry(name, text, module)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "add_typer" and isinstance(node.func.value, ast.Name) and \
                node.func.value.id == app_name and node.args:
            name = _keyword(node, "name")
            group = node.args[0]
            text = _keyword(node, "help") or (groups.get(group.id, "")
                                              if isinstance(group, ast.Name) else "")
            if name:
                found.append((node.lineno, CommandEntry(name, text, module, group=True)))
    # typer's order: commands, then groups, each in the order they are added
    return [entry for _, entry in sorted(found, key=lambda pair: (pair[1].group, pair[0]))]


@functools.cache
def command_index() -> dict[str, CommandEntry]:
    """Every command the commands modules add, by name, read without importing them.

    Kept like bytecode, in ``crindex/__pycache__``, and read again only when a commands
    module's file changes (its size or modification time).
    """
    import crindex

    cache = Path(crindex.__file__).parent / "__pycache__" / \
        f"commands-index.{sys.implementation.cache_tag}.marshal"
    return {entry.name: entry for entry in _cached_entries(_commands_files(), cache)}


def _cached_entries(files: dict[str, Path], cache: Path) -> list[CommandEntry]:
    import marshal
    import os

    stamp = [(module, str(path), path.stat().st_mtime_ns, path.stat().st_size)
             for module, path in files.items()]
    try:
        saved, rows = marshal.loads(cache.read_bytes())
        if saved == stamp:
            return [CommandEntry(*row) for row in rows]
    except (OSError, ValueError, EOFError, TypeError):
        pass  # no cache yet, or one from another crindex: read the sources
    entries: list[CommandEntry] = []
    for module in files:
        read = _read_commands(module)
        if not read:  # written in a way the reader does not follow: ask the module itself
            read = _imported_commands(module)
        entries += [e for e in read if e.name not in {seen.name for seen in entries}]
    if not sys.dont_write_bytecode:
        rows = [(e.name, e.help, e.module, e.group) for e in entries]
        try:
            cache.parent.mkdir(exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps((stamp, rows)))
            os.replace(tmp, cache)
        except OSError:  # a read-only install: read the sources every time
            pass
    return entries


def _imported_commands(module: str) -> list[CommandEntry]:
    group = _load_group(module)
    return [CommandEntry(name, cmd.help or "", module, isinstance(cmd, typer.core.TyperGroup))
            for name, cmd in group.commands.items()]


@functools.cache
def _load_group(module: str) -> typer.core.TyperGroup:
    """Import ``module`` and the click group of the commands its ``register`` adds."""
    import importlib

    sub = typer.Typer()
    importlib.import_module(module).register(sub)
    return typer.main.get_group(sub)


class LazyGroup(typer.core.TyperGroup):
    """The top-level group: a commands module is imported when one of its commands runs.

    ``crindex --help`` lists every command from :func:`command_index` (names and help read
    from the sources); running ``crindex weights learn ...`` imports ``crindex.weights``'s
    commands module only.
    """

    listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        # typer's order: commands before groups, each as registered (this module's first)
        own = super().list_commands(ctx)
        lazy = [e for n, e in command_index().items() if n not in self.commands]
        return ([n for n in own if not isinstance(self.commands[n], typer.core.TyperGroup)]
                + [e.name for e in lazy if not e.group]
                + [n for n in own if isinstance(self.commands[n], typer.core.TyperGroup)]
                + [e.name for e in lazy if e.group])

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        entry = command_index().get(cmd_name)
        if cmd_name not in self.commands and entry is not None:
            if self.listing:  # the help text is all a listing shows
                return typer.core.TyperCommand(name=entry.name, help=entry.help)
            for name, command in _load_group(entry.module).commands.items():
                self.commands.setdefault(name, command)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:  # type: ignore[override]
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in self.commands and \
                name not in command_index():
            # typer suggests among the commands loaded so far: suggest among all of them
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx))
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean "
                         + ", ".join(repr(c) for c in close) + "?")
        return super().resolve_command(ctx, args)

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(
    cls=LazyGroup,
    name="crindex",
    help="Customer Relationship Index: score, explain and track customer relationships.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
model_app = typer.Typer(help="Work with model files.", no_args_is_help=True)
app.add_typer(model_app, name="model")


def version() -> str:
    """The installed crindex's version (from its package metadata)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("crindex")
    except PackageNotFoundError:  # a source tree on PYTHONPATH, never installed
        import crindex

        return crindex.__version__


def _print_version(wanted: bool) -> None:
    if wanted:
        sys.stdout.write(f"crindex {version()}\n")
        raise typer.Exit()


@app.callback()
def _app_options(
    show_version: bool = typer.Option(False, "--version", is_eager=True,
                                      callback=_print_version,
                                      help="Print crindex's version and exit."),
) -> None:
    pass


class _LazyConsole:
    """A rich console made on first use: ``--help`` and ``--version`` never need one."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr

    @functools.cached_property
    def _console(self) -> Any:
        return console(stderr=self._stderr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._console, name)


out: Any = _LazyConsole(stderr=False)
err: Any = _LazyConsole(stderr=True)


@model_app.command("schema")
def model_schema(
    output: Path | None = typer.Option(None, "--out", "-o", help="write here (default stdout)"),
) -> None:
    """Write the JSON Schema of model files."""
    import json

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


MaxRejectedOpt = typer.Option(
    None, "--max-rejected", help="TABLE=SHARE, or SHARE for every table: the share of a "
    "table's rows the data checks may set aside before the run refuses (default 0.2; over "
    "the model's guardrails.max_rejected); repeat for more tables")
MaxAgeOpt = typer.Option(
    None, "--max-age-days", help="how many days older than as_of the newest row of a fact "
    "table may be before the run refuses (default 60, or the model's "
    "guardrails.max_age_days); off: never refuse for it")
RatioLimitOpt = typer.Option(
    None, "--ratio-limit", help="METRIC=LIMIT or METRIC=off: a ratio metric's highest "
    "possible value (an open rate: 1), over the model's guardrails.ratio_limits")


def guarded_model(model: Path | object, max_rejected: list[str] | None = None,
                  max_age_days: str | None = None,
                  ratio_limit: list[str] | None = None) -> Any:
    """The model (loaded from its file if need be) with the guardrail flags over its own."""
    from crindex.model.loader import load_model
    from crindex.model.spec import CRIModel

    spec = model if isinstance(model, CRIModel) else load_model(model)  # type: ignore[arg-type]
    if not (max_rejected or max_age_days is not None or ratio_limit):
        return spec
    from crindex.data.guardrails import with_overrides

    return with_overrides(spec, max_rejected or (), max_age_days, ratio_limit or ())


@model_app.command("calibrate")
def model_calibrate(
    model: Path = ModelOpt,
    data: str = DataOpt,
    as_of: str | None = AsOfOpt,
    target_mix: str | None = typer.Option(
        None, "--target-mix", help="TIER=SHARE,...: the share of customers each score tier "
        "should hold, e.g. core=0.1,potential=0.3,ordinary=0.3 (one tier may be left out: it "
        "takes the rest); default: the top tier 10%, the others equal shares of the rest"),
    write: Path | None = typer.Option(
        None, "--write", "-w", help="write a NEW model file with the proposed bounds and "
        "thresholds (comments and order kept), checked before it lands; the --model file is "
        "never changed"),
    max_rejected: list[str] | None = MaxRejectedOpt,
    max_age_days: str | None = MaxAgeOpt,
    ratio_limit: list[str] | None = RatioLimitOpt,
) -> None:
    """Propose normaliser bounds from the data's quantiles and tier thresholds for a mix."""
    from crindex.api import score
    from crindex.weights.calibrate import calibrate, parse_mix, write_calibrated

    spec = guarded_model(model, max_rejected, max_age_days, ratio_limit)
    mix = parse_mix(target_mix, spec.tiers) if target_mix else None
    if write is not None:
        from crindex.weights.rewrite import refuse_own_file

        refuse_own_file(spec, write)  # before scoring, which can take a while
    with err.status("scoring…", spinner="dots"):
        cal = calibrate(spec, lambda m: score(m, data, as_of).table, mix)
    _calibration_tables(cal)
    for note in cal.notes:
        err.print(f"note: {note}", highlight=False, markup=False)
    if write is not None:
        write_calibrated(cal, write)
        err.print(f"wrote {write} (model {model} unchanged)", highlight=False)
    else:
        err.print("nothing written; add --write NEW.yaml to write a new model file",
                  highlight=False)


def _calibration_tables(cal: Any) -> None:
    """Bounds, thresholds, tier mix and mean points: now and proposed."""
    from rich.table import Table

    def settings(values: dict[str, Any] | None, keys: list[str]) -> str:
        if values is None:
            return "-"
        if "bins" in keys:
            edges = [b.get(k) for b in values["bins"] for k in ("min", "max")]
            return "bins at " + ", ".join(sorted({f"{v:g}" for v in edges if v is not None},
                                                 key=float))
        return ", ".join(f"{k} {values[k]:g}" for k in keys)

    bounds = Table(title=f"normalisers of {cal.model.name}: now -> proposed")
    for col in ("metric", "method", "now", "proposed"):
        bounds.add_column(col)
    for b in cal.bounds:
        keys = list(b.new) if b.new else []
        bounds.add_row(b.metric, b.method, settings(b.old, keys) if keys else "-",
                       settings(b.new, keys) if keys else "unchanged")
    out.print(bounds)
    if cal.thresholds:
        th = Table(title="tier thresholds: now -> proposed")
        for col in ("tier", "bound", "now", "proposed", "target share"):
            th.add_column(col, justify="left" if col in ("tier", "bound") else "right")
        for t in cal.thresholds:
            th.add_row(t.tier, t.key, f"{t.old:g}", f"{t.new:g}",
                       f"{100 * cal.target.get(t.tier, 0):.1f}%")
        out.print(th)
    mix = Table(title="tier mix: now -> proposed")
    for col in ("tier", "customers now", "share now", "proposed", "share proposed"):
        mix.add_column(col, justify="left" if col == "tier" else "right")
    total_b = sum(cal.mix_before.values()) or 1
    total_a = sum(cal.mix_after.values()) or 1
    for tier in dict.fromkeys([*cal.mix_before, *cal.mix_after]):
        nb, na = cal.mix_before.get(tier, 0), cal.mix_after.get(tier, 0)
        mix.add_row(tier, f"{nb:,}", f"{100 * nb / total_b:.1f}%", f"{na:,}",
                    f"{100 * na / total_a:.1f}%")
    out.print(mix)
    pts = Table(title="mean points per metric (0-100): now -> proposed")
    for col in ("metric", "now", "proposed"):
        pts.add_column(col, justify="left" if col == "metric" else "right")
    for metric, before in cal.points_before.items():
        after = cal.points_after.get(metric)
        pts.add_row(metric, "-" if before is None else f"{before:.1f}",
                    "-" if after is None else f"{after:.1f}")
    out.print(pts)


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


def _print_findings(result: Any) -> None:
    """The run's findings on the model (``summary.json`` ``findings``), one line each."""
    from crindex.output import run_findings

    for f in run_findings(result):
        err.print(f"finding ({f['level']}): {f['message']}", highlight=False, markup=False,
                  soft_wrap=True)


def _run_score(model: Any, data: str, as_of: str | None,
               quarantine: Path | None = None,
               engine: str = "duckdb", master: str | None = None,
               conf: list[str] | None = None) -> object:
    from crindex.api import score

    con = None
    if engine != "duckdb" or master or conf:
        from crindex.engine.connect import ENGINES, connect

        if engine not in ENGINES:
            raise typer.BadParameter(f"unknown engine `{engine}`; use {' or '.join(ENGINES)}",
                                     param_hint="--engine")
        if engine != "spark":
            option = "--master" if master else "--conf"
            raise typer.BadParameter(f"{option} only applies to --engine spark",
                                     param_hint=option)
        from crindex.engine.spark import parse_conf

        settings = parse_conf(conf or [])  # before starting Spark: a typo costs no JVM start
        with err.status("starting Spark…", spinner="dots"):
            con = connect("spark", master=master, **settings)
    with err.status("scoring…", spinner="dots"):
        result = score(model, data, as_of, quarantine_dir=quarantine, con=con)
    _print_warnings(result.model)
    for line in result.fitted.summary_lines() if result.fitted is not None else []:
        err.print(line, highlight=False)
    for line in result.warnings:
        err.print(f"warning: {line}", highlight=False, markup=False)
    return result


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
    conf: list[str] | None = typer.Option(None, "--conf", help="a Spark setting key=value, "
                                          "repeatable, as spark-submit takes them (e.g. "
                                          "spark.driver.memory=4g); only with --engine spark"),
    max_rejected: list[str] | None = MaxRejectedOpt,
    max_age_days: str | None = MaxAgeOpt,
    ratio_limit: list[str] | None = RatioLimitOpt,
) -> None:
    """Score every customer and write scores, the SQL and the data-quality report.

    Refuses (exit 2, nothing written) when the data fails a guardrail: see docs/data.md.
    """
    formats = tuple(f.strip() for f in fmt.split(",") if f.strip())
    bad = [f for f in formats if f not in ("parquet", "csv")]
    if bad:
        raise typer.BadParameter(f"unknown format {', '.join(bad)}; use parquet and/or csv",
                                 param_hint="--format")
    from crindex.output import check_result_targets

    check_result_targets(out_dir, duckdb_file)  # before scoring, which can take a while
    if store:
        from crindex.store import check_location

        check_location(store)
    spec = guarded_model(model, max_rejected, max_age_days, ratio_limit)
    result = _run_score(spec, data, as_of, engine=engine, master=master, conf=conf)
    if store:  # first: a store that refuses the run (damaged, locked) leaves no files either
        _keep_in_store(result, data, store)
    written = result.write(out_dir, formats, duckdb_file)  # type: ignore[attr-defined]
    _tier_table(result)
    _print_findings(result)
    quality = result.quality  # type: ignore[attr-defined]
    if quality is not None:
        for line in quality.summary_lines() + quality.guardrail_lines():
            err.print(line, highlight=False)
    err.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False)


def _keep_in_store(result: object, data: str, location: str) -> None:
    """Record ``result`` (its snapshot and the alerts it raises and resolves) in the store."""
    from crindex.record import record_run
    from crindex.store import fingerprint, open_store
    from crindex.store.manual import stale_warnings

    st = open_store(location)
    try:
        done = record_run(st, result, fingerprint(data))  # type: ignore[arg-type]
        err.print(f"snapshot {done.run_id} in {st.describe()}; alerts: {len(done.raised)} "
                  f"raised, {len(done.resolved)} resolved", highlight=False)
        stale = stale_warnings(st, result.model, result.as_of)  # type: ignore[attr-defined]
    finally:
        st.close()
    for line in stale:  # in the summary printed now and in summary.json
        result.warnings.append(line)  # type: ignore[attr-defined]
        err.print(f"warning: {line}", highlight=False, markup=False)


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
    max_rejected: list[str] | None = MaxRejectedOpt,
    max_age_days: str | None = MaxAgeOpt,
    ratio_limit: list[str] | None = RatioLimitOpt,
) -> None:
    """Print the evaluation table of one customer's score, and adjustments in force."""
    from rich.table import Table

    from crindex.output import dumps

    result = _run_score(guarded_model(model, max_rejected, max_age_days, ratio_limit), data,
                        as_of)
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
    flags = _flags_of(result, ex.customer_id)
    if as_json:
        sys.stdout.write(dumps({**ex.to_dict(), "flags": flags}) + "\n")
        return
    scored_by = f" (sub-model {ex.submodel})" if ex.submodel else ""
    table = Table(title=f"customer {ex.customer_id}{scored_by}: score {_fmt(ex.score)}, tier "
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
    if ex.rollup:
        table = Table(title=f"account {ex.customer_id}: score {_fmt(ex.score)} ({ex.rollup} of "
                            f"{len(ex.children)} children), tier {ex.tier_label or '-'}")
        for col in ("child", "level", "score", "tier", "weight", "contribution"):
            table.add_column(col, justify="left" if col in ("child", "tier") else "right")
        for c in ex.children:
            table.add_row(str(c["customer_id"]), str(c["level"]), _fmt(c["score"]),
                          str(c["tier"] or "-"), _fmt(c["weight"]), _fmt(c["contribution"]))
        table.add_section()
        table.add_row("total", "", "", "", "", _fmt(ex.score))
    out.print(table)
    if ex.strategy:
        out.print(f"[bold]strategy[/] ({ex.tier_label}): {ex.strategy}")
    if ex.next_tier is not None:
        path = ex.next_tier
        head = path.text().split(": ", 1)[0] if path.changes else path.text()
        out.print("[bold]path to the next tier:[/] ", end="")
        out.print(head.removeprefix("next tier: ").removeprefix("next tier "),
                  highlight=False, markup=False)
        for change in path.changes:
            out.print(f"  {change.text()}", highlight=False, markup=False)
    if flags:
        out.print(f"[bold]flags[/] (beside the score, never in it): {', '.join(flags)}",
                  highlight=False)
    for a in ex.adjustments:
        out.print(f"[bold]adjustment[/] {_adjustment_text(a)}")


def _flags_of(result: object, customer_id: str) -> list[str]:
    """The flags raised for one customer of a scored result (docs/act.md, Flags)."""
    import pyarrow.compute as pc

    table = result.table  # type: ignore[attr-defined]
    if "flags" not in table.column_names:
        return []
    row = table.filter(pc.equal(table.column("customer_id").cast("string"), customer_id))
    text = row.column("flags")[0].as_py() if row.num_rows else None
    return text.split(",") if text else []


def _adjustment_text(a: dict[str, object]) -> str:
    change = f"{a['points']:+g} points" if a.get("points") is not None else f"tier {a.get('tier')}"
    until = f" until {a['expires']}" if a.get("expires") else ""
    stale = f" [stale: {a['stale']}]" if a.get("stale") else ""
    return (f"{change} by {a.get('made_by')} ({a.get('reason')}){until} -> score "
            f"{_fmt(a.get('score_after'))}, tier {a.get('tier_after')}{stale}")


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
    max_rejected: list[str] | None = MaxRejectedOpt,
    max_age_days: str | None = MaxAgeOpt,
    ratio_limit: list[str] | None = RatioLimitOpt,
) -> None:
    """Check a model (and data) without scoring: every problem at once.

    With data, the run's guardrails apply as in score: data they refuse exits 2, never "ok".
    """
    spec = guarded_model(model, max_rejected, max_age_days, ratio_limit)
    n_metrics = len(spec.metrics)
    model_line = (f"model {model}: {len(spec.dimensions)} dimensions, {n_metrics} metrics, "
                  f"{len(spec.tiers.levels)} tiers")
    _print_warnings(spec)
    if not data:
        out.print(model_line + " - ok")
        return
    from crindex.api import score

    # the whole run, guardrails included (nothing is written): a refusal raises before any ok
    result = score(spec, data, as_of)
    out.print(model_line + " - ok")
    fitted = result.fitted
    quality = result.quality
    for line in (quality.summary_lines() + quality.guardrail_lines()
                 + (fitted.summary_lines() if fitted else [])
                 + [f"warning: {w}" for w in result.warnings]):
        out.print(line, highlight=False, markup=False)
    passed = [g for g in quality.guardrails if g.level != "refused"]
    verdict = (f"passed with {len(passed)} guardrail warning(s) above" if passed else "ok")
    out.print(f"data {data}: tables {', '.join(sorted(quality.encodings))} - {verdict}")


def _print_warnings(spec: object) -> None:
    """The model's warnings (problems of warning-level rules), on stderr; they never fail."""
    from crindex.util import print_warnings

    print_warnings(spec, err)


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
        from crindex.data import open_dataset
        from crindex.engine.fit import fit_model

        tables = open_dataset(data, model=spec, as_of=day).tables
        fitted = fit_model(spec, tables, day)
    else:
        tables, fitted = contract_tables(spec), None
    compiled = compile_model(spec, tables, day, fitted=fitted)
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


def contract_tables(spec: Any = None) -> dict[str, object]:
    """Unbound Ibis tables with the data contract's schema (and the model's own columns)."""
    from crindex.data.derive import unbound_tables

    return dict(unbound_tables(dict(spec.sources) if spec is not None else {}))


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
    _print_findings(result)
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


def _fail(message: str) -> None:
    """Print ``message`` as the one error line and exit 2."""
    from rich.markup import escape

    err.print(f"[bold red]error[/]: {escape(message)}", markup=True, highlight=False,
              soft_wrap=True)
    sys.exit(2)


def main() -> None:
    """Entry point: run the app, turning crindex errors into a message and exit code 2."""
    try:
        app()
    except CrindexError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted; nothing was written")
        sys.exit(130)
    except OSError as exc:  # last resort: commands raise OutputError/DataError for known cases
        path = exc.filename if exc.filename is not None else "a file"
        _fail(f"cannot read/write {path}: {exc.strerror or exc}")


if __name__ == "__main__":  # pragma: no cover
    main()
