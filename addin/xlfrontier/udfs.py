"""Excel worksheet functions (xlwings UDFs): the catalog the add-in registers.

Each function is thin: it converts its ranges (:mod:`xlfrontier.excel._convert`), calls the
numerical core (:mod:`xlfrontier.core`) and shapes the answer for the sheet; every failure
becomes one short cell text (:mod:`xlfrontier.excel._errors`). The conventions (orientation,
bounds, blanks, percentages, limits, error tags) are documented in
``docs/excel-functions.md``.

On Linux xlwings binds no-op decorators, so this module imports without Excel and every
function can be called as plain Python (``MINVAR_WEIGHTS(mu, cov, 0.08)``) with numbers,
lists or numpy arrays. Array results are returned as ready-made rows of cells (lists of
lists) with ``@xw.ret("raw")``, so xlwings spends no time converting them; scalar results are
plain floats. The functions carry no type annotations on purpose: xlwings would read them as
conversion instructions. Each function declares its arguments with ``@_arguments(...)``: every
argument ``"raw"``, with the function-wizard help of :data:`ARG_HELP` unless the function gives
its own (``tests/excel/test_udf_metadata.py`` checks that xlwings sees exactly what one
``@xw.arg`` line per argument gave).
"""

from __future__ import annotations

# isort: split
# Before anything else: refuse to serve from a copy of xlfrontier that is not the installed
# one (e.g. planted beside a workbook); every function then shows one message instead.
import xlfrontier.excel._require_installed  # noqa: F401

# isort: split
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import xlwings as xw
from numpy.typing import NDArray

from xlfrontier.core.closed_form import merton_frontier
from xlfrontier.core.constraints import LinearConstraints, group_constraints
from xlfrontier.core.estimation import (
    DEFAULT_PERIODS_PER_YEAR,
    VOLATILITY_UNITS_LIMIT,
    InputReport,
    check_inputs,
    corr_from_cov,
    corr_matrix,
    cov_from_corr,
    cov_matrix,
    mean_returns,
    repair_psd,
    returns_from_prices,
)
from xlfrontier.core.frontier import efficient_frontier
from xlfrontier.core.metrics import (
    portfolio_return,
    portfolio_sharpe,
    portfolio_variance,
    portfolio_volatility,
    risk_contributions,
    sharpe_ratio,
)
from xlfrontier.core.optimize import (
    global_min_variance,
    max_return,
    max_sharpe,
    max_utility,
    min_variance,
)
from xlfrontier.core.results import PortfolioResult
from xlfrontier.core.validation import as_bounds as validate_bounds
from xlfrontier.excel import _convert as cv
from xlfrontier.excel._errors import excel_errors
from xlfrontier.excel.limits import MAX_POINTS, MIN_POINTS
from xlfrontier.exceptions import InputError, SolverError

__all__ = [
    "CHECK_INPUTS",
    "CORR_FROM_COV",
    "CORR_MATRIX",
    "COV_FROM_CORR",
    "COV_MATRIX",
    "EFFICIENT_FRONTIER",
    "FRONTIER_CORNERS",
    "FRONTIER_RANGE",
    "GMV_WEIGHTS",
    "GROUP_CONSTRAINTS",
    "MAXSHARPE_WEIGHTS",
    "MEAN_RETURNS",
    "MERTON_FRONTIER",
    "MINVAR_WEIGHTS",
    "NEAREST_PSD",
    "PORTFOLIO_EXPLAIN",
    "PORTFOLIO_RETURN",
    "PORTFOLIO_SHARPE",
    "PORTFOLIO_STATS",
    "PORTFOLIO_VOL",
    "RETURNS",
    "RISK_CONTRIBUTIONS",
    "TARGETVOL_WEIGHTS",
    "UTILITY_WEIGHTS",
]

CATEGORY = "xlfrontier"
DEFAULT_POINTS = 20
# Largest violation of the budget, of a bound or of a constraint row (relative to the largest
# weight, at least 1, times the row's coefficients) that an answer may have before it reaches a
# cell. The core certifies its results; this is the boundary's own check, so that a wrong
# answer becomes a #BUG! text instead of numbers.
FEASIBILITY_TOL = 1e-8

