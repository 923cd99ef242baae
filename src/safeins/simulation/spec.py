"""What the engine simulates: plain arrays prepared once, shipped to every worker.

The stress layer turns a scheme and its scenarios into these objects (``safeins.stress.scheme``);
the engine only reads them. Everything is per enterprise (dense, built once) or per accident of a
pre-simulated *bank* (see :class:`AccidentBank`); nothing here is per simulation.

>>> import numpy as np
>>> t = FloatingTables.flat(3)
>>> t.factor(np.arange(3), np.zeros(3, int), np.zeros(3, int), np.zeros(3, int), np.ones(3, int)).tolist()
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "GRADE_NAMES",
    "AccidentBank",
    "BookArrays",
    "Effects",
    "EngineSpec",
    "Finance",
    "FloatingTables",
    "Reinsurance",
]

#: accident grades in code order (2007 State Council rules)
GRADE_NAMES = ("一般", "较大", "重大", "特别重大")
CREDIT_NAMES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class BookArrays:
    """The insured book, one entry per enterprise (all money in yuan)."""

    ids: np.ndarray
    sector: np.ndarray            # int codes into ``sectors``
    sectors: tuple[str, ...]
    region: np.ndarray            # int codes into ``regions``
    regions: tuple[str, ...]
    headcount: np.ndarray
    burden_base: np.ndarray       # payroll (or revenue where payroll is 0): premium burden denominator
    credit: np.ndarray            # base credit grade 0..3 (A..D)
    base_premium: np.ndarray      # B_i, before floating
    premium_year1: np.ndarray     # the year-1 premium (floating from the history, off-balance)
    per_accident_limit: np.ndarray
    aggregate_limit: np.ndarray
    rescue_limit: np.ndarray
    min_premium: np.ndarray | None = None   # m_i, applied to the final premium (None: no minimum)

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class FloatingTables:
    """A floating rule split into a static part per enterprise and lookup tables for the inputs the
    simulation changes (worst accident grade, accident count, deaths, credit grade).

    ``static`` holds the product of ``1 + adj`` (multiplicative) or the sum of ``adj`` (additive)
    of the factors that read inputs the simulation does not change.
    """

    combine: str
    floor: float
    cap: float
    static: np.ndarray
    grade: np.ndarray = field(default_factory=lambda: np.zeros(5))    # none, 一般, ..., 特别重大
    count: np.ndarray = field(default_factory=lambda: np.zeros(1))    # by count, last entry for more
    deaths: np.ndarray = field(default_factory=lambda: np.zeros(1))
    credit: np.ndarray = field(default_factory=lambda: np.zeros(4))   # A..D
    neutral: bool = True

    @classmethod
    def flat(cls, n: int) -> FloatingTables:
        """No floating: every factor is 1."""
        return cls("multiplicative", 1.0, 1.0, np.ones(n), neutral=False)

    def factor(self, ent, grade_level, count, deaths, credit) -> np.ndarray:
        """The floating factor of enterprises ``ent`` with the given record and credit grade."""
        adj = (self.grade[grade_level], self.count[np.minimum(count, len(self.count) - 1)],
               self.deaths[np.minimum(deaths, len(self.deaths) - 1)], self.credit[credit])
        if self.combine == "multiplicative":
            raw = self.static[ent] * (1 + adj[0]) * (1 + adj[1]) * (1 + adj[2]) * (1 + adj[3])
        else:
            raw = 1.0 + self.static[ent] + adj[0] + adj[1] + adj[2] + adj[3]
        return np.clip(raw, self.floor, self.cap)


@dataclass(frozen=True)
class AccidentBank:
    """Accidents pre-simulated from the accident model, ``size`` per sector, sector after sector.

    A simulated accident of sector s picks bank entry ``s * size + floor(u * size)``, u uniform per
    accident: independent draws from the bank, whatever order its entries come in. ``covered``
    and ``rescue`` (per year, they move with cost growth and limits) hold each accident's insured
    amount before the per-accident limit excluding rescue, and its rescue cost after the deductible
    (the rescue sub-limit depends on the enterprise's per-accident limit).
    """

    size: int
    deaths: np.ndarray
    serious: np.ndarray
    grade: np.ndarray             # 0..3


@dataclass(frozen=True)
class Reinsurance:
    """Quota share, per-accident excess of loss and aggregate stop-loss (0 = none)."""

    quota_share: float = 0.0
    quota_commission: float = 0.0
    xl_retention: float = 0.0
    xl_limit: float = 0.0
    xl_rate_on_line: float = 0.0
    stop_loss_attachment: float = 0.0   # as a loss ratio of net premium
    stop_loss_limit: float = 0.0        # as a loss ratio of net premium
    stop_loss_rate: float = 0.0         # premium as a share of net premium


@dataclass(frozen=True)
class Finance:
    """Loadings, capital and shares of the insurers (or the co-insurance pool)."""

    commission: float
    expenses: float
    capital: float
    subsidy: float = 0.0                # government's share of the premium (burden only)
    purchased_services: float = 0.0     # yuan a year of safety services bought by government
    insurers: dict = field(default_factory=lambda: {"pool": 1.0})


@dataclass(frozen=True)
class Effects:
    """One scenario, resolved to arrays: per year (index 0 = year 1)."""

    name: str
    weights: np.ndarray           # (years, n) candidate accident rates before prevention
    accept: np.ndarray            # (years, n) share of candidates that happen (prevention)
    severity: np.ndarray          # (years, n) factor on the insured amount (severity services)
    fund_spend: np.ndarray        # (years,) planned prevention spend, yuan
    fund_budget_share: float      # share of collected premium the fund receives
    covered: np.ndarray           # (years, bank entries)
    rescue: np.ndarray            # (years, bank entries)
    common_cv: float = 0.0
    size: np.ndarray | None = None        # (years,) book size relative to year 1
    take_up: np.ndarray | None = None     # (years,)
    drift: float = 0.0
    limit_scale: np.ndarray | None = None  # (years, 3): per-accident, aggregate, rescue limits
    # fixed accidents: (year index, enterprise, deaths, serious, grade, covered, rescue by year)
    extra: tuple = ()
    track: tuple = ()             # enterprise indices whose premium and claims are recorded


@dataclass(frozen=True)
class EngineSpec:
    """Everything the engine needs besides the scenario and the seed."""

    book: BookArrays
    floating: FloatingTables
    bank: AccidentBank
    reinsurance: Reinsurance
    finance: Finance
    years: int
    first_year: int
    transition: np.ndarray | None = None      # (4, 4) yearly credit migration, or None
    downgrade: np.ndarray = field(default_factory=lambda: np.array([1, 3, 3, 3]))  # steps by grade
    downgrade_min_deaths: int = 1
