"""Excel values in, numpy arrays out, and clean Excel values back.

The UDFs receive their arguments unconverted (xlwings ``"raw"``): whatever COM delivers. That
is a scalar for a single cell and a tuple of row tuples for a range; inside, a number is a
``float``, a blank cell ``None``, a text ``str``, TRUE/FALSE a ``bool``, a date a ``datetime``
and an error value an ``int`` (``-2146826246`` is ``#N/A``). An optional argument left out in
the formula arrives as the Python default; VBA's "missing" marker ``-2147352572`` is also
understood. The same functions accept numpy arrays and nested lists, so the UDFs work as plain
Python functions too.

Conventions (documented for users in ``docs/excel-functions.md``):

* numeric ranges (``mu``, ``cov``, ``w``) must be completely filled with numbers; blank cells,
  text, TRUE/FALSE, dates and error values are refused with the cell's position;
* vectors are a single row or a single column; results come back in the orientation of
  ``mu`` (or of ``w``);
* ``lower``/``upper`` are a single value for every asset or one value per asset; blank means
  the default (lower 0, no upper limit); the text ``none`` (also ``short``, ``unlimited``,
  ``-inf``/``inf``) means no limit, so ``lower = "none"`` allows unlimited short selling;
* ranges are limited to :data:`MAX_CELLS` cells and problems to :data:`MAX_ASSETS` assets
  (:mod:`xlfrontier.excel.limits`);
* returns are decimals; inputs that look like percentages typed as whole numbers (8 for 8%)
  are refused with a hint (:func:`check_units`);
* a ``constraints`` table has one row per constraint, ``Name | Min | Max | one coefficient per
  asset`` (an optional header row, blank rows and blank cells allowed: :func:`as_constraints`);
  like a price table it is not accepted transposed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import math
import numbers
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.core.validation import clean_weights as core_clean_weights
from xlfrontier.core.validation import fmt_pct
from xlfrontier.excel._com import MISSING, excel_error_name
from xlfrontier.excel.limits import MAX_ASSETS, MAX_CELLS, MAX_CONSTRAINTS, MAX_POINTS
from xlfrontier.exceptions import InputError

__all__ = [
    "MAX_ASSETS",
    "MAX_CELLS",
    "MAX_CONSTRAINTS",
    "MAX_POINTS",
    "MISSING",
    "as_bounds",
    "as_constraints",
    "as_flag",
    "as_group_labels",
    "as_group_limits",
    "as_integer",
    "as_labels",
    "as_matrix",
    "as_number",
    "as_option",
    "as_table",
    "as_vector",
    "check_percent_bounds",
    "check_percent_constraints",
    "check_units",
    "clean",
    "clean_weights",
    "excel_error_name",
    "is_missing",
    "lenient_numbers",
    "shaped",
    "table",
]

# Larger magnitudes in returns, covariances or weights are typing errors (or unit mix-ups),
# and would overflow variances.
MAX_MAGNITUDE = 1e10

_NO_LIMIT_WORDS = {
    "none",
    "no limit",
    "nolimit",
    "unlimited",
    "unbounded",
    "inf",
    "+inf",
    "infinity",
    "+infinity",
    "-inf",
    "-infinity",
    "short",
}
_LOWER_ONLY = {"short", "-inf", "-infinity"}
_UPPER_ONLY = {"inf", "+inf", "infinity", "+infinity"}


def is_missing(x: object) -> bool:
    """Return True for an omitted optional argument or a blank cell."""
    if x is None:
        return True
    if type(x) is int:
        return x == MISSING
    if isinstance(x, str):
        return not x.strip()
    if isinstance(x, float):
        return math.isnan(x)
    return False


# -- reading ---------------------------------------------------------------------------------


class _Cell:
    """What a non-numeric cell holds, for messages."""

    __slots__ = ("blank", "what")

    def __init__(self, what: str, blank: bool = False) -> None:
        self.what = what
        self.blank = blank


def _cell(x: object) -> float | _Cell:
    """Classify one cell: its float value, or a :class:`_Cell` saying what it is instead."""
    if type(x) is float:
        return x if x == x else _Cell("a blank or missing value", blank=True)
    if x is None:
        return _Cell("a blank cell", blank=True)
    if isinstance(x, (bool, np.bool_)):
        return _Cell(f"the logical value {'TRUE' if x else 'FALSE'}")
    if isinstance(x, int):
        err = excel_error_name(x)
        if err is not None:
            return _Cell(f"the error {err}")
        if x == MISSING:
            return _Cell("a blank cell", blank=True)
        return float(x)
    if isinstance(x, (numbers.Real, decimal.Decimal)):
        v = float(x)  # numpy scalars, Decimal (currency-formatted cells)
        return v if v == v else _Cell("a blank or missing value", blank=True)
    if isinstance(x, str):
        if not x.strip():
            return _Cell("a blank cell", blank=True)
        shown = x if len(x) <= 20 else x[:17] + "..."
        return _Cell(f'the text "{shown}"')
    if isinstance(x, (dt.date, dt.time)):
        return _Cell("a date")
    if isinstance(x, (list, tuple, np.ndarray)):
        return _Cell("a nested list (a range must hold single values)")
    return _Cell(f"an unsupported value ({type(x).__name__})")


def _grid(value: Any, name: str) -> tuple[Sequence[Sequence[Any]], bool]:
    """Return ``value`` as rows of cells, and whether it was given one-dimensional.

    Single values become ``[[value]]``; flat sequences (direct Python calls) a column.
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return [[value]], False
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return [[value.item()]], False
        if value.ndim > 2:
            raise InputError(
                f"{name} must be a range (rows and columns), got a {value.ndim}-dimensional array",
                name,
            )
        value = value.tolist()
    elif not isinstance(value, (list, tuple)):
        to_numpy = getattr(value, "to_numpy", None)  # pandas objects, called from Python
        if to_numpy is None:
            return [[value]], False
        return _grid(to_numpy(), name)
    if len(value) == 0:
        raise InputError(f"{name} is empty: select a range with numbers", name)
    nested = [isinstance(row, (list, tuple)) for row in value]
    if not any(nested):
        if len(value) > MAX_CELLS:
            raise _too_large(name, len(value))
        return [[x] for x in value], True
    if not all(nested):
        raise InputError(f"{name} must be a rectangular range", name)
    width = len(value[0])
    if width == 0 or any(len(row) != width for row in value):
        raise InputError(f"{name} must be a rectangular range", name)
    if len(value) * width > MAX_CELLS:
        raise _too_large(name, len(value) * width)
    # Deeper nesting is caught cell by cell (_cell reports it as an unsupported value).
    return value, False


