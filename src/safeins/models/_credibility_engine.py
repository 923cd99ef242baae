"""The estimation engine of Jewell's hierarchical credibility model (Bühlmann–Straub is its
one-level case), vectorised with :func:`numpy.bincount`: no Python loop over nodes.

Notation (Bühlmann & Gisler 2005, ch. 6; actuar's ``hierarc``): levels ``k = 1..L`` from the top,
level ``L`` the entities whose periods are the observations. ``b[k]`` is the variance between the
nodes of level ``k`` inside their parent, ``b[L + 1] = s^2`` the within-entity variance. A node's
credibility factor is ``z = 1 / (1 + b_below / (b[k] * w))`` where ``w`` is its weight (natural
weight for entities, sum of its children's credibility factors above) and ``b_below`` the first
non-zero variance below it. Premiums go top-down: ``P = P_parent + z (mean - P_parent)``.

Three between-variance estimators, named as in actuar's ``cm``:

- ``"buhlmann-gisler"``: per parent node, the unbiased ratio ``B_i / c_i`` clamped at 0, then the
  average over parent nodes that have at least two children;
- ``"ohlsson"``: ``sum_i B_i / sum_i c_i``, clamped at 0;
- ``"iterative"``: the Bichsel–Straub pseudo-estimators, a fixed point started at Ohlsson's.

>>> import numpy as np
>>> codes = [np.repeat([0, 1, 2], 2)]
>>> fit = fit_hierarchy(codes, [np.zeros(3, int)], np.array([1., 3, 4, 6, 8, 12]), np.ones(6),
...                     method="buhlmann-gisler")
>>> float(fit["b"][-1]), round(float(fit["b"][0]), 3)   # s^2 and a
(4.0, 14.333)
"""

from __future__ import annotations

import numpy as np

from safeins.errors import ConvergenceError

__all__ = ["METHODS", "fit_hierarchy"]

METHODS = ("buhlmann-gisler", "ohlsson", "iterative")


def _first_positive(b: np.ndarray, start: int) -> float:
    for v in b[start:]:
        if v > 0:
            return float(v)
    return float(b[-1])


def _aggregate(b_k: float, b_below: float, tw_child, wm_child, parent, n_parent):
    """Credibility factors of one level's nodes and their parents' weights and means."""
    if b_k > 0:
        z = 1.0 / (1.0 + b_below / (b_k * tw_child))
        wts = z
    else:
        z = np.zeros_like(tw_child)
        wts = tw_child
    tw = np.bincount(parent, wts, minlength=n_parent)
    wm = np.bincount(parent, wts * wm_child, minlength=n_parent) / tw
    return z, wts, tw, wm


#: plain fixed-point steps of the iterative estimators before :func:`_aitken` may extrapolate (the
#: published examples converge in fewer, so they follow the plain iteration exactly)
AITKEN_AFTER = 10


def _aitken(b: np.ndarray, history: list, iterations: int) -> np.ndarray:
    """The between variances ``b`` after a plain step of the iterative estimators, or Aitken's
    extrapolation of the last three steps when the iteration is slow.

    The iteration converges linearly; near a rate of 1 it takes thousands of steps (a panel of
    three groups whose values are mostly zero took 1,019). Every third step after
    :data:`AITKEN_AFTER`, each level whose last two changes shrink by a ratio ``r`` in (0, 1) jumps
    to ``b + r d / (1 - r)`` (``d`` the last change): the limit of a geometric sequence. The
    plain steps that follow confirm the fixed point to the same tolerance, so the estimate is the
    same fixed point, found sooner.

    >>> history = []
    >>> for x in (1.0, 0.5, 0.25):   # halving towards 0: the limit is found in one jump
    ...     b = _aitken(np.array([x]), history, 12)
    >>> float(b[0])
    0.0
    """
    history.append(b.copy())
    if len(history) < 3:
        return b
    b0, b1, b2 = history
    history.clear()
    if iterations < AITKEN_AFTER:
        return b
    d1, d2 = b1 - b0, b2 - b1
    with np.errstate(divide="ignore", invalid="ignore"):
        r = d2 / d1
        jump = b2 + r * d2 / (1.0 - r)
    ok = (r > 0) & (r < 1) & (b2 > 0) & (jump >= 0)   # shrinking steps in one direction
    return np.where(ok, jump, b2)


