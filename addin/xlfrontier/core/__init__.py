"""The pure numerical core: numpy/scipy only, no Excel, no I/O."""

from __future__ import annotations

from xlfrontier.core.closed_form import MertonFrontier, merton_frontier
from xlfrontier.core.constraints import LinearConstraints, group_constraints
from xlfrontier.core.estimation import (
    CovarianceEstimate,
    InputCheck,
    InputReport,
    PSDRepair,
    check_inputs,
    corr_from_cov,
    corr_matrix,
    cov_from_corr,
    cov_matrix,
    estimate_cov,
    mean_returns,
    nearest_psd,
    repair_psd,
    returns_from_prices,
)
from xlfrontier.core.frontier import EfficientFrontier, FrontierSample, efficient_frontier
from xlfrontier.core.metrics import (
    portfolio_return,
    portfolio_sharpe,
    portfolio_variance,
    portfolio_volatility,
    risk_contributions,
)
from xlfrontier.core.optimize import (
    global_min_variance,
    max_return,
    max_sharpe,
    max_utility,
    min_variance,
)
from xlfrontier.core.results import KKTResiduals, PortfolioResult

__all__ = [
    "CovarianceEstimate",
    "EfficientFrontier",
    "FrontierSample",
    "InputCheck",
    "InputReport",
    "KKTResiduals",
    "LinearConstraints",
    "MertonFrontier",
    "PSDRepair",
    "PortfolioResult",
    "check_inputs",
    "corr_from_cov",
    "corr_matrix",
    "cov_from_corr",
    "cov_matrix",
    "efficient_frontier",
    "estimate_cov",
    "global_min_variance",
    "group_constraints",
    "max_return",
    "max_sharpe",
    "max_utility",
    "mean_returns",
    "merton_frontier",
    "min_variance",
    "nearest_psd",
    "portfolio_return",
    "portfolio_sharpe",
    "portfolio_variance",
    "portfolio_volatility",
    "repair_psd",
    "returns_from_prices",
    "risk_contributions",
]
