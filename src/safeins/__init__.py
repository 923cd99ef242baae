"""safeins: actuarial tools for China's work-safety liability insurance (安全生产责任保险).

The public API is re-exported here and loaded lazily (PEP 562), so ``import safeins`` is fast and
heavy dependencies (pandas, scipy, statsmodels, matplotlib, dask) load only when first used.

>>> import safeins as si
>>> si.sectors.get("hazardous_chemicals").name_zh
'危险化学品'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "SafeinsError": "safeins.errors",
    "ValidationError": "safeins.errors",
    "ConfigError": "safeins.errors",
    "ConvergenceError": "safeins.errors",
    "RegimeBreachError": "safeins.errors",
    # foundation
    "Sector": "safeins.sectors",
    "Regime": "safeins.regimes",
    "Finding": "safeins.regimes",
    "Portfolio": "safeins.portfolio",
    "AccidentHistory": "safeins.portfolio",
    "HazardHistory": "safeins.portfolio",
    "accident_grade": "safeins.portfolio",
    "exposure_table": "safeins.portfolio",
    # distributions
    "Poisson": "safeins.distributions",
    "NegativeBinomial": "safeins.distributions",
    "Binomial": "safeins.distributions",
    "Geometric": "safeins.distributions",
    "Logarithmic": "safeins.distributions",
    "ExtendedTruncatedNB": "safeins.distributions",
    "ZeroTruncated": "safeins.distributions",
    "ZeroModified": "safeins.distributions",
    "FrequencyDistribution": "safeins.distributions",
    "Exponential": "safeins.distributions",
    "Gamma": "safeins.distributions",
    "LogNormal": "safeins.distributions",
    "Weibull": "safeins.distributions",
    "Pareto": "safeins.distributions",
    "GeneralizedPareto": "safeins.distributions",
    "Burr": "safeins.distributions",
    "LogLogistic": "safeins.distributions",
    "InverseGaussian": "safeins.distributions",
    "Empirical": "safeins.distributions",
    "Spliced": "safeins.distributions",
    "Mixture": "safeins.distributions",
    "ScipySeverity": "safeins.distributions",
    "Severity": "safeins.distributions",
    "as_severity": "safeins.distributions",
    "fit_frequency": "safeins.distributions",
    "FrequencyFit": "safeins.distributions",
    "fit_severity": "safeins.distributions",
    "SeverityFit": "safeins.distributions",
    "compare_severity": "safeins.distributions",
    # coverage modifications and compound losses
    "Coverage": "safeins.coverage",
    "AggregateCoverage": "safeins.coverage",
    "CoveredSeverity": "safeins.coverage",
    "discretize": "safeins.discretization",
    "Aggregate": "safeins.aggregate",
    # frequency and severity GLMs
    "FrequencyGLM": "safeins.models.frequency_glm",
    "compare_frequency_models": "safeins.models.frequency_glm",
    "lorenz_curve": "safeins.models.frequency_glm",
    "gini": "safeins.models.frequency_glm",
    "SeverityGLM": "safeins.models.severity_glm",
    "fit_severity_by_sector": "safeins.models.severity_glm",
    # the accident model and the policy
    "AccidentModel": "safeins.models.accident",
    "InsuredAccidentLoss": "safeins.models.accident",
    "PolicyCoverage": "safeins.policy",
    # credibility and experience rating
    "Buhlmann": "safeins.models.credibility",
    "BuhlmannStraub": "safeins.models.credibility",
    "HierarchicalCredibility": "safeins.models.credibility",
    "HachemeisterRegression": "safeins.models.credibility",
    "limited_fluctuation_standard": "safeins.models.credibility",
    "ExperienceRating": "safeins.rating.experience",
    # premium principles, loadings, bonus-malus
    "ExpectedValue": "safeins.rating.principles",
    "StandardDeviation": "safeins.rating.principles",
    "Variance": "safeins.rating.principles",
    "ExponentialUtility": "safeins.rating.principles",
    "Esscher": "safeins.rating.principles",
    "WangTransform": "safeins.rating.principles",
    "TVaRPrinciple": "safeins.rating.principles",
    "Distortion": "safeins.rating.principles",
    "Loadings": "safeins.rating.loadings",
    "BonusMalus": "safeins.rating.bonus_malus",
    "Tariff": "safeins.rating.tariff",
    "FloatingRule": "safeins.rating.floating",
    "Quotes": "safeins.rating.quotes",
    "lemaire_table": "safeins.rating.bonus_malus",
    # the embedded demo
    "run_demo": "safeins.demo",
    # the prevention fund
    "PreventionFund": "safeins.prevention",
    "ServiceCatalog": "safeins.prevention",
    "ResponseCurve": "safeins.prevention",
    "ResponseModel": "safeins.prevention",
    "AllocationPlan": "safeins.prevention",
    "PlanEvaluation": "safeins.prevention",
    "StrategyComparison": "safeins.prevention",
    "allocate": "safeins.prevention",
    "allocate_optimal": "safeins.prevention",
    "allocate_proportional": "safeins.prevention",
    "allocate_greedy": "safeins.prevention",
    "split_within": "safeins.prevention",
    "compare_strategies": "safeins.prevention",
}

# modules reachable under a short name: si.principles is safeins.rating.principles
_ALIASES: dict[str, str] = {
    "principles": "safeins.rating.principles",
}

# subpackages and modules reachable as attributes: si.sectors, si.datasets, ...
_SUBMODULES = {
    "errors", "sectors", "regimes", "portfolio", "datasets", "plotting", "distributions",
    "policy", "prevention", "demo",
}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, *_ALIASES, "__version__"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"safeins.{name}")
    elif name in _ALIASES:
        value = importlib.import_module(_ALIASES[name])
    else:
        raise AttributeError(f"module 'safeins' has no attribute {name!r}")
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


def __dir__():
    return __all__