def fit_hierarchy(codes, parents, x, w, *, method: str, tol: float = np.sqrt(np.finfo(float).eps),
                  maxit: int = 100) -> dict:
    """Fit the hierarchical model; see the module docstring for the notation.

    Parameters
    ----------
    codes : list of int arrays
        ``codes[k][t]`` is the node of observation ``t`` at level ``k`` (0-based from the top).
    parents : list of int arrays
        ``parents[k][j]`` is the parent (at level ``k - 1``) of node ``j`` of level ``k``.
    x, w : float arrays
        Observed ratios and their weights (all finite, weights > 0: validated upstream).

    Returns a dict with ``b`` (between variances by level, then s^2), ``z``, ``tw``, ``wm``
    (credibility factors, total weights and weighted means by level; ``tw[0]``/``wm[0]`` are the
    portfolio), ``unclamped`` (the estimates before clamping at 0), ``premiums`` and ``iterations``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    n_levels = len(codes)
    entity = codes[-1]
    n_nodes = [1, *[len(p) for p in parents]]
    parents_full = [None, *parents]  # parents_full[k] maps level-k nodes (1..L) to level k-1

    tw: list = [None] * (n_levels + 1)
    wm: list = [None] * (n_levels + 1)
    z: list = [None] * (n_levels + 1)
    tw[n_levels] = np.bincount(entity, w, minlength=n_nodes[-1])
    wm[n_levels] = np.bincount(entity, w * x, minlength=n_nodes[-1]) / tw[n_levels]
    dof_within = len(x) - n_nodes[-1]
    s2 = float(np.sum(w * (x - wm[n_levels][entity]) ** 2) / dof_within)

    b = np.zeros(n_levels + 2)  # b[0] unused (portfolio), b[1..L] between, b[L+1] = s2
    b[-1] = s2
    unclamped = np.full(n_levels + 2, np.nan)
    unclamped[-1] = s2
    denoms = np.diff(np.array(n_nodes, dtype=float))  # denoms[k-1] for level k

    start_method = "ohlsson" if method == "iterative" else method
    for k in range(n_levels, 0, -1):
        par = parents_full[k]
        n_par = n_nodes[k - 1]
        b_below = _first_positive(b, k + 1)
        tw_k, wm_k = tw[k], wm[k]
        tw_par = np.bincount(par, tw_k, minlength=n_par)
        wm_par = np.bincount(par, tw_k * wm_k, minlength=n_par) / tw_par
        n_child = np.bincount(par, minlength=n_par)
        big_b = (np.bincount(par, tw_k * (wm_k - wm_par[par]) ** 2, minlength=n_par)
                 - (n_child - 1) * b_below)
        c = tw_par - np.bincount(par, tw_k**2, minlength=n_par) / tw_par
        informative = n_child >= 2
        if start_method == "buhlmann-gisler":
            ratio = big_b[informative] / c[informative]
            unclamped[k] = float(np.mean(ratio))
            est = float(np.mean(np.maximum(ratio, 0.0)))
        else:
            est = float(np.sum(big_b[informative]) / np.sum(c[informative]))
            unclamped[k] = est
        b[k] = max(est, 0.0)
        z[k], _, tw[k - 1], wm[k - 1] = _aggregate(b[k], b_below, tw_k, wm_k, par, n_par)

    iterations = 0
    if method == "iterative" and np.any(b[1:-1] > 0):
        tiny = tol**2
        history: list = []
        while True:
            iterations += 1
            if iterations > maxit:
                raise ConvergenceError(
                    f"hierarchical credibility: the iterative (Bichsel–Straub) estimators did not "
                    f"converge in {maxit} iterations (between variances now {b[1:-1].tolist()}); "
                    "raise maxit or use method='buhlmann-gisler'")
            bt = b.copy()
            for k in range(n_levels, 0, -1):
                par = parents_full[k]
                n_par = n_nodes[k - 1]
                b_below = _first_positive(b, k + 1)
                _, wts, tw[k - 1], wm[k - 1] = _aggregate(b[k], b_below, tw[k], wm[k], par, n_par)
                if bt[k] > 0:
                    new = float(np.sum(wts * (wm[k] - wm[k - 1][par]) ** 2) / denoms[k - 1])
                    b[k] = 0.0 if new <= tiny else new
                z[k], _, tw[k - 1], wm[k - 1] = _aggregate(b[k], b_below, tw[k], wm[k], par,
                                                           n_par)
            pos = (b[1:-1] > 0)
            diff = np.max(np.abs(b[1:-1][pos] - bt[1:-1][pos]) / bt[1:-1][pos], initial=0.0)
            if diff < tol:
                break
            b = _aitken(b, history, iterations)
        unclamped[1:-1] = b[1:-1]

    premiums: list = [None] * (n_levels + 1)
    premiums[0] = wm[0]
    for k in range(1, n_levels + 1):
        p_par = premiums[k - 1][parents_full[k]]
        premiums[k] = p_par + z[k] * (wm[k] - p_par)
    return {"b": b[1:], "z": z, "tw": tw, "wm": wm, "unclamped": unclamped[1:],
            "premiums": premiums, "iterations": iterations, "s2": s2}
