"""Pricing a portfolio: base premium x floating factor x off-balance, one vectorised pass.

For enterprise i with exposure ``e_i`` in its sector's base:

* base premium ``B_i = rate_i x e_i x prod(relativities)``, ``rate_i`` from the tariff's matching
  row (in yuan per unit of the enterprise's own exposure base);
* floating factor ``f_i`` = the rule's combined factor within ``[floor, cap]`` (1 without a rule),
  its inputs taken from the portfolio and the histories of the year before ``year``;
* final premium ``P_i = max(B_i f_i c, m_i)``: the minimum premium ``m_i`` applies to the FINAL
  premium, after floating and the off-balance;
* off-balance ``c``: ``"neutral"`` makes ``sum(P_i) = sum(max(B_i, m_i))`` (floating moves premium
  between enterprises, not in total), a number makes ``sum(P_i)`` that total, ``None`` means
  ``c = 1``. ``c`` multiplies every premium alike (it rescales the base rates, reported as its own
  line), so a published floating step such as -10 % stays exactly -10 %.

>>> import safeins as si
>>> from safeins.rating.tariff import Tariff
>>> from safeins.rating.floating import FloatingRule
>>> d = si.datasets.synthetic_portfolio(n_enterprises=300, years=(2022, 2023), regions=("宁波", "杭州"),
...                                      seed=3)
>>> t = Tariff.load("zhejiang-demo")
>>> q = t.price(d.portfolio, accidents=d.accidents, floating=FloatingRule.load("fuyang"),
...             options={"per_person": 400_000})
>>> q.year, bool(abs(q.total() - q.target) < 1e-6 * q.total())
(2024, True)
>>> print(q.explain("E0000001"))  # doctest: +ELLIPSIS
Enterprise E0000001: sector ..., policy year 2024
  exposure ...
  base rate ...
  base premium ...
  floating      rule 'fuyang' (regulatory, additive)
    accident_grade       accident_grade = ...
    award                award = ...
    combined (1 + sum of adjustments) ...
  off-balance   x ... (revenue neutral: target = total premium before floating)
  final premium ... yuan
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._base.results import ResultMixin
from ..domain import sectors as _sectors
from ..domain.sectors import GRADES
from ..errors import Problem, Problems, ValidationError
from ._lookup import OPTIONS, match_rows
from .floating import FloatingRule

__all__ = ["Quotes", "price"]

_KEY_COLS = ("sector", "size_band", "region")


def _portfolio(pf):
    from ..domain.portfolio import Portfolio

    if isinstance(pf, Portfolio):
        return pf
    if isinstance(pf, pd.DataFrame):
        return Portfolio(pf)
    raise ValidationError("price", [Problem(None, "portfolio", type(pf).__name__,
                                            "a Portfolio or a DataFrame of enterprises")])


def price(tariff, portfolio, accidents=None, hazards=None, floating=None, year=None,
          experience=None, options=None, off_balance="neutral", assume_claim_free: bool = False,
          max_premium_share: float = 0.05) -> Quotes:
    """Price every enterprise of ``portfolio`` under ``tariff`` (see the module doc).

    Parameters
    ----------
    tariff : Tariff
    portfolio : Portfolio or DataFrame
    accidents : AccidentHistory, optional
        Needed by rules reading ``accident_grade``, ``accident_count`` or ``deaths``.
    hazards : HazardHistory, optional
        Needed by rules (and banded relativities) reading hazard inputs.
    floating : FloatingRule, str or None
        A rule or the name of a shipped one; None: no floating.
    year : int, optional
        The policy year priced; the floating record is that of ``year - 1``. Default: one after
        the last year of the histories given.
    experience : Series, DataFrame or fitted ExperienceRating, optional
        Per-enterprise experience: a Series (its name, default ``loss_ratio``) or DataFrame
        columns become rule inputs; an ExperienceRating's last modification becomes
        ``experience_mod``.
    options : dict, optional
        Policy options for every enterprise not stating them in a portfolio column
        (``per_person``, ``aggregate``, ``risk_class``, or a relativity dimension).
    off_balance : "neutral", float or None
        The target total premium (see the module doc).
    assume_claim_free : bool
        The prior year must be in the accident (and hazard) history the rule or tariff reads:
        a year missing from the history is not a clean record. ``True`` proceeds, treats every
        enterprise as accident-free (no hazard record) that year and reports how many enterprises
        it assumed (``Quotes.assumed``).
    max_premium_share : float
        A premium above this share of a money exposure (payroll, revenue, contract value) is
        refused as implausible (a per-mille manual read as fractions).
    """

    pf = _portfolio(portfolio)
    frame = pf.frame
    p = Problems(f"price (tariff {tariff.name!r})")
    options = dict(options or {})
    rel_dims = [r.dimension for r in tariff.relativities]
    for k, v in options.items():
        p.check(k in OPTIONS or k in rel_dims, column=f"options.{k}", value=v,
                rule=f"unknown option; allowed: {', '.join((*OPTIONS, *rel_dims))}")
    if isinstance(floating, str):
        floating = FloatingRule.load(floating)
    p.check(floating is None or isinstance(floating, FloatingRule), column="floating",
            value=type(floating).__name__, rule="a FloatingRule, a shipped rule name or None")
    p.check(isinstance(assume_claim_free, bool), column="assume_claim_free", value=assume_claim_free,
            rule="True or False")
    p.check(isinstance(max_premium_share, int | float) and not isinstance(max_premium_share, bool)
            and np.isfinite(max_premium_share) and max_premium_share > 0, column="max_premium_share",
            value=max_premium_share, rule="a share of exposure > 0 (0.05 = 5 %)")
    target = None
    if off_balance == "neutral" or off_balance is None:
        pass
    elif isinstance(off_balance, int | float) and not isinstance(off_balance, bool) \
            and np.isfinite(off_balance) and off_balance > 0:
        target = float(off_balance)
    else:
        p.add(column="off_balance", value=off_balance, rule="'neutral', a total premium > 0, or None")
    if floating is not None and not isinstance(floating, FloatingRule):
        p.raise_if_any()

    n = len(frame)
    idx = frame.index
    sector = frame["sector"]
    bases = tariff.sector_bases()
    exposure = _exposure(frame, bases)
    bad = ~np.isfinite(exposure) | (exposure <= 0)
    if bad.any():
        base_of = np.asarray(_base_of(sector, bases).astype(str))
        first = int(np.flatnonzero(bad)[0])
        p.add(row=_rows(idx[bad]), column=f"exposure ({base_of[first]})", value=float(exposure[first]),
              rule="each enterprise's exposure in its own rating base must be finite and > 0")
    keys = {"sector": sector, "size_band": frame["size_band"], "region": frame["region"],
            "exposure": exposure}
    stated = {}
    for k in OPTIONS:
        if k in frame.columns:
            v = frame[k] if options.get(k) is None else frame[k].astype(object).fillna(options[k])
        elif options.get(k) is not None:
            number = isinstance(options[k], int | float) and not isinstance(options[k], bool)
            v = pd.Series(np.full(n, options[k], dtype=float if number else object), index=idx)
        else:
            continue
        if k in ("per_person", "aggregate"):
            v = pd.to_numeric(v, errors="coerce")
        keys[k] = stated[k] = v

    # --- inputs from the histories (floating rule and banded relativities) -----------------------
    need = set(floating.columns) if floating is not None else set()
    need |= {r.input for r in tariff.relativities if r.edges is not None and r.input not in frame.columns}
    inputs, year, assumed = _floating_inputs(need, tariff.name if floating is None else floating.name,
                                             pf, accidents, hazards, year, experience, p,
                                             assume_claim_free)

    # --- base premium ----------------------------------------------------------------------------
    pos = match_rows(tariff, keys, p, index=idx)
    rel_cols = {}
    for rel in tariff.relativities:
        if rel.edges is not None:
            src = frame[rel.input] if rel.input in frame.columns else inputs.get(rel.input)
            vals = pd.Series(rel.band_levels(np.full(n, np.nan) if src is None else src), index=idx,
                             dtype=object)
        elif rel.dimension in frame.columns:
            vals = frame[rel.dimension]
            if options.get(rel.dimension) is not None:
                vals = vals.astype(object).fillna(options[rel.dimension])
        else:
            vals = pd.Series(np.full(n, options.get(rel.dimension, rel.base), dtype=object), index=idx)
        codes, uniq = pd.factorize(vals, use_na_sentinel=True)
        keys_u = [str(u) for u in uniq]
        table = np.array([rel.levels.get(u, np.nan) for u in keys_u] + [np.nan])
        rel_fac = table[codes]
        for u_i, u in enumerate(keys_u):
            if u not in rel.levels:
                p.add(row=_rows(idx[codes == u_i]), column=rel.dimension, value=u,
                      rule=f"level not in the tariff's relativity; allowed: {', '.join(rel.levels)}")
        if (codes < 0).any():
            what = (f"missing {rel.input!r} (the number the banded relativity reads)"
                    if rel.edges is not None else f"missing; one of {', '.join(rel.levels)}")
            p.add(row=_rows(idx[codes < 0]), column=rel.dimension, value=None, rule=what)
        rel_cols[rel.dimension] = (vals.to_numpy(), rel_fac)

    floats = floating.factors(inputs, p) if floating is not None else None
    p.raise_if_any()

    rates = tariff.fractions()[pos]
    row_min = np.array([tariff.min_premium if r.min_premium is None else r.min_premium
                        for r in tariff.rates])[pos]
    rel_prod = np.ones(n)
    for _, rel_fac in rel_cols.values():
        rel_prod = rel_prod * rel_fac
    base = rates * exposure * rel_prod
    _check_plausible(base, exposure, sector, idx, max_premium_share, tariff, bases)
    _check_positive(base, sector, idx, tariff)

    cols = {"sector": sector.array, "size_band": frame["size_band"].array, "region": frame["region"].array,
            "exposure_base": _base_of(sector, bases), "exposure": exposure, "rate_row": pos}
    for k, v in stated.items():
        cols[k] = v.array
    cols["base_rate"] = rates
    for rel in tariff.relativities:
        if rel.edges is not None and rel.input in inputs:
            cols[f"in_{rel.input}"] = inputs[rel.input]
    for dim, (vals, rel_fac) in rel_cols.items():
        cols[dim] = vals
        cols[f"rel_{dim}"] = rel_fac
    cols.update(base_premium=base)
    if floating is not None:
        for col in floating.columns:
            if col in inputs:
                cols[f"in_{col}"] = inputs[col]
        for c in floats.columns:
            cols[c] = floats[c].to_numpy()
        factor = floats["factor"].to_numpy()
    else:
        cols.update(factor_raw=np.ones(n), factor=np.ones(n), capped=np.zeros(n, dtype=bool))
        factor = np.ones(n)
    out = pd.DataFrame(cols, index=idx, copy=False)

    # the minimum premium applies to the final premium, after floating and the off-balance
    floated = base * factor
    if off_balance is None or (n == 0 and target is None):
        # an empty book has nothing to balance: factor 1 (a stated target still cannot be reached)
        c, goal = 1.0, float(np.maximum(floated, row_min).sum())
    else:
        goal = float(np.maximum(base, row_min).sum()) if target is None else target
        c = _off_balance(floated, row_min, goal)
    final = np.maximum(floated * c, row_min)
    out["off_balance"] = c
    out["min_premium"] = row_min
    out["min_applied"] = floated * c < row_min
    out["final_premium"] = final
    return Quotes(out, tariff=tariff, rule=floating, year=year, off_balance=off_balance, target=goal,
                  assumed=assumed)


def _off_balance(floated: np.ndarray, minimum: np.ndarray, goal: float) -> float:
    """The factor c with sum(max(c x floated, minimum)) = goal (the total is increasing in c)."""
    if not float(floated.sum()) > 0:
        raise ValidationError("price", [Problem(None, "off_balance", goal,
                                                "the portfolio's premium before off-balance is 0; "
                                                "no correction can reach a target")])
    if float(minimum.sum()) >= goal:
        raise ValidationError("price", [Problem(None, "off_balance", goal,
                                                f"the minimum premiums alone total {minimum.sum():,.2f} "
                                                "yuan, at or above the target; lower the minimum")])
    # breakpoints c_i = min_i / floated_i: between them the total is linear in c
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        brk = np.where(floated > 0, minimum / floated, np.inf)
    order = np.argsort(brk)
    b, f, m = brk[order], floated[order], minimum[order]
    # at c in [b_k, b_{k+1}): enterprises 0..k pay c f_i, the rest pay their minimum
    paid_f = np.concatenate([[0.0], np.cumsum(f)])
    rest_m = m.sum() - np.concatenate([[0.0], np.cumsum(m)])
    # the c of every piece at once; the first piece whose c lies in its own interval
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(paid_f > 0, (goal - rest_m) / paid_f, np.inf)
    lo = np.concatenate([[0.0], b])
    hi = np.concatenate([b, [np.inf]])
    inside = (lo <= c) & (c <= hi)
    if inside.any():
        return float(c[np.argmax(inside)])
    return float(goal / floated.sum())  # pragma: no cover - the total is continuous and increasing


def _check_plausible(base, exposure, sector, idx, share, tariff, bases) -> None:
    money = np.isin(np.asarray(_base_of(sector, bases).astype(str)), list(_MONEY))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = base / exposure
    bad = money & (ratio > share)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValidationError(f"price (tariff {tariff.name!r})", [Problem(
            _rows(idx[bad]), "base_premium / exposure", float(ratio[first]),
            f"a premium above {share:.1%} of a money exposure is implausible (a per-mille manual "
            f"read as fractions? tariff unit is {tariff.unit!r}); raise max_premium_share= if meant")])


def _check_positive(base, sector, idx, tariff) -> None:
    """A zero or negative premium in a sector where cover is mandatory is an error."""
    bad = ~(base > 0)
    if not bad.any():
        return
    mandatory = np.array([bool(_sectors.get(s).mandatory_in) for s in sector.astype(str)])
    hit = bad & mandatory
    if hit.any():
        raise ValidationError(f"price (tariff {tariff.name!r})", [Problem(
            _rows(idx[hit]), "base_premium", 0.0,
            "a zero or negative premium in a sector where cover is mandatory: the tariff rates it at "
            "0; give the cell a credibility complement (Tariff.from_models does) or a positive rate")])


_MONEY = ("payroll", "revenue", "contract_value")


def _positions(index: pd.Index, ids) -> np.ndarray:
    """Position of each id in the portfolio index (-1 if absent).

    Both sorted (the usual case for tables exported from one system): a linear merge join;
    otherwise a hash lookup. The results are the same.
    """
    q = pd.Index(np.asarray(ids, dtype=object), dtype=object)
    if index.is_unique and index.is_monotonic_increasing and q.is_monotonic_increasing:
        _, _, right = q.join(index, how="left", return_indexers=True)
        return np.arange(len(q)) if right is None else np.asarray(right, dtype=np.int64)
    return index.get_indexer(q)


def _base_for(code: str, bases: dict | None) -> str:
    return (bases or {}).get(code) or _sectors.get(code).exposure_base


def _exposure(frame: pd.DataFrame, bases: dict | None = None) -> np.ndarray:
    """Each enterprise's exposure in its rating base: the tariff's base for its sector (``bases``),
    else the sector's registered base (as Portfolio.exposure, vectorised)."""
    sector = pd.Categorical(frame["sector"])
    base_of = np.array([_BASES.index(_base_for(c, bases)) for c in sector.categories], dtype=np.int64)
    which = base_of[sector.codes]
    out = np.full(len(frame), np.nan)
    for k, b in enumerate(_BASES):
        sel = which == k
        if sel.any():
            out[sel] = frame[b].to_numpy(dtype=float)[sel]
    return out