# Function-wizard help, shared by every function with the argument.
MU = "Expected returns: one row or column, one decimal per asset (8% = 0.08)"
COV = "Covariance matrix: square range, one row and one column per asset, in mu's order"
LOWER = (
    "Minimum weights: one cell for all assets or one per asset. Blank = 0 (long only); "
    '"none" = unlimited short selling'
)
UPPER = 'Maximum weights: one cell for all assets or one per asset. Blank or "none" = no limit'
RF = "Risk-free rate, same period as mu (decimal). Blank = 0"
LABELS = "Asset names for the column headers (optional; default Asset 1, Asset 2...)"
W = "Portfolio weights: one row or column, one decimal per asset, in mu's order"
R = "Target expected return (decimal: 8% = 0.08)"
DATA = (
    "Prices (or returns with is_returns = TRUE): dates down the rows, oldest first, one "
    "column per asset; blank cells = no data"
)
PERIODS = "Periods per year, to annualise: 252 daily (default), 52 weekly, 12 monthly"
SPAN = "EWMA span in periods (default 500), for the ewma method"
IS_RETURNS = "TRUE if the table holds returns (decimals) rather than prices. Default FALSE"
CONSTRAINTS = (
    "Constraints (optional): one row per limit, Name | Min | Max | one coefficient per asset "
    "(e.g. from GROUP_CONSTRAINTS). Blank Min/Max = no limit"
)
COV_METHOD = (
    '"sample" (default), "ewma", "ledoit_wolf" (constant correlation) or "ledoit_wolf_identity"'
)


#: The function-wizard help of the arguments that several functions share: a worksheet
#: function's argument of this name gets this help unless the function gives its own.
ARG_HELP: dict[str, str] = {
    "mu": MU,
    "cov": COV,
    "lower": LOWER,
    "upper": UPPER,
    "rf": RF,
    "labels": LABELS,
    "w": W,
    "r": R,
    "prices_or_returns": DATA,
    "periods_per_year": PERIODS,
    "span": SPAN,
    "is_returns": IS_RETURNS,
    "constraints": CONSTRAINTS,
}

_F = TypeVar("_F", bound=Callable[..., Any])


def _arguments(**own: str) -> Callable[[_F], _F]:
    """Declare every argument of a worksheet function to xlwings, with its wizard help.

    Equivalent to one ``@xw.arg(name, "raw", doc=...)`` per parameter, in signature order:
    every argument arrives unconverted (``"raw"``, see :mod:`xlfrontier.excel._convert`) and
    its help is ``own[name]`` when given, else :data:`ARG_HELP` ``[name]``. Place it where
    those lines would be (below ``@xw.func``).

    Parameters
    ----------
    **own : str
        Help for arguments that have none in :data:`ARG_HELP`, or that say something
        specific to this function.

    Raises
    ------
    TypeError
        When ``own`` names an argument the function does not have, or an argument has no
        help (a programming error, raised when the module is imported).
    """

    def declare(f: _F) -> _F:
        names = list(inspect.signature(f).parameters)
        unknown = set(own) - set(names)
        if unknown:
            raise TypeError(f"{f.__name__} has no argument {', '.join(sorted(unknown))}")
        for name in names:
            doc = own.get(name, ARG_HELP.get(name))
            if doc is None:
                raise TypeError(f"{f.__name__}: argument {name} needs its help text")
            f = xw.arg(name, "raw", doc=doc)(f)
        return f

    return declare


@dataclass(frozen=True)
class _Inputs:
    """Converted and validated inputs of an optimisation."""

    mu: NDArray[np.float64]
    cov: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    orientation: str
    constraints: LinearConstraints | None = None

    @property
    def n(self) -> int:
        return int(self.mu.size)


def _assets(mu: Any, cov: Any) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    """Convert ``mu`` and ``cov``; return them with the orientation of ``mu``."""
    m, orientation = cv.as_vector(mu, "mu")
    return m, cv.as_matrix(cov, "cov", m.size), orientation


def _problem(
    assets: tuple[NDArray[np.float64], NDArray[np.float64], str],
    lower: Any,
    upper: Any,
    constraints: Any = None,
    *,
    r: float | None = None,
    rf: float | None = None,
    vol: float | None = None,
) -> _Inputs:
    """Convert the bounds, check the units, validate the whole problem.

    Arguments are converted in the order of the function's arguments, so that the message is
    about the first one that is wrong.
    """
    m, c, orientation = assets
    lo = cv.as_bounds(lower, "lower", m.size)
    up = cv.as_bounds(upper, "upper", m.size)
    cons = cv.as_constraints(constraints, m.size)
    cv.check_units(m, c, r=r, rf=rf, vol=vol)
    cv.check_percent_bounds(lo, up)
    # The covariance (symmetry, PSD) is validated once, by the core function it goes to.
    lo_v, up_v = validate_bounds(lo, up, m.size)
    cv.check_percent_constraints(cons, lo_v)
    return _Inputs(m, c, lo_v, up_v, orientation, cons)


