"""The minimum premium inside the engine: ``P_i = max(c x B_i f_i, m_i)`` with the off-balance ``c``.

Pricing (:func:`safeins.rating.quotes.price`) applies the minimum premium ``m_i`` to the final
premium, after floating and the off-balance factor, and solves the revenue-neutral ``c`` exactly
from ``sum_i max(c g_i, m_i) = goal`` (``g_i = B_i f_i``). The engine must do the same in every
simulation, but it keeps only the few enterprises whose floating factor moved (those with a record).
So the total splits into the static book, evaluated in O(log n) from sorted breakpoints
``m_i / g0_i`` and prefix sums, plus a correction over the moved enterprises. The total is convex
and increasing in ``c`` and piecewise linear, so Newton's method started to the right of the root
(``c = goal / sum g``, where the total is at least ``goal``) reaches it in a few exact steps.

>>> import numpy as np
>>> g0, m = np.array([100.0, 10.0, 50.0]), np.array([20.0, 20.0, 0.0])
>>> mp = MinimumPremium(g0, m, np.zeros(3, np.int64), 1)
>>> sim = np.array([0]); g = np.array([200.0]); k = np.array([0])   # enterprise 0 floats to 200
>>> c = mp.solve(sim, k, g, goal=180.0, n_sims=1)
>>> total = np.maximum(c[0] * np.array([200.0, 10.0, 50.0]), m).sum()
>>> round(float(total), 9)
180.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["MinimumPremium"]


class _Sorted:
    """Breakpoints ``m_i / g0_i`` in order, with prefix sums of ``g0`` and ``m``."""

    def __init__(self, g0: np.ndarray, m: np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(g0 > 0, m / np.where(g0 > 0, g0, 1.0), np.inf)
        order = np.argsort(b, kind="stable")
        self.b = b[order]
        self.cg = np.concatenate([[0.0], np.cumsum(g0[order])])
        self.cm = np.concatenate([[0.0], np.cumsum(m[order])])

    def total(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``sum max(c g0_i, m_i)`` and its slope in ``c``, for each ``c``."""
        i = np.searchsorted(self.b, c, side="left")  # b_i < c: these pay c g0_i
        return c * self.cg[i] + (self.cm[-1] - self.cm[i]), self.cg[i]


class MinimumPremium:
    """Totals of ``max(c g_i, m_i)`` for the static book, overall and by sector (see module doc)."""

    def __init__(self, g0: np.ndarray, m: np.ndarray, sector: np.ndarray, n_sectors: int):
        self.g0, self.m = np.asarray(g0, float), np.asarray(m, float)
        self.all = _Sorted(self.g0, self.m)
        self.by_sector = [_Sorted(self.g0[sector == s], self.m[sector == s]) for s in range(n_sectors)]
        # the sectors' sorted books end to end (sector k: breakpoints ``boff[k]:boff[k+1]``, prefix
        # sums from ``boff[k] + k``), for the compiled kernel
        self.boff = np.concatenate([[0], np.cumsum([len(s.b) for s in self.by_sector])]).astype(np.int64)
        self.flat = tuple(np.concatenate([getattr(s, a) for s in self.by_sector] or [np.zeros(0)])
                          for a in ("b", "cg", "cm"))

    def _moved(self, c, sim, ent, g):
        cs = c[sim]
        m, g0 = self.m[ent], self.g0[ent]
        new, old = np.maximum(cs * g, m), np.maximum(cs * g0, m)
        slope = np.where(cs * g > m, g, 0.0) - np.where(cs * g0 > m, g0, 0.0)
        return new - old, slope

    def solve(self, sim, ent, g, goal: float, n_sims: int, max_iter: int = 100) -> np.ndarray:
        """The off-balance factor per simulation: ``sum_i max(c g_i, m_i) = goal``."""
        moved_g = np.bincount(sim, g - self.g0[ent], minlength=n_sims)
        c = goal / (self.all.cg[-1] + moved_g)  # total >= c * sum(g) = goal: right of the root
        for _ in range(max_iter):
            total, slope = self.all.total(c)
            d, ds = self._moved(c, sim, ent, g)
            total = total + np.bincount(sim, d, minlength=n_sims)
            slope = slope + np.bincount(sim, ds, minlength=n_sims)
            gap = total - goal
            if np.all(np.abs(gap) <= 1e-13 * goal) or not np.all(slope > 0):
                break
            c = c - gap / slope
        return c

    def totals(self, c, sim, ent, g, sector, n_sims: int, n_sectors: int):
        """Premium per simulation and per simulation x sector at off-balance ``c``."""
        d, _ = self._moved(c, sim, ent, g)
        total = self.all.total(c)[0] + np.bincount(sim, d, minlength=n_sims)
        by = np.stack([s.total(c)[0] for s in self.by_sector], axis=1)
        by = by + np.bincount(sim * n_sectors + sector[ent], d,
                              minlength=n_sims * n_sectors).reshape(n_sims, n_sectors)
        return total, by
