"""A compact in-memory index of a model's latest snapshot, served without a query per request.

One million customers as Python dicts cost ~4 GB per worker, and a DuckDB query per request
caps a worker near 900 req/s (../shared/ENGINEERING_FACTS.md, "Serving"). So the snapshot is
held as numpy columns: customer ids as a sorted byte-string array (a lookup is a binary
search), scores and coverage as float arrays, tiers, owners and segments as small integer
codes, and per metric the raw value, score, weight, contribution and missing flag as
``customers x metrics`` matrices. A customer's document is assembled from one row of each on
request and encoded with orjson (tens of microseconds).

What changes while the server runs (adjustments, alert statuses, tokens, a new snapshot) is
reloaded when the store's *stamp* changes; see :meth:`ServiceCache.refresh`. Big reloads
build a new :class:`SnapshotIndex` beside the one in use and swap it in one assignment, so a
request always sees one consistent snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from crindex.store.adjust import Adjustment, apply, in_force
from crindex.store.base import ALERT_COLUMNS

if TYPE_CHECKING:
    from crindex.model.spec import CRIModel
    from crindex.store import RunInfo, Store

#: alert statuses that still need someone (shown with a customer)
OPEN_STATUSES = ("open", "acknowledged")


def read_arrow(store: Store, sql: str, params: Sequence[Any] = ()) -> pa.Table:
    """Run a read query on the store and return an Arrow table.

    DuckDB hands Arrow over without building Python rows (a million rows in well under a
    second); other stores go through their rows.
    """
    with store.reading() as tx:
        con = getattr(tx, "con", None)
        if getattr(store, "dialect", "") == "duckdb" and con is not None:
            return con.sql(sql, params=list(params)).to_arrow_table()
        tx.execute(sql, params)
        names = tx.columns()
        rows = tx.rows()
    return pa.table({n: pa.array([r[i] for r in rows]) for i, n in enumerate(names)})


def encode_ids(ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Customer ids as a fixed-width UTF-8 byte array (sortable, searchable, compact)."""
    if len(ids) == 0:
        return np.array([], dtype="S1")
    return np.array(ids.cast(pa.binary()).to_numpy(zero_copy_only=False), dtype=bytes)


