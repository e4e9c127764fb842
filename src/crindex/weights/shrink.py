"""Learned weights per sub-model, shrunk towards the whole model's by the segment's size.

A sub-model's customers (:class:`crindex.model.spec.SubModelSpec`) may be few: weights learned
on them alone are noisy. Each sub-model's weights are a credibility blend [1]_ of the weights
learned on its own customers and those learned on every customer (the parent model's):

``weights = (1 - s) * own + s * parent``, with the shrinkage ``s = k / (n + k)``,

where ``n`` is the number of the sub-model's rows in the fit (a customer once per fit date)
and ``k`` the ``strength``
(customers a segment needs for its own weights to count as much as the parent's; default
:data:`DEFAULT_STRENGTH`). A segment of ``k`` customers takes half of each; a segment much
larger than ``k`` keeps its own; one with no churner or no metric that lowers the risk keeps
the parent's (``s = 1``). Both sides are :class:`crindex.weights.learn.NonNegativeLogit`
weights (percent, summing to 100), so the blend sums to 100 too.

References
----------
.. [1] H. Bühlmann, "Experience rating and credibility", ASTIN Bulletin 4(3), 1967
   (credibility ``Z = n / (n + k)``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crindex.errors import FitError, Reason

#: customers at which a segment's own weights and the parent's count equally
DEFAULT_STRENGTH = 200.0


@dataclass(frozen=True)
class ShrunkWeights:
    """One sub-model's learned weights: its own, the parent's and the blend (percent)."""

    submodel: str
    #: the sub-model's rows in the fit: each customer once per fit date
    customers: int
    churners: int
    strength: float
    #: the parent's share in the blend, ``k / (n + k)`` (1 when the segment learned nothing)
    shrinkage: float
    own: dict[str, float] | None
    parent: dict[str, float]
    weights: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"submodel": self.submodel, "customers": self.customers,
                "churners": self.churners, "strength": self.strength,
                "shrinkage": self.shrinkage, "own": self.own, "parent": self.parent,
                "weights": self.weights, "notes": self.notes}


def shrink(submodel: str, own: Mapping[str, float] | None, parent: Mapping[str, float],
           customers: int, strength: float = DEFAULT_STRENGTH, churners: int = 0,
           notes: list[str] | None = None) -> ShrunkWeights:
    """Blend ``own`` (``None``: nothing learned) towards ``parent`` by ``customers``.

    Raises
    ------
    FitError
        A negative strength or customer count, or weights of different metrics.
    """
    if strength < 0 or customers < 0:
        raise FitError.single(Reason.BAD_PARAMETER, f"strength {strength} and customers "
                              f"{customers} must not be negative", "--strength")
    if own is not None and set(own) != set(parent):
        raise FitError.single(Reason.INCONSISTENT, "a sub-model's weights and the parent's "
                              f"name different metrics: {sorted(own)} vs {sorted(parent)}")
    if own is None or customers + strength == 0:
        s = 1.0
    else:
        s = strength / (customers + strength)
    blended = {m: (1.0 - s) * (own[m] if own is not None else 0.0) + s * parent[m]
               for m in parent}
    return ShrunkWeights(submodel, customers, churners, strength, s,
                         dict(own) if own is not None else None, dict(parent), blended,
                         list(notes or []))


def _learned(x: np.ndarray, y: np.ndarray, names: list[str], l2: float
             ) -> tuple[dict[str, float] | None, str]:
    from crindex.weights.learn import NonNegativeLogit

    try:
        logit = NonNegativeLogit(l2=l2).fit(x, y)
        return dict(zip(names, (float(w) for w in logit.weights_), strict=True)), ""
    except FitError as exc:
        return None, str(exc.problems[0].message)


def learn_submodel_weights(model: Any, data: Any, as_of: dt.date | str, horizon: str = "90d",
                           *, snapshots: int = 2, strength: float = DEFAULT_STRENGTH,
                           l2: float = 1e-3) -> list[ShrunkWeights]:
    """Learn each sub-model's weights from churn, shrunk towards the whole model's.

    The fit rows are the customers scored on ``snapshots`` dates one ``horizon`` apart before
    ``as_of`` (as in :func:`crindex.weights.learn.learn_weights`), labelled by churn in the
    horizon after each date (:mod:`crindex.outcomes`); each row's scores are its sub-model's.
    The parent's weights are learned on every row, a sub-model's own on its rows.

    Raises
    ------
    FitError
        A model without sub-models, or no weights learnable over every customer.
    """
    from crindex.api import as_date, score
    from crindex.calendar import horizon_start
    from crindex.data import open_dataset
    from crindex.weights.learn import ChurnLabels
    from crindex.weights.objective import score_matrix

    if not model.submodels:
        raise FitError.single(Reason.BAD_PARAMETER, f"model `{model.name}` has no sub-models",
                              model.path, "add `submodels:` to the model, or use "
                              "`crindex weights learn`")
    dataset = open_dataset(data, model=model)
    labeller = ChurnLabels(dataset.tables, model)
    day = as_date(as_of)
    dates: list[dt.date] = []
    for _ in range(max(snapshots, 1)):
        day = horizon_start(day, horizon)
        dates.insert(0, day)
    xs, ys, subs = [], [], []
    names: list[str] = []
    for d in dates:
        labels = labeller(d, horizon)
        result = score(model, dataset, d)
        matrix, names = score_matrix(result)
        ids = result.table.column("customer_id").to_pylist()
        which = result.table.column("submodel").to_pylist()
        keep = [i for i, c in enumerate(ids) if c in labels]
        xs.append(matrix[keep] / 100.0)
        ys.append(np.array([labels[ids[i]] for i in keep], dtype=int))
        subs += [which[i] for i in keep]
    x, y, sub_of = np.vstack(xs), np.concatenate(ys), np.array(subs, dtype=object)
    parent, why = _learned(x, y, names, l2)
    if parent is None:
        raise FitError.single(Reason.FIT, f"no weights could be learned over every customer: "
                              f"{why}", "--as-of", "choose dates or a horizon with churn")
    out = []
    for sub in model.submodels:
        rows = sub_of == sub.id
        n, churners = int(rows.sum()), int(y[rows].sum())
        own, why = _learned(x[rows], y[rows], names, l2) if n else (None, "no customer")
        notes = [f"own weights not learned ({why}): the parent's are used"] if own is None \
            else []
        out.append(shrink(sub.id, own, parent, n, strength, churners, notes))
    return out
