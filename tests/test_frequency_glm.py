"""FrequencyGLM: agreement with statsmodels written independently, glum engine, zero inflation,
relativity tables, bad input, model comparison, Lorenz/Gini, and CI coverage of known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from safeins.errors import ConfigError, ConvergenceError, ValidationError
from safeins.models.frequency_glm import BoundaryWarning, FrequencyGLM, SparseLevelWarning
from safeins.models.glm_compare import compare_frequency_models, gini, lorenz_curve

SECTOR = {"construction": 1.0, "mining": 2.5, "hazardous_chemicals": 1.8, "retail": 0.4}
SIZE = {"medium": 1.0, "large": 1.6, "small": 0.8, "micro": 0.6}
GRADE = {"B": 1.0, "A": 0.7, "C": 1.3, "D": 1.9}
HAZARD_BETA = 0.5
FACTORS = ["sector", "size_band", "credit_grade", "hazard_rate"]


def simulate(n, seed, alpha=0.5, zero=0.0, base=0.004):
    """Enterprise-years with known relativities; NB2(alpha) counts (Poisson if alpha = 0)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "sector": rng.choice(list(SECTOR), n, p=[0.4, 0.2, 0.2, 0.2]),
        "size_band": rng.choice(list(SIZE), n, p=[0.4, 0.1, 0.3, 0.2]),
        "credit_grade": rng.choice(list(GRADE), n, p=[0.5, 0.2, 0.2, 0.1]),
        "hazard_rate": rng.uniform(0, 1, n),
        "exposure": rng.gamma(2.0, 50.0, n),
    })
    lam = (base * df["exposure"] * df["sector"].map(SECTOR) * df["size_band"].map(SIZE)
           * df["credit_grade"].map(GRADE) * np.exp(HAZARD_BETA * df["hazard_rate"])).to_numpy()
    if alpha > 0:
        lam = lam * rng.gamma(1.0 / alpha, alpha, n)
    y = rng.poisson(lam)
    if zero:
        y = np.where(rng.random(n) < zero, 0, y)
    df["accidents"] = y
    return df


def true_relativity(factor, level):
    table = {"sector": SECTOR, "size_band": SIZE, "credit_grade": GRADE}
    if factor == "hazard_rate":
        return np.exp(HAZARD_BETA)
    return table[factor][level]


@pytest.fixture(scope="module")
def data():
    return simulate(4000, 11)


@pytest.fixture(scope="module")
def nb_fit(data):
    return FrequencyGLM("negbin", FACTORS, engine="statsmodels").fit(data)


FORMULA = ("accidents ~ C(sector, Treatment('construction')) + C(size_band, Treatment('medium'))"
           " + C(credit_grade, Treatment('B')) + hazard_rate")


# ---------------------------------------------------------------- agreement with references
def test_poisson_matches_statsmodels_formula(data):
    m = FrequencyGLM("poisson", FACTORS, engine="statsmodels").fit(data)
    ref = smf.glm(FORMULA, data, family=sm.families.Poisson(),
                  offset=np.log(data["exposure"])).fit()
    # same parameters up to naming: compare sorted values of coefficients and SEs
    np.testing.assert_allclose(np.sort(m.coef_.to_numpy()), np.sort(ref.params.to_numpy()),
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.sort(m.bse_.to_numpy()), np.sort(ref.bse.to_numpy()),
                               rtol=1e-6)
    assert m.loglik_ == pytest.approx(ref.llf, rel=1e-10)
    assert m.deviance_ == pytest.approx(ref.deviance, rel=1e-8)
    assert m.aic_ == pytest.approx(ref.aic, rel=1e-10)
    np.testing.assert_allclose(m.predict(data).to_numpy(), ref.fittedvalues.to_numpy(),
                               rtol=1e-8)


def test_negbin_matches_statsmodels_discrete_nb2(data, nb_fit):
    ref = smf.negativebinomial(FORMULA, data, loglike_method="nb2",
                               offset=np.log(data["exposure"])).fit(
        method="newton", maxiter=200, disp=0, tol=1e-12)
    assert nb_fit.dispersion_ == pytest.approx(ref.params["alpha"], rel=1e-6)
    assert nb_fit.loglik_ == pytest.approx(ref.llf, rel=1e-10)
    np.testing.assert_allclose(np.sort(nb_fit.coef_.to_numpy()),
                               np.sort(ref.params.drop("alpha").to_numpy()), atol=1e-7)
    # observed (statsmodels) vs expected (ours) information: close, not equal
    np.testing.assert_allclose(np.sort(nb_fit.bse_.to_numpy()),
                               np.sort(ref.bse.drop("alpha").to_numpy()), rtol=0.05)
    assert nb_fit.dispersion_se_ == pytest.approx(ref.bse["alpha"], rel=0.05)
    assert nb_fit.n_params_ == len(ref.params)
    assert nb_fit.aic_ == pytest.approx(ref.aic, rel=1e-9)


