"""Test helpers: snapshots built by hand (fixtures: ``tests/support/store_fixtures.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pyarrow as pa

from crindex.model.loader import parse_model
from crindex.model.spec import CRIModel
from crindex.store.adjust import tier_for_score
from crindex.store.snapshot import model_info

WATCH_MODEL = """
name: watch
dimensions:
  - id: value
    weight: 60
    metrics:
      - id: spend
        aggregate: sum
        column: amount
        window: 365d
        weight: 100
        normalise: {method: range, min: 0, max: 1000}
  - id: engagement
    weight: 40
    metrics:
      - id: email_recency
        aggregate: days_since_last
        kind: email_opened
        weight: 100
        normalise: {method: range, min: 0, max: 60, direction: lower}
        missing: zero
tiers:
  levels:
    - {id: core, min: 90}
    - {id: potential, min: 70}
    - {id: ordinary, min: 50}
    - {id: at_risk}
"""


def watch_model(extra: str = "") -> CRIModel:
    """A two-metric model (spend 60 %, days since the last e-mail opened 40 %)."""
    return parse_model(WATCH_MODEL + extra, "<watch>")


def fake_result(model: CRIModel, as_of: dt.date | str,
                customers: Mapping[str, Mapping[str, Any]]) -> SimpleNamespace:
    """A result as the engine would give it, from per-customer values chosen by hand.

    ``customers`` maps an id to ``{"score": 80, "owner": "A", "tier": ..., "<metric>":
    (raw, score), "name": ..., "email": ...}``; the tier defaults to the model's threshold tier,
    a metric's contribution is its effective weight x score / 100.
    """
    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of)
    tiers = model_info(model)["tiers"]
    cols: dict[str, list[Any]] = {"customer_id": [], "score": [], "tier": [], "coverage": [],
                                  "owner": [], "segment": []}
    extra_cols = sorted({k for v in customers.values() for k in v if k in ("name", "email")})
    for c in extra_cols:
        cols[c] = []
    for d in model.dimensions:
        cols[f"dim__{d.id}"] = []
    for _, m in model.metrics:
        for suffix in ("raw", "score", "weight", "contribution", "missing"):
            cols[f"{m.id}__{suffix}"] = []
    for cid, values in customers.items():
        score = values.get("score")
        cols["customer_id"].append(cid)
        cols["score"].append(score)
        cols["tier"].append(values.get("tier", tier_for_score(score, tiers)))
        cols["coverage"].append(100.0)
        cols["owner"].append(values.get("owner"))
        cols["segment"].append(values.get("segment"))
        for c in extra_cols:
            cols[c].append(values.get(c))
        for d in model.dimensions:
            cols[f"dim__{d.id}"].append(score)
        for d, m in model.metrics:
            raw, mscore = values.get(m.id, (None, score))
            weight = model.effective_weight(d, m)
            cols[f"{m.id}__raw"].append(raw)
            cols[f"{m.id}__score"].append(mscore)
            cols[f"{m.id}__weight"].append(weight)
            cols[f"{m.id}__contribution"].append(
                None if mscore is None else weight * mscore / 100)
            cols[f"{m.id}__missing"].append(raw is None)
    table = pa.table({k: pa.array(v, pa.bool_() if k.endswith("__missing") else None)
                      for k, v in cols.items()})
    return SimpleNamespace(model=model, as_of=day, table=table)


def big_result(customers: int, as_of: dt.date | str, shift: float = 0.0) -> SimpleNamespace:
    """A snapshot of ``customers`` made-up customers of :func:`watch_model` (for kill tests)."""
    model = watch_model()
    rows = {}
    for i in range(customers):
        score = float((i * 37 + shift) % 101)
        rows[f"C{i:07d}"] = {"score": score, "owner": f"AM-{i % 7}",
                             "spend": (score * 10, score), "email_recency": (i % 90, score)}
    return fake_result(model, as_of, rows)
