"""RFM segments: the presets partition the grid, the linter, the engine's columns by hand."""

from __future__ import annotations

import pytest

from crindex.api import score
from crindex.errors import ModelError, Reason
from crindex.model import parse_model
from crindex.model.segments import (
    OTHERS,
    cell_map,
    grid,
    preset_levels,
    preset_segments,
)
from crindex.model.spec import SegmentRule
from tests.conftest import AS_OF

# R, F, M on the five customers (tests/conftest.py), as scores 0..100:
# recency range 0..360 lower is better: c1 10 days -> 100 x (1 - 10/360) = 97.22, c2 90 -> 75,
# c3 0 -> 100, c4 never bought -> no score (reweight), c5 364 -> 0 (clipped)
# orders in 365 days, range 0..2: c1 2 -> 100, c2 2 -> 100, c3 1 -> 50, c4 0 -> 0, c5 1 -> 50
# spend in 365 days, range 0..1000: c1 1500 -> 100 (clipped), c2 300 -> 30, c3 50 -> 5,
# c4 0 -> 0, c5 400 -> 40
RFM_METRICS = """
name: rfm
dimensions:
  - id: all
    metrics:
      - {id: rec, aggregate: recency_days, weight: 40, normalise: {method: range, min: 0, max: 360, direction: lower}}
      - {id: freq, aggregate: count, window: 365d, weight: 30, normalise: {method: range, min: 0, max: 2}}
      - {id: money, aggregate: sum, column: amount, window: 365d, weight: 30, normalise: {method: range, min: 0, max: 1000}}
"""


def segments_model(block: str) -> str:
    return RFM_METRICS + "segments:\n  recency: rec\n  frequency: freq\n  monetary: money\n" \
        + block


def column(result, name):
    return dict(zip(result.table.column("customer_id").to_pylist(),
                    result.table.column(name).to_pylist(), strict=True))


@pytest.mark.parametrize("preset", ["china8", "shopify11", "rfm10"])
def test_each_preset_gives_every_cell_exactly_one_segment(preset):
    segments = preset_segments(preset)
    cells = grid(preset_levels(preset))
    for cell in cells:
        holders = [s.id for s in segments if cell in s.cells]
        assert len(holders) == 1, (cell, holders)
    # and no segment is dead: each takes at least one cell
    assert all(s.cells for s in segments), [s.id for s in segments if not s.cells]


def test_the_presets_have_their_published_sizes():
    assert [s.id for s in preset_segments("china8")][0] == "important_value"
    assert len(preset_segments("china8")) == 8
    # ten groups on the grid, prospects (no orders) off it
    assert len(preset_segments("shopify11")) == 10
    rfm10 = preset_segments("rfm10")
    assert len(rfm10) == 11 and rfm10[-1].id == OTHERS
    # Champions R4-5 F4-5 M4-5 keep their 2 x 2 x 2 = 8 cells: resolved before Loyal Customers
    assert len(next(s for s in rfm10 if s.id == "champions").cells) == 8
    # the 25 cells R2-5 ... minus Champions: Loyal Customers R2-5 F3-5 M3-5 is 4 x 3 x 3 = 36
    # cells, less the 8 of Champions = 28
    assert len(next(s for s in rfm10 if s.id == "loyal_customers").cells) == 28


#: the rfm package's vignette, copied as rules in the package's order
RFM_PACKAGE_RULES = """  rules:
    - {id: champions, r: [4, 5], f: [4, 5], m: [4, 5]}
    - {id: loyal_customers, r: [2, 5], f: [3, 5], m: [3, 5]}
    - {id: potential_loyalist, r: [3, 5], f: [1, 3], m: [1, 3]}
    - {id: new_customers, r: [4, 5], f: 1, m: 1}
    - {id: promising, r: [3, 4], f: 1, m: 1}
    - {id: need_attention, r: [2, 3], f: [2, 3], m: [2, 3]}
    - {id: about_to_sleep, r: [2, 3], f: [1, 2], m: [1, 2]}
    - {id: at_risk, r: [1, 2], f: [2, 5], m: [2, 5]}
    - {id: cant_lose_them, r: 1, f: [4, 5], m: [4, 5]}
    - {id: lost, r: [1, 2], f: [1, 2], m: [1, 2]}
"""


