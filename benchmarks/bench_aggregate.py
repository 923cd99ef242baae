"""Compound-loss benchmark: safeins against GEMAct, aggregate (and R's actuar when installed).

Run inside the benchmark virtualenv (``pip install -r benchmarks/requirements.txt``):

    python benchmarks/bench_aggregate.py            # full run, writes benchmarks/results/aggregate.md
    python benchmarks/bench_aggregate.py --quick    # smaller grids, one repetition

Cases (issue 3): Poisson(3) and Poisson(1000) claim counts with a lognormal severity of mean
84,541.68 and standard deviation 177,728.3, lattice step 500 (5,000 for the Panjer run with
Poisson(1000), whose total does not fit on 2^16 points of 500).

- FFT, 2^20 points: time and the relative errors of the mean, standard deviation and skewness
  against the exact moments.
- Panjer, 2^16 points: GEMAct's recursion and actuar's ``aggregateDist("recursive")``; actuar
  stops when P(S = 0) underflows (lambda > ~745), safeins does not.
- Monte Carlo: simulated years per second with the same lognormal severity.

Timings are medians of N wall-clock runs (``time.perf_counter``; N = 15 for the FFT cases, after
one untimed warm-up call of each library, 5 otherwise) in one process, the libraries
alternating (the order flips every round), with the spread, threads and load in the header;
ratios are safeins time / peer time and the speed-up peer time / safeins time.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

MEAN, SD = 84_541.68, 177_728.3
SIGMA2 = math.log(1 + (SD / MEAN) ** 2)
SIGMA = math.sqrt(SIGMA2)
MU = math.log(MEAN) - SIGMA2 / 2
RESULTS = Path(__file__).resolve().parent / "results" / "aggregate.md"


def exact_moments(lam: float) -> tuple[float, float, float]:
    """Mean, standard deviation and skewness of compound Poisson(lam) x lognormal."""
    m = [math.exp(k * MU + 0.5 * k * k * SIGMA2) for k in (1, 2, 3)]
    mean = lam * m[0]
    var = lam * m[1]
    return mean, math.sqrt(var), lam * m[2] / var**1.5


def lattice_moments(x, p) -> tuple[float, float, float]:
    x = np.asarray(x, dtype=float)
    p = np.asarray(p, dtype=float)
    if p.sum() < 0.5:  # the grid misses most of the distribution
        return math.nan, math.nan, math.nan
    m = float(np.dot(x, p))
    c = x - m
    v = float(np.dot(c * c, p))
    return m, math.sqrt(v), float(np.dot(c**3, p)) / v**1.5


def best_of(fn, repeat: int, budget: float = 120.0):
    """Median wall-clock time of ``repeat`` calls (fewer if the calls exceed the budget)."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        if sum(times) > budget:
            break
    SPREAD[id(out)] = times
    return float(np.median(times)), out


SPREAD: dict[int, list[float]] = {}


def round_robin(runners: dict, repeat: int, warm: bool = False):
    """Median time of each runner over ``repeat`` rounds in which every runner runs once; the
    order of the runners flips every round (ours first, then theirs first, ...). ``warm``: one
    untimed call of each first (imports and first-call caches of every library out of the
    timings)."""
    times: dict = {k: [] for k in runners}
    outs: dict = {}
    labels = list(runners)
    for label in labels if warm else ():
        try:
            runners[label]()
        except Exception as err:  # reported in the table
            outs[label] = err
    for r in range(repeat):
        for label in (labels if r % 2 == 0 else labels[::-1]):
            if isinstance(outs.get(label), Exception):
                continue
            t = time.perf_counter()
            try:
                outs[label] = runners[label]()
            except Exception as err:  # reported in the table
                outs[label] = err
                continue
            times[label].append(time.perf_counter() - t)
    return {k: (float(np.median(v)) if v else math.inf) for k, v in times.items()}, outs, times


def rel_errors(got, exact) -> str:
    return " / ".join(f"{abs(g / e - 1):.1e}" for g, e in zip(got, exact, strict=True))


# --- safeins ------------------------------------------------------------------------------------
def safeins_fft(lam, step, log2, disc):
    from safeins.losses import LogNormal, Poisson
    from safeins.losses.aggregate import Aggregate

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Aggregate(Poisson(lam), LogNormal(MU, SIGMA), method="fft", step=step,
                             n=2**log2, discretization=disc)

    return run