@pytest.mark.parametrize(("family", "engine"), [("poisson", "glum"), ("negbin", "glum"),
                                                ("negbin", "newton")])
def test_glum_and_newton_engines_equal_statsmodels(data, family, engine):
    a = FrequencyGLM(family, FACTORS, engine="statsmodels").fit(data)
    b = FrequencyGLM(family, FACTORS, engine=engine).fit(data)
    assert b.engine_ == engine and a.engine_ == "statsmodels"
    assert b.dispersion_se_ == pytest.approx(a.dispersion_se_, rel=1e-6, nan_ok=True)
    ra, rb = a.relativities_, b.relativities_
    assert ra[["factor", "level"]].equals(rb[["factor", "level"]])
    np.testing.assert_allclose(rb["relativity"], ra["relativity"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(rb["ci_low"], ra["ci_low"], rtol=1e-6)
    np.testing.assert_allclose(rb["ci_high"], ra["ci_high"], rtol=1e-6)
    assert b.dispersion_ == pytest.approx(a.dispersion_, rel=1e-6)
    assert b.loglik_ == pytest.approx(a.loglik_, rel=1e-10)


def test_newton_engine_equals_statsmodels(data):
    # a continuous factor: every row is its own cell, the Newton runs on the rows
    a = FrequencyGLM("poisson", FACTORS, engine="statsmodels").fit(data)
    b = FrequencyGLM("poisson", FACTORS, engine="newton").fit(data)
    assert b.engine_ == "newton"
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.bse_, a.bse_, rtol=1e-7)
    assert b.loglik_ == pytest.approx(a.loglik_, rel=1e-12)


def test_newton_halves_steps_from_a_far_start():
    # one level with a single event among huge exposure: the full Newton step from the
    # intercept-only start overshoots; the halved steps still reach the closed-form MLE
    from safeins.models._glm_fit import fit_poisson_newton

    X = np.column_stack([np.ones(4), [0.0, 0.0, 1.0, 1.0]])
    y = np.array([500.0, 700.0, 1.0, 0.0])
    off = np.log([10.0, 10.0, 1e6, 1e6])
    fit = fit_poisson_newton(X, y, off)
    np.testing.assert_allclose(np.exp(fit.beta), [60.0, (1 / 2e6) / 60.0], rtol=1e-10)
    np.testing.assert_allclose(fit.cov[1, 1], 1 / 1200 + 1 / 1, rtol=1e-8)


@pytest.mark.parametrize("factors", [[], ["hazard_rate"]])
def test_glum_engine_without_categorical_factors(data, factors):
    a = FrequencyGLM("negbin", factors, engine="statsmodels").fit(data.head(1500))
    b = FrequencyGLM("negbin", factors, engine="glum").fit(data.head(1500))
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.bse_, a.bse_, rtol=1e-6)


def test_fixed_alpha_negbin_equals_statsmodels_glm(data):
    m = FrequencyGLM("negbin", ["sector"], alpha=0.7, engine="glum").fit(data)
    ref = smf.glm("accidents ~ C(sector, Treatment('construction'))", data,
                  family=sm.families.NegativeBinomial(alpha=0.7),
                  offset=np.log(data["exposure"])).fit(tol=1e-12)
    np.testing.assert_allclose(np.sort(m.coef_), np.sort(ref.params), rtol=1e-7)
    np.testing.assert_allclose(np.sort(m.bse_), np.sort(ref.bse), rtol=1e-6)
    assert m.dispersion_ == 0.7 and m.n_params_ == 4  # alpha fixed: not a parameter


def test_nb_recovers_truth(nb_fit):
    rt = nb_fit.relativities_
    for _, r in rt[~rt["is_base"]].iterrows():
        truth = true_relativity(r["factor"], r["level"])
        assert r["ci_low"] * 0.8 < truth < r["ci_high"] * 1.25, (r["factor"], r["level"])
    assert 0.35 < nb_fit.dispersion_ < 0.7


