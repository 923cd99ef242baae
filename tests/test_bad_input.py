"""Bad input, generated: one fault injected into an otherwise valid call must raise a SafeinsError
that names the faulty field, and nothing else (no TypeError, KeyError, LinAlgError, ... escapes).

Each public constructor is described once: a valid call and, per parameter, the kind of value it
takes. Hypothesis draws a parameter and a value that the kind forbids (text where a number belongs,
NaN, infinity, a negative, a probability above 1, a boolean, an unknown choice, None) and checks
the error. Tables (portfolio, accidents, fitting data) get one fault each: a missing column, NaN,
a negative, text in a number column, a duplicate key.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeins as si
from safeins.errors import SafeinsError

FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# --- bad values by kind ------------------------------------------------------------------------
TEXT = st.sampled_from(["abc", "1", "1.5", "", "nan", "一"])
NAN = st.just(math.nan)
INF = st.sampled_from([math.inf, -math.inf])
NEG = st.floats(min_value=-1e9, max_value=-1e-6)
BOOL = st.booleans()
NONE = st.just(None)
ABOVE_ONE = st.floats(min_value=1.0 + 1e-6, max_value=1e6)
OBJECT = st.sampled_from([[1.0, 2.0], {"a": 1}, object()])

BAD = {
    "positive": st.one_of(TEXT, NAN, INF, NEG, BOOL, NONE, OBJECT, st.just(0.0)),
    "nonneg": st.one_of(TEXT, NAN, INF, NEG, BOOL, NONE, OBJECT),
    "nonneg_or_none": st.one_of(TEXT, NAN, INF, NEG, BOOL, OBJECT),
    "real": st.one_of(TEXT, NAN, INF, BOOL, NONE, OBJECT),
    "prob": st.one_of(TEXT, NAN, NEG, ABOVE_ONE, BOOL, NONE, OBJECT),
    "prob_or_none": st.one_of(TEXT, NAN, NEG, ABOVE_ONE, BOOL, OBJECT),
    "level": st.one_of(TEXT, NAN, NEG, ABOVE_ONE, BOOL, NONE, st.just(0.0), st.just(1.0)),
    "int_nonneg": st.one_of(TEXT, NAN, NEG, BOOL, NONE, st.just(2.5)),
    # a class is an index or a label ("1" is the label of class 1)
    "class": st.one_of(st.sampled_from(["abc", "", "一"]), NAN, NONE, BOOL,
                       st.sampled_from([-1, 7, 1.5])),
    "labels": st.one_of(TEXT, NAN, st.just(1.0), st.just(["a"]), st.just(["a", "b", "c", "d"])),
    "factors": st.one_of(NAN, NONE, BOOL, st.just(["a", "a"]), st.just(1.0), st.just("sector"),
                         st.just([1, 2])),
    "regime": st.one_of(NAN, BOOL, st.just(1.0), st.just("no-such-regime"), st.just([])),
    "levels": st.one_of(NAN, NONE, BOOL, st.just([]), st.just(["a", "a"]), st.just(1.0)),
    "positive_or_inf": st.one_of(TEXT, NAN, NEG, BOOL, NONE, OBJECT, st.just(0.0)),
    "positive_or_none": st.one_of(TEXT, NAN, INF, NEG, BOOL, OBJECT, st.just(0.0)),
    "rel3": st.one_of(TEXT, NAN, st.just([1.0, 2.0]), st.just([1.0, -1.0, 1.0]),
                      st.just([1.0, math.nan, 1.0]), st.just(["a", "b", "c"])),
    "int_positive": st.one_of(TEXT, NAN, NEG, BOOL, NONE, st.just(0), st.just(2.5)),
    "choice": st.one_of(TEXT, NAN, BOOL, NONE, st.integers(-3, 3)),
    "flag": st.one_of(TEXT, NAN, NONE, st.integers(0, 1), st.just(0.0)),
    "flag_or_none": st.one_of(TEXT, NAN, st.integers(0, 1)),
    "severity": st.one_of(TEXT, NAN, NONE, st.just(1.0), st.just(si.Poisson(2.0))),
    "object_or_none": st.one_of(TEXT, NAN, st.just(1.0), st.just(si.Poisson(2.0))),
    "count_law": st.one_of(TEXT, NAN, NONE, st.just(1.0), st.just(si.Exponential(1.0))),
    "shares": st.one_of(TEXT, NAN, st.just([0.5, 1.5]), st.just([-0.1, 0.2]),
                        st.just([0.1, 0.2, 0.3]), st.just(["a", "b"])),
    "nonneg_vector": st.one_of(TEXT, NAN, st.just([1.0, -1.0]), st.just([1.0, math.nan]),
                               st.just([1.0, 2.0, 3.0]), st.just(["a", "b"])),
    "positive_vector": st.one_of(TEXT, NAN, st.just([1.0, -1.0]), st.just([0.0, 1.0]),
                                 st.just([1.0, math.nan]), st.just([1.0, 2.0, 3.0]),
                                 st.just(["a", "b"])),
}


def _catalog():
    return si.ServiceCatalog.load("default")


# label -> (factory, valid keyword arguments, {parameter: kind})
CONSTRUCTORS = {
    "Poisson": (si.Poisson, {"mu": 2.0}, {"mu": "nonneg"}),
    "NegativeBinomial": (si.NegativeBinomial, {"n": 2.0, "p": 0.5},
                         {"n": "positive", "p": "prob"}),
    "Binomial": (si.Binomial, {"n": 5, "p": 0.5}, {"n": "int_nonneg", "p": "prob"}),
    "Geometric": (si.Geometric, {"p": 0.5}, {"p": "prob_or_none"}),
    "Logarithmic": (si.Logarithmic, {"p": 0.5}, {"p": "prob_or_none"}),
    "ExtendedTruncatedNB": (si.ExtendedTruncatedNB, {"r": -0.5, "beta": 1.0},
                            {"beta": "positive"}),
    "ZeroModified": (si.ZeroModified, {"parent": si.Poisson(2.0), "p0": 0.3},
                     {"p0": "prob", "parent": "count_law"}),
    "Exponential": (si.Exponential, {"theta": 2.0}, {"theta": "positive"}),
    "Gamma": (si.Gamma, {"alpha": 2.0, "theta": 2.0}, {"alpha": "positive", "theta": "positive"}),
    "LogNormal": (si.LogNormal, {"mu": 2.0, "sigma": 1.0}, {"mu": "real", "sigma": "positive"}),
    "Weibull": (si.Weibull, {"tau": 2.0, "theta": 2.0}, {"tau": "positive", "theta": "positive"}),
    "Pareto": (si.Pareto, {"alpha": 2.0, "theta": 2.0}, {"alpha": "positive", "theta": "positive"}),
    "GeneralizedPareto": (si.GeneralizedPareto, {"xi": 0.2, "sigma": 2.0, "mu": 0.0},
                          {"xi": "real", "sigma": "positive", "mu": "nonneg"}),
    "Burr": (si.Burr, {"alpha": 2.0, "theta": 2.0, "gamma": 1.5},
             {"alpha": "positive", "theta": "positive", "gamma": "positive"}),
    "LogLogistic": (si.LogLogistic, {"gamma": 2.0, "theta": 2.0},
                    {"gamma": "positive", "theta": "positive"}),
    "InverseGaussian": (si.InverseGaussian, {"mu": 2.0, "theta": 2.0},
                        {"mu": "positive", "theta": "positive"}),
    "Empirical": (si.Empirical, {"values": [1.0, 2.0], "weights": [1.0, 3.0]},
                  {"values": "nonneg_vector", "weights": "nonneg_vector"}),
    "Spliced": (si.Spliced, {"body": si.Exponential(1.0), "tail": si.Pareto(2.0, 1.0),
                             "threshold": 2.0, "body_weight": 0.8},
                {"body": "severity", "tail": "severity", "threshold": "positive",
                 "body_weight": "prob_or_none"}),
    "Mixture": (si.Mixture, {"components": [si.Exponential(1.0), si.Gamma(2.0, 1.0)],
                             "weights": [0.3, 0.7]},
                {"components": "severity", "weights": "shares"}),
    "Coverage": (si.Coverage, {"deductible": 10.0, "franchise": False, "limit": 100.0,
                               "coinsurance": 0.8, "inflation": 0.0},
                 {"deductible": "nonneg", "franchise": "flag", "limit": "positive_or_inf",
                  "coinsurance": "prob", "inflation": "real"}),
    "AggregateCoverage": (si.AggregateCoverage, {"deductible": 10.0, "limit": 1000.0},
                          {"deductible": "nonneg", "limit": "positive_or_inf"}),
    "CoveredSeverity": (si.CoveredSeverity, {"sev": si.Exponential(1.0), "coverage": si.Coverage(),
                                             "per": "loss"},
                        {"sev": "severity", "coverage": "severity", "per": "choice"}),
    "Aggregate": (si.Aggregate, {"freq": si.Poisson(2.0), "sev": si.Exponential(1.0),
                                 "method": "panjer", "step": 0.1, "n": 2**10, "n_sims": 1000,
                                 "tol": 1e-6, "moment_rtol": 0.01},
                  {"freq": "count_law", "sev": "severity", "method": "choice",
                   "step": "nonneg_or_none", "n": "int_positive", "n_sims": "int_positive",
                   "tol": "level", "moment_rtol": "level", "discretization": "choice",
                   "max_n": "int_positive", "max_claims": "positive", "force": "flag",
                   "tilt": "nonneg_or_none", "coverage": "object_or_none",
                   "aggregate_coverage": "object_or_none"}),
    "FrequencyGLM": (si.FrequencyGLM, {"family": "negbin", "factors": ["sector"]},
                     {"family": "choice", "factors": "factors", "ci": "level", "engine": "choice",
                      "alpha": "positive_or_none"}),
    "SeverityGLM": (si.SeverityGLM, {"family": "gamma", "factors": ["sector"]},
                    {"family": "choice", "factors": "factors", "ci": "level", "smearing": "choice",
                     "min_level_exposure": "nonneg_or_none"}),
    "BuhlmannStraub": (si.BuhlmannStraub, {}, {"estimator": "choice", "complement": "choice",
                                                "tol": "level", "maxit": "int_positive"}),
    "Buhlmann": (si.Buhlmann, {}, {"estimator": "choice", "tol": "level", "maxit": "int_positive"}),
    "HierarchicalCredibility": (si.HierarchicalCredibility, {},
                                {"levels": "levels", "method": "choice", "tol": "level",
                                 "maxit": "int_positive"}),
    "HachemeisterRegression": (si.HachemeisterRegression, {},
                               {"intercept": "choice", "degree": "int_positive", "tol": "level",
                                "maxit": "int_positive"}),
    "ExperienceRating": (si.ExperienceRating, {"k": 2.0},
                         {"credibility": "choice", "k": "nonneg_or_none",
                          "full_credibility": "positive_or_none"}),
    "ExpectedValue": (si.ExpectedValue, {"theta": 0.1}, {"theta": "nonneg"}),
    "StandardDeviation": (si.StandardDeviation, {"alpha": 0.1}, {"alpha": "nonneg"}),
    "Variance": (si.Variance, {"alpha": 0.1}, {"alpha": "nonneg"}),
    "ExponentialUtility": (si.ExponentialUtility, {"a": 0.1}, {"a": "positive"}),
    "Esscher": (si.Esscher, {"h": 0.1}, {"h": "nonneg"}),
    "WangTransform": (si.WangTransform, {"lam": 0.1}, {"lam": "nonneg"}),
    "TVaRPrinciple": (si.TVaRPrinciple, {"p": 0.9}, {"p": "prob"}),
    "Loadings": (si.Loadings, {"commission": 0.05, "prevention": 0.15},
                 {"commission": "prob", "prevention": "prob"}),
    "BonusMalus": (si.BonusMalus, {"transitions": [[0, 1, 2], [0, 2, 2], [1, 2, 2]], "start": 1,
                                   "relativities": [0.8, 1.0, 1.3]},
                   {"transitions": "positive", "start": "class", "relativities": "rel3",
                    "nb_shape": "positive_or_none", "labels": "labels"}),
    "PreventionFund": (si.PreventionFund, {"share": 0.1, "carry_over": True},
                       {"share": "prob", "min_per_enterprise": "nonneg",
                        "carry_over": "flag_or_none", "allow_breach": "flag",
                        "regime": "regime", "catalog": "flag"}),
    "ResponseCurve": (si.ResponseCurve, {"r_max": 0.5, "k": 100.0},
                      {"r_max": "prob", "k": "positive"}),
    "ResponseModel": (si.ResponseModel, {"catalog": "shipped default", "sector": ["mining", "construction"],
                                         "headcount": [10, 20], "hazard_share": [0.3, 0.4]},
                      {"catalog": "choice", "sector": "choice", "headcount": "positive_vector",
                       "hazard_share": "shares"}),
}
CASES = sorted((label, param) for label, (_, _, kinds) in CONSTRUCTORS.items() for param in kinds)


def _build(factory, kwargs):
    if factory is si.ResponseModel and kwargs.get("catalog") == "shipped default":
        kwargs = {**kwargs, "catalog": _catalog()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(**kwargs)


def _refused(value, kind: str) -> bool:
    """The few values a kind's strategy may draw that are valid after all."""
    return not (kind == "choice" and value in ("nan",))


