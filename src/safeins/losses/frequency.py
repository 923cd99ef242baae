"""Claim-count (frequency) distributions of the (a,b,0) and (a,b,1) classes.

Every family satisfies the recursion ``p_k = (a + b/k) p_{k-1}``: for ``k >= 1`` in the (a,b,0)
class (Poisson, negative binomial, binomial, geometric) and for ``k >= 2`` in the (a,b,1) class
(logarithmic, and the zero-truncated and zero-modified forms). Each object exposes ``a``, ``b``,
``abclass``, ``p0`` (and ``p1``), the scipy-like methods ``pmf``, ``logpmf``, ``cdf``, ``sf``,
``ppf`` (lower quantile), ``mean``, ``var``, ``std``, ``moment``, ``rvs``, the probability
generating function ``pgf`` (vectorised, complex arguments allowed: the FFT engine calls it on the
Fourier transform of the severity), and ``thin(q)``: the law of the number of losses that survive
independent thinning with probability ``q`` (Loss Models, "the effect of a deductible on
frequency").

Parametrisations
----------------
- ``Poisson(mu)``.
- ``NegativeBinomial(n, p)`` as scipy.stats.nbinom: ``P(N=k) = C(k+n-1, k) p^n (1-p)^k``; the
  Loss Models ``(r, beta)`` form is ``NegativeBinomial.from_r_beta(r, beta)`` with ``n = r`` and
  ``p = 1/(1+beta)``.
- ``Binomial(n, p)`` as scipy.stats.binom.
- ``Geometric(p=..., beta=...)``: the negative binomial with ``n = 1``; support ``{0, 1, ...}``
  (unlike scipy.stats.geom, which counts trials from 1), ``p = 1/(1+beta) = P(N=0)``.
- ``Logarithmic(p=..., beta=...)`` as scipy.stats.logser with ``p = beta/(1+beta)``; support
  ``{1, 2, ...}``, (a,b,1) class with ``p0 = 0``.
- ``ZeroTruncated(parent)`` and ``ZeroModified(parent, p0)`` for any (a,b,0) parent (and the
  logarithmic for ZeroModified): ``p_k^M = (1 - p0^M)/(1 - p0) p_k`` for ``k >= 1``.

>>> from safeins.losses import Poisson, NegativeBinomial
>>> N = Poisson(mu=2.0)
>>> round(float(N.pmf(3)), 6), N.a, N.b
(0.180447, 0.0, 2.0)
>>> nb = NegativeBinomial.from_r_beta(2.0, 3.0)
>>> nb.mean(), nb.var(), nb.p
(6.0, 24.0, 0.25)
>>> nb.thin(0.5).beta
1.5
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .._base.lazy import lazy_module
from .._base.rng import as_generator
from ..errors import Problems, ValidationError
from ._checks import Parametric, check_levels, check_params

special = lazy_module("scipy.special")
stats = lazy_module("scipy.stats")

# fit_frequency, registered by freqfit.py (see FrequencyDistribution.fit)
_FITTER = None

__all__ = [
    "Binomial",
    "ExtendedTruncatedNB",
    "FrequencyDistribution",
    "Geometric",
    "Logarithmic",
    "NegativeBinomial",
    "Poisson",
    "ZeroModified",
    "ZeroTruncated",
]


def _stirling2(k: int) -> list[int]:
    """Stirling numbers of the second kind S(k, j), j = 0..k (raw from factorial moments)."""
    row = [1]
    for n in range(1, k + 1):
        new = [0] * (n + 1)
        for j in range(1, n + 1):
            new[j] = j * (row[j] if j < len(row) else 0) + row[j - 1]
        row = new
    return row


def _check_q(q) -> float:
    check_params("thin", [("q", q, "prob")])
    return float(q)


class FrequencyDistribution(Parametric):
    """Base class of the claim-count distributions (not instantiated directly).

    Subclasses provide ``a``, ``b``, ``abclass``, ``log_p0``, ``support``, ``_factorial_moment``,
    ``pgf``, ``mean``, ``var``, ``thin``, ``_rvs`` and the point functions; this class supplies
    the derived methods so every family offers the same protocol.

    >>> import safeins as si
    >>> isinstance(si.Poisson(3.0), si.FrequencyDistribution), si.Poisson(3.0).abclass
    (True, 0)
    """

    abclass: int = 0
    is_discrete = True
    _params: tuple[str, ...] = ()

    # --- probabilities --------------------------------------------------------------------
    @property
    def p0(self) -> float:
        """P(N = 0)."""
        return float(math.exp(self.log_p0)) if self.log_p0 > -math.inf else 0.0

    @property
    def p1(self) -> float:
        """P(N = 1) (the starting value of the (a,b,1) recursion)."""
        return float(self.pmf(1))

    @property
    def one_minus_p0(self) -> float:
        """1 - P(N = 0), computed without cancellation when P(N=0) is close to 1."""
        return float(-math.expm1(self.log_p0)) if self.log_p0 > -math.inf else 1.0

    def pmf(self, k):
        """P(N = k); 0 off the support and at non-integers."""
        return np.exp(self.logpmf(k))

    def logpmf(self, k):
        """log P(N = k); -inf off the support."""
        k = np.asarray(k, dtype=float)
        out = np.full(k.shape, -np.inf)
        lo, hi = self.support
        ok = (k == np.floor(k)) & (k >= lo) & (k <= hi)
        if np.any(ok):
            out[ok] = self._logpmf(k[ok])
        return out[()] if out.ndim == 0 else out

    def cdf(self, k):
        """P(N <= k)."""
        k = np.floor(np.asarray(k, dtype=float))
        out = np.where(k < self.support[0], 0.0, 1.0)
        ok = (k >= self.support[0]) & (k < self.support[1])
        if np.any(ok):
            out = np.asarray(out, dtype=float)
            out[ok] = self._cdf(k[ok])
        return out[()] if out.ndim == 0 else out

    def sf(self, k):
        """P(N > k)."""
        k = np.floor(np.asarray(k, dtype=float))
        out = np.where(k < self.support[0], 1.0, 0.0)
        ok = (k >= self.support[0]) & (k < self.support[1])
        if np.any(ok):
            out = np.asarray(out, dtype=float)
            out[ok] = self._sf(k[ok])
        return out[()] if out.ndim == 0 else out

    def ppf(self, q):
        """Lower quantile ``inf{k : P(N <= k) >= q}``; q outside [0, 1] (or NaN) raises."""
        q = check_levels(f"{type(self).__name__}.ppf", q)
        lo, hi = self.support
        out = np.full(q.shape, np.nan)
        inside = (q > 0) & (q < 1)
        out[q == 0] = lo
        out[q == 1] = hi
        if np.any(inside):
            qq = q[inside]
            k = np.clip(np.asarray(self._ppf_guess(qq), dtype=float), lo, hi)
            k = np.where(np.isfinite(k), k, lo)
            # the guess may be off by one from rounding: walk to the exact lower quantile
            for _ in range(50):
                down = (k > lo) & (self.cdf(k - 1) >= qq)
                up = (k < hi) & (self.cdf(k) < qq)
                if not (down.any() or up.any()):
                    break
                k = k - down + up
            else:
                k = self._ppf_bisect(qq)
            out[inside] = k
        return out[()] if out.ndim == 0 else out

    def _ppf_bisect(self, q):
        """Lower quantile by doubling then bisection on the cdf (when the guess is far off)."""
        lo_s, hi_s = self.support
        lo = np.full(q.shape, float(lo_s) - 1.0)  # cdf(lo) < q
        hi = np.full(q.shape, float(lo_s))
        while True:
            short = (self.cdf(hi) < q) & (hi < hi_s)
            if not short.any():
                break
            lo = np.where(short, hi, lo)
            hi = np.where(short, np.minimum(2 * hi + 1, hi_s), hi)
        while np.any(hi - lo > 1):
            mid = np.floor(0.5 * (lo + hi))
            ok = self.cdf(mid) >= q
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return hi

    # --- moments --------------------------------------------------------------------------
    def std(self) -> float:
        """Standard deviation."""
        return float(math.sqrt(self.var()))

    def moment(self, k: int) -> float:
        """Raw moment E[N^k] for an integer k >= 0 (from the closed-form factorial moments)."""
        check_params(f"{type(self).__name__}.moment", [("k", k, "int_nonneg")])
        k = int(k)
        s = _stirling2(k)
        return float(sum(s[j] * self._factorial_moment(j) for j in range(k + 1)))

    def factorial_moment(self, j: int) -> float:
        """E[N (N-1) ... (N-j+1)] for an integer j >= 0."""
        check_params(f"{type(self).__name__}.factorial_moment", [("j", j, "int_nonneg")])
        return float(self._factorial_moment(int(j)))

    # --- simulation -----------------------------------------------------------------------
    def rvs(self, size=None, seed=None):
        """Random counts (int64); ``seed`` is an int, SeedSequence, Generator or None."""
        rng = as_generator(seed)
        out = np.asarray(self._rvs(rng, size), dtype=np.int64)
        return out if size is not None else int(out)

    def _rvs(self, rng, size):  # inverse transform: exact for every family
        return self.ppf(rng.random(size))

    def _ppf_guess(self, q):
        return self._scipy.ppf(q)

    # --- fitting --------------------------------------------------------------------------
    @classmethod
    def fit(cls, counts, exposure=None, method: str = "mle", **fixed):
        """Fit this family to counts; returns a :class:`~safeins.losses.FrequencyFit`.

        See :func:`~safeins.losses.fit_frequency` for the arguments.
        """
        # The fitting code builds on these classes, so it lives above them (freqfit.py) and
        # registers itself here when it loads; the package loads it with this module.
        if _FITTER is None:  # pragma: no cover - only if freqfit.py was never imported
            raise RuntimeError("safeins.losses.freqfit is not loaded; import safeins.losses")
        return _FITTER(counts, cls, exposure=exposure, method=method, **fixed)


class _ABZero(FrequencyDistribution):
    """An (a,b,0) member backed by a frozen scipy.stats distribution."""

    abclass = 0
    support = (0, math.inf)

    def _logpmf(self, k):
        return self._scipy.logpmf(k)

    def _cdf(self, k):
        return self._scipy.cdf(k)

    def _sf(self, k):
        return self._scipy.sf(k)

    def mean(self) -> float:
        """E[N]."""
        return float(self._factorial_moment(1))

    def var(self) -> float:
        """Var[N]."""
        m = self._factorial_moment(1)
        return float(self._factorial_moment(2) + m - m * m)


class Poisson(_ABZero):
    """Poisson(mu): a = 0, b = mu, p0 = exp(-mu).

    >>> N = Poisson(mu=1e5)          # large means are fine: everything is in log space
    >>> float(N.cdf(1e5)) > 0.5, N.p0
    (True, 0.0)
    >>> Poisson(mu=3).thin(0.25).mu
    0.75
    """

    _params = ("mu",)

    def __init__(self, mu: float):
        check_params("Poisson", [("mu", mu, "nonneg")])
        self.mu = float(mu)

    @cached_property
    def _scipy(self):
        return stats.poisson(self.mu)

    a = property(lambda self: 0.0, doc="Recursion parameter a (0).")
    b = property(lambda self: self.mu, doc="Recursion parameter b (mu).")
    log_p0 = property(lambda self: -self.mu, doc="log P(N=0).")

    def _factorial_moment(self, j):
        return self.mu**j

    def mean(self) -> float:
        """E[N] = mu."""
        return self.mu

    def var(self) -> float:
        """Var[N] = mu."""
        return self.mu

    def pgf(self, z):
        """E[z^N] = exp(mu (z - 1)); complex z allowed."""
        w = np.asarray(z) - 1
        if w.ndim and w.dtype.kind in "fc":  # one buffer: the FFT calls this on 2^19 points
            w *= self.mu
            return np.exp(w, out=w)
        return np.exp(self.mu * w)

    def thin(self, q: float) -> Poisson:
        """Survivors of independent thinning with probability q: Poisson(mu q)."""
        return Poisson(self.mu * _check_q(q))

    def convolution_root(self, m: int) -> Poisson:
        """The law whose m-fold convolution is this one: Poisson(mu / m)."""
        return Poisson(self.mu / int(m))

    def _rvs(self, rng, size):
        return rng.poisson(self.mu, size)


class NegativeBinomial(_ABZero):
    """Negative binomial in scipy's (n, p); Loss Models' (r, beta) via :meth:`from_r_beta`.

    a = beta/(1+beta) = 1-p, b = (r-1) beta/(1+beta), p0 = p^n.

    >>> nb = NegativeBinomial(n=2.5, p=0.4)
    >>> round(nb.mean(), 6), round(nb.beta, 6), round(nb.a, 6), round(nb.b, 6)
    (3.75, 1.5, 0.6, 0.9)
    """

    _params = ("n", "p")

    def __init__(self, n: float, p: float):
        check_params(type(self).__name__, [("n", n, "positive"), ("p", p, "prob_open0")])
        self.n = float(n)
        self.p = float(p)
        self._beta = (1.0 - self.p) / self.p

    @classmethod
    def from_r_beta(cls, r: float, beta: float) -> NegativeBinomial:
        """Loss Models' parametrisation: mean r beta, variance r beta (1 + beta); p = 1/(1+beta)."""
        check_params(cls.__name__, [("r", r, "positive"), ("beta", beta, "nonneg")])
        out = NegativeBinomial(r, 1.0 / (1.0 + float(beta)))
        out._beta = float(beta)  # keep beta exact: (1-p)/p would round it
        return out

    @property
    def r(self) -> float:
        """Loss Models' r (= n)."""
        return self.n

    @property
    def beta(self) -> float:
        """Loss Models' beta = (1 - p)/p."""
        return self._beta

    @cached_property
    def _scipy(self):
        return stats.nbinom(self.n, self.p)

    a = property(lambda self: 1.0 - self.p, doc="Recursion parameter a = 1 - p.")
    b = property(lambda self: (self.n - 1.0) * (1.0 - self.p), doc="b = (n - 1)(1 - p).")
    log_p0 = property(lambda self: self.n * math.log(self.p), doc="log P(N=0) = n log p.")

    def _factorial_moment(self, j):
        # r (r+1) ... (r+j-1) beta^j
        return float(special.poch(self.n, j)) * self.beta**j

    def mean(self) -> float:
        """E[N] = n (1-p)/p."""
        return self.n * self.beta

    def var(self) -> float:
        """Var[N] = n (1-p)/p^2."""
        return self.n * self.beta * (1.0 + self.beta)

    def pgf(self, z):
        """E[z^N] = (p / (1 - (1-p) z))^n; complex z allowed (principal branch, |z| <= 1)."""
        w = (1.0 - self.p) * np.asarray(z)
        if w.ndim and w.dtype.kind in "fc":  # the same operations in one buffer (FFT: 2^19 points)
            np.subtract(1.0, w, out=w)
            np.log(w, out=w)
            np.subtract(math.log(self.p), w, out=w)
            w *= self.n
            return np.exp(w, out=w)
        return np.exp(self.n * (math.log(self.p) - np.log(1.0 - w)))

    def thin(self, q: float) -> NegativeBinomial:
        """Survivors of thinning with probability q: beta -> beta q (same n)."""
        return NegativeBinomial.from_r_beta(self.n, self.beta * _check_q(q))

    def convolution_root(self, m: int) -> NegativeBinomial:
        """The law whose m-fold convolution is this one: NegativeBinomial(n / m, p)."""
        return NegativeBinomial(self.n / int(m), self.p)

    def _rvs(self, rng, size):
        return rng.negative_binomial(self.n, self.p, size)


