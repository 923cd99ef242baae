"""Zero-inflated Poisson and NB2, and plain NB2, by Newton-Raphson with the analytic score and
Hessian.

The model: with probability ``pi_i = 1 / (1 + exp(-z_i'g))`` an observation is a structural zero,
otherwise it is Poisson or NB2 (``Var = mu + alpha mu^2``) with mean ``mu_i = exp(x_i'b + offset_i)``.
The parameters are ``theta = (g, b[, t])`` with ``t = log(alpha)`` (the NB2 dispersion on the
log scale: unconstrained, and its likelihood is closer to quadratic there).

Write ``zeta = z'g``, ``eta = x'b + offset`` and ``L0 = log P(count = 0)`` (``-mu`` for Poisson,
``-log(1 + alpha mu) / alpha`` for NB2). The log-likelihood of one observation is

* ``-softplus(zeta) + logaddexp(zeta, L0)`` for ``y = 0``,
* ``-softplus(zeta) + log f(y; eta, t)`` for ``y > 0``,

so its derivatives follow from those of ``softplus``, ``logaddexp`` (the weight
``q = P(count part | y = 0)``) and of the count log-probabilities in ``eta`` and ``t``, all in
closed form. Newton steps use the observed information (the negative Hessian), shifted towards
the diagonal when it is not positive definite far from the optimum, and are halved until the
log-likelihood does not fall. The covariance is the inverse observed information at the estimate;
alpha's standard error is ``alpha × se(t)`` (the delta method, exact for the inverse information
at a maximum). This is the model of statsmodels' ``ZeroInflatedPoisson`` and
``ZeroInflatedNegativeBinomialP(p=2)`` with logit inflation, which maximise the same likelihood by
BFGS (and, for ZINB, a numerical Hessian for the covariance). Without an inflation column the
same likelihood is plain NB2 (:func:`fit_negbin_newton`).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> n = 4000
>>> X = np.column_stack([np.ones(n), rng.integers(0, 2, n)])
>>> y = np.where(rng.random(n) < 0.3, 0, rng.poisson(np.exp(0.5 + 0.4 * X[:, 1])))
>>> fit = fit_zero_inflated(X, y.astype(float), np.zeros(n))
>>> np.round(fit.beta, 1).tolist(), round(float(1 / (1 + np.exp(-fit.gamma[0]))), 1)
([0.5, 0.4], 0.3)
"""

from __future__ import annotations

import math

import numpy as np

from .._base.lazy import lazy_module
from .._base.threads import limit_threads
from ..errors import ConvergenceError
from ._glm_fit import EngineFit, fit_poisson_newton

special = lazy_module("scipy.special")

__all__ = ["ZeroInflatedLikelihood", "fit_negbin_newton", "fit_zero_inflated"]

ALPHA_FLOOR = 1e-8      # a ZINB alpha below this is at its boundary 0: the model is ZIP
ALPHA_BOUNDARY = 1e-4   # a ZINB fit that stalls with alpha below this is heading to 0
PI_BOUNDARY = 1e-4      # largest inflation probability below this: no excess zeros
STEP_TOL = 1e-10        # stop when the largest Newton step is below this (log scales)
DECREMENT_TOL = 1e-20   # ... or when the Newton decrement g'A^{-1}g is (a boundary estimate)
MAX_STEP = 5.0          # the largest change of one parameter in one step