class _Rows:
    """Where the rows of a read land in an index being built (sorted by customer id).

    Reads of one snapshot's tables usually return the customers in the order of its
    ``scores`` read; when a column of ids equals that one exactly (checked, vectorised), the
    rows are the known permutation, with no id encoded or searched. Otherwise each id is
    looked up (:meth:`SnapshotIndex.align`).
    """

    def __init__(self, index: SnapshotIndex, first: pa.ChunkedArray, order: np.ndarray) -> \
            None:
        self.index = index
        self.first = first
        self.where = np.empty_like(order)
        self.where[order] = np.arange(order.shape[0])

    def of(self, ids: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        if len(ids) == len(self.first) and ids.null_count == 0 and \
                pc.all(pc.equal(ids, self.first)).as_py():
            return self.where, np.ones(len(ids), bool)
        return self.index.align(encode_ids(ids))


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes (int32, -1 for null) and the categories of a text column."""
    enc = pc.dictionary_encode(column.cast(pa.string()))
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks else pa.array([], pa.string()) \
            .dictionary_encode()
    cats = [str(c) for c in enc.dictionary.to_pylist()]
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, cats


def _floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return column.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _jsonable(value: Any) -> Any:
    """Dates as ISO text and NaN as null, through nested dicts and lists."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return _clean(_iso(value))


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


@dataclass
class SnapshotIndex:
    """One snapshot of a model in numpy columns, sorted by customer id (UTF-8 bytes)."""

    run: RunInfo
    runs: list[RunInfo]
    ids: np.ndarray
    score: np.ndarray
    tier: np.ndarray  # int8 codes into ``tiers``, -1 none
    coverage: np.ndarray
    owner: np.ndarray  # int32 codes into ``owners``
    owners: list[str]
    segment: np.ndarray
    segments: list[str]
    #: int32 codes into ``submodels``: the sub-model that scored each row (-1: none)
    submodel: np.ndarray
    submodels: list[str]
    tiers: list[str]
    dimensions: list[dict[str, Any]]
    dim_score: np.ndarray  # customers x dimensions
    metrics: list[dict[str, Any]]
    raw: np.ndarray  # customers x metrics
    raw_text: dict[int, tuple[np.ndarray, list[str]]]
    metric_score: np.ndarray
    weight: np.ndarray
    contribution: np.ndarray
    missing: np.ndarray
    prev_contribution: np.ndarray | None
    history: list[tuple[RunInfo, np.ndarray, np.ndarray]]  # (run, score, tier codes)
    personal: list[str | None] | None
    trend: list[dict[str, Any]] = field(default_factory=list)
    #: the previous snapshot's metric rows (for why a score changed), when there is one
    previous: PreviousMetrics | None = None
    #: RFM segment codes into ``rfm_segments`` (-1 none; see crindex.model.segments)
    rfm_segment: np.ndarray | None = None
    rfm_segments: list[str] = field(default_factory=list)
    #: raised flags per row (ids, comma-separated; ``None`` for none, or a store without)
    flags: list[str | None] | None = None
    _ids_lower: np.ndarray | None = None
    _sorted_raw: dict[int, list[float]] = field(default_factory=dict)
    #: paths to the next tier found so far, by row (a path depends on the snapshot only)
    paths: dict[int, dict[str, Any]] = field(default_factory=dict)

    def sorted_raw(self, j: int) -> list[float]:
        """Every customer's raw value of metric ``j``, sorted (made on first use)."""
        if j not in self._sorted_raw:
            column = self.raw[:, j]
            self._sorted_raw[j] = np.sort(column[~np.isnan(column)]).tolist()
        return self._sorted_raw[j]
    _names: list[str | None] | None = None

    @property
    def ids_lower(self) -> np.ndarray:
        """The ids in lower case (for case-insensitive search), made on first use."""
        if self._ids_lower is None:
            self._ids_lower = np.char.lower(self.ids)
        return self._ids_lower

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])

    def names(self) -> list[str | None] | None:
        """Each customer's ``name`` where the model keeps it (``keep_personal``), else None.

        Read from the snapshot's ``personal`` JSON on first use; the store holds personal
        columns only when the model lists them, so nothing else can be shown.
        """
        if self.personal is None:
            return None
        if self._names is None:
            out: list[str | None] = []
            for text in self.personal:
                try:
                    value = json.loads(text).get("name") if text else None
                except (TypeError, ValueError, AttributeError):
                    value = None
                out.append(None if value is None else str(value))
            self._names = out if any(v is not None for v in out) else []
        return self._names or None

    def find(self, customer_id: str) -> int | None:
        """Row of a customer id, or None."""
        key = customer_id.encode("utf-8")
        if self.size == 0 or len(key) > self.ids.dtype.itemsize:
            return None
        i = int(np.searchsorted(self.ids, key))
        if i < self.size and self.ids[i] == key:
            return i
        return None

    def id_at(self, row: int) -> str:
        return bytes(self.ids[row]).decode("utf-8")

    def submodel_at(self, row: int) -> str | None:
        """The sub-model that scored ``row`` (``None`` for a model without sub-models)."""
        code = int(self.submodel[row])
        return self.submodels[code] if code >= 0 else None

    def tier_at(self, codes: np.ndarray, row: int) -> str | None:
        code = int(codes[row])
        return self.tiers[code] if code >= 0 else None

    def flags_at(self, row: int) -> list[str]:
        """The flags raised for a row (shown beside the score; never part of it)."""
        text = self.flags[row] if self.flags is not None else None
        return text.split(",") if text else []

    def rfm_segment_at(self, row: int) -> str | None:
        """The RFM segment of a row (``None`` without one, or in a store without segments)."""
        if self.rfm_segment is None:
            return None
        code = int(self.rfm_segment[row])
        return self.rfm_segments[code] if code >= 0 else None

    def align(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``ids`` in this index (positions, and which ids were found)."""
        if self.size == 0 or ids.size == 0:
            return np.zeros(ids.shape[0], np.int64), np.zeros(ids.shape[0], bool)
        pos = np.searchsorted(self.ids, ids.astype(self.ids.dtype)).clip(0, self.size - 1)
        found = self.ids[pos] == ids
        return pos, found


@dataclass
class PreviousMetrics:
    """The metric rows of the snapshot before the latest, aligned to the latest's customers.

    Columns follow ``metrics`` (the previous run's own metric list: a model change may have
    added or removed some); NaN where the customer or the value is absent.
    """

    run: RunInfo
    metrics: list[str]
    raw: np.ndarray
    raw_text: dict[int, tuple[np.ndarray, list[str]]]
    score: np.ndarray
    weight: np.ndarray
    contribution: np.ndarray


def load_snapshot(store: Store, model_name: str, model: CRIModel | None = None) -> \
        SnapshotIndex | None:
    """Build the index of ``model_name``'s latest snapshot (None when there is none yet).

    Every query runs inside one read of the store (:meth:`Store.reading`), so the index is
    one committed state: a run that replaces the same ``as_of`` meanwhile is either wholly in
    it or not at all. ``model`` (the served model file) adds each metric's data source and
    the tiers' strategies; labels come from the snapshot itself so an older model's snapshot
    still reads.
    """
    with store.reading():
        return _load_snapshot(store, model_name, model)


def _load_snapshot(store: Store, model_name: str, model: CRIModel | None) -> \
        SnapshotIndex | None:
    from crindex.api import describe_source
    from crindex.store.history import trend

    runs = store.runs(model_name)
    if not runs:
        return None
    run = runs[-1]
    info = run.model_info
    tiers = list(run.tier_order)
    for r in runs:
        tiers += [t for t in r.tier_order if t not in tiers]
    tier_pos = {t: i for i, t in enumerate(tiers)}
    scores = read_arrow(store, "SELECT customer_id, score, tier, coverage, owner, segment, "
                        "personal, rfm_segment, flags, submodel FROM scores WHERE run_id = ?",
                        (run.run_id,))
    first_ids = scores.column("customer_id")
    ids = encode_ids(first_ids)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    scores = scores.take(pa.array(order))
    n = ids.shape[0]

    def tier_codes(col: pa.ChunkedArray) -> np.ndarray:
        codes, cats = _codes(col)
        remap = np.array([tier_pos.get(c, -1) for c in cats] + [-1], np.int8)
        return remap[codes]  # -1 indexes the appended -1

    owner, owners = _codes(scores.column("owner"))
    segment, segments = _codes(scores.column("segment"))
    rfm_segment, rfm_segments = _codes(scores.column("rfm_segment"))
    submodel, submodels = _codes(scores.column("submodel"))
    personal_col = scores.column("personal")
    personal = personal_col.to_pylist() if personal_col.null_count < n else None
    flags_col = scores.column("flags")
    flags = flags_col.to_pylist() if flags_col.null_count < n else None

    sources: dict[str, str] = {}
    if model is not None:
        sources = {m.id: describe_source(m) for _, m in model.metrics}
    metrics = [dict(m, source=sources.get(m["id"], "")) for m in info.get("metrics", [])]
    dimensions = list(info.get("dimensions", []))
    shape = (n, len(metrics))
    raw = np.full(shape, math.nan)
    metric_score = np.full(shape, math.nan)
    weight = np.full(shape, math.nan)
    contribution = np.full(shape, math.nan)
    missing = np.zeros(shape, bool)
    dim_score = np.full((n, len(dimensions)), math.nan)
    raw_text: dict[int, tuple[np.ndarray, list[str]]] = {}
    index = SnapshotIndex(
        run=run, runs=runs, ids=ids, score=_floats(scores.column("score")),
        tier=tier_codes(scores.column("tier")), coverage=_floats(scores.column("coverage")),
        owner=owner, owners=owners, segment=segment, segments=segments,
        submodel=submodel, submodels=submodels, tiers=tiers,
        dimensions=dimensions, dim_score=dim_score, metrics=metrics, raw=raw,
        raw_text=raw_text, metric_score=metric_score, weight=weight,
        contribution=contribution, missing=missing, prev_contribution=None, history=[],
        personal=personal, rfm_segment=rfm_segment, rfm_segments=rfm_segments, flags=flags)
    del scores
    at = _Rows(index, first_ids, order)

    # one read per dimension and per metric: the long table (customers x items rows) is
    # never held whole, and each read comes back in the order of the scores read
    for j, d in enumerate(dimensions):
        long = read_arrow(store, "SELECT customer_id, score FROM metric_scores WHERE "
                          "run_id = ? AND kind = 'dimension' AND item = ?", (run.run_id, d["id"]))
        rows, sel = at.of(long.column("customer_id"))
        dim_score[rows[sel], j] = _floats(long.column("score"))[sel]
    for j, m in enumerate(metrics):
        long = read_arrow(store, "SELECT customer_id, raw_num, raw_text, score, weight, "
                          "contribution, missing FROM metric_scores WHERE run_id = ? AND "
                          "kind = 'metric' AND item = ?", (run.run_id, m["id"]))
        rows, sel = at.of(long.column("customer_id"))
        r = rows[sel]
        raw[r, j] = _floats(long.column("raw_num"))[sel]
        metric_score[r, j] = _floats(long.column("score"))[sel]
        weight[r, j] = _floats(long.column("weight"))[sel]
        contribution[r, j] = _floats(long.column("contribution"))[sel]
        missing[r, j] = long.column("missing").fill_null(False) \
            .to_numpy(zero_copy_only=False)[sel]
        text = long.column("raw_text")
        if text.null_count < len(text):
            codes, cats = _codes(text)
            keep = sel & (codes >= 0)
            col = np.full(n, -1, np.int32)
            col[rows[keep]] = codes[keep]
            raw_text[j] = (col, cats)
    del long

    for past in runs:
        if past.run_id == run.run_id:
            index.history.append((past, index.score, index.tier))
            continue
        part = read_arrow(store, "SELECT customer_id, score, tier FROM scores WHERE run_id = ?",
                          (past.run_id,))
        pos, hit = at.of(part.column("customer_id"))
        sc = np.full(n, math.nan)
        tc = np.full(n, -1, np.int8)
        sc[pos[hit]] = _floats(part.column("score"))[hit]
        tc[pos[hit]] = tier_codes(part.column("tier"))[hit]
        index.history.append((past, sc, tc))
    if len(runs) > 1:
        prev = runs[-2]
        prev_c = np.full(shape, math.nan)
        prev_ids = [str(m["id"]) for m in prev.model_info.get("metrics", [])]
        pshape = (n, len(prev_ids))
        previous = PreviousMetrics(prev, prev_ids, np.full(pshape, math.nan), {},
                                   np.full(pshape, math.nan), np.full(pshape, math.nan),
                                   np.full(pshape, math.nan))
        for k, item in enumerate(prev_ids):
            long = read_arrow(store, "SELECT customer_id, raw_num, raw_text, score, weight, "
                              "contribution FROM metric_scores WHERE run_id = ? AND "
                              "kind = 'metric' AND item = ?", (prev.run_id, item))
            pos, hit = at.of(long.column("customer_id"))
            r = pos[hit]
            previous.raw[r, k] = _floats(long.column("raw_num"))[hit]
            previous.score[r, k] = _floats(long.column("score"))[hit]
            previous.weight[r, k] = _floats(long.column("weight"))[hit]
            previous.contribution[r, k] = _floats(long.column("contribution"))[hit]
            text = long.column("raw_text")
            if text.null_count < len(text):
                codes, cats = _codes(text)
                keep = hit & (codes >= 0)
                col = np.full(n, -1, np.int32)
                col[pos[keep]] = codes[keep]
                previous.raw_text[k] = (col, cats)
        for j, m in enumerate(metrics):  # the previous contributions of today's metrics
            if m["id"] in prev_ids:
                prev_c[:, j] = previous.contribution[:, prev_ids.index(m["id"])]
        index.prev_contribution = prev_c
        index.previous = previous
    frame = trend(store, model_name)
    index.trend = [{k: _clean(_iso(v.item() if hasattr(v, "item") else v))
                    for k, v in rec.items()} for rec in frame.to_dict("records")]
    return index


@dataclass
class Adjusted:
    """The adjusted score and tier of every customer of a snapshot, and the sort orders."""

    score: np.ndarray
    tier: np.ndarray
    by_customer: dict[str, list[Adjustment]]
    order_up: np.ndarray  # rows by adjusted score ascending, unscored last
    order_down: np.ndarray  # rows by adjusted score descending, unscored last
    customers_adjusted: int  # customers with an adjustment in force


def adjust_snapshot(snap: SnapshotIndex, log: list[Adjustment]) -> Adjusted:
    """Apply the adjustments in force at the snapshot's ``as_of`` to its scores and tiers."""
    score, tier = snap.score.copy(), snap.tier.copy()
    by_customer: dict[str, list[Adjustment]] = {}
    for a in log:
        by_customer.setdefault(a.customer_id, []).append(a)
    tier_pos = {t: i for i, t in enumerate(snap.tiers)}
    tiers_info = snap.run.model_info.get("tiers", {})
    adjusted = 0
    for cid, entries in by_customer.items():
        row = snap.find(cid)
        if row is None:
            continue
        force = in_force(entries, cid, snap.run.model_name, snap.run.as_of)
        if not force:
            continue
        adjusted += 1
        res = apply(_clean(float(snap.score[row])), snap.tier_at(snap.tier, row), force,
                    tiers_info)
        score[row] = math.nan if res.adjusted_score is None else res.adjusted_score
        tier[row] = tier_pos.get(res.adjusted_tier, -1) if res.adjusted_tier else -1
    key = np.where(np.isnan(score), math.inf, score)
    order_up = np.argsort(key, kind="stable")
    key_down = np.where(np.isnan(score), math.inf, -score)
    order_down = np.argsort(key_down, kind="stable")
    return Adjusted(score, tier, by_customer, order_up, order_down, adjusted)


#: sorts of the customer list: score, id, and the change since the snapshot before
CUSTOMER_SORTS = ("-score", "score", "change", "-change", "customer_id", "-customer_id")


@dataclass
class View:
    """The customers as of one snapshot of the history: the latest (adjusted) or an earlier one.

    An earlier snapshot is read from the history the index holds for the latest snapshot's
    customers (computed scores and tiers, no adjustments). ``change`` is the computed score
    minus the one of the snapshot before (NaN when either is missing).
    """

    run: RunInfo
    previous: RunInfo | None
    latest: bool
    score: np.ndarray
    tier: np.ndarray
    present: np.ndarray
    change: np.ndarray
    prev_tier: np.ndarray | None
    _orders: dict[str, np.ndarray] = field(default_factory=dict)

    def order(self, sort: str) -> np.ndarray:
        """Rows in the order of ``sort`` (one of :data:`CUSTOMER_SORTS`), missing values last.

        Made once per view and sort (an argsort of a million rows is worth keeping).
        """
        found = self._orders.get(sort)
        if found is not None:
            return found
        size = self.score.shape[0]
        if sort in ("customer_id", "-customer_id"):
            rows = np.arange(size)
            found = rows[::-1] if sort == "-customer_id" else rows
        else:
            values = self.score if sort.endswith("score") else self.change
            key = -values if sort.startswith("-") else values
            found = np.argsort(np.where(np.isnan(key), math.inf, key), kind="stable")
        self._orders[sort] = found
        return found


def make_view(snap: SnapshotIndex, adj: Adjusted, as_of: str | None = None) -> View | None:
    """The view of the snapshot dated ``as_of`` (ISO date; the latest when None or unknown)."""
    k = len(snap.history) - 1
    if as_of:
        for i, (run, _, _) in enumerate(snap.history):
            if run.as_of.isoformat() == as_of:
                k = i
    if k < 0:
        return None
    run, score, tier = snap.history[k]
    latest = k == len(snap.history) - 1
    prev_run, prev_score, prev_tier = snap.history[k - 1] if k > 0 else (None, None, None)
    change = score - prev_score if prev_score is not None else np.full(score.shape, math.nan)
    present = np.ones(score.shape[0], bool) if latest else (~np.isnan(score) | (tier >= 0))
    view = View(run=run, previous=prev_run, latest=latest,
                score=adj.score if latest else score, tier=adj.tier if latest else tier,
                present=present, change=change, prev_tier=prev_tier)
    if latest:  # the adjusted score's orders are already made
        view._orders.update({"score": adj.order_up, "-score": adj.order_down})
    return view


def _alert_dict(rec: dict[str, Any]) -> dict[str, Any]:
    out = {k: _clean(_iso(rec[k])) for k in ALERT_COLUMNS}
    out["alert_id"] = int(out["alert_id"])
    try:
        out["details"] = json.loads(rec["details"]) if rec["details"] else {}
    except (TypeError, ValueError):
        out["details"] = {"text": rec["details"]}
    return out


@dataclass
class AlertBook:
    """Every alert of the served model, newest snapshot first, and the open ones by customer."""

    items: list[dict[str, Any]]
    open_by_customer: dict[str, list[dict[str, Any]]]
    by_id: dict[int, dict[str, Any]]


def load_alerts(store: Store, model_name: str) -> AlertBook:
    frame = store.alerts(model_name=model_name)
    items = [_alert_dict(r) for r in frame.to_dict("records")]
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for a in items:
        if a["status"] in OPEN_STATUSES:
            by_customer.setdefault(a["customer_id"], []).append(a)
    return AlertBook(items, by_customer, {a["alert_id"]: a for a in items})


def store_stamp(store: Store, model_name: str) -> tuple[Any, ...]:
    """What changes when the served data changes: runs, adjustments, alert events, tokens.

    Cheap (five small aggregates); compared by the refresher to decide what to reload. The
    tokens table must exist (:func:`crindex.service.auth.ensure_table`).
    """
    with store.reading() as tx:
        runs = tuple(tx.execute("SELECT COUNT(*), MAX(ran_at), MAX(run_id) FROM runs "
                                "WHERE model_name = ?", (model_name,)).rows()[0])
        adjustments = tuple(tx.execute(
            "SELECT COUNT(*), MAX(adjustment_id) FROM adjustments").rows()[0])
        alerts = tuple(tx.execute("SELECT COUNT(*) FROM alert_events").rows()[0])
        tokens = tuple(tx.execute(
            "SELECT COUNT(*), COUNT(revoked_at) FROM service_tokens").rows()[0])
    return runs, adjustments, alerts, tokens


@dataclass(frozen=True)
class Served:
    """Everything a request reads, from one read of the store; replaced whole, never edited.

    A request takes :attr:`ServiceCache.state` once and answers from it, so its snapshot,
    adjusted scores, alerts and tier labels always belong together (a refresh builds the
    next ``Served`` beside this one and swaps it in with one assignment).
    """

    snap: SnapshotIndex | None = None
    adjusted: Adjusted | None = None
    alerts: AlertBook = field(default_factory=lambda: AlertBook([], {}, {}))
    tier_labels: dict[str, str] = field(default_factory=dict)
    stamp: tuple[Any, ...] | None = None
    views: dict[str, View] = field(default_factory=dict)  # as_of -> view, made on first use
    weeks: dict[str, dict[str, Any]] = field(default_factory=dict)  # This week, made once


class ServiceCache:
    """What the server answers from: the snapshot index, adjustments, alerts and tokens.

    Parameters
    ----------
    store
        The history store.
    model_name
        The model whose latest snapshot is served.
    model
        The served model file (metric sources and tier strategies), optional.
    """

    def __init__(self, store: Store, model_name: str, model: CRIModel | None = None) -> None:
        self.store = store
        self.model_name = model_name
        self.model = model
        self.state = Served()
        self.tokens: dict[str, Any] = {}
        self.strategies: dict[str, str] = {}
        if model is not None:
            self.strategies = {lv.id: lv.strategy or "" for lv in model.tiers.levels}
        self._lock = threading.Lock()
        self._tables_made = False

    # what the current state holds (each a separate read of ``state``: a request that needs
    # two of them together takes ``state`` once instead)
    @property
    def snap(self) -> SnapshotIndex | None:
        return self.state.snap

    @property
    def adjusted(self) -> Adjusted | None:
        return self.state.adjusted

    @property
    def alerts(self) -> AlertBook:
        return self.state.alerts

    @property
    def tier_labels(self) -> dict[str, str]:
        return self.state.tier_labels

    @property
    def tier_colors(self) -> dict[str, str]:
        """Tier id -> colour (:func:`crindex.report.palette.tier_colors` of the model's tiers)."""
        from crindex.report.palette import tier_colors

        order = list(self.model.tiers.order) if self.model is not None else \
            (self.state.snap.tiers if self.state.snap else [])
        return tier_colors(order)

    @property
    def stamp(self) -> tuple[Any, ...] | None:
        return self.state.stamp

    @property
    def ready(self) -> bool:
        """True once the first load has finished (until then the server answers 503)."""
        return self.state.stamp is not None

    # ------------------------------------------------------------------------- loading

    def refresh(self, force: bool = False) -> bool:
        """Reload what changed in the store since the last load; True when anything did.

        Runs in a worker thread (it reads the store); only one refresh runs at a time. The
        stamp and everything reloaded are read in one read of the store (one committed
        state), built beside the state in use, then swapped in with one assignment.
        """
        from crindex.service.auth import active_tokens, ensure_table

        with self._lock:
            if not self._tables_made:
                ensure_table(self.store)
                self._tables_made = True
            state = self.state
            old = state.stamp if not force else None
            tokens = None
            with self.store.reading():
                stamp = store_stamp(self.store, self.model_name)
                if old == stamp:
                    return False
                snap, adjusted, alerts = state.snap, state.adjusted, state.alerts
                if old is None or old[0] != stamp[0]:
                    snap = load_snapshot(self.store, self.model_name, self.model)
                if old is None or old[0] != stamp[0] or old[1] != stamp[1]:
                    adjusted = adjust_snapshot(snap, self.store.adjustments()) if snap \
                        else None
                if old is None or old[0] != stamp[0] or old[2] != stamp[2]:
                    alerts = load_alerts(self.store, self.model_name)
                if old is None or old[3] != stamp[3]:
                    tokens = active_tokens(self.store, ensure=False)
            labels = state.tier_labels
            if snap is not None and snap is not state.snap:
                labels = {lv["id"]: lv["label"] for lv in
                          snap.run.model_info.get("tiers", {}).get("levels", [])}
            self.state = Served(snap, adjusted, alerts, labels, stamp)
            if tokens is not None:
                self.tokens = tokens
            return True

    def reload_tokens(self) -> None:
        from crindex.service.auth import active_tokens

        self.tokens = active_tokens(self.store)

    # ------------------------------------------------------------------------- one customer

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """A customer's document: score, tier, evaluation table, history, alerts, adjustments.

        None when the customer is not in the latest snapshot.
        """
        state = self.state
        snap, adj, alerts = state.snap, state.adjusted, state.alerts
        if snap is None or adj is None:
            return None
        row = snap.find(customer_id)
        if row is None:
            return None
        tiers_info = snap.run.model_info.get("tiers", {})
        tier = snap.tier_at(snap.tier, row)
        log = adj.by_customer.get(customer_id, [])
        force = in_force(log, customer_id, snap.run.model_name, snap.run.as_of) if log else []
        steps = apply(_clean(float(snap.score[row])), tier, force, tiers_info).steps \
            if force else []
        after = {s["adjustment_id"]: s for s in steps}
        raw = snap.raw[row].tolist()
        for j, (codes, cats) in snap.raw_text.items():
            if codes[row] >= 0:
                raw[j] = cats[codes[row]]
        m_score = snap.metric_score[row].tolist()
        weight = snap.weight[row].tolist()
        contrib = snap.contribution[row].tolist()
        missing = snap.missing[row].tolist()
        prev = snap.prev_contribution[row].tolist() if snap.prev_contribution is not None \
            else None
        dim_labels = {d["id"]: d["label"] for d in snap.dimensions}
        explanation = []
        for j, m in enumerate(snap.metrics):
            change = None if prev is None or math.isnan(prev[j]) or math.isnan(contrib[j]) \
                else contrib[j] - prev[j]
            explanation.append({
                "dimension": m["dimension"], "dimension_label": dim_labels.get(m["dimension"]),
                "metric": m["id"], "label": m["label"], "source": m["source"], "raw": raw[j],
                "score": m_score[j], "weight": weight[j], "contribution": contrib[j],
                "missing": missing[j], "change": change,
            })
        history = []
        for run, sc, tc in snap.history:
            s = _clean(float(sc[row]))
            t = snap.tier_at(tc, row)
            if s is None and t is None and run.run_id != snap.run.run_id:
                continue
            point = {"as_of": run.as_of.isoformat(), "run_id": run.run_id, "score": s,
                     "tier": t, "adjusted_score": s, "adjusted_tier": t}
            if log:
                past = in_force(log, customer_id, run.model_name, run.as_of)
                if past:
                    res = apply(s, t, past, run.model_info.get("tiers", {}))
                    point.update(adjusted_score=res.adjusted_score,
                                 adjusted_tier=res.adjusted_tier)
            history.append(point)
        adjustments = []
        for a in log:
            entry = {k: _iso(v) for k, v in a.to_dict().items()}
            entry["in_force"] = a.adjustment_id in after
            if a.adjustment_id in after:
                entry.update(score_after=after[a.adjustment_id]["score_after"],
                             tier_after=after[a.adjustment_id]["tier_after"])
                if "stale" in after[a.adjustment_id]:  # in force, but not applied
                    entry["stale"] = after[a.adjustment_id]["stale"]
            adjustments.append(entry)
        owner = int(snap.owner[row])
        segment = int(snap.segment[row])
        adj_tier = snap.tier_at(adj.tier, row)
        doc: dict[str, Any] = {
            "customer_id": customer_id,
            "model": snap.run.model_name,
            "as_of": snap.run.as_of.isoformat(),
            "run_id": snap.run.run_id,
            "score": _clean(float(snap.score[row])),
            "tier": tier,
            "tier_label": state.tier_labels.get(tier) if tier else None,
            "adjusted_score": _clean(float(adj.score[row])),
            "adjusted_tier": adj_tier,
            "strategy": self.strategies.get(adj_tier or "") or None,
            "coverage": _clean(float(snap.coverage[row])),
            "owner": snap.owners[owner] if owner >= 0 else None,
            "segment": snap.segments[segment] if segment >= 0 else None,
            "rfm_segment": snap.rfm_segment_at(row),
            "flags": snap.flags_at(row),
            "submodel": snap.submodel_at(row),
            "dimensions": [{"id": d["id"], "label": d["label"],
                            "score": _clean(float(snap.dim_score[row, k]))}
                           for k, d in enumerate(snap.dimensions)],
            "explanation": explanation,
            "history": history,
            "alerts": alerts.open_by_customer.get(customer_id, []),
            "adjustments": adjustments,
        }
        path = snap.paths.get(row)
        if path is None:  # searched once per customer and snapshot, then served from memory
            path = snap.paths[row] = self._next_tier(snap, row)
        doc["next_tier"] = path
        doc["why_changed"] = self._why_changed(snap, row, customer_id, tier, log, steps)
        personal = snap.personal[row] if snap.personal is not None else None
        if personal:
            doc["personal"] = json.loads(personal)
        return doc

    def _next_tier(self, snap: SnapshotIndex, row: int) -> dict[str, Any]:
        """The path to the next tier (docs/act.md), from the served model and the snapshot.

        The model decides which metrics are actionable and how each is normalised, so the
        path needs the served model file, and the one that scored this snapshot.
        """
        from crindex.act.next_tier import MetricNow, next_tier_path
        from crindex.store.snapshot import model_hash

        model = self.model
        if model is None:
            return {"found": False, "reason": "the service was started without the model "
                    "file (serve --model): the path needs its normalisers"}
        if model_hash(model) != snap.run.model_hash:
            return {"found": False, "reason": "the served model file is not the model that "
                    f"scored the snapshot of {snap.run.as_of}: score again with it"}
        col = {m["id"]: j for j, m in enumerate(snap.metrics)}
        now, peers = {}, {}
        for _, m in model.metrics:
            j = col.get(m.id)
            if j is None:
                continue
            raw: Any = _clean(float(snap.raw[row, j]))
            if j in snap.raw_text and snap.raw_text[j][0][row] >= 0:
                raw = snap.raw_text[j][1][snap.raw_text[j][0][row]]
            missing = bool(snap.missing[row, j])
            now[m.id] = MetricNow(raw, None if missing else _clean(float(
                snap.metric_score[row, j])), missing)
            if m.actionable and m.normalise.looks_across:
                from crindex.act.next_tier import peers_of

                peers[m.id] = peers_of(snap.sorted_raw(j), raw)
        floors = None
        if model.tiers.by == "rank":
            floors = {}
            for code, tier_id in enumerate(snap.tiers):
                scores = snap.score[(snap.tier == code) & ~np.isnan(snap.score)]
                if scores.size:
                    floors[tier_id] = float(scores.min())
        return next_tier_path(model, now, peers, floors).to_dict()

    def _why_changed(self, snap: SnapshotIndex, row: int, customer_id: str, tier: str | None,
                     log: list[Adjustment], steps: list[dict[str, Any]]) -> dict[str, Any]:
        """Why the score changed since the previous snapshot (docs/act.md)."""
        from crindex.act.why_changed import MetricState, SnapshotState, why_changed

        prev = snap.previous
        if prev is None or len(snap.history) < 2:
            return {"change": None, "reason": "one snapshot only: nothing to compare"}
        past_run, past_score, past_tier = snap.history[-2]
        p_score = _clean(float(past_score[row]))
        p_tier = snap.tier_at(past_tier, row)
        past_in_force = in_force(log, customer_id, past_run.model_name, past_run.as_of) \
            if log else []
        p_adj = apply(p_score, p_tier, past_in_force, past_run.model_info.get("tiers", {}))

        def rows(metrics: list[str], labels: dict[str, Any], raw: np.ndarray,
                 raw_text: dict[int, tuple[np.ndarray, list[str]]], score: np.ndarray,
                 weight: np.ndarray, contribution: np.ndarray) -> dict[str, MetricState]:
            out = {}
            for j, item in enumerate(metrics):
                if math.isnan(contribution[row, j]) and math.isnan(weight[row, j]):
                    continue  # no row of this metric for the customer
                value: Any = _clean(float(raw[row, j]))
                if j in raw_text and raw_text[j][0][row] >= 0:
                    value = raw_text[j][1][raw_text[j][0][row]]
                out[item] = MetricState(value, _clean(float(score[row, j])),
                                        _clean(float(weight[row, j])) or 0.0,
                                        _clean(float(contribution[row, j])) or 0.0,
                                        labels.get(item))
            return out

        labels = {m["id"]: m["label"] for m in snap.metrics}
        p_labels = {m["id"]: m.get("label") for m in prev.run.model_info.get("metrics", [])}
        before = SnapshotState(
            past_run.run_id, past_run.as_of, p_score, p_tier, past_run.model_hash,
            rows(prev.metrics, p_labels, prev.raw, prev.raw_text, prev.score, prev.weight,
                 prev.contribution), p_adj.adjusted_score, p_adj.adjusted_tier)
        score = _clean(float(snap.score[row]))
        after = SnapshotState(
            snap.run.run_id, snap.run.as_of, score, tier, snap.run.model_hash,
            rows([m["id"] for m in snap.metrics], labels, snap.raw, snap.raw_text,
                 snap.metric_score, snap.weight, snap.contribution),
            steps[-1]["score_after"] if steps else score,
            steps[-1]["tier_after"] if steps else tier)
        if p_score is None and p_tier is None:
            return {"change": None, "reason": f"not scored on {past_run.as_of}"}
        why = why_changed(before, after)
        doc = why.to_dict()
        doc["summary"] = why.summary()
        return _jsonable(doc)  # type: ignore[no-any-return]

    def customer_json(self, customer_id: str) -> bytes | None:
        doc = self.customer(customer_id)
        return None if doc is None else orjson.dumps(doc)

    # ------------------------------------------------------------------------- lists

    def view(self, as_of: str | None = None, state: Served | None = None) -> View | None:
        """The view of the snapshot dated ``as_of`` (the latest when None), made once."""
        state = state or self.state
        snap, adj = state.snap, state.adjusted
        if snap is None or adj is None:
            return None
        key = as_of or ""
        found = state.views.get(key)
        if found is None:
            found = make_view(snap, adj, as_of)
            if found is not None:
                state.views[key] = found
        return found

    def snapshot_dates(self) -> list[str]:
        """The dates of the snapshots a page can show, newest first."""
        snap = self.snap
        return [run.as_of.isoformat() for run, _, _ in reversed(snap.history)] if snap else []

    def select(self, *, tiers: Sequence[str] = (), owners: Sequence[str] = (),
               segments: Sequence[str] = (), rfm_segments: Sequence[str] = (),
               min_score: float | None = None,
               max_score: float | None = None, q: str | None = None,
               with_alerts: bool | None = None, sort: str = "-score",
               as_of: str | None = None, state: Served | None = None,
               limit: int | None = None) -> tuple[View, np.ndarray, int] | None:
        """The view, its rows matching every filter (in ``sort`` order), and their count.

        With ``limit``, only the first ``limit`` rows are found (a page of a million-row list
        reads the sort order only as far as it needs).
        """
        state = state or self.state
        snap, alerts = state.snap, state.alerts
        view = self.view(as_of, state)
        if snap is None or view is None:
            return None
        mask = view.present.copy()
        if tiers:
            codes = [snap.tiers.index(t) for t in tiers if t in snap.tiers]
            mask &= np.isin(view.tier, np.array(codes, np.int8))
        if owners:
            mask &= np.isin(snap.owner, [snap.owners.index(o) for o in owners
                                         if o in snap.owners])
        if segments:
            mask &= np.isin(snap.segment, [snap.segments.index(s) for s in segments
                                           if s in snap.segments])
        if rfm_segments and snap.rfm_segment is not None:
            mask &= np.isin(snap.rfm_segment, [snap.rfm_segments.index(s) for s in rfm_segments
                                               if s in snap.rfm_segments])
        if min_score is not None:
            mask &= view.score >= min_score
        if max_score is not None:
            mask &= view.score <= max_score
        if q:
            needle = q.strip().lower().encode("utf-8")
            hits = np.char.find(snap.ids_lower, needle) >= 0
            if snap.personal is not None:
                text = q.strip().lower()
                hits |= np.array([p is not None and text in p.lower() for p in snap.personal])
            mask &= hits
        if with_alerts is not None:
            flagged = np.zeros(snap.size, bool)
            for cid in alerts.open_by_customer:
                row = snap.find(cid)
                if row is not None:
                    flagged[row] = True
            mask &= flagged if with_alerts else ~flagged
        order = view.order(sort if sort in CUSTOMER_SORTS else "-score")
        total = int(mask.sum())
        if limit is None or limit >= total:
            return view, order[mask[order]], total
        parts, found, step = [], 0, 1 << 16
        for start in range(0, order.shape[0], step):
            chunk = order[start:start + step]
            hit = chunk[mask[chunk]]
            parts.append(hit)
            found += hit.shape[0]
            if found >= limit:
                break
        return view, np.concatenate(parts)[:limit], total

    def items(self, view: View, rows: np.ndarray, state: Served | None = None) \
            -> list[dict[str, Any]]:
        """The list's rows of ``view`` (``rows`` are positions in the index)."""
        state = state or self.state
        snap, alerts = state.snap, state.alerts
        assert snap is not None
        names = snap.names()
        computed_score, computed_tier = (snap.score, snap.tier) if view.latest else \
            (view.score, view.tier)
        items = []
        for row in rows.tolist():
            cid = snap.id_at(row)
            owner, segment = int(snap.owner[row]), int(snap.segment[row])
            tier = snap.tier_at(view.tier, row)
            item = {
                "customer_id": cid,
                "score": _clean(float(computed_score[row])),
                "tier": snap.tier_at(computed_tier, row),
                "adjusted_score": _clean(float(view.score[row])),
                "adjusted_tier": tier,
                "tier_label": state.tier_labels.get(tier or "", tier),
                "change": _clean(float(view.change[row])),
                "previous_tier": snap.tier_at(view.prev_tier, row)
                if view.prev_tier is not None else None,
                "coverage": _clean(float(snap.coverage[row])) if view.latest else None,
                "owner": snap.owners[owner] if owner >= 0 else None,
                "segment": snap.segments[segment] if segment >= 0 else None,
                "rfm_segment": snap.rfm_segment_at(row),
                "flags": snap.flags_at(row),
                "submodel": snap.submodel_at(row),
                "open_alerts": len(alerts.open_by_customer.get(cid, [])),
            }
            if names is not None:
                item["name"] = names[row]
            items.append(item)
        return items

    def columns(self, view: View, rows: np.ndarray, state: Served | None = None) \
            -> dict[str, list[Any]]:
        """The list's columns for ``rows`` of ``view``, built column by column (exports).

        Scores and the change are rounded as the list shows them (1 decimal), coverage to a
        whole percent; missing values are None; tiers are ids (the page names them in its
        language).
        """
        state = state or self.state
        snap, alerts = state.snap, state.alerts
        assert snap is not None

        def rounded(values: np.ndarray, digits: int) -> list[float | None]:
            out = np.round(values[rows], digits)
            return [None if math.isnan(v) else v for v in out.tolist()]

        def coded(codes: np.ndarray, cats: list[str | None]) -> list[Any]:
            return np.array([*cats, None], dtype=object)[codes[rows]].tolist()

        ids = np.char.decode(snap.ids[rows], "utf-8").tolist() if rows.size else []
        computed = snap.score if view.latest else view.score
        out: dict[str, list[Any]] = {"customer_id": ids}
        names = snap.names()
        if names is not None:
            out["name"] = [names[r] for r in rows.tolist()]
        score, adjusted = rounded(computed, 1), rounded(view.score, 1)
        out.update({
            "score": score,
            # as the list shows it: only where an adjustment moved the score
            "adjusted_score": [a if a != s else None for s, a in zip(score, adjusted,
                                                                    strict=True)],
            "change": rounded(view.change, 1),
            "tier": coded(view.tier, list(snap.tiers)),  # ids: the page names them
            "coverage": rounded(snap.coverage, 0) if view.latest else [None] * rows.size,
            "owner": coded(snap.owner, list(snap.owners)),
            "segment": coded(snap.segment, list(snap.segments)),
            "open_alerts": [len(alerts.open_by_customer.get(c, ())) for c in ids],
        })
        return out

    def customers(self, *, tiers: Sequence[str] = (), owners: Sequence[str] = (),
                  segments: Sequence[str] = (), rfm_segments: Sequence[str] = (),
                  min_score: float | None = None,
                  max_score: float | None = None, q: str | None = None,
                  with_alerts: bool | None = None, sort: str = "-score", page: int = 1,
                  per_page: int = 50, as_of: str | None = None) -> dict[str, Any]:
        """One page of customers matching every filter given (adjusted score and tier).

        ``as_of`` shows an earlier snapshot (computed scores and tiers); ``change`` is the
        score's change since the snapshot before the one shown.
        """
        state = self.state
        found = self.select(tiers=tiers, owners=owners, segments=segments,
                            rfm_segments=rfm_segments, min_score=min_score,
                            max_score=max_score, q=q,
                            with_alerts=with_alerts, sort=sort, as_of=as_of, state=state,
                            limit=page * per_page)
        if found is None:
            return {"items": [], "total": 0, "page": page, "per_page": per_page, "pages": 0}
        view, rows, total = found
        chunk = rows[(page - 1) * per_page: page * per_page]
        return {"items": self.items(view, chunk, state), "total": total, "page": page,
                "per_page": per_page, "pages": -(-total // per_page),
                "as_of": view.run.as_of.isoformat(),
                "previous_as_of": view.previous.as_of.isoformat() if view.previous else None}

    def alert_list(self, *, statuses: Sequence[str] = (), severities: Sequence[str] = (),
                   owner: str | None = None, customer_id: str | None = None,
                   rule_id: str | None = None, page: int = 1, per_page: int = 50,
                   owners: Sequence[str] = (), rules: Sequence[str] = ()) -> dict[str, Any]:
        """One page of alerts (newest snapshot first) matching every filter given.

        ``owner`` / ``rule_id`` take one value, ``owners`` / ``rules`` several (any of them).
        ``counts`` are the matching alerts by status (before the status filter), so a page's
        tabs and totals are one count.
        """
        owners_wanted = set(owners) | ({owner} if owner is not None else set())
        rules_wanted = set(rules) | ({rule_id} if rule_id is not None else set())
        matching = [a for a in self.alerts.items
                    if (not severities or a["severity"] in severities)
                    and (not owners_wanted or a["owner"] in owners_wanted)
                    and (customer_id is None or a["customer_id"] == customer_id)
                    and (not rules_wanted or a["rule_id"] in rules_wanted)]
        counts = {s: 0 for s in ("open", "acknowledged", "resolved")}
        for a in matching:
            counts[a["status"]] = counts.get(a["status"], 0) + 1
        found = [a for a in matching if not statuses or a["status"] in statuses]
        total = len(found)
        return {"items": found[(page - 1) * per_page: page * per_page], "total": total,
                "page": page, "per_page": per_page, "pages": -(-total // per_page),
                "counts": counts}

    def alert_facets(self) -> dict[str, Any]:
        """What the alerts can be filtered by: rules (id -> label), severities, owners."""
        rules: dict[str, str] = {}
        severities: list[str] = []
        owners: set[str] = set()
        for a in self.alerts.items:
            rules.setdefault(a["rule_id"], a.get("label") or a["rule_id"])
            if a["severity"] not in severities:
                severities.append(a["severity"])
            if a["owner"]:
                owners.add(a["owner"])
        return {"rules": rules, "severities": severities, "owners": sorted(owners)}

    # ------------------------------------------------------------------------- this week

    def this_week(self, as_of: str | None = None, owners: Sequence[str] = (),
                  n: int = 10) -> dict[str, Any]:
        """Since the snapshot before: the biggest drops and rises, tier moves, new alerts.

        ``owners`` narrows everything to their accounts (the signed-in person's). Made once
        per state (the store's data as loaded) and question.
        """
        state = self.state
        key = f"week:{as_of or ''}:{n}:" + "\x00".join(owners)
        found = state.weeks.get(key)
        if found is None:
            found = self._this_week(state, as_of, owners, n)
            if len(state.weeks) > 1000:
                state.weeks.clear()
            state.weeks[key] = found
        return found

    def _this_week(self, state: Served, as_of: str | None, owners: Sequence[str],
                   n: int) -> dict[str, Any]:
        snap, alerts = state.snap, state.alerts
        view = self.view(as_of, state)
        if snap is None or view is None:
            return {"as_of": None, "previous_as_of": None, "drops": [], "rises": [],
                    "moves": [], "new_alerts": [], "compared": 0}
        mask = view.present & ~np.isnan(view.change)
        if owners:
            mask &= np.isin(snap.owner, [snap.owners.index(o) for o in owners
                                         if o in snap.owners])
        drops = view.order("change")
        drops = drops[mask[drops] & (view.change[drops] < 0)][:n]
        rises = view.order("-change")
        rises = rises[mask[rises] & (view.change[rises] > 0)][:n]
        moves: list[dict[str, Any]] = []
        if view.prev_tier is not None:
            both = mask & (view.prev_tier >= 0) & (view.tier >= 0) & (view.prev_tier != view.tier)
            k = len(snap.tiers)
            pairs = np.bincount(view.prev_tier[both].astype(np.int64) * k
                                + view.tier[both].astype(np.int64), minlength=k * k)
            for code in np.flatnonzero(pairs).tolist():
                before, after = snap.tiers[code // k], snap.tiers[code % k]
                moves.append({"from": before, "to": after, "customers": int(pairs[code]),
                              "direction": "up" if code % k < code // k else "down"})
            moves.sort(key=lambda m: (m["direction"] != "down", -m["customers"]))
        day = view.run.as_of.isoformat()
        wanted = set(owners)
        new_alerts = [a for a in alerts.items if str(a["as_of"])[:10] == day
                      and (not wanted or a["owner"] in wanted)]
        return {"as_of": day,
                "previous_as_of": view.previous.as_of.isoformat() if view.previous else None,
                "compared": int(mask.sum()), "drops": self.items(view, drops, state),
                "rises": self.items(view, rises, state), "moves": moves,
                "new_alerts": new_alerts}

    # ------------------------------------------------------------------------- portfolio

    def portfolio(self) -> dict[str, Any]:
        """Tier shares, the average score trend and the portfolio's KPIs."""
        state = self.state
        snap, adj, alerts = state.snap, state.adjusted, state.alerts
        if snap is None or adj is None:
            return {"model": self.model_name, "as_of": None, "customers": 0, "tiers": [],
                    "trend": [], "kpis": {}}
        n = snap.size
        tiers = []
        for code, tier in enumerate(snap.tiers):
            computed = int((snap.tier == code).sum())
            adjusted = int((adj.tier == code).sum())
            tiers.append({"tier": tier, "label": state.tier_labels.get(tier, tier),
                          "customers": computed, "share": 100 * computed / n if n else None,
                          "adjusted_customers": adjusted})
        unscored = int((snap.tier < 0).sum())
        if unscored:
            tiers.append({"tier": None, "label": "(unscored)", "customers": unscored,
                          "share": 100 * unscored / n, "adjusted_customers":
                              int((adj.tier < 0).sum())})
        scored = snap.score[~np.isnan(snap.score)]
        mean = float(scored.mean()) if scored.size else None
        kpis: dict[str, Any] = {
            "customers": n,
            "mean_score": mean,
            "median_score": float(np.median(scored)) if scored.size else None,
            "mean_coverage": _clean(float(np.nanmean(snap.coverage))) if n else None,
            "adjusted_customers": adj.customers_adjusted,
            "open_alerts": sum(a["status"] == "open" for a in alerts.items),
            "acknowledged_alerts": sum(a["status"] == "acknowledged" for a in alerts.items),
        }
        if len(snap.history) > 1:
            prev_run, prev_score, prev_tier = snap.history[-2]
            both = (prev_tier >= 0) & (snap.tier >= 0)
            kpis["previous_as_of"] = prev_run.as_of.isoformat()
            kpis["upgraded"] = int((both & (snap.tier < prev_tier)).sum())
            kpis["downgraded"] = int((both & (snap.tier > prev_tier)).sum())
            prev_scored = prev_score[~np.isnan(prev_score)]
            past = [t for t in snap.trend if t.get("run_id") == prev_run.run_id]
            prev_mean = past[0].get("mean_score") if past else (
                float(prev_scored.mean()) if prev_scored.size else None)
            kpis["mean_score_change"] = None if mean is None or prev_mean is None \
                else mean - prev_mean
        return {"model": snap.run.model_name, "as_of": snap.run.as_of.isoformat(),
                "run_id": snap.run.run_id, "customers": n, "tiers": tiers,
                "trend": snap.trend, "kpis": kpis}
