"""Import time of safeins and the size and load time of the zhejiang-pilot data set.

Run: ``python benchmarks/bench_import.py`` (in the project's environment). Each figure is the best
of several runs in fresh interpreters, so caches of an earlier import do not count.
Writes benchmarks/results/import.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _fresh(code: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        best = min(best, float(out.stdout.strip().splitlines()[-1]))
    return best


def main() -> None:
    rows = []
    t = _fresh("import time; t=time.perf_counter(); import safeins; print(time.perf_counter()-t)", 7)
    rows.append(("import safeins", f"{t:.3f} s", "target < 0.5 s"))
    for mod in ("numpy", "pandas", "scipy.stats"):
        tm = _fresh(f"import time; t=time.perf_counter(); import {mod}; print(time.perf_counter()-t)", 5)
        rows.append((f"import {mod} (for comparison)", f"{tm:.3f} s", ""))
    code = ("import time, safeins as si; t=time.perf_counter(); d=si.datasets.load('zhejiang-pilot'); "
            "et=si.exposure_table(d.portfolio, d.accidents, d.hazards); print(time.perf_counter()-t)")
    tl = _fresh(code, 3)
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
        "# Import time and data set load time\n\n" + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
