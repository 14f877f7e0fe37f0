"""Feasibility of linear constraints, the conflict messages, return ranges, equality reduction.

References: cvxpy with Clarabel (an interior-point method, test-only) decides feasibility and
the smallest total violation independently of HiGHS; the conflicting set a message names is
checked to be infeasible and irreducible with Clarabel too; return ranges are compared with
cvxpy on Clarabel and on HiGHS (a different formulation path to the same LP), and with the
exact greedy range of the unconstrained problem. Everything is seeded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from xlfrontier import LinearConstraints, group_constraints
from xlfrontier.core._feasibility import (
    FEASIBILITY_TOL,
    Conflict,
    check_feasible,
    find_conflict,
    reduce_equalities,
    return_range,
    violation,
)
from xlfrontier.core._path import lp_return_range
from xlfrontier.exceptions import InfeasibleError

cp = pytest.importorskip("cvxpy")

SLOW = bool(os.environ.get("XLFRONTIER_SLOW"))
FIXED = settings(
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
CLARABEL = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11, "max_iter": 400}
INF = np.inf


def _raises(lower, upper, c, match: str) -> str:
    with pytest.raises(InfeasibleError, match=match) as err:
        check_feasible(np.asarray(lower, float), np.asarray(upper, float), c)
    assert err.value.argument == "constraints"
    assert len(str(err.value)) <= 200
    return str(err.value)


def _long_only(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(n), np.full(n, INF)


# ---------------------------------------------------------------------------- the messages
def test_group_minimums_above_100_percent():
    c = group_constraints(
        ["Equity", "Equity", "Bonds", "Bonds", "Cash"], {"Equity": (0.6, 1), "Bonds": (0.5, 1)}
    )
    _raises(
        *_long_only(5),
        c,
        r"^group limits cannot all hold: Equity min 60% \+ Bonds min 50% "
        r"= 110% > 100%$",
    )


def test_group_minimums_with_the_other_assets_minimums():
    c = group_constraints(["Equity", "Bonds", "Cash"], {"Equity": (0.6, 1), "Bonds": (0.3, 1)})
    _raises(
        [0, 0, 0.15],
        [1, 1, 1],
        c,
        r"^group limits cannot all hold: Equity min 60% \+ Bonds "
        r"min 30% \+ other assets' minimums 15% = 105% > 100%$",
    )


def test_group_maximums_below_100_percent_when_they_cover_every_asset():
    c = group_constraints(
        ["Equity", "Bonds", "Cash", "Equity"],
        {"Equity": (None, 0.3), "Bonds": (None, 0.5), "Cash": (0, 0.1)},
    )
    _raises(
        *_long_only(4),
        c,
        r"^group limits cannot all hold: Equity max 30% \+ Bonds max 50% "
        r"\+ Cash max 10% = 90% < 100%$",
    )


def test_group_maximums_with_the_other_assets_maximums():
    c = group_constraints(["Equity", "Bonds", "Cash"], {"Equity": (None, 0.3), "Bonds": (0, 0.5)})
    _raises(
        [0, 0, 0],
        [1, 1, 0.1],
        c,
        r"^group limits cannot all hold: Equity max 30% \+ Bonds "
        r"max 50% \+ other assets' maximums 10% = 90% < 100%$",
    )


def test_a_total_just_above_100_percent_shows_digits_enough():
    c = group_constraints(["A", "B"], {"A": (0.5, None), "B": (0.500001, None)})
    _raises(*_long_only(2), c, r"= 100.0001% > 100%$")


def test_group_maximum_below_its_members_lower_bounds():
    c = group_constraints(["EM", "EM", "EM", "Dev"], {"EM": (None, 0.1)})
    _raises(
        [0.05, 0.05, 0.05, 0],
        [1, 1, 1, 1],
        c,
        r"^EM max 10% conflicts with the lower bounds of its members \(15%\)$",
    )


def test_group_minimum_above_its_members_upper_bounds():
    c = group_constraints(["EM", "EM", "Dev", "Dev", "Dev"], {"EM": (0.3, None)})
    _raises(
        np.zeros(5),
        np.full(5, 0.1),
        c,
        r"^EM min 30% conflicts with the upper bounds of its members \(20%\)$",
    )


def test_group_maximum_against_the_other_assets_upper_bounds():
    c = group_constraints(["Eq", "Eq", "Bd", "Bd", "Bd", "Bd"], {"Eq": (None, 0.1)})
    _raises(
        np.zeros(6),
        np.full(6, 0.2),
        c,
        r"^Eq max 10% cannot hold: the budget and the other "
        r"assets' upper bounds force Eq to at least 20%$",
    )


def test_group_minimum_against_the_other_assets_lower_bounds():
    c = group_constraints(["Eq", "Bd", "Bd"], {"Eq": (0.9, None)})
    _raises(
        [0, 0.1, 0.1],
        [1, 1, 1],
        c,
        r"^Eq min 90% cannot hold: the budget and the other "
        r"assets' lower bounds leave Eq at most 80%$",
    )


def test_a_group_of_every_asset_against_the_budget():
    c = group_constraints(["All", "All", "All"], {"All": (None, 0.9)})
    _raises(
        *_long_only(3),
        c,
        r"^All max 90% conflicts with the budget: All holds every asset, "
        r"and weights sum to 100%$",
    )
    c = group_constraints(["All", "All"], {"All": (1.05, None)})
    _raises([-INF, -INF], [INF, INF], c, r"^All min 105% conflicts with the budget")


def test_subgroup_minimum_above_its_group_maximum():
    labels = [["Europe", "Germany"], ["Europe", "Germany"], ["Europe", None], ["US", None]]
    c = group_constraints(labels, {"Europe": (None, 0.2), "Germany": (0.3, None)})
    _raises(*_long_only(4), c, r"^Europe max 20% conflicts with its subset Germany min 30%$")


def test_subgroup_minimum_plus_the_other_members_lower_bounds():
    labels = [["Europe", "Germany"], ["Europe", None], ["US", None]]
    c = group_constraints(labels, {"Europe": (None, 0.2), "Germany": (0.15, None)})
    _raises(
        [0, 0.1, 0],
        [1, 1, 1],
        c,
        r"^Europe max 20% conflicts with its subset Germany min 15% "
        r"and the lower bounds of its other members \(10%\)$",
    )


def test_two_rows_on_the_same_assets():
    c = LinearConstraints(
        [[1, 1, 0, 0], [1, 1, 0, 0]], [0.6, 0.5], [0.6, 0.5], names=["Equity", "Equity copy"]
    )
    _raises(
        *_long_only(4),
        c,
        r"^Equity = 60% contradicts Equity copy = 50%: both hold the same "
        r"assets$",
    )


def test_exposure_rows_show_plain_numbers():
    beta = [0.8, 1.2, 1.0, 0.5]
    c = LinearConstraints([beta], [1.3], [None], names=["Beta"])
    _raises(
        *_long_only(4),
        c,
        r"^Beta min 1.3 cannot hold with the budget and weight bounds, "
        r"which keep Beta at 1.2 or less$",
    )
    _raises(
        np.full(4, 0.2),
        np.full(4, INF),
        LinearConstraints([beta], None, [0.6], ["Beta"]),
        r"^Beta max 0.6 conflicts with the weight bounds, which keep Beta at 0.7 or more$",
    )
    flat = LinearConstraints([[1.1] * 4], [1.2], None, ["Beta"])
    _raises(
        [-INF] * 4,
        [INF] * 4,
        flat,
        r"^Beta min 1.2 conflicts with the budget: Beta is 1.1 for every portfolio$",
    )


def test_exposure_numbers_compared_show_digits_enough():
    c = LinearConstraints([[1.2, 0.8]], [1.2000001], None, names=["Beta"])
    _raises(*_long_only(2), c, r"Beta min 1.2000001 .* at 1.2 or less$")


def test_a_row_of_zeros():
    c = LinearConstraints([[0.0, 0.0]], [0.1], None, names=["Nothing"])
    _raises(*_long_only(2), c, r"^Nothing min 0.1 cannot hold: its coefficients are all zero$")


def test_otherwise_the_conflicting_limits_are_listed():
    beta = [1.4, 1.3, 0.7, 0.6]
    c = LinearConstraints([beta, [1, 1, 0, 0]], [1.2, None], [None, 0.5], names=["Beta", "Eq"])
    _raises(
        *_long_only(4),
        c,
        r"^limits Beta min 1.2 and Eq max 50% cannot both hold with the "
        r"budget and weight bounds$",
    )


def test_three_listed_limits():
    a = [[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 0]]
    c = LinearConstraints(
        [*a, [0, 0, 0, 1]], [0.7, 0.7, 0.7, None], [None] * 4, names=["AB", "BC", "AC", "D"]
    )
    _raises(
        [0, 0, 0, 0],
        [1, 1, 1, 1],
        c,
        r"^limits AB min 70%, BC min 70% and AC min 70% cannot "
        r"all hold with the budget and weight bounds$",
    )


def test_a_long_group_sum_is_cut_short():
    n = 12
    a = np.eye(n)[: n - 1] + np.eye(n, k=1)[: n - 1]  # overlapping pairs
    names = [f"a rather long constraint name {i}" for i in range(n - 1)]
    c = LinearConstraints(a, 0.2, None, names=names)
    # The conflict found is six disjoint pairs (0-1, 2-3...): a sum of group minimums.
    _raises(
        *_long_only(n),
        c,
        r"^group limits cannot all hold: the minimums of a rather long constraint name 0, a "
        r"rather long constraint name 2, a rather long constraint name 4 and 3 more sum to 120% "
        r"> 100%$",
    )


def test_a_long_list_is_cut_short():
    n = 6
    names = [f"a rather long exposure name {i}" for i in range(n)]
    c = LinearConstraints(2 * np.eye(n), 0.4, None, names=names)  # each w_i >= 20%
    _raises(
        *_long_only(n),
        c,
        r"^limits a rather long exposure name 0, a rather long exposure name 1, a rather long "
        r"exposure name 2 and 3 more cannot all hold with the budget$",
    )


def test_bounds_that_cannot_sum_to_one_are_still_explained():
    _raises([0.6, 0.6], [1, 1], None, r"^lower bounds sum to 120%, more than 100%")
    _raises([0, 0], [0.3, 0.3], None, r"^upper bounds sum to 60%, less than 100%")


def test_many_groups_in_the_sum_stay_short():
    n = 22
    labels = [f"Sector {i % 11}" for i in range(n)]
    c = group_constraints(labels, {f"Sector {k}": (0.1, None) for k in range(11)})
    msg = _raises(*_long_only(n), c, r"^group limits cannot all hold: ")
    assert "110% > 100%" in msg


# ------------------------------------------------------------------- the tolerance rule
def _sums():
    """Lower bounds whose float sum is not the decimal sum (0.05·3 = 0.15000000000000002)."""
    return [0.05, 0.05, 0.05, 0.0, 0.0]


def test_a_group_limit_set_exactly_at_what_the_bounds_force_is_feasible():
    low = np.array(_sums())
    assert low[:3].sum() != 0.15  # the point: the sum differs from 0.15 by rounding
    c = group_constraints(["EM", "EM", "EM", "Dev", "Dev"], {"EM": (None, 0.15)})
    check_feasible(low, np.full(5, INF), c)
    c = group_constraints(["A", "A", "A", "B", "B"], {"A": (0.7, None), "B": (0.3, None)})
    check_feasible(np.zeros(5), np.full(5, INF), c)
    c = group_constraints(["A", "B", "C"], {"A": (None, 0.1), "B": (None, 0.2), "C": (0, 0.7)})
    check_feasible(np.zeros(3), np.full(3, INF), c)
    c = group_constraints(["A", "A", "B"], {"A": (None, 0.6)})
    check_feasible(np.zeros(3), [0.3, 0.3, 0.4], c)  # the group's max = its members' maximums
    c = group_constraints(["All", "All", "All"], {"All": (1, 1)})
    check_feasible(np.zeros(3), np.full(3, INF), c)
    beta = LinearConstraints([[0.8, 1.2, 1.1]], [1.2], None, names=["Beta"])
    check_feasible(np.zeros(3), np.full(3, INF), beta)  # only the top asset reaches it


@pytest.mark.parametrize("miss", [1e-11, 1e-10, 5e-10])
def test_limits_that_miss_by_less_than_the_tolerance_count_as_feasible(miss):
    c = group_constraints(["A", "B"], {"A": (0.6 + miss, None), "B": (0.4, None)})
    assert 0.6 + miss + 0.4 > 1.0
    assert violation(np.zeros(2), np.full(2, INF), c) <= FEASIBILITY_TOL
    check_feasible(np.zeros(2), np.full(2, INF), c)


@pytest.mark.parametrize("miss", [3e-9, 1e-8, 1e-6])
def test_limits_that_miss_by_more_than_the_tolerance_are_infeasible(miss):
    c = group_constraints(["A", "B"], {"A": (0.6 + miss, None), "B": (0.4, None)})
    assert violation(np.zeros(2), np.full(2, INF), c) == pytest.approx(miss, rel=1e-3)
    _raises(np.zeros(2), np.full(2, INF), c, "group limits cannot all hold")


@pytest.mark.parametrize("miss", [-1e-7, -1e-8, 1e-8, 1e-7])
def test_near_infeasible_exposure_both_sides(miss):
    # The largest beta the bounds and budget allow is exactly 1.16 (0.4·1.4 + 0.6·1.0): ask for
    # a little more (infeasible) or a little less (feasible).
    beta = [1.4, 1.0, 0.7]
    c = LinearConstraints([beta], [1.16 + miss], None, names=["Beta"])
    up = np.array([0.4, 1.0, 1.0])
    if miss > 0:
        _raises(np.zeros(3), up, c, "^Beta min 1.16")
    else:
        check_feasible(np.zeros(3), up, c)


def test_rows_are_measured_in_weight_units():
    # A duration row (coefficients up to 8) missing by 8e-9 misses by 1e-9 per unit weight.
    dur = [8.0, 2.0]
    c = LinearConstraints([dur], [8.0 + 8e-10], None, names=["Duration"])
    check_feasible(np.zeros(2), np.full(2, INF), c)
    c = LinearConstraints([dur], [8.0 + 8e-8], None, names=["Duration"])
    _raises(np.zeros(2), np.full(2, INF), c, "^Duration min 8.0000001 .* at 8 or less$")


# ----------------------------------------------------------------------------- references
def _cvx_constraints(w, lower, upper, c: LinearConstraints | None, members: Conflict | None):
    """cvxpy constraints of the system (or only the members of a conflict)."""
    cons = []
    if members is None or members.budget:
        cons.append(cp.sum(w) == 1)
    if members is None or members.bounds:
        fl, fu = np.isfinite(lower), np.isfinite(upper)
        if fl.any():
            cons.append(w[fl] >= lower[fl])
        if fu.any():
            cons.append(w[fu] <= upper[fu])
    if c is not None and c.m:
        if members is None:
            sides = [(j, 1) for j in range(c.m) if np.isfinite(c.lower[j])]
            sides += [(j, -1) for j in range(c.m) if np.isfinite(c.upper[j])]
        else:
            sides = list(members.sides)
        for j, d in sides:
            if not c.A[j].any():  # a row of zeros: 0 within its limits, or a 0 >= 1 constraint
                holds = c.lower[j] <= 0 if d > 0 else c.upper[j] >= 0
                cons += [] if holds else [cp.sum(w) >= 1, cp.sum(w) <= 0]
                continue
            cons.append(c.A[j] @ w >= c.lower[j] if d > 0 else c.A[j] @ w <= c.upper[j])
    return cons


def _solve(problem) -> str:
    """Clarabel at the tightest tolerance it settles at (1e-11, else 1e-9, else 1e-8)."""
    status = "not run"
    for loosen in (1.0, 1e2, 1e3):
        settings = {k: v * loosen if k.startswith("tol") else v for k, v in CLARABEL.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                problem.solve(solver=cp.CLARABEL, **settings)
            except cp.error.SolverError as err:
                status = f"error: {err}"
                continue
        status = str(problem.status)
        if status in ("optimal", "infeasible", "unbounded"):
            break
    # Clarabel's verdict stands even when it flags its certificate as inaccurate (it does so
    # on some thin problems, infeasible by ~1e-5): the violation, compared separately, agrees.
    return status.removesuffix("_inaccurate")


def clarabel_status(lower, upper, c, members: Conflict | None = None) -> str:
    """``optimal`` (feasible) or ``infeasible``, by Clarabel on the plain feasibility problem."""
    w = cp.Variable(lower.size)
    return _solve(cp.Problem(cp.Minimize(0), _cvx_constraints(w, lower, upper, c, members)))


def clarabel_violation(lower, upper, c, members: Conflict | None = None) -> float:
    """The smallest total violation (rows scaled to a largest coefficient of 1), by Clarabel.

    Of the whole system, or of the members of a conflict only (bounds held exactly).
    """
    n = lower.size
    w = cp.Variable(n)
    cons = []
    fl, fu = np.isfinite(lower), np.isfinite(upper)
    if members is None or members.bounds:
        if fl.any():
            cons.append(w[fl] >= lower[fl])
        if fu.any():
            cons.append(w[fu] <= upper[fu])
    terms = [cp.Constant(0.0)]
    if members is None or members.budget:
        terms.append(cp.abs(cp.sum(w) - 1))
    if c is not None and c.m:
        scale = np.abs(c.A).max(axis=1)
        scale[scale == 0] = 1.0
        a = c.A / scale[:, None]
        lo, hi = c.lower / scale, c.upper / scale
        if members is None:
            sides = [(j, 1) for j in range(c.m) if np.isfinite(lo[j])]
            sides += [(j, -1) for j in range(c.m) if np.isfinite(hi[j])]
        else:
            sides = list(members.sides)
        for j, d in sides:
            if not a[j].any():  # a row of zeros: a constant violation
                terms.append(cp.Constant(max(lo[j], 0.0) if d > 0 else max(-hi[j], 0.0)))
            elif d > 0:
                terms.append(cp.pos(lo[j] - a[j] @ w))
            else:
                terms.append(cp.pos(a[j] @ w - hi[j]))
    problem = cp.Problem(cp.Minimize(cp.sum(cp.hstack(terms))), cons)
    status = _solve(problem)
    assert status == "optimal", status
    return float(problem.value)


# ------------------------------------------------------------------------ random problems
def _feasible_point(rng, lower, upper) -> np.ndarray:
    """A random point of the bounds and the budget (bounds sum around 1)."""
    lo = np.where(np.isfinite(lower), lower, -1.0)
    up = np.where(np.isfinite(upper), upper, np.maximum(lo, 0) + 1.0)
    w = lo.copy()
    rest = 1.0 - w.sum()
    for i in rng.permutation(lo.size):
        take = min(rest, (up[i] - lo[i]) * rng.uniform(0.3, 1.0))
        w[i] += take
        rest -= take
    for i in rng.permutation(lo.size):  # the remainder, wherever it fits
        take = min(rest, up[i] - w[i])
        w[i] += take
        rest -= take
    assert abs(rest) < 1e-12
    return w


def _bounds(rng, n):
    kind = rng.choice(["long", "capped", "box", "short", "free"])
    lower, upper = np.zeros(n), np.full(n, INF)
    if kind == "capped":
        upper = np.full(n, max(1.0 / n, rng.uniform(0.5, 2.0) / n * 1.5))
    elif kind == "box":
        lower = rng.uniform(0, 0.9 / n, n) * (rng.random(n) < 0.6)
        upper = lower + rng.uniform(0.5 / n, 3.0 / n, n)
    elif kind == "short":
        lower = np.where(rng.random(n) < 0.5, -INF, -rng.uniform(0, 0.5, n))
        upper = np.where(rng.random(n) < 0.5, INF, rng.uniform(0.3, 1.0, n))
    elif kind == "free":
        lower, upper = np.full(n, -INF), np.full(n, INF)
    if lower.sum() > 1 or upper.sum() < 1:
        upper = np.maximum(upper, 1.0)
    return lower, upper


def random_problem(seed: int) -> tuple[np.ndarray, np.ndarray, LinearConstraints]:
    """Bounds, groups (one or two classifications), dense rows and equalities, seeded.

    Limits are drawn around the values of a random feasible point, with margins that are
    negative often enough for about half of the problems to be infeasible.
    """
    rng = np.random.default_rng(seed)
    n = int(rng.choice([2, 3, 4, 5, 6, 8, 12, 20, 40]))
    lower, upper = _bounds(rng, n)
    w0 = _feasible_point(rng, lower, upper)
    rows, names = [], []
    k = int(rng.integers(1, 3))
    for col in range(k):
        g = int(rng.integers(1, min(n, 5) + 1))
        labels = rng.integers(0, g + 1, n)  # label g: in no group
        for lab in range(g):
            members = (labels == lab).astype(float)
            if members.any():
                rows.append(members)
                names.append(f"G{col}.{lab}")
    for j in range(int(rng.integers(0 if rows else 1, 3))):
        kind = rng.choice(["beta", "signed", "sparse"])
        if kind == "beta":
            a = rng.normal(1.0, 0.3, n)
        elif kind == "signed":
            a = rng.normal(0.0, 1.0, n)
        else:
            a = rng.normal(0.0, 2.0, n) * (rng.random(n) < 0.4)
        rows.append(np.round(a, 3))
        names.append(f"D{j}")
    a = np.array(rows)
    val = a @ w0
    span = np.abs(a).max(axis=1) + 1e-3
    lo = val - span * rng.uniform(-0.15, 0.4, len(rows))
    hi = val + span * rng.uniform(-0.15, 0.4, len(rows))
    lo = np.where(rng.random(len(rows)) < 0.3, -INF, lo)
    hi = np.where(rng.random(len(rows)) < 0.3, INF, hi)
    eq = rng.random(len(rows)) < 0.12
    shift = np.where(rng.random(len(rows)) < 0.5, 0.0, rng.normal(0, 0.1, len(rows)))
    lo = np.where(eq, val + shift, lo)
    hi = np.where(eq, val + shift, hi)
    swap = lo > hi
    lo[swap], hi[swap] = hi[swap], lo[swap]
    return lower, upper, LinearConstraints(a, lo, hi, names=names)


def _subsets(conflict: Conflict):
    """The conflict with each one of its members dropped."""
    if conflict.bounds:
        yield Conflict(False, conflict.budget, conflict.sides)
    if conflict.budget:
        yield Conflict(conflict.bounds, False, conflict.sides)
    for sd in conflict.sides:
        yield Conflict(
            conflict.bounds, conflict.budget, tuple(t for t in conflict.sides if t != sd)
        )


N_RANDOM = 2000 if SLOW else 500
N_IIS = 800 if SLOW else 100  # conflicts checked member by member against Clarabel


def test_feasibility_agrees_with_clarabel_on_random_problems():
    counts = {"feasible": 0, "infeasible": 0, "near": 0}
    iis_checked = 0
    for seed in range(N_RANDOM):
        lower, upper, c = random_problem(seed)
        ref = clarabel_violation(lower, upper, c)
        ours = violation(lower, upper, c)
        # Clarabel's violation is accurate to about 1e-9; ours to about 1e-10.
        assert abs(ours - ref) <= 1e-8 + 1e-7 * ref, (seed, ours, ref)
        if 1e-10 < ref < 1e-6:  # within the references' own resolution of the line
            counts["near"] += 1
            continue
        status = clarabel_status(lower, upper, c)
        infeasible = ref >= 1e-6
        assert status == ("infeasible" if infeasible else "optimal"), (seed, status, ref)
        if not infeasible:
            counts["feasible"] += 1
            check_feasible(lower, upper, c)
            assert find_conflict(lower, upper, c) is None
            continue
        counts["infeasible"] += 1
        with pytest.raises(InfeasibleError) as err:
            check_feasible(lower, upper, c)
        msg = str(err.value)
        assert 0 < len(msg) <= 200, msg
        conflict = find_conflict(lower, upper, c)
        assert conflict is not None
        for j, _ in conflict.sides:  # the message names every row of the conflict
            assert c.names[j] in msg, (seed, msg, conflict)
        if iis_checked < N_IIS:  # irreducible: infeasible, and feasible without any member
            iis_checked += 1
            # By Clarabel's violation (its plain feasibility problems fail on some of these
            # small systems); 5e-10 and 1e-8 leave room for its own accuracy, about 1e-9.
            v = clarabel_violation(lower, upper, c, conflict)
            assert v > 5e-10, (seed, conflict, v)
            for sub in _subsets(conflict):
                v = clarabel_violation(lower, upper, c, sub)
                assert v < 1e-8, (seed, conflict, sub, v)
    assert counts["feasible"] >= N_RANDOM // 5, counts
    assert counts["infeasible"] >= N_RANDOM // 5, counts
    assert counts["near"] <= N_RANDOM // 50, counts


def test_near_infeasible_random_problems_both_sides():
    """A row's limit set at the exact extreme the rest allows, then moved out or in by 1e-7."""
    checked = 0
    for seed in range(200 if SLOW else 60):
        rng = np.random.default_rng(10_000 + seed)
        lower, upper, c = random_problem(10_000 + seed)
        if violation(lower, upper, c) > 0:
            continue
        j = int(rng.integers(c.m))
        a = c.A[j]
        keep = [i for i in range(c.m) if i != j]
        others = LinearConstraints(c.A[keep], c.lower[keep], c.upper[keep]) if keep else None
        hi = return_range(a, lower, upper, others)[1]
        if not np.isfinite(hi):
            continue
        scale = np.abs(a).max()
        for delta, feasible in ((1e-7, False), (-1e-7, True), (0.0, True)):
            row = LinearConstraints(a[None, :], [hi + delta * scale], None, names=["Edge"])
            both = _stack(others, row)
            # The reference is Clarabel's smallest violation: its plain feasibility verdict
            # accepts violations up to its own tolerance (~1e-8), which a 1e-7 shift spread
            # over several rows can fall below (seen: 1.7e-8, called feasible).
            v = clarabel_violation(lower, upper, both)
            assert (v < 1e-9) if feasible else (v > 3e-9), (seed, delta, v)
            if feasible:
                check_feasible(lower, upper, both)
            else:
                with pytest.raises(InfeasibleError, match="Edge"):
                    check_feasible(lower, upper, both)
        checked += 1
    assert checked >= 15


