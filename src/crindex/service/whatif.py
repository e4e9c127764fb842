"""What-if for the model editor: an edited model applied to the latest snapshot, before saving.

The snapshot's metric scores are combined again under the edited weights with the scoring
arithmetic's own definition (:func:`crindex.model.arithmetic.combine`); a metric whose
normaliser changed (its bounds or bins) is first normalised again from the snapshot's raw
values by the engine's normaliser (:func:`crindex.engine.normalisers.normalise`, on DuckDB).
Both the model as it is and as edited are computed the same way on the same customers, so
the difference shown is the edit's alone. Where the model's churn outcome is a static label
and the server has the data, each version's churn AUC on the labelled customers is shown too.
Stores over :data:`SAMPLE` customers are sampled (evenly spaced rows, the same each time),
and the page says so.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from crindex.model.spec import CRIModel
    from crindex.service.cache import SnapshotIndex

#: the most customers a what-if combines (a page answer, not a batch job)
SAMPLE = 20_000


def _renormalised(spec: Any, raw: np.ndarray) -> np.ndarray:
    """``spec``'s scores of the raw values (NaN where there is none or it is not placed)."""
    import ibis
    import pyarrow as pa

    from crindex.engine.connect import connect, execute
    from crindex.engine.normalisers import normalise

    table = ibis.memtable(pa.table({"raw": pa.array(raw, mask=np.isnan(raw))}))
    expr = table.select(s=normalise(spec, table.raw).cast("float64"))
    out = execute(connect("duckdb"), expr).column("s")
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=float)


def metric_scores(snap: SnapshotIndex, model: CRIModel, rows: np.ndarray,
                  before: CRIModel) -> dict[str, np.ndarray]:
    """Each metric's normalised score (NaN = missing) under ``model`` for ``rows``."""
    where = {m["id"]: j for j, m in enumerate(snap.metrics)}
    out: dict[str, np.ndarray] = {}
    old = {m.id: m.normalise for _, m in before.metrics}
    for _, m in model.metrics:
        j = where.get(m.id)
        if j is None:
            out[m.id] = np.full(rows.shape[0], math.nan)
        elif m.normalise != old.get(m.id) and not m.normalise.looks_across:
            out[m.id] = _renormalised(m.normalise, snap.raw[rows, j])
        else:
            scores = snap.metric_score[rows, j].copy()
            scores[snap.missing[rows, j]] = math.nan
            out[m.id] = scores
    return out


def combined(model: CRIModel, scores: dict[str, np.ndarray]) -> tuple[np.ndarray, list[Any]]:
    """Total scores and tiers of every row (the arithmetic's definition, row by row)."""
    from crindex.model.arithmetic import combine

    n = next(iter(scores.values())).shape[0] if scores else 0
    columns = {k: v.tolist() for k, v in scores.items()}
    totals = np.full(n, math.nan)
    for i in range(n):
        got = combine(model, {k: (None if math.isnan(v[i]) else v[i])
                              for k, v in columns.items()}).score
        if got is not None:
            totals[i] = got
    # rank tiers need the engine's ranking of the whole population: not shown
    tiers: list[Any] = [None if math.isnan(s) else model.tiers.tier_of(s)
                        for s in totals.tolist()] if model.tiers.by == "score" else [None] * n
    return totals, tiers


def churn_labels(data: str, model: CRIModel, snap: SnapshotIndex) -> np.ndarray | None:
    """Each customer's churn outcome by the model's static label (``churn: {label: ...}``).

    1.0 / 0.0 aligned with the snapshot's rows (NaN where the data has no label for one);
    None when the model's churn rule is not a static label: other outcomes happen after
    ``as_of``, and the latest snapshot has no "after" in the data yet.
    """
    if model.churn.label is None:
        return None
    from crindex.data import open_dataset
    from crindex.outcomes import label_churn
    from crindex.service.cache import encode_ids

    source = open_dataset(data, model=model)
    table = source.con.to_pyarrow(label_churn(source.tables, model.churn.label))
    out = np.full(snap.size, math.nan)
    rows, found = snap.align(encode_ids(table.column("customer_id")))
    churned = np.asarray(table.column("churned").to_numpy(zero_copy_only=False), dtype=float)
    out[rows[found]] = churned[found]
    return out


def what_if(snap: SnapshotIndex, before: CRIModel, after: CRIModel,
            labels: np.ndarray | None = None) -> dict[str, Any]:
    """Tier mix and mean score of the latest snapshot's customers, as is and as edited.

    With ``labels`` (:func:`churn_labels`), also each version's churn AUC
    (:func:`crindex.stats.churn_auc`) over the customers with a label and a score.
    """
    from crindex.stats import churn_auc

    n = snap.size
    rows = np.arange(n) if n <= SAMPLE else np.linspace(0, n - 1, SAMPLE).astype(np.int64)
    result: dict[str, Any] = {"customers": int(rows.shape[0]), "of": n,
                              "sampled": n > SAMPLE}
    for key, model in (("before", before), ("after", after)):
        totals, tiers = combined(model, metric_scores(snap, model, rows, before))
        scored = totals[~np.isnan(totals)]
        mix: dict[str, int] | None = {lv.id: 0 for lv in model.tiers.levels} \
            if model.tiers.by == "score" else None
        for t in tiers:
            if t is not None and mix is not None:
                mix[t] = mix.get(t, 0) + 1
        result[key] = {"mean_score": float(scored.mean()) if scored.size else None,
                       "mix": mix, "scores": totals, "auc": None}
        if labels is not None:
            known = ~np.isnan(labels[rows]) & ~np.isnan(totals)
            result[key]["auc"] = churn_auc(totals[known], labels[rows][known] > 0.5)
    moved = (result["before"]["scores"] != result["after"]["scores"]) & ~(
        np.isnan(result["before"]["scores"]) & np.isnan(result["after"]["scores"]))
    result["changed"] = int(moved.sum())
    for key in ("before", "after"):
        del result[key]["scores"]
    return result
