"""Fitting claim-count distributions: maximum likelihood (with exposures) and moments.

``fit_frequency(counts, family, exposure=None, method="mle")`` returns a :class:`FrequencyFit`
with the fitted frozen distribution ``.dist`` (per unit of exposure), ``.params_``, standard
errors ``.bse_`` (observed information; closed forms where they exist), ``.loglik_``, ``.aic_``,
``.bic_`` and ``.summary()``.

Exposure model: ``N_i ~ Poisson(λ e_i)``; for the negative binomial and geometric
``N_i ~ NB(r, β e_i)`` (mean r β e_i, the same as a gamma-mixed Poisson whose rate scales with
exposure and whose shape r is fixed).

Families: ``"poisson"``, ``"nbinom"``, ``"geometric"``, ``"binomial"`` (give ``n=``),
``"logarithmic"``, ``"etnb"`` (extended truncated NB), ``"zt_<parent>"`` and ``"zm_<parent>"``
for the zero-truncated and zero-modified forms (parent poisson, nbinom, geometric, binomial; and
``"zm_logarithmic"``, ``"zm_etnb"``), or the classes.

>>> import numpy as np
>>> from safeins.losses import Poisson, fit_frequency
>>> counts = np.array([0, 1, 0, 2, 3, 0, 1])
>>> fit = Poisson.fit(counts, exposure=np.array([1, 1, 1, 2, 2, 1, 1.0]))
>>> fit.dist, round(fit.bse_["mu"], 6)
(Poisson(mu=0.7777777777777778), 0.293972)
>>> fit_frequency([0, 0, 1, 1, 1, 2, 5, 0, 3], "zm_poisson").params_["p0"]
0.3333333333333333
"""

from __future__ import annotations

import math

import numpy as np

from .._base.lazy import lazy_module
from .._base.results import ResultMixin
from ..errors import ConvergenceError, Problems, ValidationError
from . import frequency as _frequency_module
from ._mle import fit_mle
from .frequency import (
    Binomial,
    ExtendedTruncatedNB,
    Geometric,
    Logarithmic,
    NegativeBinomial,
    Poisson,
    ZeroModified,
    ZeroTruncated,
)

optimize = lazy_module("scipy.optimize")
special = lazy_module("scipy.special")
stats = lazy_module("scipy.stats")

__all__ = ["FrequencyFit", "fit_frequency"]

_ALIASES = {
    "poisson": "poisson",
    "nbinom": "nbinom",
    "negative_binomial": "nbinom",
    "negativebinomial": "nbinom",
    "nb": "nbinom",
    "geometric": "geometric",
    "geom": "geometric",
    "binomial": "binomial",
    "binom": "binomial",
    "logarithmic": "logarithmic",
    "logser": "logarithmic",
    "etnb": "etnb",
}
_CLASSES = {
    Poisson: "poisson",
    NegativeBinomial: "nbinom",
    Geometric: "geometric",
    Binomial: "binomial",
    Logarithmic: "logarithmic",
    ExtendedTruncatedNB: "etnb",
}


def _family_key(family, parent=None) -> tuple[str, str]:
    """(modifier '', 'zt' or 'zm'; base family)."""
    if isinstance(family, type):
        if family in (ZeroModified, ZeroTruncated):
            mod = "zt" if family is ZeroTruncated else "zm"
            return mod, _family_key(parent)[1] if parent is not None else ""
        if family in _CLASSES:
            return "", _CLASSES[family]
    if isinstance(family, str):
        f = family.lower().replace("-", "_")
        mod = ""
        for prefix, m in (
            ("zt_", "zt"),
            ("zm_", "zm"),
            ("zero_truncated_", "zt"),
            ("zero_modified_", "zm"),
        ):
            if f.startswith(prefix):
                mod, f = m, f[len(prefix) :]
                break
        if f in _ALIASES:
            return mod, _ALIASES[f]
    return "", ""


