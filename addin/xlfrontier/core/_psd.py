"""Positive semi-definite repair: Higham's nearest correlation matrix (private).

Public names are in :mod:`xlfrontier.core.estimation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from xlfrontier.core._estimation_args import FloatArray
from xlfrontier.core._validation import PSD_TOL, as_covariance
from xlfrontier.exceptions import InputError

# Eigenvalues this far below the floor (relative to the largest) count as rounding in repair_psd.
_EIG_ROUNDING = 1e-12
# Implied |correlation| beyond which repair_psd calls the input a typing error, not a matrix.
_MAX_CORRELATION = 1e12


def _is_psd(c: FloatArray) -> bool:
    """Whether ``c`` is PSD up to the tolerance of the optimisers' check (Cholesky first)."""
    try:
        np.linalg.cholesky(c)
        return True
    except np.linalg.LinAlgError:
        pass
    eig = np.linalg.eigvalsh(c)
    return bool(eig[0] >= -PSD_TOL * max(float(np.abs(eig).max()), 1e-300))


@dataclass(frozen=True)
class PSDRepair:
    """The nearest positive semi-definite matrix and the size of the repair.

    Attributes
    ----------
    matrix : ndarray of shape (n_assets, n_assets)
        The repaired matrix (the input when it needed no repair). Its diagonal equals the
        input's: variances are kept, for a correlation matrix the ones.
    frobenius_distance : float
        ``‖input − matrix‖_F`` in the input's units.
    correlation_distance : float
        ``‖D^-½ (input − matrix) D^-½‖_F`` with ``D`` the diagonal: the distance between the
        correlation matrices, which is what the repair minimises.
    min_eigenvalue_before, min_eigenvalue_after : float
        Smallest eigenvalue of the input and of the result.
    iterations : int
        Alternating-projection iterations (0 when no repair was needed).
    converged : bool
        Whether the iterations met the tolerance (the result is PSD either way).
    """

    matrix: FloatArray
    frobenius_distance: float
    correlation_distance: float
    min_eigenvalue_before: float
    min_eigenvalue_after: float
    iterations: int
    converged: bool

    @property
    def changed(self) -> bool:
        """Whether the matrix differs from the input."""
        return self.frobenius_distance > 0


def _nearest_correlation(
    a: FloatArray, min_eigenvalue: float = 0.0, tol: float = 1e-10, max_iter: int = 1000
) -> tuple[FloatArray, int, bool]:
    """Higham (2002) alternating projections with Dykstra's correction, unit weights.

    Nearest (Frobenius) symmetric matrix to ``a`` with unit diagonal and eigenvalues at least
    ``min_eigenvalue``. Stops when the relative changes of both iterates and their gap are at
    most ``tol`` (Higham's ``nearcorr`` test). The returned matrix is the PSD iterate rescaled
    to an exact unit diagonal, so it is PSD and unit-diagonal even without convergence.
    """
    y = a.copy()
    ds = np.zeros_like(a)
    x = a.copy()
    converged = False
    k = 0
    for k in range(1, max_iter + 1):  # noqa: B007 (k is the iteration count reported)
        x_old, y_old = x, y
        r = y - ds
        lam, vec = np.linalg.eigh(r)
        x = (vec * np.maximum(lam, min_eigenvalue)) @ vec.T
        x = 0.5 * (x + x.T)
        ds = x - r
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        ny = np.linalg.norm(y)
        change = max(
            np.linalg.norm(x - x_old) / np.linalg.norm(x),
            np.linalg.norm(y - y_old) / ny,
            np.linalg.norm(y - x) / ny,
        )
        if change <= tol:
            converged = True
            break
    d = np.sqrt(np.maximum(np.diag(x), 1e-300))
    out = x / d[:, None] / d[None, :]
    out = 0.5 * (out + out.T)
    np.fill_diagonal(out, 1.0)
    return out, k, converged


