"""General linear constraints: group/sector limits and exposure limits on the weights.

A :class:`LinearConstraints` holds ``m`` rows ``lo_j ≤ a_jᵀw ≤ hi_j`` (an equality when
``lo_j = hi_j``; ``±inf`` for no limit on that side). :func:`group_constraints` builds one from
per-asset group labels and a ``{group: (min, max)}`` mapping, the common case. Every optimiser
takes them through its ``constraints=`` keyword; the active-set engine handles each row as one
more row of its KKT matrix (inequalities through a slack variable with the row's limits as
bounds), so the frontier stays exact.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.core._messages import fmt_pct_pair
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
    *,
    n_assets: int | None = None,
) -> LinearConstraints:
    """Group (sector, region, asset-class) limits as :class:`LinearConstraints`.

    Parameters
    ----------
    labels : array_like of shape (n_assets,) or (n_assets, k)
        Each asset's group (``None``, ``""`` or NaN: in no group); ``k`` columns for ``k``
        classifications (region and sector, say): a group name is looked up in every column.
        Names are compared as text, stripped and case-insensitively, as Excel compares them
        (a whole number such as ``3.0`` reads as ``"3"``).
    limits : mapping
        ``{group: (min, max)}`` in weight units (0.25 for 25%); ``None`` or NaN for no limit on
        that side. Each group gives one row, named as its key is written, in the mapping's
        order.
    n_assets : int, optional
        The number of assets, when known: labels with another number of rows are refused here
        with a message about the labels (otherwise the optimiser's asset count check catches
        them).

    Returns
    -------
    LinearConstraints
        One row per group: 1 on the group's members, 0 elsewhere.

    Raises
    ------
    InputError
        A group of ``limits`` that no asset belongs to (the message lists the groups that
        exist), a group given twice, limits that are not numbers or not a ``(min, max)`` pair,
        a minimum above its maximum, labels that are not one row per asset.

    Examples
    --------
    >>> from xlfrontier import group_constraints
    >>> c = group_constraints(["Equity", "Equity", "Bonds"],
    ...                       {"Equity": (0.4, 0.7), "Bonds": (None, 0.5)})
    >>> c.A
    array([[1., 1., 0.],
           [0., 0., 1.]])
    >>> c.lower, c.upper
    (array([ 0.4, -inf]), array([0.7, 0.5]))
    """
    table = _label_table(labels, n_assets)
    keys = [[_label_key(x) for x in row] for row in table]
    shown: dict[str, str] = {}  # every group that exists, as first written, in label order
    for row_keys, row in zip(keys, table, strict=True):
        for key, x in zip(row_keys, row, strict=True):
            if key is not None and key not in shown:
                shown[key] = _label_text(x)
    n = len(table)
    rows, lows, highs, names = [], [], [], []
    seen: set[str] = set()
    for group, pair in limits.items():
        key = _label_key(group)
        if key is None:
            raise InputError("a group in the limits has no name: name every group", _ARG)
        name = _label_text(group)
        if key in seen:
            raise InputError(f"group '{name}' is given twice in the limits: give it once", _ARG)
        seen.add(key)
        if key not in shown:
            raise InputError(f"group '{name}' is not in the asset groups: {_listing(shown)}", _ARG)
        lo, hi = _group_limits(pair, name)
        rows.append([1.0 if key in asset_keys else 0.0 for asset_keys in keys])
        lows.append(lo)
        highs.append(hi)
        names.append(name)
    a = np.array(rows, dtype=np.float64).reshape(len(rows), n)
    return LinearConstraints(a, lows, highs, names=names)


def _label_table(labels: ArrayLike, n_assets: int | None) -> list[list[Any]]:
    """Labels as one list per asset (one entry per classification)."""
    arr = np.asarray(labels, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or any(isinstance(x, (list, tuple, np.ndarray)) for x in arr.flat):
        raise InputError(
            "group labels must be one label per asset, or a table with one row per asset and "
            "one column per classification",
            _ARG,
        )
    if n_assets is not None and arr.shape[0] != n_assets:
        hint = (
            ": the table looks transposed (one row per asset, one column per classification)"
            if arr.shape[1] == n_assets
            else ": give one row of labels per asset"
        )
        rows = f"{arr.shape[0]} row{'s' if arr.shape[0] != 1 else ''}"
        raise InputError(f"{rows} of group labels for {n_assets} assets{hint}", _ARG)
    return [list(row) for row in arr]


def _label_text(x: Any) -> str:
    """Return a label as text: a whole number without its ``.0`` (Excel gives numbers as floats)."""
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        x = int(x)
    return str(x).strip()


def _label_key(x: Any) -> str | None:
    """Return the text labels are compared by (stripped, case-folded); ``None``: no group."""
    if x is None or (isinstance(x, (float, np.floating)) and np.isnan(x)):
        return None
    return _label_text(x).casefold() or None


def _listing(shown: dict[str, str]) -> str:
    """List the groups that exist, for a message (a long list is cut short)."""
    if not shown:
        return "no asset has a group; check the group labels"
    names = list(shown.values())
    listed = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"the groups are {listed}; check the spelling"


def _group_limits(pair: Any, name: str) -> tuple[float, float]:
    """``(min, max)`` of one group as floats (``∓inf`` for no limit)."""
    if isinstance(pair, (str, bytes)) or not isinstance(pair, (Sequence, np.ndarray)):
        raise InputError(f"group '{name}': give its limits as a (min, max) pair", _ARG)
    if len(pair) != 2:
        raise InputError(f"group '{name}': give its limits as a (min, max) pair", _ARG)
    out = []
    for val, side, default in ((pair[0], "minimum", -np.inf), (pair[1], "maximum", np.inf)):
        if val is None:
            out.append(default)
            continue
        if isinstance(val, (bool, np.bool_)) or not isinstance(val, numbers.Real):
            raise InputError(
                f"group '{name}': its {side} must be a number (0.25 for 25%) or None for no limit",
                _ARG,
            )
        x = float(val)
        out.append(default if np.isnan(x) else x)
    lo, hi = out
    if lo > hi:
        shown_lo, shown_hi = fmt_pct_pair(lo, hi)
        raise InputError(
            f"group '{name}': minimum {shown_lo} is above maximum {shown_hi}; swap them", _ARG
        )
    return lo, hi
