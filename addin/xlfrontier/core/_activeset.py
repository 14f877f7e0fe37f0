"""Parametric active-set engine: the exact minimum-variance frontier.

Solves the family of quadratic programs, for every risk tolerance ``t``::

    minimise   ½ wᵀΣw − t μᵀw
    subject to 1ᵀw = 1,  l ≤ w ≤ u

whose solutions ``w(t)`` are piecewise affine in ``t`` (Markowitz's critical line algorithm).
``t = 0`` is the global minimum variance (GMV) portfolio; ``t → +∞`` the maximum-return end.

Design
------
The working set is a free set ``F``; every other asset sits at a bound. The KKT matrix of the
free set, ordered ``x = (y, w_F)`` with ``y = −ν`` (ν the budget multiplier)::

    K_F = [[0,   1ᵀ  ],
           [1,  Σ_FF]]

is kept as an explicit inverse, updated by bordering when an asset enters (O(k²)) and by a
rank-one downdate when one leaves (O(k²)), and refactorised from scratch periodically. ``K_F``
stays invertible even when ``Σ_FF`` is singular (a riskless asset, say); when an entering asset
would make it singular (a duplicated or riskless asset), the step is a zero-curvature move at
fixed ``t`` along which the return changes at constant objective, continued until a bound
blocks it. Along each segment ``x(t) = x0 + t·x1`` and the bound multipliers
``z(t) = Σw − tμ + y·1 = z0 + t·z1`` are affine, so the next event (a free asset reaching a
bound, or a multiplier changing sign) is found by a ratio test.

General linear constraints (groups, exposures) fit the same scheme: they are further rows of
``A`` in ``K_F`` (``A = 1ᵀ`` without them). The caller (:class:`~._path.PathSolver`) gives an
inequality row ``lo ≤ aᵀw ≤ hi`` a slack variable ``s`` with ``aᵀw − s = 0`` and the bounds
``lo ≤ s ≤ hi``, so a row reaching its limit is a slack reaching a bound and a row leaving it
is a slack's multiplier changing sign: the events, the ratio test and the bordering updates are
the ones of the bounds. With ``r`` rows the blocks become ``[[0, A_F], [A_Fᵀ, Σ_FF]]``; a free
set of ``r`` variables is pinned by the rows (its weights do not move with ``t``).

Degenerate corners (several events at one ``t``: riskless assets at equal caps, tied returns,
copies of an asset) are resolved by a least-index rule (:func:`_least_index_event`):
of the tied events the one of least label (asset index; constraint rows would come after the
assets) is processed, and zero-curvature exchanges block on the least-index tied asset. This
is the least-index criss-cross method on the corner's direction problem, finite for the KKT
matrix of a PSD ``Σ``, so the tracer cannot cycle.

The engine works on a scaled problem (``Σ/s_Σ``, centred and scaled ``μ``), so its tolerances
are absolute numbers near machine precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from xlfrontier.core._pdas import pdas
from xlfrontier.exceptions import InfeasibleError, SolverError, UnboundedError

__all__ = ["Corner", "Engine"]

_REFRESH_EVERY = 32  # working-set changes between refactorisations of K_F
_DIRECT_SW = 20_000  # corners compute Σw as Σ_{:,F} w_F while k·n is at most this


class Corner(NamedTuple):
    """A point on the solution path (scaled units).

    Attributes
    ----------
    t : float
        Scaled risk tolerance at this point.
    w : ndarray of shape (n,)
        Weights.
    sw : ndarray of shape (n,)
        ``Σ̂ w`` (scaled covariance times weights), for variances and multipliers.
    state : ndarray of int8, shape (n,)
        -1 at lower bound, +1 at upper bound, 0 free, on the segment that *starts* here.
    y : ndarray of shape (r,) or None
        Row multipliers ``y`` (the stationarity is ``Σ̂w − tμ̂ + Aᵀy = z``).
    """

    t: float
    w: NDArray[np.float64]
    sw: NDArray[np.float64]
    state: NDArray[np.int8]
    y: NDArray[np.float64] | None = None

    @property
    def free(self) -> NDArray[np.bool_]:
        """Assets free (between bounds) on the segment that starts at this corner."""
        free: NDArray[np.bool_] = self.state == 0
        return free


class Engine:
    """Active-set state for the scaled problem; see the module docstring.

    Parameters
    ----------
    cov : ndarray of shape (n, n)
        Scaled covariance (largest diagonal entry 1).
    mu : ndarray of shape (n,)
        Scaled expected returns (centred, largest absolute value 1, or all zero).
    lower, upper : ndarray of shape (n,)
        Bounds (may be infinite).
    rows, rhs : ndarray of shape (r, n) and (r,), optional
        Equality rows ``A w = b`` with the budget first (default: the budget ``1ᵀw = 1`` only);
        they must have full row rank.
    """

    def __init__(
        self,
        cov: NDArray[np.float64],
        mu: NDArray[np.float64],
        lower: NDArray[np.float64],
        upper: NDArray[np.float64],
        rows: NDArray[np.float64] | None = None,
        rhs: NDArray[np.float64] | None = None,
    ) -> None:
        n = mu.shape[0]
        self.n = n
        if rows is None:
            rows, rhs = np.ones((1, n)), np.ones(1)
        assert rhs is not None  # given with rows
        self.E = rows
        self.e = rhs
        r = rows.shape[0]
        self.r = r
        self.S = cov
        self.mu = mu
        self.lo = lower
        self.up = upper
        # Which kinds of bound exist: skips the event tests that cannot fire (long-only: no caps).
        self._any_up = bool(np.isfinite(upper).any())
        self._any_lo = bool(np.isfinite(lower).any())
        self.Minv = np.zeros((n + r, n + r))  # inverse of K_F in its leading (r+k) block
        # K_F's rows extended to every asset: Ra[:r] = A (the budget first), Ra[r+p] =
        # Σ[free[p]]; then x @ Ra[:r+k] gives Aᵀy + Σ_{:,F} w_F for all assets in one product.
        self.Ra = np.zeros((n + r, n))
        self.Ra[:r] = rows
        self.R = self.Ra[r:]  # a view: R[p] = Σ[free[p]]
        # Right-hand sides of K_F x = b, as rows: (b − A wfix, −(Σ wfix)_F) and (0, μ_F).
        self.Bt = np.zeros((2, n + r))
        self._rhs_stale = False  # fixed values moved: Bt[0] needs a refresh
        self._wfix_zero = True  # every fixed weight is 0 (long-only): Σ wfix = 0
        self._idx = np.zeros(n, dtype=np.intp)  # free assets as an index array, in order
        self.free: list[int] = []
        self.state = np.full(n, -1, dtype=np.int8)
        self.wfix = np.zeros(n)  # values of the assets at a bound (0 for free ones)
        self.sw_fix = np.zeros(n)  # Σ @ wfix
        self.budget = rhs.astype(np.float64)  # b − A wfix: what the free assets must meet
        self._changes = 0
        self.iterations = 0
        # Riskless, budget-neutral, zero-return directions among the unbounded assets (copies
        # of an asset): moving along them changes nothing, see start_feasible.
        self.null_dirs: list[NDArray[np.float64]] = []

    # ------------------------------------------------------------------ working set
    def _set_fixed(self, i: int, value: float, side: int) -> None:
        old = self.wfix[i]
        if value != old:
            self.sw_fix += self.S[:, i] * (value - old)
            self.budget -= self.E[:, i] * (value - old)
            self._rhs_stale = True
            if value != 0.0:
                self._wfix_zero = False
        self.wfix[i] = value
        self.state[i] = side

    def _sync(self) -> None:
        """Rebuild the index array and right-hand sides from ``free``, ``wfix`` and ``sw_fix``."""
        k, r = len(self.free), self.r
        idx = self._idx[:k]
        idx[:] = self.free
        self.Bt[0, :r] = self.budget
        self.Bt[0, r : r + k] = -self.sw_fix[idx]
        self.Bt[1, :r] = 0.0
        self.Bt[1, r : r + k] = self.mu[idx]
        self._rhs_stale = False
        self._wfix_zero = not self.wfix.any()

    def _border(self, i: int) -> tuple[NDArray[np.float64], float, float]:
        """Return ``v = K_F⁻¹ k_i``, the Schur complement ``s`` and its noise scale."""
        k = len(self.free) + self.r
        kv = self.Ra[:k, i]  # (A_i, Σ_Fi)
        v = self.Minv[:k, :k] @ kv
        s = self.S[i, i] - kv @ v
        # |v| bounds the rounding of v itself: with a riskless combination in the free set
        # both S_ii and kᵢᵀv may vanish while K_F⁻¹ (so v) is of order one.
        noise = 1e-11 * (self.S[i, i] + float(np.abs(kv) @ np.abs(v)) + float(np.abs(v).max()))
        return v, float(s), noise

    def add(self, i: int, v: NDArray[np.float64] | None = None, s: float | None = None) -> None:
        """Free asset ``i`` (its Schur complement must be safely positive)."""
        if v is None or s is None:
            v, s, _ = self._border(i)
        k = len(self.free)
        q = k + self.r  # the new row/column of K_F⁻¹
        M = self.Minv
        vs = v / s
        M[:q, :q] += np.outer(v, vs)
        M[:q, q] = -vs
        M[q, :q] = -vs
        M[q, q] = 1.0 / s
        self.Ra[q] = self.S[i]
        self.Bt[0, q] = -self.sw_fix[i]
        self.Bt[1, q] = self.mu[i]
        self._idx[k] = i
        self.free.append(i)
        self._set_fixed(i, 0.0, 0)
        self._after_change()

    def remove(self, p: int, value: float, side: int) -> None:
        """Fix the free asset at position ``p`` at ``value`` (a bound, ``side`` = ∓1)."""
        k = len(self.free)
        last = k - 1
        i = self.free[p]
        q, r = p + self.r, k + self.r - 1  # row/column of the asset in K_F⁻¹, and the last one
        Mk = self.Minv[: r + 1, : r + 1]
        piv = Mk[q, q]
        if piv == 0.0:
            raise SolverError("singular working set while removing an asset")
        # Rank-one downdate eliminating q; the last row/column then moves into its place
        # (what is left beyond the new leading block is never read).
        Mk -= Mk[:, q, None] * (Mk[q] / piv)
        if q != r:
            Mk[q] = Mk[r]
            Mk[:, q] = Mk[:, r]
            self.Ra[q] = self.Ra[r]
            self.Bt[:, q] = self.Bt[:, r]
            self.free[p] = self.free[last]
            self._idx[p] = self._idx[last]
        self.free.pop()
        self._set_fixed(i, value, side)
        self._after_change()

    def _after_change(self) -> None:
        self._changes += 1
        self.iterations += 1
        if len(self.free) == self.r:
            # The rows pin the free assets: drop the rounding of the downdates, which would
            # give them a slope in t (drift on long segments).
            if self.r == 1:  # K_F of one asset has the exact inverse [[-σ, 1], [1, 0]]
                i = self.free[0]
                self.Minv[:2, :2] = [[-self.S[i, i], 1.0], [1.0, 0.0]]
            else:
                self._reinvert()
        # Refactorising costs O(k³): amortise it over at least k updates of O(k²).
        if self._changes >= max(_REFRESH_EVERY, len(self.free)):
            self.refactor()

    def _reinvert(self) -> None:
        """Recompute ``K_F⁻¹`` from ``Σ`` and the rows (the free set's ``R`` rows are current)."""
        k, r = len(self.free), self.r
        idx = np.asarray(self.free, dtype=np.intp)
        K = np.zeros((r + k, r + k))
        K[:r, r:] = self.E[:, idx]
        K[r:, :r] = K[:r, r:].T
        K[r:, r:] = self.R[:k][:, idx]
        try:
            self.Minv[: r + k, : r + k] = np.linalg.inv(K)
        except np.linalg.LinAlgError as err:
            raise SolverError("singular working set") from err

    def refactor(self) -> None:
        """Recompute ``K_F⁻¹`` and the fixed-asset products from scratch."""
        self._reinvert()
        self.sw_fix = self.S @ self.wfix
        self.budget = self.e - self.E @ self.wfix
        self._changes = 0
        self._sync()

    # ------------------------------------------------------------------ solutions
    def _solve(self) -> tuple[NDArray[np.float64], ...]:
        """:meth:`solve` with ``x`` as one (2, k+1) array: rows ``x0`` and ``x1``."""
        k1 = len(self.free) + self.r
        if self._rhs_stale:
            self._sync()
        # As K_F⁻¹ b, not bᵀ K_F⁻¹: the updates keep K_F K_F⁻¹ = I (so the budget row) tighter.
        x = (self.Minv[:k1, :k1] @ self.Bt[:, :k1].T).T
        zt = x @ self.Ra[:k1]  # (2, n): y + Σ_{:,F} w_F for both parts
        z0 = zt[0] if self._wfix_zero else zt[0] + self.sw_fix
        return x, z0, zt[1] - self.mu

    def solve(self) -> tuple[NDArray[np.float64], ...]:
        """Affine solution on the current free set.

        Returns
        -------
        x0, x1 : ndarray of shape (k+1,)
            ``(y, w_F)`` at ``t`` is ``x0 + t·x1`` (``y`` has one entry per row, ``r`` in all).
        z0, z1 : ndarray of shape (n,)
            Multipliers ``z(t) = Σw(t) − tμ + Aᵀy(t)`` for every asset (≈0 on free ones).
        """
        x, z0, z1 = self._solve()
        return x[0], x[1], z0, z1

    def refine(
        self,
        x0: NDArray[np.float64],
        x1: NDArray[np.float64],
        z0: NDArray[np.float64],
        z1: NDArray[np.float64],
    ) -> tuple[NDArray[np.float64], ...]:
        """One step of iterative refinement of :meth:`solve`'s output (same layout).

        A solution through an explicit inverse leaves residuals of order ``eps·cond(K_F)``;
        one correction through the same inverse brings them down to rounding. The residuals
        are at hand: the budget rows and the multipliers of the free assets.
        """
        k, m = len(self.free), self.r
        idx = self._idx[:k]
        E_f = self.E[:, idx]
        r = np.empty((2, k + m))
        r[0, :m] = self.budget - E_f @ x0[m:]
        r[1, :m] = -(E_f @ x1[m:])
        r[0, m:] = -z0[idx]
        r[1, m:] = -z1[idx]
        dx = (self.Minv[: k + m, : k + m] @ r.T).T
        dz = dx[:, m:] @ self.R[:k] + dx[:, :m] @ self.E
        return x0 + dx[0], x1 + dx[1], z0 + dz[0], z1 + dz[1]

    def residual(self) -> float:
        """Relative residual of the current KKT solution, recomputed from ``Σ`` (a check)."""
        k, m = len(self.free), self.r
        if not k:
            return 0.0
        idx = self._idx[:k]
        x, _, _ = self._solve()
        rhs = self.Bt[:, : k + m]
        S_ff = self.R[:k, idx]
        E_f = self.E[:, idx]
        r_w = x[:, m:] @ S_ff + x[:, :m] @ E_f - rhs[:, m:]  # (2, k); S_ff is symmetric
        r_b = x[:, m:] @ E_f.T - rhs[:, :m]
        scale = (
            1.0
            + np.abs(x).max(axis=1) * (1.0 + float(np.abs(S_ff).max()) + float(np.abs(E_f).max()))
            + np.abs(rhs[:, m:]).max(axis=1)
        )
        res = np.maximum(np.abs(r_w).max(axis=1), np.abs(r_b).max(axis=1))
        return float((res / scale).max())

    def weights(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Full weight vector for the free-set solution ``x`` (``x = x0 + t·x1``)."""
        w: NDArray[np.float64] = self.wfix.copy()
        if self.free:
            w[np.asarray(self.free, dtype=np.intp)] = x[self.r :]
        return w

    def corner(
        self,
        t: float,
        x0: NDArray[np.float64],
        x1: NDArray[np.float64],
        z0: NDArray[np.float64],
        z1: NDArray[np.float64],
    ) -> Corner:
        """Snapshot the path at ``t`` on the current segment."""
        k, r = len(self.free), self.r
        w = self.wfix.copy()
        wf = x0[r:] + t * x1[r:]
        w[self._idx[:k]] = wf
        y = x0[:r] + t * x1[:r]
        if k * self.n <= _DIRECT_SW:  # one small product
            sw = wf @ self.R[:k]
            if not self._wfix_zero:
                sw += self.sw_fix
        elif r == 1:  # O(n) from the multipliers: Σw = z − y + tμ on every asset
            sw = (z0 - x0[0]) + t * (z1 + self.mu - x1[0])
        else:
            sw = (z0 + t * (z1 + self.mu)) - y @ self.E
        return Corner(t, w, sw, self.state.copy(), y)

    # ------------------------------------------------------------------ start
    def start_feasible(self) -> NDArray[np.float64]:
        """Put every asset at a bound except a budget absorber; return the feasible weights.

        Assets are moved off their bounds in increasing order of variance, so that the start
        is near the minimum-variance portfolio. Assets without any bound are free, except one
        that would make ``K_F`` singular: then ``d = e_i − (its combination of free assets)`` is
        a riskless, budget-neutral direction along which the weights could move without limit.
        If it changes the return (an arbitrage) the problem is unbounded; otherwise asset ``i``
        stays at 0 outside ``K_F`` (state 0: it is not at a bound) and ``d`` is recorded in
        :attr:`null_dirs`, since the split along it is arbitrary.

        Raises
        ------
        UnboundedError
            When unbounded assets form a riskless combination with a nonzero return.
        InfeasibleError
            With general rows (``r > 1``), when no point satisfies them and the bounds.
        """
        if self.r > 1:
            return self._start_vertex()
        lo, up, n = self.lo, self.up, self.n
        both_inf = ~np.isfinite(lo) & ~np.isfinite(up)
        w = np.where(np.isfinite(lo), lo, np.where(np.isfinite(up), up, 0.0))
        order = np.argsort(np.diag(self.S), kind="stable")
        unbounded = [int(i) for i in order if both_inf[i]]
        rest = 1.0 - float(w.sum())
        if unbounded:
            absorber = unbounded[0]
            w[absorber] += rest
        else:
            absorber = -1
            for i in order:
                i = int(i)
                room = (up[i] - w[i]) if rest > 0 else (lo[i] - w[i])
                step = rest if abs(room) >= abs(rest) else room
                w[i] += step
                rest -= step
                absorber = i
                if abs(room) > abs(step) or rest == 0.0:
                    break
        self.wfix[:] = 0.0
        for i in range(n):
            if i != absorber and not both_inf[i]:
                self.wfix[i] = w[i]
                self.state[i] = -1 if w[i] == lo[i] else 1
        self.sw_fix = self.S @ self.wfix
        self.budget = np.array([1.0 - float(self.wfix.sum())])
        w[absorber] += float(self.budget[0]) - float(w[absorber]) - float(w[unbounded[1:]].sum())
        self.free = []
        self.Minv[:] = 0.0
        # K_F for one free asset: [[0, 1], [1, σ]] has inverse [[-σ, 1], [1, 0]].
        self.Minv[0, 0] = -self.S[absorber, absorber]
        self.Minv[0, 1] = self.Minv[1, 0] = 1.0
        self.R[0] = self.S[absorber]
        self.free.append(absorber)
        self.state[absorber] = 0
        self.wfix[absorber] = 0.0
        self._sync()
        for i in unbounded[1:]:
            v, s, noise = self._border(i)
            if s > noise:
                self.add(i, v, s)
                continue
            self._riskless_direction(i, v)
        return w

    def _riskless_direction(self, i: int, v: NDArray[np.float64]) -> None:
        """Record ``d = e_i − (i's combination of free variables)``, riskless along the rows.

        Variable ``i`` (no bound at all) stays out of ``K_F`` at its value (state 0), since the
        split along ``d`` is arbitrary; a ``d`` that changes the return is an arbitrage.

        Raises
        ------
        UnboundedError
            When ``d`` earns a return.
        """
        d = np.zeros(self.n)
        d[i] = 1.0
        d[self.free] = -v[self.r :]
        if abs(self.mu @ d) > 1e-11 * float(np.abs(self.mu) @ np.abs(d)):
            raise UnboundedError(
                "a riskless combination of assets earns a positive return (arbitrage): "
                "the optimum is unbounded; add bounds or check cov"
            )
        self.null_dirs.append(d)
        self.state[i] = 0

    def _start_vertex(self) -> NDArray[np.float64]:
        """:meth:`start_feasible` with general rows: a vertex of the feasible set by an LP.

        HiGHS' simplex gives a basic point: at most ``r`` variables off their bounds. They
        form the free set, completed to ``r`` columns of full rank by a pivoted QR of the
        rows (a degenerate vertex has fewer); every other variable sits at a bound, so
        ``K_F`` (its row block square and invertible) is invertible whatever ``Σ_FF``.
        """
        from scipy.linalg import qr
        from scipy.optimize import linprog

        lo, up, n, r = self.lo, self.up, self.n, self.r
        bounds = np.column_stack(
            [np.where(np.isfinite(lo), lo, np.nan), np.where(np.isfinite(up), up, np.nan)]
        )
        sol = linprog(
            np.zeros(n),
            A_eq=self.E,
            b_eq=self.e,
            bounds=[(None if np.isnan(a) else a, None if np.isnan(b) else b) for a, b in bounds],
            method="highs-ds",
        )
        if sol.status != 0 or sol.x is None:
            raise InfeasibleError("the limits cannot all hold together", "constraints")
        w = np.asarray(sol.x, dtype=np.float64)
        tol = 1e-9 * np.maximum(1.0, np.abs(w))
        at_lo = np.isfinite(lo) & (np.abs(w - np.where(np.isfinite(lo), lo, 0.0)) <= tol)
        at_up = np.isfinite(up) & (np.abs(w - np.where(np.isfinite(up), up, 0.0)) <= tol) & ~at_lo
        inside = np.flatnonzero(~(at_lo | at_up))
        # The free set: the variables off their bounds first, then the most independent of
        # the rest, until the rows restricted to it have full rank r.
        _, _, piv_in = (
            qr(self.E[:, inside], mode="economic", pivoting=True)
            if inside.size
            else (None, None, np.empty(0, dtype=np.intp))
        )
        basis = [int(inside[j]) for j in piv_in[: min(r, inside.size)]]
        if len(basis) < r:
            rest = np.setdiff1d(np.arange(n), basis)
            E_b = self.E[:, basis]
            # Project the candidates off the span of the chosen columns; pivot on what is left.
            if basis:
                q_b = np.linalg.qr(E_b)[0]
                cand = self.E[:, rest] - q_b @ (q_b.T @ self.E[:, rest])
            else:
                cand = self.E[:, rest]
            _, _, piv = qr(cand, mode="economic", pivoting=True)
            basis += [int(rest[j]) for j in piv[: r - len(basis)]]
        if np.linalg.matrix_rank(self.E[:, basis]) < r:
            raise SolverError("the constraint rows are linearly dependent")
        w[at_lo] = lo[at_lo]
        w[at_up] = up[at_up]
        self.state[:] = np.where(at_up, 1, -1).astype(np.int8)
        self.wfix = np.where(at_up, up, np.where(at_lo, lo, 0.0))
        self.wfix[basis] = 0.0
        self.state[basis] = 0
        # Variables off their bounds beyond the basis (a vertex has none but for rounding of
        # free, unbounded variables) join below when their Schur complement allows it.
        extra = [int(i) for i in inside if i not in set(basis)]
        self.free = list(basis)
        self.R[:r] = self.S[basis]
        self.wfix[extra] = w[extra]
        self.refactor()
        w = self.weights(self._solve()[0][0])
        for i in extra:
            if np.isfinite(lo[i]) or np.isfinite(up[i]):
                self.state[i] = -1 if np.isfinite(lo[i]) else 1
                continue
            v, s, noise = self._border(i)
            if s > noise:
                self.add(i, v, s)
                continue
            self._riskless_direction(i, v)
        return self.weights(self._solve()[0][0])

    def warm_start(self, max_iter: int = 12) -> NDArray[np.float64] | None:
        """Guess the GMV working set by primal-dual active-set iterations (Hintermüller et al.).

        Each iteration solves the KKT system of the guessed free set directly; the guess is then
        corrected by the bounds the solution violates and the multipliers with the wrong sign.
        Converges in a few iterations on typical covariance matrices; on success the engine
        holds the optimal working set at ``t = 0`` and the weights are returned, otherwise
        ``None`` (the caller falls back to the primal method).
        """
        S, lo, up = self.S, self.lo, self.up
        out = pdas(S, None, self.E, self.e, lo, up, max_iter=max_iter)
        if out is None:
            return None
        w, _, state = out
        free = np.flatnonzero(state == 0)
        k = free.size
        if k < self.r:
            return None
        self.free = [int(i) for i in free]
        self.state = state
        self.wfix = np.where(state == -1, lo, np.where(state == 1, up, 0.0))
        self.R[:k] = S[free]
        try:
            self.refactor()
        except SolverError:
            return None
        # A (nearly) singular working set gives a consistent but meaningless inverse;
        # its size gives it away (K_F has entries of order one).
        if float(np.abs(self.Minv[: k + self.r, : k + self.r]).max()) > 1e10:
            return None
        return w

    # ------------------------------------------------------------------ fixed t
    def solve_at(self, t: float, w: NDArray[np.float64], max_iter: int | None = None) -> None:
        """Primal active-set method for the QP at fixed ``t``, from the feasible point ``w``.

        On return the working set is optimal at ``t`` (its KKT point satisfies the bounds and
        the multiplier signs).
        """
        max_iter = max_iter or 10 * self.n + 100
        lo, up = self.lo, self.up
        # Most violated multiplier first (few iterations); after a degenerate (zero-length)
        # step, least index first for entering and blocking assets (Bland), which cannot cycle.
        bland = False
        for _ in range(max_iter):
            x0, x1, z0, z1 = self.solve()
            x = x0 + t * x1
            idx = np.asarray(self.free, dtype=np.intp)
            target = x[self.r :]
            cur = w[idx]
            p = target - cur
            alpha, block, bval, bside = _ratio(
                cur, p, lo[idx], up[idx], labels=idx if bland else None
            )
            if alpha < 1.0 and len(self.free) > self.r:  # pinned assets only absorb rounding
                bland |= alpha == 0.0
                w[idx] = cur + alpha * p
                w[idx[block]] = bval
                self.remove(block, bval, bside)
                continue
            w[idx] = target
            z = z0 + t * z1
            scale = 1e-12 * max(1.0, float(np.abs(z).max()))
            viol = np.where(self.state == -1, -z, np.where(self.state == 1, z, 0.0))
            i = int(np.argmax(viol))
            if bland and viol[i] > scale:
                i = int(np.flatnonzero(viol > scale)[0])
            if viol[i] <= scale:
                if self._changes:
                    # Updates through nearly singular working sets leave rounding in K_F⁻¹
                    # that the traced path would inherit: hand over a fresh inverse.
                    self.refactor()
                return
            v, s, noise = self._border(i)
            if s > noise:
                self.add(i, v, s)
                continue
            # Zero curvature: move along the null direction until a bound blocks.
            self._null_step(i, v, w)
        raise SolverError("active-set method did not converge (cycling)")

    def _null_step(
        self,
        i: int,
        v: NDArray[np.float64],
        w: NDArray[np.float64],
        record: Callable[[NDArray[np.float64], int], None] | None = None,
    ) -> None:
        """Move asset ``i`` off its bound along zero-curvature directions; update ``w``.

        Ends with ``i`` free (once the working set allows it) or at its opposite bound.
        """
        lo, up = self.lo, self.up
        sgn = 1.0 if self.state[i] == -1 else -1.0
        side = int(self.state[i])
        for _ in range(self.n + 1):
            if record is not None:
                record(w, i)  # a kink of the path at constant t
            idx = np.asarray(self.free, dtype=np.intp)
            d_f = -v[self.r :] * sgn
            alpha_f, block, bval, bside = _ratio(
                w[idx], d_f, lo[idx], up[idx], cap=np.inf, labels=idx
            )
            room = (up[i] - w[i]) if sgn > 0 else (w[i] - lo[i])
            if not np.isfinite(min(alpha_f, room)):
                raise UnboundedError(
                    "a riskless combination of assets earns a positive return (arbitrage): "
                    "the optimum is unbounded; add bounds or check cov"
                )
            if room <= alpha_f:
                w[idx] += room * d_f
                w[i] = up[i] if sgn > 0 else lo[i]
                self._set_fixed(i, float(w[i]), 1 if sgn > 0 else -1)
                return
            w[idx] += alpha_f * d_f
            w[idx[block]] = bval
            w[i] += sgn * alpha_f
            q = block + self.r
            piv = self.Minv[q, q]
            if len(self.free) == self.r or abs(piv) <= 1e-12 * float(np.abs(self.Minv[q]).max()):
                # Swap the blocking asset for i when removing it first would leave K_F
                # singular (a pinned free set, or rows that need it): with i's zero
                # curvature the exchange is invertible (its determinant ratio is v_q² ≠ 0).
                # K_F of one asset, [[0, 1], [1, σ]], has the inverse [[-σ, 1], [1, 0]].
                self._set_fixed(self.free[block], bval, bside)
                self.free[block] = i
                self.R[block] = self.S[i]
                if self.r == 1:
                    self.Minv[:2, :2] = [[-self.S[i, i], 1.0], [1.0, 0.0]]
                else:
                    self._reinvert()
                self._set_fixed(i, 0.0, 0)
                self._sync()
                return
            self.remove(block, bval, bside)
            self._set_fixed(i, float(w[i]), side)  # interior for now: freed just below
            v, s, noise = self._border(i)
            if s > noise:
                self.add(i, v, s)
                return
        raise SolverError("degenerate step did not terminate")

    # ------------------------------------------------------------------ path
    def trace(
        self,
        t0: float,
        stop: Callable[[Corner], bool] | None = None,
        max_events: int | None = None,
    ) -> list[Corner]:
        """Follow the path from ``t0`` upwards; return the corners (first one at ``t0``).

        Parameters
        ----------
        t0 : float
            Start; the working set must be optimal there.
        stop : callable, optional
            ``stop(corner) -> bool``: end early once it returns True.
        max_events : int, optional
            Safety cap on working-set changes.
        """
        max_events = max_events or 20 * self.n + 200
        t = t0
        x, z0, z1 = self._solve()
        corners = [self.corner(t, x[0], x[1], z0, z1)]
        err = np.seterr(divide="ignore", invalid="ignore")
        try:
            return self._trace(t, x, z0, z1, corners, stop, max_events)
        finally:
            np.seterr(**err)

    def _trace(
        self,
        t: float,
        x: NDArray[np.float64],
        z0: NDArray[np.float64],
        z1: NDArray[np.float64],
        corners: list[Corner],
        stop: Callable[[Corner], bool] | None,
        max_events: int,
    ) -> list[Corner]:
        lo, up, nr = self.lo, self.up, self.r
        any_up, any_lo = self._any_up, self._any_lo
        lo_zero = any_lo and not lo.any()  # long-only: the lower bound test is −w/c
        inf = np.inf
        # Fresh ±inf vectors by copying (np.full costs more than the copy on small sizes).
        pos_inf, neg_inf = np.full(self.n, inf), np.full(self.n, -inf)
        amax = np.maximum.reduce
        for _ in range(max_events):
            if stop is not None and stop(corners[-1]):
                return corners
            k = len(self.free)
            idx = self._idx[:k]
            wf0, cf = x[0, nr:], x[1, nr:]
            if k == nr:
                cf = np.zeros(k)  # free assets pinned by the rows: rounding only
            tol_c = 1e-12 * max(1.0, float(amax(np.abs(cf))))
            tol_z = 1e-12 * max(1.0, float(amax(np.abs(z1))))
            st = self.state
            # The first event: a free asset reaching a bound or an asset at a bound whose
            # multiplier changes sign. Only the kinds of bound that exist are tested (long-only:
            # lower bounds only). Candidates that cannot happen get t = inf.
            end = None
            # Per kind: (first event time, kind, its position, event times or their
            # negation, negated?).
            events = []
            if any_up:
                c = np.divide(up[idx] - wf0, cf, out=pos_inf[:k].copy(), where=cf > tol_c)
                j = int(c.argmin())
                events.append((float(c[j]), 0, j, c, False))
            if any_lo:
                down = cf < -tol_c
                if lo_zero:
                    c = np.divide(wf0, cf, out=neg_inf[:k].copy(), where=down)
                    j = int(c.argmax())
                    events.append((-float(c[j]), 1, j, c, True))
                else:
                    c = np.divide(lo[idx] - wf0, cf, out=pos_inf[:k].copy(), where=down)
                    j = int(c.argmin())
                    events.append((float(c[j]), 1, j, c, False))
            leaving = (st == -1) & (z1 < -tol_z)
            if any_up:
                leaving |= (st == 1) & (z1 > tol_z)
            c = np.divide(z0, z1, out=neg_inf.copy(), where=leaving)
            j = int(c.argmax())
            events.append((-float(c[j]), 2, j, c, True))
            t_e, kind, pos, _, _ = min(events, key=_first)
            if not t_e < inf:
                return corners  # no further event: the last corner is the end of the path
            if t_e <= t + 1e-9 * max(1.0, abs(t)):
                # No step: a degenerate corner, where the order of the events matters. (On
                # arriving at a corner any event may go first: the rule starts from there.)
                t_e = max(t_e, t)
                kind, pos = _least_index_event(t_e, events, wf0, cf, z0, z1, idx)
            if kind < 2:
                value = up[idx[pos]] if kind == 0 else lo[idx[pos]]
                self.remove(pos, value, 1 if kind == 0 else -1)
            else:
                i = pos
                v, s, noise = self._border(i)
                if s > noise:
                    # The corner is the end of the old segment, where i sits exactly on its
                    # bound; the new working set's solution at t_e can be ill-conditioned in t.
                    end = self.corner(t_e, x[0], x[1], z0, z1)
                    self.add(i, v, s)
                else:
                    # Zero-curvature move at t = t_e: record every kink, with i (and the
                    # assets still free) between bounds on the segments in between.
                    w = self.corner(t_e, x[0], x[1], z0, z1).w.copy()

                    y_e = x[0, :nr] + t_e * x[1, :nr]

                    def record(
                        w_now: NDArray[np.float64],
                        i_moving: int,
                        t_now: float = t_e,
                        y_now: NDArray[np.float64] = y_e,
                    ) -> None:
                        state = self.state.copy()
                        state[i_moving] = 0
                        corners.append(Corner(t_now, w_now.copy(), self.S @ w_now, state, y_now))

                    self._null_step(i, v, w, record)
            t = t_e
            x, z0, z1 = self._solve()
            # The rows are a cheap O(rk) probe of drift in the updated inverse.
            if nr == 1:
                s0, s1 = x[:, 1:].sum(axis=1).tolist()
                drift = abs(s0 - self.budget[0]) + abs(s1) * max(1.0, abs(t))
            else:
                b = x[:, nr:] @ self.E[:, self._idx[: len(self.free)]].T
                drift = float(amax(np.abs(b[0] - self.budget))) + float(amax(np.abs(b[1]))) * max(
                    1.0, abs(t)
                )
            # (A product over k terms carries rounding of order √k·eps; the budget's sum,
            # pairwise, less.)
            tol_d = 1e-14 if nr == 1 else 1e-14 * np.sqrt(len(self.free))
            if drift > tol_d and drift > tol_d * (1.0 + float(amax(np.abs(x[0, nr:])))):
                self.refactor()
                x0, x1, z0, z1 = self.refine(*self.solve())
                x = np.array([x0, x1])
            if end is not None:  # the end of the old segment, with the new working set
                corners.append(Corner(t, end.w, end.sw, self.state.copy(), end.y))
            else:
                corners.append(self.corner(t, x[0], x[1], z0, z1))
        raise SolverError("frontier tracing did not terminate (cycling)")


# One kind of event: (first time, kind, its position, every candidate's time, negated).
_Event = tuple[float, int, int, NDArray[np.float64], bool]


def _least_index_event(
    t_e: float,
    events: list[_Event],
    wf0: NDArray[np.float64],
    cf: NDArray[np.float64],
    z0: NDArray[np.float64],
    z1: NDArray[np.float64],
    idx: NDArray[np.intp],
) -> tuple[int, int]:
    """Pick the event at ``t_e`` by the least-index (Bland-type) rule; ``(kind, pos)``.

    Several events may fall at ``t_e`` (a degenerate corner: an asset at a bound with a zero
    multiplier, several assets reaching their bounds together). Which one is processed
    first decides the next working set, and an arbitrary order (say, upper bounds first)
    can cycle through working sets at the same point for ever. The events whose primal or
    dual slack at ``t_e`` is rounding (the ties) are the infeasible indices of the
    linear complementarity problem that picks the next segment's direction; processing
    the one of *least asset index*, a diagonal pivot when the Schur complement allows it
    and otherwise a zero-curvature exchange with the least-index blocking asset (see
    :meth:`Engine._null_step`), is the least-index criss-cross rule, which is finite for
    sufficient matrices (den Hertog, Roos & Terlaky, 1993; a KKT matrix of a PSD ``Σ``
    with equality rows is one): no working set is visited twice at a point, and since
    each working set is optimal on one interval of ``t``, not on two distinct segments
    either. General constraint rows join the same rule with labels after the assets.

    Only called at a corner the path has reached (no step left before the first event); on
    arriving at a corner any event may go first, the rule starting from there.

    Parameters
    ----------
    t_e : float
        The corner's (scaled) risk tolerance.
    events : list of tuple
        Per kind of event: ``(first time, kind, its position, times, negated)`` where
        ``times`` holds every candidate's event time (or its negation when ``negated``).
    wf0, cf : ndarray of shape (k,)
        Free weights at ``t = 0`` and their slopes.
    z0, z1 : ndarray of shape (n,)
        Multipliers at ``t = 0`` and their slopes.
    idx : ndarray of int, shape (k,)
        The free assets.

    Returns
    -------
    kind : int
        0: a free asset reaches its upper bound, 1: its lower bound; ``pos`` is its
        position in the free set. 2: asset ``pos`` at a bound leaves it.
    pos : int
    """
    # A window in t picks the candidates (usually only the first event: then no tie and
    # nothing more to compute); among them, ties are the events whose slack at t_e (distance
    # to the bound, or the multiplier's size) is within rounding of the values it comes from.
    lim = t_e + 1e-9 * max(1.0, abs(t_e))
    near = []
    for t_k, kind, _, c, neg in events:
        if t_k <= lim:
            j = np.flatnonzero(c >= -lim if neg else c <= lim)
            near.append((kind, j, -c[j] if neg else c[j]))
    if len(near) == 1 and near[0][1].size == 1:
        return near[0][0], int(near[0][1][0])
    amax = np.maximum.reduce
    tol_w = 1e-13 * (1.0 + float(amax(np.abs(wf0), initial=0.0)))
    tol_w += 1e-13 * abs(t_e) * float(amax(np.abs(cf), initial=0.0))
    tol_z = 1e-13 * (1.0 + float(amax(np.abs(z0))) + abs(t_e) * float(amax(np.abs(z1))))
    best, kind, pos = np.iinfo(np.intp).max, -1, -1
    for kd, j, tj in near:
        if kd < 2:
            tied = j[(tj - t_e) * np.abs(cf[j]) <= tol_w]
            labels = idx[tied]
        else:
            tied = labels = j[(tj - t_e) * np.abs(z1[j]) <= tol_z]
        if tied.size:
            m = int(labels.argmin())
            if labels[m] < best:
                best, kind, pos = int(labels[m]), kd, int(tied[m])
    if kind < 0:  # the first event is always within rounding of itself; belt and braces
        _, kind, pos, _, _ = min(events, key=_first)
    return kind, pos


def _first(event: _Event) -> float:
    return float(event[0])


def _ratio(
    cur: NDArray[np.float64],
    p: NDArray[np.float64],
    lo: NDArray[np.float64],
    up: NDArray[np.float64],
    cap: float = 1.0,
    labels: NDArray[np.intp] | None = None,
) -> tuple[float, int, float, int]:
    """Largest step ``α ≤ cap`` keeping ``cur + α p`` in ``[lo, up]``; blocking index/bound.

    Among blocking candidates tied at the smallest step (within rounding of the weights) the
    one with the least label (asset index) is returned when ``labels`` is given: the
    least-index rule of :meth:`Engine._least_index_event` for exchange pivots.
    """
    p = np.where(np.abs(p) <= 1e-15 * np.maximum(1.0, np.abs(cur)), 0.0, p)  # rounding dust
    with np.errstate(divide="ignore", invalid="ignore"):
        a_up = np.where(p > 0, (up - cur) / p, np.inf)
        a_dn = np.where(p < 0, (lo - cur) / p, np.inf)
    a = np.minimum(a_up, a_dn)
    j = int(np.argmin(a)) if a.size else 0
    if not a.size or a[j] >= cap:
        return cap, -1, 0.0, 0
    alpha = max(float(a[j]), 0.0)  # the first block: the step, whichever tie is chosen
    if labels is not None:
        # Ties: candidates within rounding of their bound after the step (a larger ratio
        # with a tiny slope is one too); the chosen one is then put on its bound.
        tol = 1e-13 * (1.0 + float(np.abs(cur).max()))
        with np.errstate(invalid="ignore"):
            tied = np.flatnonzero((a - a[j]) * np.abs(p) <= tol)
        j = int(tied[np.argmin(labels[tied])])
    if a_up[j] <= a_dn[j]:
        return alpha, j, float(up[j]), 1
    return alpha, j, float(lo[j]), -1
