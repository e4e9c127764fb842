"""RFM segments as engine columns: each customer's cell of the grid and the segment holding it.

What the cells and segments are is :mod:`crindex.model.segments`; this module only writes it
as Ibis expressions over the scored table (the ``<id>__score`` columns of the R, F and M
metrics): ``rfm_cell`` (``"453"``: R, F, M cells) and ``rfm_segment``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crindex.model.segments import AXES, PROSPECTS, segments_of
from crindex.model.spec import SegmentsSpec

if TYPE_CHECKING:
    import ibis.expr.types as ir

#: the output columns this module adds
SEGMENT_COLUMN = "rfm_segment"
CELL_COLUMN = "rfm_cell"


def _axis_cell(spec: SegmentsSpec, axis: str, score: ir.FloatingValue) -> ir.IntegerValue:
    """One axis's cell (1..levels) of a score column; null where the score is null."""
    import ibis

    levels = spec.grid_levels
    present = score.notnull()
    if levels == 2:
        if isinstance(spec.split, dict):
            split: ir.Value = ibis.literal(float(spec.split[axis]))  # type: ignore[index]
        else:
            # the customers with a score (aggregates skip nulls)
            over = ibis.window()
            split = score.mean().over(over) if spec.split == "mean" \
                else score.median().over(over)
        cell = ibis.ifelse(score >= split, 2, 1)
    elif spec.cells == "bands":
        cell = (score / 20.0).floor().cast("int64") + 1
        cell = ibis.ifelse(cell > 5, 5, cell)
    else:
        # share of scored customers at or below the score: ties share a cell
        share = ibis.cume_dist().over(ibis.window(group_by=present, order_by=score.asc()))
        cell = (share * 5).ceil().cast("int64")
        cell = ibis.ifelse(cell < 1, 1, cell)
    return ibis.ifelse(present, cell.cast("int64"), ibis.null("int64"))


def segment_columns(spec: SegmentsSpec, t: ir.Table) -> dict[str, ir.Value]:
    """``rfm_cell`` and ``rfm_segment`` of every row of ``t`` (a table with metric scores)."""
    import ibis

    cells = {a: _axis_cell(spec, a, t[f"{metric}__score"]) for a, metric in spec.axes.items()}
    code = cells["r"] * 100 + cells["f"] * 10 + cells["m"]
    cases = []
    for seg in segments_of(spec):
        codes = sorted(r * 100 + f * 10 + m for r, f, m in seg.cells)
        if codes:
            cases.append((code.isin(codes), ibis.literal(seg.id)))
    none = ibis.literal(PROSPECTS) if spec.preset == "shopify11" else ibis.null("string")
    known = cells["r"].notnull() & cells["f"].notnull() & cells["m"].notnull()
    segment = ibis.ifelse(known, ibis.cases(*cases, else_=ibis.null("string")), none) \
        if cases else none
    text = cells[AXES[0]].cast("string").concat(cells["f"].cast("string"),
                                               cells["m"].cast("string"))
    return {CELL_COLUMN: text, SEGMENT_COLUMN: segment}
