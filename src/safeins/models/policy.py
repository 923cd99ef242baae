"""The 安责险 policy structure: per-person limits, sub-limits, per-accident and aggregate limits.

A :class:`PolicyCoverage` is a frozen configuration (TOML in and out) of one 安全生产责任保险 policy:

- **per-person death/disability limit** ``per_person`` (每人死亡伤残责任限额): a death pays it, a
  disability of grade g pays ``disability_shares[g-1]`` of it (default ``(11 - g)/10``: grade 1
  100 %, grade 10 10 %, see docs/domain/definitions.md#disability), never more than the victim's
  liability when that is
  known;
- **medical sub-limit per person** ``medical_per_person`` (each injured or killed victim's medical
  costs, after ``medical_deductible``), for employees and third parties alike;
- **third parties**: per-person death/disability limit ``third_party_per_person`` (default: the
  employees' ``per_person``), an optional per-accident cap on all third-party bodily injury
  ``third_party_per_accident``, and the **property damage sub-limit per accident**
  ``third_party_property`` (after ``property_deductible``);
- **rescue and legal costs sub-limit per accident** ``rescue_legal`` (after ``rescue_deductible``);
- **per-accident limit** ``per_accident`` (default ``per_person × headcount``), applied last;
- **annual aggregate limit** ``aggregate`` (default: the per-accident limit), applied to the
  year's total by :class:`~safeins.losses.aggregate.Aggregate` through :meth:`aggregate_coverage`.

Defaults and their sources (``docs/domain/regulation.md``):

=====================================  ===================================================================
medical 100,000 / person               Shandong 2018 construction form (§2D) [V]
third-party property 100,000 / accid.  Shandong 2018 construction form (§2D) [V]
third-party per person = per_person    Shandong 2018 (50万 for employees and third parties), Xinjiang (§2F)
rescue & legal 35 % of per-accident    Xinjiang form (§2F): rescue 30 % + legal 5 % of the main limit [V]
per-accident = per_person × headcount  Xinjiang form (§2F) [V]
aggregate = per-accident               Xinjiang form (§2F): per-accident = annual aggregate [V]
no deductible on bodily injury         Xinjiang form (§2F) [V]; all deductibles default to 0
=====================================  ===================================================================

**Each enterprise's own headcount.** One ``PolicyCoverage`` is often a template for a whole book
(every enterprise insures its full workforce at the same per-person limit). The per-accident limit
then differs by enterprise: :meth:`~PolicyCoverage.per_accident_limits` gives it for each
headcount, :meth:`~PolicyCoverage.for_headcount` gives one enterprise's policy,
``insured_loss(..., headcount=portfolio)`` caps each accident at its own enterprise's limit, and
``regime_facts(portfolio)`` lets ``Regime.check`` compare each enterprise's insured persons with its
own headcount (全员参保, 应急〔2025〕27号 第十六条).

``PolicyCoverage.from_regime(..., form="xinjiang")`` takes the Xinjiang form's shares and
deductibles instead (medical 30 % of the per-person limit, deductibles 500 / 1,000 / 2,000 yuan);
its third-party rider limit has no default (the form offers 100–1,000万) and must be given.

>>> cov = PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=100)
>>> cov.per_accident_limit, cov.aggregate_limit, cov.rescue_limit
(50000000.0, 50000000.0, 17500000.0)
>>> cov.disability_payout(10)
50000.0
>>> try:
...     PolicyCoverage.from_regime("national-2025", per_person=300_000, headcount=10)
... except RegimeBreachError as err:   # also a ValidationError listing every bad field
...     print(err.problems.loc[0, "rule"][:48])
below the minimum of national-2025 (400000.0): 2
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._base.config import Config
from .._base.results import as_summary
from ..domain import regimes as _regimes
from ..errors import Problems, RegimeBreachError, ValidationError
from ..losses.coverage import AggregateCoverage

__all__ = ["DEFAULT_DISABILITY_SHARES", "FORMS", "PolicyCoverage", "RegimeValidationError"]

#: grade g (1..10) pays (11 - g)/10 of the per-person limit (docs/domain/definitions.md#disability)
DEFAULT_DISABILITY_SHARES: tuple[float, ...] = tuple((11 - g) / 10 for g in range(1, 11))

#: policy forms whose defaults ``from_regime`` fills in (docs/domain/regulation.md#shandong, #policy-form)
FORMS = ("shandong-2018", "xinjiang")

_MONEY = ("per_person", "medical_per_person", "medical_deductible", "third_party_per_person",
          "third_party_per_accident", "third_party_property", "property_deductible",
          "rescue_legal", "rescue_deductible", "per_accident", "aggregate")
_OPTIONAL = {"third_party_per_person", "third_party_per_accident", "rescue_legal", "per_accident",
             "aggregate"}
RESCUE_SHARE = 0.35  # Xinjiang: rescue 30 % + legal 5 % of the main per-accident limit


class RegimeValidationError(ValidationError, RegimeBreachError):
    """Invalid coverage input including a breach of the regime: both a ValidationError (every
    problem listed) and a RegimeBreachError (``findings`` holds the failed regime findings)."""

    def __init__(self, what: str, problems, findings=()):
        ValidationError.__init__(self, what, problems)
        self.findings = list(findings)

    def __reduce__(self):
        return (type(self), (self.what, self._problems, self.findings))


def _is_number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float | np.integer | np.floating)


def _check(data: dict[str, Any]) -> tuple[Problems, list]:
    """Every problem of the raw input (nothing is coerced), and the failed regime findings."""
    p = Problems("PolicyCoverage")
    val: dict[str, float | None] = {}
    fields = PolicyCoverage.model_fields
    for name in data:
        if name not in fields:
            p.add(column=name, value=data[name], rule="unknown field; allowed: "
                  + ", ".join(fields))
    for name in _MONEY:
        if name not in data and name not in _OPTIONAL and name != "per_person":
            val[name] = float(fields[name].default)  # the documented default
            continue
        if name not in data or (data[name] is None and name in _OPTIONAL):
            val[name] = None
            continue
        v = data[name]
        if not _is_number(v) or math.isnan(float(v)) or not math.isfinite(float(v)) or v < 0:
            p.add(column=name, value=v, rule="must be a finite number >= 0 (yuan)"
                  + (" or None" if name in _OPTIONAL else ""))
            val[name] = None
        else:
            val[name] = float(v)
    if "per_person" not in data:
        p.add(column="per_person", value=None, rule="required: the per-person death/disability limit")
    hc = data.get("headcount")
    if hc is not None and (isinstance(hc, bool) or not isinstance(hc, int | np.integer) or hc < 1):
        p.add(column="headcount", value=hc, rule="must be an integer >= 1 (insured employees)")
        hc = None
    if data.get("headcount") is None and data.get("per_accident") is None:
        p.add(column="headcount", value=None,
              rule="give headcount (per-accident limit = per_person × headcount) or per_accident")
    shares = data.get("disability_shares", DEFAULT_DISABILITY_SHARES)
    try:
        s = np.asarray(shares, dtype=float)
        ok = s.shape == (10,) and bool(np.all(np.isfinite(s)))
    except (TypeError, ValueError):
        ok = False
    if not ok or not (np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) <= 0)):
        p.add(column="disability_shares", value=shares,
              rule="10 shares in [0, 1] for grades 1..10, non-increasing (grade 1 the most)")
    pp = val["per_person"]
    # resolved limits, to compare sub-limits with the limits they sit under
    pa = val["per_accident"]
    if pa is None and pp is not None and hc is not None:
        pa = pp * int(hc)
    if pp is not None and pa is not None and pa < pp:
        p.add(column="per_accident", value=pa,
              rule=f"must be >= per_person ({pp:g}): one death must be payable")
    if val["aggregate"] is not None and pa is not None and val["aggregate"] < pa:
        p.add(column="aggregate", value=val["aggregate"],
              rule=f"must be >= the per-accident limit ({pa:g})")
    if pp is not None and val["medical_per_person"] is not None and val["medical_per_person"] > pp:
        p.add(column="medical_per_person", value=val["medical_per_person"],
              rule=f"must be <= per_person ({pp:g}): a sub-limit of the per-person cover")
    if pa is not None:
        for name in ("third_party_per_person", "third_party_per_accident", "third_party_property",
                     "rescue_legal"):
            if val[name] is not None and val[name] > pa:
                p.add(column=name, value=val[name],
                      rule=f"must be <= the per-accident limit ({pa:g}): it sits within it")
    for ded, lim in (("medical_deductible", "medical_per_person"),
                     ("property_deductible", "third_party_property")):
        if val[ded] is not None and val[lim] is not None and val[lim] > 0 and val[ded] >= val[lim]:
            p.add(column=ded, value=val[ded], rule=f"must be < {lim} ({val[lim]:g})")
    failed = []
    reg = data.get("regime")
    if reg is not None:
        try:
            regime = _regimes.get(reg)
        except ValidationError as err:
            p.extend(err._problems)
            regime = None
        if regime is not None and pp is not None:
            findings = regime.check({"death_disability_limit": pp})
            failed = findings.failed()
            if failed and not data.get("override_regime", False):
                for f in failed:
                    p.add(column="per_person", value=data["per_person"],
                          rule=f"below the minimum of {regime.key} ({f.limit}): {f.source}; "
                               "pass override=True to allow")
            else:
                failed = []
    return p, failed


def _raise(p: Problems, failed) -> None:
    if failed:
        raise RegimeValidationError(p.what, p.items, failed)
    p.raise_if_any()


class PolicyCoverage(Config):
    """One 安责险 policy: per-person limits, sub-limits, per-accident and annual aggregate limits.

    All amounts in yuan. ``None`` for an optional limit means "the documented default" (see the
    module docs); the resolved values are the ``*_limit`` properties. Bad input raises one
    :class:`~safeins.errors.ValidationError` naming every bad field; a per-person limit under the
    ``regime``'s minimum also makes it a :class:`~safeins.errors.RegimeBreachError` unless
    ``override_regime=True``.

    >>> cov = PolicyCoverage(per_person=400_000, headcount=20)
    >>> cov.per_accident_limit, cov.third_party_per_person_limit, cov.medical_per_person
    (8000000.0, 400000.0, 100000.0)
    >>> PolicyCoverage.from_toml_text(cov.to_toml_text()) == cov
    True
    >>> try:
    ...     PolicyCoverage(per_person=float("nan"), headcount=0, disability_shares=[0.5] * 9)
    ... except ValidationError as err:
    ...     print(err.problems["column"].tolist())
    ['per_person', 'headcount', 'disability_shares']
    """

    per_person: float
    headcount: int | None = None
    disability_shares: tuple[float, ...] = DEFAULT_DISABILITY_SHARES
    medical_per_person: float = 100_000.0
    medical_deductible: float = 0.0
    third_party_per_person: float | None = None
    third_party_per_accident: float | None = None
    third_party_property: float = 100_000.0
    property_deductible: float = 0.0
    rescue_legal: float | None = None
    rescue_deductible: float = 0.0
    per_accident: float | None = None
    aggregate: float | None = None
    regime: str | None = None
    override_regime: bool = False
    form: Literal["shandong-2018", "xinjiang", "custom"] = "custom"

    def __init__(self, **data):
        p, failed = _check(data)
        _raise(p, failed)
        super().__init__(**data)  # Config turns pydantic's errors into one ValidationError

    @classmethod
    def model_validate(cls, obj, **kwargs):
        """pydantic's entry point, with the same checks as the constructor."""
        if isinstance(obj, dict):
            _raise(*_check(obj))
        return super().model_validate(obj, **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None):
        """Validate a plain dict (as read from TOML); every bad field in one error."""
        if not isinstance(data, dict):
            raise ValidationError(source or "PolicyCoverage", [_problem("-", data, "a table of fields")])
        p, failed = _check(data)
        if source:
            p.what = source
        _raise(p, failed)
        return super().from_dict(data, source=source)

    @classmethod
    def from_regime(cls, regime="national-2025", *, per_person: float, headcount: int | None = None,
                    form: str = "shandong-2018", override: bool = False, **overrides):
        """A policy with a regime's floor enforced and a policy form's defaults filled in.

        ``form="shandong-2018"`` (default): medical 100,000 / person and third-party property
        100,000 / accident (Shandong 2018 construction form), rescue & legal 35 % of the
        per-accident limit (Xinjiang). ``form="xinjiang"``: medical 30 % of ``per_person``,
        rescue & legal 35 % of the per-accident limit, third-party property 50 % of the
        third-party limit ``third_party_per_accident`` (required: the form offers 100–1,000万),
        deductibles 500 (medical), 1,000 (property), 2,000 (rescue). Any field can be overridden by
        keyword. A ``per_person`` under the regime's minimum raises (checked with
        ``regime.check``) unless ``override=True``.

        >>> cov = PolicyCoverage.from_regime("national-2025", per_person=600_000, headcount=50,
        ...                                  form="xinjiang", third_party_per_accident=5_000_000)
        >>> cov.medical_per_person, cov.third_party_property, cov.medical_deductible
        (180000.0, 2500000.0, 500.0)
        """
        if form not in FORMS:
            raise ValidationError("PolicyCoverage.from_regime",
                                  [_problem("form", form, f"one of {', '.join(FORMS)}")])
        key = regime.key if isinstance(regime, _regimes.Regime) else regime
        data: dict[str, Any] = {"per_person": per_person, "headcount": headcount, "regime": key,
                                "override_regime": bool(override), "form": form}
        if form == "xinjiang":
            ok = _is_number(per_person) and math.isfinite(float(per_person))
            tpa = overrides.get("third_party_per_accident")
            if ok:
                data["medical_per_person"] = 0.3 * float(per_person)
            data.update(medical_deductible=500.0, property_deductible=1_000.0,
                        rescue_deductible=2_000.0)
            if tpa is None:
                raise ValidationError("PolicyCoverage.from_regime", [_problem(
                    "third_party_per_accident", None,
                    "required with form='xinjiang' (the form's rider offers 100–1,000万 yuan)")])
            if _is_number(tpa) and math.isfinite(float(tpa)):
                data["third_party_property"] = 0.5 * float(tpa)
        data.update(overrides)
        if isinstance(regime, _regimes.Regime) and regime.key not in _regimes.available():
            data["regime"] = None
            p, _ = _check(data)
            failed = regime.check({"death_disability_limit": per_person}).failed()
            if failed and not override:
                for f in failed:
                    p.add(column="per_person", value=per_person,
                          rule=f"below the minimum of {regime.key} ({f.limit}); "
                               "pass override=True to allow")
                _raise(p, failed)
        return cls(**data)

    # --- resolved limits ---------------------------------------------------------------------
    @property
    def per_accident_limit(self) -> float:
        """The per-accident limit: ``per_accident`` or ``per_person × headcount``."""
        if self.per_accident is not None:
            return float(self.per_accident)
        return float(self.per_person * self.headcount)

    @property
    def aggregate_limit(self) -> float:
        """The annual aggregate limit: ``aggregate`` or the per-accident limit."""
        return float(self.aggregate) if self.aggregate is not None else self.per_accident_limit

    @property
    def third_party_per_person_limit(self) -> float:
        """Third-party death/disability limit per person: ``third_party_per_person`` or ``per_person``."""
        tp = self.third_party_per_person
        return float(tp) if tp is not None else float(self.per_person)

    @property
    def rescue_limit(self) -> float:
        """Rescue & legal costs per accident: ``rescue_legal`` or 35 % of the per-accident limit."""
        if self.rescue_legal is not None:
            return float(self.rescue_legal)
        return RESCUE_SHARE * self.per_accident_limit

    def disability_payout(self, grade: int, role: str = "employee") -> float:
        """The scheduled payout of a disability of ``grade`` (1..10)."""
        if isinstance(grade, bool) or not isinstance(grade, int | np.integer) or not 1 <= grade <= 10:
            raise ValidationError("PolicyCoverage.disability_payout",
                                  [_problem("grade", grade, "an integer 1..10")])
        per = self.third_party_per_person_limit if role == "third_party" else self.per_person
        return float(per * self.disability_shares[int(grade) - 1])

    def per_accident_limits(self, headcount) -> np.ndarray:
        """The per-accident limit of each enterprise: ``per_person × its own headcount``.

        ``headcount`` is a number, an array, a Series or a Portfolio (its ``headcount``). An
        explicit ``per_accident`` applies to every enterprise alike. The rescue & legal default
        (35 % of the per-accident limit) follows from it the same way.

        >>> PolicyCoverage(per_person=400_000, headcount=50).per_accident_limits([10, 200]).tolist()
        [4000000.0, 80000000.0]
        """
        h = _headcounts(headcount, "PolicyCoverage.per_accident_limits")
        if self.per_accident is not None:
            return np.full(len(h), float(self.per_accident))
        return float(self.per_person) * h

    def for_headcount(self, headcount: int) -> PolicyCoverage:
        """This policy for an enterprise of ``headcount`` employees (all insured, 全员参保).

        >>> PolicyCoverage(per_person=400_000, headcount=50).for_headcount(8).per_accident_limit
        3200000.0
        """
        _headcounts([headcount], "PolicyCoverage.for_headcount")
        return self.model_copy(update={"headcount": int(headcount)})

    def regime_facts(self, portfolio=None, insured=None) -> dict:
        """Facts for ``Regime.check``: the per-person limit, and with a ``portfolio`` the workforce.

        With a portfolio, ``workforce`` compares each enterprise's own ``headcount`` with the
        persons insured: ``insured`` (a Series by enterprise id) if given, otherwise this policy's
        ``headcount`` if it names one (one template headcount for every enterprise insures too few
        in the larger ones), otherwise each enterprise's own headcount (full workforce). Without a
        portfolio nothing is claimed about the workforce.

        >>> import pandas as pd
        >>> from safeins.domain import regimes
        >>> pf = pd.DataFrame({"headcount": [30, 80]}, index=pd.Index(["E1", "E2"], name="enterprise_id"))
        >>> cov = PolicyCoverage(per_person=400_000, headcount=50)
        >>> regimes.get("national-2025").check(cov.regime_facts(pf)).failed()[0].subject
        'E2'
        """
        facts: dict[str, Any] = {"death_disability_limit": float(self.per_person)}
        if portfolio is None:
            return facts
        frame = portfolio.frame if hasattr(portfolio, "frame") else portfolio
        own = _headcounts(frame, "PolicyCoverage.regime_facts")
        if insured is not None:
            got = pd.Series(insured).reindex(frame.index).to_numpy(dtype=float)
        elif self.headcount is not None:
            got = np.full(len(own), float(self.headcount))
        else:
            got = own
        facts["workforce"] = pd.DataFrame({"headcount": own, "insured": got}, index=frame.index)
        return facts

    def aggregate_coverage(self) -> AggregateCoverage:
        """The annual aggregate limit as an :class:`~safeins.losses.coverage.AggregateCoverage`.

        >>> PolicyCoverage(per_person=400_000, headcount=5).aggregate_coverage().limit
        2000000.0
        """
        return AggregateCoverage(limit=self.aggregate_limit)

    def to_frame(self) -> pd.DataFrame:
        """The resolved limits, one row each, with where the value comes from.

        >>> PolicyCoverage(per_person=400_000, headcount=5).to_frame().loc["rescue_legal", "value"].item()
        700000.0
        """
        given = self.model_fields_set
        rows = [
            ("per_person", self.per_person, "given"),
            ("medical_per_person", self.medical_per_person,
             "given" if "medical_per_person" in given else "default: Shandong 2018 form"),
            ("medical_deductible", self.medical_deductible, "given" if "medical_deductible" in given
             else "default: none on bodily injury"),
            ("third_party_per_person", self.third_party_per_person_limit,
             "given" if self.third_party_per_person is not None else "default: = per_person"),
            ("third_party_per_accident", math.inf if self.third_party_per_accident is None
             else self.third_party_per_accident,
             "given" if self.third_party_per_accident is not None
             else "none (within the per-accident limit)"),
            ("third_party_property", self.third_party_property,
             "given" if "third_party_property" in given else "default: Shandong 2018 form"),
            ("property_deductible", self.property_deductible, "given" if "property_deductible"
             in given else "default: 0"),
            ("rescue_legal", self.rescue_limit, "given" if self.rescue_legal is not None
             else "default: 35% of per-accident (Xinjiang form)"),
            ("rescue_deductible", self.rescue_deductible, "given" if "rescue_deductible" in given
             else "default: 0"),
            ("per_accident", self.per_accident_limit, "given" if self.per_accident is not None
             else f"default: per_person x headcount ({self.headcount})"),
            ("aggregate", self.aggregate_limit, "given" if self.aggregate is not None
             else "default: = per-accident (Xinjiang form)"),
        ]
        return pd.DataFrame(rows, columns=["item", "value", "basis"]).set_index("item")

    @as_summary
    def summary(self) -> str:
        """A short text description."""
        lines = [f"PolicyCoverage ({self.form}; regime {self.regime or 'none'})"]
        for item, row in self.to_frame().iterrows():
            lines.append(f"  {item:<26} {row['value']:>16,.0f}  {row['basis']}")
        return "\n".join(lines)

    # --- payouts -----------------------------------------------------------------------------
    def insured_loss(self, accidents, victims=None, headcount=None) -> pd.DataFrame:
        """The insured amount of each accident after every limit, with a breakdown.

        ``accidents`` is an :class:`~safeins.domain.portfolio.AccidentHistory` (its victims table is
        used), a DataFrame with ``victims`` given, or the ``(accidents, victims)`` pair of
        ``AccidentModel.simulate(..., return_victims=True)``. The victims table needs ``role``,
        ``outcome``, ``disability_grade`` and ``medical_cost``; an optional ``liability`` column
        (the victim's death/disability compensation) caps the scheduled amount, which is otherwise
        paid in full.

        ``headcount`` (a Portfolio, or a Series of headcounts by enterprise id) applies each
        accident's own enterprise's per-accident limit (``per_person × its headcount``) and rescue
        sub-limit; the accidents then need ``enterprise_id``. Without it the policy's own limits
        apply to every accident.

        Columns: ``employee_death_disability``, ``employee_medical``,
        ``third_party_death_disability``, ``third_party_medical``, ``third_party`` (after
        ``third_party_per_accident``), ``property``, ``rescue``, ``before_limit`` and ``insured``
        (after the per-accident limit), ``capped``.

        >>> import pandas as pd
        >>> acc = pd.DataFrame({"property_damage": [250_000.0], "rescue_cost": [10_000.0]},
        ...                    index=pd.Index(["A1"], name="accident_id"))
        >>> vic = pd.DataFrame({"accident_id": ["A1", "A1"], "role": ["employee", "employee"],
        ...     "outcome": ["death", "disability"], "disability_grade": [None, 3],
        ...     "medical_cost": [20_000.0, 150_000.0]})
        >>> out = PolicyCoverage(per_person=500_000, headcount=10).insured_loss(acc, vic)
        >>> out.loc["A1", ["employee_death_disability", "employee_medical", "property", "insured"]].tolist()
        [900000.0, 120000.0, 100000.0, 1130000.0]
        """
        return _insured_loss_frame(self, accidents, victims, headcount)


