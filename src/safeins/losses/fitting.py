"""Severity fitting by maximum likelihood with deductibles (left truncation) and limits (censoring).

``fit_severity(data, family, truncation=None, censoring=None, weights=None)`` maximises

    Σ_i w_i [ (1 - c_i) log f(x_i) + c_i log S(x_i) - log S(d_i) ]

where ``x_i`` are ground-up loss amounts, ``d_i`` the truncation point (deductible: the loss is
seen only if it exceeds d_i) and ``c_i`` = 1 when the loss is right-censored at ``x_i`` (it reached
the policy limit: the true loss is at least x_i). Parameters are optimised on a log scale (an
identity scale for real parameters); standard errors come from the observed information (numerical
Hessian) carried back by the delta method.

Goodness of fit is measured on the truncation/censoring-adjusted distribution
``F*(x) = (F(x) - F(t)) / S(t)`` (t the smallest truncation point) against the product-limit
(Kaplan-Meier with left truncation) estimate, which is the empirical cdf when there is no
truncation or censoring: the Kolmogorov-Smirnov statistic ``max |F_n - F*|`` and the
Anderson-Darling statistic in Loss Models' form (section 16.4) for truncated and censored data.

>>> import numpy as np
>>> from safeins.losses import Gamma, fit_severity
>>> x = Gamma(2.0, 500.0).rvs(2000, seed=1)
>>> fit = fit_severity(x, "gamma")
>>> {k: round(v, -1 if k == "theta" else 1) for k, v in fit.params_.items()}
{'alpha': 2.0, 'theta': 500.0}
>>> fit.ks_ < 0.05
True
"""

from __future__ import annotations

import math

import numpy as np

from .._base.lazy import lazy_module
from .._base.results import ResultMixin
from ..errors import ConvergenceError, Problem, Problems, ValidationError
from ._mle import MLEResult, fit_mle
from .severity import (
    Burr,
    Exponential,
    Gamma,
    GeneralizedPareto,
    InverseGaussian,
    LogLogistic,
    LogNormal,
    Pareto,
    Weibull,
)

special = lazy_module("scipy.special")
stats = lazy_module("scipy.stats")

__all__ = ["SeverityFit", "compare_severity", "fit_severity"]

# name -> (class, fitted parameter names, transforms)
_FAMILIES = {
    "exponential": (Exponential, ("theta",), ("log",)),
    "gamma": (Gamma, ("alpha", "theta"), ("log", "log")),
    "lognormal": (LogNormal, ("mu", "sigma"), ("id", "log")),
    "weibull": (Weibull, ("tau", "theta"), ("log", "log")),
    "pareto": (Pareto, ("alpha", "theta"), ("log", "log")),
    "genpareto": (GeneralizedPareto, ("xi", "sigma"), ("id", "log")),
    "burr": (Burr, ("alpha", "theta", "gamma"), ("log", "log", "log")),
    "loglogistic": (LogLogistic, ("gamma", "theta"), ("log", "log")),
    "invgauss": (InverseGaussian, ("mu", "theta"), ("log", "log")),
}
_ALIASES = {
    "expon": "exponential",
    "exp": "exponential",
    "lognorm": "lognormal",
    "weibull_min": "weibull",
    "lomax": "pareto",
    "gpd": "genpareto",
    "generalized_pareto": "genpareto",
    "generalizedpareto": "genpareto",
    "burr12": "burr",
    "fisk": "loglogistic",
    "llogis": "loglogistic",
    "inverse_gaussian": "invgauss",
    "inversegaussian": "invgauss",
}
_BY_CLASS = {cls: name for name, (cls, _, _) in _FAMILIES.items()}

#: the families :func:`compare_severity` tries by default
DEFAULT_FAMILIES = (
    "exponential",
    "gamma",
    "lognormal",
    "weibull",
    "pareto",
    "burr",
    "loglogistic",
    "invgauss",
)


