"""Severity discretisation: the four methods, their moments, atoms and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from safeins.errors import ValidationError
from safeins.losses import Empirical, Exponential, Gamma, LogNormal
from safeins.losses.coverage import Coverage
from safeins.losses.discretization import discretize

G = Gamma(alpha=2.0, theta=1.0)


def test_each_method_against_its_definition_with_scipy():
    h, n = 0.5, 45
    F = stats.gamma(2.0).cdf
    j = np.arange(n)
    rounding = np.diff(np.concatenate([[0.0], F((j + 0.5) * h)]))
    upper = F((j + 1) * h) - F(j * h)
    lower = np.concatenate([[0.0], F(j[1:] * h) - F((j[1:] - 1) * h)])
    for method, ref in (("rounding", rounding), ("upper", upper), ("lower", lower)):
        np.testing.assert_allclose(discretize(G, h, n, method=method), ref, atol=1e-15)


def test_unbiased_against_actuar_formula():
    # actuar: f0 = 1 - E[X^h]/h, fj = (2E[X^jh] - E[X^(j-1)h] - E[X^(j+1)h])/h,
    # f_m = (E[X^mh] - E[X^(m-1)h])/h - 1 + F(mh)
    h, n = 0.5, 45
    E = np.array([float(G.lev(j * h)) for j in range(n)])
    ref = np.empty(n)
    ref[0] = 1 - E[1] / h
    ref[1:-1] = (2 * E[1:-1] - E[:-2] - E[2:]) / h
    ref[-1] = (E[-1] - E[-2]) / h - 1 + float(G.cdf((n - 1) * h))
    np.testing.assert_allclose(discretize(G, h, n, method="unbiased"), ref, atol=1e-14)


def test_mean_of_each_method_matches_definitions_table():
    # docs/domain/definitions.md#discretisation / actuar's risk vignette,
    # compound Poisson(10): upper 17.50, rounding
    # 19.998, unbiased 20.000, lower 22.50 (actuar discretises on [0, 22] with step 0.5).
    # actuar 3.3-2 itself (aggregateDist "recursive", tol=1e-14) gives the long numbers.
    expect = {
        "upper": (44, 17.50, 0.005, 17.5017130487),
        "rounding": (44, 19.998, 0.0005, 19.9984972457),
        "unbiased": (45, 20.000, 0.0005, 19.9999972384),
        "lower": (45, 22.50, 0.005, 22.5017126959),
    }
    for method, (n, table, tol, actuar) in expect.items():
        f = discretize(G, 0.5, n, method=method)
        mean = 10 * np.dot(0.5 * np.arange(n), f)
        assert mean == pytest.approx(table, abs=tol), method
        assert mean == pytest.approx(actuar, abs=5e-6), method


def test_unbiased_keeps_the_mean_and_bounds_bracket_the_cdf():
    X = LogNormal(mu=1.0, sigma=0.8)
    h, n = 0.1, 2_000
    x = h * np.arange(n)
    fu = discretize(X, h, n, method="unbiased")
    assert np.dot(x, fu) == pytest.approx(float(X.lev(x[-1])) - x[-1] * float(X.sf(x[-1])),
                                          rel=1e-12)
    assert fu.sum() == pytest.approx(1 - float(X.sf(x[-1])), abs=1e-15)
    up = np.cumsum(discretize(X, h, n, method="upper"))
    lo = np.cumsum(discretize(X, h, n, method="lower"))
    F = X.cdf(x)
    assert np.all(up >= F - 1e-15)
    assert np.all(lo <= F + 1e-15)


def test_far_tail_masses_stay_non_negative():
    X = LogNormal(mu=11.345 - 0.845, sigma=1.30)  # the benchmark's heavy tail
    for method in ("rounding", "upper", "lower", "unbiased"):
        f = discretize(X, 500.0, 2**16, method=method)
        assert f.min() >= 0.0
        assert f.sum() <= 1.0 + 1e-12


def test_limit_caps_the_variable_and_keeps_all_mass():
    X = Exponential(theta=1.0)
    f = discretize(X, 0.25, 41, method="unbiased", limit=5.0)
    x = 0.25 * np.arange(41)
    assert f.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.dot(x, f) == pytest.approx(float(X.lev(5.0)), rel=1e-12)
    assert f[x > 5.0].sum() == 0.0
    r = discretize(X, 0.25, 41, method="rounding", limit=5.0)
    assert r[20] == pytest.approx(float(X.sf(4.875)), rel=1e-12)  # cap mass at 5 plus the cell


def test_lattice_valued_empirical_is_reproduced_by_rounding():
    E = Empirical([0, 2, 3, 7], weights=[0.1, 0.2, 0.3, 0.4])
    f = discretize(E, 1.0, 10, method="rounding")
    np.testing.assert_allclose(f, [0.1, 0, 0.2, 0.3, 0, 0, 0, 0.4, 0, 0])
    np.testing.assert_allclose(discretize(E, 1.0, 10, method="upper"), f)
    np.testing.assert_allclose(discretize(E, 1.0, 10, method="lower"), f)
    np.testing.assert_allclose(discretize(E, 1.0, 10, method="unbiased"), f, atol=1e-15)


def test_atoms_of_a_covered_severity():
    Y = Coverage(deductible=1.0, limit=4.0).severity(Exponential(1.0))  # atoms at 0 and 3
    for method in ("rounding", "upper", "lower", "unbiased"):
        f = discretize(Y, 0.5, 12, method=method)
        assert f.sum() == pytest.approx(1.0, abs=1e-14), method
        assert f[7:].sum() == 0.0  # nothing above the cap 3 = point 6
    f = discretize(Y, 0.5, 12, method="unbiased")
    assert np.dot(0.5 * np.arange(12), f) == pytest.approx(Y.mean(), rel=1e-12)
    lower = discretize(Y, 0.5, 12, method="lower")
    assert lower[0] == pytest.approx(1 - math.exp(-1), rel=1e-12)  # the atom at 0


def test_scipy_frozen_distribution_is_accepted():
    f = discretize(stats.expon(scale=2.0), 0.5, 30, method="rounding")
    g = discretize(Exponential(2.0), 0.5, 30, method="rounding")
    np.testing.assert_allclose(f, g, atol=1e-15)


def test_bad_input_lists_every_problem():
    with pytest.raises(ValidationError) as err:
        discretize(G, -1.0, 1, method="midpoint", limit=-3)
    assert set(err.value.problems["column"]) == {"step", "n", "method", "limit"}
    with pytest.raises(TypeError):
        discretize(G, 0.5, 10)  # the method has no default: it moves the mean
    with pytest.raises(ValidationError, match="sev"):
        discretize([1, 2, 3], 0.5, 10, method="rounding")


@given(st.floats(0.3, 5.0), st.floats(0.2, 50.0), st.floats(0.01, 2.0),
       st.sampled_from(["rounding", "upper", "lower", "unbiased"]))
def test_probabilities_are_a_sub_distribution(shape, scale, rel_step, method):
    X = Gamma(shape, scale)
    h = rel_step * scale
    f = discretize(X, h, 256, method=method)
    assert f.min() >= 0
    assert f.sum() <= 1 + 1e-12
    tail = float(X.sf(255 * h))
    assert f.sum() >= 1 - tail - (float(X.sf(254.5 * h)) if method == "rounding" else 0) - 1e-12
    if method == "unbiased":
        x = h * np.arange(256)
        assert np.dot(x, f) == pytest.approx(float(X.lev(x[-1])) - x[-1] * tail, rel=1e-9,
                                             abs=1e-12)
