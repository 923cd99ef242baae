"""Benchmark: price 1,000,000 enterprises with every floating factor (target: under 5 s).

    /work/venv/bin/python benchmarks/bench_pricing.py [--n 1000000] [--naive 2000]

The portfolio, one year of accidents and of hazard records, and the loss ratios are drawn with
numpy (seed 2024) in the shape of the zhejiang-pilot data, then validated once (not timed). Timed:
``Tariff.price`` with the zhejiang-demo tariff (sector x size band x region, two per-person options)
and the illustrative floating rule (accident grade and count, award, credit grade, blacklist,
standardisation, unrectified hazards, hazard rate against the sector norm, loss ratio), revenue
neutral. Compared with a naive per-enterprise loop (``Tariff.rate_of`` + ``FloatingRule.factor`` +
the off-balance factor of the vectorised run) on a subsample, whose premiums must agree exactly.
Writes benchmarks/results/pricing.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

import safeins as si
from safeins.rating.floating import FloatingRule
from safeins.rating.tariff import Tariff

OUT = Path(__file__).resolve().parent / "results" / "pricing.md"
SIZE_P = {"large": 0.01, "medium": 0.06, "small": 0.33, "micro": 0.60}
HEAD = {"large": 800, "medium": 150, "small": 40, "micro": 10}


def synthetic(n: int, tariff: Tariff, seed: int = 2024):
    """A validated portfolio of n enterprises, last year's accidents and hazards, loss ratios."""
    rng = np.random.default_rng(seed)
    sectors = np.array(tariff.sectors)
    regions = np.array(sorted({r.region for r in tariff.rates}))
    sector = rng.choice(sectors, n)
    size = rng.choice(list(SIZE_P), n, p=list(SIZE_P.values()))
    head = np.maximum(1, rng.poisson(np.vectorize(HEAD.get)(size))).astype(np.int64)
    base = pd.Series(sector).map({s.code: s.exposure_base for s in si.sectors.all_sectors()}).to_numpy()
    payroll = head * rng.lognormal(np.log(90_000), 0.3, n)
    revenue = head * rng.lognormal(np.log(1.5e6), 0.5, n)
    ids = np.char.add("E", np.char.zfill(np.arange(n).astype(str), 7))
    frame = pd.DataFrame({
        "enterprise_id": ids.astype(object), "sector": sector, "region": rng.choice(regions, n),
        "size_band": size, "headcount": head, "payroll": payroll, "revenue": revenue,
        "contract_value": np.where(base == "contract_value",
                                   head * rng.lognormal(np.log(6e5), 0.6, n), np.nan),
        "vehicles": np.where(base == "vehicles", np.maximum(1, rng.poisson(head / 3)), np.nan),
        "vessels": np.where(base == "vessels", np.maximum(1, rng.poisson(head / 8)), np.nan),
        "credit_grade": rng.choice(list("ABCD"), n, p=[0.25, 0.45, 0.22, 0.08]),
        "blacklisted": rng.random(n) < 0.01,
        "standardization": rng.choice(["1", "2", "3", "none"], n, p=[0.02, 0.13, 0.45, 0.40]),
        "years_insured": rng.integers(0, 8, n),
        "award": rng.choice(["none", "city", "province"], n, p=[0.95, 0.04, 0.01]),
    })
    pf = si.Portfolio(frame)
    year = 2024
    n_acc = int(0.07 * n)
    who = rng.integers(0, n, n_acc)
    deaths = rng.choice([0, 1, 2, 3, 10], n_acc, p=[0.90, 0.07, 0.02, 0.009, 0.001])
    acc = si.AccidentHistory(pd.DataFrame({
        "accident_id": np.char.add("A", np.arange(n_acc).astype(str)).astype(object),
        "enterprise_id": ids[who].astype(object), "year": year,
        "employee_deaths": deaths, "employee_serious_injuries": rng.poisson(0.3, n_acc),
        "employee_minor_injuries": rng.poisson(1.0, n_acc), "third_party_deaths": 0,
        "third_party_injuries": 0, "direct_loss": rng.lognormal(11, 1.5, n_acc),
        "property_damage": 0.0, "rescue_cost": 0.0}))
    found = rng.poisson(head * 0.025)
    major = rng.binomial(found, 0.05)
    unrect = rng.binomial(found, 0.1)
    hz = si.HazardHistory(pd.DataFrame({
        "enterprise_id": ids.astype(object), "year": year, "hazards_found": found,
        "major_hazards_found": major, "rectified_on_time": found - unrect, "unrectified": unrect}))
    has = rng.random(n) < 0.7
    lr = pd.Series(rng.gamma(1.5, 0.5, int(has.sum())), index=ids[has].astype(object), name="loss_ratio")
    return pf, acc, hz, lr


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--naive", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    tariff = Tariff.load("zhejiang-demo")
    rule = FloatingRule.load("illustrative")
    t0 = time.perf_counter()
    pf, acc, hz, lr = synthetic(args.n, tariff)
    build = time.perf_counter() - t0
    options = {"per_person": 400_000}

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        q = tariff.price(pf, accidents=acc, hazards=hz, floating=rule, experience=lr, options=options)
        times.append(time.perf_counter() - t0)
    best = min(times)
    frame = q.to_frame()

    # naive loop: one enterprise at a time through the public scalar API
    sample = frame.index[:: max(1, len(frame) // args.naive)][: args.naive]
    pfr, expo = pf.frame, pf.exposure()
    t0 = time.perf_counter()
    worst = 0.0
    for i in sample:
        rate = tariff.rate_of(sector=pfr.at[i, "sector"], size_band=pfr.at[i, "size_band"],
                              region=pfr.at[i, "region"], exposure=expo[i], per_person=400_000)
        base = max(rate * expo[i], tariff.min_premium)
        inputs = {t.input: frame.at[i, f"in_{t.input}"] for t in rule.terms}
        inputs = {k: (v.item() if hasattr(v, "item") else v) for k, v in inputs.items()}
        premium = base * rule.factor(**inputs).factor * q.off_balance
        worst = max(worst, abs(premium / frame.at[i, "final_premium"] - 1))
    naive = time.perf_counter() - t0
    per_naive = naive / len(sample)
    per_vec = best / len(frame)

    rows = [
        ("enterprises priced", f"{len(frame):,}"),
        ("accidents (prior year) / hazard records", f"{len(acc):,} / {len(hz):,}"),
        ("floating factors", f"{len(rule.terms)} ({', '.join(t.name for t in rule.terms)})"),
        ("tariff rows", f"{len(tariff.rates)} (zhejiang-demo)"),
        ("build + validate inputs (not timed)", f"{build:.1f} s"),
        (f"Tariff.price, best of {args.repeat}",
         f"{best:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})"),
        ("target", "< 5 s"),
        ("vectorised, per enterprise", f"{per_vec * 1e6:.2f} µs"),
        (f"naive loop on {len(sample):,} enterprises",
         f"{naive:.2f} s = {per_naive * 1e3:.2f} ms per enterprise"),
        ("naive / vectorised (per enterprise)", f"{per_naive / per_vec:,.0f} x"),
        ("naive loop extrapolated to all", f"{per_naive * len(frame) / 3600:.1f} h"),
        ("max relative difference naive vs vectorised", f"{worst:.1e}"),
        ("revenue neutrality: abs(sum final / sum base - 1)",
         f"{abs(frame['final_premium'].sum() / frame['base_premium'].sum() - 1):.1e}"),
        ("off-balance factor", f"{q.off_balance:.6f}"),
    ]
    width = max(len(a) for a, _ in rows)
    table = "\n".join(f"| {a} | {b} |" for a, b in rows)
    text = (f"# Pricing benchmark\n\n`benchmarks/bench_pricing.py --n {args.n}` on "
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
            f"numpy {np.__version__}, pandas {pd.__version__}. Machine shared with other jobs when run: "
            "timings are indicative; rerun on a quiet machine.\n\n| measure | value |\n| --- | --- |\n"
            f"{table}\n")
    for a, b in rows:
        print(f"{a:<{width}}  {b}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


def run(quick: bool = False) -> None:
    """Entry point of benchmarks/run.py."""
    main(["--n", "20000", "--naive", "500", "--repeat", "1"] if quick else [])


if __name__ == "__main__":
    main()
