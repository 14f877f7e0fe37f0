"""Inputs from data: expected returns and covariance from price history, shrinkage, PSD repair.

Pure numerics on arrays (numpy only): a price or return table is a 2-D float array with dates
down the rows and assets across the columns, and a blank cell is ``NaN``. The worksheet
functions RETURNS, MEAN_RETURNS, COV_MATRIX, CORR_MATRIX, COV_FROM_CORR, CORR_FROM_COV,
NEAREST_PSD and CHECK_INPUTS wrap the functions of this module.

Missing history: one policy
---------------------------
*Assets listed later, delisted earlier, or with blank days are handled pairwise-complete.*

1. **Returns are taken between consecutive valid prices of each asset.** A blank price inside an
   asset's history (a holiday on its exchange) gives a blank return on that row, and the next
   return spans the gap, so no price move is lost and no artificial zero return is made up.
   Blanks before the first and after the last price are simply "no data".
2. **Rows with no value in any column are dropped** before estimating (a row of blanks is not a
   trading period): they count neither as observations nor, for EWMA, as elapsed time.
3. **Means and variances use each asset's whole history; each covariance uses every date on
   which both assets have a return** (the pairwise-complete estimator that ``pandas`` uses in
   ``DataFrame.cov``). Nothing is thrown away, so an asset listed ten years later does not
   shorten the history of all the others (a common window would).
4. **The pairwise matrix is checked.** Unlike a common-window estimate it need not be positive
   semi-definite; when it is not, it is repaired with :func:`repair_psd` (Higham's nearest
   correlation matrix, variances kept) and the repair is reported in
   :attr:`CovarianceEstimate.repair`. With complete data no check is needed: the estimate is a
   Gram matrix. A large repair means the histories overlap too little for the number of assets;
   shrinkage (``ledoit_wolf``) or a shorter, common window of prices is then the better input.

Why pairwise rather than a common window: with the PyPortfolioOpt sample data a common window
keeps 896 of 7,126 days (BABA lists in September 2014), and every variance and correlation
would be estimated from those 3.5 years; pairwise, each number uses all the data that bears on
it, and the result agrees with ``pandas``. Its price, possible indefiniteness, is checked and
repaired.

The geometric mean compounds over the periods an asset's history spans (a blank inside the
history is a period whose return is part of the next value); the arithmetic and EWMA means
average the returns that are there.

Errors are :class:`~xlfrontier.exceptions.InputError` with messages that fit a spreadsheet cell.

The functions live in private modules by topic, all re-exported here:
``_returns`` (returns and expected returns), ``_covariance`` (covariance and correlation
matrices), ``_moments`` (pairwise moments, Ledoit-Wolf), ``_psd`` (PSD repair),
``_diagnostics`` (:func:`check_inputs`) and ``_estimation_args`` (option parsing).
"""

from __future__ import annotations

from xlfrontier.core._covariance import (
    COV_METHODS,
    CovarianceEstimate,
    corr_from_cov,
    corr_matrix,
    cov_from_corr,
    cov_matrix,
    estimate_cov,
)
from xlfrontier.core._diagnostics import InputCheck, InputReport, check_inputs
from xlfrontier.core._estimation_args import (
    DEFAULT_PERIODS_PER_YEAR,
    DEFAULT_SPAN,
    VOLATILITY_UNITS_LIMIT,
)
from xlfrontier.core._psd import PSDRepair, nearest_psd, repair_psd
from xlfrontier.core._returns import (
    MEAN_METHODS,
    RETURN_METHODS,
    mean_returns,
    returns_from_prices,
)

__all__ = [
    "COV_METHODS",
    "DEFAULT_PERIODS_PER_YEAR",
    "DEFAULT_SPAN",
    "MEAN_METHODS",
    "RETURN_METHODS",
    "VOLATILITY_UNITS_LIMIT",
    "CovarianceEstimate",
    "InputCheck",
    "InputReport",
    "PSDRepair",
    "check_inputs",
    "corr_from_cov",
    "corr_matrix",
    "cov_from_corr",
    "cov_matrix",
    "estimate_cov",
    "mean_returns",
    "nearest_psd",
    "repair_psd",
    "returns_from_prices",
]
