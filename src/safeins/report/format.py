"""Readable numbers and headers with units, for the HTML report.

Every column the report shows gets a unit in its header (``final premium (yuan)``), and every number
is formatted for people: thousands separators, no scientific notation, shares as percentages, and a
dash where a value does not apply (a total of quantities in different units). A column whose unit is
unknown is an error, so a table cannot reach the report without units.

>>> import pandas as pd
>>> html = table_html(pd.DataFrame({"final_premium": [1234567.8, float("nan")], "share": [0.125, 0.5]}))
>>> "final premium (yuan)" in html, "1,234,568" in html, "12.5 %" in html, "–" in html
(True, True, True, True)
"""

from __future__ import annotations

import html as _html
import math

import pandas as pd

from ..errors import Problem, ValidationError

__all__ = ["UNITS", "format_number", "header", "table_html"]

#: unit of each column name the report knows (``kind`` decides the number format, see format_number)
UNITS: dict[str, tuple[str, str]] = {
    # name: (unit shown in the header, kind)
    "enterprises": ("count", "count"),
    "enterprise_years": ("count", "count"),
    "worker_years": ("worker-years", "count"),
    "accidents": ("count", "count"),
    "deaths": ("count", "count"),
    "larger_or_worse": ("count", "count"),
    "n_obs": ("enterprise-years", "count"),
    "counts": ("accidents", "count"),
    "accidents_per_100_workers": ("per 100 worker-years", "rate"),
    "deaths_per_100k_workers": ("per 100,000 worker-years", "rate"),
    "hazards_per_100_workers": ("mean over enterprise-years", "rate"),
    "relativity": ("×", "ratio"),
    "ci_low": ("×", "ratio"),
    "ci_high": ("×", "ratio"),
    "factor": ("×", "ratio"),
    "mean_factor": ("×", "ratio"),
    "final_to_base": ("×", "ratio"),
    "vs_optimal": ("share of the optimum", "percent"),
    "benefit_cost": ("yuan avoided per yuan spent", "ratio"),
    "exposure": ("in the sector's exposure base", "count"),
    "base_premium": ("yuan", "money"),
    "final_premium": ("yuan", "money"),
    "premium": ("yuan", "money"),
    "claims": ("yuan", "money"),
    "result": ("yuan", "money"),
    "capital": ("yuan", "money"),
    "spent": ("yuan", "money"),
    "spend": ("yuan", "money"),
    "losses_avoided": ("yuan per year", "money"),
    "accidents_avoided": ("accidents per year", "rate"),
    "premium_per_worker": ("yuan per worker", "money"),
    "share": ("share", "percent"),
    "share_capped": ("share of enterprises", "percent"),
    "share_min_premium": ("share of enterprises", "percent"),
    "loss_ratio": ("claims ÷ premium", "percent"),
    "combined_ratio": ("share of premium", "percent"),
    "ruin_probability": ("probability", "percent"),
}


def _kind_of(name: str) -> tuple[str, str] | None:
    if name in UNITS:
        return UNITS[name]
    if name.startswith("spend_"):
        return ("yuan", "money")
    return None


def format_number(x, kind: str) -> str:
    """One number for people: ``count`` 12,345; ``money`` 1,234,568 (2 decimals under 100);
    ``ratio`` 3 significant digits; ``percent`` 12.5 %; ``rate`` 3 significant digits, never
    scientific; NaN or None is a dash.

    >>> [format_number(v, k) for v, k in [(2.952e-05, "rate"), (1e6, "count"), (0.0123, "percent")]]
    ['0.0000295', '1,000,000', '1.23 %']
    """
    if x is None or isinstance(x, bool | str):
        return "–" if x is None else ("yes" if x is True else "no" if x is False else str(x))
    x = float(x)
    if math.isnan(x):
        return "–"
    if kind == "count":
        return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else _significant(x, 3)
    if kind == "money":
        return f"{x:,.0f}" if abs(x) >= 100 or x == 0 else f"{x:,.2f}"
    if kind == "percent":
        return _significant(100 * x, 3) + " %"
    return _significant(x, 3)


def _significant(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits in plain notation with thousands separators."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{decimals}f}"


def _cell(value, unit: tuple[str, str] | None) -> str:
    if unit is not None:
        return format_number(value, unit[1])
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | int | float) and not isinstance(value, str):
        # a mixed column (a rule's value and limit: yuan, shares, yes/no): plain numbers, grouped
        return format_number(value, "count" if float(value).is_integer() else "ratio")
    return str(value)


def _label(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return str(value)


def header(name, unit: str | None) -> str:
    """``final_premium`` with unit ``yuan`` -> ``final premium (yuan)``."""
    text = str(name).replace("_", " ")
    return f"{text} ({unit})" if unit else text


def table_html(frame: pd.DataFrame, *, units: dict | None = None, unit: tuple[str, str] | None = None,
               where: str = "table") -> str:
    """``frame`` as an HTML table with a unit in every column header and readable numbers.

    ``units`` maps column names to ``(unit, kind)`` (or to ``None`` for a text column) before the
    defaults in :data:`UNITS`; ``unit`` applies to every column not otherwise known. Raises a
    ValidationError naming every column whose unit is unknown.
    """
    units = dict(units or {})
    cols, problems = [], []
    for c in frame.columns:
        u = units[c] if c in units else _kind_of(str(c)) or unit
        if u is None and (c not in units) and pd.api.types.is_numeric_dtype(frame[c]):
            problems.append(Problem(None, str(c), "no unit", f"a unit for the column (report {where!r})"))
        cols.append((c, u))
    if problems:
        raise ValidationError("report table", problems)
    index_names = [n for n in frame.index.names if n is not None]
    # index levels are labels (sector, year, grade) unless numeric with a known unit (a factor value)
    idx_units = [(_kind_of(str(n)) or units.get(n))
                 if pd.api.types.is_float_dtype(frame.index.get_level_values(n)) else None
                 for n in index_names]
    head = "".join(f"<th scope='col'>{_html.escape(header(n, u[0] if u else None))}</th>"
                   for n, u in zip(index_names, idx_units, strict=True))
    head += "".join(f"<th scope='col'>{_html.escape(header(c, u[0] if u else None))}</th>" for c, u in cols)
    rows = []
    for key, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        keys = key if isinstance(key, tuple) else (key,)
        # a label is shown as it is (a year is 2024, not 2,024)
        cells = "".join(f"<th scope='row'>{_html.escape(_cell(k, u) if u else _label(k))}</th>"
                        for k, u in zip(keys[:len(index_names)], idx_units, strict=False))
        cells += "".join(f"<td class='{'num' if u else 'txt'}'>{_html.escape(_cell(v, u))}</td>"
                         for v, (_, u) in zip(row, cols, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return (f"<div class='table-wrap'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")
