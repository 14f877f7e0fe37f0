"""The template's "Frontier points" follow the worksheet function's limit (2 to MAX_POINTS)."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from xml.etree import ElementTree as ET

import pytest

from xlfrontier.excel.limits import MAX_POINTS, MIN_POINTS
from xlfrontier.exceptions import InputError
from xlfrontier.workbook.template import SAMPLE, build_workbook

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def points_validation(path):
    """(minimum, maximum, error text) of the data validation on the Inputs sheet's points cell."""
    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        sheets = [s.get("name") for s in book.findall("m:sheets/m:sheet", NS)]
        sheet = ET.fromstring(z.read(f"xl/worksheets/sheet{sheets.index('Inputs') + 1}.xml"))
    (rule,) = [
        v
        for v in sheet.findall("m:dataValidations/m:dataValidation", NS)
        if v.get("errorTitle") == "Frontier points"
    ]
    return (
        int(rule.findtext("m:formula1", namespaces=NS)),
        int(rule.findtext("m:formula2", namespaces=NS)),
        rule.get("error"),
    )


def test_the_limit_itself_builds_a_full_frontier_table(tmp_path):
    path = tmp_path / "max.xlsx"
    result = build_workbook(path, replace(SAMPLE, frontier_points=MAX_POINTS))
    assert result.errors == []
    assert points_validation(path) == (
        MIN_POINTS,
        MAX_POINTS,
        f"Enter a whole number from {MIN_POINTS} to {MAX_POINTS}.",
    )
    with zipfile.ZipFile(path) as z:
        names = ET.fromstring(z.read("xl/workbook.xml"))
    ref = next(
        d.text for d in names.iter(f"{{{NS['m']}}}definedName") if d.get("name") == "frontier_table"
    )
    last_row = int(ref.rsplit("$", 1)[1])
    first_row = int(ref.split("!")[1].split(":")[0].rsplit("$", 1)[1])
    assert last_row - first_row + 1 == MAX_POINTS + 1  # header + one row per point


@pytest.mark.parametrize("points", [MAX_POINTS + 1, MIN_POINTS - 1])
def test_outside_the_limit_gives_the_message(points, tmp_path):
    with pytest.raises(InputError, match=r"^frontier points must be between 2 and 1000$"):
        build_workbook(tmp_path / "bad.xlsx", replace(SAMPLE, frontier_points=points))
    assert not (tmp_path / "bad.xlsx").exists()
