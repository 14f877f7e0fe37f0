"""One-cell arguments: every converter unwraps a 1 x 1 range the same way (``_single_cell``).

A one-cell argument may arrive as a scalar (a cell), as a 1 x 1 range (a tuple of one row),
as a Python list or a numpy array; all mean the same value. A larger range is refused with the
converter's own message, which names the argument.
"""

from __future__ import annotations

import numpy as np
import pytest

from xlfrontier.excel import _convert as cv
from xlfrontier.exceptions import InputError


def one_cell_forms(x):
    return [x, ((x,),), [[x]], [x], np.array([[x]], dtype=object), np.array(x, dtype=object)]


CONVERTERS = {
    "number": (lambda v: cv.as_number(v, "rf", 0.0, what="the risk-free rate"), 0.03, 0.03),
    "integer": (lambda v: cv.as_integer(v, "points", 20, 2, 1000), 7.0, 7),
    "option": (lambda v: cv.as_option(v, "method"), "log", "log"),
    "flag": (lambda v: cv.as_flag(v, "is_returns"), True, True),
}
# What a 2 x 1 range gives, per converter.
REFUSALS = {
    "number": r"^rf must be a single cell \(the risk-free rate\), got a range of 2 x 1 cells$",
    "integer": r"^points must be a single cell \(a whole number\), got a range of 2 x 1 cells$",
    "option": r"^method must be a single cell of text$",
    "flag": r"^is_returns must be a single cell, TRUE or FALSE$",
}
DEFAULTS = {"number": 0.0, "integer": 20, "option": None, "flag": None}


@pytest.mark.parametrize("kind", sorted(CONVERTERS))
def test_every_one_cell_form_gives_the_value(kind):
    convert, cell, value = CONVERTERS[kind]
    for form in one_cell_forms(cell):
        assert convert(form) == value, (kind, form)


@pytest.mark.parametrize("kind", sorted(CONVERTERS))
def test_a_blank_one_cell_range_gives_the_default(kind):
    convert, _, _ = CONVERTERS[kind]
    for form in (None, ((None,),), [[""]], ((float("nan"),),)):
        assert convert(form) == DEFAULTS[kind], (kind, form)


@pytest.mark.parametrize("kind", sorted(CONVERTERS))
@pytest.mark.parametrize("shape", ["column", "row", "block"])
def test_a_larger_range_is_refused_by_name(kind, shape):
    convert, cell, _ = CONVERTERS[kind]
    ranges = {
        "column": ((cell,), (cell,)),
        "row": ((cell, cell),),
        "block": ((cell, cell), (cell, cell)),
    }
    pattern = REFUSALS[kind]
    if kind in ("number", "integer"):
        size = {"column": "2 x 1", "row": "1 x 2", "block": "2 x 2"}[shape]
        pattern = pattern.replace("2 x 1", size)
    with pytest.raises(InputError, match=pattern) as err:
        convert(ranges[shape])
    assert err.value.argument in {"rf", "points", "method", "is_returns"}


@pytest.mark.parametrize("kind", sorted(CONVERTERS))
def test_empty_and_ragged_ranges(kind):
    convert, cell, _ = CONVERTERS[kind]
    name = {"number": "rf", "integer": "points", "option": "method", "flag": "is_returns"}[kind]
    with pytest.raises(InputError, match=rf"^{name} is empty: select a range with numbers$"):
        convert(())
    with pytest.raises(InputError, match=rf"^{name} must be a rectangular range$"):
        convert(((cell,), (cell, cell)))
