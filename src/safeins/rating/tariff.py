"""Differentiated base rates (差别费率): a rate manual by sector x size band (x region) per exposure unit.

A :class:`Tariff` is a list of rate rows. Each row names its sector and the *exposure base* its rate
is per unit of (the sector's base: headcount, payroll, revenue, contract value, vehicles, vessels),
and may narrow the match by size band, region, a band of the exposure amount itself
(``exposure_above < x <= exposure_upto``, as contract-value bands are), and the policy options
``per_person`` (death/disability limit per person), ``aggregate`` (policy aggregate limit) and
``risk_class``. Rates are fractions of the base unless the manual says ``unit = "permille"`` (‰),
the only way a file may give per-mille rates. Multiplicative ``relativities`` (e.g. metro works
x 1.5) apply to options the portfolio states; a minimum premium applies per row or to the manual.

Shipped manuals (``pricing/tariffs/``): ``hunan-construction`` and ``shandong-construction-2018``
(docs/domain/regulation.md#hunan, #shandong) and ``zhejiang-demo`` (derived from the zhejiang-pilot data by
``benchmarks/make_demo_tariff.py``). :meth:`Tariff.from_models` builds one from a fitted frequency
GLM and an accident model; :meth:`Tariff.price` prices a portfolio (see
:mod:`safeins.rating.quotes`).

>>> t = Tariff.load("shandong-construction-2018")
>>> t.unit, t.rate_of(sector="construction", exposure=30_000_000)
('permille', 0.0006)
>>> round(t.rate_of(sector="construction", exposure=30_000_000) * 30_000_000)   # yuan
18000
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
import pydantic

from .._base.config import Config
from .._base.resources import data_dir, shipped_toml
from .._base.results import as_summary
from ..domain import sectors as _sectors
from ..errors import Problem, Problems, ValidationError
from ._lookup import OPTIONS

__all__ = ["ALTERNATIVE_BASES", "DIMENSIONS", "RateRow", "Relativity", "Tariff"]

SIZE_BANDS = ("large", "medium", "small", "micro")
ANY = "*"
#: Bases a manual may rate a sector on besides its registered one. Manufacturing and trade are
#: registered per worker (the 2025 rules cover the same amount per person, so the headcount is the
#: natural base); payroll and revenue stay available for manuals that rate them so.
ALTERNATIVE_BASES: dict[str, tuple[str, ...]] = {"manufacturing": ("payroll",),
                                                 "trade": ("revenue",)}
#: The row fields an enterprise is matched on (besides the exposure band).
DIMENSIONS = ("sector", "size_band", "region", "per_person", "aggregate", "risk_class")


class RateRow(Config):
    """One rate of a manual: where it applies and its rate per unit of the named base.

    ``"*"`` (or an absent option) matches anything. ``exposure_above``/``exposure_upto`` bound the
    enterprise's exposure, ``above < x <= upto`` (``<=`` as "以下/≤" reads in the manuals).

    >>> RateRow(sector="construction", base="contract_value", rate=0.65, exposure_upto=1e7).base
    'contract_value'
    """

    sector: str
    base: str
    rate: float = pydantic.Field(ge=0, allow_inf_nan=False)
    size_band: str = ANY
    region: str = ANY
    exposure_above: float | None = pydantic.Field(default=None, ge=0)
    exposure_upto: float | None = pydantic.Field(default=None, gt=0)
    per_person: float | None = pydantic.Field(default=None, gt=0)
    aggregate: float | None = pydantic.Field(default=None, gt=0)
    risk_class: str | None = None
    min_premium: float | None = pydantic.Field(default=None, ge=0)
    note: str = ""

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        bad = []
        try:
            sec = _sectors.get(self.sector)
        except ValidationError:
            bad.append(f"sector {self.sector!r}: {_sectors.unknown_sector_rule(self.sector)}")
        else:
            if sec.code != self.sector:
                bad.append(f"sector {self.sector!r}: write the code {sec.code!r}")
            elif self.base not in (sec.exposure_base, *ALTERNATIVE_BASES.get(sec.code, ())):
                also = "".join(f" or {b!r}" for b in ALTERNATIVE_BASES.get(sec.code, ()))
                bad.append(f"base {self.base!r}: sector {sec.code!r} is rated per "
                           f"{sec.exposure_base!r}{also}")
        if self.size_band not in (*SIZE_BANDS, ANY):
            bad.append(f"size_band {self.size_band!r}: one of {', '.join(SIZE_BANDS)} or '*'")
        lo, hi = self.exposure_above, self.exposure_upto
        if lo is not None and hi is not None and not lo < hi:
            bad.append(f"exposure band ({lo}, {hi}]: exposure_above must be < exposure_upto")
        if bad:
            raise ValueError("; ".join(bad))
        return self


class Relativity(Config):
    """A multiplicative relativity table on one option of the portfolio (e.g. project type).

    ``base`` is the level the manual's rates are for (its factor must be 1). An enterprise that
    does not state the option is rated at ``base``, shown as such in the quotes.

    A *banded* relativity reads a number: ``input`` names it (a portfolio column or a standard
    floating input such as ``hazard_rate``, hazards found per 100 workers in the prior year) and
    ``edges`` cut it into bins closed on the right, ``x <= e0``, ``e0 < x <= e1``, ..., ``x > ek``
    (the quantile bins of :class:`~safeins.models.frequency_glm.FrequencyGLM`); ``levels`` are
    the bins' labels and factors, in bin order.

    >>> Relativity(dimension="project_type", base="standard", levels={"standard": 1.0, "metro": 1.5},
    ...            source="湖南 基准费率表: 地铁 x1.5").levels["metro"]
    1.5
    >>> r = Relativity(dimension="hazard_band", input="hazard_rate", edges=(2.0, 5.0), base="<= 2",
    ...                levels={"<= 2": 1.0, "(2, 5]": 1.1, "> 5": 1.3})
    >>> r.band_levels([0.0, 2.0, 2.5, 9.0])
    ['<= 2', '<= 2', '(2, 5]', '> 5']
    """

    dimension: str
    base: str
    levels: dict[str, float]
    source: str = ""
    input: str | None = None
    edges: tuple[float, ...] | None = None

    def band_levels(self, values) -> list:
        """The level of each value of a banded relativity (None where the value is missing)."""
        x = np.asarray(values, dtype=float)
        names = list(self.levels)
        pos = np.searchsorted(np.asarray(self.edges, dtype=float), x, side="left")
        return [None if np.isnan(v) else names[k] for v, k in zip(x, pos, strict=True)]

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        bad = [f"level {k!r}: factor {v} must be finite and > 0" for k, v in self.levels.items()
               if not (math.isfinite(v) and v > 0)]
        if self.edges is not None:
            if any(not b > a for a, b in zip(self.edges, self.edges[1:], strict=False)) or not all(
                    math.isfinite(e) for e in self.edges):
                bad.append(f"edges must be finite and increase strictly, got {list(self.edges)}")
            if len(self.levels) != len(self.edges) + 1:
                bad.append(f"{len(self.edges)} edges make {len(self.edges) + 1} bands, "
                           f"but there are {len(self.levels)} levels")
        elif self.input is not None:
            bad.append("input= names the number a banded relativity reads: give edges= too")
        if self.base not in self.levels:
            bad.append(f"base {self.base!r} is not a level ({', '.join(self.levels)})")
        elif self.levels[self.base] != 1.0:
            bad.append(f"the base level {self.base!r} must have factor 1, got {self.levels[self.base]}")
        if bad:
            raise ValueError(f"relativity {self.dimension!r}: " + "; ".join(bad))
        return self


class Tariff(Config):
    """A rate manual: rate rows, relativities, a minimum premium, loadings and a regime.

    Parameters
    ----------
    name, description, source : str
        Identification; ``source`` cites where every number comes from.
    status : {"regulatory", "derived", "illustrative"}
        ``regulatory``: a published manual; ``derived``: built from models and data.
    unit : {"fraction", "permille"}
        How the rates of this manual are written; in code rates are always fractions
        (:meth:`to_frame`'s ``rate``).
    rates : list of RateRow
    relativities : list of Relativity
    min_premium : float
        Minimum base premium per enterprise (yuan), unless a row sets its own.
    loadings : dict, optional
        The :class:`~safeins.rating.loadings.Loadings` the gross rates contain (from_models).
    regime : str, optional
        A regime key (``safeins.domain.regimes``) the manual is meant to comply with.

    >>> t = Tariff(name="tiny", rates=[{"sector": "fireworks", "base": "headcount", "rate": 120.0}],
    ...            min_premium=1000.0)
    >>> t.to_frame()[["sector", "base", "rate"]].to_dict("records")
    [{'sector': 'fireworks', 'base': 'headcount', 'rate': 120.0}]
    """

    name: str
    description: str = ""
    source: str = ""
    status: Literal["regulatory", "derived", "illustrative"] = "derived"
    unit: Literal["fraction", "permille"] = "fraction"
    currency: Literal["CNY"] = "CNY"
    rates: tuple[RateRow, ...]
    relativities: tuple[Relativity, ...] = ()
    min_premium: float = pydantic.Field(default=0.0, ge=0, allow_inf_nan=False)
    loadings: dict[str, Any] | None = None
    regime: str | None = None
    notes: tuple[str, ...] = ()

    @pydantic.field_validator("regime")
    @classmethod
    def _known_regime(cls, value):
        if value is None:
            return value
        from ..domain import regimes

        try:
            regimes.get(value)
        except ValidationError as err:
            raise ValueError(err._problems[0].rule) from None
        return value

    @pydantic.field_validator("loadings")
    @classmethod
    def _valid_loadings(cls, value):
        if value is None:
            return value
        from .loadings import Loadings

        try:
            return Loadings.from_dict(dict(value)).to_dict()
        except ValidationError as err:
            raise ValueError("; ".join(f"{p.column}={p.value!r}: {p.rule}" for p in err._problems)) \
                from None

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        bad = []
        if not self.rates:
            bad.append("a tariff needs at least one rate row")
        dims = [r.dimension for r in self.relativities]
        dup = sorted({d for d in dims if dims.count(d) > 1})
        if dup:
            bad.append(f"duplicated relativity dimensions {dup}")
        clash = sorted(set(dims) & {"sector", "size_band", "region", "exposure"})
        if clash:
            bad.append(f"relativity dimensions {clash} are rate-row keys; put them in the rows")
        first_base: dict[str, str] = {}
        for i, r in enumerate(self.rates):
            if first_base.setdefault(r.sector, r.base) != r.base:
                bad.append(f"rates.{i}: sector {r.sector!r} is rated per {first_base[r.sector]!r} in "
                           f"other rows, here per {r.base!r}: one base per sector")
        seen: dict[tuple, int] = {}
        for i, r in enumerate(self.rates):
            key = (r.sector, r.size_band, r.region, r.exposure_above, r.exposure_upto, r.per_person,
                   r.aggregate, r.risk_class)
            if key in seen:
                bad.append(f"rates.{i} repeats the keys of rates.{seen[key]}")
            seen.setdefault(key, i)
        if self.regime is not None and self.loadings is not None:
            from ..domain import regimes

            failed = regimes.get(self.regime).check(
                {"commission": self.loadings["commission"],
                 "prevention_share": self.loadings["prevention"]}).failed()
            bad += [f"loadings breach {self.regime}: {f.rule} {f.value!r} > {f.limit!r}" for f in failed]
        if bad:
            raise ValueError("; ".join(bad))
        return self

    # --- loading -----------------------------------------------------------------------------------
    @classmethod
    def load(cls, name: str | Path) -> Tariff:
        """A shipped manual by name (``pricing/tariffs/NAME.toml``) or a TOML path.

        >>> Tariff.load("hunan-construction").status
        'regulatory'
        """
        return cls.from_toml(shipped_toml("tariffs", name, "Tariff.load"))

    @classmethod
    def available(cls) -> list[str]:
        """Names of the shipped manuals.

        >>> "hunan-construction" in Tariff.available()
        True
        """
        return sorted(p.stem for p in (data_dir("pricing") / "tariffs").glob("*.toml"))

    # --- views -------------------------------------------------------------------------------------
    @property
    def divisor(self) -> float:
        """What a written rate is divided by to give a fraction (1, or 1000 for ‰)."""
        return 1000.0 if self.unit == "permille" else 1.0

    def fractions(self) -> np.ndarray:
        """The rate of every row as a fraction per unit of its base."""
        return np.array([r.rate for r in self.rates], dtype=float) / self.divisor

    def sector_bases(self) -> dict[str, str]:
        """The exposure base each sector of the manual is rated on.

        >>> Tariff(name="t", rates=[{"sector": "trade", "base": "headcount", "rate": 40.0}]).sector_bases()
        {'trade': 'headcount'}
        """
        return {r.sector: r.base for r in self.rates}

    @property
    def sectors(self) -> tuple[str, ...]:
        """The sectors the manual rates."""
        return tuple(dict.fromkeys(r.sector for r in self.rates))

    def loadings_object(self):
        """The :class:`~safeins.rating.loadings.Loadings` of the manual, or None."""
        if self.loadings is None:
            return None
        from .loadings import Loadings

        return Loadings.from_dict(dict(self.loadings))

    def regime_facts(self) -> dict:
        """Facts for ``Regime.check``: the commission and prevention share of its loadings, and
        the per-person limit of every row that states one (``per_person_limits``, by row).

        A manual without loadings (a published base-rate grid) states no loadings facts.

        >>> Tariff.load("zhejiang-demo").regime_facts()["commission"]
        0.05
        """
        L = self.loadings_object()
        facts = {} if L is None else L.regime_facts()
        limits = {f"rates.{i}" + (f" ({r.note})" if r.note else ""): r.per_person
                  for i, r in enumerate(self.rates) if r.per_person is not None}
        return facts | ({"per_person_limits": limits} if limits else {})

    def to_frame(self) -> pd.DataFrame:
        """One row per rate row: keys, base, ``rate`` (a fraction per unit of base),
        ``rate_per_unit`` with its ``unit`` ("‰ of contract value", "yuan per worker"),
        ``rate_written`` (as in the file, in ``unit_written``), minimum premium (yuan) and note."""
        rows = []
        for r in self.rates:
            d = r.model_dump()
            d["rate_written"] = d["rate"]
            d["rate"] = d["rate"] / self.divisor
            d["unit_written"] = self.unit
            d["min_premium"] = self.min_premium if r.min_premium is None else r.min_premium
            rows.append(d)
        from .quotes import unit_of

        cols = ["sector", "size_band", "region", "exposure_above", "exposure_upto", "per_person",
                "aggregate", "risk_class", "base", "rate", "rate_per_unit", "unit", "rate_written",
                "unit_written", "min_premium", "note"]
        for d in rows:
            d["rate_per_unit"], d["unit"] = unit_of(d["rate"], d["base"])
        frame = pd.DataFrame(rows)[cols]
        used = [c for c in cols if not (frame[c].isna().all() or (frame[c] == ANY).all()
                                        or (c == "note" and (frame[c] == "").all()))]
        return frame[used]

    @as_summary
    def summary(self) -> str:
        """A short description: rows, sectors, unit and the range of rates."""
        f = self.to_frame()
        return (f"Tariff {self.name!r} ({self.status}): {len(f)} rates for {len(self.sectors)} "
                f"sectors, written in {self.unit}; rates {f['rate'].min():.6g} .. {f['rate'].max():.6g} "
                f"per unit of base; {len(self.relativities)} relativity tables; "
                f"min premium {self.min_premium:g}")

    def rate_of(self, *, sector: str, exposure: float | None = None, size_band: str | None = None,
                region: str | None = None, **options: Any) -> float:
        """The base rate (a fraction per unit of base) of one enterprise; raises if none or several
        rows match.

        >>> Tariff.load("hunan-construction").rate_of(sector="construction", exposure=5e7,
        ...     per_person=400_000, aggregate=4_000_000, risk_class="high")
        0.0018
        """
        from ._lookup import match_rows

        row = {"sector": [sector], "size_band": [size_band], "region": [region],
               "exposure": [np.nan if exposure is None else float(exposure)]}
        for k in OPTIONS:
            row[k] = [options.pop(k, None)]
        if options:
            raise ValidationError("Tariff.rate_of", [Problem(None, k, v, f"unknown option; allowed: "
                                                             f"{', '.join(OPTIONS)}")
                                                     for k, v in options.items()])
        frame = pd.DataFrame(row, index=["-"])
        p = Problems(f"Tariff {self.name!r}")
        pos = match_rows(self, frame, p)
        p.raise_if_any()
        return float(self.rates[int(pos[0])].rate / self.divisor)

    def price(self, portfolio, accidents=None, hazards=None, floating=None, year=None,
              experience=None, options=None, off_balance="neutral", assume_claim_free=False,
              max_premium_share=0.05):
        """Price a whole portfolio in one vectorised pass; returns
        :class:`~safeins.rating.quotes.Quotes`. See :func:`safeins.rating.quotes.price`."""
        from .quotes import price

        return price(self, portfolio, accidents=accidents, hazards=hazards, floating=floating,
                     year=year, experience=experience, options=options, off_balance=off_balance,
                     assume_claim_free=assume_claim_free, max_premium_share=max_premium_share)

    # --- from models -------------------------------------------------------------------------------
    @classmethod
    def from_models(cls, freq, accm, *, coverage, loadings, regime=None, sectors=None,
                    size_bands=None, regions=None, at=None, per_person_options=None,
                    credibility=None, data=None, min_premium: float = 0.0,
                    name: str = "from-models", source: str = "", unit: str = "fraction",
                    points: int | None = None, rating_factors=(), complement_weight: float = 1.0,
                    rating_cap: float | None = None, policy_year: int | None = None,
                    bases: dict[str, str] | None = None) -> Tariff:
        """Build a manual from a fitted frequency GLM and an accident model.

        rate(sector, size band[, region]) = gross(lambda x E[X_s], lambda x load(X_s)), where lambda is
        the GLM's expected accidents per exposure unit with every other factor at its base level
        (or at ``at``), ``X_s`` the insured amount of one accident of the sector under ``coverage``
        (``accm.insured_loss``), ``load`` the loadings' risk-load principle applied to one accident
        (so the load is additive over exposure; exact for the expected-value principle), and gross
        the loadings' gross-up. ``per_person_options`` adds rows for other per-person limits,
        each priced exactly with its own insured-loss distribution.

        ``credibility`` (``"fit"`` or a Bühlmann–Straub ``k``, with ``data`` = the table the GLM
        was fitted on) multiplies each cell's lambda by its credibility-weighted actual / expected
        ratio ``Z (A/E) + (1 - Z) m``, ``Z = E / (E + k)``: the multiplicative GLM structure where
        a cell's exposure is thin, its own experience where it is not. ``points``: lattice points
        of the insured-loss distributions (the accident model's default when None).

        ``rating_factors`` (GLM factors other than sector, size band and region: credit grade,
        standardisation, a binned prior-year hazard rate, ...) become multiplicative relativity
        tables of the tariff, priced by :meth:`price` and shown by ``Quotes.explain``. Each level's
        relativity is credibility-smoothed (Poisson–gamma, the complement weighing
        ``complement_weight`` accidents; see :mod:`safeins.rating._fitted`) and, with
        ``rating_cap``, held within ``[1/rating_cap, rating_cap]``. A level or sector without any
        accident takes the same credibility complement, so no rate is 0; a zero rate left in a
        sector where cover is mandatory is an error. ``policy_year`` projects a GLM with a linear
        ``year`` factor (a trend) to the policy year. ``bases`` (sector -> base, e.g.
        ``{"manufacturing": "headcount"}``) names the base a sector's rows are per unit of: it must
        be the exposure the GLM was fitted on for that sector (see :func:`rebase_exposure
        <safeins.rating.history.rebase_exposure>`). The notes state every method used.
        """
        from ._from_models import build

        return build(cls, freq, accm, coverage=coverage, loadings=loadings, regime=regime,
                     sectors=sectors, size_bands=size_bands, regions=regions, at=at,
                     per_person_options=per_person_options, credibility=credibility, data=data,
                     min_premium=min_premium, name=name, source=source, unit=unit, points=points,
                     rating_factors=rating_factors, complement_weight=complement_weight,
                     rating_cap=rating_cap, policy_year=policy_year, bases=bases)

