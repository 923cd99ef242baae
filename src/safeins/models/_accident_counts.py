"""Zero-truncated victim counts for the accident model: families, maximum likelihood, AIC.

An accident has at least one victim in the role being counted, so the count is zero-truncated.
Four families are fitted by maximum likelihood on the table of counts and compared by AIC:

``zt_poisson``            ZT Poisson(mu)                                      1 parameter
``zt_negbin``             ZT negative binomial(n, p)                          2 parameters
``zt_poisson_mix``        w ZT Poisson(mu1) + (1 - w) ZT Poisson(mu2)        3 parameters
``zt_poisson_negbin_mix`` w ZT Poisson(mu) + (1 - w) ZT NB(n, p)             4 parameters

The mixtures carry the heavy tail: most accidents hurt one person, a few (explosions, collapses)
hurt many. Components are :class:`safeins.losses.ZeroTruncated` objects.

>>> import numpy as np
>>> c = VictimCount.fit_family(np.array([1] * 90 + [2] * 8 + [3] * 2), "zt_poisson")
>>> round(c.mean(), 6)
1.12
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from .._base.rng import as_generator
from .._base.threads import single_thread
from ..losses import NegativeBinomial, Poisson, ZeroTruncated

__all__ = ["COUNT_FAMILIES", "VictimCount", "compare_counts"]

COUNT_FAMILIES = ("zt_poisson", "zt_negbin", "zt_poisson_mix", "zt_poisson_negbin_mix")
_NPAR = {"zt_poisson": 1, "zt_negbin": 2, "zt_poisson_mix": 3, "zt_poisson_negbin_mix": 4}
_MU_MIN = 1e-8


def _log1mexp(x):
    """log(1 - exp(-x)) for x > 0, accurate at both ends."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x < 0.693, np.log(-np.expm1(-x)), np.log1p(-np.exp(-x)))


def _log1mexp_s(x: float) -> float:
    """Scalar log(1 - exp(-x)), x > 0."""
    return math.log(-math.expm1(-x)) if x < 0.693 else math.log1p(-math.exp(-x))


def _ztp_logpmf(k, mu, lgk=None):
    lgk = special.gammaln(k + 1) if lgk is None else lgk
    return k * math.log(mu) - lgk - (mu + _log1mexp_s(mu))


def _ztnb_logpmf(k, n, p, lgk=None):
    lgk = special.gammaln(k + 1) if lgk is None else lgk
    log_p0 = n * math.log(p)
    const = log_p0 - math.lgamma(n) - _log1mexp_s(-log_p0)
    return special.gammaln(k + n) - lgk + k * math.log1p(-p) + const


