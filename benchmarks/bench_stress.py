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
   accidents as the engine simulated, in the same blocks; numpy's generator runs on one thread).
   The engine runs with its default threads (one per core: blocks side by side) and with one
   thread; engine and floor runs alternate, and the engine's CPU time (all threads) is given too; the
   table gives medians and the spread (min–max) of the repetitions, and the fastest engine run
   against the fastest floor run (on a shared machine both slow down at times, not together).
3. **Dask**: the same case on a LocalCluster with 1 and 2 worker processes (one thread each),
   8,000 simulations in two tasks of 4,000 (tasks of a few seconds: each worker prepares a
   scenario's tables and receives the spec once, about half a second that shorter tasks do not
   repay; tasks of 2,000 took under 2 s once the engine ran 27 ns a candidate, and 1 -> 2 workers
   measured 1.56x), after an untimed warm-up that loads the compiled kernels in every worker.
4. **A million enterprises x 1,000 simulations** (5 years) on a 2-worker LocalCluster: the Ningbo
   book's arrays replicated to 1,000,000 enterprises (building a million-enterprise data set, fitting
   and pricing it through the library ran 18 minutes on this shared machine without finishing, so
   the case measures the engine alone); time, workers' peak memory.

The engine runs its compiled kernel (``kernel="numba"``); the numpy kernel (the same numbers) is
timed once on 1,000 simulations for comparison. The kernel's compile time (first call on a machine,
empty numba cache) and its load time from the cache are measured in fresh interpreters.

The machine is shared: the load average (``os.getloadavg``) is recorded before and after each case,
and the engine's CPU time (``time.process_time``) is given beside its wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
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


def engine_run(spec, eff, n_sims, seed, trace=False, kernel="numba", threads=None):
    """Wall and CPU time (all threads) of the local engine; with ``trace`` (untimed) the peak of its
    arrays (tracemalloc)."""
    from safeins.simulation.backends import run

    if trace:
        tracemalloc.start()
    t, c = time.perf_counter(), time.process_time()
    out = run(spec, [eff], n_sims=n_sims, seed=seed, chunk_size=1000, progress=False,
              kernel=kernel, threads=threads)[eff.name]
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else float("nan")
    if trace:
        tracemalloc.stop()
    return dt, peak, out, cpu


_COMPILE = """
import time
import numpy as np
t = time.perf_counter()
from safeins.simulation.backends import run
from safeins.simulation.spec import (AccidentBank, BookArrays, Effects, EngineSpec, Finance,
                                     FloatingTables, Reinsurance)
n, years = 3, 2
one = np.ones(n)
book = BookArrays(ids=np.array(["a", "b", "c"], dtype=object), sector=np.zeros(n, np.int64),
                  sectors=("s",), region=np.zeros(n, np.int64), regions=("r",), headcount=one,
                  burden_base=one, credit=np.zeros(n, np.int64), base_premium=one * 100,
                  premium_year1=one * 100, per_accident_limit=one * 1e6, aggregate_limit=one * 1e6,
                  rescue_limit=one * 1e6, min_premium=one * 50)
bank = AccidentBank(size=4, deaths=np.ones(4, np.int64), serious=np.zeros(4, np.int64),
                    grade=np.zeros(4, np.int8))
fl = FloatingTables("multiplicative", 0.5, 2.0, one, grade=np.array([0, .3, .5, .5, .5]))
spec = EngineSpec(book=book, floating=fl, bank=bank, reinsurance=Reinsurance(),
                  finance=Finance(0.0, 0.0, 0.0), years=years, first_year=2024)
eff = Effects(name="t", weights=np.ones((years, n)), accept=np.full((years, n), 0.5),
              severity=np.ones((years, n)), fund_spend=np.zeros(years), fund_budget_share=0.0,
              covered=np.ones((years, 4)), rescue=np.ones((years, 4)))
run(spec, [eff], n_sims=50, seed=1, progress=False, kernel="numba")
print(time.perf_counter() - t)
"""


def _warm_worker() -> None:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):   # a tiny run: imports safeins and numba, loads
        exec(_COMPILE, {})                             # the kernels from the cache


def compile_times() -> tuple[float, float]:
    """Seconds of a tiny run in a fresh interpreter: with an empty numba cache (compiling the
    kernels), then with the cache that run filled (loading them)."""
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "NUMBA_CACHE_DIR": d}
        out = [float(subprocess.run([sys.executable, "-c", _COMPILE], env=env, capture_output=True,
                                    text=True, check=True).stdout.split()[-1]) for _ in range(2)]
    return out[0], out[1]


def floor_run(counts_per_block, seed):
    """Two uniforms per simulated accident, drawn block by block like the engine."""
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    for m in counts_per_block:
        rng.random((int(m), 2))
    return time.perf_counter() - t


