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
    # hardening (issue 11): long runs need consent
    "WorkLimitError": "safeins.errors",
    # foundation
    "Sector": "safeins.domain.sectors",
    "Regime": "safeins.domain.regimes",
    "Finding": "safeins.domain.regimes",
    "Portfolio": "safeins.domain.portfolio",
    "AccidentHistory": "safeins.domain.portfolio",
    "HazardHistory": "safeins.domain.portfolio",
    "accident_grade": "safeins.domain.portfolio",
    "exposure_table": "safeins.domain.portfolio",
    # reportable accidents vs minor claim events (calib)
    "REPORTABLE_LOSS_THRESHOLD": "safeins.domain.portfolio",
    # distributions
    "Poisson": "safeins.losses",
    "NegativeBinomial": "safeins.losses",
    "Binomial": "safeins.losses",
    "Geometric": "safeins.losses",
    "Logarithmic": "safeins.losses",
    "ExtendedTruncatedNB": "safeins.losses",
    "ZeroTruncated": "safeins.losses",
    "ZeroModified": "safeins.losses",
    "FrequencyDistribution": "safeins.losses",
    "Exponential": "safeins.losses",
    "Gamma": "safeins.losses",
    "LogNormal": "safeins.losses",
    "Weibull": "safeins.losses",
    "Pareto": "safeins.losses",
    "GeneralizedPareto": "safeins.losses",
    "Burr": "safeins.losses",
    "LogLogistic": "safeins.losses",
    "InverseGaussian": "safeins.losses",
    "Empirical": "safeins.losses",
    "Spliced": "safeins.losses",
    "Mixture": "safeins.losses",
    "ScipySeverity": "safeins.losses",
    "Severity": "safeins.losses",
    "as_severity": "safeins.losses",
    "fit_frequency": "safeins.losses",
    "FrequencyFit": "safeins.losses",
    "fit_severity": "safeins.losses",
    "SeverityFit": "safeins.losses",
    "compare_severity": "safeins.losses",
    # coverage modifications and compound losses
    "Coverage": "safeins.losses.coverage",
    "AggregateCoverage": "safeins.losses.coverage",
    "CoveredSeverity": "safeins.losses.coverage",
    "discretize": "safeins.losses.discretization",
    "Aggregate": "safeins.losses.aggregate",
    # frequency and severity GLMs
    "FrequencyGLM": "safeins.models.frequency_glm",
    "compare_frequency_models": "safeins.models.glm_compare",
    "lorenz_curve": "safeins.models.glm_compare",
    "gini": "safeins.models.glm_compare",
    "SeverityGLM": "safeins.models.severity_glm",
    "fit_severity_by_sector": "safeins.models.severity_glm",
    # the accident model and the policy
    "AccidentModel": "safeins.models.accident",
    "InsuredAccidentLoss": "safeins.models.accident",
    "PolicyCoverage": "safeins.models.policy",
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
    # pricing that differentiates: the prior year's record as GLM factors, the demo's pipeline
    "with_prior_year": "safeins.rating.history",
    "price_book": "safeins.demo",
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
    # the report (HTML page with embedded figures) and result display
    "Report": "safeins.report",
    "demo_report": "safeins.report",
    "stress_section": "safeins.report",
    "Summary": "safeins._base.results",
    # simulation and stress tests
    "Scheme": "safeins.stress",
    "Scenario": "safeins.stress",
    "stress_test": "safeins.stress",
    "compare": "safeins.stress",
    "StressResult": "safeins.stress",
    "Comparison": "safeins.stress",
    "SimulationResult": "safeins.simulation",
    "free_workspaces": "safeins.simulation",
}

# modules reachable as attributes under a short name: si.sectors is safeins.domain.sectors,
# si.principles is safeins.rating.principles, ...
_MODULES: dict[str, str] = {
    "errors": "safeins.errors",
    "sectors": "safeins.domain.sectors",
    "regimes": "safeins.domain.regimes",
    "portfolio": "safeins.domain.portfolio",
    "datasets": "safeins.domain.datasets",
    "distributions": "safeins.losses",
    "losses": "safeins.losses",
    "policy": "safeins.models.policy",
    "principles": "safeins.rating.principles",
    "prevention": "safeins.prevention",
    "plotting": "safeins._base.plotting",
    "demo": "safeins.demo",
    "report": "safeins.report",
    "scenarios": "safeins.stress.scenarios",
}

__all__ = sorted([*_EXPORTS, *_MODULES, "__version__"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'safeins' has no attribute {name!r}")
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


def __dir__():
    return __all__