class VictimCount:
    """A finite mixture of zero-truncated Poisson / negative binomial counts (support 1, 2, ...).

    ``components`` are :class:`~safeins.losses.ZeroTruncated` laws, ``weights`` sum to 1.

    >>> vc = VictimCount([ZeroTruncated(Poisson(0.2))], [1.0], family="zt_poisson")
    >>> round(float(vc.pmf(1)), 6), vc.support
    (0.903331, (1, inf))
    """

    support = (1, math.inf)

    def __init__(self, components, weights, family: str = "custom", loglik: float = math.nan,
                 n_obs: int = 0):
        self.components = list(components)
        self.weights = np.asarray(weights, dtype=float)
        self.family = family
        self.loglik = float(loglik)
        self.n_obs = int(n_obs)

    def __repr__(self) -> str:
        parts = " + ".join(f"{w:.4g}·{c.parent!r}" for w, c in zip(self.weights, self.components,
                                                                   strict=True))
        return f"VictimCount({self.family}: ZT[{parts}])"

    @property
    def n_params(self) -> int:
        return _NPAR.get(self.family, 0)

    @property
    def aic(self) -> float:
        return 2 * self.n_params - 2 * self.loglik

    @property
    def params(self) -> dict:
        out: dict[str, float] = {}
        for i, (w, c) in enumerate(zip(self.weights, self.components, strict=True), start=1):
            tag = "" if len(self.components) == 1 else str(i)
            if len(self.components) > 1:
                out[f"w{tag}"] = float(w)
            for name, value in c.parent.params.items():
                out[f"{name}{tag}"] = float(value)
        return out

    def pmf(self, k):
        """P(N = k)."""
        k = np.asarray(k, dtype=float)
        out = sum(w * np.asarray(c.pmf(k), dtype=float)
                  for w, c in zip(self.weights, self.components, strict=True))
        return out[()] if np.ndim(out) == 0 else out

    def sf(self, k):
        """P(N > k)."""
        k = np.asarray(k, dtype=float)
        out = sum(w * np.asarray(c.sf(k), dtype=float)
                  for w, c in zip(self.weights, self.components, strict=True))
        return out[()] if np.ndim(out) == 0 else out

    def mean(self) -> float:
        """E[N]."""
        return float(sum(w * c.mean() for w, c in zip(self.weights, self.components, strict=True)))

    def var(self) -> float:
        """Var[N] (law of total variance over the components)."""
        m2 = sum(w * (c.var() + c.mean() ** 2)
                 for w, c in zip(self.weights, self.components, strict=True))
        return float(m2 - self.mean() ** 2)

    def pgf(self, z):
        """E[z^N] (complex z allowed)."""
        return sum(w * c.pgf(z) for w, c in zip(self.weights, self.components, strict=True))

    def upper(self, tail: float = 1e-13, cap: int = 20_000) -> int:
        """The smallest K with P(N > K) <= tail (at most ``cap``)."""
        k = max(8, math.ceil(self.mean() * 4))
        while k < cap and float(self.sf(k)) > tail:
            k *= 2
        lo, hi = 1, min(k, cap)
        # P(N > K) for K = 1..hi in one vectorised call (each call of the mixture's sf goes
        # through every component's scipy distribution: the bisection's calls cost far more)
        sf = np.asarray(self.sf(np.arange(1, hi + 1)), dtype=float)
        while lo < hi:  # P(N > K) is decreasing: bisect for the smallest K
            mid = (lo + hi) // 2
            if sf[mid - 1] <= tail:
                hi = mid
            else:
                lo = mid + 1
        return hi

    def pmf_array(self, kmax: int) -> np.ndarray:
        """P(N = k) for k = 0..kmax (P(N = 0) = 0)."""
        return np.asarray(self.pmf(np.arange(kmax + 1)), dtype=float)

    def rvs(self, size, seed=None) -> np.ndarray:
        """Random counts by inverse transform on the tabulated distribution (vectorised)."""
        rng = as_generator(seed)
        kmax = self.upper(1e-15)
        cdf = np.cumsum(self.pmf_array(kmax))
        cdf[-1] = max(cdf[-1], 1.0)
        return np.searchsorted(cdf, rng.random(size), side="left").astype(np.int64)

    # --- fitting ----------------------------------------------------------------------------
    @classmethod
    def fit_family(cls, counts, family: str) -> VictimCount:
        """Maximum likelihood fit of one family to counts (all >= 1)."""
        with single_thread():  # L-BFGS-B's tiny BLAS calls (see single_thread)
            return cls._fit_family(counts, family)

    @classmethod
    def _fit_family(cls, counts, family: str) -> VictimCount:
        k, w = np.unique(np.asarray(counts, dtype=np.int64), return_counts=True)
        k = k.astype(float)
        w = w.astype(float)
        mbar = float((k * w).sum() / w.sum())
        if family == "zt_poisson":
            mu = _ztp_mle(mbar)
            ll = float(w @ _ztp_logpmf(k, mu))
            return cls([ZeroTruncated(Poisson(mu))], [1.0], family, ll, int(w.sum()))
        nll, starts, bounds, build = _objective(family, k, w, mbar)
        best = None
        for x0 in starts:
            res = _minimize(nll, x0, bounds)
            if best is None or res.fun < best.fun:
                best = res
        # The negative binomial's two limits (n -> 0: logarithmic, n -> infinity: Poisson) are
        # flat directions where a gradient search stops short of the bound the supremum is on:
        # the best point with log n pinned at each bound is a candidate too.
        i_n = {"zt_negbin": 0, "zt_poisson_negbin_mix": 2}.get(family)
        # (only when the search went that way: log n beyond +-5, n < 0.007 or n > 150)
        edges = () if i_n is None else [e for e in _LOG_N if e * best.x[i_n] > 5 * abs(e)]
        for edge in edges:
            x0, pinned = best.x.copy(), list(bounds)
            x0[i_n], pinned[i_n] = edge, (edge, edge)
            res = _minimize(nll, x0, pinned)
            if res.fun < best.fun:
                best = res
        comps, weights = build(best.x)
        return cls(comps, weights, family, -float(best.fun), int(w.sum()))


