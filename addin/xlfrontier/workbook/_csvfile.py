"""Read the CSV files of ``xlfrontier run --assets/--prices`` as Excel writes them anywhere.

Excel's "CSV" depends on the computer's regional settings: on many European locales it
separates columns with ``;`` and writes decimal commas (``0,07``), and "CSV (Comma delimited)"
is saved in the Windows code page (cp1252), not UTF-8. The rules here are deterministic, and
a file that could be read two ways is refused with what to change, never guessed:

- **Encoding**: a byte-order mark decides (UTF-8 or UTF-16, as Excel's "Unicode Text"
  writes); else UTF-8 when the bytes are valid UTF-8; else Windows-1252. Anything else (bytes
  undefined in Windows-1252, NUL characters) is refused.
- **Column separator**: the first ``,``, ``;`` or tab outside quotes in the header row (its
  first cell, ``asset`` or ``date``, contains none of them).
- **Decimal mark**: ``.`` in comma-separated files. In ``;``- or tab-separated files it is
  read from the numbers (all columns but the first): ``0,07`` or ``1.234,5`` mean a decimal
  comma, ``0.07`` or ``1,234.5`` a decimal point. Both kinds in one file are refused; so is a
  file whose only clue is a number such as ``1.234`` (1.234 or 1234?).
- **Thousands separators** are accepted in their exact form only: groups of three digits
  after a first group of one to three (``1,234,567.5``; ``1.234,5``; ``1 234,5`` with a space
  or no-break space; ``1'234.5``).
- A trailing ``%`` divides by 100 (``7%``, ``7,5 %``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from xlfrontier.exceptions import InputError

__all__ = ["CsvTable", "parse_number", "read_csv_table"]

#: What to do in Excel to get a file every rule above reads.
SAVE_AS = "in Excel, save it as 'CSV UTF-8 (Comma delimited) (*.csv)'"

_SEPARATORS = (",", ";", "\t")
_GROUP_SPACES = " \u00a0\u202f'"  # space, no-break space, narrow no-break space, apostrophe
_SEPARATOR_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}


@dataclass(frozen=True)
class CsvTable:
    """The non-blank rows of a CSV file and the dialect they were read with.

    Attributes
    ----------
    rows : list of list of str
        Non-blank rows, header first, as text cells.
    encoding : str
        ``"utf-8"``, ``"utf-16"`` or ``"cp1252"``.
    delimiter : str
        ``","``, ``";"`` or a tab.
    decimal : str
        ``"."`` or ``","``.
    name : str
        The file's name, for messages.
    argument : str
        The option the file came from (``"assets"``, ``"prices"``), for messages.
    """

    rows: list[list[str]]
    encoding: str
    delimiter: str
    decimal: str
    name: str = ""
    argument: str = ""

    def error(self, message: str, line: int | None = None) -> InputError:
        """Return the error for ``message`` about this file (or its row ``line``, 1-based)."""
        where = self.name if line is None else f"{self.name} row {line}"
        return InputError(f"{where}: {message}", self.argument)

    def require_rows(self, count: int, what: str) -> None:
        """Refuse a file with fewer than ``count`` rows below its header.

        Raises
        ------
        InputError
            "need a header row and at least ``what``".
        """
        if len(self.rows) < 1 + count:
            raise self.error(f"need a header row and at least {what}")

    def cell_number(
        self, text: str, line: int, column: str, *, blank_ok: bool = False
    ) -> float | None:
        """Read the number cell ``text`` of row ``line`` in ``column`` (``None`` when blank).

        Raises
        ------
        InputError
            When the cell is blank (unless ``blank_ok``) or not a number in this file's
            notation; the message names the row and column.
        """
        text = text.strip()
        if not text:
            if blank_ok:
                return None
            raise self.error(f"{column} is blank", line)
        try:
            return self.number(text)
        except ValueError as err:
            raise self.error(f"{column} {text!r} is not a number{self.hint(text)}", line) from err

    def number(self, text: str) -> float:
        """Parse a number cell with this file's decimal mark (see :func:`parse_number`)."""
        return parse_number(text, self.decimal)

    def hint(self, text: str) -> str:
        """Return why ``text`` may not read as a number here (``""`` when no clue), for messages.

        A number written with the other decimal mark (``0,5`` in a file read with decimal
        points) gets the rule that chose this file's mark.
        """
        other = "," if self.decimal == "." else "."
        if other not in text or not any(ch.isdigit() for ch in text):
            return ""
        why = (
            f"columns are separated by {separator_name(self.delimiter)}"
            if self.delimiter == ","
            else "its other numbers use it"
        )
        return f": this file's decimal mark is '{self.decimal}' ({why})"


def _grouped(mark: str) -> re.Pattern[str]:
    """Match a number written with thousands separator ``mark`` (and optional decimals)."""
    other = "," if mark == "." else "."
    return re.compile(
        rf"[+-]?[1-9]\d{{0,2}}(?:{re.escape(mark)}\d{{3}})+(?:{re.escape(other)}\d*)?"
    )


_GROUPED = {mark: _grouped(mark) for mark in ".,"}
_EXPONENT = re.compile(r"[eE][+-]?\d+$")


