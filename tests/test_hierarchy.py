"""Account hierarchies: a two-level roll-up of the five-customer world, each rule by hand.

Links (customers.parent_id): c1, c2 -> P1; c3, c4 -> P2; P1, P2 and c5 -> G (P1, P2 and G
are ids only, not customers). as_of 2025-06-30.
"""

from __future__ import annotations

import datetime as dt

import pytest

from crindex.api import score
from crindex.errors import DataError, ModelError, Reason
from crindex.model import parse_model
from tests.conftest import AS_OF, five_frames

MODEL = """\
name: accounts
dimensions:
  - id: all
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 50, normalise: {method: percentile}}
      - {id: n_orders, aggregate: count, window: 365d, weight: 50, normalise: {method: identity}}
tiers:
  levels:
    - {id: good, min: 30}
    - {id: weak}
alerts:
  - {id: low, rule: score_below, threshold: 10}
hierarchy:
"""

# spend (365d): c1 1500, c2 300, c3 50, c4 0, c5 400 -> percentiles c4 0, c3 25, c2 50,
# c5 75, c1 100; paid orders (365d) c1 2, c2 2, c3 1, c4 0, c5 1. Score = half of each:
# c1 = 50 + 1 = 51 (good), c2 = 25 + 1 = 26, c3 = 12.5 + 0.5 = 13, c4 = 0, c5 = 37.5 + 0.5 = 38
# (good)
CUSTOMERS = {"c1": 51.0, "c2": 26.0, "c3": 13.0, "c4": 0.0, "c5": 38.0}

EXPECTED = {
    # P1 = (51 + 26) / 2 = 38.5; P2 = (13 + 0) / 2 = 6.5; G = (38.5 + 6.5 + 38) / 3 = 83 / 3
    "mean": {"P1": 38.5, "P2": 6.5, "G": 83 / 3},
    # P1 = (1500 * 51 + 300 * 26) / 1800 = 84300 / 1800, weight 1800;
    # P2 = (50 * 13 + 0 * 0) / 50 = 13, weight 50;
    # G = (1800 * 84300/1800 + 50 * 13 + 400 * 38) / 2250 = (84300 + 650 + 15200) / 2250
    "weighted_mean": {"P1": 84300 / 1800, "P2": 13.0, "G": 100150 / 2250},
    # P1 = min(51, 26); P2 = min(13, 0); G = min(26, 0, 38)
    "min": {"P1": 26.0, "P2": 0.0, "G": 0.0},
    # healthy = good (score >= 30): P1 has c1 of 2 -> 50; P2 none -> 0;
    # G: P1 (50, good), P2 (0, weak), c5 (good) -> 2 of 3
    "healthy_share": {"P1": 50.0, "P2": 0.0, "G": 200 / 3},
}

SETTINGS = {"mean": "  rule: mean\n", "weighted_mean": "  rule: weighted_mean\n  weight: spend\n",
            "min": "  rule: min\n", "healthy_share": "  rule: healthy_share\n  healthy: [good]\n"}


def frames():
    f = five_frames()
    # c6 (created after as_of) and c7 (churned) are never scored, so never counted
    f["customers"]["parent_id"] = ["P1", "P1", "P2", "P2", "G", "P1", "P2"]
    return f


def with_links(result, extra):
    return {r["customer_id"]: r for r in result.table.to_pylist()} | extra


def scored(rule: str, con=None):
    model = parse_model(MODEL + SETTINGS[rule])
    f = frames()
    # the two parent accounts under G are linked by a row of their own (ids only, no data
    # besides the link: they are not active customers, so never scored themselves)
    import pandas as pd

    links = pd.DataFrame({"customer_id": ["P1", "P2"], "parent_id": ["G", "G"],
                          "created_at": pd.to_datetime(["2030-01-01"] * 2)})
    f["customers"] = pd.concat([f["customers"], links], ignore_index=True)
    return score(model, f, AS_OF, con=con)


def test_the_roll_up_is_the_same_on_every_engine(con):
    rows = {r["customer_id"]: r["score"] for r in scored("mean", con).table.to_pylist()}
    assert {p: rows[p] for p in EXPECTED["mean"]} == pytest.approx(EXPECTED["mean"], abs=1e-9)


@pytest.mark.parametrize("rule", list(EXPECTED))
def test_two_levels_rolled_up_by_hand(rule):
    result = scored(rule)
    rows = {r["customer_id"]: r for r in result.table.to_pylist()}
    for cid, value in CUSTOMERS.items():
        assert rows[cid]["score"] == pytest.approx(value, abs=1e-9)
        assert rows[cid]["account_level"] == 0
    for parent, value in EXPECTED[rule].items():
        assert rows[parent]["score"] == pytest.approx(value, abs=1e-9), (rule, parent)
    assert {p: rows[p]["account_level"] for p in ("P1", "P2", "G")} == {"P1": 1, "P2": 1, "G": 2}
    assert {p: rows[p]["children"] for p in ("P1", "P2", "G")} == {"P1": 2, "P2": 2, "G": 3}
    # the parents' own tiers (the model's: good from 30)
    for parent, value in EXPECTED[rule].items():
        assert rows[parent]["tier"] == ("good" if value >= 30 else "weak")
    # explain lists each child's contribution; they sum to the parent's score
    ex = result.explain("G")
    assert ex.rollup == rule
    assert [c["customer_id"] for c in ex.children] == ["P1", "P2", "c5"]
    assert sum(c["contribution"] for c in ex.children) == pytest.approx(ex.score, abs=1e-9)


