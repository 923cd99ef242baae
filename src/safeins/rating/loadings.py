"""Loadings: from pure premium to gross premium, within the caps of a regulatory regime.

gross premium = (pure premium + risk load) / (1 - commission - prevention - expenses - profit)

Each ratio is a fraction of the *gross* (collected) premium, which is how the rules state their
caps: commission <= 5% of premium (应急〔2025〕27号 第十四条) and prevention-service spending <= 21%
of the premium actually collected (2024 MEM/NFRA notice, retained in 2025). The caps come from
:mod:`safeins.domain.regimes`; a breach raises :class:`~safeins.errors.RegimeBreachError` unless
``override=True``, which turns it into a warning.

>>> from safeins.rating.principles import StandardDeviation
>>> L = Loadings(commission=0.05, prevention=0.15, expenses=0.10, profit=0.03,
...              principle=StandardDeviation(0.1))
>>> round(L.loading_ratio, 2), round(L.gross(6700.0), 2)
(0.33, 10000.0)
>>> L.to_dict()["principle"]
{'kind': 'standard_deviation', 'parameter': 0.1}
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any, Self

import numpy as np
import pydantic

from .._base.config import Config
from ..errors import Problem, RegimeBreachError, SafeinsWarning, ValidationError
from . import principles as _principles

__all__ = ["Loadings"]


def _to_principle(value: Any) -> _principles.Principle:
    try:
        return _principles.from_dict(value)
    except ValidationError as err:
        raise ValueError("; ".join(f"{p.column}={p.value!r}: {p.rule}" for p in err._problems)) \
            from None


PrincipleField = Annotated[
    _principles.Principle,
    pydantic.PlainValidator(_to_principle),
    pydantic.PlainSerializer(lambda p: p.to_dict(), return_type=dict),
    pydantic.WithJsonSchema({
        "type": "object",
        "properties": {"kind": {"enum": list(_principles.kinds())},
                       "parameter": {"type": "number"}},
        "required": ["kind", "parameter"],
    }),
]

# strict: True, "0.05" or "5%" are refused instead of being read as numbers
Ratio = Annotated[float, pydantic.Field(ge=0, lt=1, strict=True)]


class Loadings(Config):
    """Expense, prevention, commission and profit ratios, a risk-load principle and a regime.

    Parameters
    ----------
    commission, prevention, expenses, profit : float
        Fractions of the gross premium, each in [0, 1); their sum must be < 1.
    principle : Principle or dict
        The risk-load principle (:mod:`safeins.rating.principles`); written to TOML as
        ``{kind = "...", parameter = ...}``.
    regime : str
        A regime key of :mod:`safeins.domain.regimes` whose caps the ratios must respect.
    override : bool
        If true, a breach of a regime cap is a warning instead of an error.

    >>> Loadings(commission=0.08)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    safeins.errors.RegimeBreachError: national-2025: 2 findings, 1 failed
      FAIL commission_cap: 0.08 vs limit 0.05 (27号 第十四条: 佣金不得超过保费的5% ...)
    """

    commission: Ratio = 0.05
    prevention: Ratio = 0.15
    expenses: Ratio = 0.10
    profit: Ratio = 0.03
    principle: PrincipleField = pydantic.Field(
        default_factory=lambda: _principles.StandardDeviation(0.1))
    regime: str = "national-2025"
    override: Annotated[bool, pydantic.Field(strict=True)] = False

    @pydantic.field_validator("regime")
    @classmethod
    def _known_regime(cls, value: str) -> str:
        from ..domain import regimes

        try:
            regimes.get(value)
        except ValidationError as err:
            raise ValueError(err._problems[0].rule) from None
        return value

    @pydantic.model_validator(mode="after")
    def _below_one(self) -> Self:
        if self.loading_ratio >= 1:
            raise ValueError(
                f"commission + prevention + expenses + profit = {self.loading_ratio:.4g}; "
                "must be < 1 (nothing would be left to pay claims)")
        return self

    def __init__(self, **data: Any):
        super().__init__(**data)  # Config turns pydantic's errors into one ValidationError
        self._check_regime()

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None) -> Self:
        """Validate a plain dict (and check the regime caps); errors name ``source``."""
        # pydantic runs a custom __init__ inside model_validate and would wrap our errors, so the
        # dict goes straight to __init__.
        if not isinstance(data, dict):
            raise ValidationError(source or cls.__name__, [Problem(
                None, "-", type(data).__name__, "a table of loadings")])
        try:
            return cls(**data)
        except ValidationError as err:
            if source is None:
                raise
            raise ValidationError(source, err._problems) from None

    # ---------------------------------------------------------------------------------------

    @property
    def loading_ratio(self) -> float:
        """commission + prevention + expenses + profit: the gross-premium share not for claims."""
        return self.commission + self.prevention + self.expenses + self.profit

    @property
    def permissible_loss_ratio(self) -> float:
        """1 - loading_ratio: the share of gross premium available for claims and the risk load."""
        return 1.0 - self.loading_ratio

    @property
    def multiplier(self) -> float:
        """Gross / (pure + risk load) = 1 / (1 - loading_ratio).

        >>> round(Loadings().multiplier, 4)
        1.4925
        """
        return 1.0 / (1.0 - self.loading_ratio)

    def regime_facts(self) -> dict[str, float]:
        """The facts :meth:`safeins.domain.regimes.Regime.check` checks: commission and prevention share.

        >>> from safeins import regimes
        >>> regimes.get("national-2025").check(Loadings()).ok
        True
        """
        return {"commission": self.commission, "prevention_share": self.prevention}

    def _check_regime(self) -> None:
        from ..domain import regimes

        findings = regimes.get(self.regime).check(self)
        if findings.ok:
            return
        if self.override:
            warnings.warn(f"regime caps overridden: {findings.summary()}", SafeinsWarning,
                          stacklevel=3)
        else:
            raise RegimeBreachError(findings.summary(), findings.failed())

    def gross(self, pure, risk_load=0.0):
        """Gross premium (pure + risk_load) / (1 - loading_ratio); vectorised over arrays.

        >>> Loadings(prevention=0.12, expenses=0.0, profit=0.0).gross([83.0, 166.0])
        array([100., 200.])
        """
        pure = np.asarray(pure, dtype=float)
        load = np.asarray(risk_load, dtype=float)
        problems = []
        for name, arr in (("pure", pure), ("risk_load", load)):
            bad = ~np.isfinite(arr) | (arr < 0)
            flat = np.atleast_1d(arr).ravel()
            for i in np.flatnonzero(np.atleast_1d(bad).ravel()):
                problems.append(Problem(int(i) if arr.ndim else None, name, float(flat[i]),
                                        "a finite amount >= 0"))
        if problems:
            raise ValidationError("Loadings.gross", problems)
        out = (pure + load) * self.multiplier
        return float(out) if out.ndim == 0 else out

    def premium(self, risk: Any) -> float:
        """Gross premium of one risk: its mean plus the principle's risk load, grossed up.

        >>> import numpy as np
        >>> L = Loadings(principle={"kind": "expected_value", "parameter": 0.0})
        >>> round(L.premium(np.array([0.0, 1340.0])), 2)
        1000.0
        """
        mean = _principles._mean(risk, "Loadings.premium")
        return self.gross(mean, self.principle.risk_load(risk))

    def breakdown(self, pure, risk_load=0.0):
        """A DataFrame splitting each gross premium into pure, risk load, commission, prevention,
        expenses and profit (the parts add up to ``gross``).

        >>> Loadings().breakdown(670.0).round(1).iloc[0].to_dict()["prevention"]
        150.0
        """
        import pandas as pd

        gross = np.atleast_1d(self.gross(pure, risk_load))
        frame = pd.DataFrame({
            "pure": np.broadcast_to(np.asarray(pure, dtype=float), gross.shape),
            "risk_load": np.broadcast_to(np.asarray(risk_load, dtype=float), gross.shape),
        })
        for name in ("commission", "prevention", "expenses", "profit"):
            frame[name] = gross * getattr(self, name)
        frame["gross"] = gross
        return frame
