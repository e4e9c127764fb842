"""Alerts: rules by hand, dedupe while open, statuses, files and a signed webhook with retries."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from typer.testing import CliRunner

from crindex.alerts import deliver_files, deliver_webhook, evaluate_run, sign, verify
from crindex.cli import app
from crindex.errors import ModelError, Reason, StoreError
from crindex.store import open_store
from tests.support.store import fake_result, watch_model

ALERTS = """
alerts:
  - {id: drop, rule: score_drop, relative: 20, within: 7d, severity: high}
  - {id: down, rule: tier_downgrade}
  - {id: low, rule: score_below, threshold: 30, severity: critical}
  - {id: mail, rule: metric, metric: email_recency, op: ">=", threshold: 30}
"""


def snap(store, model, day, customers):
    run_id = store.write_snapshot(fake_result(model, day, customers))
    return evaluate_run(store, model, run_id)


def open_keys(store):
    a = store.alerts(status="open")
    return sorted(zip(a.rule_id, a.customer_id, strict=True))


def test_rules_dedupe_and_auto_resolve_by_hand(store_url):
    model = watch_model(ALERTS)
    store = open_store(store_url)
    # tiers: core >= 90, potential >= 70, ordinary >= 50, at_risk below
    first = snap(store, model, "2025-06-02", {
        "a": {"score": 80.0, "owner": "X", "email_recency": (10.0, 83.3)},
        "b": {"score": 55.0, "owner": "Y", "email_recency": (40.0, 33.3)},
        "c": {"score": 90.0, "email_recency": (5.0, 91.7)}})
    # only b's e-mail silence: 40 days >= 30; nothing earlier to compare scores with
    assert open_keys(store) == [("mail", "b")] and len(first.raised) == 1
    snap(store, model, "2025-06-09", {
        "a": {"score": 64.0, "owner": "X", "email_recency": (17.0, 71.7)},
        "b": {"score": 52.0, "owner": "Y", "email_recency": (47.0, 21.7)},
        "c": {"score": 75.0, "email_recency": (12.0, 80.0)}})
    # a: (80 - 64) / 80 = 20 % exactly -> drop fires; potential -> ordinary -> down fires
    # b: (55 - 52) / 55 = 5.5 %, still ordinary; still silent but its mail alert is open: not raised again
    # c: (90 - 75) / 90 = 16.7 % -> no drop; core -> potential -> down fires
    assert open_keys(store) == [("down", "a"), ("down", "c"), ("drop", "a"), ("mail", "b")]
    third = snap(store, model, "2025-06-16", {
        "a": {"score": 66.0, "owner": "X", "email_recency": (3.0, 95.0)},
        "b": {"score": 20.0, "owner": "Y", "email_recency": (54.0, 10.0)},
        "c": {"score": 75.0, "email_recency": (19.0, 68.3)}})
    # a: peak of [06-09, 06-16) is 64, now 66: drop clears; ordinary stays: down clears
    # b: (52 - 20) / 52 = 61.5 % -> drop; ordinary -> at_risk -> down; 20 < 30 -> low
    # c: potential stays -> down clears
    assert open_keys(store) == [("down", "b"), ("drop", "b"), ("low", "b"), ("mail", "b")]
    assert len(third.raised) == 3 and len(third.resolved) == 3
    alerts = store.alerts().set_index(["rule_id", "customer_id"])
    assert alerts.loc[("drop", "a"), "status"] == "resolved"
    assert alerts.loc[("drop", "a"), "message"] == \
        "score fell 20.0% (16.0 points) in 7 days: 80.0 on 2025-06-02 -> 64.0 on 2025-06-09"
    assert alerts.loc[("low", "b"), "severity"] == "critical"
    assert alerts.loc[("drop", "b"), "owner"] == "Y"                # routed to the owner
    assert alerts.loc[("down", "c"), "owner"] == "(unassigned)"     # c has none
    # evaluating the same snapshot again raises nothing new
    again = evaluate_run(store, model, third.run.run_id)
    assert again.raised == [] and again.resolved == []

    mail_id = int(alerts.loc[("mail", "b"), "alert_id"])
    store.set_alert_status(mail_id, "acknowledged", "li.na", "calling them")
    with pytest.raises(StoreError, match="already acknowledged"):
        store.set_alert_status(mail_id, "acknowledged", "li.na")
    store.set_alert_status(mail_id, "resolved", "li.na")
    events = store.alert_events(mail_id)
    assert events.status.tolist() == ["open", "acknowledged", "resolved"]
    assert events.by_name.tolist() == ["crindex", "li.na", "li.na"]
    # resolved by hand while b is still silent: that episode is over for the person, the
    # next snapshot (still silent) raises nothing; once b opens an e-mail and falls silent
    # again, a new episode is a new alert
    snap(store, model, "2025-06-23", {
        "b": {"score": 20.0, "owner": "Y", "email_recency": (61.0, 0.0)}})
    mails = store.alerts(model_name="watch").query("rule_id == 'mail'")
    assert mails.status.tolist() == ["resolved"]
    snap(store, model, "2025-06-30", {
        "b": {"score": 20.0, "owner": "Y", "email_recency": (2.0, 96.7)}})
    snap(store, model, "2025-08-04", {
        "b": {"score": 20.0, "owner": "Y", "email_recency": (37.0, 38.3)}})
    mails = store.alerts(model_name="watch").query("rule_id == 'mail'")
    assert mails.status.tolist() == ["open", "resolved"]  # newest snapshot first
    assert mails.cleared_as_of.tolist()[1] == dt.date(2025, 6, 30)


def test_metric_condition_on_missing_values_and_text():
    import pandas as pd

    from crindex.alerts.rules import RULES, Situation
    from crindex.model.spec import AlertSpec

    current = pd.DataFrame({"score": [50.0, 60.0], "tier": ["x", "x"], "owner": [None, None]},
                           index=pd.Index(["a", "b"], name="customer_id"))
    metrics = pd.DataFrame({"customer_id": ["a"], "item": ["email_recency"],
                            "raw_num": [29.5], "raw_text": [None], "score": [50.0]})
    s = Situation(pd.Timestamp("2025-06-30").date(), current, pd.DataFrame(), metrics, ["x"])
    rule = RULES["metric"].evaluate
    spec = AlertSpec(id="m", rule="metric", metric="email_recency", op=">=", threshold=30)
    assert rule(spec, s) == []                   # 29.5 < 30; b has no value and is skipped
    fire = spec.model_copy(update={"missing": "fire", "threshold": 29.5})
    assert [(h.customer_id, h.message) for h in rule(fire, s)] == [
        ("a", "email_recency value is 29.5 (>= 29.5)"), ("b", "email_recency value is missing")]


def test_alert_entries_are_checked_with_file_and_line():
    with pytest.raises(ModelError) as info:
        watch_model("""alerts:
  - {id: drop, rule: score_drop, within: 7d, threshold: 3}
  - {id: gone, rule: scor_drop}
  - {id: mail, rule: metric, metric: email_recncy, threshold: 30}
  - {id: low, rule: score_below}
