"""Severity fitting: MLE vs scipy and closed forms, truncation/censoring, SEs, GOF statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from safeins.errors import ValidationError
from safeins.losses import (
    Burr,
    Exponential,
    Gamma,
    GeneralizedPareto,
    InverseGaussian,
    LogNormal,
    Pareto,
    Weibull,
    compare_severity,
    fit_severity,
)

# Loss Models (Klugman, Panjer & Willmot), Data Set B: 20 losses
DATA_B = np.array(
    [27, 82, 115, 126, 155, 161, 243, 294, 340, 384, 457, 680, 855, 877, 974, 1193, 1340,
     1884, 2558, 15743.0]
)


@pytest.mark.parametrize(
    ("family", "scipy_dist", "to_ours"),
    [
        ("gamma", stats.gamma, lambda a, loc, s: {"alpha": a, "theta": s}),
        ("weibull", stats.weibull_min, lambda c, loc, s: {"tau": c, "theta": s}),
        ("lognormal", stats.lognorm, lambda sg, loc, s: {"mu": math.log(s), "sigma": sg}),
        ("pareto", stats.lomax, lambda c, loc, s: {"alpha": c, "theta": s}),
        ("loglogistic", stats.fisk, lambda c, loc, s: {"gamma": c, "theta": s}),
    ],
)
def test_mle_matches_scipy_fit_without_truncation(family, scipy_dist, to_ours):
    true = {"gamma": Gamma(2.0, 500.0), "weibull": Weibull(1.5, 1000.0),
            "lognormal": LogNormal(7.0, 1.0), "pareto": Pareto(3.0, 2000.0),
            "loglogistic": Gamma(3.0, 300.0)}[family]
    x = true.rvs(1500, seed=7)
    fit = fit_severity(x, family)
    ref = to_ours(*scipy_dist.fit(x, floc=0))
    ll_ref = float(np.sum(scipy_dist.logpdf(x, *scipy_dist.fit(x, floc=0))))
    # the maximum found is at least as high as scipy's, and at the same place
    assert fit.loglik_ >= ll_ref - 1e-6
    for k, v in ref.items():
        assert fit.params_[k] == pytest.approx(v, rel=2e-4), k
    assert fit.loglik_ == pytest.approx(float(np.sum(fit.dist.logpdf(x))), rel=1e-12)


def test_loss_models_data_set_b():
    # Loss Models' worked examples on Data Set B: gamma MLE α = 0.55616, θ = 2561.1;
    # lognormal MLE μ = 6.1379, σ = 1.3894; exponential θ = 1424.4
    g = fit_severity(DATA_B, "gamma")
    assert g.params_["alpha"] == pytest.approx(0.55616, abs=5e-6)
    assert g.params_["theta"] == pytest.approx(2561.1, abs=0.05)
    ln = fit_severity(DATA_B, "lognormal")
    assert ln.params_["mu"] == pytest.approx(6.1379, abs=5e-5)
    assert ln.params_["sigma"] == pytest.approx(1.3894, abs=5e-5)
    assert fit_severity(DATA_B, "exponential").params_["theta"] == pytest.approx(1424.4)
    # censored at 1000: exponential θ = 718; KS 0.0991 and AD 0.1713 (Loss Models, ch. 16)
    c = fit_severity(np.minimum(DATA_B, 1000), "exponential", censoring=1000)
    assert c.params_["theta"] == pytest.approx(718.0)
    assert c.ks_ == pytest.approx(0.0991, abs=5e-5)
    assert c.ad_ == pytest.approx(0.1713, abs=5e-5)


def test_exponential_closed_form_with_truncation_and_censoring():
    rng = np.random.default_rng(3)
    x = rng.exponential(1000.0, 4000)
    d = rng.choice([0.0, 100.0, 250.0], 4000)
    u = rng.choice([np.inf, 2000.0, 3000.0], 4000)
    keep = x > d
    x, d, u = x[keep], d[keep], u[keep]
    obs = np.minimum(x, u)
    fit = fit_severity(obs, "exponential", truncation=d, censoring=u)
    cens = obs >= u
    theta = np.sum(obs - d) / np.sum(~cens)  # total exposure / number of uncensored losses
    assert fit.params_["theta"] == pytest.approx(theta, rel=1e-14)
    assert fit.bse_["theta"] == pytest.approx(theta / math.sqrt(np.sum(~cens)), rel=1e-12)
    # and the general optimiser (gamma with α → 1 region) agrees on the likelihood scale
    g = fit_severity(obs, "gamma", truncation=d, censoring=u)
    assert g.loglik_ >= fit.loglik_ - 1e-6
    assert abs(g.params_["alpha"] - 1) < 4 * g.bse_["alpha"]


def test_truncated_censored_lognormal_recovers_parameters_and_ses_are_honest():
    true = LogNormal(8.0, 1.2)
    x = true.rvs(6000, seed=11)
    d = 1000.0
    u = 20_000.0
    keep = x > d
    obs = np.minimum(x[keep], u)
    fit = fit_severity(obs, "lognormal", truncation=d, censoring=u)
    for k, v in (("mu", 8.0), ("sigma", 1.2)):
        assert abs(fit.params_[k] - v) < 4 * fit.bse_[k]
    # ignoring truncation and censoring is visibly biased
    naive = fit_severity(obs, "lognormal")
    assert abs(naive.params_["mu"] - 8.0) > 10 * fit.bse_["mu"]
    # standard errors: the Hessian-based se matches the spread over replications
    reps = []
    for s in range(20):
        y = true.rvs(2000, seed=100 + s)
        y = np.minimum(y[y > d], u)
        reps.append(fit_severity(y, "lognormal", truncation=d, censoring=u).params_["sigma"])
    one = fit_severity(np.minimum((y := true.rvs(2000, seed=100))[y > d], u), "lognormal",
                       truncation=d, censoring=u)
    assert np.std(reps, ddof=1) == pytest.approx(one.bse_["sigma"], rel=0.35)


def test_boolean_censoring_mask_equals_limits():
    x = Weibull(1.3, 500.0).rvs(800, seed=2)
    lim = np.where(np.arange(800) % 3 == 0, 600.0, np.inf)
    obs = np.minimum(x, lim)
    a = fit_severity(obs, "weibull", censoring=lim)
    b = fit_severity(obs, "weibull", censoring=obs >= lim)
    assert a.params_ == pytest.approx(b.params_, rel=1e-9)


def test_weights_equal_repetition():
    x = np.array([100.0, 250.0, 400.0, 900.0, 3000.0])
    w = np.array([3, 1, 2, 1, 2])
    a = fit_severity(x, "gamma", weights=w)
    b = fit_severity(np.repeat(x, w), "gamma")
    assert a.params_ == pytest.approx(b.params_, rel=1e-5)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-9)


def test_gof_statistics_match_textbook_formulas_without_truncation():
    x = np.sort(Gamma(2.0, 100.0).rvs(300, seed=5))
    fit = fit_severity(x, "gamma")
    F = fit.dist.cdf
    assert fit.ks_ == pytest.approx(stats.kstest(x, F).statistic, rel=1e-10)
    n = x.size
    i = np.arange(1, n + 1)
    a2 = -n - np.mean((2 * i - 1) * (np.log(F(x)) + np.log(1 - F(x[::-1]))))
    assert fit.ad_ == pytest.approx(a2, rel=1e-8)
    assert fit.aic_ == pytest.approx(4 - 2 * fit.loglik_)
    assert fit.bic_ == pytest.approx(2 * math.log(300) - 2 * fit.loglik_)


def test_compare_severity_table_and_plots():
    x = LogNormal(8.0, 1.2).rvs(600, seed=3)
    t = compare_severity(x, ["exponential", "lognormal", "gamma", "weibull", "burr"])
    assert list(t.columns) == ["loglik", "k", "aic", "bic", "ks", "ad", "note"]
    assert t.index[0] in ("lognormal", "burr")
    assert np.all(np.diff(t["aic"].to_numpy()) >= 0)
    assert t.loc["burr", "k"] == 3
    fit = fit_severity(x, "lognormal")
    ax = fit.qq_plot()
    assert len(ax.collections) == 1
    assert fit.qq_plot(log=True).get_xscale() == "log"
    ax = fit.pp_plot()
    assert ax.get_xlabel().startswith("fitted")
    assert "lognormal" in fit.summary()
    assert list(fit.to_frame()["param"]) == ["mu", "sigma"]
    assert "<table" in fit._repr_html_()


def test_burr_recovers_parameters():
    true = Burr(3.0, 1000.0, 1.5)
    x = true.rvs(5000, seed=9)
    fit = fit_severity(x, Burr)
    for k, v in true.params.items():
        assert abs(fit.params_[k] - v) < 4.5 * fit.bse_[k], k


def test_bad_input_lists_every_problem():
    with pytest.raises(ValidationError) as e:
        fit_severity([100.0, -5.0, float("nan"), 0.0], "gamma")
    assert len(e.value) == 3
    with pytest.raises(ValidationError, match="truncation point"):
        fit_severity([100.0, 200.0, 50.0], "gamma", truncation=60.0)
    with pytest.raises(ValidationError, match="censoring limit"):
        fit_severity([100.0, 200.0, 5000.0], "gamma", censoring=1000.0)
    with pytest.raises(ValidationError, match="one of"):
        fit_severity([1.0, 2.0], "cauchy")
    with pytest.raises(ValidationError, match="uncensored"):
        fit_severity([10.0, 10.0], "exponential", censoring=10.0)
    with pytest.raises(ValidationError):
        fit_severity([1.0, 2.0, 3.0], "gamma", weights=[1.0, -1.0])
    with pytest.raises(ValidationError):
        compare_severity([1.0, 2.0], ["gamma", "zeta"])


def test_exponential_fit_is_exact_against_direct_likelihood():
    x = Exponential(50.0).rvs(100, seed=1)
    fit = fit_severity(x, "exponential")
    assert fit.params_["theta"] == pytest.approx(x.mean(), rel=1e-14)
    assert fit.loglik_ == pytest.approx(np.sum(stats.expon(scale=x.mean()).logpdf(x)))


@pytest.mark.parametrize(
    ("family", "true"),
    [
        ("invgauss", InverseGaussian(1000.0, 3000.0)),
        ("genpareto", GeneralizedPareto(0.3, 500.0)),
        ("pareto", Pareto(2.5, 1500.0)),
    ],
)
def test_more_families_recover_parameters(family, true):
    x = true.rvs(4000, seed=13)
    fit = fit_severity(x, family)
    assert fit.converged_
    for k, v in fit.params_.items():
        assert abs(v - true.params[k]) < 4.5 * fit.bse_[k], k


# --- degenerate data: ConvergenceError, never absurd parameters ------------------------------------
TWO_PARAMETER = ["gamma", "lognormal", "weibull", "pareto", "genpareto", "loglogistic", "invgauss"]


@pytest.mark.parametrize("family", [*TWO_PARAMETER, "burr"])
@pytest.mark.parametrize("data", [[250.0] * 12, [250.0]], ids=["constant", "single"])
def test_constant_or_single_losses_raise_convergence_error(family, data):
    from safeins.errors import ConvergenceError

    with pytest.raises(ConvergenceError, match="distinct"):
        fit_severity(np.array(data), family)


def test_exponential_is_identified_by_one_loss():
    fit = fit_severity(np.array([250.0]), "exponential")
    assert fit.params_["theta"] == pytest.approx(250.0)


@pytest.mark.parametrize("family, data, label", [
    ("pareto", [100.0, 100.0, 200.0], "alpha"),          # lighter than any Pareto: alpha -> inf
    ("genpareto", [100.0, 100.0, 200.0], "xi"),          # likelihood unbounded for xi < -1
    ("burr", [100.0, 100.0, 200.0], "distinct"),         # 3 parameters, 2 distinct losses
])
def test_maximum_on_the_edge_of_the_family_raises(family, data, label):
    from safeins.errors import ConvergenceError

    with pytest.raises(ConvergenceError, match=label):
        fit_severity(np.array(data), family)


def test_compare_severity_reports_degenerate_families_without_failing():
    table = compare_severity(np.array([100.0, 100.0, 200.0]), ["exponential", "pareto", "burr"])
    assert table.index[0] == "exponential"
    assert table.loc["pareto", "note"].startswith("ConvergenceError")
    assert math.isnan(table.loc["burr", "aic"])


def test_zinb_without_extra_dispersion_raises_convergence_error():
    import pandas as pd

    import safeins as si
    from safeins.errors import ConvergenceError

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"sector": rng.choice(["a", "b"], 1500), "exposure": 1.0})
    df["accidents"] = rng.poisson(0.3, 1500)  # plain Poisson: no excess zeros, no extra spread
    with pytest.raises(ConvergenceError, match=r"zero|dispersion"):
        si.FrequencyGLM("zinb", factors=["sector"], engine="statsmodels").fit(df)
