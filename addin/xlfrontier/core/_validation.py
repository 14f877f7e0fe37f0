"""Input validation at the boundary of the core: shapes, finiteness, symmetry, PSD, bounds.

Every function raises :class:`~xlfrontier.exceptions.InputError` (or a subclass) with a message
that fits in a spreadsheet cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._linalg import cholesky
from xlfrontier.core._messages import fmt_pct, fmt_pct_pair
from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.exceptions import InfeasibleError, InputError, NotPositiveSemidefiniteError

__all__ = [
    "Problem",
    "as_bounds",
    "as_covariance",
    "as_vector",
    "fmt_pct",  # re-exported: its home is _messages
    "fmt_pct_pair",
    "validate_problem",
]

# Relative asymmetry below which the covariance is silently symmetrised (float dust from Excel).
SYMMETRY_TOL = 1e-8
# Smallest eigenvalue accepted, relative to the largest one (rounding in pasted matrices).
PSD_TOL = 1e-10


def as_vector(x: ArrayLike, name: str, n: int | None = None) -> NDArray[np.float64]:
    """Return ``x`` as a finite float vector of length ``n``.

    Parameters
    ----------
    x : array_like of shape (n,), (n, 1) or (1, n)
        The values.
    name : str
        Argument name for messages.
    n : int, optional
        Required length.

    Returns
    -------
    ndarray of shape (n,)
    """
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must contain numbers only", name) from err
    if a.ndim == 2 and 1 in a.shape:
        a = a.ravel()
    elif a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise InputError(f"{name} must be a single row or column, got shape {a.shape}", name)
    if a.size == 0:
        raise InputError(f"{name} is empty", name)
    if n is not None and a.size != n:
        raise InputError(f"{name} has {a.size} values but there are {n} assets", name)
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{name} has a missing or non-finite value at position {i + 1}", name)
    return a


def as_covariance(
    cov: ArrayLike,
    name: str = "cov",
    n: int | None = None,
    check_psd: bool = True,
    copy: bool = True,
) -> NDArray[np.float64]:
    """Return ``cov`` as a symmetric, positive semi-definite float matrix.

    Tiny asymmetry (relative ``<= 1e-8``) is symmetrised; larger asymmetry is rejected with the
    worst pair named. A matrix whose smallest eigenvalue is below ``-1e-10`` times its largest
    is rejected with that eigenvalue in the message.

    Parameters
    ----------
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix.
    name : str
        Argument name for messages.
    n : int, optional
        Required size (the number of expected returns).
    check_psd : bool
        Whether to test positive semi-definiteness.
    copy : bool
        Whether the result must not share memory with ``cov`` (False: a float64 array is
        used as given, which saves a copy for one-shot solves that never keep it).

    Returns
    -------
    ndarray of shape (n_assets, n_assets)
    """
    try:
        c = np.array(cov, dtype=np.float64) if copy else np.asarray(cov, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must contain numbers only", name) from err
    if c.ndim == 0 or (c.ndim == 1 and c.size == 1):
        c = c.reshape(1, 1)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise InputError(f"{name} must be a square matrix, got shape {c.shape}", name)
    m = c.shape[0]
    if m == 0:
        raise InputError(f"{name} is empty", name)
    if n is not None and m != n:
        raise InputError(
            f"{name} is {m}x{m} but there are {n} expected returns: "
            f"it must be {n}x{n}, in the same asset order",
            name,
        )
    if not np.isfinite(c).all():
        i, j = np.argwhere(~np.isfinite(c))[0]
        raise InputError(
            f"{name} has a missing or non-finite value at row {i + 1}, column {j + 1}", name
        )
    diag = c.diagonal()
    if (diag < 0).any():
        i = int(np.flatnonzero(diag < 0)[0])
        raise InputError(
            f"{name} has a negative variance {diag[i]:.4g} on the diagonal (asset {i + 1})", name
        )
    # Few full-size temporaries: each one costs page faults on large matrices.
    if m > 1 and not np.array_equal(c, c.T):
        scale = max(float(c.max()), -float(c.min()))
        asym = np.abs(c - c.T)
        worst = float(asym.max())
        if worst > SYMMETRY_TOL * max(scale, 1e-300):
            i, j = np.unravel_index(int(asym.argmax()), asym.shape)
            raise InputError(
                f"{name} is not symmetric: row {i + 1}, column {j + 1} is {c[i, j]:.6g} but "
                f"row {j + 1}, column {i + 1} is {c[j, i]:.6g}",
                name,
            )
        c = 0.5 * (c + c.T)
    if check_psd and m > 1:
        check_psd_matrix(c, name)
    return c


def check_psd_matrix(c: NDArray[np.float64], name: str = "cov") -> NDArray[np.float64] | None:
    """Raise :class:`NotPositiveSemidefiniteError` when ``c`` has a clearly negative eigenvalue.

    A Cholesky factorisation settles the common positive definite case cheaply; only when it
    fails are the eigenvalues computed.

    Returns
    -------
    ndarray of shape (n, n) or None
        The lower Cholesky factor when ``c`` is positive definite (solvers reuse it).
    """
    chol = cholesky(c)
    if chol is not None:
        return chol
    eig = np.linalg.eigvalsh(c)
    top = max(float(np.abs(eig).max()), 1e-300)
    if eig[0] < -PSD_TOL * top:
        raise NotPositiveSemidefiniteError(
            f"{name} is not a valid covariance matrix (not positive semi-definite: smallest "
            f"eigenvalue {eig[0]:.3g}); check for typing errors or repair it with NEAREST_PSD",
            float(eig[0]),
            name,
        )
    return None


def _is_default(val: object, default: float) -> bool:
    return val is None or (isinstance(val, (int, float)) and val == default)


def as_bounds(
    lower: ArrayLike | None, upper: ArrayLike | None, n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return per-asset bounds ``(l, u)``, broadcasting scalars and checking feasibility.

    ``None`` or NaN means the default (``lower = 0``, ``upper = +inf``). ``-inf`` allows
    unlimited short selling.

    Parameters
    ----------
    lower, upper : float or array_like of shape (n_assets,), optional
        Minimum and maximum weight of each asset.
    n : int
        Number of assets.

    Returns
    -------
    l, u : ndarray of shape (n_assets,)
    """
    if _is_default(lower, 0.0) and _is_default(upper, np.inf):  # the common case, fast
        return np.zeros(n), np.full(n, np.inf)
    out = []
    for val, name, default in ((lower, "lower", 0.0), (upper, "upper", np.inf)):
        if val is None:
            out.append(np.full(n, default))
            continue
        try:
            a = np.asarray(val, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise InputError(f"{name} bounds must be numbers", name) from err
        if a.size == 1:
            a = np.full(n, float(a.reshape(-1)[0]))
        else:
            a = a.ravel()
            if a.size != n:
                raise InputError(
                    f"{name} has {a.size} values but there are {n} assets: give one value "
                    f"per asset or a single value for all",
                    name,
                )
        a = np.where(np.isnan(a), default, a)
        out.append(a.astype(np.float64, copy=True))
    lo, up = out
    if np.isposinf(lo).any():
        raise InputError("lower bound cannot be +infinity", "lower")
    if np.isneginf(up).any():
        raise InputError("upper bound cannot be -infinity", "upper")
    if (lo > up).any():
        i = int(np.flatnonzero(lo > up)[0])
        shown_lo, shown_up = fmt_pct_pair(lo[i], up[i])
        raise InputError(
            f"asset {i + 1}: lower bound {shown_lo} is above its upper bound {shown_up}",
            "lower",
        )
    slo, sup = float(lo.sum()), float(up.sum())
    tol = 1e-12 * max(1.0, float(np.abs(lo[np.isfinite(lo)]).sum()))
    if slo > 1.0 + tol:
        raise InfeasibleError(
            f"lower bounds sum to {fmt_pct_pair(slo, 1.0)[0]}, more than 100%: no portfolio "
            f"can meet them; lower some minimum weights",
            "lower",
        )
    if sup < 1.0 - tol:
        raise InfeasibleError(
            f"upper bounds sum to {fmt_pct_pair(sup, 1.0)[0]}, less than 100%: weights cannot "
            f"add up to one; raise some maximum weights",
            "upper",
        )
    return lo, up


@dataclass(frozen=True)
class Problem:
    """A validated problem: expected returns, covariance and bounds.

    Attributes
    ----------
    mu : ndarray of shape (n_assets,)
    cov : ndarray of shape (n_assets, n_assets)
    lower, upper : ndarray of shape (n_assets,)
    constraints : LinearConstraints or None
        General linear constraints (None: the budget and the bounds only).
    """

    mu: NDArray[np.float64]
    cov: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    chol: NDArray[np.float64] | None = None  # lower Cholesky factor of cov, when PD
    long_only: bool = False  # the default bounds: lower 0, no upper
    constraints: LinearConstraints | None = None

    @property
    def n(self) -> int:
        """Number of assets."""
        return int(self.mu.shape[0])


def validate_problem(
    mu: ArrayLike | None,
    cov: ArrayLike,
    lower: ArrayLike | None = 0.0,
    upper: ArrayLike | None = np.inf,
    check_psd: bool = True,
    copy: bool = True,
    constraints: LinearConstraints | None = None,
) -> Problem:
    """Validate all inputs of an optimisation; ``mu=None`` means zeros (GMV problems).

    ``copy=False`` lets the problem share ``cov``'s memory (one-shot solves that drop it).
    ``constraints`` must have one coefficient per asset; none with no rows means None.
    """
    if mu is None:
        c = as_covariance(cov, check_psd=False, copy=copy)
        m = np.zeros(c.shape[0])
    else:
        m = as_vector(mu, "mu")
        c = as_covariance(cov, n=m.size, check_psd=False, copy=copy)
    chol = check_psd_matrix(c) if check_psd else None
    lo, up = as_bounds(lower, upper, m.size)
    long_only = (_is_default(lower, 0.0) and _is_default(upper, np.inf)) or (
        not lo.any() and bool(np.isposinf(up).all())
    )
    if constraints is not None:
        if not isinstance(constraints, LinearConstraints):
            raise InputError(
                "constraints must be a LinearConstraints (see group_constraints)", "constraints"
            )
        constraints.check_assets(m.size)
        if constraints.m == 0:
            constraints = None
    return Problem(m, c, lo, up, chol, long_only, constraints)