def _check_counts(counts, exposure, what):
    probs = Problems(what)
    try:
        c = np.asarray(counts, dtype=float).ravel()
    except (TypeError, ValueError):
        probs.add(column="counts", value=counts, rule="a sequence of integers >= 0")
        probs.raise_if_any()
    if c.size == 0:
        probs.add(column="counts", value=counts, rule="at least one count")
    bad = ~np.isfinite(c) | (c < 0) | (c != np.floor(c))
    for i in np.flatnonzero(bad)[:200]:
        probs.add(row=int(i), column="counts", value=float(c[i]), rule="an integer >= 0")
    e = None
    if exposure is not None:
        try:
            e = np.asarray(exposure, dtype=float).ravel()
        except (TypeError, ValueError):
            probs.add(column="exposure", value=exposure, rule="a sequence of numbers > 0")
            probs.raise_if_any()
        if e.shape == ():
            e = np.full(c.shape, float(e))
        if e.shape != c.shape:
            probs.add(
                column="exposure",
                value=f"{e.size} values",
                rule=f"one exposure per count ({c.size})",
            )
        else:
            for i in np.flatnonzero(~np.isfinite(e) | (e <= 0))[:200]:
                probs.add(row=int(i), column="exposure", value=float(e[i]), rule="finite and > 0")
    probs.raise_if_any()
    return c, e


class FrequencyFit(ResultMixin):
    """A fitted claim-count distribution: estimates, standard errors and fit statistics.

    Attributes: ``dist`` (frozen, per unit of exposure), ``family``, ``method``, ``params_``,
    ``bse_`` (NaN for the method of moments), ``cov_``, ``loglik_``, ``aic_``, ``bic_``,
    ``n_obs_``, ``counts``, ``exposure``.

    >>> import safeins as si
    >>> fit = si.fit_frequency([0, 1, 0, 2, 1, 0], "poisson")
    >>> round(fit.params_["mu"], 4)
    0.6667
    """

    def __init__(self, dist, family, method, names, est, cov, loglik, counts, exposure):
        self.dist = dist
        self.family = family
        self.method = method
        self.params_ = {k: float(v) for k, v in zip(names, est, strict=True)}
        cov = np.asarray(cov, dtype=float)
        self.cov_ = cov
        self.bse_ = {
            k: float(math.sqrt(v)) if v >= 0 else math.nan
            for k, v in zip(names, np.diag(cov), strict=True)
        }
        self.loglik_ = float(loglik)
        self.n_obs_ = int(counts.size)
        k = len(names)
        self.k_ = k
        self.aic_ = 2 * k - 2 * self.loglik_
        self.bic_ = k * math.log(self.n_obs_) - 2 * self.loglik_
        self.counts = counts
        self.exposure = exposure

    def to_frame(self):
        """One row per parameter: estimate, standard error, 95% Wald interval."""
        import pandas as pd

        rows = []
        for k, v in self.params_.items():
            se = self.bse_[k]
            rows.append((k, v, se, v - 1.959964 * se, v + 1.959964 * se))
        return pd.DataFrame(rows, columns=["param", "estimate", "se", "ci_low", "ci_high"])

    def summary(self) -> str:
        """Text summary: the family, the estimates with standard errors and the fit statistics."""
        lines = [
            f"{self.family} fitted by {self.method} to {self.n_obs_} counts"
            + (" with exposures" if self.exposure is not None else "")
        ]
        for k, v in self.params_.items():
            lines.append(f"  {k:<6} {v:>14.6g}  (se {self.bse_[k]:.4g})")
        lines.append(f"  loglik {self.loglik_:.4f}   AIC {self.aic_:.4f}   BIC {self.bic_:.4f}")
        return "\n".join(lines)

    def observed_expected(self):
        """Observed and expected numbers of observations with 0, 1, 2, ... claims."""
        import pandas as pd

        top = int(self.counts.max())
        k = np.arange(top + 1)
        obs = np.bincount(self.counts.astype(np.int64), minlength=top + 1)
        if self.exposure is None:
            exp = self.counts.size * self.dist.pmf(k)
        else:
            exp = _expected_with_exposure(self.dist, k, self.exposure)
        return pd.DataFrame({"count": k, "observed": obs, "expected": exp})

    def plot(self, ax=None):
        """Bar chart of observed against expected numbers of each count."""
        from .._base.plotting import axes

        ax = axes(ax)
        t = self.observed_expected()
        ax.bar(t["count"] - 0.2, t["observed"], width=0.4, label="observed")
        ax.bar(t["count"] + 0.2, t["expected"], width=0.4, label="fitted")
        ax.set_xlabel("claims")
        ax.set_ylabel("observations")
        ax.legend()
        return ax


