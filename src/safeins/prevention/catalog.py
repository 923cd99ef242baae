"""The catalogue of accident-prevention services (事故预防服务) and their effect parameters.

A :class:`ServiceCatalog` lists the services an insurer buys with the prevention fund (AQ 9010-2019
§5 items, [R] in the domain notes): training, risk assessment, hazard investigation,
standardisation, emergency plans and drills, monitoring technology. For each service it gives the
unit cost, the *channel* the service acts on and, per sector, the parameters of its saturating
effect curve with their uncertainty:

* ``frequency``: the service lowers the whole expected accident rate λ;
* ``hazard``: it lowers only the hazard-driven part ``hazard_share × λ`` (major-hazard
  rectification, 重大事故隐患整改);
* ``severity``: it lowers the loss and the deaths per accident, not the number of accidents.

The effect of spending ``x`` yuan on service ``s`` in an enterprise of sector ``g`` is the fraction
``r (1 - exp(-x / k))`` of the channel removed, where ``r`` ~ ``r_upper × Beta`` with mean
``r_max`` and ``k = k_units × unit_cost × (headcount / reference_headcount) ** size_elasticity``
with a lognormal spread ``k_sigma`` around its median. The shipped numbers are ILLUSTRATIVE: no
regulation publishes effect sizes, so every number is a default a user replaces.

>>> cat = ServiceCatalog.load("default")
>>> cat.codes[:3]
('training', 'risk_assessment', 'hazard_investigation')
>>> cat.effect("hazard_investigation", "coal_mining").r_max   # coal mines use the mining entry
0.6
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pydantic

from .._base.config import Config
from .._base.resources import shipped_toml
from ..errors import Problem, ValidationError

__all__ = ["Effect", "SectorProfile", "Service", "ServiceCatalog"]

Channel = Literal["frequency", "hazard", "severity"]


class Effect(Config):
    """Effect-curve parameters of one service in one sector, with their uncertainty.

    ``r_max``: the mean share of the channel the service removes at saturation; the uncertain
    value is ``r_upper × Beta(a, b)`` with mean ``r_max`` and concentration ``a + b``.
    ``k_units``: median number of service units at which 63 % (1 - 1/e) of ``r_max`` is reached;
    ``k_sigma``: log-standard deviation of k.

    >>> e = Effect(r_max=0.1, r_upper=0.2, k_units=2.0)
    >>> round(e.beta_parameters()[0], 6), e.beta_parameters()[1]
    (10.0, 10.0)
    """

    r_max: float = pydantic.Field(ge=0, le=1)
    r_upper: float = pydantic.Field(gt=0, le=1)
    concentration: float = pydantic.Field(default=20.0, gt=0)
    k_units: float = pydantic.Field(gt=0)
    k_sigma: float = pydantic.Field(default=0.3, ge=0)

    @pydantic.model_validator(mode="after")
    def _mean_below_upper(self):
        if self.r_max > self.r_upper:
            raise ValueError(f"r_max={self.r_max} must be <= r_upper={self.r_upper}")
        return self

    def beta_parameters(self) -> tuple[float, float]:
        """(a, b) of the Beta law of ``r / r_upper``."""
        p = self.r_max / self.r_upper
        return p * self.concentration, (1.0 - p) * self.concentration


class Service(Config):
    """One prevention service: names, unit, unit cost, channel, lag and effects by sector.

    ``effects`` maps sector codes (and ``"default"``, used for sectors without their own entry and
    whose parent sector has none) to :class:`Effect`. ``lag_years`` is 0 when the effect is felt in
    the year the service is delivered, 1 when only the following year. ``skip_standardization``
    lists standardisation grades for which the service does nothing (a grade-1 enterprise gains
    nothing from a standardisation project).
    """

    name_zh: str
    name_en: str
    unit: str
    unit_cost: float = pydantic.Field(gt=0)
    channel: Channel
    lag_years: Literal[0, 1] = 0
    skip_standardization: tuple[str, ...] = ()
    effects: dict[str, Effect]

    @pydantic.field_validator("effects")
    @classmethod
    def _has_default(cls, value):
        if "default" not in value:
            raise ValueError("needs a 'default' entry (used for sectors without their own)")
        return value


class SectorProfile(Config):
    """Per-sector facts the response model needs: the hazard-driven share of the accident rate."""

    hazard_share: float = pydantic.Field(ge=0, le=1)


class ServiceCatalog(Config):
    """A validated catalogue of prevention services (see the module docstring for the model).

    Load the shipped catalogue with ``ServiceCatalog.load("default")`` or any TOML file with
    ``ServiceCatalog.load(path)``; take a subset with :meth:`select`.

    >>> cat = ServiceCatalog.load("default")
    >>> cat.select(["training", "drills"]).codes
    ('training', 'drills')
    >>> cat.select(["trainning"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    safeins.errors.ValidationError: services: 1 problem
      row  column    value        rule
      -    services  'trainning'  unknown service; did you mean 'training'? (catalogue 'default' ...)
    """

    name: str
    description: str = ""
    illustrative: bool = True
    reference_headcount: float = pydantic.Field(default=100.0, gt=0)
    size_elasticity: float = pydantic.Field(default=0.5, ge=0, le=1)
    sectors: dict[str, SectorProfile]
    services: dict[str, Service]

    @pydantic.model_validator(mode="after")
    def _consistent(self):
        from ..domain import sectors as _sectors

        problems = []
        keys = {"default", *_sectors.codes()}
        if "default" not in self.sectors:
            problems.append("sectors needs a 'default' entry")
        for where, names in [("sectors", self.sectors), *(
            (f"services.{c}.effects", s.effects) for c, s in self.services.items()
        )]:
            bad = sorted(set(names) - keys)
            if bad:
                problems.append(f"{where}: unknown sector codes {bad}; allowed: 'default' or a code "
                                f"of safeins.domain.sectors ({', '.join(_sectors.codes())})")
        if not self.services:
            problems.append("services is empty")
        if problems:
            raise ValueError("; ".join(problems))
        # Effects add up across services (the response model is additive), so the upper ends of
        # the effects must not remove more than the whole expected loss in any sector.
        for sector in sorted({"default", *self.sectors, *(
            g for s in self.services.values() for g in s.effects)}):
            total = 0.0
            for code in self.services:
                e = self.effect(code, sector)
                weight = self.profile(sector).hazard_share if self.services[code].channel == "hazard" else 1.0
                total += weight * e.r_upper
            if total > 1.0 + 1e-12:
                raise ValueError(
                    f"in sector {sector!r} the services' r_upper (hazard services weighted by "
                    f"hazard_share) add up to {total:.3f} > 1: the effects could remove more than "
                    "the whole expected loss")
        return self

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, name_or_path: str | Path = "default") -> ServiceCatalog:
        """A shipped catalogue by name (``pricing/services/<name>.toml``) or a TOML file path."""
        return cls.from_toml(shipped_toml("services", name_or_path, "ServiceCatalog.load"))

    # -- lookup --------------------------------------------------------------------------------
    @property
    def codes(self) -> tuple[str, ...]:
        """Service codes in catalogue order."""
        return tuple(self.services)

    def _sector_key(self, sector: str, table: dict) -> str:
        from ..domain import sectors as _sectors

        if sector in table:
            return sector
        if sector != "default":
            parent = _sectors.get(sector).parent
            if parent is not None and parent in table:
                return parent
        return "default"

    def effect(self, service: str, sector: str) -> Effect:
        """The effect of ``service`` in ``sector`` (its own entry, its parent's, or the default)."""
        s = self.services[service]
        return s.effects[self._sector_key(sector, s.effects)]

    def profile(self, sector: str) -> SectorProfile:
        """The sector profile (own entry, parent's, or default)."""
        return self.sectors[self._sector_key(sector, self.sectors)]

    def select(self, services) -> ServiceCatalog:
        """The catalogue restricted to ``services`` (codes, in the order given).

        Unknown codes raise one :class:`~safeins.errors.ValidationError` naming each of them.
        """
        import difflib

        wanted = [services] if isinstance(services, str) else list(services)
        problems = []
        for code in wanted:
            if code not in self.services:
                close = difflib.get_close_matches(str(code), self.codes, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                problems.append(Problem(None, "services", code, f"unknown service; {hint}(catalogue "
                                        f"{self.name!r} has: {', '.join(self.codes)})"))
        if not wanted:
            problems.append(Problem(None, "services", wanted, "at least one service"))
        if len(set(wanted)) != len(wanted):
            problems.append(Problem(None, "services", wanted, "each service at most once"))
        if problems:
            raise ValidationError("services", problems)
        return self.model_copy(update={"services": {c: self.services[c] for c in wanted}})

    def to_frame(self):
        """One row per (service, sector entry) with the effect parameters and ``k`` in yuan."""
        import pandas as pd

        rows = []
        for code, s in self.services.items():
            for sector, e in s.effects.items():
                rows.append({
                    "service": code, "name_zh": s.name_zh, "channel": s.channel, "sector": sector,
                    "unit_cost": s.unit_cost, "r_max": e.r_max, "r_upper": e.r_upper,
                    "concentration": e.concentration, "k_units": e.k_units,
                    "k_yuan": e.k_units * s.unit_cost, "k_sigma": e.k_sigma, "lag_years": s.lag_years,
                })
        return pd.DataFrame(rows)
