"""Compound (aggregate) loss distributions and their risk measures.

``S = Y_1 + ... + Y_N``: ``N`` a claim-count distribution, ``Y_i`` the payments of a severity
after an optional per-loss :class:`~safeins.losses.coverage.Coverage`, and an optional
:class:`~safeins.losses.coverage.AggregateCoverage` on the annual total. :class:`Aggregate` computes
the distribution of ``S`` by

- ``"fft"``: discretised severity, transform, ``P_N`` of it, inverse transform; padded and
  exponentially tilted against wrap-around, with a reported bound of the aliased mass;
- ``"panjer"``: Panjer's recursion for the (a,b,0) and (a,b,1) classes, which never underflows
  (for large expected counts the count is split in 2^k parts and the result convolved back);
- ``"convolution"``: sum of ``P(N = k)`` times the k-fold convolution (small cases);
- ``"normal"`` and ``"normal_power"``: approximations from the exact moments;
- ``"simulation"``: vectorised Monte Carlo of the model itself (no discretisation);
- ``"auto"``: FFT when the count has a pgf, the choice and its reason shown in ``method_reason_``.

Risk measures follow docs/domain/definitions.md#var: VaR is the lower quantile ``inf{x : F(x) >= p}``;
``tvar(p, kind="tvar")`` is Acerbi-Tasche ``VaR + E[(S - VaR)+]/(1 - p)`` and
``tvar(p, kind="cte")`` the conditional tail expectation ``E[S | S > VaR]`` (actuar's CTE).

>>> from safeins.losses import Gamma, Poisson
>>> import warnings
>>> warnings.simplefilter("ignore")       # step 0.5 is coarse for Gamma(2, 1): a warning says so
>>> agg = Aggregate(Poisson(10), Gamma(2.0, 1.0), method="panjer", step=0.5, n=2**8,
...                 discretization="unbiased")
>>> agg.ppf([0.9, 0.95, 0.99]).tolist()          # actuar's risk vignette: 30.5 34.0 41.0
[30.5, 34.0, 41.0]
>>> round(float(agg.tvar(0.99, kind="cte")), 3), round(float(agg.tvar(0.99)), 3)
(45.013, 44.662)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._base.guard import DEFAULT_CLAIM_LIMIT, check_work
from .._base.lazy import lazy_module
from .._base.results import ResultMixin
from ..errors import DiscretizationWarning, Problem, Problems, ValidationError
from . import _compound
from ._checks import check_levels
from ._sevutil import as_severity_object, fast_rvs, is_finite
from .coverage import AggregateCoverage, Coverage, CoveredSeverity
from .discretization import METHODS as DISCRETIZATIONS
from .discretization import discretize

integrate = lazy_module("scipy.integrate")
special = lazy_module("scipy.special")

__all__ = ["METHODS", "Aggregate"]

METHODS = ("auto", "fft", "panjer", "convolution", "normal", "normal_power", "simulation")
_LATTICE = ("fft", "panjer", "convolution")
_APPROX = ("normal", "normal_power")
_PPF_TOL = 1e-12  # lattice cdfs are sums of rounded terms: a level hit up to this counts as hit


def _nice_step(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= x."""
    e = math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * 10.0**e >= x * (1 - 1e-12):
            return m * 10.0**e
    return 10.0 ** (e + 1)  # pragma: no cover


