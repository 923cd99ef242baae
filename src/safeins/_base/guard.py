"""Guards for long work: refuse a simulation too large to finish quietly, show progress on long loops.

A simulation's cost grows with the number of claims it draws. :func:`check_work` estimates that
number, the time and the memory the run needs, and raises :class:`~safeins.errors.WorkLimitError`
(saying all three and how to proceed) when it exceeds ``limit`` unless the caller passes
``force=True``. :func:`progress` wraps an iterable in a tqdm bar when that helps: only when asked
(``progress=True`` or ``"auto"``), and for ``"auto"`` only when standard error is a terminal.

>>> check_work("Aggregate", claims=1e6)          # small: nothing happens
>>> try:
...     check_work("Aggregate", claims=1e12)
... except Exception as err:
...     print(type(err).__name__)
WorkLimitError
>>> list(progress(range(3), enabled=False))
[0, 1, 2]
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable

from ..errors import Problem, ValidationError, WorkLimitError

__all__ = ["BYTES_PER_CLAIM", "CLAIMS_PER_SECOND", "DEFAULT_CLAIM_LIMIT", "check_work",
           "describe_work", "progress"]

# Above this many claims a run takes minutes and gigabytes; the caller must say force=True.
DEFAULT_CLAIM_LIMIT = 2e9
# Throughput of vectorised numpy claim sampling and summing on one ordinary core (float64 draws,
# lognormal / gamma): about 5e7 claims per second. Only the order of magnitude matters here.
CLAIMS_PER_SECOND = 5e7
# Peak working memory per claim held at once: the draw (8 bytes) and its index (8 bytes).
BYTES_PER_CLAIM = 16.0


def _human_seconds(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def _human_bytes(b: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if b < 1000 or unit == "TB":
            return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
        b /= 1000.0
    return f"{b:.1f} TB"  # pragma: no cover


def describe_work(claims: float, chunk_claims: float | None = None) -> str:
    """A human estimate of the time and peak memory to draw ``claims`` claims.

    ``chunk_claims`` is the number held in memory at once when the work is chunked (default: all).

    >>> describe_work(1e9)
    'about 20 s and 16.0 GB'
    """
    held = claims if chunk_claims is None else min(claims, chunk_claims)
    secs = claims / CLAIMS_PER_SECOND
    return f"about {_human_seconds(secs)} and {_human_bytes(held * BYTES_PER_CLAIM)}"


def check_work(what: str, claims: float, *, limit: float = DEFAULT_CLAIM_LIMIT,
               force: bool = False, chunk_claims: float | None = None, hint: str = "") -> None:
    """Raise :class:`~safeins.errors.WorkLimitError` when ``claims`` exceeds ``limit`` (unless forced).

    ``claims`` is the expected number of claims to draw; ``hint`` says how to make the run smaller.

    >>> check_work("Aggregate", claims=5e9, force=True)   # forced: allowed
    """
    if not isinstance(force, bool) and type(force).__name__ != "bool_":  # numpy's bool too
        raise ValidationError(what, [Problem(None, "force", force, "True or False")])
    if not (isinstance(limit, int | float) and not isinstance(limit, bool)
            and math.isfinite(limit) and limit > 0):
        raise ValidationError(what, [Problem(None, "limit", limit, "a finite number > 0")])
    if not math.isfinite(claims):
        raise WorkLimitError(f"{what}: the expected number of claims to draw is {claims}; "
                             "the run could not finish")
    if claims <= limit or force:
        return
    extra = f"; {hint}" if hint else ""
    raise WorkLimitError(
        f"{what}: the run would draw about {claims:.3g} claims (limit {limit:.3g}), "
        f"{describe_work(claims, chunk_claims)}; pass force=True to run it anyway{extra}")


def _interactive() -> bool:
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced stream: not interactive
        return False


def progress(iterable: Iterable, *, enabled="auto", total: int | None = None, desc: str = ""):
    """``iterable`` wrapped in a tqdm bar when ``enabled`` is True, or "auto" on a terminal.

    ``enabled=False`` (the ``progress=False`` of public functions) returns the iterable itself.

    >>> sum(progress([1, 2, 3], enabled="auto"))      # not a terminal under doctest: no bar
    6
    """
    if enabled not in (True, False, "auto"):
        raise ValidationError(desc or "progress", [Problem(None, "progress", enabled,
                                                           "True, False or 'auto'")])
    if enabled is False or (enabled == "auto" and not _interactive()):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc or None, leave=False)
