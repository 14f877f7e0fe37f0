"""No command may destroy a file: atomic writes, no silent overwrite, no writing through links.

Also: ``recalc`` on a damaged workbook says so in one line (no traceback).
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import zipfile
from pathlib import Path

import pytest
import xlsxwriter.workbook

from xlfrontier import cli
from xlfrontier.workbook import _output
from xlfrontier.workbook._output import (
    OWNER_PROPERTY,
    OutputError,
    OutputExistsError,
    atomic_write,
    check_output,
    written_by_xlfrontier,
)
from xlfrontier.workbook.template import TEMPLATE_FILENAME

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "workbook_templates" / TEMPLATE_FILENAME
ORIGINAL = b"my own workbook, not to be lost"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rewrite_part(src: Path, dest: Path, part: str, data: bytes | None) -> Path:
    """Copy a package with ``part`` replaced by ``data`` (dropped when None)."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            if info.filename != part:
                out.writestr(info, z.read(info.filename))
            elif data is not None:
                out.writestr(info, data)
    return dest


def without_custom_properties(src: Path, dest: Path) -> Path:
    """Copy a package without docProps/custom.xml (and its content type and relationship)."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == "docProps/custom.xml":
                continue
            if info.filename in ("[Content_Types].xml", "_rels/.rels"):
                data, n = re.subn(rb"<[^<>]*docProps/custom\.xml[^<>]*/>", b"", data)
                assert n == 1
            out.writestr(info, data)
    return dest


_SAVES = itertools.count(10)


def saved_by_excel(path: Path) -> Path:
    """Simulate a save by Excel: it updates dcterms:modified and keeps custom properties."""
    with zipfile.ZipFile(path) as z:
        core = z.read("docProps/core.xml").decode()
    stamp = f"2026-05-04T10:11:{next(_SAVES):02d}Z"
    core, n = re.subn(r"(<dcterms:modified[^>]*>)[^<]*", rf"\g<1>{stamp}", core)
    assert n == 1
    tmp = path.with_name("saved.tmp")
    rewrite_part(path, tmp, "docProps/core.xml", core.encode())
    os.replace(tmp, path)
    return path


def symlink(link: Path, target: Path) -> None:
    try:
        link.symlink_to(target)
    except OSError:  # Windows without the privilege
        pytest.skip("symbolic links are not available here")


def leftovers(folder: Path, *keep: str) -> list[str]:
    return sorted(set(os.listdir(folder)) - set(keep))


# --------------------------------------------------------------------------------------------
# The ownership mark
# --------------------------------------------------------------------------------------------


def test_generated_workbooks_carry_the_mark(tmp_path):
    assert written_by_xlfrontier(TEMPLATE)
    with zipfile.ZipFile(TEMPLATE) as z:
        custom = z.read("docProps/custom.xml").decode()
    assert f'name="{OWNER_PROPERTY}"' in custom
    assert "2024-01-01T00:00:00Z" in custom
    copy = tmp_path / "b.xlsx"
    copy.write_bytes(TEMPLATE.read_bytes())
    assert written_by_xlfrontier(copy)
    assert not written_by_xlfrontier(saved_by_excel(copy))
    unmarked = without_custom_properties(TEMPLATE, tmp_path / "c.xlsx")
    assert not written_by_xlfrontier(unmarked)
    (tmp_path / "d.xlsx").write_bytes(ORIGINAL)
    assert not written_by_xlfrontier(tmp_path / "d.xlsx")
    assert not written_by_xlfrontier(tmp_path / "missing.xlsx")


def test_check_output_rules(tmp_path):
    new = tmp_path / "new.xlsx"
    assert check_output(new, force=False, named_by_user=True) is False
    mine = tmp_path / "mine.xlsx"
    mine.write_bytes(TEMPLATE.read_bytes())
    with pytest.raises(OutputExistsError, match=r"mine.xlsx already exists: pass --force"):
        check_output(mine, force=False, named_by_user=True)  # even xlfrontier's own
    assert check_output(mine, force=False, named_by_user=False) is True
    assert check_output(mine, force=True, named_by_user=True) is True
    other = tmp_path / "other.xlsx"
    other.write_bytes(ORIGINAL)
    with pytest.raises(OutputExistsError, match="was not written by xlfrontier, or was saved"):
        check_output(other, force=False, named_by_user=False)
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    with pytest.raises(OutputError, match="exists and is not a file"):
        check_output(folder, force=True, named_by_user=True)
    link = tmp_path / "link.xlsx"
    symlink(link, mine)
    with pytest.raises(OutputError, match="is a symbolic link"):
        check_output(link, force=True, named_by_user=True)
    dangling = tmp_path / "dangling.xlsx"
    symlink(dangling, tmp_path / "elsewhere" / "x.xlsx")
    with pytest.raises(OutputError, match="is a symbolic link"):
        check_output(dangling, force=True, named_by_user=False)


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "t.xlsx"
    target.write_bytes(ORIGINAL)
    target.chmod(0o640)
    temps = []

    def write_half() -> None:
        with atomic_write(target) as temp:
            temps.append(temp)
            assert temp.read_bytes() == b""
            temp.write_bytes(b"half a file")
            raise RuntimeError("midway")

    with pytest.raises(RuntimeError, match="midway"):
        write_half()
    assert temps[0].parent == tmp_path
    assert target.read_bytes() == ORIGINAL
    assert leftovers(tmp_path, "t.xlsx") == []
    with atomic_write(target) as temp:
        temp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o640  # the replaced file's permissions
    assert leftovers(tmp_path, "t.xlsx") == []
    missing = tmp_path / "no"
    with (
        pytest.raises(FileNotFoundError, match=re.escape(str(missing))),
        atomic_write(missing / "t.xlsx"),
    ):
        pass


def test_atomic_write_never_follows_a_planted_temporary_link(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(ORIGINAL)
    names = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(_output.secrets, "token_hex", lambda _n: next(names))
    symlink(tmp_path / ".t.xlsx.aaaa.tmp", victim)  # the first name is taken
    with atomic_write(tmp_path / "t.xlsx") as temp:
        assert temp.name == ".t.xlsx.bbbb.tmp"
        temp.write_bytes(b"new")
    assert victim.read_bytes() == ORIGINAL
    assert (tmp_path / "t.xlsx").read_bytes() == b"new"


# --------------------------------------------------------------------------------------------
# A failure midway leaves the existing file as it was, for every command
# --------------------------------------------------------------------------------------------


def _disk_full_in_xlsxwriter(monkeypatch):
    def store(self):
        with open(self.filename, "wb") as handle:
            handle.write(b"PK\x03\x04 some bytes of a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(xlsxwriter.workbook.Workbook, "_store_workbook", store)


def _disk_full_in_zip(monkeypatch, folder: Path):
    real = zipfile.ZipFile.writestr
    calls = {"n": 0}

    def writestr(self, *args, **kwargs):
        if Path(str(self.filename)).parent == folder:  # only the output, not recalc's passes
            calls["n"] += 1
            if calls["n"] > 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--out", "{target}", "--force"],
        ["template", "--out", "{target}", "--force"],
    ],
    ids=["run", "template"],
)
def test_failure_midway_keeps_the_file_generator(capsys, tmp_path, monkeypatch, argv):
    target = tmp_path / "book.xlsx"
    target.write_bytes(ORIGINAL)
    _disk_full_in_xlsxwriter(monkeypatch)
    code, out, err = run(capsys, *(a.format(target=target) for a in argv))
    assert code == 1
    assert f"cannot write {target}: No space left on device" in err
    assert "Traceback" not in out + err
    assert target.read_bytes() == ORIGINAL
    assert leftovers(tmp_path, "book.xlsx") == []


def test_a_file_open_in_excel_is_named_as_the_likely_cause(capsys, tmp_path, monkeypatch):
    target = tmp_path / "book.xlsx"
    target.write_bytes(ORIGINAL)

    def locked(src, dst):  # what os.replace does on Windows while Excel holds the file
        raise PermissionError(13, "Access is denied", str(dst))

    monkeypatch.setattr(_output.os, "replace", locked)
    code, _, err = run(capsys, "run", "--out", str(target), "--force")
    assert code == 1
    assert err == (
        f"xlfrontier run: error: cannot write {target}: Access is denied (if the file is open "
        f"in Excel, close it and run the command again)\n"
    )
    assert target.read_bytes() == ORIGINAL
    assert leftovers(tmp_path, "book.xlsx") == []


@pytest.mark.parametrize("mode", ["--out", "--in-place"])
def test_failure_midway_keeps_the_file_recalc(capsys, tmp_path, monkeypatch, mode):
    pytest.importorskip("formulas")
    book = tmp_path / "book.xlsx"
    book.write_bytes(TEMPLATE.read_bytes())
    if mode == "--out":
        target = tmp_path / "out.xlsx"
        target.write_bytes(ORIGINAL)
        argv = ["recalc", str(book), "--out", str(target), "--force"]
    else:
        target = book
        argv = ["recalc", str(book), "--in-place"]
    before = target.read_bytes()
    _disk_full_in_zip(monkeypatch, tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert "No space left on device" in err
    assert "Traceback" not in out + err
    assert target.read_bytes() == before
    assert book.read_bytes() == TEMPLATE.read_bytes()
    assert leftovers(tmp_path, "book.xlsx", "out.xlsx") == []


# --------------------------------------------------------------------------------------------
# No silent overwrite
# --------------------------------------------------------------------------------------------


def test_run_out_refuses_an_existing_file(capsys, tmp_path):
    mine = tmp_path / "mine.xlsx"
    mine.write_bytes(ORIGINAL)
    code, out, err = run(capsys, "run", "--out", str(mine))
    assert code == cli.EXIT_EXISTS == 3
    assert err == (
        f"xlfrontier run: error: {mine} already exists: pass --force to replace it, or choose "
        f"another --out\n"
    )
    assert out == ""
    assert mine.read_bytes() == ORIGINAL
    code, out, err = run(capsys, "run", "--out", str(mine), "--force", "--quiet")
    assert code == 0, err
    assert written_by_xlfrontier(mine)
    # A file the user named is refused even when xlfrontier wrote it.
    code, _, _ = run(capsys, "run", "--out", str(mine), "--quiet")
    assert code == 3


def test_run_default_output_replaces_only_its_own_unchanged_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = tmp_path / cli.DEFAULT_OUTPUT
    default.write_bytes(ORIGINAL)
    code, _, err = run(capsys, "--quiet")
    assert code == 3
    assert "was not written by xlfrontier, or was saved since: pass --force" in err
    assert default.read_bytes() == ORIGINAL
    code, out, err = run(capsys, "--force")
    assert code == 0, err
    assert "(replaced)" in out
    code, out, err = run(capsys)  # its own output, unchanged: replaced
    assert code == 0, err
    assert "(replaced)" in out
    saved_by_excel(default)  # the user edited and saved it
    saved = default.read_bytes()
    code, _, err = run(capsys, "--quiet")
    assert code == 3
    assert default.read_bytes() == saved
    # --out DIR: the name is xlfrontier's, the same rule applies.
    code, _, _ = run(capsys, "--quiet", "--out", str(tmp_path))
    assert code == 3
    sub = tmp_path / "sub"
    sub.mkdir()
    for _ in range(2):
        code, _, err = run(capsys, "--quiet", "--out", str(sub))
        assert code == 0, err


def test_template_refuses_an_existing_file(capsys, tmp_path):
    mine = tmp_path / "t.xlsx"
    mine.write_bytes(ORIGINAL)
    code, _, err = run(capsys, "template", "--out", str(mine))
    assert code == 3
    assert "t.xlsx already exists: pass --force" in err
    assert mine.read_bytes() == ORIGINAL
    code, _, err = run(capsys, "template", "--out", str(mine), "--force")
    assert code == 0, err
    assert mine.read_bytes() == TEMPLATE.read_bytes()
    # Into a folder: its own template is regenerated, another file of that name is kept.
    for _ in range(2):
        code, _, err = run(capsys, "template", "--out", str(tmp_path))
        assert code == 0, err
    (tmp_path / TEMPLATE_FILENAME).write_bytes(ORIGINAL)
    code, _, err = run(capsys, "template", "--out", str(tmp_path))
    assert code == 3
    assert (tmp_path / TEMPLATE_FILENAME).read_bytes() == ORIGINAL


def test_recalc_refuses_an_existing_file(capsys, tmp_path):
    pytest.importorskip("formulas")
    book = tmp_path / "book.xlsx"
    # A workbook saved by Excel, without custom properties: not xlfrontier's output.
    saved_by_excel(without_custom_properties(TEMPLATE, book))
    other = tmp_path / "other.xlsx"
    other.write_bytes(ORIGINAL)
    code, _, err = run(capsys, "recalc", str(book), "--out", str(other))
    assert code == 3
    assert "other.xlsx already exists: pass --force" in err
    assert other.read_bytes() == ORIGINAL
    code, _, err = run(capsys, "recalc", str(book), "--out", str(other), "--force")
    assert code == 0, err
    assert written_by_xlfrontier(other)  # the copy is marked: a custom.xml part was added
    with zipfile.ZipFile(other) as z:
        assert z.testzip() is None
        assert z.read("[Content_Types].xml").decode().count("/docProps/custom.xml") == 1
        assert z.read("_rels/.rels").decode().count("docProps/custom.xml") == 1
    # The default output BOOK.recalc.xlsx: replaced while it is recalc's own output...
    copy = tmp_path / "book.recalc.xlsx"
    for _ in range(2):
        code, _, err = run(capsys, "recalc", str(book))
        assert code == 0, err
        assert written_by_xlfrontier(copy)
    # ...and kept once the user saved it.
    saved_by_excel(copy)
    saved = copy.read_bytes()
    code, _, err = run(capsys, "recalc", str(book))
    assert code == 3
    assert "was not written by xlfrontier, or was saved since" in err
    assert copy.read_bytes() == saved
    # Recalculated in place, a workbook stays the user's: it gets no mark.
    code, _, err = run(capsys, "recalc", str(copy), "--in-place")
    assert code == 0, err
    assert not written_by_xlfrontier(copy)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--out", "{link}", "--force"],
        ["template", "--out", "{link}", "--force"],
        ["recalc", "{book}", "--out", "{link}", "--force"],
        ["recalc", "{link}", "--in-place"],
    ],
    ids=["run", "template", "recalc-out", "recalc-in-place"],
)
def test_symbolic_links_are_never_written_through(capsys, tmp_path, argv):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim.xlsx"
    victim.write_bytes(TEMPLATE.read_bytes())
    work = tmp_path / "work"
    work.mkdir()
    link = work / "book.xlsx"
    symlink(link, victim)
    book = work / "real.xlsx"
    book.write_bytes(TEMPLATE.read_bytes())
    code, _, err = run(capsys, *(a.format(link=link, book=book) for a in argv))
    assert code == 1
    assert f"{link} is a symbolic link: xlfrontier does not write through links" in err
    assert victim.read_bytes() == TEMPLATE.read_bytes()
    assert link.is_symlink()
    assert sorted(os.listdir(work)) == ["book.xlsx", "real.xlsx"]


# --------------------------------------------------------------------------------------------
# recalc on a damaged workbook: one clear line
# --------------------------------------------------------------------------------------------


def _truncated(path: Path) -> None:
    path.write_bytes(TEMPLATE.read_bytes()[: TEMPLATE.stat().st_size // 2])


def _bad_sheet_xml(path: Path) -> None:
    with zipfile.ZipFile(TEMPLATE) as z:
        sheet = z.read("xl/worksheets/sheet2.xml")
    rewrite_part(TEMPLATE, path, "xl/worksheets/sheet2.xml", sheet[: len(sheet) // 2])


def _bad_chart_xml(path: Path) -> None:
    rewrite_part(TEMPLATE, path, "xl/charts/chart1.xml", b"<c:chartSpace")


def _corrupt_part(path: Path) -> None:
    data = bytearray(TEMPLATE.read_bytes())
    with zipfile.ZipFile(TEMPLATE) as z:
        info = z.getinfo("xl/styles.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(start + 10, start + 40):
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))


def _edit_part(path: Path, part: str, pattern: bytes, new: bytes) -> None:
    with zipfile.ZipFile(TEMPLATE) as z:
        data, n = re.subn(pattern, new, z.read(part), count=1)
    assert n == 1
    rewrite_part(TEMPLATE, path, part, data)


def _cell_without_address(path: Path) -> None:
    _edit_part(path, "xl/worksheets/sheet2.xml", rb'<c r="B2"', b'<c r="B2X"')


def _missing_shared_text(path: Path) -> None:
    _edit_part(path, "xl/worksheets/sheet2.xml", rb'(t="s"[^>]*><v>)\d+', rb"\g<1>99999")


def _unreadable_formula(path: Path) -> None:
    _edit_part(path, "xl/worksheets/sheet3.xml", rb"<f([^>]*)>[^<]+</f>", rb"<f\1>=((</f>")


def _no_rels(path: Path) -> None:
    rewrite_part(TEMPLATE, path, "xl/_rels/workbook.xml.rels", None)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_truncated, "is not a zip package, or it is cut short"),
        (_bad_sheet_xml, r"its part xl/worksheets/sheet2\.xml is not valid XML"),
        (_bad_chart_xml, r"its part xl/charts/chart1\.xml is not valid XML"),
        (_corrupt_part, r"its part xl/styles\.xml cannot be read"),
        (_no_rels, r"it has no xl/_rels/workbook\.xml\.rels part"),
        (lambda p: p.write_bytes(b"asset,expected_return\n"), "is not a zip package"),
        (_cell_without_address, r"sheet2\.xml has a cell without a valid address \('B2X'\)"),
        (_missing_shared_text, r"sheet2\.xml has cell B1 pointing to a missing shared text"),
        (_unreadable_formula, r"has a formula that cannot be read without Excel \(Mismatched"),
    ],
    ids=[
        "truncated",
        "sheet-xml",
        "chart-xml",
        "corrupt-data",
        "missing-part",
        "not-a-zip",
        "cell-address",
        "shared-text",
        "formula",
    ],
)
def test_recalc_on_a_damaged_workbook_prints_one_line(capsys, tmp_path, damage, message):
    pytest.importorskip("formulas")
    book = tmp_path / "book.xlsx"
    damage(book)
    before = book.read_bytes()
    for argv in (["recalc", str(book)], ["recalc", str(book), "--in-place"]):
        code, out, err = run(capsys, *argv)
        assert code == 1
        assert out == ""
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("xlfrontier recalc: error: book.xlsx ")
        assert re.search(message, lines[0]), lines[0]
        assert "Traceback" not in err
        assert book.read_bytes() == before
        assert leftovers(tmp_path, "book.xlsx") == []
