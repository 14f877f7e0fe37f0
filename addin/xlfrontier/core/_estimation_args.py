"""Argument parsing shared by the estimation functions (private).

Option values come from Python callers and, through the worksheet functions, from cells: a
method name in any case and spelling, a positive number, a TRUE/FALSE flag, a table of numbers
with blanks as NaN. Every refusal is an :class:`~xlfrontier.exceptions.InputError` naming the
argument.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xlfrontier.exceptions import InputError

FloatArray = NDArray[np.float64]

DEFAULT_PERIODS_PER_YEAR = 252.0
# PyPortfolioOpt's default, so that numbers can be compared with the best-known Python peer.
# Half-life = ln 2 / -ln(1 - 2/(span + 1)) ≈ 173 periods.
DEFAULT_SPAN = 500.0
# A volatility of 200% or more reads as a percentage typed as a whole number (20 for 20%): no
# usual annualised volatility is that high. check_inputs warns when the median volatility of a
# covariance reaches it; COV_FROM_CORR passes it to cov_from_corr as max_volatility.
VOLATILITY_UNITS_LIMIT = 2.0


def _choose(value: object, options: dict[str, str], name: str, default: str) -> str:
    """Return the canonical method name for ``value`` (``None`` or blank -> ``default``)."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise InputError(f'{name} must be text such as "{default}"', name)
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if not key:
        return default
    if key not in options:
        names = ", ".join(dict.fromkeys(options.values()))
        raise InputError(f'{name} "{value.strip()[:40]}" is not known: use one of {names}', name)
    return options[key]


def _positive_number(value: object, name: str, default: float, hint: str) -> float:
    if value is None:
        return default
    if isinstance(value, str) or not np.isscalar(value):
        raise InputError(f"{name} must be a single positive number{hint}", name)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a single positive number{hint}", name) from err
    if not (math.isfinite(x) and x > 0):
        raise InputError(f"{name} must be a positive number{hint}, got {x:g}", name)
    return x


def _periods_per_year(value: object) -> float:
    return _positive_number(
        value,
        "periods_per_year",
        DEFAULT_PERIODS_PER_YEAR,
        " (252 for daily, 52 for weekly, 12 for monthly data)",
    )


def _span(value: object, for_cov: bool) -> float:
    s = _positive_number(value, "span", DEFAULT_SPAN, " of periods, e.g. 60 or 500")
    if s < 1 or (for_cov and s == 1):
        rule = "more than 1 for a covariance" if for_cov else "at least 1"
        raise InputError(f"span must be {rule} (it is {s:g}); 500 is a common choice", "span")
    return s


def _flag(value: object, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    raise InputError(f"{name} must be TRUE or FALSE", name)


def _as_table(data: ArrayLike, word: str, arg: str) -> FloatArray:
    """Return ``data`` as a (T, n) float array; NaN (blank) allowed, infinities not."""
    try:
        a = np.array(data, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"{word} must contain numbers only (blank cells are allowed)", arg
        ) from err
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise InputError(f"{word} must be a table: dates down the rows, assets across", arg)
    if a.size == 0:
        raise InputError(f"{word} is empty", arg)
    inf = np.isinf(a)
    if inf.any():
        i, j = np.argwhere(inf)[0]
        raise InputError(f"{word} has an infinite value at row {i + 1}, column {j + 1}", arg)
    return a
