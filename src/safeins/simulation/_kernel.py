"""The engine's accident step compiled with numba: one pass over a block-year's candidate accidents.

This module imports numba; only :mod:`safeins.simulation.engine` imports it, lazily, the first time a
run asks for the numba kernel (``kernel="numba"``, or ``"auto"`` when numba is installed), so
``import safeins`` and every other part of the library never load numba.

The kernel does, candidate by candidate, what :func:`safeins.simulation.engine._accidents_numpy` does
in about thirty vectorised passes, from the same random numbers, which it draws itself from two
SFC64 generators (numpy's SFC64 step, :func:`sfc64_step`): the exponential spacings of the
positions from the ``_ACCIDENTS`` stream (simulation after simulation, ``counts[s] + 1`` each;
numpy's ziggurat, :func:`sfc64_exponential`) and one uniform per candidate from the ``_BANK``
stream (its bank entry). The numpy twin draws the same numbers with
``np.random.Generator(np.random.SFC64(...))``; drawing them here spares writing them to memory and
reading them back.
Sums run in accident order, as numpy's ``bincount`` does, except that runs of accidents in one
cell (simulation, grade, sector) are summed before they are added to it, so both kernels give the
same numbers to the last bits (tests/test_simulation.py checks that they agree to 1e-12). The
kernels release the GIL (``nogil=True``): the engine runs blocks of simulations in threads
(``engine.submit_blocks``).

>>> accidents.__class__.__name__       # compiled on first call, cached on disk (cache=True)
'CPUDispatcher'
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["accidents", "ix", "prefetch", "reprice", "sfc64_exponential", "sfc64_exponentials", "sfc64_step",
           "sfc64_uniforms", "sfc64_unit", "ziggurat_root", "ziggurat_tables"]


#: 2**-53: a 64-bit output's top 53 bits times this is a uniform on [0, 1), as numpy's ``random()``
INV53 = 1.0 / 9007199254740992.0


_U1, _U3, _U8, _U11, _U24, _U40, _BYTE = (np.uint64(v) for v in (1, 3, 8, 11, 24, 40, 0xFF))


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the processor to fetch the cache line of ``arr[idx]`` (the first item of row ``idx`` of a
    2-d array) without waiting for it: a loop that will read a random-looking item some iterations
    on issues this first, and the read finds it in cache (LLVM's ``llvm.prefetch``: read, keep in
    every level). No bounds check: an index outside the array is only a useless hint.

    >>> @njit
    ... def last(a):
    ...     prefetch(a, len(a) - 1)   # asked for now, read below
    ...     return a[len(a) - 1]
    >>> float(last(np.arange(4.0)))
    3.0
    """
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer2(
            context, builder, data=ary.data, shape=cgutils.unpack_tuple(builder, ary.shape),
            strides=cgutils.unpack_tuple(builder, ary.strides), layout=aryty.layout,
            inds=[args[1]] + [zero] * (aryty.ndim - 1), wraparound=False, boundscheck=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p],
                                              ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@njit(cache=True, nogil=True, inline="always")
def ix(i):   # pragma: no cover - compiled
    """``i`` as an unsigned index. numba adds the length to a negative signed index (three
    instructions and the array's length kept in a register, at every access); the kernels' indices
    are never negative (``engine._check_indices`` checks the tables), and with unsigned ones it
    emits the bare access: the accident step took 10 % less time (25.0 against 22.5 ns a candidate).

    >>> int(ix(3))
    3
    """
    return np.uint64(i)


@njit(cache=True, nogil=True, inline="always")
def sfc64_step(a, b, c, w):   # pragma: no cover - compiled
    """numpy's ``SFC64`` step (Chris Doty-Humphrey's Small Fast Counting generator) on the state
    ``(a, b, c, counter)``: returns the 64-bit output and the next state, so the stream equals
    ``np.random.SFC64(...).random_raw()`` from the same state (tests check it). The state travels in
    four scalars, which stay in registers: kept in an array, every step stored it and the next read
    it back, a store-to-load wait on the generator's chain.

    >>> st = np.random.SFC64(1).state["state"]["state"]
    >>> int(sfc64_step(*st)[0]) == int(np.random.SFC64(1).random_raw())
    True
    """
    out = a + b + w
    return out, b ^ (b >> _U11), c + (c << _U3), ((c << _U24) | (c >> _U40)) + out, w + _U1


@njit(cache=True, nogil=True, inline="always")
def sfc64_unit(r):   # pragma: no cover - compiled
    """The uniform on [0, 1) of the output ``r``: its top 53 bits times 2**-53, as numpy's ``random()``
    (converted as a signed integer: exact, and one instruction where an unsigned conversion takes
    several).

    >>> sfc64_unit(np.uint64(2**63))
    0.5
    """
    return float(np.int64(r >> _U11)) * INV53


