"""The history store: one suite, run on DuckDB and on PostgreSQL (127.0.0.1:5432).

Snapshots round-trip exactly, a re-run replaces rather than duplicates, personal data stays
out, and a run that fails or is killed with SIGKILL mid-write leaves the store unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import time

import pytest

from crindex.api import score
from crindex.errors import Reason, StoreError
from crindex.examples import example_path
from crindex.model.loader import load_model
from crindex.store import fingerprint, model_hash, open_store
from crindex.store.history import customer_history, migration, trend
from tests.conftest import AS_OF, five_frames
from tests.support.store import big_result, fake_result, watch_model


@pytest.fixture(scope="module")
def five_result():
    return score(example_path("ecommerce"), five_frames(), AS_OF)


def test_snapshot_round_trips_exactly(store_url, five_result):
    store = open_store(store_url)
    fp = fingerprint(five_frames())
    run_id = store.write_snapshot(five_result, fp)
    [run] = store.runs()
    assert (run.run_id, run.model_name, run.as_of, run.customers) == \
        (run_id, "ecommerce", AS_OF, 5)
    assert run.model_hash == model_hash(five_result.model)
    assert run.data_fingerprint == fp == fingerprint(five_frames())  # deterministic
    stored = store.scores(run_id).set_index("customer_id")
    expected = five_result.table.to_pandas().set_index("customer_id")
    assert list(stored.index) == ["c1", "c2", "c3", "c4", "c5"]
    for col in ("score", "coverage"):
        assert stored[col].tolist() == pytest.approx(expected.loc[stored.index, col].tolist())
    assert stored.tier.tolist() == expected.loc[stored.index, "tier"].tolist()
    assert stored.owner.tolist() == ["A", "B", "A", "B", "A"]
    long = store.metric_scores([run_id])
    # 5 customers x (5 metrics + 3 dimensions)
    assert len(long) == 40
    c1 = long[(long.customer_id == "c1") & (long.item == "annual_spend")].iloc[0]
    # c1's paid orders in the 365 days to 2025-06-30: 1,000 + 500 (the 2024-03-01 order is
    # outside, the 2025-07-05 one after as_of, the -300 one refunded) = 1,500 -> range
    # 0..3,000 gives 50 points; weight 30 -> contribution 50 x 30 / 100 = 15
    assert (c1.raw_num, c1.score, c1.weight, c1.contribution) == (1500.0, 50.0, 30.0, 15.0)
    assert not c1.missing
    c3_rate = long[(long.customer_id == "c3") & (long.item == "email_open_rate")].iloc[0]
    assert c3_rate.raw_num is None or c3_rate.raw_num != c3_rate.raw_num  # never e-mailed
    assert bool(c3_rate.missing)


def test_same_as_of_and_model_replaces_the_snapshot(store_url, five_result):
    store = open_store(store_url)
    first = store.write_snapshot(five_result, "fp-1")
    earlier = fake_result(five_result.model, "2025-05-31", {"c1": {"score": 50.0}})
    store.write_snapshot(earlier, "fp-0")
    second = store.write_snapshot(five_result, "fp-2")
    runs = store.runs()
    assert [(r.as_of, r.run_id, r.data_fingerprint) for r in runs] == [
        (dt.date(2025, 5, 31), runs[0].run_id, "fp-0"), (AS_OF, second, "fp-2")]
    assert first != second
    assert len(store.scores(second)) == 5
    assert store.scores(first).empty and store.metric_scores([first]).empty


def test_model_hash_ignores_comments_and_alerts_but_not_weights():
    base = watch_model()
    commented = watch_model("# a comment changes nothing\n")
    with_alerts = watch_model("alerts:\n  - {id: low, rule: score_below, threshold: 30}\n")
    reweighted = watch_model().model_copy(update={"description": "other text"})
    guarded = watch_model("guardrails: {max_rejected: 0.5, max_age_days: 365}\n")
    assert model_hash(base) == model_hash(commented) == model_hash(with_alerts) == \
        model_hash(reweighted) == model_hash(guarded)
    text = open(example_path("ecommerce"), encoding="utf-8").read()
    changed = text.replace("weight: 30", "weight: 25").replace("weight: 25\n        # bought",
                                                                 "weight: 30\n        # bought")
    from crindex.model.loader import parse_model

    assert model_hash(parse_model(changed)) != model_hash(load_model(example_path("ecommerce")))


def _every_value(store) -> str:
    return json.dumps(store.dump(), default=str)


def test_personal_data_never_enters_the_store_unless_the_model_keeps_it(store_url):
    people = {"c1": {"score": 80.0, "name": "Wang Fang", "email": "wang.fang@example.cn"},
              "c2": {"score": 40.0, "name": "Li Lei", "email": "li.lei@example.cn"}}
    store = open_store(store_url)
    store.write_snapshot(fake_result(watch_model(), "2025-06-30", people))
    everything = _every_value(store)
    assert "wang.fang@example.cn" not in everything and "Wang Fang" not in everything
    keeping = watch_model("keep_personal: [email]\n")
    run_id = store.write_snapshot(fake_result(keeping, "2025-06-30", people))
    everything = _every_value(store)
    assert "wang.fang@example.cn" in everything and "Wang Fang" not in everything
    personal = store.scores(run_id).set_index("customer_id").personal
    assert json.loads(personal["c1"]) == {"email": "wang.fang@example.cn"}


def _tx_class(store):
    if store.dialect == "duckdb":
        from crindex.store.duck import DuckTx

        return DuckTx
    from crindex.store.postgres import PgTx

    return PgTx


def test_a_run_that_fails_mid_write_leaves_the_store_unchanged(store_url, five_result,
                                                               monkeypatch):
    store = open_store(store_url)
    store.write_snapshot(five_result, "before")
    before = store.dump()
    tx_class = _tx_class(store)
    original = tx_class.insert

    def failing(self, table, data):
        original(self, table, data)
        if table == "scores":  # the old snapshot is deleted, the new scores are in
            raise RuntimeError("disk full")

    monkeypatch.setattr(tx_class, "insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        store.write_snapshot(five_result, "after")
    assert store.dump() == before


def _write_in_child(url: str, as_of: str, pause: float, shift: float, pipe) -> None:
    """Write a big snapshot; with ``pause``, stop inside the transaction (after the old
    snapshot's rows were deleted and the new scores inserted) and say so through ``pipe``."""
    store = open_store(url, lock_timeout=60)
    if pause:
        from crindex.store.duck import DuckTx
        from crindex.store.postgres import PgTx

        for cls in (DuckTx, PgTx):
            def pausing(self, table, data, _orig=cls.insert):
                _orig(self, table, data)
                if table == "scores":
                    pipe.send("MID-WRITE")
                    time.sleep(pause)
            cls.insert = pausing
    pipe.send(("RUN", store.write_snapshot(big_result(5000, as_of, shift), "child")))


def _child(url: str, as_of: str, pause: float, shift: float = 0.0):
    """A forked process running :func:`_write_in_child` (fork: no second interpreter start)."""
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=_write_in_child, args=(url, as_of, pause, shift, theirs))
    proc.start()
    return proc, ours


