"""What every fitted CLV model shares: maximum likelihood, scikit-learn conventions, errors.

Parameters are estimated in log space; standard errors come from the Hessian.

A model subclass gives its parameter names, a starting point and ``_loglik(params, data)``
returning the per-row log-likelihood and its gradient with respect to the (natural) parameters.
The base class maximises the weighted sum over ``log(params)`` with scipy's BFGS (the analytic
gradient, so no automatic differentiation), finishes with Newton steps on a
finite-difference Hessian of that gradient when BFGS stops early, and derives standard errors
from the same Hessian. A fit whose shape parameters leave :data:`SANE_SHAPE`, or that ends
unconverged, raises :class:`~crindex.errors.FitError` with the parameters and the fix.

Settings go in ``__init__``; ``fit`` returns ``self`` and sets the learned attributes, all ending
in ``_``: ``params_`` (dict), ``standard_errors_``, ``covariance_``, ``log_likelihood_``,
``n_iter_``, ``n_obs_``. Using a model before ``fit`` raises
:class:`~crindex.errors.NotFittedError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from crindex.errors import FitError, NotFittedError, Problem, Reason

Array = NDArray[np.float64]

#: the range a fitted shape parameter must stay in; outside it the fit has run away (the
#: likelihood keeps rising toward a limit of the model, e.g. no heterogeneity at all)
SANE_SHAPE = (1e-6, 1e4)
#: the largest gradient of the mean log-likelihood (in log parameters) a fit that the
#: optimiser did not call converged may end on
NOT_CONVERGED = 1e-3


def as_array(values: ArrayLike, name: str) -> Array:
    """A float vector, or a clear error."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise FitError.single(Reason.FIT, f"`{name}` is not numeric", name) from None
    return np.atleast_1d(out)


