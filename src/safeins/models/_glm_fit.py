"""Fitting engines and likelihoods of the count GLMs (Poisson, NB2, ZIP, ZINB).

All engines reach the same maximum-likelihood estimate:

* ``statsmodels``: IRLS of ``statsmodels.GLM`` (Poisson; negative binomial at a given alpha),
  and ``statsmodels`` zero-inflated models; its covariance is the inference.
* ``newton``: Newton-Raphson with step halving on a dense design, for Poisson only (the
  log-likelihood is concave, so the halved steps always reach the optimum); no third-party
  import, the cheapest engine for narrow designs and for tables summed to factor cells. For large
  tables the same iterations run on a tabmat design (:func:`fit_poisson_categorical`), started by
  sweeps of marginal totals and stopped by Newton's quadratic convergence. NB2
  (joint in beta and log alpha) and the zero-inflated families have their own Newton with the
  analytic Hessian in :mod:`safeins.models._zero_inflated`.
* ``glum``: glum's IRLS on a tabmat design (never dense dummies), then Newton steps with the exact
  Fisher information ``X'WX`` computed on the categorical design, which both polishes the estimate
  to machine precision and gives the covariance (the same formula statsmodels uses).

The NB2 dispersion alpha (``Var = mu + alpha mu^2``) is estimated as in R's ``MASS::glm.nb``:
alternate the GLM fit at fixed alpha and the one-dimensional ML of alpha at fixed means until both
settle. At the joint optimum the expected information is block diagonal in (beta, alpha), so the
covariance of beta at fixed alpha is the large-sample covariance of the joint fit.

>>> import numpy as np
>>> from scipy import stats
>>> y = np.array([0, 1, 2, 0, 5, 1]); mu = np.full(6, 1.5)
>>> bool(np.allclose(poisson_loglik_obs(y, mu), stats.poisson.logpmf(y, mu)))
True
>>> n, p = 1 / 0.4, 1 / (1 + 0.4 * mu)      # NB2 with alpha = 0.4 in scipy's (n, p)
>>> bool(np.allclose(nb_loglik_obs(y, mu, 0.4), stats.nbinom.logpmf(y, n, p)))
True
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._base.lazy import lazy_module
from .._base.threads import limit_threads
from ..errors import ConvergenceError

special = lazy_module("scipy.special")

__all__ = [
    "EngineFit",
    "fit_glum",
    "fit_poisson_categorical",
    "fit_poisson_newton",
    "fit_statsmodels",
    "loglik_obs",
    "nb_alpha_ml",
    "nb_loglik_obs",
    "poisson_loglik_obs",
]

ALPHA_MIN = 1e-8  # NB2 alpha at its lower boundary: the model is Poisson


@dataclass
class EngineFit:
    """What an engine returns: count coefficients (intercept first) and their covariance."""

    beta: np.ndarray
    cov: np.ndarray
    alpha: float = 0.0
    alpha_se: float = np.nan
    gamma: np.ndarray | None = None  # zero-inflation coefficients (logit), intercept first
    gamma_cov: np.ndarray | None = None
    n_iter: int = 0
    notes: list[str] = field(default_factory=list)
    info: np.ndarray | None = None  # Fisher information of the count part (glum engine)


# ---------------------------------------------------------------------- likelihoods
def poisson_loglik_obs(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson log-likelihood of each observation (with the ``-log y!`` term)."""
    y, mu = np.asarray(y, dtype=float), np.asarray(mu, dtype=float)
    if y.ndim != 1 or mu.shape != y.shape:
        return special.xlogy(y, mu) - mu - special.gammaln(y + 1.0)
    # most enterprise-years have no accident: their term is -mu exactly (the same operations
    # give the same bits), so the logarithms run on the rows with events only
    out = -mu
    pos = np.flatnonzero(y)
    yp, mp = y[pos], mu[pos]
    out[pos] = special.xlogy(yp, mp) - mp - special.gammaln(yp + 1.0)
    return out


def nb_loglik_obs(y: np.ndarray, mu: np.ndarray, alpha: float) -> np.ndarray:
    """NB2 log-likelihood of each observation: mean ``mu``, variance ``mu + alpha mu^2``."""
    if alpha <= 0:
        return poisson_loglik_obs(y, mu)
    r = 1.0 / alpha
    return (special.gammaln(y + r) - special.gammaln(r) - special.gammaln(y + 1.0)
            + r * np.log(r / (r + mu)) + special.xlogy(y, mu) - special.xlogy(y, r + mu))


