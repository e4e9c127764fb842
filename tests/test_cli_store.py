"""`crindex score --store` keeps snapshots; `explain --store` shows adjustments in force."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crindex.store import open_store

from .conftest import five_frames

CRINDEX = [sys.executable, "-m", "crindex.cli"]
MODEL = """
name: five
dimensions:
  - id: all
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 100,
         normalise: {method: range, min: 0, max: 4000}}
"""


def write_five(folder: Path) -> tuple[Path, Path]:
    """The five-customer world as Parquet in ``folder/data`` and MODEL in ``folder/five.yaml``."""
    data = folder / "data"
    data.mkdir()
    for name, frame in five_frames().items():
        frame.to_parquet(data / f"{name}.parquet")
    model = folder / "five.yaml"
    model.write_text(MODEL, encoding="utf-8")
    return model, data


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRINDEX, *args], capture_output=True, text=True, timeout=120)


def test_score_store_adjust_explain(tmp_path: Path):
    model, data = write_five(tmp_path)
    store = str(tmp_path / "h.duckdb")
    common = ["--model", str(model), "--data", str(data), "--as-of", "2025-06-30"]
    for _ in range(2):  # the same model and as_of twice: one snapshot, replaced
        proc = run("score", *common, "--out", str(tmp_path / "out"), "--store", store)
        assert proc.returncode == 0, proc.stderr
    st = open_store(store)
    try:
        runs = st.runs("five")
        assert [r.as_of.isoformat() for r in runs] == ["2025-06-30"]
        scores = st.scores(runs[0].run_id).set_index("customer_id")["score"]
    finally:
        st.close()
    # c1's paid orders in (2024-06-30, 2025-06-30]: 1000 + 500 = 1500 (the -300 is refunded,
    # 9999 is after as_of, 2000 is before the window) -> 1500 / 4000 x 100 = 37.5
    assert scores["c1"] == 37.5
    proc = run("adjust", "c1", "--points", "+5", "--reason", "key account", "--by", "alice",
               "--store", store)
    assert proc.returncode == 0, proc.stderr
    proc = run("explain", "c1", *common, "--store", store, "--json")
    assert proc.returncode == 0, proc.stderr
    ex = json.loads(proc.stdout)
    assert ex["score"] == 37.5  # the model's own arithmetic stays as it is
    [adj] = ex["adjustments"]
    assert adj["points"] == 5 and adj["made_by"] == "alice"
    assert adj["score_after"] == 42.5 and adj["tier_after"] == "at_risk"


READING_COMMANDS = [
    ["history", "c1"], ["trend"], ["migration", "--from", "2025-01-01", "--to", "2025-06-30"],
    ["adjustments"], ["alerts", "list"], ["alerts", "log", "1"], ["token", "list"],
    # adjust writes, but only about a customer of an existing history
    ["adjust", "c1", "--points", "5", "--reason", "typo", "--by", "me"],
]


def test_reading_commands_refuse_a_store_that_does_not_exist(tmp_path: Path, cli, monkeypatch):
    from .conftest import failed

    typo = tmp_path / "typo.duckdb"
    model, data = write_five(tmp_path)
    explain = ["explain", "c1", "--model", str(model), "--data", str(data), "--as-of",
               "2025-06-30"]
    for args in [*READING_COMMANDS, ["serve", "--model", str(model)], explain]:
        code, text = cli(*args, "--store", str(typo))
        failed(code, text, f"no history store at {typo}", "crindex score --store",
               "crindex backfill")
        assert not typo.exists(), args
    # the default store too, when there is none in the working folder
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRINDEX_STORE", raising=False)
    code, text = cli("trend")
    failed(code, text, "no history store at crindex-history.duckdb")
    assert not (tmp_path / "crindex-history.duckdb").exists()
    # a PostgreSQL URL is passed on as before (its schema is created by the first write)
    from crindex.store import require_store

    url = "postgresql://nobody@127.0.0.1:1/none?schema=x"
    assert require_store(url) == url


def test_backfill_creates_the_store_and_ends_on_to(tmp_path: Path, cli):
    import datetime as dt

    from crindex.backfill import schedule

    # every 7 days from 09-01 ends on 12-29; --to (12-31) is added as the last date
    dates = schedule(dt.date(2025, 9, 1), dt.date(2025, 12, 31), "7d")
    assert len(dates) == 19 and dates[:2] == [dt.date(2025, 9, 1), dt.date(2025, 9, 8)]
    assert dates[-3:] == [dt.date(2025, 12, 22), dt.date(2025, 12, 29), dt.date(2025, 12, 31)]
    # on a step, --to is not doubled; a one-day range is one date
    assert schedule(dt.date(2025, 1, 1), dt.date(2025, 1, 15), "7d")[-2:] == [
        dt.date(2025, 1, 8), dt.date(2025, 1, 15)]
    assert schedule(dt.date(2025, 1, 1), dt.date(2025, 1, 1), "1m") == [dt.date(2025, 1, 1)]
    # 1m from 01-31 keeps the month's last day, then --to
    assert schedule(dt.date(2025, 1, 31), dt.date(2025, 4, 15), "1m") == [
        dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 3, 31), dt.date(2025, 4, 15)]

    model, data = write_five(tmp_path)
    store = tmp_path / "new.duckdb"
    code, text = cli("backfill", "--model", str(model), "--data", str(data), "--from",
                     "2025-06-01", "--to", "2025-06-30", "--every", "7d", "--store", str(store))
    assert code == 0, text
    st = open_store(store, create=False)
    try:
        assert [r.as_of.isoformat() for r in st.runs("five")] == [
            "2025-06-01", "2025-06-08", "2025-06-15", "2025-06-22", "2025-06-29", "2025-06-30"]
        # the last snapshot is the one of test_score_store_adjust_explain: c1 has 37.5
        last = st.runs("five")[-1].run_id
        assert st.scores(last).set_index("customer_id")["score"]["c1"] == 37.5
    finally:
        st.close()
    code, text = cli("backfill", "--help")
    assert code == 0 and "always included" in " ".join(text.replace("│", " ").split())
