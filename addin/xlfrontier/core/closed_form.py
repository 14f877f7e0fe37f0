"""Closed-form minimum-variance frontier without bounds (Merton 1972)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._validation import as_covariance, as_vector
from xlfrontier.exceptions import InputError

__all__ = ["MertonFrontier", "merton_frontier"]

# D = AC - B² is a difference of nearly equal numbers: with all expected returns equal it comes
# out of the solves as rounding of either sign, far below this fraction of AC.
_DEGENERATE_RTOL = 1e-12


@dataclass(frozen=True)
class MertonFrontier:
    """The unconstrained (short selling allowed, budget only) minimum-variance frontier.

    With ``A = 1ᵀΣ⁻¹1``, ``B = 1ᵀΣ⁻¹μ``, ``C = μᵀΣ⁻¹μ`` and ``D = AC − B²`` the frontier is
    ``σ²(r) = (A r² − 2 B r + C) / D`` and the weights are
    ``w(r) = Σ⁻¹(1·(C − B r) + μ·(A r − B)) / D``.

    Attributes
    ----------
    A, B, C, D : float
        Merton's constants.
    gmv_return, gmv_volatility : float
        The global minimum variance portfolio: ``B/A`` and ``sqrt(1/A)``.
    gmv_weights : ndarray of shape (n_assets,)
        ``Σ⁻¹1 / A``.

    Examples
    --------
    >>> import numpy as np
    >>> from xlfrontier import merton_frontier
    >>> mf = merton_frontier([0.04, 0.08, 0.11], np.diag([0.0025, 0.0225, 0.0484]))
    >>> a2, a1, a0 = mf.variance_coefficients
    >>> r = 0.07
    >>> bool(np.isclose(a2 * r * r + a1 * r + a0, mf.variance(r), rtol=1e-12))
    True
    """

    A: float
    B: float
    C: float
    D: float
    gmv_return: float
    gmv_volatility: float
    gmv_weights: NDArray[np.float64]
    _inv_ones: NDArray[np.float64]
    _inv_mu: NDArray[np.float64]

    @property
    def degenerate(self) -> bool:
        """Whether all expected returns are equal (to rounding): the frontier is one point.

        ``D = AC − B²`` is zero exactly when ``μ`` is a multiple of ``1``; a computed ``D`` of
        at most ``1e-12 · AC`` counts as zero. Then only the minimum-variance portfolio is on
        the frontier: :meth:`weights` refuses other targets and :meth:`variance` is NaN there.

        Examples
        --------
        >>> import numpy as np
        >>> from xlfrontier import merton_frontier
        >>> cov = np.diag([0.0025, 0.0225, 0.0484])
        >>> merton_frontier([0.07, 0.07, 0.07], cov).degenerate
        True
        >>> merton_frontier([0.04, 0.08, 0.11], cov).degenerate
        False
        """
        floor = _DEGENERATE_RTOL * max(self.A * self.C, 1e-300)
        # Degenerate unless D is clearly positive; a NaN D is degenerate too.
        return not floor < self.D

    @property
    def variance_coefficients(self) -> tuple[float, float, float]:
        """The frontier variance as a quadratic in the return: ``(A/D, −2B/D, C/D)``.

        ``σ²(r) = (A/D) r² + (−2B/D) r + C/D``; NaN for a :attr:`degenerate` frontier.

        Examples
        --------
        >>> import numpy as np
        >>> from xlfrontier import merton_frontier
        >>> mf = merton_frontier([0.04, 0.08, 0.11], np.diag([0.0025, 0.0225, 0.0484]))
        >>> [round(x, 4) for x in mf.variance_coefficients]
        [6.6666, -0.6258, 0.0168]
        """
        if self.degenerate:
            return (math.nan, math.nan, math.nan)
        return (self.A / self.D, -2 * self.B / self.D, self.C / self.D)

    @property
    def asymptote_slope(self) -> float:
        """``√(D/A)``: slope of the frontier's asymptotes ``r = B/A ± √(D/A) σ``.

        The highest Sharpe ratio any frontier portfolio approaches when the risk-free rate is
        the minimum-variance return ``B/A``; NaN for a :attr:`degenerate` frontier.

        Examples
        --------
        >>> import numpy as np
        >>> from xlfrontier import merton_frontier
        >>> mf = merton_frontier([0.04, 0.08, 0.11], np.diag([0.0025, 0.0225, 0.0484]))
        >>> round(mf.asymptote_slope, 4)
        0.3873
        """
        if self.degenerate:
            return math.nan
        return float(np.sqrt(self.D / self.A))

    def variance(self, r: float | NDArray[np.float64]) -> float | NDArray[np.float64]:
        """Frontier variance at target return ``r``."""
        r = np.asarray(r, dtype=np.float64)
        if self.degenerate:
            return np.where(np.isclose(r, self.gmv_return), 1.0 / self.A, np.nan)[()]
        return ((self.A * r * r - 2 * self.B * r + self.C) / self.D)[()]

    def weights(self, r: float) -> NDArray[np.float64]:
        """Frontier weights at target return ``r``, shape (n_assets,)."""
        if self.degenerate:
            raise InputError(
                "all assets have the same expected return: only the minimum "
                "variance portfolio is on the frontier",
                "mu",
            )
        return (
            self._inv_ones * (self.C - self.B * r) + self._inv_mu * (self.A * r - self.B)
        ) / self.D

    def tangency_weights(self, risk_free_rate: float = 0.0) -> NDArray[np.float64]:
        """Tangency portfolio ``Σ⁻¹(μ − rf) / 1ᵀΣ⁻¹(μ − rf)``, shape (n_assets,).

        Raises
        ------
        InputError
            When ``rf >= B/A`` (the tangency portfolio is on the lower branch or undefined).
        """
        denom = self.B - self.A * risk_free_rate
        if denom <= 0:
            raise InputError(
                f"the risk-free rate must be below the minimum-variance return "
                f"{self.gmv_return:.4g} for an unconstrained tangency portfolio",
                "rf",
            )
        return (self._inv_mu - risk_free_rate * self._inv_ones) / denom


def merton_frontier(mu: ArrayLike, cov: ArrayLike) -> MertonFrontier:
    """Merton's (1972) closed-form frontier for a positive definite covariance matrix.

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
        Expected returns.
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix; must be positive definite.

    Returns
    -------
    MertonFrontier

    Raises
    ------
    InputError
        When the covariance matrix is singular (the closed form needs ``Σ⁻¹``).

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import merton_frontier
    >>> m = merton_frontier(mu, cov)
    >>> print(f"GMV return {m.gmv_return:.2%}, volatility {m.gmv_volatility:.2%}")
    GMV return 4.26%, volatility 4.94%
    >>> np.round(m.weights(0.07), 4)
    array([0.4629, 0.2532, 0.2839])
    """
    m = as_vector(mu, "mu")
    c = as_covariance(cov, n=m.size)
    try:
        chol = np.linalg.cholesky(c)
    except np.linalg.LinAlgError as err:
        raise InputError(
            "cov is singular (e.g. duplicated or riskless assets): the closed-form "
            "frontier needs an invertible covariance matrix",
            "cov",
        ) from err
    rhs = np.column_stack([np.ones_like(m), m])
    with np.errstate(all="ignore"):
        y = np.linalg.solve(chol, rhs)
        x = np.linalg.solve(chol.T, y)
    inv_ones, inv_mu = x[:, 0], x[:, 1]
    if not (np.isfinite(x).all() and np.sum(inv_ones) > 0):
        raise InputError(
            "cov is too close to singular for the closed-form frontier (variances near zero)", "cov"
        )
    a = float(np.sum(inv_ones))
    b = float(np.sum(inv_mu))
    cc = float(m @ inv_mu)
    d = a * cc - b * b
    return MertonFrontier(
        a, b, cc, d, b / a, float(np.sqrt(1.0 / a)), inv_ones / a, inv_ones, inv_mu
    )
