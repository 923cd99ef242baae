"""Design matrices for the rating GLMs: factor coding, base levels, binning, sparse levels.

A :class:`Design` is learned from the training table once (levels, base level of each factor,
bin edges, merged and zero-count levels) and then codes any table the same way, so that
``predict`` uses exactly the coding of ``fit``. It produces either a dense matrix (small data,
statsmodels) or a tabmat ``SplitMatrix`` of ``CategoricalMatrix`` blocks (large data, glum), which
never materialises the dummy columns.

Conventions
-----------
* Categorical factor: treatment coding, one column per level other than the base; the base level is
  by default the most exposed level that has at least one event (``base_levels="most_exposed"``).
* Numeric factor: ``"linear"`` (enters as is: relativity per unit), ``"log"`` (enters as ``log x``:
  the coefficient is an elasticity), an int ``k`` (``k`` exposure-weighted quantile bins, open at
  both ends so any future value has a bin), a list of edges (closed range: values outside are an
  error), or ``"categorical"`` (each distinct value is a level).
* Levels with exposure below ``min_level_exposure`` are pooled into the level ``"(other)"``.
* A non-base level with no event at all has maximum-likelihood relativity exactly 0: its rows are
  set aside from the fit (they add nothing to the likelihood of the other parameters at that
  optimum) and its relativity is reported as 0 with an exact one-sided upper confidence bound.

>>> import pandas as pd
>>> df = pd.DataFrame({"sector": ["mining", "retail", "mining", "retail", "mining"],
...                    "hazard_rate": [0.1, 0.2, 0.3, 0.4, 0.5],
...                    "exposure": [5.0, 1.0, 5.0, 1.0, 5.0], "y": [1, 0, 2, 1, 0]})
>>> d = Design.learn(df, ["sector", "hazard_rate"], weight=df["exposure"].to_numpy(),
...                  counts=df["y"].to_numpy())
>>> d.columns
['(intercept)', 'sector[retail]', 'hazard_rate']
>>> d.dense(df).shape
(5, 3)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .._base.lazy import lazy_module
from ..errors import Problems

pd = lazy_module("pandas")

__all__ = ["OTHER_LEVEL", "Design", "FactorSpec"]

OTHER_LEVEL = "(other)"
INTERCEPT = "(intercept)"

_LEVEL_COLUMNS = ["factor", "level", "exposure", "n_obs", "counts", "is_base"]

# codes of rows whose level carries no column
ZERO_CODE = -2  # a level with no event in training: expected count 0


@dataclass
class FactorSpec:
    """How one factor is coded (learned on the training table)."""

    name: str
    kind: str  # "categorical", "binned", "linear", "log"
    levels: list[str] = field(default_factory=list)  # base first, then the estimated levels
    zero_levels: list[str] = field(default_factory=list)  # levels with no event (relativity 0)
    merged: dict[str, str] = field(default_factory=dict)  # original level -> OTHER_LEVEL
    edges: np.ndarray | None = None  # binned: interior (quantile) or full (given) edges
    closed: bool = False  # binned with user edges: values outside [e0, ek] are invalid
    labels: list[str] = field(default_factory=list)  # binned: label of each bin

    @property
    def is_categorical(self) -> bool:
        return self.kind in ("categorical", "binned")

    @property
    def base(self) -> str | None:
        return self.levels[0] if self.is_categorical else None

    @property
    def columns(self) -> list[str]:
        if self.is_categorical:
            return [f"{self.name}[{lev}]" for lev in self.levels[1:]]
        return [f"log({self.name})" if self.kind == "log" else self.name]


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _is_categorical_dtype(s: pd.Series) -> bool:
    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(s.dtype)
        or pd.api.types.is_object_dtype(s.dtype)
        or pd.api.types.is_string_dtype(s.dtype)
    )


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, probs: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    idx = np.searchsorted(cw, probs * cw[-1], side="left")
    return x[order][np.clip(idx, 0, len(x) - 1)]


class Design:
    """The coding of a set of rating factors, learned from a training table.

    Use :meth:`learn` to build it; then :meth:`codes`, :meth:`dense` or :meth:`tabmat` on any table
    with the factor columns.
    """

    def __init__(self, specs: list[FactorSpec], what: str):
        self.specs = specs
        self.what = what
        # the level_table of the training table, from the sums learn() computed anyway
        self._training_levels: list[tuple] | None = None

    # ------------------------------------------------------------------ learning
    @classmethod
    def learn(
        cls,
        df: pd.DataFrame,
        factors: Sequence[str],
        *,
        weight: np.ndarray,
        counts: np.ndarray | None = None,
        numeric: Mapping[str, object] | None = None,
        base_levels: str | Mapping[str, object] = "most_exposed",
        min_level_exposure: float | None = None,
        what: str = "design",
        rank: np.ndarray | str | None = None,
    ) -> Design:
        """Learn levels, bases and bins of ``factors`` from ``df``.

        ``weight`` (exposure, or claim counts for severity) ranks levels for the base choice and
        for ``min_level_exposure``; ``counts`` (events per row) finds zero-event levels, which
        cannot be the base and get relativity 0. ``rank`` (default ``weight``) replaces ``weight``
        for choosing the base level and the quantile bins: the frequency GLM passes ``"rows"``
        (one per row: enterprise-years), because exposure in different units (workers, yuan,
        vessels) cannot be added up. Every problem is reported in one ValidationError. With
        ``counts``, :meth:`training_level_table` is the :meth:`level_table` of ``df`` without
        another pass over its rows.
        """
        p = Problems(what)
        numeric = dict(numeric or {})
        factors = list(factors)
        if len(set(factors)) != len(factors):
            dup = sorted({f for f in factors if factors.count(f) > 1})
            p.add(column="factors", value=dup, rule="each factor may be listed once")
        for f in factors:
            if f not in df.columns:
                p.add(column=f, value="(missing column)",
                      rule=f"factor column not in the table; columns are {list(df.columns)}")
        for k in numeric:
            if k not in factors:
                p.add(column="numeric", value=k, rule=f"binning given for a column not in factors "
                      f"{factors}")
        if isinstance(base_levels, Mapping):
            for k in base_levels:
                if k not in factors:
                    p.add(column="base_levels", value=k, rule=f"not one of the factors {factors}")
        elif base_levels != "most_exposed":
            p.add(column="base_levels", value=base_levels,
                  rule="'most_exposed' or a dict factor -> base level")
        if min_level_exposure is not None and not (
            np.isfinite(min_level_exposure) and min_level_exposure >= 0
        ):
            p.add(column="min_level_exposure", value=min_level_exposure,
                  rule="a finite number >= 0, or None")
        p.raise_if_any()

        by_row = isinstance(rank, str) and rank == "rows"
        if isinstance(rank, str) and not by_row:
            raise ValueError(f"rank must be an array, 'rows' or None, not {rank!r}")
        rank = weight if rank is None else rank
        specs = []
        for f in factors:
            spec = cls._learn_one(df[f], f, numeric.get(f),
                                  np.ones(len(df)) if by_row else rank, p)
            if spec is not None:
                specs.append(spec)
        p.raise_if_any()

        table: list[tuple] = []
        for spec in specs:
            if spec.is_categorical:
                user_base = base_levels.get(spec.name) if isinstance(base_levels, Mapping) else None
                table += cls._choose_levels(df[spec.name], spec, weight, counts, user_base,
                                            min_level_exposure, p,
                                            rank="rows" if by_row else rank) or []
            else:
                table.append(cls._numeric_row(spec, weight, len(df), counts))
        p.raise_if_any()
        design = cls(specs, what)
        if counts is not None:
            design._training_levels = table
        return design

    @staticmethod
    def _learn_one(s: pd.Series, name: str, how, weight: np.ndarray, p: Problems):
        if s.isna().any():
            bad = s.index[s.isna().to_numpy()].tolist()
            p.add(row=bad, column=name, value="NaN/None",
                  rule=f"missing factor values in {int(s.isna().sum())} rows (first rows shown); "
                  "fill or drop them")
            return None
        if how is None:
            how = "categorical" if _is_categorical_dtype(s) else "linear"
        if how == "categorical":
            return FactorSpec(name, "categorical")
        if _is_categorical_dtype(s):
            p.add(column=name, value=str(s.dtype),
                  rule=f"numeric treatment {how!r} needs a numeric column")
            return None
        x = s.to_numpy(dtype=float)
        if not np.all(np.isfinite(x)):
            p.add(row=s.index[~np.isfinite(x)].tolist(), column=name, value="inf",
                  rule="numeric factor values must be finite")
            return None
        if how in ("linear", "log"):
            if how == "log" and np.any(x <= 0):
                p.add(row=s.index[x <= 0].tolist(), column=name,
                      value=float(x[x <= 0][0]), rule="'log' treatment needs values > 0")
                return None
            if np.ptp(x) == 0:
                p.add(column=name, value=float(x[0]),
                      rule="numeric factor is constant: it cannot be estimated; drop it")
                return None
            return FactorSpec(name, how)
        if isinstance(how, int | np.integer) and not isinstance(how, bool):
            if how < 2:
                p.add(column=name, value=how, rule="number of quantile bins must be >= 2")
                return None
            probs = np.arange(1, how) / how
            interior = np.unique(_weighted_quantiles(x, weight, probs))
            interior = interior[interior < x.max()]  # an edge at the maximum makes an empty bin
            if len(interior) == 0:
                p.add(column=name, value=how,
                      rule="values too concentrated for quantile bins (one bin only)")
                return None
            labels = [f"<= {_fmt(interior[0])}"]
            labels += [f"({_fmt(a)}, {_fmt(b)}]" for a, b in itertools.pairwise(interior)]
            labels.append(f"> {_fmt(interior[-1])}")
            return FactorSpec(name, "binned", edges=interior, closed=False, labels=labels)
        if isinstance(how, Sequence) and not isinstance(how, str):
            try:
                edges = np.asarray(how, dtype=float)
            except (TypeError, ValueError):
                edges = np.array([np.nan])
            if edges.ndim != 1 or len(edges) < 3 or not np.all(np.isfinite(edges)) or np.any(
                np.diff(edges) <= 0
            ):
                p.add(column=name, value=list(how),
                      rule="bin edges must be >= 3 finite, strictly increasing numbers")
                return None
            labels = [f"[{_fmt(edges[0])}, {_fmt(edges[1])}]"]
            labels += [f"({_fmt(a)}, {_fmt(b)}]" for a, b in itertools.pairwise(edges[1:])]
            return FactorSpec(name, "binned", edges=edges, closed=True, labels=labels)
        p.add(column=name, value=how,
              rule="numeric treatment: 'linear', 'log', 'categorical', an int (quantile bins) "
              "or a list of bin edges")
        return None

    @staticmethod
    def _factorize(s: pd.Series, spec: FactorSpec, p: Problems):
        """(codes into uniq, uniq labels as str) for one factor; None after a problem."""
        if spec.kind == "categorical":
            if isinstance(s.dtype, pd.CategoricalDtype):
                inv = s.cat.codes.to_numpy().astype(np.int64)
                uniq = [str(c) for c in s.cat.categories]
            else:
                inv, u = pd.factorize(s, sort=False)
                inv = np.asarray(inv, dtype=np.int64)
                uniq = [str(c) for c in u]
            return inv, uniq
        x = s.to_numpy(dtype=float)
        if spec.closed:
            e = spec.edges
            out = ~((x >= e[0]) & (x <= e[-1]))
            if out.any():
                p.add(row=s.index[out].tolist(), column=spec.name,
                      value=float(x[out][0]),
                      rule=f"outside the bin edges [{_fmt(e[0])}, {_fmt(e[-1])}] "
                      f"({int(out.sum())} rows)")
                return None
            idx = np.clip(np.searchsorted(e, x, side="left") - 1, 0, len(e) - 2)
        else:
            idx = np.searchsorted(spec.edges, x, side="left")
        return idx.astype(np.int64), list(spec.labels)

    @classmethod
    def _choose_levels(cls, s, spec, weight, counts, user_base, min_level_exposure, p, rank=None):
        fz = cls._factorize(s, spec, p)
        if fz is None:
            return
        inv, uniq = fz
        if spec.kind == "binned" or isinstance(s.dtype, pd.CategoricalDtype):
            order = list(uniq)
        else:
            order = sorted(set(uniq))
        expo = np.bincount(inv, weights=weight, minlength=len(uniq))
        cnt = (np.bincount(inv, weights=counts, minlength=len(uniq))
               if counts is not None else np.ones(len(uniq)))
        nrow = np.bincount(inv, minlength=len(uniq))
        size = (expo if rank is None else nrow if isinstance(rank, str)  # "rows"
                else np.bincount(inv, weights=rank, minlength=len(uniq)))
        uniq = [u for u, k in zip(uniq, nrow, strict=True) if k > 0]
        expo, cnt, size, nrow = expo[nrow > 0], cnt[nrow > 0], size[nrow > 0], nrow[nrow > 0]
        stats = {str(u): (e, c) for u, e, c in zip(uniq, expo, cnt, strict=True)}
        sizes = {str(u): w for u, w in zip(uniq, size, strict=True)}
        n_rows = {str(u): int(k) for u, k in zip(uniq, nrow, strict=True)}
        present = [lev for lev in order if lev in stats]

        if min_level_exposure:
            small = [lev for lev in present if stats[lev][0] < min_level_exposure]
            if user_base is not None and str(user_base) in small:
                small.remove(str(user_base))
            if small:
                spec.merged = dict.fromkeys(small, OTHER_LEVEL)
                e = sum(stats[lev][0] for lev in small)
                c = sum(stats[lev][1] for lev in small)
                present = [lev for lev in present if lev not in small] + [OTHER_LEVEL]
                stats[OTHER_LEVEL] = (e, c)
                sizes[OTHER_LEVEL] = sum(sizes[lev] for lev in small)
                n_rows[OTHER_LEVEL] = sum(n_rows[lev] for lev in small)

        if len(present) < 2:
            p.add(column=spec.name, value=present,
                  rule="a factor needs at least 2 levels in the data (after merging levels "
                  "below min_level_exposure); drop it from factors")
            return
        if user_base is not None:
            base = str(user_base)
            if base not in present:
                p.add(column=f"base_levels[{spec.name}]", value=user_base,
                      rule=f"not a level of {spec.name}; levels are {present}")
                return
            if stats[base][1] <= 0:
                p.add(column=f"base_levels[{spec.name}]", value=user_base,
                      rule="the base level has no event, so no level can be compared to it")
                return
        else:
            eligible = [lev for lev in present if stats[lev][1] > 0]
            if not eligible:
                p.add(column=spec.name, value=present, rule="no level has any event")
                return
            base = max(eligible, key=lambda lev: sizes[lev])  # first wins ties: stable
        spec.zero_levels = [lev for lev in present if lev != base and stats[lev][1] <= 0]
        spec.levels = [base] + [lev for lev in present
                                if lev != base and lev not in spec.zero_levels]
        # the rows of level_table on this table, in its order
        return [(spec.name, lev, stats[lev][0], n_rows[lev], stats[lev][1], lev == base)
                for lev in [*spec.levels, *spec.zero_levels]]

    # ------------------------------------------------------------------ coding
    @property
    def columns(self) -> list[str]:
        """Coefficient names: the intercept, then each factor's columns in order."""
        cols = [INTERCEPT]
        for spec in self.specs:
            cols.extend(spec.columns)
        return cols

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def codes(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Integer level codes (categorical: 0 = base; ZERO_CODE for zero-event levels) or floats.

        Unseen levels, missing columns and missing values raise one ValidationError naming every
        factor and level.
        """
        p = Problems(self.what)
        for spec in self.specs:
            if spec.name not in df.columns:
                p.add(column=spec.name, value="(missing column)",
                      rule="factor used in fit is not in the table")
        p.raise_if_any()
        out: dict[str, np.ndarray] = {}
        for spec in self.specs:
            s = df[spec.name]
            if s.isna().any():
                p.add(row=s.index[s.isna().to_numpy()].tolist(), column=spec.name,
                      value="NaN/None", rule="missing factor values")
                continue
            if not spec.is_categorical:
                if _is_categorical_dtype(s):
                    p.add(column=spec.name, value=str(s.dtype), rule="numeric factor expected")
                    continue
                x = s.to_numpy(dtype=float)
                if spec.kind == "log" and np.any(x <= 0):
                    p.add(row=s.index[x <= 0].tolist(), column=spec.name,
                          value=float(x[x <= 0][0]), rule="'log' treatment needs values > 0")
                    continue
                if not np.all(np.isfinite(x)):
                    p.add(column=spec.name, value="inf/NaN", rule="numeric values must be finite")
                    continue
                out[spec.name] = np.log(x) if spec.kind == "log" else x
                continue
            fz = self._factorize(s, spec, p)
            if fz is None:
                continue
            inv, uniq = fz
            lookup = {lev: i for i, lev in enumerate(spec.levels)}
            lookup.update(dict.fromkeys(spec.zero_levels, ZERO_CODE))
            for src, dst in spec.merged.items():
                lookup[src] = lookup[dst] if dst in lookup else ZERO_CODE
            used = np.bincount(inv, minlength=len(uniq)) > 0
            unseen = [u for u, k in zip(uniq, used, strict=True) if k and u not in lookup]
            if unseen:
                known = spec.levels + spec.zero_levels + list(spec.merged)
                p.add(column=spec.name, value=unseen,
                      rule=f"level(s) not seen in fit; known levels: {known}")
                continue
            ucode = np.array([lookup.get(u, -99) for u in uniq], dtype=np.int64)
            out[spec.name] = ucode[inv]
            continue
        p.raise_if_any()
        return out

    def zero_rows(self, codes: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Rows in a level with no event in training (their expected count is 0)."""
        z = np.zeros(n, dtype=bool)
        for spec in self.specs:
            if spec.is_categorical:
                z |= codes[spec.name] == ZERO_CODE
        return z

    def cells(self, codes: Mapping[str, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Group ``rows`` (integer positions) by identical design rows.

        Returns ``(first, cell)``: the position (into ``rows``) of the first row of each cell and
        the cell of every row. Rows of one cell share every factor level and numeric value, so a
        Poisson fit on the cells' summed counts and exposures has the same likelihood equations
        as the fit on the rows.

        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": ["a", "b", "a", "b"], "y": [1, 1, 0, 1]})
        >>> d = Design.learn(df, ["s"], weight=np.ones(4), counts=df["y"].to_numpy())
        >>> first, cell = d.cells(d.codes(df), np.arange(4))
        >>> first.tolist(), cell.tolist()
        ([0, 1], [0, 1, 0, 1])
        """
        n = len(rows)
        key = np.zeros(n, dtype=np.int64)
        size = 1
        for spec in self.specs:
            c = codes[spec.name][rows]
            # float values (numeric factors) and codes alike: exact equality defines a cell
            k, uniq = pd.factorize(c, sort=False)
            radix = max(len(uniq), 1)
            if size * radix >= 2**62:  # compact the key so far so the product cannot overflow
                key, u = pd.factorize(key, sort=False)
                key = key.astype(np.int64)
                size = max(len(u), 1)
            key = key * radix + k
            size *= radix
        cell, _ = pd.factorize(key, sort=False)
        # factorize numbers cells by first appearance: the first row of cell j is where j appears
        first = np.full(int(cell.max()) + 1 if n else 0, n, dtype=np.int64)
        np.minimum.at(first, cell, np.arange(n))
        return first, cell

    def dense(self, df: pd.DataFrame, codes=None, rows: np.ndarray | None = None) -> np.ndarray:
        """Dense design (intercept first). Rows in zero-event levels get all-zero dummies."""
        codes = self.codes(df) if codes is None else codes
        n = len(df) if rows is None else int(np.count_nonzero(rows) if rows.dtype == bool
                                             else len(rows))
        X = np.zeros((n, self.n_columns))
        X[:, 0] = 1.0
        j = 1
        for spec in self.specs:
            c = codes[spec.name] if rows is None else codes[spec.name][rows]
            if spec.is_categorical:
                k = len(spec.levels) - 1
                hit = c >= 1
                X[np.flatnonzero(hit), j + c[hit] - 1] = 1.0
                j += k
            else:
                X[:, j] = c
                j += 1
        return X

    def tabmat(self, df: pd.DataFrame, codes=None, rows: np.ndarray | None = None):
        """A tabmat SplitMatrix (no intercept: glum adds it) that never builds dummy columns.

        Rows in zero-event levels must be excluded through ``rows`` (tabmat has no all-zero code).
        """
        import tabmat

        codes = self.codes(df) if codes is None else codes
        blocks = []
        for spec in self.specs:
            c = codes[spec.name] if rows is None else codes[spec.name][rows]
            if spec.is_categorical:
                if np.any(c < 0):
                    raise ValueError("rows in zero-event levels must be excluded for tabmat")
                cat = pd.Categorical.from_codes(c.astype(np.int32), categories=spec.levels)
                blocks.append(tabmat.CategoricalMatrix(cat, drop_first=True,
                                                       column_name=spec.name))
            else:
                blocks.append(tabmat.DenseMatrix(np.ascontiguousarray(c, dtype=float)[:, None]))
        if not blocks:
            return None
        return blocks[0] if len(blocks) == 1 else tabmat.SplitMatrix(blocks)

    def training_level_table(self) -> pd.DataFrame | None:
        """:meth:`level_table` of the table :meth:`learn` learned from, with its weight and counts
        (None when learned without counts), from the sums that choosing the levels took.

        >>> df = pd.DataFrame({"s": ["a", "b", "a"], "y": [1, 2, 0]})
        >>> d = Design.learn(df, ["s"], weight=np.array([1.0, 2.0, 3.0]), counts=df["y"].to_numpy())
        >>> d.training_level_table().equals(d.level_table(df, d.codes(df), np.array([1.0, 2.0, 3.0]),
        ...                                                df["y"].to_numpy()))
        True
        """
        if self._training_levels is None:
            return None
        return pd.DataFrame(self._training_levels, columns=_LEVEL_COLUMNS)

    def level_table(self, df: pd.DataFrame, codes, weight: np.ndarray,
                    counts: np.ndarray | None) -> pd.DataFrame:
        """Per factor and level: weight (exposure), number of rows and events, base flag."""
        rows = []
        n = len(df)
        for spec in self.specs:
            if spec.is_categorical:
                c = codes[spec.name]
                nl = len(spec.levels)
                idx = np.where(c == ZERO_CODE, nl, c)
                labels = [*spec.levels, "__zero__"]
                w = np.bincount(idx, weights=weight, minlength=nl + 1)
                k = np.bincount(idx, minlength=nl + 1)
                y = (np.bincount(idx, weights=counts, minlength=nl + 1)
                     if counts is not None else np.full(nl + 1, np.nan))
                for i, lev in enumerate(labels[:-1]):
                    rows.append((spec.name, lev, w[i], int(k[i]), y[i], i == 0))
                if spec.zero_levels:
                    # each zero level separately (they share the code)
                    inv, uniq = self._factorize(df[spec.name], spec, Problems(self.what))
                    for lev in spec.zero_levels:
                        m = self.level_mask(spec, lev, inv, uniq)
                        rows.append((spec.name, lev, float(weight[m].sum()), int(m.sum()),
                                     float(counts[m].sum()) if counts is not None else np.nan,
                                     False))
            else:
                rows.append(self._numeric_row(spec, weight, n, counts))
        return pd.DataFrame(rows, columns=_LEVEL_COLUMNS)

    @classmethod
    def _numeric_row(cls, spec: FactorSpec, weight: np.ndarray, n: int, counts) -> tuple:
        """The level-table row of a numeric factor: one row for the whole table."""
        return (spec.name, cls._unit_label(spec), float(weight.sum()), n,
                float(counts.sum()) if counts is not None else np.nan, False)

    @staticmethod
    def level_mask(spec: FactorSpec, level, inv: np.ndarray, uniq) -> np.ndarray:
        """Rows whose value of ``spec``'s factor is ``level`` (after pooling into "(other)"),
        from :meth:`_factorize`'s codes: integer codes compared, not 500,000 labels."""
        hit = [i for i, u in enumerate(uniq) if spec.merged.get(u, u) == level]
        return np.isin(inv, hit)

    @staticmethod
    def _unit_label(spec: FactorSpec) -> str:
        return "x2" if spec.kind == "log" else "+1 unit"


def linear_predictor(design: Design, codes: dict, beta: np.ndarray, n: int):
    """``X beta`` straight from level codes (no matrix), and the mask of zero-event rows."""
    eta = np.full(n, float(beta[0]))
    zero = np.zeros(n, dtype=bool)
    j = 1
    for spec in design.specs:
        c = codes[spec.name]
        if spec.is_categorical:
            k = len(spec.levels) - 1
            vals = np.concatenate([[0.0], beta[j:j + k]])
            if spec.zero_levels:  # only then can a row carry ZERO_CODE
                is_zero = c == ZERO_CODE
                zero |= is_zero
                c = np.where(is_zero, 0, c)
            eta += vals[c]
            j += k
        else:
            eta += beta[j] * c
            j += 1
    return eta, zero


def wald_relativities(design: Design, levels: pd.DataFrame, beta: np.ndarray, se: np.ndarray,
                      z: float, zero_upper=None) -> pd.DataFrame:
    """Relativity ``exp(b)`` and Wald interval ``exp(b ± z se)`` for every row of ``levels``.

    ``levels`` comes from :meth:`Design.level_table` (same order). Base levels get 1 [1, 1];
    zero-event levels get 0 with ``[0, zero_upper(spec, level)]``. A ``log`` factor is reported
    per doubling (``2**b``).
    """
    rel, lo, hi = [], [], []
    j = 1
    for spec in design.specs:
        if spec.is_categorical:
            nk = len(spec.levels) - 1
            rel.append(1.0)
            lo.append(1.0)
            hi.append(1.0)
            for i in range(nk):
                bi, si = beta[j + i], se[j + i]
                rel.append(np.exp(bi))
                lo.append(np.exp(bi - z * si))
                hi.append(np.exp(bi + z * si))
            j += nk
            for lev in spec.zero_levels:
                rel.append(0.0)
                lo.append(0.0)
                hi.append(zero_upper(spec, lev) if zero_upper else np.inf)
        else:
            s = np.log(2.0) if spec.kind == "log" else 1.0
            rel.append(np.exp(s * beta[j]))
            lo.append(np.exp(s * (beta[j] - z * se[j])))
            hi.append(np.exp(s * (beta[j] + z * se[j])))
            j += 1
    out = levels.copy()
    out.insert(2, "relativity", np.asarray(rel, dtype=float))
    out.insert(3, "ci_low", np.asarray(lo, dtype=float))
    out.insert(4, "ci_high", np.asarray(hi, dtype=float))
    return out
