"""The live scorer: events in, the customers they touch rescored, their rows recorded.

:class:`LiveScorer` holds the data in one embedded DuckDB (the opened data plus every event in
the store), compiles the model once over ``touched_<table>`` tables and, per batch of events,
fills those with the touched customers' rows only and runs the compiled query: the same
expression as a batch run (:func:`crindex.engine.compile.compile_model`), over fewer rows.
See :mod:`crindex.live` for the design (the live run, the reference population, restarts).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from crindex.alerts.evaluate import Evaluation
from crindex.api import ScoreResult, as_date, score
from crindex.engine.normalisers import Population
from crindex.errors import DataError, ModelError, Problem, Reason, raise_if
from crindex.live.events import Event, parse_events
from crindex.model.registry import AGGREGATES, metric_table
from crindex.model.spec import CRIModel
from crindex.record import record_live, record_run
from crindex.store.base import Store


@dataclass
class LiveResult:
    """What one batch of events did: the stored ids, the rescored rows and the alerts."""

    event_ids: list[int]
    customers: list[str]
    rows: list[dict[str, Any]]
    raised: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.event_ids, "customers": self.rows,
                "alerts": {"raised": self.raised, "resolved": self.resolved},
                "seconds": round(self.seconds, 4)}


@dataclass
class _Scored:
    """What :func:`crindex.record.record_live` records (a :class:`SnapshotSource`)."""

    model: CRIModel
    as_of: dt.date
    table: pa.Table


def check_live_model(model: CRIModel) -> None:
    """Refuse a model the live scorer cannot rescore one customer at a time."""
    problems = [Problem(
        f"metric `{m.id}` ({m.aggregate}) learns from every customer before scoring, so it "
        "cannot be rescored one customer at a time", m.at,
        "score this model in batch runs (`crindex score --store`, POST /v1/runs)",
        Reason.BAD_PARAMETER) for _, m in model.metrics if AGGREGATES[m.aggregate].fit]
    raise_if(problems, ModelError, "the model cannot be rescored live")


class LiveScorer:
    """Rescore the customers that events touch, against the last full run.

    Parameters
    ----------
    model
        The scoring model (no metric that learns from the data: see :func:`check_live_model`).
    data
        What :func:`crindex.data.open_dataset` opens; events are added to it.
    store
        The history store: events are kept there before they are acknowledged, and the live
        run is written there.
    as_of
        The live run's date (default: the model's ``as_of``, then today). Events dated after
        it are kept but count from the first full run at a later date.
    fingerprint
        The data's fingerprint, kept with the run (``+events:N`` is appended).
    """

    def __init__(self, model: CRIModel, data: Any, store: Store,
                 as_of: str | dt.date | None = None, *, fingerprint: str | None = None) -> None:
        check_live_model(model)
        self.model = model
        self.data = data
        self.store = store
        self.as_of = as_date(as_of, model.as_of)
        self.fingerprint = fingerprint
        self.lock = threading.Lock()
        self.ready = False
        self.last_event = 0
        self.full: Evaluation | None = None
        self.result: ScoreResult | None = None
        self._tables = ["customers", *sorted({metric_table(m) for _, m in model.metrics}
                                             - {"customers"})]

    # ------------------------------------------------------------------------ the full run

    def start(self) -> Evaluation:
        """Load the data and every stored event, score everyone and record the full run.

        The full run is the live run's start and the reference population of the look-across
        normalisers and rank tiers. Called again (a restart), it takes in every event kept
        since: nothing acknowledged is lost.
        """
        from crindex.data import open_dataset

        with self.lock:
            ds = open_dataset(self.data, model=self.model, as_of=self.as_of)
            self.con = con = ds.con
            if getattr(con, "name", "") != "duckdb":
                raise DataError.single(Reason.BAD_PARAMETER, "live rescoring runs on the "
                                       "embedded DuckDB engine", "--data",
                                       "give a folder, file, DuckDB file or database URL")
            self._raw = con.con
            for name in self._tables:
                self._raw.execute(f"DROP TABLE IF EXISTS live_{name}")
                # kept in customer order: a rescore's lookups of a few customers then skip
                # most row groups (DuckDB's min/max zone maps)
                con.create_table(f"live_{name}", ds.tables[name].order_by("customer_id"))
            self._columns = {name: con.table(f"live_{name}").schema().to_pyarrow()
                             for name in self._tables}
            stored = self.store.events()
            events = parse_events([_stored(j) for j in stored["row_json"]], "stored events")
            self._append(events)
            self.last_event = int(stored["event_id"].max()) if len(stored) else 0
            # the opened data (checked once) with the events added: not opened again
            live = replace(ds, tables={**ds.tables,
                                       **{n: con.table(f"live_{n}") for n in self._tables}})
            result = score(self.model, live, self.as_of)
            self.full = record_run(self.store, result, self._fingerprint())
            self.result = result
            self._reference(result)
            self._compile()
            self.ready = True
            return self.full

    def _fingerprint(self, last: int | None = None) -> str:
        return f"{self.fingerprint or 'live'}+events:{self.last_event if last is None else last}"

    def _append(self, events: Sequence[Event]) -> None:
        """Add the events' rows to the live tables (those the model reads)."""
        by_table: dict[str, list[dict[str, Any]]] = {}
        for e in events:
            if e.table in self._columns:
                by_table.setdefault(e.table, []).append(e.row)
        for name, rows in by_table.items():
            schema = self._columns[name]
            data = pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type)
                             for f in schema}, schema=schema)
            self._raw.register("_live_rows", data)
            try:
                cols = ", ".join(f'"{c}"' for c in schema.names)
                self._raw.execute(f"INSERT INTO live_{name} ({cols}) SELECT {cols} "
                                  "FROM _live_rows")
            finally:
                self._raw.unregister("_live_rows")

    def _reference(self, result: ScoreResult) -> None:
        """The full run's values of every column that is ranked or averaged across customers."""
        from crindex.engine.normalisers import LOOK_ACROSS

        wanted = {f"{m.id}__raw": LOOK_ACROSS[m.normalise.method] for _, m in self.model.metrics
                  if m.normalise.method in LOOK_ACROSS}
        if self.model.tiers.by == "rank":
            wanted["score"] = "ranks"
        self._wanted = wanted
        self._moments: dict[str, tuple[float | None, float | None]] = {}
        self._counts: dict[str, int] = {}
        ids = result.table.column("customer_id")
        for i, (col, kind) in enumerate(sorted(wanted.items())):
            values = result.table.column(col).cast(pa.float64())
            valid = np.asarray(values.drop_null().to_numpy(zero_copy_only=False), dtype=float)
            if kind == "moments":
                self._moments[col] = (float(valid.mean()), float(valid.std())) if len(valid) \
                    else (None, None)
                continue
            uniq, same = np.unique(valid, return_counts=True)
            below = np.cumsum(same) - same
            self._counts[col] = int(len(valid))
            for table, data in ((f"ref_d_{i}", pa.table({"v": uniq, "same": same,
                                                          "below": below})),
                                (f"ref_o_{i}", pa.table({"customer_id": ids, "o": values}))):
                self._raw.execute(f"DROP TABLE IF EXISTS {table}")
                self._raw.register("_ref", data)
                try:
                    self._raw.execute(f"CREATE TABLE {table} AS SELECT * FROM _ref")
                finally:
                    self._raw.unregister("_ref")
        self._keys = {col: i for i, col in enumerate(sorted(wanted))}

    def _populations(self, t: ir.Table, wanted: dict[str, str]
                     ) -> tuple[ir.Table, dict[str, Population]]:
        """Each touched customer's place among the full run's values of the other customers.

        Ranks: the full run's values without the customer's own, plus its new value (an asof
        join on the sorted distinct values gives how many are below and equal). Moments: the
        full run's mean and population standard deviation.
        """
        pops: dict[str, Population] = {}
        out = t
        for col, kind in wanted.items():
            if kind == "moments":
                mean, std = self._moments[col]
                pops[col] = Population(
                    mean=ibis.literal(mean, type="float64"),
                    std=ibis.literal(std, type="float64"))
                continue
            k = self._keys[col]
            x = f"_x__{k}"
            out = out.mutate(**{x: out[col].cast("float64")})
            ref = self.con.table(f"ref_d_{k}").rename(
                {f"_v__{k}": "v", f"_sm__{k}": "same", f"_bl__{k}": "below"})
            out = out.asof_join(ref, on=out[x] >= ref[f"_v__{k}"])
            own = self.con.table(f"ref_o_{k}").rename({f"_cid__{k}": "customer_id",
                                                       f"_o__{k}": "o"})
            out = out.left_join(own, out.customer_id == own[f"_cid__{k}"]).drop(f"_cid__{k}")
            xv, v, o = out[x], out[f"_v__{k}"], out[f"_o__{k}"]
            at_or_below = (out[f"_bl__{k}"] + out[f"_sm__{k}"]).fill_null(0)
            equal = ibis.ifelse(v == xv, out[f"_sm__{k}"], 0).fill_null(0)
            own_below = ibis.ifelse(o < xv, 1, 0).fill_null(0)
            own_equal = ibis.ifelse(o == xv, 1, 0).fill_null(0)
            own_has = ibis.ifelse(o.notnull(), 1, 0)
            out = out.mutate(**{
                f"_n__{k}": ibis.literal(self._counts[col]) - own_has + 1,
                f"_below__{k}": at_or_below - equal - own_below,
                f"_same__{k}": equal - own_equal + 1,
            })
            pops[col] = Population(n=out[f"_n__{k}"], below=out[f"_below__{k}"],
                                   same=out[f"_same__{k}"])
        return out, pops

    def _compile(self) -> None:
        from crindex.engine.compile import compile_model

        for name in self._tables:
            self._raw.execute(f"DROP TABLE IF EXISTS touched_{name}")
            self._raw.execute(f"CREATE TABLE touched_{name} AS SELECT * FROM live_{name} "
                              "LIMIT 0")
        tables = {n: self.con.table(f"touched_{n}") for n in self._tables}
        expr = compile_model(self.model, tables, self.as_of, populations=self._populations).expr
        self._raw.execute("DROP VIEW IF EXISTS live_rescored")
        self._raw.execute(f"CREATE VIEW live_rescored AS {self.con.compile(expr)}")
        self._schema = expr.schema().to_pyarrow()

    # ------------------------------------------------------------------------ events

    def rescore(self, customers: Sequence[str]) -> pa.Table:
        """The touched customers' rows, as the full query computes them (no recording)."""
        ids = pa.table({"customer_id": pa.array(sorted(set(customers)), pa.string())})
        self._raw.register("_touched", ids)
        try:
            for name in self._tables:
                self._raw.execute(f"DELETE FROM touched_{name}")
                self._raw.execute(f"INSERT INTO touched_{name} SELECT * FROM live_{name} "
                                  "WHERE customer_id IN (SELECT customer_id FROM _touched)")
        finally:
            self._raw.unregister("_touched")
        table = self._raw.sql("SELECT * FROM live_rescored").to_arrow_table()
        return table.cast(self._schema)

    def unknown(self, customers: Sequence[str]) -> list[str]:
        """The ids among ``customers`` that the data's customers table does not hold."""
        ids = pa.table({"customer_id": pa.array(sorted(set(customers)), pa.string())})
        self._raw.register("_asked", ids)
        try:
            known = {r[0] for r in self._raw.execute(
                "SELECT customer_id FROM live_customers WHERE customer_id IN "
                "(SELECT customer_id FROM _asked)").fetchall()}
        finally:
            self._raw.unregister("_asked")
        return [c for c in ids.column("customer_id").to_pylist() if c not in known]

    def submit(self, events: Sequence[Event], source: str, where: str = "events"
               ) -> LiveResult:
        """Rescore the customers ``events`` touch; keep the events and the rows at once.

        Refused as a whole (nothing kept) when an event names a customer the data does not
        hold. The events are added to the in-memory tables and the touched customers
        rescored inside a transaction of the embedded database; then one store transaction
        keeps the events (:meth:`Store.add_events`) and records the rows and alerts
        (:func:`crindex.record.record_live`). Only when it has committed are the in-memory
        rows committed and the call returns (the acknowledgement); on any failure both roll
        back and nothing of the batch is kept anywhere.
        """
        began = time.perf_counter()
        if not self.ready:
            raise DataError.single(Reason.STORE, "live rescoring is still starting (the full "
                                   "run is in progress)", "", "retry in a moment")
        with self.lock:
            missing = set(self.unknown([e.customer_id for e in events]))
            if missing:
                raise DataError(reason=Reason.BAD_PARAMETER, problems=[Problem(
                    f"customer `{e.customer_id}` is not in the data's customers table",
                    f"{where}[{i}].customer_id", "send events of known customers (a new "
                    "customer comes with the next data load and full run)",
                    Reason.BAD_PARAMETER) for i, e in enumerate(events)
                    if e.customer_id in missing],
                    summary="events name unknown customers; nothing was kept")
            touched = sorted({e.customer_id for e in events})
            self._raw.execute("BEGIN TRANSACTION")
            try:
                self._append(events)
                table = self.rescore(touched)
                with self.store.transaction():
                    ids = self.store.add_events(
                        [(e.kind, e.customer_id, e.happened_at, e.to_json()) for e in events],
                        source)
                    done = record_live(self.store, _Scored(self.model, self.as_of, table),
                                       touched, self._fingerprint(max(ids)))
            except BaseException:
                self._raw.execute("ROLLBACK")
                raise
            self._raw.execute("COMMIT")
            self.last_event = max([self.last_event, *ids])
            rows = [{k: r[k] for k in ("customer_id", "score", "tier", "coverage")}
                    for r in table.select(["customer_id", "score", "tier", "coverage"])
                    .to_pylist()]
            return LiveResult(ids, touched, rows, done.raised, done.resolved,
                              time.perf_counter() - began)

    def submit_json(self, items: Sequence[Any], source: str) -> LiveResult:
        """:meth:`submit` for events given as JSON objects (checked first, all at once)."""
        return self.submit(parse_events(items), source)


def _stored(text: str) -> Any:
    import json

    return json.loads(text)
