"""Victim-count fits by analytic gradient: the same optimum as the Nelder-Mead search they replaced.

The reference below is that search exactly (same objective, same starting points, same
tolerances), run on the value alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

import safeins as si
from safeins.losses import NegativeBinomial, Poisson, ZeroTruncated
from safeins.models import _accident_counts as counts_mod
from safeins.models._accident_counts import VictimCount

FAMILIES = ("zt_negbin", "zt_poisson_mix", "zt_poisson_negbin_mix")


def nelder_mead(counts, family):
    """The former fit: Nelder-Mead on the negative log-likelihood, best of the same starts."""
    k, w = np.unique(np.asarray(counts, dtype=np.int64), return_counts=True)
    k, w = k.astype(float), w.astype(float)
    nll, starts, _, build = counts_mod._objective(family, k, w, float((k * w).sum() / w.sum()))
    best = None
    for x0 in starts:
        res = optimize.minimize(lambda x: nll(x)[0], x0, method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 3000})
        if best is None or res.fun < best.fun:
            best = res
    comps, weights = build(best.x)
    return VictimCount(comps, weights, family, -best.fun, int(w.sum()))


def params_close(a: VictimCount, b: VictimCount, rtol: float) -> bool:
    pa, pb = a.params, b.params
    return all(abs(pa[n] - pb[n]) <= rtol * max(1.0, abs(pa[n])) for n in pa)


@pytest.fixture(scope="module")
def pilot_counts():
    """Employee victims of the pilot's accidents that have any (the accident model's count data)."""
    f = si.datasets.load("zhejiang-pilot").accidents.frame
    n = (f["employee_deaths"] + f["employee_serious_injuries"] + f["employee_minor_injuries"])
    n = n.to_numpy(dtype=np.int64)
    return n[n > 0]


@pytest.mark.parametrize("family", FAMILIES)
def test_same_optimum_as_nelder_mead_on_the_pilot(pilot_counts, family):
    new = VictimCount.fit_family(pilot_counts, family)
    ref = nelder_mead(pilot_counts, family)
    assert new.loglik >= ref.loglik - 1e-8 * abs(ref.loglik)
    if family == "zt_negbin":
        # the pilot's counts push the NB to its logarithmic limit (n at its lower bound e^-20):
        # n is not identified there, the law is
        k = np.arange(1, 40)
        np.testing.assert_allclose(new.pmf(k), ref.pmf(k), atol=1e-6)
    else:
        assert params_close(new, ref, 2e-6), (new.params, ref.params)


def test_same_optimum_and_the_truth_on_a_synthetic_mixture():
    truth = VictimCount([ZeroTruncated(Poisson(0.15)), ZeroTruncated(NegativeBinomial(1.2, 0.2))],
                        [0.9, 0.1], family="zt_poisson_negbin_mix")
    x = truth.rvs(40_000, seed=8)
    new = VictimCount.fit_family(x, "zt_poisson_negbin_mix")
    ref = nelder_mead(x, "zt_poisson_negbin_mix")
    assert new.loglik >= ref.loglik - 1e-8 * abs(ref.loglik)
    assert params_close(new, ref, 2e-6), (new.params, ref.params)
    p = new.params
    # within about three standard errors (spread of the estimates over seeds 0-3: n2 0.95-1.37)
    assert p["w1"] == pytest.approx(0.9, abs=0.02)
    assert p["mu1"] == pytest.approx(0.15, rel=0.1)
    assert p["n2"] == pytest.approx(1.2, rel=0.35)
    assert p["p2"] == pytest.approx(0.2, rel=0.15)
    assert new.mean() == pytest.approx(x.mean(), rel=1e-6)  # the likelihood equations keep the mean


def test_never_worse_than_nelder_mead_where_it_stops_short():
    """Two Poisson components of a 3-parameter mixture: Nelder-Mead from the fixed starts can stall
    on a ridge; the gradient search must reach at least as high."""
    rng = np.random.default_rng(4)
    x = np.where(rng.random(3_000) < 0.9, 1 + rng.poisson(0.1, 3_000), 1 + rng.poisson(2.5, 3_000))
    for family in FAMILIES:
        new = VictimCount.fit_family(x, family)
        ref = nelder_mead(x, family)
        assert new.loglik >= ref.loglik - 1e-8 * abs(ref.loglik), family


@pytest.mark.parametrize("family", FAMILIES)
def test_analytic_gradient_matches_finite_differences(family):
    k = np.arange(1.0, 9.0)
    w = np.array([500.0, 120.0, 40.0, 15.0, 6.0, 3.0, 1.0, 1.0])
    nll, starts, _, _ = counts_mod._objective(family, k, w, float((k * w).sum() / w.sum()))
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = starts[0] + rng.normal(0.0, 0.5, len(starts[0]))
        g = nll(x)[1]
        for i in range(len(x)):
            e = np.zeros_like(x)
            e[i] = 1e-6
            fd = (nll(x + e)[0] - nll(x - e)[0]) / 2e-6
            assert g[i] == pytest.approx(fd, rel=1e-5, abs=1e-5 * max(1.0, math.fabs(fd)))


def test_cost_log_likelihoods_written_out_equal_scipy_stats():
    """fit_cost's AIC uses the lognormal and gamma log-densities written out (no scipy.stats
    import on the fitting path): the same numbers as scipy.stats."""
    from scipy import stats

    from safeins.models._accident_fit import _fit_gamma, _fit_lognormal

    x = np.random.default_rng(6).lognormal(9.0, 1.2, 3_000)
    d, ll = _fit_lognormal(x)
    lx = np.log(x)
    assert ll == pytest.approx(stats.norm.logpdf(lx, lx.mean(), lx.std()).sum() - lx.sum(),
                               rel=1e-12)
    d, ll = _fit_gamma(x)
    a, theta = d.params["alpha"], d.params["theta"]
    assert ll == pytest.approx(stats.gamma.logpdf(x, a, scale=theta).sum(), rel=1e-12)


# --- insured-loss lattices are cached -----------------------------------------------------------
@pytest.fixture(scope="module")
def small_model():
    d = si.datasets.synthetic_portfolio(n_enterprises=1_500, years=(2022, 2023), seed=7)
    return si.AccidentModel(min_count=100).fit(d.accidents, d.portfolio), d


def test_insured_loss_lattice_is_computed_once_per_coverage_and_sector(small_model):
    m, _ = small_model
    cov = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
    a = m.insured_loss(cov, sector="construction")
    # an equal coverage built another way (as Tariff.from_models does) hits the same entry
    b = m.insured_loss(cov.model_copy(update={"per_person": 500_000.0}), sector="construction")
    assert b.probs is a.probs and b.mean() == a.mean()
    with pytest.raises(ValueError):
        a.probs[0] = 1.0  # shared: read-only
    other = m.insured_loss(cov.model_copy(update={"per_person": 600_000.0}), sector="construction")
    assert other.probs is not a.probs and other.mean() > a.mean()
    assert m.insured_loss(cov, sector="construction", n=2**12 + 1).probs is not a.probs
    fresh = si.AccidentModel(min_count=100)
    fresh.__dict__.update({k: v for k, v in m.__dict__.items() if k != "_lattices"})
    np.testing.assert_array_equal(fresh.insured_loss(cov, sector="construction").probs, a.probs)


def test_refit_empties_the_lattice_cache_and_pickles_leave_it_out(small_model):
    import pickle

    m, d = small_model
    cov = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
    m.insured_loss(cov, sector="construction")
    clone = pickle.loads(pickle.dumps(m))
    assert "_lattices" not in clone.__dict__
    assert clone.insured_loss(cov, sector="construction").mean() == pytest.approx(
        m.insured_loss(cov, sector="construction").mean(), rel=1e-15)
    m2 = si.AccidentModel(min_count=100, death_liability=200_000).fit(d.accidents, d.portfolio)
    before = m2.insured_loss(cov, sector="construction").mean()
    m2.death_liability = 900_000
    m2.fit(d.accidents, d.portfolio)  # a new fit: the old lattices must not be served
    assert m2.__dict__["_lattices"] == {}
    assert m2.insured_loss(cov, sector="construction").mean() > before