@njit(cache=True, nogil=True)
def sfc64_uniforms(st, k):   # pragma: no cover - compiled
    """``k`` uniforms on [0, 1) from the SFC64 state ``st`` (updated), as the accident step draws them.

    >>> import numpy as np
    >>> bg = np.random.SFC64(1)
    >>> st = bg.state["state"]["state"].copy()
    >>> bool(np.array_equal(sfc64_uniforms(st, 3), (bg.random_raw(3) >> 11) * 2.0**-53))
    True
    """
    out = np.empty(k)
    a, b, c, w = st[0], st[1], st[2], st[3]
    for i in range(k):
        r, a, b, c, w = sfc64_step(a, b, c, w)
        out[i] = sfc64_unit(r)
    st[0], st[1], st[2], st[3] = a, b, c, w
    return out


#: the exponential ziggurat of Marsaglia and Tsang (2000), 256 layers: the base layer's edge r, the
#: root that makes the top layer's area x1 (1 - exp(-x1)) equal every layer's area
#: v = (r + 1) exp(-r) (:func:`ziggurat_root` solves it to 60 digits; a test re-derives it)
ZIGGURAT_R = "7.69711747013104971404462804801521549911396864005534161740922"


def _ziggurat_area(r: Decimal) -> Decimal:
    """The area v = (r + 1) exp(-r) of each layer (the base layer: r f(r) plus the tail beyond r)."""
    return (r + 1) * (-r).exp()


def _ziggurat_layers(r: Decimal, v: Decimal):
    """The layer edges x_254 .. x_1 below x_255 = r (each layer of area v)."""
    xs = []
    x = r
    for _ in range(254):
        x = -((v / x + (-x).exp()).ln())
        xs.append(x)
    return xs


def ziggurat_root(digits: int = 60) -> str:
    """r of the 256-layer exponential ziggurat, solved with ``digits`` digits: the top layer,
    between x_1 and 0, must have the same area v as the others (the Illinois variant of regula
    falsi, which keeps the root bracketed and converges superlinearly).

    >>> ziggurat_root(30)[:20]
    '7.697117470131049714'
    """
    with localcontext() as ctx:
        ctx.prec = digits + 10

        def gap(r):
            v = _ziggurat_area(r)
            x1 = _ziggurat_layers(r, v)[-1]
            return x1 * (1 - (-x1).exp()) - v

        a, b = Decimal("7.6971"), Decimal("7.7")   # gap(a) < 0 < gap(b)
        fa, fb = gap(a), gap(b)
        side = 0
        while abs(b - a) > Decimal(10) ** -digits:
            c = b - fb * (b - a) / (fb - fa)
            fc = gap(c)
            if (fc < 0) == (fa < 0):
                a, fa = c, fc
                if side == -1:
                    fb /= 2
                side = -1
            else:
                b, fb = c, fc
                if side == 1:
                    fa /= 2
                side = 1
            if abs(fc) < Decimal(10) ** -(digits + 5):   # (also an exact zero)
                a = b = c
        r = (a + b) / 2
        ctx.prec = digits
        return str(+r)


def ziggurat_tables(r: str = ZIGGURAT_R):
    """The exponential ziggurat's tables for 53-bit integers (Marsaglia and Tsang's layout): ``ke``
    (accept below), ``we`` (width per unit) and ``fe`` (density at each edge), computed with 60
    digits and rounded once. :func:`sfc64_exponential` with them draws exactly what numpy's
    ``Generator(SFC64).standard_exponential`` draws (tests/test_simulation.py checks it).

    >>> ke, we, fe = ziggurat_tables()
    >>> int(ke[1]), float(fe[0]), bool(np.all(np.diff(fe) < 0))
    (0, 1.0, True)
    """
    with localcontext() as ctx:
        ctx.prec = 60
        rd, m2 = Decimal(r), Decimal(2) ** 53
        vd = _ziggurat_area(rd)
        xs = [rd, *_ziggurat_layers(rd, vd)]        # x_255, x_254, ..., x_1
        ke = np.zeros(256, np.uint64)
        we = np.zeros(256)
        fe = np.zeros(256)
        q = vd / (-rd).exp()                        # the base layer's width, tail included
        ke[0], we[0], fe[0] = int(rd / q * m2), float(q / m2), 1.0
        for i in range(255, 0, -1):
            x = xs[255 - i]
            we[i], fe[i] = float(x / m2), float((-x).exp())
            if i < 255:
                ke[i + 1] = int(x / xs[254 - i] * m2)
        return ke, we, fe


_KE, _WE, _FE = ziggurat_tables()
#: numpy's ``ziggurat_exp_r``, the start of the tail
_ZIG_TAIL = 7.69711747013104972