def test_the_linter_reports_champions_inside_loyal():
    # the package let later rules overwrite earlier ones, so Loyal Customers took every
    # Champion; the linter refuses the shared cells whatever the order
    with pytest.raises(ModelError) as info:
        parse_model(segments_model(RFM_PACKAGE_RULES), "rfm.yaml")
    problems = [str(p) for p in info.value.problems]
    overlap = [t for t in problems if "`loyal_customers`" in t and "overlaps `champions`" in t]
    assert len(overlap) == 1, problems
    # Champions R4-5 F4-5 M4-5 is 2 x 2 x 2 = 8 cells, all inside Loyal Customers
    assert "on 8 cell(s)" in overlap[0]
    assert overlap[0].startswith("rfm.yaml:15:")  # the loyal_customers line
    assert "narrow `loyal_customers` or `champions`" in overlap[0]
    # the package's other nestings: New Customers and Promising inside Potential Loyalist,
    # Can't Lose Them inside At Risk
    never = sorted(t.split("`")[1] for t in problems if "can never match" in t)
    assert never == ["cant_lose_them", "new_customers", "promising"]
    assert info.value.reason == Reason.BAD_TIERS


def test_a_rule_inside_an_earlier_one_can_never_match():
    # the package's effective order: Loyal Customers wins, so Champions never fires (and the
    # catch-all after them overlaps nothing: it takes the rest by design)
    rules = """  rules:
    - {id: loyal_customers, r: [2, 5], f: [3, 5], m: [3, 5]}
    - {id: champions, r: [4, 5], f: [4, 5], m: [4, 5]}
    - {id: others}
"""
    with pytest.raises(ModelError) as info:
        parse_model(segments_model(rules), "rfm.yaml")
    text = str(info.value)
    assert "segment `champions` (R4-5 F4-5 M4-5) can never match" in text
    assert "taken by `loyal_customers`" in text
    assert "move `champions` above `loyal_customers`" in text
    assert "rfm.yaml:15:" in text
    assert Reason.BAD_TIERS in info.value.reasons


def test_the_linter_collects_every_problem_at_once():
    rules = """  rules:
    - {id: top, r: [4, 6]}
    - {id: top, r: [3, 2]}
    - {id: rest}
"""
    with pytest.raises(ModelError) as info:
        parse_model(segments_model(rules).replace("recency: rec", "recency: recc"), "m.yaml")
    text = str(info.value)
    assert "segments.recency names `recc`" in text and "did you mean" in text.lower()
    assert "r [4, 6] is outside the grid" in text
    assert "r [3, 2] is outside the grid or backwards" in text
    assert "the id is used twice" in text


def test_preset_and_rules_together_are_refused():
    with pytest.raises(ModelError, match="both `preset: china8` and `rules`"):
        parse_model(segments_model("  preset: china8\n  rules:\n    - {id: all}\n"))


def test_a_clean_rule_set_has_no_warning():
    rules = """  rules:
    - {id: best, r: [4, 5], f: [4, 5], m: [4, 5]}
    - {id: rest}
"""
    model = parse_model(segments_model(rules))
    assert not [w for w in model.warnings if "segment" in str(w)]
    assert cell_map(model.segments.rules, 5)[(5, 5, 5)] == "best"
    assert cell_map([SegmentRule(id="x", r=[1, 2])], 5).get((3, 1, 1)) is None


