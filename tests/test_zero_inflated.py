"""The own zero-inflated Poisson / NB2 fitter: its score and Hessian against finite differences,
its estimates, log-likelihood and standard errors against statsmodels, boundaries, warm starts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.discrete.count_model import ZeroInflatedNegativeBinomialP, ZeroInflatedPoisson
from statsmodels.tools.numdiff import approx_fprime

from safeins.errors import ConvergenceError
from safeins.models._zero_inflated import (
    ZeroInflatedLikelihood,
    fit_negbin_newton,
    fit_zero_inflated,
)
from safeins.models.frequency_glm import BoundaryWarning, FrequencyGLM


def _data(n, seed, pi=0.25, alpha=0.6, kx=4, kz=1):
    """A dense design (intercept and dummies), zero-inflated NB2 counts (Poisson if alpha = 0)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.integers(0, 2, (n, kx - 1))]).astype(float)
    Z = np.column_stack([np.ones(n), rng.integers(0, 2, (n, kz - 1))]).astype(float)
    off = np.log(rng.gamma(3.0, 1 / 3, n))
    beta = np.concatenate([[0.2], rng.normal(0.0, 0.4, kx - 1)])
    mu = np.exp(off + X @ beta)
    lam = mu * rng.gamma(1 / alpha, alpha, n) if alpha > 0 else mu
    zeta = np.log(pi / (1 - pi)) + Z[:, 1:] @ rng.normal(0.0, 0.5, kz - 1)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-zeta)), 0, rng.poisson(lam)).astype(float)
    return X, Z, y, off


def _sm_fit(model, start):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(start_params=start, method="bfgs", maxiter=20000, gtol=1e-9, disp=0)


# ---------------------------------------------------------------------- derivatives
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), negbin=st.booleans(), kz=st.integers(0, 3),
       scale=st.floats(0.05, 1.0))
def test_score_and_hessian_equal_finite_differences(seed, negbin, kz, scale):
    # kz = 0: no inflation part (plain Poisson / NB2)
    X, Z, y, off = _data(300, seed, kz=max(kz, 1))
    Z = Z[:, :kz]
    lik = ZeroInflatedLikelihood(X, y, off, Z, negbin=negbin)
    theta = np.random.default_rng(seed + 1).normal(0.0, scale, lik.k)
    ll, g, H = lik.derivatives(theta)
    assert ll == pytest.approx(lik.loglik(theta), rel=1e-12)
    h = 1e-6
    eye = np.eye(lik.k)
    g_num = np.array([(lik.loglik(theta + h * e) - lik.loglik(theta - h * e)) / (2 * h)
                      for e in eye])
    H_num = np.array([(lik.derivatives(theta + h * e)[1] - lik.derivatives(theta - h * e)[1])
                      / (2 * h) for e in eye])
    assert np.max(np.abs(g - g_num)) <= 1e-6 * max(np.max(np.abs(g)), 1.0)
    assert np.max(np.abs(H - H_num)) <= 1e-6 * np.max(np.abs(H))
    assert np.allclose(H, H.T)


def test_loglik_is_the_zero_inflated_mixture_in_closed_form():
    from scipy import stats

    X, Z, y, off = _data(200, 5)
    theta = np.array([-1.0, 0.1, 0.2, -0.3, 0.4, np.log(0.7)])
    lik = ZeroInflatedLikelihood(X, y, off, Z, negbin=True)
    pi = 1 / (1 + np.exp(1.0))
    mu = np.exp(off + X @ theta[1:5])
    r = 1 / 0.7
    f = stats.nbinom.pmf(y, r, r / (r + mu))
    assert lik.loglik(theta) == pytest.approx(np.sum(np.log(pi * (y == 0) + (1 - pi) * f)),
                                              rel=1e-12)


# ---------------------------------------------------------------------- against statsmodels
@pytest.fixture(scope="module")
def zi_data():
    return _data(4000, 21, pi=0.3, alpha=0.8, kx=5, kz=2)


