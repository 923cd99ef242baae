"""Guards for long work and thread caps (safeins._base.guard, safeins._base.threads)."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info

from safeins._base import guard, threads
from safeins.errors import SafeinsError, ValidationError, WorkLimitError


def test_work_below_the_limit_passes_and_above_it_asks_for_force():
    guard.check_work("job", claims=1e6, limit=1e7)
    with pytest.raises(WorkLimitError) as err:
        guard.check_work("job", claims=1e12, limit=1e7, hint="lower n_sims")
    text = str(err.value)
    # how many claims, how long, how much memory, and what to do
    assert "1e+12 claims" in text and "limit 1e+07" in text
    assert "h" in text and "TB" in text and "force=True" in text and "lower n_sims" in text
    assert isinstance(err.value, SafeinsError)
    guard.check_work("job", claims=1e12, limit=1e7, force=True)


def test_estimates_scale_with_the_claims_drawn():
    # 1e9 claims at 5e7 per second and 16 bytes each: 20 s and 16 GB
    assert guard.describe_work(1e9) == "about 20 s and 16.0 GB"
    assert guard.describe_work(1e9, chunk_claims=1e6) == "about 20 s and 16.0 MB"


@pytest.mark.parametrize("kwargs, field", [({"force": "yes"}, "force"), ({"limit": -1.0}, "limit"),
                                           ({"limit": float("nan")}, "limit")])
def test_guard_arguments_are_checked(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        guard.check_work("job", claims=10.0, **kwargs)


def test_infinite_work_is_refused_even_when_forced():
    with pytest.raises(WorkLimitError, match="could not finish"):
        guard.check_work("job", claims=float("inf"), force=True)


def test_progress_is_off_unless_asked_or_on_a_terminal():
    items = [1, 2, 3]
    assert guard.progress(items, enabled=False) is items
    assert guard.progress(items, enabled="auto") is items  # pytest captures stderr: no terminal
    bar = guard.progress(items, enabled=True, desc="fits")
    assert list(bar) == items and hasattr(bar, "close")
    with pytest.raises(ValidationError, match="progress"):
        guard.progress(items, enabled="sometimes")


def test_small_fits_run_on_one_thread_large_ones_on_the_available_cores():
    assert threads.thread_cap(rows=10) == 1
    assert threads.thread_cap(rows=10**6) == threads.available_cores() >= 1
    import numpy  # noqa: F401  (loads the BLAS whose pool is capped)

    with threads.limit_threads(rows=10):
        inside = [pool["num_threads"] for pool in threadpool_info()]
    assert inside and all(n == 1 for n in inside)


def test_single_thread_caps_again_inside_a_block_that_raised_the_cap():
    import numpy  # noqa: F401  (loads the BLAS whose pool is capped)

    with threads.single_thread():
        with threads.limit_threads(rows=10**6):  # e.g. a large GLM fit inside a planner
            with threads.single_thread():
                inner = [pool["num_threads"] for pool in threadpool_info()]
            middle = [pool["num_threads"] for pool in threadpool_info()]
        outer = [pool["num_threads"] for pool in threadpool_info()]
    assert inner and all(n == 1 for n in inner) and all(n == 1 for n in outer)
    assert all(n == threads.available_cores() for n in middle)
