"""Stress tests of a scheme: the done-when checks of the issue, bad input, results and comparison."""

import numpy as np
import pandas as pd
import pytest

import safeins as si
from safeins.errors import ValidationError
from safeins.stress._build import prepare
from safeins.stress.scenarios import named

PER_PERSON = 600_000.0
PER_ACCIDENT = 3_000_000.0


def small_scheme(**changes):
    """The 2025 scheme on a small synthetic book; fixed per-accident, rescue and aggregate limits
    make the insured loss of an accident the same for every enterprise of a sector."""
    data = si.Scheme.load("zhejiang-2025").to_dict()
    data["book"] = {"dataset": None, "synthetic": {"n_enterprises": 3000, "years": [2022, 2023],
                                                    "regions": ["宁波", "杭州"], "seed": 5}}
    data["coverage"] = {"per_person": PER_PERSON, "per_accident": PER_ACCIDENT, "aggregate": 1e10,
                        "rescue_legal": 500_000.0}
    data.update(changes)
    return si.Scheme.from_dict(data)


@pytest.fixture(scope="module")
def scheme():
    return small_scheme()


@pytest.fixture(scope="module")
def runs(scheme):
    return si.stress_test(scheme, ["baseline", "catastrophe", "no_prevention"], years=3, n_sims=200,
                          seed=11, chunk_size=100, progress=False)


def _same(a, b):
    assert a.scenarios == b.scenarios
    for s in a.scenarios:
        for k in a.raw[s]:
            np.testing.assert_array_equal(a.raw[s][k], b.raw[s][k], err_msg=f"{s}.{k}")


def test_identical_across_chunk_sizes(scheme, runs):
    other = si.stress_test(scheme, ["baseline", "catastrophe", "no_prevention"], years=3, n_sims=200,
                           seed=11, chunk_size=50, progress=False)
    _same(runs, other)
    # and across thread counts: one thread, or four threads sharing a chunk's four blocks
    for threads in (1, 4):
        _same(runs, si.stress_test(scheme, ["baseline", "catastrophe", "no_prevention"], years=3,
                                   n_sims=200, seed=11, chunk_size=200, threads=threads,
                                   progress=False))
    # a different seed gives different numbers (the test above can fail)
    third = si.stress_test(scheme, "baseline", years=1, n_sims=200, seed=12, progress=False)
    assert not np.array_equal(third.raw["baseline"]["claims"][:, 0], runs.raw["baseline"]["claims"][:, 0])


def test_prefix_of_simulations_does_not_depend_on_their_number(scheme, runs):
    fewer = si.stress_test(scheme, "baseline", years=3, n_sims=70, seed=11, progress=False)
    for k, v in fewer.raw["baseline"].items():
        if k.startswith("tracked"):   # the three-scenario run tracks the catastrophe's enterprise
            continue
        np.testing.assert_array_equal(v, runs.raw["baseline"][k][:70], err_msg=k)


