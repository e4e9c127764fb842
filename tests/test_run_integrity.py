"""Nothing half-written, nothing that differs by chance: every target is checked before any
work, two runs into one ``--out`` never mix their files, and the same input gives the same
bytes in separate processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from crindex.api import score
from crindex.errors import OutputError
from crindex.model import parse_model
from crindex.util import folder_lock
from tests.conftest import failed, five_frames
from tests.test_cli_store import MODEL, write_five

CRINDEX = [sys.executable, "-m", "crindex.cli"]

#: a model reading every table of the five-customer world, in two dimensions, so that the
#: compiled SQL has many steps, joins and column lists whose order could vary
WIDE = """
name: wide
dimensions:
  - id: value
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 40,
         normalise: {method: range, min: 0, max: 4000}}
      - {id: orders_n, aggregate: count, window: 365d, weight: 20,
         normalise: {method: percentile}}
  - id: care
    metrics:
      - {id: opened, aggregate: count, table: interactions, kind: email_opened, window: 90d,
         weight: 20,
         normalise: {method: range, min: 0, max: 4}}
      - {id: nps, aggregate: nps, window: 365d, weight: 20,
         normalise: {method: range, min: -100, max: 100}}
"""


def _env(seed: str) -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "PYTHONHASHSEED": seed,
            "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def _start(*args: str, seed: str = "0") -> subprocess.Popen[str]:
    return subprocess.Popen([*CRINDEX, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(seed))


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out + err


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- targets checked before any work ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["folder", "not duckdb", "empty"])
def test_a_bad_store_fails_before_out_is_written(tmp_path, cli, kind):
    model, data = write_five(tmp_path)
    store = tmp_path / "h.duckdb"
    if kind == "folder":
        store.mkdir()
    elif kind == "not duckdb":
        store.write_text("customer_id,score\n", encoding="utf-8")
    else:
        store.touch()
    code, text = cli("score", "--model", str(model), "--data", str(data), "--as-of",
                     "2025-06-30", "--out", str(tmp_path / "out"), "--store", str(store))
    what = {"folder": "is a folder, not a file", "not duckdb":
            "is a file that is not a DuckDB database", "empty": "is an empty file"}[kind]
    failed(code, text, f"--store {store}: {what}", "give the path of a DuckDB database")
    assert not (tmp_path / "out").exists()  # checked before scoring, not after writing


# --- the results folder is locked while a run writes ---------------------------------------


def test_a_run_into_a_locked_folder_waits_then_refuses_clearly(tmp_path):
    result = score(parse_model(MODEL), five_frames(), "2025-06-30")
    out = tmp_path / "out"
    out.mkdir()
    with folder_lock(out):  # another run is writing here
        with pytest.raises(OutputError, match="another crindex run is writing its results "
                           "here") as caught:
            from crindex.output import write_result

            write_result(result, out, ("parquet",), lock_timeout=0)
    assert "write into another folder" in str(caught.value)
    assert list(out.iterdir()) == []  # nothing staged, nothing moved
    result.write(out, ("parquet",))  # the lock went with its holder
    assert (out / "scores.parquet").exists()


def _expected(model: Path, data: Path, as_of: str) -> list[tuple[str, float]]:
    table = score(model, str(data), as_of).table
    return list(zip(table.column("customer_id").to_pylist(), table.column("score").to_pylist(),
                    strict=True))


def test_two_runs_into_one_folder_leave_one_complete_run(tmp_path):
    model, data = write_five(tmp_path)
    out = tmp_path / "out"
    # two scoring dates give two different runs: c1 has 1500 of paid orders in the year to
    # 2025-06-30 (37.5 of 4000) and 500 in the year to 2025-05-31 (12.5): orders of
    # 2025-06-20 (1000) fall after the earlier date
    runs = {day: _expected(model, data, day) for day in ("2025-06-30", "2025-05-31")}
    assert dict(runs["2025-06-30"])["c1"] == 37.5 and dict(runs["2025-05-31"])["c1"] == 12.5
    for _ in range(2):
        procs = [_start("score", "--model", str(model), "--data", str(data), "--as-of", day,
                        "--out", str(out)) for day in runs]
        for proc in procs:
            _finish(proc)
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        day = summary["as_of"]
        y, m, d = (int(x) for x in day.split("-"))
        assert f"MAKE_DATE({y}, {m}, {d})" in (out / "model.sql").read_text(encoding="utf-8")
        for table in (pq.read_table(out / "scores.parquet"),
                      pacsv.read_csv(out / "scores.csv")):
            got = list(zip(table.column("customer_id").to_pylist(),
                           table.column("score").to_pylist(), strict=True))
            assert got == runs[day]
        assert sorted(p.name for p in out.iterdir()) == sorted(summary["files"])


# --- deterministic artefacts ------------------------------------------------------------------


def test_the_same_input_gives_the_same_bytes_in_separate_processes(tmp_path):
    model, data = write_five(tmp_path)
    model.write_text(WIDE, encoding="utf-8")
    procs = [_start("score", "--model", str(model), "--data", str(data), "--as-of",
                    "2025-06-30", "--out", str(tmp_path / f"out{seed}"), seed=seed)
             for seed in ("1", "2")]
    for proc in procs:
        _finish(proc)
    first, second = _files(tmp_path / "out1"), _files(tmp_path / "out2")
    assert set(first) >= {"model.sql", "scores.parquet", "scores.csv", "quality.json",
                          "summary.json"}
    assert first == second
