"""The ``safeins`` command: the whole job from a terminal.

    safeins price BOOK --tariff NAME [--floating RULE] [--accidents F] [--hazards F] [--experience F]
                  [--option per_person=500000] [--out quotes.csv|quotes.xlsx] [--force]
    safeins explain ENTERPRISE BOOK --tariff NAME [...the options of price]
    safeins check tariff|policy|scheme NAME_OR_TOML [--regime national-2025]
    safeins template portfolio|accidents|hazards [--out FILE]
    safeins stress SCHEME [--scenario NAME] [--years N] [--n-sims N] [--seed S] [--html FILE]
    safeins demo [--html report.html] [--synthetic N --seed S] [--share 0.15]
    safeins datasets [NAME [--out FILE_OR_FOLDER]]
    safeins tariff NAME | sectors | regimes [KEY]

Books and histories are CSV (any encoding: ``--encoding gb18030``), Excel (``.xlsx``) or parquet.
The command never shows a traceback (``--debug`` does) and never destroys data: every failure is
one line on stderr saying what is wrong and what to do, with exit code 2; an output that exists is
refused unless ``--force``, an output that is also an input always; outputs are written to a
temporary file and renamed when complete. ``check`` exits 1 when a rule fails.

>>> main(["datasets"])
hachemeister
national-statistics
zhejiang-pilot
0
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from pathlib import Path

__all__ = ["build_parser", "main"]

_CSV = (".csv", ".txt")


# ----------------------------------------------------------------------------------- argument types
def _whole(minimum: int, what: str):
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum} ({what})")
        return value

    return parse


_count = _whole(1, "a count")  # enterprises, rows, years, simulations
_seed = _whole(0, "a seed")


def _option_value(text: str):
    try:
        return float(text)
    except ValueError:
        return text


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what is wrong and where the help is."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _sub(sub, name: str, help: str, example: str, **kwargs) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}",
                       formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    # --debug may come after the command as well as before it
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the full traceback of an error")
    return p


# ----------------------------------------------------------------------------------- helpers
def _progress(total: int, what: str):
    """A progress bar on stderr, only when stderr is a terminal (never in pipes or logs)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=what, unit="step", file=sys.stderr, leave=False,
                disable=not sys.stderr.isatty())


def _encoding_for(path: str, encoding: str | None) -> str | None:
    # --encoding is about text: it applies to CSV inputs only (Excel and parquet carry their own)
    return encoding if Path(path).suffix.lower() in _CSV else None


def _config(cls, kind: str, name: str, encoding: str | None):
    from ._base.resources import shipped_toml

    path = shipped_toml(kind, name, f"{cls.__name__} {name!r}")
    # --encoding is about the user's files; shipped TOML is UTF-8
    shipped = path.resolve() != Path(name).resolve()
    return cls.from_toml(path, encoding=None if shipped else encoding)


def _check_inputs(args) -> None:
    """Every named input exists and is a file, and the encoding is known: checked first, before
    anything slow is loaded."""
    from ._base.files import check_encoding, check_input

    check_encoding(getattr(args, "encoding", None), "--encoding")
    for key in ("book", "accidents", "victims", "hazards", "experience"):
        path = getattr(args, key, None)
        if path is not None:
            check_input(path, f"--{key}" if key != "book" else "book")
    for key in ("tariff", "floating"):
        path = getattr(args, key, None)
        if path is not None and path.endswith(".toml"):
            check_input(path, f"--{key}")


def _inputs(args) -> list[str]:
    return [p for p in (getattr(args, k, None) for k in ("book", "accidents", "victims", "hazards",
                                                         "experience", "tariff", "floating"))
            if p is not None and Path(p).exists()]


def _read_experience(path: str, encoding: str | None):
    """Per-enterprise experience: enterprise_id and numeric columns (e.g. loss_ratio)."""
    import numpy as np
    import pandas as pd

    from .domain.io import read_table
    from .errors import Problems

    what = f"experience file {Path(path).name!r}"
    frame = read_table(path, encoding=_encoding_for(path, encoding), dtype={"enterprise_id": "string"},
                       what=what)
    p = Problems(what)
    if "enterprise_id" not in frame.columns:
        p.add(column="enterprise_id", value="<column missing>", rule="required: one row per enterprise")
        p.raise_if_any()
    frame = frame.set_index(frame["enterprise_id"].astype(object)).drop(columns="enterprise_id")
    for col in frame.columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        for i in np.flatnonzero(values.isna().to_numpy() & frame[col].notna().to_numpy()):
            p.add(row=frame.index[i], column=col, value=frame[col].iloc[i], rule="must be a number")
        frame[col] = values
    p.raise_if_any()
    return frame