def _expected_with_exposure(dist, k, e):
    """Σ_i P(N_i = k) when N_i has the fitted law scaled to exposure e_i."""
    kk, ee = k[None, :], e[:, None]
    if isinstance(dist, Poisson):
        return stats.poisson.pmf(kk, dist.mu * ee).sum(axis=0)
    return np.exp(_nb_loglik(dist.n, dist.beta, kk, ee)).sum(axis=0)


def _nb_loglik(r, beta, c, e):
    be = beta * e
    return (
        special.gammaln(c + r)
        - special.gammaln(r)
        - special.gammaln(c + 1)
        - r * np.log1p(be)
        + c * (np.log(be) - np.log1p(be))
    )


def fit_frequency(
    counts, family, exposure=None, method: str = "mle", *, n: int | None = None, parent=None
) -> FrequencyFit:
    """Fit a claim-count distribution to observed counts.

    Parameters
    ----------
    counts : array of integers >= 0
        Number of claims per observation (policy-year, enterprise, ...).
    family : str or class
        ``"poisson"``, ``"nbinom"``, ``"geometric"``, ``"binomial"``, ``"logarithmic"``,
        ``"zt_<family>"``, ``"zm_<family>"``, or the class (``ZeroModified`` needs ``parent=``).
    exposure : array of numbers > 0, optional
        Exposure of each observation (poisson, nbinom and geometric only). The fitted ``dist`` is
        per unit of exposure.
    method : "mle" or "moments"
        Moments: poisson, nbinom, geometric and binomial (standard errors are then NaN).
    n : int
        Number of trials, for the binomial families.

    >>> fit = fit_frequency([0, 1, 0, 2, 5, 0, 1, 3, 0, 0], "nbinom", method="moments")
    >>> round(fit.params_["r"], 4), round(fit.params_["beta"], 4)
    (1.0588, 1.1333)
    """
    mod, base = _family_key(family, parent)
    label = family if isinstance(family, str) else getattr(family, "__name__", family)
    what = f"fit_frequency({label})"
    if not base:
        raise ValidationError(
            what,
            [
                _prob(
                    "family",
                    family,
                    "one of poisson, nbinom, geometric, binomial, logarithmic, zt_<family>, "
                    "zm_<family> (ZeroModified/ZeroTruncated classes need parent=)",
                )
            ],
        )
    c, e = _check_counts(counts, exposure, what)
    probs = Problems(what)
    if method not in ("mle", "moments"):
        probs.add(column="method", value=method, rule="'mle' or 'moments'")
    if e is not None and (mod or base not in ("poisson", "nbinom", "geometric")):
        probs.add(
            column="exposure",
            value="given",
            rule="exposures are supported for poisson, nbinom and geometric only",
        )
    if method == "moments" and (mod or base in ("logarithmic", "etnb")):
        probs.add(
            column="method",
            value=method,
            rule="moments only for poisson, nbinom, geometric and binomial",
        )
    if base == "binomial":
        if n is None or isinstance(n, bool) or not float(n).is_integer() or n < 1:
            probs.add(column="n", value=n, rule="the number of trials: an integer >= 1")
        elif c.size and c.max() > n:
            for i in np.flatnonzero(c > n)[:200]:
                probs.add(row=int(i), column="counts", value=float(c[i]), rule=f"<= n = {n}")
    if (mod == "zt" or base in ("logarithmic", "etnb")) and not mod == "zm":
        for i in np.flatnonzero(c < 1)[:200]:
            probs.add(
                row=int(i),
                column="counts",
                value=float(c[i]),
                rule="a zero-truncated or logarithmic count must be >= 1",
            )
    if mod == "zt" and base in ("logarithmic", "etnb"):
        probs.add(column="family", value=family, rule=f"the {base} is already zero-truncated")
    probs.raise_if_any()
    name = (f"{mod}_" if mod else "") + base
    if mod == "zm":
        return _fit_zm(c, base, n, name, what)
    if mod == "zt":
        names, est, cov, ll, dist = _fit_zt(c, base, n, what)
        return FrequencyFit(dist, name, "mle", names, est, cov, ll, c, None)
    return _fit_plain(c, e, base, method, n, name, what)


