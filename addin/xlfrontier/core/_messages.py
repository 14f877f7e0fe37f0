"""Message builders for the errors the core raises: percentages and out-of-range targets.

Every text is written for a spreadsheet cell (see :mod:`xlfrontier.exceptions`).
"""

from __future__ import annotations

from xlfrontier.core._validation import fmt_pct, fmt_pct_pair
from xlfrontier.exceptions import TargetOutOfRangeError

__all__ = ["fmt_pct", "fmt_pct_pair", "return_out_of_range", "volatility_out_of_range"]


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
