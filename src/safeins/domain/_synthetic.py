"""The synthetic portfolio generator behind ``datasets.synthetic_portfolio`` and ``zhejiang-pilot``.

Every number here is a documented, *synthetic* assumption chosen to be of the right order of
magnitude against the public statistics in the project's calibration notes (see
``datasets/README.md``): it is not an estimate of any real insurer's book. The generator returns the
true parameters with the data, so fitted models can be checked against them.

The causal structure (so models can discover real links):

* a latent enterprise risk ``z ~ N(0, 1)`` drives the credit grade, the standardisation level,
  blacklisting and the hazard rate alike;
* accidents of enterprise i in year t are Poisson with mean
  ``base_rate[sector] * exposure_i * rel_credit * rel_blacklist * rel_standardization * rel_size
  * rel_region * exp(hazard_coef * hazard_rate_it) * exp(trend * (t - first_year)) * frailty_i``,
  where ``frailty_i ~ Gamma(k, 1/k)`` is persistent over the years (negative-binomial counts whose
  enterprise effects credibility and bonus–malus can learn);
* each accident has victims (1 + Poisson for ordinary accidents; a heavy-tailed count for the rare
  catastrophic ones), each victim an outcome (death, disability grade 1–10, medical only), and
  costs; some accidents hurt third parties and damage property.

The catastrophe tail is calibrated per sector so that deaths per fatal accident match the national
series (coal ~1.9, mines ~1.25, chemicals ~1.2, fireworks ~1.1, construction ~1.25) and 重大/特别重大
accidents stay rare (see ``datasets/README.md`` and ``tests/test_calibration.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._base.rng import as_generator
from ..errors import Problems

__all__ = ["SectorProfile", "SyntheticConfig", "SyntheticData", "generate", "sample_accidents"]


@dataclass(frozen=True)
class SectorProfile:
    """Synthetic profile of one sector (all values are illustrative assumptions).

    ``accidents_per_100`` is the expected number of insured accidents (any bodily injury, most of
    them medical-only) per 100 workers per year at the base levels of every factor;
    ``p_death`` the probability that a victim of an ordinary accident dies; ``p_catastrophe`` the
    share of accidents that are catastrophic (explosions, collapses: many victims, high lethality);
    ``p_third_party`` the share of accidents that hurt third parties.
    """

    share: float
    headcount_median: float
    headcount_sigma: float
    accidents_per_100: float
    p_death: float
    p_catastrophe: float
    p_third_party: float
    frailty_shape: float = 2.0
    units_per_worker: float = 1.0  # exposure units per worker (yuan of contract value, vehicles ...)


# Shares follow no official breakdown (none was found): manufacturing and trade dominate counts,
# high-risk sectors are a minority, as in a province's enterprise register (zhejiang-pilot overrides
# them in its manifest: no coal mines, almost no fireworks makers). p_catastrophe (6th value) is
# set so that deaths per fatal accident match the national series by sector: coal 2021 178/91 =
# 1.96, mines less coal 2021 325/265 = 1.23, chemicals 2021-22 1.13-1.18, licensed fireworks
# production 2021-22 1.0, building works H1 2015 1.30 [V]; the other sectors 1.05-1.4
# (illustrative). Chemicals kill 15-18 times as many as licensed fireworks production (2021-22
# [V]): p_death is 0.012 for chemicals (a victim of a fire, explosion or poisoning dies more often
# than in manufacturing) and 0.012 for fireworks. Frequencies and
# lethality are set so that (a) deaths per 100,000 workers range from ~1 (trade) to ~20-30 (coal,
# fishing, transport) and (b) the demo's premium at a 50万 per-person limit averages ~200-250 yuan
# per worker: inside the 30-300 yuan per person of Shandong's 2017 scheme (sum insured 50万) [V].
DEFAULT_SECTORS: dict[str, SectorProfile] = {
    "coal_mining": SectorProfile(0.004, 300, 0.9, 0.308, 0.0125, 0.0079, 0.02, 1.5),
    "non_coal_mining": SectorProfile(0.015, 40, 0.9, 0.280, 0.0100, 0.0013, 0.02, 1.8),
    "hazardous_chemicals": SectorProfile(0.060, 60, 1.0, 0.126, 0.0120, 0.0013, 0.05, 1.8),
    "fireworks": SectorProfile(0.008, 25, 0.8, 0.168, 0.0120, 0.00075, 0.05, 1.5),
    "transport": SectorProfile(0.090, 30, 1.0, 0.224, 0.0200, 0.0046, 0.35, 2.0, 0.7),
    "construction": SectorProfile(0.110, 50, 1.1, 0.266, 0.0090, 0.00124, 0.08, 2.0, 8.0e5),
    "civil_explosives": SectorProfile(0.004, 80, 0.8, 0.084, 0.0150, 0.0024, 0.03, 1.5),
    "metal_smelting": SectorProfile(0.030, 120, 1.0, 0.182, 0.0075, 0.00078, 0.02, 2.0),
    "fishing": SectorProfile(0.020, 16, 0.7, 0.364, 0.0175, 0.0038, 0.01, 2.0, 0.125),
    "manufacturing": SectorProfile(0.420, 35, 1.1, 0.126, 0.0050, 0.0002, 0.02, 2.5),
    "trade": SectorProfile(0.180, 12, 1.0, 0.056, 0.0040, 0.00006, 0.05, 2.5),
    "other": SectorProfile(0.059, 15, 1.0, 0.070, 0.0050, 0.0001, 0.05, 2.5),
}
# codes in this order; shares must sum to 1 (checked)

DEFAULT_RELATIVITIES: dict[str, dict[str, float]] = {
    "credit_grade": {"A": 0.80, "B": 1.00, "C": 1.30, "D": 1.70},
    "blacklisted": {"False": 1.00, "True": 1.30},
    "standardization": {"1": 0.70, "2": 0.82, "3": 0.93, "none": 1.00},
    "size_band": {"large": 0.80, "medium": 0.90, "small": 1.00, "micro": 1.15},
}


@dataclass(frozen=True)
class SyntheticConfig:
    """All parameters of the generator, with their defaults (see the module docstring)."""

    n_enterprises: int = 10_000
    years: tuple[int, ...] = (2019, 2020, 2021, 2022, 2023)
    regions: tuple[str, ...] = ("region_1", "region_2", "region_3")
    region_sizes: tuple[float, ...] | None = None  # relative sizes; equal if None
    region_spread: float = 0.15  # sd of log region relativities, drawn once from the seed
    sectors: dict[str, SectorProfile] = field(default_factory=lambda: dict(DEFAULT_SECTORS))
    relativities: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_RELATIVITIES.items()})
    # the catastrophe tail: a catastrophic accident has 2 + NegBin(dispersion, mean extra) employee
    # victims, each of whom dies with catastrophe_death_share (calibrated, see DEFAULT_SECTORS)
    catastrophe_extra_victims: float = 4.0
    catastrophe_dispersion: float = 0.5
    catastrophe_death_share: float = 0.4
    hazard_coef: float = 0.04  # log-relativity per hazard found per 100 workers
    hazards_per_100: float = 2.5  # mean hazards found per 100 workers at z = 0
    hazard_z_effect: float = 0.5  # how strongly latent risk drives hazards
    trend: float = -0.05  # yearly log-trend in frequency (national deaths fell ~28% 2020-2024)
    death_compensation: float = 1.2e6  # ≈ 20 × Zhejiang urban disposable income (illustrative)
    wage_per_worker: float = 9.0e4  # yuan per year (illustrative)
    revenue_per_worker: float = 1.5e6  # yuan per year (illustrative)

    def validate(self) -> None:
        p = Problems("SyntheticConfig")
        p.check(isinstance(self.n_enterprises, int | np.integer) and self.n_enterprises >= 1,
                column="n_enterprises", value=self.n_enterprises, rule="an int >= 1")
        p.check(len(self.years) >= 1 and all(isinstance(y, int | np.integer) for y in self.years),
                column="years", value=self.years, rule="one or more int years")
        p.check(len(self.regions) >= 1, column="regions", value=self.regions, rule="at least one region")
        if self.region_sizes is not None:
            p.check(len(self.region_sizes) == len(self.regions) and min(self.region_sizes) > 0,
                    column="region_sizes", value=self.region_sizes,
                    rule="one positive size per region")
        shares = sum(s.share for s in self.sectors.values())
        p.check(abs(shares - 1) < 1e-9, column="sectors.share", value=shares, rule="shares must sum to 1")
        from . import sectors as _sectors

        for code in self.sectors:
            p.check(code in _sectors.codes(), column="sectors", value=code, rule="unknown sector code")
        p.raise_if_any()


@dataclass
class SyntheticData:
    """What the generator returns: the three tables and the true parameters behind them."""

    portfolio: object
    accidents: object
    hazards: object
    truth: dict

    def __iter__(self):
        return iter((self.portfolio, self.accidents, self.hazards, self.truth))


def _size_band(headcount: np.ndarray) -> np.ndarray:
    # 工信部联企业〔2011〕300号 industrial thresholds by employees [R]: <20 micro, <300 small,
    # <1000 medium, else large
    return np.select([headcount < 20, headcount < 300, headcount < 1000],
                     ["micro", "small", "medium"], "large")


def _cut(score: np.ndarray, shares: list[float], labels: list[str]) -> np.ndarray:
    qs = np.quantile(score, np.cumsum(shares)[:-1])
    return np.asarray(labels, dtype=object)[np.searchsorted(qs, score)]


def generate(config: SyntheticConfig, seed, id_prefix: str = "E") -> SyntheticData:
    """Generate a portfolio, its accident history and its hazard records (see the module doc)."""
    from .portfolio import AccidentHistory, HazardHistory, Portfolio

    config.validate()
    rng = as_generator(seed)
    n, years = int(config.n_enterprises), list(config.years)
    codes = list(config.sectors)
    prof = [config.sectors[c] for c in codes]

    # --- enterprises -------------------------------------------------------------------------
    sector_idx = rng.choice(len(codes), size=n, p=[p.share for p in prof])
    sizes = np.ones(len(config.regions)) if config.region_sizes is None else np.asarray(config.region_sizes)
    if sizes.sum() == n and np.all(sizes == np.round(sizes)):
        # sizes are exact counts (zhejiang-pilot: Ningbo's 78,200 enterprises): assign them exactly
        region_idx = rng.permutation(np.repeat(np.arange(len(sizes)), sizes.astype(np.int64)))
    else:
        region_idx = rng.choice(len(config.regions), size=n, p=sizes / sizes.sum())
    med = np.array([p.headcount_median for p in prof])[sector_idx]
    sig = np.array([p.headcount_sigma for p in prof])[sector_idx]
    headcount = np.maximum(1, np.round(med * np.exp(sig * rng.standard_normal(n)))).astype(np.int64)
    z = rng.standard_normal(n)
    credit = _cut(z + 0.7 * rng.standard_normal(n), [0.30, 0.40, 0.22, 0.08], ["A", "B", "C", "D"])
    blacklisted = (credit == "D") & (rng.random(n) < 0.15)
    std_score = -z + 0.4 * np.log(headcount) + 0.8 * rng.standard_normal(n)
    standardization = _cut(-std_score, [0.05, 0.20, 0.35, 0.40], ["1", "2", "3", "none"])
    award = np.where((credit == "A") & (rng.random(n) < 0.04), "city", "none").astype(object)
    award[(credit == "A") & (rng.random(n) < 0.01)] = "province"
    units = np.array([p.units_per_worker for p in prof])[sector_idx]
    noise = np.exp(0.3 * rng.standard_normal((3, n)))
    payroll = headcount * config.wage_per_worker * noise[0]
    revenue = headcount * config.revenue_per_worker * noise[1]
    base_of = np.array([_base(c) for c in codes], dtype=object)[sector_idx]
    contract = np.where(base_of == "contract_value", np.round(headcount * units * noise[2], -3), np.nan)
    vehicles = np.where(base_of == "vehicles", np.maximum(1, np.round(headcount * units)), np.nan)
    vessels = np.where(base_of == "vessels", np.maximum(1, np.round(headcount * units)), np.nan)
    ids = np.array([f"{id_prefix}{i:07d}" for i in range(n)], dtype=object)
    pf_frame = pd.DataFrame({
        "enterprise_id": ids,
        "sector": np.asarray(codes, dtype=object)[sector_idx],
        "region": np.asarray(config.regions, dtype=object)[region_idx],
        "size_band": _size_band(headcount).astype(object),
        "headcount": headcount,
        "payroll": np.round(payroll, 2), "revenue": np.round(revenue, 2),
        "contract_value": contract, "vehicles": vehicles, "vessels": vessels,
        "credit_grade": credit, "blacklisted": blacklisted, "standardization": standardization,
        "years_insured": rng.integers(0, 9, size=n), "award": award,
    })
    portfolio = Portfolio(pf_frame)
    exposure = portfolio.exposure().to_numpy()

    # --- true frequency model ----------------------------------------------------------------
    rel = config.relativities
    draws = np.exp(config.region_spread * rng.standard_normal(len(config.regions)))
    region_rel = dict(zip(config.regions, draws, strict=True))
    base_level = max(region_rel, key=lambda r: (region_idx == config.regions.index(r)).sum())
    region_rel = {r: v / region_rel[base_level] for r, v in region_rel.items()}  # most exposed = 1
    # base rate per exposure unit: accidents per worker / exposure units per worker
    base_rate = {c: p.accidents_per_100 / 100.0 / p.units_per_worker
                 for c, p in zip(codes, prof, strict=True)}
    static = (
        np.array([base_rate[c] for c in codes])[sector_idx] * exposure
        * _lookup(rel["credit_grade"], credit) * _lookup(rel["blacklisted"], blacklisted.astype(str))
        * _lookup(rel["standardization"], standardization)
        * _lookup(rel["size_band"], _size_band(headcount))
        * _lookup(region_rel, pf_frame["region"].to_numpy())
    )
    shape = np.array([p.frailty_shape for p in prof])[sector_idx]
    frailty = rng.gamma(shape, 1.0 / shape)

    # --- hazards, then accidents, year by year -------------------------------------------------
    t = len(years)
    hz_mean = config.hazards_per_100 * headcount / 100.0 * np.exp(config.hazard_z_effect * z - 0.125)
    found = rng.poisson(np.tile(hz_mean, (t, 1)))
    major = rng.binomial(found, np.clip(0.03 * np.exp(0.5 * z), 0, 1))
    p_unrect = np.where(np.isin(credit, ["C", "D"]), 0.15, 0.05)
    unrect = rng.binomial(found, p_unrect)
    on_time = rng.binomial(found - unrect, 0.85)
    hazard_rate = found / (headcount / 100.0)
    trend = np.exp(config.trend * (np.asarray(years) - years[0]))[:, None]
    lam = static * frailty * np.exp(config.hazard_coef * hazard_rate) * trend
    counts = rng.poisson(lam)  # shape (years, n)

    hz_frame = pd.DataFrame({
        "enterprise_id": np.tile(ids, t), "year": np.repeat(np.asarray(years, dtype=np.int64), n),
        "hazards_found": found.ravel(), "major_hazards_found": major.ravel(),
        "rectified_on_time": on_time.ravel(), "unrectified": unrect.ravel(),
    })

    acc_frame, victims = _accidents(rng, counts, ids, years, sector_idx, prof, config)
    accidents = AccidentHistory(acc_frame, portfolio=portfolio, victims=victims,
                                years=[int(y) for y in years])
    hazards = HazardHistory(hz_frame, portfolio=portfolio, years=[int(y) for y in years])
    # the true expected accidents of the policy year (the year after the data) per enterprise: the
    # hazards of that year are not drawn yet, so E[exp(c·H)] with H = 100·Poisson(μ)/headcount,
    # which is exp(μ·(exp(100c/headcount) - 1)) exactly
    policy_year = int(years[-1]) + 1
    hazard_factor = np.exp(hz_mean * np.expm1(config.hazard_coef * 100.0 / headcount))
    next_year = (static * frailty * hazard_factor
                 * np.exp(config.trend * (policy_year - years[0])))
    truth = {
        "base_rate": base_rate,
        "relativities": {**{k: dict(v) for k, v in rel.items()}, "region": region_rel},
        "base_levels": {"credit_grade": "B", "blacklisted": "False", "standardization": "none",
                        "size_band": "small", "region": base_level},
        "hazard_coef": config.hazard_coef,
        "trend": config.trend,
        "frailty_shape": {c: p.frailty_shape for c, p in zip(codes, prof, strict=True)},
        "frailty": pd.Series(frailty, index=ids, name="frailty"),
        "expected_accidents": pd.DataFrame(lam.T, index=ids, columns=years),
        "policy_year": policy_year,
        "next_year_expected_accidents": pd.Series(next_year, index=ids, name=policy_year),
        "latent_risk": pd.Series(z, index=ids, name="z"),
        "config": config,
    }
    return SyntheticData(portfolio, accidents, hazards, truth)


def _base(code: str) -> str:
    from . import sectors as _sectors

    return _sectors.get(code).exposure_base


def _lookup(table: dict, keys: np.ndarray) -> np.ndarray:
    keys = np.asarray(keys, dtype=object)
    out = np.empty(len(keys))
    for k, v in table.items():
        out[keys == k] = v
    return out


def sample_accidents(config: SyntheticConfig, sector: str, n: int, seed) -> pd.DataFrame:
    """``n`` accidents of one sector drawn from the generator's severity law (victims, costs).

    The severity half of the generator on its own, for calibration: deaths per fatal accident,
    the share of 较大 and 重大 accidents, the reportable share.

    >>> a = sample_accidents(SyntheticConfig(), "hazardous_chemicals", 1000, seed=1)
    >>> len(a), bool((a["employee_deaths"] >= 0).all())
    (1000, True)
    """
    codes = list(config.sectors)
    p = Problems("sample_accidents")
    p.check(sector in codes, column="sector", value=sector, rule=f"one of {codes}")
    p.check(isinstance(n, int | np.integer) and n >= 1, column="n", value=n, rule="an int >= 1")
    p.raise_if_any()
    counts = np.ones((1, int(n)), dtype=np.int64)
    ids = np.array([f"S{i:08d}" for i in range(int(n))], dtype=object)
    sector_idx = np.full(int(n), codes.index(sector))
    frame, _ = _accidents(as_generator(seed), counts, ids, [0], sector_idx,
                          [config.sectors[c] for c in codes], config)
    return frame.drop(columns=["year"])


def _accidents(rng, counts, ids, years, sector_idx, prof, config):
    """Expand accident counts into accident rows and victim rows (vectorised)."""
    yi, ei = np.nonzero(counts)
    reps = counts[yi, ei]
    yi, ei = np.repeat(yi, reps), np.repeat(ei, reps)
    m = len(ei)
    s = sector_idx[ei]
    p_cat = np.array([p.p_catastrophe for p in prof])[s]
    p_death = np.array([p.p_death for p in prof])[s]
    p_tp = np.array([p.p_third_party for p in prof])[s]
    cat = rng.random(m) < p_cat
    # ordinary: 1 + Poisson(0.08) victims; catastrophic: 2 + a heavy-tailed negative binomial
    r, extra = config.catastrophe_dispersion, config.catastrophe_extra_victims
    n_emp = np.where(cat, 2 + rng.negative_binomial(r, r / (r + extra), size=m), 1 + rng.poisson(0.08, m))
    death_p = np.where(cat, config.catastrophe_death_share, p_death)
    has_tp = rng.random(m) < np.where(cat, 0.5, p_tp)
    n_tp = np.where(has_tp, 1 + rng.poisson(np.where(cat, 2.0, 0.3)), 0)
    # victims: role, outcome, disability grade, medical cost
    acc_of = np.repeat(np.arange(m), n_emp + n_tp)
    starts = np.cumsum(n_emp + n_tp) - (n_emp + n_tp)
    role_tp = (np.arange(len(acc_of)) - starts[acc_of]) >= n_emp[acc_of]  # employees first
    u = rng.random(len(acc_of))
    dp = death_p[acc_of] * np.where(role_tp, 1.5, 1.0)
    is_death = u < dp
    is_dis = ~is_death & (u < dp + 0.15)
    grades = 1 + np.searchsorted(np.cumsum(np.arange(1, 11) / 55.0), rng.random(len(acc_of)))
    grades = np.minimum(grades, 10)
    med = np.where(is_death, 2e4, np.where(is_dis, 3e4, 6e3)) * np.exp(1.0 * rng.standard_normal(len(acc_of)))
    med = np.round(med, 2)
    outcome = np.where(is_death, "death", np.where(is_dis, "disability", "medical")).astype(object)
    dis_grade = np.where(is_dis, grades, np.nan)

    def per_acc(values):
        return np.bincount(acc_of, weights=values, minlength=m)

    emp = ~role_tp
    emp_deaths = per_acc((is_death & emp).astype(float)).astype(np.int64)
    emp_serious = per_acc((is_dis & emp).astype(float)).astype(np.int64)
    emp_minor = per_acc((~is_death & ~is_dis & emp).astype(float)).astype(np.int64)
    tp_deaths = per_acc((is_death & role_tp).astype(float)).astype(np.int64)
    tp_inj = per_acc((is_dis & role_tp).astype(float)).astype(np.int64)
    comp = config.death_compensation
    bodily = per_acc(np.where(is_death, comp, np.where(is_dis, comp * (11 - grades) / 10.0, 0.0)) + med)
    prop = np.where(rng.random(m) < np.where(cat, 0.9, 0.12),
                    # a narrower log-spread for catastrophes keeps losses of 1亿 (特别重大 by loss alone)
                    # at about 1 in 20,000 catastrophes
                    np.exp(np.where(cat, np.log(2e6), np.log(3e4))
                           + np.where(cat, 1.0, 1.3) * rng.standard_normal(m)), 0.0)
    rescue = np.exp(np.where(cat, np.log(3e5), np.log(3e3)) + 1.0 * rng.standard_normal(m))
    prop, rescue = np.round(prop, 2), np.round(rescue, 2)
    acc_ids = np.array([f"A{i:08d}" for i in range(m)], dtype=object)
    acc_frame = pd.DataFrame({
        "accident_id": acc_ids, "enterprise_id": ids[ei],
        "year": np.asarray(years, dtype=np.int64)[yi],
        "employee_deaths": emp_deaths, "employee_serious_injuries": emp_serious,
        "employee_minor_injuries": emp_minor, "third_party_deaths": tp_deaths,
        "third_party_injuries": tp_inj,
        "direct_loss": np.round(bodily + prop + rescue, 2), "property_damage": prop,
        "rescue_cost": rescue, "amount_paid": np.nan,
    })
    victims = pd.DataFrame({
        "accident_id": acc_ids[acc_of], "role": np.where(role_tp, "third_party", "employee").astype(object),
        "outcome": outcome, "disability_grade": dis_grade, "medical_cost": med,
    })
    return acc_frame, victims
