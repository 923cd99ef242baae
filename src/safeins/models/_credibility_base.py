"""Shared plumbing of the credibility estimators: scikit-learn style parameters, fitted checks and
the notebook representation.

>>> class Demo(CredibilityEstimator):
...     def __init__(self, a=1):
...         self.a = a
>>> Demo(a=2).get_params()
{'a': 2}
>>> Demo()
Demo(a=1)
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from safeins._base.results import ResultMixin
from safeins.errors import Problems, SafeinsError, SafeinsWarning

__all__ = ["ClampWarning", "CredibilityEstimator", "NotFittedError", "check_iteration"]


class NotFittedError(SafeinsError, AttributeError):
    """A fitted attribute or method was used before ``fit``."""


class ClampWarning(SafeinsWarning):
    """An estimated between variance came out negative and was set to 0 (no credibility)."""


def warn_clamp(what: str, level: str, value: float) -> None:
    warnings.warn(
        f"{what}: the estimated variance between {level} nodes was {value:.6g} < 0 and is clamped "
        f"at 0: every {level} gets credibility 0 (the data show no heterogeneity beyond noise)",
        ClampWarning, stacklevel=3)


class CredibilityEstimator(ResultMixin):
    """Base: ``get_params``/``set_params`` like scikit-learn, a readable ``repr`` fitted or not."""

    _fitted_attr = "premiums_"

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Parameters given to the constructor (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters (scikit-learn protocol); returns self."""
        valid = self._param_names()
        for key, val in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {key!r}; "
                                 f"allowed: {', '.join(valid)}")
            setattr(self, key, val)
        return self

    def _is_fitted(self) -> bool:
        return hasattr(self, self._fitted_attr)

    def _check_fitted(self) -> None:
        if not self._is_fitted():
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def __repr__(self) -> str:
        if self._is_fitted():
            return self._summary_text()
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _repr_html_(self) -> str:
        if not self._is_fitted():
            import html

            return f"<pre>{html.escape(repr(self))}</pre>"
        return super()._repr_html_()


def check_iteration(p: Problems, tol, maxit) -> None:
    """Add a problem for a ``tol`` outside (0, 1) or a ``maxit`` that is not an integer >= 1."""
    p.check(isinstance(tol, float | int) and not isinstance(tol, bool) and 0 < tol < 1,
            column="tol", value=tol, rule="a number in (0, 1)")
    p.check(isinstance(maxit, int | np.integer) and not isinstance(maxit, bool) and maxit >= 1,
            column="maxit", value=maxit, rule="an integer >= 1")
