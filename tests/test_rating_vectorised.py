"""Vectorised rating helpers (with_prior_year, rebase_exposure, the off-balance factor): the same
results as the loops and merges they replaced.

The references below are the former implementations (a self-merge on (enterprise, year + 1) and
a row mask on ``sector.astype(str)``, a loop over the off-balance pieces), kept here as the
independent method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeins.errors import ValidationError
from safeins.rating.history import _PRIOR, rebase_exposure, with_prior_year

# a manual rating two sectors on another column than the registry's base
BASES = {"manufacturing": "headcount", "trade": "headcount"}


def merge_reference(table: pd.DataFrame, keep_unknown: bool = False) -> pd.DataFrame:
    prev = table[["enterprise_id", "year", *_PRIOR.values()]].copy()
    if "inspected" in table.columns:
        lost = ~table["inspected"].to_numpy(dtype=bool)
        for col in ("hazard_rate", "unrectified", "major_hazards_found"):
            prev[col] = np.where(lost, np.nan, prev[col].to_numpy(dtype=float))
    prev["year"] = prev["year"] + 1
    prev = prev.rename(columns={v: k for k, v in _PRIOR.items()})
    # a prior column the table already has (exposure_table's prior_accidents) is kept as it is
    prev = prev.drop(columns=[c for c in _PRIOR if c in table.columns])
    out = table.merge(prev, on=["enterprise_id", "year"], how="left", validate="one_to_one")
    out.index = table.index
    if not keep_unknown:
        known = pd.MultiIndex.from_frame(prev[["enterprise_id", "year"]])
        mine = pd.MultiIndex.from_frame(table[["enterprise_id", "year"]])
        out = out[mine.isin(known)]
    return out


def rebase_reference(table: pd.DataFrame, bases) -> pd.DataFrame:
    out = table.copy()
    exposure = out["exposure"].to_numpy(dtype=float).copy()
    sector = out["sector"].astype(str).to_numpy()
    for s, b in bases.items():
        hit = sector == s
        exposure[hit] = out.loc[hit, b].to_numpy(dtype=float)
    out["exposure"] = exposure
    return out


def random_table(seed: int, n_ent: int, years: list[int], p_row: float, inspected: bool,
                 clash: bool, id_dtype: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(f"E{e:03d}", y) for e in range(n_ent) for y in years if rng.random() < p_row]
    rng.shuffle(rows)
    n = len(rows)
    t = pd.DataFrame({
        "enterprise_id": pd.array([r[0] for r in rows], dtype=id_dtype),
        "year": np.array([r[1] for r in rows], dtype=np.int64),
        "sector": pd.Categorical(rng.choice(["trade", "mining", "manufacturing"], n)),
        "headcount": rng.integers(1, 500, n),
        "exposure": rng.uniform(1e5, 1e7, n),
        "hazard_rate": rng.uniform(0, 10, n),
        "unrectified": rng.integers(0, 4, n),
        "major_hazards_found": rng.integers(0, 2, n),
        "accidents": rng.integers(0, 3, n),
    }, index=pd.Index(rng.permutation(n) * 3 + 7, name="row"))
    if inspected:
        t["inspected"] = rng.random(n) < 0.8
    if clash:  # exposure_table has its own prior_accidents column
        t.insert(3, "prior_accidents", rng.integers(0, 3, n))
    return t


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n_ent=st.integers(0, 30),
       years=st.lists(st.integers(2015, 2025), min_size=1, max_size=6, unique=True),
       p_row=st.sampled_from([0.5, 0.9, 1.0]), inspected=st.booleans(), clash=st.booleans(),
       keep=st.booleans(), id_dtype=st.sampled_from(["object", "str"]))
def test_with_prior_year_equals_the_merge(seed, n_ent, years, p_row, inspected, clash, keep,
                                          id_dtype):
    t = random_table(seed, n_ent, years, p_row, inspected, clash, id_dtype)
    pd.testing.assert_frame_equal(with_prior_year(t, keep_unknown=keep),
                                  merge_reference(t, keep_unknown=keep), check_exact=True)


def test_with_prior_year_names_every_duplicated_row():
    t = random_table(1, 5, [2021, 2022, 2023], 1.0, True, False, "object")
    t = pd.concat([t, t.iloc[[0, 3]].set_axis([900, 901])])
    with pytest.raises(ValidationError) as err:
        with_prior_year(t)
    problem = err.value.problems.iloc[0]
    assert problem["column"] == "enterprise_id,year"
    assert problem["rule"] == "duplicated enterprise-year"
    assert "900" in str(problem["row"]) and "901" in str(problem["row"]) and "(+" not in str(
        problem["row"])  # 4 rows: both copies of each duplicated pair


@pytest.mark.parametrize("sector_dtype", ["category", "object", "str"])
def test_rebase_exposure_equals_the_row_mask(sector_dtype):
    t = random_table(3, 40, [2022, 2023], 1.0, False, False, "object")
    t["sector"] = t["sector"].astype(sector_dtype)
    got = rebase_exposure(t, BASES)
    pd.testing.assert_frame_equal(got, rebase_reference(t, BASES), check_exact=True)
    before = t["exposure"].copy()
    got.loc[got.index[0], "exposure"] = -1.0  # the result is not a view on the input
    pd.testing.assert_series_equal(t["exposure"], before)


def loop_off_balance(floated, minimum, goal):
    """The former piece-by-piece search of the off-balance factor."""
    brk = np.where(floated > 0, minimum / np.where(floated > 0, floated, 1.0), np.inf)
    order = np.argsort(brk)
    b, f, m = brk[order], floated[order], minimum[order]
    paid_f = np.concatenate([[0.0], np.cumsum(f)])
    rest_m = m.sum() - np.concatenate([[0.0], np.cumsum(m)])
    for k in range(len(b) + 1):
        c = (goal - rest_m[k]) / paid_f[k] if paid_f[k] > 0 else np.inf
        lo = b[k - 1] if k > 0 else 0.0
        hi = b[k] if k < len(b) else np.inf
        if lo <= c <= hi:
            return float(c)
    return float(goal / floated.sum())


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), p_zero=st.sampled_from([0.0, 0.2]),
       share=st.floats(0.05, 0.95))
def test_off_balance_vectorised_equals_the_piece_loop(seed, n, p_zero, share):
    from safeins.rating.quotes import _off_balance

    rng = np.random.default_rng(seed)
    floated = np.where(rng.random(n) < p_zero, 0.0, rng.uniform(100.0, 5e4, n))
    if not floated.sum() > 0:
        floated[0] = 1_000.0
    minimum = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(50.0, 2e3, n))
    goal = minimum.sum() + share * floated.sum() * 3.0
    assert _off_balance(floated, minimum, goal) == loop_off_balance(floated, minimum, goal)
