"""Live rescoring: events applied one batch at a time give what a batch run over the same rows
gives, on DuckDB and PostgreSQL stores; bad events are refused whole, with where and why."""

from __future__ import annotations

import datetime as dt
import itertools
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


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Any:
    yield
    if _WORLD is not None:
        shutil.rmtree(_WORLD.folder, ignore_errors=True)


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
