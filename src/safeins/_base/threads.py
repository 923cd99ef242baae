"""Cap BLAS/OpenMP threads inside fits to the cores this process may use.

numpy's BLAS and OpenMP start one thread per core of the machine, not per core available to the
process. On a loaded machine (or a container limited to 2 cores of a 64-core host) small fits then
spend their time waiting for threads: a 6,000-row GLM took 8.6 s instead of 0.4 s. Every fit runs
under :func:`limit_threads`, which caps the pools to the cores available (and to one thread for
small problems, where threads cost more than they save).

>>> with limit_threads(rows=100):
...     pass
>>> available_cores() >= 1
True
"""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["SMALL_ROWS", "available_cores", "limit_threads", "single_thread", "thread_cap"]

# Below this many rows (observations x parameters) one thread is fastest: start-up and
# contention cost more than the parallel speed-up (measured on a busy 2-core machine).
SMALL_ROWS = 100_000


def available_cores() -> int:
    """Cores this process may run on (CPU affinity where the OS reports it, else ``os.cpu_count``)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # pragma: no cover - macOS and Windows
        return max(os.cpu_count() or 1, 1)


def thread_cap(rows: int | None = None) -> int:
    """The thread count :func:`limit_threads` uses: 1 for small problems, else the cores available.

    >>> thread_cap(rows=10)
    1
    """
    if rows is not None and rows < SMALL_ROWS:
        return 1
    return available_cores()


@contextlib.contextmanager
def limit_threads(rows: int | None = None):
    """A context manager capping BLAS and OpenMP pools to :func:`thread_cap` threads.

    A no-op when threadpoolctl is not installed (it comes with scikit-learn).

    >>> with limit_threads(rows=0):
    ...     _CAPS[-1]
    1
    """
    cap = thread_cap(rows)
    try:
        controller = _controller()
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with controller.limit(limits=cap):
        _CAPS.append(cap)  # what the pools are set to now (single_thread reads it)
        try:
            yield
        finally:
            _CAPS.pop()


_CAPS: list[int] = []


_CONTROLLER: list = []  # [(len(sys.modules) when built, ThreadpoolController)]


def _controller():
    # finding the loaded BLAS/OpenMP libraries reads /proc/self/maps (~8 ms on a busy machine):
    # once, again only after new modules (which may bring new libraries) were imported
    from threadpoolctl import ThreadpoolController

    n = len(sys.modules)
    if not _CONTROLLER or _CONTROLLER[0][0] != n:
        _CONTROLLER[:] = [(n, ThreadpoolController())]
    return _CONTROLLER[0][1]


@contextlib.contextmanager
def single_thread():
    """BLAS and OpenMP on one thread, re-entrant: inside a block already capped at one thread the
    pools are not set again.

    For code making many small or thin BLAS calls (optimiser steps, dot products of a lattice,
    matrix products with three columns): a pool of threads woken for each call costs more than
    it saves, and on a busy machine far more (an L-BFGS-B fit took 0.9 s instead of 2 ms; the
    demo's strategy comparison 3.3 s instead of 1.5 s). Setting the pools reads the process's
    loaded libraries (milliseconds), hence the re-entrancy; a block that raised the cap in
    between (``limit_threads(rows=...)``) is capped again.

    >>> with single_thread():
    ...     with single_thread():
    ...         pass
    """
    if _CAPS and _CAPS[-1] == 1:
        yield
        return
    with limit_threads(rows=0):
        yield