def _options(items) -> dict:
    from .errors import Problems

    p = Problems("--option")
    options = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        p.check(bool(sep and key and value), column="option", value=item,
                rule="KEY=VALUE, e.g. per_person=500000")
        options[key] = _option_value(value)
    p.raise_if_any()
    return options


def _check_floor(args, tariff, pf, options) -> None:
    """Refuse a per-person limit below the regime's floor unless --override."""
    import numpy as np
    import pandas as pd

    from .domain import regimes
    from .errors import RegimeBreachError

    regime = regimes.get(args.regime or tariff.regime or "national-2025")
    stated = []
    if isinstance(options.get("per_person"), float):
        stated.append(options["per_person"])
    if "per_person" in pf.frame.columns:
        # text in the column is reported by the pricing itself, with its row
        column = pd.to_numeric(pf.frame["per_person"], errors="coerce").dropna()
        stated += [float(v) for v in np.unique(column.to_numpy(dtype=float))]
    low = sorted({v for v in stated if v < regime.min_death_disability_limit})
    if not low:
        return
    text = (f"per-person limit {', '.join(f'{v:,.0f}' for v in low)} yuan is below the "
            f"{regime.key} floor of {regime.min_death_disability_limit:,.0f} yuan")
    if not args.override:
        raise RegimeBreachError(f"{text}: raise the limit, or pass --override to price it anyway")
    print(f"safeins: warning: {text}; priced anyway (--override)", file=sys.stderr)


def _price(args):
    """Read the inputs named on the command line and price them; returns the Quotes."""
    from .domain.portfolio import AccidentHistory, HazardHistory, Portfolio
    from .rating.floating import FloatingRule
    from .rating.tariff import Tariff

    _check_inputs(args)
    enc = args.encoding
    with _progress(5, "pricing") as bar:
        tariff = _config(Tariff, "tariffs", args.tariff, enc)
        floating = _config(FloatingRule, "floating", args.floating, enc) if args.floating else None
        options = _options(args.option)
        bar.update()
        pf = Portfolio.read(args.book, encoding=_encoding_for(args.book, enc))
        bar.update()
        _check_floor(args, tariff, pf, options)
        acc = (AccidentHistory.read(args.accidents, pf, victims=args.victims,
                                    encoding=_encoding_for(args.accidents, enc))
               if args.accidents else None)
        hz = (HazardHistory.read(args.hazards, encoding=_encoding_for(args.hazards, enc), portfolio=pf)
              if args.hazards else None)
        exp = _read_experience(args.experience, enc) if args.experience else None
        bar.update()
        quotes = tariff.price(pf, accidents=acc, hazards=hz, floating=floating, year=args.year,
                              experience=exp, options=options)
        bar.update(2)
    return quotes


def _pricing_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tariff", required=True, help="a shipped tariff name or a TOML path")
    p.add_argument("--floating", help="a shipped floating rule name or a TOML path")
    p.add_argument("--accidents", help="accident history (CSV, .xlsx or .parquet)")
    p.add_argument("--victims", help="the per-victim table of the accidents (read only when named)")
    p.add_argument("--hazards", help="hazard history (CSV, .xlsx or .parquet)")
    p.add_argument("--experience", help="per-enterprise experience: enterprise_id and columns the "
                                        "floating rule reads (e.g. loss_ratio)")
    p.add_argument("--year", type=_count, help="policy year priced (default: after the histories)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a policy option for every enterprise, e.g. per_person=500000 (repeatable)")
    p.add_argument("--regime", help="the regime whose per-person floor applies "
                                    "(default: the tariff's, else national-2025)")
    p.add_argument("--override", action="store_true",
                   help="price a per-person limit below the regime floor anyway")
    p.add_argument("--encoding", help="text encoding of CSV and TOML inputs, e.g. gb18030 (default utf-8)")


