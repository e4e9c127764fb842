"""Live rescoring: events applied one batch at a time give what a batch run over the same rows
gives, on DuckDB and PostgreSQL stores; bad events are refused whole, with where and why."""

from __future__ import annotations

import atexit
import datetime as dt
import itertools
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crindex.api import ScoreResult, score
from crindex.errors import DataError, ModelError, Reason
from crindex.examples import example_path
from crindex.live.events import parse_events
from crindex.live.scorer import LiveScorer
from crindex.model.loader import load_model
from crindex.model.spec import CRIModel
from crindex.record import record_run
from crindex.store import open_store
from crindex.store.base import Store
from tests.support.store_fixtures import drop_postgres_schema

AS_OF = dt.date(2025, 6, 30)
PREVIOUS = dt.date(2025, 3, 31)

ALERTS = """
as_of: 2025-06-30
alerts:
  - {id: low, rule: score_below, threshold: 45, severity: high}
  - {id: down, rule: tier_downgrade, severity: medium}
"""


@dataclass
class World:
    folder: Path
    data: Path
    model: CRIModel
    previous: ScoreResult
    ids: list[str]          # customers active at AS_OF
    base: dict[str, pd.DataFrame]


_WORLD: World | None = None


def world() -> World:
    """150 synthetic e-commerce customers (18 months to 2025-06-30), built once."""
    global _WORLD
    if _WORLD is None:
        from crindex.synth import generate

        folder = Path(tempfile.mkdtemp(prefix="crindex-live-"))
        atexit.register(shutil.rmtree, folder, True)   # shared with test_live_service
        data = folder / "data"
        generate("ecommerce", customers=150, start="2024-01-01", months=18, seed=11, out=data,
                 progress=False)
        text = example_path("ecommerce").read_text(encoding="utf-8") + ALERTS
        (folder / "model.yaml").write_text(text, encoding="utf-8")
        model = load_model(folder / "model.yaml")
        previous = score(model, str(data), PREVIOUS)
        ids = score(model, str(data), AS_OF).table.column("customer_id").to_pylist()
        base = {p.stem: pd.read_parquet(p) for p in data.glob("*.parquet")}
        _WORLD = World(folder, data, model, previous, ids, base)
    return _WORLD


def sibling(url: str, n: int) -> str:
    """Another fresh store beside ``url`` (a file next to it, or another schema)."""
    if url.startswith("postgresql://"):
        return url.split("?")[0] + f"?schema=crindex_batch_{uuid.uuid4().hex[:12]}"
    return str(Path(url).with_name(f"batch-{n}.duckdb"))


def batch_over(w: World, events: list[dict[str, Any]]) -> ScoreResult:
    """The batch run at AS_OF over the data plus the events' rows (as a data export would be)."""
    frames = {name: frame.copy() for name, frame in w.base.items()}
    for e in parse_events(events):
        frame = frames[e.table]
        row = {c: e.row.get(c) for c in frame.columns}
        frames[e.table] = pd.concat([frame, pd.DataFrame([row]).astype(frame.dtypes)],
                                    ignore_index=True)
    return score(w.model, frames, AS_OF)


def compare_runs(live: Store, batch: Store, model_name: str) -> None:
    """Scores, tiers, metric rows and alerts of the AS_OF runs are the same."""
    a = live.run(AS_OF.isoformat(), model_name)
    b = batch.run(AS_OF.isoformat(), model_name)
    sa, sb = live.scores(a.run_id), batch.scores(b.run_id)
    assert sa.customer_id.tolist() == sb.customer_id.tolist()
    assert sa.tier.tolist() == sb.tier.tolist()
    for col in ("score", "coverage"):
        diff = (sa[col].astype(float) - sb[col].astype(float)).abs().fillna(0)
        assert diff.max() <= 1e-9, col
        assert sa[col].isna().tolist() == sb[col].isna().tolist()
    keys = ["customer_id", "kind", "item"]
    ma = live.metric_scores([a.run_id]).sort_values(keys, ignore_index=True)
    mb = batch.metric_scores([b.run_id]).sort_values(keys, ignore_index=True)
    assert ma[keys].values.tolist() == mb[keys].values.tolist()
    for col in ("raw_num", "score", "weight", "contribution"):
        diff = (ma[col].astype(float) - mb[col].astype(float)).abs().fillna(0)
        assert diff.max() <= 1e-9, col
    cols = ["alert_id", "rule_id", "customer_id", "status", "message", "as_of",
            "cleared_as_of"]

    def alerts(store: Store) -> list[tuple[Any, ...]]:
        frame = store.alerts(model_name=model_name)[cols].astype(str)
        return sorted(map(tuple, frame.values.tolist()))

    assert alerts(live) == alerts(batch)