def parse_number(text: str, decimal: str) -> float:
    """Parse ``text`` as a number written with decimal mark ``decimal``.

    Parameters
    ----------
    text : str
        A cell: ``0.07``, ``7%``, ``1,234.5`` (decimal ``.``); ``0,07``, ``7,5 %``,
        ``1.234,5``, ``1 234,5`` (decimal ``,``); exponents (``1e-3``) are accepted.
    decimal : {".", ","}

    Returns
    -------
    float
        The value (a percentage divided by 100); ``nan``/``inf`` as :func:`float` reads them.

    Raises
    ------
    ValueError
        When ``text`` is not a number in that notation.
    """
    t = text.strip()
    scale = 1.0
    if t.endswith("%"):
        t, scale = t[:-1].rstrip(), 0.01
    other = "," if decimal == "." else "."
    exponent = _EXPONENT.search(t)
    tail = exponent.group(0) if exponent else ""
    mantissa = t[: len(t) - len(tail)]
    group = rf"[{re.escape(other)}{_GROUP_SPACES}]"
    m = re.fullmatch(
        rf"([+-]?)([1-9]\d{{0,2}})((?:({group})\d{{3}})(?:\4\d{{3}})*)({re.escape(decimal)}\d*)?",
        mantissa,
    )
    if m:
        mantissa = m.group(1) + m.group(2) + re.sub(r"\D", "", m.group(3)) + (m.group(5) or "")
    if other in mantissa or "_" in mantissa:  # float() would read 1_000 as 1000
        raise ValueError(text)
    return float(mantissa.replace(decimal, ".") + tail) * scale


def _decode(data: bytes, name: str, argument: str) -> tuple[str, str]:
    """Return ``(text, encoding)`` by the rules of the module docstring."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise InputError(f"{name} is an Excel workbook, not a CSV file: {SAVE_AS}", argument)
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            problem = f"byte 0x{data[err.start]:02X} at position {err.start}"
            continue
        if "\x00" in text:
            problem = "it holds NUL characters"
            continue
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise InputError(
        f"cannot read {name}: it is neither UTF-8 nor Windows-1252 (ANSI) text ({problem}): "
        f"{SAVE_AS}",
        argument,
    )


def _delimiter(line: str) -> str:
    """Return the first separator outside quotes in ``line`` (``,`` when there is none)."""
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in _SEPARATORS:
            return ch
    return ","


def _decimal_clue(text: str) -> str | None:
    """``"."``, ``","``, ``"?"`` (``1.234``: either) or None (no decimal mark) for a cell."""
    t = re.sub(f"[{_GROUP_SPACES}]", "", text.strip().rstrip("%"))
    t = _EXPONENT.sub("", t)
    has_dot, has_comma = "." in t, "," in t
    if has_dot and has_comma:
        return "," if t.rfind(",") > t.rfind(".") else "."
    if not (has_dot or has_comma):
        return None
    mark = "." if has_dot else ","
    other = "," if mark == "." else "."
    if not re.fullmatch(r"[+-]?\d*[.,]?\d*(?:[.,]\d*)*", t):
        return None  # not a number at all: the reader says so
    if _GROUPED[mark].fullmatch(t):
        # 1.234.567 can only be grouping; 1.234 is grouping or a decimal.
        return other if t.count(mark) > 1 else "?"
    return mark if t.count(mark) == 1 else None


def _decimal(rows: list[list[str]], name: str, argument: str, first_numeric: int) -> str:
    """Return the decimal mark of a ``;``- or tab-separated file (see the module docstring)."""
    seen: dict[str, tuple[int, str]] = {}
    for r, row in enumerate(rows[1:], start=2):
        for cell in row[first_numeric:]:
            clue = _decimal_clue(cell)
            if clue is not None and clue not in seen:
                seen[clue] = (r, cell.strip())
    if "." in seen and "," in seen:
        (rc, comma), (rd, point) = seen[","], seen["."]
        raise InputError(
            f"{name} mixes decimal marks: {comma!r} (row {rc}) has a decimal comma, {point!r} "
            f"(row {rd}) a decimal point: use one throughout, or {SAVE_AS}",
            argument,
        )
    if "," in seen or "." in seen:
        return "," if "," in seen else "."
    if "?" in seen:
        at, cell = seen["?"]
        plain = re.sub(r"[.,]", "", cell)
        raise InputError(
            f"{name} row {at}: {cell!r} could be {cell.replace(',', '.')} or {plain} and no "
            f"other number shows the decimal mark: write {plain} without a thousands "
            f"separator if that is meant, or {SAVE_AS}",
            argument,
        )
    return ","  # only whole numbers: either mark reads them the same


def read_csv_table(path: str | Path, argument: str, first_numeric: int = 1) -> CsvTable:
    """Read a CSV file written by Excel in any of the dialects of the module docstring.

    Parameters
    ----------
    path : str or Path
    argument : str
        The option the file came from (``"assets"``, ``"prices"``), for the error.
    first_numeric : int
        Columns before this one (names, dates) are text and give no clue to the decimal mark.

    Returns
    -------
    CsvTable

    Raises
    ------
    InputError
        When the file cannot be read, is a workbook, is not UTF-8/UTF-16/Windows-1252 text,
        mixes decimal marks, or leaves the decimal mark open; the message says what to change.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}", argument) from err
    text, encoding = _decode(data, path.name, argument)
    header = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = _delimiter(header)
    try:
        rows = [
            row
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            if any(cell.strip() for cell in row)
        ]
    except csv.Error as err:
        raise InputError(
            f"{path.name} is not a valid CSV file ({err}): check the quotes, or {SAVE_AS}",
            argument,
        ) from err
    decimal = "." if delimiter == "," else _decimal(rows, path.name, argument, first_numeric)
    return CsvTable(rows, encoding, delimiter, decimal, path.name, argument)


def separator_name(delimiter: str) -> str:
    """Return ``"commas"``, ``"semicolons"`` or ``"tabs"`` (for messages)."""
    return _SEPARATOR_NAMES.get(delimiter, repr(delimiter))
