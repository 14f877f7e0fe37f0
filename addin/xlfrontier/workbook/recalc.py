"""Recalculate a workbook made from the template without Excel, into a copy.

The formulas are evaluated by the ``formulas`` package (optional extra ``recalc``) with the
worksheet functions of :mod:`xlfrontier.udfs` registered, and the results are written into a
copy of the file: only the stored values of formula cells, their spill ranges and the charts'
cached data change; styles, names, validation, charts and any VBA are copied as they are.

``formulas`` has no dynamic arrays: an array formula fills exactly the range declared in the
file (padding with ``#N/A`` or broadcasting a single row or column when the result is
smaller, ``#VALUE!`` when it is larger). Each array formula is therefore wrapped in a
registered ``XLFSPILL_k(...)`` that records the size of the real result and fits it to the
declared range; when a result's size differs from its range (more frontier points, another
number of assets) the ranges are resized like Excel would spill them, and the workbook is
evaluated again until every size is stable. A result that would spill over other content
gets a ``#SPILL!`` text instead, as in Excel. Defined names and chart series that covered a
resized spill range (e.g. the frontier columns the charts read) follow its new height.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import numpy as np

from xlfrontier.excel._com import com_error_code
from xlfrontier.exceptions import WorkbookError
from xlfrontier.workbook._formula import sub_outside_strings
from xlfrontier.workbook._output import OWNER_PROPERTY, atomic_write

__all__ = ["RecalcResult", "WorkbookError", "default_output", "recalc_workbook", "register_udfs"]

_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
}
_M = "{{{}}}".format(_NS["m"])
_C = "{{{}}}".format(_NS["c"])
_CUSTOM = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAX_PASSES = 4
_SPILL_FUNC = "XLFSPILL_"
_CELL_RE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
_LINKED_CALL = re.compile(r"\[(\d+)\]!([A-Za-z_][A-Za-z0-9_.]*)\(")


@dataclass
class RecalcResult:
    """What :func:`recalc_workbook` did.

    Attributes
    ----------
    path : Path
        The file written.
    formulas : int
        Number of formula cells whose values were written.
    errors : list of str
        Formula cells that evaluate to an error or an error text (``"Optimizer!E13:
        #INFEASIBLE! ..."``).
    resized : list of str
        Spill ranges whose size changed (``"Frontier!B37: B37:N62 -> B37:N77"``).
    passes : int
        Evaluations needed until every spill range was stable.
    """

    path: Path
    formulas: int = 0
    errors: list[str] = field(default_factory=list)
    resized: list[str] = field(default_factory=list)
    passes: int = 0


# --------------------------------------------------------------------------------------------
# Cell addresses
# --------------------------------------------------------------------------------------------


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _col_letters(col: int) -> str:
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _cell(row: int, col: int) -> str:
    return f"{_col_letters(col)}{row + 1}"


def _parse_cell(text: str) -> tuple[int, int]:
    m = _CELL_RE.match(text.strip().upper())
    if not m:
        raise ValueError(text)
    return int(m.group(2)) - 1, _col_index(m.group(1))


@dataclass(frozen=True)
class _Box:
    """A rectangle of cells, 0-based and inclusive."""

    row: int
    col: int
    last_row: int
    last_col: int

    @classmethod
    def parse(cls, text: str) -> _Box:
        first, _, last = text.partition(":")
        r0, c0 = _parse_cell(first)
        r1, c1 = _parse_cell(last) if last else (r0, c0)
        return cls(min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1))

    @classmethod
    def sized(cls, row: int, col: int, rows: int, cols: int) -> _Box:
        return cls(row, col, row + rows - 1, col + cols - 1)

    @property
    def shape(self) -> tuple[int, int]:
        return self.last_row - self.row + 1, self.last_col - self.col + 1

    def text(self, absolute: bool = False) -> str:
        d = "$" if absolute else ""
        first = f"{d}{_col_letters(self.col)}{d}{self.row + 1}"
        if self.shape == (1, 1):
            return first
        return f"{first}:{d}{_col_letters(self.last_col)}{d}{self.last_row + 1}"

    def cells(self) -> Iterator[tuple[int, int]]:
        for r in range(self.row, self.last_row + 1):
            for c in range(self.col, self.last_col + 1):
                yield r, c

    def __contains__(self, rc: tuple[int, int]) -> bool:
        return self.row <= rc[0] <= self.last_row and self.col <= rc[1] <= self.last_col


_REF_RE = re.compile(
    r"^(?:'((?:[^']|'')+)'|([^'!]+))!(\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?)$"
)


def _parse_ref(text: str) -> tuple[str, _Box] | None:
    """``'My sheet'!$A$1:$B$2`` -> ("My sheet", box); None for anything else."""
    m = _REF_RE.match(text.strip().lstrip("="))
    if not m:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
    return sheet, _Box.parse(m.group(3))


def _format_ref(sheet: str, box: _Box) -> str:
    quoted = (
        sheet
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet)
        else ("'" + sheet.replace("'", "''") + "'")
    )
    return f"{quoted}!{box.text(absolute=True)}"


# --------------------------------------------------------------------------------------------
# The package: sheets, strings, cells
# --------------------------------------------------------------------------------------------


@dataclass
class _Formula:
    sheet: str
    row: int
    col: int
    text: str
    array: _Box | None  # declared range of an array formula (None: single-cell formula)


class _Package:
    """The parts of an .xlsx/.xlsm this module reads and rewrites."""

    def __init__(self, path: Path) -> None:
        from lxml import etree

        self.path = path
        self.etree = etree
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError) as err:
            raise WorkbookError(
                f"{path.name} is not an Excel workbook (.xlsx): the file is not a zip package, "
                f"or it is cut short. Encrypted or legacy .xls files cannot be recalculated; "
                f"open it in Excel and save it as .xlsx"
            ) from err
        try:
            self._read()
        except BaseException:
            self.zip.close()
            raise

    def _read(self) -> None:
        """Read the parts; a damaged one is a :class:`WorkbookError` naming it."""
        self.members = {info.filename: info for info in self.zip.infolist()}
        if "xl/workbook.xml" not in self.members:
            raise WorkbookError(
                f"{self.path.name} is not an Excel workbook: it has no xl/workbook.xml part"
            )
        self.workbook = self._xml("xl/workbook.xml")
        rels = self._xml("xl/_rels/workbook.xml.rels")
        targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{_NS['rel']}}}Relationship")}
        self.sheet_parts: dict[str, str] = {}
        for sheet in self.workbook.iter(f"{_M}sheet"):
            target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
            part = (
                target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            )
            if part in self.members:
                self.sheet_parts[sheet.get("name")] = part
        self.strings = self._shared_strings()
        self.trees = {name: self._xml(part) for name, part in self.sheet_parts.items()}
        for name, part in self.sheet_parts.items():
            self._check_sheet(part, self.trees[name])
        self.chart_trees = {
            name: self._xml(name)
            for name in self.members
            if name.startswith("xl/charts/chart") and name.endswith(".xml")
        }
        for part in self.members:  # the parts copied as they are must be readable too
            self._bytes(part)

    def _check_sheet(self, part: str, tree: Any) -> None:
        """Refuse a sheet whose rows, cell addresses, string indexes or array ranges are broken.

        They are valid XML that the rest of this module (and ``formulas``) would trip over.
        """
        for row in tree.iter(f"{_M}row"):
            if not (row.get("r") or "").isdigit():
                self._damaged(part, f"a row without a valid number ({row.get('r')!r})")
        for c in tree.iter(f"{_M}c"):
            ref = c.get("r")
            try:
                _parse_cell(ref or "")
            except ValueError:
                self._damaged(part, f"a cell without a valid address ({ref!r})")
            v = c.find(f"{_M}v")
            if c.get("t") == "s" and v is not None:
                text = (v.text or "").strip()
                if not text.isdigit() or int(text) >= len(self.strings):
                    self._damaged(part, f"cell {ref} pointing to a missing shared text ({text!r})")
            f = c.find(f"{_M}f")
            if f is not None and f.get("t") == "array" and f.get("ref"):
                try:
                    _Box.parse(f.get("ref"))
                except ValueError:
                    self._damaged(
                        part, f"cell {ref} with an invalid array range ({f.get('ref')!r})"
                    )

    def _damaged(self, part: str, what: str) -> NoReturn:
        raise WorkbookError(
            f"{self.path.name} is damaged: its part {part} has {what}. Open it in Excel (which "
            f"offers to repair it) and save it again"
        )

    def _bytes(self, part: str) -> bytes:
        """Return the content of ``part`` (a missing or corrupt part is a WorkbookError)."""
        import zlib

        try:
            return self.zip.read(part)
        except KeyError as err:
            raise WorkbookError(
                f"{self.path.name} is damaged: it has no {part} part. Open it in Excel (which "
                f"offers to repair it) and save it again"
            ) from err
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise WorkbookError(
                f"{self.path.name} is damaged: its part {part} cannot be read ({err}). Open it "
                f"in Excel (which offers to repair it) and save it again"
            ) from err

    def _xml(self, part: str) -> Any:
        """Return the parsed XML of ``part`` (invalid XML is a WorkbookError naming it)."""
        try:
            return self.etree.fromstring(self._bytes(part))
        except self.etree.XMLSyntaxError as err:
            raise WorkbookError(
                f"{self.path.name} is damaged: its part {part} is not valid XML ({err}). Open "
                f"it in Excel (which offers to repair it) and save it again"
            ) from err

    def _shared_strings(self) -> list[str]:
        part = "xl/sharedStrings.xml"
        if part not in self.members:
            return []
        root = self._xml(part)
        return ["".join(t.text or "" for t in si.iter(f"{_M}t")) for si in root.iter(f"{_M}si")]

    def cells(self, sheet: str) -> Iterator[tuple[int, int, Any]]:
        for c in self.trees[sheet].iter(f"{_M}c"):
            row, col = _parse_cell(c.get("r"))
            yield row, col, c

    def value(self, c: Any) -> Any:
        """Return the stored value of a cell element (None when empty)."""
        kind = c.get("t", "n")
        if kind == "inlineStr":
            return "".join(t.text or "" for t in c.iter(f"{_M}t"))
        v = c.find(f"{_M}v")
        if v is None or v.text is None:
            return None
        if kind == "s":
            return self.strings[int(v.text)]
        if kind in ("str", "e"):
            return v.text
        if kind == "b":
            return v.text == "1"
        try:
            return float(v.text)
        except ValueError:
            return v.text

    def formulas(self) -> list[_Formula]:
        out = []
        for sheet in self.trees:
            for row, col, c in self.cells(sheet):
                f = c.find(f"{_M}f")
                if f is None:
                    continue
                array = _Box.parse(f.get("ref")) if f.get("t") == "array" and f.get("ref") else None
                out.append(_Formula(sheet, row, col, f.text or "", array))
        return out

    def defined_names(self) -> Iterator[Any]:
        yield from self.workbook.iter(f"{_M}definedName")

    def charts(self) -> dict[str, Any]:
        """Return fresh copies of the chart parts' XML, by part name."""
        return {
            name: self.etree.fromstring(self.serialize(tree))
            for name, tree in self.chart_trees.items()
        }

    def close(self) -> None:
        """Close the file (idempotent)."""
        self.zip.close()

    def write(self, dest: Path, replaced: dict[str, bytes]) -> None:
        """Copy the package to ``dest`` with some parts replaced (same order and compression)."""
        with zipfile.ZipFile(dest, "w") as out:
            for info in self.zip.infolist():
                data = replaced.get(info.filename)
                if data is None:
                    data = self.zip.read(info.filename)
                # A fresh ZipInfo: writestr() records offsets in the one it is given.
                copy = zipfile.ZipInfo(info.filename, info.date_time)
                copy.compress_type = info.compress_type
                copy.external_attr = info.external_attr
                out.writestr(copy, data)
            for name, data in replaced.items():  # new parts (the custom properties)
                if name not in self.members:
                    out.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)

    def mark_owned(self) -> dict[str, bytes]:
        """Return the parts that mark the copy as xlfrontier's output (see ``_output``).

        The custom property :data:`OWNER_PROPERTY` is set to the copy's ``dcterms:modified``
        stamp, so that the next ``recalc`` may replace its own unchanged output. A package
        without that stamp is left unmarked.
        """
        etree = self.etree
        modified = None
        if "docProps/core.xml" in self.members:
            modified = self._xml("docProps/core.xml").find("{http://purl.org/dc/terms/}modified")
        if modified is None or not (modified.text or "").strip():
            return {}
        custom = "docProps/custom.xml"
        vt = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
        parts: dict[str, bytes] = {}
        if custom in self.members:
            root = self._xml(custom)
        else:
            root = etree.Element(f"{_CUSTOM}Properties", nsmap={None: _CUSTOM[1:-1], "vt": vt})
            types = self._xml("[Content_Types].xml")
            if not any(t.get("PartName") == "/docProps/custom.xml" for t in types):
                etree.SubElement(
                    types,
                    "{http://schemas.openxmlformats.org/package/2006/content-types}Override",
                    PartName="/docProps/custom.xml",
                    ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml",
                )
                parts["[Content_Types].xml"] = self.serialize(types)
            rels = self._xml("_rels/.rels")
            if not any(r.get("Target", "").lstrip("/") == "docProps/custom.xml" for r in rels):
                ids = {r.get("Id") for r in rels}
                rid = next(f"rId{k}" for k in itertools.count(1) if f"rId{k}" not in ids)
                etree.SubElement(
                    rels,
                    f"{{{_NS['rel']}}}Relationship",
                    Id=rid,
                    Type=f"{_NS['r']}/custom-properties",
                    Target="docProps/custom.xml",
                )
                parts["_rels/.rels"] = self.serialize(rels)
        props = [p for p in root if p.get("name") == OWNER_PROPERTY]
        if props:
            prop = props[0]
            for child in list(prop):
                prop.remove(child)
        else:
            pids = [int(p.get("pid", "1")) for p in root if (p.get("pid") or "").isdigit()]
            prop = etree.SubElement(
                root,
                f"{_CUSTOM}property",
                fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}",
                pid=str(max([1, *pids]) + 1),
                name=OWNER_PROPERTY,
            )
        etree.SubElement(prop, f"{{{vt}}}lpwstr").text = modified.text.strip()
        after = self.serialize(root)
        if custom not in self.members or after != self.serialize(self._xml(custom)):
            parts[custom] = after
        return parts

    def serialize(self, tree: Any) -> bytes:
        return _XML_DECLARATION + self.etree.tostring(tree, encoding="UTF-8")


