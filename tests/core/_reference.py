"""Independent references for the core tests.

Nothing here imports the solver under test. Three tools:

* **Reference solvers.** cvxpy + Clarabel (interior point, any PSD covariance, written in the
  factor form ``‖Fᵀw‖²`` with ``Σ = FFᵀ``) at the tightest tolerances it converges to, and
  quadprog (Goldfarb–Idnani dual active set, needs Σ positive definite) which is exact to
  rounding on well-conditioned problems. Clarabel is an interior-point method: even at
  ``1e-12`` tolerances its answers are only good to about ``1e-9`` relative in the worst cases,
  so comparisons against it use ``1e-8`` and the tighter claim rests on the KKT certificate.
* **A certificate checker** (:func:`check_certificate`) that recomputes everything from the
  weights — budget, bounds, return, variance, volatility, Sharpe, the stationarity
  ``2Σw = γ1 + ημ + z`` with the reported multipliers and their sign conditions — without
  trusting the result's own ``kkt`` field.
* **Seeded problem generators** (:func:`random_case`), including degenerate covariances
  (low-rank, duplicated assets, riskless assets) and degenerate returns (all equal, ties).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

# Accuracy demanded of the solver under test (issue 2 targets: constraint violation <= 1e-12,
# KKT residuals well below 1e-9). Relative to the natural scale of each quantity, see below.
PRIMAL_TOL = 1e-12
DUAL_TOL = 1e-9
# Agreement with the Clarabel reference (itself accurate to about 1e-9 relative in the worst
# cases; measured 4e-11 against the rational solution on small problems).
CLARABEL_OBJ_RTOL = 1e-8
# Agreement with quadprog on positive definite problems. quadprog is exact to rounding here
# (measured against the rational solution: <= 3e-15 relative in the objective, 1e-15 in the
# weights), so this is the accuracy target itself.
QUADPROG_OBJ_RTOL = 1e-12
QUADPROG_W_ATOL = 1e-9
# Clarabel's weights (measured: up to 1e-8 off the rational solution at n <= 8).
CLARABEL_W_ATOL = 1e-6

CLARABEL_SETTINGS = {
    "tol_gap_abs": 1e-12,
    "tol_gap_rel": 1e-12,
    "tol_feas": 1e-12,
    "tol_ktratio": 1e-10,
    "max_iter": 400,
}


# --------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """A test problem. ``pd`` is True when Σ is positive definite (unique solutions)."""

    mu: Array
    cov: Array
    lower: Array
    upper: Array
    label: str = ""
    pd: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.mu.shape[0])

    @property
    def shorting(self) -> bool:
        return bool(np.isneginf(self.lower).any())

    def describe(self) -> str:
        """A reproduction string (seed and kinds) for assertion messages."""
        return f"{self.label} n={self.n}"


COV_KINDS = ("pd", "lowrank", "duplicate", "riskless")
MU_KINDS = ("random", "equal", "tie")
BOUND_KINDS = ("long_only", "upper", "lower", "box", "short_inf", "short_half")


def random_pd_cov(rng: np.random.Generator, n: int, n_factors: int = 3) -> Array:
    """Factor-model covariance (annualised vols of roughly 10%-50%), positive definite."""
    k = min(n_factors, n)
    loadings = rng.normal(1.0, 0.5, size=(n, k)) * rng.uniform(0.3, 1.0, size=k)
    fvol = rng.uniform(0.05, 0.2, size=k)
    idio = rng.uniform(0.05, 0.35, size=n) ** 2
    cov = (loadings * fvol**2) @ loadings.T + np.diag(idio)
    return 0.5 * (cov + cov.T)


def random_cov(rng: np.random.Generator, n: int, kind: str) -> tuple[Array, Array, bool]:
    """Return ``(cov, factor F with cov = F Fᵀ, positive definite?)``."""
    if kind == "pd" or (kind == "duplicate" and n < 2):
        cov = random_pd_cov(rng, n)
        return cov, np.linalg.cholesky(cov), True
    if kind == "lowrank":
        rank = max(1, n // 3)
        f = rng.normal(0.0, 0.12, size=(n, rank)) + rng.uniform(0.02, 0.1, size=(n, 1))
        cov = f @ f.T
        return 0.5 * (cov + cov.T), f, rank == n
    if kind == "duplicate":
        base = random_pd_cov(rng, n - 1)
        j = int(rng.integers(n - 1))
        idx = np.r_[np.arange(n - 1), j]
        cov = base[np.ix_(idx, idx)]
        f = np.linalg.cholesky(base)[idx]
        return cov, f, False
    if kind == "riskless" and n == 1:
        # a lone riskless asset (Σ = 0) is not a random problem: tested in test_degenerate
        cov = random_pd_cov(rng, n)
        return cov, np.linalg.cholesky(cov), True
    if kind == "riskless":
        cov = np.zeros((n, n))
        f = np.zeros((n, max(n - 1, 1)))
        if n > 1:
            sub = random_pd_cov(rng, n - 1)
            cov[1:, 1:] = sub
            f[1:, :] = np.linalg.cholesky(sub)
        return cov, f, False
    raise ValueError(kind)


def random_bounds(rng: np.random.Generator, n: int, kind: str) -> tuple[Array, Array]:
    """Per-asset bounds of the given kind; always feasible (sum l <= 1 <= sum u)."""
    lo = np.zeros(n)
    up = np.full(n, np.inf)
    if kind == "long_only":
        pass
    elif kind == "upper":
        up = rng.uniform(1.0 / n, 4.0 / n, size=n)
        if up.sum() < 1.2:
            up *= 1.2 / up.sum()
        up[rng.random(n) < 0.2] = np.inf
    elif kind == "lower":
        lo = rng.uniform(0.0, 0.8 / n, size=n) * (rng.random(n) < 0.7)
    elif kind == "box":
        lo = rng.uniform(0.0, 0.6 / n, size=n) * (rng.random(n) < 0.6)
        up = lo + rng.uniform(0.5 / n, 3.0 / n, size=n)
        if up.sum() < 1.2:
            up = lo + (up - lo) * (1.2 - lo.sum()) / (up - lo).sum()
    elif kind == "short_inf":
        lo = np.full(n, -np.inf)
    elif kind == "short_half":
        lo = np.full(n, -0.5)
        if rng.random() < 0.5:
            up = np.full(n, 1.5)
    else:
        raise ValueError(kind)
    return lo, up


def random_mu(rng: np.random.Generator, n: int, kind: str) -> Array:
    """Expected returns of the given kind (annual decimals)."""
    if kind == "equal" or (n == 1 and kind == "tie"):
        return np.full(n, round(float(rng.uniform(0.02, 0.12)), 4))
    mu = rng.normal(0.08, 0.06, size=n)
    if kind == "tie":
        top = int(np.argmax(mu))
        other = int(rng.choice([i for i in range(n) if i != top]))
        mu[other] = mu[top]
    return mu


def random_case(
    seed: int,
    n: int,
    bounds: str = "long_only",
    cov_kind: str = "pd",
    mu_kind: str = "random",
) -> Case:
    """A reproducible random problem; everything is determined by the arguments."""
    rng = np.random.default_rng(
        [seed, n, BOUND_KINDS.index(bounds), COV_KINDS.index(cov_kind), MU_KINDS.index(mu_kind)]
    )
    cov, f, pd = random_cov(rng, n, cov_kind)
    mu = random_mu(rng, n, mu_kind)
    if cov_kind == "duplicate" and n >= 2:
        # a duplicated asset is the same asset twice: same expected return too
        dup = int(np.flatnonzero(np.all(np.isclose(cov, cov[-1]), axis=1))[0])
        mu[-1] = mu[dup]
    if cov_kind == "riskless":
        mu[0] = float(np.min(mu)) - 0.01  # a cash-like asset with the lowest return
    lo, up = random_bounds(rng, n, bounds)
    label = (
        f"random_case(seed={seed}, n={n}, bounds={bounds!r}, cov_kind={cov_kind!r}, "
        f"mu_kind={mu_kind!r})"
    )
    return Case(mu, cov, lo, up, label, pd, {"factor": f})


def two_asset_cov(s1: float, s2: float, rho: float) -> Array:
    """Covariance of two assets from volatilities and correlation."""
    return np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])


def factor_of(cov: Array) -> Array:
    """``F`` with ``cov = F Fᵀ`` (Cholesky when possible, else the PSD eigen-square-root)."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
        keep = vals > 0
        return vecs[:, keep] * np.sqrt(vals[keep])


# --------------------------------------------------------------------------------------------
# Exact feasible return range (greedy LP)
# --------------------------------------------------------------------------------------------
def max_feasible_return(mu: Array, lower: Array, upper: Array) -> float:
    """Exact ``max μᵀw`` subject to ``1ᵀw = 1, l <= w <= u`` (``inf`` when unbounded)."""
    mu = np.asarray(mu, dtype=float)
    if np.isneginf(lower).any():
        hi_mu = mu[np.isposinf(upper)]
        lo_mu = mu[np.isneginf(lower)]
        if hi_mu.size and hi_mu.max() > lo_mu.min():
            return np.inf
        if np.all(mu == mu[0]):
            return float(mu[0])
        from scipy.optimize import linprog

        res = linprog(
            -mu,
            A_eq=np.ones((1, mu.size)),
            b_eq=[1.0],
            bounds=[
                (None if np.isneginf(a) else a, None if np.isposinf(b) else b)
                for a, b in zip(lower, upper, strict=True)
            ],
            method="highs",
        )
        assert res.status == 0, res.message
        return float(-res.fun)
    w = np.array(lower, dtype=float)
    budget = 1.0 - w.sum()
    for i in np.argsort(-mu, kind="stable"):
        if budget <= 0:
            break
        take = min(budget, upper[i] - lower[i])
        w[i] += take
        budget -= take
    return float(mu @ w)


def return_range(mu: Array, lower: Array, upper: Array) -> tuple[float, float]:
    """``(min, max)`` of the achievable expected return under the bounds."""
    mu = np.asarray(mu, dtype=float)
    return -max_feasible_return(-mu, lower, upper), max_feasible_return(mu, lower, upper)


