"""Generate the xlfrontier template workbook (sheets Start, Inputs, Optimizer, Frontier, Prices).

The workbook is written with XlsxWriter because it stores the dynamic-array metadata that makes
Excel spill a formula's result (openpyxl cannot). Every formula cell also stores its value:
the generator evaluates each worksheet function with :mod:`xlfrontier.udfs` (the very functions
the add-in registers in Excel) and each built-in formula with numpy, so the workbook shows
correct numbers and charts on first open, before any recalculation and without the add-in.

Layout in one line per sheet (see ``docs/template.md`` for the user's view):

- **Start**: what the workbook does, how to fill it, the function legend.
- **Inputs**: settings (``rf``, ``target``, ``points``, ``cov_source`` and the switch
  ``inputs_from``), the asset table of the Assumptions route (``labels``, ``mu``, ``vols``,
  ``lower``, ``upper``), the correlation matrix (``corr``), an optional pasted covariance
  (``cov_input``), the covariance of the assumptions (``cov``), and the inputs the optimiser
  uses, chosen by the switch (``labels_used``, ``mu_used``, ``vol_used``, ``lower_used``,
  ``upper_used``, ``target_used``, ``cov_used``).
- **Optimizer**: minimum-variance, maximum-Sharpe and target-return portfolios side by side,
  their risk contributions, ``PORTFOLIO_STATS`` and ``PORTFOLIO_EXPLAIN`` of the target.
- **Frontier**: ``EFFICIENT_FRONTIER`` spilling its table, an XY chart (frontier, assets, the
  three portfolios, capital market line) and a stacked-area chart of the weights.
- **Prices**: the Prices route: a price history, μ and Σ estimated from it (``mu_prices``,
  ``cov_prices``), and its own bounds and target return (``prices_lower``, ``prices_upper``,
  ``prices_target``).

Optimizer and Frontier read only the ``*_used`` names, so the one cell ``inputs_from``
re-targets them (and the charts) from the asset table to the estimates of the Prices sheet.
The switch needs both routes to have the same number of assets (the layout is sized at build
time); otherwise it offers only ``Assumptions``.

Each sheet is one :class:`Sheet` subclass listed in :data:`SHEETS` (the tab order). Sheets are
built in the order of their :attr:`Sheet.stage` (ties keep the tab order), so that a sheet's
formulas are evaluated after the sheets they read: the Prices sheet is built before Inputs,
whose used-inputs block reads its estimates.

Formulas are stored as Excel stores them: every call of a worksheet function is linked to the
add-in, ``[1]!FRONTIER_RANGE(...)`` with an external link to ``xlfrontier.xlam`` in XLSTART
(see :func:`link_addin_functions`), and every call is a dynamic-array formula, a one-cell one
for a scalar result (no ``@`` in Excel 365; an array formula in Excel 2016/2019).

Output is deterministic: fixed document properties and XlsxWriter's fixed zip timestamps make
regenerating give a byte-identical file (a test compares the committed template with a fresh
generation); the link to the add-in is added to the package with the same timestamps.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import itertools
import math
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, overload

import numpy as np
import xlsxwriter
import xlsxwriter.exceptions
from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

from xlfrontier._resources import TEMPLATE_FILENAME, find_templates_dir
from xlfrontier.excel.limits import MAX_POINTS, MIN_POINTS
from xlfrontier.exceptions import InputError
from xlfrontier.workbook import sample_prices
from xlfrontier.workbook._csvfile import read_csv_table
from xlfrontier.workbook._formula import sub_outside_strings
from xlfrontier.workbook._output import OWNER_PROPERTY, atomic_write, owner_stamp

__all__ = [
    "ADDIN_PREFIX",
    "ADDIN_TARGET",
    "INPUTS_FROM",
    "SAMPLE",
    "SAMPLE_PRICES",
    "SHEETS",
    "TEMPLATE_FILENAME",
    "XLSTART_LINK_TYPE",
    "Assumptions",
    "BuildResult",
    "PriceHistory",
    "Ref",
    "Sheet",
    "addin_linked",
    "build_workbook",
    "call_udf",
    "generate_template",
    "link_addin_functions",
    "read_assumptions_csv",
    "read_prices_csv",
]


# Fixed document metadata: with it (and XlsxWriter's fixed zip timestamps) the file is
# byte-identical on every generation.
_CREATED = _dt.datetime(2024, 1, 1, 0, 0, 0)
# calcId of Excel 365. With the default (an old engine id plus fullCalcOnLoad) Excel recomputes
# every formula on open, so a machine without the add-in would replace the stored results
# with #NAME?. With a current id and no forced recalculation the stored values are shown until
# an input changes.
_CALC_ID = 191029

#: The choices of the Inputs sheet's "Inputs from" switch (defined name ``inputs_from``).
INPUTS_FROM = ("Assumptions", "Prices")


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assumptions:
    """The inputs written into the Inputs sheet.

    Attributes
    ----------
    names : tuple of str, length n_assets
        Asset names (they label the tables and the charts).
    expected_returns, volatilities : tuple of float, length n_assets
        Annual decimals (0.07 = 7%).
    correlations : tuple of tuple of float, shape (n_assets, n_assets)
        Correlation matrix.
    min_weights, max_weights : tuple of float or None, length n_assets
        Per-asset bounds; ``None`` leaves the cell blank (the functions' default: lower 0,
        no upper limit).
    risk_free_rate, target_return : float
        Annual decimals.
    frontier_points : int
        Rows of the frontier table.
    covariance : tuple of tuple of float, optional
        A covariance matrix to paste instead of deriving it from volatilities and
        correlations (then "Covariance input" is set to "Covariance matrix").
    source : str
        One line on where the numbers come from (shown on the Inputs sheet).
    """

    names: tuple[str, ...]
    expected_returns: tuple[float, ...]
    volatilities: tuple[float, ...]
    correlations: tuple[tuple[float, ...], ...]
    min_weights: tuple[float | None, ...]
    max_weights: tuple[float | None, ...]
    risk_free_rate: float = 0.03
    target_return: float = 0.06
    frontier_points: int = 25
    covariance: tuple[tuple[float, ...], ...] | None = None
    source: str = ""

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return len(self.names)

    def covariance_matrix(self) -> np.ndarray:
        """Return the covariance the workbook uses, shape (n_assets, n_assets)."""
        if self.covariance is not None:
            return np.asarray(self.covariance, dtype=float)
        vols = np.asarray(self.volatilities, dtype=float)
        return np.outer(vols, vols) * np.asarray(self.correlations, dtype=float)

    def check(self) -> None:
        """Check shapes and ranges that the sheet layout depends on.

        The numerical checks (PSD, feasibility...) are the worksheet functions' job: their
        messages appear in the cells and in :attr:`BuildResult.errors`.

        Raises
        ------
        InputError
            When a list has the wrong length, a matrix the wrong shape, a name is blank or
            repeated, or the number of points is outside ``MIN_POINTS..MAX_POINTS``
            (:mod:`xlfrontier.excel.limits`).
        """
        n = self.n_assets
        if n < 2:
            raise InputError("need at least 2 assets", "names")
        if any(not str(name).strip() for name in self.names):
            raise InputError("every asset needs a name", "names")
        if len(set(self.names)) != n:
            raise InputError("asset names must be unique", "names")
        for label, values in (
            ("expected_returns", self.expected_returns),
            ("volatilities", self.volatilities),
            ("min_weights", self.min_weights),
            ("max_weights", self.max_weights),
        ):
            if len(values) != n:
                raise InputError(f"{label} has {len(values)} values for {n} assets", label)
        for label, matrix in (("correlations", self.correlations), ("covariance", self.covariance)):
            if matrix is None:
                continue
            if len(matrix) != n or any(len(row) != n for row in matrix):
                raise InputError(f"{label} must be a {n}x{n} matrix", label)
        if not MIN_POINTS <= int(self.frontier_points) <= MAX_POINTS:
            raise InputError(
                f"frontier points must be between {MIN_POINTS} and {MAX_POINTS}", "points"
            )


#: Sample capital-market assumptions embedded in the template (see ``_SAMPLE_NOTE``).
SAMPLE = Assumptions(
    names=(
        "US large-cap equity",
        "US small-cap equity",
        "Developed ex-US equity",
        "Emerging-market equity",
        "Global REITs",
        "Commodities",
        "US high-yield bonds",
        "US investment-grade credit",
        "US Treasuries",
        "US TIPS",
    ),
    expected_returns=(0.068, 0.072, 0.072, 0.083, 0.066, 0.048, 0.056, 0.047, 0.039, 0.041),
    volatilities=(0.160, 0.205, 0.170, 0.225, 0.190, 0.175, 0.100, 0.065, 0.052, 0.058),
    correlations=(
        (1.00, 0.88, 0.85, 0.72, 0.75, 0.30, 0.68, 0.30, -0.05, 0.15),
        (0.88, 1.00, 0.78, 0.68, 0.76, 0.32, 0.68, 0.28, -0.10, 0.10),
        (0.85, 0.78, 1.00, 0.82, 0.72, 0.40, 0.68, 0.35, 0.00, 0.20),
        (0.72, 0.68, 0.82, 1.00, 0.65, 0.45, 0.65, 0.38, 0.00, 0.22),
        (0.75, 0.76, 0.72, 0.65, 1.00, 0.25, 0.65, 0.45, 0.15, 0.30),
        (0.30, 0.32, 0.40, 0.45, 0.25, 1.00, 0.40, 0.15, -0.10, 0.30),
        (0.68, 0.68, 0.68, 0.65, 0.65, 0.40, 1.00, 0.55, 0.05, 0.35),
        (0.30, 0.28, 0.35, 0.38, 0.45, 0.15, 0.55, 1.00, 0.80, 0.75),
        (-0.05, -0.10, 0.00, 0.00, 0.15, -0.10, 0.05, 0.80, 1.00, 0.78),
        (0.15, 0.10, 0.20, 0.22, 0.30, 0.30, 0.35, 0.75, 0.78, 1.00),
    ),
    min_weights=(0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    max_weights=(0.40, 0.40, 0.40, 0.40, 0.20, 0.15, 0.25, 0.40, 0.40, 0.40),
    risk_free_rate=0.03,
    target_return=0.06,
    frontier_points=25,
    source=(
        "Sample data: illustrative long-run (10-15 year) annual assumptions in USD, rounded, in "
        "the range of published capital-market-assumption reports; correlations typical of "
        "long monthly index histories. Not investment advice: replace with your own."
    ),
)

_SAMPLE_NOTE = (
    "Expected returns follow the usual building blocks of capital-market assumptions: cash "
    "about 3%, a term premium for Treasuries and TIPS, credit spreads net of defaults for "
    "investment-grade and high-yield bonds, an equity premium of 3.5-5% over cash (more for "
    "small caps and emerging markets), commodities near cash plus inflation.",
    "Volatilities are long-run annualised index volatilities. Correlations are high within "
    "equities (0.7-0.9), moderate between credit and equities, near zero or negative between "
    "Treasuries and equities; the matrix is positive definite (smallest eigenvalue 0.033).",
    "Minimum and maximum weights are a typical policy: at least 5% US large caps, at most "
    "40% per asset class, 20% REITs, 15% commodities, 25% high yield.",
)


def read_assumptions_csv(path: str | Path, base: Assumptions = SAMPLE) -> Assumptions:
    """Read assets from a CSV file; the settings (rf, target, points) come from ``base``.

    The file has a header row and one row per asset::

        asset,expected_return,volatility,min_weight,max_weight,<asset 1>,<asset 2>,...

    where the last ``n`` columns are the correlation matrix (their headers are the asset names,
    in the same order as the rows). Numbers are decimals (``0.07``) or percentages (``7%``);
    ``min_weight``/``max_weight`` may be blank (the functions' defaults). Volatilities must not
    be negative. Files as Excel saves them on any locale are read (UTF-8 or Windows-1252;
    ``;``-separated with decimal commas): see :mod:`xlfrontier.workbook._csvfile`.

    Raises
    ------
    InputError
        When the file cannot be read or its content does not fit the layout above; the message
        names the row and column.
    """
    path = Path(path)
    table = read_csv_table(path, "assets")
    table.require_rows(2, "2 asset rows")
    rows = table.rows
    names_row = [cell.strip() for cell in rows[0]]
    header = [cell.lower() for cell in names_row]
    fixed = ["asset", "expected_return", "volatility", "min_weight", "max_weight"]
    if header[:5] != fixed:
        raise InputError(
            f"{path.name}: the header must start with {','.join(fixed)} and then the asset "
            f"names of the correlation matrix",
            "assets",
        )
    body = rows[1:]
    n = len(body)
    if len(header) != 5 + n:
        raise InputError(
            f"{path.name}: {n} assets need {n} correlation columns after max_weight, found "
            f"{len(header) - 5}",
            "assets",
        )
    row_names = [row[0].strip() if row else "" for row in body]
    if names_row[5:] != row_names:
        raise InputError(
            f"{path.name}: the correlation columns must be headed by the asset names in the "
            f"order of the rows ({', '.join(row_names)})",
            "assets",
        )

    @overload
    def number(text: str, row: int, column: str) -> float: ...
    @overload
    def number(text: str, row: int, column: str, *, blank_ok: bool) -> float | None: ...
    def number(text: str, row: int, column: str, *, blank_ok: bool = False) -> float | None:
        value = table.cell_number(text, row, column, blank_ok=blank_ok)
        if value is not None and not math.isfinite(value):
            raise table.error(f"{column} must be finite", row)
        return value

    names, mus, vols, lows, ups, corr = [], [], [], [], [], []
    for i, row in enumerate(body):
        line = i + 2
        row = [*row, *[""] * (5 + n - len(row))]
        if len(row) > 5 + n:
            raise InputError(
                f"{path.name} row {line}: {len(row)} columns, expected {5 + n}", "assets"
            )
        names.append(row[0].strip())
        mus.append(number(row[1], line, "expected_return"))
        vols.append(number(row[2], line, "volatility"))
        if vols[-1] < 0:  # vol_i·vol_j·corr_ij would flip the sign of every correlation
            raise InputError(
                f"{path.name} row {line}: volatility {row[2].strip()} of {names[-1]} is "
                f"negative: type it without the minus sign (a volatility is at least 0)",
                "assets",
            )
        lows.append(number(row[3], line, "min_weight", blank_ok=True))
        ups.append(number(row[4], line, "max_weight", blank_ok=True))
        corr.append(
            tuple(number(row[5 + j], line, names_row[5 + j] or f"column {6 + j}") for j in range(n))
        )
    result = replace(
        base,
        names=tuple(names),
        expected_returns=tuple(mus),
        volatilities=tuple(vols),
        correlations=tuple(corr),
        min_weights=tuple(lows),
        max_weights=tuple(ups),
        covariance=None,
        source=f"Assets read from {path.name}.",
    )
    result.check()
    return result


@dataclass(frozen=True)
class PriceHistory:
    """The price history written into the Prices sheet, and the Prices route's own settings.

    Attributes
    ----------
    tickers : tuple of str, length n_assets
        Asset names (the price table's header; they label the tables and the charts when the
        workbook runs on prices).
    dates : tuple of str, length n_dates
        ISO dates (``2012-11-30``), oldest first.
    prices : tuple of tuple of float or None, shape (n_dates, n_assets)
        Prices; ``None`` is a blank cell (no price on that date).
    min_weights, max_weights : tuple of float or None, length n_assets
        The Prices route's weight bounds; ``None`` leaves the cell blank (lower 0, no upper
        limit).
    target_return : float
        The Prices route's target return (annual decimal).
    periods_per_year : int
        Price dates per year (12 for month-end prices, 52 weekly, 252 daily).
    source : str
        One line on where the prices come from (shown on the Prices and Start sheets).
    """

    tickers: tuple[str, ...]
    dates: tuple[str, ...]
    prices: tuple[tuple[float | None, ...], ...]
    min_weights: tuple[float | None, ...]
    max_weights: tuple[float | None, ...]
    target_return: float = 0.18
    periods_per_year: int = 12
    source: str = ""

    @property
    def n_assets(self) -> int:
        """Number of assets (price columns)."""
        return len(self.tickers)

    def check(self) -> None:
        """Check the shapes the sheet layout depends on.

        The estimation itself (enough prices, positive values) is checked by the worksheet
        functions, whose messages appear in the cells.

        Raises
        ------
        InputError
            When there are fewer than 2 assets or 3 dates, a ticker is blank or repeated, a row
            or a bounds list has the wrong length, a date is not ISO (YYYY-MM-DD), or the
            dates are not strictly increasing.
        """
        n = self.n_assets
        if n < 2:
            raise InputError("need prices of at least 2 assets", "prices")
        if any(not str(t).strip() for t in self.tickers):
            raise InputError("every price column needs a ticker", "prices")
        if len(set(self.tickers)) != n:
            raise InputError("tickers must be unique", "prices")
        if len(self.dates) < 3:
            raise InputError("need at least 3 dates of prices", "prices")
        if len(self.prices) != len(self.dates):
            raise InputError(
                f"{len(self.prices)} rows of prices for {len(self.dates)} dates", "prices"
            )
        for i, row in enumerate(self.prices):
            if len(row) != n:
                raise InputError(
                    f"price row {i + 1} has {len(row)} values for {n} assets", "prices"
                )
        for label, values in (("min_weights", self.min_weights), ("max_weights", self.max_weights)):
            if len(values) != n:
                raise InputError(f"{label} has {len(values)} values for {n} assets", label)
        days = [_iso_date(d) for d in self.dates]
        for k in range(1, len(days)):
            if days[k] <= days[k - 1]:
                raise InputError(
                    f"dates must be strictly increasing (oldest first): {self.dates[k]} follows "
                    f"{self.dates[k - 1]}",
                    "prices",
                )
        if not 1 <= int(self.periods_per_year) <= 366:
            raise InputError("periods per year must be between 1 and 366", "prices")


def _iso_date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(str(text).strip()[:10])
    except ValueError as err:
        raise InputError(f"date {text!r} is not YYYY-MM-DD", "prices") from err


def _sample_prices() -> PriceHistory:
    rows = sample_prices.MONTH_END_PRICES
    n = len(sample_prices.TICKERS)
    return PriceHistory(
        tickers=sample_prices.TICKERS,
        dates=tuple(day for day, _ in rows),
        prices=tuple(tuple(prices) for _, prices in rows),
        min_weights=(0.0,) * n,
        max_weights=(0.25,) * n,
        target_return=0.18,
        periods_per_year=12,
        source=(
            f"Sample: month-end prices of {n} S&P 500 stocks, {rows[0][0][:7]} to "
            f"{rows[-1][0][:7]}. {sample_prices.SOURCE}"
        ),
    )


#: The sample price history of the Prices sheet (:mod:`.sample_prices`), with the Prices
#: route's default policy: long only, at most 25% per stock, target return 18%.
SAMPLE_PRICES = _sample_prices()


def _periods_per_year(dates: Sequence[str]) -> int:
    """Guess the price frequency from the median spacing of the dates."""
    days = [_iso_date(d) for d in dates]
    gaps = sorted((b - a).days for a, b in itertools.pairwise(days))
    median = gaps[len(gaps) // 2]
    for most, periods in ((4, 252), (10, 52), (45, 12), (135, 4), (200, 2)):
        if median <= most:
            return periods
    return 1


def read_prices_csv(path: str | Path, base: PriceHistory = SAMPLE_PRICES) -> PriceHistory:
    """Read a price history from a CSV file for the Prices sheet.

    The file has a header row ``date,<ticker 1>,<ticker 2>,...`` and one row per date, oldest
    first: an ISO date (``2024-01-31``; a time after it is ignored) and one price per asset.
    A blank price means no price on that date. Prices must be positive numbers. The periods
    per year are guessed from the median spacing of the dates (daily 252, weekly 52, monthly
    12, quarterly 4, half-yearly 2, else 1); every asset is long-only without an upper limit
    (blank bounds): change both on the Prices sheet. The target return is the middle of the
    feasible range of those bounds, rounded to 0.5% (``base.target_return`` when the prices
    cannot be estimated; the sheet's cells then say why).

    Raises
    ------
    InputError
        When the file cannot be read or its content does not fit the layout above; the message
        names the row and column.
    """
    path = Path(path)
    table = read_csv_table(path, "prices")
    table.require_rows(3, "3 rows of prices")
    rows = table.rows
    header = [cell.strip() for cell in rows[0]]
    if header[0].lower() != "date" or len(header) < 3:
        raise InputError(
            f"{path.name}: the header must be date, then one ticker per price column", "prices"
        )
    tickers = tuple(header[1:])
    n = len(tickers)
    dates, prices = [], []
    for i, row in enumerate(rows[1:]):
        line = i + 2
        if len(row) > n + 1 and any(cell.strip() for cell in row[n + 1 :]):
            raise InputError(
                f"{path.name} row {line}: {len(row)} columns, expected {n + 1}", "prices"
            )
        row = [*row, *[""] * (n + 1 - len(row))]
        day = row[0].strip()
        try:
            dates.append(_iso_date(day).isoformat())
        except InputError as err:
            raise InputError(
                f"{path.name} row {line}: {err}: format the date column as yyyy-mm-dd in Excel "
                f"before saving",
                "prices",
            ) from err
        values: list[float | None] = []
        for j, text in enumerate(row[1 : n + 1]):
            value = table.cell_number(text, line, tickers[j], blank_ok=True)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise table.error(f"{tickers[j]} {text.strip()}: prices must be positive", line)
            values.append(value)
        prices.append(tuple(values))
    result = PriceHistory(
        tickers=tickers,
        dates=tuple(dates),
        prices=tuple(prices),
        min_weights=(None,) * n,
        max_weights=(None,) * n,
        target_return=base.target_return,
        periods_per_year=12,
        source=f"Prices read from {path.name}.",
    )
    result.check()
    result = replace(result, periods_per_year=_periods_per_year(result.dates))
    return replace(result, target_return=_middle_target(result, base.target_return))


def _middle_target(history: PriceHistory, default: float) -> float:
    """Return the middle of the feasible target returns (long only), rounded to 0.5%.

    ``default`` when the prices cannot be estimated or optimised (the Prices sheet's cells then
    say why).
    """
    from xlfrontier.core import cov_matrix as estimate_cov_matrix
    from xlfrontier.core import efficient_frontier, mean_returns
    from xlfrontier.exceptions import XlfrontierError

    data = np.array(
        [[np.nan if v is None else v for v in row] for row in history.prices], dtype=float
    )
    try:
        mu = mean_returns(data, history.periods_per_year)
        cov = estimate_cov_matrix(data, history.periods_per_year)
        ends = efficient_frontier(mu, cov).sample(2).returns
    except XlfrontierError:
        return default
    low, high = float(ends[0]), float(ends[-1])
    middle = (low + high) / 2
    rounded = round(middle * 200) / 200
    return rounded if low <= rounded <= high else middle


# --------------------------------------------------------------------------------------------
# Calling the worksheet functions the way Excel does
# --------------------------------------------------------------------------------------------


def _excel_value(block: np.ndarray) -> Any:
    """Return what Excel hands a UDF: a scalar for one cell, else a tuple of row tuples."""
    if block.shape == (1, 1):
        return block[0, 0]
    return tuple(tuple(row) for row in block.tolist())


def _as_table(value: Any) -> np.ndarray:
    """Return a UDF result as a 2-D object array, cleaned like xlwings writes it."""
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (list, tuple)):
        arr = np.array(value, dtype=object)
    else:
        arr = np.array([[value]], dtype=object)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(1, -1)  # xlwings writes a 1-D result as a row
    out = np.empty(arr.shape, dtype=object)
    for idx, item in np.ndenumerate(arr):
        if item is None or (isinstance(item, float) and math.isnan(item)):
            out[idx] = ""
        elif isinstance(item, (bool, np.bool_)):
            out[idx] = bool(item)
        elif isinstance(item, (int, float, np.integer, np.floating)):
            out[idx] = float(item)
        else:
            out[idx] = item
    return out


def call_udf(name: str, *args: Any) -> np.ndarray:
    """Call the worksheet function ``name`` of :mod:`xlfrontier.udfs` as Excel would.

    Parameters
    ----------
    name : str
        Excel name, e.g. ``"EFFICIENT_FRONTIER"``.
    *args
        Excel-shaped arguments: a scalar (or ``None`` for a blank cell) for one cell, a tuple of
        row tuples for a range.

    Returns
    -------
    ndarray of object, 2-D
        The result as it lands in the sheet (a 1x1 array holds a scalar or an error text).
    """
    from xlfrontier import udfs

    return _as_table(getattr(udfs, name)(*args))


def is_error_text(value: Any) -> bool:
    """Whether a cell value is an error text of the worksheet functions (``#INPUT! ...``)."""
    return isinstance(value, str) and value.startswith("#")


# --------------------------------------------------------------------------------------------
# Cell model: what the generator wrote, so formulas can be evaluated as they are written
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A rectangular range on one sheet (0-based, inclusive)."""

    sheet: str
    row: int
    col: int
    last_row: int
    last_col: int

    @classmethod
    def cell(cls, sheet: str, row: int, col: int) -> Ref:
        """Return a one-cell range."""
        return cls(sheet, row, col, row, col)

    @classmethod
    def block(cls, sheet: str, row: int, col: int, rows: int, cols: int) -> Ref:
        """Return the ``rows`` x ``cols`` range whose top-left cell is (row, col)."""
        return cls(sheet, row, col, row + rows - 1, col + cols - 1)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self.last_row - self.row + 1, self.last_col - self.col + 1

    def local(self) -> str:
        """``$A$1`` or ``$A$1:$B$2`` (absolute, without the sheet)."""
        first = xl_rowcol_to_cell(self.row, self.col, row_abs=True, col_abs=True)
        if self.shape == (1, 1):
            return first
        return first + ":" + xl_rowcol_to_cell(self.last_row, self.last_col, True, True)

    def formula(self) -> str:
        """``'Sheet'!$A$1:$B$2``: the form used by defined names and chart series."""
        return f"{quote_sheetname(self.sheet)}!{self.local()}"

    def sub(self, row: int, col: int, rows: int = 1, cols: int = 1) -> Ref:
        """Return the sub-range starting ``row``, ``col`` cells from the top-left corner."""
        return Ref.block(self.sheet, self.row + row, self.col + col, rows, cols)

    def column(self, j: int) -> Ref:
        """Column ``j`` of the range."""
        return Ref(self.sheet, self.row, self.col + j, self.last_row, self.col + j)


@dataclass
class BuildResult:
    """What :func:`build_workbook` wrote, for the command line's summary and for tests.

    Attributes
    ----------
    path : Path
    names : dict of str to Ref
        Every defined name.
    formulas : dict of (sheet, cell) to str
        Every formula written, by anchor cell (``("Frontier", "B37")``), as Excel shows it with
        the add-in loaded (the file stores add-in calls linked: ``[1]!FRONTIER_RANGE(...)``).
    tables : dict of str to ndarray
        Named results as they appear in the sheet (e.g. ``"frontier"``, ``"w_gmv"``).
    errors : list of str
        Error texts that worksheet functions put in cells (empty for good inputs).
    inputs_from_choices : tuple of str
        What the Inputs sheet's switch offers: ``("Assumptions", "Prices")``, or only
        ``("Assumptions",)`` when the prices have another number of assets.
    """

    path: Path
    names: dict[str, Ref] = field(default_factory=dict)
    formulas: dict[tuple[str, str], str] = field(default_factory=dict)
    tables: dict[str, np.ndarray] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    inputs_from_choices: tuple[str, ...] = INPUTS_FROM


_Arg = str | Ref | float | int | None


class _Book:
    """The workbook under construction: formats, names and the values of written cells."""

    def __init__(
        self,
        path: Path,
        assumptions: Assumptions,
        prices: PriceHistory,
        inputs_from: str,
        static: bool,
    ) -> None:
        self.path = path
        self.a = assumptions
        self.prices = prices
        self.inputs_from = inputs_from
        # Set by build_workbook: whether the Inputs sheet's switch can choose the Prices route
        # (a Prices sheet is built and has as many assets as the asset table).
        self.switchable = False
        self.static = static
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
        self.wb.set_properties(
            {
                "title": "xlfrontier: Markowitz efficient frontier",
                "subject": "Mean-variance portfolio optimisation with the xlfrontier Excel add-in",
                "author": "xlfrontier",
                "company": "xlfrontier (open source, MIT)",
                "keywords": "Markowitz, efficient frontier, portfolio optimisation, xlwings",
                "comments": "Generated by xlfrontier.workbook.template",
                "created": _CREATED,
            }
        )
        # Marks the file as xlfrontier's own output (see xlfrontier.workbook._output).
        self.wb.set_custom_property(OWNER_PROPERTY, owner_stamp(_CREATED))
        self.wb.set_calc_mode("auto", calc_id=_CALC_ID)
        self.wb.calc_on_load = False  # keep the stored results (see _CALC_ID)
        self.styles = _Styles(self.wb)
        self.cells: dict[str, dict[tuple[int, int], Any]] = {}
        self.sheets: dict[str, Any] = {}
        self.result = BuildResult(path=path)
        # Worksheet functions called by the formulas written so far (the add-in link lists
        # them, see link_addin_functions).
        self.linked: set[str] = set()

    # ------------------------------------------------------------------ sheets and names
    def add_sheet(self, name: str) -> Any:
        ws = self.wb.add_worksheet(name)
        self.sheets[name] = ws
        self.cells[name] = {}
        return ws

    def define(self, name: str, ref: Ref) -> Ref:
        self.wb.define_name(name, "=" + ref.formula())
        self.result.names[name] = ref
        return ref

    def ref(self, arg: str | Ref) -> Ref:
        return arg if isinstance(arg, Ref) else self.result.names[arg]

    # ------------------------------------------------------------------ values
    def value_block(self, ref: Ref) -> np.ndarray:
        """Return the values of ``ref`` as written so far (blank cells are ``None``)."""
        store = self.cells[ref.sheet]
        rows, cols = ref.shape
        out = np.empty((rows, cols), dtype=object)
        for i in range(rows):
            for j in range(cols):
                out[i, j] = store.get((ref.row + i, ref.col + j))
        return out

    def numbers(self, arg: str | Ref) -> np.ndarray:
        """Numeric values of a range (blank and text cells become NaN)."""
        block = self.value_block(self.ref(arg))
        return np.array(
            [[v if isinstance(v, float) else np.nan for v in row] for row in block], dtype=float
        )

    def put(self, sheet: str, row: int, col: int, value: Any, fmt: Any = None) -> None:
        """Write a constant (number, text or ``None`` for a styled blank)."""
        ws = self.sheets[sheet]
        if value is None:
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        else:
            value = float(value)
            ws.write_number(row, col, value, fmt)
        self.cells[sheet][(row, col)] = value

    # ------------------------------------------------------------------ formulas
    def _text(self, arg: _Arg) -> str:
        if isinstance(arg, Ref):
            return arg.local() if arg.sheet == self._current else arg.formula()
        if isinstance(arg, str):
            return arg
        return "" if arg is None else repr(float(arg)).removesuffix(".0")

    def _value(self, arg: _Arg) -> Any:
        if arg is None or isinstance(arg, (int, float)):
            return arg
        return _excel_value(self.value_block(self.ref(arg)))

    _current: str = ""

    def _stored(self, text: str) -> str:
        """Return the formula as the file stores it: function calls linked to the add-in."""
        stored, used = addin_linked(text)
        self.linked |= used
        return stored

    def formula(
        self,
        sheet: str,
        row: int,
        col: int,
        text: str,
        value: Any,
        fmt: Any = None,
    ) -> None:
        """Write a single-cell formula (built-in functions) with its value computed by numpy."""
        ws = self.sheets[sheet]
        if isinstance(value, (float, np.floating)) and not math.isfinite(value):
            value = ""
        if self.static:
            self.put(sheet, row, col, value if value != "" else None, fmt)
            return
        ws.write_formula(row, col, self._stored(text), fmt, value)
        self.cells[sheet][(row, col)] = value
        self.result.formulas[(sheet, xl_rowcol_to_cell(row, col))] = text

    def array_formula(self, ref: Ref, text: str, value: np.ndarray, fmt: Any = None) -> None:
        """Write a dynamic-array formula over ``ref`` with its value (computed by the caller)."""
        value = np.asarray(value, dtype=object)
        if value.shape != ref.shape:
            raise ValueError(f"{text}: value of shape {value.shape} for {ref.local()}")
        if self.static:
            for (i, j), v in np.ndenumerate(value):
                self.put(ref.sheet, ref.row + i, ref.col + j, None if v == "" else v, fmt)
            return
        self.sheets[ref.sheet].write_dynamic_array_formula(
            ref.row, ref.col, ref.last_row, ref.last_col, self._stored(text), fmt, value[0, 0]
        )
        self.cells[ref.sheet][(ref.row, ref.col)] = value[0, 0]
        for (i, j), v in np.ndenumerate(value):
            if (i, j) != (0, 0):
                # An empty-text result is stored as a blank, as Excel and xlfrontier recalc do.
                self.put(ref.sheet, ref.row + i, ref.col + j, None if v == "" else v, fmt)
        self.result.formulas[(ref.sheet, xl_rowcol_to_cell(ref.row, ref.col))] = text

    def udf(
        self,
        sheet: str,
        row: int,
        col: int,
        func: str,
        args: Sequence[_Arg],
        fmt: Callable[[np.ndarray, int, int], Any] | Any = None,
        *,
        name: str | None = None,
        transpose: bool = False,
    ) -> np.ndarray:
        """Write ``=func(args)`` at (row, col) with the value :mod:`xlfrontier.udfs` gives.

        Every call is written as Excel 365 saves a formula it may spill: a dynamic-array formula
        (``t="array"``, ``cm="1"``) over the result's range, one cell for a scalar such as
        ``PORTFOLIO_RETURN``. Excel 365 then spills it and shows no implicit-intersection ``@``
        (a legacy formula of a function it cannot see into is shown as ``=@FUNC(...)``); Excel
        2016/2019 read the same cell as a legacy array formula (``{=FUNC(...)}``) over that
        range, which for one cell gives the same scalar. The spilled cells hold the values, as
        Excel itself saves them. ``args`` are defined names, ranges, numbers or ``None`` (an
        omitted optional argument, written as an empty slot). ``transpose`` writes
        ``=TRANSPOSE(func(args))`` (a column result laid out as a row, or the reverse).
        """
        self._current = sheet
        texts = [self._text(a) for a in args]
        while texts and texts[-1] == "":
            texts.pop()
        text = f"={func}({','.join(texts)})"
        result = call_udf(func, *[self._value(a) for a in args])
        if transpose:
            text = f"=TRANSPOSE({text[1:]})"
            result = result.T
        self._current = ""

        def cell_fmt(i: int, j: int, _v: Any) -> Any:
            return fmt(result, i, j) if callable(fmt) else fmt

        ws = self.sheets[sheet]
        rows, cols = result.shape
        for v in result.ravel():
            if is_error_text(v):
                self.result.errors.append(f"{sheet}!{xl_rowcol_to_cell(row, col)}: {v}")
        if self.static:
            for (i, j), v in np.ndenumerate(result):
                self.put(sheet, row + i, col + j, None if v == "" else v, cell_fmt(i, j, v))
        else:
            first = result[0, 0]
            ws.write_dynamic_array_formula(
                row,
                col,
                row + rows - 1,
                col + cols - 1,
                self._stored(text),
                cell_fmt(0, 0, first),
                first,
            )
            self.cells[sheet][(row, col)] = first
            for (i, j), v in np.ndenumerate(result):
                if (i, j) != (0, 0):
                    self.put(sheet, row + i, col + j, None if v == "" else v, cell_fmt(i, j, v))
            self.result.formulas[(sheet, xl_rowcol_to_cell(row, col))] = text
        if name:
            self.result.tables[name] = result
        return result


class _Styles:
    """Cell formats, created once per workbook."""

    INPUT_FILL = "#FFF2CC"
    INPUT_FONT = "#1F3FBF"
    HEAD_FILL = "#DCE6F1"
    TITLE = "#1F3864"
    NOTE = "#595959"

    def __init__(self, wb: Any) -> None:
        base = {"font_name": "Calibri", "font_size": 11}
        inp = {
            **base,
            "bg_color": self.INPUT_FILL,
            "font_color": self.INPUT_FONT,
            "border": 1,
            "border_color": "#BFBFBF",
            "locked": False,
        }
        self.title = wb.add_format(
            {**base, "bold": True, "font_size": 16, "font_color": self.TITLE}
        )
        self.subtitle = wb.add_format(
            {**base, "bold": True, "font_size": 12, "font_color": self.TITLE}
        )
        self.text = wb.add_format({**base, "text_wrap": True, "valign": "top"})
        self.plain = wb.add_format(base)
        self.bold = wb.add_format({**base, "bold": True})
        self.note = wb.add_format({**base, "italic": True, "font_color": self.NOTE})
        self.note_wrap = wb.add_format(
            {**base, "italic": True, "font_color": self.NOTE, "text_wrap": True, "valign": "top"}
        )
        self.link = wb.add_format({**base, "font_color": "#0563C1", "underline": 1})
        self.head = wb.add_format(
            {
                **base,
                "bold": True,
                "bg_color": self.HEAD_FILL,
                "bottom": 1,
                "text_wrap": True,
                "valign": "bottom",
            }
        )
        self.head_right = wb.add_format(
            {
                **base,
                "bold": True,
                "bg_color": self.HEAD_FILL,
                "bottom": 1,
                "text_wrap": True,
                "align": "right",
                "valign": "bottom",
            }
        )
        self.label = wb.add_format({**base})
        self.in_pct = wb.add_format({**inp, "num_format": "0.00%"})
        self.in_int = wb.add_format({**inp, "num_format": "0"})
        self.in_text = wb.add_format(inp)
        self.in_corr = wb.add_format({**inp, "num_format": "0.00"})
        self.in_cov = wb.add_format({**inp, "num_format": "0.000000"})
        self.pct = wb.add_format({**base, "num_format": "0.00%"})
        self.pct1 = wb.add_format({**base, "num_format": "0.0%"})
        self.ratio = wb.add_format({**base, "num_format": "0.000"})
        self.cov = wb.add_format({**base, "num_format": "0.000000"})
        self.number = wb.add_format({**base, "num_format": "General"})
        self.integer = wb.add_format({**base, "num_format": "0"})
        self.out_text = wb.add_format({**base})
        self.error = wb.add_format({**base, "font_color": "#C00000"})
        self.in_price = wb.add_format({**inp, "num_format": "#,##0.000"})
        self.in_date = wb.add_format({**inp, "num_format": "yyyy-mm-dd"})
        self.in_num = wb.add_format({**inp, "num_format": "General"})


# Built-in Excel functions the template uses besides the worksheet functions of
# xlfrontier.udfs (tests check every formula against udfs plus this list).
BUILTINS = frozenset({"IF", "TRANSPOSE", "SQRT", "INDEX", "ROWS", "MAX", "SUM"})

# Colours for one series per asset (Excel's default palette repeats after six series).
PALETTE = (
    "#1F77B4",
    "#FF7F0E",
    "#2CA02C",
    "#D62728",
    "#9467BD",
    "#8C564B",
    "#E377C2",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
    "#393B79",
    "#AD494A",
    "#637939",
    "#8C6D31",
    "#843C39",
)

_COV_FROM_VOLS = "Volatilities and correlations"
_COV_PASTED = "Covariance matrix"

_PROTECT = {
    "select_locked_cells": True,
    "select_unlocked_cells": True,
    "format_columns": True,
    "format_rows": True,
    "format_cells": False,
    "sort": False,
    "autofilter": False,
    "objects": False,
    "scenarios": False,
}


# --------------------------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------------------------


class Sheet:
    """One worksheet of the template. Subclasses set :attr:`name` and implement :meth:`build`.

    A sheet writes constants with :meth:`put`, formulas with ``self.book.udf`` (a worksheet
    function, evaluated with :mod:`xlfrontier.udfs`), ``self.book.array_formula`` and
    ``self.book.formula`` (built-in functions, with the value computed by the caller), and
    defines names with ``self.book.define``; sheets built later read earlier sheets' values
    through the names. To add a sheet, subclass this, list it in :data:`SHEETS` (the tab
    order) and give it a lower :attr:`stage` than the sheets that read its names.
    """

    name: ClassVar[str]
    tab_color: ClassVar[str | None] = None
    protect: ClassVar[bool] = True
    #: Build order: lower first (a sheet is built after the sheets whose names it reads).
    stage: ClassVar[int] = 1

    def __init__(self, book: _Book) -> None:
        self.book = book
        self.ws = book.sheets[self.name]
        self.s = book.styles
        self.a = book.a

    def build(self) -> None:
        """Write the sheet's cells, names and charts."""
        raise NotImplementedError

    def put(self, row: int, col: int, value: Any, fmt: Any = None) -> None:
        """Write a constant into this sheet (see :meth:`_Book.put`)."""
        self.book.put(self.name, row, col, value, fmt)

    def title(self, text: str, note: str) -> None:
        """Write the sheet's title and a one-line note under it."""
        self.ws.set_row(0, 24)
        self.put(0, 1, text, self.s.title)
        self.put(1, 1, note, self.s.note)

    def route_line(self, row: int = 2) -> None:
        """Write which route the results come from (a formula following ``inputs_from``)."""
        self.book.formula(
            self.name,
            row,
            1,
            '="Inputs from: "&inputs_from',
            f"Inputs from: {self.book.inputs_from}",
            self.s.bold,
        )

    def finish(self) -> None:
        """Protect the sheet (no password) unless it is the Start sheet or values-only."""
        if self.protect and not self.book.static:
            self.ws.protect("", _PROTECT)


class StartSheet(Sheet):
    """What the workbook does, how to fill it, where results appear, the function legend."""

    name = "Start"
    tab_color = "#1F3864"
    protect = False

    LEGEND = (
        (
            "MINVAR_WEIGHTS(mu, cov, r, [lower], [upper])",
            "weights of the lowest-volatility portfolio with expected return r",
        ),
        ("GMV_WEIGHTS(cov, [lower], [upper])", "weights of the global minimum-variance portfolio"),
        (
            "MAXSHARPE_WEIGHTS(mu, cov, [rf], [lower], [upper])",
            "weights of the maximum-Sharpe (tangency) portfolio",
        ),
        (
            "EFFICIENT_FRONTIER(mu, cov, [points], [lower], [upper], [rf], [labels])",
            "table of frontier portfolios: Return, Volatility, Sharpe, one weight column per asset",
        ),
        (
            "FRONTIER_RANGE(mu, cov, [lower], [upper])",
            "lowest and highest attainable efficient returns",
        ),
        (
            "PORTFOLIO_RETURN / PORTFOLIO_VOL / PORTFOLIO_SHARPE(w, ...)",
            "statistics of any weights",
        ),
        ("PORTFOLIO_STATS(w, mu, cov, [rf])", "labelled table of a portfolio's statistics"),
        ("RISK_CONTRIBUTIONS(w, cov)", "each asset's share of portfolio variance (sums to 100%)"),
        (
            "PORTFOLIO_EXPLAIN(mu, cov, r, [lower], [upper])",
            "binding bounds, shadow prices and optimality check of the target portfolio",
        ),
        (
            "MEAN_RETURNS(prices, [periods_per_year], [method])",
            "annualised expected returns estimated from prices (Prices sheet)",
        ),
        (
            "COV_MATRIX / CORR_MATRIX(prices, ...[method])",
            "annualised covariance / correlations from prices: sample or Ledoit-Wolf shrinkage",
        ),
        (
            "COV_FROM_CORR(corr, vols)",
            "covariance from correlations and volatilities; refuses a negative volatility",
        ),
    )

    def build(self) -> None:
        ws, s = self.ws, self.s
        ws.hide_gridlines(2)
        ws.set_column(0, 0, 2)
        ws.set_column(1, 1, 62)
        ws.set_column(2, 2, 70)
        self.title(
            "xlfrontier: Markowitz efficient frontier",
            "Exact mean-variance portfolio optimisation with live worksheet functions.",
        )
        row = 3
        blocks = (
            (
                "What this workbook does",
                (
                    "Finds the portfolios with the lowest volatility for each level of expected "
                    "return (the efficient frontier), under your minimum and maximum weights.",
                    "Shows the minimum-variance, maximum-Sharpe and target-return portfolios, "
                    "their risk contributions, and charts the frontier with your assets.",
                    "Everything is a formula: change an input and the results and charts update.",
                    "Two routes to the inputs, one switch: your assumptions (Inputs sheet), or "
                    "expected returns and covariance estimated from price history (Prices sheet).",
                ),
            ),
            (
                "How to fill it",
                (
                    "1. Inputs: type your asset names, expected returns and volatilities (annual, "
                    "as percentages), and min/max weight per asset (blank max = no limit).",
                    "2. Inputs: fill the correlation matrix, or paste a covariance matrix and set "
                    "'Covariance input' to 'Covariance matrix'.",
                    "3. Inputs: set the risk-free rate, your target return and the number of "
                    "frontier points. Yellow cells are inputs; the rest is calculated.",
                    "4. Different number of assets: build a workbook from CSV files with: "
                    "xlfrontier run --assets my_assets.csv --prices my_prices.csv (see the README)",
                    "5. Or start from prices: paste them on the Prices sheet (dates down, one "
                    "column per asset, oldest first), set its methods, bounds and target return, "
                    "and set 'Inputs from' on the Inputs sheet to 'Prices'.",
                ),
            ),
            (
                "Where the results appear",
                (
                    "Optimizer: minimum-variance, maximum-Sharpe and target portfolios side by "
                    "side, risk contributions, and why the target portfolio looks as it does.",
                    "Frontier: the frontier table (it grows with the number of points), the "
                    "frontier chart and the weights along the frontier.",
                    "Optimizer and Frontier show the route chosen by 'Inputs from' (Inputs sheet); "
                    "the bottom of the Inputs sheet lists the inputs in use.",
                    "Prices: expected returns, volatilities, covariance and correlations "
                    "estimated from the prices, and the feasible target returns of those assets.",
                ),
            ),
            (
                "Requirements",
                (
                    "The functions come from the xlfrontier Excel add-in (Windows, Excel 365 or "
                    "2021 for spilling formulas). Install it first: see the README. The workbook "
                    "finds it in your XLSTART folder, where the installer puts it.",
                    "Without the add-in the workbook still shows the results stored when it was "
                    "made, until an input changes. On Linux/macOS, refresh a saved copy with: "
                    "xlfrontier recalc this_file.xlsx",
                    "Errors appear as short texts in the result cell, starting with #INPUT!, "
                    "#INFEASIBLE! or #UNBOUNDED!, and say what to fix.",
                ),
            ),
        )
        for heading, block in blocks:
            self.put(row, 1, heading, s.subtitle)
            row += 1
            for line in block:
                ws.set_row(row, 31)
                self.put(row, 1, line, s.text)
                ws.merge_range(row, 1, row, 2, line, s.text)
                row += 1
            row += 1
        self.put(row, 1, "Go to", s.subtitle)
        row += 1
        for sheet, what in (
            ("Inputs", "your assumptions"),
            ("Optimizer", "the portfolios"),
            ("Frontier", "the frontier table and charts"),
            ("Prices", "estimates from a price history (the Prices route)"),
        ):
            ws.write_url(row, 1, f"internal:'{sheet}'!A1", s.link, string=f"{sheet}: {what}")
            self.book.cells[self.name][(row, 1)] = f"{sheet}: {what}"
            row += 1
        row += 1
        self.put(row, 1, "Functions used in this workbook", s.subtitle)
        row += 1
        for func, what in self.LEGEND:
            self.put(row, 1, func, s.bold)
            self.put(row, 2, what, s.plain)
            row += 1
        row += 1
        self.put(row, 1, "About the sample data", s.subtitle)
        row += 1
        lines = [self.a.source] if self.a.source else []
        if self.a.source == SAMPLE.source:
            lines += list(_SAMPLE_NOTE)
        p = self.book.prices
        if p.source == SAMPLE_PRICES.source:
            lines.append(
                f"Prices sheet: month-end prices of {p.n_assets} S&P 500 stocks "
                f"({', '.join(p.tickers)}), {p.dates[0][:7]} to {p.dates[-1][:7]}. "
                f"{sample_prices.SOURCE}"
            )
        else:
            lines.append(
                f"Prices sheet: {p.source} {p.n_assets} assets ({', '.join(p.tickers)}), "
                f"{len(p.dates)} dates from {p.dates[0]} to {p.dates[-1]}."
            )
        for line in lines:
            ws.set_row(row, 31)
            ws.merge_range(row, 1, row, 2, line, s.note_wrap)
            self.book.cells[self.name][(row, 1)] = line
            row += 1
        ws.activate()


class InputsSheet(Sheet):
    """Settings and the switch, the Assumptions route's inputs, and the inputs in use.

    The Optimizer and Frontier sheets read only the ``*_used`` names written at the bottom of
    this sheet: each is one formula choosing, by the cell ``inputs_from``, between this sheet's
    asset table (the Assumptions route) and the Prices sheet's estimates (the Prices route).
    """

    name = "Inputs"
    tab_color = "#FFC000"

    # 0-based rows of the blocks; the matrices follow the asset table.
    SETTINGS_ROW = 3
    RANGE_ROW = 10  # FRONTIER_RANGE anchor
    ASSETS_ROW = 15  # header row of the asset table

    def build(self) -> None:
        ws, s, a, book = self.ws, self.s, self.a, self.book
        n = a.n_assets
        choices = book.result.inputs_from_choices
        ws.set_column(0, 0, 2)
        ws.set_column(1, 1, 28)
        ws.set_column(2, max(1 + n, 7), 13)
        self.title(
            "Inputs",
            "Yellow cells are inputs. Returns, volatilities and weights are "
            "annual and shown as percentages: type 7% or 0.07.",
        )

        # Settings --------------------------------------------------------------------------
        r0 = self.SETTINGS_ROW
        self.put(r0, 1, "Settings", s.subtitle)
        settings = (
            (
                "rf",
                "Risk-free rate",
                a.risk_free_rate,
                s.in_pct,
                "annual; used for Sharpe ratios and the capital market line",
            ),
            (
                "target",
                "Target return",
                a.target_return,
                s.in_pct,
                "the target-return portfolio of the Assumptions route (Prices has its own)",
            ),
            (
                "points",
                "Frontier points",
                int(a.frontier_points),
                s.in_int,
                f"rows of the Frontier table ({MIN_POINTS} to {MAX_POINTS})",
            ),
            (
                "cov_source",
                "Covariance input",
                _COV_PASTED if a.covariance is not None else _COV_FROM_VOLS,
                s.in_text,
                "where the covariance comes from (list)",
            ),
            (
                "inputs_from",
                "Inputs from",
                book.inputs_from,
                s.in_text,
                "",  # written below, when the used block's row is known
            ),
        )
        for k, (name, label, value, fmt, note) in enumerate(settings):
            row = r0 + 1 + k
            self.put(row, 1, label, s.label)
            self.put(row, 2, value, fmt)
            if note:
                self.put(row, 4, note, s.note)
            book.define(name, Ref.cell(self.name, row, 2))
        # The covariance choice is long text: give it two columns.
        ws.merge_range(r0 + 4, 2, r0 + 4, 3, settings[3][2], s.in_text)
        ws.data_validation(
            r0 + 1,
            2,
            r0 + 1,
            2,
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": -0.05,
                "maximum": 0.5,
                "error_type": "warning",
                "input_title": "Risk-free rate",
                "input_message": "Annual rate, e.g. 3% (type 3% or 0.03).",
                "error_title": "Unusual risk-free rate",
                "error_message": "Expected a rate between -5% and 50%. "
                "Did you type 3 instead of 3%?",
            },
        )
        ws.data_validation(
            r0 + 2,
            2,
            r0 + 2,
            2,
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": -1,
                "maximum": 1,
                "error_type": "warning",
                "input_title": "Target return",
                "input_message": "Annual expected return of the target portfolio, e.g. 6%.",
                "error_title": "Unusual target return",
                "error_message": "Expected a return between -100% and 100%. Did you type 6 "
                "instead of 6%?",
            },
        )
        ws.data_validation(
            r0 + 3,
            2,
            r0 + 3,
            2,
            {
                "validate": "integer",
                "criteria": "between",
                "minimum": MIN_POINTS,
                "maximum": MAX_POINTS,
                "input_title": "Frontier points",
                "input_message": "Rows of the frontier table, evenly spaced in return.",
                "error_title": "Frontier points",
                "error_message": f"Enter a whole number from {MIN_POINTS} to {MAX_POINTS}.",
            },
        )
        ws.data_validation(
            r0 + 4,
            2,
            r0 + 4,
            2,
            {
                "validate": "list",
                "source": [_COV_FROM_VOLS, _COV_PASTED],
                "input_title": "Covariance input",
                "input_message": "Derive the covariance from volatilities and correlations, or "
                "use the covariance matrix pasted below.",
                "error_title": "Covariance input",
                "error_message": f"Choose '{_COV_FROM_VOLS}' or '{_COV_PASTED}'.",
            },
        )
        ws.data_validation(
            r0 + 5,
            2,
            r0 + 5,
            2,
            {
                "validate": "list",
                "source": list(choices),
                "input_title": "Inputs from",
                "input_message": (
                    "Assumptions: the asset table below. Prices: expected returns and "
                    "covariance estimated on the Prices sheet, with its bounds and target."
                    if len(choices) > 1
                    else "Only Assumptions: the Prices sheet has another number of assets."
                ),
                "error_title": "Inputs from",
                "error_message": "Choose " + " or ".join(f"'{c}'" for c in choices) + ".",
            },
        )

        # Asset table (the Assumptions route) -----------------------------------------------
        hr = self.ASSETS_ROW
        first = hr + 1
        last = hr + n
        self.put(hr - 1, 1, "Assets (the Assumptions route)", s.subtitle)
        heads = ("Asset", "Expected return", "Volatility", "Min weight", "Max weight")
        for j, head in enumerate(heads):
            self.put(hr, 1 + j, head, s.head if j == 0 else s.head_right)
        ws.set_row(hr, 30)
        for i in range(n):
            row = first + i
            self.put(row, 1, a.names[i], s.in_text)
            self.put(row, 2, a.expected_returns[i], s.in_pct)
            self.put(row, 3, a.volatilities[i], s.in_pct)
            self.put(row, 4, a.min_weights[i], s.in_pct)
            self.put(row, 5, a.max_weights[i], s.in_pct)
        book.define("labels", Ref(self.name, first, 1, last, 1))
        book.define("mu", Ref(self.name, first, 2, last, 2))
        book.define("vols", Ref(self.name, first, 3, last, 3))
        book.define("lower", Ref(self.name, first, 4, last, 4))
        book.define("upper", Ref(self.name, first, 5, last, 5))
        ws.data_validation(
            first,
            2,
            last,
            3,
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": -1,
                "maximum": 2,
                "error_type": "warning",
                "input_title": "Annual percentage",
                "input_message": "Type 7% or 0.07 (not 7).",
                "error_title": "Unusual value",
                "error_message": "Expected an annual decimal such as 7% (0.07). Did you type 7?",
            },
        )
        ws.data_validation(
            first,
            4,
            last,
            5,
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": -10,
                "maximum": 10,
                "ignore_blank": True,
                "error_type": "warning",
                "input_title": "Weight limit",
                "input_message": "Blank min = 0 (no short selling); blank max = no limit. A "
                "negative min, or none, allows short selling.",
                "error_title": "Weight limit",
                "error_message": "Expected a weight such as 40% (0.4), blank, or none for no "
                "limit. Keep this value?",
            },
        )

        # Correlations ----------------------------------------------------------------------
        cr = last + 3
        self.put(cr - 1, 1, "Correlation matrix", s.subtitle)
        corr = self._matrix(cr, "corr", a.correlations, s.in_corr)
        ws.data_validation(
            corr.row,
            corr.col,
            corr.last_row,
            corr.last_col,
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": -1,
                "maximum": 1,
                "input_title": "Correlation",
                "input_message": "Between -1 and 1; 1 on the diagonal.",
                "error_title": "Correlation",
                "error_message": "A correlation is between -1 and 1.",
            },
        )

        # Optional pasted covariance --------------------------------------------------------
        pr = corr.last_row + 3
        self.put(pr - 1, 1, "Covariance matrix (optional input)", s.subtitle)
        self.put(pr - 1, 4, f"used when 'Covariance input' is '{_COV_PASTED}'", s.note)
        pasted = self._matrix(pr, "cov_input", a.covariance, s.in_cov)

        # Covariance of the assumptions -----------------------------------------------------
        ar = pasted.last_row + 3
        self.put(ar - 1, 1, "Covariance of the assumptions (annual)", s.subtitle)
        self.put(
            ar - 1, 4, "COV_FROM_CORR(corr, vols): volatility × correlation × volatility", s.note
        )
        self._matrix_headers(ar)
        cov_ref = Ref.block(self.name, ar + 1, 2, n, n)
        # COV_FROM_CORR, not MMULT(vols,TRANSPOSE(vols))*corr: it refuses a negative volatility
        # (a -10% typo would flip the sign of every correlation of that asset) and a
        # correlation matrix that is not one, naming the entry, instead of giving numbers.
        text = f'=IF(cov_source="{_COV_PASTED}",cov_input,COV_FROM_CORR(corr,vols))'
        if a.covariance is not None:
            value = np.asarray(a.covariance, dtype=object)
        else:
            value = call_udf("COV_FROM_CORR", book._value("corr"), book._value("vols"))
        if value.shape != cov_ref.shape:  # an error text: in the first cell, as Excel spills it
            message = value[0, 0]
            book.result.errors.append(f"{self.name}!{xl_rowcol_to_cell(ar + 1, 2)}: {message}")
            value = np.full(cov_ref.shape, "", dtype=object)
            value[0, 0] = message
        book.array_formula(cov_ref, text, value, s.error if is_error_text(value[0, 0]) else s.cov)
        book.define("cov", cov_ref)

        # The inputs the Optimizer and Frontier use -----------------------------------------
        ur = cov_ref.last_row + 3
        self._used_block(ur)
        note = (
            f"Assumptions: the asset table below; Prices: the Prices sheet (list). "
            f"Inputs in use: row {ur}"
            if len(choices) > 1
            else f"only Assumptions: the Prices sheet has {book.prices.n_assets} assets, this "
            f"table {n}. Inputs in use: row {ur}"
        )
        self.put(r0 + 5, 4, note, s.note)

        # The feasible range of target returns, below the settings.
        self.put(self.RANGE_ROW - 1, 1, "Feasible target returns (FRONTIER_RANGE)", s.subtitle)
        book.udf(
            self.name,
            self.RANGE_ROW,
            1,
            "FRONTIER_RANGE",
            ("mu_used", "cov_used", "lower_used", "upper_used"),
            self._range_format,
            name="frontier_range",
        )

    def _used_block(self, hr: int) -> None:
        """Write the ``*_used`` names (header row ``hr``), each chosen by ``inputs_from``."""
        s, book, n = self.s, self.book, self.a.n_assets
        prices = book.inputs_from == INPUTS_FROM[1]
        self.put(
            hr - 1,
            1,
            "Inputs used by the Optimizer and Frontier (chosen by 'Inputs from')",
            s.subtitle,
        )
        first, last = hr + 1, hr + n
        heads = ("Asset", "Expected return", "Volatility", "Min weight", "Max weight")
        for j, head in enumerate(heads):
            self.put(hr, 1 + j, head, s.head if j == 0 else s.head_right)
        self.ws.set_row(hr, 30)

        def pick(assumptions: str, from_prices: str) -> str:
            if not book.switchable:
                return "=" + assumptions
            return f'=IF(inputs_from="{INPUTS_FROM[1]}",{from_prices},{assumptions})'

        def keep_blank(name: str) -> str:
            # A formula returns 0 for a blank cell: keep blanks blank, so that a blank bound
            # keeps meaning "the default" and a blank return is still reported as missing.
            return f'IF({name}="","",{name})'

        def values(name: str, transpose: bool, blank: bool) -> np.ndarray:
            block = book.value_block(book.ref(name))
            if blank:
                block = np.where(block == None, "", block)  # noqa: E711 (object array)
            return block.T if transpose else block

        for j, (used, own, theirs, blank, fmt) in enumerate(
            (
                ("labels_used", "labels", "prices_labels", False, s.bold),
                ("mu_used", "mu", "mu_prices", True, s.pct),
                ("lower_used", "lower", "prices_lower", True, s.pct),
                ("upper_used", "upper", "prices_upper", True, s.pct),
            )
        ):
            col = 1 + (j if j < 2 else j + 1)
            ref = Ref(self.name, first, col, last, col)
            theirs_text = f"TRANSPOSE({keep_blank(theirs) if blank else theirs})"
            own_text = keep_blank(own) if blank else own
            value = values(theirs, True, blank) if prices else values(own, False, blank)
            book.array_formula(ref, pick(own_text, theirs_text), value, fmt)
            book.define(used, ref)

        # Target return used, under the table.
        tr = last + 2
        self.put(tr, 1, "Target return used", s.label)
        target = book.prices.target_return if prices else self.a.target_return
        book.formula(self.name, tr, 2, pick("target", "prices_target"), target, s.pct)
        book.define("target_used", Ref.cell(self.name, tr, 2))

        # Covariance used.
        cr = tr + 3
        self.put(cr - 1, 1, "Covariance used by the optimiser (annual)", s.subtitle)
        self._matrix_headers(cr, "labels_used")
        cov_ref = Ref.block(self.name, cr + 1, 2, n, n)
        source = "cov_prices" if prices else "cov"
        cov = book.numbers(source)
        stored = book.value_block(book.ref(source))  # an error text stays a text
        stored = np.where(stored == None, "", stored)  # noqa: E711 (object array)
        fmt = s.error if is_error_text(stored[0, 0]) else s.cov
        book.array_formula(cov_ref, pick("cov", "cov_prices"), stored, fmt)
        book.define("cov_used", cov_ref)

        # Volatility used (the chart's asset points): sqrt of the diagonal of cov_used.
        for i in range(n):
            # ROWS(...) is the asset's position: the formula can be copied down to new rows.
            k = f"ROWS(B${first + 1}:B{first + 1 + i})"
            book.formula(
                self.name,
                first + i,
                3,
                f"=SQRT(INDEX(cov_used,{k},{k}))",
                float(np.sqrt(cov[i, i])) if cov[i, i] >= 0 else "",
                s.pct,
            )
        book.define("vol_used", Ref(self.name, first, 3, last, 3))
        self.put(last + 1, 3, "√ of the diagonal of cov_used", s.note)

    # --------------------------------------------------------------------------- helpers
    def _range_format(self, table: np.ndarray, i: int, j: int) -> Any:
        v = table[i, j]
        if isinstance(v, str):
            if is_error_text(v):
                return self.s.error
            return (self.s.head if j == 0 else self.s.head_right) if i == 0 else self.s.label
        return self.s.pct

    def _matrix_headers(self, header_row: int, labels: str = "labels") -> None:
        """Asset names across and down (spilling formulas: they follow ``labels``)."""
        n = self.a.n_assets
        names = self.book.value_block(self.book.ref(labels)).ravel()
        self.put(header_row, 1, "", self.s.head)
        self.book.array_formula(
            Ref.block(self.name, header_row, 2, 1, n),
            f"=TRANSPOSE({labels})",
            names.reshape(1, n),
            self.s.head_right,
        )
        self.book.array_formula(
            Ref.block(self.name, header_row + 1, 1, n, 1),
            f"={labels}",
            names.reshape(n, 1),
            self.s.bold,
        )
        self.ws.set_row(header_row, 45)

    def _matrix(self, header_row: int, name: str, values: Any, fmt: Any) -> Ref:
        n = self.a.n_assets
        self._matrix_headers(header_row)
        ref = Ref.block(self.name, header_row + 1, 2, n, n)
        for i in range(n):
            for j in range(n):
                self.put(ref.row + i, ref.col + j, None if values is None else values[i][j], fmt)
        self.book.define(name, ref)
        return ref


