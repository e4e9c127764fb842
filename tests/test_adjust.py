"""Manual adjustments: on top of computed scores, through rescores, until expiry, audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from crindex.api import score
from crindex.cli import app
from crindex.errors import Reason, StoreError
from crindex.examples import example_path
from crindex.store import explain_adjusted, open_store
from crindex.store.history import customer_history
from crindex.store.manual import adjust
from tests.conftest import AS_OF, five_frames
from tests.support.store import fake_result, watch_model

WEEKS = ["2025-06-02", "2025-06-09", "2025-06-16", "2025-06-23"]


def week(store, model, day, a_score):
    return store.write_snapshot(fake_result(model, day, {"a": {"score": a_score},
                                                         "b": {"score": 40.0}}))


def test_adjustment_survives_rescores_and_stops_at_expiry(store_url):
    model = watch_model()
    store = open_store(store_url)
    week(store, model, WEEKS[0], 66.0)
    week(store, model, WEEKS[1], 66.0)
    entry, effect = adjust(store, "a", points=5, reason="signed a framework contract",
                           by="wang.fang", expires=dt.date(2025, 6, 23))
    # in force from the latest snapshot (06-09) until the day before 06-23
    assert (entry.effective, entry.expires, entry.model_name) == \
        (dt.date(2025, 6, 9), dt.date(2025, 6, 23), "watch")
    # 66 + 5 = 71 crosses the potential threshold (70)
    assert effect == ("a (watch) as of 2025-06-09: computed 66.0 (ordinary), now 71.0 "
                      "(potential); in force from 2025-06-09 until 2025-06-23")
    week(store, model, WEEKS[1], 67.0)   # a rescore of the same date replaces the snapshot
    week(store, model, WEEKS[2], 60.0)
    week(store, model, WEEKS[3], 60.0)
    h = customer_history(store, "a").set_index("as_of")
    days = [dt.date.fromisoformat(d) for d in WEEKS]
    # 06-02 before it; 06-09 rescored 67 + 5 = 72; 06-16 60 + 5 = 65; 06-23 expired: 60
    assert h.adjusted_score.tolist() == [66.0, 72.0, 65.0, 60.0]
    assert h.adjusted_tier.tolist() == ["ordinary", "potential", "ordinary", "ordinary"]
    assert h.score.tolist() == [66.0, 67.0, 60.0, 60.0]     # the computed scores are kept
    assert h.loc[days[1], "adjustments"] == [entry.adjustment_id]
    assert h.loc[days[3], "adjustments"] == []
    assert customer_history(store, "b").adjusted_score.tolist() == [40.0] * 4


def test_tier_override_revocation_and_the_append_only_log(store_url):
    model = watch_model()
    store = open_store(store_url)
    week(store, model, WEEKS[0], 55.0)
    first, _ = adjust(store, "a", tier="core", reason="strategic account", by="li.na")
    second, _ = adjust(store, "a", points=-10, reason="late payments", by="li.na")
    h = customer_history(store, "a")
    # the tier override wins over the score: 55 - 10 = 45 stays core
    assert (h.adjusted_score[0], h.adjusted_tier[0]) == (45.0, "core")
    week(store, model, WEEKS[1], 55.0)
    revoked, _ = adjust(store, "a", revoke=first.adjustment_id, reason="review done",
                        by="zhang.wei")
    h = customer_history(store, "a")
    # the revocation is in force from 06-09: 06-02 keeps the override, 06-09 loses it
    assert h.adjusted_tier.tolist() == ["core", "at_risk"]
    log = store.adjustments("a")
    assert [(a.adjustment_id, a.action, a.revokes) for a in log] == [
        (first.adjustment_id, "add", None), (second.adjustment_id, "add", None),
        (revoked.adjustment_id, "revoke", first.adjustment_id)]
    assert log[0] == first                       # entries are never changed


def test_bad_adjustments_are_refused_with_every_problem(store_url):
    store = open_store(store_url)
    week(store, watch_model(), WEEKS[0], 55.0)
    with pytest.raises(StoreError) as info:
        adjust(store, "a", points=5, tier="gold", reason=" ", by="x",
               expires=dt.date(2025, 6, 1))
    text = str(info.value)
    assert "give either --points or --tier" in text and "unknown tier `gold`" in text
    assert "--reason is empty" in text and "--expires 2025-06-01 is not after" in text
    assert info.value.reasons >= {Reason.BAD_PARAMETER}
    with pytest.raises(StoreError, match="customer `zz` has no snapshot"):
        adjust(store, "zz", points=5, reason="r", by="x")
    with pytest.raises(StoreError, match="has no adjustment 99"):
        adjust(store, "a", revoke=99, reason="r", by="x")
    assert store.adjustments() == []


def test_adjustment_shows_in_explain_and_the_cli_audit_log(tmp_path):
    store_path = str(tmp_path / "h.duckdb")
    result = score(example_path("ecommerce"), five_frames(), AS_OF)
    open_store(store_path).write_snapshot(result)
    runner = CliRunner()
    done = runner.invoke(app, ["adjust", "c2", "--points", "+5", "--reason", "new contract",
                               "--by", "wang.fang", "--expires", "2025-09-30", "--store",
                               store_path])
    assert done.exit_code == 0, done.output
    ex = explain_adjusted(result, "c2", open_store(store_path))
    # c2 computes 0.30 x 10 (spend 300 / 3,000) + 0.25 x 66.67 (1 - 90 / 270 days)
    # + 0.20 x 25 (NPS -50) + 0.15 x 0 (opened none) + 0.10 x 25 (support 2 of 1-5)
    # = 3 + 16.67 + 5 + 0 + 2.5 = 27.17 (at_risk); +5 -> 32.17, still below ordinary (36)
    assert ex.score == pytest.approx(27.1666667)
    [step] = ex.adjustments
    assert (step["points"], step["reason"], step["made_by"]) == (5.0, "new contract",
                                                                 "wang.fang")
    assert step["score_after"] == pytest.approx(32.1666667) and step["tier_after"] == "at_risk"
    assert ex.to_dict()["adjustments"][0]["expires"] == dt.date(2025, 9, 30)
    log = runner.invoke(app, ["adjustments", "c2", "--json", "--store", store_path])
    [row] = json.loads(log.stdout)
    assert (row["customer_id"], row["action"], row["points"], row["expires"]) == \
        ("c2", "add", 5.0, "2025-09-30")
    history = runner.invoke(app, ["history", "c2", "--json", "--store", store_path])
    [snap] = json.loads(history.stdout)
    assert snap["adjusted_score"] == pytest.approx(32.1666667) and snap["adjustments"] == [1]
    assert explain_adjusted(result, "c1", open_store(store_path)).adjustments == []


WATCH_WITHOUT_CORE = """
tiers:
  levels:
    - {id: potential, min: 70}
    - {id: ordinary, min: 50}
    - {id: at_risk}