def _stack(a: LinearConstraints | None, b: LinearConstraints) -> LinearConstraints:
    if a is None:
        return b
    return LinearConstraints(
        np.vstack([a.A, b.A]),
        np.concatenate([a.lower, b.lower]),
        np.concatenate([a.upper, b.upper]),
        names=[*a.names, *b.names],
    )


@FIXED
@given(data=st.data())
def test_check_feasible_raises_nothing_but_infeasible(data):
    n = data.draw(st.integers(1, 6))
    num = st.floats(-3, 3, allow_nan=False)
    lower = np.array(data.draw(st.lists(st.one_of(num, st.just(-INF)), min_size=n, max_size=n)))
    width = data.draw(st.lists(st.one_of(st.floats(0, 3), st.just(INF)), min_size=n, max_size=n))
    free = data.draw(st.lists(st.one_of(num, st.just(INF)), min_size=n, max_size=n))
    upper = np.where(np.isneginf(lower), free, np.where(np.isneginf(lower), 0.0, lower) + width)
    m = data.draw(st.integers(0, 4))
    coef = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(-5, 5, allow_nan=False))
    a = np.array([data.draw(st.lists(coef, min_size=n, max_size=n)) for _ in range(m)])
    lo = np.array([data.draw(st.one_of(num, st.just(-INF))) for _ in range(m)])
    hi = np.array([data.draw(st.one_of(num, st.just(INF))) for _ in range(m)])
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    c = LinearConstraints(a.reshape(m, n), lo, hi) if m else None
    if violation(lower, upper, c) > FEASIBILITY_TOL:
        with pytest.raises(InfeasibleError) as err:
            check_feasible(lower, upper, c)
        assert 0 < len(str(err.value)) <= 200
    else:
        check_feasible(lower, upper, c)  # nothing raised


