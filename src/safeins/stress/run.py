"""``stress_test``: run a scheme forward over years under scenarios, locally or on a dask cluster.

>>> import safeins as si
>>> scheme = si.Scheme.load("zhejiang-pilot-2015").select(region="舟山")
>>> res = si.stress_test(scheme, scenarios=["baseline", "no_prevention"], years=2, n_sims=50,
...                      seed=7, progress=False)
>>> bool(res.summary().loc[("baseline", res.meta.years[0]), "loss_ratio_mean"] > 0)
True
"""

from __future__ import annotations

import numpy as np

from ..errors import Problems, ValidationError
from ..simulation.backends import run, size_guard
from ..simulation.engine import BLOCK, KERNELS, kernel_function
from ..simulation.result import SimulationMeta
from ._build import prepare
from .result import StressResult
from .scenarios import Scenario, named
from .scheme import Scheme

__all__ = ["stress_test"]

_BACKENDS = ("local", "dask")


def _int(p: Problems, name: str, value, low: int, rule: str) -> None:
    ok = not isinstance(value, bool) and isinstance(value, int) and value >= low
    p.check(ok, column=name, value=value, rule=rule)


def _scenarios(p: Problems, scenarios) -> list[Scenario]:
    if isinstance(scenarios, str | Scenario):
        scenarios = [scenarios]
    out = []
    for s in scenarios:
        if isinstance(s, Scenario):
            out.append(s)
        else:
            try:
                out.append(named(s))
            except ValidationError as err:
                p.add(column="scenarios", value=s, rule=err._problems[0].rule)
    names = [s.name for s in out]
    dup = sorted({x for x in names if names.count(x) > 1})
    p.check(not dup, column="scenarios", value=dup, rule="scenario names must be distinct")
    p.check(bool(scenarios), column="scenarios", value=[], rule="at least one scenario")
    return out


def stress_test(scheme, scenarios=("baseline",), *, years: int = 5, n_sims: int = 1000, seed=None,
                backend: str = "local", client=None, n_workers: int = 2, chunk_size: int = 1000,
                track=(), progress=None, force: bool = False, kernel: str = "auto",
                threads: int | None = None) -> StressResult:
    """Simulate ``scheme`` for ``years`` years under each scenario; returns a :class:`StressResult`.

    Parameters
    ----------
    scheme : Scheme, or the name or path of one
    scenarios : names (see ``safeins.stress.scenarios.NAMED``) or Scenario objects
    years, n_sims : int
        Simulated policy years (from the year after the book's history) and simulations.
    seed : int, SeedSequence, Generator or None
        The same seed gives the same numbers whatever ``chunk_size``, ``n_workers`` or ``backend``.
    backend : "local" or "dask"
        ``"dask"`` uses ``client`` (a ``dask.distributed.Client``) or starts a LocalCluster of
        ``n_workers`` processes for the run.
    chunk_size : int
        Simulations per task, a multiple of 50 (the block size of the random streams).
    track : enterprise ids whose premium and claims are recorded (``to_frame("tracked")``).
    progress : bool or None
        A progress bar (None: only when interactive).
    force : bool
        Run even when the expected number of simulated accidents is huge (see
        ``safeins.simulation.backends.size_guard``).
    kernel : "auto", "numba" or "numpy"
        The engine's inner loop: compiled with numba (``pip install safeins[fast]``), vectorised
        numpy, or numba when it is installed. The numbers are the same; numba is several times faster.
    threads : int or None
        Threads of the local backend: blocks of 50 simulations run side by side (None: one per core
        available to the process). The numbers do not depend on it. Dask tasks run one thread each.

    Everything is checked before any simulation starts; bad input raises one ValidationError
    naming every bad field.

    >>> import safeins as si
    >>> r = si.stress_test("zhejiang-2025", ["baseline", "catastrophe"], years=2, n_sims=50,
    ...                    seed=1, progress=False, track=["largest:hazardous_chemicals"])
    >>> s = r.summary()
    >>> bool(s.loc[("catastrophe", 2025), "deaths_mean"] - s.loc[("baseline", 2025), "deaths_mean"] == 30)
    True
    """
    p = Problems("stress_test")
    if isinstance(scheme, str):
        try:
            scheme = Scheme.load(scheme)
        except ValidationError as err:
            p.add(column="scheme", value=scheme, rule=err._problems[0].rule)
    elif not isinstance(scheme, Scheme):
        p.add(column="scheme", value=type(scheme).__name__, rule="a Scheme or a shipped scheme name")
    _int(p, "years", years, 1, "an integer >= 1")
    _int(p, "n_sims", n_sims, 1, "an integer >= 1")
    _int(p, "n_workers", n_workers, 1, "an integer >= 1")
    if threads is not None:
        _int(p, "threads", threads, 1, "an integer >= 1, or None (one per core)")
    _int(p, "chunk_size", chunk_size, BLOCK, f"an integer multiple of {BLOCK}")
    if isinstance(chunk_size, int) and chunk_size % BLOCK:
        p.add(column="chunk_size", value=chunk_size, rule=f"a multiple of {BLOCK} (the block size)")
    p.check(backend in _BACKENDS, column="backend", value=backend, rule=f"one of {', '.join(_BACKENDS)}")
    scen = _scenarios(p, scenarios)
    if kernel in KERNELS:
        try:
            kernel_function(kernel)   # numba asked for and not installed: say so before any work
        except ValidationError as err:
            p.add(column="kernel", value=kernel, rule=err._problems[0].rule)
    else:
        p.add(column="kernel", value=kernel, rule=f"one of {', '.join(KERNELS)}")
    p.raise_if_any()
    prep = prepare(scheme, years, seed)
    spec = prep.spec()
    # every scenario records the same enterprises: those asked for and those of fixed accidents
    track_all = [*track, *(e.enterprise for s in scen for e in s.extra_accidents)]
    effects = [prep.effects(s, track_all) for s in scen]
    size_guard(n_enterprises=spec.book.n, n_sims=n_sims, years=years,
               expected_accidents=max(float(e.weights.sum(axis=1).max()) for e in effects), force=force)
    raw = run(spec, effects, n_sims=n_sims, seed=seed, chunk_size=chunk_size, backend=backend,
              client=client, n_workers=n_workers, progress=progress, kernel=kernel, threads=threads)
    tracked = tuple(str(spec.book.ids[i]) for i in effects[0].track)
    payroll = np.bincount(spec.book.sector, spec.book.burden_base, minlength=len(spec.book.sectors))

    meta = SimulationMeta(
        years=tuple(range(prep.first_year, prep.first_year + years)), sectors=spec.book.sectors,
        first_year=prep.first_year, commission=spec.finance.commission, expenses=spec.finance.expenses,
        capital=spec.finance.capital, burden=payroll, reinsurance=spec.reinsurance,
        subsidy=spec.finance.subsidy, insurers=spec.finance.insurers, tracked=tracked,
        scheme=scheme.name, seed=seed)
    return StressResult(raw, meta, scheme=scheme, scenarios={s.name: s for s in scen})
