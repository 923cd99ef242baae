"""Pricing a portfolio: base premium, floating inputs, off-balance, explain, bad input, invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import safeins as si
from safeins import regimes
from safeins.errors import ValidationError
from safeins.rating.floating import FloatingRule
from safeins.rating.tariff import Tariff

BASES = {s.code: s.exposure_base for s in si.sectors.all_sectors()}
PER_UNIT = {"headcount": 100.0, "payroll": 0.002, "revenue": 0.0002, "contract_value": 0.001,
            "vehicles": 300.0, "vessels": 800.0}
SIZE = {"large": 0.8, "medium": 0.9, "small": 1.0, "micro": 1.2}


def make_tariff(min_premium=500.0, sectors=None, **kw):
    rows = [dict(sector=s, size_band=b, base=BASES[s], rate=PER_UNIT[BASES[s]] * m)
            for s in (sectors or si.sectors.codes()) for b, m in SIZE.items()]
    return Tariff(name="test", rates=rows, min_premium=min_premium,
                  loadings={"commission": 0.05, "prevention": 0.15}, regime="national-2025", **kw)


@pytest.fixture(scope="module")
def data():
    return si.datasets.synthetic_portfolio(n_enterprises=1200, years=(2021, 2022, 2023), seed=21)


@pytest.fixture(scope="module")
def tariff():
    return make_tariff()


@pytest.fixture(scope="module")
def rule():
    return FloatingRule.load("illustrative")


@pytest.fixture(scope="module")
def loss_ratio(data):
    rng = np.random.default_rng(5)
    ids = data.portfolio.frame.index[::3]
    return pd.Series(rng.gamma(2.0, 0.4, len(ids)), index=ids, name="loss_ratio")


@pytest.fixture(scope="module")
def quotes(data, tariff, rule, loss_ratio):
    return tariff.price(data.portfolio, accidents=data.accidents, hazards=data.hazards, floating=rule,
                        experience=loss_ratio)


def test_base_premium_is_rate_times_exposure_minimum_on_final(quotes, data):
    q = quotes.to_frame()
    pf = data.portfolio.frame
    expected_rate = [PER_UNIT[BASES[s]] * SIZE[b] for s, b in zip(pf["sector"], pf["size_band"], strict=True)]
    np.testing.assert_allclose(q["base_rate"], expected_rate, rtol=1e-15)
    raw = q["base_rate"] * data.portfolio.exposure()
    np.testing.assert_allclose(q["base_premium"], raw, rtol=1e-15)
    # the minimum premium applies to the FINAL premium, after floating and the off-balance
    floated = raw * q["factor"] * quotes.off_balance
    np.testing.assert_allclose(q["final_premium"], np.maximum(floated, 500.0), rtol=1e-12)
    assert (q["min_applied"] == (floated < 500.0)).all() and q["min_applied"].any()
    assert q["final_premium"].min() == pytest.approx(500.0)


def test_off_balance_is_revenue_neutral(quotes):
    q = quotes.to_frame()
    # neutral: the total equals what the book pays without floating (minimum included)
    unfloated = np.maximum(q["base_premium"], q["min_premium"]).sum()
    assert q["final_premium"].sum() == pytest.approx(unfloated, rel=1e-12)
    floated = q["base_premium"] * q["factor"] * quotes.off_balance
    np.testing.assert_allclose(q["final_premium"], np.maximum(floated, q["min_premium"]), rtol=1e-14)
    assert ((q["factor"] >= 0.6) & (q["factor"] <= 1.6)).all()


def test_off_balance_target_and_none(data, tariff):
    q = tariff.price(data.portfolio, accidents=data.accidents, floating="fuyang", off_balance=1.0e8)
    assert q.total() == pytest.approx(1.0e8, rel=1e-12)
    q0 = tariff.price(data.portfolio, accidents=data.accidents, floating="fuyang", off_balance=None)
    assert q0.off_balance == 1.0
    f = q0.to_frame()
    np.testing.assert_allclose(f["final_premium"], np.maximum(f["base_premium"] * f["factor"], 500.0))


def test_prior_year_record_matches_exposure_table(quotes, data):
    """The floating inputs are built independently of exposure_table's prior-year columns."""
    et = si.exposure_table(data.portfolio, data.accidents, data.hazards, years=[2023, 2024])
    prior = et[et["year"] == 2024].set_index("enterprise_id")
    q = quotes.to_frame()
    assert quotes.year == 2024
    assert (q["in_accident_grade"] == prior["prior_worst_grade"].astype(str).reindex(q.index)).all()
    assert (q["in_accident_count"] == prior["prior_accidents"].reindex(q.index)).all()
    hz = data.hazards.frame.query("year == 2023").set_index("enterprise_id")
    assert (q["in_unrectified"] == hz["unrectified"].reindex(q.index)).all()


