"""Claim-size (severity) distributions with closed-form limited moments.

Parametric families (parametrised as in Klugman, Panjer & Willmot, *Loss Models*, appendix A; the
matching frozen scipy.stats object is ``.scipy``):

=====================================  ===========================================================
``Exponential(theta)``                 scipy ``expon(scale=theta)``
``Gamma(alpha, theta)``                scipy ``gamma(alpha, scale=theta)``
``LogNormal(mu, sigma)``               scipy ``lognorm(sigma, scale=exp(mu))``
``Weibull(tau, theta)``                scipy ``weibull_min(tau, scale=theta)``
``Pareto(alpha, theta)`` (Lomax)       scipy ``lomax(alpha, scale=theta)``; S(x) = (θ/(x+θ))^α
``GeneralizedPareto(xi, sigma, mu)``   scipy ``genpareto(xi, loc=mu, scale=sigma)``
``Burr(alpha, theta, gamma)``          scipy ``burr12(gamma, alpha, scale=theta)``
``LogLogistic(gamma, theta)``          scipy ``fisk(gamma, scale=theta)``
``InverseGaussian(mu, theta)``         scipy ``invgauss(mu/theta, scale=theta)``; mean μ, var μ³/θ
=====================================  ===========================================================

plus ``Empirical``, ``Spliced`` and ``Mixture`` and :func:`as_severity`, which wraps any frozen
scipy.stats continuous distribution in the same protocol.

``limited_moment(u, k) = E[min(X, u)^k]`` is exact (incomplete gamma / beta / normal functions,
no quadrature) for every parametric family; for the inverse Gaussian and a shifted generalised
Pareto the closed form covers integer k (other k fall back to quadrature).

>>> from safeins.losses import LogNormal, Pareto
>>> X = LogNormal(mu=10, sigma=1.5)
>>> round(X.mean(), 2), round(float(X.lev(1e5)), 2)
(67846.29, 36797.32)
>>> Pareto(alpha=3, theta=2000).lev(1000).round(6)
np.float64(555.555556)
>>> Pareto(alpha=1.5, theta=10).moment(2)
inf
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .._base.lazy import lazy_module
from ._checks import check_params
from ._severity_base import Severity

special = lazy_module("scipy.special")
stats = lazy_module("scipy.stats")

__all__ = [
    "Burr",
    "Exponential",
    "Gamma",
    "GeneralizedPareto",
    "InverseGaussian",
    "LogLogistic",
    "LogNormal",
    "Pareto",
    "Severity",
    "Weibull",
]


# --- closed-form building blocks ----------------------------------------------------------------
_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)


def _inc_beta_b0(a: float, x, xc):
    """∫_0^x t^(a-1)/(1-t) dt (the b = 0 case)."""
    # x <= 0.9: the hypergeometric series is accurate; nearer 1 write it as
    # -ln(1-x) - (ψ(a) + γ) + ∫_x^1 (1 - t^(a-1))/(1-t) dt, the last a smooth short integral
    near = x > 0.9
    out = np.empty_like(x)
    xs = x[~near]
    out[~near] = xs**a / a * special.hyp2f1(a, 1.0, a + 1.0, xs)
    if np.any(near):
        xn, xcn = x[near], xc[near]
        t = 1.0 - xcn[:, None] * 0.5 * (1.0 + _GL_X[None, :])  # nodes on [x, 1]
        g = -np.expm1((a - 1.0) * np.log(t)) / (1.0 - t)
        rest = 0.5 * xcn * (g @ _GL_W)
        out[near] = -np.log(xcn) - special.digamma(a) - np.euler_gamma + rest
        del xn
    return out


def _inc_beta(a: float, b: float, x, xc):
    """Unregularised incomplete beta ∫_0^x t^(a-1) (1-t)^(b-1) dt for a > 0, any real b, x < 1.

    ``xc`` is 1 - x computed directly (keeps accuracy when x is close to 1). For b <= 0 the
    complete integral diverges; the recurrence b B_x(a,b) = (a+b) B_x(a,b+1) - x^a (1-x)^b steps
    up to b > 0 (or to b = 0), which stays accurate near x = 1 where 2F1 forms lose digits.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    xc = np.atleast_1d(np.asarray(xc, dtype=float))
    if b > 0:
        # I_x(a, b) = 1 - I_(1-x)(b, a): use the form that keeps the small side accurate
        reg = np.where(x <= 0.5, special.betainc(a, b, x), special.betaincc(b, a, xc))
        return np.exp(special.betaln(a, b)) * reg
    steps = math.ceil(-b) if not float(b).is_integer() else int(-b)
    top = b + steps
    val = _inc_beta(a, top, x, xc) if top > 0 else _inc_beta_b0(a, x, xc)
    xa = x**a
    for j in range(1, steps + 1):
        bb = top - j
        val = ((a + bb) * val - xa * xc**bb) / bb
    return val