@njit(cache=True, nogil=True)
def _exponential_slow(idx, x, a, b, c, w):   # pragma: no cover - compiled
    """The ziggurat's rare steps (~1.1 % of draws): the tail beyond r, or a point in a layer's wedge
    accepted under the density, else a fresh draw; returns the exponential and the next state."""
    while True:
        if idx == 0:   # the tail beyond r
            r, a, b, c, w = sfc64_step(a, b, c, w)
            return _ZIG_TAIL - math.log1p(-sfc64_unit(r)), a, b, c, w
        r, a, b, c, w = sfc64_step(a, b, c, w)
        if (_FE[idx - 1] - _FE[idx]) * sfc64_unit(r) + _FE[idx] < math.exp(-x):
            return x, a, b, c, w
        r, a, b, c, w = sfc64_step(a, b, c, w)
        ri = r >> _U3
        idx = np.int64(ri & _BYTE)
        ri >>= _U8
        x = float(np.int64(ri)) * _WE[idx]
        if ri < _KE[idx]:
            return x, a, b, c, w


@njit(cache=True, nogil=True, inline="always")
def sfc64_exponential(a, b, c, w):   # pragma: no cover - compiled
    """A standard exponential from the SFC64 state ``(a, b, c, counter)``, and the next state: numpy's
    ziggurat step, so the draws equal ``np.random.Generator(np.random.SFC64(...)).standard_exponential()``
    from the same state; one 64-bit output ~98.9 % of the time (the rest in
    :func:`_exponential_slow`).

    >>> st = np.random.SFC64(2).state["state"]["state"]
    >>> x = sfc64_exponential(*st)[0]
    >>> x == np.random.Generator(np.random.SFC64(2)).standard_exponential()
    True
    """
    r, a, b, c, w = sfc64_step(a, b, c, w)
    ri = r >> _U3
    idx = np.int64(ri & _BYTE)
    ri >>= _U8
    x = float(np.int64(ri)) * _WE[idx]   # ri < 2**53: the signed conversion is exact and quicker
    if ri < _KE[idx]:
        return x, a, b, c, w
    return _exponential_slow(idx, x, a, b, c, w)


@njit(cache=True, nogil=True)
def sfc64_exponentials(st, k):   # pragma: no cover - compiled
    """``k`` standard exponentials from the SFC64 state ``st`` (updated).

    >>> import numpy as np
    >>> bg = np.random.SFC64(1)
    >>> st = bg.state["state"]["state"].copy()
    >>> bool(np.array_equal(sfc64_exponentials(st, 5), np.random.Generator(bg).standard_exponential(5)))
    True
    """
    out = np.empty(k)
    a, b, c, w = st[0], st[1], st[2], st[3]
    for i in range(k):
        out[i], a, b, c, w = sfc64_exponential(a, b, c, w)
    st[0], st[1], st[2], st[3] = a, b, c, w
    return out


@njit(cache=True, nogil=True, inline="always")
def _fixed_before(upto, xi, k, x_ent, attr, be, bj, bat):   # pragma: no cover - compiled
    """Append the year's fixed accidents from the ``xi``-th on whose enterprise comes before
    ``upto`` to the accident list at ``k`` (bank row ``-1 - i`` for the i-th); returns the next
    ``(xi, k)``. A fixed accident comes after every drawn accident of its enterprise."""
    while xi < len(x_ent) and x_ent[ix(xi)] < upto:
        e = x_ent[ix(xi)]
        be[ix(k)], bj[ix(k)], bat[ix(k)] = e, -1 - xi, attr[ix(e)]
        k += 1
        xi += 1
    return xi, k


#: how many iterations ahead a loop of the accident step prefetches (measured on Ningbo block-years:
#: 24 to 96 within noise, 48 the best)
AHEAD = 48


