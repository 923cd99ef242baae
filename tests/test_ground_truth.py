"""End to end: models fitted on the synthetic generator's data recover the generator's truth."""

import numpy as np
import pytest

import safeins as si


@pytest.fixture(scope="module")
def synthetic():
    return si.datasets.synthetic_portfolio(n_enterprises=12_000, years=(2021, 2022, 2023), seed=2024)


@pytest.mark.slow
def test_frequency_glm_recovers_the_generator_relativities(synthetic):
    d = synthetic
    et = si.exposure_table(d.portfolio, d.accidents, d.hazards)
    et["blacklisted"] = et["blacklisted"].astype(str)
    et["year"] = et["year"].astype(str)
    base = {"sector": "manufacturing", "credit_grade": "B", "standardization": "none",
            "size_band": "small", "blacklisted": "False", "year": "2021",
            "region": d.truth["base_levels"]["region"]}
    factors = ["sector", "credit_grade", "standardization", "size_band", "blacklisted", "region", "year",
               "hazard_rate"]
    glm = si.FrequencyGLM(family="negbin", factors=factors, base_levels=base)
    glm.fit(et, counts="accidents", exposure="exposure")
    rel = glm.relativities_.set_index(["factor", "level"])
    truth = d.truth["relativities"]
    checked, covered = 0, 0
    for factor in ("credit_grade", "standardization", "size_band", "region"):
        for level, true in truth[factor].items():
            if level == base[factor] or (factor, level) not in rel.index:
                continue
            row = rel.loc[(factor, level)]
            checked += 1
            covered += row["ci_low"] <= true <= row["ci_high"]
            # and every estimate is close in relative terms (the data are large)
            assert abs(np.log(row["relativity"] / true)) < 0.25, (factor, level, row["relativity"], true)
    assert checked == 11  # 3 credit grades, 3 standardisation levels, 3 size bands, 2 regions
    # about 95% of the intervals cover the truth; allow binomial slack
    assert covered >= checked - 3, (covered, checked)
    # the hazard effect and the trend
    hz = rel.xs("hazard_rate", level="factor")["relativity"].iloc[0]  # per unit of hazard rate
    assert abs(np.log(hz) - d.truth["hazard_coef"]) < 0.02
    trend = np.log(rel.loc[("year", "2023"), "relativity"]) / 2
    assert abs(trend - d.truth["trend"]) < 0.03
