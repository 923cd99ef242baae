"""The ``safeins`` command.

    safeins demo [--html report.html] [--synthetic N --seed S] [--share 0.15]
    safeins price portfolio.csv --tariff NAME [--floating RULE] [--option per_person=400000] ...
    safeins tariff NAME
    safeins sectors
    safeins regimes [KEY]
    safeins datasets

``demo`` is the embedded main job (:func:`safeins.demo.run_demo`): on the zhejiang-pilot data (or
N synthetic enterprises) it validates the data, fits the frequency GLM and the accident model, builds
a tariff under the 2025 rules, prices the portfolio with the Fuyang floating rule and plans the
prevention fund; ``--html`` also writes the tables as a report.

>>> main(["datasets"])
hachemeister
national-statistics
zhejiang-pilot
0
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _cmd_demo(args) -> int:
    from .demo import run_demo

    print("safeins demo: running the pipeline", flush=True)
    result = run_demo(synthetic=args.synthetic, seed=args.seed, share=args.share,
                      progress=sys.stdout.isatty() or args.verbose)
    print(result.to_text())
    if args.html:
        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(result.to_html())
        print(f"\nreport written to {args.html}")
    return 0


def _cmd_price(args) -> int:
    import pandas as pd

    from .domain.portfolio import AccidentHistory, HazardHistory, Portfolio
    from .rating.tariff import Tariff

    pf = Portfolio.read_csv(args.portfolio)
    acc = AccidentHistory.read_csv(args.accidents, portfolio=pf) if args.accidents else None
    hz = HazardHistory.read_csv(args.hazards, portfolio=pf) if args.hazards else None
    options = {}
    for item in args.option or []:
        key, sep, value = item.partition("=")
        if not sep:
            from .errors import Problem, ValidationError

            raise ValidationError("--option", [Problem(None, "option", item, "KEY=VALUE")])
        options[key] = float(value) if value.replace(".", "", 1).isdigit() else value
    quotes = Tariff.load(args.tariff).price(pf, accidents=acc, hazards=hz, floating=args.floating,
                                            year=args.year, options=options)
    frame = quotes.to_frame()
    frame.to_csv(args.out, encoding="utf-8")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(quotes.summary().to_string())
    print(f"\n{len(frame):,} quotes written to {args.out}")
    return 0


def _cmd_tariff(args) -> int:
    import pandas as pd

    from .rating.tariff import Tariff

    tariff = Tariff.load(args.name)
    print(tariff.summary())
    with pd.option_context("display.width", 160, "display.max_rows", args.rows):
        print(tariff.to_frame().head(args.rows).to_string())
    return 0


def _cmd_sectors(args) -> int:
    import pandas as pd

    from .domain import sectors

    frame = pd.DataFrame([{"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en,
                           "exposure_base": s.exposure_base, "mandatory_in": ", ".join(s.mandatory_in)}
                          for s in sectors.all_sectors()])
    print(frame.to_string(index=False))
    return 0


def _cmd_regimes(args) -> int:
    from .domain import regimes

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
    from .domain import datasets

    for name in datasets.list():
        print(name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="safeins", description="Actuarial tools for 安全生产责任保险.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the embedded demo: the whole pipeline on the pilot data")
    demo.add_argument("--html", help="also write the tables as an HTML report to this path")
    demo.add_argument("--synthetic", type=int, metavar="N", help="use N synthetic enterprises instead")
    demo.add_argument("--seed", type=int, default=2015, help="seed for --synthetic (default 2015)")
    demo.add_argument("--share", type=float, default=0.15,
                      help="prevention fund share of collected premium (default 0.15; cap 0.21)")
    demo.add_argument("--verbose", action="store_true", help="print the time of each step")
    demo.set_defaults(func=_cmd_demo)
    price = sub.add_parser("price", help="price a portfolio CSV with a tariff and a floating rule")
    price.add_argument("portfolio", help="portfolio CSV (see docs/foundation.md for the columns)")
    price.add_argument("--tariff", required=True, help="a shipped tariff name or a TOML path")
    price.add_argument("--floating", help="a shipped floating rule name or a TOML path")
    price.add_argument("--accidents", help="accident history CSV")
    price.add_argument("--hazards", help="hazard history CSV")
    price.add_argument("--year", type=int, help="policy year priced (default: after the histories)")
    price.add_argument("--option", action="append", metavar="KEY=VALUE",
                       help="a policy option for every enterprise, e.g. per_person=400000 (repeatable)")
    price.add_argument("--out", default="quotes.csv", help="where to write the quotes (CSV)")
    price.set_defaults(func=_cmd_price)
    tar = sub.add_parser("tariff", help="show a shipped tariff (rate manual)")
    tar.add_argument("name", help="e.g. hunan-construction, shandong-construction-2018, zhejiang-demo")
    tar.add_argument("--rows", type=int, default=20)
    tar.set_defaults(func=_cmd_tariff)
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