def _family_name(family) -> str | None:
    if isinstance(family, type):
        return _BY_CLASS.get(family)
    if isinstance(family, str):
        f = family.lower().replace("-", "_").replace(" ", "_")
        f = _ALIASES.get(f, f)
        return f if f in _FAMILIES else None
    return None


# --- data -------------------------------------------------------------------------------------
class _Data:
    """Validated losses with truncation points, censoring flags and weights."""

    def __init__(self, data, truncation, censoring, weights, what):
        probs = Problems(what)
        x = _floats(data, "data", probs)
        if x is None:
            probs.raise_if_any()
        n = x.size
        if n == 0:
            probs.add(column="data", value=data, rule="at least one loss")
            probs.raise_if_any()
        for i in np.flatnonzero(~np.isfinite(x) | (x <= 0))[:200]:
            probs.add(row=int(i), column="data", value=float(x[i]), rule="a finite loss > 0")
        d = np.zeros(n) if truncation is None else _per_row(truncation, n, "truncation", probs)
        if d is not None:
            for i in np.flatnonzero(~np.isfinite(d) | (d < 0))[:200]:
                probs.add(
                    row=int(i),
                    column="truncation",
                    value=float(d[i]),
                    rule="a finite deductible >= 0",
                )
        cens = np.zeros(n, dtype=bool)
        if censoring is not None:
            arr = np.asarray(censoring)
            if arr.dtype == bool:
                if arr.shape != (n,):
                    probs.add(
                        column="censoring",
                        value=f"{arr.size} flags",
                        rule=f"one flag per loss ({n})",
                    )
                else:
                    cens = arr.copy()
            else:
                u = _per_row(censoring, n, "censoring", probs)
                if u is not None:
                    for i in np.flatnonzero(np.isnan(u) | (u <= 0))[:200]:
                        probs.add(
                            row=int(i),
                            column="censoring",
                            value=float(u[i]),
                            rule="a limit > 0 (inf for none)",
                        )
                    with np.errstate(invalid="ignore"):
                        over = x > u
                    for i in np.flatnonzero(over)[:200]:
                        probs.add(
                            row=int(i),
                            column="data",
                            value=float(x[i]),
                            rule=f"must be <= its censoring limit {float(u[i]):g}",
                        )
                    with np.errstate(invalid="ignore"):
                        cens = x >= u
        w = np.ones(n) if weights is None else _per_row(weights, n, "weights", probs)
        if w is not None:
            for i in np.flatnonzero(~np.isfinite(w) | (w <= 0))[:200]:
                probs.add(row=int(i), column="weights", value=float(w[i]), rule="finite and > 0")
        if not probs and d is not None:
            with np.errstate(invalid="ignore"):
                below = x <= d
            for i in np.flatnonzero(below)[:200]:
                probs.add(
                    row=int(i),
                    column="data",
                    value=float(x[i]),
                    rule=f"must exceed its truncation point {float(d[i]):g}",
                )
        if not probs and np.all(cens):
            probs.add(
                column="censoring",
                value="every loss censored",
                rule="at least one uncensored loss is needed",
            )
        probs.raise_if_any()
        self.x, self.d, self.cens, self.w = x, d, cens, w
        self.truncated = bool(np.any(d > 0))
        self.t = float(d.min())
        self.n = float(w.sum())

    def loglik(self, dist) -> float:
        x, d, c, w = self.x, self.d, self.cens, self.w
        val = np.where(c, dist.logsf(x), dist.logpdf(x))
        if self.truncated:
            val = val - np.where(d > 0, dist.logsf(np.maximum(d, 0)), 0.0)
        return float(np.sum(w * val))


def _floats(v, name, probs):
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        probs.add(column=name, value=v, rule="numbers")
        return None
    return a.ravel()


