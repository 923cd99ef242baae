"""Import time of safeins and the size and load time of the zhejiang-pilot data set.

Run: ``python benchmarks/bench_import.py`` (in the project's environment). Each figure is the
median of several runs in fresh interpreters, so caches of an earlier import do not count.
First use of a name (goal, issue 13: under 0.3 s for ``si.FrequencyGLM`` and ``si.Aggregate``) is
the time of ``si.NAME`` after ``import safeins``, with the heavy modules it loaded.
Writes benchmarks/results/import.md.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _fresh(code: str, repeat: int) -> float:
    """Median over fresh interpreters of the number the code prints last."""
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1].split()[0]))
    return statistics.median(times)


HEAVY = ("numpy", "pandas", "scipy.special", "scipy.stats", "scipy.optimize", "scipy.integrate",
         "scipy.fft", "statsmodels", "glum", "matplotlib")


def _first_use(name: str, repeat: int) -> tuple[float, str]:
    code = ("import sys, time, safeins as si; t=time.perf_counter(); si." + name
            + "; dt=time.perf_counter()-t; print(' '.join(m for m in " + repr(HEAVY)
            + " if m in sys.modules)); print(dt)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip().splitlines()[0]
    return _fresh(code, repeat), loaded or "none"


def main(repeat: int = 7) -> None:
    from _timing import Machine

    machine = Machine()
    rows = []
    t = _fresh("import time; t=time.perf_counter(); import safeins; print(time.perf_counter()-t)", repeat)
    rows.append(("import safeins", f"{t:.3f} s", "target < 0.5 s"))
    for name in ("FrequencyGLM", "Aggregate", "AccidentModel", "allocate"):
        tf, loaded = _first_use(name, repeat)
        goal = "; goal < 0.3 s" if name in ("FrequencyGLM", "Aggregate") else ""
        rows.append((f"first use: si.{name} (after import safeins)", f"{tf:.3f} s",
                     f"loads {loaded}{goal}"))
    for mod in ("numpy", "pandas", "scipy.stats"):
        tm = _fresh(f"import time; t=time.perf_counter(); import {mod}; print(time.perf_counter()-t)",
                    repeat)
        rows.append((f"import {mod} (for comparison)", f"{tm:.3f} s", ""))
    code = ("import time, safeins as si; t=time.perf_counter(); d=si.datasets.load('zhejiang-pilot'); "
            "et=si.exposure_table(d.portfolio, d.accidents, d.hazards); print(time.perf_counter()-t)")
    tl = _fresh(code, 1 if repeat < 5 else 3)
    import safeins as si

    d = si.datasets.load("zhejiang-pilot")
    tables = ("portfolio", "accidents", "hazards")
    mem = sum(getattr(d, n).frame.memory_usage(deep=True).sum() for n in tables)
    mem += d.accidents.victims.memory_usage(deep=True).sum()
    rows.append(("zhejiang-pilot: generate + validate + exposure table", f"{tl:.2f} s",
                 f"{len(d.portfolio):,} enterprises, {len(d.accidents):,} accidents, "
                 f"{len(d.accidents.victims):,} victims, {len(d.hazards):,} hazard records"))
    rows.append(("zhejiang-pilot: in memory", f"{mem / 2**20:.0f} MiB", "pandas deep memory usage"))
    from safeins._base.resources import data_dir

    manifest = data_dir("datasets") / "zhejiang-pilot.toml"
    rows.append(("zhejiang-pilot: on disk (shipped)", f"{manifest.stat().st_size:,} bytes",
                 "a manifest: seed, city sizes, checksums"))
    width = max(len(r[0]) for r in rows)
    lines = ["| measure | value | note |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:>12}  {c}")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "import.md").write_text(
        "# Import time and data set load time\n\n" + "\n".join(machine.header()) + "\n\n"
        + "Medians over fresh interpreters.\n\n" + "\n".join(lines) + "\n", encoding="utf-8")


def run(quick: bool = False) -> None:
    """Entry point of benchmarks/run.py."""
    main(repeat=3 if quick else 7)


if __name__ == "__main__":
    main()
