"""Real data: 20 S&P 500 stocks, daily prices since 1990 (``tests/data``).

Daily simple returns, annualised (mean × 252, covariance × 252). The covariance is positive
definite, so quadprog's exact answers are the reference for every solve; Clarabel is a second
opinion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _reference import (
    CLARABEL_OBJ_RTOL,
    QUADPROG_OBJ_RTOL,
    QUADPROG_W_ATOL,
    Case,
    assert_own_kkt,
    check_certificate,
    clarabel_max_sharpe,
    clarabel_min_variance,
    exact_min_variance,
    golden_max_sharpe,
    quadprog_min_variance,
    rel_diff,
    return_range,
)

from xlfrontier.core.closed_form import merton_frontier
from xlfrontier.core.frontier import efficient_frontier
from xlfrontier.core.optimize import global_min_variance, max_return, max_sharpe, min_variance

INF = np.inf
DATA = Path(__file__).resolve().parents[1] / "data" / "sp500_20_prices.csv.gz"
RF = 0.02


@pytest.fixture(scope="module")
def market():
    pd = pytest.importorskip("pandas")
    prices = pd.read_csv(DATA, index_col=0, parse_dates=True)
    assert prices.shape[1] == 20
    assert not prices.isna().any().any()
    rets = prices.pct_change().iloc[1:]
    mu = rets.mean().to_numpy() * 252
    cov = rets.cov().to_numpy() * 252
    assert np.linalg.eigvalsh(cov)[0] > 0
    return list(prices.columns), mu, cov


BOUNDS = {
    "long_only": (0.0, INF),
    "max_15pct": (0.0, 0.15),
    "min_1pct_max_20pct": (0.01, 0.2),
    "short_30pct": (-0.3, INF),
}


@pytest.mark.parametrize("name", list(BOUNDS))
def test_real_gmv_and_targets(market, name):
    _, mu, cov = market
    n = mu.size
    lo, up = (np.full(n, b) for b in BOUNDS[name])
    case = Case(mu, cov, lo, up, f"sp500 {name}")
    gmv = global_min_variance(cov, lo, up, mu=mu)
    ref = quadprog_min_variance(case)
    check_certificate(gmv, mu, cov, lo, up, kind="gmv", where=case.label)
    assert rel_diff(gmv.variance, ref.variance) <= QUADPROG_OBJ_RTOL
    np.testing.assert_allclose(gmv.weights, ref.weights, rtol=0, atol=QUADPROG_W_ATOL)
    assert rel_diff(gmv.variance, clarabel_min_variance(case).variance) <= CLARABEL_OBJ_RTOL
    r_lo, r_hi = return_range(mu, lo, up)
    for f in (0.0, 0.1, 0.5, 0.9, 1.0):
        r = r_lo + f * (r_hi - r_lo)
        res = min_variance(mu, cov, r, lo, up)
        check_certificate(res, mu, cov, lo, up, target_return=r, where=f"{case.label} {r}")
        if 0 < f < 1:
            ref = quadprog_min_variance(case, r)
        else:
            ref = exact_min_variance(case, r, res.weights)
            assert ref is not None, f"{case.label}: not optimal at the end of the range"
        assert rel_diff(res.variance, ref.variance) <= QUADPROG_OBJ_RTOL, (case.label, r)
        np.testing.assert_allclose(res.weights, ref.weights, rtol=0, atol=QUADPROG_W_ATOL)
        assert_own_kkt(res)
    assert_own_kkt(gmv)


@pytest.mark.parametrize("name", list(BOUNDS))
def test_real_max_sharpe(market, name):
    _, mu, cov = market
    n = mu.size
    lo, up = (np.full(n, b) for b in BOUNDS[name])
    case = Case(mu, cov, lo, up, f"sp500 {name}")
    res = max_sharpe(mu, cov, RF, lo, up)
    check_certificate(res, mu, cov, lo, up, kind="efficient", risk_free_rate=RF, where=case.label)
    g = quadprog_min_variance(case).expected_return
    best = golden_max_sharpe(case, RF, max(g, RF), return_range(mu, lo, up)[1])
    assert res.sharpe_ratio >= best - 1e-12 * best
    assert res.sharpe_ratio <= best + 1e-10 * best
    ref = clarabel_max_sharpe(case, RF)
    np.testing.assert_allclose(res.weights, ref.weights, rtol=0, atol=1e-6)
    ef = efficient_frontier(mu, cov, lo, up)
    np.testing.assert_allclose(ef.max_sharpe(RF).weights, res.weights, rtol=0, atol=1e-10)
    s = ef.sample(200)
    assert res.sharpe_ratio >= np.max((s.returns - RF) / s.volatilities) - 1e-12
    assert_own_kkt(res)


@pytest.mark.parametrize("name", list(BOUNDS))
def test_real_frontier(market, name):
    _, mu, cov = market
    n = mu.size
    lo, up = (np.full(n, b) for b in BOUNDS[name])
    case = Case(mu, cov, lo, up, f"sp500 {name}")
    ef = efficient_frontier(mu, cov, lo, up)
    assert len(ef.corners) >= 2
    assert np.all(np.diff(ef.corner_returns) > 0)
    assert np.all(np.diff(ef.corner_volatilities) > 0)
    assert ef.max_return == pytest.approx(return_range(mu, lo, up)[1], rel=1e-13)
    for i, c in enumerate(ef.corners):
        check_certificate(c, mu, cov, lo, up, kind="efficient", where=f"{case.label} #{i}")
    hi = ef.max_return
    for by in ("return", "volatility"):
        s = ef.sample(50, by=by)
        assert s.weights.shape == (50, n)
        assert np.all(np.isfinite(s.weights))
        for r, w in zip(s.returns, s.weights, strict=True):
            if r >= hi - 1e-12:
                continue
            ref = quadprog_min_variance(case, r)
            assert rel_diff(float(w @ cov @ w), ref.variance) <= QUADPROG_OBJ_RTOL, (by, r)
            np.testing.assert_allclose(w, ref.weights, rtol=0, atol=QUADPROG_W_ATOL)
    # max_return at a volatility halfway along agrees with the frontier
    sigma = 0.5 * (ef.gmv.volatility + ef.max_volatility)
    res = max_return(mu, cov, sigma, lo, up)
    assert res.volatility == pytest.approx(sigma, rel=1e-12)
    np.testing.assert_allclose(res.weights, ef.at_volatility(sigma).weights, rtol=0, atol=1e-10)
    assert_own_kkt(*ef.corners)


def test_real_unconstrained_is_merton(market):
    _, mu, cov = market
    mf = merton_frontier(mu, cov)
    for r in (mf.gmv_return, 0.15, 0.3):
        res = min_variance(mu, cov, r, -INF)
        np.testing.assert_allclose(res.weights, mf.weights(r), rtol=0, atol=1e-10)
        assert rel_diff(res.variance, float(mf.variance(r))) <= 1e-11
    res = max_sharpe(mu, cov, RF, -INF)
    np.testing.assert_allclose(res.weights, mf.tangency_weights(RF), rtol=0, atol=1e-10)