def _base_of(sector: pd.Series, bases: dict | None = None) -> pd.Categorical:
    cat = pd.Categorical(sector)
    code = np.array([_BASES.index(_base_for(c, bases)) for c in cat.categories], dtype=np.int64)
    return pd.Categorical.from_codes(code[cat.codes], categories=list(_BASES))


_BASES = tuple(_sectors.EXPOSURE_BASES)


def _rows(index, show: int = 5) -> str:
    ids = [str(i) for i in index[:show]]
    more = f" … (+{len(index) - show})" if len(index) > show else ""
    return ", ".join(ids) + more + f" [{len(index)} enterprise{'s' if len(index) != 1 else ''}]"


_ACCIDENT_INPUTS = {"accident_grade", "accident_count", "deaths"}
_HAZARD_INPUTS = {"hazards_found", "major_hazards", "unrectified", "hazard_rate", "hazard_rate_ratio"}
_PORTFOLIO_INPUTS = {"credit_grade", "blacklisted", "standardization", "award"}


def _floating_inputs(need, name, pf, accidents, hazards, year, experience, p: Problems,
                     assume_claim_free: bool = False):
    """The inputs ``need`` names, one row per enterprise, from the portfolio, histories and
    experience; the policy year; and how many enterprises were assumed claim-free."""
    frame = pf.frame
    idx = frame.index
    assumed = 0
    if year is None:
        years = [max(t.years) for t in (accidents, hazards) if t is not None and t.years]
        year = max(years) + 1 if years else None
    elif isinstance(year, bool) or not isinstance(year, int | np.integer):
        p.add(column="year", value=year, rule="an integer policy year")
        return pd.DataFrame(index=idx), None, 0
    if not need and experience is None:
        return pd.DataFrame(index=idx), year, 0
    need = set(need)
    base_need = {c.split("@")[0] for c in need}
    out: dict = {}
    n = len(idx)
    prior = None if year is None else int(year) - 1
    covered = set()
    for t in (accidents, hazards):
        if t is not None:
            covered |= set(t.years)  # rows' years and years stated covered (years=)

    if base_need & _ACCIDENT_INPUTS:
        if accidents is None or prior is None:
            p.add(column="accidents", value=None,
                  rule=f"{name!r} reads {sorted(base_need & _ACCIDENT_INPUTS)}: give accidents= "
                       "(and year= if the history is empty)")
        elif prior not in covered and not assume_claim_free:
            p.add(column="accidents.year", value=prior,
                  rule=f"the prior year {prior} is not in the accident or hazard history (years "
                       f"{sorted(covered)}): a missing year is not a clean record; give its history "
                       "or pass assume_claim_free=True")
        else:
            if prior not in covered:
                assumed = n
            a = accidents.frame
            a = a[a["year"].to_numpy() == prior]
            reportable = any(c.endswith("@reportable") for c in need)
            if reportable and "reportable" not in a.columns:
                p.add(column="accidents.reportable", value="<no column>",
                      rule="a factor counts reportable accidents (count = 'reportable'): the accident "
                           "history needs a boolean column 'reportable'")
                reportable = False
            e_all = _positions(idx, a["enterprise_id"])
            unknown = e_all < 0
            if unknown.any():
                p.add(row=_rows(a.index[unknown]), column="accidents.enterprise_id",
                      value=a["enterprise_id"].iloc[int(np.flatnonzero(unknown)[0])],
                      rule="accident of an enterprise not in the portfolio")
            variants = [("", np.ones(len(a), dtype=bool))]
            if reportable:
                variants.append(("@reportable", a["reportable"].to_numpy(dtype=bool)))
            for suffix, keep in variants:
                sel = keep & ~unknown
                e = e_all[sel]
                codes = a["grade"].cat.codes.to_numpy()[sel].astype(np.int64)
                worst = np.full(n, -1, dtype=np.int64)
                np.maximum.at(worst, e, codes)
                out["accident_grade" + suffix] = pd.Categorical.from_codes(
                    worst + 1, categories=["none", *GRADES])
                out["accident_count" + suffix] = np.bincount(e, minlength=n)
                d = (a["employee_deaths"] + a["third_party_deaths"]).to_numpy()[sel]
                out["deaths" + suffix] = np.bincount(e, weights=d, minlength=n).astype(np.int64)

    if base_need & _HAZARD_INPUTS:
        if hazards is None or prior is None:
            p.add(column="hazards", value=None,
                  rule=f"{name!r} reads {sorted(base_need & _HAZARD_INPUTS)}: give hazards= "
                       "(and year= if the history is empty)")
        elif prior not in set(pd.unique(hazards.frame["year"]).tolist()) and not assume_claim_free:
            p.add(column="hazards.year", value=prior,
                  rule=f"the prior year {prior} is not in the hazard history (years "
                       f"{sorted(pd.unique(hazards.frame['year']).tolist())}): a missing year is not "
                       "a clean record; give its records or pass assume_claim_free=True")
        else:
            h = hazards.frame
            h = h[h["year"].to_numpy() == prior]
            e = _positions(idx, h["enterprise_id"])
            unknown = e < 0
            if unknown.any():
                p.add(row=_rows(h.index[unknown]), column="hazards.enterprise_id",
                      value=h["enterprise_id"].iloc[int(np.flatnonzero(unknown)[0])],
                      rule="hazard record of an enterprise not in the portfolio")
            e = e[~unknown]
            # a whole year missing and assumed clean: no hazard found for anyone
            fill = 0.0 if len(h) == 0 and assume_claim_free else np.nan
            if fill == 0.0:
                assumed = n
            cols = {"hazards_found": "hazards_found", "major_hazards": "major_hazards_found",
                    "unrectified": "unrectified"}
            for name_, col in cols.items():
                v = np.full(n, fill)
                v[e] = h[col].to_numpy(dtype=float)[~unknown]
                out[name_] = v
            head = frame["headcount"].to_numpy(dtype=float)
            rate = out["hazards_found"] / (head / 100.0)
            out["hazard_rate"] = rate
            # the sector norm: hazards per 100 employees over the sector's inspected enterprises
            inspected = ~np.isnan(rate)
            sec_codes, sec_uniq = pd.factorize(frame["sector"])
            found = np.bincount(sec_codes[inspected], weights=out["hazards_found"][inspected],
                                minlength=len(sec_uniq))
            staff = np.bincount(sec_codes[inspected], weights=head[inspected], minlength=len(sec_uniq))
            with np.errstate(divide="ignore", invalid="ignore"):
                norm = found / (staff / 100.0)
                ratio = rate / norm[sec_codes]
            # a sector with no hazard at all: every enterprise is at the norm
            ratio = np.where(inspected & (norm[sec_codes] == 0), 1.0, ratio)
            out["hazard_rate_ratio"] = ratio

    for col in base_need & _PORTFOLIO_INPUTS:
        if col in frame.columns:
            out[col] = frame[col].array

    if experience is not None:
        exp = experience
        if not isinstance(exp, pd.Series | pd.DataFrame) and hasattr(exp, "table_"):
            exp = exp.table_["modification"].rename("experience_mod")
        if isinstance(exp, pd.Series):
            exp = exp.to_frame(exp.name if exp.name is not None else "loss_ratio")
        if not isinstance(exp, pd.DataFrame):
            p.add(column="experience", value=type(experience).__name__,
                  rule="a Series or DataFrame indexed by enterprise_id, or a fitted ExperienceRating")
        else:
            where = _positions(idx, exp.index)
            extra = where < 0
            if extra.any():
                p.add(row=_rows(exp.index[extra]), column="experience", value=exp.index[extra][0],
                      rule="enterprise not in the portfolio")
            dup = exp.index.duplicated()
            if dup.any():
                p.add(row=_rows(exp.index[dup]), column="experience", value=exp.index[dup][0],
                      rule="duplicated enterprise")
            for col in exp.columns:
                v = exp[col].to_numpy()
                full = np.full(n, np.nan) if v.dtype.kind in "fiub" else np.full(n, None, dtype=object)
                full[where[~extra]] = v[~extra]
                out[col] = full

    for col in need - set(out):
        if col in frame.columns:
            out[col] = frame[col].array
    return pd.DataFrame(out, index=idx, copy=False), year, assumed


