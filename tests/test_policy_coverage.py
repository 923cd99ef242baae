"""PolicyCoverage: defaults and their sources, regime floor, validation, insured loss."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import safeins as si
from safeins import regimes
from safeins.errors import RegimeBreachError, ValidationError
from safeins.models.policy import DEFAULT_DISABILITY_SHARES, PolicyCoverage


# --- structure and defaults ---------------------------------------------------------------------
def test_defaults_follow_the_policy_forms():
    cov = PolicyCoverage(per_person=500_000, headcount=30)
    assert cov.per_accident_limit == 15_000_000  # per_person x headcount (Xinjiang form)
    assert cov.aggregate_limit == cov.per_accident_limit  # per-accident = aggregate (Xinjiang)
    assert cov.medical_per_person == 100_000  # Shandong 2018
    assert cov.third_party_property == 100_000  # Shandong 2018
    assert cov.third_party_per_person_limit == 500_000
    assert cov.rescue_limit == pytest.approx(0.35 * 15_000_000)  # Xinjiang 30% + 5%
    assert cov.medical_deductible == cov.property_deductible == cov.rescue_deductible == 0
    assert [cov.disability_payout(g) for g in (1, 5, 10)] == [500_000, 300_000, 50_000]
    assert cov.disability_shares == DEFAULT_DISABILITY_SHARES
    frame = cov.to_frame()
    assert frame.loc["per_accident", "basis"].startswith("default: per_person x headcount")
    assert "PolicyCoverage" in cov.summary()


def test_from_regime_passes_the_regime_check():
    cov = PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=100)
    assert cov.regime == "national-2025" and cov.form == "shandong-2018"
    findings = regimes.get("national-2025").check(cov)
    assert findings.ok
    assert cov.regime_facts() == {"death_disability_limit": 500_000.0}


def test_a_limit_under_the_floor_is_refused_unless_overridden():
    with pytest.raises(RegimeBreachError) as err:
        PolicyCoverage.from_regime("national-2025", per_person=350_000, headcount=10)
    assert isinstance(err.value, ValidationError)
    assert err.value.findings[0].rule == "min_death_disability_limit"
    # the breach is listed with every other problem, in one error
    with pytest.raises(ValidationError) as err:
        PolicyCoverage.from_regime("national-2025", per_person=350_000, headcount=0,
                                   medical_per_person=-1)
    assert set(err.value.problems["column"]) == {"per_person", "headcount", "medical_per_person"}
    cov = PolicyCoverage.from_regime("national-2025", per_person=350_000, headcount=10,
                                     override=True)
    assert cov.override_regime
    assert not regimes.get("national-2025").check(cov).ok
    # the 2017 floor (300,000) accepts it
    assert PolicyCoverage.from_regime("national-2017", per_person=350_000, headcount=10)


def test_xinjiang_form():
    with pytest.raises(ValidationError, match="third_party_per_accident"):
        PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=10,
                                   form="xinjiang")
    cov = PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=10,
                                     form="xinjiang", third_party_per_accident=2_000_000)
    assert cov.medical_per_person == pytest.approx(150_000)
    assert cov.third_party_property == pytest.approx(1_000_000)
    assert (cov.medical_deductible, cov.property_deductible, cov.rescue_deductible) == (
        500, 1_000, 2_000)
    with pytest.raises(ValidationError, match="form"):
        PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=1, form="hunan")


def test_toml_round_trip_and_schema(tmp_path):
    cov = PolicyCoverage.from_regime("national-2025", per_person=600_000, headcount=12,
                                     disability_shares=[1, .8, .7, .6, .5, .4, .3, .2, .1, .05],
                                     third_party_per_accident=3_000_000)
    path = cov.to_toml(tmp_path / "policy.toml")
    assert PolicyCoverage.from_toml(path) == cov
    assert "per_person" in PolicyCoverage.json_schema()["properties"]
    with pytest.raises(ValidationError) as err:
        PolicyCoverage.from_toml_text('per_person = 100000\nheadcount = 3\nregime = "national-2025"')
    assert "below the minimum" in err.value.problems.loc[0, "rule"]


# --- bad input ------------------------------------------------------------------------------------
def test_every_bad_field_in_one_error():
    with pytest.raises(ValidationError) as err:
        PolicyCoverage(per_person=500_000, headcount=True, medical_per_person=float("nan"),
                       third_party_property=-5.0, rescue_legal="lots",
                       disability_shares=(1, .9, .95, .7, .6, .5, .4, .3, .2, .1),
                       per_accident=400_000, aggregate=100_000, unknown_field=1)
    cols = list(err.value.problems["column"])
    for c in ("headcount", "medical_per_person", "third_party_property", "rescue_legal",
              "disability_shares", "per_accident", "aggregate", "unknown_field"):
        assert c in cols, c


@pytest.mark.parametrize("kwargs, column", [
    ({"medical_per_person": 600_000}, "medical_per_person"),  # above the per-person limit
    ({"third_party_property": 2e7}, "third_party_property"),  # above the per-accident limit
    ({"rescue_legal": 2e7}, "rescue_legal"),
    ({"third_party_per_person": 2e7}, "third_party_per_person"),
    ({"disability_shares": [0.1] * 9}, "disability_shares"),
    ({"disability_shares": [1.2] + [0.1] * 9}, "disability_shares"),
    ({"medical_deductible": 200_000}, "medical_deductible"),
    ({"per_person": -1}, "per_person"),
    ({"per_person": math.inf}, "per_person"),
    ({"headcount": None}, "headcount"),
    ({"regime": "national-2030"}, "regime"),
])
def test_single_bad_field(kwargs, column):
    base = {"per_person": 500_000, "headcount": 20}
    base.update(kwargs)
    with pytest.raises(ValidationError) as err:
        PolicyCoverage(**base)
    assert column in set(err.value.problems["column"])


# --- insured loss -----------------------------------------------------------------------------------
def _frames():
    acc = pd.DataFrame({"property_damage": [250_000.0, 0.0, 5_000.0],
                        "rescue_cost": [10_000.0, 3_000_000.0, 500.0]},
                       index=pd.Index(["A1", "A2", "A3"], name="accident_id"))
    vic = pd.DataFrame({
        "accident_id": ["A1", "A1", "A1", "A2", "A2", "A2", "A3"],
        "role": ["employee", "employee", "third_party", "employee", "employee", "employee",
                 "employee"],
        "outcome": ["death", "disability", "disability", "death", "death", "death", "medical"],
        "disability_grade": [None, 3, 10, None, None, None, None],
        "medical_cost": [20_000.0, 150_000.0, 8_000.0, 0.0, 0.0, 0.0, 3_000.0]})
    return acc, vic


def test_insured_loss_by_hand():
    acc, vic = _frames()
    cov = PolicyCoverage(per_person=500_000, per_accident=1_200_000, medical_deductible=1_000,
                         third_party_per_person=400_000, third_party_per_accident=30_000)
    out = cov.insured_loss(acc, vic)
    # A1: employees 500,000 + 0.8 x 500,000; medical 19,000 + 100,000 (sub-limit)
    assert out.loc["A1", "employee_death_disability"] == 900_000
    assert out.loc["A1", "employee_medical"] == 119_000
    # third party: grade 10 = 40,000 + medical 7,000, capped at 30,000 per accident
    assert out.loc["A1", "third_party_death_disability"] == 40_000
    assert out.loc["A1", "third_party"] == 30_000
    assert out.loc["A1", "property"] == 100_000
    assert out.loc["A1", "before_limit"] == 900_000 + 119_000 + 30_000 + 100_000 + 10_000
    assert out.loc["A1", "insured"] == 1_159_000 and not out.loc["A1", "capped"]
    # A2: three deaths and rescue: 1.5m + min(3m, 35% of 1.2m) -> capped at 1.2m
    assert out.loc["A2", "rescue"] == pytest.approx(420_000)
    assert out.loc["A2", "insured"] == 1_200_000 and out.loc["A2", "capped"]
    # A3: medical 3,000 - 1,000 deductible
    assert out.loc["A3", "insured"] == 2_000 + 5_000 + 500


def test_liability_caps_the_scheduled_amount_and_history_input():
    acc, vic = _frames()
    cov = PolicyCoverage(per_person=500_000, headcount=10)
    vic2 = vic.assign(liability=[300_000.0, 1e9, 1e9, 1e9, 1e9, 1e9, 0.0])
    out = cov.insured_loss((acc, vic2))
    assert out.loc["A1", "employee_death_disability"] == 300_000 + 400_000
    pf = si.Portfolio(si.datasets.example_portfolio_frame())
    hist = si.AccidentHistory(si.datasets.example_accident_frame(), portfolio=pf, victims=pd.DataFrame({
        "accident_id": ["A1"] * 3 + ["A2"] * 10,
        "role": ["employee"] * 3 + ["employee"] * 7 + ["third_party"] * 3,
        "outcome": ["death", "medical", "medical", "death", "death", "disability", "disability",
                    "disability", "disability", "medical", "death", "disability", "disability"],
        "disability_grade": [None, None, None, None, None, 1, 2, 5, 9, None, None, 4, 6],
        "medical_cost": [1e4, 2e3, 5e3, 0, 0, 1e5, 5e4, 3e4, 2e4, 1e3, 0, 4e4, 6e4]}))
    a = cov.insured_loss(hist)
    b = cov.insured_loss(hist.frame, hist.victims)
    pd.testing.assert_frame_equal(a, b)
    assert a.loc["A2", "employee_death_disability"] == 500_000 * (2 + 1 + 0.9 + 0.6 + 0.2)


def test_insured_loss_bad_input():
    acc, vic = _frames()
    cov = PolicyCoverage(per_person=500_000, headcount=10)
    with pytest.raises(ValidationError, match="per-victim table"):
        cov.insured_loss(acc)
    bad = vic.copy()
    bad.loc[0, "accident_id"] = "A9"
    bad.loc[1, "disability_grade"] = None
    bad.loc[2, "role"] = "visitor"
    bad.loc[3, "medical_cost"] = -1.0
    with pytest.raises(ValidationError) as err:
        cov.insured_loss(acc, bad)
    assert set(err.value.problems["column"]) == {"accident_id", "disability_grade", "role",
                                                  "medical_cost"}


# --- invariants -------------------------------------------------------------------------------------
@st.composite
def accidents(draw):
    m = draw(st.integers(1, 4))
    ids = [f"A{i}" for i in range(m)]
    acc = pd.DataFrame({
        "property_damage": [draw(st.floats(0, 5e6)) for _ in ids],
        "rescue_cost": [draw(st.floats(0, 5e6)) for _ in ids]}, index=pd.Index(ids))
    rows = []
    for a in ids:
        for _ in range(draw(st.integers(0, 6))):
            outcome = draw(st.sampled_from(["death", "disability", "medical"]))
            rows.append({"accident_id": a, "role": draw(st.sampled_from(["employee", "third_party"])),
                         "outcome": outcome,
                         "disability_grade": draw(st.integers(1, 10)) if outcome == "disability"
                         else None,
                         "medical_cost": draw(st.floats(0, 1e6)),
                         "liability": draw(st.floats(0, 3e6))})
    vic = pd.DataFrame(rows, columns=["accident_id", "role", "outcome", "disability_grade",
                                      "medical_cost", "liability"])
    return acc, vic


@st.composite
def coverages(draw):
    per = draw(st.floats(0, 2e6))
    pa = draw(st.floats(per, 2e7))
    return {"per_person": per, "per_accident": pa,
            "medical_per_person": draw(st.floats(0, per)),
            "third_party_per_person": draw(st.floats(0, pa)),
            "third_party_property": draw(st.floats(0, pa)),
            "rescue_legal": draw(st.floats(0, pa)),
            "third_party_per_accident": draw(st.one_of(st.none(), st.floats(0, pa)))}


def _ground_up(acc, vic):
    lia = np.where(vic["outcome"] == "medical", 0.0, vic["liability"].to_numpy(dtype=float))
    per = pd.Series(lia + vic["medical_cost"].to_numpy(dtype=float)).groupby(
        vic["accident_id"].to_numpy()).sum()
    return (acc["property_damage"] + acc["rescue_cost"]).add(per, fill_value=0.0)


@given(accidents(), coverages())
def test_limits_never_raise_a_loss(data, kw):
    acc, vic = data
    out = PolicyCoverage(**kw).insured_loss(acc, vic)
    assert (out["insured"] >= 0).all()
    assert (out["insured"] <= _ground_up(acc, vic).reindex(out.index) * (1 + 1e-12) + 1e-6).all()
    assert (out["insured"] <= kw["per_accident"] + 1e-6).all()


_LIMITS = ["per_person", "medical_per_person", "third_party_per_person", "third_party_property",
           "rescue_legal", "per_accident", "third_party_per_accident"]


@given(accidents(), coverages(), st.sampled_from(_LIMITS), st.floats(1.0, 4.0))
def test_insured_loss_is_monotone_in_every_limit(data, kw, name, factor):
    acc, vic = data
    before = PolicyCoverage(**kw).insured_loss(acc, vic)["insured"]
    new = dict(kw)
    if name == "per_person":
        new["per_person"] = min(kw["per_person"] * factor, kw["per_accident"])
    elif name == "per_accident":
        new["per_accident"] = kw["per_accident"] * factor
    elif name == "medical_per_person":
        new[name] = min(kw[name] * factor, kw["per_person"])
    elif kw[name] is None:
        return
    else:
        new[name] = min(kw[name] * factor, kw["per_accident"])
    after = PolicyCoverage(**new).insured_loss(acc, vic)["insured"]
    assert (after >= before - 1e-6 * (1 + before)).all()


@given(accidents())
def test_zero_limits_pay_zero(data):
    acc, vic = data
    zero = PolicyCoverage(per_person=0, per_accident=0, medical_per_person=0,
                          third_party_property=0, rescue_legal=0)
    assert (zero.insured_loss(acc, vic).drop(columns="capped").to_numpy() == 0).all()
    no_bodily = PolicyCoverage(per_person=0, per_accident=1e7, medical_per_person=0)
    out = no_bodily.insured_loss(acc, vic)
    assert (out["insured"] == out["property"] + out["rescue"]).all()


def test_per_accident_limit_follows_each_enterprises_own_headcount():
    # Xinjiang form: per-accident limit = per-person limit x insured headcount; with full-workforce
    # cover (应急〔2025〕27号 第十六条) that headcount is the enterprise's own.
    import safeins as si

    pf = si.Portfolio(si.datasets.example_portfolio_frame())  # E1 120, E2 300, E3 50 workers
    cov = PolicyCoverage(per_person=400_000, headcount=50)
    assert cov.per_accident_limits(pf).tolist() == [4.8e7, 1.2e8, 2.0e7]
    assert cov.for_headcount(120).per_accident_limit == 4.8e7
    assert PolicyCoverage(per_person=400_000, per_accident=1e7).per_accident_limits([5, 500]).tolist() \
        == [1e7, 1e7]
    # a hypothetical 150-death accident: E1 (120 workers) is capped at 48m, not at the template's 20m
    acc = pd.DataFrame({"enterprise_id": ["E1", "E3"], "property_damage": [0.0, 0.0],
                        "rescue_cost": [0.0, 0.0]}, index=pd.Index(["A1", "A2"], name="accident_id"))
    vic = pd.DataFrame({"accident_id": ["A1"] * 150 + ["A2"] * 150, "role": "employee", "outcome": "death",
                        "disability_grade": None, "medical_cost": 0.0})
    own = cov.insured_loss(acc, vic, headcount=pf)
    assert own["insured"].tolist() == [4.8e7, 2.0e7]
    assert cov.insured_loss(acc, vic)["insured"].tolist() == [2.0e7, 2.0e7]
    with pytest.raises(ValidationError) as err:
        cov.per_accident_limits([10, 0, 2.5])
    assert err.value.problems["row"].tolist() == [1, 2]
    with pytest.raises(ValidationError):
        cov.insured_loss(acc.assign(enterprise_id=["E1", "E9"]), vic, headcount=pf)