def events_of(batch: list[tuple[Any, ...]], ids: list[str], start: int) -> list[dict[str, Any]]:
    """The JSON events of drawn tuples (kind, customer, days before as_of, value, flag)."""
    out: list[dict[str, Any]] = []
    for n, (kind, who, days_back, value, flag) in enumerate(batch, start):
        when = (dt.datetime(2025, 6, 30, 12) - dt.timedelta(days=days_back)).isoformat()
        e: dict[str, Any] = {"event": kind, "customer_id": ids[who]}
        if kind == "order":
            status = ("paid", "paid", "refunded", "cancelled")[flag % 4]
            e |= {"order_id": f"LIVE-{n}", "ordered_at": when, "status": status,
                  "amount": -value if status == "refunded" else value}
        elif kind == "interaction" and flag % 3 == 0:
            e |= {"interaction_id": f"LIVE-{n}", "occurred_at": when, "channel": "support",
                  "kind": "ticket_resolved", "satisfaction": 1 + flag % 5}
        elif kind == "interaction":
            e |= {"interaction_id": f"LIVE-{n}", "occurred_at": when, "channel": "email",
                  "kind": ("email_sent", "email_opened")[flag % 2]}
        else:
            e |= {"answered_at": when, "kind": "nps", "score": flag % 11}
        out.append(e)
    return out


one = st.tuples(st.sampled_from(["order", "interaction", "survey"]),
                st.integers(0, 11),              # which customer
                st.integers(-5, 420),            # days before as_of (negative: after it)
                st.floats(1, 4000).map(lambda v: round(v, 2)),
                st.integers(0, 100))
stream = st.lists(st.lists(one, min_size=1, max_size=4), min_size=1, max_size=3)


def test_live_rescoring_equals_a_batch_run(store_url: str, tmp_path: Path) -> None:
    w = world()
    store = open_store(store_url)
    record_run(store, w.previous, "fp")
    scorer = LiveScorer(w.model, str(w.data), store, as_of=AS_OF)
    scorer.start()
    sent: list[dict[str, Any]] = []
    count = itertools.count()

    @settings(max_examples=3, deadline=None, database=None)
    @given(stream)
    def check(batches: list[list[tuple[Any, ...]]]) -> None:
        for batch in batches:
            events = events_of(batch, w.ids, len(sent))
            result = scorer.submit_json(events, "test")
            assert result.customers == sorted({e["customer_id"] for e in events})
            sent.extend(events)
        assert len(store.events()) == len(sent)
        other_url = sibling(store_url, next(count))
        other = open_store(other_url)
        try:
            record_run(other, w.previous, "fp")
            record_run(other, batch_over(w, sent), "fp")
            compare_runs(store, other, w.model.name)
        finally:
            if other_url.startswith("postgresql://"):
                drop_postgres_schema(other_url)

    check()


PERCENTILE_MODEL = """
name: live_ranks
as_of: 2025-06-30
dimensions:
  - id: value
    metrics:
      - {id: spend, aggregate: sum, table: orders, column: amount, window: 365d, weight: 60,
         normalise: {method: percentile}}
      - {id: recency, aggregate: recency_days, table: orders, weight: 40,
         normalise: {method: range, min: 0, max: 360, direction: lower}, missing: zero}
tiers:
  by: rank
  levels:
    - {id: core, top: 20}
    - {id: middle}
    - {id: at_risk, bottom: 30}
"""


