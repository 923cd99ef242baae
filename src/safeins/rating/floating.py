"""Floating rates (浮动费率): factors on the base premium from an enterprise's record.

A :class:`FloatingRule` is data (TOML in ``pricing/floating/``): a list of factors, each turning one
input (prior-year accident grade, accident count, credit grade, blacklist, standardisation level,
hazard records, loss ratio, ...) into an *adjustment* (``-0.10`` = 10 % off), how the adjustments
combine (``multiplicative``: the product of ``1 + adj``; ``additive``: ``1 + sum(adj)``), and a floor
and a cap on the combined factor. The revenue-neutral off-balance correction is applied to a whole
portfolio by :meth:`safeins.rating.tariff.Tariff.price`.

Factor kinds:

* ``table``: a level -> adjustment table (text levels; booleans are ``"true"``/``"false"``);
* ``bands``: ``thresholds`` (increasing, the first one the least possible value) and
  ``adjustments``: a value ``x`` gets the adjustment of the last threshold ``<= x``;
* ``loss_ratio``: the Taiwan labour-insurance experience rate
  (docs/domain/calibration.md#taiwan): above ``upper``
  ``+step`` per full ``step_points`` of loss ratio, below ``lower`` ``-step`` per full
  ``step_points``, capped at ``max_up``/``max_down``;
* ``value``: the input is itself a factor (e.g. an experience modification), adjustment ``x - 1``;
* ``bins``: increasing interior ``edges`` cut the input into bins closed on the right, ``x <= e0``,
  ``e0 < x <= e1``, ..., ``x > ek``, with one adjustment per bin (the quantile bins of a fitted GLM,
  as :meth:`FloatingRule.from_model` writes them).

A level missing from a table, or an input missing for an enterprise, is an error, unless the rule
file states a ``default`` level (used where the input is not given at all) or a ``missing``
adjustment (used where a value is missing) for that factor: fallbacks are data, never code.

>>> rule = FloatingRule.load("fuyang")
>>> f = rule.factor(accident_grade="较大", award="city")
>>> round(f.factor, 2), {k: round(v, 2) for k, v in f.components.items()}
(1.15, {'accident_grade': 1.2, 'award': 0.95})
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
import pydantic

from .._base.config import Config
from .._base.resources import shipped_toml
from .._base.results import as_summary
from ..errors import Problems, ValidationError

__all__ = ["STANDARD_INPUTS", "FloatingFactor", "FloatingRule", "RuleFactor"]

#: Inputs that :meth:`Tariff.price` builds from a portfolio and its histories (see docs/rating.md).
STANDARD_INPUTS: dict[str, str] = {
    "accident_grade": "worst grade of the prior year's accidents: none, 一般, 较大, 重大, 特别重大",
    "accident_count": "number of accidents in the prior year",
    "deaths": "deaths in the prior year's accidents",
    "credit_grade": "work-safety credit grade A-D (portfolio)",
    "blacklisted": "on the 失信联合惩戒 blacklist: true/false (portfolio)",
    "standardization": "安全生产标准化 level 1/2/3/none (portfolio)",
    "award": "safety award none/city/province (portfolio)",
    "hazards_found": "hazards found in the prior year",
    "major_hazards": "重大事故隐患 found in the prior year",
    "unrectified": "hazards still unrectified at the end of the prior year",
    "hazard_rate": "hazards found per 100 employees in the prior year",
    "hazard_rate_ratio": "hazard_rate / the sector's hazard rate in the prior year",
    "loss_ratio": "loss ratio over the experience period (experience=)",
    "experience_mod": "credibility experience modification (experience=ExperienceRating)",
}


class RuleFactor(Config):
    """One factor of a floating rule (see the module doc for the kinds).

    >>> RuleFactor(name="award", input="award", kind="table",
    ...            levels={"none": 0.0, "city": -0.05, "province": -0.10}).adjust(["city"]).tolist()
    [-0.05]
    """

    name: str
    input: str
    kind: Literal["table", "bands", "loss_ratio", "value", "bins"]
    levels: dict[str, float] | None = None
    thresholds: tuple[float, ...] | None = None
    edges: tuple[float, ...] | None = None
    adjustments: tuple[float, ...] | None = None
    upper: float = 0.80
    lower: float = 0.70
    step_points: float = pydantic.Field(default=0.10, gt=0)
    step: float = pydantic.Field(default=0.05, ge=0)
    max_up: float = pydantic.Field(default=0.40, ge=0)
    max_down: float = pydantic.Field(default=0.40, ge=0)
    partial_step: Literal["floor", "ceil"] = "floor"
    default: str | None = None
    missing: float | None = None
    count: Literal["all", "reportable"] = "all"
    status: Literal["regulatory", "illustrative", "user", "fitted"] = "user"
    source: str = ""

    @property
    def column(self) -> str:
        """The input column this factor reads: ``input``, or ``input@reportable`` when it counts
        only reportable accidents (a death, a serious injury or a direct loss above a threshold)."""
        return self.input if self.count == "all" else f"{self.input}@reportable"

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        bad = []
        if self.kind == "table":
            if not self.levels:
                bad.append("kind 'table' needs levels = {level = adjustment, ...}")
            elif self.default is not None and self.default not in self.levels:
                bad.append(f"default {self.default!r} is not a level (levels: {', '.join(self.levels)})")
        if self.kind == "bands":
            t, a = self.thresholds, self.adjustments
            if not t or not a or len(t) != len(a):
                bad.append("kind 'bands' needs thresholds and adjustments of equal, non-zero length")
            elif any(not b > a_ for a_, b in itertools.pairwise(t)):
                bad.append(f"thresholds must increase strictly, got {list(t)}")
        if self.kind == "bins":
            e, a = self.edges, self.adjustments
            if not e or not a or len(a) != len(e) + 1:
                bad.append("kind 'bins' needs edges and one more adjustment than edges")
            elif any(not b > a_ for a_, b in itertools.pairwise(e)):
                bad.append(f"edges must increase strictly, got {list(e)}")
        if self.kind == "loss_ratio" and not self.lower <= self.upper:
            bad.append(f"lower ({self.lower}) must be <= upper ({self.upper})")
        if self.count == "reportable" and self.input not in ("accident_grade", "accident_count",
                                                                 "deaths"):
            bad.append(f"count = 'reportable' applies to accident inputs, not {self.input!r}")
        if self.kind != "table" and self.default is not None:
            bad.append("default applies to table factors only; use missing= for others")
        values = list((self.levels or {}).values()) + list(self.adjustments or ()) + (
            [self.missing] if self.missing is not None else [])
        for v in values:
            if not math.isfinite(v) or v <= -1:
                bad.append(f"adjustment {v} must be finite and > -1 (the factor 1 + adj must be > 0)")
        if bad:
            raise ValueError(f"factor {self.name!r}: " + "; ".join(bad))
        return self

    # ---------------------------------------------------------------------------------------------
    def adjust(self, values, problems: Problems | None = None, index=None) -> np.ndarray:
        """Adjustments for an array of input values (vectorised); bad values go to ``problems``."""
        own = problems is None
        problems = Problems(f"floating factor {self.name!r}") if own else problems
        values = pd.Series(values, index=index) if not isinstance(values, pd.Series) else values
        out = self._adjust(values, problems)
        if own:
            problems.raise_if_any()
        return out

    def _adjust(self, s: pd.Series, problems: Problems) -> np.ndarray:
        if self.kind == "table":
            return self._table(s, problems)
        x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        missing = np.isnan(x) & ~_nonnumeric(s)
        nonnum = _nonnumeric(s)
        self._report(s, nonnum, problems, "a number")
        if self.kind == "bands":
            t = np.asarray(self.thresholds)
            pos = np.searchsorted(t, x, side="right") - 1
            below = (pos < 0) & ~np.isnan(x)
            self._report(s, below, problems, f"must be >= the first threshold {t[0]}")
            out = np.asarray(self.adjustments)[np.clip(pos, 0, None)]
        elif self.kind == "bins":
            pos = np.searchsorted(np.asarray(self.edges), x, side="left")
            out = np.asarray(self.adjustments)[pos]
        elif self.kind == "loss_ratio":
            neg = x < 0
            self._report(s, neg, problems, "a loss ratio >= 0")
            rnd = np.floor if self.partial_step == "floor" else np.ceil
            up = rnd(np.round((x - self.upper) / self.step_points, 9)) * self.step
            down = rnd(np.round((self.lower - x) / self.step_points, 9)) * self.step
            out = np.where(x > self.upper, np.minimum(up, self.max_up),
                           np.where(x < self.lower, -np.minimum(down, self.max_down), 0.0))
        else:  # value
            bad = (x <= 0) | ~np.isfinite(x) & ~np.isnan(x)
            self._report(s, bad, problems, "a finite factor > 0")
            out = x - 1.0
        if missing.any():
            if self.missing is None:
                self._report(s, missing, problems,
                             "missing; give the input or state missing = <adjustment> in the rule")
            out = np.where(missing, self.missing if self.missing is not None else 0.0, out)
        return np.asarray(out, dtype=float)

    def _table(self, s: pd.Series, problems: Problems) -> np.ndarray:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        keys = [_key(u) for u in uniques]
        table = np.array([self.levels.get(k, np.nan) for k in keys] + [np.nan], dtype=float)
        out = table[codes]  # code -1 (missing) picks the trailing NaN
        for u, k in enumerate(keys):
            if k not in self.levels:
                problems.add(row=_rows(s.index[codes == u]), column=f"{self.name}.{self.input}",
                             value=k, rule=f"level not in the rule; allowed: {', '.join(self.levels)}")
        na = codes < 0
        if na.any():
            if self.missing is None:
                problems.add(row=_rows(s.index[na]), column=f"{self.name}.{self.input}", value=None,
                             rule="missing; give the input or state missing = <adjustment> in the rule")
            else:
                out = np.where(na, self.missing, out)
        return out

    def _report(self, s: pd.Series, mask: np.ndarray, problems: Problems, rule: str) -> None:
        if mask.any():
            first = s[mask].iloc[0]
            problems.add(row=_rows(s.index[mask]), column=f"{self.name}.{self.input}",
                         value=None if _isna(first) else first, rule=rule)


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _nonnumeric(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return np.zeros(len(s), dtype=bool)
    x = pd.to_numeric(s, errors="coerce")
    return (x.isna() & s.notna()).to_numpy() | pd.api.types.is_bool_dtype(s.dtype)


def _key(v) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _rows(index, show: int = 5) -> str:
    ids = [str(i) for i in index[:show]]
    more = f" … (+{len(index) - show})" if len(index) > show else ""
    return ", ".join(ids) + more + f" [{len(index)} row{'s' if len(index) != 1 else ''}]"


@dataclass
class FloatingFactor:
    """One enterprise's floating factor: ``factor`` (after floor and cap), ``raw`` (before), and the
    ``components`` (factor name -> ``1 + adjustment``).

    >>> FloatingFactor(0.8, 0.75, {"x": 0.75}, True).factor
    0.8
    """

    factor: float
    raw: float
    components: dict[str, float]
    capped: bool
    defaults_used: list[str] = field(default_factory=list)

    def __float__(self) -> float:
        return self.factor


class FloatingRule(Config):
    """A floating-rate rule: factors, how they combine, a floor and a cap (see the module doc).

    Parameters
    ----------
    name, description, source : str
        Identification and the source every number comes from.
    status : {"regulatory", "illustrative", "user"}
        ``regulatory`` only when every number is from a cited rule.
    combine : {"multiplicative", "additive"}
    floor, cap : float
        Bounds on the combined factor, ``0 < floor <= cap``.
    terms : list of RuleFactor
        The factors (``[[terms]]`` tables in TOML).

    >>> rule = FloatingRule(name="demo", combine="multiplicative", floor=0.7, cap=1.3, terms=[
    ...     {"name": "credit", "input": "credit_grade", "kind": "table",
    ...      "levels": {"A": -0.1, "B": 0.0, "C": 0.1, "D": 0.2}},
    ...     {"name": "blacklist", "input": "blacklisted", "kind": "table",
    ...      "levels": {"false": 0.0, "true": 0.3}}])
    >>> rule.factor(credit_grade="D", blacklisted=True).factor   # 1.2 x 1.3 = 1.56, capped
    1.3
    >>> rule.factors(pd.DataFrame({"credit_grade": ["A", "C"], "blacklisted": [False, False]}))[
    ...     "factor"].round(2).tolist()
    [0.9, 1.1]
    """

    name: str
    description: str = ""
    source: str = ""
    status: Literal["regulatory", "illustrative", "user"] = "user"
    combine: Literal["multiplicative", "additive"] = "multiplicative"
    floor: float = pydantic.Field(gt=0)
    cap: float = pydantic.Field(gt=0)
    terms: tuple[RuleFactor, ...]
    schedule: FloatingRule | None = None

    @pydantic.model_validator(mode="after")
    def _bounds(self) -> Self:
        bad = []
        if self.cap < self.floor:
            bad.append(f"cap {self.cap} is below floor {self.floor}")
        names = [f.name for f in self.all_terms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            bad.append(f"duplicated factor names {dup}")
        if not self.terms:
            bad.append("a rule needs at least one factor")
        if self.status == "regulatory":
            ill = [f.name for f in self.terms if f.status == "illustrative"]
            if ill:
                bad.append(f"status 'regulatory' but factors {ill} are illustrative")
        if bad:
            raise ValueError("; ".join(bad))
        return self

    @classmethod
    def load(cls, name: str | Path) -> FloatingRule:
        """A shipped rule by name (``pricing/floating/NAME.toml``) or a TOML path.

        >>> FloatingRule.load("fuyang").status
        'regulatory'
        """
        return cls.from_toml(shipped_toml("floating", name, "FloatingRule.load"))

    @property
    def all_terms(self) -> tuple[RuleFactor, ...]:
        """The schedule's factors (if any), then the rule's own."""
        return (self.schedule.all_terms if self.schedule is not None else ()) + tuple(self.terms)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input names the factors read."""
        return tuple(dict.fromkeys(f.input for f in self.all_terms))

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns the factors read (``accident_count@reportable`` for factors counting
        reportable accidents only)."""
        return tuple(dict.fromkeys(f.column for f in self.all_terms))

    # ---------------------------------------------------------------------------------------------
    def _combine(self, adj: np.ndarray) -> np.ndarray:
        if self.combine == "multiplicative":
            return np.prod(1.0 + adj, axis=1)
        return 1.0 + adj.sum(axis=1)

    def factors(self, frame: pd.DataFrame, problems: Problems | None = None) -> pd.DataFrame:
        """Vectorised factors for a table with one column per input (one row per enterprise).

        Returns ``f_<factor>`` (``1 + adjustment``) for each factor, ``factor_raw`` (combined),
        ``factor`` (within ``[floor, cap]``) and ``capped``, indexed like ``frame``.
        """
        own = problems is None
        problems = Problems(f"FloatingRule {self.name!r}") if own else problems
        first = None
        if self.schedule is not None:
            first = self.schedule.factors(frame, problems)
        missing = [f for f in self.terms if f.column not in frame.columns and f.default is None]
        for f in missing:
            problems.add(column=f.column, value="<not given>",
                         rule=f"input of factor {f.name!r} ({STANDARD_INPUTS.get(f.input, 'a column')})")
        n = len(frame)
        adj = np.zeros((n, len(self.terms)))
        for j, f in enumerate(self.terms):
            if f in missing:
                continue
            col = (frame[f.column] if f.column in frame.columns
                   else pd.Series([f.default] * n, index=frame.index, dtype=object))
            adj[:, j] = f._adjust(col, problems)
        if own:
            problems.raise_if_any()
        raw = self._combine(adj)
        out = pd.DataFrame({f"f_{f.name}": 1.0 + adj[:, j] for j, f in enumerate(self.terms)},
                           index=frame.index)
        if first is not None:
            # the published schedule first, exactly as published (its own combination, floor and
            # cap); the rule's own factors multiply it; the product is held within [floor, cap]
            sched = first["factor"].to_numpy() if len(first) else np.ones(n)
            raw = sched * raw
            out = pd.concat([first.drop(columns=["factor_raw", "factor", "capped"]), out], axis=1)
            out["schedule_factor"] = sched
        total = np.clip(raw, self.floor, self.cap)
        out["factor_raw"] = raw
        out["factor"] = total
        out["capped"] = total != raw
        return out

    def factor(self, **inputs: Any) -> FloatingFactor:
        """One enterprise's factor and its breakdown; inputs by keyword (see :data:`STANDARD_INPUTS`).

        An input no factor reads and that is not a standard input is an error (a typo is never
        ignored); a table factor whose input is not given uses the rule's stated ``default``.
        """
        p = Problems(f"FloatingRule {self.name!r}.factor")
        known = set(STANDARD_INPUTS) | set(self.inputs) | set(self.columns)
        for k, v in inputs.items():
            p.check(k in known, column=k, value=v,
                    rule=f"unknown input; this rule reads {', '.join(self.columns)}")
        frame = pd.DataFrame({k: [v] for k, v in inputs.items() if k in self.columns}, index=["-"])
        out = self.factors(frame, p)
        p.raise_if_any()
        row = out.iloc[0]
        comps = {f.name: float(row[f"f_{f.name}"]) for f in self.all_terms}
        used = [f.name for f in self.all_terms if f.column not in frame.columns]
        return FloatingFactor(float(row["factor"]), float(row["factor_raw"]), comps,
                              bool(row["capped"]), used)

    def to_frame(self) -> pd.DataFrame:
        """The rule as a table: one row per factor level, band or parameter."""
        rows = []
        for f in self.all_terms:
            if f.kind == "table":
                rows += [(f.name, f.input, f.kind, lv, a, f.status) for lv, a in f.levels.items()]
            elif f.kind == "bands":
                rows += [(f.name, f.input, f.kind, f">= {t:g}", a, f.status)
                         for t, a in zip(f.thresholds, f.adjustments, strict=True)]
            elif f.kind == "bins":
                e = list(f.edges)
                inner = [f"({lo:g}, {hi:g}]" for lo, hi in itertools.pairwise(e)]
                labels = [f"<= {e[0]:g}", *inner, f"> {e[-1]:g}"]
                rows += [(f.name, f.input, f.kind, lab, a, f.status)
                         for lab, a in zip(labels, f.adjustments, strict=True)]
            elif f.kind == "loss_ratio":
                rows.append((f.name, f.input, f.kind,
                             f"> {f.upper:g}: +{f.step:g} per {f.step_points:g} (max {f.max_up:g}); "
                             f"< {f.lower:g}: -{f.step:g} per {f.step_points:g} (max {f.max_down:g})",
                             np.nan, f.status))
            else:
                rows.append((f.name, f.input, f.kind, "input is the factor", np.nan, f.status))
        return pd.DataFrame(rows, columns=["factor", "input", "kind", "level", "adjustment", "status"])

    @as_summary
    def summary(self) -> str:
        """A readable description of the rule."""
        head = (f"FloatingRule {self.name!r} ({self.status}): {self.combine}, "
                f"floor {self.floor:g}, cap {self.cap:g}")
        if self.schedule is not None:
            head += (f"\n  order: schedule {self.schedule.name!r} first ({self.schedule.combine}, "
                     f"floor {self.schedule.floor:g}, cap {self.schedule.cap:g}, published steps "
                     f"unchanged), then x the rule's own factors ({self.combine}), then within "
                     f"[{self.floor:g}, {self.cap:g}]")
        return "\n".join([head, self.to_frame().to_string(index=False)])

    # ---------------------------------------------------------------------------------------------
    @classmethod
    def from_model(cls, freq, inputs, *, floor: float, cap: float, schedule=None, data=None,
                   complement_weight: float = 1.0, name: str = "fitted", source: str = "") -> FloatingRule:
        """A floating rule from a fitted frequency GLM: one factor per chosen input.

        Each input is a categorical or binned factor of ``freq`` (credit grade, standardisation,
        ``prior_hazard_rate`` = hazards found per 100 workers in the prior year, binned;
        ``prior_unrectified``, ``prior_major_hazards``, ...); its factor is the GLM relativity,
        credibility-smoothed (see :mod:`safeins.rating._fitted`), read at pricing from the same
        quantity (``prior_hazard_rate`` -> the standard input ``hazard_rate``). ``schedule`` (a
        rule or a shipped name such as ``"fuyang"``) is applied first and unchanged; the fitted
        factors multiply it, and ``floor``/``cap`` (the regulatory band the user states: no
        national band is published) bound the product.

        >>> import numpy as np, pandas as pd
        >>> from safeins.models.frequency_glm import FrequencyGLM
        >>> rng = np.random.default_rng(2)
        >>> df = pd.DataFrame({"credit_grade": rng.choice(list("ABCD"), 4000), "exposure": 1.0})
        >>> df["accidents"] = rng.poisson(0.3 * df["credit_grade"].map({"A": .8, "B": 1, "C": 1.3, "D": 1.7}))
        >>> m = FrequencyGLM("poisson", ["credit_grade"], base_levels={"credit_grade": "B"}).fit(df)
        >>> rule = FloatingRule.from_model(m, ["credit_grade"], floor=0.7, cap=1.5, schedule="fuyang")
        >>> f = rule.factor(credit_grade="D", accident_grade="none")
        >>> round(f.components["accident_grade"], 2), bool(1.4 < f.components["credit_grade"] < 2.0)
        (0.9, True)
        """
        from ._fitted import fitted_relativities, method_note, pricing_input

        if isinstance(schedule, str):
            schedule = cls.load(schedule)
        if isinstance(inputs, str):
            inputs = [inputs]
        terms = []
        p = Problems("FloatingRule.from_model")
        for f in inputs:
            try:
                fr = fitted_relativities(freq, f, data, complement_weight, None,
                                         what="FloatingRule.from_model")
            except ValidationError as err:
                p.extend(err._problems)
                continue
            src = f"fitted: FrequencyGLM relativities of {f!r}; " + method_note(complement_weight, None)
            adj = (fr["relativity"] - 1.0).astype(float).tolist()
            if fr.attrs["edges"] is not None:
                terms.append(RuleFactor(name=f, input=pricing_input(f), kind="bins",
                                        edges=fr.attrs["edges"], adjustments=tuple(adj),
                                        status="fitted", source=src))
            else:
                terms.append(RuleFactor(name=f, input=pricing_input(f), kind="table",
                                        levels=dict(zip(fr["level"], adj, strict=True)),
                                        status="fitted", source=src))
        p.raise_if_any()
        desc = ("fitted GLM relativities for " + ", ".join(inputs)
                + (f", after the {schedule.name!r} schedule" if schedule is not None else ""))
        return cls(name=name, description=desc, source=source or "fitted by FloatingRule.from_model",
                   status="user", combine="multiplicative", floor=floor, cap=cap, terms=terms,
                   schedule=schedule)


FloatingRule.model_rebuild()
