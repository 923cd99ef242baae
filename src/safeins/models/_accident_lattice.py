"""The exact insured loss of one accident on a lattice.

On the lattice ``0, h, ..., (n-1) h`` with ``(n-1) h`` the per-accident limit (or, when that limit
is far out of reach, a bound the accident cannot exceed but with negligible probability):

1. each victim's payout is a mixture over outcomes of (scheduled death/disability amount) +
   (medical payout after the medical deductible and sub-limit); the medical part is discretised
   with the mean-preserving ``"unbiased"`` method, and each scheduled amount is split between its
   two neighbouring lattice points in the proportions that keep its mean;
2. the employees' total is the compound of the per-victim payout over the victim count, by a
   truncated Horner scheme ``p_0 + Y * (p_1 + Y * (p_2 + ...))`` with FFT products cut back to
   ``n`` points after every step (exact below the limit: every part is >= 0, so nothing above the
   limit can come back below it);
3. the third parties' total likewise (then their own per-accident cap, if any), times the
   probability of third-party involvement; property damage and rescue costs after their
   deductibles and sub-limits; all convolved;
4. the size bands (cut at ``size_bands`` employee victims) are mixed with their probabilities,
   and all mass at or above the per-accident limit is put on it.

Only rounding is lost: the mean of the lattice equals the exact expected insured amount up to the
mass lumped at the limit, which is itself exact.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as sfft

from ..losses.coverage import Coverage
from ..losses.discretization import discretize
from ._accident_fit import band_index, band_labels

__all__ = ["accident_lattice"]


def _conv(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """a * b truncated to n points (no wrap-around)."""
    la, lb = len(a), len(b)
    if la * lb <= 50_000 or min(la, lb) <= 8:
        return np.convolve(a, b)[:n]
    length = sfft.next_fast_len(la + lb - 1, real=True)
    return sfft.irfft(sfft.rfft(a, length) * sfft.rfft(b, length), length)[:n]


def _shift(f: np.ndarray, amount: float, h: float, n: int) -> np.ndarray:
    """The law of (X + amount) for X on the lattice: the atom is split to keep the mean."""
    pos = amount / h
    j = math.floor(pos + 1e-9)
    frac = max(pos - j, 0.0)
    if frac < 1e-9:
        frac = 0.0
    out = np.zeros(n)
    for shift, w in ((j, 1.0 - frac), (j + 1, frac)):
        if w == 0 or shift >= n:
            continue
        m = min(len(f), n - shift)
        out[shift:shift + m] += w * f[:m]
    return out


def _cost(law, deductible: float, limit: float, h: float, n: int) -> np.ndarray:
    """Lattice law of min((X - d)+, limit) for a CostLaw (zero with probability 1 - p_pos)."""
    out = np.zeros(min(n, math.ceil(limit / h) + 2) if limit > 0 else 1)
    out[0] = 1.0
    if law is None or law.sev is None or law.p_pos == 0 or limit <= 0:
        return out
    pts = len(out)
    covered = Coverage(deductible=deductible, limit=deductible + limit).severity(law.sev)
    f = discretize(covered, step=h, n=max(pts, 2), method="unbiased")[:pts]
    out = law.p_pos * f
    out[0] += 1.0 - law.p_pos
    return out


def _medical(params, cov, h: float, n: int) -> dict:
    """Lattice laws of the medical payout by outcome (the same for every band and role)."""
    return {o: _cost(params.medical[o].value, cov.medical_deductible, cov.medical_per_person, h, n)
            for o in ("death", "disability", "medical")}


def _victim(params, role: str, band: str, cov, liability: float, h: float, n: int, med: dict):
    """Lattice law of one victim's payout (scheduled amount + medical payout)."""
    p = params.outcome[(role, band)].value
    grades = params.grades.value
    per = cov.third_party_per_person_limit if role == "third_party" else cov.per_person
    shares = np.asarray(cov.disability_shares, dtype=float)
    out = np.zeros(n)
    out += p[0] * _shift(med["death"], min(liability, per), h, n)
    for g in range(10):
        if grades[g] > 0 and p[1] > 0:
            amount = min(liability * (10 - g) / 10.0, per * shares[g])
            out += p[1] * grades[g] * _shift(med["disability"], amount, h, n)
    out[: len(med["medical"])] += p[2] * med["medical"][:n]
    return out