def test_contributions_of_each_rule_by_hand():
    mean = scored("mean").explain("P1").children
    # (51 + 26) / 2: 25.5 and 13
    assert [c["contribution"] for c in mean] == pytest.approx([25.5, 13.0])
    weighted = scored("weighted_mean").explain("G").children
    # P1 1800 * (84300 / 1800) / 2250 = 84300 / 2250; P2 50 * 13 / 2250; c5 400 * 38 / 2250
    assert [c["contribution"] for c in weighted] == pytest.approx(
        [84300 / 2250, 650 / 2250, 15200 / 2250])
    assert [c["weight"] for c in weighted] == pytest.approx([1800, 50, 400])
    low = scored("min").explain("G").children
    # the lowest child (P2, 0) carries the score
    assert [(c["customer_id"], c["contribution"]) for c in low] == [
        ("P1", 0.0), ("P2", 0.0), ("c5", 0.0)]
    share = scored("healthy_share").explain("P1").children
    # c1 healthy: 100 / 2; c2 not
    assert [c["contribution"] for c in share] == pytest.approx([50.0, 0.0])


def test_parents_are_recorded_and_alerted(store_url):
    from crindex.record import record_run
    from crindex.store import open_store

    result = scored("mean")
    store = open_store(store_url)
    try:
        done = record_run(store, result, None, ran_at=dt.datetime(2025, 7, 1))
        stored = store.scores(done.run_id).set_index("customer_id")
        assert stored.loc["G", "score"] == pytest.approx(83 / 3)
        # score_below 10: c4 (0) and the account P2 (6.5)
        alerts = store.alerts()
        assert sorted(alerts.customer_id) == ["P2", "c4"]
    finally:
        store.close()


def test_a_circle_of_parents_is_a_data_error():
    f = five_frames()
    f["customers"]["parent_id"] = ["c2", "c1", None, None, None, None, None]
    with pytest.raises(DataError) as info:
        score(parse_model(MODEL + SETTINGS["mean"]), f, AS_OF)
    assert info.value.problems[0].reason == Reason.HIERARCHY
    assert "c1 -> c2 -> c1" in info.value.problems[0].message


def test_hierarchy_settings_are_checked():
    with pytest.raises(ModelError) as info:
        parse_model(MODEL + "  rule: weighted_mean\n  weight: revenue\n")
    assert "`weight: revenue` is no metric" in str(info.value)
    with pytest.raises(ModelError) as info:
        parse_model(MODEL + "  rule: healthy_share\n  healthy: [great]\n")
    assert "healthy tier `great`" in str(info.value)
    with pytest.raises(ModelError) as info:
        parse_model(MODEL + "  rule: min\n  weight: spend\n")
    assert "`weight` is read by `rule: weighted_mean` only" in str(info.value)
    band = MODEL.replace("weight: 50, normalise: {method: identity}}", "weight: 50, normalise: "
                         "{method: identity}}\n      - {id: band, aggregate: attribute, column: "
                         "size_band, weight: 0, normalise: {method: map, values: {large: 100}}}")
    with pytest.raises(ModelError) as info:
        parse_model(band + "  rule: weighted_mean\n  weight: band\n")
    assert "`weight: band` is not a number (attribute)" in str(info.value)
    rank = MODEL.replace("tiers:\n  levels:", "tiers:\n  by: rank\n  levels:").replace(
        "{id: good, min: 30}", "{id: good, top: 30}")
    with pytest.raises(ModelError) as info:
        parse_model(rank + "  rule: mean\n")
    assert [p.reason for p in info.value.problems] == [Reason.BAD_TIERS]


def test_cli_explain_of_a_parent_lists_its_children(cli, tmp_path):
    import pandas as pd

    data = tmp_path / "data"
    data.mkdir()
    f = frames()
    links = pd.DataFrame({"customer_id": ["P1", "P2"], "parent_id": ["G", "G"],
                          "created_at": pd.to_datetime(["2030-01-01"] * 2)})
    f["customers"] = pd.concat([f["customers"], links], ignore_index=True)
    for name, frame in f.items():
        frame.to_csv(data / f"{name}.csv", index=False)
    model = tmp_path / "m.yaml"
    model.write_text(MODEL + SETTINGS["mean"], encoding="utf-8")
    code, text = cli("explain", "G", "--model", str(model), "--data", str(data), "--as-of",
                     str(AS_OF), "--json")
    assert code == 0, text
    import json

    doc = json.loads(text[text.index("{"):])
    assert doc["rollup"] == "mean" and doc["score"] == pytest.approx(83 / 3)
    # P1 38.5 / 3, P2 6.5 / 3, c5 38 / 3
    assert [(c["customer_id"], round(c["contribution"], 9)) for c in doc["children"]] == [
        ("P1", round(38.5 / 3, 9)), ("P2", round(6.5 / 3, 9)), ("c5", round(38 / 3, 9))]
    code, text = cli("explain", "G", "--model", str(model), "--data", str(data), "--as-of",
                     str(AS_OF))
    assert code == 0, text
    assert "account G" in text and "mean of 3 children" in text
