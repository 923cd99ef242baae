"""Comparing frequency models: information criteria, over-dispersion and zero-inflation tests,
k-fold out-of-sample deviance, and ordered Lorenz curves with their Gini index.

* Poisson vs NB2: likelihood ratio ``LR = 2 (ll_NB - ll_P)``. alpha = 0 is on the boundary of the
  parameter space, so under H0 the LR is a 50:50 mixture of 0 and chi-square(1): the p-value is
  ``0.5 * P(chi2_1 > LR)`` (Self & Liang 1987; Cameron & Trivedi 2013, sec. 3.4).
* Zero inflation: Vuong's (1989) non-nested test on ``m_i = ll_ZI,i - ll_base,i``,
  ``V = sum(m) / (sqrt(n) sd(m))``, raw and with the AIC correction ``sum(m) - (k1 - k2)`` and the
  BIC correction ``sum(m) - (k1 - k2) log(n) / 2`` (as R's pscl::vuong). One-sided p-value
  ``P(Z > V)`` for "the zero-inflated model is better". Wilson (2015) showed the test is not a
  valid test of zero inflation in the strict sense: read it with the AIC/BIC columns.
* Ordered Lorenz curve (Frees, Meyers & Cummings 2011): sort by the relativity ``pred / base``
  (the base premium is the exposure: a flat rate), plot the cumulative share of the base against
  the cumulative share of observed losses; Gini = 1 - 2 × area under the curve. Ties in the
  relativity are one step, so the curve does not depend on the order of rows.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 3]); pred = np.array([0.1, 0.2, 0.5, 1.0])
>>> round(gini(y, pred), 4)
0.625
>>> gini(y, np.ones(4))     # a flat rate has no lift
0.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._base.results import ResultMixin
from .._base.rng import SeedLike, as_generator
from ..errors import Problems, ValidationError
from ._glm_fit import poisson_deviance
from .frequency_glm import FrequencyGLM, _as_frame

__all__ = ["FrequencyComparison", "compare_frequency_models", "gini", "lorenz_curve"]


def _arrays(y, pred, exposure, what):
    p = Problems(what)
    y = np.asarray(y, dtype=float).ravel()
    pred = np.asarray(pred, dtype=float).ravel()
    e = np.ones_like(y) if exposure is None else np.asarray(exposure, dtype=float).ravel()
    if not (len(y) == len(pred) == len(e)):
        p.add(column="lengths", value=(len(y), len(pred), len(e)),
              rule="y, pred and exposure must have the same length")
        p.raise_if_any()
    if len(y) == 0:
        p.add(column="y", value=0, rule="at least one observation")
    for name, a, rule in (("y", y, "finite and >= 0"), ("pred", pred, "finite and >= 0"),
                          ("exposure", e, "finite and > 0")):
        bad = ~np.isfinite(a) | (a < 0) | ((a == 0) if name == "exposure" else False)
        if bad.any():
            p.add(row=np.flatnonzero(bad).tolist(), column=name, value=a[bad][0], rule=rule)
    if len(y) and np.isfinite(y).all() and y.sum() <= 0:
        p.add(column="y", value=0.0, rule="total observed loss must be > 0")
    p.raise_if_any()
    return y, pred, e


def lorenz_curve(y, pred, exposure=None) -> pd.DataFrame:
    """Ordered Lorenz curve: cumulative exposure share vs cumulative observed share.

    Rows are ordered by predicted rate ``pred / exposure`` (ascending); rows with equal rates form
    one step. Returns columns ``exposure_share`` and ``loss_share``, starting at (0, 0) and ending
    at (1, 1).

    >>> lorenz_curve([0, 2], [1.0, 3.0]).round(2).to_dict("list")
    {'exposure_share': [0.0, 0.5, 1.0], 'loss_share': [0.0, 0.0, 1.0]}
    """
    y, pred, e = _arrays(y, pred, exposure, "lorenz_curve")
    rate = pred / e
    # equal rates up to rounding (a flat rate, a rescaled prediction) must form one step
    top = rate.max()
    key = np.round(rate / top, 12) if top > 0 else rate
    uniq, inv = np.unique(key, return_inverse=True)
    ey = np.bincount(inv, weights=e, minlength=len(uniq))
    yy = np.bincount(inv, weights=y, minlength=len(uniq))
    x = np.concatenate([[0.0], np.cumsum(ey) / e.sum()])
    ls = np.concatenate([[0.0], np.cumsum(yy) / y.sum()])
    return pd.DataFrame({"exposure_share": x, "loss_share": ls})


def gini(y, pred, exposure=None, *, normalize: bool = False) -> float:
    """Gini index of the ordered Lorenz curve: ``1 - 2 × area`` (0 for a flat rate).

    ``normalize=True`` divides by the Gini of the oracle ordering (by observed rate ``y/exposure``),
    so that 1 is the best achievable ordering on these data.

    >>> round(gini([0, 0, 1, 3], [0.1, 0.2, 0.5, 1.0], normalize=True), 4)
    1.0
    """
    c = lorenz_curve(y, pred, exposure)
    x, ls = c["exposure_share"].to_numpy(), c["loss_share"].to_numpy()
    g = 1.0 - 2.0 * float(np.sum(np.diff(x) * (ls[1:] + ls[:-1]) / 2.0))
    if normalize:
        y_, _, e_ = _arrays(y, pred, exposure, "gini")
        g_max = gini(y_, y_, e_)
        return g / g_max if g_max > 0 else float("nan")
    return g


class FrequencyComparison(ResultMixin):
    """The result of :func:`compare_frequency_models`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model: family, n_params, loglik, aic, bic, deviance, poisson_deviance,
        cv_poisson_deviance (mean out-of-fold Poisson deviance per row), gini (out-of-fold).
    tests : pandas.DataFrame
        test, null, alternative, statistic, df, p_value, note.
    lorenz : dict
        Model name -> out-of-fold ordered Lorenz curve.
    models : dict
        Model name -> model fitted on all the data.
    """

    def __init__(self, table, tests, lorenz, models, folds, seed):
        self.table, self.tests, self.lorenz, self.models = table, tests, lorenz, models
        self.folds, self.seed = folds, seed

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        best = self.table["aic"].idxmin()
        lines = ["Frequency model comparison", "=" * 26,
                 self.table.to_string(float_format=lambda x: f"{x:.4f}"),
                 f"lowest AIC: {best}; cross-validation: {self.folds} folds, seed {self.seed}"]
        if len(self.tests):
            lines += ["", "Tests", self.tests.to_string(index=False,
                                                       float_format=lambda x: f"{x:.4g}")]
        return "\n".join(lines)

    def plot(self, ax=None):
        """Out-of-fold ordered Lorenz curves of every model, with the line of equality."""
        from .._base.plotting import axes

        ax = axes(ax)
        for name, c in self.lorenz.items():
            g = self.table.loc[name, "gini"]
            ax.plot(c["exposure_share"], c["loss_share"], label=f"{name} (Gini {g:.3f})")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="flat rate")
        ax.set_xlabel("cumulative share of exposure (ordered by predicted rate)")
        ax.set_ylabel("cumulative share of accidents")
        ax.legend(loc="upper left", fontsize=8)
        return ax


def _named(models) -> dict:
    if isinstance(models, Mapping):
        return dict(models)
    out: dict = {}
    for m in models:
        name = m.family
        i = 2
        while name in out:
            name, i = f"{m.family}_{i}", i + 1
        out[name] = m
    return out


def _same_spec(a, b) -> bool:
    return (list(a.factors) == list(b.factors) and a.numeric == b.numeric
            and a.base_levels == b.base_levels and a.min_level_exposure == b.min_level_exposure)


def compare_frequency_models(data, models: Mapping | Sequence, counts: str = "accidents",
                             exposure: str | None = "exposure", *, folds: int = 5,
                             seed: SeedLike = 0) -> FrequencyComparison:
    """Fit several :class:`FrequencyGLM` configurations on the same data and compare them.

    Each model is refitted (its configuration is copied; a fitted model passed in is not changed)
    on all the data for AIC, BIC, deviance and the tests, and on ``folds`` seeded folds for the
    out-of-sample Poisson deviance and Gini. Pairs with the same factors are tested: Poisson vs NB2
    (boundary-corrected likelihood ratio) and ZIP vs Poisson, ZINB vs NB2 (Vuong).

    >>> import numpy as np, pandas as pd
    >>> from safeins.models.frequency_glm import FrequencyGLM
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"g": rng.choice(["a", "b"], 800), "exposure": np.ones(800)})
    >>> df["accidents"] = rng.negative_binomial(1.0, 1 / (1 + np.where(df["g"] == "a", 0.5, 1.0)))
    >>> cmp = compare_frequency_models(df, [FrequencyGLM("poisson", ["g"]),
    ...                                     FrequencyGLM("negbin", ["g"])], folds=3, seed=1)
    >>> cmp.table["aic"].idxmin()
    'negbin'
    >>> bool(cmp.tests.loc[0, "p_value"] < 1e-6)
    True
    """

    df = _as_frame(data)
    named = _named(models)
    p = Problems("compare_frequency_models")
    if not named:
        p.add(column="models", value=models, rule="at least one FrequencyGLM")
    for name, m in named.items():
        if not isinstance(m, FrequencyGLM):
            p.add(column="models", value=f"{name}: {type(m).__name__}", rule="a FrequencyGLM")
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= len(df):
        p.add(column="folds", value=folds, rule=f"an int between 2 and the number of rows "
              f"({len(df)})")
    p.raise_if_any()

    fitted = {name: FrequencyGLM(**m.get_params()).fit(df, counts, exposure)
              for name, m in named.items()}
    y = df[counts].to_numpy(dtype=float)
    e = np.ones(len(df)) if exposure is None else df[exposure].to_numpy(dtype=float)

    n = len(df)
    fold = np.empty(n, dtype=np.int64)
    fold[as_generator(seed).permutation(n)] = np.arange(n) % folds
    oof = {name: np.empty(n) for name in named}
    for k in range(folds):
        test = fold == k
        for name, m in named.items():
            mk = FrequencyGLM(**m.get_params())
            full = fitted[name]
            if full.family in ("zip", "zinb"):
                # a fold model only predicts: no covariance, and its optimiser starts from the
                # full-data estimate (fewer iterations)
                mk._warm_start = full
            mk.fit(df.loc[~test], counts, exposure)
            try:
                oof[name][test] = mk.predict(df.loc[test], exposure=e[test]).to_numpy()
            except ValidationError as err:
                raise ValidationError(f"compare_frequency_models: model {name!r}, fold {k} "
                                      f"(seed {seed})", err._problems) from None

    rows, lorenz = [], {}
    for name, m in fitted.items():
        lorenz[name] = lorenz_curve(y, oof[name], e)
        rows.append({"model": name, "family": m.family, "n_params": m.n_params_,
                     "loglik": m.loglik_, "aic": m.aic_, "bic": m.bic_, "deviance": m.deviance_,
                     "poisson_deviance": m.poisson_deviance_,
                     "cv_poisson_deviance": poisson_deviance(y, oof[name]) / n,
                     "gini": gini(y, oof[name], e), "dispersion": m.dispersion_})
    table = pd.DataFrame(rows).set_index("model")
    return FrequencyComparison(table, _tests(fitted), lorenz, fitted, folds, seed)


def _tests(fitted: dict) -> pd.DataFrame:
    rows = []
    items = list(fitted.items())
    pairs = [("poisson", "negbin"), ("poisson", "zip"), ("negbin", "zinb")]
    for small_f, big_f in pairs:
        for ns, s in items:
            for nb, b in items:
                if s.family != small_f or b.family != big_f or not _same_spec(s, b):
                    continue
                if big_f == "negbin":
                    if b.alpha is not None:
                        continue
                    lr = max(2.0 * (b.loglik_ - s.loglik_), 0.0)
                    pval = 0.5 * stats.chi2.sf(lr, 1) if lr > 0 else 1.0
                    rows.append({"test": "LR over-dispersion (boundary: 0.5 chi2(1))",
                                 "null": ns, "alternative": nb, "statistic": lr, "df": 1.0,
                                 "p_value": pval, "note": "H0: alpha = 0"})
                else:
                    rows.extend(_vuong_rows(ns, s, nb, b))
    cols = ["test", "null", "alternative", "statistic", "df", "p_value", "note"]
    return pd.DataFrame(rows, columns=cols)


def _vuong_rows(ns, s, nb, b) -> list[dict]:
    m = b._loglik_obs - s._loglik_obs
    n = len(m)
    sd = float(np.std(m, ddof=1))
    dk = b.n_params_ - s.n_params_
    out = []
    for label, corr in (("raw", 0.0), ("AIC-corrected", dk), ("BIC-corrected",
                                                              dk * math.log(n) / 2.0)):
        v = (m.sum() - corr) / (math.sqrt(n) * sd) if sd > 0 else float("nan")
        out.append({"test": f"Vuong zero inflation ({label})", "null": ns, "alternative": nb,
                    "statistic": v, "df": np.nan, "p_value": float(stats.norm.sf(v)),
                    "note": "p = P(Z > V): small favours the zero-inflated model"})
    return out