# --------------------------------------------------------------------------------------------
# Worksheet functions as `formulas` functions
# --------------------------------------------------------------------------------------------


def _excel_arg(value: Any) -> Any:
    """Convert a `formulas` argument (numpy array of cells) to what COM hands a UDF."""
    import schedula as sh
    from formulas.tokens.operand import XlError

    def cell(x: Any) -> Any:
        if x is sh.EMPTY or x is None:
            return None
        if isinstance(x, XlError):
            return com_error_code(str(x))
        if isinstance(x, (bool, np.bool_)):
            return bool(x)
        if isinstance(x, (int, float, np.integer, np.floating)):
            return float(x)
        return x

    if not isinstance(value, np.ndarray):
        return cell(value)
    if value.ndim == 0:
        return cell(value.item())
    block = value.reshape(value.shape[0], -1) if value.ndim > 1 else value.reshape(1, -1)
    if block.shape == (1, 1):
        return cell(block[0, 0])
    return tuple(tuple(cell(x) for x in row) for row in block)


def _udf_wrapper(name: str) -> Callable[..., np.ndarray]:
    from xlfrontier.workbook.template import call_udf

    def evaluate(*args: Any) -> np.ndarray:
        return call_udf(name, *[_excel_arg(a) for a in args])

    evaluate.__name__ = name
    return evaluate


