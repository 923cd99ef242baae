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

Steps 3–4 (and the repricing of step 1 when minimum premiums apply) run in a *kernel*: compiled with
numba (``safeins.simulation._kernel``, imported only here and only when asked for) or its vectorised
numpy twin (``_accidents_numpy``, ``MinimumPremium``); both read the same random numbers in the same
order and add in the same order, so they give the same numbers (see :func:`kernel_function`).

Cost grows with the number of accidents, not with enterprises × simulations. Random streams are
keyed by (seed, block, year, purpose), never by the chunk or the worker, so a run gives the same
numbers whatever the chunk size, worker count or backend; the scenario is not in the key, so all
scenarios share their random numbers.

>>> BLOCK
50
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
import weakref
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .._base.threads import available_cores
from ..errors import Problem, Problems, ValidationError
from ._minimum import MinimumPremium
from .spec import Effects, EngineSpec

__all__ = ["BLOCK", "KERNELS", "PER_YEAR", "Kernel", "free_workspaces", "join_blocks", "kernel_function",
           "run_block", "run_blocks", "submit_blocks"]

#: simulations per block: the unit of random streams (chunks are groups of blocks)
BLOCK = 50
#: guide-table buckets per enterprise (more: fewer search steps, more memory)
GUIDE = 4
#: the tables of a year's accident step (``_Year.tables``). Every simulation reads the per-enterprise
#: ones in enterprise order, touching nearly every cache line, so their size sets the cost: placing and
#: thinning read 16 bytes an enterprise (``ctab``), the rest one code (``attr``) whose limit class
#: indexes a small table of distinct limits (``combos``; a book has few: they follow headcounts)
ENT_TABLES = {"ctab": ("interval_end", "threshold"), "attr": ("limit_class", "sector << 32"),
              "combos": ("rescue_limit", "per_accident_limit", "severity", "aggregate_limit"),
              "track": ("tracked index or -1",)}
#: the tables of the compiled repricing (``_Prepared.ptab``, ``pclass`` and ``f_rec``): per enterprise
#: its base premium and price class; per class (the distinct rows of static floating factor, base
#: credit grade, clean-record factor f0, minimum premium and sector) the class's part of a record's
#: factor (static with the base grade's credit factor), f0, the minimum, the sector and the static
#: factor (for records whose grade moved); ``f_rec`` is the record's part (grade level x accident
#: count x deaths)
PRICE_COLUMNS = {"ptab": ("base_premium", "price_class"),
                 "pclass": ("class_factor", "clean_factor", "min_premium", "sector", "static")}
#: the bank tables of a year: the amounts (``bamt``) and one code (``bcode = deaths * 4 + grade``)
BANK_COLUMNS = {"bamt": ("covered", "rescue"), "bcode": ("deaths * 4 + grade",)}
#: the records an accident step writes (``_kernel.accidents``' ``records``): none (the last year);
#: only for its own pricing (each simulation's over the previous one's, the columns the rule reads);
#: all, for next year's pricing, the credit grades, tracked enterprises or a kept state
RECORDS = {"none": 0, "pricing": 1, "all": 2}
#: the accident step: compiled with numba, vectorised numpy, or numba when it is installed
KERNELS = ("auto", "numba", "numpy")
_COUNTS, _ACCIDENTS, _BANK, _MIGRATION, _DRIFT, _DESTINATION = range(6)

#: per simulation and year results of a block
PER_YEAR = ("premium", "claims", "xl_recovery", "accidents", "deaths", "avoided_accidents",
            "avoided_deaths", "fund_spent", "fatal_accidents")


def _seed_sequence(seed_key, block: int, year: int, purpose: int) -> np.random.SeedSequence:
    """The seed sequence of one stream: keyed by (seed, block, year, purpose), never by the chunk."""
    entropy, spawn = seed_key
    return np.random.SeedSequence(entropy, spawn_key=(*spawn, block, year, purpose))