def test_a_rescored_percentile_and_rank_tier_stand_among_the_last_full_run(
        tmp_path: Path) -> None:
    # one customer's new order: its percentile and rank tier are taken among the other
    # customers' values of the full run, so while no one else changed they equal a batch run's
    w = world()
    (tmp_path / "m.yaml").write_text(PERCENTILE_MODEL, encoding="utf-8")
    model = load_model(tmp_path / "m.yaml")
    store = open_store(tmp_path / "h.duckdb")
    scorer = LiveScorer(model, str(w.data), store, as_of=AS_OF)
    full = scorer.start()
    before = store.scores(full.run_id).set_index("customer_id")
    spend = store.metric_scores([full.run_id], items=["spend"]).set_index("customer_id")
    spend = spend["raw_num"].dropna().sort_values()
    # the lowest spender moves to just above the median: below them, about half the others
    who, median = str(spend.index[0]), float(spend.iloc[len(spend) // 2])
    amount = round(median - float(spend.iloc[0]) + 0.5, 2)
    sent = [{"event": "order", "customer_id": who, "order_id": "MID-1",
             "ordered_at": "2025-06-29", "amount": amount}]
    scorer.submit_json(sent, "test")
    w_model = World(w.folder, w.data, model, w.previous, w.ids, w.base)
    batch = batch_over(w_model, sent).table.to_pandas().set_index("customer_id")
    live = store.scores(full.run_id).set_index("customer_id")
    assert abs(live.at[who, "score"] - batch.at[who, "score"]) <= 1e-9
    assert live.at[who, "tier"] == batch.at[who, "tier"]
    assert before.at[who, "tier"] != live.at[who, "tier"]   # the rescore moved it
    # percent_rank: customers with a value strictly below / (customers with a value - 1)
    others = batch["spend__raw"].drop(who).dropna()
    expected = (others < batch.at[who, "spend__raw"]).sum() / len(others) * 100
    live_metric = store.metric_scores([full.run_id], who, ["spend"])
    assert abs(float(live_metric["score"].iloc[0]) - expected) <= 1e-6   # rounded to 6 places
    assert 30 < expected < 70
    # the others keep the full run's rows until the next full run
    others_ids = [c for c in w.ids if c != who]
    assert live.loc[others_ids, "score"].tolist() == before.loc[others_ids, "score"].tolist()


def test_bad_events_are_refused_whole_with_where_and_why() -> None:
    bad = [
        {"event": "order", "customer_id": "C1", "ordered_at": "2025-06-01"},       # no amount
        {"event": "order", "customer_id": "C1", "ordered_at": "30/06/2025", "amount": 5},
        {"event": "order", "customer_id": "C1", "ordered_at": "2025-06-01", "amount": 5,
         "status": "lost"},
        {"event": "survey", "customer_id": "C1", "answered_at": "2025-06-01", "kind": "nps",
         "score": 11},
        {"event": "refund", "customer_id": "C1"},
        {"event": "order", "customer_id": "C1", "ordered_at": "2025-06-01", "amount": -5},
        {"event": "order", "customer_id": "C1", "ordered_at": "2025-06-01", "amount": 5,
         "status": "Paid", "note": "an export's own column"},                     # fine
    ]
    with pytest.raises(DataError) as caught:
        parse_events(bad)
    wheres = [p.where for p in caught.value.problems]
    assert wheres == ["events[0].amount", "events[1].ordered_at", "events[2].status",
                      "events[3].score", "events[4].event", "events[5].amount"]
    assert caught.value.reason == Reason.BAD_PARAMETER
    [ok] = parse_events(bad[-1:])
    assert ok.row["status"] == "paid" and "note" not in ok.row


def test_an_unknown_customer_refuses_the_batch_and_keeps_nothing(tmp_path: Path) -> None:
    w = world()
    store = open_store(tmp_path / "h.duckdb")
    scorer = LiveScorer(w.model, str(w.data), store, as_of=AS_OF)
    scorer.start()
    sent = [{"event": "order", "customer_id": w.ids[0], "ordered_at": "2025-06-29",
             "amount": 10.0},
            {"event": "order", "customer_id": "NOBODY", "ordered_at": "2025-06-29",
             "amount": 10.0}]
    with pytest.raises(DataError) as caught:
        scorer.submit_json(sent, "test")
    assert [p.where for p in caught.value.problems] == ["events[1].customer_id"]
    assert len(store.events()) == 0


def test_a_model_that_learns_from_everyone_is_not_rescored_live(tmp_path: Path) -> None:
    text = PERCENTILE_MODEL.replace(
        "{id: recency, aggregate: recency_days, table: orders, weight: 40,\n"
        "         normalise: {method: range, min: 0, max: 360, direction: lower}, "
        "missing: zero}",
        "{id: clv, aggregate: clv, weight: 40, normalise: {method: percentile}}")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        LiveScorer(load_model(tmp_path / "m.yaml"), "unused", open_store(tmp_path / "h.duckdb"))
    assert "clv" in str(caught.value)


def test_watch_takes_in_event_files_once_each(tmp_path: Path) -> None:
    from crindex.live.watch import watch

    w = world()
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "orders-0630.csv").write_text(
        "customer_id,order_id,ordered_at,amount\n"
        f"{w.ids[0]},W-1,2025-06-28,310.5\n{w.ids[1]},W-2,2025-06-29 08:00,12\n",
        encoding="utf-8-sig")
    (folder / "mixed.jsonl").write_text("\n".join(json.dumps(e) for e in [
        {"event": "survey", "customer_id": w.ids[2], "answered_at": "2025-06-20",
         "kind": "nps", "score": 2},
        {"event": "interaction", "customer_id": w.ids[0], "occurred_at": "2025-06-21",
         "channel": "email", "kind": "email_opened", "interaction_id": "W-3"}]),
        encoding="utf-8")
    (folder / "bad.jsonl").write_text(
        json.dumps({"event": "order", "customer_id": w.ids[0], "ordered_at": "2025-06-20",
                    "amount": 5}) + "\n"
        + json.dumps({"event": "order", "customer_id": w.ids[0], "ordered_at": "2025-06-20"}),
        encoding="utf-8")
    (folder / ".partial.jsonl").write_text("{", encoding="utf-8")    # still being written
    store = open_store(tmp_path / "h.duckdb")
    scorer = LiveScorer(w.model, str(w.data), store, as_of=AS_OF)
    scorer.start()
    results = {r.path.name: r for r in watch(scorer, folder, once=True)}
    assert sorted(results) == ["bad.jsonl", "mixed.jsonl", "orders-0630.csv"]
    assert (results["orders-0630.csv"].events, results["mixed.jsonl"].events) == (2, 2)
    assert sorted(p.name for p in (folder / "done").iterdir()) == ["mixed.jsonl",
                                                                    "orders-0630.csv"]
    errors = (folder / "failed" / "bad.jsonl.errors.txt").read_text(encoding="utf-8")
    assert "bad.jsonl:2 amount" in errors
    assert (folder / ".partial.jsonl").exists()
    kept = [json.loads(t) for t in store.events()["row_json"]]
    assert len(kept) == 4
    # a file kept before a crash but not yet moved is not taken twice
    (folder / "done" / "mixed.jsonl").replace(folder / "mixed.jsonl")
    [again] = watch(scorer, folder, once=True)
    assert again.skipped and len(store.events()) == 4
    # the live rows equal a batch run over the same rows
    batch = batch_over(w, kept).table.to_pandas().set_index("customer_id")
    live = store.scores(store.run(AS_OF.isoformat(), w.model.name).run_id) \
        .set_index("customer_id")
    for who in w.ids[:3]:
        assert abs(live.at[who, "score"] - batch.at[who, "score"]) <= 1e-9
        assert live.at[who, "tier"] == batch.at[who, "tier"]


def test_watch_and_serve_refuse_what_they_cannot_do(tmp_path: Path) -> None:
    import subprocess
    import sys

    cli = [sys.executable, "-c", "from crindex.cli import main; main()"]
    model = str(example_path("ecommerce"))
    nowhere = subprocess.run([*cli, "watch", str(tmp_path / "nope"), "--model", model,
                              "--data", str(tmp_path)], capture_output=True, text=True,
                             timeout=120)
    assert nowhere.returncode != 0 and "Traceback" not in nowhere.stderr
    assert "is not a folder" in " ".join(nowhere.stderr.split())
    store = tmp_path / "h.duckdb"
    open_store(store)
    no_data = subprocess.run([*cli, "serve", "--live", "--model", model, "--store", str(store)],
                             capture_output=True, text=True, timeout=120)
    assert no_data.returncode != 0 and "Traceback" not in no_data.stderr
    assert "--live needs --data" in " ".join(no_data.stderr.split())
