"""Empirical, spliced and mixture severities, and :func:`as_severity` for any scipy.stats law.

>>> from safeins.losses import Empirical, Exponential, Mixture, as_severity
>>> E = Empirical([1, 2, 3, 4], weights=[.4, .3, .2, .1])
>>> round(E.mean(), 12), round(float(E.cdf(2.5)), 12), float(E.ppf(0.7)), E.is_discrete
(2.0, 0.7, 2.0, True)
>>> from scipy import stats
>>> X = as_severity(stats.lognorm(1.5, scale=20_000))
>>> round(float(X.lev(50_000)) / 1e4, 4)
2.505
"""

from __future__ import annotations

import math

import numpy as np

from .._base.lazy import lazy_module
from ..errors import Problems, ValidationError
from ._checks import check_levels, check_params
from ._severity_base import Severity, quad_limited_moments

special = lazy_module("scipy.special")
stats = lazy_module("scipy.stats")

__all__ = ["Empirical", "Mixture", "ScipySeverity", "Spliced", "as_severity"]


def _scalar(out):
    out = np.asarray(out, dtype=float)
    return out[()] if out.ndim == 0 else out


# --- empirical ----------------------------------------------------------------------------------
class _LogsFromProbabilities:
    """``logcdf`` and ``logsf`` as the logs of ``cdf`` and ``sf``, for the laws here that have no
    scipy distribution behind them (Severity's defaults ask scipy)."""

    def logcdf(self, x):
        """log P(X <= x)."""
        with np.errstate(divide="ignore"):
            return _scalar(np.log(self.cdf(x)))

    def logsf(self, x):
        """log P(X > x)."""
        with np.errstate(divide="ignore"):
            return _scalar(np.log(self.sf(x)))


class Empirical(_LogsFromProbabilities, Severity):
    """A discrete severity on finitely many non-negative atoms.

    ``weights`` are relative frequencies (normalised to sum to 1); equal weights if omitted.
    Repeated values are merged. ``values`` and ``weights`` hold the sorted atoms and probabilities.

    >>> E = Empirical([10, 20, 20, 50])
    >>> E.values.tolist(), E.weights.tolist()
    ([10.0, 20.0, 50.0], [0.25, 0.5, 0.25])
    >>> float(E.lev(20)), float(E.limited_moment(20, 2))
    (17.5, 325.0)
    """

    is_discrete = True

    def __init__(self, values, weights=None):
        probs = Problems("Empirical")
        v = np.asarray(values, dtype=float).ravel() if _numeric(values) else None
        if v is None or v.size == 0:
            probs.add(column="values", value=values, rule="a non-empty sequence of numbers")
            probs.raise_if_any()
        for i in np.flatnonzero(~np.isfinite(v) | (v < 0)):
            probs.add(row=int(i), column="values", value=float(v[i]), rule="finite and >= 0")
        if weights is None:
            w = np.ones_like(v)
        else:
            w = np.asarray(weights, dtype=float).ravel() if _numeric(weights) else None
            if w is None or w.shape != v.shape:
                probs.add(
                    column="weights",
                    value=weights,
                    rule=f"numbers, one per entry of values ({v.size} values)",
                )
                probs.raise_if_any()
            for i in np.flatnonzero(~np.isfinite(w) | (w < 0)):
                probs.add(row=int(i), column="weights", value=float(w[i]), rule="finite and >= 0")
            if not probs and w.sum() <= 0:
                probs.add(column="weights", value=float(w.sum()), rule="must sum to > 0")
        probs.raise_if_any()
        atoms, inv = np.unique(v, return_inverse=True)
        mass = np.bincount(inv, weights=w, minlength=atoms.size)
        keep = mass > 0
        self.values = atoms[keep]
        self.weights = mass[keep] / mass.sum()
        cum = np.cumsum(self.weights)
        cum[-1] = 1.0
        self._cum = cum
        # P(X >= v_i) summed from the top: accurate far in the tail
        self._tail = np.append(np.cumsum(self.weights[::-1])[::-1], 0.0)

    @property
    def params(self) -> dict:
        """The atoms and their probabilities."""
        return {"values": self.values.tolist(), "weights": self.weights.tolist()}

    def __repr__(self) -> str:
        return f"Empirical({self.values.size} atoms on [{self.values[0]:g}, {self.values[-1]:g}])"

    def __hash__(self) -> int:
        return hash(("Empirical", self.values.tobytes(), self.weights.tobytes()))

    @property
    def support(self):
        """(smallest atom, largest atom)."""
        return (float(self.values[0]), float(self.values[-1]))

    def pmf(self, x):
        """P(X = x)."""
        x = np.asarray(x, dtype=float)
        idx = np.clip(np.searchsorted(self.values, x), 0, self.values.size - 1)
        return _scalar(np.where(self.values[idx] == x, self.weights[idx], 0.0))

    def pdf(self, x):
        """The probability mass P(X = x) (a discrete law has no density)."""
        return self.pmf(x)

    def logpmf(self, x):
        """log P(X = x)."""
        with np.errstate(divide="ignore"):
            return _scalar(np.log(self.pmf(x)))

    logpdf = logpmf

    def cdf(self, x):
        """P(X <= x)."""
        idx = np.searchsorted(self.values, np.asarray(x, dtype=float), side="right")
        return _scalar(np.append(0.0, self._cum)[idx])

    def sf(self, x):
        """P(X > x)."""
        idx = np.searchsorted(self.values, np.asarray(x, dtype=float), side="right")
        return _scalar(self._tail[idx])

    def sf_left(self, x):
        """P(X >= x) (differs from ``sf`` at the atoms)."""
        idx = np.searchsorted(self.values, np.asarray(x, dtype=float), side="left")
        return _scalar(self._tail[idx])

    def ppf(self, q):
        """Lower quantile: the smallest atom v with P(X <= v) >= q (q in [0, 1])."""
        q = check_levels(f"{type(self).__name__}.ppf", q)
        idx = np.clip(np.searchsorted(self._cum, q, side="left"), 0, self.values.size - 1)
        return _scalar(self.values[idx])  # check_levels has refused q outside [0, 1]

    def isf(self, q):
        """ppf(1 - q) (q in [0, 1])."""
        return self.ppf(1.0 - check_levels(f"{type(self).__name__}.isf", q))

    def _rvs(self, rng, size):
        u = rng.random(size)
        return self.values[
            np.searchsorted(self._cum, u, side="right").clip(max=self.values.size - 1)
        ]

    def _moment(self, k):
        return float(np.sum(self.weights * self.values**k))

    def limited_moment(self, u, k: float = 1):
        """E[min(X, u)^k] = Σ_(v <= u) w v^k + u^k P(X > u)."""
        check_params("Empirical.limited_moment", [("k", k, "positive")])
        u = np.asarray(u, dtype=float)
        below = np.append(0.0, np.cumsum(self.weights * self.values**k))
        idx = np.searchsorted(self.values, u, side="right")
        with np.errstate(invalid="ignore"):
            return _scalar(below[idx] + np.power(u, k) * self._tail[idx])