def safeins_panjer(lam, step, log2):
    from safeins.losses import LogNormal, Poisson
    from safeins.losses.aggregate import Aggregate

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Aggregate(Poisson(lam), LogNormal(MU, SIGMA), method="panjer", step=step,
                             n=2**log2, discretization="rounding")

    return run


def safeins_mc(lam, n_sims):
    from safeins.losses import LogNormal, Poisson
    from safeins.losses.aggregate import Aggregate

    def run():
        return Aggregate(Poisson(lam), LogNormal(MU, SIGMA), method="simulation",
                         n_sims=n_sims, seed=1)

    return run


# --- GEMAct -------------------------------------------------------------------------------------
def gemact_model(lam, step, log2, method, disc="massdispersal", n_sim=10_000):
    from gemact import Frequency, LossModel, PolicyStructure, Severity

    def run():
        return LossModel(
            frequency=Frequency(dist="poisson", par={"mu": lam}),
            severity=Severity(dist="lognormal", par={"shape": SIGMA, "scale": math.exp(MU)}),
            policystructure=PolicyStructure(),
            aggr_loss_dist_method=method,
            n_aggr_dist_nodes=2**log2,
            sev_discr_method=disc,
            sev_discr_step=step,
            n_sev_discr_nodes=2**log2,
            n_sim=n_sim,
            random_state=1,
        )

    return run


# --- aggregate (Mildenhall) ---------------------------------------------------------------------
def aggregate_fft(lam, step, log2, padding=0):
    from aggregate import Aggregate as MAgg

    def run():
        a = MAgg("bench", exp_en=lam, sev_name="lognorm", sev_mean=MEAN, sev_cv=SD / MEAN,
                 freq_name="poisson")
        # a transform of 2^(log2 + padding) points: the caller passes the padding safeins chose
        # (its aliasing bound decides), so that both transforms have the same length
        a.update(log2=log2, bs=step, padding=padding, normalize=False)
        return a

    return run


# --- actuar (R) ---------------------------------------------------------------------------------
ACTUAR_SCRIPT = r"""
suppressMessages(library(actuar))
args <- commandArgs(TRUE)
lam <- as.numeric(args[1]); h <- as.numeric(args[2]); n <- as.integer(args[3])
reps <- as.integer(args[4])
mu <- as.numeric(args[5]); sigma <- as.numeric(args[6])
fx <- discretize(plnorm(x, mu, sigma), from = 0, to = n * h, step = h, method = "rounding")
best <- Inf; res <- NULL
for (i in seq_len(reps)) {
  t <- proc.time()[["elapsed"]]
  res <- tryCatch(aggregateDist("recursive", model.freq = "poisson", model.sev = fx,
                                lambda = lam, x.scale = h, maxit = n, tol = 1e-12),
                  error = function(e) e)
  best <- min(best, proc.time()[["elapsed"]] - t)
  if (inherits(res, "error")) break
}
if (inherits(res, "error")) {
  cat("ERROR", best, gsub("\n", " ", conditionMessage(res)), "\n")
} else {
  k <- knots(res); p <- diff(c(0, res(k)))
  m <- sum(k * p); s <- sqrt(sum((k - m)^2 * p)); g <- sum((k - m)^3 * p) / s^3
  cat("OK", best, m, s, g, "\n")
}
"""


def actuar_panjer(lam, step, log2, repeat):
    if shutil.which("Rscript") is None:
        return None, "Rscript not installed"
    ok = subprocess.run(["Rscript", "-e", "library(actuar)"], capture_output=True, text=True)
    if ok.returncode != 0:
        return None, "R package actuar not installed (apt-get install r-cran-actuar)"
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(ACTUAR_SCRIPT)
        path = fh.name
    try:
        out = subprocess.run(
            ["Rscript", path, str(lam), str(step), str(2**log2), str(repeat), repr(MU),
             repr(SIGMA)], capture_output=True, text=True, timeout=1800)
    finally:
        os.unlink(path)
    words = out.stdout.split()
    if not words:
        return None, f"actuar failed: {out.stderr.strip()[:200]}"
    if words[0] == "ERROR":
        return None, "fails: " + " ".join(words[2:])
    return float(words[1]), tuple(float(w) for w in words[2:5])