""")
    text = str(info.value)
    assert "<watch>:29: alert `drop`: rule `score_drop` does not take `threshold`" in text
    assert "alert `drop`: rule `score_drop` needs `relative` or `absolute`" in text
    assert "<watch>:30: alert `gone`: unknown rule `scor_drop` (rules: flag, metric, score_below" \
        in text
    assert "unknown metric `email_recncy` (metrics of this model: spend, email_recency)" in text
    assert "<watch>:32: alert `low`: rule `score_below` needs `threshold`" in text
    assert info.value.reasons >= {Reason.BAD_PARAMETER, Reason.UNKNOWN_COLUMN}


class Receiver(BaseHTTPRequestHandler):
    """Fails the first ``fail`` requests with 500, then accepts; keeps what it got."""

    fail = 2
    secret = b"s3cret"
    requests: list[tuple[dict[str, str], bytes]] = []
    processed: list[int] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((dict(self.headers), body))
        if len(type(self).requests) <= type(self).fail:
            self.send_response(500)
            self.end_headers()
            return
        if not verify(self.secret, body, self.headers.get("X-Signature")):
            self.send_response(401)
            self.end_headers()
            return
        alert_id = json.loads(body)["alert"]["alert_id"]
        if alert_id not in type(self).processed:
            type(self).processed.append(alert_id)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def receiver():
    Receiver.requests, Receiver.processed, Receiver.fail = [], [], 2
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/crindex?token=abc"
    server.shutdown()
    server.server_close()


def _one_alert(tmp_path):
    model = watch_model(ALERTS)
    store = open_store(tmp_path / "h.duckdb")
    snap(store, model, "2025-06-30", {"b": {"score": 20.0, "owner": "Y",
                                            "email_recency": (10.0, 83.3)}})
    [alert_id] = store.alerts().alert_id.tolist()  # low: 20 < 30
    return store, int(alert_id)


def test_webhook_signed_retried_delivered_once_and_logged(tmp_path, receiver):
    store, alert_id = _one_alert(tmp_path)
    pauses = []
    report = deliver_webhook(store, receiver, "s3cret", attempts=5, backoff=0.01,
                             sleep=pauses.append)
    assert report.delivered == [alert_id] and report.failed == [] and report.attempts == 3
    assert Receiver.processed == [alert_id]          # the receiver got the alert once
    assert len(Receiver.requests) == 3
    bodies = {body for _, body in Receiver.requests}
    assert len(bodies) == 1                           # the same bytes on every attempt
    headers, body = Receiver.requests[-1]
    assert headers["X-Signature"] == sign("s3cret", body) and verify("s3cret", body,
                                                                     headers["X-Signature"])
    assert not verify("wrong", body, headers["X-Signature"])
    assert [h["X-Crindex-Attempt"] for h, _ in Receiver.requests] == ["1", "2", "3"]
    payload = json.loads(body)
    assert payload["event"] == "crindex.alert"
    assert (payload["alert"]["rule"], payload["alert"]["owner"]) == ("low", "Y")
    assert pauses == [0.01, 0.02]                     # backoff 0.01 x 2^(n - 1)
    log = store.deliveries(alert_id)
    assert log.attempt.tolist() == [1, 2, 3]
    assert log.ok.tolist() == [False, False, True]
    assert log.status_code.tolist() == [500, 500, 204]
    assert set(log.target) == {receiver.split("?")[0]}  # the token in the query is not logged
    again = deliver_webhook(store, receiver, "s3cret", backoff=0.01, sleep=pauses.append)
    assert again.attempts == 0 and len(Receiver.requests) == 3   # delivered: never resent


def test_webhook_gives_up_and_logs_every_failure(tmp_path, receiver):
    store, alert_id = _one_alert(tmp_path)
    Receiver.fail = 99
    report = deliver_webhook(store, receiver, "s3cret", attempts=2, backoff=0, sleep=lambda _: 0)
    assert report.failed == [alert_id] and report.attempts == 2
    closed = "http://127.0.0.1:9/nothing-listens-here"
    refused = deliver_webhook(store, closed, "s3cret", attempts=2, backoff=0,
                              sleep=lambda _: 0)
    assert refused.failed == [alert_id]
    log = store.deliveries(alert_id)
    assert log.ok.tolist() == [False] * 4
    assert log.status_code.tolist()[:2] == [500, 500]
    assert log.error.tolist()[2].startswith("URLError")
    # the next delivery to the receiver continues the attempt count
    Receiver.fail = 0
    deliver_webhook(store, receiver, "s3cret", attempts=1)
    assert store.deliveries(alert_id, target=receiver.split("?")[0]).attempt.tolist() == \
        [1, 2, 3]
    with pytest.raises(StoreError, match="shared secret"):
        deliver_webhook(store, receiver, "")


def test_files_per_owner_and_cli_statuses(tmp_path):
    model = watch_model(ALERTS)
    store_path = tmp_path / "h.duckdb"
    store = open_store(store_path)
    snap(store, model, "2025-06-30", {
        "a": {"score": 20.0, "owner": "X", "email_recency": (10.0, 83.3)},
        "b": {"score": 25.0, "owner": "Y/Z", "email_recency": (45.0, 25.0)}})
    written = deliver_files(store, tmp_path / "out")
    everything = json.loads((tmp_path / "out" / "alerts.json").read_text())
    assert sorted((a["rule"], a["customer_id"]) for a in everything) == \
        [("low", "a"), ("low", "b"), ("mail", "b")]
    mine = json.loads((tmp_path / "out" / "owners" / "Y_Z.json").read_text())
    assert sorted(a["rule"] for a in mine) == ["low", "mail"]
    csv = (tmp_path / "out" / "owners" / "X.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf") and b"score 20.0 is below 30" in csv
    assert len(written) == 6
    assert store.deliveries().channel.tolist() == ["file"] * 3

    runner = CliRunner()
    ids = store.alerts().query("owner == 'X'").alert_id.tolist()
    done = runner.invoke(app, ["alerts", "ack", str(ids[0]), "--by", "wang", "--store",
                               str(store_path)])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["alerts", "list", "--status", "acknowledged", "--json",
                                 "--store", str(store_path)])
    assert [a["customer_id"] for a in json.loads(listed.stdout)] == ["a"]
    runner.invoke(app, ["alerts", "resolve", str(ids[0]), "--by", "wang", "--store",
                        str(store_path)])
    deliver_files(store, tmp_path / "out")
    assert not (tmp_path / "out" / "owners" / "X.json").exists()   # X has nothing open
    bad = runner.invoke(app, ["alerts", "list", "--status", "closed", "--store",
                              str(store_path)])
    assert isinstance(bad.exception, StoreError) and "unknown status" in str(bad.exception)


def test_several_alerts_move_on_together_or_not_at_all(store_url):
    model = watch_model(ALERTS)
    store = open_store(store_url)
    snap(store, model, "2025-06-02", {
        "a": {"score": 20.0, "owner": "X", "email_recency": (40.0, 33.3)},
        "b": {"score": 25.0, "owner": "Y", "email_recency": (45.0, 25.0)}})
    # both below 30 and both silent for 30+ days: four open alerts
    ids = sorted(int(i) for i in store.alerts(status="open").alert_id)
    assert len(ids) == 4
    store.set_alert_status(ids[0], "acknowledged", "li.na")
    # one of the three is already acknowledged: refused, naming it, and the others untouched
    with pytest.raises(StoreError, match=f"alert {ids[0]} is already acknowledged"):
        store.set_alerts_status(ids[:3], "acknowledged", "li.na", "called")
    assert sorted(int(i) for i in store.alerts(status="open").alert_id) == ids[1:]
    with pytest.raises(StoreError, match="there is no alert 999999"):
        store.set_alerts_status([ids[1], 999999], "resolved", "li.na")
    assert sorted(int(i) for i in store.alerts(status="open").alert_id) == ids[1:]
    store.set_alerts_status(ids[1:], "resolved", "li.na", "called")
    assert store.alerts(status="open").empty
    assert [store.alert_events(i).note.tolist()[-1] for i in ids[1:]] == ["called"] * 3
