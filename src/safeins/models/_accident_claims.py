"""An accident model from claim amounts alone: one severity per sector, no per-victim table.

An insurer that keeps only what it paid per accident (no victims, outcomes or third parties) can
still build a tariff from models: :meth:`AccidentModel.from_claims
<safeins.models.accident.AccidentModel.from_claims>` fits a severity to the claim amounts of each
sector (the family chosen by AIC among ``families``) and answers ``insured_loss(coverage, sector)``
like the full model, so ``Tariff.from_models(freq, model, ...)`` accepts it.

What claim amounts can and cannot say: they are payments under the policies of the past, so
per-person limits and sub-limits are already inside them and cannot be changed afterwards. Only
the per-accident limit of the coverage asked for is applied (the insured amount is
``min(X, per_accident_limit)``); per-person options therefore change a rate only through that
limit. Use the full :class:`~safeins.models.accident.AccidentModel` where a per-victim table exists.

Thin sectors are pooled as in the full model: a sector with fewer than ``min_count`` claims uses
its parent sector's claims (coal and non-coal mining into mining), else all claims; ``pooling_``
says which.

>>> import numpy as np, pandas as pd, safeins as si
>>> rng = np.random.default_rng(1)
>>> claims = pd.DataFrame({"sector": ["construction"] * 300 + ["fireworks"] * 10,
...                        "amount": rng.lognormal(11.0, 1.0, 310)})
>>> m = si.AccidentModel.from_claims(claims, families=("lognormal",), min_count=30)
>>> m.pooling_.loc["fireworks", "level"]
'all'
>>> cov = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=20)
>>> loss = m.insured_loss(cov, sector="construction")
>>> bool(0 < loss.mean() < cov.per_accident_limit)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._base.results import ResultMixin
from ..domain import sectors as _sectors
from ..domain.portfolio import AccidentHistory, Portfolio
from ..errors import Problems
from ..losses import Empirical, compare_severity, fit_severity
from ..losses.discretization import discretize

__all__ = ["ClaimsAccidentLoss", "ClaimsAccidentModel"]

_ALL = "all"


class ClaimsAccidentLoss(Empirical):
    """The insured amount of one accident, ``min(X, limit)``, on the lattice ``0, step, ...``.

    ``p_limit`` is the probability that the per-accident limit binds.
    """

    def __init__(self, step: float, probs: np.ndarray, limit: float):
        super().__init__(step * np.arange(len(probs)), np.clip(probs, 0.0, None))
        self.step = float(step)
        self.probs = probs
        self.limit = float(limit)
        self.p_limit = float(probs[-1])

    def __repr__(self) -> str:
        return (f"ClaimsAccidentLoss(mean={self.mean():,.0f}, step={self.step:,.2f}, "
                f"points={len(self.probs)}, p_limit={self.p_limit:.3g})")


def _claims_frame(claims, portfolio, sector: str, amount: str, problems: Problems) -> pd.DataFrame:
    """(sector, amount) rows from a DataFrame or from an AccidentHistory's ``amount_paid``."""
    if isinstance(claims, AccidentHistory):
        if not isinstance(portfolio, Portfolio):
            problems.add(column="portfolio", value=type(portfolio).__name__,
                         rule="a Portfolio: an AccidentHistory takes each accident's sector from it")
            problems.raise_if_any()
        f = claims.frame
        sec = f["enterprise_id"].map(portfolio.frame["sector"].astype(object))
        return pd.DataFrame({"sector": sec.to_numpy(dtype=object),
                             "amount": f["amount_paid"].to_numpy(dtype=float)}, index=f.index)
    if not isinstance(claims, pd.DataFrame):
        problems.add(column="claims", value=type(claims).__name__,
                     rule="a DataFrame (sector, amount) or an AccidentHistory with amount_paid")
        problems.raise_if_any()
    for col in (sector, amount):
        if col not in claims.columns:
            problems.add(column=col, value="<column missing>", rule="required column")
    problems.raise_if_any()
    return pd.DataFrame({"sector": claims[sector].to_numpy(dtype=object),
                         "amount": pd.to_numeric(claims[amount], errors="coerce").to_numpy()},
                        index=claims.index)


