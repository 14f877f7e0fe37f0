"""Formula text helpers shared by the template generator and the recalculation."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["sub_outside_strings"]

# A "text" literal of an Excel formula ("" is an escaped quote inside it).
_STRING_LITERAL = re.compile(r'("(?:[^"]|"")*")')


def sub_outside_strings(
    pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str], formula: str
) -> str:
    """``pattern.sub(repl, formula)`` everywhere but inside the formula's text literals.

    Parameters
    ----------
    pattern : re.Pattern
        What to replace.
    repl : callable
        Called with each match outside a text literal; returns its replacement.
    formula : str
        The formula text.

    Returns
    -------
    str
    """
    pieces = _STRING_LITERAL.split(formula)  # odd pieces are the literals, left alone
    return "".join(p if i % 2 else pattern.sub(repl, p) for i, p in enumerate(pieces))
