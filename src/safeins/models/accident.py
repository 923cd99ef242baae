"""The accident model: victims, outcomes, third parties, property and rescue costs, by sector.

An accident (事故) of sector s is built from independent parts, each fitted from an
:class:`~safeins.domain.portfolio.AccidentHistory` with its per-victim table:

- **employee victims** ``N_e``: zero with probability ``p_no_employee``, else a zero-truncated
  count with a heavy tail (ZT Poisson, ZT negative binomial and two-component mixtures, the family
  chosen by AIC);
- the accident's **size band**, cut at ``size_bands`` employee victims (default ``(3, 5)``: bands
  <3, 3-4 and >=5; 3 deaths make a 较大 accident). Catastrophes (explosions, collapses) differ from
  ordinary accidents in more than their number of victims: lethality, third parties, property and
  rescue costs all depend on the band, which keeps that dependence while every part stays simple
  (with one band, lethality would be averaged over ordinary and catastrophic accidents and the
  share of 较大 accidents would come out several times too low);
- each victim's **outcome** by role (employee / third party) and band: death, disability or
  medical treatment only; a disability's **grade** 1..10; the **medical cost** by outcome
  (lognormal or gamma by AIC, with an atom at zero);
- **third parties**: involved with a probability by band, then a zero-truncated count of victims;
- **property damage** (probability and severity) and **rescue cost** by band.

Thin sectors are pooled: every part is fitted on the sector if it has at least ``min_count``
observations, else on its parent sector (coal and non-coal mining pool into mining), else on all
sectors; band-specific parts fall back to all bands last. ``pooling_`` lists the level used.

The ground-up liability for a death is ``death_liability`` (estimated from the direct losses by
default; a disability of grade g is (11 - g)/10 of it, the tort-law disability coefficient).

>>> import safeins as si
>>> data = si.datasets.synthetic_portfolio(n_enterprises=2_000, years=(2022, 2023), seed=5)
>>> accm = AccidentModel(min_count=100).fit(data.accidents, data.portfolio)
>>> sim = accm.simulate(1_000, sector="construction", seed=1)
>>> len(sim), bool((sim["employee_victims"] >= 0).all())
(1000, True)
>>> from safeins.models.policy import PolicyCoverage
>>> cov = PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
>>> sev = accm.insured_loss(cov, sector="construction")
>>> 0 < sev.mean() < cov.per_accident_limit
True
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings

import numpy as np
import pandas as pd

from .._base.results import ResultMixin
from .._base.rng import as_generator
from .._base.threads import single_thread
from ..domain.portfolio import AccidentHistory, accident_grade
from ..errors import DiscretizationWarning, Problems, ValidationError
from ..losses import Empirical
from ._accident_counts import COUNT_FAMILIES
from ._accident_fit import (
    OUTCOMES,
    Pooler,
    band_index,
    band_labels,
    band_of,
    count_table,
    fit_sector,
)
from ._accident_lattice import accident_lattice

__all__ = ["AccidentModel", "InsuredAccidentLoss"]

_ALL = "all"


class _fit_method:
    """``AccidentModel.fit(acc, pf)`` on the class builds a default model; on an instance, fits it."""

    def __init__(self, func):
        self.func = func
        functools.update_wrapper(self, func)

    def __get__(self, obj, cls):
        if obj is None:
            @functools.wraps(self.func)
            def build_and_fit(*args, **kwargs):
                return self.func(cls(), *args, **kwargs)

            return build_and_fit
        return functools.partial(self.func, obj)


class AccidentModel(ResultMixin):
    """Victims, outcomes, third parties, property damage and rescue costs of accidents, by sector.

    Parameters
    ----------
    min_count : int, default 50
        Observations a level needs before a part is fitted on it (else the next, broader level).
    size_bands : tuple of int, default (3, 5)
        Employee-victim counts where the size bands are cut (increasing, each >= 2; ``()``: one
        band).
    count_families : tuple of str
        Victim-count families compared by AIC (see ``safeins.models._accident_counts``).
    severity_families : tuple of str
        Cost families compared by AIC: ``"lognormal"``, ``"gamma"``.
    death_liability : float or "estimate", default "estimate"
        Ground-up compensation for one death, yuan: estimated as Σ(direct loss − property −
        rescue − medical) / Σ(deaths + Σ (11 - g)/10 over disabilities), or a given number (e.g.
        1,036,420 = 20 × the 2023 national urban per-capita disposable income,
        docs/domain/regulation.md#workers-comp).

    Fitted attributes: ``sectors_``, ``params_`` (sector -> fitted parts), ``pooling_``,
    ``count_aic_``, ``death_liability_``, ``n_accidents_``, ``n_victims_``.

    ``AccidentModel.fit(acc, pf)`` called on the class fits a model with the defaults.

    >>> import safeins as si
    >>> d = si.datasets.synthetic_portfolio(n_enterprises=1_000, years=(2023,), seed=2)
    >>> m = AccidentModel.fit(d.accidents, d.portfolio)
    >>> int(m.summary().loc["all", "accidents"]) == len(d.accidents)
    True
    """

    def __init__(self, min_count: int = 50, size_bands=(3, 5),
                 count_families=COUNT_FAMILIES, severity_families=("lognormal", "gamma"),
                 death_liability="estimate"):
        self.min_count = min_count
        self.size_bands = size_bands
        self.count_families = tuple(count_families)
        self.severity_families = tuple(severity_families)
        self.death_liability = death_liability

    # --- fitting ----------------------------------------------------------------------------
    @classmethod
    def from_claims(cls, claims, portfolio=None, *, sector: str = "sector", amount: str = "amount",
                    families=("lognormal", "gamma", "weibull", "pareto"), min_count: int = 30):
        """An accident model from claim amounts alone (no per-victim table): one severity per sector.

        ``claims`` is a DataFrame with ``sector`` and ``amount`` (yuan per accident) columns, or an
        AccidentHistory with ``amount_paid`` (sectors from ``portfolio``). The result answers
        ``insured_loss(coverage, sector)`` and so builds tariffs with ``Tariff.from_models``; see
        :mod:`safeins.models._accident_claims` for what claim amounts can and cannot say.

        >>> import numpy as np, pandas as pd
        >>> claims = pd.DataFrame({"sector": ["construction"] * 50,
        ...                        "amount": np.random.default_rng(2).gamma(2.0, 5e4, 50)})
        >>> AccidentModel.from_claims(claims, families=("gamma",)).sectors_
        ['construction']
        """
        from ._accident_claims import fit_claims_model

        return fit_claims_model(claims, portfolio, sector=sector, amount=amount, families=families,
                                min_count=min_count)

    def _check_params(self) -> None:
        p = Problems("AccidentModel")
        mc = self.min_count
        p.check(not isinstance(mc, bool) and isinstance(mc, int | np.integer) and mc >= 1,
                column="min_count", value=mc, rule="an integer >= 1")
        sb = self.size_bands
        ok = isinstance(sb, tuple | list) and all(
            not isinstance(v, bool) and isinstance(v, int | np.integer) and v >= 2 for v in sb)
        p.check(ok and all(a < b for a, b in itertools.pairwise(sb)),
                column="size_bands", value=sb, rule="increasing integers >= 2 (or ())")
        bad = [f for f in self.count_families if f not in COUNT_FAMILIES]
        p.check(bool(self.count_families) and not bad, column="count_families",
                value=self.count_families, rule=f"a non-empty subset of {COUNT_FAMILIES}")
        badsev = [f for f in self.severity_families if f not in ("lognormal", "gamma")]
        p.check(bool(self.severity_families) and not badsev, column="severity_families",
                value=self.severity_families, rule="a non-empty subset of ('lognormal', 'gamma')")
        dl = self.death_liability
        p.check(dl == "estimate" or (not isinstance(dl, bool) and isinstance(dl, int | float)
                                     and math.isfinite(dl) and dl >= 0),
                column="death_liability", value=dl, rule="'estimate' or a finite number >= 0")
        p.raise_if_any()

    @_fit_method
    def fit(self, accidents, portfolio=None) -> AccidentModel:
        """Fit every part from an AccidentHistory with victims (sectors from the portfolio)."""
        self._check_params()
        self.bands_ = band_labels(self.size_bands)
        A, V, F = _prepare(accidents, portfolio, tuple(self.size_bands))
        self._lattices = {}  # insured_loss lattices of the previous fit are stale
        self.death_liability_ = (_estimate_liability(F, V) if self.death_liability == "estimate"
                                 else float(self.death_liability))
        # every sector of the portfolio gets parameters, even one with no accident yet: it is the
        # thinnest of thin sectors and is pooled with its parent or all sectors (see pooling_)
        extra = (sorted(set(map(str, pd.unique(portfolio.frame["sector"])))) if portfolio is not None
                 else [])
        pool = Pooler(A, V, self.min_count, self.count_families, self.severity_families, sectors=extra)
        self.sectors_ = list(pool.present)
        with single_thread():  # the thread pools are set once for the ~70 count fits
            self.params_ = {_ALL: fit_sector(pool, None, self.bands_)}
            for s in self.sectors_:
                self.params_[s] = fit_sector(pool, s, self.bands_)
        self.count_aic_ = pd.DataFrame(count_table(pool))
        self.pooling_ = _pooling_frame(self.params_)
        self.n_accidents_ = len(A)
        self.n_victims_ = len(V)
        observed = A.groupby("sector")["n_emp"].apply(np.asarray).to_dict()
        # sectors of the portfolio without an accident have an empty record (and pooled parameters)
        self._observed = {s: observed.get(s, np.zeros(0, dtype=np.int64)) for s in self.sectors_}
        self._observed[_ALL] = A["n_emp"].to_numpy()
        return self

    def __getstate__(self):
        # the insured-loss lattices are a cache (megabytes): pickles (dask workers) go without it
        state = self.__dict__.copy()
        state.pop("_lattices", None)
        return state

    def _params(self, sector):
        if not hasattr(self, "params_"):
            raise ValidationError("AccidentModel", [_problem("model", "not fitted",
                                                             "call fit(accidents, portfolio) first")])
        key = _ALL if sector is None else sector
        if key not in self.params_:
            raise ValidationError("AccidentModel", [_problem(
                "sector", sector, f"a fitted sector: {', '.join(self.sectors_)} (or None for all)")])
        return self.params_[key]

    # --- summaries --------------------------------------------------------------------------
    def expected(self, sector=None) -> dict:
        """Expected counts per accident: employee and third-party victims, deaths, disabilities.

        >>> import safeins as si
        >>> d = si.datasets.synthetic_portfolio(n_enterprises=500, years=(2023,), seed=2)
        >>> e = AccidentModel(min_count=1000).fit(d.accidents, d.portfolio).expected()
        >>> e["employee_victims"] >= 1 - e["p_no_employee"]
        True
        """
        P = self._params(sector)
        kmax = P.count.value.upper(1e-14)
        k = np.arange(kmax + 1)
        pk = (1 - P.p_no_employee.value) * P.count.value.pmf_array(kmax)
        pk[0] = P.p_no_employee.value
        idx = band_index(k, self.size_bands)
        w = {b: float(pk[idx == i].sum()) for i, b in enumerate(self.bands_)}
        mean_in = {b: float((k * pk)[idx == i].sum()) for i, b in enumerate(self.bands_)}
        out = {"p_no_employee": P.p_no_employee.value, "employee_victims": float((k * pk).sum()),
               "p_large": float(pk[idx > 0].sum())}
        deaths = dis = tpv = 0.0
        for b in self.bands_:
            pe = P.outcome[("employee", b)].value
            pt = P.outcome[("third_party", b)].value
            tpc = P.tp_count[b].value
            n_tp = P.p_tp[b].value * (tpc.mean() if tpc is not None else 0.0) * w[b]
            deaths += mean_in[b] * pe[0] + n_tp * pt[0]
            dis += mean_in[b] * pe[1] + n_tp * pt[1]
            tpv += n_tp
        out.update(third_party_victims=float(tpv), deaths=float(deaths),
                   disabilities=float(dis),
                   property=float(sum(w[b] * P.prop[b].value.mean() for b in self.bands_)),
                   rescue=float(sum(w[b] * P.rescue[b].value.mean() for b in self.bands_)))
        return out

    def summary(self) -> pd.DataFrame:
        """One row per sector (and ``all``): data, chosen count family and expected values."""
        rows = []
        counts = pd.Series({s: len(v) for s, v in self._observed.items()})
        for key in [_ALL, *self.sectors_]:
            P = self.params_[key]
            e = self.expected(None if key == _ALL else key)
            obs = self._observed[key]
            rows.append({
                "sector": key, "accidents": int(counts[key]),
                "count_family": P.count.value.family, "count_level": P.count.level,
                "mean_employee_victims": e["employee_victims"],
                "observed_mean_employee_victims": float(obs.mean()) if len(obs) else math.nan,
                "p_large": e["p_large"],
                "p_death_employee": float(P.outcome[("employee", self.bands_[0])].value[0]),
                "p_third_party": float(P.p_tp[self.bands_[0]].value),
                "third_party_victims": e["third_party_victims"],
                "deaths_per_accident": e["deaths"], "property_mean": e["property"],
                "rescue_mean": e["rescue"],
            })
        return pd.DataFrame(rows).set_index("sector")

    def to_frame(self) -> pd.DataFrame:
        """Every fitted parameter: sector, part, band, role, parameter, value, level, n."""
        rows = []
        for key, P in self.params_.items():
            def add(part, param, value, choice, band="", role="", key=key):
                rows.append((key, part, band, role, param, float(value), choice.level, choice.n))

            add("p_no_employee", "p", P.p_no_employee.value, P.p_no_employee)
            add("count", "mean", P.count.value.mean(), P.count)
            for name, v in P.count.value.params.items():
                add("count", name, v, P.count)
            for (role, band), ch in P.outcome.items():
                for o, v in zip(OUTCOMES, ch.value, strict=True):
                    add("outcome", f"p_{o}", v, ch, band, role)
            for g, v in enumerate(P.grades.value, start=1):
                add("disability_grade", f"p_grade_{g}", v, P.grades)
            for o, ch in P.medical.items():
                _cost_rows(add, f"medical:{o}", ch)
            for b in self.bands_:
                add("third_party", "p_involved", P.p_tp[b].value, P.p_tp[b], b)
                if P.tp_count[b].value is not None:
                    add("third_party_count", "mean", P.tp_count[b].value.mean(), P.tp_count[b], b)
                _cost_rows(add, "property", P.prop[b], b)
                _cost_rows(add, "rescue", P.rescue[b], b)
        return pd.DataFrame(rows, columns=["sector", "part", "band", "role", "parameter", "value",
                                           "level", "n"])

    def plot(self, ax=None, sector=None):
        """Observed and fitted distribution of employee victims per accident (log scale)."""
        from .._base.plotting import axes

        ax = axes(ax)
        P = self._params(sector)
        obs = self._observed[_ALL if sector is None else sector]
        obs = obs[obs > 0]
        kmax = max(int(obs.max()) if obs.size else 1, 5)
        k = np.arange(1, kmax + 1)
        freq = np.bincount(obs, minlength=kmax + 1)[1:] / max(obs.size, 1)
        ax.bar(k, freq, color="0.75", label="observed")
        ax.plot(k, P.count.value.pmf(k), "o-", label=f"fitted {P.count.value.family}")
        ax.set_yscale("log")
        ax.set_xlabel("employee victims per accident")
        ax.set_ylabel("probability")
        ax.set_title(f"Victims per accident: {sector or 'all sectors'}")
        ax.legend()
        return ax

    # --- simulation -------------------------------------------------------------------------
    def simulate(self, n_accidents: int, sector=None, seed=None, return_victims: bool = False):
        """Simulate accidents of one sector (``None``: all sectors pooled), vectorised.

        Returns a DataFrame with the AccidentHistory columns (employee_deaths,
        employee_serious_injuries, employee_minor_injuries, third_party_deaths,
        third_party_injuries, direct_loss, property_damage, rescue_cost) plus sector,
        employee_victims, third_party_victims and grade (2007 State Council rules); with
        ``return_victims=True`` also the per-victim table (accident_id, role, outcome,
        disability_grade, medical_cost, liability).
        """
        p = Problems("AccidentModel.simulate")
        p.check(not isinstance(n_accidents, bool) and isinstance(n_accidents, int | np.integer)
                and n_accidents >= 0, column="n_accidents", value=n_accidents,
                rule="an integer >= 0")
        p.raise_if_any()
        P = self._params(sector)
        rng = as_generator(seed)
        return _simulate(P, int(n_accidents), rng, tuple(self.size_bands), self.death_liability_,
                         sector or _ALL, return_victims)

    # --- insured loss -----------------------------------------------------------------------
    def insured_loss(self, coverage, sector=None, n: int = 2**14 + 1) -> InsuredAccidentLoss:
        """The distribution of the insured amount of ONE accident under ``coverage``.

        Exact on a lattice of ``n`` points up to the per-accident limit (see
        ``safeins.models._accident_lattice``); usable as ``sev`` by
        :class:`~safeins.losses.aggregate.Aggregate` (an :class:`~safeins.losses.Empirical` on the
        lattice, ``step`` attribute).
        """
        p = Problems("AccidentModel.insured_loss")
        p.check(hasattr(coverage, "per_accident_limit") and hasattr(coverage, "disability_shares"),
                column="coverage", value=type(coverage).__name__, rule="a PolicyCoverage")
        p.check(not isinstance(n, bool) and isinstance(n, int | np.integer) and n >= 16,
                column="n", value=n, rule="an integer >= 16 (lattice points)")
        p.raise_if_any()
        P = self._params(sector)
        # The lattice depends on the fitted parts (fixed until the next fit, which empties the
        # cache), the coverage, the liability per death, the size bands and n: a tariff and the
        # expected losses of a book ask for the same sectors under the same cover again.
        key = _lattice_key(coverage, sector, self.death_liability_, self.size_bands, int(n))
        cache = self.__dict__.setdefault("_lattices", {})
        if key is not None and key in cache:
            h, probs, info = cache[key]
        else:
            h, probs, info = accident_lattice(P, coverage, self.death_liability_,
                                              tuple(self.size_bands), int(n))
            probs.setflags(write=False)  # shared by every result built from the cache
            if key is not None:
                cache[key] = (h, probs, info)
        if not info["cap_on_grid"] and info["beyond"] > 1e-8:
            warnings.warn(
                f"AccidentModel.insured_loss: {info['beyond']:.3g} of probability lies beyond the "
                "lattice's practical bound and was put on its last point; use a larger n",
                DiscretizationWarning, stacklevel=2)
        return InsuredAccidentLoss(h, probs, info, coverage.per_accident_limit)


class InsuredAccidentLoss(Empirical):
    """The insured amount of one accident, on the lattice ``0, step, 2 step, ...``.

    An :class:`~safeins.losses.Empirical` (cdf, sf, ppf, mean, var, rvs, limited moments)
    with ``step``, ``probs`` (probabilities on the whole lattice, zeros included), ``p_limit``
    (the probability that the per-accident limit binds), ``part_means`` (expected insured amount
    of employees, third parties, property and rescue before that limit) and ``beyond`` (mass put
    on the last point: exact when the last point is the per-accident limit).

    >>> import safeins as si
    >>> d = si.datasets.synthetic_portfolio(n_enterprises=1_000, years=(2023,), seed=2)
    >>> m = AccidentModel(min_count=1000).fit(d.accidents, d.portfolio)
    >>> cov = si.PolicyCoverage.from_regime("national-2025", per_person=400_000, headcount=20)
    >>> sev = m.insured_loss(cov, sector="manufacturing")
    >>> bool(sev.ppf(1.0) <= cov.per_accident_limit)
    True
    >>> isinstance(sev, InsuredAccidentLoss), 0 <= sev.p_limit < 1
    (True, True)
    """

    def __init__(self, step: float, probs: np.ndarray, info: dict, limit: float):
        x = step * np.arange(len(probs))
        super().__init__(x, np.clip(probs, 0.0, None))
        self.step = float(step)
        self.probs = probs
        self.limit = float(limit)
        self.cap_on_grid = bool(info["cap_on_grid"])
        self.beyond = float(info["beyond"])
        self.part_means = dict(info["part_means"])
        self.p_limit = self.beyond if self.cap_on_grid else 0.0

    def __repr__(self) -> str:
        return (f"InsuredAccidentLoss(mean={self.mean():,.0f}, step={self.step:,.2f}, "
                f"points={len(self.probs)}, p_limit={self.p_limit:.3g})")

    def lattice(self):
        """(x, probabilities) on the whole lattice."""
        return self.step * np.arange(len(self.probs)), self.probs.copy()


# --- helpers ----------------------------------------------------------------------------------
def _lattice_key(coverage, sector, liability, size_bands, n):
    """The cache key of an insured-loss lattice, or None when the coverage is not hashable.

    A PolicyCoverage is a frozen configuration: equal fields, equal hash and equality.
    """
    try:
        hash(coverage)
    except TypeError:
        return None
    return (type(coverage), coverage, sector, float(liability), tuple(size_bands), n)


def _problem(column, value, rule):
    from ..errors import Problem

    return Problem(None, column, value, rule)


def _cost_rows(add, part, choice, band=""):
    law = choice.value
    add(part, "p_positive", law.p_pos, choice, band)
    add(part, "mean", law.mean(), choice, band)
    if law.sev is not None and law.family in ("lognormal", "gamma"):
        for name, v in law.sev.params.items():
            add(part, f"{law.family}.{name}", v, choice, band)


def _pooling_frame(params) -> pd.DataFrame:
    rows = []
    for key, P in params.items():
        rows.append((key, "p_no_employee", "", P.p_no_employee.level, P.p_no_employee.n))
        rows.append((key, "count", "", P.count.level, P.count.n))
        for (role, band), ch in P.outcome.items():
            rows.append((key, f"outcome:{role}", band, ch.level, ch.n))
        rows.append((key, "grades", "", P.grades.level, P.grades.n))
        for o, ch in P.medical.items():
            rows.append((key, f"medical:{o}", "", ch.level, ch.n))
        for b in P.p_tp:
            for part, ch in (("p_third_party", P.p_tp[b]), ("third_party_count", P.tp_count[b]),
                             ("property", P.prop[b]), ("rescue", P.rescue[b])):
                rows.append((key, part, b, ch.level, ch.n))
    return pd.DataFrame(rows, columns=["sector", "part", "band", "level", "n"])


def _prepare(accidents, portfolio, edges):
    """Accident-level and victim-level frames with sector and band, checked."""
    p = Problems("AccidentModel.fit")
    if not isinstance(accidents, AccidentHistory):
        p.add(column="accidents", value=type(accidents).__name__, rule="an AccidentHistory")
        p.raise_if_any()
    F = accidents.frame
    V = accidents.victims
    if V is None:
        p.add(column="victims", value=None,
              rule="the AccidentHistory needs its per-victim table (victims=...)")
        p.raise_if_any()
    if len(F) == 0:
        p.add(column="accidents", value=0, rule="at least one accident")
        p.raise_if_any()
    if portfolio is not None:
        pf = portfolio.frame
        known = F["enterprise_id"].isin(pf.index).to_numpy()
        for i in np.flatnonzero(~known):
            p.add(row=F.index[i], column="enterprise_id", value=F["enterprise_id"].iloc[i],
                  rule="not in the portfolio")
        p.raise_if_any()
        sector = pf["sector"].astype(object).reindex(F["enterprise_id"]).to_numpy()
    elif "sector" in F.columns:
        sector = F["sector"].astype(object).to_numpy()
    else:
        p.add(column="portfolio", value=None,
              rule="give the Portfolio (or a 'sector' column in the accidents)")
        p.raise_if_any()
    pos = F.index.get_indexer(V["accident_id"].to_numpy(dtype=object))
    role = V["role"].astype(object).to_numpy()
    emp = role == "employee"
    n_emp = np.bincount(pos[emp], minlength=len(F))
    n_tp = np.bincount(pos[~emp], minlength=len(F))
    want = (F["employee_deaths"] + F["employee_serious_injuries"]
            + F["employee_minor_injuries"]).to_numpy()
    for i in np.flatnonzero(n_emp != want):
        p.add(row=F.index[i], column="employee victims", value=int(want[i]),
              rule=f"deaths + serious + minor injuries must equal the victims table ({n_emp[i]})")
    p.raise_if_any()
    band = band_of(n_emp, edges)
    A = pd.DataFrame({"sector": sector, "band": band, "n_emp": n_emp, "n_tp": n_tp,
                      "property_damage": F["property_damage"].to_numpy(dtype=float),
                      "rescue_cost": F["rescue_cost"].to_numpy(dtype=float)}, index=F.index)
    Vf = pd.DataFrame({
        "sector": sector[pos], "band": band[pos], "role": role,
        "outcome": V["outcome"].astype(object).to_numpy(),
        "disability_grade": V["disability_grade"].to_numpy(dtype=float, na_value=np.nan),
        "medical_cost": V["medical_cost"].to_numpy(dtype=float), "pos": pos})
    return A, Vf, F


def _estimate_liability(F, V) -> float:
    """Σ(direct − property − rescue − medical) / Σ(deaths + Σ (11 - g)/10): compensation per death."""
    m = len(F)
    pos = V["pos"].to_numpy()
    out = V["outcome"].to_numpy()
    g = V["disability_grade"].to_numpy()
    units = np.where(out == "death", 1.0,
                     np.where(out == "disability", (11.0 - np.nan_to_num(g, nan=11.0)) / 10.0, 0.0))
    u = np.bincount(pos, weights=units, minlength=m)
    med = np.bincount(pos, weights=V["medical_cost"].to_numpy(), minlength=m)
    resid = (F["direct_loss"] - F["property_damage"] - F["rescue_cost"]).to_numpy() - med
    if u.sum() <= 0:
        raise ValidationError("AccidentModel.fit", [_problem(
            "death_liability", "estimate",
            "no death or disability in the data to estimate it from: give a number")])
    est = float(resid.sum() / u.sum())
    if not est > 0:
        raise ValidationError("AccidentModel.fit", [_problem(
            "death_liability", est, "the estimate from direct losses is <= 0 (direct_loss does not "
            "include bodily compensation?): give a number")])
    return est


def _categorical(rng, probs: np.ndarray) -> np.ndarray:
    """Index drawn from each row's probabilities (rows of an (m, k) array)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None]
    return np.minimum((u >= cum).sum(axis=1), probs.shape[1] - 1)


def _victims(rng, P, role, acc_of, band_idx, grades_cum, liability):
    """Outcome, disability grade, medical cost and liability of victims (vectorised)."""
    m = len(acc_of)
    table = np.array([P.outcome[(role, b)].value for b in P.p_tp])  # bands in order
    probs = table[band_idx[acc_of]] if m else np.zeros((0, 3))
    o = _categorical(rng, probs)
    grade = np.searchsorted(grades_cum, rng.random(m), side="right") + 1
    grade = np.minimum(grade, 10)
    med = np.zeros(m)
    for i, name in enumerate(OUTCOMES):
        sel = o == i
        med[sel] = P.medical[name].value.rvs(int(sel.sum()), rng)
    lia = np.where(o == 0, liability, np.where(o == 1, liability * (11 - grade) / 10.0, 0.0))
    return o, np.where(o == 1, grade, 0), med, lia


def _simulate(P, n, rng, edges, liability, sector, return_victims):
    bands = list(P.p_tp)
    has_emp = rng.random(n) >= P.p_no_employee.value
    ne = np.where(has_emp, P.count.value.rvs(n, rng), 0)
    band_idx = band_index(ne, edges)
    gcum = np.cumsum(P.grades.value)
    acc_e = np.repeat(np.arange(n), ne)
    oe, ge, me, le = _victims(rng, P, "employee", acc_e, band_idx, gcum, liability)
    q = np.array([P.p_tp[b].value for b in bands])[band_idx]
    has_tp = rng.random(n) < q
    nt = np.zeros(n, dtype=np.int64)
    prop = np.zeros(n)
    resc = np.zeros(n)
    for i, b in enumerate(bands):
        sel = has_tp & (band_idx == i)
        if sel.any() and P.tp_count[b].value is not None:
            nt[sel] = P.tp_count[b].value.rvs(int(sel.sum()), rng)
    for i, b in enumerate(bands):
        sel = band_idx == i
        k = int(sel.sum())
        if k:
            prop[sel] = P.prop[b].value.rvs(k, rng)
            resc[sel] = P.rescue[b].value.rvs(k, rng)
    acc_t = np.repeat(np.arange(n), nt)
    ot, gt, mt, lt = _victims(rng, P, "third_party", acc_t, band_idx, gcum, liability)

    def count(acc_of, mask):
        return np.bincount(acc_of[mask], minlength=n).astype(np.int64)

    e_death, e_dis, e_med = count(acc_e, oe == 0), count(acc_e, oe == 1), count(acc_e, oe == 2)
    t_death, t_dis = count(acc_t, ot == 0), count(acc_t, ot == 1)
    bodily = (np.bincount(acc_e, weights=le + me, minlength=n)
              + np.bincount(acc_t, weights=lt + mt, minlength=n))
    direct = bodily + prop + resc
    frame = pd.DataFrame({
        "sector": sector, "employee_victims": ne.astype(np.int64), "third_party_victims": nt,
        "employee_deaths": e_death, "employee_serious_injuries": e_dis,
        "employee_minor_injuries": e_med, "third_party_deaths": t_death,
        "third_party_injuries": t_dis, "direct_loss": direct, "property_damage": prop,
        "rescue_cost": resc,
    }, index=pd.RangeIndex(n, name="accident_id"))
    frame["grade"] = accident_grade(e_death + t_death, e_dis + t_dis, direct)
    if not return_victims:
        return frame
    outcome_names = np.array(OUTCOMES, dtype=object)
    victims = pd.DataFrame({
        "accident_id": np.concatenate([acc_e, acc_t]),
        "role": np.repeat(np.array(["employee", "third_party"], dtype=object),
                          [len(acc_e), len(acc_t)]),
        "outcome": outcome_names[np.concatenate([oe, ot])],
        "disability_grade": pd.array(np.concatenate([ge, gt]), dtype="Int64"),
        "medical_cost": np.concatenate([me, mt]),
        "liability": np.concatenate([le, lt]),
    })
    victims.loc[victims["outcome"] != "disability", "disability_grade"] = pd.NA
    return frame, victims