def _single_cell(value: Any, name: str, refusal: Callable[[int, int], str]) -> Any:
    """Return the one cell of a 1 x 1 range; any other value (a single cell) as it is.

    Parameters
    ----------
    value : Excel value
        What COM delivered for a one-cell argument, or a Python scalar, list or array.
    name : str
        Argument name for messages.
    refusal : callable (rows, cols) -> str
        The message for a larger range, given its size.

    Raises
    ------
    InputError
        For a range of more than one cell (or an empty or ragged one).
    """
    if not isinstance(value, (list, tuple, np.ndarray)):
        return value
    rows, _ = _grid(value, name)
    if len(rows) != 1 or len(rows[0]) != 1:
        raise InputError(refusal(len(rows), len(rows[0])), name)
    return rows[0][0]


def _rows_cols(value: Any) -> tuple[int, int]:
    """Cheap size of a range before converting it ((1, 1) when unsure)."""
    if isinstance(value, np.ndarray):
        return (*value.shape, 1, 1)[:2] if value.ndim else (1, 1)
    if isinstance(value, (list, tuple)) and value:
        first = value[0]
        return len(value), len(first) if isinstance(first, (list, tuple)) else 1
    return 1, 1


def _check_cells(value: Any, name: str) -> None:
    rows, cols = _rows_cols(value)
    if rows * cols > MAX_CELLS:
        raise _too_large(name, rows * cols)


def _too_large(name: str, cells: int) -> InputError:
    return InputError(
        f"{name} has {cells:,} cells, more than the {MAX_CELLS:,} allowed: select a smaller range",
        name,
    )


def _where(i: int, j: int, shape: tuple[int, int]) -> str:
    rows, cols = shape
    if rows == 1 and cols == 1:
        return ""
    if cols == 1:
        return f" in row {i + 1}"
    if rows == 1:
        return f" in column {j + 1}"
    return f" in row {i + 1}, column {j + 1}"


