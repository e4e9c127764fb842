"""Sub-models on the engine: which customers each sub-model scores.

A sub-model's ``match`` (:class:`crindex.model.spec.SubModelSpec`) is the filter of a metric's
``where`` (:func:`crindex.engine.aggregates.filter_condition`) applied to the customers table,
an empty value matching nothing but ``is_null``; the default sub-model takes the customers no
other rule matches. :func:`crindex.engine.compile.compile_model` scores each sub-model on its
own customers only (so a normaliser that compares customers, a percentile, compares them with
the customers of the same sub-model) and stacks the parts; ``crindex.engine.fit`` fits each
part on the same customers. Scoring a customer with its sub-model alone, over the customers
that sub-model matches, gives the same row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis

from crindex.engine.aggregates import filter_condition
from crindex.model.spec import CRIModel, SubModelSpec

if TYPE_CHECKING:
    import ibis.expr.types as ir


def match_condition(customers: ir.Table, match: dict[str, Any]) -> ir.BooleanValue:
    """``match`` over ``customers`` as a boolean that is never null (empty matches nothing)."""
    parts = [filter_condition(customers[col], cond).fill_null(False)
             for col, cond in match.items()]
    out: ir.BooleanValue = parts[0] if parts else ibis.literal(True)
    for part in parts[1:]:
        out = out & part
    return out


def submodel_condition(model: CRIModel, sub: SubModelSpec,
                       customers: ir.Table) -> ir.BooleanValue:
    """Which rows of ``customers`` sub-model ``sub`` scores (the default: those no rule takes)."""
    if not sub.default:
        return match_condition(customers, dict(sub.match or {}))
    taken = [match_condition(customers, dict(other.match or {}))
             for other in model.submodels if not other.default]
    if not taken:
        return ibis.literal(True)
    out = taken[0]
    for part in taken[1:]:
        out = out | part
    return ~out


def submodel_parts(model: CRIModel, tables: dict[str, ir.Table]
                   ) -> list[tuple[SubModelSpec, CRIModel, dict[str, ir.Table]]]:
    """Per sub-model, in file order: the spec, the model it scores with, and its tables.

    Its tables are ``tables`` with ``customers`` cut to the customers it matches.
    """
    customers = tables["customers"]
    out = []
    for sub in model.submodels:
        part = {**tables, "customers": customers.filter(submodel_condition(model, sub,
                                                                           customers))}
        out.append((sub, model.submodel(sub.id), part))
    return out
