"""The prevention fund's budget: regime cap, groups, carry-over, the legacy fixed share."""

import warnings

import numpy as np
import pandas as pd
import pytest

from safeins import regimes
from safeins.errors import RegimeBreachError, SafeinsWarning, ValidationError
from safeins.prevention import PreventionFund


@pytest.fixture
def quotes():
    return pd.DataFrame({"premium": [100_000.0, 40_000.0, 60_000.0],
                         "region": ["hz", "nb", "nb"], "insurer": ["picc", "picc", "cpic"]},
                        index=pd.Index(["E1", "E2", "E3"], name="enterprise_id"))


def test_budget_is_share_of_collected_premium(quotes):
    fund = PreventionFund(share=0.15)
    assert fund.budget(quotes) == pytest.approx(0.15 * 200_000.0)
    assert fund.budget(quotes["premium"]) == pytest.approx(30_000.0)
    assert fund.budget(200_000.0) == pytest.approx(30_000.0)


def test_budget_by_group(quotes):
    by_region = PreventionFund(share=0.2).budget(quotes, by="region")
    assert by_region.to_dict() == pytest.approx({"hz": 20_000.0, "nb": 20_000.0})
    by_insurer = PreventionFund(share=0.2).budget(quotes, by="insurer")
    assert by_insurer.sum() == pytest.approx(40_000.0)
    assert by_insurer.index.name == "insurer"


def test_cap_comes_from_the_regime():
    assert PreventionFund(share=0.21).cap == regimes.get("national-2025").prevention_cap == 0.21


def test_share_above_the_cap_is_refused_with_the_source():
    with pytest.raises(RegimeBreachError, match=r"0\.25.*prevention_cap.*0\.21") as err:
        PreventionFund(share=0.25, regime="national-2025")
    assert err.value.findings and err.value.findings[0].rule == "prevention_cap"


def test_override_turns_the_refusal_into_a_warning():
    with pytest.warns(SafeinsWarning, match="allow_breach"):
        fund = PreventionFund(share=0.3, allow_breach=True)
    assert fund.budget(1000.0) == pytest.approx(300.0)


def test_no_regime_means_no_cap_but_shares_stay_fractions():
    assert PreventionFund(share=0.5, regime=None).budget(100.0) == pytest.approx(50.0)
    with pytest.raises(ValidationError, match="fraction"):
        PreventionFund(share=1.5, regime=None)


def test_regime_without_a_cap_accepts_any_fraction():
    # the 2017 text fixed no prevention cap; the 21% of the 2024-10-22 notice binds only policies
    # from that date, so an undated fund is "undetermined", not a breach
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fund = PreventionFund(share=0.3, regime="national-2017")
    assert fund.cap == 0.21
    assert regimes.get("national-2017").check(fund).to_frame()["verdict"].tolist() == ["undetermined"]


def test_regime_check_reads_the_fund():
    fund = PreventionFund(share=0.1)
    assert regimes.get("national-2025").check(fund).ok


def test_unknown_regime_and_bad_fields_in_one_error():
    with pytest.raises(ValidationError) as err:
        PreventionFund(share=-0.1, regime="national-2052", min_per_enterprise=-5)
    assert set(err.value.problems["column"]) == {"share", "regime", "min_per_enterprise"}


def test_legacy_fuyang_fixed_share_pools_the_money():
    fund = PreventionFund.legacy_fuyang()
    assert fund.budget(1_000_000.0) == pytest.approx(50_000.0)
    assert fund.carry(50_000.0, 30_000.0) == pytest.approx(20_000.0)
    with pytest.raises(ValidationError, match="leave unset"):
        PreventionFund(share=0.1, fixed_share=0.05)


def test_carry_over_adds_unspent_money_to_next_year(quotes):
    fund = PreventionFund(share=0.1, carry_over=True)
    year1 = fund.budget(quotes)
    carried = fund.carry(year1, 15_000.0)
    assert carried == pytest.approx(5_000.0)
    assert fund.budget(quotes, carried_over=carried) == pytest.approx(25_000.0)
    # cumulative spend never exceeds share × cumulative premium
    assert 15_000.0 + 25_000.0 <= 0.1 * 2 * 200_000.0 + 1e-9


def test_without_carry_over_unspent_money_lapses():
    assert PreventionFund(share=0.1, carry_over=False).carry(1000.0, 600.0) == 0.0


def test_carry_by_group(quotes):
    fund = PreventionFund(share=0.2, carry_over=True)
    b = fund.budget(quotes, by="region")
    left = fund.carry(b, pd.Series({"hz": 20_000.0, "nb": 5_000.0}))
    assert left.to_dict() == pytest.approx({"hz": 0.0, "nb": 15_000.0})
    nxt = fund.budget(quotes, by="region", carried_over=left)
    assert nxt.to_dict() == pytest.approx({"hz": 20_000.0, "nb": 35_000.0})


def test_overspending_is_an_error():
    with pytest.raises(ValidationError, match="must not exceed"):
        PreventionFund(share=0.1, carry_over=True).carry(100.0, 150.0)


def test_bad_premiums_are_all_listed(quotes):
    q = quotes.copy()
    q.loc["E1", "premium"] = -1.0
    q.loc["E3", "premium"] = np.nan
    with pytest.raises(ValidationError) as err:
        PreventionFund().budget(q)
    assert sorted(err.value.problems["row"]) == ["E1", "E3"]
    with pytest.raises(ValidationError, match="premium"):
        PreventionFund().budget(q.drop(columns="premium"))
    with pytest.raises(ValidationError, match="column"):
        PreventionFund().budget(quotes, by="province")


def test_fund_allocate_uses_its_minimum_per_enterprise():
    pf = pd.DataFrame({"sector": ["mining", "construction", "transport"]}, index=["A", "B", "C"])
    lam = pd.Series([0.6, 0.001, 0.001], index=pf.index)
    plan = PreventionFund(min_per_enterprise=2_000.0).allocate(pf, lam, 10_000.0)
    assert plan.spend.min() >= 2_000.0 - 1e-9
    assert plan.spend.sum() == pytest.approx(10_000.0)
    with pytest.raises(ValidationError, match="min_per_enterprise"):
        PreventionFund(min_per_enterprise=5_000.0).allocate(pf, lam, 10_000.0)