def _stream(seed_key, block: int, year: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng(_seed_sequence(seed_key, block, year, purpose))


def _sorted_uniforms(rng, counts: np.ndarray):
    """For each simulation s, ``counts[s]`` sorted uniforms (exponential spacings), concatenated;
    and the simulation of each."""
    return _spaced_uniforms(rng.standard_exponential(int(counts.sum()) + len(counts)), counts)


def _spaced_uniforms(e: np.ndarray, counts: np.ndarray):
    """:func:`_sorted_uniforms` from the exponential spacings ``e`` (``counts[s] + 1`` for each s)."""
    bs = len(counts)
    seg = counts + 1
    cs = np.cumsum(e)
    ends = np.cumsum(seg) - 1
    base = np.zeros(bs)
    base[1:] = cs[ends[:-1]]
    total = cs[ends] - base
    sim_all = np.repeat(np.arange(bs), seg)
    keep = np.ones(len(e), dtype=bool)
    keep[ends] = False
    sim = sim_all[keep]
    u = (cs[keep] - base[sim]) * (1.0 / total)[sim]   # as the compiled step: one division a simulation
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
    pos, hit = _find(keys, needles)
    if len(keys) == 0:
        return np.broadcast_to(default, needles.shape).copy(), hit
    return np.where(hit, values[pos], default), hit


def _row_classes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``rows`` (sorted) and each row's class: ``classes[cls] == rows``,
    exactly. One lexicographic sort (``np.unique(axis=0)`` took ~100 ms per table at Ningbo
    scale: it sorts rows as opaque records).

    >>> classes, cls = _row_classes(np.array([[2.0, 1.0], [1.0, 5.0], [2.0, 1.0]]))
    >>> classes.tolist(), cls.tolist()
    ([[1.0, 5.0], [2.0, 1.0]], [1, 0, 1])
    """
    n = len(rows)
    if n == 0:
        return rows.copy(), np.zeros(0, np.int64)
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    new = np.ones(n, dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    cls = np.empty(n, np.int64)
    cls[order] = np.cumsum(new) - 1
    return np.ascontiguousarray(ordered[new]), cls


class _Year:
    """Per-year, per-scenario arrays the loop reads (cumulative candidate weights)."""

    def __init__(self, eff: Effects, y: int):
        w = eff.weights[y]
        self.w = w
        self.cum = np.cumsum(w)
        self.total = float(self.cum[-1]) if len(w) else 0.0
        self.thin = bool(np.any(eff.accept[y] < 1.0))
        self.severity = eff.severity[y]
        self.covered = eff.covered[y]
        self.rescue = eff.rescue[y]
        # a guide table (Chen and Asau's indexed search): bucket k of GUIDE * n equal slices of
        # [0, total) starts the search at the first enterprise whose interval reaches into it
        self.m = GUIDE * max(len(w), 1)
        edges = np.arange(self.m) * (self.total / self.m)
        self.guide = np.minimum(np.searchsorted(self.cum, edges, side="right"),
                                max(len(w) - 1, 0)).astype(np.int32)
        # what ``tables`` needs from the scenario (not the scenario itself: the per-worker cache of
        # prepared years must not keep a scenario alive, see ``_prepared``)
        self.y, self.accept = y, eff.accept[y]
        self.limit_scale = None if eff.limit_scale is None else eff.limit_scale[y]
        self.track, self.extra = eff.track, eff.extra
        self._tables = None

    def tables(self, spec: EngineSpec):
        """The accident step's tables (:data:`ENT_TABLES`, :data:`BANK_COLUMNS`) and the year's
        fixed accidents, built once: ``(ctab, attr, combos, track, bamt, bcode, extras)``."""
        if self._tables is None:
            y, book, bank = self.y, spec.book, spec.bank
            n = book.n
            ls = (1.0, 1.0, 1.0) if self.limit_scale is None else self.limit_scale
            pal, agg, rlim = (book.per_accident_limit * ls[0], book.aggregate_limit * ls[1],
                              book.rescue_limit * ls[2])
            track_idx = np.full(n, -1, np.int64)
            track_idx[np.asarray(self.track, dtype=np.int64)] = np.arange(len(self.track))
            # a candidate at x happens when x < thr: the start of its interval plus the accepted part
            thr = np.where(self.accept >= 1.0, np.inf, (self.cum - self.w) + self.w * self.accept)
            ctab = np.ascontiguousarray(np.column_stack((self.cum, thr)))
            # the limits an enterprise's accidents read, by class: exact values, each distinct row once
            combos, cls = _row_classes(np.column_stack((rlim, pal, self.severity, agg)))
            attr = cls | (book.sector.astype(np.int64) << 32)
            bamt = np.ascontiguousarray(np.column_stack((self.covered, self.rescue)))
            bcode = (bank.deaths.astype(np.int64) * 4 + bank.grade.astype(np.int64)).astype(np.int32)
            # the year's fixed accidents, in enterprise order (stable: the scenario's order is kept)
            xs = sorted((e for e in self.extra if e[0] == y), key=lambda e: e[1])
            extras = (np.array([e[1] for e in xs], np.int64), np.array([e[4] for e in xs], np.int64),
                      np.array([e[2] for e in xs], np.int64),
                      np.array([min((e[5][y] + min(e[6][y], rlim[e[1]])) * self.severity[e[1]],
                                    pal[e[1]]) for e in xs], dtype=float))
            self._tables = (ctab, attr, np.ascontiguousarray(combos), track_idx, bamt, bcode, extras)
        return self._tables

    def locate(self, u: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The enterprise of each candidate at position ``x = u * total`` (``cum[i-1] <= x < cum[i]``)."""
        return _locate(self.cum, self.guide, u, x)


def _share_equal_tables(years: list[_Year]) -> None:
    """Make consecutive years whose tables are equal share one copy (a scenario without growth or
    indexation has the same tables every year). The accident step reads them at scattered places,
    and five years of a Ningbo-scale book (7 MB of tables each) do not fit the processor's last
    cache where one does: random bank reads measured 2.1 against 9.8 ns over 4 and 20 MB.

    >>> w = np.ones((2, 3))
    >>> eff = Effects(name="s", weights=w, accept=w, severity=w, fund_spend=np.zeros(2),
    ...               fund_budget_share=0.0, covered=np.ones((2, 4)), rescue=np.ones((2, 4)))
    >>> years = [_Year(eff, 0), _Year(eff, 1)]
    >>> years[1].guide is years[0].guide
    False
    >>> _share_equal_tables(years)
    >>> years[1].guide is years[0].guide
    True
    """
    for before, yr in itertools.pairwise(years):   # a run of equal years shares one copy
        if np.array_equal(yr.guide, before.guide):
            yr.guide = before.guide
        if yr._tables is not None and before._tables is not None:
            yr._tables = tuple(b if isinstance(a, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
                               else a for a, b in zip(yr._tables, before._tables, strict=True))


def _locate(cum, guide, u, x):
    """Guide-table search: start in the bucket of ``u``, step right while the interval ends at or
    before ``x`` (never past the last enterprise)."""
    m = len(guide)
    ent = guide[np.minimum((u * m).astype(np.int64), m - 1)].astype(np.int64)
    last = len(cum) - 1
    todo = np.flatnonzero((ent < last) & (cum[ent] <= x))
    while len(todo):   # a few steps: a bucket holds few interval ends
        ent[todo] += 1
        todo = todo[(ent[todo] < last) & (cum[ent[todo]] <= x[todo])]
    return ent


def run_block(spec: EngineSpec, eff: Effects, seed_key, block: int, n_active: int = BLOCK,
              prepared=None, keep_state: bool = False, kernel: str = "auto") -> dict:
    """Simulate one block (simulations ``block*BLOCK`` .. ``+n_active``); returns arrays with the
    simulations first: per-year results (n, years), ``by_grade_*`` (n, years, 4), ``by_sector_*``
    (n, years, sectors) and ``tracked_*`` (n, years, tracked).

    ``keep_state=True`` adds ``state``: per year, the record each next premium is priced from
    (keys ``simulation * n + enterprise``, worst grade level 1..4, accident count, deaths) and the
    credit grades that differ from the base (keys, grade 0..3); for checks against ``Tariff.price``.
    ``kernel`` picks the accident step (see :func:`kernel_function`); the numbers do not depend on it.
    """
    with _workspace() as ws:
        return _run_block(spec, eff, seed_key, block, n_active, prepared, keep_state, kernel, ws)


def _run_block(spec, eff, seed_key, block, n_active, prepared, keep_state, kernel, ws):
    kern = kernel_function(kernel)
    pre = prepared or _Prepared(spec, eff)
    book, fl = spec.book, spec.floating
    n, Y, bs = book.n, spec.years, int(n_active)
    S = len(book.sectors)
    T = len(eff.track)
    yrs = pre.years
    out = {k: np.zeros((bs, Y)) for k in PER_YEAR}
    for k in ("accidents", "deaths"):
        out[f"by_grade_{k}"] = np.zeros((bs, Y, 4))
    for k in ("premium", "claims", "accidents", "deaths"):
        out[f"by_sector_{k}"] = np.zeros((bs, Y, S))
    out["tracked_premium"] = np.zeros((bs, Y, T))
    out["tracked_claims"] = np.zeros((bs, Y, T))
    track = np.asarray(eff.track, dtype=np.int64)

    B, f0, mins = book.base_premium, pre.f0, pre.mins
    rec = _empty_record()
    cr_keys = np.zeros(0, np.int64)
    cr_grade = np.zeros(0, np.int64)
    sims = np.arange(bs)
    use_credit = bool(np.any(fl.credit != 0))
    # the compiled step prices each simulation's records as it writes them, when nothing else moves
    # the premiums (credit grades that move are drawn after the step)
    fuse = kern.reprice is not None and pre.minimum is not None and not use_credit
    # the records next year reads: none when the step prices them and nothing else looks at them
    kept = RECORDS["pricing"] if fuse and not T and not keep_state else RECORDS["all"]
    priced = None
    states = []
    draws = _year_draws(eff, yrs, seed_key, block, bs)
    # accidents, deaths and paid claims by year, simulation, grade and sector (the accident step adds)
    cells = [np.zeros((Y, bs, 4, S)) for _ in range(3)]

    for y in range(Y):
        yr = yrs[y]
        size = 1.0 if eff.size is None else float(eff.size[y])
        tu = 1.0 if eff.take_up is None else float(eff.take_up[y])
        # ---- 1. premium from last year's record ------------------------------------------------
        if y == 0:
            prem = np.full(bs, float(book.premium_year1.sum()))
            sec_prem = np.tile(pre.sec_P1, (bs, 1))
            tr_prem = np.tile(book.premium_year1[track], (bs, 1))
        else:
            if priced is not None:   # priced by last year's accident step, record by record
                keys = rec[0]
                c, prem, sec_prem, f = priced
            else:
                keys, c, prem, sec_prem, f = _reprice(kern, spec, pre, rec, cr_keys, cr_grade, bs, T > 0, ws)
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
        counts, pos_state, bank_state = draws[y]
        rec, fatal_level, priced = _accidents(kern.accidents, spec, eff, yr, y, counts, pos_state, bank_state,
                                              tu, kept if y + 1 < Y else RECORDS["none"], out,
                                              [c[y] for c in cells], ws,
                                              pre if fuse else None)
        # ---- 5. records and credit grades for next year --------------------------------------
        if y + 1 < Y:
            if use_credit:   # grades move premiums only through a rule that reads them
                cr_keys, cr_grade = _credit(spec, eff, seed_key, block, y, bs, cr_keys, cr_grade,
                                            rec[0], fatal_level)
            if keep_state:   # copies: the records live in the workspace, reused two years on
                states.append((tuple(r.copy() for r in rec), (cr_keys, cr_grade)))
    # the cells' sums, every year at once (by simulation, grade and sector)
    for name, c in zip(("accidents", "deaths", "claims"), cells, strict=True):
        out[name][:] = c.sum(axis=(2, 3)).T
        out[f"by_sector_{name}"][:] = c.sum(axis=2).transpose(1, 0, 2)
        if name != "claims":
            out[f"by_grade_{name}"][:] = c.sum(axis=3).transpose(1, 0, 2)
    if keep_state:
        out["state"] = states
    return out


def _year_draws(eff: Effects, years: list, seed_key, block: int, bs: int) -> list:
    """Each year's candidate counts (a Poisson draw around the year's total, under the common
    shock) and the accident step's two generator states, for one block. Drawn together before the
    first year (none depends on the simulation), where Python runs with warm caches: between two
    accident steps, which evict everything, the same seeding took three times as long."""
    draws = []
    for y, yr in enumerate(years):
        size = 1.0 if eff.size is None else float(eff.size[y])
        rng = _stream(seed_key, block, y, _COUNTS)
        u0 = rng.random(BLOCK)
        if eff.common_cv > 0:
            from scipy.special import gammaincinv

            a = 1.0 / eff.common_cv**2
            shock = gammaincinv(a, u0) / a
        else:
            shock = np.ones(BLOCK)
        counts = rng.poisson(yr.total * size * shock)[:bs]
        draws.append((counts, _sfc64_state(seed_key, block, y, _ACCIDENTS),
                      _sfc64_state(seed_key, block, y, _BANK)))
    return draws


def _reprice(kern, spec, pre, rec, cr_keys, cr_grade, bs, want_f, ws):
    """Next year's premiums from this year's records and the credit grades that moved: returns the
    records' keys, each simulation's off-balance factor, premium and premium by sector, and each
    record's floating factor (the compiled kernel fills them only when ``want_f``: they serve the
    tracked enterprises)."""
    book, fl, minimum, goal, B = spec.book, spec.floating, pre.minimum, pre.goal, spec.book.base_premium
    n, S = book.n, len(book.sectors)
    if len(cr_keys):   # repriced: enterprises with a record or a credit grade moved
        keys = _merge(rec[0], cr_keys)
        pos, hit = _find(rec[0], keys)
        level = np.where(hit, rec[1][pos], 0)
        count = np.where(hit, rec[2][pos], 0)
        deaths = np.where(hit, rec[3][pos], 0)
    else:
        keys, level, count, deaths = rec
    credit = np.zeros(0, np.int64)   # empty: every record keeps its base credit grade
    if len(cr_keys):
        cpos, chit = _find(cr_keys, keys)
        credit = np.where(chit, cr_grade[cpos], book.credit[keys % n])
    if minimum is not None and kern.reprice is not None:
        # compiled: the factors, then the off-balance in one pass per Newton step
        args, (c, prem, sec_prem, f) = _pricing(spec, pre, credit, len(keys), bs, want_f, ws)
        kern.reprice(keys, level, count, deaths, n, args)
    else:
        ent, sim = keys % n, keys // n
        f = fl.factor(ent, level, count, deaths, credit if len(cr_keys) else book.credit[ent])
        if minimum is None:
            d = B[ent] * f - pre.Bf0[ent]
            floated = float(pre.Bf0.sum()) + np.bincount(sim, d, minlength=bs)
            c = float(B.sum()) / floated if fl.neutral else np.ones(bs)
            prem = floated * c
            sec_prem = (pre.sec_Bf0 + np.bincount(sim * S + book.sector[ent], d,
                                                   minlength=bs * S).reshape(bs, S)) * c[:, None]
        else:
            g = B[ent] * f
            c = minimum.solve(sim, ent, g, goal, bs) if fl.neutral else np.ones(bs)
            prem, sec_prem = minimum.totals(c, sim, ent, g, book.sector, bs, S)
    return keys, c, prem, sec_prem, f


def _pricing(spec, pre, credit, r_n, bs, want_f, ws):
    """The compiled repricing's arguments after the records (``_kernel.reprice``; ``credit`` per
    record, or empty), with work arrays for ``r_n`` records, and its outputs: each simulation's
    off-balance factor, premium and premium by sector, and the records' factors (when ``want_f``)."""
    fl, minimum = spec.floating, pre.minimum
    S = len(spec.book.sectors)
    f = ws.get("factors", r_n if want_f else 0)
    c, prem, sec_prem = np.empty(bs), np.empty(bs), np.empty((bs, S))
    args = (credit, pre.ptab, pre.pclass, pre.f_rec, np.asarray(fl.credit, float),
            fl.combine == "multiplicative", float(fl.floor), float(fl.cap), minimum.all.b, minimum.all.cg,
            minimum.all.cm, *minimum.flat, minimum.boff, S, float(pre.goal), bool(fl.neutral), f, c, prem,
            sec_prem, ws.get("g", r_n), ws.get("g0", r_n), ws.get("m", r_n), ws.get("sec", r_n, np.int64),
            ws.get("near", r_n, np.int64))
    return args, (c, prem, sec_prem, f)


def _no_pricing(n_sectors: int) -> tuple:
    """The repricing's arguments for an accident step that does not price (read by nothing; of the
    same types as :func:`_pricing`'s, so the compiled step has one signature)."""
    z, zi = np.zeros(0), np.zeros(0, np.int64)
    return (zi, np.zeros((0, 2)), np.zeros((0, 5)), np.zeros((1, 1, 1)), z, False, 0.0, 0.0, z, z, z, z, z, z,
            zi, n_sectors, 0.0, False, z, z, z, np.zeros((0, n_sectors)), z, z, z, zi, zi)


class _Workspace:
    """Large arrays a running block reuses from year to year and from block to block.

    The engine's per-year arrays (random numbers, records, repricing) run to megabytes; memory
    freshly obtained from the operating system costs a page fault per 4 KiB the first time it is
    written, which made a bulk draw ~45 % slower than into reused memory (measured: 3.2 against
    2.2 ns per uniform) and serialised threads on the kernel's page-table lock.

    >>> ws = _Workspace()
    >>> a = ws.get("x", 10); b = ws.get("x", 5)
    >>> b.base is a.base, len(b)
    (True, 5)
    """

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype=np.float64) -> np.ndarray:
        """The first ``size`` items of the array ``name`` (uninitialised), grown when too short."""
        a = self._arrays.get(name)
        if a is None or len(a) < size:
            a = np.empty(max(size, 0 if a is None else len(a) + len(a) // 4), dtype)
            self._arrays[name] = a
        return a[:size]


_SPARE: list[_Workspace] = []
_SPARE_LOCK = threading.Lock()


@contextlib.contextmanager
def _workspace():
    """A workspace for one block (one per thread at a time), returned for the next block; at most
    as many are kept as the process has cores."""
    with _SPARE_LOCK:
        ws = _SPARE.pop() if _SPARE else _Workspace()
    try:
        yield ws
    finally:
        with _SPARE_LOCK:
            if len(_SPARE) < available_cores():
                _SPARE.append(ws)


def free_workspaces() -> int:
    """Release the workspaces kept for later runs; returns the bytes freed (about 30 MB per thread
    after a Ningbo-scale run: 78,200 enterprises, ~6,800 candidate accidents a simulation-year).

    >>> import safeins as si
    >>> si.free_workspaces() >= 0
    True
    """
    with _SPARE_LOCK:
        freed = sum(a.nbytes for ws in _SPARE for a in ws._arrays.values())
        _SPARE.clear()
    return freed


def _empty_record():
    z = np.zeros(0, np.int32)
    return (np.zeros(0, np.int64), z, z, z)


class Kernel(NamedTuple):
    """The engine's compiled or vectorised steps (``reprice`` None: ``FloatingTables.factor`` and
    ``MinimumPremium`` in numpy).

    >>> k = kernel_function("numpy")
    >>> k.accidents.__name__, k.reprice
    ('_accidents_numpy', None)
    """

    name: str
    accidents: Callable
    reprice: Callable | None


def kernel_function(kernel: str = "auto") -> Kernel:
    """The steps of ``kernel``: ``"numba"`` (compiled, needs numba), ``"numpy"`` (vectorised) or
    ``"auto"`` (numba when it can be imported). Both give the same numbers.

    >>> kernel_function("numpy").name
    'numpy'
    """
    if kernel not in KERNELS:
        raise ValidationError("kernel", [Problem(None, "kernel", kernel, f"one of {', '.join(KERNELS)}")])
    if kernel != "numpy":
        try:
            from . import _kernel  # numba is imported here, on the stress path only
        except ImportError:
            if kernel == "numba":
                raise ValidationError("kernel", [Problem(
                    None, "kernel", kernel, "numba is not installed: pip install 'safeins[fast]', or "
                    "kernel='numpy' (same numbers, slower)")]) from None
        else:
            return Kernel("numba", _kernel.accidents, _kernel.reprice)
    return Kernel("numpy", _accidents_numpy, None)


def _check_indices(spec: EngineSpec, eff: Effects) -> None:
    """Raise one :class:`~safeins.errors.ValidationError` naming every array of ``spec`` and ``eff``
    whose shape or codes would send the accident step outside a table: the compiled kernels do not
    check their indices (that is part of what makes them fast), so a spec built by hand is checked
    here, once per scenario, before any simulation (tests/test_simulation.py)."""
    book, bank, Y = spec.book, spec.bank, spec.years
    n, S = book.n, len(book.sectors)
    rows = bank.size * S
    p = Problems("Engine spec")
    p.check(bool(np.all((book.sector >= 0) & (book.sector < S))), column="book.sector",
            value=f"{book.sector.min(initial=0)}..{book.sector.max(initial=0)}", rule=f"codes 0..{S - 1}")
    p.check(bool(np.all((book.credit >= 0) & (book.credit <= 3))), column="book.credit",
            value=f"{book.credit.min(initial=0)}..{book.credit.max(initial=0)}", rule="grades 0..3 (A..D)")
    for name in ("deaths", "grade"):
        a = getattr(bank, name)
        p.check(len(a) == rows, column=f"bank.{name}", value=len(a),
                rule=f"size x sectors = {bank.size} x {S} = {rows} entries")
    p.check(len(bank.grade) != rows or bool(np.all((bank.grade >= 0) & (bank.grade <= 3))),
            column="bank.grade", value="out of 0..3", rule="grade codes 0..3")
    for name, shape in (("weights", (Y, n)), ("accept", (Y, n)), ("severity", (Y, n)),
                        ("covered", (Y, rows)), ("rescue", (Y, rows))):
        a = np.shape(getattr(eff, name))
        p.check(a == shape, column=f"effects.{name}", value=a, rule=f"shape {shape} (years x "
                f"{'enterprises' if shape[1] == n else 'bank entries'})")
    for i in eff.track:
        p.check(0 <= int(i) < n, column="effects.track", value=i, rule=f"enterprise index 0..{n - 1}")
    for e in eff.extra:
        p.check(0 <= int(e[0]) < Y and 0 <= int(e[1]) < n and 0 <= int(e[4]) <= 3,
                column="effects.extra", value=e[:5],
                rule=f"(year 0..{Y - 1}, enterprise 0..{n - 1}, deaths, serious, grade 0..3, ...)")
    fl = spec.floating
    for name, size in (("grade", 5), ("credit", 4)):
        p.check(len(getattr(fl, name)) == size, column=f"floating.{name}", value=len(getattr(fl, name)),
                rule=f"{size} entries")
    for name in ("count", "deaths"):
        p.check(len(getattr(fl, name)) >= 1, column=f"floating.{name}", value=len(getattr(fl, name)),
                rule="at least 1 entry")
    p.raise_if_any()


class _Prepared:
    """What every block of a scenario shares: the years' tables, the clean-record premiums and the
    minimum premium's sorted book (built once per worker, see :func:`_prepared`)."""

    def __init__(self, spec: EngineSpec, eff: Effects):
        _check_indices(spec, eff)
        book, fl = spec.book, spec.floating
        n = book.n
        self.years = [_Year(eff, y) for y in range(spec.years)]
        for yr in self.years:   # built here, not on first use: threads share them (submit_blocks)
            yr.tables(spec)
        _share_equal_tables(self.years)
        z = np.zeros(n, np.int64)
        self.f0 = fl.factor(np.arange(n), z, z, z, book.credit)
        self.Bf0 = book.base_premium * self.f0
        S = len(book.sectors)
        self.sec_Bf0 = np.bincount(book.sector, self.Bf0, minlength=S)
        self.sec_P1 = np.bincount(book.sector, book.premium_year1, minlength=S)
        # the minimum premium applies to the final premium, after floating and the off-balance;
        # the revenue-neutral goal is then the sum of the base premiums raised to their minimums
        mins = book.min_premium
        self.mins = mins if mins is not None and np.any(mins > 0) else None
        self.minimum = self.goal = None
        if self.mins is not None:
            self.minimum = MinimumPremium(self.Bf0, self.mins, book.sector, S)
            self.goal = float(np.maximum(book.base_premium, self.mins).sum())
        self.ptab = self.pclass = self.f_rec = None
        if self.minimum is not None:   # the compiled repricing's tables (PRICE_COLUMNS)
            static = np.broadcast_to(np.asarray(fl.static, float), (n,))
            rows = np.column_stack((static, book.credit.astype(float), self.f0, self.mins,
                                    book.sector.astype(float)))
            classes, cls = _row_classes(rows)
            # a record's factor is its class's part (static and base credit grade) combined with
            # the record's part (grade level x accident count x deaths), each computed once here
            st, cr = classes[:, 0], classes[:, 1].astype(np.int64)
            lv, ct, dt = (np.asarray(a, float) for a in (fl.grade, fl.count, fl.deaths))
            if fl.combine == "multiplicative":
                class_factor = st * (1 + fl.credit[cr])
                f_rec = (1 + lv)[:, None, None] * (1 + ct)[None, :, None] * (1 + dt)[None, None, :]
            else:
                class_factor = 1.0 + st + fl.credit[cr]
                f_rec = lv[:, None, None] + ct[None, :, None] + dt[None, None, :]
            self.f_rec = np.ascontiguousarray(f_rec)
            self.pclass = np.ascontiguousarray(np.column_stack((class_factor, classes[:, 2], classes[:, 3],
                                                                classes[:, 4], st)))
            self.ptab = np.ascontiguousarray(np.column_stack((book.base_premium, cls.astype(float))))


_CACHE: dict = {}


def _prepared(spec: EngineSpec, eff: Effects) -> _Prepared:
    """The :class:`_Prepared` of (spec, scenario), kept while both objects live: chunks that run in
    one process (local chunks, or a dask worker's tasks on scattered data) build it once."""
    key = (id(spec), id(eff))
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is spec and hit[1]() is eff:
        return hit[2]
    pre = _Prepared(spec, eff)
    _CACHE[key] = (weakref.ref(spec), weakref.ref(eff), pre)
    # the entry goes when either object does (the prepared tables hold neither)
    weakref.finalize(spec, _CACHE.pop, key, None)
    weakref.finalize(eff, _CACHE.pop, key, None)
    return pre


def _accidents(accidents, spec, eff, yr, y, counts, pos_state, bank_state, tu, records, out, cells, ws,
               pre=None):
    """Run the accident step of one block-year: adds to ``cells`` (accidents, deaths and paid claims,
    each simulation x grade x sector) and returns next year's records, each record's worst fatal
    grade level, and with ``pre`` (the compiled step, with records wanted) next year's premiums
    priced from the records as :func:`_reprice` would (its ``c, prem, sec_prem, f``), else None.
    ``records`` is a value of :data:`RECORDS`; with ``"pricing"`` the records and factors come
    back empty (only the step's pricing read them)."""
    re = spec.reinsurance
    bs, S, T = len(counts), len(spec.book.sectors), len(eff.track)
    ctab, attr, combos, track, bamt, bcode, (x_ent, x_grade, x_deaths, x_amount) = yr.tables(spec)
    per_sim = [np.zeros(bs) for _ in range(4)]   # avoided, avoided deaths, XL recovered, fatal
    tracked = np.zeros(bs * T)
    if records == RECORDS["pricing"]:   # one simulation's records at a time, each over the last
        cap = int(counts.max(initial=0)) + len(x_ent)
    else:
        cap = int(counts.sum()) + bs * len(x_ent) if records else 0
    # this year's records, read when next year is priced: the workspace keeps two sets (by year)
    # (keys int64; worst level, count, deaths and worst fatal level int32: half the bytes to write
    # and read back, and the records are written in the accident step's busiest loop)
    rec = [ws.get(f"records{y % 2}_{i}", cap, np.int64 if i == 0 else np.int32) for i in range(5)]
    priced = None
    if pre is not None and records:
        pricing, priced = _pricing(spec, pre, np.zeros(0, np.int64), cap, bs, T > 0, ws)
    else:
        pricing = _no_pricing(S)
    k = accidents(pos_state, bank_state, counts, yr.total, yr.thin, yr.guide, ctab, attr, combos, track,
                  bamt, bcode, spec.bank.size, x_ent, x_grade, x_deaths, x_amount, float(tu), S,
                  float(re.quota_share), float(re.xl_retention), float(re.xl_limit),
                  int(spec.downgrade_min_deaths), T, int(records), *(c.reshape(-1) for c in cells),
                  *per_sim, tracked, *rec, priced is not None, pricing)
    out["avoided_accidents"][:, y] = per_sim[0]
    out["avoided_deaths"][:, y] = per_sim[1]
    out["xl_recovery"][:, y] = per_sim[2]
    out["fatal_accidents"][:, y] = per_sim[3]
    if T:
        out["tracked_claims"][:, y] = tracked.reshape(bs, T)
    if records == RECORDS["pricing"]:
        k = 0
    if priced is not None:
        priced = (*priced[:3], priced[3][:k])
    return tuple(r[:k] for r in rec[:4]), rec[4][:k], priced


def _sfc64_state(seed_key, block: int, year: int, purpose: int) -> np.ndarray:
    """The SFC64 state (a, b, c, counter) of a block-year's stream, seeded as numpy seeds
    ``np.random.SFC64`` from the stream's seed sequence: the accident step steps it itself."""
    return np.random.SFC64(_seed_sequence(seed_key, block, year, purpose)).state["state"]["state"].copy()


def _sfc64_generator(state: np.ndarray) -> np.random.Generator:
    """A numpy generator at the SFC64 ``state``: it draws what the compiled step draws from it."""
    bg = np.random.SFC64()
    bg.state = {"bit_generator": "SFC64", "state": {"state": state}, "has_uint32": 0, "uinteger": 0}
    return np.random.Generator(bg)


def _sfc64_uniforms_numpy(state: np.ndarray, k: int) -> np.ndarray:
    """``k`` uniforms from an SFC64 state, drawn by numpy (``state`` is advanced past them): the
    numbers the compiled step draws with ``_kernel.sfc64_step``.

    >>> st = _sfc64_state((1, ()), 0, 0, _BANK)
    >>> u = _sfc64_uniforms_numpy(st, 3)
    >>> bool(((0 <= u) & (u < 1)).all()), int(st[3]) > 3
    (True, True)
    """
    g = _sfc64_generator(state)
    u = (g.bit_generator.random_raw(k) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    state[:] = g.bit_generator.state["state"]["state"]
    return u


def _sfc64_exponentials_numpy(state: np.ndarray, k: int) -> np.ndarray:
    """``k`` standard exponentials from an SFC64 state, drawn by numpy (``state`` advanced): the
    numbers the compiled step draws with ``_kernel.sfc64_exponential`` (numpy's ziggurat)."""
    g = _sfc64_generator(state)
    e = g.standard_exponential(k)
    state[:] = g.bit_generator.state["state"]["state"]
    return e


def _accidents_numpy(pos_state, bank_state, counts, total, thin, guide, ctab, attr, combos, track, bamt,
                     bcode, bank_size, x_ent, x_grade, x_deaths, x_amount, tu, n_sectors, xl_q, xl_ret,
                     xl_lim, min_deaths, n_track, records, cells_acc, cells_dead, cells_paid,
                     avoided, avoided_deaths, xl_rec, fatal, tracked, r_keys, r_level, r_count,
                     r_deaths, r_fatal, price=False, pricing=None) -> int:
    """The accident step in vectorised numpy: the reference twin of ``_kernel.accidents`` (same
    arguments, same random numbers in the same order, sums in accident order: the compiled step
    adds a run of accidents in one cell before adding it to the cell, the rest in the same order).
    It does not price the records (``price``): the engine reprices them next year instead, so it
    writes all of them (``records`` 0 or 2)."""
    if price:
        raise ValueError("the numpy accident step does not price records: reprice them next year")
    bs, n = len(counts), len(ctab)
    u, sim = _spaced_uniforms(_sfc64_exponentials_numpy(pos_state, int(counts.sum()) + bs), counts)
    ub = _sfc64_uniforms_numpy(bank_state, len(u))
    x = u * total
    ent = _locate(ctab[:, 0], guide, u, x)
    j = (attr[ent] >> 32) * bank_size + (ub * bank_size).astype(np.int64)
    if thin:
        # the position of x inside its enterprise's interval is a fresh uniform: thinning
        # needs no third random number
        miss = x >= ctab[ent, 1]
        avoided += np.bincount(sim[miss], minlength=bs)
        avoided_deaths += np.bincount(sim[miss], bcode[j[miss]] >> 2, minlength=bs)
        happen = ~miss
        sim, ent, j = sim[happen], ent[happen], j[happen]
    grade = (bcode[j] & 3).astype(np.int64)
    deaths = (bcode[j] >> 2).astype(np.int64)
    lim = combos[attr[ent] & 0xFFFFFFFF]
    amount = np.minimum((bamt[j, 0] + np.minimum(bamt[j, 1], lim[:, 0])) * lim[:, 2], lim[:, 1])
    if len(x_ent):   # each fixed accident after its enterprise's drawn ones, in every simulation
        k = len(x_ent)
        xs = np.repeat(np.arange(bs), k)
        at = np.searchsorted(sim * n + ent, xs * n + np.tile(x_ent, bs), side="right")
        sim, ent = np.insert(sim, at, xs), np.insert(ent, at, np.tile(x_ent, bs))
        grade = np.insert(grade, at, np.tile(x_grade, bs))
        deaths = np.insert(deaths, at, np.tile(x_deaths, bs))
        amount = np.insert(amount, at, np.tile(x_amount, bs))
    m = len(sim)
    if m == 0:
        return 0
    keys = sim * n + ent
    new = np.ones(m, dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    # the annual aggregate limit per enterprise: its accidents scaled down together
    tot = np.bincount(group, amount)
    cap = combos[attr[ent[starts]] & 0xFFFFFFFF, 3]
    scale = np.ones(len(tot))
    over = tot > cap
    scale[over] = cap[over] / tot[over]
    amount = amount * scale[group]
    if tu != 1.0:
        amount *= tu
    if xl_lim > 0:
        xl_rec += np.bincount(sim, np.clip((1.0 - xl_q) * amount - xl_ret, 0.0, xl_lim), minlength=bs)
    # one key (simulation, grade, sector) gives every count by grade and by sector
    cell = (sim * 4 + grade) * n_sectors + (attr[ent] >> 32)
    size = bs * 4 * n_sectors
    cells_acc += np.bincount(cell, minlength=size)
    cells_dead += np.bincount(cell, deaths, minlength=size)
    cells_paid += np.bincount(cell, amount, minlength=size)
    is_fatal = deaths >= min_deaths
    fatal += np.bincount(sim[is_fatal], minlength=bs)
    if n_track:
        ti = track[ent]
        t = ti >= 0
        tracked += np.bincount(sim[t] * n_track + ti[t], amount[t], minlength=bs * n_track)
    if not records:
        return 0
    k = len(starts)
    r_keys[:k] = keys[starts]
    r_level[:k] = np.maximum.reduceat(grade, starts) + 1
    r_count[:k] = np.diff(np.append(starts, m))
    r_deaths[:k] = np.add.reduceat(deaths, starts)
    r_fatal[:k] = np.maximum.reduceat(np.where(is_fatal, grade + 1, 0), starts)
    return k


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


def run_blocks(spec: EngineSpec, eff: Effects, seed_key, blocks, n_sims: int, kernel: str = "auto") -> dict:
    """Run consecutive blocks one after another in this thread (a dask task, or the local backend
    on one thread) and concatenate their results (simulations in order). Threads take blocks from
    :func:`submit_blocks`; a block draws from its own streams and writes its own arrays, so the
    numbers do not depend on how blocks are spread."""
    pre = _prepared(spec, eff)
    return join_blocks([run_block(spec, eff, seed_key, b, min(BLOCK, n_sims - b * BLOCK), pre, kernel=kernel)
                        for b in blocks])


def submit_blocks(pool, spec: EngineSpec, eff: Effects, seed_key, blocks, n_sims: int,
                  kernel: str = "auto") -> list:
    """Submit each block to ``pool`` (a ``concurrent.futures`` executor); returns the futures in
    block order. A caller that submits the blocks of several chunks before it waits for the first
    keeps every thread busy up to the last block (``backends.run``), where waiting chunk by chunk
    idles a thread at every chunk's end."""
    pre = _prepared(spec, eff)
    return [pool.submit(run_block, spec, eff, seed_key, b, min(BLOCK, n_sims - b * BLOCK), pre, kernel=kernel)
            for b in blocks]


def join_blocks(parts) -> dict:
    """Concatenate blocks' results (dicts of arrays, simulations first), or their futures'.

    >>> join_blocks([{"claims": np.zeros(2)}, {"claims": np.ones(1)}])["claims"].tolist()
    [0.0, 0.0, 1.0]
    """
    parts = [p.result() if hasattr(p, "result") else p for p in parts]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
