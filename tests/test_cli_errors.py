"""Bad input on the command line: one readable message naming the path, exit 2, no traceback,
and nothing new on disk.

Most cases call ``crindex.cli.main()`` in this process (the console script's own code path,
without a second interpreter start); one runs the real ``crindex`` in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import failed
from .test_cli_store import write_five


@pytest.fixture
def world(tmp_path: Path) -> tuple[list[str], Path]:
    """``--model/--data/--as-of`` of the five-customer world, and the folder it is in."""
    model, data = write_five(tmp_path)
    return ["--model", str(model), "--data", str(data), "--as-of", "2025-06-30"], tmp_path


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_score_out_on_a_file_in_a_subprocess(world):
    common, tmp = world
    (tmp / "results").write_text("mine", encoding="utf-8")
    before = listing(tmp)
    done = subprocess.run([sys.executable, "-m", "crindex.cli", "score", *common, "--out",
                           str(tmp / "results")], capture_output=True, text=True, timeout=120)
    failed(done.returncode, done.stdout + done.stderr,
           f"--out {tmp / 'results'}: is a file, not a folder")
    assert listing(tmp) == before and (tmp / "results").read_text(encoding="utf-8") == "mine"


def test_score_out_that_cannot_be_created(world, cli):
    common, tmp = world
    (tmp / "a_file").write_text("mine", encoding="utf-8")
    before = listing(tmp)
    code, text = cli("score", *common, "--out", str(tmp / "a_file" / "results"))
    failed(code, text, str(tmp / "a_file" / "results"), f"{tmp / 'a_file'} is a file")
    assert listing(tmp) == before


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_score_out_in_proc(world, cli):
    common, _ = world
    code, text = cli("score", *common, "--out", "/proc/forbidden")
    # root may write in /proc but procfs refuses the folder; others lack the permission
    failed(code, text, "--out /proc/forbidden:")
    assert not Path("/proc/forbidden").exists()


def test_score_duckdb_target_that_is_missing_or_not_duckdb_leaves_nothing(world, cli):
    common, tmp = world
    (tmp / "notes.duckdb").write_text("not a database", encoding="utf-8")
    before = listing(tmp)
    code, text = cli("score", *common, "--out", str(tmp / "out"), "--duckdb",
                         str(tmp / "nowhere" / "x.duckdb"))
    failed(code, text, f"--duckdb {tmp / 'nowhere' / 'x.duckdb'}: the folder "
           f"{tmp / 'nowhere'} does not exist")
    code, text = cli("score", *common, "--out", str(tmp / "out"), "--duckdb",
                         str(tmp / "notes.duckdb"))
    failed(code, text, f"--duckdb {tmp / 'notes.duckdb'}: is a file that is not a DuckDB database")
    assert listing(tmp) == before  # no empty --out folder, no new file
    assert (tmp / "notes.duckdb").read_text(encoding="utf-8") == "not a database"


def test_report_out_on_a_folder_writes_nothing(world, cli):
    common, tmp = world
    target = tmp / "reports"
    target.mkdir()
    before = listing(tmp)
    code, text = cli("report", *common, "--out", str(target))
    failed(code, text, f"--out {target}: is a folder, not a file", str(target / "report.html"))
    assert listing(tmp) == before and not (tmp / "reports.json").exists()
    # the JSON beside the page is checked too, before the page is written
    (tmp / "r.json").mkdir()
    code, text = cli("report", *common, "--out", str(tmp / "r.html"))
    failed(code, text, f"{tmp / 'r.json'}: is a folder, not a file")
    assert not (tmp / "r.html").exists()
    # and a good path writes both
    code, text = cli("report", *common, "--out", str(tmp / "ok.html"))
    assert code == 0, text
    assert (tmp / "ok.html").exists() and (tmp / "ok.json").exists()


def test_sql_unknown_dialect_lists_the_dialects(world, cli):
    common, _ = world
    code, text = cli("sql", "--model", common[1], "--dialect", "nosuch")
    failed(code, text, "unknown SQL dialect `nosuch`", "duckdb", "postgres", "snowflake",
           "spark")
    code, text = cli("sql", "--model", common[1], "--dialect", "postgresql")
    assert code == 0 and text.startswith("WITH \"active_customers\" AS ("), text


def test_an_unforeseen_os_error_is_one_line(world, cli, monkeypatch):
    import errno

    from crindex import cli as cli_module

    def unreadable(*_: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/crm/contract.yaml")

    monkeypatch.setattr(cli_module, "contract_tables", unreadable)
    code, text = cli("sql", "--model", world[0][1])
    failed(code, text, "error: cannot read/write /srv/crm/contract.yaml: Permission denied")
    assert len(text.strip().splitlines()) == 1


def test_bad_spark_settings_are_named_together_before_spark_starts(world, cli):
    """``--conf`` is parsed before a session starts, so this needs neither pyspark nor Java."""
    common, tmp = world
    before = listing(tmp)
    code, text = cli("score", *common, "--out", str(tmp / "results"), "--engine", "spark",
                     "--conf", "spark.driver.memory=4g", "--conf", "driver.memory=4g",
                     "--conf", "spark.executor.cores", "--conf", "=2")
    failed(code, text, "bad --conf", "`driver.memory` is not a Spark setting",
           "did you mean spark.driver.memory?", "`spark.executor.cores` is not a setting",
           "`=2` is not a setting", "key=value")
    assert "spark.driver.memory=4g` is not" not in text  # the good one is not reported
    code, text = cli("score", *common, "--out", str(tmp / "results"),
                     "--conf", "spark.driver.memory=4g")
    failed(code, text, "--conf only applies to --engine spark")
    assert listing(tmp) == before


def test_spark_settings_are_read_as_spark_submit_reads_them():
    from crindex.engine.spark import parse_conf

    # the value is everything after the first "=", and a repeated key keeps its last value
    assert parse_conf(["spark.driver.memory=2g", " spark.driver.memory = 4g ",
                       "spark.driver.extraJavaOptions=-Da=b -Dc=d"]) == {
        "spark.driver.memory": "4g", "spark.driver.extraJavaOptions": "-Da=b -Dc=d"}
    assert parse_conf([]) == {}
