"""The worksheet functions called the way Excel calls them: ``XLPython().CallUDF``.

Arguments are Excel-shaped (tuples of row tuples, ``None`` for blank cells, error codes as
COM delivers them, the VBA "missing" marker) and the answers are what the generated VBA hands
back to Excel (``CallUDF`` squeezes a 1x1 result to a scalar and a 1xN result to a flat list).
Numbers are checked against independent closed forms or scipy, not against the core itself.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _udf_harness import UDF_MODULE, call_udf
from scipy.optimize import minimize

from xlfrontier.excel import _convert as cv
from xlfrontier.excel._errors import MAX_TEXT, error_text
from xlfrontier.exceptions import (
    InfeasibleError,
    InputError,
    SolverError,
    TargetOutOfRangeError,
    UnboundedError,
)

MISSING = -2147352572  # VBA: optional argument not supplied
NA = -2146826246  # #N/A
DIV0 = -2146826281  # #DIV/0!

MU = ((0.10,), (0.20,), (0.15,))  # a 3x1 column
MU_ROW = ((0.10, 0.20, 0.15),)  # a 1x3 row
COV = ((0.04, 0.006, 0.01), (0.006, 0.09, 0.012), (0.01, 0.012, 0.0625))
MU_NP = np.array([0.10, 0.20, 0.15])
COV_NP = np.array(COV)

CATALOG = {
    "MINVAR_WEIGHTS": ["mu", "cov", "r", "lower", "upper", "constraints"],
    "GMV_WEIGHTS": ["cov", "lower", "upper", "constraints"],
    "MAXSHARPE_WEIGHTS": ["mu", "cov", "rf", "lower", "upper", "constraints"],
    "TARGETVOL_WEIGHTS": ["mu", "cov", "vol", "lower", "upper", "constraints"],
    "UTILITY_WEIGHTS": ["mu", "cov", "risk_aversion", "lower", "upper", "constraints"],
    "EFFICIENT_FRONTIER": ["mu", "cov", "points", "lower", "upper", "rf", "labels", "constraints"],
    "FRONTIER_CORNERS": ["mu", "cov", "lower", "upper", "labels", "constraints"],
    "FRONTIER_RANGE": ["mu", "cov", "lower", "upper", "constraints"],
    "GROUP_CONSTRAINTS": ["groups", "limits"],
    "PORTFOLIO_RETURN": ["w", "mu"],
    "PORTFOLIO_VOL": ["w", "cov"],
    "PORTFOLIO_SHARPE": ["w", "mu", "cov", "rf"],
    "PORTFOLIO_STATS": ["w", "mu", "cov", "rf"],
    "RISK_CONTRIBUTIONS": ["w", "cov"],
    "PORTFOLIO_EXPLAIN": ["mu", "cov", "r", "lower", "upper", "constraints"],
    "MERTON_FRONTIER": ["mu", "cov"],
}


def factor_model(n, seed=0):
    """Seeded one-factor-plus-noise problem with decimal, annual-looking numbers."""
    rng = np.random.default_rng(seed)
    beta = rng.uniform(0.5, 1.5, n)
    idio = rng.uniform(0.15, 0.35, n)
    cov = 0.04 * np.outer(beta, beta) + np.diag(idio**2)
    mu = 0.02 + 0.06 * beta + rng.normal(0, 0.01, n)
    return mu, cov


def col(v):
    return tuple((float(x),) for x in v)


def rows(m):
    return tuple(tuple(float(x) for x in r) for r in np.atleast_2d(m))


def flat(out):
    """Numbers of a CallUDF result (scalar, flat list or list of rows) as a 1-D array."""
    return np.array(out, dtype=float).ravel()


def assert_clean(values):
    for x in np.ravel(np.array(values, dtype=object)):
        if isinstance(x, float):
            assert math.isfinite(x)
            assert not (x == 0 and math.copysign(1.0, x) < 0), "negative zero in the output"


def assert_message(out, tag, *fragments):
    assert isinstance(out, str), out
    assert out.startswith(tag + " "), out
    assert len(out) <= MAX_TEXT
    assert "\n" not in out
    assert "Traceback" not in out
    for f in fragments:
        assert f in out, (f, out)


# -- reference solutions (independent of the core) -------------------------------------------


def kkt_min_variance(mu, cov, r):
    """Minimum variance with return r, budget only (no bounds): the KKT linear system."""
    n = mu.size
    k = np.zeros((n + 2, n + 2))
    k[:n, :n] = 2 * cov
    k[:n, n] = k[n, :n] = 1.0
    k[:n, n + 1] = k[n + 1, :n] = mu
    rhs = np.zeros(n + 2)
    rhs[n], rhs[n + 1] = 1.0, r
    return np.linalg.solve(k, rhs)[:n]


def slsqp(objective, n, lower, upper, constraints=(), x0=None):
    cons = [{"type": "eq", "fun": lambda w: w.sum() - 1.0}, *constraints]
    x0 = np.full(n, 1.0 / n) if x0 is None else x0
    res = minimize(
        objective,
        x0,
        method="SLSQP",
        bounds=[(lo, up) for lo, up in zip(lower, upper, strict=True)],
        constraints=cons,
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert res.success, res.message
    return res.x


# -- the catalog -----------------------------------------------------------------------------


def test_catalog_is_complete_and_declared():
    for name, args in CATALOG.items():
        f = getattr(UDF_MODULE, name)
        info = f.__xlfunc__
        assert info["name"] == name
        assert info["category"] == "xlfrontier"
        assert [a["name"] for a in info["args"]] == args
        assert list(inspect.signature(f).parameters) == args
        for a in info["args"]:
            assert a["options"] == {"convert": "raw"}, (name, a)
            assert a["doc"], (name, a)
            assert not a["doc"].startswith("Positional argument"), (name, a)
            assert len(a["doc"]) <= 255
        doc = info["ret"]["doc"]
        assert doc
        assert len(doc) <= 255
        assert "\n" not in doc.strip()
        assert name in UDF_MODULE.__all__


def test_optional_arguments_are_the_bracketed_ones():
    optional = {
        "MINVAR_WEIGHTS": {"lower", "upper", "constraints"},
        "GMV_WEIGHTS": {"lower", "upper", "constraints"},
        "MAXSHARPE_WEIGHTS": {"rf", "lower", "upper", "constraints"},
        "TARGETVOL_WEIGHTS": {"lower", "upper", "constraints"},
        "UTILITY_WEIGHTS": {"lower", "upper", "constraints"},
        "EFFICIENT_FRONTIER": {"points", "lower", "upper", "rf", "labels", "constraints"},
        "FRONTIER_CORNERS": {"lower", "upper", "labels", "constraints"},
        "FRONTIER_RANGE": {"lower", "upper", "constraints"},
        "PORTFOLIO_SHARPE": {"rf"},
        "PORTFOLIO_STATS": {"rf"},
        "PORTFOLIO_EXPLAIN": {"lower", "upper", "constraints"},
    }
    for name in CATALOG:
        args = getattr(UDF_MODULE, name).__xlfunc__["args"]
        assert {a["name"] for a in args if "optional" in a} == optional.get(name, set()), name


# -- weights ---------------------------------------------------------------------------------


def test_minvar_column_in_column_out_matches_kkt_solution():
    out = call_udf("MINVAR_WEIGHTS", MU, COV, 0.15, MISSING, MISSING)
    assert isinstance(out, list)
    assert all(isinstance(r, list) and len(r) == 1 for r in out)
    w = flat(out)
    np.testing.assert_allclose(w, kkt_min_variance(MU_NP, COV_NP, 0.15), atol=1e-12)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert_clean(out)


def test_minvar_row_in_row_out():
    out = call_udf("MINVAR_WEIGHTS", MU_ROW, COV, 0.15, MISSING, MISSING)
    # A 1xN array: CallUDF hands Excel a flat list, which spills across a row.
    assert isinstance(out, list)
    assert all(isinstance(x, float) for x in out)
    np.testing.assert_allclose(out, flat(call_udf("MINVAR_WEIGHTS", MU, COV, 0.15)), atol=0)


def test_missing_marker_blank_cell_and_python_default_agree():
    a = call_udf("MINVAR_WEIGHTS", MU, COV, 0.18, MISSING, MISSING)
    b = call_udf("MINVAR_WEIGHTS", MU, COV, 0.18, None, None)  # blank cells
    c = call_udf("MINVAR_WEIGHTS", MU, COV, 0.18)  # fewer arguments
    d = call_udf("MINVAR_WEIGHTS", MU, COV, 0.18, 0.0, "none")  # the defaults spelled out
    assert a == b == c == d


def test_long_only_binding_bound_gives_exact_zero():
    # At r = 19% the unconstrained solution shorts asset 1; long-only holds it at exactly 0.
    assert kkt_min_variance(MU_NP, COV_NP, 0.19)[0] < 0
    w = flat(call_udf("MINVAR_WEIGHTS", MU, COV, 0.19))
    assert w[0] == 0.0
    assert math.copysign(1.0, w[0]) == 1.0
    ref = slsqp(
        lambda x: x @ COV_NP @ x,
        3,
        [0] * 3,
        [None] * 3,
        [{"type": "eq", "fun": lambda x: x @ MU_NP - 0.19}],
    )
    np.testing.assert_allclose(w, ref, atol=1e-6)


@pytest.mark.parametrize("word", ["none", "NONE", " short ", "-inf", "unlimited", "no limit"])
def test_short_selling_words_for_lower(word):
    w = flat(call_udf("MINVAR_WEIGHTS", MU, COV, 0.19, word, MISSING))
    np.testing.assert_allclose(w, kkt_min_variance(MU_NP, COV_NP, 0.19), atol=1e-12)


def test_per_asset_bounds_with_blank_cells_take_the_default():
    # lower: asset 2 at least 50%, others blank (0); upper: a single cell for all.
    out = call_udf("MINVAR_WEIGHTS", MU, COV, 0.17, ((None,), (0.5,), (None,)), 0.6)
    w = flat(out)
    ref = slsqp(
        lambda x: x @ COV_NP @ x,
        3,
        [0, 0.5, 0],
        [0.6] * 3,
        [{"type": "eq", "fun": lambda x: x @ MU_NP - 0.17}],
    )
    np.testing.assert_allclose(w, ref, atol=1e-6)
    assert w[1] >= 0.5
    assert w.max() <= 0.6
    # A row of bounds works for a column of mu.
    assert call_udf("MINVAR_WEIGHTS", MU, COV, 0.17, ((None, 0.5, None),), 0.6) == out


def test_bound_at_its_limit_is_exact():
    out = flat(call_udf("MINVAR_WEIGHTS", MU, COV, 0.165, MISSING, 0.45))
    assert 0.45 in out.tolist()  # the binding upper bound, not 0.44999999999999996


def test_gmv_matches_closed_form_with_shorting_and_is_a_column():
    out = call_udf("GMV_WEIGHTS", COV, "none")
    inv1 = np.linalg.solve(COV_NP, np.ones(3))
    np.testing.assert_allclose(flat(out), inv1 / inv1.sum(), atol=1e-12)
    assert all(isinstance(r, list) and len(r) == 1 for r in out)


def test_gmv_long_only_against_slsqp():
    _mu, cov = factor_model(8, seed=3)
    out = flat(call_udf("GMV_WEIGHTS", rows(cov), MISSING, 0.2))
    ref = slsqp(lambda x: x @ cov @ x, 8, [0] * 8, [0.2] * 8)
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert out.max() <= 0.2


def test_maxsharpe_matches_tangency_closed_form():
    rf = 0.03
    out = flat(call_udf("MAXSHARPE_WEIGHTS", MU, COV, rf, "none", MISSING))
    x = np.linalg.solve(COV_NP, MU_NP - rf)
    np.testing.assert_allclose(out, x / x.sum(), atol=1e-10)
    # rf omitted means 0.
    assert call_udf("MAXSHARPE_WEIGHTS", MU, COV, MISSING) == call_udf(
        "MAXSHARPE_WEIGHTS", MU, COV, 0.0
    )


def test_maxsharpe_long_only_against_slsqp():
    mu, cov = factor_model(6, seed=5)
    w = flat(call_udf("MAXSHARPE_WEIGHTS", col(mu), rows(cov), 0.01))
    ref = slsqp(lambda x: -(x @ mu - 0.01) / np.sqrt(x @ cov @ x), 6, [0] * 6, [None] * 6)
    sharpe = (w @ mu - 0.01) / np.sqrt(w @ cov @ w)
    assert sharpe >= (ref @ mu - 0.01) / np.sqrt(ref @ cov @ ref) - 1e-9
    assert w.min() >= 0


def test_targetvol_hits_the_target_volatility():
    w = call_udf("TARGETVOL_WEIGHTS", MU, COV, 0.2)
    assert call_udf("PORTFOLIO_VOL", w, COV) == pytest.approx(0.2, rel=1e-12)
    ref = slsqp(
        lambda x: -(x @ MU_NP),
        3,
        [0] * 3,
        [None] * 3,
        [{"type": "ineq", "fun": lambda x: 0.04 - x @ COV_NP @ x}],
        x0=flat(call_udf("GMV_WEIGHTS", COV)),
    )
    assert flat(w) @ MU_NP >= ref @ MU_NP - 1e-9


def test_utility_matches_closed_form_without_bounds():
    delta = 4.0
    w = flat(call_udf("UTILITY_WEIGHTS", MU, COV, delta, "none"))
    inv1 = np.linalg.solve(COV_NP, np.ones(3))
    invmu = np.linalg.solve(COV_NP, MU_NP)
    ref = invmu / delta + inv1 * (1 - invmu.sum() / delta) / inv1.sum()
    np.testing.assert_allclose(w, ref, atol=1e-12)


def test_weights_of_a_larger_problem_sum_to_one_and_are_clean():
    mu, cov = factor_model(40, seed=1)
    r = float(np.quantile(mu, 0.8))
    out = call_udf("MINVAR_WEIGHTS", col(mu), rows(cov), r)
    w = flat(out)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w @ mu == pytest.approx(r, abs=1e-12)
    assert (w >= 0).all()
    assert (w == 0).sum() > 0
    assert_clean(out)


# -- frontier tables -------------------------------------------------------------------------


def test_efficient_frontier_table():
    rf = 0.02
    out = call_udf(
        "EFFICIENT_FRONTIER",
        MU,
        COV,
        5,
        MISSING,
        MISSING,
        rf,
        (("Bonds",), ("Equity",), ("Credit",)),
    )
    assert out[0] == ["Return", "Volatility", "Sharpe", "Bonds", "Equity", "Credit"]
    body = np.array(out[1:], dtype=float)
    assert body.shape == (5, 6)
    inv1 = np.linalg.solve(COV_NP, np.ones(3))
    gmv = inv1 / inv1.sum()  # interior here, so the long-only GMV is the closed form
    np.testing.assert_allclose(body[0, 3:], gmv, atol=1e-12)
    np.testing.assert_allclose(body[:, 0], np.linspace(gmv @ MU_NP, 0.20, 5), atol=1e-12)
    w = body[:, 3:]
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(body[:, 0], w @ MU_NP, atol=1e-12)
    np.testing.assert_allclose(
        body[:, 1], np.sqrt(np.einsum("ij,jk,ik->i", w, COV_NP, w)), atol=1e-12
    )
    np.testing.assert_allclose(body[:, 2], (body[:, 0] - rf) / body[:, 1], atol=1e-12)
    assert w[-1].tolist() == [0.0, 1.0, 0.0] or np.allclose(w[-1], [0, 1, 0], atol=1e-15)
    assert_clean(out)


def test_efficient_frontier_defaults_and_labels_as_row():
    out = call_udf("EFFICIENT_FRONTIER", MU_ROW, COV)
    assert len(out) == 1 + UDF_MODULE.DEFAULT_POINTS
    assert out[0][3:] == ["Asset 1", "Asset 2", "Asset 3"]
    labelled = call_udf(
        "EFFICIENT_FRONTIER", MU, COV, MISSING, MISSING, MISSING, MISSING, (("A", None, 2020.0),)
    )
    assert labelled[0][3:] == ["A", "Asset 2", "2020"]


def test_efficient_frontier_with_unlimited_shorting_stops_at_the_best_asset():
    out = call_udf("EFFICIENT_FRONTIER", MU, COV, 4, "none")
    body = np.array(out[1:], dtype=float)
    assert body[-1, 0] == pytest.approx(0.20, abs=1e-12)
    np.testing.assert_allclose(body[-1, 3:], kkt_min_variance(MU_NP, COV_NP, 0.20), atol=1e-10)


def test_frontier_corners_run_from_gmv_to_max_return():
    mu, cov = factor_model(7, seed=2)
    out = call_udf("FRONTIER_CORNERS", col(mu), rows(cov))
    assert out[0][:3] == ["Return", "Volatility", "Sharpe"]
    assert len(out[0]) == 10
    body = np.array(out[1:], dtype=float)
    gmv = flat(call_udf("GMV_WEIGHTS", rows(cov)))
    np.testing.assert_allclose(body[0, 3:], gmv, atol=1e-12)
    last = np.zeros(7)
    last[np.argmax(mu)] = 1.0
    np.testing.assert_allclose(body[-1, 3:], last, atol=1e-12)
    assert (np.diff(body[:, 0]) > 0).all()
    assert (np.diff(body[:, 1]) > 0).all()
    # Each corner is itself the minimum-variance portfolio at its return.
    for row in body[1:-1]:
        w = flat(call_udf("MINVAR_WEIGHTS", col(mu), rows(cov), row[0]))
        np.testing.assert_allclose(w, row[3:], atol=1e-9)
    assert_clean(out)


def test_frontier_range():
    out = call_udf("FRONTIER_RANGE", MU, COV)
    assert out[0] == ["", "Return", "Volatility"]
    inv1 = np.linalg.solve(COV_NP, np.ones(3))
    assert out[1][1] == pytest.approx(inv1 @ MU_NP / inv1.sum(), abs=1e-14)
    assert out[1][2] == pytest.approx(np.sqrt(1 / inv1.sum()), abs=1e-14)
    assert out[2][1:] == [pytest.approx(0.2, abs=1e-14), pytest.approx(0.3, abs=1e-14)]
    unbounded = call_udf("FRONTIER_RANGE", MU, COV, "none")
    assert unbounded[2][1:] == ["unbounded", "unbounded"]


# -- statistics of a given portfolio ---------------------------------------------------------

W_ROW = ((0.3, 0.3, 0.4),)
W_NP = np.array([0.3, 0.3, 0.4])


def test_portfolio_scalars_accept_rows_and_columns():
    ret = W_NP @ MU_NP
    vol = np.sqrt(W_NP @ COV_NP @ W_NP)
    for w in (W_ROW, col(W_NP)):
        for mu in (MU, MU_ROW):
            assert call_udf("PORTFOLIO_RETURN", w, mu) == pytest.approx(ret, abs=1e-15)
            assert call_udf("PORTFOLIO_SHARPE", w, mu, COV, 0.01) == pytest.approx(
                (ret - 0.01) / vol, abs=1e-14
            )
        assert call_udf("PORTFOLIO_VOL", w, COV) == pytest.approx(vol, abs=1e-15)
    assert call_udf("PORTFOLIO_SHARPE", W_ROW, MU, COV) == pytest.approx(ret / vol, abs=1e-14)


def test_portfolio_stats_table():
    out = call_udf("PORTFOLIO_STATS", ((0.5, 0.0, 0.5),), MU, COV, 0.02)
    w = np.array([0.5, 0.0, 0.5])
    var = w @ COV_NP @ w
    assert [r[0] for r in out] == [
        "Return",
        "Volatility",
        "Variance",
        "Sharpe ratio",
        "Sum of weights",
        "Holdings",
    ]
    values = dict(out)
    assert values["Return"] == pytest.approx(0.125, abs=1e-15)
    assert values["Variance"] == pytest.approx(var, abs=1e-15)
    assert values["Volatility"] == pytest.approx(np.sqrt(var), abs=1e-15)
    assert values["Sharpe ratio"] == pytest.approx((0.125 - 0.02) / np.sqrt(var), abs=1e-14)
    assert values["Sum of weights"] == 1.0
    assert values["Holdings"] == 2


def test_risk_contributions_follow_w_orientation_and_sum_to_one():
    out_row = call_udf("RISK_CONTRIBUTIONS", W_ROW, COV)
    out_col = call_udf("RISK_CONTRIBUTIONS", col(W_NP), COV)
    assert isinstance(out_row[0], float)
    assert isinstance(out_col[0], list)
    ref = W_NP * (COV_NP @ W_NP) / (W_NP @ COV_NP @ W_NP)
    np.testing.assert_allclose(out_row, ref, atol=1e-15)
    np.testing.assert_allclose(flat(out_col), ref, atol=1e-15)
    zero = flat(call_udf("RISK_CONTRIBUTIONS", ((0.5, 0.0, 0.5),), COV))
    assert zero[1] == 0.0
    assert math.copysign(1.0, zero[1]) == 1.0


# -- explanations ----------------------------------------------------------------------------


def test_portfolio_explain_reports_binding_bounds_and_shadow_prices():
    upper = 0.45
    out = call_udf("PORTFOLIO_EXPLAIN", MU, COV, 0.165, MISSING, upper)
    assert len({len(r) for r in out}) == 1  # rectangular
    summary = {r[0]: r[1] for r in out[:12]}
    assert summary["Status"] == "optimal"
    assert summary["Target return"] == 0.165
    assert summary["Expected return"] == pytest.approx(0.165, abs=1e-14)
    assert summary["Certified optimal (residuals ≤ 1e-9)"] == "yes"
    header = out.index(["Asset", "Weight", "Lower", "Upper", "Binding bound", "Bound shadow price"])
    assets = out[header + 1 :]
    assert len(assets) == 3
    w = np.array([a[1] for a in assets])
    np.testing.assert_allclose(
        w, flat(call_udf("MINVAR_WEIGHTS", MU, COV, 0.165, MISSING, upper)), atol=0
    )
    for _name, weight, lo, up, binding, z in assets:
        assert lo == 0.0
        assert up == upper
        if binding == "upper":
            assert weight == upper
            assert z < 0
        elif binding == "lower":
            assert weight == 0.0
            assert z > 0
        else:
            assert lo < weight < up
            assert z == 0.0
    assert "upper" in [a[4] for a in assets]
    # The return shadow price is dσ²/dr of the frontier: check by finite differences.
    h = 1e-6
    var = [
        call_udf("PORTFOLIO_EXPLAIN", MU, COV, r, MISSING, upper)[5][1]
        for r in (0.165 - h, 0.165 + h)
    ]
    eta = summary["Return shadow price η (Δ variance per unit of return)"]
    assert eta == pytest.approx((var[1] - var[0]) / (2 * h), rel=1e-5)


def test_portfolio_explain_shows_unlimited_bounds_as_none():
    out = call_udf("PORTFOLIO_EXPLAIN", MU, COV, 0.15, "none", MISSING)
    assets = out[-3:]
    assert all(a[2] == "none" and a[3] == "none" for a in assets)


def test_merton_frontier_constants_and_formula():
    out = dict(call_udf("MERTON_FRONTIER", MU, COV))
    inv = np.linalg.inv(COV_NP)
    a, b, c = inv.sum(), (inv @ MU_NP).sum(), MU_NP @ inv @ MU_NP
    d = a * c - b * b
    assert out["A = 1ᵀΣ⁻¹1"] == pytest.approx(a, rel=1e-12)
    assert out["B = 1ᵀΣ⁻¹μ"] == pytest.approx(b, rel=1e-12)
    assert out["C = μᵀΣ⁻¹μ"] == pytest.approx(c, rel=1e-12)
    assert out["D = AC − B²"] == pytest.approx(d, rel=1e-10)
    assert out["Minimum-variance return B/A"] == pytest.approx(b / a, rel=1e-12)
    # σ²(r) from the published parameters equals the variance of the shorting-allowed optimum.
    r = 0.3
    var = (
        out["variance(r): coefficient of r², A/D"] * r * r
        + out["variance(r): coefficient of r, −2B/D"] * r
        + out["variance(r): constant, C/D"]
    )
    w = call_udf("MINVAR_WEIGHTS", MU, COV, r, "none")
    assert call_udf("PORTFOLIO_VOL", w, COV) ** 2 == pytest.approx(var, rel=1e-10)


def test_merton_frontier_with_equal_returns_is_labelled_undefined():
    out = dict(call_udf("MERTON_FRONTIER", ((0.1,), (0.1,), (0.1,)), COV))
    assert out["variance(r): constant, C/D"].startswith("undefined")


# -- bad input: one short message, never a crash ---------------------------------------------

BAD_INPUTS = [
    # (function, args, tag, fragments)
    (
        "MINVAR_WEIGHTS",
        (((0.1,), (None,), (0.15,)), COV, 0.15),
        "#INPUT!",
        ["mu has a blank cell in row 2"],
    ),
    (
        "MINVAR_WEIGHTS",
        (((0.1,), ("n/a",), (0.15,)), COV, 0.15),
        "#INPUT!",
        ['mu has the text "n/a" in row 2'],
    ),
    (
        "MINVAR_WEIGHTS",
        (((0.1, NA, 0.15),), COV, 0.15),
        "#INPUT!",
        ["mu has the error #N/A in column 2"],
    ),
    (
        "MINVAR_WEIGHTS",
        (MU, ((0.04, 0.006, 0.01), (0.006, DIV0, 0.012), (0.01, 0.012, 0.06)), 0.15),
        "#INPUT!",
        ["cov has the error #DIV/0! in row 2, column 2"],
    ),
    (
        "MINVAR_WEIGHTS",
        (((0.1,), (True,), (0.15,)), COV, 0.15),
        "#INPUT!",
        ["mu has the logical value TRUE in row 2"],
    ),
    (
        "MINVAR_WEIGHTS",
        (((0.1,), (dt.datetime(2024, 1, 31),), (0.15,)), COV, 0.15),
        "#INPUT!",
        ["mu has a date in row 2"],
    ),
    (
        "MINVAR_WEIGHTS",
        (COV, COV, 0.15),
        "#INPUT!",
        ["mu must be a single row or column, got 3 rows x 3 columns"],
    ),
    (
        "MINVAR_WEIGHTS",
        (MU, ((0.04, 0.006), (0.006, 0.09), (0.01, 0.012)), 0.15),
        "#INPUT!",
        ["cov must be a square range", "3 rows x 2 columns"],
    ),
    (
        "MINVAR_WEIGHTS",
        (((0.1,), (0.2,)), COV, 0.15),
        "#INPUT!",
        ["cov is 3x3 but there are 2 assets"],
    ),
    (
        "MINVAR_WEIGHTS",
        (MU, ((0.04, 0.006, 0.01), (0.006, 0.09, 0.012), (0.01, 0.02, 0.0625)), 0.15),
        "#INPUT!",
        ["cov is not symmetric", "row 2, column 3"],
    ),
    (
        "MINVAR_WEIGHTS",
        (MU, ((0.04, 0.06, 0.0), (0.06, 0.04, 0.0), (0.0, 0.0, 0.04)), 0.15),
        "#INPUT!",
        ["cov", "not positive semi-definite", "smallest eigenvalue -0.02", "NEAREST_PSD"],
    ),
    (
        "MINVAR_WEIGHTS",
        (MU, COV, 0.35),
        "#INFEASIBLE!",
        ["r: target return 35% is above the highest attainable 20%", "10%", "20%"],
    ),
    (
        "MINVAR_WEIGHTS",
        (MU, COV, 0.05),
        "#INFEASIBLE!",
        ["r: target return 5% is below the lowest attainable 10%"],
    ),
    ("MINVAR_WEIGHTS", (MU, COV, ((0.1, 0.2),)), "#INPUT!", ["r must be a single cell"]),
    ("MINVAR_WEIGHTS", (MU, COV, "8%"), "#INPUT!", ['r is the text "8%"']),
    ("MINVAR_WEIGHTS", (MU, COV, None), "#INPUT!", ["r is missing"]),
    ("MINVAR_WEIGHTS", (MU, COV, 0.15, MISSING, 0.2), "#INFEASIBLE!", ["upper bounds sum to 60%"]),
    ("MINVAR_WEIGHTS", (MU, COV, 0.15, 0.4), "#INFEASIBLE!", ["lower bounds sum to 120%"]),
    ("MINVAR_WEIGHTS", (MU, COV, 0.15, "lots"), "#INPUT!", ['lower has the text "lots"', '"none"']),
    (
        "MINVAR_WEIGHTS",
        (MU, COV, 0.15, MISSING, ((0.5,), (0.5,))),
        "#INPUT!",
        ["upper has 2 values but there are 3 assets"],
    ),
    (
        "MINVAR_WEIGHTS",
        (MU, COV, 0.15, MISSING, 30.0),
        "#INPUT!",
        ["upper has 30, which is 3000%", "0.3 or 30%"],
    ),
    ("MINVAR_WEIGHTS", (MU, COV, 0.15, 5.0), "#INPUT!", ["lower has 5, which is 500%"]),
    (
        "MINVAR_WEIGHTS",
        (((8.0,), (20.0,), (15.0,)), COV, 15.0),
        "#INPUT!",
        ["mu has 20 (2000%)", "percentages", "0.08"],
    ),
    ("MINVAR_WEIGHTS", (MU, COV, 15.0), "#INPUT!", ["r = 15 is 1500%", "percentage"]),
    (
        "MINVAR_WEIGHTS",
        (MU, tuple(tuple(x * 1e4 for x in r) for r in COV), 0.15),
        "#INPUT!",
        ["cov has a variance of 900", "percent units"],
    ),
    ("MAXSHARPE_WEIGHTS", (MU, COV, 3.0), "#INPUT!", ["rf = 3 is 300%"]),
    (
        "MAXSHARPE_WEIGHTS",
        (MU, COV, 0.25),
        "#INFEASIBLE!",
        ["rf:", "no portfolio earns more than the risk-free rate 25%"],
    ),
    (
        "TARGETVOL_WEIGHTS",
        (MU, COV, 0.1),
        "#INFEASIBLE!",
        ["vol: target volatility 10% is below the lowest attainable 15.75%"],
    ),
    ("TARGETVOL_WEIGHTS", (MU, COV, 20.0), "#INPUT!", ["vol = 20 is 2000%"]),
    (
        "MAXSHARPE_WEIGHTS",
        (MU, COV, 0.19, "none"),
        "#UNBOUNDED!",
        ["maximum Sharpe ratio is not attained", "rf 19%"],
    ),
    ("UTILITY_WEIGHTS", (MU, COV, 0.0), "#INPUT!", ["risk_aversion", "must be positive"]),
    ("UTILITY_WEIGHTS", (MU, COV, "high"), "#INPUT!", ['risk_aversion is the text "high"']),
    ("EFFICIENT_FRONTIER", (MU, COV, 2.5), "#INPUT!", ["points must be a whole number"]),
    ("EFFICIENT_FRONTIER", (MU, COV, 1.0), "#INPUT!", ["points must be between 2 and 1,000"]),
    ("EFFICIENT_FRONTIER", (MU, COV, 5000.0), "#INPUT!", ["points must be between 2 and 1,000"]),
    (
        "EFFICIENT_FRONTIER",
        (MU, COV, MISSING, MISSING, MISSING, MISSING, (("a",), ("b",))),
        "#INPUT!",
        ["labels has 2 names but there are 3 assets"],
    ),
    (
        "FRONTIER_CORNERS",
        (MU, COV, MISSING, MISSING, (("a", NA, "c"),)),
        "#INPUT!",
        ["labels has the error #N/A"],
    ),
    ("GMV_WEIGHTS", (((0.04, 0.01),),), "#INPUT!", ["cov must be a square range"]),
    (
        "PORTFOLIO_RETURN",
        (W_ROW, ((0.1,), (0.2,))),
        "#INPUT!",
        ["mu has 2 values but there are 3 assets"],
    ),
    ("PORTFOLIO_VOL", (((0.5, None, 0.5),), COV), "#INPUT!", ["w has a blank cell in column 2"]),
    ("PORTFOLIO_SHARPE", (((0.0, 0.0, 0.0),), MU, COV), "#INPUT!", ["w", "zero volatility"]),
    ("RISK_CONTRIBUTIONS", (((0.0, 0.0, 0.0),), COV), "#INPUT!", ["w", "zero variance"]),
    ("PORTFOLIO_STATS", (W_ROW, MU, ((0.04,),)), "#INPUT!", ["cov is 1x1 but there are 3"]),
    (
        "MERTON_FRONTIER",
        (((0.1,), (0.2,)), ((0.04, 0.04), (0.04, 0.04))),
        "#INPUT!",
        ["cov is singular"],
    ),
    (
        "MINVAR_WEIGHTS",
        (tuple((0.05,) for _ in range(cv.MAX_ASSETS + 1)), COV, 0.05),
        "#INPUT!",
        ["mu has 1,001 assets, more than the 1,000 supported"],
    ),
    (
        "GMV_WEIGHTS",
        (((0.0,) * 1001,) * 1001,),
        "#INPUT!",
        ["cov has 1,001 rows or columns, more than the 1,000 assets supported"],
    ),
    (
        "MINVAR_WEIGHTS",
        (((0.0,) * 1000,) * 5001, COV, 0.15),
        "#INPUT!",
        ["mu has 5,001,000 cells, more than the 5,000,000 allowed"],
    ),
    (
        "MINVAR_WEIGHTS",
        (((0.1,), (1e12,), (0.15,)), COV, 0.15),
        "#INPUT!",
        ["mu has 1e+12 in row 2, too large"],
    ),
]


@pytest.mark.parametrize(
    ("name", "args", "tag", "fragments"),
    BAD_INPUTS,
    ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_INPUTS)],
)
def test_bad_input_gives_one_short_message(name, args, tag, fragments):
    assert_message(call_udf(name, *args), tag, *fragments)


def test_every_function_reports_missing_required_arguments():
    for name, args in CATALOG.items():
        f = getattr(UDF_MODULE, name)
        required = [
            a for a in args if inspect.signature(f).parameters[a].default is inspect.Parameter.empty
        ]
        out = call_udf(name, *([None] * len(required)))
        assert_message(out, "#INPUT!", f"{required[0]} is missing")


def test_unexpected_exception_is_a_short_bug_text_not_a_traceback(monkeypatch):
    def boom(*args, **kwargs):
        return 1 / 0

    monkeypatch.setattr(UDF_MODULE, "min_variance", boom)
    out = call_udf("MINVAR_WEIGHTS", MU, COV, 0.15)
    assert_message(
        out, "#BUG!", "internal error in MINVAR_WEIGHTS", "ZeroDivisionError", "please report"
    )
    monkeypatch.setattr(
        UDF_MODULE,
        "min_variance",
        lambda *a, **k: (_ for _ in ()).throw(SolverError("cycling\n" + "x" * 400)),
    )
    assert_message(call_udf("MINVAR_WEIGHTS", MU, COV, 0.15), "#BUG!", "solver failure")


# -- the pieces ------------------------------------------------------------------------------


def test_error_text_tags_and_length():
    assert error_text(InputError("mu has a blank cell", "mu")) == "#INPUT! mu has a blank cell"
    assert (
        error_text(InputError("must be a number", "target_return")) == "#INPUT! r: must be a number"
    )
    assert error_text(InputError("weights has 2 values", "weights")) == "#INPUT! w has 2 values"
    assert error_text(InfeasibleError("bounds", "upper")).startswith("#INFEASIBLE! upper:")
    t = TargetOutOfRangeError(
        "target return 35% is above", "return", 0.35, (0.1, 0.2), "target_return"
    )
    assert error_text(t) == "#INFEASIBLE! r: target return 35% is above"
    assert error_text(UnboundedError("keeps rising")) == "#UNBOUNDED! keeps rising"
    long = error_text(InputError("x " * 400, "mu"))
    assert len(long) <= MAX_TEXT
    assert long.endswith("…")
    assert error_text(MemoryError()).startswith("#INPUT! not enough memory")


def test_excel_error_codes_are_recognised():
    codes = {
        -2146826281: "#DIV/0!",
        -2146826246: "#N/A",
        -2146826259: "#NAME?",
        -2146826288: "#NULL!",
        -2146826252: "#NUM!",
        -2146826265: "#REF!",
        -2146826273: "#VALUE!",
    }
    for code, text in codes.items():
        assert cv.excel_error_name(code) == text
    assert cv.excel_error_name(-2146828288 + 2045) == "#SPILL!"
    assert cv.excel_error_name(-2146828288 + 2099) == "#ERROR 2099"  # a future error value
    assert cv.excel_error_name(5) is None
    assert cv.excel_error_name(-1.0) is None
    assert cv.is_missing(MISSING)
    assert cv.is_missing(None)
    assert cv.is_missing("  ")
    assert not cv.is_missing(0.0)
    assert not cv.is_missing(0)


def test_clean_outputs():
    assert math.copysign(1.0, cv.clean(-0.0)) == 1.0
    assert cv.clean(float("nan")) == ""
    assert cv.clean(float("inf")) == "unbounded"
    w = cv.clean_weights(np.array([1e-17, -3e-18, 0.3 - 1e-16, 0.7]), np.zeros(4), np.full(4, 0.3))
    assert w.tolist() == [0.0, 0.0, 0.3, 0.7]
    assert math.copysign(1.0, w[1]) == 1.0


def test_udfs_work_as_plain_python_functions():
    via_excel = call_udf("MINVAR_WEIGHTS", MU, COV, 0.15)
    assert UDF_MODULE.MINVAR_WEIGHTS(MU_NP, COV_NP, 0.15) == via_excel
    assert UDF_MODULE.MINVAR_WEIGHTS(MU_NP.tolist(), COV_NP.tolist(), 0.15) == via_excel
    assert UDF_MODULE.MINVAR_WEIGHTS(MU_NP.reshape(1, 3), COV_NP, 0.15) == [
        flat(via_excel).tolist()
    ]
    assert UDF_MODULE.PORTFOLIO_VOL(W_NP, COV_NP) == call_udf("PORTFOLIO_VOL", W_ROW, COV)
    assert UDF_MODULE.MINVAR_WEIGHTS(MU_NP, COV_NP, 0.35).startswith("#INFEASIBLE!")
    assert (
        UDF_MODULE.MINVAR_WEIGHTS(np.array([0.1, np.nan, 0.2]), COV_NP, 0.15)
        == "#INPUT! mu has a blank or missing value in row 2: every cell must hold a number "
        "(decimals: 8% = 0.08)"
    )


# -- inputs from data (issue 6) --------------------------------------------------------------

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

PRICES = ((100.0, 50.0), (101.0, None), (99.0, 51.0), (102.0, 52.0), (103.0, 51.5))


def excel_table(df):
    """A DataFrame as COM delivers a range of it: rows of floats, None for blank cells."""
    return tuple(tuple(None if np.isnan(x) else float(x) for x in row) for row in df.to_numpy())


def test_returns_span_gaps_and_leave_blanks():
    out = call_udf("RETURNS", PRICES)
    assert out[0] == [pytest.approx(0.01), ""]  # no price on day 2 for asset 2: blank
    assert out[1] == [pytest.approx(99 / 101 - 1), pytest.approx(51 / 50 - 1)]  # spans the gap
    assert len(out) == 4
    logs = call_udf("RETURNS", ((100.0,), (110.0,), (99.0,)), "log")
    np.testing.assert_allclose(flat(logs), np.diff(np.log([100, 110, 99])), rtol=1e-13)


def test_mean_returns_is_a_row_and_matches_pandas():
    rng = np.random.default_rng(7)
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (300, 4)), axis=0)))
    out = call_udf("MEAN_RETURNS", excel_table(prices), 52)
    assert isinstance(out, list)
    assert all(isinstance(x, float) for x in out)  # one row: a flat list from CallUDF
    ref = prices.pct_change().mean() * 52
    np.testing.assert_allclose(out, ref.to_numpy(), rtol=1e-12)
    geo = call_udf("MEAN_RETURNS", excel_table(prices), MISSING, "geometric")
    years = 299 / 252
    ref_geo = (prices.iloc[-1] / prices.iloc[0]) ** (1 / years) - 1
    np.testing.assert_allclose(geo, ref_geo.to_numpy(), rtol=1e-12)


def test_cov_and_corr_matrix_match_pandas_on_real_prices_with_late_listings():
    path = DATA_DIR / "pypfopt_stock_prices.csv.gz"
    df = pd.read_csv(path, index_col=0).iloc[:, :8]  # GOOG, FB, BABA list years later
    table = excel_table(df)
    rets = df.pct_change(fill_method=None)
    cov = np.array(call_udf("COV_MATRIX", table), dtype=float)
    np.testing.assert_allclose(cov, rets.cov().to_numpy() * 252, rtol=1e-10)
    # Correlations of that covariance (each asset's variance from its whole history).
    corr = np.array(call_udf("CORR_MATRIX", table), dtype=float)
    sd = np.sqrt(np.diag(rets.cov().to_numpy()))
    np.testing.assert_allclose(corr, rets.cov().to_numpy() / np.outer(sd, sd), atol=1e-12)
    monthly = np.array(
        call_udf("COV_MATRIX", excel_table(rets.iloc[1:]), 12, "sample", MISSING, True), dtype=float
    )
    np.testing.assert_allclose(monthly, rets.cov().to_numpy() * 12, rtol=1e-10)


def test_cov_from_corr_and_back():
    corr = ((1.0, 0.3, -0.2), (0.3, 1.0, 0.5), (-0.2, 0.5, 1.0))
    vols = ((0.1, 0.2, 0.3),)
    cov = np.array(call_udf("COV_FROM_CORR", corr, vols), dtype=float)
    v = np.array(vols[0])
    np.testing.assert_allclose(cov, np.array(corr) * np.outer(v, v), rtol=1e-15)
    back = np.array(call_udf("CORR_FROM_COV", rows(cov)), dtype=float)
    np.testing.assert_allclose(back, corr, atol=1e-15)


def test_nearest_psd_repairs_and_reports():
    bad = ((1.0, 0.9, -0.9), (0.9, 1.0, 0.9), (-0.9, 0.9, 1.0))
    fixed = np.array(call_udf("NEAREST_PSD", bad), dtype=float)
    assert np.linalg.eigvalsh(fixed).min() >= -1e-12
    np.testing.assert_allclose(fixed, fixed.T, atol=0)
    np.testing.assert_allclose(np.diag(fixed), 1.0, atol=1e-15)
    # Closer than clipping the eigenvalues and rescaling to a unit diagonal.
    e, q = np.linalg.eigh(np.array(bad))
    clipped = q @ np.diag(np.maximum(e, 0)) @ q.T
    d = np.sqrt(np.diag(clipped))
    clipped = clipped / np.outer(d, d)
    assert np.linalg.norm(fixed - bad) <= np.linalg.norm(clipped - bad) + 1e-12
    report = dict(call_udf("NEAREST_PSD", bad, MISSING, True))
    assert report["Repaired"] == "yes"
    assert report["Smallest eigenvalue before"] == pytest.approx(-0.8)
    assert report["Frobenius distance"] == pytest.approx(np.linalg.norm(fixed - bad))
    assert dict(call_udf("NEAREST_PSD", COV, MISSING, True))["Repaired"].startswith("no")
    np.testing.assert_allclose(np.array(call_udf("NEAREST_PSD", COV)), COV_NP, atol=0)


def test_check_inputs_report():
    out = call_udf("CHECK_INPUTS", MU, COV)
    assert out[0] == ["Check", "Status", "Detail"]
    assert out[1][:2] == ["overall", "OK"]
    checks = {r[0]: r[1:] for r in out[2:]}
    assert checks["positive semi-definite"][0] == "OK"
    assert checks["bounds"][0] == "OK"
    bad = call_udf(
        "CHECK_INPUTS", ((8.0,), ("x",), (15.0,)), ((0.04, 0.06), (0.06, 0.04)), "none", "abc"
    )
    assert bad[1][:2] == ["overall", "ERROR"]
    checks = {r[0]: r[1:] for r in bad[2:]}
    assert checks["mu"] == [
        "ERROR",
        'mu has the text "x" in row 2: every cell must hold a number (decimals: 8% = 0.08)',
    ]
    assert checks["bounds"][0] == "ERROR"
    assert 'upper has the text "abc"' in checks["bounds"][1]
    assert checks["positive semi-definite"][0] == "ERROR"


ESTIMATION_BAD_INPUTS = [
    (
        "RETURNS",
        ((("Date", "AAPL"), (1.0, 100.0), (2.0, 101.0)),),
        "#INPUT!",
        ['prices has the text "Date" in row 1, column 1', "no header row"],
    ),
    (
        "RETURNS",
        (((dt.datetime(2024, 1, 2), 100.0), (dt.datetime(2024, 1, 3), 101.0)),),
        "#INPUT!",
        ["prices has a date in row 1, column 1"],
    ),
    ("RETURNS", (((100.0,), (NA,)),), "#INPUT!", ["prices has the error #N/A in row 2"]),
    ("RETURNS", (((100.0,), (0.0,)),), "#INPUT!", ["zero or negative price"]),
    ("RETURNS", (PRICES, "weird"), "#INPUT!", ['method "weird" is not known']),
    ("RETURNS", (PRICES, 3.0), "#INPUT!", ["method is the number 3"]),
    ("MEAN_RETURNS", (PRICES, 0.0), "#INPUT!", ["periods_per_year must be a positive number"]),
    (
        "MEAN_RETURNS",
        (PRICES, MISSING, MISSING, MISSING, "yes"),
        "#INPUT!",
        ['is_returns is the text "yes": give TRUE or FALSE'],
    ),
    ("COV_MATRIX", (((100.0, 50.0), (101.0, 51.0)),), "#INPUT!", ["column 1 of prices has 2"]),
    ("COV_MATRIX", (PRICES, MISSING, "ewma", 1.0), "#INPUT!", ["span must be more than 1"]),
    (
        "COV_FROM_CORR",
        (((1.0, 0.5), (0.5, 1.0)), ((20.0, 30.0),)),
        "#INPUT!",
        ["vols has 30, which is 3000%"],
    ),
    (
        "COV_FROM_CORR",
        (((1.0, 0.5), (0.5, 1.0)), ((0.2, 0.3, 0.1),)),
        "#INPUT!",
        ["corr is 2x2 but there are 3 assets"],
    ),
    ("CORR_FROM_COV", (((0.04, 0.0), (0.0, 0.0)),), "#INPUT!", ["cov has zero variance"]),
    ("NEAREST_PSD", (COV, "tiny"), "#INPUT!", ['min_eigenvalue is the text "tiny"']),
]


@pytest.mark.parametrize(
    ("name", "args", "tag", "fragments"),
    ESTIMATION_BAD_INPUTS,
    ids=[f"{b[0]}-{i}" for i, b in enumerate(ESTIMATION_BAD_INPUTS)],
)
def test_estimation_bad_input_gives_one_short_message(name, args, tag, fragments):
    assert_message(call_udf(name, *args), tag, *fragments)
