"""The checks read each table as few times as they can, and find what they found before.

A clean table with an id is read twice while it is opened: once for the hash of each id (are
ids repeated?) and once for every other check at the same time (missing values, orphans,
ranges, rows after as_of, unknown words, the words the model filters on). Rows set aside are
read from the file once more, whatever is reported about them. The queries are recorded at
Ibis's DuckDB backend and each is read from DuckDB's own plan (EXPLAIN).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.backends.duckdb import Backend

from crindex.data import open_dataset
from crindex.engine.connect import connect
from crindex.errors import EngineError
from crindex.model import parse_model

MODEL = """
name: scans
dimensions:
  - id: engagement
    label: Engagement
    metrics:
      - id: open_rate
        label: Open rate
        aggregate: ratio
        table: interactions
        numerator: {aggregate: count, kind: email_opened}
        denominator: {aggregate: count, kind: email_sent}
        window: 365d
        weight: 60
        normalise: {method: range, min: 0, max: 1}
      - id: support
        label: Support satisfaction
        aggregate: mean
        table: interactions
        column: satisfaction
        where: {channel: support}
        window: 365d
        weight: 40
        normalise: {method: range, min: 1, max: 5}
"""

CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2", "C3"],
                          "created_at": ["2024-01-01"] * 3})
INTERACTIONS = pd.DataFrame({
    "interaction_id": ["I1", "I2", "I3", "I4", "I5", "I6"],
    "customer_id": ["C1", "C1", "C2", "C2", "C3", "C3"],
    "occurred_at": ["2025-03-01", "2025-03-02", "2025-04-01", "2025-04-02", "2025-05-01",
                    "2025-05-02"],
    "channel": ["email", "email", "email", "support", "email", "support"],
    "kind": ["email_sent", "email_opened", "email_sent", "ticket_resolved", "email_sent",
             "ticket_resolved"],
    "satisfaction": ["", "", "", "4", "", "5"],
})


def _scans(con: Any, sql: str) -> list[str]:
    """The tables DuckDB's physical plan of ``sql`` reads, one entry per scan."""
    plan = json.loads(con.con.execute("EXPLAIN (FORMAT json) " + sql).fetchall()[0][1])
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node["name"].endswith("SCAN") and "Table" in node.get("extra_info", {}):
            found.append(node["extra_info"]["Table"].split(".")[-1])
        for child in node.get("children", []):
            walk(child)

    for node in plan:
        walk(node)
    return found


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str]]:
    """Every query crindex runs on DuckDB through Ibis, as (backend, SQL)."""
    queries: list[tuple[Any, str]] = []
    for name in ("to_pyarrow", "execute"):
        original = getattr(Backend, name)

        def run(self: Any, expr: Any, *args: Any, _original: Any = original,
                **kwargs: Any) -> Any:
            queries.append((self, str(self.compile(expr))))
            return _original(self, expr, *args, **kwargs)

        monkeypatch.setattr(Backend, name, run)
    original_sql = Backend.raw_sql

    def raw_sql(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query, str) and query.lstrip().upper().startswith("CREATE OR REPLACE TEMP"
                                                                         " TABLE"):
            queries.append((self, query.split(" AS ", 1)[1]))
        return original_sql(self, query, *args, **kwargs)

    monkeypatch.setattr(Backend, "raw_sql", raw_sql)
    return queries


def _folder(tmp_path: Path, interactions: pd.DataFrame) -> Path:
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    interactions.to_csv(tmp_path / "interactions.csv", index=False)
    return tmp_path


def _reads(queries: list[tuple[Any, str]], table: str) -> int:
    return sum(_scans(con, sql).count(table) for con, sql in queries)


def test_a_clean_table_is_read_twice_the_hashes_of_its_ids_then_every_check(
        tmp_path: Path, recorded: list[tuple[Any, str]]):
    ds = open_dataset(_folder(tmp_path, INTERACTIONS), parse_model(MODEL), "2025-06-30")
    q = ds.quality
    assert q.table("interactions").issues == [] and q.warnings == []
    # the CSV file is loaded into raw_interactions: the hash pass, then the checks' pass;
    # the unknown words of channel and kind and the model's filter words (email_opened,
    # email_sent, support) were counted in the second one
    assert _reads(recorded, "raw_interactions") == 2


def test_rows_set_aside_cost_one_read_of_the_file_whatever_is_reported(
        tmp_path: Path, recorded: list[tuple[Any, str]]):
    dirty = pd.concat([INTERACTIONS, pd.DataFrame({
        "interaction_id": ["I7", "I8"], "customer_id": ["C9", "C1"],
        "occurred_at": ["2025-06-01", "2025-06-02"], "channel": ["email", "support"],
        "kind": ["email_sent", "ticket_resolved"], "satisfaction": ["", "9"]})])
    ds = open_dataset(_folder(tmp_path, dirty), parse_model(MODEL), "2025-06-30",
                      guardrails=False)
    q = ds.quality
    assert q.count("interactions", "orphan") == 1  # C9 is no customer (line 8)
    assert q.count("interactions", "out_of_range") == 1  # satisfaction 9 of 1-5 (line 9)
    orphan = next(i for i in q.table("interactions").issues if i.reason == "orphan")
    assert orphan.examples[0]["row"] == 8 and orphan.bad_values == [{"value": "C9", "count": 1}]
    assert q.table("interactions").quarantine.num_rows == 2
    # hash pass, checks' pass, and one read of the two rows set aside: the examples, the
    # values at fault and the quarantine of both issues read those two rows
    assert _reads(recorded, "raw_interactions") == 3


@settings(max_examples=8, deadline=None)
@given(st.lists(st.sampled_from(["O1", "O2", "O3", "O4"]), min_size=1, max_size=10))
def test_a_repeated_id_keeps_its_first_row_and_sets_the_others_aside(ids: list[str]):
    # every row's amount is its place (1, 2, ...): the amounts kept say which rows were kept
    frames = {
        "customers": pd.DataFrame({"customer_id": ["C1"]}),
        "orders": pd.DataFrame({"order_id": ids, "customer_id": ["C1"] * len(ids),
                                "ordered_at": ["2025-01-01"] * len(ids),
                                "amount": [float(i + 1) for i in range(len(ids))]}),
    }
    ds = open_dataset(frames, as_of="2025-12-31", guardrails=False)
    firsts = [i + 1.0 for i, x in enumerate(ids) if x not in ids[:i]]
    assert sorted(ds.table("orders").amount.execute()) == firsts
    assert ds.quality.count("orders", "duplicate_id") == len(ids) - len(set(ids))


def test_duckdb_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path):
    monkeypatch.setenv("CRINDEX_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("CRINDEX_DUCKDB_THREADS", "1")
    monkeypatch.setenv("CRINDEX_DUCKDB_TEMP_DIRECTORY", str(tmp_path / "spill"))
    con = connect("duckdb")
    got = dict(con.con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN "
        "('memory_limit', 'threads', 'temp_directory')").fetchall())
    # 300MB is 300,000,000 bytes = 286.1 MiB, the unit DuckDB reports in
    assert got == {"memory_limit": "286.1 MiB", "threads": "1",
                   "temp_directory": str(tmp_path / "spill")}
    # the data is opened on such a connection when none is given
    ds = open_dataset({"customers": CUSTOMERS})
    assert ds.con.con.execute("SELECT current_setting('threads')").fetchone()[0] == 1


def test_a_setting_duckdb_refuses_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CRINDEX_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(EngineError) as err:
        connect("duckdb")
    assert "CRINDEX_DUCKDB_MEMORY_LIMIT=lots" in str(err.value)
