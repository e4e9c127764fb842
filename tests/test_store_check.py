"""A damaged store: the real error, nothing written, and ``crindex store check`` names it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from crindex.store import open_store
from crindex.store.check import check_store

from .conftest import failed
from .test_cli_store import write_five

#: DuckDB files start with three 4 KiB headers; every block then starts with its checksum
HEADERS, CHECKSUM = 3 * 4096, 8


def damage(path: Path, table: str, column: str) -> int:
    """Overwrite 32 bytes of the block that holds ``table.column``; returns the file offset.

    The block is found with ``pragma_storage_info`` (block id and offset of the column's first
    segment); the bytes are past the block's checksum, so the checksum no longer matches.
    """
    con = duckdb.connect(str(path))
    try:
        block, offset = con.execute(
            "SELECT block_id, block_offset FROM pragma_storage_info(?) WHERE column_name = ? "
            "AND block_id >= 0 LIMIT 1", [table, column]).fetchall()[0]
        size = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    finally:
        con.close()
    at = HEADERS + block * size + CHECKSUM + offset
    with path.open("r+b") as f:
        f.seek(at)
        f.write(b"\xde\xad\xbe\xef" * 8)
    return int(at)


@pytest.fixture(scope="module")
def five_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(model, data, a store with the five world scored on 2025-03-31 and 2025-06-30)."""
    from crindex.api import score
    from crindex.store import fingerprint

    folder = tmp_path_factory.mktemp("damaged")
    model, data = write_five(folder)
    store_path = folder / "sound.duckdb"
    store = open_store(store_path)
    for day in ("2025-03-31", "2025-06-30"):
        store.write_snapshot(score(model, str(data), day), fingerprint(str(data)))
    return model, data, store_path


def test_a_damaged_block_gives_the_real_error_writes_nothing_and_check_names_it(
        five_store, tmp_path, cli):
    model, data, sound = five_store
    code, text = cli("store", "check", "--store", str(sound))
    assert code == 0, text
    assert "the store is sound" in text

    store = tmp_path / "damaged.duckdb"
    shutil.copyfile(sound, store)
    damage(store, "scores", "score")
    before = store.read_bytes()
    out = tmp_path / "out"
    # re-scoring 2025-06-30 replaces its snapshot: the write reads the damaged block
    code, text = cli("score", "--model", str(model), "--data", str(data), "--as-of",
                     "2025-06-30", "--out", str(out), "--store", str(store))
    failed(code, text, f"the store {store} is damaged", "does not match stored checksum",
           "nothing was written", f"crindex store check --store {store}")
    assert "TransactionContext" not in text and "aborted" not in text
    assert store.read_bytes() == before  # not one byte changed
    assert not out.exists()  # and no result files either

    code, text = cli("store", "check", "--store", str(store))
    flat = " ".join(text.split())
    assert code == 1, text
    assert "Traceback" not in text
    assert "damaged: table scores, columns" in flat and " score," in flat
    assert "does not match stored checksum" in flat
    assert "scores │ unreadable" in flat
    # the other tables read in full: damage in scores only (each table has its own blocks)
    report = check_store(open_store(store))
    assert [d.kind for d in report.damage] == ["unreadable"]
    assert report.tables["scores"] is None and report.tables["runs"] == 2


def test_check_counts_rows_per_run_and_finds_orphan_rows(store_url):
    from crindex.store.snapshot import model_info
    from tests.support.store import fake_result, watch_model

    model = watch_model()
    store = open_store(store_url)
    customers = {f"c{i}": {"score": 10.0 * i, "spend": (100.0 * i, 10.0 * i),
                           "email_recency": (i, 50.0)} for i in range(1, 6)}
    first = store.write_snapshot(fake_result(model, "2025-03-31", customers))
    second = store.write_snapshot(fake_result(model, "2025-06-30", customers))
    report = check_store(store)
    assert report.ok, report.damage
    # 5 customers x (2 metrics + 2 dimensions) = 20 metric rows per run
    items = len(model_info(model)["metrics"]) + len(model_info(model)["dimensions"])
    assert items == 4
    assert [(r["scores"], r["metric_scores"], r["metric_scores_expected"])
            for r in report.runs] == [(5, 20, 20), (5, 20, 20)]

    with store.transaction() as tx:
        tx.execute("DELETE FROM runs WHERE run_id = ?", (first,))  # its rows stay: orphans
        tx.execute("DELETE FROM scores WHERE run_id = ? AND customer_id = ?", (second, "c1"))
        tx.execute("INSERT INTO alert_events (alert_id, happened_at, status, by_name) "
                   "VALUES (?, TIMESTAMP '2025-07-01 00:00:00', 'open', 'x')", (999,))
    report = check_store(store)
    found = {(d.kind, d.where): d.message for d in report.damage}
    assert found[("count", f"run {second} (watch 2025-06-30)")] == \
        "4 scores rows for 5 customers"
    assert found[("orphan", "table scores")] == \
        f"5 row(s) of 1 run_id(s) missing from runs: {first}"
    assert found[("orphan", "table metric_scores")] == \
        f"20 row(s) of 1 run_id(s) missing from runs: {first}"
    assert found[("orphan", "table alert_events")] == \
        "1 row(s) of 1 alert_id(s) missing from alerts: 999"
    assert len(found) == 4


WRITE_ONE = """
import sys
from crindex.store import open_store
from tests.support.store import fake_result, watch_model
store = open_store(sys.argv[1], lock_timeout=float(sys.argv[2]))
print(store.write_snapshot(fake_result(watch_model(), "2025-06-30", {"x": {"score": 1.0}})))
"""


def test_reads_inside_one_reading_see_one_state_while_another_process_writes(store_url):
    import subprocess
    import sys

    from crindex.store.history import trend
    from tests.support.store import fake_result, watch_model

    store = open_store(store_url)
    first = store.write_snapshot(fake_result(watch_model(), "2025-06-30",
                                             {"a": {"score": 10.0}, "b": {"score": 20.0}}))
    with store.reading():
        before = [r.run_id for r in store.runs()]
        # another process replaces the snapshot: on PostgreSQL it commits and this read does
        # not see it (REPEATABLE READ); on DuckDB it cannot even open the file meanwhile
        done = subprocess.run([sys.executable, "-c", WRITE_ONE, store_url, "0.3"],
                              capture_output=True, text=True, timeout=120)
        if store.dialect == "duckdb":
            assert done.returncode != 0 and "in use by another process" in done.stderr
        else:
            assert done.returncode == 0, done.stderr
        assert [r.run_id for r in store.runs()] == before == [first]
        assert sorted(store.scores(first).customer_id) == ["a", "b"]
        # a nested multi-query reader (one_read) shares the same state
        assert list(trend(store).run_id) == [first]
    after = [r.run_id for r in store.runs()]
    assert after == ([first] if store.dialect == "duckdb" else [done.stdout.strip()])


def test_check_of_a_store_that_cannot_even_be_opened_names_the_damage(five_store, tmp_path,
                                                                       cli):
    _, _, sound = five_store
    store = tmp_path / "damaged.duckdb"
    shutil.copyfile(sound, store)
    damage(store, "meta", "value")  # opening a store reads its schema version from meta
    code, text = cli("store", "check", "--store", str(store))
    flat = " ".join(text.split())
    assert code == 1, text
    assert "Traceback" not in text
    assert "damaged: the store cannot be opened: Corrupt database file" in flat
    assert "does not match stored checksum" in flat and "restore the store" in flat