def dask_run(spec, eff, n_sims, seed, workers, chunk_size=500):
    import dask
    from dask.distributed import Client, LocalCluster

    from safeins.simulation.backends import WORKER_ENVIRON, run

    env = {"distributed.nanny.pre-spawn-environ." + k: v for k, v in WORKER_ENVIRON.items()}
    with dask.config.set(env), LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=":0") as cluster, Client(cluster) as client:
        # workers up and the compiled kernels loaded in every worker before the clock starts (a
        # worker's first stress task otherwise pays numba's import and cache load, case 0)
        client.run(_warm_worker)
        run(spec, [eff], n_sims=50, seed=seed, chunk_size=50, backend="dask", client=client,
            progress=False)
        cpu0 = client.run(time.process_time)
        t = time.perf_counter()
        out = run(spec, [eff], n_sims=n_sims, seed=seed, chunk_size=chunk_size, backend="dask",
                  client=client, progress=False)[eff.name]
        dt = time.perf_counter() - t
        cpu = [v - cpu0[k] for k, v in client.run(time.process_time).items()]
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    return dt, max(rss.values()), out, cpu


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
    if b.min_premium is not None:
        book = replace(book, min_premium=tile(b.min_premium))
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
    dt, rss, out_m, cpu_m = dask_run(spec_m, eff_m, sims_m, 1, 2)
    acc_m = int(out_m["accidents"].sum() + out_m["avoided_accidents"].sum())
    return ["## 4. 1,000,000 enterprises x 1,000 simulations x 5 years, 2-worker LocalCluster", "",
            "The Ningbo book replicated to 1,000,000 enterprises (its rates, premiums, limits, prevention "
            f"effects and accident bank; built in {prep_m:.1f} s), baseline. Engine on the cluster "
            f"**{dt:.1f} s** for {acc_m:,} simulated candidate accidents "
            f"({dt / acc_m * 1e9 * 2:.0f} ns per accident per worker; workers' CPU "
            f"{' + '.join(f'{c:.1f}' for c in cpu_m)} s); workers' max RSS {rss:,.0f} MB "
            f"each; this process {max_rss_mb():,.0f} MB. Load {l_before} before, {load()} after.", ""]


def thread_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        pools = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
    except ImportError:   # pragma: no cover
        pools = "threadpoolctl not installed"
    from safeins._base.threads import available_cores

    return (f"os.cpu_count() = {os.cpu_count()}; numpy thread pools: {pools or 'none'}; "
            f"engine (local backend): {available_cores()} threads by default (`threads=None`: one "
            "per available core; blocks of 50 simulations run side by side), also timed with 1; "
            "floor: numpy's generator, 1 thread (it has no other); dask: 1 thread per worker")


def run(quick: bool = False) -> None:
    """Entry point of benchmarks/run.py."""
    main(["--quick"] if quick else [])


