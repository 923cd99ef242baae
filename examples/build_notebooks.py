"""Build the example notebooks from the cell lists below.

    python examples/build_notebooks.py --execute      # rebuild all three, executed, with outputs

The notebooks are kept as plain source here so that a diff shows what changed; they are stored
executed (outputs and stable cell ids), and ``tests/test_examples.py`` checks that the stored
notebooks match this source and re-executes each in a fresh kernel (nbclient).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {}

NOTEBOOKS["researcher"] = [
    ("md", """# safeins for researchers: distributions, compound losses, credibility, bonus–malus

Every number below is computed in the notebook; nothing is pasted in."""),
    ("code", """import numpy as np
import scipy.stats

import safeins as si"""),
    ("md", """## Compound losses three ways

Compound Poisson(10) with Gamma(2, 1) severities (actuar's *risk* vignette case). The exact methods
(FFT and Panjer) agree on the same lattice to 1e-10; simulation agrees within its error."""),
    ("code", """freq, sev = si.Poisson(10), si.Gamma(2.0, 1.0)
fft = si.Aggregate(freq, sev, method="fft", step=0.1, n=2**11, discretization="unbiased")
panjer = si.Aggregate(freq, sev, method="panjer", step=0.1, n=2**11, discretization="unbiased")
mc = si.Aggregate(freq, sev, method="simulation", n_sims=200_000, seed=1)
print("max |FFT - Panjer| on the lattice:", np.abs(fft.lattice()[1] - panjer.lattice()[1]).max())
for p in (0.9, 0.95, 0.99):
    print(p, "VaR", fft.ppf(p), "TVaR (Acerbi-Tasche)", round(fft.tvar(p), 3),
          "CTE", round(fft.tvar(p, kind="cte"), 3), "MC VaR", round(float(mc.ppf(p)), 2))"""),
    ("md", """How the discretisation method moves the mean (the true mean is 20), at the coarse step 0.5 of
the reference case: safeins warns that this grid misses the standard deviation by more than 0.1%."""),
    ("code", """import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", si.errors.DiscretizationWarning)
    for method in ("lower", "rounding", "unbiased", "upper"):
        a = si.Aggregate(freq, sev, method="fft", step=0.5, n=2**10, discretization=method)
        print(f"{method:9s} mean {a.mean():.4f}")"""),
    ("md", "A layer: deductible 2,000 and a ground-up limit of 400,000 on a lognormal severity."),
    ("code", """layer = si.Coverage(deductible=2_000, limit=400_000)
agg = si.Aggregate(si.NegativeBinomial(n=2.5, p=0.4), si.LogNormal(mu=10, sigma=1.5), coverage=layer,
                   method="fft", step=500, n=2**14, discretization="rounding")
agg.describe()"""),
    ("md", "## Severity fitting with truncation and censoring"),
    ("code", """x = si.LogNormal(mu=9, sigma=1.2).rvs(size=3000, seed=7)
d, u = 2_000.0, 200_000.0
kept = x[x > d]
observed = np.minimum(kept, u)
fits = si.compare_severity(observed, ["lognormal", "gamma", "weibull", "pareto"], truncation=d,
                           censoring=observed >= u)
fits"""),
    ("md", "## Credibility: Bühlmann–Straub on Hachemeister's data"),
    ("code", """h = si.datasets.load("hachemeister")
bs = si.BuhlmannStraub().fit(h, group="state", value="ratio", weight="weight")
bs.summary()"""),
    ("md", "## Bonus–malus: the -1/+2 scale"),
    ("code", """bms = si.BonusMalus.from_steps(n_classes=6, down=1, up_per_claim=2, start=5)
prior = scipy.stats.gamma(1.5, scale=0.1 / 1.5)
rel = bms.optimal_relativities(prior=prior)
print("stationary at lambda=0.1:", np.round(bms.stationary(0.1), 4))
print("Norberg relativities:", np.round(np.asarray(rel), 3))
print("Loimaranta efficiency at 0.1:", round(float(bms.efficiency(0.1, relativities=rel)), 4))"""),
]


NOTEBOOKS["insurer"] = [
    ("md", """# safeins for an insurer's actuary: from exposure and accidents to a priced book

Fit frequency and severity, build a rate manual (差别费率), price a portfolio with floating rates
(浮动费率) and check it against the 2025 rules. The notebook uses a synthetic portfolio so that it runs
in seconds; swap in `si.datasets.load("zhejiang-pilot")` or your own validated tables."""),
    ("code", """import safeins as si

data = si.datasets.synthetic_portfolio(n_enterprises=6_000, seed=7, regions=("宁波", "杭州", "温州"))
pf, acc, hz = data.portfolio, data.accidents, data.hazards
et = si.exposure_table(pf, acc, hz)
acc.to_frame().groupby("grade", observed=True).size()"""),
    ("md", "## Frequency: a negative-binomial GLM with a log-exposure offset"),
    ("code", """freq = si.FrequencyGLM(family="negbin",
                       factors=["sector", "size_band", "region", "credit_grade", "standardization"],
                       base_levels={"sector": "manufacturing"}).fit(et, counts="accidents",
                                                                    exposure="exposure")
freq.relativities_.query("factor in ['credit_grade', 'standardization']")"""),
    ("md", "## Severity: the accident model and the policy"),
    ("code", """accm = si.AccidentModel().fit(acc, pf)
cov = si.PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
sev = accm.insured_loss(cov, sector="construction")
print(f"expected insured loss per construction accident: {sev.mean():,.0f} yuan")
si.regimes.get("national-2025").check(cov).to_frame()"""),
    ("md", "## The rate manual and the priced book"),
    ("code", """loadings = si.Loadings(commission=0.05, prevention=0.15, expenses=0.10, profit=0.03,
                       principle={"kind": "standard_deviation", "parameter": 0.1},
                       regime="national-2025")
tariff = si.Tariff.from_models(freq, accm, coverage=cov, loadings=loadings, regime="national-2025")
tariff          # a short summary and the first rates; tariff.to_frame() has all of them"""),
    ("code", """quotes = tariff.price(pf, accidents=acc, hazards=hz, floating="fuyang")
quotes.summary()"""),
    ("code", """quotes.plot();"""),
    ("code", """print(quotes.explain(quotes.to_frame().index[0]))"""),
    ("md", "## Experience rating by credibility"),
    ("md", """Each enterprise's five-year accident count against what the GLM expects for it; Z = E/(E + k)
with k = 5 expected accidents (fit k from data with `ExperienceRating().fit(...)`), capped at
0.7-1.5 (a user choice: no national text fixes a band)."""),
    ("code", """per = et.assign(expected=freq.predict(et).to_numpy()).groupby("enterprise_id").agg(
    actual=("accidents", "sum"), expected=("expected", "sum"))
er = si.ExperienceRating(k=5.0, cap=(0.7, 1.5))
mods = er.modification(per["actual"], per["expected"])
mods.describe()"""),
]

