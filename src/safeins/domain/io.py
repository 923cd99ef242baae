"""Reading and writing tables: CSV (any encoding), Excel workbooks and parquet.

:func:`read_table` turns a file into a DataFrame and refuses, with one
:class:`~safeins.errors.ValidationError` naming the file, everything pandas would otherwise read
silently wrong or fail on with a foreign error:

* a missing file, a folder, an unknown encoding, text that is not in the encoding given (a
  GBK/GB18030 file from Excel names the encoding to pass);
* an empty file (not even a header row): a header with no rows is a valid empty table;
* a ragged CSV: every line with more or fewer fields than the header is listed (pandas would
  drop or pad them);
* duplicated or empty column names (pandas would rename them ``x.1``, ``Unnamed: 3``);
* a file type other than ``.csv``, ``.txt``, ``.xlsx``/``.xlsm`` or ``.parquet``.

Lines at the top of a CSV that start with ``#`` are comments (the annotated templates written by
``safeins template`` use them). :func:`write_table` writes CSV or Excel by suffix, through a
temporary file renamed when complete.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "t.csv").write_text("# a comment\\nid,n\\nE1,3\\nE2,4\\n", encoding="utf-8")
>>> read_table(d / "t.csv").to_dict("list")
{'id': ['E1', 'E2'], 'n': [3, 4]}
>>> _ = (d / "bad.csv").write_text("id,n\\nE1,3,9\\n", encoding="utf-8")
>>> read_table(d / "bad.csv")
Traceback (most recent call last):
...
safeins.errors.ValidationError: file 'bad.csv': 1 problem
  row     column  value       rule
  line 2  -       '3 fields'  the header has 2 fields: every line needs exactly 2
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from .._base.files import atomic_output, check_encoding, check_input, check_output, read_text
from ..errors import Problem, Problems, ValidationError

__all__ = ["TABLE_SUFFIXES", "check_table_output", "read_table", "write_table"]

CSV_SUFFIXES = (".csv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TABLE_SUFFIXES = (*CSV_SUFFIXES, *EXCEL_SUFFIXES, ".parquet")


def _what(path) -> str:
    return f"file {Path(path).name!r}"


def _kind(path: Path, what: str) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if suffix == ".parquet":
        return "parquet"
    raise ValidationError(what, [Problem(None, "suffix", path.suffix or "<none>",
                                         f"unsupported file type: use one of {', '.join(TABLE_SUFFIXES)}")])


def _strip_comments(text: str) -> tuple[str, int]:
    """Drop leading ``#`` lines (and blank ones); return the rest and how many lines were dropped."""
    lines = text.splitlines(keepends=True)
    k = 0
    while k < len(lines) and (lines[k].lstrip().startswith("#") or not lines[k].strip()):
        k += 1
    return "".join(lines[k:]), k


def _check_header(columns, what: str, problems: Problems) -> None:
    seen: dict[str, int] = {}
    for pos, name in enumerate(columns):
        name = str(name).strip()
        if not name:
            problems.add(row="header", column=f"#{pos + 1}", value=name, rule="empty column name")
        elif name in seen:
            problems.add(row="header", column=name, value=f"columns {seen[name] + 1} and {pos + 1}",
                         rule="duplicated column name")
        seen.setdefault(name, pos)


def _read_csv(path: Path, encoding, dtype, what: str) -> pd.DataFrame:
    text, skipped = _strip_comments(read_text(path, encoding, what))
    if not text.strip():
        raise ValidationError(what, [Problem(None, "-", "<empty>",
                                             "the file is empty: it needs at least a header row")])
    rows = csv.reader(io.StringIO(text))
    problems = Problems(what)
    header = next(rows)
    _check_header(header, what, problems)
    width = len(header)
    for fields in rows:
        if fields and len(fields) != width:
            problems.add(row=f"line {rows.line_num + skipped}", column="-", value=f"{len(fields)} fields",
                         rule=f"the header has {width} fields: every line needs exactly {width}")
    problems.raise_if_any()
    types = {c: t for c, t in (dtype or {}).items() if c in header}
    return pd.read_csv(io.StringIO(text), dtype=types, keep_default_na=True)


def _excel_column(pos: int) -> str:
    """Excel's letter for a 0-based column position (0 -> A, 26 -> AA)."""
    name = ""
    pos += 1
    while pos:
        pos, rem = divmod(pos - 1, 26)
        name = chr(65 + rem) + name
    return name


