"""The demo's report: the pipeline's tables with units, and its four figures.

:func:`demo_report` takes what ``safeins.demo.run_demo`` computed (it reads the result's ``header``,
``tables``, ``frequency``, ``quotes`` and ``portfolio`` attributes; the demo sits above this layer, so
it is passed in, never imported) and lays it out as a :class:`~safeins.report.document.Report`.
"""

from __future__ import annotations

import pandas as pd

from .document import Report
from .figures import floating_factor_figure, premium_per_worker_figure, relativities_figure, strategies_figure

__all__ = ["demo_report"]

_COUNT = ("accidents", "count")
_EXPOSURE_UNIT = {"headcount": ("yuan per worker", 1.0), "vehicles": ("yuan per vehicle", 1.0),
                  "vessels": ("yuan per vessel", 1.0), "contract_value": ("‰ of contract value", 1e3),
                  "payroll": ("‰ of payroll", 1e3), "revenue": ("‰ of revenue", 1e3)}

# per demo table (by the start of its title): units of columns the default table does not know
_TABLE_UNITS: dict[str, dict] = {
    "Accidents by year": {"unit": _COUNT},
    "Frequency GLM": {"units": {"exposure": ("sum of exposure bases, mixed units", "count")}},
    "Premiums for the next year": {"units": {"exposure": ("in each sector's base; no total", "count")}},
    # one row per figure, each with its own unit in the `unit` column
    "Frequency trend": {"units": {"value": ("as in the unit column", "ratio"), "unit": None}},
    "Regime check": {"units": {"rule": None, "verdict": None, "value": None, "limit": None}},
}


def _units_for(title: str) -> dict:
    return next((v for k, v in _TABLE_UNITS.items() if title.startswith(k)), {})


def tariff_rates_table(tariff) -> pd.DataFrame:
    """A tariff's gross base rates by sector and size band, each sector in the unit of its base
    (yuan per worker, vehicle or vessel; ‰ of contract value, payroll or revenue).

    >>> from safeins.rating.tariff import Tariff
    >>> t = tariff_rates_table(Tariff.load("zhejiang-demo"))
    >>> t.loc["construction", "unit"]
    '‰ of contract value'
    """
    f = tariff.to_frame()
    if "size_band" not in f:
        f = f.assign(size_band="all")
    f = f.assign(rate_shown=[r * _EXPOSURE_UNIT.get(b, (b, 1.0))[1] for r, b in zip(f["rate"], f["base"],
                                                                                     strict=True)])
    table = f.pivot_table(index="sector", columns="size_band", values="rate_shown", aggfunc="mean",
                          observed=True)
    table.columns = [str(c) for c in table.columns]
    base = f.groupby("sector", observed=True)["base"].first()
    table.insert(0, "unit", [_EXPOSURE_UNIT.get(base[s], (str(base[s]), 1.0))[0] for s in table.index])
    return table


def demo_report(res) -> Report:
    """The demo's HTML report: header, figures and every table, with units and readable numbers.

    >>> from safeins.demo import run_demo
    >>> page = demo_report(run_demo(synthetic=800, seed=4, progress=False)).to_html()
    >>> import re
    >>> text = re.sub(r"base64,[A-Za-z0-9+/=]+", "", page)  # the embedded figures
    >>> page.count("<img"), "NaN" in text, "e-0" in text
    (4, False, False)
    """
    report = Report("safeins demo", subtitle="Every number below is computed by safeins from the data set "
                                             "named in the header; money in yuan.")
    report.text(res.header, pre=True)
    quotes = res.quotes.to_frame()

    report.heading("Figures")
    if res.frequency is not None:
        report.figure(relativities_figure(res.frequency.relativities_),
                      "Frequency GLM relativities (×) with 95 % confidence intervals; base levels at 1.")
    pf = getattr(res, "portfolio", None)
    if pf is not None:
        book = pf.frame.loc[quotes.index]
        report.figure(premium_per_worker_figure(quotes["final_premium"], book["headcount"], book["sector"],
                                                book["credit_grade"]),
                      "Final premium per worker (yuan per worker) by sector and credit grade.")
    report.figure(floating_factor_figure(quotes["factor"]),
                  "Floating factor (× base premium) of each enterprise, after floor, cap and off-balance.")
    strategies = next((f for t, f in res.tables if t.startswith("Prevention fund")), None)
    if strategies is not None:
        report.figure(strategies_figure(strategies),
                      "Prevention strategies compared on the same budget (illustrative effect curves).")

    report.heading("Tables")
    for title, frame in res.tables:
        if title.startswith("Tariff"):
            report.table(tariff_rates_table(res.quotes.tariff),
                         "Tariff (差别费率): gross base rate by sector and size band, in each sector's unit",
                         units={"unit": None}, unit=("see the unit column", "rate"))
            continue
        report.table(frame, title, **_units_for(title))
    return report
