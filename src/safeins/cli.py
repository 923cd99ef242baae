"""The ``safeins`` command.

    safeins demo [--html report.html] [--synthetic N --seed S]
    safeins sectors
    safeins regimes [KEY]
    safeins datasets

``demo`` is the embedded main job: it loads the zhejiang-pilot data (or a synthetic portfolio of N
enterprises), validates it, and prints what an actuary looks at first: the book by sector, accidents
by year and grade, observed frequency and fatality rates per sector, hazard records, and the checks
of the national regimes; ``--html`` also writes those tables as a report.

>>> main(["datasets"])
hachemeister
national-statistics
zhejiang-pilot
0
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]


def _frames_demo(args) -> tuple[str, list[tuple[str, object]]]:
    import pandas as pd

    import safeins as si

    t0 = time.perf_counter()
    if args.synthetic:
        data = si.datasets.synthetic_portfolio(n_enterprises=args.synthetic, seed=args.seed)
        title = f"synthetic portfolio ({args.synthetic:,} enterprises, seed {args.seed})"
    else:
        data = si.datasets.load("zhejiang-pilot")
        title = "zhejiang-pilot (synthetic data set, 11 cities)"
    pf, acc, hz = data.portfolio, data.accidents, data.hazards
    et = si.exposure_table(pf, acc, hz)
    load_s = time.perf_counter() - t0

    et = et.assign(larger_or_worse=et["n_larger"] + et["n_major"] + et["n_especially_major"])
    by_sector = et.groupby("sector", observed=True).agg(
        enterprises=("enterprise_id", "nunique"), worker_years=("headcount", "sum"),
        accidents=("accidents", "sum"), deaths=("deaths", "sum"),
        larger_or_worse=("larger_or_worse", "sum"))
    per_worker = by_sector["accidents"] / by_sector["worker_years"]
    by_sector["accidents_per_100_workers"] = (100 * per_worker).round(3)
    by_sector["deaths_per_100k_workers"] = (1e5 * by_sector["deaths"] / by_sector["worker_years"]).round(2)
    by_year = pd.crosstab(acc.frame["year"], acc.frame["grade"], dropna=False)
    by_region = et.groupby("region").agg(enterprises=("enterprise_id", "nunique"),
                                         accidents=("accidents", "sum"), deaths=("deaths", "sum"))
    by_region = by_region.sort_values("enterprises", ascending=False)
    by_grade = et.groupby("credit_grade", observed=True).agg(
        enterprise_years=("year", "size"), accidents=("accidents", "sum"), worker_years=("headcount", "sum"),
        hazards_per_100=("hazard_rate", "mean"))
    by_grade["accidents_per_100_workers"] = (100 * by_grade["accidents"] / by_grade["worker_years"]).round(3)
    checks = [si.regimes.get(key).check(pf).to_frame().assign(regime=key) for key in si.regimes.available()]
    checks = pd.concat(checks, ignore_index=True)[["regime", "rule", "value", "limit", "verdict"]]
    header = (f"safeins demo: {title}\n"
              f"{len(pf):,} enterprises, {len(acc):,} accidents, {len(hz):,} hazard records, "
              f"{len(et):,} enterprise-years; loaded and validated in {load_s:.1f} s")
    return header, [
        ("Book and experience by sector", by_sector),
        ("Accidents by year and grade (2007 State Council rules)", by_year),
        ("By region (city)", by_region),
        ("By credit grade: frequency and hazards per 100 workers", by_grade.round(3)),
        ("Regime checks on the portfolio", checks),
    ]


def _write_html(path: str, header: str, tables) -> None:
    import html

    parts = [f"<html><head><meta charset='utf-8'><title>safeins report</title></head><body>"
             f"<pre>{html.escape(header)}</pre>"]
    for title, frame in tables:
        parts.append(f"<h2>{html.escape(title)}</h2>{frame.to_html()}")
    parts.append("</body></html>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))


def _cmd_demo(args) -> int:
    import pandas as pd

    header, tables = _frames_demo(args)
    print(header)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for title, frame in tables:
            print(f"\n== {title}\n{frame.to_string()}")
    if args.html:
        _write_html(args.html, header, tables)
        print(f"\nreport written to {args.html}")
    return 0


def _cmd_sectors(args) -> int:
    import pandas as pd

    from . import sectors

    frame = pd.DataFrame([{"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en,
                           "exposure_base": s.exposure_base, "mandatory_in": ", ".join(s.mandatory_in)}
                          for s in sectors.all_sectors()])
    print(frame.to_string(index=False))
    return 0


def _cmd_regimes(args) -> int:
    from . import regimes

    keys = [args.key] if args.key else regimes.available()
    for key in keys:
        r = regimes.get(key)
        print(f"{r.key}: {r.instrument}")
        for field in ("effective", "repealed", "min_death_disability_limit", "commission_cap",
                      "prevention_cap", "full_workforce_cover"):
            value = getattr(r, field)
            print(f"  {field:28s} {value!s:12s} {r.sources.get(field, '')}")
        print(f"  {'mandatory_sectors':28s} {', '.join(r.mandatory_sectors)}")
    return 0


def _cmd_datasets(args) -> int:
    from . import datasets

    for name in datasets.list():
        print(name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safeins", description="Actuarial tools for 安全生产责任保险.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="load the pilot data and summarise it (the embedded demo)")
    demo.add_argument("--html", help="also write the tables as an HTML report to this path")
    demo.add_argument("--synthetic", type=int, metavar="N", help="use N synthetic enterprises instead")
    demo.add_argument("--seed", type=int, default=2015, help="seed for --synthetic (default 2015)")
    demo.set_defaults(func=_cmd_demo)
    sub.add_parser("sectors", help="list the sector registry").set_defaults(func=_cmd_sectors)
    reg = sub.add_parser("regimes", help="show the regulatory regimes and their sources")
    reg.add_argument("key", nargs="?")
    reg.set_defaults(func=_cmd_regimes)
    sub.add_parser("datasets", help="list the shipped data sets").set_defaults(func=_cmd_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``safeins`` command; returns the exit code (errors print one clear message)."""
    from .errors import SafeinsError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SafeinsError as err:
        print(f"safeins: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