# ----------------------------------------------------------------------------- return range
def cvx_range(mu, lower, upper, c, solver) -> tuple[float, float]:
    w = cp.Variable(mu.size)
    out = []
    for sense in (cp.Minimize, cp.Maximize):
        problem = cp.Problem(sense(mu @ w), _cvx_constraints(w, lower, upper, c, None))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem.solve(solver=solver, **(CLARABEL if solver == cp.CLARABEL else {}))
        if problem.status == "unbounded":
            out.append(-INF if sense is cp.Minimize else INF)
            continue
        assert problem.status == "optimal", problem.status
        out.append(float(problem.value))
    return out[0], out[1]


def test_return_range_agrees_with_cvxpy_on_random_problems():
    done = unbounded = 0
    for seed in range(300 if SLOW else 120):
        lower, upper, c = random_problem(20_000 + seed)
        if violation(lower, upper, c) > 0:
            continue
        mu = np.random.default_rng(seed).normal(0.07, 0.05, lower.size)
        lo, hi = return_range(mu, lower, upper, c)
        h_lo, h_hi = cvx_range(mu, lower, upper, c, cp.HIGHS)
        for ours, ref in ((lo, h_lo), (hi, h_hi)):
            if not np.isfinite(ref):
                assert ours == ref, (seed, lo, hi, h_lo, h_hi)
                unbounded += 1
            else:
                assert abs(ours - ref) <= 1e-9 * max(1.0, abs(ref)), (seed, ours, ref)
        if np.isfinite([h_lo, h_hi]).all():
            c_lo, c_hi = cvx_range(mu, lower, upper, c, cp.CLARABEL)
            assert abs(lo - c_lo) <= 1e-7, (seed, lo, c_lo)
            assert abs(hi - c_hi) <= 1e-7, (seed, hi, c_hi)
        done += 1
    assert done >= 40
    assert unbounded >= 2


