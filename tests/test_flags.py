"""Flags: raised by hand on the five customers, kept out of the score, stored, alerted."""

from __future__ import annotations

import pytest

from crindex.api import score
from crindex.errors import ModelError
from crindex.model import parse_model
from tests.conftest import AS_OF

BASE = """
name: flagged
dimensions:
  - id: all
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 60, normalise: {method: range, min: 0, max: 1000}}
      - {id: nps, aggregate: nps, window: 365d, weight: 40, normalise: {method: range, min: -100, max: 100}}
"""

FLAGS = """flags:
  - {id: opened_recently, label: Opened an e-mail in 30 days, kind: email_opened, window: 30d}
  - {id: ticket_bad, table: interactions, where: {channel: support, satisfaction: {"<=": 2}}}
  - {id: big, table: customers, where: {size_band: large}}
alerts:
  - {id: bad_ticket, rule: flag, flag: ticket_bad, severity: high}
"""


def column(result, name):
    return dict(zip(result.table.column("customer_id").to_pylist(),
                    result.table.column(name).to_pylist(), strict=True))


def test_flags_by_hand_and_kept_out_of_the_score(five):
    flagged = score(parse_model(BASE + FLAGS), five, AS_OF)
    plain = score(parse_model(BASE), five, AS_OF)
    # e-mails opened in (2025-05-31, 2025-06-30]: c1 (06-02, 06-09, 06-16), c5 (06-12; its
    # open of 08-01 is after as_of); c4's of 03-02 is older
    assert column(flagged, "flag__opened_recently") == {
        "c1": True, "c2": False, "c3": False, "c4": False, "c5": True}
    # support satisfaction <= 2 at any time: c2's 2.0 of 2025-03-01 (c1 rated 4 and 5)
    assert column(flagged, "flag__ticket_bad") == {
        "c1": False, "c2": True, "c3": False, "c4": False, "c5": False}
    # size band large: c1 and c5
    assert column(flagged, "flags") == {"c1": "opened_recently,big", "c2": "ticket_bad",
                                        "c3": None, "c4": None, "c5": "opened_recently,big"}
    for name in ("score", "tier", "coverage", "spend__contribution", "nps__weight"):
        assert column(flagged, name) == column(plain, name), name


def test_a_flag_is_shown_in_the_store_and_raises_its_alert(five, store_url):
    from crindex.record import record_run
    from crindex.store import open_store

    model = parse_model(BASE + FLAGS)
    store = open_store(store_url)
    record_run(store, score(model, five, AS_OF), "fp")
    rows = store.scores(store.latest_run().run_id).set_index("customer_id")
    assert rows.at["c2", "flags"] == "ticket_bad"
    alerts = store.alerts()
    assert alerts.customer_id.tolist() == ["c2"]
    assert alerts.rule_id.tolist() == ["bad_ticket"]
    assert "flag ticket_bad is raised" in alerts.message.iloc[0]
    store.close()


def test_bad_flags_are_reported_at_once():
    bad = """flags:
  - {id: a, table: invoices}
  - {id: b, table: customers, window: 30d, where: {size_band: large}}
  - {id: c, table: customers}
  - {id: d, kind: login, where: {channnel: web}}
alerts:
  - {id: x, rule: flag, flag: nope}
"""
    with pytest.raises(ModelError) as info:
        parse_model(BASE + bad, "m.yaml")
    text = str(info.value)
    assert "flag `a` reads unknown table `invoices`" in text
    assert "flag `b`: a window means nothing on customers" in text
    assert "flag `c` on customers has no `where`" in text
    assert "filter column `channnel` is not a column of interactions" in text
    assert "alert `x`: unknown flag `nope`" in text and "flags of this model: a, b, c, d" in text


def test_flags_beside_the_score_in_the_api_and_the_dashboard(five, tmp_path):
    from types import SimpleNamespace

    from crindex.record import record_run
    from crindex.service.auth import create_token
    from crindex.store import open_store
    from tests.support.service import Server, sign_in

    model_file = tmp_path / "flagged.yaml"
    model_file.write_text(BASE + FLAGS, encoding="utf-8")
    model = parse_model(BASE + FLAGS, str(model_file))
    store_path = tmp_path / "history.duckdb"
    store = open_store(store_path)
    record_run(store, score(model, five, AS_OF), "fp")
    token, _ = create_token(store, "test-read", ["read"])
    store.close()
    world = SimpleNamespace(folder=tmp_path, model=model_file)
    server = Server(world, "flags", data=False, location=str(store_path),
                    tokens={"read": token})  # type: ignore[arg-type]
    try:
        with server.client("read") as client:
            assert client.get("/v1/customers/c1").json()["flags"] == ["opened_recently", "big"]
            assert client.get("/v1/customers/c3").json()["flags"] == []
            items = client.get("/v1/customers", params={"sort": "customer_id"}).json()["items"]
            assert [i["flags"] for i in items][:2] == [["opened_recently", "big"],
                                                       ["ticket_bad"]]
        browser, _ = sign_in(server, token)
        page = browser.get("/ui/customers/c2").text
        assert 'id="flags"' in page and "ticket_bad" in page
        assert 'id="flags"' not in browser.get("/ui/customers/c3").text
        browser.close()
    finally:
        server.stop()


def test_explain_shows_the_flags(tmp_path, cli, monkeypatch):
    from tests.conftest import five_frames

    monkeypatch.chdir(tmp_path)  # no default store here
    monkeypatch.delenv("CRINDEX_STORE", raising=False)
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in five_frames().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    model_file = tmp_path / "flagged.yaml"
    model_file.write_text(BASE + FLAGS, encoding="utf-8")
    code, text = cli("explain", "c1", "--model", str(model_file), "--data", str(folder),
                     "--as-of", str(AS_OF))
    assert code == 0, text
    assert "flags (beside the score, never in it): opened_recently, big" in " ".join(
        text.split())
