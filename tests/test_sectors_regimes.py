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
