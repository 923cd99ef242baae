"""Files at the edge: checked input paths, text decoding that names the encoding, safe output.

Every failure is one :class:`~safeins.errors.ValidationError` that says what is wrong with which
file and what to do:

* an input that is missing or a directory;
* text that is not in the encoding asked for; a file that is not UTF-8 but decodes as GB18030
  (the superset of GBK that Excel writes on Chinese Windows) names ``encoding="gb18030"``;
* an output whose folder does not exist, that exists already (unless ``force``), or that is one
  of the inputs (never, even with ``force``).

Outputs are written to a temporary file in the target folder and renamed over the target only when
complete, so a failed run leaves neither a half-written file nor a damaged old one.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "gbk.csv").write_bytes("地区\\n宁波\\n".encode("gbk"))
>>> try:
...     read_text(d / "gbk.csv")
... except Exception as err:
...     print("gb18030" in str(err))
True
>>> read_text(d / "gbk.csv", encoding="gb18030").splitlines()
['地区', '宁波']
"""

from __future__ import annotations

import codecs
import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import Problem, ValidationError

__all__ = ["atomic_output", "check_encoding", "check_input", "check_output", "read_text"]

#: Encodings worth suggesting when a file does not decode, in the order they are tried. GB18030 is
#: a superset of GBK and GB2312, so it decodes everything those do.
_CANDIDATES = ("utf-8", "gb18030", "big5")


def _fail(what: str, column: str, value, rule: str) -> ValidationError:
    return ValidationError(what, [Problem(None, column, value, rule)])


def check_input(path: str | Path, what: str = "input") -> Path:
    """The path of an existing regular file, or a ValidationError saying why not.

    >>> check_input("no/such/file.csv")
    Traceback (most recent call last):
    ...
    safeins.errors.ValidationError: input: 1 problem
      row  column  value               rule
      -    path    'no/such/file.csv'  no such file: check the name and the folder
    """
    p = Path(path)
    if not p.exists():
        raise _fail(what, "path", str(path), "no such file: check the name and the folder")
    if p.is_dir():
        raise _fail(what, "path", str(path), "is a folder, not a file: name a file inside it")
    return p


def check_encoding(encoding: str | None, what: str = "encoding") -> str | None:
    """``encoding`` if Python knows it (or None), else a ValidationError naming common ones.

    >>> check_encoding("GBK")
    'GBK'
    """
    if encoding is None:
        return None
    try:
        codecs.lookup(str(encoding))
    except (LookupError, TypeError):
        raise _fail(what, "encoding", encoding,
                    "unknown encoding: use e.g. utf-8, gb18030 (Excel on Chinese Windows), gbk or big5"
                    ) from None
    return encoding


def _guess(data: bytes) -> str | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in _CANDIDATES:
        try:
            data.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    return None


def read_text(path: str | Path, encoding: str | None = None, what: str | None = None) -> str:
    """The text of a file, decoded with ``encoding`` (default UTF-8, a BOM allowed).

    A file that does not decode raises a ValidationError giving the byte offset and line of the
    first bad byte and, if another encoding decodes the whole file, the encoding to pass.
    """
    what = what or f"file {str(path)!r}"
    p = check_input(path, what)
    check_encoding(encoding, what)
    data = p.read_bytes()
    enc = encoding or "utf-8-sig"
    try:
        return data.decode(enc)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        guess = _guess(data)
        if guess is not None and codecs.lookup(guess).name != codecs.lookup(enc).name:
            hint = f"it reads as {guess}: pass encoding={guess!r} (command line: --encoding {guess})"
        else:
            hint = "find the file's encoding (e.g. `file -i`) and pass it as encoding= (--encoding)"
        raise _fail(what, "encoding", encoding or "utf-8",
                    f"not valid {encoding or 'UTF-8'} text (byte {err.start}, line {line}); {hint}"
                    ) from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:  # pragma: no cover - unreadable paths are reported elsewhere
        return False


def check_output(path: str | Path, *, inputs: Iterable[str | Path | None] = (), force: bool = False,
                 what: str = "output") -> Path:
    """Check that ``path`` can be written: its folder exists, it is not an input, and it does not
    exist yet (unless ``force``). Call it before any long work, so a run never fails at the end.

    >>> check_output("no/such/folder/q.csv")
    Traceback (most recent call last):
    ...
    safeins.errors.ValidationError: output: 1 problem
      row  column  value                   rule
      -    path    'no/such/folder/q.csv'  folder 'no/such/folder' does not exist: create it first
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    for src in inputs:
        if src is not None and (_same_file(p, Path(src)) or p.resolve() == Path(src).resolve()):
            raise _fail(what, "path", str(path), f"is also an input ({src}): write to another file")
    if not folder.is_dir():
        raise _fail(what, "path", str(path), f"folder {str(folder)!r} does not exist: create it first")
    if p.is_dir():
        raise _fail(what, "path", str(path), "is a folder: name a file inside it")
    if p.exists() and not force:
        raise _fail(what, "path", str(path), "exists already: choose another name or pass force "
                                             "(--force) to replace it")
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done", encoding="utf-8")
    >>> target.read_text(encoding="utf-8")
    'done'
    """
    p = Path(path)
    # same folder and same suffix: the rename is atomic, and writers that look at the suffix
    # (Excel) choose the right format
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=p.suffix, dir=p.parent if str(p.parent) else ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give it the mode a plain open() would have, or
        # keep the mode of the file it replaces
        os.chmod(tmp_path, p.stat().st_mode & 0o7777 if p.exists() else 0o666 & ~_umask())
        os.replace(tmp_path, p)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