def _lm_burr(u, k, alpha, theta, gamma):
    """E[min(X,u)^k] for Burr(α, θ, γ): α θ^k B(y; 1+k/γ, α-k/γ) + u^k (1 + (u/θ)^γ)^(-α)."""
    r = (u / theta) ** gamma
    y = r / (1.0 + r)
    yc = 1.0 / (1.0 + r)
    below = alpha * theta**k * _inc_beta(1.0 + k / gamma, alpha - k / gamma, y, yc)
    return below + u**k * yc**alpha


def _moment_burr(k, alpha, theta, gamma):
    if k >= alpha * gamma:
        return math.inf
    return math.exp(
        k * math.log(theta)
        + special.gammaln(1 + k / gamma)
        + special.gammaln(alpha - k / gamma)
        - special.gammaln(alpha)
    )


def _lm_gamma(u, k, alpha, theta):
    """E[min(X,u)^k] for Gamma(α, θ): θ^k Γ(α+k)/Γ(α) P(α+k, u/θ) + u^k Q(α, u/θ)."""
    x = u / theta
    c = math.exp(k * math.log(theta) + special.gammaln(alpha + k) - special.gammaln(alpha))
    return c * special.gammainc(alpha + k, x) + u**k * special.gammaincc(alpha, x)


# --- families -----------------------------------------------------------------------------------
class Exponential(Severity):
    """Exponential(theta): S(x) = exp(-x/θ), mean θ.

    >>> X = Exponential(theta=100.0)
    >>> X.mean(), X.var(), round(float(X.limited_moment(100.0, 2)), 4)
    (100.0, 10000.0, 5284.8224)
    """

    _params = ("theta",)

    def __init__(self, theta: float):
        check_params("Exponential", [("theta", theta, "positive")])
        self.theta = float(theta)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.expon(scale=self.theta)

    def _moment(self, k):
        return self.theta**k * math.gamma(k + 1)

    def _limited_moment(self, u, k):
        return _lm_gamma(u, k, 1.0, self.theta)

    def mean_excess(self, d):
        """e(d) = θ (memoryless)."""
        d = np.asarray(d, dtype=float)
        out = np.full(d.shape, self.theta)
        return out[()] if out.ndim == 0 else out


class Gamma(Severity):
    """Gamma(alpha, theta): shape α, scale θ; mean αθ.

    >>> round(float(Gamma(2.0, 1.0).lev(2.0)), 6)
    1.458659
    """

    _params = ("alpha", "theta")

    def __init__(self, alpha: float, theta: float):
        check_params("Gamma", [("alpha", alpha, "positive"), ("theta", theta, "positive")])
        self.alpha = float(alpha)
        self.theta = float(theta)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.gamma(self.alpha, scale=self.theta)

    def _moment(self, k):
        return math.exp(
            k * math.log(self.theta) + special.gammaln(self.alpha + k) - special.gammaln(self.alpha)
        )

    def _limited_moment(self, u, k):
        return _lm_gamma(u, k, self.alpha, self.theta)


