"""Portfolio statistics: return, volatility, Sharpe ratio, risk contributions."""

from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._validation import PSD_TOL, as_covariance, as_vector
from xlfrontier.exceptions import InputError, NotPositiveSemidefiniteError

__all__ = [
    "portfolio_return",
    "portfolio_sharpe",
    "portfolio_variance",
    "portfolio_volatility",
    "risk_contributions",
    "sharpe_ratio",
]


@overload
def sharpe_ratio(expected_return: float, volatility: float, risk_free_rate: float) -> float: ...


@overload
def sharpe_ratio(
    expected_return: NDArray[np.float64], volatility: NDArray[np.float64], risk_free_rate: float
) -> NDArray[np.float64]: ...


def sharpe_ratio(
    expected_return: float | NDArray[np.float64],
    volatility: float | NDArray[np.float64],
    risk_free_rate: float,
) -> float | NDArray[np.float64]:
    """Sharpe ratio ``(r − rf) / σ``, NaN where ``σ`` is not positive (the one rule for it).

    Every Sharpe ratio the package reports (results, frontier samples, worksheet tables,
    :func:`portfolio_sharpe`) comes from here.

    Parameters
    ----------
    expected_return, volatility : float or ndarray of shape (points,)
        Of one or several portfolios (arrays of the same shape).
    risk_free_rate : float
        Same periodicity as the returns.

    Returns
    -------
    float or ndarray of shape (points,)

    Examples
    --------
    >>> from xlfrontier.core.metrics import sharpe_ratio
    >>> round(sharpe_ratio(0.08, 0.15, 0.02), 4)
    0.4
    >>> sharpe_ratio(0.08, 0.0, 0.02)
    nan
    """
    if isinstance(volatility, np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (expected_return - risk_free_rate) / volatility
        return np.where(volatility > 0, s, np.nan)
    # Scalars stay Python floats: no numpy overhead on every single solve.
    return (expected_return - risk_free_rate) / volatility if volatility > 0 else float("nan")


def portfolio_return(weights: ArrayLike, mu: ArrayLike) -> float:
    """Return the expected return ``μᵀw``.

    Parameters
    ----------
    weights : array_like of shape (n_assets,)
    mu : array_like of shape (n_assets,)

    Returns
    -------
    float

    Raises
    ------
    InputError
        When ``weights`` or ``mu`` holds blanks or non-numbers, or their sizes differ.

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import portfolio_return
    >>> round(portfolio_return([0.5, 0.3, 0.2], mu), 4)
    0.066
    """
    w = as_vector(weights, "weights")
    m = as_vector(mu, "mu", w.size)
    return float(m @ w)


def variance_tolerance(w: NDArray[np.float64], c: NDArray[np.float64]) -> float:
    """How far below zero ``wᵀΣw`` may come out on a covariance the solvers accept.

    A matrix passes validation when its smallest eigenvalue is at least ``−PSD_TOL·λ_max``,
    so ``wᵀΣw ≥ −PSD_TOL·‖Σ‖₂·‖w‖²`` exactly; computing the sum adds at most
    ``n·eps·|w|ᵀ|Σ||w|`` of rounding. ``‖Σ‖₂`` is bounded by the largest absolute row sum.
    Anything more negative is not rounding: the matrix is not a covariance.

    Parameters
    ----------
    w : ndarray of shape (n,)
    c : ndarray of shape (n, n)

    Returns
    -------
    float
    """
    aw = np.abs(w)
    ac = np.abs(c)
    norm = float(ac.sum(axis=1).max())
    eps = float(np.finfo(np.float64).eps)
    return PSD_TOL * norm * float(w @ w) + w.size * eps * float(aw @ ac @ aw)


def _variance(w: NDArray[np.float64], c: NDArray[np.float64], var: float | None = None) -> float:
    """``wᵀΣw`` (or ``var``, its value) on a validated covariance; rounding negatives read 0."""
    var = float(w @ c @ w) if var is None else var
    if var >= 0.0:
        return var
    if var >= -variance_tolerance(w, c):
        return 0.0
    raise NotPositiveSemidefiniteError(  # not reached for a validated matrix: a safety net
        f"cov is not a valid covariance matrix: this portfolio's variance is {var:.3g}, "
        "below zero; check for typing errors or repair it with NEAREST_PSD",
        float(np.linalg.eigvalsh(c)[0]),
        "cov",
    )


def portfolio_variance(weights: ArrayLike, cov: ArrayLike) -> float:
    """Variance ``wᵀΣw``.

    ``cov`` is validated as the optimisers validate it (symmetric, positive semi-definite up to
    a relative ``1e-10`` in its eigenvalues): a matrix with implied correlations beyond ±1
    can give a negative "variance", which is refused rather than reported. On an accepted
    matrix a result below zero by no more than :func:`variance_tolerance` (rounding and the
    accepted eigenvalue slack, ``~1e-10·‖Σ‖·‖w‖²``) is reported as 0.

    Parameters
    ----------
    weights : array_like of shape (n_assets,)
    cov : array_like of shape (n_assets, n_assets)

    Returns
    -------
    float

    Raises
    ------
    InputError
        When ``weights`` or ``cov`` holds blanks or non-numbers, ``cov`` is not square and
        symmetric, or the sizes differ.
    NotPositiveSemidefiniteError
        When ``cov`` is not positive semi-definite.

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import portfolio_variance
    >>> round(portfolio_variance([0.5, 0.3, 0.2], cov), 6)
    0.007396
    """
    w = as_vector(weights, "weights")
    c = as_covariance(cov, n=w.size)
    return _variance(w, c)


def portfolio_volatility(weights: ArrayLike, cov: ArrayLike) -> float:
    """Volatility ``sqrt(wᵀΣw)``; see :func:`portfolio_variance` (refuses a non-PSD ``cov``).

    Parameters
    ----------
    weights : array_like of shape (n_assets,)
    cov : array_like of shape (n_assets, n_assets)

    Returns
    -------
    float

    Raises
    ------
    InputError
        As for :func:`portfolio_variance`.
    NotPositiveSemidefiniteError
        When ``cov`` is not positive semi-definite.

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import portfolio_volatility
    >>> round(portfolio_volatility([0.5, 0.3, 0.2], cov), 4)
    0.086
    """
    return float(np.sqrt(portfolio_variance(weights, cov)))


def portfolio_sharpe(
    weights: ArrayLike, mu: ArrayLike, cov: ArrayLike, risk_free_rate: float = 0.0
) -> float:
    """Sharpe ratio ``(μᵀw − rf) / σ``.

    Parameters
    ----------
    weights : array_like of shape (n_assets,)
    mu : array_like of shape (n_assets,)
    cov : array_like of shape (n_assets, n_assets)
    risk_free_rate : float, default 0
        Of the same periodicity as ``mu``.

    Returns
    -------
    float

    Raises
    ------
    InputError
        When the portfolio has zero volatility (the ratio is undefined), or as for
        :func:`portfolio_return` and :func:`portfolio_variance`.

    NotPositiveSemidefiniteError
        When ``cov`` is not positive semi-definite (see :func:`portfolio_variance`).

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import portfolio_sharpe
    >>> round(portfolio_sharpe([0.5, 0.3, 0.2], mu, cov, risk_free_rate=0.02), 4)
    0.5349
    """
    vol = portfolio_volatility(weights, cov)
    if vol == 0.0:
        raise InputError(
            "the portfolio has zero volatility: its Sharpe ratio is undefined", "weights"
        )
    return sharpe_ratio(portfolio_return(weights, mu), vol, float(risk_free_rate))


def risk_contributions(weights: ArrayLike, cov: ArrayLike) -> NDArray[np.float64]:
    """Each asset's share of portfolio variance, ``w_i (Σw)_i / wᵀΣw`` (sums to one).

    Parameters
    ----------
    weights : array_like of shape (n_assets,)
    cov : array_like of shape (n_assets, n_assets)

    Returns
    -------
    ndarray of shape (n_assets,)

    Raises
    ------
    InputError
        When the portfolio has zero variance (shares are undefined).

    NotPositiveSemidefiniteError
        When ``cov`` is not positive semi-definite (see :func:`portfolio_variance`).

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import risk_contributions
    >>> np.round(risk_contributions([0.5, 0.3, 0.2], cov), 4)
    array([0.1284, 0.4502, 0.4213])
    """
    w = as_vector(weights, "weights")
    c = as_covariance(cov, n=w.size)
    contrib = w * (c @ w)
    total = _variance(w, c, float(contrib.sum()))
    if not total > 0.0:
        raise InputError(
            "the portfolio has zero variance: risk contributions are undefined", "weights"
        )
    return contrib / total
