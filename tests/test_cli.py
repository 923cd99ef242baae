"""The safeins command: demo, price, tariff, sectors, regimes, datasets, and its errors."""

import pandas as pd

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
