"""Fuzz every worksheet function with Excel-like input through ``XLPython().CallUDF``.

Each argument is either plausible (a valid ``mu``/``cov``/bounds of the drawn size, perhaps
with one cell spoiled) or anything Excel can pass: single cells, rows, columns and blocks of
floats (tiny, huge, negative zero), blanks (``None``), text, TRUE/FALSE, dates, error values as
COM delivers them, and the VBA "missing argument" marker. The properties:

* nothing escapes ``CallUDF`` (no exception ever reaches Excel);
* a text answer is one tagged line of at most 255 characters, never a traceback and never
  ``#BUG!`` (an unexpected exception is a bug);
* otherwise the answer has the shape the function promises, with finite numbers (and no
  negative zero) where numbers are due.

The ``constraints`` tables (issue 11) are drawn plausible (group and exposure rows, a header,
spare blank rows, "none" limits) or spoiled; ``test_fuzz_constraints_argument`` draws them
from anything a user might select, and checks that an answer meets the table it was given.
"""

from __future__ import annotations

import datetime as dt
import inspect
import math
import os

import numpy as np
import pytest
from _udf_harness import UDF_MODULE, call_udf
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.excel import _convert as cv
from xlfrontier.exceptions import InputError

MISSING = -2147352572
ERRORS = [
    -2146826281,
    -2146826246,
    -2146826259,
    -2146826288,
    -2146826252,
    -2146826265,
    -2146826273,
    -2146826245 - 2,
]  # the last: #SPILL! (xlErr 2045)
TAGS = ("#INPUT! ", "#INFEASIBLE! ", "#UNBOUNDED! ")
# The full budget under XLFRONTIER_SLOW=1 (what CI sets); a quarter of it by default, which
# keeps the everyday run fast (this file was almost half of it).
SLOW = bool(os.environ.get("XLFRONTIER_SLOW"))


