"""The command line's plug-in commands: found without importing them, loaded when they run.

``crindex --help`` lists every command from the commands modules' sources; these tests hold
that listing to what the modules really register, and check that listing them (and
``--version``) imports none of the heavy libraries a command pays for only when it runs.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from crindex.cli import _imported_commands, _read_commands, app, command_index, command_modules

#: what a command may import, but a listing must not
HEAVY = ("ibis", "pandas", "numpy", "scipy", "pyarrow", "duckdb", "fastapi", "uvicorn",
         "pyspark", "psycopg", "jinja2", "crindex.api", "crindex.model", "crindex.store",
         "crindex.weights", "crindex.kpis", "crindex.backtest", "crindex.synth")


@pytest.mark.parametrize("module", command_modules())
def test_commands_read_from_source_are_the_registered_ones(module):
    read = _read_commands(module)
    assert read, f"{module}: no command read from its source"
    # names, help texts, groups and order, as register(app) adds them
    assert read == _imported_commands(module)


def test_every_package_with_a_commands_module_is_found():
    found = {m.split(".")[1] for m in command_modules()}
    assert {"alerts", "backtest", "kpis", "report", "service", "store", "synth",
            "weights"} <= found
    assert set(command_index()) >= {"backfill", "serve", "token", "weights", "compare", "synth"}


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_listing_imports_no_heavy_module(args):
    code = ("import sys\nsys.argv = ['crindex', *sys.argv[1:]]\nfrom crindex.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"heavy = {HEAVY!r}\n"
            "print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def test_help_lists_every_command_and_version_prints_the_installed_one():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    listed = [line.split()[1] for line in result.output.splitlines()
              if line.startswith("│ ") and len(line.split()) > 1 and not
              line.split()[1].startswith("-")]
    for name in ("score", "explain", "validate", "sql", "demo", *command_index(), "model"):
        assert name in listed, (name, result.output)
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"crindex {version('crindex')}\n"


def test_a_lazy_command_runs_and_shows_its_own_help():
    result = CliRunner().invoke(app, ["weights", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for sub in ("ahp", "entropy", "critic", "learn"):
        assert sub in result.output
    result = CliRunner().invoke(app, ["nosuch"])
    assert result.exit_code == 2 and "No such command" in result.output


@pytest.mark.parametrize(("typo", "meant"), [("trnd", ["trend"]),
                                             ("scor", ["score", "store"]),
                                             ("weigths", ["weights"])])
def test_a_mistyped_command_gets_a_suggestion_among_all_commands(typo, meant):
    result = CliRunner().invoke(app, [typo], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    names = ", ".join(f"'{m}'" for m in meant)  # the closest first
    assert f"No such command '{typo}'. Did you mean {names}?" in result.output


def test_the_command_index_is_kept_and_read_again_when_a_file_changes(tmp_path, monkeypatch):
    from crindex.cli import _cached_entries, _commands_files

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    files = dict(_commands_files())
    cache = tmp_path / "commands-index.marshal"
    first = _cached_entries(files, cache)
    assert cache.exists() and first == list(command_index().values())
    # a changed commands file (its size or time) makes the index be read again
    changed = tmp_path / "commands.py"
    changed.write_text(files["crindex.synth.commands"].read_text(encoding="utf-8").replace(
        '@app.command("synth")', '@app.command("synthesise")'), encoding="utf-8")
    monkeypatch.setitem(files, "crindex.synth.commands", changed)
    monkeypatch.setattr("crindex.cli._commands_files", lambda: files)
    names = [e.name for e in _cached_entries(files, cache)]
    assert "synthesise" in names and "synth" not in names