def test_hazard_rate_ratio_against_sector_norm(quotes, data):
    pf = data.portfolio.frame
    hz = data.hazards.frame.query("year == 2023").set_index("enterprise_id").reindex(pf.index)
    rate = hz["hazards_found"] / (pf["headcount"] / 100)
    norm = (hz["hazards_found"].groupby(pf["sector"]).sum()
            / (pf["headcount"].groupby(pf["sector"]).sum() / 100))
    expected = rate / pf["sector"].map(norm).astype(float)
    np.testing.assert_allclose(quotes.to_frame()["in_hazard_rate_ratio"], expected, rtol=1e-12)


def test_vectorised_equals_naive_loop(quotes, tariff, rule, data):
    q = quotes.to_frame()
    pf = data.portfolio.frame
    exp = data.portfolio.exposure()
    ids = q.index[::37]
    for i in ids:
        rate = tariff.rate_of(sector=pf.at[i, "sector"], size_band=pf.at[i, "size_band"],
                              region=pf.at[i, "region"], exposure=exp[i])
        base = rate * exp[i]
        inputs = {t.input: q.at[i, f"in_{t.input}"] for t in rule.terms}
        inputs = {k: (v.item() if hasattr(v, "item") else v) for k, v in inputs.items()}
        f = rule.factor(**inputs).factor
        assert q.at[i, "final_premium"] == pytest.approx(max(base * f * quotes.off_balance, 500.0),
                                                         rel=1e-12)


def test_explain_reads_line_by_line(quotes):
    eid = quotes.to_frame().index[7]
    text = quotes.explain(eid)
    r = quotes.to_frame().loc[eid]
    assert eid in text and "base rate" in text and "off-balance" in text
    assert f"{r['final_premium']:,.2f}" in text and f"{r['base_premium']:,.2f}" in text
    for term in quotes.rule.terms:
        assert term.name in text
    with pytest.raises(ValidationError):
        quotes.explain("nobody")


def test_summary_plot_and_regime_facts(quotes):
    s = quotes.summary()
    assert s.loc["total", "final_premium"] == pytest.approx(quotes.total())
    assert s.drop(index="total")["enterprises"].sum() == len(quotes)
    assert quotes.plot() is not None
    assert regimes.get("national-2025").check(quotes).ok
    assert "<table" in quotes._repr_html_()


def test_metro_relativity_and_options(data):
    t = Tariff.load("hunan-construction")
    pf = data.portfolio.frame
    cons = pf[pf["sector"] == "construction"].copy()
    cons["project_type"] = np.where(np.arange(len(cons)) % 2 == 0, "metro", "standard")
    q = t.price(si.Portfolio(cons.reset_index()),
                options={"per_person": 400_000, "aggregate": 4_000_000, "risk_class": "general"})
    f = q.to_frame()
    assert set(f["rel_project_type"]) == {1.0, 1.5}
    np.testing.assert_allclose(f["base_premium"], f["base_rate"] * f["exposure"] * f["rel_project_type"])
    # without the options the manual cannot choose a column: one error asks for them
    with pytest.raises(ValidationError, match="state risk_class"):
        t.price(si.Portfolio(cons.reset_index()))


