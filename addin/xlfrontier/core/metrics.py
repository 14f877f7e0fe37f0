"""Portfolio statistics: return, volatility, Sharpe ratio, risk contributions."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._validation import as_covariance, as_vector
from xlfrontier.exceptions import InputError

__all__ = [
    "portfolio_return",
    "portfolio_sharpe",
    "portfolio_variance",
    "portfolio_volatility",
    "risk_contributions",
]


def portfolio_return(weights: ArrayLike, mu: ArrayLike) -> float:
    """Return the expected return ``μᵀw``.

    Parameters
    ----------
    weights : array_like of shape (n_assets,)
    mu : array_like of shape (n_assets,)

    Returns
    -------
    float
    """
    w = as_vector(weights, "weights")
    m = as_vector(mu, "mu", w.size)
    return float(m @ w)


def portfolio_variance(weights: ArrayLike, cov: ArrayLike) -> float:
    """Variance ``wᵀΣw`` (clipped at 0 against rounding).

    Parameters
    ----------
    weights : array_like of shape (n_assets,)
    cov : array_like of shape (n_assets, n_assets)

    Returns
    -------
    float
    """
    w = as_vector(weights, "weights")
    c = as_covariance(cov, n=w.size, check_psd=False)
    return max(float(w @ c @ w), 0.0)


def portfolio_volatility(weights: ArrayLike, cov: ArrayLike) -> float:
    """Volatility ``sqrt(wᵀΣw)``; see :func:`portfolio_variance`."""
    return float(np.sqrt(portfolio_variance(weights, cov)))


def portfolio_sharpe(
    weights: ArrayLike, mu: ArrayLike, cov: ArrayLike, risk_free_rate: float = 0.0
) -> float:
    """Sharpe ratio ``(μᵀw − rf) / σ``.

    Raises
    ------
    InputError
        When the portfolio has zero volatility (the ratio is undefined).
    """
    vol = portfolio_volatility(weights, cov)
    if vol == 0.0:
        raise InputError(
            "the portfolio has zero volatility: its Sharpe ratio is undefined", "weights"
        )
    return (portfolio_return(weights, mu) - float(risk_free_rate)) / vol


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
    """
    w = as_vector(weights, "weights")
    c = as_covariance(cov, n=w.size, check_psd=False)
    contrib = w * (c @ w)
    total = float(contrib.sum())
    if not total > 0.0:
        raise InputError(
            "the portfolio has zero variance: risk contributions are undefined", "weights"
        )
    return contrib / total
