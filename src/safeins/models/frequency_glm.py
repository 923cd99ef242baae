"""Accident frequency by rating factor: Poisson, negative binomial and zero-inflated GLMs.

:class:`FrequencyGLM` fits ``E[N] = exposure × base_rate × Π relativities`` with a log-exposure
offset (each row's exposure is its sector's exposure base for the year), treatment coding with the
level with the most enterprise-years of each factor as base, and Wald confidence intervals for
every relativity.
safeins' own Newton-Raphson fits Poisson models on dense dummies or, for large tables, on tabmat's
categorical design (the optional extra ``safeins[glm]``, which also brings glum); statsmodels and
glum are the other engines, with the same relativities.

Model comparison (:func:`compare_frequency_models`), ordered Lorenz curves and Gini indices
(:func:`lorenz_curve`, :func:`gini`) live in :mod:`safeins.models.glm_compare`, which builds on this
module (``si.compare_frequency_models``, ``si.gini``).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> df = pd.DataFrame({"sector": rng.choice(["mining", "construction", "retail"], 3000, p=[.3, .5, .2]),
...                    "exposure": rng.uniform(0.5, 2.0, 3000)})
>>> true = df["sector"].map({"mining": 0.3, "construction": 0.6, "retail": 0.15})
>>> df["accidents"] = rng.poisson(true * df["exposure"])
>>> m = FrequencyGLM("poisson", factors=["sector"]).fit(df)
>>> print(m.relativities_[["level", "relativity", "is_base"]].round(2).to_string(index=False))
       level  relativity  is_base
construction        1.00     True
      mining        0.52    False
      retail        0.22    False
>>> round(m.base_rate_, 1)
0.6
"""

from __future__ import annotations

import functools
import math
import sys
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from .._base.lazy import lazy_module
from .._base.results import as_summary
from .._base.threads import limit_threads
from ..errors import ConfigError, ConvergenceError, Problems, SafeinsWarning, ValidationError
from ._design import INTERCEPT, ZERO_CODE, Design, linear_predictor, wald_relativities
from ._glm_fit import (
    EngineFit,
    fit_glum,
    fit_poisson_categorical,
    fit_poisson_newton,
    fit_statsmodels,
    loglik_obs,
    nb_deviance,
    poisson_deviance,
)
from ._zero_inflated import fit_negbin_newton, fit_zero_inflated

pd = lazy_module("pandas")
optimize = lazy_module("scipy.optimize")
# the normal quantile from scipy.special: scipy.stats costs ~0.9 s to import
special = lazy_module("scipy.special")

__all__ = [
    "BoundaryWarning",
    "FrequencyGLM",
    "SparseLevelWarning",
]

FAMILIES = ("poisson", "negbin", "zip", "zinb")
ENGINES = ("auto", "statsmodels", "glum", "newton")

# engine="auto" compares the predicted CPU seconds of one fit (benchmarks/bench_glm.py, the
# engine-cost table): statsmodels' IRLS on dense dummies grows with rows x columns^2, glum's on
# the categorical design with rows x factors, after a larger fixed start-up cost.
SM_COST = (0.007, 8e-9)    # seconds: fixed, per row x design column^2
GLUM_COST = (0.018, 2e-7)  # seconds: fixed, per row x (rating factor + 1)
NEWTON_COST = (0.001, 2.5e-9)  # seconds: fixed, per row x design column^2 (own dense Newton)
# the own Poisson Newton on the categorical (tabmat) design: one thread, X'WX by tabmat's
# sandwich (one pass over the rows per pair of factors), one to four of them after the
# marginal-totals start (whole fit 0.015 s at 1e4 rows x 8 factors, 0.06 s at 1e5, ~0.45 s at
# 1e6 on the benchmark's table); seconds: fixed, then per (rating factor + 1)^2 (tabmat calls)
# and per row x (rating factor + 1)^2
NEWTON_CATEGORICAL_COST = (0.005, 1e-4, 5e-9)
# the dense Newton holds the design and one weighted copy: at most this many entries each
NEWTON_MAX_ENTRIES = 5_000_000
# seconds to import glum (with tabmat and scikit-learn) once numpy, pandas and scipy are loaded:
# 0.2-0.7 s measured on a shared 2-core machine; paid by the first glum fit of a process
GLUM_IMPORT = 0.5
# seconds to import tabmat alone (0.13 s measured): paid by the first categorical Newton fit
TABMAT_IMPORT = 0.15


def _tabmat_installed() -> bool:
    # find_spec does not import: tabmat is loaded only by the fit that uses it
    import importlib.util

    return "tabmat" in sys.modules or importlib.util.find_spec("tabmat") is not None


def newton_design(rows: int, columns: int, factors: int, *,
                  imported: bool = True) -> tuple[str | None, float]:
    """The design the own Poisson Newton runs on and its predicted CPU seconds.

    ``"dense"`` (dummy columns; at most ``NEWTON_MAX_ENTRIES`` entries) or ``"categorical"``
    (tabmat's categorical blocks, when tabmat is installed), whichever is predicted cheaper;
    ``(None, inf)`` when neither fits. ``imported=False`` adds tabmat's import to the categorical.

    >>> newton_design(2_000, 26, 3)[0], newton_design(1_000_000, 126, 8)[0]
    ('dense', 'categorical')
    """
    best: tuple[str | None, float] = (None, math.inf)
    if rows * columns <= NEWTON_MAX_ENTRIES:
        best = ("dense", NEWTON_COST[0] + NEWTON_COST[1] * rows * columns**2)
    if _tabmat_installed():
        fixed, per_pair, per_row = NEWTON_CATEGORICAL_COST
        t = (fixed + (per_pair + per_row * rows) * (factors + 1) ** 2
             + (0.0 if imported else TABMAT_IMPORT))
        if t < best[1]:
            best = ("categorical", t)
    return best