@njit(cache=True, nogil=True)
def accidents(pos_state, bank_state, counts, total, thin, guide, ctab, attr, combos, track, bamt, bcode,
              bank_size, x_ent, x_grade, x_deaths, x_amount, tu, n_sectors, xl_q, xl_ret, xl_lim,
              min_deaths, n_track, records, cells_acc, cells_dead, cells_paid, avoided,
              avoided_deaths, xl_rec, fatal, tracked, r_keys, r_level, r_count, r_deaths, r_fatal,
              price, pricing):  # pragma: no cover - compiled; its twin in engine.py is the reference
    """Simulate the candidate accidents of one block-year; fills the output arrays in place and
    returns the number of records (enterprise-simulations with an accident) written.

    ``records`` says which records the caller reads (``engine.RECORDS``): 0 none; 2 every
    simulation's, every column; 1 only this step's pricing (``price``), so each simulation's
    records are written over the previous one's, which are still in the cache, and the columns
    its floating rule does not read are not written (count and deaths for a rule of grade levels;
    the worst fatal grade, which only the credit grades read). A Ningbo block-year took 32.1 ns a
    candidate with 1 against 34.0 with 2 (minimum of 21 runs, three sittings). With 1 the return
    value counts the last simulation's records.

    With ``price`` (and the records wanted), each simulation's records are priced as soon as they
    are written, as :func:`reprice` would price them next year (same numbers; ``pricing`` holds
    :func:`reprice`'s arguments after ``n``, with ``credit`` empty: it serves a floating rule whose
    credit grades do not move). The records are then still in the processor's
    cache, and next year needs no pass over them: a Ningbo block-year measured 26.2 against 24.7 ns
    a candidate for the step and the pass apart on one machine; on a second the whole engine took
    the same time either way (benchmarks/results/stress.md). Without ``price``, ``pricing`` is not
    read.

    The tables are those of ``engine._Year.tables``: per enterprise 16 bytes of placing and
    thinning (``ctab``) and one code (``attr``: sector and limit class); the limits of a class
    (``combos``); per bank accident its two amounts (``bamt``) and one code (``bcode``: deaths and
    grade). Every simulation reads them in enterprise order, so their size, not the number of reads,
    sets the cost: each is as small as the numbers allow. The random numbers are drawn here:
    ``pos_state`` and ``bank_state`` are SFC64 states (updated), the first for the spacings, the
    second for one uniform per candidate, in order: its entry in its sector's part of the bank, so
    the accidents are independent draws from the bank (with replacement). Reading a run of
    consecutive entries from one random start instead was 4-6 ns a candidate faster, but a run's
    sum varies over the starts like moving sums of one fixed sequence, not like independent draws
    (tests/test_simulation.py: its variance was 0.6 of theirs).

    The tables do not fit the processor's cache and a simulation reads them at scattered places, so
    each loop asks for the line it will read :data:`AHEAD` iterations on (:func:`prefetch`): the
    reads that waited on memory (the guide table, the bank rows) then find it in cache."""
    n = len(ctab)
    last = n - 1
    m = len(guide)
    n_x = len(x_ent)
    cap = 1
    for s in range(len(counts)):
        cap = max(cap, counts[s] + 1)
    e_buf = np.empty(cap)
    # one simulation's accidents in enterprise order (at most all its candidates, plus the extras)
    be = np.empty(cap + n_x, np.int64)
    bj = np.empty(cap + n_x, np.int64)     # bank row, or -1 - i for the i-th fixed accident
    bat = np.empty(cap + n_x, np.int64)    # the enterprise's code (read once: its line is gone later)
    bm = np.empty(cap, np.int64)           # bank rows of the candidates prevention removed
    pe = np.empty(cap, np.int64)           # each candidate's enterprise and position
    px = np.empty(cap)
    bgd = np.empty(cap + n_x, np.int64)    # each accident's bank code (deaths * 4 + grade) and amount
    ba = np.empty(cap + n_x)
    fsize = float(bank_size)
    # a bank of 2**bits entries per sector: floor(u * 2**bits), u the top 53 bits of an output times
    # 2**-53, is the output's top ``bits`` bits (the same number, no conversion)
    pow2 = bank_size >= 2 and (bank_size & (bank_size - 1)) == 0
    bits = 0
    while (1 << bits) < bank_size:
        bits += 1
    shift = np.uint64(64 - bits)
    d_sec = np.zeros(n_sectors)   # the pricing's work arrays and bracket, as in reprice
    sec_a = np.zeros(n_sectors)
    sec_b = np.zeros(n_sectors)
    lo, hi = _first_bracket(pricing[17])
    # the columns a record keeps: all, unless only this step's pricing reads them and its rule reads
    # grade levels only
    all_columns = records == 2 or not _reads_levels_only(pricing[3])
    pa, pb, pc, pw = pos_state[0], pos_state[1], pos_state[2], pos_state[3]   # the generators' states,
    qa, qb, qc, qw = bank_state[0], bank_state[1], bank_state[2], bank_state[3]   # in registers
    running = 0.0   # the cumulative sum of every spacing of the block, as numpy's cumsum
    n_rec = 0
    for s in range(len(counts)):
        if records == 1:   # read by this simulation's pricing only: over the previous simulation's
            n_rec = 0
        r0 = n_rec
        c = counts[s]
        base = running
        for i in range(c + 1):
            x, pa, pb, pc, pw = sfc64_exponential(pa, pb, pc, pw)
            running += x
            e_buf[ix(i)] = running
        inv = 1.0 / (e_buf[ix(c)] - base)   # one division a simulation, a product a candidate
        # ---- place, thin and pick a bank row: the guide table's bucket first (a loop of independent
        # reads), then the steps to the enterprise, whose interval's line then serves the thinning
        for i in range(c):
            if i + AHEAD < c:
                b = int((e_buf[ix(i + AHEAD)] - base) * inv * m)
                prefetch(guide, b if b < m else m - 1)
            u = (e_buf[ix(i)] - base) * inv
            b = int(u * m)
            pe[ix(i)] = guide[ix(b if b < m else m - 1)]
            px[ix(i)] = u * total
        k = 0
        xi = 0
        n_miss = 0
        for i in range(c):
            if i + AHEAD < c:
                prefetch(ctab, pe[ix(i + AHEAD)])
                prefetch(attr, pe[ix(i + AHEAD)])
            ent = pe[ix(i)]
            x = px[ix(i)]
            # a few steps (a bucket holds few interval ends) on the interval ends
            while ent < last and ctab[ix(ent), 0] <= x:
                ent += 1
            r, qa, qb, qc, qw = sfc64_step(qa, qb, qc, qw)
            entry = np.int64(r >> shift) if pow2 else np.int64(sfc64_unit(r) * fsize)
            at = attr[ix(ent)]
            j = (at >> 32) * bank_size + entry
            xi, k = _fixed_before(ent, xi, k, x_ent, attr, be, bj, bat)
            # without a branch (a thinned candidate is unpredictable): the candidate is written both
            # as removed and as an accident, and the list it belongs to advances
            miss = np.int64(thin and x >= ctab[ix(ent), 1])
            bm[ix(n_miss)] = j
            be[ix(k)], bj[ix(k)], bat[ix(k)] = ent, j, at
            n_miss += miss
            k += 1 - miss
        xi, k = _fixed_before(n, xi, k, x_ent, attr, be, bj, bat)
        # ---- the bank rows: independent random reads, which the processor overlaps
        avoided[ix(s)] += n_miss
        for q in range(n_miss):
            avoided_deaths[ix(s)] += bcode[ix(bm[ix(q)])] >> 2
        for q in range(k):
            if q + AHEAD < k and bj[ix(q + AHEAD)] >= 0:
                prefetch(bcode, bj[ix(q + AHEAD)])
                prefetch(bamt, bj[ix(q + AHEAD)])
            j = bj[ix(q)]
            at = bat[ix(q)]
            cl = at & 0xFFFFFFFF
            if j < 0:
                fx = ix(-1 - j)
                bgd[ix(q)], ba[ix(q)] = x_deaths[fx] * 4 + x_grade[fx], x_amount[fx]
                continue
            jj, cc = ix(j), ix(cl)
            bgd[ix(q)] = bcode[jj]   # kept packed: one store here, unpacked in the sums
            ba[ix(q)] = min((bamt[jj, 0] + min(bamt[jj, 1], combos[cc, 0])) * combos[cc, 2], combos[cc, 1])
        # ---- per enterprise: the annual aggregate, then the sums and next year's record (the
        # simulation's sums in registers: adding into the output array waits on the last store)
        xl_s = 0.0
        fatal_s = 0.0
        # the cells likewise: a run of accidents of one grade and sector (most: the book comes in
        # sector order, most accidents are of the lowest grade) is summed before it is added
        cur = s * 4 * n_sectors
        run_acc = run_dead = run_paid = 0.0
        k0 = 0
        while k0 < k:
            e = be[ix(k0)]
            k1 = k0
            tot = 0.0
            while k1 < k and be[ix(k1)] == e:
                tot += ba[ix(k1)]
                k1 += 1
            at0 = bat[ix(k0)]   # the enterprise's code: its sector, and its class's aggregate limit
            agg = combos[ix(at0 & 0xFFFFFFFF), 3]
            scale = agg / tot if tot > agg else 1.0
            sec = at0 >> 32
            ti = track[ix(e)] if n_track else -1
            level = 0
            worst_fatal = 0
            dead = 0
            for q in range(k0, k1):
                a = ba[ix(q)] * scale
                if tu != 1.0:
                    a *= tu
                if xl_lim > 0:
                    xl_s += min(max((1.0 - xl_q) * a - xl_ret, 0.0), xl_lim)
                code = bgd[ix(q)]
                g = code & 3
                d = code >> 2
                cell = (s * 4 + g) * n_sectors + sec
                if cell != cur:
                    cells_acc[ix(cur)] += run_acc
                    cells_dead[ix(cur)] += run_dead
                    cells_paid[ix(cur)] += run_paid
                    cur = cell
                    run_acc = run_dead = run_paid = 0.0
                run_acc += 1.0
                run_dead += d
                run_paid += a
                if d >= min_deaths:
                    fatal_s += 1.0
                    worst_fatal = max(worst_fatal, g + 1)
                if ti >= 0:
                    tracked[ix(s * n_track + ti)] += a
                level = max(level, g + 1)
                dead += d
            if records:
                r_keys[ix(n_rec)] = s * n + e
                r_level[ix(n_rec)] = level
                if all_columns:
                    r_count[ix(n_rec)] = k1 - k0
                    r_deaths[ix(n_rec)] = dead
                    r_fatal[ix(n_rec)] = worst_fatal
                n_rec += 1
            k0 = k1
        cells_acc[ix(cur)] += run_acc
        cells_dead[ix(cur)] += run_dead
        cells_paid[ix(cur)] += run_paid
        xl_rec[ix(s)] += xl_s
        fatal[ix(s)] += fatal_s
        if price and records:
            lo, hi = _price_simulation(s, r0, n_rec, lo, hi, r_keys, r_level, r_count, r_deaths, n, pricing,
                                       d_sec, sec_a, sec_b)
    pos_state[0], pos_state[1], pos_state[2], pos_state[3] = pa, pb, pc, pw
    bank_state[0], bank_state[1], bank_state[2], bank_state[3] = qa, qb, qc, qw
    return n_rec


