"""Scheme stress tests: the Scheme, scenarios, ``stress_test`` and ``compare`` (see docs/stress.md)."""

from .result import Comparison, StressResult, compare
from .run import stress_test
from .scenarios import Scenario
from .scheme import Scheme

__all__ = ["Comparison", "Scenario", "Scheme", "StressResult", "compare", "stress_test"]