@pytest.mark.parametrize("label", sorted(CONSTRUCTORS))
def test_valid_calls_are_accepted(label):
    factory, kwargs, _ = CONSTRUCTORS[label]
    _build(factory, kwargs)  # the baseline of every fault below must itself be valid


@pytest.mark.parametrize("case", CASES, ids=[f"{a}.{b}" for a, b in CASES])
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_one_bad_parameter_names_itself(case, data):
    label, param = case
    factory, kwargs, kinds = CONSTRUCTORS[label]
    value = data.draw(BAD[kinds[param]], label=f"{label}.{param}")
    if not _refused(value, kinds[param]):
        return
    with pytest.raises(SafeinsError) as info:
        _build(factory, {**kwargs, param: value})
    assert param in str(info.value), f"{label}({param}={value!r}): {info.value}"


# --- quantile levels ----------------------------------------------------------------------------
def _quantile_entry_points():
    agg = si.Aggregate(si.Poisson(2.0), si.Exponential(1.0), method="panjer", step=0.05, n=2**10)
    emp = si.Empirical([1.0, 2.0, 5.0])
    cov = si.Coverage(deductible=0.5, limit=3.0).severity(si.Exponential(1.0))
    mix = si.Mixture([si.Exponential(1.0), si.Gamma(2.0, 1.0)], [0.4, 0.6])
    spl = si.Spliced(si.Exponential(1.0), si.Pareto(3.0, 2.0), threshold=2.0)
    return {
        "Poisson.ppf": si.Poisson(2.0).ppf,
        "NegativeBinomial.ppf": si.NegativeBinomial(2.0, 0.4).ppf,
        "ZeroModified.ppf": si.ZeroModified(si.Poisson(2.0), 0.3).ppf,
        "LogNormal.ppf": si.LogNormal(1.0, 1.0).ppf,
        "LogNormal.isf": si.LogNormal(1.0, 1.0).isf,
        "Pareto.ppf": si.Pareto(2.0, 1.0).ppf,
        "Empirical.ppf": emp.ppf,
        "Mixture.ppf": mix.ppf,
        "Spliced.ppf": spl.ppf,
        "Spliced.isf": spl.isf,
        "CoveredSeverity.ppf": cov.ppf,
        "Aggregate.ppf": agg.ppf,
        "Aggregate.value_at_risk": agg.value_at_risk,
        "Aggregate.tvar": agg.tvar,
    }