@njit(cache=True, nogil=True)
def _static_total(b, cg, cm, c):   # pragma: no cover - compiled
    """``sum_i max(c g0_i, m_i)`` over a sorted static book and its slope (``_minimum._Sorted``)."""
    i = np.searchsorted(b, c)
    return c * cg[i] + (cm[-1] - cm[i]), cg[i]


@njit(cache=True, nogil=True)
def _offbalance(s, r0, r1, every, near, n_near, lin_a, lin_b, sec_a, sec_b, moved, lo, hi, g, g0, m, sec, b,
                cg, cm, sb, scg, scm, boff, n_sectors, goal, neutral, c_out, prem_out, sec_out,
                d_sec):  # pragma: no cover - compiled
    """Simulation ``s`` (records ``r0 .. r1``): the revenue-neutral off-balance factor ``c`` with
    minimum premiums (Newton's method), the premium and the premium by sector (as
    ``MinimumPremium.totals``) into the outputs. Returns ``c``, or NaN (outputs untouched) when
    ``c`` leaves ``[lo, hi]``: the caller solves again with ``every``.

    The records come split: those whose change ``max(c g, m) - max(c g0, m)`` is linear in ``c``
    all over ``[lo, hi]`` are summed into ``lin_a + lin_b * c`` (by sector ``sec_a + sec_b * c``),
    the ``n_near`` others are listed in ``near`` with their floated premium ``g``, clean-record
    premium ``g0``, minimum ``m`` and sector ``sec``. With ``every``, all of ``r0 .. r1`` are
    near (their ``g``, ``g0``, ``m``, ``sec`` filled), nothing is linear and there is no bracket.
    ``d_sec`` is a work array of one item per sector."""
    if every:
        n_near = r1 - r0
        lo, hi = -np.inf, np.inf
    c = 1.0
    if neutral:
        # Newton's start: MinimumPremium.solve's with every record, the previous simulation's factor
        # (the bracket's centre) otherwise: close to the root, where the first start can lie outside
        # the bracket when many minimums bind
        c = goal / (cg[-1] + moved) if every else 0.5 * (lo + hi)
        for _ in range(100):
            if c < lo or c > hi:
                return np.nan
            total, slope = _static_total(b, cg, cm, c)
            d_sum = lin_a + lin_b * c
            ds_sum = lin_b
            for t in range(n_near):
                r = r0 + t if every else near[t]
                new, old = c * g[r], c * g0[r]
                d_sum += max(new, m[r]) - max(old, m[r])
                ds_sum += (g[r] if new > m[r] else 0.0) - (g0[r] if old > m[r] else 0.0)
            gap = (total + d_sum) - goal
            slope = slope + ds_sum
            if abs(gap) <= 1e-13 * goal or not slope > 0:
                break
            c = c - gap / slope
        if c < lo or c > hi:
            return np.nan
    c_out[s] = c
    d_sum = lin_a + lin_b * c
    for k in range(n_sectors):
        d_sec[k] = sec_a[k] + sec_b[k] * c
    for t in range(n_near):
        r = r0 + t if every else near[t]
        d = max(c * g[r], m[r]) - max(c * g0[r], m[r])
        d_sum += d
        d_sec[sec[r]] += d
    prem_out[s] = _static_total(b, cg, cm, c)[0] + d_sum
    for k in range(n_sectors):
        lo_k, hi_k = boff[k], boff[k + 1]
        sec_out[s, k] = _static_total(sb[lo_k:hi_k], scg[lo_k + k:hi_k + k + 1], scm[lo_k + k:hi_k + k + 1],
                                      c)[0] + d_sec[k]
    return c


