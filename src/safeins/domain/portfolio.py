"""Validated domain tables: the insured portfolio, its accident history and hazard records.

* :class:`Portfolio`: one row per enterprise (index ``enterprise_id``).
* :class:`AccidentHistory`: one row per accident (index ``accident_id``), each graded by the 2007
  State Council rules (:func:`accident_grade`) and marked ``reportable`` (a death, a serious injury
  or a direct loss of at least ``REPORTABLE_LOSS_THRESHOLD``) or not (a minor claim event);
  optionally a per-victim table.
* :class:`HazardHistory`: one row per enterprise and year of hazard inspection (隐患排查).
* :func:`exposure_table`: the enterprise-year table that frequency models are fitted on.

Each table validates everything when built and raises one
:class:`~safeins.errors.ValidationError` listing every bad row and field; nothing is dropped,
clipped or coerced silently, and CSV/parquet round trips lose nothing.

>>> import safeins as si
>>> pf = si.Portfolio(si.datasets.example_portfolio_frame())
>>> len(pf), pf.to_frame().loc["E1", "sector"]
(3, 'mining')
>>> accident_grade(deaths=3, serious_injuries=0, direct_loss=0.0)
'较大'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._base.results import ResultMixin
from .._base.schema import Column, validate_frame
from ..errors import Problem, Problems, SafeinsWarning, ValidationError
from . import sectors as _sectors
from .io import read_table, write_table
from .sectors import GRADES

__all__ = [
    "ACCIDENT_COLUMNS",
    "GRADE_THRESHOLDS",
    "HAZARD_COLUMNS",
    "PORTFOLIO_COLUMNS",
    "REPORTABLE_LOSS_THRESHOLD",
    "SIZE_BAND_HEADCOUNT",
    "VICTIM_COLUMNS",
    "AccidentHistory",
    "DefaultsWarning",
    "HazardHistory",
    "Portfolio",
    "accident_grade",
    "exposure_table",
]

YEAR_MIN, YEAR_MAX = 1949, 2100
_BASE_OF = {s.code: s.exposure_base for s in _sectors.all_sectors()}
SIZE_BANDS = ("large", "medium", "small", "micro")
CREDIT_GRADES = ("A", "B", "C", "D")
STANDARDIZATION = ("1", "2", "3", "none")
AWARDS = ("none", "city", "province")

#: Size band from headcount alone, when a book has no ``size_band`` column: the employee thresholds
#: of the industrial sector in 统计上大中小微型企业划分办法（2017） (National Bureau of Statistics,
#: 国统字〔2017〕213号): large from 1,000 employees, medium from 300, small from 20, micro below.
#: The official rule also uses revenue, and other sectors' thresholds differ; give ``size_band``
#: explicitly where that matters.
SIZE_BAND_HEADCOUNT: tuple[tuple[int, str], ...] = ((1000, "large"), (300, "medium"), (20, "small"),
                                                    (0, "micro"))

PORTFOLIO_COLUMNS: tuple[Column, ...] = (
    Column("sector", "category", allowed=_sectors.codes(), doc="sector code (safeins.domain.sectors)"),
    Column("region", "str", doc="region (city) name"),
    Column("headcount", "int", min=1, doc="employees covered (full workforce)"),
    Column("credit_grade", "category", allowed=CREDIT_GRADES, doc="work-safety credit grade"),
    Column("size_band", "category", required=False, allowed=SIZE_BANDS,
           doc="enterprise size class; derived from headcount when the column is absent "
               "(SIZE_BAND_HEADCOUNT)"),
    Column("payroll", "float", required=False, nullable=True, min=0,
           doc="annual payroll, yuan; required where the sector's base is payroll"),
    Column("revenue", "float", required=False, nullable=True, min=0,
           doc="annual revenue, yuan; required where the sector's base is revenue"),
    Column("contract_value", "float", required=False, nullable=True, min=0,
           doc="contract (project) value, yuan; required where the sector's base is contract value"),
    Column("vehicles", "float", required=False, nullable=True, min=0,
           doc="vehicles operated; required where the sector's base is vehicles"),
    Column("vessels", "float", required=False, nullable=True, min=0,
           doc="vessels operated; required where the sector's base is vessels"),
    Column("blacklisted", "bool", required=False, default=False,
           doc="on the 失信联合惩戒 blacklist; default False when the column is absent"),
    Column("standardization", "category", required=False, allowed=STANDARDIZATION, default="none",
           doc="安全生产标准化 level (1 best) or none; default none when the column is absent"),
    Column("years_insured", "int", required=False, min=0, default=0,
           doc="consecutive years insured; default 0 when the column is absent"),
    Column("award", "category", required=False, allowed=AWARDS, default="none",
           doc="safety award: none, city (市级先进) or province (省级先进)"),
)

#: The exposure-base columns a sector may need (headcount is always required).
BASE_COLUMNS = ("payroll", "revenue", "contract_value", "vehicles", "vessels")


class DefaultsWarning(SafeinsWarning):
    """A table was built with optional columns absent: the one warning lists every default used.

    >>> issubclass(DefaultsWarning, UserWarning)
    True
    """


ACCIDENT_COLUMNS: tuple[Column, ...] = (
    Column("enterprise_id", "str"),
    Column("year", "int", min=YEAR_MIN, max=YEAR_MAX),
    Column("employee_deaths", "int", min=0),
    Column("employee_serious_injuries", "int", min=0, doc="serious injuries incl. acute poisoning"),
    Column("employee_minor_injuries", "int", min=0),
    Column("third_party_deaths", "int", min=0),
    Column("third_party_injuries", "int", min=0, doc="seriously injured third parties"),
    Column("direct_loss", "float", min=0, doc="direct economic loss as reported, yuan (grades it)"),
    Column("property_damage", "float", min=0, doc="third-party property damage, yuan"),
    Column("rescue_cost", "float", min=0, doc="rescue, medical rescue, investigation, legal, yuan"),
    Column("amount_paid", "float", required=False, nullable=True, min=0,
           doc="insurer's payment, yuan; missing where unknown"),
)

VICTIM_COLUMNS: tuple[Column, ...] = (
    Column("accident_id", "str"),
    Column("role", "category", allowed=("employee", "third_party")),
    Column("outcome", "category", allowed=("death", "disability", "medical")),
    Column("disability_grade", "int", nullable=True, min=1, max=10,
           doc="1 (most severe) to 10; only for outcome 'disability'"),
    Column("medical_cost", "float", min=0, doc="medical cost, yuan"),
)

HAZARD_COLUMNS: tuple[Column, ...] = (
    Column("enterprise_id", "str"),
    Column("year", "int", min=YEAR_MIN, max=YEAR_MAX),
    Column("hazards_found", "int", min=0),
    Column("major_hazards_found", "int", min=0, doc="重大事故隐患 found"),
    Column("rectified_on_time", "int", min=0),
    Column("unrectified", "int", min=0, doc="hazards still unrectified at year end"),
)

#: (grade, deaths, serious injuries, direct loss): "以上" includes the number (国务院令第493号 art. 3).
GRADE_THRESHOLDS: tuple[tuple[str, int, int, float], ...] = (
    ("特别重大", 30, 100, 1e8),
    ("重大", 10, 50, 5e7),
    ("较大", 3, 10, 1e7),
)


#: Direct loss (yuan) from which an accident without death or serious injury is still reportable.
#: ILLUSTRATIVE: the 2007 rules (国务院令第493号) grade every 生产安全事故 but fix no lower loss bound
#: for recording one, and no national threshold separating a recorded accident from a minor claim
#: event was found; 1,000,000 yuan is a tenth of the 较大 loss threshold. Pass your own to
#: ``AccidentHistory(..., reportable_loss_threshold=...)``.
REPORTABLE_LOSS_THRESHOLD = 1_000_000.0


def accident_grade(deaths, serious_injuries, direct_loss):
    """Grade accidents by the 2007 State Council rules (国务院令第493号): the highest grade wins.

    ``以上`` includes the number and ``以下`` excludes it: 3 deaths is 较大, 10 is 重大, 30 is 特别重大,
    and a direct loss of exactly 10,000,000 yuan is 较大. Scalars give a str, arrays an ordered
    Categorical.

    >>> accident_grade(2, 9, 9_999_999.0)
    '一般'
    >>> list(accident_grade([0, 10, 0], [50, 0, 0], [0, 0, 1e8]))
    ['重大', '重大', '特别重大']
    """
    scalar = np.ndim(deaths) == 0 and np.ndim(serious_injuries) == 0 and np.ndim(direct_loss) == 0
    d = np.asarray(deaths, dtype=float)
    s = np.asarray(serious_injuries, dtype=float)
    loss = np.asarray(direct_loss, dtype=float)
    code = np.zeros(np.broadcast(d, s, loss).shape, dtype=np.int8)
    for level, (_, dmin, smin, lmin) in zip((3, 2, 1), GRADE_THRESHOLDS, strict=True):
        hit = (d >= dmin) | (s >= smin) | (loss >= lmin)
        code = np.where((code == 0) & hit, level, code)
    if scalar:
        return GRADES[int(code)]
    return pd.Categorical.from_codes(code.ravel(), categories=list(GRADES), ordered=True)


class _Table(ResultMixin):
    """Shared behaviour of the validated tables: frame access, CSV/parquet round trips."""

    _what = "table"
    _index: str | None = None

    def __init__(self, data: pd.DataFrame):  # pragma: no cover - subclasses define it
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """A copy of the validated table."""
        return self._frame.copy()

    @property
    def frame(self) -> pd.DataFrame:
        """The validated table itself (read-only by convention: do not modify in place)."""
        return self._frame

    def __len__(self) -> int:
        return len(self._frame)

    def _to_storable(self) -> pd.DataFrame:
        # derived columns are recomputed (and checked) when the table is read back
        frame = self._frame.drop(columns=[c for c in ("grade", "reportable") if c in self._frame.columns])
        return frame.reset_index() if self._index else frame

    def to_csv(self, path: str | Path) -> Path:
        """Write the table as CSV (UTF-8); ``read_csv`` reads it back to an equal table."""
        path = Path(path)
        self._to_storable().to_csv(path, index=False, encoding="utf-8")
        return path

    def to_parquet(self, path: str | Path) -> Path:
        """Write the table as parquet (needs pyarrow: ``pip install safeins[parquet]``)."""
        path = Path(path)
        self._to_storable().to_parquet(path, index=False)
        return path

    @classmethod
    def _text_columns(cls) -> dict[str, str]:
        cols = cls._schema_columns()
        text = {c.name: "string" for c in cols if c.kind in ("str", "category")}
        if cls._index:
            text[cls._index] = "string"
        return text

    @classmethod
    def _schema_columns(cls) -> tuple[Column, ...]:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def _from_read(cls, frame: pd.DataFrame, **kwargs):
        # readers give pandas' string dtype; safeins stores text as Python str objects
        for col, kind in cls._text_columns().items():
            if col in frame.columns and kind == "string":
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        return cls(frame, **kwargs)

    @classmethod
    def read(cls, path: str | Path, *, encoding: str | None = None, **kwargs):
        """Read the table from a CSV, Excel (``.xlsx``, first sheet) or parquet file, by suffix.

        ``encoding`` is the CSV's text encoding (default UTF-8; a GBK/GB18030 file from Excel is
        detected and the error names the encoding to pass). Bad files (missing, empty, ragged,
        wrongly encoded) raise one :class:`~safeins.errors.ValidationError` naming the file.
        """
        frame = read_table(path, encoding=encoding, dtype=cls._text_columns(),
                           what=f"{cls._what} file {Path(path).name!r}")
        return cls._from_read(frame, **kwargs)

    @classmethod
    def read_csv(cls, path: str | Path, *, encoding: str | None = None, **kwargs):
        """Read a table written by ``to_csv`` (or any CSV with the schema's columns); see :meth:`read`."""
        return cls.read(path, encoding=encoding, **kwargs)

    @classmethod
    def read_excel(cls, path: str | Path, **kwargs):
        """Read the table from the first sheet of an Excel workbook (``.xlsx``); see :meth:`read`."""
        return cls.read(path, **kwargs)

    def to_excel(self, path: str | Path) -> Path:
        """Write the table as an Excel workbook (one sheet); ``read_excel`` reads it back."""
        path = Path(path)
        self._to_storable().to_excel(path, index=False, engine="openpyxl")
        return path

    @classmethod
    def read_parquet(cls, path: str | Path, **kwargs):
        """Read a table written by ``to_parquet``."""
        return cls._from_read(pd.read_parquet(path), **kwargs)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._frame.equals(other._frame)

    __hash__ = None


def _take_index(frame: pd.DataFrame, name: str, problems: Problems) -> pd.DataFrame:
    """Move the id column to the index (or accept an index already named so) and check it."""
    if not isinstance(frame, pd.DataFrame):
        problems.add(column="-", value=type(frame).__name__, rule="must be a pandas DataFrame")
        problems.raise_if_any()
    if name in frame.columns:
        frame = frame.set_index(name)
    elif frame.index.name != name:
        problems.add(column=name, value="<column missing>",
                     rule=f"required: a column or index named {name!r}")
        problems.raise_if_any()
    ids = frame.index.to_numpy(dtype=object)
    idx = pd.Series(ids, dtype=object)
    text = pd.api.types.infer_dtype(idx, skipna=False) == "string"
    bad = (~np.array([isinstance(v, str) for v in ids], dtype=bool) if not text
           else np.zeros(len(ids), bool)) | (idx.astype(str).str.strip() == "").to_numpy()
    for pos in np.flatnonzero(bad):
        problems.add(row=f"#{pos}", column=name, value=ids[pos], rule="id must be non-empty text")
    dup = frame.index.duplicated(keep=False)
    for pos in np.flatnonzero(dup):
        problems.add(row=f"#{pos}", column=name, value=ids[pos], rule="duplicated id")
    frame = frame.copy()
    frame.index = pd.Index(ids, dtype=object, name=name)
    return frame


def _absent_defaults(frame: pd.DataFrame, columns: tuple[Column, ...]) -> dict[str, str]:
    """The optional columns absent from ``frame`` that take a stated default, and that default."""
    return {c.name: f"default {c.default!r}" for c in columns
            if not c.required and c.has_default and c.name not in frame.columns}


def _size_band_of(headcount: pd.Series) -> pd.Series:
    """Size band by the headcount thresholds; values that are not counts are left for validation."""
    n = pd.to_numeric(headcount, errors="coerce").to_numpy(dtype=float)
    out = np.full(len(n), SIZE_BANDS[-1], dtype=object)
    # a headcount that is not a number is reported by the headcount check and the constructor
    # raises, so the stand-in band of such a row never leaves it
    for low, band in reversed(SIZE_BAND_HEADCOUNT):
        out[n >= low] = band
    return pd.Series(out, index=headcount.index, dtype=object)


class Portfolio(_Table):
    """The insured enterprises: one row per enterprise, indexed by ``enterprise_id``.

    A book needs only what its sectors' rating needs: ``enterprise_id``, ``sector``, ``region``,
    ``headcount`` and ``credit_grade`` (A–D), plus the sector's exposure base where it is not
    headcount (``payroll``, ``revenue``, ``contract_value``, ``vehicles`` or ``vessels``; see
    :data:`PORTFOLIO_COLUMNS`). ``size_band`` is derived from headcount when absent
    (:data:`SIZE_BAND_HEADCOUNT`); ``blacklisted`` (False), ``standardization`` ("none"),
    ``years_insured`` (0) and ``award`` ("none") take their defaults. When any column is filled
    this way one :class:`DefaultsWarning` lists them all, and ``defaults_applied`` keeps the list.
    Other columns are kept as they are.

    >>> import safeins as si
    >>> pf = si.Portfolio(si.datasets.example_portfolio_frame())
    >>> pf.exposure().round(0).to_dict()
    {'E1': 120.0, 'E2': 50000000.0, 'E3': 35.0}
    >>> import pandas as pd, warnings
    >>> book = pd.DataFrame({"enterprise_id": ["F1"], "sector": ["fireworks"], "region": ["宁波"],
    ...                      "headcount": [350], "credit_grade": ["B"]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     small = si.Portfolio(book)
    >>> len(caught), small.frame.loc["F1", "size_band"], sorted(small.defaults_applied)[:2]
    (1, 'medium', ['award', 'blacklisted'])
    """

    _what = "Portfolio"
    _index = "enterprise_id"

    def __init__(self, data: pd.DataFrame):
        if isinstance(data, Portfolio):
            data = data.to_frame()
        problems = Problems("Portfolio")
        frame = _take_index(data, "enterprise_id", problems)
        applied = _absent_defaults(frame, PORTFOLIO_COLUMNS)
        if "size_band" not in frame.columns and "headcount" in frame.columns:
            frame = frame.assign(size_band=_size_band_of(frame["headcount"]))
            applied["size_band"] = "derived from headcount (" + ", ".join(
                f"{band} from {low:,}" for low, band in SIZE_BAND_HEADCOUNT) + ")"
        frame = validate_frame(frame, PORTFOLIO_COLUMNS, "Portfolio", problems)
        if "sector" in frame.columns:
            self._check_exposure_bases(frame, problems)
        problems.raise_if_any()
        self._frame = frame
        self.defaults_applied: dict[str, str] = applied
        if applied:
            import warnings

            warnings.warn("Portfolio: columns absent, defaults used: "
                          + "; ".join(f"{k}: {v}" for k, v in applied.items()),
                          DefaultsWarning, stacklevel=2)

    @classmethod
    def _schema_columns(cls):
        return PORTFOLIO_COLUMNS

    @staticmethod
    def _check_exposure_bases(frame: pd.DataFrame, problems: Problems) -> None:
        sector = frame["sector"].astype(object).to_numpy()
        bases = frame["sector"].map(_BASE_OF).astype(object).to_numpy()
        for base in BASE_COLUMNS:
            uses = bases == base
            values = frame[base].to_numpy(dtype=float)
            missing = uses & np.isnan(values)
            for i in np.flatnonzero(missing):
                problems.add(row=frame.index[i], column=base, value=None,
                             rule=f"required: sector {sector[i]!r} is rated per {base}")
            zero = uses & (values == 0)
            for i in np.flatnonzero(zero):
                problems.add(row=frame.index[i], column=base, value=0.0,
                             rule=f"must be > 0: sector {sector[i]!r} is rated per {base}")

    def exposure(self) -> pd.Series:
        """Each enterprise's annual exposure in its sector's exposure base (persons, yuan, vehicles...)."""
        frame = self._frame
        base = frame["sector"].astype(object).map(_BASE_OF)
        out = pd.Series(np.nan, index=frame.index, name="exposure")
        for b in base.unique():
            rows = base == b
            out[rows] = frame.loc[rows, b].astype(float)
        return out

    def exposure_base(self) -> pd.Series:
        """The exposure base each enterprise is rated on (a sector property)."""
        return self._frame["sector"].astype(object).map(_BASE_OF).rename("exposure_base")

    def count_table(self, counts: str = "accidents", years: str | float = 1.0) -> pd.DataFrame:
        """A table to fit frequency models on from per-enterprise accident counts (no accident table).

        For a book that records how many accidents each enterprise had (column ``counts``) over
        ``years`` years (a number, or the name of a column of years observed per enterprise):
        one row per enterprise with enterprise_id, the rating factors, ``exposure`` (the sector's
        base times the years observed) and ``accidents``. A Poisson GLM fitted on it gives the
        same estimates as one fitted on the enterprise-year :func:`exposure_table`, since the
        factors are constant over the years.

        >>> import safeins as si
        >>> book = si.datasets.example_portfolio_frame().assign(accidents=[1, 0, 2])
        >>> si.Portfolio(book).count_table(years=2)[["exposure", "accidents"]].to_numpy().tolist()
        [[240.0, 1.0], [100000000.0, 0.0], [70.0, 2.0]]
        """
        f = self._frame
        problems = Problems("Portfolio.count_table")
        cols = [Column(counts, "int", min=0, doc="accidents over the years observed")]
        if isinstance(years, str):
            cols.append(Column(years, "float", min=0, doc="years observed"))
        elif not (isinstance(years, int | float) and not isinstance(years, bool) and np.isfinite(years)
                  and years > 0):
            problems.add(column="years", value=years, rule="a number > 0 or the name of a column")
        checked = validate_frame(f[[c.name for c in cols if c.name in f.columns]], cols,
                                 "Portfolio.count_table", problems)
        if isinstance(years, str) and years in checked.columns:
            zero = checked[years].to_numpy() == 0
            for i in np.flatnonzero(zero):
                problems.add(row=f.index[i], column=years, value=0.0, rule="must be > 0")
        problems.raise_if_any()
        span = checked[years].to_numpy(dtype=float) if isinstance(years, str) else float(years)
        factors = ["sector", "region", "size_band", "credit_grade", "blacklisted", "standardization",
                   "award", "headcount", "years_insured"]
        out = f[factors].reset_index()
        out["exposure"] = self.exposure().to_numpy() * span
        out["accidents"] = checked[counts].to_numpy()
        return out

    def regime_facts(self) -> dict:
        """Facts a regime can check: each enterprise's insured persons against its own headcount.

        ``headcount`` is the enterprise's own workforce; an optional ``insured`` column (kept as
        given) says how many of them the policy names. Without it every employee counts as insured.

        >>> import safeins as si
        >>> f = si.datasets.example_portfolio_frame().assign(insured=[120, 250, 50])
        >>> si.regimes.get("national-2025").check(si.Portfolio(f)).failed()[0].subject
        'E2'
        """
        f = self._frame
        insured = f["insured"] if "insured" in f.columns else f["headcount"]
        return {"workforce": pd.DataFrame({"headcount": f["headcount"].to_numpy(dtype=float),
                                           "insured": pd.to_numeric(insured, errors="coerce")
                                           .to_numpy(dtype=float)}, index=f.index)}

    def summary(self) -> pd.DataFrame:
        """Enterprises, headcount and credit-grade mix by sector."""
        f = self._frame
        out = f.groupby("sector", observed=True).agg(
            enterprises=("headcount", "size"), headcount=("headcount", "sum"),
            regions=("region", "nunique"))
        grades = pd.crosstab(f["sector"], f["credit_grade"], normalize="index").round(3)
        return out.join(grades.add_prefix("share_"))

    def plot(self, ax=None):
        """Bar chart of enterprises by sector."""
        from .._base.plotting import axes

        ax = axes(ax)
        counts = self._frame["sector"].value_counts()
        ax.barh(counts.index.astype(str), counts.to_numpy())
        ax.set_xlabel("enterprises")
        ax.set_title("Portfolio by sector")
        return ax


def _check_known(frame: pd.DataFrame, portfolio: Portfolio | None, problems: Problems) -> None:
    if portfolio is None or "enterprise_id" not in frame.columns:
        return
    known = portfolio.frame.index
    ids = frame["enterprise_id"]
    unknown = ~ids.isin(known).to_numpy() & ids.notna().to_numpy()
    for i in np.flatnonzero(unknown):
        problems.add(row=frame.index[i], column="enterprise_id", value=ids.iloc[i],
                     rule="unknown enterprise: not in the portfolio")



def _covered_years(frame: pd.DataFrame, years, what: str, problems: Problems) -> tuple[int, ...]:
    """The years a history covers: those it states (``years=``) and those its rows fall in.

    A history with no row for a year is a clean record only when it says it covers that year
    (pricing refuses to read an uncovered prior year as accident-free).
    """
    stated: list[int] = []
    for y in [] if years is None else list(years):
        if isinstance(y, bool) or not isinstance(y, int | np.integer) or not 1949 <= int(y) <= 2100:
            problems.add(column="years", value=y, rule=f"{what}: whole years in 1949-2100")
        else:
            stated.append(int(y))
    seen = pd.unique(frame["year"].dropna()).tolist() if "year" in frame.columns else []
    return tuple(sorted({*stated, *(int(y) for y in seen)}))


class AccidentHistory(_Table):
    """Accidents: one row per accident, indexed by ``accident_id``, graded on construction.

    ``grade`` (一般/较大/重大/特别重大, ordered) is computed from deaths (employees + third
    parties), serious injuries (employees + third parties) and the direct loss. ``reportable`` is
    True for an accident with a death, a serious injury or a direct loss of at least
    ``reportable_loss_threshold`` yuan (default :data:`REPORTABLE_LOSS_THRESHOLD`, illustrative),
    False for a minor claim event (slight injuries, small losses) that the insurer pays but the
    accident statistics do not count. ``grade`` and ``reportable`` columns in the input must agree
    with the computed ones. ``victims`` optionally gives one row per victim (role, outcome,
    disability grade, medical cost); counts must agree with the accident rows.

    >>> import safeins as si
    >>> pf = si.Portfolio(si.datasets.example_portfolio_frame())
    >>> acc = si.AccidentHistory(si.datasets.example_accident_frame(), portfolio=pf)
    >>> acc.to_frame()[["grade", "reportable"]].values.tolist()
    [['一般', True], ['较大', True]]
    """

    _what = "AccidentHistory"
    _index = "accident_id"

    def __init__(self, data: pd.DataFrame, portfolio: Portfolio | None = None,
                 victims: pd.DataFrame | None = None,
                 reportable_loss_threshold: float = REPORTABLE_LOSS_THRESHOLD, years=None):
        if isinstance(data, AccidentHistory):
            victims = data.victims if victims is None else victims
            years = data.years if years is None else years
            data = data.to_frame().drop(columns=["reportable"])  # derived: recomputed below
        problems = Problems("AccidentHistory")
        threshold = reportable_loss_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.integer | np.floating) \
                or not np.isfinite(threshold) or threshold < 0:
            problems.add(column="reportable_loss_threshold", value=threshold,
                         rule="a finite direct loss >= 0, yuan")
            problems.raise_if_any()
        self.reportable_loss_threshold = float(threshold)
        frame = _take_index(data, "accident_id", problems)
        given_grade = frame.pop("grade") if "grade" in frame.columns else None
        given_reportable = frame.pop("reportable") if "reportable" in frame.columns else None
        frame = validate_frame(frame, ACCIDENT_COLUMNS, "AccidentHistory", problems)
        _check_known(frame, portfolio, problems)
        if not problems:
            frame["grade"] = accident_grade(
                frame["employee_deaths"] + frame["third_party_deaths"],
                frame["employee_serious_injuries"] + frame["third_party_injuries"],
                frame["direct_loss"],
            )
            if given_grade is not None:
                given = given_grade.astype(object).to_numpy()
                computed = frame["grade"].astype(object).to_numpy()
                for i in np.flatnonzero(given != computed):
                    problems.add(row=frame.index[i], column="grade", value=given[i],
                                 rule=f"disagrees with the 2007 rules' grade {computed[i]!r}")
            frame["reportable"] = self._reportable(frame, given_reportable, problems)
        self.victims = None
        if victims is not None:
            self.victims = self._validate_victims(victims, frame, problems)
        #: the years this history covers: ``years=`` and the years of its rows (a covered year
        #: without rows had no accident)
        self.years = _covered_years(frame, years, "AccidentHistory", problems)
        problems.raise_if_any()
        self._frame = frame

    @classmethod
    def _schema_columns(cls):
        return ACCIDENT_COLUMNS

    def _reportable(self, frame: pd.DataFrame, given, problems: Problems) -> np.ndarray:
        """A death, a serious injury or a direct loss at or above the threshold; checks a given column."""
        deaths = (frame["employee_deaths"] + frame["third_party_deaths"]).to_numpy()
        serious = (frame["employee_serious_injuries"] + frame["third_party_injuries"]).to_numpy()
        computed = (deaths > 0) | (serious > 0) | (frame["direct_loss"].to_numpy()
                                                   >= self.reportable_loss_threshold)
        if given is not None:
            values = given.to_numpy(dtype=object)
            for i, v in enumerate(values):
                if not isinstance(v, bool | np.bool_):
                    problems.add(row=frame.index[i], column="reportable", value=v, rule="True or False")
                elif bool(v) != computed[i]:
                    problems.add(row=frame.index[i], column="reportable", value=bool(v),
                                 rule=f"disagrees with deaths {deaths[i]}, serious injuries {serious[i]} "
                                      f"and direct loss {frame['direct_loss'].iloc[i]:g} against the "
                                      f"threshold {self.reportable_loss_threshold:g} yuan")
        return computed

    @staticmethod
    def _validate_victims(victims: pd.DataFrame, accidents: pd.DataFrame, problems: Problems):
        v = validate_frame(victims, VICTIM_COLUMNS, "victims", problems)
        if problems:
            return v
        pos = accidents.index.get_indexer(v["accident_id"].to_numpy(dtype=object))
        for i in np.flatnonzero(pos < 0):
            problems.add(row=f"victims#{v.index[i]}", column="accident_id", value=v["accident_id"].iloc[i],
                         rule="unknown accident")
        grade = v["disability_grade"]
        is_dis = (v["outcome"] == "disability").to_numpy()
        for i in np.flatnonzero(is_dis & grade.isna().to_numpy()):
            problems.add(row=f"victims#{v.index[i]}", column="disability_grade", value=None,
                         rule="required for outcome 'disability' (1 to 10)")
        for i in np.flatnonzero(~is_dis & grade.notna().to_numpy()):
            problems.add(row=f"victims#{v.index[i]}", column="disability_grade", value=grade.iloc[i],
                         rule="only outcome 'disability' has a disability grade")
        # deaths in the victims table must match the accident rows (for accidents that list victims)
        known = pos >= 0
        listed = np.bincount(pos[known], minlength=len(accidents)) > 0
        death = (v["outcome"] == "death").to_numpy()
        for role, col in (("employee", "employee_deaths"), ("third_party", "third_party_deaths")):
            sel = known & death & (v["role"] == role).to_numpy()
            have = np.bincount(pos[sel], minlength=len(accidents))
            want = accidents[col].to_numpy()
            for i in np.flatnonzero(listed & (have != want)):
                problems.add(row=accidents.index[i], column=col, value=int(want[i]),
                             rule=f"disagrees with the victims table ({int(have[i])} {role} deaths)")
        return v

    def _write(self, writer, path, victims) -> Path:
        # a history with victims writes them where the caller says: nothing beside the accidents
        # unasked, and nothing dropped silently
        if self.victims is not None and victims is None:
            raise ValidationError(f"AccidentHistory.{writer}", [Problem(
                None, "victims", None, "this history has a victims table: name its file with victims=")])
        path = getattr(super(), writer)(path)
        if self.victims is not None:
            write_table(self.victims, victims, index=False, force=True)
        return path

    def to_csv(self, path: str | Path, victims: str | Path | None = None) -> Path:
        """Write accidents as CSV, and the victims table (if any) to ``victims`` (CSV or Excel).

        A history with a victims table needs ``victims=`` (a path): nothing is written beside the
        accidents unasked, and nothing is dropped silently.
        """
        return self._write("to_csv", path, victims)

    def to_excel(self, path: str | Path, victims: str | Path | None = None) -> Path:
        """Write accidents as an Excel workbook, and the victims table (if any) to ``victims``."""
        return self._write("to_excel", path, victims)

    def to_parquet(self, path: str | Path, victims: str | Path | None = None) -> Path:
        """Write accidents as parquet, and the victims table (if any) to ``victims``."""
        return self._write("to_parquet", path, victims)

    @classmethod
    def read(cls, path: str | Path, portfolio: Portfolio | None = None, *,
             victims: str | Path | None = None, encoding: str | None = None):
        """Read accidents from CSV/Excel/parquet; the victims table only from the file named in
        ``victims`` (no companion file is ever picked up by its name)."""
        vframe = None
        if victims is not None:
            vframe = read_table(victims, encoding=encoding, what=f"victims file {Path(victims).name!r}",
                                dtype={"accident_id": "string", "role": "string", "outcome": "string"})
            for c in ("accident_id", "role", "outcome"):
                if c in vframe.columns:
                    vframe[c] = vframe[c].astype(object).where(vframe[c].notna(), None)
        frame = read_table(path, encoding=encoding, dtype=cls._text_columns(),
                           what=f"{cls._what} file {Path(path).name!r}")
        return cls._from_read(frame, portfolio=portfolio, victims=vframe)

    @classmethod
    def read_csv(cls, path: str | Path, portfolio: Portfolio | None = None, *,
                 victims: str | Path | None = None, encoding: str | None = None):
        """Read accidents (and the victims table named in ``victims``); see :meth:`read`."""
        return cls.read(path, portfolio, victims=victims, encoding=encoding)

    def summary(self) -> pd.DataFrame:
        """Accidents (all, and reportable), deaths and direct loss by year and grade."""
        f = self._frame.assign(deaths=self._frame["employee_deaths"] + self._frame["third_party_deaths"])
        return f.groupby(["year", "grade"], observed=True).agg(
            accidents=("deaths", "size"), reportable=("reportable", "sum"), deaths=("deaths", "sum"),
            direct_loss=("direct_loss", "sum"))

    def plot(self, ax=None):
        """Accidents per year, stacked by grade."""
        from .._base.plotting import axes

        ax = axes(ax)
        table = pd.crosstab(self._frame["year"], self._frame["grade"])
        bottom = np.zeros(len(table))
        for g in table.columns:
            ax.bar(table.index.astype(str), table[g].to_numpy(), bottom=bottom, label=str(g))
            bottom += table[g].to_numpy()
        ax.set_ylabel("accidents")
        ax.legend(title="grade")
        return ax


