"""Exact budget allocation under saturating exponential responses, and the simpler strategies.

The optimal problem is

    maximise  Σ_i Σ_s a_is (1 - exp(-x_is / k_is))
    subject to  Σ_i Σ_s x_is = B,   lo_i <= Σ_s x_is <= hi_i,   x_is >= 0.

It is concave and separable, so the KKT conditions characterise the optimum: with one multiplier
ν = exp(u) on the budget, each variable is x_is(u) = max(0, k_is (c_is - u)) with
c_is = ln(a_is / k_is); an enterprise whose total would leave [lo_i, hi_i] sits at the bound, its
services split by the same rule with its own multiplier. The enterprise totals
clip(Σ_s x_is(u), lo_i, hi_i) are piecewise linear and non-increasing in u, so the budget equation
is solved by a safeguarded Newton iteration on u (bisection whenever a Newton step leaves the
bracket), which ends on the exact linear piece: O(n) work per step, a few dozen steps, exact to
machine precision.

>>> import numpy as np
>>> x = allocate_optimal([4.0, 1.0], [1.0, 1.0], budget=1.0)
>>> np.round(x, 6).tolist()       # x_1 - x_2 = ln 4 cannot hold, so x_2 = 0
[1.0, 0.0]
>>> np.round(allocate_optimal([4.0, 1.0], [1.0, 1.0], budget=3.0), 6).tolist()
[2.193147, 0.806853]
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConvergenceError, Problem, SafeinsWarning, ValidationError

__all__ = [
    "KKTInfo",
    "UnspentBudgetWarning",
    "allocate_greedy",
    "allocate_optimal",
    "allocate_proportional",
    "split_within",
]


class UnspentBudgetWarning(SafeinsWarning):
    """Part of the budget cannot be spent: every enterprise is at its upper bound."""


@dataclass
class KKTInfo:
    """Diagnostics of :func:`allocate_optimal`.

    ``nu`` is the budget multiplier (marginal expected benefit of the last yuan; 0 when money is
    left unspent), ``unspent`` the money no enterprise can take, ``at_lower``/``at_upper`` boolean
    masks of enterprises held at a bound, ``iterations`` the number of Newton/bisection steps,
    ``residual`` the final ``budget - Σ x``.
    """

    nu: float
    unspent: float
    at_lower: np.ndarray
    at_upper: np.ndarray
    iterations: int
    residual: float
    notes: list[str] = field(default_factory=list)


# -- input checks --------------------------------------------------------------------------------
def _bounds(n: int, budget, lower, upper, what: str):
    problems = []
    b = float(budget) if np.ndim(budget) == 0 else math.nan
    if not (np.ndim(budget) == 0 and math.isfinite(b) and b >= 0):
        problems.append(Problem(None, "budget", budget, "a finite number >= 0 (yuan)"))
    lo = np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy() if np.ndim(lower) == 0 \
        else np.asarray(lower, dtype=float)
    hi = np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy() if np.ndim(upper) == 0 \
        else np.asarray(upper, dtype=float)
    for name, arr in (("lower", lo), ("upper", hi)):
        if arr.shape != (n,):
            problems.append(Problem(None, name, f"shape {arr.shape}", f"a scalar or shape ({n},)"))
    if problems:
        raise ValidationError(what, problems)
    for i in np.flatnonzero(~(np.isfinite(lo) & (lo >= 0))):
        problems.append(Problem(int(i), "lower", lo[i], "a finite number >= 0"))
    for i in np.flatnonzero(~(hi >= lo)):
        problems.append(Problem(int(i), "upper", hi[i], f"must be >= lower ({lo[i]:g})"))
    if not problems and lo.sum() > b * (1 + 1e-12):
        problems.append(Problem(None, "budget", b, f"must be >= the sum of the lower bounds "
                                f"({lo.sum():.6g}): the minimum spend per enterprise cannot be met"))
    if problems:
        raise ValidationError(what, problems)
    return b, lo, hi


def _coefficients(a, k, what: str):
    a = np.asarray(a, dtype=float)
    k = np.asarray(k, dtype=float)
    problems = []
    if a.ndim not in (1, 2) or a.shape != k.shape or a.shape[0] == 0:
        problems.append(Problem(None, "a, k", f"shapes {a.shape}, {k.shape}",
                                "equal shapes (n,) or (n, services), n >= 1"))
        raise ValidationError(what, problems)
    for name, arr, ok in (("a", a, np.isfinite(a) & (a >= 0)), ("k", k, np.isfinite(k) & (k > 0))):
        bad = np.argwhere(~ok)
        for idx in bad:
            rule = "a finite number >= 0" if name == "a" else "a finite number > 0"
            problems.append(Problem(tuple(int(j) for j in idx) if a.ndim == 2 else int(idx[0]),
                                    name, arr[tuple(idx)], rule))
    if problems:
        raise ValidationError(what, problems)
    return a, k


# -- within-enterprise split ---------------------------------------------------------------------
def _fill_rows(c: np.ndarray, k: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rows of x >= 0 with Σ_s x_s = target maximising Σ a(1 - e^{-x/k}) (c = ln(a/k)).

    The row total Σ_s max(0, k_s (c_s - u)) is piecewise linear in u with knots at the c_s; with
    the c sorted in decreasing order, on the piece where the top j services are active
    u = (Σ_top-j k c - target) / Σ_top-j k. Rows with no beneficial service (all c = -inf) are
    split in proportion to k. See :class:`RowSplit` to split several targets on the same (c, k).
    """
    if not np.any(target):  # nothing to split (the greedy strategy's zero lower bounds)
        return np.zeros(c.shape)
    return RowSplit(c, k).fill(target)


