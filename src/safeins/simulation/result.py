"""Results of a multi-year simulation: the insurer's book, risk measures, accidents and deaths.

From the engine's raw per-simulation arrays, :class:`SimulationResult` computes, per scenario,
simulation and year (money in yuan):

* gross ``premium`` and ``claims``, ``loss_ratio`` = claims / premium;
* reinsurance: quota share (ceded premium, ceding commission, recoveries), per-accident excess of
  loss (rate on line × limit as premium), aggregate stop-loss on the net loss ratio;
* ``expenses`` (commission and expenses as shares of premium), ``fund_spent`` (prevention);
* ``result`` = net premium − net claims − expenses − prevention spend (the underwriting result),
  ``combined_ratio`` = 1 − result / premium, ``capital`` = starting capital + cumulative result,
  ``ruined`` once capital has gone below 0.

``summary()`` gives, by scenario and year, means and quantiles, the ruin probability, VaR and TVaR
at 99.5 % of the loss (−result) and the capital needed at 99.5 % (the 99.5 % quantile of the
cumulative loss, less nothing: what must be held at the start to stay solvent in 199 of 200
simulations).

>>> import numpy as np
>>> raw = {k: np.ones((4, 2)) for k in ("premium", "claims", "xl_recovery", "accidents", "deaths",
...        "avoided_accidents", "avoided_deaths", "fund_spent", "fatal_accidents")}
>>> meta = SimulationMeta(years=(2024, 2025), sectors=("mining",), first_year=2024,
...     commission=0.0, expenses=0.0, capital=10.0, burden=np.array([100.0]))
>>> r = SimulationResult({"baseline": raw}, meta)
>>> r.to_frame()["result"].tolist()[:2]   # 1 - (1 claims - 1 XL recovery) - 1 prevention
[0.0, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._base.results import ResultMixin
from ..errors import Problem, ValidationError
from .spec import GRADE_NAMES, Reinsurance

__all__ = ["PLOTS", "SimulationMeta", "SimulationResult"]

PLOTS = ("loss_ratio", "exceedance", "capital", "deaths")
_LEVEL = 0.995


@dataclass(frozen=True)
class SimulationMeta:
    """What a result needs to know about the scheme (labels, loadings, reinsurance, capital)."""

    years: tuple[int, ...]
    sectors: tuple[str, ...]
    first_year: int
    commission: float
    expenses: float
    capital: float
    burden: np.ndarray                      # payroll by sector (premium burden denominator)
    reinsurance: Reinsurance = field(default_factory=Reinsurance)
    subsidy: float = 0.0
    insurers: dict = field(default_factory=lambda: {"pool": 1.0})
    tracked: tuple = ()
    scheme: str = ""
    seed: object = None


def _finance(raw: dict, meta: SimulationMeta) -> dict:
    re = meta.reinsurance
    P, C = raw["premium"], raw["claims"]
    q = re.quota_share
    xl_premium = re.xl_rate_on_line * re.xl_limit
    net_premium = P * (1 - q) + q * re.quota_commission * P - xl_premium
    net_claims = C * (1 - q) - raw["xl_recovery"]
    sl_premium = re.stop_loss_rate * net_premium
    sl_rec = np.clip(net_claims - re.stop_loss_attachment * net_premium, 0.0,
                     re.stop_loss_limit * net_premium) if re.stop_loss_limit > 0 else np.zeros_like(P)
    net_claims = net_claims - sl_rec
    net_premium = net_premium - sl_premium
    expenses = (meta.commission + meta.expenses) * P
    result = net_premium - net_claims - expenses - raw["fund_spent"]
    capital = meta.capital + np.cumsum(result, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.where(P > 0, C / P, np.nan)
        combined = np.where(P > 0, 1 - result / P, np.nan)
    return {"net_premium": net_premium, "net_claims": net_claims, "stop_loss_recovery": sl_rec,
            "expenses": expenses, "result": result, "capital": capital,
            "ruined": np.minimum.accumulate(capital, axis=1) < 0, "loss_ratio": lr,
            "combined_ratio": combined}


def _tvar(x: np.ndarray, level: float) -> float:
    """Mean of the worst (1 - level) share of ``x`` (losses positive)."""
    k = max(1, int(np.ceil((1 - level) * len(x))))
    return float(np.sort(x)[-k:].mean())


class SimulationResult(ResultMixin):
    """Simulated scheme years, one block of arrays per scenario (see the module doc).

    ``raw[scenario]`` holds the engine's arrays (simulations first); :meth:`to_frame`,
    :meth:`summary` and :meth:`plot` read them.

    >>> import numpy as np
    >>> from safeins.simulation.engine import PER_YEAR
    >>> raw = {k: np.full((2, 1), 5.0) for k in PER_YEAR}
    >>> meta = SimulationMeta(years=(2024,), sectors=("trade",), first_year=2024, commission=0.1,
    ...                       expenses=0.0, capital=0.0, burden=np.array([1e3]))
    >>> SimulationResult({"baseline": raw}, meta).values("baseline", "result").tolist()  # 5-0-0.5-5
    [[-0.5], [-0.5]]
    """

    def __init__(self, raw: dict, meta: SimulationMeta):
        self.raw = raw
        self.meta = meta
        self.scenarios = tuple(raw)
        self.fin = {s: _finance(raw[s], meta) for s in raw}
        first = next(iter(raw.values()))
        self.n_sims = int(first["premium"].shape[0])

    def values(self, scenario: str, name: str) -> np.ndarray:
        """(simulations, years) array of one quantity of one scenario."""
        self._check_scenario(scenario)
        if name in self.fin[scenario]:
            return self.fin[scenario][name]
        if name in self.raw[scenario]:
            return self.raw[scenario][name]
        allowed = sorted({*self.fin[scenario], *(k for k in self.raw[scenario] if k.count("_") < 3)})
        raise ValidationError("SimulationResult.values", [Problem(None, "name", name,
                                                                  f"one of {', '.join(allowed)}")])

    def _check_scenario(self, scenario):
        if scenario not in self.raw:
            raise ValidationError("SimulationResult", [Problem(
                None, "scenario", scenario, f"one of {', '.join(self.scenarios)}")])

    # --- tables ---------------------------------------------------------------------------------
    _COLUMNS = ("premium", "claims", "loss_ratio", "net_premium", "net_claims", "expenses",
                "fund_spent", "result", "combined_ratio", "capital", "ruined", "accidents", "deaths",
                "fatal_accidents", "avoided_accidents", "avoided_deaths", "xl_recovery",
                "stop_loss_recovery")

    def to_frame(self, kind: str = "simulations") -> pd.DataFrame:
        """Tidy tables.

        ``"simulations"`` (default): one row per scenario, simulation and year with every quantity;
        ``"by_sector"``: mean premium, claims, loss ratio, accidents, deaths and premium burden
        (premium ÷ payroll, net of government subsidy) by scenario, year and sector;
        ``"by_grade"``: mean accidents and deaths by accident grade; ``"tracked"``: premium and
        claims of the tracked enterprises (e.g. the catastrophe's); ``"insurers"``: each
        insurer's share of premium, claims and result (means).
        """
        kinds = ("simulations", "by_sector", "by_grade", "tracked", "insurers")
        if kind not in kinds:
            raise ValidationError("SimulationResult.to_frame", [Problem(None, "kind", kind,
                                                                        f"one of {', '.join(kinds)}")])
        return getattr(self, f"_frame_{kind}")()

    def _frame_simulations(self):
        Y = len(self.meta.years)
        frames = []
        for s in self.scenarios:
            cols = {"scenario": s, "simulation": np.repeat(np.arange(self.n_sims), Y),
                    "year": np.tile(np.asarray(self.meta.years), self.n_sims)}
            for c in self._COLUMNS:
                cols[c] = self.values(s, c).ravel()
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)

    def _frame_by_sector(self):
        rows = []
        for s in self.scenarios:
            r = self.raw[s]
            mean = {k: r[f"by_sector_{k}"].mean(axis=0) for k in ("premium", "claims", "accidents",
                                                                  "deaths")}
            for yi, year in enumerate(self.meta.years):
                for si, sec in enumerate(self.meta.sectors):
                    p = mean["premium"][yi, si]
                    rows.append({"scenario": s, "year": year, "sector": sec, "premium": p,
                                 "claims": mean["claims"][yi, si],
                                 "loss_ratio": mean["claims"][yi, si] / p if p > 0 else np.nan,
                                 "accidents": mean["accidents"][yi, si],
                                 "deaths": mean["deaths"][yi, si],
                                 "premium_burden": p * (1 - self.meta.subsidy) / self.meta.burden[si]
                                 if self.meta.burden[si] > 0 else np.nan})
        return pd.DataFrame(rows)

    def _frame_by_grade(self):
        rows = []
        for s in self.scenarios:
            acc = self.raw[s]["by_grade_accidents"].mean(axis=0)
            dth = self.raw[s]["by_grade_deaths"].mean(axis=0)
            for yi, year in enumerate(self.meta.years):
                for gi, g in enumerate(GRADE_NAMES):
                    rows.append({"scenario": s, "year": year, "grade": g,
                                 "accidents": acc[yi, gi], "deaths": dth[yi, gi]})
        return pd.DataFrame(rows)

    def _frame_tracked(self):
        rows = []
        for s in self.scenarios:
            prem, clm = self.raw[s]["tracked_premium"], self.raw[s]["tracked_claims"]
            for ti, ent in enumerate(self.meta.tracked):
                for yi, year in enumerate(self.meta.years):
                    rows.append({"scenario": s, "enterprise_id": ent, "year": year,
                                 "premium_mean": prem[:, yi, ti].mean(),
                                 "claims_mean": clm[:, yi, ti].mean()})
        return pd.DataFrame(rows, columns=["scenario", "enterprise_id", "year", "premium_mean",
                                           "claims_mean"])

    def _frame_insurers(self):
        rows = []
        for s in self.scenarios:
            for name, share in self.meta.insurers.items():
                for yi, year in enumerate(self.meta.years):
                    rows.append({"scenario": s, "insurer": name, "year": year, "share": share,
                                 "premium": share * self.values(s, "premium")[:, yi].mean(),
                                 "claims": share * self.values(s, "claims")[:, yi].mean(),
                                 "result": share * self.values(s, "result")[:, yi].mean()})
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """By scenario and year: means and 5 %/50 %/95 % quantiles, ruin probability, VaR and TVaR
        of the loss (−result) at 99.5 %, and the capital needed at 99.5 %."""
        rows = []
        for s in self.scenarios:
            res = self.values(s, "result")
            cum_loss = -np.cumsum(res, axis=1)
            for yi, year in enumerate(self.meta.years):
                row = {"scenario": s, "year": year}
                for c in ("premium", "claims", "loss_ratio", "combined_ratio", "result", "capital"):
                    v = self.values(s, c)[:, yi]
                    row[f"{c}_mean"] = float(np.nanmean(v))
                    q05, q50, q95 = np.nanquantile(v, [0.05, 0.5, 0.95])
                    row.update({f"{c}_q05": q05, f"{c}_q50": q50, f"{c}_q95": q95})
                loss = -res[:, yi]
                row["ruin_probability"] = float(self.values(s, "ruined")[:, yi].mean())
                row["var_995"] = float(np.quantile(loss, _LEVEL))
                row["tvar_995"] = _tvar(loss, _LEVEL)
                row["capital_needed_995"] = max(0.0, float(np.quantile(cum_loss[:, :yi + 1].max(axis=1),
                                                                       _LEVEL)))
                for c in ("fund_spent", "accidents", "deaths", "avoided_accidents", "avoided_deaths"):
                    row[f"{c}_mean"] = float(self.values(s, c)[:, yi].mean())
                rows.append(row)
        return pd.DataFrame(rows).set_index(["scenario", "year"])

    # --- plots ------------------------------------------------------------------------------------
    def plot(self, kind: str = "loss_ratio", ax=None):
        """``"loss_ratio"`` and ``"capital"``: fan charts over the years (median, 5–95 %);
        ``"exceedance"``: probability that the year's loss (−result) exceeds x, each scenario's last
        year; ``"deaths"``: mean deaths per year with accidents avoided by prevention."""
        from .._base.plotting import axes

        if kind not in PLOTS:
            raise ValidationError("SimulationResult.plot", [Problem(None, "kind", kind,
                                                                    f"one of {', '.join(PLOTS)}")])
        ax = axes(ax)
        years = np.asarray(self.meta.years)
        for s in self.scenarios:
            if kind in ("loss_ratio", "capital"):
                v = self.values(s, kind)
                lo, mid, hi = np.nanquantile(v, [0.05, 0.5, 0.95], axis=0)
                line, = ax.plot(years, mid, marker="o", label=f"{s} (median)")
                ax.fill_between(years, lo, hi, alpha=0.2, color=line.get_color())
            elif kind == "exceedance":
                loss = np.sort(-self.values(s, "result")[:, -1])
                p = 1.0 - np.arange(1, len(loss) + 1) / len(loss)
                ax.step(loss, p, where="post", label=s)
                ax.set_yscale("log")
            else:
                ax.plot(years, self.values(s, "deaths").mean(axis=0), marker="o", label=f"{s} deaths")
        labels = {"loss_ratio": ("year", "loss ratio (claims / premium)"),
                  "capital": ("year", "capital (yuan)"),
                  "exceedance": ("loss in the last year, −result (yuan)", "probability of exceeding"),
                  "deaths": ("year", "deaths per year (mean)")}
        ax.set_xlabel(labels[kind][0])
        ax.set_ylabel(labels[kind][1])
        ax.set_title(f"{self.meta.scheme or 'scheme'}: {kind.replace('_', ' ')}")
        ax.legend()
        return ax