class HazardHistory(_Table):
    """Hazard-inspection records (隐患排查): one row per enterprise and year.

    Counts must be consistent: major hazards, hazards rectified on time and unrectified hazards
    cannot exceed the hazards found, nor can rectified plus unrectified.

    >>> import pandas as pd, safeins as si
    >>> hz = si.HazardHistory(pd.DataFrame({"enterprise_id": ["E1"], "year": [2023], "hazards_found": [4],
    ...     "major_hazards_found": [1], "rectified_on_time": [3], "unrectified": [1]}))
    >>> len(hz)
    1
    """

    _what = "HazardHistory"
    _index = None

    def __init__(self, data: pd.DataFrame, portfolio: Portfolio | None = None, years=None):
        if isinstance(data, HazardHistory):
            years = data.years if years is None else years
            data = data.to_frame()
        problems = Problems("HazardHistory")
        frame = validate_frame(data, HAZARD_COLUMNS, "HazardHistory", problems)
        if not problems:
            found = frame["hazards_found"].to_numpy()
            for col in ("major_hazards_found", "rectified_on_time", "unrectified"):
                for i in np.flatnonzero(frame[col].to_numpy() > found):
                    problems.add(row=frame.index[i], column=col, value=int(frame[col].iloc[i]),
                                 rule=f"must be <= hazards_found ({int(found[i])})")
            both = frame["rectified_on_time"].to_numpy() + frame["unrectified"].to_numpy()
            for i in np.flatnonzero(both > found):
                problems.add(row=frame.index[i], column="rectified_on_time+unrectified", value=int(both[i]),
                             rule=f"must be <= hazards_found ({int(found[i])})")
            dup = frame.duplicated(["enterprise_id", "year"], keep=False).to_numpy()
            for i in np.flatnonzero(dup):
                problems.add(row=frame.index[i], column="enterprise_id,year",
                             value=(frame["enterprise_id"].iloc[i], int(frame["year"].iloc[i])),
                             rule="duplicated enterprise-year")
        _check_known(frame, portfolio, problems)
        #: the years this history covers (``years=`` and the years of its rows)
        self.years = _covered_years(frame, years, "HazardHistory", problems)
        problems.raise_if_any()
        self._frame = frame

    @classmethod
    def _schema_columns(cls):
        return HAZARD_COLUMNS

    def summary(self) -> pd.DataFrame:
        """Hazards found, major hazards and unrectified hazards by year."""
        return self._frame.groupby("year")[
            ["hazards_found", "major_hazards_found", "rectified_on_time", "unrectified"]].sum()

    def plot(self, ax=None):
        """Hazards found and unrectified per year."""
        from .._base.plotting import axes

        ax = axes(ax)
        s = self.summary()
        ax.plot(s.index, s["hazards_found"], marker="o", label="found")
        ax.plot(s.index, s["unrectified"], marker="o", label="unrectified")
        ax.legend()
        return ax


