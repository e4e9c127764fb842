"""Two models side by side on the same data and date: tier migration, rank correlation, AUC.

``crindex compare --model A --model B --data D --as-of T`` scores both models, then reports
how customers move between A's tiers and B's (the migration matrix), how alike the two rank
customers (Spearman's rank correlation), and, when the data hold churn after ``T``, how well
each ranks the customers who churned within the horizon (AUC with paired bootstrap intervals).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crindex.errors import DataError
from crindex.stats import DEFAULT_BOOTSTRAP

UNSCORED = "unscored"


@dataclass
class Comparison:
    """The comparison of model A and model B on one date.

    Attributes
    ----------
    tiers_a, tiers_b
        Tier ids in each model's order (``unscored`` last when some customer has no score).
    migration
        ``migration[a][b]``: customers in A's tier a and B's tier b.
    spearman
        Spearman's rank correlation of the two scores (customers scored by both).
    aucs
        ``A``, ``B`` and ``B - A`` with bootstrap intervals, when labels exist.
    """

    model_a: Any
    model_b: Any
    as_of: dt.date
    customers: int
    tiers_a: list[str]
    tiers_b: list[str]
    migration: dict[str, dict[str, int]]
    spearman: float
    both_scored: int
    horizon: str | None
    aucs: dict[str, Any] = field(default_factory=dict)
    labelled: int = 0
    churners: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        """Customers whose tier has the same id in both models."""
        return sum(row.get(t, 0) for t, row in self.migration.items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "model_a": {"name": self.model_a.name, "path": self.model_a.path},
            "model_b": {"name": self.model_b.name, "path": self.model_b.path},
            "customers": self.customers,
            "migration": self.migration,
            "same_tier": self.unchanged,
            "spearman": self.spearman,
            "both_scored": self.both_scored,
            "horizon": self.horizon,
            "labelled": self.labelled,
            "churners": self.churners,
            "auc": {k: {"value": v.value, "low": v.low, "high": v.high, "level": v.level}
                    for k, v in self.aucs.items()},
            "notes": self.notes,
        }


def _tier_order(model: Any, seen: set[Any]) -> list[str]:
    return model.tiers.order + ([UNSCORED] if None in seen else [])


def compare_models(model_a: Any, model_b: Any, data: Any, as_of: dt.date | str | None = None,
                   horizon: str = "90d", *, n_boot: int = DEFAULT_BOOTSTRAP,
                   seed: int = 0) -> Comparison:
    """Score ``model_a`` and ``model_b`` on ``data`` as of ``as_of`` and compare them.

    Parameters
    ----------
    model_a, model_b
        Loaded models (or paths).
    data
        A data folder, DuckDB file, URL, loaded dataset, or mapping of in-memory tables.
    as_of
        The date (default: model A's ``as_of``, then today).
    horizon
        The churn window after ``as_of`` for the AUCs; without labels there (no churn dates,
        data ending too early) the AUCs are left out with a note.
    """
    from scipy.stats import spearmanr

    from crindex.api import as_date, score
    from crindex.data import open_dataset
    from crindex.model.loader import load_model
    from crindex.stats import bootstrap_auc
    from crindex.weights.learn import ChurnLabels

    if not hasattr(model_a, "metrics"):
        model_a = load_model(model_a)
    if not hasattr(model_b, "metrics"):
        model_b = load_model(model_b)
    day = as_date(as_of, model_a.as_of)
    data_a = open_dataset(data, model=model_a)
    # a second load only when B maps the user's files differently and can be read again
    reusable = model_b.sources == model_a.sources or hasattr(data, "tables") or \
        isinstance(data, Mapping)
    data_b = data_a if reusable else open_dataset(data, model=model_b)
    results = []
    for spec, ds in ((model_a, data_a), (model_b, data_b)):
        table = score(spec, ds, day).table
        results.append({c: (s, t) for c, s, t in zip(
            table.column("customer_id").to_pylist(), table.column("score").to_pylist(),
            table.column("tier").to_pylist(), strict=True)})
    a, b = results
    ids = sorted(set(a) & set(b))
    notes = []
    if len(ids) < max(len(a), len(b)):
        notes.append(f"{max(len(a), len(b)) - len(ids)} customer(s) scored by one model only "
                     "are left out (the models read different data)")
    tiers_a = _tier_order(model_a, {a[c][1] for c in ids})
    tiers_b = _tier_order(model_b, {b[c][1] for c in ids})
    migration = {ta: dict.fromkeys(tiers_b, 0) for ta in tiers_a}
    for c in ids:
        migration[a[c][1] or UNSCORED][b[c][1] or UNSCORED] += 1
    both = [c for c in ids if a[c][0] is not None and b[c][0] is not None]
    score_a = np.array([a[c][0] for c in both], dtype=float)
    score_b = np.array([b[c][0] for c in both], dtype=float)
    rho = float(spearmanr(score_a, score_b).statistic) if len(both) > 2 else float("nan")
    static = model_a.churn.label is not None
    if static:
        notes.append("churn: model A's static label, over every customer (not a holdout: "
                     "weights learned on this export have seen most of them)")
    comparison = Comparison(model_a, model_b, day, len(ids), tiers_a, tiers_b, migration, rho,
                            len(both), None if static else horizon, notes=notes)
    try:
        labels = ChurnLabels(data_a.tables, model_a)(day, horizon)
    except DataError as exc:
        notes.append(f"no AUC: {exc.problems[0].message if exc.problems else exc}")
        return comparison
    labelled = [k for k, c in enumerate(both) if c in labels]
    churned = np.array([labels[both[k]] for k in labelled], dtype=int)
    comparison.labelled, comparison.churners = len(labelled), int(churned.sum())
    if churned.sum() == 0 or churned.sum() == len(churned):
        notes.append(f"no AUC: {int(churned.sum())} of {len(churned)} labelled customers "
                     f"churned in ({day}, +{horizon}]")
        return comparison
    comparison.aucs = bootstrap_auc({"A": score_a[labelled], "B": score_b[labelled]},
                                    churned == 0, n_boot=n_boot, seed=seed,
                                    differences=[("B", "A")])
    return comparison
