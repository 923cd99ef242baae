"""How prevention spending changes the expected accident rate and the loss per accident.

:class:`ResponseCurve` is one saturating curve, λ(x) = λ0 (1 - r_max (1 - exp(-x / k))): concave,
decreasing, λ(0) = λ0 and λ(∞) = λ0 (1 - r_max).

:class:`ResponseModel` applies a :class:`~safeins.prevention.catalog.ServiceCatalog` to a table of
enterprises: for enterprise i and service s it gives the share ``w_is r_s,g`` of a channel removed at
saturation (``w`` is the enterprise's hazard share for hazard services, 1 otherwise, 0 where the
service does not apply) and the half-saturation spend ``k_is`` in yuan. Effects add up across
services on the rate (frequency and hazard channels) and on the expected loss (all channels):

    λ_i(x)        = λ0_i (1 - F_i),          F_i = Σ_{s: frequency, hazard} w_is r_s (1 - e^{-x_is/k_is})
    E[loss_i](x)  = λ0_i L_i (1 - F_i - V_i), V_i = Σ_{s: severity} r_s (1 - e^{-x_is/k_is})

and likewise for deaths. The catalogue guarantees F + V < 1. Parameter uncertainty: r and k are
drawn per (service, sector), shared by all enterprises of the sector (uncertainty about how well a
service works is systematic, not enterprise by enterprise).

>>> c = ResponseCurve(r_max=0.4, k=1000.0)
>>> round(float(c(1000.0, lam0=0.1)), 6)      # 0.1 × (1 - 0.4 × (1 - e^-1))
0.074715
>>> round(float(c.spend_for(0.2)), 2)        # spend that removes 20 % of λ
693.15
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._base.rng import as_generator
from ..errors import Problem, ValidationError
from .catalog import ServiceCatalog

__all__ = ["Params", "ResponseCurve", "ResponseModel"]


def _numbers(x):
    """``x`` as a float array, or None when it holds anything but numbers (text, None, booleans)."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):
        return None
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        return None
    return arr.astype(float)


def _check_model_inputs(catalog, sector, headcount, standardization, hazard_share) -> None:
    """One ValidationError naming every bad ResponseModel argument."""
    problems = []
    if not isinstance(catalog, ServiceCatalog):
        problems.append(Problem(None, "catalog", catalog, "a ServiceCatalog "
                                "(ServiceCatalog.load('default'))"))
    if isinstance(sector, str) or np.ndim(sector) != 1 or len(sector) == 0:
        problems.append(Problem(None, "sector", sector,
                                "a non-empty list of sector codes, one per enterprise"))
        raise ValidationError("ResponseModel", problems)
    n = len(sector)
    for i, s in enumerate(sector):
        if not isinstance(s, str) or not s:
            problems.append(Problem(i, "sector", s, "a sector code (text)"))
    for name, value, ok, rule in (
        ("headcount", headcount, lambda a: np.isfinite(a) & (a > 0), "finite and > 0 (people)"),
        ("hazard_share", hazard_share, lambda a: (a >= 0) & (a <= 1), "a share in [0, 1]"),
    ):
        if value is None:
            continue
        arr = _numbers(value)
        if arr is None or arr.shape != (n,):
            problems.append(Problem(None, name, value, f"numbers, one per enterprise ({n})"))
            continue
        for i in np.flatnonzero(~ok(arr))[:50]:
            problems.append(Problem(i, name, float(arr[i]), rule))
    if standardization is not None and (isinstance(standardization, str)
                                        or np.ndim(standardization) != 1
                                        or len(standardization) != n):
        problems.append(Problem(None, "standardization", standardization,
                                f"one grade per enterprise ({n}), or None"))
    if problems:
        raise ValidationError("ResponseModel", problems)