# ----------------------------------------------------------------------------------- commands
def _cmd_price(args) -> int:
    import pandas as pd

    from .domain.io import check_table_output, write_table

    _check_inputs(args)  # the inputs and the output are checked before the work, not after it
    check_table_output(args.out, inputs=_inputs(args), force=args.force)
    quotes = _price(args)
    frame = quotes.to_frame()
    write_table(frame, args.out, force=args.force, inputs=_inputs(args), sheet="quotes")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(quotes.summary().to_string())
    print(f"\n{len(frame):,} quotes written to {args.out} (premiums in yuan)")
    return 0


def _cmd_explain(args) -> int:
    quotes = _price(args)
    print(quotes.explain(args.enterprise))
    return 0


def _cmd_check(args) -> int:
    import pandas as pd

    from .domain import regimes

    regime_name = args.regime
    if args.kind == "tariff":
        from .rating.tariff import Tariff

        obj = _config(Tariff, "tariffs", args.target, args.encoding)
        regime = regimes.get(regime_name or obj.regime or "national-2025")
        findings = [regime.check(obj)]
        # every per-person option the manual offers must reach the floor
        for limit in sorted({r.per_person for r in obj.rates if isinstance(r.per_person, int | float)}):
            findings.append(regime.check({"death_disability_limit": float(limit)}))
    elif args.kind == "policy":
        from .models.policy import PolicyCoverage

        obj = PolicyCoverage.from_toml(args.target, encoding=args.encoding)
        regime = regimes.get(regime_name or "national-2025")
        findings = [regime.check(obj)]
    else:
        import safeins

        scheme_cls = getattr(safeins, "Scheme", None) if "Scheme" in safeins.__all__ else None
        if scheme_cls is None:
            from .errors import SafeinsError

            raise SafeinsError("checking a scheme needs the stress engine (safeins.Scheme), "
                               "which this installation does not have")
        obj = scheme_cls.load(args.target)
        regime = regimes.get(regime_name or getattr(obj, "regime", None) or "national-2025")
        findings = [regime.check(obj)]
    frame = pd.concat([f.to_frame() for f in findings], ignore_index=True)
    failed = int((frame["verdict"] == "fail").sum())
    with pd.option_context("display.width", None, "display.max_colwidth", None):
        print(frame.to_string(index=False))
    print(f"\n{args.kind} {args.target!r} against {regime.key}: {len(frame)} findings, {failed} failed")
    return 1 if failed else 0


def _template_frame(kind: str):
    import pandas as pd

    from .domain import datasets

    if kind == "portfolio":
        # the minimal book: what every sector needs, plus the base of the sectors rated otherwise
        return pd.DataFrame({"enterprise_id": ["E1", "E2", "E3"],
                             "sector": ["non_coal_mining", "construction", "transport"],
                             "region": ["宁波", "杭州", "宁波"], "headcount": [120, 300, 50],
                             "credit_grade": ["B", "A", "C"], "contract_value": [None, 5.0e7, None],
                             "vehicles": [None, None, 35.0]})
    if kind == "accidents":
        return datasets.example_accident_frame().reset_index()
    return pd.DataFrame({"enterprise_id": ["E1", "E3"], "year": [2023, 2023], "hazards_found": [4, 2],
                         "major_hazards_found": [1, 0], "rectified_on_time": [3, 2], "unrectified": [1, 0]})


def _template_notes(kind: str) -> list[str]:
    from .domain import portfolio as pfm

    columns = {"portfolio": pfm.PORTFOLIO_COLUMNS, "accidents": pfm.ACCIDENT_COLUMNS,
               "hazards": pfm.HAZARD_COLUMNS}[kind]
    key = {"portfolio": ["enterprise_id: text, one row per enterprise (required)"],
           "accidents": ["accident_id: text, one row per accident (required)"], "hazards": []}[kind]
    lines = [f"safeins {kind} template: lines starting with # are notes and are skipped when read.",
             "Columns (delete the example rows and fill in your own):", *key]
    for c in columns:
        state = ("required" if c.required else
                 f"optional, default {c.default!r}" if c.has_default else "optional")
        lines.append(f"{c.name}: {c.describe()} ({state}){' - ' + c.doc if c.doc else ''}")
    if kind == "portfolio":
        lines.append("Each sector also needs its exposure base where it is not headcount "
                     "(`safeins sectors` lists them).")
    return lines


