"""Evaluation on the traced path: shared by ``frontier.py`` and ``optimize.py``.

A :class:`~xlfrontier.core._path.Branch` holds corner portfolios between which the weights are
linear in the risk tolerance. Here: where on a branch a return or a variance is reached
(:func:`locate`, :func:`locate_many`, :func:`locate_variance`), and the tangency portfolio on
the efficient branch (:func:`max_sharpe_on`), traced only as far as it needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from xlfrontier.core._activeset import Corner
from xlfrontier.core._messages import no_excess_return, sharpe_not_attained
from xlfrontier.core._path import Branch, PathSolver, gmv_index
from xlfrontier.core.results import PortfolioResult
from xlfrontier.exceptions import InputError

__all__ = [
    "cml_tangency",
    "locate",
    "locate_many",
    "locate_variance",
    "max_sharpe_on",
    "segment_quadratics",
    "solve_variance",
    "target_in_range",
]

# Relative slack with which a target counts as inside its feasible range (rounding in limits
# the solver computed, or a target typed as the limit's shown value).
RANGE_RTOL = 1e-12


def target_in_range(
    x: float,
    lo: float,
    hi: float,
    *,
    floor: float = 1.0,
    with_limits: bool = False,
    atol: float = 0.0,
) -> bool:
    """Whether a target ``x`` lies in ``[lo, hi]`` up to rounding (the one rule for targets).

    The slack is ``1e-12·max(floor, |x|, |lo|, |hi|) + atol``, the limits counted only with
    ``with_limits`` and only when finite.

    Parameters
    ----------
    x : float
        The target (a return, a volatility or a variance).
    lo, hi : float
        The feasible range (``hi`` may be ``inf``).
    floor : float
        Smallest scale of the relative slack: 1 for returns and volatilities, which are
        decimals, so that targets near zero get an absolute 1e-12; 0 for a variance.
    with_limits : bool
        Whether the slack also grows with the limits (returns compared with an LP range that
        may lie far from the target).
    atol : float
        Absolute slack on top (the rounding level of a computed variance).

    Returns
    -------
    bool
    """
    scale = max(floor, abs(x))
    if with_limits:
        scale = max(scale, *(abs(v) for v in (lo, hi) if np.isfinite(v)), 0.0)
    tol = RANGE_RTOL * scale + atol
    return lo - tol <= x <= hi + tol


def segment_quadratics(br: Branch, sl: slice = slice(None)) -> tuple[NDArray[np.float64], ...]:
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
        return last, float(solve_variance(br.var[last], b, max(float(dw @ dsw), 0.0), target))
    k = int(np.searchsorted(br.var[k0:], target, side="right")) - 1 + k0
    k = min(max(k, k0), last - 1)
    a, b, c, _, _ = (x[0] for x in segment_quadratics(br, slice(k, k + 2)))
    return k, min(max(float(solve_variance(a, b, c, target)), 0.0), 1.0)


def solve_variance(
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


def max_sharpe_on(ps: PathSolver, rf: float, k0: int | None = None) -> PortfolioResult:
    """Trace the efficient branch just far enough to find the tangency portfolio."""
    if not rf == rf or not np.isfinite(rf):
        raise InputError("risk-free rate must be a finite number", "risk_free_rate")
    if ps.r_max <= rf + 1e-14 * max(1.0, abs(rf)):
        raise no_excess_return(rf, ps.r_max)
    mu, s_cov = ps.mu_x, ps.s_cov
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
        a, b, c, r0, dr = segment_quadratics(br, slice(k0, k_end))
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
        dr = float(ps.p.mu @ dw)
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
            return ps.point(br, last, cml_tangency(ps, br.w[last], dw, c), "max_sharpe", rf)
        if not s_ray > s_inf * (1 + 1e-12):
            # No maximum inside the ray (λ above is a minimum, or huge as the ratio creeps up
            # to s_inf): its best finite point is its start, already a candidate.
            lam, s_ray = 0.0, -np.inf
        if s_inf > max(max(cand_s), s_ray) * (1 + 1e-12):
            raise sharpe_not_attained(rf)
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


def cml_tangency(
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