# --------------------------------------------------------------------------------------------
# Reference solvers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefSolution:
    """A reference answer: weights, variance recomputed from them, expected return."""

    weights: Array
    variance: float
    expected_return: float
    solver: str


def _finish(w: Array, mu: Array, cov: Array, solver: str) -> RefSolution:
    w = np.asarray(w, dtype=float).ravel()
    return RefSolution(w, float(w @ cov @ w), float(mu @ w), solver)


def _bound_constraints(w, lower: Array, upper: Array, scale=1.0) -> list:
    cons = []
    fl = np.flatnonzero(np.isfinite(lower))
    fu = np.flatnonzero(np.isfinite(upper))
    if fl.size:
        cons.append(w[fl] >= lower[fl] * scale)
    if fu.size:
        cons.append(w[fu] <= upper[fu] * scale)
    return cons


def _solve(problem) -> None:
    """Solve at the tightest tolerances Clarabel converges to (1e-12, else 1e-10, else 1e-9)."""
    import cvxpy as cp

    status = "not run"
    for tol in (1.0, 1e2, 1e3):
        settings = {
            k: (v * tol if k.startswith("tol") else v) for k, v in CLARABEL_SETTINGS.items()
        }
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "may be inaccurate": the status says so
                problem.solve(solver=cp.CLARABEL, **settings)
        except cp.error.SolverError as err:
            status = str(err)
            continue
        status = problem.status
        if status == "optimal":
            return
    raise AssertionError(f"reference (Clarabel) did not converge: {status}")


def clarabel_min_variance(case: Case, target: float | None = None) -> RefSolution:
    """Minimum variance (at ``target`` return when given) with cvxpy + Clarabel."""
    import cvxpy as cp

    f = case.extra.get("factor")
    if f is None:
        f = factor_of(case.cov)
    w = cp.Variable(case.n)
    cons = [cp.sum(w) == 1, *_bound_constraints(w, case.lower, case.upper)]
    if target is not None:
        cons.append(case.mu @ w == target)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(f.T @ w)), cons)
    _solve(prob)
    return _finish(w.value, case.mu, case.cov, "clarabel")


class ClarabelFrontier:
    """One compiled cvxpy problem per case, re-solved for many target returns (fast)."""

    def __init__(self, case: Case) -> None:
        import cvxpy as cp

        self.case = case
        f = case.extra.get("factor")
        if f is None:
            f = factor_of(case.cov)
        self._w = cp.Variable(case.n)
        self._r = cp.Parameter()
        cons = [
            cp.sum(self._w) == 1,
            case.mu @ self._w == self._r,
            *_bound_constraints(self._w, case.lower, case.upper),
        ]
        self._prob = cp.Problem(cp.Minimize(cp.sum_squares(f.T @ self._w)), cons)

    def at_return(self, target: float) -> RefSolution:
        self._r.value = float(target)
        _solve(self._prob)
        return _finish(self._w.value, self.case.mu, self.case.cov, "clarabel")


def clarabel_max_return(case: Case, target_volatility: float) -> RefSolution:
    """Highest expected return with volatility at most ``target_volatility``."""
    import cvxpy as cp

    f = case.extra.get("factor")
    if f is None:
        f = factor_of(case.cov)
    w = cp.Variable(case.n)
    cons = [
        cp.sum(w) == 1,
        cp.norm(f.T @ w, 2) <= target_volatility,
        *_bound_constraints(w, case.lower, case.upper),
    ]
    prob = cp.Problem(cp.Maximize(case.mu @ w), cons)
    _solve(prob)
    return _finish(w.value, case.mu, case.cov, "clarabel")


def clarabel_max_sharpe(case: Case, rf: float) -> RefSolution:
    """Maximum Sharpe ratio through the homogenised QP (y = κw, (μ − rf)ᵀy = 1)."""
    import cvxpy as cp

    f = case.extra.get("factor")
    if f is None:
        f = factor_of(case.cov)
    y = cp.Variable(case.n)
    kappa = cp.Variable(nonneg=True)
    cons = [(case.mu - rf) @ y == 1, cp.sum(y) == kappa]
    fl = np.flatnonzero(np.isfinite(case.lower))
    fu = np.flatnonzero(np.isfinite(case.upper))
    if fl.size:
        cons.append(y[fl] >= case.lower[fl] * kappa)
    if fu.size:
        cons.append(y[fu] <= case.upper[fu] * kappa)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(f.T @ y)), cons)
    _solve(prob)
    return _finish(y.value / kappa.value, case.mu, case.cov, "clarabel")


def clarabel_max_utility(case: Case, delta: float) -> RefSolution:
    """Maximum ``μᵀw − (δ/2) wᵀΣw``."""
    import cvxpy as cp

    f = case.extra.get("factor")
    if f is None:
        f = factor_of(case.cov)
    w = cp.Variable(case.n)
    cons = [cp.sum(w) == 1, *_bound_constraints(w, case.lower, case.upper)]
    prob = cp.Problem(cp.Maximize(case.mu @ w - 0.5 * delta * cp.sum_squares(f.T @ w)), cons)
    _solve(prob)
    return _finish(w.value, case.mu, case.cov, "clarabel")


def _quadprog(g: Array, a: Array, eq: list[tuple[Array, float]], case: Case) -> Array:
    import quadprog

    cols, rhs = [], []
    for row, val in eq:
        cols.append(row)
        rhs.append(val)
    eye = np.eye(case.n)
    for i in np.flatnonzero(np.isfinite(case.lower)):
        cols.append(eye[i])
        rhs.append(case.lower[i])
    for i in np.flatnonzero(np.isfinite(case.upper)):
        cols.append(-eye[i])
        rhs.append(-case.upper[i])
    return quadprog.solve_qp(g, a, np.column_stack(cols), np.array(rhs), meq=len(eq))[0]


def quadprog_min_variance(case: Case, target: float | None = None) -> RefSolution:
    """Minimum variance with quadprog (Σ must be positive definite)."""
    assert case.pd, "quadprog needs a positive definite covariance"
    eq = [(np.ones(case.n), 1.0)]
    if target is not None and not np.all(case.mu == case.mu[0]):
        eq.append((case.mu, float(target)))
    w = _quadprog(2.0 * case.cov, np.zeros(case.n), eq, case)
    return _finish(w, case.mu, case.cov, "quadprog")


def quadprog_max_utility(case: Case, delta: float) -> RefSolution:
    """Maximum ``μᵀw − (δ/2) wᵀΣw`` with quadprog (Σ positive definite)."""
    assert case.pd, "quadprog needs a positive definite covariance"
    w = _quadprog(delta * case.cov, case.mu, [(np.ones(case.n), 1.0)], case)
    return _finish(w, case.mu, case.cov, "quadprog")


def golden_max_sharpe(case: Case, rf: float, lo: float, hi: float, iters: int = 90) -> float:
    """Max Sharpe ratio by golden-section search over quadprog frontier points.

    The Sharpe ratio along the efficient frontier is unimodal; at the maximum it is flat, so
    an error ``e`` in the location costs only ``O(e²)`` in the value.
    """

    def sharpe(r: float) -> float:
        sol = quadprog_min_variance(case, r)
        return (sol.expected_return - rf) / np.sqrt(sol.variance)

    # quadprog cannot take a target exactly at an end of the feasible range (the equality
    # constraints become dependent): stay 1e-12 of the range inside, which moves the Sharpe
    # ratio by O(1e-12) relative at most
    lo, hi = lo + 1e-12 * (hi - lo), hi - 1e-12 * (hi - lo)
    phi = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = sharpe(c), sharpe(d)
    for _ in range(iters):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - phi * (b - a)
            fc = sharpe(c)
        else:
            a, c, fc = c, d, fd
            d = a + phi * (b - a)
            fd = sharpe(d)
    return max(fc, fd, sharpe(lo), sharpe(hi))


# --------------------------------------------------------------------------------------------
# Certificate checker
# --------------------------------------------------------------------------------------------
@dataclass
class Certificate:
    """Residuals recomputed from a result's weights (all relative, see check_certificate)."""

    budget: float
    bounds: float
    target: float
    ret: float
    variance: float
    volatility: float
    stationarity: float
    signs: float
    complementarity: float
    flags: float
    eta_sign: float

    def worst_primal(self) -> float:
        return max(self.budget, self.bounds, self.target)

    def worst_dual(self) -> float:
        return max(self.stationarity, self.signs, self.complementarity, self.eta_sign)