def test_zip_and_zinb(data):
    df = simulate(5000, 4, alpha=0.0, zero=0.3)
    zip_ = FrequencyGLM("zip", ["sector", "size_band"]).fit(df)
    pois = FrequencyGLM("poisson", ["sector", "size_band"]).fit(df)
    pi = 1 / (1 + np.exp(-zip_.zero_coef_.iloc[0]))
    assert 0.25 < pi < 0.35
    assert zip_.loglik_ > pois.loglik_ + 50
    # loglik is statsmodels' own on the same model
    from statsmodels.discrete.count_model import ZeroInflatedPoisson
    X = pd.get_dummies(df[["sector", "size_band"]]).astype(float)
    X = X.drop(columns=["sector_construction", "size_band_medium"])
    X.insert(0, "const", 1.0)
    ref = ZeroInflatedPoisson(df["accidents"], X, offset=np.log(df["exposure"])).fit(
        method="bfgs", maxiter=5000, disp=0, gtol=1e-10)
    assert zip_.loglik_ == pytest.approx(ref.llf, rel=1e-7)
    mu = zip_.predict(df)
    assert mu.sum() == pytest.approx(df["accidents"].sum(), rel=0.02)
    zinb = FrequencyGLM("zinb", ["sector"], zero_factors=["size_band"]).fit(df)
    assert list(zinb.zero_coef_.index[:1]) == ["(intercept)"]
    assert len(zinb.zero_coef_) == 4
    assert "zero" in zinb.coef_table()["part"].to_numpy()
    assert "Zero-inflated NB2" in zinb.summary()


# ---------------------------------------------------------------- coding and tables
def test_relativity_table_layout(nb_fit, data):
    rt = nb_fit.relativities_
    assert list(rt.columns) == ["factor", "level", "relativity", "ci_low", "ci_high", "exposure",
                                "n_obs", "counts", "is_base", "enterprise_years", "worker_years"]
    base = rt[rt["is_base"]].set_index("factor")["level"].to_dict()
    assert base == {"sector": "construction", "size_band": "medium", "credit_grade": "B"}
    for f, lev in base.items():  # the level with the most enterprise-years (rows) is the base
        assert data.groupby(f).size().idxmax() == lev
    assert (rt.loc[rt["is_base"], ["relativity", "ci_low", "ci_high"]] == 1.0).all().all()
    assert rt.groupby("factor", sort=False)["n_obs"].sum().loc["sector"] == len(data)
    assert rt.loc[rt["factor"] == "sector", "counts"].sum() == data["accidents"].sum()
    assert not rt[["relativity", "ci_low", "ci_high"]].isna().any().any()
    assert ((rt["ci_low"] <= rt["relativity"]) & (rt["relativity"] <= rt["ci_high"])).all()
    text = nb_fit.summary()
    assert "NB2 alpha" in text and "hazardous_chemicals" in text


def test_base_level_override_changes_only_the_reference(data):
    a = FrequencyGLM("poisson", ["sector"]).fit(data)
    b = FrequencyGLM("poisson", ["sector"], base_levels={"sector": "mining"}).fit(data)
    ra = a.relativities_.set_index("level")["relativity"]
    rb = b.relativities_.set_index("level")["relativity"]
    np.testing.assert_allclose((ra / ra["mining"]).sort_index(), rb.sort_index(), rtol=1e-8)
    np.testing.assert_allclose(a.predict(data), b.predict(data), rtol=1e-8)


def test_binning_and_log_numeric(data):
    m = FrequencyGLM("poisson", ["sector", "hazard_rate"], numeric={"hazard_rate": 4}).fit(data)
    lv = m.relativities_.query("factor == 'hazard_rate'")["level"].tolist()
    assert len(lv) == 4 and any(s.startswith("<=") for s in lv) and any(
        s.startswith(">") for s in lv)
    # quartiles by enterprise-years: each bin has about a quarter of the rows
    ex = m.relativities_.query("factor == 'hazard_rate'")["enterprise_years"]
    np.testing.assert_allclose(ex / ex.sum(), 0.25, atol=0.01)
    new = data.head(3).assign(hazard_rate=[-5.0, 0.5, 7.0])  # open-ended quantile bins
    assert np.isfinite(m.predict(new)).all()

    e = FrequencyGLM("poisson", ["hazard_rate"], numeric={"hazard_rate": [0, 0.5, 1]}).fit(data)
    assert e.relativities_["level"].tolist()[0] in ("[0, 0.5]", "(0.5, 1]")
    with pytest.raises(ValidationError, match="outside the bin edges"):
        e.predict(data.head(2).assign(hazard_rate=[0.2, 1.5]))

    g = FrequencyGLM("poisson", ["sector", "exposure"], numeric={"exposure": "log"}).fit(data)
    row = g.relativities_.query("factor == 'exposure'").iloc[0]
    assert row["level"] == "x2"
    assert row["relativity"] == pytest.approx(2 ** g.coef_["log(exposure)"])


