"""The exact efficient frontier: corner portfolios and evaluation at any return or volatility."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._activeset import Corner
from xlfrontier.core._path import Branch, PathSolver, gmv_index
from xlfrontier.core._validation import fmt_pct, fmt_pct_pair, validate_problem
from xlfrontier.core.results import PortfolioResult
from xlfrontier.exceptions import (
    InputError,
    NoPositiveExcessReturnError,
    TargetOutOfRangeError,
    UnboundedError,
)

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
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (self.returns - risk_free_rate) / self.volatilities
        return np.where(self.volatilities > 0, s, np.nan)


def _segment_quadratics(br: Branch, sl: slice = slice(None)) -> tuple[NDArray[np.float64], ...]:
    """Variance ``a + 2bλ + cλ²`` and return ``r + λ·dr`` on the segments of ``br[sl]``.

    ``sl`` selects at least two consecutive corners.
    """
    w, sw, ret = br.w[sl], br.sw[sl], br.ret[sl]
    dw = np.diff(w, axis=0)
    dsw = np.diff(sw, axis=0)
    a = br.var[sl][:-1]
    b = np.einsum("ij,ij->i", w[:-1], dsw)
    c = np.maximum(np.einsum("ij,ij->i", dw, dsw), 0.0)
    return a, b, c, ret[:-1], np.diff(ret)


def locate(
    values: NDArray[np.float64], k0: int, x: float, ray_rate: float | None
) -> tuple[int, float]:
    """Segment ``k`` and fraction ``λ`` where piecewise-linear ``values`` reach ``x``.

    ``values`` are non-decreasing from corner ``k0``. Past the last corner ``λ`` is Δt on the
    ray, along which ``values`` grow at ``ray_rate`` per unit ``t`` (None: no ray).
    """
    ks, lam = locate_many(values, k0, np.array([float(x)]), ray_rate)
    return int(ks[0]), float(lam[0])


def locate_many(
    values: NDArray[np.float64], k0: int, xs: NDArray[np.float64], ray_rate: float | None
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """:func:`locate` for an array of targets ``xs`` at once; returns arrays ``(k, λ)``."""
    last = values.size - 1
    ks = np.full(xs.size, last, dtype=np.intp)
    lam = np.zeros(xs.size)
    inside = xs < values[last] if last != k0 else np.zeros(xs.size, dtype=bool)
    if ray_rate is not None:
        lam[~inside] = (xs[~inside] - values[last]) / ray_rate
    if inside.any():
        x = xs[inside]
        k = np.searchsorted(values[k0:], x, side="right") - 1 + k0
        k = np.clip(k, k0, last - 1)
        dv = values[k + 1] - values[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.clip((x - values[k]) / dv, 0.0, 1.0)
        ks[inside] = k
        lam[inside] = np.where(dv <= 0, 0.0, frac)
    return ks, lam


def locate_variance(br: Branch, k0: int, target: float) -> tuple[int, float]:
    """Segment and fraction where the efficient branch's variance reaches ``target``."""
    last = br.var.size - 1
    if target >= br.var[last] or last == k0:
        if br.ray is None:
            return last, 0.0
        dw, dsw = br.ray
        b = float(br.w[last] @ dsw)
        return last, float(_solve_variance(br.var[last], b, max(float(dw @ dsw), 0.0), target))
    k = int(np.searchsorted(br.var[k0:], target, side="right")) - 1 + k0
    k = min(max(k, k0), last - 1)
    a, b, c, _, _ = (x[0] for x in _segment_quadratics(br, slice(k, k + 2)))
    return k, min(max(float(_solve_variance(a, b, c, target)), 0.0), 1.0)