def _read_excel(path: Path, dtype, what: str) -> pd.DataFrame:
    try:
        # no header parsing by pandas: it would rename duplicated names (x.1) and empty ones silently
        raw = pd.read_excel(path, sheet_name=0, header=None, engine="openpyxl")
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise ValidationError(what, [Problem(None, "-", str(path),
                                             "reading Excel needs openpyxl: pip install openpyxl")]) from None
    except Exception as err:  # openpyxl raises zipfile, KeyError and XML errors for damaged files
        raise ValidationError(what, [Problem(None, "-", type(err).__name__,
                                             f"not a readable Excel workbook ({err}); save it again "
                                             "from Excel as .xlsx, or export it as CSV")]) from None
    if raw.empty:
        raise ValidationError(what, [Problem(None, "-", "<empty>",
                                             "the first sheet is empty: it needs at least a header row")])
    header = ["" if pd.isna(v) else str(v).strip() for v in raw.iloc[0]]
    body = raw.iloc[1:]
    # cells that were formatted but never filled make columns with no name and no value, and rows
    # with no value: they hold no data, so dropping them loses nothing (a named or filled one stays)
    keep = [i for i, name in enumerate(header) if name or body.iloc[:, i].notna().any()]
    problems = Problems(what)
    seen: dict[str, int] = {}
    for i in keep:
        name = header[i]
        if not name:
            problems.add(row="header", column=f"column {_excel_column(i)}", value="",
                         rule="values under an empty column name: name the column or delete them")
        elif name in seen:
            problems.add(row="header", column=name,
                         value=f"columns {_excel_column(seen[name])} and {_excel_column(i)}",
                         rule="duplicated column name")
        seen.setdefault(name, i)
    problems.raise_if_any()
    frame = body.iloc[:, keep]
    frame.columns = [header[i] for i in keep]
    frame = frame.loc[frame.notna().any(axis=1)].reset_index(drop=True).infer_objects()
    for col, kind in (dtype or {}).items():
        # Excel stores ids and codes typed as numbers (E1 stays text, 101 becomes 101): text columns
        # are text, whatever the cell type
        if col in frame.columns and kind == "string":
            s = frame[col]
            frame[col] = s.map(lambda v: v if isinstance(v, str) else (
                str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))).where(s.notna(), None)
    return frame


def read_table(path: str | Path, *, encoding: str | None = None, dtype: dict | None = None,
               what: str | None = None) -> pd.DataFrame:
    """Read a CSV, Excel (first sheet) or parquet file into a DataFrame, refusing bad files.

    Parameters
    ----------
    path : str or Path
    encoding : str, optional
        The text encoding of a CSV (default UTF-8, a BOM allowed); for Excel and parquet it must
        be None (they carry their own).
    dtype : dict, optional
        ``{column: "string"}`` for columns to read as text (ids, codes).
    what : str, optional
        How errors name the file (default: its name).
    """
    what = what or _what(path)
    p = check_input(path, what)
    kind = _kind(p, what)
    check_encoding(encoding, what)
    if encoding is not None and kind != "csv":
        raise ValidationError(what, [Problem(None, "encoding", encoding,
                                             "only CSV files take an encoding: leave it out")])
    if kind == "csv":
        return _read_csv(p, encoding, dtype, what)
    if kind == "excel":
        return _read_excel(p, dtype, what)
    return pd.read_parquet(p)


def check_table_output(path: str | Path, *, inputs=(), force: bool = False) -> tuple[Path, str]:
    """Check an output table's path (see :func:`~safeins._base.files.check_output`) and its type;
    returns the path and ``"csv"``, ``"excel"`` or ``"parquet"``. Call it before long work.

    >>> check_table_output("quotes.json")
    Traceback (most recent call last):
    ...
    safeins.errors.ValidationError: output 'quotes.json': 1 problem
      row  column  value    rule
      -    suffix  '.json'  unsupported file type: use one of .csv, .txt, .xlsx, .xlsm, .parquet
    """
    what = f"output {Path(path).name!r}"
    kind = _kind(Path(path), what)
    return check_output(path, inputs=inputs, force=force, what=what), kind


def write_table(frame: pd.DataFrame, path: str | Path, *, index: bool = True, force: bool = False,
                inputs=(), sheet: str = "data") -> Path:
    """Write ``frame`` as CSV (UTF-8) or Excel by the suffix of ``path``, atomically.

    Refuses a path whose folder is missing, that is one of ``inputs``, or that exists (unless
    ``force``).

    >>> import tempfile, pathlib
    >>> p = write_table(pd.DataFrame({"a": [1]}), pathlib.Path(tempfile.mkdtemp()) / "x.csv", index=False)
    >>> p.read_text(encoding="utf-8")
    'a\\n1\\n'
    """
    p, kind = check_table_output(path, inputs=inputs, force=force)
    with atomic_output(p) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, index=index, encoding="utf-8")
        elif kind == "excel":
            frame.to_excel(tmp, index=index, sheet_name=sheet, engine="openpyxl")
        else:
            frame.to_parquet(tmp, index=index)
    return p
