"""Result objects returned by the optimisers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["KKTResiduals", "PortfolioResult"]


@dataclass(frozen=True)
class KKTResiduals:
    """Certificate of optimality: how far a solution is from satisfying the KKT conditions.

    Every optimal portfolio is certified as the minimum-variance portfolio for its own expected
    return: with ``g = 2 Σ w``, the conditions are ``g = γ·1 + η·μ + z``, ``z_i ≥ 0`` where
    ``w_i`` is at its lower bound, ``z_i ≤ 0`` at its upper bound, ``z_i = 0`` otherwise.

    Attributes
    ----------
    primal : float
        Largest violation of the budget, the return equality and the bounds (in weight units).
    dual : float
        Largest stationarity residual ``|g − γ·1 − η·μ − z|`` and sign violation of ``z``,
        relative to the largest entry of ``|g|``, ``|γ|`` and ``|η μ|`` (at least 1e-300).
    complementarity : float
        Largest ``|z_i|·distance(w_i, bound)`` relative to the same scale.
    """

    primal: float
    dual: float
    complementarity: float

    def is_optimal(self, tol: float = 1e-9) -> bool:
        """Return True when every residual is at most ``tol``."""
        return max(self.primal, self.dual, self.complementarity) <= tol


@dataclass(frozen=True)
class PortfolioResult:
    """An optimal portfolio with its statistics and optimality certificate.

    Attributes
    ----------
    weights : ndarray of shape (n_assets,)
        Portfolio weights (sum to one).
    expected_return : float
        ``μᵀw``.
    volatility : float
        ``sqrt(wᵀΣw)``.
    variance : float
        ``wᵀΣw``.
    objective : str
        Which problem was solved: ``"min_variance"``, ``"global_min_variance"``,
        ``"max_sharpe"``, ``"max_return"``, ``"max_utility"``, ``"frontier_point"``.
    at_lower, at_upper : ndarray of bool, shape (n_assets,)
        Which bounds bind.
    budget_multiplier : float
        Shadow price γ of the budget ``1ᵀw = 1``: the change in the minimum variance per unit
        of extra budget, at this portfolio's return.
    return_multiplier : float
        Shadow price η of the return constraint: ``d(σ²)/dr`` along the minimum-variance
        frontier at this portfolio's return (0 at the global minimum variance portfolio).
    bound_multipliers : ndarray of shape (n_assets,)
        ``z``: positive where a lower bound binds, negative where an upper bound binds, the
        change in variance per unit the bound is relaxed. Zero for assets between bounds.
    kkt : KKTResiduals
        Residuals of the optimality conditions.
    risk_free_rate : float or None
        The rate used for :attr:`sharpe_ratio`, when one was given.
    sharpe_ratio : float or None
        ``(μᵀw − rf) / σ`` when a risk-free rate was given (NaN when σ = 0).
    status : str
        ``"optimal"`` when the KKT residuals are at most 1e-8, otherwise ``"inaccurate"``
        (extreme scaling of the inputs; the residuals say how far off).
    """

    weights: NDArray[np.float64]
    expected_return: float
    volatility: float
    variance: float
    objective: str
    at_lower: NDArray[np.bool_]
    at_upper: NDArray[np.bool_]
    budget_multiplier: float
    return_multiplier: float
    bound_multipliers: NDArray[np.float64]
    kkt: KKTResiduals
    risk_free_rate: float | None = None
    sharpe_ratio: float | None = None
    status: str = "optimal"
    details: dict[str, float] = field(default_factory=dict)

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return int(self.weights.shape[0])