class Aggregate(ResultMixin):
    """The distribution of the annual (aggregate) loss ``S = Y_1 + ... + Y_N``.

    Parameters
    ----------
    freq : frequency distribution
        Any safeins claim-count distribution (Poisson, NegativeBinomial, Binomial, Geometric,
        Logarithmic, ZeroTruncated, ZeroModified).
    sev : severity
        A safeins severity or a frozen scipy.stats continuous distribution (ground-up losses).
    coverage : Coverage, optional
        Per-loss deductible, limit, coinsurance and inflation (per-loss view: every loss
        counts, zero payments included).
    aggregate_coverage : AggregateCoverage, optional
        Annual aggregate deductible and limit applied to the total.
    method : str, default "auto"
        One of ``METHODS``.
    step : float, optional
        Lattice step in money; chosen (a round number) from the moments when omitted.
    n : int, default 2**16
        Number of lattice points (the grid covers ``0 .. (n-1) step``). With ``step=None`` it is
        the starting length: the automatic grid doubles it (up to ``max_n``) while the mean or
        standard deviation would miss ``moment_rtol``; ``n`` then holds the length used.
    discretization : {"rounding", "lower", "upper", "unbiased"}, default "rounding"
        Severity discretisation (see :func:`safeins.losses.discretization.discretize`).
    tilt : None, "auto" or float, default "auto"
        FFT exponential tilting, per lattice step. "auto" tilts only when the padded transform
        would alias more than ``tol``.
    seed : int, SeedSequence, Generator or None
        For ``method="simulation"`` (and the default seed of :meth:`rvs`).
    n_sims : int, default 100_000
        Simulated years for ``method="simulation"``.
    tol : float, default 1e-8
        Requested accuracy in probability: a grid that loses more mass than this beyond its end,
        or an FFT that may alias more, gives a :class:`~safeins.errors.DiscretizationWarning`
        with the estimated error.
    moment_rtol : float, default 1e-3
        Relative error of the mean or standard deviation (rounding and unbiased
        discretisations) above which the grid is too coarse. With ``step=None`` the grid is
        refined (smaller step, more points, up to ``max_n``) until the predicted error is within
        it, or a ValidationError says which step and length would be needed; with an explicit
        ``step`` a :class:`~safeins.errors.DiscretizationWarning` reports the error.
    max_n : int, default 2**22
        Longest grid the automatic choice may use (memory grows as 32 bytes per point for FFT).
    max_claims : float, default 2e9
        ``method="simulation"`` refuses to draw more claims than this on average
        (``n_sims * E[N]``) and says how long and how much memory it would need, unless
        ``force=True``.
    force : bool, default False
        Run a simulation larger than ``max_claims``.

    Attributes
    ----------
    method_ : str
        The method used; ``method_reason_`` says why when ``method="auto"``.
    mass_lost_ : float
        Probability beyond the grid end (not represented on the lattice).
    aliasing_ : float
        Upper bound of the probability wrapped around by the FFT (0 for other methods).

    Examples
    --------
    >>> from safeins.losses import Exponential, Poisson
    >>> agg = Aggregate(Poisson(3), Exponential(100.0), method="fft", step=1.0, n=2**12,
    ...                 discretization="unbiased")
    >>> round(agg.mean(), 6), agg.method_
    (300.0, 'fft')
    >>> bool(agg.cdf(agg.ppf(0.99)) >= 0.99)
    True
    """

    def __init__(
        self,
        freq,
        sev,
        coverage: Coverage | None = None,
        aggregate_coverage: AggregateCoverage | None = None,
        method: str = "auto",
        step: float | None = None,
        n: int = 2**16,
        discretization: str = "rounding",
        tilt="auto",
        seed=None,
        n_sims: int = 100_000,
        tol: float = 1e-8,
        moment_rtol: float = 1e-3,
        max_n: int = 2**22,
        max_claims: float = DEFAULT_CLAIM_LIMIT,
        force: bool = False,
    ):
        self._validate(freq, sev, coverage, aggregate_coverage, method, step, n, discretization,
                       tilt, n_sims, tol, moment_rtol, max_n, max_claims, force)
        self.freq = freq
        self.severity = as_severity_object(sev, "Aggregate")
        self.coverage = coverage
        self.aggregate_coverage = aggregate_coverage
        self.method = method
        self.n = int(n)
        self.discretization = discretization
        self.tilt = tilt
        self.seed = seed
        self.n_sims = int(n_sims)
        self.tol = float(tol)
        self.moment_rtol = float(moment_rtol)
        self.max_n = int(max_n)
        self.max_claims = float(max_claims)
        self.force = force
        cov = coverage if coverage is not None else Coverage()
        self.payment = (
            self.severity if cov.is_trivial else CoveredSeverity(self.severity, cov, "loss")
        )
        self.theoretical_ = self._theoretical_moments()
        self.method_, self.method_reason_ = self._choose_method()
        self.auto_step_ = step is None
        self.step = self._choose_step(step)
        self.mass_lost_ = 0.0
        self.aliasing_ = 0.0
        self.pad_ = 1
        self.tilt_ = 0.0
        self._x = self._p = None
        self._counts = None
        self._compute()

    # --- validation -----------------------------------------------------------------------
    @staticmethod
    def _validate(freq, sev, coverage, agg_cov, method, step, n, discretization, tilt, n_sims,
                  tol, moment_rtol, max_n, max_claims, force) -> None:
        p = Problems("Aggregate")
        if not all(hasattr(freq, a) for a in ("pmf", "pgf", "mean", "var", "rvs")):
            p.add(column="freq", value=freq,
                  rule="a claim-count distribution (Poisson, NegativeBinomial, ...)")
        try:
            as_severity_object(sev, "Aggregate")
        except ValidationError as err:
            p.extend(err._problems)
        if coverage is not None and not isinstance(coverage, Coverage):
            p.add(column="coverage", value=coverage, rule="None or a Coverage")
        if agg_cov is not None and not isinstance(agg_cov, AggregateCoverage):
            p.add(column="aggregate_coverage", value=agg_cov, rule="None or an AggregateCoverage")
        if method not in METHODS:
            p.add(column="method", value=method, rule=f"one of {', '.join(METHODS)}")
        if step is not None and not (
            isinstance(step, int | float | np.integer | np.floating)
            and not isinstance(step, bool)
            and math.isfinite(float(step))
            and float(step) > 0
        ):
            p.add(column="step", value=step, rule="None or a finite number > 0")
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 2:
            p.add(column="n", value=n, rule="an integer >= 2 (a power of 2 is fastest)")
        if discretization not in DISCRETIZATIONS:
            p.add(column="discretization", value=discretization,
                  rule=f"one of {', '.join(DISCRETIZATIONS)}")
        if not (tilt is None or tilt == "auto" or (
            isinstance(tilt, int | float) and not isinstance(tilt, bool)
            and math.isfinite(tilt) and tilt >= 0
        )):
            p.add(column="tilt", value=tilt, rule="None, 'auto' or a number >= 0 (per step)")
        if isinstance(n_sims, bool) or not isinstance(n_sims, int | np.integer) or n_sims < 1:
            p.add(column="n_sims", value=n_sims, rule="an integer >= 1")
        for name, v in (("tol", tol), ("moment_rtol", moment_rtol)):
            if not (isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1):
                p.add(column=name, value=v, rule="a number in (0, 1)")
        if method in _APPROX and agg_cov is not None:
            p.add(column="aggregate_coverage", value=agg_cov,
                  rule=f"not available with method={method!r}; use 'fft' or 'panjer'")
        if isinstance(max_n, bool) or not isinstance(max_n, int | np.integer) or int(max_n) < 2:
            p.add(column="max_n", value=max_n, rule="an integer >= 2")
        if not (isinstance(max_claims, int | float | np.integer | np.floating)
                and not isinstance(max_claims, bool) and math.isfinite(float(max_claims))
                and float(max_claims) > 0):
            p.add(column="max_claims", value=max_claims, rule="a finite number > 0")
        if not isinstance(force, bool | np.bool_):
            p.add(column="force", value=force, rule="True or False")
        if method == "panjer" and not hasattr(freq, "a"):
            p.add(column="freq", value=freq, rule="Panjer needs an (a,b,0) or (a,b,1) count")
        p.raise_if_any()

    # --- set-up ---------------------------------------------------------------------------
    def _theoretical_moments(self) -> dict:
        """Exact mean, variance and skewness of S before any aggregate coverage."""
        N, Y = self.freq, self.payment
        try:
            n1, n2, n3 = (float(N.moment(k)) for k in (1, 2, 3))
            y1, y2, y3 = (float(Y.moment(k)) for k in (1, 2, 3))
        except (ValueError, ArithmeticError):
            return {"mean": math.nan, "var": math.nan, "skew": math.nan}
        with np.errstate(all="ignore"):
            vn = n2 - n1 * n1
            k3n = n3 - 3 * n1 * n2 + 2 * n1**3
            vy = y2 - y1 * y1
            k3y = y3 - 3 * y1 * y2 + 2 * y1**3
            mean = n1 * y1
            var = n1 * vy + vn * y1 * y1
            k3 = n1 * k3y + 3 * vn * y1 * vy + k3n * y1**3
            skew = k3 / var**1.5 if var > 0 and math.isfinite(var) else math.nan
        if not math.isfinite(y2):
            var, skew = math.inf, math.nan
        elif not math.isfinite(y3):
            skew = math.inf
        return {"mean": mean, "var": var, "skew": skew}

    def _choose_method(self) -> tuple[str, str]:
        if self.method != "auto":
            return self.method, "requested"
        return "fft", (
            "auto: FFT (exact on the lattice for any count with a pgf, O(n log n)); "
            "padding and tilting keep the aliased mass below tol"
        )

    def _choose_step(self, step) -> float | None:
        if step is not None:
            return float(step)
        if self.method_ in _APPROX or self.method_ == "simulation":
            return None
        m, v = self.theoretical_["mean"], self.theoretical_["var"]
        top = self.payment.max_payment if hasattr(self.payment, "max_payment") else math.inf
        if not (is_finite(m) and is_finite(v)):
            raise ValidationError("Aggregate", [Problem(
                None, "step", None,
                "give a step: the aggregate variance is not finite, so it cannot be chosen "
                "from the moments")])
        # grid end: a far normal-power quantile or one large claim, whichever is further
        skew = self.theoretical_["skew"] if is_finite(self.theoretical_["skew"]) else 0.0
        z = 8.0
        far = m + math.sqrt(v) * (z + max(skew, 0.0) * (z * z - 1) / 6.0)
        en = max(float(self.freq.mean()), 1e-12)
        q = min(self.tol / en, 0.5)
        big = float(self.payment.ppf(1.0 - q)) if math.isinf(top) else top
        end = max(far, m + big, 1e-12)
        if self.aggregate_coverage is not None and math.isfinite(self.aggregate_coverage.limit):
            end = min(end, self.aggregate_coverage.limit * 1.0001)
        if self.discretization not in ("rounding", "unbiased"):
            # lower/upper are biased on purpose (bounds): their moments are not a target
            return _nice_step(end / (self.n - 1))
        return self._refine_grid(end, q)

    def _predicted_errors(self, h: float, n: int, q: float) -> list[tuple[str, float]]:
        """Relative errors of the aggregate mean and std that the lattice of step h will have.

        The compound moments follow from the discretised severity's: E[S] = E[N] m_f and
        Var S = E[N] v_f + Var N m_f^2, so the grid's error is known before any transform.
        Only the severity's own range is discretised (up to its 1 - q quantile), which is cheap.
        """
        t = self.theoretical_
        Y = self.payment
        top = getattr(Y, "max_payment", math.inf)
        sev_end = float(Y.ppf(1.0 - q)) if math.isinf(top) else top
        m = int(min(n, max(math.ceil(sev_end / h) + 2, 2), 2**22))
        f = discretize(Y, h, m, method=self.discretization)
        x = h * np.arange(m)
        mf = float(np.dot(x, f))
        vf = max(float(np.dot(x * x, f)) - mf * mf, 0.0)
        en, vn = float(self.freq.mean()), float(self.freq.var())
        errs = []
        if t["mean"] > 0:
            errs.append(("mean", abs(en * mf / t["mean"] - 1)))
        if t["var"] > 0:
            errs.append(("std", abs(math.sqrt(en * vf + vn * mf * mf) / math.sqrt(t["var"]) - 1)))
        return errs

    def _refine_grid(self, end: float, q: float) -> float:
        """The step for a grid reaching ``end``; doubles the length (up to max_n) until the mean
        and std are predicted within moment_rtol, else raises naming the step and n needed."""
        n = self.n
        while True:
            h = _nice_step(end / (n - 1))
            errs = self._predicted_errors(h, n, q)
            if all(e <= self.moment_rtol for _, e in errs):
                if n <= max(self.max_n, self.n):
                    self.n = n
                    return h
                break
            if n >= 2**30:  # beyond any machine: say so instead of looping on
                h, n = None, None
                break
            n *= 2
        first = ", ".join(f"{k} off by {e:.3g}" for k, e in
                          self._predicted_errors(_nice_step(end / (self.n - 1)), self.n, q))
        need = ("no grid up to 2**30 points reaches it; give step and n, or use "
                "method='simulation'") if n is None else (
            f"step={h:g} and n={n} (2**{int(math.log2(n))}) would be needed; pass them, "
            f"raise max_n (now {self.max_n}) or loosen moment_rtol")
        raise ValidationError("Aggregate", [Problem(
            None, "n", self.n,
            f"the automatic grid (step={_nice_step(end / (self.n - 1)):g}, n={self.n}) gives "
            f"{first} (moment_rtol={self.moment_rtol:g}); {need}")])

    # --- computation ----------------------------------------------------------------------
    def _compute(self) -> None:
        if self.method_ in _APPROX:
            t = self.theoretical_
            if not (is_finite(t["mean"]) and is_finite(t["var"])) or t["var"] <= 0:
                raise ValidationError("Aggregate", [Problem(
                    None, "method", self.method_,
                    "normal approximations need a finite, positive aggregate variance")])
            if self.method_ == "normal_power" and not (is_finite(t["skew"]) and t["skew"] > 0):
                raise ValidationError("Aggregate", [Problem(
                    None, "method", self.method_,
                    f"normal power needs a finite positive skewness (got {t['skew']!r})")])
            return
        if self.method_ == "simulation":
            s = self._simulate(self.n_sims, self.seed)
            vals, counts = np.unique(s, return_counts=True)
            self._x, self._counts = vals, counts
            self._p = counts / float(self.n_sims)
            return
        h, n = self.step, self.n
        f = discretize(self.payment, h, n, method=self.discretization)
        self.severity_lattice_ = f
        if self.method_ == "fft":
            g = self._fft(f)
        elif self.method_ == "panjer":
            g = _compound.panjer(self.freq, f, n)
        else:
            g = _compound.convolution(self.freq, f, n)
        x = np.arange(n, dtype=float)
        x *= h  # = h * arange(n), without a second 8 MB array at 2^20 points
        self.mass_lost_ = float(max(1.0 - g.sum(), 0.0))
        self._check_grid(g, x)
        if self.aggregate_coverage is not None:
            x, g = self.aggregate_coverage.transform(x, g)
        self._x, self._p = x, g

    def _fft(self, f) -> np.ndarray:
        n, tol = self.n, self.tol
        if self.tilt is None or self.tilt == "auto":
            # no padding when the grid alone cannot wrap, else twice the grid, then tilting
            pad, theta = 1, 0.0
            bound = _compound.aliasing_bound(self.freq, f, n)
            if bound > tol:
                pad = 2
                bound = _compound.aliasing_bound(self.freq, f, 2 * n)
            if bound > tol and self.tilt == "auto":
                # keep the error amplification e^(theta n) of the untilted grid below 1e4
                theta = min(math.log(bound / tol) / (2 * n), math.log(1e4) / n)
                bound *= math.exp(-theta * 2 * n)
        else:
            pad, theta = 2, float(self.tilt)
            bound = _compound.aliasing_bound(self.freq, f, 2 * n, theta)
        g, length = _compound.fft(self.freq, f, n, pad=pad, theta=theta)
        self.pad_, self.tilt_, self.aliasing_ = length / n, theta, float(bound)
        if bound > tol:
            warnings.warn(
                f"Aggregate: the FFT may wrap up to {bound:.3g} of probability onto the grid "
                f"(tol={tol:g}); use a longer grid (n) or a larger step",
                DiscretizationWarning, stacklevel=4)
        return g

    def _check_grid(self, g, x) -> None:
        if self.mass_lost_ > self.tol:
            warnings.warn(
                f"Aggregate: P(S > {x[-1]:.6g}) = {self.mass_lost_:.3g} lies beyond the grid "
                f"(tol={self.tol:g}); increase n or step", DiscretizationWarning, stacklevel=4)
        if self.discretization in ("rounding", "unbiased"):
            t = self.theoretical_
            # einsum, not np.dot: on a million points a threaded BLAS dot waits for its
            # threads (16 ms against 0.5 ms on a loaded 2-core machine)
            m = float(np.einsum("i,i->", x, g))
            c = x - m
            sd = math.sqrt(max(float(np.einsum("i,i,i->", c, c, g)), 0.0))
            errs = []
            if is_finite(t["mean"]) and t["mean"] > 0:
                errs.append(("mean", abs(m / t["mean"] - 1)))
            if is_finite(t["var"]) and t["var"] > 0:
                errs.append(("std", abs(sd / math.sqrt(t["var"]) - 1)))
            bad = [(k, e) for k, e in errs if e > self.moment_rtol]
            if bad and self.auto_step_ and self.mass_lost_ <= self.tol:
                what = ", ".join(f"{k} off by {e:.3g}" for k, e in bad)
                raise ValidationError("Aggregate", [Problem(
                    None, "step", self.step,
                    f"the automatic grid (n={self.n}) gives {what} (moment_rtol="
                    f"{self.moment_rtol:g}); give a smaller step and a longer n")])
            if bad and self.mass_lost_ <= self.tol:
                what = ", ".join(f"{k} off by {e:.3g}" for k, e in bad)
                warnings.warn(
                    f"Aggregate: grid too coarse for step={self.step:g}: {what} "
                    f"(moment_rtol={self.moment_rtol:g}); use a smaller step",
                    DiscretizationWarning, stacklevel=4)

    def _simulate(self, size: int, seed) -> np.ndarray:
        claims = float(size) * float(self.freq.mean())
        check_work("Aggregate simulation", claims, limit=self.max_claims, force=self.force,
                   chunk_claims=_compound.sims_per_block(float(self.freq.mean()))
                   * float(self.freq.mean()),
                   hint="lower n_sims, or use method='fft' for the distribution")
        Y = self.payment
        draw = fast_rvs(Y) if Y is self.severity else (lambda k, rng: Y.rvs(size=k, seed=rng))
        s = _compound.simulate(self.freq, draw, int(size), seed, float(self.freq.mean()))
        if self.aggregate_coverage is not None:
            s = self.aggregate_coverage.apply(s)
        return s

    # --- helpers --------------------------------------------------------------------------
    @property
    def is_discrete(self) -> bool:
        """True unless the method is a (continuous) normal approximation."""
        return self.method_ not in _APPROX

    def _ms(self):
        t = self.theoretical_
        return t["mean"], math.sqrt(t["var"]), t["skew"]

    def _cum(self) -> np.ndarray:
        if getattr(self, "_cum_cache", None) is None:
            if self._counts is not None:
                self._cum_cache = np.cumsum(self._counts) / float(self.n_sims)
            else:
                self._cum_cache = np.cumsum(self._p)
        return self._cum_cache

    # --- distribution ---------------------------------------------------------------------
    def pmf(self, x):
        """P(S = x) at support points (0 elsewhere); not defined for normal approximations."""
        if not self.is_discrete:
            raise ValidationError("Aggregate.pmf", [Problem(
                None, "method", self.method_, "pmf needs a discrete method (fft, panjer, ...)")])
        x = np.asarray(x, dtype=float)
        i = np.clip(np.searchsorted(self._x, x), 0, len(self._x) - 1)
        scale = max(self.step or 0.0, 1.0)
        hit = np.abs(self._x[i] - x) <= 1e-9 * scale
        return _scalar(np.where(hit, self._p[i], 0.0))

    def cdf(self, x):
        """P(S <= x)."""
        x = np.asarray(x, dtype=float)
        if not self.is_discrete:
            return _scalar(self._approx_cdf(x))
        cum = self._cum()
        i = np.searchsorted(self._x, x, side="right") - 1
        out = np.where(i >= 0, cum[np.clip(i, 0, None)], 0.0)
        return _scalar(np.minimum(out, 1.0))

    def sf(self, x):
        """P(S > x), including the mass beyond the grid end."""
        x = np.asarray(x, dtype=float)
        if not self.is_discrete:
            return _scalar(1.0 - self._approx_cdf(x))
        tail = np.concatenate([np.cumsum(self._p[::-1])[::-1], [0.0]])
        i = np.searchsorted(self._x, x, side="right")
        return _scalar(np.clip(tail[i] + self.mass_lost_, 0.0, 1.0))

    def exceedance(self, x):
        """Exceedance probability P(S > x) (same as :meth:`sf`)."""
        return self.sf(x)

    def ppf(self, p):
        """Value-at-risk: the lower quantile inf{x : P(S <= x) >= p}.

        Raises a ValidationError when ``p`` is outside [0, 1] (or NaN) or beyond what the grid
        holds.
        """
        p_arr = check_levels("Aggregate.ppf", p, name="p")
        if not self.is_discrete:
            return _scalar(self._approx_ppf(p_arr))
        cum = self._cum()
        tol = 0.0 if self._counts is not None else _PPF_TOL
        i = np.searchsorted(cum, p_arr - tol, side="left")
        if np.any(i >= len(cum)):
            worst = float(np.max(p_arr[i >= len(cum)]))
            raise ValidationError("Aggregate.ppf", [Problem(
                None, "p", worst,
                f"<= {float(cum[-1]):.12g}: the grid ends at {float(self._x[-1]):.6g} "
                "with that much probability; increase n or step")])
        return _scalar(self._x[i])

    def value_at_risk(self, p):
        """VaR at level p in (0, 1): the lower quantile (:meth:`ppf`)."""
        check_levels("Aggregate.value_at_risk", p, name="p", closed=False)
        return self.ppf(p)

    def tvar(self, p, kind: str = "tvar"):
        """Tail value-at-risk at level p.

        ``kind="tvar"``: Acerbi-Tasche ``VaR_p + E[(S - VaR_p)+] / (1 - p)`` (coherent);
        ``kind="cte"``: conditional tail expectation ``E[S | S > VaR_p]`` (actuar's CTE; equal
        to VaR_p when no mass lies above it). For the normal approximations both are
        ``mu + sigma phi(z) (1 + gamma z / 6) / (1 - p)`` (gamma = 0 for "normal").
        """
        if kind not in ("tvar", "cte"):
            raise ValidationError("Aggregate.tvar", [Problem(None, "kind", kind,
                                                             "one of 'tvar', 'cte'")])
        p_arr = np.atleast_1d(check_levels("Aggregate.tvar", p, name="p", closed=False))
        var = np.atleast_1d(self.ppf(p_arr))
        out = np.empty(len(p_arr))
        if not self.is_discrete:
            m, s, g = self._ms()
            z = special.ndtri(p_arr)
            gam = g if self.method_ == "normal_power" else 0.0
            out = m + s * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) * (1 + gam * z / 6) / (
                1 - p_arr)
            return _scalar(out if np.ndim(p) else out[0])
        self._warn_tail(p_arr)
        x, q = self._x, self._p
        for k, (pk, v) in enumerate(zip(p_arr, var, strict=True)):
            above = x > v
            tail_p = float(q[above].sum())
            excess = float(np.dot(x[above] - v, q[above]))
            if kind == "cte":
                out[k] = v + excess / tail_p if tail_p > 0 else v
            else:
                out[k] = v + excess / (1 - pk)
        return _scalar(out if np.ndim(p) else out[0])

    def _warn_tail(self, p_arr) -> None:
        lost = self.mass_lost_ + self.aliasing_
        worst = float(np.max(p_arr))
        if lost > self.tol * max(1 - worst, 1e-300) and lost > 0:
            warnings.warn(
                f"Aggregate: {lost:.3g} of probability is beyond the grid (or aliased), against a "
                f"tail of {1 - worst:.3g}: the tail expectation misses that part",
                DiscretizationWarning, stacklevel=3)

    def stop_loss(self, d):
        """Stop-loss premium E[(S - d)+] (vectorised over d)."""
        d_arr = np.atleast_1d(np.asarray(d, dtype=float))
        if not self.is_discrete:
            out = np.array([self._approx_stop_loss(v) for v in d_arr])
        else:
            x, q = self._x, self._p
            tail_xp = np.concatenate([np.cumsum((x * q)[::-1])[::-1], [0.0]])
            tail_p = np.concatenate([np.cumsum(q[::-1])[::-1], [0.0]])
            i = np.searchsorted(x, d_arr, side="right")
            out = np.maximum(tail_xp[i] - d_arr * tail_p[i], 0.0)
        return _scalar(out if np.ndim(d) else out[0])

    # --- moments --------------------------------------------------------------------------
    def _moments_numeric(self) -> tuple[float, float, float]:
        m, v, s = self._moments_computed()
        # a lattice or a sample always has finite moments; the law may not: never report them
        t = self.theoretical_
        bounded = (self.aggregate_coverage is not None
                   and math.isfinite(self.aggregate_coverage.limit))
        if not bounded:
            if math.isinf(t["mean"]):
                return math.inf, math.inf, math.nan
            if math.isinf(t["var"]):
                return m, math.inf, math.nan
            if math.isinf(t["skew"]):
                return m, v, math.inf
        return m, v, s

    def _moments_computed(self) -> tuple[float, float, float]:
        if not self.is_discrete:
            m, sd, g = self._ms()
            return m, sd * sd, (g if self.method_ == "normal_power" else 0.0)
        # computed on first use and kept: mean(), var(), std() and skew() each need all three,
        # and on a grid of 2^20 points one pass costs milliseconds
        if getattr(self, "_moments_cache", None) is None:
            x, q = self._x, self._p
            m = float(np.dot(x, q))
            c = x - m
            v = float(np.dot(c * c, q))
            s = float(np.dot(c * c * c, q)) / v**1.5 if v > 0 else math.nan
            self._moments_cache = (m, v, s)
        return self._moments_cache

    def mean(self) -> float:
        """Mean of the computed distribution (see :meth:`describe` for the exact value).

        ``inf`` when the mean of the model does not exist (a heavy-tailed severity), whatever
        the method: the finite mean of a grid or a sample would be a number that does not exist.
        """
        return self._moments_numeric()[0]

    def var(self) -> float:
        """Variance of the computed distribution."""
        return self._moments_numeric()[1]

    def std(self) -> float:
        """Standard deviation of the computed distribution."""
        return math.sqrt(self.var())

    def skew(self) -> float:
        """Skewness of the computed distribution."""
        return self._moments_numeric()[2]

    def lattice(self):
        """``(x, probs)``: the support points and their probabilities (copies).

        For the normal approximations the approximating cdf is discretised by rounding on the
        grid ``0, step, ...`` (the mass below 0 at 0).
        """
        if self.is_discrete:
            return self._x.copy(), self._p.copy()
        step = self.step or self._approx_step()
        edges = (np.arange(self.n) + 0.5) * step
        c = self._approx_cdf(edges)
        return step * np.arange(self.n), np.diff(np.concatenate([[0.0], c]))

    def rvs(self, size=None, seed=None):
        """Draws of S simulated from the model itself (counts, then claims, then coverages)."""
        k = 1 if size is None else int(np.prod(size))
        s = self._simulate(k, self.seed if seed is None else seed)
        if size is None:
            return float(s[0])
        return s.reshape(size)

    # --- normal approximations ------------------------------------------------------------
    def _approx_step(self) -> float:
        m, s, _ = self._ms()
        return _nice_step((m + 10 * s) / (self.n - 1))

    def _approx_cdf(self, x):
        m, s, g = self._ms()
        y = (np.asarray(x, dtype=float) - m) / s
        if self.method_ == "normal":
            return special.ndtr(y)
        arg = 9 / g**2 + 1 + 6 * y / g
        return np.where(arg >= 0, special.ndtr(-3 / g + np.sqrt(np.maximum(arg, 0.0))), 0.0)

    def _approx_ppf(self, p):
        m, s, g = self._ms()
        z = special.ndtri(np.asarray(p, dtype=float))
        if self.method_ == "normal":
            return m + s * z
        return m + s * (z + g * (z * z - 1) / 6)

    def _approx_stop_loss(self, d: float) -> float:
        m, s, _ = self._ms()
        if self.method_ == "normal":
            z = (d - m) / s
            return s * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) + (m - d) * special.ndtr(-z)
        val, _ = integrate.quad(lambda t: 1.0 - float(self._approx_cdf(t)), d, math.inf,
                                limit=200)
        return float(val)

    # --- reporting ------------------------------------------------------------------------
    def describe(self):
        """Exact versus computed moments, and the probability the computation may miss.

        Rows ``mean``, ``std``, ``skew`` compare the exact values (before any aggregate
        coverage) with those of the computed distribution; ``mass_lost`` is the probability
        beyond the grid end, ``aliasing`` the FFT's bound of wrapped-around probability.
        """
        import pandas as pd

        t = self.theoretical_
        exact = [t["mean"], math.sqrt(t["var"]) if is_finite(t["var"]) else t["var"], t["skew"]]
        if self.aggregate_coverage is not None:
            exact = [math.nan] * 3
        m, v, s = self._moments_numeric()
        comp = [m, math.sqrt(v), s]
        rows = []
        for name, e, c in zip(("mean", "std", "skew"), exact, comp, strict=True):
            with np.errstate(all="ignore"):
                err = c - e
                rel = err / e if is_finite(e) and e != 0 else math.nan
            rows.append((name, e, c, err, rel))
        rows.append(("mass_lost", 0.0, self.mass_lost_, self.mass_lost_, math.nan))
        rows.append(("aliasing", 0.0, self.aliasing_, self.aliasing_, math.nan))
        if self.method_ == "simulation":
            se = comp[1] / math.sqrt(self.n_sims)
            rows.append(("mc_std_error_of_mean", math.nan, se, math.nan, math.nan))
        return pd.DataFrame(rows, columns=["quantity", "exact", "computed", "abs_error",
                                           "rel_error"]).set_index("quantity")

    def to_frame(self):
        """One row per support point: ``x``, ``pmf``, ``cdf`` (a quantile table for the
        normal approximations)."""
        import pandas as pd

        if not self.is_discrete:
            ps = np.array([0.5, 0.75, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999])
            return pd.DataFrame({"p": ps, "var": self.ppf(ps), "tvar": self.tvar(ps)})
        return pd.DataFrame({"x": self._x, "pmf": self._p, "cdf": self._cum()})

    def summary(self) -> str:
        """A short text: model, method, grid, moments, VaR and TVaR at usual levels."""
        lines = [
            f"Aggregate loss: {self.freq!r} x {self.severity!r}",
            f"  coverage: {self.coverage!r}; aggregate: {self.aggregate_coverage!r}",
            f"  method: {self.method_} ({self.method_reason_})",
        ]
        if self.method_ in _LATTICE:
            lines.append(
                f"  grid: step={self.step:g}, n={self.n}, discretization={self.discretization}, "
                f"mass lost={self.mass_lost_:.3g}, aliasing<={self.aliasing_:.3g}")
        elif self.method_ == "simulation":
            lines.append(f"  simulations: {self.n_sims}")
        m, v, s = self._moments_numeric()
        sd = math.sqrt(v)
        lines.append(f"  mean={m:.6g} std={sd:.6g} skew={s:.4g} (exact mean "
                     f"{self.theoretical_['mean']:.6g})")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DiscretizationWarning)
            for p in (0.9, 0.95, 0.99, 0.995):
                try:
                    lines.append(f"  p={p}: VaR={float(self.ppf(p)):.6g} "
                                 f"TVaR={float(self.tvar(p)):.6g} "
                                 f"CTE={float(self.tvar(p, kind='cte')):.6g}")
                except ValidationError:
                    lines.append(f"  p={p}: beyond the grid")
        return "\n".join(lines)

    def plot(self, ax=None):
        """The distribution function of S (a step function for discrete methods)."""
        from .._base.plotting import axes

        ax = axes(ax)
        if self.is_discrete:
            ax.step(self._x, self._cum(), where="post", label=self.method_)
        else:
            m, s, _ = self._ms()
            xs = np.linspace(max(m - 4 * s, 0.0), m + 6 * s, 400)
            ax.plot(xs, self._approx_cdf(xs), label=self.method_)
        ax.set_xlabel("aggregate loss S (yuan)")
        ax.set_ylabel("P(S <= x)")
        ax.legend()
        return ax


def _scalar(out):
    out = np.asarray(out, dtype=float)
    return out[()] if out.ndim == 0 else out
