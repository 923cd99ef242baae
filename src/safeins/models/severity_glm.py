"""Accident cost by rating factor: gamma, inverse Gaussian and lognormal severity GLMs.

:class:`SeverityGLM` fits ``E[cost] = base_cost × Π relativities`` (log link), with the most
common level of each factor as base and Wald confidence intervals. Gamma and inverse Gaussian are
statsmodels GLMs (dispersion by Pearson's chi-square, as R's ``summary.glm``); the lognormal
model is least squares on ``log(cost)``, whose mean is ``exp(x'b + sigma^2 / 2)`` (the normal-theory
smearing factor; Duan's non-parametric smearing on request). Relativities are ratios of means in
all three families, because the dispersion does not depend on the factors.

:func:`fit_severity_by_sector` fits a severity distribution to each sector's costs with
:func:`safeins.losses.compare_severity` and keeps the family with the lowest AIC.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(2)
>>> df = pd.DataFrame({"sector": rng.choice(["mining", "construction"], 2000)})
>>> mean = np.where(df["sector"] == "mining", 300_000.0, 100_000.0)
>>> df["cost"] = rng.gamma(2.0, mean / 2.0)
>>> m = SeverityGLM("gamma", factors=["sector"]).fit(df, amounts="cost")
>>> print(m.relativities_[["level", "relativity", "n_obs"]].round(2).to_string(index=False))
       level  relativity  n_obs
      mining        1.00   1008
construction        0.33    992
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._base.guard import progress as _progress
from .._base.results import ResultMixin, as_summary
from .._base.threads import limit_threads
from ..errors import ConfigError, ConvergenceError, Problem, Problems, ValidationError
from ._design import Design, linear_predictor, wald_relativities

__all__ = ["SectorSeverity", "SeverityGLM", "fit_severity_by_sector"]

FAMILIES = ("gamma", "inverse_gaussian", "lognormal")


def _frame(data, what) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_frame"):
        out = data.to_frame()
        if isinstance(out, pd.DataFrame):
            return out
    raise ValidationError(what, [Problem(None, "data", type(data).__name__,
                                         "a pandas DataFrame (or an object with to_frame())")])


def _is_list_like(x) -> bool:
    try:
        iter(x)
    except TypeError:
        return False
    return True


def _positive_column(df, col, p, what, allow_none=False):
    if col is None and allow_none:
        return np.ones(len(df))
    if col not in df.columns:
        p.add(column=str(col), value="(missing column)",
              rule=f"{what} column not in the table; columns are {list(df.columns)}")
        return None
    x = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x) | (x <= 0)
    if bad.any():
        p.add(row=df.index[bad].tolist(), column=col, value=df[col].to_numpy()[bad][0],
              rule=f"{what} must be finite and > 0 ({int(bad.sum())} bad rows)")
    return x


class SeverityGLM:
    """Severity (cost per accident) GLM with a log link and factor relativities.

    Parameters
    ----------
    family : {"gamma", "inverse_gaussian", "lognormal"}
    factors : list of str
        Rating-factor columns (coded as in :class:`~safeins.models.frequency_glm.FrequencyGLM`).
    numeric, base_levels, min_level_exposure
        As for FrequencyGLM; the base level is the level with the largest total weight (the most
        accidents when weights are None).
    ci : float
        Confidence level of the Wald intervals.
    smearing : {"normal", "duan"}
        Lognormal only: mean factor ``exp(sigma^2/2)`` or Duan's ``mean(exp(residual))``.

    Attributes
    ----------
    coef_, bse_ : pandas.Series
    base_cost_ : float
        Mean cost at every base level (numeric factors at 0), smearing included.
    relativities_ : pandas.DataFrame
        factor, level, relativity, ci_low, ci_high, weight, n_obs, is_base.
    dispersion_ : float
        Gamma / inverse Gaussian: Pearson dispersion phi (gamma shape = 1/phi);
        lognormal: sigma^2 of log cost (residual variance, n - p degrees of freedom).
    loglik_, aic_, bic_ : float
        With the maximum-likelihood dispersion and the Jacobian of the log for the lognormal, so
        AIC is comparable across the three families.
    deviance_ : float
        GLM deviance (gamma, inverse Gaussian); weighted residual sum of squares of log cost
        (lognormal).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> df = pd.DataFrame({"grade": rng.choice(["A", "B"], 3000)})
    >>> mu = np.where(df["grade"] == "B", 2.0, 1.0) * 50_000
    >>> df["cost"] = np.exp(np.log(mu) - 0.5 + rng.normal(0, 1.0, 3000))  # mean mu, sigma 1
    >>> m = SeverityGLM("lognormal", factors=["grade"], base_levels={"grade": "A"})
    >>> m = m.fit(df, amounts="cost")
    >>> print(round(m.relativities_.set_index("level").loc["B", "relativity"], 1),
    ...       round(m.dispersion_, 1))
    2.0 1.0
    >>> bool(abs(m.predict(df).mean() / df["cost"].mean() - 1) < 0.05)
    True
    """

    _params = ("family", "factors", "numeric", "base_levels", "ci", "min_level_exposure",
               "smearing")

    def __init__(self, family: str = "gamma", factors: Sequence[str] = (), *,
                 numeric: Mapping[str, object] | None = None,
                 base_levels: str | Mapping[str, object] = "most_exposed", ci: float = 0.95,
                 min_level_exposure: float | None = None, smearing: str = "normal"):
        p = Problems(f"SeverityGLM(family={family!r})")
        if isinstance(factors, str) or not _is_list_like(factors):
            p.add(column="factors", value=factors,
                  rule="a list of column names (write ['sector'], not 'sector')")
            factors = ()
        self.family = family
        self.factors = list(factors)
        self.numeric = numeric
        self.base_levels = base_levels
        self.ci = ci
        self.min_level_exposure = min_level_exposure
        self.smearing = smearing
        self._check_params(p)
        p.raise_if_any()

    def _check_params(self, p: Problems) -> None:
        """Add a problem for each bad scalar parameter (at construction and again in fit)."""
        if not (isinstance(self.family, str) and self.family in FAMILIES):
            p.add(column="family", value=self.family, rule=f"one of {FAMILIES}")
        for i, f in enumerate(self.factors):
            if not (isinstance(f, str) and f):
                p.add(row=i, column="factors", value=f, rule="a column name")
        if len({f for f in self.factors if isinstance(f, str)}) < len(self.factors):
            p.add(column="factors", value=self.factors, rule="each column once")
        if not (isinstance(self.ci, float | int) and not isinstance(self.ci, bool)
                and 0 < self.ci < 1):
            p.add(column="ci", value=self.ci, rule="strictly between 0 and 1")
        if not (isinstance(self.smearing, str) and self.smearing in ("normal", "duan")):
            p.add(column="smearing", value=self.smearing, rule="'normal' or 'duan'")
        mle = self.min_level_exposure
        if mle is not None and not (isinstance(mle, int | float) and not isinstance(mle, bool)
                                    and math.isfinite(mle) and mle >= 0):
            p.add(column="min_level_exposure", value=mle, rule="None or a finite number >= 0")

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (scikit-learn protocol)."""
        return {k: getattr(self, k) for k in self._params}

    def set_params(self, **params) -> SeverityGLM:
        """Set constructor parameters (scikit-learn protocol)."""
        for k, v in params.items():
            if k not in self._params:
                raise ConfigError(f"SeverityGLM has no parameter {k!r}; allowed: {self._params}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"SeverityGLM(family={self.family!r}, factors={self.factors!r})"

    @property
    def _what(self) -> str:
        return f"SeverityGLM(family={self.family!r})"

    def fit(self, data, amounts: str = "cost", weights: str | None = None) -> SeverityGLM:
        """Fit on one row per accident (or per group, with ``weights`` = accidents per row).

        ``weights`` are precision weights: a row that is the mean of ``w`` accidents has variance
        ``phi mu^2 / w`` (gamma).
        """
        df = _frame(data, self._what)
        p = Problems(self._what)
        self._check_params(p)
        p.raise_if_any()
        y = _positive_column(df, amounts, p, "amounts")
        w = _positive_column(df, weights, p, "weights", allow_none=True)
        p.raise_if_any()
        design = Design.learn(df, self.factors, weight=w, numeric=self.numeric,
                              base_levels=self.base_levels,
                              min_level_exposure=self.min_level_exposure, what=self._what)
        codes = design.codes(df)
        X = design.dense(df, codes)
        n, k = X.shape
        if n <= k + 1:
            raise ValidationError(self._what, [Problem(None, "rows", n,
                                  f"more rows than parameters + 1 ({k + 1}) are needed")])
        if np.linalg.matrix_rank(X) < k:
            raise ValidationError(self._what, [Problem(None, "factors", self.factors,
                                  "design columns are linearly dependent (aliased factors)")])
        if np.ptp(np.log(y)) <= 1e-12:
            raise ConvergenceError(
                f"{self._what}: every cost equals {float(y[0]):.6g}: a severity GLM needs varying "
                "costs (with no spread the dispersion is 0 and the likelihood has no maximum); "
                "use the constant as the base cost")
        self._design, self.amounts_name_, self.weights_name_ = design, amounts, weights
        try:
            with limit_threads(rows=len(y)):
                if self.family == "lognormal":
                    self._fit_lognormal(X, y, w)
                else:
                    self._fit_glm(X, y, w)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
            if isinstance(err, ValidationError):
                raise
            raise ConvergenceError(f"{self._what}: the fit failed numerically "
                                   f"({type(err).__name__}: {err})") from None
        # inverse Gaussian's dispersion is in 1/yuan: compare it on the scale of the mean
        unit_free = self.dispersion_ * (float(np.average(y, weights=w))
                                        if self.family == "inverse_gaussian" else 1.0)
        if not (math.isfinite(unit_free) and unit_free > 1e-12
                and np.all(np.isfinite(self._beta))):
            raise ConvergenceError(
                f"{self._what}: the factors explain every cost exactly (dispersion "
                f"{self.dispersion_:.3g}): no residual spread to estimate; the fit is degenerate")
        self.n_obs_, self.n_params_ = n, k + 1
        self.aic_ = -2 * self.loglik_ + 2 * self.n_params_
        self.bic_ = -2 * self.loglik_ + self.n_params_ * math.log(n)
        cols = design.columns
        self.coef_ = pd.Series(self._beta, index=cols, name="coef")
        self.bse_ = pd.Series(np.sqrt(np.diag(self._cov)), index=cols, name="std_err")
        self.cov_ = pd.DataFrame(self._cov, index=cols, columns=cols)
        self.base_cost_ = float(np.exp(self._beta[0]) * self._mean_factor)
        levels = design.level_table(df, codes, w, None).drop(columns="counts")
        levels = levels.rename(columns={"exposure": "weight"})
        z = stats.norm.ppf(0.5 + self.ci / 2)
        self.relativities_ = wald_relativities(design, levels, self._beta,
                                               self.bse_.to_numpy(), z)
        return self

    def _fit_glm(self, X, y, w):
        import statsmodels.api as sm
        from statsmodels.tools.sm_exceptions import ConvergenceWarning as SmConvergenceWarning

        link = sm.families.links.Log()
        fam = (sm.families.Gamma(link=link) if self.family == "gamma"
               else sm.families.InverseGaussian(link=link))
        # costs run to millions of yuan: fit on the scale of the mean, where IRLS's relative
        # deviance criterion behaves, and shift the intercept back (other estimates unchanged)
        scale = float(np.average(y, weights=w))
        ys = y / scale
        with warnings.catch_warnings():
            warnings.simplefilter("error", SmConvergenceWarning)
            try:
                res = sm.GLM(ys, X, family=fam, var_weights=w).fit(
                    start_params=np.zeros(X.shape[1]), tol=1e-11, tol_criterion="params",
                    maxiter=300)
            except SmConvergenceWarning as err:
                raise ConvergenceError(f"{self._what}: IRLS did not converge ({err})") from None
        if not res.converged:
            raise ConvergenceError(f"{self._what}: IRLS did not converge in 300 iterations")
        mu = np.array(res.fittedvalues) * scale
        self._beta, self._cov = np.array(res.params), np.array(res.cov_params())
        self._beta[0] += math.log(scale)
        # gamma's dispersion is unit free; inverse Gaussian's scales as 1/yuan
        unit = 1.0 if self.family == "gamma" else scale
        self.dispersion_ = float(res.scale) / unit
        if self.family == "gamma":
            self.deviance_ = float(2 * np.sum(w * ((y - mu) / mu - np.log(y / mu))))
        else:
            self.deviance_ = float(np.sum(w * (y - mu) ** 2 / (y * mu**2)))
        self._mean_factor = 1.0
        if self.family == "gamma":
            def nll(t):
                phi = math.exp(t)
                return -float(np.sum(stats.gamma.logpdf(y, a=w / phi, scale=mu * phi / w)))
            t = optimize.minimize_scalar(nll, bracket=(np.log(self.dispersion_) - 1,
                                                       np.log(self.dispersion_) + 1)).x
            self.loglik_ = -nll(t)
            self.dispersion_ml_ = math.exp(t)
        else:
            phi = float(np.sum(w * (y - mu) ** 2 / (y * mu**2)) / len(y))
            lam = w / phi
            self.loglik_ = float(np.sum(0.5 * np.log(lam / (2 * np.pi * y**3))
                                        - lam * (y - mu) ** 2 / (2 * mu**2 * y)))
            self.dispersion_ml_ = phi

    def _fit_lognormal(self, X, y, w):
        import statsmodels.api as sm

        ly = np.log(y)
        res = sm.WLS(ly, X, weights=w).fit()
        self._beta, self._cov = np.asarray(res.params), np.asarray(res.cov_params())
        resid = ly - X @ self._beta
        self.dispersion_ = float(res.scale)  # weighted SSR / (n - p)
        self.deviance_ = float(np.sum(w * resid**2))
        s2_ml = self.deviance_ / len(y)
        self.dispersion_ml_ = s2_ml
        self.loglik_ = float(np.sum(stats.norm.logpdf(ly, X @ self._beta,
                                                      np.sqrt(s2_ml / w)) - ly))
        self._mean_factor = (math.exp(self.dispersion_ / 2) if self.smearing == "normal"
                             else float(np.average(np.exp(resid), weights=w)))

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise ConfigError(f"{self._what} is not fitted yet: call .fit(data) first")

    def predict(self, data) -> pd.Series:
        """Mean cost per row (for the lognormal, the smearing factor is included)."""
        self._check_fitted()
        df = _frame(data, self._what)
        codes = self._design.codes(df)
        eta, _ = linear_predictor(self._design, codes, self._beta, len(df))
        return pd.Series(np.exp(eta) * self._mean_factor, index=df.index,
                         name=f"expected_{self.amounts_name_}")

    @as_summary
    def summary(self) -> str:
        """Fit statistics, coefficients and the relativities table."""
        self._check_fitted()
        z = stats.norm.ppf(0.5 + self.ci / 2)
        ct = pd.DataFrame({"coef": self.coef_, "std_err": self.bse_,
                           "z": self.coef_ / self.bse_})
        ct["p_value"] = 2 * stats.norm.sf(np.abs(ct["z"]))
        ct["ci_low"], ct["ci_high"] = self.coef_ - z * self.bse_, self.coef_ + z * self.bse_
        disp = ("sigma^2 (log scale)" if self.family == "lognormal" else "dispersion phi")
        rt = self.relativities_.copy()
        rt["is_base"] = np.where(rt["is_base"], "base", "")
        lines = [
            "SeverityGLM results".center(78), "=" * 78,
            f"Family: {self.family} (log link)   Observations: {self.n_obs_:,}   "
            f"Parameters: {self.n_params_}",
            f"Log-likelihood: {self.loglik_:,.3f}   AIC: {self.aic_:,.3f}   BIC: {self.bic_:,.3f}",
            f"Deviance: {self.deviance_:,.4f}   {disp}: {self.dispersion_:.6g}   "
            f"Base mean cost: {self.base_cost_:,.2f}",
            "=" * 78, ct.to_string(float_format=lambda x: f"{x:.4f}"), "-" * 78,
            f"Relativities of the mean cost ({self.ci:.0%} CI; base level = 1)",
            rt.to_string(index=False, float_format=lambda x: f"{x:.4g}"),
        ]
        return "\n".join(lines)

    def plot(self, ax=None):
        """Relativities with confidence intervals, one group per factor (log scale)."""
        self._check_fitted()
        from ._glm_plot import plot_relativities

        return plot_relativities(self.relativities_, self.ci, ax)

    def _repr_html_(self) -> str | None:
        from .._base.results import html_repr

        return html_repr(self)


# ---------------------------------------------------------------------- per-sector fits
class SectorSeverity(ResultMixin):
    """Per-sector severity distributions chosen by AIC (the result of
    :func:`fit_severity_by_sector`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per sector: n, family (lowest AIC), aic, mean, and the runner-up's AIC gap.
    comparisons : dict
        Sector -> the AIC table of :func:`safeins.losses.compare_severity`.
    fits : dict
        Sector -> the chosen SeverityFit (``.dist`` is the fitted distribution).
    """

    def __init__(self, table, comparisons, fits, by):
        self.table, self.comparisons, self.fits, self.by = table, comparisons, fits, by

    def to_frame(self) -> pd.DataFrame:
        return self.table

    @as_summary
    def summary(self) -> str:
        return (f"Severity by {self.by} (family with the lowest AIC)\n"
                + self.table.to_string(float_format=lambda x: f"{x:,.4g}"))

    def plot(self, ax=None):
        """Fitted mean cost per sector (log scale)."""
        from .._base.plotting import axes

        ax = axes(ax)
        t = self.table
        ax.bar(t.index.astype(str), t["mean"])
        ax.set_yscale("log")
        ax.set_ylabel("fitted mean cost (yuan)")
        for i, f in enumerate(t["family"]):
            ax.text(i, t["mean"].iloc[i], str(f), ha="center", va="bottom", fontsize=8)
        ax.tick_params(axis="x", rotation=45)
        return ax


def _family_names(cmp: pd.DataFrame) -> list[str]:
    if "family" in cmp.columns:
        return [str(x) for x in cmp["family"]]
    return [str(x) for x in cmp.index]


def fit_severity_by_sector(data, amounts: str = "cost", by: str = "sector",
                           families: Sequence[str] = ("lognormal", "gamma", "weibull",
                                                      "pareto"),
                           *, weights: str | None = None, min_n: int = 10,
                           progress="auto") -> SectorSeverity:
    """Fit each sector's cost distribution and keep the family with the lowest AIC.

    Uses :func:`safeins.losses.compare_severity` (maximum likelihood, AIC-sorted) and
    :func:`safeins.losses.fit_severity` for the chosen family. Sectors with fewer than
    ``min_n`` costs are reported in one ValidationError (pool them, or lower ``min_n``).
    ``progress`` shows a bar over the sectors (True, False, or "auto": only on a terminal).

    >>> import numpy as np, pandas as pd, safeins as si
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"sector": ["mining"] * 300 + ["trade"] * 300,
    ...                    "cost": np.r_[rng.lognormal(10, 1.5, 300), rng.gamma(2.0, 5e3, 300)]})
    >>> res = si.fit_severity_by_sector(df, amounts="cost", families=["lognormal", "gamma"])
    >>> res.table["family"].to_dict()
    {'mining': 'lognormal', 'trade': 'gamma'}
    """
    from ..losses import fitting

    what = "fit_severity_by_sector"
    df = _frame(data, what)
    p = Problems(what)
    if by not in df.columns:
        p.add(column=by, value="(missing column)", rule="grouping column not in the table")
    y = _positive_column(df, amounts, p, "amounts")
    w = _positive_column(df, weights, p, "weights", allow_none=True)
    p.raise_if_any()
    groups = df[by].astype(str).to_numpy()
    uniq, cnt = np.unique(groups, return_counts=True)
    for g, c in zip(uniq, cnt, strict=True):
        if c < min_n:
            p.add(row=g, column=by, value=int(c),
                  rule=f"only {c} amounts; at least min_n={min_n} are needed to fit a "
                  "distribution (pool sparse sectors or lower min_n)")
    p.raise_if_any()
    rows, comparisons, fits = [], {}, {}
    for g in _progress(uniq, enabled=progress, total=len(uniq), desc=what):
        m = groups == g
        kw = {} if weights is None else {"weights": w[m]}
        cmp = fitting.compare_severity(y[m], families=list(families), **kw)
        comparisons[g] = cmp
        names = _family_names(cmp)
        best = names[0]
        fit = fitting.fit_severity(y[m], best, **kw)
        fits[g] = fit
        aic = np.asarray(cmp["aic"], dtype=float) if "aic" in cmp.columns else None
        gap = float(aic[1] - aic[0]) if aic is not None and len(aic) > 1 else float("nan")
        rows.append({by: g, "n": int(m.sum()), "family": best, "aic": float(fit.aic_),
                     "aic_gap_next": gap, "mean": float(fit.dist.mean()),
                     "observed_mean": float(np.average(y[m], weights=w[m]))})
    table = pd.DataFrame(rows).set_index(by)
    return SectorSeverity(table, comparisons, fits, by)
