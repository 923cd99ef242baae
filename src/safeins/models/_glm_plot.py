"""The relativities plot shared by FrequencyGLM and SeverityGLM (matplotlib loaded lazily).

>>> import pandas as pd
>>> rt = pd.DataFrame({"factor": ["sector", "sector", "sector"],
...                    "level": ["construction", "mining", "retail"],
...                    "relativity": [1.0, 2.5, 0.0], "ci_low": [1.0, 2.0, 0.0],
...                    "ci_high": [1.0, 3.1, 0.9], "is_base": [True, False, False]})
>>> ax = plot_relativities(rt, 0.95)
>>> [t.get_text() for t in ax.get_xticklabels()]
['construction', 'mining', 'retail']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_relativities"]


def plot_relativities(rt: pd.DataFrame, ci: float, ax=None):
    """Relativities with their intervals on a log axis, factors side by side, bases marked.

    A relativity of 0 (a level with no event) is drawn at the bottom of the axis with its upper
    bound, since 0 has no place on a log scale.
    """
    from .._base.plotting import axes

    rt = rt.reset_index(drop=True)
    ax = axes(ax, figsize=(max(6.4, 0.35 * len(rt) + 2), 4.0))
    gap = rt["factor"].ne(rt["factor"].shift()).cumsum().to_numpy() - 1
    x = np.arange(len(rt), dtype=float) + gap  # an empty slot between factors
    r = rt["relativity"].to_numpy(dtype=float)
    lo = rt["ci_low"].to_numpy(dtype=float)
    hi = rt["ci_high"].to_numpy(dtype=float)
    positive = np.concatenate([r[r > 0], lo[lo > 0]])
    floor = positive.min() / 2 if len(positive) else 0.1
    finite_hi = hi[np.isfinite(hi)]
    cap = finite_hi.max() * 2 if len(finite_hi) else 10.0
    shown = np.where(r > 0, r, floor)
    lo_s = np.maximum(np.where(lo > 0, lo, floor), floor)
    hi_s = np.clip(np.where(np.isfinite(hi), hi, cap), shown, None)
    ax.errorbar(x, shown, yerr=[shown - np.minimum(lo_s, shown), hi_s - shown], fmt="o",
                capsize=3, label=f"relativity ({ci:.0%} CI)")
    base = rt["is_base"].to_numpy(dtype=bool)
    ax.scatter(x[base], shown[base], marker="s", color="black", zorder=3, label="base level")
    zero = r == 0
    if zero.any():
        ax.scatter(x[zero], shown[zero], marker="v", color="red", zorder=3,
                   label="no event (relativity 0)")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels(rt["level"].astype(str), rotation=60, ha="right", fontsize=8)
    for f in pd.unique(rt["factor"]):
        xs = x[(rt["factor"] == f).to_numpy()]
        ax.text(xs.mean(), 1.01, str(f), transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=9)
    ax.set_ylabel("relativity")
    ax.legend(loc="best", fontsize=8)
    return ax