def _minimize(nll, x0, bounds):
    """Minimise ``nll`` (returning value and analytic gradient) by L-BFGS-B, then Newton.

    L-BFGS-B brings the parameters into the basin (tens of evaluations where Nelder-Mead took
    thousands); Newton steps on a Hessian by central differences of the analytic gradient then
    settle the optimum to ~1e-9 in the parameters, the precision a quasi-Newton update alone
    does not reach on the flat directions of the mixtures.
    """
    res = optimize.minimize(nll, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-12, "gtol": 1e-7, "maxiter": 500})
    lo, hi = np.array(bounds, dtype=float).T
    x, (f, g) = res.x, nll(res.x)
    for _ in range(20):
        free = (x > lo + 1e-9) & (x < hi - 1e-9)  # coordinates on a bound stay there
        if not free.any() or np.max(np.abs(g[free])) < 1e-10:
            break
        idx = np.flatnonzero(free)
        h = np.empty((idx.size, idx.size))
        for j, i in enumerate(idx):
            e = np.zeros_like(x)
            e[i] = 1e-5
            h[:, j] = (nll(x + e)[1][idx] - nll(x - e)[1][idx]) / 2e-5
        h = (h + h.T) / 2
        try:
            step = -np.linalg.solve(h, g[idx])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or g[idx] @ step >= 0:
            break  # not a descent direction (Hessian not positive definite): keep L-BFGS-B's
        t = 1.0
        while t > 1e-4:  # step halving keeps the value from rising
            xn = x.copy()
            xn[idx] = np.clip(x[idx] + t * step, lo[idx], hi[idx])
            fn, gn = nll(xn)
            if fn <= f:
                break
            t /= 2
        else:
            break
        done = np.max(np.abs(xn - x)) < 1e-12
        x, f, g = xn, fn, gn
        if done:
            break
    return optimize.OptimizeResult(x=x, fun=f, jac=g)


def _ztp_mle(mbar: float) -> float:
    """Solve mu / (1 - e^-mu) = mean (the ZT Poisson likelihood equation)."""
    if mbar <= 1.0 + 1e-12:
        return _MU_MIN
    f = lambda mu: mu / -math.expm1(-mu) - mbar  # noqa: E731
    return float(optimize.brentq(f, _MU_MIN, max(2 * mbar, 1.0), xtol=1e-14, rtol=1e-14))


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# Bounds of the search coordinates. Nelder-Mead ran on the same clamped objective without bounds:
# beyond these boxes the objective is flat, so its minimum lies inside them.
_LOG_MU = (math.log(_MU_MIN), 30.0)
_LOG_N = (-20.0, 14.0)
_LOG_BETA = (-20.0, 18.0)
_LOGIT_W = (-40.0, 40.0)  # weights within 4e-18 of 0 or 1


def _ztp_mu(t):
    """The ZT Poisson mean at the search coordinate t = log mu (clamped to the search box)."""
    return max(math.exp(min(t, _LOG_MU[1])), _MU_MIN)


def _nb_n_beta(n_t, beta_t):
    """NB (n, beta) at the search coordinates, clamped to the box: bounded away from the
    degenerate edges (n -> 0 is the logarithmic limit, beta -> 0 a point mass at 1) where the
    log-likelihood is flat anyway."""
    return (math.exp(min(max(n_t, _LOG_N[0]), _LOG_N[1])),
            math.exp(min(max(beta_t, _LOG_BETA[0]), _LOG_BETA[1])))


def _ztp_grad(k, t, lgk):
    """ZT Poisson log-pmf at mu = e^t and its derivative in t (zero where mu is clamped)."""
    mu = _ztp_mu(t)
    lp = _ztp_logpmf(k, mu, lgk)
    inside = t < _LOG_MU[1] and mu > _MU_MIN
    # d/dt [k log mu - mu - log(1 - e^-mu)] = k - mu / (1 - e^-mu)
    return lp, (k - mu / -math.expm1(-mu)) if inside else np.zeros_like(k)


def _ztnb_grad(k, n_t, beta_t, lgk):
    """ZT NB log-pmf at n = e^n_t, p = 1 / (1 + e^beta_t) and its derivatives in n_t and beta_t.

    log f = lgamma(k + n) - lgamma(n) - log k! + k log beta - (k + n) log(1 + beta)
            - log(1 - (1 + beta)^-n); with L0 = n log(1 + beta) the last term's derivative is
    -1 / (e^L0 - 1) times that of L0. A clamped coordinate has derivative zero.
    """
    n, beta = _nb_n_beta(n_t, beta_t)
    lp = _ztnb_logpmf(k, n, 1.0 / (1.0 + beta), lgk)
    l1b = math.log1p(beta)
    l0 = n * l1b
    tail = 0.0 if l0 > 700.0 else 1.0 / math.expm1(l0)
    dn = n * (special.digamma(k + n) - special.digamma(n) - l1b - l1b * tail)
    db = k - (k + n) * beta / (1.0 + beta) - n * beta / (1.0 + beta) * tail
    if not _LOG_N[0] < n_t < _LOG_N[1]:
        dn = np.zeros_like(k)
    if not _LOG_BETA[0] < beta_t < _LOG_BETA[1]:
        db = np.zeros_like(k)
    return lp, dn, db


