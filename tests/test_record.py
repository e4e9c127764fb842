"""Recording a run: snapshot and alerts in one transaction, on DuckDB and on PostgreSQL.

``crindex score --store``, ``crindex backfill`` and ``POST /v1/runs`` all record through
:func:`crindex.record.record_run`; these tests hold it to its promise: the alerts it raises
are those of the snapshot it wrote, and a failure while evaluating the alerts leaves the store
exactly as it was (no snapshot without its alerts, and a replaced snapshot still in place).
"""

from __future__ import annotations

import pytest

from crindex.alerts.rules import RULES, Hit, register
from crindex.record import record_run
from crindex.store import open_store
from tests.support.store import fake_result, watch_model

LOW = """
alerts:
  - {id: low, rule: score_below, threshold: 30, severity: critical}
"""


class RuleFailed(RuntimeError):
    """What the failing test rule raises."""


@pytest.fixture
def test_rule():
    """Register rules that fail or look at the store mid-run; unregister them afterwards."""
    added: list[str] = []

    def add(name, evaluate):
        register(name, "test rule")(evaluate)
        added.append(name)

    yield add
    for name in added:
        RULES.pop(name, None)


def test_snapshot_and_alerts_are_recorded_together(store_url):
    model = watch_model(LOW)
    store = open_store(store_url)
    first = record_run(store, fake_result(model, "2025-06-02", {
        "a": {"score": 80.0, "owner": "X"}, "b": {"score": 20.0, "owner": "Y"}}), "fp-1")
    # only b is below 30
    alerts = store.alerts()
    assert list(alerts.customer_id) == ["b"] and first.raised == list(alerts.alert_id)
    assert first.run.run_id == first.run_id == store.latest_run("watch").run_id
    assert first.run.data_fingerprint == "fp-1" and first.run.customers == 2
    second = record_run(store, fake_result(model, "2025-06-09", {
        "a": {"score": 25.0, "owner": "X"}, "b": {"score": 60.0, "owner": "Y"}}), "fp-2")
    # a falls below 30 (raised on the new snapshot); b is back at 60: its alert resolves
    assert len(second.raised) == 1 and second.resolved == first.raised
    raised = store.alerts(ids=second.raised)
    assert list(raised.customer_id) == ["a"] and list(raised.run_id) == [second.run_id]
    # without alerts: the snapshot alone
    quiet = record_run(store, fake_result(model, "2025-06-16", {
        "a": {"score": 10.0, "owner": "X"}}), None, alerts=False)
    assert quiet.raised == quiet.resolved == [] and len(store.runs()) == 3
    assert sorted(store.alerts(status="open").customer_id) == ["a"]


def test_a_failing_alert_rule_leaves_no_snapshot_behind(store_url, test_rule):
    def explode(spec, situation):
        raise RuleFailed("the rule broke halfway")

    test_rule("test_explodes", explode)
    model = watch_model(LOW + "  - {id: boom, rule: test_explodes}\n")
    store = open_store(store_url)
    empty = store.dump()
    with pytest.raises(RuleFailed):
        record_run(store, fake_result(model, "2025-06-02", {
            "a": {"score": 20.0, "owner": "X"}}), "fp")
    assert store.dump() == empty  # no run, no scores, no alert (low would have fired)

    # a store with history: a new date and a re-run of a stored date both leave it as it was
    safe = watch_model(LOW)
    kept = record_run(store, fake_result(safe, "2025-06-02", {
        "a": {"score": 20.0, "owner": "X"}}), "fp")
    before = store.dump()
    for day in ("2025-06-09", "2025-06-02"):  # the re-run would replace kept's snapshot
        with pytest.raises(RuleFailed):
            record_run(store, fake_result(model, day, {"a": {"score": 10.0}}), "fp")
        assert store.dump() == before
    assert store.latest_run("watch").run_id == kept.run_id
    # and the store still takes writes afterwards
    assert record_run(store, fake_result(safe, "2025-06-09", {"a": {"score": 50.0}}), "fp").run_id


def test_the_run_is_invisible_to_other_connections_until_it_commits(store_url, test_rule):
    seen: dict[str, object] = {}

    def peek(spec, situation):
        # inside the transaction: this store reads the new snapshot, another one does not
        seen["inside"] = [r.as_of.isoformat() for r in store.runs()]
        if store_url.startswith("postgresql"):
            seen["outside"] = [r.as_of.isoformat() for r in open_store(store_url).runs()]
        return [Hit(cid, "seen") for cid in situation.current.index]

    test_rule("test_peek", peek)
    model = watch_model("alerts:\n  - {id: peek, rule: test_peek}\n")
    store = open_store(store_url)
    done = record_run(store, fake_result(model, "2025-06-02", {"a": {"score": 50.0}}), "fp")
    assert seen["inside"] == ["2025-06-02"]
    if store_url.startswith("postgresql"):
        assert seen["outside"] == []
    assert list(store.alerts().run_id) == [done.run_id]
