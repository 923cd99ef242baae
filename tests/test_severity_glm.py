"""SeverityGLM against statsmodels written independently, the lognormal mean, weights, AIC across
families, interval coverage on known truth, bad input, and per-sector distribution fits."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from safeins.errors import ValidationError
from safeins.models.severity_glm import SeverityGLM, fit_severity_by_sector

SECTOR = {"construction": 1.0, "mining": 3.0, "hazardous_chemicals": 2.0}
GRADE = {"B": 1.0, "A": 0.8, "D": 1.5}
BASE = 200_000.0
FORMULA = "cost ~ C(sector, Treatment('construction')) + C(grade, Treatment('B'))"


def simulate(n, seed, family="gamma", shape=2.0, sigma=1.0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"sector": rng.choice(list(SECTOR), n, p=[0.5, 0.25, 0.25]),
                       "grade": rng.choice(list(GRADE), n, p=[0.5, 0.3, 0.2])})
    mu = BASE * df["sector"].map(SECTOR).to_numpy() * df["grade"].map(GRADE).to_numpy()
    if family == "gamma":
        df["cost"] = rng.gamma(shape, mu / shape)
    elif family == "lognormal":
        df["cost"] = np.exp(np.log(mu) - sigma**2 / 2 + rng.normal(0, sigma, n))
    else:
        df["cost"] = rng.wald(mu, 4 * BASE)
    return df


@pytest.fixture(scope="module")
def gamma_data():
    return simulate(3000, 1)


def test_gamma_matches_statsmodels(gamma_data):
    m = SeverityGLM("gamma", ["sector", "grade"]).fit(gamma_data)
    ref = smf.glm(FORMULA, gamma_data, family=sm.families.Gamma(sm.families.links.Log())).fit()
    np.testing.assert_allclose(np.sort(m.coef_), np.sort(ref.params), rtol=1e-7)
    np.testing.assert_allclose(np.sort(m.bse_), np.sort(ref.bse), rtol=1e-5)
    assert m.dispersion_ == pytest.approx(ref.scale, rel=1e-6)
    assert m.deviance_ == pytest.approx(ref.deviance, rel=1e-7)
    np.testing.assert_allclose(m.predict(gamma_data), ref.fittedvalues, rtol=1e-7)
    # the log-likelihood uses the ML dispersion: statsmodels' llf at that scale, and no scale
    # does better
    ll_ml = ref.family.loglike(gamma_data["cost"].to_numpy(), ref.fittedvalues.to_numpy(),
                               scale=m.dispersion_ml_)
    assert m.loglik_ == pytest.approx(ll_ml, rel=1e-9)
    assert m.loglik_ >= ref.llf - 1e-6
    rt = m.relativities_
    assert list(rt.columns) == ["factor", "level", "relativity", "ci_low", "ci_high", "weight",
                                "n_obs", "is_base"]
    assert rt[rt["is_base"]]["level"].tolist() == ["construction", "B"]


def test_inverse_gaussian_matches_statsmodels():
    df = simulate(2000, 2, family="ig")
    m = SeverityGLM("inverse_gaussian", ["sector", "grade"]).fit(df)
    ref = smf.glm(FORMULA, df, family=sm.families.InverseGaussian(sm.families.links.Log())).fit()
    np.testing.assert_allclose(np.sort(m.coef_), np.sort(ref.params), rtol=1e-7)
    np.testing.assert_allclose(np.sort(m.bse_), np.sort(ref.bse), rtol=1e-5)
    assert m.dispersion_ == pytest.approx(ref.scale, rel=1e-6)
    assert m.deviance_ == pytest.approx(ref.deviance, rel=1e-7)
    ll_ml = ref.family.loglike(df["cost"].to_numpy(), ref.fittedvalues.to_numpy(),
                               scale=m.dispersion_ml_)
    assert m.loglik_ == pytest.approx(ll_ml, rel=1e-9)


def test_lognormal_mean_includes_smearing():
    df = simulate(4000, 3, family="lognormal", sigma=1.2)
    m = SeverityGLM("lognormal", ["sector", "grade"]).fit(df)
    ref = smf.ols("np.log(cost) ~ C(sector, Treatment('construction')) + "
                  "C(grade, Treatment('B'))", df).fit()
    np.testing.assert_allclose(np.sort(m.coef_), np.sort(ref.params), rtol=1e-9)
    assert m.dispersion_ == pytest.approx(ref.scale, rel=1e-10)
    np.testing.assert_allclose(m.predict(df), np.exp(ref.fittedvalues + ref.scale / 2),
                               rtol=1e-9)
    # the smeared mean is unbiased for the true mean; the median (no smearing) is not
    true_mean = BASE * df["sector"].map(SECTOR) * df["grade"].map(GRADE)
    assert m.predict(df).mean() / true_mean.mean() == pytest.approx(1.0, abs=0.05)
    duan = SeverityGLM("lognormal", ["sector", "grade"], smearing="duan").fit(df)
    resid = np.log(df["cost"]) - ref.fittedvalues
    np.testing.assert_allclose(duan.predict(df), np.exp(ref.fittedvalues) * np.exp(resid).mean(),
                               rtol=1e-9)
    # log-likelihood of the lognormal density (with the Jacobian), at the ML sigma
    s_ml = np.sqrt(np.sum(resid**2) / len(df))
    ll = stats.lognorm.logpdf(df["cost"], s_ml, scale=np.exp(ref.fittedvalues)).sum()
    assert m.loglik_ == pytest.approx(ll, rel=1e-10)


def test_var_weights_match_statsmodels(gamma_data):
    df = gamma_data.assign(n_acc=np.random.default_rng(4).integers(1, 5, len(gamma_data)))
    m = SeverityGLM("gamma", ["sector", "grade"]).fit(df, amounts="cost", weights="n_acc")
    ref = smf.glm(FORMULA, df, family=sm.families.Gamma(sm.families.links.Log()),
                  var_weights=df["n_acc"]).fit()
    np.testing.assert_allclose(np.sort(m.coef_), np.sort(ref.params), rtol=1e-7)
    np.testing.assert_allclose(np.sort(m.bse_), np.sort(ref.bse), rtol=1e-5)
    w = m.relativities_.set_index("level")["weight"]
    assert w["construction"] == df.loc[df["sector"] == "construction", "n_acc"].sum()


@pytest.mark.parametrize("truth", ["gamma", "lognormal"])
def test_aic_prefers_the_generating_family(truth):
    df = simulate(3000, 6, family=truth, shape=1.5, sigma=1.0)
    aic = {f: SeverityGLM(f, ["sector", "grade"]).fit(df).aic_
           for f in ("gamma", "lognormal", "inverse_gaussian")}
    assert min(aic, key=aic.get) == truth


def test_gamma_interval_coverage():
    """100 fixed seeds: every 95% interval covers the true relativity; pooled binomial test."""
    hits = []
    for r in range(100):
        df = simulate(300, 100 + r)
        m = SeverityGLM("gamma", ["sector", "grade"],
                        base_levels={"sector": "construction", "grade": "B"}).fit(df)
        rt = m.relativities_[~m.relativities_["is_base"]]
        truth = np.array([{**SECTOR, **GRADE}[lev] for lev in rt["level"]])
        hits.append(((rt["ci_low"] <= truth) & (truth <= rt["ci_high"])).to_numpy())
    hits = np.array(hits)
    assert stats.binomtest(int(hits.sum()), hits.size, 0.95).pvalue > 0.001, hits.mean(axis=0)


def test_bad_input(gamma_data):
    bad = gamma_data.copy()
    bad.loc[bad.index[:2], "cost"] = [0.0, -5.0]
    with pytest.raises(ValidationError, match="2 bad rows"):
        SeverityGLM("gamma", ["sector"]).fit(bad)
    with pytest.raises(ValidationError, match="missing column"):
        SeverityGLM("gamma", ["sector"]).fit(gamma_data, amounts="loss")
    with pytest.raises(ValidationError, match="family"):
        SeverityGLM("weibull", ["sector"]).fit(gamma_data)
    with pytest.raises(ValidationError, match="at least 2 levels"):
        SeverityGLM("gamma", ["sector", "r"]).fit(gamma_data.assign(r="x"))
    m = SeverityGLM("gamma", ["sector"]).fit(gamma_data)
    with pytest.raises(ValidationError, match="quarrying"):
        m.predict(gamma_data.head(2).assign(sector="quarrying"))
    assert "Relativities of the mean cost" in m.summary()
    assert m.plot() is not None


HAS_FITTING = importlib.util.find_spec("safeins.losses.fitting") is not None


@pytest.mark.skipif(not HAS_FITTING, reason="safeins.losses.fitting not written yet")
def test_fit_severity_by_sector():
    rng = np.random.default_rng(9)
    df = pd.concat([
        pd.DataFrame({"sector": "mining", "cost": rng.lognormal(12.0, 1.0, 400)}),
        pd.DataFrame({"sector": "retail", "cost": rng.gamma(2.0, 20_000.0, 400)}),
    ], ignore_index=True)
    res = fit_severity_by_sector(df, amounts="cost", families=["lognormal", "gamma"])
    t = res.table
    assert t.loc["mining", "family"] == "lognormal"
    assert t.loc["retail", "family"] == "gamma"
    assert t.loc["mining", "mean"] == pytest.approx(np.exp(12.5), rel=0.1)
    assert t.loc["retail", "n"] == 400
    with pytest.raises(ValidationError, match="min_n"):
        fit_severity_by_sector(df.head(405), amounts="cost", families=["gamma"], min_n=10)


# --- degenerate costs -------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["gamma", "inverse_gaussian", "lognormal"])
def test_constant_costs_raise_convergence_error(family):
    from safeins.errors import ConvergenceError

    df = pd.DataFrame({"sector": ["a", "b"] * 20, "cost": 5e4})
    with pytest.raises(ConvergenceError, match="every cost equals"):
        SeverityGLM(family, factors=["sector"]).fit(df, amounts="cost")


@pytest.mark.filterwarnings("ignore")  # statsmodels warns of the perfect fit before we refuse it
@pytest.mark.parametrize("family", ["gamma", "inverse_gaussian", "lognormal"])
def test_costs_explained_exactly_by_the_factors_raise(family):
    from safeins.errors import ConvergenceError

    df = pd.DataFrame({"sector": ["a", "b"] * 20})
    df["cost"] = np.where(df["sector"] == "a", 1e4, 3e4)
    with pytest.raises(ConvergenceError, match="dispersion"):
        SeverityGLM(family, factors=["sector"]).fit(df, amounts="cost")
