"""Allocation strategies, the allocation plan, its evaluation and the strategy comparison.

:func:`allocate` spends a prevention budget over a portfolio with one of six strategies:

========================  =============================================================================
``"equal"``               the same amount per enterprise
``"premium"``             pro rata to collected premium
``"expected_loss"``       pro rata to expected insured loss λ0 L (λ0 if no severity is given)
``"risk_tier"``           high / medium / low tiers of expected loss (2024 notice: 高/中/低 risk
                          classes); each tier's enterprises get ``tier_weights`` shares
``"greedy"``              one service unit at a time where it buys the largest reduction per yuan
``"optimal"``             the exact maximum of the expected reduction (KKT, :func:`allocate_optimal`)
========================  =============================================================================

Every strategy spends exactly the budget and respects every bound ``min_per_enterprise`` <= spend <=
``max_per_enterprise`` (and ``max_share`` × budget); if every enterprise is at its upper bound the
rest is reported as unspent. Within an enterprise, the money is split across services to maximise
its expected reduction (the insurer tailors each service plan, AQ 9010-2019 §6).

>>> import pandas as pd
>>> pf = pd.DataFrame({"sector": ["mining", "construction", "transport"],
...                    "headcount": [200, 100, 50]}, index=["E1", "E2", "E3"])
>>> lam = pd.Series([0.5, 0.3, 0.2], index=pf.index)
>>> plan = allocate(pf, lam, 60_000.0, loss_per_accident=400_000.0)
>>> round(float(plan.spend.sum()), 6)
60000.0
>>> plan.spend.round(0).to_dict()
{'E1': 43537.0, 'E2': 11506.0, 'E3': 4957.0}
>>> allocate(pf, lam, 60_000.0, strategy="equal").spend.tolist()
[20000.0, 20000.0, 20000.0]
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd

from .._base.results import ResultMixin
from .._base.threads import single_thread
from ..errors import Problem, ValidationError
from ._inputs import align, enterprise_frame, premium_series, sector_codes
from .catalog import ServiceCatalog
from .optimize import (
    RowSplit,
    UnspentBudgetWarning,
    _allocate_optimal,
    allocate_greedy,
    allocate_proportional,
)
from .response import ResponseModel

__all__ = [
    "STRATEGIES",
    "AllocationPlan",
    "PlanEvaluation",
    "StrategyComparison",
    "allocate",
    "compare_strategies",
]

STRATEGIES = ("equal", "premium", "expected_loss", "risk_tier", "greedy", "optimal")
OBJECTIVES = ("loss", "accidents", "deaths")
_REPORT_COLUMNS = ("region", "credit_grade", "size_band", "standardization", "blacklisted")


def resolve_catalog(services=None, catalog=None) -> ServiceCatalog:
    """A ServiceCatalog from ``services`` (a catalogue, service codes, or None) and ``catalog``."""
    base = catalog if isinstance(catalog, ServiceCatalog) else ServiceCatalog.load(catalog or "default")
    if services is None:
        return base
    if isinstance(services, ServiceCatalog):
        return services
    return base.select(services)


def _collect(problems: list, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValidationError as err:
        problems.extend(err._problems)
        return None


def allocate(portfolio, lam, budget, *, strategy: str = "optimal", services=None, catalog=None,
             loss_per_accident=None, deaths_per_accident=None, premium=None,
             min_per_enterprise=0.0, max_per_enterprise=np.inf, max_share=None, hazard_share=None,
             objective: str | None = None, by: str | None = None,
             tier_thresholds=(0.5, 0.8), tier_by: str = "quantile", tier_weights=(1.0, 2.0, 4.0),
             greedy_step=None) -> AllocationPlan:
    """Allocate a prevention budget over a portfolio; returns an :class:`AllocationPlan`.

    Parameters
    ----------
    portfolio : Portfolio or DataFrame
        Indexed by enterprise id, with ``sector`` and optionally ``headcount``, ``standardization``,
        ``region``, ``credit_grade`` (used for reporting).
    lam : Series, array or number
        Expected accidents per enterprise in the plan's year, before prevention.
    budget : float or Series
        Yuan to spend; a Series indexed by group (``by``, or the Series' index name, a column of
        the portfolio, e.g. "region") allocates each group's budget within the group.
    strategy : one of ``STRATEGIES``
    services : ServiceCatalog, service codes, or None (the ``catalog``, default "default")
    loss_per_accident, deaths_per_accident : number, Series by enterprise or by sector, or None
        Expected insured loss (yuan) and deaths per accident. Without a loss the losses are not
        reported and the default objective is the number of accidents.
    premium : number, Series or quotes DataFrame (``premium`` column)
        Collected premium; needed by ``strategy="premium"`` and for the loss ratio.
    min_per_enterprise, max_per_enterprise : number or Series
        Bounds on each enterprise's spend (a mandatory minimum service per insured, a cap).
    max_share : float in (0, 1] or None
        No enterprise gets more than this share of its group's budget.
    hazard_share : Series, array or None
        Share of each enterprise's λ driven by major hazards (default: the catalogue's by sector).
    objective : "loss", "accidents" or "deaths"
        What the greedy and optimal strategies maximise the reduction of.
    tier_thresholds, tier_by, tier_weights
        Risk tiers: ``tier_by="quantile"`` (thresholds are quantiles of expected loss) or
        ``"value"`` (thresholds in yuan of expected loss, or in accidents when no loss is given);
        weights of the low, medium and high tiers.
    greedy_step : number or one per service
        Increment of the greedy strategy (default: each service's unit cost).

    Examples
    --------
    >>> import pandas as pd, safeins as si
    >>> pf = pd.DataFrame({"sector": ["mining", "construction"], "headcount": [300, 80]}, index=["E1", "E2"])
    >>> lam = pd.Series([0.3, 0.05], index=pf.index)
    >>> plan = si.allocate(pf, lam, 20_000.0, strategy="optimal", loss_per_accident=4e5)
    >>> round(float(plan.spend.sum()), 2)   # spends exactly the budget
    20000.0
    """
    ctx = _prepare(portfolio, lam, budget, (strategy,), services=services, catalog=catalog,
                   loss_per_accident=loss_per_accident, deaths_per_accident=deaths_per_accident,
                   premium=premium, min_per_enterprise=min_per_enterprise,
                   max_per_enterprise=max_per_enterprise, max_share=max_share,
                   hazard_share=hazard_share, objective=objective, by=by,
                   tier_thresholds=tier_thresholds, tier_by=tier_by, tier_weights=tier_weights,
                   greedy_step=greedy_step)
    return _plan(ctx, strategy)


_ALLOCATE_DEFAULTS = {name: par.default for name, par in
                      inspect.signature(allocate).parameters.items()
                      if par.kind is inspect.Parameter.KEYWORD_ONLY and name != "strategy"}
_ALLOCATE_OPTIONS = frozenset(_ALLOCATE_DEFAULTS)


def _prepare(portfolio, lam, budget, strategies, *, services, catalog, loss_per_accident,
             deaths_per_accident, premium, min_per_enterprise, max_per_enterprise, max_share,
             hazard_share, objective, by, tier_thresholds, tier_by, tier_weights,
             greedy_step) -> dict:
    """Validate the inputs of :func:`allocate` once for ``strategies`` and build what every
    strategy shares (aligned arrays, the response model, the coefficients)."""
    problems: list[Problem] = []
    frame = enterprise_frame(portfolio)
    idx = frame.index
    n = len(idx)
    sector = sector_codes(frame)
    cat = _collect(problems, resolve_catalog, services, catalog)
    lam0 = _collect(problems, align, lam, idx, "lam", sector=sector)
    loss = _collect(problems, align, loss_per_accident, idx, "loss_per_accident", sector=sector,
                    allow_none=True)
    deaths = _collect(problems, align, deaths_per_accident, idx, "deaths_per_accident",
                      sector=sector, allow_none=True)
    prem = _collect(problems, premium_series, premium)
    prem = _collect(problems, align, prem, idx, "premium", sector=sector, allow_none=True)
    lo = _collect(problems, align, min_per_enterprise, idx, "min_per_enterprise")
    hi_raw = max_per_enterprise
    if np.ndim(hi_raw) == 0 and not isinstance(hi_raw, dict) and float(hi_raw) == np.inf:
        hi = np.full(n, np.inf)
    else:
        hi = _collect(problems, align, hi_raw, idx, "max_per_enterprise")
    hz = _collect(problems, align, hazard_share, idx, "hazard_share", sector=sector, allow_none=True)
    if hz is not None and np.any(hz > 1):
        problems.append(Problem(None, "hazard_share", float(hz.max()), "a share between 0 and 1"))
    for strategy in strategies:
        if strategy not in STRATEGIES:
            problems.append(Problem(None, "strategy", strategy, f"one of {', '.join(STRATEGIES)}"))
    if objective is None:
        objective = "loss" if loss is not None else "accidents"
    if objective not in OBJECTIVES:
        problems.append(Problem(None, "objective", objective, f"one of {', '.join(OBJECTIVES)}"))
    elif objective == "loss" and loss_per_accident is None:
        problems.append(Problem(None, "loss_per_accident", None, "required for objective='loss'"))
    elif objective == "deaths" and deaths_per_accident is None:
        problems.append(Problem(None, "deaths_per_accident", None, "required for objective='deaths'"))
    if "premium" in strategies and premium is None:
        problems.append(Problem(None, "premium", None, "required for strategy='premium'"))
    if max_share is not None and not (np.ndim(max_share) == 0 and 0 < float(max_share) <= 1):
        problems.append(Problem(None, "max_share", max_share, "a fraction in (0, 1]"))
    if "risk_tier" in strategies:
        problems.extend(_tier_problems(tier_thresholds, tier_by, tier_weights))
    if lo is not None and hi is not None:
        for i in np.flatnonzero(hi < lo):
            problems.append(Problem(idx[i], "max_per_enterprise", hi[i],
                                    f">= min_per_enterprise ({lo[i]:g})"))
    groups, budgets, by = _collect(problems, _budgets, budget, frame, by) or (None, None, by)
    if problems:
        raise ValidationError("allocate", problems)

    # bounds that cannot be met: one problem per group
    lo_by_group = pd.Series(lo).groupby(groups).sum()
    for g, b in budgets.items():
        if max_share is not None:
            sel = groups == g
            clash = np.flatnonzero(sel & (lo > float(max_share) * b))
            if len(clash):
                problems.append(Problem(idx[clash].tolist(), "max_share", max_share,
                                        f"max_share × budget ({float(max_share) * b:,.2f}) is below "
                                        f"min_per_enterprise for {len(clash)} enterprises"))
        if lo_by_group.get(g, 0.0) > b * (1 + 1e-12):
            where = "the budget" if by is None else f"the budget of {by}={g!r}"
            problems.append(Problem(None if by is None else g, "min_per_enterprise",
                                    float(lo_by_group.get(g, 0.0)),
                                    f"the minimum spend per enterprise adds up to more than {where} "
                                    f"({b:,.2f} yuan)"))
    if problems:
        raise ValidationError("allocate", problems)

    model = ResponseModel(
        cat, sector,
        headcount=frame["headcount"].to_numpy(float) if "headcount" in frame else None,
        standardization=frame["standardization"].to_numpy() if "standardization" in frame else None,
        hazard_share=hz)
    base = {"loss": lam0 * (loss if loss is not None else 1.0), "accidents": lam0,
            "deaths": lam0 * (deaths if deaths is not None else 1.0)}[objective]
    a, k = model.coefficients(base, objective)
    exp_loss = lam0 * loss if loss is not None else lam0
    tiers = _tiers(exp_loss, tier_thresholds, tier_by) if "risk_tier" in strategies else None
    step = (np.array([cat.services[s].unit_cost for s in cat.codes]) if greedy_step is None
            else greedy_step)
    return dict(frame=frame, idx=idx, n=n, sector=sector, cat=cat, model=model, a=a, k=k,
                lam0=lam0, loss=loss, deaths=deaths, prem=prem, lo=lo, hi=hi, groups=groups,
                budgets=budgets, by=by, max_share=max_share, objective=objective,
                exp_loss=exp_loss, tiers=tiers, tier_weights=tier_weights, step=step)


def _plan(ctx: dict, strategy: str) -> AllocationPlan:
    """The plan of one strategy on inputs checked by :func:`_prepare`."""
    frame, n, cat = (ctx[key] for key in ("frame", "n", "cat"))
    lo, hi, prem, groups, budgets, by = (ctx[key] for key in ("lo", "hi", "prem", "groups",
                                                             "budgets", "by"))
    max_share, exp_loss, step, tier_weights = (ctx[key] for key in ("max_share", "exp_loss",
                                                                   "step", "tier_weights"))
    tiers = ctx["tiers"] if strategy == "risk_tier" else None

    x = np.zeros((n, len(cat.codes)))
    unspent = {}
    notes: list[str] = []
    for g, b in budgets.items():
        sel = np.flatnonzero(groups == g)
        a_g, k_g, split = _group_split(ctx, g, sel)
        hi_g = hi[sel] if max_share is None else np.minimum(hi[sel], float(max_share) * b)
        # one BLAS thread: the solvers' dot products are over 10^5 numbers or thinner, where
        # waking a pool costs more than it saves (on a busy machine, several times more)
        with warnings.catch_warnings(record=True) as caught, single_thread():
            warnings.simplefilter("always", UnspentBudgetWarning)
            x[sel] = _solve(strategy, a_g, k_g, b, lo[sel], hi_g, prem=None if prem is None
                            else prem[sel], exp_loss=exp_loss[sel],
                            tiers=None if tiers is None else tiers[sel], tier_weights=tier_weights,
                            step=step, split=split)
        left = b - float(x[sel].sum())
        unspent[g] = left if left > 1e-9 * max(b, 1.0) else 0.0
        if unspent[g] > 0:
            where = "" if by is None else f" in {by}={g!r}"
            notes.append(f"{unspent[g]:,.2f} yuan{where} left unspent: every enterprise is at its "
                         "upper bound (raise max_per_enterprise / max_share or carry it over)")
        for w in caught:
            if not issubclass(w.category, UnspentBudgetWarning):
                warnings.warn(w.message, w.category, stacklevel=3)
    for note in notes:
        warnings.warn(note, UnspentBudgetWarning, stacklevel=3)
    return AllocationPlan(
        frame=frame, sector=ctx["sector"], model=ctx["model"], spend=x, lam0=ctx["lam0"],
        loss=ctx["loss"], deaths=ctx["deaths"], premium=prem, strategy=strategy,
        objective=ctx["objective"], budgets=budgets, by=by, groups=groups, lower=lo, upper=hi,
        unspent=unspent, notes=notes, tiers=tiers)


def _group_split(ctx: dict, g, sel):
    """(a, k, RowSplit of ln a - ln k) of a budget group, made once for all the strategies."""
    cache = ctx.setdefault("splits", {})
    if g not in cache:
        a, k = ctx["a"][sel], ctx["k"][sel]
        with np.errstate(divide="ignore"):
            cache[g] = (a, k, RowSplit(np.log(a) - np.log(k), k))
    return cache[g]


def _budgets(budget, frame, by):
    if isinstance(budget, pd.Series):
        by = by or budget.index.name
        if by is None or by not in frame.columns:
            raise ValidationError("allocate", [Problem(None, "by", by, "a budget by group needs `by` (or "
                                  "the Series' index name) to be a column of the portfolio")])
        groups = frame[by].astype(object).to_numpy()
        have, need = set(budget.index), set(pd.unique(groups))
        problems = []
        if need - have:
            problems.append(Problem(None, "budget", sorted(map(str, need - have)),
                                    f"no budget for these values of {by}"))
        if have - need:
            problems.append(Problem(None, "budget", sorted(map(str, have - need)),
                                    f"a budget but no enterprise for these values of {by}"))
        vals = pd.to_numeric(budget, errors="coerce")
        for g, v in vals.items():
            if not (np.isfinite(v) and v >= 0):
                problems.append(Problem(g, "budget", budget[g], "a finite number >= 0 (yuan)"))
        if problems:
            raise ValidationError("allocate", problems)
        return groups, {g: float(v) for g, v in vals.items()}, by
    try:
        b = float(budget)
    except (TypeError, ValueError):
        raise ValidationError("allocate", [Problem(None, "budget", budget,
                                                   "a number or a Series by group")]) from None
    if not (np.isfinite(b) and b >= 0):
        raise ValidationError("allocate", [Problem(None, "budget", budget, "a finite number >= 0 (yuan)")])
    return np.zeros(len(frame), dtype=int), {0: b}, None


def _tier_problems(thresholds, tier_by, weights):
    out = []
    t = np.asarray(thresholds, dtype=float)
    w = np.asarray(weights, dtype=float)
    if tier_by not in ("quantile", "value"):
        out.append(Problem(None, "tier_by", tier_by, "'quantile' or 'value'"))
    if t.shape != (2,) or not np.all(np.isfinite(t)) or t[0] > t[1] or t[0] < 0 or (
            tier_by == "quantile" and t[1] > 1):
        out.append(Problem(None, "tier_thresholds", thresholds,
                           "two increasing thresholds (low|medium, medium|high); quantiles in [0, 1]"))
    if w.shape != (3,) or not np.all(np.isfinite(w) & (w >= 0)) or not w.any():
        out.append(Problem(None, "tier_weights", weights, "three weights >= 0 (low, medium, high)"))
    return out


def _tiers(exp_loss, thresholds, tier_by) -> np.ndarray:
    t = np.asarray(thresholds, dtype=float)
    cut = np.quantile(exp_loss, t) if tier_by == "quantile" else t
    tier = np.where(exp_loss >= cut[1], 2, np.where(exp_loss >= cut[0], 1, 0))
    return np.array(["low", "medium", "high"], dtype=object)[tier]


def _solve(strategy, a, k, b, lo, hi, *, prem, exp_loss, tiers, tier_weights, step, split):
    if strategy == "optimal":
        return _allocate_optimal(a, k, b, lo, hi, split=split)
    if strategy == "greedy":
        return allocate_greedy(a, k, b, lo, hi, step=step)
    if strategy == "equal":
        w = np.ones(len(a))
    elif strategy == "premium":
        w = prem
    elif strategy == "expected_loss":
        w = exp_loss
    else:
        tw = dict(zip(("low", "medium", "high"), map(float, tier_weights), strict=True))
        w = np.array([tw[t] for t in tiers])
    totals = allocate_proportional(w, b, lo, hi)
    return split.fill(totals)


class AllocationPlan(ResultMixin):
    """Who gets how much of the prevention budget, on which services, and what it is expected to buy.

    Built by :func:`allocate` or :meth:`PreventionFund.allocate`. ``spend`` is a Series (yuan per
    enterprise); :meth:`to_frame` has one row per enterprise with spend by service and λ before and
    after; :meth:`spend_by` totals by sector / region / credit grade; :meth:`evaluate` gives the
    expected reductions with parameter-uncertainty intervals; :meth:`step` gives next year's λ for
    the simulation engine.

    Examples
    --------
    >>> import pandas as pd, safeins as si
    >>> pf = pd.DataFrame({"sector": ["mining", "construction"], "headcount": [300, 80]}, index=["E1", "E2"])
    >>> lam = pd.Series([0.3, 0.05], index=pf.index)
    >>> plan = si.allocate(pf, lam, 20_000.0, strategy="equal", loss_per_accident=4e5)
    >>> plan.spend.round(2).to_dict()
    {'E1': 10000.0, 'E2': 10000.0}
    """

    def __init__(self, *, frame, sector, model, spend, lam0, loss, deaths, premium, strategy,
                 objective, budgets, by, groups, lower, upper, unspent, notes, tiers):
        self.frame = frame
        self.index = frame.index
        self.sector = sector
        self.model = model
        self.services = model.services
        self.x = spend
        self.lam0 = lam0
        self.loss = loss
        self.deaths = deaths
        self.premium = premium
        self.strategy = strategy
        self.objective = objective
        self.budgets = budgets
        self.by = by
        self.groups = groups
        self.lower = lower
        self.upper = upper
        self.unspent_by_group = unspent
        self.notes = notes
        self.tiers = tiers

    # -- amounts ---------------------------------------------------------------------------------
    @property
    def spend(self) -> pd.Series:
        """Yuan per enterprise."""
        return pd.Series(self.x.sum(axis=1), index=self.index, name="spend")

    @property
    def budget(self) -> float:
        """Total budget (all groups)."""
        return float(sum(self.budgets.values()))

    @property
    def spent(self) -> float:
        return float(self.x.sum())

    @property
    def unspent(self) -> float:
        """Money no enterprise could take because all were at their upper bound."""
        return float(sum(self.unspent_by_group.values()))

    def spent_by_group(self) -> pd.Series | float:
        """Spend per budget group (a float when the budget was not split by group)."""
        if self.by is None:
            return self.spent
        return pd.Series(self.x.sum(axis=1)).groupby(self.groups).sum().rename_axis(self.by)

    # -- effects ---------------------------------------------------------------------------------
    def lam_after(self, params=None, lag=None):
        F, _ = self.model.fractions(self.x, params, lag)
        return self.lam0 * (1.0 - F)

    def step(self, lam=None, *, offset: int = 0, seed=None) -> pd.Series:
        """Expected accidents per enterprise in the year ``offset`` years after the plan's year.

        ``offset=0`` (default) is the plan's own year: λ0 reduced by the services acting without
        lag. ``offset=1`` applies the services with a one-year lag to ``lam`` (next year's baseline,
        required). With ``seed`` the effect parameters are drawn once (one scenario of parameter
        uncertainty) instead of taken at their central values.

        >>> import pandas as pd
        >>> pf = pd.DataFrame({"sector": ["mining"]}, index=["E1"])
        >>> plan = allocate(pf, pd.Series([0.5], index=pf.index), 10_000.0, services=["training"])
        >>> round(float(plan.step().iloc[0]), 6)        # 0.5 × (1 - 0.04 × (1 - e^(-10000/6000)))
        0.483778
        """
        if lam is None:
            if offset != 0:
                raise ValidationError("AllocationPlan.step", [Problem(
                    None, "lam", None, "next year's baseline λ is required for offset >= 1")])
            base = self.lam0
        else:
            base = align(lam, self.index, "lam", sector=self.sector, what="AllocationPlan.step")
        if offset not in (0, 1):
            raise ValidationError("AllocationPlan.step", [Problem(None, "offset", offset, "0 or 1")])
        params = None
        if seed is not None:
            drawn = self.model.draw(1, seed)
            params = type(drawn)(drawn.r[0], drawn.k[0])
        F, _ = self.model.fractions(self.x, params, lag=offset)
        return pd.Series(base * (1.0 - F), index=self.index, name="lam")

    def severity_factor(self, *, offset: int = 0) -> pd.Series:
        """Multiplier on the expected loss per accident from the severity services (<= 1)."""
        F, V = self.model.fractions(self.x, lag=offset)
        return pd.Series((1.0 - F - V) / (1.0 - F), index=self.index, name="severity_factor")

    def evaluate(self, *, n_draws: int = 500, seed=None, level: float = 0.9) -> PlanEvaluation:
        """Expected reductions and ``level`` intervals over ``n_draws`` parameter draws.

        >>> import pandas as pd
        >>> pf = pd.DataFrame({"sector": ["mining", "construction"]}, index=["E1", "E2"])
        >>> plan = allocate(pf, pd.Series([0.5, 0.2], index=pf.index), 20_000.0,
        ...                 loss_per_accident=4e5, deaths_per_accident=1.2)
        >>> ev = plan.evaluate(n_draws=200, seed=1)
        >>> list(ev.to_frame().columns)
        ['central', 'mean', 'lower', 'upper']
        >>> bool(ev.to_frame().loc["losses_avoided", "lower"] < ev.expected_losses_avoided)
        True
        """
        return PlanEvaluation(self, n_draws=n_draws, seed=seed, level=level)

    # -- tables ----------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        out = pd.DataFrame(index=self.index)
        out["sector"] = self.sector
        for col in _REPORT_COLUMNS:
            if col in self.frame.columns:
                out[col] = self.frame[col].to_numpy()
        if self.by is not None and self.by not in out:
            out[self.by] = self.groups
        if self.tiers is not None:
            out["risk_tier"] = self.tiers
        out["spend"] = self.x.sum(axis=1)
        for j, s in enumerate(self.services):
            out[f"spend_{s}"] = self.x[:, j]
        out["lower"] = self.lower
        out["upper"] = self.upper
        out["lam_before"] = self.lam0
        out["lam_after"] = self.lam_after()
        if self.loss is not None:
            F, V = self.model.fractions(self.x)
            out["expected_loss_before"] = self.lam0 * self.loss
            out["expected_loss_after"] = self.lam0 * self.loss * (1.0 - F - V)
        return out

    def spend_by(self, column: str = "sector") -> pd.DataFrame:
        """Spend by service and in total for each value of ``column`` (sector, region, ...)."""
        frame = self.to_frame()
        if column not in frame.columns:
            raise ValidationError("AllocationPlan.spend_by", [Problem(
                None, "column", column, f"a column of to_frame(): {', '.join(frame.columns)}")])
        cols = ["spend", *(f"spend_{s}" for s in self.services)]
        out = frame.groupby(column, observed=True)[cols].sum()
        out.insert(0, "enterprises", frame.groupby(column, observed=True).size())
        out["share"] = out["spend"] / max(self.spent, 1e-300)
        return out

    def summary(self) -> str:
        F, V = self.model.fractions(self.x)
        acc = float((self.lam0 * F).sum())
        lines = [
            f"AllocationPlan: strategy={self.strategy!r}, objective={self.objective!r}, "
            f"{len(self.index)} enterprises, services: {', '.join(self.services)}",
            f"  budget {self.budget:,.2f} yuan; spent {self.spent:,.2f}; unspent {self.unspent:,.2f}",
            f"  enterprises reached {int((self.x.sum(axis=1) > 0).sum())}; "
            f"expected accidents {self.lam0.sum():.4g} -> {self.lam0.sum() - acc:.4g} (central)",
        ]
        if self.loss is not None:
            el = self.lam0 * self.loss
            avoided = float((el * (F + V)).sum())
            lines.append(f"  expected insured loss {el.sum():,.0f} -> {el.sum() - avoided:,.0f}; "
                         f"benefit/cost {avoided / self.spent if self.spent else float('nan'):.3f}")
        lines += [f"  note: {m}" for m in self.notes]
        if self.model.catalog.illustrative:
            lines.append(f"  effect parameters: catalogue {self.model.catalog.name!r} "
                         "(ILLUSTRATIVE defaults)")
        return "\n".join(lines)

    def plot(self, ax=None, *, by: str = "sector"):
        """Stacked bars of spend by service for each value of ``by``."""
        from .._base.plotting import axes

        ax = axes(ax)
        table = self.spend_by(by)
        bottom = np.zeros(len(table))
        for s in self.services:
            vals = table[f"spend_{s}"].to_numpy()
            ax.bar(table.index.astype(str), vals, bottom=bottom, label=s)
            bottom += vals
        ax.set_ylabel("spend (yuan)")
        ax.set_title(f"prevention spend by {by} ({self.strategy})")
        ax.legend(fontsize="small")
        ax.tick_params(axis="x", labelrotation=45)
        return ax


class PlanEvaluation(ResultMixin):
    """Expected and interval reductions of an :class:`AllocationPlan` under parameter uncertainty.

    ``central`` uses the catalogue's central parameters (mean r, median k); ``mean``, ``lower``
    and ``upper`` are the mean and the equal-tailed ``level`` interval over the parameter draws.
    Losses are insured losses in yuan; the loss ratio is expected loss / collected premium.

    Examples
    --------
    >>> import pandas as pd, safeins as si
    >>> pf = pd.DataFrame({"sector": ["mining", "construction"], "headcount": [300, 80]}, index=["E1", "E2"])
    >>> lam = pd.Series([0.3, 0.05], index=pf.index)
    >>> ev = si.allocate(pf, lam, 20_000.0, loss_per_accident=4e5).evaluate(seed=1)
    >>> bool(ev.to_frame().loc["losses_avoided", "mean"] > 0)
    True
    """

    metrics = ("spend", "accidents_avoided", "deaths_avoided", "losses_avoided", "benefit_cost",
               "loss_ratio_before", "loss_ratio_after")

    def __init__(self, plan: AllocationPlan, *, n_draws: int, seed, level: float):
        if not (isinstance(n_draws, int | np.integer) and not isinstance(n_draws, bool)
                and n_draws >= 2):
            raise ValidationError("evaluate", [Problem(None, "n_draws", n_draws, "an int >= 2")])
        if not (isinstance(level, int | float | np.floating) and not isinstance(level, bool)
                and 0 < level < 1):
            raise ValidationError("evaluate", [Problem(None, "level", level, "in (0, 1)")])
        self.plan = plan
        self.level = level
        self.n_draws = int(n_draws)
        m = plan.model
        weights = self._weights()
        # ResponseModel.totals multiplies (draws, enterprises) blocks by 3 weight columns: one
        # BLAS thread is as fast on a quiet machine and 2x faster on a busy one
        with single_thread():
            central = self._metrics(*m.totals(plan.x, weights))
            draws = self._metrics(*m.totals(plan.x, weights, m.draw(n_draws, seed)))
        self.draws = pd.DataFrame(draws)
        q = (1 - level) / 2
        self.table = pd.DataFrame({
            "central": pd.Series({k: float(np.asarray(v).reshape(-1)[0]) for k, v in central.items()}),
            "mean": self.draws.mean(),
            "lower": self.draws.quantile(q),
            "upper": self.draws.quantile(1 - q),
        }).loc[list(self.metrics)]

    def _weights(self) -> np.ndarray:
        """Per-enterprise weights of the totals: λ0 (accidents), λ0 d (deaths), λ0 L (loss)."""
        p = self.plan
        ones = np.ones_like(p.lam0)
        return np.column_stack([p.lam0, p.lam0 * (p.deaths if p.deaths is not None else ones),
                                p.lam0 * (p.loss if p.loss is not None else ones)])

    def _metrics(self, F, V):
        """Metrics from the weighted totals of :meth:`ResponseModel.totals` (last axis: the
        three weights of :meth:`_weights`)."""
        p = self.plan
        spent = p.spent
        F, V = np.atleast_2d(F), np.atleast_2d(V)
        out = {"spend": np.full(len(F), spent), "accidents_avoided": F[:, 0]}
        nan = np.full_like(out["accidents_avoided"], np.nan)
        out["deaths_avoided"] = F[:, 1] + V[:, 1] if p.deaths is not None else nan
        if p.loss is not None:
            el = p.lam0 * p.loss
            avoided = F[:, 2] + V[:, 2]
            out["losses_avoided"] = avoided
            out["benefit_cost"] = avoided / spent if spent > 0 else nan
            if p.premium is not None and p.premium.sum() > 0:
                out["loss_ratio_before"] = np.full_like(avoided, el.sum() / p.premium.sum())
                out["loss_ratio_after"] = (el.sum() - avoided) / p.premium.sum()
            else:
                out["loss_ratio_before"] = out["loss_ratio_after"] = nan
        else:
            for name in ("losses_avoided", "benefit_cost", "loss_ratio_before", "loss_ratio_after"):
                out[name] = nan
        return out

    @property
    def accidents_avoided(self) -> float:
        """Expected accidents avoided (mean over parameter draws)."""
        return float(self.table.loc["accidents_avoided", "mean"])

    @property
    def deaths_avoided(self) -> float:
        return float(self.table.loc["deaths_avoided", "mean"])

    @property
    def expected_losses_avoided(self) -> float:
        """Expected insured losses avoided, yuan (mean over parameter draws)."""
        return float(self.table.loc["losses_avoided", "mean"])

    @property
    def benefit_cost(self) -> float:
        return float(self.table.loc["benefit_cost", "mean"])

    def interval(self, metric: str) -> tuple[float, float]:
        """The ``level`` interval of a metric."""
        row = self.table.loc[metric]
        return float(row["lower"]), float(row["upper"])

    def by(self, column: str = "sector") -> pd.DataFrame:
        """Spend, accidents and losses avoided (central parameters) by sector, region, credit grade."""
        p = self.plan
        F, V = p.model.fractions(p.x)
        frame = p.to_frame()
        if column not in frame.columns:
            raise ValidationError("PlanEvaluation.by", [Problem(
                None, "column", column, f"a column of plan.to_frame(): {', '.join(frame.columns)}")])
        t = pd.DataFrame({column: frame[column].to_numpy(), "spend": p.x.sum(axis=1),
                          "accidents_avoided": p.lam0 * F}, index=p.index)
        if p.loss is not None:
            t["losses_avoided"] = p.lam0 * p.loss * (F + V)
        if p.deaths is not None:
            t["deaths_avoided"] = p.lam0 * p.deaths * (F + V)
        out = t.groupby(column, observed=True).sum()
        if "losses_avoided" in out:
            with np.errstate(invalid="ignore", divide="ignore"):
                out["benefit_cost"] = out["losses_avoided"] / out["spend"]
        return out

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        t = self.table
        lines = [f"PlanEvaluation ({self.plan.strategy}): {self.n_draws} parameter draws, "
                 f"{self.level:.0%} intervals"]
        for name in self.metrics:
            r = t.loc[name]
            if np.isnan(r["mean"]):
                continue
            lines.append(f"  {name:<18} {r['mean']:>16,.4g}  [{r['lower']:,.4g}, {r['upper']:,.4g}]")
        return "\n".join(lines)

    def plot(self, ax=None, *, metric: str | None = None):
        """Histogram of a metric over the parameter draws, with its interval."""
        from .._base.plotting import axes

        ax = axes(ax)
        metric = metric or ("losses_avoided" if self.plan.loss is not None else "accidents_avoided")
        vals = self.draws[metric].to_numpy()
        ax.hist(vals, bins=40)
        lo, hi = self.interval(metric)
        for v in (lo, hi):
            ax.axvline(v, color="k", linestyle="--")
        ax.set_xlabel(metric)
        ax.set_title(f"{metric}: {self.level:.0%} interval over parameter draws")
        return ax


class StrategyComparison(ResultMixin):
    """One row per strategy: spend, expected reductions with intervals, benefit/cost, loss ratio.

    Examples
    --------
    >>> import pandas as pd, safeins as si
    >>> pf = pd.DataFrame({"sector": ["mining", "construction"], "headcount": [300, 80]}, index=["E1", "E2"])
    >>> lam = pd.Series([0.3, 0.05], index=pf.index)
    >>> cmp = si.compare_strategies(pf, lam, 20_000.0, ["equal", "optimal"], loss_per_accident=4e5)
    >>> list(cmp.to_frame().index)
    ['equal', 'optimal']
    """

    def __init__(self, table: pd.DataFrame, plans: dict, evaluations: dict):
        self.table = table
        self.plans = plans
        self.evaluations = evaluations

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> pd.DataFrame:
        cols = [c for c in ("spent", "accidents_avoided", "losses_avoided", "benefit_cost",
                            "vs_optimal") if c in self.table and self.table[c].notna().any()]
        return self.table[cols]

    def plot(self, ax=None):
        """Bars of the objective's expected reduction per strategy with interval whiskers."""
        from .._base.plotting import axes

        ax = axes(ax)
        metric = "losses_avoided" if self.table["losses_avoided"].notna().any() else "accidents_avoided"
        t = self.table
        err = np.vstack([t[metric] - t[f"{metric}_lower"], t[f"{metric}_upper"] - t[metric]])
        ax.bar(t.index.astype(str), t[metric], yerr=err, capsize=4)
        ax.set_ylabel(metric)
        ax.set_title("prevention strategies compared")
        ax.tick_params(axis="x", labelrotation=30)
        return ax


def compare_strategies(portfolio, lam, budget, strategies=STRATEGIES, *, n_draws: int = 200,
                       seed=0, level: float = 0.9, **kwargs) -> StrategyComparison:
    """Allocate the same budget with several strategies and evaluate them on the same draws.

    The same seed is used for every strategy (common random numbers), so differences between
    strategies are not blurred by sampling noise. ``kwargs`` go to :func:`allocate`.

    >>> import pandas as pd
    >>> pf = pd.DataFrame({"sector": ["mining", "construction", "transport", "fireworks"]},
    ...                   index=["E1", "E2", "E3", "E4"])
    >>> lam = pd.Series([0.5, 0.2, 0.1, 0.05], index=pf.index)
    >>> cmp = compare_strategies(pf, lam, 40_000.0, ["equal", "optimal"], loss_per_accident=4e5)
    >>> t = cmp.to_frame()
    >>> bool(t.loc["optimal", "losses_avoided"] >= t.loc["equal", "losses_avoided"])
    True
    """
    strategies = [strategies] if isinstance(strategies, str) else list(strategies)
    bad = [s for s in strategies if s not in STRATEGIES]
    if bad or not strategies:
        raise ValidationError("compare_strategies", [Problem(None, "strategies", bad or strategies,
                                                             f"a list of {', '.join(STRATEGIES)}")])
    unknown = set(kwargs) - _ALLOCATE_OPTIONS
    if unknown:
        raise ValidationError("compare_strategies", [Problem(
            None, "kwargs", sorted(unknown), f"options of allocate: {', '.join(sorted(_ALLOCATE_OPTIONS))}")])
    # the inputs are checked and aligned once; every strategy solves on the same arrays
    options = {**_ALLOCATE_DEFAULTS, **kwargs}
    ctx = _prepare(portfolio, lam, budget, tuple(strategies), **options)
    plans, evals, rows = {}, {}, {}
    with single_thread():  # thin matrix products (see _plan and PlanEvaluation), pools set once
        for s in strategies:
            plans[s] = _plan(ctx, s)
            evals[s] = plans[s].evaluate(n_draws=n_draws, seed=seed, level=level)
    for s in strategies:
        plan, ev = plans[s], evals[s]
        t = ev.table
        row = {"spent": plan.spent, "unspent": plan.unspent,
               "enterprises_reached": int((plan.x.sum(axis=1) > 0).sum())}
        for m in ("accidents_avoided", "deaths_avoided", "losses_avoided"):
            row[m] = t.loc[m, "mean"]
            row[f"{m}_lower"] = t.loc[m, "lower"]
            row[f"{m}_upper"] = t.loc[m, "upper"]
            row[f"{m}_central"] = t.loc[m, "central"]
        row["benefit_cost"] = t.loc["benefit_cost", "mean"]
        row["loss_ratio_after"] = t.loc["loss_ratio_after", "mean"]
        rows[s] = row
    table = pd.DataFrame(rows).T.rename_axis("strategy")
    obj = {"loss": "losses_avoided", "accidents": "accidents_avoided",
           "deaths": "deaths_avoided"}[next(iter(plans.values())).objective]
    if "optimal" in plans:
        table["vs_optimal"] = table[f"{obj}_central"] / table.loc["optimal", f"{obj}_central"]
    return StrategyComparison(table.astype(float), plans, evals)
