"""The HTML report: self-contained, units in every header, readable numbers, the figures it promises."""

import re

import numpy as np
import pandas as pd
import pytest

from safeins.errors import ValidationError
from safeins.report import Report, format_number, stress_section, table_html


@pytest.fixture(scope="module")
def demo_page():
    from safeins.demo import run_demo

    return run_demo(synthetic=700, seed=11, progress=False).to_html()


def _visible_text(page: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)


def test_demo_report_is_self_contained_with_its_figures(demo_page):
    assert demo_page.startswith("<!doctype html>")
    # relativities, premium per worker, floating factor, strategies: all embedded, nothing fetched
    assert demo_page.count("<img") == 4
    assert demo_page.count("src='data:image/png;base64,") == 4
    assert not re.search(r"(src|href)=['\"]https?://", demo_page)
    assert "<script" not in demo_page


def test_demo_report_numbers_are_readable(demo_page):
    text = _visible_text(demo_page)
    cells = re.findall(r"<td class='num'>([^<]*)</td>", text)
    assert len(cells) > 100
    assert not [c for c in cells if re.search(r"\de[+-]?\d", c)], "scientific notation in a table"
    assert "NaN" not in text and ">nan<" not in text.lower()


def test_every_column_header_has_a_unit(demo_page):
    text = _visible_text(demo_page)
    headers = re.findall(r"<th scope='col'>([^<]*)</th>", text)
    # index columns (sector, year, region, ...) are labels; every value column names its unit
    labels = {"sector", "year", "region", "credit grade", "strategy", "factor", "level", "rule", "verdict",
              "value", "limit", "unit", "exposure unit", "size band"}
    missing = [h for h in headers if "(" not in h and h not in labels]
    assert not missing, missing


def test_a_column_without_a_unit_is_refused():
    with pytest.raises(ValidationError, match="mystery"):
        table_html(pd.DataFrame({"mystery": [1.0]}))


@pytest.mark.parametrize("value, kind, text", [
    (2.952e-05, "rate", "0.0000295"), (1234567.8, "money", "1,234,568"), (12.345, "money", "12.35"),
    (0.125, "percent", "12.5 %"), (float("nan"), "money", "–"), (None, "count", "–"), (3.0, "count", "3"),
    (1.23456, "ratio", "1.23"), (0.0, "ratio", "0"), (-0.5, "percent", "-50.0 %"), (0.0, "money", "0"),
])
def test_format_number(value, kind, text):
    assert format_number(value, kind) == text


class _FakeStress:
    """A stand-in with the stress result's protocol (issue 12): to_frame() and summary()."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        idx = pd.MultiIndex.from_product([["baseline", "catastrophe"], range(200), range(1, 6)],
                                         names=["scenario", "simulation", "year"])
        n = len(idx)
        premium = np.full(n, 1e7)
        claims = rng.gamma(4.0, 1.5e6, n)
        self.frame = pd.DataFrame({"premium": premium, "claims": claims, "loss_ratio": claims / premium,
                                   "result": premium - claims, "deaths": rng.poisson(3.0, n)},
                                  index=idx).reset_index()

    def to_frame(self):
        return self.frame

    def summary(self):
        return self.frame.groupby(["scenario", "year"])[["premium", "claims", "loss_ratio"]].mean()


def test_stress_section_has_fan_charts_and_exceedance_curves():
    page = stress_section(Report("stress"), _FakeStress()).to_html()
    # fan charts: loss_ratio, result, deaths; exceedance: claims, deaths
    assert page.count("<img") == 5
    assert "loss ratio (claims ÷ premium)" in page
    assert "Exceedance probability of claims" in page


def test_exceedance_curve_matches_the_empirical_distribution():
    from safeins.report.figures import exceedance_figure

    res = _FakeStress(3)
    fig = exceedance_figure(res.frame, "claims", "yuan")
    line = fig.axes[0].get_lines()[0]
    x, p = line.get_xdata(), line.get_ydata()
    totals = res.frame[res.frame["scenario"] == "baseline"].groupby("simulation")["claims"].sum()
    # at each plotted point, the curve is the share of simulations strictly above it
    assert len(x) == len(totals) - 1
    for xi, pi in zip(x[::37], p[::37], strict=True):
        assert pi == pytest.approx((totals > xi).sum() / len(totals), abs=1e-12)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_chinese_labels_render_with_a_cjk_font(recwarn):
    from safeins._base.plotting import axes, cjk_font

    if cjk_font() is None:
        pytest.skip("no CJK font installed (CI installs fonts-noto-cjk)")
    import io

    import matplotlib

    ax = axes()
    assert matplotlib.rcParams["font.sans-serif"][0] == cjk_font()
    ax.set_title("危险化学品 烟花爆竹 建筑施工")
    ax.figure.savefig(io.BytesIO(), format="png")
    matplotlib.pyplot.close(ax.figure)
    assert not [w for w in recwarn if "missing from font" in str(w.message)]
