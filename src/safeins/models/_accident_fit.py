"""Fitting the parts of the accident model, with pooling of thin sectors.

Each part (victim count, outcome probabilities, disability grades, medical costs, third-party
involvement and count, property damage, rescue cost) is estimated on the most specific level that
has at least ``min_count`` observations: the sector, then its parent in the sector registry
(coal and non-coal mines pool into ``mining``), then all sectors. Parts that depend on the
accident's size band are tried band by band first and, last, on all bands together. The level
used and its number of observations are kept for every part (``AccidentModel.pooling_``).

>>> import numpy as np
>>> law = fit_cost(np.array([1_000.0, 2_000.0, 4_000.0, 0.0]))
>>> law.family, round(law.p_pos, 2)
('lognormal', 0.75)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from ..domain import sectors as _sectors
from ..losses import Empirical, Gamma, LogNormal
from ._accident_counts import COUNT_FAMILIES, compare_counts

__all__ = ["OUTCOMES", "ROLES", "Choice", "CostLaw", "SectorParams", "fit_cost"]

OUTCOMES = ("death", "disability", "medical")
ROLES = ("employee", "third_party")
SEVERITY_FAMILIES = ("lognormal", "gamma")


@dataclass
class CostLaw:
    """A cost that is zero with probability ``1 - p_pos`` and else follows ``sev``."""

    p_pos: float
    sev: object | None
    family: str
    aic: dict = field(default_factory=dict)
    n: int = 0

    def mean(self) -> float:
        return 0.0 if self.sev is None or self.p_pos == 0 else self.p_pos * float(self.sev.mean())

    def rvs(self, size: int, rng) -> np.ndarray:
        out = np.zeros(size)
        pos = rng.random(size) < self.p_pos
        k = int(pos.sum())
        if k and self.sev is not None:
            out[pos] = np.asarray(self.sev.rvs(size=k, seed=rng), dtype=float)
        return out


def _fit_lognormal(x):
    lx = np.log(x)
    mu, sigma = float(lx.mean()), float(lx.std())
    if not sigma > 0:
        return None, -math.inf
    d = LogNormal(mu, sigma)
    # the normal log-density of log x, less the Jacobian sum(log x); written out rather than
    # scipy.stats.norm.logpdf, whose import costs a second on a busy machine
    z = (lx - mu) / sigma
    return d, float((-0.5 * z * z).sum() - lx.size * (math.log(sigma) + _HALF_LOG_2PI) - lx.sum())


def _fit_gamma(x):
    m, lm = float(x.mean()), float(np.log(x).mean())
    s = math.log(m) - lm  # > 0 unless all values are equal
    if not s > 0:
        return None, -math.inf
    # the likelihood equation log(a) - digamma(a) = s has one root; bracket it around Minka's start
    a0 = (3 - s + math.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    f = lambda a: math.log(a) - special.digamma(a) - s  # noqa: E731
    lo, hi = a0 / 4, a0 * 4
    while f(lo) < 0:
        lo /= 4
    while f(hi) > 0:
        hi *= 4
    a = float(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-13))
    d = Gamma(a, m / a)
    scale = m / a  # log-density (a - 1) log x - x / scale - lgamma(a) - a log scale
    y = x / scale
    return d, float((special.xlogy(a - 1.0, y) - y).sum()
                    - x.size * (special.gammaln(a) + math.log(scale)))


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_FITTERS = {"lognormal": _fit_lognormal, "gamma": _fit_gamma}


def fit_cost(values, families=SEVERITY_FAMILIES) -> CostLaw:
    """Zero share plus a maximum-likelihood severity of the positive values, picked by AIC.

    With fewer than two distinct positive values no family is identified: the positive values
    are kept as an :class:`~safeins.losses.Empirical` law (family ``"empirical"``).
    """
    v = np.asarray(values, dtype=float)
    n = v.size
    pos = v[v > 0]
    if n == 0 or pos.size == 0:
        return CostLaw(0.0, None, "none", {}, n)
    p_pos = pos.size / n
    if np.unique(pos).size < 2:
        return CostLaw(p_pos, Empirical(pos), "empirical", {}, n)
    aic, best = {}, None
    for fam in families:
        d, ll = _FITTERS[fam](pos)
        if d is None:
            continue
        aic[fam] = 2 * 2 - 2 * ll
        if best is None or aic[fam] < aic[best[0]]:
            best = (fam, d)
    return CostLaw(p_pos, best[1], best[0], aic, n)


@dataclass
class Choice:
    """A fitted part, the pooling level it was estimated on, and the observations it used."""

    value: object
    level: str
    n: int


@dataclass
class SectorParams:
    """Every fitted part of one sector's accident model."""

    sector: str
    p_no_employee: Choice
    count: Choice
    outcome: dict  # (role, band) -> Choice(array [p_death, p_disability, p_medical])
    grades: Choice  # array of 10 probabilities of disability grade 1..10
    medical: dict  # outcome -> Choice(CostLaw)
    p_tp: dict  # band -> Choice(float)
    tp_count: dict  # band -> Choice(VictimCount | None)
    prop: dict  # band -> Choice(CostLaw)
    rescue: dict  # band -> Choice(CostLaw)


