"""Benchmark problems and high-accuracy reference solutions.

Problems
--------
* ``real_problem()``: the 20 S&P 500 stocks in ``tests/data/sp500_20_prices.csv.gz``;
  annualised (x252) mean and covariance of daily simple returns.
* ``factor_problem(n)``: a seeded factor model ``cov = B F Bᵀ + D`` with ``k = min(10, n)``
  factors (a market factor with betas around 1 and style/sector factors), idiosyncratic
  volatilities of 15-45% and CAPM-like expected returns ``rf + β·premium + noise``.

References
----------
Every long-only problem the benchmark solves has the form::

    minimise xᵀ Σ x   subject to   Eᵀ x = b,  x ≥ 0

with ``E = [1]`` (global minimum variance), ``E = [1, μ]`` (minimum variance at a target return)
or ``E = [μ - rf]`` (maximum Sharpe ratio after the homogenisation ``x = w / (μ - rf)ᵀw``).
Given the set ``F`` of assets that are not at their bound, the solution is the solution of the
equality-constrained KKT system on ``F``. :func:`reference_solve` takes candidate active sets
(from the solvers' answers), solves that system with mixed-precision iterative refinement
(LU in float64, residuals in 80-bit ``numpy.longdouble``), and accepts the candidate only when
the KKT sign conditions hold (``x_F ≥ 0`` and the bound multipliers ``z_N ≥ 0``): the result is
a certified optimum, accurate to about double precision, independent of any solver's tolerances.
When no candidate certifies, a primal-dual active-set iteration (one swap at a time) repairs the
best candidate.
"""

from __future__ import annotations

import gzip
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
from numpy.typing import NDArray

__all__ = [
    "DATA_FILE",
    "RISK_FREE_RATE",
    "SIZES",
    "BenchProblem",
    "Reference",
    "factor_problem",
    "load_problems",
    "real_problem",
    "reference_gmv",
    "reference_max_sharpe",
    "reference_min_variance",
    "reference_solve",
    "sharpe_ratio",
    "variance",
]

RISK_FREE_RATE = 0.02
SIZES = (10, 50, 200, 500, 1000, 2000)
DATA_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "sp500_20_prices.csv.gz"
TRADING_DAYS = 252
SEED = 20240611

Vector = NDArray[np.float64]
Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class BenchProblem:
    """One benchmark problem (long-only: lower bound 0, no upper bound).

    Attributes
    ----------
    name : str
        Row label in the tables, e.g. ``"real-20"`` or ``"factor-500"``.
    mu : ndarray of shape (n,)
        Annualised expected returns.
    cov : ndarray of shape (n, n)
        Annualised covariance (exactly symmetric, positive definite).
    rf : float
        Risk-free rate for the max-Sharpe problem.
    """

    name: str
    mu: Vector
    cov: Matrix
    rf: float = RISK_FREE_RATE

    @property
    def n(self) -> int:
        """Number of assets."""
        return int(self.mu.shape[0])


def real_problem(path: Path | str = DATA_FILE) -> BenchProblem:
    """Annualised mean and covariance of daily simple returns of the 20-stock price file."""
    with gzip.open(path, "rt") as fh:
        header = fh.readline().strip().split(",")
        prices = np.loadtxt(fh, delimiter=",", usecols=range(1, len(header)), dtype=np.float64)
    returns = prices[1:] / prices[:-1] - 1.0
    mu = TRADING_DAYS * returns.mean(axis=0)
    cov = TRADING_DAYS * np.cov(returns, rowvar=False)
    cov = 0.5 * (cov + cov.T)
    return BenchProblem(f"real-{mu.size}", mu, cov)


