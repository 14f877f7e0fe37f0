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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._validation import PSD_TOL, SYMMETRY_TOL, as_bounds, as_covariance, fmt_pct
from xlfrontier.core._validation import as_vector as _as_vector
from xlfrontier.exceptions import InputError

__all__ = [
    "COV_METHODS",
    "DEFAULT_PERIODS_PER_YEAR",
    "DEFAULT_SPAN",
    "MEAN_METHODS",
    "RETURN_METHODS",
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

FloatArray = NDArray[np.float64]

DEFAULT_PERIODS_PER_YEAR = 252.0
# PyPortfolioOpt's default, so that numbers can be compared with the best-known Python peer.
# Half-life = ln 2 / -ln(1 - 2/(span + 1)) ≈ 173 periods.
DEFAULT_SPAN = 500.0

# Accepted spellings (lower case, "-" and " " read as "_") -> canonical name.
RETURN_METHODS: dict[str, str] = {
    "simple": "simple",
    "arithmetic": "simple",
    "pct": "simple",
    "percent": "simple",
    "log": "log",
    "logarithmic": "log",
    "ln": "log",
    "continuous": "log",
}
MEAN_METHODS: dict[str, str] = {
    "arithmetic": "arithmetic",
    "mean": "arithmetic",
    "simple": "arithmetic",
    "historical": "arithmetic",
    "geometric": "geometric",
    "cagr": "geometric",
    "compound": "geometric",
    "compounded": "geometric",
    "ewma": "ewma",
    "ewm": "ewma",
    "ema": "ewma",
    "exponential": "ewma",
}
COV_METHODS: dict[str, str] = {
    "sample": "sample",
    "historical": "sample",
    "hist": "sample",
    "ewma": "ewma",
    "ewm": "ewma",
    "exponential": "ewma",
    "ledoit_wolf_constant_correlation": "ledoit_wolf_constant_correlation",
    "ledoit_wolf": "ledoit_wolf_constant_correlation",
    "lw": "ledoit_wolf_constant_correlation",
    "constant_correlation": "ledoit_wolf_constant_correlation",
    "lw_constant_correlation": "ledoit_wolf_constant_correlation",
    "ledoit_wolf_identity": "ledoit_wolf_identity",
    "lw_identity": "ledoit_wolf_identity",
    "identity": "ledoit_wolf_identity",
    "scaled_identity": "ledoit_wolf_identity",
    "ledoit_wolf_scaled_identity": "ledoit_wolf_identity",
    "constant_variance": "ledoit_wolf_identity",
    "ledoit_wolf_constant_variance": "ledoit_wolf_identity",
}
_SHRINKAGE = ("ledoit_wolf_constant_correlation", "ledoit_wolf_identity")

# Eigenvalues this far below the floor (relative to the largest) count as rounding in repair_psd.
_EIG_ROUNDING = 1e-12
# Implied |correlation| beyond which repair_psd calls the input a typing error, not a matrix.
_MAX_CORRELATION = 1e12
# CHECK_INPUTS thresholds (documented in check_inputs).
_COND_WARN = 1e6
_COND_SINGULAR = 1e12
_MU_PERCENT = 1.0
_VOL_PERCENT = 2.0
_RATIO_HIGH = 2.0
_RATIO_LOW = 0.005


# --------------------------------------------------------------------------------------------
# Argument parsing
# --------------------------------------------------------------------------------------------


def _choose(value: object, options: dict[str, str], name: str, default: str) -> str:
    """Return the canonical method name for ``value`` (``None`` or blank -> ``default``)."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise InputError(f'{name} must be text such as "{default}"', name)
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if not key:
        return default
    if key not in options:
        names = ", ".join(dict.fromkeys(options.values()))
        raise InputError(f'{name} "{value.strip()[:40]}" is not known: use one of {names}', name)
    return options[key]


def _positive_number(value: object, name: str, default: float, hint: str) -> float:
    if value is None:
        return default
    if isinstance(value, str) or not np.isscalar(value):
        raise InputError(f"{name} must be a single positive number{hint}", name)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a single positive number{hint}", name) from err
    if not (math.isfinite(x) and x > 0):
        raise InputError(f"{name} must be a positive number{hint}, got {x:g}", name)
    return x


def _periods_per_year(value: object) -> float:
    return _positive_number(
        value,
        "periods_per_year",
        DEFAULT_PERIODS_PER_YEAR,
        " (252 for daily, 52 for weekly, 12 for monthly data)",
    )


def _span(value: object, for_cov: bool) -> float:
    s = _positive_number(value, "span", DEFAULT_SPAN, " of periods, e.g. 60 or 500")
    if s < 1 or (for_cov and s == 1):
        rule = "more than 1 for a covariance" if for_cov else "at least 1"
        raise InputError(f"span must be {rule} (it is {s:g}); 500 is a common choice", "span")
    return s


def _flag(value: object, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    raise InputError(f"{name} must be TRUE or FALSE", name)


# --------------------------------------------------------------------------------------------
# Tables of prices and returns
# --------------------------------------------------------------------------------------------


def _as_table(data: ArrayLike, word: str, arg: str) -> FloatArray:
    """Return ``data`` as a (T, n) float array; NaN (blank) allowed, infinities not."""
    try:
        a = np.array(data, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"{word} must contain numbers only (blank cells are allowed)", arg
        ) from err
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise InputError(f"{word} must be a table: dates down the rows, assets across", arg)
    if a.size == 0:
        raise InputError(f"{word} is empty", arg)
    inf = np.isinf(a)
    if inf.any():
        i, j = np.argwhere(inf)[0]
        raise InputError(f"{word} has an infinite value at row {i + 1}, column {j + 1}", arg)
    return a


def _check_prices(p: FloatArray, arg: str) -> None:
    bad = p <= 0
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"prices has a zero or negative price ({p[i, j]:.6g}) at row {i + 1}, column "
            f"{j + 1}: prices must be positive; correct or clear that cell",
            arg,
        )


def _returns(p: FloatArray, how: str) -> FloatArray:
    """Compute simple or log returns between consecutive valid prices of each column."""
    valid = ~np.isnan(p)
    complete = bool(valid.all())
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        if complete:
            r = p[1:] / p[:-1]
        else:
            t = p.shape[0]
            last = np.where(valid, np.arange(t)[:, None], -1)
            np.maximum.accumulate(last, axis=0, out=last)
            prev_row = last[:-1]  # last valid row at or before t - 1
            ok = valid[1:] & (prev_row >= 0)
            prev = np.take_along_axis(p, np.maximum(prev_row, 0), axis=0)
            r = np.where(ok, p[1:] / prev, np.nan)
        if how == "simple":
            r -= 1.0
        else:
            np.log(r, out=r)
        bad = ~np.isfinite(r)
        if not complete:
            bad &= ok
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"prices in column {j + 1} change by an impossible factor at row {i + 2}: "
            f"check the price scale",
            "prices",
        )
    return r


def _history(
    data: ArrayLike, is_returns: bool, need: int, what: str
) -> tuple[FloatArray, NDArray[np.bool_], FloatArray]:
    """Return the validated returns without all-blank rows, their mask, and the raw table.

    Each column must hold at least ``need`` returns (``need + 1`` prices).
    """
    word = "returns" if is_returns else "prices"
    a = _as_table(data, word, "data")
    present = ~np.isnan(a)
    if not is_returns:
        _check_prices(a, "data")
    unit, extra = ("value", 0) if is_returns else ("price", 1)
    counts = present.sum(axis=0)
    short = counts < need + extra
    if short.any():
        j = int(np.flatnonzero(short)[0])
        c = int(counts[j])
        raise InputError(
            f"column {j + 1} of {word} has {c} {unit}{'' if c == 1 else 's'}: at least "
            f"{need + extra} are needed to estimate {what}",
            "data",
        )
    r = a if is_returns else _returns(a, "simple")
    valid = ~np.isnan(r)
    keep = valid.any(axis=1)
    if not keep.all():
        r, valid = r[keep], valid[keep]
    return r, valid, a


def returns_from_prices(prices: ArrayLike, method: str | None = "simple") -> FloatArray:
    """Period returns from a table of prices (the RETURNS worksheet function).

    The return on row ``t`` is taken from the previous valid price of the same asset, so a
    blank price inside a history (a holiday) leaves a blank return on its own row and the next
    return spans the gap. Blanks before the first price stay blank.

    Parameters
    ----------
    prices : array_like of shape (n_dates, n_assets) or (n_dates,)
        Positive prices, dates down the rows (oldest first); NaN for blank cells.
    method : {"simple", "log"}
        ``"simple"``: ``P_t / P_prev - 1`` (as ``pandas.DataFrame.pct_change``);
        ``"log"``: ``ln(P_t / P_prev)``.

    Returns
    -------
    ndarray of shape (n_dates - 1, n_assets)
        Returns as decimals (0.01 = 1%), NaN where there is no return.

    Raises
    ------
    InputError
        Non-numeric, infinite, zero or negative prices; fewer than two rows; unknown method.

    Examples
    --------
    >>> import numpy as np
    >>> prices = np.array([[100.0, 50.0], [102.0, 49.0], [101.0, 51.0],
    ...                    [104.0, 52.0], [106.0, 51.5]])
    >>> from xlfrontier import returns_from_prices
    >>> np.round(returns_from_prices(prices), 4)
    array([[ 0.02  , -0.02  ],
           [-0.0098,  0.0408],
           [ 0.0297,  0.0196],
           [ 0.0192, -0.0096]])
    """
    how = _choose(method, RETURN_METHODS, "method", "simple")
    p = _as_table(prices, "prices", "prices")
    _check_prices(p, "prices")
    if p.shape[0] < 2:
        raise InputError("prices needs at least 2 rows (dates) to compute a return", "prices")
    return _returns(p, how)


# --------------------------------------------------------------------------------------------
# Expected returns
# --------------------------------------------------------------------------------------------


def _ewma_weights(t: int, span: float) -> FloatArray:
    """Weights ``(1 - α)^age`` with ``α = 2 / (span + 1)``, newest row weight 1."""
    alpha = 2.0 / (span + 1.0)
    age = np.arange(t - 1, -1, -1, dtype=np.float64)
    with np.errstate(under="ignore"):
        return np.power(1.0 - alpha, age)


def mean_returns(
    data: ArrayLike,
    periods_per_year: float = DEFAULT_PERIODS_PER_YEAR,
    method: str | None = "arithmetic",
    span: float | None = None,
    is_returns: bool = False,
) -> FloatArray:
    """Annualised expected returns from prices or returns (the MEAN_RETURNS worksheet function).

    Prices are first turned into simple returns (:func:`returns_from_prices`); rows that are
    blank in every column are dropped.

    Parameters
    ----------
    data : array_like of shape (n_dates, n_assets)
        Prices (or simple returns when ``is_returns``), oldest first; NaN for blanks.
    periods_per_year : float, default 252
        252 for daily, 52 for weekly, 12 for monthly data.
    method : {"arithmetic", "geometric", "ewma"}
        ``"arithmetic"``: mean of the returns × ``periods_per_year`` (as
        ``pandas.DataFrame.mean``). ``"geometric"`` (CAGR): ``G^(periods_per_year / k) - 1``,
        with ``G`` the growth over the asset's history (last/first price, or the product of
        ``1 + r``) and ``k`` the number of periods it spans. ``"ewma"``: exponentially weighted
        mean × ``periods_per_year``, weights ``(1 - α)^age``, ``α = 2 / (span + 1)``,
        normalised over the asset's valid returns (``pandas`` ``ewm(span).mean()`` on the last
        row, ``adjust=True``).
    span : float, optional
        EWMA span in periods (default 500; at least 1). Ignored by the other methods. An asset
        whose returns all weigh less than 1e-100 of the newest row's (e.g. span 1 and a blank
        last row) is an error, where pandas would carry its last value forward.
    is_returns : bool, default False
        Whether ``data`` holds returns (decimals) rather than prices.

    Returns
    -------
    ndarray of shape (n_assets,)
        Annualised expected returns as decimals.

    Raises
    ------
    InputError
        Bad prices (see :func:`returns_from_prices`), a column with no return, a return of
        -100% or less with the geometric method, an EWMA column without recent data, an
        unknown method or a bad option.

    Examples
    --------
    >>> import numpy as np
    >>> prices = np.array([[100.0, 50.0], [102.0, 49.0], [101.0, 51.0],
    ...                    [104.0, 52.0], [106.0, 51.5]])
    >>> from xlfrontier import mean_returns
    >>> np.round(mean_returns(prices, periods_per_year=12), 4)
    array([0.1774, 0.0924])
    """
    how = _choose(method, MEAN_METHODS, "method", "arithmetic")
    ppy = _periods_per_year(periods_per_year)
    is_ret = _flag(is_returns, "is_returns")
    s = _span(span, for_cov=False) if how == "ewma" else None
    r, valid, raw = _history(data, is_ret, 1, "a mean return")
    with np.errstate(all="ignore"):
        if how == "geometric":
            out = _geometric(r, valid, raw, is_ret, ppy)
        else:
            z = np.where(valid, r, 0.0)
            if how == "arithmetic":
                out = z.sum(axis=0) / valid.sum(axis=0) * ppy
            else:
                w = _ewma_weights(r.shape[0], s)  # type: ignore[arg-type]
                wsum = w @ valid
                if (wsum < 1e-100).any():
                    j = int(np.argmin(wsum))
                    raise InputError(
                        f"column {j + 1} has no data recent enough for span {s:g}: use a "
                        f"longer span or drop that asset",
                        "span",
                    )
                out = (w @ z) / wsum * ppy
    if not np.isfinite(out).all():
        j = int(np.flatnonzero(~np.isfinite(out))[0])
        raise InputError(
            f"the mean return of column {j + 1} is too large to compute: check the data "
            f"(returns must be decimals, 0.01 = 1%)",
            "data",
        )
    return out


def _geometric(
    r: FloatArray, valid: NDArray[np.bool_], raw: FloatArray, is_returns: bool, ppy: float
) -> FloatArray:
    """Compound annual growth rate per column (see :func:`mean_returns`)."""
    n = r.shape[1]
    cols = np.arange(n)
    if is_returns:
        bad = valid & (r <= -1.0)
        if bad.any():
            # Row numbers of the caller's table: map back through the dropped blank rows.
            rows = np.flatnonzero(~np.isnan(raw).all(axis=1))
            i, j = np.argwhere(bad)[0]
            raise InputError(
                f"returns has {r[i, j]:.6g} at row {rows[i] + 1}, column {j + 1}: a loss of "
                f"100% or more cannot be compounded; are these percentages? (0.05 = 5%)",
                "data",
            )
        log_growth = np.where(valid, np.log1p(np.where(valid, r, 0.0)), 0.0).sum(axis=0)
        first = valid.argmax(axis=0)
        last = valid.shape[0] - 1 - valid[::-1].argmax(axis=0)
        periods = last - first + 1
    else:
        p = raw[~np.isnan(raw).all(axis=1)]
        ok = ~np.isnan(p)
        first = ok.argmax(axis=0)
        last = ok.shape[0] - 1 - ok[::-1].argmax(axis=0)
        periods = last - first
        log_growth = np.log(p[last, cols] / p[first, cols])
    return cast("FloatArray", np.expm1(log_growth * (ppy / periods)))


# --------------------------------------------------------------------------------------------
# Covariance
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Moments:
    """Pairwise-complete (weighted) second moments of a return table.

    ``x`` is the table centred on each column's own (weighted) mean, zero where blank.
    ``cov_biased[i, j]`` divides by the weight sum of the pair's common rows, with the pair's
    own means; ``counts[i, j]`` is the number of common rows; ``w_sum`` and ``w2_sum`` are the
    sums of the weights and squared weights over them.
    """

    x: FloatArray
    gram: FloatArray
    cov_biased: FloatArray
    counts: FloatArray
    w_sum: FloatArray
    w2_sum: FloatArray
    incomplete: NDArray[np.intp]


def _moments(r: FloatArray, valid: NDArray[np.bool_], w: FloatArray | None) -> _Moments:
    """Vectorised pairwise-complete moments (masked matrix products, no loop over pairs).

    With ``M`` the 0/1 mask and ``X`` the centred, zero-filled returns: common-row counts are
    ``MᵀM``, sums ``Σ x_i`` over the rows shared with ``j`` are ``XᵀM`` and cross products are
    ``XᵀX``. Only columns with gaps need the masked products; complete columns share all rows.
    """
    t, n = r.shape
    inc = np.flatnonzero(~valid.all(axis=0))
    if inc.size == 0:
        means = r.mean(axis=0) if w is None else (w @ r) / w.sum()
        x = r - means
    else:
        z = np.where(valid, r, 0.0)
        sw = valid.sum(axis=0) if w is None else w @ valid
        means = (z.sum(axis=0) if w is None else w @ z) / sw
        x = np.where(valid, r - means, 0.0)
    # A column whose returns never change has exactly zero variance, not rounding noise.
    const = np.fmax.reduce(r, axis=0) == np.fmin.reduce(r, axis=0)  # fmax/fmin skip NaN
    if const.any():
        x[:, const] = 0.0
    xw = x if w is None else x * np.sqrt(w)[:, None]
    gram = xw.T @ xw  # XᵀWX; numpy uses a symmetric rank-k update for this product
    colsum = x.sum(axis=0) if w is None else w @ x
    counts = np.full((n, n), float(t))
    if w is None:
        w_sum = counts
        w2_sum = counts
    else:
        w_sum = np.full((n, n), float(w.sum()))
        w2_sum = np.full((n, n), float(w @ w))
    sx = np.repeat(colsum[:, None], n, axis=1)
    if inc.size:
        m_inc = valid[:, inc].astype(np.float64)
        # Counts of 0/1 products are exact in single precision below 2**24 rows (Excel has 2**20).
        m32 = valid.astype(np.float32)
        _set_cross(counts, inc, (m32.T @ m32[:, inc]).astype(np.float64))
        if w is not None:
            _set_cross(w_sum, inc, np.where(valid, w[:, None], 0.0).T @ m_inc)
            _set_cross(w2_sum, inc, np.where(valid, (w * w)[:, None], 0.0).T @ m_inc)
        sx[:, inc] = (x if w is None else x * w[:, None]).T @ m_inc
    with np.errstate(divide="ignore", invalid="ignore"):
        cov_b = gram / w_sum - sx * sx.T / (w_sum * w_sum)
    return _Moments(x, gram, cov_b, counts, w_sum, w2_sum, inc)


def _set_cross(full: FloatArray, idx: NDArray[np.intp], block: FloatArray) -> None:
    """Write the columns ``idx`` (and by symmetry the rows) of ``full`` from ``block``."""
    full[:, idx] = block
    full[idx, :] = block.T


def _pair_error(mask: NDArray[np.bool_], text: str) -> InputError:
    """Name the first pair in ``mask``; ``text`` follows "columns i and j have ..."."""
    i, j = np.argwhere(mask)[0]
    if i == j:
        return InputError(f"column {i + 1} has {text}", "data")
    return InputError(f"columns {min(i, j) + 1} and {max(i, j) + 1} have {text}", "data")


def _ledoit_wolf(
    m: _Moments, valid: NDArray[np.bool_], target: str
) -> tuple[FloatArray, float, FloatArray]:
    """Ledoit-Wolf shrinkage of the (divide-by-T) sample covariance towards ``target``.

    Returns the shrunk matrix, the intensity δ and the target F. See :func:`estimate_cov`.
    """
    s = m.cov_biased
    n = s.shape[0]
    nc = m.counts
    x = m.x
    x2 = x * x
    # π_ij: mean squared deviation of y_i·y_j from s_ij over the common rows.
    pi = (x2.T @ x2) / nc - 2.0 * s * m.gram / nc + s * s
    pi_over_t = float((pi / nc).sum())  # Σ π_ij / T_ij  (= π̂ / T with complete data)
    var = np.diag(s).copy()
    if target == "ledoit_wolf_identity":
        f = np.diag(np.full(n, var.mean()))
        gamma = float(((s - f) ** 2).sum())
        delta = 0.0 if gamma <= 0 else max(0.0, min(pi_over_t, gamma)) / gamma
    else:
        sd = np.sqrt(np.maximum(var, 0.0))
        pos = sd > 0
        inv = np.where(pos, 1.0 / np.where(pos, sd, 1.0), 0.0)
        k = int(pos.sum())
        corr = s * inv[:, None] * inv[None, :]
        r_bar = float((corr.sum() - k) / (k * (k - 1))) if k >= 2 else 0.0
        f = r_bar * np.outer(sd, sd)
        np.fill_diagonal(f, var)
        # ϑ_ii,ij over the common rows: Σ y_i³y_j − s_ij Σ y_i² − s_ii Σ y_i y_j + T_ij s_ii s_ij
        sum_x2 = np.repeat(x2.sum(axis=0)[:, None], n, axis=1)
        if m.incomplete.size:
            sum_x2[:, m.incomplete] = x2.T @ valid[:, m.incomplete].astype(np.float64)
        theta = ((x2 * x).T @ x - s * sum_x2 - var[:, None] * m.gram) / nc + var[:, None] * s
        ratio = np.outer(inv, sd)  # (i, j) -> sqrt(s_jj / s_ii)
        off = theta * ratio / nc
        np.fill_diagonal(off, 0.0)
        rho = float((np.diag(pi) / np.diag(nc)).sum() + r_bar * off.sum())
        gamma = float(((f - s) ** 2).sum())
        delta = 0.0 if gamma <= 0 else min(1.0, max(0.0, (pi_over_t - rho) / gamma))
    return delta * f + (1.0 - delta) * s, delta, f


@dataclass(frozen=True)
class CovarianceEstimate:
    """An annualised covariance estimate with how it was made.

    Attributes
    ----------
    cov : ndarray of shape (n_assets, n_assets)
        The annualised covariance matrix (symmetric, positive semi-definite).
    method : str
        Canonical method name (``"sample"``, ``"ewma"``,
        ``"ledoit_wolf_constant_correlation"``, ``"ledoit_wolf_identity"``).
    shrinkage : float
        Ledoit-Wolf intensity δ in [0, 1] (weight of the target); 0 for sample and EWMA.
    n_obs : int
        Return periods used (rows with at least one return).
    min_pair_obs : int
        Fewest return periods shared by two assets (equals ``n_obs`` with complete history).
    periods_per_year : float
        Annualisation factor applied.
    span : float or None
        EWMA span (None for the other methods).
    repair : PSDRepair or None
        Set when the pairwise-complete estimate was not positive semi-definite and was
        repaired; ``None`` when no repair was needed.
    """

    cov: FloatArray
    method: str
    shrinkage: float
    n_obs: int
    min_pair_obs: int
    periods_per_year: float
    span: float | None
    repair: PSDRepair | None

    @property
    def repaired(self) -> bool:
        """Whether the matrix was repaired to make it positive semi-definite."""
        return self.repair is not None


def estimate_cov(
    data: ArrayLike,
    periods_per_year: float = DEFAULT_PERIODS_PER_YEAR,
    method: str | None = "sample",
    span: float | None = None,
    is_returns: bool = False,
) -> CovarianceEstimate:
    """Annualised covariance from prices or returns, with shrinkage and repair details.

    Prices are turned into simple returns (:func:`returns_from_prices`); rows blank in every
    column are dropped; missing history follows the module's pairwise-complete policy.

    Parameters
    ----------
    data : array_like of shape (n_dates, n_assets)
        Prices (or returns when ``is_returns``), oldest first; NaN for blanks.
    periods_per_year : float, default 252
        Annualisation factor (252 daily, 52 weekly, 12 monthly).
    method : str, default "sample"
        ``"sample"``, ``"ewma"``, ``"ledoit_wolf_constant_correlation"`` (``"ledoit_wolf"``) or
        ``"ledoit_wolf_identity"`` (see Notes; aliases in ``COV_METHODS``); case, spaces and
        dashes are ignored.
    span : float, optional
        EWMA span in periods (default 500; must exceed 1). Ignored by the other methods.
    is_returns : bool, default False
        Whether ``data`` holds returns rather than prices.

    Returns
    -------
    CovarianceEstimate

    Raises
    ------
    InputError
        Bad prices; a column with fewer than 2 returns; two assets with fewer than 2 common
        dates; for sample and EWMA, no more return periods than assets (shrinkage is
        suggested); an unknown method or bad option.

    Notes
    -----
    ``"sample"``
        Unbiased sample covariance (divide by ``T - 1``; pandas ``DataFrame.cov``).
    ``"ewma"``
        Exponentially weighted covariance, weights ``(1 - α)^age``, ``α = 2/(span + 1)``, with
        exponentially weighted means and the bias correction ``(Σw)² / ((Σw)² - Σw²)``
        (pandas ``ewm(span=span).cov()`` on the last date: ``adjust=True``, ``bias=False``).
    ``"ledoit_wolf_constant_correlation"`` (alias ``"ledoit_wolf"``)
        Ledoit & Wolf (2004), "Honey, I shrunk the sample covariance matrix", J. Portfolio
        Management 30(4): ``δ F + (1 - δ) S`` with ``S`` the divide-by-``T`` sample covariance,
        ``F`` the constant-correlation target (sample variances, average sample correlation),
        ``δ = max(0, min(1, (π̂ - ρ̂) / (γ̂ T)))``.
    ``"ledoit_wolf_identity"``
        Ledoit & Wolf (2004), J. Multivariate Analysis 88: target ``m·I``, ``m`` the average
        variance, ``δ = min(π̂ / T, γ̂) / γ̂`` (scikit-learn ``LedoitWolf``).

    The shrinkage methods work with fewer dates than assets. With missing history each entry
    of π̂ and ρ̂ is divided by its own pair's number of common dates instead of ``T``.

    Examples
    --------
    >>> import numpy as np
    >>> prices = np.array([[100.0, 50.0], [102.0, 49.0], [101.0, 51.0],
    ...                    [104.0, 52.0], [106.0, 51.5]])
    >>> from xlfrontier import estimate_cov
    >>> est = estimate_cov(prices, periods_per_year=12, method="ledoit_wolf")
    >>> np.round(est.cov, 5)
    array([[ 0.00262, -0.00257],
           [-0.00257,  0.00692]])
    """
    how = _choose(method, COV_METHODS, "method", "sample")
    ppy = _periods_per_year(periods_per_year)
    is_ret = _flag(is_returns, "is_returns")
    s = _span(span, for_cov=True) if how == "ewma" else None
    r, valid, _ = _history(data, is_ret, 2, "a variance")
    t, n = r.shape
    if how not in _SHRINKAGE and t <= n:
        raise InputError(
            f"only {t} return periods for {n} assets: the {how} covariance needs more periods "
            f'than assets (at least {n + 1}); use more history or method "ledoit_wolf"',
            "data",
        )
    w = _ewma_weights(t, s) if s is not None else None
    with np.errstate(all="ignore"):
        m = _moments(r, valid, w)
        if m.incomplete.size and (m.counts < 2).any():
            raise _pair_error(
                m.counts < 2,
                "fewer than 2 return dates in common: their covariance is undefined; "
                "use overlapping histories",
            )
        shrinkage = 0.0
        if how in _SHRINKAGE:
            c, shrinkage, _ = _ledoit_wolf(m, valid, how)
        elif w is None:
            c = m.cov_biased * (m.counts / (m.counts - 1.0))
        else:
            den = m.w_sum * m.w_sum - m.w2_sum
            bad = ~((m.w_sum > 1e-100) & (den > 0))
            if bad.any():
                raise _pair_error(bad, f"too little recent data for span {s:g}: use a longer span")
            c = m.cov_biased * (m.w_sum * m.w_sum / den)
        c = (c + c.T) * (0.5 * ppy)
    if not np.isfinite(c).all():
        raise InputError(
            "the data are too large to compute a covariance: check the prices or returns",
            "data",
        )
    repair = None
    if m.incomplete.size and not _is_psd(c):
        repair = repair_psd(c)
        c = repair.matrix
    counts = m.counts
    return CovarianceEstimate(
        cov=c,
        method=how,
        shrinkage=float(shrinkage),
        n_obs=int(t),
        min_pair_obs=int(counts.min()),
        periods_per_year=ppy,
        span=s,
        repair=repair,
    )


def _is_psd(c: FloatArray) -> bool:
    """Whether ``c`` is PSD up to the tolerance of the optimisers' check (Cholesky first)."""
    try:
        np.linalg.cholesky(c)
        return True
    except np.linalg.LinAlgError:
        pass
    eig = np.linalg.eigvalsh(c)
    return bool(eig[0] >= -PSD_TOL * max(float(np.abs(eig).max()), 1e-300))


