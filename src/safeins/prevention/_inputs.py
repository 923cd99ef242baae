"""Aligning user inputs (portfolio, rates, severities, premiums, bounds) on one enterprise index."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError

__all__ = ["align", "enterprise_frame", "premium_series", "sector_codes"]


def enterprise_frame(portfolio) -> pd.DataFrame:
    """The enterprise table of a Portfolio (``.to_frame()``) or a DataFrame, checked for ``sector``."""
    frame = portfolio.to_frame() if hasattr(portfolio, "to_frame") and not isinstance(
        portfolio, pd.DataFrame) else portfolio
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError("portfolio", [Problem(None, "portfolio", type(portfolio).__name__,
                                                    "a Portfolio or a DataFrame indexed by enterprise_id")])
    problems = []
    if "sector" not in frame.columns:
        problems.append(Problem(None, "sector", "missing", "a column of sector codes is required"))
    if len(frame) == 0:
        problems.append(Problem(None, "portfolio", "empty", "at least one enterprise"))
    if not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()].unique().tolist()
        problems.append(Problem(None, "index", dup, "enterprise ids must be unique"))
    if "headcount" in frame.columns:
        h = pd.to_numeric(frame["headcount"], errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(~(h > 0)):
            problems.append(Problem(frame.index[i], "headcount", frame["headcount"].iloc[i], "> 0"))
    if problems:
        raise ValidationError("portfolio", problems)
    return frame


def sector_codes(frame: pd.DataFrame) -> np.ndarray:
    """The ``sector`` column as registry codes (names and aliases are accepted); unknown ones raise."""
    from ..domain import sectors

    # each distinct value is looked up once and the codes spread by position (no per-row work
    # in Python: 124,000 enterprises have a dozen sectors)
    pos, uniq = pd.factorize(frame["sector"], use_na_sentinel=False)
    names = [str(u) for u in np.asarray(uniq, dtype=object)]
    codes, problems = [], []
    for i, s in enumerate(names):
        try:
            codes.append(sectors.get(s).code)
        except ValidationError:
            rows = frame.index[pos == i][:5].tolist()
            problems.append(Problem(rows, "sector", s, sectors.unknown_sector_rule(s)))
    if problems:
        raise ValidationError("portfolio", problems)
    return np.array(codes, dtype=object)[pos]


def align(value, index: pd.Index, name: str, *, sector=None, allow_none=False, positive=False,
          what: str = "allocate") -> np.ndarray | None:
    """``value`` as a float array in the order of ``index``.

    Accepted: a scalar; an array of the index's length; a Series indexed by enterprise id (the same
    set of ids, any order); a Series or dict indexed by sector code (mapped through ``sector``).
    Anything else, a missing or extra id, a missing sector, or a negative / non-finite value raises
    one :class:`ValidationError` naming each problem.
    """
    if value is None:
        if allow_none:
            return None
        raise ValidationError(what, [Problem(None, name, None, "required")])
    n = len(index)
    problems: list[Problem] = []
    if isinstance(value, dict):
        value = pd.Series(value, dtype=float)
    if isinstance(value, pd.DataFrame):
        raise ValidationError(what, [Problem(None, name, "DataFrame", "a number, an array or a Series")])
    if isinstance(value, pd.Series):
        ids = pd.Index(value.index)
        if ids.equals(index):
            arr = pd.to_numeric(value, errors="coerce").to_numpy(dtype=float)
        elif (sector is not None and len(ids) <= 1000 and not _any_in(ids, index)
                and ids.isin(pd.unique(np.asarray(sector))).any()):
            out = pd.Series(np.asarray(sector)).map(value)
            missing = sorted(set(np.asarray(sector)[out.isna().to_numpy()].tolist()))
            if missing:
                problems.append(Problem(None, name, missing, "no value for these sectors"))
            arr = out.to_numpy(dtype=float)
        else:
            missing = index.difference(ids)
            extra = ids.difference(index)
            if len(missing):
                problems.append(Problem(None, name, missing.tolist(),
                                        f"{len(missing)} enterprise ids of the portfolio have no value"))
            if len(extra):
                problems.append(Problem(None, name, extra.tolist(),
                                        f"{len(extra)} ids are not in the portfolio"))
            if not ids.is_unique:
                problems.append(Problem(None, name, ids[ids.duplicated()].tolist(),
                                        "duplicated enterprise ids"))
            if problems:
                raise ValidationError(what, problems)
            arr = pd.to_numeric(value.reindex(index), errors="coerce").to_numpy(dtype=float)
    elif np.ndim(value) == 0:
        try:
            arr = np.full(n, float(value))
        except (TypeError, ValueError):
            raise ValidationError(what, [Problem(None, name, value, "a number")]) from None
    else:
        arr = np.asarray(value, dtype=float).reshape(-1) if np.ndim(value) == 1 else None
        if arr is None or len(arr) != n:
            raise ValidationError(what, [Problem(None, name, f"shape {np.shape(value)}",
                                                 f"one value per enterprise ({n})")])
    if problems:
        raise ValidationError(what, problems)
    ok = np.isfinite(arr) & ((arr > 0) if positive else (arr >= 0))
    if not ok.all():
        rule = "a finite number > 0" if positive else "a finite number >= 0"
        raise ValidationError(what, [Problem(index[i], name, arr[i], rule)
                                     for i in np.flatnonzero(~ok)])
    return arr


def _any_in(ids: pd.Index, index: pd.Index) -> bool:
    """Whether any of the (few) ``ids`` is in ``index``, by hash look-up in the index.

    ``ids.isin(index)`` compares element by element in Python when either side holds pyarrow
    strings (seconds for 124,000 enterprise ids); the index's own hash table answers in
    milliseconds and is built once per index.
    """
    if index.is_unique:
        return bool((index.get_indexer(ids) >= 0).any())
    return any(i in index for i in ids)


def premium_series(quotes) -> pd.Series | float | None:
    """The premium of a quotes frame (column ``premium``, or ``final_premium`` as in
    :class:`~safeins.rating.quotes.Quotes`), a Series, or a number."""
    if quotes is None:
        return None
    if isinstance(quotes, pd.DataFrame):
        for col in ("premium", "final_premium"):
            if col in quotes.columns:
                return quotes[col].rename("premium")
        raise ValidationError("quotes", [Problem(None, "premium", "missing",
                                                 "a 'premium' or 'final_premium' column (collected "
                                                 "premium, yuan)")])
    if hasattr(quotes, "to_frame") and not isinstance(quotes, pd.Series):
        return premium_series(quotes.to_frame())
    return quotes
