"""Analytic answers: two assets in closed form, Merton (1972), Zivot's textbook example.

Every expected value here is computed independently of the solver under test: by hand-derived
formulas, by a direct linear solve of the KKT system, or by exact rational arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import (
    Case,
    assert_own_kkt,
    check_certificate,
    clarabel_max_sharpe,
    clarabel_min_variance,
    exact_min_variance,
    quadprog_min_variance,
    rel_diff,
    return_tol_from_volatility,
    two_asset_cov,
)

from xlfrontier.core.closed_form import merton_frontier
from xlfrontier.core.frontier import efficient_frontier
from xlfrontier.core.optimize import (
    global_min_variance,
    max_return,
    max_sharpe,
    max_utility,
    min_variance,
)
from xlfrontier.exceptions import InputError

INF = np.inf
# Weights of well-conditioned small problems: a backward-stable solver is within a few ulps
# times the condition number; 1e-13 leaves two orders of magnitude for that.
W_ATOL = 1e-13
# The accuracy target: relative objective error <= 1e-12 against an exact reference.
OBJ_RTOL = 1e-12


# ============================================================================================
# Two assets
# ============================================================================================
def _two_gmv_w1(s1: float, s2: float, rho: float) -> float:
    """Unconstrained two-asset GMV weight of asset 1: (σ2² − σ12) / (σ1² + σ2² − 2σ12)."""
    c = rho * s1 * s2
    return (s2 * s2 - c) / (s1 * s1 + s2 * s2 - 2 * c)


# (s1, s2, rho, description)
TWO_GMV = [
    (0.20, 0.30, 0.10, "interior"),
    (0.10, 0.30, 0.50, "unconstrained w1 > 1: long-only corner (1, 0)"),
    (0.30, 0.10, 0.50, "unconstrained w2 > 1: long-only corner (0, 1)"),
    (0.15, 0.25, -0.40, "negative correlation"),
    (0.20, 0.20, 0.30, "equal volatilities: 50/50"),
]


@pytest.mark.parametrize(("s1", "s2", "rho", "what"), TWO_GMV)
def test_two_asset_gmv_shorting(s1, s2, rho, what):
    cov = two_asset_cov(s1, s2, rho)
    w1 = _two_gmv_w1(s1, s2, rho)
    want = np.array([w1, 1 - w1])
    res = global_min_variance(cov, lower=-INF)
    np.testing.assert_allclose(res.weights, want, rtol=0, atol=W_ATOL, err_msg=what)
    var = (s1**2 * s2**2 * (1 - rho**2)) / (s1**2 + s2**2 - 2 * rho * s1 * s2)
    assert rel_diff(res.variance, var) <= OBJ_RTOL
    check_certificate(res, None, cov, np.full(2, -INF), np.full(2, INF), kind="gmv")


@pytest.mark.parametrize(("s1", "s2", "rho", "what"), TWO_GMV)
def test_two_asset_gmv_long_only(s1, s2, rho, what):
    cov = two_asset_cov(s1, s2, rho)
    w1 = min(max(_two_gmv_w1(s1, s2, rho), 0.0), 1.0)
    want = np.array([w1, 1 - w1])
    res = global_min_variance(cov)
    np.testing.assert_allclose(res.weights, want, rtol=0, atol=W_ATOL, err_msg=what)
    check_certificate(res, None, cov, np.zeros(2), np.full(2, INF), kind="gmv")
    corner = w1 in (0.0, 1.0)
    if corner:
        j = 1 if w1 == 1.0 else 0
        # the asset left out sits exactly at zero and is reported as binding at its lower bound,
        # with a positive shadow price (variance would rise if it were forced in)
        assert res.weights[j] == 0.0
        assert res.at_lower[j]
        assert not res.at_lower[1 - j]
        assert res.bound_multipliers[j] > 0
        assert res.variance == pytest.approx(cov[1 - j, 1 - j], rel=OBJ_RTOL)
    else:
        assert not res.at_lower.any()
        np.testing.assert_array_equal(res.bound_multipliers, 0.0)


def test_two_asset_gmv_exact_corner_zero_multiplier():
    # rho = s1/s2 puts the unconstrained GMV exactly at (1, 0): the bound is touched with a
    # zero multiplier (degenerate corner). Both long-only and shorting must return (1, 0).
    s1, s2 = 0.1, 0.2
    cov = two_asset_cov(s1, s2, s1 / s2)
    for lower in (0.0, -INF):
        res = global_min_variance(cov, lower=lower)
        np.testing.assert_allclose(res.weights, [1.0, 0.0], rtol=0, atol=W_ATOL)
        assert res.variance == pytest.approx(0.01, rel=OBJ_RTOL)
        check_certificate(res, None, cov, np.full(2, lower), np.full(2, INF), kind="gmv")


@pytest.mark.parametrize(("rho", "w1"), [(-1.0, 0.75), (1.0, 1.5)])
def test_two_asset_perfect_correlation_riskless_combination(rho, w1):
    # rho = ±1: Σ is singular and some combination is riskless: w1 = s2/(s1+s2) for rho=-1,
    # s2/(s2-s1) for rho=+1 (needs shorting). Long-only with rho=+1 gives (1, 0).
    s1, s2 = 0.1, 0.3
    cov = two_asset_cov(s1, s2, rho)
    res = global_min_variance(cov, lower=-INF)
    np.testing.assert_allclose(res.weights, [w1, 1 - w1], rtol=0, atol=1e-12)
    assert res.variance <= 1e-15
    check_certificate(res, None, cov, np.full(2, -INF), np.full(2, INF), kind="gmv")
    lo = global_min_variance(cov)
    want = [w1, 1 - w1] if rho < 0 else [1.0, 0.0]
    np.testing.assert_allclose(lo.weights, want, rtol=0, atol=1e-12)
    check_certificate(lo, None, cov, np.zeros(2), np.full(2, INF), kind="gmv")
    assert_own_kkt(res, lo)


MU2 = np.array([0.05, 0.12])
COV2 = two_asset_cov(0.15, 0.30, 0.2)


@pytest.mark.parametrize(
    ("target", "lower"),
    [
        (0.09, 0.0),
        (0.12, 0.0),
        (0.05, 0.0),
        (0.10, -INF),
        (0.20, -INF),
        (0.0, -INF),
        (0.15, -0.5),
        (0.08, -0.5),
    ],
)
def test_two_asset_target_return_determines_weights(target, lower):
    # with two assets the budget and the return fix the weights: w1 = (r − μ2)/(μ1 − μ2)
    w1 = (target - MU2[1]) / (MU2[0] - MU2[1])
    want = np.array([w1, 1 - w1])
    res = min_variance(MU2, COV2, target, lower=lower)
    np.testing.assert_allclose(res.weights, want, rtol=0, atol=W_ATOL)
    assert rel_diff(res.variance, float(want @ COV2 @ want)) <= OBJ_RTOL
    check_certificate(res, MU2, COV2, np.full(2, lower), np.full(2, INF), target_return=target)
    # the shadow price of the return constraint is the slope of the (parabolic) frontier:
    # σ²(r) = a w1² + ... with w1 affine in r, so η = dσ²/dr = 2(Σw)·dw/dr
    dw = np.array([1.0, -1.0]) / (MU2[0] - MU2[1])
    if not (res.at_lower.any() or res.at_upper.any()):
        assert res.return_multiplier == pytest.approx(2 * (COV2 @ want) @ dw, rel=1e-12)


@pytest.mark.parametrize("delta", [0.5, 1.0, 3.0, 10.0, 100.0])
@pytest.mark.parametrize("lower", [0.0, -INF])
def test_two_asset_max_utility(delta, lower):
    s1, s2, rho = 0.15, 0.30, 0.2
    c = rho * s1 * s2
    w1 = ((MU2[0] - MU2[1]) / delta + s2 * s2 - c) / (s1 * s1 + s2 * s2 - 2 * c)
    if lower == 0.0:
        w1 = min(max(w1, 0.0), 1.0)
    want = np.array([w1, 1 - w1])
    res = max_utility(MU2, COV2, delta, lower=lower)
    np.testing.assert_allclose(res.weights, want, rtol=0, atol=W_ATOL)
    check_certificate(res, MU2, COV2, np.full(2, lower), np.full(2, INF), kind="efficient")


@pytest.mark.parametrize("lower", [0.0, -INF])
@pytest.mark.parametrize("rf", [0.0, 0.02, 0.04])
def test_two_asset_max_sharpe(lower, rf):
    inv = np.linalg.inv(COV2)
    t = inv @ (MU2 - rf)
    t /= t.sum()
    if lower == 0.0 and t.min() < 0:  # Sharpe is unimodal on the segment: clip to the end
        t = np.where(t > 0, 1.0, 0.0)
    res = max_sharpe(MU2, COV2, rf, lower=lower)
    np.testing.assert_allclose(res.weights, t, rtol=0, atol=1e-12)
    check_certificate(
        res, MU2, COV2, np.full(2, lower), np.full(2, INF), kind="efficient", risk_free_rate=rf
    )
    grid = np.linspace(0 if lower == 0.0 else -1, 1 if lower == 0.0 else 2, 2001)
    sharpes = [(MU2 @ [a, 1 - a] - rf) / np.sqrt([a, 1 - a] @ COV2 @ [a, 1 - a]) for a in grid]
    assert res.sharpe_ratio >= max(sharpes) - 1e-14


@pytest.mark.parametrize("target_vol", [0.16, 0.2, 0.25, 0.29, 0.3])
def test_two_asset_max_return_at_target_volatility(target_vol):
    # σ²(w1) = a w1² + b w1 + c; take the root with the higher return (smaller w1: μ2 > μ1)
    s1, s2, rho = 0.15, 0.30, 0.2
    cc = rho * s1 * s2
    a, b, c = s1 * s1 + s2 * s2 - 2 * cc, 2 * (cc - s2 * s2), s2 * s2 - target_vol**2
    w1 = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)
    w1 = max(w1, 0.0)
    want = np.array([w1, 1 - w1])
    res = max_return(MU2, COV2, target_vol)
    np.testing.assert_allclose(res.weights, want, rtol=0, atol=1e-12)
    assert res.volatility == pytest.approx(target_vol, rel=1e-13)
    check_certificate(res, MU2, COV2, np.zeros(2), np.full(2, INF), kind="efficient")


# ============================================================================================
# Merton (1972): the frontier without bounds
# ============================================================================================
def _merton_case(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n + 3))
    cov = x @ x.T / (n + 3) * 0.04 + np.diag(rng.uniform(0.005, 0.03, n))
    mu = rng.normal(0.08, 0.05, n)
    return mu, cov


def _kkt_equality_solve(mu, cov, r):
    """Minimum variance at return r, budget only: solve the (n+2) KKT system directly."""
    n = mu.size
    k = np.zeros((n + 2, n + 2))
    k[:n, :n] = 2 * cov
    k[:n, n] = k[n, :n] = 1.0
    k[:n, n + 1] = k[n + 1, :n] = mu
    rhs = np.r_[np.zeros(n), 1.0, r]
    x = np.linalg.solve(k, rhs)
    return x[:n]


@pytest.mark.parametrize(("seed", "n"), [(1, 2), (2, 3), (3, 5), (4, 10), (5, 25), (6, 60)])
def test_merton_constants_and_weights(seed, n):
    mu, cov = _merton_case(seed, n)
    mf = merton_frontier(mu, cov)
    inv = np.linalg.inv(cov)
    one = np.ones(n)
    a, b, c = one @ inv @ one, one @ inv @ mu, mu @ inv @ mu
    assert rel_diff(mf.A, a) <= 1e-12
    assert rel_diff(mf.B, b) <= 1e-12
    assert rel_diff(mf.C, c) <= 1e-12
    assert rel_diff(mf.D, a * c - b * b) <= 1e-10
    assert rel_diff(mf.gmv_return, b / a) <= 1e-12
    assert rel_diff(mf.gmv_volatility, np.sqrt(1 / a)) <= 1e-12
    np.testing.assert_allclose(mf.gmv_weights, inv @ one / a, rtol=0, atol=1e-12)
    for r in np.linspace(mf.gmv_return - 0.1, mf.gmv_return + 0.2, 7):
        w = mf.weights(r)
        np.testing.assert_allclose(
            w, _kkt_equality_solve(mu, cov, r), rtol=0, atol=1e-11 * max(1, np.abs(w).max())
        )
        assert rel_diff(float(mf.variance(r)), float(w @ cov @ w)) <= 1e-11


@pytest.mark.parametrize(("seed", "n"), [(21, 2), (22, 3), (23, 7), (24, 20)])
def test_merton_variance_coefficients_and_asymptote(seed, n):
    """The MERTON_FRONTIER table's numbers, from the core: σ²(r) = (A r² − 2B r + C) / D."""
    mu, cov = _merton_case(seed, n)
    mf = merton_frontier(mu, cov)
    assert not mf.degenerate
    inv = np.linalg.inv(cov)
    one = np.ones(n)
    a, b, c = one @ inv @ one, one @ inv @ mu, mu @ inv @ mu
    d = a * c - b * b
    a2, a1, a0 = mf.variance_coefficients
    assert rel_diff(a2, a / d) <= 1e-10
    assert rel_diff(a1, -2 * b / d) <= 1e-10
    assert rel_diff(a0, c / d) <= 1e-10
    assert rel_diff(mf.asymptote_slope, np.sqrt(d / a)) <= 1e-10
    # The quadratic is the variance of the shorting-allowed optimum (an independent solve).
    for r in (mf.gmv_return - 0.05, mf.gmv_return + 0.1):
        w = _kkt_equality_solve(mu, cov, r)
        assert rel_diff(a2 * r * r + a1 * r + a0, float(w @ cov @ w)) <= 1e-10
    # With rf = B/A the Sharpe ratio of the upper branch rises towards the slope, never past it.
    rs = mf.gmv_return + np.array([0.1, 1.0, 10.0, 1e4])
    sharpe = (rs - mf.gmv_return) / np.sqrt(np.asarray(mf.variance(rs)))
    assert np.all(np.diff(sharpe) > 0)
    assert np.all(sharpe <= mf.asymptote_slope * (1 + 1e-12))
    assert rel_diff(sharpe[-1], mf.asymptote_slope) <= 1e-8


