"""BG/NBD and MBG/NBD: how many purchases a customer will make, and whether they are alive.

Each customer buys at a Poisson rate (gamma across customers, ``r`` and ``alpha``) and may drop
out after each purchase (BG/NBD) or also right at the start (MBG/NBD) with a probability that
is beta across customers (``a``, ``b``). The data is the RFM summary: ``x`` repeat purchases,
``t_x`` the time of the last one, ``T`` the time observed, all from the first purchase.

Everything is vectorised numpy in log space: beta functions as ``betaln``, the two terms of the
likelihood combined with ``logaddexp``, and the Gaussian hypergeometric function of the
conditional expectation taken in its Euler-transformed form, which stays finite where the
textbook form overflows.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284.
Batislam, E. P., Denizel, M. and Filiztekin, A. (2007), "Empirical validation and comparison
of models for customer base analysis", International Journal of Research in Marketing 24(3),
201-209 (the MBG/NBD).
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing P(alive) using the BG/NBD
model", http://brucehardie.com/notes/021/.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, gammaln, hyp2f1

from crindex.clv.models import Array, FittedModel, as_array, check_problems, columns_of
from crindex.errors import Problem, Reason


def check_rfm(x: Array, t_x: Array, T: Array) -> list[Problem]:
    """Problems with an RFM summary: shapes, integer x >= 0, 0 <= t_x <= T, t_x = 0 when x = 0."""
    problems: list[Problem] = []
    if not (x.shape == t_x.shape == T.shape):
        return [Problem(f"x, t_x and T differ in length ({x.size}, {t_x.size}, {T.size})",
                        "fit", "pass the three columns of one summary", Reason.FIT)]

    def bad(mask: np.ndarray, what: str, hint: str) -> None:
        n = int(np.count_nonzero(mask))
        if n:
            first = int(np.flatnonzero(mask)[0])
            problems.append(Problem(
                f"{n} row(s) with {what} (first: row {first}: x={x[first]:g}, "
                f"t_x={t_x[first]:g}, T={T[first]:g})", "fit", hint, Reason.FIT))

    finite = np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T)
    bad(~finite, "missing or infinite values", "drop customers with no purchase")
    with np.errstate(invalid="ignore"):
        bad(finite & ((x < 0) | (x != np.round(x))), "x not a whole number >= 0",
            "x counts repeat purchase days")
        bad(finite & ((t_x < 0) | (t_x > T + 1e-9)), "t_x outside 0..T",
            "t_x (last purchase) and T (calibration end) are both measured from the first "
            "purchase, in the same unit")
        bad(finite & (x == 0) & (t_x != 0), "x = 0 but t_x > 0",
            "a customer with no repeat purchase has t_x = 0")
    return problems


def _rfm_inputs(x: Any, t_x: Any, T: Any, weights: Any) -> tuple[Array, Array, Array, Array]:
    if t_x is None and T is None:
        cols = columns_of(x, ("x", "t_x", "T"), ("weight",))
        x, t_x, T = cols["x"], cols["t_x"], cols["T"]
        weights = cols["weight"] if weights is None else weights
    x, t_x, T = as_array(x, "x"), as_array(t_x, "t_x"), as_array(T, "T")
    check_problems(check_rfm(x, t_x, T))
    w = np.ones_like(x) if weights is None else as_array(weights, "weights")
    return x, t_x, T, w


class BetaGeo(FittedModel):
    """The BG/NBD model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

    >>> model = BetaGeo().fit(summary)                                 # doctest: +SKIP
    >>> model.params_                                                  # doctest: +SKIP
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> model.conditional_expected_purchases(39, x=2, t_x=30.43, T=38.86)  # doctest: +SKIP
    array([1.226])
    """

    param_names = ("r", "alpha", "a", "b")
    label = "BG/NBD"
    scale_params = ("alpha",)
    #: 1 for the MBG/NBD, where a customer may also drop out at time 0
    _shift = 0

    def fit(self, x: Any, t_x: ArrayLike | None = None, T: ArrayLike | None = None,
            weights: ArrayLike | None = None) -> BetaGeo:
        """Fit on an RFM summary.

        Parameters
        ----------
        x
            Repeat purchases per customer, or a table (pandas, pyarrow, Ibis) with columns
            ``x``, ``t_x``, ``T`` and optionally ``weight`` (customers sharing the pattern).
        t_x, T
            Time of the last repeat purchase and time observed, from the first purchase.
        weights
            Customers per row (default 1): fit on distinct patterns with their counts.
        """
        x, t_x, T, w = _rfm_inputs(x, t_x, T, weights)
        return self._fit((x, t_x, T), w)  # type: ignore[return-value]

    def _start(self, data: tuple[Array, ...], weights: Array) -> Array:
        x, _, T = data
        mean_T = float(np.average(T, weights=weights)) or 1.0
        rate = (float(np.average(x, weights=weights)) + 0.1) / mean_T
        return np.array([1.0, 1.0 / rate, 1.0, 1.0])

    def _prepare(self, data: tuple[Array, ...]) -> tuple[Array, ...]:
        x, t_x, T = data[:3]
        # the special functions depend on the customer only through x, and the logarithms
        # through t_x or T, each taking few distinct values (days): they are evaluated once
        # per distinct value and gathered
        out: list[np.ndarray] = [x, t_x, T]
        for values in (x, t_x, T):
            distinct, index = np.unique(values, return_inverse=True)
            out += [distinct, index.reshape(-1)]
        return tuple(out)

    def _loglik(self, params: Array, data: tuple[Array, ...]) -> tuple[Array, Array]:
        r, alpha, a, b = params
        if len(data) == 3:
            data = self._prepare(data)
        x, t_x, T, ux, index, u_tx, i_tx, u_T, i_T = data
        k = self._shift
        u_second = ux > 0 if k == 0 else np.ones_like(ux, dtype=bool)
        uxs = np.where(u_second, ux, 1.0)  # keeps betaln(a + 1, b - 1) out of the masked rows
        psi_abx = digamma(a + b + ux + k)
        per_x = np.stack([
            gammaln(r + ux) - gammaln(r) + r * np.log(alpha) - betaln(a, b),  # common
            betaln(a, b + ux + k),                                            # first term
            np.where(u_second, betaln(a + 1, b + uxs + k - 1), -np.inf),       # second term
            digamma(r + ux),
            digamma(a) - psi_abx,
            digamma(a + 1) - psi_abx,
            digamma(b + ux + k) - psi_abx,
            np.where(u_second, digamma(b + uxs + k - 1) - psi_abx, 0.0),
        ])[:, index]
        common, beta1, beta2, psi_rx, da1, da2, db1, db2 = per_x
        log_alpha_T, log_alpha_tx = np.log(alpha + u_T)[i_T], np.log(alpha + u_tx)[i_tx]
        inv_alpha_T, inv_alpha_tx = (1.0 / (alpha + u_T))[i_T], (1.0 / (alpha + u_tx))[i_tx]
        t1 = beta1 - (r + x) * log_alpha_T
        t2 = beta2 - (r + x) * log_alpha_tx  # -inf where there is no second term
        both = np.logaddexp(t1, t2)
        ll = common + both
        w2 = np.exp(t2 - both)  # share of the "dropped out after the last purchase" term
        w1 = 1.0 - w2
        grad = np.empty((x.shape[0], 4))
        grad[:, 0] = psi_rx - digamma(r) + np.log(alpha) - w1 * log_alpha_T - w2 * log_alpha_tx
        grad[:, 1] = r / alpha - (r + x) * (w1 * inv_alpha_T + w2 * inv_alpha_tx)
        grad[:, 2] = -(digamma(a) - digamma(a + b)) + w1 * da1 + w2 * da2
        grad[:, 3] = -(digamma(b) - digamma(a + b)) + w1 * db1 + w2 * db2
        return ll, grad

    def log_likelihood(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
        """Each customer's log-likelihood under the fitted parameters."""
        params = self._check_fitted()
        return self._loglik(params, (as_array(x, "x"), as_array(t_x, "t_x"),
                                     as_array(T, "T")))[0]

    def _log_odds_dead(self, params: Array, x: Array, t_x: Array, T: Array) -> Array:
        """Log of the second term of the P(alive) denominator (-inf where it is absent)."""
        r, alpha, a, b = params
        k = self._shift
        present = x > 0 if k == 0 else np.ones_like(x, dtype=bool)
        denom = np.where(present, b + x + k - 1, 1.0)
        out = np.log(a) - np.log(denom) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(present, out, -np.inf)

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
        """Probability that a customer with history ``(x, t_x, T)`` is still active."""
        params = self._check_fitted()
        x, t_x, T = as_array(x, "x"), as_array(t_x, "t_x"), as_array(T, "T")
        return 1.0 / (1.0 + np.exp(self._log_odds_dead(params, x, t_x, T)))

    def conditional_expected_purchases(self, t: ArrayLike, x: ArrayLike, t_x: ArrayLike,
                                       T: ArrayLike) -> Array:
        """Expected repeat purchases in the next ``t`` time units, given the history.

        Equation (10) of Fader, Hardie & Lee (2005); the term
        ``((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)`` is evaluated as
        ``(1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)`` (Euler's transformation), finite for any
        ``x``.
        """
        params = self._check_fitted()
        r, alpha, a, b = params
        t = as_array(t, "t")
        x, t_x, T = as_array(x, "x"), as_array(t_x, "t_x"), as_array(T, "T")
        k = self._shift
        c = a + b + x - 1 + k
        one_minus_z = (alpha + T) / (alpha + T + t)
        z = t / (alpha + T + t)
        term = one_minus_z ** (a - 1) * hyp2f1(a + b - 1 + k - r, a - 1, c, z)
        expected = c / (a - 1) * (1.0 - term)
        return expected * self.p_alive(x, t_x, T)

    def expected_purchases(self, t: ArrayLike) -> Array:
        """Expected repeat purchases of a new customer within ``t`` of the first purchase."""
        # a new customer is one with x = 0 observed for T = 0 (for the MBG/NBD, this includes
        # the chance of dropping out right after the first purchase)
        t = as_array(t, "t")
        zero = np.zeros_like(t)
        return self.conditional_expected_purchases(t, zero, zero, zero)


class ModifiedBetaGeo(BetaGeo):
    """The MBG/NBD model (Batislam et al. 2007).

    Like BG/NBD, but a customer may drop out right after the first purchase too, so a customer
    with no repeat purchase is not certainly alive.
    """

    label = "MBG/NBD"
    _shift = 1
