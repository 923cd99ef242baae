"""Regulatory regimes of 安责险 and compliance checks against them.

A :class:`Regime` holds the numbers a regime fixes (mandatory sectors, the minimum per-person
death/disability limit, the commission cap, the prevention-service cap, full-workforce cover), each
with its source. Regimes ship as TOML in ``pricing/regimes/``: ``national-2017`` (安监总办〔2017〕140号,
repealed 2025-03-29) and ``national-2025`` (应急〔2025〕27号). A regime that a text leaves open is
``None`` here, never an invented number.

``regime.check(obj)`` checks anything that states its regulatory facts (a coverage, a tariff's
loadings and per-person limits, a prevention fund, a scheme, or a plain dict) and returns
:class:`Findings`. Facts that come row by row (every per-person limit of a rate manual, every
enterprise's insured headcount) give one finding per failing row, naming it in ``subject``.

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
import math
import numbers
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

    ``prevention_cap_from`` is the date from which ``prevention_cap`` binds when it came later than
    the regime itself: the 21 % cap on prevention-service spending was set by the MEM/NFRA notice of
    2024-10-22, so under the 2017 rules it binds only policies incepting on or after that day.

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
    prevention_cap_from: dt.date | None = None
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
        """The minimum limit indexed to urban per-capita disposable income, never below the floor.

        The rules index the floor to "本地区城镇居民上一年度人均可支配收入的变化"; the income figures
        are the user's (no national series is built in). Both national texts state the amount as a
        minimum ("不低于"), so indexing only raises it: a fall in income leaves the absolute floor
        (400,000 yuan under 应急〔2025〕27号 第十五条). Raises if the regime does not index.

        >>> r = get("national-2025")
        >>> r.indexed_min_limit(income_now=55_000, income_base=50_000)
        440000.0
        >>> r.indexed_min_limit(income_now=45_000, income_base=50_000)   # income fell: the floor holds
        400000.0
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
        floor = self.min_death_disability_limit
        return float(max(floor, floor * income_now / income_base))

    def check(self, obj: Any) -> Findings:
        """Check an object's regulatory facts against this regime.

        ``obj`` is a dict of facts or any object with a ``regime_facts()`` method returning one.
        Known facts:

        * ``death_disability_limit``: yuan per person;
        * ``per_person_limits``: ``{row label: yuan per person}`` (a dict or Series), e.g. every
          row of a rate manual; each row under the floor is one failed finding naming the row;
        * ``commission`` and ``prevention_share``: fractions of collected premium;
        * ``policy_date``: the policy's inception (a date or ISO text); it decides whether the
          regime was in force and whether a later cap (``prevention_cap_from``) binds; without
          it such a cap is ``"undetermined"``;
        * ``full_workforce`` (bool), or ``workforce``: a DataFrame indexed by enterprise with
          ``headcount`` (the enterprise's own employees) and ``insured`` (persons insured); each
          enterprise insuring fewer than its own headcount is one failed finding;
        * ``sector``: a sector code.

        Unknown facts are reported as ``"n/a"``, never ignored silently.

        >>> get("national-2025").check({"prevention_share": 0.25}).ok
        False
        >>> f = get("national-2025").check({"per_person_limits": {"rates.0": 300_000, "rates.1": 500_000}})
        >>> f.to_frame()[["rule", "subject", "verdict"]].values.tolist()
        [['min_death_disability_limit', 'rates.0', 'fail'], ['min_death_disability_limit', '1 row', 'pass']]
        """
        facts = obj.regime_facts() if hasattr(obj, "regime_facts") else obj
        if not isinstance(facts, dict):
            raise ValidationError(
                f"{self.key}.check",
                [Problem(None, "obj", type(obj).__name__,
                         "a dict of facts or an object with regime_facts()")],
            )
        date = _as_date(facts.get("policy_date"), self.key)
        return Findings(self.key, [f for name, value in facts.items()
                                   for f in self._rule(name, value, date)])

    def _rule(self, name: str, value: Any, date: dt.date | None = None) -> list[Finding]:
        src = self.sources.get
        if name == "policy_date":
            if date is None:
                return [Finding("in_force", None, None, "undetermined", "no policy date given")]
            window = (self.effective, self.repealed)
            return [Finding("in_force", date, window, _verdict(self.in_force(date)),
                            src("repealed" if self.repealed else "effective", self.instrument))]
        if name == "per_person_limits":
            return self._per_row_floor(value)
        if name == "workforce":
            return self._workforce(value)
        if name == "prevention_share" and self.prevention_cap_from is not None:
            since = self.prevention_cap_from
            if date is None:
                return [Finding("prevention_cap", value, self.prevention_cap, "undetermined",
                                f"binds policies from {since}; give policy_date "
                                f"({src('prevention_cap', '')})")]
            if date < since:
                return [Finding("prevention_cap", value, None, "n/a",
                                f"the cap binds policies from {since}; this policy began {date}")]
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

    def _per_row_floor(self, limits) -> list[Finding]:
        floor = self.min_death_disability_limit
        source = self.sources.get("min_death_disability_limit", "")
        if not hasattr(limits, "items"):
            raise ValidationError(f"{self.key}.check", [Problem(
                None, "per_person_limits", type(limits).__name__,
                "a mapping (dict or Series) of row label to a per-person limit in yuan")])
        items = list(limits.items())
        bad = [Problem(k, "per_person_limits", v, "a finite per-person limit in yuan")
               for k, v in items if not _is_amount(v)]
        if bad:
            raise ValidationError(f"{self.key}.check", bad)
        failed = [Finding("min_death_disability_limit", float(v), floor, "fail", source, str(k))
                  for k, v in items if v < floor]
        passed = [float(v) for _, v in items if v >= floor]
        if passed:
            n = len(passed)
            failed.append(Finding("min_death_disability_limit", min(passed), floor, "pass", source,
                                  f"{n} row{'s' if n > 1 else ''}"))
        return failed

    def _workforce(self, table) -> list[Finding]:
        import pandas as pd

        if not isinstance(table, pd.DataFrame) or not {"headcount", "insured"} <= set(table.columns):
            raise ValidationError(f"{self.key}.check", [Problem(
                None, "workforce", type(table).__name__,
                "a DataFrame indexed by enterprise with columns headcount and insured")])
        if not self.full_workforce_cover:
            return [Finding("full_workforce_cover", len(table), None, "n/a", "not required by this regime")]
        source = self.sources.get("full_workforce_cover", "")
        head = table["headcount"].to_numpy(dtype=float)
        insured = table["insured"].to_numpy(dtype=float)
        short = ~(insured >= head)  # NaN insured counts as not covered
        out = [Finding("full_workforce_cover", insured[i], head[i], "fail", source, str(table.index[i]))
               for i in short.nonzero()[0]]
        n = int((~short).sum())
        if n:
            out.append(Finding("full_workforce_cover", n, "insured >= own headcount", "pass", source,
                               f"{n} enterprise{'s' if n > 1 else ''}"))
        return out


