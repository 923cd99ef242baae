"""Credibility theory: Bühlmann, Bühlmann–Straub, hierarchical (Jewell) and regression
(Hachemeister) models.

The estimators follow the scikit-learn protocol and take tidy long tables (one row per group and
period). They reproduce R's actuar ``cm`` to full precision on the Hachemeister (1975) data; the
definitions that change a number are named parameters:

- the **complement** (collective premium) of Bühlmann–Straub: ``"credibility-weighted"`` mean of
  the group means (actuar, Bühlmann & Gisler; the default) or ``"exposure-weighted"``;
- the **between-variance estimator**: ``"buhlmann-gisler"`` (unbiased, clamped at 0; default),
  ``"ohlsson"`` or ``"iterative"`` (Bichsel–Straub pseudo-estimator).

On Hachemeister's state 1 these give 2055.17 (default), 2057.94 (exposure-weighted complement)
and 2053.06 (iterative).

>>> import pandas as pd, safeins._base.resources as r
>>> hache = pd.read_csv(r.data_dir("datasets") / "hachemeister.csv")
>>> bs = BuhlmannStraub().fit(hache, group="state", value="ratio", weight="weight")
>>> bs.premiums_.round(2).tolist()
[2055.17, 1523.71, 1793.44, 1442.97, 1603.29]
>>> round(bs.collective_, 2), round(bs.k_, 1)
(1683.71, 1552.0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from safeins.errors import Problems
from safeins.models._credibility_base import (
    ClampWarning,
    CredibilityEstimator,
    NotFittedError,
    check_iteration,
    warn_clamp,
)
from safeins.models._credibility_data import prepare_long, prepare_matrix
from safeins.models._credibility_engine import METHODS, fit_hierarchy
from safeins.models._credibility_regression import HachemeisterRegression

__all__ = [
    "Buhlmann",
    "BuhlmannStraub",
    "ClampWarning",
    "HachemeisterRegression",
    "HierarchicalCredibility",
    "NotFittedError",
    "limited_fluctuation_standard",
]

COMPLEMENTS = ("credibility-weighted", "exposure-weighted")
_TOL = float(np.sqrt(np.finfo(float).eps))


def _check_choice(what: str, name: str, value, allowed) -> None:
    p = Problems(what)
    p.check(value in allowed, column=name, value=value, rule=f"one of {', '.join(allowed)}")
    p.raise_if_any()


def _fmt(x: float) -> str:
    return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.0f}"


class BuhlmannStraub(CredibilityEstimator):
    """Bühlmann–Straub credibility premiums for groups observed over several weighted periods.

    Parameters
    ----------
    estimator : {"buhlmann-gisler", "ohlsson", "iterative"}
        Estimator of the between-group variance ``a``. With one level the Bühlmann–Gisler and
        Ohlsson estimators coincide (the classical unbiased estimator, clamped at 0 with a
        :class:`ClampWarning`); ``"iterative"`` is the Bichsel–Straub pseudo-estimator.
    complement : {"credibility-weighted", "exposure-weighted"}
        The collective premium ``m`` that a group's own mean is blended with.
    tol, maxit : float, int
        Convergence of the iterative estimator (relative change of ``a``).

    Attributes
    ----------
    premiums_ : Series
        Credibility premium ``m + Z (X_i - m)`` by group.
    credibility_ : Series
        ``Z_i = w_i / (w_i + k)`` by group.
    means_, weights_, n_periods_ : Series
        Weighted mean ``X_i``, total weight ``w_i`` and number of periods by group.
    collective_ : float
        The complement ``m``.
    within_variance_ : float
        ``s^2``, the expected within-group variance per unit weight.
    between_variance_ : float
        ``a`` (tau^2), clamped at 0; ``between_variance_unclamped_`` keeps the raw estimate.
    k_ : float
        ``s^2 / a`` (inf when ``a = 0``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sector": list("aaabbbccc"), "rate": [1., 2, 3, 4, 5, 6, 9, 8, 10],
    ...                    "exposure": [1., 2, 1, 1, 1, 1, 2, 2, 2]})
    >>> bs = BuhlmannStraub().fit(df, group="sector", value="rate", weight="exposure")
    >>> bs.credibility_.round(3).tolist()
    [0.977, 0.97, 0.985]
    >>> bs.predict(["c", "a"]).round(2).tolist()
    [8.94, 2.08]
    """

    _what = "BuhlmannStraub"

    def __init__(self, estimator: str = "buhlmann-gisler", complement: str = "credibility-weighted",
                 tol: float = _TOL, maxit: int = 100):
        self.estimator = estimator
        self.complement = complement
        self.tol = tol
        self.maxit = maxit
        self._check_params()  # again in fit: set after construction, a parameter may change

    # --- fitting -----------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, group: str, value: str, weight: str | None = None,
            period: str | None = None):
        """Fit on a long table: one row per group and period.

        Parameters
        ----------
        data : DataFrame
        group, value, weight : str
            Column names: the group label, the observed ratio (loss rate, average claim...) and its
            weight (exposure, claim count...). ``weight=None`` gives every row weight 1.
        period : str, optional
            Period column; when given, a group may have only one row per period.
        """
        self._check_params()
        prep = prepare_long(data, levels=[group], value=value, weight=weight, period=period,
                            what=self._what)
        return self._fit_prepared(prep, group)

    def fit_matrix(self, values, weights=None):
        """Fit on a wide matrix (groups in rows, periods in columns) and its weight matrix.

        A missing period is NaN in both matrices. Row labels (a DataFrame's index) name the groups.

        >>> bs = BuhlmannStraub().fit_matrix([[1., 2, 3], [4, 5, 6], [9, 8, 10]])
        >>> bs.premiums_.round(3).tolist()
        [2.09, 5.009, 8.901]
        """
        self._check_params()
        long = prepare_matrix(values, weights, what=self._what)
        prep = prepare_long(long, levels=["group"], value="value", weight="weight", period="period",
                            what=self._what)
        return self._fit_prepared(prep, "group")

    def _check_params(self) -> None:
        p = Problems(self._what)
        p.check(isinstance(self.estimator, str) and self.estimator in METHODS,
                column="estimator", value=self.estimator, rule=f"one of {', '.join(METHODS)}")
        p.check(isinstance(self.complement, str) and self.complement in COMPLEMENTS,
                column="complement", value=self.complement,
                rule=f"one of {', '.join(COMPLEMENTS)}")
        check_iteration(p, self.tol, self.maxit)
        p.raise_if_any()

    def _fit_prepared(self, prep, group_name: str):
        res = fit_hierarchy(prep.codes, prep.parents, prep.value, prep.weight,
                            method=self.estimator, tol=self.tol, maxit=self.maxit)
        labels = prep.labels[0]
        w = res["tw"][1]
        means = res["wm"][1]
        a, s2 = float(res["b"][0]), float(res["b"][1])
        if res["unclamped"][0] < 0:
            warn_clamp(self._what, group_name, float(res["unclamped"][0]))
        z = res["z"][1]
        if self.complement == "credibility-weighted":
            m = float(res["wm"][0][0])
        else:
            m = float(np.sum(w * means) / np.sum(w))
        self.group_ = group_name
        self.means_ = pd.Series(means, index=labels, name="mean")
        self.weights_ = pd.Series(w, index=labels, name="weight")
        self.n_periods_ = pd.Series(np.bincount(prep.codes[0]), index=labels, name="n_periods")
        self.credibility_ = pd.Series(z, index=labels, name="credibility")
        self.collective_ = m
        self.within_variance_ = s2
        self.between_variance_ = a
        self.between_variance_unclamped_ = float(res["unclamped"][0])
        self.k_ = s2 / a if a > 0 else float("inf")
        self.n_iter_ = res["iterations"]
        self.premiums_ = pd.Series(m + z * (means - m), index=labels, name="premium")
        return self

    # --- results -----------------------------------------------------------------------------
    def predict(self, groups=None) -> pd.Series:
        """Credibility premiums of the given groups (all fitted groups when None).

        A group not seen in the fit gets the complement (credibility 0).
        """
        self._check_fitted()
        if groups is None:
            return self.premiums_.copy()
        idx = pd.Index(np.atleast_1d(np.asarray(groups, dtype=object)),
                       name=self.premiums_.index.name)
        return self.premiums_.reindex(idx).fillna(self.collective_)

    def to_frame(self) -> pd.DataFrame:
        """One row per group: periods, weight, mean, credibility factor, premium."""
        self._check_fitted()
        return pd.DataFrame({
            "n_periods": self.n_periods_, "weight": self.weights_, "mean": self.means_,
            "credibility": self.credibility_, "premium": self.premiums_,
        })

    def _model_name(self) -> str:
        return "Bühlmann–Straub"

    def summary(self) -> str:
        """A readable report like actuar's ``summary(cm(...))``."""
        self._check_fitted()
        lines = [
            f"{self._model_name()} credibility  (estimator: {self.estimator}, "
            f"complement: {self.complement})",
            "",
            "Structure parameters",
            *(f"  {label:<40}{_fmt(val)}" for label, val in [
                ("collective premium (complement) m", self.collective_),
                (f"between {self.group_} variance a", self.between_variance_),
                (f"within {self.group_} variance s^2", self.within_variance_),
                ("credibility constant k = s^2/a", self.k_)]),
        ]
        if self.between_variance_unclamped_ < 0:
            lines.append(f"  note: the unbiased estimate of a was "
                         f"{self.between_variance_unclamped_:.6g} < 0 and is clamped at 0")
        if self.estimator == "iterative":
            lines.append(f"  {'iterations':<40}{self.n_iter_}")
        lines += ["", "Detailed premiums", ""]
        frame = self.to_frame().drop(columns="n_periods")
        frame.columns = ["Weight", "Indiv. mean", "Cred. factor", "Cred. premium"]
        lines.append(frame.to_string(float_format=lambda v: f"{v:,.4f}"))
        return "\n".join(lines)

    def plot(self, ax=None):
        """Group means, credibility premiums and the complement."""
        self._check_fitted()
        from safeins._base.plotting import axes

        ax = axes(ax)
        pos = np.arange(len(self.premiums_))
        ax.scatter(pos, self.means_, marker="o", label="group mean")
        ax.scatter(pos, self.premiums_, marker="x", label="credibility premium")
        ax.axhline(self.collective_, linestyle="--", color="grey", label="complement")
        ax.set_xticks(pos, [str(g) for g in self.premiums_.index], rotation=45)
        ax.set_xlabel(str(self.group_))
        ax.set_ylabel("value")
        ax.legend()
        return ax


class Buhlmann(BuhlmannStraub):
    """Bühlmann's model: Bühlmann–Straub with every period weighing 1.

    >>> bu = Buhlmann().fit_matrix([[1., 2, 3], [4, 5, 6], [9, 8, 10]])
    >>> round(bu.k_, 4), bu.credibility_.round(4).tolist()
    (0.0833, [0.973, 0.973, 0.973])
    """

    _what = "Buhlmann"

    def __init__(self, estimator: str = "buhlmann-gisler", complement: str = "credibility-weighted",
                 tol: float = _TOL, maxit: int = 100):
        super().__init__(estimator=estimator, complement=complement, tol=tol, maxit=maxit)

    def fit(self, data: pd.DataFrame, group: str, value: str, period: str | None = None):
        """Fit on a long table: one row per group and period (all weights 1)."""
        return super().fit(data, group=group, value=value, weight=None, period=period)

    def fit_matrix(self, values):
        """Fit on a wide matrix (groups in rows, periods in columns; NaN for a missing period)."""
        return super().fit_matrix(values, None)

    def _model_name(self) -> str:
        return "Bühlmann"


class HierarchicalCredibility(CredibilityEstimator):
    """Jewell's hierarchical credibility model (actuar's ``cm(~ cohort + cohort:contract)``).

    Parameters
    ----------
    levels : list of str
        Classification columns from the top down, e.g. ``["sector", "region"]``; the last level's
        nodes are the entities whose rows are periods. Labels are nested: the same region under
        two sectors is two nodes.
    method : {"buhlmann-gisler", "ohlsson", "iterative"}
        Between-variance estimators (see :mod:`safeins.models._credibility_engine`); all are
        clamped at 0 with a :class:`ClampWarning`.

    Attributes
    ----------
    premiums_, credibility_, means_, weights_ : dict of level -> Series
        Per level: credibility premiums, credibility factors, credibility-weighted means and
        weights (natural weights at the entity level, sums of the children's credibility factors
        above).
    collective_ : float
    between_variance_ : dict of level -> float
        Variance between the nodes of a level inside their parent.
    within_variance_ : float

    Examples
    --------
    >>> import pandas as pd, safeins._base.resources as r
    >>> hache = pd.read_csv(r.data_dir("datasets") / "hachemeister.csv")
    >>> hache["cohort"] = hache["state"].map({1: 1, 2: 2, 3: 1, 4: 2, 5: 2})
    >>> hc = HierarchicalCredibility(["cohort", "state"], method="iterative")
    >>> hc = hc.fit(hache, value="ratio", weight="weight")
    >>> hc.premiums_["cohort"].round(0).tolist(), round(hc.collective_)
    ([1949.0, 1543.0], 1746)
    """

    def __init__(self, levels=("sector", "region"), method: str = "buhlmann-gisler",
                 tol: float = _TOL, maxit: int = 100):
        self.levels = levels
        self.method = method
        self.tol = tol
        self.maxit = maxit
        self._check_params()

    def _check_params(self) -> list:
        """The levels as a list, after checking every parameter (one error naming each bad one)."""
        p = Problems("HierarchicalCredibility")
        if isinstance(self.levels, str):
            levels = [self.levels]
        else:
            try:
                levels = list(self.levels)
            except TypeError:  # a number, None: not a list of column names
                levels = []
        p.check(len(levels) >= 1 and all(isinstance(v, str) and v for v in levels)
                and len(set(levels)) == len(levels), column="levels",
                value=self.levels, rule="one or more distinct column names")
        p.check(isinstance(self.method, str) and self.method in METHODS, column="method",
                value=self.method, rule=f"one of {', '.join(METHODS)}")
        check_iteration(p, self.tol, self.maxit)
        p.raise_if_any()
        return levels

    def fit(self, data: pd.DataFrame, value: str, weight: str | None = None,
            period: str | None = None):
        """Fit on a long table with one column per level, one row per entity and period."""
        levels = self._check_params()
        prep = prepare_long(data, levels=levels, value=value, weight=weight, period=period,
                            what="HierarchicalCredibility")
        res = fit_hierarchy(prep.codes, prep.parents, prep.value, prep.weight, method=self.method,
                            tol=self.tol, maxit=self.maxit)
        for k, lev in enumerate(levels):
            if res["unclamped"][k] < 0:
                warn_clamp("HierarchicalCredibility", lev, float(res["unclamped"][k]))
        self.levels_ = levels
        self.collective_ = float(res["wm"][0][0])
        self.within_variance_ = float(res["s2"])
        self.between_variance_ = {lev: float(res["b"][k]) for k, lev in enumerate(levels)}
        self.between_variance_unclamped_ = {lev: float(res["unclamped"][k])
                                            for k, lev in enumerate(levels)}
        self.premiums_ = {}
        self.credibility_ = {}
        self.means_ = {}
        self.weights_ = {}
        self.n_iter_ = res["iterations"]
        for k, lev in enumerate(levels):
            idx = prep.labels[k]
            self.premiums_[lev] = pd.Series(res["premiums"][k + 1], index=idx, name="premium")
            self.credibility_[lev] = pd.Series(res["z"][k + 1], index=idx, name="credibility")
            self.means_[lev] = pd.Series(res["wm"][k + 1], index=idx, name="mean")
            self.weights_[lev] = pd.Series(res["tw"][k + 1], index=idx, name="weight")
        return self

    def predict(self, level: str | None = None) -> pd.Series:
        """Credibility premiums at ``level`` (the entity level when None)."""
        self._check_fitted()
        level = self.levels_[-1] if level is None else level
        if level not in self.premiums_:
            p = Problems("HierarchicalCredibility.predict")
            p.add(column="level", value=level, rule=f"one of {', '.join(self.levels_)}")
            p.raise_if_any()
        return self.premiums_[level].copy()

    def to_frame(self, level: str | None = None) -> pd.DataFrame:
        """Per node of ``level`` (entity level by default): mean, weight, credibility, premium."""
        self._check_fitted()
        level = self.levels_[-1] if level is None else level
        self.predict(level)
        return pd.DataFrame({"mean": self.means_[level], "weight": self.weights_[level],
                             "credibility": self.credibility_[level],
                             "premium": self.premiums_[level]})

    def summary(self) -> str:
        """A readable report like actuar's ``summary(cm(~ a + a:b, ...))``."""
        self._check_fitted()
        lv = self.levels_
        lines = [f"Hierarchical credibility (Jewell)  (method: {self.method})", "",
                 "Structure parameters",
                 f"  {'collective premium':<45}{_fmt(self.collective_)}"]
        for k, lev in enumerate(lv):
            name = f"between {lev}" if k == 0 else f"within {lv[k - 1]} / between {lev}"
            lines.append(f"  {name + ' variance':<45}{_fmt(self.between_variance_[lev])}")
        lines.append(f"  {'within ' + lv[-1] + ' variance':<45}{_fmt(self.within_variance_)}")
        for lev, raw in self.between_variance_unclamped_.items():
            if raw < 0:
                lines.append(f"  note: the {lev} estimate was {raw:.6g} < 0, clamped at 0")
        lines += ["", "Detailed premiums"]
        for lev in lv:
            frame = self.to_frame(lev)
            frame.columns = ["Indiv. mean", "Weight", "Cred. factor", "Cred. premium"]
            lines += ["", f"  Level: {lev}",
                      frame.to_string(float_format=lambda v: f"{v:,.4f}")]
        return "\n".join(lines)

    def plot(self, ax=None, level: str | None = None):
        """Node means and premiums at one level, with the collective premium."""
        from safeins._base.plotting import axes

        frame = self.to_frame(level)
        ax = axes(ax)
        pos = np.arange(len(frame))
        ax.scatter(pos, frame["mean"], marker="o", label="node mean")
        ax.scatter(pos, frame["premium"], marker="x", label="credibility premium")
        ax.axhline(self.collective_, linestyle="--", color="grey", label="collective")
        ax.set_xticks(pos, [str(g) for g in frame.index], rotation=45)
        ax.legend()
        return ax


def limited_fluctuation_standard(p: float = 0.90, r: float = 0.05, cv: float = 0.0) -> float:
    """Full-credibility standard of limited-fluctuation credibility, in expected claims.

    ``n_full = (z_{(1+p)/2} / r)^2 (1 + cv^2)``: with that many expected claims (Poisson), the
    observed total lies within ``±r`` of its mean with probability ``p``; ``cv`` is the severity's
    coefficient of variation (0 for claim counts). Partial credibility is ``Z = min(1, sqrt(n /
    n_full))``.

    >>> round(limited_fluctuation_standard(0.90, 0.05), 2)   # the classical 1082 claims
    1082.22
    """
    prob = Problems("limited_fluctuation_standard")
    prob.check(0 < p < 1, column="p", value=p, rule="a probability in (0, 1)")
    prob.check(0 < r < 1, column="r", value=r, rule="a relative error in (0, 1)")
    prob.check(cv >= 0, column="cv", value=cv, rule="must be >= 0")
    prob.raise_if_any()
    zq = stats.norm.ppf((1 + p) / 2)
    return float((zq / r) ** 2 * (1 + cv**2))
