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
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from xlfrontier.core._linalg import cho_solve, cholesky

__all__ = ["pdas"]


_BIG = 150  # from this many free assets, Cholesky + Schur complement beats LU on K


def _solve_kkt(
    S_ff: NDArray[np.float64],
    A_f: NDArray[np.float64],
    b_eff: NDArray[np.float64],
    lin_eff: NDArray[np.float64],
    chol: NDArray[np.float64] | None = None,
    scratch: bool = True,
) -> NDArray[np.float64] | None:
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


def _sub(S: NDArray[np.float64], free: NDArray[np.intp]) -> NDArray[np.float64]:
    """``S[free][:, free]``: two cheap takes when small, one allocation when large."""
    if free.size >= _BIG:
        return S[np.ix_(free, free)]
    return S.take(free, 0).take(free, 1)


class _KKT:
    """The KKT systems ``[[0, A_F], [A_Fᵀ, S_FF]] (y, w_F) = (b, lin_F)`` of one problem.

    Small problems build ``K = [[0, A], [Aᵀ, S]]`` and ``(b, lin)`` once: every free set's
    system is then one gather of rows and columns of ``K``, and the multipliers of all assets
    one product ``K[m:] @ (y, w)``. Large ones solve through :func:`_solve_kkt` (Cholesky and
    Schur complement) on submatrices of ``S``.
    """

    def __init__(
        self,
        S: NDArray[np.float64],
        A: NDArray[np.float64],
        b: NDArray[np.float64],
        lin: NDArray[np.float64] | None,
        chol: NDArray[np.float64] | None,
    ) -> None:
        m, n = A.shape
        self.S, self.A, self.b, self.chol, self.m = S, A, b, chol, m
        self.lin = np.zeros(n) if lin is None else lin
        self.K: NDArray[np.float64] | None = None
        if n < _BIG:
            K = np.empty((m + n, m + n))
            K[:m, :m] = 0.0
            K[:m, m:] = A
            K[m:, :m] = A.T
            K[m:, m:] = S
            self.K = K
            self.rhs = np.concatenate((b, self.lin))
            self.head = np.arange(m)

    def solve(
        self, free: NDArray[np.intp] | None = None, w_fix: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64] | None:
        """``(y, w_F)`` on the free set (None: all), the other assets at ``w_fix`` (None: 0).

        None when the system is singular.
        """
        m = self.m
        if self.K is not None:
            K = self.K
            # The fixed part moves to the right: (b − A w_fix, lin − S w_fix).
            rhs = self.rhs if w_fix is None else self.rhs - K[:, m:] @ w_fix
            if free is not None:
                sel = np.concatenate((self.head, free + m))
                K = K.take(sel, 0).take(sel, 1)
                rhs = rhs.take(sel)
            try:
                return cast("NDArray[np.float64]", np.linalg.solve(K, rhs))
            except np.linalg.LinAlgError:
                return None
        if free is None:
            return _solve_kkt(self.S, self.A, self.b, self.lin, self.chol, scratch=False)
        b, lin_f = self.b, self.lin[free]
        if w_fix is not None:
            b = b - self.A @ w_fix
            lin_f = lin_f - self.S[free] @ w_fix
        return _solve_kkt(_sub(self.S, free), self.A[:, free], b, lin_f)

    def gradient(self, y: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
        """``Sw + Aᵀy − lin`` for every asset: the bound multipliers ``z``."""
        if self.K is not None:
            yw = np.empty(self.m + w.size)
            yw[: self.m] = y
            yw[self.m :] = w
            z = self.K[self.m :] @ yw
        else:
            z = self.S @ w + self.A.T @ y
        return z - self.lin


def _cycled(seen: set[bytes], guess: NDArray[Any]) -> bool:
    """Whether the working-set ``guess`` came up before (and remember it)."""
    key = guess.tobytes()
    if key in seen:
        return True
    seen.add(key)
    return False


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
    careful: bool = False,
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
    careful : bool
        When the guesses cycle, go on changing one index per iteration (the most violated;
        up to ``max_iter + min(n, 40)`` iterations) instead of giving up; only below 150
        variables, where each iteration's KKT solve is cheap.

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
    kkt = _KKT(S, A, b, lin, chol)
    if long_only:
        return _pdas_long_only(kkt, n, max_iter)
    state = np.zeros(n, dtype=np.int8)
    tol_w = 1e-13 * np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0.0)))
    lo_t, up_t = lo - tol_w, up + tol_w
    seen: set[bytes] = set()
    free = np.arange(n)
    one = False  # one change per iteration, once the guesses cycled
    prev = state
    # One change at a time costs a KKT solve per change: only where those are cheap.
    extra = min(n, 40) if careful and n < _BIG else 0
    for it in range(max_iter + extra):
        if it:
            if not one and _cycled(seen, state):
                if not extra:
                    return None
                one = True
                state = prev
            elif it >= max_iter and not one:
                return None
            free = np.flatnonzero(state == 0)
        k = free.size
        if k < m:
            return None
        if k == n:
            w = np.zeros(n)
            x = kkt.solve()
        else:
            w = np.where(state == -1, lo, np.where(state == 1, up, 0.0))
            if not np.isfinite(w).all():
                return None
            x = kkt.solve(free, w)
        if x is not None:
            y, w_f = x[:m], x[m:]
            big = float(np.abs(w_f).max(initial=0.0))
        if x is None or not (big <= 1e8 and np.isfinite(y).all()):  # also catches NaN
            if extra and it and not one:
                # A singular guess from a full update: step back, one change at a time.
                one, state = True, prev
                seen.discard(state.tobytes())
                continue
            return None
        w[free] = w_f
        z = kkt.gradient(y, w)
        tol_z = 1e-12 * max(1.0, float(np.abs(z).max()))
        is_free = state == 0
        to_lo = is_free & (w < lo_t)
        to_up = is_free & (w > up_t)
        off_lo = (state == -1) & (z < -tol_z)
        off_up = (state == 1) & (z > tol_z)
        off = off_lo | off_up
        if not (to_lo | to_up | off).any():
            return w, -y, state
        prev = state
        state = state.copy()
        if one:
            # The most violated bound or multiplier alone.
            viol = np.where(
                to_lo, lo_t - w, np.where(to_up, w - up_t, np.where(off, np.abs(z), 0.0))
            )
            i = int(np.argmax(viol))
            state[i] = -1 if to_lo[i] else 1 if to_up[i] else 0
            continue
        state[to_lo] = -1
        state[to_up] = 1
        state[off] = 0
    return None


def _pdas_long_only(
    kkt: _KKT, n: int, max_iter: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]] | None:
    """:func:`pdas` for ``0 ≤ w`` (no upper bounds): fixed weights are all zero."""
    m = kkt.m
    amax = np.maximum.reduce
    fixed = np.zeros(n, dtype=bool)
    seen: set[bytes] = set()
    for it in range(max_iter):
        free = None
        if it:
            if _cycled(seen, fixed):
                return None
            free = np.flatnonzero(~fixed)
            if free.size < m:
                return None
        x = kkt.solve(free)
        if x is None:
            return None
        y = x[:m]
        if not (float(amax(np.abs(x[m:]), initial=0.0)) <= 1e8 and all(map(math.isfinite, y))):
            return None
        w = np.zeros(n)
        w[slice(None) if free is None else free] = x[m:]
        z = kkt.gradient(y, w)
        tol_z = 1e-12 * max(1.0, float(amax(np.abs(z))))
        neg = w < -1e-13  # only free weights can be negative
        release = fixed & (z < -tol_z)
        if not (neg | release).any():
            return w, -y, np.where(fixed, -1, 0).astype(np.int8)
        fixed = (fixed | neg) & ~release
    return None
