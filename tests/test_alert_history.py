"""Alerts as a function of history, on DuckDB and on PostgreSQL.

Whatever order snapshots are written in, however often one is re-run, and when two processes
write at once, the alerts (ids, statuses, messages, episode dates) equal those of one pass
over the final snapshots in date order; a writer killed with SIGKILL leaves no snapshot
without its alerts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crindex.alerts import evaluate_run
from crindex.alerts.episodes import alert_id
from crindex.record import record_run
from crindex.store import open_store
from crindex.store.schema import SCHEMA_VERSION
from tests.support.alert_writer import ALERTS, customers
from tests.support.store import fake_result, watch_model
from tests.support.store_fixtures import drop_postgres_schema

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 6, 2)
OFFSETS = [0, 3, 7, 10, 14, 21]       # days after START: 7d windows reach one or two back
SCORES = [15.0, 40.0, 55.0, 64.0, 72.0, 80.0, 92.0]
RECENCY = [5.0, 20.0, 35.0, 50.0]     # the mail rule fires at >= 30
COMPARED = ["alert_id", "rule_id", "customer_id", "owner", "status", "message", "details",
            "as_of", "cleared_as_of", "severity", "label", "handled"]


@contextlib.contextmanager
def fresh_store(store_url: str) -> Iterator[str]:
    """Another empty store on the engine of ``store_url``."""
    if store_url.startswith("postgresql"):
        url = f"{store_url.split('?', 1)[0]}?schema=crindex_test_{uuid.uuid4().hex[:12]}"
        try:
            yield url
        finally:
            drop_postgres_schema(url)
        return
    with tempfile.TemporaryDirectory(dir=Path(store_url).parent) as folder:
        yield str(Path(folder) / "history.duckdb")


def alert_rows(location: str) -> list[tuple[Any, ...]]:
    """The alerts of the store, as comparable rows; checks each points at a stored run."""
    store = open_store(location)
    alerts = store.alerts(model_name="watch")
    runs = {r.as_of: r.run_id for r in store.runs("watch")}
    for rec in alerts.itertuples(index=False):  # never a deleted run: the one of its as_of
        assert rec.run_id == runs[rec.as_of], rec
    return sorted(tuple(None if pd.isna(v) else str(v) for v in rec)
                  for rec in alerts[COMPARED].itertuples(index=False))


def ordered_pass(store_url: str, finals: dict[dt.date, dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The alerts of one pass over ``finals`` in date order, in a new store."""
    model = watch_model(ALERTS)
    with fresh_store(store_url) as location:
        store = open_store(location)
        for day in sorted(finals):
            record_run(store, fake_result(model, day, customers(finals[day])), "fp")
        return alert_rows(location)


