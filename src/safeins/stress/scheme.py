"""A pilot scheme (试点方案) as data: book, pricing, coverage, prevention, reinsurance, capital, credit.

A :class:`Scheme` is a frozen configuration (TOML in and out, JSON Schema) that says everything a
regulator fixes or assumes when a 安责险 pilot is designed:

* ``regime``: the national rules it must respect (``national-2017``, ``national-2025``);
* ``book``: the insured enterprises (a shipped data set, or a synthetic one), optionally a subset
  of regions or sectors, and yearly entry and exit rates;
* ``pricing``: the rate manual (:class:`~safeins.rating.tariff.Tariff`), the floating rule
  (:class:`~safeins.rating.floating.FloatingRule`) and the off-balance correction;
* ``coverage``: the policy (:class:`~safeins.models.policy.PolicyCoverage` fields; the
  per-accident limit is per person × each enterprise's headcount unless set);
* ``prevention``: the fund's share of collected premium, allocation strategy, minimum service,
  service catalogue (response curves), carry-over;
* ``reinsurance``: quota share, per-accident excess of loss, aggregate stop-loss;
* ``insurers``: the insurers' or co-insurance pool's shares, starting capital, commission and
  expense ratios (default: the tariff's loadings);
* ``credit``: a yearly credit-grade transition matrix (A–D) and downgrades after fatal accidents;
* ``government``: premium subsidy and purchased safety services.

Shipped: ``zhejiang-pilot-2015`` (the 2017 rules on the zhejiang-pilot book) and
``zhejiang-2025`` (the same book under the 2025 rules). ``Scheme.load(name_or_path)`` reads one;
``scheme.select(region="宁波")`` keeps part of the book.

>>> s = Scheme.load("zhejiang-pilot-2015")
>>> s.regime, s.pricing.tariff, s.prevention.share
('national-2017', 'zhejiang-demo', 0.15)
>>> s.select(region="宁波").book.regions
('宁波',)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, Self

import pydantic

from .._base.config import Config
from .._base.resources import data_dir, shipped_toml
from .._base.results import as_summary
from ..errors import Problem, ValidationError

__all__ = ["BookSpec", "CreditSpec", "GovernmentSpec", "InsurerSpec", "PreventionSpec",
           "PricingSpec", "ReinsuranceSpec", "Scheme"]

_STRATEGIES = ("equal", "premium", "expected_loss", "risk_tier", "greedy", "optimal")
_GRADES = ("一般", "较大", "重大", "特别重大")


class BookSpec(Config):
    """The insured book: a shipped data set or a synthetic one, a subset, entry and exit.

    The enterprises' expected accident rates are the data set's rates of its last history year
    (the synthetic generator's truth, which the zhejiang-pilot set carries), held fixed over the
    simulated years apart from scenario shocks and prevention.

    >>> BookSpec(dataset="zhejiang-pilot", regions=["宁波"]).regions
    ('宁波',)
    """

    dataset: Literal["zhejiang-pilot"] | None = "zhejiang-pilot"
    synthetic: dict[str, Any] | None = None
    regions: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    entry_rate: float = pydantic.Field(default=0.0, ge=0, le=1)
    exit_rate: float = pydantic.Field(default=0.0, ge=0, le=1)

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.dataset is None) == (self.synthetic is None):
            raise ValueError("give exactly one of dataset = '<name>' or synthetic = {n_enterprises=…, "
                             "seed=…, regions=[…]}")
        if self.synthetic is not None and "seed" not in self.synthetic:
            raise ValueError("synthetic needs a seed (the book must be the same on every run)")
        return self


class PricingSpec(Config):
    """Rate manual, floating rule and off-balance correction.

    >>> PricingSpec(tariff="zhejiang-demo", floating="fuyang").off_balance
    'neutral'
    """

    tariff: str
    floating: str | None = None
    off_balance: Literal["neutral", "none"] = "neutral"
    options: dict[str, Any] = pydantic.Field(default_factory=dict)


class PreventionSpec(Config):
    """The prevention fund (事故预防服务费用).

    >>> PreventionSpec(share=0.15, strategy="optimal").objective
    'accidents'
    """

    share: float = pydantic.Field(default=0.15, ge=0, le=1)
    strategy: str = "expected_loss"
    objective: Literal["loss", "accidents", "deaths"] = "accidents"
    min_per_enterprise: float = pydantic.Field(default=0.0, ge=0)
    catalog: str = "default"
    carry_over: bool = False

    @pydantic.field_validator("strategy")
    @classmethod
    def _known(cls, v):
        if v not in _STRATEGIES:
            raise ValueError(f"one of {', '.join(_STRATEGIES)}")
        return v


class ReinsuranceSpec(Config):
    """Quota share, per-accident excess of loss (on the retained share) and aggregate stop-loss.

    Stop-loss attachment and limit are loss ratios of net premium; the XL premium is
    ``xl_rate_on_line × xl_limit`` a year.

    >>> ReinsuranceSpec(quota_share=0.3, xl_retention=5e6, xl_limit=2e7).xl_limit
    20000000.0
    """

    quota_share: float = pydantic.Field(default=0.0, ge=0, le=1)
    quota_commission: float = pydantic.Field(default=0.0, ge=0, le=1)
    xl_retention: float = pydantic.Field(default=0.0, ge=0, allow_inf_nan=False)
    xl_limit: float = pydantic.Field(default=0.0, ge=0, allow_inf_nan=False)
    xl_rate_on_line: float = pydantic.Field(default=0.0, ge=0, le=1)
    stop_loss_attachment: float = pydantic.Field(default=0.0, ge=0)
    stop_loss_limit: float = pydantic.Field(default=0.0, ge=0)
    stop_loss_rate: float = pydantic.Field(default=0.0, ge=0, le=1)


class InsurerSpec(Config):
    """The insurers (or co-insurance pool): shares, starting capital, commission and expenses.

    ``commission``/``expenses`` default to the tariff's loadings.

    >>> InsurerSpec(shares={"A": 0.6, "B": 0.4}, capital=2e8).shares["A"]
    0.6
    """

    shares: dict[str, float] = pydantic.Field(default_factory=lambda: {"pool": 1.0})
    capital: float = pydantic.Field(default=0.0, ge=0, allow_inf_nan=False)
    commission: float | None = pydantic.Field(default=None, ge=0, le=1)
    expenses: float | None = pydantic.Field(default=None, ge=0, le=1)

    @pydantic.model_validator(mode="after")
    def _shares(self) -> Self:
        bad = [f"{k}: {v}" for k, v in self.shares.items() if not 0 < v <= 1]
        if bad or not self.shares or not math.isclose(sum(self.shares.values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"shares must be in (0, 1] and sum to 1, got {dict(self.shares)}")
        return self


class CreditSpec(Config):
    """Credit grades A–D: a yearly transition matrix and downgrades after fatal accidents.

    ``transition[i][j]`` is the probability of moving from grade i to j in a year (rows sum to 1);
    ``downgrade`` gives the grades lost after an accident of each grade with at least
    ``downgrade_min_deaths`` deaths.

    >>> CreditSpec(transition=[[0.9, 0.1, 0, 0], [0.05, 0.9, 0.05, 0], [0, 0.1, 0.85, 0.05],
    ...                        [0, 0, 0.2, 0.8]]).downgrade["较大"]
    3
    """

    transition: tuple[tuple[float, float, float, float], ...] | None = None
    downgrade: dict[str, int] = pydantic.Field(
        default_factory=lambda: {"一般": 1, "较大": 3, "重大": 3, "特别重大": 3})
    downgrade_min_deaths: int = pydantic.Field(default=1, ge=1)

    @pydantic.model_validator(mode="after")
    def _matrix(self) -> Self:
        bad = []
        if self.transition is not None:
            if len(self.transition) != 4:
                bad.append(f"transition needs 4 rows (A, B, C, D), got {len(self.transition)}")
            for i, row in enumerate(self.transition):
                if any(not (0 <= p <= 1) for p in row):
                    bad.append(f"transition row {i} has a probability outside [0, 1]: {list(row)}")
                elif not math.isclose(sum(row), 1.0, abs_tol=1e-9):
                    bad.append(f"transition row {i} ({'ABCD'[i] if i < 4 else i}) sums to {sum(row):.6g}, "
                               "not 1")
        unknown = sorted(set(self.downgrade) - set(_GRADES))
        if unknown or set(self.downgrade) != set(_GRADES):
            bad.append(f"downgrade needs exactly the grades {', '.join(_GRADES)}; got {list(self.downgrade)}")
        if any(not 0 <= v <= 3 for v in self.downgrade.values()):
            bad.append("downgrade steps must be 0..3")
        if bad:
            raise ValueError("; ".join(bad))
        return self


class GovernmentSpec(Config):
    """Government support: a share of premium paid for enterprises, safety services bought (yuan/yr).

    >>> GovernmentSpec(premium_subsidy=0.2).premium_subsidy
    0.2
    """

    premium_subsidy: float = pydantic.Field(default=0.0, ge=0, le=1)
    purchased_services: float = pydantic.Field(default=0.0, ge=0, allow_inf_nan=False)


def _sections() -> dict:
    return {"book": BookSpec, "pricing": PricingSpec, "prevention": PreventionSpec,
            "reinsurance": ReinsuranceSpec, "insurers": InsurerSpec, "credit": CreditSpec,
            "government": GovernmentSpec}


class Scheme(Config):
    """A pilot scheme (see the module doc for every part).

    >>> s = Scheme.load("zhejiang-2025")
    >>> s.regime, s.coverage["per_person"]
    ('national-2025', 600000.0)
    >>> "properties" in Scheme.json_schema()
    True
    """

    name: str
    description: str = ""
    source: str = ""
    status: Literal["illustrative", "regulatory", "user"] = "illustrative"
    regime: str
    book: BookSpec = BookSpec()
    pricing: PricingSpec
    coverage: dict[str, Any]
    prevention: PreventionSpec = PreventionSpec()
    reinsurance: ReinsuranceSpec = ReinsuranceSpec()
    insurers: InsurerSpec = InsurerSpec()
    credit: CreditSpec = CreditSpec()
    government: GovernmentSpec = GovernmentSpec()
    bank_size: int = pydantic.Field(default=2**14, ge=256, le=2**22)

    def __init__(self, **data: Any):
        # validate each section first so that an error names the field as "section.field"
        problems = []
        for key, cls in _sections().items():
            value = data.get(key)
            if isinstance(value, dict):
                try:
                    data[key] = cls(**value)
                except ValidationError as err:
                    problems += [Problem(q.row, key if q.column == "-" else f"{key}.{q.column}",
                                         q.value, q.rule) for q in err._problems]
        if problems:
            name = data.get("name") if isinstance(data.get("name"), str) else ""
            raise ValidationError(f"Scheme {name}".strip(), problems)
        super().__init__(**data)

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        from ..domain import regimes
        from ..models.policy import PolicyCoverage

        bad = []
        try:
            reg = regimes.get(self.regime)
        except ValidationError as err:
            raise ValueError(f"regime: {err._problems[0].rule}") from None
        cap = reg.prevention_cap
        if cap is not None and self.prevention.share > cap:
            bad.append(f"prevention.share {self.prevention.share:g} exceeds the prevention_cap of "
                       f"{reg.key} ({cap:g})")
        cov = dict(self.coverage)
        if "headcount" in cov:
            bad.append("coverage.headcount: leave it out (each enterprise's own headcount is used)")
        else:
            try:
                PolicyCoverage(**{**cov, "headcount": 1, "regime": self.regime})
            except ValidationError as err:
                bad += [f"coverage.{p.column} = {p.value!r}: {p.rule}" for p in err._problems]
        if self.insurers.commission is not None and reg.commission_cap is not None \
                and self.insurers.commission > reg.commission_cap:
            bad.append(f"insurers.commission {self.insurers.commission:g} exceeds the commission_cap "
                       f"of {reg.key} ({reg.commission_cap:g})")
        if bad:
            raise ValueError("; ".join(bad))
        return self

    # --- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, name: str | Path) -> Scheme:
        """A shipped scheme by name (``pricing/schemes/NAME.toml``) or a TOML path.

        >>> Scheme.load("zhejiang-2025").book.dataset
        'zhejiang-pilot'
        """
        return cls.from_toml(shipped_toml("schemes", name, "Scheme.load"))

    @classmethod
    def available(cls) -> list[str]:
        """Names of the shipped schemes.

        >>> Scheme.available()
        ['zhejiang-2025', 'zhejiang-pilot-2015']
        """
        return sorted(p.stem for p in (data_dir("pricing") / "schemes").glob("*.toml"))

    def select(self, region: str | list[str] | None = None, sector: str | list[str] | None = None,
               **changes) -> Scheme:
        """The same scheme on part of its book (regions and/or sectors); other fields by keyword.

        >>> Scheme.load("zhejiang-pilot-2015").select(region=["宁波", "杭州"]).book.regions
        ('宁波', '杭州')
        """
        book = self.book.to_dict()
        if region is not None:
            book["regions"] = [region] if isinstance(region, str) else list(region)
        if sector is not None:
            book["sectors"] = [sector] if isinstance(sector, str) else list(sector)
        data = {**self.to_dict(), "book": book}
        for k, v in changes.items():
            if k not in type(self).model_fields:
                raise ValidationError("Scheme.select", [Problem(None, k, v, "not a Scheme field")])
            data[k] = v.to_dict() if isinstance(v, Config) else v
        return type(self).from_dict(data, source=f"Scheme {self.name!r}")

    def regime_facts(self) -> dict:
        """The facts a regime checks (``Regime.check(scheme)``, ``safeins check scheme``): the
        per-person limit, the prevention share of premium and, when the scheme states it, the
        insurers' commission.

        >>> from safeins.domain import regimes
        >>> regimes.get("national-2025").check(Scheme.load("zhejiang-2025")).ok
        True
        """
        facts: dict = {"prevention_share": float(self.prevention.share)}
        if self.coverage.get("per_person") is not None:
            facts["death_disability_limit"] = float(self.coverage["per_person"])
        if self.insurers.commission is not None:
            facts["commission"] = float(self.insurers.commission)
        return facts

    @as_summary
    def summary(self) -> str:
        """A short description of the scheme."""
        book = self.book.dataset or f"synthetic ({self.book.synthetic.get('n_enterprises', '?')})"
        where = f", regions {', '.join(self.book.regions)}" if self.book.regions else ""
        return (f"Scheme {self.name!r} ({self.status}) under {self.regime}: book {book}{where}; "
                f"tariff {self.pricing.tariff!r}, floating {self.pricing.floating!r}; per person "
                f"{self.coverage.get('per_person'):,.0f} yuan; prevention {self.prevention.share:.0%} "
                f"({self.prevention.strategy}); capital {self.insurers.capital:,.0f} yuan")
