"""Edit one cell of a saved workbook, as a user would, and read back its stored values."""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def set_cell(src: Path, dest: Path, sheet: str, cell: str, value: str | float) -> Path:
    """Copy ``src`` to ``dest`` with one cell of ``sheet`` replaced by a constant.

    A number is written as a value (a user typing), text as an inline string (a user choosing
    from a list). The cell must already exist in the sheet's XML.
    """
    z = zipfile.ZipFile(src)
    sheets = ET.fromstring(z.read("xl/workbook.xml")).findall("m:sheets/m:sheet", NS)
    names = [s.get("name") for s in sheets]
    part = f"xl/worksheets/sheet{names.index(sheet) + 1}.xml"
    if isinstance(value, str):
        new = rf'<c r="{cell}"\1 t="inlineStr"><is><t>{value}</t></is></c>'
    else:
        new = rf'<c r="{cell}"\1><v>{value!r}</v></c>'
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == part:
                body = data.decode()
                cell_re = re.compile(rf'<c r="{cell}"( s="\d+")?( t="\w+")?(/>|>.*?</c>)')
                assert cell_re.search(body), cell
                data = cell_re.sub(new, body, count=1).encode()
            out.writestr(zipfile.ZipInfo(info.filename, info.date_time), data)
    return dest


def values(path: Path) -> dict[tuple[str, str], object]:
    """Every stored (cached) cell value: ``{(sheet, "B7"): value}``."""
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=True)
    return {
        (ws.title, c.coordinate): c.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    }


def same(a: object, b: object) -> bool:
    """Equal, numbers to a relative 1e-9 (recalculation may reorder floating-point sums)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_same_values(a: dict, b: dict) -> None:
    """Two :func:`values` maps hold the same cells with the same values."""
    diffs = [(k, a.get(k), b.get(k)) for k in a.keys() | b.keys() if not same(a.get(k), b.get(k))]
    assert diffs == []
