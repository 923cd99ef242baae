"""The event-driven engine: one block of simulations run over the years of a scheme.

Per year and block of ``BLOCK`` simulations:

1. **price** every enterprise from last year's record: the year-1 premium comes from the history;
   later years change only enterprises whose record or credit grade differs from a clean record
   (sparse), and the revenue-neutral off-balance correction is recomputed per simulation;
2. **fund** prevention with the scenario's planned spend (the effect is in the acceptance rates);
3. **draw accidents**: each simulation's number of *candidate* accidents is Poisson with the book's
   rate before prevention (times a common gamma shock), the candidates are spread over enterprises
   in proportion to their rates by sorted uniforms (exponential spacings), so every simulation's
   accidents come out ordered by enterprise and no sort is ever needed; a candidate happens with
   the enterprise's prevention-reduced share (thinning: prevention removes accidents, it never
   moves them, so scenarios keep common random numbers);
4. **grade and cost** each accident by picking an accident of its sector from the bank
   (:class:`~safeins.simulation.spec.AccidentBank`), then apply the policy: rescue sub-limit,
   per-accident limit (per person × headcount), the annual aggregate per enterprise;
5. **update** records and credit grades (downgrades after fatal accidents, migration events from the
   transition matrix, drift), sparse: only enterprises with an event are stored.

Cost grows with the number of accidents, not with enterprises × simulations. Random streams are
keyed by (seed, block, year, purpose), never by the chunk or the worker, so a run gives the same
numbers whatever the chunk size, worker count or backend; the scenario is not in the key, so all
scenarios share their random numbers.

>>> BLOCK
50
"""

from __future__ import annotations

import functools

import numpy as np

from ._minimum import MinimumPremium
from .spec import Effects, EngineSpec

__all__ = ["BLOCK", "PER_YEAR", "run_block", "run_blocks"]

#: simulations per block: the unit of random streams (chunks are groups of blocks)
BLOCK = 50
#: guide-table buckets per enterprise (more: fewer search steps, more memory)
GUIDE = 4
_COUNTS, _ACCIDENTS, _BANK, _MIGRATION, _DRIFT, _DESTINATION = range(6)

#: per simulation and year results of a block
PER_YEAR = ("premium", "claims", "xl_recovery", "accidents", "deaths", "avoided_accidents",
            "avoided_deaths", "fund_spent", "fatal_accidents")


def _stream(seed_key, block: int, year: int, purpose: int) -> np.random.Generator:
    entropy, spawn = seed_key
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(*spawn, block, year, purpose)))


def _sorted_uniforms(rng, counts: np.ndarray):
    """For each simulation s, ``counts[s]`` sorted uniforms (exponential spacings), concatenated;
    and the simulation of each."""
    bs = len(counts)
    seg = counts + 1
    e = rng.standard_exponential(int(seg.sum()))
    cs = np.cumsum(e)
    ends = np.cumsum(seg) - 1
    base = np.zeros(bs)
    base[1:] = cs[ends[:-1]]
    total = cs[ends] - base
    sim_all = np.repeat(np.arange(bs), seg)
    keep = np.ones(len(e), dtype=bool)
    keep[ends] = False
    sim = sim_all[keep]
    u = (cs[keep] - base[sim]) / total[sim]
    return u, sim


def _merge(a, b):
    """Sorted distinct union of two sorted key arrays (a merge: timsort sees two runs)."""
    if len(b) == 0:
        return a
    if len(a) == 0:
        return b
    c = np.concatenate([a, b])
    c.sort(kind="stable")
    keep = np.ones(len(c), dtype=bool)
    keep[1:] = c[1:] != c[:-1]
    return c[keep]


def _find(keys, needles):
    """Positions of ``needles`` in sorted ``keys`` and whether each is there."""
    if len(keys) == 0:
        return np.zeros(len(needles), np.int64), np.zeros(len(needles), dtype=bool)
    pos = np.searchsorted(keys, needles)
    np.minimum(pos, len(keys) - 1, out=pos)
    return pos, keys[pos] == needles


