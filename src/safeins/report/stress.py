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

__all__ = ["stress_section"]

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
    if hasattr(summary, "columns"):
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