class Geometric(NegativeBinomial):
    """Geometric on {0, 1, ...}: the negative binomial with n = 1; give ``p`` or ``beta``.

    P(N = k) = p (1-p)^k with p = 1/(1+beta) = P(N=0). (scipy.stats.geom counts trials from 1;
    this one counts failures from 0, as Loss Models.)

    >>> g = Geometric(beta=4.0)
    >>> g.p, g.mean(), g.var()
    (0.2, 4.0, 20.0)
    """

    _params = ("p",)

    def __init__(self, p: float | None = None, *, beta: float | None = None):
        p = _p_or_beta("Geometric", p, beta, lambda b: 1.0 / (1.0 + b), "prob_open0")
        super().__init__(1.0, p)
        if beta is not None:
            self._beta = float(beta)

    def thin(self, q: float) -> Geometric:
        """Survivors of thinning with probability q: beta -> beta q."""
        return Geometric(beta=self.beta * _check_q(q))

    def __repr__(self) -> str:
        return f"Geometric(p={self.p!r})"


def _p_or_beta(what, p, beta, to_p, p_rule):
    if (p is None) == (beta is None):
        raise ValidationError(
            what,
            [_problem("p, beta", (p, beta), "give exactly one of p and beta")],
        )
    if p is not None:
        check_params(what, [("p", p, p_rule)])
        return float(p)
    check_params(what, [("beta", beta, "positive" if p_rule == "prob_open" else "nonneg")])
    return float(to_p(float(beta)))