def factor_problem(n: int, seed: int = SEED) -> BenchProblem:
    """Seeded factor-model problem with ``n`` assets.

    ``k = min(10, n)`` factors: a market factor (volatility 16%, betas ~ N(1, 0.3) clipped to
    [0.2, 2.5]) and ``k - 1`` sector/style factors (volatility 3-8%, mildly correlated). Each
    asset loads 0.5-1.5 on one sector factor and ~N(0, 0.15) on the others. Idiosyncratic
    volatilities are uniform in 15-45%. Expected returns follow a CAPM-like relation,
    ``rf + 6%·β + Bᵀ·premia + N(0, 2%)`` noise. ``cov = B F Bᵀ + D`` is symmetrised exactly.
    """
    rng = np.random.default_rng([seed, n])
    k = min(10, n)
    fvol = np.empty(k)
    fvol[0] = 0.16
    fvol[1:] = rng.uniform(0.03, 0.08, k - 1)
    # Mild factor correlation from one common driver among the non-market factors.
    g = np.zeros(k)
    g[1:] = rng.uniform(-0.4, 0.4, k - 1)
    corr = np.outer(g, g) + np.diag(1.0 - g**2)
    fcov = corr * np.outer(fvol, fvol)

    loadings = np.zeros((n, k))
    loadings[:, 0] = np.clip(rng.normal(1.0, 0.3, n), 0.2, 2.5)
    if k > 1:
        loadings[:, 1:] = rng.normal(0.0, 0.15, (n, k - 1))
        sector = rng.integers(1, k, n)
        loadings[np.arange(n), sector] = rng.uniform(0.5, 1.5, n)
    idio = rng.uniform(0.15, 0.45, n)
    cov = loadings @ fcov @ loadings.T + np.diag(idio**2)
    cov = 0.5 * (cov + cov.T)

    premia = np.zeros(k)
    premia[0] = 0.06
    premia[1:] = rng.normal(0.0, 0.01, k - 1)
    mu = RISK_FREE_RATE + loadings @ premia + rng.normal(0.0, 0.02, n)
    if not (mu > RISK_FREE_RATE).any():  # pragma: no cover - impossible for these seeds
        mu[int(np.argmax(mu))] = RISK_FREE_RATE + 0.05
    return BenchProblem(f"factor-{n}", mu, cov)


def load_problems(
    sizes: tuple[int, ...] | list[int] = SIZES, real: bool = True
) -> list[BenchProblem]:
    """The real-data problem (when requested and the file exists) and factor models of ``sizes``."""
    out: list[BenchProblem] = []
    if real and DATA_FILE.exists():
        out.append(real_problem())
    out.extend(factor_problem(int(n)) for n in sizes)
    return out


# --------------------------------------------------------------------------------------------
# Objectives in extended precision
# --------------------------------------------------------------------------------------------


def _support_quad(x: Vector, cov: Matrix) -> np.longdouble:
    """``xᵀ Σ x`` in 80-bit arithmetic over the support of ``x`` (exact zeros skipped)."""
    s = np.flatnonzero(x)
    xs = x[s].astype(np.longdouble)
    return np.longdouble(xs @ (cov[np.ix_(s, s)].astype(np.longdouble) @ xs))


def variance(w: Vector, cov: Matrix) -> float:
    """Portfolio variance ``wᵀΣw`` evaluated in extended precision."""
    return float(_support_quad(np.asarray(w, dtype=np.float64), cov))


def sharpe_ratio(w: Vector, mu: Vector, cov: Matrix, rf: float) -> float:
    """Sharpe ratio ``(μᵀw − rf·1ᵀw) / sqrt(wᵀΣw)`` in extended precision.

    Using ``rf·1ᵀw`` (rather than ``rf``) makes the ratio scale invariant, so a solution whose
    budget is off by ε is judged by its direction; the budget error is reported separately.
    """
    w = np.asarray(w, dtype=np.float64)
    wl = w.astype(np.longdouble)
    excess = (mu.astype(np.longdouble) - np.longdouble(rf)) @ wl
    return float(excess / np.sqrt(_support_quad(w, cov)))