#: half-width of the bracket around the previous simulation's off-balance factor (relative) inside
#: which :func:`reprice` treats most records as linear in the factor
BRACKET = 0.01


@njit(cache=True, nogil=True, inline="always")
def _linear_piece(x, mr, lo, hi):   # pragma: no cover - compiled
    """``max(c x, mr)`` as ``a + b c`` over ``c`` in ``[lo, hi]``: ``(a, b, True)``, or ``False``
    when the minimum binds inside the bracket (the piece has its kink there)."""
    if lo * x >= mr:
        return 0.0, x, True
    if hi * x <= mr:
        return mr, 0.0, True
    return 0.0, 0.0, False


@njit(cache=True, nogil=True, inline="always")
def _reads_levels_only(f_rec):   # pragma: no cover - compiled
    """Whether a floating rule's record part ``f_rec`` (grade level x accident count x deaths) reads
    the grade level only, as most rules do: then a record's count and deaths are never read."""
    return f_rec.shape[1] == 1 and f_rec.shape[2] == 1


@njit(cache=True, nogil=True)
def _price_records(r0, r1, base, every, lo, hi, keys, level, count, deaths, credit, ptab, pclass, f_rec,
                   f_credit, multiplicative, floor, cap, f_out, g, g0, m, sec, near, sec_a,
                   sec_b):  # pragma: no cover - compiled
    """Price records ``r0 .. r1`` of one simulation (enterprise ``keys[r] - base``): each record's
    floating factor (its class's part combined with the record's part ``f_rec``, levels x counts x
    deaths; as ``FloatingTables.factor``) into ``f_out`` (when not empty), and its premium change
    ``max(c g, m) - max(c g0, m)`` (floated and clean-record premiums, minimum) classified over the
    bracket ``[lo, hi]``. A record above its minimum all over the bracket (most) adds ``c (g - g0)``
    to the linear sums, by sector in a running sum (the book comes in sector order), and nothing of
    it is stored; one whose minimum binds somewhere adds its linear piece, or is listed in ``near``
    with its ``g``, ``g0``, ``m`` and ``sec`` when its kink is inside. With ``every`` each record is
    stored that way and summed nowhere (the simulation is solved with every record). Returns
    ``(n_near, lin_a, lin_b, moved)``; adds to ``sec_a`` and ``sec_b``.

    One function over a range, not one call per record: a call that takes arrays costs a reference
    count per array (the record's own work is a few nanoseconds)."""
    n_count, n_deaths = f_rec.shape[1], f_rec.shape[2]
    f_flat = f_rec.ravel()
    by_level = _reads_levels_only(f_rec)
    want_f = len(f_out) > 0
    own_credit = len(credit) > 0
    lin_a = lin_b = moved = 0.0
    n_near = 0
    cur, run_b = -1, 0.0     # the current sector's running sum
    for r in range(r0, r1):
        if r + AHEAD < r1:
            prefetch(ptab, keys[ix(r + AHEAD)] - base)
        ri = ix(r)
        ee = ix(keys[ri] - base)
        cl = np.int64(ptab[ee, 1])
        cc = ix(cl)
        if by_level:   # a rule that reads the grade level only, as most do: two reads fewer
            rec = f_flat[ix(level[ri])]
        else:
            rec = f_flat[ix((np.int64(level[ri]) * n_count + min(np.int64(count[ri]), n_count - 1)) * n_deaths
                            + min(np.int64(deaths[ri]), n_deaths - 1))]
        if not own_credit:     # the base grade, folded into the class's factor
            raw = pclass[cc, 0] * rec if multiplicative else pclass[cc, 0] + rec
        elif multiplicative:   # a grade of its own: the class's static factor with that grade's
            raw = pclass[cc, 4] * (1.0 + f_credit[ix(credit[ri])]) * rec
        else:
            raw = 1.0 + pclass[cc, 4] + f_credit[ix(credit[ri])] + rec
        f = min(max(raw, floor), cap)
        if want_f:
            f_out[ri] = f
        # the clean-record premium B f0 is the same product as _Prepared.Bf0
        gr, g0r, mr, sr = ptab[ee, 0] * f, ptab[ee, 0] * pclass[cc, 1], pclass[cc, 2], np.int64(pclass[cc, 3])
        d = gr - g0r
        moved += d
        if every:
            g[ri], g0[ri], m[ri], sec[ri] = gr, g0r, mr, sr
        elif lo * min(gr, g0r) >= mr:   # above the minimum all over the bracket
            lin_b += d
            if sr != cur:
                if cur >= 0:
                    sec_b[ix(cur)] += run_b
                cur, run_b = sr, 0.0
            run_b += d
        else:
            an, bn, lin_new = _linear_piece(gr, mr, lo, hi)
            ao, bo, lin_old = _linear_piece(g0r, mr, lo, hi)
            if lin_new and lin_old:
                lin_a += an - ao
                lin_b += bn - bo
                sec_a[ix(sr)] += an - ao
                sec_b[ix(sr)] += bn - bo
            else:
                g[ri], g0[ri], m[ri], sec[ri] = gr, g0r, mr, sr
                near[ix(n_near)] = r
                n_near += 1
    if cur >= 0:
        sec_b[ix(cur)] += run_b
    return n_near, lin_a, lin_b, moved