# --- bad input ---------------------------------------------------------------------------------------
def test_sector_missing_from_tariff_is_named(data):
    t = make_tariff(sectors=["construction", "transport"])
    with pytest.raises(ValidationError) as err:
        t.price(data.portfolio)
    text = str(err.value)
    assert "manufacturing" in text and "not in tariff 'test'" in text
    assert "fireworks" in text


def test_rule_inputs_missing_are_named(data, tariff, rule):
    with pytest.raises(ValidationError) as err:
        tariff.price(data.portfolio, floating=rule, options={"colour": "red"})
    text = str(err.value)
    for needle in ("give accidents=", "give hazards=", "loss_ratio", "colour"):
        assert needle in text, needle


def test_experience_of_unknown_enterprise(data, tariff):
    bad = pd.Series([1.0], index=["ghost"], name="loss_ratio")
    with pytest.raises(ValidationError, match="ghost"):
        tariff.price(data.portfolio, floating="illustrative", accidents=data.accidents,
                     hazards=data.hazards, experience=bad)


def test_factor_level_missing_from_rule(data, tariff):
    rule = FloatingRule(name="partial", floor=0.5, cap=2.0, terms=[
        {"name": "credit", "input": "credit_grade", "kind": "table", "levels": {"A": -0.1, "B": 0.0}}])
    with pytest.raises(ValidationError) as err:
        tariff.price(data.portfolio, floating=rule)
    text = str(err.value)
    assert "'C'" in text and "'D'" in text and "allowed: A, B" in text


def test_experience_rating_object_feeds_experience_mod(data, tariff):
    from safeins.rating.experience import ExperienceRating

    ids = data.portfolio.frame.index
    er = ExperienceRating(k=100.0, cap=(0.5, 2.0))
    er.modification(actual=np.linspace(0, 200, len(ids)), expected=np.full(len(ids), 100.0), index=ids)
    rule = FloatingRule(name="exp", floor=0.1, cap=10.0, terms=[
        {"name": "experience", "input": "experience_mod", "kind": "value"}])
    q = tariff.price(data.portfolio, floating=rule, experience=er, off_balance=None)
    np.testing.assert_allclose(q.to_frame()["factor"], er.table_["modification"].to_numpy())


# --- invariants ----------------------------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(st.integers(0, 199), st.sampled_from(["credit_grade", "blacklisted", "standardization"]),
       st.sampled_from(["neutral", None, 5.0e6]))
def test_worse_grade_never_cheaper(i, which, off_balance):
    d = _SMALL
    frame = d.portfolio.frame.copy()
    eid = frame.index[i]
    order = {"credit_grade": list("ABCD"), "standardization": ["1", "2", "3", "none"]}
    if which == "blacklisted":
        if frame.at[eid, which]:
            return
        worse = True
    else:
        levels = order[which]
        k = levels.index(str(frame.at[eid, which]))
        if k == len(levels) - 1:
            return
        worse = levels[k + 1]
    kw = dict(accidents=d.accidents, hazards=d.hazards, floating=_RULE, experience=_LR,
              off_balance=off_balance)
    before = _TARIFF.price(d.portfolio, **kw)
    frame[which] = frame[which].astype(object)
    frame.at[eid, which] = worse
    after = _TARIFF.price(si.Portfolio(frame), **kw)
    assert after.to_frame().at[eid, "final_premium"] >= before.to_frame().at[eid, "final_premium"] - 1e-9
    if off_balance is not None:
        f = after.to_frame()
        target = 5.0e6 if off_balance == 5.0e6 else np.maximum(f["base_premium"], f["min_premium"]).sum()
        assert after.total() == pytest.approx(target, rel=1e-12)


_SMALL = si.datasets.synthetic_portfolio(n_enterprises=200, years=(2022, 2023), seed=8)
_TARIFF = make_tariff()
_RULE = FloatingRule.load("illustrative")
_LR = pd.Series(0.75, index=_SMALL.portfolio.frame.index, name="loss_ratio")


def test_fast_exposure_equals_portfolio_exposure(data):
    from safeins.rating.quotes import _base_of, _exposure

    pf = data.portfolio
    np.testing.assert_array_equal(_exposure(pf.frame), pf.exposure().to_numpy())
    assert list(_base_of(pf.frame["sector"]).astype(str)) == pf.exposure_base().tolist()