def register_udfs() -> list[str]:
    """Register every worksheet function of :mod:`xlfrontier.udfs` with ``formulas``.

    Returns
    -------
    list of str
        The function names registered.
    """
    from formulas import get_functions
    from formulas.functions import wrap_func

    from xlfrontier import udfs

    functions = get_functions()
    for name in udfs.__all__:
        functions[name] = wrap_func(_udf_wrapper(name))
    return list(udfs.__all__)


def _fit(value: Any, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """Cut or pad (with empty text) a result to ``shape``; also return its own shape."""
    arr = value if isinstance(value, np.ndarray) else np.array(value, dtype=object)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(1, -1)
    own = (int(arr.shape[0]), int(arr.shape[1]))
    out = np.full(shape, "", dtype=object)
    rows, cols = min(shape[0], own[0]), min(shape[1], own[1])
    out[:rows, :cols] = arr[:rows, :cols]
    return out, own


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@dataclass
class _Spill:
    formula: _Formula
    declared: _Box  # range in the file
    current: _Box  # range used in this pass
    result: tuple[int, int] | None = None  # real size found in the last pass
    blocked: bool = False


def _evaluate(
    package: _Package, spills: list[_Spill], names: dict[str, str], workdir: Path
) -> dict[tuple[str, str], Any]:
    """One evaluation with ``formulas``; returns {(SHEET, "A1" or "A1:B2"): value array}."""
    import formulas
    from formulas.functions import wrap_func

    functions = formulas.get_functions()
    replaced: dict[str, bytes] = {}
    by_sheet: dict[str, dict[tuple[int, int], _Spill]] = {}
    for spill in spills:
        by_sheet.setdefault(spill.formula.sheet, {})[(spill.formula.row, spill.formula.col)] = spill
    for k, spill in enumerate(spills):

        def record(value: Any, spill: _Spill = spill) -> np.ndarray:
            fitted, own = _fit(value, spill.current.shape)
            spill.result = own
            return fitted

        functions[f"{_SPILL_FUNC}{k}"] = wrap_func(record)
    index = {id(s): k for k, s in enumerate(spills)}
    linked = _addin_links(package)
    for sheet, tree in package.trees.items():
        mine = by_sheet.get(sheet, {})
        if not mine and linked is None:
            continue
        tree = package.etree.fromstring(package.serialize(tree))
        for c in tree.iter(f"{_M}c"):
            f = c.find(f"{_M}f")
            if f is None:
                continue
            found = mine.get(_parse_cell(c.get("r")))
            if found is not None:
                f.set("ref", found.current.text())
                f.text = f"{_SPILL_FUNC}{index[id(found)]}({found.formula.text})"
            if linked is not None and f.text:
                f.text = _unlink(f.text, linked)
        replaced[package.sheet_parts[sheet]] = package.serialize(tree)
    workbook = package.etree.fromstring(package.serialize(package.workbook))
    for dn in workbook.iter(f"{_M}definedName"):
        if dn.get("name") in names:
            dn.text = names[dn.get("name")]
    replaced["xl/workbook.xml"] = package.serialize(workbook)
    temp = workdir / f"pass{len(list(workdir.iterdir()))}{package.path.suffix}"
    package.write(temp, replaced)
    from formulas.errors import FormulaError

    try:
        with contextlib.redirect_stderr(io.StringIO()):  # formulas draws progress bars
            model = formulas.ExcelModel().loads(str(temp)).finish()
            solution = model.calculate()
    except FormulaError as err:  # a formula `formulas` cannot parse: say which, in one line
        raise WorkbookError(
            f"{package.path.name} has a formula that cannot be read without Excel "
            f"({' '.join(str(err).split())}): fix or remove it in Excel"
        ) from err
    out: dict[tuple[str, str], Any] = {}
    key_re = re.compile(r"^'\[[^\]]*\](.*)'!(.*)$")
    for key, range_value in solution.items():
        m = key_re.match(str(key))
        if m:
            out[(m.group(1).upper(), m.group(2).upper().replace("$", ""))] = range_value.value
    return out


def _addin_links(package: _Package) -> tuple[list[str], frozenset[str]] | None:
    """Return the external links (``"1"``...) to xlfrontier.xlam and its function names.

    Excel stores a call to an add-in's function as a call of an external workbook's name,
    ``[1]!FRONTIER_RANGE(...)`` (see :func:`xlfrontier.workbook.template.link_addin_functions`).
    ``formulas`` does not parse that form; the copy it evaluates calls the registered function
    directly (the file written keeps the linked form).
    """
    from xlfrontier import udfs

    refs = package.workbook.find(f"{_M}externalReferences")
    if refs is None:
        return None
    rels = package.etree.fromstring(package.zip.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{_NS['rel']}}}Relationship")}
    links = []
    for k, ref in enumerate(refs.iter(f"{_M}externalReference"), start=1):
        part = str(PurePosixPath("xl") / targets.get(ref.get(f"{{{_NS['r']}}}id"), ""))
        link_rels = str(PurePosixPath(part).parent / "_rels" / (PurePosixPath(part).name + ".rels"))
        if link_rels not in package.members:
            continue
        paths = package.etree.fromstring(package.zip.read(link_rels))
        if any(
            re.split(r"[\\/]", r.get("Target", ""))[-1].lower() == "xlfrontier.xlam"
            for r in paths.iter(f"{{{_NS['rel']}}}Relationship")
        ):
            links.append(str(k))
    return links, frozenset(udfs.__all__)


