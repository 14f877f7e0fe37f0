"""Single-portfolio optimisers: minimum variance, GMV, maximum Sharpe, target volatility, utility.

Each one traces the exact frontier (see :mod:`xlfrontier.core._path`) only as far as it needs,
so every answer is the frontier's own portfolio, certified by its KKT residuals.

Non-unique weights: assets with no bound at all (``lower=-inf``, ``upper=inf``) on a singular
covariance may form a riskless combination that costs nothing (copies of an asset, two deposits
at one rate). If it also earns nothing, weight can move along it without changing risk or
return: of the optimal portfolios that differ only so, the one with the smallest sum of squared
weights is returned (copies share equally). If it earns a return, that is an arbitrage: the
objectives that reward return (maximum Sharpe ratio, return or utility) are unbounded
(:class:`~xlfrontier.exceptions.UnboundedError`), while the minimum variance at a fixed target
return exists — it is the GMV variance at every return — and :func:`min_variance` returns the
minimum-norm portfolio among those optima with that return.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from xlfrontier.core._evaluate import locate, locate_variance, max_sharpe_on, target_in_range
from xlfrontier.core._messages import return_out_of_range, volatility_out_of_range
from xlfrontier.core._path import T_ZERO, PathSolver, gmv_index
from xlfrontier.core._validation import validate_problem
from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.core.results import PortfolioResult
from xlfrontier.exceptions import InputError, UnboundedError

__all__ = ["global_min_variance", "max_return", "max_sharpe", "max_utility", "min_variance"]

Bound = ArrayLike | float | None


def _number(x: Any, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a number", name) from err
    if not np.isfinite(v):
        raise InputError(f"{name} must be a finite number", name)
    return v


def _rf(x: Any) -> float | None:
    return None if x is None else _number(x, "risk_free_rate")


def min_variance(
    mu: ArrayLike,
    cov: ArrayLike,
    target_return: float,
    lower: Bound = 0.0,
    upper: Bound = np.inf,
    risk_free_rate: float | None = None,
    *,
    constraints: LinearConstraints | None = None,
) -> PortfolioResult:
    """Minimum-variance portfolio with expected return exactly ``target_return``.

    Solves ``min wᵀΣw`` s.t. ``1ᵀw = 1``, ``μᵀw = r``, ``lower ≤ w ≤ upper``. Targets below
    the GMV return are allowed (the inefficient branch of the minimum-variance frontier).

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
        Expected returns (decimals: 0.08 for 8%).
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix, symmetric positive semi-definite.
    target_return : float
        Required expected return.
    lower, upper : float or array_like of shape (n_assets,)
        Weight bounds (default long-only, no upper limit); ``-inf`` allows short selling.
    risk_free_rate : float, optional
        When given, the result reports the Sharpe ratio.
    constraints : LinearConstraints, optional
        Group and exposure limits (see :func:`~xlfrontier.group_constraints`).

    Returns
    -------
    PortfolioResult

    Raises
    ------
    InputError
        Invalid inputs (shapes, missing values, asymmetric or non-PSD covariance, bounds).
    TargetOutOfRangeError
        When no portfolio within the bounds has that return; carries the feasible range.
    UnboundedError
        When unbounded assets allow an arbitrage (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import min_variance
    >>> res = min_variance(mu, cov, target_return=0.07)
    >>> np.round(res.weights, 4)
    array([0.4629, 0.2532, 0.2839])
    >>> print(f"{res.expected_return:.2%} at volatility {res.volatility:.2%}")
    7.00% at volatility 9.53%
    >>> res.kkt.is_optimal()
    True
    >>> from xlfrontier import TargetOutOfRangeError
    >>> try:
    ...     min_variance(mu, cov, 0.15)
    ... except TargetOutOfRangeError as err:
    ...     print(err)
    target return 15% is above the highest attainable 11% (feasible 4% to 11%)
    """
    r = _number(target_return, "target_return")
    rf = _rf(risk_free_rate)
    ps = PathSolver(validate_problem(mu, cov, lower, upper, copy=False, constraints=constraints))
    if ps.rows is not None:
        # A certified direct solve needs no range (a linear program on the error path only).
        fast = ps.direct("min_variance", rf, target=r)
        if fast is not None:
            return fast
    lo, hi = ps.r_min, ps.r_max
    if not target_in_range(r, lo, hi, with_limits=True):
        raise return_out_of_range(r, lo, hi, efficient=False)
    r = min(max(r, lo), hi)
    # (With constraints the direct solve was tried above.)
    direct = not ps.open_split and ps.rows is None
    fast = ps.direct("min_variance", rf, target=r) if direct else None
    if fast is not None:
        return fast
    try:
        return _min_variance_on_path(ps, r, rf)
    except UnboundedError:
        res = _min_variance_with_arbitrage(ps, r, rf)
        if res is None:
            raise
        return res


def _min_variance_on_path(ps: PathSolver, r: float, rf: float | None) -> PortfolioResult:
    mu_x = ps.mu_x
    up = ps.extend_upper(stop=lambda c: True)
    # Both branches as non-decreasing sequences: returns upwards, minus returns downwards.
    if r >= up.ret[0]:
        br, sign = ps.extend_upper(stop=lambda c: float(mu_x @ c.w) >= r), 1.0
    else:
        br, sign = ps.extend_lower(stop=lambda c: float(mu_x @ c.w) <= r), -1.0
    rate = None if br.ray is None else sign * float(ps.p.mu @ br.ray[0])
    k, lam = locate(sign * br.ret, 0, sign * r, rate)
    return ps.point(br, k, lam, "min_variance", rf, target=r)


def _min_variance_with_arbitrage(
    ps: PathSolver, r: float, rf: float | None
) -> PortfolioResult | None:
    """Minimum variance at return ``r`` when unbounded assets allow a riskless arbitrage.

    Along an arbitrage direction ``d`` (see :meth:`PathSolver.riskless_arbitrage`) any GMV
    portfolio reaches any return at the same variance, so the optimum at ``r`` is a GMV
    portfolio moved along those directions; the GMV multipliers (``η = 0``) certify it. Of
    these, the one with the smallest sum of squared weights: the GMV portfolio projected off
    the directions, plus the shortest move within them that gives return ``r``.
    """
    arb = ps.riskless_arbitrage()
    if arb is None:
        return None
    q, g = arb
    p = ps.p
    gmv = PathSolver(replace(p, mu=np.zeros(p.n)))
    br = gmv.extend_upper(stop=lambda c: True)
    w = br.w[0] - q @ (q.T @ br.w[0])
    w = w + q @ g * ((r - float(p.mu @ w)) / float(g @ g))
    return ps.result(w, p.cov @ w, 0.0, br.state[0], "min_variance", rf, target=r)


def global_min_variance(
    cov: ArrayLike,
    lower: Bound = 0.0,
    upper: Bound = np.inf,
    mu: ArrayLike | None = None,
    risk_free_rate: float | None = None,
    *,
    constraints: LinearConstraints | None = None,
) -> PortfolioResult:
    """Global minimum-variance (GMV) portfolio.

    Parameters
    ----------
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix.
    lower, upper : float or array_like of shape (n_assets,)
        Weight bounds.
    mu : array_like of shape (n_assets,), optional
        Expected returns: reported in the result, and used to pick the highest-return GMV
        portfolio when several have the same variance.
    risk_free_rate : float, optional
        When given (with ``mu``), the result reports the Sharpe ratio.
    constraints : LinearConstraints, optional
        Group and exposure limits (see :func:`~xlfrontier.group_constraints`).

    Returns
    -------
    PortfolioResult

    Raises
    ------
    UnboundedError
        With ``mu``, when unbounded assets allow an arbitrage (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import global_min_variance
    >>> gmv = global_min_variance(cov, mu=mu)
    >>> np.round(gmv.weights, 4)
    array([0.9509, 0.0291, 0.02  ])
    >>> print(f"volatility {gmv.volatility:.2%}, return {gmv.expected_return:.2%}")
    volatility 4.94%, return 4.26%
    """
    rf = _rf(risk_free_rate)
    ps = PathSolver(validate_problem(mu, cov, lower, upper, copy=False, constraints=constraints))
    rf = rf if mu is not None else None
    fast = ps.direct("global_min_variance", rf, t=0.0) if mu is None and not ps.open_split else None
    if fast is not None:
        return fast
    br = ps.extend_upper(stop=lambda c: c.t > T_ZERO)
    return ps.point(br, gmv_index(br, ps), 0.0, "global_min_variance", rf)


def max_sharpe(
    mu: ArrayLike,
    cov: ArrayLike,
    risk_free_rate: float = 0.0,
    lower: Bound = 0.0,
    upper: Bound = np.inf,
    *,
    constraints: LinearConstraints | None = None,
) -> PortfolioResult:
    """Maximum Sharpe ratio (tangency) portfolio.

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
        Expected returns.
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix.
    risk_free_rate : float
        Same periodicity as ``mu``.
    lower, upper : float or array_like of shape (n_assets,)
        Weight bounds.
    constraints : LinearConstraints, optional
        Group and exposure limits (see :func:`~xlfrontier.group_constraints`).

    Returns
    -------
    PortfolioResult

    Raises
    ------
    NoPositiveExcessReturnError
        When no feasible portfolio earns more than the risk-free rate.
    UnboundedError
        With unlimited short selling when the ratio has no maximum, or with an arbitrage.

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import max_sharpe
    >>> res = max_sharpe(mu, cov, risk_free_rate=0.02)
    >>> np.round(res.weights, 4)
    array([0.7328, 0.1293, 0.138 ])
    >>> round(res.sharpe_ratio, 4)
    0.5674
    """
    rf = _number(risk_free_rate, "risk_free_rate")
    ps = PathSolver(validate_problem(mu, cov, lower, upper, copy=False, constraints=constraints))
    if ps.r_max > rf:
        fast = ps.direct_tangency(rf)
        if fast is not None:
            return fast
    return max_sharpe_on(ps, rf)


def max_return(
    mu: ArrayLike,
    cov: ArrayLike,
    target_volatility: float,
    lower: Bound = 0.0,
    upper: Bound = np.inf,
    risk_free_rate: float | None = None,
    *,
    constraints: LinearConstraints | None = None,
) -> PortfolioResult:
    """Highest-return portfolio whose volatility does not exceed ``target_volatility``.

    When the target is above the volatility of the maximum-return portfolio, that portfolio is
    returned (its volatility is then below the target).

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
        Expected returns (decimals: 0.08 for 8%).
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix, symmetric positive semi-definite.
    target_volatility : float
        Highest volatility allowed, at least 0.
    lower, upper : float or array_like of shape (n_assets,)
        Weight bounds (default long-only, no upper limit); ``-inf`` allows short selling.
    risk_free_rate : float, optional
        When given, the result reports the Sharpe ratio.
    constraints : LinearConstraints, optional
        Group and exposure limits (see :func:`~xlfrontier.group_constraints`).

    Returns
    -------
    PortfolioResult

    Raises
    ------
    InputError
        Invalid inputs (as for :func:`min_variance`) or a negative target.
    TargetOutOfRangeError
        When the target is below the GMV volatility (nothing is that safe).
    UnboundedError
        When unbounded assets allow an arbitrage (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import max_return
    >>> res = max_return(mu, cov, target_volatility=0.12)
    >>> np.round(res.weights, 4)
    array([0.296 , 0.3298, 0.3742])
    >>> print(f"{res.expected_return:.2%} at volatility {res.volatility:.2%}")
    7.94% at volatility 12.00%
    """
    s = _number(target_volatility, "target_volatility")
    rf = _rf(risk_free_rate)
    if s < 0:
        raise InputError("target volatility must not be negative", "target_volatility")
    ps = PathSolver(validate_problem(mu, cov, lower, upper, copy=False, constraints=constraints))
    s_cov = ps.s_cov
    target = s * s
    br = ps.extend_upper(stop=lambda c: c.t > T_ZERO)
    k0 = gmv_index(br, ps)
    v0 = br.var[k0]
    # Rounding allowance: a riskless GMV's computed variance is dust of order eps·max Σ.
    if not target_in_range(target, v0, np.inf, floor=0.0, with_limits=True, atol=1e-14 * s_cov):
        raise volatility_out_of_range(s, float(np.sqrt(v0)), float("inf"))
    br = ps.extend_upper(stop=lambda c: float(c.w @ c.sw) * s_cov >= target)
    return ps.point(br, *locate_variance(br, k0, target), "max_return", rf)


def max_utility(
    mu: ArrayLike,
    cov: ArrayLike,
    risk_aversion: float,
    lower: Bound = 0.0,
    upper: Bound = np.inf,
    risk_free_rate: float | None = None,
    *,
    constraints: LinearConstraints | None = None,
) -> PortfolioResult:
    """Maximise the mean-variance utility ``μᵀw − (δ/2) wᵀΣw``.

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
        Expected returns (decimals: 0.08 for 8%).
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix, symmetric positive semi-definite.
    risk_aversion : float
        ``δ > 0``. The solution is the frontier point with risk tolerance ``t = 1/δ``.
    lower, upper : float or array_like of shape (n_assets,)
        Weight bounds (default long-only, no upper limit); ``-inf`` allows short selling.
    risk_free_rate : float, optional
        When given, the result reports the Sharpe ratio.
    constraints : LinearConstraints, optional
        Group and exposure limits (see :func:`~xlfrontier.group_constraints`).

    Returns
    -------
    PortfolioResult

    Raises
    ------
    InputError
        When ``δ ≤ 0``, or invalid inputs (as for :func:`min_variance`).
    UnboundedError
        When unbounded assets allow an arbitrage (see the module docstring), or when ``δ`` is
        so small that the optimal positions exceed about 4,500 times the capital (with
        unlimited short selling): the budget could not then hold to 1e-12 in floating point,
        and the utility is unbounded in practice.

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import max_utility
    >>> res = max_utility(mu, cov, risk_aversion=3.0)
    >>> np.round(res.weights, 4)
    array([0.2788, 0.3377, 0.3835])
    """
    delta = _number(risk_aversion, "risk_aversion")
    rf = _rf(risk_free_rate)
    if delta <= 0:
        raise InputError("risk aversion must be positive (typical values 1 to 10)", "risk_aversion")
    ps = PathSolver(validate_problem(mu, cov, lower, upper, copy=False, constraints=constraints))
    return _exact_or_refused(_max_utility_on(ps, delta, rf), delta)


# Gross exposure ‖w‖₁ beyond which the budget 1ᵀw = 1 cannot hold to 1e-12: the weights'
# own rounding (eps·‖w‖₁) exceeds it. Only unlimited short selling with a vanishing risk
# aversion gets there.
_MAX_GROSS = 1e-12 / float(np.finfo(np.float64).eps)


def _exact_or_refused(res: PortfolioResult, delta: float) -> PortfolioResult:
    """Refuse a utility optimum whose positions are too large to meet the budget exactly."""
    gross = float(np.abs(res.weights).sum())
    if gross > _MAX_GROSS:
        raise UnboundedError(
            f"risk aversion {delta:.3g} is too low: the best portfolio would hold long and short "
            f"positions of {gross:.2g} times the capital (in practice unbounded); use a higher "
            "risk aversion (typically 1 to 10) or limit short selling"
        )
    return res


def _max_utility_on(ps: PathSolver, delta: float, rf: float | None) -> PortfolioResult:
    t = 1.0 / delta
    if not ps.flat and not ps.open_split:
        fast = ps.direct("max_utility", rf, t=t)
        if fast is not None:
            return fast
    ts = ps._t_scale()
    br = ps.extend_upper(stop=lambda c: c.t * ts >= t)
    last = br.t.size - 1
    if ps.flat:
        return ps.point(br, 0, 0.0, "max_utility", rf)
    if t >= br.t[last]:
        return ps.point(
            br, last, (t - br.t[last]) if br.ray is not None else 0.0, "max_utility", rf
        )
    k = int(np.searchsorted(br.t, t, side="right")) - 1
    k = min(max(k, 0), last - 1)
    dt = br.t[k + 1] - br.t[k]
    lam = 0.0 if dt <= 0 else (t - br.t[k]) / dt
    return ps.point(br, k, lam, "max_utility", rf)
