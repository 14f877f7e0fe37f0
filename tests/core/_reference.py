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
