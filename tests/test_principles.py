"""Premium principles: closed forms, lattice vs sample vs continuous, invariants."""

import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given
from hypothesis import strategies as hs
from hypothesis.extra.numpy import arrays

from safeins.errors import ValidationError
from safeins.rating import principles as P

NORMAL = st.norm(1000.0, 200.0)
GAMMA = st.gamma(2.0, scale=300.0)


class FakeAggregate:
    """Stands in for the compound Aggregate: anything with .lattice() -> (x, probs)."""

    def __init__(self, x, p):
        self.x, self.p = x, p

    def lattice(self):
        return self.x, self.p


class Moments:
    def mean(self):
        return 10.0

    def var(self):
        return 4.0


# --- closed forms ---------------------------------------------------------------------------


def test_moment_principles():
    assert P.ExpectedValue(0.2).premium(NORMAL) == pytest.approx(1200.0)
    assert P.StandardDeviation(0.5).premium(NORMAL) == pytest.approx(1100.0)
    assert P.Variance(0.001).premium(NORMAL) == pytest.approx(1040.0)
    assert P.StandardDeviation(2).premium(Moments()) == pytest.approx(14.0)
    assert P.Variance(0.5).risk_load(Moments()) == pytest.approx(2.0)


@pytest.mark.parametrize("a", [1e-4, 1e-3, 2e-3])
def test_exponential_utility_closed_forms(a):
    assert P.ExponentialUtility(a).premium(NORMAL) == pytest.approx(1000 + a * 200**2 / 2,
                                                                    rel=1e-8)
    assert P.ExponentialUtility(a).premium(GAMMA) == pytest.approx(-2.0 / a * np.log(1 - a * 300),
                                                                   rel=1e-8)


@pytest.mark.parametrize("h", [0.0, 1e-4, 2e-3])
def test_esscher_closed_forms(h):
    assert P.Esscher(h).premium(NORMAL) == pytest.approx(1000 + h * 200**2, rel=1e-8)
    assert P.Esscher(h).premium(GAMMA) == pytest.approx(600 / (1 - h * 300), rel=1e-8)


@pytest.mark.parametrize("lam", [0.0, 0.25, 1.0])
def test_wang_normal_is_mean_plus_lam_sd(lam):
    assert P.WangTransform(lam).premium(NORMAL) == pytest.approx(1000 + lam * 200, rel=1e-7)


def test_wang_lognormal_closed_form():
    # Wang (2000): the transform of a lognormal(mu, sigma) is lognormal(mu + lam sigma, sigma)
    mu, sigma, lam = 5.0, 0.6, 0.3
    ln = st.lognorm(sigma, scale=np.exp(mu))
    assert P.WangTransform(lam).premium(ln) == pytest.approx(
        np.exp(mu + lam * sigma + sigma**2 / 2), rel=1e-6)


def test_tvar_normal_and_definitions():
    p = 0.95
    z = st.norm.ppf(p)
    expect = 1000 + 200 * st.norm.pdf(z) / (1 - p)
    assert P.TVaRPrinciple(p).premium(NORMAL) == pytest.approx(expect, rel=1e-7)
    # Acerbi–Tasche on a lattice with an atom at VaR: VaR + E[(X - VaR)+] / (1 - p)
    x, pr = np.array([0.0, 10.0, 50.0]), np.array([0.9, 0.06, 0.04])
    var = 10.0  # inf{x : F(x) >= 0.95}
    at = var + (0.04 * 40.0) / 0.05
    assert P.TVaRPrinciple(0.95).premium((x, pr)) == pytest.approx(at)
    assert P.TVaRPrinciple(0.0).premium((x, pr)) == pytest.approx(x @ pr)


def test_generic_distortion_equals_named():
    x = np.random.default_rng(1).gamma(2.0, 300.0, size=5000)
    g = P.Distortion(lambda s: np.minimum(s / 0.1, 1.0))
    assert g.premium(x) == pytest.approx(P.TVaRPrinciple(0.9).premium(x), rel=1e-12)


# --- representations agree ------------------------------------------------------------------


def test_lattice_sample_and_aggregate_agree():
    rng = np.random.default_rng(7)
    sample = rng.choice([0.0, 100.0, 250.0, 1000.0], p=[0.6, 0.25, 0.1, 0.05], size=2000)
    x, counts = np.unique(sample, return_counts=True)
    lattice = (x, counts / counts.sum())
    shuffled = (x[::-1].copy(), (counts / counts.sum())[::-1].copy())
    for pr in (P.ExpectedValue(0.1), P.StandardDeviation(0.3), P.Variance(1e-3),
               P.ExponentialUtility(1e-3), P.Esscher(1e-3), P.WangTransform(0.4),
               P.TVaRPrinciple(0.9)):
        a = pr.premium(sample)
        assert pr.premium(lattice) == pytest.approx(a, rel=1e-12)
        assert pr.premium(shuffled) == pytest.approx(a, rel=1e-12)
        assert pr.premium(FakeAggregate(*lattice)) == pytest.approx(a, rel=1e-12)


@pytest.mark.parametrize("pr", [P.ExponentialUtility(1e-3), P.Esscher(1e-3),
                                P.WangTransform(0.5), P.TVaRPrinciple(0.99),
                                P.StandardDeviation(0.5)])
def test_fine_lattice_converges_to_continuous(pr):
    h = 1.0
    x = np.arange(0, 20000, h)
    probs = np.diff(GAMMA.cdf(np.r_[x - h / 2, x[-1] + h / 2]).clip(0))
    probs[0] += GAMMA.cdf(-h / 2)
    probs /= probs.sum()
    assert pr.premium((x, probs)) == pytest.approx(pr.premium(GAMMA), rel=2e-3)