def _per_row(v, n, name, probs):
    a = _floats(v, name, probs)
    if a is None:
        return None
    if a.size == 1:
        return np.full(n, float(a[0]))
    if a.size != n:
        probs.add(
            column=name, value=f"{a.size} values", rule=f"a scalar or one value per loss ({n})"
        )
        return None
    return a


# --- fast log densities for the likelihood (a frozen scipy object costs ~ms to build) -----------
def _ll_gamma(th, x, sf):
    a, t = th
    if sf:
        return np.log(special.gammaincc(a, x / t))
    return (a - 1) * np.log(x) - x / t - special.gammaln(a) - a * math.log(t)


def _ll_lognormal(th, x, sf):
    m, s = th
    z = (np.log(x) - m) / s
    if sf:
        return special.log_ndtr(-z)
    return -np.log(x) - math.log(s) - 0.5 * math.log(2 * math.pi) - 0.5 * z * z


def _ll_weibull(th, x, sf):
    tau, t = th
    r = (x / t) ** tau
    if sf:
        return -r
    return math.log(tau / t) + (tau - 1) * np.log(x / t) - r


def _ll_burr3(a, t, g, x, sf):
    lr = g * np.log(x / t)
    l1p = np.logaddexp(0.0, lr)  # log(1 + (x/θ)^γ) without overflow
    if sf:
        return -a * l1p
    return math.log(a * g) + lr - np.log(x) - (a + 1) * l1p


def _ll_genpareto(th, x, sf):
    xi, s = th
    if xi == 0:
        return -x / s if sf else -x / s - math.log(s)
    arg = xi * x / s
    with np.errstate(invalid="ignore", divide="ignore"):
        l1 = np.where(arg > -1, np.log1p(np.maximum(arg, -1 + 1e-300)), -np.inf)
        if sf:
            return np.where(arg > -1, -l1 / xi, -np.inf)
        return np.where(arg > -1, -math.log(s) - (1 / xi + 1) * l1, -np.inf)


def _ll_invgauss(th, x, sf):
    mu, t = th
    if sf:
        return stats.invgauss.logsf(x, mu / t, scale=t)
    return 0.5 * np.log(t / (2 * math.pi * x**3)) - t * (x - mu) ** 2 / (2 * mu * mu * x)


_LOGLIK = {
    "gamma": _ll_gamma,
    "lognormal": _ll_lognormal,
    "weibull": _ll_weibull,
    "pareto": lambda th, x, sf: _ll_burr3(th[0], th[1], 1.0, x, sf),
    "burr": lambda th, x, sf: _ll_burr3(th[0], th[1], th[2], x, sf),
    "loglogistic": lambda th, x, sf: _ll_burr3(1.0, th[1], th[0], x, sf),
    "genpareto": _ll_genpareto,
    "invgauss": _ll_invgauss,
}


# --- starting values ------------------------------------------------------------------------------
def _start(name, data: _Data):
    x = data.x[~data.cens] if np.any(~data.cens) else data.x
    w = data.w[~data.cens] if np.any(~data.cens) else data.w
    m = float(np.average(x, weights=w))
    v = float(np.average((x - m) ** 2, weights=w)) or m * m
    lx = np.log(x)
    lm = float(np.average(lx, weights=w))
    ls = math.sqrt(float(np.average((lx - lm) ** 2, weights=w))) or 1.0
    if name == "exponential":
        return [m]
    if name == "gamma":
        return [m * m / v, v / m]
    if name == "lognormal":
        return [lm, ls]
    if name == "weibull":
        tau = math.pi / (ls * math.sqrt(6))
        return [tau, math.exp(lm + 0.5772156649 / tau)]
    if name == "pareto":
        R = (v + m * m) / (m * m)
        alpha = 2 * (R - 1) / (R - 2) if R > 2 else 3.0
        return [alpha, m * (alpha - 1)]
    if name == "genpareto":
        return [0.1, 0.9 * m]
    if name == "burr":
        return [1.0, math.exp(lm), math.pi / (ls * math.sqrt(3))]
    if name == "loglogistic":
        return [math.pi / (ls * math.sqrt(3)), math.exp(lm)]
    return [m, m**3 / v]  # invgauss


