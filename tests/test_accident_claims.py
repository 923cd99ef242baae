"""Data in without friction: the accident model from claim amounts alone, and frequency models on
per-enterprise accident counts (no per-accident table)."""

import numpy as np
import pandas as pd
import pytest

import safeins as si
from safeins.errors import ValidationError
from safeins.rating.loadings import Loadings

COV = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=20)


def _claims(seed=3):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"sector": ["construction"] * 2000 + ["coal_mining"] * 40 + ["non_coal_mining"] * 5,
                         "amount": np.r_[rng.lognormal(11.0, 0.8, 2000), rng.lognormal(12.0, 0.5, 45)]})


def test_claims_model_recovers_the_severity_and_limits_it_exactly():
    m = si.AccidentModel.from_claims(_claims(), families=("lognormal",), min_count=30)
    sev = m.severities_["construction"]
    assert sev.mu == pytest.approx(11.0, abs=0.06) and sev.sigma == pytest.approx(0.8, abs=0.04)
    loss = m.insured_loss(COV, sector="construction")
    limit = COV.per_accident_limit
    assert loss.ppf(1.0) <= limit + 1e-6
    # the lattice mean is the limited expected value E[min(X, L)] of the fitted law (closed form)
    assert loss.mean() == pytest.approx(sev.lev(limit), rel=1e-8)
    assert loss.p_limit == pytest.approx(float(sev.sf(limit)), abs=1e-4)
    # pooling: coal (40 claims) stands alone, non-coal (5) joins its parent mining, absent sectors all
    pool = m.pooling_
    assert pool.loc["coal_mining", "level"] == "sector"
    assert pool.loc["non_coal_mining", "level"] == "parent"
    assert pool.loc["non_coal_mining", "claims_used"] == 45


def test_claims_model_builds_a_tariff_from_models():
    d = si.datasets.synthetic_portfolio(n_enterprises=1500, years=(2022, 2023), seed=4)
    et = si.exposure_table(d.portfolio, d.accidents)
    freq = si.FrequencyGLM(factors=["sector"]).fit(et)
    sector_of = d.accidents.frame["enterprise_id"].map(d.portfolio.frame["sector"]).astype(str)
    # direct losses stand in for claim amounts (+1 yuan: a claim is > 0)
    paid = pd.DataFrame({"sector": sector_of, "amount": d.accidents.frame["direct_loss"].to_numpy() + 1.0})
    accm = si.AccidentModel.from_claims(paid, d.portfolio, families=("lognormal", "gamma"))
    load = Loadings(commission=0.05, prevention=0.15, expenses=0.10, profit=0.03)
    t = si.Tariff.from_models(freq, accm, coverage=COV, loadings=load, regime="national-2025")
    rates = t.to_frame().set_index("sector")["rate"]
    assert set(rates.index) == set(d.portfolio.frame["sector"].astype(str)) and (rates > 0).all()
    lam = freq.predict(pd.DataFrame({"sector": ["construction"]}), kind="rate")[0]
    one = accm.insured_loss(COV, sector="construction")
    want = load.gross(lam * one.mean(), lam * load.principle.risk_load(one))
    assert rates["construction"] == pytest.approx(float(want), rel=1e-9)


def test_claims_model_bad_input_names_rows_and_the_rows_needed():
    bad = pd.DataFrame({"sector": ["construction", "mars", "construction"], "amount": [1e5, 2e5, np.nan]})
    with pytest.raises(ValidationError) as err:
        si.AccidentModel.from_claims(bad, min_count=2)
    p = err.value.problems
    assert set(p["row"].dropna()) == {1, 2}
    with pytest.raises(ValidationError, match="at least 30 are needed"):
        si.AccidentModel.from_claims(pd.DataFrame({"sector": ["construction"] * 5, "amount": [1e5] * 5}))
    pf = si.Portfolio(si.datasets.example_portfolio_frame())
    acc = si.AccidentHistory(si.datasets.example_accident_frame(), portfolio=pf)  # A2 has no amount_paid
    with pytest.raises(ValidationError) as err:
        si.AccidentModel.from_claims(acc, pf, min_count=2)
    assert "A2" in set(err.value.problems["row"])


def test_frequency_glm_on_per_enterprise_counts_equals_the_enterprise_year_fit():
    d = si.datasets.synthetic_portfolio(n_enterprises=1200, years=(2021, 2022, 2023), seed=9)
    et = si.exposure_table(d.portfolio, d.accidents)
    per_year = si.FrequencyGLM(factors=["sector", "credit_grade"]).fit(et)
    counts = et.groupby("enterprise_id")["accidents"].sum()
    book = d.portfolio.to_frame().assign(accidents=counts.reindex(d.portfolio.frame.index).to_numpy())
    table = si.Portfolio(book).count_table(years=3)
    assert len(table) == 1200 and table["accidents"].sum() == len(d.accidents)
    pooled = si.FrequencyGLM(factors=["sector", "credit_grade"]).fit(table)
    # Poisson: the sufficient statistics are the counts and exposures summed by cell, so the MLE is
    # the same whether an enterprise's years are rows or one row
    np.testing.assert_allclose(pooled.coef_, per_year.coef_, rtol=1e-9, atol=1e-11)


def test_count_table_checks_its_columns():
    book = si.datasets.example_portfolio_frame().assign(accidents=[1, -2, 0.5], observed=[1.0, 0.0, 2.0])
    with pytest.raises(ValidationError) as err:
        si.Portfolio(book).count_table(years="observed")
    found = set(zip(err.value.problems["row"], err.value.problems["column"], strict=True))
    assert {("E2", "accidents"), ("E3", "accidents"), ("E2", "observed")} <= found
    with pytest.raises(ValidationError, match="accidents"):
        si.Portfolio(si.datasets.example_portfolio_frame()).count_table()
