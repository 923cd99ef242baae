import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import safeins as si
from safeins.domain.datasets import example_accident_frame, example_portfolio_frame
from safeins.domain.portfolio import ACCIDENT_COLUMNS, PORTFOLIO_COLUMNS, accident_grade
from safeins.errors import ValidationError


def test_grade_boundaries_follow_2007_rules():
    # "以上" includes the number: 3 deaths is 较大, 10 重大, 30 特别重大; 10,000,000 yuan is 较大
    assert accident_grade(2, 0, 0) == "一般"
    assert accident_grade(3, 0, 0) == "较大"
    assert accident_grade(10, 0, 0) == "重大"
    assert accident_grade(30, 0, 0) == "特别重大"
    assert accident_grade(0, 9, 0) == "一般"
    assert accident_grade(0, 10, 0) == "较大"
    assert accident_grade(0, 50, 0) == "重大"
    assert accident_grade(0, 100, 0) == "特别重大"
    assert accident_grade(0, 0, 9_999_999.99) == "一般"
    assert accident_grade(0, 0, 1e7) == "较大"
    assert accident_grade(0, 0, 5e7) == "重大"
    assert accident_grade(0, 0, 1e8) == "特别重大"
    # the highest grade wins
    assert accident_grade(3, 50, 1e8) == "特别重大"


@given(st.integers(0, 40), st.integers(0, 120), st.floats(0, 2e8))
def test_grade_is_monotone(d, s, loss):
    order = list(si.sectors.GRADES)
    g = order.index(accident_grade(d, s, loss))
    assert order.index(accident_grade(d + 1, s, loss)) >= g
    assert order.index(accident_grade(d, s + 1, loss)) >= g
    assert order.index(accident_grade(d, s, loss * 2)) >= g


def test_vectorised_grades_are_ordered_categorical():
    g = accident_grade(np.array([0, 3, 12]), np.array([0, 0, 0]), np.array([0, 0, 0.0]))
    assert list(g) == ["一般", "较大", "重大"] and g.ordered


def test_every_problem_reported_at_once():
    f = example_portfolio_frame()
    f.loc["E1", "headcount"] = -3
    f.loc["E2", "sector"] = "minnig"
    f.loc["E3", "credit_grade"] = "E"
    f.loc["E2", "contract_value"] = np.nan  # construction needs a contract value... but sector is bad
    f.loc["E3", "vehicles"] = np.nan         # transport needs vehicles
    f["years_insured"] = f["years_insured"].astype(float)
    f.loc["E1", "years_insured"] = 2.5
    with pytest.raises(ValidationError) as err:
        si.Portfolio(f)
    p = err.value.problems
    got = set(zip(p["row"], p["column"], strict=True))
    assert {("E1", "headcount"), ("E2", "sector"), ("E3", "credit_grade"), ("E3", "vehicles"),
            ("E1", "years_insured")} <= got
    text = str(err.value)
    assert "minnig" in text and "one of A, B, C, D" in text


def test_duplicated_ids_missing_columns_nan_and_wrong_types():
    f = example_portfolio_frame().reset_index()
    f.loc[2, "enterprise_id"] = "E1"
    f = f.drop(columns=["region"])
    f["payroll"] = f["payroll"].astype(object)
    f.loc[1, "payroll"] = "lots"
    f.loc[0, "sector"] = "construction"  # rated per contract value: its contract value is required
    f.loc[0, "contract_value"] = np.nan
    with pytest.raises(ValidationError) as err:
        si.Portfolio(f)
    p = err.value.problems
    rules = " | ".join(p["rule"])
    assert "duplicated id" in rules
    assert "required column" in rules
    assert (p["column"] == "payroll").any() and "wrong type" in rules
    assert ((p["column"] == "contract_value") & p["rule"].str.contains("rated per contract_value")).any()


def test_accidents_of_unknown_enterprises_and_impossible_years():
    pf = si.Portfolio(example_portfolio_frame())
    a = example_accident_frame()
    a.loc["A1", "enterprise_id"] = "E9"
    a.loc["A2", "year"] = 1850
    a.loc["A2", "employee_deaths"] = -1
    with pytest.raises(ValidationError) as err:
        si.AccidentHistory(a, portfolio=pf)
    got = set(zip(err.value.problems["row"], err.value.problems["column"], strict=True))
    assert {("A1", "enterprise_id"), ("A2", "year"), ("A2", "employee_deaths")} <= got