class RowSplit:
    """The part of :func:`_fill_rows` that does not depend on the targets, for one (c, k).

    Sorting the services of every row and their cumulative sums is most of the work; the
    strategies of a comparison (and the optimum's final split) share the same (c, k) and only
    differ in the row totals, so they share one RowSplit.
    """

    def __init__(self, c: np.ndarray, k: np.ndarray):
        self.c, self.k = c, k
        self.shape = c.shape
        self.useful = np.isfinite(c).any(axis=1)
        self.all_useful = bool(self.useful.all())
        if not self.useful.any():
            return
        cu, ku = (c, k) if self.all_useful else (c[self.useful], k[self.useful])
        order = np.argsort(-cu, axis=1, kind="stable")
        cs = np.take_along_axis(cu, order, axis=1)
        ks = np.take_along_axis(ku, order, axis=1)
        fin = np.isfinite(cs)
        self.ck = np.cumsum(np.where(fin, ks, 0.0), axis=1)
        self.ckc = np.cumsum(np.where(fin, ks * cs, 0.0), axis=1)
        self.nxt = np.concatenate([cs[:, 1:], np.full((len(cs), 1), -np.inf)], axis=1)
        self.cs, self.fin, self.cu, self.ku = cs, fin, cu, ku

    def fill(self, target: np.ndarray) -> np.ndarray:
        """Rows of x summing to ``target`` (see :func:`_fill_rows`)."""
        m, s = self.shape
        x = np.zeros((m, s))
        if m == 0 or not np.any(target):  # nothing to split: every row stays at zero
            return x
        useful = self.useful
        if not self.all_useful:
            kk = self.k[~useful]
            x[~useful] = kk * (target[~useful] / kk.sum(axis=1))[:, None]
            if not useful.any():
                return x
        cs, nxt, cu, ku = self.cs, self.nxt, self.cu, self.ku
        tu = target if self.all_useful else target[useful]
        with np.errstate(invalid="ignore", divide="ignore"):
            u = (self.ckc - tu[:, None]) / self.ck
        valid = self.fin & (u >= nxt) & (u <= cs)
        # the first valid piece; rounding can make two adjacent pieces valid at a knot (same u)
        j = np.argmax(valid, axis=1)
        none = ~valid.any(axis=1)
        if none.any():  # rounding at a knot: take the piece whose u is closest to its interval
            gap = np.maximum(nxt - u, 0) + np.maximum(u - cs, 0)
            gap = np.where(self.fin & np.isfinite(gap), gap, np.inf)
            j = np.where(none, np.argmin(gap, axis=1), j)
        ur = u[np.arange(len(u)), j]
        xs = np.maximum(0.0, ku * (cu - ur[:, None]))
        # tidy the last ulps so that each row sums to its target exactly in floating point
        tot = xs.sum(axis=1)
        big = np.argmax(xs, axis=1)
        xs[np.arange(len(xs)), big] += tu - tot
        if self.all_useful:
            return xs
        x[useful] = xs
        return x