def _cmd_template(args) -> int:
    from ._base.files import atomic_output, check_output

    out = args.out or f"{args.kind}.csv"
    check_output(out, force=args.force)
    frame = _template_frame(args.kind)
    notes = _template_notes(args.kind)
    with atomic_output(out) as tmp:
        if Path(out).suffix.lower() in (".xlsx", ".xlsm"):
            import pandas as pd

            with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                frame.to_excel(xl, sheet_name="data", index=False)
                pd.DataFrame({"notes": notes}).to_excel(xl, sheet_name="notes", index=False)
        else:
            text = "".join(f"# {line}\n" for line in notes) + frame.to_csv(index=False)
            tmp.write_text(text, encoding="utf-8")
    print(f"{args.kind} template written to {out} ({len(frame)} example rows, {len(notes) - 2} notes)")
    return 0


def _cmd_stress(args) -> int:
    import pandas as pd

    import safeins

    from .domain.io import check_table_output
    from .errors import SafeinsError

    if "stress_test" not in safeins.__all__:
        raise SafeinsError("`safeins stress` needs the stress engine (safeins.stress_test), which this "
                           "installation does not have")
    from ._base.files import atomic_output, check_output

    if args.out:
        check_table_output(args.out, force=args.force, inputs=[args.scheme])
    if args.html:
        check_output(args.html, force=args.force)  # a bad path fails now, not after the run
    scheme = safeins.Scheme.load(args.scheme)
    result = safeins.stress_test(scheme, scenarios=args.scenario or None, years=args.years,
                                 n_sims=args.n_sims, seed=args.seed, progress=sys.stderr.isatty())
    from .report.stress import stress_overview

    shown, units = stress_overview(result.summary())
    shown.columns = [f"{c} ({units[c][0]})" for c in shown.columns]
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(shown.to_string(float_format=lambda x: f"{x:,.2f}"))
    print(f"\n{args.n_sims:,} simulations x {args.years} years, seed {args.seed}; means over the "
          "simulations; the full table (quantiles, VaR, TVaR) is written by --out")
    if args.out:
        from .domain.io import write_table

        write_table(result.to_frame(), args.out, force=args.force)
        print(f"results written to {args.out}")
    if args.html:
        from .report import Report, stress_section

        page = stress_section(Report(f"safeins stress test: {scheme.name}"), result)
        with atomic_output(args.html) as tmp:
            tmp.write_text(page.to_html(), encoding="utf-8")
        print(f"report written to {args.html}")
    return 0


def _cmd_demo(args) -> int:
    from ._base.files import atomic_output, check_output
    from .demo import run_demo

    if args.html:
        check_output(args.html, force=args.force)  # a bad path fails now, not after the run
    print("safeins demo: running the pipeline", flush=True)
    result = run_demo(synthetic=args.synthetic, seed=args.seed, share=args.share,
                      progress=sys.stdout.isatty() or args.verbose)
    print(result.to_text())
    if args.html:
        with atomic_output(args.html) as tmp:
            tmp.write_text(result.to_html(), encoding="utf-8")
        print(f"\nreport written to {args.html}")
    return 0