@pytest.mark.parametrize("split, expected", [
    # thresholds {r: 50, f: 50, m: 35}, high when score >= threshold:
    # c1 R97 F100 M100 HHH; c2 R75 F100 M30 HHL; c3 R100 F50 M5 HHL; c5 R0 F50 M40 LHH
    ("{r: 50, f: 50, m: 35}", {"c1": "important_value", "c2": "general_value",
                               "c3": "general_value", "c4": None, "c5": "important_keep"}),
    # means of the customers with a score: R (97.22 + 75 + 100 + 0) / 4 = 68.06,
    # F (100 + 100 + 50 + 0 + 50) / 5 = 60, M (100 + 30 + 5 + 0 + 40) / 5 = 35
    # c2 R75 H F100 H M30 L; c3 R100 H F50 L M5 L; c5 R0 L F50 L M40 H
    ("mean", {"c1": "important_value", "c2": "general_value", "c3": "general_develop",
              "c4": None, "c5": "important_retain"}),
    # medians: R of 0, 75, 97.22, 100 = 86.11; F of 0, 50, 50, 100, 100 = 50;
    # M of 0, 5, 30, 40, 100 = 30: c2 R75 L F H M30 H; c3 H H L; c5 L H H
    ("median", {"c1": "important_value", "c2": "important_keep", "c3": "general_value",
                "c4": None, "c5": "important_keep"}),
])
def test_china8_by_hand(five, split, expected):
    model = parse_model(segments_model(f"  preset: china8\n  split: {split}\n"))
    result = score(model, five, AS_OF)
    assert column(result, "rfm_segment") == expected


def test_shopify11_quintiles_by_hand(five):
    # cells = ceil(5 x cume_dist) among customers with that score (ties share):
    # R: c5 0 -> 1/4 -> 2, c2 75 -> 2/4 -> 3, c1 97.2 -> 3/4 -> 4, c3 100 -> 5 (c4 none)
    # F: c4 0 -> 1/5 -> 1, c3 c5 50 -> 3/5 -> 3, c1 c2 100 -> 5
    # M: c4 0 -> 1, c3 5 -> 2, c2 30 -> 3, c5 40 -> 4, c1 100 -> 5
    # FM = ceil((F + M) / 2): c1 5, c2 4, c3 3, c5 4; the SHOPIFY_GRID rows:
    # c1 R4 FM5 loyal; c2 R3 FM4 loyal; c3 R5 FM3 active; c5 R2 FM4 at_risk;
    # c4 has no R: prospects
    model = parse_model(segments_model("  preset: shopify11\n"))
    result = score(model, five, AS_OF)
    assert column(result, "rfm_cell") == {"c1": "455", "c2": "353", "c3": "532", "c4": None,
                                          "c5": "234"}
    assert column(result, "rfm_segment") == {"c1": "loyal", "c2": "loyal", "c3": "active",
                                             "c4": "prospects", "c5": "at_risk"}


def test_bands_and_user_rules_by_hand(five):
    # bands of 20 points: R c1 97.2 -> 5, c2 75 -> 4, c3 100 -> 5 (capped), c5 0 -> 1;
    # F c1 c2 100 -> 5, c3 c5 50 -> 3; M c1 100 -> 5, c2 30 -> 2, c3 5 -> 1, c5 40 -> 3
    rules = """  cells: bands
  rules:
    - {id: best, r: [4, 5], f: [4, 5], m: [4, 5]}
    - {id: recent, r: [4, 5], f: [1, 3]}
    - {id: recent_few, r: [4, 5], f: [4, 5], m: [1, 3]}
    - {id: rest}
"""
    model = parse_model(segments_model(rules))
    result = score(model, five, AS_OF)
    assert column(result, "rfm_cell") == {"c1": "555", "c2": "452", "c3": "531", "c4": None,
                                          "c5": "133"}
    assert column(result, "rfm_segment") == {"c1": "best", "c2": "recent_few",
                                             "c3": "recent", "c4": None, "c5": "rest"}


def test_cells_no_rule_takes_are_a_warning():
    rules = """  rules:
    - {id: best, r: [4, 5], f: [4, 5], m: [4, 5]}
"""
    model = parse_model(segments_model(rules), "m.yaml")
    gaps = [str(w) for w in model.warnings if "taken by no rule" in str(w)]
    # 125 cells less the 8 of `best`
    assert len(gaps) == 1 and "117 of 125 cells" in gaps[0]
    assert "R5 F5 M3" in gaps[0] and "`- id: others`" in gaps[0]


