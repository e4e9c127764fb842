"""The two rules from the field, shipped in examples/alerts.yaml, on a backfilled history.

A synthetic B2B world is backfilled weekly over three months with ``crindex backfill``; the
alerts it raised are compared with the same rules worked out independently: e-mail silence
from the raw interactions, score drops from the stored scores, both replayed with the
"not again while open, resolves when the condition clears" lifecycle.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from crindex.alerts import deliver_files
from crindex.cli import app
from crindex.examples import example_path
from crindex.model.loader import load_model
from crindex.store import open_store

DATES = [dt.date(2025, 1, 1) + dt.timedelta(weeks=i) for i in range(13)]  # to 2025-03-26


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory, b2b_world):
    store_path = str(tmp_path_factory.mktemp("b2b") / "history.duckdb")
    done = CliRunner().invoke(app, [
        "backfill", "--model", str(example_path("alerts")), "--data", str(b2b_world),
        "--from", "2025-01-01", "--to", "2025-03-26", "--every", "7d", "--store", store_path])
    assert done.exit_code == 0, done.output
    return b2b_world, open_store(store_path)


def replay(condition: dict[dt.date, dict[str, bool]]) -> set[tuple[str, dt.date]]:
    """The (customer, as_of) pairs where an alert must be raised: the condition holds and no
    alert of the rule is open for the customer; an open alert closes when it no longer holds.
    """
    raised, open_ = set(), set()
    for day in sorted(condition):
        for customer, holds in condition[day].items():
            if holds and customer not in open_:
                raised.add((customer, day))
                open_.add(customer)
            elif not holds:
                open_.discard(customer)
    return raised


def raised_by(store, rule_id: str) -> set[tuple[str, dt.date]]:
    alerts = store.alerts(model_name="account_watch")
    mine = alerts[alerts.rule_id == rule_id]
    return set(zip(mine.customer_id, mine.as_of, strict=True))


def test_the_backfill_wrote_a_weekly_history(backfilled):
    _, store = backfilled
    runs = store.runs("account_watch")
    assert [r.as_of for r in runs] == DATES
    assert len({r.data_fingerprint for r in runs}) == 1      # one input, read once
    assert all(r.customers > 200 for r in runs)


def test_thirty_days_without_opening_an_email(backfilled):
    data, store = backfilled
    events = pd.read_parquet(data / "interactions.parquet")
    opened = events[events.kind == "email_opened"].assign(day=lambda f: f.occurred_at.dt.date)
    condition: dict[dt.date, dict[str, bool]] = {}
    silence: dict[tuple[str, dt.date], int] = {}
    for run in store.runs("account_watch"):
        seen = opened[opened.day <= run.as_of].groupby("customer_id").day.max()
        scored = store.scores(run.run_id).customer_id
        condition[run.as_of] = {}
        for customer in scored:
            if customer in seen.index:  # never opened one: no value, the rule skips it
                days = (run.as_of - seen[customer]).days
                silence[(customer, run.as_of)] = days
                condition[run.as_of][customer] = days >= 30
    expected = replay(condition)
    assert len(expected) >= 50  # the rule has work to do in this world
    assert raised_by(store, "no_email_open_30d") == expected
    alerts = store.alerts(model_name="account_watch").query("rule_id == 'no_email_open_30d'")
    for row in alerts.itertuples():
        assert row.message == (f"email_silence value is {silence[(row.customer_id, row.as_of)]}"
                               " (>= 30)")
    assert (alerts.status == "resolved").sum() >= 20  # some opened an e-mail again


def test_score_fell_twenty_percent_within_seven_days(backfilled):
    data, store = backfilled
    scores = {r.as_of: store.scores(r.run_id).set_index("customer_id").score
              for r in store.runs("account_watch")}
    condition: dict[dt.date, dict[str, bool]] = {}
    for day, now in scores.items():
        week_before = scores.get(day - dt.timedelta(days=7))   # weekly: the only one in 7 days
        condition[day] = {}
        for customer, value in now.items():
            if week_before is not None and customer in week_before.index:
                peak = week_before[customer]
                condition[day][customer] = peak > 0 and (peak - value) / peak >= 0.20
    expected = replay(condition)
    assert len(expected) >= 20
    assert raised_by(store, "score_drop_20pct_7d") == expected
    model = load_model(example_path("alerts"))
    assert [a.id for a in model.alerts] == ["score_drop_20pct_7d", "no_email_open_30d"]
    # every alert went to the customer's account manager
    owners = pd.read_parquet(data / "customers.parquet").set_index("customer_id").owner
    alerts = store.alerts(model_name="account_watch")
    assert (alerts.owner == owners.loc[alerts.customer_id].to_numpy()).all()


def test_backfilling_again_leaves_the_same_alerts_and_sends_nothing_twice(backfilled,
                                                                          tmp_path):
    data, original = backfilled
    copy = tmp_path / "history.duckdb"
    shutil.copyfile(original.path, copy)
    store = open_store(copy)
    columns = ["alert_id", "rule_id", "customer_id", "owner", "status", "message", "as_of",
               "cleared_as_of", "handled"]
    before = store.alerts(model_name="account_watch")[columns]
    inbox = tmp_path / "inbox"
    deliver_files(store, inbox)       # every open alert delivered (and logged) once
    sent = store.deliveries()
    assert sorted(sent.alert_id) == sorted(before.query("status == 'open'").alert_id)
    done = CliRunner().invoke(app, [
        "backfill", "--model", str(example_path("alerts")), "--data", str(data),
        "--from", "2025-01-01", "--to", "2025-03-26", "--every", "7d", "--store", str(copy)])
    assert done.exit_code == 0, done.output
    after = store.alerts(model_name="account_watch")
    # the same alerts, ids and states (no more score-drop or e-mail alerts than before)
    pd.testing.assert_frame_equal(after[columns].reset_index(drop=True),
                                  before.reset_index(drop=True))
    # each points at the snapshot now stored for its date, not at a deleted one
    runs = {r.as_of: r.run_id for r in store.runs("account_watch")}
    assert [runs[d] for d in after.as_of] == after.run_id.tolist()
    assert not set(after.run_id) & {r.run_id for r in original.runs("account_watch")}
    # delivery is keyed by the stable id: nothing is delivered again
    deliver_files(store, inbox)
    pd.testing.assert_frame_equal(store.deliveries(), sent)