class ZeroInflatedLikelihood:
    """Log-likelihood, score and Hessian of a zero-inflated Poisson or NB2 model.

    ``X`` is the count design (intercept first), ``Z`` the logit inflation design, ``theta`` is
    ``(g, b)`` for ZIP and ``(g, b, log alpha)`` for ZINB.

    >>> import numpy as np
    >>> X = np.ones((3, 1)); Z = np.ones((3, 1))
    >>> lik = ZeroInflatedLikelihood(X, np.array([0.0, 1.0, 2.0]), np.zeros(3), Z, negbin=False)
    >>> ll, g, h = lik.derivatives(np.array([-1.0, 0.0]))
    >>> g.shape, h.shape
    ((2,), (2, 2))
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, offset: np.ndarray, Z: np.ndarray, *,
                 negbin: bool):
        self.X, self.y, self.offset, self.Z, self.negbin = X, y, offset, Z, negbin
        self.kz, self.kx = Z.shape[1], X.shape[1]
        self.k = self.kz + self.kx + (1 if negbin else 0)
        self.zero = y == 0
        self.pos = ~self.zero
        self.ypos = y[self.pos]
        self.lfact = float(special.gammaln(self.ypos + 1.0).sum())

    def _split(self, theta):
        g, b = theta[:self.kz], theta[self.kz:self.kz + self.kx]
        t = float(theta[-1]) if self.negbin else None
        # no inflation column: pi = 0 exactly (zeta = -inf), the plain Poisson / NB2 likelihood
        zeta = self.Z @ g if self.kz else np.full(len(self.y), -np.inf)
        return zeta, self.offset + self.X @ b, t

    def loglik(self, theta: np.ndarray) -> float:
        """Total log-likelihood (with the ``-log y!`` terms)."""
        zeta, eta, t = self._split(theta)
        with np.errstate(over="ignore", invalid="ignore"):
            mu = np.exp(eta)
            ll = -np.logaddexp(0.0, zeta).sum()
            zero, pos = self.zero, self.pos
            if t is None:
                ll += np.logaddexp(zeta[zero], -mu[zero]).sum()
                ll += (self.ypos * eta[pos] - mu[pos]).sum() - self.lfact
            else:
                a, r = math.exp(t), math.exp(-t)
                s = a * mu
                ll += np.logaddexp(zeta[zero], -r * np.log1p(s[zero])).sum()
                yp, sp = self.ypos, s[pos]
                ll += (special.gammaln(yp + r).sum() - len(yp) * special.gammaln(r)
                       - ((r + yp) * np.log1p(sp)).sum() + (yp * np.log(sp)).sum() - self.lfact)
        return float(ll)

    def derivatives(self, theta: np.ndarray, hessian: bool = True):
        """``(loglik, score, Hessian)`` at ``theta`` (the Hessian is None when not asked for)."""
        zeta, eta, t = self._split(theta)
        zero, pos, yp = self.zero, self.pos, self.ypos
        mu = np.exp(eta)
        pi = special.expit(zeta)
        n = len(mu)
        # per observation: d/d zeta, d/d eta, d/d t and the second derivatives
        d_eta, h_ee, h_ze = np.zeros(n), np.zeros(n), np.zeros(n)
        d_t = h_et = h_tt = h_zt = None
        if t is None:
            L0, L0e, L0ee = -mu[zero], -mu[zero], -mu[zero]
            ll_pos = float((yp * eta[pos] - mu[pos]).sum()) - self.lfact
            d_eta[pos] = yp - mu[pos]
            h_ee[pos] = -mu[pos]
        else:
            a, r = math.exp(t), math.exp(-t)
            s = a * mu
            one_s = 1.0 + s
            log1s = np.log1p(s)
            sz, muz, oz = s[zero], mu[zero], one_s[zero]
            L0 = -r * log1s[zero]
            L0e = -muz / oz
            L0ee = -muz / oz**2
            L0t = r * (log1s[zero] - sz / oz)
            L0tt = -L0t + sz * muz / oz**2
            L0et = sz * muz / oz**2
            sp, mp, op, lp = s[pos], mu[pos], one_s[pos], log1s[pos]
            ll_pos = float(special.gammaln(yp + r).sum() - len(yp) * special.gammaln(r)
                           - ((r + yp) * lp).sum() + (yp * np.log(sp)).sum()) - self.lfact
            resid = (yp - mp) / op
            dpsi = special.digamma(yp + r) - special.digamma(r)
            d_eta[pos] = resid
            h_ee[pos] = -mp * (1.0 + a * yp) / op**2
            d_t, h_et, h_tt, h_zt = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
            d_t[pos] = -r * dpsi + r * lp + resid
            h_et[pos] = -resid * sp / op
            h_tt[pos] = (r * dpsi + r * r * (special.polygamma(1, yp + r) - special.polygamma(1, r))
                         - r * lp + r * sp / op - resid * sp / op)
        lse = np.logaddexp(zeta[zero], L0)
        q = np.exp(L0 - lse)  # P(count part | y = 0)
        qq = q * (1.0 - q)
        ll = float(-np.logaddexp(0.0, zeta).sum() + lse.sum()) + ll_pos
        d_z = -pi
        d_z[zero] += 1.0 - q
        d_eta[zero] = q * L0e
        score = [self.Z.T @ d_z, self.X.T @ d_eta]
        if t is not None:
            d_t[zero] = q * L0t
            score.append([d_t.sum()])
        score = np.concatenate(score)
        if not hessian:
            return ll, score, None
        h_zz = -pi * (1.0 - pi)
        h_zz[zero] += qq
        h_ee[zero] = qq * L0e**2 + q * L0ee
        h_ze[zero] = -qq * L0e
        kz, kx = self.kz, self.kx
        H = np.empty((self.k, self.k))
        H[:kz, :kz] = self.Z.T @ (self.Z * h_zz[:, None])
        H[:kz, kz:kz + kx] = self.Z.T @ (self.X * h_ze[:, None])
        H[kz:kz + kx, kz:kz + kx] = self.X.T @ (self.X * h_ee[:, None])
        if t is not None:
            h_tt[zero] = qq * L0t**2 + q * L0tt
            h_et[zero] = qq * L0e * L0t + q * L0et
            h_zt[zero] = -qq * L0t
            H[:kz, -1] = self.Z.T @ h_zt
            H[kz:kz + kx, -1] = self.X.T @ h_et
            H[-1, -1] = h_tt.sum()
        iu = np.triu_indices(self.k, 1)
        H[(iu[1], iu[0])] = H[iu]
        return ll, score, H


def _newton_direction(score, H):
    """Solve ``A d = score`` for the ascent direction, ``A = -H`` the observed information.

    Near the optimum ``A`` is positive definite and this is Newton's step. Far from it the
    zero-inflated likelihood need not be concave: then the eigenvalues of ``A`` are replaced by
    their absolute values (floored at 1e-6 of the largest), which turns every direction of negative
    curvature into an ascent direction instead of a step towards a saddle or a minimum.
    Returns the step and the Newton decrement ``score' d``.
    """
    A = -H
    try:
        c = np.linalg.cholesky(A)
        d = np.linalg.solve(c.T, np.linalg.solve(c, score))
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(A)
        w = np.maximum(np.abs(w), 1e-6 * max(np.abs(w).max(), 1e-12))
        d = v @ ((v.T @ score) / w)
    big = float(np.max(np.abs(d)))
    if big > MAX_STEP:  # on the log and logit scales a step of more than 5 leaves the data
        d = d * (MAX_STEP / big)
    return d, float(score @ d)


def _start(lik: ZeroInflatedLikelihood, what: str) -> np.ndarray:
    """The Poisson fit for the count part, a logit of the excess zeros for the inflation part and
    the moment estimate of alpha (ZINB)."""
    y, X, off = lik.y, lik.X, lik.offset
    beta = fit_poisson_newton(X, y, off, what=what).beta
    mu = np.exp(off + X @ beta)
    excess = min(max(float(np.mean(y == 0) - np.mean(np.exp(-mu))), 0.01), 0.99)
    gamma = np.zeros(lik.kz)
    if lik.kz:
        gamma[0] = math.log(excess / (1.0 - excess))
    parts = [gamma, beta]
    if lik.negbin:
        alpha = max(float(np.sum((y - mu) ** 2 - y) / np.sum(mu**2)), 1e-3)
        parts.append([math.log(alpha)])
    return np.concatenate(parts)


def fit_zero_inflated(X: np.ndarray, y: np.ndarray, offset: np.ndarray,
                      Z: np.ndarray | None = None, *, negbin: bool = False,
                      what: str = "FrequencyGLM", start=None, covariance: bool = True,
                      max_steps: int = 200) -> EngineFit:
    """Fit a zero-inflated Poisson (``negbin=False``) or NB2 model by Newton-Raphson.

    ``X`` is the dense count design with its intercept column first, ``Z`` the inflation design
    (intercept only when None). ``start`` is an estimate in statsmodels' order (inflation, count,
    alpha), e.g. the full-data fit when fitting cross-validation folds; ``covariance=False`` skips
    the covariance (NaN). Returns the count coefficients ``beta`` with their covariance, the
    inflation coefficients ``gamma`` with theirs, and for ZINB ``alpha`` with its standard error.

    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> n = 20000
    >>> lam = rng.gamma(2.0, 0.5 * 1.5, n)                      # NB2 with alpha 0.5, mean 1.5
    >>> y = np.where(rng.random(n) < 0.2, 0, rng.poisson(lam)).astype(float)
    >>> fit = fit_zero_inflated(np.ones((n, 1)), y, np.zeros(n), negbin=True)
    >>> round(float(np.exp(fit.beta[0])), 1), round(fit.alpha, 1)
    (1.5, 0.5)
    """
    Z = np.ones((len(y), 1)) if Z is None else Z
    with limit_threads(rows=len(y)):
        return _fit(X, y, offset, Z, negbin, what, start, covariance, max_steps)


def _fit(X, y, offset, Z, negbin, what, start, covariance, max_steps):
    lik = ZeroInflatedLikelihood(X, y, offset, Z, negbin=negbin)
    theta = None
    if start is not None and len(start) == lik.k:
        theta = np.array(start, dtype=float)
        if negbin:
            theta[-1] = math.log(max(theta[-1], ALPHA_FLOOR))
        if not np.isfinite(lik.loglik(theta)):
            theta = None
    if theta is None:
        theta = _start(lik, what)
    name = "zero-inflated NB2" if negbin else "zero-inflated Poisson"
    ll, score, H = lik.derivatives(theta)
    size, dec = np.inf, np.inf
    for it in range(1, max_steps + 1):
        try:
            step, dec = _newton_direction(score, H)
        except np.linalg.LinAlgError:
            break
        frac = 1.0
        while True:
            trial = theta + frac * step
            ll_new = lik.loglik(trial)
            # equality within rounding counts as no loss: near the optimum ll is flat
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                break
            frac /= 2.0
            if frac < 1e-12:
                break
        if frac < 1e-12:
            break
        theta = trial
        size = float(np.max(np.abs(frac * step)))
        ll, score, H = lik.derivatives(theta)
        if size < STEP_TOL or dec < DECREMENT_TOL:
            return _result(lik, theta, H, it, covariance, what, name)
        if negbin and theta[-1] < math.log(ALPHA_FLOOR):
            break
    if dec < 1e-12:  # settled in value (a parameter drifting to its boundary): a valid maximum
        return _result(lik, theta, H, max_steps, covariance, what, name)
    if negbin and theta[-1] < math.log(ALPHA_BOUNDARY):
        # the likelihood keeps rising as alpha goes to 0; below ~1e-6 the NB2 terms lose their
        # precision (log-gamma differences at 1 / alpha) before alpha reaches 0
        raise ConvergenceError(
            f"{what}: ZINB alpha estimate goes to its boundary 0 (last {math.exp(theta[-1]):.3g}; "
            "no extra dispersion beyond the zero inflation); use family='zip'")
    raise ConvergenceError(
        f"{what}: the {name} Newton iterations did not settle (last step {size:.2g}, Newton "
        f"decrement {dec:.2g}); try fewer zero_factors or the family without zero inflation")


def _result(lik, theta, H, n_iter, covariance, what, name) -> EngineFit:
    kz, kx = lik.kz, lik.kx
    pi = special.expit(lik.Z @ theta[:kz]) if kz else np.zeros(1)
    boundary = bool(kz and np.max(pi) < PI_BOUNDARY)
    if not covariance:
        cov = np.full((lik.k, lik.k), np.nan)
    else:
        try:
            cov = np.linalg.inv(-H)
        except np.linalg.LinAlgError:  # singular: typically the inflation part at its boundary
            cov = np.linalg.pinv(-H)
    count_var = np.diag(cov)[kz:kz + kx]
    if covariance and not (np.all(np.isfinite(count_var)) and np.all(count_var > 0)):
        raise ConvergenceError(
            f"{what}: the {name} model has no interior maximum on these data (the information "
            "of the count part is singular); the data show no excess zeros or no extra "
            "dispersion: use family='poisson' or 'negbin'")
    notes = []
    if boundary:
        notes.append("zero-inflation probability at its boundary 0 (largest fitted "
                     f"{np.max(pi):.2g}): the data show no excess zeros; the model without "
                     "zero inflation is the same fit")
        cov[:kz, :kz] = np.diag(np.full(kz, np.inf))
    sl = slice(kz, kz + kx)
    fit = EngineFit(theta[sl].copy(), cov[sl, sl].copy(), gamma=theta[:kz].copy(),
                    gamma_cov=cov[:kz, :kz].copy(), n_iter=n_iter, notes=notes)
    if lik.negbin:
        fit.alpha = float(math.exp(theta[-1]))
        se_t = float(np.sqrt(cov[-1, -1])) if cov[-1, -1] > 0 else float("nan")
        fit.alpha_se = fit.alpha * se_t
        if fit.alpha < ALPHA_FLOOR or (covariance and not math.isfinite(fit.alpha_se)):
            raise ConvergenceError(f"{what}: ZINB alpha estimate {fit.alpha:.3g} is at its "
                                   "boundary 0 (no extra dispersion beyond the zero inflation); "
                                   "use family='zip'")
    return fit


def fit_negbin_newton(X: np.ndarray, y: np.ndarray, offset: np.ndarray, *,
                      what: str = "FrequencyGLM") -> EngineFit:
    """NB2 (``Var = mu + alpha mu^2``) by joint Newton-Raphson in ``(b, log alpha)``.

    The likelihood above without an inflation part (``pi = 0``). The estimate is the joint MLE
    that the beta/alpha alternation of the other engines reaches; the covariance follows their
    convention: the expected information at the fitted alpha for the coefficients (block diagonal
    with alpha at the optimum), the observed information at the fitted means for alpha. When
    alpha goes to 0 (no over-dispersion) the fit is the Poisson one with alpha at its floor
    :data:`~safeins.models._glm_fit.ALPHA_MIN` and a note.

    >>> import numpy as np
    >>> rng = np.random.default_rng(4)
    >>> n = 20000
    >>> X = np.column_stack([np.ones(n), rng.integers(0, 2, n)])
    >>> y = rng.poisson(rng.gamma(2.0, 0.5 * np.exp(0.3 + 0.5 * X[:, 1]))).astype(float)
    >>> fit = fit_negbin_newton(X, y, np.zeros(n))
    >>> np.round(fit.beta, 1).tolist(), round(fit.alpha, 1)
    ([0.3, 0.5], 0.5)
    """
    with limit_threads(rows=len(y)):
        return _fit_negbin(X, y, offset, what)


def _fit_negbin(X, y, offset, what):
    from ._glm_fit import ALPHA_MIN, _alpha_notes, _alpha_terms

    pois = fit_poisson_newton(X, y, offset, what=what)
    mu = np.exp(offset + X @ pois.beta)
    alpha0 = max(float(np.sum((y - mu) ** 2 - y) / np.sum(mu**2)), 1e-2)  # moments
    start = np.concatenate([pois.beta, [alpha0]])
    try:
        res = _fit(X, y, offset, np.ones((len(y), 0)), True, what, start, False, 200)
    except ConvergenceError:
        res = None  # alpha drifting to 0: the Poisson fit below
    # below 1e-6 the NB2 terms lose their precision (log-gamma differences at 1 / alpha)
    if res is not None and res.alpha > 1e-6:
        beta, alpha = res.beta, res.alpha
        mu = np.exp(offset + X @ beta)
        info = X.T @ (X * (mu / (1.0 + alpha * mu))[:, None])
        _, _, h = _alpha_terms(y, mu, math.log(alpha))
        alpha_se = float(alpha * np.sqrt(-1.0 / h)) if h < 0 else float("nan")
        return EngineFit(beta, np.linalg.inv(info), alpha=alpha, alpha_se=alpha_se,
                         n_iter=res.n_iter, info=info)
    # no over-dispersion: the maximum is on the boundary alpha = 0, the Poisson fit
    return EngineFit(pois.beta, pois.cov, alpha=ALPHA_MIN, alpha_se=float("nan"),
                     n_iter=pois.n_iter, notes=_alpha_notes(ALPHA_MIN), info=pois.info)