def test_given_grade_must_agree():
    a = example_accident_frame().assign(grade=["一般", "一般"])
    with pytest.raises(ValidationError, match="disagrees"):
        si.AccidentHistory(a)


def test_hazard_consistency():
    h = pd.DataFrame({"enterprise_id": ["E1", "E1"], "year": [2022, 2022], "hazards_found": [3, 2],
                      "major_hazards_found": [4, 0], "rectified_on_time": [2, 2], "unrectified": [2, 0]})
    with pytest.raises(ValidationError) as err:
        si.HazardHistory(h)
    rules = " ".join(err.value.problems["rule"])
    assert "<= hazards_found (3)" in rules and "duplicated enterprise-year" in rules


def test_victims_must_match_accidents():
    a = example_accident_frame()
    v = pd.DataFrame({"accident_id": ["A1", "A1", "A9"], "role": ["employee"] * 3,
                      "outcome": ["death", "disability", "medical"], "disability_grade": [np.nan, np.nan, 3],
                      "medical_cost": [0.0, 10.0, 5.0]})
    with pytest.raises(ValidationError) as err:
        si.AccidentHistory(a, victims=v)
    rules = " ".join(err.value.problems["rule"])
    assert "unknown accident" in rules and "required for outcome 'disability'" in rules


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_loses_nothing(tmp_path, fmt):
    d = si.datasets.synthetic_portfolio(n_enterprises=300, years=(2022, 2023), seed=5)
    pf, acc, hz = d.portfolio, d.accidents, d.hazards
    pf2 = getattr(si.Portfolio, f"read_{fmt}")(getattr(pf, f"to_{fmt}")(tmp_path / f"pf.{fmt}"))
    pd.testing.assert_frame_equal(pf.frame, pf2.frame)
    hz2 = getattr(si.HazardHistory, f"read_{fmt}")(getattr(hz, f"to_{fmt}")(tmp_path / f"hz.{fmt}"))
    pd.testing.assert_frame_equal(hz.frame, hz2.frame)
    if fmt == "csv":
        acc_csv = acc.to_csv(tmp_path / "acc.csv", victims=tmp_path / "victims.csv")
        acc2 = si.AccidentHistory.read_csv(acc_csv, portfolio=pf2, victims=tmp_path / "victims.csv")
        pd.testing.assert_frame_equal(acc.frame, acc2.frame)
        pd.testing.assert_frame_equal(acc.victims.reset_index(drop=True), acc2.victims.reset_index(drop=True))


def test_extra_columns_survive():
    f = example_portfolio_frame().assign(broker="江泰")
    assert si.Portfolio(f).frame["broker"].tolist() == ["江泰"] * 3


_valid = example_portfolio_frame()
_cols = [c.name for c in PORTFOLIO_COLUMNS if c.name in _valid.columns]
_bad_values = {"headcount": [-1, 0, 2.5, np.nan, "x"], "credit_grade": ["E", None, 3, "a"],
               "sector": ["mine", None, 7], "standardization": ["4", "0", None],
               "blacklisted": ["yes", 2, None],
               "payroll": [-1.0, "many", np.inf], "years_insured": [-1, 1.5, np.nan],
               "size_band": ["huge", None], "region": [None, "", 5]}


@given(st.lists(st.tuples(st.sampled_from(["E1", "E2", "E3"]), st.sampled_from(sorted(_bad_values)),
                          st.integers(0, 4)), min_size=1, max_size=6, unique_by=lambda t: (t[0], t[1])))
def test_broken_tables_report_every_bad_cell(breaks):
    f = _valid.copy().astype(object)
    for row, col, k in breaks:
        vals = _bad_values[col]
        f.loc[row, col] = vals[k % len(vals)]
    with pytest.raises(ValidationError) as err:
        si.Portfolio(f)
    found = set(zip(err.value.problems["row"], err.value.problems["column"], strict=True))
    for row, col, _ in breaks:
        assert (row, col) in found, (row, col, str(err.value))


