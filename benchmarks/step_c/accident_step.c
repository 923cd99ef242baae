/* The accident step of safeins.simulation._kernel.accidents, ported to C as a yardstick.
 *
 * benchmarks/bench_step_c.py compiles this file with gcc (-O3 -march=native, as numba compiles for
 * the host processor) and times it against the numba kernel on one captured Ningbo block-year, after
 * checking that both write the same numbers to the last bit. It answers one question: how much of
 * the step's time is numba's code generation, and how much is the work itself on this machine.
 *
 * Same algorithm, same loops, same prefetching, same random numbers (numpy's SFC64 step and its
 * exponential ziggurat) and the same order of every sum. The port covers what the benchmark's case
 * uses: no fixed accidents (no catastrophe), no tracked enterprises, a bank of 2**b entries a sector,
 * and the step's own pricing left out (the numba kernel is timed with price=False as well).
 *
 * STOP (1..5, default 5) ends each simulation after a phase, to time the phases one by one:
 * 1 spacings, 2 placing with the guide table, 3 walk and thinning, 4 bank rows, 5 sums and records.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#ifndef STOP
#define STOP 5
#endif

typedef uint64_t u64;
typedef int64_t i64;

#define INV53 (1.0 / 9007199254740992.0) /* 2**-53 */
#define AHEAD 48                          /* prefetch distance, as _kernel.AHEAD */
static const double ZIG_TAIL = 7.69711747013104972;

/* numpy's SFC64 step: the output, then the next state (a, b, c, counter) */
#define SFC64(a, b, c, w, out)            \
    do {                                  \
        out = a + b + w;                  \
        w += 1;                           \
        a = b ^ (b >> 11);                \
        b = c + (c << 3);                 \
        c = ((c << 24) | (c >> 40)) + out; \
    } while (0)

static inline double unit(u64 r) { return (double)(i64)(r >> 11) * INV53; }

/* the ziggurat's rare steps (_kernel._exponential_slow) */
static double exponential_slow(i64 idx, double x, u64 *st, const u64 *ke, const double *we, const double *fe) {
    u64 a = st[0], b = st[1], c = st[2], w = st[3], r;
    double res;
    for (;;) {
        if (idx == 0) {
            SFC64(a, b, c, w, r);
            res = ZIG_TAIL - log1p(-unit(r));
            break;
        }
        SFC64(a, b, c, w, r);
        if ((fe[idx - 1] - fe[idx]) * unit(r) + fe[idx] < exp(-x)) {
            res = x;
            break;
        }
        SFC64(a, b, c, w, r);
        u64 ri = r >> 3;
        idx = (i64)(ri & 0xFF);
        ri >>= 8;
        x = (double)(i64)ri * we[idx];
        if (ri < ke[idx]) {
            res = x;
            break;
        }
    }
    st[0] = a, st[1] = b, st[2] = c, st[3] = w;
    return res;
}