def _unlink(text: str, links: tuple[list[str], frozenset[str]]) -> str:
    """Rewrite ``[k]!FUNC(`` for ``formulas``: our linked functions by name, others unknown.

    A call through another external link (another add-in's function) becomes a call of an
    unregistered name, so that it evaluates to ``#NAME?`` instead of failing to parse.
    """
    ours, names = links

    def local(m: re.Match[str]) -> str:
        if m.group(1) in ours and m.group(2) in names:
            return f"{m.group(2)}("
        return f"XLFEXTERNAL.{m.group(2)}("

    return sub_outside_strings(_LINKED_CALL, local, text)


def _occupied(package: _Package, spills: list[_Spill]) -> dict[str, set[tuple[int, int]]]:
    """Cells that hold something other than a spilled result (they block spills)."""
    spilled: dict[str, set[tuple[int, int]]] = {}
    for s in spills:
        cells = spilled.setdefault(s.formula.sheet, set())
        cells.update(rc for rc in s.declared.cells() if rc != (s.formula.row, s.formula.col))
    out: dict[str, set[tuple[int, int]]] = {}
    for sheet in package.trees:
        cells = out.setdefault(sheet, set())
        for row, col, c in package.cells(sheet):
            if (row, col) in spilled.get(sheet, set()):
                continue
            if c.find(f"{_M}f") is not None or package.value(c) not in (None, ""):
                cells.add((row, col))
    return out


