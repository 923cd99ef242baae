"""Stress scenarios: what changes relative to the scheme, composable and user-writable.

A :class:`Scenario` is a frozen configuration (TOML in and out) listing changes to the scheme's
world: frequency shocks by sector or region from a given year, a common shock that moves every
enterprise's rate together within a year, indexation of costs and limits, prevention switched off
or less effective, credit-grade drift, a take-up drop, and fixed extra accidents. Scenarios add up
with ``+`` (shocks multiply, lists concatenate, the later scenario's settings win where both set
one). Every scenario runs with the same random numbers as the others (common random numbers), so a
scenario that changes one thing changes only what follows from it.

Named scenarios (:func:`named`): ``baseline`` (nothing changes), ``catastrophe`` (one 特别重大
accident with 30 deaths at the largest hazardous-chemicals enterprise in year 2), ``no_prevention``
(the fund is not spent), ``weak_prevention`` (services remove half the effect assumed),
``common_shock`` (a year-to-year swing of every rate; coefficient of variation 0.06, the spread of
year-on-year changes of China's work-safety deaths, see docs/stress.md), ``credit_drift`` (2 % of
enterprises lose one credit grade a year), ``take_up_drop`` (take-up falls to 85 % from year 2),
``limit_2025`` (the per-person floor rises from 300,000 to 400,000 yuan from year 2 and costs grow
with income by 5 % a year).

>>> s = named("catastrophe") + frequency_shock(1.5, sector="mining", from_year=3)
>>> s.name, len(s.extra_accidents), s.frequency_shocks[0].factor
('catastrophe+frequency_shock', 1, 1.5)
>>> named("baseline").is_baseline
True
"""

from __future__ import annotations

from typing import Literal, Self

import pydantic

from .._base.config import Config
from ..errors import Problem, ValidationError

__all__ = [
    "NAMED",
    "ExtraAccident",
    "FrequencyShock",
    "Scenario",
    "common_shock",
    "credit_drift",
    "extra_accident",
    "frequency_shock",
    "indexation",
    "named",
    "prevention_effect",
    "take_up",
]


class FrequencyShock(Config):
    """Multiply the accident rate of a sector and/or region by ``factor`` from ``from_year`` on.

    ``sector``/``region`` None means every sector/region. Years count from 1 (the first simulated
    year).

    >>> FrequencyShock(factor=2.0, sector="construction", from_year=2).factor
    2.0
    """

    factor: float = pydantic.Field(gt=0, allow_inf_nan=False)
    sector: str | None = None
    region: str | None = None
    from_year: int = pydantic.Field(default=1, ge=1)
    to_year: int | None = pydantic.Field(default=None, ge=1)


class ExtraAccident(Config):
    """A fixed accident added in ``year`` of every simulation (a catastrophe).

    ``enterprise`` is an enterprise id, or ``"largest:<sector>"``: the enterprise of that sector
    with the most employees. The accident kills ``deaths`` employees and seriously injures
    ``serious_injuries``; its grade follows from them (2007 State Council rules) and
    ``direct_loss``.

    >>> ExtraAccident(enterprise="largest:hazardous_chemicals", year=2, deaths=30).deaths
    30
    """

    enterprise: str
    year: int = pydantic.Field(ge=1)
    deaths: int = pydantic.Field(default=0, ge=0)
    serious_injuries: int = pydantic.Field(default=0, ge=0)
    direct_loss: float = pydantic.Field(default=0.0, ge=0, allow_inf_nan=False)


