"""FloatingRule: the Fuyang schedule, the Taiwan loss-ratio template, combination, bounds, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeins.errors import ValidationError
from safeins.rating.floating import FloatingRule, RuleFactor

GRADES = ["none", "一般", "较大", "重大", "特别重大"]
_ILLUSTRATIVE = FloatingRule.load("illustrative")


@pytest.fixture(scope="module")
def fuyang():
    return FloatingRule.load("fuyang")


@pytest.fixture(scope="module")
def illustrative():
    return FloatingRule.load("illustrative")


# --- the Fuyang schedule (docs/domain/regulation.md#fuyang) -------------------------------------------
@pytest.mark.parametrize("grade, expected", [("none", 0.90), ("一般", 1.10), ("较大", 1.20),
                                             ("重大", 1.30), ("特别重大", 1.30)])
def test_fuyang_accident_grade(fuyang, grade, expected):
    f = fuyang.factor(accident_grade=grade)
    assert f.factor == pytest.approx(expected, abs=1e-12)
    assert f.defaults_used == ["award"]


def test_fuyang_awards_add_up(fuyang):
    assert fuyang.combine == "additive"
    assert fuyang.factor(accident_grade="较大", award="city").factor == pytest.approx(1.15)
    assert fuyang.factor(accident_grade="none", award="province").factor == pytest.approx(0.80)
    # the implied range: -10% -10% ... +30%, so the floor and cap never bind
    assert (fuyang.floor, fuyang.cap) == (0.80, 1.30)
    assert not fuyang.factor(accident_grade="none", award="province").capped


def test_shipped_rules_cite_sources(fuyang, illustrative):
    assert fuyang.status == "regulatory" and "阜阳" in fuyang.source
    assert illustrative.status == "illustrative"
    for term in illustrative.terms:
        assert term.source, term.name
        if term.status == "illustrative":
            assert "ILLUSTRATIVE" in term.source
    sourced = {t.name for t in illustrative.terms if t.status == "regulatory"}
    assert sourced == {"accident_grade", "award"}
    # the loss-ratio term is a Taiwan labour-insurance rule: illustrative here, not regulatory
    lr = next(t for t in illustrative.terms if t.name == "loss_ratio")
    assert lr.status == "illustrative" and lr.source.startswith("ILLUSTRATIVE")


# --- the Taiwan loss-ratio template (docs/domain/calibration.md#taiwan) ------------------------------
@pytest.mark.parametrize("lr, adj", [
    (0.70, 0.0), (0.75, 0.0), (0.80, 0.0), (0.85, 0.0), (0.90, 0.05), (0.95, 0.05), (1.20, 0.20),
    (1.60, 0.40), (5.00, 0.40), (0.69, 0.0), (0.60, -0.05), (0.55, -0.05), (0.30, -0.20),
    (0.0, -0.35)])
def test_taiwan_loss_ratio(lr, adj):
    t = RuleFactor(name="lr", input="loss_ratio", kind="loss_ratio")
    assert t.adjust([lr])[0] == pytest.approx(adj, abs=1e-12)


def test_taiwan_partial_step_ceil_and_cap():
    t = RuleFactor(name="lr", input="loss_ratio", kind="loss_ratio", partial_step="ceil", max_down=0.10)
    assert t.adjust([0.85, 0.35, 0.0]).tolist() == pytest.approx([0.05, -0.10, -0.10])


def test_bands_and_value_kinds():
    b = RuleFactor(name="n", input="accident_count", kind="bands", thresholds=(0, 2, 3),
                   adjustments=(0.0, 0.05, 0.10))
    assert b.adjust([0, 1, 2, 3, 17]).tolist() == [0.0, 0.0, 0.05, 0.10, 0.10]
    v = RuleFactor(name="m", input="experience_mod", kind="value")
    assert v.adjust([0.8, 1.25]).tolist() == pytest.approx([-0.2, 0.25])


# --- combination and bounds ------------------------------------------------------------------------
def _rule(combine, floor=0.5, cap=2.0):
    return FloatingRule(name="t", combine=combine, floor=floor, cap=cap, terms=[
        {"name": "a", "input": "credit_grade", "kind": "table", "levels": {"A": -0.2, "D": 0.3}},
        {"name": "b", "input": "blacklisted", "kind": "table", "levels": {"false": 0.0, "true": 0.5}}])


def test_multiplicative_and_additive_closed_forms():
    mult = _rule("multiplicative").factor(credit_grade="D", blacklisted=True)
    assert mult.factor == pytest.approx(1.3 * 1.5)
    assert _rule("additive").factor(credit_grade="D", blacklisted=True).factor == pytest.approx(1.8)
    assert _rule("additive").factor(credit_grade="A", blacklisted=False).factor == pytest.approx(0.8)


def test_floor_and_cap_clip_and_flag():
    r = _rule("multiplicative", floor=0.9, cap=1.2)
    hi = r.factor(credit_grade="D", blacklisted=True)
    lo = r.factor(credit_grade="A", blacklisted=False)
    assert (hi.factor, hi.capped, hi.raw) == (1.2, True, pytest.approx(1.95))
    assert (lo.factor, lo.capped) == (0.9, True)


def test_vectorised_equals_scalar(illustrative):
    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame({
        "accident_grade": rng.choice(GRADES, n), "accident_count": rng.integers(0, 5, n),
        "award": rng.choice(["none", "city", "province"], n), "credit_grade": rng.choice(list("ABCD"), n),
        "blacklisted": rng.random(n) < 0.1, "standardization": rng.choice(["1", "2", "3", "none"], n),
        "unrectified": rng.integers(0, 6, n), "hazard_rate_ratio": rng.gamma(2, 0.5, n),
        "major_hazards": rng.integers(0, 3, n),
        "loss_ratio": rng.gamma(2, 0.4, n)})
    vec = illustrative.factors(frame)["factor"].to_numpy()
    loop = [illustrative.factor(**{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}).factor
            for row in frame.to_dict("records")]
    np.testing.assert_allclose(vec, loop, rtol=1e-14)


def test_toml_round_trip(illustrative, tmp_path):
    path = illustrative.to_toml(tmp_path / "r.toml")
    assert FloatingRule.load(path) == illustrative
    assert len(illustrative.to_frame()) == 32


# --- bad input ------------------------------------------------------------------------------------
def test_cap_below_floor_is_an_error():
    with pytest.raises(ValidationError, match=r"cap 0\.9 is below floor 1\.1"):
        _rule("multiplicative", floor=1.1, cap=0.9)


def test_bad_adjustment_and_missing_levels_in_one_error():
    with pytest.raises(ValidationError) as err:
        FloatingRule(name="x", floor=0.5, cap=1.5, terms=[
            {"name": "a", "input": "a", "kind": "table", "levels": {"x": -1.5}},
            {"name": "b", "input": "b", "kind": "bands", "thresholds": [0, 1], "adjustments": [0.1]}])
    assert len(err.value) == 2
    assert "-1.5" in str(err.value) and "equal, non-zero length" in str(err.value)


def test_unknown_level_and_missing_input_named(illustrative):
    frame = pd.DataFrame({"accident_grade": ["X", "一般", None], "credit_grade": ["A", "E", "B"]})
    with pytest.raises(ValidationError) as err:
        illustrative.factors(frame)
    text = str(err.value)
    assert "'X'" in text and "'E'" in text and "missing" in text
    assert "blacklisted" in text and "loss_ratio" in text  # inputs not given at all
    cols = set(err.value.problems["column"])
    assert {"accident_grade.accident_grade", "credit_grade.credit_grade", "blacklisted"} <= cols


def test_typo_in_input_is_an_error(fuyang):
    with pytest.raises(ValidationError, match="credit_grde") as err:
        fuyang.factor(accident_grade="一般x", credit_grde="B")
    assert "一般x" in str(err.value)  # the other problems are listed in the same error


def test_unknown_rule_name():
    with pytest.raises(ValidationError, match="fuyang"):
        FloatingRule.load("fuyan")


# --- invariants -------------------------------------------------------------------------------------
ranked = st.fixed_dictionaries({
    "accident_grade": st.integers(0, 4), "credit_grade": st.integers(0, 3),
    "standardization": st.integers(0, 3), "blacklisted": st.booleans(),
    "unrectified": st.integers(0, 10), "loss_ratio": st.floats(0, 5), "accident_count": st.integers(0, 9),
    "hazard_rate_ratio": st.floats(0, 10), "award": st.integers(0, 2), "major_hazards": st.integers(0, 5)})


def _inputs(d):
    return {"accident_grade": GRADES[d["accident_grade"]], "credit_grade": "ABCD"[d["credit_grade"]],
            "standardization": ["1", "2", "3", "none"][d["standardization"]],
            "blacklisted": d["blacklisted"], "unrectified": d["unrectified"], "loss_ratio": d["loss_ratio"],
            "accident_count": d["accident_count"], "hazard_rate_ratio": d["hazard_rate_ratio"],
            "award": ["province", "city", "none"][d["award"]], "major_hazards": d["major_hazards"]}


@settings(max_examples=60, deadline=None)
@given(ranked, st.sampled_from(["accident_grade", "credit_grade", "standardization", "award",
                                 "blacklisted", "unrectified", "loss_ratio", "accident_count",
                                 "major_hazards"]))
def test_worse_record_never_cheaper(d, which):
    rule = _ILLUSTRATIVE
    worse = dict(d)
    if which == "blacklisted":
        worse["blacklisted"] = True
    elif which == "loss_ratio":
        worse["loss_ratio"] = d["loss_ratio"] + 0.3
    else:
        worse[which] = min(d[which] + 1, {"accident_grade": 4, "credit_grade": 3, "standardization": 3,
                                          "award": 2}.get(which, 99))
    f0 = rule.factor(**_inputs(d))
    f1 = rule.factor(**_inputs(worse))
    assert f1.factor >= f0.factor - 1e-12
    assert rule.floor <= f0.factor <= rule.cap


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.9, 3.0), min_size=1, max_size=4), st.floats(0.1, 1.0), st.floats(0.0, 2.0),
       st.sampled_from(["multiplicative", "additive"]))
def test_factor_within_floor_and_cap(adjs, floor, width, combine):
    terms = [{"name": f"t{i}", "input": f"x{i}", "kind": "table", "levels": {"a": a}}
             for i, a in enumerate(adjs)]
    rule = FloatingRule(name="h", combine=combine, floor=floor, cap=floor + width, terms=terms)
    f = rule.factor(**{f"x{i}": "a" for i in range(len(adjs))})
    assert floor <= f.factor <= floor + width
    raw = np.prod([1 + a for a in adjs]) if combine == "multiplicative" else 1 + sum(adjs)
    assert f.raw == pytest.approx(raw)


# --- rules fitted from a frequency GLM (issue 10 part 1) -----------------------------------------

@pytest.fixture(scope="module")
def glm():
    from safeins.models.frequency_glm import FrequencyGLM

    rng = np.random.default_rng(11)
    n = 6000
    df = pd.DataFrame({"credit_grade": rng.choice(list("ABCD"), n, p=[0.3, 0.4, 0.2, 0.1]),
                       "prior_hazard_rate": rng.gamma(2.0, 1.5, n), "exposure": rng.uniform(1, 3, n)})
    rel = df["credit_grade"].map({"A": 0.8, "B": 1.0, "C": 1.3, "D": 1.7})
    df["accidents"] = rng.poisson(0.2 * df["exposure"] * rel * np.exp(0.1 * df["prior_hazard_rate"]))
    m = FrequencyGLM("poisson", ["credit_grade", "prior_hazard_rate"],
                     numeric={"prior_hazard_rate": 4}).fit(df)
    return m, df


def test_from_model_carries_the_glm_relativities(glm):
    m, df = glm
    rule = FloatingRule.from_model(m, ["credit_grade", "prior_hazard_rate"], floor=0.3, cap=3.0, data=df)
    rel = m.relativities_.set_index(["factor", "level"])["relativity"]
    credit = next(t for t in rule.terms if t.name == "credit_grade")
    for level, adj in credit.levels.items():  # thousands of accidents: Z ~ 1
        assert 1 + adj == pytest.approx(rel[("credit_grade", level)], rel=2e-3)
    hz = next(t for t in rule.terms if t.name == "prior_hazard_rate")
    assert hz.kind == "bins" and hz.input == "hazard_rate" and hz.status == "fitted"
    # bins closed on the right, exactly as the GLM codes them
    x = df["prior_hazard_rate"].head(200)
    levels = m.level_of(df.head(200), "prior_hazard_rate")
    expected = levels.map({lv: rel[("prior_hazard_rate", lv)] for lv in levels.unique()})
    got = 1 + hz.adjust(x.to_numpy())
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=2e-3)


def test_from_model_composes_after_the_schedule_in_the_band(glm, fuyang):
    m, df = glm
    rule = FloatingRule.from_model(m, ["credit_grade"], floor=0.75, cap=1.35, schedule="fuyang", data=df)
    assert rule.schedule == fuyang and "order: schedule 'fuyang' first" in rule.summary()
    d = rule.factor(credit_grade="D", accident_grade="较大", award="none")
    # the schedule's steps are untouched; the product is held in the band
    assert d.components["accident_grade"] == pytest.approx(1.2)
    assert d.raw == pytest.approx(1.2 * d.components["credit_grade"])
    assert d.factor == 1.35 and d.capped
    a = rule.factor(credit_grade="A", accident_grade="none", award="city")
    assert a.raw == pytest.approx((1 - 0.10 - 0.05) * a.components["credit_grade"])


def test_from_model_refuses_unknown_and_linear_inputs(glm):
    m, df = glm
    with pytest.raises(ValidationError, match="not a factor of the frequency model"):
        FloatingRule.from_model(m, ["blacklisted"], floor=0.7, cap=1.3)
    from safeins.models.frequency_glm import FrequencyGLM

    lin = FrequencyGLM("poisson", ["prior_hazard_rate"]).fit(df)
    with pytest.raises(ValidationError, match="fit it binned"):
        FloatingRule.from_model(lin, ["prior_hazard_rate"], floor=0.7, cap=1.3)


def test_reportable_count_only_for_accident_inputs():
    with pytest.raises(ValidationError, match="count = 'reportable' applies to accident inputs"):
        FloatingRule(name="x", floor=0.5, cap=2.0, terms=[
            {"name": "h", "input": "unrectified", "kind": "bands", "count": "reportable",
             "thresholds": [0], "adjustments": [0.0]}])