# --- result ---------------------------------------------------------------------------------------
class SeverityFit(ResultMixin):
    """A fitted severity: estimates, standard errors, likelihood criteria and fit statistics.

    Attributes: ``dist``, ``family``, ``params_``, ``bse_``, ``cov_``, ``loglik_``, ``k_``,
    ``n_obs_``, ``aic_``, ``bic_``, ``ks_``, ``ad_``, ``converged_``. Plots: :meth:`qq_plot`,
    :meth:`pp_plot`.

    >>> import safeins as si
    >>> x = si.Exponential(1000.0).rvs(size=500, seed=1)
    >>> fit = si.fit_severity(x, "exponential")
    >>> 900 < fit.params_["theta"] < 1100
    True
    """

    def __init__(self, family, dist, names, res, data: _Data):
        self.family = family
        self.dist = dist
        self.params_ = {k: float(v) for k, v in zip(names, res.nat, strict=True)}
        self.cov_ = res.cov
        self.bse_ = {k: float(s) for k, s in zip(names, res.se, strict=True)}
        self.loglik_ = float(res.loglik)
        self.converged_ = bool(res.converged)
        self.k_ = len(names)
        self.n_obs_ = int(data.x.size)
        self.aic_ = 2 * self.k_ - 2 * self.loglik_
        self.bic_ = self.k_ * math.log(data.n) - 2 * self.loglik_
        self._data = data
        self._pl = _product_limit(data)
        self.ks_ = _ks(self)
        self.ad_ = _ad(self)

    def adjusted_cdf(self, x):
        """F*(x) = (F(x) - F(t)) / S(t): the model cdf given the smallest truncation point t."""
        x = np.asarray(x, dtype=float)
        ls_t = float(self.dist.logsf(self._data.t)) if self._data.t > 0 else 0.0
        return -np.expm1(np.asarray(self.dist.logsf(x), dtype=float) - ls_t)

    def to_frame(self):
        """One row per parameter: estimate, standard error, 95% Wald interval."""
        import pandas as pd

        rows = [
            (k, v, self.bse_[k], v - 1.959964 * self.bse_[k], v + 1.959964 * self.bse_[k])
            for k, v in self.params_.items()
        ]
        return pd.DataFrame(rows, columns=["param", "estimate", "se", "ci_low", "ci_high"])

    def summary(self) -> str:
        """Text summary of the fit."""
        d = self._data
        extra = []
        if d.truncated:
            extra.append("left-truncated")
        if d.cens.any():
            extra.append(f"{int(d.cens.sum())} censored")
        lines = [
            f"{self.family} fitted by maximum likelihood to {self.n_obs_} losses"
            + (f" ({', '.join(extra)})" if extra else "")
        ]
        for k, v in self.params_.items():
            lines.append(f"  {k:<6} {v:>14.6g}  (se {self.bse_[k]:.4g})")
        lines.append(f"  loglik {self.loglik_:.4f}   AIC {self.aic_:.4f}   BIC {self.bic_:.4f}")
        lines.append(
            f"  KS {self.ks_:.5f}   AD {self.ad_:.5f}"
            + ("" if self.converged_ else "   (optimiser did not confirm a maximum)")
        )
        return "\n".join(lines)

    def _points(self):
        y, F, Fm = self._pl
        p = 0.5 * (F + Fm)  # midpoint plotting positions of the step function
        return y, p

    def qq_plot(self, ax=None, log: bool = False):
        """Empirical quantiles (uncensored losses) against the fitted adjusted quantiles.

        ``log=True`` uses logarithmic axes (heavy tails).
        """
        from .._base.plotting import axes

        ax = axes(ax)
        y, p = self._points()
        d = self._data
        ls_t = float(self.dist.logsf(d.t)) if d.t > 0 else 0.0
        q = self.dist.isf((1 - p) * math.exp(ls_t))
        ax.scatter(q, y, s=10, label="losses")
        lim = [min(q.min(), y.min()), max(q.max(), y.max())]
        ax.plot(lim, lim, color="grey", lw=1)
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(f"fitted {self.family} quantile")
        ax.set_ylabel("observed loss")
        ax.set_title("QQ plot")
        return ax

    def pp_plot(self, ax=None):
        """Empirical (product-limit) probabilities against the fitted adjusted cdf."""
        from .._base.plotting import axes

        ax = axes(ax)
        y, p = self._points()
        ax.scatter(self.adjusted_cdf(y), p, s=10)
        ax.plot([0, 1], [0, 1], color="grey", lw=1)
        ax.set_xlabel(f"fitted {self.family} F*(x)")
        ax.set_ylabel("empirical F_n(x)")
        ax.set_title("PP plot")
        return ax

    def plot(self, ax=None):
        """The QQ plot."""
        return self.qq_plot(ax)