def test_bool_and_categorical_dtypes():
    df = simulate(3000, 5)
    df["blacklisted"] = np.random.default_rng(1).random(len(df)) < 0.2
    df["sector"] = df["sector"].astype("category")
    m = FrequencyGLM("poisson", ["sector", "blacklisted"]).fit(df)
    assert set(m.relativities_.query("factor == 'blacklisted'")["level"]) == {"True", "False"}
    pred = m.predict(df.sample(50, random_state=1))
    assert pred.notna().all()


def test_predict_alignment_exposure_and_unseen_levels(nb_fit, data):
    sub = data.iloc[[5, 2, 9]].copy()
    sub.index = ["x", "y", "z"]
    p = nb_fit.predict(sub)
    assert list(p.index) == ["x", "y", "z"]
    np.testing.assert_allclose(nb_fit.predict(sub, exposure=1.0) * sub["exposure"], p)
    np.testing.assert_allclose(nb_fit.predict(sub, kind="rate"), p / sub["exposure"])
    bad = sub.assign(sector=["mining", "fishing", "aviation"], size_band="giant")
    with pytest.raises(ValidationError) as err:
        nb_fit.predict(bad)
    msg = str(err.value)
    assert "fishing" in msg and "aviation" in msg and "giant" in msg and "size_band" in msg
    with pytest.raises(ValidationError, match="credit_grade"):
        nb_fit.predict(sub.drop(columns="credit_grade"))


def test_score_is_deviance_share(nb_fit, data):
    s = nb_fit.score(data)
    assert 0 < s < 1
    flat = FrequencyGLM("poisson", []).fit(data)
    assert flat.score(data) == pytest.approx(0.0, abs=1e-10)


# ---------------------------------------------------------------- bad input
def test_bad_outcome_columns_reported_together(data):
    bad = data.astype({"accidents": float})
    bad.loc[bad.index[:3], "exposure"] = [0.0, -1.0, np.nan]
    bad.loc[bad.index[5], "accidents"] = 1.5
    with pytest.raises(ValidationError) as err:
        FrequencyGLM("poisson", ["sector"]).fit(bad)
    probs = err.value.problems
    assert set(probs["column"]) == {"exposure", "accidents"}
    assert "3 bad rows" in str(err.value)
    with pytest.raises(ValidationError, match="exposure column not in the table"):
        FrequencyGLM("poisson", ["sector"]).fit(data.drop(columns="exposure"))


def test_all_zero_counts_and_one_level_factor(data):
    with pytest.raises(ValidationError, match="all counts are zero"):
        FrequencyGLM("poisson", ["sector"]).fit(data.assign(accidents=0))
    with pytest.raises(ValidationError) as err:
        FrequencyGLM("poisson", ["sector", "region"]).fit(data.assign(region="east"))
    assert "region" in str(err.value) and "at least 2 levels" in str(err.value)
    with pytest.raises(ValidationError, match="constant"):
        FrequencyGLM("poisson", ["sector", "k"]).fit(data.assign(k=3.0))


def test_config_errors(data):
    with pytest.raises(ValidationError, match="family"):
        FrequencyGLM("tweedie", ["sector"]).fit(data)
    with pytest.raises(ValidationError, match="missing column"):
        FrequencyGLM("poisson", ["sectr"]).fit(data)
    with pytest.raises(ValidationError, match="NaN"):
        FrequencyGLM("poisson", ["sector"]).fit(
            data.assign(sector=data["sector"].where(data.index > 3)))
    from safeins.errors import ConfigError
    with pytest.raises(ConfigError, match="zero-inflated"):
        FrequencyGLM("zip", ["sector"], engine="glum").fit(data)


def test_aliased_factors_are_named(data):
    df = data.assign(region=data["sector"].map(
        {"construction": "east", "mining": "west", "hazardous_chemicals": "north",
         "retail": "south"}))
    with pytest.raises(ValidationError, match="linearly dependent") as err:
        FrequencyGLM("poisson", ["sector", "region"]).fit(df)
    assert "region[" in str(err.value) and "sector[" in str(err.value)