def test_return_range_without_rows_is_the_exact_greedy_range():
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.integers(2, 30))
        mu = rng.normal(0.07, 0.05, n)
        lower, upper = _bounds(rng, n)
        assert return_range(mu, lower, upper, None) == lp_return_range(mu, lower, upper)
        empty = LinearConstraints(np.zeros((0, n)))
        assert return_range(mu, lower, upper, empty) == lp_return_range(mu, lower, upper)


def test_return_range_with_loose_rows_matches_the_greedy_range():
    rng = np.random.default_rng(6)
    checked = 0
    for _ in range(80):
        n = int(rng.integers(2, 40))
        mu = np.round(rng.normal(0.07, 0.05, n), 4)
        lower, upper = _bounds(rng, n)
        lo_ref, hi_ref = lp_return_range(mu, lower, upper)
        # Groups and a beta row whose limits lie outside all the bounds and budget allow.
        groups = rng.integers(0, 3, n)
        rows = np.vstack([groups == 0, groups == 1, rng.normal(1, 0.3, n)]).astype(float)
        reach = np.array([lp_return_range(a, lower, upper) for a in rows])
        loose = LinearConstraints(rows, reach[:, 0] - 0.1, reach[:, 1] + 0.1)
        lo, hi = return_range(mu, lower, upper, loose)
        for ours, ref in ((lo, lo_ref), (hi, hi_ref)):
            if np.isfinite(ref):
                assert abs(ours - ref) <= 1e-13 * max(1.0, abs(ref)), (ours, ref)
            else:
                assert ours == ref
        checked += 1
    assert checked == 80