i64 accident_step(u64 *pos_state, u64 *bank_state, const i64 *counts, i64 n_sims, double total, i64 thin,
                  const int32_t *guide, i64 m, const double *ctab, const i64 *attr, i64 n, const double *combos,
                  const double *bamt, const int32_t *bcode, i64 bank_size, double tu, i64 n_sectors, double xl_q,
                  double xl_ret, double xl_lim, i64 min_deaths, i64 records, i64 all_columns, double *cells_acc,
                  double *cells_dead, double *cells_paid, double *avoided, double *avoided_deaths, double *xl_rec,
                  double *fatal, i64 *r_keys, int32_t *r_level, int32_t *r_count, int32_t *r_deaths,
                  int32_t *r_fatal, const u64 *ke, const double *we, const double *fe) {
    i64 last = n - 1, cap = 1;
    for (i64 s = 0; s < n_sims; s++)
        if (counts[s] + 1 > cap) cap = counts[s] + 1;
    double *e_buf = malloc(cap * 8), *px = malloc(cap * 8), *ba = malloc(cap * 8);
    i64 *be = malloc(cap * 8), *bj = malloc(cap * 8), *bat = malloc(cap * 8), *bm = malloc(cap * 8);
    i64 *pe = malloc(cap * 8);
    int32_t *bgd = malloc(cap * 4);
    int bits = 0;
    while ((1L << bits) < bank_size) bits++;
    const int shift = 64 - bits;
    u64 pos[4] = {pos_state[0], pos_state[1], pos_state[2], pos_state[3]};
    u64 pa = pos[0], pb = pos[1], pc = pos[2], pw = pos[3];
    u64 qa = bank_state[0], qb = bank_state[1], qc = bank_state[2], qw = bank_state[3];
    double running = 0.0;
    i64 n_rec = 0;
    for (i64 s = 0; s < n_sims; s++) {
        if (records == 1) n_rec = 0;
        const i64 c = counts[s];
        const double base = running;
        /* 1. the exponential spacings, cumulated */
        for (i64 i = 0; i < c + 1; i++) {
            u64 r;
            SFC64(pa, pb, pc, pw, r);
            u64 ri = r >> 3;
            i64 idx = (i64)(ri & 0xFF);
            ri >>= 8;
            double x = (double)(i64)ri * we[idx];
            if (!(ri < ke[idx])) {
                pos[0] = pa, pos[1] = pb, pos[2] = pc, pos[3] = pw;
                x = exponential_slow(idx, x, pos, ke, we, fe);
                pa = pos[0], pb = pos[1], pc = pos[2], pw = pos[3];
            }
            running += x;
            e_buf[i] = running;
        }
        if (STOP == 1) continue;
        /* 2. placing: the guide table's bucket */
        const double inv = 1.0 / (e_buf[c] - base);
        for (i64 i = 0; i < c; i++) {
            if (i + AHEAD < c) {
                i64 b = (i64)((e_buf[i + AHEAD] - base) * inv * m);
                __builtin_prefetch(&guide[b < m ? b : m - 1]);
            }
            double u = (e_buf[i] - base) * inv;
            i64 b = (i64)(u * m);
            pe[i] = guide[b < m ? b : m - 1];
            px[i] = u * total;
        }
        if (STOP == 2) continue;
        /* 3. the walk to the enterprise, the thinning and the bank entry */
        i64 k = 0, n_miss = 0;
        for (i64 i = 0; i < c; i++) {
            if (i + AHEAD < c) {
                __builtin_prefetch(&ctab[2 * pe[i + AHEAD]]);
                __builtin_prefetch(&attr[pe[i + AHEAD]]);
            }
            i64 ent = pe[i];
            double x = px[i];
            while (ent < last && ctab[2 * ent] <= x) ent++;
            u64 r;
            SFC64(qa, qb, qc, qw, r);
            i64 entry = (i64)(r >> shift);
            i64 at = attr[ent];
            i64 j = (at >> 32) * bank_size + entry;
            i64 miss = thin && x >= ctab[2 * ent + 1];
            bm[n_miss] = j;
            be[k] = ent, bj[k] = j, bat[k] = at;
            n_miss += miss;
            k += 1 - miss;
        }
        if (STOP == 3) continue;
        /* 4. the bank rows */
        avoided[s] += n_miss;
        for (i64 q = 0; q < n_miss; q++) avoided_deaths[s] += bcode[bm[q]] >> 2;
        for (i64 q = 0; q < k; q++) {
            if (q + AHEAD < k) {
                __builtin_prefetch(&bcode[bj[q + AHEAD]]);
                __builtin_prefetch(&bamt[2 * bj[q + AHEAD]]);
            }
            i64 j = bj[q], cl = bat[q] & 0xFFFFFFFF;
            bgd[q] = bcode[j];
            double v = bamt[2 * j + 1] < combos[4 * cl] ? bamt[2 * j + 1] : combos[4 * cl];
            double a = (bamt[2 * j] + v) * combos[4 * cl + 2];
            ba[q] = a < combos[4 * cl + 1] ? a : combos[4 * cl + 1];
        }
        if (STOP == 4) continue;
        /* 5. per enterprise: the aggregate limit, the cells' sums and the record */
        double xl_s = 0.0, fatal_s = 0.0;
        i64 cur = s * 4 * n_sectors;
        double run_acc = 0.0, run_dead = 0.0, run_paid = 0.0;
        i64 k0 = 0;
        while (k0 < k) {
            i64 e = be[k0], k1 = k0;
            double tot = 0.0;
            while (k1 < k && be[k1] == e) tot += ba[k1++];
            i64 at0 = bat[k0];
            double agg = combos[4 * (at0 & 0xFFFFFFFF) + 3];
            double scale = tot > agg ? agg / tot : 1.0;
            i64 sec = at0 >> 32;
            int level = 0, worst = 0, dead = 0;
            for (i64 q = k0; q < k1; q++) {
                double a = ba[q] * scale;
                if (tu != 1.0) a *= tu;
                if (xl_lim > 0) {
                    double t = (1.0 - xl_q) * a - xl_ret;
                    t = t > 0.0 ? t : 0.0;
                    xl_s += t < xl_lim ? t : xl_lim;
                }
                int code = bgd[q], g = code & 3, d = code >> 2;
                i64 cell = (s * 4 + g) * n_sectors + sec;
                if (cell != cur) {
                    cells_acc[cur] += run_acc, cells_dead[cur] += run_dead, cells_paid[cur] += run_paid;
                    cur = cell;
                    run_acc = run_dead = run_paid = 0.0;
                }
                run_acc += 1.0, run_dead += d, run_paid += a;
                if (d >= min_deaths) {
                    fatal_s += 1.0;
                    if (g + 1 > worst) worst = g + 1;
                }
                if (g + 1 > level) level = g + 1;
                dead += d;
            }
            if (records) {
                r_keys[n_rec] = s * n + e, r_level[n_rec] = level;
                if (all_columns) r_count[n_rec] = (int32_t)(k1 - k0), r_deaths[n_rec] = dead, r_fatal[n_rec] = worst;
                n_rec++;
            }
            k0 = k1;
        }
        cells_acc[cur] += run_acc, cells_dead[cur] += run_dead, cells_paid[cur] += run_paid;
        xl_rec[s] += xl_s;
        fatal[s] += fatal_s;
    }
    pos_state[0] = pa, pos_state[1] = pb, pos_state[2] = pc, pos_state[3] = pw;
    bank_state[0] = qa, bank_state[1] = qb, bank_state[2] = qc, bank_state[3] = qw;
    free(e_buf), free(px), free(ba), free(be), free(bj), free(bat), free(bm), free(pe), free(bgd);
    return n_rec;
}
