"""AccidentModel: fitting, recovery of the generator's parameters, simulation, exact insured loss."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import safeins as si
from safeins.domain.datasets import DEFAULT_SECTORS
from safeins.errors import ValidationError
from safeins.losses import LogNormal, NegativeBinomial, Poisson, ZeroTruncated
from safeins.losses.coverage import Coverage
from safeins.models._accident_counts import VictimCount, compare_counts
from safeins.models.accident import AccidentModel, InsuredAccidentLoss
from safeins.models.policy import PolicyCoverage

CAT_MEAN = 2 + si.datasets.SyntheticConfig().catastrophe_extra_victims  # generator: 2 + NB(r, mean 4) = 6
ORD_MEAN = 1.08  # generator: 1 + Poisson(0.08)


@pytest.fixture(scope="module")
def data():
    return si.datasets.synthetic_portfolio(n_enterprises=30000, years=(2020, 2021, 2022, 2023),
                                           seed=11)


@pytest.fixture(scope="module")
def model(data):
    return AccidentModel(min_count=50).fit(data.accidents, data.portfolio)


@pytest.fixture(scope="module")
def accident_frame(data):
    a = data.accidents.to_frame()
    a["sector"] = data.portfolio.frame.loc[a["enterprise_id"], "sector"].astype(object).to_numpy()
    a["n_emp"] = a[["employee_deaths", "employee_serious_injuries",
                    "employee_minor_injuries"]].sum(axis=1)
    return a


# --- victim counts ---------------------------------------------------------------------------
def test_zt_fits_agree_with_the_distributions_module():
    rng = np.random.default_rng(3)
    n = 1 + rng.poisson(0.4, 5000)
    own = VictimCount.fit_family(n, "zt_poisson")
    own_nb = VictimCount.fit_family(n, "zt_negbin")
    ref = si.distributions.fit_frequency(n, "zt_poisson").dist
    assert own.components[0].parent.mu == pytest.approx(ref.parent.mu, rel=1e-9)
    # the Poisson is the NB's limit n -> inf (kept below e^14): no better fit, and AIC says so
    assert own_nb.loglik == pytest.approx(own.loglik, abs=1e-3)
    assert compare_counts(n)[0].family == "zt_poisson"


def test_zt_negbin_mle_recovers_its_parameters():
    true = ZeroTruncated(NegativeBinomial(1.5, 0.3))
    x = true.rvs(size=20_000, seed=5)
    fit = VictimCount.fit_family(x, "zt_negbin")
    nb = fit.components[0].parent
    assert nb.n == pytest.approx(1.5, rel=0.1)
    assert nb.p == pytest.approx(0.3, rel=0.1)
    assert fit.mean() == pytest.approx(x.mean(), rel=1e-4)  # ZT likelihood equations keep the mean


def test_aic_picks_the_mixture_for_a_catastrophe_tail():
    rng = np.random.default_rng(1)
    m = 20_000
    cat = rng.random(m) < 0.01
    n = np.where(cat, 3 + rng.negative_binomial(0.7, 0.7 / 5.7, m), 1 + rng.poisson(0.08, m))
    best, fits = compare_counts(n)
    assert best.family in ("zt_poisson_mix", "zt_poisson_negbin_mix")
    assert best.aic < min(f.aic for f in fits if f.family in ("zt_poisson", "zt_negbin")) - 100
    assert best.mean() == pytest.approx(n.mean(), rel=1e-3)


def test_victim_count_pmf_sums_to_one_and_rvs_matches():
    vc = VictimCount([ZeroTruncated(Poisson(0.3)), ZeroTruncated(NegativeBinomial(0.7, 0.12))],
                     [0.98, 0.02], family="zt_poisson_negbin_mix")
    k = vc.upper(1e-14)
    assert vc.pmf_array(k).sum() == pytest.approx(1.0, abs=1e-12)
    x = vc.rvs(200_000, seed=2)
    assert x.min() >= 1
    assert abs(x.mean() - vc.mean()) < 4 * math.sqrt(vc.var() / x.size)


# --- recovery of the generator's parameters --------------------------------------------------
def test_recovers_victim_count_mean_by_sector(model, accident_frame):
    checked = 0
    for s, prof in DEFAULT_SECTORS.items():
        obs = accident_frame.loc[accident_frame["sector"] == s, "n_emp"].to_numpy()
        if obs.size < 900:
            continue
        truth = (1 - prof.p_catastrophe) * ORD_MEAN + prof.p_catastrophe * CAT_MEAN
        fitted = model.expected(s)["employee_victims"]
        se = obs.std() / math.sqrt(obs.size)
        assert abs(fitted - truth) < 4 * se + 1e-3, (s, fitted, truth, se)
        checked += 1
    assert checked >= 4


def test_recovers_death_probability_by_sector(model):
    checked = 0
    for s, prof in DEFAULT_SECTORS.items():
        ch = model.params_[s].outcome[("employee", "<3")]
        if ch.level != f"sector:{s}|<3" or ch.n < 1000:
            continue
        p = prof.p_death
        se = math.sqrt(p * (1 - p) / ch.n)
        assert abs(ch.value[0] - p) < 4 * se, (s, ch.value[0], p)
        # disability probability 0.15 in every sector
        assert abs(ch.value[1] - 0.15) < 4 * math.sqrt(0.15 * 0.85 / ch.n)
        checked += 1
    assert checked >= 4


def test_recovers_disability_grade_frequencies(model):
    ch = model.params_["all"].grades
    truth = np.arange(1, 11) / 55.0
    counts = np.round(ch.value * ch.n)
    chi2 = stats.chisquare(counts, truth * counts.sum())
    assert chi2.pvalue > 1e-3
    assert np.abs(ch.value - truth).max() < 0.03


def test_recovers_third_party_and_cost_parameters(model):
    tr = model.params_["transport"]
    q = tr.p_tp["<3"]
    assert q.level == "sector:transport|<3"
    assert abs(q.value - 0.35) < 4 * math.sqrt(0.35 * 0.65 / q.n)
    allp = model.params_["all"]
    med = allp.medical["medical"].value
    assert med.family == "lognormal"
    assert med.sev.mu == pytest.approx(math.log(6e3), abs=0.05)
    assert med.sev.sigma == pytest.approx(1.0, abs=0.03)
    prop = allp.prop["<3"].value
    assert abs(prop.p_pos - 0.12) < 4 * math.sqrt(0.12 * 0.88 / prop.n)
    assert prop.sev.mu == pytest.approx(math.log(3e4), abs=0.1)
    resc = allp.rescue["<3"].value
    assert resc.p_pos == 1.0 and resc.sev.mu == pytest.approx(math.log(3e3), abs=0.05)


def test_estimates_the_death_liability(model):
    assert model.death_liability_ == pytest.approx(1.2e6, rel=1e-5)  # the generator's value


def test_simulated_accident_grades_match_the_generator(model):
    truth = si.datasets.synthetic_portfolio(n_enterprises=15_000, years=(2021, 2022, 2023),
                                            seed=404).accidents.frame
    sim = model.simulate(300_000, seed=8)
    k_t = int((truth["grade"] != "一般").sum())
    k_s = int((sim["grade"] != "一般").sum())
    p_t, p_s = k_t / len(truth), k_s / len(sim)
    pooled = (k_t + k_s) / (len(truth) + len(sim))
    se = math.sqrt(pooled * (1 - pooled) * (1 / len(truth) + 1 / len(sim)))
    assert abs(p_t - p_s) < 4 * se, (p_t, p_s)
    d_t = (truth["employee_deaths"] + truth["third_party_deaths"]).to_numpy()
    d_s = (sim["employee_deaths"] + sim["third_party_deaths"]).to_numpy()
    se = math.sqrt(d_t.var() / d_t.size + d_s.var() / d_s.size)
    assert abs(d_t.mean() - d_s.mean()) < 4 * se


# --- pooling ------------------------------------------------------------------------------------
def test_pooling_uses_a_level_with_enough_data(model):
    pool = model.pooling_
    assert {"sector", "part", "band", "level", "n"} <= set(pool.columns)
    overall = pool["level"].str.startswith("overall")
    assert (pool.loc[~overall, "n"] >= 50).all()
    # a size band keeps its own overall estimate down to min_count / 5 observations
    band_overall = overall & (pool["level"] != "overall|all bands") & (pool["band"] != "")
    assert (pool.loc[band_overall, "n"] >= 10).all()
    cat = pool[(pool["sector"] == "all") & (pool["part"] == "outcome:employee")
               & (pool["band"] == ">=5")]
    assert cat["level"].iloc[0] == "overall|>=5"
    # coal mines pool into their parent (mining) before all sectors when thin
    coal = pool[(pool["sector"] == "coal_mining")]
    assert coal["level"].str.startswith(("sector:coal_mining", "parent:mining", "overall")).all()
    thin = pool[(pool["sector"] == "coal_mining") & (pool["part"] == "outcome:third_party")
                & (pool["band"] == "<3")]
    assert thin["level"].iloc[0] in ("parent:mining|<3", "overall|<3", "overall|all bands")


def test_summary_to_frame_plot(model):
    s = model.summary()
    assert "all" in s.index and "construction" in s.index
    assert s.loc["all", "accidents"] == model.n_accidents_
    f = model.to_frame()
    assert {"sector", "part", "parameter", "value", "level", "n"} <= set(f.columns)
    assert np.isfinite(f["value"]).all()
    assert not model.count_aic_.groupby("level")["chosen"].sum().ne(1).any()
    ax = model.plot(sector="construction")
    assert ax.get_yscale() == "log"


# --- simulation -----------------------------------------------------------------------------------
def test_simulate_is_reproducible_and_consistent(model):
    a1, v1 = model.simulate(5_000, sector="transport", seed=4, return_victims=True)
    a2, v2 = model.simulate(5_000, sector="transport", seed=4, return_victims=True)
    pd.testing.assert_frame_equal(a1, a2)
    pd.testing.assert_frame_equal(v1, v2)
    cols = ["employee_deaths", "employee_serious_injuries", "employee_minor_injuries",
            "third_party_deaths", "third_party_injuries", "direct_loss", "property_damage",
            "rescue_cost", "grade"]
    assert set(cols) <= set(a1.columns)
    emp = a1[["employee_deaths", "employee_serious_injuries", "employee_minor_injuries"]].sum(axis=1)
    assert (emp == a1["employee_victims"]).all()
    per_acc = v1.groupby("accident_id").size().reindex(a1.index, fill_value=0)
    assert (per_acc == a1["employee_victims"] + a1["third_party_victims"]).all()
    grade = si.accident_grade(a1["employee_deaths"] + a1["third_party_deaths"],
                              a1["employee_serious_injuries"] + a1["third_party_injuries"],
                              a1["direct_loss"])
    assert list(grade) == list(a1["grade"])
    assert (v1.loc[v1["outcome"] == "disability", "disability_grade"].between(1, 10)).all()


# --- exact insured loss vs Monte Carlo and closed forms ---------------------------------------
def _closed_form_mean(model, sector, cov):
    """E[insured] from the parts' closed-form limited moments (valid when the limit never binds)."""
    P = model.params_[sector]
    C = model.death_liability_
    kmax = P.count.value.upper(1e-15)
    k = np.arange(kmax + 1)
    pk = (1 - P.p_no_employee.value) * P.count.value.pmf_array(kmax)
    pk[0] = P.p_no_employee.value
    total = 0.0

    def paid(law, d, u):
        if law.sev is None or law.p_pos == 0 or u == 0:
            return 0.0
        return law.p_pos * Coverage(deductible=d, limit=d + u).severity(law.sev).mean()

    def victim(role, band):
        per = cov.third_party_per_person_limit if role == "third_party" else cov.per_person
        p = P.outcome[(role, band)].value
        sched = p[0] * min(C, per) + p[1] * sum(
            P.grades.value[g - 1] * min(C * (11 - g) / 10, per * cov.disability_shares[g - 1])
            for g in range(1, 11))
        med = sum(p[i] * paid(P.medical[o].value, cov.medical_deductible, cov.medical_per_person)
                  for i, o in enumerate(("death", "disability", "medical")))
        return sched + med

    idx = np.searchsorted(np.asarray(model.size_bands), k, side="right")
    for i, band in enumerate(model.bands_):
        sel = idx == i
        w = pk[sel].sum()
        n_e = (k[sel] * pk[sel]).sum()
        tpc = P.tp_count[band].value
        n_t = P.p_tp[band].value * (tpc.mean() if tpc is not None else 0.0)
        total += n_e * victim("employee", band) + w * n_t * victim("third_party", band)
        total += w * paid(P.prop[band].value, cov.property_deductible, cov.third_party_property)
        total += w * paid(P.rescue[band].value, cov.rescue_deductible, cov.rescue_limit)
    return total


