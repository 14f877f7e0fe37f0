"""The pure numerical core: numpy/scipy only, no Excel, no I/O."""

from __future__ import annotations

from xlfrontier.core.closed_form import MertonFrontier, merton_frontier
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
    "EfficientFrontier",
    "FrontierSample",
    "KKTResiduals",
    "MertonFrontier",
    "PortfolioResult",
    "efficient_frontier",
    "global_min_variance",
    "max_return",
    "max_sharpe",
    "max_utility",
    "merton_frontier",
    "min_variance",
    "portfolio_return",
    "portfolio_sharpe",
    "portfolio_variance",
    "portfolio_volatility",
    "risk_contributions",
]