class OptimizerSheet(Sheet):
    """The three portfolios side by side, risk contributions, stats and explanation."""

    name = "Optimizer"
    tab_color = "#70AD47"

    STATS_ROW = 4  # header row of the statistics block
    WEIGHTS_ROW = 11  # header row of the weights block
    EXPLAIN_COL = 11
    STATS_TABLE_ROWS = 6  # rows of PORTFOLIO_STATS

    PORTFOLIOS = (
        ("w_gmv", "Minimum variance", "GMV_WEIGHTS", ("cov_used", "lower_used", "upper_used")),
        (
            "w_maxsharpe",
            "Maximum Sharpe",
            "MAXSHARPE_WEIGHTS",
            ("mu_used", "cov_used", "rf", "lower_used", "upper_used"),
        ),
        (
            "w_target",
            "Target return",
            "MINVAR_WEIGHTS",
            ("mu_used", "cov_used", "target_used", "lower_used", "upper_used"),
        ),
    )

    def build(self) -> None:
        ws, s, a, book = self.ws, self.s, self.a, self.book
        n = a.n_assets
        ws.set_column(0, 0, 2)
        ws.set_column(1, 1, 28)
        ws.set_column(2, 4, 15)
        ws.set_column(5, 5, 3)
        ws.set_column(6, 8, 15)
        ws.set_column(9, 10, 3)
        ws.set_column(self.EXPLAIN_COL, self.EXPLAIN_COL, 50)
        ws.set_column(self.EXPLAIN_COL + 1, self.EXPLAIN_COL + 5, 14)
        self.title(
            "Optimizer",
            "Calculated from the inputs chosen by 'Inputs from' on the Inputs sheet; nothing to "
            "type here.",
        )
        self.route_line()

        # Weights first (statistics refer to them) ------------------------------------------
        wr = self.WEIGHTS_ROW
        first = wr + 1
        self.put(wr - 1, 1, "Weights", s.subtitle)
        self.put(wr - 1, 6, "Risk contributions (share of variance)", s.subtitle)
        self.put(wr, 1, "Asset", s.head)
        book.array_formula(
            Ref.block(self.name, first, 1, n, 1),
            "=labels_used",
            book.value_block(book.ref("labels_used")),
            s.bold,
        )
        for k, (name, label, func, args) in enumerate(self.PORTFOLIOS):
            self.put(wr, 2 + k, label, s.head_right)
            self.put(wr, 6 + k, label, s.head_right)
            book.udf(self.name, first, 2 + k, func, args, self._weight_format, name=name)
            book.define(name, Ref.block(self.name, first, 2 + k, n, 1))
            book.udf(
                self.name,
                first,
                6 + k,
                "RISK_CONTRIBUTIONS",
                (name, "cov_used"),
                self._weight_format,
                name=f"rc_{name[2:]}",
            )
        ws.set_row(wr, 30)

        # Statistics ------------------------------------------------------------------------
        sr = self.STATS_ROW
        self.put(sr - 1, 1, "Portfolios", s.subtitle)
        self.put(sr, 1, "", s.head)
        stats = (
            ("Expected return", "PORTFOLIO_RETURN", ("mu_used",), s.pct),
            ("Volatility", "PORTFOLIO_VOL", ("cov_used",), s.pct),
            ("Sharpe ratio", "PORTFOLIO_SHARPE", ("mu_used", "cov_used", "rf"), s.ratio),
        )
        for k, (name, label, *_rest) in enumerate(self.PORTFOLIOS):
            self.put(sr, 2 + k, label, s.head_right)
            for i, (_stat, func, args, fmt) in enumerate(stats):
                res = book.udf(self.name, sr + 1 + i, 2 + k, func, (name, *args), fmt)
                book.result.tables[f"{name[2:]}_{func.lower()}"] = res
                book.define(
                    f"{name[2:]}_{func.split('_')[1].lower()}",
                    Ref.cell(self.name, sr + 1 + i, 2 + k),
                )
        for i, (stat, *_rest) in enumerate(stats):
            self.put(sr + 1 + i, 1, stat, s.label)
        total_row = sr + 1 + len(stats)
        self.put(total_row, 1, "Sum of weights", s.label)
        for k, (name, *_rest) in enumerate(self.PORTFOLIOS):
            book.formula(
                self.name,
                total_row,
                2 + k,
                f"=SUM({name})",
                _float_sum(book.result.tables[name]),
                s.pct1,
            )
        ws.set_row(sr, 30)

        # Target portfolio: full statistics and explanation --------------------------------
        ec = self.EXPLAIN_COL
        self.put(sr - 1, ec, "Target portfolio in detail", s.subtitle)
        book.udf(
            self.name,
            sr,
            ec,
            "PORTFOLIO_STATS",
            ("w_target", "mu_used", "cov_used", "rf"),
            self._stats_format,
            name="target_stats",
        )
        # Fixed positions, whatever the current results: an error text today must not leave
        # PORTFOLIO_STATS without room to spill tomorrow.
        er = sr + self.STATS_TABLE_ROWS + 2
        self.put(er - 1, ec, "Why it looks as it does (PORTFOLIO_EXPLAIN)", s.subtitle)
        book.udf(
            self.name,
            er,
            ec,
            "PORTFOLIO_EXPLAIN",
            ("mu_used", "cov_used", "target_used", "lower_used", "upper_used"),
            self._explain_format,
            name="target_explain",
        )

    def _weight_format(self, table: np.ndarray, i: int, j: int) -> Any:
        return self.s.error if is_error_text(table[i, j]) else self.s.pct1

    # Number formats by row label. The labels come from xlfrontier.udfs; a label this table
    # does not know just keeps the General format.
    _PERCENT_ROWS = frozenset(
        {"Return", "Volatility", "Target return", "Expected return", "Sum of weights"}
    )
    _FORMAT_BY_LABEL: ClassVar[dict[str, str]] = {
        "Variance": "cov",
        "Sharpe ratio": "ratio",
        "Holdings": "integer",
    }

    def _stats_format(self, table: np.ndarray, i: int, j: int) -> Any:
        s, v = self.s, table[i, j]
        if isinstance(v, str):
            return s.error if is_error_text(v) else s.label
        label = self._row_label(table, i)
        if label in self._PERCENT_ROWS:
            return s.pct
        return getattr(s, self._FORMAT_BY_LABEL.get(label, "number"))

    def _explain_format(self, table: np.ndarray, i: int, j: int) -> Any:
        s, v = self.s, table[i, j]
        if isinstance(v, str):
            if is_error_text(v):
                return s.error
            return s.head if self._row_label(table, i) == "Asset" else s.label
        if self._in_asset_rows(table, i):
            return s.pct1 if 1 <= j <= 3 else s.number
        label = self._row_label(table, i)
        return s.pct if label in self._PERCENT_ROWS else s.number

    @staticmethod
    def _row_label(table: np.ndarray, i: int) -> str:
        return str(table[i, 0])

    @staticmethod
    def _in_asset_rows(table: np.ndarray, i: int) -> bool:
        return "Asset" in [str(x) for x in table[:i, 0]]