def _receive(pipe, timeout: float = 60):
    assert pipe.poll(timeout), "the child said nothing"
    return pipe.recv()


def test_sigkill_mid_write_leaves_the_store_unchanged(store_url):
    store = open_store(store_url)
    store.write_snapshot(big_result(300, "2025-06-30"), "before")
    before = store.dump()
    child, pipe = _child(store_url, "2025-06-30", pause=600)
    try:
        assert _receive(pipe) == "MID-WRITE"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join()
    assert child.exitcode == -signal.SIGKILL
    reopened = open_store(store_url)
    assert reopened.dump() == before
    assert [r.data_fingerprint for r in reopened.runs()] == ["before"]


def test_two_runs_at_once_take_turns_and_an_impatient_one_gets_a_store_error(store_url):
    open_store(store_url)  # create the schema first
    first, first_pipe = _child(store_url, "2025-06-30", pause=1.5, shift=1)
    assert _receive(first_pipe) == "MID-WRITE"  # the first holds the store, mid-transaction
    second, second_pipe = _child(store_url, "2025-06-30", pause=0, shift=2)
    with pytest.raises(StoreError) as info:
        # DuckDB: even opening the file waits for the holder; PostgreSQL: the write waits
        open_store(store_url, lock_timeout=0.2).write_snapshot(big_result(10, "2025-07-07"))
    assert info.value.reason == Reason.STORE
    assert "in use" in str(info.value) and "--lock-timeout" in str(info.value)
    _, run_first = _receive(first_pipe)
    _, run_second = _receive(second_pipe)
    first.join()
    second.join()
    assert first.exitcode == 0 and second.exitcode == 0
    store = open_store(store_url)
    [run] = store.runs()  # the same model and as_of: the later run replaced the first
    assert run.run_id == run_second != run_first and run.customers == 5000
    rows = store.scores(run.run_id)
    assert len(rows) == 5000 and rows.customer_id.is_unique
    # the second child's values (shift 2): customer 0 scores (0 x 37 + 2) % 101 = 2
    assert rows.set_index("customer_id").score["C0000000"] == 2.0
    assert len(store.metric_scores([run.run_id])) == 5000 * 4  # 2 metrics + 2 dimensions


