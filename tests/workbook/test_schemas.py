"""The template and the built add-in are valid against the OOXML schemas.

``openxml-audit`` (test extra) carries the Open XML SDK's schemas and semantic constraints and
runs without .NET. Each file is checked as the oldest and the newest Excel we support read it
(Office 2016 and Microsoft 365; the dynamic-array metadata is an extension that 2016 may
ignore). A deliberately broken copy shows that the validator reads the parts we write.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import xlfrontier
from xlfrontier.workbook.template import build_workbook

audit = pytest.importorskip("openxml_audit")

FORMATS = (audit.FileFormat.OFFICE_2016, audit.FileFormat.MICROSOFT_365)


def problems(path: Path, file_format) -> list[str]:
    result = audit.OpenXmlValidator(file_format=file_format, max_errors=100).validate(str(path))
    return [str(e) for e in result.errors]


def copy_with(src: Path, dest: Path, part: str, edit) -> Path:
    """Copy a package with one part's bytes replaced by ``edit(bytes)``."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        assert part in z.namelist(), part
        for info in z.infolist():
            data = z.read(info.filename)
            out.writestr(
                zipfile.ZipInfo(info.filename, info.date_time),
                edit(data) if info.filename == part else data,
            )
    return dest


@pytest.fixture(scope="module")
def workbooks(built, tmp_path_factory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("schemas")
    build_workbook(work / "static.xlsx", static=True)
    build_workbook(work / "prices.xlsx", inputs_from="Prices")
    return {"template": built[0], "static": work / "static.xlsx", "prices": work / "prices.xlsx"}


@pytest.fixture(scope="module")
def built_addin(tmp_path_factory) -> Path:
    """``xlfrontier addin build`` into a temporary folder (a fresh process, as on CI)."""
    pytest.importorskip("pyopenvba")
    out = tmp_path_factory.mktemp("addin") / "xlfrontier.xlam"
    root = str(Path(xlfrontier.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "xlfrontier.excel.addin", "build", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.parametrize("file_format", FORMATS, ids=lambda f: f.value)
@pytest.mark.parametrize("name", ["template", "static", "prices"])
def test_workbooks_are_schema_valid(workbooks, name, file_format):
    assert problems(workbooks[name], file_format) == []


@pytest.mark.parametrize("file_format", FORMATS, ids=lambda f: f.value)
def test_recalculated_template_is_schema_valid(built, tmp_path, file_format):
    pytest.importorskip("formulas")
    from xlfrontier.workbook.recalc import recalc_workbook

    result = recalc_workbook(built[0], tmp_path / "recalculated.xlsx")
    assert problems(result.path, file_format) == []


@pytest.mark.parametrize("file_format", FORMATS, ids=lambda f: f.value)
def test_built_addin_is_schema_valid(built_addin, file_format):
    assert problems(built_addin, file_format) == []


@pytest.mark.parametrize(
    ("part", "old", "new", "expected"),
    [
        # The external link we add after XlsxWriter: a defined name without its name.
        (
            "xl/externalLinks/externalLink1.xml",
            b'<definedName name="CORR_MATRIX"/>',
            b"<definedName/>",
            "name",
        ),
        # ... and the workbook's list of external references in the wrong place.
        (
            "xl/workbook.xml",
            b"<externalReferences>",
            b"<calcPr/><externalReferences>",
            "externalReferences",
        ),
        # A formula cell of a sheet.
        ("xl/worksheets/sheet3.xml", b'<f t="array"', b'<f t="arrray"', "arrray"),
    ],
)
def test_the_validator_reads_our_parts(built, tmp_path, part, old, new, expected):
    def edit(data: bytes) -> bytes:
        assert old in data, old
        return data.replace(old, new, 1)

    broken = copy_with(built[0], tmp_path / "broken.xlsx", part, edit)
    found = problems(broken, audit.FileFormat.MICROSOFT_365)
    assert found, part
    assert any(expected in p for p in found), found