class FrontierSheet(Sheet):
    """``EFFICIENT_FRONTIER`` and the two charts bound to it."""

    name = "Frontier"
    tab_color = "#5B9BD5"

    CHART_ROW = 3
    POINTS_ROW = 27  # header row of the chart-points table
    TABLE_ROW = 36  # anchor (header row) of the frontier table

    def build(self) -> None:
        ws, s, a, book = self.ws, self.s, self.a, self.book
        n = a.n_assets
        ws.set_column(0, 0, 2)
        ws.set_column(1, 1, 19)
        ws.set_column(2, 3, 13)
        ws.set_column(4, 3 + n, 12)
        self.title(
            "Frontier",
            "EFFICIENT_FRONTIER spills its table below the charts; the "
            "charts read it. Nothing to type here.",
        )
        self.route_line()

        # Frontier table ------------------------------------------------------------------
        tr = self.TABLE_ROW
        self.put(
            tr - 1,
            1,
            "Efficient frontier: one portfolio per row, from the minimum-"
            "variance portfolio to the highest attainable return",
            s.subtitle,
        )
        table = book.udf(
            self.name,
            tr,
            1,
            "EFFICIENT_FRONTIER",
            ("mu_used", "cov_used", "points", "lower_used", "upper_used", "rf", "labels_used"),
            self._table_format,
            name="frontier",
        )
        ws.set_row(tr, 45)
        points = int(a.frontier_points)
        body = Ref.block(self.name, tr + 1, 1, points, 3 + n)
        book.define("frontier_table", Ref.block(self.name, tr, 1, points + 1, 3 + n))
        ret_col, vol_col = body.column(0), body.column(1)

        # Chart points: the three portfolios and the capital market line ------------------
        pr = self.POINTS_ROW
        self.put(pr - 1, 1, "Chart points", s.subtitle)
        for j, head in enumerate(("Point", "Volatility", "Return")):
            self.put(pr, 1 + j, head, s.head if j == 0 else s.head_right)
        names = book.result.names
        markers = (
            ("Minimum variance", "gmv_vol", "gmv_return"),
            ("Maximum Sharpe", "maxsharpe_vol", "maxsharpe_return"),
            ("Target return", "target_vol", "target_return"),
        )
        cells = book.cells
        for i, (label, vol_name, ret_name) in enumerate(markers):
            row = pr + 1 + i
            self.put(row, 1, label, s.label)
            for j, src in enumerate((vol_name, ret_name)):
                ref = names[src]
                value = cells[ref.sheet].get((ref.row, ref.col))
                book.formula(self.name, row, 2 + j, "=" + ref.formula(), value, s.pct)
        # Capital market line: from (0, rf) through the maximum-Sharpe portfolio to the
        # widest volatility on the chart.
        rf = a.risk_free_rate
        sharpe = cells["Optimizer"].get(
            (names["maxsharpe_sharpe"].row, names["maxsharpe_sharpe"].col)
        )
        vols_all = [
            v
            for v in [
                *book.numbers("vol_used").ravel(),
                *_numbers(table[1:, 1] if table.shape[1] > 1 else []),
            ]
            if math.isfinite(v)
        ]
        x_end = max(vols_all) if vols_all else float("nan")
        cml_start, cml_end = pr + 4, pr + 5
        self.put(cml_start, 1, "Capital market line from", s.label)
        book.formula(self.name, cml_start, 2, "=0", 0.0, s.pct)
        book.formula(self.name, cml_start, 3, "=rf", rf, s.pct)
        self.put(cml_end, 1, "Capital market line to", s.label)
        book.formula(self.name, cml_end, 2, f"=MAX(vol_used,{vol_col.local()})", x_end, s.pct)
        y_end = (rf + sharpe * x_end) if isinstance(sharpe, float) else ""
        book.formula(
            self.name,
            cml_end,
            3,
            f"=rf+maxsharpe_sharpe*{xl_rowcol_to_cell(cml_end, 2)}",
            y_end,
            s.pct,
        )

        # Charts --------------------------------------------------------------------------
        self._frontier_chart(ret_col, vol_col, pr)
        self._weights_chart(body, tr)

    # --------------------------------------------------------------------------- charts
    def _frontier_chart(self, ret_col: Ref, vol_col: Ref, pr: int) -> None:
        book, a = self.book, self.a
        names = book.result.names
        chart_points = book.numbers(Ref.block(self.name, pr + 1, 2, 5, 2))
        frontier = np.column_stack([book.numbers(vol_col).ravel(), book.numbers(ret_col).ravel()])
        asset_xy = np.column_stack(
            [book.numbers("vol_used").ravel(), book.numbers("mu_used").ravel()]
        )
        asset_names = [str(x) for x in book.value_block(book.ref("labels_used")).ravel()]
        # The capital market line is an obstacle too: points along it, between its two ends.
        steps = np.linspace(0.0, 1.0, 41)[:, None]
        cml_line = chart_points[3] + steps * (chart_points[4] - chart_points[3])
        obstacles = np.vstack([chart_points, frontier, cml_line])
        positions = label_positions(
            asset_xy, asset_names, obstacles, also=self._other_route_scene()
        )
        chart = book.wb.add_chart({"type": "scatter", "subtype": "straight"})
        chart.add_series(
            {
                "name": "Efficient frontier",
                "categories": "=" + vol_col.formula(),
                "values": "=" + ret_col.formula(),
                "line": {"color": "#1F3864", "width": 2.25},
                "marker": {"type": "none"},
            }
        )
        cml = Ref.block(self.name, pr + 4, 2, 2, 2)
        chart.add_series(
            {
                "name": "Capital market line",
                "categories": "=" + cml.column(0).formula(),
                "values": "=" + cml.column(1).formula(),
                "line": {"color": "#7F7F7F", "width": 1.25, "dash_type": "dash"},
                "marker": {"type": "none"},
            }
        )
        for i, (label, marker, colour, size) in enumerate(
            (
                ("Minimum variance", "diamond", "#2CA02C", 10),
                ("Maximum Sharpe", "triangle", "#D62728", 10),
                ("Target return", "square", "#FF7F0E", 9),
            )
        ):
            point = Ref.block(self.name, pr + 1 + i, 2, 1, 2)
            chart.add_series(
                {
                    "name": label,
                    "categories": "=" + point.column(0).formula(),
                    "values": "=" + point.column(1).formula(),
                    "line": {"none": True},
                    "marker": {
                        "type": marker,
                        "size": size,
                        "fill": {"color": colour},
                        "border": {"color": "#262626"},
                    },
                }
            )
        # One series per asset, labelled with its series name (the asset's cell of the used
        # inputs on Inputs): LibreOffice ignores per-point custom labels, series-name labels
        # work everywhere.
        labels, vols, mu = names["labels_used"], names["vol_used"], names["mu_used"]
        first_asset = len(chart.series)
        for i in range(a.n_assets):
            chart.add_series(
                {
                    "name": "=" + labels.sub(i, 0).formula(),
                    "categories": "=" + vols.sub(i, 0).formula(),
                    "values": "=" + mu.sub(i, 0).formula(),
                    "line": {"none": True},
                    "marker": {
                        "type": "circle",
                        "size": 6,
                        "fill": {"color": "#A6A6A6"},
                        "border": {"color": "#595959"},
                    },
                    "data_labels": {
                        "series_name": True,
                        "position": positions[i],
                        "font": {"size": 8, "color": "#404040"},
                    },
                }
            )
        chart.set_legend(
            {"position": "bottom", "delete_series": list(range(first_asset, len(chart.series)))}
        )
        chart.set_title({"name": "Efficient frontier", "name_font": {"size": 13}})
        chart.set_x_axis(
            {
                "name": "Volatility (annual)",
                "num_format": "0%",
                "min": 0,
                "major_gridlines": {"visible": True, "line": {"color": "#E7E6E6"}},
            }
        )
        chart.set_y_axis(
            {
                "name": "Expected return (annual)",
                "num_format": "0.0%",
                "major_gridlines": {"visible": True, "line": {"color": "#E7E6E6"}},
            }
        )
        chart.set_size({"width": 620, "height": 440})
        self.ws.insert_chart(self.CHART_ROW, 1, chart, {"x_offset": 4, "y_offset": 4})

    def _other_route_scene(self) -> list[tuple[np.ndarray, list[str], np.ndarray]]:
        """Return the frontier chart's points on the route the switch does not show now.

        Label positions are fixed in the file while the data follow the switch, so they are
        chosen to suit both routes: this scene has the other route's asset points, frontier
        and capital market line (through the frontier's best Sharpe ratio), or nothing when
        the workbook cannot switch or the other route gives errors.
        """
        book = self.book
        if not book.switchable:
            return []
        on_prices = book.inputs_from == INPUTS_FROM[1]
        names = ("labels", "mu", "cov", "lower", "upper")
        if not on_prices:
            names = ("prices_labels", "mu_prices", "cov_prices", "prices_lower", "prices_upper")
        labels, mu, cov, lower, upper = (book.ref(name) for name in names)
        table = call_udf(
            "EFFICIENT_FRONTIER",
            *(book._value(arg) for arg in (mu, cov)),
            float(self.a.frontier_points),
            *(book._value(arg) for arg in (lower, upper)),
            self.a.risk_free_rate,
        )
        cov_values = book.numbers(cov)
        vols = np.sqrt(np.where(np.diag(cov_values) >= 0, np.diag(cov_values), np.nan))
        points = np.column_stack([vols, book.numbers(mu).ravel()])
        body = table[1:, :3] if table.shape[0] > 1 and table.shape[1] >= 3 else None
        if body is None or not all(isinstance(v, float) for v in body.ravel()):
            return []
        curve = body[:, 1::-1].astype(float)  # (volatility, return)
        rf = self.a.risk_free_rate
        x_end = float(np.nanmax(np.concatenate([vols, curve[:, 0]])))
        steps = np.linspace(0.0, 1.0, 41)
        sharpe = float(body[:, 2].astype(float).max())
        cml_line = np.column_stack([steps * x_end, rf + sharpe * steps * x_end])
        texts = [str(x) for x in book.value_block(labels).ravel()]
        return [(points, texts, np.vstack([curve, cml_line]))]

    def _weights_chart(self, body: Ref, table_row: int) -> None:
        book, a = self.book, self.a
        chart = book.wb.add_chart({"type": "area", "subtype": "stacked"})
        categories = "=" + body.column(0).formula()
        for i in range(a.n_assets):
            column = body.column(3 + i)
            chart.add_series(
                {
                    "name": "=" + Ref.cell(self.name, table_row, column.col).formula(),
                    "categories": categories,
                    "values": "=" + column.formula(),
                    "fill": {"color": PALETTE[i % len(PALETTE)]},
                    "border": {"none": True},
                }
            )
        step = max(1, math.ceil(int(a.frontier_points) / 8))
        chart.set_title({"name": "Weights along the frontier", "name_font": {"size": 13}})
        chart.set_x_axis(
            {
                "name": "Expected return of the frontier portfolio",
                "num_format": "0.0%",
                "interval_unit": step,
                "interval_tick": step,
                "num_font": {"rotation": -45, "size": 8},
            }
        )
        chart.set_y_axis(
            {
                "name": "Weight",
                "num_format": "0%",
                "min": 0,
                "max": 1,
                "major_gridlines": {"visible": True, "line": {"color": "#E7E6E6"}},
            }
        )
        chart.set_legend({"position": "right", "font": {"size": 8}})
        chart.set_size({"width": 620, "height": 440})
        self.ws.insert_chart(self.CHART_ROW, 1, chart, {"x_offset": 640, "y_offset": 4})

    def _table_format(self, table: np.ndarray, i: int, j: int) -> Any:
        s, v = self.s, table[i, j]
        if isinstance(v, str):
            if is_error_text(v):
                return s.error
            return s.head if j == 0 else s.head_right
        if j == 2:
            return s.ratio
        return s.pct if j < 2 else s.pct1


