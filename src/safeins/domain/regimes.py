"""Regulatory regimes of 安责险 and compliance checks against them.

A :class:`Regime` holds the numbers a regime fixes (mandatory sectors, the minimum per-person
death/disability limit, the commission cap, the prevention-service cap, full-workforce cover), each
with its source. Regimes ship as TOML in ``pricing/regimes/``: ``national-2017`` (安监总办〔2017〕140号,
repealed 2025-03-29) and ``national-2025`` (应急〔2025〕27号). A regime that a text leaves open is
``None`` here, never an invented number.

``regime.check(obj)`` checks anything that states its regulatory facts (a coverage, a tariff's
loadings, a prevention fund, a scheme, or a plain dict) and returns :class:`Findings`.

>>> from safeins import regimes
>>> r = regimes.get("national-2025")
>>> r.min_death_disability_limit, r.commission_cap, r.prevention_cap
(400000.0, 0.05, 0.21)
>>> f = r.check({"death_disability_limit": 300_000, "commission": 0.04})
>>> f.to_frame()[["rule", "verdict"]].to_dict("list")
{'rule': ['min_death_disability_limit', 'commission_cap'], 'verdict': ['fail', 'pass']}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pydantic

from .._base.config import Config
from .._base.resources import data_dir
from .._base.results import ResultMixin
from ..errors import Problem, RegimeBreachError, ValidationError
from . import sectors as _sectors

__all__ = ["Finding", "Findings", "Regime", "available", "get"]


class Regime(Config):
    """The numbers one regulatory regime fixes, each with its source.

    Load shipped regimes with :func:`get`; build your own (a provincial regime with a higher floor)
    with ``Regime.from_dict`` or ``Regime.from_toml``.

    >>> r = get("national-2017")
    >>> r.commission_cap is None   # the 2017 rules fixed no commission cap
    True
    >>> r.is_mandatory("coal_mining")
    True
    """

    key: str
    name: str
    instrument: str
    issued: dt.date
    effective: dt.date
    repealed: dt.date | None = None
    mandatory_sectors: tuple[str, ...]
    min_death_disability_limit: float = pydantic.Field(gt=0)
    min_limit_applies_to: Literal["death", "death_disability"] = "death_disability"
    limit_indexation: Literal["urban_disposable_income", "none"] = "none"
    commission_cap: float | None = pydantic.Field(default=None, ge=0, le=1)
    prevention_cap: float | None = pydantic.Field(default=None, ge=0, le=1)
    full_workforce_cover: bool = False
    no_lapse: bool = False
    sources: dict[str, str] = pydantic.Field(default_factory=dict)

    @pydantic.field_validator("mandatory_sectors")
    @classmethod
    def _known_sectors(cls, value):
        codes = set(_sectors.codes())
        bad = [v for v in value if v not in codes]
        if bad:
            raise ValueError(f"unknown sector codes {bad}; allowed: {sorted(codes)}")
        return tuple(value)

    def is_mandatory(self, sector: str) -> bool:
        """Whether cover is mandatory for ``sector`` (a code or name; a child of a listed sector counts)."""
        s = _sectors.get(sector)
        return s.code in self.mandatory_sectors or (s.parent in self.mandatory_sectors)

    def in_force(self, date: dt.date | str) -> bool:
        """Whether the regime was in force on ``date``.

        >>> get("national-2017").in_force("2025-06-01")
        False
        """
        d = dt.date.fromisoformat(date) if isinstance(date, str) else date
        return self.effective <= d and (self.repealed is None or d < self.repealed)

    def indexed_min_limit(self, income_now: float, income_base: float) -> float:
        """The minimum limit indexed to urban per-capita disposable income.

        The rules index the floor to "本地区城镇居民上一年度人均可支配收入的变化"; the income figures
        are the user's (no national series is built in). Raises if the regime does not index.

        >>> get("national-2025").indexed_min_limit(income_now=55_000, income_base=50_000)
        440000.0
        """
        problems = [
            Problem(None, name, v, "must be a positive number")
            for name, v in (("income_now", income_now), ("income_base", income_base))
            if not (isinstance(v, int | float) and v > 0)
        ]
        if self.limit_indexation == "none":
            problems.append(Problem(None, "limit_indexation", "none", f"{self.key} does not index its floor"))
        if problems:
            raise ValidationError(f"{self.key}.indexed_min_limit", problems)
        return float(self.min_death_disability_limit * income_now / income_base)

    def check(self, obj: Any) -> Findings:
        """Check an object's regulatory facts against this regime.

        ``obj`` is a dict of facts or any object with a ``regime_facts()`` method returning one.
        Known facts: ``death_disability_limit`` (yuan per person), ``commission`` and
        ``prevention_share`` (fractions of collected premium), ``full_workforce`` (bool),
        ``sector`` (code). Unknown facts are reported as ``"n/a"``, never ignored silently.

        >>> get("national-2025").check({"prevention_share": 0.25}).ok
        False
        """
        facts = obj.regime_facts() if hasattr(obj, "regime_facts") else obj
        if not isinstance(facts, dict):
            raise ValidationError(
                f"{self.key}.check",
                [Problem(None, "obj", type(obj).__name__,
                         "a dict of facts or an object with regime_facts()")],
            )
        return Findings(self.key, [f for name, value in facts.items() for f in self._rule(name, value)])

    def _rule(self, name: str, value: Any) -> list[Finding]:
        src = self.sources.get
        if name == "death_disability_limit":
            floor = self.min_death_disability_limit
            ok = value >= floor
            return [Finding("min_death_disability_limit", value, floor, _verdict(ok),
                            src("min_death_disability_limit", ""))]
        if name in ("commission", "prevention_share"):
            cap_name = "commission_cap" if name == "commission" else "prevention_cap"
            cap = getattr(self, cap_name)
            if cap is None:
                return [Finding(cap_name, value, None, "n/a", f"{self.key} fixes no {cap_name}")]
            return [Finding(cap_name, value, cap, _verdict(value <= cap), src(cap_name, ""))]
        if name == "full_workforce":
            if not self.full_workforce_cover:
                return [Finding("full_workforce_cover", value, None, "n/a", "not required by this regime")]
            return [Finding("full_workforce_cover", value, True, _verdict(bool(value)),
                            src("full_workforce_cover", ""))]
        if name == "sector":
            return [Finding("mandatory_sector", value, None,
                            "mandatory" if self.is_mandatory(value) else "voluntary",
                            src("mandatory_sectors", ""))]
        return [Finding(name, value, None, "n/a", "no rule of this regime applies to this fact")]


def _verdict(ok: bool) -> str:
    return "pass" if ok else "fail"


@dataclass(frozen=True)
class Finding:
    """One compliance finding: the rule, the value found, the regime's limit and the verdict.

    ``verdict`` is ``"pass"``, ``"fail"``, ``"n/a"`` (the regime has no such rule) or, for sectors,
    ``"mandatory"``/``"voluntary"``.

    >>> Finding("commission_cap", 0.06, 0.05, "fail", "27号 第十四条").verdict
    'fail'
    """

    rule: str
    value: Any
    limit: Any
    verdict: str
    source: str = ""


class Findings(ResultMixin):
    """The findings of one ``Regime.check``: ``ok`` is False if any rule failed.

    >>> f = get("national-2025").check({"commission": 0.08})
    >>> f.ok, f.failed()[0].rule
    (False, 'commission_cap')
    """

    def __init__(self, regime: str, findings: list[Finding]):
        self.regime = regime
        self.findings = list(findings)

    @property
    def ok(self) -> bool:
        return not self.failed()

    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict == "fail"]

    def __iter__(self):
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            [(f.rule, f.value, f.limit, f.verdict, f.source) for f in self.findings],
            columns=["rule", "value", "limit", "verdict", "source"],
        )

    def summary(self) -> str:
        bad = self.failed()
        head = f"{self.regime}: {len(self.findings)} findings, {len(bad)} failed"
        lines = [f"  FAIL {f.rule}: {f.value!r} vs limit {f.limit!r} ({f.source})" for f in bad]
        return "\n".join([head, *lines])

    def raise_if_failed(self) -> None:
        """Raise :class:`~safeins.errors.RegimeBreachError` listing every failed rule."""
        if not self.ok:
            raise RegimeBreachError(self.summary(), self.failed())

    def plot(self, ax=None):
        from .._base.plotting import axes

        ax = axes(ax)
        frame = self.to_frame()
        counts = frame["verdict"].value_counts()
        ax.bar(counts.index.astype(str), counts.to_numpy())
        ax.set_title(f"{self.regime}: findings by verdict")
        return ax


def available() -> tuple[str, ...]:
    """Keys of the regimes shipped in ``pricing/regimes``.

    >>> available()
    ('national-2017', 'national-2025')
    """
    return tuple(sorted(p.stem for p in (data_dir("pricing") / "regimes").glob("*.toml")))


@cache
def _load(key: str) -> Regime:
    return Regime.from_toml(data_dir("pricing") / "regimes" / f"{key}.toml")


def get(regime: str | Path | Regime) -> Regime:
    """A regime by key (``"national-2025"``), by TOML path, or a Regime returned as is.

    >>> get("national-2025").key
    'national-2025'
    """
    if isinstance(regime, Regime):
        return regime
    if isinstance(regime, Path) or str(regime).endswith(".toml"):
        return Regime.from_toml(regime)
    if regime not in available():
        import difflib

        close = difflib.get_close_matches(str(regime), available(), n=2)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValidationError(
            "regime",
            [Problem(None, "regime", regime, f"unknown regime; {hint}available: {', '.join(available())}")],
        )
    return _load(str(regime))
