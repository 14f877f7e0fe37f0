"""Primal-dual active-set method for a single box-constrained QP with a few equalities.

Solves ``min ½ wᵀSw − t·μᵀw`` s.t. ``A w = b``, ``l ≤ w ≤ u`` by guessing the bounds that bind,
solving the KKT system of the guess directly, and correcting the guess by the bounds the
solution violates and the multipliers with the wrong sign (Hintermüller, Ito & Kunisch 2002).
On typical covariance matrices it converges in a handful of iterations, which makes it the
fast path for single portfolios. It has no global convergence guarantee: callers check the
certificate and fall back to the path engine when it fails.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["pdas"]


def pdas(
    S: NDArray[np.float64],
    mu: NDArray[np.float64] | None,
    t: float,
    A: NDArray[np.float64],
    b: NDArray[np.float64],
    lo: NDArray[np.float64],
    up: NDArray[np.float64],
    max_iter: int = 15,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]] | None:
    """Return ``(w, nu, state)`` or ``None`` when the method fails.

    Parameters
    ----------
    S : ndarray of shape (n, n)
    mu : ndarray of shape (n,) or None
        Linear term (times ``t``); None for zero.
    t : float
    A : ndarray of shape (m, n)
        Equality constraints ``A w = b``.
    b : ndarray of shape (m,)
    lo, up : ndarray of shape (n,)

    Returns
    -------
    w : ndarray of shape (n,)
    nu : ndarray of shape (m,)
        Multipliers: ``S w − tμ − Aᵀν = z`` with ``z ≥ 0`` at lower, ``≤ 0`` at upper bounds.
    state : ndarray of int8, shape (n,)
        -1 at lower, +1 at upper, 0 free.
    """
    n = S.shape[0]
    m = A.shape[0]
    state = np.zeros(n, dtype=np.int8)
    lin = np.zeros(n) if mu is None else t * mu
    seen: set[bytes] = set()
    for _ in range(max_iter):
        key = state.tobytes()
        if key in seen:
            return None
        seen.add(key)
        free = np.flatnonzero(state == 0)
        k = free.size
        if k < m:
            return None
        wfix = np.where(state == -1, lo, np.where(state == 1, up, 0.0))
        if not np.isfinite(wfix).all():
            return None
        K = np.zeros((m + k, m + k))
        A_f = A[:, free]
        K[:m, m:] = A_f
        K[m:, :m] = A_f.T
        K[m:, m:] = S[np.ix_(free, free)]
        sw_fix = S @ wfix if (state != 0).any() else np.zeros(n)
        rhs = np.empty(m + k)
        rhs[:m] = b - A @ wfix
        rhs[m:] = lin[free] - sw_fix[free]
        try:
            x = np.linalg.solve(K, rhs)
        except np.linalg.LinAlgError:
            return None
        if not np.isfinite(x).all() or np.abs(x[m:]).max(initial=0.0) > 1e8:
            return None
        w = wfix.copy()
        w[free] = x[m:]
        z = S @ w - lin + A.T @ x[:m]
        tol_w = 1e-13 * np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0.0)))
        tol_z = 1e-12 * max(1.0, float(np.abs(z).max()))
        new = state.copy()
        new[(state == 0) & (w < lo - tol_w)] = -1
        new[(state == 0) & (w > up + tol_w)] = 1
        new[(state == -1) & (z < -tol_z)] = 0
        new[(state == 1) & (z > tol_z)] = 0
        if (new == state).all():
            return w, -x[:m], state
        state = new
    return None
