"""Weight cleaning: the one place where weights are put on their bounds, rid of dust and ``-0.0``.

:func:`clean_weights` is the entry point, with two rules:

* the solver's (default): assets of the working set at a bound get the bound exactly, free
  assets within ``1e-12`` (relative to the bound) of a finite bound are put on it, and what
  that moves goes to the largest free weight so that the budget still holds; optionally a
  drift of the budget itself is repaired the same way. :func:`snap_to_bounds` is the rule,
  :func:`snap_long_only` its fast path for the default bounds ``0 ≤ w`` (same numbers).
* the output's (``output=True``, for worksheet cells): weights within ``1e-12`` relative to the
  largest weight (at least 1) of a finite bound or of zero are put on it, nothing else moves
  (the weights were cleaned by the solver already; this keeps levered long-short portfolios
  clean at the same relative precision, and cleans any array of shares the same way).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["clean_weights", "snap_long_only", "snap_to_bounds"]

SNAP_RTOL = 1e-12  # free weights this close to a finite bound (relative) are put on it
BUDGET_ATOL = 1e-13  # budget drift the solver's rule repairs when asked


def clean_weights(
    w: ArrayLike,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    state: NDArray[np.int8] | None = None,
    *,
    long_only: bool = False,
    fix_budget: bool = False,
    output: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Clean weights (see the module docstring for the two rules).

    Parameters
    ----------
    w : array_like of shape (n,) or (p, n)
        One portfolio or several.
    lower, upper : array_like of shape (n,), optional
        Bounds (None: none on that side; the solver's rule needs both).
    state : ndarray of int8, shape (n,) or (p, n), optional
        Working set (-1 at the lower bound, +1 at the upper, 0 free): the solver's rule.
    long_only : bool
        The bounds are the default ``0 ≤ w``: the solver's fast path (``state`` required).
    fix_budget : bool
        Solver's rule, one portfolio: also give a budget drift above 1e-13 to the largest
        free weight.
    output : bool
        Use the output rule instead of the solver's.

    Returns
    -------
    w : ndarray of float, same shape
    at_lower, at_upper : ndarray of bool, same shape
        Where the weights were put on a bound.
    """
    if output:
        return _clean_output(w, lower, upper)
    if long_only:
        assert state is not None  # the solver always knows its working set
        out = snap_long_only(np.asarray(w, dtype=np.float64), state)
    else:
        assert lower is not None  # the solver's rule needs both bounds
        assert upper is not None
        out = snap_to_bounds(
            np.asarray(w, dtype=np.float64),
            np.asarray(lower, dtype=np.float64),
            np.asarray(upper, dtype=np.float64),
            state,
        )
    snapped, at_lower, at_upper = out
    if fix_budget:
        # Drift of the path off the budget (ill-conditioned working sets with riskless
        # combinations): give it to the largest free weight, as snapping does.
        gap = 1.0 - float(snapped.sum())
        off = ~(at_lower | at_upper)
        if abs(gap) > BUDGET_ATOL and off.any():
            snapped[np.argmax(np.where(off, np.abs(snapped), -1.0))] += gap
    return snapped, at_lower, at_upper


def _clean_output(
    w: ArrayLike, lower: ArrayLike | None, upper: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Apply the output rule: onto finite bounds and zero, within 1e-12 of the largest weight."""
    out = np.array(w, dtype=np.float64)
    tol = SNAP_RTOL * max(1.0, float(np.abs(out).max()) if out.size else 1.0)
    hits = []
    for b in (lower, upper):
        if b is None:
            hits.append(np.zeros(out.shape, dtype=bool))
            continue
        b = np.broadcast_to(np.asarray(b, dtype=np.float64), out.shape)
        hit = np.isfinite(b) & (np.abs(out - b) <= tol)
        out[hit] = b[hit]
        hits.append(hit)
    out[np.abs(out) <= tol] = 0.0
    return out + 0.0, hits[0], hits[1]


def snap_to_bounds(
    w: NDArray[np.float64],
    lo: NDArray[np.float64],
    up: NDArray[np.float64],
    state: NDArray[np.int8] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Clean weights: exact bounds, no rounding dust, no ``-0.0``.

    Assets of the working set at a bound (``state`` ±1) get the bound exactly; free assets
    within ``1e-12`` (relative) of a finite bound are put on it, and what that moves is given
    to the largest free weight so that the budget still holds.

    Parameters
    ----------
    w : ndarray of shape (n,) or (p, n)
    lo, up : ndarray of shape (n,)
    state : ndarray of int8, shape (n,) or (p, n), optional

    Returns
    -------
    w : ndarray, same shape
    at_lower, at_upper : ndarray of bool, same shape
    """
    w = np.array(w, dtype=np.float64)
    fin_lo, fin_up = np.isfinite(lo), np.isfinite(up)
    lo0, up0 = np.where(fin_lo, lo, 0.0), np.where(fin_up, up, 0.0)
    at_lower = fin_lo & (np.abs(w - lo0) <= SNAP_RTOL * np.maximum(1.0, np.abs(lo0)))
    at_upper = fin_up & (np.abs(w - up0) <= SNAP_RTOL * np.maximum(1.0, np.abs(up0))) & ~at_lower
    if state is not None:
        at_lower |= state == -1
        at_upper |= (state == 1) & ~at_lower
    snapped = np.where(at_lower, lo0, np.where(at_upper, up0, w))
    moved = (snapped - w).sum(axis=-1)
    free = ~(at_lower | at_upper)
    big = np.argmax(np.where(free, np.abs(w), -1.0), axis=-1)
    if snapped.ndim == 1:
        if free.any():
            snapped[big] -= moved
    else:  # a portfolio with every asset at a bound (a vertex) keeps its bounds exactly
        snapped[np.arange(snapped.shape[0]), big] -= np.where(free.any(axis=1), moved, 0.0)
    return snapped + 0.0, at_lower, at_upper


def snap_long_only(
    w: NDArray[np.float64], state: NDArray[np.int8]
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """:func:`snap_to_bounds` for the default bounds ``0 ≤ w`` (one or several portfolios)."""
    aw = np.abs(w)
    at_lower = (state == -1) | (aw <= SNAP_RTOL)
    snapped = np.where(at_lower, 0.0, w)
    if w.ndim == 1:
        moved = float(w[at_lower].sum())
        if moved != 0.0 and not at_lower.all():
            snapped[np.argmax(np.where(at_lower, -1.0, aw))] += moved
    else:
        moved = np.where(at_lower, w, 0.0).sum(axis=1)
        big = np.argmax(np.where(at_lower, -1.0, aw), axis=1)
        snapped[np.arange(w.shape[0]), big] += np.where(at_lower.all(axis=1), 0.0, moved)
    return snapped + 0.0, at_lower, np.zeros(w.shape, dtype=bool)