def _is_amount(v) -> bool:
    # numbers.Real covers Python and numpy numbers; bool is a Real too, but never an amount
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _as_date(value, key: str) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{key}.check", [Problem(None, "policy_date", value,
                                                        "a date or ISO text YYYY-MM-DD")]) from None


def _verdict(ok: bool) -> str:
    return "pass" if ok else "fail"


@dataclass(frozen=True)
class Finding:
    """One compliance finding: the rule, the value found, the regime's limit and the verdict.

    ``verdict`` is ``"pass"``, ``"fail"``, ``"n/a"`` (the regime has no such rule),
    ``"undetermined"`` (the rule depends on a fact not given, such as the policy date) or, for
    sectors, ``"mandatory"``/``"voluntary"``. ``subject`` names the row or enterprise a per-row
    finding is about (empty for a fact of the whole object).

    >>> Finding("commission_cap", 0.06, 0.05, "fail", "27号 第十四条").verdict
    'fail'
    """

    rule: str
    value: Any
    limit: Any
    verdict: str
    source: str = ""
    subject: str = ""


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
            [(f.rule, f.value, f.limit, f.verdict, f.source, f.subject) for f in self.findings],
            columns=["rule", "value", "limit", "verdict", "source", "subject"],
        )

    def summary(self) -> str:
        bad = self.failed()
        head = f"{self.regime}: {len(self.findings)} findings, {len(bad)} failed"
        lines = [f"  FAIL {f.rule}{f' [{f.subject}]' if f.subject else ''}: {f.value!r} vs limit "
                 f"{f.limit!r} ({f.source})" for f in bad]
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
