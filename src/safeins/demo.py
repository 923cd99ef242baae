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

__all__ = ["DemoResult", "PricedBook", "price_book", "run_demo"]

#: GLM factors: prior_hazard_rate is hazards found per 100 workers in the prior year (5 bins with
#: equal enterprise-years), year a log-linear trend carried to the policy year.
FACTORS = ["sector", "size_band", "region", "credit_grade", "standardization", "prior_hazard_rate",
           "year"]
NUMERIC = {"prior_hazard_rate": 5, "year": "linear"}
#: Route 1: relativity tables of the tariff. Route 2: a fitted floating factor after Fuyang's
#: published schedule.
TARIFF_FACTORS = ["credit_grade", "standardization"]
FLOATING_FACTORS = ["prior_hazard_rate"]
#: ILLUSTRATIVE bounds of the combined floating factor: no national band is published.
FLOOR, CAP = 0.6, 1.8


@dataclass
class PricedBook:
    """The pricing pipeline of the demo: fitted models, tariff, floating rule and quotes."""

    frequency: object
    accident_model: object
    coverage: object
    tariff: object
    rule: object
    quotes: object
    fit_table: pd.DataFrame
    policy_year: int
    projection: pd.DataFrame


def price_book(pf, acc, hz, et: pd.DataFrame | None = None, share: float = 0.15,
               lap=None) -> PricedBook:
    """Fit and price a book as the demo does; every fitted risk factor reaches the premium.

    The frequency GLM is fitted on the enterprise-years that have a prior year (the factors
    :data:`FACTORS`, prior-year hazards per 100 workers binned, a yearly trend), manufacturing and
    trade exposed per worker (their rates are yuan per worker); the tariff carries
    sector x size band x region base rates projected to the policy year and relativity tables for
    credit grade and standardisation; the floating rule applies Fuyang's published schedule, then
    the fitted prior-year hazard-rate factor, within the illustrative band [0.6, 1.8]; the
    off-balance keeps the book's total.

    >>> import safeins as si
    >>> d = si.datasets.synthetic_portfolio(n_enterprises=400, seed=2)
    >>> book = price_book(d.portfolio, d.accidents, d.hazards)
    >>> tuple(r.dimension for r in book.tariff.relativities)
    ('credit_grade', 'standardization')
    >>> bool(book.quotes.to_frame()["final_premium"].gt(0).all())
    True
    """
    import safeins as si

    from .rating.history import with_prior_year

    def step(name):
        if lap is not None:
            lap(name)

    et = si.exposure_table(pf, acc, hz) if et is None else et
    fit_table = with_prior_year(et)
    policy_year = int(et["year"].max()) + 1
    freq = si.FrequencyGLM("poisson", factors=FACTORS, numeric=NUMERIC).fit(
        fit_table, counts="accidents", exposure="exposure")
    step("frequency GLM")
    accm = si.AccidentModel().fit(acc, pf)
    step("accident model")
    cov = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
    loadings = si.Loadings(commission=0.05, prevention=share, expenses=0.10, profit=0.03,
                           principle={"kind": "standard_deviation", "parameter": 0.1},
                           regime="national-2025")
    tariff = si.Tariff.from_models(freq, accm, coverage=cov, loadings=loadings, regime="national-2025",
                                   name="demo", source="fitted by safeins.demo on the data above",
                                   rating_factors=TARIFF_FACTORS, data=fit_table,
                                   policy_year=policy_year)
    rule = si.FloatingRule.from_model(freq, FLOATING_FACTORS, schedule="fuyang", floor=FLOOR, cap=CAP,
                                      data=fit_table, name="fuyang+fitted")
    step("tariff")
    quotes = tariff.price(pf, accidents=acc, hazards=hz, floating=rule, year=policy_year)
    step("pricing")
    last = et[et["year"] == policy_year - 1].set_index("enterprise_id")
    now = pf.frame.assign(exposure=pf.exposure())
    now["prior_hazard_rate"] = last["hazard_rate"].reindex(pf.frame.index).to_numpy()
    projection = freq.project(now, policy_year)
    return PricedBook(freq, accm, cov, tariff, rule, quotes, fit_table, policy_year, projection)


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
    portfolio: object = None

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
        """The report: one self-contained HTML page with figures (see :mod:`safeins.report`)."""
        from .report import demo_report

        return demo_report(self).to_html()


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

    book = price_book(pf, acc, hz, et, share=share, lap=lap)
    freq, accm, cov, tariff, quotes = (book.frequency, book.accident_model, book.coverage, book.tariff,
                                       book.quotes)
    rel = freq.relativities_
    rel = rel[~rel["factor"].isin(["sector", "region", "(intercept)"])]
    tables.append(("Frequency GLM: relativities (95% CI) for the rating factors, with enterprise-years "
                   "and worker-years per level",
                   rel.set_index(["factor", "level"])[["relativity", "ci_low", "ci_high", "enterprise_years",
                                                       "worker_years", "counts"]]))
    tables.append(("Frequency trend (GLM year factor) and projection to the policy year",
                   _trend_table(freq, book)))
    findings = si.regimes.get("national-2025").check(cov).to_frame()
    base = tariff.to_frame()
    for b_, part in base.groupby("unit", sort=True):
        tables.append((f"Tariff (差别费率): gross base rate in {b_}, by sector and size band",
                       part.pivot_table(index="sector", columns="size_band", values="rate_per_unit",
                                        aggfunc="mean", observed=True)))
    tables.append(("Tariff relativity tables (credibility-smoothed GLM relativities)",
                   pd.DataFrame([(r.dimension, lv, f) for r in tariff.relativities
                                 for lv, f in r.levels.items()],
                                columns=["factor", "level", "relativity"]).set_index(["factor", "level"])))
    q = quotes.to_frame()
    tables.append((f"Premiums for the next year ({book.policy_year}), yuan (tariff relativities, Fuyang then "
                   "the fitted hazard factor, revenue neutral), by sector", quotes.summary()))
    factor_of = q.groupby(q["factor"].round(1)).size().rename("enterprises").to_frame()
    tables.append(("Floating factor: enterprises at each value (rounded to 0.1)", factor_of))
    tables.append(("Regime check of the policy (national-2025)",
                   findings[["rule", "value", "limit", "verdict"]]))

    lam = book.projection["expected"]
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
              f"Collected premium {q['final_premium'].sum():,.0f} yuan; expected accidents in "
              f"{book.policy_year} {lam.sum():,.0f} (trend-projected); prevention budget "
              f"{budget:,.0f} yuan.\n"
              f"Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()) + "\n"
              + _total_line(t))
    if progress:
        print("  " + _total_line(t), flush=True)
    return DemoResult(header, tables, t, quotes, plan, freq, accm, pf)