def test_zero_event_level_relativity_zero_with_exact_bound():
    df = simulate(4000, 8, alpha=0.0)
    rng = np.random.default_rng(0)
    extra = df.sample(40, random_state=2).assign(sector="tunnelling", accidents=0,
                                                 exposure=rng.uniform(1, 5, 40))
    df = pd.concat([df, extra], ignore_index=True)
    with pytest.warns(SparseLevelWarning, match="sector: tunnelling"):
        m = FrequencyGLM("poisson", ["sector"]).fit(df)
    row = m.relativities_.set_index("level").loc["tunnelling"]
    assert row["relativity"] == 0.0 and row["ci_low"] == 0.0
    # Poisson: P(0 | r) = exp(-r * base_rate * exposure) = 0.025 at the upper bound
    expected = -np.log(0.025) / (m.base_rate_ * extra["exposure"].sum())
    assert row["ci_high"] == pytest.approx(expected, rel=1e-8)
    assert row["counts"] == 0 and row["n_obs"] == 40
    assert (m.predict(extra) == 0).all()
    # the other relativities are the fit without those rows
    ref = FrequencyGLM("poisson", ["sector"]).fit(df[df["sector"] != "tunnelling"])
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-10)
    # pooling the sparse level removes the boundary estimate
    with warnings.catch_warnings():
        warnings.simplefilter("error", SparseLevelWarning)
        pooled = FrequencyGLM("poisson", ["sector"], min_level_exposure=500.0).fit(
            pd.concat([df, df.sample(3, random_state=1).assign(
                sector="quarrying", accidents=1, exposure=20.0)], ignore_index=True))
    lv = pooled.relativities_["level"].tolist()
    assert "(other)" in lv and "tunnelling" not in lv
    assert pooled.merged_levels_["sector"] == {"tunnelling": "(other)", "quarrying": "(other)"}
    assert pooled.predict(extra.head(2)).gt(0).all()


def test_nonconvergence_names_the_model(data, monkeypatch):
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    def not_converging(self, *a, **k):
        warnings.warn("IRLS did not converge", ConvergenceWarning, stacklevel=1)

    monkeypatch.setattr(GLM, "fit", not_converging)
    with pytest.raises(ConvergenceError, match=r"FrequencyGLM\(family='negbin'\)"):
        FrequencyGLM("negbin", ["sector"], engine="statsmodels").fit(data)


def test_same_data_same_numbers(data):
    d = data.head(1000)
    a = FrequencyGLM("negbin", FACTORS).fit(d)
    b = FrequencyGLM("negbin", FACTORS).fit(d.sample(frac=1.0, random_state=3))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-8)


# ---------------------------------------------------------------- comparison
@pytest.fixture(scope="module")
def zi_data():
    return simulate(2000, 21, alpha=0.5, zero=0.25, base=0.008)


def test_compare_models_tests_and_cv(zi_data):
    models = {"P": FrequencyGLM("poisson", ["sector", "size_band"]),
              "NB": FrequencyGLM("negbin", ["sector", "size_band"]),
              "ZINB": FrequencyGLM("zinb", ["sector", "size_band"])}
    cmp = compare_frequency_models(zi_data, models, folds=3, seed=5)
    t = cmp.table
    assert t["aic"].idxmin() == "ZINB"
    assert t.loc["NB", "aic"] < t.loc["P", "aic"]
    lr = cmp.tests.query("null == 'P' and alternative == 'NB'").iloc[0]
    assert lr["statistic"] == pytest.approx(2 * (t.loc["NB", "loglik"] - t.loc["P", "loglik"]))
    assert lr["p_value"] == pytest.approx(0.5 * stats.chi2.sf(lr["statistic"], 1))
    v = cmp.tests.query("alternative == 'ZINB'").set_index("test")["statistic"]
    m = cmp.models["ZINB"]._loglik_obs - cmp.models["NB"]._loglik_obs
    n = len(m)
    raw = m.sum() / (np.sqrt(n) * m.std(ddof=1))
    assert v["Vuong zero inflation (raw)"] == pytest.approx(raw)
    assert v["Vuong zero inflation (BIC-corrected)"] == pytest.approx(
        (m.sum() - np.log(n) / 2) / (np.sqrt(n) * m.std(ddof=1)))
    assert (t["gini"] > 0.1).all()
    two = {k: models[k] for k in ("P", "NB")}
    again = compare_frequency_models(zi_data, two, folds=3, seed=5)
    pd.testing.assert_frame_equal(t.loc[["P", "NB"]], again.table)
    other = compare_frequency_models(zi_data, two, folds=3, seed=6)
    assert not np.allclose(other.table["cv_poisson_deviance"], again.table["cv_poisson_deviance"])
    assert "lowest AIC: ZINB" in cmp.summary()
    assert cmp.plot() is not None