def test_positions_merge_join_equals_hash_lookup():
    from safeins.rating.quotes import _positions

    idx = pd.Index([f"E{i:04d}" for i in range(500)], dtype=object)
    rng = np.random.default_rng(1)
    sorted_ids = np.sort(rng.choice(np.append(idx.to_numpy(), ["E9999", "A0"]), 300))
    shuffled = rng.permutation(sorted_ids)
    for ids in (sorted_ids, shuffled, idx.to_numpy()):
        np.testing.assert_array_equal(_positions(idx, ids), idx.get_indexer(pd.Index(ids, dtype=object)))
    unsorted_index = pd.Index(rng.permutation(idx.to_numpy()), dtype=object)
    np.testing.assert_array_equal(_positions(unsorted_index, sorted_ids),
                                  unsorted_index.get_indexer(pd.Index(sorted_ids, dtype=object)))


def test_options_fill_only_unstated_values(data):
    t = Tariff.load("shandong-construction-2018")
    pf = data.portfolio.frame
    cons = pf[pf["sector"] == "construction"].head(6).copy()
    cons["per_person"] = [500_000.0, np.nan, 500_000.0, np.nan, 500_000.0, 400_000.0]
    with pytest.raises(ValidationError) as err:  # 400,000 is not a Shandong option
        t.price(si.Portfolio(cons.reset_index()), options={"per_person": 500_000})
    assert str(cons.index[5]) in str(err.value) and str(cons.index[1]) not in str(err.value)
    cons.iloc[5, cons.columns.get_loc("per_person")] = np.nan
    q = t.price(si.Portfolio(cons.reset_index()), options={"per_person": 500_000})
    assert (q.to_frame()["per_person"] == 500_000).all()


# --- issue 11 part 4: missing history, bad exposure, implausible rates ---------------------------

def test_prior_year_missing_from_history_raises(data, tariff):
    with pytest.raises(ValidationError, match="prior year 2025 is not in the accident") as e:
        tariff.price(data.portfolio, accidents=data.accidents, floating="fuyang", year=2026)
    assert "assume_claim_free=True" in str(e.value)


def test_assume_claim_free_proceeds_and_reports(data, tariff):
    q = tariff.price(data.portfolio, accidents=data.accidents, floating="fuyang", year=2026,
                     assume_claim_free=True)
    assert q.assumed == len(data.portfolio)
    assert (q.to_frame()["in_accident_grade"].astype(str) == "none").all()
    assert "priced as accident-free" in q.explain(q.to_frame().index[0])
    ok = tariff.price(data.portfolio, accidents=data.accidents, floating="fuyang")
    assert ok.assumed == 0


def test_missing_hazard_year_raises(data, tariff):
    with pytest.raises(ValidationError, match="not in the hazard history"):
        tariff.price(data.portfolio, accidents=data.accidents, hazards=data.hazards,
                     floating="illustrative", year=2026)


def test_zero_negative_or_nan_exposure_refused_with_the_row(data, tariff):
    frame = data.portfolio.frame.copy()
    heads = frame.index[frame["sector"].map(BASES).eq("headcount").to_numpy()]
    frame = frame.astype({"headcount": float})
    frame.loc[heads[0], "headcount"] = 0.0
    try:
        pf = si.Portfolio(frame)
    except ValidationError as err:  # the portfolio itself refuses it: also one clear error
        assert heads[0] in str(err)
        return
    with pytest.raises(ValidationError, match="own rating base") as e:
        tariff.price(pf)
    assert heads[0] in str(e.value)


def test_per_mille_manual_read_as_fractions_refused(data):
    wrong = make_tariff(min_premium=0.0)
    rows = [r.model_copy(update={"rate": r.rate * 1000}) if r.base == "contract_value" else r
            for r in wrong.rates]
    bad = wrong.model_copy(update={"rates": tuple(rows)})
    with pytest.raises(ValidationError, match="implausible") as e:
        bad.price(data.portfolio)
    assert "max_premium_share" in str(e.value)
    q = bad.price(data.portfolio, max_premium_share=2.0)  # explicitly allowed
    assert q.total() > 0


