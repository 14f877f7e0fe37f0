"""Edge cases where the core used to give a wrong answer, a wrong refusal or a wrong message.

* statistics of a given portfolio on a covariance that is not one (negative "variance" shown
  as 0);
* the minimum variance at a fixed return when unlimited riskless assets allow an arbitrage
  (refused as unbounded although it exists);
* utility with a vanishing risk aversion and unlimited shorting (budget off by 1e-5);
* messages whose rounding contradicted them (*20% is above the highest attainable 20%*) and
  CHECK_INPUTS failing on entries near the float limit.

References are independent of the core: closed forms, the KKT certificate of ``_reference``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from _reference import Case, check_certificate, clarabel_min_variance

from xlfrontier.core import (
    check_inputs,
    max_return,
    max_sharpe,
    max_utility,
    min_variance,
    portfolio_sharpe,
    portfolio_variance,
    portfolio_volatility,
    risk_contributions,
)
from xlfrontier.core._messages import fmt_pct, fmt_pct_pair
from xlfrontier.core.frontier import efficient_frontier
from xlfrontier.core.metrics import variance_tolerance
from xlfrontier.exceptions import (
    InfeasibleError,
    InputError,
    NoPositiveExcessReturnError,
    NotPositiveSemidefiniteError,
    TargetOutOfRangeError,
    UnboundedError,
)

MU = np.array([0.10, 0.20, 0.15])
COV = np.array([[0.04, 0.006, 0.01], [0.006, 0.09, 0.012], [0.01, 0.012, 0.0625]])
# Implied correlation of assets 1 and 2 is 0.1 / (0.2·0.3) = 1.67: not a covariance.
BAD_COV = np.array([[0.04, 0.1, 0.012], [0.1, 0.09, 0.02], [0.012, 0.02, 0.0625]])
W_BAD = np.array([1.0, -1.0, 0.0])  # wᵀΣw = 0.04 − 0.2 + 0.09 = −0.07
NOT_PSD = re.escape(
    "cov is not a valid covariance matrix (not positive semi-definite: smallest eigenvalue "
    "-0.0382); check for typing errors or repair it with NEAREST_PSD"
)


# ---------------------------------------------------------------- statistics on a bad cov
def test_bad_cov_gives_a_negative_quadratic_form():
    assert float(W_BAD @ BAD_COV @ W_BAD) == pytest.approx(-0.07, abs=1e-15)


@pytest.mark.parametrize(
    "stat",
    [
        lambda: portfolio_variance(W_BAD, BAD_COV),
        lambda: portfolio_volatility(W_BAD, BAD_COV),
        lambda: portfolio_sharpe(W_BAD, MU, BAD_COV, 0.0),
        lambda: risk_contributions(W_BAD, BAD_COV),
        lambda: portfolio_variance([0.3, 0.3, 0.4], BAD_COV),  # positive here, still refused
    ],
)
def test_statistics_refuse_a_non_psd_cov_as_the_optimisers_do(stat):
    with pytest.raises(NotPositiveSemidefiniteError, match=NOT_PSD):
        stat()
    with pytest.raises(NotPositiveSemidefiniteError, match=NOT_PSD):
        min_variance(MU, BAD_COV, 0.15)


def test_rounding_level_negative_variance_reads_zero():
    """A riskless long/short pair: wᵀΣw is ±rounding, within the documented tolerance."""
    s = np.array([0.3, 0.7, 0.1])
    cov = np.outer(s, s)  # rank one, PSD: (1/0.3, −1/0.7·…) hedges exactly
    w = np.array([1 / 0.3, -1 / 0.7, 0.0])
    w /= w.sum()
    raw = float(w @ cov @ w)
    assert abs(raw) <= variance_tolerance(w, cov)
    assert portfolio_variance(w, cov) == max(raw, 0.0)
    assert portfolio_volatility(w, cov) == np.sqrt(max(raw, 0.0))


def test_variance_tolerance_scales_with_sigma_and_weights():
    w = np.array([2.0, -1.0])
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    t = variance_tolerance(w, cov)
    assert variance_tolerance(10 * w, cov) == pytest.approx(100 * t, rel=1e-12)
    assert variance_tolerance(w, 1e6 * cov) == pytest.approx(1e6 * t, rel=1e-12)
    assert t < 1e-10  # far below any real variance of these numbers


def test_statistics_on_a_valid_cov_unchanged():
    w = np.array([0.2, 0.5, 0.3])
    assert portfolio_variance(w, COV) == pytest.approx(float(w @ COV @ w), rel=1e-15)
    rc = risk_contributions(w, COV)
    np.testing.assert_allclose(rc, w * (COV @ w) / float(w @ COV @ w), rtol=1e-14)


# ---------------------------------------------------------------- riskless arbitrage
ARB_CASES = [
    # (mu, cov, target, the unique answer)
    (
        [0.03, 0.032, 0.08],
        np.diag([0.0, 0.0, 0.04]),
        0.06,
        np.array([-14.0, 15.0, 0.0]),
    ),
    (
        [0.1256, -0.0159],
        np.zeros((2, 2)),
        0.12931,
        np.array([(0.12931 + 0.0159) / 0.1415, (0.1256 - 0.12931) / 0.1415]),
    ),
]


@pytest.mark.parametrize(("mu", "cov", "r", "expected"), ARB_CASES)
def test_min_variance_at_a_fixed_return_with_riskless_arbitrage(mu, cov, r, expected):
    mu = np.asarray(mu)
    res = min_variance(mu, cov, r, lower=-np.inf)
    n = mu.size
    # riskless, budget and return met: the answer is unique (two riskless assets with
    # different returns fix their weights; the risky one is 0)
    np.testing.assert_allclose(res.weights, expected, rtol=1e-14, atol=1e-14)
    assert res.variance == pytest.approx(0.0, abs=1e-28)
    assert res.status == "optimal"
    check_certificate(
        res, mu, cov, np.full(n, -np.inf), np.full(n, np.inf), target_return=r, kind="any"
    )


def test_min_variance_with_arbitrage_is_minimum_norm_and_matches_clarabel():
    """Three riskless deposits (two at one rate) and a risky asset: not unique, min-norm."""
    mu = np.array([0.03, 0.03, 0.05, 0.08])
    cov = np.diag([0.0, 0.0, 0.0, 0.04])
    lo, up = np.full(4, -np.inf), np.full(4, np.inf)
    r = 0.07
    res = min_variance(mu, cov, r, lower=-np.inf)
    check_certificate(res, mu, cov, lo, up, target_return=r)
    # the optimal set: w3 = 0 (no risk), w1 + w2 + w3' = 1 with 0.03(w1 + w2) + 0.05 w3' = r;
    # min-norm splits w1 = w2: w3' = (r − 0.03)/0.02 = 2, w1 = w2 = −0.5
    np.testing.assert_allclose(res.weights, [-0.5, -0.5, 2.0, 0.0], atol=1e-14)
    ref = clarabel_min_variance(Case(mu, cov, lo, up, "arbitrage", pd=False), r)
    assert ref.variance <= 1e-12
    assert res.variance <= ref.variance + 1e-15


@pytest.mark.parametrize(
    "solve",
    [
        lambda mu, cov: max_sharpe(mu, cov, 0.0, lower=-np.inf),
        lambda mu, cov: max_utility(mu, cov, 3.0, lower=-np.inf),
        lambda mu, cov: max_return(mu, cov, 0.3, lower=-np.inf),
        lambda mu, cov: efficient_frontier(mu, cov, lower=-np.inf).max_return,
    ],
)
@pytest.mark.parametrize(("mu", "cov", "r", "expected"), ARB_CASES)
def test_objectives_rewarding_return_stay_unbounded_with_arbitrage(solve, mu, cov, r, expected):
    with pytest.raises(UnboundedError, match=r"riskless combination .* \(arbitrage\)"):
        solve(np.asarray(mu), cov)


# ---------------------------------------------------------------- utility at δ → 0
def test_utility_with_vanishing_risk_aversion_is_refused_in_finance_words():
    with pytest.raises(
        UnboundedError,
        match=re.escape(
            "risk aversion 1e-09 is too low: the best portfolio would hold long and short "
            "positions of 2.1e+09 times the capital (in practice unbounded); use a higher risk "
            "aversion (typically 1 to 10) or limit short selling"
        ),
    ):
        max_utility(MU, COV, 1e-9, lower=-np.inf)


@pytest.mark.parametrize("delta", [1e-3, 0.01, 1.0, 10.0])
def test_utility_with_small_risk_aversion_is_exact(delta):
    """Closed form without bounds: w = Σ⁻¹(μ − γ1)/δ with γ fixing the budget."""
    res = max_utility(MU, COV, delta, lower=-np.inf)
    ones = np.ones(3)
    si_mu, si_1 = np.linalg.solve(COV, MU), np.linalg.solve(COV, ones)
    gamma = (ones @ si_mu - delta) / (ones @ si_1)
    expected = (si_mu - gamma * si_1) / delta
    np.testing.assert_allclose(res.weights, expected, rtol=1e-11)
    assert abs(res.weights.sum() - 1.0) <= 1e-12
    check_certificate(res, MU, COV, np.full(3, -np.inf), np.full(3, np.inf), where=f"delta={delta}")


def test_utility_long_only_with_tiny_risk_aversion_still_answers():
    res = max_utility(MU, COV, 1e-12)
    np.testing.assert_array_equal(res.weights, [0.0, 1.0, 0.0])  # the best asset


# ---------------------------------------------------------------- messages that compare
@pytest.mark.parametrize(
    ("a", "b", "shown"),
    [
        (0.2000001, 0.2, ("20.00001%", "20%")),
        (0.9999999999, 1.0, ("99.99999999%", "100%")),
        (0.19999999999999998, 0.2, ("19.999999999999998%", "20%")),
        (0.123456, 0.123457, ("12.3456%", "12.3457%")),
        (0.1825, 0.1, ("18.25%", "10%")),
        (0.2, 0.2, ("20%", "20%")),
        (-1e-9, 0.0, ("-0.0000001%", "0%")),
        (1e-300, 0.0, ("1e-298%", "0%")),
        (np.inf, 0.2, ("unbounded", "20%")),
    ],
)
def test_fmt_pct_pair_tells_the_numbers_apart(a, b, shown):
    assert fmt_pct_pair(a, b) == shown
    assert fmt_pct_pair(b, a) == shown[::-1]


def test_fmt_pct_unchanged_for_ordinary_numbers_and_short_for_huge_ones():
    assert [fmt_pct(x) for x in (0.1825, 0.2, 0.0, -0.05, 1e-5)] == [
        "18.25%",
        "20%",
        "0.00%",
        "-5%",
        "0.00%",
    ]
    assert fmt_pct(1e300) == "1e+302%"


@pytest.mark.parametrize(
    ("solve", "error", "text"),
    [
        (
            lambda: min_variance(MU, COV, 0.2000001),
            TargetOutOfRangeError,
            "target return 20.00001% is above the highest attainable 20% (feasible 10% to 20%)",
        ),
        (
            lambda: min_variance(MU, COV, 0.0999999),
            TargetOutOfRangeError,
            "target return 9.99999% is below the lowest attainable 10% (feasible 10% to 20%)",
        ),
        (
            lambda: efficient_frontier(MU, COV).at_return(0.2000001),
            TargetOutOfRangeError,
            "target return 20.00001% is above the highest attainable 20% (feasible 13.42% to 20%)",
        ),
        (
            lambda: min_variance(MU, COV, 0.2, upper=np.full(3, 0.3333333333)),
            InfeasibleError,
            "upper bounds sum to 99.99999999%, less than 100%: weights cannot add up to one; "
            "raise some maximum weights",
        ),
        (
            lambda: min_variance(MU, COV, 0.15, lower=np.full(3, 0.3333333334)),
            InfeasibleError,
            "lower bounds sum to 100.00000002%, more than 100%: no portfolio can meet them; "
            "lower some minimum weights",
        ),
        (
            lambda: min_variance(MU, COV, 0.15, lower=0.2, upper=[0.3, 0.19999999, 0.5]),
            InputError,
            "asset 2: lower bound 20% is above its upper bound 19.999999%",
        ),
        (
            lambda: max_sharpe(MU, COV, 0.2000000001),
            NoPositiveExcessReturnError,
            "no portfolio earns more than the risk-free rate 20.00000001% (highest attainable "
            "return 20%): maximum Sharpe is undefined; lower rf",
        ),
    ],
)
def test_messages_show_enough_digits_to_compare(solve, error, text):
    with pytest.raises(error, match=f"^{re.escape(text)}$"):
        solve()


def test_volatility_message_tells_target_and_limit_apart():
    lo = efficient_frontier(MU, COV).min_volatility
    s = lo * (1 - 1e-7)
    shown_s, shown_lo = fmt_pct_pair(s, lo)
    assert shown_s != shown_lo
    with pytest.raises(
        TargetOutOfRangeError,
        match=re.escape(f"target volatility {shown_s} is below the lowest attainable {shown_lo}"),
    ):
        max_return(MU, COV, s)


# ---------------------------------------------------------------- CHECK_INPUTS extremes
@pytest.mark.parametrize(
    ("cov", "psd", "smallest"),
    [
        ([[1e308, 0, 0], [0, 0.09, 0.012], [0, 0.012, 0.0625]], "OK", "0.058"),
        ([[1e308, 1e308, 0], [1e308, 1e308, 0], [0, 0, 1e308]], "OK", "0"),
        ([[1e308, -1e308, 0], [-1e308, 1e308, 0], [0, 0, 0.04]], "OK", "0"),
        # eigenvalues of [[1, 1], [1, 0.1]]·1e308: (1.1 ± √4.81)/2·1e308
        ([[1e308, 1e308, 0], [1e308, 1e307, 0], [0, 0, 1.0]], "ERROR", "-5.47e+307"),
        ([[1e-308, 0, 0], [0, 1e-300, 0], [0, 0, 5e-324]], "OK", "4.94e-324"),
    ],
)
def test_check_inputs_never_fails_on_extreme_magnitudes(cov, psd, smallest):
    with np.errstate(all="raise"):  # no overflow or invalid value anywhere
        rep = check_inputs(MU, np.array(cov, dtype=float))
    line = rep["positive semi-definite"]
    assert line.status == psd, line
    assert line.detail.endswith(f"smallest eigenvalue {smallest}") or (
        f"smallest eigenvalue {smallest};" in line.detail
    ), line
    assert all(len(c.detail) <= 255 for c in rep.checks)
