"""The synthetic world against the public anchors of the calibration notes.

National figures come from ``datasets/national-statistics.csv`` (each row cites its public source);
the synthetic side is computed from the generator's truth and its severity law, not from a few
noisy draws, so the checks are tight and cannot pass by luck.
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import safeins as si
from safeins.demo import run_demo
from safeins.domain._synthetic import SyntheticConfig, sample_accidents

MAJOR_OR_WORSE = ("重大", "特别重大")


@pytest.fixture(scope="module")
def national():
    ns = si.datasets.load("national-statistics")
    return ns.set_index(["year", "sector", "measure"])["value"]


@pytest.fixture(scope="module")
def pilot():
    return si.datasets.load("zhejiang-pilot")


def _deaths(frame: pd.DataFrame) -> pd.Series:
    return frame["employee_deaths"] + frame["third_party_deaths"]


def _grade(frame: pd.DataFrame) -> pd.Series:
    serious = frame["employee_serious_injuries"] + frame["third_party_injuries"]
    return pd.Series(si.accident_grade(_deaths(frame), serious, frame["direct_loss"]), index=frame.index)


@pytest.mark.slow
def test_demo_premium_per_worker_is_inside_the_shandong_band():
    # Shandong 2017 (鲁政办字〔2017〕187号 news): sum insured ~50万 per person, premium 30-300 yuan per
    # person per year depending on size and situation [V]. The demo prices 50万 per person.
    res = run_demo(synthetic=8000, seed=11, progress=False)
    q = res.quotes.to_frame()
    d = si.datasets.synthetic_portfolio(n_enterprises=8000, seed=11)
    per_worker = q["final_premium"].sum() / d.portfolio.frame["headcount"].sum()
    assert 30 <= per_worker <= 300, per_worker


def test_fatality_rates_are_of_the_public_order():
    d = si.datasets.synthetic_portfolio(n_enterprises=40_000, years=(2021, 2022, 2023), seed=12)
    et = si.exposure_table(d.portfolio, d.accidents)
    by = et.groupby("sector", observed=True).agg(deaths=("deaths", "sum"), workers=("headcount", "sum"))
    per_100k = 1e5 * by["deaths"] / by["workers"]
    # China 2020: 1.30 deaths per 100k employed in 工矿商贸 overall; mining and transport far above
    assert 0.3 < per_100k["manufacturing"] < 5
    assert per_100k[["coal_mining", "transport", "fishing"]].min() > 3 * per_100k["manufacturing"]
    assert per_100k.max() < 60


# national deaths per recorded accident by sector (recorded accidents are almost all fatal):
# (sector in the csv, generator sector, years)
_SEVERITY_SERIES = [
    ("coal_mining", "coal_mining", (2019, 2020, 2021)),
    ("hazardous_chemicals", "hazardous_chemicals", (2017, 2018, 2021, 2022)),
    ("fireworks", "fireworks", (2021, 2022)),
    ("construction_h1", "construction", (2015,)),
]


@pytest.mark.parametrize(("csv_sector", "sector", "years"), _SEVERITY_SERIES)
def test_deaths_per_fatal_accident_follow_the_national_series(national, csv_sector, sector, years):
    ratios = [national[(y, csv_sector, "deaths")] / national[(y, csv_sector, "accidents")] for y in years]
    a = sample_accidents(SyntheticConfig(), sector, 60_000, seed=7)
    deaths = _deaths(a)
    per_fatal = deaths[deaths > 0].mean()
    # within 15% of the range the national series spans (the model's own sampling error is ~3%)
    assert 0.85 * min(ratios) <= per_fatal <= 1.15 * max(ratios), (sector, per_fatal, ratios)


def test_mines_other_than_coal_and_every_sector_stay_between_one_and_two_deaths(national):
    # mines less coal, 2021: (503 - 178) deaths / (356 - 91) accidents = 1.23 [V]
    mines = (national[(2021, "mining", "deaths")] - national[(2021, "coal_mining", "deaths")]) / (
        national[(2021, "mining", "accidents")] - national[(2021, "coal_mining", "accidents")])
    config = SyntheticConfig()
    per_fatal = {}
    for code in config.sectors:
        deaths = _deaths(sample_accidents(config, code, 30_000, seed=3))
        per_fatal[code] = deaths[deaths > 0].mean()
    assert 0.85 * mines <= per_fatal["non_coal_mining"] <= 1.15 * mines
    assert all(1.0 <= v <= 2.1 for v in per_fatal.values()), per_fatal
    # coal's gas explosions make it the heaviest; chemicals sit near 1.1-1.3, not 2.9
    assert max(per_fatal, key=per_fatal.get) == "coal_mining"
    assert per_fatal["hazardous_chemicals"] < 1.4


def test_major_accidents_come_only_from_the_catastrophe_tail():
    config = SyntheticConfig()
    ordinary = replace(config, sectors={c: replace(p, p_catastrophe=0.0) for c, p in config.sectors.items()})
    g = _grade(sample_accidents(ordinary, "coal_mining", 50_000, seed=5))
    assert not g.isin(MAJOR_OR_WORSE).any()


def _major_given_catastrophe(config) -> tuple[float, float]:
    """P(重大 or worse | catastrophe) and P(特别重大 | catastrophe): the catastrophe law is the same in
    every sector, so one sector with p_catastrophe = 1 measures it."""
    cats = replace(config, sectors={c: replace(p, p_catastrophe=1.0) for c, p in config.sectors.items()})
    g = _grade(sample_accidents(cats, "manufacturing", 100_000, seed=11))
    return float(g.isin(MAJOR_OR_WORSE).mean()), float((g == "特别重大").mean())


@pytest.mark.slow
def test_major_accidents_per_million_workers_match_the_national_order(national, pilot):
    # 2018-2022: 16.2 重大/特别重大 accidents a year in China [V], over ~750.64 million employed
    # (2020, unconfirmed [R]): 0.022 per million workers a year. The pilot over-represents the
    # high-risk sectors (transport, construction, chemicals, mining are ~30% of its enterprises), so
    # its rate should be above the national average, but by less than a factor of 10.
    nat = national[(2022, "all", "major_and_especially_major_accidents_per_year")] / national[
        (2020, "all", "employed_persons_million")]
    config, _ = si.datasets.zhejiang_config()
    q_major, q_especially = _major_given_catastrophe(config)
    pf = pilot.portfolio.frame
    lam = pilot.truth["expected_accidents"]
    p_cat = pf["sector"].astype(object).map({c: p.p_catastrophe for c, p in config.sectors.items()})
    expected_major = float((lam.sum(axis=1) * p_cat.reindex(lam.index)).sum() * q_major)
    worker_years = pf["headcount"].sum() * lam.shape[1]
    rate = expected_major / worker_years * 1e6
    assert nat < rate < 10 * nat, (rate, nat)
    # 特别重大 (>= 30 deaths, >= 100 serious injuries or >= 1亿 yuan) is far rarer than 重大
    assert q_especially < 0.15 * q_major
    # and the released data agree with the expectation (Poisson, 3 sd)
    observed = int(pilot.accidents.frame["grade"].isin(MAJOR_OR_WORSE).sum())
    assert abs(observed - expected_major) <= 3 * np.sqrt(expected_major) + 1, (observed, expected_major)


def test_chemical_and_fireworks_deaths_keep_the_national_proportion(national):
    # licensed fireworks production killed 10 (2021) and 8 (2022); chemicals 154 and 143 [V]:
    # chemicals kill 15-18 times as many. The generic generator (a province-like register)
    # keeps that proportion within a factor of two; expected deaths come from the truth.
    ratios = [national[(y, "hazardous_chemicals", "deaths")] / national[(y, "fireworks", "deaths")]
              for y in (2021, 2022)]
    config = SyntheticConfig()
    d = si.datasets.synthetic_portfolio(n_enterprises=30_000, years=(2022, 2023), seed=21)
    sector = d.portfolio.frame["sector"].astype(object)
    lam = d.truth["expected_accidents"].sum(axis=1).groupby(sector).sum()
    deaths_per_accident = {c: _deaths(sample_accidents(config, c, 40_000, seed=2)).mean()
                           for c in ("hazardous_chemicals", "fireworks")}
    expected = {c: lam[c] * v for c, v in deaths_per_accident.items()}
    ratio = expected["hazardous_chemicals"] / expected["fireworks"]
    assert 0.5 * min(ratios) <= ratio <= 2 * max(ratios), (ratio, ratios)


def test_larger_accidents_are_a_small_share_of_chemical_accidents(national):
    # chemicals 2018: 11 较大 of 176 accidents, 2022: 7 of 127 (5-6%); 重大 2 of 176 and 0 [V]
    a = sample_accidents(SyntheticConfig(), "hazardous_chemicals", 60_000, seed=9)
    fatal = _deaths(a) > 0
    g = _grade(a)
    larger = (g == "较大").sum() / fatal.sum()
    major = g.isin(MAJOR_OR_WORSE).sum() / fatal.sum()
    shares = [national[(y, "hazardous_chemicals", "larger_accidents")]
              / national[(y, "hazardous_chemicals", "accidents")] for y in (2018, 2022)]
    assert 0.5 * min(shares) <= larger <= 1.5 * max(shares), (larger, shares)
    assert major <= national[(2018, "hazardous_chemicals", "major_accidents")] / national[
        (2018, "hazardous_chemicals", "accidents")] * 1.5


@pytest.mark.slow
def test_zhejiang_sector_mix_has_almost_no_coal_or_fireworks(pilot):
    # Zhejiang closed its last coal mine in 2013 and has produced no coal since; it "basically
    # exited" fireworks production (fewer than 5 makers left of 58). See datasets/zhejiang-pilot.toml.
    share = pilot.portfolio.frame["sector"].astype(object).value_counts(normalize=True)
    assert share.get("coal_mining", 0) < 3e-4
    assert share.get("fireworks", 0) < 2e-3
    assert share["manufacturing"] == share.max()