def _reading() -> str:
    """The hand-written "Reading the numbers" section of the results file, kept across runs."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    at = text.find("## Reading the numbers")
    return text[at:].rstrip("\n") if at >= 0 else ""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sims", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dask-sims", type=int, default=8_000)
    ap.add_argument("--only-million", action="store_true",
                    help="run case 4 only and replace its section of the results file")
    args = ap.parse_args(argv)
    reading = _reading()
    if args.only_million:
        spec, eff, _ = prepare_ningbo(5)
        part = million(spec, eff)
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        head = text.split("## 4.")[0].rstrip("\n")
        tail = "\n\n" + reading if reading else ""
        RESULTS.write_text(head + "\n\n" + "\n".join(part) + tail + "\n", encoding="utf-8")
        print("\n".join(part))
        return
    sims, reps = (1_000, 1) if args.quick else (args.sims, args.reps)
    years = 5
    lines = ["# Stress-test engine benchmark", "",
             f"`python benchmarks/bench_stress.py{' --quick' if args.quick else ''}` — "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}, "
             f"numpy {np.__version__}, {platform.machine()}.", "", thread_info(), "",
             "The machine is shared with other jobs; load averages (1 / 5 / 15 min) are given per case.",
             ""]

    print("compiling the kernel ...", flush=True)
    compile_s, cached_s = compile_times()
    lines += ["## 0. The compiled kernel", "",
              f"A tiny run in a fresh interpreter with an empty numba cache (import, compile, run): "
              f"**{compile_s:.1f} s**; again with the cache it filled: {cached_s:.1f} s. The first "
              "stress test on a machine pays the compile time once (`cache=True`); every later "
              "process loads the kernels from the cache. Load " + load() + ".", ""]
    print(lines[-2], flush=True)

    print("preparing Ningbo ...", flush=True)
    l0 = load()
    spec, eff, prep_s = prepare_ningbo(years)
    lam = float(eff.weights[0].sum())
    lines += ["## 1–2. Ningbo scale: 78,200 enterprises x 5 years x "
              f"{sims:,} simulations, baseline (floating + prevention loop)", "",
              f"Preparation (data set, accident model fit, year-1 pricing, fund plan, accident bank): "
              f"{prep_s:.1f} s. Expected candidate accidents a year {lam:,.0f} (before prevention).", "",
              "| run | threads | engine (s) | engine CPU (s) | floor (s) | engine / floor | engine CPU / "
              "floor | candidate accidents | load before |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    from safeins._base.threads import available_cores

    cores = available_cores()
    et: dict[int, list] = {}
    ct: dict[int, list] = {}
    ft: list = []
    ratio: dict[int, list] = {}
    # peak memory of the engine's arrays: one chunk of 1,000 simulations is live at a time, so a
    # 1,000-simulation run has the same peak apart from the (small) result arrays
    _, peak, small, _ = engine_run(spec, eff, min(sims, 1000), 7, trace=True)
    runs = 0
    for r in range(reps):
        # engine (all cores), floor, engine (one thread): alternated, each ratio against the floor
        # measured between them
        for n_threads in ((cores, 1) if cores > 1 else (1,)):
            l_before = load()
            dt, _, out, cpu = engine_run(spec, eff, sims, 7, threads=n_threads)
            acc = out["accidents"] + out["avoided_accidents"]   # every candidate the engine placed
            per_block = acc.reshape(-1, 50, years).sum(axis=1).ravel()   # one draw per block and year
            if n_threads == cores:
                fl = floor_run(per_block, r)
                ft.append(fl)
            runs += 1
            et.setdefault(n_threads, []).append(dt)
            ct.setdefault(n_threads, []).append(cpu)
            ratio.setdefault(n_threads, []).append(dt / ft[-1])
            lines.append(f"| {runs} | {n_threads} | {dt:.1f} | {cpu:.1f} | {ft[-1]:.2f} | "
                         f"{dt / ft[-1]:.1f} | {cpu / ft[-1]:.1f} | {int(acc.sum()):,} | {l_before} |")
            print(lines[-1], flush=True)
    med_f = statistics.median(ft)

    def spread(v):
        return f"{statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})"

    def fastest(t):   # on a shared machine, the least disturbed run of each
        return f"fastest engine / fastest floor {min(et[t]) / min(ft):.1f}x"

    lines += ["", f"Floor {med_f:.2f} s ({min(ft):.2f}–{max(ft):.2f}). " + "; ".join(
        f"{t} thread{'s' if t > 1 else ''}: engine **{spread(et[t])} s**, engine / floor "
        f"**{spread(ratio[t])}x** ({fastest(t)}), CPU {spread(ct[t])} s"
        for t in sorted(et, reverse=True)) + ". "
              f"Engine arrays peak {peak:,.0f} MB (tracemalloc, chunks of 1,000 simulations); "
              f"process max RSS {max_rss_mb():,.0f} MB (includes the data set and the accident model). "
              f"Targets: < 30 s, < 4 GB, within 3x the floor. Load {l0} before, {load()} after.", ""]
    n_np = min(sims, 1000)
    l_before = load()
    dt_c = engine_run(spec, eff, n_np, 7, threads=1)[0]
    dt_np, _, out_np, _ = engine_run(spec, eff, n_np, 7, kernel="numpy", threads=1)
    same = all(np.allclose(out_np[k], small[k], rtol=1e-12, atol=1e-6) for k in small)
    lines += [f"The numpy kernel on {n_np:,} simulations (1 thread): {dt_np:.1f} s against {dt_c:.1f} s "
              f"compiled ({dt_np / dt_c:.1f}x); same numbers (1e-12): {same}. Load {l_before} before.", ""]
    print(lines[-2], flush=True)

    # ---- 3. dask workers
    n_d = min(args.dask_sims, sims)
    print("dask 1 vs 2 workers ...", flush=True)
    lines += [f"## 3. Dask LocalCluster: 1 vs 2 worker processes ({n_d:,} simulations, same case)", "",
              "| workers | time (s) | workers' CPU (s) | worker max RSS (MB) | load before |",
              "| --- | --- | --- | --- | --- |"]
    times = {}
    for w in (1, 2) * (1 if args.quick else 2):
        l_before = load()
        dt, rss, out_d, cpu = dask_run(spec, eff, n_d, 7, w, chunk_size=max(n_d // 2, 50))
        times.setdefault(w, []).append(dt)
        lines.append(f"| {w} | {dt:.1f} | {' + '.join(f'{c:.1f}' for c in cpu)} | {rss:,.0f} | {l_before} |")
        print(lines[-1], flush=True)
    local = engine_run(spec, eff, n_d, 7)[2]
    run_check = all(np.array_equal(local[k], out_d[k]) for k in local)
    sp = statistics.median(times[1]) / statistics.median(times[2])
    lines += ["", f"Speed-up 1 → 2 workers: **{sp:.2f}x** (medians). Results identical to the local "
              f"backend: {run_check}.", ""]

    if not args.quick:
        lines += million(spec, eff)
    if reading:  # re-read it against the new figures
        lines += ["", reading]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())