def check_certificate(
    res,
    mu: Array | None,
    cov: Array,
    lower: Array,
    upper: Array,
    *,
    target_return: float | None = None,
    kind: str = "any",
    risk_free_rate: float | None = None,
    primal_tol: float = PRIMAL_TOL,
    dual_tol: float = DUAL_TOL,
    where: str = "",
) -> Certificate:
    """Assert that ``res`` is a certified optimum; return the recomputed residuals.

    Parameters
    ----------
    res : PortfolioResult
    mu, cov, lower, upper : the problem (``mu=None`` for a GMV without returns)
    target_return : float, optional
        Check ``μᵀw = target_return`` too.
    kind : {"any", "gmv", "efficient"}
        ``"gmv"``: the return multiplier must be 0; ``"efficient"``: it must be >= 0 (on the
        upper branch of the frontier).
    risk_free_rate : float, optional
        Check the reported Sharpe ratio.

    Scales: the budget relative to ``‖w‖₁``; bounds in weight units (relative to
    ``max(1, |bound|)``); returns relative to ``|μ|ᵀ|w|``; variance relative to ``|w|ᵀ|Σ||w|``
    (the size of the terms summed, so rounding is ``O(n·eps)`` of it), or for a (nearly)
    riskless portfolio the volatility in units of ``sqrt(max|Σ|)·‖w‖₁``. Stationarity relative
    to ``max(‖2Σw‖∞, |γ|, |η|·‖μ‖∞, ‖2|Σ||w|‖∞, 1e-4·2·max|Σ|·‖w‖₁)`` — the contract's scale
    plus the magnitude of the terms summed in ``2Σw`` (the gradient cannot be computed more
    accurately than that), with a floor that only matters at a riskless optimum.
    """
    n = cov.shape[0]
    tag = f" [{where}]" if where else ""
    w = np.asarray(res.weights)
    assert w.shape == (n,), f"weights shape {w.shape}{tag}"
    assert w.dtype == np.float64, f"weights dtype {w.dtype}{tag}"
    assert np.all(np.isfinite(w)), f"non-finite weights {w}{tag}"
    assert res.status == "optimal", f"status {res.status!r}{tag}"
    at_lo = np.asarray(res.at_lower)
    at_up = np.asarray(res.at_upper)
    z = np.asarray(res.bound_multipliers, dtype=float)
    for name, flags in (("at_lower", at_lo), ("at_upper", at_up)):
        assert flags.shape == (n,), f"{name} shape {flags.shape}{tag}"
        assert flags.dtype == np.bool_, f"{name} dtype {flags.dtype}{tag}"
    assert z.shape == (n,), f"bound multipliers shape {z.shape}{tag}"
    assert np.all(np.isfinite(z)), f"bound multipliers {z!r}{tag}"
    gamma = float(res.budget_multiplier)
    eta = float(res.return_multiplier)
    assert np.isfinite(gamma), f"budget multiplier γ={gamma}{tag}"
    assert np.isfinite(eta), f"return multiplier η={eta}{tag}"
    m = np.zeros(n) if mu is None else np.asarray(mu, dtype=float)
    lo = np.asarray(lower, dtype=float)
    up = np.asarray(upper, dtype=float)

    # --- primal -------------------------------------------------------------------------
    w1 = max(float(np.abs(w).sum()), 1.0)
    budget = abs(float(w.sum()) - 1.0) / w1
    flo, fup = np.isfinite(lo), np.isfinite(up)
    viol_lo = (lo[flo] - w[flo]) / np.maximum(1.0, np.abs(lo[flo]))
    viol_up = (w[fup] - up[fup]) / np.maximum(1.0, np.abs(up[fup]))
    bounds = max(0.0, float(viol_lo.max(initial=0.0)), float(viol_up.max(initial=0.0)))
    ret_scale = max(float(np.abs(m) @ np.abs(w)), 1e-300)
    ret = float(m @ w)
    target = 0.0 if target_return is None else abs(ret - target_return) / ret_scale
    assert budget <= primal_tol, f"budget: sum(w) - 1 = {w.sum() - 1:.3e}{tag}"
    assert bounds <= primal_tol, f"bounds violated by {bounds:.3e}: w={w}{tag}"
    assert target <= primal_tol, (
        f"return {ret!r} misses target {target_return!r} (rel {target:.3e}){tag}"
    )

    # --- reported statistics ----------------------------------------------------------------
    ret_err = 0.0 if mu is None else abs(float(res.expected_return) - ret) / ret_scale
    assert ret_err <= primal_tol, f"reported return {res.expected_return!r} != μᵀw {ret!r}{tag}"
    var = float(w @ cov @ w)
    var_scale = max(float(np.abs(w) @ np.abs(cov) @ np.abs(w)), 1e-300)
    # Near a riskless portfolio wᵀΣw is O(eps²) noise; there, compare volatilities in units
    # of sqrt(max|Σ|)·‖w‖₁ (how far a weight error of one unit can move the volatility).
    vol_unit = max(float(np.sqrt(np.abs(cov).max())) * w1, 1e-300)
    true_vol = float(np.sqrt(max(var, 0.0)))
    var_err = min(
        abs(float(res.variance) - var) / var_scale,
        abs(float(np.sqrt(max(res.variance, 0.0))) - true_vol) / vol_unit,
    )
    assert var_err <= primal_tol, f"reported variance {res.variance!r} != wᵀΣw {var!r}{tag}"
    vol_err = min(
        abs(float(res.volatility) ** 2 - var) / var_scale,
        abs(float(res.volatility) - true_vol) / vol_unit,
    )
    assert vol_err <= primal_tol, f"reported volatility {res.volatility!r}² != wᵀΣw {var!r}{tag}"
    assert res.volatility >= 0.0, f"negative volatility {res.volatility}{tag}"
    assert (
        abs(res.volatility - np.sqrt(max(res.variance, 0.0)))
        <= 1e-15 * max(res.volatility, 1e-300) + 1e-300
    ), f"volatility != sqrt(variance){tag}"
    if risk_free_rate is not None:
        assert res.risk_free_rate == risk_free_rate, f"rf {res.risk_free_rate}{tag}"
        if res.volatility > 0:
            want = (ret - risk_free_rate) / np.sqrt(var)
            assert res.sharpe_ratio is not None
            assert abs(res.sharpe_ratio - want) <= 1e-10 * max(1.0, abs(want)), (
                f"Sharpe {res.sharpe_ratio!r} != (μᵀw − rf)/σ {want!r}{tag}"
            )

    # --- bound flags --------------------------------------------------------------------
    flag_err = 0.0
    for flags, bnd in ((at_lo, lo), (at_up, up)):
        if flags.any():
            assert np.all(np.isfinite(bnd[flags])), f"flagged at an infinite bound{tag}"
            flag_err = max(
                flag_err,
                float(np.max(np.abs(w[flags] - bnd[flags]) / np.maximum(1.0, np.abs(bnd[flags])))),
            )
    assert flag_err <= primal_tol, f"a flagged asset is {flag_err:.3e} away from its bound{tag}"
    # an asset clearly inside its bounds must not be flagged
    inside_lo = np.where(flo, w - np.where(flo, lo, 0.0), np.inf) > 1e-9
    inside_up = np.where(fup, np.where(fup, up, 0.0) - w, np.inf) > 1e-9
    assert not np.any(at_lo & inside_lo), f"at_lower set on an interior asset{tag}"
    assert not np.any(at_up & inside_up), f"at_upper set on an interior asset{tag}"

    # --- stationarity 2Σw = γ1 + ημ + z with the reported multipliers -----------------------
    g = 2.0 * cov @ w
    gabs = 2.0 * np.abs(cov) @ np.abs(w)
    # floor: rounding fixes 2Σw only to ~n·eps·max|Σ|·‖w‖₁ (n <= 60 here: ~7e-15); 1e-4 of
    # that scale makes the 1e-9 test an absolute 1e-13·2·max|Σ|·‖w‖₁ at a riskless optimum,
    # and is far below ‖2Σw‖ anywhere else
    floor = 1e-4 * 2.0 * float(np.abs(cov).max()) * w1
    scale = max(
        float(np.abs(g).max()),
        abs(gamma),
        abs(eta) * float(np.abs(m).max(initial=0)),
        float(gabs.max()),
        floor,
        1e-300,
    )
    stat = float(np.abs(g - gamma - eta * m - z).max()) / scale
    assert stat <= dual_tol, (
        f"stationarity residual {stat:.3e}: 2Σw − γ1 − ημ − z = {g - gamma - eta * m - z}{tag}"
    )
    # signs: z > 0 only at a binding lower bound, z < 0 only at a binding upper bound
    zpos = np.maximum(z, 0.0)
    zneg = np.maximum(-z, 0.0)
    sign = (
        max(float(np.max(zpos * ~at_lo, initial=0.0)), float(np.max(zneg * ~at_up, initial=0.0)))
        / scale
    )
    assert sign <= dual_tol, f"bound multiplier of the wrong sign/unflagged: z={z}{tag}"
    # (a multiplier towards an infinite bound is already a sign violation above)
    comp = np.zeros(n)
    pos, neg = zpos > 0, zneg > 0
    comp[pos & flo] = zpos[pos & flo] * np.abs(w - lo)[pos & flo]
    comp[neg & fup] = np.maximum(comp[neg & fup], zneg[neg & fup] * np.abs(up - w)[neg & fup])
    compl = float(comp.max()) / scale
    assert compl <= dual_tol, f"complementarity {compl:.3e}{tag}"

    eta_sign = 0.0
    if kind == "gmv" and mu is not None:
        eta_sign = abs(eta) * float(np.abs(m).max(initial=0)) / scale
        assert eta_sign <= dual_tol, f"GMV return multiplier {eta} is not 0{tag}"
    elif kind == "efficient":
        eta_sign = max(0.0, -eta) * float(np.abs(m).max(initial=0)) / scale
        assert eta_sign <= dual_tol, f"return multiplier {eta} < 0 on the efficient branch{tag}"

    return Certificate(
        budget, bounds, target, ret_err, var_err, vol_err, stat, sign, compl, flag_err, eta_sign
    )


def assert_own_kkt(*results, tol: float = DUAL_TOL, where: str = "") -> None:
    """The result's own ``kkt`` field must agree that a (verified) optimum is optimal.

    Kept apart from :func:`check_certificate` (and called last in a test) so that a wrong
    ``kkt`` field does not hide other failures.
    """
    for res in results:
        assert res.kkt.is_optimal(tol), (
            f"the result's own kkt says not optimal: {res.kkt} ({res.objective}, variance "
            f"{res.variance!r}) {where}"
        )


def return_tol_from_volatility(p) -> float:
    """How precisely a frontier volatility determines the return (for vol → return checks).

    ``dσ/dr = η/(2σ)``: a volatility known to a relative 1e-12 fixes the return to
    ``1e-12·2σ²/η``, which blows up at the GMV vertex (η = 0; there the return is fixed
    only to ~sqrt(eps)). 1e-11 leaves a factor 10 on top of that.
    """
    cond = 2 * p.variance / max(p.return_multiplier, 1e-300)
    return 1e-11 * max(1.0, cond) * max(1.0, abs(p.expected_return))


def rel_diff(a: float, b: float, floor: float = 1e-300) -> float:
    """``|a − b| / max(|a|, |b|, floor)``."""
    return abs(a - b) / max(abs(a), abs(b), floor)


_PCT = re.compile(r"(-?\d+(?:\.\d+)?)\s*%")


def percentages_in(message: str) -> list[float]:
    """Every ``12.34%`` in a message, as decimals."""
    return [float(x) / 100.0 for x in _PCT.findall(message)]


