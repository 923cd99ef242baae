"""Markov bonus–malus systems: transition matrices, stationary laws, Norberg relativities,
Loimaranta efficiency and Lemaire's Bayesian premium table.

A scale has classes 0..s-1 (0 the best), a starting class, and a transition table ``T[l, j]``: the
class after a year spent in class l with j claims (or j penalty points when claims are graded); the
last column means "j or more". For a claim rate λ (Poisson, or negative binomial with a fixed shape)
the transition matrix is P(λ) = Σ_j Pr(J = j) M_j.

* the stationary law solves π = πP, Σπ = 1 exactly: π = 1ᵀ A⁻¹ with A = I - P + 11ᵀ;
* Loimaranta efficiency η(λ) = d ln P̄(λ) / d ln λ, P̄(λ) = Σ π_l(λ) r_l, is exact: with the same
  A, dπ = π P'(λ) A⁻¹ (no finite differences);
* Norberg's optimal relativities r_l = E[Θ | L = l] / E[Θ] integrate π_l against the prior law of
  the risk level (generalised Gauss–Laguerre nodes for a gamma prior), optionally with a priori
  risk classes (Pitrebois, Denuit & Walhin 2003).

>>> import scipy.stats as st
>>> bms = BonusMalus.from_steps(n_classes=6, down=1, up_per_claim=2, start=5)
>>> bms.stationary(0.1).round(6)        # Denuit et al. (2007), p. 178
array([0.782901, 0.082338, 0.090998, 0.022278, 0.016387, 0.005097])
>>> r = bms.optimal_relativities(prior=st.gamma(1.5, scale=0.1 / 1.5))
>>> round(float(bms.financial_balance(r, prior=st.gamma(1.5, scale=0.1 / 1.5))), 10)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from .._base.results import ResultMixin
from .._base.rng import SeedLike, as_generator
from ..errors import Problem, Problems, ValidationError

__all__ = [
    "BMSAnalysis",
    "BonusMalus",
    "Convergence",
    "Relativities",
    "lemaire_table",
    "presets",
]


# --------------------------------------------------------------------------------------------
# published scales

# Belgian compulsory scale 1992-2002 (Lemaire 1995, ch. 9 & app. B; Denuit et al. 2007, §4.7):
# 23 classes 0..22, new drivers enter class 11 (private use) or 14 (business use), one class down
# per claim-free year, one class down and five up per claim (net +4 for the first claim, +5 each
# further one), premium levels in % of the base premium (class 14 = 100). The "special bonus rule"
# (after four claim-free years no one stays above 14) is not Markovian and is not modelled here.
_BELGIAN_LEVELS = (54, 54, 54, 57, 60, 63, 66, 69, 73, 77, 81, 85, 90, 95, 100, 105, 111, 117,
                   123, 130, 140, 160, 200)


def _belgian() -> BonusMalus:
    s, top = 23, 22
    table = np.empty((s, 6), dtype=int)
    for lvl in range(s):
        table[lvl, 0] = max(lvl - 1, 0)
        for k in range(1, 6):
            table[lvl, k] = min(lvl - 1 + 5 * k, top)
    return BonusMalus(table, start=11, relativities=np.array(_BELGIAN_LEVELS) / 100.0)


def _minus_one_top() -> BonusMalus:
    table = np.array([[max(lvl - 1, 0), 5] for lvl in range(6)])
    return BonusMalus(table, start=5)


_PRESETS = {
    "belgium-1992": (_belgian, "Belgian compulsory scale 1992-2002: 23 classes, -1 / +5 per claim "
                               "(net +4 for the first), start 11; Lemaire (1995)"),
    "-1/+2": (lambda: BonusMalus.from_steps(6, down=1, up_per_claim=2, start=5),
              "6 classes, -1 per claim-free year, +2 per claim, start 5; Denuit et al. (2007) "
              "Example 4.2"),
    "-1/+3": (lambda: BonusMalus.from_steps(6, down=1, up_per_claim=3, start=5),
              "6 classes, -1 / +3 per claim, start 5; Denuit et al. (2007) Example 4.15"),
    "-1/top": (_minus_one_top, "6 classes, -1 per claim-free year, any claim sends to the top "
                               "class 5, start 5; Denuit et al. (2007) Example 4.1"),
}


def presets() -> dict[str, str]:
    """Names and descriptions of the published scales :meth:`BonusMalus.preset` knows.

    >>> sorted(presets())
    ['-1/+2', '-1/+3', '-1/top', 'belgium-1992']
    """
    return {k: v[1] for k, v in _PRESETS.items()}


# --------------------------------------------------------------------------------------------
# the scale


class BonusMalus:
    """A Markov bonus–malus scale.

    Parameters
    ----------
    transitions : array-like of int, shape (n_classes, n_cols), or dict {class: row}
        ``transitions[l][j]`` is the class after a year in class ``l`` with ``j`` claims (or ``j``
        penalty points when ``grades`` is given); the last column stands for "j or more". Classes
        are 0..n_classes-1 (or labels, in a dict or rows of labels).
    start : int or label
        The class a new policy enters.
    relativities : array-like of float, optional
        The premium level of each class (1.0 = base premium); used by efficiency and analyse.
    labels : sequence of str, optional
        Class names (e.g. credit grades); default "0", "1", ...
    grades : dict {grade: (weight, points)}, optional
        Claims are graded (e.g. accident grade 一般/较大/重大); a claim has grade g with probability
        ``weight`` (weights sum to 1) and adds ``points`` (an int >= 1) to the year's penalty; the
        table's columns then count penalty points.
    nb_shape : float, optional
        Claim counts negative binomial with mean λ and shape r (variance λ + λ²/r) instead of
        Poisson.

    >>> bms = BonusMalus([[0, 1, 2], [0, 2, 2], [1, 2, 2]], start=1)
    >>> bms.transition_matrix(0.5).round(3)
    array([[0.607, 0.303, 0.09 ],
           [0.607, 0.   , 0.393],
           [0.   , 0.607, 0.393]])
    """

    def __init__(self, transitions: Any, start: Any, relativities: Any = None,
                 labels: Sequence[str] | None = None, grades: dict | None = None,
                 nb_shape: float | None = None):
        problems = Problems("BonusMalus")
        if labels is not None and (isinstance(labels, str | bytes) or np.ndim(labels) != 1):
            problems.add(column="labels", value=labels,
                         rule="a list of class names (one per class), or None")
            problems.raise_if_any()
        rows = transitions
        if isinstance(transitions, dict):
            keys = list(transitions)
            if all(isinstance(k, int | np.integer) for k in keys):
                if sorted(keys) != list(range(len(keys))):
                    problems.add(column="transitions", value=sorted(keys),
                                 rule=f"integer class keys 0..{len(keys) - 1}, each once")
                keys = sorted(keys)
            elif labels is None:
                labels = [str(k) for k in keys]
            rows = [transitions[k] for k in keys]
        if labels is not None:
            labels = [str(x) for x in labels]
        table, n = self._table(rows, labels, problems)
        if labels is not None and n is not None and len(labels) != n:
            problems.add(column="labels", value=len(labels),
                         rule=f"one label per class ({n} classes)")
        self.labels = labels if labels is not None else ([str(i) for i in range(n)] if n else [])
        self.start = self._index(start, "start", n, problems)
        self.relativities = None
        if relativities is not None:
            try:  # text or objects are refused below, never coerced
                rel = (np.asarray(relativities, dtype=float)
                       if np.asarray(relativities).dtype.kind in "iuf" else np.full(0, np.nan))
            except (TypeError, ValueError):
                rel = np.full(0, np.nan)
            if rel.shape != (n,) or not np.all(np.isfinite(rel)) or np.any(rel < 0):
                problems.add(column="relativities", value=relativities,
                             rule=f"{n} finite numbers >= 0, one per class")
            else:
                self.relativities = rel
        self.grades = None
        self._h = np.array([0.0, 1.0])  # penalty points of one claim: 1 point per claim
        if grades is not None:
            self._h = self._grades(grades, problems)
            self.grades = dict(grades)
        self.nb_shape = None
        if nb_shape is not None:
            if not (_is_number(nb_shape) and nb_shape > 0):
                problems.add(column="nb_shape", value=nb_shape, rule="a number > 0 (or None)")
            else:
                self.nb_shape = float(nb_shape)
        problems.raise_if_any()
        self.table = table
        self.n_classes = n
        self._conv = self._convolution_powers(table.shape[1])

    # --- construction ------------------------------------------------------------------------

    def _table(self, rows, labels, problems):
        index = {lab: i for i, lab in enumerate(labels)} if labels is not None else None
        try:
            raw = [list(r) for r in rows]
        except TypeError:
            problems.add(column="transitions", value=type(rows).__name__,
                         rule="a 2-D table of class indices (rows: classes; columns: claims)")
            return np.zeros((0, 1), dtype=int), None
        n = len(raw)
        width = {len(r) for r in raw}
        if n < 2 or len(width) != 1 or width == {0}:
            problems.add(column="transitions", value=f"{n} rows of lengths {sorted(width)}",
                         rule="at least 2 classes, every row the same length >= 1")
            return np.zeros((max(n, 1), 1), dtype=int), n or None
        table = np.zeros((n, width.pop()), dtype=int)
        for i, r in enumerate(raw):
            for j, v in enumerate(r):
                if index is not None and not isinstance(v, int | np.integer):
                    k = index.get(str(v))
                else:
                    k = int(v) if isinstance(v, int | np.integer) and 0 <= v < n else None
                if k is None:
                    problems.add(row=labels[i] if labels else i, column=f"transitions[{j}]",
                                 value=v, rule=f"a class in 0..{n - 1}"
                                 + (f" or a label in {labels}" if labels else ""))
                else:
                    table[i, j] = k
        return table, n

    def _index(self, value, name, n, problems) -> int:
        if n is None:
            return 0
        if isinstance(value, int | np.integer) and not isinstance(value, bool) and 0 <= value < n:
            return int(value)
        if self.labels and str(value) in self.labels and not isinstance(value, int | np.integer):
            return self.labels.index(str(value))
        problems.add(column=name, value=value,
                     rule=f"a class in 0..{n - 1} or one of the labels {self.labels}")
        return 0

    @staticmethod
    def _grades(grades, problems) -> np.ndarray:
        if not isinstance(grades, dict) or not grades:
            problems.add(column="grades", value=grades, rule="a dict {grade: (weight, points)}")
            return np.array([0.0, 1.0])
        h = np.zeros(1 + max((int(v[1]) for v in grades.values()
                              if isinstance(v, tuple | list) and len(v) == 2
                              and isinstance(v[1], int | np.integer)), default=1))
        total = 0.0
        for g, v in grades.items():
            ok = (isinstance(v, tuple | list) and len(v) == 2 and _is_number(v[0]) and v[0] >= 0
                  and isinstance(v[1], int | np.integer) and v[1] >= 1)
            if not ok:
                problems.add(row=g, column="grades", value=v,
                             rule="(weight >= 0, points: an int >= 1)")
                continue
            h[int(v[1])] += float(v[0])
            total += float(v[0])
        if abs(total - 1.0) > 1e-9 and not problems:
            problems.add(column="grades.weight", value=total, rule="weights summing to 1")
        return h

    def _convolution_powers(self, J: int) -> np.ndarray:
        """C[n, j] = Pr(n claims carry j penalty points) for n, j < J-1 (h^{*n}, truncated)."""
        m = max(J - 1, 1)
        h = np.zeros(m)
        h[: min(m, self._h.size)] = self._h[:m]
        C = np.zeros((m, m))
        C[0, 0] = 1.0
        for n in range(1, m):
            C[n] = np.convolve(C[n - 1], h)[:m]
        return C

    @classmethod
    def from_steps(cls, n_classes: int = 6, down: int = 1, up_per_claim: int | dict = 2,
                   start: int | None = None, relativities: Any = None,
                   nb_shape: float | None = None) -> BonusMalus:
        """A "-down / +up per claim" scale; ``up_per_claim`` may be ``{grade: (weight, up)}``.

        >>> BonusMalus.from_steps(4, down=1, up_per_claim=2, start=3).table
        array([[0, 2, 3],
               [0, 3, 3],
               [1, 3, 3],
               [2, 3, 3]])
        >>> g = BonusMalus.from_steps(6, up_per_claim={"一般": (0.9, 1), "较大": (0.1, 3)})
        >>> g.table.shape
        (6, 6)
        """
        problems = Problems("BonusMalus.from_steps")
        for name, v, lo in (("n_classes", n_classes, 2), ("down", down, 0)):
            if not (isinstance(v, int | np.integer) and v >= lo):
                problems.add(column=name, value=v, rule=f"an int >= {lo}")
        grades = up_per_claim if isinstance(up_per_claim, dict) else None
        steps_ok = isinstance(up_per_claim, int | np.integer) and up_per_claim >= 1
        if grades is None and not steps_ok:
            problems.add(column="up_per_claim", value=up_per_claim,
                         rule="an int >= 1 or a dict {grade: (weight, points)}")
        problems.raise_if_any()
        top = n_classes - 1
        step = 1 if grades is not None else int(up_per_claim)
        cols = 1 + (top if grades is not None else -(-top // step))
        table = np.array([[max(lvl - down, 0)] + [min(lvl + step * j, top) for j in range(1, cols)]
                          for lvl in range(n_classes)])
        return cls(table, start=top if start is None else start, relativities=relativities,
                   grades=grades, nb_shape=nb_shape)

    @classmethod
    def preset(cls, name: str) -> BonusMalus:
        """A published scale by name (see :func:`presets`).

        >>> b = BonusMalus.preset("belgium-1992")
        >>> b.n_classes, b.start, float(b.relativities[14])
        (23, 11, 1.0)
        """
        if name not in _PRESETS:
            raise ValidationError("BonusMalus.preset", [Problem(None, "name", name,
                                                                f"one of {sorted(_PRESETS)}")])
        return _PRESETS[name][0]()

    def __repr__(self) -> str:
        return (f"BonusMalus(n_classes={self.n_classes}, start={self.labels[self.start]!r}, "
                f"columns={self.table.shape[1]}, "
                f"counts={'poisson' if self.nb_shape is None else f'negbin(r={self.nb_shape})'})")

    def _repr_html_(self) -> str:
        import pandas as pd

        from .._base.results import text_html

        # the transition table: one row per class, one column per number of claims
        return text_html(repr(self), pd.DataFrame(self.table, index=list(self.labels)))

    # --- probabilities -----------------------------------------------------------------------

    def _lams(self, lam, who: str, positive: bool = False) -> np.ndarray:
        arr = np.atleast_1d(np.asarray(lam, dtype=float))
        bad = ~np.isfinite(arr) | ((arr <= 0) if positive else (arr < 0))
        if arr.ndim != 1 or np.any(bad):
            idx = np.flatnonzero(bad.ravel())
            raise ValidationError(who, [Problem(
                int(i) if arr.size > 1 else None, "lam", float(arr.ravel()[i]),
                "a finite claim rate > 0" if positive else "a finite claim rate >= 0")
                for i in idx] or [Problem(None, "lam", lam, "a scalar or 1-D array")])
        return arr

    def _count_pmf(self, lam: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """p[:, n] = Pr(N = n) and dp = dPr/dλ for n < m, vectorised over λ."""
        n = np.arange(m)
        lam_c = lam[:, None]
        from scipy.special import gammaln

        if self.nb_shape is None:
            with np.errstate(divide="ignore"):
                logp = n * np.log(lam_c) - lam_c - gammaln(n + 1)
            p = np.exp(logp)
            p[:, 0] = np.exp(-lam)
            prev = np.concatenate([np.zeros((lam.size, 1)), p[:, :-1]], axis=1)
            return p, prev - p
        r = self.nb_shape
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = (gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * np.log(r / (r + lam_c))
                    + n * np.log(lam_c / (r + lam_c)))
            p = np.exp(logp)
            p[:, 0] = (r / (r + lam)) ** r
            # dPr(N=n)/dλ = Pr(N=n) (n/λ - (r+n)/(r+λ)); at λ = 0 only n = 0, 1 move
            dp = p * (n / lam_c - (r + n) / (r + lam_c))
        zero = lam == 0
        if np.any(zero):
            dp[zero] = 0.0
            dp[zero, 0] = -1.0
            if m > 1:
                dp[zero, 1] = 1.0
        return p, dp

    def _event_probs(self, lam: np.ndarray, derivative: bool = False):
        """q[:, j] = Pr(column j) for each λ (the last column collects the tail)."""
        J = self.table.shape[1]
        if J == 1:
            q = np.ones((lam.size, 1))
            return (q, np.zeros_like(q)) if derivative else q
        p, dp = self._count_pmf(lam, J - 1)
        head = p @ self._conv
        q = np.concatenate([head, 1.0 - head.sum(axis=1, keepdims=True)], axis=1)
        q[:, -1] = np.maximum(q[:, -1], 0.0)
        if not derivative:
            return q
        dhead = dp @ self._conv
        return q, np.concatenate([dhead, -dhead.sum(axis=1, keepdims=True)], axis=1)

    def _assemble(self, q: np.ndarray) -> np.ndarray:
        s = self.n_classes
        P = np.zeros((q.shape[0], s, s))
        rows = np.arange(s)
        for j in range(self.table.shape[1]):
            P[:, rows, self.table[:, j]] += q[:, j, None]
        return P

    def transition_matrix(self, lam):
        """P(λ): shape (s, s) for a scalar λ, (m, s, s) for an array of m rates."""
        arr = self._lams(lam, "BonusMalus.transition_matrix")
        P = self._assemble(self._event_probs(arr))
        return P[0] if np.ndim(lam) == 0 else P

    def _solve(self, lam: np.ndarray, derivative: bool = False):
        """π(λ) (and dπ/dλ) for every λ, exactly, through A = I - P + 11ᵀ."""
        if derivative:
            q, dq = self._event_probs(lam, derivative=True)
        else:
            q = self._event_probs(lam)
        P = self._assemble(q)
        s = self.n_classes
        # A = I - P + 11ᵀ: π A = 1ᵀ and dπ A = π P'(λ), so one matrix serves both solves
        At = np.eye(s) - P.transpose(0, 2, 1) + 1.0
        try:
            pi = np.linalg.solve(At, np.ones((lam.size, s, 1)))[..., 0]
        except np.linalg.LinAlgError:
            pi = np.full((lam.size, s), np.nan)
        if not np.all(np.isfinite(pi)) or np.any(pi < -1e-9):
            raise ValidationError("BonusMalus", [Problem(
                None, "transitions", self.table.tolist(),
                "a scale whose classes form one recurrent set (the stationary law is not unique)")])
        pi = np.clip(pi, 0.0, None)
        pi /= pi.sum(axis=1, keepdims=True)
        if not derivative:
            return pi
        dP = self._assemble(dq)
        rhs = np.einsum("ml,mlk->mk", pi, dP)
        dpi = np.linalg.solve(At, rhs[..., None])[..., 0]
        return pi, dpi

    def stationary(self, lam):
        """The stationary class distribution π(λ) (one row per λ when λ is an array)."""
        arr = self._lams(lam, "BonusMalus.stationary")
        pi = self._solve(arr)
        return pi[0] if np.ndim(lam) == 0 else pi

    def n_step(self, lam: float, years: int, initial: Any = None) -> np.ndarray:
        """The class distribution after ``years`` years from the start class (or ``initial``).

        >>> b = BonusMalus.from_steps(6, down=1, up_per_claim=2, start=5)
        >>> b.n_step(0.1, 0).tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
        """
        return self._path(lam, years, initial)[-1]

    def _path(self, lam, years, initial=None) -> np.ndarray:
        arr = self._lams(lam, "BonusMalus.n_step")
        if arr.size != 1:
            raise ValidationError("BonusMalus.n_step", [Problem(None, "lam", lam, "a scalar")])
        if not (isinstance(years, int | np.integer) and years >= 0):
            raise ValidationError("BonusMalus.n_step",
                                  [Problem(None, "years", years, "an int >= 0")])
        P = self._assemble(self._event_probs(arr))[0]
        if initial is None:
            x = np.zeros(self.n_classes)
            x[self.start] = 1.0
        else:
            x = np.asarray(initial, dtype=float)
            if x.shape != (self.n_classes,) or np.any(x < 0) or abs(x.sum() - 1) > 1e-9:
                raise ValidationError("BonusMalus.n_step", [Problem(
                    None, "initial", initial, f"a distribution over the {self.n_classes} classes")])
        out = np.empty((years + 1, self.n_classes))
        out[0] = x
        for t in range(1, years + 1):
            out[t] = out[t - 1] @ P
        return out

    def convergence(self, lam: float, years: int = 50, tol: float = 0.01) -> Convergence:
        """Total-variation distance to stationarity year by year from the start class.

        >>> c = BonusMalus.from_steps(6, down=1, up_per_claim=2, start=5).convergence(0.1)
        >>> c.years_to(0.01)
        12
        """
        path = self._path(lam, years)
        pi = self.stationary(float(lam))
        tv = 0.5 * np.abs(path - pi).sum(axis=1)
        return Convergence(float(lam), tv, tol, self.labels, path, pi)

    # --- premiums ----------------------------------------------------------------------------

    def _relativities(self, relativities, who) -> np.ndarray:
        r = self.relativities if relativities is None else np.asarray(relativities, dtype=float)
        if r is None or r.shape != (self.n_classes,) or not np.all(np.isfinite(r)):
            raise ValidationError(who, [Problem(
                None, "relativities", None if r is None else r.tolist(),
                f"{self.n_classes} finite numbers (pass relativities= or set them on the scale)")])
        return r

    def mean_relativity(self, lam, relativities=None):
        """P̄(λ) = Σ_l π_l(λ) r_l, the long-run premium level of a policy with claim rate λ."""
        r = self._relativities(relativities, "BonusMalus.mean_relativity")
        out = self.stationary(np.atleast_1d(lam)) @ r
        return float(out[0]) if np.ndim(lam) == 0 else out

    def efficiency(self, lam, relativities=None):
        """Loimaranta efficiency η(λ) = d ln P̄(λ) / d ln λ, computed exactly.

        >>> b = BonusMalus.preset("belgium-1992")
        >>> 0 < b.efficiency(0.1) < 1
        True
        """
        r = self._relativities(relativities, "BonusMalus.efficiency")
        arr = self._lams(lam, "BonusMalus.efficiency", positive=True)
        pi, dpi = self._solve(arr, derivative=True)
        eta = arr * (dpi @ r) / (pi @ r)
        return float(eta[0]) if np.ndim(lam) == 0 else eta

    def _nodes(self, prior: Any, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature nodes and weights of the prior (a frozen scipy law or (values, weights))."""
        if isinstance(prior, tuple) and len(prior) == 2:
            v = np.asarray(prior[0], dtype=float)
            w = np.asarray(prior[1], dtype=float)
            if (v.ndim != 1 or w.shape != v.shape or np.any(v < 0) or np.any(w < 0)
                    or not np.isclose(w.sum(), 1.0)):
                raise ValidationError("BonusMalus", [Problem(
                    None, "prior", prior, "(values >= 0, weights >= 0 summing to 1)")])
            return v, w
        dist = getattr(prior, "dist", None)
        if dist is None or not hasattr(prior, "ppf"):
            raise ValidationError("BonusMalus", [Problem(
                None, "prior", type(prior).__name__,
                "a frozen scipy.stats distribution of the claim rate or a (values, weights) pair")])
        if getattr(dist, "name", "") == "gamma":
            shapes, loc, scale = dist._parse_args(*prior.args, **prior.kwds)
            x, w = _genlaguerre(n_nodes, float(shapes[0]) - 1.0)
            nodes = loc + scale * x
            return nodes, w / w.sum()
        # any other law: Gauss–Hermite in normal scores, λ = F⁻¹(Φ(z)) (upper half via isf, so
        # that far nodes keep their precision)
        z, w = _hermite(n_nodes)
        from scipy.special import ndtr

        with np.errstate(all="ignore"):
            nodes = np.where(z < 0, prior.ppf(ndtr(z)), prior.isf(ndtr(-z))).astype(float)
        keep = np.isfinite(nodes)
        if np.any(nodes[keep] < 0):
            raise ValidationError("BonusMalus", [Problem(None, "prior", dist.name,
                                                         "a law on [0, ∞) (claim rates)")])
        return nodes[keep], w[keep] / w[keep].sum()

    def _mixture(self, prior, risk_classes, n_nodes, extra_nodes: int | None = None):
        """Pr(risk class k, node i, level l) for the prior's quadrature (and, solved in the same
        batch, for a second rule with ``extra_nodes`` nodes, used to estimate the error)."""
        rules = [self._nodes(prior, n_nodes)]
        if extra_nodes is not None:
            rules.append(self._nodes(prior, extra_nodes))
        if risk_classes is None:
            classes = [(1.0, 1.0)]
        else:
            classes = list(risk_classes)
            bad = [c for c in classes if not (isinstance(c, tuple | list) and len(c) == 2
                                               and _is_number(c[0]) and c[0] >= 0
                                               and _is_number(c[1]) and c[1] > 0)]
            total = sum(float(c[0]) for c in classes) if not bad else 0.0
            if bad or not classes or not math.isclose(total, 1.0, rel_tol=1e-9):
                raise ValidationError("BonusMalus", [Problem(
                    None, "risk_classes", bad or risk_classes,
                    "a list of (weight >= 0, lambda scaling > 0) with weights summing to 1")])
        omega = np.array([float(c[0]) for c in classes])
        scale = np.array([float(c[1]) for c in classes])
        theta_all = np.concatenate([t for t, _ in rules])
        lam = (scale[:, None] * theta_all[None, :]).ravel()
        pi = self._solve(lam).reshape(len(classes), theta_all.size, self.n_classes)
        out, start = [], 0
        for theta, w in rules:
            part = pi[:, start:start + theta.size]
            start += theta.size
            out.append((theta, omega[:, None, None] * w[None, :, None] * part))
        return out if extra_nodes is not None else out[0]

    def optimal_relativities(self, prior: Any, risk_classes: Sequence | None = None,
                             n_nodes: int = 64, tol: float = 1e-3) -> Relativities:
        """Norberg's relativities r_l = E[Θ | L = l] / E[Θ] under quadratic loss.

        ``prior`` is the law of the claim rate Λ (a frozen scipy law, or ``(values, weights)``);
        with ``risk_classes = [(weight, λ_k), ...]`` it is the law of the relative risk Θ and a
        policy of class k has rate λ_k Θ (Pitrebois, Denuit & Walhin 2003): r_l = E[Θ | L = l].

        A gamma prior is integrated with ``n_nodes`` generalised Gauss–Laguerre nodes, any other
        law with Gauss–Hermite nodes in normal scores (λ = F⁻¹(Φ(z))). The result's
        ``quadrature_error`` is max |r(n) - r(3n/4)| over occupied classes (an over-estimate of
        the error of r(n)); above ``tol`` a DiscretizationWarning says so (raise ``n_nodes``, at
        most 300).

        >>> import scipy.stats as st
        >>> b = BonusMalus.from_steps(6, down=1, up_per_claim=2, start=5)
        >>> r = b.optimal_relativities(st.gamma(1.5, scale=0.1 / 1.5))
        >>> bool(np.all(np.diff(r.values) > 0)), r.quadrature_error < 1e-9
        (True, True)
        """
        if not (isinstance(n_nodes, int | np.integer) and 4 <= n_nodes <= 300):
            raise ValidationError("BonusMalus.optimal_relativities", [Problem(
                None, "n_nodes", n_nodes, "an int in 4..300")])
        exact = isinstance(prior, tuple) and len(prior) == 2  # a discrete prior is exact
        if exact:
            r, occupancy = _norberg(*self._mixture(prior, risk_classes, n_nodes))
        else:
            fine, coarse = self._mixture(prior, risk_classes, n_nodes, (3 * n_nodes) // 4)
            r, occupancy = _norberg(*fine)
            r_coarse, _ = _norberg(*coarse)
        error = 0.0
        if not exact:
            seen = occupancy > 1e-12
            error = float(np.max(np.abs(r[seen] - r_coarse[seen]), initial=0.0))
            if error > tol:
                import warnings

                from ..errors import DiscretizationWarning

                warnings.warn(
                    f"optimal relativities: quadrature error estimate {error:.2g} > tol {tol:g} "
                    f"with {n_nodes} nodes; raise n_nodes", DiscretizationWarning, stacklevel=2)
        return Relativities(r, occupancy, self.labels, quadrature_error=error)


    def financial_balance(self, relativities=None, prior: Any = None,
                          risk_classes: Sequence | None = None, n_nodes: int = 64) -> float:
        """Σ_l Pr(L = l) r_l: the portfolio's mean relativity at stationarity (1 = balanced)."""
        if prior is None:
            raise ValidationError("BonusMalus.financial_balance", [Problem(
                None, "prior", None, "the law of the claim rate (a frozen scipy law)")])
        r = self._relativities(relativities, "BonusMalus.financial_balance")
        _, joint = self._mixture(prior, risk_classes, n_nodes)
        return float(joint.sum(axis=(0, 1)) @ r)

    def analyse(self, lams, relativities=None) -> BMSAnalysis:
        """Stationary law, mean level, mean relativity and efficiency for each claim rate.

        >>> b = BonusMalus.preset("-1/+2")
        >>> b.analyse([0.05, 0.1], relativities=[0.6, 1.3, 1.4, 2.1, 2.4, 3.1]).to_frame().shape
        (2, 10)
        """
        arr = self._lams(lams, "BonusMalus.analyse", positive=True)
        r = None
        if relativities is not None or self.relativities is not None:
            r = self._relativities(relativities, "BonusMalus.analyse")
        if r is not None:
            pi, dpi = self._solve(arr, derivative=True)
        else:
            pi, dpi = self._solve(arr), None
        return BMSAnalysis(arr, pi, dpi, r, self.labels)

    # --- simulation --------------------------------------------------------------------------

    def simulate(self, lam, years: int, size: int | None = None, seed: SeedLike = None):
        """Simulate class paths: an int array (years + 1, n_policies), all starting in ``start``.

        ``lam`` is one rate (then ``size`` policies) or one rate per policy. Claims are drawn
        (Poisson or negative binomial as the scale says, graded if it has grades); the same seed
        gives the same paths.

        >>> b = BonusMalus.preset("-1/+2")
        >>> b.simulate(0.1, years=3, size=4, seed=1).shape
        (4, 4)
        """
        arr = self._lams(lam, "BonusMalus.simulate")
        if size is not None:
            if not (isinstance(size, int | np.integer) and size >= 1) or arr.size not in (1, size):
                raise ValidationError("BonusMalus.simulate", [Problem(
                    None, "size", size, f"an int >= 1 equal to the number of rates ({arr.size}) "
                    "when several rates are given")])
            arr = np.broadcast_to(arr, (size,))
        if not (isinstance(years, int | np.integer) and years >= 0):
            raise ValidationError("BonusMalus.simulate",
                                  [Problem(None, "years", years, "an int >= 0")])
        rng = as_generator(seed)
        J = self.table.shape[1]
        points_pmf = self._h / self._h.sum() if self.grades is not None else None
        out = np.empty((years + 1, arr.size), dtype=np.int16)
        out[0] = self.start
        for t in range(1, years + 1):
            if self.nb_shape is None:
                n = rng.poisson(arr)
            else:
                n = rng.poisson(rng.gamma(self.nb_shape, arr / self.nb_shape))
            if points_pmf is not None:
                pts = np.zeros(arr.size, dtype=np.int64)
                k = np.flatnonzero(n)
                if k.size:
                    draws = rng.choice(points_pmf.size, size=int(n[k].sum()), p=points_pmf)
                    pts[k] = np.add.reduceat(draws, np.concatenate(([0], np.cumsum(n[k])[:-1])))
                n = pts
            out[t] = self.table[out[t - 1], np.minimum(n, J - 1)]
        return out

    # --- Lemaire -----------------------------------------------------------------------------

    @staticmethod
    def lemaire_table(a: Any = None, tau: float | None = None, max_years: int = 7,
                      max_claims: int = 4, counts: Any = None):
        """Lemaire's Bayesian premium table, see :func:`lemaire_table`.

        ``lemaire_table(counts)`` with one array of claim counts fits a and τ by moments.

        >>> BonusMalus.lemaire_table([0, 0, 1, 0, 2, 0, 0, 1, 0, 0], max_years=1).shape
        (2, 5)
        """
        if counts is None and tau is None and a is not None and np.ndim(a) == 1:
            a, counts = None, a
        return lemaire_table(a, tau, max_years, max_claims, counts=counts)


def lemaire_table(a: float | None = None, tau: float | None = None, max_years: int = 7,
                  max_claims: int = 4, counts: Any = None):
    """Bayesian premiums under Poisson–gamma(a, τ): 100 τ (a + k) / (a (τ + t)).

    Rows t = 0..max_years (years observed), columns k = 0..max_claims (claims in those years);
    the cell is the premium, in % of the new-policy premium, of a policy with k claims in t years
    (cells with k > 0 at t = 0 are NaN). The gamma prior has shape ``a`` and rate ``tau`` (mean
    a / τ). With ``counts`` (claims per policy in one year) a and τ are fitted by the method of
    moments: τ = m / (v - m), a = m τ.

    >>> lemaire_table(1.6049, 15.8778, max_years=2, max_claims=2).round(1)
    ... # doctest: +NORMALIZE_WHITESPACE
    claims      0      1      2
    years
    0       100.0    NaN    NaN
    1        94.1  152.7  211.3
    2        88.8  144.2  199.5
    """
    import pandas as pd

    if counts is not None:
        c = np.asarray(counts, dtype=float)
        if c.ndim != 1 or c.size < 2 or np.any(c < 0) or not np.all(np.isfinite(c)):
            raise ValidationError("lemaire_table", [Problem(None, "counts", "array",
                                                            "1-D claim counts >= 0")])
        m, v = c.mean(), c.var(ddof=1)
        if v <= m or m <= 0:
            raise ValidationError("lemaire_table", [Problem(
                None, "counts", f"mean {m:.4g}, variance {v:.4g}",
                "over-dispersed counts (variance > mean > 0) for a gamma mixture")])
        tau = m / (v - m)
        a = m * tau
    problems = Problems("lemaire_table")
    for name, v in (("a", a), ("tau", tau)):
        problems.check(_is_number(v) and v > 0, column=name, value=v, rule="a number > 0")
    for name, v in (("max_years", max_years), ("max_claims", max_claims)):
        problems.check(isinstance(v, int | np.integer) and v >= 0, column=name, value=v,
                       rule="an int >= 0")
    problems.raise_if_any()
    t = np.arange(max_years + 1)[:, None]
    k = np.arange(max_claims + 1)[None, :]
    table = 100.0 * tau * (a + k) / (a * (tau + t))
    table = np.where((t == 0) & (k > 0), np.nan, table)
    frame = pd.DataFrame(table, index=pd.Index(range(max_years + 1), name="years"),
                         columns=pd.Index(range(max_claims + 1), name="claims"))
    frame.attrs.update(a=float(a), tau=float(tau))
    return frame


def _norberg(theta: np.ndarray, joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """r_l = E[Θ | L = l] / E[Θ] and Pr(L = l) from the joint quadrature weights."""
    occupancy = joint.sum(axis=(0, 1))
    mean_theta = float((joint.sum(axis=(0, 2)) * theta).sum())
    num = np.einsum("kil,i->l", joint, theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / occupancy / mean_theta
    return r, occupancy


@lru_cache(maxsize=64)
def _genlaguerre(n: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import roots_genlaguerre

    return roots_genlaguerre(n, alpha)


@lru_cache(maxsize=16)
def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import roots_hermitenorm

    return roots_hermitenorm(n)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) \
        and math.isfinite(float(v))


# --------------------------------------------------------------------------------------------
# results


class Relativities(ResultMixin):
    """Optimal relativities per class with the stationary occupancy of the portfolio.

    ``values`` (also ``np.asarray(result)``) are the relativities; ``occupancy`` is Pr(L = l).
    """

    def __init__(self, values: np.ndarray, occupancy: np.ndarray, labels: list[str],
                 quadrature_error: float = 0.0):
        self.quadrature_error = float(quadrature_error)
        self.values = np.asarray(values, dtype=float)
        self.occupancy = np.asarray(occupancy, dtype=float)
        self.labels = list(labels)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __len__(self) -> int:
        return self.values.size

    def __getitem__(self, i):
        return self.values[i]

    @property
    def balance(self) -> float:
        """Σ_l Pr(L = l) r_l (1 for Norberg's relativities)."""
        return float(self.occupancy @ np.nan_to_num(self.values))

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"occupancy": self.occupancy, "relativity": self.values},
                            index=pd.Index(self.labels, name="class"))

    def summary(self) -> str:
        lo, hi = np.nanmin(self.values), np.nanmax(self.values)
        return (f"Optimal relativities over {self.values.size} classes: {lo:.1%} .. {hi:.1%}; "
                f"financial balance {self.balance:.6f}; "
                f"quadrature error estimate {self.quadrature_error:.1e}")

    def plot(self, ax=None):
        from .._base.plotting import axes

        ax = axes(ax)
        ax.bar(self.labels, self.values)
        ax.set_xlabel("class")
        ax.set_ylabel("relativity")
        ax.set_title("Optimal (Norberg) relativities")
        return ax


class Convergence(ResultMixin):
    """Total-variation distance to the stationary law, year by year."""

    def __init__(self, lam, tv, tol, labels, path, pi):
        self.lam, self.tv, self.tol = lam, tv, tol
        self.labels, self.path, self.pi = labels, path, pi

    def years_to(self, tol: float | None = None) -> int | None:
        """First year at which the distance is <= tol (None if not within the horizon)."""
        tol = self.tol if tol is None else tol
        hit = np.flatnonzero(self.tv <= tol)
        return int(hit[0]) if hit.size else None

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame(self.path, columns=self.labels)
        frame.insert(0, "tv_distance", self.tv)
        frame.index.name = "year"
        return frame

    def summary(self) -> str:
        y = self.years_to()
        when = f"{y} years" if y is not None else f"more than {self.tv.size - 1} years"
        return (f"Convergence at λ = {self.lam:g}: total variation {self.tv[0]:.3f} at entry, "
                f"<= {self.tol:g} after {when}")

    def plot(self, ax=None):
        from .._base.plotting import axes

        ax = axes(ax)
        ax.semilogy(np.arange(self.tv.size), np.maximum(self.tv, 1e-16))
        ax.axhline(self.tol, linestyle="--", color="grey")
        ax.set_xlabel("years")
        ax.set_ylabel("total variation distance")
        ax.set_title(f"Convergence to stationarity, λ = {self.lam:g}")
        return ax


class BMSAnalysis(ResultMixin):
    """Per claim rate: stationary law, mean class, RSAL, mean relativity and efficiency."""

    def __init__(self, lams, pi, dpi, relativities, labels):
        self.lams, self.pi, self.dpi = lams, pi, dpi
        self.relativities, self.labels = relativities, labels

    def to_frame(self):
        import pandas as pd

        s = self.pi.shape[1]
        frame = pd.DataFrame(self.pi, columns=[f"pi_{lab}" for lab in self.labels],
                             index=pd.Index(self.lams, name="lam"))
        level = self.pi @ np.arange(s)
        frame["mean_class"] = level
        frame["rsal"] = level / (s - 1)
        if self.relativities is not None:
            mean_rel = self.pi @ self.relativities
            frame["mean_relativity"] = mean_rel
            frame["efficiency"] = self.lams * (self.dpi @ self.relativities) / mean_rel
        return frame

    def summary(self) -> str:
        f = self.to_frame()
        cols = [c for c in ("mean_class", "rsal", "mean_relativity", "efficiency") if c in f]
        return f"Bonus–malus analysis at {len(f)} claim rates\n" + f[cols].round(4).to_string()

    def plot(self, ax=None):
        from .._base.plotting import axes

        ax = axes(ax)
        f = self.to_frame()
        col = "efficiency" if "efficiency" in f else "rsal"
        ax.plot(f.index, f[col], marker="o")
        ax.set_xlabel("claim rate λ")
        ax.set_ylabel(col)
        ax.set_title(f"Bonus–malus {col} by claim rate")
        return ax
