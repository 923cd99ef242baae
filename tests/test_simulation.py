"""The engine's building blocks: sorted uniforms, the guide-table search, merges, credit events, and
a hand-built book whose results are known in closed form."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeins.errors import ValidationError, WorkLimitError
from safeins.simulation import engine
from safeins.simulation.backends import run, seed_key, size_guard
from safeins.simulation.result import SimulationMeta, SimulationResult
from safeins.simulation.spec import (
    AccidentBank,
    BookArrays,
    Effects,
    EngineSpec,
    Finance,
    FloatingTables,
    Reinsurance,
)

#: the hand-built books run through both kernels (the compiled one and its numpy twin)
KERNELS = pytest.mark.parametrize("kernel", ["numba", "numpy"])


def test_sorted_uniforms_are_sorted_per_simulation_and_uniform():
    rng = np.random.default_rng(1)
    counts = np.array([0, 5, 20_000, 1, 3])
    u, sim = engine._sorted_uniforms(rng, counts)
    assert np.array_equal(np.bincount(sim, minlength=5), counts)
    for s in range(5):
        us = u[sim == s]
        assert np.all(np.diff(us) >= 0) and np.all((us >= 0) & (us < 1))
    big = u[sim == 2]
    # Kolmogorov–Smirnov distance of 20,000 uniforms: far below 1.63 / sqrt(n) (1 % level)
    ks = np.max(np.abs(np.arange(1, len(big) + 1) / len(big) - big))
    assert ks < 1.63 / np.sqrt(len(big))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 5.0), min_size=1, max_size=60), st.integers(0, 2**32 - 1))
def test_guide_table_finds_what_searchsorted_finds(weights, seed):
    w = np.asarray(weights)
    if w.sum() <= 0:
        w = w + 1.0
    eff = _effects(len(w), weights=w)
    yr = engine._Year(eff, 0)
    u = np.sort(np.random.default_rng(seed).random(500))
    x = u * yr.total
    expected = np.minimum(np.searchsorted(yr.cum, x, side="right"), len(w) - 1)
    np.testing.assert_array_equal(yr.locate(u, x), expected)
    assert np.all(w[yr.locate(u, x)] > 0)        # an enterprise without risk is never hit


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=30), st.lists(st.integers(0, 50), max_size=30))
def test_merge_is_the_sorted_union(a, b):
    a, b = np.unique(np.asarray(a, np.int64)), np.unique(np.asarray(b, np.int64))
    np.testing.assert_array_equal(engine._merge(a, b), np.union1d(a, b))


def _book(n=4, headcount=10.0):
    return BookArrays(
        ids=np.array([f"E{i}" for i in range(n)], dtype=object), sector=np.zeros(n, np.int64),
        sectors=("trade",), region=np.zeros(n, np.int64), regions=("r",),
        headcount=np.full(n, headcount), burden_base=np.full(n, 1e6), credit=np.ones(n, np.int64),
        base_premium=np.full(n, 1000.0), premium_year1=np.full(n, 1000.0),
        per_accident_limit=np.full(n, 1e9), aggregate_limit=np.full(n, 1e9),
        rescue_limit=np.full(n, 1e9))


def _bank(size=256):
    # every bank accident: one death, 100 yuan covered, 10 yuan of rescue
    return AccidentBank(size=size, deaths=np.ones(size, np.int64), serious=np.zeros(size, np.int64),
                        grade=np.zeros(size, np.int8))


def _effects(n, weights=None, accept=None, years=1, extra=(), track=()):
    w = np.full(n, 0.5) if weights is None else np.asarray(weights, dtype=float)
    a = np.ones(n) if accept is None else np.asarray(accept, dtype=float)
    return Effects(name="t", weights=np.tile(w, (years, 1)), accept=np.tile(a, (years, 1)),
                   severity=np.ones((years, n)), fund_spend=np.zeros(years), fund_budget_share=0.0,
                   covered=np.full((years, 256), 100.0), rescue=np.full((years, 256), 10.0),
                   extra=extra, track=track)


def _spec(n=4, years=2, floating=None, transition=None):
    return EngineSpec(book=_book(n), floating=floating or FloatingTables.flat(n), bank=_bank(),
                      reinsurance=Reinsurance(), finance=Finance(commission=0.0, expenses=0.0, capital=0.0),
                      years=years, first_year=2024, transition=transition)


@KERNELS
def test_a_known_book_gives_poisson_counts_and_fixed_costs(kernel):
    spec = _spec(n=4, years=2)
    eff = _effects(4, accept=[1.0, 1.0, 0.5, 0.0], years=2)
    out = run(spec, [eff], n_sims=2000, seed=3, chunk_size=1000, progress=False, kernel=kernel)["t"]
    acc = out["accidents"]
    # rate 0.5 at four enterprises, thinned to 1 + 1 + 0.5 + 0 halves: 1.25 accidents a year
    assert abs(acc.mean() - 1.25) < 4 * np.sqrt(1.25 / acc.size)
    assert abs(acc.var() / acc.mean() - 1) < 0.1                  # Poisson
    np.testing.assert_allclose(out["claims"], 110.0 * acc)        # 100 covered + 10 rescue each
    np.testing.assert_array_equal(out["deaths"], acc)
    assert abs(out["avoided_accidents"].mean() - 0.75) < 4 * np.sqrt(0.75 / acc.size)
    assert np.all(out["by_sector_accidents"][..., 0] == acc)


@KERNELS
def test_a_simulations_bank_entries_are_independent_draws_even_from_a_sorted_bank(kernel):
    """Each candidate draws its own bank entry, so a simulation's accidents are independent draws
    from the bank whatever order its entries come in. Here the bank is sorted by deaths: a
    simulation's total deaths, standardised with the variance of independent draws, has mean 0 and
    variance 1. (Runs of consecutive entries from one random start, even of a bank shuffled once,
    gave a variance of 0.6: a run's sum moves with the fixed sequence's autocorrelations.)"""
    n, size = 40, 256
    deaths = np.repeat(np.arange(8), size // 8)            # sorted: 0, ..., 0, 1, ..., 7
    bank = AccidentBank(size=size, deaths=deaths, serious=np.zeros(size, np.int64),
                        grade=np.zeros(size, np.int8))
    spec = EngineSpec(book=_book(n), floating=FloatingTables.flat(n), bank=bank, reinsurance=Reinsurance(),
                      finance=Finance(0.0, 0.0, 0.0), years=1, first_year=2024)
    out = run(spec, [_effects(n)], n_sims=2000, seed=11, progress=False, kernel=kernel)["t"]
    c, total = out["accidents"][:, 0], out["deaths"][:, 0]     # about 20 accidents a simulation
    mu, var = deaths.mean(), deaths.var()
    z = (total - c * mu) / np.sqrt(c * var)
    assert abs(z.mean()) < 0.1 and 0.85 < z.var() < 1.15


@KERNELS
def test_limits_per_accident_and_aggregate(kernel):
    n = 2
    book = _book(n)
    book = BookArrays(**{**book.__dict__, "per_accident_limit": np.array([50.0, 1e9]),
                         "aggregate_limit": np.array([1e9, 150.0])})
    spec = EngineSpec(book=book, floating=FloatingTables.flat(n), bank=_bank(), reinsurance=Reinsurance(),
                      finance=Finance(0.0, 0.0, 0.0), years=1, first_year=2024)
    eff = _effects(n, weights=[3.0, 3.0], track=(0, 1))
    out = run(spec, [eff], n_sims=500, seed=4, progress=False, kernel=kernel)["t"]
    counts0 = out["by_sector_accidents"][:, 0, 0]
    paid = out["tracked_claims"][:, 0, :]
    total = out["claims"][:, 0]
    np.testing.assert_allclose(total, paid.sum(axis=1))
    # enterprise 1 pays 110 an accident up to 150 a year
    assert np.isclose(paid[:, 1].max(), 150.0) and np.all(paid[:, 1] <= 150.0 * (1 + 1e-12))
    assert np.all(np.isclose(paid[:, 1][:, None], [0.0, 110.0, 150.0]).any(axis=1))
    np.testing.assert_allclose(paid[:, 0] / 50.0, np.round(paid[:, 0] / 50.0), atol=1e-9)  # 50 each
    assert counts0.sum() > 0


@KERNELS
def test_extra_accident_is_added_in_its_year_only(kernel):
    spec = _spec(n=3, years=2)
    cov = np.array([1000.0, 1000.0])
    base = _effects(3, years=2)
    cat = Effects(**{**base.__dict__, "extra": ((1, 2, 7, 0, 1, cov, np.zeros(2)),), "track": (2,)})
    a, b = (run(spec, [e], n_sims=100, seed=9, progress=False, kernel=kernel)["t"] for e in (base, cat))
    np.testing.assert_array_equal(a["claims"][:, 0], b["claims"][:, 0])
    np.testing.assert_allclose(b["claims"][:, 1] - a["claims"][:, 1], 1000.0)
    np.testing.assert_array_equal(b["deaths"][:, 1] - a["deaths"][:, 1], 7)
    np.testing.assert_array_equal(b["by_grade_accidents"][:, 1, 1] - a["by_grade_accidents"][:, 1, 1], 1)


@KERNELS
def test_floating_reprices_only_records_and_stays_revenue_neutral(kernel):
    n = 3
    fl = FloatingTables("multiplicative", 0.5, 2.0, np.ones(n), grade=np.array([0.0, 0.3, 0.5, 0.5, 0.5]),
                        neutral=True)
    spec = _spec(n=n, years=2, floating=fl)
    eff = _effects(n, years=2, track=(0, 1, 2))
    out = run(spec, [eff], n_sims=200, seed=5, progress=False, kernel=kernel)["t"]
    np.testing.assert_allclose(out["premium"], 3000.0)              # neutral: total unchanged
    prem2 = out["tracked_premium"][:, 1, :]
    had = out["by_sector_accidents"][:, 0, 0] > 0
    # an enterprise with an accident last year pays 1.3 times one without, within a simulation
    both = [(s, i, j) for s in range(200) for i in range(3) for j in range(3)
            if prem2[s, i] > prem2[s, j] * 1.0001]
    assert both and all(np.isclose(prem2[s, i] / prem2[s, j], 1.3) for s, i, j in both)
    assert had.any()


def test_credit_migration_follows_the_matrix():
    n = 2000
    P = np.array([[0.8, 0.2, 0, 0], [0.0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    spec = EngineSpec(book=BookArrays(**{**_book(n).__dict__, "credit": np.zeros(n, np.int64)}),
                      floating=FloatingTables.flat(n), bank=_bank(), reinsurance=Reinsurance(),
                      finance=Finance(0.0, 0.0, 0.0), years=2, first_year=2024, transition=P)
    eff = _effects(n, weights=np.zeros(n) + 1e-12, years=2)
    keys, grade = engine._credit(spec, eff, seed_key(1), 0, 0, 50, np.zeros(0, np.int64),
                                 np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    share = len(keys) / (50 * n)
    # Poisson events at rate 0.2 (distinct enterprises): 1 - exp(-0.2) leave grade A
    assert abs(share - (1 - np.exp(-0.2))) < 4 * np.sqrt(0.18 * 0.82 / (50 * n))
    assert np.all(grade == 1)


def test_size_guard_and_result_validation():
    assert size_guard(n_enterprises=10, n_sims=10, years=2, expected_accidents=3.0) == 60.0
    with pytest.raises(WorkLimitError, match="force=True") as err:
        size_guard(n_enterprises=10, n_sims=10**9, years=5, expected_accidents=1e3)
    assert "min" in str(err.value) or "h" in str(err.value)  # says about how long it would take
    raw = {k: np.ones((3, 1)) for k in engine.PER_YEAR}
    meta = SimulationMeta(years=(2024,), sectors=("trade",), first_year=2024, commission=0.0,
                          expenses=0.0, capital=0.0, burden=np.array([1.0]))
    r = SimulationResult({"a": raw}, meta)
    with pytest.raises(Exception, match="scenario"):
        r.values("b", "premium")
    with pytest.raises(Exception, match="name"):
        r.values("a", "nonsense")


# --- the minimum premium inside the engine agrees with pricing's exact off-balance -------------------
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), moved=st.integers(0, 40))
def test_minimum_premium_solve_matches_pricing(seed, n, moved):
    from safeins.rating.quotes import _off_balance
    from safeins.simulation._minimum import MinimumPremium

    rng = np.random.default_rng(seed)
    g0 = rng.gamma(2.0, 500.0, n)
    m = np.where(rng.random(n) < 0.5, rng.uniform(0, 1500, n), 0.0)
    sector = rng.integers(0, 3, n)
    ent = rng.choice(n, size=min(moved, n), replace=False)
    g = g0[ent] * rng.uniform(0.7, 1.5, len(ent))
    full = g0.copy()
    full[ent] = g
    goal = float(np.maximum(g0, m).sum())
    if m.sum() >= goal:  # pricing refuses a book whose minimums alone reach the goal
        return
    c_ref = _off_balance(full, m, goal)
    mp = MinimumPremium(g0, m, sector, 3)
    sim = np.zeros(len(ent), np.int64)
    c = mp.solve(sim, ent, g, goal, 1)
    assert c[0] == pytest.approx(c_ref, rel=1e-10)
    total, by = mp.totals(c, sim, ent, g, sector, 1, 3)
    final = np.maximum(c[0] * full, m)
    assert total[0] == pytest.approx(goal, rel=1e-10)
    np.testing.assert_allclose(by[0], np.bincount(sector, final, minlength=3), rtol=1e-10, atol=1e-9)


def test_numba_is_imported_only_on_the_stress_path():
    import subprocess
    import sys

    code = ("import sys, safeins as si; si.FrequencyGLM; si.Aggregate; si.Scheme; si.stress_test; "
            "import safeins.simulation.engine; print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert engine.kernel_function("auto").name == "numba"    # numba is a dev dependency
    with pytest.raises(ValidationError, match="kernel"):
        engine.kernel_function("gpu")


def test_kernels_agree_on_a_block_with_every_feature():
    """Thinning, a fixed accident at an enterprise that also has drawn ones, aggregate limits that
    bind, XL, take-up, severity and tracking: both kernels, same numbers."""
    n = 6
    book = BookArrays(**{**_book(n).__dict__, "aggregate_limit": np.full(n, 250.0),
                         "per_accident_limit": np.array([80.0, 1e9, 1e9, 1e9, 1e9, 1e9])})
    spec = EngineSpec(book=book, floating=FloatingTables.flat(n), bank=_bank(),
                      reinsurance=Reinsurance(quota_share=0.1, xl_retention=20.0, xl_limit=50.0),
                      finance=Finance(0.0, 0.0, 0.0), years=2, first_year=2024)
    base = _effects(n, weights=[2.0, 1.0, 0.5, 3.0, 0.0, 1.0], accept=[1.0, 0.5, 0.2, 1.0, 1.0, 0.7],
                    years=2, extra=((1, 3, 4, 0, 2, np.array([0.0, 500.0]), np.array([0.0, 5.0])),),
                    track=(0, 3))
    eff = Effects(**{**base.__dict__, "take_up": np.array([1.0, 0.9]),
                     "severity": np.array([[1.0] * n, [0.5, 1.0, 1.0, 0.8, 1.0, 1.0]])})
    a, b = (run(spec, [eff], n_sims=150, seed=8, chunk_size=100, progress=False, kernel=k)["t"]
            for k in ("numba", "numpy"))
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-9, err_msg=k)
    assert a["avoided_accidents"].sum() > 0 and a["xl_recovery"].sum() > 0
    # enterprise 3 (three accidents a year and the fixed one in year 2) pays its aggregate
    assert np.isclose(a["tracked_claims"][:, 1, 1].max(), 250.0 * 0.9)


@pytest.mark.parametrize("size", [256, 250])
def test_kernels_pick_the_same_bank_entries(size):
    """Every bank entry differs (deaths, grade, amounts), so the kernels agree only if they pick
    the same entry for every accident: with a bank of 2**8 entries a sector (the compiled step
    takes the output's top bits) and of 250 (it scales the uniform)."""
    n, years = 30, 2
    rows = 2 * size
    book = BookArrays(**{**_book(n).__dict__, "sector": np.arange(n) % 2, "sectors": ("trade", "mining")})
    bank = AccidentBank(size=size, deaths=np.arange(rows) % 7, serious=np.zeros(rows, np.int64),
                        grade=(np.arange(rows) % 4).astype(np.int8))
    spec = EngineSpec(book=book, floating=FloatingTables.flat(n), bank=bank, reinsurance=Reinsurance(),
                      finance=Finance(0.0, 0.0, 0.0), years=years, first_year=2024)
    eff = Effects(**{**_effects(n, years=years).__dict__,
                     "covered": np.tile(1000.0 + np.arange(rows) * 1.5, (years, 1)),
                     "rescue": np.tile(np.arange(rows) % 13 * 7.0, (years, 1))})
    a, b = (run(spec, [eff], n_sims=120, seed=5, chunk_size=60, progress=False, kernel=k)["t"]
            for k in ("numba", "numpy"))
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-9, err_msg=k)
    assert a["deaths"].sum() > 0 and len(np.unique(a["claims"])) > 100