def states_value(message: str, value: float) -> bool:
    """Whether ``message`` shows ``value`` as a percentage at its printed precision."""
    for text in _PCT.findall(message):
        decimals = len(text.split(".")[1]) if "." in text else 0
        if abs(float(text) - 100.0 * value) <= 0.5 * 10.0**-decimals + 1e-9:
            return True
    return False


# --------------------------------------------------------------------------------------------
# Exact rational reference (small problems): polish an approximate active set exactly
# --------------------------------------------------------------------------------------------
def _fraction_solve(a: list[list], b: list) -> list | None:
    """Solve ``a x = b`` exactly over the rationals; None when singular."""
    from fractions import Fraction

    m = len(b)
    rows = [[Fraction(v) for v in row] + [Fraction(bv)] for row, bv in zip(a, b, strict=True)]
    for col in range(m):
        piv = next((r for r in range(col, m) if rows[r][col] != 0), None)
        if piv is None:
            return None
        rows[col], rows[piv] = rows[piv], rows[col]
        p = rows[col][col]
        for r in range(col + 1, m):
            f = rows[r][col] / p
            if f:
                rows[r] = [x - f * y for x, y in zip(rows[r], rows[col], strict=True)]
    x = [Fraction(0)] * m
    for r in range(m - 1, -1, -1):
        s = rows[r][m] - sum(rows[r][c] * x[c] for c in range(r + 1, m))
        x[r] = s / rows[r][r]
    return x


@dataclass(frozen=True)
class ExactSolution:
    """An exactly optimal portfolio (rational arithmetic on the float inputs)."""

    weights: Array
    variance: float
    expected_return: float
    gamma: float
    eta: float


def exact_min_variance(
    case: Case, target: float | None, guess: Array, tol: float = 1e-7
) -> ExactSolution | None:
    """Exact minimum variance (at ``target`` when given) for the active set read off ``guess``.

    Assets within ``tol`` of a bound are fixed there; the KKT system of the rest is solved in
    rational arithmetic on the exact binary values of the inputs and every optimality
    condition is verified exactly. Returns None when the guessed active set is not optimal or
    the system is singular (the caller then relies on the floating-point references).
    """
    from fractions import Fraction as Fr

    n = case.n
    mu = [Fr(float(v)) for v in case.mu]
    cov = [[Fr(float(v)) for v in row] for row in case.cov]
    state = np.zeros(n, dtype=int)
    state[np.isfinite(case.lower) & (np.abs(guess - case.lower) <= tol)] = -1
    state[np.isfinite(case.upper) & (np.abs(guess - case.upper) <= tol)] = 1
    fixed = {
        i: Fr(float(case.lower[i] if state[i] < 0 else case.upper[i])) for i in range(n) if state[i]
    }
    free = [i for i in range(n) if not state[i]]
    with_ret = target is not None
    k = len(free)
    m = k + 1 + int(with_ret)
    a = [[Fr(0)] * m for _ in range(m)]
    b = [Fr(0)] * m
    for r, i in enumerate(free):
        for c, j in enumerate(free):
            a[r][c] = 2 * cov[i][j]
        a[r][k] = Fr(-1)
        if with_ret:
            a[r][k + 1] = -mu[i]
        b[r] = -2 * sum(cov[i][j] * v for j, v in fixed.items())
    for c in range(k):
        a[k][c] = Fr(1)
    b[k] = 1 - sum(fixed.values())
    if with_ret:
        for c, i in enumerate(free):
            a[k + 1][c] = mu[i]
        b[k + 1] = Fr(float(target)) - sum(mu[i] * v for i, v in fixed.items())
    # At an end of the feasible return range the free assets all have the same expected
    # return c, so the return row duplicates the budget row: drop it and keep η as a free
    # parameter (γ' = γ + ηc is then determined), to be chosen from the sign conditions.
    eta_free = with_ret and k > 0 and all(mu[i] == mu[free[0]] for i in free)
    if eta_free:
        c_mu = mu[free[0]]
        a = [row[: k + 1] for row in a[: k + 1]]
        b = b[: k + 1]
        for r in range(k):
            a[r][k] = Fr(-1)
    if k == 0 and with_ret:
        return None  # every asset at a bound: a 2-D multiplier search, not handled here
    x = _fraction_solve(a, b)
    if x is None:
        return None
    w = dict(fixed)
    for c, i in enumerate(free):
        w[i] = x[c]
    wl = [w[i] for i in range(n)]
    for i in range(n):
        lo, up = case.lower[i], case.upper[i]
        if np.isfinite(lo) and wl[i] < Fr(float(lo)):
            return None
        if np.isfinite(up) and wl[i] > Fr(float(up)):
            return None
    g = [2 * sum(cov[i][j] * wl[j] for j in range(n)) for i in range(n)]
    if eta_free:
        # the face is pinned by the bounds; the float target is its return up to rounding
        ret_exact = sum(mu[i] * wl[i] for i in range(n))
        scale = sum(abs(mu[i] * wl[i]) for i in range(n))
        if abs(ret_exact - Fr(float(target))) > Fr(1, 10**14) * scale:
            return None
        gp = x[k]  # γ' : z_i = g_i − γ' − η(μ_i − c)
        eta_lo, eta_hi = None, None
        for i in range(n):
            if not state[i] or mu[i] == c_mu:
                if state[i] and (
                    (state[i] < 0 and g[i] - gp < 0) or (state[i] > 0 and g[i] - gp > 0)
                ):
                    return None
                continue
            # need s·(g_i − γ' − η d) >= 0 with s = +1 at a lower bound, −1 at an upper bound
            d = mu[i] - c_mu
            bound = (g[i] - gp) / d
            s = 1 if state[i] < 0 else -1
            if s * d > 0:  # η <= bound
                eta_hi = bound if eta_hi is None else min(eta_hi, bound)
            else:  # η >= bound
                eta_lo = bound if eta_lo is None else max(eta_lo, bound)
        if eta_lo is not None and eta_hi is not None and eta_lo > eta_hi:
            return None
        eta = eta_lo if eta_lo is not None else (eta_hi if eta_hi is not None else Fr(0))
        gamma = gp - eta * c_mu
    else:
        gamma = x[k]
        eta = x[k + 1] if with_ret else Fr(0)
        for i in range(n):
            if state[i]:
                zi = g[i] - gamma - eta * mu[i]
                if (state[i] < 0 and zi < 0) or (state[i] > 0 and zi > 0):
                    return None
    var = sum(wl[i] * cov[i][j] * wl[j] for i in range(n) for j in range(n))
    ret = sum(mu[i] * wl[i] for i in range(n))
    return ExactSolution(
        np.array([float(v) for v in wl]), float(var), float(ret), float(gamma), float(eta)
    )


# ============================================================================================
# Constrained problems (issue 11): general linear rows lo_j <= a_jᵀw <= hi_j
# ============================================================================================
#
# Nothing here imports the solver under test (``LinearConstraints`` is only built, in
# :meth:`ConsCase.constraints`, as the input the solver takes).
#
# * Reference answers: cvxpy + Clarabel (1e-12 tolerances, factor form) for every objective,
#   then *polished* (:func:`polish_qp`): the active set read off Clarabel's answer fixes an
#   equality-constrained KKT system, solved in float64 with iterative refinement in extended
#   precision and accepted only when every optimality condition holds (primal feasibility to
#   1e-14, multiplier signs). A certified polished answer is a global optimum of the convex
#   problem accurate to rounding, so the solver under test is compared against it at 1e-12;
#   where polishing does not certify (a degenerate active set the guess misses), tests fall
#   back to Clarabel's 1e-8 and the solver's own certificate (:func:`check_constrained`).
# * Seeded generators (:func:`constrained_case`): sector groups with min and max, overlapping
#   region x sector groups, dense exposure rows, equalities, and the degenerate families of
#   :data:`DEGENERATE_KINDS`.

POLISH_FEAS_TOL = 1e-14  # primal feasibility of a polished reference (weight units)
POLISH_DUAL_TOL = 1e-12  # multiplier signs / stationarity of a polished reference (relative)
CONS_KINDS = ("sectors", "overlap", "dense", "equality", "mixed")
DEGENERATE_KINDS = (
    "redundant",
    "duplicate",
    "dependent",
    "budget_dependent",
    "all_assets",
    "single_asset",
    "empty",
    "tied",
    "singular",
    "riskless",
    "ties",
)
SECTORS = (
    "Energy",
    "Materials",
    "Industrials",
    "ConsDisc",
    "ConsStaples",
    "Health",
    "Financials",
    "IT",
    "Comm",
    "Utilities",
    "RealEstate",
)
REGIONS = ("US", "Europe", "Japan", "Emerging")


@dataclass(frozen=True)
class ConsCase(Case):
    """A problem with general linear rows ``c_lower <= A w <= c_upper`` (``±inf``: no limit)."""

    A: Array = field(default_factory=lambda: np.zeros((0, 0)))
    c_lower: Array = field(default_factory=lambda: np.zeros(0))
    c_upper: Array = field(default_factory=lambda: np.zeros(0))
    names: tuple[str, ...] = ()

    @property
    def m(self) -> int:
        return int(self.A.shape[0])

    def constraints(self):
        """The rows as the solver's input (``xlfrontier.core.constraints.LinearConstraints``)."""
        from xlfrontier.core.constraints import LinearConstraints

        return LinearConstraints(self.A, self.c_lower, self.c_upper, names=list(self.names))

    def rows(self) -> tuple[Array, Array, Array]:
        """Every linear condition on ``w`` as rows ``lo <= C w <= hi``: budget, bounds, rows.

        Order: the budget (row 0), finite lower/upper bounds as identity rows (one row per
        asset with either bound finite), then the general rows.
        """
        n = self.n
        fin = np.flatnonzero(np.isfinite(self.lower) | np.isfinite(self.upper))
        c = np.vstack([np.ones((1, n)), np.eye(n)[fin], self.A.reshape(-1, n)])
        lo = np.concatenate([[1.0], self.lower[fin], self.c_lower])
        hi = np.concatenate([[1.0], self.upper[fin], self.c_upper])
        return c, lo, hi


