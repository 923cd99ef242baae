"""The prior year's record as rating factors: what a GLM is fitted on is what pricing reads.

Floating rates and fitted relativities price an enterprise on its record of the year before the
policy year. :func:`with_prior_year` adds that record to an exposure table (one row per enterprise
and year, :func:`safeins.exposure_table`), so that the frequency GLM learns the effect of exactly the
quantity :meth:`Tariff.price <safeins.rating.tariff.Tariff.price>` computes at pricing:

* ``prior_hazard_rate``: hazards found per 100 workers in the prior year (pricing input
  ``hazard_rate``);
* ``prior_unrectified``, ``prior_major_hazards``: hazards still unrectified, 重大事故隐患 found
  (pricing inputs ``unrectified``, ``major_hazards``);
* ``prior_accidents``: accidents in the prior year (pricing input ``accident_count``).

>>> import safeins as si
>>> d = si.datasets.synthetic_portfolio(n_enterprises=200, years=(2021, 2022, 2023), seed=4)
>>> et = si.exposure_table(d.portfolio, d.accidents, d.hazards)
>>> t = with_prior_year(et)
>>> sorted(t["year"].unique().tolist()), len(t) == 2 * 200
([2022, 2023], True)
>>> e = t.iloc[0]
>>> prev = et[(et.enterprise_id == e.enterprise_id) & (et.year == e.year - 1)].iloc[0]
>>> bool(e.prior_hazard_rate == prev.hazard_rate)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError

__all__ = ["HEADCOUNT_BASES", "rebase_exposure", "with_prior_year"]

#: Manufacturing and trade rated per worker (the 2025 rules cover the same amount per person).
HEADCOUNT_BASES: dict[str, str] = {"manufacturing": "headcount", "trade": "headcount"}

_PRIOR = {"prior_hazard_rate": "hazard_rate", "prior_unrectified": "unrectified",
          "prior_major_hazards": "major_hazards_found", "prior_accidents": "accidents"}


def with_prior_year(table: pd.DataFrame, keep_unknown: bool = False) -> pd.DataFrame:
    """``table`` with the prior year's record of each enterprise-year (see the module doc).

    A row whose enterprise has no row for the year before (the first year of the table, or a
    gap) has no prior record: it is dropped, unless ``keep_unknown`` (its prior columns are then
    NaN). A prior year without a hazard inspection (``inspected`` False) gives NaN hazard columns:
    a missing record is never read as a clean one.

    >>> import pandas as pd
    >>> et = pd.DataFrame({"enterprise_id": ["E1", "E1", "E2"], "year": [2022, 2023, 2023],
    ...                    "hazard_rate": [4.0, 2.0, 1.0], "unrectified": [1, 0, 0],
    ...                    "major_hazards_found": [0, 0, 0], "accidents": [1, 0, 0]})
    >>> with_prior_year(et)[["enterprise_id", "year", "prior_hazard_rate", "prior_accidents"]].values.tolist()
    [['E1', 2023, 4.0, 1.0]]
    """
    need = ["enterprise_id", "year", *_PRIOR.values()]
    miss = [c for c in need if c not in table.columns]
    if miss:
        raise ValidationError("with_prior_year", [Problem(None, c, "<missing column>",
                                                          "a column of safeins.exposure_table")
                                                  for c in miss])
    dup = table.duplicated(["enterprise_id", "year"], keep=False)
    if dup.any():
        rows = table.index[dup.to_numpy()]
        raise ValidationError("with_prior_year", [Problem(
            ", ".join(map(str, rows[:5])) + (f" … (+{len(rows) - 5})" if len(rows) > 5 else ""),
            "enterprise_id,year", tuple(table.loc[rows[0], ["enterprise_id", "year"]]),
            "duplicated enterprise-year")])
    prev = table[["enterprise_id", "year", *_PRIOR.values()]].copy()
    if "inspected" in table.columns:
        lost = ~table["inspected"].to_numpy(dtype=bool)
        for col in ("hazard_rate", "unrectified", "major_hazards_found"):
            prev[col] = np.where(lost, np.nan, prev[col].to_numpy(dtype=float))
    prev["year"] = prev["year"] + 1
    prev = prev.rename(columns={v: k for k, v in _PRIOR.items()})
    out = table.merge(prev, on=["enterprise_id", "year"], how="left", validate="one_to_one")
    out.index = table.index
    if not keep_unknown:
        known = pd.MultiIndex.from_frame(prev[["enterprise_id", "year"]])
        mine = pd.MultiIndex.from_frame(table[["enterprise_id", "year"]])
        out = out[mine.isin(known)]
    return out


def rebase_exposure(table: pd.DataFrame, bases: dict[str, str] | None = None) -> pd.DataFrame:
    """``table`` with ``exposure`` measured, for the sectors in ``bases``, in their rating base.

    Fit the frequency GLM on the result and pass the same ``bases`` to ``Tariff.from_models``: the
    rates of those sectors are then per unit of that base (by default manufacturing and trade per
    worker, :data:`HEADCOUNT_BASES`).

    >>> import pandas as pd
    >>> t = pd.DataFrame({"sector": ["trade", "construction"], "headcount": [12, 40],
    ...                   "exposure": [3.6e6, 8.0e6]})
    >>> rebase_exposure(t)["exposure"].tolist()
    [12.0, 8000000.0]
    """
    bases = HEADCOUNT_BASES if bases is None else dict(bases)
    probs = [Problem(None, b, "<missing column>", f"the base of sector {s!r}")
             for s, b in bases.items() if b not in table.columns]
    if "exposure" not in table.columns:
        probs.append(Problem(None, "exposure", "<missing column>", "the exposure to rebase"))
    if probs:
        raise ValidationError("rebase_exposure", probs)
    out = table.copy()
    exposure = out["exposure"].to_numpy(dtype=float).copy()
    sector = out["sector"].astype(str).to_numpy()
    for s, b in bases.items():
        hit = sector == s
        exposure[hit] = out.loc[hit, b].to_numpy(dtype=float)
    out["exposure"] = exposure
    return out
