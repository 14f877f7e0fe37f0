"""General linear constraints: group/sector limits and exposure limits on the weights.

A :class:`LinearConstraints` holds ``m`` rows ``lo_j ≤ a_jᵀw ≤ hi_j`` (an equality when
``lo_j = hi_j``; ``±inf`` for no limit on that side). :func:`group_constraints` builds one from
per-asset group labels and a ``{group: (min, max)}`` mapping, the common case. Every optimiser
takes them through its ``constraints=`` keyword; the active-set engine handles each row as one
more row of its KKT matrix (inequalities through a slack variable with the row's limits as
bounds), so the frontier stays exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.exceptions import InputError

__all__ = ["LinearConstraints", "group_constraints"]

_ARG = "constraints"


@dataclass(frozen=True)
class LinearConstraints:
    """Linear limits ``lower_j ≤ A[j] @ w ≤ upper_j`` on the portfolio weights.

    Parameters
    ----------
    A : array_like of shape (m, n_assets)
        One row of coefficients per constraint (a group's row has 1 on its members, 0 elsewhere;
        an exposure row holds each asset's beta, duration, score...).
    lower, upper : array_like of shape (m,)
        Limits of each row; ``-inf``/``inf`` (or NaN, or None) for no limit on that side; an
        equality when they are equal.
    names : sequence of str, optional
        One unique name per row (default ``"constraint 1"``, ``"constraint 2"``...).

    Raises
    ------
    InputError
        Shapes that do not match, missing or infinite coefficients, a lower limit above its
        upper limit, names that are not unique.

    Examples
    --------
    >>> import numpy as np
    >>> c = LinearConstraints([[1, 1, 0], [0.9, 1.2, 0.0]], [0.4, 0.95], [0.7, 1.05],
    ...                       names=["Equity", "Beta"])
    >>> c.m, c.n_assets, c.names
    (2, 3, ('Equity', 'Beta'))
    >>> c.values(np.array([0.3, 0.3, 0.4]))
    array([0.6 , 0.63])
    """

    A: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    names: tuple[str, ...] = field(default=())

    def __init__(
        self,
        A: ArrayLike,
        lower: ArrayLike | None = None,
        upper: ArrayLike | None = None,
        names: Sequence[str] | None = None,
    ) -> None:
        try:
            a = np.array(A, dtype=np.float64, ndmin=2)
        except (TypeError, ValueError) as err:
            raise InputError("constraint coefficients must be numbers", _ARG) from err
        if a.ndim != 2:
            raise InputError("constraint coefficients must be a table: one row per limit", _ARG)
        m = a.shape[0]
        lo = _limits(lower, m, "lower", -np.inf)
        hi = _limits(upper, m, "upper", np.inf)
        if names is None:
            labels = tuple(f"constraint {j + 1}" for j in range(m))
        else:
            labels = tuple(str(s).strip() for s in names)
            if len(labels) != m:
                raise InputError(
                    f"{len(labels)} constraint names for {m} constraint rows: give one name "
                    f"per row",
                    _ARG,
                )
        for j in range(m):
            name = labels[j] or f"constraint {j + 1}"
            if not np.isfinite(a[j]).all():
                raise InputError(
                    f"constraint '{name}': every coefficient must be a finite number", _ARG
                )
            if np.isposinf(lo[j]) or np.isneginf(hi[j]):
                raise InputError(
                    f"constraint '{name}': its minimum cannot be +infinity nor its maximum "
                    f"-infinity",
                    _ARG,
                )
            if lo[j] > hi[j]:
                raise InputError(
                    f"constraint '{name}': minimum {lo[j]:g} is above maximum {hi[j]:g}; swap them",
                    _ARG,
                )
        labels = tuple(s or f"constraint {j + 1}" for j, s in enumerate(labels))
        seen: set[str] = set()
        for s in labels:
            if s.casefold() in seen:
                raise InputError(
                    f"constraint name '{s}' is used twice: give each row its own name", _ARG
                )
            seen.add(s.casefold())
        a.setflags(write=False)
        lo.setflags(write=False)
        hi.setflags(write=False)
        object.__setattr__(self, "A", a)
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        object.__setattr__(self, "names", labels)

    @property
    def m(self) -> int:
        """Number of constraint rows."""
        return int(self.A.shape[0])

    @property
    def n_assets(self) -> int:
        """Number of assets (columns of ``A``)."""
        return int(self.A.shape[1])

    @property
    def is_equality(self) -> NDArray[np.bool_]:
        """Rows whose minimum equals their maximum, shape (m,)."""
        eq: NDArray[np.bool_] = self.lower == self.upper
        return eq

    def values(self, w: ArrayLike) -> NDArray[np.float64]:
        """Return ``A @ w``, each row's value for the weights (shape (n_assets,) -> (m,))."""
        out: NDArray[np.float64] = self.A @ np.asarray(w, dtype=np.float64)
        return out

    def check_assets(self, n: int) -> None:
        """Raise :class:`InputError` unless the rows have one coefficient per asset."""
        if self.n_assets != n:
            raise InputError(
                f"constraints have {self.n_assets} coefficients per row but there are {n} "
                f"assets: give one coefficient per asset",
                _ARG,
            )


def _limits(val: ArrayLike | None, m: int, side: str, default: float) -> NDArray[np.float64]:
    if val is None:
        return np.full(m, default)
    try:
        a = np.array(val, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise InputError(f"constraint {side} limits must be numbers", _ARG) from err
    if a.size == 1 and m != 1:
        a = np.full(m, a[0])
    if a.size != m:
        raise InputError(f"{a.size} {side} limits for {m} constraint rows: give one per row", _ARG)
    out: NDArray[np.float64] = np.where(np.isnan(a), default, a)
    return out


def group_constraints(
    labels: ArrayLike,
    limits: Mapping[Any, tuple[float | None, float | None]],
) -> LinearConstraints:
    """Group (sector, region, asset-class) limits as :class:`LinearConstraints`.

    Parameters
    ----------
    labels : array_like of shape (n_assets,) or (n_assets, k)
        Each asset's group (``None`` or ``""``: in no group); ``k`` columns for ``k``
        classifications (region and sector, say): a group name is looked up in every column.
    limits : mapping
        ``{group: (min, max)}`` in weight units (0.25 for 25%); ``None`` for no limit on that
        side. Each group gives one row, named after it, in the mapping's order.

    Returns
    -------
    LinearConstraints

    Raises
    ------
    InputError
        A group of ``limits`` that no asset belongs to, or limits that are not numbers.

    Examples
    --------
    >>> c = group_constraints(["Equity", "Equity", "Bonds"],
    ...                       {"Equity": (0.4, 0.7), "Bonds": (None, 0.5)})
    >>> c.A
    array([[1., 1., 0.],
           [0., 0., 1.]])
    >>> c.lower, c.upper
    (array([0.4, -inf]), array([0.7, 0.5]))
    """
    raise NotImplementedError  # built by the constraints helper (see its brief)