def _row_constraints(w, case: Case, scale=1.0) -> list:
    """cvxpy constraints for a ConsCase's general rows (``scale``: κ in the Sharpe form)."""
    if not isinstance(case, ConsCase) or case.m == 0:
        return []
    cons = []
    a, lo, hi = case.A, case.c_lower, case.c_upper
    eq = np.flatnonzero(lo == hi)
    fl = np.flatnonzero(np.isfinite(lo) & (lo != hi))
    fu = np.flatnonzero(np.isfinite(hi) & (lo != hi))
    if eq.size:
        cons.append(a[eq] @ w == lo[eq] * scale)
    if fl.size:
        cons.append(a[fl] @ w >= lo[fl] * scale)
    if fu.size:
        cons.append(a[fu] @ w <= hi[fu] * scale)
    return cons


def _factor(case: Case) -> Array:
    f = case.extra.get("factor")
    return factor_of(case.cov) if f is None else f


def clarabel_c_min_variance(case: Case, target: float | None = None) -> RefSolution:
    """Minimum variance (at ``target`` when given) with the case's rows, cvxpy + Clarabel."""
    import cvxpy as cp

    w = cp.Variable(case.n)
    cons = [
        cp.sum(w) == 1,
        *_bound_constraints(w, case.lower, case.upper),
        *_row_constraints(w, case),
    ]
    if target is not None:
        cons.append(case.mu @ w == target)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(_factor(case).T @ w)), cons)
    _solve(prob)
    return _finish(w.value, case.mu, case.cov, "clarabel")


class ClarabelConsFrontier:
    """One compiled cvxpy problem (rows included) re-solved for many target returns."""

    def __init__(self, case: Case) -> None:
        import cvxpy as cp

        self.case = case
        self._w = cp.Variable(case.n)
        self._r = cp.Parameter()
        cons = [
            cp.sum(self._w) == 1,
            case.mu @ self._w == self._r,
            *_bound_constraints(self._w, case.lower, case.upper),
            *_row_constraints(self._w, case),
        ]
        self._prob = cp.Problem(cp.Minimize(cp.sum_squares(_factor(case).T @ self._w)), cons)

    def at_return(self, target: float) -> RefSolution:
        self._r.value = float(target)
        _solve(self._prob)
        return _finish(self._w.value, self.case.mu, self.case.cov, "clarabel")


def clarabel_c_max_return(case: Case, target_volatility: float) -> RefSolution:
    """Highest expected return at volatility at most ``target_volatility``, with the rows."""
    import cvxpy as cp

    w = cp.Variable(case.n)
    cons = [
        cp.sum(w) == 1,
        cp.norm(_factor(case).T @ w, 2) <= target_volatility,
        *_bound_constraints(w, case.lower, case.upper),
        *_row_constraints(w, case),
    ]
    _solve(cp.Problem(cp.Maximize(case.mu @ w), cons))
    return _finish(w.value, case.mu, case.cov, "clarabel")


def clarabel_c_max_utility(case: Case, delta: float) -> RefSolution:
    """Maximum ``μᵀw − (δ/2) wᵀΣw`` with the rows."""
    import cvxpy as cp

    w = cp.Variable(case.n)
    cons = [
        cp.sum(w) == 1,
        *_bound_constraints(w, case.lower, case.upper),
        *_row_constraints(w, case),
    ]
    obj = cp.Maximize(case.mu @ w - 0.5 * delta * cp.sum_squares(_factor(case).T @ w))
    _solve(cp.Problem(obj, cons))
    return _finish(w.value, case.mu, case.cov, "clarabel")


def clarabel_c_max_sharpe(case: Case, rf: float) -> tuple[RefSolution, float]:
    """Maximum Sharpe ratio through the homogenised QP; returns ``(solution, κ)``.

    ``y = κw``: minimise ``yᵀΣy`` subject to ``(μ − rf)ᵀy = 1``, ``1ᵀy = κ``, ``κ ≥ 0``,
    ``l·κ ≤ y ≤ u·κ`` and ``lo·κ ≤ A y ≤ hi·κ``.
    """
    import cvxpy as cp

    y = cp.Variable(case.n)
    kappa = cp.Variable(nonneg=True)
    cons = [
        (case.mu - rf) @ y == 1,
        cp.sum(y) == kappa,
        *_bound_constraints(y, case.lower, case.upper, scale=kappa),
        *_row_constraints(y, case, scale=kappa),
    ]
    _solve(cp.Problem(cp.Minimize(cp.sum_squares(_factor(case).T @ y)), cons))
    k = float(kappa.value)
    return _finish(y.value / k, case.mu, case.cov, "clarabel"), k


# --------------------------------------------------------------------------------------------
# Polishing: exact KKT solution on the active set read off an approximate answer
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Polished:
    """A polished QP solution ``x`` with row multipliers ``lam`` (one per row of ``C``).

    ``certified``: every optimality condition of ``min ½xᵀHx + fᵀx, lo <= Cx <= hi`` holds to
    rounding (then ``x`` is a global optimum of that convex problem).
    """

    x: Array
    lam: Array
    certified: bool
    why: str = ""


def _refined_solve(k: Array, rhs: Array) -> Array:
    """Least-squares solve of ``k z = rhs`` with two steps of extended-precision refinement."""
    import scipy.linalg

    z = scipy.linalg.lstsq(k, rhs, lapack_driver="gelsd")[0]
    kl = k.astype(np.longdouble)
    for _ in range(2):
        r = np.asarray(rhs.astype(np.longdouble) - kl @ z.astype(np.longdouble), dtype=float)
        z = z + scipy.linalg.lstsq(k, r, lapack_driver="gelsd")[0]
    return z


def polish_qp(
    h: Array,
    f: Array,
    c: Array,
    lo: Array,
    hi: Array,
    guess: Array,
    tols: tuple[float, ...] = (1e-7, 1e-9, 1e-6, 1e-5),
) -> Polished:
    """Polish ``guess`` for ``min ½xᵀHx + fᵀx`` subject to ``lo <= C x <= hi``.

    For each activity tolerance in ``tols``, the rows within it of a limit (and every equality
    row) are made equalities; the KKT system ``H x − C_Aᵀλ = −f, C_A x = b_A`` is solved (least
    squares: dependent rows allowed) and the answer is accepted when ``x`` satisfies every row
    to :data:`POLISH_FEAS_TOL`, the multipliers have the right signs (``λ ≥ 0`` at a lower
    limit, ``≤ 0`` at an upper limit) and stationarity holds, both to :data:`POLISH_DUAL_TOL`
    relative. The first certified answer is returned; otherwise the last one, uncertified.
    """
    nx = h.shape[0]
    cx = c @ guess
    span = np.maximum(1.0, np.abs(np.where(np.isfinite(hi), hi, lo)))
    eq = lo == hi
    last = Polished(guess, np.zeros(c.shape[0]), False, "not tried")
    seen: set[bytes] = set()
    for tol in tols:
        at_lo = np.isfinite(lo) & (np.abs(cx - lo) <= tol * span) & ~eq
        at_hi = np.isfinite(hi) & (np.abs(cx - hi) <= tol * span) & ~eq & ~at_lo
        act = eq | at_lo | at_hi
        key = (at_lo.tobytes(), at_hi.tobytes())
        if key in seen:
            continue
        seen.add(b"".join(key))
        idx = np.flatnonzero(act)
        b = np.where(at_hi, hi, lo)[idx]
        ca = c[idx]
        k = np.block([[h, -ca.T], [ca, np.zeros((idx.size, idx.size))]])
        z = _refined_solve(k, np.concatenate([-f, b]))
        x, lam_a = z[:nx], z[nx:]
        lam = np.zeros(c.shape[0])
        lam[idx] = lam_a
        why = _kkt_violation(h, f, c, lo, hi, x, lam, at_lo, at_hi, eq)
        if why.startswith("multiplier"):
            # dependent active rows (a group at 0 with all its members at 0, a row twice):
            # the least-squares multipliers are one choice of many; look for one with the
            # right signs (bounded least squares on the stationarity equations)
            lam = _signed_multipliers(h @ x + f, ca, at_lo[idx], at_hi[idx], idx, c.shape[0])
            why = _kkt_violation(h, f, c, lo, hi, x, lam, at_lo, at_hi, eq)
        last = Polished(x, lam, not why, why)
        if not why:
            return last
    return last


def _signed_multipliers(
    grad: Array, ca: Array, lo_act: Array, hi_act: Array, idx: Array, m: int
) -> Array:
    """Multipliers ``λ`` with ``C_Aᵀλ = grad``, ``λ ≥ 0`` at lower and ``≤ 0`` at upper limits."""
    from scipy.optimize import lsq_linear

    lb = np.where(lo_act, 0.0, -np.inf)
    ub = np.where(hi_act, 0.0, np.inf)
    sol = lsq_linear(ca.T, grad, bounds=(lb, ub), method="bvls", tol=1e-15, max_iter=500)
    lam = np.zeros(m)
    lam[idx] = sol.x
    return lam


def _outside(v: Array, lo: Array, hi: Array) -> Array:
    """How far each ``v`` is outside ``[lo, hi]`` (0 inside; infinite limits never bind)."""
    below = np.where(np.isfinite(lo), lo - v, 0.0)
    above = np.where(np.isfinite(hi), v - hi, 0.0)
    return np.maximum(np.maximum(below, above), 0.0)


