"""Parameter checks shared by the frequency and severity families.

Every constructor describes its parameters as ``(name, value, rule)`` triples and calls
:func:`check_params`, which collects every broken rule and raises one
:class:`~safeins.errors.ValidationError` naming each bad parameter, its value and the allowed range.

>>> check_params("Poisson", [("mu", 2.0, "nonneg")])
>>> try:
...     check_params("NegativeBinomial", [("n", -1.0, "positive"), ("p", 1.5, "prob_open0")])
... except Exception as err:
...     print(len(err))
2
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from ..errors import Problems

__all__ = ["RULES", "check_params"]

# rule name -> (predicate on a finite float, human text of the allowed range)
RULES = {
    "positive": (lambda v: v > 0, "a finite number > 0"),
    "nonneg": (lambda v: v >= 0, "a finite number >= 0"),
    "real": (lambda v: True, "a finite number"),
    "prob": (lambda v: 0 <= v <= 1, "a probability in [0, 1]"),
    "prob_open": (lambda v: 0 < v < 1, "a probability in (0, 1)"),
    "prob_open0": (lambda v: 0 < v <= 1, "a probability in (0, 1]"),
    "prob_open1": (lambda v: 0 <= v < 1, "a probability in [0, 1)"),
    "int_nonneg": (lambda v: v >= 0 and float(v).is_integer(), "an integer >= 0"),
}


def _as_float(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, Integral | Real):
        return float(value)
    try:
        import numpy as np

        arr = np.asarray(value)
        if arr.ndim == 0 and arr.dtype.kind in "iuf":
            return float(arr)
    except Exception:  # pragma: no cover - defensive: anything odd is reported below
        return None
    return None


def check_params(what: str, specs, problems: Problems | None = None) -> None:
    """Check ``(name, value, rule)`` triples; raise one ValidationError listing every failure.

    ``rule`` is a key of :data:`RULES`. NaN and infinities always fail. If ``problems`` is given the
    failures are added to it and nothing is raised (the caller raises once with its own checks).
    """
    own = problems is None
    probs = Problems(what) if own else problems
    for name, value, rule in specs:
        pred, text = RULES[rule]
        v = _as_float(value)
        if v is None or not math.isfinite(v) or not pred(v):
            probs.add(column=name, value=value, rule=f"must be {text}")
    if own:
        probs.raise_if_any()


class Parametric:
    """Identity of a distribution by its parameters: ``params``, repr, equality and hashing.

    Subclasses list their parameter names in ``_params``.

    >>> from safeins.losses import Poisson
    >>> Poisson(2.0) == Poisson(2.0), Poisson(2.0).params
    (True, {'mu': 2.0})
    """

    _params: tuple[str, ...] = ()

    @property
    def params(self) -> dict:
        """The parameters, as a dict (name -> value)."""
        return {k: getattr(self, k) for k in self._params}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.params == other.params

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self.params.items())))