class Quotes(ResultMixin):
    """A priced portfolio: one row per enterprise with every step of its premium.

    ``to_frame()`` columns: sector, size_band, region, exposure_base, exposure, rate_row (the
    tariff row used), stated options, base_rate (fraction per unit of base), ``rel_<dim>``,
    min_premium, min_applied, base_premium, ``in_<input>`` (the rule's inputs), ``f_<factor>``,
    factor_raw, factor (within floor and cap), capped, off_balance, final_premium.

    >>> import pandas as pd, safeins as si
    >>> from safeins.rating.tariff import Tariff
    >>> pf = si.Portfolio(si.datasets.example_portfolio_frame())
    >>> t = Tariff(name="flat", rates=[{"sector": s.code, "base": s.exposure_base, "rate": 0.001}
    ...                                for s in si.sectors.all_sectors()], min_premium=100.0)
    >>> q = t.price(pf)
    >>> q.to_frame()[["base_premium", "final_premium"]].to_dict("list")
    {'base_premium': [0.12, 50000.0, 0.035], 'final_premium': [100.0, 50000.0, 100.0]}
    >>> q.to_frame()["min_applied"].tolist()
    [True, False, True]
    >>> round(q.total(), 2), q.off_balance
    (50200.0, 1.0)
    """

    def __init__(self, frame: pd.DataFrame, *, tariff, rule, year, off_balance, target, assumed=0):
        self._frame = frame
        #: enterprises priced as accident- and hazard-free because the prior year was missing
        #: from the history (``assume_claim_free=True``)
        self.assumed = int(assumed)
        self.tariff = tariff
        self.rule = rule
        self.year = year
        self.off_balance_rule = off_balance
        self.target = float(target)

    @property
    def off_balance(self) -> float:
        """The off-balance factor ``c``."""
        return float(self._frame["off_balance"].iat[0]) if len(self._frame) else 1.0

    def to_frame(self) -> pd.DataFrame:
        """The quote table (a copy)."""
        return self._frame.copy()

    def total(self) -> float:
        """Total final premium."""
        return float(self._frame["final_premium"].sum())

    def __len__(self) -> int:
        return len(self._frame)

    def summary(self) -> pd.DataFrame:
        """By sector: enterprises, exposure with its ``exposure_unit`` (never summed across units:
        the total row has none), base and final premium in yuan, mean factor, share capped."""
        f = self._frame
        out = f.groupby("sector", observed=True, sort=True).agg(
            enterprises=("final_premium", "size"), exposure=("exposure", "sum"),
            base_premium=("base_premium", "sum"), final_premium=("final_premium", "sum"),
            mean_factor=("factor", "mean"), share_capped=("capped", "mean"),
            share_min_premium=("min_applied", "mean"))
        out.loc["total"] = [len(f), np.nan, f["base_premium"].sum(), f["final_premium"].sum(),
                            f["factor"].mean(), f["capped"].mean(), f["min_applied"].mean()]
        out["final_to_base"] = out["final_premium"] / out["base_premium"]
        unit = f.groupby("sector", observed=True, sort=True)["exposure_base"].first().astype(str)
        out.insert(2, "exposure_unit", unit.map(lambda b: _sectors.EXPOSURE_BASES.get(b, b)))
        out.loc["total", "exposure_unit"] = ""
        return out

    def plot(self, ax=None):
        """Base and final premium by sector (bars)."""
        from .._base.plotting import axes

        ax = axes(ax)
        s = self.summary().drop(index="total")
        x = np.arange(len(s))
        ax.bar(x - 0.2, s["base_premium"], width=0.4, label="base premium")
        ax.bar(x + 0.2, s["final_premium"], width=0.4, label="final premium")
        ax.set_xticks(x, s.index.astype(str), rotation=45, ha="right")
        ax.set_ylabel("yuan")
        ax.set_title(f"Premium by sector (tariff {self.tariff.name})")
        ax.legend()
        return ax

    def regime_facts(self) -> dict:
        """The tariff's regulatory facts (commission and prevention share of its loadings)."""
        return self.tariff.regime_facts()

    def explain(self, enterprise_id) -> str:
        """A readable, line-by-line derivation of one enterprise's premium."""
        if enterprise_id not in self._frame.index:
            raise ValidationError("Quotes.explain", [Problem(None, "enterprise_id", enterprise_id,
                                                             "not in the priced portfolio")])
        r = self._frame.loc[enterprise_id]
        t = self.tariff
        row = t.rates[int(r["rate_row"])]
        unit = _sectors.EXPOSURE_BASES.get(r["exposure_base"], r["exposure_base"])
        written = f"{row.rate:g} {'‰' if t.unit == 'permille' else ''}".strip()
        lines = [f"Enterprise {enterprise_id}: sector {r['sector']}, size {r['size_band']}, "
                 f"region {r['region']}" + (f", policy year {self.year}" if self.year else ""),
                 f"  exposure      {r['exposure']:,.2f} ({unit}; base {r['exposure_base']})",
                 f"  base rate     {rate_with_unit(r['base_rate'], r['exposure_base'])} (written {written}; "
                 f"tariff {t.name!r} "
                 f"row {int(r['rate_row'])}{': ' + row.note if row.note else ''})"]
        product = [f"{r['exposure']:,.2f}", f"{r['base_rate']:.6g}"]
        for rel in t.relativities:
            src = (f" ({rel.input} = {_show(r.get('in_' + rel.input, np.nan))})"
                   if rel.edges is not None and f"in_{rel.input}" in r.index else "")
            lines.append(f"  relativity    {rel.dimension} = {r[rel.dimension]}{src}: "
                         f"x {r['rel_' + rel.dimension]:.4g}")
            product.append(f"{r['rel_' + rel.dimension]:.4g}")
        lines.append(f"  base premium  {' x '.join(product)} = {r['base_premium']:,.2f} yuan")
        rule = self.rule
        if rule is not None:
            lines.append(f"  floating      rule {rule.name!r} ({rule.status}, {rule.combine})")
            if rule.schedule is not None:
                sch = rule.schedule
                lines.append(f"    schedule {sch.name!r} ({sch.status}, {sch.combine}, published steps)")
                lines += [_term_line(term, r) for term in sch.all_terms]
                lines.append(f"    schedule factor {r['schedule_factor']:.4g} (floor {sch.floor:g}, "
                             f"cap {sch.cap:g})")
            lines += [_term_line(term, r) for term in rule.terms]
            how = "product" if rule.combine == "multiplicative" else "1 + sum of adjustments"
            if rule.schedule is not None:
                how = f"schedule x {how}"
            lines.append(f"    combined ({how}) {r['factor_raw']:.4g}; floor {rule.floor:g}, cap {rule.cap:g}"
                         f" -> {r['factor']:.4g}{' (capped)' if r['capped'] else ''}")
        else:
            lines.append("  floating      none (factor 1)")
        target = ("revenue neutral: target = total premium before floating"
                  if self.off_balance_rule == "neutral"
                  else "none" if self.off_balance_rule is None else f"target total {self.target:,.2f}")
        lines.append(f"  off-balance   x {r['off_balance']:.6g} ({target})")
        value = r['base_premium'] * r['factor'] * r['off_balance']
        lines.append(f"  final premium {r['base_premium']:,.2f} x {r['factor']:.4g} x {r['off_balance']:.6g}"
                     + (f" = {value:,.2f} -> minimum premium" if r["min_applied"] else "")
                     + f" = {r['final_premium']:,.2f} yuan")
        if self.assumed:
            lines.append(f"  note          the prior year was missing from the history: {self.assumed:,} "
                         "enterprises priced as accident-free (assume_claim_free=True)")
        return "\n".join(lines)


