"""The service catalogue, the response curve and the response model."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from safeins.errors import ValidationError
from safeins.prevention import ResponseCurve, ResponseModel, ServiceCatalog


@pytest.fixture(scope="module")
def cat():
    return ServiceCatalog.load("default")


def test_default_catalogue_lists_the_aq9010_items_and_says_it_is_illustrative(cat):
    assert cat.illustrative
    names = {s.name_zh for s in cat.services.values()}
    for item in ("安全生产宣传教育培训", "安全风险辨识评估", "生产安全事故隐患排查",
                 "安全生产标准化建设", "应急预案编制和应急演练", "安全生产科技推广应用"):
        assert item in names
    assert {s.channel for s in cat.services.values()} == {"frequency", "hazard", "severity"}


def test_sector_lookup_falls_back_to_parent_then_default(cat):
    assert cat.effect("hazard_investigation", "coal_mining") == cat.effect("hazard_investigation", "mining")
    default = cat.services["hazard_investigation"].effects["default"]
    assert cat.effect("hazard_investigation", "trade") == default
    assert cat.profile("non_coal_mining").hazard_share == cat.sectors["mining"].hazard_share


def test_toml_round_trip(cat, tmp_path):
    path = cat.to_toml(tmp_path / "mine.toml")
    assert ServiceCatalog.load(path) == cat


def test_unknown_catalogue_and_missing_file():
    with pytest.raises(ValidationError, match="shipped: default"):
        ServiceCatalog.load("defualt")
    with pytest.raises(ValidationError, match="not found"):
        ServiceCatalog.load("/nonexistent/x.toml")


def _raw(cat):
    return cat.to_dict()


def test_inconsistent_catalogues_are_refused(cat):
    d = _raw(cat)
    d["services"]["training"]["effects"]["default"]["r_max"] = 0.5  # above r_upper 0.08
    with pytest.raises(ValidationError, match="r_upper"):
        ServiceCatalog.from_dict(d)
    d = _raw(cat)
    d["services"]["training"]["effects"]["minnig"] = d["services"]["training"]["effects"]["default"]
    with pytest.raises(ValidationError, match="unknown sector codes"):
        ServiceCatalog.from_dict(d)
    d = _raw(cat)
    d["services"]["drills"]["effects"]["default"]["r_upper"] = 0.9
    with pytest.raises(ValidationError, match="add up to"):
        ServiceCatalog.from_dict(d)
    d = _raw(cat)
    d["services"]["training"]["unit_cost"] = -3.0
    d["services"]["drills"]["channel"] = "luck"
    with pytest.raises(ValidationError) as err:
        ServiceCatalog.from_dict(d)
    assert len(err.value) == 2


def test_select_unknown_services_names_each(cat):
    with pytest.raises(ValidationError) as err:
        cat.select(["training", "massage", "drils"])
    assert list(err.value.problems["value"]) == ["massage", "drils"]
    assert "did you mean 'drills'" in str(err.value)


@given(st.floats(0.01, 1.0), st.floats(1.0, 1e5), st.floats(0.0, 1e6), st.floats(0.0, 1e6))
def test_response_curve_is_decreasing_concave_and_saturating(r, k, x1, x2):
    c = ResponseCurve(r, k)
    lo, hi = sorted((x1, x2))
    assert c(hi) <= c(lo) + 1e-15
    assert c(hi) >= 1 - r - 1e-15
    # concavity of the reduction: chord below the curve at the midpoint
    mid = 0.5 * (lo + hi)
    assert c.reduction(mid) >= 0.5 * (c.reduction(lo) + c.reduction(hi)) - 1e-12


def test_response_curve_marginal_and_inverse():
    c = ResponseCurve(0.3, 2000.0)
    x = 1500.0
    h = 1e-3
    numeric = (c.reduction(x + h) - c.reduction(x - h)) / (2 * h)
    assert c.marginal(x) == pytest.approx(numeric, rel=1e-7)
    assert c.reduction(c.spend_for(0.2)) == pytest.approx(0.2, rel=1e-12)
    with pytest.raises(ValidationError, match="saturation"):
        c.spend_for(0.3)
    with pytest.raises(ValidationError):
        ResponseCurve(1.5, -1.0)


def test_model_fractions_closed_form(cat):
    m = ResponseModel(cat, ["construction", "mining"], headcount=[100.0, 400.0],
                      standardization=["1", "none"])
    x = np.zeros((2, len(cat.codes)))
    j = {c: i for i, c in enumerate(cat.codes)}
    x[0, j["training"]] = 6000.0                 # construction training: r .06, k 2 × 3000
    x[1, j["hazard_investigation"]] = 8000.0     # mining: r .6, k 2 × 4000 × sqrt(4)
    x[1, j["drills"]] = 15000.0                  # severity: r .10, k 1.5 × 5000 × 2
    F, V = m.fractions(x)
    assert F[0] == pytest.approx(0.06 * (1 - np.exp(-1)), rel=1e-12)
    assert V[0] == 0.0
    assert F[1] == pytest.approx(0.4 * 0.6 * (1 - np.exp(-0.5)), rel=1e-12)
    assert V[1] == pytest.approx(0.10 * (1 - np.exp(-1)), rel=1e-12)
    # standardisation does nothing for a grade-1 enterprise
    assert m.r_max()[0, j["standardisation"]] == 0.0
    assert m.r_max()[1, j["standardisation"]] > 0.0


def test_parameter_draws_have_the_stated_laws(cat):
    m = ResponseModel(cat.select(["hazard_investigation"]), ["mining"])
    p = m.draw(20_000, seed=4)
    e = cat.effect("hazard_investigation", "mining")
    r = p.r[:, 0, 0]
    assert r.max() <= e.r_upper
    a, b = e.beta_parameters()
    # mean within 4 standard errors; the whole law by Kolmogorov-Smirnov
    assert abs(r.mean() - e.r_max) < 4 * r.std() / np.sqrt(len(r))
    assert stats.kstest(r / e.r_upper, stats.beta(a, b).cdf).pvalue > 1e-3
    k = p.k[:, 0, 0]
    assert stats.kstest(np.log(k), stats.norm(np.log(e.k_units * 4000.0), e.k_sigma).cdf).pvalue > 1e-3


def test_expected_effect_under_uncertainty_matches_quadrature(cat):
    """E[r (1 - e^{-x/k})] = E[r] E[1 - e^{-x/k}] (independent): check the Monte Carlo mean."""
    m = ResponseModel(cat.select(["training"]), ["construction"])
    e = cat.effect("training", "construction")
    kmed = e.k_units * 3000.0
    x = np.array([[5000.0]])
    p = m.draw(40_000, seed=9)
    F, _ = m.fractions(x, p)
    exact = e.r_max * integrate.quad(
        lambda z: -np.expm1(-5000.0 / (kmed * np.exp(e.k_sigma * z))) * stats.norm.pdf(z), -12, 12)[0]
    assert F.mean() == pytest.approx(exact, abs=4 * F.std() / np.sqrt(F.size))


def test_draws_are_reproducible(cat):
    m = ResponseModel(cat, ["mining", "transport"])
    a, b = m.draw(5, seed=3), m.draw(5, seed=3)
    np.testing.assert_array_equal(a.r, b.r)
    np.testing.assert_array_equal(a.k, b.k)
