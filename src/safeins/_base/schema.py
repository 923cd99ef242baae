"""Declarative column schemas and the vectorised validator behind every safeins table.

A table is validated in one pass that collects *every* problem (row label, column, value, rule)
into one :class:`~safeins.errors.ValidationError`. Values are never clipped or coerced silently:
the only conversions made are lossless ones (an integral float to int, 0/1 to bool), and a value that
needs anything more is reported.

>>> import pandas as pd
>>> cols = (Column("n", "int", min=0), Column("g", "category", allowed=("A", "B")))
>>> out = validate_frame(pd.DataFrame({"n": [1.0, 2.0], "g": ["A", "B"]}), cols, "demo")
>>> out["n"].dtype.name, list(out["g"].cat.categories)
('int64', ['A', 'B'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import Problems

__all__ = ["Column", "validate_frame"]

_MISSING = object()


@dataclass(frozen=True)
class Column:
    """One column of a table schema.

    ``kind`` is ``str``, ``int``, ``float``, ``bool`` or ``category`` (with ``allowed`` values, in
    order). An optional column (``required=False``) absent from the input is filled with ``default``.
    """

    name: str
    kind: Literal["str", "int", "float", "bool", "category"]
    required: bool = True
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple | None = None
    default: Any = _MISSING
    doc: str = ""

    @property
    def has_default(self) -> bool:
        """Whether an absent column is filled with a stated ``default`` (not just left missing)."""
        return self.default is not _MISSING

    def describe(self) -> str:
        parts = [self.kind]
        if self.allowed is not None:
            parts.append("one of " + ", ".join(map(str, self.allowed)))
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        if self.nullable:
            parts.append("may be missing")
        return ", ".join(parts)


def _labels(frame: pd.DataFrame) -> np.ndarray:
    return frame.index.to_numpy()


def _report(problems: Problems, labels, mask, values, column: str, rule: str) -> None:
    for i in np.flatnonzero(mask):
        problems.add(row=labels[i], column=column, value=_py(values[i]), rule=rule)


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def _is_null(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy()


def _numeric(col: Column, s: pd.Series, problems: Problems, labels) -> pd.Series:
    raw = s.to_numpy(dtype=object)
    null = _is_null(s)
    if pd.api.types.is_bool_dtype(s):
        bad = ~null
        _report(problems, labels, bad, raw, col.name, f"must be a number ({col.describe()}), not a bool")
        return s
    if pd.api.types.is_numeric_dtype(s):
        num = s.astype("float64")
    else:
        is_num = np.array([isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
                           for v in raw], dtype=bool)  # dtype: an empty table gives a bool array too
        bad = ~is_num & ~null
        _report(problems, labels, bad, raw, col.name, f"wrong type: must be a number ({col.describe()})")
        num = pd.Series(np.where(is_num, raw, np.nan).astype("float64"), index=s.index)
    vals = num.to_numpy()
    finite_or_nan = np.isnan(vals) | np.isfinite(vals)
    _report(problems, labels, ~finite_or_nan, raw, col.name, "must be finite")
    if not col.nullable:
        _report(problems, labels, null, raw, col.name, f"missing value: required ({col.describe()})")
    ok = ~np.isnan(vals)
    if col.kind == "int":
        frac = ok & np.isfinite(vals) & (vals != np.round(vals))
        _report(problems, labels, frac, raw, col.name, f"must be a whole number ({col.describe()})")
    if col.min is not None:
        _report(problems, labels, ok & (vals < col.min), raw, col.name, f"must be >= {col.min:g}")
    if col.max is not None:
        _report(problems, labels, ok & (vals > col.max), raw, col.name, f"must be <= {col.max:g}")
    if col.kind == "int":
        if null.any() or np.isnan(vals).any():
            return num.round().astype("Int64")
        return pd.Series(np.round(vals).astype("int64"), index=s.index, name=s.name)
    return num.rename(s.name)


def _boolean(col: Column, s: pd.Series, problems: Problems, labels) -> pd.Series:
    raw = s.to_numpy(dtype=object)
    ok = np.array([isinstance(v, bool | np.bool_) or (isinstance(v, int | np.integer) and v in (0, 1))
                   for v in raw], dtype=bool)
    _report(problems, labels, ~ok, raw, col.name, "must be True/False (or 1/0)")
    return pd.Series([bool(v) if k else False for v, k in zip(raw, ok, strict=True)],
                     index=s.index, name=s.name, dtype=bool)


def _all_text(s: pd.Series) -> bool:
    return pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")


def _text(col: Column, s: pd.Series, problems: Problems, labels) -> pd.Series:
    null = _is_null(s)
    if col.kind == "category" and col.allowed is not None:
        allowed = [str(a) for a in col.allowed]
        if _all_text(s):
            text = s.astype(object)
        else:
            # allowed values may be written as numbers in a CSV ("1", "2", "3" read back as 1, 2, 3);
            # bools and floats are not accepted as text
            raw = s.to_numpy(dtype=object)
            text = pd.Series([str(v) if isinstance(v, str | int | np.integer) and not isinstance(v, bool)
                              else None for v in raw], index=s.index, dtype=object)
        ok = text.isin(allowed).to_numpy()
        if (~ok & ~null).any():
            _report(problems, labels, ~ok & ~null, s.to_numpy(dtype=object), col.name,
                    f"must be one of {', '.join(allowed)}")
        if not col.nullable and null.any():
            _report(problems, labels, null, s.to_numpy(dtype=object), col.name, "missing value: required")
        cats = pd.Categorical(text.where(ok, None), categories=allowed)
        return pd.Series(cats, index=s.index, name=s.name)
    out = s.astype(object).where(~null, None)
    if not _all_text(s):
        raw = s.to_numpy(dtype=object)
        is_str = np.array([isinstance(v, str) for v in raw], dtype=bool)
        _report(problems, labels, ~is_str & ~null, raw, col.name, "wrong type: must be text")
    if not col.nullable:
        raw = out.to_numpy(dtype=object)
        _report(problems, labels, null, raw, col.name, "missing value: required")
        empty = (out.where(~null, "x").astype(str).str.strip() == "").to_numpy()
        _report(problems, labels, empty, raw, col.name, "must not be empty")
    return out


def validate_frame(frame: pd.DataFrame, columns: tuple[Column, ...], what: str,
                   problems: Problems | None = None) -> pd.DataFrame:
    """Validate ``frame`` against ``columns``; return a copy with normalised dtypes.

    Columns not in the schema are kept unchanged (no data is lost on a round trip). If
    ``problems`` is given, problems are added to it and the caller raises; otherwise a
    ValidationError is raised here if anything is wrong.
    """
    own = problems is None
    problems = problems if problems is not None else Problems(what)
    if not isinstance(frame, pd.DataFrame):
        problems.add(column="-", value=type(frame).__name__, rule="must be a pandas DataFrame")
        problems.raise_if_any()
    out = frame.copy()
    labels = _labels(out)
    for col in columns:
        if col.name not in out.columns:
            if col.required:
                problems.add(column=col.name, value="<column missing>",
                             rule=f"required column ({col.describe()})")
                continue
            default = None if col.default is _MISSING else col.default
            out[col.name] = default if default is not None else np.nan
        s = out[col.name]
        if col.kind in ("int", "float"):
            out[col.name] = _numeric(col, s, problems, labels)
        elif col.kind == "bool":
            out[col.name] = _boolean(col, s, problems, labels)
        else:
            out[col.name] = _text(col, s, problems, labels)
    if own:
        problems.raise_if_any()
    return out
