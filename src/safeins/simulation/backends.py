"""Run the engine over all simulations: locally with numpy, or on a dask.distributed cluster.

Simulations are cut into blocks of :data:`~safeins.simulation.engine.BLOCK`; a *chunk* is a run of
consecutive blocks handed to one task. Block ``b`` always draws from the streams keyed by
(seed, b, year, purpose), so the chunk size, the number of workers and the backend change how the
work is spread, never the numbers.

>>> size_guard(n_enterprises=1_000, n_sims=100, years=5, expected_accidents=50.0)
25000.0
"""

from __future__ import annotations

import math
import sys

from .._base.guard import check_work
from .._base.rng import SeedLike, as_seed_sequence
from .._base.threads import available_cores
from .engine import BLOCK, join_blocks, kernel_function, run_blocks, submit_blocks
from .spec import Effects, EngineSpec

__all__ = ["MAX_ACCIDENTS", "WORKER_ENVIRON", "run", "seed_key", "size_guard"]

#: environment of the dask workers ``stress_test`` starts (see ``_run_dask``); pass the same to
#: ``distributed.nanny.pre-spawn-environ`` for clusters of your own
WORKER_ENVIRON = {"MALLOC_TRIM_THRESHOLD_": str(2**35), "MALLOC_MMAP_THRESHOLD_": str(2**25)}

#: simulated accidents above which a run needs ``force=True`` (about 10 GB of work arrays in all)
MAX_ACCIDENTS = 2e9


def size_guard(*, n_enterprises: int, n_sims: int, years: int, expected_accidents: float,
               force: bool = False) -> float:
    """Refuse a run whose expected number of simulated accidents exceeds :data:`MAX_ACCIDENTS`
    unless ``force=True``; returns that number (accidents over all simulations and years).

    The engine's time and memory grow with simulated accidents (plus one pass over the enterprises
    per block and year), so this is the size that matters.
    """
    total = float(expected_accidents) * n_sims * years
    # one guard for every long run of the library (Aggregate's simulation uses it too)
    # the engine holds one block of simulations at a time
    check_work("stress_test", total, limit=MAX_ACCIDENTS, force=force,
               chunk_claims=float(expected_accidents) * years * BLOCK,
               hint=f"{n_enterprises:,} enterprises x {years} years x {n_sims:,} simulations; fewer "
                    "simulations or a subset of the book (Scheme.select) make it smaller")
    return total


def seed_key(seed: SeedLike):
    """(entropy, spawn key) of a seed: what workers need to rebuild every stream."""
    ss = as_seed_sequence(seed)
    return (ss.entropy, tuple(ss.spawn_key))


def _chunks(n_sims: int, chunk_size: int):
    n_blocks = math.ceil(n_sims / BLOCK)
    per = max(1, chunk_size // BLOCK)
    return [list(range(b, min(b + per, n_blocks))) for b in range(0, n_blocks, per)]


def _progress(total: int, enabled, desc: str):
    interactive = hasattr(sys, "ps1") or "ipykernel" in sys.modules or sys.stderr.isatty()
    if enabled is False or (enabled is None and not interactive):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc)


def run(spec: EngineSpec, effects: list[Effects], *, n_sims: int, seed, chunk_size: int = 1000,
        backend: str = "local", client=None, n_workers: int = 2, progress=None,
        kernel: str = "auto", threads: int | None = None) -> dict:
    """Simulate every scenario; returns ``{scenario name: {result: array (n_sims, years, ...)}}``.

    ``kernel`` is the accident step (``"auto"``, ``"numba"`` or ``"numpy"``, see
    :func:`~safeins.simulation.engine.kernel_function`); on dask each worker resolves it.
    ``threads``: blocks run side by side in this process (local backend; None: one per available
    core). Each dask task runs one thread: the cluster's workers are the parallelism there.
    """
    kernel_function(kernel)   # an unknown kernel, or numba asked for and missing: fail here
    key = seed_key(seed)
    chunks = _chunks(n_sims, chunk_size)
    threads = available_cores() if threads is None else int(threads)
    bar = _progress(len(chunks) * len(effects), progress, "stress test")
    try:
        if backend == "local":
            return _run_local(spec, effects, key, chunks, n_sims, kernel, threads, bar)
        return _run_dask(spec, effects, key, chunks, n_sims, client, n_workers, bar, kernel)
    finally:
        if bar is not None:
            bar.close()


def _run_local(spec, effects, key, chunks, n_sims, kernel, threads, bar):
    """Every scenario's chunks in this process. With threads, one pool runs all of a scenario's
    blocks: they are all submitted at once (a block is cheap to queue: its arrays are made when it
    runs) and collected chunk by chunk, so no thread waits at a chunk's end for the other's last
    block (Ningbo scale: two threads ran 1.84x faster than one when each chunk waited, 2.0x now;
    benchmarks/results/stress.md)."""
    out = {}
    if threads <= 1 or sum(len(c) for c in chunks) <= 1:
        for eff in effects:
            parts = []
            for blocks in chunks:
                parts.append(run_blocks(spec, eff, key, blocks, n_sims, kernel))
                if bar is not None:
                    bar.update(1)
            out[eff.name] = join_blocks(parts)
        return out
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for eff in effects:
            futures = [submit_blocks(pool, spec, eff, key, blocks, n_sims, kernel) for blocks in chunks]
            parts = []
            try:
                for chunk in futures:
                    parts.append(join_blocks(chunk))
                    if bar is not None:
                        bar.update(1)
            except BaseException:   # an error or an interrupt: drop the queued blocks, do not wait
                for f in (f for chunk in futures for f in chunk):
                    f.cancel()
                raise
            out[eff.name] = join_blocks(parts)
    return out


def _run_dask(spec, effects, key, chunks, n_sims, client, n_workers, bar, kernel):
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    own = None
    if client is None:
        # dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's mmap
        # threshold at 128 KiB: every large numpy temporary is then mapped and unmapped, and the
        # engine runs ~3x slower. Workers we start keep temporaries up to 32 MiB on the heap.
        with dask.config.set({"distributed.nanny.pre-spawn-environ." + k: v
                              for k, v in WORKER_ENVIRON.items()}):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
        client = own = Client(cluster)
    try:
        spec_f = client.scatter(spec, broadcast=True)
        futures = {}
        for eff in effects:
            eff_f = client.scatter(eff, broadcast=True)
            for i, blocks in enumerate(chunks):
                fut = client.submit(run_blocks, spec_f, eff_f, key, blocks, n_sims, kernel, pure=False)
                futures[fut] = (eff.name, i)
        results: dict = {eff.name: [None] * len(chunks) for eff in effects}
        for fut in as_completed(list(futures)):
            name, i = futures[fut]
            results[name][i] = fut.result()
            if bar is not None:
                bar.update(1)
        return {name: join_blocks(parts) for name, parts in results.items()}
    finally:
        if own is not None:
            cluster = own.cluster
            own.close()
            cluster.close()