def _headcounts(headcount, what: str) -> np.ndarray:
    """Headcounts as floats, each checked to be an integer >= 1 (every bad one listed)."""
    if hasattr(headcount, "frame"):
        headcount = headcount.frame
    if isinstance(headcount, pd.DataFrame):
        if "headcount" not in headcount.columns:
            raise ValidationError(what, [_problem("headcount", "<missing>", "a headcount column")])
        headcount = headcount["headcount"]
    labels = headcount.index if isinstance(headcount, pd.Series) else None
    values = np.atleast_1d(np.asarray(headcount, dtype=object))
    p = Problems(what)
    for i, v in enumerate(values):
        ok = _is_number(v) and math.isfinite(float(v)) and float(v) >= 1 and float(v) == int(v)
        if not ok:
            p.add(row=labels[i] if labels is not None else i, column="headcount", value=v,
                  rule="an integer >= 1 (the enterprise's own employees)")
    p.raise_if_any()
    return values.astype(float)


def _problem(column, value, rule):
    from ..errors import Problem

    return Problem(None, column, value, rule)


_VICTIM_NEEDS = ("accident_id", "role", "outcome", "disability_grade", "medical_cost")


def _inputs(accidents, victims):
    """(accident frame, victims frame) from the accepted argument forms, checked."""
    if isinstance(accidents, tuple) and len(accidents) == 2 and victims is None:
        accidents, victims = accidents
    if hasattr(accidents, "victims") and hasattr(accidents, "to_frame"):
        victims = accidents.victims if victims is None else victims
        accidents = accidents.frame
    p = Problems("PolicyCoverage.insured_loss")
    if not isinstance(accidents, pd.DataFrame):
        p.add(column="accidents", value=type(accidents).__name__,
              rule="an AccidentHistory, a DataFrame or the (accidents, victims) of simulate()")
        p.raise_if_any()
    if victims is None:
        p.add(column="victims", value=None,
              rule="the per-victim table is needed (per-person limits apply victim by victim)")
        p.raise_if_any()
    for col in ("property_damage", "rescue_cost"):
        if col not in accidents.columns:
            p.add(column=col, value="<missing>", rule="required accident column")
    for col in _VICTIM_NEEDS:
        if col not in victims.columns:
            p.add(column=f"victims.{col}", value="<missing>", rule="required victims column")
    p.raise_if_any()
    for col in ("property_damage", "rescue_cost"):
        x = accidents[col].to_numpy(dtype=float)
        for i in np.flatnonzero(~np.isfinite(x) | (x < 0)):
            p.add(row=accidents.index[i], column=col, value=x[i], rule="finite and >= 0")
    med = victims["medical_cost"].to_numpy(dtype=float)
    for i in np.flatnonzero(~np.isfinite(med) | (med < 0)):
        p.add(row=f"victims#{i}", column="medical_cost", value=med[i], rule="finite and >= 0")
    role = victims["role"].astype(object).to_numpy()
    outcome = victims["outcome"].astype(object).to_numpy()
    for i in np.flatnonzero(~np.isin(role, ["employee", "third_party"])):
        p.add(row=f"victims#{i}", column="role", value=role[i], rule="employee or third_party")
    for i in np.flatnonzero(~np.isin(outcome, ["death", "disability", "medical"])):
        p.add(row=f"victims#{i}", column="outcome", value=outcome[i],
              rule="death, disability or medical")
    grade = pd.to_numeric(victims["disability_grade"], errors="coerce").to_numpy(dtype=float)
    is_dis = outcome == "disability"
    bad_grade = is_dis & ~np.isin(grade, np.arange(1, 11))
    for i in np.flatnonzero(bad_grade):
        p.add(row=f"victims#{i}", column="disability_grade", value=grade[i],
              rule="an integer 1..10 for outcome 'disability'")
    pos = accidents.index.get_indexer(victims["accident_id"].to_numpy())
    for i in np.flatnonzero(pos < 0):
        p.add(row=f"victims#{i}", column="accident_id", value=victims["accident_id"].iloc[i],
              rule="unknown accident")
    if "liability" in victims.columns:
        lia = victims["liability"].to_numpy(dtype=float)
        for i in np.flatnonzero(np.isnan(lia) | (lia < 0)):
            p.add(row=f"victims#{i}", column="liability", value=lia[i], rule=">= 0 (inf allowed)")
    p.raise_if_any()
    return accidents, victims, pos, role, outcome, grade, med