ENTRY = _quantile_entry_points()


@FAST
@given(name=st.sampled_from(sorted(ENTRY)),
       level=st.one_of(NAN, NEG, ABOVE_ONE, INF, st.sampled_from([99.0, 1.01, -1e-12])),
       as_list=st.booleans())
def test_quantile_levels_outside_0_1_raise(name, level, as_list):
    arg = [0.5, level] if as_list else level
    with pytest.raises(SafeinsError) as info:
        ENTRY[name](arg)
    assert "q" in str(info.value) or "p" in str(info.value)


@pytest.mark.parametrize("name", ["Aggregate.value_at_risk", "Aggregate.tvar"])
@pytest.mark.parametrize("level", [0.0, 1.0])
def test_risk_measures_need_an_open_level(name, level):
    with pytest.raises(SafeinsError, match="p"):
        ENTRY[name](level)


# --- tables ---------------------------------------------------------------------------------------
def _portfolio_frame():
    return si.datasets.example_portfolio_frame()


def _inject(frame: pd.DataFrame, fault: str, column: str, row: int) -> pd.DataFrame:
    df = frame.copy()
    if fault == "missing column":
        return df.drop(columns=[column])
    df[column] = df[column].astype(object)
    label = df.index[row]
    df.loc[label, column] = {"NaN": math.nan, "negative": -5, "text": "many"}[fault]
    return df


