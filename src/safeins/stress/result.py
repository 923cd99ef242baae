"""The result of a stress test, and the side-by-side comparison of two.

>>> import safeins as si
>>> s = si.Scheme.load("zhejiang-pilot-2015").select(region="舟山")
>>> a = si.stress_test(s, years=2, n_sims=50, seed=1, progress=False)
>>> b = si.stress_test(si.Scheme.load("zhejiang-2025").select(region="舟山"), years=2, n_sims=50,
...                    seed=1, progress=False)
>>> c = si.compare(a, b)
>>> c.to_frame().columns.tolist()[:4]
['scenario', 'year', 'measure', 'zhejiang-pilot-2015']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._base.results import ResultMixin
from ..errors import Problem, ValidationError
from ..simulation.result import SimulationResult

__all__ = ["Comparison", "StressResult", "compare"]

#: what :func:`compare` sets side by side (summary columns)
MEASURES = ("premium_mean", "claims_mean", "loss_ratio_mean", "combined_ratio_mean", "result_mean",
            "ruin_probability", "var_995", "tvar_995", "capital_needed_995", "fund_spent_mean",
            "accidents_mean", "deaths_mean", "avoided_accidents_mean")


class StressResult(SimulationResult):
    """A stress test's result: the simulation result with its scheme and scenarios.

    ``summary()``: by scenario and year; ``to_frame()``: one row per scenario, simulation and year;
    ``to_frame("by_sector")``: premium burden, loss ratio, accidents and deaths by sector;
    ``plot("loss_ratio" | "exceedance" | "capital" | "deaths")``.

    >>> import safeins as si
    >>> r = si.stress_test(si.Scheme.load("zhejiang-2025").select(region="舟山"), years=1,
    ...                    n_sims=50, seed=3, progress=False)
    >>> tuple(sorted(r.to_frame("by_sector").columns)[:3])
    ('accidents', 'claims', 'deaths')
    """

    def __init__(self, raw, meta, *, scheme=None, scenarios=None):
        super().__init__(raw, meta)
        self.scheme = scheme
        self.scenario_specs = scenarios or {}

    def __repr__(self) -> str:
        head = (f"StressResult: scheme {self.meta.scheme!r}, {len(self.scenarios)} scenarios, "
                f"{self.n_sims} simulations x {len(self.meta.years)} years")
        cols = ["loss_ratio_mean", "result_mean", "ruin_probability", "capital_needed_995",
                "deaths_mean"]
        return head + "\n" + self.summary()[cols].to_string()


class Comparison(ResultMixin):
    """Two stress results side by side: each measure of :data:`MEASURES` by scenario and year, and
    the difference (second − first).

    >>> import pandas as pd
    >>> c = Comparison(pd.DataFrame({"scenario": ["baseline"], "year": [2024], "measure": ["x"],
    ...                              "a": [1.0], "b": [3.0], "difference": [2.0]}), ("a", "b"))
    >>> float(c.summary().loc[("baseline", 2024, "x"), "difference"])
    2.0
    """

    def __init__(self, frame: pd.DataFrame, names: tuple[str, str]):
        self._frame = frame
        self.names = names

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario, year and measure: the two values and their difference."""
        return self._frame.copy()

    def summary(self) -> pd.DataFrame:
        """The comparison indexed by scenario, year and measure."""
        return self._frame.set_index(["scenario", "year", "measure"])

    def plot(self, measure: str = "loss_ratio_mean", ax=None):
        """The measure over the years for both schemes, one line per scheme and scenario."""
        from .._base.plotting import axes

        ax = axes(ax)
        f = self._frame[self._frame["measure"] == measure]
        for scen, g in f.groupby("scenario", sort=False):
            for name in self.names:
                ax.plot(g["year"], g[name], marker="o", label=f"{name}: {scen}")
        ax.set_xlabel("year")
        ax.set_ylabel(measure.replace("_", " "))
        ax.set_title(f"{self.names[0]} vs {self.names[1]}")
        ax.legend()
        return ax


def compare(first: SimulationResult, second: SimulationResult, measures=MEASURES) -> Comparison:
    """Set two stress results side by side (e.g. a scheme under the 2017 and the 2025 rules).

    Scenarios are matched by name and years by their position (year 1, 2, ...); the year shown is
    the first result's.

    >>> import safeins as si
    >>> s = si.Scheme.load("zhejiang-2025").select(region="丽水")
    >>> a = si.stress_test(s, years=1, n_sims=50, seed=2, progress=False)
    >>> b = si.stress_test(s.select(prevention={"share": 0.1}), years=1, n_sims=50, seed=2,
    ...                    progress=False)
    >>> c = compare(a, b).summary()
    >>> bool(c.loc[("baseline", 2024, "fund_spent_mean"), "difference"] < 0)
    True
    """
    bad = [Problem(None, n, type(r).__name__, "a StressResult") for n, r in
           (("first", first), ("second", second)) if not isinstance(r, SimulationResult)]
    if bad:
        raise ValidationError("compare", bad)
    common = [s for s in first.scenarios if s in second.scenarios]
    if not common:
        raise ValidationError("compare", [Problem(None, "scenarios", list(second.scenarios),
                                                  f"no scenario in common with {list(first.scenarios)}")])
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise ValidationError("compare", [Problem(None, "measures", unknown, f"of {', '.join(MEASURES)}")])
    na, nb = first.meta.scheme or "first", second.meta.scheme or "second"
    if na == nb:
        na, nb = f"{na} (1)", f"{nb} (2)"
    sa, sb = first.summary(), second.summary()
    n_years = min(len(first.meta.years), len(second.meta.years))
    rows = []
    for s in common:
        for k in range(n_years):
            ya, yb = first.meta.years[k], second.meta.years[k]
            for m in measures:
                a, b = float(sa.loc[(s, ya), m]), float(sb.loc[(s, yb), m])
                rows.append({"scenario": s, "year": ya, "measure": m, na: a, nb: b,
                             "difference": b - a if np.isfinite(a) and np.isfinite(b) else np.nan})
    return Comparison(pd.DataFrame(rows), (na, nb))
