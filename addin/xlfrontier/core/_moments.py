"""Pairwise-complete second moments and Ledoit-Wolf shrinkage (private).

The vectorised kernels behind :func:`~xlfrontier.core.estimation.estimate_cov`: masked matrix
products give every pair's moments over the dates both assets have, without a loop over pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from xlfrontier.core._estimation_args import FloatArray


@dataclass(frozen=True)
class _Moments:
    """Pairwise-complete (weighted) second moments of a return table.

    ``x`` is the table centred on each column's own (weighted) mean, zero where blank.
    ``cov_biased[i, j]`` divides by the weight sum of the pair's common rows, with the pair's
    own means; ``counts[i, j]`` is the number of common rows; ``w_sum`` and ``w2_sum`` are the
    sums of the weights and squared weights over them.
    """

    x: FloatArray
    gram: FloatArray
    cov_biased: FloatArray
    counts: FloatArray
    w_sum: FloatArray
    w2_sum: FloatArray
    incomplete: NDArray[np.intp]


def _moments(r: FloatArray, valid: NDArray[np.bool_], w: FloatArray | None) -> _Moments:
    """Vectorised pairwise-complete moments (masked matrix products, no loop over pairs).

    With ``M`` the 0/1 mask and ``X`` the centred, zero-filled returns: common-row counts are
    ``MᵀM``, sums ``Σ x_i`` over the rows shared with ``j`` are ``XᵀM`` and cross products are
    ``XᵀX``. Only columns with gaps need the masked products; complete columns share all rows.
    """
    t, n = r.shape
    inc = np.flatnonzero(~valid.all(axis=0))
    if inc.size == 0:
        means = r.mean(axis=0) if w is None else (w @ r) / w.sum()
        x = r - means
    else:
        z = np.where(valid, r, 0.0)
        sw = valid.sum(axis=0) if w is None else w @ valid
        means = (z.sum(axis=0) if w is None else w @ z) / sw
        x = np.where(valid, r - means, 0.0)
    # A column whose returns never change has exactly zero variance, not rounding noise.
    const = np.fmax.reduce(r, axis=0) == np.fmin.reduce(r, axis=0)  # fmax/fmin skip NaN
    if const.any():
        x[:, const] = 0.0
    xw = x if w is None else x * np.sqrt(w)[:, None]
    gram = xw.T @ xw  # XᵀWX; numpy uses a symmetric rank-k update for this product
    colsum = x.sum(axis=0) if w is None else w @ x
    counts = np.full((n, n), float(t))
    if w is None:
        w_sum = counts
        w2_sum = counts
    else:
        w_sum = np.full((n, n), float(w.sum()))
        w2_sum = np.full((n, n), float(w @ w))
    sx = np.repeat(colsum[:, None], n, axis=1)
    if inc.size:
        m_inc = valid[:, inc].astype(np.float64)
        # Counts of 0/1 products are exact in single precision below 2**24 rows (Excel has 2**20).
        m32 = valid.astype(np.float32)
        _set_cross(counts, inc, (m32.T @ m32[:, inc]).astype(np.float64))
        if w is not None:
            _set_cross(w_sum, inc, np.where(valid, w[:, None], 0.0).T @ m_inc)
            _set_cross(w2_sum, inc, np.where(valid, (w * w)[:, None], 0.0).T @ m_inc)
        sx[:, inc] = (x if w is None else x * w[:, None]).T @ m_inc
    with np.errstate(divide="ignore", invalid="ignore"):
        cov_b = gram / w_sum - sx * sx.T / (w_sum * w_sum)
    return _Moments(x, gram, cov_b, counts, w_sum, w2_sum, inc)


def _set_cross(full: FloatArray, idx: NDArray[np.intp], block: FloatArray) -> None:
    """Write the columns ``idx`` (and by symmetry the rows) of ``full`` from ``block``."""
    full[:, idx] = block
    full[idx, :] = block.T


def _ledoit_wolf(
    m: _Moments, valid: NDArray[np.bool_], target: str
) -> tuple[FloatArray, float, FloatArray]:
    """Ledoit-Wolf shrinkage of the (divide-by-T) sample covariance towards ``target``.

    Returns the shrunk matrix, the intensity δ and the target F. See :func:`estimate_cov`.
    """
    s = m.cov_biased
    n = s.shape[0]
    nc = m.counts
    x = m.x
    x2 = x * x
    # π_ij: mean squared deviation of y_i·y_j from s_ij over the common rows.
    pi = (x2.T @ x2) / nc - 2.0 * s * m.gram / nc + s * s
    pi_over_t = float((pi / nc).sum())  # Σ π_ij / T_ij  (= π̂ / T with complete data)
    var = np.diag(s).copy()
    if target == "ledoit_wolf_identity":
        f = np.diag(np.full(n, var.mean()))
        gamma = float(((s - f) ** 2).sum())
        delta = 0.0 if gamma <= 0 else max(0.0, min(pi_over_t, gamma)) / gamma
    else:
        sd = np.sqrt(np.maximum(var, 0.0))
        pos = sd > 0
        inv = np.where(pos, 1.0 / np.where(pos, sd, 1.0), 0.0)
        k = int(pos.sum())
        corr = s * inv[:, None] * inv[None, :]
        r_bar = float((corr.sum() - k) / (k * (k - 1))) if k >= 2 else 0.0
        f = r_bar * np.outer(sd, sd)
        np.fill_diagonal(f, var)
        # ϑ_ii,ij over the common rows: Σ y_i³y_j − s_ij Σ y_i² − s_ii Σ y_i y_j + T_ij s_ii s_ij
        sum_x2 = np.repeat(x2.sum(axis=0)[:, None], n, axis=1)
        if m.incomplete.size:
            sum_x2[:, m.incomplete] = x2.T @ valid[:, m.incomplete].astype(np.float64)
        theta = ((x2 * x).T @ x - s * sum_x2 - var[:, None] * m.gram) / nc + var[:, None] * s
        ratio = np.outer(inv, sd)  # (i, j) -> sqrt(s_jj / s_ii)
        off = theta * ratio / nc
        np.fill_diagonal(off, 0.0)
        rho = float((np.diag(pi) / np.diag(nc)).sum() + r_bar * off.sum())
        gamma = float(((f - s) ** 2).sum())
        delta = 0.0 if gamma <= 0 else min(1.0, max(0.0, (pi_over_t - rho) / gamma))
    return delta * f + (1.0 - delta) * s, delta, f