def _prob(col, val, rule):
    from ..errors import Problem

    return Problem(None, col, val, rule)


def _fit_plain(c, e, base, method, n, name, what):
    ee = np.ones_like(c) if e is None else e
    tot_e = ee.sum()
    if base == "poisson":
        mu = c.sum() / tot_e
        ll = float(stats.poisson.logpmf(c, mu * ee).sum())
        return FrequencyFit(Poisson(mu), name, method, ["mu"], [mu], [[mu / tot_e]], ll, c, e)
    if base == "binomial":
        p = c.sum() / (c.size * n)
        ll = float(stats.binom.logpmf(c, n, p).sum())
        return FrequencyFit(
            Binomial(n, p), name, method, ["p"], [p], [[p * (1 - p) / (c.size * n)]], ll, c, e
        )
    if base == "geometric":
        if e is None:
            beta = c.mean()  # MLE and moments coincide
            cov = [[beta * (1 + beta) / c.size]]
        elif method == "moments":
            beta, cov = c.sum() / tot_e, [[math.nan]]
        else:
            res = fit_mle(
                lambda th: -_nb_loglik(1.0, th[0], c, ee).sum(),
                [max(c.sum() / tot_e, 1e-3)],
                ["log"],
                what,
            )
            beta, cov = res.nat[0], res.cov
        if beta <= 0:
            raise ValidationError(what, [_prob("counts", "all zero", "need at least one claim")])
        ll = float(_nb_loglik(1.0, beta, c, ee).sum())
        return FrequencyFit(Geometric(beta=beta), name, method, ["beta"], [beta], cov, ll, c, e)
    if base == "nbinom":
        mu = c.sum() / tot_e
        s2 = float(np.sum((c - mu * ee) ** 2))
        beta_m = (s2 - mu * tot_e) / (mu * np.sum(ee**2)) if mu > 0 else -1.0
        if not beta_m > 0:
            raise ValidationError(
                what,
                [
                    _prob(
                        "counts",
                        f"mean {mu:.6g}, variance {s2 / c.size:.6g}",
                        "the negative binomial needs over-dispersion (variance > mean); "
                        "fit a poisson or binomial instead",
                    )
                ],
            )
        r_m = mu / beta_m
        if method == "moments":
            dist = NegativeBinomial.from_r_beta(r_m, beta_m)
            ll = float(_nb_loglik(r_m, beta_m, c, ee).sum())
            return FrequencyFit(
                dist,
                name,
                method,
                ["r", "beta"],
                [r_m, beta_m],
                np.full((2, 2), math.nan),
                ll,
                c,
                e,
            )
        res = fit_mle(
            lambda th: -_nb_loglik(th[0], th[1], c, ee).sum(), [r_m, beta_m], ["log", "log"], what
        )
        r, beta = res.nat
        dist = NegativeBinomial.from_r_beta(r, beta)
        return FrequencyFit(dist, name, method, ["r", "beta"], [r, beta], res.cov, res.loglik, c, e)
    # logarithmic and ETNB: already zero-truncated
    names, est, cov, ll, dist = _fit_zt(c, base, None, what)
    return FrequencyFit(dist, name, "mle", names, est, cov, ll, c, None)


