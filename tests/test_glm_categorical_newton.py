"""The own Poisson Newton on the categorical (tabmat) design: X'WX from the categorical blocks
against the dense product, the marginal-totals start, step halving, FrequencyGLM on that path
against statsmodels and the dense Newton, and the choice of design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

import safeins.models.frequency_glm as frequency_glm
from safeins.errors import ValidationError
from safeins.models._design import Design
from safeins.models._glm_fit import (
    _information,
    _marginal_totals_start,
    fit_poisson_categorical,
    fit_poisson_newton,
)
from safeins.models.frequency_glm import FrequencyGLM, newton_design

tabmat = pytest.importorskip("tabmat")


def table(n, seed, levels=(4, 6, 3), numeric=False):
    """Poisson enterprise-years on categorical factors f0, f1, ... (and a numeric x)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"f{i}": rng.choice([f"L{j}" for j in range(k)], n)
                       for i, k in enumerate(levels)})
    eta = np.log(0.3) + sum(rng.normal(0, 0.4, k)[df[f"f{i}"].str[1:].astype(int)]
                            for i, k in enumerate(levels))
    if numeric:
        df["x"] = rng.uniform(0, 2, n)
        eta = eta + 0.3 * df["x"].to_numpy()
    df["exposure"] = rng.gamma(2.0, 1.0, n)
    df["accidents"] = rng.poisson(np.exp(eta) * df["exposure"].to_numpy())
    return df


def factor_columns(df):
    return [c for c in df.columns if c.startswith("f") or c == "x"]


#: seeds and level counts of random tables, with or without a numeric factor
TABLES = (st.integers(0, 10_000), st.lists(st.integers(2, 6), min_size=1, max_size=4),
          st.booleans())


def designs(df, factors, counts=True):
    """The learned design, codes, counts, offset and the level codes of the marginal totals;
    ``counts=False``: no level is set aside for having no event."""
    y, e = df["accidents"].to_numpy(float), df["exposure"].to_numpy()
    d = Design.learn(df, factors, weight=e, counts=y if counts else None)
    codes = d.codes(df)
    level_codes = [(codes[s.name], len(s.levels)) if s.is_categorical else None for s in d.specs]
    return d, codes, y, np.log(e), level_codes


def loglik(X, beta, y, off):
    eta = off + X @ beta
    return float(y @ eta - np.exp(eta).sum())


