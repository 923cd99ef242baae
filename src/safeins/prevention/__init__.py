"""The accident-prevention fund (事故预防服务费用): budget, services, response, allocation, evaluation.

>>> import pandas as pd
>>> from safeins.prevention import PreventionFund, ServiceCatalog
>>> pf = pd.DataFrame({"sector": ["mining", "construction"], "headcount": [300, 80]},
...                   index=["E1", "E2"])
>>> quotes = pd.DataFrame({"premium": [90_000.0, 20_000.0]}, index=pf.index)
>>> fund = PreventionFund(share=0.15, regime="national-2025")
>>> budget = fund.budget(quotes)
>>> round(budget, 2)
16500.0
>>> plan = fund.allocate(pf, pd.Series([0.3, 0.05], index=pf.index), budget,
...                      services=ServiceCatalog.load("default"), loss_per_accident=4e5)
>>> round(float(plan.spend.sum()), 6)
16500.0
"""

from .catalog import Effect, SectorProfile, Service, ServiceCatalog
from .fund import PreventionFund
from .optimize import (
    KKTInfo,
    UnspentBudgetWarning,
    allocate_greedy,
    allocate_optimal,
    allocate_proportional,
    split_within,
)
from .plan import (
    STRATEGIES,
    AllocationPlan,
    PlanEvaluation,
    StrategyComparison,
    allocate,
    compare_strategies,
)
from .response import Params, ResponseCurve, ResponseModel

__all__ = [
    "STRATEGIES",
    "AllocationPlan",
    "Effect",
    "KKTInfo",
    "Params",
    "PlanEvaluation",
    "PreventionFund",
    "ResponseCurve",
    "ResponseModel",
    "SectorProfile",
    "Service",
    "ServiceCatalog",
    "StrategyComparison",
    "UnspentBudgetWarning",
    "allocate",
    "allocate_greedy",
    "allocate_optimal",
    "allocate_proportional",
    "compare_strategies",
    "split_within",
]