def _cmd_tariff(args) -> int:
    import pandas as pd

    from .rating.tariff import Tariff

    tariff = _config(Tariff, "tariffs", args.name, args.encoding)
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

    if args.name is None:
        for name in datasets.list():
            print(name)
        return 0
    import pandas as pd

    from ._base.files import check_output
    from .domain.io import check_table_output, write_table

    if args.out is None:
        data = datasets.load(args.name)
        tables = ({"table": data} if isinstance(data, pd.DataFrame) else
                  {"portfolio": data.portfolio.frame, "accidents": data.accidents.frame,
                   "hazards": data.hazards.frame})
        for key, frame in tables.items():
            print(f"{args.name} {key}: {len(frame):,} rows; columns {', '.join(map(str, frame.columns))}")
        return 0
    if args.name == "zhejiang-pilot":
        # several tables: --out is a folder, and every file in it is checked before anything is written
        folder = Path(args.out)
        if not folder.is_dir():
            check_output(folder / "portfolio.csv")  # says which folder is missing
        names = ("portfolio", "accidents", "victims", "hazards")
        paths = {n: check_output(folder / f"{n}.csv", force=args.force) for n in names}
        data = datasets.load(args.name)
        data.portfolio.to_csv(paths["portfolio"])
        data.accidents.to_csv(paths["accidents"], victims=paths["victims"])
        data.hazards.to_csv(paths["hazards"])
        print(f"{args.name}: {', '.join(str(p) for p in paths.values())} written")
        return 0
    check_table_output(args.out, force=args.force)
    frame = datasets.load(args.name)
    write_table(frame, args.out, index=False, force=args.force)
    print(f"{args.name}: {len(frame):,} rows written to {args.out}")
    return 0