def test_return_range_with_binding_groups():
    mu = np.array([0.10, 0.08, 0.03, 0.02])
    c = group_constraints(["Eq", "Eq", "Bd", "Bd"], {"Eq": (0.3, 0.6)})
    lo, hi = return_range(mu, np.zeros(4), np.full(4, INF), c)
    assert lo == pytest.approx(0.3 * 0.08 + 0.7 * 0.02, abs=1e-15)
    assert hi == pytest.approx(0.6 * 0.10 + 0.4 * 0.03, abs=1e-15)


def test_return_range_unbounded_with_short_selling():
    mu = np.array([0.1, 0.05, 0.02])
    c = group_constraints(["A", "B", "B"], {"B": (None, 0.8)})
    lo, hi = return_range(mu, np.full(3, -INF), np.full(3, INF), c)
    assert (lo, hi) == (-INF, INF)
    c = LinearConstraints([[1, 0, 0]], [0.2], [0.2], names=["A"])
    lo, hi = return_range(mu, [0.0, -INF, -INF], [1.0, INF, INF], c)
    assert (lo, hi) == (-INF, INF)
    lo, hi = return_range(mu, [0.0, 0.0, -INF], [1.0, INF, INF], c)  # only asset 3 shorts
    assert lo == pytest.approx(0.2 * 0.1 + 0.8 * 0.02)
    assert hi == INF