@FAST
@given(column=st.sampled_from(["sector", "headcount", "contract_value", "vessels"]),
       fault=st.sampled_from(["missing column", "NaN", "negative", "text"]),
       row=st.integers(0, 2))
def test_portfolio_with_one_fault(column, fault, row):
    if column == "sector" and fault == "negative":
        fault = "text"  # a sector code is text: an unknown one is the fault
    frame = _portfolio_frame()
    if column in RATED_ON:
        # contract value and vessels are required only where the sector is rated on them
        frame = frame.assign(sector=RATED_ON[column])
    df = _inject(frame, fault, column, row)
    with pytest.raises(SafeinsError) as info:
        si.Portfolio(df)
    assert column in str(info.value)


RATED_ON = {"contract_value": "construction", "vessels": "fishing"}


def test_a_base_other_sectors_need_may_be_absent():
    # no sector is rated on payroll or revenue by default (manufacturing and trade are rated per
    # worker): both columns are optional
    frame = _portfolio_frame().drop(columns=["payroll", "revenue"])
    assert len(si.Portfolio(frame)) == 3


def test_portfolio_duplicate_enterprise_is_refused():
    df = _portfolio_frame()
    df = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(SafeinsError, match="enterprise"):
        si.Portfolio(df)


@FAST
@given(column=st.sampled_from(["year", "employee_deaths", "direct_loss", "enterprise_id"]),
       fault=st.sampled_from(["missing column", "NaN", "negative", "text"]),
       row=st.integers(0, 1))