@pytest.mark.parametrize("sector", ["construction", "coal_mining"])
def test_lattice_mean_equals_the_closed_form(model, sector):
    cov = PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=2_000)
    sev = model.insured_loss(cov, sector=sector)
    assert sev.p_limit < 1e-12
    assert sev.mean() == pytest.approx(_closed_form_mean(model, sector, cov), rel=1e-6)
    assert sum(sev.part_means.values()) == pytest.approx(sev.mean(), rel=1e-6)


def test_lattice_matches_monte_carlo(model):
    cov = PolicyCoverage.from_regime("national-2025", per_person=500_000, headcount=50)
    sev = model.insured_loss(cov, sector="coal_mining")
    assert isinstance(sev, InsuredAccidentLoss)
    sim = model.simulate(200_000, sector="coal_mining", seed=3, return_victims=True)
    x = np.sort(cov.insured_loss(sim)["insured"].to_numpy())
    se = x.std() / math.sqrt(x.size)
    assert abs(sev.mean() - x.mean()) < 4 * se
    # KS distance at the lattice cells' mid-points (the lattice puts each cell's mass on its ends)
    xl, pl = sev.lattice()
    f_mc = np.searchsorted(x, xl + sev.step / 2, side="right") / x.size
    ks = np.max(np.abs(np.cumsum(pl) - f_mc))
    assert ks < 1.95 / math.sqrt(x.size) + 0.002  # 0.1% KS critical value + discretisation