def repair_psd(
    matrix: ArrayLike,
    min_eigenvalue: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> PSDRepair:
    """Nearest positive semi-definite matrix, correlation-preserving, with a repair report.

    The matrix is split into variances ``D`` and correlations ``R = D^-½ A D^-½``; ``R`` is
    replaced by the nearest correlation matrix (Higham 2002, "Computing the nearest correlation
    matrix", IMA J. Numer. Anal. 22: alternating projections onto the PSD cone and the unit
    diagonal with Dykstra's correction) and the variances are put back. For a covariance this
    is Higham's W-weighted problem with ``W = D⁻¹``: among PSD matrices with the same variances
    it minimises ``‖D^-½ (A − X) D^-½‖_F``, the distance between the correlation matrices. A
    correlation matrix (unit diagonal) gets the plain nearest correlation matrix.

    An asset with zero variance keeps zero variance and zero covariances. A matrix that is
    already PSD (eigenvalues of ``R`` at least ``min_eigenvalue``, up to rounding) is returned
    unchanged.

    Parameters
    ----------
    matrix : array_like of shape (n_assets, n_assets)
        Symmetric covariance or correlation matrix, variances at least 0.
    min_eigenvalue : float, default 0
        Floor for the eigenvalues of the repaired correlation matrix (e.g. 1e-8 for a strictly
        positive definite result); below 1.
    tol : float, default 1e-10
        Relative convergence tolerance of the iterations.
    max_iter : int, default 1000
        Iteration limit; the result is PSD even when it is reached (``converged`` is False).

    Returns
    -------
    PSDRepair

    Raises
    ------
    InputError
        Not square, blank or non-numeric, not symmetric, a negative variance, or a bad option.

    Examples
    --------
    >>> import numpy as np
    >>> from xlfrontier import repair_psd
    >>> bad = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.9], [0.1, 0.9, 1.0]])
    >>> rep = repair_psd(bad)
    >>> round(rep.min_eigenvalue_before, 4)
    -0.2238
    """
    a = as_covariance(matrix, "matrix", check_psd=False)
    floor = float(min_eigenvalue)
    if not (math.isfinite(floor) and 0.0 <= floor < 1.0):
        raise InputError("min_eigenvalue must be at least 0 and below 1", "min_eigenvalue")
    if not (math.isfinite(tol) and tol > 0) or int(max_iter) < 1:
        raise InputError("tol must be positive and max_iter at least 1", "tol")
    d = np.diag(a).copy()
    pos = d > 0
    inv = np.where(pos, 1.0 / np.sqrt(np.where(pos, d, 1.0)), 0.0)
    # Stepwise products: inv_i * inv_j alone overflows for tiny (subnormal) variances.
    with np.errstate(over="ignore", invalid="ignore"):
        r = a * inv[:, None] * inv[None, :]
    np.fill_diagonal(r, 1.0)
    absurd = ~(np.abs(r) <= _MAX_CORRELATION)
    if absurd.any():
        i, j = np.argwhere(absurd)[0]
        raise InputError(
            f"matrix row {i + 1}, column {j + 1} is more than {_MAX_CORRELATION:.0e} times the "
            f"product of the volatilities: check for a typing error",
            "matrix",
        )
    r = 0.5 * (r + r.T)
    eig_before = float(np.linalg.eigvalsh(a)[0])
    eig_r = np.linalg.eigvalsh(r)
    # Covariances of a zero-variance asset must be zero (an infinite correlation otherwise).
    zero = ~pos[:, None] | ~pos[None, :]
    stray = zero & ~np.eye(a.shape[0], dtype=bool) & (a != 0)
    needs_fix = eig_r[0] < floor - _EIG_ROUNDING * max(1.0, float(eig_r[-1]))
    if not needs_fix and not stray.any():
        return PSDRepair(a, 0.0, 0.0, eig_before, eig_before, 0, True)
    iterations, converged = 0, True
    if needs_fix:
        r, iterations, converged = _nearest_correlation(r, floor, tol, int(max_iter))
        out = r * np.outer(np.sqrt(d), np.sqrt(d))
        out[zero] = 0.0
        np.fill_diagonal(out, d)
    else:
        out = np.where(stray, 0.0, a)
    diff = a - out
    dist_r = diff * inv[:, None] * inv[None, :]
    return PSDRepair(
        matrix=out,
        frobenius_distance=_frobenius(diff),
        correlation_distance=_frobenius(dist_r),
        min_eigenvalue_before=eig_before,
        min_eigenvalue_after=float(np.linalg.eigvalsh(out)[0]),
        iterations=iterations,
        converged=converged,
    )


def _frobenius(m: FloatArray) -> float:
    """Frobenius norm without overflow for entries near the float limit."""
    top = float(np.abs(m).max()) if m.size else 0.0
    return top * float(np.linalg.norm(m / top)) if top > 0 else 0.0


def nearest_psd(
    matrix: ArrayLike,
    min_eigenvalue: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> FloatArray:
    """Nearest positive semi-definite matrix keeping the variances (NEAREST_PSD).

    See :func:`repair_psd`, which takes the same arguments and also reports the repair size.

    Parameters
    ----------
    matrix : array_like of shape (n_assets, n_assets)
        Symmetric covariance or correlation matrix, variances at least 0.
    min_eigenvalue : float, default 0
        Floor for the eigenvalues of the repaired correlation matrix; below 1.
    tol : float, default 1e-10
        Relative convergence tolerance of the iterations.
    max_iter : int, default 1000
        Iteration limit.

    Returns
    -------
    ndarray of shape (n_assets, n_assets)

    Raises
    ------
    InputError
        As for :func:`repair_psd`.

    Examples
    --------
    >>> import numpy as np
    >>> from xlfrontier import nearest_psd
    >>> bad = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.9], [0.1, 0.9, 1.0]])
    >>> bool(np.linalg.eigvalsh(bad).min() < 0)
    True
    >>> fixed = nearest_psd(bad)
    >>> np.round(fixed, 4)
    array([[1.    , 0.7696, 0.1847],
           [0.7696, 1.    , 0.7696],
           [0.1847, 0.7696, 1.    ]])
    >>> bool(np.linalg.eigvalsh(fixed).min() > -1e-12)
    True
    """
    return repair_psd(matrix, min_eigenvalue, tol, max_iter).matrix
