"""Compound-distribution engines on a lattice: FFT, Panjer, direct convolution, Monte Carlo.

Every engine takes the claim-count distribution ``freq`` (the protocol of
:mod:`safeins.losses.frequency`) and the lattice probabilities ``f`` of one claim, and
returns the probabilities of the total on the first ``n`` lattice points. On those points the
exact engines compute the same numbers: the result is exact for the discretised severity
(a total below the grid end only involves claims below it), up to rounding and, for the FFT, the
reported wrap-around (aliasing) error.

>>> import numpy as np
>>> from safeins.losses import Poisson
>>> f = np.array([0.0, 0.5, 0.5])
>>> g1 = panjer(Poisson(2.0), f, 16)
>>> g2, _ = fft(Poisson(2.0), f, 16)
>>> g3 = convolution(Poisson(2.0), f, 16)
>>> bool(np.allclose(g1, g2, atol=1e-13) and np.allclose(g1, g3, atol=1e-13))
True
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._base.lazy import lazy_module
from .._base.rng import block_generator

sfft = lazy_module("scipy.fft")
linalg = lazy_module("scipy.linalg")

__all__ = ["aliasing_bound", "convolution", "fft", "panjer", "simulate"]

# Panjer: largest -log P(S' = 0) allowed before the count is split in 2^k parts; the recursion
# amplifies an absolute error by at most 1/P(S' = 0) = e^PANJER_LOG_START.
PANJER_LOG_START = 4.0
_BLOCK = 128


# --- transforms -------------------------------------------------------------------------------
def _pgf(freq, z):
    with np.errstate(all="ignore"):
        return np.asarray(freq.pgf(z))


def _log_pgf_real(freq, z: float) -> float:
    """log P_N(z) for real z > 1 (inf outside the radius of convergence)."""
    with np.errstate(all="ignore"):
        v = freq.pgf(np.float64(z))
    v = float(np.real(v))
    if not math.isfinite(v) or v <= 0:
        return math.inf
    return math.log(v)


def _moment_bound(freq, w, pos, t: float, kmax: int = 24) -> float:
    """min over k of E[(S/t)^k] (Markov), with the raw moments of S from the factorial moments
    of N: M_S(s) = sum_j E[(N)_j] / j! (M_X(s) - 1)^j as power series in s."""
    fm_of = getattr(freq, "factorial_moment", None)
    if fm_of is None:
        return 1.0
    y = pos / t
    mx = np.array([float(np.dot(w, y**k)) for k in range(kmax + 1)])
    fact = np.array([math.factorial(k) for k in range(kmax + 1)], dtype=float)
    u = mx / fact
    u[0] = 0.0  # M_X(s) - 1 has no constant term
    ms = np.zeros(kmax + 1)
    ms[0] = 1.0
    power = np.zeros(kmax + 1)
    power[0] = 1.0
    for j in range(1, kmax + 1):
        power = np.convolve(power, u)[: kmax + 1]
        try:
            fm = float(fm_of(j))
        except (ValueError, ArithmeticError):
            break
        if not math.isfinite(fm):
            break
        ms = ms + fm / math.factorial(j) * power
    raw = ms * fact  # E[(S/t)^k]
    good = raw[1:][np.isfinite(raw[1:]) & (raw[1:] >= 0)]
    return float(min(1.0, good.min())) if good.size else 1.0


def _coarsen(f: np.ndarray, exact: int = 1024, growth: float = 1.01):
    """Masses of blocks of f moved up to each block's last point: exact below ``exact``, then
    blocks spanning at most ``growth - 1`` of their start (so x^k is overstated by at most
    growth^k), which keeps every bound computed from them valid."""
    n = len(f)
    starts = list(range(min(exact, n)))
    b = len(starts)
    while b < n:
        starts.append(b)
        b = max(b + 1, math.ceil(b * growth))
    starts_arr = np.asarray(starts, dtype=np.intp)
    w = np.add.reduceat(f, starts_arr)
    ends = np.append(starts_arr[1:], n) - 1.0
    return w, ends


def aliasing_bound(freq, f, length: int, theta: float = 0.0) -> float:
    """Upper bound of the mass an FFT of ``length`` points wraps onto the grid.

    The wrapped mass is at most ``e^(-theta length) P(S >= length)`` (tilting by ``theta`` per
    step). ``P(S >= t)`` is bounded by the smaller of Chernoff's ``inf_s P_N(M_X(s)) e^(-s t)``
    and Markov's ``min_k E[S^k] / t^k`` (much sharper for heavy tails). Both use a coarsened copy
    of ``f`` whose mass is moved up to the end of geometric blocks: the bound stays valid, the
    cost small.
    """
    f = np.asarray(f, dtype=float)
    w, pos = _coarsen(f)
    keep = w > 0
    w, pos = w[keep], pos[keep]
    if w.size == 0:
        return 0.0
    logw = np.log(w)
    best = 0.0  # log of the trivial bound P <= 1
    t = float(length)
    for st in np.geomspace(0.05, 2000.0, 48):
        s = st / t
        a = logw + s * pos
        amax = float(a.max())
        log_mx = amax + math.log(float(np.exp(a - amax).sum()))
        if log_mx > 700:
            break
        lp = _log_pgf_real(freq, math.exp(log_mx))
        if not math.isfinite(lp):
            break
        best = min(best, lp - s * t)
    markov = _moment_bound(freq, w, pos, t)
    if markov > 0:
        best = min(best, math.log(markov))
    else:
        best = -math.inf
    return math.exp(best - theta * length)


# --- FFT ----------------------------------------------------------------------------------------
def fft(freq, f, n: int, pad: int = 2, theta: float = 0.0):
    """Compound probabilities by FFT on ``pad * n`` points with exponential tilting ``theta``.

    Returns ``(g, length)``: the first ``n`` probabilities and the transform length used.
    """
    f = np.asarray(f, dtype=float)
    length = sfft.next_fast_len(int(pad * n), real=True)
    m = min(len(f), n)
    if theta > 0 or m == 0:
        x = np.zeros(length)
        x[:m] = f[:m]
        if theta > 0:
            tilt = np.exp(-theta * np.arange(length))
            x *= tilt
        phi = sfft.rfft(x)
    else:  # rfft pads with zeros itself: no copy of the grid
        phi = sfft.rfft(f[:m], n=length)
    # the transform of P_N is a fresh array nobody else holds: the inverse may work in it
    g = sfft.irfft(_pgf(freq, phi), n=length, overwrite_x=True)[:n]
    if theta > 0:
        g = g / tilt[:n]
    return g, length


def _square(g: np.ndarray, n: int) -> np.ndarray:
    """Self-convolution truncated to n points (exact below n: no wrap-around)."""
    length = sfft.next_fast_len(2 * n, real=True)
    t = sfft.rfft(g, length)
    return sfft.irfft(t * t, length)[:n]


# --- Panjer -------------------------------------------------------------------------------------
def _log_p0_ab0(a: float, b: float, f0: float) -> float:
    """log P_N(f0) for the (a,b,0) member with parameters a, b (no underflow)."""
    if a == 0:
        return b * (f0 - 1.0)
    return -(a + b) / a * (math.log1p(-a * f0) - math.log1p(-a))


def panjer(freq, f, n: int) -> np.ndarray:
    """Compound probabilities by Panjer's recursion, (a,b,0) and (a,b,1) classes.

    Never underflows: when P(S = 0) would be below e^-PANJER_LOG_START the count is split
    (Poisson mu -> mu / 2^k, negative binomial r -> r / 2^k, binomial formally likewise: the pgf
    ``((1 - a z)/(1 - a))^(-(a+b)/a)`` becomes its 2^k-th root), the recursion is run for the
    root and the result convolved with itself k times (exact below the grid end).
    """
    f = np.zeros(n) if len(f) == 0 else np.asarray(f, dtype=float)
    if len(f) < n:
        f = np.concatenate([f, np.zeros(n - len(f))])
    f = f[:n]
    if getattr(freq, "abclass", 0) == 1:
        parent = getattr(freq, "parent", None)
        if parent is not None:  # zero-modified / truncated: p0M d0 + c (compound of the parent)
            scale = float(freq._scale) if hasattr(freq, "_scale") else (
                freq.one_minus_p0 / parent.one_minus_p0
            )
            g = panjer(parent, f, n) * scale
            g[0] += freq.p0 - scale * parent.p0
            return g
        # a genuine (a,b,1) member without an (a,b,0) parent (logarithmic): direct recursion
        a, b = float(freq.a), float(freq.b)
        start = float(np.real(_pgf(freq, f[0])))
        c = float(freq.p1) - (a + b) * float(freq.p0)
        return _recursion(a, b, c, start, f, n)
    a, b = float(freq.a), float(freq.b)
    log_start = _log_p0_ab0(a, b, float(f[0]))
    k = 0
    if -log_start > PANJER_LOG_START:
        k = math.ceil(math.log2(-log_start / PANJER_LOG_START))
    bk = (a + b) / 2**k - a
    g = _recursion(a, bk, 0.0, math.exp(log_start / 2**k), f, n)
    for _ in range(k):
        g = _square(g, n)
    return g


def _recursion(a: float, b: float, c: float, start: float, f: np.ndarray, n: int) -> np.ndarray:
    """Solve (1 - a f0) g[x] = c f[x] + sum_{y=1..x} (a + b y/x) f[y] g[x-y], g[0] = start.

    Divide and conquer ("online convolution"): the contribution of the already solved left half
    to the right half is added by FFT, blocks of _BLOCK points are solved by forward
    substitution (a triangular solve). O(n log^2 n).
    """
    g = np.zeros(n)
    A = np.zeros(n)  # sum f[y] g[x-y] over the solved part
    B = np.zeros(n)  # sum y f[y] g[x-y] over the solved part
    f1 = f.copy()
    f1[0] = 0.0
    yf = np.arange(n) * f1
    denom = 1.0 - a * f[0]
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    bsz = min(_BLOCK, n)
    idx = np.arange(bsz)
    D = idx[:, None] - idx[None, :]
    # inside a block the matrix is Toeplitz in f: the same for every block but for the 1/x factor
    Fd = np.where(D > 0, f1[np.where(D > 0, D, 0)], 0.0)
    DFd = D * Fd

    def solve_block(lo: int, hi: int) -> None:
        m = hi - lo
        x = np.arange(lo, hi, dtype=float)
        if lo == 0:
            x[0] = 1.0  # row 0 is replaced by g[0] = start below
        bx = b / x
        rhs = c * f[lo:hi] + a * A[lo:hi] + bx * B[lo:hi]
        M = -(a * Fd[:m, :m] + bx[:, None] * DFd[:m, :m])
        M[np.diag_indices(m)] = denom
        if lo == 0:
            M[0, :] = 0.0
            M[0, 0] = 1.0
            rhs[0] = start
        g[lo:hi] = linalg.solve_triangular(M, rhs, lower=True, check_finite=False)

    def rec(lo: int, hi: int) -> None:
        if hi - lo <= bsz:
            solve_block(lo, hi)
            return
        mid = (lo + hi) // 2
        rec(lo, mid)
        size = hi - lo
        L = sfft.next_fast_len(size, real=True)
        if (size, L) not in cache:
            cache[(size, L)] = (sfft.rfft(f1[:size], L), sfft.rfft(yf[:size], L))
        Ff, Fy = cache[(size, L)]
        Gs = sfft.rfft(g[lo:mid], L)
        # circular convolution of length >= size: indices [mid-lo, size) are not wrapped
        A[mid:hi] += sfft.irfft(Gs * Ff, L)[mid - lo : size]
        B[mid:hi] += sfft.irfft(Gs * Fy, L)[mid - lo : size]
        rec(mid, hi)

    rec(0, n)
    return g


# --- direct convolution -------------------------------------------------------------------------
def _count_pmf(freq, tail: float = 1e-17) -> np.ndarray:
    mean = float(freq.mean())
    sd = math.sqrt(max(float(freq.var()), 0.0))
    kmax = math.ceil(mean + 12 * sd + 16)
    while float(freq.sf(kmax)) > tail and kmax < 10**7:
        kmax *= 2
    return np.asarray(freq.pmf(np.arange(kmax + 1)), dtype=float)


def convolution(freq, f, n: int) -> np.ndarray:
    """Compound probabilities as sum_k P(N = k) f^{*k}, each power truncated to the grid."""
    f = np.asarray(f, dtype=float)[:n]
    f = np.concatenate([f, np.zeros(n - len(f))])
    pk = _count_pmf(freq)
    g = np.zeros(n)
    power = np.zeros(n)
    power[0] = 1.0
    g += pk[0] * power
    direct = n <= 1024
    if not direct:
        length = sfft.next_fast_len(2 * n, real=True)
        F = sfft.rfft(f, length)
    for k in range(1, len(pk)):
        if direct:
            power = np.convolve(power, f)[:n]
        else:
            power = sfft.irfft(sfft.rfft(power, length) * F, length)[:n]
        g += pk[k] * power
        if power.sum() < 1e-300:  # every further term lies beyond the grid
            break
    return g


# --- Monte Carlo --------------------------------------------------------------------------------
def sims_per_block(mean_count: float) -> int:
    """Simulations per random-stream block: a fixed function of the model (not of chunking)."""
    return int(max(64, min(2**14, 2**22 // max(1, math.ceil(mean_count)))))


def simulate(freq, draw_severity, n_sims: int, seed, mean_count: float,
             workers: int | None = None) -> np.ndarray:
    """Totals of ``n_sims`` simulated years; ``draw_severity(size, rng)`` draws claim amounts.

    All counts of a block are drawn at once, then all its claims, summed with ``np.add.reduceat``.
    Block b always uses ``block_generator(seed, b)`` and writes its own slice, so the same seed
    gives the same totals whatever the number of threads (numpy's generators and ufuncs release
    the GIL, so blocks run in parallel on the available cores).
    """
    per = sims_per_block(mean_count)
    out = np.empty(n_sims)
    spans = [(b, lo, min(n_sims, lo + per)) for b, lo in enumerate(range(0, n_sims, per))]

    def run(span) -> None:
        b, lo, hi = span
        rng = block_generator(seed, b)
        counts = np.asarray(freq.rvs(size=hi - lo, seed=rng), dtype=np.int64)
        total = int(counts.sum())
        if total == 0:
            out[lo:hi] = 0.0
            return
        x = np.asarray(draw_severity(total, rng))
        if x.dtype != np.float32:
            x = x.astype(float, copy=False)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        has = counts > 0
        sums = np.zeros(hi - lo)
        sums[has] = np.add.reduceat(x, starts[has], dtype=np.float64)  # float64 accumulation
        out[lo:hi] = sums

    if workers is None:
        workers = os.cpu_count() or 1
    big = mean_count * n_sims >= 1e6
    if workers > 1 and len(spans) > 1 and big:
        with ThreadPoolExecutor(max_workers=min(workers, len(spans))) as pool:
            list(pool.map(run, spans))
    else:
        for span in spans:
            run(span)
    return out
