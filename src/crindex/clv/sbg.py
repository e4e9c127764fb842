"""Shifted-beta-geometric (sBG) retention for contractual customers (subscriptions).

At each renewal a customer churns with a probability ``theta`` that is beta(``alpha``,
``beta``) across customers: retention rises with tenure as the likelier churners leave.
``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)`` and the survival
``S(t) = B(alpha, beta + t) / B(alpha, beta)``.

References
----------
Fader, P. S. and Hardie, B. G. S. (2007), "How to project customer retention", Journal of
Interactive Marketing 21(1), 76-90.
Fader, P. S. and Hardie, B. G. S. (2010), "Customer-base valuation in a contractual setting:
the perils of ignoring heterogeneity", Marketing Science 29(1), 85-93 (DEL and DERL).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, hyp2f1

from crindex.clv.models import Array, FittedModel, as_array, check_problems
from crindex.errors import FitError, Problem, Reason


class ShiftedBetaGeometric(FittedModel):
    """The sBG model of contract renewals (Fader & Hardie 2007).

    >>> ShiftedBetaGeometric().fit_survivors([1000, 631, 468, 382, 326, 289, 262, 241])
    ... # doctest: +SKIP
    ShiftedBetaGeometric(alpha=0.7041, beta=1.182)
    """

    param_names = ("alpha", "beta")
    label = "sBG"

    def fit(self, periods: ArrayLike, churned: ArrayLike,
            weights: ArrayLike | None = None) -> ShiftedBetaGeometric:
        """Fit on customer lifetimes in renewal periods.

        Parameters
        ----------
        periods
            Per customer: the period in which they churned (1 = did not renew the first time),
            or, for those still active, the number of periods observed so far (>= 1).
        churned
            True where the customer churned, False where still active (right-censored).
        weights
            Customers per row (default 1).
        """
        t = as_array(periods, "periods")
        c = np.asarray(churned, dtype=bool)
        w = np.ones_like(t) if weights is None else as_array(weights, "weights")
        problems = []
        if not (t.shape == np.atleast_1d(c).shape == w.shape):
            problems.append(Problem("periods, churned and weights differ in length", "fit",
                                    "", Reason.FIT))
        elif ((t < 1) | (t != np.round(t))).any():
            problems.append(Problem("periods must be whole numbers >= 1", "fit",
                                    "count renewal periods from 1", Reason.FIT))
        check_problems(problems)
        return self._fit((t, np.atleast_1d(c).astype(np.float64)), w)  # type: ignore[return-value]

    def fit_survivors(self, survivors: ArrayLike) -> ShiftedBetaGeometric:
        """Fit on a cohort's survivor counts at the start and after each period.

        ``[1000, 631, 468, ...]``: 1000 customers at the start, 631 renewed after period 1, ...
        """
        n = as_array(survivors, "survivors")
        if n.size < 2 or (np.diff(n) > 0).any() or (n < 0).any():
            raise FitError.single(
                Reason.FIT, "survivors must be at least two counts that never increase",
                "fit_survivors", "e.g. [1000, 631, 468, 382]: the cohort, then those left "
                "after each period")
        horizon = n.size - 1
        lost = n[:-1] - n[1:]
        periods = np.concatenate([np.arange(1, horizon + 1), [horizon]])
        churned = np.concatenate([np.ones(horizon, dtype=bool), [False]])
        return self.fit(periods, churned, np.concatenate([lost, n[-1:]]))

    def _start(self, data: tuple[Array, ...], weights: Array) -> Array:
        return np.array([1.0, 1.0])

    def _loglik(self, params: Array, data: tuple[Array, ...]) -> tuple[Array, Array]:
        alpha, beta = params
        t, churned = data
        base = betaln(alpha, beta)
        d_base_a = digamma(alpha) - digamma(alpha + beta)
        d_base_b = digamma(beta) - digamma(alpha + beta)
        psi_end = digamma(alpha + beta + t)
        # churned in period t: B(alpha + 1, beta + t - 1); still active after t: B(alpha, beta + t)
        ll_churn = betaln(alpha + 1, beta + t - 1) - base
        ll_alive = betaln(alpha, beta + t) - base
        ll = np.where(churned > 0, ll_churn, ll_alive)
        grad = np.empty((t.shape[0], 2))
        grad[:, 0] = np.where(churned > 0, digamma(alpha + 1), digamma(alpha)) - psi_end \
            - d_base_a
        grad[:, 1] = np.where(churned > 0, digamma(beta + t - 1), digamma(beta + t)) \
            - psi_end - d_base_b
        return ll, grad

    def survival(self, t: ArrayLike) -> Array:
        """Share of a new cohort still active after ``t`` periods, ``S(t)``."""
        alpha, beta = self._check_fitted()
        t = as_array(t, "t")
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))

    def retention_rate(self, t: ArrayLike) -> Array:
        """Renewal rate at period ``t``: ``S(t) / S(t-1) = (beta+t-1) / (alpha+beta+t-1)``."""
        alpha, beta = self._check_fitted()
        t = as_array(t, "t")
        return (beta + t - 1) / (alpha + beta + t - 1)

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """DEL: ``sum_{t>=0} S(t) / (1+d)^t = 2F1(1, beta; alpha+beta; 1/(1+d))`` periods."""
        alpha, beta = self._check_fitted()
        _check_rate(discount_rate)
        return float(hyp2f1(1.0, beta, alpha + beta, 1.0 / (1.0 + discount_rate)))

    def discounted_expected_residual_lifetime(self, renewals: ArrayLike,
                                              discount_rate: float) -> Array:
        """DERL of a customer who has made ``renewals`` renewals, just before the next decision.

        ``(beta + n) / (alpha + beta + n) 2F1(1, beta + n + 1; alpha + beta + n + 1; 1/(1+d))``,
        in periods of value (multiply by the value per period); Fader & Hardie (2010), eq. 6.
        """
        alpha, beta = self._check_fitted()
        _check_rate(discount_rate)
        n = as_array(renewals, "renewals")
        return (beta + n) / (alpha + beta + n) * hyp2f1(1.0, beta + n + 1, alpha + beta + n + 1,
                                                         1.0 / (1.0 + discount_rate))


def _check_rate(rate: Any) -> None:
    if not rate > 0:
        raise FitError.single(Reason.BAD_PARAMETER, f"discount_rate {rate} must be > 0",
                              hint="a rate per period, e.g. 0.1")