class ClaimsAccidentModel(ResultMixin):
    """A fitted claims-only accident model (built by :meth:`AccidentModel.from_claims`).

    Attributes: ``sectors_``, ``severities_`` (sector -> fitted severity), ``pooling_`` (the
    level, family and claims behind each sector), ``n_claims_``.
    """

    def __init__(self, families, min_count: int):
        self.families = tuple(families)
        self.min_count = int(min_count)

    def fit(self, claims, portfolio=None, *, sector: str = "sector", amount: str = "amount"):
        problems = Problems("AccidentModel.from_claims")
        problems.check(not isinstance(self.min_count, bool) and self.min_count >= 2, column="min_count",
                       value=self.min_count, rule="an integer >= 2")
        problems.check(len(self.families) > 0, column="families", value=self.families,
                       rule="at least one severity family")
        frame = _claims_frame(claims, portfolio, sector, amount, problems)
        codes = set(_sectors.codes())
        x = frame["amount"].to_numpy(dtype=float)
        for i in np.flatnonzero(~(np.isfinite(x) & (x > 0))):
            problems.add(row=frame.index[i], column=amount, value=x[i],
                         rule="a claim amount > 0 (yuan); missing or zero amounts cannot be fitted")
        for i, s in enumerate(frame["sector"]):
            if s not in codes:
                problems.add(row=frame.index[i], column=sector, value=s, rule="a sector code")
        need = max(self.min_count, 2)
        problems.check(len(frame) >= need, column="claims", value=len(frame),
                       rule=f"too few claims to fit a severity: at least {need} are needed")
        problems.raise_if_any()

        wanted = sorted(set(frame["sector"]) | (set(portfolio.frame["sector"].astype(str))
                                                if isinstance(portfolio, Portfolio) else set()))
        by_sector = {s: x[(frame["sector"] == s).to_numpy()] for s in set(frame["sector"])}
        self.severities_, rows, fitted = {}, [], {}
        for s in [_ALL, *wanted]:
            level, data = self._level(s, by_sector, x)
            if level not in fitted:
                fitted[level] = self._fit(data)
            family, dist = fitted[level]
            self.severities_[s] = dist
            rows.append({"sector": s, "level": "all" if level == _ALL else
                         ("sector" if level == s else "parent"), "pooled_with": level,
                         "claims": len(by_sector.get(s, ())), "claims_used": len(data),
                         "family": family, "mean": float(dist.mean())})
        self.sectors_ = wanted
        self.pooling_ = pd.DataFrame(rows).set_index("sector")
        self.n_claims_ = len(frame)
        return self

    def _level(self, s, by_sector, x):
        if s == _ALL:
            return _ALL, x
        if len(by_sector.get(s, ())) >= self.min_count:
            return s, by_sector[s]
        parent = _sectors.get(s).parent
        if parent is not None:
            kids = [c for c in by_sector if c == parent or _sectors.get(c).parent == parent]
            data = np.concatenate([by_sector[c] for c in kids]) if kids else np.zeros(0)
            if len(data) >= self.min_count:
                return parent, data
        return _ALL, x

    def _fit(self, data):
        if len(self.families) == 1:
            return self.families[0], fit_severity(data, self.families[0]).dist
        table = compare_severity(data, list(self.families))
        best = table["aic"].dropna().index[0]
        return best, fit_severity(data, best).dist

    def insured_loss(self, coverage, sector=None, n: int = 2**14 + 1) -> ClaimsAccidentLoss:
        """The insured amount of one accident, ``min(X, coverage.per_accident_limit)``, on a lattice
        of ``n`` points from 0 to the limit (mass-rounding discretisation; the mass beyond the
        limit sits on its last point, so the lattice mean is that of the limited loss up to the
        rounding error of step ``limit / (n - 1)``)."""
        problems = Problems("AccidentModel.insured_loss")
        problems.check(hasattr(coverage, "per_accident_limit"), column="coverage",
                       value=type(coverage).__name__, rule="a PolicyCoverage")
        problems.check(not isinstance(n, bool) and isinstance(n, int | np.integer) and n >= 16,
                       column="n", value=n, rule="an integer >= 16 (lattice points)")
        key = _ALL if sector is None else sector
        problems.check(hasattr(self, "severities_") and key in self.severities_, column="sector",
                       value=sector, rule="a fitted sector: " + ", ".join(getattr(self, "sectors_", [])))
        problems.raise_if_any()
        limit = float(coverage.per_accident_limit)
        step = limit / (int(n) - 1)
        probs = discretize(self.severities_[key], step=step, n=int(n), method="rounding", limit=limit)
        return ClaimsAccidentLoss(step, probs, limit)

    def summary(self) -> pd.DataFrame:
        """One row per sector (and ``all``): claims, pooling level, family and mean claim (yuan)."""
        return self.pooling_.copy()

    def to_frame(self) -> pd.DataFrame:
        """Every fitted parameter: sector, family, parameter, value."""
        rows = [(s, type(d).__name__, k, float(v)) for s, d in self.severities_.items()
                for k, v in getattr(d, "params", {}).items()]
        return pd.DataFrame(rows, columns=["sector", "family", "parameter", "value"])

    def plot(self, ax=None, sector=None):
        """Fitted survival function of the claim amount of one sector (log-log)."""
        from .._base.plotting import axes

        ax = axes(ax)
        dist = self.severities_[_ALL if sector is None else sector]
        x = np.geomspace(max(dist.ppf(0.001), 1.0), dist.ppf(0.999), 200)
        ax.loglog(x, dist.sf(x))
        ax.set_xlabel("claim amount (yuan)")
        ax.set_ylabel("P(X > x)")
        ax.set_title(f"Claim severity: {sector or 'all sectors'}")
        return ax


def fit_claims_model(claims, portfolio=None, *, sector: str = "sector", amount: str = "amount",
                     families=("lognormal", "gamma", "weibull", "pareto"), min_count: int = 30):
    """Fit a :class:`ClaimsAccidentModel` (see :meth:`AccidentModel.from_claims`)."""
    return ClaimsAccidentModel(families, min_count).fit(claims, portfolio, sector=sector, amount=amount)