def _product_limit(data: _Data):
    """Distinct uncensored values y_j, F_n(y_j) and F_n(y_j-) (Kaplan-Meier, left truncation)."""
    x, d, c, w = data.x, data.d, data.cens, data.w
    y = np.unique(x[~c])
    # risk set at y: entered (d < y) and still observed (x >= y)
    d_sorted = np.sort(d)
    wd = w[np.argsort(d)]
    entered = np.concatenate([[0.0], np.cumsum(wd)])[np.searchsorted(d_sorted, y, side="left")]
    order = np.argsort(x)
    xs, wx = x[order], w[order]
    left = np.concatenate([[0.0], np.cumsum(wx)])[np.searchsorted(xs, y, side="left")]
    risk = entered - left
    deaths = np.bincount(np.searchsorted(y, x[~c]), weights=w[~c], minlength=y.size)
    S = np.cumprod(1.0 - deaths / risk)
    F = 1.0 - S
    Fm = np.concatenate([[0.0], F[:-1]])
    return y, F, Fm


def _upper(fit):
    """The censoring point closing the range of the statistics (inf without censoring)."""
    d = fit._data
    if not d.cens.any():
        return math.inf
    y = fit._pl[0]
    cpts = d.x[d.cens]
    above = cpts[cpts >= y[-1]]
    return float(above.min()) if above.size else math.inf


def _ks(fit) -> float:
    y, F, Fm = fit._pl
    Fs = fit.adjusted_cdf(y)
    D = float(np.max(np.maximum(np.abs(F - Fs), np.abs(Fm - Fs))))
    u = _upper(fit)
    if math.isfinite(u):
        D = max(D, abs(float(F[-1]) - float(fit.adjusted_cdf(u))))
    return D


def _ad(fit) -> float:
    """Loss Models (16.4.2): A² for left-truncated, right-censored data, F_n a step function."""
    y, F, _ = fit._pl
    n = fit._data.n
    u = _upper(fit)
    ls_t = float(fit.dist.logsf(fit._data.t)) if fit._data.t > 0 else 0.0
    pts = np.concatenate([[fit._data.t], y, [u]])
    log_s = np.asarray(fit.dist.logsf(pts), dtype=float) - ls_t  # ln(1 - F*)
    log_s[0] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_f = np.log(-np.expm1(log_s))  # ln F*
        Fn = np.concatenate([[0.0], F])  # F_n(y_0 = t) = 0
        first_terms = (1 - Fn) ** 2 * (log_s[:-1] - log_s[1:])
        first = np.sum(np.where((1 - Fn) == 0, 0.0, first_terms))
        second = np.sum(F**2 * (log_f[2:] - log_f[1:-1]))
    F_u = 1.0 if not math.isfinite(u) else float(-np.expm1(log_s[-1]))
    return float(-n * F_u + n * first + n * second)