def _follow(box: _Box, old: _Box, new: _Box) -> _Box | None:
    """How a range that covered part of a spill range follows the spill's new size."""
    if box == old:
        return new
    inside = old.col <= box.col and box.last_col <= old.last_col and old.row <= box.row
    if inside and box.last_row == old.last_row and box.row <= new.last_row:
        return _Box(box.row, box.col, new.last_row, box.last_col)
    return None


def recalc_workbook(
    source: str | Path,
    output: str | Path | None = None,
    *,
    in_place: bool = False,
) -> RecalcResult:
    """Evaluate the formulas of ``source`` and write the values into a copy.

    Parameters
    ----------
    source : str or Path
        An .xlsx or .xlsm made from the template (or any workbook using the worksheet
        functions).
    output : str or Path, optional
        Where to write; defaults to :func:`default_output`. Ignored with ``in_place``.
    in_place : bool
        Overwrite ``source`` (atomically, once the copy is complete).

    A copy (not ``in_place``) is marked as xlfrontier's output (the custom document property
    of :mod:`xlfrontier.workbook._output`), so that the command line's next ``recalc`` may
    replace it until someone saves it.

    Returns
    -------
    RecalcResult

    Raises
    ------
    WorkbookError
        When the file is missing, not a workbook, damaged, has no formulas, or ``output`` is
        ``source`` without ``in_place``.
    ImportError
        When the ``formulas`` package (extra ``recalc``) is not installed.
    """
    source = Path(source)
    if not source.is_file():
        raise WorkbookError(
            f"{source} does not exist" if not source.exists() else f"{source} is not a file"
        )
    if source.suffix.lower() not in (".xlsx", ".xlsm"):
        raise WorkbookError(f"{source.name}: only .xlsx and .xlsm workbooks can be recalculated")
    dest = source if in_place else Path(output) if output is not None else default_output(source)
    if not in_place and dest.resolve() == source.resolve():
        raise WorkbookError(
            f"the output {dest.name} is the input file: choose another --out, "
            f"or pass --in-place to overwrite it"
        )
    _require_formulas()
    register_udfs()

    with contextlib.closing(_Package(source)) as package:
        return _recalc(package, dest, mark=not in_place)


