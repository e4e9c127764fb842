"""Evaluating a model's alerts on a snapshot of the history store.

Alerts watch the scores the model computed (not manually adjusted ones): an adjustment
changes what people see, not the signal. Comparisons with earlier snapshots use only those of
the same model content hash, so a model change does not read as a customer's score drop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from crindex.alerts.rules import RULES, Situation
from crindex.calendar import window_start
from crindex.model.spec import CRIModel
from crindex.store.base import Store, store_error
from crindex.store.snapshot import RunInfo

UNASSIGNED = "(unassigned)"


@dataclass
class Evaluation:
    """What evaluating (or recording) a snapshot did: the snapshot, alerts raised and resolved."""

    run: RunInfo
    raised: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.run.run_id


def _history_start(model: CRIModel, store: Store, run: RunInfo) -> dt.date | None:
    """The earliest earlier snapshot any rule needs (None: no rule looks back)."""
    starts: list[dt.date] = []
    for spec in model.alerts:
        if spec.rule not in ("score_drop", "tier_downgrade"):
            continue
        start = window_start(run.as_of, spec.within)
        if start is None:  # tier_downgrade without a window: the previous snapshot
            earlier = [r.as_of for r in store.runs(run.model_name)
                       if r.as_of < run.as_of and r.model_hash == run.model_hash]
            start = max(earlier) if earlier else run.as_of
        starts.append(start)
    return min(starts) if starts else None


def situation(model: CRIModel, store: Store, run: RunInfo) -> Situation:
    """Load what the model's rules need about snapshot ``run``."""
    current = store.scores(run.run_id).set_index("customer_id")[["score", "tier", "owner"]]
    start = _history_start(model, store, run)
    if start is None or start >= run.as_of:
        history = pd.DataFrame(columns=["as_of", "customer_id", "score", "tier"])
    else:
        history = store.scores_between(run.model_name, run.model_hash, start, run.as_of)
    metrics = sorted({spec.metric for spec in model.alerts if spec.metric})
    values = store.metric_scores([run.run_id], items=metrics) if metrics else \
        store.metric_scores([])
    return Situation(run.as_of, current, history, values, run.tier_order)


def evaluate_run(store: Store, model: CRIModel, run_ref: str | None = None) -> Evaluation:
    """Evaluate ``model.alerts`` on a snapshot (default: the model's latest) and record them.

    New alerts are raised open and routed to the customer's owner; an alert still open or
    acknowledged for the same rule and customer is not raised again; alerts whose condition
    has cleared resolve themselves (rules with ``auto_resolve``).
    """
    run = store.run(run_ref, model.name) if run_ref else store.latest_run(model.name)
    if run.model_name != model.name:
        raise store_error(f"snapshot {run.run_id} is of model `{run.model_name}`, not "
                          f"`{model.name}`", "evaluate it with the model that wrote it")
    out = Evaluation(run)
    if not model.alerts:
        return out
    s = situation(model, store, run)
    hits = []
    for spec in model.alerts:
        for hit in RULES[spec.rule].evaluate(spec, s):
            owner = s.current.at[hit.customer_id, "owner"]
            hits.append({
                "rule_id": spec.id, "label": spec.label or spec.id, "severity": spec.severity,
                "customer_id": hit.customer_id,
                "owner": owner if isinstance(owner, str) and owner else UNASSIGNED,
                "message": hit.message, "details": hit.details,
            })
    out.raised, out.resolved = store.record_alerts(
        run, hits, {spec.id: spec.auto_resolve for spec in model.alerts},
        set(s.current.index))
    return out