def test_per_accident_limit_binds_with_the_right_probability(model):
    cov = PolicyCoverage.from_regime("national-2025", per_person=500_000, per_accident=600_000,
                                     headcount=1)
    sev = model.insured_loss(cov, sector="coal_mining")
    assert sev.cap_on_grid and sev.support[1] == pytest.approx(600_000)
    # 600,000 accidents: the limit binds in ~0.6% of them, so the check has ~3,700 hits (a 200,000
    # draw put the estimate 3.9 standard errors off once the data changed; 1.6 million draws over
    # eight seeds agreed with p_limit to 0.03%)
    sim = model.simulate(600_000, sector="coal_mining", seed=9, return_victims=True)
    capped = cov.insured_loss(sim)["capped"].to_numpy()
    se = math.sqrt(sev.p_limit * (1 - sev.p_limit) / capped.size)
    assert sev.p_limit > 0
    assert abs(capped.mean() - sev.p_limit) < 4 * se
    assert float(sev.ppf(1.0)) <= 600_000 + 1e-6


def test_insured_loss_is_usable_by_aggregate(model):
    from safeins.losses.aggregate import Aggregate

    cov = PolicyCoverage.from_regime("national-2025", per_person=500_000, per_accident=600_000,
                                     headcount=1)
    sev = model.insured_loss(cov, sector="construction")
    n = int(4 * cov.aggregate_limit / sev.step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agg = Aggregate(Poisson(2.0), sev, method="fft", step=sev.step, n=n,
                        discretization="rounding")
    assert agg.mean() == pytest.approx(2.0 * sev.mean(), rel=1e-5)


# --- bad input ------------------------------------------------------------------------------------
def test_bad_input_is_reported(data):
    with pytest.raises(ValidationError) as err:
        AccidentModel(min_count=0, size_bands=(1,), count_families=("zt_weird",),
                      death_liability=-1).fit(data.accidents, data.portfolio)
    assert set(err.value.problems["column"]) == {"min_count", "size_bands", "count_families",
                                                 "death_liability"}
    no_victims = si.AccidentHistory(data.accidents.to_frame())
    with pytest.raises(ValidationError, match="victims"):
        AccidentModel().fit(no_victims, data.portfolio)
    with pytest.raises(ValidationError, match="portfolio"):
        AccidentModel().fit(data.accidents)


def test_class_level_fit_and_unknown_sector(data):
    small = si.datasets.synthetic_portfolio(n_enterprises=800, years=(2023,), seed=2)
    m = AccidentModel.fit(small.accidents, small.portfolio)
    assert isinstance(m, AccidentModel) and m.min_count == 50
    with pytest.raises(ValidationError, match="fitted sector"):
        m.simulate(10, sector="mars_mining")
    with pytest.raises(ValidationError):
        m.simulate(-1)



def test_lattice_severity_is_monotone_in_limits_and_zero_pays_zero(model):
    base = {"per_person": 400_000, "per_accident": 2_000_000, "medical_per_person": 50_000,
            "third_party_property": 50_000, "rescue_legal": 100_000}
    mean = model.insured_loss(PolicyCoverage(**base), sector="transport", n=4097).mean()
    for name in ("per_person", "medical_per_person", "third_party_property", "rescue_legal",
                 "per_accident"):
        raised = dict(base, **{name: base[name] * 2})
        bigger = model.insured_loss(PolicyCoverage(**raised), sector="transport", n=4097)
        assert bigger.mean() > mean, name
    zero = PolicyCoverage(per_person=0, per_accident=0, medical_per_person=0,
                          third_party_property=0, rescue_legal=0)
    sev = model.insured_loss(zero, sector="transport")
    assert sev.mean() == 0 and float(sev.cdf(0)) == 1.0


@pytest.mark.parametrize("family", ["lognormal", "gamma"])
def test_cost_fits_equal_fit_severity(family):
    from safeins.models._accident_fit import fit_cost

    x = LogNormal(8.5, 1.1).rvs(size=3000, seed=4)
    law = fit_cost(np.concatenate([x, np.zeros(1000)]), families=(family,))
    assert law.p_pos == pytest.approx(0.75)
    ref = si.distributions.fit_severity(x, family)
    for name, value in ref.params_.items():
        assert law.sev.params[name] == pytest.approx(value, rel=1e-5)
    assert law.aic[family] == pytest.approx(ref.aic_, rel=1e-8)


@pytest.mark.parametrize("kmax, m", [(30, 12), (6, 400), (40, 300)])
def test_lattice_compound_equals_the_direct_sum_of_convolution_powers(kmax, m):
    # (30, 12): the whole support fits one short transform (spectrum); (40, 300): the support
    # passes the grid and Horner runs on the lattice; both must be the truncated direct sum
    from safeins.models._accident_lattice import _compound

    rng = np.random.default_rng(kmax + m)
    n = 512
    pk = rng.dirichlet(np.ones(kmax + 1))
    y = np.zeros(n)
    y[1:m] = rng.dirichlet(np.ones(m - 1))
    direct = np.zeros(n)
    power = np.zeros(n)
    power[0] = 1.0
    for p in pk:
        direct += p * power
        power = np.convolve(power, y)[:n]
    np.testing.assert_allclose(_compound(pk, y, n), direct, atol=1e-15)