def _kkt_violation(h, f, c, lo, hi, x, lam, at_lo, at_hi, eq) -> str:
    """Empty when ``(x, λ)`` is a KKT point to rounding, else what fails."""
    cx = c @ x
    cabs = np.abs(c) @ np.abs(x)
    scale_row = np.maximum(1.0, cabs)
    viol = np.maximum(
        np.where(np.isfinite(lo), lo - cx, 0.0), np.where(np.isfinite(hi), cx - hi, 0)
    )
    if float((viol / scale_row).max(initial=0.0)) > POLISH_FEAS_TOL:
        return f"infeasible by {float((viol / scale_row).max()):.1e}"
    grad = h @ x + f
    terms = np.abs(h) @ np.abs(x) + np.abs(f) + np.abs(c.T) @ np.abs(lam)
    dscale = max(float(terms.max(initial=0.0)), 1e-300)
    stat = float(np.abs(grad - c.T @ lam).max(initial=0.0)) / dscale
    if stat > POLISH_DUAL_TOL:
        return f"stationarity {stat:.1e}"
    wrong = np.where(at_lo, np.maximum(-lam, 0.0), 0.0) + np.where(at_hi, np.maximum(lam, 0.0), 0)
    if float(wrong.max(initial=0.0)) / dscale > POLISH_DUAL_TOL:
        return f"multiplier of the wrong sign {float(wrong.max()) / dscale:.1e}"
    return ""


def _mv_rows(case: ConsCase, target: float | None) -> tuple[Array, Array, Array]:
    c, lo, hi = case.rows()
    if target is not None:
        c = np.vstack([c, case.mu])
        lo = np.append(lo, target)
        hi = np.append(hi, target)
    return c, lo, hi


def polished_min_variance(
    case: ConsCase, target: float | None = None, guess: Array | None = None
) -> tuple[RefSolution, Polished]:
    """Clarabel's minimum variance (at ``target``), polished; ``(solution, polish)``.

    The solution is the polished one when it certifies, else Clarabel's own.
    """
    if guess is None:
        guess = clarabel_c_min_variance(case, target).weights
    c, lo, hi = _mv_rows(case, target)
    pol = polish_qp(2.0 * case.cov, np.zeros(case.n), c, lo, hi, guess)
    w = pol.x if pol.certified else guess
    return _finish(w, case.mu, case.cov, "polished" if pol.certified else "clarabel"), pol


def polished_max_utility(case: ConsCase, delta: float) -> tuple[RefSolution, Polished]:
    """Clarabel's maximum utility, polished (``min (δ/2)wᵀΣw − μᵀw``)."""
    guess = clarabel_c_max_utility(case, delta).weights
    c, lo, hi = case.rows()
    pol = polish_qp(delta * case.cov, -case.mu, c, lo, hi, guess)
    w = pol.x if pol.certified else guess
    return _finish(w, case.mu, case.cov, "polished" if pol.certified else "clarabel"), pol


def polished_max_sharpe(case: ConsCase, rf: float) -> tuple[RefSolution, Polished]:
    """Clarabel's maximum Sharpe ratio, polished in the homogenised form ``x = (y, κ)``."""
    ref, kappa = clarabel_c_max_sharpe(case, rf)
    n = case.n
    rows, lo_r, hi_r = [], [], []

    def add(row: Array, lo: float, hi: float) -> None:
        rows.append(row)
        lo_r.append(lo)
        hi_r.append(hi)

    add(np.append(case.mu - rf, 0.0), 1.0, 1.0)
    add(np.append(np.ones(n), -1.0), 0.0, 0.0)
    add(np.append(np.zeros(n), 1.0), 0.0, np.inf)  # κ ≥ 0
    eye = np.eye(n)
    for i in range(n):
        if np.isfinite(case.lower[i]):
            add(np.append(eye[i], -case.lower[i]), 0.0, np.inf)
        if np.isfinite(case.upper[i]):
            add(np.append(eye[i], -case.upper[i]), -np.inf, 0.0)
    for j in range(case.m if isinstance(case, ConsCase) else 0):
        a, lo, hi = case.A[j], case.c_lower[j], case.c_upper[j]
        if lo == hi:
            add(np.append(a, -lo), 0.0, 0.0)
            continue
        if np.isfinite(lo):
            add(np.append(a, -lo), 0.0, np.inf)
        if np.isfinite(hi):
            add(np.append(a, -hi), -np.inf, 0.0)
    h = np.zeros((n + 1, n + 1))
    h[:n, :n] = 2.0 * case.cov
    guess = np.append(ref.weights * kappa, kappa)
    pol = polish_qp(h, np.zeros(n + 1), np.array(rows), np.array(lo_r), np.array(hi_r), guess)
    if pol.certified and pol.x[n] > 0:
        return _finish(pol.x[:n] / pol.x[n], case.mu, case.cov, "polished"), pol
    return ref, Polished(pol.x, pol.lam, False, pol.why or "κ = 0")


def polished_max_return(
    case: ConsCase, target_volatility: float, iters: int = 6
) -> tuple[RefSolution, Polished | None]:
    """Highest return at a volatility: Newton steps on the polished frontier from Clarabel's.

    The efficient frontier is ``σ(r)`` with ``dσ/dr = η/(2σ)``; starting from Clarabel's return
    (good to ~1e-9), each step re-polishes the minimum variance at the new return, so the
    answer is the exact frontier point at ``target_volatility`` once the step is at rounding.
    """
    ref = clarabel_c_max_return(case, target_volatility)
    r = ref.expected_return
    pol = None
    for _ in range(iters):
        sol, pol = polished_min_variance(case, r, guess=ref.weights)
        if not pol.certified:
            return ref, pol
        eta = float(pol.lam[-1])
        sigma = float(np.sqrt(max(sol.variance, 0.0)))
        if eta <= 0 or sigma <= 0:
            return sol, pol
        step = (target_volatility - sigma) * 2.0 * sigma / eta
        r_new = r + step
        if abs(step) <= 1e-15 * max(1.0, abs(r)):
            return sol, pol
        r = r_new
        ref = sol
    return sol, pol


# --------------------------------------------------------------------------------------------
# Certificate with constraint rows
# --------------------------------------------------------------------------------------------
def check_constrained(
    res,
    case: ConsCase,
    *,
    target_return: float | None = None,
    kind: str = "any",
    risk_free_rate: float | None = None,
    primal_tol: float = PRIMAL_TOL,
    dual_tol: float = DUAL_TOL,
    where: str = "",
) -> dict[str, float]:
    """Assert that ``res`` is a certified optimum of the constrained problem; residuals back.

    Recomputes from the weights (not trusting ``res.kkt``): budget, bounds, each row within
    its limits (in units of ``max(1, |limit|)`` and the row's ``|a|ᵀ|w|``), the reported row
    values and flags, and the stationarity

        ``2Σw − ημ − γ1 − Aᵀλ − z = 0``   (``λ = res.constraint_multipliers``)

    with the signs: ``λ_j > 0`` only at a row's minimum (``at_min``), ``< 0`` only at its
    maximum, complementarity ``λ_j·dist_j = 0``. ``kind`` as in :func:`check_certificate`
    (every objective's result is certified in this minimum-variance frame: a utility or
    Sharpe optimum is the frontier point with its own ``η``).
    """
    n, m = case.n, case.m
    tag = f" [{where or case.label}]"
    w = np.asarray(res.weights, dtype=float)
    assert w.shape == (n,), f"weights shape {w.shape}{tag}"
    assert np.all(np.isfinite(w)), f"non-finite weights{tag}"
    assert res.status == "optimal", f"status {res.status!r}{tag}"
    lam = np.asarray(res.constraint_multipliers, dtype=float)
    vals = np.asarray(res.constraint_values, dtype=float)
    at_min = np.asarray(res.at_min)
    at_max = np.asarray(res.at_max)
    assert lam.shape == (m,), f"constraint_multipliers shape {lam.shape}{tag}"
    assert vals.shape == (m,), f"constraint_values shape {vals.shape}{tag}"
    for flags in (at_min, at_max):
        assert flags.shape == (m,), f"at_min/at_max shape {flags.shape}{tag}"
        assert flags.dtype == np.bool_, f"at_min/at_max dtype {flags.dtype}{tag}"
    assert tuple(res.constraint_names) == tuple(case.names), f"names {res.constraint_names}{tag}"
    assert np.all(np.isfinite(lam)), f"constraint multipliers {lam}{tag}"
    a, lo, hi = case.A, case.c_lower, case.c_upper
    aw = a @ w
    row_scale = np.maximum(1.0, np.abs(a) @ np.abs(w))
    viol = np.maximum(
        np.where(np.isfinite(lo), lo - aw, 0.0), np.where(np.isfinite(hi), aw - hi, 0)
    )
    row_viol = float((viol / row_scale).max(initial=0.0))
    assert row_viol <= primal_tol, (
        f"constraint rows violated by {row_viol:.3e}: A@w={aw}, limits {lo}..{hi}{tag}"
    )
    val_err = float((np.abs(vals - aw) / row_scale).max(initial=0.0))
    assert val_err <= primal_tol, f"constraint_values {vals} != A@w {aw}{tag}"
    # flags: a flagged row is at that limit; a row clearly inside is not flagged
    for flags, lim, name in ((at_min, lo, "at_min"), (at_max, hi, "at_max")):
        if flags.any():
            assert np.all(np.isfinite(lim[flags])), f"{name} set at an infinite limit{tag}"
            off = float((np.abs(aw[flags] - lim[flags]) / row_scale[flags]).max())
            assert off <= primal_tol, f"{name} row {off:.3e} away from its limit{tag}"
        inside = np.where(np.isfinite(lim), np.abs(aw - np.where(np.isfinite(lim), lim, 0)), np.inf)
        clear = inside / row_scale > 1e-9
        assert not np.any(flags & clear), f"{name} set on a row inside its limits{tag}"
    eq = lo == hi
    assert np.all(at_min[eq] & at_max[eq]), f"an equality row not flagged at both limits{tag}"
    assert set(res.binding_constraints) == {
        case.names[j] for j in range(m) if at_min[j] or at_max[j]
    }, f"binding_constraints {res.binding_constraints}{tag}"

    # The unconstrained certificate with the rows' pull Aᵀλ moved into the bound multipliers
    # would hide a wrong λ; instead recompute stationarity with everything explicit.
    z = np.asarray(res.bound_multipliers, dtype=float)
    gamma = float(res.budget_multiplier)
    eta = float(res.return_multiplier)
    mu = case.mu
    g = 2.0 * case.cov @ w
    gabs = 2.0 * np.abs(case.cov) @ np.abs(w)
    resid = g - gamma - eta * mu - a.T @ lam - z
    w1 = max(float(np.abs(w).sum()), 1.0)
    scale = max(
        float(np.abs(g).max()),
        float(gabs.max()),
        abs(gamma),
        abs(eta) * float(np.abs(mu).max(initial=0.0)),
        float((np.abs(a.T) @ np.abs(lam)).max(initial=0.0)),
        1e-4 * 2.0 * float(np.abs(case.cov).max()) * w1,
        1e-300,
    )
    stat = float(np.abs(resid).max()) / scale
    assert stat <= dual_tol, f"stationarity residual {stat:.3e} (2Σw − ημ − γ1 − Aᵀλ − z){tag}"
    # row multipliers: > 0 only at the minimum, < 0 only at the maximum (free on equalities)
    lpos, lneg = np.maximum(lam, 0.0), np.maximum(-lam, 0.0)
    sign = max(
        float(np.max(lpos * ~at_min, initial=0.0)), float(np.max(lneg * ~at_max, initial=0.0))
    )
    assert sign / scale <= dual_tol, f"row multiplier of the wrong sign/unflagged: λ={lam}{tag}"
    dist_lo = np.where(np.isfinite(lo), np.abs(aw - np.where(np.isfinite(lo), lo, 0)), 0.0)
    dist_hi = np.where(np.isfinite(hi), np.abs(aw - np.where(np.isfinite(hi), hi, 0)), 0.0)
    comp = float(np.max(lpos * dist_lo + lneg * dist_hi, initial=0.0)) / scale
    assert comp <= dual_tol, f"row complementarity {comp:.3e}{tag}"
    # bound multipliers (same conventions as check_certificate)
    at_lo, at_up = np.asarray(res.at_lower), np.asarray(res.at_upper)
    zpos, zneg = np.maximum(z, 0.0), np.maximum(-z, 0.0)
    zsign = max(
        float(np.max(zpos * ~at_lo, initial=0.0)), float(np.max(zneg * ~at_up, initial=0.0))
    )
    assert zsign / scale <= dual_tol, f"bound multiplier of the wrong sign: z={z}{tag}"
    # primal: budget, bounds, target
    budget = abs(float(w.sum()) - 1.0) / w1
    assert budget <= primal_tol, f"budget: sum(w) - 1 = {w.sum() - 1:.3e}{tag}"
    bnd = np.where(np.isfinite(case.lower), case.lower, case.upper)
    bviol = float(np.max(_outside(w, case.lower, case.upper) / np.maximum(1.0, np.abs(bnd))))
    assert bviol <= primal_tol, f"bounds violated by {bviol:.3e}{tag}"
    tgt = 0.0
    if target_return is not None:
        # relative to |μ|ᵀ|w|, floored at 1e-4·‖μ‖∞·‖w‖₁: a weight that is 0 up to rounding
        # (5e-17) on the one asset with a nonzero return must not count as a miss
        ret_scale = max(float(np.abs(mu) @ np.abs(w)), 1e-4 * float(np.abs(mu).max()) * w1)
        tgt = abs(float(mu @ w) - target_return) / max(ret_scale, 1e-300)
        assert tgt <= primal_tol, f"return {mu @ w!r} misses target {target_return!r}{tag}"
    eta_sign = 0.0
    if kind == "gmv":
        eta_sign = abs(eta) * float(np.abs(mu).max(initial=0.0)) / scale
        assert eta_sign <= dual_tol, f"return multiplier {eta} is not 0{tag}"
    elif kind == "efficient":
        eta_sign = max(0.0, -eta) * float(np.abs(mu).max(initial=0.0)) / scale
        assert eta_sign <= dual_tol, f"return multiplier {eta} < 0 on the efficient branch{tag}"
    if risk_free_rate is not None and res.volatility > 0:
        want = (float(mu @ w) - risk_free_rate) / np.sqrt(float(w @ case.cov @ w))
        assert abs(res.sharpe_ratio - want) <= 1e-10 * max(1.0, abs(want)), f"Sharpe{tag}"
    return {
        "rows": row_viol,
        "values": val_err,
        "stationarity": stat,
        "signs": sign / scale,
        "complementarity": comp,
        "budget": budget,
        "bounds": bviol,
        "target": tgt,
        "eta": eta_sign,
    }


