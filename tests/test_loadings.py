"""Loadings: gross premium, regime caps, TOML round trip, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from safeins import regimes
from safeins.errors import RegimeBreachError, SafeinsWarning, ValidationError
from safeins.rating.loadings import Loadings
from safeins.rating.principles import ExpectedValue, StandardDeviation, WangTransform


def test_gross_premium_formula():
    L = Loadings(commission=0.05, prevention=0.15, expenses=0.10, profit=0.03,
                 principle=StandardDeviation(0.1), regime="national-2025")
    assert L.loading_ratio == pytest.approx(0.33)
    assert L.permissible_loss_ratio == pytest.approx(0.67)
    assert L.gross(670.0) == pytest.approx(1000.0)
    assert L.gross(600.0, risk_load=70.0) == pytest.approx(1000.0)
    out = L.gross(np.array([670.0, 1340.0]), risk_load=np.array([0.0, 67.0]))
    np.testing.assert_allclose(out, [1000.0, 2100.0])


def test_premium_of_a_risk_uses_the_principle():
    x = np.array([0.0, 0.0, 0.0, 1000.0])
    L = Loadings(principle=StandardDeviation(0.1))
    expect = (x.mean() + 0.1 * x.std()) / (1 - 0.33)
    assert L.premium(x) == pytest.approx(expect)


def test_breakdown_adds_up():
    L = Loadings()
    b = L.breakdown(np.array([500.0, 800.0]), risk_load=np.array([10.0, 20.0]))
    parts = b[["pure", "risk_load", "commission", "prevention", "expenses", "profit"]].sum(axis=1)
    np.testing.assert_allclose(parts, b["gross"])
    np.testing.assert_allclose(b["prevention"] / b["gross"], 0.15)


@given(c=hs.floats(0, 0.05), p=hs.floats(0, 0.21), e=hs.floats(0, 0.3), pr=hs.floats(0, 0.3),
       pure=hs.floats(0, 1e7))
def test_gross_recovers_pure_after_all_outgoings(c, p, e, pr, pure):
    L = Loadings(commission=c, prevention=p, expenses=e, profit=pr)
    g = L.gross(pure)
    assert g * (1 - c - p - e - pr) == pytest.approx(pure, rel=1e-12, abs=1e-9)
    assert g >= pure


def test_regime_caps():
    with pytest.raises(RegimeBreachError) as err:
        Loadings(commission=0.06, prevention=0.25)
    assert {f.rule for f in err.value.findings} == {"commission_cap", "prevention_cap"}
    with pytest.warns(SafeinsWarning, match="commission_cap"):
        L = Loadings(commission=0.06, override=True)
    assert L.commission == 0.06
    # 2017 rules had no commission cap
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Loadings(commission=0.10, regime="national-2017").commission == 0.10
    assert regimes.get("national-2025").check(Loadings()).ok
    # at the cap exactly is allowed
    assert Loadings(commission=0.05, prevention=0.21, expenses=0.1, profit=0.0).prevention == 0.21


def test_toml_round_trip(tmp_path):
    L = Loadings(commission=0.04, prevention=0.2, expenses=0.12, profit=0.02,
                 principle=WangTransform(0.3))
    text = L.to_toml_text()
    assert 'kind = "wang"' in text and "parameter = 0.3" in text
    assert Loadings.from_toml_text(text) == L
    path = L.to_toml(tmp_path / "loadings.toml")
    assert Loadings.from_toml(path) == L
    assert Loadings.from_dict({"principle": {"kind": "expected_value", "parameter": 0.2}}) \
        .principle == ExpectedValue(0.2)
    assert "principle" in Loadings.json_schema()["properties"]


def test_from_dict_checks_regime_too():
    with pytest.raises(RegimeBreachError):
        Loadings.from_dict({"commission": 0.08})


def test_bad_input_one_error():
    with pytest.raises(ValidationError) as err:
        Loadings(commission=-0.1, prevention=1.5, regime="national-2030",
                 principle={"kind": "foo", "parameter": 1})
    assert set(err.value.problems["column"]) == {"commission", "prevention", "regime", "principle"}
    with pytest.raises(ValidationError, match="must be < 1"):
        Loadings(commission=0.05, prevention=0.2, expenses=0.5, profit=0.3, override=True)
    with pytest.raises(ValidationError, match="pure") as err:
        Loadings().gross(np.array([1.0, -2.0, np.inf]))
    assert list(err.value.problems["row"]) == [1, 2]
    with pytest.raises(ValidationError, match=r"(?i)extra"):
        Loadings.from_dict({"comission": 0.05})
