"""Covariance and correlation matrices (private; public names in :mod:`.estimation`).

Estimation from prices or returns (sample, EWMA, Ledoit-Wolf shrinkage) under the
pairwise-complete missing-history policy described in :mod:`xlfrontier.core.estimation`, and
the conversions between covariance and correlation matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._estimation_args import (
    DEFAULT_PERIODS_PER_YEAR,
    FloatArray,
    _choose,
    _flag,
    _periods_per_year,
    _span,
)
from xlfrontier.core._moments import _ledoit_wolf, _moments
from xlfrontier.core._psd import PSDRepair, _is_psd, repair_psd
from xlfrontier.core._returns import _ewma_weights, _history
from xlfrontier.core._validation import as_covariance
from xlfrontier.core._validation import as_vector as _as_vector
from xlfrontier.exceptions import InputError

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


def _pair_error(mask: NDArray[np.bool_], text: str) -> InputError:
    """Name the first pair in ``mask``; ``text`` follows "columns i and j have ..."."""
    i, j = np.argwhere(mask)[0]
    if i == j:
        return InputError(f"column {i + 1} has {text}", "data")
    return InputError(f"columns {min(i, j) + 1} and {max(i, j) + 1} have {text}", "data")


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


def cov_from_corr(
    corr: ArrayLike, vols: ArrayLike, *, max_volatility: float | None = None
) -> FloatArray:
    """Covariance matrix from a correlation matrix and volatilities (COV_FROM_CORR).

    ``cov_ij = vol_i · corr_ij · vol_j``. The result is positive semi-definite exactly when
    ``corr`` is; this is not checked here (see :func:`check_inputs`, :func:`nearest_psd`).

    Parameters
    ----------
    corr : array_like of shape (n_assets, n_assets)
        Symmetric, ones on the diagonal, entries in [-1, 1].
    vols : array_like of shape (n_assets,)
        Volatilities (standard deviations), at least 0.
    max_volatility : float, optional
        With volatilities as decimals (20% = 0.2), the largest one accepted: a larger one is
        refused as a percentage typed as a whole number (20 for 20%). COV_FROM_CORR uses
        ``VOLATILITY_UNITS_LIMIT`` = 2 (200%). ``None`` (default): any units, no limit.

    Returns
    -------
    ndarray of shape (n_assets, n_assets)

    Raises
    ------
    InputError
        A volatility above ``max_volatility``, shapes that do not match, blanks, asymmetry, a
        diagonal entry that is not 1, a correlation outside [-1, 1], or a negative volatility.

    Examples
    --------
    >>> import numpy as np
    >>> from xlfrontier import cov_from_corr
    >>> corr = np.array([[1.0, 0.3], [0.3, 1.0]])
    >>> cov_from_corr(corr, [0.1, 0.2])
    array([[0.01 , 0.006],
           [0.006, 0.04 ]])
    >>> cov_from_corr(corr, [10.0, 20.0], max_volatility=2.0)
    Traceback (most recent call last):
    ...
    xlfrontier.exceptions.InputError: vols has 20, which is 2000%: volatilities are decimals, ...
    """
    v = _as_vector(vols, "vols")
    top = float(v.max())
    if max_volatility is not None and top > max_volatility:
        raise InputError(
            f"vols has {top:g}, which is {top * 100:g}%: volatilities are "
            f"decimals, so type {top / 100:g} or {top:g}%",
            "vols",
        )
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