@dataclass(frozen=True)
class ResponseCurve:
    """λ(x) = λ0 (1 - r_max (1 - exp(-x / k))), vectorised over x, r_max and k.

    >>> import numpy as np
    >>> c = ResponseCurve(0.3, 2.0)
    >>> bool(np.all(np.diff(c([0.0, 1.0, 2.0, 4.0])) < 0))   # decreasing
    True
    >>> round(float(c.marginal(0.0)), 6)                   # -dλ/dx at 0 is r_max / k
    0.15
    """

    r_max: float | np.ndarray
    k: float | np.ndarray

    def __post_init__(self):
        r, k = _numbers(self.r_max), _numbers(self.k)
        problems = []
        if r is None or not np.all((r >= 0) & (r <= 1)):
            problems.append(Problem(None, "r_max", self.r_max, "numbers between 0 and 1"))
        if k is None or not np.all(np.isfinite(k) & (k > 0)):
            problems.append(Problem(None, "k", self.k, "finite numbers > 0 (yuan)"))
        if problems:
            raise ValidationError("ResponseCurve", problems)

    def reduction(self, x):
        """Share of λ0 removed by spending x."""
        return self.r_max * -np.expm1(-np.asarray(x, dtype=float) / self.k)

    def factor(self, x):
        """λ(x) / λ0."""
        return 1.0 - self.reduction(x)

    def __call__(self, x, lam0=1.0):
        return np.asarray(lam0, dtype=float) * self.factor(x)

    def marginal(self, x):
        """Share of λ0 removed by the next yuan, r_max / k · exp(-x / k)."""
        return self.r_max / self.k * np.exp(-np.asarray(x, dtype=float) / self.k)

    def spend_for(self, reduction):
        """Spend that removes the share ``reduction`` of λ0 (must be below r_max)."""
        red = np.asarray(reduction, dtype=float)
        if not np.all((red >= 0) & (red < self.r_max)):
            raise ValidationError("ResponseCurve.spend_for", [Problem(
                None, "reduction", reduction, f"in [0, r_max={self.r_max}) (saturation is never reached)")])
        return -self.k * np.log1p(-red / self.r_max)

    def plot(self, ax=None, *, lam0=1.0, x_max=None):
        """Plot λ(x) against spend."""
        from .._base.plotting import axes

        ax = axes(ax)
        k = float(np.max(self.k))
        x = np.linspace(0.0, x_max or 5 * k, 200)
        ax.plot(x, self(x, lam0))
        ax.set_xlabel("spend (yuan)")
        ax.set_ylabel("expected accidents λ(x)")
        return ax


@dataclass(frozen=True)
class Params:
    """Effect parameters per (sector group, service): r and k in yuan (before the size factor).

    Shapes (G, S) for central values or (D, G, S) for D draws.
    """

    r: np.ndarray
    k: np.ndarray

    @property
    def n_draws(self) -> int:
        return 0 if self.r.ndim == 2 else self.r.shape[0]


