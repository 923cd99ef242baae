"""The embedded demo: the whole safeins pipeline on one data set, as tables a reader can follow.

:func:`run_demo` loads and validates a portfolio with its accident and hazard history, fits the
frequency GLM and the accident model, prices the portfolio under the national-2025 rules with a
tariff and the Fuyang floating rule, sets the prevention fund at a share of the collected premium
and allocates it with each strategy. Every number in the result comes from those computations;
``safeins demo`` prints it and writes it as an HTML report.

>>> res = run_demo(synthetic=1_500, seed=3, progress=False)
>>> [title for title, _ in res.tables][:2]
['Book and experience by sector', 'Accidents by year and grade (2007 State Council rules)']
>>> bool(res.quotes.to_frame()["final_premium"].gt(0).all())
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["DemoResult", "run_demo"]

FACTORS = ["sector", "size_band", "region", "credit_grade", "standardization"]


@dataclass
class DemoResult:
    """What :func:`run_demo` computed: a header, titled tables, timings and the key objects."""

    header: str
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    quotes: object = None
    plan: object = None
    frequency: object = None
    accident_model: object = None

    def table(self, title_start: str) -> pd.DataFrame:
        """The first table whose title starts with ``title_start``."""
        for title, frame in self.tables:
            if title.startswith(title_start):
                return frame
        from .errors import Problem, ValidationError

        raise ValidationError("DemoResult.table", [Problem(None, "title_start", title_start,
                                                           "the start of one of: " + "; ".join(
                                                               t for t, _ in self.tables))])

    def to_text(self) -> str:
        with pd.option_context("display.width", 160, "display.max_columns", 30):
            parts = [self.header]
            parts += [f"\n== {title}\n{frame.to_string()}" for title, frame in self.tables]
        return "\n".join(parts)

    def to_html(self) -> str:
        import html

        body = [f"<h1>safeins demo</h1><pre>{html.escape(self.header)}</pre>"]
        for title, frame in self.tables:
            body.append(f"<h2>{html.escape(title)}</h2>{frame.to_html(float_format=_fmt)}")
        style = ("body{font-family:sans-serif;margin:2em;max-width:75em} table{border-collapse:collapse}"
                 " td,th{border:1px solid #ccc;padding:2px 6px;text-align:right} h2{margin-top:1.5em}")
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>safeins demo</title>"
                f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


def _fmt(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"


def run_demo(synthetic: int | None = None, seed: int = 2015, share: float = 0.15,
             progress: bool = True) -> DemoResult:
    """Run the pipeline on zhejiang-pilot (default) or on ``synthetic`` generated enterprises.

    Steps: validate the data; exposure table; Poisson frequency GLM on sector, size band, region,
    credit grade and standardisation (glum engine on large data); accident model; the national-2025
    minimum cover at 50万 per person; a tariff from the two models with the 2025 loadings; prices for
    the next year with the Fuyang floating rule (revenue neutral); the prevention fund at ``share``
    of the collected premium, allocated by every strategy and evaluated.

    >>> res = run_demo(synthetic=1_000, seed=5, progress=False)
    >>> float(res.table("Prevention fund").loc["optimal", "vs_optimal"])
    1.0
    """
    import safeins as si

    t: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        t[name] = now - clock
        clock = now
        if progress:
            print(f"  {name}: {t[name]:.1f} s", flush=True)

    if synthetic:
        data = si.datasets.synthetic_portfolio(n_enterprises=synthetic, seed=seed)
        title = f"synthetic portfolio ({synthetic:,} enterprises, seed {seed})"
    else:
        data = si.datasets.load("zhejiang-pilot")
        title = "zhejiang-pilot (a synthetic data set: 11 cities of Zhejiang, 2019-2023)"
    pf, acc, hz = data.portfolio, data.accidents, data.hazards
    et = si.exposure_table(pf, acc, hz)
    lap("load and validate")

    tables: list[tuple[str, pd.DataFrame]] = _experience_tables(et, acc)

    freq = si.FrequencyGLM("poisson", factors=FACTORS).fit(et, counts="accidents", exposure="exposure")
    lap("frequency GLM")
    rel = freq.relativities_
    rel = rel[~rel["factor"].isin(["sector", "region", "(intercept)"])]
    tables.append(("Frequency GLM: relativities (95% CI) for the rating factors",
                   rel.set_index(["factor", "level"])[["relativity", "ci_low", "ci_high", "exposure"]]))

    accm = si.AccidentModel().fit(acc, pf)
    lap("accident model")
    cov = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
    findings = si.regimes.get("national-2025").check(cov).to_frame()
    loadings = si.Loadings(commission=0.05, prevention=share, expenses=0.10, profit=0.03,
                           principle={"kind": "standard_deviation", "parameter": 0.1},
                           regime="national-2025")
    tariff = si.Tariff.from_models(freq, accm, coverage=cov, loadings=loadings, regime="national-2025",
                                   name="demo", source="fitted by safeins.demo on the data above")
    lap("tariff")
    base = tariff.to_frame()
    tables.append(("Tariff (差别费率): gross base rate per unit of exposure, by sector and size band",
                   base.pivot_table(index="sector", columns="size_band", values="rate", aggfunc="mean",
                                    observed=True)))
    quotes = tariff.price(pf, accidents=acc, hazards=hz, floating="fuyang")
    lap("pricing")
    q = quotes.to_frame()
    tables.append(("Premiums for the next year (Fuyang floating rule, revenue neutral), by sector",
                   quotes.summary()))
    factor_of = q.groupby(q["factor"].round(2)).size().rename("enterprises").to_frame()
    tables.append(("Floating factor: enterprises at each value", factor_of))
    tables.append(("Regime check of the policy (national-2025)",
                   findings[["rule", "value", "limit", "verdict"]]))

    lam = freq.predict(pf)
    sectors = sorted(pf.frame["sector"].astype(str).unique())
    loss = pd.Series({s: accm.insured_loss(cov, sector=s).mean() for s in sectors}, name="loss")
    deaths = accm.expected()["deaths"] if "deaths" in accm.expected() else None
    fund = si.PreventionFund(share=share, regime="national-2025")
    budget = fund.budget(q)
    lap("expected losses")
    kwargs = dict(loss_per_accident=loss, premium=q["final_premium"])
    if deaths is not None:
        kwargs["deaths_per_accident"] = deaths
    cmp = si.compare_strategies(pf, lam, budget, **kwargs, seed=seed, n_draws=100)
    lap("prevention strategies")
    tables.append((f"Prevention fund: {share:.0%} of collected premium = {budget:,.0f} yuan, "
                   "strategies compared (illustrative effect curves)", cmp.summary()))
    plan = cmp.plans["optimal"]
    tables.append(("Optimal allocation: spend by sector", plan.spend_by("sector")))
    header = (f"safeins demo: {title}\n"
              f"{len(pf):,} enterprises, {len(acc):,} accidents, {len(hz):,} hazard records, "
              f"{len(et):,} enterprise-years.\n"
              f"Collected premium {q['final_premium'].sum():,.0f} yuan; expected accidents next year "
              f"{lam.sum():,.0f}; prevention budget {budget:,.0f} yuan.\n"
              f"Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()) + "\n"
              + _total_line(t))
    if progress:
        print("  " + _total_line(t), flush=True)
    return DemoResult(header, tables, t, quotes, plan, freq, accm)


def _total_line(t: dict[str, float]) -> str:
    """The total time, as a multiple of loading and validating the data, and the largest step."""
    total = sum(t.values())
    load = t.get("load and validate", 0.0)
    step = max(t, key=t.get)
    ratio = f" = {total / load:.1f}x loading and validating the data" if load > 0 else ""
    return (f"Total {total:.1f} s{ratio}; largest step: {step} ({t[step] / total:.0%} of the "
            "total)")


def _experience_tables(et: pd.DataFrame, acc) -> list[tuple[str, pd.DataFrame]]:
    et = et.assign(larger_or_worse=et["n_larger"] + et["n_major"] + et["n_especially_major"])
    by_sector = et.groupby("sector", observed=True).agg(
        enterprises=("enterprise_id", "nunique"), worker_years=("headcount", "sum"),
        accidents=("accidents", "sum"), deaths=("deaths", "sum"),
        larger_or_worse=("larger_or_worse", "sum"))
    by_sector["accidents_per_100_workers"] = 100 * by_sector["accidents"] / by_sector["worker_years"]
    by_sector["deaths_per_100k_workers"] = 1e5 * by_sector["deaths"] / by_sector["worker_years"]
    by_year = pd.crosstab(acc.frame["year"], acc.frame["grade"], dropna=False)
    by_grade = et.groupby("credit_grade", observed=True).agg(
        enterprise_years=("year", "size"), accidents=("accidents", "sum"),
        worker_years=("headcount", "sum"), hazards_per_100_workers=("hazard_rate", "mean"))
    by_grade["accidents_per_100_workers"] = 100 * by_grade["accidents"] / by_grade["worker_years"]
    return [
        ("Book and experience by sector", by_sector.round(3)),
        ("Accidents by year and grade (2007 State Council rules)", by_year),
        ("By credit grade: frequency and hazards per 100 workers", by_grade.round(3)),
        ("By region (city)", et.groupby("region").agg(enterprises=("enterprise_id", "nunique"),
                                                      accidents=("accidents", "sum"),
                                                      deaths=("deaths", "sum"))
         .sort_values("enterprises", ascending=False)),
    ]