def _recalc(package: _Package, dest: Path, *, mark: bool) -> RecalcResult:
    source = package.path
    all_formulas = package.formulas()
    if not all_formulas:
        raise WorkbookError(f"{source.name} has no formulas: nothing to recalculate")
    spills = [_Spill(f, f.array, f.array) for f in all_formulas if f.array is not None]
    occupied = _occupied(package, spills)
    names = {
        dn.get("name"): dn.text
        for dn in package.defined_names()
        if dn.text and dn.get("localSheetId") is None
    }
    result = RecalcResult(path=dest)

    with tempfile.TemporaryDirectory(prefix="xlfrontier-recalc-") as tmp:
        workdir = Path(tmp)
        values: dict[tuple[str, str], Any] = {}
        for _ in range(_MAX_PASSES):
            values = _evaluate(package, spills, names, workdir)
            result.passes += 1
            changed = False
            for spill in spills:
                if spill.blocked or spill.result is None or spill.result == spill.current.shape:
                    continue
                f = spill.formula
                new = _Box.sized(f.row, f.col, *spill.result)
                others = set().union(
                    *(
                        set(s.current.cells())
                        for s in spills
                        if s is not spill and s.formula.sheet == f.sheet
                    )
                )
                blockers = [
                    rc
                    for rc in new.cells()
                    if rc != (f.row, f.col) and (rc in occupied[f.sheet] or rc in others)
                ]
                if blockers:
                    spill.blocked = True
                    new = _Box.sized(f.row, f.col, 1, 1)
                old = spill.current
                for name, text in list(names.items()):
                    parsed = _parse_ref(text)
                    if parsed and parsed[0] == f.sheet:
                        moved = _follow(parsed[1], old, new)
                        if moved is not None and moved != parsed[1]:
                            names[name] = _format_ref(f.sheet, moved)
                spill.current = new
                changed = True
            if not changed:
                break

        replaced = _write_values(package, spills, all_formulas, values, result)
        replaced["xl/workbook.xml"] = _rename(package, names)
        replaced.update(_refresh_charts(package, spills, values))
        if mark:  # a copy is xlfrontier's; a workbook recalculated in place stays the user's
            replaced.update(package.mark_owned())
        # Complete in a temporary file before it replaces dest (or, in place, the source).
        with atomic_write(dest) as temp:
            package.write(temp, replaced)
            package.zip.close()  # Windows cannot replace a file that is still open
    return result


def _require_formulas() -> None:
    try:
        import formulas  # noqa: F401
        import lxml  # noqa: F401
        import openpyxl  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "recalculating needs the optional 'formulas' package: "
            'pip install "xlfrontier[recalc]" (or: pip install "formulas[excel]")'
        ) from err


def default_output(source: str | Path) -> Path:
    """``Book.xlsx`` -> ``Book.recalc.xlsx`` next to it."""
    source = Path(source)
    return source.with_name(f"{source.stem}.recalc{source.suffix}")


# --------------------------------------------------------------------------------------------
# Writing values back
# --------------------------------------------------------------------------------------------


