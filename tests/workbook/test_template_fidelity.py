"""The template stores what Excel itself writes: linked add-in calls and one-cell dynamic arrays.

- Every call of a worksheet function is stored as Excel stores a call to a function of a
  loaded add-in: ``[1]!FRONTIER_RANGE(...)``, external link 1 being ``xlfrontier.xlam`` in the
  user's XLSTART (relationship type ``xlExternalLinkPath/xlStartup``), so that the functions
  resolve when the file opens with the add-in installed (see
  :func:`xlfrontier.workbook.template.link_addin_functions` for the sources).
- The nine scalar cells of the Optimizer (PORTFOLIO_RETURN/VOL/SHARPE) are one-cell dynamic
  arrays (``t="array"``, ``cm="1"``), so Excel 365 shows no ``=@PORTFOLIO_RETURN(...)``.
- The covariance of the assumptions is ``COV_FROM_CORR(corr, vols)``, which refuses a negative
  volatility (checked by recalculating an edited template with ``formulas``).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from test_template import NS, Book, parse_cell, parse_range

from xlfrontier import udfs
from xlfrontier.workbook import template
from xlfrontier.workbook.template import SAMPLE, addin_linked, build_workbook

REL_EXTERNAL_LINK = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink"
)
CT_EXTERNAL_LINK = "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"
XLSTART = "http://schemas.microsoft.com/office/2006/relationships/xlExternalLinkPath/xlStartup"
CALL = re.compile(r"(\[\d+\]!|_xludf\.|_xll\.)?([A-Za-z_][A-Za-z0-9_.]*)\(")


def stored_formulas(path: Path) -> list[tuple[str, str]]:
    """(where, text) of every formula the package stores: cells, names, validation, formats."""
    out = []
    with zipfile.ZipFile(path) as z:
        for part in sorted(z.namelist()):
            if not re.fullmatch(r"xl/(workbook|worksheets/sheet\d+)\.xml", part):
                continue
            root = ET.fromstring(z.read(part))
            for tag in ("f", "definedName", "formula", "formula1", "formula2"):
                for el in root.iter(f"{{{NS['m']}}}{tag}"):
                    if el.text:
                        out.append((f"{part}:{tag}", el.text))
    return out


def udf_calls(text: str) -> list[tuple[str, str]]:
    """(prefix, name) of every worksheet-function call outside string literals."""
    code = re.sub(r'"(?:[^"]|"")*"', '""', text)
    return [
        (m.group(1) or "", m.group(2)) for m in CALL.finditer(code) if m.group(2) in udfs.__all__
    ]


# --------------------------------------------------------------------------------------------
# The link to the add-in
# --------------------------------------------------------------------------------------------


def test_every_addin_call_is_linked_to_the_add_in(built):
    path, _, book = built
    assert book.addin_links == [1]
    calls = [(where, call) for where, text in stored_formulas(path) for call in udf_calls(text)]
    assert len(calls) >= 20
    bare = [(where, name) for where, (prefix, name) in calls if prefix != "[1]!"]
    assert bare == [], "add-in functions must be stored as [1]!NAME(...)"
    assert {name for _, (_, name) in calls} >= {
        "EFFICIENT_FRONTIER",
        "FRONTIER_RANGE",
        "MINVAR_WEIGHTS",
        "PORTFOLIO_RETURN",
        "COV_FROM_CORR",
        "COV_MATRIX",
    }


def test_external_link_parts_relationships_and_content_type(built):
    path, _, _ = built
    z = zipfile.ZipFile(path)
    names = z.namelist()
    assert "xl/externalLinks/externalLink1.xml" in names
    assert "xl/externalLinks/_rels/externalLink1.xml.rels" in names
    types = ET.fromstring(z.read("[Content_Types].xml"))
    overrides = {
        o.get("PartName"): o.get("ContentType")
        for o in types.iter(
            "{http://schemas.openxmlformats.org/package/2006/content-types}Override"
        )
    }
    assert overrides["/xl/externalLinks/externalLink1.xml"] == CT_EXTERNAL_LINK

    # The workbook lists the part in externalReferences, between sheets and definedNames.
    wb = ET.fromstring(z.read("xl/workbook.xml"))
    children = [el.tag.split("}")[1] for el in wb]
    assert children.index("sheets") < children.index("externalReferences")
    assert children.index("externalReferences") < children.index("definedNames")
    refs = wb.findall("m:externalReferences/m:externalReference", NS)
    assert len(refs) == 1
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels")).findall("rel:Relationship", NS)
    rel = next(r for r in rels if r.get("Id") == refs[0].get(f"{{{NS['r']}}}id"))
    assert (rel.get("Type"), rel.get("Target")) == (
        REL_EXTERNAL_LINK,
        "externalLinks/externalLink1.xml",
    )
    assert len({r.get("Id") for r in rels}) == len(rels)  # no clash with XlsxWriter's ids

    # The external book: the add-in in the user's XLSTART, its names = the functions called.
    link = ET.fromstring(z.read("xl/externalLinks/externalLink1.xml"))
    book = link.find("m:externalBook", NS)
    defined = [d.get("name") for d in book.findall("m:definedNames/m:definedName", NS)]
    called = {name for _, text in stored_formulas(path) for _, name in udf_calls(text)}
    assert defined == sorted(called)
    link_rels = ET.fromstring(z.read("xl/externalLinks/_rels/externalLink1.xml.rels"))
    (path_rel,) = link_rels.findall("rel:Relationship", NS)
    assert path_rel.get("Id") == book.get(f"{{{NS['r']}}}id")
    assert path_rel.get("Type") == XLSTART
    assert path_rel.get("Target") == "xlfrontier.xlam"
    assert path_rel.get("TargetMode") == "External"


def test_the_link_targets_the_add_in_the_builder_writes():
    from xlfrontier.excel import addin

    assert template.ADDIN_TARGET == addin.ADDIN_FILENAME


def test_values_only_workbook_has_no_link(tmp_path):
    path = tmp_path / "static.xlsx"
    build_workbook(path, static=True)
    z = zipfile.ZipFile(path)
    assert not any(n.startswith("xl/externalLinks/") for n in z.namelist())
    assert b"externalReferences" not in z.read("xl/workbook.xml")
    assert b"externalLink" not in z.read("[Content_Types].xml")


def test_recalc_keeps_the_link(negative_vol_recalculated, built):
    _, result, after = negative_vol_recalculated
    assert after.addin_links == [1]
    with zipfile.ZipFile(built[0]) as z, zipfile.ZipFile(result.path) as out:
        for part in (template.EXTERNAL_LINK_PART, template.EXTERNAL_LINK_RELS):
            assert out.read(part) == z.read(part)
    calls = [call for _, text in stored_formulas(result.path) for call in udf_calls(text)]
    assert calls
    assert {prefix for prefix, _ in calls} == {"[1]!"}


def test_recalc_evaluates_only_calls_linked_to_the_add_in(built, tmp_path):
    """A function of another add-in that happens to share a name is not ours: #NAME?."""
    pytest.importorskip("formulas")
    from xlfrontier.workbook.recalc import recalc_workbook

    def edit(data: bytes) -> bytes:
        return data.replace(b'Target="xlfrontier.xlam"', b'Target="other.xlam"')

    other = tmp_path / "other.xlsx"
    with zipfile.ZipFile(built[0]) as z, zipfile.ZipFile(other, "w") as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == template.EXTERNAL_LINK_RELS:
                data = edit(data)
            out.writestr(zipfile.ZipInfo(info.filename, info.date_time), data)
    result = recalc_workbook(other, tmp_path / "out.xlsx")
    book = Book(result.path)
    assert book.addin_links == []
    anchor = (template.InputsSheet.RANGE_ROW, 1)  # FRONTIER_RANGE of the Inputs sheet
    assert book.cells["Inputs"][anchor]["stored"].startswith("[1]!FRONTIER_RANGE(")
    assert book.value("Inputs", anchor) == "#NAME?"
    assert "Inputs!B11: #NAME?" in result.errors