def cov_matrix(
    data: ArrayLike,
    periods_per_year: float = DEFAULT_PERIODS_PER_YEAR,
    method: str | None = "sample",
    span: float | None = None,
    is_returns: bool = False,
) -> FloatArray:
    """Annualised covariance matrix (the COV_MATRIX worksheet function).

    Same arguments and errors as :func:`estimate_cov`, which also reports the shrinkage
    intensity, the observations used and any PSD repair.

    Parameters
    ----------
    data : array_like of shape (n_dates, n_assets)
        Prices (or returns when ``is_returns``), oldest first; NaN for blanks.
    periods_per_year : float, default 252
        Annualisation factor (252 daily, 52 weekly, 12 monthly).
    method : str, default "sample"
        As for :func:`estimate_cov`.
    span : float, optional
        EWMA span in periods; ignored by the other methods.
    is_returns : bool, default False
        Whether ``data`` holds returns rather than prices.

    Returns
    -------
    ndarray of shape (n_assets, n_assets)

    Raises
    ------
    InputError
        As for :func:`estimate_cov`.

    Examples
    --------
    >>> import numpy as np
    >>> prices = np.array([[100.0, 50.0], [102.0, 49.0], [101.0, 51.0],
    ...                    [104.0, 52.0], [106.0, 51.5]])
    >>> from xlfrontier import cov_matrix
    >>> np.round(cov_matrix(prices, periods_per_year=12), 5)
    array([[ 0.0035 , -0.00343],
           [-0.00343,  0.00922]])
    """
    return estimate_cov(data, periods_per_year, method, span, is_returns).cov


