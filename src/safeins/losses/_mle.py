"""Maximum likelihood on a transformed scale, with observed-information standard errors.

Parameters are optimised on an unconstrained scale (log for positive parameters, logit for
probabilities, identity for real ones). The covariance is the inverse of the numerical Hessian of
the negative log-likelihood on that scale, carried back to the natural scale by the delta method
(at the maximum this equals the inverse observed information in the natural parameters).

>>> import numpy as np
>>> x = np.array([1.0, 2.0, 3.0, 6.0])
>>> nll = lambda th: -np.sum(-np.log(th[0]) - x / th[0])      # exponential, mean theta
>>> res = fit_mle(nll, [1.0], ["log"])
>>> round(float(res.nat[0]), 6), round(float(res.se[0]), 6)  # MLE mean, se mean/sqrt(n)
(3.0, 1.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._base.lazy import lazy_module
from .._base.threads import limit_threads
from ..errors import ConvergenceError

optimize = lazy_module("scipy.optimize")
special = lazy_module("scipy.special")

__all__ = ["MLEResult", "fit_mle", "numerical_hessian"]


def _to_nat(t, transforms):
    out = np.empty(len(t))
    for i, (v, tr) in enumerate(zip(t, transforms, strict=True)):
        if tr == "log":
            out[i] = math.exp(v)
        elif tr == "logit":
            out[i] = special.expit(v)
        elif tr == "log1p":  # parameters > -1
            out[i] = math.expm1(v)
        else:
            out[i] = v
    return out


def _to_t(nat, transforms):
    out = np.empty(len(nat))
    for i, (v, tr) in enumerate(zip(nat, transforms, strict=True)):
        if tr == "log":
            out[i] = math.log(v)
        elif tr == "logit":
            out[i] = special.logit(v)
        elif tr == "log1p":
            out[i] = math.log1p(v)
        else:
            out[i] = v
    return out


def _dnat_dt(nat, transforms):
    deriv = {"log": lambda v: v, "logit": lambda v: v * (1 - v), "log1p": lambda v: 1 + v}
    return np.array(
        [deriv.get(tr, lambda v: 1.0)(v) for v, tr in zip(nat, transforms, strict=True)]
    )


def numerical_hessian(f, x, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function (step relative to max(1, |x_i|))."""
    x = np.asarray(x, dtype=float)
    n = x.size
    h = step * np.maximum(1.0, np.abs(x))
    H = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    return H


@dataclass
class MLEResult:
    """Estimates on both scales, covariance on the natural scale, and the maximised loglik."""

    nat: np.ndarray
    t: np.ndarray
    cov: np.ndarray
    se: np.ndarray
    loglik: float
    converged: bool
    message: str


def fit_mle(nll_nat, start_nat, transforms, what: str = "fit") -> MLEResult:
    """Minimise ``nll_nat(natural params)`` over the transformed scale; covariance by Hessian.

    Runs with BLAS/OpenMP capped to one thread: these fits are small, and on a loaded machine
    idle threads cost far more than they save.
    """
    with limit_threads(rows=0):
        return _fit_mle(nll_nat, start_nat, transforms, what)


def _fit_mle(nll_nat, start_nat, transforms, what):

    def nll_t(t):
        try:
            with np.errstate(all="ignore"):
                v = float(nll_nat(_to_nat(t, transforms)))
        except (OverflowError, ValueError, ZeroDivisionError):
            return math.inf
        return v if math.isfinite(v) else math.inf

    t0 = _to_t(np.asarray(start_nat, dtype=float), transforms)
    if not math.isfinite(nll_t(t0)):
        raise ConvergenceError(f"{what}: the log-likelihood is not finite at the starting values")
    f0 = nll_t(t0)
    best = optimize.minimize(
        nll_t,
        t0,
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-10 * max(1.0, abs(f0)), "maxiter": 2000},
    )
    polish = optimize.minimize(nll_t, best.x, method="BFGS", options={"gtol": 1e-8})
    if math.isfinite(polish.fun) and polish.fun <= best.fun:
        best = polish
    if not math.isfinite(best.fun):
        raise ConvergenceError(f"{what}: the optimiser found no finite log-likelihood")
    that = best.x
    nat = _to_nat(that, transforms)
    H = numerical_hessian(nll_t, that)
    try:
        if not np.all(np.isfinite(H)) or np.any(np.linalg.eigvalsh(H) <= 0):
            raise np.linalg.LinAlgError("the Hessian is not positive definite")
        cov_t = np.linalg.inv(H)
        J = np.diag(_dnat_dt(nat, transforms))
        cov = J @ cov_t @ J
        se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        cov = np.full((len(nat), len(nat)), np.nan)
        se = np.full(len(nat), np.nan)
    # the gradient on the transformed scale tells whether we stopped at a maximum
    g = optimize.approx_fprime(that, nll_t, 1e-7)
    ok = bool(np.all(np.abs(g) < 1e-3 * max(1.0, abs(best.fun)))) and bool(np.all(np.isfinite(se)))
    return MLEResult(nat, that, cov, se, -float(best.fun), ok, str(best.message))
