"""Premium principles: from a loss distribution to a risk-loaded (pure + risk load) premium.

Every principle has ``premium(risk)`` and ``risk_load(risk) = premium(risk) - E[risk]``. A *risk* is

* a 1-D array of simulated losses (equal weights);
* a pair ``(x, probs)``: a lattice or any discrete distribution;
* an object with ``.lattice()`` returning ``(x, probs)`` (e.g. a compound ``Aggregate``);
* a frozen scipy.stats distribution (integrals are done numerically with its pdf/sf; a discrete
  law is summed over its support up to a tail mass of 1e-16);
* for the moment principles only (expected value, standard deviation, variance), any object with
  ``.mean()`` and ``.var()``.

Discrete risks are computed exactly (sums over the support, ties merged); for a sample this is the
principle applied to the empirical distribution.

>>> import numpy as np
>>> x, p = np.array([0.0, 100.0]), np.array([0.9, 0.1])
>>> ExpectedValue(0.2).premium((x, p))
12.0
>>> round(StandardDeviation(0.5).premium((x, p)), 6)
25.0
>>> round(TVaRPrinciple(0.95).premium((x, p)), 6)
100.0
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import Problem, ValidationError

__all__ = [
    "Distortion",
    "Esscher",
    "ExpectedValue",
    "ExponentialUtility",
    "Principle",
    "StandardDeviation",
    "TVaRPrinciple",
    "Variance",
    "WangTransform",
    "from_dict",
    "kinds",
]


# --------------------------------------------------------------------------------------------
# risks


def _is_scipy_frozen(risk: Any) -> bool:
    return hasattr(risk, "dist") and hasattr(risk, "sf") and hasattr(risk, "expect")


def _discrete(risk: Any, who: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(sorted unique support, probs) of a sample, lattice or .lattice() risk; else None."""
    if hasattr(risk, "lattice") and callable(risk.lattice):
        x, p = risk.lattice()
        return _check_lattice(x, p, who)
    if isinstance(risk, tuple) and len(risk) == 2:
        return _check_lattice(risk[0], risk[1], who)
    if _is_scipy_frozen(risk) and hasattr(risk, "pmf"):
        # a discrete scipy law is summed over its support, up to a tail mass of 1e-16
        lo, hi = risk.support()
        top = min(hi, risk.isf(1e-16))
        if not np.isfinite(top) or top - lo > 5e7:
            raise ValidationError(who, [Problem(None, "risk", risk.dist.name,
                                                "a discrete law with a summable support")])
        k = np.arange(lo, top + 1, dtype=float)
        pmf = risk.pmf(k)
        return _check_lattice(k, pmf / pmf.sum(), who)
    if isinstance(risk, np.ndarray | list):
        x = np.asarray(risk, dtype=float)
        problems = []
        if x.ndim != 1 or x.size == 0:
            problems.append(Problem(None, "risk", f"array of shape {x.shape}",
                                    "a non-empty 1-D array of simulated losses"))
        elif not np.all(np.isfinite(x)):
            bad = np.flatnonzero(~np.isfinite(x))
            problems.append(Problem(int(bad[0]), "risk", float(x[bad[0]]),
                                    f"finite losses ({bad.size} non-finite values)"))
        if problems:
            raise ValidationError(who, problems)
        u, counts = np.unique(x, return_counts=True)
        return u, counts / x.size
    return None


def _check_lattice(x, p, who: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    p = np.asarray(p, dtype=float)
    problems = []
    if x.ndim != 1 or p.shape != x.shape or x.size == 0:
        problems.append(Problem(None, "risk", f"x shape {x.shape}, probs shape {p.shape}",
                                "x and probs: non-empty 1-D arrays of the same length"))
        raise ValidationError(who, problems)
    if not np.all(np.isfinite(x)):
        problems.append(Problem(int(np.flatnonzero(~np.isfinite(x))[0]), "x", "non-finite",
                                "finite loss values"))
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        i = int(np.flatnonzero(~(np.isfinite(p) & (p >= 0)))[0])
        problems.append(Problem(i, "probs", float(p[i]), "probabilities >= 0"))
    elif abs(p.sum() - 1.0) > 1e-6:
        problems.append(Problem(None, "probs", float(p.sum()),
                                "probabilities summing to 1 (within 1e-6)"))
    if problems:
        raise ValidationError(who, problems)
    order = np.argsort(x, kind="stable")
    x, p = x[order], p[order] / p.sum()
    u, inverse = np.unique(x, return_inverse=True)
    return u, np.bincount(inverse, weights=p, minlength=u.size)


def _unsupported(risk: Any, who: str, allowed: str) -> ValidationError:
    return ValidationError(who, [Problem(None, "risk", type(risk).__name__, allowed)])


_ALL_KINDS = ("a 1-D array of losses, an (x, probs) pair, an object with .lattice() "
              "or a frozen scipy.stats distribution")


def _mean(risk: Any, who: str) -> float:
    d = _discrete(risk, who)
    if d is not None:
        return float(d[0] @ d[1])
    if hasattr(risk, "mean") and callable(risk.mean):
        return float(risk.mean())
    raise _unsupported(risk, who, _ALL_KINDS + ", or an object with .mean()")


def _mean_var(risk: Any, who: str) -> tuple[float, float]:
    d = _discrete(risk, who)
    if d is not None:
        x, p = d
        m = float(x @ p)
        return m, float(((x - m) ** 2) @ p)
    if hasattr(risk, "mean") and hasattr(risk, "var"):
        return float(risk.mean()), float(risk.var())
    raise _unsupported(risk, who, _ALL_KINDS + ", or an object with .mean() and .var()")


def _param_problem(name: str, value: Any, rule: str, ok: bool, problems: list) -> None:
    if not ok:
        problems.append(Problem(None, name, value, rule))


def _number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool) and math.isfinite(float(value))


