"""Gamma-Gamma spend model and customer lifetime value.

A customer's purchases have a mean value that is gamma across customers (``q``, ``gamma``); each
purchase's value is gamma around it (shape ``p``). Fitted on the customers with repeat
purchases (``x > 0``) and their mean repeat spend; it predicts each customer's expected spend,
shrinking the observed mean toward the population mean the less evidence there is.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV: using iso-value curves for
customer base analysis", Journal of Marketing Research 42(4), 415-430.
Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma model of monetary value",
http://brucehardie.com/notes/025/.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from crindex.calendar import WEEKS_PER_MONTH
from crindex.clv.bgnbd import BetaGeo
from crindex.clv.models import Array, FittedModel, as_array, check_problems, columns_of
from crindex.errors import FitError, Problem, Reason


class GammaGamma(FittedModel):
    """The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005).

    >>> spend = GammaGamma().fit(summary)                  # doctest: +SKIP
    >>> spend.params_                                      # doctest: +SKIP
    {'p': 6.25, 'q': 3.74, 'gamma': 15.44}
    """

    param_names = ("p", "q", "gamma")
    label = "Gamma-Gamma"
    scale_params = ("gamma",)

    def fit(self, x: Any, monetary: ArrayLike | None = None,
            weights: ArrayLike | None = None) -> GammaGamma:
        """Fit on repeat-purchase counts and mean repeat spend.

        Parameters
        ----------
        x
            Repeat purchases per customer, or a table with columns ``x`` and ``monetary``
            (an RFM summary) and optionally ``weight``.
        monetary
            Mean spend of the repeat purchases. Rows with ``x == 0`` carry no information on
            spend and are left out.
        weights
            Customers per row (default 1).
        """
        if monetary is None:
            cols = columns_of(x, ("x", "monetary"), ("weight",))
            x, monetary = cols["x"], cols["monetary"]
            weights = cols["weight"] if weights is None else weights
        assert monetary is not None
        x, m = as_array(x, "x"), as_array(monetary, "monetary")
        w = np.ones_like(x) if weights is None else as_array(weights, "weights")
        if not (x.shape == m.shape == w.shape):
            raise FitError.single(Reason.FIT, "x, monetary and weights differ in length", "fit")
        keep = x > 0
        x, m, w = x[keep], m[keep], w[keep]
        problems = []
        bad = ~np.isfinite(m) | (m <= 0)
        if bad.any():
            problems.append(Problem(
                f"{int(bad.sum())} customer(s) with repeat purchases but a mean repeat spend "
                "that is not > 0", "fit", "the Gamma-Gamma model needs positive spend; leave "
                "out zero-value purchases or those customers", Reason.FIT))
        if x.size == 0:
            problems.append(Problem("no customer has a repeat purchase (x > 0)", "fit",
                                    "the spend model is fitted on repeat buyers", Reason.FIT))
        check_problems(problems)
        return self._fit((x, m), w)  # type: ignore[return-value]

    def _start(self, data: tuple[Array, ...], weights: Array) -> Array:
        _, m = data
        mean = float(np.average(m, weights=weights))
        return np.array([1.0, 2.0, mean])

    def _loglik(self, params: Array, data: tuple[Array, ...]) -> tuple[Array, Array]:
        p, q, gamma = params
        x, m = data
        px = p * x
        log_total = np.log(gamma + x * m)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
              + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_total)
        psi = digamma(px + q)
        grad = np.empty((x.shape[0], 3))
        grad[:, 0] = x * (psi - digamma(px) + np.log(m) + np.log(x) - log_total)
        grad[:, 1] = psi - digamma(q) + np.log(gamma) - log_total
        grad[:, 2] = q / gamma - (px + q) / (gamma + x * m)
        return ll, grad

    def population_mean_spend(self) -> float:
        """Mean spend per purchase across customers, ``p gamma / (q - 1)`` (infinite if q <= 1)."""
        p, q, gamma = self._check_fitted()
        return float(p * gamma / (q - 1)) if q > 1 else float("inf")

    def conditional_expected_spend(self, x: ArrayLike, monetary: ArrayLike) -> Array:
        """Expected spend per purchase given ``x`` repeat purchases of mean ``monetary``.

        ``(gamma + x m) p / (p x + q - 1)``: a weighted mean of the population mean and the
        customer's own; customers with ``x == 0`` get the population mean.
        """
        p, q, gamma = self._check_fitted()
        x, m = as_array(x, "x"), as_array(monetary, "monetary")
        m = np.where(x > 0, m, 0.0)
        return (gamma + x * m) * p / (p * x + q - 1)


def customer_lifetime_value(
    purchases: BetaGeo,
    spend: GammaGamma,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    periods: int = 12,
    period_length: float = WEEKS_PER_MONTH,
    discount_rate: float = 0.01,
    margin: float = 1.0,
) -> Array:
    """Discounted expected value of each customer's purchases over the next ``periods``.

    ``sum_{i=1..periods} margin * spend * (E[Y(i L)] - E[Y((i-1) L)]) / (1 + d)^i``, with ``L``
    the period length in the summary's time unit (default: a month in weeks), ``E[Y(t)]`` the
    conditional expected purchases and ``spend`` the Gamma-Gamma expected spend per purchase.

    Parameters
    ----------
    purchases, spend
        Fitted BG/NBD (or MBG/NBD) and Gamma-Gamma models.
    x, t_x, T, monetary
        The RFM summary (same time unit as the purchase model was fitted in).
    periods
        Number of periods ahead (12 monthly periods: a one-year CLV).
    period_length
        Length of one period in the summary's time unit.
    discount_rate
        Discount rate per period (0.01 a month is about 12.7% a year).
    margin
        Share of revenue that is profit (1: revenue CLV).
    """
    if periods < 1 or period_length <= 0 or discount_rate <= -1:
        raise FitError.single(
            Reason.BAD_PARAMETER, f"periods={periods}, period_length={period_length}, "
            f"discount_rate={discount_rate}", "customer_lifetime_value",
            "periods >= 1, period_length > 0, discount_rate > -1")
    x, t_x, T = as_array(x, "x"), as_array(t_x, "t_x"), as_array(T, "T")
    value = spend.conditional_expected_spend(x, monetary) * margin
    total = np.zeros_like(x)
    previous = np.zeros_like(x)
    for i in range(1, periods + 1):
        cumulative = purchases.conditional_expected_purchases(i * period_length, x, t_x, T)
        total += value * (cumulative - previous) / (1.0 + discount_rate) ** i
        previous = cumulative
    return total
