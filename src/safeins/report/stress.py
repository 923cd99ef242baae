"""The stress-test section of a report: summary table, fan charts and exceedance curves.

Written against the stress result's protocol (``res.to_frame()``: one row per scenario, simulation
and year; ``res.summary()``: a table by scenario and year), so any object with those two methods
can be laid out.

>>> import numpy as np, pandas as pd
>>> class Fake:
...     def to_frame(self):
...         rng = np.random.default_rng(1)
...         idx = pd.MultiIndex.from_product([["baseline"], range(50), [1, 2]],
...                                          names=["scenario", "simulation", "year"])
...         return pd.DataFrame({"claims": rng.gamma(2, 1e6, len(idx)),
...                              "loss_ratio": rng.uniform(.4, .9, len(idx))}, index=idx).reset_index()
...     def summary(self):
...         return self.to_frame().groupby(["scenario", "year"])[["claims"]].mean()
>>> page = stress_section(Report("Stress"), Fake()).to_html()
>>> page.count("<img")
2
"""

from __future__ import annotations

from .document import Report
from .figures import exceedance_figure, fan_chart
from .format import UNITS

__all__ = ["stress_overview", "stress_section"]

#: the columns of a stress summary shown to people: name -> (shown name, unit, number kind, scale)
OVERVIEW = {
    "premium_mean": ("premium", "million yuan", "money", 1e-6),
    "claims_mean": ("claims", "million yuan", "money", 1e-6),
    "loss_ratio_mean": ("loss ratio", "claims ÷ premium", "percent", 1.0),
    "combined_ratio_mean": ("combined ratio", "share of premium", "percent", 1.0),
    "ruin_probability": ("ruin probability", "share of simulations", "percent", 1.0),
    "capital_needed_995": ("capital needed at 99.5%", "million yuan", "money", 1e-6),
    "accidents_mean": ("accidents", "count", "rate", 1.0),
    "deaths_mean": ("deaths", "count", "rate", 1.0),
    "avoided_accidents_mean": ("accidents avoided by prevention", "count", "rate", 1.0),
}


def stress_overview(summary):
    """The key columns of a stress summary (means over the simulations, by scenario and year), money
    in millions of yuan, with their units: ``(frame, units)`` for :meth:`Report.table`.

    >>> import pandas as pd
    >>> s = pd.DataFrame({"premium_mean": [2.5e6], "deaths_mean": [1.5]},
    ...                  index=pd.MultiIndex.from_tuples([("baseline", 2024)], names=["scenario", "year"]))
    >>> frame, units = stress_overview(s)
    >>> frame.iloc[0].tolist(), units["premium"]
    ([2.5, 1.5], ('million yuan', 'money'))
    """
    cols = [c for c in OVERVIEW if c in summary.columns]
    shown = summary[cols].copy()
    for c in cols:
        shown[c] = shown[c] * OVERVIEW[c][3]
    shown = shown.rename(columns={c: OVERVIEW[c][0] for c in cols})
    return shown, {OVERVIEW[c][0]: (OVERVIEW[c][1], OVERVIEW[c][2]) for c in cols}

FAN_METRICS = ("loss_ratio", "combined_ratio", "result", "capital", "deaths")
EXCEEDANCE_METRICS = ("claims", "deaths")


def _unit(metric: str) -> tuple[str, float]:
    """The unit shown on the axis and the factor to multiply by (shares are shown in %)."""
    unit, kind = UNITS.get(metric, ("count", "count"))
    return ("%", 100.0) if kind == "percent" else (unit, 1.0)


def stress_section(report: Report, res, *, title: str = "Stress test") -> Report:
    """Add a stress result to ``report``: its summary, a fan chart per result metric present, and
    exceedance curves of claims and deaths (summed over the years of each simulation).

    >>> import pandas as pd
    >>> class Res:  # any object with the stress result's to_frame() and summary()
    ...     def to_frame(self):
    ...         return pd.DataFrame({"scenario": "baseline", "simulation": [0, 0, 1, 1], "year": [1, 2] * 2,
    ...                              "deaths": [0, 2, 1, 0]})
    ...     def summary(self):
    ...         return self.to_frame().groupby("year")[["deaths"]].mean()
    >>> stress_section(Report("Pilot"), Res()).to_html().count("<img")
    2
    """
    frame = res.to_frame()
    if "scenario" not in frame:
        frame = frame.assign(scenario="scenario")
    report.heading(title)
    summary = res.summary()
    if hasattr(summary, "to_frame") and not hasattr(summary, "columns"):
        summary = summary.to_frame()
    if hasattr(summary, "columns") and any(c in summary.columns for c in OVERVIEW):
        shown, units = stress_overview(summary)
        report.table(shown, "Summary by scenario and year (means over the simulations)", units=units)
    elif hasattr(summary, "columns"):
        report.table(summary, "Summary by scenario and year", unit=("as in the column name", "ratio"))
    else:
        report.text(str(summary), pre=True)
    for metric in FAN_METRICS:
        if metric in frame:
            unit, scale = _unit(metric)
            shown = frame.assign(**{metric: frame[metric] * scale})
            report.figure(fan_chart(shown, metric, unit), f"{metric.replace('_', ' ')} by year ({unit}).")
    for metric in EXCEEDANCE_METRICS:
        if metric in frame:
            unit, _ = _unit(metric)
            report.figure(exceedance_figure(frame, metric, unit),
                          f"Exceedance probability of {metric} summed over the years ({unit}).")
    return report
