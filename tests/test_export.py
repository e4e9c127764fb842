"""``crindex export``: an idempotent upsert into the user's database (DuckDB, PostgreSQL), CRM
import files in English or Chinese, and a signed webhook per tier change, against a real
local HTTP server."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from crindex.alerts.delivery import verify
from crindex.export.core import (
    COLUMNS,
    export_rows,
    notify_tier_changes,
    upsert_table,
    write_crm_files,
)
from crindex.model.loader import parse_model
from crindex.record import record_run
from crindex.store import open_store
from crindex.store.base import Store
from tests.support.store import WATCH_MODEL, fake_result
from tests.support.store_fixtures import postgres_or_skip

CRINDEX = [sys.executable, "-c", "from crindex.cli import main; main()"]

MODEL_TEXT = WATCH_MODEL.split("tiers:")[0] + """tiers:
  levels:
    - {id: core, label: 核心客户, min: 90, strategy: 专属服务与续约优惠}
    - {id: potential, label: Potential, min: 70, strategy: Cross-sell}
    - {id: ordinary, label: Ordinary, min: 50, strategy: Automated campaigns}
    - {id: at_risk, label: At risk, strategy: Call within a week}
"""

# a: core -> ordinary, b: potential both times, c: at_risk -> core
FIRST = {"a": {"score": 95.0, "owner": "Li", "segment": "retail"},
         "b": {"score": 75.0, "owner": "Li", "segment": "b2b"},
         "c": {"score": 40.0, "owner": "Wu", "segment": "b2b"}}
SECOND = {"a": {"score": 60.0, "owner": "Li", "segment": "retail"},
          "b": {"score": 75.0, "owner": "Li", "segment": "b2b"},
          "c": {"score": 92.5, "owner": "Wu", "segment": "b2b"}}


@pytest.fixture
def history(tmp_path: Path) -> tuple[Store, Path]:
    model_file = tmp_path / "watch.yaml"
    model_file.write_text(MODEL_TEXT, encoding="utf-8")
    store = open_store(tmp_path / "history.duckdb")
    model = parse_model(MODEL_TEXT, str(model_file))
    record_run(store, fake_result(model, "2025-06-02", FIRST), "fp")
    record_run(store, fake_result(model, "2025-06-09", SECOND), "fp")
    return store, model_file


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(database, table): a new DuckDB file, or a table in a fresh PostgreSQL schema."""
    if request.param == "duckdb":
        yield str(tmp_path / "crm.duckdb"), "crindex_scores"
        return
    import psycopg

    url = postgres_or_skip()
    schema = f"crindex_export_{uuid.uuid4().hex[:12]}"
    try:
        yield url, f"{schema}.scores"
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def table_rows(location: str, table: str) -> list[tuple[Any, ...]]:
    sql = f"SELECT {', '.join(COLUMNS)}, updated_at FROM {table} ORDER BY model, customer_id"
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location) as con:
            return [tuple(r) for r in con.execute(sql).fetchall()]
    import duckdb

    with duckdb.connect(location) as con:
        return [tuple(r) for r in con.execute(sql).fetchall()]


def test_export_twice_leaves_the_same_table(history: tuple[Store, Path],
                                            target: tuple[str, str]) -> None:
    store, model_file = history
    model = parse_model(MODEL_TEXT, str(model_file))
    location, table = target
    _, first = export_rows(store, model, "2025-06-02")
    report = upsert_table(location, table, first)
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    _, latest = export_rows(store, model)
    report = upsert_table(location, table, latest)
    # every row moves to the new snapshot (as_of, run_id); two customers changed tier
    assert (report.inserted, report.updated, report.unchanged) == (0, 3, 0)
    assert report.tier_changes == [("a", "core", "ordinary"), ("c", "at_risk", "core")]
    once = table_rows(location, table)
    assert [r[1] for r in once] == ["a", "b", "c"]                 # one row per customer
    assert [(r[3], r[6]) for r in once] == [("ordinary", "Automated campaigns"),
                                            ("potential", "Cross-sell"),
                                            ("core", "专属服务与续约优惠")]
    # the same export again (through the command line): nothing changes, updated_at neither
    done = subprocess.run([*CRINDEX, "export", "--model", str(model_file), "--store",
                           str(store.describe()), "--to", location, "--table", table],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "0 inserted, 0 updated, 3 unchanged" in " ".join(done.stderr.split())
    assert table_rows(location, table) == once


def test_crm_files_open_with_headers_in_the_chosen_language(history: tuple[Store, Path],
                                                            tmp_path: Path) -> None:
    from openpyxl import load_workbook

    store, model_file = history
    _, rows = export_rows(store, parse_model(MODEL_TEXT, str(model_file)))
    write_crm_files(rows, "zh", csv=tmp_path / "zh.csv", excel=tmp_path / "zh.xlsx")
    write_crm_files(rows, "en", excel=tmp_path / "en.xlsx")
    sheet = load_workbook(tmp_path / "zh.xlsx").active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["客户编号", "关系指数得分", "客户等级", "等级名称", "客户细分",
                         "维护策略", "负责人", "评分日期"]
    assert values[3] == ["c", 92.5, "core", "核心客户", "b2b", "专属服务与续约优惠", "Wu",
                         "2025-06-09"]
    english = [list(r) for r in load_workbook(tmp_path / "en.xlsx").active
               .iter_rows(values_only=True)]
    assert english[0] == ["Customer ID", "Relationship score", "Tier", "Tier name",
                          "Segment", "Strategy", "Owner", "Scored on"]
    raw = (tmp_path / "zh.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert lines[0][0] == "客户编号" and [r[0] for r in lines[1:]] == ["a", "b", "c"]


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_webhook_per_customer_whose_tier_changed(history: tuple[Store, Path],
                                                   tmp_path: Path) -> None:
    store, model_file = history
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        args = [*CRINDEX, "export", "--model", str(model_file), "--store", store.describe(),
                "--to", str(tmp_path / "crm.duckdb"), "--webhook", url]
        env = {**os.environ, "CRINDEX_WEBHOOK_SECRET": "s3cret"}
        # the first export fills the table: no row held a tier before, so nothing changed
        first = subprocess.run([*args, "--run", "2025-06-02"], capture_output=True, text=True,
                               timeout=120, env=env)
        assert first.returncode == 0, first.stderr
        assert Receiver.received == []
        second = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        assert second.returncode == 0, second.stderr
        got = {json.loads(b)["customer"]["customer_id"]: (h, json.loads(b))
               for h, b in Receiver.received}
        assert sorted(got) == ["a", "c"]
        assert got["c"][1]["customer"]["tier_from"] == "at_risk"
        assert got["c"][1]["customer"]["tier"] == "core"
        for headers, body in Receiver.received:
            assert verify("s3cret", body, headers["X-Signature"])
            assert headers["X-Crindex-Customer"] in ("a", "c")
        # once the table holds the new tiers, a re-run notifies no one
        third = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        assert third.returncode == 0 and len(Receiver.received) == 2
        # without a table: changes against the previous snapshot; no secret is refused
        _, rows = export_rows(store, parse_model(MODEL_TEXT, str(model_file)))
        with pytest.raises(Exception, match="secret"):
            notify_tier_changes(url, "", rows, [("a", "core", "ordinary")])
    finally:
        server.shutdown()


def test_export_without_a_destination_is_a_clear_error(history: tuple[Store, Path]) -> None:
    store, model_file = history
    done = subprocess.run([*CRINDEX, "export", "--model", str(model_file), "--store",
                           store.describe()], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "nothing to export to" in " ".join(done.stderr.split())
