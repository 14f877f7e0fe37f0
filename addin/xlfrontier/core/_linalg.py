"""Cholesky factorisation and solves: LAPACK through SciPy for large matrices, NumPy below.

NumPy's ``cholesky`` copies and cleans its output through a generalised ufunc and is 1.2-3×
slower than calling ``dpotrf`` directly from n ≈ 100 on. Importing :mod:`scipy.linalg` costs
about 0.1 s, so it is imported on first use of a large matrix only (small problems and the
cold start stay NumPy-only).
"""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import NDArray

__all__ = ["LAPACK_FROM", "cho_solve", "cholesky"]

LAPACK_FROM = 96  # from this size the SciPy import pays for itself


def cholesky(a: NDArray[np.float64], overwrite: bool = False) -> NDArray[np.float64] | None:
    """Lower Cholesky factor of the symmetric matrix ``a``; None if it is not positive definite.

    Parameters
    ----------
    a : ndarray of shape (n, n)
        Symmetric; only one triangle is read.
    overwrite : bool
        Whether ``a`` (a C-contiguous scratch matrix) may hold the factor: no new n×n
        allocation, which on large matrices saves the page faults of fresh memory.

    Returns
    -------
    ndarray of shape (n, n) or None
        ``L`` with ``L Lᵀ = a``; its strict upper triangle is zero.
    """
    if a.shape[0] >= LAPACK_FROM:
        from scipy.linalg.lapack import dpotrf

        # A symmetric C-ordered matrix is its own transpose: .T is the same matrix in Fortran
        # order, which LAPACK can factor in place.
        src = a.T if overwrite and a.flags.c_contiguous else a
        c, info = dpotrf(src, lower=1, clean=1, overwrite_a=overwrite)
        return c if info == 0 else None
    try:
        return cast("NDArray[np.float64]", np.linalg.cholesky(a))
    except np.linalg.LinAlgError:
        return None


def cho_solve(L: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Solve ``L Lᵀ x = b`` for the factor ``L`` of :func:`cholesky`.

    Parameters
    ----------
    L : ndarray of shape (n, n)
    b : ndarray of shape (n,) or (n, k)

    Returns
    -------
    ndarray, same shape as ``b``
    """
    if L.shape[0] >= LAPACK_FROM:
        from scipy.linalg.lapack import dpotrs

        x, _ = dpotrs(L, b, lower=1)
        return cast("NDArray[np.float64]", x)
    y = np.linalg.solve(L, b)
    return np.linalg.solve(L.T, y)
