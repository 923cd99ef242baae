import pytest

import safeins as si
from safeins import regimes, sectors
from safeins.errors import RegimeBreachError, ValidationError


def test_nine_2017_sectors_and_eight_2025_sectors():
    assert len(regimes.get("national-2017").mandatory_sectors) == 9
    assert len(regimes.get("national-2025").mandatory_sectors) == 8
    assert "mining" in regimes.get("national-2025").mandatory_sectors
    # a coal mine is covered by the 2025 mandate through the merged 'mining' sector
    assert regimes.get("national-2025").is_mandatory("coal_mining")
    assert not regimes.get("national-2025").is_mandatory("trade")


@pytest.mark.parametrize("name", ["hazardous_chemicals", "危险化学品", "Hazardous chemicals", "危化品"])
def test_lookup_by_code_chinese_english_alias(name):
    assert sectors.get(name).code == "hazardous_chemicals"


def test_unknown_sector_lists_close_matches():
    with pytest.raises(ValidationError) as err:
        sectors.get("constructoin")
    assert "construction" in str(err.value)


def test_every_sector_names_a_known_exposure_base():
    for s in sectors.all_sectors():
        assert s.exposure_base in sectors.EXPOSURE_BASES
        assert s.name_zh and s.name_en


def test_regime_numbers_and_sources():
    r17, r25 = regimes.get("national-2017"), regimes.get("national-2025")
    assert r17.min_death_disability_limit == 300_000
    assert r25.min_death_disability_limit == 400_000
    assert r25.commission_cap == 0.05 and r25.prevention_cap == 0.21
    assert r17.commission_cap is None
    assert r25.full_workforce_cover
    for key in ("min_death_disability_limit", "commission_cap", "prevention_cap", "mandatory_sectors"):
        assert r25.sources.get(key)


def test_check_findings_and_raise():
    f = regimes.get("national-2025").check(
        {"death_disability_limit": 350_000, "commission": 0.05, "prevention_share": 0.22,
         "full_workforce": True, "sector": "fishing", "colour": "red"})
    table = f.to_frame().set_index("rule")["verdict"].to_dict()
    assert table == {"min_death_disability_limit": "fail", "commission_cap": "pass",
                     "prevention_cap": "fail", "full_workforce_cover": "pass",
                     "mandatory_sector": "mandatory", "colour": "n/a"}
    with pytest.raises(RegimeBreachError) as err:
        f.raise_if_failed()
    assert {x.rule for x in err.value.findings} == {"min_death_disability_limit", "prevention_cap"}
    # 2017: no commission cap -> n/a, not a pass
    assert regimes.get("national-2017").check({"commission": 0.3}).to_frame()["verdict"].tolist() == ["n/a"]


def test_in_force_and_indexation():
    r17 = regimes.get("national-2017")
    assert r17.in_force("2020-01-01") and not r17.in_force("2025-03-29")
    assert regimes.get("national-2025").indexed_min_limit(60_000, 50_000) == pytest.approx(480_000)
    with pytest.raises(ValidationError):
        regimes.get("national-2025").indexed_min_limit(-1, 50_000)


def test_unknown_regime_and_round_trip(tmp_path):
    with pytest.raises(ValidationError) as err:
        regimes.get("national-2024")
    assert "national-2025" in str(err.value)
    r = regimes.get("national-2025")
    path = r.to_toml(tmp_path / "r.toml")
    assert regimes.get(path) == r
    assert "properties" in si.Regime.json_schema()


def test_bad_regime_lists_every_field():
    data = regimes.get("national-2025").to_dict()
    data.update(min_death_disability_limit=-5, commission_cap=1.5, mandatory_sectors=["mininig"])
    with pytest.raises(ValidationError) as err:
        si.Regime.from_dict(data)
    cols = set(err.value.problems["column"])
    assert {"min_death_disability_limit", "commission_cap", "mandatory_sectors"} <= cols


# --- regime hygiene (issue 10, part 5) --------------------------------------------------------------
def test_indexed_minimum_never_falls_below_the_absolute_floor():
    # 应急〔2025〕27号 第十五条 (2025-03-29): 每人死亡伤残责任限额不低于40万元; regions may index higher
    # floors to local urban per-capita disposable income. Indexing raises the floor, never lowers it.
    r25 = regimes.get("national-2025")
    assert r25.indexed_min_limit(income_now=40_000, income_base=50_000) == 400_000
    assert r25.indexed_min_limit(income_now=50_000, income_base=50_000) == 400_000
    assert r25.indexed_min_limit(income_now=54_188, income_base=51_821) == pytest.approx(
        400_000 * 54_188 / 51_821)


@pytest.mark.parametrize("ratio", [0.5, 0.9, 0.999, 1.0, 1.2, 3.0])
def test_indexed_minimum_is_monotone_and_floored(ratio):
    for key in ("national-2017", "national-2025"):
        r = regimes.get(key)
        got = r.indexed_min_limit(income_now=50_000 * ratio, income_base=50_000)
        assert got == pytest.approx(max(1.0, ratio) * r.min_death_disability_limit)


