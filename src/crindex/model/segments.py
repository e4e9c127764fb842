"""RFM segments: the presets, the cells of the R x F x M grid each segment takes, the linter.

A customer's R, F and M scores become cells of a grid (1..``levels`` per axis, higher is
better; see :class:`crindex.model.spec.SegmentsSpec`), and a segment is a set of cells. Rules
(a preset's or the model's) are tried in order, the first that holds wins, so every cell has at
most one segment; :func:`cell_map` is that assignment, the one the engine's CASE is built from
(:mod:`crindex.engine.segments`). :func:`lint` says what is wrong with a rule set: rules that
overlap, rules that can never match, cells no rule takes.

The presets:

- ``china8``, the eight customer types of Chinese CRM practice on a 2 x 2 x 2 grid (each of
  R, F, M high or low against the mean, the median or set thresholds): 重要价值客户 (R, F, M
  high), 重要发展客户 (R, M high, F low), 重要保持客户 (F, M high, R low), 重要挽留客户 (M high,
  R, F low) and the four 一般 types with M low.
- ``shopify11``, after the eleven RFM groups of Shopify's customer segmentation (the names and
  descriptions of the Admin API's ``CustomerRfmGroup``). Shopify lays them on R against a
  combined F-and-M score and does not publish its cut-offs: here the FM cell is the mean of F
  and M rounded up, and the cells are crindex's reading of those descriptions (see
  :data:`SHOPIFY_GRID`). ``prospects`` are the customers without R, F or M scores (no orders).
- ``rfm10``, the ten segments of the R package ``rfm`` (its vignette's score ranges), whose
  ranges overlap: "Champions" lies inside "Loyal Customers" and the package's later rules
  overwrote earlier ones, so no customer was ever a Champion (rsquaredacademy/rfm #56). Here the
  overlaps are resolved by order, the narrower rule first (Champions before Loyal Customers),
  and the cells no range covers go to ``others``.

References
----------
Hughes, A. M. (1994), *Strategic Database Marketing*, Probus (RFM cells).
rsquaredacademy/rfm, ``rfm_segment`` and issue #56, https://github.com/rsquaredacademy/rfm.
Shopify, GraphQL Admin API, enum ``CustomerRfmGroup``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crindex.errors import Problem, Reason
from crindex.model.spec import SegmentRule, SegmentsSpec

#: a cell of the grid: (r, f, m), each 1..levels
Cell = tuple[int, int, int]
AXES = ("r", "f", "m")


@dataclass(frozen=True)
class Segment:
    """One segment: its id, its label and the cells it is written to take (before order)."""

    id: str
    label: str
    cells: frozenset[Cell]
    strategy: str | None = None


def grid(levels: int) -> list[Cell]:
    """Every cell of the grid, ``(1, 1, 1)`` first."""
    axis = range(1, levels + 1)
    return list(itertools.product(axis, axis, axis))


def cell_text(cell: Cell) -> str:
    """``R4 F5 M3``."""
    return " ".join(f"{a.upper()}{v}" for a, v in zip(AXES, cell, strict=True))


def rule_cells(rule: SegmentRule, levels: int) -> frozenset[Cell]:
    """The cells of the grid a rule's ranges hold (empty when a range is outside the grid)."""
    r, f, m = (range(max(lo, 1), min(hi, levels) + 1)
               for lo, hi in (rule.bounds(a, levels) for a in AXES))
    return frozenset(itertools.product(r, f, m))


# --------------------------------------------------------------------------------------------
# presets

_CHINA = (
    # (id, label, r, f, m): 2 is high, 1 is low
    ("important_value", "重要价值客户", 2, 2, 2),
    ("important_develop", "重要发展客户", 2, 1, 2),
    ("important_keep", "重要保持客户", 1, 2, 2),
    ("important_retain", "重要挽留客户", 1, 1, 2),
    ("general_value", "一般价值客户", 2, 2, 1),
    ("general_develop", "一般发展客户", 2, 1, 1),
    ("general_keep", "一般保持客户", 1, 2, 1),
    ("general_retain", "一般挽留客户", 1, 1, 1),
)

#: Shopify's groups on R (rows, 5 first) by the FM cell (columns 1..5); ``prospects`` has no
#: cell (customers with no R, F or M score)
SHOPIFY_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new", "new", "active", "loyal", "champions"),
    4: ("promising", "promising", "active", "loyal", "loyal"),
    3: ("promising", "promising", "needs_attention", "loyal", "loyal"),
    2: ("almost_lost", "almost_lost", "almost_lost", "at_risk", "previously_loyal"),
    1: ("dormant", "dormant", "dormant", "at_risk", "previously_loyal"),
}
SHOPIFY_LABELS = {
    "champions": "Champions", "loyal": "Loyal", "active": "Active",
    "needs_attention": "Needs attention", "promising": "Promising", "new": "New",
    "at_risk": "At risk", "previously_loyal": "Previously loyal",
    "almost_lost": "Almost lost", "dormant": "Dormant", "prospects": "Prospects",
}
#: the segment of customers without R, F or M under ``shopify11``
PROSPECTS = "prospects"