def _limits_by_accident(cov: PolicyCoverage, acc: pd.DataFrame, headcount):
    """(per-accident limit, rescue limit) of each accident, from its own enterprise's headcount."""
    m = len(acc)
    if headcount is None:
        return np.full(m, cov.per_accident_limit), np.full(m, cov.rescue_limit)
    frame = headcount.frame if hasattr(headcount, "frame") else headcount
    heads = frame["headcount"] if isinstance(frame, pd.DataFrame) and "headcount" in frame else frame
    p = Problems("PolicyCoverage.insured_loss")
    if not isinstance(heads, pd.Series):
        p.add(column="headcount", value=type(headcount).__name__,
              rule="a Portfolio or a Series of headcounts indexed by enterprise id")
    elif "enterprise_id" not in acc.columns:
        p.add(column="enterprise_id", value="<missing>",
              rule="required with headcount=: each accident takes its enterprise's limit")
    p.raise_if_any()
    ids = acc["enterprise_id"].to_numpy(dtype=object)
    pos = heads.index.get_indexer(ids)
    for i in np.flatnonzero(pos < 0):
        p.add(row=acc.index[i], column="enterprise_id", value=ids[i],
              rule="no headcount for this enterprise")
    p.raise_if_any()
    limits = cov.per_accident_limits(heads.iloc[pos])
    rescue = (np.full(m, float(cov.rescue_legal)) if cov.rescue_legal is not None
              else RESCUE_SHARE * limits)
    return limits, rescue


