"""Turn every exception raised inside a worksheet function into one short cell text.

Excel shows whatever a UDF returns; an exception that escapes reaches the cell as pywin32's
"Unexpected Python Error" followed by a full traceback (or as ``#VALUE!`` once it is longer than
255 characters). :func:`excel_errors` therefore wraps every UDF and returns instead one line of
at most 255 characters that starts with a fixed tag, so that a formula or a conditional format
can recognise it (``=LEFT(A1, 1) = "#"``):

==================  ===========================================================================
``#INPUT!``         an argument holds data that cannot be used (blank or text cell, wrong shape,
                    covariance not symmetric or not positive semi-definite, percent typos...)
``#INFEASIBLE!``    the inputs are valid but no portfolio meets them (bounds that cannot sum to
                    one, a target outside the attainable range, nothing beats the risk-free rate)
``#UNBOUNDED!``     the optimum is infinite (e.g. unlimited short selling of riskless spreads)
``#BUG!``           anything else: an internal error to report; never a traceback
==================  ===========================================================================

After the tag comes the argument at fault (as named in Excel) and what to do about it, e.g.
``#INFEASIBLE! r: target return 35% is above the highest attainable 18.2% (feasible
5.9%–18.2%)``. The texts are plain strings, so ``ISERROR`` is FALSE on them but any arithmetic
on the cell gives ``#VALUE!``, which propagates the failure through dependent formulas.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from xlfrontier.exceptions import (
    InfeasibleError,
    InputError,
    NoPositiveExcessReturnError,
    UnboundedError,
    XlfrontierError,
)

__all__ = ["MAX_TEXT", "error_text", "excel_errors"]

_F = TypeVar("_F", bound=Callable[..., Any])

logger = logging.getLogger("xlfrontier.udfs")

# Excel displays longer UDF strings as #VALUE! (xlwings issue #456).
MAX_TEXT = 255
ISSUES_URL = "github.com/xlfrontier/xlfrontier/issues"

# The core names some arguments in Python terms; the cell text uses the Excel names.
_EXCEL_NAMES = {
    "target_return": "r",
    "risk_free_rate": "rf",
    "weights": "w",
    "target_volatility": "vol",
    "data": "prices_or_returns",
}


def _tag(exc: BaseException) -> str:
    if isinstance(exc, (InfeasibleError, NoPositiveExcessReturnError)):
        return "#INFEASIBLE!"
    if isinstance(exc, InputError):
        return "#INPUT!"
    if isinstance(exc, UnboundedError):
        return "#UNBOUNDED!"
    return "#BUG!"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "…"


def _known_error_text(exc: InputError | UnboundedError) -> str:
    message = _one_line(str(exc))
    argument = getattr(exc, "argument", None)
    if argument:
        excel_name = _EXCEL_NAMES.get(argument, argument)
        if message.startswith(argument + " "):
            message = excel_name + message[len(argument) :]
        elif not message.startswith(excel_name + " "):
            message = f"{excel_name}: {message}"
    return f"{_tag(exc)} {message}"


def error_text(exc: BaseException, function: str = "") -> str:
    """Return the cell text for ``exc`` (one line, at most :data:`MAX_TEXT` characters).

    Parameters
    ----------
    exc : BaseException
        The exception raised by a worksheet function.
    function : str
        Excel name of the function, used in the text of unexpected errors.

    Returns
    -------
    str
        ``"#TAG! argument: what is wrong and how to fix it"``.
    """
    if isinstance(exc, (InputError, UnboundedError)):
        return _shorten(_known_error_text(exc))
    if isinstance(exc, MemoryError):
        return _shorten(
            "#INPUT! not enough memory for ranges this large: use fewer assets, fewer points "
            "or a shorter history"
        )
    kind = "solver failure" if isinstance(exc, XlfrontierError) else type(exc).__name__
    detail = _one_line(str(exc))[:80]
    where = f" in {function}" if function else ""
    text = f"#BUG! internal error{where} ({kind}: {detail}); please report it with your inputs"
    text = f"{text} at {ISSUES_URL}"
    if len(text) > MAX_TEXT:
        text = f"#BUG! internal error{where} ({kind}); please report it at {ISSUES_URL}"
    return _shorten(text)


def excel_errors(func: _F) -> _F:
    """Decorate a worksheet function so that it returns cell text instead of raising.

    Put it *below* the xlwings decorators: :func:`functools.wraps` keeps the name and the
    signature (via ``__wrapped__``) that xlwings reads to declare the function to Excel, and
    the docstring, joined into one line because Excel shows it as the function's description.
    Expected failures (:class:`~xlfrontier.exceptions.InputError` and
    :class:`~xlfrontier.exceptions.UnboundedError` with their subclasses) become their own
    message; a call with the wrong arguments (from Python) says so; anything else is logged
    with its traceback and becomes a ``#BUG!`` text.
    """
    name = func.__name__
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InputError, UnboundedError) as exc:
            return error_text(exc, name)
        except Exception as exc:
            if isinstance(exc, TypeError):
                try:  # a call with the wrong arguments (from Python) is not a bug of ours
                    signature.bind(*args, **kwargs)
                except TypeError as call_error:
                    return _shorten(
                        f"#INPUT! {name}: {_one_line(str(call_error))}; the "
                        f"arguments are {', '.join(signature.parameters)}"
                    )
            logger.exception("unexpected error in %s", name)
            return error_text(exc, name)

    # The docstring is the function-wizard description: one line (summary and details joined).
    wrapper.__doc__ = " ".join((func.__doc__ or "").split()) or None
    return wrapper  # type: ignore[return-value]
