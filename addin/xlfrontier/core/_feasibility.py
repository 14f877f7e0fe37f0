"""Feasibility of linear constraints, the constrained return range, and equality-row reduction.

The feasible set is ``{w : 1ᵀw = 1, l ≤ w ≤ u, lo ≤ A w ≤ hi}``. Everything here is a linear
program solved by HiGHS (``scipy.optimize.linprog``, imported inside the functions so that
importing xlfrontier does not import ``scipy.optimize``); the optimisers call these functions
only on their error paths and for return ranges, never on the fast path.

Tolerance rule (one, used everywhere here). Each constraint row is scaled to a largest
coefficient of 1, so that its violation reads in weight units, and feasibility is measured by
the *elastic* (phase-1) program: the smallest total violation of the budget and the rows over
the weight bounds, held exactly. The limits are infeasible when that violation exceeds
``FEASIBILITY_TOL = 1e-9``; a system that misses by less is feasible. The line is drawn there
because HiGHS, at its tightest tolerances (1e-10), resolves the violation to about 1e-10, and
because limits typed into a sheet that meet exactly — a group minimum of 15% equal to the sum
of its members' lower bounds 5% + 5% + 5%, which in binary is 15.000000000000002% — must stay
feasible: they miss by rounding (1e-17), nine orders below the line.

Messages. When the limits cannot all hold, a small conflicting set is found — an irreducible
infeasible subset (IIS) of the one-sided row limits, the budget and the block of weight bounds:
the rows that carry the elastic program's dual (a Farkas certificate) are kept, then a deletion
filter drops every member whose removal leaves the rest infeasible — and the common patterns
are phrased in finance words (sums of group minimums above 100%, a group limit against its
members' bounds, a group against its subgroup); any other set is listed by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._messages import fmt_pct, fmt_pct_pair
from xlfrontier.core._path import lp_return_range
from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.exceptions import InfeasibleError, SolverError

__all__ = [
    "FEASIBILITY_TOL",
    "Conflict",
    "check_feasible",
    "find_conflict",
    "reduce_equalities",
    "return_range",
    "violation",
]

FEASIBILITY_TOL = 1e-9  # total violation (weight units) above which limits are infeasible
# HiGHS at its tightest settings: its feasibility tolerances cannot go below 1e-10.
_HIGHS: dict[str, Any] = {
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}
_DUAL_ZERO = 1e-9  # dual values this small do not put a member in the conflict
_CONSISTENT = 1e-12  # right-hand sides of dependent equality rows agree to this (relative)
_MAX_MSG = 200  # characters a conflict message aims to stay within

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Conflict:
    """An irreducible set of limits that cannot all hold.

    Attributes
    ----------
    bounds : bool
        The weight bounds ``l ≤ w ≤ u`` take part.
    budget : bool
        The budget ``1ᵀw = 1`` takes part.
    sides : tuple of (int, int)
        ``(row, side)`` pairs: ``side`` is ``+1`` for the row's minimum, ``-1`` for its
        maximum; sorted by row.
    """

    bounds: bool
    budget: bool
    sides: tuple[tuple[int, int], ...]


# -------------------------------------------------------------------------------- the system
@dataclass(frozen=True)
class _System:
    """The constraints in scaled form: each row divided by its largest coefficient."""

    lower: Array  # (n,) weight bounds
    upper: Array
    A: Array  # (m, n) rows as given
    lo: Array  # (m,) limits as given
    hi: Array
    scale: Array  # (m,) largest absolute coefficient (1 for a zero row)
    names: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.lower.size)

    def sides(self) -> list[tuple[int, int]]:
        """Every finite one-sided limit: minimums then maximums, row by row."""
        out = []
        for j in range(self.A.shape[0]):
            if np.isfinite(self.lo[j]):
                out.append((j, 1))
            if np.isfinite(self.hi[j]):
                out.append((j, -1))
        return out


def _system(lower: ArrayLike, upper: ArrayLike, constraints: LinearConstraints | None) -> _System:
    lo_w = np.asarray(lower, dtype=np.float64).reshape(-1)
    up_w = np.asarray(upper, dtype=np.float64).reshape(-1)
    n = lo_w.size
    names: tuple[str, ...] = ()
    if constraints is None:
        a, clo, chi = np.zeros((0, n)), np.zeros(0), np.zeros(0)
    else:
        constraints.check_assets(n)
        a, clo, chi, names = constraints.A, constraints.lower, constraints.upper, constraints.names
    scale = np.abs(a).max(axis=1, initial=0.0)
    scale[scale == 0.0] = 1.0
    return _System(lo_w, up_w, a, clo, chi, scale, tuple(names))


# ------------------------------------------------------------------------------ the phase-1 LP
def _elastic(
    s: _System, bounds: bool, budget: bool, sides: list[tuple[int, int]]
) -> tuple[float, Any]:
    """Smallest total violation of ``sides`` and the budget, over the bounds (or all of Rⁿ).

    Returns the violation (weight units) and linprog's result (``None`` when nothing is
    enforced). The violation is the smaller of HiGHS's optimum and the exact violation of its
    point clipped into the bounds, which certifies feasibility when it is small.
    """
    from scipy.optimize import linprog

    n, k = s.n, len(sides)
    if k == 0 and not budget:
        return 0.0, None
    rows = np.array([j for j, _ in sides], dtype=np.intp)
    sign = np.array([d for _, d in sides], dtype=np.float64)
    a_hat = s.A[rows] / s.scale[rows, None]
    b_hat = np.where(sign > 0, s.lo[rows], s.hi[rows]) / s.scale[rows]
    nb = 2 if budget else 0
    # Minimum side: -â w - e ≤ -b̂; maximum side: â w - e ≤ b̂ (e ≥ 0 its violation).
    a_ub = np.hstack([-sign[:, None] * a_hat, -np.eye(k), np.zeros((k, nb))])
    b_ub = -sign * b_hat
    a_eq = b_eq = None
    if budget:  # 1ᵀw + e⁺ - e⁻ = 1
        a_eq = np.concatenate([np.ones(n), np.zeros(k), [1.0, -1.0]])[None, :]
        b_eq = np.array([1.0])
    if bounds:
        box = np.column_stack([s.lower, s.upper])
    else:
        box = np.column_stack([np.full(n, -np.inf), np.full(n, np.inf)])
    var_bounds = np.vstack([box, np.column_stack([np.zeros(k + nb), np.full(k + nb, np.inf)])])
    cost = np.concatenate([np.zeros(n), np.ones(k + nb)])
    kw: dict[str, Any] = {
        "A_ub": a_ub if k else None,
        "b_ub": b_ub if k else None,
        "A_eq": a_eq,
        "b_eq": b_eq,
        "bounds": var_bounds,
        "method": "highs",
    }
    res = linprog(cost, options=_HIGHS, **kw)
    if res.status != 0:  # the program is feasible and bounded: a presolve misstep, retry
        res = linprog(cost, options={**_HIGHS, "presolve": False}, **kw)
    if res.status != 0 or res.x is None:
        raise SolverError(f"the feasibility check failed ({res.message}): please report this")
    w = np.clip(res.x[:n], box[:, 0], box[:, 1])
    exact = float(np.maximum(sign * (b_hat - a_hat @ w), 0.0).sum()) if k else 0.0
    if budget:
        exact += abs(float(w.sum()) - 1.0)
    return min(max(float(res.fun), 0.0), exact), res


def violation(lower: ArrayLike, upper: ArrayLike, constraints: LinearConstraints | None) -> float:
    """Smallest total violation of the budget and the rows over the weight bounds.

    Parameters
    ----------
    lower, upper : array_like of shape (n_assets,)
        Weight bounds (``∓inf`` for none).
    constraints : LinearConstraints or None

    Returns
    -------
    float
        In weight units (each row scaled to a largest coefficient of 1); the limits are
        infeasible when it exceeds :data:`FEASIBILITY_TOL`.
    """
    s = _system(lower, upper, constraints)
    return _elastic(s, True, True, s.sides())[0]


# ------------------------------------------------------------------------------ the conflict
def find_conflict(
    lower: ArrayLike, upper: ArrayLike, constraints: LinearConstraints | None
) -> Conflict | None:
    """Find an irreducible set of limits that cannot all hold, or ``None`` when they can.

    Parameters
    ----------
    lower, upper : array_like of shape (n_assets,)
        Weight bounds (``∓inf`` for none).
    constraints : LinearConstraints or None

    Returns
    -------
    Conflict or None
        Infeasible (by more than :data:`FEASIBILITY_TOL`) while dropping any one member
        leaves it feasible.
    """
    s = _system(lower, upper, constraints)
    return _find_conflict(s)


def _find_conflict(s: _System) -> Conflict | None:
    sides = s.sides()
    v, res = _elastic(s, True, True, sides)
    if v <= FEASIBILITY_TOL:
        return None
    # The members carrying the elastic program's dual form an infeasible subsystem (the dual
    # is a Farkas certificate for them): start the deletion filter from those.
    y = np.abs(res.ineqlin.marginals) if sides else np.zeros(0)
    z = np.abs(res.lower.marginals[: s.n]) + np.abs(res.upper.marginals[: s.n])
    cand_sides = [sd for sd, yj in zip(sides, y, strict=True) if yj > _DUAL_ZERO]
    cand = (bool((z > _DUAL_ZERO).any()), abs(float(res.eqlin.marginals[0])) > _DUAL_ZERO)
    if _elastic(s, cand[0], cand[1], cand_sides)[0] <= FEASIBILITY_TOL:
        cand, cand_sides = (True, True), sides  # a doubtful certificate: filter everything
    bounds, budget = cand
    # Deletion filter: the bounds first (conflicts among limits alone read best), the budget,
    # then the rows from the last.
    if bounds and _elastic(s, False, budget, cand_sides)[0] > FEASIBILITY_TOL:
        bounds = False
    if budget and _elastic(s, bounds, False, cand_sides)[0] > FEASIBILITY_TOL:
        budget = False
    kept = list(cand_sides)
    for sd in reversed(cand_sides):
        trial = [t for t in kept if t != sd]
        if _elastic(s, bounds, budget, trial)[0] > FEASIBILITY_TOL:
            kept = trial
    return Conflict(bounds, budget, tuple(sorted(kept)))


def check_feasible(
    lower: ArrayLike, upper: ArrayLike, constraints: LinearConstraints | None
) -> None:
    """Raise :class:`InfeasibleError` naming the conflicting limits unless they can all hold.

    Decides whether some ``w`` has ``1ᵀw = 1``, ``lower ≤ w ≤ upper`` and
    ``constraints.lower ≤ A w ≤ constraints.upper`` (see the module's tolerance rule).

    Parameters
    ----------
    lower, upper : array_like of shape (n_assets,)
        Weight bounds (``∓inf`` for none), as validated.
    constraints : LinearConstraints or None

    Raises
    ------
    InfeasibleError
        With argument ``"constraints"`` and a short message naming the limits that conflict,
        e.g. *group limits cannot all hold: Equity min 60% + Bonds min 50% = 110% > 100%*.
    """
    s = _system(lower, upper, constraints)
    conflict = _find_conflict(s)
    if conflict is not None:
        raise InfeasibleError(_describe(s, conflict), "constraints")


# ------------------------------------------------------------------------------ the messages
def _is_group(a: Array) -> bool:
    """Tell a group row: coefficients 0 or 1, at least one 1."""
    return bool(np.isin(a, (0.0, 1.0)).all() and (a == 1.0).any())


def _fmt(x: float, group: bool) -> str:
    return fmt_pct(x) if group else _fmt_num(x)


def _fmt_pair(a: float, b: float, group: bool) -> tuple[str, str]:
    """Two numbers compared in one message, with digits enough to tell them apart."""
    if group:
        return fmt_pct_pair(a, b)
    for sig in range(6, 18):
        sa, sb = _fmt_num(a, sig), _fmt_num(b, sig)
        if sa != sb or a == b:
            break
    return sa, sb


def _fmt_num(x: float, sig: int = 6) -> str:
    """Format a plain number (an exposure: beta 1.2, duration 6)."""
    if not np.isfinite(x):
        return "unbounded" if x > 0 else "-unbounded"
    s = f"{x:.{sig}g}"
    return "0" if float(s) == 0 else s


def _limit(s: _System, j: int, side: int, shown: str | None = None) -> str:
    """``Equity min 60%``, ``Beta max 1.1`` or ``Equity = 60%`` (an equality row)."""
    val = s.lo[j] if side > 0 else s.hi[j]
    text = shown if shown is not None else _fmt(val, _is_group(s.A[j]))
    word = "=" if s.lo[j] == s.hi[j] else ("min" if side > 0 else "max")
    return f"{s.names[j]} {word} {text}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _box_range(a: Array, lo: Array, up: Array) -> tuple[float, float]:
    """Range of ``aᵀw`` over the box alone (no budget)."""
    nz = a != 0
    a, lo, up = a[nz], lo[nz], up[nz]
    low = np.where(a > 0, a * lo, a * up).sum()
    high = np.where(a > 0, a * up, a * lo).sum()
    return float(low), float(high)


def _describe(s: _System, c: Conflict) -> str:
    msg = None
    if not c.sides:
        msg = _bounds_only(s)
    elif len(c.sides) == 1:
        msg = _one_row(s, c)
    else:
        msg = _group_sum(s, c) or (_two_rows(s, c) if len(c.sides) == 2 else None)
    return msg if msg is not None else _generic(s, c)


def _bounds_only(s: _System) -> str:
    total = float(s.lower.sum())
    if total > 1.0:
        return (
            f"lower bounds sum to {fmt_pct_pair(total, 1.0)[0]}, more than 100%: no portfolio "
            f"can meet them; lower some minimum weights"
        )
    return (
        f"upper bounds sum to {fmt_pct_pair(float(s.upper.sum()), 1.0)[0]}, less than 100%: "
        f"weights cannot add up to one; raise some maximum weights"
    )


def _one_row(s: _System, c: Conflict) -> str | None:
    (j, side), a = c.sides[0], s.A[c.sides[0][0]]
    group, name = _is_group(a), s.names[j]
    limit = float(s.lo[j] if side > 0 else s.hi[j])
    if c.bounds and c.budget:
        low, high = lp_return_range(a, s.lower, s.upper)
    elif c.bounds:
        low, high = _box_range(a, s.lower, s.upper)
    elif c.budget:
        if not np.all(a == a[0]):
            return None
        low = high = float(a[0])
    else:
        low = high = 0.0
    reach = high if side > 0 else low  # what the others allow: the most, or the least
    if (side > 0 and not limit > reach) or (side < 0 and not limit < reach):
        return None  # not the pattern (rounding at the tolerance): list it plainly
    shown_limit, shown_reach = _fmt_pair(limit, reach, group)
    head = _limit(s, j, side, shown_limit)
    more = "more" if side < 0 else "less"
    if not c.bounds and not c.budget:
        return f"{head} cannot hold: its coefficients are all zero"
    if not c.bounds:
        if group:
            return (
                f"{head} conflicts with the budget: {name} holds every asset, and weights sum "
                f"to 100%"
            )
        return f"{head} conflicts with the budget: {name} is {shown_reach} for every portfolio"
    if not c.budget:
        if group:
            which = "lower" if side < 0 else "upper"
            return f"{head} conflicts with the {which} bounds of its members ({shown_reach})"
        return (
            f"{head} conflicts with the weight bounds, which keep {name} at {shown_reach} or {more}"
        )
    if group:
        if side < 0:
            return (
                f"{head} cannot hold: the budget and the other assets' upper bounds force "
                f"{name} to at least {shown_reach}"
            )
        return (
            f"{head} cannot hold: the budget and the other assets' lower bounds leave {name} "
            f"at most {shown_reach}"
        )
    return (
        f"{head} cannot hold with the budget and weight bounds, which keep {name} at "
        f"{shown_reach} or {more}"
    )


def _group_sum(s: _System, c: Conflict) -> str | None:
    """Disjoint groups whose minimums sum above 100% (or maximums, below)."""
    rows = [j for j, _ in c.sides]
    side = c.sides[0][1]
    if not c.budget or any(d != side for _, d in c.sides):
        return None
    if not all(_is_group(s.A[j]) for j in rows):
        return None
    members = s.A[rows] == 1.0
    if (members.sum(axis=0) > 1).any():
        return None  # overlapping groups
    others = ~members.any(axis=0)
    if others.any() and not c.bounds:
        return None
    limits = s.lo[rows] if side > 0 else s.hi[rows]
    extra = float((s.lower if side > 0 else s.upper)[others].sum())
    total = float(limits.sum()) + extra
    if (side > 0 and not total > 1.0) or (side < 0 and not total < 1.0):
        return None
    terms = [_limit(s, j, side) for j in rows]
    if extra != 0.0:
        terms.append(f"other assets' {'minimums' if side > 0 else 'maximums'} {fmt_pct(extra)}")
    shown_total, shown_one = fmt_pct_pair(total, 1.0)
    op = ">" if side > 0 else "<"
    msg = f"group limits cannot all hold: {' + '.join(terms)} = {shown_total} {op} {shown_one}"
    if len(msg) > _MAX_MSG:
        what = "minimums" if side > 0 else "maximums"
        listed = _short_list([s.names[j] for j in rows])
        msg = (
            f"group limits cannot all hold: the {what} of {listed} sum to {shown_total} {op} "
            f"{shown_one}"
        )
    return msg


def _two_rows(s: _System, c: Conflict) -> str | None:
    """Two rows that contradict each other: a group and its subgroup, or the same assets."""
    (i, di), (j, dj) = c.sides
    if di == dj:
        return None
    if di < 0:  # i: the minimum side, j: the maximum side
        (i, di), (j, dj) = (j, dj), (i, di)
    ai, aj = s.A[i], s.A[j]
    lo_i, hi_j = float(s.lo[i]), float(s.hi[j])
    if np.array_equal(ai, aj):
        if not lo_i > hi_j:
            return None
        shown_lo, shown_hi = _fmt_pair(lo_i, hi_j, _is_group(ai))
        first, second = sorted([(i, di, shown_lo), (j, dj, shown_hi)])
        return (
            f"{_limit(s, first[0], first[1], first[2])} contradicts "
            f"{_limit(s, second[0], second[1], second[2])}: both hold the same assets"
        )
    if not (_is_group(ai) and _is_group(aj)):
        return None
    sub, sup = ai == 1.0, aj == 1.0
    if not (sub <= sup).all():
        return None  # the minimum's group is not inside the maximum's
    rest = float(s.lower[sup & ~sub].sum()) if c.bounds else 0.0
    if not lo_i + rest > hi_j:
        return None
    shown_lo, shown_hi = fmt_pct_pair(lo_i, hi_j)
    msg = f"{_limit(s, j, dj, shown_hi)} conflicts with its subset {_limit(s, i, di, shown_lo)}"
    if not lo_i > hi_j:
        msg += f" and the lower bounds of its other members ({fmt_pct(rest)})"
    return msg


def _short_list(names: list[str]) -> str:
    return _join(names) if len(names) <= 4 else f"{', '.join(names[:3])} and {len(names) - 3} more"


def _generic(s: _System, c: Conflict) -> str:
    ctx = {
        (True, True): " with the budget and weight bounds",
        (True, False): " with the weight bounds",
        (False, True): " with the budget",
        (False, False): "",
    }[(c.bounds, c.budget)]
    verb = "cannot both hold" if len(c.sides) == 2 else "cannot all hold"
    items = [_limit(s, j, d) for j, d in c.sides]
    msg = f"limits {_join(items)} {verb}{ctx}"
    if len(msg) > _MAX_MSG:
        msg = f"limits {_short_list([s.names[j] for j, _ in c.sides])} {verb}{ctx}"
    return msg


# ------------------------------------------------------------------------------ return range
def return_range(
    mu: ArrayLike, lower: ArrayLike, upper: ArrayLike, constraints: LinearConstraints | None
) -> tuple[float, float]:
    """Lowest and highest expected return ``μᵀw`` over the feasible portfolios.

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
    lower, upper : array_like of shape (n_assets,)
        Weight bounds (``∓inf`` for none), as validated.
    constraints : LinearConstraints or None
        Without rows, the exact greedy range of :func:`xlfrontier.core._path.lp_return_range`.

    Returns
    -------
    (float, float)
        ``-inf``/``inf`` on a side where the return is unbounded.

    Raises
    ------
    InfeasibleError
        The limits cannot all hold (the message names them).
    """
    m = np.asarray(mu, dtype=np.float64).reshape(-1)
    s = _system(lower, upper, constraints)
    if s.A.shape[0] == 0:
        return lp_return_range(m, s.lower, s.upper)
    low = _lp_max(-m, s)
    if low is None:  # infeasible: say why (or the limits miss by less than the tolerance)
        check_feasible(s.lower, s.upper, constraints)
        s = _widened(s)
        low = _lp_max(-m, s)
    high = _lp_max(m, s)
    if low is None or high is None:
        raise SolverError("the return range could not be computed: please report this")
    return -low + 0.0, high + 0.0  # no -0.0


def _widened(s: _System) -> _System:
    """Widen the rows' limits by the tolerance (for limits that miss by less than it)."""
    pad = 2.0 * FEASIBILITY_TOL * s.scale
    return _System(s.lower, s.upper, s.A, s.lo - pad, s.hi + pad, s.scale, s.names)


def _lp_max(c: Array, s: _System) -> float | None:
    """``max cᵀw`` over the feasible set; ``inf`` when unbounded, ``None`` when infeasible."""
    from scipy.optimize import linprog

    eq = s.lo == s.hi
    up_rows = ~eq & np.isfinite(s.hi)
    lo_rows = ~eq & np.isfinite(s.lo)
    sc = s.scale[:, None]
    a_ub = np.vstack([s.A[up_rows] / sc[up_rows], -s.A[lo_rows] / sc[lo_rows]])
    b_ub = np.concatenate([s.hi[up_rows] / s.scale[up_rows], -s.lo[lo_rows] / s.scale[lo_rows]])
    a_eq = np.vstack([np.ones(s.n), s.A[eq] / sc[eq]])
    b_eq = np.concatenate([[1.0], s.lo[eq] / s.scale[eq]])
    box = np.column_stack([s.lower, s.upper])
    kw: dict[str, Any] = {
        "A_ub": a_ub if a_ub.shape[0] else None,
        "b_ub": b_ub if a_ub.shape[0] else None,
        "A_eq": a_eq,
        "b_eq": b_eq,
        "bounds": box,
        "method": "highs",
    }
    res = linprog(-c, options=_HIGHS, **kw)
    if res.status in (2, 4):
        # HiGHS's presolve can call an unbounded program infeasible (seen with unlimited
        # short selling), or leave it at "unbounded or infeasible": ask again without it.
        res = linprog(-c, options={**_HIGHS, "presolve": False}, **kw)
    if res.status == 0:
        w = np.clip(res.x, box[:, 0], box[:, 1])
        return float(c @ w)
    if res.status == 3:
        return np.inf
    if res.status == 2:
        return None
    raise SolverError(f"the return range LP failed ({res.message}): please report this")


# ------------------------------------------------------------------------------ equality rows
def reduce_equalities(
    A_eq: ArrayLike, b_eq: ArrayLike, names: tuple[str, ...] | list[str] | None = None
) -> NDArray[np.bool_]:
    """Drop equality rows that repeat the budget and earlier rows; refuse contradictory ones.

    The budget ``1ᵀw = 1`` comes first and is always kept; each row is then kept when it is
    linearly independent of the budget and the rows kept before it. The rank decision is a
    pivoted QR (``scipy.linalg.qr(pivoting=True)``) of the rows scaled to unit length, at the
    relative tolerance ``max(n, rows)·eps`` (numpy's ``matrix_rank`` rule): exact dependences
    typed into a sheet — a copied row, a group that is the sum of two others, a group of every
    asset — leave residuals of rounding size, below it; anything larger is a real difference
    in coefficients, and dropping such a row would let it be violated by more than the 1e-12
    the optimisers promise. A dependent row is consistent when its limit equals the same
    combination of the kept rows' limits to 1e-12 (relative, in the row's units).

    Parameters
    ----------
    A_eq : array_like of shape (k, n_assets)
        The equality rows (not the budget).
    b_eq : array_like of shape (k,)
        Their values.
    names : sequence of str, optional
        Row names for the message (default ``constraint 1``...).

    Returns
    -------
    ndarray of bool, shape (k,)
        ``True`` for the rows to keep.

    Raises
    ------
    InfeasibleError
        A dependent row whose value contradicts the rows it depends on, e.g. *constraint
        'Equity' = 60% contradicts 'Equity copy' = 50%*.
    """
    from scipy.linalg import qr

    b = np.asarray(b_eq, dtype=np.float64).reshape(-1)
    if b.size == 0:
        return np.zeros(0, dtype=bool)
    a = np.asarray(A_eq, dtype=np.float64).reshape(b.size, -1)
    k, n = a.shape
    labels = tuple(names) if names is not None else tuple(f"constraint {j + 1}" for j in range(k))
    rows = np.vstack([np.ones(n), a])
    vals = np.concatenate([[1.0], b])
    norms = np.linalg.norm(rows, axis=1)
    unit = rows / np.where(norms > 0, norms, 1.0)[:, None]
    keep = np.zeros(k, dtype=bool)
    basis = [0]
    for j in range(1, k + 1):
        if norms[j] > 0:
            r = qr(unit[[*basis, j]].T, mode="r", pivoting=True)[0]
            d = np.abs(np.diag(r))
            # numpy's matrix_rank rule (see the docstring for why this line).
            tol = max(n, len(basis) + 1) * np.finfo(np.float64).eps * d[0]
            if int((d > tol).sum()) > len(basis):
                keep[j - 1] = True
                basis.append(j)
                continue
            coef = np.linalg.lstsq(rows[basis].T, rows[j], rcond=None)[0]
        else:
            coef = np.zeros(len(basis))
        implied = float(coef @ vals[basis])
        size = max(abs(vals[j]), float(np.abs(coef * vals[basis]).sum()), float(norms[j]))
        if abs(vals[j] - implied) > _CONSISTENT * size:
            raise InfeasibleError(_contradiction(rows, vals, labels, basis, coef, j), "constraints")
    return keep


def _contradiction(
    rows: Array, vals: Array, labels: tuple[str, ...], basis: list[int], coef: Array, j: int
) -> str:
    def shown(i: int) -> str:
        return f"'{labels[i - 1]}' = {_fmt(float(vals[i]), _is_group(rows[i]))}"

    if not rows[j].any():
        return f"constraint {shown(j)} cannot hold: its coefficients are all zero"
    big = np.abs(coef) > 1e-9 * np.abs(coef).max()
    used = [i for i, b in zip(basis, big, strict=True) if b]
    earlier = [shown(i) for i in used if i != 0]
    if 0 in used:
        items = [*earlier, shown(j)]
        word = "constraint" if len(items) == 1 else "constraints"
        verb = "contradicts" if len(items) == 1 else "contradict"
        return f"{word} {_join(items)} {verb} the budget (weights sum to 100%)"
    word = "constraint" if len(earlier) == 1 else "constraints"
    verb = "contradicts" if len(earlier) == 1 else "contradict"
    return f"{word} {_join(earlier)} {verb} {shown(j)}"