def _problem(column, value, rule):
    from ..errors import Problem

    return Problem(None, column, value, rule)


class Binomial(_ABZero):
    """Binomial(n, p) as scipy.stats.binom: a = -p/(1-p), b = (n+1) p/(1-p), p0 = (1-p)^n.

    >>> B = Binomial(n=10, p=0.2)
    >>> B.mean(), round(B.var(), 12), B.support
    (2.0, 1.6, (0, 10))
    """

    _params = ("n", "p")

    def __init__(self, n: int, p: float):
        check_params("Binomial", [("n", n, "int_nonneg"), ("p", p, "prob")])
        self.n = int(n)
        self.p = float(p)

    @property
    def support(self):
        """(0, n)."""
        return (0, self.n)

    @cached_property
    def _scipy(self):
        return stats.binom(self.n, self.p)

    @property
    def a(self) -> float:
        """-p/(1-p) (-inf when p = 1: the law is then degenerate at n)."""
        return -self.p / (1.0 - self.p) if self.p < 1 else -math.inf

    @property
    def b(self) -> float:
        """(n+1) p/(1-p) (inf when p = 1)."""
        return (self.n + 1) * self.p / (1.0 - self.p) if self.p < 1 else math.inf

    @property
    def log_p0(self) -> float:
        """log P(N=0) = n log(1-p)."""
        if self.p == 1:
            return 0.0 if self.n == 0 else -math.inf
        return self.n * math.log1p(-self.p)

    def _factorial_moment(self, j):
        if j > self.n:
            return 0.0
        return math.perm(self.n, j) * self.p**j

    def mean(self) -> float:
        """E[N] = n p."""
        return self.n * self.p

    def var(self) -> float:
        """Var[N] = n p (1-p)."""
        return self.n * self.p * (1.0 - self.p)

    def pgf(self, z):
        """E[z^N] = (1 - p + p z)^n; complex z allowed."""
        return (1.0 - self.p + self.p * np.asarray(z)) ** self.n

    def thin(self, q: float) -> Binomial:
        """Survivors of thinning with probability q: p -> p q."""
        return Binomial(self.n, self.p * _check_q(q))

    def _rvs(self, rng, size):
        return rng.binomial(self.n, self.p, size)