class PricesSheet(Sheet):
    """The Prices route: μ and Σ estimated from a price history, with its own bounds and target.

    The sheet holds the prices (the sample: month-end prices of ten S&P 500 stocks,
    :mod:`.sample_prices`), the estimation settings (methods chosen in validated cells), the
    estimates (``MEAN_RETURNS``, ``COV_MATRIX``, ``CORR_MATRIX``, volatilities), and the route's
    own minimum and maximum weight per asset and target return, with the feasible target
    returns of those assets. The Optimizer and Frontier sheets run on it when the Inputs
    sheet's ``inputs_from`` is ``Prices``; it is built before the Inputs sheet, whose
    used-inputs block reads its names. It shares only the risk-free rate with Inputs.
    """

    name = "Prices"
    tab_color = "#7F6000"
    stage = 0

    SETTINGS_ROW = 3  # subtitle; settings below
    ESTIMATES_ROW = 11  # subtitle; header row below
    PRICES_ROW = 19  # header row of the price table (Date, tickers)
    MEAN_METHODS = ("arithmetic", "geometric", "ewma")
    COV_METHODS = ("sample", "ledoit_wolf", "ledoit_wolf_identity", "ewma")

    def build(self) -> None:
        ws, s, book, p = self.ws, self.s, self.book, self.book.prices
        n, t = p.n_assets, len(p.dates)
        rc = self.right_col(n)
        ws.set_column(0, 0, 2)
        ws.set_column(1, 1, 24)
        ws.set_column(2, 1 + n, 10.5)
        ws.set_column(2 + n, 2 + n, 3)
        ws.set_column(rc, rc, 24)
        ws.set_column(rc + 1, rc + n, 12)
        how = (
            "Set 'Inputs from' on the Inputs sheet to 'Prices' to run the Optimizer and "
            "Frontier on these estimates."
            if book.switchable
            else f"The Optimizer and Frontier cannot use them: {n} assets here, "
            f"{self.a.n_assets} in the Inputs table."
        )
        self.title(
            "Prices",
            "The Prices route: expected returns and covariance estimated from prices. " + how,
        )
        if p.source:
            self.put(2, 1, p.source, s.note)

        # Price table (the input) -----------------------------------------------------------
        hr = self.PRICES_ROW
        first, last = hr + 1, hr + t
        self.put(hr - 1, 1, "Prices (oldest first; paste your own)", s.subtitle)
        self.put(
            hr - 1,
            4,
            "dates down, one column per asset; blank = no price; insert rows inside",
            s.note,
        )
        self.put(hr, 1, "Date", s.head)
        for j, ticker in enumerate(p.tickers):
            self.put(hr, 2 + j, ticker, s.in_text)
        epoch = _dt.date(1899, 12, 30)
        for i, (day, row_prices) in enumerate(zip(p.dates, p.prices, strict=True)):
            serial = (_iso_date(day) - epoch).days
            self.put(first + i, 1, float(serial), s.in_date)
            for j, price in enumerate(row_prices):
                self.put(first + i, 2 + j, price, s.in_price)
        book.define("prices_dates", Ref(self.name, first, 1, last, 1))
        book.define("prices_labels", Ref(self.name, hr, 2, hr, 1 + n))
        prices = book.define("prices", Ref(self.name, first, 2, last, 1 + n))
        ws.data_validation(
            prices.row,
            prices.col,
            prices.last_row,
            prices.last_col,
            {
                "validate": "decimal",
                "criteria": ">",
                "value": 0,
                "ignore_blank": True,
                "error_type": "warning",
                "input_title": "Price",
                "input_message": "A positive price; leave blank when there is none.",
                "error_title": "Price",
                "error_message": "Prices must be positive numbers. Keep this value?",
            },
        )

        # Settings --------------------------------------------------------------------------
        r0 = self.SETTINGS_ROW
        self.put(r0, 1, "Settings", s.subtitle)
        settings = (
            (
                "prices_periods",
                "Periods per year",
                int(p.periods_per_year),
                s.in_num,
                "12 for month-end prices, 52 weekly, 252 daily",
            ),
            (
                "prices_mean_method",
                "Expected returns method",
                self.MEAN_METHODS[0],
                s.in_text,
                "MEAN_RETURNS: arithmetic mean, geometric (CAGR) or ewma, annualised",
            ),
            (
                "prices_cov_method",
                "Covariance method",
                self.COV_METHODS[0],
                s.in_text,
                "COV_MATRIX: sample, Ledoit-Wolf shrinkage or ewma",
            ),
            (
                "prices_target",
                "Target return",
                p.target_return,
                s.in_pct,
                "the target-return portfolio when 'Inputs from' is 'Prices'",
            ),
        )
        for k, (name, label, value, fmt, note) in enumerate(settings):
            row = r0 + 1 + k
            self.put(row, 1, label, s.label)
            self.put(row, 2, value, fmt)
            if fmt is s.in_text:
                ws.merge_range(row, 2, row, 3, value, fmt)
            self.put(row, 4, note, s.note)
            book.define(name, Ref.cell(self.name, row, 2))
        rf_row = r0 + 1 + len(settings)
        self.put(rf_row, 1, "Risk-free rate", s.label)
        book.formula(self.name, rf_row, 2, "=rf", self.a.risk_free_rate, s.pct)
        self.put(rf_row, 4, "from the Inputs sheet", s.note)
        validations = (
            (
                0,
                {
                    "validate": "integer",
                    "criteria": "between",
                    "minimum": 1,
                    "maximum": 366,
                    "input_title": "Periods per year",
                    "input_message": "12 for monthly prices, 52 weekly, 252 daily.",
                    "error_title": "Periods per year",
                    "error_message": "Enter a whole number such as 12, 52 or 252.",
                },
            ),
            (1, self._list("Expected returns method", self.MEAN_METHODS)),
            (2, self._list("Covariance method", self.COV_METHODS)),
            (
                3,
                {
                    "validate": "decimal",
                    "criteria": "between",
                    "minimum": -1,
                    "maximum": 1,
                    "error_type": "warning",
                    "input_title": "Target return",
                    "input_message": "Annual expected return of the target portfolio, between "
                    "the feasible returns shown on the right.",
                    "error_title": "Unusual target return",
                    "error_message": "Expected a return between -100% and 100%. Did you type "
                    "18 instead of 18%?",
                },
            ),
        )
        for k, rule in validations:
            ws.data_validation(r0 + 1 + k, 2, r0 + 1 + k, 2, rule)

        # Covariance and correlation (right) ------------------------------------------------
        names = np.array(p.tickers, dtype=object)
        cr = self.SETTINGS_ROW
        self.put(cr, rc, "Covariance matrix (annual, COV_MATRIX)", s.subtitle)
        self._headers(cr + 1, names, rc)
        book.udf(
            self.name,
            cr + 2,
            rc + 1,
            "COV_MATRIX",
            ("prices", "prices_periods", "prices_cov_method"),
            self._matrix_format(s.cov),
            name="cov_prices",
        )
        cov = book.define("cov_prices", Ref.block(self.name, cr + 2, rc + 1, n, n))
        kr = cov.last_row + 3
        self.put(kr - 1, rc, "Correlation matrix (CORR_MATRIX)", s.subtitle)
        self._headers(kr, names, rc)
        book.udf(
            self.name,
            kr + 1,
            rc + 1,
            "CORR_MATRIX",
            ("prices", "prices_cov_method"),
            self._matrix_format(s.ratio),
            name="corr_prices",
        )
        corr = book.define("corr_prices", Ref.block(self.name, kr + 1, rc + 1, n, n))

        # Estimates and the route's weight limits (left, above the prices) ------------------
        er = self.ESTIMATES_ROW
        self.put(er, 1, "Estimated from the prices (annual), and weight limits", s.subtitle)
        self.put(er + 1, 1, "", s.head)
        book.array_formula(
            Ref.block(self.name, er + 1, 2, 1, n),
            "=prices_labels",
            names.reshape(1, n),
            s.head_right,
        )
        self.put(er + 2, 1, "Expected return", s.label)
        book.udf(
            self.name,
            er + 2,
            2,
            "MEAN_RETURNS",
            ("prices", "prices_periods", "prices_mean_method"),
            self._matrix_format(s.pct),
            name="mu_prices",
        )
        book.define("mu_prices", Ref.block(self.name, er + 2, 2, 1, n))
        self.put(er + 3, 1, "Volatility", s.label)
        cov_values = book.numbers(cov)
        for j in range(n):
            book.formula(
                self.name,
                er + 3,
                2 + j,
                f"=SQRT(INDEX(cov_prices,{j + 1},{j + 1}))",
                float(np.sqrt(cov_values[j, j])) if cov_values[j, j] >= 0 else "",
                s.pct,
            )
        book.define("vol_prices", Ref.block(self.name, er + 3, 2, 1, n))
        for k, (name, label, values) in enumerate(
            (
                ("prices_lower", "Min weight", p.min_weights),
                ("prices_upper", "Max weight", p.max_weights),
            )
        ):
            row = er + 4 + k
            self.put(row, 1, label, s.label)
            for j, value in enumerate(values):
                self.put(row, 2 + j, value, s.in_pct)
            book.define(name, Ref.block(self.name, row, 2, 1, n))
        ws.data_validation(
            er + 4,
            2,
            er + 5,
            1 + n,
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": -10,
                "maximum": 10,
                "ignore_blank": True,
                "error_type": "warning",
                "input_title": "Weight limit",
                "input_message": "Used when 'Inputs from' is 'Prices'. Blank min = 0 (no short "
                "selling); blank max = no limit. A negative min, or none, allows short selling.",
                "error_title": "Weight limit",
                "error_message": "Expected a weight such as 25% (0.25), blank, or none for no "
                "limit. Keep this value?",
            },
        )
        self.put(
            er + 6,
            1,
            "Min and max weight per asset: the bounds of this route (blank min = 0, blank max = "
            "no limit).",
            s.note,
        )

        # Feasible target returns of these assets (right, under the correlations) -----------
        fr = corr.last_row + 3
        self.put(fr - 1, rc, "Feasible target returns (FRONTIER_RANGE)", s.subtitle)
        book.udf(
            self.name,
            fr,
            rc,
            "FRONTIER_RANGE",
            ("mu_prices", "cov_prices", "prices_lower", "prices_upper"),
            self._range_format,
            name="frontier_range_prices",
        )

    # --------------------------------------------------------------------------- helpers
    @staticmethod
    def right_col(n_assets: int) -> int:
        """Column of the matrices: right of the estimates, one empty column between."""
        return 3 + n_assets

    @staticmethod
    def _list(title: str, options: Sequence[str]) -> dict[str, Any]:
        return {
            "validate": "list",
            "source": list(options),
            "input_title": title,
            "input_message": "Choose from the list: " + ", ".join(options) + ".",
            "error_title": title,
            "error_message": "Choose one of: " + ", ".join(options) + ".",
        }

    def _headers(self, header_row: int, names: np.ndarray, rc: int) -> None:
        """Tickers across and down, as formulas that follow ``prices_labels``."""
        n = names.size
        self.put(header_row, rc, "", self.s.head)
        self.book.array_formula(
            Ref.block(self.name, header_row, rc + 1, 1, n),
            "=prices_labels",
            names.reshape(1, n),
            self.s.head_right,
        )
        self.book.array_formula(
            Ref.block(self.name, header_row + 1, rc, n, 1),
            "=TRANSPOSE(prices_labels)",
            names.reshape(n, 1),
            self.s.bold,
        )

    def _matrix_format(self, fmt: Any) -> Callable[[np.ndarray, int, int], Any]:
        def pick(table: np.ndarray, i: int, j: int) -> Any:
            return self.s.error if is_error_text(table[i, j]) else fmt

        return pick

    def _range_format(self, table: np.ndarray, i: int, j: int) -> Any:
        v = table[i, j]
        if isinstance(v, str):
            if is_error_text(v):
                return self.s.error
            return (self.s.head if j == 0 else self.s.head_right) if i == 0 else self.s.label
        return self.s.pct


