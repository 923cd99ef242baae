"""Build pricing/tariffs/zhejiang-demo.toml from the zhejiang-pilot data set (run once).

    python benchmarks/make_demo_tariff.py

Steps: the zhejiang-pilot portfolio, accidents and hazards (safeins.domain.datasets, a fixed synthetic
data set); the enterprise-year table; a Poisson FrequencyGLM on sector, size band and region with a
log-exposure offset (exposure in each sector's own base); an AccidentModel; the national-2025
minimum cover (40万 per person, 50 employees per policy for the per-accident limit) and loadings
(commission 5 %, prevention 15 %, expenses 10 %, profit 3 %, standard-deviation risk load 0.1 per
accident); Bühlmann–Straub credibility smoothing of the sector x size band x region cells; and a
second per-person option of 60万. The tariff is DERIVED from SYNTHETIC data: a demonstration, not a
market rate.
"""

from __future__ import annotations

import time
from pathlib import Path

import safeins as si
from safeins.models.accident import AccidentModel
from safeins.models.frequency_glm import FrequencyGLM
from safeins.models.policy import PolicyCoverage
from safeins.rating.loadings import Loadings
from safeins.rating.tariff import Tariff

OUT = Path(__file__).resolve().parents[1] / "pricing" / "tariffs" / "zhejiang-demo.toml"


def main() -> None:
    t0 = time.perf_counter()
    pf = si.datasets.load_portfolio("zhejiang-pilot")
    acc = si.datasets.load_accidents("zhejiang-pilot")
    hz = si.datasets.load_hazards("zhejiang-pilot")
    print(f"data: {len(pf)} enterprises, {len(acc)} accidents ({time.perf_counter() - t0:.1f} s)")
    et = si.exposure_table(pf, acc, hz)
    freq = FrequencyGLM("poisson", factors=["sector", "size_band", "region"]).fit(et)
    print(f"GLM fitted ({time.perf_counter() - t0:.1f} s)")
    accm = AccidentModel().fit(acc, pf)
    print(f"accident model fitted ({time.perf_counter() - t0:.1f} s)")
    cov = PolicyCoverage.from_regime("national-2025", per_person=400_000, headcount=50)
    loadings = Loadings(commission=0.05, prevention=0.15, expenses=0.10, profit=0.03,
                        principle={"kind": "standard_deviation", "parameter": 0.1},
                        regime="national-2025")
    tariff = Tariff.from_models(
        freq, accm, coverage=cov, loadings=loadings, regime="national-2025",
        per_person_options=[600_000], credibility="fit", data=et, min_premium=500.0,
        name="zhejiang-demo",
        source="DERIVED from the synthetic zhejiang-pilot data set by benchmarks/make_demo_tariff.py "
               "(a demonstration, not a market rate)")
    text = tariff.to_toml_text()
    header = "".join(f"# {line}\n" if line else "#\n" for line in __doc__.strip().splitlines())
    OUT.write_text(header + "\n" + text, encoding="utf-8")
    print(f"wrote {OUT} ({len(tariff.rates)} rates, {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