def columns_of(table: Any, names: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[
        str, Array | None]:
    """Numeric columns of a pandas/pyarrow/Ibis table (or a mapping of arrays) by name."""
    if hasattr(table, "to_pyarrow") and hasattr(table, "schema") and not hasattr(table, "iloc"):
        table = table.to_pyarrow()  # an Ibis expression: run it
    if hasattr(table, "column_names"):  # pyarrow
        cols = list(table.column_names)

        def get(n: str) -> Array:
            return np.asarray(table.column(n).to_numpy(zero_copy_only=False), dtype=np.float64)
    elif isinstance(table, Mapping) or hasattr(table, "columns"):
        cols = list(table.keys() if isinstance(table, Mapping) else table.columns)

        def get(n: str) -> Array:
            return np.asarray(table[n], dtype=np.float64)
    else:
        raise FitError.single(Reason.FIT, "expected a table with named columns",
                              hint="pass a pandas/pyarrow/Ibis table or arrays")
    missing = [n for n in names if n not in cols]
    if missing:
        raise FitError.single(
            Reason.MISSING_COLUMN, f"the table has no column {', '.join(missing)}",
            hint="columns found: " + ", ".join(map(str, cols)) + "; an RFM summary "
            "(crindex.clv.rfm_summary) has x, t_x, T and monetary",
        )
    out: dict[str, Array | None] = {n: get(n) for n in names}
    out.update({n: (get(n) if n in cols else None) for n in optional})
    return out


class FittedModel:
    """Base of the maximum-likelihood models (BG/NBD, MBG/NBD, Gamma-Gamma, sBG).

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters added to the mean negative log-likelihood (0: plain
        maximum likelihood, as in the papers).
    tol
        Gradient tolerance of the optimiser on the mean log-likelihood.
    max_iter
        Iteration limit of the optimiser.
    """

    param_names: tuple[str, ...] = ()
    #: the model's name in messages
    label: str = ""
    #: scale parameters (in the data's time or money unit): only finite and > 0 is asked of
    #: them; every other parameter is a shape, whose fit must stay within :data:`SANE_SHAPE`
    scale_params: tuple[str, ...] = ()

    def __init__(self, penalizer: float = 0.0, tol: float = 1e-7, max_iter: int = 2000):
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    # -- what a subclass provides ----------------------------------------------------------------
    def _loglik(self, params: Array, data: tuple[Array, ...]) -> tuple[Array, Array]:
        """Per-row log-likelihood (n,) and its gradient in natural parameters (n, k)."""
        raise NotImplementedError

    def _start(self, data: tuple[Array, ...], weights: Array) -> Array:
        return np.ones(len(self.param_names))

    def _prepare(self, data: tuple[Array, ...]) -> tuple[Array, ...]:
        """Work done once per fit (e.g. the distinct values of x); the default does nothing."""
        return data

    # -- fitting -------------------------------------------------------------------------------
    def _fit(self, data: tuple[Array, ...], weights: Array) -> FittedModel:
        if weights.shape[0] == 0 or not np.isfinite(weights).all() or (weights < 0).any():
            raise FitError.single(Reason.FIT, "no rows to fit, or weights that are not >= 0",
                                  type(self).__name__, "fit needs at least one customer")
        total = float(weights.sum())
        if total <= 0:
            raise FitError.single(Reason.FIT, "the weights sum to 0", type(self).__name__)

        def objective(u: Array) -> tuple[float, Array]:
            params = np.exp(u)
            ll, grad = self._loglik(params, data)
            value = -float(weights @ ll) / total + self.penalizer * float(params @ params)
            g = -(weights @ grad) / total + 2 * self.penalizer * params
            if not np.isfinite(value):
                return np.inf, np.zeros_like(u)
            return value, g * params  # chain rule: d/du = d/dparam * param

        u0 = np.log(self._start(data, weights))
        data = self._prepare(data)
        with np.errstate(all="ignore"):
            res = minimize(objective, u0, jac=True, method="BFGS",
                           options={"gtol": self.tol, "maxiter": self.max_iter})
            u, value = res.x, float(res.fun)
            # BFGS may stop on precision loss short of the optimum: finish with Newton steps
            for _ in range(0 if res.success else 4):
                grad = objective(u)[1]
                hess = _hessian(lambda v: objective(v)[1], u)
                try:
                    step = np.linalg.solve(hess, grad)
                except np.linalg.LinAlgError:
                    break
                cand = u - step
                cand_value = objective(cand)[0]
                if not cand_value <= value:
                    break
                u, value = cand, cand_value
                if np.max(np.abs(step)) < 1e-12:
                    break
        if not np.isfinite(value):
            raise FitError.single(
                Reason.FIT, f"{type(self).__name__} did not converge (log-likelihood not finite)",
                hint="check the data (x, t_x, T from one summary, same time unit) or set a "
                "small penalizer, e.g. 0.001",
            )
        params = np.exp(u)
        self._refuse_runaway(params, objective(u)[1], bool(res.success))
        self.params_ = dict(zip(self.param_names, params.tolist(), strict=True))
        self.n_iter_ = int(res.nit)
        self.n_obs_ = total
        ll, _ = self._loglik(params, data)
        self.log_likelihood_ = float(weights @ ll)
        # Hessian of the total negative log-likelihood in natural parameters
        hess = _hessian(lambda p: -(weights @ self._loglik(p, data)[1]), params)
        try:
            cov = np.linalg.inv(hess)
            se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            cov = np.full_like(hess, np.nan)
            se = np.full(len(params), np.nan)
        self.covariance_ = cov
        self.standard_errors_ = dict(zip(self.param_names, se.tolist(), strict=True))
        return self

    def _refuse_runaway(self, params: Array, grad: Array, success: bool) -> None:
        """Refuse a fit whose shape parameters left :data:`SANE_SHAPE`, or that did not converge.

        Such a fit gives predictions that are not numbers (BG/NBD with a 1351, b 4.6e6 on a
        world where no customer seems to drop out), or numbers the data does not support.
        """
        name = self.label or type(self).__name__
        lo, hi = SANE_SHAPE
        out = [(n, v) for n, v in zip(self.param_names, params.tolist(), strict=True)
               if not np.isfinite(v) or v <= 0
               or (n not in self.scale_params and not lo <= v <= hi)]
        fitted = ", ".join(f"{n} {v:.4g}" for n, v in zip(self.param_names, params.tolist(),
                                                          strict=True))
        fix = ("set a penalizer (params: {penalizer: 0.01}; it pulls the parameters back), or "
               "use another model (model: mbgnbd or bgnbd, or a recency/frequency metric); the "
               "data may give the model nothing to learn from (no customer seems to drop out, "
               "all drop out with the same chance, or all buy at the same rate)")
        if out:
            raise FitError.single(
                Reason.FIT, f"the {name} fit ran away: {', '.join(f'{n} {v:.4g}' for n, v in out)}"
                f" left the sane range {lo:g}..{hi:g} of a shape parameter (fitted: {fitted}); "
                "its predictions would not be numbers, so it is refused", "", fix)
        steep = float(np.max(np.abs(grad))) if grad.size else 0.0
        if not success and not steep <= NOT_CONVERGED:
            raise FitError.single(
                Reason.FIT, f"the {name} fit did not converge (gradient {steep:.3g} at {fitted} "
                f"after {self.max_iter} iterations at most)", "", fix)

    # -- use -----------------------------------------------------------------------------------
    def _check_fitted(self) -> Array:
        if not hasattr(self, "params_"):
            raise NotFittedError.single(
                Reason.NOT_FITTED, f"this {type(self).__name__} is not fitted yet",
                hint="call .fit(...) first, or .set_params_(...) with published values",
            )
        return np.array([self.params_[n] for n in self.param_names])

    def set_params_(self, **params: float) -> FittedModel:
        """Use given parameter values (e.g. published ones) instead of fitting."""
        unknown = set(params) - set(self.param_names)
        missing = set(self.param_names) - set(params)
        if unknown or missing:
            raise FitError.single(
                Reason.BAD_PARAMETER,
                f"{type(self).__name__} parameters are {', '.join(self.param_names)}",
                hint=f"unknown: {', '.join(sorted(unknown)) or '-'}; "
                f"missing: {', '.join(sorted(missing)) or '-'}",
            )
        bad = [n for n, v in params.items() if not (np.isfinite(v) and v > 0)]
        if bad:
            raise FitError.single(Reason.BAD_PARAMETER,
                                  f"parameters must be > 0: {', '.join(bad)}")
        self.params_ = {n: float(params[n]) for n in self.param_names}
        return self

    def summary(self) -> dict[str, dict[str, float]]:
        """Each parameter with its standard error and 95% interval."""
        self._check_fitted()
        se = getattr(self, "standard_errors_", {n: float("nan") for n in self.param_names})
        return {n: {"estimate": v, "se": se[n], "lower_95": v - 1.959964 * se[n],
                    "upper_95": v + 1.959964 * se[n]} for n, v in self.params_.items()}

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            values = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({values})"
        return f"{type(self).__name__}(penalizer={self.penalizer})"


def _hessian(grad: Any, at: Array) -> Array:
    """Central differences of an analytic gradient, symmetrised."""
    k = at.shape[0]
    out = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(at[j]))
        up, down = at.copy(), at.copy()
        up[j] += h
        down[j] -= h
        out[:, j] = (np.asarray(grad(up)) - np.asarray(grad(down))) / (2 * h)
    return (out + out.T) / 2


def check_problems(problems: list[Problem]) -> None:
    """Raise one :class:`FitError` listing every data problem."""
    if problems:
        raise FitError(reason=Reason.FIT, problems=problems,
                       summary="the data cannot be fitted")
