"""Matplotlib helpers shared by every result's ``.plot()``.

matplotlib is imported only when a plot is drawn, so ``import safeins`` stays fast and works on
machines without a display (the Agg backend is used when no interactive backend is available).

>>> ax = axes()
>>> ax.__class__.__name__
'Axes'
"""

from __future__ import annotations

__all__ = ["axes"]


def axes(ax=None, *, figsize=(6.4, 4.0)):
    """Return ``ax`` if given, else a new Axes on a new figure."""
    if ax is not None:
        return ax
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg",) and not _interactive():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax


def _interactive() -> bool:
    import sys

    return hasattr(sys, "ps1") or "ipykernel" in sys.modules
