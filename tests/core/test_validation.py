"""Input validation and error paths: every error is a specific class with a cell-sized message.

Each entry point must reject bad inputs the same way (validation happens once, at the
boundary), so most checks run against all of them.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import percentages_in, return_range, states_value

from xlfrontier.core._validation import (
    as_bounds,
    as_covariance,
    as_vector,
    fmt_pct,
    validate_problem,
)
from xlfrontier.core.closed_form import merton_frontier
from xlfrontier.core.frontier import efficient_frontier
from xlfrontier.core.metrics import (
    portfolio_return,
    portfolio_sharpe,
    portfolio_variance,
    portfolio_volatility,
    risk_contributions,
)
from xlfrontier.core.optimize import (
    global_min_variance,
    max_return,
    max_sharpe,
    max_utility,
    min_variance,
)
from xlfrontier.exceptions import (
    InfeasibleError,
    InputError,
    NoPositiveExcessReturnError,
    NotPositiveSemidefiniteError,
    SolverError,
    TargetOutOfRangeError,
    UnboundedError,
    XlfrontierError,
)

INF = np.inf
MU = np.array([0.05, 0.08, 0.12])
COV = np.array(
    [
        [0.0400, 0.0060, 0.0020],
        [0.0060, 0.0900, 0.0150],
        [0.0020, 0.0150, 0.1600],
    ]
)

ENTRY_POINTS = {
    "min_variance": lambda mu, cov, lo=0.0, up=INF: min_variance(mu, cov, 0.08, lo, up),
    "global_min_variance": lambda mu, cov, lo=0.0, up=INF: global_min_variance(cov, lo, up, mu=mu),
    "max_sharpe": lambda mu, cov, lo=0.0, up=INF: max_sharpe(mu, cov, 0.01, lo, up),
    "max_return": lambda mu, cov, lo=0.0, up=INF: max_return(mu, cov, 0.25, lo, up),
    "max_utility": lambda mu, cov, lo=0.0, up=INF: max_utility(mu, cov, 3.0, lo, up),
    "efficient_frontier": lambda mu, cov, lo=0.0, up=INF: efficient_frontier(mu, cov, lo, up),
}
entry_points = pytest.mark.parametrize("solve", list(ENTRY_POINTS.values()), ids=list(ENTRY_POINTS))


# ============================================================================================
# Exceptions module
# ============================================================================================
def test_exception_hierarchy():
    for cls in (
        InputError,
        NotPositiveSemidefiniteError,
        InfeasibleError,
        TargetOutOfRangeError,
        NoPositiveExcessReturnError,
    ):
        assert issubclass(cls, XlfrontierError)
        assert issubclass(cls, ValueError)
        assert issubclass(cls, InputError)
    assert issubclass(TargetOutOfRangeError, InfeasibleError)
    assert issubclass(UnboundedError, ValueError)
    assert issubclass(UnboundedError, XlfrontierError)
    assert not issubclass(UnboundedError, InputError)
    assert issubclass(SolverError, RuntimeError)
    assert not issubclass(SolverError, ValueError)
    err = TargetOutOfRangeError("msg", "return", 0.3, (0.05, 0.12), "target_return")
    assert (err.quantity, err.target, err.feasible_range, err.argument) == (
        "return",
        0.3,
        (0.05, 0.12),
        "target_return",
    )
    err = NotPositiveSemidefiniteError("msg", -0.5)
    assert (err.min_eigenvalue, err.argument) == (-0.5, "cov")


# ============================================================================================
# Shapes, missing values, text
# ============================================================================================
@entry_points
def test_covariance_not_square(solve):
    with pytest.raises(InputError, match=r"cov must be a square matrix, got shape \(3, 2\)"):
        solve(MU, COV[:, :2])


@entry_points
def test_covariance_size_does_not_match_returns(solve):
    with pytest.raises(InputError, match=r"cov is 3x3 but there are 2 expected returns") as e:
        solve(MU[:2], COV)
    assert e.value.argument == "cov"


@entry_points
def test_returns_not_a_vector(solve):
    with pytest.raises(InputError, match=r"mu must be a single row or column") as e:
        solve(np.ones((3, 3)), COV)
    assert e.value.argument == "mu"


@entry_points
def test_returns_as_row_or_column_accepted(solve):
    # Excel ranges arrive as (n, 1) or (1, n) arrays
    a = solve(MU[:, None], COV)
    b = solve(MU[None, :], COV)
    c = solve(list(MU), COV.tolist())
    for x, y in ((a, b), (a, c)):
        wa = x.weights if hasattr(x, "weights") else x.corner_weights
        wb = y.weights if hasattr(y, "weights") else y.corner_weights
        np.testing.assert_array_equal(wa, wb)


@entry_points
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_returns(solve, bad):
    mu = MU.copy()
    mu[1] = bad
    with pytest.raises(InputError, match=r"mu has a missing or non-finite value at position 2"):
        solve(mu, COV)


@entry_points
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_covariance(solve, bad):
    cov = COV.copy()
    cov[0, 2] = cov[2, 0] = bad
    with pytest.raises(
        InputError,
        match=r"cov has a missing or non-finite value at row 1, "
        r"column 3",
    ):
        solve(MU, cov)


@entry_points
def test_text_in_numeric_range(solve):
    with pytest.raises(InputError, match=r"mu must contain numbers only"):
        solve(["5%", 0.08, 0.12], COV)
    with pytest.raises(InputError, match=r"cov must contain numbers only"):
        solve(MU, [["a", 0, 0], [0, 1, 0], [0, 0, 1]])


@entry_points
def test_empty_inputs(solve):
    with pytest.raises(InputError, match=r"mu is empty"):
        solve([], COV)


def test_negative_variance_on_diagonal():
    cov = COV.copy()
    cov[1, 1] = -0.01
    with pytest.raises(
        InputError,
        match=r"cov has a negative variance -0.01 on the diagonal "
        r"\(asset 2\)",
    ):
        min_variance(MU, cov, 0.08)


# ============================================================================================
# Symmetry and positive semi-definiteness
# ============================================================================================
@entry_points
def test_tiny_asymmetry_is_symmetrised(solve):
    cov = COV.copy()
    cov[0, 1] *= 1 + 1e-12  # rounding in a pasted matrix
    got = solve(MU, cov)
    want = solve(MU, 0.5 * (cov + cov.T))
    wg = got.weights if hasattr(got, "weights") else got.corner_weights
    ww = want.weights if hasattr(want, "weights") else want.corner_weights
    np.testing.assert_array_equal(wg, ww)


@entry_points
def test_large_asymmetry_is_rejected_naming_the_cells(solve):
    cov = COV.copy()
    cov[2, 0] = 0.0035
    with pytest.raises(
        InputError,
        match=r"cov is not symmetric: row 1, column 3 is 0\.002 but "
        r"row 3, column 1 is 0\.0035",
    ) as e:
        solve(MU, cov)
    assert e.value.argument == "cov"


@entry_points
def test_not_positive_semidefinite(solve):
    cov = np.array([[0.04, 0.05, 0.0], [0.05, 0.04, 0.0], [0.0, 0.0, 0.09]])
    smallest = float(np.linalg.eigvalsh(cov)[0])  # -0.01
    with pytest.raises(
        NotPositiveSemidefiniteError,
        match=r"not positive semi-definite: smallest eigenvalue -0\.01\b",
    ) as e:
        solve(MU, cov)
    assert e.value.min_eigenvalue == pytest.approx(smallest, rel=1e-12)
    assert e.value.argument == "cov"
    assert isinstance(e.value, ValueError)


def test_not_psd_with_clearly_negative_tiny_eigenvalue():
    # a correlation-style matrix pushed just outside the PSD cone: eigenvalue -1e-6
    vals, vecs = np.linalg.eigh(COV)
    vals[0] = -1e-6
    cov = (vecs * vals) @ vecs.T
    cov = 0.5 * (cov + cov.T)
    with pytest.raises(NotPositiveSemidefiniteError, match=r"smallest eigenvalue -1e-06") as e:
        min_variance(MU, cov, 0.08)
    assert e.value.min_eigenvalue == pytest.approx(-1e-6, rel=1e-6)


def test_singular_psd_covariance_still_works():
    # a duplicated asset: singular but PSD (rounding puts its zero eigenvalue at ±1e-18)
    idx = [0, 1, 2, 1]
    cov = COV[np.ix_(idx, idx)]
    mu = MU[idx]
    assert np.linalg.eigvalsh(cov)[0] < 1e-15
    res = min_variance(mu, cov, 0.09)
    ref = min_variance(MU, COV, 0.09)
    assert res.variance == pytest.approx(ref.variance, rel=1e-12)
    assert res.weights[1] + res.weights[3] == pytest.approx(ref.weights[1], abs=1e-12)


# ============================================================================================
# Bounds
# ============================================================================================
@entry_points
def test_lower_bounds_sum_above_one(solve):
    with pytest.raises(InfeasibleError, match=r"lower bounds sum to 120%, more than 100%") as e:
        solve(MU, COV, 0.4)
    assert e.value.argument == "lower"


@entry_points
def test_upper_bounds_sum_below_one(solve):
    with pytest.raises(InfeasibleError, match=r"upper bounds sum to 90%, less than 100%") as e:
        solve(MU, COV, 0.0, 0.3)
    assert e.value.argument == "upper"


@entry_points
def test_lower_above_upper(solve):
    with pytest.raises(
        InputError,
        match=r"asset 2: lower bound 50% is above its upper bound "
        r"10%",
    ):
        solve(MU, COV, [0.0, 0.5, 0.0], [1.0, 0.1, 1.0])


@entry_points
def test_bounds_of_wrong_length(solve):
    with pytest.raises(InputError, match=r"upper has 2 values but there are 3 assets"):
        solve(MU, COV, 0.0, [0.5, 0.5])


def test_infinite_bounds_the_wrong_way():
    with pytest.raises(InputError, match=r"lower bound cannot be \+infinity"):
        min_variance(MU, COV, 0.08, INF)
    with pytest.raises(InputError, match=r"upper bound cannot be -infinity"):
        min_variance(MU, COV, 0.08, 0.0, -INF)


def test_bounds_that_sum_exactly_to_one_are_feasible():
    res = min_variance(MU, COV, float(MU @ [0.2, 0.3, 0.5]), [0.2, 0.3, 0.5])
    np.testing.assert_allclose(res.weights, [0.2, 0.3, 0.5], rtol=0, atol=1e-15)
    res = global_min_variance(COV, 0.0, [0.2, 0.3, 0.5])
    np.testing.assert_allclose(res.weights, [0.2, 0.3, 0.5], rtol=0, atol=1e-15)


def test_missing_bounds_mean_the_defaults():
    a = min_variance(MU, COV, 0.08, [np.nan, 0.1, np.nan], [np.nan, np.nan, 0.7])
    b = min_variance(MU, COV, 0.08, [0.0, 0.1, 0.0], [INF, INF, 0.7])
    np.testing.assert_array_equal(a.weights, b.weights)
    c = min_variance(MU, COV, 0.08, None, None)
    d = min_variance(MU, COV, 0.08)
    np.testing.assert_array_equal(c.weights, d.weights)


def test_validate_problem_broadcasts():
    p = validate_problem(MU, COV, 0.1, [0.5, 0.6, 0.7])
    np.testing.assert_array_equal(p.lower, [0.1, 0.1, 0.1])
    np.testing.assert_array_equal(p.upper, [0.5, 0.6, 0.7])
    assert p.n == 3
    p = validate_problem(None, COV)
    np.testing.assert_array_equal(p.mu, np.zeros(3))
    lo, up = as_bounds(-INF, None, 2)
    np.testing.assert_array_equal(lo, [-INF, -INF])
    np.testing.assert_array_equal(up, [INF, INF])
    np.testing.assert_array_equal(as_vector([[1.0], [2.0]], "x"), [1.0, 2.0])
    np.testing.assert_array_equal(as_covariance(0.04), [[0.04]])


# ============================================================================================
# Targets outside the feasible range
# ============================================================================================
@pytest.mark.parametrize(
    ("target", "lower", "upper"),
    [
        (0.15, 0.0, INF),
        (0.03, 0.0, INF),
        (0.11, 0.0, 0.6),
        (0.055, [0.1, 0.0, 0.2], INF),
        (0.2, -0.5, INF),
        (-0.01, -0.5, 1.5),
    ],
)
def test_target_return_out_of_range(target, lower, upper):
    lo, hi = return_range(
        MU,
        *np.broadcast_arrays(
            np.asarray(lower, float) * np.ones(3), np.asarray(upper, float) * np.ones(3)
        ),
    )
    with pytest.raises(TargetOutOfRangeError, match=r"^target return .* attainable") as e:
        min_variance(MU, COV, target, lower, upper)
    err = e.value
    assert isinstance(err, InfeasibleError)
    assert isinstance(err, ValueError)
    assert err.quantity == "return"
    assert err.target == target
    assert err.feasible_range[0] == pytest.approx(lo, rel=1e-13)
    assert err.feasible_range[1] == pytest.approx(hi, rel=1e-13)
    msg = str(err)
    assert len(msg) <= 255, "message must fit a cell"
    assert states_value(msg, target), msg
    assert states_value(msg, lo), msg
    assert states_value(msg, hi), msg
    assert ("above" in msg) == (target > hi), msg
    assert ("below" in msg) == (target < lo), msg


def test_frontier_target_return_out_of_range():
    ef = efficient_frontier(MU, COV)
    for r in (ef.min_return - 0.01, ef.max_return + 0.01):
        with pytest.raises(TargetOutOfRangeError, match=r"^target return .*\(feasible ") as e:
            ef.at_return(r)
        assert e.value.quantity == "return"
        assert e.value.feasible_range == pytest.approx((ef.min_return, ef.max_return), rel=1e-14)
        assert states_value(str(e.value), ef.min_return), str(e.value)
        assert states_value(str(e.value), ef.max_return), str(e.value)


def test_target_volatility_out_of_range():
    ef = efficient_frontier(MU, COV)
    gmv_vol = ef.gmv.volatility
    with pytest.raises(
        TargetOutOfRangeError, match=r"^target volatility .* below the lowest attainable"
    ) as e:
        max_return(MU, COV, 0.5 * gmv_vol)
    err = e.value
    assert err.quantity == "volatility"
    assert err.target == 0.5 * gmv_vol
    assert err.feasible_range[0] == pytest.approx(gmv_vol, rel=1e-13)
    assert states_value(str(err), gmv_vol), str(err)
    assert states_value(str(err), 0.5 * gmv_vol), str(err)
    for s in (0.5 * gmv_vol, 1.5 * ef.max_volatility):
        with pytest.raises(
            TargetOutOfRangeError, match=r"^target volatility .* (below|above)"
        ) as e:
            ef.at_volatility(s)
        assert e.value.quantity == "volatility"
        assert e.value.feasible_range == pytest.approx((gmv_vol, ef.max_volatility), rel=1e-13)
    # above the riskiest efficient portfolio max_return is not an error: it is the top
    res = max_return(MU, COV, 1.5 * ef.max_volatility)
    np.testing.assert_allclose(res.weights, [0.0, 0.0, 1.0], rtol=0, atol=1e-15)


def test_negative_target_volatility():
    with pytest.raises(InputError, match=r"volatility"):
        max_return(MU, COV, -0.1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, "ten percent", None])
def test_non_numeric_targets(bad):
    with pytest.raises(InputError, match=r"^target_return must be a (finite )?number$"):
        min_variance(MU, COV, bad)
    with pytest.raises(InputError, match=r"^target_volatility must be a (finite )?number$"):
        max_return(MU, COV, bad)
    with pytest.raises(InputError, match=r"^risk_aversion must be a (finite )?number$"):
        max_utility(MU, COV, bad)


def test_risk_aversion_must_be_positive():
    for delta in (0.0, -1.0):
        with pytest.raises(InputError, match=r"risk aversion must be positive"):
            max_utility(MU, COV, delta)


# ============================================================================================
# Maximum Sharpe without a positive excess return
# ============================================================================================
@pytest.mark.parametrize("rf", [0.12, 0.15])
def test_no_asset_beats_the_risk_free_rate(rf):
    with pytest.raises(NoPositiveExcessReturnError, match=r"maximum Sharpe is undefined") as e:
        max_sharpe(MU, COV, rf)
    assert isinstance(e.value, ValueError)
    assert states_value(str(e.value), rf), str(e.value)
    with pytest.raises(NoPositiveExcessReturnError, match=r"^no portfolio earns more than"):
        efficient_frontier(MU, COV).max_sharpe(rf)


def test_bounds_keep_the_best_asset_below_the_risk_free_rate():
    # only 20% may go to the 12% asset: the best portfolio earns 0.2*12% + 0.8*8% = 8.8%
    with pytest.raises(
        NoPositiveExcessReturnError, match=r"risk-free rate 9% \(highest attainable return 8\.8%\)"
    ) as e:
        max_sharpe(MU, COV, 0.09, 0.0, [1.0, 1.0, 0.2])
    assert any(abs(p - 0.088) < 5e-5 for p in percentages_in(str(e.value))), str(e.value)
    res = max_sharpe(MU, COV, 0.087, 0.0, [1.0, 1.0, 0.2])
    assert res.expected_return > 0.087


def test_unlimited_shorting_with_rf_above_the_gmv_return():
    # the Sharpe ratio keeps rising along the upper branch's asymptote: no maximum
    gmv = global_min_variance(COV, -INF, mu=MU)
    with pytest.raises(UnboundedError, match=r"^the maximum Sharpe ratio is not attained"):
        max_sharpe(MU, COV, gmv.expected_return + 0.01, -INF)


# ============================================================================================
# Closed form and metrics
# ============================================================================================
def test_merton_needs_an_invertible_covariance():
    idx = [0, 1, 1]
    with pytest.raises(InputError, match=r"singular"):
        merton_frontier(MU[idx], COV[np.ix_(idx, idx)])


def test_merton_with_equal_returns():
    mf = merton_frontier(np.full(3, 0.07), COV)
    assert mf.gmv_return == pytest.approx(0.07, rel=1e-14)
    assert abs(mf.D) <= 1e-12 * mf.A * mf.C
    with pytest.raises(InputError, match=r"same expected return"):
        mf.weights(0.08)
    with pytest.raises(InputError, match=r"minimum-variance return"):
        merton_frontier(MU, COV).tangency_weights(0.5)


def test_metrics():
    w = np.array([0.2, 0.3, 0.5])
    assert portfolio_return(w, MU) == pytest.approx(float(MU @ w), rel=1e-15)
    assert portfolio_variance(w, COV) == pytest.approx(float(w @ COV @ w), rel=1e-15)
    assert portfolio_volatility(w, COV) == pytest.approx(np.sqrt(w @ COV @ w), rel=1e-15)
    assert portfolio_sharpe(w, MU, COV, 0.02) == pytest.approx(
        (MU @ w - 0.02) / np.sqrt(w @ COV @ w), rel=1e-14
    )
    rc = risk_contributions(w, COV)
    np.testing.assert_allclose(rc, w * (COV @ w) / (w @ COV @ w), rtol=1e-14)
    assert rc.sum() == pytest.approx(1.0, rel=1e-15)
    with pytest.raises(InputError, match=r"zero volatility"):
        portfolio_sharpe([1.0, 0.0], [0.05, 0.1], np.zeros((2, 2)))
    with pytest.raises(InputError, match=r"zero variance"):
        risk_contributions([1.0, 0.0], np.zeros((2, 2)))
    with pytest.raises(InputError, match=r"mu has 2 values but there are 3 assets"):
        portfolio_return(w, MU[:2])
    # rounding can make a riskless portfolio's wᵀΣw slightly negative: clipped at zero
    cov = np.array([[0.01, -0.03], [-0.03, 0.09]])  # perfectly negatively correlated
    assert portfolio_variance([0.75, 0.25], cov) >= 0.0


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.1825, "18.25%"),
        (0.35, "35%"),
        (0.059, "5.9%"),
        (-0.05, "-5%"),
        (1.2, "120%"),
        (np.inf, "unbounded"),
        (-np.inf, "-unbounded"),
    ],
)
def test_fmt_pct(x, text):
    assert fmt_pct(x) == text


@pytest.mark.parametrize("x", [-0.0, -1e-9, 1e-9, -4e-5])
def test_fmt_pct_never_shows_a_negative_zero(x):
    # STYLE principle 7: no -0.0 in what the user sees
    assert fmt_pct(x) == fmt_pct(0.0)
    assert not fmt_pct(x).startswith("-")
