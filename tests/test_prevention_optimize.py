"""The exact KKT allocation solver and the simple strategies' water-filling."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

from safeins.errors import ValidationError
from safeins.prevention import (
    UnspentBudgetWarning,
    allocate_greedy,
    allocate_optimal,
    allocate_proportional,
    split_within,
)


def objective(a, k, x):
    return float(np.sum(a * -np.expm1(-np.asarray(x) / k)))


def scipy_solution(a, k, budget, lo, hi):
    """SLSQP on the same problem (an independent method)."""
    n = len(a)
    x0 = np.clip(np.full(n, budget / n), lo, np.minimum(hi, budget))
    res = minimize(lambda x: -objective(a, k, x), x0,
                   jac=lambda x: -(a / k) * np.exp(-x / k), method="SLSQP",
                   bounds=list(zip(lo, np.where(np.isfinite(hi), hi, None), strict=True)),
                   constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget,
                                 "jac": lambda x: np.ones_like(x)}],
                   options={"ftol": 1e-14, "maxiter": 1000})
    return res.x


def test_closed_form_when_every_enterprise_is_interior():
    a = np.array([3.0, 2.0, 5.0, 1.5])
    k = np.array([1.0, 2.0, 0.5, 1.0])
    budget = 6.0
    c = np.log(a / k)
    u = (np.sum(k * c) - budget) / k.sum()
    expected = k * (c - u)
    assert np.all(expected > 0)
    x, info = allocate_optimal(a, k, budget, full_output=True)
    np.testing.assert_allclose(x, expected, rtol=1e-13)
    assert info.nu == pytest.approx(np.exp(u), rel=1e-12)


def test_identical_enterprises_share_equally():
    x = allocate_optimal(np.full(7, 2.0), np.full(7, 3.0), 14.0)
    np.testing.assert_allclose(x, 2.0, rtol=1e-14)


@pytest.mark.parametrize("seed", range(6))
def test_matches_scipy_slsqp_on_small_problems(seed):
    rng = np.random.default_rng(seed)
    n = 12
    a = rng.lognormal(0, 1, n)
    k = rng.lognormal(0, 0.5, n)
    lo = rng.uniform(0, 0.3, n)
    hi = lo + rng.uniform(0.5, 3.0, n)
    budget = float(lo.sum() + 0.5 * (hi - lo).sum())
    ours = allocate_optimal(a, k, budget, lo, hi)
    theirs = scipy_solution(a, k, budget, lo, hi)
    assert objective(a, k, ours) >= objective(a, k, theirs) - 1e-12
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_two_dimensional_without_bounds_equals_flattened_problem():
    rng = np.random.default_rng(3)
    a = rng.lognormal(0, 1, (40, 5))
    k = rng.lognormal(0, 1, (40, 5))
    x2 = allocate_optimal(a, k, 30.0)
    x1 = allocate_optimal(a.ravel(), k.ravel(), 30.0)
    np.testing.assert_allclose(x2.ravel(), x1, rtol=1e-10, atol=1e-12)


def test_two_dimensional_with_enterprise_bounds_matches_scipy():
    rng = np.random.default_rng(11)
    n, s = 6, 3
    a = rng.lognormal(0, 1, (n, s))
    k = rng.lognormal(0, 0.5, (n, s))
    lo = rng.uniform(0, 0.5, n)
    hi = lo + rng.uniform(0.5, 2.0, n)
    budget = float(lo.sum() + 0.4 * (hi - lo).sum())
    ours = allocate_optimal(a, k, budget, lo, hi)
    # SLSQP over the n*s variables with the enterprise totals as linear inequality constraints
    A = np.kron(np.eye(n), np.ones(s))
    res = minimize(lambda v: -objective(a.ravel(), k.ravel(), v), np.full(n * s, budget / (n * s)),
                   jac=lambda v: -(a.ravel() / k.ravel()) * np.exp(-v / k.ravel()), method="SLSQP",
                   bounds=[(0, None)] * (n * s),
                   constraints=[{"type": "eq", "fun": lambda v: v.sum() - budget},
                                {"type": "ineq", "fun": lambda v: A @ v - lo},
                                {"type": "ineq", "fun": lambda v: hi - A @ v}],
                   options={"ftol": 1e-14, "maxiter": 2000})
    assert objective(a, k, ours) >= -res.fun - 1e-10
    np.testing.assert_allclose(ours.ravel(), res.x, atol=1e-4)


def kkt_holds(a, k, x, lo, hi, nu):
    """Marginal benefit = ν for interior enterprises, <= ν at the lower bound, >= ν at the upper."""
    m = a / k * np.exp(-x / k)
    tol = 1e-9 * max(1.0, nu)
    interior = (x > lo + 1e-9) & (x < hi - 1e-9)
    ok = np.all(np.abs(m[interior] - nu) <= tol * 10)
    at_lo = (x <= lo + 1e-9) & (x < hi - 1e-9)
    at_hi = (x >= hi - 1e-9) & (x > lo + 1e-9)
    ok &= np.all(m[at_lo] <= nu + tol * 10)
    ok &= np.all(m[at_hi] >= nu - tol * 10)
    return ok


problem = st.integers(1, 25).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0.0, 50.0), min_size=n, max_size=n),
    st.lists(st.floats(0.01, 20.0), min_size=n, max_size=n),
    st.lists(st.floats(0.0, 5.0), min_size=n, max_size=n),
    st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n),
    st.floats(0.0, 1.0),
))


@given(problem)
def test_spends_exactly_the_budget_within_bounds(p):
    a, k, lo, width, frac = (np.array(v) if isinstance(v, list) else v for v in p)
    hi = lo + width
    budget = float(lo.sum() + frac * width.sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnspentBudgetWarning)
        x, info = allocate_optimal(a, k, budget, lo, hi, full_output=True)
    assert np.all(x >= lo) and np.all(x <= hi)
    assert x.sum() == pytest.approx(budget, rel=1e-10, abs=1e-10)
    assert info.unspent == 0.0
    if np.all(a > 0) and info.nu > 0:
        assert kkt_holds(a, k, x, lo, hi, info.nu)


@given(problem)
def test_optimum_beats_every_proportional_allocation(p):
    a, k, lo, width, frac = (np.array(v) if isinstance(v, list) else v for v in p)
    hi = lo + width
    budget = float(lo.sum() + frac * width.sum())
    best = objective(a, k, allocate_optimal(a, k, budget, lo, hi))
    for w in (np.ones_like(a), a, a / k):
        other = allocate_proportional(w, budget, lo, hi)
        assert other.sum() == pytest.approx(budget, rel=1e-10, abs=1e-10)
        assert np.all(other >= lo) and np.all(other <= hi)
        assert best >= objective(a, k, other) - 1e-9 * max(1.0, best)


@given(problem)
def test_proportional_allocation_is_proportional_between_its_bounds(p):
    w, _, lo, width, frac = (np.array(v) if isinstance(v, list) else v for v in p)
    hi = lo + width
    budget = float(lo.sum() + frac * width.sum())
    x = allocate_proportional(w, budget, lo, hi)
    assert x.sum() == pytest.approx(budget, rel=1e-10, abs=1e-10)
    free = (x > lo) & (x < hi) & (w > 0)  # bound values are set exactly, so == is meaningful
    if free.any() and w[w > 0].min() > 1e-300:
        t = np.median(x[free] / w[free])
        np.testing.assert_allclose(x[free] / w[free], t, rtol=1e-8)
        pinned = (w > 0) & (hi > lo)
        at_lo = pinned & (x == lo)
        at_hi = pinned & (x == hi)
        assert np.all(t * w[at_lo] <= lo[at_lo] * (1 + 1e-8) + 1e-12)
        assert np.all(t * w[at_hi] >= hi[at_hi] * (1 - 1e-8) - 1e-12)


def test_proportional_with_a_minimum_keeps_the_rest_proportional():
    x = allocate_proportional([1.0, 2.0, 100.0], 1030.0, lower=10.0)
    np.testing.assert_allclose(x, [10.0, 20.0, 1000.0])
    x = allocate_proportional([1.0, 2.0, 100.0], 1000.0, lower=10.0)
    np.testing.assert_allclose(x, [10.0, 990.0 * 2 / 102, 990.0 * 100 / 102])


def test_upper_bounds_below_budget_leave_money_unspent_and_say_so():
    with pytest.warns(UnspentBudgetWarning, match="left unspent"):
        x, info = allocate_optimal([1.0, 2.0], [1.0, 1.0], 10.0, 0.0, [2.0, 3.0], full_output=True)
    np.testing.assert_array_equal(x, [2.0, 3.0])
    assert info.unspent == pytest.approx(5.0)
    assert info.at_upper.all()


def test_lower_bounds_above_budget_are_refused():
    with pytest.raises(ValidationError, match="sum of the lower bounds"):
        allocate_optimal([1.0, 1.0], [1.0, 1.0], 1.0, lower=[0.8, 0.8])


def test_bad_inputs_are_listed_together():
    with pytest.raises(ValidationError) as err:
        allocate_optimal([1.0, -2.0, np.nan], [1.0, 0.0, 1.0], 5.0)
    assert len(err.value) == 3
    with pytest.raises(ValidationError, match="budget"):
        allocate_optimal([1.0], [1.0], -1.0)
    with pytest.raises(ValidationError, match="upper"):
        allocate_optimal([1.0, 1.0], [1.0, 1.0], 1.0, lower=[0.5, 0.0], upper=[0.2, 1.0])


def test_zero_benefit_enterprises_get_their_minimum_only():
    x = allocate_optimal([0.0, 1.0, 2.0], [1.0, 1.0, 1.0], 3.0, lower=[0.5, 0.0, 0.0])
    assert x[0] == 0.5 and x.sum() == pytest.approx(3.0)


def test_zero_benefit_enterprises_absorb_what_the_others_cannot_take():
    x = allocate_optimal([0.0, 1.0], [1.0, 1.0], 3.0, upper=[5.0, 1.0])
    np.testing.assert_allclose(x, [2.0, 1.0])


def test_split_within_is_the_single_enterprise_optimum():
    a = np.array([[3.0, 1.0, 0.5]])
    k = np.array([[2.0, 1.0, 1.0]])
    np.testing.assert_allclose(split_within(a, k, [2.5]), allocate_optimal(a, k, 2.5), rtol=1e-12)
    np.testing.assert_allclose(split_within(a, k, [2.5])[0], allocate_optimal(a[0], k[0], 2.5),
                               rtol=1e-12)


def test_proportional_is_exactly_proportional_without_bounds():
    np.testing.assert_allclose(allocate_proportional([1.0, 2.0, 5.0], 16.0), [2.0, 4.0, 10.0])


def test_proportional_with_zero_weights_falls_back_evenly():
    x = allocate_proportional([0.0, 1.0, 0.0], 10.0, upper=[np.inf, 4.0, np.inf])
    np.testing.assert_allclose(x, [3.0, 4.0, 3.0])


def test_greedy_spends_exactly_and_approaches_the_optimum():
    rng = np.random.default_rng(5)
    a = rng.lognormal(0, 1, 30)
    k = rng.lognormal(0, 0.5, 30)
    best = objective(a, k, allocate_optimal(a, k, 20.0))
    coarse = allocate_greedy(a, k, 20.0, step=1.0)
    fine = allocate_greedy(a, k, 20.0, step=0.01)
    for x in (coarse, fine):
        assert x.sum() == pytest.approx(20.0, rel=1e-12)
    assert objective(a, k, coarse) <= best + 1e-12
    assert objective(a, k, fine) == pytest.approx(best, rel=1e-5)
    assert objective(a, k, fine) >= objective(a, k, coarse) - 1e-12


@given(problem)
def test_greedy_respects_bounds_and_budget(p):
    a, k, lo, width, frac = (np.array(v) if isinstance(v, list) else v for v in p)
    hi = lo + width
    budget = float(lo.sum() + frac * width.sum())
    x = allocate_greedy(a, k, budget, lo, hi, step=0.7)
    assert np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-9)
    assert x.sum() == pytest.approx(budget, rel=1e-9, abs=1e-9)


# -- the greedy strategy against the one-purchase-at-a-time buyer it computes in closed form ------
def greedy_one_by_one(a, k, budget, step, x0):
    """Reference greedy: a heap of (enterprise, service) pairs, one increment per pop (no bounds)."""
    import heapq

    x = np.array(x0, dtype=float)
    n, s = a.shape
    remaining = budget - x.sum()
    rate = lambda i, j: a[i, j] * (np.exp(-x[i, j] / k[i, j])  # noqa: E731
                                   - np.exp(-(x[i, j] + step[j]) / k[i, j])) / step[j]
    heap = [(-rate(i, j), i, j) for i in range(n) for j in range(s)]
    heapq.heapify(heap)
    while remaining > 0:
        _, i, j = heapq.heappop(heap)
        d = min(step[j], remaining)
        x[i, j] += d
        remaining -= d
        heapq.heappush(heap, (-rate(i, j), i, j))
    return x


@given(st.integers(1, 8), st.integers(1, 3), st.floats(0.5, 60.0), st.integers(0, 10**6))
def test_greedy_buys_what_the_one_by_one_buyer_buys(n, s, budget, seed):
    rng = np.random.default_rng(seed)
    a = rng.lognormal(1.0, 1.0, (n, s))
    k = rng.lognormal(0.0, 0.7, (n, s))
    step = rng.uniform(0.2, 2.0, s)
    x = allocate_greedy(a, k, budget, step=step)
    ref = greedy_one_by_one(a, k, budget, step, np.zeros((n, s)))
    # the same purchases; only rounding of the benefit rates could order exact ties differently
    np.testing.assert_allclose(x, ref, rtol=1e-9, atol=1e-9 * budget)


def test_greedy_fills_capped_enterprises_in_their_own_order():
    a = np.array([[10.0, 1.0], [5.0, 5.0], [0.0, 0.0]])
    k = np.ones((3, 2))
    # the first enterprise is capped at 1.5: it buys its best service (rate falls to that of the
    # other service only after ln 10 ≈ 2.3 yuan), the rest goes to the second enterprise, whose
    # two services tie and alternate (first service first)
    x = allocate_greedy(a, k, 4.0, upper=[1.5, np.inf, np.inf], step=0.5)
    np.testing.assert_allclose(x, [[1.5, 0.0], [1.5, 1.0], [0.0, 0.0]])
    # everything useful is full: the enterprise without benefit takes the rest
    with pytest.warns(UnspentBudgetWarning):
        x = allocate_greedy(a, k, 10.0, upper=[1.5, 2.0, 3.0], step=0.5)
    np.testing.assert_allclose(x.sum(axis=1), [1.5, 2.0, 3.0])


def test_greedy_at_scale_is_close_to_the_optimum():
    rng = np.random.default_rng(11)
    n, s = 20_000, 6
    a = rng.gamma(2.0, 500.0, (n, s))
    k = rng.lognormal(np.log(4000.0), 0.5, (n, s))
    budget = 2_000.0 * n
    x = allocate_greedy(a, k, budget, step=np.full(s, 500.0))
    best = objective(a, k, allocate_optimal(a, k, budget))
    assert x.sum() == pytest.approx(budget, rel=1e-10)
    assert 0.99 * best < objective(a, k, x) <= best * (1 + 1e-12)


def test_budget_equal_to_the_upper_bounds_total_up_to_rounding():
    # found by hypothesis: a budget that is the upper bounds' total, summed in another order
    lo = np.array([0.0, 1.7139457382133032])
    hi = lo + np.array([6.0, 9.082180980211387])
    x, info = allocate_optimal(np.zeros(2), np.ones(2), float(lo.sum() + (hi - lo).sum()), lo, hi,
                               full_output=True)
    assert info.unspent == 0.0 and np.array_equal(x, hi)
    a = np.zeros(25)
    a[[13, 14, 15, 21, 23]] = 1.0
    width = np.zeros(25)
    width[[13, 14, 15, 21, 23]] = [2.0, 10.0, 10.0, 3.0, 7.737772032376047]
    x = allocate_greedy(a, np.ones(25), float(width.sum()), 0.0, width, step=0.7)
    assert x.sum() == pytest.approx(width.sum(), rel=1e-12) and np.all(x <= width + 1e-12)