def _feasible(w: NDArray[np.float64], p: _Inputs) -> NDArray[np.float64]:
    """Return ``w`` (one portfolio or one per row) after checking budget, bounds, constraints."""
    w2 = np.atleast_2d(w)
    scale = max(1.0, float(np.abs(w2).max()))
    with np.errstate(invalid="ignore"):  # inf - inf for unlimited bounds
        worst = max(
            float(np.abs(w2.sum(axis=1) - 1.0).max()),
            float(np.nan_to_num(p.lower - w2, nan=0.0).max()),
            float(np.nan_to_num(w2 - p.upper, nan=0.0).max()),
        )
    if p.constraints is not None and p.constraints.m and np.isfinite(w2).all():
        a = p.constraints.A
        v = w2 @ a.T  # (portfolios, rows)
        miss = np.maximum(p.constraints.lower - v, v - p.constraints.upper)
        # A row's value carries rounding in proportion to its coefficients (|a_j|·|w|).
        worst = max(worst, float((miss / np.maximum(1.0, np.abs(a).sum(axis=1))).max()))
    if not (np.isfinite(w2).all() and worst <= FEASIBILITY_TOL * scale):
        raise SolverError(
            f"the optimiser's answer failed the budget/bounds/constraints check (violation "
            f"{worst:.1e})"
        )
    return w


def _weights(res: PortfolioResult, p: _Inputs) -> list[list[Any]]:
    w = _feasible(res.weights, p)
    return cv.shaped(cv.clean_weights(w, p.lower, p.upper), p.orientation)


def _bound_text(b: float) -> float | str:
    return b if np.isfinite(b) else "none"


# -- optimal portfolios ----------------------------------------------------------------------


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def MINVAR_WEIGHTS(mu, cov, r, lower=None, upper=None, constraints=None):
    """Return the weights of the minimum-variance portfolio with expected return r.

    They spill in the orientation of mu (a column for a column).
    """
    assets = _assets(mu, cov)
    target = cv.as_number(r, "r", what="a target return (decimal: 8% = 0.08)")
    p = _problem(assets, lower, upper, constraints, r=target)
    return _weights(
        min_variance(p.mu, p.cov, target, p.lower, p.upper, constraints=p.constraints), p
    )


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def GMV_WEIGHTS(cov, lower=None, upper=None, constraints=None):
    """Return the weights of the global minimum-variance portfolio.

    They spill as a column.
    """
    c = cv.as_matrix(cov, "cov")
    lo = cv.as_bounds(lower, "lower", c.shape[0])
    up = cv.as_bounds(upper, "upper", c.shape[0])
    cons = cv.as_constraints(constraints, c.shape[0])
    cv.check_percent_bounds(lo, up)
    lo_v, up_v = validate_bounds(lo, up, c.shape[0])
    cv.check_percent_constraints(cons, lo_v)
    p = _Inputs(np.zeros(c.shape[0]), c, lo_v, up_v, "column", cons)
    return _weights(global_min_variance(p.cov, p.lower, p.upper, constraints=p.constraints), p)


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def MAXSHARPE_WEIGHTS(mu, cov, rf=None, lower=None, upper=None, constraints=None):
    """Return the weights of the tangency (maximum Sharpe ratio) portfolio.

    The Sharpe ratio is (expected return - rf) / volatility.
    """
    assets = _assets(mu, cov)
    rate = cv.as_number(rf, "rf", 0.0, what="a risk-free rate (decimal)")
    p = _problem(assets, lower, upper, constraints, rf=rate)
    return _weights(max_sharpe(p.mu, p.cov, rate, p.lower, p.upper, constraints=p.constraints), p)