@pytest.mark.parametrize(
    ("formula", "stored", "used"),
    [
        ("=FRONTIER_RANGE(mu,cov)", "=[1]!FRONTIER_RANGE(mu,cov)", {"FRONTIER_RANGE"}),
        (
            '=IF(a="GMV_WEIGHTS(x)",COV_FROM_CORR(corr,vols),TRANSPOSE(MEAN_RETURNS(p)))',
            '=IF(a="GMV_WEIGHTS(x)",[1]!COV_FROM_CORR(corr,vols),TRANSPOSE([1]!MEAN_RETURNS(p)))',
            {"COV_FROM_CORR", "MEAN_RETURNS"},
        ),
        ("=[1]!GMV_WEIGHTS(cov)", "=[1]!GMV_WEIGHTS(cov)", set()),  # already linked
        ("=SUM(w_gmv)+MY_GMV_WEIGHTS(1)", "=SUM(w_gmv)+MY_GMV_WEIGHTS(1)", set()),
        ('="Inputs from: "&inputs_from', '="Inputs from: "&inputs_from', set()),
    ],
)
def test_addin_linked(formula, stored, used):
    assert addin_linked(formula) == (stored, used)


# --------------------------------------------------------------------------------------------
# One-cell dynamic arrays for the scalar statistics
# --------------------------------------------------------------------------------------------


