"""Primal-dual active-set method for a single box-constrained QP with a few equalities.

Solves ``min ½ wᵀSw − linᵀw`` s.t. ``A w = b``, ``l ≤ w ≤ u`` by guessing the bounds that bind,
solving the KKT system of the guess directly, and correcting the guess by the bounds the
solution violates and the multipliers with the wrong sign (Hintermüller, Ito & Kunisch 2002).
On typical covariance matrices it converges in a handful of iterations, which makes it the
fast path for single portfolios. It has no global convergence guarantee: callers check the
certificate and fall back to the path engine when it fails.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from xlfrontier.core._linalg import cho_solve, cholesky

__all__ = ["pdas"]


_BIG = 150  # from this many free assets, Cholesky + Schur complement beats LU on K


def _solve_kkt(S_ff, A_f, b_eff, lin_eff, chol=None, scratch=True):
    """Solve ``[[0, A_f], [A_fᵀ, S_ff]] [y; w] = [b_eff; lin_eff]``; None if singular.

    Large systems use a Cholesky factor of ``S_ff`` (``chol`` when given; otherwise computed
    in place when ``S_ff`` is a ``scratch`` copy) and the small Schur complement
    ``A_f S_ff⁻¹ A_fᵀ``: half the flops of LU on the indefinite KKT matrix.
    """
    m, k = A_f.shape
    if k >= _BIG:
        L = cholesky(S_ff, overwrite=scratch) if chol is None else chol
        if L is not None:
            rhs = np.empty((k, m + 1))
            rhs[:, 0] = lin_eff
            rhs[:, 1:] = A_f.T
            X = cho_solve(L, rhs)
            schur = A_f @ X[:, 1:]
            try:
                y = np.linalg.solve(schur, A_f @ X[:, 0] - b_eff)
            except np.linalg.LinAlgError:
                return None
            out = np.empty(m + k)
            out[:m] = y
            out[m:] = X[:, 0] - X[:, 1:] @ y
            return out
    K = np.zeros((m + k, m + k))
    K[:m, m:] = A_f
    K[m:, :m] = A_f.T
    K[m:, m:] = S_ff
    rhs = np.empty(m + k)
    rhs[:m] = b_eff
    rhs[m:] = lin_eff
    try:
        return np.linalg.solve(K, rhs)
    except np.linalg.LinAlgError:
        return None


def _sub(S, free):
    """``S[free][:, free]``: two cheap takes when small, one allocation when large."""
    if free.size >= _BIG:
        return S[np.ix_(free, free)]
    return S.take(free, 0).take(free, 1)


class _Bordered:
    """``K = [[0, A], [Aᵀ, S]]`` and ``rhs = (b, lin)``, built once for small problems.

    Every iteration's KKT system is then one gather of rows and columns of ``K`` (the
    constraint rows ``0..m-1`` and the free assets), and the multipliers of all assets come
    from one product ``K[m:] @ (y, w) = Aᵀy + Sw``.
    """

    def __init__(self, S, A, b, lin) -> None:
        m, n = A.shape
        self.m = m
        K = np.empty((m + n, m + n))
        K[:m, :m] = 0.0
        K[:m, m:] = A
        K[m:, :m] = A.T
        K[m:, m:] = S
        self.K = K
        rhs = np.empty(m + n)
        rhs[:m] = b
        rhs[m:] = 0.0 if lin is None else lin
        self.rhs = rhs
        self.head = np.arange(m)

    def solve(self, free, rhs=None):
        """``(y, w_F)`` of the system restricted to ``free`` (None: all); None if singular."""
        K, rhs = self.K, self.rhs if rhs is None else rhs
        if free is not None:
            sel = np.concatenate((self.head, free + self.m))
            K = K.take(sel, 0).take(sel, 1)
            rhs = rhs.take(sel)
        try:
            return np.linalg.solve(K, rhs)
        except np.linalg.LinAlgError:
            return None


def pdas(
    S: NDArray[np.float64],
    lin: NDArray[np.float64] | None,
    A: NDArray[np.float64],
    b: NDArray[np.float64],
    lo: NDArray[np.float64],
    up: NDArray[np.float64],
    max_iter: int = 15,
    chol: NDArray[np.float64] | None = None,
    long_only: bool | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]] | None:
    """Return ``(w, nu, state)`` or ``None`` when the method fails.

    Solves ``min ½ wᵀSw − linᵀw`` s.t. ``A w = b``, ``lo ≤ w ≤ up``.

    Parameters
    ----------
    S : ndarray of shape (n, n)
    lin : ndarray of shape (n,) or None
        Linear term; None for zero.
    A : ndarray of shape (m, n)
        Equality constraints ``A w = b``.
    b : ndarray of shape (m,)
    lo, up : ndarray of shape (n,)
    chol : ndarray of shape (n, n), optional
        Lower Cholesky factor of ``S`` (see :mod:`._linalg`), used while every asset is free.
    long_only : bool, optional
        Whether ``lo = 0`` and ``up = +inf`` (worked out when not given).

    Returns
    -------
    w : ndarray of shape (n,)
    nu : ndarray of shape (m,)
        Multipliers: ``S w − lin − Aᵀν = z`` with ``z ≥ 0`` at lower, ``≤ 0`` at upper bounds.
    state : ndarray of int8, shape (n,)
        -1 at lower, +1 at upper, 0 free.
    """
    n = S.shape[0]
    m = A.shape[0]
    # Long-only without caps (the default) keeps every fixed weight at 0: no fixed-part terms.
    if long_only is None:
        long_only = not lo.any() and bool(np.isposinf(up).all())
    small = _Bordered(S, A, b, lin) if n < _BIG else None
    if long_only:
        return _pdas_long_only(S, lin, A, b, max_iter, chol, small)
    state = np.zeros(n, dtype=np.int8)
    tol_w = 1e-13 * np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0.0)))
    lo_t, up_t = lo - tol_w, up + tol_w
    seen: set[bytes] = set()
    free = np.arange(n)
    for it in range(max_iter):
        if it:
            key = state.tobytes()
            if key in seen:
                return None
            seen.add(key)
            free = np.flatnonzero(state == 0)
        k = free.size
        if k < m:
            return None
        if k == n:
            w = np.zeros(n)
            if small is not None:
                x = small.solve(None)
            else:
                x = _solve_kkt(S, A, b, np.zeros(n) if lin is None else lin, chol, scratch=False)
        else:
            w = np.where(state == -1, lo, np.where(state == 1, up, 0.0))
            if not np.isfinite(w).all():
                return None
            if small is not None:
                # Move the fixed part to the right: (b − A w_fix, lin − S w_fix).
                x = small.solve(free, small.rhs - small.K[:, m:] @ w)
            else:
                lin_f = -(S[free] @ w)
                if lin is not None:
                    lin_f += lin[free]
                x = _solve_kkt(_sub(S, free), A[:, free], b - A @ w, lin_f)
        if x is None:
            return None
        y, w_f = x[:m], x[m:]
        big = float(np.abs(w_f).max(initial=0.0))
        if not (big <= 1e8 and np.isfinite(y).all()):  # also catches NaN
            return None
        w[free] = w_f
        z = S @ w + A.T @ y
        if lin is not None:
            z -= lin
        tol_z = 1e-12 * max(1.0, float(np.abs(z).max()))
        is_free = state == 0
        to_lo = is_free & (w < lo_t)
        to_up = is_free & (w > up_t)
        off_lo = (state == -1) & (z < -tol_z)
        off_up = (state == 1) & (z > tol_z)
        off = off_lo | off_up
        if not (to_lo | to_up | off).any():
            return w, -y, state
        state = state.copy()
        state[to_lo] = -1
        state[to_up] = 1
        state[off] = 0
    return None


def _pdas_long_only(S, lin, A, b, max_iter, chol, small):
    """:func:`pdas` for ``0 ≤ w`` (no upper bounds): fixed weights are all zero."""
    n = S.shape[0]
    m = A.shape[0]
    amax = np.maximum.reduce
    fixed = np.zeros(n, dtype=bool)
    seen: set[bytes] = set()
    for it in range(max_iter):
        if it:
            key = fixed.tobytes()
            if key in seen:
                return None
            seen.add(key)
            free = np.flatnonzero(~fixed)
            k = free.size
            if k < m:
                return None
            if small is not None:
                x = small.solve(free)
            else:
                lin_f = np.zeros(k) if lin is None else lin[free]
                x = _solve_kkt(_sub(S, free), A[:, free], b, lin_f)
        else:
            free = None
            if small is not None:
                x = small.solve(None)
            else:
                x = _solve_kkt(S, A, b, np.zeros(n) if lin is None else lin, chol, scratch=False)
        if x is None:
            return None
        y = x[:m]
        if not (float(amax(np.abs(x[m:]), initial=0.0)) <= 1e8 and all(map(math.isfinite, y))):
            return None
        if small is not None:
            yw = np.zeros(m + n)  # (y, w): fixed weights are 0
            if free is None:
                yw[:] = x
            else:
                yw[:m] = y
                yw[m + free] = x[m:]
            w = yw[m:]
            z = small.K[m:] @ yw  # Aᵀy + Sw
        else:
            w = np.zeros(n)
            w[slice(None) if free is None else free] = x[m:]
            z = S @ w + A.T @ y
        if lin is not None:
            z -= lin
        tol_z = 1e-12 * max(1.0, float(amax(np.abs(z))))
        neg = w < -1e-13  # only free weights can be negative
        release = fixed & (z < -tol_z)
        if not (neg | release).any():
            return w, -y, np.where(fixed, -1, 0).astype(np.int8)
        fixed = (fixed | neg) & ~release
    return None