@xw.func(category=CATEGORY)
@_arguments(vol="Highest acceptable volatility (decimal: 15% = 0.15)")
@xw.ret("raw")
@excel_errors
def TARGETVOL_WEIGHTS(mu, cov, vol, lower=None, upper=None, constraints=None):
    """Return the weights of the highest-return portfolio with volatility at most vol."""
    assets = _assets(mu, cov)
    target = cv.as_number(vol, "vol", what="a target volatility (decimal: 15% = 0.15)")
    p = _problem(assets, lower, upper, constraints, vol=target)
    return _weights(max_return(p.mu, p.cov, target, p.lower, p.upper, constraints=p.constraints), p)


@xw.func(category=CATEGORY)
@_arguments(risk_aversion="Risk aversion δ > 0 in return - δ/2 x variance (e.g. 3)")
@xw.ret("raw")
@excel_errors
def UTILITY_WEIGHTS(mu, cov, risk_aversion, lower=None, upper=None, constraints=None):
    """Return the weights that maximise the mean-variance utility.

    The utility is expected return - risk_aversion / 2 x variance.
    """
    assets = _assets(mu, cov)
    delta = cv.as_number(risk_aversion, "risk_aversion", what="a positive risk aversion (e.g. 3)")
    p = _problem(assets, lower, upper, constraints)
    return _weights(max_utility(p.mu, p.cov, delta, p.lower, p.upper, constraints=p.constraints), p)


# -- constraints -----------------------------------------------------------------------------


@xw.func(category=CATEGORY)
@_arguments(
    groups=(
        "Each asset's group (sector, region...): one row per asset in mu's order, a column per "
        "classification; a single row also works. Blank = in no group"
    ),
    limits="Table Group | Min | Max, one row per group (header row optional). Blank = no limit",
)
@xw.ret("raw")
@excel_errors
def GROUP_CONSTRAINTS(groups, limits):
    """Return the constraint table of group limits, for the constraints argument.

    One row per group of limits: Name, Min, Max (empty = no limit), then 1 for each asset in
    the group and 0 for the others.
    """
    labels = cv.as_group_labels(groups, "groups")
    wanted = cv.as_group_limits(limits, "limits")
    # The core reads None as "in no group"; one column per classification.
    table = np.array(labels, dtype=object)
    try:
        cons = group_constraints(table[:, 0] if table.shape[1] == 1 else table, wanted)
    except InputError as err:  # a group no asset is in: the limits table is at fault
        raise InputError(str(err), "limits") from err
    rows = zip(cons.names, cons.lower.tolist(), cons.upper.tolist(), cons.A.tolist(), strict=True)
    return cv.table([[name, _limit_cell(lo), _limit_cell(hi), *row] for name, lo, hi, row in rows])


def _limit_cell(x: float) -> float | None:
    """Return a constraint limit as a cell: the number, or an empty cell for no limit."""
    return x if np.isfinite(x) else None


# -- the frontier ----------------------------------------------------------------------------


def _frontier_table(
    names: list[str],
    returns: NDArray[np.float64],
    vols: NDArray[np.float64],
    weights: NDArray[np.float64],
    rf: float,
    p: _Inputs,
) -> list[list[Any]]:
    # Weights are cleaned as one matrix (finite, no -0.0): only the statistics need clean().
    w = cv.clean_weights(_feasible(weights, p), p.lower, p.upper).tolist()
    rows: list[list[Any]] = [["Return", "Volatility", "Sharpe", *names]]
    for r, v, wr in zip(returns.tolist(), vols.tolist(), w, strict=True):
        rows.append([cv.clean(r), cv.clean(v), cv.clean(sharpe_ratio(r, v, rf)), *wr])
    return rows


