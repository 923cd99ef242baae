"""Coverage modifications: deductibles, limits, coinsurance and inflation, per loss and per year.

A :class:`Coverage` turns a ground-up loss ``X`` into the insurer's payment. With inflation ``r``,
deductible ``d``, limit ``u`` and coinsurance ``c`` (Loss Models, Theorem 8.7):

- ordinary deductible: ``Y = c * (min((1+r) X, u) - d)+``;
- franchise deductible: ``Y = c * min((1+r) X, u)`` if ``(1+r) X > d``, else 0.

``limit`` is the **maximum covered loss** ``u`` measured from the ground up, as in Loss Models and
R's actuar ``coverage`` (not the maximum payment, which is ``c (u - d)``). The *per-loss* view
``Y^L`` counts every loss (zero payments included); the *per-payment* view ``Y^P = Y^L | X > d``
keeps only the losses that produce a payment, and goes with the thinned claim count
``N^P = N.thin(P((1+r) X > d))``.

:class:`AggregateCoverage` applies an annual aggregate deductible ``D`` and aggregate limit ``L``
(maximum covered annual loss, also from the ground up) to the compound loss ``S``:
``min(S, L) - min(S, D)``.

>>> from safeins.losses import Exponential
>>> cov = Coverage(deductible=500, limit=5_000, coinsurance=0.8)
>>> cov.apply([100, 1_000, 10_000]).tolist()
[0.0, 400.0, 3600.0]
>>> Y = cov.severity(Exponential(theta=1_000), per="payment")
>>> round(Y.mean(), 2)
791.11
"""

from __future__ import annotations

import math

import numpy as np

from .._base.rng import as_generator
from ..errors import Problems
from ._checks import check_levels
from ._sevutil import as_severity_object, fast_rvs, is_finite, limited_moment, sf_left

__all__ = ["AggregateCoverage", "Coverage", "CoveredSeverity"]

_PER = ("loss", "payment")


def _number(probs: Problems, name: str, value, rule: str, ok) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        probs.add(column=name, value=value, rule=rule)
        return math.nan
    v = float(value)
    if math.isnan(v) or not ok(v):
        probs.add(column=name, value=value, rule=rule)
        return math.nan
    return v


