"""Degenerate problems: one or two assets, flat frontiers, duplicated and riskless assets,
ties for the highest return, targets exactly at the ends, low-rank covariances.

Where the weights are not unique (singular Σ) only the objective is compared, except that
merging duplicated assets makes the portfolio unique again, which is checked exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import (
    CLARABEL_OBJ_RTOL,
    QUADPROG_OBJ_RTOL,
    QUADPROG_W_ATOL,
    Case,
    assert_own_kkt,
    check_certificate,
    clarabel_max_return,
    clarabel_max_sharpe,
    clarabel_min_variance,
    exact_min_variance,
    quadprog_max_utility,
    quadprog_min_variance,
    random_case,
    random_pd_cov,
    rel_diff,
    return_range,
)

from xlfrontier.core.frontier import efficient_frontier
from xlfrontier.core.optimize import (
    global_min_variance,
    max_return,
    max_sharpe,
    max_utility,
    min_variance,
)
from xlfrontier.exceptions import (
    InputError,
    NoPositiveExcessReturnError,
    TargetOutOfRangeError,
    UnboundedError,
)

INF = np.inf
W_ATOL = 1e-13


# ============================================================================================
# One asset
# ============================================================================================
@pytest.mark.parametrize("lower", [0.0, -INF, -0.5])
def test_single_asset(lower):
    mu, cov = np.array([0.05]), np.array([[0.04]])
    lo, up = np.array([lower]), np.array([INF])
    results = [
        min_variance(mu, cov, 0.05, lower),
        global_min_variance(cov, lower, mu=mu),
        max_sharpe(mu, cov, 0.01, lower),
        max_return(mu, cov, 0.2, lower),
        max_return(mu, cov, 0.5, lower),
        max_utility(mu, cov, 3.0, lower),
    ]
    for res in results:
        np.testing.assert_array_equal(res.weights, [1.0])
        assert res.variance == pytest.approx(0.04, rel=1e-15)
        assert res.volatility == pytest.approx(0.2, rel=1e-15)
        check_certificate(res, mu, cov, lo, up)
    assert results[2].sharpe_ratio == pytest.approx(0.2, rel=1e-14)
    with pytest.raises(
        TargetOutOfRangeError, match=r"^target return 6% is above the highest attainable 5%"
    ) as err:
        min_variance(mu, cov, 0.06, lower)
    assert err.value.feasible_range == pytest.approx((0.05, 0.05), rel=1e-15)
    with pytest.raises(
        TargetOutOfRangeError, match=r"^target volatility 10% is below the lowest attainable 20%"
    ):
        max_return(mu, cov, 0.1, lower)
    with pytest.raises(NoPositiveExcessReturnError, match=r"^no portfolio earns more than .* 5%"):
        max_sharpe(mu, cov, 0.05, lower)
    ef = efficient_frontier(mu, cov, lower)
    assert len(ef.corners) == 1
    assert ef.min_return == ef.max_return == pytest.approx(0.05, rel=1e-15)
    assert ef.max_volatility == pytest.approx(0.2, rel=1e-15)
    s = ef.sample(5)
    np.testing.assert_array_equal(s.weights, np.ones((5, 1)))
    np.testing.assert_allclose(s.returns, 0.05, rtol=1e-15)
    np.testing.assert_allclose(s.volatilities, 0.2, rtol=1e-15)
    np.testing.assert_array_equal(ef.at_volatility(0.2).weights, [1.0])
    np.testing.assert_array_equal(ef.max_sharpe(0.0).weights, [1.0])


def test_single_riskless_asset():
    # Σ = 0 with one asset: the only portfolio (w = 1) is well defined and riskless
    mu, cov = np.array([0.03]), np.array([[0.0]])
    res = global_min_variance(cov, mu=mu)
    np.testing.assert_array_equal(res.weights, [1.0])
    assert res.variance == 0.0
    res = min_variance(mu, cov, 0.03)
    np.testing.assert_array_equal(res.weights, [1.0])
    assert res.volatility == 0.0


def test_all_assets_riskless():
    # Σ = 0 (e.g. deposits): every portfolio is riskless; the target return fixes the weights
    mu, cov = np.array([0.02, 0.03]), np.zeros((2, 2))
    res = min_variance(mu, cov, 0.025)
    np.testing.assert_allclose(res.weights, [0.5, 0.5], rtol=0, atol=W_ATOL)
    assert res.variance == 0.0
    # the efficient riskless portfolio is the highest-yielding one
    ef = efficient_frontier(mu, cov)
    np.testing.assert_array_equal(ef.gmv.weights, [0.0, 1.0])


# ============================================================================================
# Equal expected returns: the frontier is a single point
# ============================================================================================
@pytest.mark.parametrize("bounds", ["long_only", "upper", "short_half", "short_inf"])
def test_flat_frontier(bounds):
    case = random_case(7, 6, bounds, "pd", "equal")
    mu, cov, lo, up = case.mu, case.cov, case.lower, case.upper
    m = float(mu[0])
    gmv = global_min_variance(cov, lo, up, mu=mu)
    ref = quadprog_min_variance(case)
    np.testing.assert_allclose(gmv.weights, ref.weights, rtol=0, atol=QUADPROG_W_ATOL)
    ef = efficient_frontier(mu, cov, lo, up)
    assert len(ef.corners) == 1
    assert ef.min_return == pytest.approx(m, rel=1e-14)
    assert ef.max_return == pytest.approx(m, rel=1e-14)
    same = [
        ef.gmv,
        ef.at_return(m),
        ef.at_volatility(gmv.volatility),
        min_variance(mu, cov, m, lo, up),
        max_sharpe(mu, cov, m - 0.02, lo, up),
        ef.max_sharpe(m - 0.02),
        max_return(mu, cov, 2 * gmv.volatility, lo, up),
        max_utility(mu, cov, 2.0, lo, up),
    ]
    for res in same:
        np.testing.assert_allclose(
            res.weights, gmv.weights, rtol=0, atol=1e-12, err_msg=res.objective
        )
        check_certificate(res, mu, cov, lo, up, where=res.objective)
    s = ef.sample(4)
    np.testing.assert_allclose(s.weights, np.tile(gmv.weights, (4, 1)), rtol=0, atol=1e-12)
    with pytest.raises(
        TargetOutOfRangeError, match=r"^target return .* is above the highest"
    ) as err:
        min_variance(mu, cov, m + 0.01, lo, up)
    assert err.value.feasible_range == pytest.approx((m, m), rel=1e-14)
    with pytest.raises(NoPositiveExcessReturnError, match=r"maximum Sharpe is undefined"):
        max_sharpe(mu, cov, m, lo, up)


# ============================================================================================
# Duplicated assets (singular Σ)
# ============================================================================================
def _merge_duplicate(case: Case) -> tuple[Case, int, int]:
    """The same problem with the duplicated pair merged into one asset (unique optimum)."""
    n = case.n
    j = int(np.flatnonzero(np.all(np.isclose(case.cov[:-1], case.cov[-1]), axis=1))[0])
    keep = np.arange(n - 1)
    lo, up = case.lower[keep].copy(), case.upper[keep].copy()
    lo[j] += case.lower[-1]
    up[j] += case.upper[-1]
    return Case(case.mu[keep], case.cov[np.ix_(keep, keep)], lo, up, "merged"), j, n - 1


@pytest.mark.parametrize("bounds", ["long_only", "upper", "lower", "box", "short_half"])
@pytest.mark.parametrize("n", [2, 3, 9, 30])
def test_duplicated_asset(bounds, n):
    case = random_case(3, n, bounds, "duplicate")
    merged, j, _ = _merge_duplicate(case)
    assert merged.pd
    lo_r, hi_r = return_range(case.mu, case.lower, case.upper)
    targets = [None] + ([lo_r + f * (hi_r - lo_r) for f in (0.2, 0.5, 0.8)] if hi_r > lo_r else [])
    for r in targets:
        if r is None:
            res = global_min_variance(case.cov, case.lower, case.upper, mu=case.mu)
            ref = quadprog_min_variance(merged)
        else:
            res = min_variance(case.mu, case.cov, r, case.lower, case.upper)
            ref = quadprog_min_variance(merged, r)
        check_certificate(
            res,
            case.mu,
            case.cov,
            case.lower,
            case.upper,
            target_return=r,
            kind="gmv" if r is None else "any",
            where=f"{case.label} r={r}",
        )
        assert rel_diff(res.variance, ref.variance) <= QUADPROG_OBJ_RTOL, (case.label, r)
        # the duplicated pair's total weight is unique: it is the merged asset's weight
        w = res.weights[:-1].copy()
        w[j] += res.weights[-1]
        np.testing.assert_allclose(
            w, ref.weights, rtol=0, atol=QUADPROG_W_ATOL, err_msg=f"{case.label} r={r}"
        )
    ef = efficient_frontier(case.mu, case.cov, case.lower, case.upper)
    for c in ef.corners:
        check_certificate(
            c, case.mu, case.cov, case.lower, case.upper, kind="efficient", where=case.label
        )
    assert np.all(np.diff(ef.corner_returns) > 0)


def _merged_weights(w: np.ndarray, j: int) -> np.ndarray:
    """Weights of the merged problem: the copy's weight added to its original's."""
    out = w[:-1].copy()
    out[j] += w[-1]
    return out


@pytest.mark.parametrize("n", [3, 5, 9])
def test_duplicated_asset_unlimited_shorting(n):
    # Unlimited short selling and two copies of an asset: any split of the pair's total weight
    # is optimal. The solver answers (it used to refuse) with the minimum-norm portfolio, whose
    # copies hold equal weights; merged, it is the merged problem's unique optimum (quadprog).
    case = random_case(5, n, "short_inf", "duplicate")
    merged, j, _ = _merge_duplicate(case)
    assert merged.pd
    assert np.isneginf(merged.lower).all()
    mu, cov, lo, up = case.mu, case.cov, case.lower, case.upper
    ef = efficient_frontier(mu, cov, lo, up)
    r0 = ef.min_return
    cases = [
        (global_min_variance(cov, lo, up), None, None, quadprog_min_variance(merged)),
        (global_min_variance(cov, lo, up, mu=mu), mu, None, quadprog_min_variance(merged)),
        (ef.gmv, mu, None, quadprog_min_variance(merged)),
        (max_utility(mu, cov, 3.0, lo, up), mu, None, quadprog_max_utility(merged, 3.0)),
    ]
    for r in (r0 - 0.05, r0, r0 + 0.02, r0 + 0.3):  # below the GMV too (inefficient branch)
        ref = quadprog_min_variance(merged, r)
        cases.append((min_variance(mu, cov, r, lo, up), mu, r, ref))
        if r >= r0:
            cases.append((ef.at_return(r), mu, r, ref))
    for res, m, r, ref in cases:
        where = f"{case.label} {res.objective} r={r}"
        check_certificate(res, m, cov, lo, up, target_return=r, where=where)
        assert rel_diff(res.variance, ref.variance) <= QUADPROG_OBJ_RTOL, where
        np.testing.assert_allclose(
            _merged_weights(res.weights, j), ref.weights, rtol=0, atol=QUADPROG_W_ATOL
        )
        assert res.weights[j] == pytest.approx(res.weights[-1], rel=0, abs=W_ATOL), where
    # the tangency portfolio of the merged problem in closed form: Σ⁻¹(μ − rf), normalised
    rf = r0 - 0.02
    x = np.linalg.solve(merged.cov, merged.mu - rf)
    x /= x.sum()
    for res in (max_sharpe(mu, cov, rf, lo, up), ef.max_sharpe(rf)):
        check_certificate(res, mu, cov, lo, up, kind="efficient", risk_free_rate=rf)
        np.testing.assert_allclose(_merged_weights(res.weights, j), x, rtol=0, atol=1e-9)
        assert res.weights[j] == pytest.approx(res.weights[-1], rel=0, abs=W_ATOL)
    s = ef.sample(5)
    np.testing.assert_allclose(s.weights[:, j], s.weights[:, -1], rtol=0, atol=W_ATOL)
    for r, v in zip(s.returns, s.volatilities, strict=True):
        ref = quadprog_min_variance(merged, r)
        assert rel_diff(v * v, ref.variance) <= QUADPROG_OBJ_RTOL, (case.label, r)
    assert_own_kkt(*(c[0] for c in cases))


def test_riskless_copies_unlimited_shorting():
    # Two deposits at the same rate beside risky assets, no bounds: the cash split is open and
    # shared equally; everything else is the one-deposit problem, whose frontier is known:
    # σ(r) = |r − r0| / S with S² = (μ − r0)ᵀ Σ_rr⁻¹ (μ − r0) over the risky block.
    mu1, cov1 = _riskless_case(4)
    mu, cov = np.r_[mu1[0], mu1], np.pad(cov1, ((1, 0), (1, 0)))
    n = mu.size
    lo, up = np.full(n, -INF), np.full(n, INF)
    ex = mu1[1:] - mu1[0]
    s = float(np.sqrt(ex @ np.linalg.solve(cov1[1:, 1:], ex)))
    results = [global_min_variance(cov, -INF), global_min_variance(cov, -INF, mu=mu)]
    results += [min_variance(mu, cov, r, -INF) for r in (-0.05, 0.02, 0.05, 0.3)]
    results += [max_utility(mu, cov, 2.0, -INF), max_return(mu, cov, 0.1, -INF)]
    for res in results:
        r = float(mu @ res.weights)
        assert res.volatility == pytest.approx(abs(r - mu[0]) / s, rel=1e-11, abs=1e-15)
        assert res.weights[0] == pytest.approx(res.weights[1], rel=0, abs=W_ATOL), res.objective
        m = None if res is results[0] else mu  # a GMV without returns reports none
        check_certificate(res, m, cov, lo, up, where=res.objective)
    gmv = results[0]
    np.testing.assert_allclose(gmv.weights, np.r_[0.5, 0.5, np.zeros(n - 2)], atol=W_ATOL)
    assert results[-1].expected_return == pytest.approx(mu[0] + 0.1 * s, rel=1e-11)
    with pytest.raises(InputError, match="riskless"):  # rf below the deposit rate
        max_sharpe(mu, cov, 0.01, -INF)


@pytest.mark.parametrize("riskless", [False, True])
def test_arbitrage_unlimited_shorting_is_unbounded(riskless):
    # Two copies of an asset (or two deposits) with different returns and no bounds: long the
    # better one, short the other, without limit and without risk
    mu1, cov1 = _riskless_case(3)
    k = 0 if riskless else 2
    mu, cov = np.r_[mu1, mu1[k] + 0.01], np.pad(cov1, ((0, 1), (0, 1)))
    cov[-1, :-1] = cov[:-1, -1] = cov1[k]
    cov[-1, -1] = cov1[k, k]
    for call in (
        lambda: efficient_frontier(mu, cov, -INF).gmv,
        lambda: max_sharpe(mu, cov, 0.0, -INF),
        lambda: max_utility(mu, cov, 2.0, -INF),
    ):
        with pytest.raises(UnboundedError, match="arbitrage"):
            call()
    # At a fixed return the minimum variance exists (issue 17): riskless (the deposit, and the
    # long/short pair of the two assets that differ only in return), and unique here.
    res = min_variance(mu, cov, 0.05, -INF)
    check_certificate(
        res, mu, cov, np.full(4, -INF), np.full(4, INF), target_return=0.05, kind="any"
    )
    assert res.variance <= 1e-30
    pair = 0.03 / (mu[3] - mu[k])  # long the better copy, short the other
    expected = np.array([1.0 - pair, 0.0, 0.0, pair]) if riskless else np.r_[1.0, 0, -pair, pair]
    np.testing.assert_allclose(res.weights, expected, rtol=1e-12, atol=1e-14)
    # without the returns the minimum variance is still well defined
    res = global_min_variance(cov, -INF)
    check_certificate(res, None, cov, np.full(4, -INF), np.full(4, INF), kind="gmv")
    ref = global_min_variance(cov1, -INF)
    assert res.variance == pytest.approx(ref.variance, rel=1e-12, abs=1e-30)


# ============================================================================================
# Ties for the highest (and lowest) expected return
# ============================================================================================
def _pair_gmv(cov: np.ndarray, a: int, b: int) -> np.ndarray:
    """Long-only minimum-variance mix of assets a and b (closed form, clipped)."""
    saa, sbb, sab = cov[a, a], cov[b, b], cov[a, b]
    x = min(max((sbb - sab) / (saa + sbb - 2 * sab), 0.0), 1.0)
    w = np.zeros(cov.shape[0])
    w[a], w[b] = x, 1 - x
    return w


@pytest.mark.parametrize("n", [2, 3, 6, 15])
def test_tie_for_highest_return(n):
    rng = np.random.default_rng(100 + n)
    cov = random_pd_cov(rng, n)
    mu = rng.uniform(0.02, 0.08, n)
    a, b = (0, 1) if n == 2 else sorted(rng.choice(n, 2, replace=False))
    mu[a] = mu[b] = 0.1
    lo, up = np.zeros(n), np.full(n, INF)
    top = _pair_gmv(cov, a, b)
    ef = efficient_frontier(mu, cov)
    assert ef.max_return == pytest.approx(0.1, rel=1e-14)
    # the efficient end of the tie is the least risky mix of the tied assets
    np.testing.assert_allclose(ef.corner_weights[-1], top, rtol=0, atol=1e-12)
    for res in (
        min_variance(mu, cov, 0.1),
        max_return(mu, cov, 10.0),
        ef.at_return(0.1),
        ef.at_volatility(ef.max_volatility),
        max_utility(mu, cov, 1e-6),
    ):
        np.testing.assert_allclose(res.weights, top, rtol=0, atol=1e-12, err_msg=res.objective)
        check_certificate(res, mu, cov, lo, up, where=res.objective)
    assert ef.max_volatility == pytest.approx(np.sqrt(top @ cov @ top), rel=1e-13)
    # the tied pair's end is also certified exactly (rational arithmetic)
    ex = exact_min_variance(Case(mu, cov, lo, up), 0.1, ef.corner_weights[-1])
    assert ex is not None
    np.testing.assert_allclose(ef.corner_weights[-1], ex.weights, rtol=0, atol=1e-13)


@pytest.mark.parametrize("n", [2, 5])
def test_tie_for_lowest_return(n):
    rng = np.random.default_rng(200 + n)
    cov = random_pd_cov(rng, n)
    mu = rng.uniform(0.05, 0.12, n)
    mu[:2] = 0.01
    res = min_variance(mu, cov, 0.01)
    np.testing.assert_allclose(res.weights, _pair_gmv(cov, 0, 1), rtol=0, atol=1e-12)
    check_certificate(res, mu, cov, np.zeros(n), np.full(n, INF), target_return=0.01)


# ============================================================================================
# Targets exactly at the ends of the feasible range
# ============================================================================================
@pytest.mark.parametrize("bounds", ["long_only", "upper", "lower", "box", "short_half"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_targets_at_range_ends(bounds, seed):
    case = random_case(seed, 7, bounds)
    lo, hi = return_range(case.mu, case.lower, case.upper)
    for r in (lo, hi):
        res = min_variance(case.mu, case.cov, r, case.lower, case.upper)
        check_certificate(
            res,
            case.mu,
            case.cov,
            case.lower,
            case.upper,
            target_return=r,
            where=f"{case.label} r={r!r}",
        )
        ex = exact_min_variance(case, r, res.weights)
        ref_v = ex.variance if ex is not None else clarabel_min_variance(case, r).variance
        rtol = QUADPROG_OBJ_RTOL if ex is not None else CLARABEL_OBJ_RTOL
        assert rel_diff(res.variance, ref_v) <= rtol, (case.label, r)
    # a hair inside tolerance is accepted, a visible overshoot is refused with the range
    res = min_variance(case.mu, case.cov, hi * (1 + 1e-15), case.lower, case.upper)
    assert abs(res.expected_return - hi) <= 1e-14 * abs(hi)
    with pytest.raises(
        TargetOutOfRangeError, match=r"^target return .* is above the highest"
    ) as err:
        min_variance(case.mu, case.cov, hi + 1e-6, case.lower, case.upper)
    assert err.value.feasible_range[1] == pytest.approx(hi, rel=1e-13)
    assert err.value.feasible_range[0] == pytest.approx(lo, rel=1e-13)


def test_return_range_with_tied_unlimited_assets():
    # Regression: assets tied in return may hold unlimited long and short positions at once
    # without making the range unbounded; the greedy range missed such splits and reported the
    # lowest single-asset return, 2.53%, though asset 2 (the only one below 20%) is capped at
    # 50%: min_variance then answered an unreachable target with an "inaccurate" portfolio
    from scipy.optimize import linprog

    mu = np.array([0.2, 0.0253, 0.2, 0.2, 0.2])
    cov = np.diag([0.0001, 0.0416, 0.0, 0.000121, 0.087616])
    lo, up = np.array([0.1, 0.0, -INF, -INF, -0.5]), np.array([1.0, 0.5, INF, 0.5, 1.0])
    bounds = [(0.1, 1.0), (0.0, 0.5), (None, None), (None, 0.5), (-0.5, 1.0)]
    lp = linprog(mu, A_eq=np.ones((1, 5)), b_eq=[1.0], bounds=bounds)
    assert lp.status == 0
    assert lp.fun == pytest.approx(0.11265, rel=1e-12)
    with pytest.raises(
        TargetOutOfRangeError, match=r"^target return 2\.53% is below the lowest attainable 11\.27%"
    ) as err:
        min_variance(mu, cov, 0.0253, lo, up)
    assert err.value.feasible_range == pytest.approx((lp.fun, 0.2), rel=1e-12)
    res = min_variance(mu, cov, lp.fun, lo, up)
    check_certificate(res, mu, cov, lo, up, target_return=lp.fun)


# ============================================================================================
# Riskless (zero-variance) assets
# ============================================================================================
def _riskless_case(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(300 + n)
    cov = np.zeros((n, n))
    cov[1:, 1:] = random_pd_cov(rng, n - 1)
    mu = np.r_[0.02, rng.uniform(0.04, 0.12, n - 1)]
    return mu, cov


@pytest.mark.parametrize("n", [2, 4, 12])
def test_riskless_asset_long_only(n):
    mu, cov = _riskless_case(n)
    lo, up = np.zeros(n), np.full(n, INF)
    case = Case(mu, cov, lo, up, "riskless", pd=False)
    gmv = global_min_variance(cov, mu=mu)
    np.testing.assert_allclose(gmv.weights, np.eye(n)[0], rtol=0, atol=W_ATOL)
    assert gmv.variance <= 1e-30
    check_certificate(gmv, mu, cov, lo, up, kind="gmv")
    ef = efficient_frontier(mu, cov)
    assert ef.min_return == pytest.approx(0.02, rel=1e-15)
    # the first segment is the capital market line: cash plus the tangency portfolio, on
    # which volatility is proportional to the excess return
    t = ef.corners[1]
    sr = (t.expected_return - 0.02) / t.volatility
    for f in (0.1, 0.5, 0.9):
        p = ef.at_return(0.02 + f * (t.expected_return - 0.02))
        assert p.volatility == pytest.approx(f * t.volatility, rel=1e-12)
        check_certificate(p, mu, cov, lo, up, kind="efficient")
    # max Sharpe at the cash rate: every point of the segment has the same Sharpe ratio
    best = max_sharpe(mu, cov, 0.02)
    assert best.sharpe_ratio == pytest.approx(sr, rel=1e-12)
    check_certificate(best, mu, cov, lo, up, kind="efficient", risk_free_rate=0.02)
    ref = clarabel_max_sharpe(case, 0.02)
    ref_sr = (ref.expected_return - 0.02) / np.sqrt(ref.variance)
    assert best.sharpe_ratio >= ref_sr * (1 - CLARABEL_OBJ_RTOL)
    # a risk-free rate below the cash asset's return: Sharpe is unbounded (riskless profit)
    with pytest.raises(InputError, match="riskless"):
        max_sharpe(mu, cov, 0.01)
    for r in np.linspace(0.02, float(mu.max()), 5):
        res = min_variance(mu, cov, r)
        check_certificate(res, mu, cov, lo, up, target_return=r)
        ref = clarabel_min_variance(case, r)
        assert res.variance <= ref.variance * (1 + CLARABEL_OBJ_RTOL) + 1e-20


@pytest.mark.parametrize("n", [2, 5])
def test_riskless_asset_unlimited_shorting(n):
    # cash plus risky assets without bounds: σ(r) = |r − r0| / S with
    # S² = (μ − r0)ᵀ Σ_rr⁻¹ (μ − r0) over the risky block (the Sharpe ratio of the tangency)
    mu, cov = _riskless_case(n)
    lo, up = np.full(n, -INF), np.full(n, INF)
    ex = mu[1:] - mu[0]
    s = float(np.sqrt(ex @ np.linalg.solve(cov[1:, 1:], ex)))
    for r in (-0.05, 0.0, 0.02, 0.05, 0.3):
        res = min_variance(mu, cov, r, lower=-INF)
        assert res.volatility == pytest.approx(abs(r - mu[0]) / s, rel=1e-11, abs=1e-15)
        check_certificate(res, mu, cov, lo, up, target_return=r)
    res = max_return(mu, cov, 0.1, lower=-INF)
    assert res.expected_return == pytest.approx(mu[0] + 0.1 * s, rel=1e-11)


@pytest.mark.parametrize("n", [2, 5])
def test_max_sharpe_at_the_cash_rate_unlimited_shorting(n):
    # rf = the cash rate, no bounds: the frontier above cash is the capital market line, every
    # point of it has the tangency's ratio S. The answer is Tobin's tangency portfolio: no
    # cash, risky weights ∝ Σ_rr⁻¹(μ − r0). (This used to raise "not attained".)
    mu, cov = _riskless_case(n)
    lo, up = np.full(n, -INF), np.full(n, INF)
    ex = mu[1:] - mu[0]
    x = np.linalg.solve(cov[1:, 1:], ex)
    assert x.sum() > 0  # the seeded case has a tangency on the efficient side
    res = max_sharpe(mu, cov, mu[0], lower=-INF)
    assert res.sharpe_ratio == pytest.approx(float(np.sqrt(ex @ x)), rel=1e-11)
    np.testing.assert_allclose(res.weights, np.r_[0.0, x / x.sum()], rtol=0, atol=W_ATOL)
    check_certificate(res, mu, cov, lo, up, kind="efficient", risk_free_rate=mu[0])
    # Above the cash rate the ratio only approaches S as leverage grows without limit.
    with pytest.raises(UnboundedError, match="not attained"):
        max_sharpe(mu, cov, mu[0] + 0.005, lower=-INF)


def test_max_sharpe_at_the_rate_of_a_riskless_hedge():
    # No zero-variance asset, but assets 1 and 2 hedge each other perfectly (a riskless 4%);
    # rf = 4%, no bounds: again every point of the ray has the same ratio, and the answer is
    # the point with the largest single-asset volatility, on the frontier.
    mu = np.array([0.05, 0.03, 0.10])
    cov = np.array([[0.04, -0.04, 0.0], [-0.04, 0.04, 0.0], [0.0, 0.0, 0.09]])
    lo, up = np.full(3, -INF), np.full(3, INF)
    res = max_sharpe(mu, cov, 0.04, lower=-INF)
    assert res.volatility == pytest.approx(0.3, rel=1e-12)
    check_certificate(res, mu, cov, lo, up, kind="efficient", risk_free_rate=0.04)
    ef = efficient_frontier(mu, cov, -INF)
    for r in (0.06, 0.2):
        p = ef.at_return(r)
        assert res.sharpe_ratio == pytest.approx((r - 0.04) / p.volatility, rel=1e-11)


# Regression: MAXSHARPE_WEIGHTS (and every other function) failed with "singular working set"
# or "did not terminate" on such inputs. The Schur complement of a riskless asset entering a
# working set that already holds a riskless combination is pure rounding, yet was taken for
# curvature: K_F became singular. (Factor loadings, specific variances, riskless assets.)
RISKLESS_SINGULAR = {
    "singular working set": (
        [0.0, 0.25, 0.0, 0.25, 0.0, 0.0],
        [[0.153, 0.172, 0.0, 0.0], [0.0, -0.31, 0.119, -0.296], [-0.058, -0.168, 0.207, -0.068],
         [-0.023, -0.203, 0.0, 0.075], [-0.35, -0.098, 0.303, 0.0], [-0.386, 0.0, -0.354, 0.247]],
        [0.0001, 0.01, 0.0, 0.04, 0.0001, 0.04],
        [1, 4],
    ),
    "singular while removing": (
        [0.0, 0.0, 0.0, 0.25, 0.25, 0.0],
        [[0.388], [0.341], [-0.155], [-0.064], [0.384], [-0.213]],
        [0.0, 0.04, 0.0, 0.0, 0.0001, 0.0001],
        [1, 4],
    ),
    "cycling": (
        [0.0, 0.25, 0.0, 0.25, 0.0, 0.0],
        [[0.219, -0.076], [-0.379, -0.136], [0.0, 0.0], [0.0, -0.176], [0.0, 0.153],
         [-0.022, -0.358]],
        [0.0, 0.0001, 0.0, 0.01, 0.0001, 0.04],
        [1, 2],
    ),
    "cycling, riskless by its factors": (
        [0.0, 0.0, 0.25, 0.0, 0.25, 0.0],
        [[0.009], [0.199], [0.0], [-0.376], [0.236], [-0.122]],
        [0.04, 0.0, 0.0, 0.0, 0.01, 0.0001],
        [],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(RISKLESS_SINGULAR))
def test_riskless_assets_on_singular_cov(name):
    mu, a, spec, riskless = (np.array(x, dtype=float) for x in RISKLESS_SINGULAR[name])
    cov = a @ a.T + np.diag(spec)
    cov[riskless.astype(int)] = 0.0
    cov[:, riskless.astype(int)] = 0.0
    n = mu.size
    lo, up = np.zeros(n), np.full(n, INF)
    f = np.column_stack([a, np.sqrt(spec)])
    f[riskless.astype(int)] = 0.0
    case = Case(mu, cov, lo, up, name, pd=False, extra={"factor": f})
    gmv = global_min_variance(cov, mu=mu)
    check_certificate(gmv, mu, cov, lo, up, kind="gmv", where=name)
    assert gmv.variance <= clarabel_min_variance(case).variance * (1 + CLARABEL_OBJ_RTOL) + 1e-15
    ef = efficient_frontier(mu, cov)
    for i, c in enumerate(ef.corners):
        check_certificate(c, mu, cov, lo, up, kind="efficient", where=f"{name} corner {i}")
    for r in np.linspace(0.0, 0.25, 5):
        res = min_variance(mu, cov, r)
        check_certificate(res, mu, cov, lo, up, target_return=r, where=f"{name} r={r}")
        ref = clarabel_min_variance(case, r)
        assert res.variance <= ref.variance * (1 + CLARABEL_OBJ_RTOL) + 1e-15, (name, r)
    res = max_return(mu, cov, 0.1)
    check_certificate(res, mu, cov, lo, up, kind="efficient", where=name)
    ref = clarabel_max_return(case, 0.1)
    assert res.expected_return >= ref.expected_return - 1e-8, name
    res = max_utility(mu, cov, 2.0)
    check_certificate(res, mu, cov, lo, up, kind="efficient", where=name)
    # the best riskless portfolio (an LP over the null space of the factors) decides max Sharpe
    from scipy.optimize import linprog

    lp = linprog(-mu, A_eq=np.vstack([np.ones(n), f.T]), b_eq=np.r_[1.0, np.zeros(f.shape[1])])
    best_riskless = -lp.fun if lp.status == 0 else -INF
    for rf in (0.0, 0.1, 0.3):
        if rf >= 0.25:
            with pytest.raises(
                NoPositiveExcessReturnError, match="earns more than the risk-free rate"
            ):
                max_sharpe(mu, cov, rf)
        elif best_riskless > rf:
            with pytest.raises(InputError, match="riskless"):
                max_sharpe(mu, cov, rf)
        else:
            res = max_sharpe(mu, cov, rf)
            check_certificate(res, mu, cov, lo, up, kind="efficient", risk_free_rate=rf)
            ref = clarabel_max_sharpe(case, rf)
            ref_sr = (ref.expected_return - rf) / np.sqrt(ref.variance)
            assert res.sharpe_ratio >= ref_sr * (1 - CLARABEL_OBJ_RTOL), (name, rf)


def test_riskless_optimum_earning_above_rf_has_no_sharpe_ratio():
    # Regression: the riskless GMV portfolio computed a variance of 8e-34 (rounding in wᵀΣw)
    # and was reported as the tangency portfolio with a Sharpe ratio of 7e15
    mu = np.array([0.2375, 0.2, 0.2058, 0.2, 0.2375, 0.2])
    cov = np.array(
        [
            [0.083856, 0.0059, 0.0, -0.029836, 0.04048, 0.0],
            [0.0059, 0.043481, 0.0, 0.015399, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [-0.029836, 0.015399, 0.0, 0.160537, -0.06688, 0.0],
            [0.04048, 0.0, 0.0, -0.06688, 0.182456, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.01],
        ]
    )
    for call in (
        lambda: max_sharpe(mu, cov, 0.0, -INF),
        lambda: efficient_frontier(mu, cov, -INF).max_sharpe(0.0),
    ):
        with pytest.raises(InputError, match="riskless portfolio earns more"):
            call()


def test_riskless_start_sampled_by_volatility():
    # Regression: from a riskless GMV with unlimited short selling, the first volatility of the
    # grid (the GMV's own, squared back) solved the ray's quadratic as 1e-50/0: NaN weights
    mu = np.array([0.1133, -0.0569, 0.0735, 0.2848, -0.0814])
    cov = np.array(
        [
            [0.278595, -0.13069899999999998, 0.0, 0.054389, 0.077922],
            [-0.13069899999999998, 0.579578, 0.0, -0.19477, -0.015681999999999974],
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [0.054389, -0.19477, 0.0, 0.25937, 0.07256699999999998],
            [0.077922, -0.015681999999999974, 0.0, 0.07256699999999998, 0.33649],
        ]
    )
    ef = efficient_frontier(mu, cov, -INF)
    s = ef.sample(5, by="volatility")
    assert np.isfinite(s.weights).all()
    np.testing.assert_allclose(s.weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.weights[0], np.eye(5)[2], rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.volatilities, np.linspace(0.0, s.volatilities[-1], 5), atol=1e-12)


def test_tied_returns_leave_no_ray():
    # Regression: all free assets tied in return, one riskless, one nearly so: the slope of the
    # weights in t is exactly zero, but came out as 1e-12 of rounding through the
    # ill-conditioned K_F and was taken for an unbounded ray; max_return followed it for
    # Δt = 4e10 to a portfolio whose weights summed to 1.42
    mu = np.array([0.3, 0.3, 0.3, 0.3, 0.3, -0.1])
    cov = np.array(
        [
            [0.12796200000000005, -6.899999999999998e-05, 0.0, 0.0, 0.020106, 0.015938999999999995],
            [-6.899999999999998e-05, 9.999999999999997e-07, 0.0, 0.0, 0.0002579999999999999,
             -0.00023100000000000006],
            [0.0, 0.0, 0.0003889999999999999, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.020106, 0.0002579999999999999, 0.0, 0.0, 0.07822799999999998, -0.059597999999999984],
            [0.015938999999999995, -0.00023100000000000006, 0.0, 0.0, -0.059597999999999984,
             0.17666200000000004],
        ]
    )  # fmt: skip
    lo, up = np.zeros(6), np.full(6, INF)
    ef = efficient_frontier(mu, cov)
    assert ef.is_bounded
    assert ef.max_return == pytest.approx(0.3, rel=1e-15)
    for vol in (0.0, 0.04, 1.0):  # the riskless asset is already the highest return
        res = max_return(mu, cov, vol)
        check_certificate(res, mu, cov, lo, up, kind="efficient")
        np.testing.assert_allclose(res.weights, np.eye(6)[3], rtol=0, atol=1e-12)


def test_sharpe_ratio_rising_along_the_ray_is_not_attained():
    # Regression: deposits at 20% (one capped at 50%) beside a shortable 10% asset, rf 30%:
    # long the deposit, short the asset, without limit; the ratio creeps up to 0.5 along the
    # ray and is never reached. The tangency was reported at Δt = 4e14 (weights of 1e15,
    # summing to 1.35, "inaccurate"); the documented answer is UnboundedError
    mu = np.array([0.2, 0.1, 0.0, 0.2, 0.2])
    cov = np.diag([0.0, 0.04, 0.087284, 0.0, 0.099049])
    lo, up = np.array([0.1, -INF, -0.5, -INF, 0.1]), np.array([INF, 0.5, 0.5, 0.5, INF])
    for call in (
        lambda: max_sharpe(mu, cov, 0.3, lo, up),
        lambda: efficient_frontier(mu, cov, lo, up).max_sharpe(0.3),
    ):
        with pytest.raises(UnboundedError, match="not attained"):
            call()


# ============================================================================================
# Low-rank factor covariance (rank < n)
# ============================================================================================
@pytest.mark.parametrize(("n", "rank"), [(4, 1), (10, 2), (30, 3), (60, 5)])
@pytest.mark.parametrize("bounds", ["long_only", "upper", "short_half"])
def test_low_rank_covariance(n, rank, bounds):
    rng = np.random.default_rng(n * 100 + rank)
    f = rng.normal(0.0, 0.1, size=(n, rank)) + 0.05
    cov = f @ f.T
    mu = rng.normal(0.08, 0.04, n)
    lo = np.zeros(n) if bounds != "short_half" else np.full(n, -0.5)
    up = np.full(n, INF) if bounds != "upper" else np.full(n, 3.0 / n)
    case = Case(
        mu, cov, lo, up, f"lowrank n={n} rank={rank} {bounds}", pd=False, extra={"factor": f}
    )
    gmv = global_min_variance(cov, lo, up, mu=mu)
    check_certificate(gmv, mu, cov, lo, up, kind="gmv", where=case.label)
    ref = clarabel_min_variance(case)
    assert gmv.variance <= ref.variance * (1 + CLARABEL_OBJ_RTOL) + 1e-12 * cov.max()
    ef = efficient_frontier(mu, cov, lo, up)
    for i, c in enumerate(ef.corners):
        check_certificate(c, mu, cov, lo, up, kind="efficient", where=f"{case.label} #{i}")
    s = ef.sample(5)
    for r, v in zip(s.returns, s.volatilities, strict=True):
        ref = clarabel_min_variance(case, r)
        assert v * v <= ref.variance * (1 + CLARABEL_OBJ_RTOL) + 1e-12 * cov.max(), (case.label, r)
    assert_own_kkt(gmv, *ef.corners, where=case.label)


# ============================================================================================
# Riskless combinations (a low-rank Σ whose null space meets the feasible set)
# ============================================================================================
RANK1_F = np.array(
    [-0.03473351346499155, 0.060066402249577766, 0.14076509080502378, -0.0489190382353281]
)
RANK1_MU = np.array(
    [0.061563795398539956, 0.014379550726153476, 0.11282327893432352, 0.12662064823815242]
)


def _riskless_combinations() -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    out = [
        ("rank1", RANK1_F[:, None], RANK1_MU, 0.75),
        ("rank1 rounded", np.round(RANK1_F, 4)[:, None], np.round(RANK1_MU, 4), 0.75),
        ("rank1 long-only", RANK1_F[:, None], RANK1_MU, INF),
    ]
    for seed, (n, k) in enumerate([(5, 1), (6, 2), (8, 3), (12, 2)]):
        rng = np.random.default_rng(400 + seed)
        out.append(
            (f"rank{k} n={n}", rng.normal(0.0, 0.1, size=(n, k)), rng.normal(0.08, 0.04, n), INF)
        )
    return out


@pytest.mark.parametrize(
    ("name", "f", "mu", "upper"),
    _riskless_combinations(),
    ids=[x[0] for x in _riskless_combinations()],
)
def test_riskless_combination_gmv_is_the_efficient_one(name, f, mu, upper):
    # When some feasible portfolio has zero variance, every GMV portfolio is riskless and the
    # efficient one is the riskless portfolio with the highest return: an LP, solved exactly
    # enough by HiGHS (its vertex is then re-solved as a linear system).
    from scipy.optimize import linprog

    n = mu.size
    cov = f @ f.T
    lo, up = np.zeros(n), np.full(n, upper)
    a_eq = np.vstack([np.ones(n), f.T])
    b_eq = np.r_[1.0, np.zeros(f.shape[1])]
    lp = linprog(
        -mu,
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=[(0, None if np.isinf(upper) else upper)] * n,
        method="highs",
    )
    assert lp.status == 0, name  # the examples are built so that a riskless mix exists
    best = -lp.fun
    for res in (global_min_variance(cov, lo, up, mu=mu), efficient_frontier(mu, cov, lo, up).gmv):
        check_certificate(res, mu, cov, lo, up, kind="gmv", where=name)
        assert res.variance <= 1e-15 * float(np.abs(cov).max()), name
        assert res.expected_return == pytest.approx(best, abs=1e-9), (
            f"{name}: GMV return {res.expected_return!r}, best riskless return {best!r}"
        )
        assert_own_kkt(res, where=name)


@pytest.mark.parametrize("seed", [694979, 1, 2, 3])
def test_bounded_low_rank_problem_is_never_unbounded(seed):
    # with finite lower bounds the feasible set is a bounded polytope: every objective has a
    # finite optimum, whatever riskless combinations the low-rank Σ allows
    case = random_case(seed, 40, "short_half", "lowrank", "random")
    assert np.all(np.isfinite(case.lower))
    ef = efficient_frontier(case.mu, case.cov, case.lower, case.upper)
    hi = return_range(case.mu, case.lower, case.upper)[1]
    assert ef.max_return == pytest.approx(hi, rel=1e-12)
    for i, c in enumerate(ef.corners):
        check_certificate(
            c,
            case.mu,
            case.cov,
            case.lower,
            case.upper,
            kind="efficient",
            where=f"{case.label} corner {i}",
        )
    res = min_variance(case.mu, case.cov, hi, case.lower, case.upper)
    check_certificate(res, case.mu, case.cov, case.lower, case.upper, target_return=hi)


# Regression: a corner entered on an ill-conditioned segment landed 5.8e-11 below 0.
def test_long_only_rank_two_covariance():
    # 8 assets, rank-2 covariance, long-only: a bounded problem, yet riskless long/short
    # combinations of the assets exist; nothing may be reported as unbounded
    f = np.array(
        [
            [0.178, 0.101],
            [0.016, 0.14],
            [0.02, 0.1],
            [0.087, 0.085],
            [-0.106, 0.156],
            [-0.085, 0.058],
            [0.089, 0.138],
            [0.136, 0.271],
        ]
    )
    mu = np.array([0.159, 0.205, 0.043, 0.056, 0.149, 0.019, 0.114, 0.048])
    cov = f @ f.T
    n = mu.size
    lo, up = np.zeros(n), np.full(n, INF)
    case = Case(mu, cov, lo, up, "rank-2 long-only", pd=False, extra={"factor": f})
    ef = efficient_frontier(mu, cov)
    assert ef.max_return == pytest.approx(0.205, rel=1e-14)
    for i, c in enumerate(ef.corners):
        check_certificate(c, mu, cov, lo, up, kind="efficient", where=f"corner {i}")
    res = max_return(mu, cov, 0.2)
    check_certificate(res, mu, cov, lo, up, kind="efficient")
    ref = clarabel_max_return(case, 0.2)
    assert res.expected_return >= ref.expected_return - CLARABEL_OBJ_RTOL


@pytest.mark.parametrize("seed", range(40))
def test_segment_lookup(seed):
    """The segment lookup behind ``sample``, ``at_return`` and ``min_variance`` interpolates
    each target exactly: repeated values (flat segments), a later start corner, targets
    outside the range, a ray; the scalar and the vectorised lookups give the same answer."""
    from xlfrontier.core._evaluate import locate, locate_many

    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 8))
    values = np.cumsum(rng.choice([0.0, 0.0, 0.5, 1.0, 2.0], size=m))
    k0 = int(rng.integers(0, m))
    rate = None if seed % 2 else float(rng.uniform(0.1, 2.0))
    xs = np.concatenate(
        [values, rng.uniform(values[0] - 1.0, values[-1] + 1.0, size=30), [values[-1] + 0.5]]
    )
    ks, lam = locate_many(values, k0, xs, rate)
    last = m - 1
    for x, k, lm in zip(xs, ks, lam, strict=True):
        assert (k, lm) == locate(values, k0, float(x), rate)
        if last == k0 or x >= values[last]:  # the last corner, or the ray beyond it
            assert k == last
            assert lm == (0.0 if rate is None else (x - values[last]) / rate)
            continue
        assert k0 <= k < last
        assert 0.0 <= lm <= 1.0
        lo, hi = values[k], values[k + 1]
        if x < values[k0]:  # below the start: clamped to it
            assert (k, lm) == (k0, 0.0)
        elif hi > lo:
            assert lo <= x <= hi
            assert lo + lm * (hi - lo) == pytest.approx(x, abs=1e-15)
        else:
            assert lm == 0.0
            assert x == lo
