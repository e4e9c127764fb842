"""``crindex adjust``: checking a manual adjustment and recording it in the audit log."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from crindex.errors import Problem, Reason, StoreError, raise_if
from crindex.store.adjust import Adjustment, apply, in_force, stale_in_force, stale_reason
from crindex.store.base import Store
from crindex.store.history import model_for_customer

if TYPE_CHECKING:
    from crindex.model.spec import CRIModel


def adjust(store: Store, customer_id: str, *, reason: str, by: str,
           points: float | None = None, tier: str | None = None, revoke: int | None = None,
           expires: dt.date | None = None, effective: dt.date | None = None,
           model_name: str | None = None) -> tuple[Adjustment, str]:
    """Append an adjustment (or the revocation of one) for a customer of a model.

    It is in force for the snapshots with ``effective <= as_of < expires``; ``effective``
    defaults to the customer's latest snapshot, so the adjustment shows at once and in every
    later snapshot. Returns the entry and a sentence saying what it does to that snapshot.
    """
    problems: list[Problem] = []

    def bad(message: str, where: str, hint: str = "") -> None:
        problems.append(Problem(message, where, hint, Reason.BAD_PARAMETER))

    if revoke is None:
        if (points is None) == (tier is None):
            bad("give either --points or --tier", "--points/--tier",
                "e.g. --points +5 or --tier core")
        if points is not None and (points == 0 or not -100 <= points <= 100):
            bad(f"--points {points:g} is out of range", "--points",
                "a change between -100 and +100, not 0")
    elif points is not None or tier is not None:
        bad("--revoke takes no --points or --tier", "--revoke",
            "revoke first, then add a new adjustment")
    if not reason.strip():
        bad("--reason is empty", "--reason", "say why, for the audit log")
    if not by.strip():
        bad("--by is empty", "--by", "say who decides, for the audit log")
    name = model_for_customer(store, customer_id, model_name)
    series = store.customer_scores(customer_id, name)
    latest = store.run(str(series.run_id.iloc[-1]))
    tiers = latest.model_info.get("tiers", {})
    if tier is not None and tier not in latest.tier_order:
        bad(f"unknown tier `{tier}`", "--tier", "tiers of model " + name + ": "
            + ", ".join(latest.tier_order))
    effective = effective or latest.as_of
    if expires is not None and expires <= effective:
        bad(f"--expires {expires} is not after the start {effective}", "--expires",
            "an adjustment is in force for snapshots from --from up to the day before "
            "--expires")
    if revoke is not None and revoke not in {a.adjustment_id for a in store.adjustments(
            customer_id) if a.action == "add"}:
        bad(f"customer `{customer_id}` has no adjustment {revoke}", "--revoke",
            f"`crindex adjustments {customer_id}` lists them")
    raise_if(problems, StoreError, "the adjustment was not recorded")
    if revoke is not None:
        entry = store.add_adjustment(customer_id, reason=reason, made_by=by, model_name=name,
                                     effective=effective, action="revoke", revokes=revoke)
    else:
        entry = store.add_adjustment(customer_id, reason=reason, made_by=by, points=points,
                                     tier=tier, model_name=name, effective=effective,
                                     expires=expires)
    row = series.iloc[-1]
    score = None if row.score != row.score else float(row.score)
    result = apply(score, row.tier, in_force(store.adjustments(customer_id), customer_id,
                                             name, latest.as_of), tiers)
    until = f" until {expires}" if expires else ""
    shown = "-" if result.adjusted_score is None else f"{result.adjusted_score:.1f}"
    computed = "-" if score is None else f"{score:.1f}"
    effect = (f"{customer_id} ({name}) as of {latest.as_of}: computed {computed} "
              f"({row.tier}), now {shown} ({result.adjusted_tier}); in force from "
              f"{effective}{until}")
    return entry, effect


def stale_warnings(store: Store, model: CRIModel, as_of: dt.date) -> list[str]:
    """One line per adjustment in force at ``as_of`` that ``model``'s tiers make stale.

    What ``crindex score --store`` and ``POST /v1/runs`` report after recording a run.
    """
    from crindex.store.snapshot import model_info

    found = stale_in_force(store.adjustments(), model.name, as_of, model_info(model)["tiers"])
    return [f"stale adjustment: {text}" for _, text in found]


def stale_log(store: Store, log: list[Adjustment]) -> dict[int, str]:
    """Adjustment id -> why it is stale under the latest snapshot of its model.

    An adjustment made for any model (no model name) is stale when no model in the store
    has its tier. Revocations and adjustments of a model without snapshots are not judged.
    """
    latest = {}
    for run in store.runs():
        latest[run.model_name] = run  # runs come oldest first
    out: dict[int, str] = {}
    for a in log:
        if a.action != "add":
            continue
        models = [a.model_name] if a.model_name else list(latest)
        reasons = [stale_reason(a, latest[m].model_info.get("tiers", {}))
                   for m in models if m in latest]
        if reasons and all(reasons):
            out[a.adjustment_id] = str(reasons[0])
    return out
