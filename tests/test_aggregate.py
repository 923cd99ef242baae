"""Compound distributions: exact engines against each other, closed forms, actuar, risk measures."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from safeins.errors import DiscretizationWarning, ValidationError
from safeins.losses import (
    Binomial,
    Empirical,
    Exponential,
    Gamma,
    Geometric,
    Logarithmic,
    LogNormal,
    NegativeBinomial,
    Poisson,
    ZeroModified,
    ZeroTruncated,
    _compound,
)
from safeins.losses.aggregate import Aggregate
from safeins.losses.coverage import AggregateCoverage, Coverage
from safeins.losses.discretization import discretize

G = Gamma(alpha=2.0, theta=1.0)


@pytest.fixture(autouse=True)
def _quiet_coarse_grid_warnings():
    # the published examples use coarse grids on purpose; tests that check warnings re-enable them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscretizationWarning)
        yield


def _actuar_case(method: str):
    """actuar's risk vignette: Gamma(2, 1) discretised on [0, 22] by step 0.5, Poisson(10).

    A sub-distribution severity (mass sum(f) < 1) compounded with Poisson(10) is the normalised
    severity compounded with Poisson(10 sum(f)) (thinning), so the Empirical below reproduces
    actuar's input exactly.
    """
    n = 45 if method in ("unbiased", "lower") else 44
    f = discretize(G, 0.5, n, method=method)
    E = Empirical(0.5 * np.arange(n), f)
    return Aggregate(Poisson(10 * f.sum()), E, method="panjer", step=0.5, n=2**10,
                     discretization="rounding")


# actuar 3.3-2: VaR(Fs) and CTE(Fs) with aggregateDist(..., tol = 1e-14, maxit = 10000)
ACTUAR = {
    "unbiased": ([30.5, 34.0, 41.0], [35.4190788093, 38.5498321806, 45.0132588522]),
    "rounding": ([30.5, 34.0, 41.0], [35.4088941628, 38.5402686675, 45.0047905845]),
    "upper": ([27.0, 30.5, 37.0], [31.6129643146, 34.7520617405, 40.7698427679]),
    "lower": ([33.5, 37.5, 45.0], [38.7854978890, 42.3481192734, 49.2568954995]),
}


@pytest.mark.parametrize("method", list(ACTUAR))
def test_actuar_risk_vignette_var_and_cte(method):
    agg = _actuar_case(method)
    var, cte = ACTUAR[method]
    levels = [0.9, 0.95, 0.99]
    np.testing.assert_array_equal(agg.ppf(levels), var)
    np.testing.assert_allclose(agg.tvar(levels, kind="cte"), cte, rtol=1e-9)


def test_definitions_table_cte_and_acerbi_tasche():
    # docs/domain/definitions.md#tvar: 99% CTE 45.011 and Acerbi-Tasche 44.659.
    # Those come from actuar's default
    # stopping rule (the recursion stops once F >= 1 - 1e-6, dropping the far tail); on the
    # complete lattice the values are 45.0133 and 44.6617.
    agg = _actuar_case("unbiased")
    assert agg.tvar(0.99, kind="cte") == pytest.approx(45.01326, abs=1e-5)
    assert agg.tvar(0.99) == pytest.approx(44.66172, abs=1e-5)
    x, p = agg.lattice()
    x, p = x[:143], p[:143]  # actuar 3.3-2 with its default tol = 1e-6 returns 143 knots, 0..71
    var = 41.0
    above = x > var
    cte = np.dot(x[above], p[above]) / p[above].sum()
    at = var + np.dot(x[above] - var, p[above]) / 0.01
    assert cte == pytest.approx(45.01066191, abs=1e-8)  # actuar's CTE(Fs) to its printed digits
    assert round(cte, 3) == 45.011
    assert round(at, 3) == 44.659


# --- exact engines agree ------------------------------------------------------------------------
FREQS = [
    Poisson(10.0),
    NegativeBinomial(n=3.0, p=0.25),
    Binomial(n=30, p=0.2),
    Geometric(p=0.2),
    Logarithmic(p=0.8),
    ZeroTruncated(Poisson(4.0)),
    ZeroModified(NegativeBinomial(n=2.0, p=0.4), p0=0.5),
    ZeroModified(Logarithmic(p=0.6), p0=0.2),
]


@pytest.mark.parametrize("freq", FREQS, ids=repr)
def test_exact_methods_agree_to_1e_10(freq):
    kw = dict(step=0.25, n=2**10, discretization="rounding", tol=1e-14)
    sev = Coverage(deductible=0.5, limit=20.0).severity(G)
    res = {m: Aggregate(freq, sev, method=m, **kw).lattice()[1]
           for m in ("fft", "panjer", "convolution")}
    assert abs(res["fft"] - res["panjer"]).max() < 1e-10
    assert abs(res["convolution"] - res["panjer"]).max() < 1e-10
    assert res["panjer"].sum() == pytest.approx(1.0, abs=1e-10)


def test_panjer_does_not_underflow_where_actuar_stops():
    # lambda (1 - f0) = 2000 > 745: P(S = 0) = e^-2000 underflows, actuar refuses to start
    n = 2**14
    f = discretize(G, 0.5, n, method="rounding")
    for freq in (Poisson(2_000.0), NegativeBinomial(n=4_000.0, p=0.8)):
        g = _compound.panjer(freq, f, n)
        h, _ = _compound.fft(freq, f, n, pad=2)
        assert np.all(np.isfinite(g))
        assert g.sum() == pytest.approx(1.0, abs=1e-10)
        assert abs(g - h).max() < 1e-10
        mean = np.dot(np.arange(n) * 0.5, g)
        assert mean == pytest.approx(freq.mean() * np.dot(0.5 * np.arange(n), f), rel=1e-10)


def test_binomial_with_underflowing_start():
    f = discretize(G, 0.5, 2**12, method="rounding")
    freq = Binomial(n=3_000, p=0.5)  # P(N=0) = 2^-3000
    g = _compound.panjer(freq, f, 2**12)
    h, _ = _compound.fft(freq, f, 2**12, pad=2)
    assert abs(g - h).max() < 1e-9


# --- closed forms ---------------------------------------------------------------------------------
def _cp_exponential_cdf(s, lam, theta):
    k = np.arange(0, 200)
    w = stats.poisson(lam).pmf(k)
    out = w[0] + sum(w[i] * special.gammainc(i, np.asarray(s) / theta) for i in range(1, 200))
    return out


def test_compound_poisson_exponential_is_bracketed_and_close():
    lam, theta, h, n = 5.0, 2.0, 0.02, 2**12
    lo = Aggregate(Poisson(lam), Exponential(theta), method="fft", step=h, n=n,
                   discretization="lower")
    up = Aggregate(Poisson(lam), Exponential(theta), method="fft", step=h, n=n,
                   discretization="upper")
    mid = Aggregate(Poisson(lam), Exponential(theta), method="fft", step=h, n=n,
                    discretization="unbiased")
    x = h * np.arange(0, n, 7)
    exact = _cp_exponential_cdf(x, lam, theta)
    assert np.all(lo.cdf(x) <= exact + 1e-12)
    assert np.all(up.cdf(x) >= exact - 1e-12)
    np.testing.assert_allclose(mid.cdf(x), exact, atol=2e-3)
    assert mid.mean() == pytest.approx(lam * theta, rel=1e-7)  # less the tail beyond x = 82
    f0 = float(discretize(Exponential(theta), h, 2, method="unbiased")[0])
    assert mid.pmf(0.0) == pytest.approx(math.exp(-lam * (1 - f0)), rel=1e-9)


def test_compound_geometric_exponential_exact_cdf():
    # N ~ Geometric(p) on {0, 1, ...}, X ~ Exp(theta): F(s) = 1 - (1 - p) exp(-p s / theta)
    p, theta = 0.25, 3.0
    exact = lambda s: 1 - (1 - p) * np.exp(-p * s / theta)  # noqa: E731
    lo = Aggregate(Geometric(p=p), Exponential(theta), method="panjer", step=0.05, n=2**12,
                   discretization="lower")
    up = Aggregate(Geometric(p=p), Exponential(theta), method="panjer", step=0.05, n=2**12,
                   discretization="upper")
    x = 0.05 * np.arange(0, 2**12, 5)
    assert np.all(lo.cdf(x) <= exact(x) + 1e-12)
    assert np.all(up.cdf(x) >= exact(x) - 1e-12)
    for q in (0.5, 0.9, 0.99):
        true_var = -theta / p * math.log((1 - q) / (1 - p))
        assert lo.ppf(q) >= true_var - 1e-9
        assert up.ppf(q) <= true_var + 1e-9
        assert lo.ppf(q) - up.ppf(q) <= 0.05 * 40  # the bounds close in as the step shrinks


def test_normal_limit_for_a_large_count():
    agg = Aggregate(Poisson(5_000.0), G, method="fft", step=0.1, n=2**17,
                    discretization="rounding")
    npow = Aggregate(Poisson(5_000.0), G, method="normal_power")
    norm = Aggregate(Poisson(5_000.0), G, method="normal")
    assert agg.mean() == pytest.approx(10_000.0, rel=1e-6)
    assert norm.mean() == 10_000.0 and norm.var() == pytest.approx(30_000.0)
    for q in (0.9, 0.99, 0.995):
        assert npow.ppf(q) == pytest.approx(agg.ppf(q), rel=1e-3)
        assert norm.ppf(q) == pytest.approx(agg.ppf(q), rel=2e-3)
    assert npow.tvar(0.99) == pytest.approx(agg.tvar(0.99), rel=1e-3)
    assert npow.stop_loss(10_000.0) == pytest.approx(agg.stop_loss(10_000.0), rel=2e-3)
    # the approximations' own closed forms
    z = special.ndtri(0.99)
    m, s = 10_000.0, math.sqrt(30_000.0)
    assert norm.ppf(0.99) == pytest.approx(m + s * z)
    assert norm.tvar(0.99) == pytest.approx(m + s * stats.norm.pdf(z) / 0.01)
    assert norm.stop_loss(m) == pytest.approx(s / math.sqrt(2 * math.pi))
    assert float(norm.cdf(m + s)) == pytest.approx(stats.norm.cdf(1.0))
    g = npow.skew()
    assert npow.ppf(0.99) == pytest.approx(m + s * (z + g * (z * z - 1) / 6))
    assert float(npow.cdf(npow.ppf(0.95))) == pytest.approx(0.95, abs=1e-10)


# --- simulation -----------------------------------------------------------------------------------
def test_simulation_agrees_with_fft_and_is_reproducible():
    cov = Coverage(deductible=1.0, limit=6.0)
    kw = dict(coverage=cov)
    fft = Aggregate(NegativeBinomial(n=4.0, p=0.3), G, method="fft", step=0.01, n=2**13,
                    discretization="unbiased", **kw)
    sim = Aggregate(NegativeBinomial(n=4.0, p=0.3), G, method="simulation", n_sims=200_000,
                    seed=42, **kw)
    se = fft.std() / math.sqrt(200_000)
    assert abs(sim.mean() - fft.mean()) < 5 * se
    assert sim.ppf(0.95) == pytest.approx(fft.ppf(0.95), rel=0.02)
    again = Aggregate(NegativeBinomial(n=4.0, p=0.3), G, method="simulation", n_sims=200_000,
                      seed=42, **kw)
    np.testing.assert_array_equal(sim.lattice()[1], again.lattice()[1])
    np.testing.assert_array_equal(fft.rvs(1000, seed=5), fft.rvs(1000, seed=5))
    assert sim.describe().loc["mc_std_error_of_mean", "computed"] > 0


def test_simulated_years_do_not_depend_on_the_run_length():
    draw = lambda k, rng: G.rvs(size=k, seed=rng)  # noqa: E731
    per = _compound.sims_per_block(3.0)
    a = _compound.simulate(Poisson(3.0), draw, 2 * per + 7, 9, 3.0)
    b = _compound.simulate(Poisson(3.0), draw, 5 * per, 9, 3.0)
    np.testing.assert_array_equal(a[: 2 * per], b[: 2 * per])  # complete blocks are the same


# --- risk measures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cp():
    return Aggregate(Poisson(10.0), G, method="fft", step=0.05, n=2**11,
                     discretization="rounding")


def test_var_is_the_lower_quantile(cp):
    for q in (0.1, 0.5, 0.9, 0.99, 0.999):
        v = cp.ppf(q)
        assert cp.cdf(v) >= q - 1e-12
        assert cp.cdf(v - 0.05) < q
    assert cp.value_at_risk(0.9) == cp.ppf(0.9)
    assert cp.ppf(0.0) == 0.0


def test_tail_measures_order_and_definitions(cp):
    for q in (0.5, 0.9, 0.99):
        var, at, cte = cp.ppf(q), cp.tvar(q), cp.tvar(q, kind="cte")
        assert var <= at <= cte + 1e-12
        x, p = cp.lattice()
        above = x > var
        assert cte == pytest.approx(np.dot(x[above], p[above]) / p[above].sum(), rel=1e-12)
        assert at == pytest.approx(var + cp.stop_loss(var) / (1 - q), rel=1e-12)


def test_stop_loss_and_exceedance(cp):
    assert cp.stop_loss(0.0) == pytest.approx(cp.mean(), rel=1e-12)
    x = 0.05 * np.arange(100, 600)
    sl = cp.stop_loss(x)
    np.testing.assert_allclose(sl[:-1] - sl[1:], 0.05 * cp.sf(x[:-1]), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(cp.exceedance(x), 1 - cp.cdf(x), atol=1e-12)
    assert np.all(np.diff(sl) <= 1e-15)


def test_aggregate_coverage_layer_identity(cp):
    layer = Aggregate(Poisson(10.0), G, aggregate_coverage=AggregateCoverage(10.0, 30.0),
                      method="fft", step=0.05, n=2**11, discretization="rounding")
    assert layer.mean() == pytest.approx(cp.stop_loss(10.0) - cp.stop_loss(30.0), rel=1e-10)
    assert layer.ppf(0.999) == pytest.approx(20.0)
    assert float(layer.cdf(0.0)) == pytest.approx(float(cp.cdf(10.0)), abs=1e-12)


# --- errors and warnings --------------------------------------------------------------------------
def test_bad_input_lists_every_problem():
    with pytest.raises(ValidationError) as err:
        Aggregate("poisson", [1, 2], method="magic", step=-1.0, n=1, discretization="nearest",
                  tilt="yes", n_sims=0, tol=2.0, coverage=5)
    cols = set(err.value.problems["column"])
    assert {"freq", "sev", "method", "step", "n", "discretization", "tilt", "n_sims", "tol",
            "coverage"} <= cols


def test_quantile_beyond_the_grid_raises(cp):
    short = Aggregate(Poisson(10.0), G, method="panjer", step=0.05, n=2**9,
                      discretization="rounding")
    with pytest.raises(ValidationError, match="grid ends"):
        short.ppf(0.9)
    with pytest.raises(ValidationError, match="probability"):
        cp.ppf(1.5)


def test_short_and_coarse_grids_warn_with_the_estimated_error():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        Aggregate(Poisson(10.0), G, method="panjer", step=0.05, n=2**9,
                  discretization="rounding")
        Aggregate(Poisson(10.0), G, method="panjer", step=1.5, n=2**9,
                  discretization="rounding")
        Aggregate(Poisson(300.0), G, method="fft", step=0.5, n=2**9, tilt=None,
                  discretization="rounding")
    msgs = [str(w.message) for w in rec if issubclass(w.category, DiscretizationWarning)]
    assert any("beyond the grid" in m for m in msgs)
    assert any("too coarse" in m for m in msgs)
    assert any("wrap" in m for m in msgs)


def test_tilting_removes_wrap_around():
    n = 2**7  # grid end 63.5 while E[S] = 60: a plain FFT wraps a lot of mass around
    f = discretize(G, 0.5, n, method="rounding")
    exact = _compound.panjer(Poisson(30.0), f, n)
    plain, _ = _compound.fft(Poisson(30.0), f, n, pad=1)
    padded, _ = _compound.fft(Poisson(30.0), f, n, pad=2)
    tilted, _ = _compound.fft(Poisson(30.0), f, n, pad=2, theta=10.0 / n)
    assert abs(plain - exact).max() > 1e-3
    assert abs(tilted - exact).max() < abs(padded - exact).max() / 100
    assert abs(tilted - exact).max() < 1e-9
    assert _compound.aliasing_bound(Poisson(30.0), f, n) >= abs(plain - exact).sum() * 0.999
    bound = _compound.aliasing_bound(Poisson(30.0), f, 2 * n, theta=10.0 / n)
    assert bound >= abs(tilted - exact).sum() * 0.999


def test_auto_picks_fft_a_step_and_reports_why():
    agg = Aggregate(Poisson(3.0), LogNormal(10.0, 1.0), coverage=Coverage(limit=1e6),
                    discretization="unbiased", n=2**14)
    assert agg.method_ == "fft" and "auto" in agg.method_reason_
    assert agg.step > 0 and agg.mass_lost_ < 1e-8
    assert agg.mean() == pytest.approx(agg.theoretical_["mean"], rel=1e-9)


def test_reporting_protocol(cp):
    d = cp.describe()
    assert list(d.index[:3]) == ["mean", "std", "skew"]
    assert abs(d.loc["mean", "rel_error"]) < 1e-6
    assert "method: fft" in cp.summary()
    frame = cp.to_frame()
    assert list(frame.columns) == ["x", "pmf", "cdf"] and len(frame) == 2**11
    assert "<table" in cp._repr_html_()
    ax = cp.plot()
    assert ax.get_xlabel().startswith("aggregate")
    norm = Aggregate(Poisson(10.0), G, method="normal")
    assert len(norm.to_frame()) == 8 and "normal" in norm.summary()
    _, p = norm.lattice()
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValidationError):
        norm.pmf(1.0)


# --- properties -----------------------------------------------------------------------------------
@settings(max_examples=25)
@given(st.floats(0.1, 50.0), st.floats(0.5, 5.0), st.floats(0.1, 10.0),
       st.sampled_from(["fft", "panjer"]), st.sampled_from(["rounding", "unbiased"]))
def test_pmf_cdf_and_mean_within_the_reported_error(mu, shape, scale, method, disc):
    sev = Gamma(shape, scale)
    step = (mu * shape * scale + 12 * math.sqrt(mu * shape * (shape + 1)) * scale + 40 * scale) / (
        2**10)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        agg = Aggregate(Poisson(mu), sev, method=method, step=step, n=2**10, discretization=disc)
    warned = any(issubclass(w.category, DiscretizationWarning) for w in rec)
    x, p = agg.lattice()
    assert p.min() > -1e-12
    assert p.sum() == pytest.approx(1 - agg.mass_lost_, abs=1e-10)
    assert np.all(np.diff(agg.cdf(x)) >= -1e-12)
    if not warned:
        assert agg.mass_lost_ <= agg.tol
        assert abs(agg.mean() / (mu * shape * scale) - 1) <= agg.moment_rtol


# --- hardening: grids that meet their tolerance, moments that do not exist, guarded runs ---------
def test_automatic_grid_meets_moment_rtol_for_a_large_portfolio():
    # the reported case: Poisson(1e5) x lognormal(9, 1) used to come out 18.6 % low with a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", DiscretizationWarning)
        agg = Aggregate(Poisson(1e5), LogNormal(9.0, 1.0))
    exact_mean = 1e5 * math.exp(9.5)
    exact_sd = math.sqrt(1e5 * math.exp(20.0))
    assert agg.n > 2**16  # the grid was lengthened, not left coarse
    assert abs(agg.mean() / exact_mean - 1) <= agg.moment_rtol
    assert abs(agg.std() / exact_sd - 1) <= agg.moment_rtol


def test_automatic_grid_says_which_step_and_length_it_needs():
    with pytest.raises(ValidationError) as err:
        Aggregate(Poisson(1e4), LogNormal(9.0, 1.0), n=2**12, max_n=2**12)
    text = str(err.value)
    assert "mean off by" in text and "step=2500" in text and "n=65536" in text
    # the grid it names does meet the tolerance
    agg = Aggregate(Poisson(1e4), LogNormal(9.0, 1.0), step=2500.0, n=65536)
    assert abs(agg.mean() / (1e4 * math.exp(9.5)) - 1) <= agg.moment_rtol


@pytest.mark.parametrize("method", ["fft", "panjer", "simulation"])
def test_a_severity_without_mean_gives_inf_in_every_method(method):
    from safeins.losses import Pareto

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscretizationWarning)
        agg = Aggregate(Poisson(3.0), Pareto(0.8, 100.0), method=method, step=10.0, n=2**12,
                        n_sims=2000, seed=1)
    assert agg.mean() == math.inf and agg.var() == math.inf and agg.std() == math.inf
    d = agg.describe()
    assert d.loc["mean", "computed"] == math.inf
    # a lattice or a sample of it still has a finite average: that number must not be reported
    assert math.isfinite(agg._moments_computed()[0])


@pytest.mark.parametrize("method", ["fft", "simulation"])
def test_a_severity_without_variance_keeps_its_mean_but_not_its_std(method):
    from safeins.losses import Pareto

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscretizationWarning)
        agg = Aggregate(Poisson(3.0), Pareto(1.5, 100.0), method=method, step=5.0, n=2**14,
                        n_sims=4000, seed=2)
    assert math.isfinite(agg.mean()) and agg.var() == math.inf and math.isnan(agg.skew())
    # an aggregate limit bounds the annual payment: then every moment exists again
    capped = Aggregate(Poisson(3.0), Pareto(1.5, 100.0), method="fft", step=5.0, n=2**12,
                       aggregate_coverage=AggregateCoverage(limit=5000.0))
    assert math.isfinite(capped.var())


def test_simulation_larger_than_the_limit_needs_force():
    from safeins.errors import WorkLimitError

    with pytest.raises(WorkLimitError, match="force=True") as err:
        Aggregate(Poisson(1e4), G, method="simulation", n_sims=10**6, max_claims=1e9)
    assert "1e+10 claims" in str(err.value) and "min" in str(err.value)
    forced = Aggregate(Poisson(50.0), G, method="simulation", n_sims=100, max_claims=1e3,
                       force=True, seed=3)
    assert forced.mean() > 0
    small = Aggregate(Poisson(50.0), G, method="simulation", n_sims=100, max_claims=1e4, seed=3)
    with pytest.raises(WorkLimitError):
        small.rvs(10**5)  # later draws are guarded the same way