def _insured_loss_frame(cov: PolicyCoverage, accidents, victims, headcount=None) -> pd.DataFrame:
    acc, vic, pos, role, outcome, grade, med = _inputs(accidents, victims)
    m = len(acc)
    per_accident, rescue_limit = _limits_by_accident(cov, acc, headcount)
    tp = role == "third_party"
    per = np.where(tp, cov.third_party_per_person_limit, cov.per_person)
    shares = np.asarray(cov.disability_shares, dtype=float)
    g = np.where(outcome == "disability", np.nan_to_num(grade, nan=1.0), 1.0).astype(np.int64)
    scheduled = np.where(outcome == "death", per,
                         np.where(outcome == "disability", per * shares[g - 1], 0.0))
    if "liability" in vic.columns:
        scheduled = np.minimum(scheduled, vic["liability"].to_numpy(dtype=float))
    med_pay = np.minimum(np.maximum(med - cov.medical_deductible, 0.0), cov.medical_per_person)

    def per_acc(values, sel):
        return np.bincount(pos[sel], weights=values[sel], minlength=m)

    emp_dd, emp_med = per_acc(scheduled, ~tp), per_acc(med_pay, ~tp)
    tp_dd, tp_med = per_acc(scheduled, tp), per_acc(med_pay, tp)
    third = tp_dd + tp_med
    if cov.third_party_per_accident is not None:
        third = np.minimum(third, cov.third_party_per_accident)
    prop = np.minimum(np.maximum(acc["property_damage"].to_numpy(dtype=float)
                                 - cov.property_deductible, 0.0), cov.third_party_property)
    resc = np.minimum(np.maximum(acc["rescue_cost"].to_numpy(dtype=float)
                                 - cov.rescue_deductible, 0.0), rescue_limit)
    before = emp_dd + emp_med + third + prop + resc
    out = pd.DataFrame({
        "employee_death_disability": emp_dd, "employee_medical": emp_med,
        "third_party_death_disability": tp_dd, "third_party_medical": tp_med,
        "third_party": third, "property": prop, "rescue": resc, "before_limit": before,
        "insured": np.minimum(before, per_accident),
        "capped": before > per_accident}, index=acc.index)
    return out