def split_within(a, k, totals) -> np.ndarray:
    """Split each enterprise's total across its services to maximise the expected benefit.

    ``a`` and ``k`` have shape (n, services); ``totals`` shape (n,). Exact (water-filling).

    >>> import numpy as np
    >>> np.round(split_within([[2.0, 1.0]], [[1.0, 1.0]], [1.0]), 6).tolist()
    [[0.846574, 0.153426]]
    """
    a, k = _coefficients(a, k, "split_within")
    if a.ndim == 1:
        a, k = a[:, None], k[:, None]
    t = np.asarray(totals, dtype=float).reshape(-1)
    with np.errstate(divide="ignore"):
        c = np.log(a) - np.log(k)
    return _fill_rows(c, k, t)


# -- the exact optimum ---------------------------------------------------------------------------
def _totals(c, k, u, lo, hi):
    """Per-enterprise totals clip(T_i(u), lo, hi), the free mask, and the slope dΣ/du."""
    if c.ndim == 1:
        t = c - u
        t *= k
        np.maximum(t, 0.0, out=t)
        free = (t > lo) & (t < hi)
        slope = -float(k @ free)  # a free enterprise has t > lo >= 0, so its service is active
    else:
        raw = k * (c - u)
        active_k = np.where(raw > 0, k, 0.0).sum(axis=1)
        t = np.maximum(raw, 0.0).sum(axis=1)
        free = (t > lo) & (t < hi)
        slope = -float(active_k @ free)
    np.maximum(t, lo, out=t)
    np.minimum(t, hi, out=t)
    return t, free, slope


def allocate_optimal(a, k, budget, lower=0.0, upper=np.inf, *, full_output=False, tol=None):
    """Maximise Σ a (1 - exp(-x / k)) under the budget and per-enterprise bounds, exactly.

    Parameters
    ----------
    a : array (n,) or (n, services)
        Benefit at saturation (e.g. expected insured loss × maximum share removed), >= 0.
    k : array like ``a``
        Spend (yuan) at which 63 % of ``a`` is reached, > 0.
    budget : float
        Money to spend, >= 0.
    lower, upper : float or array (n,)
        Bounds on each enterprise's total spend (``upper`` may be ``inf``).
    full_output : bool
        Also return a :class:`KKTInfo`.

    Returns
    -------
    x : ndarray shaped like ``a``, with Σ x = budget to machine precision unless every enterprise
        is at its upper bound (then ``Σ upper`` is spent, an :class:`UnspentBudgetWarning` is issued
        and ``info.unspent`` holds the rest).

    >>> x, info = allocate_optimal([1.0, 1.0, 1.0], [1.0, 2.0, 4.0], 3.0, full_output=True)
    >>> round(float(x.sum()), 12), round(info.nu, 6)
    (3.0, 0.242009)
    """
    return _allocate_optimal(a, k, budget, lower, upper, full_output=full_output, tol=tol)