class Scenario(Config):
    """Changes to the scheme's world (see the module doc). All fields are optional.

    Parameters
    ----------
    frequency_shocks : list of FrequencyShock
    common_shock_cv : float
        Coefficient of variation of a gamma multiplier (mean 1) drawn per simulation and year and
        applied to every enterprise's rate: accidents become positively correlated within a year.
    severity_growth : float
        Yearly growth of bodily-injury costs (compensation follows income), from year 2.
    per_person_from : dict year -> per-person limit (yuan)
        The policy's per-person limit from that year (e.g. the 2025 floor of 400,000).
    prevention : bool
        False: the fund is not spent (no prevention effect, no spend).
    prevention_effectiveness : float
        Multiplies every service's maximum effect (0.5: half as effective as assumed).
    credit_drift : float
        Yearly probability that an enterprise loses one credit grade, besides the scheme's own
        migration.
    take_up : dict year -> share insured
        The insured share of the book from that year (1 before the first entry).
    extra_accidents : list of ExtraAccident

    >>> Scenario(name="x", common_shock_cv=0.1).common_shock_cv
    0.1
    """

    name: str = "baseline"
    description: str = ""
    frequency_shocks: tuple[FrequencyShock, ...] = ()
    common_shock_cv: float = pydantic.Field(default=0.0, ge=0, le=2, allow_inf_nan=False)
    severity_growth: float = pydantic.Field(default=0.0, gt=-1, le=1, allow_inf_nan=False)
    per_person_from: dict[int, float] = pydantic.Field(default_factory=dict)
    prevention: bool = True
    prevention_effectiveness: float = pydantic.Field(default=1.0, ge=0, le=1, allow_inf_nan=False)
    credit_drift: float = pydantic.Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    take_up: dict[int, float] = pydantic.Field(default_factory=dict)
    extra_accidents: tuple[ExtraAccident, ...] = ()

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        bad = [f"per_person_from: year {y} must be >= 1 and the limit {v} > 0"
               for y, v in self.per_person_from.items() if not (y >= 1 and v > 0)]
        bad += [f"take_up: year {y} must be >= 1 and the share {v} in (0, 1]"
                for y, v in self.take_up.items() if not (y >= 1 and 0 < v <= 1)]
        bad += [f"frequency_shocks.{i}: to_year {s.to_year} is before from_year {s.from_year}"
                for i, s in enumerate(self.frequency_shocks)
                if s.to_year is not None and s.to_year < s.from_year]
        if bad:
            raise ValueError("; ".join(bad))
        return self

    @property
    def is_baseline(self) -> bool:
        """True when the scenario changes nothing."""
        return self.model_dump(exclude={"name", "description"}) == Scenario().model_dump(
            exclude={"name", "description"})

    def __add__(self, other: Scenario) -> Scenario:
        if not isinstance(other, Scenario):
            return NotImplemented
        default = Scenario()
        data = self.model_dump()
        for field in ("common_shock_cv", "severity_growth", "prevention", "prevention_effectiveness",
                      "credit_drift"):
            if getattr(other, field) != getattr(default, field):
                data[field] = getattr(other, field)
        data["per_person_from"] = {**self.per_person_from, **other.per_person_from}
        data["take_up"] = {**self.take_up, **other.take_up}
        data["frequency_shocks"] = [*self.frequency_shocks, *other.frequency_shocks]
        data["extra_accidents"] = [*self.extra_accidents, *other.extra_accidents]
        parts = [n for n in (self.name, other.name) if n != "baseline"]
        data["name"] = "+".join(parts) or "baseline"
        data["description"] = "; ".join(d for d in (self.description, other.description) if d)
        return Scenario(**data)

    # ---- helpers used by the engine set-up ---------------------------------------------------
    def per_person(self, year: int, default: float) -> float:
        """The per-person limit in force in ``year`` (the latest entry at or before it)."""
        past = [y for y in self.per_person_from if y <= year]
        return float(self.per_person_from[max(past)]) if past else float(default)

    def take_up_in(self, year: int) -> float:
        """The insured share in ``year``."""
        past = [y for y in self.take_up if y <= year]
        return float(self.take_up[max(past)]) if past else 1.0


