"""Worksheet functions on a degenerate frontier: ties at the GMV vertex (issue 17, item 8).

Long-only with every cap at 50%, a rank-4 covariance with two riskless assets: the frontier
tracer used to cycle and every frontier function answered ``#BUG! … (cycling)``. The answers
are checked against cvxpy + Clarabel, not against the core.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import call_udf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from _reference import (
    Case,
    ClarabelFrontier,
    clarabel_max_sharpe,
    clarabel_min_variance,
    rel_diff,
)
from _tie_cases import ISSUE_COV, ISSUE_MU

MU = tuple((float(x),) for x in ISSUE_MU)
COV = tuple(tuple(float(x) for x in r) for r in ISSUE_COV)
CASE = Case(ISSUE_MU, ISSUE_COV, np.zeros(8), np.full(8, 0.5), "issue 17 item 8", pd=False)


def _weights(out) -> np.ndarray:
    assert not isinstance(out, str), out
    w = np.array(out, dtype=float).ravel()
    assert w.size == 8
    assert abs(w.sum() - 1.0) <= 1e-12
    assert w.min() >= 0.0
    assert w.max() <= 0.5
    return w


def _variance(w: np.ndarray) -> float:
    return float(w @ ISSUE_COV @ w)


def _close_to_reference(v: float, v_ref: float) -> None:
    """Not worse than Clarabel, and equal to its accuracy (1e-8) where the variance is not 0."""
    assert v <= v_ref + 1e-8 * max(v, v_ref) + 1e-14
    if v_ref > 1e-4:
        assert rel_diff(v, v_ref) <= 1e-8


@pytest.mark.parametrize("r", [0.12, 0.2, 0.25])
def test_minvar_weights(r):
    w = _weights(call_udf("MINVAR_WEIGHTS", MU, COV, r, 0, 0.5))
    assert float(w @ ISSUE_MU) == pytest.approx(r, abs=1e-13)
    _close_to_reference(_variance(w), clarabel_min_variance(CASE, r).variance)


def test_maxsharpe_weights():
    rf = 0.2  # above every riskless portfolio's return, so the ratio is finite
    w = _weights(call_udf("MAXSHARPE_WEIGHTS", MU, COV, rf, 0, 0.5))
    ref = clarabel_max_sharpe(CASE, rf).weights
    got = (float(w @ ISSUE_MU) - rf) / np.sqrt(_variance(w))
    best = (float(ref @ ISSUE_MU) - rf) / np.sqrt(_variance(ref))
    assert got >= best - 1e-8 * abs(best)
    assert got == pytest.approx(best, rel=1e-7)


def test_frontier_range():
    out = call_udf("FRONTIER_RANGE", MU, COV, 0, 0.5)
    assert not isinstance(out, str), out
    assert out[0] == ["", "Return", "Volatility"]
    (_, r_lo, v_lo), (_, r_hi, v_hi) = out[1], out[2]
    assert v_lo == pytest.approx(0.0, abs=1e-9)  # the two riskless assets at 50% each
    # the highest-return portfolio within the caps: the two best assets at 50%
    assert r_hi == pytest.approx(0.5 * (0.2591 + 0.253), rel=1e-14)
    assert v_hi**2 == pytest.approx(_variance(np.array([0.5, 0, 0, 0, 0, 0, 0.5, 0])), rel=1e-12)
    # the lowest: the best return among the riskless portfolios, checked by Clarabel at the
    # same return (variance 0) and a little above it (variance > 0)
    assert clarabel_min_variance(CASE, r_lo).variance <= 1e-12
    assert clarabel_min_variance(CASE, r_lo + 0.01).variance > 1e-8


def test_efficient_frontier_rows():
    out = call_udf("EFFICIENT_FRONTIER", MU, COV, 12, 0, 0.5)
    assert not isinstance(out, str), out
    assert out[0][:3] == ["Return", "Volatility", "Sharpe"]
    ref = ClarabelFrontier(CASE)
    for row in out[1:]:
        r, vol, w = row[0], row[1], _weights(row[3:])
        assert float(w @ ISSUE_MU) == pytest.approx(r, abs=1e-13)
        assert vol**2 == pytest.approx(_variance(w), rel=1e-12, abs=1e-15)
        _close_to_reference(_variance(w), ref.at_return(r).variance)


def test_frontier_corners():
    out = call_udf("FRONTIER_CORNERS", MU, COV, 0, 0.5)
    assert not isinstance(out, str), out
    ref = ClarabelFrontier(CASE)
    returns = [row[0] for row in out[1:]]
    assert np.all(np.diff(returns) > 0)
    assert len(returns) >= 3
    for row in out[1:]:
        w = _weights(row[3:])
        _close_to_reference(_variance(w), ref.at_return(row[0]).variance)