@pytest.mark.parametrize("seed", range(12))
def test_merton_with_equal_returns_is_degenerate_despite_rounding(seed):
    """Equal expected returns: D = AC − B² is rounding of either sign, and is treated as zero.

    With ``D <= 0`` as the test (before), a D that came out positive by rounding gave weights
    dividing by ~1e-17 instead of the error (3 of these 12 seeds).
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))
    x = rng.standard_normal((n, n))
    cov = x @ x.T / n + 0.01 * np.eye(n)
    level = float(rng.uniform(0.01, 0.2))
    mf = merton_frontier(np.full(n, level), cov)
    with pytest.raises(InputError, match=r"all assets have the same expected return"):
        mf.weights(level + 0.01)
    assert np.isnan(mf.variance(level + 0.01))
    assert rel_diff(float(mf.variance(level)), 1 / mf.A) <= 1e-12
    assert mf.degenerate
    assert all(np.isnan(mf.variance_coefficients))
    assert np.isnan(mf.asymptote_slope)


@pytest.mark.parametrize(("seed", "n"), [(11, 2), (12, 3), (13, 7), (14, 20), (15, 60)])
def test_min_variance_with_shorting_is_merton(seed, n):
    mu, cov = _merton_case(seed, n)
    mf = merton_frontier(mu, cov)
    lo, up = np.full(n, -INF), np.full(n, INF)
    # both branches: below the GMV return the frontier is the inefficient lower branch
    for r in np.r_[np.linspace(mf.gmv_return - 0.15, mf.gmv_return + 0.3, 9), mf.gmv_return]:
        res = min_variance(mu, cov, r, lower=-INF)
        want = _kkt_equality_solve(mu, cov, r)
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(res.weights, want, rtol=0, atol=1e-11 * scale)
        assert rel_diff(res.variance, float(mf.variance(r))) <= 1e-11
        # η = dσ²/dr = 2(A r − B)/D along Merton's parabola
        eta = 2 * (mf.A * r - mf.B) / mf.D
        assert abs(res.return_multiplier - eta) <= 1e-9 * max(1.0, abs(eta))
        check_certificate(res, mu, cov, lo, up, target_return=r)
        assert not res.at_lower.any()
        assert not res.at_upper.any()


@pytest.mark.parametrize(("seed", "n"), [(21, 3), (22, 8), (23, 30)])
def test_unconstrained_gmv_and_tangency(seed, n):
    mu, cov = _merton_case(seed, n)
    mf = merton_frontier(mu, cov)
    lo, up = np.full(n, -INF), np.full(n, INF)
    gmv = global_min_variance(cov, lower=-INF, mu=mu)
    np.testing.assert_allclose(gmv.weights, mf.gmv_weights, rtol=0, atol=1e-12)
    assert rel_diff(gmv.expected_return, mf.gmv_return) <= 1e-12
    assert rel_diff(gmv.volatility, mf.gmv_volatility) <= 1e-12
    check_certificate(gmv, mu, cov, lo, up, kind="gmv")
    for rf in (mf.gmv_return - 0.05, mf.gmv_return - 0.01, 0.0):
        if rf >= mf.gmv_return:
            continue
        res = max_sharpe(mu, cov, rf, lower=-INF)
        t = np.linalg.solve(cov, mu - rf)
        t /= t.sum()
        np.testing.assert_allclose(res.weights, t, rtol=0, atol=1e-11 * max(1, np.abs(t).max()))
        np.testing.assert_allclose(
            mf.tangency_weights(rf), t, rtol=0, atol=1e-11 * max(1, np.abs(t).max())
        )
        # the tangency Sharpe ratio is sqrt(C − 2B rf + A rf²)
        sr = np.sqrt(mf.C - 2 * mf.B * rf + mf.A * rf * rf)
        assert rel_diff(res.sharpe_ratio, sr) <= 1e-11
        check_certificate(res, mu, cov, lo, up, kind="efficient", risk_free_rate=rf)
        # at the tangency, η = dσ²/dr = 2σ²/(r − rf)
        eta = 2 * res.variance / (res.expected_return - rf)
        assert abs(res.return_multiplier - eta) <= 1e-9 * eta


@pytest.mark.parametrize(("seed", "n"), [(31, 4), (32, 15)])
def test_unconstrained_max_utility_and_max_return(seed, n):
    mu, cov = _merton_case(seed, n)
    mf = merton_frontier(mu, cov)
    lo, up = np.full(n, -INF), np.full(n, INF)
    inv_mu, inv_one = np.linalg.solve(cov, mu), np.linalg.solve(cov, np.ones(n))
    for delta in (1.0, 4.0, 25.0):
        want = inv_mu / delta + inv_one * (1 - inv_mu.sum() / delta) / inv_one.sum()
        res = max_utility(mu, cov, delta, lower=-INF)
        np.testing.assert_allclose(
            res.weights, want, rtol=0, atol=1e-11 * max(1, np.abs(want).max())
        )
        # the utility optimum is the frontier point where dσ²/dr = 2/δ
        assert abs(res.return_multiplier - 2 / delta) <= 1e-9 * (2 / delta)
        check_certificate(res, mu, cov, lo, up, kind="efficient")
    for k in (1.05, 1.5, 3.0):
        sigma = k * mf.gmv_volatility
        # upper root of (A r² − 2B r + C)/D = σ²
        r = (mf.B + np.sqrt(mf.B**2 - mf.A * (mf.C - mf.D * sigma**2))) / mf.A
        res = max_return(mu, cov, sigma, lower=-INF)
        assert rel_diff(res.expected_return, r) <= 1e-11
        assert rel_diff(res.volatility, sigma) <= 1e-12
        np.testing.assert_allclose(
            res.weights, mf.weights(r), rtol=0, atol=1e-10 * max(1, np.abs(res.weights).max())
        )
        check_certificate(res, mu, cov, lo, up, kind="efficient")


@pytest.mark.parametrize(("seed", "n"), [(41, 3), (42, 12)])
def test_frontier_with_unlimited_shorting_is_merton(seed, n):
    mu, cov = _merton_case(seed, n)
    mf = merton_frontier(mu, cov)
    ef = efficient_frontier(mu, cov, lower=-INF)
    assert ef.max_return == INF
    assert rel_diff(ef.min_return, mf.gmv_return) <= 1e-12
    np.testing.assert_allclose(ef.gmv.weights, mf.gmv_weights, rtol=0, atol=1e-12)
    for r in mf.gmv_return + np.array([0.0, 0.01, 0.05, 0.2, 1.0]):
        p = ef.at_return(r)
        np.testing.assert_allclose(
            p.weights, mf.weights(r), rtol=0, atol=1e-11 * max(1, np.abs(p.weights).max())
        )
        assert rel_diff(p.variance, float(mf.variance(r))) <= 1e-11
        q = ef.at_volatility(p.volatility)
        assert rel_diff(q.volatility, p.volatility) <= 1e-12
        if r > mf.gmv_return:  # at the vertex σ fixes r only to ~sqrt(eps)
            assert abs(q.expected_return - r) <= return_tol_from_volatility(p)


# ============================================================================================
# Zivot's textbook example (MSFT, NORD, SBUX): monthly returns, shorting allowed
# ============================================================================================
# E. Zivot, "Introduction to Computational Finance and Financial Econometrics", chapter
# "Portfolio Theory with Matrix Algebra" (econ424 notes, examples 2-7). Printed to 4 decimals.
ZIVOT_MU = np.array([0.0427, 0.0015, 0.0285])
ZIVOT_COV = np.array(
    [
        [0.0100, 0.0018, 0.0011],
        [0.0018, 0.0109, 0.0026],
        [0.0011, 0.0026, 0.0199],
    ]
)
ZIVOT_RF = 0.005
PRINTED = 0.5e-4 + 1e-12  # half a unit in the 4th decimal


def test_zivot_gmv():
    res = global_min_variance(ZIVOT_COV, lower=-INF, mu=ZIVOT_MU)
    np.testing.assert_allclose(res.weights, [0.4411, 0.3656, 0.1933], rtol=0, atol=PRINTED)
    assert abs(res.expected_return - 0.0249) <= PRINTED
    assert abs(res.volatility - 0.0727) <= PRINTED
    check_certificate(res, ZIVOT_MU, ZIVOT_COV, np.full(3, -INF), np.full(3, INF), kind="gmv")
    # all GMV weights are positive, so the long-only GMV is the same portfolio
    lo = global_min_variance(ZIVOT_COV, mu=ZIVOT_MU)
    np.testing.assert_allclose(lo.weights, res.weights, rtol=0, atol=W_ATOL)
    assert not lo.at_lower.any()


@pytest.mark.parametrize(
    ("target", "weights", "sd"),
    [
        (0.0427, [0.8275, -0.0907, 0.2633], 0.0917),  # target = Microsoft's expected return
        (0.0285, [0.5194, 0.2732, 0.2075], None),
    ],  # target = Starbucks' expected return
)
def test_zivot_efficient_portfolio(target, weights, sd):
    res = min_variance(ZIVOT_MU, ZIVOT_COV, target, lower=-INF)
    np.testing.assert_allclose(res.weights, weights, rtol=0, atol=PRINTED)
    if sd is not None:
        assert abs(res.volatility - sd) <= PRINTED
    check_certificate(
        res,
        ZIVOT_MU,
        ZIVOT_COV,
        np.full(3, -INF),
        np.full(3, INF),
        target_return=target,
        kind="efficient",
    )


def test_zivot_tangency():
    res = max_sharpe(ZIVOT_MU, ZIVOT_COV, ZIVOT_RF, lower=-INF)
    np.testing.assert_allclose(res.weights, [1.0268, -0.3263, 0.2994], rtol=0, atol=PRINTED)
    assert abs(res.expected_return - 0.0519) <= PRINTED
    assert abs(res.volatility - 0.1116) <= PRINTED
    check_certificate(
        res,
        ZIVOT_MU,
        ZIVOT_COV,
        np.full(3, -INF),
        np.full(3, INF),
        kind="efficient",
        risk_free_rate=ZIVOT_RF,
    )


def test_zivot_exact_to_rounding():
    # beyond the printed digits: the exact rational solution of the same problem
    case = Case(ZIVOT_MU, ZIVOT_COV, np.full(3, -INF), np.full(3, INF), "zivot")
    for target in (0.0427, 0.0285, 0.03, 0.01):
        res = min_variance(ZIVOT_MU, ZIVOT_COV, target, lower=-INF)
        ex = exact_min_variance(case, target, res.weights)
        assert ex is not None
        np.testing.assert_allclose(res.weights, ex.weights, rtol=0, atol=W_ATOL)
        assert rel_diff(res.variance, ex.variance) <= OBJ_RTOL
        assert abs(res.return_multiplier - ex.eta) <= 1e-11 * abs(ex.eta)
        assert abs(res.budget_multiplier - ex.gamma) <= 1e-11 * max(abs(ex.gamma), 1e-3)


def test_zivot_long_only():
    lo, up = np.zeros(3), np.full(3, INF)
    case = Case(ZIVOT_MU, ZIVOT_COV, lo, up, "zivot long-only")
    # MSFT has the highest return: a 4.27% target is the top of the range, only MSFT gets it
    res = min_variance(ZIVOT_MU, ZIVOT_COV, 0.0427)
    np.testing.assert_allclose(res.weights, [1.0, 0.0, 0.0], rtol=0, atol=W_ATOL)
    check_certificate(res, ZIVOT_MU, ZIVOT_COV, lo, up, target_return=0.0427)
    # above 3.92% the unconstrained portfolio shorts Nordstrom; long-only it sits at zero
    for target in (0.035, 0.041):
        res = min_variance(ZIVOT_MU, ZIVOT_COV, target)
        ref = quadprog_min_variance(case, target)
        ex = exact_min_variance(case, target, ref.weights)
        assert ex is not None
        np.testing.assert_allclose(res.weights, ex.weights, rtol=0, atol=W_ATOL)
        assert rel_diff(res.variance, ex.variance) <= OBJ_RTOL
        assert rel_diff(res.variance, clarabel_min_variance(case, target).variance) <= 1e-8
        assert bool(res.at_lower[1]) == (target > 0.0392)
        check_certificate(res, ZIVOT_MU, ZIVOT_COV, lo, up, target_return=target)
    # long-only tangency: Nordstrom drops out; the tangency of {MSFT, SBUX} must then price
    # Nordstrom out (its excess return per unit of marginal risk is below the portfolio's)
    tan = max_sharpe(ZIVOT_MU, ZIVOT_COV, ZIVOT_RF)
    s = [0, 2]
    t = np.zeros(3)
    t[s] = np.linalg.solve(ZIVOT_COV[np.ix_(s, s)], ZIVOT_MU[s] - ZIVOT_RF)
    t /= t.sum()
    excess = ZIVOT_MU @ t - ZIVOT_RF
    assert (ZIVOT_MU[1] - ZIVOT_RF) < (ZIVOT_COV @ t)[1] * excess / (t @ ZIVOT_COV @ t)
    np.testing.assert_allclose(tan.weights, t, rtol=0, atol=W_ATOL)
    ref = clarabel_max_sharpe(case, ZIVOT_RF)
    np.testing.assert_allclose(tan.weights, ref.weights, rtol=0, atol=1e-6)
    check_certificate(tan, ZIVOT_MU, ZIVOT_COV, lo, up, kind="efficient", risk_free_rate=ZIVOT_RF)
    # the long-only frontier ends at MSFT and its GMV is the unconstrained GMV
    ef = efficient_frontier(ZIVOT_MU, ZIVOT_COV)
    np.testing.assert_allclose(ef.corner_weights[-1], [1.0, 0.0, 0.0], rtol=0, atol=W_ATOL)
    assert ef.max_return == pytest.approx(0.0427, rel=1e-14)
    np.testing.assert_allclose(ef.gmv.weights, [0.44110926, 0.3656263, 0.19326444], atol=1e-8)