def _numeric(x) -> bool:
    try:
        arr = np.asarray(x)
    except Exception:
        return False
    return arr.dtype.kind in "iufb" and arr.dtype.kind != "b"


# --- spliced ------------------------------------------------------------------------------------
class Spliced(_LogsFromProbabilities, Severity):
    """Body below ``threshold`` c, tail above it: a two-piece (spliced) severity.

    ``f(x) = w f_b(x)/F_b(c)`` on [0, c] and ``(1-w) f_t(x)/S_t(c)`` on (c, inf): the body is
    truncated to [0, c] and the tail to (c, inf), so P(X <= c) = w. With ``body_weight=None`` w is
    chosen to make the density continuous at c. A GPD tail on the excess over c is
    ``GeneralizedPareto(xi, sigma, mu=c)`` (its S_t(c) is 1).

    >>> from safeins.losses import LogNormal, GeneralizedPareto
    >>> X = Spliced(LogNormal(9, 1), GeneralizedPareto(0.3, 40_000, mu=50_000), 50_000, 0.9)
    >>> float(X.cdf(50_000)), round(X.mean(), 2)
    (0.9, 20599.09)
    """

    _params = ("body", "tail", "threshold", "body_weight")

    def __init__(self, body, tail, threshold: float, body_weight: float | None = None):
        probs = Problems("Spliced")
        check_params("Spliced", [("threshold", threshold, "positive")], probs)
        if body_weight is not None:
            check_params("Spliced", [("body_weight", body_weight, "prob")], probs)
        self.body = _severity_field(body, "body", probs)
        self.tail = _severity_field(tail, "tail", probs)
        probs.raise_if_any()
        c = self.threshold = float(threshold)
        self._Fb = float(self.body.cdf(c))
        self._St = float(self.tail.sf(c))
        if self._Fb <= 0:
            probs.add(column="body", value=self.body, rule=f"must put mass on [0, threshold={c:g}]")
        if self._St <= 0:
            probs.add(column="tail", value=self.tail, rule=f"must put mass above threshold={c:g}")
        probs.raise_if_any()
        if body_weight is None:
            A = float(self.body.pdf(c)) / self._Fb
            B = float(self.tail.pdf(c)) / self._St
            if not (A + B > 0 and math.isfinite(A + B)):
                raise ValidationError(
                    "Spliced",
                    [
                        _problem(
                            "body_weight", None, "give it: no density at the threshold to match"
                        )
                    ],
                )
            body_weight = B / (A + B)
        self.body_weight = float(body_weight)
        self.is_discrete = self.body.is_discrete and self.tail.is_discrete

    @property
    def support(self):
        """(body's lower end, tail's upper end)."""
        return (self.body.support[0], self.tail.support[1])

    def _split(self, x):
        x = np.asarray(x, dtype=float)
        return x, x <= self.threshold

    def pdf(self, x):
        """Density."""
        x, low = self._split(x)
        w = self.body_weight
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(
                low,
                w * self.body.pdf(np.minimum(x, self.threshold)) / self._Fb,
                (1 - w) * self.tail.pdf(np.maximum(x, self.threshold)) / self._St,
            )
        return _scalar(out)

    def logpdf(self, x):
        """Log density."""
        with np.errstate(divide="ignore"):
            return _scalar(np.log(self.pdf(x)))

    def cdf(self, x):
        """P(X <= x)."""
        x, low = self._split(x)
        w = self.body_weight
        c = self.threshold
        out = np.where(
            low,
            w * self.body.cdf(np.minimum(x, c)) / self._Fb,
            1.0 - (1 - w) * self.tail.sf(np.maximum(x, c)) / self._St,
        )
        return _scalar(out)

    def sf(self, x):
        """P(X > x)."""
        x, low = self._split(x)
        w = self.body_weight
        c = self.threshold
        out = np.where(
            low,
            1.0 - w * self.body.cdf(np.minimum(x, c)) / self._Fb,
            (1 - w) * self.tail.sf(np.maximum(x, c)) / self._St,
        )
        return _scalar(out)

    def ppf(self, q):
        """Quantile: the body's below w, the tail's above (q in [0, 1])."""
        q = check_levels(f"{type(self).__name__}.ppf", q)
        w = self.body_weight
        with np.errstate(divide="ignore", invalid="ignore"):
            qb = np.clip(q / w, 0, 1) * self._Fb if w > 0 else q * 0
            qt = np.clip((1.0 - q) / (1.0 - w), 0, 1) * self._St if w < 1 else q * 0
            out = np.where(q <= w, self.body.ppf(qb), self.tail.isf(qt))
        out = np.where((q >= 0) & (q <= 1), out, np.nan)
        return _scalar(out)

    def isf(self, q):
        """ppf(1 - q) (q in [0, 1])."""
        return self.ppf(1.0 - check_levels(f"{type(self).__name__}.isf", q))

    def _rvs(self, rng, size):
        return self.ppf(rng.random(size))

    def _moment(self, k):
        c, w = self.threshold, self.body_weight
        b_below = float(self.body.limited_moment(c, k)) - c**k * float(self.body.sf(c))
        t_all = self.tail.moment(k)
        if not math.isfinite(t_all):
            return math.inf if w < 1 else w * b_below / self._Fb
        t_above = t_all - (float(self.tail.limited_moment(c, k)) - c**k * self._St)
        return w * b_below / self._Fb + (1 - w) * t_above / self._St

    def _limited_moment(self, u, k):
        c, w = self.threshold, self.body_weight
        uc = np.minimum(u, c)
        low = (
            w * (self.body.limited_moment(uc, k) - uc**k * (1.0 - self._Fb)) / self._Fb
            + (1 - w) * uc**k
        )
        b_below = float(self.body.limited_moment(c, k)) - c**k * float(self.body.sf(c))
        uh = np.maximum(u, c)
        t_part = self.tail.limited_moment(uh, k) - float(self.tail.limited_moment(c, k))
        high = w * b_below / self._Fb + (1 - w) * (t_part + c**k * self._St) / self._St
        return np.where(u <= c, low, high)