def _lookup(keys, values, needles, default):
    """values at ``needles`` in sorted ``keys`` (``default`` where absent)."""
    if len(keys) == 0:
        return np.broadcast_to(default, needles.shape).copy(), np.zeros(len(needles), dtype=bool)
    pos = np.minimum(np.searchsorted(keys, needles), len(keys) - 1)
    hit = keys[pos] == needles
    return np.where(hit, values[pos], default), hit


class _Year:
    """Per-year, per-scenario arrays the loop reads (cumulative candidate weights)."""

    def __init__(self, eff: Effects, y: int):
        w = eff.weights[y]
        self.w = w
        self.cum = np.cumsum(w)
        self.total = float(self.cum[-1]) if len(w) else 0.0
        self.lo = self.cum - w
        # the part of each enterprise's interval where a candidate happens (all of it: inf, so
        # that rounding at the interval's end never drops an accident)
        self.keep = np.where(eff.accept[y] >= 1.0, np.inf, w * eff.accept[y])
        self.thin = bool(np.any(eff.accept[y] < 1.0))
        self.severity = eff.severity[y]
        self.has_severity = bool(np.any(eff.severity[y] != 1.0))
        self.covered = eff.covered[y]
        self.rescue = eff.rescue[y]
        # a guide table (Chen and Asau's indexed search): bucket k of GUIDE * n equal slices of
        # [0, total) starts the search at the first enterprise whose interval reaches into it
        self.m = GUIDE * max(len(w), 1)
        edges = np.arange(self.m) * (self.total / self.m)
        self.guide = np.minimum(np.searchsorted(self.cum, edges, side="right"), max(len(w) - 1, 0))

    def locate(self, u: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The enterprise of each candidate at position ``x = u * total`` (``cum[i-1] <= x < cum[i]``)."""
        ent = self.guide[np.minimum((u * self.m).astype(np.int64), self.m - 1)]
        last = len(self.cum) - 1
        todo = np.flatnonzero(self.cum[ent] <= x)
        while len(todo):   # a few steps: a bucket holds few interval ends
            ent[todo] += 1
            todo = todo[(self.cum[ent[todo]] <= x[todo]) & (ent[todo] < last)]
        return ent


def run_block(spec: EngineSpec, eff: Effects, seed_key, block: int, n_active: int = BLOCK,
              years_cache=None, keep_state: bool = False) -> dict:
    """Simulate one block (simulations ``block*BLOCK`` .. ``+n_active``); returns arrays with the
    simulations first: per-year results (n, years), ``by_grade_*`` (n, years, 4), ``by_sector_*``
    (n, years, sectors) and ``tracked_*`` (n, years, tracked).

    ``keep_state=True`` adds ``state``: per year, the record each next premium is priced from
    (keys ``simulation * n + enterprise``, worst grade level 1..4, accident count, deaths) and the
    credit grades that differ from the base (keys, grade 0..3); for checks against ``Tariff.price``.
    """
    book, fl, bank = spec.book, spec.floating, spec.bank
    n, Y, bs = book.n, spec.years, int(n_active)
    S = len(book.sectors)
    T = len(eff.track)
    yrs = years_cache or [_Year(eff, y) for y in range(Y)]
    out = {k: np.zeros((bs, Y)) for k in PER_YEAR}
    for k in ("accidents", "deaths"):
        out[f"by_grade_{k}"] = np.zeros((bs, Y, 4))
    for k in ("premium", "claims", "accidents", "deaths"):
        out[f"by_sector_{k}"] = np.zeros((bs, Y, S))
    out["tracked_premium"] = np.zeros((bs, Y, T))
    out["tracked_claims"] = np.zeros((bs, Y, T))
    track = np.asarray(eff.track, dtype=np.int64)

    B = book.base_premium
    f0 = fl.factor(np.arange(n), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64),
                   book.credit)
    Bf0 = B * f0
    T0 = float(Bf0.sum())
    sumB = float(B.sum())
    # the minimum premium applies to the final premium, after floating and the off-balance
    mins = book.min_premium if book.min_premium is not None and np.any(book.min_premium > 0) else None
    if mins is not None:
        minimum = MinimumPremium(Bf0, mins, book.sector, S)
        goal = float(np.maximum(B, mins).sum())
    sec_Bf0 = np.bincount(book.sector, Bf0, minlength=S)
    sec_P1 = np.bincount(book.sector, book.premium_year1, minlength=S)
    rec = _empty_record()
    cr_keys = np.zeros(0, np.int64)
    cr_grade = np.zeros(0, np.int64)
    re = spec.reinsurance
    sims = np.arange(bs)
    bank_base = book.sector * bank.size
    use_credit = bool(np.any(fl.credit != 0))
    states = []

    for y in range(Y):
        yr = yrs[y]
        size = 1.0 if eff.size is None else float(eff.size[y])
        tu = 1.0 if eff.take_up is None else float(eff.take_up[y])
        ls = (1.0, 1.0, 1.0) if eff.limit_scale is None else eff.limit_scale[y]
        pal, agg, rlim = (book.per_accident_limit * ls[0], book.aggregate_limit * ls[1],
                          book.rescue_limit * ls[2])
        # ---- 1. premium from last year's record ------------------------------------------------
        if y == 0:
            prem = np.full(bs, float(book.premium_year1.sum()))
            sec_prem = np.tile(sec_P1, (bs, 1))
            tr_prem = np.tile(book.premium_year1[track], (bs, 1))
        else:
            keys = _merge(rec[0], cr_keys)
            ent, sim = keys % n, keys // n
            pos, hit = _find(rec[0], keys)
            level = np.where(hit, rec[1][pos], 0)
            count = np.where(hit, rec[2][pos], 0)
            deaths = np.where(hit, rec[3][pos], 0)
            credit = book.credit[ent]
            if len(cr_keys):
                cpos, chit = _find(cr_keys, keys)
                credit = np.where(chit, cr_grade[cpos], credit)
            f = fl.factor(ent, level, count, deaths, credit)
            if mins is None:
                d = B[ent] * f - Bf0[ent]
                floated = T0 + np.bincount(sim, d, minlength=bs)
                c = sumB / floated if fl.neutral else np.ones(bs)
                prem = floated * c
                sec_prem = (sec_Bf0 + np.bincount(sim * S + book.sector[ent], d,
                                                   minlength=bs * S).reshape(bs, S)) * c[:, None]
            else:
                g = B[ent] * f
                c = minimum.solve(sim, ent, g, goal, bs) if fl.neutral else np.ones(bs)
                prem, sec_prem = minimum.totals(c, sim, ent, g, book.sector, bs, S)
            if T:
                tk = (sims[:, None] * n + track[None, :]).ravel()
                tpos, thit = _find(keys, tk)
                ft = np.where(thit, f[tpos] if len(f) else 0.0, np.tile(f0[track], bs))
                tr_prem = (B[track][None, :] * ft.reshape(bs, T)) * c[:, None]
                if mins is not None:
                    tr_prem = np.maximum(tr_prem, mins[track][None, :])
        out["premium"][:, y] = prem * size * tu
        out["by_sector_premium"][:, y] = sec_prem * size * tu
        if T:
            out["tracked_premium"][:, y] = tr_prem * tu
        # ---- 2. prevention fund ------------------------------------------------------------------
        out["fund_spent"][:, y] = eff.fund_spend[y] * size * tu
        # ---- 3. accidents ------------------------------------------------------------------------
        rng = _stream(seed_key, block, y, _COUNTS)
        u0 = rng.random(BLOCK)
        if eff.common_cv > 0:
            from scipy.special import gammaincinv

            a = 1.0 / eff.common_cv**2
            shock = gammaincinv(a, u0) / a
        else:
            shock = np.ones(BLOCK)
        counts = rng.poisson(yr.total * size * shock)[:bs]
        u, sim = _sorted_uniforms(_stream(seed_key, block, y, _ACCIDENTS), counts)
        ub = _stream(seed_key, block, y, _BANK).random(len(u))
        x = u * yr.total
        ent = yr.locate(u, x)
        if yr.thin:
            # the position of x inside its enterprise's interval is a fresh uniform: thinning
            # needs no third random number
            miss = (x - yr.lo[ent]) >= yr.keep[ent]
            if miss.any():
                jm = bank_base[ent[miss]] + (ub[miss] * bank.size).astype(np.int64)
                out["avoided_accidents"][:, y] = np.bincount(sim[miss], minlength=bs)
                out["avoided_deaths"][:, y] = np.bincount(sim[miss], bank.deaths[jm], minlength=bs)
                happen = ~miss
                sim, ent, ub = sim[happen], ent[happen], ub[happen]
        j = bank_base[ent] + (ub * bank.size).astype(np.int64)
        grade = bank.grade[j]
        deaths = bank.deaths[j]
        amount = yr.covered[j] + np.minimum(yr.rescue[j], rlim[ent])
        if yr.has_severity:
            amount *= yr.severity[ent]
        np.minimum(amount, pal[ent], out=amount)
        for (ey, e_ent, e_deaths, _e_ser, e_grade, e_cov, e_resc) in eff.extra:
            if ey != y:
                continue
            keys_now = sim * n + ent
            at = np.searchsorted(keys_now, sims * n + e_ent, side="right")
            amt = min((e_cov[y] + min(e_resc[y], rlim[e_ent])) * yr.severity[e_ent], pal[e_ent])
            sim = np.insert(sim, at, sims)
            ent = np.insert(ent, at, e_ent)
            grade = np.insert(grade, at, e_grade)
            deaths = np.insert(deaths, at, e_deaths)
            amount = np.insert(amount, at, amt)
        m = len(sim)
        keys = sim * n + ent
        new = np.ones(m, dtype=bool)
        new[1:] = keys[1:] != keys[:-1]
        starts = np.flatnonzero(new)
        # ---- 4. the policy: annual aggregate limit per enterprise ----------------------------
        if len(starts) < m:
            tot = np.add.reduceat(amount, starts) if m else np.zeros(0)
            capped = np.minimum(tot, agg[ent[starts]])
            ratio = np.divide(capped, tot, out=np.zeros_like(tot), where=tot > 0)
            amount = amount * ratio[np.cumsum(new) - 1]
        else:
            amount = np.minimum(amount, agg[ent])
        if tu != 1.0:
            amount *= tu
        if re.xl_limit > 0:
            xl = np.clip((1 - re.quota_share) * amount - re.xl_retention, 0.0, re.xl_limit)
            out["xl_recovery"][:, y] = np.bincount(sim, xl, minlength=bs)
        # one key (simulation, grade, sector) gives every count by grade and by sector
        cell = (sim * 4 + grade) * S + book.sector[ent]
        shape = (bs, 4, S)
        n_acc = np.bincount(cell, minlength=bs * 4 * S).reshape(shape)
        n_dead = np.bincount(cell, deaths, minlength=bs * 4 * S).reshape(shape)
        paid = np.bincount(cell, amount, minlength=bs * 4 * S).reshape(shape)
        out["accidents"][:, y] = n_acc.sum(axis=(1, 2))
        out["deaths"][:, y] = n_dead.sum(axis=(1, 2))
        out["claims"][:, y] = paid.sum(axis=(1, 2))
        out["by_grade_accidents"][:, y] = n_acc.sum(axis=2)
        out["by_grade_deaths"][:, y] = n_dead.sum(axis=2)
        out["by_sector_accidents"][:, y] = n_acc.sum(axis=1)
        out["by_sector_deaths"][:, y] = n_dead.sum(axis=1)
        out["by_sector_claims"][:, y] = paid.sum(axis=1)
        fatal = deaths >= spec.downgrade_min_deaths
        out["fatal_accidents"][:, y] = np.bincount(sim[fatal], minlength=bs)
        if T:
            csum = np.concatenate([[0.0], np.cumsum(amount)])
            tk = sims[:, None] * n + track[None, :]
            lo = np.searchsorted(keys, tk, side="left")
            hi = np.searchsorted(keys, tk, side="right")
            out["tracked_claims"][:, y] = csum[hi] - csum[lo]
        # ---- 5. records and credit grades for next year --------------------------------------
        if y + 1 < Y:
            rec = _record(keys, starts, grade, deaths, m)
            fatal_level = (np.maximum.reduceat(np.where(fatal, grade + 1, 0), starts) if m
                           else np.zeros(0, np.int64))
            if use_credit:   # grades move premiums only through a rule that reads them
                cr_keys, cr_grade = _credit(spec, eff, seed_key, block, y, bs, cr_keys, cr_grade,
                                            rec[0], fatal_level)
            if keep_state:
                states.append((rec, (cr_keys, cr_grade)))
    if keep_state:
        out["state"] = states
    return out


def _empty_record():
    z = np.zeros(0, np.int64)
    return (z, z, z, z)


def _record(keys, starts, grade, deaths, m):
    """(keys, worst grade level 1..4, count, deaths) per (simulation, enterprise) with accidents."""
    if m == 0:
        return _empty_record()
    count = np.diff(np.append(starts, m))
    return (keys[starts], np.maximum.reduceat(grade, starts) + 1, count,
            np.add.reduceat(deaths, starts))


def _events(rng, n: int, rate: float, bs: int):
    """Sorted, distinct (simulation, enterprise) keys hit by events at ``rate`` per enterprise-year,
    and a uniform residual for each."""
    counts = rng.poisson(n * rate, size=BLOCK)[:bs]
    u, sim = _sorted_uniforms(rng, counts)
    pos = u * n
    ent = np.minimum(pos.astype(np.int64), n - 1)
    keys = sim * n + ent
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], (pos - ent)[first]


def _credit(spec, eff, seed_key, block, y, bs, cr_keys, cr_grade, acc_keys, fatal_level):
    """Next year's credit grades (only those that differ from the base grade are kept)."""
    n = spec.book.n
    base = spec.book.credit
    parts = [cr_keys, acc_keys[fatal_level > 0]]
    mig = drift = None
    P = spec.transition
    if P is not None:
        leave = 1.0 - np.diag(P)
        top = float(leave.max())
        if top > 0:
            rng = _stream(seed_key, block, y, _MIGRATION)
            mk, mv = _events(rng, n, top, bs)
            # destinations from their own stream: the prefix of simulations stays the same
            # whatever the number of simulations
            dest_u = _stream(seed_key, block, y, _DESTINATION).random(len(mk))
            mig = (mk, mv, dest_u, leave / top)
            parts.append(mk)
    if eff.drift > 0:
        dk, _ = _events(_stream(seed_key, block, y, _DRIFT), n, eff.drift, bs)
        drift = dk
        parts.append(dk)
    keys = functools.reduce(_merge, parts)
    cur, _ = _lookup(cr_keys, cr_grade, keys, base[keys % n])
    if mig is not None:
        mk, mv, u3, ratio = mig
        pos = np.searchsorted(keys, mk)
        g = cur[pos]
        move = mv < ratio[g]
        off = P * (1 - np.eye(4))
        cum = np.cumsum(off / np.where(off.sum(1) > 0, off.sum(1), 1.0)[:, None], axis=1)
        dest = np.minimum((u3[:, None] >= cum[g]).sum(axis=1), 3)
        cur[pos[move]] = dest[move]
    if drift is not None:
        pos = np.searchsorted(keys, drift)
        cur[pos] = np.minimum(cur[pos] + 1, 3)
    fk = acc_keys[fatal_level > 0]
    if len(fk):
        pos = np.searchsorted(keys, fk)
        cur[pos] = np.minimum(cur[pos] + spec.downgrade[fatal_level[fatal_level > 0] - 1], 3)
    moved = cur != base[keys % n]
    return keys[moved], cur[moved]


def run_blocks(spec: EngineSpec, eff: Effects, seed_key, blocks, n_sims: int) -> dict:
    """Run consecutive blocks and concatenate their results (simulations in order)."""
    yrs = [_Year(eff, y) for y in range(spec.years)]
    parts = [run_block(spec, eff, seed_key, b, min(BLOCK, n_sims - b * BLOCK), yrs) for b in blocks]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