#: the rfm package's vignette: (id, label, (r_lo, r_hi), (f_lo, f_hi), (m_lo, m_hi)), in the
#: package's order
RFM_PACKAGE = (
    ("champions", "Champions", (4, 5), (4, 5), (4, 5)),
    ("loyal_customers", "Loyal Customers", (2, 5), (3, 5), (3, 5)),
    ("potential_loyalist", "Potential Loyalist", (3, 5), (1, 3), (1, 3)),
    ("new_customers", "New Customers", (4, 5), (1, 1), (1, 1)),
    ("promising", "Promising", (3, 4), (1, 1), (1, 1)),
    ("need_attention", "Need Attention", (2, 3), (2, 3), (2, 3)),
    ("about_to_sleep", "About To Sleep", (2, 3), (1, 2), (1, 2)),
    ("at_risk", "At Risk", (1, 2), (2, 5), (2, 5)),
    ("cant_lose_them", "Can't Lose Them", (1, 1), (4, 5), (4, 5)),
    ("lost", "Lost", (1, 2), (1, 2), (1, 2)),
)
OTHERS = "others"


def fm_cell(f: int, m: int) -> int:
    """Shopify's combined F-and-M cell: the mean of F and M rounded up."""
    return math.ceil((f + m) / 2)


def _china() -> list[Segment]:
    return [Segment(sid, label, frozenset({(r, f, m)})) for sid, label, r, f, m in _CHINA]


def _shopify() -> list[Segment]:
    cells: dict[str, set[Cell]] = {}
    for cell in grid(5):
        r, f, m = cell
        cells.setdefault(SHOPIFY_GRID[r][fm_cell(f, m) - 1], set()).add(cell)
    return [Segment(sid, SHOPIFY_LABELS[sid], frozenset(cells[sid]))
            for sid in SHOPIFY_LABELS if sid in cells]


def _rfm10() -> list[Segment]:
    rules = [SegmentRule(id=sid, label=label, r=list(r), f=list(f), m=list(m))
             for sid, label, r, f, m in RFM_PACKAGE]
    taken = cell_map(resolve_nesting(rules, 5), 5)
    segments = [Segment(rule.id, rule.display,
                        frozenset(c for c, s in taken.items() if s == rule.id))
                for rule in rules]
    rest = frozenset(c for c in grid(5) if c not in taken)
    return [*segments, Segment(OTHERS, "Others", rest)]


def resolve_nesting(rules: Sequence[SegmentRule], levels: int) -> list[SegmentRule]:
    """The rules reordered so that a rule lying inside others comes before them.

    Stable otherwise: rules nested in more rules come first, the rest keep their order. This
    is how ``rfm10`` resolves the ``rfm`` package's overlaps (Champions inside Loyal
    Customers, New Customers and Promising inside Potential Loyalist, Can't Lose Them inside
    At Risk), so each of its ten segments takes cells.
    """
    cells = [rule_cells(r, levels) for r in rules]

    def containers(i: int) -> int:
        return sum(1 for j in range(len(rules)) if j != i and cells[i] < cells[j])

    order = sorted(range(len(rules)), key=lambda i: -containers(i))
    return [rules[i] for i in order]


def preset_segments(preset: str) -> list[Segment]:
    """The segments of a preset, each with the cells it takes (they never share a cell)."""
    return {"china8": _china, "shopify11": _shopify, "rfm10": _rfm10}[preset]()


def preset_levels(preset: str) -> int:
    """Cells per axis of a preset's grid."""
    return 2 if preset == "china8" else 5


# --------------------------------------------------------------------------------------------
# the assignment


def cell_map(rules: Sequence[SegmentRule], levels: int) -> dict[Cell, str]:
    """Each cell's segment: the first rule whose ranges hold it (cells no rule holds left out)."""
    out: dict[Cell, str] = {}
    for rule in rules:
        for cell in rule_cells(rule, levels):
            out.setdefault(cell, rule.id)
    return out


def segments_of(spec: SegmentsSpec) -> list[Segment]:
    """The segments a model's ``segments:`` assigns, each with the cells it takes, in order."""
    if spec.preset is not None:
        return preset_segments(spec.preset)
    levels = spec.grid_levels
    taken = cell_map(spec.rules, levels)
    return [Segment(rule.id, rule.display, frozenset(c for c, s in taken.items() if s == rule.id),
                    rule.strategy) for rule in spec.rules]