def test_identical_on_a_dask_local_cluster(scheme):
    from dask.distributed import Client, LocalCluster

    local = si.stress_test(scheme, ["baseline", "catastrophe"], years=2, n_sims=100, seed=3,
                           chunk_size=50, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as client:
        remote = si.stress_test(scheme, ["baseline", "catastrophe"], years=2, n_sims=100, seed=3,
                                chunk_size=50, backend="dask", client=client, progress=False)
    _same(local, remote)


def test_identical_on_a_local_cluster_started_for_the_user(scheme):
    local = si.stress_test(scheme, "baseline", years=1, n_sims=50, seed=4, progress=False)
    remote = si.stress_test(scheme, "baseline", years=1, n_sims=50, seed=4, backend="dask",
                            n_workers=1, progress=False)
    _same(local, remote)


def test_catastrophe_minus_baseline_is_the_accident_insured_loss(scheme, runs):
    base, cat = runs.raw["baseline"], runs.raw["catastrophe"]
    for k in base:   # year 1 is identical in every quantity
        np.testing.assert_array_equal(base[k][:, 0], cat[k][:, 0], err_msg=k)
    # 30 deaths x 600,000 = 18 million, capped by the per-accident limit of 3 million
    insured = min(30 * PER_PERSON, PER_ACCIDENT)
    np.testing.assert_allclose(cat["claims"][:, 1] - base["claims"][:, 1], insured, rtol=1e-12)
    np.testing.assert_allclose(cat["tracked_claims"][:, 1, 0] - base["tracked_claims"][:, 1, 0],
                               insured, rtol=1e-12)
    np.testing.assert_array_equal(cat["deaths"][:, 1] - base["deaths"][:, 1], 30)
    np.testing.assert_array_equal(cat["by_grade_accidents"][:, 1, 3] - base["by_grade_accidents"][:, 1, 3], 1)
    # the enterprise is the largest hazardous-chemicals one
    f = prepare(scheme, 3, 11).frame
    hc = f[f["sector"].astype(str) == "hazardous_chemicals"]
    assert runs.meta.tracked == (str(hc["headcount"].idxmax()),)


def test_catastrophe_raises_its_enterprise_next_premium(runs):
    base, cat = runs.raw["baseline"], runs.raw["catastrophe"]
    np.testing.assert_array_equal(base["tracked_premium"][:, :2], cat["tracked_premium"][:, :2])
    after, before = cat["tracked_premium"][:, 2, 0], base["tracked_premium"][:, 2, 0]
    cap = runs.scheme and si.FloatingRule.load("illustrative").cap
    # higher in every simulation, unless the enterprise's own record had already put it at the
    # rule's cap (then only the off-balance correction differs, by less than 0.1 %)
    raised = after > before * (1 + 1e-3)
    assert raised.mean() > 0.5 and after.mean() > before.mean()
    assert np.all(raised | (np.abs(after / before - 1) < 1e-3))
    assert cap == 1.6
    # revenue-neutral floating: the book's premium does not move, it is redistributed
    np.testing.assert_allclose(cat["premium"], base["premium"], rtol=1e-9)


def test_no_prevention_has_more_accidents_from_the_year_the_fund_acts(runs):
    base, nop = runs.raw["baseline"], runs.raw["no_prevention"]
    assert np.all(nop["accidents"].mean(axis=0) > base["accidents"].mean(axis=0))
    # thinning with common random numbers: prevention removes exactly the avoided accidents
    np.testing.assert_array_equal(nop["accidents"], base["accidents"] + base["avoided_accidents"])
    assert np.all(nop["avoided_accidents"] == 0) and np.all(nop["fund_spent"] == 0)
    assert np.all(base["fund_spent"] > 0)


def test_prevention_reduction_matches_the_response_model(scheme, runs):
    prep = prepare(scheme, 3, 11)
    plan = prep.plan()
    F, _ = plan.model.fractions(plan.x)          # the prevention library's own reduction
    expected = float((prep.lam * (1 - F)).sum())
    sim = runs.raw["baseline"]["accidents"][:, 0]
    se = np.sqrt(expected / len(sim))            # Poisson
    assert abs(sim.mean() - expected) < 4 * se
    assert abs(runs.raw["no_prevention"]["accidents"][:, 0].mean() - prep.lam.sum()) < 4 * np.sqrt(
        prep.lam.sum() / len(sim))


def test_mean_year1_claims_agree_with_the_accident_model(scheme, runs):
    prep = prepare(scheme, 3, 11)
    f = prep.frame
    cov = si.PolicyCoverage(per_person=PER_PERSON, per_accident=PER_ACCIDENT, aggregate=1e10,
                            rescue_legal=500_000.0)
    analytic, var_bank = 0.0, 0.0
    lam_by_sector = pd.Series(prep.lam, index=f.index).groupby(f["sector"].astype(str)).sum()
    for k, sector in enumerate(prep.sectors):
        exact = prep.model.insured_loss(cov, sector=sector)        # the lattice, not the bank
        analytic += lam_by_sector[sector] * exact.mean()
        lo = k * prep.bank.size
        bank = prep.amounts(PER_PERSON, 1.0)
        x = np.minimum(bank[0][lo:lo + prep.bank.size] + np.minimum(bank[1][lo:lo + prep.bank.size],
                                                                    500_000.0), PER_ACCIDENT)
        var_bank += (lam_by_sector[sector] * x.std()) ** 2 / prep.bank.size
    claims = runs.raw["no_prevention"]["claims"][:, 0]
    se = np.sqrt(claims.var(ddof=1) / len(claims) + var_bank)
    assert abs(claims.mean() - analytic) < 4 * se, (claims.mean(), analytic, se)


def test_floating_in_the_engine_agrees_with_tariff_price(scheme):
    from safeins.simulation.backends import seed_key
    from safeins.simulation.engine import run_block

    prep = prepare(scheme, 2, 5)
    spec = prep.spec()
    ids = list(prep.frame.index)
    eff = prep.effects(named("baseline"), track=ids)
    out = run_block(spec, eff, seed_key(5), 0, 2, keep_state=True)
    (keys, level, count, deaths), (ckeys, cgrade) = out["state"][0]
    n = len(ids)
    sel = keys < n                                 # simulation 0
    ent = keys[sel] % n
    grades = np.array(["none", "一般", "较大", "重大", "特别重大"])
    exp = pd.DataFrame({"accident_grade": "none", "accident_count": 0, "deaths": 0,
                        "credit_grade": prep.frame["credit_grade"].astype(str).to_numpy(),
                        "loss_ratio": np.nan}, index=prep.frame.index)
    exp.iloc[ent, 0] = grades[level[sel]]
    exp.iloc[ent, 1] = count[sel]
    exp.iloc[ent, 2] = deaths[sel]
    csel = ckeys < n
    exp.iloc[ckeys[csel] % n, 3] = np.array(list("ABCD"))[cgrade[csel]]
    assert (exp["accident_count"] > 0).sum() > 50     # the check covers many records
    # the simulation holds the hazard record at its last observed year; the accident inputs and
    # credit grades come from the simulated year (``experience`` overrides the history's)
    q = prep.tariff.price(prep.portfolio, accidents=prep.accidents, hazards=prep.hazards,
                          floating=prep.rule, year=prep.first_year, experience=exp,
                          options={"per_person": PER_PERSON})
    np.testing.assert_allclose(out["tracked_premium"][0, 1], q.to_frame()["final_premium"].to_numpy(),
                               rtol=1e-9)
    np.testing.assert_allclose(out["premium"][0, 1], q.total(), rtol=1e-9)


# ------------------------------------------------------------------------------- bad input
def _fields(err):
    return set(err.value.problems["column"])


def test_inconsistent_schemes_name_the_field():
    with pytest.raises(ValidationError) as err:
        small_scheme(prevention={"share": 0.25})
    assert "prevention.share" in str(err.value)
    with pytest.raises(ValidationError) as err:
        small_scheme(reinsurance={"xl_retention": -1.0})
    assert "reinsurance.xl_retention" in _fields(err)
    with pytest.raises(ValidationError) as err:
        small_scheme(credit={"transition": [[0.9, 0.05, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]})
    assert "credit" in str(err.value) and "row 0" in str(err.value)
    with pytest.raises(ValidationError) as err:
        si.stress_test(small_scheme(pricing={"tariff": "hunan-construction"}), years=1, n_sims=50,
                       progress=False)
    assert "pricing.tariff" in _fields(err)


def test_bad_run_arguments_listed_together(scheme):
    with pytest.raises(ValidationError) as err:
        si.stress_test(scheme, ["baseline", "meteor"], years=0, n_sims=-5, chunk_size=75,
                       backend="spark", progress=False, kernel="cuda", threads=0)
    assert {"scenarios", "years", "n_sims", "chunk_size", "backend", "kernel", "threads"} <= _fields(err)


def test_numba_asked_for_without_numba_is_one_clear_error(scheme, monkeypatch):
    import sys

    import safeins.simulation

    monkeypatch.setitem(sys.modules, "numba", None)              # as if numba were not installed
    monkeypatch.delitem(sys.modules, "safeins.simulation._kernel", raising=False)
    monkeypatch.delattr(safeins.simulation, "_kernel", raising=False)   # `from . import` looks here first
    with pytest.raises(ValidationError) as err:
        si.stress_test(scheme, years=1, n_sims=50, progress=False, kernel="numba")
    assert "kernel" in _fields(err) and "safeins[fast]" in str(err.value)
    # "auto" falls back to numpy: same numbers as the compiled kernel
    fallback = si.stress_test(scheme, years=1, n_sims=50, seed=2, progress=False)
    monkeypatch.undo()
    compiled = si.stress_test(scheme, years=1, n_sims=50, seed=2, progress=False, kernel="numba")
    _close(fallback, compiled)


# ------------------------------------------------------------------------------- the two kernels
def _close(a, b):
    """Integers (accidents, deaths, counts) equal; money within float rounding (1e-12 relative)."""
    assert a.scenarios == b.scenarios
    for s in a.scenarios:
        for k, x in a.raw[s].items():
            y = b.raw[s][k]
            if "accidents" in k or "deaths" in k:
                np.testing.assert_array_equal(x, y, err_msg=f"{s}.{k}")
            else:
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-6, err_msg=f"{s}.{k}")


def test_numba_and_numpy_kernels_give_the_same_numbers():
    # a binding aggregate limit (several accidents of one enterprise are scaled down together), the
    # per-accident limit per person x headcount, XL, credit migration and every kind of scenario
    scheme = small_scheme(coverage={"per_person": PER_PERSON, "aggregate": 700_000.0},
                          reinsurance={"quota_share": 0.2, "xl_retention": 100_000.0,
                                       "xl_limit": 400_000.0, "xl_rate_on_line": 0.02})
    names = ["baseline", "catastrophe", "no_prevention", "weak_prevention", "common_shock",
             "credit_drift", "take_up_drop", "limit_2025"]
    runs = {k: si.stress_test(scheme, names, years=3, n_sims=100, seed=21, chunk_size=50,
                              progress=False, kernel=k) for k in ("numba", "numpy")}
    _close(runs["numba"], runs["numpy"])
    raw = runs["numba"].raw["baseline"]
    # the check has something to compare: XL recoveries and aggregate-limited enterprises occur
    assert raw["xl_recovery"].sum() > 0 and raw["accidents"].sum() > 500


def test_runaway_size_needs_force(scheme, monkeypatch):
    from safeins.simulation import backends

    monkeypatch.setattr(backends, "MAX_ACCIDENTS", 1e3)
    with pytest.raises(si.WorkLimitError) as err:  # raised before any simulation starts
        si.stress_test(scheme, years=1, n_sims=50, progress=False)
    assert "force=True" in str(err.value) and "Scheme.select" in str(err.value)
    assert si.stress_test(scheme, years=1, n_sims=50, progress=False, force=True).n_sims == 50


# ------------------------------------------------------------------------------- scheme and results
def test_scheme_toml_round_trip_schema_and_select(tmp_path):
    s = si.Scheme.load("zhejiang-pilot-2015")
    back = si.Scheme.from_toml(s.to_toml(tmp_path / "s.toml"))
    assert back == s
    assert si.Scheme.load(tmp_path / "s.toml") == s
    assert "reinsurance" in si.Scheme.json_schema()["properties"]
    assert s.select(region="宁波").book.regions == ("宁波",)
    with pytest.raises(ValidationError):
        si.Scheme.load("no-such-scheme")


def test_results_tables_and_plots(runs):
    f = runs.to_frame()
    assert len(f) == 3 * 200 * 3
    assert {"premium", "claims", "loss_ratio", "combined_ratio", "result", "capital"} <= set(f.columns)
    s = runs.summary()
    assert s.loc[("baseline", runs.meta.years[0]), "var_995"] <= s.loc[("baseline", runs.meta.years[0]),
                                                                         "tvar_995"]
    by = runs.to_frame("by_sector")
    yr = runs.meta.years[0]
    b = by[(by["scenario"] == "baseline") & (by["year"] == yr)]
    assert np.isclose(b["premium"].sum(), runs.raw["baseline"]["premium"][:, 0].mean())
    assert np.isclose(b["claims"].sum(), runs.raw["baseline"]["claims"][:, 0].mean())
    g = runs.to_frame("by_grade")
    assert np.isclose(g[(g["scenario"] == "baseline") & (g["year"] == yr)]["deaths"].sum(),
                      runs.raw["baseline"]["deaths"][:, 0].mean())
    ins = runs.to_frame("insurers")
    assert np.isclose(ins[(ins.scenario == "baseline") & (ins.year == yr)]["share"].sum(), 1.0)
    import matplotlib.pyplot as plt

    for kind in ("loss_ratio", "exceedance", "capital", "deaths"):
        ax = runs.plot(kind)
        assert ax.get_title() and ax.get_legend() is not None
        plt.close(ax.figure)
    assert "<table" in runs._repr_html_()
    with pytest.raises(ValidationError):
        runs.plot("pie")
    with pytest.raises(ValidationError):
        runs.to_frame("by_moon")


def test_result_arithmetic(runs):
    fin = runs.fin["baseline"]
    raw = runs.raw["baseline"]
    re, m = runs.meta.reinsurance, runs.meta
    net_prem = (raw["premium"] * (1 - re.quota_share * (1 - re.quota_commission))
                - re.xl_rate_on_line * re.xl_limit)
    net_claims = raw["claims"] * (1 - re.quota_share) - raw["xl_recovery"]
    expected = net_prem - net_claims - (m.commission + m.expenses) * raw["premium"] - raw["fund_spent"]
    np.testing.assert_allclose(fin["result"], expected)
    np.testing.assert_allclose(fin["capital"][:, -1], m.capital + expected.sum(axis=1))


def test_compare_two_schemes(runs, scheme):
    other = si.stress_test(small_scheme(name="other", prevention={"share": 0.10}),
                           ["baseline"], years=3, n_sims=200, seed=11, progress=False)
    c = si.compare(runs, other)
    f = c.to_frame()
    assert set(f["scenario"]) == {"baseline"}
    row = f[(f["measure"] == "fund_spent_mean") & (f["year"] == runs.meta.years[0])].iloc[0]
    assert row["other"] < row["zhejiang-2025"]
    assert np.isclose(row["difference"], row["other"] - row["zhejiang-2025"])
    ax = c.plot()
    assert ax.get_title()
    ax.figure.clf()
    with pytest.raises(ValidationError):
        si.compare(runs, "not a result")