def test_exposure_table_counts_and_prior_year():
    d = si.datasets.synthetic_portfolio(n_enterprises=400, years=(2021, 2022, 2023), seed=11)
    et = si.exposure_table(d.portfolio, d.accidents, d.hazards)
    assert len(et) == 400 * 3
    assert et["accidents"].sum() == len(d.accidents)
    grades = et[["n_general", "n_larger", "n_major", "n_especially_major"]].sum(axis=1)
    assert (grades == et["accidents"]).all()
    e = et.set_index(["enterprise_id", "year"])
    some = e[e["accidents"] > 0].index[0]
    if some[1] < 2023:
        assert e.loc[(some[0], some[1] + 1), "prior_accidents"] == e.loc[some, "accidents"]
    assert (et.loc[et.year == 2021, "prior_known"] == False).all()  # noqa: E712
    assert et["hazards_found"].sum() == d.hazards.frame["hazards_found"].sum()
    np.testing.assert_allclose(et["exposure"].to_numpy(),
                               np.repeat(d.portfolio.exposure().to_numpy(), 3))


# --- reportable accidents vs minor claim events (issue 10, part 6) ----------------------------------
def _acc_frame():
    return pd.DataFrame({
        "enterprise_id": ["E1", "E1", "E2", "E3"], "year": [2022, 2023, 2023, 2023],
        "employee_deaths": [0, 0, 1, 0], "employee_serious_injuries": [0, 0, 0, 0],
        "employee_minor_injuries": [1, 2, 0, 0], "third_party_deaths": [0, 0, 0, 0],
        "third_party_injuries": [0, 1, 0, 0],
        "direct_loss": [8_000.0, 50_000.0, 1.3e6, 1_000_000.0], "property_damage": [0.0] * 4,
        "rescue_cost": [500.0] * 4}, index=pd.Index(["A1", "A2", "A3", "A4"], name="accident_id"))


def test_reportable_is_a_death_a_serious_injury_or_a_loss_over_the_threshold():
    pf = si.Portfolio(si.datasets.example_portfolio_frame())
    acc = si.AccidentHistory(_acc_frame(), portfolio=pf)
    # A1 minor only; A2 a seriously injured third party; A3 a death; A4 exactly the threshold
    assert acc.frame["reportable"].tolist() == [False, True, True, True]
    assert acc.reportable_loss_threshold == si.REPORTABLE_LOSS_THRESHOLD == 1_000_000
    higher = si.AccidentHistory(_acc_frame(), portfolio=pf, reportable_loss_threshold=2e6)
    assert higher.frame["reportable"].tolist() == [False, True, True, False]
    # re-wrapping recomputes it with the new threshold rather than trusting the old column
    assert si.AccidentHistory(acc, reportable_loss_threshold=2e6).frame["reportable"].tolist() == \
        [False, True, True, False]
    assert acc.summary()["reportable"].sum() == 3


def test_a_given_reportable_column_must_agree_and_be_boolean():
    frame = _acc_frame().assign(reportable=[False, True, True, True])
    assert si.AccidentHistory(frame).frame["reportable"].tolist() == [False, True, True, True]
    with pytest.raises(ValidationError) as err:
        si.AccidentHistory(_acc_frame().assign(reportable=[True, True, "yes", True]))
    bad = err.value.problems.set_index("row")
    assert bad.loc["A1", "column"] == "reportable" and "disagrees" in bad.loc["A1", "rule"]
    assert bad.loc["A3", "rule"] == "True or False"
    for threshold in (-1.0, float("nan"), "1e6", True):
        with pytest.raises(ValidationError) as err:
            si.AccidentHistory(_acc_frame(), reportable_loss_threshold=threshold)
        assert err.value.problems["column"].tolist() == ["reportable_loss_threshold"]


def test_reportable_round_trips_and_feeds_the_exposure_table(tmp_path):
    pf = si.Portfolio(si.datasets.example_portfolio_frame())
    acc = si.AccidentHistory(_acc_frame(), portfolio=pf)
    back = si.AccidentHistory.read_csv(acc.to_csv(tmp_path / "acc.csv"), portfolio=pf)
    assert back == acc
    et = si.exposure_table(pf, acc, years=[2022, 2023]).set_index(["enterprise_id", "year"])
    assert et["reportable_accidents"].to_dict() == {
        ("E1", 2022): 0, ("E1", 2023): 1, ("E2", 2022): 0, ("E2", 2023): 1, ("E3", 2022): 0,
        ("E3", 2023): 1}
    assert et.loc[("E1", 2023), "accidents"] == 1 and et.loc[("E1", 2023), "prior_accidents"] == 1
    assert et.loc[("E1", 2023), "prior_reportable_accidents"] == 0
    assert (et["reportable_accidents"] <= et["accidents"]).all()


