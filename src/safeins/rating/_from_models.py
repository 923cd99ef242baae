"""Tariff.from_models: base rates from a frequency GLM, an accident model and loadings."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd

from .._base.threads import single_thread
from ..domain import regimes as _regimes
from ..domain import sectors as _sectors
from ..errors import Problem, Problems, RegimeBreachError, SafeinsWarning, ValidationError

_GRID = ("sector", "size_band", "region")


def _base_levels(freq, at: dict, grid_dims: list[str], p: Problems) -> dict:
    rel = freq.relativities_
    out = {}
    for f in freq.factors:
        if f in grid_dims:
            continue
        if f in at:
            out[f] = at[f]
            continue
        base = rel[(rel["factor"] == f) & rel["is_base"].astype(bool)]
        if len(base) != 1:
            p.add(column=f"at.{f}", value=None,
                  rule=f"factor {f!r} of the frequency model has no base level; give at={{{f!r}: value}}")
        else:
            out[f] = _value_in(freq, f, base["level"].iloc[0])
    return out


def _value_in(freq, factor: str, level):
    """A value that falls in ``level``: the level itself, or for a binned number a value in its bin."""
    spec = freq.factor_spec(factor) if hasattr(freq, "factor_spec") else None
    if spec is None or spec.kind != "binned":
        return level
    i = list(spec.labels).index(level)
    edges = list(spec.edges)
    if spec.closed:
        return float(edges[i + 1])  # bins (e_i, e_i+1], the first closed at e_0
    return float(edges[i]) if i < len(edges) else float(np.nextafter(edges[-1], np.inf))


def _levels(freq, factor: str) -> list:
    rel = freq.relativities_
    return rel.loc[rel["factor"] == factor, "level"].tolist()


def _credibility(freq, data, cell_dims, credibility, p: Problems):
    """Per cell: the credibility-weighted actual / expected ratio, Z and the complement."""
    from ..models.credibility import BuhlmannStraub

    if data is None:
        p.add(column="data", value=None, rule="credibility needs data= (the table the GLM was fitted on)")
        return None
    df = pd.DataFrame(data)
    counts = getattr(freq, "counts_name_", "accidents")
    need = [counts, *cell_dims]
    miss = [c for c in need if c not in df.columns]
    if miss:
        p.add(column="data", value=miss, rule="columns missing from data")
        return None
    expected = freq.predict(df).to_numpy(dtype=float)
    cell = (df[cell_dims].astype(str).agg("|".join, axis=1) if len(cell_dims) > 1
            else df[cell_dims[0]].astype(str))
    period = df["year"] if "year" in df.columns else pd.Series(0, index=df.index)
    g = pd.DataFrame({"cell": cell.to_numpy(), "period": period.to_numpy(),
                      "A": df[counts].to_numpy(dtype=float), "E": expected})
    g = g.groupby(["cell", "period"], sort=True, as_index=False)[["A", "E"]].sum()
    g = g[g["E"] > 0]
    g["ratio"] = g["A"] / g["E"]
    if credibility == "fit":
        bs = BuhlmannStraub().fit(g, group="cell", value="ratio", weight="E", period="period")
        k = float(bs.k_)
    elif isinstance(credibility, int | float) and not isinstance(credibility, bool) and credibility >= 0:
        k = float(credibility)
    else:
        p.add(column="credibility", value=credibility, rule="'fit', a Bühlmann–Straub k >= 0, or None")
        return None
    tot = g.groupby("cell")[["A", "E"]].sum()
    x = tot["A"] / tot["E"]
    z = tot["E"] / (tot["E"] + k) if math.isfinite(k) else tot["E"] * 0.0
    m = float((z * x).sum() / z.sum()) if z.sum() > 0 else float(tot["A"].sum() / tot["E"].sum())
    return pd.DataFrame({"ratio": m + z * (x - m), "z": z, "actual": tot["A"], "expected": tot["E"]}), k, m


def _fitted(freq, factor, data, complement_weight, cap, p: Problems):
    """The factor's fitted relativities, or None with its problems collected in ``p``."""
    from ._fitted import fitted_relativities

    try:
        return fitted_relativities(freq, factor, data, complement_weight, cap, what="Tariff.from_models")
    except ValidationError as err:
        p.extend(err._problems)
        return None


def _rating_tables(freq, factors, data, grid_dims, complement_weight, cap, p: Problems):
    """Relativity tables (as Relativity dicts) for the GLM factors in ``factors``."""
    from ._fitted import method_note, pricing_input

    tables = []
    for f in factors:
        if f in grid_dims:
            p.add(column="rating_factors", value=f,
                  rule="already a key of the rate rows (sector, size band, region)")
            continue
        fr = _fitted(freq, f, data, complement_weight, cap, p)
        if fr is None:
            continue
        levels = dict(zip(fr["level"], fr["relativity"].astype(float), strict=True))
        src = (f"FrequencyGLM relativities of {f!r} (enterprise-years per level: "
               + ", ".join(f"{lv} {int(n):,}" for lv, n in zip(fr["level"], fr["enterprise_years"],
                                                               strict=True))
               + "); " + method_note(complement_weight, cap))
        row = {"dimension": f, "base": fr.attrs["base"], "levels": levels, "source": src}
        if fr.attrs["edges"] is not None:
            row.update(input=pricing_input(f), edges=fr.attrs["edges"])
        tables.append(row)
    return tables