def predicted_seconds(engine: str, rows: int, columns: int, factors: int, *,
                      imported: bool = True) -> float:
    """Predicted CPU seconds of a Poisson fit by ``engine`` (the cost model of ``auto``).

    ``imported=False`` adds the one-off import of glum to a glum fit (of tabmat to a Newton fit
    on the categorical design). ``"newton"`` is the cheaper of its two designs
    (:func:`newton_design`).

    >>> predicted_seconds("glum", 100_000, 26, 3) < predicted_seconds("statsmodels", 100_000, 26, 3)
    True
    >>> predicted_seconds("statsmodels", 500, 26, 3) < predicted_seconds("glum", 500, 26, 3)
    True
    >>> predicted_seconds("newton", 26_000, 35, 7) < predicted_seconds("glum", 26_000, 35, 7,
    ...                                                                imported=False)
    True
    """
    if engine == "newton":
        return newton_design(rows, columns, factors, imported=imported)[1]
    fixed, per = SM_COST if engine == "statsmodels" else GLUM_COST
    work = rows * (factors + 1) if engine == "glum" else rows * columns**2
    extra = GLUM_IMPORT if engine == "glum" and not imported else 0.0
    return fixed + per * work + extra


class BoundaryWarning(SafeinsWarning):
    """An estimate sits on the boundary of its parameter space (no over-dispersion, no excess
    zeros): the fit is valid and equals the simpler model's."""


class SparseLevelWarning(SafeinsWarning):
    """A factor level has no event at all: its relativity is 0 (a boundary estimate)."""