@xw.func(category=CATEGORY)
@_arguments(
    points=f"Number of rows, {MIN_POINTS} to {MAX_POINTS} (default {DEFAULT_POINTS})",
    rf="Risk-free rate for the Sharpe column (decimal). Blank = 0",
)
@xw.ret("raw")
@excel_errors
def EFFICIENT_FRONTIER(
    mu, cov, points=None, lower=None, upper=None, rf=None, labels=None, constraints=None
):
    """Return the efficient frontier as a table with a header row.

    Columns: Return, Volatility, Sharpe, one weight per asset; points rows evenly spaced in
    return from the minimum-variance portfolio to the highest return.
    """
    assets = _assets(mu, cov)
    count = cv.as_integer(
        points, "points", DEFAULT_POINTS, MIN_POINTS, MAX_POINTS, what="the number of frontier rows"
    )
    lo = cv.as_bounds(lower, "lower", assets[0].size)  # converted again in _problem: cheap
    up = cv.as_bounds(upper, "upper", assets[0].size)
    rate = cv.as_number(rf, "rf", 0.0, what="a risk-free rate (decimal)")
    names = cv.as_labels(labels, assets[0].size)
    cons = cv.as_constraints(constraints, assets[0].size)
    p = _problem(assets, lo, up, cons, rf=rate)
    sample = efficient_frontier(p.mu, p.cov, p.lower, p.upper, constraints=p.constraints).sample(
        count
    )
    return _frontier_table(names, sample.returns, sample.volatilities, sample.weights, rate, p)


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def FRONTIER_CORNERS(mu, cov, lower=None, upper=None, labels=None, constraints=None):
    """Return the exact corner (turning) portfolios of the efficient frontier.

    From the minimum-variance one up; columns Return, Volatility, Sharpe (rf = 0), one weight
    per asset.
    """
    assets = _assets(mu, cov)
    lo = cv.as_bounds(lower, "lower", assets[0].size)
    up = cv.as_bounds(upper, "upper", assets[0].size)
    names = cv.as_labels(labels, assets[0].size)
    cons = cv.as_constraints(constraints, assets[0].size)
    p = _problem(assets, lo, up, cons)
    ef = efficient_frontier(p.mu, p.cov, p.lower, p.upper, constraints=p.constraints)
    return _frontier_table(
        names, ef.corner_returns, ef.corner_volatilities, ef.corner_weights, 0.0, p
    )


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def FRONTIER_RANGE(mu, cov, lower=None, upper=None, constraints=None):
    """Return the lowest and highest attainable efficient returns.

    With their volatilities: feasible targets for MINVAR_WEIGHTS lie between.
    """
    p = _problem(_assets(mu, cov), lower, upper, constraints)
    ef = efficient_frontier(p.mu, p.cov, p.lower, p.upper, constraints=p.constraints)
    return cv.table(
        [
            ["", "Return", "Volatility"],
            ["Lowest (minimum variance)", ef.min_return, ef.min_volatility],
            ["Highest", ef.max_return, ef.max_volatility],
        ]
    )


# -- statistics of a given portfolio ---------------------------------------------------------


def _w(w: Any, n: int | None = None) -> tuple[NDArray[np.float64], str]:
    return cv.as_vector(w, "w", n, what="a weight")


@xw.func(category=CATEGORY)
@_arguments()
@excel_errors
def PORTFOLIO_RETURN(w, mu):
    """Return the expected return of the portfolio w (the sum of w x mu)."""
    weights, _ = _w(w)
    m, _ = cv.as_vector(mu, "mu", weights.size)
    return cv.clean(portfolio_return(weights, m))


@xw.func(category=CATEGORY)
@_arguments()
@excel_errors
def PORTFOLIO_VOL(w, cov):
    """Return the volatility (standard deviation of return) of the portfolio w."""
    weights, _ = _w(w)
    c = cv.as_matrix(cov, "cov", weights.size)
    return cv.clean(portfolio_volatility(weights, c))


@xw.func(category=CATEGORY)
@_arguments()
@excel_errors
def PORTFOLIO_SHARPE(w, mu, cov, rf=None):
    """Return the Sharpe ratio of the portfolio w: (return - rf) / volatility."""
    weights, _ = _w(w)
    m, _ = cv.as_vector(mu, "mu", weights.size)
    c = cv.as_matrix(cov, "cov", weights.size)
    rate = cv.as_number(rf, "rf", 0.0, what="a risk-free rate (decimal)")
    cv.check_units(m, c, rf=rate)
    return cv.clean(portfolio_sharpe(weights, m, c, rate))


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def PORTFOLIO_STATS(w, mu, cov, rf=None):
    """Return a two-column table of statistics of the portfolio w.

    Return, volatility, variance, Sharpe ratio, sum of weights, number of holdings.
    """
    weights, _ = _w(w)
    m, _ = cv.as_vector(mu, "mu", weights.size)
    c = cv.as_matrix(cov, "cov", weights.size)
    rate = cv.as_number(rf, "rf", 0.0, what="a risk-free rate (decimal)")
    cv.check_units(m, c, rf=rate)
    ret = portfolio_return(weights, m)
    var = portfolio_variance(weights, c)
    vol = float(np.sqrt(var))
    clean_w = cv.clean_weights(weights)
    return cv.table(
        [
            ["Return", ret],
            ["Volatility", vol],
            ["Variance", var],
            [
                "Sharpe ratio",
                sharpe_ratio(ret, vol, rate) if vol > 0 else "undefined (zero volatility)",
            ],
            ["Sum of weights", float(weights.sum())],
            ["Holdings", int(np.count_nonzero(clean_w))],
        ]
    )


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def RISK_CONTRIBUTIONS(w, cov):
    """Return each asset's share of the portfolio variance (they sum to 1).

    w_i (Σw)_i / wᵀΣw, spilling in the orientation of w.
    """
    weights, orientation = _w(w)
    c = cv.as_matrix(cov, "cov", weights.size)
    return cv.shaped(cv.clean_weights(risk_contributions(weights, c)), orientation)