# ----------------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``safeins`` (every command has an example in its ``--help``).

    >>> build_parser().parse_args(["template", "portfolio"]).kind
    'portfolio'
    """
    parser = _Parser(prog="safeins", description="Actuarial tools for 安全生产责任保险.",
                     epilog="example:\n  safeins price book.csv --tariff zhejiang-demo --floating fuyang",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    price = _sub(sub, "price", "price a book (CSV or Excel) with a tariff and a floating rule",
                 "safeins price book.xlsx --tariff zhejiang-demo --floating fuyang "
                 "--option per_person=500000 --out quotes.xlsx")
    price.add_argument("book", help="the book: CSV, .xlsx or .parquet (`safeins template portfolio`)")
    _pricing_arguments(price)
    price.add_argument("--out", default="quotes.csv", help="where to write the quotes: .csv or .xlsx")
    price.add_argument("--force", action="store_true", help="replace --out if it exists")
    price.set_defaults(func=_cmd_price)

    explain = _sub(sub, "explain", "show how one enterprise's premium is derived, line by line",
                   "safeins explain E1 book.csv --tariff zhejiang-demo --floating fuyang")
    explain.add_argument("enterprise", help="the enterprise_id to explain")
    explain.add_argument("book", help="the book: CSV, .xlsx or .parquet")
    _pricing_arguments(explain)
    explain.set_defaults(func=_cmd_explain)

    check = _sub(sub, "check", "check a tariff, a policy or a scheme against a regime (exit 1 if a rule "
                 "fails)", "safeins check tariff hunan-construction --regime national-2025")
    check.add_argument("kind", choices=("tariff", "policy", "scheme"))
    check.add_argument("target", help="a shipped name or a TOML path (a policy: a PolicyCoverage TOML)")
    check.add_argument("--regime", help="regime key or TOML (default: the object's, else national-2025)")
    check.add_argument("--encoding", help="text encoding of the TOML file (default utf-8)")
    check.set_defaults(func=_cmd_check)

    tmpl = _sub(sub, "template", "write an annotated example file to fill in",
                "safeins template portfolio --out book.xlsx")
    tmpl.add_argument("kind", choices=("portfolio", "accidents", "hazards"))
    tmpl.add_argument("--out", help="the file to write: .csv (notes as # lines) or .xlsx (a notes sheet); "
                                    "default KIND.csv")
    tmpl.add_argument("--force", action="store_true", help="replace --out if it exists")
    tmpl.set_defaults(func=_cmd_template)

    stress = _sub(sub, "stress", "stress-test a scheme under scenarios (the simulation engine)",
                  "safeins stress zhejiang-pilot-2015 --scenario baseline --scenario catastrophe "
                  "--years 5 --n-sims 2000 --seed 1 --html stress.html")
    stress.add_argument("scheme", help="a shipped scheme name or a TOML path")
    stress.add_argument("--scenario", action="append", help="a scenario name (repeatable; default all)")
    stress.add_argument("--years", type=_count, default=5, help="years simulated (default 5)")
    stress.add_argument("--n-sims", dest="n_sims", type=_count, default=1000,
                        help="simulations (default 1000)")
    stress.add_argument("--seed", type=_seed, default=2015, help="random seed (default 2015)")
    stress.add_argument("--out", help="also write the result table (.csv or .xlsx)")
    stress.add_argument("--html", help="also write an HTML report with fan charts and exceedance curves")
    stress.add_argument("--force", action="store_true", help="replace --out or --html if it exists")
    stress.set_defaults(func=_cmd_stress)

    demo = _sub(sub, "demo", "the embedded demo: the whole pipeline on the pilot data",
                "safeins demo --synthetic 2000 --seed 4 --html report.html")
    demo.add_argument("--html", help="also write the tables as an HTML report to this path")
    demo.add_argument("--synthetic", type=_count, metavar="N", help="use N synthetic enterprises instead")
    demo.add_argument("--seed", type=_seed, default=2015, help="seed for --synthetic (default 2015)")
    demo.add_argument("--share", type=float, default=0.15,
                      help="prevention fund share of collected premium (default 0.15; cap 0.21)")
    demo.add_argument("--verbose", action="store_true", help="print the time of each step")
    demo.add_argument("--force", action="store_true", help="replace --html if it exists")
    demo.set_defaults(func=_cmd_demo)

    tar = _sub(sub, "tariff", "show a tariff (rate manual)", "safeins tariff hunan-construction --rows 10")
    tar.add_argument("name", help="e.g. hunan-construction, shandong-construction-2018, zhejiang-demo, "
                                  "or a TOML path")
    tar.add_argument("--rows", type=_count, default=20, help="rows shown (default 20)")
    tar.add_argument("--encoding", help="text encoding of a TOML path (default utf-8)")
    tar.set_defaults(func=_cmd_tariff)
    _sub(sub, "sectors", "list the sector registry", "safeins sectors").set_defaults(func=_cmd_sectors)
    reg = _sub(sub, "regimes", "show the regulatory regimes and their sources",
               "safeins regimes national-2025")
    reg.add_argument("key", nargs="?")
    reg.set_defaults(func=_cmd_regimes)
    ds = _sub(sub, "datasets", "list the shipped data sets, describe one, or write it out",
              "safeins datasets zhejiang-pilot --out pilot/   # then: safeins price pilot/portfolio.csv ...")
    ds.add_argument("name", nargs="?", help="a data set to describe or write (default: list them)")
    ds.add_argument("--out", help="write it: a .csv/.xlsx file, or for zhejiang-pilot an existing folder "
                                  "(portfolio, accidents, victims and hazards CSV files)")
    ds.add_argument("--force", action="store_true", help="replace files that exist")
    ds.set_defaults(func=_cmd_datasets)
    return parser


# ----------------------------------------------------------------------------------- running
def _one_line(err: BaseException) -> str:
    """The message of an error; a one-problem ValidationError fits on one line."""
    from .errors import ValidationError, _show

    if isinstance(err, ValidationError) and len(err) == 1:
        p = err._problems[0]
        where = f"row {p.row}: " if p.row is not None else ""
        return f"{err.what}: {where}{p.column} {_show(p.value, 60)}: {p.rule}"
    return str(err)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    # warnings are for the user, not the developer: one line, no source location
    print(f"safeins: warning: {message}", file=sys.stderr)


def _close_stdout() -> None:
    # after a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    """Run the ``safeins`` command; returns the exit code (0 ok, 1 a check failed, 2 an error).

    >>> main(["demo", "--synthetic", "0"])
    2
    """
    from .errors import SafeinsError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help and usage errors: argparse has printed its message
        return int(stop.code or 0)
    debug = bool(getattr(args, "debug", False))
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _show_warning
            code = args.func(args)
            sys.stdout.flush()
        return code
    except BrokenPipeError:
        _close_stdout()
        print("safeins: error: the output was closed before it was complete (e.g. piped into `head`); "
              "write it to a file to see all of it", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("safeins: interrupted; no output was written", file=sys.stderr)
        return 130
    except SafeinsError as err:
        if debug:
            raise
        print(f"safeins: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:
        if debug:
            raise
        name = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        print(f"safeins: error:{name} {err.strerror or err}: check the path and its permissions",
              file=sys.stderr)
        return 2
    except Exception as err:  # a bug: still one line, and the way to see more
        if debug:
            raise
        print(f"safeins: internal error: {type(err).__name__}: {err}; rerun with --debug and report it",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
