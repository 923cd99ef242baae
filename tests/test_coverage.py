"""Coverage modifications: per-loss and per-payment payments, their distributions and moments."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from safeins.errors import ValidationError
from safeins.losses import Empirical, Exponential, Gamma, LogNormal, NegativeBinomial, Poisson
from safeins.losses.aggregate import Aggregate
from safeins.losses.coverage import AggregateCoverage, Coverage, CoveredSeverity


# --- validation ---------------------------------------------------------------------------------
def test_every_bad_field_in_one_error():
    with pytest.raises(ValidationError) as err:
        Coverage(deductible=-1, limit=-5, coinsurance=1.5, inflation=-2, franchise="yes")
    cols = set(err.value.problems["column"])
    assert cols == {"deductible", "limit", "coinsurance", "inflation", "franchise"}


def test_limit_below_deductible_is_rejected():
    with pytest.raises(ValidationError, match="must be > deductible"):
        Coverage(deductible=1_000, limit=500)
    with pytest.raises(ValidationError, match="must be > deductible"):
        AggregateCoverage(deductible=10, limit=10)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "100", None, True])
def test_deductible_must_be_a_finite_number(bad):
    with pytest.raises(ValidationError, match="deductible"):
        Coverage(deductible=bad)


def test_coinsurance_zero_rejected_one_accepted():
    with pytest.raises(ValidationError, match="coinsurance"):
        Coverage(coinsurance=0)
    assert Coverage(coinsurance=1).coinsurance == 1.0


def test_apply_rejects_negative_and_nan_losses():
    with pytest.raises(ValidationError) as err:
        Coverage(deductible=1).apply([1.0, -2.0, np.nan])
    assert list(err.value.problems["row"]) == [1, 2]


def test_per_must_be_loss_or_payment():
    with pytest.raises(ValidationError, match="per"):
        Coverage().apply([1.0], per="claim")


# --- payments on losses -------------------------------------------------------------------------
def test_ordinary_deductible_limit_coinsurance_inflation():
    # Loss Models Theorem 8.7 order: inflate, cap at u, subtract d, then coinsurance
    cov = Coverage(deductible=500, limit=2_500, coinsurance=0.8, inflation=0.25)
    x = np.array([0, 300, 400, 401, 1_000, 2_000, 10_000.0])
    expected = 0.8 * (np.minimum(1.25 * x, 2_500) - 500).clip(0)
    np.testing.assert_allclose(cov.apply(x), expected)
    assert cov.max_payment == 0.8 * 2_000


def test_franchise_pays_from_the_ground_up():
    cov = Coverage(deductible=100, franchise=True, limit=1_000)
    np.testing.assert_allclose(cov.apply([50, 100, 100.5, 500, 5_000]), [0, 0, 100.5, 500, 1_000])
    assert cov.max_payment == 1_000


def test_per_payment_view_drops_losses_below_the_deductible():
    cov = Coverage(deductible=100)
    np.testing.assert_allclose(cov.apply([50, 150, 100, 300], per="payment"), [50, 200])


# --- distributions of the payment ---------------------------------------------------------------
def _numeric_moment(sev, cov, k, per="loss"):
    """E[Y^k] for a lognormal loss, by quadrature over log x (smooth Gaussian integrand)."""
    d, u = cov._d, cov._u  # pre-inflation deductible and limit: nothing is paid below d
    mu, sigma = sev.mu, sev.sigma

    def integrand(t):
        z = (t - mu) / sigma
        return float(cov._pay(math.exp(t))) ** k * math.exp(-0.5 * z * z) / (
            sigma * math.sqrt(2 * math.pi))

    lo = math.log(d) if d > 0 else mu - 14 * sigma
    hi = math.log(u) if math.isfinite(u) else mu + 14 * sigma
    val, _ = integrate.quad(integrand, lo, hi, limit=400, epsrel=1e-12, epsabs=0)
    if math.isfinite(u):
        val += cov.max_payment**k * float(sev.sf(u))  # the atom at the cap
    if per == "payment":
        val /= float(sev.sf(d))
    return val


COVERS = [
    Coverage(deductible=500, limit=20_000, coinsurance=0.8, inflation=0.1),
    Coverage(deductible=1_000, franchise=True, limit=30_000, coinsurance=0.9),
    Coverage(limit=5_000),
    Coverage(deductible=2_000),
]


@pytest.mark.parametrize("cov", COVERS, ids=repr)
@pytest.mark.parametrize("per", ["loss", "payment"])
def test_moments_match_quadrature(cov, per):
    sev = LogNormal(mu=8.0, sigma=1.0)
    Y = cov.severity(sev, per=per)
    for k in (1, 2, 3):
        assert Y.moment(k) == pytest.approx(_numeric_moment(sev, cov, k, per), rel=1e-7)
    assert Y.var() == pytest.approx(Y.moment(2) - Y.moment(1) ** 2, rel=1e-12)


def test_per_payment_mean_is_per_loss_mean_over_survival():
    sev = Gamma(alpha=2.0, theta=1_000.0)
    cov = Coverage(deductible=800, limit=6_000, coinsurance=0.7, inflation=0.05)
    loss = cov.severity(sev, "loss").mean()
    pay = cov.severity(sev, "payment").mean()
    assert pay == pytest.approx(loss / float(sev.sf(800 / 1.05)), rel=1e-12)


def test_exponential_memoryless_per_payment():
    Y = Coverage(deductible=3.0).severity(Exponential(theta=2.0), per="payment")
    assert Y.mean() == pytest.approx(2.0, rel=1e-12)
    assert Y.var() == pytest.approx(4.0, rel=1e-10)
    assert float(Y.cdf(1.0)) == pytest.approx(1 - math.exp(-0.5), rel=1e-12)


def test_atoms_at_zero_and_at_the_cap():
    sev = Exponential(theta=1.0)
    Y = Coverage(deductible=1.0, limit=3.0).severity(sev)  # payments in [0, 2]
    assert float(Y.cdf(0.0)) == pytest.approx(1 - math.exp(-1))
    assert float(Y.cdf(-1e-9)) == 0.0
    assert float(Y.sf(2.0)) == 0.0
    assert float(Y.sf_left(2.0)) == pytest.approx(math.exp(-3))
    assert float(Y.cdf(1.0)) == pytest.approx(1 - math.exp(-2))
    P = Coverage(deductible=1.0, limit=3.0).severity(sev, per="payment")
    assert float(P.cdf(0.0)) == 0.0
    assert float(P.sf_left(2.0)) == pytest.approx(math.exp(-2))


def test_franchise_distribution_is_flat_between_zero_and_the_deductible():
    Y = Coverage(deductible=1.0, franchise=True).severity(Exponential(1.0))
    F0 = 1 - math.exp(-1)
    np.testing.assert_allclose(Y.cdf([0.0, 0.5, 0.999]), F0)
    assert float(Y.cdf(2.0)) == pytest.approx(1 - math.exp(-2))


@pytest.mark.parametrize("per", ["loss", "payment"])
def test_ppf_is_the_lower_quantile(per):
    Y = Coverage(deductible=500, limit=5_000).severity(LogNormal(7.0, 1.2), per=per)
    q = np.linspace(0.01, 0.99, 37)
    y = Y.ppf(q)
    assert np.all(Y.cdf(y) >= q - 1e-12)
    below = Y.cdf(np.maximum(y - 1e-6 * (1 + y), -1.0))
    assert np.all((below < q) | (y == 0))


def test_rvs_matches_the_moments_and_is_reproducible():
    Y = Coverage(deductible=500, limit=5_000, coinsurance=0.9).severity(LogNormal(7.0, 1.2))
    a = Y.rvs(200_000, seed=11)
    np.testing.assert_array_equal(a, Y.rvs(200_000, seed=11))
    se = Y.std() / math.sqrt(a.size)
    assert abs(a.mean() - Y.mean()) < 5 * se
    P = Coverage(deductible=500, limit=5_000).severity(LogNormal(7.0, 1.2), per="payment")
    b = P.rvs(200_000, seed=3)
    assert b.min() > 0
    assert abs(b.mean() - P.mean()) < 5 * P.std() / math.sqrt(b.size)


def test_limited_moments_of_the_payment():
    sev = Gamma(alpha=3.0, theta=100.0)
    cov = Coverage(deductible=50, limit=600, coinsurance=0.5)
    Y = cov.severity(sev)
    for v in (0.0, 10.0, 100.0, 250.0, 1e6):
        num, _ = integrate.quad(lambda x, v=v: min(float(cov._pay(x)), v) * float(sev.pdf(x)),
                                0, 2_000, points=[50, 600], limit=400)
        num += min(float(cov._pay(2_000.0)), v) * float(sev.sf(2_000))
        assert float(Y.lev(v)) == pytest.approx(num, rel=1e-8, abs=1e-12)


def test_frequency_thinning_and_the_group_dental_example():
    # Loss Models, section 9.7 (group dental): N negative binomial with mean 300 and variance
    # 800; severity 40, 80, 120, 200 equally likely; 50% severity inflation and a per-claim
    # deductible of 100. Expected total payments: 22,500.
    N = NegativeBinomial.from_r_beta(r=180.0, beta=5.0 / 3.0)
    assert (N.mean(), N.var()) == pytest.approx((300.0, 800.0))
    X = Empirical([40, 80, 120, 200])
    cov = Coverage(deductible=100, inflation=0.5)
    NP = cov.frequency(N, X)
    assert NP.mean() == pytest.approx(225.0)
    assert NP.mean() * cov.severity(X, per="payment").mean() == pytest.approx(22_500.0)
    agg = Aggregate(N, X, coverage=cov, method="panjer", step=20.0, n=2**13,
                    discretization="rounding")
    assert agg.mean() == pytest.approx(22_500.0, rel=1e-10)
    agg_p = Aggregate(NP, cov.severity(X, per="payment"), method="fft", step=20.0, n=2**13,
                      discretization="rounding")
    np.testing.assert_allclose(agg.lattice()[1], agg_p.lattice()[1], atol=1e-12)


def test_frequency_without_deductible_is_unchanged():
    N = Poisson(4.0)
    assert Coverage(limit=10).frequency(N, Exponential(1.0)) is N


def test_covered_severity_repr_and_per_payment_with_no_exceedance():
    Y = CoveredSeverity(Empirical([1.0, 2.0]), Coverage(deductible=1.0))
    assert "CoveredSeverity" in repr(Y)
    with pytest.raises(ValidationError, match="per-payment view is empty"):
        Coverage(deductible=5.0).severity(Empirical([1.0, 2.0]), per="payment")


# --- aggregate coverage ---------------------------------------------------------------------------
def test_aggregate_coverage_apply_and_transform():
    ac = AggregateCoverage(deductible=100, limit=1_000)
    np.testing.assert_allclose(ac.apply([0, 100, 150, 1_000, 5_000]), [0, 0, 50, 900, 900])
    y, q = ac.transform(np.array([0.0, 50.0, 150.0, 2_000.0]), np.array([0.1, 0.2, 0.3, 0.4]))
    np.testing.assert_allclose(y, [0.0, 50.0, 900.0])
    np.testing.assert_allclose(q, [0.3, 0.3, 0.4])
    with pytest.raises(ValidationError) as err:
        AggregateCoverage(deductible=-1, limit=math.nan)
    assert set(err.value.problems["column"]) == {"deductible", "limit"}


# --- properties -----------------------------------------------------------------------------------
losses = st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=20)
pos = st.floats(0, 1e6, allow_nan=False)


@given(losses, pos, pos, st.floats(0.01, 1.0), st.booleans())
def test_coverage_never_raises_a_loss(x, d, span, c, franchise):
    cov = Coverage(deductible=d, limit=d + span + 1.0, coinsurance=c, franchise=franchise)
    x = np.array(x)
    pay = cov.apply(x)
    assert np.all(pay >= 0)
    assert np.all(pay <= x + 1e-9 * (1 + x))


@given(losses, pos, pos, pos)
def test_payment_is_monotone_in_deductible_and_limit(x, d, extra, span):
    x = np.array(x)
    u = d + extra + span + 1.0
    low_d = Coverage(deductible=d, limit=u).apply(x)
    high_d = Coverage(deductible=d + extra, limit=u).apply(x)
    assert np.all(high_d <= low_d + 1e-9)
    small_u = Coverage(deductible=d, limit=d + span + 1.0).apply(x)
    big_u = Coverage(deductible=d, limit=d + span + extra + 1.0).apply(x)
    assert np.all(small_u <= big_u + 1e-9)


@given(st.floats(0, 5_000), st.floats(1, 5_000), st.floats(0, 3_000))
def test_expected_payment_is_monotone(d, span, extra):
    sev = LogNormal(7.0, 1.0)
    m = Coverage(deductible=d, limit=d + span).severity(sev).mean()
    assert Coverage(deductible=d + extra, limit=d + span + extra).severity(sev).mean() <= m + 1e-6
    assert Coverage(deductible=d, limit=d + span + extra).severity(sev).mean() >= m - 1e-6
    assert 0 <= m <= sev.mean()
