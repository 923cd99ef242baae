"""RowSplit: the within-enterprise split shared by the strategies of a comparison.

The reference is the former ``_fill_rows`` (sort, cumulative sums and the piece search in one
function, for every call), kept here as the independent method: one RowSplit filled with many
targets must give exactly its numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import safeins as si
from safeins.prevention.optimize import RowSplit, _fill_rows, allocate_optimal


def reference_fill_rows(c, k, target):
    m, s = c.shape
    x = np.zeros((m, s))
    if m == 0:
        return x
    finite = np.isfinite(c)
    useful = finite.any(axis=1)
    if (~useful).any():
        kk = k[~useful]
        x[~useful] = kk * (target[~useful] / kk.sum(axis=1))[:, None]
    if not useful.any():
        return x
    cu, ku, tu = c[useful], k[useful], target[useful]
    order = np.argsort(-cu, axis=1, kind="stable")
    cs = np.take_along_axis(cu, order, axis=1)
    ks = np.take_along_axis(ku, order, axis=1)
    kfin = np.where(np.isfinite(cs), ks, 0.0)
    kc = np.where(np.isfinite(cs), ks * cs, 0.0)
    ck = np.cumsum(kfin, axis=1)
    ckc = np.cumsum(kc, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (ckc - tu[:, None]) / ck
    nxt = np.concatenate([cs[:, 1:], np.full((len(cs), 1), -np.inf)], axis=1)
    valid = np.isfinite(cs) & (u >= nxt) & (u <= cs)
    j = np.argmax(valid, axis=1)
    none = ~valid.any(axis=1)
    if none.any():
        gap = np.maximum(nxt - u, 0) + np.maximum(u - cs, 0)
        gap = np.where(np.isfinite(cs) & np.isfinite(gap), gap, np.inf)
        j = np.where(none, np.argmin(gap, axis=1), j)
    ur = u[np.arange(len(u)), j]
    xs = np.maximum(0.0, ku * (cu - ur[:, None]))
    tot = xs.sum(axis=1)
    big = np.argmax(xs, axis=1)
    xs[np.arange(len(xs)), big] += tu - tot
    x[useful] = xs
    return x


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(0, 40), s=st.integers(1, 6),
       p_zero=st.sampled_from([0.0, 0.3, 1.0]), p_zero_target=st.sampled_from([0.0, 0.5, 1.0]))
def test_one_rowsplit_many_targets_equals_the_former_split(seed, m, s, p_zero, p_zero_target):
    rng = np.random.default_rng(seed)
    a = np.where(rng.random((m, s)) < p_zero, 0.0, rng.gamma(2.0, 1e3, (m, s)))
    k = rng.uniform(500.0, 9_000.0, (m, s))
    with np.errstate(divide="ignore"):
        c = np.log(a) - np.log(k)
    split = RowSplit(c, k)
    for _ in range(3):
        t = np.where(rng.random(m) < p_zero_target, 0.0, rng.uniform(0.0, 2e4, m))
        want = reference_fill_rows(c, k, t)
        np.testing.assert_array_equal(split.fill(t), want)
        np.testing.assert_array_equal(_fill_rows(c, k, t), want)


def test_optimal_with_a_shared_split_equals_the_public_function():
    from safeins.prevention.optimize import _allocate_optimal

    rng = np.random.default_rng(2)
    a, k = rng.gamma(2.0, 1e3, (500, 4)), rng.uniform(500.0, 9_000.0, (500, 4))
    split = RowSplit(np.log(a) - np.log(k), k)
    for budget in (1e4, 3e5, 5e6):
        np.testing.assert_array_equal(_allocate_optimal(a, k, budget, 0.0, 2e4, split=split),
                                      allocate_optimal(a, k, budget, 0.0, 2e4))


def test_compare_strategies_plans_equal_single_allocations():
    """The comparison shares the split and one BLAS thread; each plan is still the plan that
    allocate gives for that strategy alone."""
    d = si.datasets.synthetic_portfolio(n_enterprises=600, years=(2023,), seed=4)
    pf = d.portfolio
    lam = pd.Series(np.random.default_rng(1).gamma(2.0, 0.05, len(pf)), index=pf.frame.index)
    prem = pd.Series(np.random.default_rng(2).uniform(1e3, 2e4, len(pf)), index=pf.frame.index)
    cmp = si.compare_strategies(pf, lam, 4e5, loss_per_accident=3e5, premium=prem, n_draws=20,
                                seed=3)
    for s, plan in cmp.plans.items():
        alone = si.allocate(pf, lam, 4e5, strategy=s, loss_per_accident=3e5, premium=prem)
        np.testing.assert_allclose(plan.x, alone.x, rtol=1e-12, atol=1e-9, err_msg=s)
        ev = alone.evaluate(n_draws=20, seed=3)
        np.testing.assert_allclose(cmp.evaluations[s].table.to_numpy(), ev.table.to_numpy(),
                                   rtol=1e-12, equal_nan=True, err_msg=s)


def test_totals_with_shared_spends_equal_the_sum_of_fractions():
    """totals sums the weights of equal spends before the expm1 (over >= 8 draws): the same
    numbers as weighting the per-enterprise fractions and summing."""
    from safeins.prevention import ServiceCatalog
    from safeins.prevention.response import ResponseModel

    rng = np.random.default_rng(5)
    n = 3_000
    cat = ServiceCatalog.load("default")
    sectors = rng.choice(["mining", "construction", "manufacturing"], n)
    m = ResponseModel(cat, sectors, headcount=rng.choice([20, 50, 200], n))
    # few distinct spends (an equal split), some unfunded pairs
    x = rng.choice([0.0, 500.0, 1_000.0, 2_500.0], (n, len(cat.codes)))
    w = rng.uniform(0.0, 3.0, (n, 3))
    for n_draws in (3, 40):
        params = m.draw(n_draws, seed=9)
        F, V = m.fractions(x, params)
        Ft, Vt = m.totals(x, w, params)
        np.testing.assert_allclose(Ft, F @ w, rtol=1e-12)
        np.testing.assert_allclose(Vt, V @ w, rtol=1e-12, atol=1e-12)