def test_synthetic_claims_are_mostly_minor_events():
    d = si.datasets.synthetic_portfolio(n_enterprises=3000, years=(2022, 2023), seed=4)
    a = d.accidents.frame
    deaths = a["employee_deaths"] + a["third_party_deaths"]
    assert a.loc[deaths > 0, "reportable"].all()
    assert 0.05 < a["reportable"].mean() < 0.5  # most insured claims are slight injuries
    et = si.exposure_table(d.portfolio, d.accidents)
    assert et["reportable_accidents"].sum() == a["reportable"].sum()


@given(deaths=st.integers(0, 3), serious=st.integers(0, 3), loss=st.floats(0, 5e6),
       low=st.floats(0, 5e6), extra=st.floats(0, 5e6))
def test_reportable_is_monotone_in_the_threshold(deaths, serious, loss, low, extra):
    frame = _acc_frame().iloc[:1].assign(employee_deaths=deaths, employee_serious_injuries=serious,
                                         third_party_injuries=0, direct_loss=loss)
    at_low = si.AccidentHistory(frame, reportable_loss_threshold=low).frame["reportable"].item()
    at_high = si.AccidentHistory(frame, reportable_loss_threshold=low + extra).frame["reportable"].item()
    assert at_low == (deaths > 0 or serious > 0 or loss >= low)
    assert at_high <= at_low  # a higher threshold never makes an accident reportable
# --- reading files: encodings, Excel, empty and broken files, minimal books -----------------------

def _book(**extra):
    return pd.DataFrame({"enterprise_id": ["F1", "F2", "F3", "F4"],
                         "sector": ["fireworks", "manufacturing", "fishing", "hazardous_chemicals"],
                         "region": ["宁波", "杭州", "舟山", "宁波"], "headcount": [15, 20, 999, 1000],
                         "credit_grade": ["A", "B", "C", "D"], "payroll": [np.nan, 3e6, np.nan, np.nan],
                         "vessels": [np.nan, np.nan, 12.0, np.nan], **extra})


def test_minimal_book_defaults_are_stated_once():
    with pytest.warns(si.portfolio.DefaultsWarning) as caught:
        pf = si.Portfolio(_book())
    assert len(caught) == 1
    msg = str(caught[0].message)
    for col in ("size_band", "blacklisted", "standardization", "years_insured", "award"):
        assert col in msg and col in pf.defaults_applied
    f = pf.frame
    assert f["size_band"].tolist() == ["micro", "small", "medium", "large"]  # 20, 300, 1000 start a band
    assert not f["blacklisted"].any() and set(f["standardization"]) == {"none"}
    assert f["years_insured"].tolist() == [0] * 4
    # a full book is quiet, and a rebuilt portfolio does not warn again
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        si.Portfolio(pf)
        assert si.Portfolio(pf.to_frame()).defaults_applied == {}


def test_minimal_book_still_needs_each_sectors_base():
    book = _book(vessels=[np.nan] * 4)
    with pytest.raises(ValidationError) as err:  # (no warning about defaults when it raises)
        si.Portfolio(book)
    p = err.value.problems
    assert p[["row", "column"]].values.tolist() == [["F3", "vessels"]]
    assert "rated per vessels" in p["rule"].iloc[0]