def _objective(family, k, w, mbar):
    """Negative log-likelihood with its gradient on unconstrained parameters, starting points,
    bounds and builder."""

    ztp = _ztp_mu

    def nb(n_t, beta_t):
        n, beta = _nb_n_beta(n_t, beta_t)
        return n, 1.0 / (1.0 + beta)

    def mix(x0, a, b, grads_a, grads_b):
        """-log-likelihood of w A + (1 - w) B, w = sigmoid(x0), and its gradient.

        With r the posterior share of A, d/dx0 = r - w and d/dtheta = r dA or (1 - r) dB.
        """
        wt = _sigmoid(x0)
        la = np.log(wt) + a
        lb = np.log1p(-wt) + b if wt < 1 else np.full_like(a, -np.inf)
        ll = np.logaddexp(la, lb)
        r = np.exp(la - ll)
        g = [w @ (r - wt)] + [w @ (r * d) for d in grads_a] + [w @ ((1 - r) * d) for d in grads_b]
        return -float(w @ ll), -np.array(g, dtype=float)

    lm = math.log(max(mbar - 1.0, 1e-3))
    lgk = special.gammaln(k + 1)
    if family == "zt_negbin":
        def nll(x):
            lp, dn, db = _ztnb_grad(k, x[0], x[1], lgk)
            return -float(w @ lp), -np.array([w @ dn, w @ db], dtype=float)

        def build(x):
            n, p = nb(*x)
            return [ZeroTruncated(NegativeBinomial(n, p))], [1.0]

        starts = [np.array([0.0, lm]), np.array([math.log(0.3), lm + 1.0])]
        return nll, starts, [_LOG_N, _LOG_BETA], build
    if family == "zt_poisson_mix":
        def nll(x):
            a, da = _ztp_grad(k, x[1], lgk)
            b, db = _ztp_grad(k, x[2], lgk)
            return mix(x[0], a, b, [da], [db])

        def build(x):
            wt = _sigmoid(x[0])
            return [ZeroTruncated(Poisson(ztp(x[1]))), ZeroTruncated(Poisson(ztp(x[2])))], \
                [wt, 1.0 - wt]

        starts = [np.array([3.0, lm - 1.0, math.log(max(k.max(), 2.0))]),
                  np.array([1.0, lm, lm + 2.0])]
        return nll, starts, [_LOGIT_W, _LOG_MU, _LOG_MU], build
    if family == "zt_poisson_negbin_mix":
        def nll(x):
            a, da = _ztp_grad(k, x[1], lgk)
            b, dn, db = _ztnb_grad(k, x[2], x[3], lgk)
            return mix(x[0], a, b, [da], [dn, db])

        def build(x):
            wt = _sigmoid(x[0])
            n, p = nb(x[2], x[3])
            return [ZeroTruncated(Poisson(ztp(x[1]))), ZeroTruncated(NegativeBinomial(n, p))], \
                [wt, 1.0 - wt]

        big = math.log(max(float(k.max()), 3.0))
        starts = [np.array([4.0, lm, 0.0, big]), np.array([2.0, lm, math.log(0.5), big])]
        return nll, starts, [_LOGIT_W, _LOG_MU, _LOG_N, _LOG_BETA], build
    raise ValueError(f"unknown count family {family!r}")  # pragma: no cover - checked upstream


def compare_counts(counts, families=COUNT_FAMILIES):
    """Fit every family; return (best by AIC, list of fits, smallest families first).

    No family's log-likelihood can exceed the saturated one (the empirical frequencies), so a
    family whose AIC is bound to be at least ``2 k - 2 loglik_saturated`` is skipped once a fitted
    family already has a lower AIC: the choice is the same as fitting them all.
    """
    _, w = np.unique(np.asarray(counts, dtype=np.int64), return_counts=True)
    w = w.astype(float)
    ll_sat = float(w @ np.log(w / w.sum()))
    fits: list[VictimCount] = []
    for f in sorted(families, key=lambda f: _NPAR[f]):
        if fits and 2 * _NPAR[f] - 2 * ll_sat >= min(x.aic for x in fits):
            continue
        fits.append(VictimCount.fit_family(counts, f))
    best = min(fits, key=lambda f: (f.aic, f.n_params))
    return best, fits