def loglik_obs(y, mu, alpha: float = 0.0, pi=None) -> np.ndarray:
    """Per-observation log-likelihood of Poisson / NB2, zero-inflated when ``pi`` is given."""
    base = nb_loglik_obs(y, mu, alpha) if alpha > 0 else poisson_loglik_obs(y, mu)
    if pi is None:
        return base
    p0 = np.exp(nb_loglik_obs(np.zeros_like(mu), mu, alpha) if alpha > 0 else -mu)
    return np.where(y == 0, np.log(pi + (1.0 - pi) * p0), np.log1p(-pi) + base)


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Total Poisson deviance ``2 sum(y log(y/mu) - (y - mu))`` (inf when mu = 0 < y)."""
    y, mu = np.asarray(y, dtype=float), np.asarray(mu, dtype=float)
    if y.ndim != 1 or mu.shape != y.shape:
        with np.errstate(divide="ignore"):
            d = 2.0 * (special.xlogy(y, y) - special.xlogy(y, mu) - (y - mu))
        return float(d.sum())
    # rows without events contribute 2 mu exactly: the logarithms on the rows with events only,
    # summed in the same order as the plain formula (the same bits)
    d = 2.0 * mu
    pos = np.flatnonzero(y)
    yp, mp = y[pos], mu[pos]
    with np.errstate(divide="ignore"):
        d[pos] = 2.0 * (special.xlogy(yp, yp) - special.xlogy(yp, mp) - (yp - mp))
    return float(d.sum())


def nb_deviance(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    """Total NB2 deviance at a given alpha (Poisson deviance at alpha = 0)."""
    if alpha <= 0:
        return poisson_deviance(y, mu)
    r = 1.0 / alpha
    d = 2.0 * (special.xlogy(y, y) - special.xlogy(y, mu)
               - (y + r) * (np.log1p(alpha * y) - np.log1p(alpha * mu)))
    return float(d.sum())


# ---------------------------------------------------------------------- NB2 dispersion
def _alpha_terms(y, mu, t):
    """Log-likelihood in t = log(alpha) and its first two derivatives (means fixed)."""
    r = np.exp(-t)
    pos = y > 0
    yp = y[pos]
    ll = (np.sum(special.gammaln(yp + r) - special.gammaln(r))
          + np.sum(r * np.log(r / (r + mu))) - np.sum(special.xlogy(y, r + mu)))
    lr = (np.sum(special.digamma(yp + r) - special.digamma(r))
          + np.sum(np.log(r / (r + mu)) + 1.0 - (r + y) / (r + mu)))
    lrr = (np.sum(special.polygamma(1, yp + r) - special.polygamma(1, r))
           + np.sum(1.0 / r - 1.0 / (r + mu) - (mu - y) / (r + mu) ** 2))
    return ll, -r * lr, r * lr + r * r * lrr


def nb_alpha_ml(y: np.ndarray, mu: np.ndarray, alpha0: float) -> tuple[float, float]:
    """ML estimate of NB2 alpha at fixed means, and its standard error (observed information).

    Newton on log(alpha) with step halving. Returns ``(ALPHA_MIN, nan)`` when the likelihood keeps
    increasing towards alpha = 0 (no over-dispersion: the model is Poisson).
    """
    t = float(np.log(max(alpha0, 1e-4)))
    ll, g, h = _alpha_terms(y, mu, t)
    lo = np.log(ALPHA_MIN)
    for _ in range(100):
        step = -g / h if h < 0 else np.sign(g) * 1.0
        step = float(np.clip(step, -3.0, 3.0))
        for _half in range(40):
            t_new = max(t + step, lo)
            ll_new, g_new, h_new = _alpha_terms(y, mu, t_new)
            if ll_new >= ll - 1e-12 * abs(ll):
                break
            step /= 2.0
        done = abs(t_new - t) < 1e-12 or (t_new == lo and g_new < 0)
        t, ll, g, h = t_new, ll_new, g_new, h_new
        if done:
            break
    if t <= lo + 1e-9:
        return ALPHA_MIN, float("nan")
    alpha = float(np.exp(t))
    se = float(alpha * np.sqrt(-1.0 / h)) if h < 0 else float("nan")
    return alpha, se


def _alpha_notes(alpha: float) -> list[str]:
    if alpha > ALPHA_MIN:
        return []
    return [f"NB2 alpha at its boundary 0 (set to {ALPHA_MIN:g}; no standard error): the data "
            "show no over-dispersion and the fit equals the Poisson one"]


def _alpha_moment(y, mu) -> float:
    return float(max(np.sum((y - mu) ** 2 - y) / np.sum(mu**2), 1e-3))


# ---------------------------------------------------------------------- statsmodels
def _sm_glm(X, y, offset, alpha, start, what):
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as SmConvergenceWarning

    fam = (sm.families.Poisson() if alpha <= 0
           else sm.families.NegativeBinomial(alpha=alpha))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmConvergenceWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        try:
            # statsmodels' default criterion is an absolute change in deviance, unreachable at
            # tight tolerances on large data: stop on the change in parameters instead
            res = sm.GLM(y, X, family=fam, offset=offset).fit(
                start_params=start, tol=1e-11, tol_criterion="params", maxiter=200)
        except SmConvergenceWarning as err:
            raise ConvergenceError(f"{what}: statsmodels IRLS did not converge ({err})") from None
    if not getattr(res, "converged", True):
        raise ConvergenceError(f"{what}: statsmodels IRLS did not converge in 200 iterations")
    return res


def fit_statsmodels(family: str, X: np.ndarray, y: np.ndarray, offset: np.ndarray,
                    Z: np.ndarray | None = None, *, what: str = "FrequencyGLM", start=None,
                    covariance: bool = True) -> EngineFit:
    """Fit with statsmodels on a dense design ``X`` (intercept first; ``Z`` for inflation).

    Zero-inflated families only: ``start`` (statsmodels' order: inflation, count, alpha) replaces
    the default start, and ``covariance=False`` skips the covariance (NaN; for a model used only
    to predict, e.g. on a cross-validation fold: ZINB's Hessian is numerical and costly).
    """
    with limit_threads(rows=len(y)):
        return _fit_statsmodels(family, X, y, offset, Z, what, start, covariance)


def _fit_statsmodels(family, X, y, offset, Z, what, start, covariance):
    if family in ("zip", "zinb"):
        return _fit_sm_zero_inflated(family, X, y, offset, Z, what, start, covariance)
    res = _sm_glm(X, y, offset, 0.0, None, what)
    if family == "poisson":
        return EngineFit(np.asarray(res.params), np.asarray(res.cov_params()),
                         n_iter=int(res.fit_history["iteration"]))
    mu = np.asarray(res.fittedvalues)
    alpha, _ = nb_alpha_ml(y, mu, _alpha_moment(y, mu))
    beta = np.asarray(res.params)
    for it in range(1, 101):
        res = _sm_glm(X, y, offset, alpha, beta, what)
        beta_new, mu = np.asarray(res.params), np.asarray(res.fittedvalues)
        alpha_new, alpha_se = nb_alpha_ml(y, mu, alpha)
        dbeta = np.max(np.abs(beta_new - beta))
        dalpha = abs(np.log(alpha_new) - np.log(alpha))
        beta, alpha = beta_new, alpha_new
        if dbeta < 1e-10 and dalpha < 1e-10:
            return EngineFit(beta, np.asarray(res.cov_params()), alpha=alpha, alpha_se=alpha_se,
                             n_iter=it, notes=_alpha_notes(alpha))
    raise ConvergenceError(f"{what}: beta/alpha alternation did not converge in 100 rounds "
                           f"(last change in beta {dbeta:.2g}, in log alpha {dalpha:.2g})")


def _fit_sm_zero_inflated(family, X, y, offset, Z, what, given_start=None, covariance=True):
    import statsmodels.api as sm
    from statsmodels.discrete.count_model import (
        ZeroInflatedNegativeBinomialP,
        ZeroInflatedPoisson,
    )

    Z = np.ones((len(y), 1)) if Z is None else Z
    kz, kx = Z.shape[1], X.shape[1]
    # start from the Poisson/NB fit and a logit of the excess zeros: a plain start often stalls
    base = _sm_glm(X, y, offset, 0.0, None, what)
    mu = np.asarray(base.fittedvalues)
    excess = max(np.mean(y == 0) - np.mean(np.exp(-mu)), 0.01)
    start = [np.log(excess / (1 - excess))] + [0.0] * (kz - 1) + list(np.asarray(base.params))
    if family == "zip":
        model = ZeroInflatedPoisson(y, X, exog_infl=Z, offset=offset, inflation="logit")
    else:
        model = ZeroInflatedNegativeBinomialP(y, X, exog_infl=Z, offset=offset,
                                              inflation="logit", p=2)
        start.append(_alpha_moment(y, mu))
    if given_start is not None and len(given_start) == len(start):
        start = list(given_start)
    # BFGS with the analytic score; statsmodels' Newton uses a numerical Hessian for ZINB and
    # is both slower and less stable there
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(start_params=np.asarray(start), method="bfgs", maxiter=5000, disp=0,
                            gtol=1e-7)
        conv = bool(res.mle_retvals.get("converged", False))
        params = np.asarray(res.params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not covariance:
                cov = np.full((len(params), len(params)), np.nan)
            elif family == "zip":
                # statsmodels' analytic ZIP Hessian is not the derivative of its analytic score
                # (tests/test_zero_inflated.py): differentiate the score numerically instead
                from statsmodels.tools.numdiff import approx_fprime

                h = approx_fprime(params, model.score, centered=True)
                cov = np.linalg.pinv(-(h + h.T) / 2.0)
            else:
                try:
                    cov = np.asarray(res.cov_params())
                except ValueError:  # singular Hessian: typically the inflation part at its boundary
                    cov = np.linalg.pinv(-model.hessian(params))
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
        # a degenerate likelihood (no excess zeros, no extra dispersion) makes the Hessian
        # singular or non-finite; that is a fit without an interior maximum, not a crash
        raise ConvergenceError(
            f"{what}: {type(model).__name__} has no interior maximum on these data "
            f"({type(err).__name__}: {err}); the data show no excess zeros or no extra "
            "dispersion: use family='poisson' or 'negbin'") from None
    pi = 1.0 / (1.0 + np.exp(-(Z @ params[:kz])))
    boundary = bool(np.max(pi) < 1e-4)
    finite_count = not covariance or np.all(np.isfinite(np.diag(cov)[kz:kz + kx]))
    if not conv or not np.all(np.isfinite(params)) or not finite_count:
        raise ConvergenceError(
            f"{what}: statsmodels {type(model).__name__} did not converge "
            f"(BFGS iterations {res.mle_retvals.get('iterations')}); try fewer zero_factors "
            "or the family without zero inflation")
    notes = []
    if boundary:
        notes.append("zero-inflation probability at its boundary 0 (largest fitted "
                     f"{np.max(pi):.2g}): the data show no excess zeros; the model without "
                     "zero inflation is the same fit")
        d = np.diag(cov).copy()
        d[:kz] = np.inf
        cov[:kz, :kz] = np.diag(d[:kz])
    sl_x = slice(kz, kz + kx)
    fit = EngineFit(params[sl_x], cov[sl_x, sl_x], gamma=params[:kz], gamma_cov=cov[:kz, :kz],
                    n_iter=int(res.mle_retvals.get("iterations", 0)), notes=notes)
    if family == "zinb":
        fit.alpha = float(params[-1])
        fit.alpha_se = float(np.sqrt(cov[-1, -1]))
        if fit.alpha < 1e-8 or (covariance and not math.isfinite(fit.alpha_se)):
            raise ConvergenceError(f"{what}: ZINB alpha estimate {fit.alpha:.3g} is at its "
                                   "boundary 0 (no extra dispersion beyond the zero inflation); "
                                   "use family='zip'")
    _ = sm  # statsmodels.api import registers the families used above
    return fit


# ---------------------------------------------------------------------- glum
def _information(Xt, w, n):
    """Fisher information [[sum w, w'X], [X'w, X'WX]] with the intercept first."""
    p = 1 + (Xt.shape[1] if Xt is not None else 0)
    info = np.empty((p, p))
    info[0, 0] = w.sum()
    if Xt is not None:
        xw = Xt.transpose_matvec(w)
        info[0, 1:] = info[1:, 0] = xw
        s = Xt.sandwich(w)
        info[1:, 1:] = s.toarray() if hasattr(s, "toarray") else np.asarray(s)
    return info


def _score(Xt, r):
    return np.concatenate([[r.sum()], Xt.transpose_matvec(r)]) if Xt is not None else np.array(
        [r.sum()])


def _eta(Xt, beta, offset):
    return offset + beta[0] + (Xt.matvec(beta[1:]) if Xt is not None else 0.0)


def _newton_polish(Xt, y, offset, beta, alpha, what, max_steps=20, fitted=True):
    """Newton/Fisher-scoring steps at fixed alpha until the step is below 1e-10 (log scale).

    Returns (beta, covariance, fitted means, information). The information X'WX is the
    costliest part on large data; once a step is below 1e-6 the estimate is that close to the
    optimum, so the information is kept for the remaining steps (they still converge: the
    linear rate is the relative change of the weights, ~1e-6) and its inverse is the covariance,
    exact to ~1e-6 relative. A glum estimate is within ~1e-9 (1e5 rows) to ~5e-7 (1e6 rows):
    one X'WX in all. At fixed alpha = 0 (Poisson) a step below 1e-6 taken with the information
    at its own starting point also ends the iterations: Newton converges quadratically there, so
    the estimate is within ~1e-12 of the optimum (measured 1.5e-13 at 1e6 rows) without another
    pass over the rows to measure a step below 1e-10. ``fitted=False`` skips the fitted means at
    the estimate (None; a Poisson fit does not use them: one pass over the rows less).
    """
    info, size = None, np.inf
    for _ in range(max_steps):
        mu = np.exp(_eta(Xt, beta, offset))
        denom = 1.0 + alpha * mu
        fresh = info is None or size > 1e-6
        if fresh:
            info = _information(Xt, mu / denom, len(y))
        score = _score(Xt, (y - mu) / denom)
        with limit_threads(rows=1):  # a p x p system: a second BLAS thread only adds stalls
            step = np.linalg.solve(info, score)
        beta = beta + step
        size = float(np.max(np.abs(step)))
        # a full Newton step with the information at this point converges quadratically: after
        # a step below 1e-6 the estimate is within ~1e-12 of the optimum, one pass over the rows
        # less than measuring a step below 1e-10
        if size < 1e-10 or (fresh and alpha == 0.0 and size < 1e-6):
            with limit_threads(rows=1):
                cov = np.linalg.inv(info)
            return beta, cov, np.exp(_eta(Xt, beta, offset)) if fitted else None, info
    raise ConvergenceError(f"{what}: Newton refinement after glum did not settle "
                           f"(last step {size:.2g})")


def _glum_fit(Xt, y, offset, alpha, start, what):
    import glum
    from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning

    if Xt is None:  # intercept only: the Poisson MLE is closed form, Newton does the rest
        return np.array([np.log(y.sum() / np.exp(offset).sum())])
    family = ("poisson" if alpha <= 0 else glum.NegativeBinomialDistribution(theta=alpha))
    model = glum.GeneralizedLinearRegressor(
        family=family, link="log", alpha=0.0, fit_intercept=True, scale_predictors=False,
        gradient_tol=1e-7, max_iter=200, start_params=start, drop_first=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkConvergenceWarning)
        try:
            model.fit(Xt, y, offset=offset)
        except SkConvergenceWarning as err:
            raise ConvergenceError(f"{what}: glum did not converge ({err})") from None
    return np.concatenate([[model.intercept_], np.asarray(model.coef_)])


def fit_glum(family: str, Xt, y: np.ndarray, offset: np.ndarray, *,
             what: str = "FrequencyGLM") -> EngineFit:
    """Fit Poisson or NB2 with glum on a tabmat design (no intercept column; None if no factor)."""
    with limit_threads(rows=len(y)):
        return _fit_glum(family, Xt, y, offset, what)


def _fit_glum(family, Xt, y, offset, what):
    beta = _glum_fit(Xt, y, offset, 0.0, None, what)
    beta, cov, mu, info = _newton_polish(Xt, y, offset, beta, 0.0, what,
                                         fitted=family != "poisson")
    if family == "poisson":
        return EngineFit(beta, cov, n_iter=1, info=info)
    alpha, _ = nb_alpha_ml(y, mu, _alpha_moment(y, mu))
    for it in range(1, 101):
        # glum fits the first NB2 model; later rounds move alpha a little and Newton from the
        # previous estimate converges in two or three steps
        b = _glum_fit(Xt, y, offset, alpha, None, what) if it == 1 else beta
        b, cov, mu, info = _newton_polish(Xt, y, offset, b, alpha, what)
        alpha_new, alpha_se = nb_alpha_ml(y, mu, alpha)
        dbeta = np.max(np.abs(b - beta))
        dalpha = abs(np.log(alpha_new) - np.log(alpha))
        beta, alpha = b, alpha_new
        if dbeta < 1e-10 and dalpha < 1e-10:
            return EngineFit(beta, cov, alpha=alpha, alpha_se=alpha_se, n_iter=it,
                             notes=_alpha_notes(alpha), info=info)
    raise ConvergenceError(f"{what}: beta/alpha alternation did not converge in 100 rounds "
                           f"(last change in beta {dbeta:.2g}, in log alpha {dalpha:.2g})")


# ---------------------------------------------------------------------- own Newton (Poisson)
class _DenseOps:
    """The design operations of the Newton iterations on a dense design (intercept column first)."""

    def __init__(self, X: np.ndarray):
        self.X = X

    def eta(self, beta, offset):
        return offset + self.X @ beta

    def score(self, r):
        return self.X.T @ r

    def info(self, w):
        return self.X.T @ (self.X * w[:, None])


class _CategoricalOps:
    """The same on a tabmat design without its intercept column (None: intercept only).

    X'WX comes from tabmat's categorical sandwich (sums of the weights by pairs of levels), never
    from dense dummies.
    """

    def __init__(self, Xt):
        self.Xt = Xt

    def eta(self, beta, offset):
        return _eta(self.Xt, beta, offset)

    def score(self, r):
        return _score(self.Xt, r)

    def info(self, w):
        return _information(self.Xt, w, len(w))


def _marginal_totals_start(beta, mu, y, level_codes, max_sweeps=8):
    """Block coordinate ascent from ``beta`` (updated in place) by the method of marginal totals.

    Given the other coefficients, the Poisson likelihood of one categorical factor's levels is
    maximised in closed form by scaling each level's fitted total to its observed total
    (Bailey's marginal totals), so a sweep over the factors never lowers the likelihood. A sweep
    costs one bincount and one gather per factor, a fraction of one X'WX. Sweeps continue while
    they converge fast: they stop when the largest change of a sweep is below 1e-6 (while each
    sweep shrinks the change by 4 or more, the estimate is then within ~3e-7 of the optimum and
    the Newton iterations end after one step) or shrank by less than a factor 4 from the sweep
    before
    (correlated factors: Newton's quadratic convergence does better), or after ``max_sweeps``.
    ``level_codes``: per factor in the design's column order, ``(codes, number of levels)`` with
    code 0 the base, or None for a numeric factor (one column, left at its value). ``mu``: the
    fitted means at ``beta``. Returns the number of sweeps; 0 (``beta`` untouched) when a level
    has no event or no fitted mean.
    """
    observed = [None if lc is None else np.bincount(lc[0], weights=y, minlength=lc[1])
                for lc in level_codes]
    if any(o is not None and np.any(o <= 0) for o in observed):
        return 0
    new, m = beta.copy(), mu.copy()
    last, sweeps = np.inf, 0
    while sweeps < max_sweeps:
        j, change, sweeps = 1, 0.0, sweeps + 1
        for lc, obs in zip(level_codes, observed, strict=True):
            if lc is None:
                j += 1
                continue
            fitted = np.bincount(lc[0], weights=m, minlength=lc[1])
            if not np.all(np.isfinite(fitted) & (fitted > 0)):
                return 0
            delta = np.log(obs / fitted)
            new[0] += delta[0]  # the base level's change moves the intercept
            new[j:j + lc[1] - 1] += delta[1:] - delta[0]
            m *= np.exp(delta)[lc[0]]
            j += lc[1] - 1
            change = max(change, float(np.max(np.abs(delta))))
        if change < 1e-6 or change > last / 4:
            break
        last = change
    beta[:] = new
    return sweeps


def _poisson_newton(ops, y, offset, beta, what, max_steps, quadratic_stop):
    """Newton-Raphson with step halving for the Poisson log-link GLM from ``beta``.

    Stops when the largest step is below 1e-10 on the log scale, with the information at the
    estimate. ``quadratic_stop``: a full step below 1e-6 taken with the information at its own
    start also stops (Newton converges quadratically: the estimate is then within ~1e-12 of the
    optimum, one Newton step less); the covariance is the inverse information at the estimate
    either way (one more X'WX: the information at the step's start would make the standard errors
    exact only to about the step's size, ~1e-7 relative).
    """
    eta = ops.eta(beta, offset)
    mu = np.exp(eta)
    ll = float(y @ eta - mu.sum())  # the log-likelihood without its constant -sum log y!
    size = np.inf
    for it in range(1, max_steps + 1):
        info = ops.info(mu)
        step = np.linalg.solve(info, ops.score(y - mu))
        t = 1.0
        with np.errstate(over="ignore", invalid="ignore"):
            while True:
                eta_new = ops.eta(beta + t * step, offset)
                mu_new = np.exp(eta_new)
                ll_new = float(y @ eta_new - mu_new.sum())
                # equality within rounding counts as no loss: near the optimum ll is flat
                if (np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll)) or t < 1e-10:
                    break
                t /= 2
        if not np.isfinite(ll_new):
            break
        beta, mu, ll = beta + t * step, mu_new, ll_new
        size = float(np.max(np.abs(t * step)))
        if size < 1e-10 or (quadratic_stop and t == 1.0 and size < 1e-6):
            info = ops.info(mu)
            return EngineFit(beta, np.linalg.inv(info), n_iter=it, info=info)
    raise ConvergenceError(f"{what}: Newton-Raphson did not settle in {max_steps} steps "
                           f"(last step {size:.2g})")


def _intercept_start(y, offset, p):
    beta = np.zeros(p)
    beta[0] = math.log(y.sum() / np.exp(offset).sum())
    return beta


def fit_poisson_newton(X: np.ndarray, y: np.ndarray, offset: np.ndarray, *,
                       what: str = "FrequencyGLM", max_steps: int = 100) -> EngineFit:
    """Poisson log-link GLM by Newton-Raphson on a dense design (intercept column first).

    Starts at the intercept-only estimate; a step that lowers the log-likelihood is halved (the
    Poisson log-likelihood is concave in beta, so halving always finds an ascent). Stops when the
    largest step is below 1e-10 on the log scale; the covariance is the inverse Fisher information
    at the estimate (statsmodels' formula).

    >>> X = np.column_stack([np.ones(4), [0.0, 0.0, 1.0, 1.0]])
    >>> fit = fit_poisson_newton(X, np.array([1.0, 3.0, 4.0, 4.0]), np.zeros(4))
    >>> np.round(np.exp(fit.beta), 6).tolist()  # rate 2 at level 0, relativity 4 / 2
    [2.0, 2.0]
    """
    return _poisson_newton(_DenseOps(X), y, offset, _intercept_start(y, offset, X.shape[1]),
                           what, max_steps, quadratic_stop=False)


def fit_poisson_categorical(Xt, y: np.ndarray, offset: np.ndarray, *,
                            level_codes: list | None = None, what: str = "FrequencyGLM",
                            max_steps: int = 100) -> EngineFit:
    """Poisson log-link GLM by Newton-Raphson on a tabmat design (no intercept column; None if
    there is no factor), for tables too large for dense dummies.

    The iterations of :func:`fit_poisson_newton` (step halving) with X'WX from tabmat's
    categorical sandwich, on one thread (measured as fast as two on 1e5-1e6 rows, at half the
    CPU). ``level_codes`` (see :func:`_marginal_totals_start`) lets sweeps of marginal totals
    improve the intercept-only start. Stops at a full step below 1e-6 from a fresh information
    (quadratic convergence: the estimate is within ~1e-12 of the optimum); the covariance is the
    inverse information at the estimate.

    >>> import pandas as pd, tabmat
    >>> cat = pd.Categorical.from_codes([0, 0, 1, 1], categories=["a", "b"])
    >>> Xt = tabmat.CategoricalMatrix(cat, drop_first=True)
    >>> fit = fit_poisson_categorical(Xt, np.array([1.0, 3.0, 4.0, 4.0]), np.zeros(4))
    >>> np.round(np.exp(fit.beta), 6).tolist()  # rate 2 at level a, relativity 4 / 2
    [2.0, 2.0]
    """
    with limit_threads(rows=1):
        beta = _intercept_start(y, offset, 1 + (Xt.shape[1] if Xt is not None else 0))
        if level_codes:
            _marginal_totals_start(beta, np.exp(offset + beta[0]), y, level_codes)
        return _poisson_newton(_CategoricalOps(Xt), y, offset, beta, what, max_steps,
                               quadratic_stop=True)