NOTEBOOKS["regulator"] = [
    ("md", """# safeins for a regulator: the rules, a pilot scheme's premiums and its prevention fund

Which rules apply, what a scheme costs enterprises, and what 15% of the premium spent on accident
prevention is expected to buy under each allocation strategy (the effect curves are ILLUSTRATIVE)."""),
    ("code", """import safeins as si

for key in si.regimes.available():
    r = si.regimes.get(key)
    print(key, r.min_death_disability_limit, r.commission_cap, r.prevention_cap)"""),
    ("code", """res = si.demo.run_demo(synthetic=4_000, seed=11, progress=False)
print(res.header)"""),
    ("code", """res.table("Premiums for the next year")"""),
    ("md", "## The prevention fund: 15% of collected premium (the 2025 cap is 21%)"),
    ("code", """res.table("Prevention fund")"""),
    ("code", """try:
    si.PreventionFund(share=0.25, regime="national-2025")
except si.SafeinsError as err:
    print(err)"""),
    ("md", """## The report: one HTML file with the figures

The same results as a self-contained page (figures embedded; units in every header), as written by
`safeins demo --html`. Here the premium per worker by sector and credit grade, one of its figures:"""),
    ("code", """from safeins.report import demo_report
from safeins.report.figures import premium_per_worker_figure

path = demo_report(res).save("regulator-report.html")
print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
q, book = res.quotes.to_frame(), res.portfolio.to_frame()
premium_per_worker_figure(q["final_premium"], book.loc[q.index, "headcount"], book.loc[q.index, "sector"],
                          book.loc[q.index, "credit_grade"]);"""),
    ("md", """## Stress test of the pilot scheme

The shipped scheme `zhejiang-pilot-2015` is the pilot under the 2017 rules (Fuyang floating rule,
15 % of premium to prevention). `si.stress_test` runs it forward five years under three scenarios
with common random numbers: `catastrophe` adds one 特别重大 accident (30 deaths) at the largest
hazardous-chemicals enterprise in year 2, `no_prevention` switches the fund's effect off. Money is in
yuan; the summary holds means and quantiles over the simulations by scenario and year."""),
    ("code", """scheme = si.Scheme.load("zhejiang-pilot-2015")
stress = si.stress_test(scheme, scenarios=["baseline", "catastrophe", "no_prevention"],
                        years=5, n_sims=500, seed=7, progress=False)
cols = ["premium_mean", "claims_mean", "loss_ratio_mean", "accidents_mean", "deaths_mean"]
stress.summary()[cols].round(3)"""),
    ("code", """stress.plot("loss_ratio");"""),
    ("code", """from safeins.report import Report, stress_section

page = stress_section(Report("Stress test: zhejiang-pilot-2015"), stress).save("regulator-stress.html")
print(f"{page}: {page.stat().st_size / 1e6:.1f} MB")"""),
]

def _cell(name: str, index: int, kind: str, text: str):
    import nbformat

    # stable ids: a rebuilt notebook differs from the stored one only where its content changed
    make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
    return make(text, id=f"{name}-{index:02d}")


def notebook(name: str):
    """The notebook ``name`` as an nbformat object, not executed."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [_cell(name, i, k, t) for i, (k, t) in enumerate(NOTEBOOKS[name])]
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    return nb


def execute(nb, *, timeout: int = 120, cwd: Path | None = None):
    """Run every cell in a fresh kernel (``timeout`` seconds per cell); return the executed notebook."""
    import os
    import tempfile

    from nbclient import NotebookClient

    # the kernel inherits this environment: without MPLBACKEND it draws figures inline (CI sets Agg)
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                    resources={"metadata": {"path": str(cwd or tmp)}})
            client.execute()
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    return nb


def build(names=None, *, run: bool = False) -> list[Path]:
    """Write ``examples/<name>.ipynb`` for each notebook, executed (with outputs) when ``run``."""
    import nbformat

    written = []
    for name in names or NOTEBOOKS:
        nb = notebook(name)
        if run:
            execute(nb)
        nbformat.validate(nb)
        path = HERE / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the example notebooks; --execute stores "
                                                 "them executed, with their outputs.")
    parser.add_argument("--execute", action="store_true", help="run every cell and store the outputs")
    parser.add_argument("names", nargs="*", help=f"notebooks to build (default: all of {sorted(NOTEBOOKS)})")
    args = parser.parse_args()
    for p in build(args.names or None, run=args.execute):
        print(p)
