"""Bonus–malus: exact linear algebra, published figures, simulation, and bad input."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
from hypothesis import given
from hypothesis import strategies as hs
from scipy.integrate import quad

from safeins.errors import ValidationError
from safeins.rating.bonus_malus import BonusMalus, lemaire_table, presets

# Denuit, Maréchal, Pitrebois & Walhin (2007), "Actuarial Modelling of Claim Counts", Wiley, §4.
# Example 4.2 / p. 178: the -1/+2 scale (6 levels, start 5) at λ = 0.1.
DENUIT_P178_STATIONARY = [0.782901, 0.082338, 0.090998, 0.022278, 0.016387, 0.005097]
DENUIT_P178_P5_ROW0 = [0.791523, 0.081985, 0.088694, 0.018169, 0.015456, 0.004173]
# Tables 4.3 and 4.5 (Portfolio A, no a priori ratemaking): Pr(L = l) and r_l in %, levels 0..5.
DENUIT_T45_OCC = [70.6, 7.1, 8.7, 4.4, 4.7, 4.4]
DENUIT_T45_REL = [62.4, 130.2, 142.9, 207.7, 241.4, 309.1]
DENUIT_T43_OCC = [58.5, 5.2, 6.2, 7.7, 9.7, 12.8]
DENUIT_T43_REL = [54.7, 122.0, 134.8, 150.7, 170.9, 197.3]
# The gamma heterogeneity of Portfolio A (negative binomial fit, mean 0.1474, shape 0.889): these
# values reproduce all 24 figures of the two tables to their printed precision.
PORTFOLIO_A = st.gamma(0.889, scale=0.1474 / 0.889)


def naive_stationary(P, iters=20000):
    x = np.full(P.shape[0], 1.0 / P.shape[0])
    for _ in range(iters):
        x = x @ P
    return x


def brute_transition(bms, lam, kmax=80):
    """P(λ) rule by rule with a long explicit Poisson sum (independent of the vectorised code)."""
    s = bms.n_classes
    P = np.zeros((s, s))
    for lvl in range(s):
        for k in range(kmax):
            P[lvl, bms.table[lvl, min(k, bms.table.shape[1] - 1)]] += st.poisson.pmf(k, lam)
    return P


# --- published figures ----------------------------------------------------------------------


def test_denuit_minus1_plus2_stationary_and_five_steps():
    b = BonusMalus.from_steps(n_classes=6, down=1, up_per_claim=2, start=5)
    np.testing.assert_allclose(b.stationary(0.1), DENUIT_P178_STATIONARY, atol=1e-6)
    P5 = np.linalg.matrix_power(b.transition_matrix(0.1), 5)
    np.testing.assert_allclose(P5[0], DENUIT_P178_P5_ROW0, atol=1e-6)


@pytest.mark.parametrize("name, occ, rel", [
    ("-1/+2", DENUIT_T45_OCC, DENUIT_T45_REL),
    ("-1/top", DENUIT_T43_OCC, DENUIT_T43_REL),
])
def test_denuit_portfolio_a_relativities(name, occ, rel):
    r = BonusMalus.preset(name).optimal_relativities(PORTFOLIO_A)
    np.testing.assert_allclose(100 * r.occupancy, occ, atol=0.06)
    np.testing.assert_allclose(100 * r.values, rel, atol=0.06)


def test_belgian_preset_matches_published_rules():
    b = BonusMalus.preset("belgium-1992")
    assert b.n_classes == 23 and b.start == 11
    assert b.relativities[14] == 1.0 and b.relativities[11] == 0.85
    assert b.relativities[0] == 0.54 and b.relativities[22] == 2.0
    assert b.table[14, 0] == 13          # a claim-free year: one class down
    assert b.table[14, 1] == 18          # first claim: net +4
    assert b.table[14, 2] == 22          # every further claim: +5 (capped at 22)
    assert b.table[0, 1] == 4
    assert set(presets()) >= {"belgium-1992", "-1/+2", "-1/top"}


# --- exact linear algebra -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["belgium-1992", "-1/+2", "-1/+3", "-1/top"])
@pytest.mark.parametrize("lam", [0.02, 0.1, 0.5, 2.0])
def test_stationary_solves_balance_equations(name, lam):
    b = BonusMalus.preset(name)
    P = b.transition_matrix(lam)
    np.testing.assert_allclose(P, brute_transition(b, lam), atol=1e-12)
    pi = b.stationary(lam)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-12)
    assert abs(pi.sum() - 1) < 1e-12 and np.all(pi >= 0)
    np.testing.assert_allclose(pi, naive_stationary(P), atol=1e-8)


def test_vectorised_over_lambda_matches_scalar():
    b = BonusMalus.preset("belgium-1992")
    lams = np.array([0.03, 0.1, 0.4])
    many = b.stationary(lams)
    for i, lam in enumerate(lams):
        np.testing.assert_allclose(many[i], b.stationary(float(lam)), atol=1e-14)
    assert b.transition_matrix(lams).shape == (3, 23, 23)


def test_n_step_and_convergence():
    b = BonusMalus.preset("-1/+2")
    P = b.transition_matrix(0.1)
    e = np.zeros(6)
    e[5] = 1
    np.testing.assert_allclose(b.n_step(0.1, 7), e @ np.linalg.matrix_power(P, 7), atol=1e-14)
    c = b.convergence(0.1, years=60, tol=1e-3)
    assert c.tv[0] == pytest.approx(1 - b.stationary(0.1)[5])
    assert np.all(np.diff(c.tv) <= 1e-15)          # TV to stationarity never increases
    y = c.years_to()
    assert c.tv[y] <= 1e-3 < c.tv[y - 1]
    assert c.to_frame().shape == (61, 7) and "Convergence" in c.summary()


@pytest.mark.parametrize("name", ["belgium-1992", "-1/+2"])
def test_efficiency_exact_vs_finite_differences(name):
    b = BonusMalus.preset(name)
    r = b.relativities if b.relativities is not None else np.linspace(0.6, 3.0, 6)
    lams = np.array([0.03, 0.1, 0.3, 1.0])
    eta = b.efficiency(lams, relativities=r)
    h = 1e-5
    up = b.mean_relativity(lams * np.exp(h), relativities=r)
    dn = b.mean_relativity(lams * np.exp(-h), relativities=r)
    fd = (np.log(up) - np.log(dn)) / (2 * h)
    np.testing.assert_allclose(eta, fd, rtol=1e-6)


def test_efficiency_negative_binomial_counts_vs_finite_differences():
    b = BonusMalus.from_steps(10, down=1, up_per_claim=3, start=5, nb_shape=2.0,
                              relativities=np.linspace(0.5, 2.5, 10))
    lam = 0.2
    h = 1e-5
    fd = (np.log(b.mean_relativity(lam * np.exp(h)))
          - np.log(b.mean_relativity(lam * np.exp(-h)))) / (2 * h)
    assert b.efficiency(lam) == pytest.approx(fd, rel=1e-6)
    P = b.transition_matrix(lam)
    assert P[5, 4] == pytest.approx(st.nbinom.pmf(0, 2.0, 2.0 / 2.2))


def test_graded_claims_transition_matrix():
    # claims are 一般 (90%, +1 class) or 较大 (10%, +3 classes): thinning gives independent Poissons
    b = BonusMalus.from_steps(6, down=1, up_per_claim={"一般": (0.9, 1), "较大": (0.1, 3)}, start=5)
    lam = 0.4
    n1, n2 = st.poisson(0.9 * lam), st.poisson(0.1 * lam)
    P = np.zeros((6, 6))
    for lvl in range(6):
        for i in range(30):
            for j in range(15):
                pts = i + 3 * j
                dest = max(lvl - 1, 0) if pts == 0 else min(lvl + pts, 5)
                P[lvl, dest] += n1.pmf(i) * n2.pmf(j)
    np.testing.assert_allclose(b.transition_matrix(lam), P, atol=1e-12)
    eta = b.efficiency(lam, relativities=np.linspace(0.7, 2, 6))
    h = 1e-5
    r = np.linspace(0.7, 2, 6)
    fd = (np.log(b.mean_relativity(lam * np.exp(h), r))
          - np.log(b.mean_relativity(lam * np.exp(-h), r))) / (2 * h)
    assert eta == pytest.approx(fd, rel=1e-6)


# --- relativities ---------------------------------------------------------------------------


def test_optimal_relativities_against_quad():
    b = BonusMalus.preset("-1/+2")
    prior = st.gamma(1.5, scale=0.1 / 1.5)
    r = b.optimal_relativities(prior)
    occ = [quad(lambda x, l=l: b.stationary(x)[l] * prior.pdf(x), 0, np.inf, limit=200)[0]
           for l in range(6)]
    num = [quad(lambda x, l=l: x * b.stationary(x)[l] * prior.pdf(x), 0, np.inf, limit=200)[0]
           for l in range(6)]
    np.testing.assert_allclose(r.occupancy, occ, rtol=1e-6)
    np.testing.assert_allclose(r.values, np.array(num) / np.array(occ) / 0.1, rtol=1e-6)
    assert r.balance == pytest.approx(1.0, abs=1e-12)
    assert b.financial_balance(r, prior=prior) == pytest.approx(1.0, abs=1e-12)
    assert np.asarray(r).shape == (6,) and r.to_frame().shape == (6, 2)


def test_non_gamma_prior_and_discrete_prior():
    b = BonusMalus.preset("-1/+2")
    prior = st.lognorm(0.8, scale=0.1)
    r = b.optimal_relativities(prior, n_nodes=200)
    num = quad(lambda x: x * b.stationary(x)[0] * prior.pdf(x), 0, np.inf, limit=200)[0]
    den = quad(lambda x: b.stationary(x)[0] * prior.pdf(x), 0, np.inf, limit=200)[0]
    assert r.values[0] == pytest.approx(num / den / prior.mean(), rel=1e-3)
    # two-point prior: exact Bayes by hand
    v, w = np.array([0.05, 0.3]), np.array([0.7, 0.3])
    r2 = b.optimal_relativities((v, w))
    pis = np.array([b.stationary(x) for x in v])
    expect = (w * v) @ pis / (w @ pis) / (w @ v)
    np.testing.assert_allclose(r2.values, expect, rtol=1e-12)


def test_a_priori_classes():
    b = BonusMalus.preset("-1/+2")
    theta = st.gamma(2.0, scale=0.5)          # mean 1: the residual heterogeneity
    classes = [(0.6, 0.08), (0.4, 0.2)]
    r = b.optimal_relativities(theta, risk_classes=classes)
    # by hand: r_l = Σ_k w_k ∫ θ π_l(λ_k θ) dF / Σ_k w_k ∫ π_l(λ_k θ) dF
    num = np.zeros(6)
    den = np.zeros(6)
    for wk, lk in classes:
        for lvl in range(6):
            num[lvl] += wk * quad(lambda t, lk=lk, lvl=lvl: t * b.stationary(lk * t)[lvl]
                                  * theta.pdf(t), 0, np.inf, limit=200)[0]
            den[lvl] += wk * quad(lambda t, lk=lk, lvl=lvl: b.stationary(lk * t)[lvl]
                                  * theta.pdf(t), 0, np.inf, limit=200)[0]
    np.testing.assert_allclose(r.values, num / den, rtol=1e-6)
    assert r.balance == pytest.approx(1.0, abs=1e-10)
    # a priori rating softens the a posteriori corrections (Denuit et al. 2007, Table 4.5)
    plain = b.optimal_relativities(st.gamma(2.0, scale=0.5 * (0.6 * 0.08 + 0.4 * 0.2)))
    assert r.values[-1] < plain.values[-1] * 1.5


# --- simulation -----------------------------------------------------------------------------


def test_long_simulation_matches_n_step_and_relativities():
    b = BonusMalus.preset("-1/+2")
    paths = b.simulate(0.1, years=15, size=200_000, seed=11)
    freq = np.bincount(paths[15], minlength=6) / paths.shape[1]
    np.testing.assert_allclose(freq, b.n_step(0.1, 15), atol=4e-3)
    again = b.simulate(0.1, years=15, size=200_000, seed=11)
    assert np.array_equal(paths, again)
    # heterogeneous portfolio: E[Λ | L = l] from simulated policies after 60 years
    prior = st.gamma(1.5, scale=0.1 / 1.5)
    lam = prior.rvs(size=100_000, random_state=3)
    last = b.simulate(lam, years=60, seed=5)[-1]
    r_sim = np.array([lam[last == lvl].mean() for lvl in range(6)]) / lam.mean()
    r = b.optimal_relativities(prior)
    np.testing.assert_allclose(r_sim, r.values, rtol=0.06)


def test_simulation_of_graded_claims():
    b = BonusMalus.from_steps(6, down=1, up_per_claim={"一般": (0.8, 1), "较大": (0.2, 3)}, start=5)
    paths = b.simulate(0.3, years=10, size=100_000, seed=2)
    freq = np.bincount(paths[-1], minlength=6) / paths.shape[1]
    np.testing.assert_allclose(freq, b.n_step(0.3, 10), atol=6e-3)


# --- Lemaire --------------------------------------------------------------------------------


def test_lemaire_table_is_the_posterior_mean():
    a, tau = 1.6049, 15.8778
    table = lemaire_table(a, tau, max_years=5, max_claims=3)
    prior = st.gamma(a, scale=1 / tau)
    for t, k in [(1, 0), (3, 2), (5, 3)]:
        post = (quad(lambda x, t=t, k=k: x ** (k + 1) * np.exp(-t * x) * prior.pdf(x), 0,
                     np.inf)[0]
                / quad(lambda x, t=t, k=k: x**k * np.exp(-t * x) * prior.pdf(x), 0, np.inf)[0])
        assert table.loc[t, k] == pytest.approx(100 * post / prior.mean(), rel=1e-8)
    assert table.loc[0, 0] == 100 and np.isnan(table.loc[0, 1])
    assert BonusMalus.lemaire_table(a, tau, 5, 3).equals(table)


def test_lemaire_table_from_counts_by_moments():
    rng = np.random.default_rng(0)
    counts = rng.poisson(rng.gamma(1.6, 1 / 15.9, size=400_000))
    t = lemaire_table(counts=counts, max_years=1, max_claims=1)
    assert t.attrs["a"] == pytest.approx(1.6, rel=0.1)
    assert t.attrs["tau"] == pytest.approx(15.9, rel=0.1)


# --- properties -----------------------------------------------------------------------------


@given(n=hs.integers(2, 12), down=hs.integers(1, 3), up=hs.integers(1, 5),
       lam=hs.floats(0.001, 3.0))
def test_stationary_is_a_fixed_point(n, down, up, lam):
    b = BonusMalus.from_steps(n, down=down, up_per_claim=up, start=n - 1)
    pi = b.stationary(lam)
    P = b.transition_matrix(lam)
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-12)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-10)
    assert abs(pi.sum() - 1) < 1e-12


@given(lam1=hs.floats(0.01, 1.0), lam2=hs.floats(0.01, 1.0))
def test_mean_relativity_increases_with_lambda(lam1, lam2):
    b = BonusMalus.preset("belgium-1992")
    lo, hi = sorted((lam1, lam2))
    assert b.mean_relativity(lo) <= b.mean_relativity(hi) + 1e-12


# --- results and bad input ------------------------------------------------------------------


def test_analyse_result_protocol():
    b = BonusMalus.preset("belgium-1992")
    res = b.analyse([0.05, 0.1, 0.2])
    f = res.to_frame()
    assert list(f.columns[-4:]) == ["mean_class", "rsal", "mean_relativity", "efficiency"]
    np.testing.assert_allclose(f.filter(like="pi_").to_numpy(), b.stationary([0.05, 0.1, 0.2]))
    np.testing.assert_allclose(f["efficiency"], b.efficiency(np.array([0.05, 0.1, 0.2])))
    assert "<table" in res._repr_html_() and "efficiency" in res.summary()
    assert res.plot() is not None
    assert b.optimal_relativities(PORTFOLIO_A).plot() is not None
    assert b.convergence(0.1).plot() is not None


def test_labels_and_dict_transitions():
    b = BonusMalus({"A": ["A", "B"], "B": ["A", "C"], "C": ["B", "C"]}, start="B")
    assert b.labels == ["A", "B", "C"] and b.start == 1
    assert b.stationary(0.2).shape == (3,)
    assert isinstance(b.analyse([0.1]).to_frame(), pd.DataFrame)


def test_bad_input_one_error_listing_everything():
    with pytest.raises(ValidationError) as err:
        BonusMalus([[0, 1], [0, 7], [1, -1]], start=5, relativities=[1, 2])
    cols = set(err.value.problems["column"])
    assert {"transitions[1]", "start", "relativities"} <= cols
    assert len(err.value) == 4
    b = BonusMalus.preset("-1/+2")
    with pytest.raises(ValidationError, match="lam"):
        b.stationary(-0.1)
    with pytest.raises(ValidationError) as err:
        b.stationary([0.1, -1.0, np.nan])
    assert len(err.value) == 2
    with pytest.raises(ValidationError, match="lam"):
        b.efficiency(0.0, relativities=np.ones(6))
    with pytest.raises(ValidationError, match="relativities"):
        b.efficiency(0.1)
    with pytest.raises(ValidationError, match="weights summing to 1"):
        BonusMalus.from_steps(6, up_per_claim={"一般": (0.5, 1), "较大": (0.4, 3)})
    with pytest.raises(ValidationError, match="risk_classes"):
        b.optimal_relativities(st.gamma(1.0), risk_classes=[(0.5, 0.1)])
    with pytest.raises(ValidationError, match="name"):
        BonusMalus.preset("france")
    # two closed sets of classes: the stationary law is not unique
    with pytest.raises(ValidationError, match="recurrent"):
        BonusMalus([[0, 0, 2], [1, 1, 1], [2, 2, 2]], start=0).stationary(0.1)


def test_quadrature_error_estimate_and_warning():
    from safeins.errors import DiscretizationWarning

    b = BonusMalus.preset("belgium-1992")
    prior = st.gamma(0.5, scale=0.2)
    ref = b.optimal_relativities(prior, n_nodes=250, tol=1.0)
    with pytest.warns(DiscretizationWarning, match="n_nodes"):
        coarse = b.optimal_relativities(prior, n_nodes=32)
    seen = ref.occupancy > 1e-12
    actual = np.max(np.abs(coarse.values - ref.values)[seen])
    assert actual <= coarse.quadrature_error        # the estimate is conservative
    assert ref.quadrature_error < 1e-6
    with pytest.raises(ValidationError, match="n_nodes"):
        b.optimal_relativities(prior, n_nodes=1000)


def test_dict_with_integer_keys_is_ordered_and_checked():
    a = BonusMalus({1: [0, 2], 0: [0, 1], 2: [1, 2]}, start=2)
    b = BonusMalus([[0, 1], [0, 2], [1, 2]], start=2)
    np.testing.assert_array_equal(a.table, b.table)
    with pytest.raises(ValidationError, match="integer class keys"):
        BonusMalus({0: [0, 1], 5: [0, 1]}, start=0)
    with pytest.raises(ValidationError, match="size"):
        BonusMalus.preset("-1/+2").simulate([0.1, 0.2], years=2, size=5, seed=1)
