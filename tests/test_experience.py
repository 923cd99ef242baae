"""Experience rating by credibility: closed forms, consistency with Bühlmann–Straub, caps and
bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeins.errors import ValidationError
from safeins.models._credibility_base import NotFittedError
from safeins.models.credibility import BuhlmannStraub, limited_fluctuation_standard
from safeins.rating.experience import ExperienceRating


def history(seed=11, n_ent=60, n_years=5):
    rng = np.random.default_rng(seed)
    risk = rng.gamma(5.0, 0.2, n_ent)  # relative riskiness, mean 1
    expo = rng.uniform(20, 400, (n_ent, n_years))
    rate = rng.gamma(expo / 30, risk[:, None] * 30 / expo)  # mean risk, var risk^2 * 30 / expo
    return pd.DataFrame({
        "enterprise": np.repeat([f"E{i:03d}" for i in range(n_ent)], n_years),
        "year": np.tile(np.arange(2019, 2019 + n_years), n_ent),
        "loss_rate": rate.ravel(), "exposure": expo.ravel(),
    })


def test_formula_with_given_k():
    er = ExperienceRating(k=200.0)
    mod = er.modification(actual=[50.0, 150.0], expected=[100.0, 100.0], exposure=[200.0, 600.0])
    z = np.array([200 / 400, 600 / 800])
    np.testing.assert_allclose(mod, z * np.array([0.5, 1.5]) + 1 - z)
    frame = er.to_frame()
    assert list(frame.columns) == ["actual", "expected", "exposure", "actual_to_expected",
                                   "credibility", "raw_modification", "modification", "capped"]
    np.testing.assert_allclose(frame["credibility"], z)


def test_cap_and_floor_are_user_parameters():
    er = ExperienceRating(k=10.0, cap=(0.7, 1.3))
    t = er.explain(actual=[0.0, 100.0, 1000.0], expected=[100.0, 100.0, 100.0],
                   exposure=[1000.0, 1000.0, 1000.0])
    z = 1000 / 1010
    np.testing.assert_allclose(t["raw_modification"], [1 - z, 1.0, 10 * z + 1 - z])
    np.testing.assert_allclose(t["modification"], [0.7, 1.0, 1.3])
    assert t["capped"].tolist() == [True, False, True]
    # no cap by default: nothing invented
    raw = ExperienceRating(k=10.0).modification([1000.0], [100.0], [1000.0])
    assert raw.iloc[0] == pytest.approx(10 * z + 1 - z)
    # one-sided cap
    only_ceiling = ExperienceRating(k=10.0, cap=(None, 2.0)).modification([0.0, 1e4], [1.0, 1.0],
                                                                          [1e4, 1e4])
    assert only_ceiling.iloc[1] == 2.0 and only_ceiling.iloc[0] < 0.01


def test_fit_learns_k_from_buhlmann_straub_and_matches_premiums():
    hist = history()
    er = ExperienceRating().fit(hist, group="enterprise", value="loss_rate", weight="exposure",
                                period="year")
    bs = BuhlmannStraub().fit(hist, group="enterprise", value="loss_rate", weight="exposure")
    assert er.k_ == pytest.approx(bs.k_, rel=1e-12)
    assert 0 < er.k_ < np.inf
    # mod x complement = credibility premium when A/E = group mean / complement
    w, xbar, m = bs.weights_, bs.means_, bs.collective_
    mod = er.modification(actual=xbar * w, expected=m * w, exposure=w)
    np.testing.assert_allclose(mod * m, bs.premiums_, rtol=1e-12)
    assert mod.index.tolist() == bs.premiums_.index.tolist()  # Series index carried through
    assert "k = " in er.summary() and "capped: 0" in er.summary()


def test_limited_fluctuation_square_root_rule():
    n_full = limited_fluctuation_standard(0.90, 0.05)
    er = ExperienceRating(credibility="limited-fluctuation", full_credibility=n_full)
    exposure = np.array([0.0, n_full / 4, n_full, 4 * n_full])
    np.testing.assert_allclose(er.credibility_factor(exposure), [0.0, 0.5, 1.0, 1.0])
    mod = er.modification(actual=[0.0, 200.0, 200.0, 200.0], expected=[100.0] * 4,
                          exposure=exposure)
    np.testing.assert_allclose(mod, [1.0, 1.5, 2.0, 2.0])
    with pytest.raises(ValidationError, match="limited-fluctuation needs no fit"):
        er.fit(history(), group="enterprise", value="loss_rate", weight="exposure")


def test_exposure_defaults_to_expected_and_zero_exposure_means_no_credibility():
    er = ExperienceRating(k=100.0)
    a = er.modification(actual=pd.Series([300.0], index=["E1"]), expected=[100.0])
    assert a["E1"] == pytest.approx(0.5 * 3 + 0.5)
    b = er.modification(actual=[300.0], expected=[100.0], exposure=[0.0])
    assert b.iloc[0] == 1.0


def test_bad_input_one_error():
    er = ExperienceRating(k=100.0)
    with pytest.raises(ValidationError) as err:
        er.modification(actual=[-1.0, 5.0, np.nan], expected=[0.0, 10.0, 10.0],
                        exposure=[1.0, -3.0, 1.0], index=["A", "B", "C"])
    probs = err.value.problems
    assert sorted(zip(probs["row"], probs["column"], strict=True)) == [
        ("A", "actual"), ("A", "expected"), ("B", "exposure"), ("C", "actual")]
    with pytest.raises(ValidationError, match="length 2"):
        er.modification(actual=[1.0, 2.0], expected=[1.0])
    with pytest.raises(ValidationError, match="floor must not exceed"):
        ExperienceRating(k=1.0, cap=(1.5, 0.8))
    with pytest.raises(ValidationError) as err:
        ExperienceRating(credibility="bayes", cap=(-1, 2))
    assert len(err.value) == 2
    with pytest.raises(ValidationError, match="full_credibility"):
        ExperienceRating(credibility="limited-fluctuation")
    with pytest.raises(NotFittedError):
        ExperienceRating().modification([1.0], [1.0])
    with pytest.raises(NotFittedError):
        ExperienceRating(k=1.0).to_frame()
    with pytest.raises(ValidationError, match="k was given"):
        ExperienceRating(k=1.0).fit(history(), group="enterprise", value="loss_rate",
                                    weight="exposure")


@given(st.lists(st.tuples(st.floats(0, 1e6), st.floats(1.0, 1e6), st.floats(0, 1e5)),
                min_size=1, max_size=20),
       st.floats(0.0, 1e4), st.floats(0.3, 1.0), st.floats(1.0, 3.0))
def test_modification_invariants(rows, k, floor, ceiling):
    a, e, w = (np.array(c) for c in zip(*rows, strict=True))
    er = ExperienceRating(k=k, cap=(floor, ceiling))
    t = er.explain(a, e, w)
    assert np.all((t["credibility"] >= 0) & (t["credibility"] <= 1))
    tol = 1e-12 * np.maximum(1.0, a / e)
    raw = t["raw_modification"].to_numpy()
    assert np.all(raw >= np.minimum(1.0, a / e) - tol)
    assert np.all(raw <= np.maximum(1.0, a / e) + tol)
    assert np.all((t["modification"] >= floor) & (t["modification"] <= ceiling))


def test_plot_and_repr():
    er = ExperienceRating(k=5.0, cap=(0.5, 2.0))
    assert "ExperienceRating(" in repr(er)
    er.modification([1.0, 3.0], [2.0, 2.0], [10.0, 10.0])
    assert er.plot() is not None
    assert "Experience rating" in repr(er)