def test_steady_years_share_their_tables_and_a_changed_year_does_not():
    n = 4
    spec = _spec(n=n, years=3)
    sev = np.ones((3, n))
    sev[2, 1] = 1.5                        # year 3: one enterprise's severity indexed
    eff = Effects(**{**_effects(n, years=3).__dict__, "severity": sev})
    y0, y1, y2 = (yr.tables(spec) for yr in engine._Prepared(spec, eff).years)
    assert all(a is b for a, b in zip(y0[:6], y1[:6], strict=True))      # years 1 and 2: one copy
    combos = 2
    assert y2[combos] is not y1[combos] and not np.array_equal(y2[combos], y1[combos])
    assert y2[0] is y1[0]                  # its interval ends did not change


def test_prepared_tables_are_reused_and_do_not_keep_a_scenario_alive():
    import gc
    import weakref

    spec, eff = _spec(n=4, years=2), _effects(4, years=2)
    run(spec, [eff], n_sims=100, seed=1, chunk_size=50, progress=False, kernel="numpy")
    key = (id(spec), id(eff))
    assert engine._prepared(spec, eff) is engine._CACHE[key][2]     # built once, reused
    gone = weakref.ref(eff)
    del eff
    gc.collect()
    assert gone() is None and key not in engine._CACHE


