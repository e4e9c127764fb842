"""The history store interface and everything both engines share (portable SQL).

An engine (:mod:`crindex.store.duck`, :mod:`crindex.store.postgres`) supplies connections,
transactions that serialise writers, and bulk inserts; every query here is plain SQL that
DuckDB and PostgreSQL read alike, written with ``?`` placeholders.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import pyarrow as pa

from crindex.errors import Reason, StoreError
from crindex.store.adjust import Adjustment
from crindex.store.schema import ALERT_STATUSES, MIGRATIONS, SCHEMA_VERSION, TABLES
from crindex.store.snapshot import (
    RunInfo,
    SnapshotSource,
    holdout_rows,
    model_hash,
    model_info,
    new_run_id,
    snapshot_tables,
    utc_now,
)

P = ParamSpec("P")
R = TypeVar("R")

RUN_COLUMNS = ("run_id", "model_name", "model_hash", "as_of", "data_fingerprint", "ran_at",
               "customers", "model_info")
ADJUSTMENT_COLUMNS = ("adjustment_id", "action", "customer_id", "model_name", "points", "tier",
                      "reason", "made_by", "made_at", "effective", "expires", "revokes")
ALERT_COLUMNS = ("alert_id", "model_name", "rule_id", "label", "severity", "customer_id",
                 "owner", "status", "message", "details", "run_id", "as_of", "raised_at",
                 "updated_at", "cleared_as_of", "handled")
#: the columns of an alert that its episode decides (compared when alerts are recomputed)
DERIVED_COLUMNS = ("label", "severity", "owner", "status", "message", "details", "run_id",
                   "cleared_as_of")


def one_read(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func(store, ...)`` inside one :meth:`Store.reading`: all its reads see one state.

    For functions that read the history with several queries (a customer's series, the
    trend, a migration): a run committed meanwhile is either wholly seen or not at all.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = args[0]
        assert isinstance(store, Store)
        with store.reading():
            return func(*args, **kwargs)

    return wrapper


def store_error(message: str, hint: str = "", where: str = "") -> StoreError:
    """A :class:`StoreError` with reason ``store``."""
    return StoreError.single(Reason.STORE, message, where, hint)  # type: ignore[return-value]


class Tx(ABC):
    """One connection inside a transaction (or a read): execute, fetch, bulk insert."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Tx:
        """Run one statement with ``?`` placeholders."""

    @abstractmethod
    def rows(self) -> list[tuple[Any, ...]]:
        """The rows of the last statement."""

    @abstractmethod
    def columns(self) -> list[str]:
        """The column names of the last statement."""

    @abstractmethod
    def insert(self, table: str, data: pa.Table) -> None:
        """Append ``data`` (columns named as in the table) to ``table``."""

    def frame(self) -> pd.DataFrame:
        cols = self.columns()
        return pd.DataFrame(self.rows(), columns=cols)

    def scalar(self) -> Any:
        rows = self.rows()
        return rows[0][0] if rows else None


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


