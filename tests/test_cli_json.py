"""Every ``--json`` output of every command is strict JSON (no ``NaN``, one document).

The commands are found in the CLI itself: a command that gains ``--json`` and is not run here
fails :func:`test_every_json_command_is_covered`, so none slips through.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.conftest import WORLD_AS_OF

pytestmark = pytest.mark.xdist_group("cli_json")


def _refuse(constant: str) -> Any:
    raise ValueError(f"not strict JSON: {constant}")


def strict_loads(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and -Infinity (and anything after the doc)."""
    return json.loads(text, parse_constant=_refuse)


def json_commands() -> set[str]:
    """The path of every command with a ``--json`` option (``alerts list``, ``explain``...)."""
    import typer

    from crindex.cli import app

    found: set[str] = set()

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "list_commands"):  # a group (typer's click, whichever it is)
            ctx = typer.Context(cmd)  # the top group loads its commands modules on demand
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), (*path, name))
        elif any("--json" in getattr(p, "opts", ()) for p in cmd.params):
            found.add(" ".join(path))

    walk(typer.main.get_command(app), ())
    return found


def test_strict_parser_refuses_nan():
    """The parser of this module fails on what Python's json writes for NaN."""
    with pytest.raises(ValueError, match="NaN"):
        strict_loads(json.dumps({"x": math.nan}))
    assert strict_loads('{"x": null}') == {"x": None}


def test_dumps_writes_null_never_nan():
    """crindex's JSON rule: NaN/inf/NaT -> null, -0.0 -> 0.0, timestamps to the second."""
    import numpy as np
    import pandas as pd

    from crindex.output import dumps, frame_records

    frame = pd.DataFrame({"a": [1.5, math.nan], "b": [pd.Timestamp("2025-01-02 03:04:05.6"),
                                                         pd.NaT], "c": [-0.0, np.inf]})
    assert strict_loads(dumps(frame_records(frame))) == [
        {"a": 1.5, "b": "2025-01-02T03:04:05", "c": 0.0},
        {"a": None, "b": None, "c": None}]
    assert "-0.0" not in dumps([-0.0])


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``crindex ARGS`` in this process: (exit code, stdout, stderr) kept apart."""
    from crindex import cli as cli_module
    from crindex.cli import main

    monkeypatch.setenv("COLUMNS", "1000")

    def go(*args: str) -> tuple[int, str, str]:
        for console in (cli_module.out, cli_module.err):
            console.__dict__.pop("_console", None)
        monkeypatch.setattr(sys, "argv", ["crindex", *args])
        with pytest.raises(SystemExit) as done:
            main()
        captured = capsys.readouterr()
        return int(done.value.code or 0), captured.out, captured.err

    return go


def test_every_json_output_is_strict(ecommerce_world: Path, tmp_path: Path, run: Any,
                                     monkeypatch: pytest.MonkeyPatch):
    from crindex.examples import example_path

    model = str(example_path("ecommerce"))
    data = str(ecommerce_world)
    store = str(tmp_path / "history.duckdb")
    monkeypatch.delenv("CRINDEX_STORE", raising=False)
    customer = str(pq.read_table(ecommerce_world / "customers.parquet",
                                 columns=["customer_id"]).column(0)[0].as_py())

    def ok(*args: str) -> str:
        code, out, err = run(*args)
        assert code == 0, (args, out, err)
        return out

    ok("backfill", "--model", model, "--data", data, "--from", "2025-12-01", "--to",
       WORLD_AS_OF, "--every", "1m", "--store", store)
    ok("adjust", customer, "--points", "5", "--reason", "test", "--by", "qa", "--store", store)
    ok("token", "create", "--name", "qa", "--scope", "read", "--store", store)
    (tmp_path / "ahp.yaml").write_text("comparisons: {A/B: 2, A/C: 4, B/C: 2}\n",
                                       encoding="utf-8")
    alerts = strict_loads(ok("alerts", "list", "--status", "all", "--store", store, "--json"))
    alert_id = str(alerts[0]["alert_id"]) if alerts else "1"

    invocations = {
        "alerts list": ["--status", "all", "--store", store],
        "alerts log": [alert_id, "--store", store],
        "history": [customer, "--store", store],
        "trend": ["--store", store],
        "migration": ["--from", "2025-12-01", "--to", WORLD_AS_OF, "--store", store],
        "adjustments": ["--store", store],
        "store check": ["--store", store],
        "token list": ["--store", store],
        "explain": [customer, "--model", model, "--data", data, "--as-of", WORLD_AS_OF,
                    "--store", store],
        "kpis": ["--data", data, "--as-of", WORLD_AS_OF, "--model", model],
        "weights ahp": [str(tmp_path / "ahp.yaml")],
        "weights entropy": ["--model", model, "--data", data, "--as-of", WORLD_AS_OF],
        "weights critic": ["--model", model, "--data", data, "--as-of", WORLD_AS_OF],
        "weights learn": ["--model", model, "--data", data, "--as-of", "2025-09-01",
                          "--snapshots", "1",
                          "--bootstrap", "100"],
        "compare": ["--model", model, "--model", str(example_path("b2b")), "--data", data,
                    "--as-of", "2025-09-01", "--bootstrap", "100"],
    }
    # the table of `history`: tier labels (not ids), no `[]` for no adjustment, no `-0.0`
    table = ok("history", customer, "--store", store)
    labels = {"Core", "Potential", "Ordinary", "At risk"}
    assert any(label in table for label in labels), table
    assert "[]" not in table and "-0.0" not in table, table
    history = strict_loads(ok("history", customer, "--store", store, "--json"))
    assert {h["tier"] for h in history} <= {"core", "potential", "ordinary", "at_risk"}
    assert {h["tier_label"] for h in history} <= labels  # the label beside the id

    # commands whose --json needs a world of their own (holdouts, sub-models) are parsed as
    # strictly by their own tests
    elsewhere = {"uplift": "tests/test_uplift.py", "weights submodels":
                 "tests/test_weights_shrink.py"}
    assert set(invocations) | set(elsewhere) == json_commands(), \
        "run every command that has --json here (or name the test that parses it strictly)"
    outputs: dict[str, Any] = {}
    for command, args in invocations.items():
        out = ok(*command.split(), *args, "--json")
        try:
            parsed = strict_loads(out)
        except ValueError as exc:
            pytest.fail(f"`crindex {command} --json` is not strict JSON: {exc}\n{out[:2000]}")
        assert parsed is not None, command
        outputs[command] = parsed
    # `migration` as the README writes it: the last two snapshots by default
    assert strict_loads(ok("migration", "--store", store, "--json")) == outputs["migration"]
    # explain keys dimensions and metrics by id, labels beside them (as the API does)
    from crindex.model.loader import load_model

    spec = load_model(model)
    ex = outputs["explain"]
    assert [(d["id"], d["label"]) for d in ex["dimensions"]] == [
        (d.id, d.display) for d in spec.dimensions]
    assert [(m["id"], m["dimension"]) for m in ex["metrics"]] == [
        (m.id, d.id) for d, m in spec.metrics]