def _plain(x: Any) -> Any:
    """Convert a `formulas` cell value to float, bool, str, None or an error value."""
    import schedula as sh
    from formulas.tokens.operand import XlError

    if x is sh.EMPTY or x is None:
        return None
    if isinstance(x, XlError):
        return _ErrorValue(str(x))
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        v = float(x)
        return _ErrorValue("#NUM!") if not math.isfinite(v) else v
    if isinstance(x, np.ndarray):
        return _plain(x.ravel()[0]) if x.size else None
    return str(x)


class _ErrorValue(str):
    """An Excel error value such as ``#N/A`` (written with ``t="e"``)."""


def _lookup(values: dict[tuple[str, str], Any], sheet: str, box: _Box) -> np.ndarray | None:
    v = values.get((sheet.upper(), box.text()))
    if v is None and box.shape == (1, 1):
        v = values.get((sheet.upper(), f"{box.text()}:{box.text()}"))
    if v is None:
        return None
    arr = np.asarray(v, dtype=object)
    return arr.reshape(1, 1) if arr.ndim == 0 else arr.reshape(arr.shape[0], -1)


def _set_cell(package: _Package, c: Any, value: Any, *, formula: bool) -> None:
    """Store ``value`` in cell element ``c`` (keeping its style and formula)."""
    etree = package.etree
    for child in list(c):
        if child.tag in (f"{_M}v", f"{_M}is"):
            c.remove(child)
    for attr in ("t",):
        c.attrib.pop(attr, None)
    if value is None or (value == "" and not formula):
        return
    if isinstance(value, _ErrorValue):
        c.set("t", "e")
        etree.SubElement(c, f"{_M}v").text = str(value)
    elif isinstance(value, bool):
        c.set("t", "b")
        etree.SubElement(c, f"{_M}v").text = "1" if value else "0"
    elif isinstance(value, float):
        etree.SubElement(c, f"{_M}v").text = repr(value)
    elif formula:
        c.set("t", "str")
        etree.SubElement(c, f"{_M}v").text = str(value)
    else:
        c.set("t", "inlineStr")
        is_ = etree.SubElement(c, f"{_M}is")
        t = etree.SubElement(is_, f"{_M}t")
        t.text = str(value)
        if value != value.strip():
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _cell_element(package: _Package, tree: Any, rows: dict[int, Any], row: int, col: int) -> Any:
    """Return the ``<c>`` element at (row, col), created in order when missing."""
    etree = package.etree
    sheet_data = tree.find(f"{_M}sheetData")
    r = rows.get(row)
    if r is None:
        r = etree.Element(f"{_M}row", r=str(row + 1))
        following = [k for k in rows if k > row]
        if following:
            rows[min(following)].addprevious(r)
        else:
            sheet_data.append(r)
        rows[row] = r
    ref = _cell(row, col)
    for c in r.iter(f"{_M}c"):
        if c.get("r") == ref:
            return c
        if _parse_cell(c.get("r"))[1] > col:
            new = etree.Element(f"{_M}c", r=ref)
            c.addprevious(new)
            return new
    new = etree.SubElement(r, f"{_M}c", r=ref)
    return new


def _write_values(
    package: _Package,
    spills: list[_Spill],
    formulas_: list[_Formula],
    values: dict[tuple[str, str], Any],
    result: RecalcResult,
) -> dict[str, bytes]:
    spill_at = {(s.formula.sheet, s.formula.row, s.formula.col): s for s in spills}
    replaced: dict[str, bytes] = {}
    for sheet, tree in package.trees.items():
        rows = {int(r.get("r")) - 1: r for r in tree.iter(f"{_M}row")}
        cells = {(row, col): c for row, col, c in package.cells(sheet)}
        touched = False
        for f in (f for f in formulas_ if f.sheet == sheet):
            touched = True
            result.formulas += 1
            anchor = cells[(f.row, f.col)]
            spill = spill_at.get((sheet, f.row, f.col))
            where = f"{sheet}!{_cell(f.row, f.col)}"
            if spill is None:
                arr = _lookup(values, sheet, _Box(f.row, f.col, f.row, f.col))
                value = _plain(arr[0, 0]) if arr is not None else _ErrorValue("#NAME?")
                _set_cell(package, anchor, value, formula=True)
                _note_error(result, where, value)
                continue
            box = spill.current
            arr = _lookup(values, sheet, box)
            old = spill.declared
            if spill.blocked:
                assert spill.result is not None  # blocked: the size it needs is known
                text = (
                    f"#SPILL! the result needs {spill.result[0]} x {spill.result[1]} cells "
                    f"from {_cell(f.row, f.col)}: clear the cells in the way"
                )
                arr = np.array([[text]], dtype=object)
            elif arr is None:
                arr = np.full(box.shape, _ErrorValue("#NAME?"), dtype=object)
            f_el = anchor.find(f"{_M}f")
            f_el.set("ref", box.text())
            if box != old:
                result.resized.append(f"{where}: {old.text()} -> {box.text()}")
            for rc in set(old.cells()) - set(box.cells()):
                if rc in cells:
                    _set_cell(package, cells[rc], None, formula=False)
            for (i, j), x in np.ndenumerate(arr):
                rc = (box.row + i, box.col + j)
                value = _plain(x)
                if rc == (f.row, f.col):
                    _set_cell(package, anchor, value, formula=True)
                else:
                    c = cells.get(rc)
                    if c is None:
                        c = _cell_element(package, tree, rows, *rc)
                        cells[rc] = c
                        _copy_style(anchor, c, cells, rc, old)
                    _set_cell(package, c, value, formula=False)
                _note_error(result, where, value)
        if touched:
            _fix_dimension(tree, cells)
            replaced[package.sheet_parts[sheet]] = package.serialize(tree)
    return replaced