def test_accident_history_with_one_fault(column, fault, row):
    portfolio = si.Portfolio(_portfolio_frame())
    df = _inject(si.datasets.example_accident_frame(), fault, column, row)
    with pytest.raises(SafeinsError) as info:
        si.AccidentHistory(df, portfolio)
    assert column in str(info.value)


def test_accident_history_duplicate_accident_is_refused():
    df = si.datasets.example_accident_frame()
    df = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(SafeinsError, match="accident"):
        si.AccidentHistory(df, si.Portfolio(_portfolio_frame()))


# --- fitting data ---------------------------------------------------------------------------------
LOSSES = si.LogNormal(8.0, 1.0).rvs(40, seed=4)


@FAST
@given(fault=st.sampled_from(["NaN", "negative", "zero", "text", "empty", "inf"]),
       family=st.sampled_from(["exponential", "gamma", "lognormal", "pareto"]),
       row=st.integers(0, 39))
def test_fit_severity_with_one_bad_loss(fault, family, row):
    x = LOSSES.astype(object).copy()
    if fault == "empty":
        x = np.array([])
    else:
        x[row] = {"NaN": math.nan, "negative": -3.0, "zero": 0.0, "text": "abc",
                  "inf": math.inf}[fault]
    with pytest.raises(SafeinsError, match="data"):
        si.fit_severity(x, family)


