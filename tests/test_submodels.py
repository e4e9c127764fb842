"""Sub-models: the linter's proof of exclusive and exhaustive rules, and scoring by sub-model.

The scoring tests use the five-customer world (tests/conftest.py) at 2025-06-30: c1 and c5
have ``size_band: large``, c2 medium, c3 small, c4 none.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crindex.api import score
from crindex.errors import ModelError, Reason
from crindex.model import parse_model
from crindex.model.partition import check_partition, matches
from tests.conftest import AS_OF, five_frames

HEAD = """\
name: parts
dimensions:
  - id: all
    metrics:
      - {id: spend, aggregate: sum, column: amount, window: 365d, weight: 50, normalise: {method: percentile}}
      - {id: n_orders, aggregate: count, window: 365d, weight: 50, normalise: {method: identity}}
"""


def problems(text: str) -> list:
    with pytest.raises(ModelError) as info:
        parse_model(text)
    return info.value.problems


def reasons(found: list) -> list[str]:
    return [p.reason for p in found]


# --------------------------------------------------------------------------------------------
# the linter, one case each


def test_overlap_of_a_list_and_a_value_names_both_lines():
    found = problems(HEAD + """\
submodels:
  - id: b2b
    match: {segment: [b2b, enterprise]}
  - id: big
    match: {segment: enterprise}
  - id: rest
    default: true
""")
    assert reasons(found) == [Reason.SUBMODEL_OVERLAP]
    # the later rule's match is on line 11, the earlier's on line 9
    assert found[0].where == "<model>:11"
    assert "`b2b` (<model>:9)" in found[0].message
    assert "segment = enterprise" in found[0].message


def test_overlap_across_two_columns():
    found = problems(HEAD + """\
submodels:
  - id: b2b
    match: {segment: b2b}
  - id: north
    match: {region: north}
  - id: rest
    default: true
""")
    assert reasons(found) == [Reason.SUBMODEL_OVERLAP]
    assert "region = north, segment = b2b" in found[0].message


def test_number_ranges_meeting_at_a_shared_bound_overlap_on_it():
    found = problems(HEAD + """\
submodels:
  - id: small
    match: {employees: {"<=": 250}}
  - id: large
    match: {employees: {">=": 250}}
  - id: unknown
    match: {employees: {is_null: true}}
""")
    assert reasons(found) == [Reason.SUBMODEL_OVERLAP]
    assert "employees = 250" in found[0].message


def test_half_open_ranges_and_null_are_a_partition():
    model = parse_model(HEAD + """\
submodels:
  - id: small
    match: {employees: {"<": 250}}
  - id: large
    match: {employees: {">=": 250}}
  - id: unknown
    match: {employees: {is_null: true}}
""")
    assert [s.id for s in model.submodels] == ["small", "large", "unknown"]


def test_gap_of_a_value_no_rule_names():
    found = problems(HEAD + """\
submodels:
  - id: b2b
    match: {segment: b2b}
  - id: retail
    match: {segment: retail}
  - id: no_segment
    match: {segment: {is_null: true}}
""")
    assert reasons(found) == [Reason.SUBMODEL_GAP]
    assert found[0].where == "<model>:7"  # the `submodels:` key
    assert "segment is another value (not b2b, retail)" in found[0].message


def test_gap_of_empty_values():
    found = problems(HEAD + """\
submodels:
  - id: b2b
    match: {segment: b2b}
  - id: others
    match: {segment: {"!=": b2b}}
""")
    # `!=` never holds on an empty value (SQL): customers without a segment match nothing
    assert reasons(found) == [Reason.SUBMODEL_GAP]
    assert "segment is empty" in found[0].message


def test_gap_between_two_number_ranges():
    found = problems(HEAD + """\
submodels:
  - id: small
    match: {employees: {"<": 100}}
  - id: large
    match: {employees: {">": 200}}
  - id: unknown
    match: {employees: {is_null: true}}
""")
    assert reasons(found) == [Reason.SUBMODEL_GAP] * 3
    texts = " | ".join(p.message for p in found)
    assert "employees = 100" in texts and "100 < employees < 200" in texts
    assert "employees = 200" in texts


def test_a_default_closes_every_gap():
    model = parse_model(HEAD + """\
submodels:
  - id: b2b
    match: {segment: b2b}
  - id: rest
    default: true
""")
    assert model.warnings == []


def test_a_contract_vocabulary_can_be_covered_without_a_default():
    # lifecycle_stage holds new, growth, mature or decline (the contract): no "other" value
    model = parse_model(HEAD + """\
submodels:
  - id: young
    match: {lifecycle_stage: [new, growth]}
  - id: old
    match: {lifecycle_stage: [mature, decline]}
  - id: unknown
    match: {lifecycle_stage: {is_null: true}}
""")
    assert len(model.submodels) == 3
    found = problems(HEAD + """\
submodels:
  - id: young
    match: {lifecycle_stage: [new, growth]}
  - id: unknown
    match: {lifecycle_stage: {is_null: true}}
