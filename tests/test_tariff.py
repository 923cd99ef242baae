"""Tariff: shipped rate manuals against their sources, lookups, from_models, bad input."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from safeins import regimes
from safeins.errors import RegimeBreachError, ValidationError
from safeins.models.policy import PolicyCoverage
from safeins.rating.loadings import Loadings
from safeins.rating.tariff import Tariff

# docs/domain/regulation.md#hunan, transcribed independently of the TOML:
# band -> per-person (万) -> general, high
HUNAN = {
    ">8000": {30: "1.20 1.28 1.37 1.37 1.45 1.54", 40: "1.45 1.54 1.62 1.62 1.71 1.80",
              50: "1.71 1.80 1.88 1.88 1.97 2.05", 60: "1.97 2.05 2.14 2.14 2.22 2.31"},
    "3000-8000": {30: "1.28 1.37 1.45 1.45 1.54 1.62", 40: "1.54 1.62 1.71 1.71 1.80 1.88",
                  50: "1.80 1.88 1.97 1.97 2.05 2.14", 60: "2.05 2.14 2.22 2.22 2.31 2.39"},
    "500-3000": {30: "1.37 1.45 1.54 1.54 1.62 1.71", 40: "1.62 1.71 1.80 1.80 1.88 1.97",
                 50: "1.88 1.97 2.05 2.05 2.14 2.22", 60: "2.14 2.22 2.31 2.31 2.39 2.48"},
    "<=500": {30: "1.45 1.54 1.62 1.62 1.71 1.80", 40: "1.71 1.80 1.88 1.88 1.97 2.05",
              50: "1.97 2.05 2.14 2.14 2.22 2.31", 60: "2.22 2.31 2.39 2.39 2.48 2.57"},
}
BAND_VALUE = {">8000": 1e8, "3000-8000": 5e7, "500-3000": 1e7, "<=500": 3e6}


@pytest.fixture(scope="module")
def hunan():
    return Tariff.load("hunan-construction")


def test_hunan_grid_matches_regulation(hunan):
    assert hunan.unit == "permille" and hunan.status == "regulatory" and "360docs" in hunan.source
    assert len(hunan.rates) == 96
    for band, grid in HUNAN.items():
        for pp, text in grid.items():
            values = [float(v) for v in text.split()]
            for k, (rc, agg) in enumerate([(rc, a) for rc in ("general", "high") for a in (2e6, 4e6, 6e6)]):
                got = hunan.rate_of(sector="construction", exposure=BAND_VALUE[band], per_person=pp * 1e4,
                                    aggregate=agg, risk_class=rc)
                assert got == pytest.approx(values[k] / 1000, abs=1e-15), (band, pp, rc, agg)


def test_hunan_regularities(hunan):
    f = hunan.to_frame()
    # higher limits and high risk cost more; larger projects cost less per mille
    for keys, col in (((["exposure_above", "aggregate", "risk_class"]), "per_person"),
                      ((["exposure_above", "per_person", "risk_class"]), "aggregate")):
        for _, g in f.fillna({"exposure_above": -1}).groupby(keys):
            assert g.sort_values(col)["rate"].is_monotonic_increasing
    hi = f[f.risk_class == "high"].set_index(["exposure_above", "per_person", "aggregate"])["rate"]
    gen = f[f.risk_class == "general"].set_index(["exposure_above", "per_person", "aggregate"])["rate"]
    ratio = (hi / gen).to_numpy()
    assert 1.04 < ratio.min() and ratio.max() < 1.15  # "high risk ≈ one aggregate step above"


def test_shandong_bands_and_edges():
    t = Tariff.load("shandong-construction-2018")
    cases = [(5e6, 0.65), (1e7, 0.65), (1e7 + 1, 0.60), (5e7, 0.60), (8e7, 0.55), (3e8, 0.50),
             (1e9, 0.45), (2e9, 0.40)]
    for value, permille in cases:
        assert t.rate_of(sector="construction", exposure=value) == pytest.approx(permille / 1000, abs=1e-15)
    aggs = [r.aggregate for r in t.rates]
    assert aggs == [2.1e7, 4.2e7, 6.3e7, 8.4e7, 9.45e7, 1.05e8]
    assert all(r.per_person == 5e5 for r in t.rates)


def test_ambiguous_lookup_asks_for_the_option(hunan):
    with pytest.raises(ValidationError) as err:
        hunan.rate_of(sector="construction", exposure=5e7)
    text = str(err.value)
    assert "state risk_class (one of general, high)" in text
    assert "state per_person (one of 300000, 400000, 500000, 600000)" in text


def test_to_frame_and_toml_round_trip(hunan, tmp_path):
    f = hunan.to_frame()
    assert {"rate", "rate_written", "base", "per_person", "aggregate", "risk_class"} <= set(f.columns)
    np.testing.assert_allclose(f["rate"], f["rate_written"] / 1000)
    path = hunan.to_toml(tmp_path / "h.toml")
    assert Tariff.load(path) == hunan
    assert "96 rates" in hunan.summary()


def test_regime_facts_and_check():
    t = Tariff(name="t", rates=[{"sector": "fireworks", "base": "headcount", "rate": 100.0}],
               loadings=Loadings(commission=0.05, prevention=0.21).to_dict(), regime="national-2025")
    assert t.regime_facts() == {"commission": 0.05, "prevention_share": 0.21}
    assert regimes.get("national-2025").check(t).ok
    assert set(Tariff.load("hunan-construction").regime_facts()) == {"per_person_limits"}


# --- bad input --------------------------------------------------------------------------------------
def test_bad_manual_lists_every_problem():
    with pytest.raises(ValidationError) as err:
        Tariff(name="bad", regime="national-2030", rates=[
            {"sector": "minnig", "base": "headcount", "rate": 1.0},
            {"sector": "construction", "base": "headcount", "rate": 1.0},
            {"sector": "fireworks", "base": "headcount", "rate": -2.0},
            {"sector": "fireworks", "base": "headcount", "rate": 1.0, "size_band": "huge"},
            {"sector": "construction", "base": "contract_value", "rate": 1.0,
             "exposure_above": 5e7, "exposure_upto": 1e7}])
    text = str(err.value)
    assert len(err.value) == 6
    for needle in ("unknown regime", "did you mean 'mining'", "rated per 'contract_value'",
                   "greater than or equal to 0", "huge", "exposure_above must be < exposure_upto"):
        assert needle in text, needle


def test_relativity_base_must_be_one_and_present():
    with pytest.raises(ValidationError, match="must have factor 1"):
        Tariff(name="r", rates=[{"sector": "fireworks", "base": "headcount", "rate": 1.0}],
               relativities=[{"dimension": "x", "base": "a", "levels": {"a": 1.1}}])
    with pytest.raises(ValidationError, match="is not a level"):
        Tariff(name="r", rates=[{"sector": "fireworks", "base": "headcount", "rate": 1.0}],
               relativities=[{"dimension": "x", "base": "z", "levels": {"a": 1.0}}])


def test_unknown_manual_name():
    with pytest.raises(ValidationError, match="hunan-construction"):
        Tariff.load("hunan")


# --- from_models with stand-ins (closed forms) -----------------------------------------------------
class FakeGLM:
    """lambda per unit = base x sector relativity x size relativity (x credit relativity)."""

    family = "poisson"
    factors = ("sector", "size_band", "credit_grade")
    counts_name_ = "accidents"
    REL: ClassVar[dict] = {"sector": {"fireworks": 2.0, "transport": 1.0},
                           "size_band": {"small": 1.0, "large": 0.5},
                           "credit_grade": {"B": 1.0, "D": 3.0}}

    def __init__(self):
        self.relativities_ = pd.DataFrame(
            [(f, lv, r, lv in ("transport", "small", "B"))
             for f, t in self.REL.items() for lv, r in t.items()],
            columns=["factor", "level", "relativity", "is_base"])

    def predict(self, df, kind="mean"):
        rate = 0.01 * np.ones(len(df))
        for f, t in self.REL.items():
            rate = rate * df[f].map(t).to_numpy(dtype=float)
        return pd.Series(rate if kind == "rate" else rate * df["exposure"].to_numpy(), index=df.index)


class FakeSeverity:
    def __init__(self, mean, sd):
        self._m, self._sd = mean, sd

    def mean(self):
        return self._m

    def var(self):
        return self._sd**2


class FakeAccidentModel:
    sectors_ = ("fireworks", "transport")

    def insured_loss(self, coverage, sector=None, n=None):
        scale = coverage.per_person / 400_000
        return FakeSeverity({"fireworks": 100_000.0, "transport": 50_000.0}[sector] * scale, 20_000.0)


LOAD = dict(commission=0.05, prevention=0.15, expenses=0.10, profit=0.03,
            principle={"kind": "standard_deviation", "parameter": 0.1})


def test_from_models_closed_form():
    cov = PolicyCoverage.from_regime("national-2025", per_person=400_000, headcount=10)
    t = Tariff.from_models(FakeGLM(), FakeAccidentModel(), coverage=cov, loadings=Loadings(**LOAD),
                           regime="national-2025", per_person_options=[500_000], min_premium=300.0)
    assert t.status == "derived" and t.regime == "national-2025"
    f = t.to_frame()
    assert len(f) == 2 * 2 * 2 and set(f["base"]) == {"headcount", "vehicles"}
    for (sector, size, pp), got in f.set_index(["sector", "size_band", "per_person"])["rate"].items():
        lam = 0.01 * FakeGLM.REL["sector"][sector] * FakeGLM.REL["size_band"][size]  # credit at base B
        mean = {"fireworks": 100_000.0, "transport": 50_000.0}[sector] * pp / 400_000
        assert got == pytest.approx(lam * (mean + 0.1 * 20_000.0) / (1 - 0.33), rel=1e-12)
    assert regimes.get("national-2025").check(t).ok
    # "at" overrides the base level of a non-grid factor
    t_d = Tariff.from_models(FakeGLM(), FakeAccidentModel(), coverage=cov, loadings=Loadings(**LOAD),
                             at={"credit_grade": "D"})
    np.testing.assert_allclose(t_d.to_frame()["rate"], 3 * f[f.per_person == 4e5]["rate"].to_numpy())


def test_from_models_credibility_closed_form():
    cov = PolicyCoverage.from_regime("national-2025", per_person=400_000, headcount=10)
    # two cells observed: fireworks/small (E = 0.02*100 = 2 per year), transport/small (0.01*100 = 1)
    data = pd.DataFrame({"sector": ["fireworks", "fireworks", "transport", "transport"],
                         "size_band": "small", "credit_grade": "B", "exposure": 100.0,
                         "year": [2022, 2023, 2022, 2023], "accidents": [6, 2, 1, 1]})
    k = 4.0
    t = Tariff.from_models(FakeGLM(), FakeAccidentModel(), coverage=cov, loadings=Loadings(**LOAD),
                           credibility=k, data=data)
    base = Tariff.from_models(FakeGLM(), FakeAccidentModel(), coverage=cov, loadings=Loadings(**LOAD))
    a_e = {"fireworks": 8 / 4, "transport": 2 / 2}
    z = {"fireworks": 4 / (4 + k), "transport": 2 / (2 + k)}
    m = sum(z[s] * a_e[s] for s in z) / sum(z.values())
    r = t.to_frame().set_index(["sector", "size_band"])["rate"]
    r0 = base.to_frame().set_index(["sector", "size_band"])["rate"]
    for s in ("fireworks", "transport"):
        assert r[(s, "small")] / r0[(s, "small")] == pytest.approx(m + z[s] * (a_e[s] - m), rel=1e-12)
        # cells without data get the complement
        assert r[(s, "large")] / r0[(s, "large")] == pytest.approx(m, rel=1e-12)


def test_from_models_bad_input_and_regime_breach():
    cov_low = PolicyCoverage.from_regime("national-2017", per_person=300_000, headcount=10)
    with pytest.raises(RegimeBreachError, match="min_death_disability_limit"):
        Tariff.from_models(FakeGLM(), FakeAccidentModel(), coverage=cov_low, loadings=Loadings(**LOAD),
                           regime="national-2025")
    cov = PolicyCoverage.from_regime("national-2025", per_person=400_000, headcount=10)
    with pytest.raises(ValidationError) as err:
        Tariff.from_models(FakeGLM(), FakeAccidentModel(), coverage=cov, loadings=Loadings(**LOAD),
                           regime="national-2099")
    assert "unknown regime" in str(err.value)
    with pytest.raises(ValidationError, match="credibility needs data"):
        Tariff.from_models(FakeGLM(), FakeAccidentModel(), coverage=cov, loadings=Loadings(**LOAD),
                           credibility="fit")


@pytest.mark.slow
def test_from_models_with_the_real_models():
    import safeins as si
    from safeins.models.accident import AccidentModel
    from safeins.models.frequency_glm import FrequencyGLM

    d = si.datasets.synthetic_portfolio(n_enterprises=1500, years=(2022, 2023), seed=11)
    et = si.exposure_table(d.portfolio, d.accidents, d.hazards)
    freq = FrequencyGLM("poisson", factors=["sector", "size_band"], min_level_exposure=None).fit(et)
    accm = AccidentModel(min_count=100).fit(d.accidents, d.portfolio)
    cov = PolicyCoverage.from_regime("national-2025", per_person=400_000, headcount=50)
    L = Loadings(**LOAD)
    t = Tariff.from_models(freq, accm, coverage=cov, loadings=L, regime="national-2025",
                           credibility="fit", data=et, points=2**10 + 1)
    assert set(t.sectors) == set(freq.relativities_.query("factor == 'sector'")["level"])
    # the pure premium of the tariff reproduces the GLM's expected accidents x E[insured loss]
    q = t.price(d.portfolio)
    assert math.isfinite(q.total()) and q.total() > 0
    f = t.to_frame().set_index(["sector", "size_band"])
    s, b = "manufacturing", "small"
    lam = float(freq.predict(pd.DataFrame({"sector": [s], "size_band": [b]}), kind="rate").iloc[0])
    sev = accm.insured_loss(cov, sector=s, n=2**10 + 1)
    note = f.loc[(s, b), "note"]
    cred = float(note.split("factor ")[-1] if "credibility Z" in note else note.split("complement ")[-1])
    expected = L.gross(lam * cred * sev.mean(), lam * cred * L.principle.risk_load(sev))
    # the note shows the credibility factor to 4 decimals, hence the tolerance
    assert f.loc[(s, b), "rate"] == pytest.approx(expected, rel=1e-4)


def test_loadings_must_respect_the_tariffs_regime():
    loadings = Loadings(commission=0.08, regime="national-2017").to_dict()
    with pytest.raises(ValidationError, match="commission_cap"):
        Tariff(name="t", rates=[{"sector": "fireworks", "base": "headcount", "rate": 1.0}],
               loadings=loadings, regime="national-2025")


@pytest.fixture(scope="module")
def fitted_book():
    import warnings

    import safeins as si
    from safeins.models.accident import AccidentModel
    from safeins.models.frequency_glm import FrequencyGLM
    from safeins.rating.history import with_prior_year

    d = si.datasets.synthetic_portfolio(n_enterprises=800, years=(2021, 2022, 2023), seed=1)
    table = with_prior_year(si.exposure_table(d.portfolio, d.accidents, d.hazards))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", si.errors.SafeinsWarning)
        freq = FrequencyGLM("poisson", ["sector", "credit_grade", "prior_hazard_rate", "year"],
                            numeric={"prior_hazard_rate": 3, "year": "linear"}).fit(table)
    accm = AccidentModel(min_count=100).fit(d.accidents, d.portfolio)
    return d, table, freq, accm


def test_rating_factors_become_smoothed_capped_relativity_tables(fitted_book):
    d, table, freq, accm = fitted_book
    cov = PolicyCoverage.from_regime("national-2025", per_person=400_000, headcount=50)
    t = Tariff.from_models(freq, accm, coverage=cov, loadings=Loadings(**LOAD), regime="national-2025",
                           rating_factors=["credit_grade", "prior_hazard_rate"], rating_cap=1.5,
                           data=table, policy_year=2024, points=2**10 + 1)
    credit, hazard = t.relativities
    assert credit.dimension == "credit_grade" and credit.levels[credit.base] == 1.0
    assert all(1 / 1.5 <= v <= 1.5 for v in credit.levels.values())
    glm = freq.relativities_.query("factor == 'credit_grade'").set_index("level")["relativity"]
    for level, v in credit.levels.items():  # smoothing moves a relativity toward 1, never past it
        g = min(max(glm[level], 1 / 1.5), 1.5)
        assert min(g, 1.0) - 1e-12 <= v <= max(g, 1.0) + 1e-12
    assert hazard.input == "hazard_rate" and hazard.edges is not None
    assert any("Poisson-gamma credibility" in n and "capped to [1/1.5, 1.5]" in n for n in t.notes)
    assert any(n.startswith("trend: frequency x") and "projected to 2024" in n for n in t.notes)
    # no zero rate: sectors without an accident take the credibility complement
    assert (t.to_frame()["rate"] > 0).all()
    for s in freq.zero_levels_.get("sector", []):
        assert any(n.startswith(f"sector={s}: no accident in the data") for n in t.notes)
    q = t.price(d.portfolio, hazards=d.hazards)
    f = q.to_frame()
    bands = hazard.band_levels(f["in_hazard_rate"])
    np.testing.assert_allclose(f["rel_prior_hazard_rate"], [hazard.levels[b] for b in bands])
    np.testing.assert_allclose(f["base_premium"], f["base_rate"] * f["exposure"] * f["rel_credit_grade"]
                               * f["rel_prior_hazard_rate"], rtol=1e-12)
    text = q.explain(f.index[0])
    assert "relativity    credit_grade =" in text and "(hazard_rate = " in text


def test_tariff_tables_name_their_units():
    f = Tariff.load("shandong-construction-2018").to_frame()
    assert (f["unit"] == "‰ of contract value").all()
    np.testing.assert_allclose(f["rate_per_unit"], f["rate"] * 1000)
    t = Tariff(name="tiny", rates=[{"sector": "fireworks", "base": "headcount", "rate": 120.0}])
    assert t.to_frame()["unit"].tolist() == ["yuan per worker"]


def test_manufacturing_and_trade_may_be_rated_per_worker():
    import safeins as si

    t = Tariff(name="t", rates=[{"sector": "trade", "base": "headcount", "rate": 40.0},
                                {"sector": "manufacturing", "base": "payroll", "rate": 0.002}])
    assert t.sector_bases() == {"trade": "headcount", "manufacturing": "payroll"}
    pf = si.Portfolio(si.datasets.example_portfolio_frame())
    frame = pf.frame.assign(sector="trade")
    q = t.price(si.Portfolio(frame.reset_index())).to_frame()
    np.testing.assert_allclose(q["base_premium"], 40.0 * frame["headcount"].to_numpy())
    assert (q["exposure_base"] == "headcount").all()
    with pytest.raises(ValidationError, match="sector 'construction' is rated per 'contract_value'"):
        Tariff(name="t", rates=[{"sector": "construction", "base": "headcount", "rate": 1.0}])
    with pytest.raises(ValidationError, match="one base per sector"):
        Tariff(name="t", rates=[{"sector": "trade", "base": "headcount", "rate": 40.0, "size_band": "small"},
                                {"sector": "trade", "base": "revenue", "rate": 0.001, "size_band": "large"}])