def _allocate_optimal(a, k, budget, lower=0.0, upper=np.inf, *, full_output=False, tol=None,
                      split: RowSplit | None = None):
    a, k = _coefficients(a, k, "allocate_optimal")
    n = a.shape[0]
    b, lo, hi = _bounds(n, budget, lower, upper, "allocate_optimal")
    # split: the caller's RowSplit of (ln a - ln k, k) when it solves several problems on them
    if split is None:
        with np.errstate(divide="ignore"):
            c = np.log(a) - np.log(k)
        split = RowSplit(c, k) if c.ndim == 2 else None
    c = split.c if split is not None else c
    notes: list[str] = []
    cap = hi.sum()
    if cap <= b:
        x = _at_totals(c, k, split, hi)
        unspent = b - float(x.sum())
        # a budget equal to the upper bounds' total leaves only the rounding of the sum over
        if abs(unspent) <= 4 * np.finfo(float).eps * max(b, cap, 1.0) * max(n, 1):
            unspent = 0.0
        if unspent > 1e-9 * max(b, 1.0):
            msg = (f"{unspent:,.2f} of the budget {b:,.2f} is left unspent: every enterprise is at "
                   f"its upper bound (Σ upper = {cap:,.2f})")
            warnings.warn(msg, UnspentBudgetWarning, stacklevel=3)
            notes.append(msg)
        info = KKTInfo(0.0, max(unspent, 0.0), np.zeros(n, bool), np.ones(n, bool), 0,
                       b - float(x.sum()), notes)
        return (x, info) if full_output else x

    useful = np.isfinite(c) if c.ndim == 1 else np.isfinite(c).any(axis=1)
    # capacity of the enterprises that gain from money; the rest only get their lower bound,
    # unless the budget exceeds what the useful ones can take (then fill the others evenly).
    useful_cap = hi[useful].sum() + lo[~useful].sum()
    if useful_cap <= b:
        x = _at_totals(c, k, split, np.where(useful, hi, lo))
        rest = b - float(x.sum())
        extra = allocate_proportional(np.where(useful, 0.0, 1.0), rest,
                                      0.0, np.where(useful, 0.0, hi - lo))
        notes.append(f"{rest:,.2f} spent on enterprises whose services have no modelled benefit: "
                     "all others are at their upper bound")
        x = _at_totals(c, k, split, np.where(useful, hi, lo + extra))
        info = KKTInfo(0.0, 0.0, ~useful & (extra == 0), useful, 0, b - float(x.sum()), notes)
        return (x, info) if full_output else x

    cmax = float(np.max(c[np.isfinite(c)]))
    tol = tol if tol is not None else 1e-12 * max(b, 1.0)

    def g(u):
        e, free, slope = _totals(c, k, u, lo, hi)
        return float(e.sum()) - b, free, slope

    # bracket: g(u_hi) <= 0 (everything at lo or zero) and g(u_lo) >= 0, searched outward from
    # the solution that ignores bounds and assumes every service active (often close)
    fin = np.isfinite(c)
    u0 = min(float((np.where(fin, k * c, 0.0).sum() - b) / np.where(fin, k, 0.0).sum()), cmax)
    u_hi = cmax
    g_hi, _, _ = g(u_hi)
    g0, _, _ = g(u0)
    it = 1
    if g0 <= 0:
        u_hi, g_hi = u0, g0
    step = max(cmax - u0, 1.0)
    u_lo = u0 if g0 >= 0 else u0 - step
    g_lo = g0 if g0 >= 0 else g(u_lo)[0]
    while g_lo < 0:
        step *= 2.0
        u_lo = u0 - step
        g_lo, _, _ = g(u_lo)
        it += 1
        if it > 2000:  # pragma: no cover - T_i(u) grows without bound as u falls
            raise ConvergenceError("allocate_optimal: could not bracket the budget multiplier")
    if abs(g_hi) <= tol:
        u = u_hi
    elif abs(g_lo) <= tol:
        u = u_lo
    else:
        u = u0 if u_lo < u0 < u_hi else 0.5 * (u_lo + u_hi)
        for _ in range(500):
            val, free, slope = g(u)
            it += 1
            if abs(val) <= tol:
                break
            if val > 0:
                u_lo = u
            else:
                u_hi = u
            u_new = u - val / slope if slope < 0 else math.nan
            if not (u_lo < u_new < u_hi):
                u_new = 0.5 * (u_lo + u_hi)
            if u_new == u or u_hi - u_lo <= 4 * np.spacing(max(abs(u_lo), abs(u_hi))):
                u = u_new
                break
            u = u_new
        else:  # pragma: no cover - piecewise-linear Newton ends in a few dozen steps
            raise ConvergenceError(f"allocate_optimal: no convergence after {it} steps")
    e, free, _ = _totals(c, k, u, lo, hi)
    # final exact tidy-up: put the rounding residual on the free enterprises (proportionally to
    # their active slope), never moving a bound
    resid = b - float(e.sum())
    if free.any() and resid != 0.0:
        room = np.where(free, np.where(resid > 0, hi - e, e - lo), 0.0)
        w = np.where(free, np.minimum(room, np.abs(e) + 1.0), 0.0)
        if w.sum() > 0:
            e = e + resid * w / w.sum()
            e = np.clip(e, lo, hi)
    x = _at_totals(c, k, split, e)
    t = x if x.ndim == 1 else x.sum(axis=1)
    info = KKTInfo(float(np.exp(u)), 0.0, t <= lo, t >= hi, it, b - float(x.sum()), notes)
    return (x, info) if full_output else x


