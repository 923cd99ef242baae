"""The fast paths of the FFT pipeline compute the very same numbers as the plain expressions.

Speed work on ``Aggregate(method="fft")`` (in-place buffers, direct special-function survival
functions, no zero-padded copy, no masked copies on a lattice) must not move a single bit: each
test here compares a fast path with the straightforward computation it replaces, for equality.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import fft as sfft
from scipy import stats

from safeins.losses import Gamma, LogNormal, Pareto, Poisson, Weibull, _compound
from safeins.losses._sevutil import fast_sf, sf_left
from safeins.losses.discretization import discretize


@given(st.floats(-3.0, 15.0), st.floats(0.05, 4.0), st.floats(1e-3, 1e5))
def test_direct_lognormal_survival_is_scipys_bit_for_bit(mu, sigma, step):
    X = LogNormal(mu, sigma)
    x = (np.arange(2000, dtype=float) + 0.5) * step
    ref = stats.lognorm(sigma, scale=math.exp(mu)).sf(x)
    np.testing.assert_array_equal(fast_sf(X)(x), ref)
    np.testing.assert_array_equal(sf_left(X, x), ref)
    # points at or below 0 (the lattice of the lower and upper methods starts at 0)
    x0 = np.concatenate([[-1.0, 0.0], x])
    np.testing.assert_array_equal(fast_sf(X)(x0), stats.lognorm(sigma, scale=math.exp(mu)).sf(x0))
    assert float(fast_sf(X)(x[3])) == float(ref[3])  # a scalar


@pytest.mark.parametrize("method", ["rounding", "lower", "upper"])
def test_lognormal_lattice_equals_differences_of_scipys_survival(method):
    X = LogNormal(10.5, 1.2)
    h, n = 500.0, 4096
    sf = stats.lognorm(1.2, scale=math.exp(10.5)).sf
    j = np.arange(n + 1, dtype=float)
    if method == "rounding":
        s = sf((j[:n] + 0.5) * h)
        ref = np.concatenate([[1.0 - s[0]], s[:-1] - s[1:]])
    elif method == "lower":
        s = sf(j[:n] * h)
        ref = np.concatenate([[1.0 - s[0]], s[:-1] - s[1:]])
    else:
        s = sf(j * h)
        ref = s[:-1] - s[1:]
        ref[0] += 1.0 - s[0]
    np.testing.assert_array_equal(discretize(X, h, n, method=method), ref)


@pytest.mark.parametrize("sev", [LogNormal(2.0, 0.8), Gamma(2.0, 3.0), Pareto(3.0, 20.0),
                                 Weibull(0.7, 5.0)])
def test_limited_moment_on_a_positive_lattice_equals_the_masked_path(sev):
    u = np.geomspace(1e-3, 1e4, 257)
    fast = sev.limited_moment(u, 1)
    with np.errstate(invalid="ignore"):  # inf * 0 inside the closed forms at u = inf
        masked = sev.limited_moment(np.concatenate([u, [0.0, -1.0, np.inf]]), 1)  # masked path
    np.testing.assert_array_equal(fast, masked[:-3])
    assert masked[-3] == 0.0 and masked[-2] == -1.0 and masked[-1] == sev.mean()
    np.testing.assert_array_equal(sev.limited_moment(u, 2),
                                  sev.limited_moment(np.append(u, 0.0), 2)[:-1])


def test_poisson_pgf_in_place_leaves_its_argument_alone():
    z = np.exp(1j * np.linspace(0.0, 3.0, 11)) * 0.9
    keep = z.copy()
    got = Poisson(3.5).pgf(z)
    np.testing.assert_array_equal(z, keep)
    np.testing.assert_array_equal(got, np.exp(3.5 * (keep - 1)))
    assert Poisson(2.0).pgf(1) == pytest.approx(1.0)  # integer input: no in-place cast
    np.testing.assert_array_equal(Poisson(2.0).pgf(np.array([0, 1])), np.exp(2.0 * np.array([-1, 0])))


def test_negative_binomial_pgf_in_place_equals_the_formula():
    from safeins.losses import NegativeBinomial

    N = NegativeBinomial(2.5, 0.3)
    z = np.exp(1j * np.linspace(0.0, 3.0, 11)) * 0.9
    keep = z.copy()
    got = N.pgf(z)
    np.testing.assert_array_equal(z, keep)
    ref = np.exp(N.n * (math.log(N.p) - np.log(1.0 - (1.0 - N.p) * keep)))
    np.testing.assert_array_equal(got, ref)
    assert N.pgf(1.0) == pytest.approx(1.0)
    np.testing.assert_array_equal(N.pgf(np.array([0, 1])),
                                  np.exp(N.n * (math.log(N.p) - np.log(1.0 - (1.0 - N.p)
                                                                       * np.array([0, 1])))))


@pytest.mark.parametrize("pad, theta", [(1, 0.0), (2, 0.0), (2, 0.01)])
def test_fft_equals_the_transform_of_an_explicitly_padded_copy(pad, theta):
    rng = np.random.default_rng(5)
    f = rng.random(300)
    f /= 1.5 * f.sum()
    n = 512
    g, length = _compound.fft(Poisson(4.0), f, n, pad=pad, theta=theta)
    x = np.zeros(length)
    x[: len(f)] = f
    tilt = np.exp(-theta * np.arange(length))
    ref = sfft.irfft(np.exp(4.0 * (sfft.rfft(x * tilt) - 1)), n=length)[:n] / tilt[:n]
    np.testing.assert_allclose(g, ref, rtol=0, atol=1e-16)
    if theta == 0:
        np.testing.assert_array_equal(g, sfft.irfft(np.exp(4.0 * (sfft.rfft(x) - 1)),
                                                    n=length)[:n])


def test_moments_computed_once_equal_the_plain_sums():
    import warnings

    from safeins.losses.aggregate import Aggregate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agg = Aggregate(Poisson(3.0), LogNormal(5.0, 1.0), method="fft", step=10.0, n=2**12)
    x, q = agg.lattice()
    m = float(np.dot(x, q))
    c = x - m
    v = float(np.dot(c * c, q))
    s = float(np.dot(c * c * c, q)) / v**1.5
    assert (agg.mean(), agg.var(), agg.skew()) == (m, v, s)
    assert agg.std() == math.sqrt(v) and agg.mean() == m  # a second call: the kept values
