"""Special values as COM hands them to a worksheet function: error values and "missing".

This is the one table of Excel's error values for the whole package: the Excel layer reads
them (:func:`excel_error_name`, used by :mod:`xlfrontier.excel._convert`) and the
recalculation without Excel writes them (:func:`com_error_code`, used by
:mod:`xlfrontier.workbook.recalc`), so that a UDF sees the same integer in both. The module
imports nothing (no numpy, no xlwings), so the template side can use it freely.

An Excel error value reaches a UDF as the HRESULT ``0x800A0000 + code`` read as a signed
32-bit integer, where ``code`` is the ``XlCVError`` number of Excel's object model (``#N/A``
is ``xlErrNA`` = 2042, so ``-2146826246``).
"""

from __future__ import annotations

__all__ = ["MISSING", "XL_ERRORS", "XL_ERROR_BASE", "com_error_code", "excel_error_name"]

# VBA passes this (DISP_E_PARAMNOTFOUND) for an Optional argument the formula left out.
MISSING = -2147352572
# 0x800A0000 as a signed 32-bit integer: add an XlCVError number to get the COM value.
XL_ERROR_BASE = -2146828288
# XlCVError number -> the text Excel shows in the cell.
XL_ERRORS: dict[int, str] = {
    2000: "#NULL!",
    2007: "#DIV/0!",
    2015: "#VALUE!",
    2023: "#REF!",
    2029: "#NAME?",
    2036: "#NUM!",
    2042: "#N/A",
    2043: "#GETTING_DATA",
    2045: "#SPILL!",
    2046: "#CONNECT!",
    2047: "#BLOCKED!",
    2048: "#UNKNOWN!",
    2049: "#FIELD!",
    2050: "#CALC!",
    2051: "#BUSY!",
}
_CODES = {text: code for code, text in XL_ERRORS.items()}
_VALUE = 2015


def excel_error_name(x: object) -> str | None:
    """Return ``"#N/A"`` etc. when ``x`` is an Excel error value as COM delivers it, else None.

    An error number Excel may add later (up to 2100) reads ``"#ERROR <number>"``.
    """
    if type(x) is int and XL_ERROR_BASE + 2000 <= x <= XL_ERROR_BASE + 2100:
        return XL_ERRORS.get(x - XL_ERROR_BASE, f"#ERROR {x - XL_ERROR_BASE}")
    return None


def com_error_code(text: str) -> int:
    """Return the integer COM hands a UDF for the error value shown as ``text`` in a cell.

    An error text this table does not know is passed as ``#VALUE!``.
    """
    return XL_ERROR_BASE + _CODES.get(text, _VALUE)