def _at_totals(c, k, split, totals):
    if c.ndim == 1:
        return np.asarray(totals, dtype=float).copy()
    return split.fill(np.asarray(totals, dtype=float))


# -- simple strategies ---------------------------------------------------------------------------
def allocate_proportional(weights, budget, lower=0.0, upper=np.inf):
    """x_i = clip(t w_i, lo_i, hi_i) with t chosen so that Σ x = budget (water-filling).

    Equal, pro-rata-premium, pro-rata-expected-loss and risk-tier allocations are this with
    different weights. Enterprises with weight 0 get their lower bound. If the weighted
    enterprises cannot absorb the budget, the rest is spread evenly over the others (up to their
    upper bound); if no one can, an :class:`UnspentBudgetWarning` is issued.

    >>> allocate_proportional([1.0, 3.0], 8.0).round(12).tolist()
    [2.0, 6.0]
    >>> allocate_proportional([1.0, 3.0], 8.0, upper=[10.0, 5.0]).tolist()
    [3.0, 5.0]
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) == 0:
        raise ValidationError("allocate_proportional", [
            Problem(None, "weights", f"shape {w.shape}", "a non-empty 1-D array")])
    bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
    if len(bad):
        raise ValidationError("allocate_proportional", [
            Problem(int(i), "weights", w[i], "a finite number >= 0") for i in bad])
    b, lo, hi = _bounds(len(w), budget, lower, upper, "allocate_proportional")
    if hi.sum() <= b:
        if b - hi.sum() > 1e-9 * max(b, 1.0):
            warnings.warn(f"{b - hi.sum():,.2f} of the budget {b:,.2f} is left unspent: every "
                          "enterprise is at its upper bound", UnspentBudgetWarning, stacklevel=2)
        return hi.copy()
    if w.max() > 0:
        w = w / w.max()
    pos = w > 0
    if not pos.any() or hi[pos].sum() + lo[~pos].sum() <= b:
        # the weighted enterprises cannot absorb the budget: spread the rest evenly over the others
        base = np.where(pos, hi, lo)
        extra = allocate_proportional((~pos).astype(float), b - base.sum(), 0.0,
                                      np.where(pos, 0.0, hi - lo))
        return base + extra
    # x_i(s) = clip(e^s w_i, lo_i, hi_i) is non-decreasing in s; s = ln t keeps e^s w_i finite
    # even when the weights span hundreds of orders of magnitude. Each step guesses the set of
    # enterprises strictly inside their bounds and solves the budget equation on it exactly; the
    # guess is accepted when it is consistent, otherwise the bracket on s is bisected.
    with np.errstate(divide="ignore"):
        logw = np.log(w)
    lw = logw[pos]
    s_lo = -float(lw.max()) - 800.0
    top = float(np.max(np.where(np.isfinite(hi), hi, 0.0))) + b + 1.0
    s_hi = -float(lw.min()) + np.log(top) + 1.0
    x = lo.copy()
    for _ in range(300):
        s_mid = 0.5 * (s_lo + s_hi)
        with np.errstate(over="ignore"):
            tw = np.where(pos, np.exp(s_mid + logw), 0.0)
        at_lo = ~pos | (tw <= lo)
        at_hi = pos & (tw >= hi)
        free = ~at_lo & ~at_hi
        fixed = lo[at_lo].sum() + hi[at_hi].sum()
        if free.any() and b > fixed:
            # the t that spends the budget if this guess of the free set is right, and whether
            # it reproduces the guess (every enterprise on the side of its bounds assumed)
            wmax = w[free].max()
            log_t = np.log(b - fixed) - np.log(wmax) - np.log((w[free] / wmax).sum())
            with np.errstate(over="ignore"):
                tc = np.where(pos, np.exp(log_t + logw), 0.0)
            xc = np.clip(tc, lo, hi)
            if abs(float(xc.sum()) - b) <= 1e-12 * max(b, 1.0):
                fr = pos & (xc > lo) & (xc < hi)
                if fr.any():  # the free shares, in plain arithmetic (no exp/log rounding)
                    wf = w[fr] / w[fr].max()
                    xc[fr] = (b - xc[~fr].sum()) * wf / wf.sum()
                x = np.clip(xc, lo, hi)
                break
        total = float(np.clip(tw, lo, hi).sum())
        if total < b:
            s_lo = s_mid
        else:
            s_hi = s_mid
        if s_hi - s_lo <= 4 * np.spacing(max(abs(s_lo), abs(s_hi))):
            x = np.clip(tw, lo, hi)
            break
    else:  # pragma: no cover - bisection on s ends within ~60 steps
        raise ConvergenceError("allocate_proportional: no convergence")
    free = pos & (x > lo) & (x < hi)
    resid = b - x.sum()
    if free.any() and resid != 0:
        wf = w[free] / w[free].max()
        x[free] += resid * wf / wf.sum()
        x = np.clip(x, lo, hi)
    return x


def allocate_greedy(a, k, budget, lower=0.0, upper=np.inf, *, step):
    """Greedy marginal benefit: buy one service unit at a time where it gains the most per yuan.

    Starts from the lower bounds (split optimally across services), then repeatedly buys one
    increment ``step`` (scalar or one per service: typically the service's unit cost, scaled to
    nothing smaller) of the (enterprise, service) pair with the highest benefit per yuan of the
    increment, until the budget is spent; the last purchase is partial so that exactly the budget
    is spent. An enterprise stops at its upper bound: the purchase that would cross it is cut to
    fit. Ties are bought in the order of (enterprise, service).

    The purchases are not made one by one. From a pair's starting spend x0, its m-th increment d
    gains ``a e^(-x0/k) (1 - e^(-d/k)) e^(-m d/k)`` per ``d`` yuan: the log benefit per yuan falls
    by exactly d/k per increment. So the purchases above a threshold t are counted in closed form
    for every pair at once, t is found by bisection on the money they cost, and only the few
    increments at the threshold are sorted and bought in order (O(n) per bisection step).

    >>> import numpy as np
    >>> x = allocate_greedy([4.0, 1.0], [1.0, 1.0], 3.0, step=0.5)
    >>> x.tolist(), float(x.sum())
    ([2.0, 1.0], 3.0)
    """
    a, k = _coefficients(a, k, "allocate_greedy")
    one_d = a.ndim == 1
    if one_d:
        a, k = a[:, None], k[:, None]
    n, s = a.shape
    b, lo, hi = _bounds(n, budget, lower, upper, "allocate_greedy")
    st = np.broadcast_to(np.asarray(step, dtype=float), (s,))
    if not (np.all(np.isfinite(st)) and np.all(st > 0)):
        raise ValidationError("allocate_greedy", [Problem(None, "step", step, "finite numbers > 0")])
    with np.errstate(divide="ignore"):
        c = np.log(a) - np.log(k)
    x = _fill_rows(c, k, lo.copy())
    remaining = b - lo.sum()
    if remaining > 0:
        _greedy_fill(_Ladder(a, k, x, st), x, hi - lo, remaining)
    left = b - float(x.sum())
    if left > 1e-9 * max(b, 1.0):
        warnings.warn(f"{left:,.2f} of the budget {b:,.2f} is left unspent: every "
                      "enterprise is at its upper bound", UnspentBudgetWarning, stacklevel=2)
    return x[:, 0] if one_d else x


class _Ladder:
    """The increments of every (enterprise, service) pair: the m-th (m = 0, 1, ...) costs d_j and
    has log benefit per yuan ``top - m * drop`` (-inf for a pair that gains nothing)."""

    def __init__(self, a, k, x0, d):
        self.d = d
        self.drop = d / k
        with np.errstate(divide="ignore"):
            self.top = np.log(a) - x0 / k + np.log(-np.expm1(-self.drop)) - np.log(d)

    def count(self, t, rows=slice(None)):
        """Increments with log benefit per yuan >= t, per pair (t scalar or one per row)."""
        top, drop = self.top[rows], self.drop[rows]
        t = np.asarray(t, dtype=float)
        t = t[:, None] if t.ndim == 1 else t
        with np.errstate(invalid="ignore"):
            m = np.floor((top - t) / drop) + 1.0
        return np.where(top >= t, m, 0.0)

    def money(self, t, rows=slice(None)):
        """Cost of those increments per enterprise (yuan)."""
        return self.count(t, rows) @ self.d

    def steps(self, rows, t_lo, t_hi):
        """The increments of ``rows`` with log benefit per yuan in [t_lo, t_hi) (one per row):
        (row, service, log benefit per yuan), best first, ties by row then service."""
        first = self.count(t_hi, rows)
        many = (self.count(t_lo, rows) - first).astype(np.int64)
        r, j = np.nonzero(many)
        reps = many[r, j]
        r, j = np.repeat(r, reps), np.repeat(j, reps)
        m = first[r, j] + (np.arange(len(r)) - np.repeat(np.cumsum(reps) - reps, reps))
        rate = self.top[rows][r, j] - m * self.drop[rows][r, j]
        order = np.lexsort((j, r, -rate))
        return r[order], j[order], rate[order]


def _bracket(exceeds, between, top, limit: int = 2048):
    """Per row, thresholds lo < hi with exceeds(lo) and not exceeds(hi) (``exceeds`` is
    monotone: true for low thresholds) and at most ``limit`` increments between them."""
    hi = np.asarray(top, dtype=float).copy()
    width = np.ones_like(hi)
    lo = hi - width
    for _ in range(2100):
        short = ~exceeds(lo)
        if not short.any():
            break
        hi = np.where(short, lo, hi)  # lo did not exceed: a tighter upper end
        width = np.where(short, 2.0 * width, width)
        lo = np.where(short, hi - width, lo)
    else:  # pragma: no cover - the money above a threshold grows without bound as it falls
        raise ConvergenceError("allocate_greedy: could not bracket the threshold")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        wide = (between(lo, hi) > limit) & (mid > lo) & (mid < hi)
        if not wide.any():
            break
        up = exceeds(mid)
        lo = np.where(wide & up, mid, lo)
        hi = np.where(wide & ~up, mid, hi)
    return lo, hi


def _fill_capped(ladder: _Ladder, x, rows, room) -> None:
    """Enterprises ``rows`` buy their own increments in order until ``room`` is used up."""
    if not rows.size:
        return
    top = np.max(ladder.top[rows], axis=1) + 1.0
    lo, hi = _bracket(lambda t: ladder.money(t, rows) > room,
                      lambda lo, hi: (ladder.count(lo, rows) - ladder.count(hi, rows)).sum(axis=1),
                      top, limit=64)
    x[rows] += ladder.count(hi, rows) * ladder.d
    left = room - ladder.money(hi, rows)
    r, j, _ = ladder.steps(rows, lo, hi)
    _take(x, rows[r], j, ladder.d[j], left[r], r, np.inf)


def _take(x, i, j, d, room_of_i, group, budget) -> float:
    """Buy increments (in the given order) of size d, each cut to its enterprise's room left
    and to the budget left; returns the money spent."""
    if not len(i):
        return 0.0
    # money an enterprise already bought earlier in this sequence
    order = np.argsort(group, kind="stable")
    cum = np.cumsum(d[order])
    starts = np.r_[0, np.flatnonzero(np.diff(group[order])) + 1]
    first_cum = np.repeat(cum[starts] - d[order][starts], np.diff(np.r_[starts, len(order)]))
    before = np.empty_like(cum)
    before[order] = cum - d[order] - first_cum
    allowed = np.clip(room_of_i - before, 0.0, d)
    spent_before = np.cumsum(allowed) - allowed
    amount = np.clip(budget - spent_before, 0.0, allowed)
    np.add.at(x, (i, j), amount)
    return float(amount.sum())


def _greedy_fill(ladder: _Ladder, x, room, remaining) -> None:
    """Buy increments in decreasing benefit per yuan, within ``room`` per enterprise, until
    ``remaining`` is spent (or every enterprise is full); adds the purchases to ``x``."""
    useful = np.isfinite(ladder.top).any(axis=1)
    cap = float(room[useful].sum())
    # rounding: a budget equal to the rooms' total (summed in another order) is a full budget
    slack = 4 * np.finfo(float).eps * max(cap, remaining, 1.0) * max(room.size, 1)
    full_cap = np.isfinite(room[useful]).all() and cap <= remaining + slack
    if useful.any() and full_cap:
        # every useful enterprise fills up before the budget is spent
        rows = np.flatnonzero(useful & (room > 0))
        _fill_capped(ladder, x, rows, room[rows])
        remaining -= float(room[rows].sum())
        room[rows] = 0.0
    elif useful.any():
        def spend(t):
            return float(np.minimum(ladder.money(float(t[0])), room).sum())

        top = float(np.max(ladder.top[useful])) + 1.0
        lo, hi = _bracket(
            lambda t: np.array([spend(t) > remaining]),
            lambda lo, hi: np.array([(ladder.count(float(lo[0])) - ladder.count(float(hi[0])))
                                     .sum()]),
            np.array([top]))
        lo, hi = float(lo[0]), float(hi[0])
        sure = ladder.money(hi)
        over = sure > room
        # enterprises whose increments above hi already exceed their room fill up on their own
        rows = np.flatnonzero(over & (room > 0))
        _fill_capped(ladder, x, rows, room[rows])
        remaining -= float(room[rows].sum())
        room[rows] = 0.0
        ok = np.flatnonzero(~over)
        x[ok] += ladder.count(hi, ok) * ladder.d
        room[ok] -= sure[ok]
        remaining -= float(sure[ok].sum())
        # the increments between lo and hi, best first, cut at each cap and at the budget
        r, j, _ = ladder.steps(ok, np.full(len(ok), lo), np.full(len(ok), hi))
        remaining -= _take(x, ok[r], j, ladder.d[j], room[ok[r]], r, remaining)
        return
    if remaining > 1e-12 and (room > 0).any():
        # only pairs without benefit are left: a greedy buyer fills them in the order of
        # (enterprise, service), each enterprise up to its bound (its first service takes it)
        idle = np.flatnonzero(room > 0)
        before = np.cumsum(room[idle]) - room[idle]
        x[idle, 0] += np.clip(remaining - before, 0.0, room[idle])