class Coverage:
    """A per-loss coverage: deductible (ordinary or franchise), limit, coinsurance, inflation.

    Parameters
    ----------
    deductible : float, default 0
        ``d >= 0``, applied to the inflated loss.
    franchise : bool, default False
        True: a loss above ``d`` is paid in full (up to the limit); False: ``d`` is subtracted.
    limit : float, default inf
        Maximum covered loss ``u > d``, from the ground up (Loss Models, actuar).
    coinsurance : float, default 1
        Share ``c`` in (0, 1] of the covered amount the insurer pays.
    inflation : float, default 0
        Rate ``r > -1`` applied to the loss before the deductible and limit.

    Examples
    --------
    Loss Models (4th ed.) Example 8.7 style: ordinary deductible 500, limit 5 000, 20% inflation.

    >>> cov = Coverage(deductible=500, limit=5_000, inflation=0.2)
    >>> cov.apply([400, 1_000, 5_000]).tolist()
    [0.0, 700.0, 4500.0]
    >>> cov.max_payment
    4500.0
    >>> Coverage(deductible=100, limit=50)
    Traceback (most recent call last):
    ...
    safeins.errors.ValidationError: Coverage: 1 problem
      row  column  value  rule
      -    limit   50     must be > deductible (100.0)
    """

    def __init__(
        self,
        deductible: float = 0.0,
        franchise: bool = False,
        limit: float = math.inf,
        coinsurance: float = 1.0,
        inflation: float = 0.0,
    ):
        p = Problems("Coverage")
        d = _number(p, "deductible", deductible, "must be a finite number >= 0",
                    lambda v: math.isfinite(v) and v >= 0)
        u = _number(p, "limit", limit, "must be a number > 0 (inf for no limit)", lambda v: v > 0)
        c = _number(p, "coinsurance", coinsurance, "must be in (0, 1]", lambda v: 0 < v <= 1)
        r = _number(p, "inflation", inflation, "must be a finite number > -1",
                    lambda v: math.isfinite(v) and v > -1)
        if not isinstance(franchise, bool | np.bool_):
            p.add(column="franchise", value=franchise, rule="must be True or False")
        if not math.isnan(d) and not math.isnan(u) and u <= d:
            p.add(column="limit", value=limit, rule=f"must be > deductible ({d})")
        p.raise_if_any()
        self.deductible = d
        self.franchise = bool(franchise)
        self.limit = u
        self.coinsurance = c
        self.inflation = r

    # --- description ----------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"Coverage(deductible={self.deductible!r}, franchise={self.franchise!r}, "
            f"limit={self.limit!r}, coinsurance={self.coinsurance!r}, "
            f"inflation={self.inflation!r})"
        )

    def __eq__(self, other) -> bool:
        return isinstance(other, Coverage) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    @property
    def max_payment(self) -> float:
        """The largest possible payment for one loss: ``c (u - d)`` (``c u`` with a franchise)."""
        top = self.limit if self.franchise else self.limit - self.deductible
        return self.coinsurance * top

    @property
    def is_trivial(self) -> bool:
        """True when the coverage pays the ground-up loss unchanged."""
        return (
            self.deductible == 0
            and math.isinf(self.limit)
            and self.coinsurance == 1
            and self.inflation == 0
        )

    @property
    def _d(self) -> float:  # deductible on the ground-up (pre-inflation) scale
        return self.deductible / (1 + self.inflation)

    @property
    def _u(self) -> float:  # limit on the ground-up (pre-inflation) scale
        return self.limit / (1 + self.inflation)

    # --- losses -> payments ---------------------------------------------------------------
    def _pay(self, x):
        z = (1 + self.inflation) * np.asarray(x, dtype=float)
        capped = np.minimum(z, self.limit)
        if self.franchise:
            out = np.where(z > self.deductible, capped, 0.0)
        else:
            out = np.maximum(capped - self.deductible, 0.0)
        return self.coinsurance * out

    def apply(self, x, per: str = "loss"):
        """Payments for ground-up losses ``x`` (vectorised).

        ``per="loss"`` returns one payment per loss (zeros included); ``per="payment"`` returns
        only the payments of losses above the deductible.

        >>> Coverage(deductible=10, franchise=True).apply([5, 10, 20], per="payment").tolist()
        [20.0]
        """
        _check_per(per)
        x = np.asarray(x, dtype=float)
        bad = ~np.isfinite(x) | (x < 0)
        if np.any(bad):
            p = Problems("Coverage.apply")
            for i in np.flatnonzero(bad):
                p.add(row=int(i), column="x", value=float(x.flat[i]),
                      rule="losses must be finite and >= 0")
            p.raise_if_any()
        pay = self._pay(x)
        if per == "payment":
            return pay[(1 + self.inflation) * x > self.deductible]
        return pay

    def severity(self, sev, per: str = "loss") -> CoveredSeverity:
        """The distribution of the payment per loss (``per="loss"``) or per payment.

        >>> from safeins.losses import Exponential
        >>> Y = Coverage(deductible=1.0).severity(Exponential(theta=1.0), per="payment")
        >>> round(Y.mean(), 6), round(Y.var(), 6)      # memoryless: still Exponential(1)
        (1.0, 1.0)
        """
        return CoveredSeverity(sev, self, per)

    def frequency(self, freq, sev):
        """The number of payments: ``freq.thin(P((1+r) X > d))`` (the per-payment count).

        >>> from safeins.losses import Exponential, Poisson
        >>> N = Coverage(deductible=1.0).frequency(Poisson(10), Exponential(1.0))
        >>> round(N.mu, 6)  # 10 e^-1
        3.678794
        """
        sev = as_severity_object(sev, "Coverage.frequency")
        q = float(sev.sf(self._d))
        if q >= 1.0:
            return freq
        return freq.thin(q)


def _check_per(per) -> None:
    if per not in _PER:
        p = Problems("Coverage")
        p.add(column="per", value=per, rule="one of 'loss', 'payment'")
        p.raise_if_any()