class ResponseModel:
    """A service catalogue applied to enterprises (see the module docstring for the equations).

    Parameters
    ----------
    catalog : ServiceCatalog
    sector : array of sector codes, one per enterprise
    headcount : array or None
        Scales each service's spend scale k by (headcount / reference) ** size_elasticity;
        None means every enterprise has the reference size.
    standardization : array or None
        Grades "1", "2", "3", "none": a service whose ``skip_standardization`` lists the grade has
        no effect there.
    hazard_share : array or None
        Share of each enterprise's λ driven by major hazards (default: the catalogue's sector value).

    >>> cat = ServiceCatalog.load("default").select(["hazard_investigation", "drills"])
    >>> m = ResponseModel(cat, ["mining", "construction"], headcount=[100, 400])
    >>> m.k_yuan().round(0).tolist()     # 2 visits × 4000 yuan; 1.5 drills × 5000; ×2 for 400 staff
    [[8000.0, 7500.0], [16000.0, 15000.0]]
    >>> F, V = m.fractions([[8000.0, 0.0], [0.0, 0.0]])
    >>> round(float(F[0]), 6)           # hazard share 0.4 × r 0.6 × (1 - e^-1)
    0.151709
    """

    def __init__(self, catalog: ServiceCatalog, sector, headcount=None, standardization=None,
                 hazard_share=None):
        _check_model_inputs(catalog, sector, headcount, standardization, hazard_share)
        self.catalog = catalog
        self.services = catalog.codes
        sector = np.asarray(sector, dtype=object)
        n = len(sector)
        self.n = n
        groups, self.group = np.unique(sector.astype(str), return_inverse=True)
        self.groups = tuple(groups.tolist())
        svc = [catalog.services[c] for c in self.services]
        self.channel = np.array([s.channel for s in svc])
        self.lag = np.array([s.lag_years for s in svc])
        eff = [[catalog.effect(c, g) for c in self.services] for g in self.groups]
        self.r_mean = np.array([[e.r_max for e in row] for row in eff])
        self.r_upper = np.array([[e.r_upper for e in row] for row in eff])
        self.conc = np.array([[e.concentration for e in row] for row in eff])
        unit = np.array([s.unit_cost for s in svc])
        self.k_median = np.array([[e.k_units for e in row] for row in eff]) * unit
        self.k_sigma = np.array([[e.k_sigma for e in row] for row in eff])
        if headcount is None:
            self.size = np.ones(n)
        else:
            h = np.asarray(headcount, dtype=float)
            self.size = (h / catalog.reference_headcount) ** catalog.size_elasticity
        if hazard_share is None:
            hz = np.array([catalog.profile(g).hazard_share for g in self.groups])[self.group]
        else:
            hz = np.asarray(hazard_share, dtype=float)
        self.hazard_share = hz
        w = np.ones((n, len(svc)))
        w[:, self.channel == "hazard"] = hz[:, None]
        if standardization is not None:
            grade = np.asarray(standardization).astype(str)
            for j, s in enumerate(svc):
                if s.skip_standardization:
                    w[np.isin(grade, list(s.skip_standardization)), j] = 0.0
        self.weight = w

    # -- parameters ------------------------------------------------------------------------------
    def central(self) -> Params:
        """Central parameters: mean r and median k."""
        return Params(self.r_mean, self.k_median)

    def draw(self, n_draws: int, seed=None) -> Params:
        """``n_draws`` joint draws of (r, k) per (sector group, service)."""
        rng = as_generator(seed)
        shape = (int(n_draws), *self.r_mean.shape)
        p = np.divide(self.r_mean, self.r_upper)
        a, b = p * self.conc, (1 - p) * self.conc
        safe_a = np.where(a > 0, a, 1.0)
        safe_b = np.where(b > 0, b, 1.0)
        beta = rng.beta(safe_a, safe_b, size=shape)
        beta = np.where(a > 0, np.where(b > 0, beta, 1.0), 0.0)
        r = self.r_upper * beta
        k = self.k_median * np.exp(self.k_sigma * rng.standard_normal(shape))
        return Params(r, k)

    # -- per-enterprise arrays ---------------------------------------------------------------------
    def r_max(self, params: Params | None = None) -> np.ndarray:
        """Share of the whole expected loss each (enterprise, service) removes at saturation."""
        p = params or self.central()
        return self.weight * p.r[..., self.group, :]

    def k_yuan(self, params: Params | None = None) -> np.ndarray:
        """Half-saturation spend (yuan) per (enterprise, service)."""
        p = params or self.central()
        return p.k[..., self.group, :] * self.size[:, None]

    def coefficients(self, base, objective: str = "loss", params: Params | None = None):
        """(a, k) of the allocation problem: ``base`` is λ0 L (loss), λ0 (accidents) or λ0 d.

        For ``objective="accidents"`` severity services gain nothing (they do not prevent accidents).
        """
        r = self.r_max(params)
        if objective == "accidents":
            r = np.where(self.channel == "severity", 0.0, r)
        return np.asarray(base, dtype=float)[:, None] * r, self.k_yuan(params)

    def fractions(self, x, params: Params | None = None, lag: int | None = None):
        """(F, V): share of λ0 removed (frequency + hazard) and of the loss per accident (severity).

        ``x`` has shape (n, services). With drawn ``params`` the results have shape (draws, n).
        ``lag`` keeps only the services with that lag (None: all).
        """
        x = np.asarray(x, dtype=float)
        p = params or self.central()
        z = x / self.size[:, None]  # spend per unit of k's reference size: k_is = k_gs × size_i
        freq, sev = self._masks(lag)
        if p.r.ndim == 2:
            eff = self.weight * p.r[self.group] * -np.expm1(-z / p.k[self.group])
            return eff @ freq, eff @ sev
        # one block per sector group: r and k broadcast over the group's enterprises instead of
        # being gathered into (draws, n, services) arrays on every call
        shape = (p.r.shape[0], self.n)
        F, V = np.empty(shape), np.empty(shape)
        for g, rows in enumerate(self._rows):
            eff = -np.expm1(-z[rows][None] / p.k[:, g, None, :])
            eff *= p.r[:, g, None, :]
            eff *= self.weight[rows][None]
            F[:, rows] = eff @ freq
            V[:, rows] = eff @ sev
        return F, V

    def totals(self, x, weights, params: Params | None = None, lag: int | None = None):
        """Σ_i weights_iw F_i and Σ_i weights_iw V_i, shape (draws, W) (drawn ``params``) or (W,).

        The same numbers as weighting :meth:`fractions` and summing over enterprises, computed on
        the (enterprise, service) pairs with spend only (nothing is removed where nothing is
        spent) and reduced by a matrix product per (sector group, service): the cost is one
        ``expm1`` per draw and distinct spend per unit of size among the funded pairs (the
        weights of equal spends are summed first), never a (draws, n, services) array.

        >>> cat = ServiceCatalog.load("default").select(["hazard_investigation", "drills"])
        >>> m = ResponseModel(cat, ["mining", "construction"], headcount=[100, 400])
        >>> x = [[8000.0, 0.0], [0.0, 3000.0]]
        >>> F, V = m.fractions(x)
        >>> Ft, Vt = m.totals(x, [[1.0], [2.0]])
        >>> bool(np.isclose(Ft[0], F[0] + 2 * F[1]) and np.isclose(Vt[0], V[0] + 2 * V[1]))
        True
        """
        x = np.asarray(x, dtype=float)
        w = np.asarray(weights, dtype=float)
        w = w[:, None] if w.ndim == 1 else w
        p = params or self.central()
        drawn = p.r.ndim == 3
        r = p.r if drawn else p.r[None]
        k = p.k if drawn else p.k[None]
        n_draws = r.shape[0]
        z = x / self.size[:, None]
        freq, sev = self._masks(lag)
        F = np.zeros((n_draws, w.shape[1]))
        V = np.zeros((n_draws, w.shape[1]))
        # rows per block so that a (draws, rows) block stays near 2^21 numbers (16 MiB)
        block = max(1, (1 << 21) // n_draws)
        for s in range(len(self.services)):
            if not (freq[s] or sev[s]):
                continue
            out = F if freq[s] else V
            funded = z[:, s] > 0
            for g, rows in enumerate(self._rows):
                sub = rows[funded[rows]]
                if not sub.size:
                    continue
                c = w[sub] * self.weight[sub, s][:, None]
                # enterprises with the same spend per unit of size share one expm1 per draw:
                # their weights are summed first (an equal split gives 250,000 funded pairs
                # but 10,000 distinct spends); the sort pays off over many draws only
                zs, inv = (np.unique(z[sub, s], return_inverse=True) if n_draws >= 8
                           else (z[sub, s], None))
                if zs.size < sub.size:
                    c = np.column_stack([np.bincount(inv, weights=c[:, j], minlength=zs.size)
                                         for j in range(c.shape[1])])
                else:
                    zs = z[sub, s]
                neg_inv_k = -1.0 / k[:, g, s]
                acc = np.zeros((n_draws, w.shape[1]))
                for lo in range(0, zs.size, block):
                    part = slice(lo, lo + block)
                    e = np.multiply.outer(neg_inv_k, zs[part])
                    np.expm1(e, out=e)
                    acc -= e @ c[part]
                out += acc * r[:, g, s][:, None]
        return (F, V) if drawn else (F[0], V[0])

    def _masks(self, lag):
        """0/1 vectors over services: frequency and hazard channels; severity (``lag`` kept)."""
        keep = np.ones(len(self.services), bool) if lag is None else self.lag == lag
        sev = self.channel == "severity"
        return (keep & ~sev).astype(float), (keep & sev).astype(float)

    @property
    def _rows(self) -> list[np.ndarray]:
        """Enterprise rows of each sector group (computed once)."""
        rows = self.__dict__.get("_rows_cache")
        if rows is None:
            order = np.argsort(self.group, kind="stable")
            cuts = np.searchsorted(self.group[order], np.arange(1, len(self.groups)))
            rows = self.__dict__["_rows_cache"] = np.split(order, cuts)
        return rows
