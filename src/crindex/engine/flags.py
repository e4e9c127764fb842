"""Flags as engine columns: ``flag__<id>`` (raised or not) and ``flags`` (the raised ids).

What a flag is lives in :class:`crindex.model.spec.FlagSpec`. A flag is computed beside the
metrics and never enters a score, a weight, a coverage or a tier.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from crindex.calendar import window_start
from crindex.engine.aggregates import Context
from crindex.model.spec import CRIModel

if TYPE_CHECKING:
    import ibis.expr.types as ir

#: the output column of the raised flags' ids, comma-separated (null when none)
FLAGS_COLUMN = "flags"


def flag_column(flag_id: str) -> str:
    """The output column of one flag: ``flag__<id>``."""
    return f"flag__{flag_id}"


def add_flags(model: CRIModel, tables: dict[str, ir.Table], as_of: dt.date,
              joined: ir.Table) -> ir.Table:
    """``joined`` (one row per customer) with a boolean ``flag__<id>`` per flag of the model."""
    import ibis

    from crindex.engine.compile import rows_up_to

    for flag in model.flags:
        t = rows_up_to(tables[flag.table], flag.table, as_of)
        if flag.table == "customers":
            ctx = Context(t, flag.table, as_of, None, flag.id)
            cond = ctx.condition(flag) if (flag.where or flag.kind) else ibis.literal(True)
        else:
            ctx = Context(t, flag.table, as_of, window_start(as_of, flag.window), flag.id)
            cond = ctx.condition(flag)
        marks = t.filter(cond).select(_fid=t.customer_id).distinct()
        joined = joined.left_join(marks, joined.customer_id == marks._fid)
        joined = joined.mutate(**{flag_column(flag.id): joined._fid.notnull()}).drop("_fid")
    return joined


def flags_text(model: CRIModel, t: ir.Table) -> ir.StringValue:
    """The raised flags' ids in model order, comma-separated; null when none is raised."""
    import ibis

    text: ir.StringValue = ibis.literal("")
    for flag in model.flags:
        text = text.concat(ibis.ifelse(t[flag_column(flag.id)], f",{flag.id}", ""))
    return ibis.ifelse(text == "", ibis.null("string"), text.substr(1))