def corr_matrix(
    data: ArrayLike,
    method: str | None = "sample",
    span: float | None = None,
    is_returns: bool = False,
) -> FloatArray:
    """Correlation matrix from prices or returns (the CORR_MATRIX worksheet function).

    The correlation of the covariance :func:`estimate_cov` gives with the same method (no
    annualisation needed: correlations have no time unit).

    Parameters
    ----------
    data : array_like of shape (n_dates, n_assets)
        Prices (or returns when ``is_returns``); NaN for blanks.
    method, span, is_returns
        As in :func:`estimate_cov`.

    Returns
    -------
    ndarray of shape (n_assets, n_assets)
        Unit diagonal, entries in [-1, 1].

    Raises
    ------
    InputError
        As :func:`estimate_cov`, and for an asset whose returns never change (zero variance).

    Examples
    --------
    >>> import numpy as np
    >>> prices = np.array([[100.0, 50.0], [102.0, 49.0], [101.0, 51.0],
    ...                    [104.0, 52.0], [106.0, 51.5]])
    >>> from xlfrontier import corr_matrix
    >>> np.round(corr_matrix(prices), 4)
    array([[ 1.    , -0.6044],
           [-0.6044,  1.    ]])
    """
    return corr_from_cov(estimate_cov(data, 1.0, method, span, is_returns).cov)


