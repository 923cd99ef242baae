"""Seeds and random streams.

Every stochastic function in safeins takes ``seed``: an int, a :class:`numpy.random.SeedSequence`,
a :class:`numpy.random.Generator` or None. Results that must not depend on chunking or on the number
of workers draw block ``b`` of their work from ``block_generator(seed, b)``: the stream of a block is
a function of the seed and the block index only.

>>> import numpy as np
>>> a = as_generator(7).normal(size=3)
>>> b = as_generator(7).normal(size=3)
>>> bool(np.all(a == b))
True
>>> x = block_generator(7, 3).random()
>>> y = block_generator(7, 3).random()
>>> x == y
True
"""

from __future__ import annotations

import numpy as np

from ..errors import Problem, ValidationError

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None

__all__ = ["SeedLike", "as_generator", "as_seed_sequence", "block_generator"]


def _bad_seed(seed) -> ValidationError:
    return ValidationError(
        "seed",
        [Problem(None, "seed", seed, "an int >= 0, a numpy SeedSequence, a numpy Generator or None")],
    )


def as_generator(seed: SeedLike = None) -> np.random.Generator:
    """A numpy Generator from any accepted seed (a Generator is returned as it is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(as_seed_sequence(seed))


def as_seed_sequence(seed: SeedLike = None) -> np.random.SeedSequence:
    """A SeedSequence from any accepted seed.

    A Generator is turned into a SeedSequence by drawing from it, so that passing the same Generator
    twice gives two different (but reproducible) sequences.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise _bad_seed(seed)
    return np.random.SeedSequence(int(seed))


def block_generator(seed: SeedLike, block: int) -> np.random.Generator:
    """The Generator of block number ``block``: depends only on the seed and the block index.

    Used by simulations so that the same seed gives the same numbers whatever the chunk size,
    the number of workers or the backend (blocks have a fixed size; chunks are groups of blocks).
    """
    root = as_seed_sequence(seed)
    child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, int(block)))
    return np.random.default_rng(child)