def test_the_segment_is_kept_in_the_store_and_an_older_store_gets_the_column(five, store_url):
    from crindex.record import record_run
    from crindex.store import open_store
    from crindex.store.schema import SCHEMA_VERSION

    model = parse_model(segments_model("  preset: shopify11\n"))
    result = score(model, five, AS_OF)
    store = open_store(store_url)
    # take the store back to schema version 2: no rfm_segment column
    with store.transaction() as tx:
        tx.execute("ALTER TABLE scores DROP COLUMN rfm_segment")
        tx.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    store.close()
    store = open_store(store_url)
    with store.reading() as tx:
        assert store.schema_version(tx) == SCHEMA_VERSION
    record_run(store, result, "fp")
    rows = store.scores(store.latest_run("rfm").run_id)
    # the same segments as test_shopify11_quintiles_by_hand; `segment` stays the attribute
    assert dict(zip(rows.customer_id, rows.rfm_segment, strict=True)) == {
        "c1": "loyal", "c2": "loyal", "c3": "active", "c4": "prospects", "c5": "at_risk"}
    assert rows.segment.isna().all()
    store.close()


def test_kpis_by_rfm_segment(five):
    from crindex.kpis import kpis

    model = parse_model(segments_model("  preset: shopify11\n"))
    result = score(model, five, AS_OF)
    import ibis

    # the contract's optional interactions.value (hours to first response), absent here
    five["interactions"]["value"] = float("nan")
    tables = {name: ibis.memtable(frame) for name, frame in five.items()}
    report = kpis(tables, AS_OF, "365d", "rfm_segment", scores=result.table)
    # segments of test_shopify11_quintiles_by_hand: loyal c1 c2, active c3, at_risk c5,
    # prospects c4; c6 (created after as_of) and c7 (churned) were not scored: (none)
    assert set(report.values) == {"all", "loyal", "active", "at_risk", "prospects", "(none)"}
    # mean CRI per segment is the mean of the members' scores
    scores = column(result, "score")
    assert report.values["loyal"]["mean_cri"] == pytest.approx(
        (scores["c1"] + scores["c2"]) / 2, abs=1e-9)
    assert report.values["prospects"]["mean_cri"] == pytest.approx(scores["c4"], abs=1e-9)


def test_kpis_by_rfm_segment_needs_a_model_with_segments(five):
    import ibis

    from crindex.errors import DataError
    from crindex.kpis import kpis

    tables = {name: ibis.memtable(frame) for name, frame in five.items()}
    with pytest.raises(DataError, match="without it in the scores"):
        kpis(tables, AS_OF, "365d", "rfm_segment")


def test_the_api_and_the_dashboard_filter_by_rfm_segment(five, tmp_path):
    from types import SimpleNamespace

    from crindex.record import record_run
    from crindex.service.auth import create_token
    from crindex.store import open_store
    from tests.support.service import Server, sign_in

    model_file = tmp_path / "rfm.yaml"
    model_file.write_text(segments_model("  preset: shopify11\n"), encoding="utf-8")
    model = parse_model(model_file.read_text(encoding="utf-8"), str(model_file))
    store_path = tmp_path / "history.duckdb"
    store = open_store(store_path)
    record_run(store, score(model, five, AS_OF), "fp")
    token, _ = create_token(store, "test-read", ["read"])
    store.close()
    world = SimpleNamespace(folder=tmp_path, model=model_file)
    server = Server(world, "rfm", data=False, location=str(store_path),
                    tokens={"read": token})  # type: ignore[arg-type]
    try:
        with server.client("read") as client:
            answer = client.get("/v1/customers", params={"rfm_segment": "loyal"})
            assert answer.status_code == 200, answer.text
            items = answer.json()["items"]
            # c1 and c2 are loyal (test_shopify11_quintiles_by_hand)
            assert sorted(i["customer_id"] for i in items) == ["c1", "c2"]
            assert {i["rfm_segment"] for i in items} == {"loyal"}
            both = client.get("/v1/customers",
                              params=[("rfm_segment", "loyal"), ("rfm_segment", "prospects")])
            assert sorted(i["customer_id"] for i in both.json()["items"]) == ["c1", "c2", "c4"]
            one = client.get("/v1/customers/c3").json()
            assert one["rfm_segment"] == "active"
        browser, _ = sign_in(server, token)
        page = browser.get("/ui/customers", params={"rfm_segment": "at_risk"}).text
        assert 'id="f-rfm-segment"' in page
        assert 'href="/ui/customers/c5"' in page and 'href="/ui/customers/c1"' not in page
        browser.close()
    finally:
        server.stop()