# --------------------------------------------------------------------------------------------
# the linter


def _cells_listing(cells: Iterable[Cell], limit: int = 6) -> str:
    ordered = sorted(cells, reverse=True)
    shown = ", ".join(cell_text(c) for c in ordered[:limit])
    more = len(ordered) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _box(rule: SegmentRule, levels: int) -> str:
    parts = []
    for a in AXES:
        lo, hi = rule.bounds(a, levels)
        parts.append(f"{a.upper()}{lo}" if lo == hi else f"{a.upper()}{lo}-{hi}")
    return " ".join(parts)


def lint(spec: SegmentsSpec, where: str, line_of: dict[int, str] | None = None,
         ) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of a ``segments:`` rule set, each with file:line and a fix.

    Errors: two rules with one id; a range outside the grid or backwards; a rule that can
    never match (every cell it holds is taken by earlier rules); a rule sharing cells with an
    earlier one (order would decide silently: the ``rfm`` package's Champions inside Loyal
    Customers), except a last rule without bounds, which takes the rest by design. Warning:
    cells no rule takes (those customers get no segment). ``line_of`` gives each rule's
    file:line by its position.
    """
    errors: list[Problem] = []
    warnings: list[Problem] = []
    line_of = line_of or {}
    levels = spec.grid_levels
    if spec.preset is not None and spec.rules:
        errors.append(Problem(
            f"segments: both `preset: {spec.preset}` and `rules` are given", where,
            "keep one: remove `rules` to use the preset, or `preset` to use your rules",
            Reason.BAD_PARAMETER))
        return errors, warnings
    if spec.preset is None and not spec.rules:
        errors.append(Problem(
            "segments: neither a `preset` nor `rules`", where,
            "add `preset: china8`, `shopify11` or `rfm10`, or a list of `rules` (each with an "
            "id and the cells it takes: r, f, m)", Reason.BAD_PARAMETER))
        return errors, warnings
    if spec.preset is not None:
        if spec.levels is not None and spec.levels != levels:
            errors.append(Problem(
                f"segments: preset `{spec.preset}` is a grid of {levels} levels, not "
                f"{spec.levels}", where, "remove `levels`", Reason.BAD_PARAMETER))
        return errors, warnings
    seen: dict[str, str] = {}
    taken: dict[Cell, str] = {}
    for i, rule in enumerate(spec.rules):
        at = line_of.get(i, where)
        what = f"segment `{rule.id}`"
        if rule.id in seen:
            errors.append(Problem(f"{what}: the id is used twice (first at {seen[rule.id]})",
                                  at, "segment ids must be unique", Reason.DUPLICATE_ID))
        seen.setdefault(rule.id, at)
        bad = [f"{a} {list(rule.bounds(a, levels))}" for a in AXES
               if not 1 <= rule.bounds(a, levels)[0] <= rule.bounds(a, levels)[1] <= levels]
        if bad:
            errors.append(Problem(
                f"{what} can never match: {', '.join(bad)} is outside the grid or backwards",
                at, f"cells run from 1 to {levels} on each axis (higher is better); write a "
                "cell (5) or a range low to high ([4, 5])", Reason.BAD_TIERS))
            continue
        cells = rule_cells(rule, levels)
        earlier = sorted({taken[c] for c in cells if c in taken},
                         key=lambda s: [r.id for r in spec.rules].index(s))
        free = [c for c in cells if c not in taken]
        if not free:
            names = ", ".join(f"`{s}`" for s in earlier)
            errors.append(Problem(
                f"{what} ({_box(rule, levels)}) can never match: every cell it holds is "
                f"taken by {names}, written before it", at,
                f"move `{rule.id}` above {names}, or narrow {names} so it leaves "
                f"{rule.id}'s cells", Reason.BAD_TIERS))
        elif earlier and not rule.is_catch_all:
            for other in earlier:
                shared = [c for c in cells if taken.get(c) == other]
                errors.append(Problem(
                    f"{what} ({_box(rule, levels)}) overlaps `{other}` on {len(shared)} "
                    f"cell(s) ({_cells_listing(shared)}); they go to `{other}`, written "
                    "first", at, f"narrow `{rule.id}` or `{other}` so that each cell has one "
                    "rule (a rule without r, f and m may take the rest)",
                    Reason.BAD_TIERS))
        for c in free:
            taken[c] = rule.id
    uncovered = [c for c in grid(levels) if c not in taken]
    if uncovered and not errors:
        warnings.append(Problem(
            f"segments: {len(uncovered)} of {levels ** 3} cells are taken by no rule "
            f"({_cells_listing(uncovered)}); those customers get no segment", where,
            "widen a rule, or add a last rule without r, f or m (`- id: others`) to take "
            "the rest", Reason.BAD_TIERS))
    return errors, warnings
