"""Vectorised matching of enterprises to the rate rows of a tariff.

Enterprises are reduced to their distinct keys (sector, size band, region, exposure cell, options):
the exposure amounts are cut at every band edge of the manual, so each cell lies wholly inside or
outside every row's band; the rows are then matched once per distinct key (a few hundred even for
a million enterprises) and the row positions broadcast back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import Problems

ANY = "*"
# the options a rate row (and a quote) may be chosen by, besides a manual's own relativity dimensions
OPTIONS = ("per_person", "aggregate", "risk_class")
_TEXT = ("sector", "size_band", "region", "risk_class")
_NUM = ("per_person", "aggregate")


def _rows(index, show: int = 5) -> str:
    ids = [str(i) for i in index[:show]]
    more = f" … (+{len(index) - show})" if len(index) > show else ""
    return ", ".join(ids) + more + f" [{len(index)} enterprise{'s' if len(index) != 1 else ''}]"


def _codes(values) -> tuple[np.ndarray, np.ndarray]:
    if values is None:
        return np.full(1, -1, dtype=np.int64), np.array([], dtype=object)
    # pandas dispatches to the array's own factorize (categorical codes, arrow dictionary encoding)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def match_rows(tariff, frame, problems: Problems, index=None) -> np.ndarray:
    """Position of the matching rate row for each enterprise (-1 where none or several).

    ``frame`` maps sector, size_band, region, exposure, per_person, aggregate, risk_class to
    arrays or Series (or None: not stated for anyone); a missing value means "not stated" too
    (matches any row value; several matches are then an error that asks for the option).
    """
    rows = tariff.rates
    if index is None:
        index = frame.index
    x = np.asarray(frame["exposure"], dtype=float)
    n = len(x)
    edges = np.unique(np.array([v for r in rows for v in (r.exposure_above, r.exposure_upto)
                                if v is not None], dtype=float))
    cell = np.searchsorted(edges, x, side="left").astype(np.int64)
    cell[np.isnan(x)] = -1
    lo = np.array([0 if r.exposure_above is None else np.searchsorted(edges, r.exposure_above) + 1
                   for r in rows])
    hi = np.array([len(edges) if r.exposure_upto is None else np.searchsorted(edges, r.exposure_upto)
                   for r in rows])

    cols = {}
    key = cell + 1
    for c in (*_TEXT, *_NUM):
        v = frame[c] if c in frame else None
        codes, uniq = _codes(v)
        if len(codes) != n:
            codes = np.broadcast_to(codes, (n,))
        cols[c] = (codes, uniq)
        key = key * (len(uniq) + 1) + (codes + 1)
    ukeys, first, inverse = np.unique(key, return_index=True, return_inverse=True)

    row_text = {c: np.array([getattr(r, c) if getattr(r, c) is not None else ANY for r in rows],
                            dtype=object) for c in _TEXT}
    row_num = {c: np.array([np.nan if getattr(r, c) is None else getattr(r, c) for r in rows])
               for c in _NUM}
    known_sectors = set(row_text["sector"].tolist())

    def value(c, i):
        codes, uniq = cols[c]
        return uniq[codes[i]] if codes[i] >= 0 else None

    out_u = np.full(len(ukeys), -1, dtype=np.int64)
    grouped: dict[tuple, list] = {}  # (column, value, rule) -> distinct keys
    for u, i in enumerate(first):
        ok = np.ones(len(rows), dtype=bool)
        for c in _TEXT:
            v = value(c, i)
            if v is not None:
                ok &= (row_text[c] == ANY) | (row_text[c] == str(v))
        for c in _NUM:
            v = value(c, i)
            if v is not None:
                ok &= np.isnan(row_num[c]) | (row_num[c] == float(v))
        if cell[i] >= 0:
            ok &= (lo <= cell[i]) & (cell[i] <= hi)
        hits = np.flatnonzero(ok)
        if len(hits) == 1:
            out_u[u] = hits[0]
            continue
        desc = ", ".join(f"{c}={_fmt(value(c, i))}" for c in (*_TEXT, *_NUM) if value(c, i) is not None)
        if cell[i] >= 0:
            desc += f", exposure={x[i]:,.0f}"
        if len(hits) == 0:
            sector = value("sector", i)
            if sector not in known_sectors:
                grouped.setdefault(("sector", sector, f"not in tariff {tariff.name!r} (it rates: "
                                    f"{', '.join(sorted(known_sectors))})"), []).append(u)
            else:
                grouped.setdefault(("rate", desc, f"no rate row of tariff {tariff.name!r} matches"),
                                   []).append(u)
        else:
            differ = [c for c in (*_TEXT, *_NUM) if len({str(getattr(rows[h], c)) for h in hits}) > 1]
            asks = "; ".join(
                f"state {c} (one of {', '.join(sorted({_fmt(getattr(rows[h], c)) for h in hits}))})"
                for c in differ) or "rows overlap"
            grouped.setdefault(("rate", f"sector={value('sector', i)}",
                                f"several rate rows match: {asks}"), []).append(u)
    for (column, val, rule), us in grouped.items():
        who = index[np.isin(inverse, us)]
        problems.add(row=_rows(who), column=column, value=val, rule=rule)
    return out_u[inverse]


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
