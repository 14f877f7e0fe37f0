"""Certificates and invariants on every kind of result, and on the exact frontier.

Each result is checked by :func:`_reference.check_certificate`, which recomputes the budget,
bounds, return, variance, volatility, Sharpe ratio and the KKT conditions from the weights and
the reported multipliers (never trusting the result's own ``kkt`` field). The frontier is
checked for its defining properties: ordered corners, linearity between corners, evenly spaced
samples, ``at_volatility`` inverse to ``at_return``, and consistency of ``max_sharpe`` and
``max_return`` with it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _reference import (
    BOUND_KINDS,
    PRIMAL_TOL,
    Case,
    assert_own_kkt,
    check_certificate,
    random_case,
    rel_diff,
    return_range,
    return_tol_from_volatility,
)

import xlfrontier
from xlfrontier.core.frontier import efficient_frontier
from xlfrontier.core.optimize import (
    global_min_variance,
    max_return,
    max_sharpe,
    max_utility,
    min_variance,
)
from xlfrontier.core.results import PortfolioResult
from xlfrontier.exceptions import XlfrontierError

INF = np.inf
# Weights of two results that must be the same portfolio (unique optimum, PD covariance):
# the path is exact, so only rounding separates two evaluations.
SAME_W = 1e-10

CASES = [
    random_case(seed, n, bounds) for seed, n in ((1, 3), (2, 8), (3, 25)) for bounds in BOUND_KINDS
]
IDS = [f"{c.n}-{c.label.split('bounds=')[1].split(',')[0]}" for c in CASES]


def _w_scale(w: np.ndarray) -> float:
    return max(1.0, float(np.abs(w).max()))


def _sharpe_defined(ef, rf: float) -> bool:
    """Whether a maximum Sharpe ratio exists (bounded frontier, or rf below the GMV return)."""
    if np.isfinite(ef.max_return):
        return ef.max_return > rf
    return rf < ef.min_return


def _targets(case: Case, k: int = 7) -> np.ndarray:
    """Target returns across the whole feasible range, both ends included."""
    lo, hi = return_range(case.mu, case.lower, case.upper)
    if not np.isfinite(lo):
        g = global_min_variance(case.cov, case.lower, case.upper, mu=case.mu).expected_return
        lo, hi = g - 0.1, g + 0.3
    return np.linspace(lo, hi, k)


@pytest.fixture(scope="module")
def frontiers():
    return {c.label: efficient_frontier(c.mu, c.cov, c.lower, c.upper) for c in CASES}


# --------------------------------------------------------------------------------------------
# Single solves
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_min_variance_certificate(case):
    for r in _targets(case):
        res = min_variance(case.mu, case.cov, r, case.lower, case.upper)
        assert res.objective == "min_variance"
        check_certificate(
            res,
            case.mu,
            case.cov,
            case.lower,
            case.upper,
            target_return=r,
            where=f"{case.label} target={r!r}",
        )
        assert_own_kkt(res, where=case.label)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gmv_certificate(case):
    res = global_min_variance(case.cov, case.lower, case.upper)
    assert res.objective == "global_min_variance"
    check_certificate(res, None, case.cov, case.lower, case.upper, kind="gmv", where=case.label)
    with_mu = global_min_variance(case.cov, case.lower, case.upper, mu=case.mu, risk_free_rate=0.01)
    check_certificate(
        with_mu,
        case.mu,
        case.cov,
        case.lower,
        case.upper,
        kind="gmv",
        risk_free_rate=0.01,
        where=case.label,
    )
    np.testing.assert_allclose(
        with_mu.weights, res.weights, rtol=0, atol=SAME_W * _w_scale(res.weights)
    )
    assert_own_kkt(res, with_mu, where=case.label)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_max_sharpe_certificate(case, frontiers):
    ef = frontiers[case.label]
    for rf in (0.0, 0.03):
        if not _sharpe_defined(ef, rf):
            with pytest.raises(
                XlfrontierError, match=r"Sharpe ratio is not attained|Sharpe is undef"
            ):
                max_sharpe(case.mu, case.cov, rf, case.lower, case.upper)
            continue
        res = max_sharpe(case.mu, case.cov, rf, case.lower, case.upper)
        assert res.objective == "max_sharpe"
        check_certificate(
            res,
            case.mu,
            case.cov,
            case.lower,
            case.upper,
            kind="efficient",
            risk_free_rate=rf,
            where=f"{case.label} rf={rf}",
        )
        inside = res.expected_return < ef.max_return - 1e-9
        if inside:
            # tangency: the frontier's slope dσ²/dr equals 2σ²/(r − rf)
            eta = 2 * res.variance / (res.expected_return - rf)
            assert abs(res.return_multiplier - eta) <= 1e-9 * eta, case.label
        assert_own_kkt(res, where=case.label)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_max_return_certificate(case, frontiers):
    ef = frontiers[case.label]
    top = ef.max_volatility if np.isfinite(ef.max_return) else 3 * ef.gmv.volatility
    for frac in (0.0, 0.2, 0.5, 0.9, 1.0):
        sigma = ef.gmv.volatility + frac * (top - ef.gmv.volatility)
        res = max_return(case.mu, case.cov, sigma, case.lower, case.upper)
        assert res.objective == "max_return"
        check_certificate(
            res,
            case.mu,
            case.cov,
            case.lower,
            case.upper,
            kind="efficient",
            where=f"{case.label} sigma={sigma!r}",
        )
        assert res.volatility <= sigma * (1 + 1e-12)
        assert rel_diff(res.volatility, sigma) <= 1e-12, "volatility budget not used up"
        assert_own_kkt(res, where=case.label)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_max_utility_certificate(case, frontiers):
    ef = frontiers[case.label]
    for delta in (0.5, 2.0, 10.0, 1e3):
        res = max_utility(case.mu, case.cov, delta, case.lower, case.upper, risk_free_rate=0.01)
        assert res.objective == "max_utility"
        check_certificate(
            res,
            case.mu,
            case.cov,
            case.lower,
            case.upper,
            kind="efficient",
            risk_free_rate=0.01,
            where=f"{case.label} delta={delta}",
        )
        if res.expected_return < ef.max_return - 1e-9:
            # the utility optimum is the frontier point where dσ²/dr = 2/δ
            assert abs(res.return_multiplier - 2 / delta) <= 1e-9 * (2 / delta), case.label
        assert_own_kkt(res, where=case.label)


def test_result_is_frozen_and_complete():
    case = CASES[1]
    res = min_variance(case.mu, case.cov, float(np.mean(case.mu)))
    assert isinstance(res, PortfolioResult)
    with pytest.raises(dataclasses.FrozenInstanceError, match=r"'expected_return'"):
        res.expected_return = 1.0  # type: ignore[misc]
    assert res.risk_free_rate is None
    assert res.sharpe_ratio is None
    assert res.n_assets == case.n
    res = min_variance(case.mu, case.cov, float(np.mean(case.mu)), risk_free_rate=0.02)
    assert res.sharpe_ratio == pytest.approx(
        (res.expected_return - 0.02) / res.volatility, rel=1e-14
    )


def test_public_api_reexported_from_package_root():
    from xlfrontier.core import closed_form, frontier, metrics, optimize

    for mod, names in (
        (
            optimize,
            ["min_variance", "global_min_variance", "max_sharpe", "max_return", "max_utility"],
        ),
        (frontier, ["efficient_frontier"]),
        (closed_form, ["merton_frontier"]),
        (
            metrics,
            [
                "portfolio_return",
                "portfolio_variance",
                "portfolio_volatility",
                "portfolio_sharpe",
                "risk_contributions",
            ],
        ),
    ):
        for name in names:
            assert getattr(xlfrontier, name) is getattr(mod, name), name
            assert getattr(xlfrontier.core, name) is getattr(mod, name), name


@pytest.mark.parametrize("case", CASES[:6], ids=IDS[:6])
def test_clean_outputs(case):
    # STYLE principle 7: no -0.0 and no rounding dust where a weight sits on its bound
    for res in (
        min_variance(case.mu, case.cov, float(np.median(case.mu)), case.lower, case.upper),
        global_min_variance(case.cov, case.lower, case.upper),
        max_sharpe(case.mu, case.cov, 0.0, case.lower, case.upper),
    ):
        w = res.weights
        assert not np.any((w == 0) & np.signbit(w)), f"-0.0 in {w}"
        np.testing.assert_array_equal(w[res.at_lower], case.lower[res.at_lower])
        np.testing.assert_array_equal(w[res.at_upper], case.upper[res.at_upper])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_clean_frontier_arrays(case, frontiers):
    # the arrays an Excel user sees: corner weights and samples must not carry dust either
    ef = frontiers[case.label]
    arrays = {"corner_weights": np.asarray(ef.corner_weights)}
    if np.isfinite(ef.max_return):
        arrays["sample"] = np.asarray(ef.sample(20).weights)
    for name, a in arrays.items():
        for lim, side in ((case.lower, "lower"), (case.upper, "upper")):
            near = np.isfinite(lim) & (np.abs(a - lim) <= 1e-12 * np.maximum(1, np.abs(lim)))
            np.testing.assert_array_equal(
                a[near],
                np.broadcast_to(lim, a.shape)[near],
                err_msg=f"{name}: dust at the {side} bound",
            )
        assert not np.any((a == 0) & np.signbit(a)), f"-0.0 in {name}"
        flo, fup = np.isfinite(case.lower), np.isfinite(case.upper)
        assert np.all(a[:, flo] >= case.lower[flo]), f"{name} below a lower bound"
        assert np.all(a[:, fup] <= case.upper[fup]), f"{name} above an upper bound"


# --------------------------------------------------------------------------------------------
# The exact frontier
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_frontier_corners(case, frontiers):
    ef = frontiers[case.label]
    k = len(ef.corners)
    assert k >= 1
    cw = np.asarray(ef.corner_weights)
    assert cw.shape == (k, case.n)
    np.testing.assert_allclose(
        cw, np.array([c.weights for c in ef.corners]), rtol=0, atol=SAME_W * _w_scale(cw)
    )
    np.testing.assert_allclose(
        ef.corner_returns, [c.expected_return for c in ef.corners], rtol=1e-14, atol=0
    )
    np.testing.assert_allclose(
        ef.corner_volatilities, [c.volatility for c in ef.corners], rtol=1e-14, atol=0
    )
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
        assert_own_kkt(c, where=f"{case.label} corner {i}")
    # ordered from the GMV to the maximum return; both strictly increasing (Σ PD)
    assert np.all(np.diff(ef.corner_returns) > 0), ef.corner_returns
    assert np.all(np.diff(ef.corner_volatilities) > 0), ef.corner_volatilities
    np.testing.assert_array_equal(ef.gmv.weights, cw[0])
    assert ef.min_return == ef.corner_returns[0]
    gmv = global_min_variance(case.cov, case.lower, case.upper)
    np.testing.assert_allclose(
        ef.gmv.weights, gmv.weights, rtol=0, atol=SAME_W * _w_scale(gmv.weights)
    )
    hi = return_range(case.mu, case.lower, case.upper)[1]
    if np.isfinite(hi):
        assert ef.max_return == ef.corner_returns[-1]
        assert ef.max_volatility == ef.corner_volatilities[-1]
        assert abs(ef.max_return - hi) <= PRIMAL_TOL * float(np.abs(case.mu) @ np.abs(cw[-1]))
    else:
        assert ef.max_return == INF


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_frontier_is_linear_between_corners(case, frontiers):
    ef = frontiers[case.label]
    cw, cr = np.asarray(ef.corner_weights), np.asarray(ef.corner_returns)
    for i in range(len(cr) - 1):
        for t in (0.5, 0.25):
            r = (1 - t) * cr[i] + t * cr[i + 1]
            p = ef.at_return(r)
            want = (1 - t) * cw[i] + t * cw[i + 1]
            np.testing.assert_allclose(
                p.weights,
                want,
                rtol=0,
                atol=SAME_W * _w_scale(want),
                err_msg=f"{case.label} segment {i}",
            )
            assert p.objective == "frontier_point"
            check_certificate(
                p,
                case.mu,
                case.cov,
                case.lower,
                case.upper,
                target_return=r,
                kind="efficient",
                where=f"{case.label} segment {i} t={t}",
            )
    # the corners themselves are reproduced by at_return
    for i in range(len(cr)):
        np.testing.assert_allclose(
            ef.at_return(cr[i]).weights, cw[i], rtol=0, atol=SAME_W * _w_scale(cw[i])
        )


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("points", [2, 7, 50])
def test_frontier_sample(case, points, frontiers):
    ef = frontiers[case.label]
    if not np.isfinite(ef.max_return):
        pytest.skip("unbounded frontier")
    for by in ("return", "volatility"):
        s = ef.sample(points, by=by)
        assert np.asarray(s.weights).shape == (points, case.n)
        assert np.asarray(s.returns).shape == (points,)
        assert np.asarray(s.volatilities).shape == (points,)
        assert np.all(np.isfinite(s.weights))
        assert np.all(np.isfinite(s.returns))
        assert np.all(np.isfinite(s.volatilities))
        if points >= 2:
            if by == "return":
                want = np.linspace(ef.min_return, ef.max_return, points)
                np.testing.assert_allclose(
                    s.returns, want, rtol=0, atol=1e-14 * max(1.0, abs(ef.max_return))
                )
            else:
                want = np.linspace(ef.gmv.volatility, ef.max_volatility, points)
                np.testing.assert_allclose(
                    s.volatilities, want, rtol=0, atol=1e-12 * ef.max_volatility
                )
        # every row is a frontier portfolio with the stated statistics
        for w, r, v in zip(s.weights, s.returns, s.volatilities, strict=True):
            assert abs(float(case.mu @ w) - r) <= PRIMAL_TOL * float(np.abs(case.mu) @ np.abs(w))
            assert abs(float(w @ case.cov @ w) - v * v) <= PRIMAL_TOL * float(
                np.abs(w) @ np.abs(case.cov) @ np.abs(w)
            )
            assert abs(w.sum() - 1) <= PRIMAL_TOL * _w_scale(w)
            p = ef.at_return(r)
            np.testing.assert_allclose(w, p.weights, rtol=0, atol=SAME_W * _w_scale(w))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_at_volatility_inverts_at_return(case, frontiers):
    ef = frontiers[case.label]
    hi = ef.max_return if np.isfinite(ef.max_return) else ef.min_return + 0.3
    for k, r in enumerate(np.linspace(ef.min_return, hi, 9)):
        p = ef.at_return(r)
        q = ef.at_volatility(p.volatility)
        assert q.objective == "frontier_point"
        check_certificate(
            q,
            case.mu,
            case.cov,
            case.lower,
            case.upper,
            kind="efficient",
            where=f"{case.label} at_volatility({p.volatility!r})",
        )
        assert rel_diff(q.volatility, p.volatility) <= 1e-12
        # q is the frontier portfolio at its own return
        np.testing.assert_allclose(
            q.weights,
            ef.at_return(q.expected_return).weights,
            rtol=0,
            atol=SAME_W * _w_scale(q.weights),
        )
        if k == 0:
            continue  # at the GMV vertex the return is fixed by σ only to ~sqrt(eps)
        assert abs(q.expected_return - r) <= return_tol_from_volatility(p), (case.label, r)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("rf", [0.0, 0.02, 0.05])
def test_max_sharpe_consistent_with_frontier(case, rf, frontiers):
    ef = frontiers[case.label]
    if not _sharpe_defined(ef, rf):
        pytest.skip("no maximum Sharpe ratio (tested in test_validation)")
    best = max_sharpe(case.mu, case.cov, rf, case.lower, case.upper)
    on = ef.max_sharpe(rf)
    np.testing.assert_allclose(
        on.weights, best.weights, rtol=0, atol=SAME_W * _w_scale(best.weights)
    )
    assert rel_diff(on.sharpe_ratio, best.sharpe_ratio) <= 1e-12
    hi = ef.max_return if np.isfinite(ef.max_return) else ef.min_return + 1.0
    rs = np.linspace(ef.min_return, hi, 101)
    sharpes = []
    for r in rs:
        p = ef.at_return(r)
        if p.volatility > 0:
            sharpes.append((p.expected_return - rf) / p.volatility)
    assert best.sharpe_ratio >= max(sharpes) - 1e-12 * abs(best.sharpe_ratio)
    if np.isfinite(ef.max_return):
        s = ef.sample(101)
        ok = s.volatilities > 0
        sr = (s.returns[ok] - rf) / s.volatilities[ok]
        assert best.sharpe_ratio >= sr.max() - 1e-12 * abs(best.sharpe_ratio)
    # and it lies on the frontier: the frontier portfolio at its return is itself
    p = ef.at_return(best.expected_return)
    np.testing.assert_allclose(p.weights, best.weights, rtol=0, atol=1e-8 * _w_scale(best.weights))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_max_return_consistent_with_frontier(case, frontiers):
    ef = frontiers[case.label]
    top = ef.max_volatility if np.isfinite(ef.max_return) else 4 * ef.gmv.volatility
    for frac in (0.05, 0.3, 0.6, 0.95):
        sigma = ef.gmv.volatility + frac * (top - ef.gmv.volatility)
        res = max_return(case.mu, case.cov, sigma, case.lower, case.upper)
        p = ef.at_volatility(sigma)
        assert rel_diff(res.volatility, sigma) <= 1e-12
        assert rel_diff(p.volatility, sigma) <= 1e-12
        np.testing.assert_allclose(
            res.weights, p.weights, rtol=0, atol=SAME_W * _w_scale(p.weights)
        )
        assert abs(res.expected_return - p.expected_return) <= return_tol_from_volatility(p)
    if np.isfinite(ef.max_return):
        # a volatility budget above the riskiest frontier portfolio buys the maximum return
        res = max_return(case.mu, case.cov, 2 * ef.max_volatility, case.lower, case.upper)
        assert abs(res.expected_return - ef.max_return) <= 1e-12 * max(1.0, ef.max_return)
        np.testing.assert_allclose(
            res.weights, ef.corner_weights[-1], rtol=0, atol=SAME_W * _w_scale(res.weights)
        )


@pytest.mark.parametrize("seed", range(20))
def test_long_only_snap_matches_general_snap(seed):
    # The long-only fast path of the weight cleaning (single results and frontier samples)
    # must give what the general one gives with the default bounds 0 ≤ w < inf.
    from xlfrontier.core._weights import snap_long_only, snap_to_bounds

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    w = rng.dirichlet(np.ones(n), size=6)
    dust = rng.random((6, n)) < 0.4
    w[dust] = rng.normal(scale=1e-13, size=dust.sum())  # rounding dust around 0, both signs
    w[0] = 0.0  # a row with no free weight at all
    state = np.where(rng.random((6, n)) < 0.2, -1, 0).astype(np.int8)
    lo, up = np.zeros(n), np.full(n, np.inf)
    fast = snap_long_only(w, state)
    slow = snap_to_bounds(w, lo, up, state)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
    for row in range(w.shape[0]):  # one portfolio at a time, as PathSolver.result uses it
        for a, b in zip(snap_long_only(w[row], state[row]), fast, strict=True):
            np.testing.assert_allclose(a, b[row], rtol=0, atol=1e-15)  # summation order only


def test_snap_keeps_a_vertex_on_its_bounds():
    # Regression: cleaning several portfolios at once gave the rounding of a portfolio with
    # every asset at a bound (a vertex) to its first asset, pushing it past its bound, as
    # soon as another portfolio had a free asset.
    from xlfrontier.core._weights import snap_to_bounds

    lo, up = np.zeros(3), np.array([0.5, 0.5, 1.0])
    w = np.array([[0.5 + 3e-13, 0.5 + 1e-13, 0.0], [0.5, 0.25, 0.25]])
    out, at_lower, at_upper = snap_to_bounds(w, lo, up)
    np.testing.assert_array_equal(out[0], [0.5, 0.5, 0.0])
    assert at_upper[0, :2].all()
    assert at_lower[0, 2]
    np.testing.assert_array_equal(out[1], w[1])
