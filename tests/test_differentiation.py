"""Issue 10 "done when": the demo's pricing follows the generator's truth.

Everything is computed from whatever the synthetic generator produces (its ``truth``): ratios and
properties only, no figure of today's data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import safeins as si
from safeins.demo import price_book


def true_next_year(truth: dict, policy_year: int) -> pd.Series:
    """The generator's expected accidents of each enterprise in ``policy_year``.

    The generator's mean is ``static x frailty x exp(hazard_coef H_t) x exp(trend (t - first))``;
    removing the trend from each observed year but the last and averaging gives the enterprise's
    level over hazard-rate draws that do not include the prior year (on which pricing groups), and
    the trend carries it to the policy year.
    """
    lam = truth["expected_accidents"]
    years = list(lam.columns)
    first, trend = years[0], truth["trend"]
    level = pd.concat([lam[y] / np.exp(trend * (y - first)) for y in years[:-1]], axis=1).mean(axis=1)
    return level * np.exp(trend * (policy_year - first))


@pytest.fixture(scope="module")
def pilot():
    data = si.datasets.load("zhejiang-pilot")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", si.errors.SafeinsWarning)
        book = price_book(data.portfolio, data.accidents, data.hazards)
    return data, book


def relative_loss_ratio(data, book) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    q = book.quotes.to_frame()
    truth = true_next_year(data.truth, book.policy_year).reindex(q.index)
    sectors = q["sector"].astype(str)
    # the same severity on both sides: the test is about who pays for how many accidents
    sev = {s: book.accident_model.insured_loss(book.coverage, sector=s).mean() for s in sectors.unique()}
    loss = truth * sectors.map(sev).to_numpy()
    pf = data.portfolio.frame
    last = data.hazards.frame.query("year == @book.policy_year - 1").set_index("enterprise_id")
    rate = last["hazards_found"].reindex(q.index) / (pf["headcount"] / 100.0)
    groups = pd.DataFrame({"credit_grade": pf["credit_grade"].astype(str),
                           "standardization": pf["standardization"].astype(str),
                           "hazard_quintile": pd.qcut(rate.rank(method="first"), 5, labels=False)},
                          index=q.index)
    return loss, q["final_premium"], groups


def test_final_premiums_follow_the_truth(pilot):
    data, book = pilot
    loss, premium, groups = relative_loss_ratio(data, book)
    book_ratio = loss.sum() / premium.sum()
    for col in groups.columns:
        rel = loss.groupby(groups[col]).sum() / premium.groupby(groups[col]).sum() / book_ratio
        assert len(rel) >= 4, col
        assert rel.between(0.9, 1.1).all(), (col, rel.round(3).to_dict())


def test_without_the_fitted_factors_premiums_do_not_follow(pilot):
    """The check above can fail: rated at the base levels, credit grades miss the truth."""
    data, book = pilot
    q = book.quotes.to_frame()
    flat = q["final_premium"] / q["rel_credit_grade"] / q["rel_standardization"]
    loss, _, groups = relative_loss_ratio(data, book)
    rel = loss.groupby(groups["credit_grade"]).sum() / flat.groupby(groups["credit_grade"]).sum()
    rel = rel / (loss.sum() / flat.sum())
    assert not rel.between(0.9, 1.1).all()


def test_projected_accidents_within_3_percent_of_the_truth(pilot):
    data, book = pilot
    truth = true_next_year(data.truth, book.policy_year).sum()
    projected = book.projection["expected"].sum()
    assert projected == pytest.approx(truth, rel=0.03)
    # the trend is estimated with its interval, and the truth's trend lies inside it
    t = book.frequency.trend().iloc[0]
    assert t["ci_low"] < np.exp(data.truth["trend"]) < t["ci_high"]
    assert any("trend: frequency x" in n for n in book.tariff.notes)


def test_pilot_tariff_states_its_methods_and_units(pilot):
    _, book = pilot
    notes = " ".join(book.tariff.notes)
    assert "Poisson-gamma credibility" in notes and "credit_grade" in notes
    frame = book.tariff.to_frame()
    assert set(frame.loc[frame["sector"].isin(["manufacturing", "trade"]), "unit"]) == {"yuan per worker"}
    assert frame["unit"].str.startswith("‰ of").any()
    rel = book.frequency.relativities_
    assert rel["exposure"].isna().all()  # workers, yuan and vessels are never added up
    assert (rel["enterprise_years"] > 0).all() and (rel["worker_years"] > 0).all()
    cg = rel[rel["factor"] == "credit_grade"]
    assert cg.loc[cg["is_base"], "level"].item() == cg.loc[cg["enterprise_years"].idxmax(), "level"]


def test_explain_one_enterprise_per_credit_grade(pilot):
    data, book = pilot
    q = book.quotes.to_frame()
    for grade in "ABCD":
        eid = q.index[data.portfolio.frame["credit_grade"].astype(str).to_numpy() == grade][0]
        text = book.quotes.explain(eid)
        rel = book.tariff.relativities[0].levels[grade]
        assert f"credit_grade = {grade}: x {rel:.4g}" in text
        assert "schedule 'fuyang'" in text and "prior_hazard_rate" in text
        assert f"{q.at[eid, 'final_premium']:,.2f} yuan" in text


@pytest.mark.parametrize(("n", "seed"), [(300, 1), (300, 4), (1_000, 5), (3_000, 11)])
def test_no_zero_premium_in_small_books(n, seed):
    d = si.datasets.synthetic_portfolio(n_enterprises=n, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", si.errors.SafeinsWarning)
        book = price_book(d.portfolio, d.accidents, d.hazards)
    q = book.quotes.to_frame()
    assert (q["final_premium"] > 0).all()
    assert (book.tariff.to_frame()["rate"] > 0).all()
    zero_levels = book.frequency.zero_levels_.get("sector", [])
    for s in zero_levels:  # sectors without an accident got a complement, stated in the notes
        assert any(n_.startswith(f"sector={s}: no accident") for n_ in book.tariff.notes)