def _zt_model(base, n):
    """(names, transforms, make(params) -> parent, log-pmf of the positive part)."""
    if base == "poisson":

        def ll(th, c):
            mu = th[0]
            return stats.poisson.logpmf(c, mu) - math.log(-math.expm1(-mu))

        return ["mu"], ["log"], lambda th: Poisson(th[0]), ll
    if base in ("nbinom", "geometric"):
        if base == "geometric":

            def llg(th, c):
                beta = th[0]
                return _nb_loglik(1.0, beta, c, 1.0) - math.log(-math.expm1(-math.log1p(beta)))

            return ["beta"], ["log"], lambda th: Geometric(beta=th[0]), llg

        def lln(th, c):
            r, beta = th
            return _nb_loglik(r, beta, c, 1.0) - math.log(-math.expm1(-r * math.log1p(beta)))

        return (
            ["r", "beta"],
            ["log", "log"],
            lambda th: NegativeBinomial.from_r_beta(th[0], th[1]),
            lln,
        )
    if base == "binomial":

        def llb(th, c):
            p = th[0]
            return stats.binom.logpmf(c, n, p) - math.log(-math.expm1(n * math.log1p(-p)))

        return ["p"], ["logit"], lambda th: Binomial(n, th[0]), llb

    if base == "etnb":

        def lle(th, c):
            r, beta = th
            lb = math.log(beta) - math.log1p(beta)
            norm = -math.expm1(-r * math.log1p(beta))
            return (
                special.gammaln(r + c)
                - special.gammaln(r + 1.0)
                - special.gammaln(c + 1.0)
                + c * lb
                + math.log(r / norm)
                - r * math.log1p(beta)
            )

        return (["r", "beta"], ["log1p", "log"], lambda th: ExtendedTruncatedNB(th[0], th[1]), lle)

    def lll(th, c):  # logarithmic
        beta = th[0]
        return c * (math.log(beta) - math.log1p(beta)) - np.log(c) - math.log(math.log1p(beta))

    return ["beta"], ["log"], lambda th: Logarithmic(beta=th[0]), lll


def _zt_start(c, base, n):
    m = c.mean()
    if base == "poisson":
        # solve mu / (1 - e^-mu) = mean
        return (
            [optimize.brentq(lambda mu: mu / -math.expm1(-mu) - m, 1e-9, m + 1)]
            if m > 1
            else [1e-3]
        )
    if base == "geometric":
        return [max(m - 1, 1e-3)]
    if base == "nbinom":
        v = c.var()
        return [1.0, max(v / max(m, 1e-9), 1e-2)]
    if base == "binomial":
        return [min(max(m / n, 1e-3), 0.999)]
    if base == "etnb":
        return [0.5, max(c.var() / max(m, 1e-9), 1e-2)]
    return [max(m - 1, 1e-2) * 2]


def _fit_zt(c, base, n, what):
    names, transforms, make, ll = _zt_model(base, n)
    if base == "poisson" and np.all(c == 1):
        raise ValidationError(
            what,
            [_prob("counts", "all equal to 1", "the zero-truncated MLE needs some counts >= 2")],
        )
    res = fit_mle(lambda th: -np.sum(ll(th, c)), _zt_start(c, base, n), transforms, what)
    if not res.converged:
        raise ConvergenceError(f"{what}: no maximum found ({res.message}; stopped at {res.nat})")
    parent = make(res.nat)
    dist = parent if base in ("logarithmic", "etnb") else ZeroTruncated(parent)
    return names, list(res.nat), res.cov, res.loglik, dist


def _fit_zm(c, base, n, name, what):
    N = c.size
    n0 = int(np.sum(c == 0))
    pos = c[c > 0]
    if pos.size == 0:
        raise ValidationError(
            what, [_prob("counts", "all zero", "a zero-modified fit needs positive counts")]
        )
    p0 = n0 / N
    # the likelihood separates: p0 from the zeros, the parent from the zero-truncated positives
    names, est, cov_pos, ll_pos, dist_pos = _fit_zt(pos, base, n, what)
    parent = (
        dist_pos if isinstance(dist_pos, Logarithmic | ExtendedTruncatedNB) else dist_pos.parent
    )
    dist = ZeroModified(parent, p0)
    ll0 = (n0 * math.log(p0) if n0 else 0.0) + ((N - n0) * math.log1p(-p0) if N - n0 else 0.0)
    k = len(names)
    cov = np.zeros((k + 1, k + 1))
    cov[:k, :k] = cov_pos
    cov[k, k] = p0 * (1 - p0) / N
    return FrequencyFit(dist, name, "mle", [*names, "p0"], [*est, p0], cov, ll_pos + ll0, c, None)


# FrequencyDistribution.fit delegates here (frequency.py cannot import this module: it is below it)
_frequency_module._FITTER = fit_frequency
