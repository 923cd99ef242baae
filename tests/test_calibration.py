"""The synthetic world against the public anchors of the calibration notes."""

import pytest

import safeins as si
from safeins.demo import run_demo


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
