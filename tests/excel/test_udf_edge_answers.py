"""Worksheet functions on edge inputs found by fuzzing (issue 17, items 9–11 and utility).

Called as Excel calls them (``XLPython().CallUDF``); expected numbers are closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import call_udf

MISSING = -2147352572  # VBA: optional argument not supplied
MU = ((0.10,), (0.20,), (0.15,))
COV = ((0.04, 0.006, 0.01), (0.006, 0.09, 0.012), (0.01, 0.012, 0.0625))
BAD_COV = ((0.04, 0.1, 0.012), (0.1, 0.09, 0.02), (0.012, 0.02, 0.0625))
W_BAD = ((1.0,), (-1.0,), (0.0,))
NOT_PSD = (
    "#INPUT! cov is not a valid covariance matrix (not positive semi-definite: smallest "
    "eigenvalue -0.0382); check for typing errors or repair it with NEAREST_PSD"
)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("PORTFOLIO_STATS", (W_BAD, MU, BAD_COV)),
        ("PORTFOLIO_VOL", (W_BAD, BAD_COV)),
        ("PORTFOLIO_SHARPE", (W_BAD, MU, BAD_COV)),
        ("RISK_CONTRIBUTIONS", (W_BAD, BAD_COV)),
        ("MINVAR_WEIGHTS", (MU, BAD_COV, 0.15)),  # the optimisers' message, for comparison
    ],
)
def test_statistics_refuse_an_invalid_covariance(name, args):
    assert call_udf(name, *args) == NOT_PSD


def test_portfolio_stats_on_a_valid_covariance():
    w = np.array([0.2, 0.5, 0.3])
    out = call_udf("PORTFOLIO_STATS", tuple((x,) for x in w), MU, COV)
    table = {row[0]: row[1] for row in out}
    var = float(w @ np.array(COV) @ w)
    assert table["Variance"] == pytest.approx(var, rel=1e-15)
    assert table["Volatility"] == pytest.approx(np.sqrt(var), rel=1e-15)


@pytest.mark.parametrize(
    ("mu", "cov", "r", "expected"),
    [
        (((0.03,), (0.032,), (0.08,)), ((0, 0, 0), (0, 0, 0), (0, 0, 0.04)), 0.06, [-14, 15, 0]),
        (
            ((0.1256,), (-0.0159,)),
            ((0, 0), (0, 0)),
            0.12931,
            [(0.12931 + 0.0159) / 0.1415, (0.1256 - 0.12931) / 0.1415],
        ),
    ],
)
def test_minvar_with_riskless_arbitrage_answers(mu, cov, r, expected):
    out = call_udf("MINVAR_WEIGHTS", mu, cov, r, "none", MISSING)
    assert not isinstance(out, str), out
    w = np.array(out, dtype=float).ravel()
    np.testing.assert_allclose(w, expected, rtol=1e-14, atol=1e-14)
    assert abs(w.sum() - 1.0) <= 1e-14 * np.abs(w).sum()
    assert float(w @ np.array(mu, dtype=float).ravel()) == pytest.approx(r, abs=1e-15)
    # the same problem's objectives that reward return stay unbounded
    for name, args in (
        ("MAXSHARPE_WEIGHTS", (mu, cov, 0.0, "none")),
        ("UTILITY_WEIGHTS", (mu, cov, 3, "none")),
    ):
        assert call_udf(name, *args).startswith("#UNBOUNDED! a riskless combination of assets")


def test_utility_with_vanishing_risk_aversion_is_refused():
    out = call_udf("UTILITY_WEIGHTS", MU, COV, 1e-9, "none", MISSING)
    assert out == (
        "#UNBOUNDED! risk aversion 1e-09 is too low: the best portfolio would hold long and "
        "short positions of 2.1e+09 times the capital (in practice unbounded); use a higher "
        "risk aversion (typically 1 to 10) or limit short selling"
    )


@pytest.mark.parametrize(
    ("name", "args", "text"),
    [
        (
            "MINVAR_WEIGHTS",
            (MU, COV, 0.2000001),
            "#INFEASIBLE! r: target return 20.00001% is above the highest attainable 20% (feasible "
            "10% to 20%)",
        ),
        (
            "MINVAR_WEIGHTS",
            (MU, COV, 0.2, MISSING, 0.3333333333),
            "#INFEASIBLE! upper bounds sum to 99.99999999%, less than 100%: weights cannot add "
            "up to one; raise some maximum weights",
        ),
    ],
)
def test_messages_do_not_contradict_themselves(name, args, text):
    assert call_udf(name, *args) == text


@pytest.mark.parametrize(
    "cov",
    [
        ((1e308, 0, 0), (0, 0.09, 0.012), (0, 0.012, 0.0625)),
        ((1e308, -1e308, 0), (-1e308, 1e308, 0), (0, 0, 0.04)),
        ((1e308, 1e308, 1e308), (1e308, 1e308, 1e308), (1e308, 1e308, 1e308)),
    ],
)
def test_check_inputs_answers_on_huge_entries(cov):
    out = call_udf("CHECK_INPUTS", MU, cov)
    assert not isinstance(out, str), out
    rows = {row[0]: row for row in out}
    assert rows["overall"][1] == "ERROR"
    assert rows["cov"][2].startswith("cov has 1e+308 in row 1, column 1, too large")
    assert rows["positive semi-definite"][1] == "OK"
