"""The safeins command: demo, price, tariff, sectors, regimes, datasets, and its errors."""

import re

import pandas as pd
import pytest

import safeins as si
from safeins.cli import main


def test_demo_runs_the_pipeline_and_writes_html(tmp_path, capsys):
    html = tmp_path / "demo.html"
    assert main(["demo", "--synthetic", "800", "--seed", "4", "--html", str(html)]) == 0
    out = capsys.readouterr().out
    for title in ("Frequency GLM", "Tariff", "Premiums for the next year", "Prevention fund"):
        assert title in out
    text = html.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and "<table" in text and "Optimal allocation" in text


def test_demo_refuses_a_share_above_the_cap(capsys):
    assert main(["demo", "--synthetic", "300", "--share", "0.25"]) == 2
    assert "0.21" in capsys.readouterr().err


def test_price_command_round_trip(tmp_path, capsys):
    d = si.datasets.synthetic_portfolio(n_enterprises=400, years=(2022, 2023), seed=8,
                                        regions=("宁波", "杭州"))
    pf_csv = d.portfolio.to_csv(tmp_path / "pf.csv")
    acc_csv = d.accidents.to_csv(tmp_path / "acc.csv", victims=tmp_path / "victims.csv")
    out = tmp_path / "quotes.csv"
    code = main(["price", str(pf_csv), "--tariff", "zhejiang-demo", "--floating", "fuyang",
                 "--accidents", str(acc_csv), "--option", "per_person=400000", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    q = pd.read_csv(out, index_col=0)
    assert len(q) == 400 and (q["final_premium"] > 0).all()


def test_price_command_reports_bad_input(tmp_path, capsys):
    f = si.datasets.example_portfolio_frame()
    f.loc["E1", "headcount"] = -5
    f.reset_index().to_csv(tmp_path / "bad.csv", index=False)
    assert main(["price", str(tmp_path / "bad.csv"), "--tariff", "zhejiang-demo"]) == 2
    err = capsys.readouterr().err
    assert "headcount" in err and "E1" in err


def test_info_commands(capsys):
    assert main(["tariff", "shandong-construction-2018", "--rows", "6"]) == 0
    assert "shandong" in capsys.readouterr().out
    assert main(["regimes", "national-2025"]) == 0
    assert "应急〔2025〕27号" in capsys.readouterr().out
    assert main(["sectors"]) == 0
    assert "危险化学品" in capsys.readouterr().out


# --- the whole job on the command line: minimal books, Excel, explain, check, template, experience

def _template_book(tmp_path, suffix=".csv"):
    out = tmp_path / f"book{suffix}"
    assert main(["template", "portfolio", "--out", str(out)]) == 0
    return out


def test_minimal_book_prices_from_csv_and_from_excel(tmp_path, capsys):
    csv_book, xlsx_book = _template_book(tmp_path), _template_book(tmp_path, ".xlsx")
    capsys.readouterr()
    args = ["--tariff", "zhejiang-demo", "--option", "per_person=400000"]
    assert main(["price", str(csv_book), *args, "--out", str(tmp_path / "q.csv")]) == 0
    err = capsys.readouterr().err
    # the defaults are said once, in one line, naming every column filled
    assert err.count("defaults used") == 1 and len(err.strip().splitlines()) == 1
    for col in ("size_band", "blacklisted", "standardization", "years_insured", "award"):
        assert col in err
    assert main(["price", str(xlsx_book), *args, "--out", str(tmp_path / "q.xlsx")]) == 0
    q_csv = pd.read_csv(tmp_path / "q.csv", index_col=0)
    q_xlsx = pd.read_excel(tmp_path / "q.xlsx", index_col=0)
    assert list(q_csv.index) == ["E1", "E2", "E3"] and (q_csv["final_premium"] > 0).all()
    pd.testing.assert_series_equal(q_csv["final_premium"], q_xlsx["final_premium"])
    # the same book priced by the library gives the same premiums
    pf = si.Portfolio.read(csv_book)
    lib = si.Tariff.load("zhejiang-demo").price(pf, options={"per_person": 400000.0}).to_frame()
    assert q_csv["final_premium"].to_numpy() == pytest.approx(lib["final_premium"].to_numpy(), rel=1e-12)


def test_explain_check_and_floor(tmp_path, capsys):
    book = _template_book(tmp_path)
    capsys.readouterr()
    args = ["--tariff", "zhejiang-demo", "--option", "per_person=400000"]
    assert main(["explain", "E2", str(book), *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Enterprise E2") and "final premium" in out and "yuan" in out
    assert main(["check", "tariff", "hunan-construction"]) == 1  # offers 30万, below the 2025 floor
    out = capsys.readouterr().out
    # every manual row at 30万 is named (4 value bands x 3 aggregates x 2 risk classes = 24 rows)
    assert "300000" in out and "rates.0 (" in out
    assert int(re.search(r"(\d+) failed", out).group(1)) >= 24
    assert main(["check", "tariff", "hunan-construction", "--regime", "national-2017"]) == 0
    assert main(["check", "tariff", "zhejiang-demo"]) == 0
    pol = si.PolicyCoverage.from_regime("national-2017", per_person=300_000, headcount=10)
    pol.to_toml(tmp_path / "policy.toml")
    capsys.readouterr()
    assert main(["check", "policy", str(tmp_path / "policy.toml")]) == 1
    assert "min_death_disability_limit" in capsys.readouterr().out


def test_experience_file_feeds_the_floating_rule(tmp_path, capsys):
    rule = si.FloatingRule.load("illustrative")
    only = rule.model_copy(update={"terms": tuple(t for t in rule.terms if t.input == "loss_ratio"),
                                   "name": "experience-only"})
    only.to_toml(tmp_path / "exp.toml")
    book = _template_book(tmp_path)
    pd.DataFrame({"enterprise_id": ["E1", "E2"], "loss_ratio": [0.2, 1.6]}).to_csv(
        tmp_path / "exp.csv", index=False)
    out = tmp_path / "q.csv"
    assert main(["price", str(book), "--tariff", "zhejiang-demo", "--option", "per_person=400000",
                 "--floating", str(tmp_path / "exp.toml"), "--experience", str(tmp_path / "exp.csv"),
                 "--out", str(out)]) == 0, capsys.readouterr().err
    q = pd.read_csv(out, index_col=0)
    assert q.loc["E2", "factor"] > 1 > q.loc["E1", "factor"] and q.loc["E3", "factor"] == 1
    exp = pd.DataFrame({"loss_ratio": [0.2, 1.6]}, index=["E1", "E2"])
    lib = si.Tariff.load("zhejiang-demo").price(si.Portfolio.read(book), floating=only, experience=exp,
                                                options={"per_person": 400000.0}).to_frame()
    assert q["factor"].to_numpy() == pytest.approx(lib["factor"].to_numpy(), rel=1e-12)


def test_templates_read_back(tmp_path, capsys):
    for kind, cls in (("accidents", si.AccidentHistory), ("hazards", si.HazardHistory)):
        for suffix in (".csv", ".xlsx"):
            path = tmp_path / f"{kind}{suffix}"
            assert main(["template", kind, "--out", str(path)]) == 0
            assert len(cls.read(path)) == 2
    text = (tmp_path / "accidents.csv").read_text(encoding="utf-8")
    assert text.startswith("# safeins accidents template") and "direct_loss" in text


def test_stress_without_the_engine_says_so(capsys):
    code = main(["stress", "some-scheme"])
    if "stress_test" not in si.__all__:
        assert code == 2 and "stress engine" in capsys.readouterr().err


def test_every_command_has_an_example_in_its_help():
    from safeins.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) >= {"price", "explain", "check", "template", "stress", "tariff", "datasets",
                                "demo", "sectors", "regimes"}
    for name, p in sub.choices.items():
        assert "example:\n  safeins " + name in p.format_help(), name


def test_datasets_are_written_out_and_price_from_the_files(tmp_path, capsys, monkeypatch):
    from safeins.domain import datasets

    assert main(["datasets", "hachemeister", "--out", str(tmp_path / "h.xlsx")]) == 0
    assert pd.read_excel(tmp_path / "h.xlsx").shape == (60, 4)
    # the pilot's four files, from a small stand-in (the real one has 124,096 enterprises)
    small = si.datasets.synthetic_portfolio(n_enterprises=150, years=(2022, 2023), seed=7, regions=("宁波",))
    monkeypatch.setattr(datasets, "load", lambda name: small)
    folder = tmp_path / "pilot"
    folder.mkdir()
    assert main(["datasets", "zhejiang-pilot", "--out", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["accidents.csv", "hazards.csv", "portfolio.csv",
                                                        "victims.csv"]
    (tmp_path / "plain").write_text("", encoding="utf-8")  # the mode a plain open() gives
    assert (folder / "victims.csv").stat().st_mode == (tmp_path / "plain").stat().st_mode
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    capsys.readouterr()
    assert main(["datasets", "zhejiang-pilot", "--out", str(folder)]) == 2  # nothing replaced unasked
    assert "--force" in capsys.readouterr().err
    assert before == {p.name: p.read_bytes() for p in folder.iterdir()}
    out = tmp_path / "q.csv"
    assert main(["price", str(folder / "portfolio.csv"), "--tariff", "zhejiang-demo", "--floating", "fuyang",
                 "--accidents", str(folder / "accidents.csv"), "--victims", str(folder / "victims.csv"),
                 "--hazards", str(folder / "hazards.csv"), "--option", "per_person=400000",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    lib = si.Tariff.load("zhejiang-demo").price(small.portfolio, accidents=small.accidents,
                                                hazards=small.hazards, floating="fuyang",
                                                options={"per_person": 400000.0}).to_frame()
    q = pd.read_csv(out, index_col=0)
    assert q["final_premium"].to_numpy() == pytest.approx(lib["final_premium"].to_numpy(), rel=1e-12)


def test_stress_prints_the_overview_and_writes_table_and_report(tmp_path, capsys):
    html, table = tmp_path / "stress.html", tmp_path / "stress.csv"
    args = ["stress", "zhejiang-pilot-2015", "--scenario", "baseline", "--scenario", "catastrophe",
            "--years", "2", "--n-sims", "50", "--seed", "3", "--html", str(html), "--out", str(table)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "premium (million yuan)" in out and "deaths (count)" in out and "catastrophe" in out
    page = html.read_text(encoding="utf-8")
    assert page.count("<img") >= 4 and "2,02" not in page  # fan charts and exceedance curves; years as years
    frame = pd.read_csv(table)
    assert set(frame["scenario"]) == {"baseline", "catastrophe"} and len(frame) == 2 * 50 * 2
    # the outputs exist now: a second run without --force refuses and leaves them alone
    before = html.read_bytes()
    assert main(args) == 2
    assert html.read_bytes() == before


def test_check_scheme_against_its_regime(capsys):
    assert main(["check", "scheme", "zhejiang-2025"]) == 0
    out = capsys.readouterr().out
    assert "prevention_cap" in out and "min_death_disability_limit" in out and "0 failed" in out
