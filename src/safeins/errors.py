"""Exceptions raised by safeins.

Every error a user can cause derives from :class:`SafeinsError`, so one ``except`` clause catches them
all. Input checks never stop at the first problem: they collect every bad row and field into a
:class:`ValidationError`, whose message is a readable table and whose ``problems`` attribute is a
:class:`pandas.DataFrame` (row, column, value, rule) for programmatic use.

Example
-------
>>> from safeins.errors import ValidationError, Problems
>>> p = Problems("Portfolio")
>>> p.add(row="E1", column="headcount", value=-3, rule="must be >= 0")
>>> p.add(row="E2", column="sector", value="minnig", rule="unknown sector; did you mean 'mining'?")
>>> try:
...     p.raise_if_any()
... except ValidationError as err:
...     print(len(err.problems))
2
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "DiscretizationWarning",
    "Problem",
    "Problems",
    "RegimeBreachError",
    "SafeinsError",
    "SafeinsWarning",
    "ValidationError",
    "WorkLimitError",
]


class SafeinsError(Exception):
    """Base class of every error safeins raises on purpose.

    >>> issubclass(ValidationError, SafeinsError)
    True
    """


class SafeinsWarning(UserWarning):
    """Base class of safeins warnings (a result that is usable but carries an estimated error)."""


class DiscretizationWarning(SafeinsWarning):
    """A numerical result is usable, but its grid or truncation error exceeds the requested accuracy."""


@dataclass(frozen=True)
class Problem:
    """One problem in user input: where it is, what was found, and what is allowed.

    >>> Problem(row=3, column="grade", value="E", rule="one of A, B, C, D")
    Problem(row=3, column='grade', value='E', rule='one of A, B, C, D')
    """

    row: Any
    column: str
    value: Any
    rule: str


def _show(value: Any, width: int = 40) -> str:
    if isinstance(value, float) and math.isnan(value):
        text = "NaN"
    else:
        text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


class ValidationError(SafeinsError, ValueError):
    """Invalid input: lists every bad row and field with the value found and the rule it breaks.

    Parameters
    ----------
    what : str
        The object being validated ("Portfolio", "Coverage", "tariff my.toml", ...).
    problems : iterable of Problem
        Every problem found.

    Attributes
    ----------
    problems : pandas.DataFrame
        Columns ``row``, ``column``, ``value``, ``rule``; one line per problem.

    >>> err = ValidationError("Coverage", [Problem(None, "limit", -1.0, "must be > 0")])
    >>> print(err)
    Coverage: 1 problem
      row  column  value  rule
      -    limit   -1.0   must be > 0
    """

    max_lines = 50

    def __init__(self, what: str, problems: Iterable[Problem]):
        self.what = what
        self._problems = list(problems)
        super().__init__(self._format())

    @property
    def problems(self):
        import pandas as pd

        return pd.DataFrame(
            [(p.row, p.column, p.value, p.rule) for p in self._problems],
            columns=["row", "column", "value", "rule"],
        )

    def __len__(self) -> int:
        return len(self._problems)

    def _format(self) -> str:
        n = len(self._problems)
        rows = [("row", "column", "value", "rule")]
        for p in self._problems[: self.max_lines]:
            rows.append(("-" if p.row is None else str(p.row), p.column, _show(p.value), p.rule))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{self.what}: {n} problem{'s' if n != 1 else ''}"]
        for r in rows:
            lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
        if n > self.max_lines:
            lines.append(f"  … and {n - self.max_lines} more (see .problems for the full table)")
        return "\n".join(line.rstrip() for line in lines)

    def __reduce__(self):  # keep the exception picklable (dask workers send errors back)
        return (type(self), (self.what, self._problems))


class Problems:
    """Collects problems while validating, then raises them all at once.

    >>> p = Problems("Coverage")
    >>> p.check(5 > 0, column="limit", value=5, rule="must be > 0")
    >>> p.raise_if_any()   # nothing collected, nothing raised
    """

    def __init__(self, what: str):
        self.what = what
        self.items: list[Problem] = []

    def add(self, *, row: Any = None, column: str, value: Any, rule: str) -> None:
        """Record one problem."""
        self.items.append(Problem(row, column, value, rule))

    def check(self, ok: bool, *, row: Any = None, column: str, value: Any, rule: str) -> None:
        """Record a problem unless ``ok`` is true."""
        if not ok:
            self.add(row=row, column=column, value=value, rule=rule)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record several problems found elsewhere."""
        self.items.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        """Raise one :class:`ValidationError` listing every problem collected, if any."""
        if self.items:
            raise ValidationError(self.what, self.items)


class ConfigError(SafeinsError, ValueError):
    """A configuration (TOML rate manual, regime, scheme, rule) is malformed or inconsistent.

    >>> raise ConfigError("tariff.toml: unit 'permille' unknown; allowed: fraction, permille_of_base")
    Traceback (most recent call last):
    ...
    safeins.errors.ConfigError: tariff.toml: unit 'permille' unknown; allowed: fraction, permille_of_base
    """


class RegimeBreachError(SafeinsError, ValueError):
    """A configuration breaks a rule of the regulatory regime it is checked against.

    ``findings`` holds the failed :class:`safeins.domain.regimes.Finding` objects.
    """

    def __init__(self, message: str, findings=()):
        self.findings = list(findings)
        super().__init__(message)


class ConvergenceError(SafeinsError, RuntimeError):
    """An iterative fit or solver did not converge; the message says which and how far it got.

    >>> raise ConvergenceError("FrequencyGLM: IRLS stopped after 100 iterations (deviance change 3e-4)")
    Traceback (most recent call last):
    ...
    safeins.errors.ConvergenceError: FrequencyGLM: IRLS stopped after 100 iterations (deviance change 3e-4)
    """


class WorkLimitError(SafeinsError, ValueError):
    """A run is too large to start without consent: the message says how many claims it would draw,
    about how long and how much memory it would need, and that ``force=True`` runs it anyway.

    >>> raise WorkLimitError("Aggregate: about 1e+12 claims ...; pass force=True to run it anyway")
    Traceback (most recent call last):
    ...
    safeins.errors.WorkLimitError: Aggregate: about 1e+12 claims ...; pass force=True to run it anyway
    """