# Geometry of the plot area of the 620 x 440 px frontier chart, for placing asset labels.
_PLOT_W, _PLOT_H = 500.0, 290.0
_CHAR_W, _LABEL_H, _GAP = 5.4, 11.0, 7.0


def _nice_max(value: float) -> float:
    """Return an axis maximum like a spreadsheet's automatic scale (about 8 major units)."""
    if not value > 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(value / 8))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value / (step * factor) <= 8:
            step *= factor
            break
    return math.ceil(value * 1.02 / step) * step


def label_positions(
    points: np.ndarray,
    names: Sequence[str],
    obstacles: np.ndarray,
    *,
    also: Sequence[tuple[np.ndarray, Sequence[str], np.ndarray]] = (),
) -> list[str]:
    """Choose a data-label position per asset point so that labels overlap as little as possible.

    A greedy placement in the chart's approximate pixel space: each label tries right, left,
    above and below its point and takes the position that overlaps other labels, points and
    the chart's edges least (ties keep that order).

    Parameters
    ----------
    points : ndarray of shape (n, 2)
        (volatility, return) of the labelled points.
    names : sequence of str
        The labels.
    obstacles : ndarray of shape (m, 2)
        Other plotted points (markers and the frontier curve); NaN rows are ignored.
    also : sequence of (points, names, obstacles)
        Other scenes the same chart shows (the other route of the Inputs sheet's switch: the
        label positions are fixed in the file, the data follow the switch). A position's score
        is summed over all scenes, each in its own axis scale.

    Returns
    -------
    list of str
        XlsxWriter label positions, one per point.
    """
    scenes = [_Scene(points, names, obstacles), *(_Scene(*scene) for scene in also)]
    scenes = [scene for scene in scenes if scene.ok]
    result = ["right"] * len(names)
    if not scenes:
        return result
    first = scenes[0]
    order = sorted(range(len(names)), key=lambda k: (first.points[k, 0], first.points[k, 1]))
    for k in order:
        scores = dict.fromkeys(("right", "left", "above", "below"), 0.0)
        for scene in scenes:
            for pos, score in scene.scores(k).items():
                scores[pos] += score
        best = min(scores, key=lambda pos: scores[pos])
        result[k] = best
        for scene in scenes:
            scene.place(k, best)
    return result


