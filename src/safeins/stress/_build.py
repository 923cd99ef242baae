"""Turn a Scheme and its scenarios into the engine's arrays, reusing the library's models.

* the book and its history: :mod:`safeins.domain.datasets` (expected accidents from the truth);
* the year-1 premium: ``Tariff.price`` with the scheme's floating rule on the real history; later
  years: the same rule split into a static part and lookup tables (:class:`FloatingTables`);
* accidents: an :class:`~safeins.models.accident.AccidentModel` fitted on the data set's history,
  simulated into a bank per sector, priced under the policy by ``PolicyCoverage.insured_loss``;
* prevention: ``PreventionFund.allocate`` once on the planned year-1 budget; its response model
  gives each enterprise's reduction of the rate (frequency and hazard services) and of the loss per
  accident (severity services) for every year's planned spend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._base.rng import as_seed_sequence
from ..domain import datasets
from ..domain.portfolio import accident_grade
from ..errors import Problem, Problems, RegimeBreachError, ValidationError
from ..models.accident import AccidentModel
from ..models.policy import RESCUE_SHARE, PolicyCoverage
from ..prevention import PreventionFund
from ..rating.floating import FloatingRule
from ..rating.tariff import Tariff
from ..simulation.spec import (
    GRADE_NAMES,
    AccidentBank,
    BookArrays,
    Effects,
    EngineSpec,
    Finance,
    FloatingTables,
    Reinsurance,
)
from .scenarios import Scenario

__all__ = ["Prepared", "prepare"]

_DYNAMIC = ("accident_grade", "accident_count", "deaths", "credit_grade")
_HUGE = 1e15
_MODELS: dict = {}


def _data(scheme):
    b = scheme.book
    if b.dataset is not None:
        return datasets.load(b.dataset)
    syn = dict(b.synthetic)
    return datasets.synthetic_portfolio(**syn)


def _accident_model(scheme, data) -> AccidentModel:
    key = scheme.book.dataset or repr(sorted(scheme.book.synthetic.items()))
    if key not in _MODELS:
        # thin sectors pool with their parents (see AccidentModel); one fit per data set
        _MODELS[key] = AccidentModel().fit(data.accidents, data.portfolio)
    return _MODELS[key]


class Prepared:
    """The scheme resolved to arrays (built once per stress test, before any simulation)."""

    def __init__(self, scheme, years: int, seed):
        self.scheme = scheme
        self.years = years
        p = Problems(f"Scheme {scheme.name!r}")
        data = _data(scheme)
        frame = data.portfolio.frame
        mask = np.ones(len(frame), dtype=bool)
        for column, wanted in (("region", scheme.book.regions), ("sector", scheme.book.sectors)):
            if wanted:   # a subset of the book; every name must exist
                values = frame[column].astype(str)
                known = set(values)
                for v in wanted:
                    p.check(v in known, column=f"book.{column}s", value=v,
                            rule=f"a {column} of the book: {', '.join(sorted(known))}")
                mask &= values.isin(wanted).to_numpy()
        p.raise_if_any()
        p.check(mask.any(), column="book", value="(empty)", rule="the selection keeps no enterprise")
        p.raise_if_any()
        ids = frame.index[mask]
        # the book in sector order (stable): the engine places each simulation's accidents in book
        # order, and each picks its severity from its sector's part of the accident bank, so one
        # sector's part stays in the processor's cache while that sector's accidents are placed
        ids = ids[np.argsort(frame.loc[ids, "sector"].astype(str).to_numpy(), kind="stable")]
        pf = data.portfolio.frame.loc[ids]
        from ..domain.portfolio import AccidentHistory, HazardHistory, Portfolio

        self.portfolio = Portfolio(pf)
        acc = data.accidents.frame
        acc = acc[acc["enterprise_id"].isin(ids)]
        self.accidents = AccidentHistory(acc, portfolio=self.portfolio)
        hz = data.hazards.frame
        self.hazards = HazardHistory(hz[hz["enterprise_id"].isin(ids)], portfolio=self.portfolio)
        lam = data.truth["expected_accidents"]
        self.history_end = int(lam.columns.max())
        self.first_year = self.history_end + 1
        self.lam = lam.loc[ids, self.history_end].to_numpy(dtype=float)
        self.frame = pf
        self.tariff, self.rule, self.quotes = self._price(p)
        self.coverage = dict(scheme.coverage)
        self.model = _accident_model(scheme, data)
        self.fund = self._fund(p)
        p.raise_if_any()
        root = as_seed_sequence(seed)
        self.bank_seed = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, 2**31))
        self._bank()

    # --- pricing --------------------------------------------------------------------------------
    def _price(self, p: Problems):
        sc = self.scheme
        try:
            tariff = Tariff.load(sc.pricing.tariff)
        except ValidationError as err:
            p.add(column="pricing.tariff", value=sc.pricing.tariff, rule=err._problems[0].rule)
            p.raise_if_any()
        missing = sorted(set(self.frame["sector"].astype(str)) - set(tariff.sectors))
        if missing:
            p.add(column="pricing.tariff", value=sc.pricing.tariff,
                  rule=f"rates no enterprise of sectors {missing}, which the book has")
        rule = None
        if sc.pricing.floating is not None:
            try:
                rule = FloatingRule.load(sc.pricing.floating)
            except ValidationError as err:
                p.add(column="pricing.floating", value=sc.pricing.floating, rule=err._problems[0].rule)
        p.raise_if_any()
        experience = None
        if rule is not None and "loss_ratio" in rule.inputs:
            # a book without claims experience: the rule's stated 'missing' adjustment applies
            experience = pd.Series(np.nan, index=self.frame.index, name="loss_ratio")
        options = {"per_person": self.scheme.coverage.get("per_person"), **sc.pricing.options}
        try:
            quotes = tariff.price(self.portfolio, accidents=self.accidents, hazards=self.hazards,
                                  floating=rule, year=self.first_year, experience=experience,
                                  options=options,
                                  off_balance="neutral" if sc.pricing.off_balance == "neutral" else None)
        except ValidationError as err:
            for q in err._problems:
                p.add(row=q.row, column=f"pricing ({q.column})", value=q.value, rule=q.rule)
            p.raise_if_any()
        return tariff, rule, quotes

    def floating_tables(self) -> FloatingTables:
        q = self.quotes.to_frame()
        n = len(q)
        rule = self.rule
        if rule is None:
            return FloatingTables.flat(n)
        mult = rule.combine == "multiplicative"
        static = np.ones(n) if mult else np.zeros(n)
        tables = {"accident_grade": np.zeros(5), "accident_count": None, "deaths": None,
                  "credit_grade": np.zeros(4)}
        levels = {"accident_grade": ["none", *GRADE_NAMES], "credit_grade": list("ABCD")}
        p = Problems(f"pricing.floating {rule.name!r}")
        for t in rule.terms:
            if t.input not in _DYNAMIC:
                f = q[f"f_{t.name}"].to_numpy()
                static = static * f if mult else static + (f - 1.0)
                continue
            if t.input in levels:
                vals = levels[t.input]
            else:
                top = int(max(t.thresholds)) + 2 if t.kind == "bands" else 64
                vals = list(range(top))
            adj = t.adjust(pd.Series(vals, dtype=object if t.input in levels else float), p)
            cur = tables[t.input]
            if cur is None:
                cur = np.zeros(len(adj))
            if len(cur) != len(adj):   # two factors on one count input: use the longer grid
                size = max(len(cur), len(adj))
                cur, adj = np.resize(cur, size), np.resize(adj, size)
            tables[t.input] = ((1 + cur) * (1 + adj) - 1) if mult else cur + adj
        p.raise_if_any()
        return FloatingTables(rule.combine, rule.floor, rule.cap, static,
                              grade=tables["accident_grade"],
                              count=tables["accident_count"] if tables["accident_count"] is not None
                              else np.zeros(1),
                              deaths=tables["deaths"] if tables["deaths"] is not None else np.zeros(1),
                              credit=tables["credit_grade"],
                              neutral=self.scheme.pricing.off_balance == "neutral")

    # --- prevention -------------------------------------------------------------------------------
    def _fund(self, p: Problems):
        pv = self.scheme.prevention
        try:
            return PreventionFund(share=pv.share, regime=self.scheme.regime, carry_over=pv.carry_over,
                                  min_per_enterprise=pv.min_per_enterprise, catalog=pv.catalog)
        except RegimeBreachError as err:
            p.add(column="prevention.share", value=pv.share, rule=str(err))
        except ValidationError as err:
            for q in err._problems:
                p.add(column=f"prevention.{q.column}", value=q.value, rule=q.rule)
        return None

    def plan(self):
        """The fund's allocation of the year-1 budget (cached)."""
        if not hasattr(self, "_plan"):
            pv = self.scheme.prevention
            budget = self.fund.budget(float(self.quotes.total()))
            gov = self.scheme.government.purchased_services
            premium = self.quotes.to_frame()["final_premium"]
            self._plan = self.fund.allocate(self.frame, pd.Series(self.lam, index=self.frame.index),
                                            budget + gov, strategy=pv.strategy, objective=pv.objective,
                                            premium=premium.rename("premium"))
            self._plan_budget = budget + gov
        return self._plan

    # --- the accident bank --------------------------------------------------------------------------
    def _bank(self):
        sectors = tuple(sorted(set(self.frame["sector"].astype(str))))
        self.sectors = sectors
        size = self.scheme.bank_size
        accs, vics = [], []
        for k, s in enumerate(sectors):
            rng = np.random.default_rng(np.random.SeedSequence(
                self.bank_seed.entropy, spawn_key=(*self.bank_seed.spawn_key, k)))
            a, v = self.model.simulate(size, sector=s, seed=rng, return_victims=True)
            a.index = a.index + k * size
            v["accident_id"] = v["accident_id"] + k * size
            accs.append(a)
            vics.append(v)
        self.bank_acc = pd.concat(accs)
        self.bank_vic = pd.concat(vics, ignore_index=True)
        grade = pd.Categorical(self.bank_acc["grade"], categories=GRADE_NAMES).codes
        self.bank = AccidentBank(
            size=size,
            deaths=(self.bank_acc["employee_deaths"]
                    + self.bank_acc["third_party_deaths"]).to_numpy(np.int64),
            serious=(self.bank_acc["employee_serious_injuries"]
                     + self.bank_acc["third_party_injuries"]).to_numpy(np.int64),
            grade=grade.astype(np.int8))
        self._amounts = {}

    def _cover(self, per_person: float, index: float, acc: pd.DataFrame, vic: pd.DataFrame):
        """(covered before the per-accident limit excluding rescue, rescue after its deductible)."""
        cov = PolicyCoverage(**{**self.coverage, "per_person": per_person, "per_accident": _HUGE,
                                "aggregate": None, "rescue_legal": _HUGE, "override_regime": True})
        a = acc.copy()
        v = vic.copy()
        if index != 1.0:
            a["property_damage"] = a["property_damage"] * index
            a["rescue_cost"] = a["rescue_cost"] * index
            v["medical_cost"] = v["medical_cost"] * index
            if "liability" in v.columns:
                v["liability"] = v["liability"] * index
        out = cov.insured_loss(a, v)
        return (out["before_limit"] - out["rescue"]).to_numpy(), out["rescue"].to_numpy()

    def amounts(self, per_person: float, index: float):
        key = (float(per_person), round(float(index), 12))
        if key not in self._amounts:
            self._amounts[key] = self._cover(per_person, index, self.bank_acc, self.bank_vic)
        return self._amounts[key]

    # --- the engine spec ------------------------------------------------------------------------------
    def spec(self) -> EngineSpec:
        sc = self.scheme
        f = self.frame
        q = self.quotes.to_frame()
        sec_codes = pd.Categorical(f["sector"].astype(str), categories=self.sectors).codes.astype(np.int64)
        regions = tuple(sorted(set(f["region"].astype(str))))
        reg_codes = pd.Categorical(f["region"].astype(str), categories=regions).codes.astype(np.int64)
        head = f["headcount"].to_numpy(dtype=float)
        pal, agg, resc = self.limits(self.coverage["per_person"])
        payroll = f["payroll"].to_numpy(dtype=float)
        book = BookArrays(
            ids=f.index.to_numpy(), sector=sec_codes, sectors=self.sectors, region=reg_codes,
            regions=regions, headcount=head, burden_base=payroll,
            credit=pd.Categorical(f["credit_grade"].astype(str),
                                  categories=list("ABCD")).codes.astype(np.int64),
            base_premium=q["base_premium"].to_numpy(dtype=float),
            premium_year1=q["final_premium"].to_numpy(dtype=float),
            per_accident_limit=pal, aggregate_limit=agg, rescue_limit=resc,
            min_premium=(q["min_premium"].to_numpy(dtype=float) if "min_premium" in q.columns
                         else None))
        re = sc.reinsurance
        loadings = self.tariff.loadings or {}
        ins = sc.insurers
        finance = Finance(
            commission=(ins.commission if ins.commission is not None
                        else float(loadings.get("commission", 0.0))),
            expenses=(ins.expenses if ins.expenses is not None
                      else float(loadings.get("expenses", 0.0))),
            capital=ins.capital, subsidy=sc.government.premium_subsidy,
            purchased_services=sc.government.purchased_services, insurers=dict(ins.shares))
        cr = sc.credit
        return EngineSpec(
            book=book, floating=self.floating_tables(), bank=self.bank,
            reinsurance=Reinsurance(**re.to_dict()), finance=finance, years=self.years,
            first_year=self.first_year,
            transition=None if cr.transition is None else np.asarray(cr.transition, dtype=float),
            downgrade=np.array([cr.downgrade[g] for g in GRADE_NAMES], dtype=np.int64),
            downgrade_min_deaths=cr.downgrade_min_deaths)

    def limits(self, per_person: float):
        """(per-accident, aggregate, rescue) limits per enterprise under the coverage."""
        head = self.frame["headcount"].to_numpy(dtype=float)
        c = self.coverage
        pal = (np.full(len(head), float(c["per_accident"])) if c.get("per_accident") is not None
               else per_person * head)
        agg = np.full(len(head), float(c["aggregate"])) if c.get("aggregate") is not None else pal
        resc = (np.full(len(head), float(c["rescue_legal"])) if c.get("rescue_legal") is not None
                else RESCUE_SHARE * pal)
        return pal, agg, resc

    # --- scenarios ------------------------------------------------------------------------------------
    def effects(self, sc: Scenario, track=()) -> Effects:
        Y, n = self.years, len(self.frame)
        f = self.frame
        weights = np.tile(self.lam, (Y, 1))
        for shock in sc.frequency_shocks:
            sel = np.ones(n, dtype=bool)
            if shock.sector is not None:
                sel &= (f["sector"].astype(str) == shock.sector).to_numpy()
            if shock.region is not None:
                sel &= (f["region"].astype(str) == shock.region).to_numpy()
            last = Y if shock.to_year is None else min(shock.to_year, Y)
            for y in range(shock.from_year - 1, last):
                weights[y, sel] *= shock.factor
        growth = 1.0 + self.scheme.book.entry_rate - self.scheme.book.exit_rate
        size = growth ** np.arange(Y)
        take = np.array([sc.take_up_in(y + 1) for y in range(Y)])
        pp0 = float(self.coverage["per_person"])
        pps = [sc.per_person(y + 1, pp0) for y in range(Y)]
        index = (1.0 + sc.severity_growth) ** np.arange(Y)
        cov = np.empty((Y, len(self.bank.deaths)))
        resc = np.empty_like(cov)
        for y in range(Y):
            cov[y], resc[y] = self.amounts(pps[y], index[y])
        accept, severity, spend = self._prevention(sc, size, take)
        extra = tuple(self._extra(e, pps, index) for e in sc.extra_accidents if e.year <= Y)
        tr = tuple(dict.fromkeys(self._position(t, "track") for t in track))
        return Effects(name=sc.name, weights=weights, accept=accept, severity=severity,
                       fund_spend=spend, fund_budget_share=self.scheme.prevention.share,
                       covered=cov, rescue=resc, common_cv=sc.common_shock_cv,
                       size=size, take_up=take, drift=sc.credit_drift, extra=extra, track=tr,
                       limit_scale=self._limit_scale(pps, pp0))

    def _limit_scale(self, pps, pp0):
        """Yearly factors on the limits that follow the per-person limit (those not fixed)."""
        c = self.coverage
        ratio = np.asarray(pps, dtype=float) / pp0
        fixed_pal = c.get("per_accident") is not None
        return np.column_stack([
            np.ones_like(ratio) if fixed_pal else ratio,
            np.ones_like(ratio) if (c.get("aggregate") is not None or fixed_pal) else ratio,
            np.ones_like(ratio) if (c.get("rescue_legal") is not None or fixed_pal) else ratio])

    def _prevention(self, sc: Scenario, size, take):
        Y, n = self.years, len(self.frame)
        ones = np.ones((Y, n))
        if not sc.prevention or self.scheme.prevention.share == 0:
            return ones, ones.copy(), np.zeros(Y)
        plan = self.plan()
        model = plan.model
        x = np.asarray(plan.x, dtype=float)
        total = self._plan_budget
        phi = x / total if total > 0 else np.zeros_like(x)
        rho = float(x.sum() / total) if total > 0 else 0.0
        gov = self.scheme.government.purchased_services
        # planned budgets: the fund's share of the premium expected at pricing (revenue-neutral
        # floating keeps the total), plus what is carried over and what government buys
        budget = self.fund.share * float(self.quotes.total()) * size * take
        spend, avail, carry = np.zeros(Y), np.zeros(Y), 0.0
        for y in range(Y):
            avail[y] = budget[y] + carry
            spend[y] = rho * avail[y]
            carry = (avail[y] - spend[y]) if self.fund.carry_over else 0.0
        r = model.r_max() * sc.prevention_effectiveness
        k = model.k_yuan()
        lag = np.asarray(model.lag)
        sev = model.channel == "severity"
        accept = np.ones((Y, n))
        severity = np.ones((Y, n))
        for y in range(Y):
            xs = phi * (avail[y] + gov)
            xp = phi * (avail[y - 1] + gov) if y > 0 else np.zeros_like(phi)
            eff = np.where(lag == 0, r * -np.expm1(-xs / k), r * -np.expm1(-xp / k))
            F = eff[:, ~sev].sum(axis=1)
            V = eff[:, sev].sum(axis=1)
            accept[y] = 1.0 - F
            severity[y] = (1.0 - F - V) / (1.0 - F)
        return accept, severity, spend

    def _position(self, ent: str, field: str) -> int:
        f = self.frame
        if ent.startswith("largest:"):
            sector = ent.split(":", 1)[1]
            sel = (f["sector"].astype(str) == sector).to_numpy()
            if not sel.any():
                raise ValidationError("scenario", [Problem(
                    None, field, ent, f"the book has no enterprise of sector {sector!r}")])
            head = np.where(sel, f["headcount"].to_numpy(dtype=float), -1.0)
            return int(np.argmax(head))
        pos = f.index.get_indexer([ent])[0]
        if pos < 0:
            raise ValidationError("scenario", [Problem(None, field, ent, "an enterprise id of the book")])
        return int(pos)

    def _extra(self, e, pps, index):
        pos = self._position(e.enterprise, "extra_accidents.enterprise")
        acc = pd.DataFrame({"property_damage": [0.0], "rescue_cost": [0.0]},
                           index=pd.Index([0], name="accident_id"))
        vic = pd.DataFrame({"accident_id": [0] * (e.deaths + e.serious_injuries),
                            "role": ["employee"] * (e.deaths + e.serious_injuries),
                            "outcome": ["death"] * e.deaths + ["disability"] * e.serious_injuries,
                            "disability_grade": [None] * e.deaths + [5] * e.serious_injuries,
                            "medical_cost": [0.0] * (e.deaths + e.serious_injuries),
                            "liability": [self.model.death_liability_] * (e.deaths + e.serious_injuries)})
        cov = np.empty(self.years)
        resc = np.empty(self.years)
        for y in range(self.years):
            c, r = self._cover(pps[y], index[y], acc, vic)
            cov[y], resc[y] = c[0], r[0]
        grade = accident_grade(e.deaths, e.serious_injuries, e.direct_loss)
        code = GRADE_NAMES.index(str(np.asarray(grade).ravel()[0]))
        return (e.year - 1, pos, e.deaths, e.serious_injuries, code, cov, resc)


def prepare(scheme, years: int, seed) -> Prepared:
    """Resolve ``scheme`` for ``years`` simulated years (raises before any simulation starts)."""
    return Prepared(scheme, years, seed)