def _solve_variance(
    a: float | NDArray[np.float64],
    b: float | NDArray[np.float64],
    c: float | NDArray[np.float64],
    target: float,
) -> NDArray[np.float64]:
    """Smallest ``λ ≥ 0`` with ``a + 2bλ + cλ² = target`` (``a ≤ target``), stable form."""
    d = target - a
    disc = np.sqrt(np.maximum(b * b + c * d, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        # No cancellation for either sign of b (b < 0 from a riskless start: b + disc → 0).
        lam = np.where(b >= 0, d / (b + disc), (disc - b) / c)
    return np.where(d <= 0, 0.0, lam)


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
        br = self._br
        return [
            self._ps.result(br.w[k], br.sw[k], float(br.t[k]), br.state[k], "frontier_corner")
            for k in self._corner_index
        ]

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
        tol = 1e-12 * max(1.0, abs(r))
        if not lo - tol <= r <= hi + tol:
            raise _return_error(r, lo, hi, efficient=True)
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
        tol = 1e-12 * max(1.0, s)
        if not lo - tol <= s <= hi + tol:
            raise _vol_error(s, lo, hi)
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
                            br, *self._locate_return(self._sample_top_return()), "x"
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
        return _max_sharpe_on(self._ps, float(risk_free_rate), self._k0)


def _return_error(r: float, lo: float, hi: float, efficient: bool) -> TargetOutOfRangeError:
    # The limit the target is compared with is shown with enough digits to differ from it,
    # and the same way in the range.
    if r > hi:
        shown_r, shown_hi = fmt_pct_pair(r, hi)
        rng = f"(feasible {fmt_pct(lo)} to {shown_hi})"
        msg = f"target return {shown_r} is above the highest attainable {shown_hi} {rng}"
    else:
        shown_r, shown_lo = fmt_pct_pair(r, lo)
        rng = f"(feasible {shown_lo} to {fmt_pct(hi)})"
        what = "the minimum-variance portfolio's" if efficient else "the lowest attainable"
        msg = f"target return {shown_r} is below {what} {shown_lo} {rng}"
    return TargetOutOfRangeError(msg, "return", r, (lo, hi), "target_return")


def _vol_error(s: float, lo: float, hi: float) -> TargetOutOfRangeError:
    if s < lo:
        shown_s, shown_lo = fmt_pct_pair(s, lo)
        msg = (
            f"target volatility {shown_s} is below the lowest attainable {shown_lo} "
            f"(the minimum-variance portfolio); raise the target"
        )
    else:
        shown_s, shown_hi = fmt_pct_pair(s, hi)
        msg = (
            f"target volatility {shown_s} is above the highest efficient {shown_hi} "
            f"(feasible {fmt_pct(lo)} to {shown_hi})"
        )
    return TargetOutOfRangeError(msg, "volatility", s, (lo, hi), "target_volatility")


def _max_sharpe_on(ps: PathSolver, rf: float, k0: int | None = None) -> PortfolioResult:
    """Trace the efficient branch just far enough to find the tangency portfolio."""
    if not rf == rf or not np.isfinite(rf):
        raise InputError("risk-free rate must be a finite number", "risk_free_rate")
    if ps.r_max <= rf + 1e-14 * max(1.0, abs(rf)):
        shown_rf, shown_max = fmt_pct_pair(rf, ps.r_max)
        raise NoPositiveExcessReturnError(
            f"no portfolio earns more than the risk-free rate {shown_rf} (highest attainable "
            f"return {shown_max}): maximum Sharpe is undefined; lower rf",
            "risk_free_rate",
        )
    mu, s_cov = ps.p.mu, ps.s_cov
    best = [-np.inf, False]

    def noise(w: NDArray[np.float64]) -> float:
        """Return the rounding level of ``wᵀΣw`` (a riskless portfolio's variance)."""
        return 1e-13 * s_cov * float(np.abs(w).sum(axis=-1).max()) ** 2

    def stop(c: Corner) -> bool:
        r = float(mu @ c.w)
        v = float(c.w @ c.sw) * s_cov
        if r <= rf:
            return False
        sh = (r - rf) / np.sqrt(v) if v > noise(c.w) else np.inf
        if sh < best[0] * (1 - 1e-12):
            return True
        best[0] = sh
        return False

    br = ps.extend_upper(stop=stop)
    if k0 is None:
        k0 = gmv_index(br, ps)
    k_end = br.t.size
    cand_k: list[int] = []
    cand_l: list[float] = []
    cand_s: list[float] = []
    # Arrays over the corners' segments, then scalars on the ray.
    a: Any
    b: Any
    c: Any
    lam: Any
    v: Any
    r: Any
    dr: Any
    e: Any
    tiny = noise(br.w[k0:k_end])
    if k_end - k0 >= 2:
        a, b, c, r0, dr = _segment_quadratics(br, slice(k0, k_end))
        e = r0 - rf
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = (e * b - dr * a) / (dr * b - e * c)
        lam = np.where(np.isfinite(lam), np.clip(lam, 0.0, 1.0), 0.0)
        for lam_try in (np.zeros_like(lam), np.ones_like(lam), lam):
            v = a + 2 * b * lam_try + c * lam_try**2
            r = r0 + lam_try * dr
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.where(
                    v > tiny,
                    (r - rf) / np.sqrt(np.maximum(v, 0)),
                    np.where(r > rf, np.inf, -np.inf),
                )
            j = int(np.argmax(s))
            cand_k.append(j + k0)
            cand_l.append(float(lam_try[j]))
            cand_s.append(float(s[j]))
    else:
        v = br.var[k0]
        r = br.ret[k0]
        cand_k.append(k0)
        cand_l.append(0.0)
        cand_s.append((r - rf) / np.sqrt(v) if v > tiny else (np.inf if r > rf else -np.inf))
    if br.done and br.ray is not None:
        last = br.t.size - 1
        dw, dsw = br.ray
        a = br.var[last]
        b = float(br.w[last] @ dsw)
        c = max(float(dw @ dsw), 0.0)
        dr = float(mu @ dw)
        e = br.ret[last] - rf
        den = dr * b - e * c
        lam = (e * b - dr * a) / den if den != 0 else 0.0
        lam = max(lam, 0.0)
        v = a + 2 * b * lam + c * lam**2
        s_ray = (e + lam * dr) / np.sqrt(v) if v > 0 else -np.inf
        s_inf = dr / np.sqrt(c) if c > 0 else np.inf
        if (
            a <= noise(br.w[last])
            and abs(e) <= 1e-12 * max(1.0, abs(rf))
            and c > 0
            and dr > 0
            and s_inf >= max(cand_s) * (1 - 1e-12)
        ):
            # The ray starts at a riskless portfolio earning rf: it is the capital market line
            # itself, and every point of it has the ratio dr/√c. Report Tobin's tangency.
            return ps.point(br, last, _cml_tangency(ps, br.w[last], dw, c), "max_sharpe", rf)
        if not s_ray > s_inf * (1 + 1e-12):
            # No maximum inside the ray (λ above is a minimum, or huge as the ratio creeps up
            # to s_inf): its best finite point is its start, already a candidate.
            lam, s_ray = 0.0, -np.inf
        if s_inf > max(max(cand_s), s_ray) * (1 + 1e-12):
            raise UnboundedError(
                f"the maximum Sharpe ratio is not attained: with unlimited short selling and "
                f"rf {fmt_pct(rf)} at or above the minimum-variance return, the ratio keeps "
                f"rising; lower rf or bound the weights"
            )
        cand_k.append(last)
        cand_l.append(lam)
        cand_s.append(s_ray)
    j = int(np.argmax(cand_s))
    if not np.isfinite(cand_s[j]):
        raise InputError(
            "a riskless portfolio earns more than the risk-free rate: the Sharpe ratio is "
            "unbounded; set rf to the riskless assets' return",
            "risk_free_rate",
        )
    return ps.point(br, cand_k[j], cand_l[j], "max_sharpe", rf)


def _cml_tangency(
    ps: PathSolver, w0: NDArray[np.float64], dw: NDArray[np.float64], c: float
) -> float:
    """Step ``Δt`` along the capital market line ``w0 + Δt·dw`` to the tangency portfolio.

    That is the point with no weight left in zero-variance assets (Tobin's separation: the
    risky part alone, as in the long-only answer). Without such assets (a riskless hedge of
    risky assets) the point whose volatility is the largest single-asset volatility.
    """
    riskless = ps.p.cov.diagonal() <= 1e-13 * ps.s_cov
    slope = float(dw[riskless].sum())
    if slope < 0:
        step = -float(w0[riskless].sum()) / slope
        if step > 0:
            return step
    return float(np.sqrt(ps.s_cov / c))


def efficient_frontier(
    mu: ArrayLike,
    cov: ArrayLike,
    lower: ArrayLike | float | None = 0.0,
    upper: ArrayLike | float | None = np.inf,
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
    return EfficientFrontier(PathSolver(validate_problem(mu, cov, lower, upper)))
