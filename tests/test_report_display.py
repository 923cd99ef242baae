"""Display: short reprs, notebook HTML, and summaries that print as text and show as HTML."""

import pandas as pd
import pytest

import safeins as si
from safeins._base.results import REPR_MAX_LINES, ResultMixin, Summary, short_repr


@pytest.fixture(scope="module")
def fitted():
    data = si.datasets.synthetic_portfolio(n_enterprises=600, seed=21)
    et = si.exposure_table(data.portfolio, data.accidents, data.hazards)
    freq = si.FrequencyGLM("poisson", factors=["size_band", "credit_grade"]).fit(
        et, counts="accidents", exposure="exposure")
    return data, freq


@pytest.mark.parametrize("name", ["zhejiang-demo", "hunan-construction", "shandong-construction-2018"])
def test_a_tariff_prints_in_a_few_lines(name):
    t = si.Tariff.load(name)
    for text in (str(t), repr(t)):
        assert len(text.splitlines()) <= REPR_MAX_LINES + 1 and len(text) < 3_000
        assert name in text
    html = t._repr_html_()
    assert "<table" in html and html.count("<tr>") <= 2 * 30 + 10  # summary + at most 30 rows


def test_floating_rule_and_policy_display():
    rule = si.FloatingRule.load("fuyang")
    assert str(rule) == repr(rule) and "fuyang" in str(rule) and "<table" in rule._repr_html_()
    cov = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
    assert "500,000" in str(cov) and "<table" in cov._repr_html_()


def test_fitted_model_displays_and_unfitted_falls_back_to_text(fitted):
    _, freq = fitted
    html = freq._repr_html_()
    assert html and "FrequencyGLM" in html
    assert si.FrequencyGLM("poisson", factors=["sector"])._repr_html_() is None
    assert repr(si.FrequencyGLM("poisson", factors=["sector"])).startswith("FrequencyGLM(")


def test_result_summaries_are_summary_objects(fitted):
    data, _ = fitted
    cov = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
    findings = si.regimes.get("national-2025").check(cov)
    s = findings.summary()
    assert isinstance(s, Summary) and isinstance(s, str)
    assert str(s) in repr(findings) and "<pre" in s._repr_html_()
    model = si.AccidentModel().fit(data.accidents, data.portfolio)
    assert isinstance(model.summary(), pd.DataFrame)  # a table summary stays a DataFrame


def test_summary_is_the_text_and_carries_an_optional_frame():
    frame = pd.DataFrame({"x": [1, 2]})
    s = Summary("two rows", title="T", frame=frame)
    assert s == "two rows" and s.upper() == "TWO ROWS" and repr(s) == "two rows"
    assert s.to_frame() is frame and "<table" in s._repr_html_() and "<strong>T</strong>" in s._repr_html_()


def test_long_results_are_cut_in_repr_but_not_in_summary():
    class Long(ResultMixin):
        def summary(self):
            return "\n".join(f"row {i}" for i in range(60))

        def to_frame(self):
            return pd.DataFrame({"i": range(60)})

    r = Long()
    assert len(r.summary().splitlines()) == 60
    lines = repr(r).splitlines()
    assert len(lines) == REPR_MAX_LINES + 1 and lines[-1].startswith("... 35 more lines")
    assert short_repr(r) == repr(r)


def test_every_public_result_and_configuration_displays_in_a_notebook():
    # configurations, fitted models, tariffs, rules, plans and results: a short repr and HTML
    import numpy as np
    import pandas as pd

    shown = [si.Loadings(commission=0.05, prevention=0.15), si.regimes.get("national-2025"),
             si.PreventionFund(share=0.15), si.BonusMalus([[0, 1, 2], [0, 2, 2], [1, 2, 2]], start=1),
             si.Scheme.load("zhejiang-pilot-2015"), si.Tariff.load("zhejiang-demo"),
             si.FloatingRule.load("fuyang")]
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"g": rng.choice(list("AB"), 500), "exposure": 1.0})
    df["accidents"] = rng.poisson(0.3, 500)
    shown.append(si.FrequencyGLM("poisson", ["g"]).fit(df))
    for obj in shown:
        assert len(repr(obj).splitlines()) <= 26 and len(repr(obj)) < 5_000, type(obj)
        page = obj._repr_html_()
        assert page and ("<table" in page or "<pre" in page), type(obj)
    for obj in (shown[5], shown[6], shown[-1], shown[4]):
        s = obj.summary()
        assert isinstance(s, si.Summary) and "<" in s._repr_html_()