def test_zero_rate_in_a_mandatory_sector_is_an_error(data):
    t = make_tariff(min_premium=0.0)
    rows = [r.model_copy(update={"rate": 0.0}) if r.sector == "construction" else r for r in t.rates]
    with pytest.raises(ValidationError, match="mandatory"):
        t.model_copy(update={"rates": tuple(rows)}).price(data.portfolio)


def test_minimum_premium_binds_after_floating_and_off_balance(data):
    t = make_tariff(min_premium=500.0)
    q = t.price(data.portfolio, accidents=data.accidents, floating="fuyang").to_frame()
    assert q["final_premium"].min() == pytest.approx(500.0)  # never 460.60 after floating
    assert q["final_premium"].sum() == pytest.approx(np.maximum(q["base_premium"], 500.0).sum())


def test_schedule_steps_stay_exact_under_revenue_neutrality(data, tariff):
    """Neutrality rescales the base (its own reported factor); -10 % stays -10 %."""
    q = tariff.price(data.portfolio, accidents=data.accidents, floating="fuyang")
    f = q.to_frame()
    none = f["in_accident_grade"].astype(str) == "none"
    assert (f.loc[none, "f_accident_grade"] == 0.9).all()
    assert q.off_balance != 1.0
    eid = f.index[none.to_numpy()][0]
    assert "-10.0% -> 0.9" in q.explain(eid) and "off-balance   x" in q.explain(eid)


def test_reportable_count_reads_the_reportable_column(data, tariff):
    rule = FloatingRule(name="rep", floor=0.5, cap=2.0, terms=[
        {"name": "reportable", "input": "accident_count", "kind": "bands", "count": "reportable",
         "thresholds": [0, 1], "adjustments": [0.0, 0.2]}])
    acc = data.accidents
    if "reportable" not in acc.frame.columns:
        with pytest.raises(ValidationError, match="boolean column 'reportable'"):
            tariff.price(data.portfolio, accidents=acc, floating=rule)
        frame = acc.frame.reset_index().assign(reportable=lambda d: d["employee_deaths"] > 0)
        acc = si.AccidentHistory(frame, portfolio=data.portfolio, victims=None)
    q = tariff.price(data.portfolio, accidents=acc, floating=rule).to_frame()
    prior = acc.frame[(acc.frame["year"] == 2023) & acc.frame["reportable"]]
    counts = prior.groupby("enterprise_id").size().reindex(q.index, fill_value=0)
    assert (q["in_accident_count@reportable"] == counts).all()
    assert (q["f_reportable"] == np.where(counts >= 1, 1.2, 1.0)).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.just(0.0), st.floats(0.01, 1e5)),  # yuan: a fen or more
                          st.one_of(st.just(0.0), st.floats(0.01, 2e3))), min_size=1, max_size=40),
       st.floats(1.01, 5.0))
def test_off_balance_meets_the_target_with_minimum_on_the_final_premium(rows, scale):
    from safeins.rating.quotes import _off_balance

    floated = np.array([r[0] for r in rows])
    minimum = np.array([r[1] for r in rows])
    if floated.sum() <= 0:
        return
    goal = scale * max(minimum.sum(), 1.0)
    c = _off_balance(floated, minimum, goal)
    assert c > 0
    assert np.maximum(floated * c, minimum).sum() == pytest.approx(goal, rel=1e-9)


def test_duplicated_enterprise_years_refused_with_the_rows(data):
    from safeins.rating.history import with_prior_year

    et = si.exposure_table(data.portfolio, data.accidents, data.hazards)
    dup = pd.concat([et, et.iloc[[5]]])
    with pytest.raises(ValidationError, match="duplicated enterprise-year") as e:
        with_prior_year(dup)
    assert str(et.index[5]) in str(e.value)
    fitted = with_prior_year(et)
    assert set(fitted["year"]) == set(et["year"]) - {et["year"].min()}