# -- explanations ----------------------------------------------------------------------------


_OBJECTIVES = {
    "min_variance": "minimum variance at the target return",
    "global_min_variance": "global minimum variance",
    "max_sharpe": "maximum Sharpe ratio",
    "max_return": "maximum return at the target volatility",
    "max_utility": "maximum mean-variance utility",
}


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def PORTFOLIO_EXPLAIN(mu, cov, r, lower=None, upper=None, constraints=None):
    """Explain the minimum-variance portfolio at return r.

    Solver status, shadow prices of the budget and return constraints, KKT residuals, then per
    asset its weight, bounds, binding bound and shadow price (and the same per constraint row).
    """
    assets = _assets(mu, cov)
    target = cv.as_number(r, "r", what="a target return (decimal: 8% = 0.08)")
    p = _problem(assets, lower, upper, constraints, r=target)
    res = min_variance(p.mu, p.cov, target, p.lower, p.upper, constraints=p.constraints)
    w = cv.clean_weights(_feasible(res.weights, p), p.lower, p.upper)
    z = cv.clean_weights(res.bound_multipliers)
    kkt = res.kkt
    rows: list[list[Any]] = [
        ["Objective", _OBJECTIVES.get(res.objective, res.objective)],
        ["Status", res.status],
        ["Target return", target],
        ["Expected return", res.expected_return],
        ["Volatility", res.volatility],
        ["Variance", res.variance],
        ["Budget shadow price γ (Δ variance per unit of budget)", res.budget_multiplier],
        ["Return shadow price η (Δ variance per unit of return)", res.return_multiplier],
        ["KKT primal residual", kkt.primal],
        ["KKT dual residual", kkt.dual],
        ["KKT complementarity residual", kkt.complementarity],
        ["Certified optimal (residuals ≤ 1e-9)", "yes" if kkt.is_optimal(1e-9) else "no"],
        [],
        ["Asset", "Weight", "Lower", "Upper", "Binding bound", "Bound shadow price"],
    ]
    for i in range(p.n):
        binding = "lower" if res.at_lower[i] else "upper" if res.at_upper[i] else ""
        rows.append(
            [
                f"Asset {i + 1}",
                float(w[i]),
                _bound_text(float(p.lower[i])),
                _bound_text(float(p.upper[i])),
                binding,
                float(z[i]),
            ]
        )
    if p.constraints is not None:
        rows += [[], ["Constraint", "Value", "Min", "Max", "Binding", "Shadow price"]]
        rows += _constraint_rows(res, p.constraints)
    return cv.table(rows)


# Whether a constraint row binds, from (at_min, at_max); both for an equality row.
_BINDS = {
    (True, True): "equality",
    (True, False): "at min",
    (False, True): "at max",
    (False, False): "no",
}


