"""The compiled accident step against a C port of it: how much is numba's code, how much the work.

    python benchmarks/bench_step_c.py            # writes benchmarks/results/step_c.md
    python benchmarks/bench_step_c.py --quick    # 3 repetitions

The stress engine's accident step (``safeins.simulation._kernel.accidents``, compiled by numba) is
ported line for line to C in ``benchmarks/step_c/accident_step.c``: the same loops, prefetches,
random numbers (numpy's SFC64 step and exponential ziggurat) and order of every sum. This script

1. captures the arguments of one Ningbo block-year (year 2 of the first block of 50 simulations,
   the baseline scenario of ``bench_stress.py``) as the engine passes them to the step;
2. compiles the port with gcc, ``-O3 -march=native`` (numba compiles for the host processor too)
   and ``-ffp-contract=off`` (numba does not fuse multiplies and adds, which would round
   differently), once whole and once stopped after each of its five phases;
3. checks that the port writes the same numbers as the numba step, to the last bit;
4. times the numba step and the port in alternation (one thread each, the arguments copied afresh
   outside the clock), and the port's phases.

The step's own pricing is left out of both (``price=False``): the port does not carry it. It needs
gcc; without it the script says so and writes no results.
"""

from __future__ import annotations

import copy
import ctypes
import inspect
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from safeins.simulation import _kernel

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "step_c" / "accident_step.c"
RESULTS = HERE / "results" / "step_c.md"
FLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-shared", "-fPIC"]
PHASES = ["spacings", "placing with the guide table", "walk and thinning", "bank rows",
          "sums and records"]
#: the step's arguments in order, for naming and checking the outputs
ARGS = tuple(inspect.signature(_kernel.accidents.py_func).parameters)


def capture_block_year(year: int = 1) -> tuple:
    """The accident step's arguments for ``year`` (0-based) of the first block, as the engine
    passes them: the engine is run on one block with its step wrapped to copy them."""
    from bench_stress import prepare_ningbo

    from safeins.simulation import engine
    from safeins.simulation.backends import run

    spec, eff, _ = prepare_ningbo(5)
    real = engine.kernel_function("numba")
    seen: list = []

    def step(*args):
        seen.append(copy.deepcopy(args))
        return real.accidents(*args)

    wrapped = engine.Kernel("numba", step, real.reprice)
    original = engine.kernel_function
    engine.kernel_function = lambda kernel="auto": wrapped   # _run_block looks the kernel up here
    try:
        run(spec, [eff], n_sims=engine.BLOCK, seed=7, chunk_size=engine.BLOCK, progress=False,
            kernel="numba", threads=1)
    finally:
        engine.kernel_function = original
    args = dict(zip(ARGS, seen[year], strict=True))
    args["records"] = 1      # the mode the benchmark's case runs in (engine.RECORDS["pricing"])
    args["price"] = False    # the port leaves the step's pricing out
    if len(args["x_ent"]) or args["n_track"] or args["bank_size"] & (args["bank_size"] - 1):
        raise SystemExit("the port covers no fixed accidents, no tracking and banks of 2**b entries")
    return tuple(args[a] for a in ARGS)


def compile_port(stop: int, out_dir: Path) -> ctypes.CDLL:
    """The port compiled with gcc, stopped after phase ``stop`` (5: whole)."""
    lib = out_dir / f"accident_step_{stop}.so"
    subprocess.run(["gcc", *FLAGS, f"-DSTOP={stop}", "-o", str(lib), str(SOURCE), "-lm"], check=True)
    cdll = ctypes.CDLL(str(lib))
    cdll.accident_step.restype = ctypes.c_int64
    return cdll


