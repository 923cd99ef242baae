"""The greedy allocation strategy against the exact optimum at 100,000 enterprises x 6 services.

    python benchmarks/bench_strategies.py [--quick]

Goal (issue 13): greedy within 3x the time of the optimal strategy on the same problem. Both
take the same coefficients (the realistic problem of bench_allocation.py, with six services per
enterprise), the same budget and bounds; the greedy step is 500 yuan per service unit. Runs
alternate (optimal, greedy, greedy, optimal, ...). Writes benchmarks/results/strategies.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _timing import Machine, alternate, cli, command, median, ratio, spread, write

RESULTS = Path(__file__).resolve().parent / "results" / "strategies.md"


def problem(n: int, services: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(2.0, 0.05, n)
    loss = rng.lognormal(np.log(4e5), 0.4, n)
    r = rng.uniform(0.02, 0.15, (n, services))
    a = (lam * loss)[:, None] * r
    k = 6000.0 * np.sqrt(rng.integers(10, 2000, n) / 100.0)[:, None] * rng.uniform(
        0.5, 2.0, services)
    budget = 0.15 * (rng.uniform(30, 300, n) * rng.integers(10, 2000, n)).sum()
    return a, k, budget


def run(quick: bool = False) -> None:
    from safeins.prevention import allocate_greedy, allocate_optimal

    machine = Machine()
    n = 20_000 if quick else 100_000
    a, k, budget = problem(n)
    step = np.full(a.shape[1], 500.0)
    times, out = alternate({"optimal": lambda: allocate_optimal(a, k, budget),
                            "greedy": lambda: allocate_greedy(a, k, budget, step=step)},
                           3 if quick else 7)

    def objective(x):
        return float(np.sum(a * -np.expm1(-x / k)))

    r = ratio(times["greedy"], times["optimal"])
    lines = ["# Greedy vs optimal allocation", "", *machine.header(), "",
             f"{n:,} enterprises x {a.shape[1]} services, budget {budget:,.0f} yuan, greedy step "
             f"500 yuan; {len(times['greedy'])} alternated runs each; seconds, median [min-max].",
             "", "| strategy | seconds | objective (expected loss avoided, yuan) | spent |",
             "| --- | ---: | ---: | ---: |"]
    for name in ("optimal", "greedy"):
        lines.append(f"| {name} | {spread(times[name])} | {objective(out[name]):,.2f} | "
                     f"{out[name].sum():,.2f} |")
    lines += ["", f"- greedy / optimal time (medians): **{r:.2f}x** (goal <= 3x).",
              f"- greedy reaches {objective(out['greedy']) / objective(out['optimal']):.6f} of the "
              "optimum.", f"- medians: optimal {median(times['optimal']):.3f} s, greedy "
              f"{median(times['greedy']):.3f} s.",
              "", command("strategies", quick)]
    write(RESULTS, lines)


if __name__ == "__main__":
    cli(run, __doc__)