class CoveredSeverity:
    """The payment ``Y`` of a :class:`Coverage` applied to a severity, per loss or per payment.

    A mixed distribution (atoms at 0 for the per-loss view and at the maximum payment), with the
    severity protocol: ``cdf``, ``sf``, ``sf_left``, ``ppf``, ``rvs``, ``pdf`` (density of the
    continuous part), ``mean``, ``var``, ``std``, ``moment``, ``limited_moment``, ``lev``.
    Moments use the limited moments of the ground-up severity in closed form.

    >>> from safeins.losses import Exponential
    >>> Y = Coverage(limit=1.0).severity(Exponential(theta=1.0))
    >>> round(Y.mean(), 6), round(float(Y.sf(1.0)), 6), round(float(Y.sf_left(1.0)), 6)
    (0.632121, 0.0, 0.367879)
    """

    def __init__(self, sev, coverage: Coverage, per: str = "loss"):
        _check_per(per)
        if not isinstance(coverage, Coverage):
            p = Problems("Coverage.severity")
            p.add(column="coverage", value=coverage, rule="a Coverage")
            p.raise_if_any()
        self.base = as_severity_object(sev, "Coverage.severity")
        self.coverage = coverage
        self.per = per
        cov = coverage
        self._c = cov.coinsurance
        self._g = 1 + cov.inflation
        self._d = cov.deductible
        self._u = cov.limit
        self._ds = cov._d
        self._us = cov._u
        self._F_d = float(self.base.cdf(self._ds))  # P(X <= d*): the losses that pay nothing
        self._S_d = float(self.base.sf(self._ds))
        if per == "payment" and self._S_d <= 0:
            p = Problems("Coverage.severity")
            p.add(column="deductible", value=cov.deductible,
                  rule="no loss exceeds it (P(X > d) = 0): the per-payment view is empty")
            p.raise_if_any()

    def __repr__(self) -> str:
        return f"CoveredSeverity({self.base!r}, {self.coverage!r}, per={self.per!r})"

    @property
    def is_discrete(self) -> bool:
        """True when the ground-up severity is discrete (the payment then is too)."""
        return bool(getattr(self.base, "is_discrete", False))

    @property
    def max_payment(self) -> float:
        """The largest possible payment."""
        return self.coverage.max_payment

    # --- distribution function ------------------------------------------------------------
    def _ground(self, y):
        """The ground-up loss x (pre-inflation scale) at which the payment reaches y > 0."""
        if self.coverage.franchise:
            return y / (self._c * self._g)
        return (self._d + y / self._c) / self._g

    def _cdf_loss(self, y, left: bool):
        y = np.asarray(y, dtype=float)
        top = self.max_payment
        x = self._ground(np.clip(y, 0.0, None))
        if left:
            inner = 1.0 - sf_left(self.base, x)
        else:
            inner = np.asarray(self.base.cdf(x), dtype=float)
        if self.coverage.franchise:
            # payments are 0 or in (c d, c u]: flat at F(d*) in between
            lower_flat = y <= self._c * self._d if left else y < self._c * self._d
            inner = np.where(lower_flat, self._F_d, inner)
        out = np.where(y > top if left else y >= top, 1.0, inner)
        return np.where(y <= 0 if left else y < 0, 0.0, out)

    def _to_per(self, value, y):
        if self.per == "loss":
            return value
        y = np.asarray(y, dtype=float)
        out = (value - self._F_d) / self._S_d
        return np.clip(np.where(y < 0, 0.0, out), 0.0, 1.0)

    def cdf(self, y):
        """P(Y <= y)."""
        return _scalar(self._to_per(self._cdf_loss(y, left=False), y))

    def sf(self, y):
        """P(Y > y)."""
        return _scalar(1.0 - np.asarray(self.cdf(y)))

    def sf_left(self, y):
        """P(Y >= y) (differs from ``sf`` at the atoms)."""
        y = np.asarray(y, dtype=float)
        below = self._cdf_loss(y, left=True)
        if self.per == "payment":
            below = np.where(y <= 0, 0.0, np.clip((below - self._F_d) / self._S_d, 0.0, 1.0))
        return _scalar(1.0 - below)

    def pdf(self, y):
        """Density of the continuous part (the atoms at 0 and at the cap are excluded)."""
        y = np.asarray(y, dtype=float)
        x = self._ground(np.clip(y, 0.0, None))
        dens = np.asarray(self.base.pdf(x), dtype=float) / (self._c * self._g)
        lo = self._c * self._d if self.coverage.franchise else 0.0
        inside = (y > lo) & (y < self.max_payment)
        out = np.where(inside, dens, 0.0)
        if self.per == "payment":
            out = out / self._S_d
        return _scalar(out)

    def ppf(self, q):
        """Lower quantile inf{y : P(Y <= y) >= q} (q in [0, 1], else ValidationError)."""
        q = check_levels("CoveredSeverity.ppf", q)
        if self.per == "payment":  # F(d) + S(d) may round above 1
            q = np.minimum(self._F_d + q * self._S_d, 1.0)
        return _scalar(self.coverage._pay(self.base.ppf(q)))

    def rvs(self, size=None, seed=None):
        """Random payments (``seed``: int, SeedSequence, Generator or None)."""
        rng = as_generator(seed)
        if self.per == "payment" and self._F_d > 0:
            u = rng.random(size)
            return self.coverage._pay(self.base.ppf(np.minimum(self._F_d + u * self._S_d, 1.0)))
        return self.coverage._pay(np.asarray(fast_rvs(self.base)(size, rng), dtype=float))

    # --- moments --------------------------------------------------------------------------
    def _raw(self, k: int, cap):
        """E[min(Y^L, cap)^k] per loss, vectorised over cap (cap may be inf)."""
        cap = np.asarray(cap, dtype=float)
        c, g, d, ds = self._c, self._g, self._d, self._ds
        sd = self._S_d
        if k == 0:
            return np.ones(cap.shape)
        if self.coverage.franchise:
            # Y ^ v: v >= c u -> Y; c d < v < c u -> franchise with limit v/c; v <= c d -> v 1{X>d*}
            u_eff = np.minimum(self._u, cap / c)
            us = u_eff / g
            lm_u = limited_moment(self.base, us, k)
            lm_d = float(limited_moment(self.base, ds, k))
            full = (c * g) ** k * (lm_u - lm_d + ds**k * sd)
            return np.where(cap <= c * d, cap**k * sd, full)
        u_eff = np.minimum(self._u, d + cap / c)
        us = u_eff / g
        total = np.zeros(cap.shape)
        for j in range(k + 1):
            lm_u = limited_moment(self.base, us, j)
            lm_d = float(limited_moment(self.base, ds, j))
            term = lm_u - lm_d + ds**j * sd
            total = total + math.comb(k, j) * (-ds) ** (k - j) * term
        return (c * g) ** k * np.maximum(total, 0.0)

    def limited_moment(self, v, k: int = 1):
        """E[min(Y, v)^k] (k a positive integer), vectorised over ``v``."""
        out = self._raw(int(k), np.clip(np.asarray(v, dtype=float), 0.0, None))
        if self.per == "payment":
            out = out / self._S_d
        return _scalar(out)

    def lev(self, v):
        """Limited expected value E[min(Y, v)]."""
        return self.limited_moment(v, 1)

    def moment(self, k: int = 1) -> float:
        """Raw moment E[Y^k] (k a positive integer); ``inf`` if it does not exist."""
        return float(self.limited_moment(math.inf, k))

    def mean(self) -> float:
        """E[Y]: c (1+r) (E[X ^ u*] - E[X ^ d*]) per loss (ordinary deductible)."""
        return self.moment(1)

    def var(self) -> float:
        """Var[Y] from the first two limited moments."""
        m1, m2 = self.moment(1), self.moment(2)
        if not (is_finite(m1) and is_finite(m2)):
            return math.inf
        return max(m2 - m1 * m1, 0.0)

    def std(self) -> float:
        """Standard deviation of Y."""
        return math.sqrt(self.var())


