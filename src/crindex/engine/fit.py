"""The fit step: what a model must learn from the data before it is compiled.

Compiling (:mod:`crindex.engine.compile`) is pure: it builds expressions and runs nothing.
Whatever needs the data first is learned here, by the aggregates that register a ``fit``
(today the CLV metrics of :mod:`crindex.clv.metrics`: BG/NBD and Gamma-Gamma parameters and
each buyer's prediction). :class:`ModelFit` follows scikit-learn: the model in ``__init__``,
:meth:`ModelFit.fit` returns ``self``, learned attributes end in ``_``, and use before fitting
is a clear :class:`~crindex.errors.NotFittedError`.

>>> fitted = fit_model(model, tables, as_of)                  # doctest: +SKIP
>>> compiled = compile_model(model, tables, as_of, fitted=fitted)  # doctest: +SKIP
>>> fitted.report()                                           # doctest: +SKIP
{'clv_1y': {'aggregate': 'clv', 'model': 'bgnbd', 'purchases': {'r': 0.24, ...}, ...}}
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from crindex.calendar import window_start
from crindex.errors import FitError, NotFittedError, Reason
from crindex.model.registry import AGGREGATES, metric_table
from crindex.model.spec import CRIModel

if TYPE_CHECKING:
    import ibis.expr.types as ir


class ModelFit:
    """Everything a model learns from data before compiling, per metric.

    Parameters
    ----------
    model
        The scoring model.

    Attributes
    ----------
    as_of_ : datetime.date
        The date the data was cut at (no later row was read).
    fitted_ : dict
        Per metric id, what its aggregate's ``fit`` returned (an object with ``table_`` and
        ``report()``); metrics that learn nothing are absent.
    parts_ : dict
        For a model with sub-models, each sub-model's own fit (over the customers it
        matches), by sub-model id; ``fitted_`` is then empty.
    """

    def __init__(self, model: CRIModel):
        self.model = model

    def fit(self, tables: dict[str, ir.Table], as_of: dt.date) -> ModelFit:
        """Learn from canonical ``tables`` up to ``as_of``; runs the queries that needs."""
        from crindex.engine.aggregates import Context
        from crindex.engine.compile import check_tables, rows_up_to

        self.parts_: dict[str, ModelFit] = {}
        if self.model.submodels:
            # each sub-model learns from the customers it scores, as it would alone
            from crindex.engine.submodels import submodel_parts

            self.parts_ = {sub.id: ModelFit(variant).fit(part, as_of)
                           for sub, variant, part in submodel_parts(self.model, tables)}
            self.as_of_ = as_of
            self.fitted_ = {}
            return self
        learners = [m for _, m in self.model.metrics if AGGREGATES[m.aggregate].fit is not None]
        if learners:
            check_tables(self.model, tables)
        shared: dict[Any, Any] = {}
        fitted: dict[str, Any] = {}
        for m in learners:
            table_name = metric_table(m)
            ctx = Context(rows_up_to(tables[table_name], table_name, as_of), table_name, as_of,
                          window_start(as_of, m.window), m.id)
            learn = AGGREGATES[m.aggregate].fit
            assert learn is not None
            fitted[m.id] = learn(ctx, m, shared)
        self.as_of_ = as_of
        self.fitted_ = fitted
        return self

    def _check(self) -> None:
        if not hasattr(self, "fitted_"):
            raise NotFittedError.single(
                Reason.NOT_FITTED, f"model `{self.model.name}` is not fitted yet",
                hint="call .fit(tables, as_of) first")

    def check_for(self, model: CRIModel, as_of: dt.date) -> None:
        """Raise unless this is fitted, for ``model`` and as of ``as_of``."""
        self._check()
        if model is not self.model or as_of != self.as_of_:
            raise FitError.single(
                Reason.INCONSISTENT, f"fitted for model `{self.model.name}` as of "
                f"{self.as_of_}, used for model `{model.name}` as of {as_of}",
                hint="fit and compile the same model with the same as_of")

    def get(self, metric_id: str) -> Any:
        """What metric ``metric_id`` learned, or ``None`` when it learns nothing."""
        self._check()
        return self.fitted_.get(metric_id)

    def report(self) -> dict[str, dict[str, Any]]:
        """The fitted figures per metric (parameters, customers, log-likelihood, ...)."""
        self._check()
        out = {metric_id: f.report() for metric_id, f in self.fitted_.items()}
        for sub_id, part in self.parts_.items():
            out |= {f"{sub_id}/{metric_id}": r for metric_id, r in part.report().items()}
        return out

    def warnings(self) -> list[str]:
        """What the fits found that the run's summary must say (customers set aside, ...)."""
        self._check()
        return [w for f in self.fitted_.values() for w in getattr(f, "warnings_", [])] + [
            f"sub-model {sub_id}: {w}" for sub_id, part in self.parts_.items()
            for w in part.warnings()]

    def summary_lines(self) -> list[str]:
        """One readable line per fitted metric, for the command line."""
        self._check()
        return [f.describe() for f in self.fitted_.values()] + [
            f"sub-model {sub_id}: {line}" for sub_id, part in self.parts_.items()
            for line in part.summary_lines()]


def fit_model(model: CRIModel, tables: dict[str, ir.Table], as_of: dt.date) -> ModelFit:
    """Fit what ``model`` must learn from ``tables`` as of ``as_of`` (see :class:`ModelFit`)."""
    return ModelFit(model).fit(tables, as_of)