# --------------------------------------------------------------------------------------------
# principles


class Principle:
    """Base class of premium principles: ``premium(risk)`` and ``risk_load(risk)``."""

    kind: ClassVar[str] = "principle"
    parameter_name: ClassVar[str] = "parameter"

    def premium(self, risk: Any) -> float:  # pragma: no cover - every principle overrides it
        raise NotImplementedError

    def risk_load(self, risk: Any) -> float:
        """The premium minus the expected loss."""
        return self.premium(risk) - _mean(risk, type(self).__name__)

    @property
    def parameter(self) -> float:
        return float(getattr(self, self.parameter_name))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., "parameter": ...}``, read back by :func:`from_dict`."""
        return {"kind": self.kind, "parameter": self.parameter}


def _validate(obj: Principle, rule: str, ok: Callable[[float], bool]) -> None:
    value = getattr(obj, obj.parameter_name)
    problems: list[Problem] = []
    _param_problem(obj.parameter_name, value, rule, _number(value) and ok(float(value)), problems)
    if problems:
        raise ValidationError(type(obj).__name__, problems)


@dataclass(frozen=True)
class ExpectedValue(Principle):
    """Expected-value principle: premium = (1 + theta) E[X].

    >>> ExpectedValue(0.1).premium(np.array([0.0, 10.0, 20.0]))
    11.0
    """

    theta: float = 0.0
    kind: ClassVar[str] = "expected_value"
    parameter_name: ClassVar[str] = "theta"

    def __post_init__(self):
        _validate(self, "a number >= 0", lambda v: v >= 0)

    def premium(self, risk: Any) -> float:
        return (1.0 + self.theta) * _mean(risk, type(self).__name__)


@dataclass(frozen=True)
class StandardDeviation(Principle):
    """Standard-deviation principle: premium = E[X] + alpha sd(X).

    >>> import scipy.stats as st
    >>> StandardDeviation(0.5).premium(st.norm(100, 20))
    110.0
    """

    alpha: float = 0.0
    kind: ClassVar[str] = "standard_deviation"
    parameter_name: ClassVar[str] = "alpha"

    def __post_init__(self):
        _validate(self, "a number >= 0", lambda v: v >= 0)

    def premium(self, risk: Any) -> float:
        m, v = _mean_var(risk, type(self).__name__)
        return m + self.alpha * math.sqrt(max(v, 0.0))


@dataclass(frozen=True)
class Variance(Principle):
    """Variance principle: premium = E[X] + alpha Var(X).

    >>> import scipy.stats as st
    >>> Variance(0.01).premium(st.norm(100, 20))
    104.0
    """

    alpha: float = 0.0
    kind: ClassVar[str] = "variance"
    parameter_name: ClassVar[str] = "alpha"

    def __post_init__(self):
        _validate(self, "a number >= 0", lambda v: v >= 0)

    def premium(self, risk: Any) -> float:
        m, v = _mean_var(risk, type(self).__name__)
        return m + self.alpha * v


def _log_mgf_discrete(x: np.ndarray, p: np.ndarray, t: float) -> float:
    from scipy.special import logsumexp

    keep = p > 0
    return float(logsumexp(t * x[keep], b=p[keep]))


def _tilted_moment(risk: Any, t: float, power: int, who: str) -> float:
    """E[(X - m)^power exp(t (X - m))] for a continuous frozen scipy distribution, m = E[X].

    The integrand is formed in logs (exp(t (x - m) + log f(x))) so that a vanishing density times a
    huge exponential does not overflow; an infinite or unresolved integral is an error.
    """
    import warnings

    from scipy.integrate import IntegrationWarning, quad

    if not hasattr(risk, "logpdf"):
        raise _unsupported(risk, who, "a continuous scipy distribution (with logpdf)")
    m = float(risk.mean())
    lo, hi = (float(v) for v in risk.support())

    def f(x):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            v = math.exp(min(t * (x - m) + float(risk.logpdf(x)), 700.0))
        return v * (x - m) ** power

    with warnings.catch_warnings():
        warnings.simplefilter("error", IntegrationWarning)
        try:
            value = sum(quad(f, a, b, limit=200)[0] for a, b in _pieces(lo, hi, m, risk))
        except IntegrationWarning:
            value = math.inf
    if not math.isfinite(value) or value > 1e300:
        raise ValidationError(who, [Problem(None, "risk", risk.dist.name,
                                            f"E[exp({t} X)] must be finite for this distribution")])
    return value


def _pieces(lo: float, hi: float, m: float, risk: Any) -> list[tuple[float, float]]:
    """Split the support at the mean and at a far quantile so quad sees the bulk of the mass."""
    cuts = sorted({c for c in (lo, m, float(risk.ppf(0.999999)), hi) if lo <= c <= hi})
    return list(itertools.pairwise(cuts))


@dataclass(frozen=True)
class ExponentialUtility(Principle):
    """Exponential-utility (zero-utility) principle: premium = ln E[exp(a X)] / a.

    Needs a finite exponential moment: a gamma risk with scale theta needs a < 1/theta.

    >>> import scipy.stats as st
    >>> round(ExponentialUtility(0.01).premium(st.norm(100, 20)), 6)   # mean + a sd^2 / 2
    102.0
    """

    a: float = 1.0
    kind: ClassVar[str] = "exponential_utility"
    parameter_name: ClassVar[str] = "a"

    def __post_init__(self):
        _validate(self, "a number > 0", lambda v: v > 0)

    def premium(self, risk: Any) -> float:
        who = type(self).__name__
        d = _discrete(risk, who)
        if d is not None:
            return _log_mgf_discrete(d[0], d[1], self.a) / self.a
        if _is_scipy_frozen(risk):
            # shift by the mean so that the integrand stays near 1 where the mass is
            e = _tilted_moment(risk, self.a, 0, who)
            return float(risk.mean()) + math.log(e) / self.a
        raise _unsupported(risk, who, _ALL_KINDS)


@dataclass(frozen=True)
class Esscher(Principle):
    """Esscher principle: premium = E[X exp(h X)] / E[exp(h X)] (h = 0 gives the mean).

    >>> import scipy.stats as st
    >>> round(Esscher(0.01).premium(st.norm(100, 20)), 6)   # mean + h sd^2
    104.0
    """

    h: float = 0.0
    kind: ClassVar[str] = "esscher"
    parameter_name: ClassVar[str] = "h"

    def __post_init__(self):
        _validate(self, "a number >= 0", lambda v: v >= 0)

    def premium(self, risk: Any) -> float:
        who = type(self).__name__
        d = _discrete(risk, who)
        if d is not None:
            x, p = d
            logw = np.where(p > 0, self.h * x + np.log(np.where(p > 0, p, 1.0)), -np.inf)
            w = np.exp(logw - logw.max())
            return float(x @ w / w.sum())
        if _is_scipy_frozen(risk):
            den = _tilted_moment(risk, self.h, 0, who)
            num = _tilted_moment(risk, self.h, 1, who)
            return float(risk.mean()) + num / den
        raise _unsupported(risk, who, _ALL_KINDS)


class _DistortionPrinciple(Principle):
    """Premium = ∫ g(S(x)) dx for the distortion ``self._g`` (concave, g(0)=0, g(1)=1)."""

    def _g(self, s):  # pragma: no cover - every distortion overrides it
        raise NotImplementedError

    def premium(self, risk: Any) -> float:
        who = type(self).__name__
        d = _discrete(risk, who)
        if d is not None:
            x, p = d
            survival = np.clip(1.0 - np.cumsum(p), 0.0, 1.0)
            survival[-1] = 0.0
            before = np.concatenate(([1.0], survival[:-1]))
            weights = self._g(before) - self._g(survival)
            return float(x @ weights)
        if _is_scipy_frozen(risk):
            from scipy.integrate import quad

            lo, hi = (float(v) for v in risk.support())
            pos = neg = 0.0
            if hi > 0:
                a = max(lo, 0.0)  # below the support S = 1 and g(1) = 1
                pos = a + quad(lambda t: float(self._g(risk.sf(t))), a, hi, limit=200)[0]
            if lo < 0:
                b = min(hi, 0.0)
                neg = quad(lambda t: 1.0 - float(self._g(risk.sf(t))), lo, b, limit=200)[0]
            return pos - neg
        raise _unsupported(risk, who, _ALL_KINDS)


@dataclass(frozen=True)
class Distortion(_DistortionPrinciple):
    """Distortion principle: premium = ∫ g(S(x)) dx, for a concave distortion g with g(0)=0, g(1)=1.

    On a discrete risk: the sum over sorted support points x_i of x_i [g(S(x_{i-1})) - g(S(x_i))].
    A generic distortion cannot be written to TOML (use a named principle for that).

    >>> Distortion(np.sqrt).premium((np.array([0.0, 100.0]), np.array([0.75, 0.25])))
    50.0
    """

    g: Callable[[np.ndarray], np.ndarray]
    kind: ClassVar[str] = "distortion"

    def __post_init__(self):
        if not callable(self.g):
            raise ValidationError("Distortion",
                                  [Problem(None, "g", self.g, "a callable on [0, 1]")])

    def _g(self, s):
        return np.asarray(self.g(np.clip(np.asarray(s, dtype=float), 0.0, 1.0)), dtype=float)

    @property
    def parameter(self) -> float:
        raise ValidationError("Distortion", [Problem(
            None, "g", repr(self.g),
            "a generic distortion has no single parameter; use a named principle to serialise")])


@dataclass(frozen=True)
class WangTransform(_DistortionPrinciple):
    """Wang transform: distortion g(s) = Φ(Φ⁻¹(s) + lam); for a normal risk, mean + lam sd.

    >>> import scipy.stats as st
    >>> round(WangTransform(0.5).premium(st.norm(100, 20)), 4)
    110.0
    """

    lam: float = 0.0
    kind: ClassVar[str] = "wang"
    parameter_name: ClassVar[str] = "lam"

    def __post_init__(self):
        _validate(self, "a number >= 0", lambda v: v >= 0)

    def _g(self, s):
        from scipy.special import ndtr, ndtri

        s = np.clip(np.asarray(s, dtype=float), 0.0, 1.0)
        return ndtr(ndtri(s) + self.lam)


@dataclass(frozen=True)
class TVaRPrinciple(_DistortionPrinciple):
    """Tail value at risk at level p (Acerbi–Tasche): VaR_p + E[(X - VaR_p)+] / (1 - p).

    The distortion g(s) = min(s / (1 - p), 1); p = 0 gives the mean. Same definition as the
    ``kind="tvar"`` tail expectation elsewhere in safeins.

    >>> TVaRPrinciple(0.5).premium(np.arange(1.0, 11.0))
    8.0
    """

    p: float = 0.0
    kind: ClassVar[str] = "tvar"
    parameter_name: ClassVar[str] = "p"

    def __post_init__(self):
        _validate(self, "a number in [0, 1)", lambda v: 0 <= v < 1)

    def _g(self, s):
        return np.minimum(np.clip(np.asarray(s, dtype=float), 0.0, 1.0) / (1.0 - self.p), 1.0)


_KINDS: dict[str, type[Principle]] = {
    cls.kind: cls
    for cls in (ExpectedValue, StandardDeviation, Variance, ExponentialUtility, Esscher,
                WangTransform, TVaRPrinciple)
}


def kinds() -> tuple[str, ...]:
    """Names of the principles that can be written to and read from a dict/TOML.

    >>> kinds()  # doctest: +NORMALIZE_WHITESPACE
    ('esscher', 'expected_value', 'exponential_utility', 'standard_deviation', 'tvar',
     'variance', 'wang')
    """
    return tuple(sorted(_KINDS))


def from_dict(data: dict[str, Any] | Principle) -> Principle:
    """A principle from ``{"kind": ..., "parameter": ...}`` (a Principle is returned as is).

    >>> from_dict({"kind": "standard_deviation", "parameter": 0.1})
    StandardDeviation(alpha=0.1)
    """
    if isinstance(data, Principle):
        return data
    problems = []
    if not isinstance(data, dict):
        raise ValidationError("principle", [Problem(None, "principle", data,
                                                    "a dict {kind=..., parameter=...}")])
    extra = sorted(set(data) - {"kind", "parameter"})
    if extra:
        problems.append(Problem(None, "principle", extra, "only the keys kind and parameter"))
    kind = data.get("kind")
    if kind not in _KINDS:
        problems.append(Problem(None, "principle.kind", kind, f"one of {', '.join(kinds())}"))
    if "parameter" not in data:
        problems.append(Problem(None, "principle.parameter", None, "required"))
    if problems:
        raise ValidationError("principle", problems)
    return _KINDS[kind](data["parameter"])