class Logarithmic(FrequencyDistribution):
    """Logarithmic on {1, 2, ...} as scipy.stats.logser(p); p = beta/(1+beta). (a,b,1), p0 = 0.

    P(N = k) = beta^k / (k (1+beta)^k ln(1+beta)); a = beta/(1+beta), b = -a.

    >>> L = Logarithmic(beta=1.0)
    >>> L.p, L.p0, round(L.mean(), 6)
    (0.5, 0.0, 1.442695)
    >>> T = L.thin(0.5)                 # zero-modified logarithmic, Loss Models' rule
    >>> round(T.p0, 6), round(T.parent.beta, 12)
    (0.415037, 0.5)
    """

    abclass = 1
    support = (1, math.inf)
    _params = ("p",)

    def __init__(self, p: float | None = None, *, beta: float | None = None):
        self.p = _p_or_beta("Logarithmic", p, beta, lambda b: b / (1.0 + b), "prob_open")

    @property
    def beta(self) -> float:
        """Loss Models' beta = p/(1-p)."""
        return self.p / (1.0 - self.p)

    @cached_property
    def _scipy(self):
        return stats.logser(self.p)

    a = property(lambda self: self.p, doc="Recursion parameter a = beta/(1+beta) = p.")
    b = property(lambda self: -self.p, doc="Recursion parameter b = -a.")
    log_p0 = property(lambda self: -math.inf, doc="log P(N=0) = -inf.")

    @property
    def _log_norm(self) -> float:  # -ln(1-p) = ln(1+beta), accurate for small p
        return -math.log1p(-self.p)

    def _logpmf(self, k):
        return k * math.log(self.p) - np.log(k) - math.log(self._log_norm)

    def _cdf(self, k):
        return self._scipy.cdf(k)

    def _sf(self, k):
        return self._scipy.sf(k)

    def _factorial_moment(self, j):
        if j == 0:
            return 1.0
        return math.factorial(j - 1) * self.beta**j / self._log_norm

    def mean(self) -> float:
        """E[N] = beta / ln(1+beta)."""
        return self.beta / self._log_norm

    def var(self) -> float:
        """Var[N] = beta (1 + beta - beta/ln(1+beta)) / ln(1+beta)."""
        L = self._log_norm
        return self.beta * (1.0 + self.beta - self.beta / L) / L

    def pgf(self, z):
        """E[z^N] = ln(1 - p z) / ln(1 - p); complex z allowed (|z| <= 1)."""
        z = np.asarray(z)
        return np.log1p(-self.p * z) / math.log1p(-self.p)

    def thin(self, q: float):
        """Survivors of thinning: zero-modified logarithmic with beta q and
        p0 = 1 - ln(1 + q beta)/ln(1 + beta) (Loss Models)."""
        q = _check_q(q)
        if q == 0:
            return Poisson(0.0)
        if q == 1:
            return ZeroModified(self, 0.0)
        p0 = 1.0 - math.log1p(q * self.beta) / self._log_norm
        return ZeroModified(Logarithmic(beta=self.beta * q), p0)

    def _rvs(self, rng, size):
        return rng.logseries(self.p, size)

    @cached_property
    def _cum_table(self):
        # the tail decays like p^k / k: tabulate until it is below 1e-17 (capped in length)
        kmax = int(min(max(40.0 / -math.log(self.p), 50.0), 2e6))
        k = np.arange(1, kmax + 1)
        return np.cumsum(np.exp(self._logpmf(k.astype(float))))

    def _ppf_guess(self, q):
        cum = self._cum_table
        return np.searchsorted(cum, q, side="left") + 1.0


