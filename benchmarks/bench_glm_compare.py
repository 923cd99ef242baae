"""compare_frequency_models: Poisson, NB2, ZIP and ZINB on 15,000 rows with 5-fold cross-validation.

    python benchmarks/bench_glm_compare.py [--quick]

Goal (issue 13): under 10 s. Each model is fitted on all rows and on the 5 training folds (24
fits); the table gives the wall and CPU time of the whole comparison (median of alternated
repeats) and of one fit of each family, ZIP and ZINB also on statsmodels
(engine="statsmodels"). Data: 15,000 enterprise-years with four rating factors (38 parameters),
counts from a zero-inflated negative binomial, so that all four families have something to find.
Writes benchmarks/results/glm_compare.md.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _timing import Machine, alternate, cli, command, median, spread, write

RESULTS = Path(__file__).resolve().parent / "results" / "glm_compare.md"
FACTORS = {"sector": 20, "region": 11, "size_band": 4, "credit_grade": 4}


def simulate(n: int, seed: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = {}
    eta = np.full(n, np.log(0.15))
    for name, k in FACTORS.items():
        codes = rng.integers(0, k, n)
        df[name] = pd.Categorical.from_codes(codes, categories=[f"{name}_{i:02d}" for i in range(k)])
        eta += np.concatenate([[0.0], rng.normal(0.0, 0.3, k - 1)])[codes]
    df = pd.DataFrame(df)
    df["exposure"] = rng.gamma(2.0, 0.5, n)
    mu = np.exp(eta) * df["exposure"].to_numpy()
    alpha, pi = 0.8, 0.2
    lam = rng.gamma(1 / alpha, alpha * mu)
    df["accidents"] = np.where(rng.random(n) < pi, 0, rng.poisson(lam))
    return df


def run(quick: bool = False) -> None:
    from safeins.models.frequency_glm import FrequencyGLM
    from safeins.models.glm_compare import compare_frequency_models

    warnings.simplefilter("ignore")
    machine = Machine()
    n = 3_000 if quick else 15_000
    df = simulate(n)
    factors = list(FACTORS)
    models = [FrequencyGLM(f, factors) for f in ("poisson", "negbin", "zip", "zinb")]
    repeat = 1 if quick else 2
    wall, cpu, out = {"compare": []}, {"compare": []}, {}
    for _ in range(repeat):  # one comparison takes long: wall and CPU time of the same runs
        t, c = time.perf_counter(), time.process_time()
        out["compare"] = compare_frequency_models(df, models, folds=5, seed=1)
        wall["compare"].append(time.perf_counter() - t)
        cpu["compare"].append(time.process_time() - c)
    cases = {m.family: (lambda m=m: FrequencyGLM(**m.get_params()).fit(df)) for m in models}
    for fam in ("zip", "zinb"):  # the zero-inflated fits on statsmodels, as before issue 13
        cases[f"{fam}, statsmodels"] = (
            lambda fam=fam: FrequencyGLM(fam, factors, engine="statsmodels").fit(df))
    fits, fitted = alternate(cases, repeat)
    cmp = out["compare"]
    notes: list[str] = []
    lines = ["# Frequency model comparison", "", *machine.header(), "",
             f"{n:,} rows, factors {', '.join(factors)}; Poisson, NB2, ZIP, ZINB (engine='auto'), "
             f"5 folds: 24 fits. {repeat} run(s); seconds, median [min-max].", "",
             "| what | wall | CPU |", "| --- | ---: | ---: |",
             f"| compare_frequency_models, 4 families x (1 + 5 folds) | {spread(wall['compare'])} "
             f"| {spread(cpu['compare'])} |"]
    for fam, ts in fits.items():
        lines.append(f"| one fit: {fam.split(',')[0]} (engine {fitted[fam].engine_}) "
                     f"| {spread(ts)} | |")
    for fam in ("zip", "zinb"):
        ours, sm = fitted[fam], fitted[f"{fam}, statsmodels"]
        a = np.concatenate([ours.coef_, ours.zero_coef_, [ours.dispersion_]])
        b = np.concatenate([sm.coef_, sm.zero_coef_, [sm.dispersion_]])
        se_a = np.concatenate([ours.bse_, ours.zero_bse_])
        se_b = np.concatenate([sm.bse_, sm.zero_bse_])
        speed = median(fits[f"{fam}, statsmodels"]) / median(fits[fam])
        notes.append(f"- {fam}: the own Newton is {speed:.0f}x faster than statsmodels' BFGS "
                     "(gtol 1e-7, with its covariance); estimates differ by at "
                     f"most {np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3)):.1e} relative, "
                     f"standard errors by {np.max(np.abs(se_a - se_b) / se_b):.1e}; log-likelihood "
                     f"own minus statsmodels' {ours.loglik_ - sm.loglik_:+.2g} (a positive "
                     "difference: BFGS stopped short of the maximum; tests/test_zero_inflated.py "
                     "checks 1e-6 against statsmodels at gtol 1e-9).")
    lines += ["", *notes, f"- Whole comparison: **{median(wall['compare']):.2f} s** wall, "
              f"{median(cpu['compare']):.2f} s CPU (goal < 10 s).",
              f"- Lowest AIC: {cmp.table['aic'].idxmin()} (the data are zero-inflated NB).",
              "", "```", cmp.table.round(4).to_string(), "```",
              "", command("glm_compare", quick)]
    write(RESULTS, lines)


if __name__ == "__main__":
    cli(run, __doc__)