def corr_from_cov(cov: ArrayLike) -> FloatArray:
    """Correlation matrix of a covariance matrix (the CORR_FROM_COV worksheet function).

    Parameters
    ----------
    cov : array_like of shape (n_assets, n_assets)
        Symmetric covariance matrix with positive variances.

    Returns
    -------
    ndarray of shape (n_assets, n_assets)
        ``cov_ij / sqrt(cov_ii cov_jj)`` with an exact unit diagonal. Values outside [-1, 1]
        (an invalid covariance) are returned as they are, not clipped.

    Raises
    ------
    InputError
        Not square, not numeric, blank, not symmetric, or a zero or negative variance.

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import corr_from_cov
    >>> np.round(corr_from_cov(cov), 4)
    array([[1.    , 0.2   , 0.0909],
           [0.2   , 1.    , 0.5455],
           [0.0909, 0.5455, 1.    ]])
    """
    c = as_covariance(cov, "cov", check_psd=False)
    d = np.diag(c)
    if (d <= 0).any():
        i = int(np.flatnonzero(d <= 0)[0])
        raise InputError(
            f"cov has zero variance for asset {i + 1}: its correlations are undefined", "cov"
        )
    with np.errstate(over="ignore"):
        inv = 1.0 / np.sqrt(d)
        corr = c * np.outer(inv, inv)
    if not np.isfinite(corr).all():
        i, j = np.argwhere(~np.isfinite(corr))[0]
        raise InputError(
            f"cov row {i + 1}, column {j + 1} is far too large for the variances: check for a "
            f"typing error",
            "cov",
        )
    corr = 0.5 * (corr + corr.T)
    # Rounding may put a perfect correlation a hair beyond ±1; larger excesses are real errors.
    np.clip(corr, -1.0, 1.0, out=corr, where=np.abs(corr) <= 1.0 + 1e-12)
    np.fill_diagonal(corr, 1.0)
    return cast("FloatArray", corr)