def test_lr_at_the_boundary_and_half_chi2():
    # under-dispersed counts (binomial): the NB2 likelihood is largest at alpha = 0
    df = simulate(1500, 3, alpha=0.0)
    rng = np.random.default_rng(0)
    df["accidents"] = rng.binomial(2, np.where(df["sector"] == "mining", 0.3, 0.1))
    df["exposure"] = 1.0
    pois = FrequencyGLM("poisson", ["sector"]).fit(df)
    with pytest.warns(BoundaryWarning, match="alpha at its boundary"):
        nb = FrequencyGLM("negbin", ["sector"]).fit(df)
    assert nb.loglik_ == pytest.approx(pois.loglik_, abs=1e-4)
    np.testing.assert_allclose(nb.coef_, pois.coef_, atol=1e-4)
    from safeins.models.glm_compare import _tests
    t = _tests({"P": pois, "NB": nb}).iloc[0]
    assert t["statistic"] == pytest.approx(0.0, abs=1e-3) and t["p_value"] > 0.45
    # over-dispersed data: p = 0.5 P(chi2_1 > LR)
    od = simulate(1500, 4, alpha=0.5)
    t = _tests({"P": FrequencyGLM("poisson", ["sector"]).fit(od),
                "NB": FrequencyGLM("negbin", ["sector"]).fit(od)}).iloc[0]
    assert t["p_value"] < 1e-6
    assert t["p_value"] == pytest.approx(0.5 * stats.chi2.sf(t["statistic"], 1))


# ---------------------------------------------------------------- Lorenz and Gini
def test_lorenz_known_case():
    c = lorenz_curve([0, 0, 1, 3], [0.1, 0.2, 0.5, 1.0])
    np.testing.assert_allclose(c["exposure_share"], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(c["loss_share"], [0, 0, 0, 0.25, 1.0])
    # area = 0.25 * (0 + 0 + 0.125 + 0.625) = 0.1875 -> Gini 0.625
    assert gini([0, 0, 1, 3], [0.1, 0.2, 0.5, 1.0]) == pytest.approx(0.625)
    with pytest.raises(ValidationError):
        gini([0, 0], [1.0, 2.0])


rows = st.integers(2, 30)


@given(st.data())
def test_gini_invariants(d):
    n = d.draw(rows)
    y = np.array(d.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=float)
    if y.sum() == 0:
        y[0] = 1.0
    pred = np.array(d.draw(st.lists(st.floats(0.01, 10), min_size=n, max_size=n)))
    e = np.array(d.draw(st.lists(st.floats(0.1, 10), min_size=n, max_size=n)))
    g = gini(y, pred, e)
    assert -1.0 <= g <= 1.0
    perm = np.random.default_rng(n).permutation(n)
    assert gini(y[perm], pred[perm], e[perm]) == pytest.approx(g, abs=1e-12)
    assert gini(y, 7.0 * pred, e) == pytest.approx(g, abs=1e-12)  # scale free
    assert gini(y, np.full(n, 3.0) * e, e) == pytest.approx(0.0, abs=1e-12)  # flat rate
    assert g <= gini(y, y, e) + 1e-12  # the oracle ordering is best


# ---------------------------------------------------------------- part 6: ground truth
def _coverage(family, reps, n, seed0):
    hits = []
    for r in range(reps):
        df = simulate(n, seed0 + r, alpha=0.5 if family == "negbin" else 0.0, base=0.01)
        with warnings.catch_warnings():
            warnings.simplefilter("error", SparseLevelWarning)
            m = FrequencyGLM(family, FACTORS, engine="statsmodels",
                             base_levels={"sector": "construction", "size_band": "medium",
                                          "credit_grade": "B"}).fit(df)
        rt = m.relativities_[~m.relativities_["is_base"]]
        truth = np.array([true_relativity(f, lev) for f, lev in zip(rt["factor"], rt["level"],
                                                                     strict=True)])
        hits.append(((rt["ci_low"] <= truth) & (truth <= rt["ci_high"])).to_numpy())
    return np.array(hits)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "n", "seed0"), [("poisson", 800, 1000),
                                                    ("negbin", 1600, 5000)])
def test_confidence_intervals_cover_the_truth(family, n, seed0):
    """200 fixed-seed replications: if the 95% intervals are right, each parameter's coverage
    count is Binomial(200, 0.95). Two-sided binomial tests: each of the 10 parameters at
    0.001/10 (Bonferroni) and the pooled count at 0.001 (the parameters of one fit are mildly
    dependent, which the pooled test tolerates at this level). A 90% or 99% interval fails both.
    NB2 needs more rows than Poisson: its Wald intervals use an estimated alpha, which is biased
    low in small samples (at 800 rows the pooled coverage is about 93.5%)."""
    hits = _coverage(family, reps=200, n=n, seed0=seed0)
    assert hits.shape == (200, 10)
    for j, k in enumerate(hits.sum(axis=0)):
        assert stats.binomtest(int(k), 200, 0.95).pvalue > 0.0001, (j, k / 200)
    k, total = int(hits.sum()), hits.size
    assert stats.binomtest(k, total, 0.95).pvalue > 0.001, k / total


