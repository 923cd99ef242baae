"""Small helpers shared by coverage, discretisation and the compound engines.

They accept any object following the severity protocol of :mod:`safeins.losses` and add
what the protocol leaves implicit: left limits of the distribution function (atoms matter when
a coverage caps a loss or when the severity is discrete), limited moments of order 0, and the
conversion of frozen scipy.stats distributions.

>>> from safeins.losses import Exponential
>>> X = Exponential(theta=2.0)
>>> float(sf_left(X, 0.0)), float(limited_moment(X, 1e300, 0))
(1.0, 1.0)
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import Problem, ValidationError

__all__ = ["as_severity_object", "fast_rvs", "fast_sf", "limited_moment", "sf_left"]


def _is_severity(obj) -> bool:
    return all(hasattr(obj, name) for name in ("sf", "cdf", "ppf", "rvs", "limited_moment"))


def as_severity_object(obj, what: str = "severity"):
    """The object itself if it follows the severity protocol; a frozen scipy.stats continuous
    distribution is wrapped with :func:`safeins.losses.as_severity`."""
    if _is_severity(obj):
        return obj
    if hasattr(obj, "dist") and hasattr(obj, "cdf"):  # frozen scipy.stats distribution
        from .severity import as_severity

        return as_severity(obj)
    raise ValidationError(
        what,
        [
            Problem(
                None,
                "sev",
                obj,
                "a safeins severity (Exponential, Gamma, LogNormal, Empirical, ...) "
                "or a frozen scipy.stats continuous distribution",
            )
        ],
    )


def _lognorm_sf(y, s: float):
    """``ndtr(-log(y) / s)``, the lognormal survival function of ``y = x / scale``, computed in
    the buffer of ``y`` (a fresh array the caller gives away): on a lattice of a million points
    the four passes then allocate nothing."""
    from scipy import special

    if np.ndim(y) == 0:
        return special.ndtr(-np.log(y) / s)
    z = np.log(y, out=y)
    np.negative(z, out=z)
    z /= s
    return special.ndtr(z, out=z)


def _scipy_sf(frozen):
    """A direct special-function survival function for common scipy laws (None otherwise).

    Frozen scipy.stats methods check and broadcast their arguments on every call; on a grid of a
    million points that doubles the cost of a discretisation.
    """
    from scipy import special

    try:
        shapes, loc, scale = frozen.dist._parse_args(*frozen.args, **frozen.kwds)
    except Exception:  # pragma: no cover - an unusual frozen object: use its own sf
        return None
    name = frozen.dist.name
    formulas = {
        "lognorm": lambda y: _lognorm_sf(y, shapes[0]),
        "gamma": lambda y: special.gammaincc(shapes[0], y),
        "expon": lambda y: np.exp(-y),
        "weibull_min": lambda y: np.exp(-(y ** shapes[0])),
    }
    if name not in formulas:
        return None
    formula = formulas[name]

    def sf(x):
        x = np.asarray(x, dtype=float)
        # scipy's own arithmetic, (x - loc) / scale, so the values are bit for bit scipy's
        y = (x - loc if loc else x) / scale
        if np.all(y > 0):  # the usual case (a lattice above 0): no masking passes
            with np.errstate(divide="ignore"):
                return formula(y)
        with np.errstate(divide="ignore"):
            return np.where(y > 0, formula(np.where(y > 0, y, 1.0)), 1.0)

    return sf


def fast_sf(sev):
    """``sev.sf``, or an equivalent direct formula when the severity only delegates to scipy."""
    frozen = _scipy_backed(sev, "sf")
    if frozen is not None:
        direct = _scipy_sf(frozen)
        if direct is not None:
            return direct
    return sev.sf


def _scipy_backed(sev, method: str):
    """The frozen scipy law behind a safeins severity whose ``method`` is the base class's."""
    try:
        from ._severity_base import Severity
    except ImportError:  # pragma: no cover
        return None
    frozen = getattr(sev, "scipy", None)
    if (
        isinstance(sev, Severity)
        and getattr(type(sev), method) is getattr(Severity, method)
        and frozen is not None
        and hasattr(frozen, "dist")
    ):
        return frozen
    return None


def fast_rvs(sev):
    """A draw function ``(size, rng) -> array``: numpy's own generators for common scipy-backed
    laws (one pass in C instead of scipy's transform of normal draws), else ``sev.rvs``."""
    frozen = _scipy_backed(sev, "rvs") if getattr(type(sev), "_rvs", None) is not None else None
    if frozen is not None:
        try:
            shapes, loc, scale = frozen.dist._parse_args(*frozen.args, **frozen.kwds)
        except Exception:  # pragma: no cover
            shapes = None
        name = frozen.dist.name
        if shapes is not None and loc == 0:
            from ._severity_base import Severity

            own_rvs = getattr(type(sev), "_rvs", None) is getattr(Severity, "_rvs", None)
            if own_rvs and name == "lognorm":
                mu, s = math.log(scale), shapes[0]

                def lognormal(size, rng):
                    # in place: float32 ziggurat normals, then exp (1.5x faster than float64 and far
                    # below Monte Carlo error: relative rounding 6e-8 per claim); callers sum the
                    # claims in float64
                    z = rng.standard_normal(size, dtype=np.float32)
                    z *= s
                    z += mu
                    return np.exp(z, out=z)

                return lognormal
            if own_rvs and name == "gamma":
                a = shapes[0]
                return lambda size, rng: rng.gamma(a, scale, size)
            if own_rvs and name == "expon":
                return lambda size, rng: rng.exponential(scale, size)
    return lambda size, rng: sev.rvs(size=size, seed=rng)


def sf_left(sev, x):
    """P(X >= x): the survival function's left limit (differs from ``sf`` at atoms)."""
    x = np.asarray(x, dtype=float)
    own = getattr(sev, "sf_left", None)
    if own is not None and _scipy_backed(sev, "sf_left") is not None:
        # the base class's sf_left only forwards to sf: use the direct formula when there is one
        return np.asarray(fast_sf(sev)(x), dtype=float)
    if own is not None:
        return own(x)
    if getattr(sev, "is_discrete", False):
        values = getattr(sev, "values", None)
        weights = getattr(sev, "weights", None)
        if values is not None and weights is not None:
            v = np.asarray(values, dtype=float)
            w = np.asarray(weights, dtype=float)
            order = np.argsort(v)
            v, w = v[order], w[order]
            w = w / w.sum()
            tail = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])
            return tail[np.searchsorted(v, x, side="left")]
        pmf = getattr(sev, "pmf", None)
        if pmf is not None:
            return np.asarray(sev.sf(x)) + np.asarray(pmf(x))
    return np.asarray(fast_sf(sev)(x), dtype=float)


def limited_moment(sev, u, k: int):
    """E[min(X, u)^k] for integer k >= 0, with u = inf allowed (the raw moment)."""
    u = np.asarray(u, dtype=float)
    if k == 0:
        return np.ones(u.shape)
    out = np.empty(u.shape)
    inf = np.isinf(u)
    if np.any(inf):
        out[inf] = float(sev.moment(k))
    if np.any(~inf):
        out[~inf] = np.asarray(sev.limited_moment(u[~inf], k), dtype=float)
    return out


def is_finite(value) -> bool:
    """True for a finite real number."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
