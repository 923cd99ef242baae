import numpy as np
import pandas as pd
import pytest

import safeins as si
from safeins.errors import ValidationError


def test_list_names_every_dataset():
    assert si.datasets.list() == ["hachemeister", "national-statistics", "zhejiang-pilot"]


def test_same_seed_same_data_other_seed_other_data():
    a = si.datasets.synthetic_portfolio(n_enterprises=300, years=(2022, 2023), seed=42)
    b = si.datasets.synthetic_portfolio(n_enterprises=300, years=(2022, 2023), seed=42)
    c = si.datasets.synthetic_portfolio(n_enterprises=300, years=(2022, 2023), seed=43)
    pd.testing.assert_frame_equal(a.accidents.frame, b.accidents.frame)
    pd.testing.assert_frame_equal(a.portfolio.frame, b.portfolio.frame)
    assert not a.portfolio.frame["headcount"].equals(c.portfolio.frame["headcount"])


def test_generator_truth_matches_the_data():
    d = si.datasets.synthetic_portfolio(n_enterprises=4000, years=(2021, 2022, 2023), seed=7)
    lam = d.truth["expected_accidents"]
    counts = (d.accidents.frame.groupby(["enterprise_id", "year"]).size()
              .unstack(fill_value=0).reindex(index=lam.index, columns=lam.columns, fill_value=0))
    # total accidents agree with the sum of the true Poisson means (sd = sqrt(total))
    total, expected = counts.to_numpy().sum(), lam.to_numpy().sum()
    assert abs(total - expected) < 4 * np.sqrt(expected)
    # credit grade D is truly 1.7 / 0.8 times as risky as A (same-exposure comparison via the truth)
    rel = d.truth["relativities"]["credit_grade"]
    assert rel["D"] / rel["A"] == pytest.approx(1.7 / 0.8)
    # the latent risk links credit grade and hazards: D-grade firms find more hazards per worker
    et = si.exposure_table(d.portfolio, d.accidents, d.hazards)
    by = et.groupby("credit_grade", observed=True)["hazard_rate"].mean()
    assert by["D"] > by["A"]


def test_calibration_orders_of_magnitude():
    d = si.datasets.synthetic_portfolio(n_enterprises=20_000, years=(2022, 2023), seed=3)
    et = si.exposure_table(d.portfolio, d.accidents, d.hazards)
    by = et.groupby("sector", observed=True).agg(deaths=("deaths", "sum"), hc=("headcount", "sum"))
    per_100k = by["deaths"] / by["hc"] * 1e5
    # high-risk sectors kill more per worker than trade; all well below 100 per 100k
    assert per_100k["coal_mining"] > per_100k["trade"]
    assert per_100k.max() < 100
    # single-victim accidents dominate; some 较大 or worse accidents occur
    g = d.accidents.frame["grade"].value_counts()
    assert g["一般"] > 0.99 * len(d.accidents)


def test_bad_generator_options():
    with pytest.raises(ValidationError):
        si.datasets.synthetic_portfolio(n_enterprises=0, seed=1)
    with pytest.raises(ValidationError):
        si.datasets.load("no-such-data")


def test_hachemeister_and_national_statistics():
    h = si.datasets.load("hachemeister")
    assert h.shape == (60, 4) and h["state"].nunique() == 5
    ns = si.datasets.load("national-statistics")
    assert ns["source"].notna().all() and set(ns["status"]) <= {"V", "R"}
    row = ns[(ns.year == 2020) & (ns.measure == "deaths_per_100k_employed")]
    assert row["value"].item() == pytest.approx(1.301)


@pytest.mark.slow
def test_zhejiang_pilot_is_the_released_data():
    pf = si.datasets.load_portfolio("zhejiang-pilot")
    f = pf.frame
    assert f["region"].nunique() == 11
    assert (f["region"] == "宁波").sum() == 78_200
    acc = si.datasets.load_accidents("zhejiang-pilot")
    assert sorted(acc.frame["year"].unique()) == [2019, 2020, 2021, 2022, 2023]
    assert set(acc.frame["grade"].astype(str)) >= {"一般", "较大"}
    assert len(si.datasets.load_hazards("zhejiang-pilot")) == len(pf) * 5
    assert len(pf) == 124_096
    # the truth of the policy year stays available for pricing tests
    truth = si.datasets.load("zhejiang-pilot").truth
    assert truth["policy_year"] == 2024
    assert truth["next_year_expected_accidents"].index.equals(f.index)
    assert list(truth["expected_accidents"].columns) == [2019, 2020, 2021, 2022, 2023]


def test_next_year_truth_extrapolates_the_data_years():
    # the policy year's expected accidents integrate over its not-yet-drawn hazards exactly; over a
    # book the realised hazard effects of the last year average to the same expectation, so the
    # totals differ by the trend alone (up to sampling noise of the hazards, well under 1%)
    d = si.datasets.synthetic_portfolio(n_enterprises=20_000, years=(2021, 2022, 2023), seed=8)
    truth = d.truth
    nxt, lam = truth["next_year_expected_accidents"], truth["expected_accidents"]
    assert truth["policy_year"] == 2024 and nxt.name == 2024
    assert nxt.sum() == pytest.approx(lam[2023].sum() * np.exp(truth["trend"]), rel=0.01)
    assert (nxt > 0).all()
    # for one enterprise, the closed form against a Monte Carlo of its hazards
    cfg = truth["config"]
    e = nxt.index[0]
    head = d.portfolio.frame.loc[e, "headcount"]
    mu = cfg.hazards_per_100 * head / 100 * np.exp(cfg.hazard_z_effect * truth["latent_risk"][e] - 0.125)
    rng = np.random.default_rng(0)
    mc = np.exp(cfg.hazard_coef * rng.poisson(mu, 400_000) / (head / 100)).mean()
    closed = np.exp(mu * np.expm1(cfg.hazard_coef * 100 / head))
    assert mc == pytest.approx(closed, rel=0.01)


def test_zhejiang_manifest_sector_shares_are_checked(monkeypatch):
    from safeins.domain import datasets

    manifest = datasets._manifest()
    bad = dict(manifest, sector_shares={**manifest["sector_shares"], "coal": 0.1})
    del bad["sector_shares"]["trade"]
    monkeypatch.setattr(datasets, "_manifest", lambda: bad)
    with pytest.raises(ValidationError) as err:
        datasets.zhejiang_config()
    assert set(err.value.problems["column"]) == {"coal", "trade"}