def test_trend_and_projection_recover_a_known_trend():
    rng = np.random.default_rng(3)
    years = np.repeat(np.arange(2019, 2024), 4000)
    df = pd.DataFrame({"year": years, "exposure": rng.uniform(0.5, 2.0, len(years)),
                       "grade": rng.choice(["A", "B"], len(years))})
    mu = 0.3 * df["exposure"] * np.where(df["grade"] == "B", 1.5, 1.0) * np.exp(-0.08 * (df["year"] - 2019))
    df["accidents"] = rng.poisson(mu)
    m = FrequencyGLM("poisson", ["grade", "year"]).fit(df)
    t = m.trend().iloc[0]
    assert t["ci_low"] < np.exp(-0.08) < t["ci_high"]
    assert t["annual_change"] == pytest.approx(t["annual_factor"] - 1)
    new = df[df["year"] == 2023].head(500)
    proj = m.project(new, 2025)
    truth = (0.3 * new["exposure"] * np.where(new["grade"] == "B", 1.5, 1.0) * np.exp(-0.08 * 6)).sum()
    assert proj["expected"].sum() == pytest.approx(truth, rel=0.05)
    assert (proj["ci_low"] < proj["expected"]).all() and (proj["expected"] < proj["ci_high"]).all()
    with pytest.raises(ConfigError, match="not a linear factor"):
        m.trend("grade")


def test_units_enterprise_and_worker_years_never_mixed_exposure():
    rng = np.random.default_rng(4)
    n = 3000
    df = pd.DataFrame({"sector": rng.choice(["manufacturing", "construction"], n, p=[0.7, 0.3]),
                       "headcount": rng.integers(5, 200, n)})
    # construction is rated per yuan of contract value: 10,000x more units per worker
    df["exposure"] = np.where(df["sector"] == "construction", 1e4, 1.0) * df["headcount"]
    df["accidents"] = rng.poisson(0.02 * df["headcount"])
    m = FrequencyGLM("poisson", ["sector"]).fit(df)
    rt = m.relativities_.set_index("level")
    # the base is the sector with the most enterprise-years, not the most yuan
    assert rt.loc["manufacturing", "is_base"]
    assert rt["exposure"].isna().all() and m.exposure_unit_ is None
    assert rt.loc["construction", "worker_years"] == df.loc[df["sector"] == "construction", "headcount"].sum()
    assert rt["enterprise_years"].sum() == n
def test_auto_engine_is_the_one_with_the_smaller_predicted_cost():
    from safeins.models.frequency_glm import predicted_seconds

    poisson = FrequencyGLM("poisson", ["sector", "region", "size_band"])
    negbin = FrequencyGLM("negbin", ["sector", "region", "size_band"])
    # NB2: the own joint Newton while the dense design has at most NEWTON_MAX_ENTRIES entries,
    # then the cheaper of glum (rows x factors) and statsmodels (rows x columns^2)
    assert negbin._pick_engine(100_000, 26, 3) == "newton"
    assert negbin._pick_engine(300, 26, 3) == "newton"
    assert negbin._pick_engine(1_000_000, 26, 3) == "glum"
    fixed = FrequencyGLM("negbin", ["sector", "region", "size_band"], alpha=0.5)
    assert fixed._pick_engine(300, 26, 3) == "statsmodels"  # start-up cost dominates
    assert fixed._pick_engine(2_000, 126, 8) == "glum"  # dense dummies: rows x columns^2
    # Poisson: the own Newton (dense, or on the categorical design for large tables) where it is
    # predicted cheaper (glum's and tabmat's imports counted when they are not loaded yet)
    assert poisson._pick_engine(300, 26, 3) == "newton"
    assert poisson._pick_engine(10**6, 126, 8) == "newton"  # categorical: measured 2x glum
    import sys

    loaded = "glum" in sys.modules
    tabmat = "tabmat" in sys.modules
    for n, cols, k in [(2_000, 126, 8), (26_000, 35, 7), (100_000, 26, 3)]:
        cheaper = (predicted_seconds("newton", n, cols, k, imported=tabmat)
                   < predicted_seconds("glum", n, cols, k, imported=loaded))
        assert poisson._pick_engine(n, cols, k) == ("newton" if cheaper else "glum")
    # zero-inflated: the own Newton with the analytic Hessian at every size
    assert FrequencyGLM("zinb", ["sector"])._pick_engine(10**6, 26, 3) == "newton"
    assert FrequencyGLM("zip", ["sector"])._pick_engine(300, 26, 3) == "newton"
    assert FrequencyGLM("zip", ["sector"], engine="statsmodels")._pick_engine(
        300, 26, 3) == "statsmodels"
    assert FrequencyGLM("poisson", ["sector"], engine="statsmodels")._pick_engine(
        10**6, 26, 3) == "statsmodels"
    with pytest.raises(ConfigError, match="fixed alpha needs"):
        FrequencyGLM("negbin", ["sector"], engine="newton", alpha=0.5)._pick_engine(100, 5, 1)
    # the crossover moves with the design's width
    assert predicted_seconds("statsmodels", 5_000, 10, 2) < predicted_seconds("statsmodels",
                                                                               5_000, 40, 2)