def _constraint_rows(res: PortfolioResult, cons: LinearConstraints) -> list[list[Any]]:
    """Return one row per constraint: name, value, Min, Max, whether it binds, shadow price."""
    values = cv.clean_weights(res.constraint_values, cons.lower, cons.upper)
    prices = cv.clean_weights(res.constraint_multipliers)
    out: list[list[Any]] = []
    for j, name in enumerate(cons.names):
        at_min, at_max = bool(res.at_min[j]), bool(res.at_max[j])
        binds = _BINDS[(at_min, at_max)]
        out.append(
            [
                name,
                float(values[j]),
                _bound_text(float(cons.lower[j])),
                _bound_text(float(cons.upper[j])),
                binds,
                float(prices[j]),
            ]
        )
    return out


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def MERTON_FRONTIER(mu, cov):
    """Return the closed-form frontier without bounds (short selling allowed).

    Merton's A, B, C, D, the minimum-variance return and volatility, and variance(r) = (A r² -
    2B r + C) / D.
    """
    m, _ = cv.as_vector(mu, "mu")
    c = cv.as_matrix(cov, "cov", m.size)
    cv.check_units(m, c)
    mf = merton_frontier(m, c)
    undefined = "undefined (all expected returns equal)"

    def shown(x: float) -> float | str:
        return undefined if mf.degenerate else x

    a2, a1, a0 = mf.variance_coefficients
    return cv.table(
        [
            ["A = 1ᵀΣ⁻¹1", mf.A],
            ["B = 1ᵀΣ⁻¹μ", mf.B],
            ["C = μᵀΣ⁻¹μ", mf.C],
            ["D = AC − B²", mf.D],
            ["Minimum-variance return B/A", mf.gmv_return],
            ["Minimum-variance volatility √(1/A)", mf.gmv_volatility],
            ["variance(r): coefficient of r², A/D", shown(a2)],
            ["variance(r): coefficient of r, −2B/D", shown(a1)],
            ["variance(r): constant, C/D", shown(a0)],
            ["Asymptote slope √(D/A) (Sharpe at rf = B/A)", shown(mf.asymptote_slope)],
        ]
    )


# -- inputs from data (issue 6) --------------------------------------------------------------


def _matrix_out(m: NDArray[np.float64]) -> list[list[Any]]:
    a = np.asarray(m, dtype=np.float64)
    if np.isfinite(a).all():
        return (a + 0.0).tolist()  # + 0.0 turns -0.0 into 0.0
    return [[cv.clean(x) for x in row] for row in a.tolist()]


@xw.func(category=CATEGORY)
@_arguments(
    prices=(
        "Prices: dates down the rows (oldest first), one column per asset; blank cells = no "
        "price that day"
    ),
    method='"simple" (default): P/P_prev - 1, or "log": ln(P/P_prev)',
)
@xw.ret("raw")
@excel_errors
def RETURNS(prices, method=None):
    """Return the period returns of a table of prices (one row shorter).

    Each return is from the asset's previous price; blank where there is no price.
    """
    table = cv.as_table(prices, "prices")
    how = cv.as_option(method, "method")
    return _matrix_out(returns_from_prices(table, how))


@xw.func(category=CATEGORY)
@_arguments(method='"arithmetic" (default), "geometric" (CAGR) or "ewma"')
@xw.ret("raw")
@excel_errors
def MEAN_RETURNS(prices_or_returns, periods_per_year=None, method=None, span=None, is_returns=None):
    """Return annualised expected returns, one per asset column (a row).

    Arithmetic mean (default), geometric (CAGR) or exponentially weighted.
    """
    table = cv.as_table(prices_or_returns, "prices_or_returns")
    ppy, how, s, flag = _estimation_options(periods_per_year, method, span, is_returns)
    return cv.shaped(mean_returns(table, ppy, how, s, flag), "row")


def _estimation_options(
    periods_per_year: Any, method: Any, span: Any, is_returns: Any
) -> tuple[float, str | None, float | None, bool]:
    """Convert the shared options; blank ones get the core's defaults."""
    ppy = (
        DEFAULT_PERIODS_PER_YEAR
        if cv.is_missing(periods_per_year)
        else cv.as_number(periods_per_year, "periods_per_year", what="periods per year")
    )
    how = cv.as_option(method, "method")
    s = None if cv.is_missing(span) else cv.as_number(span, "span", what="a span in periods")
    return ppy, how, s, bool(cv.as_flag(is_returns, "is_returns"))


@xw.func(category=CATEGORY)
@_arguments(method=COV_METHOD)
@xw.ret("raw")
@excel_errors
def COV_MATRIX(prices_or_returns, periods_per_year=None, method=None, span=None, is_returns=None):
    """Return the annualised covariance matrix of the assets' returns.

    Sample, exponentially weighted or Ledoit-Wolf shrinkage; missing history is used pairwise.
    """
    table = cv.as_table(prices_or_returns, "prices_or_returns")
    return _matrix_out(
        cov_matrix(table, *_estimation_options(periods_per_year, method, span, is_returns))
    )


