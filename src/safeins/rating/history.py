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

__all__ = ["rebase_exposure", "with_prior_year"]

_PRIOR = {"prior_hazard_rate": "hazard_rate", "prior_unrectified": "unrectified",
          "prior_major_hazards": "major_hazards_found", "prior_accidents": "accidents"}


def with_prior_year(table: pd.DataFrame, keep_unknown: bool = False) -> pd.DataFrame:
    """``table`` with the prior year's record of each enterprise-year (see the module doc).

    A row whose enterprise has no row for the year before (the first year of the table, or a
    gap) has no prior record: it is dropped, unless ``keep_unknown`` (its prior columns are then
    NaN). A prior year without a hazard inspection (``inspected`` False) gives NaN hazard columns:
    a missing record is never read as a clean one. A prior column the table already has (the
    ``prior_accidents`` of :func:`safeins.exposure_table`) is kept as it is.

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
    prior, dup = _prior_rows(table["enterprise_id"], table["year"].to_numpy())
    if dup.any():
        rows = table.index[dup]
        raise ValidationError("with_prior_year", [Problem(
            ", ".join(map(str, rows[:5])) + (f" … (+{len(rows) - 5})" if len(rows) > 5 else ""),
            "enterprise_id,year", tuple(table.loc[rows[0], ["enterprise_id", "year"]]),
            "duplicated enterprise-year")])
    inspected = "inspected" in table.columns
    lost = ~table["inspected"].to_numpy(dtype=bool) if inspected else None
    out = table.copy(deep=False)
    added = {}
    for new, col in _PRIOR.items():
        if inspected and col in ("hazard_rate", "unrectified", "major_hazards_found"):
            values = np.where(lost, np.nan, table[col].to_numpy(dtype=float))
        else:
            values = table[col].array
        # -1 (no prior row) becomes NaN / NA, integers turn float: what a left merge gives
        added[new] = pd.api.extensions.take(values, prior, allow_fill=True)
    for new, values in added.items():
        if new in out.columns:
            # safeins.exposure_table already gives prior_accidents (0 where no prior year is known,
            # with prior_known): the table's own column is kept, not duplicated as _x/_y
            continue
        out[new] = values
    if not keep_unknown:
        out = out[prior >= 0]
    return out


def _prior_rows(enterprise, year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each row's (enterprise, year - 1) row (-1 if none), and which rows share their
    (enterprise, year) with another row.

    Enterprise ids and years become integer codes (years by their sorted distinct values), the
    pair one int64 key; the prior year's key is found by a binary search in the sorted keys. No
    merge, no groupby: a few sorts of 10^5-10^6 integers.
    """
    ent, _ = pd.factorize(enterprise, use_na_sentinel=False)
    years = np.unique(year)
    ycode = np.searchsorted(years, year)
    pcode = np.searchsorted(years, year - 1)
    has = (pcode < len(years)) & (years[np.minimum(pcode, len(years) - 1)] == year - 1)
    key = ent.astype(np.int64) * len(years) + ycode
    want = ent.astype(np.int64) * len(years) + pcode
    order = np.argsort(key, kind="stable")
    ks = key[order]
    same = ks[1:] == ks[:-1]
    dup = np.zeros(len(key), dtype=bool)
    dup[order[1:][same]] = True
    dup[order[:-1][same]] = True
    at = np.minimum(np.searchsorted(ks, want), max(len(key) - 1, 0))
    found = has & (ks[at] == want) if len(key) else has
    return np.where(found, order[at], -1), dup


def rebase_exposure(table: pd.DataFrame, bases: dict[str, str]) -> pd.DataFrame:
    """``table`` with ``exposure`` measured, for the sectors in ``bases``, in another rating base.

    The sector registry rates manufacturing and trade per worker; a manual that rates them on
    payroll or revenue (``safeins.rating.tariff.ALTERNATIVE_BASES``) fits the frequency GLM on the
    result and passes the same ``bases`` to ``Tariff.from_models``: the rates of those sectors are
    then per unit of that base.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"sector": ["trade", "construction"], "revenue": [3.6e6, 9.0e6],
    ...                   "exposure": [12.0, 8.0e6]})
    >>> rebase_exposure(t, {"trade": "revenue"})["exposure"].tolist()
    [3600000.0, 8000000.0]
    """
    bases = dict(bases)
    probs = [Problem(None, b, "<missing column>", f"the base of sector {s!r}")
             for s, b in bases.items() if b not in table.columns]
    if "exposure" not in table.columns:
        probs.append(Problem(None, "exposure", "<missing column>", "the exposure to rebase"))
    if probs:
        raise ValidationError("rebase_exposure", probs)
    out = table.copy(deep=False)  # copy-on-write: the new exposure column leaves table alone
    exposure = out["exposure"].to_numpy(dtype=float).copy()
    # sectors compared as text (as str(sector) == name) on the distinct values only
    codes, uniques = pd.factorize(out["sector"], use_na_sentinel=False)
    names = np.asarray(pd.Index(uniques).astype(str))
    for s, b in bases.items():
        hit = np.isin(codes, np.flatnonzero(names == s))
        if hit.any():
            exposure[hit] = out[b].to_numpy(dtype=float)[hit]
    out["exposure"] = exposure
    return out
