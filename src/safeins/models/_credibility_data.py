"""Input checks and array preparation shared by the credibility models.

Every check collects all bad rows into one :class:`~safeins.errors.ValidationError`; nothing is
dropped or coerced silently. The output is plain numpy arrays (integer codes for the nodes of each
level, values, weights) that the vectorised estimators work on.

>>> import pandas as pd
>>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 2.0, 3.0, 4.0], "w": [1, 1, 2, 2]})
>>> p = prepare_long(df, levels=["g"], value="x", weight="w", period=None, what="demo")
>>> p.codes[-1].tolist(), p.labels[-1].tolist()
([0, 0, 1, 1], ['a', 'b'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from safeins.errors import Problems

__all__ = ["Prepared", "prepare_long", "prepare_matrix"]


@dataclass
class Prepared:
    """Validated observations.

    ``codes[k]`` gives, for each observation, the index of its node at level ``k`` (level 0 is the
    first classification level, the last is the entity). ``parents[k]`` maps each node of level
    ``k`` to its node at level ``k - 1`` (all zeros for the first level: the portfolio).
    ``labels[k]`` is the node label at level ``k`` (a tuple of labels from the top for k > 0).
    """

    codes: list[np.ndarray]
    parents: list[np.ndarray]
    labels: list[pd.Index]
    value: np.ndarray
    weight: np.ndarray
    extra: dict


def _bad_rows(mask, index: pd.Index, values, column: str, rule: str, problems: Problems):
    for pos in np.flatnonzero(mask):
        val = values[pos]
        val = val.item() if hasattr(val, "item") else val
        problems.add(row=index[pos], column=column, value=val, rule=rule)


def _numeric(series: pd.Series, column: str, problems: Problems) -> np.ndarray | None:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    try:
        return pd.to_numeric(series, errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        bad = pd.to_numeric(series, errors="coerce").isna() & series.notna()
        _bad_rows(bad.to_numpy(), series.index, series.to_numpy(), column, "must be a number",
                  problems)
        return None


def prepare_long(
    data,
    *,
    levels: list[str],
    value: str,
    weight: str | None,
    period: str | None,
    what: str,
    min_periods: int = 2,
    extra_numeric: tuple[str, ...] = (),
) -> Prepared:
    """Validate a long table (one row per node and period) and turn it into codes and arrays."""
    problems = Problems(what)
    if not isinstance(data, pd.DataFrame):
        problems.add(column="data", value=type(data).__name__, rule="must be a pandas DataFrame")
        problems.raise_if_any()
    needed = [*levels, value, *([weight] if weight is not None else []),
              *([period] if period is not None else []), *extra_numeric]
    for col in needed:
        if col not in data.columns:
            problems.add(column=col, value=None,
                         rule=f"column missing from the data; columns are {list(data.columns)}")
    problems.raise_if_any()
    if len(data) == 0:
        problems.add(column=value, value=0, rule="the data has no rows")
        problems.raise_if_any()

    index = data.index
    for col in levels:
        miss = data[col].isna().to_numpy()
        _bad_rows(miss, index, data[col].to_numpy(), col, "group label must not be missing",
                  problems)

    x = _numeric(data[value], value, problems)
    if x is not None:
        _bad_rows(~np.isfinite(x), index, x, value,
                  "must be a finite number (drop or impute missing periods explicitly)", problems)
    if weight is not None:
        w = _numeric(data[weight], weight, problems)
        if w is not None:
            _bad_rows(~(np.isfinite(w) & (w > 0)), index, w, weight,
                      "must be a finite number > 0", problems)
    else:
        w = np.ones(len(data))
    extra = {}
    for col in extra_numeric:
        arr = _numeric(data[col], col, problems)
        if arr is not None:
            _bad_rows(~np.isfinite(arr), index, arr, col, "must be a finite number", problems)
        extra[col] = arr
    problems.raise_if_any()

    # Nodes are nested: a level's node is the tuple of labels from the top down to it, so the same
    # region name under two sectors is two different nodes (as actuar's cohort:state).
    codes: list[np.ndarray] = []
    parents: list[np.ndarray] = []
    labels: list[pd.Index] = []
    prev = np.zeros(len(data), dtype=np.int64)
    for k, col in enumerate(levels):
        lab_codes, uniques = pd.factorize(data[col], sort=True)
        lab_codes = np.asarray(lab_codes, dtype=np.int64)
        if k == 0:
            node_code, n_node = lab_codes, len(uniques)
        else:
            node_code, node = pd.factorize(prev * (len(uniques) + 1) + lab_codes, sort=True)
            node_code, n_node = np.asarray(node_code, dtype=np.int64), len(node)
        # one row of each node (any row will do: all rows of a node share its labels and parent)
        first = np.empty(n_node, dtype=np.int64)
        first[node_code[::-1]] = np.arange(len(node_code) - 1, -1, -1)
        codes.append(node_code)
        parents.append(prev[first])
        if k == 0:
            labels.append(pd.Index(np.asarray(uniques)[lab_codes[first]], name=col))
        else:
            rows = [data[c].to_numpy()[first] for c in levels[: k + 1]]
            labels.append(pd.MultiIndex.from_arrays(rows, names=levels[: k + 1]))
        prev = node_code

    entity = codes[-1]
    n_obs = np.bincount(entity, minlength=len(labels[-1]))
    if period is not None:
        dup = pd.DataFrame({"e": entity, "p": data[period].to_numpy()}).duplicated(keep=False)
        _bad_rows(dup.to_numpy(), index, data[period].to_numpy(), period,
                  f"each {levels[-1]} may have one row per {period} (duplicate)", problems)
    if min_periods > 1:
        for e in np.flatnonzero(n_obs < min_periods):
            problems.add(row=labels[-1][e], column=levels[-1], value=int(n_obs[e]),
                         rule=f"needs at least {min_periods} periods of experience to estimate the "
                              "within variance; drop it or pool it with another")
    # Every level needs at least two nodes under the level above somewhere, else its between
    # variance has no degree of freedom.
    n_nodes = [1, *[len(lab) for lab in labels]]
    for k, col in enumerate(levels):
        if k == 0 and n_nodes[1] < 2:
            problems.add(column=col, value=n_nodes[1],
                         rule=f"at least 2 distinct {col} values are needed")
        elif k > 0 and n_nodes[k + 1] <= n_nodes[k]:
            problems.add(column=col, value=n_nodes[k + 1],
                         rule=f"at least one {levels[k - 1]} must hold 2 or more {col} nodes")
    problems.raise_if_any()
    return Prepared(codes, parents, labels, x, w, extra)


def prepare_matrix(values, weights, *, what: str, min_periods: int = 2) -> pd.DataFrame:
    """Turn a wide (groups x periods) matrix and its weight matrix into a long table.

    Missing periods are NaN in both matrices at the same places; any other NaN is an error.
    """
    problems = Problems(what)
    vals = values if isinstance(values, pd.DataFrame) else pd.DataFrame(np.asarray(values))
    if vals.ndim != 2:
        problems.add(column="values", value=vals.shape, rule="must be a 2-D matrix")
        problems.raise_if_any()
    if weights is None:
        wts = pd.DataFrame(np.ones(vals.shape), index=vals.index, columns=vals.columns)
        wts = wts.where(vals.notna())
    else:
        wts = weights if isinstance(weights, pd.DataFrame) else pd.DataFrame(
            np.asarray(weights, dtype=float), index=vals.index, columns=vals.columns)
        if wts.shape != vals.shape:
            problems.add(column="weights", value=wts.shape,
                         rule=f"must have the shape of values {vals.shape}")
            problems.raise_if_any()
        wts = pd.DataFrame(wts.to_numpy(dtype=float), index=vals.index, columns=vals.columns)
    v = vals.to_numpy(dtype=float)
    w = wts.to_numpy(dtype=float)
    mismatch = np.isnan(v) != np.isnan(w)
    for i, j in zip(*np.nonzero(mismatch), strict=True):
        problems.add(row=(vals.index[i], vals.columns[j]), column="values/weights",
                     value=(v[i, j], w[i, j]),
                     rule="a missing period must be NaN in both values and weights")
    problems.raise_if_any()
    long = pd.DataFrame({
        "group": np.repeat(vals.index.to_numpy(), v.shape[1]),
        "period": np.tile(vals.columns.to_numpy(), v.shape[0]),
        "value": v.ravel(),
        "weight": w.ravel(),
    })
    keep = ~(np.isnan(v.ravel()) & np.isnan(w.ravel()))
    return long.loc[keep].reset_index(drop=True)
