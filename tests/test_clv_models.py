"""BG/NBD, MBG/NBD, Gamma-Gamma and sBG against published figures, simulations and laws."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import approx_fprime
from scipy.special import hyp2f1

from crindex.clv import (
    BetaGeo,
    GammaGamma,
    ModifiedBetaGeo,
    ShiftedBetaGeometric,
    customer_lifetime_value,
    rfm_summary,
)
from crindex.clv.cdnow import read_cdnow
from crindex.errors import FitError, NotFittedError, Reason
from tests.conftest import require_shared_data

PUBLISHED_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    path = require_shared_data() / "cdnow" / "cdnow_customers_summary_with_transactions.csv"
    return pd.read_csv(path).rename(columns={"zbar": "monetary"})


def close(got: dict[str, float], published: dict[str, float], rel: float = 0.005) -> bool:
    return all(abs(got[k] - v) <= rel * abs(v) for k, v in published.items())


# ---- published figures (Fader, Hardie & Lee 2005) ---------------------------------------------

def test_bgnbd_on_cdnow_matches_the_paper(cdnow_summary):
    model = BetaGeo().fit(cdnow_summary)
    assert close(model.params_, PUBLISHED_BG), model.params_
    assert model.log_likelihood_ == pytest.approx(-9582.4, rel=0.005)
    # the paper's example customer: x = 2, t_x = 30.43, T = 38.86, next 39 weeks -> 1.226
    expected = model.conditional_expected_purchases(39, 2, 30.43, 38.86)
    assert round(float(expected[0]), 3) == 1.226
    assert all(se > 0 for se in model.standard_errors_.values())


def test_gamma_gamma_on_cdnow_matches_the_paper(cdnow_summary):
    model = GammaGamma().fit(cdnow_summary)  # fitted on the 946 customers with x > 0
    assert model.n_obs_ == 946
    assert close(model.params_, PUBLISHED_GG), model.params_


def test_summary_built_in_the_engine_gives_the_published_fit():
    orders = read_cdnow(require_shared_data() / "cdnow" / "CDNOW_sample.txt")
    summary = rfm_summary(ibis.memtable(orders), dt.date(1997, 9, 30), unit="weeks")
    assert close(BetaGeo().fit(summary).params_, PUBLISHED_BG)  # an Ibis table, run on fit
    assert close(GammaGamma().fit(summary).params_, PUBLISHED_GG)


def test_fitting_distinct_patterns_with_weights_equals_fitting_customers(cdnow_summary):
    patterns = cdnow_summary.groupby(["x", "t_x", "T"], as_index=False).size()
    assert len(patterns) < len(cdnow_summary)
    weighted = BetaGeo().fit(patterns.x, patterns.t_x, patterns["T"], weights=patterns["size"])
    plain = BetaGeo().fit(cdnow_summary)
    for k, v in plain.params_.items():
        assert weighted.params_[k] == pytest.approx(v, rel=1e-6)


# ---- sBG: Fader & Hardie (2007), "How to project customer retention" -------------------------

def test_sbg_matches_the_published_regular_and_high_end_cohorts():
    regular = ShiftedBetaGeometric().fit_survivors([1000, 631, 468, 382, 326, 289, 262, 241])
    assert regular.params_["alpha"] == pytest.approx(0.704, abs=0.0005)
    assert regular.params_["beta"] == pytest.approx(1.182, abs=0.0005)
    high_end = ShiftedBetaGeometric().fit_survivors([1000, 869, 743, 653, 593, 551, 517, 491])
    assert high_end.params_["alpha"] == pytest.approx(0.668, abs=0.0005)
    assert high_end.params_["beta"] == pytest.approx(3.806, abs=0.0005)
    # retention rises with tenure: r(1) = beta / (alpha + beta) = 1.182 / 1.886 = 0.627
    assert regular.retention_rate(1)[0] == pytest.approx(1.182 / 1.886, abs=0.001)
    assert np.all(np.diff(regular.retention_rate(np.arange(1, 12))) > 0)


def test_sbg_discounted_lifetimes_equal_their_sums():
    model = ShiftedBetaGeometric().set_params_(alpha=0.704, beta=1.182)
    t = np.arange(0, 5000)
    s = model.survival(t)
    d = 0.1
    assert model.discounted_expected_lifetime(d) == pytest.approx((s / (1 + d) ** t).sum())
    for n in (0, 3):
        brute = (s[n + 1:] / s[n] / (1 + d) ** (t[n + 1:] - n - 1)).sum()
        assert model.discounted_expected_residual_lifetime(n, d)[0] == pytest.approx(brute)


# ---- simulation: parameters are recovered -----------------------------------------------------

def simulate(params: dict[str, float], n: int, modified: bool, seed: int = 1):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    T = rng.uniform(20, 52, n)
    # repeat purchases before dropping out: BG/NBD drops after a purchase (>= 1), MBG/NBD may
    # also drop at time 0 (>= 0)
    before_dropout = rng.geometric(p) - (1 if modified else 0)
    arrivals = rng.poisson(lam * T)
    x = np.minimum(before_dropout, arrivals)
    # the x-th of `arrivals` uniform arrival times on (0, T)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), arrivals - x + 1), 0.0)
    return x, t_x, T


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo])
def test_parameters_are_recovered_from_simulated_customers(cls):
    truth = {"r": 0.5, "alpha": 5.0, "a": 1.5, "b": 4.0}
    x, t_x, T = simulate(truth, 20_000, modified=cls is ModifiedBetaGeo)
    model = cls().fit(x, t_x, T)
    for k, v in truth.items():
        # within 4 standard errors of the truth
        assert abs(model.params_[k] - v) < 4 * model.standard_errors_[k], (k, model.params_)


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo])
def test_analytic_gradient_equals_finite_differences(cls, cdnow_summary):
    data = (cdnow_summary.x.to_numpy(float), cdnow_summary.t_x.to_numpy(),
            cdnow_summary["T"].to_numpy())
    model = cls()
    at = np.array([0.3, 5.0, 0.8, 2.5])
    analytic = model._loglik(at, data)[1].sum(axis=0)
    numeric = approx_fprime(at, lambda q: model._loglik(q, data)[0].sum(), 1e-7)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4)


def test_gamma_gamma_standard_errors_equal_the_inverse_hessian_of_the_likelihood(cdnow_summary):
    model = GammaGamma().fit(cdnow_summary)
    rows = cdnow_summary[cdnow_summary.x > 0]
    data = (rows.x.to_numpy(float), rows.monetary.to_numpy())
    at = np.array(list(model.params_.values()))

    def nll(q):
        return -model._loglik(q, data)[0].sum()

    # Hessian from the log-likelihood alone (no gradient code): second differences
    h = 1e-4 * at
    hess = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h[i], np.eye(3)[j] * h[j]
            hess[i, j] = (nll(at + ei + ej) - nll(at + ei - ej) - nll(at - ei + ej)
                          + nll(at - ei - ej)) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(hess)))
    np.testing.assert_allclose(list(model.standard_errors_.values()), se, rtol=1e-3)


# ---- predictions obey their laws --------------------------------------------------------------

FITTED = BetaGeo().set_params_(**PUBLISHED_BG)
rfm = st.tuples(st.integers(0, 60), st.floats(0, 1), st.floats(0.1, 200))


@settings(max_examples=200, deadline=None)
@given(rfm, st.floats(0.5, 500))
def test_p_alive_and_expected_purchases_are_sane(history, horizon):
    x, share, T = history
    t_x = share * T if x > 0 else 0.0
    for model in (FITTED, ModifiedBetaGeo().set_params_(**PUBLISHED_BG)):
        alive = model.p_alive(x, t_x, T)[0]
        assert 0.0 <= alive <= 1.0
        e1, e2 = model.conditional_expected_purchases([horizon, 2 * horizon], x, t_x, T)
        assert np.isfinite(e1) and 0.0 <= e1 <= e2


@settings(max_examples=100, deadline=None)
@given(rfm, st.floats(1, 104))
def test_euler_form_equals_the_papers_equation_10(history, t):
    x, share, T = history
    t_x = share * T if x > 0 else 0.0
    r, alpha, a, b = PUBLISHED_BG.values()
    z = t / (alpha + T + t)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    if not np.isfinite(hyp):
        return  # the textbook form overflows here; the Euler form does not
    direct = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    direct /= 1 + (x > 0) * a / (b + max(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    got = FITTED.conditional_expected_purchases(t, x, t_x, T)[0]
    assert got == pytest.approx(direct, rel=1e-7, abs=1e-9)


def test_p_alive_by_hand():
    # x = 0 under BG/NBD: alive for sure. x = 2, t_x = 30.43, T = 38.86:
    # 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
    #   = 1 / (1 + 0.793/3.426 * (43.274/34.844)^2.243) = 1 / (1 + 0.23147 * 1.62590) = 0.72655
    assert FITTED.p_alive(0, 0, 38.86)[0] == 1.0
    assert FITTED.p_alive(2, 30.43, 38.86)[0] == pytest.approx(0.72655, abs=1e-4)


def test_clv_is_spend_times_discounted_incremental_purchases():
    spend = GammaGamma().set_params_(**PUBLISHED_GG)
    x, t_x, T, m = 2, 30.43, 38.86, 22.35
    # expected spend: (gamma + x m) p / (p x + q - 1) = (15.44 + 44.7) 6.25 / 15.24 = 24.6637
    assert spend.conditional_expected_spend(x, m)[0] == pytest.approx(24.6637, abs=1e-3)
    e = FITTED.conditional_expected_purchases([4.0, 8.0], x, t_x, T)
    two_periods = customer_lifetime_value(FITTED, spend, x, t_x, T, m, periods=2,
                                          period_length=4.0, discount_rate=0.01)[0]
    assert two_periods == pytest.approx(24.6637 * (e[0] / 1.01 + (e[1] - e[0]) / 1.01 ** 2),
                                        rel=1e-4)
    undiscounted = customer_lifetime_value(FITTED, spend, x, t_x, T, m, periods=2,
                                           period_length=4.0, discount_rate=0.0)[0]
    assert undiscounted > two_periods


# ---- misuse -----------------------------------------------------------------------------------

def test_use_before_fit_and_bad_data_are_clear_errors():
    with pytest.raises(NotFittedError) as err:
        BetaGeo().p_alive(1, 1, 2)
    assert err.value.reason == Reason.NOT_FITTED
    with pytest.raises(FitError) as err:
        BetaGeo().fit([1, 0, -1], [5, 3, 0], [4, 10, 10])
    # every problem at once: t_x > T, t_x > 0 with x = 0, x < 0
    assert len(err.value.problems) == 3
    with pytest.raises(FitError):
        BetaGeo().set_params_(r=1, alpha=1, a=1)
    with pytest.raises(FitError):
        GammaGamma().fit([0, 0], [0.0, 0.0])
    with pytest.raises(FitError):
        ShiftedBetaGeometric().fit_survivors([100, 120])