def cov_from_corr(corr: ArrayLike, vols: ArrayLike) -> FloatArray:
    """Covariance matrix from a correlation matrix and volatilities (COV_FROM_CORR).

    ``cov_ij = vol_i · corr_ij · vol_j``. The result is positive semi-definite exactly when
    ``corr`` is; this is not checked here (see :func:`check_inputs`, :func:`nearest_psd`).

    Parameters
    ----------
    corr : array_like of shape (n_assets, n_assets)
        Symmetric, ones on the diagonal, entries in [-1, 1].
    vols : array_like of shape (n_assets,)
        Volatilities (standard deviations, decimals), at least 0.

    Returns
    -------
    ndarray of shape (n_assets, n_assets)

    Raises
    ------
    InputError
        Shapes that do not match, blanks, asymmetry, a diagonal entry that is not 1, a
        correlation outside [-1, 1], or a negative volatility.

    Examples
    --------
    >>> import numpy as np
    >>> from xlfrontier import cov_from_corr
    >>> corr = np.array([[1.0, 0.3], [0.3, 1.0]])
    >>> cov_from_corr(corr, [0.1, 0.2])
    array([[0.01 , 0.006],
           [0.006, 0.04 ]])
    """
    v = _as_vector(vols, "vols")
    r = as_covariance(corr, "corr", n=v.size, check_psd=False)
    d = np.diag(r)
    off = np.abs(d - 1.0) > 1e-8
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InputError(f"corr must have 1 on the diagonal; row {i + 1} has {d[i]:.6g}", "corr")
    big = np.abs(r) > 1.0 + 1e-12
    if big.any():
        i, j = np.argwhere(big)[0]
        raise InputError(
            f"corr has {r[i, j]:.6g} at row {i + 1}, column {j + 1}: correlations must lie "
            f"between -1 and 1",
            "corr",
        )
    if (v < 0).any():
        i = int(np.flatnonzero(v < 0)[0])
        raise InputError(f"vols has a negative volatility at position {i + 1}", "vols")
    r = r.copy()
    np.fill_diagonal(r, 1.0)
    return cast("FloatArray", r * np.outer(v, v))