def _trend_table(freq, book: PricedBook) -> pd.DataFrame:
    t = freq.trend("year").iloc[0]
    proj = book.projection.sum()
    return pd.DataFrame({
        "value": [t["annual_factor"], t["ci_low"], t["ci_high"], proj["expected"], proj["ci_low"],
                  proj["ci_high"]],
        "unit": ["x per year", "x per year", "x per year", "accidents", "accidents", "accidents"]},
        index=["annual trend factor", f"  {freq.ci:.0%} CI low", f"  {freq.ci:.0%} CI high",
               f"expected accidents {book.policy_year}", "  CI low (trend only)",
               "  CI high (trend only)"])


def _total_line(t: dict[str, float]) -> str:
    """The total time, as a multiple of loading and validating the data, and the largest step
    that computes (the load is the yardstick the total is measured against).

    >>> print(_total_line({"load and validate": 1.0, "frequency GLM": 0.5, "tariff": 1.5}))
    ... # doctest: +NORMALIZE_WHITESPACE
    Total 3.0 s = 3.0x loading and validating the data; largest step after loading: tariff (50% of
    the total)
    """
    total = sum(t.values())
    load = t.get("load and validate", 0.0)
    steps = {k: v for k, v in t.items() if k != "load and validate"} or t
    step = max(steps, key=steps.get)
    ratio = f" = {total / load:.1f}x loading and validating the data" if load > 0 else ""
    return (f"Total {total:.1f} s{ratio}; largest step after loading: {step} "
            f"({t[step] / total:.0%} of the total)")


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