""")
    assert sorted(p.message.split("with ")[1] for p in found) == [
        "lifecycle_stage = decline", "lifecycle_stage = mature"]


def test_a_default_that_takes_nobody_is_a_warning():
    model = parse_model(HEAD + """\
submodels:
  - id: young
    match: {lifecycle_stage: [new, growth]}
  - id: rest_of_stages
    match: {lifecycle_stage: {not_in: [new, growth]}}
  - id: unknown
    match: {lifecycle_stage: {is_null: true}}
  - id: rest
    default: true
""")
    assert reasons(model.warnings) == [Reason.SUBMODEL_GAP]


def test_two_defaults_unknown_column_and_bad_weights_are_all_reported():
    found = problems(HEAD + """\
submodels:
  - id: b2b
    match: {sector: b2b}
    weights: {spend: 70}
  - id: rest
    default: true
  - id: rest2
    default: true
    weights: {nope: 10}
""")
    assert sorted(reasons(found)) == sorted([
        Reason.SUBMODEL_OVERLAP, Reason.UNKNOWN_COLUMN, Reason.UNKNOWN_COLUMN,
        Reason.WEIGHTS_SUM])
    by_reason = {p.reason: p for p in found}
    # spend 70 + n_orders 50 (the model's) = 120
    assert "sum to 120" in by_reason[Reason.WEIGHTS_SUM].message
    assert by_reason[Reason.WEIGHTS_SUM].where == "<model>:10"


def test_default_with_a_match_is_refused():
    found = problems(HEAD + """\
submodels:
  - id: rest
    default: true
    match: {segment: b2b}
""")
    assert "remove its `match`" in found[0].message


# --------------------------------------------------------------------------------------------
# the proof against the engine: the cells the linter checks stand for every value

VALUES = [None, 0, 1, 2, 3, 4, 5]
OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null"])


@st.composite
def conditions(draw):
    op = draw(OPS)
    if op == "is_null":
        return {"is_null": draw(st.booleans())}
    if op in ("in", "not_in"):
        return {op: draw(st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True))}
    return {op: draw(st.integers(0, 5))}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b"]), conditions(), min_size=1,
                                max_size=2), min_size=1, max_size=3))
def test_linter_verdicts_hold_for_every_customer_under_sql(rules):
    """No overlap found => no customer matches two rules; no gap => every customer matches one.

    The customers are every pair of values in VALUES (integers around the rules' bounds and
    null), matched by DuckDB running the engine's own filter, not by the linter's Python.
    """
    from crindex.engine.submodels import match_condition

    grid = pd.DataFrame([(a, b) for a in VALUES for b in VALUES], columns=["a", "b"])
    grid = grid.astype({"a": "Float64", "b": "Float64"})
    t = ibis.memtable(grid)
    hits = t.select(*[match_condition(t, rule).name(f"r{i}") for i, rule in enumerate(rules)])
    frame = ibis.duckdb.connect().execute(hits)
    counts = frame.sum(axis=1)
    finding = check_partition(rules, {"a": "num", "b": "num"}, has_default=False)
    if not finding.overlaps:
        assert (counts <= 1).all()
    if not finding.gaps:
        assert (counts >= 1).all()
    for i, j, cell in finding.overlaps:  # the example cell really is matched by both
        row = {col: atom.value for col, atom in zip(sorted({c for r in rules for c in r}),
                                                    cell, strict=True)}
        assert matches(rules[i], row) and matches(rules[j], row)


# --------------------------------------------------------------------------------------------
# scoring by sub-model

SCORED = HEAD + """\
submodels:
  - id: big
    match: {size_band: large}
    weights: {spend: 80, n_orders: 20}
  - id: rest
    default: true