@xw.func(category=CATEGORY)
@_arguments(method=COV_METHOD)
@xw.ret("raw")
@excel_errors
def CORR_MATRIX(prices_or_returns, method=None, span=None, is_returns=None):
    """Return the correlation matrix of the assets' returns.

    Same methods as COV_MATRIX.
    """
    table = cv.as_table(prices_or_returns, "prices_or_returns")
    _, how, s, flag = _estimation_options(None, method, span, is_returns)
    return _matrix_out(corr_matrix(table, how, s, flag))


@xw.func(category=CATEGORY)
@_arguments(
    corr="Correlation matrix: square, ones on the diagonal",
    vols="Volatilities (decimals: 20% = 0.2), one per asset, in corr's order",
)
@xw.ret("raw")
@excel_errors
def COV_FROM_CORR(corr, vols):
    """Return the covariance matrix of a correlation matrix and volatilities.

    cov_ij = vol_i x corr_ij x vol_j.
    """
    v, _ = cv.as_vector(vols, "vols", what="a volatility")
    r = cv.as_matrix(corr, "corr", v.size)
    return _matrix_out(cov_from_corr(r, v, max_volatility=VOLATILITY_UNITS_LIMIT))


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def CORR_FROM_COV(cov):
    """Return the correlation matrix of a covariance matrix.

    corr_ij = cov_ij / (vol_i x vol_j).
    """
    return _matrix_out(corr_from_cov(cv.as_matrix(cov, "cov")))


@xw.func(category=CATEGORY)
@_arguments(
    cov="Covariance (or correlation) matrix to repair",
    min_eigenvalue=(
        "Smallest eigenvalue of the repaired correlations (default 0; e.g. 1e-8 for strictly "
        "positive definite)"
    ),
    report=(
        "TRUE: return the repair report (distances, eigenvalues) instead of the matrix. "
        "Default FALSE"
    ),
)
@xw.ret("raw")
@excel_errors
def NEAREST_PSD(cov, min_eigenvalue=None, report=None):
    """Return the nearest positive semi-definite matrix with the same variances.

    Higham's nearest correlation matrix; report = TRUE shows the size of the repair instead.
    """
    c = cv.as_matrix(cov, "cov")
    floor = (
        0.0
        if cv.is_missing(min_eigenvalue)
        else cv.as_number(min_eigenvalue, "min_eigenvalue", what="an eigenvalue floor below 1")
    )
    show = cv.as_flag(report, "report")
    rep = repair_psd(c, floor)
    if not show:
        return _matrix_out(rep.matrix)
    return cv.table(
        [
            ["Repaired", "yes" if rep.changed else "no (already positive semi-definite)"],
            ["Frobenius distance", rep.frobenius_distance],
            ["Correlation distance", rep.correlation_distance],
            ["Smallest eigenvalue before", rep.min_eigenvalue_before],
            ["Smallest eigenvalue after", rep.min_eigenvalue_after],
            ["Iterations", rep.iterations],
            ["Converged", "yes" if rep.converged else "no (the result is still PSD)"],
        ]
    )


@xw.func(category=CATEGORY)
@_arguments()
@xw.ret("raw")
@excel_errors
def CHECK_INPUTS(mu, cov, lower=None, upper=None):
    """Return a report on the optimiser's inputs: check, OK/WARN/ERROR, detail.

    Symmetry, positive semi-definiteness, condition number, correlations, percent units,
    periodicity, bounds.
    """
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, convert in (
        ("mu", lambda v: cv.as_vector(v, "mu")[0]),
        ("cov", lambda v: cv.as_matrix(v, "cov")),
    ):
        raw = mu if name == "mu" else cov
        try:
            values[name] = convert(raw)
        except InputError as err:
            problems[name] = str(err)
            values[name] = cv.lenient_numbers(raw)
    n = (
        values["mu"].size
        if "mu" not in problems
        else (values["cov"].shape[0] if "cov" not in problems else 1)
    )
    bounds: list[Any] = [None, None]
    for k, (name, raw) in enumerate((("lower", lower), ("upper", upper))):
        try:
            bounds[k] = cv.as_bounds(raw, name, n)
        except InputError as err:
            problems["bounds"] = str(err)
    if values["mu"] is None or values["cov"] is None:
        report = InputReport(()).with_errors(problems)
    else:
        report = check_inputs(values["mu"], values["cov"], *bounds).with_errors(problems)
    return cv.table([["Check", "Status", "Detail"], ["overall", report.status, ""], *report.rows()])
