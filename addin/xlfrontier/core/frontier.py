"""The exact efficient frontier: corner portfolios and evaluation at any return or volatility."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._evaluate import (
    locate,
    locate_many,
    locate_variance,
    max_sharpe_on,
    target_in_range,
)
from xlfrontier.core._messages import return_out_of_range, volatility_out_of_range
from xlfrontier.core._path import PathSolver, gmv_index
from xlfrontier.core._validation import validate_problem
from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.core.metrics import sharpe_ratio
from xlfrontier.core.results import PortfolioResult
from xlfrontier.exceptions import InputError

__all__ = ["EfficientFrontier", "FrontierSample", "efficient_frontier"]


@dataclass(frozen=True)
class FrontierSample:
    """Points sampled along the efficient frontier.

    Attributes
    ----------
    returns, volatilities : ndarray of shape (points,)
    weights : ndarray of shape (points, n_assets)
    """

    returns: NDArray[np.float64]
    volatilities: NDArray[np.float64]
    weights: NDArray[np.float64]

    def sharpe_ratios(self, risk_free_rate: float) -> NDArray[np.float64]:
        """Sharpe ratio of each point (NaN where the volatility is zero)."""
        return sharpe_ratio(self.returns, self.volatilities, float(risk_free_rate))


class EfficientFrontier:
    """The exact efficient frontier (from the GMV portfolio to the maximum return).

    Weights move linearly in the expected return between consecutive corner portfolios, so the
    frontier is known exactly once the corners are; evaluation at any return or volatility is
    interpolation (and the root of a quadratic for a volatility). Build it with
    :func:`efficient_frontier`.
    """

    def __init__(self, solver: PathSolver) -> None:
        self._ps = solver
        self._br = solver.extend_upper()
        br = self._br
        # The efficient end of a (rare) segment of equal-variance GMV portfolios.
        self._k0 = gmv_index(br, solver)

    # ------------------------------------------------------------------ corners
    @cached_property
    def _corner_index(self) -> NDArray[np.intp]:
        br = self._br
        keep = [self._k0]
        for k in range(self._k0 + 1, br.t.size):
            if np.abs(br.w[k] - br.w[keep[-1]]).max() > 1e-12:
                keep.append(k)
        return np.asarray(keep, dtype=np.intp)

    @property
    def corner_weights(self) -> NDArray[np.float64]:
        """Weights of the corner portfolios, shape (n_corners, n_assets)."""
        k = self._corner_index
        return self._ps.snap(self._br.w[k], self._br.state[k])[0]

    @property
    def corner_returns(self) -> NDArray[np.float64]:
        """Expected returns of the corner portfolios, shape (n_corners,)."""
        return self._br.ret[self._corner_index]

    @property
    def corner_volatilities(self) -> NDArray[np.float64]:
        """Volatilities of the corner portfolios, shape (n_corners,)."""
        return np.sqrt(self._br.var[self._corner_index])

    @cached_property
    def corners(self) -> list[PortfolioResult]:
        """Corner portfolios as certified results, from the GMV to the maximum return."""
        return [self._ps.point(self._br, k, 0.0, "frontier_corner") for k in self._corner_index]

    @cached_property
    def gmv(self) -> PortfolioResult:
        """The global minimum variance portfolio (the efficient one if there are several)."""
        return self._ps.point(self._br, self._k0, 0.0, "global_min_variance")

    @property
    def min_return(self) -> float:
        """Expected return of the GMV portfolio: the lowest efficient return."""
        return float(self._br.ret[self._k0])

    @property
    def max_return(self) -> float:
        """Highest attainable expected return (``inf`` with unlimited short selling)."""
        return float("inf") if self._br.ray is not None else float(self._br.ret[-1])

    @property
    def min_volatility(self) -> float:
        """Volatility of the GMV portfolio."""
        return float(np.sqrt(self._br.var[self._k0]))

    @property
    def max_volatility(self) -> float:
        """Volatility of the maximum-return portfolio (``inf`` when unbounded)."""
        return float("inf") if self._br.ray is not None else float(np.sqrt(self._br.var[-1]))

    @property
    def is_bounded(self) -> bool:
        """Whether the frontier ends at a maximum-return portfolio."""
        return self._br.ray is None

    def _sample_top_return(self) -> float:
        if self.is_bounded:
            return self.max_return
        return max(float(self._ps.p.mu.max()), float(self._br.ret[-1]))

    # ------------------------------------------------------------------ evaluation
    def _locate_return(self, r: float) -> tuple[int, float]:
        br = self._br
        rate = None if br.ray is None else float(self._ps.p.mu @ br.ray[0])
        return locate(br.ret, self._k0, r, rate)

    def at_return(self, target_return: float) -> PortfolioResult:
        """Efficient portfolio with the given expected return.

        Raises
        ------
        TargetOutOfRangeError
            When the target is below the GMV return or above the highest attainable return.
        """
        r = float(target_return)
        lo, hi = self.min_return, self.max_return
        if not target_in_range(r, lo, hi):
            raise return_out_of_range(r, lo, hi, efficient=True)
        k, lam = self._locate_return(min(max(r, lo), hi))
        return self._ps.point(self._br, k, lam, "frontier_point", target=r)

    def at_volatility(self, target_volatility: float) -> PortfolioResult:
        """Efficient portfolio with the given volatility.

        Raises
        ------
        TargetOutOfRangeError
            When the target is below the GMV volatility or above the maximum-return portfolio's.
        """
        s = float(target_volatility)
        lo, hi = self.min_volatility, self.max_volatility
        if not target_in_range(s, lo, hi):
            raise volatility_out_of_range(s, lo, hi)
        k, lam = self._locate_volatility(min(max(s, lo), hi))
        return self._ps.point(self._br, k, lam, "frontier_point")

    def _locate_volatility(self, s: float) -> tuple[int, float]:
        return locate_variance(self._br, self._k0, s * s)

    def sample(self, points: int = 50, by: str = "return") -> FrontierSample:
        """``points`` efficient portfolios evenly spaced in return or in volatility.

        Parameters
        ----------
        points : int
            Number of points (at least 2), from the GMV to the maximum-return portfolio. With
            unlimited short selling the top is the highest single-asset expected return.
        by : {"return", "volatility"}
            Spacing.

        Returns
        -------
        FrontierSample
        """
        points = int(points)
        if points < 2:
            raise InputError("points must be at least 2", "points")
        br = self._br
        if by == "return":
            grid = np.linspace(self.min_return, self._sample_top_return(), points)
            rate = None if br.ray is None else float(self._ps.p.mu @ br.ray[0])
            ks, lam = locate_many(br.ret, self._k0, grid, rate)
        elif by == "volatility":
            top = self.max_volatility
            if not np.isfinite(top):
                top = float(
                    np.sqrt(
                        self._ps.point(
                            br, *self._locate_return(self._sample_top_return()), "frontier_point"
                        ).variance
                    )
                )
            grid = np.linspace(self.min_volatility, top, points)
            loc = [self._locate_volatility(s) for s in grid]
            ks = np.array([k for k, _ in loc])
            lam = np.array([x for _, x in loc])
        else:
            raise InputError('by must be "return" or "volatility"', "by")
        lam = lam[:, None]
        nxt = np.minimum(ks + 1, br.t.size - 1)
        dw = br.w[nxt] - br.w[ks]
        dsw = br.sw[nxt] - br.sw[ks]
        if br.ray is not None:
            on_ray = (ks == br.t.size - 1)[:, None]
            dw = np.where(on_ray, br.ray[0], dw)
            dsw = np.where(on_ray, br.ray[1], dsw)
        w = br.w[ks] + lam * dw
        sw = br.sw[ks] + lam * dsw
        w = self._ps.snap(w, br.state[ks])[0]
        var = np.maximum(np.einsum("ij,ij->i", w, sw), 0.0)
        return FrontierSample(w @ self._ps.p.mu, np.sqrt(var), w)

    def max_sharpe(self, risk_free_rate: float = 0.0) -> PortfolioResult:
        """Return the tangency portfolio: highest ``(μᵀw − rf)/σ`` on the frontier.

        Raises
        ------
        NoPositiveExcessReturnError
            When no feasible portfolio earns more than ``risk_free_rate``.
        """
        return max_sharpe_on(self._ps, float(risk_free_rate), self._k0)


def efficient_frontier(
    mu: ArrayLike,
    cov: ArrayLike,
    lower: ArrayLike | float | None = 0.0,
    upper: ArrayLike | float | None = np.inf,
    *,
    constraints: LinearConstraints | None = None,
) -> EfficientFrontier:
    """Compute the whole efficient frontier exactly.

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
        Expected returns.
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix (symmetric positive semi-definite).
    lower, upper : float or array_like of shape (n_assets,)
        Weight bounds; ``lower=-inf`` allows unlimited short selling. Where unbounded assets
        could split their weight in several ways (copies of an asset), the minimum-norm split
        is used; see :mod:`xlfrontier.core.optimize`.
    constraints : LinearConstraints, optional
        Group and exposure limits (see :func:`~xlfrontier.group_constraints`): the frontier
        keeps its exact corners, one more wherever a limit starts or stops binding.

    Returns
    -------
    EfficientFrontier

    Raises
    ------
    UnboundedError
        When unbounded assets allow an arbitrage (a riskless combination with a return).

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import efficient_frontier
    >>> ef = efficient_frontier(mu, cov)
    >>> np.round(ef.corner_returns, 4)
    array([0.0426, 0.096 , 0.11  ])
    >>> np.round(ef.at_return(0.07).weights, 4)
    array([0.4629, 0.2532, 0.2839])
    >>> s = ef.sample(5)
    >>> np.round(s.volatilities, 4)
    array([0.0494, 0.0703, 0.1117, 0.1581, 0.22  ])
    """
    return EfficientFrontier(
        PathSolver(validate_problem(mu, cov, lower, upper, constraints=constraints))
    )