@njit(cache=True, nogil=True)
def _price_simulation(s, r0, r1, lo, hi, keys, level, count, deaths, n, pricing, d_sec, sec_a,
                      sec_b):  # pragma: no cover - compiled
    """Next year's premiums of simulation ``s`` from its records ``r0 .. r1`` (:func:`_price_records`,
    then :func:`_offbalance`: with the bracket ``[lo, hi]``, and again with every record when the
    factor leaves it); returns the bracket for the next simulation. ``pricing`` is
    :func:`reprice`'s; ``d_sec``, ``sec_a`` and ``sec_b`` are work arrays of one item per sector."""
    (credit, ptab, pclass, f_rec, f_credit, multiplicative, floor, cap, b, cg, cm, sb, scg, scm, boff,
     n_sectors, goal, neutral, f_out, c_out, prem_out, sec_out, g, g0, m, sec, near) = pricing
    base = s * n
    c = np.nan
    for every in (lo > hi, True):   # with the bracket, then (if c leaves it) with every record
        sec_a[:] = 0.0
        sec_b[:] = 0.0
        n_near, lin_a, lin_b, moved = _price_records(
            r0, r1, base, every, lo, hi, keys, level, count, deaths, credit, ptab, pclass, f_rec,
            f_credit, multiplicative, floor, cap, f_out, g, g0, m, sec, near, sec_a, sec_b)
        c = _offbalance(s, r0, r1, every, near, n_near, lin_a, lin_b, sec_a, sec_b, moved, lo, hi, g, g0,
                        m, sec, b, cg, cm, sb, scg, scm, boff, n_sectors, goal, neutral, c_out, prem_out,
                        sec_out, d_sec)
        if not np.isnan(c):
            break
    if neutral:
        return c * (1.0 - BRACKET), c * (1.0 + BRACKET)
    return lo, hi


