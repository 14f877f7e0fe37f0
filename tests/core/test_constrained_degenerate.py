"""Degenerate constrained problems (issue 11, item 2): the frontier stays exact, no cycling.

Families (``_reference.constrained_case``): rows that never bind, duplicated rows, rows
linearly dependent on each other or on the budget, a group of every asset, groups of one
asset, an all-zero row, groups with tied limits, a rank-deficient Σ and a riskless asset with
groups, and integer-grid problems with group limits on the grid built to make an active-set
method meet several events at once (the constrained twin of ``test_degenerate_ties``). Each
problem goes through every objective and the whole frontier (``check_case``): certificates
with the row multipliers, corners against single solves, the polished reference where it
certifies and Clarabel (one-sided) where it does not.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import DEGENERATE_KINDS, ConsCase, check_constrained, constrained_case
from test_constrained import BOUNDS, ENGINE, budget, check_case

import xlfrontier
from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.exceptions import InfeasibleError

pytestmark = pytest.mark.skipif(
    not ENGINE, reason="the constrained engine (issue 11, constraints=) has not landed yet"
)
SIZES = (2, 3, 4, 6, 9, 12, 20, 30)


@pytest.mark.parametrize("kind", [k for k in DEGENERATE_KINDS if k != "ties"])
def test_degenerate_families(kind):
    for seed in range(budget(100)):
        case = constrained_case(seed, SIZES[seed % len(SIZES)], kind, BOUNDS[seed % len(BOUNDS)])
        check_case(case, reference=seed % 2 == 0)


@pytest.mark.parametrize("block", range(4))
def test_tie_problems_never_cycle(block):
    """Integer-grid data, repeated assets, riskless assets, group caps of 0.25/0.5 for all."""
    per = budget(250)
    for seed in range(block * per, (block + 1) * per):
        case = constrained_case(seed, 0, "ties")
        check_case(case, reference=seed % 5 == 0)


def _case(mu, cov, lo, up, a, c_lo, c_hi, names, label) -> ConsCase:
    return ConsCase(
        np.asarray(mu, float),
        np.asarray(cov, float),
        np.asarray(lo, float),
        np.asarray(up, float),
        label,
        False,
        {},
        np.asarray(a, float),
        np.asarray(c_lo, float),
        np.asarray(c_hi, float),
        tuple(names),
    )


MU4 = np.array([0.04, 0.07, 0.10, 0.13])
COV4 = np.array(
    [
        [0.010, 0.002, 0.001, 0.000],
        [0.002, 0.030, 0.010, 0.008],
        [0.001, 0.010, 0.060, 0.020],
        [0.000, 0.008, 0.020, 0.090],
    ]
)
Z4, U4 = np.zeros(4), np.full(4, np.inf)


@pytest.mark.parametrize(
    ("a", "c_lo", "c_hi", "names"),
    [
        # the same group twice, once tighter
        ([[0, 0, 1, 1], [0, 0, 1, 1]], [0.0, 0.0], [0.5, 0.4], ["Equity", "Equity tight"]),
        # a group of every asset at exactly 100%, and the budget again at 200%
        ([[1, 1, 1, 1], [2, 2, 2, 2]], [1.0, 2.0], [1.0, 2.0], ["All", "Twice"]),
        # an empty group pinned at 0 and a one-asset group tighter than the bounds
        ([[0, 0, 0, 0], [0, 0, 0, 1]], [0.0, 0.05], [0.0, 0.1], ["Empty", "Asset 4"]),
        # a row that is the sum of two others, all binding together at the top
        (
            [[1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]],
            [0.3, 0.0, 0.0],
            [1.0, 0.7, 1.0],
            ["Bonds", "Equity", "Total"],
        ),
        # tied limits: three single-asset groups capped at the same 30%
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], [0, 0, 0], [0.3, 0.3, 0.3], ["B", "C", "D"]),
    ],
)
def test_hand_made_degenerate_rows(a, c_lo, c_hi, names):
    case = _case(MU4, COV4, Z4, U4, a, c_lo, c_hi, names, f"hand-made {names}")
    check_case(case)


def test_singular_covariance_riskless_asset_with_groups():
    """A riskless asset in a capped group: the GMV is not unique only off the groups."""
    f = np.array([[0.0, 0.0], [0.1, 0.05], [0.1, 0.05], [0.2, -0.1]])  # two copies, rank 2
    cov = f @ f.T
    mu = np.array([0.02, 0.06, 0.06, 0.09])
    case = _case(
        mu,
        cov,
        np.zeros(4),
        np.full(4, np.inf),
        [[1, 0, 0, 0], [0, 1, 1, 1]],
        [0.0, 0.5],
        [0.4, 1.0],
        ["Cash", "Risky"],
        "riskless cash capped at 40%",
    )
    case.extra["factor"] = f
    gmv = xlfrontier.global_min_variance(cov, mu=mu, constraints=case.constraints())
    check_constrained(gmv, case, kind="gmv")
    assert gmv.weights[0] == pytest.approx(0.4, abs=1e-15)
    assert "Cash" in gmv.binding_constraints
    check_case(case)


@pytest.mark.parametrize(
    ("a", "c_lo", "c_hi", "names", "match"),
    [
        ([[0, 0, 0, 0]], [0.1], [0.2], ["Empty"], "Empty"),
        ([[1, 1, 1, 1]], [0.9], [0.9], ["All"], "All"),
        ([[1, 1, 0, 0], [0, 0, 1, 1]], [0.6, 0.5], [1.0, 1.0], ["Bonds", "Equity"], "Bonds"),
        ([[1, 0, 0, 0], [1, 0, 0, 0]], [0.3, 0.0], [1.0, 0.2], ["A min", "A max"], "A m"),
    ],
)
def test_degenerate_infeasible_rows_name_the_row(a, c_lo, c_hi, names, match):
    cons = LinearConstraints(a, c_lo, c_hi, names=names)
    with pytest.raises(InfeasibleError, match=match) as err:
        xlfrontier.global_min_variance(COV4, constraints=cons)
    assert err.value.argument == "constraints"
    with pytest.raises(InfeasibleError, match=match):
        xlfrontier.efficient_frontier(MU4, COV4, constraints=cons)


def test_riskless_assets_with_a_cap_row():
    """Two riskless assets, one capped by a row: the GMV is riskless, the best one first.

    Raised ``SolverError: singular working set while removing an asset``; the same cap as
    an upper bound solves (to the weights below).
    """
    mu = np.array([0.1, 0.0, 0.05])
    cov = np.diag([0.08, 0.0, 0.0])
    cons = LinearConstraints([[0, 0, 1]], None, [0.25], names=["Cap"])
    as_bound = xlfrontier.global_min_variance(cov, mu=mu, upper=[np.inf, np.inf, 0.25])
    res = xlfrontier.global_min_variance(cov, mu=mu, constraints=cons)
    np.testing.assert_allclose(res.weights, as_bound.weights, atol=1e-15)
    np.testing.assert_allclose(res.weights, [0.0, 0.75, 0.25], atol=1e-15)
    assert res.binding_constraints == ("Cap",)