def _zero_level_fix(freq, grid, data, complement_weight, p: Problems):
    """The grid with zero-event levels set to their factor's base, and the smoothed relativity
    each row must be multiplied by instead (1 where the level had accidents)."""
    mult = np.ones(len(grid))
    notes = []
    zero_levels = getattr(freq, "zero_levels_", {}) or {}
    grid = grid.copy()
    for f, levels in zero_levels.items():
        if f not in grid.columns:
            continue
        fr = _fitted(freq, f, data, complement_weight, None, p)
        if fr is None:
            continue
        fr = fr.set_index("level")
        hit = grid[f].astype(str).isin([str(lv) for lv in levels]).to_numpy()
        mult[hit] = fr["relativity"].reindex(grid.loc[hit, f].astype(str)).to_numpy()
        grid.loc[hit, f] = fr.attrs["base"]
        notes += [f"{f}={lv}: no accident in the data, relativity {fr.at[str(lv), 'relativity']:.4g} "
                  f"(credibility complement, Z={fr.at[str(lv), 'z']:.3f})" for lv in levels]
    return grid, mult, notes


def build(cls, freq, accm, *, coverage, loadings, regime, sectors, size_bands, regions, at,
          per_person_options, credibility, data, min_premium, name, source, unit, points=None,
          rating_factors=(), complement_weight=1.0, rating_cap=None, policy_year=None, bases=None):
    from .loadings import Loadings

    p = Problems("Tariff.from_models")
    if isinstance(loadings, dict):
        loadings = Loadings.from_dict(loadings)
    p.check(isinstance(loadings, Loadings), column="loadings", value=type(loadings).__name__,
            rule="a Loadings")
    p.check(hasattr(freq, "relativities_") and hasattr(freq, "predict"), column="freq",
            value=type(freq).__name__, rule="a fitted FrequencyGLM (relativities_, predict)")
    p.check(hasattr(accm, "insured_loss"), column="accm", value=type(accm).__name__,
            rule="a fitted AccidentModel (insured_loss)")
    p.check(hasattr(coverage, "per_person") and hasattr(coverage, "model_copy"), column="coverage",
            value=type(coverage).__name__, rule="a PolicyCoverage")
    p.check(unit in ("fraction", "permille"), column="unit", value=unit, rule="'fraction' or 'permille'")
    reg = None
    if regime is not None:
        try:
            reg = _regimes.get(regime)
        except ValidationError as err:
            p.extend(err._problems)
    p.raise_if_any()
    factors = list(freq.factors)
    p.check("sector" in factors, column="freq.factors", value=factors,
            rule="the frequency model must have a 'sector' factor: base rates are by sector")
    p.raise_if_any()

    # regime: loadings' caps and the coverage's minimum limit
    if reg is not None:
        failed = reg.check(loadings).failed() + reg.check(coverage).failed()
        if failed:
            raise RegimeBreachError(f"Tariff.from_models: breaches {reg.key}: " + "; ".join(
                f"{f.rule} {f.value!r} vs {f.limit!r}" for f in failed), failed)

    at = dict(at or {})
    if policy_year is not None:
        p.check("year" in factors, column="policy_year", value=policy_year,
                rule="the frequency model has no 'year' factor (a trend): fit one to project")
        at.setdefault("year", policy_year)
    dims = {"sector": list(sectors) if sectors is not None else _levels(freq, "sector")}
    if "size_band" in factors:
        dims["size_band"] = list(size_bands) if size_bands is not None else _levels(freq, "size_band")
    elif size_bands is not None:
        p.add(column="size_bands", value=size_bands, rule="the frequency model has no 'size_band' factor")
    if "region" in factors:
        dims["region"] = list(regions) if regions is not None else _levels(freq, "region")
    elif regions is not None:
        p.add(column="regions", value=regions, rule="the frequency model has no 'region' factor")
    for s in dims["sector"]:
        try:
            _sectors.get(s)
        except ValidationError as err:
            p.extend(err._problems)
    fixed = _base_levels(freq, at, list(dims), p)
    fitted = set(getattr(accm, "sectors_", dims["sector"]))
    for s in dims["sector"]:
        p.check(s in fitted, column="accm.sector", value=s,
                rule=f"sector not in the accident model (fitted: {', '.join(sorted(fitted))})")
    pp = [float(coverage.per_person)] + [float(v) for v in (per_person_options or ())
                                          if float(v) != float(coverage.per_person)]
    if reg is not None:
        for v in pp:
            p.check(v >= reg.min_death_disability_limit, column="per_person_options", value=v,
                    rule=f"below the {reg.key} minimum {reg.min_death_disability_limit:,.0f}")
    p.raise_if_any()

    rating_factors = list(rating_factors or ())
    rel_tables = _rating_tables(freq, rating_factors, data, list(dims), complement_weight, rating_cap, p)
    p.raise_if_any()

    grid = pd.DataFrame(list(itertools.product(*dims.values())), columns=list(dims))
    for f, v in fixed.items():
        grid[f] = v
    pred_grid, zero_mult, zero_notes = _zero_level_fix(freq, grid, data, complement_weight, p)
    p.raise_if_any()
    lam = np.asarray(freq.predict(pred_grid, kind="rate"), dtype=float) * zero_mult

    notes = [f"pure rate = expected accidents per exposure unit (GLM {getattr(freq, 'family', '?')}, "
             f"other factors at {fixed or 'none'}) x E[insured loss per accident]",
             *zero_notes,
             f"coverage: per_person {coverage.per_person:,.0f}, per-accident limit "
             f"{coverage.per_accident_limit:,.0f}",
             f"loadings: {loadings.to_dict()}"]
    cred_note = [""] * len(grid)
    if credibility is not None:
        cell_dims = list(dims)
        res = _credibility(freq, data, cell_dims, credibility, p)
        p.raise_if_any()
        table, k, m = res
        key = grid[cell_dims].astype(str).agg("|".join, axis=1) if len(cell_dims) > 1 \
            else grid[cell_dims[0]].astype(str)
        ratio = table["ratio"].reindex(key.to_numpy())
        z = table["z"].reindex(key.to_numpy())
        # a cell with no exposure in the data gets the complement m (credibility 0)
        lam = lam * ratio.fillna(m).to_numpy()
        cred_note = [f"credibility Z={zz:.3f}, factor {rr:.4f}" if not np.isnan(zz)
                     else f"no data: complement {m:.4f}" for zz, rr in zip(z.fillna(np.nan), ratio.fillna(m),
                                                                         strict=True)]
        notes.append(f"credibility-smoothed cells: Bühlmann–Straub k = {k:.6g}, complement m = {m:.4f}")

    kw = {} if points is None else {"n": int(points)}
    sev = {}
    # one BLAS thread: the lattices' means and variances are dot products of 16,000 numbers,
    # where a woken pool costs more than it saves (several times more on a busy machine)
    with single_thread():
        for v in pp:
            cov_v = coverage.model_copy(update={"per_person": v})
            for s in dims["sector"]:
                dist = accm.insured_loss(cov_v, sector=s, **kw)
                sev[(v, s)] = (float(dist.mean()), float(loadings.principle.risk_load(dist)))

    if "year" in fixed and hasattr(freq, "trend"):
        tr = freq.trend("year").iloc[0]
        notes.append(f"trend: frequency x {tr['annual_factor']:.4f} a year "
                     f"({freq.ci:.0%} CI {tr['ci_low']:.4f}-{tr['ci_high']:.4f}), "
                     f"projected to {fixed['year']}")
    if rel_tables:
        notes.append("relativity tables " + ", ".join(t["dimension"] for t in rel_tables)
                     + " from the GLM; " + rel_tables[0]["source"].split("; ", 1)[1])
    dropped = [f for f in factors if f not in dims and f not in rating_factors]
    if dropped:
        at_base = ", ".join(f"{f}={fixed.get(f)}" for f in dropped)
        notes.append(f"GLM factors not in the tariff's tables (rates at {at_base}): {', '.join(dropped)}")
    rows = []
    zero = []
    scale = 1000.0 if unit == "permille" else 1.0
    for v in pp:
        mean = np.array([sev[(v, s)][0] for s in grid["sector"]])
        load = np.array([sev[(v, s)][1] for s in grid["sector"]])
        gross = np.atleast_1d(loadings.gross(lam * mean, lam * load))
        for i, g in enumerate(grid.itertuples(index=False)):
            d = g._asdict()
            row = {"sector": d["sector"],
                   "base": (bases or {}).get(d["sector"]) or _sectors.get(d["sector"]).exposure_base,
                   "rate": float(gross[i] * scale), "per_person": v,
                   "note": f"lambda {lam[i]:.6g}/unit, E[X] {mean[i]:,.0f}" + (
                       f"; {cred_note[i]}" if cred_note[i] else "")}
            if "size_band" in d:
                row["size_band"] = str(d["size_band"])
            if "region" in d:
                row["region"] = str(d["region"])
            if not gross[i] > 0:
                zero.append(", ".join(f"{k}={d[k]}" for k in dims))
            rows.append(row)
    mandatory = [z for z in zero if _sectors.get(z.split(", ")[0].split("=")[1]).mandatory_in]
    if mandatory:
        raise ValidationError("Tariff.from_models", [Problem(
            None, "rate", 0.0, f"zero or negative rate in a sector where cover is mandatory: {z}")
            for z in mandatory])
    if zero:
        warnings.warn(f"Tariff.from_models: zero rates (no accident in the data for these cells; "
                      f"consider credibility or merging levels): {'; '.join(zero)}",
                      SafeinsWarning, stacklevel=3)
    return cls(name=name, description="built by Tariff.from_models", source=source or "fitted models",
               status="derived", unit=unit, rates=rows, min_premium=min_premium,
               relativities=rel_tables,
               loadings=loadings.to_dict(),
               regime=reg.key if reg is not None else loadings.regime, notes=notes)