# --------------------------------------------------------------------------------------------
# PSD repair
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PSDRepair:
    """The nearest positive semi-definite matrix and the size of the repair.

    Attributes
    ----------
    matrix : ndarray of shape (n_assets, n_assets)
        The repaired matrix (the input when it needed no repair). Its diagonal equals the
        input's: variances are kept, for a correlation matrix the ones.
    frobenius_distance : float
        ``‖input − matrix‖_F`` in the input's units.
    correlation_distance : float
        ``‖D^-½ (input − matrix) D^-½‖_F`` with ``D`` the diagonal: the distance between the
        correlation matrices, which is what the repair minimises.
    min_eigenvalue_before, min_eigenvalue_after : float
        Smallest eigenvalue of the input and of the result.
    iterations : int
        Alternating-projection iterations (0 when no repair was needed).
    converged : bool
        Whether the iterations met the tolerance (the result is PSD either way).
    """

    matrix: FloatArray
    frobenius_distance: float
    correlation_distance: float
    min_eigenvalue_before: float
    min_eigenvalue_after: float
    iterations: int
    converged: bool

    @property
    def changed(self) -> bool:
        """Whether the matrix differs from the input."""
        return self.frobenius_distance > 0


def _nearest_correlation(
    a: FloatArray, min_eigenvalue: float = 0.0, tol: float = 1e-10, max_iter: int = 1000
) -> tuple[FloatArray, int, bool]:
    """Higham (2002) alternating projections with Dykstra's correction, unit weights.

    Nearest (Frobenius) symmetric matrix to ``a`` with unit diagonal and eigenvalues at least
    ``min_eigenvalue``. Stops when the relative changes of both iterates and their gap are at
    most ``tol`` (Higham's ``nearcorr`` test). The returned matrix is the PSD iterate rescaled
    to an exact unit diagonal, so it is PSD and unit-diagonal even without convergence.
    """
    y = a.copy()
    ds = np.zeros_like(a)
    x = a.copy()
    converged = False
    k = 0
    for k in range(1, max_iter + 1):  # noqa: B007 (k is the iteration count reported)
        x_old, y_old = x, y
        r = y - ds
        lam, vec = np.linalg.eigh(r)
        x = (vec * np.maximum(lam, min_eigenvalue)) @ vec.T
        x = 0.5 * (x + x.T)
        ds = x - r
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        ny = np.linalg.norm(y)
        change = max(
            np.linalg.norm(x - x_old) / np.linalg.norm(x),
            np.linalg.norm(y - y_old) / ny,
            np.linalg.norm(y - x) / ny,
        )
        if change <= tol:
            converged = True
            break
    d = np.sqrt(np.maximum(np.diag(x), 1e-300))
    out = x / d[:, None] / d[None, :]
    out = 0.5 * (out + out.T)
    np.fill_diagonal(out, 1.0)
    return out, k, converged