class _Scene:
    """One set of labelled points and obstacles in the chart's approximate pixel space."""

    def __init__(self, points: np.ndarray, names: Sequence[str], obstacles: np.ndarray) -> None:
        self.points = np.asarray(points, dtype=float)
        self.names = [str(x) for x in names]
        everything = np.vstack([self.points, obstacles]) if obstacles.size else self.points
        finite = everything[np.isfinite(everything).all(axis=1)]
        self.ok = bool(finite.size)
        self.placed: list[tuple[float, ...]] = []
        if not self.ok:
            return
        self.x_max = _nice_max(float(finite[:, 0].max()))
        self.y_lo = min(0.0, float(finite[:, 1].min()))
        self.y_max = _nice_max(float(finite[:, 1].max()) - self.y_lo) + self.y_lo
        self.dots = [
            (*(c - 4 for c in self.pixel(p)), *(c + 4 for c in self.pixel(p))) for p in finite
        ]

    def pixel(self, xy: np.ndarray) -> tuple[float, float]:
        return (
            xy[0] / self.x_max * _PLOT_W,
            (self.y_max - xy[1]) / (self.y_max - self.y_lo) * _PLOT_H,
        )

    def boxes(self, k: int) -> dict[str, tuple[float, float, float, float]]:
        x, y = self.pixel(self.points[k])
        w, h = _CHAR_W * len(self.names[k]), _LABEL_H
        return {
            "right": (x + _GAP, y - h / 2, x + _GAP + w, y + h / 2),
            "left": (x - _GAP - w, y - h / 2, x - _GAP, y + h / 2),
            "above": (x - w / 2, y - _GAP - h, x + w / 2, y - _GAP),
            "below": (x - w / 2, y + _GAP, x + w / 2, y + _GAP + h),
        }

    def scores(self, k: int) -> dict[str, float]:
        if not np.isfinite(self.points[k]).all():
            return {}
        out = {}
        for pos, box in self.boxes(k).items():
            outside = box[2] - box[0]
            inside = (min(box[2], _PLOT_W) - max(box[0], 0.0)) if box[1] >= 0 else 0.0
            score = 4 * max(outside - max(inside, 0.0), 0.0) * _LABEL_H
            score += 3 * sum(_overlap(box, other) for other in self.placed)
            score += sum(_overlap(box, dot) for dot in self.dots)
            # Per unit of label area: scenes with long names and with tickers weigh the same.
            out[pos] = score / ((box[2] - box[0]) * _LABEL_H)
        return out

    def place(self, k: int, pos: str) -> None:
        if np.isfinite(self.points[k]).all():
            self.placed.append(self.boxes(k)[pos])


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _numbers(values: Any) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _float_sum(table: np.ndarray) -> Any:
    values = _numbers(table.ravel())
    return float(sum(values)) if len(values) == table.size else ""