class LogNormal(Severity):
    """LogNormal(mu, sigma): ln X ~ Normal(μ, σ²).

    >>> round(LogNormal(0.0, 1.0).mean(), 6)
    1.648721
    """

    _params = ("mu", "sigma")

    def __init__(self, mu: float, sigma: float):
        check_params("LogNormal", [("mu", mu, "real"), ("sigma", sigma, "positive")])
        self.mu = float(mu)
        self.sigma = float(sigma)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.lognorm(self.sigma, scale=math.exp(self.mu))

    def _moment(self, k):
        return math.exp(k * self.mu + 0.5 * (k * self.sigma) ** 2)

    def _limited_moment(self, u, k):
        uk = u if k == 1 else u**k  # the same numbers: pow(u, 1) = u, without a pass of pow
        if np.ndim(u) == 0:
            z = (np.log(u) - self.mu) / self.sigma
            return self._moment(k) * special.ndtr(z - k * self.sigma) + uk * special.ndtr(-z)
        # the same operations in two buffers (a lattice of 2^20 points: 8 MB each)
        z = np.log(u)
        z -= self.mu
        z /= self.sigma
        below = z - k * self.sigma
        special.ndtr(below, out=below)
        below *= self._moment(k)
        np.negative(z, out=z)
        special.ndtr(z, out=z)
        z *= uk
        below += z
        return below


class Weibull(Severity):
    """Weibull(tau, theta): S(x) = exp(-(x/θ)^τ).

    >>> round(Weibull(2.0, 10.0).mean(), 6)
    8.862269
    """

    _params = ("tau", "theta")

    def __init__(self, tau: float, theta: float):
        check_params("Weibull", [("tau", tau, "positive"), ("theta", theta, "positive")])
        self.tau = float(tau)
        self.theta = float(theta)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.weibull_min(self.tau, scale=self.theta)

    def _moment(self, k):
        return math.exp(k * math.log(self.theta) + special.gammaln(1 + k / self.tau))

    def _limited_moment(self, u, k):
        x = (u / self.theta) ** self.tau
        a = 1.0 + k / self.tau
        return self._moment(k) * special.gammainc(a, x) + u**k * np.exp(-x)


class Pareto(Severity):
    """Pareto (Lomax, "Pareto II") in Loss Models' form: S(x) = (θ/(x+θ))^α, x > 0.

    >>> P = Pareto(alpha=3.0, theta=2000.0)
    >>> round(P.mean(), 9), round(float(P.mean_excess(1000.0)), 6)
    (1000.0, 1500.0)
    """

    _params = ("alpha", "theta")

    def __init__(self, alpha: float, theta: float):
        check_params("Pareto", [("alpha", alpha, "positive"), ("theta", theta, "positive")])
        self.alpha = float(alpha)
        self.theta = float(theta)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.lomax(self.alpha, scale=self.theta)

    def _moment(self, k):
        return _moment_burr(k, self.alpha, self.theta, 1.0)

    def _limited_moment(self, u, k):
        a, t = self.alpha, self.theta
        if k == 1:  # Loss Models' form, exact also for α <= 1
            if a == 1:
                return t * np.log1p(u / t)
            return t / (a - 1) * -np.expm1((a - 1) * -np.log1p(u / t))
        return _lm_burr(u, k, a, t, 1.0)

    def mean_excess(self, d):
        """e(d) = (d + θ)/(α - 1) for α > 1, else inf."""
        d = np.asarray(d, dtype=float)
        if self.alpha > 1:
            out = (np.maximum(d, 0) + self.theta) / (self.alpha - 1)
        else:
            out = np.full(d.shape, np.inf)
        out = np.where(d < 0, self.mean() - d, out)
        return out[()] if out.ndim == 0 else out


class Burr(Severity):
    """Burr (Burr XII) in Loss Models' form: S(x) = (1 + (x/θ)^γ)^(-α).

    >>> round(Burr(alpha=2.0, theta=1.0, gamma=1.0).mean(), 12)     # = Pareto(2, 1)
    1.0
    """

    _params = ("alpha", "theta", "gamma")

    def __init__(self, alpha: float, theta: float, gamma: float):
        check_params(
            "Burr",
            [
                ("alpha", alpha, "positive"),
                ("theta", theta, "positive"),
                ("gamma", gamma, "positive"),
            ],
        )
        self.alpha = float(alpha)
        self.theta = float(theta)
        self.gamma = float(gamma)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.burr12(self.gamma, self.alpha, scale=self.theta)

    def _moment(self, k):
        return _moment_burr(k, self.alpha, self.theta, self.gamma)

    def _limited_moment(self, u, k):
        return _lm_burr(u, k, self.alpha, self.theta, self.gamma)


