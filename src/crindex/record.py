"""The pipeline's last step: keep a scoring run in the history store.

One function records a run for every face (``crindex score --store``, ``crindex backfill``,
``POST /v1/runs``): the run's snapshot, what the model's alert rules find on it, and the
model's alerts recomputed from the history (:mod:`crindex.alerts.episodes`), in **one** store
transaction, so a failure anywhere (a rule, the disk, the server, a SIGKILL) leaves the store
as it was: no snapshot without its alerts, no alert without its snapshot. The transaction
holds the store from its first read to its commit (DuckDB's file lock, PostgreSQL's advisory
lock), so two runs at once take turns and the second recomputes the alerts with the first's
snapshot in the history.

>>> from crindex.record import record_run
>>> from crindex.store import fingerprint, open_store
>>> store = open_store("history.duckdb")
>>> record = record_run(store, result, fingerprint("data/"))   # doctest: +SKIP
>>> record.run_id, record.raised, record.resolved              # doctest: +SKIP

A **live rescore** (:mod:`crindex.live`) is recorded by :func:`record_live`: the live run of a
model and ``as_of`` is the snapshot of the last full run at that date, and each rescore
replaces the rows of the customers it touched in it (scores and metric scores), then
evaluates the alert rules and recomputes the alerts of those customers only, all in one
transaction. The run keeps its id; its ``ran_at`` becomes the rescore's time and its
``data_fingerprint`` ends in ``+events:N`` (the last event its rows include).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from crindex.alerts.evaluate import Evaluation, update_alerts
from crindex.store.base import Store
from crindex.store.snapshot import SnapshotSource


def record_run(store: Store, result: SnapshotSource, data_fingerprint: str | None, *,
               alerts: bool = True, ran_at: dt.datetime | None = None) -> Evaluation:
    """Write ``result`` as a snapshot and recompute the model's alerts, in one transaction.

    Parameters
    ----------
    store
        The history store (:func:`crindex.store.open_store`).
    result
        A :class:`crindex.api.ScoreResult` (anything with ``model``, ``as_of`` and ``table``).
    data_fingerprint
        The input data's fingerprint (:func:`crindex.store.fingerprint`), kept with the run.
    alerts
        ``False`` writes the snapshot only (``crindex backfill --no-alerts``): the alert
        rules are not evaluated on it until ``crindex alerts evaluate --run`` does.
    ran_at
        When the run happened (default: now, UTC).

    Returns
    -------
    Evaluation
        The snapshot's header row (``.run``, ``.run_id``), the ids of the alerts the
        recomputation added and of those it resolved (empty when the model declares no
        alerts or ``alerts`` is false).
    """
    with store.transaction():
        run_id = store.write_snapshot(result, data_fingerprint, ran_at=ran_at)
        run = store.run(run_id)
        if alerts and result.model.alerts:
            return update_alerts(store, result.model, run)
        return Evaluation(run)


def record_live(store: Store, result: SnapshotSource, customers: Sequence[str],
                data_fingerprint: str | None = None, *, alerts: bool = True) -> Evaluation:
    """Upsert the rows of ``customers`` into the live run and update their alerts, at once.

    Parameters
    ----------
    result
        The rescored rows (anything with ``model``, ``as_of`` and ``table``): customers of
        ``customers`` that are not in it (no longer active) lose their rows.
    customers
        The customers the rescore touched.
    data_fingerprint
        The run's new data fingerprint (which events it includes).

    Raises
    ------
    StoreError
        When the store holds no run of the model at ``result.as_of`` (the live run starts
        with a full run: :func:`record_run`).
    """
    with store.transaction():
        run = store.run(result.as_of.isoformat(), result.model.name)
        store.upsert_rows(run, result, customers, data_fingerprint)
        run = store.run(run.run_id)
        if alerts and result.model.alerts:
            return update_alerts(store, result.model, run, customers=customers)
        return Evaluation(run)
