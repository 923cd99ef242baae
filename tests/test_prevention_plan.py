"""Allocation strategies, plans, evaluation, comparison and bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from safeins.errors import ValidationError
from safeins.prevention import (
    STRATEGIES,
    AllocationPlan,
    ServiceCatalog,
    UnspentBudgetWarning,
    allocate,
    compare_strategies,
)

SECTORS = ["mining", "coal_mining", "hazardous_chemicals", "construction", "transport",
           "fireworks", "metal_smelting", "manufacturing"]


def make_portfolio(n, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.Index([f"E{i:04d}" for i in range(n)], name="enterprise_id")
    pf = pd.DataFrame({
        "sector": rng.choice(SECTORS, n),
        "region": rng.choice(["hangzhou", "ningbo", "wenzhou"], n),
        "headcount": rng.integers(10, 2000, n),
        "credit_grade": rng.choice(list("ABCD"), n),
        "standardization": rng.choice(["1", "2", "3", "none"], n),
        "blacklisted": rng.random(n) < 0.05,
    }, index=idx)
    lam = pd.Series(rng.gamma(2.0, 0.05, n), index=idx)
    premium = pd.Series(pf["headcount"] * rng.uniform(30, 300, n), index=idx)
    return pf, lam, premium


@pytest.fixture(scope="module")
def book():
    return make_portfolio(60, seed=1)


LOSS = {"mining": 6e5, "coal_mining": 8e5, "hazardous_chemicals": 5e5, "construction": 4.5e5,
        "transport": 3e5, "fireworks": 5e5, "metal_smelting": 4e5, "manufacturing": 3e5}


def central_objective(plan):
    F, V = plan.model.fractions(plan.x)
    return float((plan.lam0 * plan.loss * (F + V)).sum())


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_spends_exactly_the_budget_within_bounds(book, strategy):
    pf, lam, prem = book
    budget = 0.15 * prem.sum()
    plan = allocate(pf, lam, budget, strategy=strategy, premium=prem, loss_per_accident=pd.Series(LOSS),
                    min_per_enterprise=500.0, max_share=0.05)
    s = plan.spend
    assert s.sum() == pytest.approx(budget, rel=1e-10)
    assert s.min() >= 500.0 - 1e-9
    assert s.max() <= 0.05 * budget + 1e-6
    assert (plan.x >= 0).all()
    assert plan.unspent == 0.0


def test_pro_rata_strategies_are_pro_rata_above_the_minimum(book):
    pf, lam, prem = book
    loss = pf["sector"].map(LOSS).to_numpy()
    for strategy, weight in (("expected_loss", lam.to_numpy() * loss), ("premium", prem.to_numpy()),
                             ("equal", np.ones(len(pf)))):
        plan = allocate(pf, lam, 300_000.0, strategy=strategy, premium=prem,
                        loss_per_accident=pd.Series(LOSS), min_per_enterprise=1_000.0)
        s = plan.spend.to_numpy()
        free = s > 1_000.0
        assert free.sum() > len(s) // 3
        ratio = s[free] / weight[free]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
        assert np.all(weight[~free] * ratio[0] <= 1_000.0 * (1 + 1e-9))


def test_optimal_is_at_least_as_good_as_every_other_strategy(book):
    pf, lam, prem = book
    budget = 0.15 * prem.sum()
    kw = dict(premium=prem, loss_per_accident=pd.Series(LOSS), min_per_enterprise=200.0)
    best = central_objective(allocate(pf, lam, budget, strategy="optimal", **kw))
    for s in STRATEGIES:
        other = central_objective(allocate(pf, lam, budget, strategy=s, **kw))
        assert best >= other * (1 - 1e-12)
    greedy = central_objective(allocate(pf, lam, budget, strategy="greedy", greedy_step=100.0, **kw))
    assert greedy == pytest.approx(best, rel=2e-3)


@settings(max_examples=25)
@given(st.integers(1, 40), st.integers(0, 10_000), st.floats(0.0, 3.0),
       st.sampled_from(STRATEGIES), st.floats(0.05, 1.0))
def test_bounds_and_budget_hold_for_random_books(n, seed, min_frac, strategy, max_share):
    pf, lam, prem = make_portfolio(n, seed)
    budget = float(0.1 * prem.sum())
    lo = min_frac * budget / n / 3.0
    assume(lo <= max_share * budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnspentBudgetWarning)
        plan = allocate(pf, lam, budget, strategy=strategy, premium=prem, min_per_enterprise=lo,
                        max_share=max_share)
    s = plan.spend.to_numpy()
    cap = max_share * budget
    assert np.all(s >= lo - 1e-9 * budget) and np.all(s <= cap * (1 + 1e-12) + 1e-9)
    if n * cap >= budget * (1 + 1e-9):
        assert s.sum() == pytest.approx(budget, rel=1e-9)
        assert plan.unspent == 0.0
    else:
        assert plan.unspent == pytest.approx(budget - n * cap, rel=1e-9, abs=1e-6)


def test_max_share_below_the_minimum_is_refused():
    pf, lam, _ = make_portfolio(4, 3)
    with pytest.raises(ValidationError, match="max_share × budget"):
        allocate(pf, lam, 10_000.0, min_per_enterprise=2_000.0, max_share=0.1)


def test_money_no_one_can_take_is_reported_unspent():
    pf, lam, _ = make_portfolio(5, 2)
    with pytest.warns(UnspentBudgetWarning, match="left unspent"):
        plan = allocate(pf, lam, 10_000.0, max_per_enterprise=1_000.0)
    assert plan.unspent == pytest.approx(5_000.0)
    assert "unspent" in plan.summary()
    np.testing.assert_allclose(plan.spend, 1_000.0)


def test_budgets_by_region_are_spent_within_each_region(book):
    pf, lam, _ = book
    budget = pd.Series({"hangzhou": 30_000.0, "ningbo": 20_000.0, "wenzhou": 5_000.0}, name="budget")
    budget.index.name = "region"
    plan = allocate(pf, lam, budget, loss_per_accident=4e5)
    spent = plan.spend.groupby(pf["region"]).sum()
    assert spent.to_dict() == pytest.approx(budget.to_dict(), rel=1e-10)
    assert plan.spent_by_group().to_dict() == pytest.approx(budget.to_dict(), rel=1e-10)
    with pytest.raises(ValidationError, match="no budget for these values of region"):
        allocate(pf, lam, budget.drop("wenzhou"))


def test_min_per_enterprise_beyond_a_group_budget_names_the_group(book):
    pf, lam, _ = book
    budget = pd.Series({"hangzhou": 1e6, "ningbo": 1e6, "wenzhou": 100.0}).rename_axis("region")
    with pytest.raises(ValidationError, match="wenzhou"):
        allocate(pf, lam, budget, min_per_enterprise=50.0)


def test_objective_accidents_leaves_severity_services_unfunded(book):
    pf, lam, _ = book
    plan = allocate(pf, lam, 200_000.0, objective="accidents")
    assert plan.to_frame()["spend_drills"].sum() == 0.0
    plan = allocate(pf, lam, 200_000.0, loss_per_accident=4e5)
    assert plan.to_frame()["spend_drills"].sum() > 0.0


def test_standardised_enterprises_get_no_standardisation(book):
    pf, lam, _ = book
    plan = allocate(pf, lam * 50, 5_000_000.0, loss_per_accident=4e5)
    frame = plan.to_frame()
    assert frame.loc[pf["standardization"] == "1", "spend_standardisation"].sum() == 0.0
    assert frame.loc[pf["standardization"] != "1", "spend_standardisation"].sum() > 0.0


def test_evaluation_central_values_match_a_hand_computation():
    pf = pd.DataFrame({"sector": ["construction"], "headcount": [100]}, index=["E1"])
    premium = pd.Series([50_000.0], index=pf.index)
    plan = allocate(pf, pd.Series([0.2], index=pf.index), 6000.0, services=["training"],
                    loss_per_accident=4e5, deaths_per_accident=1.3, premium=premium)
    ev = plan.evaluate(n_draws=400, seed=2)
    red = 0.06 * (1 - np.exp(-1.0))            # r .06, k = 2 × 3000
    t = ev.to_frame()
    assert t.loc["accidents_avoided", "central"] == pytest.approx(0.2 * red, rel=1e-12)
    assert t.loc["deaths_avoided", "central"] == pytest.approx(0.2 * 1.3 * red, rel=1e-12)
    assert t.loc["losses_avoided", "central"] == pytest.approx(0.2 * 4e5 * red, rel=1e-12)
    assert t.loc["benefit_cost", "central"] == pytest.approx(0.2 * 4e5 * red / 6000.0, rel=1e-12)
    assert t.loc["loss_ratio_before", "central"] == pytest.approx(0.2 * 4e5 / 5e4)
    assert t.loc["loss_ratio_after", "central"] == pytest.approx(0.2 * 4e5 * (1 - red) / 5e4)
    lo, hi = ev.interval("losses_avoided")
    assert lo < t.loc["losses_avoided", "mean"] < hi
    assert plan.step().iloc[0] == pytest.approx(0.2 * (1 - red), rel=1e-12)


def test_same_seed_same_numbers(book):
    pf, lam, _ = book
    plan = allocate(pf, lam, 100_000.0, loss_per_accident=4e5)
    a = plan.evaluate(n_draws=50, seed=7).draws
    b = plan.evaluate(n_draws=50, seed=7).draws
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(plan.evaluate(n_draws=50, seed=8).draws)


def test_breakdowns_by_sector_region_and_credit_grade_add_up(book):
    pf, lam, _ = book
    plan = allocate(pf, lam, 100_000.0, loss_per_accident=4e5, deaths_per_accident=1.2)
    ev = plan.evaluate(n_draws=20, seed=1)
    for col in ("sector", "region", "credit_grade"):
        t = ev.by(col)
        assert t["spend"].sum() == pytest.approx(100_000.0)
        assert t["losses_avoided"].sum() == pytest.approx(ev.to_frame().loc["losses_avoided", "central"])
        assert plan.spend_by(col)["spend"].sum() == pytest.approx(100_000.0)


def test_step_with_lag_and_severity_factor(book):
    pf, lam, _ = book
    cat = ServiceCatalog.load("default")
    d = cat.to_dict()
    d["services"]["standardisation"]["lag_years"] = 1
    lagged = ServiceCatalog.from_dict(d)
    plan = allocate(pf, lam * 50, 2_000_000.0, services=lagged, loss_per_accident=4e5)
    assert plan.to_frame()["spend_standardisation"].sum() > 0
    now, later = plan.step(), plan.step(lam, offset=1)
    F_all, _ = plan.model.fractions(plan.x)
    np.testing.assert_allclose(now.to_numpy() / plan.lam0 + later.to_numpy() / lam.to_numpy() - 1,
                               1 - F_all, rtol=1e-12)
    with pytest.raises(ValidationError, match="required"):
        plan.step(offset=1)
    sev = plan.severity_factor()
    assert ((sev > 0) & (sev <= 1)).all() and (sev < 1).any()
    drawn = plan.step(seed=3)
    assert not np.allclose(drawn, now) and (drawn <= plan.lam0 + 1e-15).all()


def test_compare_strategies_table(book):
    pf, lam, prem = book
    cmp = compare_strategies(pf, lam, 100_000.0, premium=prem, loss_per_accident=pd.Series(LOSS),
                             n_draws=50)
    t = cmp.to_frame()
    assert list(t.index) == list(STRATEGIES)
    assert t.loc["optimal", "vs_optimal"] == 1.0
    assert (t["vs_optimal"] <= 1 + 1e-12).all()
    assert np.allclose(t["spent"], 100_000.0)
    assert (t["losses_avoided_lower"] <= t["losses_avoided_upper"]).all()
    assert "optimal" in cmp._repr_html_()


def test_risk_tiers_follow_the_thresholds(book):
    pf, lam, _ = book
    plan = allocate(pf, lam, 60_000.0, strategy="risk_tier", tier_thresholds=(0.5, 0.9),
                    tier_weights=(1, 2, 4))
    f = plan.to_frame()
    per = f.groupby("risk_tier")["spend"].mean()
    assert per["high"] == pytest.approx(2 * per["medium"]) and per["medium"] == pytest.approx(2 * per["low"])
    assert (f["risk_tier"] == "high").sum() == int(np.ceil(0.1 * len(f)))


def test_portfolio_objects_are_read_through_to_frame(book):
    pf, lam, _ = book

    class FakePortfolio:
        def to_frame(self):
            return pf

    a = allocate(FakePortfolio(), lam, 50_000.0).spend
    b = allocate(pf, lam, 50_000.0).spend
    pd.testing.assert_series_equal(a, b)


def test_results_protocol_and_plots(book):
    pf, lam, _ = book
    plan = allocate(pf, lam, 50_000.0, loss_per_accident=4e5)
    assert isinstance(plan, AllocationPlan)
    assert "<table" in plan._repr_html_()
    assert "ILLUSTRATIVE" in plan.summary()
    assert plan.plot().get_title().startswith("prevention spend")
    ev = plan.evaluate(n_draws=20, seed=0)
    assert "losses_avoided" in ev.summary()
    ev.plot()
    compare_strategies(pf, lam, 50_000.0, ["equal", "optimal"], n_draws=20).plot()


def test_bad_input_is_reported_in_one_error(book):
    pf, lam, _ = book
    bad_lam = lam.copy()
    bad_lam.iloc[0] = -1.0
    with pytest.raises(ValidationError) as err:
        allocate(pf, bad_lam, -5.0, strategy="lottery", max_share=2.0, services=["training", "yoga"])
    cols = set(err.value.problems["column"])
    assert {"lam", "budget", "strategy", "max_share", "services"} <= cols


def test_misaligned_indexes_name_the_ids(book):
    pf, lam, _ = book
    shifted = lam.rename(index=lambda s: s.replace("E0000", "X9"))
    with pytest.raises(ValidationError) as err:
        allocate(pf, shifted, 1000.0)
    text = str(err.value)
    assert "E0000" in text and "X9" in text
    with pytest.raises(ValidationError, match="one value per enterprise"):
        allocate(pf, lam.to_numpy()[:-1], 1000.0)


def test_unknown_sector_and_missing_severity_for_a_sector(book):
    pf, lam, _ = book
    bad = pf.copy()
    bad.iloc[3, bad.columns.get_loc("sector")] = "minnig"
    with pytest.raises(ValidationError, match="did you mean 'mining'"):
        allocate(bad, lam, 1000.0)
    with pytest.raises(ValidationError, match="no value for these sectors"):
        allocate(pf, lam, 1000.0, loss_per_accident=pd.Series({"mining": 4e5, "coal_mining": 5e5}))


def test_strategy_premium_needs_premium(book):
    pf, lam, _ = book
    with pytest.raises(ValidationError, match="required for strategy='premium'"):
        allocate(pf, lam, 1000.0, strategy="premium")


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(0, 10**6), st.floats(0.0, 1.0))
def test_weighted_totals_equal_the_weighted_sum_of_fractions(n, seed, funded):
    # ResponseModel.totals (used by PlanEvaluation) against fractions summed by hand, per draw
    from safeins.prevention import ServiceCatalog
    from safeins.prevention.response import ResponseModel

    rng = np.random.default_rng(seed)
    cat = ServiceCatalog.load("default")
    sectors = rng.choice(["mining", "construction", "transport", "fireworks"], n)
    m = ResponseModel(cat, sectors, headcount=rng.integers(5, 900, n))
    x = rng.gamma(1.0, 3000.0, (n, len(cat.codes))) * (rng.random((n, len(cat.codes))) < funded)
    w = rng.gamma(1.0, 1.0, (n, 3))
    params = m.draw(7, seed=seed)
    F, V = m.fractions(x, params)
    Ft, Vt = m.totals(x, w, params)
    np.testing.assert_allclose(Ft, F @ w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Vt, V @ w, rtol=1e-12, atol=1e-15)
    Fc, Vc = m.fractions(x)
    Ftc, Vtc = m.totals(x, w)
    np.testing.assert_allclose(Ftc, Fc @ w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Vtc, Vc @ w, rtol=1e-12, atol=1e-15)
    # the grouped fractions equal the direct formula with gathered parameters
    r = m.weight * params.r[:, m.group, :]
    k = params.k[:, m.group, :] * m.size[:, None]
    eff = r * -np.expm1(-x / k)
    sev = m.channel == "severity"
    np.testing.assert_allclose(F, eff[..., ~sev].sum(-1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(V, eff[..., sev].sum(-1), rtol=1e-12, atol=1e-15)