#: The sheets in tab order (the build order follows :attr:`Sheet.stage`).
SHEETS: tuple[type[Sheet], ...] = (
    StartSheet,
    InputsSheet,
    OptimizerSheet,
    FrontierSheet,
    PricesSheet,
)


# --------------------------------------------------------------------------------------------
# Linking the worksheet functions to the add-in
# --------------------------------------------------------------------------------------------
#
# How Excel saves a call to a function of a loaded add-in (.xlam) in an .xlsx: as a call of a
# *defined name of an external workbook*, ``[1]!FRONTIER_RANGE(mu_used,...)``, where ``[1]``
# is the first External Workbook References part (ECMA-376 Part 1 §12.3.9, content type
# ``...spreadsheetml.externalLink+xml``, listed in the workbook's ``externalReferences``,
# §18.2.9), whose ``externalBook`` (§18.14.7) lists the function names as external defined
# names (``definedNames``/``definedName``, §18.14.5-6) and points, through an external
# relationship, at the add-in file (§12.4 External Workbooks). A Microsoft engineer describes
# exactly this for an .xlam function ("[1]! targets to the externalLink1.xml ... its
# externalLink1.xml.rels ... directs where to find the addin", Colbert Zhou [MSFT],
# office-forums "What is [1]! in an Excel formula"), and readers of Excel files report the same
# stored form (ClosedXML issue #121: ``FormulaA1 = "[3]!UDF(variable1, variable2)"``).
#
# Where the add-in lives is stored in the relationship *type*: besides the absolute
# ``.../officeDocument/2006/relationships/externalLinkPath``, Microsoft defines
# ``.../office/2006/relationships/xlExternalLinkPath/xlStartup`` (and ``xlAlternateStartup``,
# ``xlLibrary``, ``xlPathMissing``) for a workbook in Excel's start-up folder (MS-XLSX/MS-XLSB
# §2.1.10 "External Workbooks": the path relationship MUST be one of these; Apache POI,
# LibreOffice's oox filter and the Open XML SDK all list them). The target is then relative
# to that folder, the successor of BIFF8's ``chStartupDir`` path key ("the source workbook is
# in the startup directory"), and Excel resolves it against the *current user's* XLSTART
# (KB 284869: "The path to XLSTART is virtualized. Therefore, external links to XLSTART ...
# refer to the current user's XLSTART folder"). install.ps1 puts the add-in there
# (%APPDATA%\Microsoft\Excel\XLSTART, Excel's Application.StartupPath), so the template links
# with ``xlStartup`` and target ``xlfrontier.xlam``: on every machine with the add-in
# installed the link resolves to the open add-in and the functions work on open; without it
# the cells keep their stored values and Excel offers Data > Edit Links (Change Source).
#
# Not used: a bare ``FRONTIER_RANGE(...)`` (what XlsxWriter writes by default). It is not what
# Excel writes for an add-in function: Excel reads it as a function unknown to the workbook and
# saves it back as ``_xludf.FRONTIER_RANGE(...)`` (the prefix of a user-defined function not
# known at save; files re-saved by Excel show e.g. ``_xludf.NORM.S.DIST`` for an unprefixed
# future function). For Office add-ins' custom functions such cells are reported to stay #NAME?
# after the add-in loads until each is re-entered (office-js #6395, #6611); whether a VBA add-in
# rebinds them is not documented. Unverified here, needs Excel: the exact element set Excel
# writes in the externalBook (it may add a sheetNames/sheetDataSet cache; both are optional in
# the schema, CT_ExternalBook).
#
# The link is added after XlsxWriter has written the file (XlsxWriter cannot write external
# links): three small parts and three one-line insertions, byte-for-byte deterministic.