@settings(max_examples=15, deadline=None)
@given(*TABLES)
def test_information_from_categorical_blocks_equals_the_dense_product(seed, levels, numeric):
    df = table(300, seed, tuple(levels), numeric)
    d, codes = designs(df, factor_columns(df), counts=False)[:2]
    X = d.dense(df, codes)
    w = np.random.default_rng(seed).gamma(1.0, 1.0, len(df))
    info = _information(d.tabmat(df, codes), w, len(df))
    np.testing.assert_allclose(info, X.T @ (X * w[:, None]), rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(*TABLES)
def test_categorical_newton_equals_the_dense_newton(seed, levels, numeric):
    df = table(600, seed, tuple(levels), numeric)
    try:
        d, codes, y, off, level_codes = designs(df, factor_columns(df))
    except ValidationError:  # a level without any event: that is the dense path's test
        return
    dense = fit_poisson_newton(d.dense(df, codes), y, off)
    cat = fit_poisson_categorical(d.tabmat(df, codes), y, off, level_codes=level_codes)
    np.testing.assert_allclose(cat.beta, dense.beta, rtol=0, atol=1e-10)
    # both covariances are the inverse information at their (equal to 1e-10) estimates
    np.testing.assert_allclose(np.sqrt(np.diag(cat.cov)), np.sqrt(np.diag(dense.cov)), rtol=1e-9)
    np.testing.assert_allclose(cat.info, cat.info.T, rtol=1e-12)


def test_categorical_newton_halves_steps_from_a_far_start():
    # the dense test's table: a full Newton step from the intercept-only start overshoots
    cat = pd.Categorical.from_codes([0, 0, 1, 1], categories=["a", "b"])
    Xt = tabmat.CategoricalMatrix(cat, drop_first=True)
    y = np.array([500.0, 700.0, 1.0, 0.0])
    off = np.log([10.0, 10.0, 1e6, 1e6])
    fit = fit_poisson_categorical(Xt, y, off)
    np.testing.assert_allclose(np.exp(fit.beta), [60.0, (1 / 2e6) / 60.0], rtol=1e-10)
    np.testing.assert_allclose(fit.cov[1, 1], 1 / 1200 + 1 / 1, rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(-1.0, 1.0))
def test_marginal_totals_never_lower_the_likelihood(seed, shift):
    df = table(400, seed, (3, 5), numeric=True)
    d, codes, y, off, level_codes = designs(df, ["f0", "f1", "x"])
    X = d.dense(df, codes)
    beta = np.random.default_rng(seed).normal(0, 0.5, X.shape[1])
    beta[0] += np.log(0.3) + shift
    ll = loglik(X, beta, y, off)
    for _ in range(3):
        before = beta.copy()
        assert _marginal_totals_start(beta, np.exp(off + X @ beta), y, level_codes, max_sweeps=1)
        assert beta[-1] == before[-1]  # the numeric column is left where it was
        new = loglik(X, beta, y, off)
        assert new >= ll - 1e-9 * abs(ll)
        ll = new


def test_marginal_totals_of_one_factor_are_its_closed_form_estimate():
    df = table(500, 3, (5,))
    d, codes, y, off, level_codes = designs(df, ["f0"])
    beta = np.zeros(d.n_columns)
    assert _marginal_totals_start(beta, np.exp(off), y, level_codes, max_sweeps=1)
    c = codes["f0"]
    rate = np.bincount(c, weights=y) / np.bincount(c, weights=np.exp(off))
    np.testing.assert_allclose(np.exp(beta), [rate[0], *(rate[1:] / rate[0])], rtol=1e-12)


def test_marginal_totals_leave_the_start_when_a_level_has_no_event():
    codes = np.array([0, 0, 1, 1, 2, 2])
    y = np.array([1.0, 2.0, 0.0, 0.0, 3.0, 1.0])
    beta = np.array([0.1, 0.2, 0.3])
    assert not _marginal_totals_start(beta, np.ones(6), y, [(codes, 3)])
    assert beta.tolist() == [0.1, 0.2, 0.3]


@pytest.fixture
def categorical_newton(monkeypatch):
    """engine='newton' on the categorical design whatever the table's size."""
    monkeypatch.setattr(frequency_glm, "newton_design",
                        lambda rows, columns, factors, imported=True: ("categorical", 0.0))


def test_frequency_glm_on_the_categorical_design_equals_statsmodels(categorical_newton):
    df = table(3000, 5, (4, 6, 3), numeric=True)
    factors = ["f0", "f1", "f2", "x"]
    m = FrequencyGLM("poisson", factors, engine="newton").fit(df)
    assert m.engine_ == "newton" and m._fitted_cells == len(df)
    ref = sm.GLM(df["accidents"].to_numpy(float), m._design.dense(df),
                 family=sm.families.Poisson(), offset=np.log(df["exposure"].to_numpy())).fit(
        tol=1e-12, tol_criterion="params")
    np.testing.assert_allclose(m.coef_.to_numpy(), ref.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.bse_.to_numpy(), ref.bse, rtol=1e-6)
    assert m.loglik_ == pytest.approx(ref.llf, rel=1e-12)
    assert m.deviance_ == pytest.approx(ref.deviance, rel=1e-10)
    assert m.pearson_chi2_ == pytest.approx(ref.pearson_chi2, rel=1e-9)


def test_categorical_design_on_cells_and_without_zero_level_rows(categorical_newton):
    # few distinct design rows: the fit runs on summed cells; a level without any accident is set
    # aside (its rows leave the fit): the estimates are statsmodels' on the remaining rows
    df = table(8000, 4, (3, 5))
    df.loc[df["f1"] == "L4", "accidents"] = 0
    with pytest.warns(frequency_glm.SparseLevelWarning):
        m = FrequencyGLM("poisson", ["f0", "f1"], engine="newton").fit(df)
    assert m._design_kind == "categorical" and m._fitted_cells == 12
    keep = (df["f1"] != "L4").to_numpy()
    ref = sm.GLM(df["accidents"].to_numpy(float)[keep], m._design.dense(df)[keep],
                 family=sm.families.Poisson(),
                 offset=np.log(df["exposure"].to_numpy()[keep])).fit(tol=1e-12,
                                                                     tol_criterion="params")
    np.testing.assert_allclose(m.coef_.to_numpy(), ref.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(m.bse_.to_numpy(), ref.bse, rtol=1e-6)
    assert m.relativities_.set_index("level").loc["L4", "relativity"] == 0.0


def test_frequency_glm_categorical_and_dense_newton_agree(categorical_newton, monkeypatch):
    df = table(2000, 9, (5, 4))
    a = FrequencyGLM("poisson", ["f0", "f1"], engine="newton").fit(df)
    monkeypatch.setattr(frequency_glm, "newton_design",
                        lambda rows, columns, factors, imported=True: ("dense", 0.0))
    b = FrequencyGLM("poisson", ["f0", "f1"], engine="newton").fit(df)
    ra, rb = a.relativities_, b.relativities_
    np.testing.assert_allclose(ra["relativity"], rb["relativity"], rtol=1e-10)
    np.testing.assert_allclose(ra["ci_high"], rb["ci_high"], rtol=1e-9)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-13)


def test_aliased_factors_are_named_on_the_categorical_design(categorical_newton):
    df = table(1000, 2, (4, 3))
    df["g"] = df["f0"].map({"L0": "a", "L1": "b", "L2": "c", "L3": "d"})
    with pytest.raises(ValidationError, match="linearly dependent") as err:
        FrequencyGLM("poisson", ["f0", "f1", "g"], engine="newton").fit(df)
    assert "g[" in str(err.value) and "f0[" in str(err.value)


def test_newton_design_follows_size_and_what_is_installed(monkeypatch):
    assert newton_design(500, 21, 3)[0] == "dense"
    kind, seconds = newton_design(10**6, 126, 8)
    assert kind == "categorical"
    # tabmat's import counts when it is not loaded yet
    assert newton_design(10**6, 126, 8, imported=False)[1] == pytest.approx(
        seconds + frequency_glm.TABMAT_IMPORT)
    monkeypatch.setattr(frequency_glm, "_tabmat_installed", lambda: False)
    assert newton_design(10**6, 126, 8) == (None, np.inf)  # too large for dense dummies
    assert newton_design(10_000, 126, 8)[0] == "dense"
    assert FrequencyGLM("poisson", ["a"])._pick_engine(10**6, 126, 8) != "newton"


# ---------------------------------------------------------------------- fast paths of the statistics
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 300), st.floats(0.01, 5.0))
def test_poisson_statistics_on_the_rows_with_events_are_the_plain_formulas(seed, n, scale):
    from scipy import special

    from safeins.models._glm_fit import poisson_deviance, poisson_loglik_obs

    rng = np.random.default_rng(seed)
    mu = rng.gamma(0.5, scale, n)
    y = rng.poisson(mu).astype(float)
    plain = special.xlogy(y, mu) - mu - special.gammaln(y + 1.0)
    np.testing.assert_array_equal(poisson_loglik_obs(y, mu), plain)  # the same bits
    dev = 2.0 * (special.xlogy(y, y) - special.xlogy(y, mu) - (y - mu))
    assert poisson_deviance(y, mu) == float(dev.sum())


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([None, 15.0, 60.0]), st.booleans())
def test_training_level_table_is_the_level_table_of_the_training_rows(seed, pool, by_row):
    rng = np.random.default_rng(seed)
    n = 400
    df = pd.DataFrame({
        "a": rng.choice(["p", "q", "r", "s", "t"], n, p=[0.4, 0.3, 0.2, 0.07, 0.03]),
        "b": pd.Categorical(rng.choice(["x", "y", "z"], n), categories=["z", "y", "x", "w"]),
        "h": rng.uniform(0, 1, n), "v": rng.uniform(1, 2, n),
        "exposure": rng.gamma(2.0, 1.0, n)})
    y = rng.poisson(0.3 * df["exposure"]).astype(float)
    y[df["a"].to_numpy() == "t"] = 0.0  # a level without any event (or pooled into "(other)")
    e = df["exposure"].to_numpy()
    d = Design.learn(df, ["a", "b", "h", "v"], weight=e, counts=y, numeric={"h": 3},
                     min_level_exposure=pool, rank="rows" if by_row else None)
    learned = d.training_level_table()
    direct = d.level_table(df, d.codes(df), e, y)
    pd.testing.assert_frame_equal(learned, direct, check_exact=False, rtol=1e-13)
    assert Design.learn(df, ["a"], weight=e).training_level_table() is None
    if by_row:  # "rows" ranks levels and bins as one unit of rank per row does
        ones = Design.learn(df, ["a", "b", "h", "v"], weight=e, counts=y, numeric={"h": 3},
                            min_level_exposure=pool, rank=np.ones(n))
        assert [s.levels for s in ones.specs] == [s.levels for s in d.specs]
        np.testing.assert_array_equal(ones.specs[2].edges, d.specs[2].edges)