"""

# spend (365d) c1 1500, c2 300, c3 50, c4 0, c5 400; paid orders (365d) c1 2, c2 2, c3 1,
# c4 0, c5 1. `big` scores c1 and c5: percentile of spend among the two, c5 0 and c1 100;
#   c1 = 0.8 * 100 + 0.2 * 2 = 80.4, c5 = 0.8 * 0 + 0.2 * 1 = 0.2
# `rest` scores c2, c3, c4: spend percentiles c4 0, c3 50, c2 100;
#   c2 = 0.5 * 100 + 0.5 * 2 = 51, c3 = 0.5 * 50 + 0.5 * 1 = 25.5, c4 = 0
EXPECTED = {"c1": (80.4, "big"), "c2": (51.0, "rest"), "c3": (25.5, "rest"), "c4": (0.0, "rest"),
            "c5": (0.2, "big")}


def rows(result) -> dict[str, dict]:
    return {r["customer_id"]: r for r in result.table.to_pylist()}


def test_each_row_names_its_submodel_with_the_score_computed_by_hand(con):
    result = score(parse_model(SCORED), five_frames(), AS_OF, con=con)
    got = {cid: (pytest.approx(r["score"], abs=1e-9), r["submodel"])
           for cid, r in rows(result).items()}
    assert got == EXPECTED
    assert rows(result)["c1"]["spend__weight"] == pytest.approx(80.0)
    assert rows(result)["c2"]["spend__weight"] == pytest.approx(50.0)
    assert result.explain("c5").submodel == "big"
    if con is None:  # each sub-model's steps are named in DuckDB's SQL (Spark plans its own)
        assert '"big__raw"' in result.sql and '"rest__tiered"' in result.sql


def test_each_row_equals_scoring_with_its_submodel_alone():
    model = parse_model(SCORED)
    together = rows(score(model, five_frames(), AS_OF))
    frames = five_frames()
    large = frames["customers"]["size_band"] == "large"
    for sub, keep in (("big", large), ("rest", ~large.fillna(False))):
        alone_frames = {**frames, "customers": frames["customers"][keep]}
        # the other customers' orders are orphans here: set aside, never refused
        alone = rows(score(model.submodel(sub), alone_frames, AS_OF, guardrails=False))
        assert alone, sub
        for cid, row in alone.items():
            mine = together[cid]
            assert mine["submodel"] == sub
            for col, value in row.items():
                if isinstance(value, float):
                    assert mine[col] == pytest.approx(value, abs=1e-9), (cid, col)
                else:
                    assert mine[col] == value, (cid, col)


def test_snapshot_and_service_answer_name_the_submodel(store_url):
    from crindex.record import record_run
    from crindex.service.cache import ServiceCache
    from crindex.store import open_store

    model = parse_model(SCORED)
    result = score(model, five_frames(), AS_OF)
    store = open_store(store_url)
    try:
        record_run(store, result, None, ran_at=dt.datetime(2025, 7, 1))
        run = store.latest_run("parts")
        stored = store.scores(run.run_id)
        assert dict(zip(stored.customer_id, stored.submodel, strict=True)) == {
            cid: sub for cid, (_, sub) in EXPECTED.items()}
        cache = ServiceCache(store, "parts", model)
        cache.refresh(force=True)
        answer = cache.customer("c1")
        assert answer is not None and answer["submodel"] == "big"
        listed = cache.customers()["items"]
        assert {i["customer_id"]: i["submodel"] for i in listed}["c3"] == "rest"
    finally:
        store.close()


def test_a_store_of_schema_2_gets_the_submodel_column(store_url):
    from crindex.record import record_run
    from crindex.store import open_store
    from crindex.store.schema import SCHEMA_VERSION

    result = score(parse_model(SCORED), five_frames(), AS_OF)
    store = open_store(store_url)
    record_run(store, result, None)
    with store.transaction() as tx:
        tx.execute("ALTER TABLE scores DROP COLUMN submodel")
        tx.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    store.close()
    upgraded = open_store(store_url)
    try:
        with upgraded.reading() as tx:
            assert upgraded.schema_version(tx) == SCHEMA_VERSION == 3
        run = upgraded.latest_run("parts")
        # rows written before the upgrade have no sub-model; a new run names them
        assert upgraded.scores(run.run_id).submodel.isna().all()
        record_run(upgraded, result, None)
        assert set(upgraded.scores(upgraded.latest_run("parts").run_id).submodel) == {
            "big", "rest"}
    finally:
        upgraded.close()


def test_cli_validate_reports_an_overlap_at_its_line(cli, tmp_path):
    from tests.conftest import failed

    model = tmp_path / "m.yaml"
    model.write_text(HEAD + """\
submodels:
  - id: b2b
    match: {segment: b2b}
  - id: north
    match: {region: north}
  - id: rest
    default: true
""", encoding="utf-8")
    code, text = cli("validate", "--model", str(model))
    failed(code, text, "m.yaml:11", "sub-models `b2b`", "`north` both match customers with "
           "region = north, segment = b2b")


def test_the_http_api_names_the_submodel(tmp_path):
    """``crindex serve`` (a real server in a subprocess) over a store scored with sub-models."""
    from crindex.record import record_run
    from crindex.service.auth import create_token
    from crindex.store import open_store
    from tests.support.service import Server, World

    model_path = tmp_path / "parts.yaml"
    model_path.write_text(SCORED, encoding="utf-8")
    store_path = tmp_path / "history.duckdb"
    store = open_store(store_path)
    record_run(store, score(parse_model(SCORED), five_frames(), AS_OF), None)
    token = create_token(store, "test-read", ["read"])[0]
    store.close()
    world = World(tmp_path, tmp_path, store_path, model_path, {"read": token}, [], [], {})
    server = Server(world, "parts", data=False, location=str(store_path), model=model_path,
                    tokens={"read": token})
    try:
        with server.client("read") as client:
            one = client.get("/v1/customers/c5")
            assert one.status_code == 200, one.text
            assert one.json()["submodel"] == "big"
            listed = client.get("/v1/customers", params={"per_page": 10}).json()["items"]
            assert {i["customer_id"]: i["submodel"] for i in listed} == {
                cid: sub for cid, (_, sub) in EXPECTED.items()}
    finally:
        server.stop()
    assert "Traceback" not in server.output()