"""


def test_an_override_to_a_tier_the_model_lost_is_reported_and_never_applied(tmp_path, cli):
    from crindex.model.loader import parse_model
    from crindex.store.adjust import apply
    from crindex.store.snapshot import model_info
    from tests.support.store import WATCH_MODEL

    store_path = tmp_path / "h.duckdb"
    store = open_store(store_path)
    before = watch_model()
    week(store, before, WEEKS[0], 66.0)
    entry, _ = adjust(store, "a", tier="core", reason="key account", by="li.na")
    # the model changes: same name, `core` removed
    text = WATCH_MODEL.split("tiers:")[0] + WATCH_WITHOUT_CORE
    after = parse_model(text, "<watch without core>")
    tiers = model_info(after)["tiers"]
    # a scores 66 (ordinary: 50 <= 66 < 70); the override to `core` is not applied
    res = apply(66.0, "ordinary", [entry], tiers)
    assert (res.adjusted_score, res.adjusted_tier) == (66.0, "ordinary")
    stale = ("adjustment 1 sets tier `core`, which the model does not have (its tiers: "
             "potential, ordinary, at_risk); not applied")
    assert res.steps[0]["stale"] == stale
    # under the old model the override holds: tier core
    assert apply(66.0, "ordinary", [entry], model_info(before)["tiers"]).adjusted_tier == "core"

    # scoring with the new model reports it: in the summary printed and in summary.json
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "watch.yaml").write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in five_frames().items():
        frame.to_parquet(data / f"{name}.parquet")
    out = tmp_path / "out"
    code, printed = cli("score", "--model", str(folder / "watch.yaml"), "--data", str(data),
                        "--as-of", WEEKS[1], "--out", str(out), "--store", str(store_path))
    assert code == 0, printed
    line = f"stale adjustment: customer `a`: {stale}"
    assert f"warning: {line}" in " ".join(printed.split())
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["warnings"] == [line]
    # and in the audit log's listing
    code, printed = cli("adjustments", "--store", str(store_path), "--json")
    assert code == 0, printed
    listed = json.loads(printed[printed.index("["):printed.rindex("]") + 1])
    assert [(a["adjustment_id"], a["stale"]) for a in listed] == [(1, stale)]
    assert f"warning: stale adjustment: {stale}" in " ".join(printed.split())
    # the service's document: the override is in force but not applied, and says why
    from crindex.service.cache import ServiceCache

    store.write_snapshot(fake_result(after, WEEKS[2], {"a": {"score": 66.0}}))
    cache = ServiceCache(store, "watch", after)
    cache.refresh()
    doc = cache.customer("a")
    assert (doc["adjusted_score"], doc["adjusted_tier"]) == (66.0, "ordinary")
    assert [(e["in_force"], e["tier_after"], e["stale"]) for e in doc["adjustments"]] == \
        [(True, "ordinary", stale)]