def test_zip_equals_statsmodels(zi_data):
    X, Z, y, off = zi_data
    fit = fit_zero_inflated(X, y, off, Z)
    ours = np.concatenate([fit.gamma, fit.beta])
    model = ZeroInflatedPoisson(y, X, exog_infl=Z, offset=off)
    ref = _sm_fit(model, np.concatenate([[-1.0, 0.0], np.zeros(X.shape[1])]))
    assert ref.mle_retvals["converged"]
    np.testing.assert_allclose(ours, ref.params, rtol=1e-6, atol=1e-7)
    assert model.loglike(ours) == pytest.approx(ref.llf, rel=1e-8)
    assert model.loglike(ours) >= ref.llf - 1e-9  # ours is at least as high
    assert np.max(np.abs(model.score(ours))) < 1e-6  # statsmodels' own analytic score
    # standard errors: inverse of the derivative of statsmodels' analytic score (its analytic
    # ZIP Hessian is not the derivative of its score: tested below)
    H_sm = approx_fprime(ours, model.score, centered=True)
    se_sm = np.sqrt(np.diag(np.linalg.inv(-(H_sm + H_sm.T) / 2)))
    se = np.sqrt(np.concatenate([np.diag(fit.gamma_cov), np.diag(fit.cov)]))
    np.testing.assert_allclose(se, se_sm, rtol=1e-4)


def test_statsmodels_zip_hessian_is_not_the_derivative_of_its_score(zi_data):
    """Why the ZIP standard errors are not compared with statsmodels' cov_params (statsmodels
    0.14-0.15): its analytic Hessian differs from the numerical derivative of its own score,
    while ours equals both derivatives of the likelihood (test above)."""
    X, Z, y, off = zi_data
    fit = fit_zero_inflated(X, y, off, Z)
    ours = np.concatenate([fit.gamma, fit.beta])
    model = ZeroInflatedPoisson(y, X, exog_infl=Z, offset=off)
    num = approx_fprime(ours, model.score, centered=True)
    lik = ZeroInflatedLikelihood(X, y, off, Z, negbin=False)
    H = lik.derivatives(ours)[2]
    assert np.max(np.abs(H - num)) < 1e-6 * np.max(np.abs(H))
    assert np.max(np.abs(model.hessian(ours) - num)) > 1e-3 * np.max(np.abs(H))


def test_zinb_equals_statsmodels(zi_data):
    X, Z, y, off = zi_data
    fit = fit_zero_inflated(X, y, off, Z, negbin=True)
    ours = np.concatenate([fit.gamma, fit.beta, [fit.alpha]])
    model = ZeroInflatedNegativeBinomialP(y, X, exog_infl=Z, offset=off, p=2)
    ref = _sm_fit(model, np.concatenate([[-1.0, 0.0], np.zeros(X.shape[1]), [0.5]]))
    assert ref.mle_retvals["converged"]
    np.testing.assert_allclose(ours, ref.params, rtol=1e-6, atol=1e-7)
    assert model.loglike(ours) == pytest.approx(ref.llf, rel=1e-8)
    assert 0.5 < fit.alpha < 1.2
    # statsmodels' ZINB covariance is its numerical Hessian's inverse
    se_sm = np.sqrt(np.diag(ref.cov_params()))
    se = np.sqrt(np.concatenate([np.diag(fit.gamma_cov), np.diag(fit.cov), [fit.alpha_se**2]]))
    np.testing.assert_allclose(se, se_sm, rtol=1e-4)


@pytest.mark.parametrize("family", ["zip", "zinb"])
def test_frequency_glm_engines_agree(family):
    rng = np.random.default_rng(8)
    n = 3000
    df = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n), "h": rng.choice(["x", "y"], n),
                       "exposure": rng.uniform(0.5, 2.0, n)})
    lam = df["exposure"] * df["g"].map({"a": 0.8, "b": 1.5, "c": 0.5}) * rng.gamma(2.0, 0.5, n)
    df["accidents"] = np.where(rng.random(n) < 0.25, 0, rng.poisson(lam))
    ours = FrequencyGLM(family, ["g"], zero_factors=["h"]).fit(df)
    ref = FrequencyGLM(family, ["g"], zero_factors=["h"], engine="statsmodels").fit(df)
    assert ours.engine_ == "newton" and ref.engine_ == "statsmodels"
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.zero_coef_, ref.zero_coef_, rtol=1e-5, atol=1e-6)
    assert ours.loglik_ == pytest.approx(ref.loglik_, rel=1e-8)
    assert ours.dispersion_ == pytest.approx(ref.dispersion_, rel=1e-4)
    # both invert a Hessian of the same likelihood (statsmodels' engine a numerical one)
    np.testing.assert_allclose(ours.bse_, ref.bse_, rtol=1e-4)
    np.testing.assert_allclose(ours.zero_bse_, ref.zero_bse_, rtol=1e-4)
    np.testing.assert_allclose(ours.dispersion_se_, ref.dispersion_se_, rtol=1e-4)