class Pooler:
    """Chooses, for a sector and a part, the level with enough data, caching fits by level."""

    def __init__(self, acc, vic, min_count: int, count_families=COUNT_FAMILIES,
                 severity_families=SEVERITY_FAMILIES, sectors=()):
        self.acc = acc
        self.vic = vic
        self.min_count = int(min_count)
        self.count_families = tuple(count_families)
        self.severity_families = tuple(severity_families)
        self._cache: dict = {}
        self.count_fits: dict = {}
        present = sorted(set(acc["sector"].tolist()) | set(sectors))
        self.present = present
        self.parent = {s: _parent(s) for s in present}
        self._code = {s: i for i, s in enumerate(present)}
        self.a_code = acc["sector"].map(self._code).to_numpy(dtype=np.int64)
        self.v_code = vic["sector"].map(self._code).to_numpy(dtype=np.int64)
        # every sector's fit reads the same columns and selects the same pooling levels: the
        # columns are converted once and the row masks kept (a sector set and band -> rows)
        self._columns: dict = {}
        self._masks: dict = {}

    def column(self, table: str, name: str, dtype=None) -> np.ndarray:
        """A column of the accident (``"a"``) or victim (``"v"``) table as a numpy array."""
        key = (table, name, dtype)
        if key not in self._columns:
            frame = self.acc if table == "a" else self.vic
            self._columns[key] = frame[name].to_numpy(dtype=dtype)
        return self._columns[key]

    def mask(self, table: str, members, band=None) -> np.ndarray:
        """Rows of the accident or victim table in the sector set ``members`` (and ``band``)."""
        key = (table, frozenset(members), band)
        m = self._masks.get(key)
        if m is None:
            m = np.isin(self.a_code if table == "a" else self.v_code, self.codes_of(members))
            if band is not None:
                m &= self.where(table, "band", band)
            self._masks[key] = m
        return m

    def where(self, table: str, name: str, value) -> np.ndarray:
        """Rows of the accident or victim table whose column ``name`` equals ``value`` (cached:
        every sector's fit asks for the same roles and outcomes of 100,000s of victims)."""
        key = (table, name, "==", value)
        m = self._masks.get(key)
        if m is None:
            m = self._masks[key] = self.column(table, name) == value
        return m

    def codes_of(self, members) -> np.ndarray:
        return np.array(sorted(self._code[s] for s in members), dtype=np.int64)

    def levels(self, sector: str | None):
        """[(name, sector set)] from the most specific to all sectors."""
        out = []
        if sector is not None:
            out.append((f"sector:{sector}", {sector}))
            par = self.parent.get(sector)
            if par is not None:
                members = {s for s in self.present if self.parent.get(s) == par or s == par}
                out.append((f"parent:{par}", members))
        out.append(("overall", set(self.present)))
        return out

    def choose(self, part: str, sector, band, n_of, fit):
        """First level (band-specific first when ``band``) with n >= min_count, else the largest."""
        tried = []
        for name, members in self.levels(sector):
            name = name if band is None else f"{name}|{band}"
            n = n_of(members, band)
            tried.append((name, members, band, n))
            if n >= self.min_count:
                return self._get(part, name, members, band, n, fit)
        # no level has min_count: a band keeps its own overall estimate (noisy, but pooling the
        # bands would erase what sets catastrophes apart) unless it has under min_count / 5
        name, members, b, n = tried[-1]
        if band is not None and n < max(1, self.min_count // 5):
            everything = set(self.present)
            n = n_of(everything, None)
            return self._get(part, "overall|all bands", everything, None, n, fit)
        return self._get(part, name, members, b, n, fit)

    def _get(self, part, name, members, b, n, fit):
        key = (part, name)
        if key not in self._cache:
            self._cache[key] = Choice(fit(members, b), name, int(n))
        return self._cache[key]


def _parent(code: str):
    try:
        return _sectors.get(code).parent
    except Exception:  # an unregistered sector label: no parent level
        return None


def fit_sector(pool: Pooler, sector: str | None, bands) -> SectorParams:
    """Fit every part for one sector (``None``: all sectors pooled)."""
    v_out = pool.column("v", "outcome")
    n_emp, n_tp = pool.column("a", "n_emp"), pool.column("a", "n_tp")

    def amask(members, band=None):
        return pool.mask("a", members, band)

    def vmask(members, band=None):
        return pool.mask("v", members, band)

    p0 = pool.choose("p_no_employee", sector, None, lambda s, b: int(amask(s).sum()),
                     lambda s, b: float((n_emp[amask(s)] == 0).mean()))

    def fit_count(s, b):
        c = n_emp[amask(s) & (n_emp > 0)]
        best, fits = compare_counts(c, pool.count_families)
        return best, fits

    cnt = pool.choose("count", sector, None,
                      lambda s, b: int((amask(s) & (n_emp > 0)).sum()), fit_count)
    pool.count_fits[cnt.level] = cnt.value[1]
    count = Choice(cnt.value[0], cnt.level, cnt.n)

    outcome = {}
    for role in ROLES:
        for band in bands:
            def n_of(s, b, role=role):
                return int((vmask(s, b) & pool.where("v", "role", role)).sum())

            def fit(s, b, role=role):
                o = v_out[vmask(s, b) & pool.where("v", "role", role)]
                if o.size == 0:
                    return np.array([0.0, 0.0, 1.0])
                return np.array([(o == k).mean() for k in OUTCOMES])

            outcome[(role, band)] = pool.choose(f"outcome:{role}", sector, band, n_of, fit)

    dis = pool.where("v", "outcome", "disability")
    grades_all = pool.column("v", "disability_grade")

    def fit_grades(s, b):
        g = grades_all[vmask(s) & dis].astype(np.int64)
        if g.size == 0:  # no disability anywhere: DEFINITIONS' grades get no data; equal shares
            return np.full(10, 0.1)
        return np.bincount(g - 1, minlength=10)[:10] / g.size

    grades = pool.choose("grades", sector, None, lambda s, b: int((vmask(s) & dis).sum()),
                         fit_grades)

    med_all = pool.column("v", "medical_cost", float)
    medical = {}
    for o in OUTCOMES:
        medical[o] = pool.choose(
            f"medical:{o}", sector, None,
            lambda s, b, o=o: int((vmask(s) & pool.where("v", "outcome", o)).sum()),
            lambda s, b, o=o: fit_cost(med_all[vmask(s) & pool.where("v", "outcome", o)],
                                       pool.severity_families))

    p_tp, tp_count, prop, rescue = {}, {}, {}, {}
    prop_all = pool.column("a", "property_damage", float)
    resc_all = pool.column("a", "rescue_cost", float)
    for band in bands:
        p_tp[band] = pool.choose("p_third_party", sector, band,
                                 lambda s, b: int(amask(s, b).sum()),
                                 lambda s, b: float((n_tp[amask(s, b)] > 0).mean())
                                 if amask(s, b).any() else 0.0)

        def fit_tp(s, b):
            c = n_tp[amask(s, b) & (n_tp > 0)]
            return None if c.size == 0 else compare_counts(c, pool.count_families)[0]

        tp_count[band] = pool.choose("third_party_count", sector, band,
                                     lambda s, b: int((amask(s, b) & (n_tp > 0)).sum()), fit_tp)
        prop[band] = pool.choose("property", sector, band, lambda s, b: int(amask(s, b).sum()),
                                 lambda s, b: fit_cost(prop_all[amask(s, b)],
                                                       pool.severity_families))
        rescue[band] = pool.choose("rescue", sector, band, lambda s, b: int(amask(s, b).sum()),
                                   lambda s, b: fit_cost(resc_all[amask(s, b)],
                                                         pool.severity_families))
    return SectorParams(sector or "all", p0, count, outcome, grades, medical, p_tp, tp_count,
                        prop, rescue)


def count_table(pool: Pooler):
    """AIC table of the victim-count families for every level fitted."""
    rows = []
    for level, fits in pool.count_fits.items():
        best = min(fits, key=lambda f: (f.aic, f.n_params))
        for f in fits:
            rows.append({"level": level, "family": f.family, "n_params": f.n_params,
                         "loglik": f.loglik, "aic": f.aic, "mean": f.mean(),
                         "chosen": f is best, "n": f.n_obs})
    return rows


def band_labels(edges) -> tuple[str, ...]:
    """Labels of the size bands cut at ``edges`` employee victims: (3, 5) -> <3, 3-4, >=5."""
    e = list(edges)
    if not e:
        return ("all",)
    out = [f"<{e[0]}"]
    for lo, hi in itertools.pairwise(e):
        out.append(f"{lo}" if hi == lo + 1 else f"{lo}-{hi - 1}")
    out.append(f">={e[-1]}")
    return tuple(out)


def band_index(n_emp, edges) -> np.ndarray:
    """Index of each accident's size band (0 = fewest victims)."""
    return np.searchsorted(np.asarray(edges, dtype=np.int64), np.asarray(n_emp), side="right")


def band_of(n_emp: np.ndarray, edges) -> np.ndarray:
    """The size-band label of each accident."""
    return np.asarray(band_labels(edges), dtype=object)[band_index(n_emp, edges)]
