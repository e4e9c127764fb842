"""Results land whole or not at all; CSV opens in Excel (UTF-8 with BOM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow.parquet as pq
import pytest

from crindex.api import score
from crindex.model import parse_model
from tests.conftest import AS_OF
from tests.test_scoring_golden import POLICY_MODEL


def test_a_failing_write_leaves_the_previous_results_untouched(five, tmp_path):
    result = score(parse_model(POLICY_MODEL), five, AS_OF)
    out = tmp_path / "out"
    result.write(out, ("parquet",))
    before = (out / "scores.parquet").read_bytes()
    other = score(parse_model(POLICY_MODEL.replace("min: 0, max: 1000", "min: 0, max: 500")),
                  five, AS_OF)
    with pytest.raises(ValueError):
        other.write(out, ("parquet", "xml"))  # the second format fails after the first is staged
    assert (out / "scores.parquet").read_bytes() == before
    # frames are checked as files are, so their quality report is written too
    assert sorted(p.name for p in out.iterdir()) == ["model.sql", "quality.json",
                                                      "scores.parquet", "summary.json"]


def test_csv_has_a_bom_and_chinese_labels_survive(five, tmp_path):
    model = parse_model(POLICY_MODEL.replace("- id: a\n", "- id: a\n    label: 客户价值\n"))
    result = score(model, five, AS_OF)
    written = result.write(tmp_path, ("csv", "parquet"))
    raw = (tmp_path / "scores.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[0].startswith('"customer_id","score","tier"')
    table = pq.read_table(tmp_path / "scores.parquet")
    assert table.num_rows == 5 and table.column("score").to_pylist() == \
        result.table.column("score").to_pylist()
    assert {p.name for p in written} >= {"scores.csv", "scores.parquet", "model.sql",
                                         "summary.json"}


def test_a_killed_writer_leaves_no_partial_file(tmp_path):
    """SIGKILL a process in the middle of writing a large result: no visible partial file."""
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import dataclasses, pyarrow as pa
        from crindex.api import score
        from crindex.output import write_result
        from crindex.model import parse_model
        from tests.conftest import AS_OF, five_frames
        from tests.test_scoring_golden import POLICY_MODEL
        result = score(parse_model(POLICY_MODEL), five_frames(), AS_OF)
        big = pa.concat_tables([result.table] * 600_000)  # 3M rows
        result = dataclasses.replace(result, table=big)
        print("ready", flush=True)
        write_result(result, __import__("pathlib").Path({str(out)!r}), ("csv", "parquet"))
        print("done", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd())
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)  # well inside the CSV write of 3M rows
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    staged = list(out.glob(".crindex-staging-*"))
    assert staged and list(staged[0].iterdir()), "the kill must land in the middle of the write"
    visible = [p.name for p in out.iterdir() if not p.name.startswith(".")]
    assert visible == []
    # the next run cleans the dead run's staging folder
    from crindex.output import clean_stale_staging

    clean_stale_staging(out)
    assert list(out.iterdir()) == []


def test_written_files_follow_the_umask_not_owner_only(tmp_path):
    import os

    from crindex.util import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "report.html", "<html></html>")
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644


def _data_folder(folder, orphan: bool):
    """The five-customer world as Parquet; ``orphan`` adds an order of an unknown customer."""
    import pandas as pd

    from tests.conftest import five_frames

    folder.mkdir(exist_ok=True)
    frames = five_frames()
    if orphan:
        orders = frames["orders"]
        orders.loc[len(orders)] = ["o99", "zz", pd.Timestamp("2025-05-01"), 10.0, 0.0, "A",
                                   "paid"]
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


def test_a_rerun_leaves_only_this_runs_files_and_keeps_the_users(tmp_path):
    import json

    model = parse_model(POLICY_MODEL)
    data = tmp_path / "data"
    out = tmp_path / "out"
    score(model, _data_folder(data, orphan=True), AS_OF).write(out, ("parquet", "csv"))
    assert (out / "quarantine" / "orders.csv").exists()  # the orphan order of `zz`
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "quarantine" / "checked.txt").write_text("mine too", encoding="utf-8")

    score(model, _data_folder(data, orphan=False), AS_OF).write(out, ("parquet",))
    quality = json.loads((out / "quality.json").read_text(encoding="utf-8"))
    assert quality["rows_quarantined"] == 0
    # the previous run's quarantine/orders.csv and scores.csv are gone; the user's files stay
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "model.sql", "notes.txt", "quality.json", "quarantine/checked.txt", "scores.parquet",
        "summary.json"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["files"] == ["model.sql", "quality.json", "scores.parquet", "summary.json"]

    (out / "quarantine" / "checked.txt").unlink()
    score(model, _data_folder(data, orphan=False), AS_OF).write(out, ("csv",))
    assert sorted(p.name for p in out.iterdir()) == ["model.sql", "notes.txt", "quality.json",
                                                      "scores.csv", "summary.json"]


def test_bad_output_paths_fail_before_anything_is_written(tmp_path):
    from crindex.errors import OutputError, Reason

    result = score(parse_model(POLICY_MODEL), _data_folder(tmp_path / "data", False), AS_OF)
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OutputError) as exc:
        result.write(a_file)
    assert exc.value.reason == Reason.OUTPUT_PATH and "is a file, not a folder" in str(exc.value)
    with pytest.raises(OutputError, match="a_file is a file, not a folder"):
        result.write(a_file / "results")

    out = tmp_path / "new" / "out"
    with pytest.raises(OutputError, match="the folder .*missing does not exist"):
        result.write(out, ("parquet",), tmp_path / "missing" / "x.duckdb")
    with pytest.raises(OutputError, match="a_file: is a file that is not a DuckDB database"):
        result.write(out, ("parquet",), a_file)
    assert not (tmp_path / "new").exists() and not (tmp_path / "missing").exists()
    assert a_file.read_text(encoding="utf-8") == "not a folder"

    # a DuckDB file another process holds fails at the write: the previous results stay
    import duckdb

    result.write(out, ("parquet",))
    before = (out / "scores.parquet").read_bytes()
    held = tmp_path / "held.duckdb"
    script = (f"import duckdb, sys; con = duckdb.connect({str(held)!r}); "
              "print('ready', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(OutputError, match="held.duckdb: cannot open it: .*lock"):
            result.write(out, ("parquet", "csv"), held)
    finally:
        holder.stdin.close()
        holder.wait()
    assert (out / "scores.parquet").read_bytes() == before
    assert not (out / "scores.csv").exists()
    con = duckdb.connect(str(held))
    try:
        assert con.execute("SHOW TABLES").fetchall() == []  # no table `scores` was written
    finally:
        con.close()
