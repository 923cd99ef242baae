"""Matplotlib helpers shared by every result's ``.plot()``.

matplotlib is imported only when a plot is drawn, so ``import safeins`` stays fast and works on
machines without a display (the Agg backend is used when no interactive backend is available).
Sector names, grades and cities are Chinese, so the first Axes drawn also puts a CJK font (Noto Sans
CJK, Debian's ``fonts-noto-cjk``) first in matplotlib's sans-serif list when one is installed; without
one, matplotlib falls back to its default font (Chinese glyphs then show as boxes, and
:func:`cjk_font` returns None so callers can say so).

>>> ax = axes()
>>> ax.__class__.__name__
'Axes'
>>> import matplotlib.pyplot as plt; plt.close(ax.figure)
"""

from __future__ import annotations

__all__ = ["axes", "cjk_font", "use_cjk_font"]

# the first of these that is installed wins; all cover simplified Chinese
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
             "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC")


def axes(ax=None, *, figsize=(6.4, 4.0)):
    """Return ``ax`` if given, else a new Axes on a new figure (with a CJK font when available)."""
    if ax is not None:
        return ax
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg",) and not _interactive():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    use_cjk_font()
    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax


def cjk_font() -> str | None:
    """The name of an installed font that renders Chinese, or None.

    >>> name = cjk_font()
    >>> name is None or isinstance(name, str)
    True
    """
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None and _register_system_cjk_fonts(font_manager):
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FONTS if name in installed), None)
    return found


_searched = False


def _register_system_cjk_fonts(font_manager) -> bool:
    """Add CJK font files installed after matplotlib built its font cache (once per process)."""
    global _searched
    if _searched:
        return False
    _searched = True
    from pathlib import Path

    added = False
    for root in ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"),
                 "/Library/Fonts", "C:/Windows/Fonts"):
        for path in Path(root).glob("**/*") if Path(root).is_dir() else ():
            if path.suffix.lower() in (".ttc", ".otf", ".ttf") and any(
                    key in path.name for key in ("CJK", "SourceHan", "wqy", "msyh", "simhei")):
                try:
                    font_manager.fontManager.addfont(str(path))
                    added = True
                except (OSError, RuntimeError, ValueError):  # an unreadable file: skip it, try the next
                    continue
    return added


def use_cjk_font() -> str | None:
    """Put the installed CJK font first in matplotlib's sans-serif list; return its name (or None).

    Idempotent. The minus sign is drawn as a hyphen, which every CJK font has (U+2212 is missing
    from some of them).

    >>> use_cjk_font() == cjk_font()
    True
    """
    import matplotlib

    name = cjk_font()
    if name is None:
        return None
    rc = matplotlib.rcParams
    if rc["font.sans-serif"][:1] != [name]:
        rc["font.sans-serif"] = [name, *[f for f in rc["font.sans-serif"] if f != name]]
        rc["font.family"] = "sans-serif"
        rc["axes.unicode_minus"] = False
    return name


def _interactive() -> bool:
    import sys

    return hasattr(sys, "ps1") or "ipykernel" in sys.modules