def budget(full: int) -> int:
    """Examples per test: ``full`` in the slow run, a quarter of it otherwise."""
    return full if SLOW else max(10, full // 4)


# Derandomized so that CI is reproducible; XLFRONTIER_FUZZ_RANDOM=1 explores new examples.
SETTINGS = settings(
    max_examples=budget(120),
    deadline=None,
    database=None,
    derandomize=not os.environ.get("XLFRONTIER_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- Excel values ----------------------------------------------------------------------------

# Numbers as cells hold them: a few decimals, zero (also negative zero), percent typos and
# magnitudes beyond the 1e10 limit. Numbers near the float underflow limit (which Excel can
# hold down to 2.2e-308) are left to test_fuzz_extreme_magnitudes.
numbers = st.one_of(
    st.floats(-1.0, 1.0).map(lambda x: round(x, 6)),
    st.sampled_from([0.0, -0.0, 1.0, 1e-8, -1e-8, 8.0, 100.0, 1e9, 1e11, -1e11, 1e300]),
    st.integers(-5, 5),  # VBA Long
)
junk = st.one_of(
    st.none(),
    st.sampled_from(ERRORS),
    st.just(MISSING),
    st.booleans(),
    st.sampled_from(
        ["", " ", "abc", "none", "NONE", "short", "-inf", "inf", "8%", "#N/A", "0.1", "unlimited"]
    ),
    st.text(max_size=300),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)
cells = st.one_of(numbers, numbers, junk)


@st.composite
def blocks(draw, cell=cells, max_side=5):
    """A range as COM delivers it: a scalar for one cell, else a tuple of row tuples."""
    r = draw(st.integers(1, max_side))
    c = draw(st.integers(1, max_side))
    if r == c == 1 and draw(st.booleans()):
        return draw(cell)
    return tuple(tuple(draw(cell) for _ in range(c)) for _ in range(r))


excel_values = st.one_of(cells, blocks())


def shaped(values, as_row):
    return (tuple(values),) if as_row else tuple((v,) for v in values)


@st.composite
def spoil(draw, rows):
    """Replace one cell of a range (or the single cell) by junk."""
    if not isinstance(rows, tuple):
        return draw(junk)
    grid = [list(r) for r in rows]
    i = draw(st.integers(0, len(grid) - 1))
    j = draw(st.integers(0, len(grid[0]) - 1))
    grid[i][j] = draw(junk)
    return tuple(tuple(r) for r in grid)


def as_range(draw, values, as_row=None):
    """A vector as Excel passes it: a single cell when n = 1 (sometimes), a row or a column."""
    if len(values) == 1 and draw(st.booleans()):
        return values[0]
    return shaped(values, draw(st.booleans()) if as_row is None else as_row)


def typed(draw, low, high, decimals):
    """A number as a user types it into a cell: a few decimals."""
    return round(draw(st.floats(low, high, allow_nan=False)), decimals)


@st.composite
def problems(draw, n, kind="spreadsheet"):
    """Numbers of a careful user's problem: mu, cov, w.

    ``"spreadsheet"``: typed numbers (a few decimals) and a positive definite covariance (a
    factor model plus specific risk). ``"degenerate"``: typed numbers, but what real inputs
    can also hold: riskless assets (zero rows and columns), singular covariances (fewer
    factors than assets, no specific risk) and tied expected returns. ``"extreme"``: floats
    with no sensible number of decimals, down to denormals, on degenerate covariances.
    """
    if kind == "extreme":
        mu = [draw(st.floats(-0.1, 0.3, allow_nan=False)) for _ in range(n)]
        k = draw(st.integers(1, n))
        a = np.array(
            [[draw(st.floats(-0.4, 0.4, allow_nan=False)) for _ in range(k)] for _ in range(n)]
        )
        w = [draw(st.floats(-0.5, 1.0, allow_nan=False)) for _ in range(n)]
    else:
        levels = [typed(draw, -0.1, 0.3, 4) for _ in range(3)]
        tied = kind == "degenerate" and draw(st.booleans())
        mu = [
            draw(st.sampled_from(levels)) if tied else typed(draw, -0.1, 0.3, 4) for _ in range(n)
        ]
        k = draw(st.integers(1, n))
        a = np.array([[typed(draw, -0.4, 0.4, 3) for _ in range(k)] for _ in range(n)])
        w = [typed(draw, -0.5, 1.0, 4) for _ in range(n)]
    specific = [1e-4, 0.0025, 0.01, 0.04] if kind == "spreadsheet" else [0.0, 1e-4, 0.01, 0.04]
    cov = a @ a.T + np.diag([draw(st.sampled_from(specific)) for _ in range(n)])
    if kind != "spreadsheet":
        riskless = draw(st.lists(st.integers(0, n - 1), max_size=n - 1))
        cov[riskless, :] = 0.0
        cov[:, riskless] = 0.0
    return mu, cov, w


@st.composite
def bounds(draw, n, side):
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return MISSING
    if choice == 1:
        return draw(
            st.sampled_from(
                ["none", "short", -0.5, 0.0, 0.1]
                if side == "lower"
                else ["none", 1 / n, 0.5, 1.0, 2.0]
            )
        )
    lo, hi = (-0.5, 0.2) if side == "lower" else (1 / n, 1.0)
    vals = [
        draw(st.one_of(st.floats(lo, hi).map(lambda x: round(x, 3)), st.none(), st.just("none")))
        for _ in range(n)
    ]
    return as_range(draw, vals)


@st.composite
def plausible_arguments(draw, params, n, kind="spreadsheet"):
    """Arguments a careful user would pass; targets near the attainable range."""
    mu, cov, w = draw(problems(n, kind))
    spread = max(mu) - min(mu)
    top_vol = float(np.sqrt(np.diag(cov).max()))
    values = {
        "mu": as_range(draw, mu),
        "w": as_range(draw, w),
        "cov": float(cov[0, 0])
        if n == 1 and draw(st.booleans())
        else tuple(tuple(float(x) for x in r) for r in cov),
        "r": min(mu) + spread * draw(st.floats(-0.1, 1.1)),
        "rf": draw(st.one_of(st.just(MISSING), st.floats(-0.05, 0.1).map(lambda x: round(x, 4)))),
        "vol": top_vol * draw(st.floats(0.0, 1.5)),
        "risk_aversion": draw(st.floats(0.0, 20.0).map(lambda x: round(x, 2))),
        "points": draw(st.one_of(st.just(MISSING), st.integers(2, 30).map(float))),
        "lower": draw(bounds(n, "lower")),
        "upper": draw(bounds(n, "upper")),
        "labels": draw(
            st.one_of(
                st.just(MISSING),
                st.lists(
                    st.one_of(st.text(max_size=10), st.none(), numbers), min_size=n, max_size=n
                ).map(lambda v: shaped(v, False)),
            )
        ),
    }
    # Drawn only where used, so that the other functions see the examples they always saw.
    if "constraints" in params:
        values["constraints"] = draw(st.one_of(st.just(MISSING), constraint_tables(n)))
    if "groups" in params:
        values.update(draw(group_arguments(n)))
    values.update(draw(data_arguments(n, cov)))
    return [values[p] for p in params]


GROUPS = ["Equity", "Bonds", "EM", "equity ", 3.0]


@st.composite
def constraint_tables(draw, n):
    """A constraints table as a user types it: group or exposure rows, loose limits.

    Optionally a header row and spare blank rows; limits blank, "none" or typed decimals (a
    minimum of at most 10% per row, so that most tables can hold).
    """
    m = draw(st.integers(1, 3))
    rows = []
    if draw(st.booleans()):
        rows.append(("Name", "Min", "Max", *(f"Asset {i + 1}" for i in range(n))))
    for _ in range(m):
        if draw(st.booleans()):  # a group: 1 on its members, blank or 0 elsewhere
            coefs = [draw(st.sampled_from([1.0, 1.0, 0.0, None])) for _ in range(n)]
        else:  # an exposure: beta, duration, score...
            coefs = [typed(draw, -1.0, 3.0, 2) for _ in range(n)]
        rows.append(
            (
                draw(st.one_of(st.sampled_from(GROUPS), st.none(), st.text(max_size=8))),
                draw(st.sampled_from([None, None, "none", 0.0, 0.05, 0.1])),
                draw(st.sampled_from([None, "none", 0.5, 0.8, 1.0, 2.5])),
                *coefs,
            )
        )
    rows += [(None,) * (3 + n)] * draw(st.integers(0, 2))
    return tuple(rows)


@st.composite
def group_arguments(draw, n):
    """GROUP_CONSTRAINTS' arguments: each asset's group (one or two columns), a limits table."""
    k = draw(st.integers(1, 2))
    labels = [[draw(st.sampled_from([*GROUPS, None, "US"])) for _ in range(k)] for _ in range(n)]
    present = sorted({str(x).strip() for row in labels for x in row if x is not None})
    names = draw(st.lists(st.sampled_from([*present, "Cash"]), min_size=1, max_size=3))
    limits = [("Group", "Min", "Max")] if draw(st.booleans()) else []
    limits += [
        (
            g,
            draw(st.sampled_from([None, 0.0, 0.1, 60.0])),
            draw(st.sampled_from([None, 0.5, 1.0, "none"])),
        )
        for g in names
    ]
    groups = tuple(tuple(r) for r in labels)
    if k == 1 and n > 1 and draw(st.booleans()):
        groups = (tuple(r[0] for r in labels),)  # a single classification across a row
    return {"groups": groups, "limits": tuple(limits)}


@st.composite
def data_arguments(draw, n, cov):
    """Arguments of the estimation functions: price or return tables and their options."""
    t = draw(st.integers(2, 40)) if draw(st.integers(0, 4)) == 0 else draw(st.integers(8, 40))
    steps = np.array([[typed(draw, -0.05, 0.05, 4) for _ in range(n)] for _ in range(t)])
    prices = np.round(100 * np.exp(np.cumsum(steps, axis=0)), 2).tolist()
    for j in range(n):  # late listings: leading blanks
        for i in range(draw(st.integers(0, t // 3)) if draw(st.booleans()) else 0):
            prices[i][j] = None
    is_returns = draw(st.sampled_from([MISSING, False, True]))
    table = steps.tolist() if is_returns is True else prices
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd) if (sd > 0).all() else np.eye(n)
    np.fill_diagonal(corr, 1.0)
    return {
        "prices": tuple(tuple(r) for r in prices),
        "prices_or_returns": tuple(tuple(r) for r in table),
        "is_returns": is_returns,
        "method": draw(
            st.sampled_from(
                [
                    MISSING,
                    "simple",
                    "log",
                    "arithmetic",
                    "geometric",
                    "ewma",
                    "sample",
                    "ledoit_wolf",
                    "lw_identity",
                    "Ledoit-Wolf",
                    "bogus",
                ]
            )
        ),
        "periods_per_year": draw(st.sampled_from([MISSING, 252.0, 52.0, 12.0, 1.0])),
        "span": draw(st.sampled_from([MISSING, 1.5, 10.0, 60.0, 500.0])),
        "corr": tuple(tuple(float(x) for x in r) for r in corr),
        "vols": as_range(draw, [float(x) for x in sd]),
        "min_eigenvalue": draw(st.sampled_from([MISSING, 0.0, 1e-8, 0.5])),
        "report": draw(st.sampled_from([MISSING, True, False])),
    }


@st.composite
def arguments(draw, params, kind="spreadsheet"):
    """Clean arguments (half the time), one argument spoiled, or anything at all."""
    n = draw(st.integers(1, 6))
    args = draw(plausible_arguments(params, n, kind))
    mode = draw(st.sampled_from(["clean", "clean", "one bad", "wild"]))
    if mode == "one bad":
        k = draw(st.integers(0, len(args) - 1))
        args[k] = draw(st.one_of(spoil(args[k]), excel_values))
    elif mode == "wild":
        args = [draw(st.one_of(st.just(a), spoil(a), excel_values)) for a in args]
    # Trailing optional arguments may also be left out altogether.
    cut = draw(st.integers(0, len(args)))
    required = sum(1 for p in params if p in REQUIRED)
    return args[: max(cut, required)]


# Arguments without a default, in any function (the names mean the same everywhere).
REQUIRED = {
    name
    for f in UDF_MODULE.__all__
    for name, p in inspect.signature(getattr(UDF_MODULE, f)).parameters.items()
    if p.default is inspect.Parameter.empty
}

# -- the checks ------------------------------------------------------------------------------


def _size(value):
    """Number of cells of an Excel value (1 for a scalar)."""
    if isinstance(value, tuple):
        return len(value) * len(value[0])
    return 1


def _is_row(value):
    return isinstance(value, tuple) and len(value) == 1 and len(value[0]) > 1


def _dims(value):
    return (len(value), len(value[0])) if isinstance(value, tuple) else (1, 1)


def expected_shape(name, args):
    """Rows x columns a successful answer must have, from the (valid) inputs."""
    if name == "GMV_WEIGHTS":
        return round(math.sqrt(_size(args[0]))), 1
    rows, cols = _dims(args[0])
    if name == "RETURNS":
        return rows - 1, cols
    if name == "MEAN_RETURNS":
        return 1, cols
    if name in ("COV_MATRIX", "CORR_MATRIX"):
        return cols, cols
    if name == "COV_FROM_CORR":
        return _size(args[1]), _size(args[1])
    if name in ("CORR_FROM_COV", "NEAREST_PSD"):
        report = len(args) > 2 and isinstance(args[2], (bool, int, float)) and args[2] == 1
        return (7, 2) if report else (rows, rows)
    if name in ("CHECK_INPUTS", "GROUP_CONSTRAINTS", "PORTFOLIO_EXPLAIN"):
        return None  # checked by check_answer itself
    first = args[0]
    n = _size(first)
    vector = (1, n) if _is_row(first) else (n, 1)
    return {
        "MINVAR_WEIGHTS": vector,
        "MAXSHARPE_WEIGHTS": vector,
        "TARGETVOL_WEIGHTS": vector,
        "UTILITY_WEIGHTS": vector,
        "RISK_CONTRIBUTIONS": vector,
        "FRONTIER_RANGE": (3, 3),
        "PORTFOLIO_STATS": (6, 2),
        "MERTON_FRONTIER": (10, 2),
        "PORTFOLIO_RETURN": (1, 1),
        "PORTFOLIO_VOL": (1, 1),
        "PORTFOLIO_SHARPE": (1, 1),
    }.get(name)


def unsqueeze(out):
    """Undo CallUDF's squeezing: always rows of cells."""
    if not isinstance(out, list):
        return [[out]]
    if out and not isinstance(out[0], list):
        return [out]
    return out


def check_answer(name, args, out):
    if isinstance(out, str) and out.startswith("#"):
        assert out.startswith(TAGS), out  # never "#BUG!"
        assert len(out) <= 255, out
        assert "\n" not in out, out
        assert "Traceback" not in out, out
        return
    grid = unsqueeze(out)
    assert grid, "empty answer"
    assert len({len(r) for r in grid}) == 1, "ragged answer"
    for row in grid:
        for x in row:
            assert isinstance(x, (float, int, str)), x
            assert not isinstance(x, bool), x
            if isinstance(x, float):
                assert math.isfinite(x), x
                assert not (x == 0 and math.copysign(1, x) < 0), "negative zero"
    shape = (len(grid), len(grid[0]))
    if name in ("EFFICIENT_FRONTIER", "FRONTIER_CORNERS"):
        n = shape[1] - 3
        assert grid[0][:3] == ["Return", "Volatility", "Sharpe"]
        assert n >= 1
        body = np.array([r[:2] + r[3:] for r in grid[1:]], dtype=float)  # Sharpe may be ""
        scale = max(1.0, float(np.abs(body[:, 2:]).max()))  # levered portfolios
        np.testing.assert_allclose(body[:, 2:].sum(axis=1), 1.0, atol=1e-8 * scale)
        if name == "EFFICIENT_FRONTIER":
            given = args[2] if len(args) > 2 else MISSING
            numeric = isinstance(given, (int, float)) and not isinstance(given, bool)
            points = int(given) if numeric and given != MISSING else 20
            assert shape[0] == 1 + points
        return
    if name == "GROUP_CONSTRAINTS":
        rows, cols = _dims(args[0])
        n = cols if rows == 1 else rows
        assert shape[1] == 3 + n
        for row in grid:
            assert isinstance(row[0], str)
            assert row[0]
            assert all(isinstance(x, float) or x == "" for x in row[1:3]), row
            assert {*row[3:]} <= {0.0, 1.0}, row
        return
    if name == "PORTFOLIO_EXPLAIN":
        n = _size(args[0])
        assert shape[1] == 6
        if shape[0] > 14 + n:  # the constraint rows, after a blank row and their header
            assert grid[14 + n] == [""] * 6
            assert grid[15 + n][0] == "Constraint"
            assert shape[0] > 16 + n
            assert {r[4] for r in grid[16 + n :]} <= {"at min", "at max", "equality", "no"}
        else:
            assert shape[0] == 14 + n
        return
    if name == "CHECK_INPUTS":
        assert grid[0] == ["Check", "Status", "Detail"]
        assert shape[1] == 3
        assert {r[1] for r in grid[1:]} <= {"OK", "WARN", "ERROR"}
        return
    expected = expected_shape(name, args)
    assert shape == expected, (shape, expected)
    if name.endswith("_WEIGHTS"):
        w = np.array(grid, dtype=float).ravel()
        assert w.sum() == pytest.approx(1.0, abs=1e-8 * max(1.0, np.abs(w).max()))
    if name == "RISK_CONTRIBUTIONS":
        assert np.array(grid, dtype=float).sum() == pytest.approx(1.0, abs=1e-8)


FUNCTIONS = sorted(f for f in UDF_MODULE.__all__)
COV_FUNCTIONS = [
    f for f in FUNCTIONS if "cov" in inspect.signature(getattr(UDF_MODULE, f)).parameters
]


@pytest.mark.parametrize("name", FUNCTIONS)
@SETTINGS
@given(data=st.data())
def test_fuzz_never_raises_and_answers_in_shape(name, data):
    params = [a["name"] for a in getattr(UDF_MODULE, name).__xlfunc__["args"]]
    args = data.draw(arguments(params), label="args")
    out = call_udf(name, *args)  # an exception here fails the test
    event(out.split(" ")[0] if isinstance(out, str) and out.startswith("#") else "answer")
    check_answer(name, args, out)


@pytest.mark.parametrize("name", COV_FUNCTIONS)
@settings(SETTINGS, max_examples=budget(80))
@given(data=st.data())
def test_fuzz_degenerate_covariances(name, data):
    """Riskless assets, singular covariances and tied returns are valid inputs."""
    params = [a["name"] for a in getattr(UDF_MODULE, name).__xlfunc__["args"]]
    args = data.draw(arguments(params, "degenerate"), label="args")
    out = call_udf(name, *args)
    event(out.split(" ")[0] if isinstance(out, str) and out.startswith("#") else "answer")
    check_answer(name, args, out)


@pytest.mark.parametrize("name", COV_FUNCTIONS)
@settings(SETTINGS, max_examples=budget(60))
@given(data=st.data())
def test_fuzz_extreme_magnitudes(name, data):
    """Numbers far below any sensible precision (1e-100 next to 0.04, denormals) are answered."""
    params = [a["name"] for a in getattr(UDF_MODULE, name).__xlfunc__["args"]]
    args = data.draw(arguments(params, "extreme"), label="args")
    check_answer(name, args, call_udf(name, *args))


def test_max_sharpe_on_denormal_covariances():
    """Once ``#BUG!`` (the engine's KKT inverse overflowed on a variance of 4e-181 next to
    0.0625): scaled covariance entries below eps² are now zero, and the answer is asset 4."""
    mu = ((0.0,), (0.0,), (0.0,), (0.25,))
    cov = (
        (0.0, 0.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 4.769569406792568e-299),
        (0.0, 0.0, 4.1064561150819275e-181, 1.602040908318575e-91),
        (0.0, 4.769569406792568e-299, 1.602040908318575e-91, 0.0625),
    )
    args = (mu, cov)
    out = call_udf("MAXSHARPE_WEIGHTS", *args)
    check_answer("MAXSHARPE_WEIGHTS", args, out)
    assert out == [[0.0], [0.0], [0.0], [1.0]]  # the only asset with a positive excess return


@pytest.mark.parametrize("name", FUNCTIONS)
@settings(SETTINGS, max_examples=budget(60))
@given(args=st.lists(excel_values, min_size=0, max_size=8))
def test_fuzz_pure_junk(name, args):
    params = getattr(UDF_MODULE, name).__xlfunc__["args"]
    args = args[: len(params)]
    out = call_udf(name, *args)
    if isinstance(out, str):
        assert out.startswith(TAGS), out
        assert len(out) <= 255, out
        assert "\n" not in out, out


# -- the constraints argument ----------------------------------------------------------------


@st.composite
def any_constraints(draw, n):
    """What a user may select as constraints: a table, spoiled or not, or anything at all."""
    kind = draw(st.sampled_from(["table", "spoiled", "wrong width", "transposed", "anything"]))
    if kind == "anything":
        return draw(excel_values)
    table = draw(constraint_tables(n))
    if kind == "spoiled":
        return draw(spoil(table))
    if kind == "wrong width":
        cut = draw(st.integers(1, 3 + n + 2))
        return tuple((*r[:cut], *([None] * max(0, cut - len(r)))) for r in table)
    if kind == "transposed":
        return tuple(zip(*table, strict=True))
    return table


def _message_ok(text):
    assert len(text) <= 255, text
    assert "\n" not in text, text
    assert "Traceback" not in text, text


@SETTINGS
@given(data=st.data())
def test_fuzz_constraints_parser(data):
    """The parser returns constraints or no constraints, or refuses in one short message."""
    n = data.draw(st.integers(1, 6), label="n")
    value = data.draw(any_constraints(n), label="constraints")
    refused = None
    try:
        c = cv.as_constraints(value, n)
    except InputError as err:
        refused = err
    if refused is not None:
        _message_ok(str(refused))
        assert refused.argument == "constraints"
        event("refused")
        return
    event("none" if c is None else "table")
    if c is not None:
        assert isinstance(c, LinearConstraints)
        assert c.n_assets == n
        assert np.isfinite(c.A).all()
        assert (c.lower <= c.upper).all()
        assert len({s.casefold() for s in c.names}) == c.m


@pytest.mark.parametrize("name", ["MINVAR_WEIGHTS", "MAXSHARPE_WEIGHTS", "GMV_WEIGHTS"])
@settings(SETTINGS, max_examples=budget(80))
@given(data=st.data())
def test_fuzz_constraints_argument(name, data):
    """Through CallUDF: a tagged short message (never #BUG!), or weights that meet the table."""
    n = data.draw(st.integers(1, 6), label="n")
    mu, cov, _ = data.draw(problems(n), label="problem")
    mu_x = shaped(mu, False)
    cov_x = tuple(tuple(float(x) for x in r) for r in cov)
    value = data.draw(any_constraints(n), label="constraints")
    first = {
        "MINVAR_WEIGHTS": (mu_x, cov_x, (min(mu) + max(mu)) / 2),
        "MAXSHARPE_WEIGHTS": (mu_x, cov_x, MISSING),
        "GMV_WEIGHTS": (cov_x,),
    }[name]
    out = call_udf(name, *first, MISSING, MISSING, value)
    if isinstance(out, str):
        assert out.startswith(TAGS), out  # never "#BUG!"
        _message_ok(out)
        event(out.split(" ")[0])
        return
    event("answer")
    w = np.array(unsqueeze(out), dtype=float).ravel()
    assert w.size == n
    assert w.sum() == pytest.approx(1.0, abs=1e-9)
    c = cv.as_constraints(value, n)
    if c is not None:
        v = c.values(w)
        tol = 1e-8 * np.maximum(1.0, np.abs(c.A).sum(axis=1))
        assert (v >= c.lower - tol).all(), (v, c.lower)
        assert (v <= c.upper + tol).all(), (v, c.upper)