def _compound(pk: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """Σ_k p_k Y^{*k} truncated to n points.

    Two exact ways, the cheaper one is used. When the whole support of the compound (kmax
    times that of Y) fits in a moderate FFT, the sum is evaluated once on the spectrum, by
    Horner's scheme on the transform of Y (nothing wraps around: the transform is longer than
    the support). Otherwise Horner's scheme runs on the lattice, ``p_0 + Y * (p_1 + Y * (...))``,
    each product by FFT and cut back to n points (exact below n: every part is >= 0).
    """
    kmax = len(pk) - 1
    while kmax > 0 and pk[kmax] == 0:
        kmax -= 1
    acc = np.zeros(n)
    acc[0] = pk[kmax]
    if kmax == 0:
        return acc
    nz = np.flatnonzero(y[:n])
    m = int(nz[-1]) + 1 if nz.size else 1
    y = y[:m]
    full = sfft.next_fast_len(kmax * (m - 1) + 1, real=True)
    length = sfft.next_fast_len(min(n, kmax * (m - 1) + 1) + m - 1, real=True)
    # work in units of one transform of `length`: Horner on the lattice costs 2 transforms per
    # count; on the spectrum 2 transforms of `full` and one complex multiply-add per count
    cost_lattice = 2.0 * kmax * length * math.log2(length)
    cost_spectrum = 2.0 * full * math.log2(full) + 3.0 * kmax * full
    if cost_spectrum < cost_lattice:
        yhat = sfft.rfft(y, full)
        shat = np.full_like(yhat, pk[kmax])
        for k in range(kmax - 1, -1, -1):
            shat *= yhat
            shat += pk[k]
        out = sfft.irfft(shat, full)[:n]
        return np.concatenate([out, np.zeros(n - len(out))]) if len(out) < n else out
    yhat = sfft.rfft(y, length)
    size = 1
    for k in range(kmax - 1, -1, -1):
        size = min(n, size + m - 1)
        acc[:size] = sfft.irfft(sfft.rfft(acc, length) * yhat, length)[:size]
        acc[0] += pk[k]
    return acc


def _count_pmf(count, kmax: int, p0: float) -> np.ndarray:
    pk = (1.0 - p0) * count.pmf_array(kmax) if count is not None else np.zeros(kmax + 1)
    pk[0] = p0 if count is not None else 1.0
    return pk


def _band_pmfs(params, edges, kmax):
    """Employee-count pmf restricted to each band, and the band probabilities (the count tail
    beyond kmax is given to the last band's weight, so the weights sum to 1)."""
    p0 = params.p_no_employee.value
    pk = _count_pmf(params.count.value, kmax, p0)
    idx = band_index(np.arange(kmax + 1), edges)
    labels = band_labels(edges)
    out = {}
    for i, label in enumerate(labels):
        part = np.where(idx == i, pk, 0.0)
        mass = float(part.sum())
        w = mass if i < len(labels) - 1 else 1.0 - float(pk[idx < i].sum())
        if w > 0 and mass > 0:
            out[label] = (part / mass, w)
    return out


def plan_grid(params, cov, n: int, liability: float):
    """(step, points, upper, count tail) for the lattice: upper = min(limit, practical bound)."""
    cap = cov.per_accident_limit
    count = params.count.value
    k_e = count.upper(1e-13) if count is not None else 0
    per_victim = max(cov.per_person, cov.third_party_per_person_limit) + cov.medical_per_person
    per_victim = min(per_victim, max(liability, 0.0) + cov.medical_per_person)
    k_t = 0
    for band in params.tp_count:
        c = params.tp_count.get(band)
        if c is not None and c.value is not None:
            k_t = max(k_t, c.value.upper(1e-13))
    tp_max = k_t * per_victim
    if cov.third_party_per_accident is not None:
        tp_max = min(tp_max, cov.third_party_per_accident)
    bound = k_e * per_victim + tp_max + cov.third_party_property + cov.rescue_limit
    upper = min(cap, bound)
    if upper <= 0:
        return 1.0, 1, 0.0, k_e
    return upper / (n - 1), n, upper, k_e


def accident_lattice(params, cov, liability: float, edges, n: int = 2**14 + 1):
    """Probabilities of the insured loss of one accident on the lattice, and the part means.

    Returns ``(h, probs, info)``; ``info`` has ``cap_on_grid`` (whether the last point is the
    per-accident limit), ``beyond`` (mass lumped on the last point), ``part_means`` (expected
    insured amount of each part before the per-accident limit).
    """
    h, n, upper, k_e = plan_grid(params, cov, n, liability)
    if upper <= 0:
        return h, np.array([1.0]), {"cap_on_grid": True, "beyond": 0.0,
                                    "part_means": dict.fromkeys(("employees", "third_parties",
                                                                 "property", "rescue"), 0.0)}
    bands = _band_pmfs(params, edges, k_e)
    total = np.zeros(n)
    x = h * np.arange(n)
    means = dict.fromkeys(("employees", "third_parties", "property", "rescue"), 0.0)
    med = _medical(params, cov, h, n)
    for band, (pk, w) in bands.items():
        if w <= 0:
            continue
        y_emp = _victim(params, "employee", band, cov, liability, h, n, med)
        emp = _compound(pk, y_emp, n)
        q = params.p_tp[band].value
        tpc = params.tp_count[band].value
        tp = np.zeros(n)
        tp[0] = 1.0
        if q > 0 and tpc is not None:
            y_tp = _victim(params, "third_party", band, cov, liability, h, n, med)
            kt = tpc.upper(1e-13)
            inner = _compound(np.concatenate([[0.0], tpc.pmf_array(kt)[1:]]), y_tp, n)
            if cov.third_party_per_accident is not None:
                inner = _cap(inner, cov.third_party_per_accident, h)
            tp = q * inner
            tp[0] += 1.0 - q
        prop = _cost(params.prop[band].value, cov.property_deductible, cov.third_party_property,
                     h, n)
        resc = _cost(params.rescue[band].value, cov.rescue_deductible, cov.rescue_limit, h, n)
        for name, arr in (("employees", emp), ("third_parties", tp), ("property", prop),
                          ("rescue", resc)):
            means[name] += w * float((x[: len(arr)] * arr[:n]).sum())
        part = _conv(_conv(_conv(emp, tp, n), prop, n), resc, n)
        total[: len(part)] += w * part
    # FFT rounding leaves |noise| ~ 1e-17 where the probability is 0
    total = np.where(np.abs(total) < 1e-14, 0.0, total)
    beyond = 1.0 - float(total.sum())
    total[-1] += beyond
    cap_on_grid = math.isclose(upper, cov.per_accident_limit, rel_tol=1e-12)
    return h, total, {"cap_on_grid": cap_on_grid, "beyond": beyond, "part_means": means}


def _cap(f: np.ndarray, cap: float, h: float) -> np.ndarray:
    """Law of min(X, cap): the mass at or above ``cap`` moved onto it (split if off-lattice)."""
    j = cap / h
    lo = math.floor(j + 1e-9)
    if lo >= len(f) - 1:
        return f
    out = f.copy()
    out[lo + 1:] = 0.0
    above = float(f[lo + 1:].sum())
    if j - lo < 1e-9:
        out[lo] += above
        return out
    frac = j - lo  # place the lump at cap by splitting it between lo and lo + 1 (mean kept)
    out[lo] += above * (1 - frac)
    out[lo + 1] = above * frac
    return out
