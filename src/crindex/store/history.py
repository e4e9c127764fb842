"""Reading the history: one customer's series, the portfolio trend, tier migration, explain.

``history`` shows adjusted values (computed score plus the adjustments in force at each
snapshot's ``as_of``) beside the computed ones, and why each changed (data, model and
adjustment parts, :mod:`crindex.act.why_changed`); ``trend`` and ``migration`` describe what
the model computed, so a manual correction never hides a portfolio movement.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from crindex.act.why_changed import MetricState, SnapshotState, WhyChanged, why_changed
from crindex.store.adjust import apply, in_force
from crindex.store.base import Store, one_read, store_error
from crindex.store.snapshot import RunInfo, stored_tier_labels

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
    changed most), ``why`` (the change split into data, model and adjustment parts, in one
    line; ``why_parts`` the parts, see :func:`crindex.act.why_changed.why_changed`),
    ``adjustments`` (ids in force), ``model_changed`` (the model's content hash differs from
    the previous snapshot's).
    """
    name = model_for_customer(store, customer_id, model_name)
    series = store.customer_scores(customer_id, name)
    runs = {r.run_id: r for r in store.runs(name)}
    log = store.adjustments(customer_id)
    comps = store.metric_scores(list(series.run_id), customer_id)
    comps = comps[comps.kind == "metric"].merge(series[["run_id", "as_of"]], on="run_id")
    moved = what_moved(comps)
    by_run = {run_id: part for run_id, part in comps.groupby("run_id")}
    rows: list[dict[str, Any]] = []
    prev_score = prev_tier = prev_hash = None
    prev_state: SnapshotState | None = None
    for rec in series.itertuples(index=False):
        run = runs[rec.run_id]
        score = None if pd.isna(rec.score) else float(rec.score)
        adj = apply(score, rec.tier, in_force(log, customer_id, name, run.as_of),
                    run.model_info.get("tiers", {}))
        state = snapshot_state(run, score, rec.tier, by_run.get(rec.run_id),
                               adj.adjusted_score, adj.adjusted_tier)
        why = why_changed(prev_state, state) if prev_state is not None else None
        prev_state = state
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
            "why": why.summary() if why is not None else "",
            "why_parts": why.to_dict()["parts"] if why is not None else [],
            "adjustments": [s["adjustment_id"] for s in adj.steps],
            "model_changed": prev_hash is not None and prev_hash != run.model_hash,
        })
        prev_score, prev_tier, prev_hash = adj.adjusted_score, adj.adjusted_tier, run.model_hash
    return pd.DataFrame(rows)


def _num_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def snapshot_state(run: RunInfo, score: float | None, tier: str | None,
                   metrics: pd.DataFrame | None, adjusted_score: float | None,
                   adjusted_tier: str | None) -> SnapshotState:
    """One customer's snapshot as :func:`crindex.act.why_changed.why_changed` reads it.

    ``metrics`` holds the customer's ``metric_scores`` rows of kind ``metric`` in that run;
    a weight or contribution the store left empty counts as 0.
    """
    labels = {m["id"]: m.get("label") for m in run.model_info.get("metrics", [])}
    states = {}
    if metrics is not None:
        for rec in metrics.itertuples(index=False):
            raw = rec.raw_text if isinstance(rec.raw_text, str) else _num_or_none(rec.raw_num)
            states[str(rec.item)] = MetricState(
                raw, _num_or_none(rec.score), _num_or_none(rec.weight) or 0.0,
                _num_or_none(rec.contribution) or 0.0, labels.get(rec.item))
    return SnapshotState(run.run_id, run.as_of, score, tier, run.model_hash, states,
                         adjusted_score, adjusted_tier)


@one_read
def customer_change(store: Store, customer_id: str, from_ref: str | None = None,
                    to_ref: str | None = None, model_name: str | None = None) -> WhyChanged:
    """Why a customer's score changed between two snapshots (by default the last two).

    ``from_ref`` and ``to_ref`` are run ids or ``as_of`` dates; the change is the adjusted
    score's, split as :func:`crindex.act.why_changed.why_changed` says.
    """
    name = model_for_customer(store, customer_id, model_name)
    series = store.customer_scores(customer_id, name)
    if to_ref is not None:
        to_id = store.run(to_ref, name).run_id
    elif len(series):
        to_id = str(series.run_id.iloc[-1])
    else:  # pragma: no cover - model_for_customer found a snapshot
        to_id = ""
    ids = list(series.run_id)
    if from_ref is not None:
        from_id = store.run(from_ref, name).run_id
    else:
        at = ids.index(to_id) if to_id in ids else -1
        if at < 1:
            raise store_error(f"customer `{customer_id}` has no snapshot of model `{name}` "
                              "before " + (f"run {to_id}" if to_id else "the latest"),
                              "a change needs two snapshots; score again later", "--from")
        from_id = ids[at - 1]
    runs = {r.run_id: r for r in store.runs(name)}
    log = store.adjustments(customer_id)
    comps = store.metric_scores([from_id, to_id], customer_id)
    comps = comps[comps.kind == "metric"]
    states = []
    for run_id in (from_id, to_id):
        row = series[series.run_id == run_id]
        if row.empty:
            raise store_error(f"customer `{customer_id}` is not in the snapshot {run_id}",
                              "choose snapshots the customer was scored in (crindex "
                              "history lists them)", "--from" if run_id == from_id else "--to")
        run = runs[run_id]
        score = _num_or_none(row.score.iloc[0])
        tier = row.tier.iloc[0] if isinstance(row.tier.iloc[0], str) else None
        adj = apply(score, tier, in_force(log, customer_id, name, run.as_of),
                    run.model_info.get("tiers", {}))
        states.append(snapshot_state(run, score, tier, comps[comps.run_id == run_id],
                                     adj.adjusted_score, adj.adjusted_tier))
    return why_changed(states[0], states[1])


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
