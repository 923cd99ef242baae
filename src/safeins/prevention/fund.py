"""The prevention fund's budget: a share of collected premium, capped by the regime.

The 2024 MEM/NFRA notice (retained by the 2025 rules) lets insurers spend **up to 21 % of the
actually collected 安责险 premium** on accident-prevention services, budgeted and booked as they
are spent, never diverted (应急管理部办公厅 and 金融监管总局办公厅, notice of 2024-10-22
《关于充分发挥安全生产责任保险功能作用助力安全生产治本攻坚三年行动的通知》: "按照不高于安责险实际收取
保费的21%投入事故预防服务费用"). Fuyang's (阜阳市, Anhui) earlier scheme extracted a **fixed 5 %** of
premium into a pooled 安全生产预防基金 (its municipal measures, text at
http://fsou.com/html/text/lar/172172/17217274_1.html); ``PreventionFund.legacy_fuyang()``
models it.

Carry-over: the notice fixes a cap on what is put in per year, not what happens to money not yet
spent. With ``carry_over=True`` the unspent part of a year's budget is added to the next year's,
so cumulative spend never exceeds the share of cumulative collected premium; with
``carry_over=False`` it lapses (is released back to the insurer's result).

>>> fund = PreventionFund(share=0.15, regime="national-2025")
>>> fund.budget(1_000_000.0)
150000.0
>>> PreventionFund(share=0.25)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
safeins.errors.RegimeBreachError: PreventionFund: share 0.25 ... prevention_cap of national-2025 (0.21)...
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._base.resources import shipped_toml
from ..errors import Problem, Problems, RegimeBreachError, SafeinsWarning, ValidationError
from ..losses._checks import check_params
from ._inputs import premium_series
from .catalog import ServiceCatalog

__all__ = ["PreventionFund"]


class PreventionFund:
    """A prevention budget rule: share of collected premium, regime cap, carry-over, minimum service.

    Parameters
    ----------
    share : float
        Fraction of collected premium put into prevention each year (default 0.15).
    regime : str, Regime or None
        The regime whose ``prevention_cap`` the share must respect ("national-2025"); None for no
        regulatory cap (only 0 <= share <= 1 is checked).
    carry_over : bool
        Whether unspent money is added to next year's budget (see the module docstring).
    fixed_share : float or None
        A legacy fixed extraction (Fuyang: 5 %): the fund receives exactly this share every year
        and pools it (carry-over on unless set otherwise). Excludes ``share``.
    min_per_enterprise : float
        Mandatory minimum service spend per insured, used by :meth:`allocate` by default.
    allow_breach : bool
        Accept a share above the cap with a warning instead of an error (for "what if" studies).
    catalog : str, path or ServiceCatalog
        Default service catalogue for :meth:`allocate`.

    Examples
    --------
    >>> import pandas as pd, safeins as si
    >>> pf = pd.DataFrame({"sector": ["mining", "construction"], "headcount": [300, 80]}, index=["E1", "E2"])
    >>> lam = pd.Series([0.3, 0.05], index=pf.index)
    >>> fund = si.PreventionFund(share=0.15, regime="national-2025")
    >>> plan = fund.allocate(pf, lam, fund.budget(110_000.0), loss_per_accident=4e5)
    >>> round(float(plan.spend.sum()), 2)
    16500.0
    """

    def __init__(self, share: float | None = None, regime="national-2025", *,
                 carry_over: bool | None = None, fixed_share: float | None = None,
                 min_per_enterprise: float = 0.0, allow_breach: bool = False,
                 catalog="default"):
        problems = []
        if fixed_share is not None and share is not None and share != fixed_share:
            problems.append(Problem(None, "share", share, f"leave unset with fixed_share={fixed_share}"))
        value = fixed_share if fixed_share is not None else (0.15 if share is None else share)
        name = "fixed_share" if fixed_share is not None else "share"
        if not (isinstance(value, int | float | np.floating) and not isinstance(value, bool)
                and 0 <= float(value) <= 1):
            problems.append(Problem(None, name, value, "a fraction of collected premium in [0, 1]"))
        flags = Problems("PreventionFund")
        check_params("PreventionFund", [("min_per_enterprise", min_per_enterprise, "nonneg"),
                                        ("carry_over", carry_over, "bool_or_none"),
                                        ("allow_breach", allow_breach, "bool")], flags)
        problems.extend(flags.items)
        if isinstance(catalog, str | Path):
            try:  # only locate the file here; it is read when first needed
                shipped_toml("services", catalog, "PreventionFund")
            except ValidationError as err:
                problems.extend(Problem(None, "catalog", p.value, p.rule) for p in err._problems)
        elif not isinstance(catalog, ServiceCatalog):
            problems.append(Problem(None, "catalog", catalog,
                                    "a catalogue name, a path to its TOML, or a ServiceCatalog"))
        reg = None
        if regime is not None:
            from ..domain import regimes

            try:
                reg = regimes.get(regime)
            except ValidationError as err:
                problems.extend(err._problems)
        if problems:
            raise ValidationError("PreventionFund", problems)
        self.share = float(value)
        self.fixed = fixed_share is not None
        self.regime = reg
        self.carry_over = self.fixed if carry_over is None else bool(carry_over)
        self.min_per_enterprise = float(min_per_enterprise)
        self.allow_breach = bool(allow_breach)
        self._catalog = catalog
        if reg is not None:
            findings = reg.check(self.regime_facts())
            if not findings.ok:
                cap = reg.prevention_cap
                src = reg.sources.get("prevention_cap", "")
                msg = (f"PreventionFund: {name} {self.share:g} of collected premium exceeds the "
                       f"prevention_cap of {reg.key} ({cap:g}): {src}.")
                if not allow_breach:
                    raise RegimeBreachError(msg + " Lower the share, or pass allow_breach=True to "
                                            "study a scheme outside the rules.", findings.failed())
                warnings.warn(msg + " (allowed by allow_breach=True)", SafeinsWarning, stacklevel=2)

    @classmethod
    def legacy_fuyang(cls, **kwargs) -> PreventionFund:
        """Fuyang's fixed 5 % extraction into a pooled prevention fund (阜阳市's early scheme).

        >>> f = PreventionFund.legacy_fuyang()
        >>> f.share, f.fixed, f.carry_over
        (0.05, True, True)
        """
        kwargs.setdefault("regime", "national-2025")
        return cls(fixed_share=0.05, **kwargs)

    @property
    def cap(self) -> float | None:
        """The regime's cap on the share (None without a regime or when it fixes none)."""
        return None if self.regime is None else self.regime.prevention_cap

    def regime_facts(self) -> dict:
        """Facts checked by :meth:`safeins.domain.regimes.Regime.check`."""
        return {"prevention_share": self.share}

    # -- budget --------------------------------------------------------------------------------
    def budget(self, quotes, by: str | None = None, *, carried_over=0.0):
        """The year's prevention budget: share × collected premium (+ carried-over money).

        ``quotes``: a DataFrame with a ``premium`` column (yuan collected; other columns such as
        region or insurer may group it), a Series of premiums, or a number. ``by`` names a column
        of ``quotes`` to budget per group (the fund is ring-fenced per insurer / region).
        ``carried_over``: money carried from last year (a number, or a Series by group).

        >>> import pandas as pd
        >>> q = pd.DataFrame({"premium": [2e5, 3e5, 5e5], "region": ["A", "B", "B"]},
        ...                  index=["E1", "E2", "E3"])
        >>> PreventionFund(share=0.2).budget(q, by="region").to_dict()
        {'A': 40000.0, 'B': 160000.0}
        """
        prem = premium_series(quotes)
        problems = []
        if by is not None:
            if not isinstance(quotes, pd.DataFrame) or by not in quotes.columns:
                raise ValidationError("PreventionFund.budget", [Problem(
                    None, "by", by, "a column of the quotes DataFrame")])
            values = pd.to_numeric(prem, errors="coerce")
        elif isinstance(prem, pd.Series):
            values = pd.to_numeric(prem, errors="coerce")
        else:
            values = pd.Series([prem])
            try:
                values = values.astype(float)
            except (TypeError, ValueError):
                raise ValidationError("PreventionFund.budget", [Problem(
                    None, "premium", prem, "a number, a Series or a DataFrame with 'premium'")]) from None
        bad = ~(np.isfinite(values.to_numpy(dtype=float)) & (values.to_numpy(dtype=float) >= 0))
        for i in np.flatnonzero(bad):
            problems.append(Problem(values.index[i] if by or isinstance(prem, pd.Series) else None,
                                    "premium", values.iloc[i], "collected premium: a finite number >= 0"))
        if problems:
            raise ValidationError("PreventionFund.budget", problems)
        if by is None:
            total = self.share * float(values.sum())
            carried = _check_carried(carried_over, None)
            return total + carried
        out = self.share * values.groupby(quotes[by].to_numpy()).sum().rename_axis(by)
        carried = _check_carried(carried_over, out.index)
        return (out + carried).astype(float).rename("budget")

    def carry(self, budget, spent):
        """Money carried into next year: the unspent budget if ``carry_over``, else 0.

        ``spent`` may be an :class:`AllocationPlan` (its spend, by group when it was allocated by
        group). Spending more than the budget is an error.

        >>> PreventionFund(share=0.1, carry_over=True).carry(1000.0, 800.0)
        200.0
        >>> PreventionFund(share=0.1).carry(1000.0, 800.0)
        0.0
        """
        if hasattr(spent, "spent_by_group"):
            spent = spent.spent_by_group()
        b = budget.astype(float) if isinstance(budget, pd.Series) else float(budget)
        s = spent.astype(float) if isinstance(spent, pd.Series) else float(spent)
        left = b - s
        over = np.asarray(left < -1e-9 * np.maximum(np.abs(b), 1.0))
        if over.any():
            raise ValidationError("PreventionFund.carry", [Problem(None, "spent", spent,
                                                                   f"must not exceed the budget {budget}")])
        left = np.maximum(left, 0.0) if not isinstance(left, pd.Series) else left.clip(lower=0.0)
        if not self.carry_over:
            left = left * 0.0
        return float(left) if np.ndim(left) == 0 else left

    # -- allocation ----------------------------------------------------------------------------
    @property
    def catalog(self) -> ServiceCatalog:
        c = self._catalog
        return c if isinstance(c, ServiceCatalog) else ServiceCatalog.load(c)

    def allocate(self, portfolio, lam, budget, *, strategy: str = "optimal", services=None,
                 min_per_enterprise=None, **kwargs):
        """Allocate ``budget`` over the portfolio; see :func:`safeins.prevention.allocate`.

        The fund's ``min_per_enterprise`` and catalogue are the defaults.

        >>> import pandas as pd
        >>> pf = pd.DataFrame({"sector": ["mining", "construction"]}, index=["E1", "E2"])
        >>> fund = PreventionFund(share=0.15, min_per_enterprise=1000.0)
        >>> plan = fund.allocate(pf, pd.Series([0.4, 0.01], index=pf.index), 10_000.0)
        >>> plan.spend.round(2).tolist()
        [9000.0, 1000.0]
        """
        from .plan import allocate

        if services is None or isinstance(services, str | list | tuple):
            kwargs.setdefault("catalog", self.catalog)
        lo = self.min_per_enterprise if min_per_enterprise is None else min_per_enterprise
        return allocate(portfolio, lam, budget, strategy=strategy, services=services,
                        min_per_enterprise=lo, **kwargs)

    def __repr__(self) -> str:
        kind = "fixed extraction" if self.fixed else "share"
        cap = "no cap" if self.cap is None else f"cap {self.cap:g} ({self.regime.key})"
        return (f"PreventionFund({kind} {self.share:g} of collected premium, {cap}, "
                f"carry_over={self.carry_over}, min_per_enterprise={self.min_per_enterprise:g})")

    def _repr_html_(self) -> str:
        from .._base.results import text_html

        return text_html(repr(self))


def _check_carried(carried, index):
    if isinstance(carried, pd.Series):
        if index is None:
            raise ValidationError("PreventionFund.budget", [Problem(
                None, "carried_over", "Series", "a number when the budget is not split by group")])
        missing = set(carried.index) - set(index)
        if missing:
            raise ValidationError("PreventionFund.budget", [Problem(
                None, "carried_over", sorted(map(str, missing)), "groups without premium this year")])
        vals = carried.reindex(index).fillna(0.0).astype(float)
        if (vals < 0).any() or not np.isfinite(vals).all():
            raise ValidationError("PreventionFund.budget", [Problem(
                None, "carried_over", carried.tolist(), "amounts >= 0")])
        return vals
    v = float(carried)
    if not (np.isfinite(v) and v >= 0):
        raise ValidationError("PreventionFund.budget",
                              [Problem(None, "carried_over", carried, "a number >= 0")])
    return v