class LogLogistic(Severity):
    """Log-logistic (Fisk): F(x) = (x/θ)^γ / (1 + (x/θ)^γ); the Burr with α = 1.

    >>> round(LogLogistic(gamma=4.0, theta=1.0).mean(), 6)
    1.110721
    """

    _params = ("gamma", "theta")

    def __init__(self, gamma: float, theta: float):
        check_params("LogLogistic", [("gamma", gamma, "positive"), ("theta", theta, "positive")])
        self.gamma = float(gamma)
        self.theta = float(theta)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.fisk(self.gamma, scale=self.theta)

    def _moment(self, k):
        return _moment_burr(k, 1.0, self.theta, self.gamma)

    def _limited_moment(self, u, k):
        return _lm_burr(u, k, 1.0, self.theta, self.gamma)


class GeneralizedPareto(Severity):
    """Generalised Pareto: S(x) = (1 + ξ (x-μ)/σ)^(-1/ξ) for x >= μ (exponential when ξ = 0).

    ξ > 0 is a shifted Pareto(1/ξ, σ/ξ); ξ < 0 has a finite upper end μ - σ/ξ. The location μ
    (default 0) must be >= 0 so that losses are non-negative; a GPD tail above a threshold u is
    ``GeneralizedPareto(xi, sigma, mu=u)``.

    >>> G = GeneralizedPareto(xi=0.25, sigma=1000.0)
    >>> round(G.mean(), 6), round(float(G.mean_excess(1000.0)), 6)
    (1333.333333, 1666.666667)
    """

    _params = ("xi", "sigma", "mu")

    def __init__(self, xi: float, sigma: float, mu: float = 0.0):
        check_params(
            "GeneralizedPareto",
            [("xi", xi, "real"), ("sigma", sigma, "positive"), ("mu", mu, "nonneg")],
        )
        self.xi = float(xi)
        self.sigma = float(sigma)
        self.mu = float(mu)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.genpareto(self.xi, loc=self.mu, scale=self.sigma)

    def _excess_lm(self, v, j):
        """E[min(Y, v)^j] for the unshifted Y = X - μ (v > 0)."""
        xi, s = self.xi, self.sigma
        if j == 0:
            return np.ones_like(v)
        if xi > 0:
            if j == 1:
                return Pareto(1.0 / xi, s / xi)._limited_moment(v, 1.0)
            return _lm_burr(v, j, 1.0 / xi, s / xi, 1.0)
        if xi == 0:
            return _lm_gamma(v, j, 1.0, s)
        # ξ < 0: Y = (σ/|ξ|) B with B ~ Beta(1, 1/|ξ|)
        top = s / -xi
        w = np.minimum(v / top, 1.0)
        b = -1.0 / xi
        below = b * top**j * _inc_beta(j + 1.0, b, w, 1.0 - w)
        return below + v**j * (1.0 - w) ** b

    def _excess_moment(self, j):
        xi, s = self.xi, self.sigma
        if j == 0:
            return 1.0
        if xi > 0:
            return _moment_burr(j, 1.0 / xi, s / xi, 1.0)
        if xi == 0:
            return s**j * math.gamma(j + 1)
        b = -1.0 / xi
        return (s / -xi) ** j * math.exp(special.betaln(j + 1.0, b) - special.betaln(1.0, b))

    def _moment(self, k):
        if self.mu == 0:
            return self._excess_moment(k)
        if not float(k).is_integer():
            return float(self.scipy.expect(lambda x: x**k))
        k = int(k)
        return sum(
            math.comb(k, j) * self.mu ** (k - j) * self._excess_moment(j) for j in range(k + 1)
        )

    def _limited_moment(self, u, k):
        if self.mu == 0:
            return self._excess_lm(u, k)
        if not float(k).is_integer():
            return super()._limited_moment(u, k)
        k = int(k)
        v = np.maximum(u - self.mu, 0.0)
        out = np.zeros_like(u)
        safe_v = np.where(v > 0, v, 1.0)
        for j in range(k + 1):
            term = self._excess_lm(safe_v, j)
            out = out + math.comb(k, j) * self.mu ** (k - j) * np.where(v > 0, term, 0.0)
        return np.where(u <= self.mu, u**k, out)

    def mean_excess(self, d):
        """e(d) = (σ + ξ (d - μ))/(1 - ξ) for d >= μ and ξ < 1 (linear: the GPD signature)."""
        d = np.asarray(d, dtype=float)
        if self.xi >= 1:
            out = np.full(d.shape, math.inf)
        else:
            out = np.where(
                d >= self.mu,
                (self.sigma + self.xi * (d - self.mu)) / (1.0 - self.xi),
                self.mean() - d,
            )
            if self.xi < 0:
                out = np.where(d >= self.support[1], np.nan, out)
        return out[()] if out.ndim == 0 else out