# --------------------------------------------------------------------------- building blocks
def frequency_shock(factor: float, *, sector: str | None = None, region: str | None = None,
                    from_year: int = 1, to_year: int | None = None,
                    name: str = "frequency_shock") -> Scenario:
    """A scenario multiplying the accident rate of a sector/region from a year on.

    >>> frequency_shock(2.0, region="宁波", from_year=3).frequency_shocks[0].region
    '宁波'
    """
    return Scenario(name=name, frequency_shocks=[FrequencyShock(
        factor=factor, sector=sector, region=region, from_year=from_year, to_year=to_year)])


def common_shock(cv: float = 0.06, name: str = "common_shock") -> Scenario:
    """A common yearly multiplier of every rate, gamma with mean 1 and coefficient of variation ``cv``.

    >>> common_shock(0.2).common_shock_cv
    0.2
    """
    return Scenario(name=name, common_shock_cv=cv)


def indexation(severity_growth: float = 0.0, per_person_from: dict | None = None,
               name: str = "indexation") -> Scenario:
    """Cost growth per year (income) and per-person limits from given years.

    >>> indexation(0.05, {2: 400_000}).per_person(3, 300_000)
    400000.0
    """
    return Scenario(name=name, severity_growth=severity_growth, per_person_from=per_person_from or {})


def prevention_effect(effectiveness: float = 0.0, name: str | None = None) -> Scenario:
    """Prevention switched off (``0``) or less effective than assumed (between 0 and 1).

    >>> prevention_effect(0).prevention, prevention_effect(0.5).prevention_effectiveness
    (False, 0.5)
    """
    if effectiveness == 0:
        return Scenario(name=name or "no_prevention", prevention=False,
                        description="the prevention fund is not spent")
    return Scenario(name=name or "weak_prevention", prevention_effectiveness=effectiveness)


def credit_drift(rate: float = 0.02, name: str = "credit_drift") -> Scenario:
    """Every year each enterprise loses one credit grade with probability ``rate``.

    >>> credit_drift(0.05).credit_drift
    0.05
    """
    return Scenario(name=name, credit_drift=rate)


def take_up(share: float, from_year: int = 2, name: str = "take_up_drop") -> Scenario:
    """Only ``share`` of the book stays insured from ``from_year`` on.

    >>> take_up(0.8, 3).take_up_in(3)
    0.8
    """
    return Scenario(name=name, take_up={from_year: share})


def extra_accident(enterprise: str, year: int, deaths: int, serious_injuries: int = 0,
                   direct_loss: float = 0.0, name: str = "extra_accident") -> Scenario:
    """A fixed accident at one enterprise in one year of every simulation.

    >>> extra_accident("E1", 2, 5).extra_accidents[0].deaths
    5
    """
    return Scenario(name=name, extra_accidents=[ExtraAccident(
        enterprise=enterprise, year=year, deaths=deaths, serious_injuries=serious_injuries,
        direct_loss=direct_loss)])


#: the named scenarios and how they are built
NAMED: dict[str, Scenario] = {
    "baseline": Scenario(name="baseline", description="the scheme as specified"),
    "catastrophe": extra_accident("largest:hazardous_chemicals", 2, 30, name="catastrophe"),
    "no_prevention": prevention_effect(0.0),
    "weak_prevention": prevention_effect(0.5),
    "common_shock": common_shock(0.06),
    "credit_drift": credit_drift(0.02),
    "take_up_drop": take_up(0.85, 2),
    "limit_2025": indexation(0.05, {2: 400_000.0}, name="limit_2025"),
}

ScenarioLike = Scenario | Literal["baseline", "catastrophe", "no_prevention", "weak_prevention",
                                  "common_shock", "credit_drift", "take_up_drop", "limit_2025"] | str


def named(name: str) -> Scenario:
    """A named scenario (see the module doc); an unknown name raises, listing the names.

    >>> named("no_prevention").prevention
    False
    """
    if name not in NAMED:
        raise ValidationError("scenario", [Problem(None, "scenarios", name,
                                                   f"one of {', '.join(NAMED)} or a Scenario")])
    return NAMED[name]