def test_gbk_files_are_detected_and_read_with_encoding(tmp_path):
    pf = si.Portfolio(example_portfolio_frame())
    text = pf.to_csv(tmp_path / "utf8.csv").read_text(encoding="utf-8")
    (tmp_path / "gbk.csv").write_bytes(text.encode("gb18030"))
    with pytest.raises(ValidationError, match="gb18030"):
        si.Portfolio.read_csv(tmp_path / "gbk.csv")
    pd.testing.assert_frame_equal(si.Portfolio.read_csv(tmp_path / "gbk.csv", encoding="gb18030").frame,
                                  pf.frame)
    with pytest.raises(ValidationError, match="unknown encoding"):
        si.Portfolio.read_csv(tmp_path / "gbk.csv", encoding="nope")
    # a BOM (Excel's "CSV UTF-8") is fine
    (tmp_path / "bom.csv").write_bytes(text.encode("utf-8-sig"))
    pd.testing.assert_frame_equal(si.Portfolio.read_csv(tmp_path / "bom.csv").frame, pf.frame)
    # TOML too
    toml = si.Tariff.load("zhejiang-demo").to_toml_text().replace('description = ""', 'description = "浙江"')
    (tmp_path / "t.toml").write_bytes(toml.encode("gbk"))
    with pytest.raises(ValidationError, match="gb18030"):
        si.Tariff.from_toml(tmp_path / "t.toml")
    assert si.Tariff.from_toml(tmp_path / "t.toml", encoding="gbk").name == "zhejiang-demo"


def test_empty_histories_are_valid_and_flow_through(tmp_path):
    d = si.datasets.synthetic_portfolio(n_enterprises=60, years=(2022, 2023), seed=3, regions=("宁波",))
    header_only = tmp_path / "acc.csv"
    header_only.write_text(",".join(["accident_id", *[c.name for c in ACCIDENT_COLUMNS]]) + "\n",
                           encoding="utf-8")
    acc = si.AccidentHistory.read_csv(header_only, portfolio=d.portfolio)
    assert len(acc) == 0 and acc.years == ()
    # an empty history covers no year: pricing will not read 2023 as accident-free ...
    with pytest.raises(ValidationError, match="not a clean record"):
        si.Tariff.load("zhejiang-demo").price(d.portfolio, accidents=acc, floating="fuyang", year=2024,
                                              options={"per_person": 400000.0})
    # ... until the history says it covers 2022-2023 (a year without accidents is normal)
    acc = si.AccidentHistory(acc, years=[2022, 2023])
    assert acc.years == (2022, 2023)
    et = si.exposure_table(d.portfolio, acc, years=[2022, 2023])
    assert len(et) == 120 and et["accidents"].sum() == 0 and et["prior_accidents"].sum() == 0
    q = si.Tariff.load("zhejiang-demo").price(d.portfolio, accidents=acc, floating="fuyang", year=2024,
                                              options={"per_person": 400000.0})
    assert len(q) == 60 and q.total() > 0
    # an empty book is a book: it prices to nothing
    empty = si.Portfolio(d.portfolio.to_frame().iloc[:0])
    q0 = si.Tariff.load("zhejiang-demo").price(empty, options={"per_person": 400000.0})
    assert len(q0) == 0 and q0.total() == 0.0
    hz = si.HazardHistory(d.hazards.to_frame().iloc[:0], portfolio=empty)
    assert si.exposure_table(empty, None, hz, years=[2023]).shape[0] == 0


@pytest.mark.parametrize(("content", "rule"), [
    ("", "empty"), ("   \n\n", "empty"), ("enterprise_id,sector,sector\nE1,mining,mining\n", "duplicated"),
    ("enterprise_id,sector\nE1\n", "1 fields"), ("enterprise_id,,x\nE1,1,2\n", "empty column name")])
def test_broken_csv_files_are_refused(tmp_path, content, rule):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError, match=rule) as err:
        si.Portfolio.read_csv(path)
    assert "bad.csv" in str(err.value)


def test_files_missing_folders_and_unknown_types(tmp_path):
    with pytest.raises(ValidationError, match="no such file"):
        si.Portfolio.read(tmp_path / "none.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ValidationError, match="folder"):
        si.Portfolio.read(tmp_path / "dir.csv")
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValidationError, match="unsupported file type"):
        si.Portfolio.read(tmp_path / "x.json")
    (tmp_path / "fake.xlsx").write_text("not a workbook", encoding="utf-8")
    with pytest.raises(ValidationError, match="not a readable Excel workbook"):
        si.Portfolio.read(tmp_path / "fake.xlsx")