def _severity_field(obj, name: str, probs: Problems):
    """``as_severity(obj)``, or a problem naming the parameter ``name`` (None when refused)."""
    try:
        return as_severity(obj)
    except ValidationError:
        probs.add(column=name, value=obj,
                  rule="a safeins severity or a frozen scipy.stats continuous distribution")
        return None


def _problem(column, value, rule):
    from ..errors import Problem

    return Problem(None, column, value, rule)


# --- mixture ------------------------------------------------------------------------------------
class Mixture(_LogsFromProbabilities, Severity):
    """Finite mixture Σ w_i F_i of severities (weights >= 0 summing to 1).

    >>> from safeins.losses import Exponential
    >>> M = Mixture([Exponential(1.0), Exponential(10.0)], [0.75, 0.25])
    >>> M.mean(), round(float(M.ppf(M.cdf(7.0))), 10)
    (3.25, 7.0)
    """

    _params = ("components", "weights")

    def __init__(self, components, weights):
        probs = Problems("Mixture")
        try:
            comps = [] if isinstance(components, str | bytes) else list(components)
        except TypeError:  # a number or None: not a collection of severities
            comps = []
        w = np.asarray(weights, dtype=float).ravel() if _numeric(weights) else None
        if not comps:
            probs.add(column="components", value=components,
                      rule="a non-empty list of severities")
        if w is None or w.size != len(comps):
            probs.add(
                column="weights", value=weights, rule=f"numbers, one per component ({len(comps)})"
            )
        probs.raise_if_any()
        for i in np.flatnonzero(~np.isfinite(w) | (w < 0)):
            probs.add(row=int(i), column="weights", value=float(w[i]), rule="finite and >= 0")
        if not probs and abs(w.sum() - 1.0) > 1e-9:
            probs.add(column="weights", value=float(w.sum()), rule="must sum to 1")
        self.components = [_severity_field(c, f"components[{i}]", probs)
                           for i, c in enumerate(comps)]
        probs.raise_if_any()
        self.weights = w
        self.is_discrete = all(c.is_discrete for c in self.components)
        if all(isinstance(c, Empirical) for c in self.components):
            self._atoms = Empirical(
                np.concatenate([c.values for c in self.components]),
                np.concatenate([wi * c.weights for wi, c in zip(w, self.components, strict=True)]),
            )
        else:
            self._atoms = None

    @property
    def params(self) -> dict:
        """Components and weights."""
        return {"components": self.components, "weights": self.weights.tolist()}

    def __hash__(self) -> int:
        return hash(("Mixture", tuple(map(repr, self.components)), self.weights.tobytes()))

    def as_empirical(self) -> Empirical:
        """The mixture as one :class:`Empirical` (every component must be Empirical).

        ``weights`` of a mixture are the component weights; this gives the atoms and their
        probabilities.
        """
        if self._atoms is None:
            raise ValidationError(
                "Mixture.as_empirical",
                [_problem("components", self.components, "every component must be Empirical")],
            )
        return self._atoms

    def sf_left(self, x):
        """P(X >= x) (differs from ``sf`` at atoms)."""
        return self._sum("sf_left", x)

    @property
    def support(self):
        """Union of the components' supports."""
        s = [c.support for c in self.components]
        return (min(a for a, _ in s), max(b for _, b in s))

    def _sum(self, method, x):
        x = np.asarray(x, dtype=float)
        tot = sum(
            wi * np.asarray(getattr(c, method)(x), dtype=float)
            for wi, c in zip(self.weights, self.components, strict=True)
        )
        return _scalar(tot)

    def pdf(self, x):
        """Density (mass for a discrete mixture)."""
        return self._sum("pdf", x)

    def pmf(self, x):
        """P(X = x) (discrete mixtures)."""
        return self._sum("pmf", x)

    def logpdf(self, x):
        """Log density, by log-sum-exp over the components."""
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            terms = [
                np.log(wi) + np.asarray(c.logpdf(x), dtype=float)
                for wi, c in zip(self.weights, self.components, strict=True)
            ]
        return _scalar(special.logsumexp(np.stack(terms), axis=0))

    def cdf(self, x):
        """P(X <= x)."""
        return self._sum("cdf", x)

    def sf(self, x):
        """P(X > x)."""
        return self._sum("sf", x)

    def ppf(self, q):
        """Lower quantile, by bisection between the components' quantiles."""
        q = check_levels(f"{type(self).__name__}.ppf", q)
        if self._atoms is not None:
            return self._atoms.ppf(q)
        qs = np.stack([np.asarray(c.ppf(q), dtype=float) for c in self.components])
        lo, hi = np.nanmin(qs, axis=0), np.nanmax(qs, axis=0)
        inside = (q > 0) & (q < 1)
        lo, hi = np.where(inside, lo, 0.0), np.where(inside, hi, 0.0)
        for _ in range(200):  # invariant: cdf(lo) < q <= cdf(hi), unless lo == hi
            mid = 0.5 * (lo + hi)
            if not np.any((mid > lo) & (mid < hi)):
                break
            up = np.asarray(self.cdf(mid)) >= q
            hi = np.where(up, mid, hi)
            lo = np.where(up, lo, mid)
        out = np.where(
            inside, hi, np.where(q == 0, self.support[0], np.where(q == 1, self.support[1], np.nan))
        )
        return _scalar(out)

    def isf(self, q):
        """ppf(1 - q) (q in [0, 1])."""
        return self.ppf(1.0 - check_levels(f"{type(self).__name__}.isf", q))

    def _rvs(self, rng, size):
        n = 1 if size is None else int(np.prod(size))
        which = rng.choice(len(self.components), size=n, p=self.weights)
        out = np.empty(n)
        for i, c in enumerate(self.components):
            sel = which == i
            if sel.any():
                out[sel] = c._rvs(rng, int(sel.sum()))
        return float(out[0]) if size is None else out.reshape(size)

    def _moment(self, k):
        return float(
            sum(
                wi * c.moment(k)
                for wi, c in zip(self.weights, self.components, strict=True)
                if wi > 0
            )
        )

    def _limited_moment(self, u, k):
        return sum(
            wi * np.asarray(c.limited_moment(u, k), dtype=float)
            for wi, c in zip(self.weights, self.components, strict=True)
        )