def rate_with_unit(rate: float, base: str) -> str:
    """A rate (a fraction per unit of ``base``) with its unit: per mille of a money base, yuan per
    unit of a count base.

    >>> rate_with_unit(0.00045, "contract_value"), rate_with_unit(120.0, "headcount")
    ('0.45 ‰ of contract value', '120 yuan per worker')
    """
    value, unit = unit_of(rate, base)
    return f"{value:.6g} {unit}"


def unit_of(rate: float, base: str) -> tuple[float, str]:
    """``(value, unit)`` of a rate per unit of ``base`` as a manual shows it.

    >>> unit_of(0.0012, "payroll")
    (1.2, '‰ of payroll')
    """
    label = _UNIT_LABEL.get(base, base)
    if base in _MONEY:
        return rate * 1000.0, f"‰ of {label}"
    return rate, f"yuan per {label}"


_UNIT_LABEL = {"headcount": "worker", "payroll": "payroll", "revenue": "revenue",
               "contract_value": "contract value", "vehicles": "vehicle", "vessels": "vessel"}


def _term_line(term, r) -> str:
    val = r.get(f"in_{term.column}", term.default)
    comp = r[f"f_{term.name}"]
    what = f"{term.input}{' (reportable)' if term.count == 'reportable' else ''}"
    return f"    {term.name:<20} {what} = {_show(val)}: {comp - 1:+.1%} -> {comp:.4g}"


def _show(v) -> str:
    if isinstance(v, float | np.floating):
        return "missing" if np.isnan(v) else f"{v:.4g}"
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    return str(v)