# --- public functions -----------------------------------------------------------------------------
def fit_severity(data, family, truncation=None, censoring=None, weights=None) -> SeverityFit:
    """Fit a severity family by maximum likelihood.

    Parameters
    ----------
    data : array of losses > 0
        Ground-up loss amounts (with a deductible d, the payment plus d).
    family : str or class
        ``"exponential"``, ``"gamma"``, ``"lognormal"``, ``"weibull"``, ``"pareto"`` (Lomax),
        ``"genpareto"``, ``"burr"``, ``"loglogistic"``, ``"invgauss"`` (scipy names accepted), or
        the class.
    truncation : float or array, optional
        Left-truncation point(s): each loss was observed only because it exceeded its deductible.
    censoring : float, array or boolean array, optional
        Right-censoring: a limit (scalar or one per loss, ``inf`` for none) -- a loss equal to its
        limit is censored -- or a boolean mask marking the censored losses.
    weights : array, optional
        Frequency weights.

    >>> import numpy as np
    >>> x = np.array([1200., 3000., 5000., 5000., 800.])            # two hit the 5000 limit
    >>> fit = fit_severity(x, "exponential", truncation=500, censoring=5000)
    >>> round(fit.params_["theta"], 4)                             # Σ(x - d) / #uncensored
    4166.6667
    """
    name = _family_name(family)
    label = family if isinstance(family, str) else getattr(family, "__name__", family)
    what = f"fit_severity({label})"
    if name is None:
        raise ValidationError(
            what, [Problem(None, "family", family, "one of " + ", ".join(_FAMILIES))]
        )
    d = _Data(data, truncation, censoring, weights, what)
    return _fit(name, d, what)


# dimensionless shape of each family's fit (name -> function of the fitted parameters and the
# data's median): an MLE that runs to 0 or to infinity here sits on the edge of the family (a
# point mass, or the exponential limit of a Pareto), not at an interior maximum
_SHAPES = {
    "gamma": lambda p, med: {"alpha": p[0]},
    "lognormal": lambda p, med: {"sigma": p[1]},
    "weibull": lambda p, med: {"tau": p[0]},
    "pareto": lambda p, med: {"alpha": p[0], "theta / median": p[1] / med},
    "genpareto": lambda p, med: {"sigma / median": p[1] / med},
    "burr": lambda p, med: {"alpha": p[0], "gamma": p[2], "theta / median": p[1] / med},
    "loglogistic": lambda p, med: {"gamma": p[0]},
    "invgauss": lambda p, med: {"theta / mu": p[1] / p[0]},
}
_SHAPE_RANGE = (1e-6, 1e6)


def _check_identifiable(name, d: _Data, what) -> None:
    """Raise ConvergenceError when the data cannot identify the family's parameters."""
    k = len(_FAMILIES[name][1])
    distinct = np.unique(d.x[~d.cens]).size
    if distinct < k:
        raise ConvergenceError(
            f"{what}: {k} parameters need at least {k} distinct uncensored losses, got "
            f"{distinct} ({np.unique(d.x[~d.cens])[:3].tolist()}): the likelihood has no maximum "
            "(it grows toward a point mass); fit 'exponential' or use Empirical")


def _check_interior(name, nat, d: _Data, what) -> None:
    """Raise ConvergenceError when the maximum found lies on the edge of the parameter space."""
    if not np.all(np.isfinite(nat)):
        raise ConvergenceError(f"{what}: the fit ended at non-finite parameters {nat.tolist()}")
    if name == "genpareto" and nat[0] <= -1:
        raise ConvergenceError(
            f"{what}: xi = {nat[0]:.4g} <= -1: the GPD likelihood has no maximum there (it grows "
            "without bound as the upper end approaches the largest loss); use another family")
    shapes = _SHAPES.get(name)
    if shapes is None:
        return
    lo, hi = _SHAPE_RANGE
    med = float(np.median(d.x))
    for label, v in shapes(nat, med).items():
        if not (lo <= v <= hi):
            raise ConvergenceError(
                f"{what}: {label} = {v:.4g} runs to the edge of the family (allowed "
                f"{lo:g} .. {hi:g}): the data have no interior maximum for this family "
                "(too few or too regular losses, or a lighter tail than the family allows)")