# --- any scipy.stats law ------------------------------------------------------------------------
class ScipySeverity(Severity):
    """A frozen scipy.stats continuous distribution in the severity protocol.

    Limited moments come from quadrature of ``k x^(k-1) S(x)`` on [0, u] (relative error ~1e-10);
    raw moments from scipy (``inf`` where scipy reports none).

    >>> from scipy import stats
    >>> X = ScipySeverity(stats.gamma(2.0))
    >>> round(float(X.lev(2.0)), 6)
    1.458659
    """

    def __init__(self, dist):
        probs = Problems("as_severity")
        if not isinstance(getattr(dist, "dist", None), stats.rv_continuous):
            probs.add(
                column="dist", value=dist, rule="a frozen scipy.stats continuous distribution"
            )
        else:
            lo = float(dist.support()[0])
            if not lo >= 0:
                probs.add(
                    column="dist",
                    value=f"{dist.dist.name} with support from {lo}",
                    rule="a severity must be >= 0: shift it (loc) or use a positive law",
                )
        probs.raise_if_any()
        self.scipy = dist

    @property
    def params(self) -> dict:
        """scipy's name, args and keywords."""
        return {"dist": self.scipy.dist.name, "args": self.scipy.args, "kwds": self.scipy.kwds}

    def __repr__(self) -> str:
        args = ", ".join(
            [*map(repr, self.scipy.args), *(f"{k}={v!r}" for k, v in self.scipy.kwds.items())]
        )
        return f"ScipySeverity({self.scipy.dist.name}({args}))"

    def __hash__(self) -> int:
        return id(self)

    def _moment(self, k):
        if float(k).is_integer():
            m = float(self.scipy.moment(int(k)))
        else:
            m = float(self.scipy.expect(lambda x: x**k))
        return math.inf if math.isnan(m) else m

    def _limited_moment(self, u, k):
        lo = self.support[0]
        breaks = np.asarray(self.scipy.ppf([0.1, 0.5, 0.9, 0.99, 0.999, 0.9999]), dtype=float)
        return quad_limited_moments(self.scipy.sf, u, k, lower=lo, breaks=breaks)


def as_severity(obj) -> Severity:
    """Return a safeins severity unchanged; wrap a frozen scipy.stats law in the protocol.

    A frozen scipy.stats *discrete* law with finite support becomes an :class:`Empirical`.

    >>> from scipy import stats
    >>> as_severity(stats.expon(scale=3)).mean()
    3.0
    >>> as_severity(stats.binom(2, 0.5)).values.tolist()
    [0.0, 1.0, 2.0]
    """
    if isinstance(obj, Severity):
        return obj
    if isinstance(getattr(obj, "dist", None), stats.rv_discrete):
        lo, hi = obj.support()
        if np.isfinite(hi) and hi - lo <= 1_000_000 and lo >= 0:
            k = np.arange(lo, hi + 1)
            return Empirical(k, obj.pmf(k))
        raise ValidationError(
            "as_severity",
            [
                _problem(
                    "dist",
                    f"{obj.dist.name} on [{lo}, {hi}]",
                    "a discrete severity needs finite support >= 0: use Empirical(values, weights)",
                )
            ],
        )
    return ScipySeverity(obj)