def repair_psd(
    matrix: ArrayLike,
    min_eigenvalue: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> PSDRepair:
    """Nearest positive semi-definite matrix, correlation-preserving, with a repair report.

    The matrix is split into variances ``D`` and correlations ``R = D^-½ A D^-½``; ``R`` is
    replaced by the nearest correlation matrix (Higham 2002, "Computing the nearest correlation
    matrix", IMA J. Numer. Anal. 22: alternating projections onto the PSD cone and the unit
    diagonal with Dykstra's correction) and the variances are put back. For a covariance this
    is Higham's W-weighted problem with ``W = D⁻¹``: among PSD matrices with the same variances
    it minimises ``‖D^-½ (A − X) D^-½‖_F``, the distance between the correlation matrices. A
    correlation matrix (unit diagonal) gets the plain nearest correlation matrix.

    An asset with zero variance keeps zero variance and zero covariances. A matrix that is
    already PSD (eigenvalues of ``R`` at least ``min_eigenvalue``, up to rounding) is returned
    unchanged.

    Parameters
    ----------
    matrix : array_like of shape (n_assets, n_assets)
        Symmetric covariance or correlation matrix, variances at least 0.
    min_eigenvalue : float, default 0
        Floor for the eigenvalues of the repaired correlation matrix (e.g. 1e-8 for a strictly
        positive definite result); below 1.
    tol : float, default 1e-10
        Relative convergence tolerance of the iterations.
    max_iter : int, default 1000
        Iteration limit; the result is PSD even when it is reached (``converged`` is False).

    Returns
    -------
    PSDRepair

    Raises
    ------
    InputError
        Not square, blank or non-numeric, not symmetric, a negative variance, or a bad option.

    Examples
    --------
    >>> import numpy as np
    >>> from xlfrontier import repair_psd
    >>> bad = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.9], [0.1, 0.9, 1.0]])
    >>> rep = repair_psd(bad)
    >>> round(rep.min_eigenvalue_before, 4)
    -0.2238
    """
    a = as_covariance(matrix, "matrix", check_psd=False)
    floor = float(min_eigenvalue)
    if not (math.isfinite(floor) and 0.0 <= floor < 1.0):
        raise InputError("min_eigenvalue must be at least 0 and below 1", "min_eigenvalue")
    if not (math.isfinite(tol) and tol > 0) or int(max_iter) < 1:
        raise InputError("tol must be positive and max_iter at least 1", "tol")
    d = np.diag(a).copy()
    pos = d > 0
    inv = np.where(pos, 1.0 / np.sqrt(np.where(pos, d, 1.0)), 0.0)
    # Stepwise products: inv_i * inv_j alone overflows for tiny (subnormal) variances.
    with np.errstate(over="ignore", invalid="ignore"):
        r = a * inv[:, None] * inv[None, :]
    np.fill_diagonal(r, 1.0)
    absurd = ~(np.abs(r) <= _MAX_CORRELATION)
    if absurd.any():
        i, j = np.argwhere(absurd)[0]
        raise InputError(
            f"matrix row {i + 1}, column {j + 1} is more than {_MAX_CORRELATION:.0e} times the "
            f"product of the volatilities: check for a typing error",
            "matrix",
        )
    r = 0.5 * (r + r.T)
    eig_before = float(np.linalg.eigvalsh(a)[0])
    eig_r = np.linalg.eigvalsh(r)
    # Covariances of a zero-variance asset must be zero (an infinite correlation otherwise).
    zero = ~pos[:, None] | ~pos[None, :]
    stray = zero & ~np.eye(a.shape[0], dtype=bool) & (a != 0)
    needs_fix = eig_r[0] < floor - _EIG_ROUNDING * max(1.0, float(eig_r[-1]))
    if not needs_fix and not stray.any():
        return PSDRepair(a, 0.0, 0.0, eig_before, eig_before, 0, True)
    iterations, converged = 0, True
    if needs_fix:
        r, iterations, converged = _nearest_correlation(r, floor, tol, int(max_iter))
        out = r * np.outer(np.sqrt(d), np.sqrt(d))
        out[zero] = 0.0
        np.fill_diagonal(out, d)
    else:
        out = np.where(stray, 0.0, a)
    diff = a - out
    dist_r = diff * inv[:, None] * inv[None, :]
    return PSDRepair(
        matrix=out,
        frobenius_distance=_frobenius(diff),
        correlation_distance=_frobenius(dist_r),
        min_eigenvalue_before=eig_before,
        min_eigenvalue_after=float(np.linalg.eigvalsh(out)[0]),
        iterations=iterations,
        converged=converged,
    )


def _frobenius(m: FloatArray) -> float:
    """Frobenius norm without overflow for entries near the float limit."""
    top = float(np.abs(m).max()) if m.size else 0.0
    return top * float(np.linalg.norm(m / top)) if top > 0 else 0.0


def nearest_psd(
    matrix: ArrayLike,
    min_eigenvalue: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> FloatArray:
    """Nearest positive semi-definite matrix keeping the variances (NEAREST_PSD).

    See :func:`repair_psd`, which takes the same arguments and also reports the repair size.

    Parameters
    ----------
    matrix : array_like of shape (n_assets, n_assets)
        Symmetric covariance or correlation matrix, variances at least 0.
    min_eigenvalue : float, default 0
        Floor for the eigenvalues of the repaired correlation matrix; below 1.
    tol : float, default 1e-10
        Relative convergence tolerance of the iterations.
    max_iter : int, default 1000
        Iteration limit.

    Returns
    -------
    ndarray of shape (n_assets, n_assets)

    Raises
    ------
    InputError
        As for :func:`repair_psd`.

    Examples
    --------
    >>> import numpy as np
    >>> from xlfrontier import nearest_psd
    >>> bad = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.9], [0.1, 0.9, 1.0]])
    >>> bool(np.linalg.eigvalsh(bad).min() < 0)
    True
    >>> fixed = nearest_psd(bad)
    >>> np.round(fixed, 4)
    array([[1.    , 0.7696, 0.1847],
           [0.7696, 1.    , 0.7696],
           [0.1847, 0.7696, 1.    ]])
    >>> bool(np.linalg.eigvalsh(fixed).min() > -1e-12)
    True
    """
    return repair_psd(matrix, min_eigenvalue, tol, max_iter).matrix


# --------------------------------------------------------------------------------------------
# CHECK_INPUTS
# --------------------------------------------------------------------------------------------


class InputCheck(NamedTuple):
    """One line of :func:`check_inputs`: the check, ``"OK"``/``"WARN"``/``"ERROR"``, detail."""

    check: str
    status: str
    detail: str


_RANK = {"OK": 0, "WARN": 1, "ERROR": 2}


@dataclass(frozen=True)
class InputReport:
    """Result of :func:`check_inputs`.

    Attributes
    ----------
    checks : tuple of InputCheck
        ``(check, status, detail)`` lines in a fixed order.
    """

    checks: tuple[InputCheck, ...]

    @property
    def status(self) -> str:
        """The worst status: ``"ERROR"``, else ``"WARN"``, else ``"OK"``."""
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default="OK")

    @property
    def ok(self) -> bool:
        """Whether no check failed with ``"ERROR"``."""
        return self.status != "ERROR"

    def rows(self) -> list[tuple[str, str, str]]:
        """Return the lines as plain tuples, e.g. to spill into three worksheet columns."""
        return [tuple(c) for c in self.checks]  # type: ignore[misc]

    def __getitem__(self, check: str) -> InputCheck:
        """Return the line of the named check."""
        for c in self.checks:
            if c.check == check:
                return c
        raise KeyError(check)


def _parse_matrix(cov: ArrayLike) -> FloatArray:
    try:
        c = np.array(cov, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError("cov must contain numbers only", "cov") from err
    if c.ndim == 0 or (c.ndim == 1 and c.size == 1):
        c = c.reshape(1, 1)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.size == 0:
        raise InputError(f"cov must be a square matrix, got shape {c.shape}", "cov")
    bad = ~np.isfinite(c)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"cov has a missing or non-finite value at row {i + 1}, column {j + 1}", "cov"
        )
    return c


def check_inputs(
    mu: ArrayLike,
    cov: ArrayLike,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> InputReport:
    """Diagnose optimiser inputs (the CHECK_INPUTS worksheet function); never raises.

    Lines, in order (a line is left out when an earlier ERROR makes it meaningless):

    ``mu``, ``cov``, ``sizes``
        Numbers only, no blanks, ``cov`` square and matching ``mu``.
    ``symmetric``
        ERROR when ``cov_ij`` and ``cov_ji`` differ by more than 1e-8 relative (the worst pair
        is named); smaller differences are rounding, which the optimisers average away.
    ``variances``
        ERROR for a negative variance; WARN for zero variance (a riskless asset makes the
        matrix singular and its correlations undefined).
    ``correlations``
        ERROR when an implied correlation ``cov_ij / sqrt(cov_ii cov_jj)`` lies outside
        [-1, 1] (beyond 1e-9); the worst pair is named.
    ``positive semi-definite``
        ERROR when the smallest eigenvalue is below ``-1e-10`` times the largest (the
        optimisers' test); the smallest eigenvalue is shown; NEAREST_PSD is suggested.
    ``condition number``
        Largest / smallest eigenvalue. WARN above 1e6 (weights react strongly to small input
        changes; shrinkage helps) and as "singular" above 1e12.
    ``mu units``
        WARN when the median ``|mu|`` is at least 1 (100% a period): percentages typed as whole
        numbers (8 instead of 0.08).
    ``cov units``
        WARN when the median volatility ``sqrt(cov_ii)`` is at least 2 (200%): variances of
        percentages (400 for a 20% volatility) instead of decimals (0.04).
    ``periodicity``
        Compares ``q = mean|mu| / sqrt(median cov_ii)``. For consistent inputs with ``p``
        periods a year, ``q ≈ SR / sqrt(p)`` where ``SR`` is a typical annual return-to-risk
        ratio (0.1 to 1): 0.1–1 annual, 0.006–0.06 daily. Annual ``mu`` with a daily ``cov``
        gives ``q ≈ 16 SR`` and daily ``mu`` with an annual ``cov`` ``q ≈ SR / 252``.
        WARN when ``q > 2`` ("mu annual, cov per-period?") or ``q < 0.005`` ("mu per-period,
        cov annual?"). A heuristic: extreme but consistent inputs can trigger it.
    ``bounds``
        ERROR when the bounds cannot hold a portfolio (a lower above its upper, lower bounds
        summing above 100% or upper bounds below 100%); ``None``/blank means lower 0 and no
        upper limit.

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
        Expected returns.
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix.
    lower, upper : float or array_like of shape (n_assets,), optional
        Weight bounds as for the optimisers.

    Returns
    -------
    InputReport

    Raises
    ------
    Nothing
        Every problem is a line of the report.

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import check_inputs
    >>> report = check_inputs(mu, cov)
    >>> report["positive semi-definite"].status
    'OK'
    >>> check_inputs(mu * 100, cov)["mu units"].status
    'WARN'
    """
    lines: list[InputCheck] = []

    def add(check: str, status: str, detail: str) -> None:
        # Messages of absurd inputs (1e300 bounds) can outgrow a cell.
        cut = detail if len(detail) <= 255 else detail[:254] + "…"
        lines.append(InputCheck(check, status, cut))

    m: FloatArray | None = None
    try:
        m = _as_vector(mu, "mu")
        add("mu", "OK", f"{m.size} expected returns")
    except InputError as err:
        add("mu", "ERROR", str(err))
    c: FloatArray | None = None
    try:
        c = _parse_matrix(cov)
        add("cov", "OK", f"{c.shape[0]}x{c.shape[0]} matrix")
    except InputError as err:
        add("cov", "ERROR", str(err))
    n = m.size if m is not None else (c.shape[0] if c is not None else None)
    if m is not None and c is not None:
        if c.shape[0] != m.size:
            add(
                "sizes",
                "ERROR",
                f"cov is {c.shape[0]}x{c.shape[0]} but mu has {m.size} values: it must be "
                f"{m.size}x{m.size}, in the same asset order",
            )
            c = None
        else:
            add("sizes", "OK", f"{m.size} assets")
    if c is not None:
        with np.errstate(all="ignore"):
            _check_matrix(c, m, add)
    if n is not None:
        if lower is None and upper is None:
            add("bounds", "OK", "default: long only (weights at least 0), no upper limit")
        else:
            with np.errstate(all="ignore"):
                try:
                    lo, up = as_bounds(lower, upper, n)
                    add(
                        "bounds",
                        "OK",
                        f"lower bounds sum to {fmt_pct(float(lo.sum()))}, upper bounds to "
                        f"{fmt_pct(float(up.sum()))}: weights can add up to 100%",
                    )
                except InputError as err:
                    add("bounds", "ERROR", str(err))
    return InputReport(tuple(lines))


def _check_matrix(
    c: FloatArray, m: FloatArray | None, add: Callable[[str, str, str], None]
) -> None:
    """Add the matrix lines of :func:`check_inputs` (``c`` square and finite)."""
    n = c.shape[0]
    # Every test below is scale-free: run them on c / max|c| so that entries near the float
    # limit (1e308) neither overflow (c + cᵀ, eigenvalues) nor underflow (1e-308).
    scale = float(np.abs(c).max()) or 1.0
    c_raw, c = c, c / scale
    asym = np.abs(c - c.T)
    worst = float(asym.max())
    if worst > SYMMETRY_TOL:
        i, j = map(int, np.unravel_index(int(asym.argmax()), asym.shape))
        add(
            "symmetric",
            "ERROR",
            f"no: row {i + 1}, column {j + 1} is {c_raw[i, j]:.6g} but row {j + 1}, column "
            f"{i + 1} is {c_raw[j, i]:.6g}",
        )
        return
    add(
        "symmetric",
        "OK",
        "yes" if worst == 0 else f"yes (rounding differences {worst * scale:.1e})",
    )
    c = 0.5 * (c + c.T)
    var = np.diag(c_raw)
    if (var < 0).any():
        i = int(np.flatnonzero(var < 0)[0])
        add("variances", "ERROR", f"asset {i + 1} has a negative variance {var[i]:.4g}")
        return
    zero = np.flatnonzero(var == 0)
    if zero.size:
        names = ", ".join(str(i + 1) for i in zero[:5]) + (", ..." if zero.size > 5 else "")
        add(
            "variances",
            "WARN",
            f"zero variance for asset {names}: a riskless asset makes cov singular",
        )
    else:
        add("variances", "OK", "all positive")
    sd = np.sqrt(np.diag(c))  # scaled volatilities: correlations are scale-free
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = c / np.outer(sd, sd)
    corr[np.outer(sd, sd) == 0] = 0.0
    # A covariance next to a zero variance is an infinite correlation.
    corr[(np.outer(sd, sd) == 0) & (c != 0)] = np.inf
    np.fill_diagonal(corr, 0.0)
    k = np.unravel_index(int(np.abs(corr).argmax()), corr.shape)
    big = float(abs(corr[k]))
    if big > 1.0 + 1e-9:
        i, j = sorted(int(v) for v in k)
        shown = "infinite" if not math.isfinite(corr[k]) else f"{corr[k]:.4g}"
        add(
            "correlations",
            "ERROR",
            f"assets {i + 1} and {j + 1} have correlation {shown}: a covariance cannot exceed "
            f"the product of the volatilities",
        )
    else:
        add(
            "correlations",
            "OK",
            f"all between -1 and 1 (largest |correlation| {big:.3g})" if n > 1 else "one asset",
        )
    eig = np.linalg.eigvalsh(c)  # of the scaled matrix: shown times the scale
    top = max(float(np.abs(eig).max()), 1e-300)
    psd = eig[0] >= -PSD_TOL * top
    smallest = float(eig[0]) * scale
    if psd:
        add("positive semi-definite", "OK", f"yes: smallest eigenvalue {smallest:.3g}")
        if eig[0] <= 0 or eig[-1] / eig[0] > _COND_SINGULAR:
            add(
                "condition number",
                "WARN",
                "singular (above 1e12): some portfolio has almost no risk; unstable weights",
            )
        else:
            cond = float(eig[-1] / eig[0])
            if cond > _COND_WARN:
                add(
                    "condition number",
                    "WARN",
                    f"{cond:.3g}: weights react strongly to small input changes; consider "
                    f"shrinkage (COV_MATRIX with ledoit_wolf)",
                )
            else:
                add("condition number", "OK", f"{cond:.3g}")
    else:
        add(
            "positive semi-definite",
            "ERROR",
            f"no: smallest eigenvalue {smallest:.3g}; repair cov with NEAREST_PSD",
        )
    med_var = float(np.median(var))
    vol = math.sqrt(med_var)
    if m is not None:
        med_mu = float(np.median(np.abs(m)))
        if med_mu >= _MU_PERCENT:
            add(
                "mu units",
                "WARN",
                f"median |mu| is {med_mu:.4g} ({fmt_pct(med_mu)}): percent typed as whole "
                f"numbers? enter 8% as 0.08",
            )
        else:
            add("mu units", "OK", f"decimals (median |mu| {fmt_pct(med_mu)})")
    if vol >= _VOL_PERCENT:
        add(
            "cov units",
            "WARN",
            f"median volatility is {vol:.4g} ({fmt_pct(vol)}): variances of percentages? a 20% "
            f"volatility is a variance of 0.04",
        )
    else:
        add("cov units", "OK", f"decimals (median volatility {fmt_pct(vol)})")
    if m is not None:
        top_mu = float(np.abs(m).max()) or 1.0
        mean_mu = float((np.abs(m) / top_mu).mean()) * top_mu  # no overflow summing 1e308s
        if vol == 0 or mean_mu == 0:
            add("periodicity", "OK", "not checked (zero mu or zero variances)")
            return
        q = mean_mu / vol
        if q > _RATIO_HIGH:
            add(
                "periodicity",
                "WARN",
                f"average |mu| is {q:.3g} times the typical volatility: mu annual but cov "
                f"daily/weekly? annualise cov (x252 for daily data)",
            )
        elif q < _RATIO_LOW:
            add(
                "periodicity",
                "WARN",
                f"average |mu| is only {q:.2g} times the typical volatility: mu daily but cov "
                f"annual? annualise mu (x252 for daily data)",
            )
        else:
            add("periodicity", "OK", f"consistent (average |mu| / volatility {q:.3g})")