def _fit(name, d: _Data, what) -> SeverityFit:
    cls, names, transforms = _FAMILIES[name]
    _check_identifiable(name, d, what)

    if name == "exponential":
        # closed form: exposure above the deductibles over the number of uncensored losses;
        # observed information r / θ² gives se θ / sqrt(r)
        r = float(np.sum(d.w[~d.cens]))
        theta = float(np.sum(d.w * (d.x - d.d)) / r)
        res = MLEResult(
            np.array([theta]),
            np.array([math.log(theta)]),
            np.array([[theta**2 / r]]),
            np.array([theta / math.sqrt(r)]),
            d.loglik(Exponential(theta)),
            True,
            "closed form",
        )
        return SeverityFit(name, Exponential(theta), names, res, d)
    ll = _LOGLIK[name]
    x, w, c = d.x, d.w, d.cens
    xu, wu, xc, wc = x[~c], w[~c], x[c], w[c]
    trunc = d.d > 0
    xd, wd = d.d[trunc], w[trunc]

    def nll(th):
        total = np.sum(wu * ll(th, xu, False))
        if xc.size:
            total += np.sum(wc * ll(th, xc, True))
        if xd.size:
            total -= np.sum(wd * ll(th, xd, True))
        return -total

    start = _start(name, d)
    res = fit_mle(nll, start, transforms, what)
    if name in ("burr", "genpareto", "weibull", "gamma") and not res.converged:
        # a second start from the simpler family's answer
        res2 = fit_mle(nll, res.nat, transforms, what)
        if res2.loglik >= res.loglik:
            res = res2
    _check_interior(name, np.asarray(res.nat, dtype=float), d, what)
    return SeverityFit(name, cls(*res.nat), names, res, d)


def compare_severity(
    data, families=DEFAULT_FAMILIES, truncation=None, censoring=None, weights=None
):
    """Fit several families and tabulate loglik, k, AIC, BIC, KS and AD, sorted by AIC.

    A family whose fit fails gets NaN statistics and the reason in the ``note`` column.

    >>> from safeins.losses import LogNormal
    >>> x = LogNormal(8.0, 1.2).rvs(500, seed=3)
    >>> table = compare_severity(x, ["exponential", "lognormal", "gamma"])
    >>> table.index[0]
    'lognormal'
    """
    import pandas as pd

    what = "compare_severity"
    probs = Problems(what)
    names = []
    for f in families:
        n = _family_name(f)
        if n is None:
            probs.add(column="families", value=f, rule="one of " + ", ".join(_FAMILIES))
        names.append(n)
    probs.raise_if_any()
    d = _Data(data, truncation, censoring, weights, what)
    rows = []
    fits = {}
    for n in names:
        try:
            fit = _fit(n, d, f"{what}({n})")
        except Exception as err:  # one bad candidate must not sink the comparison
            rows.append(
                (
                    n,
                    math.nan,
                    len(_FAMILIES[n][1]),
                    math.nan,
                    math.nan,
                    math.nan,
                    math.nan,
                    f"{type(err).__name__}: {err}",
                )
            )
            continue
        fits[n] = fit
        rows.append(
            (
                n,
                fit.loglik_,
                fit.k_,
                fit.aic_,
                fit.bic_,
                fit.ks_,
                fit.ad_,
                "" if fit.converged_ else "maximum not confirmed",
            )
        )
    table = pd.DataFrame(rows, columns=["family", "loglik", "k", "aic", "bic", "ks", "ad", "note"])
    table = table.sort_values("aic", na_position="last").set_index("family")
    table.attrs["fits"] = fits
    return table