# --------------------------------------------------------------------------------------------
# Reference solutions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """A certified reference solution of ``min xᵀΣx s.t. Eᵀx = b, x ≥ 0``.

    Attributes
    ----------
    x : ndarray of shape (n,)
        The solution (float64 rounding of the refined extended-precision solution).
    objective : float
        ``xᵀΣx`` in extended precision.
    certified : bool
        Whether the KKT sign conditions hold (``x_F ≥ -1e-13``, ``z_N ≥ -1e-10·scale``).
    source : str
        Which candidate active set was certified (or ``"active-set repair"``).
    kkt_residual : float
        Final relative residual of the equality-constrained KKT system.
    """

    x: Vector
    objective: float
    certified: bool
    source: str
    kkt_residual: float


def _solve_kkt(
    cov: Matrix, eq: Matrix, b: Vector, free: NDArray[np.intp]
) -> tuple[NDArray[np.longdouble], NDArray[np.longdouble], float]:
    """Solve ``[2Σ_FF  -E_F; E_Fᵀ 0][x; λ] = [0; b]`` with refinement in extended precision.

    Returns ``(x_F, λ, relative residual)`` as longdouble arrays.
    """
    nf, m = free.size, eq.shape[1]
    k = np.zeros((nf + m, nf + m))
    k[:nf, :nf] = 2.0 * cov[np.ix_(free, free)]
    k[:nf, nf:] = -eq[free]
    k[nf:, :nf] = eq[free].T
    rhs = np.zeros(nf + m)
    rhs[nf:] = b
    kl = k.astype(np.longdouble)
    rl = rhs.astype(np.longdouble)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            lu = scipy.linalg.lu_factor(k, check_finite=False)

            def step(r: Vector) -> Vector:
                return scipy.linalg.lu_solve(lu, r, check_finite=False)

            if not np.all(np.isfinite(lu[0])) or np.min(np.abs(np.diag(lu[0]))) == 0.0:
                raise np.linalg.LinAlgError
        except (np.linalg.LinAlgError, ValueError):
            pinv = np.linalg.pinv(k)

            def step(r: Vector) -> Vector:
                return pinv @ r

    sol = step(rhs).astype(np.longdouble)
    scale = float(np.abs(kl).max()) * max(float(np.abs(sol).max()), 1e-300) + float(
        np.abs(rl).max()
    )
    res = 0.0
    for _ in range(6):
        r = rl - kl @ sol
        res = float(np.abs(r).max()) / scale
        if res < 1e-19:
            break
        sol = sol + step(r.astype(np.float64)).astype(np.longdouble)
    return sol[:nf], sol[nf:], res


def _multipliers(
    cov: Matrix,
    eq: Matrix,
    free: NDArray[np.intp],
    xf: NDArray[np.longdouble],
    lam: NDArray[np.longdouble],
) -> tuple[NDArray[np.longdouble], float]:
    """Bound multipliers ``z = 2Σx − Eλ`` on all assets and the gradient scale."""
    g = 2.0 * (cov[:, free].astype(np.longdouble) @ xf)
    z = g - eq.astype(np.longdouble) @ lam
    scale = max(float(np.abs(g).max()), float(np.abs(eq @ lam.astype(np.float64)).max()), 1e-300)
    return z, scale


def reference_solve(
    cov: Matrix,
    eq: Matrix,
    b: Vector,
    candidates: list[tuple[str, Vector]],
    max_swaps: int = 500,
) -> Reference:
    """Certified solution of ``min xᵀΣx s.t. eqᵀx = b, x ≥ 0`` from candidate answers.

    Parameters
    ----------
    cov : ndarray of shape (n, n)
    eq : ndarray of shape (n, m)
        Equality constraint columns (``m`` = 1 or 2).
    b : ndarray of shape (m,)
    candidates : list of (label, x)
        Approximate solutions; each yields candidate free sets ``{i : x_i > t·max(x)}`` for a
        few thresholds ``t``.
    max_swaps : int
        Limit on the active-set repair iterations.

    Returns
    -------
    Reference
    """
    n = cov.shape[0]
    tried: set[bytes] = set()
    best: tuple[float, NDArray[np.bool_], str] | None = None
    for label, x in candidates:
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (n,) or not np.all(np.isfinite(x)):
            continue
        xmax = max(float(np.abs(x).max()), 1e-300)
        for t in (0.0, 1e-12, 1e-9, 1e-7, 1e-5):
            mask = x > t * xmax
            if not mask.any():
                continue
            key = mask.tobytes()
            if key in tried:
                continue
            tried.add(key)
            ok, ref, viol = _certify(cov, eq, b, mask, label)
            if ok:
                return ref
            if best is None or viol < best[0]:
                best = (viol, mask, label)
    if best is None:
        best = (np.inf, np.ones(n, dtype=bool), "all free")
    return _repair(cov, eq, b, best[1], max_swaps)


def _certify(
    cov: Matrix, eq: Matrix, b: Vector, mask: NDArray[np.bool_], label: str
) -> tuple[bool, Reference, float]:
    free = np.flatnonzero(mask)
    xf, lam, res = _solve_kkt(cov, eq, b, free)
    z, scale = _multipliers(cov, eq, free, xf, lam)
    zn = np.where(mask, 0.0, z.astype(np.float64)) / scale
    xscale = max(float(np.abs(xf).max()), 1e-300)
    neg_x = max(0.0, -float(xf.min()) / xscale)
    neg_z = max(0.0, -float(zn.min()))
    ok = neg_x <= 1e-13 and neg_z <= 1e-10 and res <= 1e-15
    x = np.zeros(cov.shape[0], dtype=np.longdouble)
    x[free] = np.maximum(xf, 0.0) if neg_x <= 1e-13 else xf
    obj = float(x[free] @ (cov[np.ix_(free, free)].astype(np.longdouble) @ x[free]))
    ref = Reference(x.astype(np.float64), obj, ok, label, res)
    return ok, ref, neg_x + neg_z


def _repair(
    cov: Matrix, eq: Matrix, b: Vector, mask: NDArray[np.bool_], max_swaps: int
) -> Reference:
    """Primal-dual active-set iteration: fix the most negative x or free the most negative z."""
    mask = mask.copy()
    ref = None
    for _ in range(max_swaps):
        free = np.flatnonzero(mask)
        ok, ref, _ = _certify(cov, eq, b, mask, "active-set repair")
        if ok:
            return ref
        xf, lam, _ = _solve_kkt(cov, eq, b, free)
        xscale = max(float(np.abs(xf).max()), 1e-300)
        if float(xf.min()) < -1e-13 * xscale and free.size > 1:
            mask[free[int(np.argmin(xf))]] = False
            continue
        z, _ = _multipliers(cov, eq, free, xf, lam)
        zn = np.where(mask, np.inf, z.astype(np.float64))
        mask[int(np.argmin(zn))] = True
    assert ref is not None
    return ref


def reference_gmv(cov: Matrix, candidates: list[tuple[str, Vector]]) -> Reference:
    """Long-only global minimum variance portfolio."""
    n = cov.shape[0]
    return reference_solve(cov, np.ones((n, 1)), np.ones(1), candidates)


def reference_min_variance(
    mu: Vector, cov: Matrix, target: float, candidates: list[tuple[str, Vector]]
) -> Reference:
    """Long-only minimum variance portfolio at ``target`` return.

    At the top of the feasible range (``target ≥ max μ``) the answer is the highest-return
    asset (or, for ties, the minimum variance mix of the tied assets).
    """
    n = mu.size
    top = float(mu.max())
    if target >= top:
        tied = np.flatnonzero(mu == top)
        if tied.size == 1:
            x = np.zeros(n)
            x[tied[0]] = 1.0
            return Reference(x, float(cov[tied[0], tied[0]]), True, "max-return asset", 0.0)
        sub = reference_gmv(cov[np.ix_(tied, tied)], [])
        x = np.zeros(n)
        x[tied] = sub.x
        return Reference(x, sub.objective, sub.certified, "tied max-return assets", 0.0)
    eq = np.column_stack([np.ones(n), mu])
    return reference_solve(cov, eq, np.array([1.0, target]), candidates)


def reference_max_sharpe(
    mu: Vector, cov: Matrix, rf: float, candidates: list[tuple[str, Vector]]
) -> tuple[Reference, Vector, float]:
    """Long-only maximum Sharpe ratio portfolio via ``min yᵀΣy s.t. (μ−rf)ᵀy = 1, y ≥ 0``.

    Returns ``(reference of the homogenised problem, weights w = y / 1ᵀy, Sharpe ratio)``; the
    optimal Sharpe ratio is ``1 / sqrt(y*ᵀΣy*)``.
    """
    n = mu.size
    excess = (mu - rf).reshape(n, 1)
    # Candidates are weights w; the homogenised y = w / (μ−rf)ᵀw has the same support.
    ref = reference_solve(cov, excess, np.ones(1), candidates)
    y = ref.x.astype(np.longdouble)
    w = (y / y.sum()).astype(np.float64)
    return ref, w, float(1.0 / np.sqrt(np.longdouble(ref.objective)))
