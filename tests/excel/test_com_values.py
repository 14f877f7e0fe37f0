"""The one table of Excel error values, pinned against an independent derivation.

Excel hands a UDF an error value as the HRESULT ``0x800A0000 + n`` read as a signed 32-bit
integer, ``n`` being the ``XlCVError`` number of Excel's object model. The numbers below are
copied from the object model (Microsoft's ``XlCVError`` page lists 2000..2045; the newer ones,
2043 and 2046..2050, are from the Excel type library), not from the code under test.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from xlfrontier.excel import _com
from xlfrontier.excel import _convert as cv

XL_CV_ERROR = {
    "xlErrNull": (2000, "#NULL!"),
    "xlErrDiv0": (2007, "#DIV/0!"),
    "xlErrValue": (2015, "#VALUE!"),
    "xlErrRef": (2023, "#REF!"),
    "xlErrName": (2029, "#NAME?"),
    "xlErrNum": (2036, "#NUM!"),
    "xlErrNA": (2042, "#N/A"),
    "xlErrGettingData": (2043, "#GETTING_DATA"),
    "xlErrSpill": (2045, "#SPILL!"),
    "xlErrConnect": (2046, "#CONNECT!"),
    "xlErrBlocked": (2047, "#BLOCKED!"),
    "xlErrUnknown": (2048, "#UNKNOWN!"),
    "xlErrField": (2049, "#FIELD!"),
    "xlErrCalc": (2050, "#CALC!"),
}
# Kept from before (not in the type library consulted): #BUSY! as 2051.
UNCONFIRMED = {2051: "#BUSY!"}


def com_value(code: int) -> int:
    """0x800A0000 + code as a signed 32-bit integer, by reinterpreting the bytes."""
    return struct.unpack("<i", struct.pack("<I", 0x800A0000 + code))[0]


def test_the_derivation_matches_a_known_value():
    assert com_value(2042) == -2146826246  # #N/A as pywin32 delivers it


@pytest.mark.parametrize(("name", "code_text"), sorted(XL_CV_ERROR.items()))
def test_every_error_value_reads_as_its_cell_text(name, code_text):
    code, text = code_text
    assert _com.XL_ERRORS[code] == text, name
    assert _com.excel_error_name(com_value(code)) == text
    assert cv.excel_error_name(com_value(code)) == text  # what the converters use


@pytest.mark.parametrize(("name", "code_text"), sorted(XL_CV_ERROR.items()))
def test_every_cell_text_gives_the_value_excel_hands_over(name, code_text):
    code, text = code_text
    assert _com.com_error_code(text) == com_value(code), name


def test_the_table_holds_exactly_these_values():
    expected = {code: text for code, text in XL_CV_ERROR.values()} | UNCONFIRMED
    assert expected == _com.XL_ERRORS
    assert com_value(0) == _com.XL_ERROR_BASE


def test_unknown_texts_and_numbers():
    assert _com.com_error_code("#WHAT?") == com_value(2015)  # passed on as #VALUE!
    assert _com.excel_error_name(com_value(2099)) == "#ERROR 2099"  # a later error value
    assert _com.excel_error_name(com_value(1999)) is None
    assert _com.excel_error_name(com_value(2101)) is None
    assert _com.excel_error_name(float(com_value(2042))) is None  # a number, not an error
    assert _com.excel_error_name(_com.MISSING) is None
    assert struct.unpack("<i", struct.pack("<I", 0x80020004))[0] == _com.MISSING


def test_recalc_hands_formulas_errors_over_as_excel_does():
    """Each error the `formulas` package has reaches a UDF as the integer Excel would pass."""
    from formulas.tokens import operand

    from xlfrontier.workbook.recalc import _excel_arg

    errors = [v for v in vars(operand).values() if isinstance(v, operand.XlError)]
    assert {str(e) for e in errors} >= {"#N/A", "#DIV/0!", "#VALUE!", "#GETTING_DATA"}
    by_text = {text: code for code, text in XL_CV_ERROR.values()}
    for err in errors:
        assert _excel_arg(err) == com_value(by_text[str(err)]), str(err)
    cells = np.array([[errors[0], 1.0]], dtype=object)
    assert _excel_arg(cells)[0][0] == com_value(by_text[str(errors[0])])


def test_the_table_is_written_once():
    package = Path(_com.__file__).resolve().parents[1]
    holders = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if "-2146828288" in p.read_text(encoding="utf-8")
        or '"#DIV/0!": 2007' in p.read_text(encoding="utf-8")
    ]
    assert holders == ["excel/_com.py"]
