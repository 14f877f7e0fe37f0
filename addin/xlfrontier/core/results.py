"""Result objects returned by the optimisers, and the KKT certificate that vouches for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Certificate",
    "KKTResiduals",
    "Objective",
    "PortfolioResult",
    "RowCheck",
    "Status",
    "certify",
]

#: Which problem a result solves.
Objective = Literal[
    "min_variance",
    "global_min_variance",
    "max_sharpe",
    "max_return",
    "max_utility",
    "frontier_point",
    "frontier_corner",
]
#: Whether the KKT residuals certify the result (at most 1e-8) or not.
Status = Literal["optimal", "inaccurate"]

# Largest KKT residual at which a result is reported "optimal".
OPTIMAL_TOL = 1e-8


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
class Certificate:
    """The KKT certificate of a portfolio: its multipliers and residuals.

    Attributes
    ----------
    budget_multiplier : float
        ``γ``, the shadow price of the budget.
    bound_multipliers : ndarray of shape (n_assets,)
        ``z`` on the assets of the working set at a bound, 0 on the free ones.
    kkt : KKTResiduals
        How far the conditions are from holding.
    row_multipliers : ndarray of shape (m,)
        ``λ`` of the general linear constraints (empty without them): positive where a row's
        minimum binds, negative where its maximum binds, 0 where it does not bind.
    """

    budget_multiplier: float
    bound_multipliers: NDArray[np.float64]
    kkt: KKTResiduals
    row_multipliers: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))

    @property
    def status(self) -> Status:
        """``"optimal"`` when every residual is at most 1e-8, else ``"inaccurate"``."""
        # Never claim optimality the certificate does not show.
        return "optimal" if self.kkt.is_optimal(OPTIMAL_TOL) else "inaccurate"


@dataclass(frozen=True)
class RowCheck:
    """General linear constraints for :func:`certify`, with the working set's view of them.

    Attributes
    ----------
    A : ndarray of shape (m, n_assets)
    lower, upper : ndarray of shape (m,)
        The rows' limits (``±inf`` for none).
    state : ndarray of int8, shape (m,)
        -1 at its minimum, +1 at its maximum, 2 an equality, 0 not in the working set.
    hint : ndarray of shape (1 + m,)
        The solver's multipliers ``(γ, λ)``: they fix what the free assets leave open (at a
        degenerate vertex the multipliers are not unique).
    """

    A: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    state: NDArray[np.int8]
    hint: NDArray[np.float64]


def certify(
    w: NDArray[np.float64],
    sw: NDArray[np.float64],
    eta: float,
    state: NDArray[np.int8],
    mu: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    *,
    var_max: float,
    mu_absmax: float,
    long_only: bool = False,
    target: float | None = None,
    rows: RowCheck | None = None,
) -> Certificate:
    """Certify ``w`` as the minimum-variance portfolio at its own return (:class:`KKTResiduals`).

    The budget multiplier ``γ`` is the mean of ``2Σw − ημ`` over the free assets (at a vertex,
    where no asset is free, the midpoint of the interval the bound conditions allow); the bound
    multipliers are what is left, ``z = 2Σw − ημ − γ``.

    Parameters
    ----------
    w, sw : ndarray of shape (n_assets,)
        Weights and ``Σw``.
    eta : float
        Return multiplier ``η`` (``2t`` for risk tolerance ``t``; 0 at the GMV portfolio).
    state : ndarray of int8, shape (n_assets,)
        Working set: -1 at the lower bound, +1 at the upper bound, 0 free.
    mu, lower, upper : ndarray of shape (n_assets,)
        Expected returns and bounds.
    var_max : float
        Largest variance on the diagonal of ``Σ`` (the rounding scale of ``Σw``).
    mu_absmax : float
        Largest ``|μ_i|``.
    long_only : bool
        Whether the bounds are the default ``0 ≤ w`` (a faster route, same numbers).
    target : float, optional
        Required return: its miss counts as a primal violation.
    rows : RowCheck, optional
        General linear constraints: the multipliers ``(γ, λ)`` then solve the stationarity on
        the free assets in the least-squares sense (the smallest correction of the solver's),
        and the rows' limits, signs and complementarity join the residuals.

    Returns
    -------
    Certificate
    """
    if rows is not None:
        return _certify_rows(w, sw, eta, state, mu, lower, upper, rows, var_max, mu_absmax, target)
    g = 2.0 * sw
    free = state == 0
    h = g - eta * mu if eta else g
    h_free = h[free]
    if h_free.size:
        gamma = float(h_free.sum()) / h_free.size
    else:  # a vertex: any γ between the bound conditions certifies it
        lo_side = h[state == -1].min(initial=np.inf)
        up_side = h[state == 1].max(initial=-np.inf)
        gamma = float(np.nanmean([x for x in (lo_side, up_side) if np.isfinite(x)] or [0.0]))
    z = h - gamma
    # Backward-error scale: computing Σw carries an error of order eps·max|Σ|·max|w|,
    # so a riskless optimum (Σw ≈ 0) is not judged against its own rounding noise.
    scale = max(
        float(np.abs(g).max()),
        abs(gamma),
        abs(eta) * mu_absmax,
        2.0 * var_max * float(np.abs(w).max()),
        1e-300,
    )
    # Wrong-signed multipliers: any on free assets, negative at lower, positive at upper.
    az = np.abs(z)
    if long_only:  # only lower bounds
        wrong = np.where(free, az, -z)
    else:
        wrong = np.where(free, az, np.where(state == -1, -z, z))
    dual = max(float(wrong.max()), 0.0) / scale
    if long_only:
        comp = float((az * w).max()) / scale
        viol = max(abs(float(w.sum()) - 1.0), -float(w.min()), 0.0)
    else:
        dist = np.minimum(w - lower, upper - w)  # inf where unbounded: finite z there is 0 on free
        fin = np.isfinite(dist)
        comp = float((az[fin] * dist[fin]).max(initial=0.0)) / scale
        viol = max(
            abs(float(w.sum()) - 1.0),
            float(np.maximum(lower - w, 0.0).max()),
            float(np.maximum(w - upper, 0.0).max()),
        )
    if target is not None:
        viol = max(viol, abs(float(mu @ w) - target))
    return Certificate(gamma, np.where(free, 0.0, z), KKTResiduals(viol, dual, comp))


def _certify_rows(
    w: NDArray[np.float64],
    sw: NDArray[np.float64],
    eta: float,
    state: NDArray[np.int8],
    mu: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    rows: RowCheck,
    var_max: float,
    mu_absmax: float,
    target: float | None,
) -> Certificate:
    """:func:`certify` with general linear constraints: ``g − ημ = γ·1 + Aᵀλ + z``."""
    g = 2.0 * sw
    h = g - eta * mu
    A, m = rows.A, rows.A.shape[0]
    act = np.flatnonzero(rows.state != 0)
    M = np.empty((w.size, 1 + act.size))
    M[:, 0] = 1.0
    M[:, 1:] = A[act].T
    theta = np.concatenate([[rows.hint[0]], rows.hint[1 + act]])
    free = state == 0
    if free.any():
        # The smallest correction of the solver's multipliers that solves the free rows.
        resid = h[free] - M[free] @ theta
        theta = theta + np.linalg.lstsq(M[free], resid, rcond=None)[0]
    gamma = float(theta[0])
    lam = np.zeros(m)
    lam[act] = theta[1:]
    z = h - M @ theta
    scale = max(
        float(np.abs(g).max()),
        abs(gamma),
        abs(eta) * mu_absmax,
        2.0 * var_max * float(np.abs(w).max()),
        float(np.abs(M[:, 1:] * theta[1:]).max(initial=0.0)),
        1e-300,
    )
    az = np.abs(z)
    wrong = np.where(free, az, np.where(state == -1, -z, z))
    rs = rows.state
    wrong_row = np.where(rs == -1, -lam, np.where(rs == 1, lam, 0.0))
    dual = max(float(wrong.max()), float(wrong_row.max(initial=0.0)), 0.0) / scale
    dist = np.minimum(w - lower, upper - w)
    fin = np.isfinite(dist)
    val = A @ w
    rdist = np.minimum(val - rows.lower, rows.upper - val)
    rfin = np.isfinite(rdist)
    comp = (
        max(
            float((az[fin] * dist[fin]).max(initial=0.0)),
            float((np.abs(lam[rfin]) * np.abs(rdist[rfin])).max(initial=0.0)),
        )
        / scale
    )
    viol = max(
        abs(float(w.sum()) - 1.0),
        float(np.maximum(lower - w, 0.0).max()),
        float(np.maximum(w - upper, 0.0).max()),
        float(np.maximum(rows.lower - val, 0.0).max(initial=0.0)),
        float(np.maximum(val - rows.upper, 0.0).max(initial=0.0)),
    )
    if target is not None:
        viol = max(viol, abs(float(mu @ w) - target))
    return Certificate(gamma, np.where(free, 0.0, z), KKTResiduals(viol, dual, comp), lam)


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
    objective : Objective
        Which problem was solved: ``"min_variance"``, ``"global_min_variance"``,
        ``"max_sharpe"``, ``"max_return"``, ``"max_utility"``, ``"frontier_point"`` or
        ``"frontier_corner"``.
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
    status : Status
        ``"optimal"`` when the KKT residuals are at most 1e-8, otherwise ``"inaccurate"``
        (extreme scaling of the inputs; the residuals say how far off).
    constraint_names : tuple of str
        Names of the general linear constraints (empty without ``constraints=``).
    constraint_values : ndarray of shape (m,)
        ``A @ w``: each constraint row's value.
    constraint_multipliers : ndarray of shape (m,)
        Shadow price of each row, in the sign convention of :attr:`bound_multipliers`:
        positive where the row's minimum binds, negative where its maximum binds (the change
        in variance per unit the limit is raised), 0 for rows that do not bind.
    at_min, at_max : ndarray of bool, shape (m,)
        Which rows sit at their minimum / maximum (both for an equality row).
    """

    weights: NDArray[np.float64]
    expected_return: float
    volatility: float
    variance: float
    objective: Objective
    at_lower: NDArray[np.bool_]
    at_upper: NDArray[np.bool_]
    budget_multiplier: float
    return_multiplier: float
    bound_multipliers: NDArray[np.float64]
    kkt: KKTResiduals
    risk_free_rate: float | None = None
    sharpe_ratio: float | None = None
    status: Status = "optimal"
    constraint_names: tuple[str, ...] = ()
    constraint_values: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    constraint_multipliers: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    at_min: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))
    at_max: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return int(self.weights.shape[0])

    @property
    def binding_constraints(self) -> tuple[str, ...]:
        """Names of the constraint rows at a limit, in row order."""
        hit = self.at_min | self.at_max
        return tuple(name for name, b in zip(self.constraint_names, hit, strict=True) if b)