# --------------------------------------------------------------------------------------------
# Feasibility and return range under the rows (LP, HiGHS)
# --------------------------------------------------------------------------------------------
def _lp(case: Case, cost: Array, box: float | None = None):
    from scipy.optimize import linprog

    n = case.n
    a_eq, b_eq = [np.ones(n)], [1.0]
    a_ub, b_ub = [], []
    if isinstance(case, ConsCase):
        for j in range(case.m):
            a, lo, hi = case.A[j], case.c_lower[j], case.c_upper[j]
            if lo == hi:
                a_eq.append(a)
                b_eq.append(lo)
                continue
            if np.isfinite(lo):
                a_ub.append(-a)
                b_ub.append(-lo)
            if np.isfinite(hi):
                a_ub.append(a)
                b_ub.append(hi)
    lower = case.lower if box is None else np.maximum(case.lower, -box)
    upper = case.upper if box is None else np.minimum(case.upper, box)
    return linprog(
        cost,
        A_ub=np.array(a_ub) if a_ub else None,
        b_ub=np.array(b_ub) if b_ub else None,
        A_eq=np.array(a_eq),
        b_eq=np.array(b_eq),
        bounds=[
            (None if np.isneginf(p) else p, None if np.isposinf(q) else q)
            for p, q in zip(lower, upper, strict=True)
        ],
        method="highs",
    )


def is_feasible(case: Case) -> bool:
    """Whether the budget, bounds and rows can all hold (an LP)."""
    return bool(_lp(case, np.zeros(case.n)).status == 0)


def cons_return_range(case: Case) -> tuple[float, float]:
    """``(min, max)`` of ``μᵀw`` over the feasible set (``±inf`` when unbounded)."""
    out = []
    for sgn in (1.0, -1.0):
        res = _lp(case, sgn * case.mu)
        if res.status == 3:
            out.append(-sgn * np.inf)
            continue
        assert res.status == 0, res.message
        out.append(sgn * float(res.fun))
    return out[0], out[1]


# --------------------------------------------------------------------------------------------
# Seeded generators
# --------------------------------------------------------------------------------------------
def _interior_point(rng: np.random.Generator, case: Case, k: int = 4) -> Array:
    """A feasible point strictly mixing ``k`` random vertices of the bounds-and-budget set."""
    pts = []
    for _ in range(k):
        res = _lp(case, rng.normal(size=case.n), box=2.0)
        assert res.status == 0, res.message
        pts.append(res.x)
    mix = rng.dirichlet(np.ones(k))
    w = mix @ np.array(pts)
    return w + (1.0 - w.sum()) / case.n * 0.0  # (budget already holds)


def _limits_around(
    rng: np.random.Generator, values: Array, spread: float, one_sided: float = 0.2
) -> tuple[Array, Array]:
    """Limits that hold at ``values``: ``[v − a, v + b]`` with random widths, some one-sided."""
    m = values.size
    lo = values - rng.uniform(0.0, spread, size=m)
    hi = values + rng.uniform(0.0, spread, size=m)
    side = rng.random(m)
    lo[side < one_sided / 2] = -np.inf
    hi[(side >= one_sided / 2) & (side < one_sided)] = np.inf
    return lo, hi


def _group_matrix(labels: Array, k: int) -> Array:
    return (labels[None, :] == np.arange(k)[:, None]).astype(float)