class ExtendedTruncatedNB(FrequencyDistribution):
    """Extended truncated negative binomial (ETNB) of Loss Models: r > -1, r != 0, beta > 0.

    ``p_k = r / ((1+beta)^r - 1) * Γ(r+k) / (Γ(r+1) k!) * (beta/(1+beta))^k`` for k >= 1: the
    zero-truncated negative binomial for r > 0, extended to -1 < r < 0 (heavier than the
    logarithmic, which is the limit r -> 0). (a,b,1) class with a = beta/(1+beta),
    b = (r-1) beta/(1+beta), p0 = 0.

    >>> E = ExtendedTruncatedNB(r=-0.5, beta=1.0)
    >>> round(float(E.pmf(1)), 6), round(E.mean(), 6), E.p0
    (0.853553, 1.207107, 0.0)
    """

    abclass = 1
    support = (1, math.inf)
    _params = ("r", "beta")

    def __init__(self, r: float, beta: float):
        probs = Problems("ExtendedTruncatedNB")
        check_params("ExtendedTruncatedNB", [("r", r, "real"), ("beta", beta, "positive")], probs)
        if not probs and not (float(r) > -1 and float(r) != 0):
            probs.add(column="r", value=r, rule="must be > -1 and != 0 (r = 0 is the logarithmic)")
        probs.raise_if_any()
        self.r = float(r)
        self.beta = float(beta)

    a = property(lambda self: self.beta / (1.0 + self.beta), doc="beta/(1+beta).")
    b = property(lambda self: (self.r - 1.0) * self.beta / (1.0 + self.beta), doc="(r-1) a.")
    log_p0 = property(lambda self: -math.inf, doc="log P(N=0) = -inf.")

    @property
    def _norm(self) -> float:  # 1 - (1+beta)^-r, signed like r; expm1 keeps small r accurate
        return -math.expm1(-self.r * math.log1p(self.beta))

    def _logpmf(self, k):
        r, lb = self.r, math.log(self.beta) - math.log1p(self.beta)
        # Γ(r+k)/Γ(r) = r Γ(r+k)/Γ(r+1); for -1 < r < 0 both r and the norm are negative
        return (
            special.gammaln(r + k)
            - special.gammaln(r + 1.0)
            - special.gammaln(k + 1.0)
            + k * lb
            + math.log(r / self._norm)
            - r * math.log1p(self.beta)
        )

    @cached_property
    def _cum_table(self):
        # tail ~ k^(r-1) (beta/(1+beta))^k: tabulate until it is negligible (capped in length)
        kmax = int(min(max(45.0 * (1.0 + self.beta), 60.0), 2e6))
        p = np.exp(self._logpmf(np.arange(1, kmax + 1, dtype=float)))
        return np.cumsum(p)

    def _cdf(self, k):
        cum = self._cum_table
        idx = np.minimum(k.astype(np.int64), cum.size) - 1
        return np.minimum(cum[idx], 1.0)

    def _sf(self, k):
        cum = self._cum_table
        idx = np.minimum(k.astype(np.int64), cum.size) - 1
        return np.maximum(1.0 - cum[idx], 0.0)

    def _ppf_guess(self, q):
        return np.searchsorted(self._cum_table, q, side="left") + 1.0

    def _factorial_moment(self, j):
        if j == 0:
            return 1.0
        # the parent's r (r+1) ... (r+j-1) beta^j over 1 - p0, continued to r < 0
        return float(special.poch(self.r, j)) * self.beta**j / self._norm

    def mean(self) -> float:
        """E[N] = r beta / (1 - (1+beta)^-r)."""
        return self.r * self.beta / self._norm

    def var(self) -> float:
        """Var[N] from the factorial moments."""
        m = self.mean()
        return self._factorial_moment(2) + m - m * m

    def pgf(self, z):
        """((1 - beta (z-1))^-r - (1+beta)^-r) / (1 - (1+beta)^-r); complex z allowed."""
        z = np.asarray(z)
        top = np.exp(-self.r * np.log(1.0 - self.beta * (z - 1.0)))
        return (top - math.exp(-self.r * math.log1p(self.beta))) / self._norm

    def thin(self, q: float):
        """Zero-modified ETNB with beta q and p0 = P_N(1 - q) (Loss Models)."""
        q = _check_q(q)
        if q == 0:
            return Poisson(0.0)
        if q == 1:
            return ZeroModified(self, 0.0)
        return ZeroModified(
            ExtendedTruncatedNB(self.r, self.beta * q), float(np.real(self.pgf(1 - q)))
        )

    def _rvs(self, rng, size):
        return self.ppf(rng.random(size))


