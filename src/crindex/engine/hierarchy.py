"""Account hierarchies: a parent account's score rolled up from its children's.

Runs after the scoring query, on its result (:func:`crindex.api.score` calls it when the model
has ``hierarchy:``). The links are ``customers.parent_id``; a parent may be a customer row or
an id only; parents of parents give several levels, rolled up from the bottom. The rules
(:class:`crindex.model.spec.HierarchySpec`) over a parent's *scored* children (customers
active at ``as_of`` with a score, and child accounts with a rolled-up score):

- ``mean``: ``sum(s_i) / n``; child ``i`` contributes ``s_i / n``;
- ``weighted_mean``: ``sum(w_i s_i) / sum(w_i)``, ``w_i`` the child's raw value of the
  ``weight`` metric (0 when missing or negative; a child account weighs the sum of its
  children's); child ``i`` contributes ``w_i s_i / sum(w)``; no weight at all: no score;
- ``min``: the lowest ``s_i``, contributed by that child (the first by id on a tie);
- ``healthy_share``: ``100 * (children in a healthy tier) / n``; each healthy child
  contributes ``100 / n``.

So a parent's contributions always sum to its score. A parent's tier comes from the
hierarchy's tiers (or the model's score tiers). A parent's own activity (when it is a customer
too) is not part of its score: its row is the roll-up's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from crindex.errors import DataError, Problem, Reason, raise_if
from crindex.model.spec import PARENT_COLUMN, CRIModel, HierarchySpec, TiersSpec

#: output columns a model with a hierarchy adds: 0 for a customer, 1 for the parent of
#: customers, 2 above, ...; and how many scored children a row has
LEVEL_COLUMN = "account_level"
CHILDREN_COLUMN = "children"


@dataclass(frozen=True)
class Contribution:
    """One child's part in its parent's score."""

    customer_id: str
    score: float
    tier: str | None
    weight: float | None
    contribution: float
    level: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Rollup:
    """A parent account's rolled-up score and each child's contribution."""

    customer_id: str
    rule: str
    level: int
    score: float | None
    tier: str | None
    weight: float = 0.0
    children: list[Contribution] = field(default_factory=list)


def parent_tiers(model: CRIModel) -> TiersSpec:
    """The tiers parent accounts get: the hierarchy's own, else the model's."""
    assert model.hierarchy is not None
    return model.hierarchy.tiers or model.tiers


def links_of(customers: Any) -> dict[str, str]:
    """``{child id: parent id}`` from a customers table (Ibis) with ``parent_id``."""
    t = customers.filter(customers[PARENT_COLUMN].notnull()).select(
        "customer_id", PARENT_COLUMN)
    frame = t.to_pyarrow()
    return {str(c): str(p) for c, p in zip(frame.column("customer_id").to_pylist(),
                                           frame.column(PARENT_COLUMN).to_pylist(), strict=True)
            if str(c) != ""}


def _cycles(links: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    done: set[str] = set()
    for start in sorted(links):
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path.append(node)
            node = links.get(node)
        if node is not None and node in path:
            loop = path[path.index(node):] + [node]
            if not any(p.message.endswith(" -> ".join(loop)) for p in problems):
                problems.append(Problem(
                    "customers.parent_id goes round in a circle: " + " -> ".join(loop),
                    f"customers.{PARENT_COLUMN}", "an account cannot be its own ancestor: "
                    "fix the parent of one of them", Reason.HIERARCHY))
        done.update(path)
    return problems


def _combine(spec: HierarchySpec, kids: list[tuple[str, float, str | None, float, int]]
             ) -> tuple[float | None, list[Contribution], float]:
    """(score, contributions, weight) of a parent from its children (id, score, tier, w, level)."""
    n = len(kids)
    total_w = sum(w for _, _, _, w, _ in kids)
    if spec.rule == "mean":
        parts = [s / n for _, s, _, _, _ in kids]
    elif spec.rule == "weighted_mean":
        if total_w <= 0:
            return None, [Contribution(c, s, t, w, 0.0, lv) for c, s, t, w, lv in kids], 0.0
        parts = [w * s / total_w for _, s, _, w, _ in kids]
    elif spec.rule == "min":
        low = min(kids, key=lambda k: (k[1], k[0]))
        parts = [s if c == low[0] else 0.0 for c, s, _, _, _ in kids]
    else:  # healthy_share
        healthy = set(spec.healthy)
        parts = [100.0 / n if t in healthy else 0.0 for _, _, t, _, _ in kids]
    contributions = [Contribution(c, s, t, w if spec.rule == "weighted_mean" else None, p, lv)
                     for (c, s, t, w, lv), p in zip(kids, parts, strict=True)]
    return sum(parts), contributions, total_w


def roll_up(model: CRIModel, table: pa.Table, links: dict[str, str]
            ) -> tuple[pa.Table, dict[str, Rollup]]:
    """``table`` (a scoring result) with every parent account's row, and the roll-ups.

    Raises
    ------
    DataError
        When ``parent_id`` links go round in a circle.
    """
    spec = model.hierarchy
    assert spec is not None
    raise_if(_cycles(links), DataError, "the account hierarchy cannot be rolled up")
    tiers = parent_tiers(model)
    ids = [str(c) for c in table.column("customer_id").to_pylist()]
    scores = table.column("score").to_pylist()
    tier_col = table.column("tier").to_pylist()
    weights = (table.column(f"{spec.weight}__raw").to_pylist() if spec.weight
               else [None] * len(ids))
    leaf = {c: (s, t, max(float(w), 0.0) if isinstance(w, int | float) and w == w else 0.0)
            for c, s, t, w in zip(ids, scores, tier_col, weights, strict=True)}
    children: dict[str, list[str]] = {}
    for child, parent in links.items():
        children.setdefault(parent, []).append(child)
    rollups: dict[str, Rollup] = {}

    def resolve(node: str) -> tuple[float | None, str | None, float, int]:
        """(score, tier, weight, level) of ``node``: a roll-up for a parent, else its row."""
        if node not in children:
            s, t, w = leaf.get(node, (None, None, 0.0))
            return s, t, w, 0
        if node in rollups:
            r = rollups[node]
            return r.score, r.tier, r.weight, r.level
        kids = []
        for child in sorted(children[node]):
            s, t, w, lv = resolve(child)
            if s is not None and s == s:
                kids.append((child, float(s), t, w, lv))
        level = 1 + max((k[4] for k in kids), default=0)
        if not kids:
            rollups[node] = Rollup(node, spec.rule, level, None, None)
        else:
            score, parts, total_w = _combine(spec, kids)
            rollups[node] = Rollup(node, spec.rule, level, score,
                                   tiers.tier_of(score) if score is not None else None,
                                   total_w, parts)
        r = rollups[node]
        return r.score, r.tier, r.weight, r.level

    for parent in sorted(children):
        resolve(parent)
    # a parent is shown when some child of it was scored
    shown = {p: r for p, r in rollups.items() if r.children}
    keep = [i for i, c in enumerate(ids) if c not in shown]
    base = table.take(pa.array(keep, pa.int64()))
    base = base.append_column(LEVEL_COLUMN, pa.array([0] * base.num_rows, pa.int32()))
    base = base.append_column(CHILDREN_COLUMN, pa.array([0] * base.num_rows, pa.int32()))
    own = {c: i for i, c in enumerate(ids)}
    new_rows: dict[str, list[Any]] = {name: [] for name in base.column_names}
    carried = [c for c in ("owner", "segment") if c in table.column_names]
    for parent in sorted(shown):
        r = shown[parent]
        for name in new_rows:
            new_rows[name].append(None)
        new_rows["customer_id"][-1] = parent
        new_rows["score"][-1] = r.score
        new_rows["tier"][-1] = r.tier
        new_rows[LEVEL_COLUMN][-1] = r.level
        new_rows[CHILDREN_COLUMN][-1] = len(r.children)
        if parent in own:
            for c in carried:
                new_rows[c][-1] = table.column(c)[own[parent]].as_py()
    extra = pa.table({name: pa.array(values, base.schema.field(name).type)
                      for name, values in new_rows.items()})
    out = pa.concat_tables([base, extra]).sort_by("customer_id")
    return out, shown
