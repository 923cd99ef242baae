"""Severity distributions: closed-form limited moments vs quadrature, scipy agreement, composites."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from safeins.errors import ValidationError
from safeins.losses import (
    Burr,
    Empirical,
    Exponential,
    Gamma,
    GeneralizedPareto,
    InverseGaussian,
    LogLogistic,
    LogNormal,
    Mixture,
    Pareto,
    Spliced,
    Weibull,
    as_severity,
)

PARAMETRIC = [
    Exponential(3.0),
    Gamma(0.5, 2.0),
    Gamma(7.3, 100.0),
    LogNormal(10.0, 1.5),
    LogNormal(-1.0, 0.3),
    Weibull(0.5, 10.0),
    Weibull(3.0, 10.0),
    Pareto(3.0, 2000.0),
    Pareto(0.8, 100.0),
    Pareto(2.0, 10.0),
    Burr(2.0, 10.0, 3.0),
    Burr(0.5, 10.0, 1.5),
    LogLogistic(4.0, 1.0),
    LogLogistic(1.5, 3.0),
    GeneralizedPareto(0.3, 100.0),
    GeneralizedPareto(-0.4, 100.0),
    GeneralizedPareto(0.0, 100.0),
    GeneralizedPareto(0.6, 100.0, mu=50.0),
    InverseGaussian(2.0, 4.0),
    InverseGaussian(100.0, 10.0),
    InverseGaussian(1.0, 1000.0),
]
COMPOSITE = [
    Mixture([Exponential(1.0), Pareto(3.0, 10.0)], [0.5, 0.5]),
    Spliced(LogNormal(9, 1), GeneralizedPareto(0.3, 4e4, mu=5e4), 5e4, 0.9),
    Spliced(Gamma(2, 1e4), Pareto(2.5, 1e5), 3e4),
]

SCIPY_EQUIV = [
    (Exponential(3.0), stats.expon(scale=3.0)),
    (Gamma(2.5, 4.0), stats.gamma(2.5, scale=4.0)),
    (LogNormal(1.0, 0.7), stats.lognorm(0.7, scale=math.e)),
    (Weibull(1.7, 5.0), stats.weibull_min(1.7, scale=5.0)),
    (Pareto(3.0, 20.0), stats.lomax(3.0, scale=20.0)),
    (GeneralizedPareto(0.2, 5.0, 1.0), stats.genpareto(0.2, loc=1.0, scale=5.0)),
    (Burr(2.0, 10.0, 3.0), stats.burr12(3.0, 2.0, scale=10.0)),
    (LogLogistic(4.0, 2.0), stats.fisk(4.0, scale=2.0)),
    (InverseGaussian(2.0, 4.0), stats.invgauss(0.5, scale=4.0)),
]


def _quad_lm(d, u, k, breaks=None):
    """E[min(X,u)^k] = ∫_0^u k x^(k-1) S(x) dx, split at quantiles, independent of the library."""
    lo = min(max(d.support[0], 0.0), u)
    if breaks is None:
        breaks = _breaks(d)
    pts = [lo, *breaks, u]
    pts = sorted({p for p in pts if lo <= p <= u})
    total = lo**k
    for a, b in itertools.pairwise(pts):
        total += integrate.quad(
            lambda x: k * x ** (k - 1) * d.sf(x), a, b, epsabs=0, epsrel=1e-13, limit=500
        )[0]
    return total


def _breaks(d):
    return [float(v) for v in d.ppf(np.array([0.01, 0.1, 0.5, 0.9, 0.99, 0.999]))]


def _check_lm(d, ks, qs):
    br = _breaks(d)
    us = d.ppf(np.array(qs))
    for k in ks:
        for q, u in zip(qs, us, strict=True):
            u = float(u)
            ref = _quad_lm(d, u, k, br)
            assert float(d.limited_moment(u, k)) == pytest.approx(ref, rel=1e-8), (k, q)


@pytest.mark.slow
@pytest.mark.parametrize("d", PARAMETRIC + COMPOSITE, ids=repr)
def test_limited_moments_match_quadrature_full_grid(d):
    _check_lm(d, (1, 3, 1.7), (1e-4, 0.9, 0.99999))


@pytest.mark.parametrize("d", PARAMETRIC + COMPOSITE, ids=repr)
def test_limited_moments_match_quadrature(d):
    _check_lm(d, (1, 2, 0.5), (0.01, 0.5, 0.999))
    assert float(d.lev(7.5)) == pytest.approx(_quad_lm(d, 7.5, 1), rel=1e-8)
    # vectorised, and u <= 0 gives u^k
    u = np.array([0.0, 1.0, 10.0])
    np.testing.assert_allclose(d.lev(u), [float(d.lev(v)) for v in u], rtol=1e-14)
    assert d.lev(0.0) == 0.0


@pytest.mark.parametrize("d", PARAMETRIC + COMPOSITE, ids=repr)
def test_moments_and_mean_excess(d):
    for k in (1, 2):
        m = d.moment(k)
        if math.isfinite(m):
            # the limited moment tends to the moment
            far = float(d.isf(1e-14))
            lm = float(d.limited_moment(far, k))
            tail_bound = m - lm
            assert -1e-9 * m <= tail_bound <= 0.02 * m
        else:
            assert float(d.limited_moment(1e12, k)) > 0
    if math.isfinite(d.mean()):
        for dd in (float(d.ppf(0.3)), float(d.ppf(0.8))):
            me = float(d.mean_excess(dd))
            ref = (d.mean() - float(d.lev(dd))) / float(d.sf(dd))
            assert me == pytest.approx(ref, rel=1e-7)
        assert d.var() >= 0


@pytest.mark.parametrize(("ours", "ref"), SCIPY_EQUIV, ids=lambda v: repr(v)[:40])
def test_scipy_agreement(ours, ref):
    x = ref.ppf(np.linspace(0.01, 0.99, 25))
    np.testing.assert_allclose(ours.pdf(x), ref.pdf(x), rtol=1e-12)
    np.testing.assert_allclose(ours.cdf(x), ref.cdf(x), rtol=1e-12)
    np.testing.assert_allclose(ours.sf(x), ref.sf(x), rtol=1e-12)
    q = np.array([0.001, 0.3, 0.7, 0.999])
    np.testing.assert_allclose(ours.cdf(ours.ppf(q)), q, rtol=1e-10)  # ppf(cdf) round trip
    np.testing.assert_allclose(ours.ppf(ours.cdf(x)), x, rtol=1e-9)
    assert ours.mean() == pytest.approx(ref.mean(), rel=1e-10)
    assert ours.var() == pytest.approx(ref.var(), rel=1e-8)
    assert ours.moment(3) == pytest.approx(ref.moment(3), rel=1e-8) or not np.isfinite(
        ref.moment(3)
    )
    # as_severity(scipy) and the closed form agree on limited moments
    wrapped = as_severity(ref)
    for u in (float(ref.ppf(0.2)), float(ref.ppf(0.95))):
        assert float(wrapped.lev(u)) == pytest.approx(float(ours.lev(u)), rel=1e-9)
        assert float(wrapped.limited_moment(u, 2)) == pytest.approx(
            float(ours.limited_moment(u, 2)), rel=1e-9
        )


def test_published_closed_forms():
    # Loss Models appendix A: Pareto E[X ∧ u] = θ/(α-1) [1 - (θ/(u+θ))^(α-1)]
    assert float(Pareto(3.0, 2000.0).lev(1000.0)) == pytest.approx(
        1000.0 * (1 - (2000 / 3000) ** 2), rel=1e-14
    )
    # exponential: E[X ∧ u] = θ (1 - e^(-u/θ)); E[(X ∧ u)^2] = 2θ² (1 - e^(-u/θ)(1 + u/θ))
    assert float(Exponential(100.0).limited_moment(100.0, 2)) == pytest.approx(
        2e4 * (1 - 2 / math.e), rel=1e-14
    )
    # heavy tails: moments that do not exist are inf, mean excess of a GPD is linear in d
    assert Pareto(1.5, 10.0).moment(2) == math.inf
    assert Burr(1.0, 1.0, 1.5).moment(2) == math.inf
    G = GeneralizedPareto(0.25, 1000.0)
    assert float(G.mean_excess(2000.0)) == pytest.approx((1000 + 0.25 * 2000) / 0.75)
    assert Exponential(7.0).mean_excess(3.0) == 7.0


@given(
    theta=st.floats(0.1, 1e6),
    alpha=st.floats(0.2, 20),
    gamma=st.floats(0.3, 8),
    q=st.floats(0.001, 0.999),
)
def test_lev_properties_hypothesis(theta, alpha, gamma, q):
    for d in (Pareto(alpha, theta), Burr(alpha, theta, gamma), Gamma(alpha, theta)):
        u = float(d.ppf(q))
        lev = float(d.lev(u))
        # 0 <= E[X ∧ u] <= u and <= E[X]; d/du E[X ∧ u] = S(u)
        assert 0 <= lev <= u * (1 + 1e-12)
        assert lev <= d.mean() * (1 + 1e-10)
        h = u * 1e-5
        deriv = (float(d.lev(u + h)) - float(d.lev(u - h))) / (2 * h)
        assert deriv == pytest.approx(float(d.sf(u)), rel=1e-4, abs=1e-9)


def test_empirical():
    E = Empirical([1, 2, 3, 4], weights=[0.4, 0.3, 0.2, 0.1])
    assert E.is_discrete
    np.testing.assert_allclose(E.values, [1, 2, 3, 4])
    np.testing.assert_allclose(E.weights, [0.4, 0.3, 0.2, 0.1])
    assert E.mean() == pytest.approx(2.0)
    assert E.var() == pytest.approx(0.4 + 1.2 + 1.8 + 1.6 - 4.0)
    assert float(E.pmf(3)) == pytest.approx(0.2) and float(E.pmf(2.5)) == 0
    np.testing.assert_allclose(E.cdf([0.5, 1, 2.5, 4, 9]), [0, 0.4, 0.7, 1, 1])
    np.testing.assert_allclose(E.ppf([0.1, 0.4, 0.41, 0.7, 1.0]), [1, 1, 2, 2, 4])
    u = np.array([0.0, 1.5, 2.0, 10.0])
    brute = [np.sum(E.weights * np.minimum(E.values, v) ** 2) for v in u]
    np.testing.assert_allclose(E.limited_moment(u, 2), brute, rtol=1e-14)
    assert float(E.mean_excess(2.0)) == pytest.approx((0.2 * 1 + 0.1 * 2) / 0.3)
    draws = E.rvs(100_000, seed=1)
    assert set(np.unique(draws)) == {1, 2, 3, 4}
    assert np.mean(draws == 1) == pytest.approx(0.4, abs=0.01)
    np.testing.assert_array_equal(draws, E.rvs(100_000, seed=1))


def test_mixture_and_spliced():
    M = Mixture([Exponential(1.0), Exponential(10.0)], [0.75, 0.25])
    assert M.mean() == pytest.approx(3.25)
    x = np.array([0.1, 1.0, 5.0, 40.0])
    np.testing.assert_allclose(M.cdf(x), 0.75 * (1 - np.exp(-x)) + 0.25 * (1 - np.exp(-x / 10)))
    np.testing.assert_allclose(M.ppf(M.cdf(x)), x, rtol=1e-10)
    np.testing.assert_allclose(M.logpdf(x), np.log(M.pdf(x)), rtol=1e-12)
    s = M.rvs(100_000, seed=2)
    assert s.mean() == pytest.approx(3.25, rel=0.03)
    S = Spliced(LogNormal(9, 1), GeneralizedPareto(0.3, 40_000, mu=50_000), 50_000, 0.9)
    assert float(S.cdf(50_000)) == pytest.approx(0.9)
    total = integrate.quad(S.pdf, 0, 50_000, limit=200)[0] + integrate.quad(
        S.pdf, 50_000, np.inf, limit=200
    )[0]
    assert total == pytest.approx(1.0, rel=1e-8)
    q = np.array([0.05, 0.5, 0.9, 0.95, 0.999])
    np.testing.assert_allclose(S.cdf(S.ppf(q)), q, rtol=1e-10)
    # continuity weight: the density is continuous at the threshold
    C = Spliced(Gamma(2, 1e4), Pareto(2.5, 1e5), 3e4)
    c = 3e4
    assert float(C.pdf(c)) == pytest.approx(float(C.pdf(c * (1 + 1e-9))), rel=1e-6)
    E = Mixture([Empirical([1, 2]), Empirical([2, 5])], [0.5, 0.5])
    assert E.is_discrete
    np.testing.assert_allclose(E.as_empirical().values, [1, 2, 5])
    np.testing.assert_allclose(E.as_empirical().weights, [0.25, 0.5, 0.25])
    np.testing.assert_allclose(E.sf_left([1, 2, 2.5, 5]), [1, 0.75, 0.25, 0.25])
    np.testing.assert_allclose(E.sf([1, 2, 2.5, 5]), [0.75, 0.25, 0.25, 0])
    with pytest.raises(ValidationError):
        Mixture([Exponential(1.0), Empirical([1.0])], [0.5, 0.5]).as_empirical()


def test_as_severity_wraps_scipy_and_rejects_bad_input():
    X = as_severity(stats.lognorm(1.5, scale=20_000))
    assert float(X.lev(50_000)) == pytest.approx(
        float(LogNormal(math.log(20_000), 1.5).lev(50_000)), rel=1e-10
    )
    assert not X.is_discrete
    assert as_severity(X) is X
    same = Exponential(1.0)
    assert as_severity(same) is same
    with pytest.raises(ValidationError, match=">= 0"):
        as_severity(stats.norm(0, 1))
    with pytest.raises(ValidationError):
        as_severity("lognormal")
    with pytest.raises(ValidationError):
        as_severity(stats.poisson(3))


def test_bad_parameters_list_every_problem():
    with pytest.raises(ValidationError) as e:
        Burr(-1.0, float("nan"), 0.0)
    assert len(e.value) == 3
    with pytest.raises(ValidationError):
        LogNormal(float("inf"), 1.0)
    with pytest.raises(ValidationError):
        GeneralizedPareto(0.1, 1.0, mu=-5.0)
    with pytest.raises(ValidationError) as e:
        Empirical([1.0, -2.0, float("nan")], weights=[1.0, -1.0, 1.0])
    assert len(e.value) == 3
    with pytest.raises(ValidationError, match="sum to 1"):
        Mixture([Exponential(1.0), Exponential(2.0)], [0.5, 0.6])
    with pytest.raises(ValidationError):
        Spliced(Exponential(1.0), Exponential(1.0), -3.0)
    with pytest.raises(ValidationError):
        Exponential(1.0).limited_moment(1.0, k=-1)


def test_rvs_reproducible():
    for d in (LogNormal(1, 1), Spliced(Gamma(2, 1), Pareto(3, 5), 4.0)):
        np.testing.assert_array_equal(d.rvs(100, seed=3), d.rvs(100, seed=3))
        assert d.rvs(20_000, seed=4).mean() == pytest.approx(d.mean(), rel=0.05)


def test_scipy_wrapper_on_a_lattice_matches_closed_form():
    # the aggregate engines ask for E[X ∧ u] on 2^k grid points at once
    X = as_severity(stats.lognorm(1.5, scale=20_000))
    ref = LogNormal(math.log(20_000), 1.5)
    u = np.arange(0, 4096) * 500.0
    for k in (1, 2):
        got, want = X.limited_moment(u, k), ref.limited_moment(u, k)
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-300)
    g = as_severity(stats.gamma(0.5, scale=1000.0))  # infinite density at 0
    v = np.linspace(0, 2e4, 500)
    np.testing.assert_allclose(g.lev(v), Gamma(0.5, 1000.0).lev(v), rtol=1e-11)