@njit(cache=True, nogil=True, inline="always")
def _first_bracket(neutral):   # pragma: no cover - compiled
    """No bracket yet (the first simulation is solved with every record), or, not neutral, the
    factor 1 (every record is linear)."""
    return (np.inf, -np.inf) if neutral else (1.0, 1.0)


@njit(cache=True, nogil=True)
def reprice(keys, level, count, deaths, n, pricing):  # pragma: no cover - compiled
    """Next year's premiums from the records (keys ``simulation * n + enterprise``, sorted; ``credit``
    per record, or empty for the base grades): each simulation's records priced in one pass
    (:func:`_price_records`), then its off-balance factor (:func:`_offbalance`). Fills ``f_out``
    (the factors; empty: not wanted) and the per-simulation outputs; ``g``, ``g0``, ``m``, ``sec``
    and ``near`` are work arrays of one item per record. ``pricing`` is the tuple ``(credit, ptab,
    pclass, f_rec, f_credit, multiplicative, floor, cap, b, cg, cm, sb, scg, scm, boff, n_sectors,
    goal, neutral, f_out, c_out, prem_out, sec_out, g, g0, m, sec, near)`` (``engine._pricing``).

    The off-balance factors of a block's simulations lie close together, so a record's premium
    ``max(c g, m) - max(c g0, m)`` is linear in ``c`` over a bracket of +-:data:`BRACKET` around
    the previous simulation's factor unless its minimum binds inside it (a few records a
    simulation): the linear ones are summed as the pass goes, and Newton's steps visit only the
    others. The first simulation, and any whose factor falls outside its bracket, are solved with
    every record (priced again to store them).

    ``ptab`` has 16 bytes per enterprise, its base premium and price class, and ``pclass`` one row
    per class (``engine.PRICE_COLUMNS``): each simulation's records read ``ptab`` in enterprise order,
    so its size sets the cost."""
    n_sectors, neutral, bs = pricing[15], pricing[17], len(pricing[19])
    d_sec = np.zeros(n_sectors)
    sec_a = np.zeros(n_sectors)
    sec_b = np.zeros(n_sectors)
    lo, hi = _first_bracket(neutral)
    r0 = 0
    for s in range(bs):
        r1 = np.searchsorted(keys, s * n + n)
        lo, hi = _price_simulation(s, r0, r1, lo, hi, keys, level, count, deaths, n, pricing, d_sec, sec_a,
                                   sec_b)
        r0 = r1