def test_return_range_of_infeasible_limits_says_why():
    c = group_constraints(["Eq", "Bd"], {"Eq": (0.6, None), "Bd": (0.5, None)})
    with pytest.raises(InfeasibleError, match="Eq min 60% \\+ Bd min 50% = 110% > 100%"):
        return_range(np.array([0.1, 0.05]), np.zeros(2), np.full(2, INF), c)


@pytest.mark.parametrize("miss", [0.0, 1e-11, 4e-10])
def test_return_range_of_limits_that_miss_by_less_than_the_tolerance(miss):
    c = group_constraints(["A", "B", "B"], {"A": (0.6 + miss, None), "B": (0.4, None)})
    lo, hi = return_range(np.array([0.1, 0.05, 0.02]), np.zeros(3), np.full(3, INF), c)
    assert lo == pytest.approx(0.6 * 0.1 + 0.4 * 0.02, abs=1e-9)
    assert hi == pytest.approx(0.6 * 0.1 + 0.4 * 0.05, abs=1e-9)


# --------------------------------------------------------------------------- equality rows
def test_duplicate_equality_rows_are_dropped_when_consistent():
    a = [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [2, 2, 0, 0]]
    keep = reduce_equalities(a, [0.6, 0.6, 0.1, 1.2])
    np.testing.assert_array_equal(keep, [True, False, True, False])


