"""Manual adjustments: an append-only log applied on top of computed scores when read.

A snapshot keeps the score the model computed; adjustments live in their own table and are
applied whenever history is read, so they survive every rescore and never alter what the
model said. An adjustment is in force for the snapshots whose ``as_of`` falls in
``[effective, expires)``, unless a later ``revoke`` entry (in force from its own
``effective`` date) withdraws it. Entries are only ever appended, never changed.

Applying them to one customer's snapshot (in adjustment id order):

- ``points``: added up; the adjusted score is ``score + sum(points)`` clipped to 0..100, and
  on a model with score tiers the tier follows the adjusted score;
- ``tier``: the most recent tier override in force sets the tier, whatever the score.

An override to a tier the snapshot's model does not have (``--tier core`` made before a
model change removed ``core``) is **stale**: it is never applied (its step says why, see
:func:`stale_reason`), and scoring and ``crindex adjustments`` report it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from crindex.store.snapshot import stored_tiers


@dataclass(frozen=True)
class Adjustment:
    """One entry of the audit log (table ``adjustments``)."""

    adjustment_id: int
    action: str  # "add" or "revoke"
    customer_id: str
    model_name: str | None
    points: float | None
    tier: str | None
    reason: str
    made_by: str
    made_at: dt.datetime
    effective: dt.date
    expires: dt.date | None
    revokes: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def in_force(adjustments: Iterable[Adjustment], customer_id: str, model_name: str,
             as_of: dt.date) -> list[Adjustment]:
    """The ``add`` entries in force for one customer's snapshot of a model at ``as_of``.

    In the order they were made; ``revoke`` entries in force at ``as_of`` withdraw theirs.
    """
    entries = [a for a in adjustments if a.customer_id == customer_id
               and a.model_name in (None, model_name)]
    revoked = {a.revokes for a in entries if a.action == "revoke" and a.effective <= as_of}
    return sorted(
        (a for a in entries if a.action == "add" and a.effective <= as_of
         and (a.expires is None or as_of < a.expires) and a.adjustment_id not in revoked),
        key=lambda a: a.adjustment_id,
    )


def tier_for_score(score: float | None, tiers: dict[str, Any]) -> str | None:
    """The tier of ``score`` under the score thresholds recorded in ``model_info['tiers']``.

    The model's own rule (:meth:`crindex.model.spec.TiersSpec.tier_of`) on the recorded tiers.
    """
    return stored_tiers(tiers).tier_of(score)


@dataclass(frozen=True)
class Adjusted:
    """A snapshot's computed values and what the adjustments in force make of them."""

    score: float | None
    tier: str | None
    adjusted_score: float | None
    adjusted_tier: str | None
    steps: list[dict[str, Any]]


def stale_reason(adjustment: Adjustment, tiers: dict[str, Any]) -> str | None:
    """Why ``adjustment`` cannot apply under the tiers of ``model_info['tiers']``, or None.

    A tier override is stale when the model has no such tier (any more).
    """
    ids = [str(lv["id"]) for lv in tiers.get("levels", [])]
    if adjustment.tier is not None and ids and adjustment.tier not in ids:
        return (f"adjustment {adjustment.adjustment_id} sets tier `{adjustment.tier}`, which "
                f"the model does not have (its tiers: {', '.join(ids)}); not applied")
    return None


def stale_in_force(adjustments: Iterable[Adjustment], model_name: str, as_of: dt.date,
                   tiers: dict[str, Any]) -> list[tuple[Adjustment, str]]:
    """The adjustments in force at ``as_of`` for a model that its tiers make stale."""
    log = list(adjustments)
    out = []
    for customer_id in dict.fromkeys(a.customer_id for a in log):
        for a in in_force(log, customer_id, model_name, as_of):
            reason = stale_reason(a, tiers)
            if reason is not None:
                out.append((a, f"customer `{customer_id}`: {reason}"))
    return out


def apply(score: float | None, tier: str | None, entries: list[Adjustment],
          tiers: dict[str, Any]) -> Adjusted:
    """Apply ``entries`` (from :func:`in_force`) to a computed score and tier.

    ``steps`` lists each entry with the score and tier after it, as ``explain`` shows them;
    a stale entry (:func:`stale_reason`) changes nothing and its step carries ``stale``.
    """
    current_score, current_tier = score, tier
    total = 0.0
    override: str | None = None
    steps = []
    for a in entries:
        reason = stale_reason(a, tiers)
        if a.points is not None and score is not None:
            total += a.points
            current_score = min(100.0, max(0.0, score + total))
            if override is None and tiers.get("by", "score") == "score":
                current_tier = tier_for_score(current_score, tiers)
        if a.tier is not None and reason is None:
            override = a.tier
            current_tier = a.tier
        step = a.to_dict()
        step.update(score_after=current_score, tier_after=current_tier)
        if reason is not None:
            step["stale"] = reason
        steps.append(step)
    return Adjusted(score, tier, current_score, current_tier, steps)
