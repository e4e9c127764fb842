"""Alerts as a function of history: the episodes of a rule for a customer.

An **episode** opens on the first snapshot (in ``as_of`` order) where a rule holds for a
customer and ends on the first later snapshot that scores the customer and where the rule no
longer holds (``cleared_as_of``); a snapshot that does not score the customer, or was not
evaluated with the rule, neither opens nor ends one. Each episode is one alert, whose id is
derived from what identifies the episode (:func:`alert_id`): the same history gives the same
alerts, with the same ids, whatever the order the snapshots were written in, however often
one was re-run, and whichever of two concurrent runs committed first.

This module is pure (no store): :func:`crindex.alerts.evaluate.update_alerts` feeds it the
hits kept in the store and writes what it returns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crindex.model.spec import AlertSpec

#: alert ids stay below 2^53, so JSON readers (JavaScript) hold them exactly
ID_BITS = 53


def alert_id(model_name: str, rule_id: str, customer_id: str, start: dt.date) -> int:
    """The stable id of the episode of ``rule_id`` for ``customer_id`` opening on ``start``.

    The first 53 bits of SHA-256 over the four values (1 when they happen to be all zero),
    so recomputing the alerts from the same history gives the same ids.
    """
    text = "\0".join((model_name, rule_id, customer_id, start.isoformat()))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") & ((1 << ID_BITS) - 1)) or 1


@dataclass(frozen=True)
class Evaluated:
    """One snapshot whose alerts were evaluated, with the alert entries it was evaluated with."""

    run_id: str
    as_of: dt.date
    specs: Mapping[str, AlertSpec]


def specs_text(specs: Sequence[AlertSpec]) -> str:
    """Alert entries as the JSON kept with an evaluated snapshot (``alert_runs.specs``)."""
    return json.dumps([s.model_dump(mode="json") for s in specs], sort_keys=True,
                      ensure_ascii=False)


def read_specs(text: str) -> dict[str, AlertSpec]:
    """The alert entries of :func:`specs_text`, by id."""
    return {d["id"]: AlertSpec.model_validate(d) for d in json.loads(text)}


def derive(model_name: str, evaluated: Sequence[Evaluated], hits: pd.DataFrame,
           scored: pd.DataFrame) -> list[dict[str, Any]]:
    """Every episode of ``model_name``'s alerts, as the rows of the ``alerts`` table.

    Parameters
    ----------
    evaluated
        The evaluated snapshots (any order).
    hits
        ``run_id``, ``as_of``, ``rule_id``, ``customer_id``, ``owner``, ``message``,
        ``details``: the rules that held, per snapshot and customer.
    scored
        ``as_of``, ``customer_id``: which evaluated snapshots scored the customers with hits.

    Returns
    -------
    list of dict
        Per episode: ``alert_id``, ``rule_id``, ``label``, ``severity`` (of the entry the
        opening snapshot was evaluated with), ``customer_id``, ``owner``, ``message``,
        ``details``, ``run_id`` (of the opening hit), ``as_of`` (the opening date),
        ``cleared_as_of`` (None while it lasts) and ``auto_resolve`` (of the entry the
        clearing snapshot was evaluated with).
    """
    days = sorted(evaluated, key=lambda e: e.as_of)
    seen: dict[str, set[dt.date]] = {}
    for day, cid in zip(scored["as_of"], scored["customer_id"], strict=True):
        seen.setdefault(str(cid), set()).add(day)
    fired: dict[tuple[str, str], dict[dt.date, dict[str, Any]]] = {}
    names = list(hits.columns)
    for values in zip(*(hits[c] for c in names), strict=True):
        rec = dict(zip(names, values, strict=True))
        fired.setdefault((rec["rule_id"], str(rec["customer_id"])), {})[rec["as_of"]] = rec
    out: list[dict[str, Any]] = []
    for (rule_id, cid), by_day in sorted(fired.items()):
        opened: tuple[Evaluated, dict[str, Any]] | None = None
        for snap in days:
            if rule_id not in snap.specs:
                continue
            hit = by_day.get(snap.as_of)
            if hit is not None and opened is None:
                opened = (snap, hit)
            elif hit is None and opened is not None and snap.as_of in seen.get(cid, ()):
                out.append(_episode(model_name, rule_id, cid, opened, snap))
                opened = None
        if opened is not None:
            out.append(_episode(model_name, rule_id, cid, opened, None))
    return out


def _episode(model_name: str, rule_id: str, customer_id: str,
             opened: tuple[Evaluated, dict[str, Any]], cleared: Evaluated | None
             ) -> dict[str, Any]:
    snap, hit = opened
    spec = snap.specs[rule_id]
    return {
        "alert_id": alert_id(model_name, rule_id, customer_id, snap.as_of),
        "rule_id": rule_id, "label": spec.label or spec.id, "severity": spec.severity,
        "customer_id": customer_id,
        "owner": hit.get("owner"),
        "message": hit["message"], "details": hit["details"], "run_id": snap.run_id,
        "as_of": snap.as_of,
        "cleared_as_of": None if cleared is None else cleared.as_of,
        "auto_resolve": (cleared or snap).specs[rule_id].auto_resolve,
    }
