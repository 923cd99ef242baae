"""Fitted relativities for pricing: a GLM factor as a credibility-smoothed, capped relativity table.

Both pricing routes use it: :meth:`Tariff.from_models` (``rating_factors=``, a relativity table of
the tariff) and :meth:`FloatingRule.from_model` (a floating factor).

Smoothing. For each level with ``A`` accidents and ``m`` expected accidents at relativity 1 (the
other factors at their fitted values), the relativity is the Poisson–gamma credibility estimate

    r = Z r_glm + (1 - Z) r_c,   Z = r_c m / (r_c m + w),

the posterior mean under a gamma prior of mean ``r_c`` (the complement) and shape ``w`` (the
``complement_weight``: the prior counts as ``w`` accidents). For a Poisson GLM ``r_glm m = A``, so a
level without accidents gets ``r = w r_c / (w + r_c m) > 0``: never 0. The complement is the book:
for ``sector``, the book's accidents per worker-year applied to the level's worker-years; for any
other factor, 1 (the base level, the level with the most enterprise-years).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import Problem, Problems, ValidationError

#: GLM columns built from the prior year's history -> the pricing input with the same quantity.
PRIOR_INPUTS: dict[str, str] = {
    "prior_hazard_rate": "hazard_rate",
    "prior_unrectified": "unrectified",
    "prior_major_hazards": "major_hazards",
    "prior_accidents": "accident_count",
}


def pricing_input(factor: str) -> str:
    """The column or standard input pricing reads for a GLM factor."""
    return PRIOR_INPUTS.get(factor, factor)


def fitted_relativities(freq, factor: str, data=None, complement_weight: float = 1.0,
                        cap: float | None = None, what: str = "fitted relativities") -> pd.DataFrame:
    """One row per level of ``factor``: GLM relativity, smoothed and capped relativity, Z, the
    complement, enterprise-years, worker-years and accidents. Levels in the GLM's order (binned
    factors in bin order); attributes ``edges`` (binned) and ``base`` on ``.attrs``."""
    p = Problems(what)
    p.check(isinstance(complement_weight, int | float) and not isinstance(complement_weight, bool)
            and math.isfinite(complement_weight) and complement_weight > 0,
            column="complement_weight", value=complement_weight,
            rule="a number > 0 (the complement counts as this many accidents)")
    p.check(cap is None or (isinstance(cap, int | float) and not isinstance(cap, bool)
                            and math.isfinite(cap) and cap >= 1),
            column="cap", value=cap, rule="None or a number >= 1 (relativities within [1/cap, cap])")
    if factor not in getattr(freq, "factors", ()):
        p.add(column="rating_factors", value=factor,
              rule=f"not a factor of the frequency model (factors: {list(getattr(freq, 'factors', []))})")
    p.raise_if_any()
    spec = freq.factor_spec(factor)
    if not spec.is_categorical:
        raise ValidationError(what, [Problem(None, "rating_factors", factor,
                                            "a numeric factor entered linearly has no levels: "
                                            "fit it binned (numeric={factor: k or edges})")])
    rel = freq.relativities_[freq.relativities_["factor"] == factor].set_index("level")
    order = ([lab for lab in spec.labels if lab in rel.index] if spec.kind == "binned"
             else list(rel.index))
    rel = rel.loc[order]
    zero = rel["relativity"].to_numpy() <= 0
    m = np.where(zero, np.nan, rel["counts"].to_numpy() / np.where(zero, 1.0, rel["relativity"]))
    complement = np.ones(len(rel))
    if zero.any() or factor == "sector":
        if data is None:
            p.add(column="data", value=None,
                  rule=f"{factor!r} has levels without accidents ({', '.join(rel.index[zero])}) or is "
                       "the sector: give data= (the table the GLM was fitted on) for the complement")
            p.raise_if_any()
        df = pd.DataFrame(data)
        at_base = freq.expected_at_base(df, factor)
        level = freq.level_of(df, factor)
        m_data = at_base.groupby(level.to_numpy()).sum().reindex(rel.index).fillna(0.0).to_numpy()
        m = np.where(zero, m_data, m)
        if factor == "sector" and "headcount" in df.columns:
            counts = df[getattr(freq, "counts_name_", "accidents")].to_numpy(dtype=float)
            head = df["headcount"].to_numpy(dtype=float)
            per_worker = counts.sum() / head.sum()
            w_level = pd.Series(head).groupby(level.to_numpy()).sum().reindex(rel.index).to_numpy()
            complement = np.where(m > 0, per_worker * w_level / np.where(m > 0, m, 1.0), 1.0)
    r_glm = rel["relativity"].to_numpy(dtype=float)
    w = float(complement_weight)
    z = complement * m / (complement * m + w)
    smooth = z * r_glm + (1.0 - z) * complement
    base = rel.index[rel["is_base"].astype(bool)][0]
    smooth = smooth / smooth[list(rel.index).index(base)]  # the base level stays at 1
    capped = smooth if cap is None else np.clip(smooth, 1.0 / cap, cap)
    out = pd.DataFrame({"level": rel.index.astype(str), "glm": r_glm, "z": z, "complement": complement,
                        "smoothed": smooth, "relativity": capped,
                        "enterprise_years": rel["enterprise_years"].to_numpy(),
                        "worker_years": rel["worker_years"].to_numpy(), "accidents": rel["counts"].to_numpy(),
                        "is_base": rel["is_base"].astype(bool).to_numpy()})
    out.attrs["base"] = str(base)
    # bins closed on the right; user edges [e0, ..., ek]: the interior ones cut the same bins
    edges = None if spec.kind != "binned" else (spec.edges if not spec.closed else spec.edges[1:-1])
    out.attrs["edges"] = None if edges is None else tuple(float(e) for e in edges)
    if spec.merged:
        raise ValidationError(what, [Problem(None, "rating_factors", factor,
                                            "levels pooled into '(other)' cannot be priced one by "
                                            "one; fit without min_level_exposure for this factor")])
    return out


def method_note(complement_weight: float, cap: float | None) -> str:
    """The smoothing method in words, for a tariff's notes and a rule's source."""
    return ("Poisson-gamma credibility: r = Z r_glm + (1 - Z) r_c, "
            f"Z = r_c m / (r_c m + {complement_weight:g}) "
            "with m the level's expected accidents at relativity 1 and complement r_c = the book "
            "(sector: the book's accidents per worker-year; other factors: the base level); a level "
            "without accidents gets a positive relativity"
            + (f"; capped to [1/{cap:g}, {cap:g}]" if cap is not None else "; not capped"))