def writer(location: str, plan: list[dict[str, Any]], folder: Path,
           go: Path | None = None) -> subprocess.Popen[str]:
    """``tests/support/alert_writer.py`` in its own process, writing ``plan``."""
    plan_file = folder / f"plan-{uuid.uuid4().hex[:8]}.json"
    plan_file.write_text(json.dumps(plan, default=str), encoding="utf-8")
    args = [sys.executable, "-m", "tests.support.alert_writer", location, str(plan_file)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(args + ([str(go)] if go else []), cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")


def at_once(location: str, plans: list[list[dict[str, Any]]], folder: Path) -> None:
    """Run one writer per plan, all released at the same moment; each must succeed."""
    go = folder / f"go-{uuid.uuid4().hex[:8]}"
    procs = [writer(location, plan, folder, go) for plan in plans]
    for proc in procs:
        wait_ready(proc)
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err       # never "no snapshot", never a lock error
        assert out.count("wrote") == len(plans[procs.index(proc)]), out


customer = st.fixed_dictionaries({
    "score": st.sampled_from(SCORES), "owner": st.sampled_from(["X", "Y"]),
    "email_recency": st.sampled_from(RECENCY).map(lambda r: [r, 100.0 - r]),
})
# a is always scored; b and c now and then are not (a customer who was not scored neither
# opens nor ends an episode)
snapshot = st.fixed_dictionaries({"a": customer, "b": st.none() | customer,
                                  "c": st.none() | customer}).map(
    lambda d: {k: v for k, v in d.items() if v is not None})


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    days = draw(st.lists(st.sampled_from(OFFSETS), min_size=3, max_size=4, unique=True))
    finals = {START + dt.timedelta(days=d): draw(snapshot) for d in days}
    order = draw(st.permutations(sorted(finals)))
    # decoys: other contents of a date written (and then replaced) before its final one
    decoys = [(draw(st.integers(0, order.index(day))), day, draw(snapshot))
              for day in draw(st.lists(st.sampled_from(order), max_size=2))]
    return {"finals": finals, "order": order, "decoys": decoys,
            "repeat": draw(st.booleans()),
            # now and then (a process costs a second or two) the last two dates are written
            # by two processes at once
            "pair": draw(st.integers(0, 7)) == 0}


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(histories())
def test_any_order_of_runs_gives_the_alerts_of_one_ordered_pass(store_url, tmp_path, case):
    model = watch_model(ALERTS)
    finals, order = case["finals"], case["order"]
    steps: list[tuple[dt.date, dict[str, Any]]] = []
    for i, day in enumerate(order):
        steps += [(d, content) for pos, d, content in case["decoys"] if pos == i]
        steps.append((day, finals[day]))
    pair = steps[-2:] if case["pair"] and steps[-2][0] != steps[-1][0] else []
    with fresh_store(store_url) as location:
        store = open_store(location)
        for day, content in steps[:len(steps) - len(pair)]:
            record_run(store, fake_result(model, day, customers(content)), "fp")
        if pair:
            at_once(location, [[{"as_of": str(d), "customers": c}] for d, c in pair], tmp_path)
        if case["repeat"]:  # a re-run of a date with the same content changes nothing
            day = order[0]
            before = alert_rows(location)
            record_run(store, fake_result(model, day, customers(finals[day])), "fp")
            assert alert_rows(location) == before
        assert alert_rows(location) == ordered_pass(store_url, finals)


def test_an_earlier_snapshot_recomputes_the_later_episodes(store_url):
    model = watch_model(ALERTS)
    store = open_store(store_url)
    june9 = {"a": {"score": 60.0, "owner": "X", "email_recency": (5.0, 95.0)}}
    done = record_run(store, fake_result(model, "2025-06-09", june9), "fp")
    assert done.raised == []  # nothing earlier to compare with; 60 is not below 30
    # a backfilled 06-02 with a = 80: 06-09 is now a 25 % drop within 7 days and a tier
    # downgrade (potential -> ordinary), both opening on 06-09
    june2 = {"a": {"score": 80.0, "owner": "X", "email_recency": (5.0, 95.0)}}
    back = record_run(store, fake_result(model, "2025-06-02", june2), "fp")
    june9_id = store.run("2025-06-09", "watch").run_id
    alerts = store.alerts().set_index("rule_id")
    assert sorted(back.raised) == sorted(alerts.alert_id.tolist())
    assert sorted(alerts.index) == ["down", "drop"]
    assert set(alerts.run_id) == {june9_id} and set(alerts.as_of) == {dt.date(2025, 6, 9)}
    assert alerts.at["drop", "alert_id"] == alert_id("watch", "drop", "a", dt.date(2025, 6, 9))
    assert alerts.at["drop", "message"] == \
        "score fell 25.0% (20.0 points) in 7 days: 80.0 on 2025-06-02 -> 60.0 on 2025-06-09"
    # the person acknowledges the drop; the 06-02 snapshot is re-run with a = 62: the drop
    # (62 -> 60, 3.2 %) and the downgrade (ordinary -> ordinary) are gone, and so are
    # their alerts
    store.set_alert_status(int(alerts.at["drop", "alert_id"]), "acknowledged", "li.na")
    june2_low = {"a": {"score": 62.0, "owner": "X", "email_recency": (5.0, 95.0)}}
    record_run(store, fake_result(model, "2025-06-02", june2_low), "fp")
    assert store.alerts().empty
    assert store.alert_events(int(alerts.at["drop", "alert_id"])).empty
    # back to 80: the same episodes, the same ids (the acknowledgement went with the episode)
    again = record_run(store, fake_result(model, "2025-06-02", june2), "fp")
    assert sorted(again.raised) == sorted(alerts.alert_id.tolist())
    assert (store.alerts().status == "open").all()


def test_an_acknowledgement_survives_recomputation(store_url):
    model = watch_model(ALERTS)
    store = open_store(store_url)

    def write(day, score, recency):
        return record_run(store, fake_result(model, day, {
            "a": {"score": score, "owner": "X", "email_recency": (recency, 100 - recency)}}),
            "fp")

    write("2025-06-02", 20.0, 5.0)                 # low opens on 06-02
    [low] = store.alerts().alert_id.tolist()
    store.set_alert_status(low, "acknowledged", "li.na", "calling")
    write("2025-06-16", 25.0, 5.0)                 # still below 30: the same episode
    write("2025-06-02", 21.0, 5.0)                 # re-run of 06-02: recomputed, same id
    write("2025-06-09", 22.0, 5.0)                 # a date in between: still one episode
    alerts = store.alerts()
    assert alerts.alert_id.tolist() == [low]
    assert alerts.status.tolist() == ["acknowledged"] and alerts.handled.tolist() == \
        ["acknowledged"]
    assert alerts.message.tolist() == ["score 21.0 is below 30"]   # of the re-run 06-02
    # a backfilled 05-26 below 30 too: the episode now opens on 05-26 (a new id), and takes
    # over the acknowledgement and the status history of the alert it continues
    write("2025-05-26", 10.0, 5.0)
    alerts = store.alerts()
    new = alert_id("watch", "low", "a", dt.date(2025, 5, 26))
    assert alerts.alert_id.tolist() == [new] and alerts.status.tolist() == ["acknowledged"]
    events = store.alert_events(new)
    assert events.status.tolist()[:2] == ["open", "acknowledged"]      # those of `low`
    assert f"took over alert {low}: the episode now starts on 2025-05-26" in \
        events.note.tolist()
    # mail (auto_resolve: false): opens on 06-23, ends on 06-30 but stays open for a person
    write("2025-06-23", 40.0, 35.0)
    write("2025-06-30", 40.0, 5.0)
    mail = store.alerts().query("rule_id == 'mail'")
    assert mail.status.tolist() == ["open"]
    assert mail.cleared_as_of.tolist() == [dt.date(2025, 6, 30)]
    assert store.alerts().query("rule_id == 'low'").status.tolist() == ["resolved"]  # 40


def test_two_processes_writing_at_once_serialise(store_url, tmp_path):
    days = [str(START + dt.timedelta(days=d)) for d in (0, 7)]
    contents = [
        {"a": {"score": 80.0, "owner": "X", "email_recency": [40.0, 60.0]},
         "b": {"score": 20.0, "owner": "Y", "email_recency": [5.0, 95.0]}},
        {"a": {"score": 50.0, "owner": "X", "email_recency": [5.0, 95.0]},
         "b": {"score": 60.0, "owner": "Y", "email_recency": [45.0, 55.0]}},
    ]
    finals = {dt.date.fromisoformat(d): c for d, c in zip(days, contents, strict=True)}
    expected = ordered_pass(store_url, finals)
    assert len(expected) == 5  # a: mail, drop, down; b: low (cleared 06-09), mail
    with fresh_store(store_url) as location:
        # the same as_of twice at once, then both dates at once, newest first
        same = [{"as_of": days[0], "customers": contents[0]}]
        at_once(location, [same, same], tmp_path)
        at_once(location, [[{"as_of": days[1], "customers": contents[1]}], same], tmp_path)
        assert len(open_store(location).runs("watch")) == 2
        assert alert_rows(location) == expected


def _kill_plan(seed: int) -> list[dict[str, Any]]:
    """Six weekly snapshots of 300 customers whose scores and e-mail silence move."""
    rng = random.Random(seed)
    plan = []
    for week in range(6):
        people = {}
        for i in range(300):
            score = float(rng.choice(SCORES))
            people[f"C{i:04d}"] = {"score": score, "owner": f"AM-{i % 5}",
                                   "email_recency": [float(rng.choice(RECENCY)), score]}
        plan.append({"as_of": str(START + dt.timedelta(weeks=week)), "customers": people})
    return plan


def test_a_writer_killed_at_a_random_moment_leaves_no_snapshot_without_its_alerts(
        store_url, tmp_path):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    plan = _kill_plan(seed)
    with fresh_store(store_url) as location:
        for attempt in range(2):
            # the second writer rewrites the dates in another order (replacing snapshots)
            steps = plan if attempt == 0 else rng.sample(plan, len(plan))
            proc = writer(location, steps, tmp_path)
            wait_ready(proc)
            time.sleep(rng.uniform(0.0, 4.0))   # somewhere in the first few writes
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            store = open_store(location, lock_timeout=60)
            runs = store.runs("watch")
            why = f"seed {seed}, attempt {attempt}"
            # every snapshot has its alert evaluation; the alerts are those of its history
            assert set(store.alert_specs("watch")) == {r.run_id for r in runs}, why
            present = {r.as_of for r in runs}
            finals = {dt.date.fromisoformat(p["as_of"]): p["customers"] for p in plan
                      if dt.date.fromisoformat(p["as_of"]) in present}
            if runs:
                assert alert_rows(location) == ordered_pass(store_url, finals), why
                model = watch_model(ALERTS)
                done = evaluate_run(store, model)
                assert done.raised == done.resolved == [], why
            else:
                assert store.alerts().empty, why


def test_a_store_from_before_episodes_is_upgraded_in_place(store_url):
    model = watch_model(ALERTS)
    store = open_store(store_url)
    low = {"a": {"score": 20.0, "owner": "X", "email_recency": (5.0, 95.0)}}
    store.write_snapshot(fake_result(model, "2025-06-02", low), "fp")   # not evaluated
    run = store.run("2025-06-02", "watch")
    # take the store back to schema version 1: no episode columns, no hit tables, and an
    # alert acknowledged by a person
    with store.transaction() as tx:
        for column in ("cleared_as_of", "handled"):
            tx.execute(f"ALTER TABLE alerts DROP COLUMN {column}")
        for table in ("alert_hits", "alert_runs"):
            tx.execute(f"DROP TABLE {table}")
        tx.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        tx.execute("INSERT INTO alerts (alert_id, model_name, rule_id, label, severity, "
                   "customer_id, owner, status, message, details, run_id, as_of, raised_at, "
                   "updated_at) VALUES (7, 'watch', 'low', 'low', 'critical', 'a', 'X', "
                   "'acknowledged', 'score 20.0 is below 30', '{}', ?, ?, ?, ?)",
                   (run.run_id, run.as_of, run.ran_at, run.ran_at))
        tx.execute("INSERT INTO alert_events (alert_id, happened_at, status, by_name, note) "
                   "VALUES (7, ?, 'acknowledged', 'li.na', NULL)", (run.ran_at,))
    upgraded = open_store(store_url)
    with upgraded.reading() as tx:
        assert upgraded.schema_version(tx) == SCHEMA_VERSION   # 1 -> 2 -> ... -> current
    legacy = upgraded.alerts()
    assert legacy.alert_id.tolist() == [7] and legacy.handled.tolist() == ["acknowledged"]
    # a new run evaluates its own snapshot; the unevaluated 06-02 and its alert stay as they
    # were
    record_run(upgraded, fake_result(model, "2025-06-09", low), "fp")
    alerts = upgraded.alerts().set_index("alert_id")
    assert alerts.at[7, "status"] == "acknowledged"
    new = alert_id("watch", "low", "a", dt.date(2025, 6, 9))
    assert sorted(alerts.index) == sorted([7, new])
    # evaluating 06-02 makes the episode open there: it takes over the legacy alert
    evaluate_run(upgraded, model, "2025-06-02")
    alerts = upgraded.alerts()
    assert alerts.alert_id.tolist() == [alert_id("watch", "low", "a", dt.date(2025, 6, 2))]
    assert alerts.status.tolist() == ["acknowledged"]


def test_episodes_by_hand():
    from crindex.alerts.episodes import Evaluated, derive
    from crindex.model.spec import AlertSpec

    low = {"low": AlertSpec(id="low", rule="score_below", threshold=30)}
    day = [START + dt.timedelta(weeks=i) for i in range(6)]
    evaluated = [Evaluated(f"r{i}", d, low if i != 4 else {}) for i, d in enumerate(day)]
    # a is below 30 on weeks 0, 1 and 3, 5; not scored on week 2; week 4 was evaluated
    # without the rule
    fired = [0, 1, 3, 5]
    hits = pd.DataFrame({"run_id": [f"r{i}" for i in fired], "as_of": [day[i] for i in fired],
                         "rule_id": "low", "customer_id": "a", "owner": "X",
                         "message": [f"m{i}" for i in fired], "details": "{}"})
    scored = pd.DataFrame({"as_of": [day[i] for i in (0, 1, 3, 4, 5)], "customer_id": "a"})
    # week 2 (not scored) neither ends nor opens; week 3 holds: one episode from week 0 ...
    assert [(e["as_of"], e["cleared_as_of"], e["message"], e["run_id"])
            for e in derive("watch", evaluated, hits, scored)] == [(day[0], None, "m0", "r0")]
    # ... which ends on week 3 once a is scored there without the rule holding; week 4 (no
    # rule) is skipped, week 5 opens the next episode
    hits = hits[hits.as_of != day[3]]
    episodes = derive("watch", list(reversed(evaluated)), hits, scored)   # any order
    assert [(e["as_of"], e["cleared_as_of"]) for e in episodes] == [(day[0], day[3]),
                                                                     (day[5], None)]
    assert [e["alert_id"] for e in episodes] == [alert_id("watch", "low", "a", d)
                                                 for d in (day[0], day[5])]
