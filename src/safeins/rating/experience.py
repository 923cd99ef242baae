"""Experience rating by credibility: an enterprise's experience modification.

``M = Z * (actual / expected) + (1 - Z)``, then capped to ``[floor, ceiling]`` when the user gives
them (no regulatory bound is assumed). ``Z`` comes from one of two named credibility rules:

- ``"buhlmann-straub"``: ``Z = E / (E + k)`` with the enterprise's exposure ``E`` (in the units of
  the weights used to learn ``k``) and ``k = s^2 / a`` learned from a history of loss rates by
  :class:`~safeins.models.credibility.BuhlmannStraub` (or given directly);
- ``"limited-fluctuation"``: ``Z = min(1, sqrt(E / n_full))`` with a full-credibility standard
  ``n_full`` in the same units (see
  :func:`~safeins.models.credibility.limited_fluctuation_standard`).

The Bühlmann–Straub modification is the credibility premium divided by the complement: with
``actual / expected = X_i / m`` it gives ``M m = Z X_i + (1 - Z) m``.

>>> er = ExperienceRating(k=500.0, cap=(0.6, 1.6))
>>> er.modification(actual=[0.0, 300.0, 5000.0], expected=[100.0, 100.0, 1000.0],
...                 exposure=[100.0, 100.0, 1000.0]).round(4).tolist()
[0.8333, 1.3333, 1.6]
>>> er.to_frame()["raw_modification"].round(4).tolist()
[0.8333, 1.3333, 3.6667]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from safeins.errors import Problems
from safeins.models._credibility_base import CredibilityEstimator, NotFittedError
from safeins.models.credibility import BuhlmannStraub

__all__ = ["ExperienceRating"]

RULES = ("buhlmann-straub", "limited-fluctuation")


def _as_array(x, name: str, n_expected: int | None, problems: Problems):
    if isinstance(x, pd.Series):
        idx = x.index
        arr = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
    else:
        arr = np.atleast_1d(np.asarray(x, dtype=float))
        idx = None
    if arr.ndim != 1:
        problems.add(column=name, value=arr.shape, rule="must be one-dimensional")
    elif n_expected is not None and len(arr) != n_expected:
        problems.add(column=name, value=len(arr), rule=f"must have length {n_expected}")
    return arr, idx


class ExperienceRating(CredibilityEstimator):
    """Credibility experience modification per enterprise, vectorised.

    Parameters
    ----------
    credibility : {"buhlmann-straub", "limited-fluctuation"}
        Where ``Z`` comes from (see the module docstring).
    cap : (floor, ceiling) or None
        Bounds on the modification; either may be None. ``None``: no bound.
    k : float, optional
        Bühlmann–Straub credibility constant ``s^2 / a`` given directly (otherwise learned by
        :meth:`fit`). ``float("inf")`` means no credibility.
    full_credibility : float, optional
        The limited-fluctuation full-credibility standard, in exposure units (required for
        ``"limited-fluctuation"``).
    estimator : str
        Between-variance estimator used by :meth:`fit` (see
        :class:`~safeins.models.credibility.BuhlmannStraub`).

    Attributes
    ----------
    k_ : float
        The credibility constant in use (Bühlmann–Straub).
    credibility_model_ : BuhlmannStraub
        The model fitted on the history (when :meth:`fit` was called).

    Examples
    --------
    >>> import pandas as pd
    >>> hist = pd.DataFrame({"enterprise": list("aabbcc"),
    ...                      "loss_rate": [0.5, 0.7, 1.0, 1.4, 2.0, 2.6],
    ...                      "exposure": [10.0, 12, 8, 9, 20, 22]})
    >>> er = ExperienceRating().fit(hist, group="enterprise", value="loss_rate", weight="exposure")
    >>> round(er.k_, 3)
    1.821
    >>> round(float(er.credibility_factor(10.0)), 3)
    0.846
    """

    _fitted_attr = "k_"

    def __init__(self, credibility: str = "buhlmann-straub", cap=None, k: float | None = None,
                 full_credibility: float | None = None, estimator: str = "buhlmann-gisler"):
        self.credibility = credibility
        self.cap = cap
        self.k = k
        self.full_credibility = full_credibility
        self.estimator = estimator
        self._resolve_params()

    def _resolve_params(self):
        p = Problems("ExperienceRating")
        p.check(self.credibility in RULES, column="credibility", value=self.credibility,
                rule=f"one of {', '.join(RULES)}")
        floor = ceiling = None
        if self.cap is not None:
            try:
                floor, ceiling = self.cap
            except (TypeError, ValueError):
                p.add(column="cap", value=self.cap, rule="a pair (floor, ceiling) or None")
        for name, v in (("cap floor", floor), ("cap ceiling", ceiling)):
            if v is not None:
                p.check(isinstance(v, int | float) and math.isfinite(v) and v >= 0, column=name,
                        value=v, rule="a finite number >= 0 or None")
        if (isinstance(floor, int | float) and isinstance(ceiling, int | float)
                and floor > ceiling):
            p.add(column="cap", value=self.cap, rule="the floor must not exceed the ceiling")
        if self.k is not None:
            p.check(isinstance(self.k, int | float) and not isinstance(self.k, bool)
                    and self.k >= 0 and not math.isnan(self.k),
                    column="k", value=self.k, rule="a number >= 0 (inf: no credibility)")
        if self.credibility == "limited-fluctuation" or self.full_credibility is not None:
            f = self.full_credibility
            p.check(isinstance(f, int | float) and not isinstance(f, bool) and math.isfinite(f)
                    and f > 0,
                    column="full_credibility", value=f,
                    rule="a finite number > 0 in exposure units is required for "
                         "limited-fluctuation (e.g. limited_fluctuation_standard(0.9, 0.05) "
                         "expected claims)")
        p.raise_if_any()
        self._floor, self._ceiling = floor, ceiling
        if self.credibility == "limited-fluctuation":
            self.k_ = float("nan")
        elif self.k is not None:
            self.k_ = float(self.k)

    # --- fitting -----------------------------------------------------------------------------
    def fit(self, history: pd.DataFrame, group: str = "enterprise", value: str = "loss_rate",
            weight: str = "exposure", period: str | None = None):
        """Learn ``k`` from a history: one row per enterprise and year, ``value`` a loss rate
        (loss ratio or loss per unit of exposure) and ``weight`` its exposure."""
        p = Problems("ExperienceRating.fit")
        p.check(self.credibility == "buhlmann-straub", column="credibility",
                value=self.credibility,
                rule="fit() learns the Bühlmann–Straub k; limited-fluctuation needs no fit")
        p.check(self.k is None, column="k", value=self.k,
                rule="k was given explicitly and would override the fitted one; set k=None to "
                     "learn it from the history")
        p.raise_if_any()
        model = BuhlmannStraub(estimator=self.estimator).fit(history, group=group, value=value,
                                                            weight=weight, period=period)
        self.credibility_model_ = model
        self.k_ = model.k_
        return self

    # --- rating ------------------------------------------------------------------------------
    def credibility_factor(self, exposure) -> np.ndarray:
        """Credibility factor ``Z`` for each exposure."""
        self._resolve_params()
        if not hasattr(self, "k_"):
            raise NotFittedError("ExperienceRating: call fit() or give k=... first")
        e = np.asarray(exposure, dtype=float)
        if self.credibility == "limited-fluctuation":
            return np.minimum(1.0, np.sqrt(e / self.full_credibility))
        if math.isinf(self.k_):
            return np.zeros_like(e)
        with np.errstate(invalid="ignore"):
            return np.where(e > 0, e / (e + self.k_), 0.0)

    def modification(self, actual, expected, exposure=None, index=None) -> pd.Series:
        """Capped experience modification per enterprise.

        Parameters
        ----------
        actual, expected : array-like or Series
            Each enterprise's actual and expected losses over the experience period (yuan).
        exposure : array-like, optional
            The credibility weight (same units as the history's weights, or as
            ``full_credibility``); defaults to ``expected``.
        index : array-like, optional
            Enterprise ids (default: the index of ``actual`` when it is a Series).
        """
        table = self.explain(actual, expected, exposure, index)
        self.table_ = table
        return table["modification"].copy()

    def explain(self, actual, expected, exposure=None, index=None) -> pd.DataFrame:
        """The derivation table: actual, expected, exposure, Z, raw and capped modification."""
        p = Problems("ExperienceRating.modification")
        a, a_idx = _as_array(actual, "actual", None, p)
        n = len(a) if a.ndim == 1 else None
        e, _ = _as_array(expected, "expected", n, p)
        w, _ = _as_array(expected if exposure is None else exposure, "exposure", n, p)
        p.raise_if_any()
        if index is None:
            index = a_idx if a_idx is not None else pd.RangeIndex(len(a))
        index = pd.Index(index)
        if len(index) != len(a):
            p.add(column="index", value=len(index), rule=f"must have length {len(a)}")
            p.raise_if_any()
        for name, arr, rule, ok in (
            ("actual", a, "a finite number >= 0", np.isfinite(a) & (a >= 0)),
            ("expected", e, "a finite number > 0", np.isfinite(e) & (e > 0)),
            ("exposure", w, "a finite number >= 0", np.isfinite(w) & (w >= 0)),
        ):
            for pos in np.flatnonzero(~ok):
                p.add(row=index[pos], column=name, value=float(arr[pos]), rule=rule)
        p.raise_if_any()
        z = self.credibility_factor(w)
        raw = z * (a / e) + (1.0 - z)
        capped = raw
        if self._floor is not None:
            capped = np.maximum(capped, self._floor)
        if self._ceiling is not None:
            capped = np.minimum(capped, self._ceiling)
        return pd.DataFrame({
            "actual": a, "expected": e, "exposure": w, "actual_to_expected": a / e,
            "credibility": z, "raw_modification": raw, "modification": capped,
            "capped": capped != raw,
        }, index=index)

    # --- results -----------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The table of the last :meth:`modification` call."""
        if not hasattr(self, "table_"):
            raise NotFittedError("ExperienceRating: call modification() first")
        return self.table_.copy()

    def summary(self) -> str:
        """The rule in use and, after :meth:`modification`, how many enterprises were capped."""
        self._resolve_params()
        if self.credibility == "limited-fluctuation":
            rule = f"limited fluctuation, Z = min(1, sqrt(E / {self.full_credibility:,.6g}))"
        else:
            k = getattr(self, "k_", None)
            rule = ("Bühlmann–Straub, Z = E / (E + k), k not fitted yet" if k is None
                    else f"Bühlmann–Straub, Z = E / (E + k), k = {k:,.6g}")
        cap = ("none" if self.cap is None else f"floor {self._floor}, ceiling {self._ceiling}")
        lines = ["Experience rating  M = Z (actual / expected) + (1 - Z)",
                 f"  credibility: {rule}", f"  cap: {cap}"]
        if hasattr(self, "table_"):
            t = self.table_
            lines.append(f"  enterprises: {len(t)}, capped: {int(t['capped'].sum())}, "
                         f"mean modification {t['modification'].mean():.4f}")
        return "\n".join(lines)

    def _is_fitted(self) -> bool:
        return hasattr(self, "table_")

    def plot(self, ax=None):
        """Raw and capped modification against actual / expected."""
        from safeins._base.plotting import axes

        t = self.to_frame()
        ax = axes(ax)
        ax.scatter(t["actual_to_expected"], t["raw_modification"], marker="o", label="raw")
        ax.scatter(t["actual_to_expected"], t["modification"], marker="x", label="capped")
        ax.set_xlabel("actual / expected")
        ax.set_ylabel("modification")
        ax.legend()
        return ax