#: The relationship type of an external workbook in the user's XLSTART folder (MS-XLSX 2.1.10).
XLSTART_LINK_TYPE = (
    "http://schemas.microsoft.com/office/2006/relationships/xlExternalLinkPath/xlStartup"
)
#: The add-in the template's functions link to, relative to XLSTART (install.ps1 copies it there).
ADDIN_TARGET = "xlfrontier.xlam"
#: The stored prefix of a call to an add-in function: external link 1 (the only one).
ADDIN_PREFIX = "[1]!"
EXTERNAL_LINK_PART = "xl/externalLinks/externalLink1.xml"
EXTERNAL_LINK_RELS = "xl/externalLinks/_rels/externalLink1.xml.rels"
_EXTERNAL_LINK_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink"
)
_EXTERNAL_LINK_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"


@functools.cache
def _udf_call_pattern() -> re.Pattern[str]:
    from xlfrontier import udfs

    names = "|".join(sorted(udfs.__all__, key=len, reverse=True))
    # A name not already qualified (by a workbook, sheet or prefix) followed by "(".
    return re.compile(rf"(?<![\w.!\]])({names})\(")


def addin_linked(formula: str) -> tuple[str, set[str]]:
    """Return ``formula`` with every worksheet-function call linked to the add-in.

    ``=IF(a,FRONTIER_RANGE(x),b)`` -> ``=IF(a,[1]!FRONTIER_RANGE(x),b)``; text in string
    literals is left alone.

    Returns
    -------
    str
        The formula as the file stores it.
    set of str
        The worksheet functions it calls.
    """
    pattern = _udf_call_pattern()
    used: set[str] = set()

    def link(m: re.Match[str]) -> str:
        used.add(m.group(1))
        return f"{ADDIN_PREFIX}{m.group(1)}("

    return sub_outside_strings(pattern, link, formula), used


def _insert_once(xml: bytes, before: bytes, text: str, part: str) -> bytes:
    if xml.count(before) != 1:
        raise RuntimeError(f"{part}: expected one {before.decode()} (XlsxWriter changed?)")
    return xml.replace(before, text.encode() + before, 1)


def link_addin_functions(data: bytes, functions: Sequence[str]) -> bytes:
    """Add the external link to the add-in (``[1]``) to a package XlsxWriter wrote.

    Parameters
    ----------
    data : bytes
        The .xlsx as XlsxWriter wrote it, formulas already in the ``[1]!FUNC(`` form.
    functions : sequence of str
        The worksheet functions the formulas call (the link's external defined names).

    Returns
    -------
    bytes
        The package with ``xl/externalLinks/externalLink1.xml``, its relationship to
        ``xlfrontier.xlam`` in XLSTART, the workbook's ``externalReferences`` entry and
        relationship, and the content type. Member order, timestamps and compression follow
        the input, so the result is deterministic.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        parts = {info.filename: z.read(info.filename) for info in infos}
    rels_part = "xl/_rels/workbook.xml.rels"
    ids = re.findall(rb'Id="rId(\d+)"', parts[rels_part])
    rid = f"rId{max(map(int, ids), default=0) + 1}"
    parts[rels_part] = _insert_once(
        parts[rels_part],
        b"</Relationships>",
        f'<Relationship Id="{rid}" Type="{_EXTERNAL_LINK_REL}" '
        f'Target="externalLinks/externalLink1.xml"/>',
        rels_part,
    )
    # CT_Workbook: sheets, functionGroups?, externalReferences?, definedNames?, calcPr? ...
    parts["xl/workbook.xml"] = _insert_once(
        parts["xl/workbook.xml"],
        b"<definedNames>" if b"<definedNames>" in parts["xl/workbook.xml"] else b"<calcPr",
        f'<externalReferences><externalReference r:id="{rid}"/></externalReferences>',
        "xl/workbook.xml",
    )
    parts["[Content_Types].xml"] = _insert_once(
        parts["[Content_Types].xml"],
        b"</Types>",
        f'<Override PartName="/{EXTERNAL_LINK_PART}" ContentType="{_EXTERNAL_LINK_CT}"/>',
        "[Content_Types].xml",
    )
    names = "".join(f'<definedName name="{f}"/>' for f in sorted(set(functions)))
    declaration = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    link = (
        f'{declaration}<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        f'2006/main"><externalBook xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
        f'2006/relationships" r:id="rId1"><definedNames>{names}</definedNames></externalBook>'
        f"</externalLink>"
    )
    link_rels = (
        f'{declaration}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{XLSTART_LINK_TYPE}" '
        f'Target="{ADDIN_TARGET}" TargetMode="External"/></Relationships>'
    )
    template_info = next(i for i in infos if i.filename == "xl/workbook.xml")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in infos:
            z.writestr(_copy_info(info, info.filename), parts[info.filename])
        for name, text in ((EXTERNAL_LINK_PART, link), (EXTERNAL_LINK_RELS, link_rels)):
            z.writestr(_copy_info(template_info, name), text.encode())
    return out.getvalue()


def _copy_info(info: zipfile.ZipInfo, name: str) -> zipfile.ZipInfo:
    """Return a ZipInfo for ``name`` with the timestamp, compression and attributes of ``info``."""
    copy = zipfile.ZipInfo(name, info.date_time)
    copy.compress_type = info.compress_type
    copy.external_attr = info.external_attr
    copy.create_system = info.create_system
    return copy


def build_workbook(
    path: str | Path,
    assumptions: Assumptions = SAMPLE,
    *,
    prices: PriceHistory = SAMPLE_PRICES,
    inputs_from: str = INPUTS_FROM[0],
    static: bool = False,
    sheets: Sequence[type[Sheet]] = SHEETS,
) -> BuildResult:
    """Write the template workbook filled with ``assumptions`` and its computed results.

    Parameters
    ----------
    path : str or Path
        Where to write the ``.xlsx``.
    assumptions : Assumptions
        The inputs of the Assumptions route (defaults to the embedded sample data).
    prices : PriceHistory
        The price history of the Prices sheet (defaults to the embedded sample).
    inputs_from : {"Assumptions", "Prices"}
        The initial value of the Inputs sheet's switch: the route the Optimizer and Frontier
        sheets (and the stored results) use. ``"Prices"`` needs as many price columns as
        assets; otherwise the switch offers only ``"Assumptions"``.
    static : bool
        Write values only, no formulas: for readers without the add-in that recalculate array
        formulas on open (LibreOffice, Google Sheets).
    sheets : sequence of sheet classes
        Tab order; defaults to :data:`SHEETS`.

    Returns
    -------
    BuildResult
        The names, formulas, computed tables and any error texts written.

    Raises
    ------
    InputError
        When ``assumptions`` or ``prices`` do not fit the layout (see
        :meth:`Assumptions.check`, :meth:`PriceHistory.check`), or ``inputs_from`` is not a
        choice the workbook offers.
    """
    assumptions.check()
    prices.check()
    switchable = PricesSheet in sheets and prices.n_assets == assumptions.n_assets
    choices = INPUTS_FROM if switchable else INPUTS_FROM[:1]
    if inputs_from not in choices:
        why = (
            f" (the prices have {prices.n_assets} assets, the asset table {assumptions.n_assets})"
            if inputs_from in INPUTS_FROM
            else ""
        )
        raise InputError(
            f"inputs from {inputs_from!r}: choose {' or '.join(choices)}{why}", "inputs_from"
        )
    path = Path(path)
    book = _Book(path, assumptions, prices, inputs_from, static)
    book.switchable = switchable
    book.result.inputs_from_choices = choices
    builders = {}
    for cls in sheets:
        book.add_sheet(cls.name)
        builders[cls.name] = cls(book)
        if cls.tab_color:
            book.sheets[cls.name].set_tab_color(cls.tab_color)
    for builder in sorted(builders.values(), key=lambda b: b.stage):  # stable: ties keep order
        builder.build()
        builder.finish()
    try:
        with atomic_write(path) as temp:  # a failure midway leaves an existing file intact
            book.wb.filename = str(temp)
            book.wb.close()
            if book.linked:
                temp.write_bytes(link_addin_functions(temp.read_bytes(), sorted(book.linked)))
    except xlsxwriter.exceptions.FileCreateError as err:
        cause = err.args[0] if err.args and isinstance(err.args[0], OSError) else None
        raise cause or OSError(str(err)) from err
    return book.result


def generate_template(path: str | Path | None = None) -> Path:
    """Write the template (sample data, formulas and stored results) and return its path.

    Parameters
    ----------
    path : str or Path, optional
        A file, or a directory to put ``xlfrontier_template.xlsx`` in. Defaults to the
        repository's ``workbook_templates/`` when run from a checkout, else the current
        directory.
    """
    if path is None:
        path = (find_templates_dir() or Path.cwd()) / TEMPLATE_FILENAME
    path = Path(path)
    if path.is_dir():
        path = path / TEMPLATE_FILENAME
    build_workbook(path, SAMPLE)
    return path