def test_rows_dependent_on_the_budget():
    # A group of every asset at 100% is the budget; Bonds = budget - Equity.
    keep = reduce_equalities([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]], [1.0, 0.6, 0.4])
    np.testing.assert_array_equal(keep, [False, True, False])


def test_the_earlier_row_is_kept():
    keep = reduce_equalities([[0, 0, 1, 1], [1, 1, 0, 0]], [0.4, 0.6])
    np.testing.assert_array_equal(keep, [True, False])


def test_independent_rows_are_kept_even_when_close():
    a = np.array([[1, 1, 0, 0], [1, 1 + 1e-9, 0, 0], [0.5, 0.2, 0.1, 0.9]])
    keep = reduce_equalities(a, [0.6, 0.6, 0.4])
    np.testing.assert_array_equal(keep, [True, True, True])


def test_a_dependence_up_to_rounding_is_a_dependence():
    rng = np.random.default_rng(3)
    a = rng.normal(1, 0.3, (2, 50))
    combo = 0.3 * a[0] + 0.7 * a[1] - 0.1  # -0.1·budget
    b = np.array([1.05, 0.97])
    keep = reduce_equalities(np.vstack([a, combo]), [*b, 0.3 * b[0] + 0.7 * b[1] - 0.1])
    np.testing.assert_array_equal(keep, [True, True, False])