def call_port(cdll: ctypes.CDLL, args: tuple) -> int:
    """Run the port on ``args`` (filled in place, as the numba step fills them)."""
    a = dict(zip(ARGS, args, strict=True))
    all_columns = a["records"] == 2 or not _kernel._reads_levels_only.py_func(a["pricing"][3])
    p = [x.ctypes.data_as(ctypes.c_void_p) for x in (
        a["pos_state"], a["bank_state"], a["counts"], a["guide"], a["ctab"], a["attr"], a["combos"],
        a["bamt"], a["bcode"], a["cells_acc"], a["cells_dead"], a["cells_paid"], a["avoided"],
        a["avoided_deaths"], a["xl_rec"], a["fatal"], a["r_keys"], a["r_level"], a["r_count"],
        a["r_deaths"], a["r_fatal"], _kernel._KE, _kernel._WE, _kernel._FE)]
    i, d = ctypes.c_int64, ctypes.c_double
    return cdll.accident_step(
        p[0], p[1], p[2], i(len(a["counts"])), d(a["total"]), i(int(a["thin"])), p[3], i(len(a["guide"])),
        p[4], p[5], i(len(a["ctab"])), p[6], p[7], p[8], i(a["bank_size"]), d(a["tu"]), i(a["n_sectors"]),
        d(a["xl_q"]), d(a["xl_ret"]), d(a["xl_lim"]), i(a["min_deaths"]), i(int(a["records"])),
        i(int(all_columns)), *p[9:])


def differing(a: tuple, b: tuple) -> list[str]:
    """The output arrays in which two runs differ (every bit compared)."""
    return [name for name, x, y in zip(ARGS, a, b, strict=True)
            if isinstance(x, np.ndarray) and not np.array_equal(x, y)]


def run(quick: bool = False) -> None:
    """Entry point of benchmarks/run.py."""
    import llvmlite.binding
    import numba
    from _timing import Machine, alternate, command, write

    machine = Machine()
    try:
        gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        print("gcc is not installed: no C port to compare; nothing written")
        return
    reps = 3 if quick else 21
    args = capture_block_year()
    n_cand = int(args[ARGS.index("counts")].sum())
    with tempfile.TemporaryDirectory() as tmp:
        ports = {stop: compile_port(stop, Path(tmp)) for stop in range(1, 6)}
        ours, theirs = copy.deepcopy(args), copy.deepcopy(args)
        n_ours, n_theirs = _kernel.accidents(*ours), call_port(ports[5], theirs)
        diff = differing(ours, theirs)
        if diff or n_ours != n_theirs:
            raise SystemExit(f"the port and the numba step differ in {diff or 'the record count'}")
        contenders = {"numba": lambda a: _kernel.accidents(*a),
                      **{f"C {s}": (lambda a, s=s: call_port(ports[s], a)) for s in range(1, 6)}}
        # the step writes into its arguments: each run gets a fresh copy, made outside the clock
        seconds, _ = alternate(contenders, reps, setup=lambda: (copy.deepcopy(args),))
        ns = {name: [t / n_cand * 1e9 for t in v] for name, v in seconds.items()}

    def cell(v):
        return f"{statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})"

    best_n, best_c = min(ns["numba"]), min(ns["C 5"])
    lines = ["# The accident step: numba against a C port", "", *machine.header(
        f"numba {numba.__version__} (LLVM {'.'.join(map(str, llvmlite.binding.llvm_version_info))})",
        "gcc " + gcc.splitlines()[0].split()[-1]),
        "", command("step_c", quick) + f"; {reps} alternated repetitions, one thread each.", "",
        f"One Ningbo block-year (year 2 of the first block: 50 simulations, {n_cand:,} candidate "
        "accidents; baseline; records kept as in that case, one simulation's at a time; the step's own "
        "pricing left out of both). "
        f"The port is `benchmarks/step_c/accident_step.c`, compiled with `gcc {' '.join(FLAGS[:3])}`; "
        "it wrote the same numbers as the numba step, every output array to the last bit.", "",
        "| step | ns a candidate, median (spread) | fastest |", "| --- | --- | --- |",
        f"| numba (the library's) | {cell(ns['numba'])} | {best_n:.1f} |",
        f"| C port | {cell(ns['C 5'])} | {best_c:.1f} |", "",
        f"Fastest against fastest, the C port takes **{best_c / best_n:.2f}x** the numba step's time; "
        f"medians {statistics.median(ns['C 5']) / statistics.median(ns['numba']):.2f}x.", "",
        "The port's phases (each row stops after its phase; the phase's own time is the difference "
        "of the fastest runs):", "",
        "| phase | ns a candidate up to it, median (spread) | its own, fastest |", "| --- | --- | --- |"]
    before = 0.0
    for s, phase in enumerate(PHASES, start=1):
        v = ns[f"C {s}"]
        lines.append(f"| {s}. {phase} | {cell(v)} | {min(v) - before:.1f} |")
        before = min(v)
    write(RESULTS, [*lines, ""])


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    from _timing import cli

    cli(run, __doc__)