def test_excel_round_trip(tmp_path):
    d = si.datasets.synthetic_portfolio(n_enterprises=80, years=(2023,), seed=2)
    pf2 = si.Portfolio.read_excel(d.portfolio.to_excel(tmp_path / "pf.xlsx"))
    pd.testing.assert_frame_equal(pf2.frame, d.portfolio.frame)
    hz2 = si.HazardHistory.read(d.hazards.to_excel(tmp_path / "hz.xlsx"))
    pd.testing.assert_frame_equal(hz2.frame, d.hazards.frame)
    acc = d.accidents
    acc2 = si.AccidentHistory.read(acc.to_excel(tmp_path / "acc.xlsx", victims=tmp_path / "v.xlsx"),
                                   pf2, victims=tmp_path / "v.xlsx")
    pd.testing.assert_frame_equal(acc2.frame, acc.frame)
    pd.testing.assert_frame_equal(acc2.victims.reset_index(drop=True), acc.victims.reset_index(drop=True))


def test_victims_are_read_and_written_only_when_named(tmp_path):
    d = si.datasets.synthetic_portfolio(n_enterprises=200, years=(2023,), seed=6)
    with pytest.raises(ValidationError, match="victims="):
        d.accidents.to_csv(tmp_path / "acc.csv")
    assert not (tmp_path / "acc.csv").exists()
    d.accidents.to_csv(tmp_path / "acc.csv", victims=tmp_path / "acc.victims.csv")
    # the file that an older version picked up by its name is not read unless named
    assert si.AccidentHistory.read_csv(tmp_path / "acc.csv", d.portfolio).victims is None
    named = si.AccidentHistory.read_csv(tmp_path / "acc.csv", d.portfolio,
                                        victims=tmp_path / "acc.victims.csv")
    assert len(named.victims) == len(d.accidents.victims)


_names = st.text(alphabet=st.sampled_from(list("宁波杭州舟山温台金华abcXYZ 0-9")), min_size=1, max_size=6)


@given(regions=st.lists(_names.filter(lambda t: t.strip() and t.strip() == t and not t.isdigit()),
                        min_size=1, max_size=5),
       encoding=st.sampled_from(["utf-8", "gb18030", "gbk", "utf-8-sig"]))
def test_any_book_round_trips_through_any_encoding(tmp_path_factory, regions, encoding):
    n = len(regions)
    book = pd.DataFrame({"enterprise_id": [f"企业{i}" for i in range(n)], "sector": ["fireworks"] * n,
                         "region": regions, "headcount": list(range(1, n + 1)), "credit_grade": ["B"] * n,
                         "size_band": ["micro"] * n, "blacklisted": [False] * n, "standardization": ["2"] * n,
                         "years_insured": [1] * n, "award": ["none"] * n})
    pf = si.Portfolio(book)
    path = tmp_path_factory.mktemp("enc") / "book.csv"
    path.write_bytes(pf.to_csv(path).read_text(encoding="utf-8").encode(encoding))
    back = si.Portfolio.read_csv(path, encoding=encoding)
    pd.testing.assert_frame_equal(back.frame, pf.frame)
    if encoding in ("gb18030", "gbk"):  # the ids are Chinese: not UTF-8, and the error says what to pass
        with pytest.raises(ValidationError, match="gb18030"):
            si.Portfolio.read_csv(path)


def test_excel_sheets_as_people_fill_them(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["enterprise_id", "sector", "region", "headcount", "credit_grade", "size_band"],
                ["101", "fireworks", "宁波", 10, "A", "micro"], [None] * 6,
                [102, "fireworks", "宁波", 20, "B", "small"]):
        ws.append(row)
    # formatted but empty cells far right and below hold no data and are ignored
    ws.cell(row=2, column=10).fill = openpyxl.styles.PatternFill("solid", fgColor="FFFF00")
    ws.cell(row=12, column=2).fill = openpyxl.styles.PatternFill("solid", fgColor="FFFF00")
    wb.save(tmp_path / "ok.xlsx")
    with pytest.warns(si.portfolio.DefaultsWarning):
        pf = si.Portfolio.read(tmp_path / "ok.xlsx")
    assert pf.frame.index.tolist() == ["101", "102"]  # ids typed as numbers are still ids
    ws.cell(row=3, column=8).value = "stray"
    ws.cell(row=1, column=9).value = "region"
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(ValidationError) as err:
        si.Portfolio.read(tmp_path / "bad.xlsx")
    assert err.value.problems["column"].tolist() == ["column H", "region"]
