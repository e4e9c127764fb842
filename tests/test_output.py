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
    assert sorted(p.name for p in out.iterdir()) == ["model.sql", "scores.parquet",
                                                      "summary.json"]


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
