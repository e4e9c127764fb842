"""Reading the history: one customer's series, the portfolio trend, tier migration, explain.

``history`` shows adjusted values (computed score plus the adjustments in force at each
snapshot's ``as_of``) beside the computed ones; ``trend`` and ``migration`` describe what the
model computed, so a manual correction never hides a portfolio movement.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from crindex.store.adjust import apply, in_force
from crindex.store.base import Store, one_read, store_error
from crindex.store.snapshot import stored_tier_labels

if TYPE_CHECKING:
    from crindex.api import Explanation, ScoreResult

NEW, GONE, UNSCORED = "(new)", "(gone)", "(unscored)"


def model_for_customer(store: Store, customer_id: str, model_name: str | None) -> str:
    models = store.customer_models(customer_id)
    if not models:
        raise store_error(f"customer `{customer_id}` has no snapshot in the store "
                          f"{store.describe()}",
                          "check the id; only scored customers (active at as_of) are stored")
    if model_name is None:
        if len(models) > 1:
            raise store_error(f"customer `{customer_id}` is scored by several models",
                              "choose one with --model: " + ", ".join(models), "--model")
        return models[0]
    if model_name not in models:
        raise store_error(f"customer `{customer_id}` has no snapshot of model `{model_name}`",
                          "models scoring this customer: " + ", ".join(models), "--model")
    return model_name


def what_moved(components: pd.DataFrame, top: int = 3) -> dict[str, str]:
    """Per run id: the metrics whose contribution changed most since the previous run.

    ``components`` holds one customer's metric rows (run_id, as_of, item, contribution)
    ordered by ``as_of``; the text reads ``recency -6.25, annual_spend +2.00``.
    """
    if components.empty:
        return {}
    wide = components.pivot_table(index=["as_of", "run_id"], columns="item",
                                  values="contribution", aggfunc="first").sort_index()
    wide = wide.fillna(0.0)
    out: dict[str, str] = {}
    previous = None
    for (_, run_id), row in wide.iterrows():
        if previous is not None:
            delta = (row - previous).round(2)
            delta = delta[delta.abs() >= 0.01]
            ordered = delta.reindex(delta.abs().sort_values(ascending=False).index)[:top]
            out[str(run_id)] = ", ".join(f"{k} {v:+.2f}" for k, v in ordered.items())
        previous = row
    return out


@one_read
def customer_history(store: Store, customer_id: str,
                     model_name: str | None = None) -> pd.DataFrame:
    """One customer's snapshots, oldest first, with adjustments applied and what moved.

    Columns: ``as_of``, ``run_id``, ``score``, ``tier``, ``tier_label``, ``coverage``,
    ``owner``, ``adjusted_score``, ``adjusted_tier``, ``adjusted_tier_label`` (labels as the
    snapshot's model named its tiers), ``change`` (adjusted score minus the previous one),
    ``tier_change`` (``potential -> ordinary``), ``moved_by`` (the metric contributions that
    changed most), ``adjustments`` (ids in force), ``model_changed`` (the model's content hash
    differs from the previous snapshot's).
    """
    name = model_for_customer(store, customer_id, model_name)
    series = store.customer_scores(customer_id, name)
    runs = {r.run_id: r for r in store.runs(name)}
    log = store.adjustments(customer_id)
    comps = store.metric_scores(list(series.run_id), customer_id)
    comps = comps[comps.kind == "metric"].merge(series[["run_id", "as_of"]], on="run_id")
    moved = what_moved(comps)
    rows: list[dict[str, Any]] = []
    prev_score = prev_tier = prev_hash = None
    for rec in series.itertuples(index=False):
        run = runs[rec.run_id]
        score = None if pd.isna(rec.score) else float(rec.score)
        adj = apply(score, rec.tier, in_force(log, customer_id, name, run.as_of),
                    run.model_info.get("tiers", {}))
        labels = stored_tier_labels(run.model_info.get("tiers", {}))
        rows.append({
            "as_of": run.as_of, "run_id": rec.run_id, "score": score, "tier": rec.tier,
            "tier_label": labels.get(rec.tier, rec.tier) if rec.tier else None,
            "coverage": rec.coverage, "owner": rec.owner,
            "adjusted_score": adj.adjusted_score, "adjusted_tier": adj.adjusted_tier,
            "adjusted_tier_label": (labels.get(adj.adjusted_tier, adj.adjusted_tier)
                                    if adj.adjusted_tier else None),
            "change": (None if prev_score is None or adj.adjusted_score is None
                       else adj.adjusted_score - prev_score),
            "tier_change": (f"{prev_tier} -> {adj.adjusted_tier}"
                            if prev_tier is not None and prev_tier != adj.adjusted_tier else ""),
            "moved_by": moved.get(rec.run_id, ""),
            "adjustments": [s["adjustment_id"] for s in adj.steps],
            "model_changed": prev_hash is not None and prev_hash != run.model_hash,
        })
        prev_score, prev_tier, prev_hash = adj.adjusted_score, adj.adjusted_tier, run.model_hash
    return pd.DataFrame(rows)


def _tier_order(store: Store, model_name: str) -> list[str]:
    order: list[str] = []
    for run in store.runs(model_name):
        for tier in run.tier_order:
            if tier not in order:
                order.append(tier)
    return order


@one_read
def trend(store: Store, model_name: str | None = None, by: str | None = None) -> pd.DataFrame:
    """Average score and tier shares (%) per snapshot, or per snapshot and owner.

    Columns: ``as_of``, ``run_id``, [``owner``], ``customers``, ``mean_score``, then
    ``<tier>`` (% of the snapshot's customers, or of the owner's) in the model's tier order.
    """
    if by not in (None, "owner"):
        raise store_error(f"cannot break the trend down by `{by}`", "use --by owner", "--by")
    name = store.resolve_model(model_name)
    counts = store.tier_counts(name, by_owner=by == "owner")
    keys = ["as_of", "run_id"] + (["owner"] if by else [])
    if by:
        counts["owner"] = counts["owner"].fillna("(none)")
    counts["tier"] = counts["tier"].fillna(UNSCORED)
    totals = counts.groupby(keys, sort=True).agg(
        customers=("customers", "sum"), score_sum=("score_sum", "sum"), scored=("scored", "sum"))
    totals["mean_score"] = totals.score_sum / totals.scored.where(totals.scored > 0)
    shares = counts.pivot_table(index=keys, columns="tier", values="customers",
                                aggfunc="sum", fill_value=0)
    order = [t for t in _tier_order(store, name) + [UNSCORED] if t in shares.columns]
    shares = shares[order].div(totals.customers, axis=0) * 100
    out = totals[["customers", "mean_score"]].join(shares).reset_index()
    return out


@one_read
def migration(store: Store, from_ref: str, to_ref: str,
              model_name: str | None = None) -> pd.DataFrame:
    """Customers per (tier in the first snapshot, tier in the second).

    Rows are the first snapshot's tiers plus ``(new)`` (customers only in the second);
    columns the second's tiers plus ``(gone)`` (only in the first).
    """
    first, second = store.run(from_ref, model_name), store.run(to_ref, model_name)
    order = [t for t in first.tier_order + second.tier_order]
    order = list(dict.fromkeys(order))
    pairs = store.tier_pairs(first.run_id, second.run_id)
    rows = order + [UNSCORED, NEW]
    cols = order + [UNSCORED, GONE]
    matrix = pd.DataFrame(0, index=rows, columns=cols, dtype="int64")
    for rec in pairs.itertuples(index=False):
        r = NEW if rec.is_new else (rec.tier_from or UNSCORED)
        c = GONE if rec.is_gone else (rec.tier_to or UNSCORED)
        matrix.loc[r, c] += int(rec.customers)
    keep_rows = [r for r in rows if r in order or matrix.loc[r].sum() > 0]
    keep_cols = [c for c in cols if c in order or matrix[c].sum() > 0]
    matrix = matrix.loc[keep_rows, keep_cols]
    matrix.index.name = f"{first.as_of} \\ {second.as_of}"
    return matrix


def explain_adjusted(result: ScoreResult, customer_id: str, store: Store) -> Explanation:
    """``result.explain(customer_id)`` with the adjustments in force at ``result.as_of``.

    Each entry of ``.adjustments`` is an audit-log row plus ``score_after`` and
    ``tier_after``: the score and tier once it and the entries before it are applied. The
    evaluation rows and ``.score`` stay the model's own arithmetic.
    """
    ex = result.explain(customer_id)
    as_of = result.as_of if isinstance(result.as_of, dt.date) else dt.date.fromisoformat(
        str(result.as_of))
    entries = in_force(store.adjustments(str(customer_id)), str(customer_id),
                       result.model.name, as_of)
    from crindex.store.snapshot import model_info

    adj = apply(ex.score, ex.tier, entries, model_info(result.model)["tiers"])
    ex.adjustments = adj.steps
    return ex