class InverseGaussian(Severity):
    """Inverse Gaussian in Loss Models' form: mean μ, variance μ³/θ.

    f(x) = (θ/(2πx³))^(1/2) exp(-θ (x-μ)²/(2μ²x)).

    >>> IG = InverseGaussian(mu=2.0, theta=4.0)
    >>> IG.mean(), round(IG.var(), 12)
    (2.0, 2.0)
    """

    _params = ("mu", "theta")

    def __init__(self, mu: float, theta: float):
        check_params("InverseGaussian", [("mu", mu, "positive"), ("theta", theta, "positive")])
        self.mu = float(mu)
        self.theta = float(theta)

    @cached_property
    def scipy(self):
        """The equivalent frozen scipy.stats distribution."""
        return stats.invgauss(self.mu / self.theta, scale=self.theta)

    def _moment(self, k):
        # E[X^k] = sqrt(2θ/π) μ^(k-1/2) K_(k-1/2)(θ/μ) e^(θ/μ)
        mu, th = self.mu, self.theta
        if k == 1:
            return mu
        if k == 2:
            return mu**3 / th + mu**2
        return float(math.sqrt(2 * th / math.pi) * mu ** (k - 0.5) * special.kve(k - 0.5, th / mu))

    def _partial(self, u):
        """F(u) and E[X; X <= u] in closed form (Loss Models appendix A)."""
        mu, th = self.mu, self.theta
        z = (u - mu) / mu
        y = (u + mu) / mu
        r = np.sqrt(th / u)
        # exp(2θ/μ) Φ(-y r) overflows in two pieces; together it is small
        tail = np.exp(2 * th / mu + special.log_ndtr(-y * r))
        F = special.ndtr(z * r) + tail
        lev = u - mu * z * special.ndtr(z * r) - mu * y * tail
        return F, lev - u * (1.0 - F)

    def _limited_moment(self, u, k):
        if not float(k).is_integer():
            return super()._limited_moment(u, k)
        k = int(k)
        F, m1 = self._partial(u)
        S = self.scipy.sf(u)
        if k == 1:
            return m1 + u * S
        # M_(j+1) = ((j - 1/2) M_j + (θ/2) M_(j-1) - u^(j+1) f(u)) / (θ / (2μ²))
        a = self.theta / (2 * self.mu**2)
        fu = self.scipy.pdf(u)
        m_prev, m_cur = F, m1
        for j in range(1, k):
            m_prev, m_cur = (
                m_cur,
                ((j - 0.5) * m_cur + 0.5 * self.theta * m_prev - u ** (j + 1) * fu) / a,
            )
        return m_cur + u**k * S


# the composite families and the scipy wrapper live in their own module; re-exported here
from .composite import Empirical, Mixture, ScipySeverity, Spliced, as_severity  # noqa: E402

__all__ += ["Empirical", "Mixture", "ScipySeverity", "Spliced", "as_severity"]
