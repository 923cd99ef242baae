"""Frequency distributions: closed forms, (a,b) recursion, pgf, thinning, fitting, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from safeins.errors import ConvergenceError, ValidationError
from safeins.losses import (
    Binomial,
    ExtendedTruncatedNB,
    Geometric,
    Logarithmic,
    NegativeBinomial,
    Poisson,
    ZeroModified,
    ZeroTruncated,
    fit_frequency,
)


def _all_examples():
    return [
        Poisson(3.0),
        Poisson(0.05),
        NegativeBinomial(2.5, 0.4),
        NegativeBinomial.from_r_beta(0.3, 7.0),
        Binomial(10, 0.3),
        Geometric(beta=2.0),
        Logarithmic(beta=2.0),
        ZeroModified(Poisson(3.0), 0.2),
        ZeroTruncated(NegativeBinomial(2.0, 0.3)),
        ZeroModified(Logarithmic(beta=3.0), 0.4),
        ZeroModified(Binomial(5, 0.5), 0.1),
        ZeroTruncated(Geometric(p=0.6)),
        ExtendedTruncatedNB(-0.5, 1.0),
        ExtendedTruncatedNB(-0.9, 10.0),
        ZeroModified(ExtendedTruncatedNB(-0.3, 2.0), 0.25),
    ]


EXAMPLES = _all_examples()


def _grid(d, extra=2000):
    hi = d.support[1]
    top = int(hi) if math.isfinite(hi) else int(d.ppf(1 - 1e-16)) + extra
    return np.arange(0, top + 1)


@pytest.mark.parametrize("d", EXAMPLES, ids=repr)
def test_pmf_moments_pgf_against_sums(d):
    k = _grid(d)
    p = d.pmf(k)
    assert abs(p.sum() - 1) < 1e-12
    m = float((k * p).sum())
    assert d.mean() == pytest.approx(m, rel=1e-12)
    assert d.var() == pytest.approx(float(((k - m) ** 2 * p).sum()), rel=1e-10)
    for j in (1, 2, 3):
        assert d.moment(j) == pytest.approx(float((k.astype(float) ** j * p).sum()), rel=1e-10)
    z = np.exp(1j * np.linspace(-3, 3, 7)) * 0.9
    direct = (p[None, :] * z[:, None] ** k[None, :]).sum(axis=1)
    np.testing.assert_allclose(d.pgf(z), direct, rtol=1e-10, atol=1e-14)
    assert abs(d.pgf(1.0) - 1) < 1e-12
    h = 1e-6
    assert (d.pgf(1 + h) - d.pgf(1 - h)) / (2 * h) == pytest.approx(d.mean(), rel=1e-6)
    # cdf and sf are the running sums
    np.testing.assert_allclose(d.cdf(k[:50]), np.cumsum(p)[:50], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d.sf(k[:50]), 1 - np.cumsum(p)[:50], rtol=1e-9, atol=1e-14)
    assert d.p0 == pytest.approx(float(p[0]), abs=1e-15)


@pytest.mark.parametrize("d", EXAMPLES, ids=repr)
def test_ab_recursion_reproduces_pmf(d):
    start = 1 if d.abclass == 0 else 2
    k = np.arange(start, 80)
    np.testing.assert_allclose(d.pmf(k), (d.a + d.b / k) * d.pmf(k - 1), rtol=1e-11, atol=1e-300)
    if d.abclass == 0:
        assert d.p1 == pytest.approx((d.a + d.b) * d.p0, rel=1e-12)


@pytest.mark.parametrize("d", EXAMPLES, ids=repr)
def test_ppf_is_lower_quantile(d):
    k = _grid(d)[:60]
    F = d.cdf(k)
    ok = (F < 1 - 1e-12) & (k >= d.support[0])
    np.testing.assert_array_equal(d.ppf(F[ok]), k[ok])  # ppf(cdf(k)) = k
    q = np.array([1e-6, 0.1, 0.5, 0.9, 0.999])
    x = d.ppf(q)
    assert np.all(d.cdf(x) >= q)
    assert np.all((d.cdf(x - 1) < q) | (x == d.support[0]))
    assert d.ppf(0.0) == d.support[0]
    for bad in (1.5, -0.1, float("nan")):  # a level that is not a probability raises, never NaN
        with pytest.raises(ValidationError, match="q"):
            d.ppf([0.5, bad])


def test_scipy_agreement():
    k = np.arange(0, 60)
    np.testing.assert_allclose(Poisson(4.2).pmf(k), stats.poisson(4.2).pmf(k), rtol=1e-13)
    np.testing.assert_allclose(
        NegativeBinomial(2.5, 0.4).pmf(k), stats.nbinom(2.5, 0.4).pmf(k), rtol=1e-12
    )
    np.testing.assert_allclose(Binomial(20, 0.3).pmf(k), stats.binom(20, 0.3).pmf(k), rtol=1e-12)
    np.testing.assert_allclose(
        Logarithmic(0.7).pmf(k), stats.logser(0.7).pmf(k), rtol=1e-12, atol=1e-300
    )
    # geometric counts failures from 0: scipy's geom counts trials from 1
    np.testing.assert_allclose(Geometric(p=0.3).pmf(k), stats.geom(0.3).pmf(k + 1), rtol=1e-12)


def test_loss_models_zero_modified_example():
    # Loss Models (KPW), zero-truncated / zero-modified Poisson(1) with p0^M = 0.5:
    # p1^T = e^-1/(1 - e^-1) = 0.581977, p1^M = 0.5 p1^T = 0.290988, p2^M = p1^M/2 = 0.145494
    zt = ZeroTruncated(Poisson(1.0))
    zm = ZeroModified(Poisson(1.0), 0.5)
    assert zt.pmf(1) == pytest.approx(0.581977, abs=5e-7)
    assert zm.pmf([0, 1, 2, 3]) == pytest.approx([0.5, 0.290988, 0.145494, 0.048498], abs=5e-7)
    # the NB parameters of Loss Models: r = 2, beta = 3 => a = 0.75, b = 0.75
    nb = NegativeBinomial.from_r_beta(2, 3)
    assert (nb.a, nb.b, nb.p0) == pytest.approx((0.75, 0.75, 1 / 16))


def test_logarithmic_is_limit_of_zero_truncated_nb():
    beta = 2.0
    lim = ZeroTruncated(NegativeBinomial.from_r_beta(1e-9, beta))
    k = np.arange(1, 30)
    np.testing.assert_allclose(lim.pmf(k), Logarithmic(beta=beta).pmf(k), rtol=1e-7)


@given(
    mu=st.floats(1e-3, 500),
    r=st.floats(0.05, 50),
    beta=st.floats(1e-3, 20),
    n=st.integers(1, 60),
    p=st.floats(0.001, 0.999),
    p0m=st.floats(0, 1),
)
def test_pmf_sums_to_one_hypothesis(mu, r, beta, n, p, p0m):
    for d in (
        Poisson(mu),
        NegativeBinomial.from_r_beta(r, beta),
        Binomial(n, p),
        Logarithmic(p=min(p, 0.99)),
        ZeroModified(Poisson(mu), p0m),
        ZeroModified(NegativeBinomial.from_r_beta(r, beta), p0m),
    ):
        top = d.ppf(1 - 1e-15)
        k = np.arange(0, int(top) + 50)
        total = d.pmf(k).sum() + d.sf(k[-1])
        assert abs(total - 1) < 1e-12
        assert abs(d.pgf(1.0) - 1) < 1e-12
        assert d.mean() == pytest.approx(float((k * d.pmf(k)).sum()), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "d",
    [
        Poisson(5.0),
        NegativeBinomial.from_r_beta(2.0, 3.0),
        Binomial(12, 0.6),
        Geometric(beta=1.5),
        Logarithmic(beta=4.0),
        ZeroModified(Poisson(2.0), 0.3),
        ZeroTruncated(NegativeBinomial.from_r_beta(1.5, 2.0)),
        ZeroModified(Logarithmic(beta=2.0), 0.25),
        ZeroModified(Binomial(8, 0.4), 0.5),
        ExtendedTruncatedNB(-0.5, 3.0),
    ],
    ids=repr,
)
def test_thinning_matches_pgf_composition_and_simulation(d):
    q = 0.35
    t = d.thin(q)
    z = np.exp(1j * np.linspace(-2, 2, 9))
    # the survivors' pgf is P_N(1 - q + q z)
    np.testing.assert_allclose(t.pgf(z), d.pgf(1 - q + q * z), rtol=1e-12, atol=1e-14)
    assert t.mean() == pytest.approx(q * d.mean(), rel=1e-12)
    # and a simulation: thin each simulated count binomially
    n = d.rvs(200_000, seed=11)
    surv = np.random.default_rng(12).binomial(n, q)
    k = np.arange(0, 6)
    emp = np.array([(surv == j).mean() for j in k])
    np.testing.assert_allclose(emp, t.pmf(k), atol=4e-3)


def test_thinning_parameters_follow_loss_models():
    assert Poisson(4.0).thin(0.25).mu == 1.0
    nb = NegativeBinomial.from_r_beta(2.0, 3.0).thin(0.25)
    assert (nb.r, nb.beta) == (2.0, 0.75)
    assert Binomial(10, 0.4).thin(0.5).p == pytest.approx(0.2)
    L = Logarithmic(beta=3.0).thin(0.5)
    assert isinstance(L, ZeroModified) and L.parent.beta == pytest.approx(1.5)
    assert L.p0 == pytest.approx(1 - math.log(2.5) / math.log(4.0))
    zm = ZeroModified(Poisson(2.0), 0.4)
    th = zm.thin(0.5)
    p0, p0s = math.exp(-2.0), math.exp(-1.0)  # Loss Models' p0^M* formula
    assert th.p0 == pytest.approx((0.4 - p0 + p0s - 0.4 * p0s) / (1 - p0), rel=1e-12)
    assert Poisson(3.0).thin(1.0) == Poisson(3.0)


def test_large_mean_is_stable():
    N = Poisson(1e5)
    assert N.p0 == 0.0 and N.log_p0 == -1e5
    assert N.cdf(1e5) == pytest.approx(stats.poisson(1e5).cdf(1e5), rel=1e-10)
    assert N.ppf(0.5) == 1e5
    assert np.isfinite(N.logpmf(3e5))
    z = np.exp(1j * np.linspace(-1, 1, 5) * 1e-3)
    assert np.all(np.abs(N.pgf(z)) <= 1 + 1e-12)
    zm = ZeroModified(Poisson(1e5), 0.1)
    assert zm.mean() == pytest.approx(0.9e5, rel=1e-12)
    assert zm.ppf(0.55) == pytest.approx(stats.poisson(1e5).ppf(0.5), abs=1)
    nb = NegativeBinomial.from_r_beta(50.0, 2000.0)
    assert nb.cdf(nb.ppf(0.999)) >= 0.999
    # small means: 1 - p0 without cancellation
    zt = ZeroTruncated(Poisson(1e-12))
    assert zt.pmf(1) == pytest.approx(1.0, rel=1e-9)


def test_rvs_reproducible_and_right_law():
    for d in (Poisson(2.0), NegativeBinomial(2.5, 0.4), ZeroModified(Poisson(2.0), 0.5)):
        a = d.rvs(50_000, seed=5)
        b = d.rvs(50_000, seed=5)
        np.testing.assert_array_equal(a, b)
        assert a.mean() == pytest.approx(d.mean(), abs=5 * d.std() / math.sqrt(a.size))
    assert isinstance(Poisson(1.0).rvs(seed=1), int)


def test_bad_parameters_list_every_problem():
    with pytest.raises(ValidationError) as e:
        NegativeBinomial(-1.0, 1.5)
    assert len(e.value) == 2
    text = str(e.value)
    assert "n" in text and "-1.0" in text and "1.5" in text and "(0, 1]" in text
    with pytest.raises(ValidationError, match="NaN"):
        Poisson(float("nan"))
    with pytest.raises(ValidationError):
        Binomial(3.5, 0.2)
    with pytest.raises(ValidationError):
        ZeroModified(Poisson(1.0), 1.2)
    with pytest.raises(ValidationError):
        ZeroModified(ZeroModified(Poisson(1.0), 0.2), 0.1)
    with pytest.raises(ValidationError):
        Geometric(p=0.5, beta=1.0)
    with pytest.raises(ValidationError):
        Logarithmic(p=1.0)
    with pytest.raises(ValidationError):
        Poisson(1.0).thin(1.5)


# --- fitting --------------------------------------------------------------------------------------
def test_poisson_fit_with_exposure_closed_form():
    rng = np.random.default_rng(0)
    e = rng.uniform(0.5, 4.0, 3000)
    c = rng.poisson(0.8 * e)
    fit = Poisson.fit(c, exposure=e)
    assert fit.params_["mu"] == pytest.approx(c.sum() / e.sum(), rel=1e-14)
    assert fit.bse_["mu"] == pytest.approx(math.sqrt(c.sum()) / e.sum(), rel=1e-12)
    assert abs(fit.params_["mu"] - 0.8) < 4 * fit.bse_["mu"]
    assert fit.loglik_ == pytest.approx(stats.poisson.logpmf(c, fit.params_["mu"] * e).sum())
    assert fit.aic_ == pytest.approx(2 - 2 * fit.loglik_)
    assert "poisson" in fit.summary()
    assert set(fit.observed_expected().columns) == {"count", "observed", "expected"}


def test_nbinom_mle_recovers_and_matches_direct_optimisation():
    true = NegativeBinomial.from_r_beta(2.0, 1.5)
    c = true.rvs(6000, seed=3)
    fit = fit_frequency(c, "nbinom")
    for k, v in (("r", 2.0), ("beta", 1.5)):
        assert abs(fit.params_[k] - v) < 4 * fit.bse_[k]
    # against scipy's own likelihood maximised independently
    from scipy import optimize

    res = optimize.minimize(
        lambda t: -stats.nbinom.logpmf(c, math.exp(t[0]), 1 / (1 + math.exp(t[1]))).sum(),
        [0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 5000},
    )
    assert fit.params_["r"] == pytest.approx(math.exp(res.x[0]), rel=1e-5)
    assert fit.loglik_ == pytest.approx(-res.fun, abs=1e-6)


def test_nbinom_with_exposure_and_moments():
    rng = np.random.default_rng(4)
    e = rng.uniform(0.5, 3.0, 6000)
    c = rng.negative_binomial(2.0, 1 / (1 + 0.7 * e))
    fit = fit_frequency(c, "nbinom", exposure=e)
    assert abs(fit.params_["r"] - 2.0) < 4 * fit.bse_["r"]
    assert abs(fit.params_["beta"] - 0.7) < 4 * fit.bse_["beta"]
    mom = fit_frequency([0, 1, 0, 2, 5, 0, 1, 3, 0, 0], "nbinom", method="moments")
    # mean 1.2, variance 2.56 (n divisor): beta = 2.56/1.2 - 1, r = 1.2/beta
    assert mom.params_["beta"] == pytest.approx(2.56 / 1.2 - 1)
    assert mom.params_["r"] == pytest.approx(1.2 / (2.56 / 1.2 - 1))
    assert math.isnan(mom.bse_["r"])
    with pytest.raises(ValidationError, match="over-dispersion"):
        fit_frequency([1, 1, 2, 1, 1, 2], "nbinom")


@pytest.mark.parametrize(
    ("family", "true", "kw"),
    [
        ("zm_poisson", ZeroModified(Poisson(2.5), 0.35), {}),
        ("zt_poisson", ZeroTruncated(Poisson(1.5)), {}),
        ("zm_nbinom", ZeroModified(NegativeBinomial.from_r_beta(1.5, 2.0), 0.4), {}),
        ("logarithmic", Logarithmic(beta=3.0), {}),
        ("zm_logarithmic", ZeroModified(Logarithmic(beta=2.0), 0.3), {}),
        ("zt_binomial", ZeroTruncated(Binomial(8, 0.3)), {"n": 8}),
        ("binomial", Binomial(8, 0.3), {"n": 8}),
        ("geometric", Geometric(beta=2.0), {}),
        ("etnb", ExtendedTruncatedNB(-0.4, 3.0), {}),
        ("zm_etnb", ZeroModified(ExtendedTruncatedNB(-0.4, 3.0), 0.3), {}),
    ],
)
def test_fits_recover_parameters(family, true, kw):
    c = true.rvs(5000, seed=21)
    fit = fit_frequency(c, family, **kw)
    got = fit.dist
    assert type(got) is type(true)
    assert got.mean() == pytest.approx(true.mean(), rel=0.05)
    assert got.p0 == pytest.approx(true.p0, abs=0.02)
    for v in fit.bse_.values():
        assert v > 0 and math.isfinite(v)
    for k, v in fit.params_.items():  # estimates within 4.5 standard errors of the truth
        if k == "p0":
            continue
        want = getattr(true.parent if hasattr(true, "parent") else true, k, None)
        if want is not None:
            assert abs(v - want) < 4.5 * fit.bse_[k], k
    if family.startswith("zm"):
        assert fit.params_["p0"] == pytest.approx(np.mean(c == 0), rel=1e-14)


def test_fit_bad_input_lists_rows():
    with pytest.raises(ValidationError) as e:
        fit_frequency([0, -1, 2.5, float("nan")], "poisson", exposure=[1, 1, 0, 1])
    assert len(e.value) == 4
    with pytest.raises(ValidationError, match="one of"):
        fit_frequency([1, 2], "zipf")
    with pytest.raises(ValidationError, match="exposures"):
        fit_frequency([1, 2], "zm_poisson", exposure=[1, 1])
    with pytest.raises(ValidationError, match=">= 1"):
        fit_frequency([0, 1, 2], "zt_poisson")
    with pytest.raises(ValidationError, match="trials"):
        fit_frequency([0, 1, 2], "binomial")


def test_fit_reports_non_convergence_rather_than_a_wrong_answer():
    # every positive count equal to 1: the zero-truncated Poisson MLE is mu -> 0 (no interior max)
    with pytest.raises((ValidationError, ConvergenceError)):
        fit_frequency([1, 1, 1, 1], "zt_poisson")


def test_ppf_fallback_bisection_agrees():
    q = np.array([1e-9, 0.3, 0.5, 0.99999])
    for d in (Poisson(1e5), ZeroModified(NegativeBinomial.from_r_beta(0.5, 1e4), 0.3),
              Logarithmic(p=0.999), Binomial(50, 0.5)):
        np.testing.assert_array_equal(d._ppf_bisect(q), d.ppf(q))


def test_etnb_limits_and_bad_input():
    k = np.arange(1, 40)
    # r > 0: the zero-truncated negative binomial; r -> 0: the logarithmic
    np.testing.assert_allclose(
        ExtendedTruncatedNB(2.0, 3.0).pmf(k),
        ZeroTruncated(NegativeBinomial.from_r_beta(2.0, 3.0)).pmf(k),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        ExtendedTruncatedNB(1e-9, 3.0).pmf(k), Logarithmic(beta=3.0).pmf(k), rtol=1e-7
    )
    # Loss Models' ETNB p1 = r beta / ((1+beta)^(r+1) - (1+beta))
    r, b = -0.5, 1.0
    assert ExtendedTruncatedNB(r, b).pmf(1) == pytest.approx(r * b / ((1 + b) ** (r + 1) - (1 + b)))
    with pytest.raises(ValidationError, match="logarithmic"):
        ExtendedTruncatedNB(0.0, 1.0)
    with pytest.raises(ValidationError):
        ExtendedTruncatedNB(-1.5, -1.0)