def test_scalar_statistics_are_one_cell_dynamic_arrays(built):
    path, _, book = built
    names = [
        f"{p}_{stat}"
        for p in ("gmv", "maxsharpe", "target")
        for stat in ("return", "vol", "sharpe")
    ]
    optimizer = book.sheet_xml["Optimizer"]
    for name in names:
        sheet, (r0, c0, r1, c1) = parse_range(book.names[name])
        assert (sheet, r1 - r0, c1 - c0) == ("Optimizer", 0, 0), name
        ref = book.names[name].split("!")[1].replace("$", "")
        (c,) = [c for c in optimizer.iter(f"{{{NS['m']}}}c") if c.get("r") == ref]
        f = c.find("m:f", NS)
        # What Excel 365 writes for a formula typed into one cell: an array formula over that
        # cell carrying the dynamic-array cell metadata (Excel 2016/2019: {=...}, one cell).
        assert (f.get("t"), f.get("ref"), c.get("cm")) == ("array", ref, "1"), name
        assert re.fullmatch(r"\[1\]!PORTFOLIO_(RETURN|VOL|SHARPE)\(.*\)", f.text), f.text
        assert isinstance(book.value("Optimizer", parse_cell(ref)), float), name
    # cm="1" points at the dynamic-array property (XLDAPR, fDynamic="1").
    metadata = zipfile.ZipFile(path).read("xl/metadata.xml").decode()
    assert 'metadataType name="XLDAPR"' in metadata
    assert 'fDynamic="1"' in metadata


# --------------------------------------------------------------------------------------------
# A negative volatility is refused (COV_FROM_CORR), not turned into flipped correlations
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def negative_vol_recalculated(built, tmp_path_factory):
    pytest.importorskip("formulas")
    from _edit import set_cell

    from xlfrontier.workbook.recalc import recalc_workbook

    path, _, book = built
    work = tmp_path_factory.mktemp("negative_vol")
    _, (r0, c0, _, _) = parse_range(book.names["vols"])
    second = f"{chr(65 + c0)}{r0 + 2}"  # the second asset's volatility
    edited = set_cell(path, work / "edited.xlsx", "Inputs", second, -0.205)
    result = recalc_workbook(edited, work / "recalculated.xlsx")
    return book, result, Book(result.path)


def test_negative_volatility_in_the_template_is_refused(negative_vol_recalculated):
    before, result, after = negative_vol_recalculated
    _, (r0, c0, _, _) = parse_range(before.names["cov"])
    message = after.value("Inputs", (r0, c0))
    assert isinstance(message, str), message
    assert re.match(r"#INPUT! vols\b.*negative volatility.*\b2\b", message), message
    # No covariance numbers anywhere in the old block.
    _, (r0, c0, r1, c1) = parse_range(before.names["cov"])
    block = [after.value("Inputs", (r, c)) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
    assert not any(isinstance(v, float) for v in block)
    assert any(e.startswith(f"Inputs!{chr(65 + c0)}{r0 + 1}: #INPUT!") for e in result.errors)
    # The portfolios refuse too, instead of optimising on flipped correlations.
    for name in ("w_gmv", "w_maxsharpe", "w_target"):
        _, (wr, wc, _, _) = parse_range(before.names[name])
        value = after.value("Optimizer", (wr, wc))
        assert isinstance(value, str), (name, value)
        assert value.startswith("#INPUT!"), (name, value)


def test_negative_volatility_when_building_is_reported(tmp_path):
    vols = list(SAMPLE.volatilities)
    vols[3] = -vols[3]
    result = build_workbook(tmp_path / "neg.xlsx", replace(SAMPLE, volatilities=tuple(vols)))
    book = Book(tmp_path / "neg.xlsx")
    _, (r0, c0, r1, c1) = parse_range(book.names["cov"])
    where = f"Inputs!{chr(65 + c0)}{r0 + 1}"
    cov_errors = [e for e in result.errors if e.startswith(where + ":")]
    assert len(cov_errors) == 1
    assert re.search(r"negative volatility.*\b4\b", cov_errors[0]), cov_errors
    stored = np.array(
        [[book.value("Inputs", (r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)],
        dtype=object,
    )
    assert stored[0, 0] == cov_errors[0].split(": ", 1)[1]
    assert all(v is None for v in stored.ravel()[1:])  # the rest of the block is blank


def test_pasted_covariance_is_used_as_typed(tmp_path):
    """The pasted route is untouched: COV_FROM_CORR is not consulted for the stored values."""
    cov = tuple(tuple(0.01 * (i == j) + 0.001 for j in range(SAMPLE.n_assets)) for i in range(10))
    vols = (-0.1, *SAMPLE.volatilities[1:])  # ignored when the covariance is pasted
    result = build_workbook(tmp_path / "p.xlsx", replace(SAMPLE, covariance=cov, volatilities=vols))
    assert result.errors == []
    np.testing.assert_array_equal(Book(tmp_path / "p.xlsx").numbers("cov"), np.array(cov))