_PARENTS = (Poisson, NegativeBinomial, Binomial, Logarithmic, ExtendedTruncatedNB)


class ZeroModified(FrequencyDistribution):
    """Zero-modified form of an (a,b,0) member or of the logarithmic: P(N=0) set to ``p0``.

    ``p_k^M = (1 - p0^M) / (1 - p0) p_k`` for k >= 1, where p0 is the parent's P(N=0). Same a and b
    as the parent; (a,b,1) class.

    >>> zm = ZeroModified(Poisson(2.0), p0=0.3)
    >>> zm.p0, round(float(zm.pmf([0, 1, 2]).sum() + zm.sf(2)), 12), zm.abclass
    (0.3, 1.0, 1)
    """

    abclass = 1
    _params = ("parent", "p0")

    def __init__(self, parent: FrequencyDistribution, p0: float):
        probs = Problems(type(self).__name__)
        if not isinstance(parent, _PARENTS) or isinstance(parent, ZeroModified):
            probs.add(
                column="parent",
                value=parent,
                rule="must be a Poisson, NegativeBinomial, Binomial, Geometric, Logarithmic "
                "or ExtendedTruncatedNB",
            )
        check_params(type(self).__name__, [("p0", p0, "prob")], probs)
        if not probs and parent.one_minus_p0 == 0:
            probs.add(column="parent", value=parent, rule="must have P(N=0) < 1")
        probs.raise_if_any()
        self.parent = parent
        self._p0m = float(p0)
        # the scale of the positive part, (1 - p0^M)/(1 - p0), kept accurate for p0 near 1
        self._scale = (1.0 - self._p0m) / parent.one_minus_p0

    @property
    def params(self) -> dict:
        """The parent and p0."""
        return {"parent": self.parent, "p0": self._p0m}

    @property
    def support(self):
        """(0 or 1, parent's upper bound)."""
        return (0 if self._p0m > 0 else 1, self.parent.support[1])

    a = property(lambda self: self.parent.a, doc="The parent's a.")
    b = property(lambda self: self.parent.b, doc="The parent's b.")

    @property
    def p0(self) -> float:
        """P(N = 0) = p0^M."""
        return self._p0m

    @property
    def log_p0(self) -> float:
        """log p0^M."""
        return math.log(self._p0m) if self._p0m > 0 else -math.inf

    @property
    def one_minus_p0(self) -> float:
        """1 - p0^M."""
        return 1.0 - self._p0m

    def _logpmf(self, k):
        with np.errstate(divide="ignore"):
            pos = math.log(self._scale) + self.parent.logpmf(k) if self._scale > 0 else -np.inf
            return np.where(k == 0, self.log_p0, pos)

    def _cdf(self, k):
        # 1 - c S(k) for k >= 0; near the bottom use p0^M + c (F(k) - p0) to avoid cancellation
        c = self._scale
        s = self.parent.sf(k)
        low = self._p0m + c * (self.parent.cdf(k) - self.parent.p0)
        return np.where(k < 0, 0.0, np.where(s > 0.5, low, 1.0 - c * s))

    def _sf(self, k):
        return np.where(k < 0, 1.0, self._scale * self.parent.sf(k))

    def _ppf_guess(self, q):
        # S_M(k) = c S(k) for k >= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.minimum((1.0 - q) / self._scale, 1.0) if self._scale > 0 else q * 0
            guess = self.parent.ppf(1.0 - target)
        return np.where(q <= self._p0m, 0.0, np.maximum(guess, 1.0))

    def _factorial_moment(self, j):
        if j == 0:
            return 1.0
        return self._scale * self.parent._factorial_moment(j)

    def mean(self) -> float:
        """E[N] = c E[parent] with c = (1 - p0^M)/(1 - p0)."""
        return self._scale * self.parent.mean()

    def var(self) -> float:
        """Var[N] = c E[parent^2] - (c E[parent])^2."""
        m = self.mean()
        return self._scale * (self.parent.var() + self.parent.mean() ** 2) - m * m

    def pgf(self, z):
        """p0^M + c (P_parent(z) - p0); complex z allowed."""
        return self._p0m + self._scale * (self.parent.pgf(z) - self.parent.p0)

    def thin(self, q: float) -> FrequencyDistribution:
        """Survivors of thinning: zero-modified with the thinned parent and
        p0^M* = P_N(1 - q), which is Loss Models' (p0^M - p0 + p0* - p0^M p0*)/(1 - p0)."""
        q = _check_q(q)
        if q == 0:
            return Poisson(0.0)
        parent = self.parent
        thinned = parent.thin(q)
        if isinstance(thinned, ZeroModified):  # logarithmic / ETNB parent: thin() gives a ZM
            thinned = thinned.parent
        p0_new = float(np.real(self.pgf(1.0 - q)))
        return ZeroModified(thinned, min(max(p0_new, 0.0), 1.0))

    def _rvs(self, rng, size):
        n = 1 if size is None else int(np.prod(size))
        out = np.zeros(n, dtype=np.int64)
        pos = np.flatnonzero(rng.random(n) >= self._p0m)
        parent = self.parent
        if parent.p0 <= 0.9:
            # zero-truncated parent by rejection: on average 1/(1 - p0) <= 10 rounds
            todo = pos
            while todo.size:
                draw = np.asarray(parent._rvs(rng, todo.size), dtype=np.int64)
                keep = draw > 0
                out[todo[keep]] = draw[keep]
                todo = todo[~keep]
        else:
            # the positive part sits on small counts: inverse transform walks few steps
            # p0 + (1 - p0) may round above 1: keep the level a probability (ppf checks it)
            q = np.minimum(parent.p0 + rng.random(pos.size) * parent.one_minus_p0, 1.0)
            out[pos] = np.maximum(parent.ppf(q), 1)
        return out.reshape(size) if size is not None else out[0]


class ZeroTruncated(ZeroModified):
    """Zero-truncated form of an (a,b,0) member: ``p_k^T = p_k / (1 - p0)`` for k >= 1.

    >>> zt = ZeroTruncated(Poisson(1.0))
    >>> zt.p0, round(zt.mean(), 6), zt.support
    (0.0, 1.581977, (1, inf))
    """

    _params = ("parent",)

    def __init__(self, parent: FrequencyDistribution):
        super().__init__(parent, 0.0)

    @property
    def params(self) -> dict:
        """The parent."""
        return {"parent": self.parent}
