"""The demo as a whole: `safeins demo` on zhejiang-pilot, step by step, against loading its data.

    python benchmarks/bench_demo.py [--quick]

Goals (issue 13): the demo within 4x the time of loading and validating its data, no step over
a third of the total, and ``compare_strategies`` over the 124,096 enterprises (the "prevention
strategies" step: six strategies, 100 parameter draws each) under 2 s. The demo runs twice; the
table gives the median of each step, its spread, and the CPU time of the whole run (the wall time
on a loaded machine includes waiting for a CPU). Writes benchmarks/results/demo.md.
"""

from __future__ import annotations

import time
from pathlib import Path

from _timing import Machine, cli, command, median, write

RESULTS = Path(__file__).resolve().parent / "results" / "demo.md"


def measure(quick: bool) -> dict:
    from safeins.demo import run_demo

    repeat = 1 if quick else 2
    steps: dict[str, list[float]] = {}
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        res = run_demo(synthetic=5_000 if quick else None, progress=False)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        for k, v in res.timings.items():
            steps.setdefault(k, []).append(v)
    return {"steps": steps, "wall": wall, "cpu": cpu, "res": res}


def run(quick: bool = False) -> None:
    machine = Machine()
    m = measure(quick)
    steps = m["steps"]
    total = sum(median(v) for v in steps.values())
    load = median(steps["load and validate"])
    big = max(steps, key=lambda k: median(steps[k]))
    strategies = median(steps["prevention strategies"])
    data = "5,000 synthetic enterprises (quick run)" if quick else "zhejiang-pilot, 124,096 enterprises"
    lines = ["# The demo, step by step", "", *machine.header(), "",
             f"`safeins demo` on {data}, {len(m['wall'])} run(s); seconds, median [min-max].", "",
             "| step | seconds | share of the total |", "| --- | ---: | ---: |"]
    for k, v in steps.items():
        lines.append(f"| {k} | {median(v):.2f} [{min(v):.2f}-{max(v):.2f}] | "
                     f"{median(v) / total:.0%} |")
    lines += [f"| **total** | {total:.2f} | 100% |", "",
              f"- Total / loading and validating the data: **{total / load:.1f}x** (goal <= 4x).",
              f"- Largest step: {big}, **{median(steps[big]) / total:.0%}** of the total "
              "(goal <= 33%).",
              f"- compare_strategies (the prevention-strategies step): **{strategies:.2f} s** wall "
              "(goal < 2 s).",
              f"- Whole run: wall {median(m['wall']):.1f} s, CPU {median(m['cpu']):.1f} s "
              "(CPU time of this process; wall above CPU means the run waited for a CPU).",
              "", command("demo", quick)]
    write(RESULTS, lines)


if __name__ == "__main__":
    cli(run, __doc__)