def test_prevention_cap_of_october_2024_binds_2017_policies_after_that_date():
    # 应急管理部办公厅 金融监管总局办公厅 2024-10-22《关于充分发挥安全生产责任保险功能作用助力安全生产
    # 治本攻坚三年行动的通知》: 事故预防服务费用 不高于安责险实际收取保费的21%. The 2017 rules
    # (安监总办〔2017〕140号) were still in force until 2025-03-29, so 2017-regime policies from
    # 2024-10-22 on are capped; earlier ones are not.
    r17 = regimes.get("national-2017")
    assert r17.prevention_cap == 0.21 and r17.prevention_cap_from.isoformat() == "2024-10-22"
    after = r17.check({"prevention_share": 0.25, "policy_date": "2024-11-01"}).to_frame().set_index("rule")
    assert after.loc["prevention_cap", "verdict"] == "fail"
    assert after.loc["in_force", "verdict"] == "pass"
    on_the_day = r17.check({"prevention_share": 0.25, "policy_date": "2024-10-22"})
    assert not on_the_day.ok
    assert r17.check({"prevention_share": 0.20, "policy_date": "2024-11-01"}).ok
    before = r17.check({"prevention_share": 0.25, "policy_date": "2024-06-30"}).to_frame()
    assert before.set_index("rule").loc["prevention_cap", "verdict"] == "n/a"
    undated = r17.check({"prevention_share": 0.25}).to_frame()
    assert undated["verdict"].tolist() == ["undetermined"]
    # a 2017-regime policy incepting after the repeal is itself a failure
    late = r17.check({"policy_date": "2025-06-01"}).to_frame()
    assert late["verdict"].tolist() == ["fail"]
    # the 2025 rules carry the cap from their own start
    assert not regimes.get("national-2025").check({"prevention_share": 0.25, "policy_date": "2025-06-01"}).ok
    with pytest.raises(ValidationError):
        r17.check({"policy_date": "next tuesday"})


def test_hunan_manual_rows_under_the_2025_floor_are_each_reported():
    # 湖南省建筑施工行业安全生产责任保险基准费率表: per-person columns 30/40/50/60万; the 30万 rows
    # are under 应急〔2025〕27号 第十五条's 40万 floor, and every one of them is named.
    hunan = si.Tariff.load("hunan-construction")
    findings = regimes.get("national-2025").check(hunan)
    failed = findings.failed()
    below = [i for i, r in enumerate(hunan.rates) if r.per_person < 400_000]
    assert len(below) == 24  # 4 value bands x 3 aggregates x 2 risk classes
    assert [f.subject.split(" ")[0] for f in failed] == [f"rates.{i}" for i in below]
    assert all(f.value == 300_000 and f.limit == 400_000 for f in failed)
    assert "(30, 2.5)万/人" in failed[0].subject
    passed = [f for f in findings if f.verdict == "pass"]
    assert len(passed) == 1 and passed[0].subject == "72 rows" and passed[0].value == 400_000
    assert "rates.0" in findings.summary()
    # under the 2017 rules (30万 per death) the whole manual complies
    assert regimes.get("national-2017").check(hunan).ok


def test_per_row_limits_must_be_amounts():
    with pytest.raises(ValidationError):
        regimes.get("national-2025").check({"per_person_limits": [300_000]})
    with pytest.raises(ValidationError) as err:
        limits = {"r1": float("nan"), "r2": 5e5, "r3": "40万"}
        regimes.get("national-2025").check({"per_person_limits": limits})
    assert err.value.problems["row"].tolist() == ["r1", "r3"]


def test_full_workforce_check_uses_each_enterprises_own_headcount():
    # 应急〔2025〕27号 第十六条: 全员参保 — every employee insured, with the same sum insured.
    f = si.datasets.example_portfolio_frame()  # headcounts 120, 300, 50
    r25 = regimes.get("national-2025")
    assert r25.check(si.Portfolio(f)).ok
    short = r25.check(si.Portfolio(f.assign(insured=[120, 299, 60])))
    assert [(x.subject, x.value, x.limit) for x in short.failed()] == [("E2", 299.0, 300.0)]
    # the 2017 rules fixed no national full-workforce rule
    assert r25.check(si.Portfolio(f.assign(insured=[1, 1, 1]))).ok is False
    assert regimes.get("national-2017").check(si.Portfolio(f.assign(insured=[1, 1, 1]))).ok
    # a template policy naming one headcount insures too few in every larger enterprise
    cov = si.PolicyCoverage(per_person=500_000, headcount=100)
    fails = r25.check(cov.regime_facts(si.Portfolio(f))).failed()
    assert sorted(x.subject for x in fails) == ["E1", "E2"]
    template = si.PolicyCoverage(per_person=500_000, per_accident=5e7)
    assert r25.check(template.regime_facts(si.Portfolio(f))).ok