def test_kernel_generators_draw_numpys_sfc64_streams():
    """The accident step steps SFC64 itself: its uniforms and exponentials (numpy's ziggurat, with
    tables derived here from the ziggurat's equations) are numpy's, bit for bit, tail included."""
    from safeins.simulation import _kernel

    assert _kernel.ziggurat_root(60) == _kernel.ZIGGURAT_R
    for seed in (1, 2):
        bg = np.random.SFC64(seed)
        st = bg.state["state"]["state"].copy()
        e = _kernel.sfc64_exponentials(st, 1_000_000)      # ~450 draws reach the tail
        np.testing.assert_array_equal(e, np.random.Generator(bg).standard_exponential(1_000_000))
        np.testing.assert_array_equal(st, bg.state["state"]["state"])
        assert e.max() > _kernel._ZIG_TAIL
        u = _kernel.sfc64_uniforms(st, 1000)
        np.testing.assert_array_equal(u, np.random.Generator(bg).random(1000))


@pytest.mark.parametrize("n", [40, 3000])
def test_kernels_agree_on_repricing_with_minimum_premiums_and_credit_moves(n, monkeypatch):
    """The compiled repricing (one pass, records linear in the off-balance factor summed, Newton's
    steps over the others) against numpy's MinimumPremium: minimums that bind before and after
    floating, neutral and not, with and without credit grades that move. With 40 enterprises every
    simulation's factor leaves the bracket around the previous one (solved with every record);
    with 3,000 they stay inside it, and records whose minimum binds there go through Newton's steps.
    Where credit grades cannot move (a rule without credit factors), the compiled accident step
    prices each simulation's records as it writes them and the repricing pass never runs; without
    tracked enterprises nothing else reads the records, and the step writes each simulation's over
    the previous one's, with only the columns its rule reads (``records`` 1): the same numbers."""
    kern = engine.kernel_function("numba")
    passes, modes = [], []
    monkeypatch.setattr(engine, "kernel_function", lambda kernel="auto": kern._replace(
        reprice=lambda *a: passes.append(1) or kern.reprice(*a),
        accidents=lambda *a: modes.append(a[24]) or kern.accidents(*a)) if kernel == "numba" else
        engine.Kernel("numpy", engine._accidents_numpy, None))
    rng = np.random.default_rng(3)
    base = rng.lognormal(6.0, 1.0, n)
    book = BookArrays(**{**_book(n).__dict__, "base_premium": base, "premium_year1": base,
                         "min_premium": np.full(n, float(np.quantile(base, 0.4))),
                         "sector": np.arange(n) % 3, "sectors": ("a", "b", "c")})
    P = np.array([[0.9, 0.1, 0.0, 0.0], [0.05, 0.85, 0.1, 0.0], [0.0, 0.1, 0.8, 0.1], [0.0, 0.0, 0.2, 0.8]])
    bank = AccidentBank(size=256, deaths=np.ones(768, np.int64), serious=np.zeros(768, np.int64),
                        grade=np.zeros(768, np.int8))     # 256 accidents for each of 3 sectors
    by_count = {"count": np.array([0.0, 0.1, 0.25]), "deaths": np.array([0.0, 0.05])}
    credit, none = np.array([-0.1, 0.0, 0.1, 0.3]), np.zeros(4)
    # (the rules with by_count read accident counts and deaths too: the compiled pass looks them up)
    rules = ((True, None, none, {}), (False, None, none, {}), (True, None, none, by_count),
             (True, None, credit, {}), (True, P, credit, {}), (True, P, credit, by_count))
    for neutral, transition, cr, extra in rules:
        fl = FloatingTables("multiplicative", 0.6, 1.8, rng.uniform(0.9, 1.1, n),
                            grade=np.array([0.0, 0.3, 0.5, 0.6, 0.7]), credit=cr, neutral=neutral, **extra)
        spec = EngineSpec(book=book, floating=fl, bank=bank, reinsurance=Reinsurance(),
                          finance=Finance(0.0, 0.0, 0.0), years=3, first_year=2024, transition=transition)
        eff = _effects(n, weights=rng.uniform(0.1, 0.6, n), years=3, track=(0, 1, n - 1))
        eff = Effects(**{**eff.__dict__, "covered": np.tile(eff.covered, 3),
                         "rescue": np.tile(eff.rescue, 3)})
        passes.clear()
        a, b = (run(spec, [eff], n_sims=120, seed=4, progress=False, kernel=k)["t"]
                for k in ("numba", "numpy"))
        assert (len(passes) > 0) == bool(np.any(cr != 0))   # priced in the accident step, or next year
        for k in ("premium", "by_sector_premium", "tracked_premium", "claims"):
            np.testing.assert_allclose(a[k], b[k], rtol=1e-12, err_msg=k)
        sec1 = a["by_sector_premium"][:, 1, 0]
        assert not np.allclose(sec1, sec1[0])   # records moved the premiums
        modes.clear()
        untracked = Effects(**{**eff.__dict__, "track": ()})
        c = run(spec, [untracked], n_sims=120, seed=4, progress=False, kernel="numba")["t"]
        kept = engine.RECORDS["all"] if np.any(cr != 0) else engine.RECORDS["pricing"]
        assert set(modes) == {kept, engine.RECORDS["none"]}
        for k in ("premium", "by_sector_premium", "claims", "accidents", "deaths"):
            np.testing.assert_allclose(c[k], b[k], rtol=1e-12, err_msg=k)


def test_a_spec_that_would_index_outside_the_tables_is_refused_before_any_simulation():
    n = 3
    book = BookArrays(**{**_book(n).__dict__, "sector": np.array([0, 1, 0]), "sectors": ("a", "b")})
    spec = EngineSpec(book=book, floating=FloatingTables.flat(n), bank=_bank(), reinsurance=Reinsurance(),
                      finance=Finance(0.0, 0.0, 0.0), years=2, first_year=2024)
    eff = _effects(n, years=2, track=(5,), extra=((2, 0, 1, 0, 0, np.zeros(2), np.zeros(2)),))
    with pytest.raises(ValidationError) as err:
        run(spec, [eff], n_sims=10, seed=1, progress=False, kernel="numba")
    columns = set(err.value.problems["column"])
    # the bank has 256 entries for 2 sectors (512 wanted), and so have covered and rescue; the
    # tracked enterprise 5 and the fixed accident's year 2 do not exist
    assert columns == {"bank.deaths", "bank.grade", "effects.covered", "effects.rescue", "effects.track",
                       "effects.extra"}
