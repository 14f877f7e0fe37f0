"""Returns and expected returns from prices (private; public names in :mod:`.estimation`)."""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._estimation_args import (
    DEFAULT_PERIODS_PER_YEAR,
    FloatArray,
    _as_table,
    _choose,
    _flag,
    _periods_per_year,
    _span,
)
from xlfrontier.exceptions import InputError

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