def test_contradicting_copies_are_named():
    with pytest.raises(
        InfeasibleError,
        match=r"^constraint 'Equity' = 60% contradicts 'Equity "
        r"copy' = 50%$",
    ) as err:
        reduce_equalities([[1, 1, 0], [1, 1, 0]], [0.6, 0.5], names=["Equity", "Equity copy"])
    assert err.value.argument == "constraints"


def test_contradicting_the_budget():
    with pytest.raises(
        InfeasibleError,
        match=r"^constraint 'All' = 90% contradicts the budget "
        r"\(weights sum to 100%\)$",
    ):
        reduce_equalities([[1, 1, 1]], [0.9], names=["All"])
    with pytest.raises(
        InfeasibleError,
        match=r"^constraints 'Equity' = 60% and 'Bonds' = 50% "
        r"contradict the budget \(weights sum to 100%\)$",
    ):
        reduce_equalities([[1, 1, 0], [0, 0, 1]], [0.6, 0.5], names=["Equity", "Bonds"])


def test_contradicting_a_combination_of_rows():
    a = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0]]
    with pytest.raises(
        InfeasibleError,
        match=r"^constraints 'A' = 10% and 'B' = 20% contradict "
        r"'A\+B' = 40%$",
    ):
        reduce_equalities(a, [0.1, 0.2, 0.4], names=["A", "B", "A+B"])


def test_exposure_rows_show_plain_numbers_in_a_contradiction():
    with pytest.raises(
        InfeasibleError,
        match=r"^constraint 'Beta' = 1.1 contradicts 'Beta x2' "
        r"= 2.4$",
    ):
        reduce_equalities([[1.2, 0.9], [2.4, 1.8]], [1.1, 2.4], names=["Beta", "Beta x2"])


def test_a_zero_equality_row():
    np.testing.assert_array_equal(reduce_equalities([[0, 0]], [0.0]), [False])
    with pytest.raises(
        InfeasibleError,
        match=r"^constraint 'constraint 1' = 0.3 cannot hold: "
        r"its coefficients are all zero$",
    ):
        reduce_equalities([[0, 0]], [0.3])


def test_consistency_is_decided_at_1e_12():
    reduce_equalities([[1, 1, 0], [1, 1, 0]], [0.6, 0.6 + 1e-13])
    with pytest.raises(InfeasibleError, match="contradicts"):
        reduce_equalities([[1, 1, 0], [1, 1, 0]], [0.6, 0.6 + 1e-10])


def test_no_equality_rows():
    assert reduce_equalities(np.zeros((0, 3)), np.zeros(0)).shape == (0,)


# ------------------------------------------------------------------------------- plumbing
def test_importing_the_package_does_not_import_scipy_optimize():
    code = (
        "import sys, xlfrontier, xlfrontier.core._feasibility; "
        "print('scipy.optimize' in sys.modules, 'scipy.linalg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_constraints_for_another_number_of_assets():
    c = group_constraints(["A", "B"], {"A": (0, 1)})
    with pytest.raises(Exception, match="2 coefficients per row but there are 3 assets"):
        check_feasible(np.zeros(3), np.full(3, INF), c)


@pytest.mark.parametrize("n", [50, 1000])
def test_timing_with_eleven_groups(n, capsys):
    """Time ``check_feasible`` and ``return_range`` (printed with ``-s``); error path < 1 s."""
    labels = [f"S{i % 11}" for i in range(n)]
    c = group_constraints(labels, {f"S{k}": (0.02, 0.25) for k in range(11)})
    lower, upper = np.zeros(n), np.full(n, 2.0 / n * 11 / 5)
    mu = np.random.default_rng(0).normal(0.08, 0.04, n)
    bad = group_constraints(labels, {f"S{k}": (0.1 if k < 10 else 0.02, 0.25) for k in range(11)})

    def best(f, reps=7) -> float:
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return 1e3 * float(np.median(times))

    def infeasible():
        with pytest.raises(InfeasibleError, match="102% > 100%"):
            check_feasible(lower, upper, bad)

    t_ok = best(lambda: check_feasible(lower, upper, c))
    t_rng = best(lambda: return_range(mu, lower, upper, c))
    t_bad = best(infeasible, 3)
    with capsys.disabled():
        print(
            f"\n n={n}: check_feasible {t_ok:.2f} ms, return_range {t_rng:.2f} ms, "
            f"conflict message {t_bad:.1f} ms"
        )
    assert t_bad < 1000