COUNTS = si.Poisson(1.5).rvs(60, seed=5)


@FAST
@given(fault=st.sampled_from(["NaN", "negative", "fraction", "text", "empty"]),
       family=st.sampled_from(["poisson", "nbinom", "geometric"]),
       row=st.integers(0, 59))
def test_fit_frequency_with_one_bad_count(fault, family, row):
    c = COUNTS.astype(object).copy()
    if fault == "empty":
        c = np.array([])
    else:
        c[row] = {"NaN": math.nan, "negative": -1, "fraction": 1.5, "text": "x"}[fault]
    with pytest.raises(SafeinsError, match="counts"):
        si.fit_frequency(c, family)


def _cost_frame():
    rng = np.random.default_rng(6)
    df = pd.DataFrame({"sector": rng.choice(["mining", "construction"], 80)})
    df["cost"] = rng.gamma(2.0, 5e4, 80)
    return df


@FAST
@given(fault=st.sampled_from(["missing column", "NaN", "negative", "text"]), row=st.integers(0, 79))
def test_severity_glm_with_one_bad_cost(fault, row):
    df = _inject(_cost_frame(), fault, "cost", row)
    with pytest.raises(SafeinsError, match="cost"):
        si.SeverityGLM("gamma", factors=["sector"]).fit(df, amounts="cost")


def _credibility_frame():
    rng = np.random.default_rng(7)
    g = np.repeat(["a", "b", "c"], 4)
    return pd.DataFrame({"group": g, "year": np.tile([1, 2, 3, 4], 3),
                         "ratio": rng.gamma(5.0, 0.1, 12), "weight": rng.uniform(1, 3, 12)})


@FAST
@given(column=st.sampled_from(["ratio", "weight", "group"]),
       fault=st.sampled_from(["missing column", "NaN", "negative", "text", "duplicate"]),
       row=st.integers(0, 11))
def test_credibility_data_with_one_fault(column, fault, row):
    df = _credibility_frame()
    if fault == "duplicate":
        df = pd.concat([df, df.iloc[[row]]], ignore_index=True)
        column = "year"
    elif column == "group" and fault in ("negative", "text"):
        fault = "NaN"  # any label is a valid group name; a missing one is not
    if fault != "duplicate":
        df = _inject(df, fault, column, row)
    if column == "ratio" and fault == "negative":
        return  # a negative loss ratio is a legitimate observation (a refund year)
    with pytest.raises(SafeinsError) as info:
        si.BuhlmannStraub().fit(df, group="group", value="ratio", weight="weight", period="year")
    assert column in str(info.value)


@pytest.mark.parametrize("level", ["0.9", math.nan, 0.0, 1.0, 1.5, True])
def test_plan_evaluation_level_is_checked(level):
    pf = pd.DataFrame({"sector": ["mining", "construction"], "headcount": [300, 80]},
                      index=["E1", "E2"])
    lam = pd.Series([0.3, 0.05], index=pf.index)
    fund = si.PreventionFund(share=0.15)
    plan = fund.allocate(pf, lam, fund.budget(110_000.0), loss_per_accident=4e5)
    with pytest.raises(SafeinsError, match="level"):
        plan.evaluate(n_draws=10, seed=1, level=level)
