"""Evaluating a model's alerts on the snapshots of the history store.

Alerts watch the scores the model computed (not manually adjusted ones): an adjustment
changes what people see, not the signal. Comparisons with earlier snapshots use only those of
the same model content hash, so a model change does not read as a customer's score drop.

Alerts are a function of the history (see :mod:`crindex.alerts.episodes`): evaluating a
snapshot keeps what the rules found on it (``alert_hits``), re-evaluates the later snapshots
whose rules look back at it, and recomputes the alerts of the model from every evaluated
snapshot, all in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crindex.alerts.episodes import Evaluated, alert_id, derive, read_specs, specs_text
from crindex.alerts.rules import RULES, Situation
from crindex.calendar import window_start
from crindex.model.spec import AlertSpec, CRIModel
from crindex.store.base import Store, store_error
from crindex.store.snapshot import RunInfo

UNASSIGNED = "(unassigned)"

#: rules that read earlier snapshots (the others look at one snapshot only)
LOOKS_BACK = ("score_drop", "tier_downgrade")


@dataclass
class Evaluation:
    """What evaluating (or recording) a snapshot did: the snapshot, alerts raised and resolved."""

    run: RunInfo
    raised: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.run.run_id


def _history_start(specs: Sequence[AlertSpec], runs: Sequence[RunInfo],
                   run: RunInfo) -> dt.date | None:
    """The earliest earlier snapshot any rule needs (None: no rule looks back)."""
    starts: list[dt.date] = []
    for spec in specs:
        if spec.rule not in LOOKS_BACK:
            continue
        start = window_start(run.as_of, spec.within)
        if start is None:  # tier_downgrade without a window: the previous snapshot
            earlier = [r.as_of for r in runs if r.model_name == run.model_name
                       and r.as_of < run.as_of and r.model_hash == run.model_hash]
            start = max(earlier) if earlier else run.as_of
        starts.append(start)
    return min(starts) if starts else None


def situation(specs: Sequence[AlertSpec], store: Store, runs: Sequence[RunInfo],
              run: RunInfo, customers: Sequence[str] | None = None) -> Situation:
    """Load what the rules ``specs`` need about snapshot ``run`` (``runs``: the model's).

    ``customers`` loads only theirs (every rule looks at one customer at a time).
    """
    current = store.scores(run.run_id, customers).set_index("customer_id")[
        ["score", "tier", "owner", "flags"]]
    start = _history_start(specs, runs, run)
    if start is None or start >= run.as_of:
        history = pd.DataFrame(columns=["as_of", "customer_id", "score", "tier"])
    else:
        history = store.scores_between(run.model_name, run.model_hash, start, run.as_of,
                                       customers)
    metrics = sorted({spec.metric for spec in specs if spec.metric})
    values = store.metric_scores([run.run_id], items=metrics, customers=customers) \
        if metrics else store.metric_scores([])
    return Situation(run.as_of, current, history, values, run.tier_order)


def find_hits(specs: Sequence[AlertSpec], s: Situation) -> list[dict[str, Any]]:
    """Every (rule, customer) the rules ``specs`` fire for on the snapshot of ``s``."""
    hits = []
    owners = s.current["owner"].to_dict()
    for spec in specs:
        for hit in RULES[spec.rule].evaluate(spec, s):
            owner = owners.get(hit.customer_id)
            hits.append({
                "rule_id": spec.id, "customer_id": hit.customer_id,
                "owner": owner if isinstance(owner, str) and owner else UNASSIGNED,
                "message": hit.message, "details": hit.details,
            })
    return hits


def _looks_back_to(specs: Sequence[AlertSpec], runs: Sequence[RunInfo], later: RunInfo,
                   day: dt.date) -> bool:
    """Whether the rules ``specs`` evaluated on ``later`` read the snapshot of ``day``."""
    start = _history_start(specs, runs, later)
    return start is not None and start <= day < later.as_of


def update_alerts(store: Store, model: CRIModel, run: RunInfo,
                  by: str = "crindex", customers: Sequence[str] | None = None) -> Evaluation:
    """Evaluate ``model.alerts`` on snapshot ``run`` and recompute the model's alerts.

    Inside one transaction: the hits of ``run`` are kept with the entries they were found
    with; the later evaluated snapshots whose rules look back at ``run`` (a score drop within
    ``7d``, the previous tier) are evaluated again with their own entries; then every alert of
    the model is recomputed from the evaluated snapshots (:func:`crindex.alerts.episodes.derive`)
    and the ``alerts`` table made to match (:meth:`crindex.store.Store.sync_alerts`).

    ``customers`` does all of this for those customers only (a live rescore,
    :func:`crindex.record.record_live`): every rule and every episode is one customer's, so
    their alerts come out as a whole evaluation would make them, and the others' stay.
    """
    with store.transaction():
        runs = store.runs(model.name)
        texts = store.alert_specs(model.name)
        texts[run.run_id] = specs_text(model.alerts)
        specs: dict[str, Mapping[str, AlertSpec]] = {rid: read_specs(t)
                                                     for rid, t in texts.items()}
        todo = [r for r in runs if r.run_id == run.run_id or (
            r.as_of > run.as_of and r.run_id in specs
            and _looks_back_to(list(specs[r.run_id].values()), runs, r, run.as_of))]
        for r in todo:
            own = list(specs[r.run_id].values())
            store.save_hits(r, texts[r.run_id],
                            find_hits(own, situation(own, store, runs, r, customers)), customers)
        hits, scored = store.alert_history(model.name, customers)
        evaluated = [Evaluated(r.run_id, r.as_of, specs[r.run_id]) for r in runs
                     if r.run_id in specs]
        managed = {(rule_id, e.as_of) for e in evaluated for rule_id in e.specs}
        raised, resolved = store.sync_alerts(
            model.name, derive(model.name, evaluated, hits, scored), managed, by, customers)
    return Evaluation(run, raised, resolved)


def evaluate_run(store: Store, model: CRIModel, run_ref: str | None = None) -> Evaluation:
    """Evaluate ``model.alerts`` on a snapshot (default: the model's latest) and record them.

    The alerts of the model are then those of its history (see
    :mod:`crindex.alerts.episodes`): an episode opens where a rule first holds for a customer
    and, with ``auto_resolve``, resolves where it first stops holding; evaluating the same
    snapshot again changes nothing.
    """
    with store.transaction():
        run = store.run(run_ref, model.name) if run_ref else store.latest_run(model.name)
        if run.model_name != model.name:
            raise store_error(f"snapshot {run.run_id} is of model `{run.model_name}`, not "
                              f"`{model.name}`", "evaluate it with the model that wrote it")
        if not model.alerts:
            return Evaluation(run)
        return update_alerts(store, model, run)


def import_alerts(store: Store, run: RunInfo, hits: Sequence[Mapping[str, Any]],
                  by: str = "crindex") -> list[int]:
    """Add open alerts as they are given (not derived from the history); returns their ids.

    For alerts raised elsewhere (and test worlds): a hit has ``rule_id``, ``label``,
    ``severity``, ``customer_id``, ``owner``, ``message`` and ``details``; its id is the
    stable id of an episode opening on ``run``. An alert of a rule that the snapshot was
    evaluated with is recomputed by the next recorded run; others stay as they are.
    """
    import json

    rows = [{"alert_id": alert_id(run.model_name, h["rule_id"], h["customer_id"], run.as_of),
             "rule_id": h["rule_id"], "label": h.get("label"), "severity": h["severity"],
             "customer_id": h["customer_id"], "owner": h.get("owner"), "message": h["message"],
             "details": json.dumps(h.get("details") or {}, default=str, sort_keys=True),
             "run_id": run.run_id, "as_of": run.as_of, "cleared_as_of": None,
             "auto_resolve": False} for h in hits]
    raised, _ = store.sync_alerts(run.model_name, rows, set(), by)
    return raised