def test_trend_and_migration_by_hand(store_url):
    model = watch_model()
    store = open_store(store_url)
    week1 = {"a": {"score": 95.0, "owner": "X"}, "b": {"score": 75.0, "owner": "X"},
             "c": {"score": 55.0, "owner": "Y"}, "d": {"score": 20.0, "owner": "Y"}}
    week2 = {"a": {"score": 85.0, "owner": "X"}, "b": {"score": 75.0, "owner": "X"},
             "c": {"score": 40.0, "owner": "Y"}, "e": {"score": 92.0, "owner": "Y"}}
    r1 = store.write_snapshot(fake_result(model, "2025-06-23", week1))
    r2 = store.write_snapshot(fake_result(model, "2025-06-30", week2))
    t = trend(store).set_index("as_of")
    # week 1: (95 + 75 + 55 + 20) / 4 = 61.25; one customer per tier = 25 % each
    # week 2: (85 + 75 + 40 + 92) / 4 = 73; core e, potential a b, at_risk c
    assert t.mean_score.tolist() == [61.25, 73.0]
    assert t.loc[dt.date(2025, 6, 30), ["core", "potential", "ordinary", "at_risk"]].tolist() \
        == [25.0, 50.0, 0.0, 25.0]
    by = trend(store, by="owner").set_index(["as_of", "owner"])
    # owner Y in week 2: c 40 and e 92 -> mean 66, half core, half at risk
    assert by.loc[(dt.date(2025, 6, 30), "Y"), "mean_score"] == 66.0
    assert by.loc[(dt.date(2025, 6, 30), "Y"), ["core", "at_risk"]].tolist() == [50.0, 50.0]
    m = migration(store, r1, "2025-06-30")
    # a core -> potential, b stays potential, c ordinary -> at_risk, d gone, e new in core
    assert m.loc["core", "potential"] == 1 and m.loc["potential", "potential"] == 1
    assert m.loc["ordinary", "at_risk"] == 1 and m.loc["at_risk", "(gone)"] == 1
    assert m.loc["(new)", "core"] == 1
    assert int(m.to_numpy().sum()) == 5
    assert store.run("2025-06-30").run_id == r2


def test_history_shows_tier_changes_and_what_moved(store_url):
    model = watch_model()
    store = open_store(store_url)
    # contributions: spend 60 % x score, email_recency 40 % x score
    store.write_snapshot(fake_result(model, "2025-06-23", {
        "a": {"score": 80.0, "spend": (800.0, 80.0), "email_recency": (12.0, 80.0)}}))
    store.write_snapshot(fake_result(model, "2025-06-30", {
        "a": {"score": 60.0, "spend": (800.0, 80.0), "email_recency": (30.0, 30.0)}}))
    h = customer_history(store, "a")
    assert h.tier.tolist() == ["potential", "ordinary"]
    assert h.tier_change.tolist() == ["", "potential -> ordinary"]
    assert h.change.tolist()[1] == -20.0
    # email_recency: 0.4 x 80 = 32 -> 0.4 x 30 = 12, a change of -20; spend unchanged
    assert h.moved_by.tolist()[1] == "email_recency -20.00"


def test_bad_store_locations_are_clear_errors(tmp_path):
    with pytest.raises(StoreError, match="unknown store"):
        open_store("mysql://host/db")
    with pytest.raises(StoreError, match="is a folder"):
        open_store(tmp_path)
    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("hello")
    with pytest.raises(StoreError, match="is a file that is not a DuckDB database"):
        open_store(not_duckdb)  # checked before DuckDB opens it
    store = open_store(tmp_path / "empty.duckdb")
    with pytest.raises(StoreError, match="holds no snapshot"):
        trend(store)