def _scalar(out):
    out = np.asarray(out, dtype=float)
    return out[()] if out.ndim == 0 else out


class AggregateCoverage:
    """Annual aggregate deductible ``D`` and aggregate limit ``L`` on the compound loss ``S``.

    The annual payment is ``min(S, L) - min(S, D)``: ``L`` is the maximum covered annual loss
    measured from the ground up (the same convention as :class:`Coverage`), so the most paid in a
    year is ``L - D``.

    >>> ac = AggregateCoverage(deductible=100, limit=1_000)
    >>> ac.apply([50, 400, 5_000]).tolist()
    [0.0, 300.0, 900.0]
    >>> ac.max_payment
    900.0
    """

    def __init__(self, deductible: float = 0.0, limit: float = math.inf):
        p = Problems("AggregateCoverage")
        d = _number(p, "deductible", deductible, "must be a finite number >= 0",
                    lambda v: math.isfinite(v) and v >= 0)
        u = _number(p, "limit", limit, "must be a number > 0 (inf for no limit)", lambda v: v > 0)
        if not math.isnan(d) and not math.isnan(u) and u <= d:
            p.add(column="limit", value=limit, rule=f"must be > deductible ({d})")
        p.raise_if_any()
        self.deductible = d
        self.limit = u

    def __repr__(self) -> str:
        return f"AggregateCoverage(deductible={self.deductible!r}, limit={self.limit!r})"

    @property
    def max_payment(self) -> float:
        """The most paid in a year: ``L - D``."""
        return self.limit - self.deductible

    def apply(self, s):
        """Annual payments for annual ground-up losses ``s`` (vectorised)."""
        s = np.asarray(s, dtype=float)
        return np.minimum(s, self.limit) - np.minimum(s, self.deductible)

    def transform(self, x, p):
        """The distribution of the payment given a discrete distribution (x sorted, probs p).

        Returns ``(y, q)`` with ``y`` sorted and the probabilities of equal payments merged.

        >>> y, q = AggregateCoverage(limit=2.0).transform([0.0, 1.0, 2.0, 3.0], [.1, .2, .3, .4])
        >>> y.tolist(), [round(v, 10) for v in q.tolist()]
        ([0.0, 1.0, 2.0], [0.1, 0.2, 0.7])
        """
        y = self.apply(x)
        vals, inv = np.unique(y, return_inverse=True)
        q = np.bincount(inv.ravel(), weights=np.asarray(p, dtype=float), minlength=len(vals))
        return vals, q
