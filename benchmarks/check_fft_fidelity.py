"""How faithfully each FFT reproduces the compound of its OWN discretised severity.

Run inside the benchmark virtualenv: ``python benchmarks/check_fft_fidelity.py``. safeins and
aggregate discretise the lognormal of ``bench_aggregate.py`` identically (rounding, step 500, 2^20
points: the severity probabilities agree to 2e-16). The exact mean of the compound of that discrete
severity is E[N] x sum(x f). Each library's lattice mean is compared with it: the difference is the
FFT's own error, separate from the discretisation error both share. Writes
benchmarks/results/fft-fidelity.md.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

import safeins as si

MEAN, SD = 84_541.68, 177_728.3
H, LOG2 = 500.0, 20


def main() -> None:
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    from aggregate import Aggregate as MAgg

    s2 = np.log(1 + (SD / MEAN) ** 2)
    sev = si.LogNormal(mu=np.log(MEAN) - s2 / 2, sigma=np.sqrt(s2))
    n = 2**LOG2
    f = si.discretize(sev, step=H, n=n, method="rounding")
    x = H * np.arange(n)
    lines = ["| E[N] | severity discretisation error (mean) | library | lattice mean vs exact compound "
             "of the discretised severity | lattice mean vs true mean |", "| --- | --- | --- | --- | --- |"]
    for lam in (3.0, 1000.0):
        disc_mean = lam * float((x * f).sum())
        true_mean = lam * MEAN
        ours = si.Aggregate(si.Poisson(lam), sev, method="fft", step=H, n=n, discretization="rounding")
        X, P = ours.lattice()
        a = MAgg("bench", exp_en=lam, sev_name="lognorm", sev_mean=MEAN, sev_cv=SD / MEAN,
                 freq_name="poisson")
        a.update(log2=LOG2, bs=H, padding=1, normalize=False)
        d = a.density_df
        assert np.max(np.abs(f - d["p_sev"].to_numpy()[:n])) < 1e-12  # same discretisation
        for lib, m in (("safeins", float((X * P).sum())),
                       ("aggregate", float((d["loss"] * d["p_total"]).sum()))):
            lines.append(f"| {lam:g} | {disc_mean / true_mean - 1:.2e} | {lib} | {m / disc_mean - 1:.2e} | "
                         f"{m / true_mean - 1:.2e} |")
    head = "# FFT fidelity to the discretised severity\n\n" + (__doc__ or "").strip()
    text = head + "\n\n" + "\n".join(lines)
    out = Path(__file__).resolve().parent / "results" / "fft-fidelity.md"
    out.write_text(text + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
