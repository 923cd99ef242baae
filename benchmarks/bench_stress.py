"""Stress-test engine benchmark: the Ningbo-scale case, its floor, dask workers, a million enterprises.

    python benchmarks/bench_stress.py            # full run, writes benchmarks/results/stress.md
    python benchmarks/bench_stress.py --quick    # 1,000 simulations, one repetition, no 1M case

Cases (issue 12):

1. **Ningbo scale**: the ``zhejiang-pilot-2015`` scheme on Ningbo's 78,200 enterprises, 5 years x
   10,000 simulations, baseline (floating rates and the prevention loop on), local backend in this
   process. Time of the engine (the preparation — loading the data set, fitting the accident model,
   pricing year 1, planning the fund — is reported apart), peak memory of the engine's arrays
   (tracemalloc) and of the process (max RSS).
2. **The floor**: numpy drawing two uniform numbers per simulated accident (the same number of
   accidents as the engine simulated, in the same blocks). Engine and floor runs alternate; the
   table gives medians and the spread (min–max) of the repetitions.
3. **Dask**: the same case on a LocalCluster with 1 and 2 worker processes (one thread each).
4. **A million enterprises x 1,000 simulations** (5 years) on a 2-worker LocalCluster: the Ningbo
   book's arrays replicated to 1,000,000 enterprises (building a million-enterprise data set, fitting
   and pricing it through the library ran 18 minutes on this shared machine without finishing, so
   the case measures the engine alone); time, workers' peak memory.

The machine is shared: the load average (``os.getloadavg``) is recorded before and after each case.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "stress.md"


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} / {b:.2f} / {c:.2f}"


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def engine_run(spec, eff, n_sims, seed, trace=False):
    """Time of the local engine; with ``trace`` (untimed) the peak of its arrays (tracemalloc)."""
    from safeins.simulation.backends import run

    if trace:
        tracemalloc.start()
    t = time.perf_counter()
    out = run(spec, [eff], n_sims=n_sims, seed=seed, chunk_size=1000, progress=False)[eff.name]
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else float("nan")
    if trace:
        tracemalloc.stop()
    return dt, peak, out


def floor_run(counts_per_block, seed):
    """Two uniforms per simulated accident, drawn block by block like the engine."""
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    for m in counts_per_block:
        rng.random((int(m), 2))
    return time.perf_counter() - t


def dask_run(spec, eff, n_sims, seed, workers):
    import dask
    from dask.distributed import Client, LocalCluster

    from safeins.simulation.backends import WORKER_ENVIRON, run

    env = {"distributed.nanny.pre-spawn-environ." + k: v for k, v in WORKER_ENVIRON.items()}
    with dask.config.set(env), LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=":0") as cluster, Client(cluster) as client:
        client.run(lambda: None)   # workers up before the clock starts
        t = time.perf_counter()
        out = run(spec, [eff], n_sims=n_sims, seed=seed, chunk_size=250, backend="dask",
                  client=client, progress=False)[eff.name]
        dt = time.perf_counter() - t
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    return dt, max(rss.values()), out


def prepare_ningbo(years):
    import safeins as si
    from safeins.stress._build import prepare
    from safeins.stress.scenarios import named

    t = time.perf_counter()
    prep = prepare(si.Scheme.load("zhejiang-pilot-2015").select(region="宁波"), years, 7)
    spec = prep.spec()
    eff = prep.effects(named("baseline"))
    return spec, eff, time.perf_counter() - t


def prepare_million(spec, eff, n: int = 1_000_000):
    """The Ningbo book replicated to ``n`` enterprises (rates, premiums, limits, prevention effects and
    the accident bank as prepared for Ningbo): the engine's cost depends on these arrays only."""
    from dataclasses import replace

    t = time.perf_counter()
    reps = -(-n // spec.book.n)

    def tile(x):
        return np.tile(x, reps)[:n]

    b = spec.book
    book = replace(b, ids=np.array([f"M{i:07d}" for i in range(n)], dtype=object),
                   **{f: tile(getattr(b, f)) for f in (
                       "sector", "region", "headcount", "burden_base", "credit", "base_premium",
                       "premium_year1", "per_accident_limit", "aggregate_limit", "rescue_limit")})
    fl = replace(spec.floating, static=tile(spec.floating.static))
    spec_m = replace(spec, book=book, floating=fl)
    eff_m = replace(eff, weights=np.tile(eff.weights, (1, reps))[:, :n],
                    accept=np.tile(eff.accept, (1, reps))[:, :n],
                    severity=np.tile(eff.severity, (1, reps))[:, :n],
                    fund_spend=eff.fund_spend * n / b.n, track=())
    return spec_m, eff_m, time.perf_counter() - t


def million(spec, eff) -> list[str]:
    print("one million enterprises ...", flush=True)
    l_before = load()
    spec_m, eff_m, prep_m = prepare_million(spec, eff)
    sims_m = 1_000
    dt, rss, out_m = dask_run(spec_m, eff_m, sims_m, 1, 2)
    acc_m = int(out_m["accidents"].sum() + out_m["avoided_accidents"].sum())
    return ["## 4. 1,000,000 enterprises x 1,000 simulations x 5 years, 2-worker LocalCluster", "",
            "The Ningbo book replicated to 1,000,000 enterprises (its rates, premiums, limits, prevention "
            f"effects and accident bank; built in {prep_m:.1f} s), baseline. Engine on the cluster "
            f"**{dt:.1f} s** for {acc_m:,} simulated candidate accidents "
            f"({dt / acc_m * 1e9 * 2:.0f} ns per accident per worker); workers' max RSS {rss:,.0f} MB "
            f"each; this process {max_rss_mb():,.0f} MB. Load {l_before} before, {load()} after.", ""]


def threads() -> str:
    try:
        from threadpoolctl import threadpool_info

        pools = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
    except ImportError:   # pragma: no cover
        pools = "threadpoolctl not installed"
    return (f"os.cpu_count() = {os.cpu_count()}; numpy thread pools: {pools or 'none'}; "
            "engine: 1 thread per process")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sims", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--dask-sims", type=int, default=1_000)
    ap.add_argument("--only-million", action="store_true",
                    help="run case 4 only and replace its section of the results file")
    args = ap.parse_args()
    if args.only_million:
        spec, eff, _ = prepare_ningbo(5)
        part = million(spec, eff)
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        head = text.split("## 4.")[0].rstrip("\n")
        RESULTS.write_text(head + "\n\n" + "\n".join(part) + "\n", encoding="utf-8")
        print("\n".join(part))
        return
    sims, reps = (1_000, 1) if args.quick else (args.sims, args.reps)
    years = 5
    lines = ["# Stress-test engine benchmark", "",
             f"`python benchmarks/bench_stress.py{' --quick' if args.quick else ''}` — "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}, "
             f"numpy {np.__version__}, {platform.machine()}.", "", threads(), "",
             "The machine is shared with other jobs; load averages (1 / 5 / 15 min) are given per case.",
             ""]

    print("preparing Ningbo ...", flush=True)
    l0 = load()
    spec, eff, prep_s = prepare_ningbo(years)
    lam = float(eff.weights[0].sum())
    lines += ["## 1–2. Ningbo scale: 78,200 enterprises x 5 years x "
              f"{sims:,} simulations, baseline (floating + prevention loop)", "",
              f"Preparation (data set, accident model fit, year-1 pricing, fund plan, accident bank): "
              f"{prep_s:.1f} s. Expected candidate accidents a year {lam:,.0f} (before prevention).", "",
              "| run | engine (s) | floor (s) | engine / floor | candidate accidents | load before |",
              "| --- | --- | --- | --- | --- | --- |"]
    et, ft = [], []
    # peak memory of the engine's arrays: one chunk of 1,000 simulations is live at a time, so a
    # 1,000-simulation run has the same peak apart from the (small) result arrays
    peak = engine_run(spec, eff, min(sims, 1000), 7, trace=True)[1]
    for r in range(reps):
        l_before = load()
        dt, _, out = engine_run(spec, eff, sims, 7)
        acc = out["accidents"] + out["avoided_accidents"]   # every candidate the engine placed
        per_block = acc.reshape(-1, 50, years).sum(axis=1).ravel()   # one draw per block and year
        fl = floor_run(per_block, r)
        et.append(dt)
        ft.append(fl)
        lines.append(f"| {r + 1} | {dt:.1f} | {fl:.2f} | {dt / fl:.1f} | {int(acc.sum()):,} | {l_before} |")
        print(lines[-1], flush=True)
    med_e, med_f = statistics.median(et), statistics.median(ft)
    ratio = [e / f for e, f in zip(et, ft, strict=True)]
    lines += ["", f"Median engine time **{med_e:.1f} s** (spread {min(et):.1f}–{max(et):.1f}); floor "
              f"{med_f:.2f} s ({min(ft):.2f}–{max(ft):.2f}); engine / floor "
              f"**{statistics.median(ratio):.1f}x** ({min(ratio):.1f}–{max(ratio):.1f}). "
              f"Engine arrays peak {peak:,.0f} MB (tracemalloc, chunks of 1,000 simulations); "
              f"process max RSS {max_rss_mb():,.0f} MB (includes the data set and the accident model). "
              f"Targets: < 30 s, < 4 GB, within 3x the floor. Load {l0} before, {load()} after.", ""]

    # ---- 3. dask workers
    n_d = min(args.dask_sims, sims)
    print("dask 1 vs 2 workers ...", flush=True)
    lines += [f"## 3. Dask LocalCluster: 1 vs 2 worker processes ({n_d:,} simulations, same case)", "",
              "| workers | time (s) | worker max RSS (MB) | load before |", "| --- | --- | --- | --- |"]
    times = {}
    for w in (1, 2) * (1 if args.quick else 2):
        l_before = load()
        dt, rss, out_d = dask_run(spec, eff, n_d, 7, w)
        times.setdefault(w, []).append(dt)
        lines.append(f"| {w} | {dt:.1f} | {rss:,.0f} | {l_before} |")
        print(lines[-1], flush=True)
    local = engine_run(spec, eff, n_d, 7)[2]
    run_check = all(np.array_equal(local[k], out_d[k]) for k in local)
    sp = statistics.median(times[1]) / statistics.median(times[2])
    lines += ["", f"Speed-up 1 → 2 workers: **{sp:.2f}x** (medians). Results identical to the local "
              f"backend: {run_check}.", ""]

    if not args.quick:
        lines += million(spec, eff)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())