# --- the run --------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller grids, one repetition")
    ap.add_argument("--repeat", type=int, default=None, help="timing repetitions (best of)")
    ap.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = ap.parse_args(argv)
    import logging

    import gemact  # noqa: F401  (imported first: it configures its loggers on import)

    logging.disable(logging.WARNING)  # GEMAct logs every step at INFO
    from _timing import Machine

    machine = Machine()
    repeat = args.repeat or (1 if args.quick else 5)
    # the FFT runs take a few tenths of a second: more rounds give a steadier median under load
    fft_repeat = args.repeat or (1 if args.quick else 15)
    fft_log2 = 16 if args.quick else 20
    pj_log2 = 12 if args.quick else 16
    mc_sims = 20_000 if args.quick else 1_000_000
    mc_sims_peer = 20_000 if args.quick else 200_000
    rows: list[tuple] = []

    def add(case, lib, seconds, moments, exact, note="", base=None):
        err = rel_errors(moments, exact) if moments is not None else "-"
        rows.append([case, lib, seconds, err, note, base])

    # FFT ---------------------------------------------------------------------------------------
    # the libraries take turns (round robin), so a burst of load on a shared machine hits all
    for lam in (3.0, 1000.0):
        exact = exact_moments(lam)
        case = f"FFT 2^{fft_log2}, Poisson({lam:g}) x LN, step 500"
        # like for like: aggregate gets the FFT length safeins chose (pad 1 or 2)
        padding = round(math.log2(safeins_fft(lam, 500.0, fft_log2, "rounding")().pad_))
        runners = {
            "safeins fft (rounding)": safeins_fft(lam, 500.0, fft_log2, "rounding"),
            "safeins fft (unbiased)": safeins_fft(lam, 500.0, fft_log2, "unbiased"),
            "gemact fft (massdispersal)": gemact_model(lam, 500.0, fft_log2, "fft"),
            "aggregate fft (round)": aggregate_fft(lam, 500.0, fft_log2, padding),
        }
        times, outs, spread = round_robin(runners, fft_repeat, warm=True)
        for label in runners:
            out, t = outs[label], times[label]
            runs = (f"{len(spread[label])} runs {min(spread[label]):.3g}-{max(spread[label]):.3g} s; "
                    if spread[label] else "")
            if isinstance(out, Exception):  # a peer failing is a result, not a crash
                add(case, label, math.nan, None, exact, f"fails: {out!r}"[:120])
            elif label.startswith("safeins"):
                add(case, label, t, lattice_moments(*out.lattice()), exact,
                    f"{runs}FFT length {out.pad_ * 2**fft_log2:,.0f} (scipy.fft, 1 thread), "
                    f"aliasing <= {out.aliasing_:.1e}, lost {out.mass_lost_:.1e}",
                    base=label.endswith("(rounding)"))
            elif label.startswith("gemact"):
                add(case, label, t, (out.mean(), out.std(), out.skewness()), exact, runs)
            else:
                # like-for-like: the moments of the lattice each library returns. aggregate's own
                # est_m/est_sd/est_skew are not the lattice's moments (they are shown in the note).
                dens = out.density_df
                add(case, label, t, lattice_moments(dens["loss"].to_numpy(), dens["p_total"].to_numpy()),
                    exact, f"{runs}FFT length {2**(fft_log2 + padding):,} (scipy.fft, 1 thread); "
                    "its own est_*: "
                    f"{rel_errors((out.est_m, out.est_sd, out.est_skew), exact)}")

    # Panjer ------------------------------------------------------------------------------------
    for lam, step in ((3.0, 500.0), (1000.0, 5000.0 * 2 ** (16 - pj_log2))):
        exact = exact_moments(lam)
        case = f"Panjer 2^{pj_log2}, Poisson({lam:g}) x LN, step {step:g}"
        t, agg = best_of(safeins_panjer(lam, step, pj_log2), repeat)
        add(case, "safeins panjer (rounding)", t, lattice_moments(*agg.lattice()), exact,
            f"lost {agg.mass_lost_:.1e}", base=True)
        try:
            t, g = best_of(gemact_model(lam, step, pj_log2, "recursion"), 1, budget=600)
            ok = math.isfinite(g.mean()) and g.mean() > 0
            add(case, "gemact recursion (massdispersal)", t,
                (g.mean(), g.std(), g.skewness()) if ok else None, exact,
                "" if ok else "returns no distribution: P(S=0) underflows")
        except Exception as err:
            add(case, "gemact recursion", math.nan, None, exact, f"fails: {err!r}"[:120])
        t, res = actuar_panjer(lam, step, pj_log2, max(1, repeat // 2))
        if t is None:
            add(case, "actuar aggregateDist recursive", math.nan, None, exact, res)
        else:
            add(case, "actuar aggregateDist recursive", t, res, exact)

    # Monte Carlo -------------------------------------------------------------------------------
    for lam in (3.0, 1000.0):
        exact = exact_moments(lam)
        n_ours = mc_sims if lam < 100 else max(mc_sims // 100, 2_000)
        n_peer = mc_sims_peer if lam < 100 else max(mc_sims_peer // 100, 2_000)
        case = f"Monte Carlo, Poisson({lam:g}) x LN (rate = simulated years / s)"
        runners = {
            "safeins": safeins_mc(lam, n_ours),
            "gemact": gemact_model(lam, 500.0, 8, "mc", n_sim=n_peer),
        }
        times, outs, spread = round_robin(runners, max(1, repeat // 2) if lam > 100 else repeat)
        s, t = outs["safeins"], times["safeins"]
        add(case, f"safeins simulation ({n_ours:,} years)", t / n_ours,
            (s.mean(), s.std(), s.skew()), exact, f"{n_ours / t:,.0f} years/s", base=True)
        g, t = outs["gemact"], times["gemact"]
        if isinstance(g, Exception):
            add(case, "gemact mc", math.nan, None, exact, f"fails: {g!r}"[:120])
        else:
            add(case, f"gemact mc ({n_peer:,} years)", t / n_peer,
                (g.mean(), g.std(), g.skewness()), exact, f"{n_peer / t:,.0f} years/s")

    table = render(rows, args) + "\n\n" + "\n".join(machine.header()[1:])
    print(table)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(table + "\n")
        print(f"\nwritten to {RESULTS}")
    return 0


def render(rows, args) -> str:
    import aggregate
    import gemact

    import safeins

    head = [
        "# Compound-loss benchmark",
        "",
        f"python {platform.python_version()}, numpy {np.__version__}, safeins "
        f"{safeins.__version__}, gemact {gemact.__version__}, aggregate {aggregate.__version__}; "
        f"{platform.machine()}, {os.cpu_count()} cores. Times: median of N alternated runs "
        "(the order of the libraries flips every round), wall clock, seconds "
        "(Monte Carlo: seconds per simulated year); the FFT cases start with one untimed call of "
        "each library (imports, caches), and safeins and aggregate both transform with scipy.fft "
        "on one thread (workers=1). Errors: relative error of mean / std / "
        "skewness against the exact compound moments. ratio = safeins / peer; speed-up = "
        "peer / safeins.",
        "",
        "| case | library | time (s) | ratio | speed-up | rel. error mean / std / skew | note |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    base_time: dict[str, float] = {}
    for case, _lib, t, _err, _note, base in rows:
        if base:
            base_time[case] = t
    lines = []
    for case, lib, t, err, note, base in rows:
        b = base_time.get(case)
        if base or b is None or not math.isfinite(t):
            ratio = speed = "-"
        else:
            ratio, speed = f"{b / t:.3f}", f"{t / b:.1f}x"
        ts = f"{t:.3g}" if math.isfinite(t) else "-"
        lines.append(f"| {case} | {lib} | {ts} | {ratio} | {speed} | {err} | {note} |")
    return "\n".join(head + lines)


def run(quick: bool = False) -> None:
    """Entry point of benchmarks/run.py: this benchmark, then the FFT fidelity check (which
    rewrites benchmarks/results/fft-fidelity.md)."""
    status = main(["--quick"] if quick else [])
    import check_fft_fidelity

    check_fft_fidelity.main()
    sys.exit(status)


if __name__ == "__main__":
    sys.exit(main())