def test_sample_converges_to_closed_form():
    x = NORMAL.rvs(size=400_000, random_state=3)
    assert P.WangTransform(0.5).premium(x) == pytest.approx(1100, rel=2e-3)
    assert P.Esscher(1e-3).premium(x) == pytest.approx(1040, rel=2e-3)


# --- invariants -----------------------------------------------------------------------------

losses = arrays(np.float64, hs.integers(2, 40), elements=hs.floats(0, 1e4))

LOADED = [
    lambda t: P.ExpectedValue(t), lambda t: P.StandardDeviation(t), lambda t: P.Variance(t / 100),
    lambda t: P.ExponentialUtility(t / 1e4 + 1e-9), lambda t: P.Esscher(t / 1e4),
    lambda t: P.WangTransform(t), lambda t: P.TVaRPrinciple(min(t / 3, 0.99)),
]


@given(x=losses, t1=hs.floats(0, 2), t2=hs.floats(0, 2), which=hs.integers(0, len(LOADED) - 1))
def test_premium_at_least_mean_and_monotone_in_loading(x, t1, t2, which):
    lo, hi = sorted((t1, t2))
    make = LOADED[which]
    mean = x.mean()
    tol = 1e-9 * (1 + np.abs(x).max())
    p_lo, p_hi = make(lo).premium(x), make(hi).premium(x)
    assert p_lo >= mean - tol
    assert p_hi >= p_lo - tol
    assert make(hi).risk_load(x) == pytest.approx(p_hi - mean, abs=tol)


@given(x=losses, c=hs.floats(-1e3, 1e3), which=hs.integers(1, len(LOADED) - 1))
def test_translation_invariance(x, c, which):
    pr = LOADED[which](0.7)
    assert pr.premium(x + c) == pytest.approx(pr.premium(x) + c, abs=1e-7 * (1 + np.abs(x).max()))


@given(x=losses, k=hs.floats(0.01, 100))
def test_positive_homogeneity_where_it_holds(x, k):
    for pr in (P.ExpectedValue(0.3), P.StandardDeviation(0.7), P.WangTransform(0.7),
               P.TVaRPrinciple(0.8)):
        assert pr.premium(k * x) == pytest.approx(k * pr.premium(x),
                                                  rel=1e-9, abs=1e-9 * k * (1 + x.max()))


def test_not_homogeneous_where_it_should_not_be():
    x = np.array([0.0, 10.0, 100.0])
    assert P.Variance(0.01).premium(2 * x) != pytest.approx(2 * P.Variance(0.01).premium(x))
    assert P.ExponentialUtility(0.01).premium(2 * x) > 2 * P.ExponentialUtility(0.01).premium(x)


# --- serialisation and bad input ------------------------------------------------------------


def test_round_trip_and_kinds():
    for kind in P.kinds():
        pr = P.from_dict({"kind": kind, "parameter": 0.5})
        assert P.from_dict(pr.to_dict()) == pr
    with pytest.raises(ValidationError) as err:
        P.from_dict({"kind": "wang2", "extra": 1})
    assert len(err.value) == 3


def test_bad_parameters_and_risks():
    with pytest.raises(ValidationError, match="theta"):
        P.ExpectedValue(-0.1)
    with pytest.raises(ValidationError, match=r"\[0, 1\)"):
        P.TVaRPrinciple(1.0)
    with pytest.raises(ValidationError, match="a"):
        P.ExponentialUtility(0.0)
    with pytest.raises(ValidationError, match="finite"):
        P.ExponentialUtility(1e-2).premium(GAMMA)      # a >= 1/theta: no exponential moment
    with pytest.raises(ValidationError, match="finite"):
        P.Esscher(0.1).premium(st.lognorm(1.0))
    with pytest.raises(ValidationError, match="probs"):
        P.StandardDeviation(1).premium((np.array([1.0, 2.0]), np.array([0.5, 0.6])))
    with pytest.raises(ValidationError, match="risk"):
        P.WangTransform(0.1).premium(np.array([1.0, np.nan]))
    with pytest.raises(ValidationError, match="risk"):
        P.WangTransform(0.1).premium(Moments())         # needs the distribution, not moments
    with pytest.raises(ValidationError):
        P.Distortion(lambda s: s).to_dict()


def test_compound_aggregate_lattice():
    """A real compound Aggregate: the TVaR principle equals its own Acerbi–Tasche tvar."""
    import warnings

    from safeins.losses import Gamma, Poisson
    from safeins.losses.aggregate import Aggregate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # step 0.5 is coarse for Gamma(2, 1); not our subject
        agg = Aggregate(Poisson(10), Gamma(2.0, 1.0), method="panjer", step=0.5, n=2**8,
                        discretization="unbiased")
    assert P.TVaRPrinciple(0.99).premium(agg) == pytest.approx(float(agg.tvar(0.99)), rel=1e-10)
    x, p = agg.lattice()
    assert P.StandardDeviation(1.0).premium(agg) == pytest.approx(
        x @ p + np.sqrt(((x - x @ p) ** 2) @ p), rel=1e-12)


def test_discrete_scipy_law_is_summed():
    nb = st.nbinom(2, 0.2)
    x = np.arange(0, 2000)
    lattice = (x.astype(float), nb.pmf(x) / nb.pmf(x).sum())
    for pr in (P.WangTransform(0.3), P.TVaRPrinciple(0.9), P.Esscher(0.05), P.Variance(0.1)):
        assert pr.premium(nb) == pytest.approx(pr.premium(lattice), rel=1e-9)