def _as_frame(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_frame"):
        out = data.to_frame()
        if isinstance(out, pd.DataFrame):
            # a Portfolio knows each enterprise's exposure in its sector's base
            if "exposure" not in out.columns and callable(getattr(data, "exposure", None)):
                out = out.assign(exposure=data.exposure())
            return out
    raise ValidationError("FrequencyGLM", [
        _problem("data", type(data).__name__, "a pandas DataFrame (or an object with to_frame())")])


def _problem(column, value, rule, row=None):
    from ..errors import Problem

    return Problem(row, column, value, rule)


def _glum_available() -> bool:
    try:
        import glum  # noqa: F401
        import tabmat  # noqa: F401
    except ImportError:
        return False
    return True


class FrequencyGLM:
    """Accident-frequency GLM with a log-exposure offset and rating-factor relativities.

    Parameters
    ----------
    family : {"poisson", "negbin", "zip", "zinb"}
        Poisson; negative binomial NB2 (``Var N = mu + alpha mu^2``, alpha estimated by maximum
        likelihood unless given); zero-inflated Poisson / NB2 (a logit model for structural
        zeros, with covariates ``zero_factors``).
    factors : list of str
        Rating-factor columns. Text, categorical and boolean columns are categorical; numeric
        columns enter as they are (log-linear) unless ``numeric`` says otherwise.
    numeric : dict, optional
        Per numeric factor: ``"linear"``, ``"log"``, ``"categorical"``, an int ``k`` (``k``
        quantile bins of equal enterprise-years) or a list of bin edges.
    base_levels : "most_exposed" or dict
        Base level per categorical factor; by default the level with the most enterprise-years
        (rows) that has events: exposure in different units cannot be added up.
    engine : {"auto", "statsmodels", "glum", "newton"}
        ``newton`` is safeins' own Newton-Raphson on a dense design (Poisson, NB2 with estimated
        alpha, ZIP and ZINB, no third-party import; analytic Hessians); Poisson also on tabmat's
        categorical design when that is predicted cheaper (:func:`newton_design`). ``auto`` picks
        ``newton`` for ZIP and ZINB, and for NB2 designs of at most 5 million entries; by
        predicted fit time (:func:`predicted_seconds`), ``newton`` for Poisson when it is
        predicted faster than glum, else glum when it is installed and predicted faster than
        statsmodels (Poisson and NB2), else statsmodels. Poisson fits run on
        the summed counts and exposures of rows with identical factor values (exact: the
        estimates and covariance equal the fit on the rows; statistics stay per row).
    alpha : float, optional
        Fixed NB2 dispersion; estimated when None.
    zero_factors : list of str, optional
        Covariates of the zero-inflation part (intercept only when None).
    ci : float
        Confidence level of the intervals (Wald, on the log scale).
    min_level_exposure : float, optional
        Pool levels with less exposure than this into the level ``"(other)"``.

    Attributes
    ----------
    coef_, bse_ : pandas.Series
        Log-scale coefficients (intercept first) and standard errors.
    cov_ : pandas.DataFrame
    base_rate_ : float
        Expected count per unit of exposure at every base level (numeric factors at 0).
    relativities_ : pandas.DataFrame
        factor, level, relativity, ci_low, ci_high, exposure, n_obs, counts, is_base.
    zero_coef_, zero_bse_ : pandas.Series
        Zero-inflation logit coefficients (ZIP/ZINB only).
    dispersion_ : float
        NB2 alpha (negbin/zinb); 1.0 for Poisson and ZIP.
    loglik_, aic_, bic_, deviance_, poisson_deviance_, pearson_chi2_, n_obs_, n_params_
        Fit statistics. ``deviance_`` is the family's deviance (NB2 at the fitted alpha); for
        zero-inflated families, which have no GLM saturated model, it is ``-2 loglik_``.
    engine_ : str
    zero_levels_ : dict
        Factor -> levels with no event (relativity 0).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> n = 4000
    >>> df = pd.DataFrame({"size_band": rng.choice(["large", "small"], n, p=[0.3, 0.7]),
    ...                    "exposure": rng.uniform(1, 3, n)})
    >>> lam = 0.2 * np.where(df["size_band"] == "large", 2.0, 1.0) * df["exposure"]
    >>> df["accidents"] = rng.negative_binomial(2.0, 2.0 / (2.0 + lam))  # alpha = 0.5
    >>> m = FrequencyGLM("negbin", factors=["size_band"]).fit(df)
    >>> rel = m.relativities_.set_index("level")["relativity"]
    >>> print(round(rel["large"], 1), round(m.dispersion_, 1))
    2.0 0.5
    >>> m.predict(df.head(2)).index.equals(df.index[:2])
    True
    """

    _params = ("family", "factors", "numeric", "base_levels", "engine", "alpha", "zero_factors",
               "ci", "min_level_exposure")

    def __init__(self, family: str = "poisson", factors: Sequence[str] = (), *,
                 numeric: Mapping[str, object] | None = None,
                 base_levels: str | Mapping[str, object] = "most_exposed",
                 engine: str = "auto", alpha: float | None = None,
                 zero_factors: Sequence[str] | None = None, ci: float = 0.95,
                 min_level_exposure: float | None = None):
        self.family = family
        # a bare string would split into letters: keep it as given for _check_config to refuse
        self.factors = factors if isinstance(factors, str) or not hasattr(factors, "__iter__") \
            else list(factors)
        self.numeric = numeric
        self.base_levels = base_levels
        self.engine = engine
        self.alpha = alpha
        self.zero_factors = zero_factors
        self.ci = ci
        self.min_level_exposure = min_level_exposure
        p = Problems(self._what)
        self._check_config(p)  # again in fit (set_params may change a parameter)
        p.raise_if_any()

    # ------------------------------------------------------------------ sklearn protocol
    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (scikit-learn protocol)."""
        return {k: getattr(self, k) for k in self._params}

    def set_params(self, **params) -> FrequencyGLM:
        """Set constructor parameters (scikit-learn protocol)."""
        for k, v in params.items():
            if k not in self._params:
                raise ConfigError(f"FrequencyGLM has no parameter {k!r}; allowed: {self._params}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._params
                         if getattr(self, k) != _DEFAULTS[k])
        return f"FrequencyGLM({args})"

    @property
    def _what(self) -> str:
        return f"FrequencyGLM(family={self.family!r})"

    def _check_config(self, p: Problems) -> None:
        if self.family not in FAMILIES:
            p.add(column="family", value=self.family, rule=f"one of {FAMILIES}")
        if self.engine not in ENGINES:
            p.add(column="engine", value=self.engine, rule=f"one of {ENGINES}")
        if not (isinstance(self.ci, float | int) and not isinstance(self.ci, bool)
                and 0 < self.ci < 1):
            p.add(column="ci", value=self.ci, rule="a confidence level strictly between 0 and 1")
        if self.alpha is not None:
            if self.family not in ("negbin",):
                p.add(column="alpha", value=self.alpha,
                      rule="a fixed alpha applies to family='negbin' only")
            elif not (isinstance(self.alpha, int | float) and not isinstance(self.alpha, bool)
                      and np.isfinite(self.alpha) and self.alpha > 0):
                p.add(column="alpha", value=self.alpha, rule="a fixed NB2 alpha must be > 0")
        if self.zero_factors is not None and self.family not in ("zip", "zinb"):
            p.add(column="zero_factors", value=self.zero_factors,
                  rule="zero-inflation covariates need family 'zip' or 'zinb'")
        if (isinstance(self.factors, str) or not isinstance(self.factors, list | tuple)
                or not all(isinstance(f, str) for f in self.factors)
                or len(set(self.factors)) < len(self.factors)):
            p.add(column="factors", value=self.factors, rule="a list of distinct column names")

    # ------------------------------------------------------------------ fit
    def fit(self, data, counts: str = "accidents", exposure: str | None = "exposure"
            ) -> FrequencyGLM:
        """Fit on a table with one row per enterprise-year (or any exposure unit).

        ``exposure=None`` gives every row one unit of exposure.
        """
        df = _as_frame(data)
        p = Problems(self._what)
        self._check_config(p)
        p.raise_if_any()
        y, expo = self._outcome(df, counts, exposure, p)
        p.raise_if_any()
        if y.sum() == 0:
            raise ValidationError(self._what, [_problem(
                counts, 0, "all counts are zero: no frequency can be estimated")])

        # base levels and quantile bins by enterprise-years (rows): exposure in different units
        # (workers, yuan, vessels) cannot be added up across sectors
        design = Design.learn(df, self.factors, weight=expo, counts=y, numeric=self.numeric,
                              base_levels=self.base_levels,
                              min_level_exposure=self.min_level_exposure, what=self._what,
                              rank="rows")
        codes = design.codes(df)
        zero = design.zero_rows(codes, len(df))
        fit_rows = ~zero
        zdesign = None
        if self.family in ("zip", "zinb") and self.zero_factors:
            zdesign = Design.learn(df.loc[fit_rows], list(self.zero_factors),
                                   weight=expo[fit_rows], what=self._what + " zero part")
        n_fit = int(fit_rows.sum())
        n_par = design.n_columns + (zdesign.n_columns if zdesign else 0) + (
            1 if self.family in ("zip", "zinb") and not zdesign else 0)
        if n_fit <= n_par:
            raise ValidationError(self._what, [_problem(
                "rows", n_fit, f"more rows than parameters ({n_par}) are needed")])

        rows = np.flatnonzero(fit_rows)
        yf, ef = (y, expo) if len(rows) == len(df) else (y[rows], expo[rows])
        possible = math.prod(len(s.levels) for s in design.specs if s.is_categorical)
        if self.family == "poisson" and design.specs and possible <= 2 * len(rows):
            # counts and exposures summed over rows with one design row are sufficient for a
            # Poisson GLM: the fit on these cells has the rows' estimates and information (the
            # log-likelihoods differ by a constant); the statistics below stay per row. Skipped
            # when the categorical levels alone allow more than twice as many cells as rows:
            # then most rows are their own cell and grouping costs more than it saves
            first, cell = design.cells(codes, rows)
            if len(first) < 0.8 * len(rows):
                yf = np.bincount(cell, weights=yf, minlength=len(first))
                ef = np.bincount(cell, weights=ef, minlength=len(first))
                rows = rows[first]
        n_cells = self._fitted_cells = len(rows)  # rows the engine saw (benchmarks read it)
        sel = None if n_cells == len(df) else rows  # all rows as they are: no copies of codes
        engine = self._pick_engine(n_cells, design.n_columns, len(self.factors))
        off = np.log(ef)
        categorical = engine == "glum" or (
            engine == "newton" and self.family == "poisson" and newton_design(
                n_cells, design.n_columns, len(self.factors),
                imported="tabmat" in sys.modules)[0] == "categorical")
        self._design_kind = "categorical" if categorical else "dense"  # benchmarks read it
        if categorical:
            Xt = design.tabmat(df, codes, rows=sel) if design.specs else None
            try:
                if engine == "glum":
                    res = self._fit_glum(Xt, yf, off)
                else:
                    res = fit_poisson_categorical(
                        Xt, yf, off, what=self._what,
                        level_codes=[(codes[s.name] if sel is None else codes[s.name][sel],
                                      len(s.levels)) if s.is_categorical else None
                                     for s in design.specs])
            except (np.linalg.LinAlgError, ConvergenceError):
                self._check_rank(design, Xt=Xt, n=n_cells)  # an aliased design: name the columns
                raise
            # the rank is checked on the information of the fit (X'WX with W > 0 has the rank of
            # X'X): one X'WX less on large data than checking X'X first
            self._check_rank(design, gram=res.info)
        else:
            X = design.dense(df, codes, rows=sel)
            Z = start = None
            if self.family in ("zip", "zinb"):
                Z = (zdesign.dense(df.loc[fit_rows]) if zdesign else np.ones((n_fit, 1)))
            with limit_threads(rows=n_cells):  # the rank check's X'X too: a busy BLAS pool waits
                self._check_rank(design, X=X)
                if Z is not None:
                    start = self._fold_start(df.loc[fit_rows], X, Z)
                if engine == "statsmodels":
                    res = self._fit_statsmodels(X, yf, off, Z, start)
                elif self.family == "poisson":
                    res = fit_poisson_newton(X, yf, off, what=self._what)
                elif self.family == "negbin":
                    res = fit_negbin_newton(X, yf, off, what=self._what)
                else:
                    res = fit_zero_inflated(X, yf, off, Z, negbin=self.family == "zinb",
                                            what=self._what, start=start,
                                            covariance=start is None)

        self._design, self._zdesign, self.engine_ = design, zdesign, engine
        if "year" in self.factors and pd.api.types.is_numeric_dtype(df["year"]):
            self._design_year_max = float(df["year"].max())
        self.counts_name_, self.exposure_name_ = counts, exposure
        self._store(res, design, zdesign, df, codes, y, expo, zero)
        return self

    def _outcome(self, df, counts, exposure, p):
        y = expo = None
        if counts not in df.columns:
            p.add(column=counts, value="(missing column)",
                  rule=f"count column not in the table; columns are {list(df.columns)}")
        else:
            s = pd.to_numeric(df[counts], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(s) | (s < 0) | (np.floor(s) != s)
            if bad.any():
                p.add(row=df.index[bad].tolist(), column=counts,
                      value=df[counts].to_numpy()[bad][0],
                      rule=f"counts must be integers >= 0 ({int(bad.sum())} bad rows)")
            y = s
        if exposure is None:
            expo = np.ones(len(df))
        elif exposure not in df.columns:
            p.add(column=exposure, value="(missing column)",
                  rule="exposure column not in the table (pass exposure=None for unit exposure)")
        else:
            e = pd.to_numeric(df[exposure], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(e) | (e <= 0)
            if bad.any():
                p.add(row=df.index[bad].tolist(), column=exposure,
                      value=df[exposure].to_numpy()[bad][0],
                      rule=f"exposure must be finite and > 0 ({int(bad.sum())} bad rows); "
                      "drop rows without exposure")
            expo = e
        if len(df) == 0:
            p.add(column="data", value=0, rule="the table has no rows")
        return y, expo

    def _pick_engine(self, n: int, columns: int = 1, factors: int = 0) -> str:
        zi = self.family in ("zip", "zinb")
        if self.engine == "glum":
            if zi:
                raise ConfigError(f"{self._what}: engine='glum' has no zero-inflated families; "
                                  "use engine='statsmodels' (or 'auto')")
            if not _glum_available():
                raise ConfigError(f"{self._what}: engine='glum' needs glum: "
                                  "pip install 'safeins[glm]'")
            return "glum"
        if self.engine == "newton":
            if self.family == "negbin" and self.alpha is not None:
                raise ConfigError(f"{self._what}: engine='newton' estimates alpha; a fixed "
                                  "alpha needs engine='glum' or 'statsmodels' (or 'auto')")
            return "newton"
        if self.engine == "auto" and zi:
            # safeins' own Newton with the analytic Hessian: the same estimate as statsmodels'
            # BFGS, 10-40x faster, on the same dense design
            return "newton"
        if (self.engine == "auto" and self.family == "negbin" and self.alpha is None
                and n * columns <= NEWTON_MAX_ENTRIES):
            # the joint Newton in (beta, log alpha) on the dense design: measured 1-6x faster
            # than glum's alternation up to 100,000 rows x 36 columns (docs/models-glm.md)
            return "newton"
        # the prediction first: a small table never imports glum (seconds of imports); the dense
        # Newton is always cheaper than statsmodels' IRLS on the same dense design, and the
        # categorical one (large tables) measured 2x faster than glum itself
        if (self.engine == "auto" and self.family == "poisson"
                and predicted_seconds("newton", n, columns, factors,
                                      imported="tabmat" in sys.modules)
                < predicted_seconds("glum", n, columns, factors,
                                    imported="glum" in sys.modules)):
            return "newton"
        if (self.engine == "auto" and not zi
                and predicted_seconds("glum", n, columns, factors)
                < predicted_seconds("statsmodels", n, columns, factors) and _glum_available()):
            return "glum"
        return "statsmodels"

    def _check_rank(self, design: Design, X=None, Xt=None, n=None, gram=None) -> None:
        if gram is not None:
            pass
        elif X is not None:
            gram = X.T @ X
        elif Xt is not None:
            from ._glm_fit import _information

            gram = _information(Xt, np.ones(n), n)
        else:
            return
        d = np.sqrt(np.diag(gram))
        corr = gram / np.outer(d, d)
        with limit_threads(rows=1):  # p x p: a second BLAS thread on a busy machine stalls it
            w, v = np.linalg.eigh(corr)
        if w[0] > 1e-10 * w[-1]:
            return
        cols = design.columns
        alias = [cols[i] for i in np.flatnonzero(np.abs(v[:, 0]) > 0.05)]
        raise ValidationError(self._what, [_problem(
            "factors", [c.split("[")[0] for c in alias],
            f"design columns {alias} are linearly dependent (aliased, e.g. two factors that "
            "determine each other in the data); drop or merge one of them")])

    def _fit_statsmodels(self, X, y, off, Z, start=None) -> EngineFit:
        if self.family == "negbin" and self.alpha is not None:
            from ._glm_fit import _sm_glm

            res = _sm_glm(X, y, off, float(self.alpha), None, self._what)
            return EngineFit(np.asarray(res.params), np.asarray(res.cov_params()),
                             alpha=float(self.alpha))
        return fit_statsmodels(self.family, X, y, off, Z, what=self._what, start=start,
                               covariance=start is None)

    def _fold_start(self, df_fit, X, Z):
        """compare_frequency_models' fold fits (``_warm_start`` is the model fitted on all rows):
        its linear predictors on these rows, projected on this fit's designs, are the start
        (statsmodels' order: inflation, count, alpha). The projection is exact when the fold
        codes the factors as the full fit did, and close when a fold has another base level or
        lacks a level. A fold model only predicts: None here means "compute the covariance"."""
        full = getattr(self, "_warm_start", None)
        if full is None:
            return None
        mu, pi = full._means(df_fit, full._design.codes(df_fit))
        with np.errstate(divide="ignore"):
            eta, zeta = np.log(mu), np.log(pi) - np.log1p(-pi)
        if not (np.all(np.isfinite(eta)) and np.all(np.isfinite(zeta))):
            return None
        parts = [np.linalg.lstsq(Z, zeta, rcond=None)[0], np.linalg.lstsq(X, eta, rcond=None)[0]]
        if self.family == "zinb":
            parts.append([full.dispersion_])
        return np.concatenate(parts)

    def _fit_glum(self, Xt, y, off) -> EngineFit:
        with limit_threads(rows=len(y)):
            return self._fit_glum_inner(Xt, y, off)

    def _fit_glum_inner(self, Xt, y, off) -> EngineFit:
        if self.family == "negbin" and self.alpha is not None:
            from ._glm_fit import _glum_fit, _newton_polish

            b = _glum_fit(Xt, y, off, float(self.alpha), None, self._what)
            b, cov, _, info = _newton_polish(Xt, y, off, b, float(self.alpha), self._what,
                                            fitted=False)
            return EngineFit(b, cov, alpha=float(self.alpha), info=info)
        return fit_glum(self.family, Xt, y, off, what=self._what)

    # ------------------------------------------------------------------ fitted state
    def _store(self, res: EngineFit, design, zdesign, df, codes, y, expo, zero) -> None:
        cols = design.columns
        self.coef_ = pd.Series(res.beta, index=cols, name="coef")
        self.bse_ = pd.Series(np.sqrt(np.diag(res.cov)), index=cols, name="std_err")
        self.cov_ = pd.DataFrame(res.cov, index=cols, columns=cols)
        self.base_rate_ = float(np.exp(res.beta[0]))
        zi = self.family in ("zip", "zinb")
        self.dispersion_ = float(res.alpha) if self.family in ("negbin", "zinb") else 1.0
        self.dispersion_se_ = float(res.alpha_se) if self.alpha is None else float("nan")
        if zi:
            zcols = zdesign.columns if zdesign else [INTERCEPT]
            self.zero_coef_ = pd.Series(res.gamma, index=zcols, name="coef")
            self.zero_bse_ = pd.Series(np.sqrt(np.diag(res.gamma_cov)), index=zcols,
                                       name="std_err")
        self._zcov = res.gamma_cov
        for note in res.notes:
            warnings.warn(f"{self._what}: {note}", BoundaryWarning, stacklevel=3)

        mu_all, pi_all = self._means(df, codes)
        m = mu_all if pi_all is None else (1 - pi_all) * mu_all
        m = m * expo
        mu_count = mu_all * expo
        ll = loglik_obs(y, mu_count, self.dispersion_ if self.family in ("negbin", "zinb")
                        else 0.0, pi_all)
        self.loglik_ = float(ll.sum())
        self._loglik_obs = ll
        k = len(cols) + (len(res.gamma) if zi else 0) + (
            1 if self.family in ("negbin", "zinb") and self.alpha is None else 0)
        n = len(y)
        self.n_obs_, self.n_params_ = n, k
        self.aic_ = -2 * self.loglik_ + 2 * k
        self.bic_ = -2 * self.loglik_ + k * math.log(n)
        if zi:
            self.deviance_ = -2.0 * self.loglik_
        else:
            self.deviance_ = nb_deviance(y, m, self.dispersion_ if self.family == "negbin"
                                         else 0.0)
        self.poisson_deviance_ = (self.deviance_ if self.family == "poisson"
                                  else poisson_deviance(y, m))
        var = m + (self.dispersion_ * m**2 if self.family == "negbin" else 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.pearson_chi2_ = float(np.sum(np.where(var > 0, (y - m) ** 2 / var, 0.0)))
        self.pearson_dispersion_ = self.pearson_chi2_ / max(n - k, 1)
        self._total_y = float(y.sum())
        self.fitted_ = pd.Series(m, index=df.index, name=f"expected_{self.counts_name_}")

        levels = design.training_level_table()  # the sums of Design.learn on this table
        self.zero_levels_ = {s.name: list(s.zero_levels) for s in design.specs if s.zero_levels}
        self.merged_levels_ = {s.name: dict(s.merged) for s in design.specs if s.merged}
        self.relativities_ = self._relativities(levels, df, codes, y, expo, zero, pi_all)
        if self.zero_levels_:
            names = "; ".join(f"{f}: {', '.join(map(str, lv))}"
                              for f, lv in self.zero_levels_.items())
            warnings.warn(
                f"{self._what}: level(s) with no accident, relativity set to 0 (the maximum-"
                f"likelihood boundary) with an exact one-sided upper bound: {names}. Merge them "
                "with min_level_exposure=... or choose a coarser factor.",
                SparseLevelWarning, stacklevel=3)

    def _count_mu(self, codes, n: int) -> np.ndarray:
        """Count-part expected count per unit exposure (0 in zero-event levels)."""
        eta, zero = linear_predictor(self._design, codes, self.coef_.to_numpy(), n)
        mu = np.exp(eta)
        mu[zero] = 0.0
        return mu

    def _means(self, df, codes):
        """Expected count per unit exposure (count part) and inflation probability per row."""
        mu = self._count_mu(codes, len(df))
        pi = None
        if self.family in ("zip", "zinb"):
            g = self.zero_coef_.to_numpy()
            zeta = (np.full(len(df), g[0]) if self._zdesign is None
                    else self._zdesign.dense(df) @ g)
            pi = 1.0 / (1.0 + np.exp(-zeta))
        return mu, pi

    def _relativities(self, levels, df, codes, y, expo, zero, pi_all) -> pd.DataFrame:
        z = special.ndtri(0.5 + self.ci / 2)
        out = wald_relativities(
            self._design, levels, self.coef_.to_numpy(), self.bse_.to_numpy(), z,
            zero_upper=lambda spec, lev: self._zero_upper(spec, lev, df, codes, expo, pi_all))
        out = out[["factor", "level", "relativity", "ci_low", "ci_high", "exposure", "n_obs",
                   "counts", "is_base"]]
        # units: rows are enterprise-years; workers add up across sectors, exposure units do not
        out["enterprise_years"] = out["n_obs"]
        if "headcount" in df.columns:
            head = pd.to_numeric(df["headcount"], errors="coerce").to_numpy(dtype=float)
            out["worker_years"] = self._design.level_table(df, codes, head, None)["exposure"].to_numpy()
        else:
            out["worker_years"] = np.nan
        units = _exposure_units(df)
        self.exposure_unit_ = units[0] if len(units) == 1 else None
        if len(units) > 1:
            out["exposure"] = np.nan  # a sum of workers, yuan and vessels is no quantity
        return out

    # ------------------------------------------------------------------ trend
    def trend(self, factor: str = "year") -> pd.DataFrame:
        """The fitted yearly trend: relativity per year of a linear ``factor`` with its CI.

        ``annual_factor`` is ``exp(b)``, the multiplicative change in frequency from one year to
        the next (``0.95`` = 5 % fewer accidents a year), with the Wald interval at ``ci``.

        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"year": np.repeat(np.arange(2019, 2024), 2000), "exposure": 1.0})
        >>> df["accidents"] = rng.poisson(0.5 * np.exp(-0.05 * (df["year"] - 2019)))
        >>> m = FrequencyGLM("poisson", ["year"]).fit(df)
        >>> t = m.trend()
        >>> bool(t["ci_low"].iat[0] < np.exp(-0.05) < t["ci_high"].iat[0])
        True
        """
        self._check_fitted()
        spec = next((s for s in self._design.specs if s.name == factor), None)
        if spec is None or spec.kind != "linear":
            raise ConfigError(f"{self._what}.trend: {factor!r} is not a linear factor of the model "
                              f"(factors: {self.factors}); fit with {factor!r} among the factors "
                              "and numeric={...: 'linear'} (the default for a numeric column)")
        z = special.ndtri(0.5 + self.ci / 2)
        b, se = float(self.coef_[factor]), float(self.bse_[factor])
        return pd.DataFrame({"factor": [factor], "annual_factor": [math.exp(b)],
                             "ci_low": [math.exp(b - z * se)], "ci_high": [math.exp(b + z * se)],
                             "annual_change": [math.expm1(b)], "ci": [self.ci]})

    def project(self, data, year: int, factor: str = "year", exposure=None) -> pd.DataFrame:
        """Expected counts for ``data`` in the policy ``year`` (the trend carried forward).

        Returns one row per row of ``data``: ``expected`` and the ``ci_low``/``ci_high`` that the
        trend coefficient's uncertainty alone gives (the other coefficients held at their
        estimates; the dominant uncertainty of a projection several years out).
        """
        self.trend(factor)  # checks the factor
        df = _as_frame(data).copy()
        df[factor] = float(year)
        mean = self.predict(df, exposure=exposure)
        z = special.ndtri(0.5 + self.ci / 2)
        last = float(self._design_year_max if hasattr(self, "_design_year_max") else year)
        width = z * float(self.bse_[factor]) * abs(float(year) - last)
        return pd.DataFrame({"expected": mean, "ci_low": mean * math.exp(-width),
                             "ci_high": mean * math.exp(width)}, index=df.index)

    def _zero_upper(self, spec, lev, df, codes, expo, pi_all) -> float:
        """Exact upper bound r: P(no event in the level | relativity r) = (1 - ci) / 2."""
        inv, uniq = Design._factorize(df[spec.name], spec, Problems(self._what))
        rows = np.flatnonzero(Design.level_mask(spec, lev, inv, uniq))
        sub = {k: np.where(v[rows] == ZERO_CODE, 0, v[rows]) for k, v in codes.items()}
        mu = self._count_mu(sub, len(rows))
        m = mu * expo[rows]
        pi = None if pi_all is None else pi_all[rows]
        alpha = self.dispersion_ if self.family in ("negbin", "zinb") else 0.0
        target = math.log((1.0 - self.ci) / 2.0)

        def logp0(r):
            lp = loglik_obs(np.zeros(len(rows)), r * m, alpha, pi)
            return float(lp.sum()) - target

        if logp0(1e12) > 0:  # structural zeros alone make "no event" likely at any rate
            return float("inf")
        hi = 1.0
        while logp0(hi) > 0:
            hi *= 2.0
        return float(optimize.brentq(logp0, 0.0, hi, xtol=1e-12, rtol=1e-10))

    # ------------------------------------------------------------------ use
    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise ConfigError(f"{self._what} is not fitted yet: call .fit(data) first")

    def predict(self, data, exposure: str | float | np.ndarray | pd.Series | None = None,
                *, kind: str = "mean") -> pd.Series:
        """Expected counts for each row (``kind="mean"``), or per unit exposure (``"rate"``).

        ``exposure`` is a column name, a number or an array; by default the exposure column used in
        ``fit`` (unit exposure when that was None). For zero-inflated families the mean includes
        the structural zeros: ``(1 - pi) mu``.
        """
        self._check_fitted()
        df = _as_frame(data)
        if kind not in ("mean", "rate"):
            raise ConfigError(f"{self._what}.predict: kind must be 'mean' or 'rate', got {kind!r}")
        codes = self._design.codes(df)
        mu, pi = self._means(df, codes)
        rate = mu if pi is None else (1.0 - pi) * mu
        name = f"expected_{self.counts_name_}"
        if kind == "rate":
            return pd.Series(rate, index=df.index, name=f"{name}_rate")
        e = self._exposure_for(df, exposure)
        return pd.Series(rate * e, index=df.index, name=name)

    def _exposure_for(self, df, exposure):
        p = Problems(f"{self._what}.predict")
        if exposure is None:
            exposure = self.exposure_name_
            if exposure is None:
                return np.ones(len(df))
        if isinstance(exposure, str):
            if exposure not in df.columns:
                p.add(column=exposure, value="(missing column)",
                      rule="exposure column not in the table; pass exposure=<column, number or "
                      "array>")
                p.raise_if_any()
            e = pd.to_numeric(df[exposure], errors="coerce").to_numpy(dtype=float)
        else:
            e = np.broadcast_to(np.asarray(exposure, dtype=float), (len(df),)).copy()
        bad = ~np.isfinite(e) | (e < 0)
        if bad.any():
            p.add(row=df.index[bad].tolist(), column="exposure", value=e[bad][0],
                  rule="exposure must be finite and >= 0")
        p.raise_if_any()
        return e

    def expected_at_base(self, data, factor: str, exposure=None) -> pd.Series:
        """Expected counts of each row with ``factor`` set to its base level (relativity 1).

        The measure a credibility complement needs for a level, including a level without any
        event, whose own expected count is 0.

        >>> import pandas as pd, warnings
        >>> df = pd.DataFrame({"grade": ["A", "A", "A", "B"], "exposure": 1.0, "accidents": [2, 1, 3, 0]})
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")   # grade B has no accident: relativity 0
        ...     m = FrequencyGLM("poisson", ["grade"]).fit(df)
        >>> m.expected_at_base(df, "grade").round(6).tolist()
        [2.0, 2.0, 2.0, 2.0]
        """
        self._categorical_spec(factor, "expected_at_base")
        df = _as_frame(data)
        codes = dict(self._design.codes(df))
        codes[factor] = np.zeros(len(df), dtype=np.int64)
        mu, pi = self._means(df, codes)
        rate = mu if pi is None else (1.0 - pi) * mu
        e = self._exposure_for(df, exposure)
        return pd.Series(rate * e, index=df.index, name=f"expected_{self.counts_name_}_at_base")

    def level_of(self, data, factor: str) -> pd.Series:
        """The level label (as in ``relativities_``) of each row for a categorical or binned factor.

        >>> import pandas as pd
        >>> df = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5] * 5, "exposure": 1.0,
        ...                    "accidents": [0, 1, 1, 2] * 5})
        >>> m = FrequencyGLM("poisson", ["x"], numeric={"x": [0, 2, 4]}).fit(df)
        >>> m.level_of(df.head(2), "x").tolist()
        ['[0, 2]', '[0, 2]']
        """
        spec = self._categorical_spec(factor, "level_of")
        df = _as_frame(data)
        p = Problems(self._what)
        fz = self._design._factorize(df[factor], spec, p)
        p.raise_if_any()
        inv, uniq = fz
        lab = np.array([spec.merged.get(u, u) for u in uniq], dtype=object)
        return pd.Series(lab[inv], index=df.index, name=factor)

    def _categorical_spec(self, factor: str, method: str):
        spec = self.factor_spec(factor)
        if not spec.is_categorical:
            raise ConfigError(f"{self._what}.{method}: {factor!r} is not a categorical or binned "
                              f"factor of the model (factors: {self.factors})")
        return spec

    def factor_spec(self, factor: str):
        """How ``factor`` is coded: kind, levels and (binned) interior edges and labels."""
        self._check_fitted()
        spec = next((s for s in self._design.specs if s.name == factor), None)
        if spec is None:
            raise ConfigError(f"{self._what}: {factor!r} is not a factor of the model "
                              f"(factors: {self.factors})")
        return spec

    def score(self, data, counts: str | None = None, exposure: str | None = None) -> float:
        """Share of Poisson deviance explained (D²) on ``data``: 1 is perfect, 0 the flat rate.

        The reference is one overall rate per unit exposure on the same data; D² can be negative
        out of sample.
        """
        self._check_fitted()
        df = _as_frame(data)
        counts = counts or self.counts_name_
        ex = exposure if exposure is not None else self.exposure_name_
        y = df[counts].to_numpy(dtype=float)
        e = self._exposure_for(df, ex)
        mu = self.predict(df, exposure=e).to_numpy()
        mu0 = e * y.sum() / e.sum()
        return 1.0 - poisson_deviance(y, mu) / poisson_deviance(y, mu0)

    # ------------------------------------------------------------------ report
    def coef_table(self) -> pd.DataFrame:
        """Coefficients with standard errors, z, p-values and CIs (count part, then zero part)."""
        self._check_fitted()
        z = special.ndtri(0.5 + self.ci / 2)
        parts = [("count", self.coef_, self.bse_)]
        if self.family in ("zip", "zinb"):
            parts.append(("zero", self.zero_coef_, self.zero_bse_))
        frames = []
        for part, c, s in parts:
            f = pd.DataFrame({"part": part, "coef": c, "std_err": s, "z": c / s})
            f["p_value"] = 2 * special.ndtr(-np.abs(f["z"]))
            f["ci_low"], f["ci_high"] = c - z * s, c + z * s
            frames.append(f)
        return pd.concat(frames)

    @as_summary
    def summary(self) -> str:
        """A readable report: fit statistics, coefficients and the relativities table."""
        self._check_fitted()
        fam = {"poisson": "Poisson", "negbin": "Negative binomial (NB2)",
               "zip": "Zero-inflated Poisson", "zinb": "Zero-inflated NB2"}[self.family]
        w = 78
        head = [
            ("Family", fam), ("Engine", self.engine_),
            ("Observations", f"{self.n_obs_:,}"), ("Parameters", str(self.n_params_)),
            ("Counts", f"{self.counts_name_} (total {self._total_y:,.0f})"),
            ("Exposure", str(self.exposure_name_)),
            ("Log-likelihood", f"{self.loglik_:,.3f}"), ("AIC", f"{self.aic_:,.3f}"),
            ("BIC", f"{self.bic_:,.3f}"), ("Deviance", f"{self.deviance_:,.3f}"),
            ("Pearson chi2/df", f"{self.pearson_dispersion_:.4f}"),
            ("Base rate", f"{self.base_rate_:.6g} per unit exposure"),
        ]
        if self.family in ("negbin", "zinb"):
            se = "" if not np.isfinite(self.dispersion_se_) else f" (se {self.dispersion_se_:.4g})"
            fixed = " (fixed)" if self.alpha is not None else ""
            head.append(("NB2 alpha", f"{self.dispersion_:.6g}{se}{fixed}"))
        lines = ["FrequencyGLM results".center(w), "=" * w]
        for i in range(0, len(head), 2):
            pair = head[i:i + 2]
            lines.append("  ".join(f"{k + ':':<17}{v:<22}" for k, v in pair).rstrip())
        lines.append("=" * w)
        ct = self.coef_table()
        lines.append(ct.to_string(float_format=lambda x: f"{x:.4f}"))
        lines.append("-" * w)
        lines.append(f"Relativities ({self.ci:.0%} CI; base level = 1)")
        rt = self.relativities_.copy()
        rt["is_base"] = np.where(rt["is_base"], "base", "")
        lines.append(rt.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        if self.zero_levels_:
            lines.append(f"Levels with no event (relativity 0): {self.zero_levels_}")
        if self.merged_levels_:
            lines.append(f"Pooled into '(other)': {self.merged_levels_}")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Relativities with confidence intervals, one group per factor (log scale)."""
        self._check_fitted()
        from ._glm_plot import plot_relativities

        return plot_relativities(self.relativities_, self.ci, ax)

    def _repr_html_(self) -> str | None:
        from .._base.results import html_repr

        return html_repr(self)


def _exposure_units(df: pd.DataFrame) -> list[str]:
    """The exposure bases of the table's sectors (one unit when there is no sector column)."""
    if "sector" not in df.columns:
        return ["exposure"]
    # the distinct values first: converting 500,000 categorical rows to text costs 60 ms
    return sorted({_exposure_base(str(code)) for code in pd.unique(df["sector"])})


@functools.lru_cache(maxsize=1024)
def _exposure_base(code: str) -> str:
    # cached: an unknown code's look-up searches for close names (difflib), ~1 ms each, on every
    # fit of a cross-validation
    from ..domain import sectors as _sectors

    try:
        return _sectors.get(code).exposure_base
    except ValidationError:
        return "exposure"


_DEFAULTS = {"family": "poisson", "factors": [], "numeric": None, "base_levels": "most_exposed",
             "engine": "auto", "alpha": None, "zero_factors": None, "ci": 0.95,
             "min_level_exposure": None}
