"""Run every benchmark and rewrite benchmarks/results/*.md.

    python benchmarks/run.py            # the full set (tens of minutes on a quiet 2-core machine)
    python benchmarks/run.py --quick    # a smoke run: small sizes, few repeats
    python benchmarks/run.py glm demo   # only bench_glm.py and bench_demo.py

Every ``benchmarks/bench_*.py`` that defines ``run(quick: bool = False) -> None`` is picked up;
``run`` does its measurements and writes its own results file(s). Each benchmark runs in a fresh
interpreter (import times and caches of one do not leak into the next), with the benchmarks'
environment ``benchmarks/.venv`` when it exists (the peer libraries of
``benchmarks/requirements.txt`` live there) and this interpreter otherwise. A benchmark that
fails is reported and the others still run; the exit status is the number of failures.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def has_entry_point(path: Path) -> bool:
    """Whether the file defines a top-level ``run`` function (parsed, not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in tree.body)


def benchmarks(only: list[str]) -> list[Path]:
    found = sorted(p for p in HERE.glob("bench_*.py") if has_entry_point(p))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only or p.stem in only]
    return found


def interpreter() -> str:
    venv = HERE / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and few repeats")
    ap.add_argument("only", nargs="*", help="names of benchmarks to run (default: all)")
    args = ap.parse_args(argv)
    python = interpreter()
    chosen = benchmarks(args.only)
    print(f"{len(chosen)} benchmarks with {python}; load average {os.getloadavg()[0]:.2f}")
    failed = []
    for path in chosen:
        code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import {path.stem} as b; "
                f"b.run(quick={args.quick})")
        t = time.perf_counter()
        print(f"== {path.name}", flush=True)
        proc = subprocess.run([python, "-c", code], cwd=HERE.parent)
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"== {path.name}: {status} in {time.perf_counter() - t:.0f} s", flush=True)
        if proc.returncode:
            failed.append(path.name)
    if failed:
        print("failed: " + ", ".join(failed))
    return len(failed)


if __name__ == "__main__":
    sys.exit(main())
