"""The pipeline's last step: keep a scoring run in the history store.

One function records a run for every face (``crindex score --store``, ``crindex backfill``,
``POST /v1/runs``): the run's snapshot and the alerts the model's rules raise and resolve on
it, in **one** store transaction, so a failure anywhere (a rule, the disk, the server) leaves
the store as it was: no snapshot without its alerts, no alert without its snapshot.

>>> from crindex.record import record_run
>>> from crindex.store import fingerprint, open_store
>>> store = open_store("history.duckdb")
>>> record = record_run(store, result, fingerprint("data/"))   # doctest: +SKIP
>>> record.run_id, record.raised, record.resolved              # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt

from crindex.alerts.evaluate import Evaluation, update_alerts
from crindex.store.base import Store
from crindex.store.snapshot import SnapshotSource


def record_run(store: Store, result: SnapshotSource, data_fingerprint: str | None, *,
               alerts: bool = True, ran_at: dt.datetime | None = None) -> Evaluation:
    """Write ``result`` as a snapshot and evaluate the model's alerts on it, in one transaction.

    Parameters
    ----------
    store
        The history store (:func:`crindex.store.open_store`).
    result
        A :class:`crindex.api.ScoreResult` (anything with ``model``, ``as_of`` and ``table``).
    data_fingerprint
        The input data's fingerprint (:func:`crindex.store.fingerprint`), kept with the run.
    alerts
        ``False`` writes the snapshot only (``crindex backfill --no-alerts``).
    ran_at
        When the run happened (default: now, UTC).

    Returns
    -------
    Evaluation
        The snapshot's header row (``.run``, ``.run_id``) and the alert ids raised and
        resolved (empty when the model declares no alerts or ``alerts`` is false).
    """
    with store.transaction():
        run_id = store.write_snapshot(result, data_fingerprint, ran_at=ran_at)
        run = store.run(run_id)
        if alerts and result.model.alerts:
            return update_alerts(store, result.model, run)
        return Evaluation(run)
