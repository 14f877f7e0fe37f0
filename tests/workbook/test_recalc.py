"""Recalculating a workbook without Excel.

Two layers: an independent evaluation of the template's formulas with the ``formulas`` package
and thin wrappers written here around :mod:`xlfrontier.udfs` (it must reproduce every stored
value), then :func:`recalc_workbook` itself: round trip, changed inputs (including spill ranges
that change size), blocked spills, in-place writing and bad files.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _edit import assert_same_values, set_cell, values

pytest.importorskip("formulas")
openpyxl = pytest.importorskip("openpyxl")

from xlfrontier import udfs  # noqa: E402
from xlfrontier.core import efficient_frontier, min_variance  # noqa: E402
from xlfrontier.workbook.recalc import (  # noqa: E402
    WorkbookError,
    default_output,
    recalc_workbook,
)
from xlfrontier.workbook.template import SAMPLE, build_workbook  # noqa: E402

N = SAMPLE.n_assets


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recalc") / "book.xlsx"
    build_workbook(path)
    return path


def formula_cells(path: Path) -> dict[tuple[str, str], str]:
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                text = getattr(v, "text", v)
                if isinstance(text, str) and text.startswith("="):
                    out[(ws.title, c.coordinate)] = text
    return out


def _sheets(z: zipfile.ZipFile):
    from xml.etree import ElementTree as ET

    wb = ET.fromstring(z.read("xl/workbook.xml"))
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    return wb.findall("m:sheets/m:sheet", ns)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Independent evaluation with `formulas`
# --------------------------------------------------------------------------------------------


def test_formulas_package_reproduces_every_stored_value(template):
    import formulas
    from formulas.functions import wrap_func

    def excel(x):
        """What COM would pass: a scalar for one cell, else a tuple of row tuples."""
        arr = np.asarray(x, dtype=object)
        arr = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr.reshape(1, -1)
        clean = [
            [float(v) if isinstance(v, (int, float, np.number)) else v for v in row]
            for row in arr.tolist()
        ]
        return clean[0][0] if arr.shape == (1, 1) else tuple(map(tuple, clean))

    def wrapper(func):
        def call(*args):
            result = func(*[excel(a) for a in args])
            return np.array(result if isinstance(result, list) else [[result]], dtype=object)

        return wrap_func(call)

    functions = formulas.get_functions()
    for name in udfs.__all__:
        functions[name] = wrapper(getattr(udfs, name))
    # `formulas` cannot parse a call linked to the add-in, [1]!FRONTIER_RANGE(...): evaluate a
    # copy calling the functions by name, as Excel does once the link resolves to the add-in.
    unlinked = template.with_name("unlinked.xlsx")
    with zipfile.ZipFile(template) as z, zipfile.ZipFile(unlinked, "w") as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = data.replace(b"[1]!", b"")
            out.writestr(zipfile.ZipInfo(info.filename, info.date_time), data)
    with contextlib.redirect_stderr(io.StringIO()):
        solution = formulas.ExcelModel().loads(str(unlinked)).finish().calculate()
    computed = {}
    for key, ranged in solution.items():
        m = re.match(r"^'\[[^\]]*\](.*)'!([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$", str(key))
        if not m:
            continue
        sheet, c0, r0 = m.group(1), m.group(2), int(m.group(3))
        block = np.asarray(ranged.value, dtype=object)
        block = block.reshape(block.shape[0], -1)
        for (i, j), v in np.ndenumerate(block):
            col = openpyxl.utils.get_column_letter(openpyxl.utils.column_index_from_string(c0) + j)
            computed[(sheet, f"{col}{r0 + i}")] = v
    stored = values(template)
    cells = formula_cells(template)
    assert len(cells) > 40
    checked = 0
    for (sheet, coord), _text in cells.items():
        got = computed[(sheet.upper(), coord)]
        want = stored.get((sheet, coord))
        if isinstance(want, float):
            assert float(got) == pytest.approx(want, rel=1e-9, abs=1e-12), (sheet, coord)
        else:  # an empty text is stored as an empty cell
            assert (got if got != "" else None) == want, (sheet, coord)
        checked += 1
    # ... and the spilled cells of the frontier table.
    wb = openpyxl.load_workbook(template, data_only=True)
    ws = wb["Frontier"]
    _, ref = wb.defined_names["frontier_table"].attr_text.split("!")
    for row in ws[ref.replace("$", "")][1:]:
        for c in row:
            assert float(computed[("FRONTIER", c.coordinate)]) == pytest.approx(c.value, abs=1e-12)
            checked += 1
    assert checked > 300


# --------------------------------------------------------------------------------------------
# recalc_workbook
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def round_trip(template, tmp_path_factory):
    before = digest(template)
    out = tmp_path_factory.mktemp("rt") / "out.xlsx"
    result = recalc_workbook(template, out)
    assert digest(template) == before, "the input file must not change"
    return result, out


def test_round_trip_keeps_every_value(template, round_trip):
    result, out = round_trip
    assert result.path == out
    assert result.errors == []
    assert result.resized == []
    assert result.passes == 1
    assert result.formulas == len(formula_cells(template))
    assert_same_values(values(template), values(out))


def test_round_trip_keeps_the_package(template, round_trip):
    _, out = round_trip
    before, after = zipfile.ZipFile(template), zipfile.ZipFile(out)
    assert before.namelist() == after.namelist()
    for name in (
        "xl/metadata.xml",
        "xl/styles.xml",
        "xl/drawings/drawing1.xml",
        "xl/sharedStrings.xml",
        "[Content_Types].xml",
    ):
        assert before.read(name) == after.read(name), name
    for name in ("xl/charts/chart1.xml", "xl/charts/chart2.xml"):  # same series, same caches
        refs = [re.findall(r"<c:f>([^<]*)</c:f>", z.read(name).decode()) for z in (before, after)]
        assert refs[0] == refs[1]
        caches = [
            [float(v) for v in re.findall(r"<c:v>([-0-9.eE]+)</c:v>", z.read(name).decode())]
            for z in (before, after)
        ]
        np.testing.assert_allclose(caches[0], caches[1], rtol=1e-12)
    sheet = after.read("xl/worksheets/sheet4.xml").decode()
    assert 'cm="1"' in sheet
    assert 't="array"' in sheet
    assert formula_cells(template) == formula_cells(out)


def test_changed_inputs_are_recalculated(template, tmp_path):
    edited = set_cell(template, tmp_path / "edited.xlsx", "Inputs", "C6", 0.07)  # target
    result = recalc_workbook(edited, tmp_path / "edited_out.xlsx")
    assert result.errors == []
    wb = openpyxl.load_workbook(result.path, data_only=True)
    mu = np.array(SAMPLE.expected_returns)
    cov = np.outer(SAMPLE.volatilities, SAMPLE.volatilities) * np.array(SAMPLE.correlations)
    res = min_variance(mu, cov, 0.07, np.array(SAMPLE.min_weights), np.array(SAMPLE.max_weights))
    ws = wb["Optimizer"]
    weights = [ws.cell(row=13 + i, column=5).value for i in range(N)]
    np.testing.assert_allclose(weights, res.weights, atol=1e-9)
    assert ws["E6"].value == pytest.approx(0.07, abs=1e-12)
    assert wb["Frontier"]["D31"].value == pytest.approx(0.07, abs=1e-12)  # chart point


def test_more_frontier_points_resize_the_spill_names_and_charts(template, tmp_path):
    edited = set_cell(template, tmp_path / "points.xlsx", "Inputs", "C7", 40.0)
    result = recalc_workbook(edited, tmp_path / "points_out.xlsx")
    assert result.errors == []
    assert result.resized == ["Frontier!B37: B37:N62 -> B37:N77"]
    assert result.passes == 2
    wb = openpyxl.load_workbook(result.path, data_only=True)
    assert wb.defined_names["frontier_table"].attr_text == "Frontier!$B$37:$N$77"
    ws = wb["Frontier"]
    mu = np.array(SAMPLE.expected_returns)
    cov = np.outer(SAMPLE.volatilities, SAMPLE.volatilities) * np.array(SAMPLE.correlations)
    sample = efficient_frontier(
        mu, cov, np.array(SAMPLE.min_weights), np.array(SAMPLE.max_weights)
    ).sample(40)
    np.testing.assert_allclose(
        [ws.cell(row=38 + i, column=3).value for i in range(40)], sample.volatilities, atol=1e-10
    )
    # New rows take the table's number formats.
    assert ws["C77"].number_format == ws["C38"].number_format == "0.00%"
    charts = zipfile.ZipFile(result.path)
    scatter = charts.read("xl/charts/chart1.xml").decode()
    area = charts.read("xl/charts/chart2.xml").decode()
    assert "<c:f>Frontier!$C$38:$C$77</c:f>" in scatter
    assert "<c:f>Frontier!$B$38:$B$77</c:f>" in area
    assert area.count("$38:$") == N + N  # categories and values of every series
    assert '<c:ptCount val="40"/>' in scatter


def test_fewer_points_clear_the_old_rows(template, tmp_path):
    edited = set_cell(template, tmp_path / "few.xlsx", "Inputs", "C7", 5.0)
    result = recalc_workbook(edited, tmp_path / "few_out.xlsx")
    assert result.resized == ["Frontier!B37: B37:N62 -> B37:N42"]
    ws = openpyxl.load_workbook(result.path, data_only=True)["Frontier"]
    assert isinstance(ws["B42"].value, float)
    assert ws["B43"].value is None
    assert ws["N62"].value is None


def test_blocked_spill_says_so(template, tmp_path):
    blocked = set_cell(template, tmp_path / "blocked.xlsx", "Inputs", "C7", 40.0)
    # Something typed just below the table (a cell XlsxWriter left empty: add it).
    z = zipfile.ZipFile(blocked)
    out = tmp_path / "blocked2.xlsx"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == "xl/worksheets/sheet4.xml":
                data = data.replace(
                    b"</sheetData>", b'<row r="70"><c r="B70"><v>1</v></c></row></sheetData>'
                )
            dest.writestr(zipfile.ZipInfo(info.filename, info.date_time), data)
    result = recalc_workbook(out, tmp_path / "blocked_out.xlsx")
    assert any(e.startswith("Frontier!B37: #SPILL!") for e in result.errors)
    ws = openpyxl.load_workbook(result.path, data_only=True)["Frontier"]
    assert ws["B37"].value.startswith("#SPILL! the result needs 41 x 13 cells")
    assert ws["B70"].value == 1


def test_in_place(template, tmp_path):
    copy = tmp_path / "mine.xlsx"
    copy.write_bytes(template.read_bytes())
    result = recalc_workbook(copy, in_place=True)
    assert result.path == copy
    assert_same_values(values(template), values(copy))
    assert [p.name for p in tmp_path.iterdir()] == ["mine.xlsx"]


def test_default_output_name(tmp_path):
    assert default_output(tmp_path / "Book.xlsx") == tmp_path / "Book.recalc.xlsx"
    assert default_output(Path("a/b.xlsm")) == Path("a/b.recalc.xlsm")


def test_bad_files(tmp_path, template):
    with pytest.raises(WorkbookError, match="does not exist"):
        recalc_workbook(tmp_path / "missing.xlsx")
    (tmp_path / "text.xlsx").write_text("not a workbook")
    with pytest.raises(WorkbookError, match="not a zip package"):
        recalc_workbook(tmp_path / "text.xlsx")
    with zipfile.ZipFile(tmp_path / "empty.xlsx", "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(WorkbookError, match=r"no xl/workbook\.xml"):
        recalc_workbook(tmp_path / "empty.xlsx")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(WorkbookError, match=r"only \.xlsx and \.xlsm"):
        recalc_workbook(tmp_path / "old.xls")
    with pytest.raises(WorkbookError, match="is the input file"):
        recalc_workbook(template, template)
    import xlsxwriter

    plain = tmp_path / "plain.xlsx"
    wb = xlsxwriter.Workbook(str(plain))
    wb.add_worksheet().write("A1", 1)
    wb.close()
    with pytest.raises(WorkbookError, match="has no formulas"):
        recalc_workbook(plain)
    assert not default_output(plain).exists()
