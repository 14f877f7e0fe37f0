"""Message builders: numbers as percentages in messages, and the optimisers' error texts.

Every text is written for a spreadsheet cell (see :mod:`xlfrontier.exceptions`): short, in
finance words, saying what is wrong and how to fix it. Two numbers compared in one message are
shown with :func:`fmt_pct_pair`, so that they never look equal when they differ.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from xlfrontier.exceptions import (
    NoPositiveExcessReturnError,
    TargetOutOfRangeError,
    UnboundedError,
)

__all__ = [
    "fmt_pct",
    "fmt_pct_pair",
    "no_excess_return",
    "return_out_of_range",
    "sharpe_not_attained",
    "volatility_out_of_range",
]


def fmt_pct(x: float) -> str:
    """Format a decimal as a percentage for messages (``0.1825 -> '18.25%'``)."""
    if not np.isfinite(x):
        return "unbounded" if x > 0 else "-unbounded"
    if abs(x) >= 1e12:  # no 300-digit numbers in a cell
        return f"{_significant(Decimal(repr(float(x))).scaleb(2), 4)}%"
    x = round(float(x), 6) + 0.0  # no "-0%" for tiny negatives
    s = f"{100 * x:.2f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".") if abs(x) >= 1e-4 else s
    if float(s) == 0.0:
        s = s.lstrip("-")
    return f"{s}%"


def fmt_pct_pair(a: float, b: float) -> tuple[str, str]:
    """Format two decimals compared in one message as percentages that tell them apart.

    Starts from :func:`fmt_pct`'s two decimals and adds digits until the shown numbers order
    as the numbers do (``a > b`` shows a larger ``a``), so that a message never reads
    *20% is above the highest attainable 20%*. Equal numbers show equally.

    Parameters
    ----------
    a, b : float
        The two numbers (decimals: 0.2 for 20%); infinities show as ``unbounded``.

    Returns
    -------
    (str, str)
        Both formatted, e.g. ``fmt_pct_pair(0.2000001, 0.2) == ("20.00001%", "20%")``.
    """
    a, b = float(a), float(b)
    if not (np.isfinite(a) and np.isfinite(b)) or a == b:
        return fmt_pct(a), fmt_pct(b)
    fa, fb = fmt_pct(a), fmt_pct(b)
    if (float(fa[:-1]) > float(fb[:-1])) == (a > b) and fa != fb:
        return fa, fb
    # In decimal from the shortest repr (exact: 100·x in binary may round two floats together),
    # with more and more significant digits (17 tell any two floats apart).
    da, db = (Decimal(repr(x)).scaleb(2) for x in (a, b))
    for sig in range(3, 18):
        sa, sb = _significant(da, sig), _significant(db, sig)
        if (Decimal(sa) > Decimal(sb)) == (a > b) and Decimal(sa) != Decimal(sb):
            break
    return f"{sa}%", f"{sb}%"


def _significant(d: Decimal, sig: int) -> str:
    """``d`` rounded to ``sig`` significant digits: plain, or ``1e-298`` far from 1."""
    if d == 0:
        return "0"
    r = d.quantize(Decimal(1).scaleb(d.adjusted() - sig + 1))
    if not -7 <= r.adjusted() < 16:
        mant = f"{r.scaleb(-r.adjusted()):f}"
        mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
        return f"{mant}e{r.adjusted():+d}"
    s = f"{r:f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def no_excess_return(rf: float, r_max: float) -> NoPositiveExcessReturnError:
    """Build the error for a maximum Sharpe ratio when nothing earns more than ``rf``."""
    shown_rf, shown_max = fmt_pct_pair(rf, r_max)
    return NoPositiveExcessReturnError(
        f"no portfolio earns more than the risk-free rate {shown_rf} (highest attainable "
        f"return {shown_max}): maximum Sharpe is undefined; lower rf",
        "risk_free_rate",
    )


def sharpe_not_attained(rf: float) -> UnboundedError:
    """Build the error for a Sharpe ratio that keeps rising with unlimited short selling."""
    return UnboundedError(
        f"the maximum Sharpe ratio is not attained: with unlimited short selling and "
        f"rf {fmt_pct(rf)} at or above the minimum-variance return, the ratio keeps "
        f"rising; lower rf or bound the weights"
    )


def return_out_of_range(r: float, lo: float, hi: float, efficient: bool) -> TargetOutOfRangeError:
    """Build the error for a target return ``r`` outside ``[lo, hi]``.

    ``efficient`` says that ``lo`` is the minimum-variance portfolio's return (the frontier's
    lowest) rather than the lowest attainable one.
    """
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


def volatility_out_of_range(s: float, lo: float, hi: float) -> TargetOutOfRangeError:
    """Build the error for a target volatility ``s`` outside ``[lo, hi]`` (efficient ones)."""
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
