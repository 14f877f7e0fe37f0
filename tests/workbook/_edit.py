"""Edit one cell of a saved workbook, as a user would, for recalculation tests."""

from __future__ import annotations

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