class Store(ABC):
    """A history store: immutable score snapshots, adjustments and alerts.

    Open one with :func:`crindex.store.open_store`. Every write is one transaction, and
    writers are serialised (see the engine classes for how a second writer waits).
    """

    #: ``duckdb`` or ``postgresql``
    dialect: str = ""

    def __init__(self, lock_timeout: float = 30.0) -> None:
        self.lock_timeout = lock_timeout
        # the write transaction this thread is inside, if any (see :meth:`transaction`)
        self._active = threading.local()

    # ---------------------------------------------------------------------------- engine

    @abstractmethod
    def _begin(self) -> AbstractContextManager[Tx]:
        """A new write transaction on its own connection (the engine's part)."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[Tx]:
        """A new connection for reads (the engine's part)."""

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction: committed on success, rolled back on any error.

        Transactions nest: inside an open transaction of the same thread, ``transaction()``
        and :meth:`reading` use that transaction, so several writes (a snapshot and the
        alerts it raises, see :func:`crindex.record.record_run`) commit together or not at
        all, and the reads between them see the writes before them.
        """
        active = getattr(self._active, "tx", None)
        if active is not None:
            yield active
            return
        with self._begin() as tx:
            self._active.tx = tx
            try:
                yield tx
            finally:
                self._active.tx = None

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """One read of one consistent state of the store.

        Reads nest like writes: every read of this thread inside an open ``reading()`` (or
        inside an open write transaction) uses that same connection, so a command or a
        service refresh that wraps its reads in one ``with store.reading():`` sees one
        snapshot of the store, never a mixture of two runs (PostgreSQL: one ``REPEATABLE
        READ`` transaction; DuckDB: the file stays held, so no other process writes between
        the reads).
        """
        active = getattr(self._active, "tx", None) or getattr(self._active, "read", None)
        if active is not None:
            yield active
            return
        with self._read() as tx:
            self._active.read = tx
            try:
                yield tx
            finally:
                self._active.read = None

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for messages (never with a password)."""

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release what the store holds (connections are per operation: nothing by default)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_version(self, tx: Tx, create: bool = True) -> None:
        """Record the schema version in a new store; refuse a store from a newer crindex.

        With ``create`` (inside a write transaction, after the tables were created), a store
        of an older version is upgraded in place (:data:`crindex.store.schema.MIGRATIONS`).
        """
        found = tx.execute("SELECT value FROM meta WHERE key = ?", ("schema_version",)).scalar()
        if found is None and create:
            tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)",
                       ("schema_version", str(SCHEMA_VERSION)))
        elif found is not None and int(found) > SCHEMA_VERSION:
            raise store_error(
                f"the store {self.describe()} has schema version {found}; this crindex reads "
                f"up to {SCHEMA_VERSION}", "upgrade crindex to read this store",
            )
        elif found is not None and int(found) < SCHEMA_VERSION and create:
            for version in range(int(found), SCHEMA_VERSION):
                for stmt in MIGRATIONS.get(version, []):
                    tx.execute(stmt)
            tx.execute("UPDATE meta SET value = ? WHERE key = ?",
                       (str(SCHEMA_VERSION), "schema_version"))

    def schema_version(self, tx: Tx) -> int | None:
        """The store's schema version (None: a store without one yet)."""
        found = tx.execute("SELECT value FROM meta WHERE key = ?", ("schema_version",)).scalar()
        return None if found is None else int(found)

    # ---------------------------------------------------------------------------- snapshots

    def write_snapshot(self, result: SnapshotSource, fingerprint: str | None = None, *,
                       ran_at: dt.datetime | None = None) -> str:
        """Write one scoring run as an immutable snapshot, in one transaction.

        A snapshot of the same model name and ``as_of`` is replaced (deleted and rewritten in
        the same transaction), never duplicated; the alert hits found on the old one go with
        it (:func:`crindex.record.record_run` evaluates the new one and recomputes the
        alerts in the same transaction). Returns the new run id.

        Parameters
        ----------
        result
            A :class:`crindex.api.ScoreResult` (anything with ``model``, ``as_of``, ``table``).
        fingerprint
            The input data's fingerprint, e.g. from :func:`crindex.store.fingerprint`.
        """
        as_of = _date(result.as_of)
        run_id = new_run_id(as_of)
        scores, metric_scores = snapshot_tables(result, run_id)
        holdouts = holdout_rows(result, run_id)
        info = model_info(result.model)
        run = (run_id, result.model.name, model_hash(result.model), as_of, fingerprint,
               ran_at or utc_now(), scores.num_rows, json.dumps(info, ensure_ascii=False))
        with self.transaction() as tx:
            old = tx.execute("SELECT run_id FROM runs WHERE model_name = ? AND as_of = ?",
                             (result.model.name, as_of)).rows()
            for (old_id,) in old:
                for table in ("alert_hits", "alert_runs", "holdouts", "metric_scores",
                              "scores", "runs"):
                    tx.execute(f"DELETE FROM {table} WHERE run_id = ?", (old_id,))
            tx.execute(f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(RUN_COLUMNS))})", run)
            tx.insert("scores", scores)
            tx.insert("metric_scores", metric_scores)
            if holdouts is not None:
                tx.insert("holdouts", holdouts)
        return run_id

    def upsert_rows(self, run: RunInfo, result: SnapshotSource, customers: Sequence[str],
                    fingerprint: str | None = None) -> None:
        """Replace the rows of ``customers`` in snapshot ``run`` by those of ``result``.

        The live rescore's write (:func:`crindex.record.record_live`): the rows of the
        customers it rescored are deleted and written again in one transaction, the other
        customers' rows stay as the run wrote them; ``fingerprint`` replaces the run's data
        fingerprint (which events its rows include) and ``ran_at`` becomes now.
        """
        scores, metric_scores = snapshot_tables(result, run.run_id)
        with self.transaction() as tx:
            for table in ("scores", "metric_scores"):
                _delete_in(tx, f"DELETE FROM {table} WHERE run_id = ? AND customer_id IN ",
                           customers, (run.run_id,))
            tx.insert("scores", scores)
            tx.insert("metric_scores", metric_scores)
            # ran_at moves on: readers that watch the runs (the service's cache) reload
            tx.execute("UPDATE runs SET data_fingerprint = ?, ran_at = ? WHERE run_id = ?",
                       (fingerprint or run.data_fingerprint, utc_now(), run.run_id))

    # ---------------------------------------------------------------------------- events

    def add_events(self, events: Sequence[tuple[str, str, dt.datetime, str]],
                   source: str) -> list[int]:
        """Append data rows sent to the live service, in one transaction; their new ids.

        An event is ``(kind, customer_id, happened_at, row as JSON)``; ``source`` says who
        sent it (``token:NAME``, ``watch:FILE``). Ids grow by one from the largest so far
        (writers take turns, so two writers never take the same id).
        """
        if not events:
            return []
        now = utc_now()
        with self.transaction() as tx:
            start = int(tx.execute("SELECT COALESCE(MAX(event_id), 0) FROM events").scalar()) + 1
            ids = list(range(start, start + len(events)))
            tx.insert("events", pa.table({
                "event_id": pa.array(ids, pa.int64()),
                "kind": pa.array([e[0] for e in events], pa.string()),
                "customer_id": pa.array([e[1] for e in events], pa.string()),
                "happened_at": pa.array([e[2] for e in events], pa.timestamp("us")),
                "row_json": pa.array([e[3] for e in events], pa.string()),
                "received_at": pa.array([now] * len(events), pa.timestamp("us")),
                "source": pa.array([source] * len(events), pa.string()),
            }))
        return ids

    def events_from(self, source: str) -> int:
        """How many kept events came from ``source`` (a watched file already taken in)."""
        with self.reading() as tx:
            return int(tx.execute("SELECT COUNT(*) FROM events WHERE source = ?",
                                  (source,)).scalar())

    def events(self, after: int = 0) -> pd.DataFrame:
        """The events with an id above ``after``, in id order."""
        with self.reading() as tx:
            return tx.execute(
                "SELECT event_id, kind, customer_id, happened_at, row_json, received_at, "
                "source FROM events WHERE event_id > ? ORDER BY event_id", (int(after),)).frame()

    def _runs(self, where: str = "", params: Sequence[Any] = ()) -> list[RunInfo]:
        with self.reading() as tx:
            rows = tx.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs {where} "
                              "ORDER BY model_name, as_of", params).rows()
        return [RunInfo(r[0], r[1], r[2], _date(r[3]), r[4], r[5], int(r[6]), json.loads(r[7]))
                for r in rows]

    def runs(self, model_name: str | None = None) -> list[RunInfo]:
        """Every snapshot (of one model when named), oldest first."""
        if model_name is None:
            return self._runs()
        return self._runs("WHERE model_name = ?", (model_name,))

    def model_names(self) -> list[str]:
        with self.reading() as tx:
            return [r[0] for r in tx.execute(
                "SELECT DISTINCT model_name FROM runs ORDER BY model_name").rows()]

    def resolve_model(self, model_name: str | None) -> str:
        """``model_name``, or the only model in the store; a clear error otherwise."""
        names = self.model_names()
        if model_name is not None:
            if model_name not in names:
                raise store_error(
                    f"the store {self.describe()} has no snapshot of model `{model_name}`",
                    "models in the store: " + (", ".join(names) or "none yet"), "--model")
            return model_name
        if not names:
            raise store_error(f"the store {self.describe()} holds no snapshot yet",
                              "write one with `crindex backfill` or `crindex score --store`")
        if len(names) > 1:
            raise store_error("the store holds snapshots of several models",
                              "choose one with --model: " + ", ".join(names), "--model")
        return names[0]

    def run(self, ref: str, model_name: str | None = None) -> RunInfo:
        """A snapshot by run id, or by ``as_of`` date (YYYY-MM-DD) of a model."""
        found = self._runs("WHERE run_id = ?", (ref,))
        if found:
            return found[0]
        try:
            day = dt.date.fromisoformat(ref)
        except ValueError:
            day = None
        if day is not None:
            name = self.resolve_model(model_name)
            found = self._runs("WHERE model_name = ? AND as_of = ?", (name, day))
            if found:
                return found[0]
        known = self.runs(model_name)[-5:]
        raise store_error(
            f"no snapshot `{ref}` in the store {self.describe()}",
            "give a run id or an as_of date; latest snapshots: "
            + (", ".join(f"{r.run_id} ({r.model_name} {r.as_of})" for r in known) or "none"))

    def latest_run(self, model_name: str | None = None) -> RunInfo:
        name = self.resolve_model(model_name)
        return self.runs(name)[-1]

    def scores(self, run_id: str, customers: Sequence[str] | None = None) -> pd.DataFrame:
        """A snapshot's rows: customer_id, score, tier, coverage, owner, segment, personal, ...

        ... rfm_segment, flags and submodel (the sub-model that scored the row; null without
        sub-models). ``customers`` keeps only theirs (a live rescore reads the customers it
        touched).
        """
        sql = ("SELECT customer_id, score, tier, coverage, owner, segment, personal, "
               "rfm_segment, flags, submodel FROM scores WHERE run_id = ?")
        with self.reading() as tx:
            if customers is None:
                return tx.execute(sql + " ORDER BY customer_id", (run_id,)).frame()
            return _frame_in(tx, sql + " AND customer_id IN ", customers, (run_id,)) \
                .sort_values("customer_id", ignore_index=True)

    def holdouts(self, run_id: str) -> pd.DataFrame:
        """A snapshot's strategy holdout: customer_id, tier, strategy, strategy_group."""
        with self.reading() as tx:
            return tx.execute(
                "SELECT customer_id, tier, strategy, strategy_group FROM holdouts "
                "WHERE run_id = ? ORDER BY customer_id", (run_id,)).frame()

    def metric_scores(self, run_ids: Sequence[str], customer_id: str | None = None,
                      items: Sequence[str] | None = None,
                      customers: Sequence[str] | None = None) -> pd.DataFrame:
        """Long rows of metric and dimension scores for some runs (and one customer)."""
        if not run_ids:
            return pd.DataFrame(columns=["run_id", "customer_id", "kind", "item", "dimension",
                                         "raw_num", "raw_text", "score", "weight",
                                         "contribution", "missing"])
        sql = ("SELECT run_id, customer_id, kind, item, dimension, raw_num, raw_text, score, "
               "weight, contribution, missing FROM metric_scores WHERE run_id IN "
               f"({', '.join('?' * len(run_ids))})")
        params: list[Any] = list(run_ids)
        if customer_id is not None:
            sql += " AND customer_id = ?"
            params.append(customer_id)
        if items:
            sql += f" AND item IN ({', '.join('?' * len(items))})"
            params += list(items)
        with self.reading() as tx:
            if customers is not None:
                return _frame_in(tx, sql + " AND customer_id IN ", customers, tuple(params))
            return tx.execute(sql, params).frame()

    def customer_scores(self, customer_id: str, model_name: str) -> pd.DataFrame:
        """One customer's computed score in every snapshot of a model, oldest first."""
        with self.reading() as tx:
            return tx.execute(
                "SELECT r.run_id, r.as_of, r.model_hash, s.score, s.tier, s.coverage, s.owner "
                "FROM scores s JOIN runs r ON r.run_id = s.run_id "
                "WHERE s.customer_id = ? AND r.model_name = ? ORDER BY r.as_of",
                (customer_id, model_name)).frame()

    def customer_models(self, customer_id: str) -> list[str]:
        with self.reading() as tx:
            return [r[0] for r in tx.execute(
                "SELECT DISTINCT r.model_name FROM scores s JOIN runs r ON r.run_id = s.run_id "
                "WHERE s.customer_id = ? ORDER BY 1", (customer_id,)).rows()]

    def scores_between(self, model_name: str, model_hash: str, since: dt.date,
                       before: dt.date, customers: Sequence[str] | None = None
                       ) -> pd.DataFrame:
        """Scores of a model's snapshots with ``since <= as_of < before`` and the same hash."""
        sql = ("SELECT r.as_of, s.customer_id, s.score, s.tier FROM scores s "
               "JOIN runs r ON r.run_id = s.run_id WHERE r.model_name = ? AND "
               "r.model_hash = ? AND r.as_of >= ? AND r.as_of < ?")
        params = (model_name, model_hash, since, before)
        with self.reading() as tx:
            if customers is not None:
                return _frame_in(tx, sql + " AND s.customer_id IN ", customers, params) \
                    .sort_values("as_of", kind="stable", ignore_index=True)
            return tx.execute(sql + " ORDER BY r.as_of", params).frame()

    def tier_counts(self, model_name: str, by_owner: bool = False) -> pd.DataFrame:
        """Per snapshot (and owner): customers, summed score and customers per tier."""
        group = ", s.owner" if by_owner else ""
        with self.reading() as tx:
            return tx.execute(
                f"SELECT r.run_id, r.as_of{group}, s.tier, COUNT(*) AS customers, "
                "SUM(s.score) AS score_sum, COUNT(s.score) AS scored FROM scores s "
                "JOIN runs r ON r.run_id = s.run_id WHERE r.model_name = ? "
                f"GROUP BY r.run_id, r.as_of{group}, s.tier ORDER BY r.as_of{group}, s.tier",
                (model_name,)).frame()

    def tier_pairs(self, from_run: str, to_run: str) -> pd.DataFrame:
        """Customers per (tier before, tier after); a missing side is None (new or gone)."""
        with self.reading() as tx:
            return tx.execute(
                "SELECT a.tier AS tier_from, b.tier AS tier_to, "
                "a.customer_id IS NULL AS is_new, b.customer_id IS NULL AS is_gone, "
                "COUNT(*) AS customers FROM "
                "(SELECT customer_id, tier FROM scores WHERE run_id = ?) a FULL OUTER JOIN "
                "(SELECT customer_id, tier FROM scores WHERE run_id = ?) b "
                "ON a.customer_id = b.customer_id GROUP BY 1, 2, 3, 4",
                (from_run, to_run)).frame()

    # ---------------------------------------------------------------------------- adjustments

    def add_adjustment(self, customer_id: str, *, reason: str, made_by: str,
                       points: float | None = None, tier: str | None = None,
                       model_name: str | None = None, effective: dt.date | None = None,
                       expires: dt.date | None = None, action: str = "add",
                       revokes: int | None = None,
                       made_at: dt.datetime | None = None) -> Adjustment:
        """Append one entry to the adjustment audit log (entries are never changed)."""
        made_at = made_at or utc_now()
        effective = effective or made_at.date()
        with self.transaction() as tx:
            next_id = int(tx.execute(
                "SELECT COALESCE(MAX(adjustment_id), 0) FROM adjustments").scalar()) + 1
            if revokes is not None:
                target = tx.execute(
                    "SELECT action FROM adjustments WHERE adjustment_id = ?", (revokes,)).rows()
                if not target or target[0][0] != "add":
                    raise store_error(f"there is no adjustment {revokes} to revoke",
                                      "`crindex adjustments` lists them", "--revoke")
            row = Adjustment(next_id, action, customer_id, model_name, points, tier, reason,
                             made_by, made_at, effective, expires, revokes)
            tx.execute(f"INSERT INTO adjustments ({', '.join(ADJUSTMENT_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(ADJUSTMENT_COLUMNS))})",
                       tuple(getattr(row, c) for c in ADJUSTMENT_COLUMNS))
        return row

    def adjustments(self, customer_id: str | None = None) -> list[Adjustment]:
        """The audit log (of one customer), oldest first."""
        sql = f"SELECT {', '.join(ADJUSTMENT_COLUMNS)} FROM adjustments"
        params: tuple[Any, ...] = ()
        if customer_id is not None:
            sql += " WHERE customer_id = ?"
            params = (customer_id,)
        with self.reading() as tx:
            rows = tx.execute(sql + " ORDER BY adjustment_id", params).rows()
        return [Adjustment(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                           _date(r[9]), None if r[10] is None else _date(r[10]),
                           None if r[11] is None else int(r[11])) for r in rows]

    # ---------------------------------------------------------------------------- alerts

    def alert_specs(self, model_name: str) -> dict[str, str]:
        """The alert entries (JSON) each evaluated snapshot of ``model_name`` was evaluated with."""
        with self.reading() as tx:
            rows = tx.execute("SELECT run_id, specs FROM alert_runs WHERE model_name = ?",
                              (model_name,)).rows()
        return {r[0]: r[1] for r in rows}

    def save_hits(self, run: RunInfo, specs: str, hits: Sequence[dict[str, Any]],
                  customers: Sequence[str] | None = None) -> None:
        """Keep what the alert entries ``specs`` (JSON) found on snapshot ``run``.

        Replaces what an earlier evaluation of the same snapshot found (with ``customers``:
        for those customers only, the hits a live rescore evaluated again). A hit is a
        mapping with ``rule_id``, ``customer_id``, ``owner``, ``message`` and ``details``.
        """
        with self.transaction() as tx:
            if customers is None:
                tx.execute("DELETE FROM alert_hits WHERE run_id = ?", (run.run_id,))
            else:
                _delete_in(tx, "DELETE FROM alert_hits WHERE run_id = ? AND customer_id IN ",
                           customers, (run.run_id,))
            tx.execute("DELETE FROM alert_runs WHERE run_id = ?", (run.run_id,))
            tx.execute("INSERT INTO alert_runs (run_id, model_name, specs) VALUES (?, ?, ?)",
                       (run.run_id, run.model_name, specs))
            if hits:
                tx.insert("alert_hits", pa.table({
                    "run_id": pa.array([run.run_id] * len(hits), pa.string()),
                    "rule_id": pa.array([h["rule_id"] for h in hits], pa.string()),
                    "customer_id": pa.array([h["customer_id"] for h in hits], pa.string()),
                    "owner": pa.array([h.get("owner") for h in hits], pa.string()),
                    "message": pa.array([h["message"] for h in hits], pa.string()),
                    "details": pa.array([json.dumps(h.get("details") or {}, default=str,
                                                    sort_keys=True) for h in hits],
                                        pa.string()),
                }))

    def alert_history(self, model_name: str, customers: Sequence[str] | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """What the episodes of ``model_name``'s alerts are derived from.

        Returns (hits, scored): every hit on an evaluated snapshot (``run_id``, ``as_of``,
        ``rule_id``, ``customer_id``, ``owner``, ``message``, ``details``), and for the
        customers with any hit, the evaluated snapshots that scored them (``as_of``,
        ``customer_id``). ``customers`` keeps only theirs.
        """
        if customers is not None:
            with self.reading() as tx:
                hits = _frame_in(
                    tx, "SELECT h.run_id, r.as_of, h.rule_id, h.customer_id, h.owner, "
                    "h.message, h.details FROM alert_hits h JOIN runs r ON r.run_id = h.run_id "
                    "WHERE r.model_name = ? AND h.customer_id IN ", customers, (model_name,))
                scored = _frame_in(
                    tx, "SELECT r.as_of, s.customer_id FROM scores s "
                    "JOIN runs r ON r.run_id = s.run_id "
                    "JOIN alert_runs e ON e.run_id = r.run_id "
                    "WHERE r.model_name = ? AND s.customer_id IN ", customers, (model_name,))
            if len(hits):
                hits = hits.sort_values(["as_of", "rule_id", "customer_id"], ignore_index=True)
            for frame in (hits, scored):
                if len(frame):
                    frame["as_of"] = [_date(v) for v in frame["as_of"]]
            return hits, scored
        with self.reading() as tx:
            hits = tx.execute(
                "SELECT h.run_id, r.as_of, h.rule_id, h.customer_id, h.owner, h.message, "
                "h.details FROM alert_hits h JOIN runs r ON r.run_id = h.run_id "
                "WHERE r.model_name = ? ORDER BY r.as_of, h.rule_id, h.customer_id",
                (model_name,)).frame()
            scored = tx.execute(
                "SELECT r.as_of, s.customer_id FROM scores s "
                "JOIN runs r ON r.run_id = s.run_id "
                "JOIN alert_runs e ON e.run_id = r.run_id "
                "WHERE r.model_name = ? AND s.customer_id IN (SELECT DISTINCT h.customer_id "
                "FROM alert_hits h JOIN runs q ON q.run_id = h.run_id WHERE q.model_name = ?)",
                (model_name, model_name)).frame()
        for frame in (hits, scored):
            if len(frame):
                frame["as_of"] = [_date(v) for v in frame["as_of"]]
        return hits, scored

    def sync_alerts(self, model_name: str, derived: Sequence[dict[str, Any]],
                    managed: set[tuple[str, dt.date]], by: str = "crindex",
                    customers: Sequence[str] | None = None) -> tuple[list[int], list[int]]:
        """Make the alerts of ``model_name`` the episodes ``derived``, in one transaction.

        ``derived`` holds one mapping per episode: the alert's columns (``alert_id`` stable,
        see :func:`crindex.alerts.episodes.alert_id`) plus ``auto_resolve``; with
        ``customers``, the episodes of those customers only, and only their stored alerts are
        compared with it (a live rescore). ``managed`` holds
        the (rule id, as_of) pairs of the evaluated snapshots: a stored alert that started on
        one of them and is not derived any more is withdrawn (deleted with its status
        history), unless a derived episode of the same rule and customer covers its start,
        which then takes over the person's action (``handled``), the status history and the
        delivery log. Alerts of rules or snapshots never evaluated are left as they are. The
        status of a derived alert: resolved when a person resolved it or when its episode
        ended and the rule resolves automatically; acknowledged when a person acknowledged
        it; open otherwise. Returns (new alert ids, in the order of ``derived``; ids that
        became resolved).
        """
        now = utc_now()
        raised: list[int] = []
        resolved: list[int] = []
        with self.transaction() as tx:
            cols = ", ".join(ALERT_COLUMNS)
            sql = f"SELECT {cols} FROM alerts WHERE model_name = ?"
            stored = tx.execute(sql, (model_name,)).frame() if customers is None else \
                _frame_in(tx, sql + " AND customer_id IN ", customers, (model_name,))
            old = {int(r["alert_id"]): r for r in stored.to_dict("records")}
            for r in old.values():
                r["as_of"] = _date(r["as_of"])
                r["cleared_as_of"] = None if _missing(r["cleared_as_of"]) else \
                    _date(r["cleared_as_of"])
                r["handled"] = None if _missing(r["handled"]) else r["handled"]
            new = {int(e["alert_id"]): dict(e) for e in derived}
            for e in new.values():
                e["handled"] = old[e["alert_id"]]["handled"] if e["alert_id"] in old else None
            by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for e in new.values():
                by_key.setdefault((e["rule_id"], e["customer_id"]), []).append(e)
            events: list[tuple[int, str, str]] = []   # (alert id, status, note) by ``by``
            gone: list[int] = []        # withdrawn: the alert and its status history
            moved: list[tuple[int, int]] = []   # (old id, heir id)
            for alert_id, row in old.items():
                if alert_id in new or (row["rule_id"], row["as_of"]) not in managed:
                    continue
                heir = next((e for e in by_key.get((row["rule_id"], row["customer_id"]), [])
                             if e["as_of"] <= row["as_of"] and (
                                 e["cleared_as_of"] is None or row["as_of"] < e["cleared_as_of"])),
                            None)
                if heir is None:
                    gone.append(alert_id)
                    continue
                heir["handled"] = _later(heir["handled"], row["handled"])
                moved.append((alert_id, heir["alert_id"]))
            for table in ("alerts", "alert_events"):
                _execute_in(tx, f"DELETE FROM {table} WHERE alert_id IN ", gone)
            _execute_in(tx, "DELETE FROM alerts WHERE alert_id IN ", [a for a, _ in moved])
            for alert_id, heir_id in moved:
                for table in ("alert_events", "deliveries"):
                    tx.execute(f"UPDATE {table} SET alert_id = ? WHERE alert_id = ?",
                               (heir_id, alert_id))
                heir = new[heir_id]
                events.append((heir_id, heir["handled"] or "open",
                               f"took over alert {alert_id}: the episode now starts on "
                               f"{heir['as_of']}"))
            inserts = []
            # alerts that change the same columns to the same values are updated together
            # (a re-run snapshot moves every episode opening on it to the new run id)
            updates: dict[tuple[tuple[str, ...], tuple[Any, ...]], list[int]] = {}
            for alert_id, e in new.items():   # in the order given (ids raised likewise)
                e["status"] = alert_status(e["handled"], e["cleared_as_of"], e["auto_resolve"])
                before = old.get(alert_id)
                if before is None:
                    inserts.append(e)
                    events.append((alert_id, "open",
                                   f"raised on snapshot {e['run_id']} ({e['as_of']})"))
                    if e["status"] == "resolved":
                        events.append((alert_id, "resolved",
                                       f"condition cleared on {e['cleared_as_of']}"))
                    continue
                changed = tuple(c for c in DERIVED_COLUMNS if not _same(before[c], e[c]))
                if not changed:
                    continue
                updates.setdefault((changed, tuple(e[c] for c in changed)), []).append(alert_id)
                if before["status"] != e["status"]:
                    events.append((alert_id, e["status"],
                                   f"condition cleared on {e['cleared_as_of']}"
                                   if e["status"] == "resolved" else "condition holds again"))
                    if e["status"] == "resolved":
                        resolved.append(alert_id)
            for (changed, values), ids in updates.items():
                _execute_in(tx, f"UPDATE alerts SET {', '.join(f'{c} = ?' for c in changed)}, "
                            "updated_at = ? WHERE alert_id IN ", ids, values + (now,))
            if inserts:
                tx.insert("alerts", pa.Table.from_pylist(
                    [{c: (now if c in ("raised_at", "updated_at") else e.get(c))
                      for c in ALERT_COLUMNS} | {"model_name": model_name} for e in inserts],
                    schema=_ALERT_SCHEMA))
                raised = [e["alert_id"] for e in inserts]
            if events:
                tx.insert("alert_events", pa.table({
                    "alert_id": pa.array([a for a, _, _ in events], pa.int64()),
                    "happened_at": pa.array([now] * len(events), pa.timestamp("us")),
                    "status": pa.array([s for _, s, _ in events], pa.string()),
                    "by_name": pa.array([by] * len(events), pa.string()),
                    "note": pa.array([n for _, _, n in events], pa.string()),
                }))
        return raised, resolved

    def alerts(self, status: str | None = None, model_name: str | None = None,
               owner: str | None = None, ids: Sequence[int] | None = None) -> pd.DataFrame:
        """Alerts, newest snapshot first, filtered by status, model, owner or ids."""
        where: list[str] = []
        params: list[Any] = []
        for col, value in (("status", status), ("model_name", model_name), ("owner", owner)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        if ids is not None:
            if not ids:
                return pd.DataFrame(columns=list(ALERT_COLUMNS))
            where.append(f"alert_id IN ({', '.join('?' * len(ids))})")
            params += [int(i) for i in ids]
        sql = f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.reading() as tx:
            return tx.execute(sql + " ORDER BY as_of DESC, alert_id", params).frame()

    def _log_event(self, tx: Tx, alert_id: int, status: str, by: str, note: str | None,
                   now: dt.datetime) -> None:
        tx.execute("INSERT INTO alert_events (alert_id, happened_at, status, by_name, note) "
                   "VALUES (?, ?, ?, ?, ?)", (alert_id, now, status, by, note))

    def set_alert_status(self, alert_id: int, status: str, by: str,
                         note: str | None = None) -> None:
        """Move an alert on: open -> acknowledged -> resolved (or open -> resolved).

        A person's action is kept with the alert (``handled``) and survives every
        recomputation of the alerts while the alert's episode exists.
        """
        self.set_alerts_status([alert_id], status, by, note)

    def set_alerts_status(self, alert_ids: Sequence[int], status: str, by: str,
                          note: str | None = None) -> None:
        """Move several alerts on in one transaction: all of them, or none.

        Every alert that cannot move (unknown, or already that far) is named in one error,
        and nothing is written.
        """
        if status not in ALERT_STATUSES[1:]:
            raise store_error(f"unknown alert status `{status}`",
                              "use acknowledged or resolved")
        with self.transaction() as tx:
            problems = []
            for alert_id in alert_ids:
                found = tx.execute("SELECT status FROM alerts WHERE alert_id = ?",
                                   (int(alert_id),)).rows()
                if not found:
                    problems.append(f"there is no alert {alert_id} in the store "
                                    f"{self.describe()}")
                elif ALERT_STATUSES.index(found[0][0]) >= ALERT_STATUSES.index(status):
                    problems.append(f"alert {alert_id} is already {found[0][0]}")
            if problems:
                raise store_error("; ".join(problems),
                                  "an alert moves open -> acknowledged -> resolved; "
                                  "`crindex alerts list` shows them")
            now = utc_now()
            for alert_id in alert_ids:
                tx.execute("UPDATE alerts SET status = ?, handled = ?, updated_at = ? "
                           "WHERE alert_id = ?", (status, status, now, int(alert_id)))
                self._log_event(tx, int(alert_id), status, by, note, now)

    def alert_events(self, alert_id: int) -> pd.DataFrame:
        with self.reading() as tx:
            return tx.execute(
                "SELECT alert_id, happened_at, status, by_name, note FROM alert_events "
                "WHERE alert_id = ? ORDER BY happened_at", (int(alert_id),)).frame()

    def log_delivery(self, alert_id: int, channel: str, target: str, attempt: int, ok: bool,
                     status_code: int | None = None, error: str | None = None) -> None:
        """Log one delivery attempt (its own transaction: a crash keeps earlier attempts)."""
        self.log_deliveries([(alert_id, channel, target, attempt, ok, status_code, error)])

    def log_deliveries(self, attempts: Sequence[tuple[Any, ...]]) -> None:
        """Log attempts ``(alert_id, channel, target, attempt, ok, status_code, error)``."""
        if not attempts:
            return
        now = utc_now()
        cols = list(zip(*attempts, strict=True))
        with self.transaction() as tx:
            tx.insert("deliveries", pa.table({
                "alert_id": pa.array([int(a) for a in cols[0]], pa.int64()),
                "channel": pa.array(cols[1], pa.string()),
                "target": pa.array(cols[2], pa.string()),
                "attempt": pa.array(cols[3], pa.int32()),
                "happened_at": pa.array([now] * len(attempts), pa.timestamp("us")),
                "ok": pa.array(cols[4], pa.bool_()),
                "status_code": pa.array(cols[5], pa.int32()),
                "error": pa.array(cols[6], pa.string()),
            }))

    def deliveries(self, alert_id: int | None = None, target: str | None = None) -> pd.DataFrame:
        """Delivery attempts in the order they were made."""
        where: list[str] = []
        params: list[Any] = []
        if alert_id is not None:
            where.append("alert_id = ?")
            params.append(int(alert_id))
        if target is not None:
            where.append("target = ?")
            params.append(target)
        sql = ("SELECT alert_id, channel, target, attempt, happened_at, ok, status_code, error "
               "FROM deliveries")
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.reading() as tx:
            return tx.execute(sql + " ORDER BY happened_at, alert_id, attempt", params).frame()

    # ---------------------------------------------------------------------------- whole store

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, sorted: two dumps are equal when the store did not change."""
        out = {}
        with self.reading() as tx:
            for table in TABLES:
                rows = tx.execute(f"SELECT * FROM {table}").rows()
                out[table] = sorted(rows, key=lambda r: tuple(
                    (v is None, str(v)) for v in r))
        return out

    def iter_tables(self) -> Iterator[str]:
        yield from TABLES


def _execute_in(tx: Tx, sql: str, ids: Sequence[int], params: tuple[Any, ...] = ()) -> None:
    """``sql`` ending in ``IN `` for ``ids``, 500 at a time (nothing when there are none)."""
    for i in range(0, len(ids), 500):
        chunk = [int(a) for a in ids[i:i + 500]]
        tx.execute(sql + f"({', '.join('?' * len(chunk))})", params + tuple(chunk))


def _frame_in(tx: Tx, sql: str, values: Sequence[str], params: tuple[Any, ...] = ()
              ) -> pd.DataFrame:
    """The rows of ``sql`` ending in ``IN `` for text ``values``, 500 at a time, one frame."""
    frames: list[pd.DataFrame] = []
    columns: list[str] = []
    for i in range(0, max(len(values), 1), 500):
        chunk = [str(v) for v in values[i:i + 500]] or [""]
        frame = tx.execute(sql + f"({', '.join('?' * len(chunk))})",
                           params + tuple(chunk)).frame()
        columns = list(frame.columns)
        if len(frame):
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _delete_in(tx: Tx, sql: str, values: Sequence[str], params: tuple[Any, ...] = ()) -> None:
    """``sql`` ending in ``IN `` for text ``values``, 500 at a time."""
    for i in range(0, len(values), 500):
        chunk = [str(v) for v in values[i:i + 500]]
        tx.execute(sql + f"({', '.join('?' * len(chunk))})", params + tuple(chunk))


def alert_status(handled: str | None, cleared: dt.date | None, auto_resolve: bool) -> str:
    """An alert's status from a person's action and its episode (see :meth:`Store.sync_alerts`)."""
    if handled == "resolved" or (cleared is not None and auto_resolve):
        return "resolved"
    return "acknowledged" if handled == "acknowledged" else "open"


def _later(a: str | None, b: str | None) -> str | None:
    """The further of two persons' actions (resolved after acknowledged after none)."""
    rank = {None: 0, "acknowledged": 1, "resolved": 2}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT


def _same(a: Any, b: Any) -> bool:
    if _missing(a) and _missing(b):
        return True
    if _missing(a) or _missing(b):
        return False
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        return _date(a) == _date(b)
    return bool(a == b)


_ALERT_SCHEMA = pa.schema([
    ("alert_id", pa.int64()), ("model_name", pa.string()), ("rule_id", pa.string()),
    ("label", pa.string()), ("severity", pa.string()), ("customer_id", pa.string()),
    ("owner", pa.string()), ("status", pa.string()), ("message", pa.string()),
    ("details", pa.string()), ("run_id", pa.string()), ("as_of", pa.date32()),
    ("raised_at", pa.timestamp("us")), ("updated_at", pa.timestamp("us")),
    ("cleared_as_of", pa.date32()), ("handled", pa.string()),
])
