"""The minimum-variance frontier as a lazily traced piecewise-linear path, in original units.

:class:`PathSolver` scales the problem, solves the GMV portfolio with the active-set engine,
then traces corners upwards (efficient branch) and, only when asked, downwards (the inefficient
branch, for target returns below the GMV return). Every evaluation (at a return, a volatility,
a risk tolerance, the maximum Sharpe ratio) interpolates between two corners, where the weights
are exactly linear, and builds a certified :class:`PortfolioResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from xlfrontier.core._activeset import Corner, Engine
from xlfrontier.core._pdas import pdas
from xlfrontier.core._validation import Problem
from xlfrontier.core._weights import clean_weights
from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.core.metrics import sharpe_ratio
from xlfrontier.core.results import Objective, PortfolioResult, RowCheck, certify
from xlfrontier.exceptions import InfeasibleError, SolverError, UnboundedError

__all__ = ["Branch", "PathSolver", "lp_return_range"]


def lp_return_range(
    mu: NDArray[np.float64], lower: NDArray[np.float64], upper: NDArray[np.float64]
) -> tuple[float, float]:
    """Lowest and highest ``μᵀw`` over ``1ᵀw = 1, l ≤ w ≤ u`` (greedy: a continuous knapsack)."""
    return (-_lp_max(-mu, lower, upper), _lp_max(mu, lower, upper))


def _lp_max(mu: NDArray[np.float64], lo: NDArray[np.float64], up: NDArray[np.float64]) -> float:
    if not lo.any() and np.isposinf(up).all():  # long-only, no caps: the best single asset
        return float(mu.max())
    # Unbounded iff some asset can be bought without limit and another, with a lower expected
    # return, shorted without limit.
    inf_up, inf_lo = np.isposinf(up), np.isneginf(lo)
    if inf_up.any() and inf_lo.any() and mu[inf_up].max() > mu[inf_lo].min():
        return np.inf
    # Assets with equal returns act as one (bounds summed): a tie may hold an unlimited short
    # and an unlimited long position at once, and which of them takes the split is immaterial.
    neg, group = np.unique(-mu, return_inverse=True)  # by return, descending
    m = -neg
    lb = np.bincount(group, weights=lo)
    ub = np.bincount(group, weights=up)
    # Groups above the split sit at their upper bounds, below it at their lower bounds.
    with np.errstate(invalid="ignore"):
        top = np.concatenate([[0.0], np.cumsum(ub)[:-1]])
        bot = np.concatenate([np.cumsum(lb[::-1])[::-1][1:], [0.0]])
    for p in range(m.size):
        if not (np.isfinite(top[p]) and np.isfinite(bot[p])):
            continue
        need = 1.0 - top[p] - bot[p]
        if lb[p] - 1e-12 <= need <= ub[p] + 1e-12:
            return float(m[:p] @ ub[:p] + m[p] * need + m[p + 1 :] @ lb[p + 1 :])
    return float(mu.max())  # not reached for feasible bounds


def gmv_index(br: Branch, ps: PathSolver) -> int:
    """Index of the efficient GMV corner: the last one reached at ``t ≈ 0``.

    With a riskless combination of assets, several portfolios share the minimum variance;
    zero-curvature steps at ``t = 0`` walk to the one with the highest return.
    """
    return int(np.flatnonzero(br.t <= br.t[0] + T_ZERO * ps._t_scale())[-1])


T_ZERO = 1e-12  # scaled risk tolerances this small are "at the GMV"
_FLUSH = np.finfo(np.float64).eps ** 2  # scaled covariance entries below this are zero


class Branch:
    """Corners of one branch of the path, in original units, ordered by increasing ``t``.

    Attributes
    ----------
    t : ndarray of shape (k,)
        Risk tolerance at each corner (``η = 2t`` is the return shadow price).
    w, sw : ndarray of shape (k, n)
        Weights and ``Σw``.
    ret, var : ndarray of shape (k,)
        Expected return and variance.
    state : ndarray of int8, shape (k, n)
        Working set of the segment starting at each corner.
    ray : tuple or None
        ``(dw/dt, dΣw/dt)`` beyond the last corner when the path is unbounded.
    xstate : ndarray of int8, shape (k, s)
        With general constraints: the working set of the ``s`` inequality rows' slacks.
    y : ndarray of shape (k, r)
        With general constraints: the engine's row multipliers (scaled units); ``ray_y`` their
        slope on the ray.
    """

    def __init__(self, n: int, s: int = 0, r: int = 1) -> None:
        self.t = np.empty(0)
        self.w = np.empty((0, n))
        self.sw = np.empty((0, n))
        self.ret = np.empty(0)
        self.var = np.empty(0)
        self.state = np.empty((0, n), dtype=np.int8)
        self.xstate = np.empty((0, s), dtype=np.int8)
        self.y = np.empty((0, r))
        self.ray: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        self.ray_y = np.zeros(r)
        self.done = False


class Rows:
    """General linear constraints in the engine's form (see :mod:`._activeset`).

    The budget comes first, then the equality rows (those of the budget's span dropped), then
    the inequality rows, each with a slack variable after the assets whose bounds are the
    row's limits. Rows are scaled to a largest coefficient of 1.

    Attributes
    ----------
    cons : LinearConstraints
        The rows as given.
    eq, ineq : ndarray of int
        Given rows that are equalities / inequalities in the engine (others are dropped: no
        limit, no coefficient, or an equality the others imply).
    E : ndarray of shape (r, n + s)
        Engine rows; ``e`` of shape (r,) their right-hand sides.
    lower, upper : ndarray of shape (n + s,)
        Bounds of the assets and the slacks.
    scale : ndarray of shape (r,)
        Each engine row's scale (1 for the budget).
    """

    def __init__(self, p: Problem) -> None:
        cons = p.constraints
        assert cons is not None
        n = p.n
        A, lo, hi = cons.A, cons.lower, cons.upper
        c = np.abs(A).max(axis=1)
        limited = np.isfinite(lo) | np.isfinite(hi)
        empty = c == 0.0
        for j in np.flatnonzero(empty & limited):
            if lo[j] > 0.0 or hi[j] < 0.0:
                raise InfeasibleError(
                    f"constraint '{cons.names[j]}' has no asset (every coefficient is 0) but a "
                    f"limit that excludes 0: give it members or clear its limits",
                    "constraints",
                )
        use = limited & ~empty
        eq = np.flatnonzero(use & (lo == hi))
        ineq = np.flatnonzero(use & (lo != hi))
        keep, basis, rhs = _independent(np.ones(n), A[eq] / c[eq, None], lo[eq] / c[eq], cons, eq)
        eq = eq[keep]
        # An inequality row in the span of the budget and the equalities has one value on
        # every feasible portfolio: it holds there (dropped, it never needs a multiplier) or
        # nowhere. Left in, its slack would duplicate those rows in K_F.
        Q, b_q = np.array(basis), np.array(rhs)
        fixed = []
        for j in ineq:
            a = A[j] / c[j]
            coef = Q @ a
            if np.linalg.norm(a - coef @ Q) <= 1e-10 * max(1.0, float(np.linalg.norm(a))):
                value = float(coef @ b_q) * c[j]
                tol = 1e-10 * max(1.0, abs(value))
                if not lo[j] - tol <= value <= hi[j] + tol:
                    raise InfeasibleError(
                        f"constraint '{cons.names[j]}' cannot hold: the budget and the "
                        f"equality constraints fix its value at {value:.6g}",
                        "constraints",
                    )
                fixed.append(j)
        ineq = np.setdiff1d(ineq, fixed)
        # Parallel rows (a duplicate, a group given twice, a row and its negation) share one
        # slack whose bounds are the tighter limits: two slacks of one row would make K_F
        # singular when both bind. Each bound remembers which row (and sign) it comes from.
        reps: list[int] = []
        lo_s: list[float] = []
        hi_s: list[float] = []
        lo_src: list[tuple[int, float]] = []
        hi_src: list[tuple[int, float]] = []
        scaled = A / np.where(c > 0, c, 1.0)[:, None]
        for j in ineq:
            a = scaled[j]
            k = None
            if reps:
                R = scaled[reps]
                for sg in (1.0, -1.0):
                    hit = np.flatnonzero(np.abs(R - sg * a).max(axis=1) <= 1e-13)
                    if hit.size:
                        k = (int(hit[0]), sg)
                        break
            lo_j, hi_j = lo[j] / c[j], hi[j] / c[j]
            if k is None:
                reps.append(int(j))
                lo_s.append(lo_j)
                hi_s.append(hi_j)
                lo_src.append((int(j), 1.0))
                hi_src.append((int(j), 1.0))
                continue
            q, sg = k
            if sg < 0:
                lo_j, hi_j = -hi_j, -lo_j
            if lo_j > lo_s[q]:
                lo_s[q], lo_src[q] = lo_j, (int(j), sg)
            if hi_j < hi_s[q]:
                hi_s[q], hi_src[q] = hi_j, (int(j), sg)
            if lo_s[q] > hi_s[q] + 1e-12:
                from xlfrontier.core._feasibility import check_feasible

                check_feasible(p.lower, p.upper, cons)  # names the conflict (raises)
                raise InfeasibleError(
                    f"constraints '{cons.names[reps[q]]}' and '{cons.names[j]}' cannot both hold",
                    "constraints",
                )
        ineq = np.asarray(reps, dtype=np.intp)
        self.lo_src, self.hi_src = lo_src, hi_src
        s = ineq.size
        r = 1 + eq.size + s
        E = np.zeros((r, n + s))
        E[0, :n] = 1.0
        E[1 : 1 + eq.size, :n] = A[eq] / c[eq, None]
        E[1 + eq.size :, :n] = A[ineq] / c[ineq, None]
        E[1 + eq.size :, n:] = -np.eye(s)
        e = np.zeros(r)
        e[0] = 1.0
        e[1 : 1 + eq.size] = lo[eq] / c[eq]
        self.cons, self.eq, self.ineq, self.E, self.e = cons, eq, ineq, E, e
        self.n, self.s, self.r = n, s, r
        self.scale = np.concatenate([[1.0], c[eq], c[ineq]])
        self.lower = np.concatenate([p.lower, lo_s])
        self.upper = np.concatenate([p.upper, hi_s])

    def lift(self, w: NDArray[np.float64]) -> NDArray[np.float64]:
        """Assets' weights, shape (n,), with the slacks' values appended, shape (n + s,)."""
        out: NDArray[np.float64] = np.concatenate([w, self.E[1 + self.eq.size :, : self.n] @ w])
        return out

    def check(
        self, xstate: NDArray[np.int8], hint: NDArray[np.float64]
    ) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
        """Return the given rows' states and multipliers ``(γ, λ)`` for :class:`RowCheck`.

        ``hint`` holds ``(γ, λ)`` on the engine's rows (original units, engine scaling).
        """
        m = self.cons.m
        state = np.zeros(m, dtype=np.int8)
        state[self.eq] = 2
        lam = np.zeros(1 + m)
        lam[0] = hint[0]
        q = self.eq.size
        lam[1 + self.eq] = hint[1 : 1 + q] / self.scale[1 : 1 + q]
        for k, side in enumerate(xstate.tolist()):
            if side == 0:
                continue
            j, sg = (self.lo_src if side == -1 else self.hi_src)[k]
            # The slack's row is a_rep/c_rep = sg·a_j/c_j: its multiplier, on row j.
            scale_j = float(np.abs(self.cons.A[j]).max())
            state[j] = side if sg > 0 else -side
            lam[1 + j] = hint[1 + q + k] * sg / scale_j
        return state, lam


def _independent(
    budget: NDArray[np.float64],
    A: NDArray[np.float64],
    b: NDArray[np.float64],
    cons: LinearConstraints,
    rows: NDArray[np.intp],
) -> tuple[NDArray[np.bool_], list[NDArray[np.float64]], list[float]]:
    """Equality rows independent of the budget and of the rows kept before them (a mask).

    A dependent row is dropped when it agrees with the others and refused when it does not.
    Also returns an orthonormal basis of the kept rows' span (the budget's first) and the
    right-hand sides that go with it.
    """
    keep = np.zeros(A.shape[0], dtype=bool)
    basis = [budget / np.linalg.norm(budget)]
    rhs = [1.0 / np.linalg.norm(budget)]
    for j in range(A.shape[0]):
        Q = np.array(basis)
        coef = Q @ A[j]
        resid = A[j] - coef @ Q
        nrm = float(np.linalg.norm(resid))
        if nrm > 1e-10 * max(1.0, float(np.linalg.norm(A[j]))):
            keep[j] = True
            # Gram-Schmidt on the rows and, alongside, on their right-hand sides.
            basis.append(resid / nrm)
            rhs.append((b[j] - coef @ np.array(rhs)) / nrm)
            continue
        implied = float(coef @ np.array(rhs))
        if abs(implied - b[j]) > 1e-10 * max(1.0, abs(b[j])):
            raise InfeasibleError(
                f"constraint '{cons.names[rows[j]]}' cannot hold: the budget and the other "
                f"equality constraints fix its value elsewhere",
                "constraints",
            )
    return keep, basis, rhs


class PathSolver:
    """Lazy exact frontier for a validated :class:`Problem`."""

    def __init__(self, problem: Problem) -> None:
        self.p = problem
        mu, cov = problem.mu, problem.cov
        self._var_max = float(cov.diagonal().max())
        mu_max, mu_min = float(mu.max()), float(mu.min())
        self._mu_absmax = max(mu_max, -mu_min)
        # All-riskless universes (Σ = 0) are valid: the engine's zero-curvature steps handle them.
        self.s_cov = self._var_max or 1.0
        self.mu_c = mu_max if mu_max == mu_min else float(mu.mean())
        spread = max(mu_max - self.mu_c, self.mu_c - mu_min)
        self.flat = spread <= 1e-14 * max(1.0, self._mu_absmax)
        self.s_mu = 1.0 if self.flat else spread
        mu_hat = np.zeros_like(mu) if self.flat else (mu - self.mu_c) / self.s_mu
        # General constraints: slack variables after the assets (see Rows).
        self.rows = None if problem.constraints is None else Rows(problem)
        self.mu_x = mu  # expected returns of the engine's variables (0 on the slacks)
        self.lo_x, self.up_x = problem.lower, problem.upper
        if self.rows is not None:
            mu_hat = np.concatenate([mu_hat, np.zeros(self.rows.s)])
            self.mu_x = np.concatenate([mu, np.zeros(self.rows.s)])
            self.lo_x, self.up_x = self.rows.lower, self.rows.upper
        self._mu_hat = mu_hat
        self._up_engine: Engine | None = None
        self._down: Engine | None = None
        self._range: tuple[float, float] | None = None
        self._split: NDArray[np.float64] | None = None
        # Unbounded assets on a singular Σ (copies of an asset, say) may share their weight in
        # any proportion; the direct solvers would pick one at random, the path picks the
        # minimum-norm split. A tiny Cholesky pivot flags the singularity (it may not fail).
        self.open_split = False
        if not problem.long_only:
            unbounded = np.isneginf(problem.lower) & np.isposinf(problem.upper)
            chol = problem.chol
            self.open_split = int(unbounded.sum()) > 1 and (
                chol is None or float(np.diag(chol).min()) ** 2 <= 1e-10 * self.s_cov
            )

    @cached_property
    def upper(self) -> Branch:
        """Corners of the efficient branch traced so far."""
        return self._branch()

    @cached_property
    def lower(self) -> Branch:
        """Corners of the inefficient branch traced so far."""
        return self._branch()

    def _branch(self) -> Branch:
        if self.rows is None:
            return Branch(self.p.n)
        return Branch(self.p.n, self.rows.s, self.rows.r)

    def _engine(self, mu_hat: NDArray[np.float64]) -> Engine:
        if self.rows is None:
            return Engine(self._cov_hat, mu_hat, self.p.lower, self.p.upper)
        rows = self.rows
        return Engine(self._cov_hat, mu_hat, rows.lower, rows.upper, rows.E, rows.e)

    @cached_property
    def _cov_hat(self) -> NDArray[np.float64]:
        """Scaled covariance (largest variance 1) for the path engines.

        In the rows and columns of assets whose variance is below ``eps²`` of the largest,
        entries below ``eps²`` are set to zero: they change no variance by more than
        rounding, but a variance that small makes the inverse of the engine's KKT matrix
        overflow (``1/v²`` for ``v`` near the float underflow limit), where an exactly
        riskless asset is handled exactly. Only those rows are scanned (O(n) otherwise).
        """
        s = self.p.cov / self.s_cov
        low = np.flatnonzero(s.diagonal() < _FLUSH)
        if low.size:
            rows = s[low]
            rows[np.abs(rows) < _FLUSH] = 0.0
            s[low] = rows
            s[:, low] = rows.T
        if self.rows is not None:  # the slacks carry no risk
            n, k = self.p.n, self.rows.s
            lifted = np.zeros((n + k, n + k))
            lifted[:n, :n] = s
            return lifted
        return s

    @property
    def r_min(self) -> float:
        """Lowest attainable expected return."""
        return self._return_range()[0]

    @property
    def r_max(self) -> float:
        """Highest attainable expected return (``inf`` when unbounded)."""
        return self._return_range()[1]

    def _return_range(self) -> tuple[float, float]:
        if self._range is None:
            mu = self.p.mu
            if self.rows is not None:
                from xlfrontier.core._feasibility import return_range

                self._range = return_range(mu, self.p.lower, self.p.upper, self.p.constraints)
            elif self.flat:
                self._range = (float(mu[0]), float(mu[0]))
            else:
                self._range = lp_return_range(mu, self.p.lower, self.p.upper)
        return self._range

    @property
    def _up(self) -> Engine:
        """The engine at the GMV portfolio, created on first use."""
        if self._up_engine is None:
            self._up_engine = self._gmv_engine()
        return self._up_engine

    def _gmv_engine(self) -> Engine:
        mu_hat = self._mu_hat
        eng = self._engine(mu_hat)
        w = eng.warm_start()
        if w is None or eng.residual() > 1e-9:
            # The direct guess failed or its working set is (nearly) singular: take the
            # robust route, one asset at a time with the singularity tests of the engine.
            eng = self._engine(mu_hat)
            try:
                w = eng.start_feasible()
            except InfeasibleError:
                from xlfrontier.core._feasibility import check_feasible

                # Which limits conflict, in finance words (raises).
                check_feasible(self.p.lower, self.p.upper, self.p.constraints)
                raise
        eng.solve_at(0.0, w)
        self._gmv_snapshot = (list(eng.free), eng.state.copy(), eng.wfix.copy())
        if eng.null_dirs:
            # Copies of an unbounded asset (say) leave the split between them open: the path
            # reports the minimum-norm one, projected off those directions (copies share
            # equally). They are riskless and cost nothing, so Σw and the return stay put.
            self._split = np.linalg.qr(np.array(eng.null_dirs).T)[0]
        return eng

    # --------------------------------------------------------------- tracing
    def _t_scale(self) -> float:
        """Original ``t`` per scaled ``t``."""
        return self.s_cov / self.s_mu

    def _append(self, br: Branch, corners: list[Corner], sign: float) -> None:
        if br.t.size:
            corners = corners[1:]  # the first one repeats the last corner already stored
        if not corners:
            return
        ts = self._t_scale()
        t = np.array([c.t for c in corners]) * ts * sign
        w = np.array([c.w for c in corners])
        if self._split is not None:
            w -= (w @ self._split) @ self._split.T
        sw = np.array([c.sw for c in corners]) * self.s_cov
        states = np.array([c.state for c in corners])
        if self.rows is not None:
            n = self.p.n
            br.xstate = np.concatenate([br.xstate, states[:, n:]])
            y = np.array([c.y for c in corners])
            br.y = np.concatenate([br.y, y])
            w, sw, states = w[:, :n], sw[:, :n], states[:, :n]
        br.t = np.concatenate([br.t, t])
        br.w = np.concatenate([br.w, w])
        br.sw = np.concatenate([br.sw, sw])
        br.ret = np.concatenate([br.ret, w @ self.p.mu])
        br.var = np.concatenate([br.var, np.maximum(np.einsum("ij,ij->i", w, sw), 0.0)])
        br.state = np.concatenate([br.state, states])

    def _extend(
        self, br: Branch, eng: Engine, sign: float, stop: Callable[[Corner], bool] | None
    ) -> None:
        if br.done:
            return
        t0 = br.t[-1] * sign / self._t_scale() if br.t.size else 0.0
        corners = eng.trace(t0, stop=stop)
        self._append(br, corners, sign)
        if stop is None or not stop(corners[-1]):
            br.done = True
            out = eng.solve()
            _, x1, _, z1 = out
            idx = np.asarray(eng.free, dtype=np.intp)
            nr = eng.r
            c = x1[nr:]
            moving = np.abs(c) > 1e-12 * max(1.0, float(np.abs(c).max(initial=0.0)))
            # No event was left, so only a move towards an infinite bound can go on for ever.
            unbounded = moving & (
                ((c > 0) & np.isposinf(eng.up[idx])) | ((c < 0) & np.isneginf(eng.lo[idx]))
            )
            if idx.size > nr and unbounded.any():
                # The slope K_F⁻¹(0, μ_F) is known only to ~eps·|K_F⁻¹||μ_F|, large on an
                # ill-conditioned K_F: below that it is rounding, not a ray (with ties in μ
                # the exact slope is zero). Close to that bound, refine before deciding.
                k = idx.size
                Mw = eng.Minv[nr : k + nr, nr : k + nr]
                noise = 1e-13 * (np.abs(Mw) @ np.abs(eng.mu[idx]))
                if (np.abs(c) < 1e3 * noise)[unbounded].any():
                    _, x1, _, z1 = eng.refine(*out)
                    c = x1[nr:]
                    unbounded &= np.sign(c) == np.sign(out[1][1:])
                unbounded &= np.abs(c) > noise
            if idx.size > nr and unbounded.any():
                dw = eng.weights(x1) - eng.wfix
                if self._split is not None:
                    dw -= self._split @ (self._split.T @ dw)
                dsw = z1 + eng.mu - x1[:nr] @ eng.E
                ts = self._t_scale()
                n = self.p.n
                br.ray = (dw[:n] * sign / ts, dsw[:n] * self.s_cov * sign / ts)
                br.ray_y = x1[:nr] * sign / ts

    def extend_upper(self, stop: Callable[[Corner], bool] | None = None) -> Branch:
        """Trace the efficient branch until ``stop(corner)`` (scaled corner) or the end."""
        self._extend(self.upper, self._up, 1.0, stop)
        return self.upper

    def extend_lower(self, stop: Callable[[Corner], bool] | None = None) -> Branch:
        """Trace the inefficient branch (returns below the GMV) until ``stop`` or the end."""
        if self._down is None:
            self._up  # noqa: B018 - creates the GMV engine and its snapshot
            free, state, wfix = self._gmv_snapshot
            eng = self._engine(-self._mu_hat)
            eng.free = list(free)
            eng.state = state.copy()
            eng.wfix = wfix.copy()
            eng.R[: len(free)] = self._cov_hat[np.asarray(free, dtype=np.intp)]
            eng.refactor()
            self._down = eng
            if not self.upper.t.size:
                self.extend_upper(stop=lambda c: True)
        self._extend(self.lower, self._down, -1.0, stop)
        return self.lower

    def scaled_return(self, c: Corner) -> float:
        """Original-unit expected return of a scaled corner."""
        return float(self.mu_x @ c.w)

    def _polish(
        self, w: NDArray[np.float64], state: NDArray[np.int8], ret: float
    ) -> NDArray[np.float64] | None:
        """Re-solve the KKT system of the working set ``state`` at return ``ret``."""
        if self.flat:
            return None
        free = np.flatnonzero(state == 0)
        k = free.size
        mu_hat, S = self._mu_hat, self._cov_hat
        wfix = np.where(state == 0, 0.0, w)
        K = np.zeros((k + 2, k + 2))
        K[0, 2:] = K[2:, 0] = 1.0
        K[1, 2:] = K[2:, 1] = mu_hat[free]
        K[2:, 2:] = S[np.ix_(free, free)]
        rhs = np.empty(k + 2)
        rhs[0] = 1.0 - wfix.sum()
        rhs[1] = (ret - self.mu_c) / self.s_mu - mu_hat @ wfix
        rhs[2:] = -(S @ wfix)[free]
        try:
            x = np.linalg.solve(K, rhs)
        except np.linalg.LinAlgError:
            return None
        out: NDArray[np.float64] = wfix.copy()
        out[free] = x[2:]
        if not np.isfinite(out).all() or np.abs(out - w).max() > 1e-8:
            return None
        return out

    def _result_rows(
        self,
        w: NDArray[np.float64],
        sw: NDArray[np.float64],
        t: float,
        state: NDArray[np.int8],
        objective: Objective,
        rf: float | None,
        target: float | None,
        extra: tuple[NDArray[np.int8], NDArray[np.float64]],
    ) -> PortfolioResult:
        """:meth:`result` with general constraints (see :class:`Rows`)."""
        p, rows = self.p, self.rows
        assert rows is not None
        cons = rows.cons
        xstate, y = extra
        w, at_lower, at_upper = clean_weights(
            w, p.lower, p.upper, state, long_only=p.long_only, fix_budget=target is None
        )
        eta = 0.0 if self.flat else 2.0 * t
        # The engine's stationarity Σ̂w − t̂μ̂ + Eᵀy = ẑ in original units: γ and λ.
        hint = -2.0 * self.s_cov * y
        hint[0] -= eta * self.mu_c
        row_state, lam = rows.check(xstate, hint)
        cert = certify(
            w,
            sw,
            eta,
            state,
            p.mu,
            p.lower,
            p.upper,
            var_max=self._var_max,
            mu_absmax=self._mu_absmax,
            target=target,
            rows=RowCheck(cons.A, cons.lower, cons.upper, row_state, lam),
        )
        var = max(float(w @ sw), 0.0)
        ret = float(p.mu @ w)
        vol = float(np.sqrt(var))
        val = cons.values(w)
        tol = 1e-12 * np.maximum(1.0, np.abs(val))
        at_min = (row_state == -1) | (row_state == 2) | (np.abs(val - cons.lower) <= tol)
        at_max = (row_state == 1) | (row_state == 2) | (np.abs(val - cons.upper) <= tol)
        return PortfolioResult(
            weights=w,
            expected_return=ret,
            volatility=vol,
            variance=var,
            objective=objective,
            at_lower=at_lower,
            at_upper=at_upper,
            budget_multiplier=cert.budget_multiplier,
            return_multiplier=eta,
            bound_multipliers=cert.bound_multipliers,
            kkt=cert.kkt,
            risk_free_rate=rf,
            sharpe_ratio=None if rf is None else sharpe_ratio(ret, vol, rf),
            status=cert.status,
            constraint_names=cons.names,
            constraint_values=val,
            constraint_multipliers=cert.row_multipliers,
            at_min=at_min,
            at_max=at_max,
        )

    def riskless_arbitrage(self) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """Riskless, budget-neutral combinations of unbounded assets that earn a return.

        A direction ``d`` on the assets with no bound at all (``lower=-inf``, ``upper=inf``)
        with ``Σd = 0`` and ``1ᵀd = 0`` moves a portfolio without changing its risk, in either
        direction and without limit. If ``μᵀd ≠ 0`` it is an arbitrage: every return is
        attainable at the GMV variance, so objectives that reward return are unbounded while
        the minimum variance at a fixed return is not.

        Returns
        -------
        (Q, g) or None
            ``Q`` of shape (n, m): an orthonormal basis of those directions (zero on bounded
            assets); ``g = Qᵀμ`` of shape (m,), nonzero. None when there is no arbitrage.
        """
        p = self.p
        free = np.flatnonzero(np.isneginf(p.lower) & np.isposinf(p.upper))
        if free.size < 2:
            return None
        m = np.vstack([p.cov[:, free] / self.s_cov, np.ones(free.size)])
        _, sv, vt = np.linalg.svd(m)
        rank = int(np.count_nonzero(sv > 1e-10 * sv[0]))
        if rank >= free.size:
            return None
        q = np.zeros((p.n, free.size - rank))
        q[free] = vt[rank:].T
        g = q.T @ p.mu
        if float(np.abs(g).max()) <= 1e-11 * max(float(np.abs(p.mu[free]).max()), 1e-300):
            return None
        return q, g

    # --------------------------------------------------------------- direct solves
    def _pdas(
        self, lin: NDArray[np.float64] | None, A: NDArray[np.float64], b: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]] | None:
        """:func:`pdas` on the unscaled Σ (the method is scale-free), with its Cholesky factor."""
        p = self.p
        return pdas(p.cov, lin, A, b, p.lower, p.upper, chol=p.chol, long_only=p.long_only)

    def direct(
        self,
        objective: Objective,
        rf: float | None = None,
        target: float | None = None,
        t: float | None = None,
    ) -> PortfolioResult | None:
        """Solve one point directly (primal-dual active set); None unless it is certified.

        Give ``target`` (a return) or ``t`` (a risk tolerance, 0 for the GMV portfolio).
        """
        if self.rows is not None:
            return self._direct_rows(objective, rf, target, t)
        p, n = self.p, self.p.n
        if target is not None:
            if self.flat:
                return None
            A = np.empty((2, n))
            A[0] = 1.0
            A[1] = self._mu_hat
            r_hat = (target - self.mu_c) / self.s_mu
            out = self._pdas(None, A, np.array([1.0, r_hat]))
            if out is None:
                return None
            w, nu, state = out
            t_orig = float(nu[1]) / self.s_mu
        else:
            assert t is not None  # the caller gives target or t
            lin = None if t == 0.0 else (float(t) * self.s_mu) * self._mu_hat
            out = self._pdas(lin, np.ones((1, n)), np.ones(1))
            if out is None:
                return None
            w, _, state = out
            t_orig = float(t)
        res = self.result(w, p.cov @ w, t_orig, state, objective, rf, target)
        return res if res.kkt.is_optimal(1e-9) else None

    def _direct_rows(
        self,
        objective: Objective,
        rf: float | None,
        target: float | None,
        t: float | None,
    ) -> PortfolioResult | None:
        """:meth:`direct` with general constraints, on the engine's scaled, lifted problem."""
        rows, n = self.rows, self.p.n
        assert rows is not None
        S, mu_hat = self._cov_hat, self._mu_hat
        if target is not None:
            if self.flat:
                return None
            A = np.vstack([rows.E, mu_hat])
            b = np.append(rows.e, (target - self.mu_c) / self.s_mu)
            out = pdas(S, None, A, b, rows.lower, rows.upper, careful=True)
            if out is None:
                # The primal-dual guesses cycled: the engine's primal active-set method with
                # the return as one more row, from a vertex at that return (finite).
                return self._target_by_engine(objective, rf, target, A, b)
            x, nu, state = out
            t_hat, y = float(nu[-1]), -nu[:-1]
        else:
            assert t is not None  # the caller gives target or t
            t_hat = float(t) / self._t_scale()
            lin = None if t_hat == 0.0 else t_hat * mu_hat
            out = pdas(S, lin, rows.E, rows.e, rows.lower, rows.upper, careful=True)
            if out is None:
                return None
            x, nu, state = out
            y = -nu
        w = x[:n]
        res = self.result(
            w,
            self.p.cov @ w,
            t_hat * self._t_scale(),
            state[:n],
            objective,
            rf,
            target,
            extra=(state[n:], y),
        )
        return res if _certified_direct(res) else None

    def _target_by_engine(
        self,
        objective: Objective,
        rf: float | None,
        target: float,
        A: NDArray[np.float64],
        b: NDArray[np.float64],
    ) -> PortfolioResult | None:
        """Minimum variance at ``target`` by :meth:`Engine.solve_at` with the return row."""
        rows, n = self.rows, self.p.n
        assert rows is not None
        eng = Engine(self._cov_hat, np.zeros(A.shape[1]), rows.lower, rows.upper, A, b)
        try:
            w = eng.start_feasible()
            eng.solve_at(0.0, w)
        except (InfeasibleError, SolverError, UnboundedError):
            return None
        x0 = eng.solve()[0]
        y = x0[: eng.r]
        w = eng.weights(x0)
        # Σ̂w + Eᵀy_E + y_μ μ̂ = z: the return row's multiplier is −t̂.
        res = self.result(
            w[:n],
            self.p.cov @ w[:n],
            -float(y[-1]) * self._t_scale(),
            eng.state[:n].copy(),
            objective,
            rf,
            target,
            extra=(eng.state[n:].copy(), y[:-1]),
        )
        return res if _certified_direct(res) else None

    def direct_tangency(self, rf: float) -> PortfolioResult | None:
        """Long-only tangency portfolio by homogenisation: ``min yᵀΣy`` s.t. ``(μ−rf)ᵀy = 1``.

        Only for the default bounds (``0 ≤ w``, no upper bound), where ``y ≥ 0`` is a box.
        """
        p = self.p
        if not p.long_only or self.rows is not None:
            return None
        excess = p.mu - rf
        s_e = float(np.abs(excess).max())
        if s_e <= 0:
            return None
        out = self._pdas(None, (excess / s_e)[None, :], np.ones(1))
        if out is None:
            return None
        y, nu, state = out
        s_y = float(y.sum())
        if not s_y > 0:
            return None
        w = y / s_y
        t_orig = float(nu[0]) / (s_y * s_e)
        res = self.result(w, p.cov @ w, t_orig, state, "max_sharpe", rf)
        if not res.kkt.is_optimal(1e-9) or not res.volatility > 0:
            return None  # riskless tangency: the path reports the unbounded ratio
        scale = max(
            abs(res.budget_multiplier),
            abs(res.return_multiplier * rf),
            1e-300,
            float(np.abs(2 * p.cov @ w).max()),
        )
        if abs(res.budget_multiplier + res.return_multiplier * rf) > 1e-9 * scale:
            return None
        return res

    # --------------------------------------------------------------- evaluation
    def snap(
        self, w: NDArray[np.float64], state: NDArray[np.int8]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
        """:func:`~xlfrontier.core._weights.clean_weights` on this problem's bounds.

        Parameters
        ----------
        w, state : ndarray of shape (n,) or (p, n)

        Returns
        -------
        w, at_lower, at_upper : ndarray, same shape
        """
        p = self.p
        return clean_weights(w, p.lower, p.upper, state, long_only=p.long_only)

    def point(
        self,
        br: Branch,
        k: int,
        lam: float,
        objective: Objective,
        rf: float | None = None,
        target: float | None = None,
    ) -> PortfolioResult:
        """Build the result at ``(1−λ)·corner_k + λ·corner_{k+1}`` (past the end: Δt on the ray)."""
        y = None
        if k + 1 < br.t.size:
            w = br.w[k] + lam * (br.w[k + 1] - br.w[k])
            sw = br.sw[k] + lam * (br.sw[k + 1] - br.sw[k])
            t = br.t[k] + lam * (br.t[k + 1] - br.t[k])
            if self.rows is not None:
                y = br.y[k] + lam * (br.y[k + 1] - br.y[k])
        else:  # on the ray beyond the last corner; lam is Δt
            if br.ray is None or lam == 0.0:
                w, sw, t = br.w[k].copy(), br.sw[k].copy(), br.t[k]
                lam = 0.0
            else:
                w = br.w[k] + lam * br.ray[0]
                sw = br.sw[k] + lam * br.ray[1]
                t = br.t[k] + lam
            if self.rows is not None:
                y = br.y[k] + lam * br.ray_y
        extra = None if y is None else (br.xstate[k], y)
        return self.result(w, sw, float(t), br.state[k], objective, rf, target, extra=extra)

    def result(
        self,
        w: NDArray[np.float64],
        sw: NDArray[np.float64],
        t: float,
        state: NDArray[np.int8],
        objective: Objective,
        rf: float | None = None,
        target: float | None = None,
        polish: bool = True,
        extra: tuple[NDArray[np.int8], NDArray[np.float64]] | None = None,
    ) -> PortfolioResult:
        """Build a certified result from weights, ``Σw`` and the risk tolerance ``t``.

        When the residuals show rounding drift of the path (possible on ill-conditioned
        covariance matrices), the weights are re-solved once from the working set. With
        general constraints, ``extra`` holds the slacks' working set and the engine's row
        multipliers ``y`` (scaled units).
        """
        if self.rows is not None:
            assert extra is not None  # the path always knows its rows
            return self._result_rows(w, sw, t, state, objective, rf, target, extra)
        p = self.p
        mu = p.mu
        # Without a target return, drift of the path off the budget is repaired too.
        w, at_lower, at_upper = clean_weights(
            w, p.lower, p.upper, state, long_only=p.long_only, fix_budget=target is None
        )
        var = max(float(w @ sw), 0.0)
        eta = 0.0 if self.flat else 2.0 * t
        cert = certify(
            w,
            sw,
            eta,
            state,
            mu,
            p.lower,
            p.upper,
            var_max=self._var_max,
            mu_absmax=self._mu_absmax,
            long_only=p.long_only,
            target=target,
        )
        kkt = cert.kkt
        ret = float(mu @ w)
        if polish and (kkt.primal > 1e-13 or kkt.dual > 1e-12) and (state == 0).sum() >= 2:
            better = self._polish(w, state, ret)
            if better is not None:
                res = self.result(
                    better, p.cov @ better, t, state, objective, rf, target, polish=False
                )
                if max(res.kkt.primal, res.kkt.dual) < max(kkt.primal, kkt.dual):
                    return res
        vol = float(np.sqrt(var))
        sharpe = None if rf is None else sharpe_ratio(ret, vol, rf)
        return PortfolioResult(
            weights=w,
            expected_return=ret,
            volatility=vol,
            variance=var,
            objective=objective,
            at_lower=at_lower,
            at_upper=at_upper,
            budget_multiplier=cert.budget_multiplier,
            return_multiplier=eta,
            bound_multipliers=cert.bound_multipliers,
            kkt=kkt,
            risk_free_rate=rf,
            sharpe_ratio=sharpe,
            status=cert.status,
        )


def _certified_direct(res: PortfolioResult) -> bool:
    """Accept a direct solve with constraints: certified, and its limits met to 1e-13.

    On nearly dependent rows a direct KKT solve can miss a limit by ~1e-12 (the path, which
    updates its factors row by row, meets them to rounding): then the path answers instead.
    """
    return res.kkt.is_optimal(1e-9) and res.kkt.primal <= 1e-13 * max(
        1.0, float(np.abs(res.weights).max())
    )