def _copy_style(
    anchor: Any, c: Any, cells: dict[tuple[int, int], Any], rc: tuple[int, int], old: _Box
) -> None:
    """Give a new spill cell the style of the last cell of its column in the old range."""
    row = min(rc[0], old.last_row)
    col = min(rc[1], old.last_col)
    source = cells.get((row, col))
    if source is None:
        source = anchor
    if source.get("s") is not None:
        c.set("s", source.get("s"))


def _fix_dimension(tree: Any, cells: dict[tuple[int, int], Any]) -> None:
    dim = tree.find(f"{_M}dimension")
    if dim is None or not cells:
        return
    rows = [rc[0] for rc in cells]
    cols = [rc[1] for rc in cells]
    dim.set("ref", _Box(min(rows), min(cols), max(rows), max(cols)).text())


def _note_error(result: RecalcResult, where: str, value: Any) -> None:
    is_error = isinstance(value, _ErrorValue) or (isinstance(value, str) and value.startswith("#"))
    if is_error and not any(e.startswith(where + ":") for e in result.errors):
        result.errors.append(f"{where}: {value}")


def _rename(package: _Package, names: dict[str, str]) -> bytes:
    for dn in package.defined_names():
        if dn.get("localSheetId") is None and dn.get("name") in names:
            dn.text = names[dn.get("name")]
    return package.serialize(package.workbook)


def _refresh_charts(
    package: _Package, spills: list[_Spill], values: dict[tuple[str, str], Any]
) -> dict[str, bytes]:
    """Point chart series at resized spill ranges and refresh their cached data."""
    grid = _final_grid(package, spills, values)
    replaced = {}
    etree = package.etree
    for part, tree in package.charts().items():
        before = package.serialize(tree)
        for f in tree.iter(f"{_C}f"):
            parsed = _parse_ref(f.text or "")
            if parsed is None:
                continue
            sheet, box = parsed
            for spill in spills:
                if spill.formula.sheet == sheet and spill.current != spill.declared:
                    moved = _follow(box, spill.declared, spill.current)
                    if moved is not None:
                        box = moved
            f.text = _format_ref(sheet, box) if _format_ref(sheet, box) != f.text else f.text
            cache = f.getnext()
            if cache is None or cache.tag not in (f"{_C}numCache", f"{_C}strCache"):
                continue
            cells = [grid.get(sheet, {}).get(rc) for rc in box.cells()]
            numeric = cache.tag == f"{_C}numCache"
            fmt = cache.find(f"{_C}formatCode")
            for child in list(cache):
                if child is not fmt:
                    cache.remove(child)
            etree.SubElement(cache, f"{_C}ptCount", val=str(len(cells)))
            for idx, v in enumerate(cells):
                if v is None or (numeric and not isinstance(v, float)):
                    continue
                pt = etree.SubElement(cache, f"{_C}pt", idx=str(idx))
                etree.SubElement(pt, f"{_C}v").text = repr(v) if numeric else str(v)
        after = package.serialize(tree)
        if after != before:  # keep untouched charts byte for byte
            replaced[part] = after
    return replaced


def _final_grid(
    package: _Package, spills: list[_Spill], values: dict[tuple[str, str], Any]
) -> dict[str, dict[tuple[int, int], Any]]:
    """Every cell's value after recalculation (constants as stored, formulas as computed)."""
    grid: dict[str, dict[tuple[int, int], Any]] = {}
    for sheet in package.trees:
        cells = grid.setdefault(sheet, {})
        for row, col, c in package.cells(sheet):
            v = package.value(c)
            cells[(row, col)] = v if not isinstance(v, str) or v else None
    return grid