def _numbers(
    value: Any, name: str, *, blank_ok: bool = False, fix: str = "every cell must hold a number"
) -> NDArray[np.float64]:
    """Convert a range to a 2-D float array; blanks become NaN when ``blank_ok``.

    Raises :class:`InputError` naming the first cell that is not a number.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu" and 0 < value.ndim <= 2:
        a = value.astype(np.float64)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.size > MAX_CELLS:
            raise _too_large(name, a.size)
        if blank_ok or not np.isnan(a).any():
            return a
        i, j = np.argwhere(np.isnan(a))[0]
        raise InputError(f"{name} has a blank or missing value{_where(i, j, a.shape)}: {fix}", name)
    rows, _ = _grid(value, name)
    # Fast path: COM delivers numbers as floats, so a clean range is all floats (one C-level
    # pass over the cells to be sure: numpy alone would turn TRUE or "1.5" into numbers).
    if set(map(type, itertools.chain.from_iterable(rows))) == {float}:
        a = np.array(rows, dtype=np.float64)
        if blank_ok or not np.isnan(a).any():
            return a
    shape = (len(rows), len(rows[0]))
    out = np.empty(shape)
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            c = _cell(x)
            if isinstance(c, _Cell):
                if c.blank and blank_ok:
                    out[i, j] = np.nan
                    continue
                raise InputError(f"{name} has {c.what}{_where(i, j, shape)}: {fix}", name)
            out[i, j] = c
    return out


def _check_magnitude(a: NDArray[np.float64], name: str, what: str) -> None:
    big = np.abs(a) > MAX_MAGNITUDE
    if big.any():
        idx = tuple(np.argwhere(big)[0])
        raise InputError(
            f"{name} has {a[idx]:.3g}{_where(*_ij(idx, a.shape))}, too large for "
            f"{what}: check the units",
            name,
        )


def _ij(idx: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, int, tuple[int, int]]:
    if len(shape) == 1:
        return idx[0], 0, (shape[0], 1)
    return idx[0], idx[1], (shape[0], shape[1])


def as_vector(
    value: Any, name: str, n: int | None = None, what: str = "an expected return"
) -> tuple[NDArray[np.float64], str]:
    """Convert a single row or column of numbers.

    Parameters
    ----------
    value : Excel value
        A single cell, a row or a column.
    name : str
        Argument name for messages.
    n : int, optional
        Required number of values (the number of assets).
    what : str
        What one value is, for messages.

    Returns
    -------
    values : ndarray of shape (n,)
    orientation : {"row", "column"}
        ``"row"`` for a 1 x n range (n > 1), else ``"column"``.
    """
    if is_missing(value):
        raise InputError(f"{name} is missing: select a row or column of numbers", name)
    _check_cells(value, name)
    if max(_rows_cols(value)) > MAX_ASSETS:
        raise InputError(
            f"{name} has {max(_rows_cols(value)):,} assets, more than the {MAX_ASSETS:,} supported",
            name,
        )
    a = _numbers(value, name, fix="every cell must hold a number (decimals: 8% = 0.08)")
    rows, cols = a.shape
    if rows != 1 and cols != 1:
        raise InputError(
            f"{name} must be a single row or column, got {rows} rows x {cols} columns", name
        )
    orientation = "row" if rows == 1 and cols > 1 else "column"
    v = a.ravel()
    if n is not None and v.size != n:
        raise InputError(
            f"{name} has {v.size} values but there are {n} assets: give one "
            f"value per asset, in the same order",
            name,
        )
    if v.size > MAX_ASSETS:
        raise InputError(
            f"{name} has {v.size:,} assets, more than the {MAX_ASSETS:,} supported", name
        )
    v = v.copy()
    _check_finite(v, name)
    _check_magnitude(v, name, what)
    return v, orientation


def _check_finite(a: NDArray[np.float64], name: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        raise InputError(
            f"{name} has an infinite value{_where(*_ij(idx, a.shape))}: every "
            f"cell must hold a finite number",
            name,
        )


def as_matrix(value: Any, name: str, n: int | None = None) -> NDArray[np.float64]:
    """Convert a square range of numbers (a covariance or correlation matrix).

    Parameters
    ----------
    value : Excel value
        An n x n range (a single cell for one asset).
    name : str
        Argument name for messages.
    n : int, optional
        Required size (the number of assets).

    Returns
    -------
    ndarray of shape (n, n)
    """
    if is_missing(value):
        raise InputError(f"{name} is missing: select the square matrix range", name)
    _check_cells(value, name)
    if max(_rows_cols(value)) > MAX_ASSETS:
        raise InputError(
            f"{name} has {max(_rows_cols(value)):,} rows or columns, more than "
            f"the {MAX_ASSETS:,} assets supported",
            name,
        )
    a = _numbers(value, name, fix="every cell of the matrix must hold a number")
    rows, cols = a.shape
    if rows != cols:
        raise InputError(
            f"{name} must be a square range (one row and one column per asset), "
            f"got {rows} rows x {cols} columns",
            name,
        )
    if n is not None and rows != n:
        raise InputError(
            f"{name} is {rows}x{rows} but there are {n} assets: it must be "
            f"{n}x{n}, in the same asset order",
            name,
        )
    if rows > MAX_ASSETS:
        raise InputError(
            f"{name} has {rows:,} assets, more than the {MAX_ASSETS:,} supported", name
        )
    _check_finite(a, name)
    _check_magnitude(a, name, "a covariance")
    return a


def as_number(
    value: Any, name: str, default: float | None = None, *, what: str = "a number"
) -> float:
    """Convert a single cell to a float; a missing optional argument gives ``default``.

    Parameters
    ----------
    value : Excel value
        A single cell or a 1x1 range.
    name : str
        Argument name for messages.
    default : float, optional
        Value for a blank or omitted argument; ``None`` makes the argument required.
    what : str
        What the number is, for messages.
    """
    value = _single_cell(
        value,
        name,
        lambda rows, cols: (
            f"{name} must be a single cell ({what}), got a range of {rows} x {cols} cells"
        ),
    )
    if is_missing(value):
        if default is None:
            raise InputError(f"{name} is missing: give {what}", name)
        return default
    c = _cell(value)
    if isinstance(c, _Cell):
        raise InputError(f"{name} is {c.what}: give {what}", name)
    if not math.isfinite(c):
        raise InputError(f"{name} must be a finite number ({what})", name)
    if abs(c) > MAX_MAGNITUDE:
        raise InputError(f"{name} = {c:.3g} is too large for {what}: check the units", name)
    return c + 0.0


def as_integer(
    value: Any, name: str, default: int, low: int, high: int, *, what: str = "a whole number"
) -> int:
    """Convert a single cell to an integer in ``[low, high]`` (``default`` when omitted)."""
    x = as_number(value, name, float(default), what=what)
    if x != round(x):
        raise InputError(f"{name} must be a whole number ({what}), got {x:g}", name)
    if not low <= x <= high:
        raise InputError(f"{name} must be between {low} and {high:,} ({what}), got {x:g}", name)
    return int(x)


def as_bounds(value: Any, name: str, n: int) -> float | NDArray[np.float64] | None:
    """Convert a lower or upper weight bound.

    Blank or omitted gives ``None`` (the core's default: lower 0, no upper limit). A single
    cell applies to every asset, a row or column gives one bound per asset (blank cells take
    the default). The text ``none``/``unlimited``/``no limit`` means no limit (``-inf`` for
    ``lower``, so ``lower = "none"`` allows unlimited short selling); ``short``/``-inf`` are
    accepted for ``lower`` and ``inf`` for ``upper``.

    Returns
    -------
    None, float or ndarray of shape (n,)
        NaN entries mean "default" for that asset.
    """
    if is_missing(value):
        return None
    rows, _ = _grid(value, name)
    shape = (len(rows), len(rows[0]))
    if shape[0] != 1 and shape[1] != 1:
        raise InputError(
            f"{name} must be a single cell or one row or column of bounds, got "
            f"{shape[0]} rows x {shape[1]} columns",
            name,
        )
    no_limit = -np.inf if name == "lower" else np.inf
    hint = 'a number (0.2 = 20%), blank for the default, or "none" for no limit' + (
        " (unlimited short selling)" if name == "lower" else ""
    )
    out = np.empty(shape[0] * shape[1])
    k = 0
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            c = _cell(x)
            if isinstance(c, _Cell):
                word = x.strip().lower() if isinstance(x, str) else None
                wrong_side = _UPPER_ONLY if name == "lower" else _LOWER_ONLY
                if c.blank:
                    out[k] = np.nan
                elif word in _NO_LIMIT_WORDS and word not in wrong_side:
                    out[k] = no_limit
                else:
                    raise InputError(f"{name} has {c.what}{_where(i, j, shape)}: use {hint}", name)
            else:
                out[k] = c
            k += 1
    if out.size != 1 and out.size != n:
        raise InputError(
            f"{name} has {out.size} values but there are {n} assets: give one "
            f"bound per asset or a single cell for all",
            name,
        )
    if np.isnan(out).all():
        return None
    finite = out[np.isfinite(out)]
    if finite.size and np.abs(finite).max() > MAX_MAGNITUDE:
        raise InputError(
            f"{name} has a bound of {finite[np.abs(finite).argmax()]:.3g}: too "
            f'large; use "none" for no limit',
            name,
        )
    return float(out[0]) if out.size == 1 else out


def as_labels(value: Any, n: int) -> list[str]:
    """Asset names for table headers: ``labels`` or ``Asset 1``, ``Asset 2``..."""
    default = [f"Asset {i + 1}" for i in range(n)]
    if is_missing(value):
        return default
    rows, _ = _grid(value, "labels")
    cells = [x for row in rows for x in row]
    if len(rows) != 1 and len(rows[0]) != 1:
        raise InputError(
            f"labels must be a single row or column of names, got {len(rows)} "
            f"rows x {len(rows[0])} columns",
            "labels",
        )
    if len(cells) != n:
        raise InputError(
            f"labels has {len(cells)} names but there are {n} assets: give one name per asset",
            "labels",
        )
    out = []
    for k, x in enumerate(cells):
        err = excel_error_name(x)
        if err is not None:
            raise InputError(
                f"labels has the error {err} in position {k + 1}: fix that cell", "labels"
            )
        text = _text_of(x)
        out.append(default[k] if text is None else text)
    return out


def _text_of(x: object) -> str | None:
    """Return a name cell as text (a label, a group, a constraint's name); None when blank.

    Numbers typed as names read as they show (2020, not 2020.0), TRUE/FALSE as such, dates as
    ``YYYY-MM-DD``; at most 255 characters (what a cell shows of a header). Error values are
    the caller's to refuse.
    """
    if is_missing(x):
        return None
    if isinstance(x, (bool, np.bool_)):
        text = "TRUE" if x else "FALSE"
    elif isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        text = str(int(x))  # 2020, not 2020.0; larger numbers as 1e+300
    elif isinstance(x, (dt.datetime, dt.date)):
        text = x.strftime("%Y-%m-%d")
    else:
        text = str(x).strip()
    return text[:255]


def as_table(value: Any, name: str) -> NDArray[np.float64]:
    """Convert a table of prices or returns: dates down the rows, assets across.

    Blank cells become NaN (missing history); text, TRUE/FALSE, dates and error values are
    refused with their position (select only the numbers, without headers or a date column).

    Returns
    -------
    ndarray of shape (n_dates, n_assets)
    """
    if is_missing(value):
        raise InputError(
            f"{name} is missing: select the table of numbers, dates down the rows "
            f"and assets across",
            name,
        )
    a = _numbers(
        value, name, blank_ok=True, fix="select only the numbers (no header row or date column)"
    )
    if a.shape[1] > MAX_ASSETS:
        raise InputError(
            f"{name} has {a.shape[1]:,} columns (assets), more than the {MAX_ASSETS:,} supported",
            name,
        )
    return a


def as_option(value: Any, name: str) -> str | None:
    """Convert a text option such as a method name; blank or omitted gives None (the default)."""
    value = _single_cell(value, name, lambda *_: f"{name} must be a single cell of text")
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value
    c = _cell(value)
    what = c.what if isinstance(c, _Cell) else f"the number {c:g}"
    raise InputError(f"{name} is {what}: give a text such as the method name", name)


def as_flag(value: Any, name: str) -> bool | None:
    """TRUE/FALSE (or 1/0); blank or omitted gives None (the default, FALSE)."""
    value = _single_cell(value, name, lambda *_: f"{name} must be a single cell, TRUE or FALSE")
    if is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    c = _cell(value)
    if not isinstance(c, _Cell) and c in (0.0, 1.0):
        return bool(c)
    what = c.what if isinstance(c, _Cell) else f"the number {c:g}"
    raise InputError(f"{name} is {what}: give TRUE or FALSE", name)


def lenient_numbers(value: Any) -> NDArray[np.float64] | None:
    """Numbers of a range with every non-number as NaN (for diagnostics); None if unusable."""
    try:
        rows, _ = _grid(value, "value")
    except InputError:
        return None
    out = np.full((len(rows), len(rows[0])), np.nan)
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            c = _cell(x)
            if not isinstance(c, _Cell):
                out[i, j] = c
    return out


# -- constraint tables -----------------------------------------------------------------------

_CONSTRAINT_HELP = "one row per constraint: Name, Min, Max, then one coefficient per asset"
_GENERATED_NAME = re.compile(r"row \d+")


def _row_ref(name: str) -> str:
    """How a message names a constraint row: ``row 'Equity'``, or ``row 3`` when unnamed."""
    return name if _GENERATED_NAME.fullmatch(name) else f"row '{name}'"


def _header_word(x: object) -> bool:
    """Tell a header's Min/Max cell: text with no digit (so "40%" typed as text is not one)."""
    return isinstance(x, str) and bool(x.strip()) and not any(ch.isdigit() for ch in x)


def _is_header(row: Sequence[Any], lo: int, hi: int) -> bool:
    """Whether a table's first row is its header: both limit cells hold words such as "Min"."""
    if not (_header_word(row[lo]) and _header_word(row[hi])):
        return False
    # Both "none" is a data row without limits, not a header.
    return not all(str(row[k]).strip().lower() in _NO_LIMIT_WORDS for k in (lo, hi))


def _data_rows(rows: Sequence[Sequence[Any]], lo: int, hi: int) -> list[int]:
    """Return the rows that hold data: not blank, and not the header (the first row).

    ``lo``/``hi`` are the columns of the limits, by which a header is told (a range too
    narrow to have them has no header).
    """
    keep = [i for i, row in enumerate(rows) if not all(is_missing(x) for x in row)]
    if keep and keep[0] == 0 and len(rows[0]) > max(lo, hi) and _is_header(rows[0], lo, hi):
        keep = keep[1:]
    return keep


def _limit(x: object, side: str, name: str, where: str) -> float:
    """One Min or Max cell: a number, or ``∓inf`` for a blank or a no-limit word."""
    if type(x) is float and abs(x) <= MAX_MAGNITUDE:  # a typed limit (NaN fails the test)
        return x + 0.0
    no_limit = -np.inf if side == "Min" else np.inf
    c = _cell(x)
    if not isinstance(c, _Cell):
        if math.isfinite(c) and abs(c) > MAX_MAGNITUDE:
            raise InputError(
                f"{name} {where}: {side} {c:.3g} is too large; leave it blank for no limit", name
            )
        return c + 0.0
    if c.blank:
        return no_limit
    word = x.strip().lower() if isinstance(x, str) else None
    wrong_side = _UPPER_ONLY if side == "Min" else _LOWER_ONLY
    if word in _NO_LIMIT_WORDS and word not in wrong_side:
        return no_limit
    what = f"'{x.strip()[:20]}'" if isinstance(x, str) else f"({c.what})"
    raise InputError(
        f"{name} {where}: {side} {what} is not a number; give a decimal (0.25 = 25%) or leave "
        f"it blank for no limit",
        name,
    )


def as_constraints(value: Any, n: int, name: str = "constraints") -> LinearConstraints | None:
    """Convert a table of linear constraints on the weights (group or exposure limits).

    One row per constraint, ``3 + n`` columns: ``Name | Min | Max | one coefficient per asset``
    (in the order of ``mu``), meaning ``Min ≤ Σ coefficient_i × w_i ≤ Max``. A blank Min or
    Max (or ``none``) is no limit on that side; Min = Max is an equality; a blank coefficient is
    0. A first row whose Min and Max cells are words ("Min", "Max") is a header and is skipped;
    blank rows (spare rows selected below the table) are ignored; a blank name becomes
    ``row k`` (the row's position in the range). Like a price table, the range is not accepted
    transposed.

    Parameters
    ----------
    value : Excel value
        The range; a blank range or an omitted argument means no constraints. A
        :class:`~xlfrontier.core.constraints.LinearConstraints` (from Python) is used as it is.
    n : int
        Number of assets.
    name : str
        Argument name for messages.

    Returns
    -------
    LinearConstraints or None
        ``m`` rows (``A`` of shape (m, n)), or None without constraints.

    Raises
    ------
    InputError
        A wrong number of columns, text or error values where numbers belong (naming the row
        and the column), a Min above its Max, two rows with the same name.
    """
    if isinstance(value, LinearConstraints):
        value.check_assets(n)
        return value
    if is_missing(value):
        return None
    rows, _ = _grid(value, name)
    keep = _data_rows(rows, 1, 2)
    if not keep:
        return None  # a blank range (or a header alone): no constraints yet
    width = len(rows[0])
    if width != 3 + n:
        transposed = len(rows) == 3 + n and width > 1
        raise InputError(
            f"{name} has {width} column{'s' if width != 1 else ''} but {3 + n} are expected for "
            f"{n} asset{'s' if n != 1 else ''}: "
            + ("it looks transposed; give " if transposed else "")
            + _CONSTRAINT_HELP,
            name,
        )
    if len(keep) > MAX_CONSTRAINTS:
        raise InputError(
            f"{name} has {len(keep):,} rows, more than the {MAX_CONSTRAINTS:,} supported", name
        )
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in keep:
        err = excel_error_name(rows[i][0])
        if err is not None:
            raise InputError(
                f"{name} row {i + 1}: its Name is the error {err}; fix that cell", name
            )
        text = _text_of(rows[i][0]) or f"row {i + 1}"
        if text.casefold() in seen:
            raise InputError(
                f"{name} rows {seen[text.casefold()]} and {i + 1} are both named '{text}': give "
                f"each row its own name",
                name,
            )
        seen[text.casefold()] = i + 1
        names.append(text)
    m = len(keep)
    lower = np.empty(m)
    upper = np.empty(m)
    for j, i in enumerate(keep):
        where = _row_ref(names[j])
        lower[j] = _limit(rows[i][1], "Min", name, where)
        upper[j] = _limit(rows[i][2], "Max", name, where)
        if lower[j] > upper[j]:
            raise InputError(
                f"{name} {where}: Min {lower[j]:g} is above Max {upper[j]:g}; swap them", name
            )
    A = _coefficients([rows[i][3:] for i in keep], names, name)
    return LinearConstraints(A, lower, upper, names)


def _coefficients(block: list[Sequence[Any]], names: list[str], name: str) -> NDArray[np.float64]:
    """Convert the coefficient columns of a constraint table, shape (m, n): blank = 0."""
    # Fast path: COM delivers numbers as floats and blank cells as None.
    if set(map(type, itertools.chain.from_iterable(block))) <= {float, type(None)}:
        a = np.array(block, dtype=np.float64)
        a[np.isnan(a)] = 0.0
    else:
        a = np.empty((len(block), len(block[0])))
        for j, row in enumerate(block):
            for k, x in enumerate(row):
                c = _cell(x)
                if isinstance(c, _Cell):
                    if not c.blank:
                        what = f"'{x.strip()[:20]}'" if isinstance(x, str) else f"({c.what})"
                        raise InputError(
                            f"{name} {_row_ref(names[j])}: asset {k + 1} (column {k + 4}) "
                            f"{what} is not a number; give a coefficient, blank = 0",
                            name,
                        )
                    c = 0.0
                a[j, k] = c
    bad = ~np.isfinite(a) | (np.abs(a) > MAX_MAGNITUDE)
    if bad.any():
        j, k = np.argwhere(bad)[0]
        raise InputError(
            f"{name} {_row_ref(names[j])}: asset {k + 1} (column {k + 4}) holds {a[j, k]:.3g}, "
            f"not a usable coefficient: check the units",
            name,
        )
    return a + 0.0


def check_percent_constraints(constraints: LinearConstraints | None, lower: Any) -> None:
    """Refuse group limits that look like percentages typed as whole numbers (60 for 60%).

    As :func:`check_percent_bounds` does for weights: only without short selling (every lower
    bound at least 0), and only for group rows (coefficients 0 or 1), whose value is a sum of
    weights and so at most 100%: a Min above 1 cannot be met, and a Max from 2 to 100 would be
    meaningless. Exposure rows (beta, duration...) are not checked.
    """
    if constraints is None:
        return
    lo = np.atleast_1d(np.asarray(lower if lower is not None else 0.0, dtype=np.float64))
    if not np.all(np.nan_to_num(lo, nan=0.0) >= 0):
        return  # short selling allowed: a group may hold more than 100%
    a = constraints.A
    group = ((a == 0) | (a == 1)).all(axis=1) & (a == 1).any(axis=1)
    for j in np.flatnonzero(group):
        mn, mx = float(constraints.lower[j]), float(constraints.upper[j])
        side, x = ("Min", mn) if np.isfinite(mn) and mn > 1 else ("Max", mx)
        if side == "Min" or (np.isfinite(mx) and 2 <= mx <= 100):
            raise InputError(
                f"constraints {_row_ref(constraints.names[j])}: {side} {x:g} is {fmt_pct(x)} of "
                f"the portfolio: group limits are decimals, so type {x / 100:g} or {x:g}%"
                + (" (leave blank for no limit)" if side == "Max" else ""),
                "constraints",
            )


def as_group_labels(value: Any, name: str = "groups") -> list[list[str | None]]:
    """Convert per-asset group labels: a column (or a row), or one column per classification.

    Parameters
    ----------
    value : Excel value
        One label per asset down a column (several columns for several classifications, such
        as region and sector), or across a single row. Blank cells: the asset is in no group of
        that classification.
    name : str
        Argument name for messages.

    Returns
    -------
    list of n_assets lists of k labels
        Each asset's label in each classification (None for blank).
    """
    if is_missing(value):
        raise InputError(
            f"{name} is missing: select each asset's group, one row per asset (a column per "
            f"classification)",
            name,
        )
    rows, _ = _grid(value, name)
    if len(rows) == 1 and len(rows[0]) > 1:  # a single classification across a row
        rows = [[x] for x in rows[0]]
    if len(rows) > MAX_ASSETS:
        raise InputError(
            f"{name} has {len(rows):,} assets, more than the {MAX_ASSETS:,} supported", name
        )
    out: list[list[str | None]] = []
    for i, row in enumerate(rows):
        labels: list[str | None] = []
        for j, x in enumerate(row):
            err = excel_error_name(x)
            if err is not None:
                where = _where(i, j, (len(rows), len(row)))
                raise InputError(f"{name} has the error {err}{where}: fix that cell", name)
            labels.append(_text_of(x))
        out.append(labels)
    return out


def as_group_limits(
    value: Any, name: str = "limits"
) -> dict[str, tuple[float | None, float | None]]:
    """Convert a ``Group | Min | Max`` table (optional header row; blank Min/Max = no limit).

    Returns
    -------
    dict
        ``{group: (min, max)}`` in the table's order, ``None`` for no limit.
    """
    if is_missing(value):
        raise InputError(f"{name} is missing: select a table of Group, Min, Max", name)
    rows, _ = _grid(value, name)
    if len(rows[0]) != 3:
        raise InputError(
            f"{name} has {len(rows[0])} column{'s' if len(rows[0]) != 1 else ''} but 3 are "
            f"expected: Group, Min, Max (blank Min/Max = no limit)",
            name,
        )
    out: dict[str, tuple[float | None, float | None]] = {}
    first: dict[str, int] = {}
    for i in _data_rows(rows, 1, 2):
        group, mn, mx = rows[i]
        err = excel_error_name(group)
        if err is not None:
            raise InputError(
                f"{name} row {i + 1}: its Group is the error {err}; fix that cell", name
            )
        text = _text_of(group)
        if text is None:
            raise InputError(
                f"{name} row {i + 1} has limits but no group name: type the group", name
            )
        if text.casefold() in first:
            raise InputError(
                f"{name} rows {first[text.casefold()]} and {i + 1} are both for '{text}': give "
                f"each group one row",
                name,
            )
        first[text.casefold()] = i + 1
        where = f"row '{text}'"
        lo, hi = _limit(mn, "Min", name, where), _limit(mx, "Max", name, where)
        if lo > hi:
            raise InputError(f"{name} {where}: Min {lo:g} is above Max {hi:g}; swap them", name)
        out[text] = (lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)
    if not out:
        raise InputError(f"{name} has no group: give one row per group, Group, Min, Max", name)
    if len(out) > MAX_CONSTRAINTS:
        raise InputError(
            f"{name} has {len(out):,} groups, more than the {MAX_CONSTRAINTS:,} supported", name
        )
    return out


def check_units(
    mu: NDArray[np.float64] | None,
    cov: NDArray[np.float64] | None,
    *,
    r: float | None = None,
    rf: float | None = None,
    vol: float | None = None,
) -> None:
    """Refuse inputs that look like percentages typed as whole numbers (8 instead of 8%).

    Returns are decimals (8% is 0.08; typing ``8%`` in Excel stores 0.08). The checks are
    about consistency, so that genuinely large numbers pass when everything uses the same
    units:

    * ``mu`` above 100% while it is also more than 5 times the largest volatility in ``cov``;
    * volatilities in ``cov`` above 100% while more than 5 times the largest ``|mu|``;
    * a target return ``r`` or risk-free rate ``rf`` above 100% while every ``mu`` is at most
      100%, and a target volatility ``vol`` above 100% while every volatility is at most 100%.
    """
    m = float(np.abs(mu).max()) if mu is not None else None
    s = float(np.sqrt(np.abs(np.diag(cov)).max())) if cov is not None else None
    if m is not None and s is not None:
        if m > 1 and m > 5 * s:
            raise InputError(
                f"mu has {m:g} ({fmt_pct(m)}) but the largest volatility in cov is "
                f"{fmt_pct(s)}: mu looks like percentages typed as whole numbers; enter 8% as "
                f"0.08 (or type 8%)",
                "mu",
            )
        if s > 1 and s > 5 * m:
            raise InputError(
                f"cov has a variance of {s * s:g} (volatility {fmt_pct(s)}) but mu is at most "
                f"{fmt_pct(m)}: cov looks like it is in percent units; use decimal returns "
                f"(20% volatility = variance 0.04)",
                "cov",
            )
    if m is not None and m <= 1:
        for val, nm, what in ((r, "r", "target return"), (rf, "rf", "risk-free rate")):
            if val is not None and abs(val) > 1:
                raise InputError(
                    f"{nm} = {val:g} is {fmt_pct(val)} while mu is at most {fmt_pct(m)}: the "
                    f"{what} looks like a percentage typed as a whole number; enter 8% as 0.08 "
                    f"(or type 8%)",
                    nm,
                )
    if s is not None and s <= 1 and vol is not None and vol > 1:
        raise InputError(
            f"vol = {vol:g} is {fmt_pct(vol)} while no asset is more volatile than "
            f"{fmt_pct(s)}: it looks like a percentage typed as a whole number; enter 15% as "
            f"0.15 (or type 15%)",
            "vol",
        )


def check_percent_bounds(lower: Any, upper: Any) -> None:
    """Refuse bounds that look like percentages typed as whole numbers (30 for 30%).

    Only without short selling (every lower bound at least 0), where no weight can exceed
    100%: a lower bound above 1 cannot be met, and an upper bound from 2 to 100 would be
    meaningless, so both are almost certainly percentages.
    """
    lo = np.atleast_1d(np.asarray(lower if lower is not None else 0.0, dtype=np.float64))
    up = np.atleast_1d(np.asarray(upper if upper is not None else np.inf, dtype=np.float64))
    if not np.all(np.nan_to_num(lo, nan=0.0) >= 0):
        return  # short selling allowed: large weights can be meant
    if lo.max(initial=0.0) > 1:
        x = float(lo.max())
        raise InputError(
            f"lower has {x:g}, which is {fmt_pct(x)}: weights are decimals, so "
            f"type {x / 100:g} or {x:g}%",
            "lower",
        )
    suspicious = up[np.isfinite(up) & (up >= 2) & (up <= 100)]
    if suspicious.size:
        x = float(suspicious[0])
        raise InputError(
            f"upper has {x:g}, which is {fmt_pct(x)}: weights are decimals, so "
            f"type {x / 100:g} or {x:g}% (leave blank for no limit)",
            "upper",
        )


# -- writing ---------------------------------------------------------------------------------


def clean(x: float) -> float | str:
    """One output number: no ``-0.0``; NaN as an empty cell; infinities as text."""
    if x != x:
        return ""
    if math.isinf(x):
        return "unbounded" if x > 0 else "-unbounded"
    return float(x) + 0.0


def clean_weights(
    w: NDArray[np.float64],
    lower: NDArray[np.float64] | None = None,
    upper: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Remove float dust: snap weights within 1e-12 of a bound or of zero onto it.

    The tolerance is relative to the largest weight (at least 1), so that levered long-short
    portfolios are cleaned at the same relative precision.
    """
    return core_clean_weights(w, lower, upper, output=True)[0]


def shaped(values: NDArray[np.float64] | Sequence[float], orientation: str) -> list[list[Any]]:
    """Shape a vector as Excel rows: ``[[a], [b], ...]`` (column) or ``[[a, b, ...]]`` (row)."""
    vals = [clean(x) for x in np.asarray(values, dtype=np.float64).tolist()]
    return [vals] if orientation == "row" else [[v] for v in vals]


def table(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Make a rectangular table of cells: floats cleaned, ``None`` empty, short rows padded."""
    width = max(len(r) for r in rows)
    out = []
    for r in rows:
        cells = [clean(x) if isinstance(x, float) else ("" if x is None else x) for x in r]
        out.append(cells + [""] * (width - len(cells)))
    return out
