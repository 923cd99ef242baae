"""Shared timing helpers of the benchmarks: alternating runs, medians and spread, the machine.

Every comparison runs the contenders in alternation (ours, theirs, ours, theirs, ...; the order
flips each round), so a burst of load on a shared machine hits both; it reports the median and the
spread (min-max) of each, the ratio of the medians, the thread counts and the load average while
it ran.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def alternate(contenders: dict[str, Callable[..., object]], repeat: int,
              clock: Callable[[], float] = time.perf_counter,
              setup: Callable[[], tuple] | None = None) -> tuple[dict[str, list[float]], dict]:
    """Run each contender ``repeat`` times, alternating (the order flips every round).

    With ``setup``, each run first calls it outside the clock and passes what it returns to the
    contender as arguments (fresh inputs for a contender that writes into them).

    Returns the times per contender and the last result of each.
    """
    names = list(contenders)
    times: dict[str, list[float]] = {n: [] for n in names}
    out: dict = {}
    for r in range(repeat):
        for name in (names if r % 2 == 0 else names[::-1]):
            args = setup() if setup is not None else ()
            t = clock()
            out[name] = contenders[name](*args)
            times[name].append(clock() - t)
    return times, out


def median(ts: list[float]) -> float:
    return float(statistics.median(ts))


def spread(ts: list[float]) -> str:
    """'median [min-max]' in seconds, 3 significant digits."""
    return f"{median(ts):.3g} [{min(ts):.3g}-{max(ts):.3g}]"


def ratio(ours: list[float], theirs: list[float]) -> float:
    """Median of ours / median of theirs."""
    return median(ours) / median(theirs)


def threads() -> str:
    """The thread pools numpy and friends use (threadpoolctl), and the CPU count."""
    try:
        from threadpoolctl import threadpool_info

        pools = sorted({f"{p['internal_api']}={p['num_threads']}" for p in threadpool_info()})
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pools = []
    env = [f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                            "MKL_NUM_THREADS") if k in os.environ]
    return f"{os.cpu_count()} CPUs; thread pools: {', '.join(pools + env) or 'none loaded'}"


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


class Machine:
    """Records the load average at the start and the end of a benchmark, for its header."""

    def __init__(self):
        self.start = load()
        self.started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    def header(self, *libraries: str) -> list[str]:
        import numpy

        libs = ", ".join((f"numpy {numpy.__version__}", *libraries))
        return [
            f"Run {self.started} on {platform.machine()}, Python {platform.python_version()}, "
            f"{libs}.",
            f"Threads: {threads()}.",
            f"Load average (1/5/15 min) at the start {self.start}, at the end {load()} "
            f"(this machine has {os.cpu_count()} CPUs: a load above that means the runs shared "
            "the CPUs and absolute times are inflated; the ratios of alternated runs are the "
            "figures to read).",
        ]


def write(path, lines: list[str]) -> None:
    """Write a results file (Markdown lines) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def command(name: str, quick: bool) -> str:
    """The line that says how a results file was made."""
    return f"Command: `python benchmarks/run.py {name}" + (" --quick" if quick else "") + "`"


def cli(run: Callable[[bool], None], doc: str) -> None:
    """``python benchmarks/bench_X.py [--quick]``."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    run(ap.parse_args().quick)
