"""Loss distributions: claim counts (frequency), claim sizes (severity) and their fitting.

>>> from safeins.losses import Poisson
>>> Poisson(2.0).mean()
2.0
"""

from .fitting import SeverityFit, compare_severity, fit_severity
from .freqfit import FrequencyFit, fit_frequency
from .frequency import (
    Binomial,
    ExtendedTruncatedNB,
    FrequencyDistribution,
    Geometric,
    Logarithmic,
    NegativeBinomial,
    Poisson,
    ZeroModified,
    ZeroTruncated,
)
from .severity import (
    Burr,
    Empirical,
    Exponential,
    Gamma,
    GeneralizedPareto,
    InverseGaussian,
    LogLogistic,
    LogNormal,
    Mixture,
    Pareto,
    ScipySeverity,
    Severity,
    Spliced,
    Weibull,
    as_severity,
)

__all__ = [
    "Binomial",
    "Burr",
    "Empirical",
    "Exponential",
    "ExtendedTruncatedNB",
    "FrequencyDistribution",
    "FrequencyFit",
    "Gamma",
    "GeneralizedPareto",
    "Geometric",
    "InverseGaussian",
    "LogLogistic",
    "LogNormal",
    "Logarithmic",
    "Mixture",
    "NegativeBinomial",
    "Pareto",
    "Poisson",
    "ScipySeverity",
    "Severity",
    "SeverityFit",
    "Spliced",
    "Weibull",
    "ZeroModified",
    "ZeroTruncated",
    "as_severity",
    "compare_severity",
    "fit_frequency",
    "fit_severity",
]