# ---------------------------------------------------------------------- Poisson on factor cells
def _cell_table(n, seed):
    """Enterprise-years on few distinct design rows: categorical factors and integer years."""
    df = simulate(n, seed, alpha=0.0, base=0.01)
    df["year"] = np.random.default_rng(seed + 1).integers(2019, 2024, n)
    return df.drop(columns="hazard_rate")


@pytest.mark.parametrize("engine", ["statsmodels", "glum", "newton"])
def test_poisson_on_cells_equals_the_fit_on_rows(engine):
    # the Poisson fit runs on summed counts and exposures of identical design rows; statsmodels
    # on the unaggregated rows (dense dummies built independently) must give the same estimates,
    # standard errors, log-likelihood and deviance
    df = _cell_table(6000, 11)
    factors = ["sector", "size_band", "credit_grade", "year"]
    m = FrequencyGLM("poisson", factors=factors, numeric={"year": "linear"},
                     engine=engine).fit(df)
    X = m._design.dense(df)
    ref = sm.GLM(df["accidents"].to_numpy(float), X, family=sm.families.Poisson(),
                 offset=np.log(df["exposure"].to_numpy())).fit(tol=1e-12)
    first, _ = m._design.cells(m._design.codes(df), np.arange(len(df)))
    assert len(first) < len(df) / 10  # the fit really ran on cells
    np.testing.assert_allclose(m.coef_.to_numpy(), ref.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(m.bse_.to_numpy(), ref.bse, rtol=1e-6)
    np.testing.assert_allclose(m.loglik_, ref.llf, rtol=1e-10)
    np.testing.assert_allclose(m.deviance_, ref.deviance, rtol=1e-9)
    np.testing.assert_allclose(m.pearson_chi2_, ref.pearson_chi2, rtol=1e-8)
    assert m.n_obs_ == len(df)
    assert m.fitted_.index.equals(df.index)
    # a deviance test between nested models: the same as on rows
    small = FrequencyGLM("poisson", factors=factors[:2], engine=engine).fit(df)
    ref_small = sm.GLM(df["accidents"].to_numpy(float), small._design.dense(df),
                       family=sm.families.Poisson(),
                       offset=np.log(df["exposure"].to_numpy())).fit(tol=1e-12)
    np.testing.assert_allclose(small.deviance_ - m.deviance_,
                               ref_small.deviance - ref.deviance, rtol=1e-8)


def test_cells_group_identical_design_rows_only():
    df = _cell_table(500, 3)
    df["hazard_rate"] = np.round(np.random.default_rng(0).uniform(0, 1, len(df)), 1)
    m = FrequencyGLM("poisson", factors=["sector", "year", "hazard_rate"],
                     numeric={"year": "linear", "hazard_rate": "linear"}, engine="statsmodels")
    m.fit(df)
    rows = np.arange(len(df))
    first, cell = m._design.cells(m._design.codes(df), rows)
    key = df[["sector", "year", "hazard_rate"]].astype(str).agg("|".join, axis=1).to_numpy()
    assert len(first) == len(set(key))
    # rows share a cell exactly when they share every factor value
    assert (key[first[cell]] == key).all()
    assert (cell[first] == np.arange(len(first))).all()


def test_cells_key_does_not_overflow_with_many_distinct_numeric_values():
    # six numeric factors of ~2,600 distinct values each: 3e20 possible cells, more than an
    # int64 key holds; the key is compacted on the way and rows still group exactly
    rng = np.random.default_rng(5)
    base = pd.DataFrame({f"x{i}": rng.integers(0, 10_000, 3_000) / 7.0 for i in range(6)})
    df = pd.concat([base, base.iloc[:500]], ignore_index=True)  # 500 duplicated rows
    df["exposure"] = 1.0
    df["accidents"] = rng.poisson(0.5, len(df))
    names = list(base.columns)
    m = FrequencyGLM("poisson", names, numeric=dict.fromkeys(names, "linear"), engine="newton")
    m.fit(df)
    first, cell = m._design.cells(m._design.codes(df), np.arange(len(df)))
    assert len(first) == len(base.drop_duplicates())
    key = df[names].to_numpy()
    np.testing.assert_array_equal(key[first[cell]], key)
