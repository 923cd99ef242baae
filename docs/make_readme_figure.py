"""Regenerate the README's figure from the demo: ``python docs/make_readme_figure.py``.

Runs the demo pipeline on a synthetic book (fixed seed, so the figure only changes when the code
does) and saves the report's premium-per-worker figure as docs/img/demo-premium-per-worker.png.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from safeins.demo import run_demo
from safeins.report.figures import premium_per_worker_figure

OUT = Path(__file__).resolve().parent / "img" / "demo-premium-per-worker.png"


def main() -> Path:
    res = run_demo(synthetic=5_000, seed=2015, progress=False)
    q = res.quotes.to_frame()
    book = res.portfolio.to_frame().loc[q.index]
    fig = premium_per_worker_figure(q["final_premium"], book["headcount"], book["sector"],
                                    book["credit_grade"])
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=90, bbox_inches="tight")
    return OUT


if __name__ == "__main__":
    print(main())