# ---------------------------------------------------------------------- boundaries and starts
def test_zip_without_excess_zeros_is_the_poisson_fit_at_the_boundary():
    rng = np.random.default_rng(4)
    n = 3000
    df = pd.DataFrame({"g": rng.choice(["a", "b"], n), "exposure": 1.0})
    df["accidents"] = rng.poisson(np.where(df["g"] == "a", 0.6, 1.2))
    with pytest.warns(BoundaryWarning, match="no excess zeros"):
        zip_ = FrequencyGLM("zip", ["g"]).fit(df)
    pois = FrequencyGLM("poisson", ["g"]).fit(df)
    np.testing.assert_allclose(zip_.coef_, pois.coef_, atol=1e-6)
    assert zip_.loglik_ == pytest.approx(pois.loglik_, rel=1e-9)
    assert np.isinf(zip_.zero_bse_.iloc[0])


def test_zinb_without_extra_dispersion_raises():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"sector": rng.choice(["a", "b"], 1500), "exposure": 1.0})
    df["accidents"] = rng.poisson(0.3, 1500)
    with pytest.raises(ConvergenceError, match="boundary 0"):
        FrequencyGLM("zinb", ["sector"]).fit(df)


@pytest.mark.parametrize("negbin", [False, True])
def test_warm_start_from_the_full_fit_takes_fewer_steps_to_the_same_estimate(zi_data, negbin):
    X, Z, y, off = zi_data
    full = fit_zero_inflated(X, y, off, Z, negbin=negbin)
    start = np.concatenate([full.gamma, full.beta, [full.alpha] if negbin else []])
    keep = np.arange(len(y)) % 5 != 0  # a cross-validation training fold
    cold = fit_zero_inflated(X[keep], y[keep], off[keep], Z[keep], negbin=negbin)
    warm = fit_zero_inflated(X[keep], y[keep], off[keep], Z[keep], negbin=negbin, start=start,
                             covariance=False)
    assert warm.n_iter < cold.n_iter
    np.testing.assert_allclose(warm.beta, cold.beta, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(warm.gamma, cold.gamma, rtol=1e-8, atol=1e-9)
    assert np.isnan(warm.cov).all()


# ---------------------------------------------------------------------- NB2 without inflation
def test_negbin_newton_is_the_joint_mle_of_statsmodels_discrete_nb2():
    from statsmodels.discrete.discrete_model import NegativeBinomial

    X, _, y, off = _data(3000, 9, pi=1e-9, alpha=0.7, kx=5)
    fit = fit_negbin_newton(X, y, off)
    ref = NegativeBinomial(y, X, loglike_method="nb2", offset=off).fit(
        method="newton", maxiter=200, disp=0, tol=1e-12)
    np.testing.assert_allclose(fit.beta, ref.params[:-1], rtol=1e-7, atol=1e-9)
    assert fit.alpha == pytest.approx(ref.params[-1], rel=1e-7)
    # the coefficients' covariance is the expected information at the fitted alpha
    mu = np.exp(off + X @ fit.beta)
    info = X.T @ (X * (mu / (1 + fit.alpha * mu))[:, None])
    np.testing.assert_allclose(fit.cov, np.linalg.inv(info), rtol=1e-10)


def test_negbin_newton_without_over_dispersion_is_the_poisson_fit():
    rng = np.random.default_rng(0)
    n = 1500
    X = np.column_stack([np.ones(n), rng.integers(0, 2, n)]).astype(float)
    y = rng.binomial(2, np.where(X[:, 1] == 1, 0.3, 0.1)).astype(float)  # under-dispersed
    fit = fit_negbin_newton(X, y, np.zeros(n))
    assert fit.alpha == 1e-8 and np.isnan(fit.alpha_se)
    assert "boundary" in fit.notes[0]
    # the Poisson MLE in closed form: log of each group's mean count
    rate0, rate1 = y[X[:, 1] == 0].mean(), y[X[:, 1] == 1].mean()
    np.testing.assert_allclose(fit.beta, [np.log(rate0), np.log(rate1 / rate0)], atol=1e-9)
