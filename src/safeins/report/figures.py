"""The report's figures: each function takes computed results and returns a matplotlib Figure.

Sector names are drawn in Chinese (``si.sectors``), so the CJK font of ``_base/plotting.py`` is used
when installed. Every axis names its unit.

>>> import pandas as pd
>>> fig = floating_factor_figure(pd.Series([0.9, 0.9, 1.1, 1.2]))
>>> [t.get_text() for t in fig.axes[0].get_xticklabels()][:3]
['0.90', '1.10', '1.20']
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._base.plotting import axes

__all__ = ["exceedance_figure", "fan_chart", "floating_factor_figure", "premium_per_worker_figure",
           "relativities_figure", "strategies_figure"]


def _sector_label(code: str) -> str:
    from ..domain import sectors

    try:
        return f"{sectors.get(code).name_zh}"
    except Exception:  # a region, a grade or a sector a user added: its code is its label
        return str(code)


def relativities_figure(relativities: pd.DataFrame, *, drop=("(intercept)", "sector")):
    """Fitted relativities with their 95 % intervals, one row per factor level (log scale).

    ``relativities`` has columns factor, level, relativity, ci_low, ci_high (a FrequencyGLM's
    ``relativities_``); base levels show as 1 with no interval. Sector relativities are dropped by
    default: each sector's is per unit of its own exposure base (workers, yuan, vehicles), so they
    are not comparable with each other or with the rating factors.
    """
    rel = relativities[~relativities["factor"].isin(drop)].reset_index(drop=True)
    labels = [f"{f}: {_sector_label(lv) if f == 'sector' else lv}"
              for f, lv in zip(rel["factor"], rel["level"], strict=True)]
    ax = axes(figsize=(7.0, 0.28 * len(rel) + 1.2))
    y = np.arange(len(rel))[::-1]
    err = np.vstack([rel["relativity"] - rel["ci_low"], rel["ci_high"] - rel["relativity"]])
    ax.errorbar(rel["relativity"], y, xerr=np.clip(err, 0, None), fmt="o", ms=4, capsize=2, color="#1f5f99")
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("relativity (×, log scale) with 95 % confidence interval")
    ax.set_title("Frequency GLM: relativities of the rating factors")
    return ax.figure


def premium_per_worker_figure(premium: pd.Series, headcount: pd.Series, sector: pd.Series,
                              grade: pd.Series):
    """Premium per worker (yuan) by sector and credit grade, as an annotated heat map.

    Each cell is Σ premium ÷ Σ headcount over the enterprises of that sector and grade.
    """
    df = pd.DataFrame({"premium": premium, "headcount": headcount, "sector": sector.astype(str),
                       "grade": grade.astype(str)})
    sums = df.groupby(["sector", "grade"], observed=True)[["premium", "headcount"]].sum()
    table = (sums["premium"] / sums["headcount"]).unstack("grade")
    ax = axes(figsize=(1.1 * table.shape[1] + 3.0, 0.42 * table.shape[0] + 1.4))
    logs = np.log10(table.to_numpy(dtype=float))
    im = ax.imshow(logs, aspect="auto", cmap="YlOrRd")
    dark = np.nanmin(logs) + 0.6 * (np.nanmax(logs) - np.nanmin(logs))  # white text on the dark cells
    for (i, j), v in np.ndenumerate(table.to_numpy(dtype=float)):
        if np.isfinite(v):
            ax.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=7.5,
                    color="white" if logs[i, j] > dark else "black")
    ax.set_xticks(range(table.shape[1]), table.columns)
    ax.set_yticks(range(table.shape[0]), [_sector_label(s) for s in table.index])
    ax.set_xlabel("credit grade")
    ax.set_title("Premium per worker (yuan per worker) by sector and credit grade")
    ax.figure.colorbar(im, ax=ax, label="log10(yuan per worker)")
    return ax.figure


def floating_factor_figure(factor: pd.Series):
    """How many enterprises get each floating factor (×), as bars."""
    counts = factor.round(2).value_counts().sort_index()
    ax = axes(figsize=(6.4, 3.2))
    ax.bar(range(len(counts)), counts.to_numpy(), color="#4c8c4a")
    ax.set_xticks(range(len(counts)), [f"{v:.2f}" for v in counts.index])
    for x, n in enumerate(counts.to_numpy()):
        ax.text(x, n, f"{n:,}", ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("floating factor (× base premium)")
    ax.set_ylabel("enterprises (count)")
    ax.set_title("Floating factor distribution")
    return ax.figure


def strategies_figure(comparison: pd.DataFrame):
    """Prevention strategies compared: accidents avoided (per year) and benefit per yuan spent."""
    import matplotlib.pyplot as plt

    from .._base.plotting import use_cjk_font

    use_cjk_font()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    names = [str(s) for s in comparison.index]
    left.barh(names, comparison["accidents_avoided"], color="#1f5f99")
    left.set_xlabel("accidents avoided (per year)")
    right.barh(names, comparison["benefit_cost"], color="#b5651d")
    right.set_xlabel("losses avoided per yuan spent (yuan / yuan)")
    right.set_yticks(range(len(names)), [""] * len(names))
    fig.suptitle("Prevention fund: allocation strategies compared (same budget)")
    fig.tight_layout()
    return fig


def _scenario_frames(frame: pd.DataFrame):
    for scenario, part in frame.groupby("scenario", sort=False, observed=True):
        yield str(scenario), part


def fan_chart(frame: pd.DataFrame, metric: str, unit: str):
    """Median and 5–95 % / 25–75 % bands of ``metric`` over the simulations, by year and scenario.

    ``frame`` is a stress result's ``to_frame()``: one row per scenario, simulation and year.
    """
    ax = axes(figsize=(7.0, 3.8))
    colours = ["#1f5f99", "#b5651d", "#4c8c4a", "#8e44ad", "#c0392b", "#555555"]
    for k, (scenario, part) in enumerate(_scenario_frames(frame)):
        q = part.groupby("year")[metric].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
        c = colours[k % len(colours)]
        ax.fill_between(q.index, q[0.05], q[0.95], color=c, alpha=0.12, lw=0)
        ax.fill_between(q.index, q[0.25], q[0.75], color=c, alpha=0.25, lw=0)
        ax.plot(q.index, q[0.5], color=c, marker="o", ms=3, label=f"{scenario} (median)")
    ax.set_xlabel("year")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # policy years, never 2024.25
    ax.set_ylabel(f"{metric.replace('_', ' ')} ({unit})")
    ax.set_title(f"{metric.replace('_', ' ')}: median, 25–75 % and 5–95 % of simulations")
    ax.legend(fontsize=8)
    return ax.figure


def exceedance_figure(frame: pd.DataFrame, metric: str, unit: str, *, over_years: str = "sum"):
    """P(X > x) of ``metric`` per simulation (``over_years``: "sum" over the years, or "max"), by scenario."""
    ax = axes(figsize=(7.0, 3.8))
    for scenario, part in _scenario_frames(frame):
        per_sim = part.groupby("simulation")[metric].agg(over_years).sort_values().to_numpy()
        n = len(per_sim)
        # the empirical survival function, P(X > x) = share of simulations above x; its last step (0)
        # cannot be drawn on the log scale
        survival = 1.0 - np.arange(1, n + 1) / n
        ax.step(per_sim[:-1], survival[:-1], where="post", label=scenario)
    ax.set_yscale("log")
    ax.set_xlabel(f"{metric.replace('_', ' ')}, {over_years} over the years ({unit})")
    ax.set_ylabel("probability of exceeding")
    ax.set_title(f"Exceedance curve of {metric.replace('_', ' ')}")
    ax.legend(fontsize=8)
    return ax.figure