def constrained_case(
    seed: int,
    n: int,
    kind: str = "sectors",
    bounds: str = "long_only",
    cov_kind: str = "pd",
    mu_kind: str = "random",
) -> ConsCase:
    """A reproducible feasible constrained problem; everything follows from the arguments.

    Kinds (:data:`CONS_KINDS` and :data:`DEGENERATE_KINDS`):

    * ``sectors``: up to 11 sector groups (each asset in one), each with a min and a max;
    * ``overlap``: region x sector: every asset in one region group and one sector group;
    * ``dense``: 1-3 dense exposure rows (betas ~ N(1, 0.3), scores), some one-sided;
    * ``equality``: one or two equality rows (a group's weight, a beta) at a feasible value;
    * ``mixed``: sectors + a beta band + an equality;
    * ``redundant``: sectors plus rows that never bind (a group limit looser than the sum of
      its members' caps, a row implied by two others);
    * ``duplicate``: sectors with a row repeated (same or tighter limits);
    * ``dependent``: sectors plus the sum of two sector rows with limits, and a combination of
      three rows;
    * ``budget_dependent``: rows that are multiples of the budget (``2·1ᵀw`` between 1.5 and
      3, ``1ᵀw = 1`` again as an equality);
    * ``all_assets``: a group of every asset (limits bracketing 1, or exactly [1, 1]);
    * ``single_asset``: groups of one asset with limits tighter than its bounds;
    * ``empty``: an all-zero row (limits [0, 0], [−0.1, 0.2] or one-sided);
    * ``tied``: several groups with the same limits (all at a max of 0.3, say), binding
      together;
    * ``singular``: a rank-deficient factor covariance (rank n/3) with sectors;
    * ``riskless``: a riskless asset (zero row/column of Σ) with sectors and a beta band;
    * ``ties``: integer-grid data (returns on a 1% grid with repeats, factor entries on a
      0.05 grid, copies of assets) with group limits on the grid: built for degenerate
      pivots (the constrained twin of ``_tie_cases.tie_case``).
    """
    kinds = CONS_KINDS + DEGENERATE_KINDS
    rng = np.random.default_rng(
        [seed, n, kinds.index(kind), BOUND_KINDS.index(bounds), COV_KINDS.index(cov_kind), 11]
    )
    if kind == "singular":
        cov_kind = "lowrank"
    elif kind == "riskless":
        cov_kind = "riskless"
    if kind == "ties":
        return _ties_case(seed, n, rng)
    base = random_case(seed, n, bounds, cov_kind, mu_kind)
    w0 = _interior_point(rng, base)
    rows: list[Array] = []
    los: list[float] = []
    his: list[float] = []
    names: list[str] = []

    def add(a: Array, lo: float, hi: float, name: str) -> None:
        rows.append(np.asarray(a, dtype=float))
        los.append(float(lo))
        his.append(float(hi))
        names.append(name)

    def sectors(k: int = 11, spread: float = 0.08) -> Array:
        k = max(1, min(k, n))
        lab = rng.permutation(np.arange(n) % k)
        g = _group_matrix(lab, k)
        lo, hi = _limits_around(rng, g @ w0, spread, one_sided=0.1)
        lo = np.maximum(lo, 0.0) if np.isfinite(base.lower).all() and base.lower.min() >= 0 else lo
        for j in range(k):
            add(g[j], lo[j], hi[j], SECTORS[j % len(SECTORS)] + ("" if j < 11 else f" {j}"))
        return g

    def beta_band() -> Array:
        beta = rng.normal(1.0, 0.3, size=n)
        v = float(beta @ w0)
        add(beta, v - rng.uniform(0.01, 0.2), v + rng.uniform(0.01, 0.2), "Beta")
        return beta

    if kind == "sectors":
        sectors()
    elif kind == "overlap":
        k_r, k_s = min(len(REGIONS), n), min(5, n)
        reg = rng.integers(0, k_r, size=n)
        sec = rng.integers(0, k_s, size=n)
        for lab, k, tags in ((reg, k_r, REGIONS), (sec, k_s, SECTORS)):
            g = _group_matrix(lab, k)
            lo, hi = _limits_around(rng, g @ w0, 0.06, one_sided=0.3)
            for j in range(k):
                if g[j].any():
                    add(g[j], lo[j], hi[j], tags[j])
    elif kind == "dense":
        for j in range(int(rng.integers(1, 4))):
            a = rng.normal(1.0, 0.3, size=n) if j == 0 else rng.uniform(0.0, 10.0, size=n)
            v = float(a @ w0)
            lo, hi = _limits_around(rng, np.array([v]), 0.1 * max(1.0, abs(v)), one_sided=0.5)
            add(a, lo[0], hi[0], ("Beta", "Score", "Duration")[j])
    elif kind == "equality":
        g = _group_matrix(rng.permutation(np.arange(n) % max(1, min(4, n))), max(1, min(4, n)))
        v = float(g[0] @ w0)
        add(g[0], v, v, "Equity")
        if rng.random() < 0.5 and n > 2:
            beta = rng.normal(1.0, 0.3, size=n)
            add(beta, float(beta @ w0), float(beta @ w0), "Beta")
    elif kind == "mixed":
        sectors(int(rng.integers(3, 12)))
        beta_band()
        if n > 3:
            e = (rng.random(n) < 0.5).astype(float)
            e[0] = 1.0
            add(e, float(e @ w0), float(e @ w0), "Core")
    elif kind == "redundant":
        g = sectors(5)
        caps = np.where(np.isfinite(base.upper), base.upper, 1.0)
        add(g[0], -np.inf, float(g[0] @ caps) + 0.5, "Loose")
        if g.shape[0] > 1:
            s = g[0] + g[1]
            add(s, float(los[0] + los[1]) - 0.1, float(his[0] + his[1]) + 0.1, "Implied")
    elif kind == "duplicate":
        sectors(6)
        j = int(rng.integers(len(rows)))
        add(rows[j], los[j], his[j], "Copy")
        add(rows[j], max(los[j], float(rows[j] @ w0) - 0.01), his[j], "Tighter copy")
    elif kind == "dependent":
        g = sectors(6)
        if g.shape[0] >= 3:
            s = g[0] + g[1]
            v = float(s @ w0)
            add(s, v - rng.uniform(0, 0.05), v + rng.uniform(0, 0.05), "Sum 1+2")
            c3 = 2.0 * g[0] - g[1] + 0.5 * g[2]
            v = float(c3 @ w0)
            add(c3, v - 0.02, v + 0.02, "Combination")
    elif kind == "budget_dependent":
        sectors(4)
        add(2.0 * np.ones(n), 1.5, 3.0, "Twice budget")
        add(np.ones(n), 1.0, 1.0, "Budget again")
        if n > 1:
            g_all = np.ones(n)
            g_all[0] = 0.0
            add(-g_all, -(1.0 - float(w0[0])) - 0.05, np.inf, "All but first")
    elif kind == "all_assets":
        sectors(5)
        if rng.random() < 0.5:
            add(np.ones(n), 1.0, 1.0, "Everything")
        else:
            add(np.ones(n), 0.5, 1.5, "Everything")
    elif kind == "single_asset":
        sectors(5)
        for i in rng.choice(n, size=min(n, 3), replace=False):
            e = np.zeros(n)
            e[i] = 1.0
            add(
                e,
                float(w0[i]) - rng.uniform(0, 0.05),
                float(w0[i]) + rng.uniform(0, 0.05),
                f"Asset {i + 1}",
            )
    elif kind == "empty":
        sectors(5)
        choice = int(rng.integers(3))
        add(np.zeros(n), *((0.0, 0.0), (-0.1, 0.2), (-np.inf, 0.0))[choice], "Empty")
    elif kind == "tied":
        k = max(1, min(n, int(rng.integers(3, 7))))
        g = _group_matrix(rng.permutation(np.arange(n) % k), k)
        cap = max(1.0 / k, float((g @ w0).max())) + 0.02
        floor = max(0.0, min(float((g @ w0).min()) - 0.02, 1.0 / k))
        for j in range(k):
            add(g[j], floor, cap, f"Group {j + 1}")
    elif kind in ("singular", "riskless"):
        sectors()
        if kind == "riskless":
            beta_band()
    else:
        raise ValueError(kind)
    a = np.array(rows).reshape(-1, n)
    label = (
        f"constrained_case(seed={seed}, n={n}, kind={kind!r}, bounds={bounds!r}, "
        f"cov_kind={cov_kind!r}, mu_kind={mu_kind!r})"
    )
    case = ConsCase(
        base.mu,
        base.cov,
        base.lower,
        base.upper,
        label,
        base.pd,
        dict(base.extra),
        a,
        np.array(los),
        np.array(his),
        tuple(names),
    )
    assert is_feasible(case), label
    return case


def _ties_case(seed: int, n: int, rng: np.random.Generator) -> ConsCase:
    """Integer-grid data with group limits on the grid (degenerate pivots); always feasible."""
    from _tie_cases import tie_case

    base = tie_case(seed)
    n = base.n
    k = max(1, min(n, int(rng.integers(2, 5))))
    g = _group_matrix(rng.permutation(np.arange(n) % k), k)
    rows, los, his, names = [], [], [], []
    for j in range(k):
        cap = float(rng.choice([0.25, 0.5, 0.5, 1.0, np.inf]))
        flo = float(rng.choice([0.0, 0.0, 0.1, -np.inf]))
        rows.append(g[j])
        los.append(flo)
        his.append(cap)
        names.append(f"Group {j + 1}")
    if rng.random() < 0.4:  # a copy of a group row, and a tie with a bound value
        rows.append(g[0].copy())
        los.append(los[0])
        his.append(his[0])
        names.append("Group 1 again")
    a = np.array(rows)
    for _ in range(8):
        case = ConsCase(
            base.mu,
            base.cov,
            base.lower,
            base.upper,
            f"ties_case(seed={seed})",
            False,
            dict(base.extra),
            a,
            np.array(los),
            np.array(his),
            tuple(names),
        )
        if is_feasible(case):
            return case
        los = [-np.inf if rng.random() < 0.5 else v for v in los]
        his = [np.inf if rng.random() < 0.5 else v for v in his]
    case = ConsCase(
        base.mu,
        base.cov,
        base.lower,
        base.upper,
        f"ties_case(seed={seed})",
        False,
        dict(base.extra),
        a,
        np.full(len(los), -np.inf),
        np.full(len(his), np.inf),
        tuple(names),
    )
    return case


def as_result(case: ConsCase, pol: Polished, with_target: bool):
    """A polished minimum-variance reference dressed as a ``PortfolioResult`` look-alike.

    Splits the polish multipliers (rows in :meth:`ConsCase.rows` order, then the return row
    when ``with_target``) into ``γ``, ``z``, ``λ`` and ``η``, and sets the flags from the
    active rows. Used to test :func:`check_constrained` itself, without the solver.
    """
    from types import SimpleNamespace

    n, m = case.n, case.m
    fin = np.flatnonzero(np.isfinite(case.lower) | np.isfinite(case.upper))
    lam = pol.lam
    z = np.zeros(n)
    z[fin] = lam[1 : 1 + fin.size]
    row_lam = lam[1 + fin.size : 1 + fin.size + m]
    w = pol.x
    aw = case.A @ w
    tol = 1e-12 * np.maximum(1.0, np.abs(case.A) @ np.abs(w))
    at_min = np.isfinite(case.c_lower) & (np.abs(aw - case.c_lower) <= tol)
    at_max = np.isfinite(case.c_upper) & (np.abs(aw - case.c_upper) <= tol)
    at_lower = np.isfinite(case.lower) & (np.abs(w - case.lower) <= 1e-12)
    at_upper = np.isfinite(case.upper) & (np.abs(w - case.upper) <= 1e-12)
    names = tuple(case.names)
    var = float(w @ case.cov @ w)
    return SimpleNamespace(
        weights=w,
        expected_return=float(case.mu @ w),
        variance=var,
        volatility=float(np.sqrt(max(var, 0.0))),
        status="optimal",
        budget_multiplier=float(lam[0]),
        return_multiplier=float(lam[-1]) if with_target else 0.0,
        bound_multipliers=z,
        at_lower=at_lower,
        at_upper=at_upper,
        constraint_names=names,
        constraint_values=aw,
        constraint_multipliers=row_lam,
        at_min=at_min,
        at_max=at_max,
        binding_constraints=tuple(nm for j, nm in enumerate(names) if at_min[j] or at_max[j]),
        sharpe_ratio=None,
    )