def exposure_table(portfolio: Portfolio, accidents: AccidentHistory | None = None,
                   hazards: HazardHistory | None = None, years=None) -> pd.DataFrame:
    """The enterprise-year table frequency models are fitted on.

    One row per enterprise and year (the portfolio is a snapshot: its attributes are taken as
    constant over the years). Columns: enterprise_id, year, the portfolio's rating factors, exposure
    (the sector's exposure base for one year), accidents (every claim event), ``reportable_accidents``
    (those with a death, a serious injury or a direct loss over the threshold, see
    :class:`AccidentHistory`) and deaths, accidents by grade
    (``n_general``, ``n_larger``, ``n_major``, ``n_especially_major``), hazard counts and
    ``hazard_rate`` (hazards found per 100 employees), and ``prior_accidents`` and
    ``prior_worst_grade`` and ``prior_reportable_accidents`` (the previous year, for floating rates).
    ``years`` defaults to every year
    seen in the accident and hazard histories.

    >>> import safeins as si
    >>> pf = si.Portfolio(si.datasets.example_portfolio_frame())
    >>> acc = si.AccidentHistory(si.datasets.example_accident_frame(), portfolio=pf)
    >>> et = si.exposure_table(pf, acc, years=[2022, 2023])
    >>> et.loc[et.enterprise_id == "E1", ["year", "accidents", "prior_accidents"]].to_numpy().tolist()
    [[2022, 1, 0], [2023, 0, 1]]
    """
    pf = portfolio.frame
    acc = accidents.frame if accidents is not None else None
    hz = hazards.frame if hazards is not None else None
    if years is None:
        found = set()
        if acc is not None:
            found |= set(acc["year"].tolist())
        if hz is not None:
            found |= set(hz["year"].tolist())
        years = sorted(found)
    years = sorted(int(y) for y in years)
    problems = Problems("exposure_table")
    if not years:
        problems.add(column="years", value=years, rule="no years: give years= or a non-empty history")
    for name, tab in (("accidents", acc), ("hazards", hz)):
        if tab is not None:
            unknown = ~tab["enterprise_id"].isin(pf.index)
            for i in np.flatnonzero(unknown.to_numpy()):
                problems.add(row=tab.index[i], column=f"{name}.enterprise_id",
                             value=tab["enterprise_id"].iloc[i], rule="unknown enterprise")
    problems.raise_if_any()

    n, t = len(pf), len(years)
    factors = ["sector", "region", "size_band", "credit_grade", "blacklisted", "standardization",
               "award", "headcount", "years_insured"]
    base = pf[factors].reset_index()
    et = base.loc[base.index.repeat(t)].reset_index(drop=True)
    et.insert(1, "year", np.tile(np.asarray(years, dtype=np.int64), n))
    et["exposure"] = np.repeat(portfolio.exposure().to_numpy(), t)
    year_pos = {y: i for i, y in enumerate(years)}

    def rows_of(tab: pd.DataFrame) -> np.ndarray:
        # row of each record in the enterprise-major table; -1 for years outside the table
        e = pf.index.get_indexer(tab["enterprise_id"].to_numpy(dtype=object))
        y = tab["year"].map(year_pos).fillna(-1).to_numpy().astype(np.int64)
        return np.where(y >= 0, e * t + y, -1)

    grade_cols = ("n_general", "n_larger", "n_major", "n_especially_major")
    worst = np.full(n * t, -1, dtype=np.int64)
    if acc is not None:
        r = rows_of(acc)
        keep = r >= 0
        r = r[keep]
        deaths = (acc["employee_deaths"] + acc["third_party_deaths"]).to_numpy()[keep]
        codes = acc["grade"].cat.codes.to_numpy()[keep].astype(np.int64)
        et["accidents"] = np.bincount(r, minlength=n * t)
        et["reportable_accidents"] = np.bincount(r[acc["reportable"].to_numpy()[keep]], minlength=n * t)
        et["deaths"] = np.bincount(r, weights=deaths, minlength=n * t).astype(np.int64)
        for k, col in enumerate(grade_cols):
            et[col] = np.bincount(r[codes == k], minlength=n * t)
        np.maximum.at(worst, r, codes)
    else:
        for col in ("accidents", "reportable_accidents", "deaths", *grade_cols):
            et[col] = np.zeros(n * t, dtype=np.int64)

    hz_cols = ["hazards_found", "major_hazards_found", "rectified_on_time", "unrectified"]
    inspected = np.zeros(n * t, dtype=bool)
    for col in hz_cols:
        et[col] = np.zeros(n * t, dtype=np.int64)
    if hz is not None:
        r = rows_of(hz)
        keep = r >= 0
        inspected[r[keep]] = True
        for col in hz_cols:
            values = et[col].to_numpy().copy()
            values[r[keep]] = hz[col].to_numpy()[keep]
            et[col] = values
    et["inspected"] = inspected
    et["hazard_rate"] = et["hazards_found"] / (et["headcount"] / 100.0)

    # previous year's record, for floating rates (none before the first year of the table)
    first = et["year"].to_numpy() == years[0]
    prev_acc = np.roll(et["accidents"].to_numpy(), 1)
    prev_reportable = np.roll(et["reportable_accidents"].to_numpy(), 1)
    prev_worst = np.roll(worst, 1)
    contiguous = np.roll(et["year"].to_numpy(), 1) == et["year"].to_numpy() - 1
    ok = ~first & contiguous
    et["prior_accidents"] = np.where(ok, prev_acc, 0).astype(np.int64)
    et["prior_reportable_accidents"] = np.where(ok, prev_reportable, 0).astype(np.int64)
    labels = np.array(["none", *GRADES], dtype=object)
    et["prior_worst_grade"] = pd.Categorical(labels[np.where(ok, prev_worst, -1) + 1],
                                             categories=list(labels), ordered=True)
    et["prior_known"] = ok
    return et
