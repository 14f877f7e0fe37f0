"""The add-in's VBA compiles on Excel 2016/2019: no dynamic-array member is early-bound.

VBA compiles a whole module on first use. A member that Excel 2016/2019's type library lacks
(``Range.HasSpill``, ``Range.Formula2``, ``WorksheetFunction.Unique``...) called on an object
of a known type stops the module with "Method or data member not found", which
``On Error Resume Next`` cannot catch. Such members must be called late-bound: through
``CallByName`` or on a variable declared ``As Object`` (or ``Variant``).

:func:`early_bound_uses` reads each module (as olevba reads it from the built file) and reports
every use of such a member whose receiver is not a plain ``Object``/``Variant`` variable: a
``Range`` variable, ``Selection``, ``ActiveCell``, ``Range("A1")``, a member chain, or a
``With`` block on any of those.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pyopenvba")
pytest.importorskip("oletools")

from test_addin import olevba_modules

from xlfrontier.excel import addin

#: Range members that exist only in Excels with dynamic arrays (Microsoft 365 / 2021+).
DA_MEMBERS = (
    "HasSpill",
    "SpillingToRange",
    "SpillParent",
    "Formula2",
    "Formula2R1C1",
    "Formula2Local",
    "Formula2R1C1Local",
    "SavedAsArray",
)
#: WorksheetFunction methods of the same era.
DA_FUNCTIONS = (
    "Unique",
    "Sort",
    "SortBy",
    "Filter",
    "Sequence",
    "RandArray",
    "XLookup",
    "XMatch",
)
_LATE = {"object", "variant"}
_DECLARATION = re.compile(
    r"^\s*(?:Dim|Private|Public|Static|Global)\s+(?!Sub\b|Function\b|Const\b|Declare\b|Type\b)(.*)$",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"^\s*(?:(?:Public|Private|Friend)\s+)?(?:Static\s+)?(?:Function|Sub|Property\s+\w+)\s+\w+"
    r"\s*\((.*)\)",
    re.IGNORECASE,
)
_END = re.compile(r"^\s*End\s+(?:Function|Sub|Property)\b", re.IGNORECASE)


def _logical_lines(code):
    """Code lines with strings emptied, comments dropped and ``_`` continuations joined.

    A joined statement sits at the index of its first physical line; the lines it swallowed
    become empty, so that indices stay physical line numbers.
    """
    out, start = [], None
    for raw in code.replace("\r\n", "\n").split("\n"):
        line = re.sub(r'"(?:[^"]|"")*"', '""', raw).split("'", 1)[0]
        continued = re.search(r"\s_\s*$", line)
        if continued:
            line = line.rstrip()[:-1] + " "
        if start is None:
            out.append(line)
        else:
            out[start] += line
            out.append("")
        start = (start if start is not None else len(out) - 1) if continued else None
    return out


def _declared(text):
    """{name: type} of a declaration list ``a As Range, b, ByVal c As Object``."""
    found = {}
    for part in re.split(r",(?![^(]*\))", text):
        part = re.sub(r"^\s*(?:Optional\s+)?(?:ByVal\s+|ByRef\s+)?(?:ParamArray\s+)?", "", part)
        match = re.match(r"(\w+)\s*(?:\([^)]*\))?\s*(?:As\s+(?:New\s+)?([\w.]+))?", part, re.I)
        if match:
            found[match.group(1).lower()] = (match.group(2) or "Variant").lower()
    return found


def early_bound_uses(code):
    """Every use of a dynamic-array-era member that VBA would bind at compile time.

    Returns a list of ``(line number, text)``.
    """
    members = "|".join(DA_MEMBERS)
    functions = "|".join(DA_FUNCTIONS)
    module_vars, local_vars, with_stack, found = {}, None, [], []
    for number, line in enumerate(_logical_lines(code), start=1):
        header = _HEADER.match(line)
        if header:
            local_vars = _declared(header.group(1))
            continue
        if _END.match(line):
            local_vars, with_stack = None, []
            continue
        declaration = _DECLARATION.match(line)
        if declaration:
            (module_vars if local_vars is None else local_vars).update(
                _declared(declaration.group(1))
            )
            continue
        scope = {**module_vars, **(local_vars or {})}

        def late(receiver, scope=scope):
            name = receiver.strip()
            return re.fullmatch(r"\w+", name) is not None and scope.get(name.lower()) in _LATE

        with_match = re.match(r"^\s*With\s+(.*\S)\s*$", line, re.IGNORECASE)
        if with_match:
            with_stack.append(with_match.group(1))
        elif re.match(r"^\s*End\s+With\b", line, re.IGNORECASE):
            with_stack.pop()
        for match in re.finditer(rf"\.\s*({members})\b", line):
            receiver = _receiver(line, match.start(1))
            if receiver is None:  # ".Member" inside a With block
                receiver = with_stack[-1] if with_stack else ""
            if not late(receiver):
                found.append((number, line.strip()))
                break
        for match in re.finditer(rf"\.\s*({functions})\s*\(", line, re.IGNORECASE):
            receiver = _receiver(line, match.start(1))
            if receiver is None:
                receiver = with_stack[-1] if with_stack else ""
            if re.search(r"WorksheetFunction\s*$", receiver, re.IGNORECASE):
                found.append((number, line.strip()))
    return found


def _receiver(line, member_at):
    """The expression before ``.Member`` at ``member_at``, or None for a With-block dot."""
    dot = line.rindex(".", 0, member_at)
    before = line[:dot].rstrip()
    if not before or not re.search(r"[\w)]$", before):
        return None
    # Walk back over one primary expression: identifiers, dots, balanced brackets.
    depth, i = 0, len(before)
    while i > 0:
        ch = before[i - 1]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and not (ch.isalnum() or ch in "_."):
            break
        i -= 1
    return before[i:]


# ------------------------------------------------------------------------------ the checker


PLANTED = """\
Attribute VB_Name = "Planted"
Option Explicit
Private moduleRange As Range
Private moduleObject As Object

Private Function Violations(ByVal cell As Range, anything) As Boolean
    Dim rng As Range, o As Object, v As Variant
    Violations = cell.HasSpill
    Selection.Formula2 = "=SEQUENCE(3)"
    ActiveCell.Formula2R1C1 = "=1"
    Set rng = Range("A1").SpillParent
    Set rng = Worksheets(1).Range("A1").SpillingToRange
    Set rng = moduleRange.SpillingToRange
    With rng
        Set rng = .SpillingToRange
    End With
    With Selection
        .Formula2 = _
            "=1"
    End With
    v = Application.WorksheetFunction.Unique(rng)
    v = WorksheetFunction.Sort(rng)
    Debug.Print cell.SavedAsArray
End Function

Private Function Allowed(ByVal cell As Range, anything) As Boolean
    Dim o As Object, v As Variant
    Set o = cell
    Allowed = CallByName(cell, "HasSpill", VbGet)   ' cell.HasSpill in a comment
    Allowed = o.HasSpill
    Set o = o.SpillingToRange
    v = anything.Formula2
    With o
        Allowed = .HasSpill
    End With
    Set o = moduleObject.SpillParent
    Debug.Print ".Formula2 in a string", cell.HasArray, cell.Formula
    cell.Sort Key1:=cell                          ' Range.Sort is old
    v = Filter(Array("a"), "a")                   ' VBA's own Filter
    v = CallByName(Application.WorksheetFunction, "Unique", VbMethod, cell)
End Function
"""


def test_the_checker_finds_every_planted_violation_and_nothing_else():
    found = early_bound_uses(PLANTED)
    lines = PLANTED.splitlines()
    flagged = [lines[n - 1].strip() for n, _ in found]
    assert flagged == [
        "Violations = cell.HasSpill",
        'Selection.Formula2 = "=SEQUENCE(3)"',
        'ActiveCell.Formula2R1C1 = "=1"',
        'Set rng = Range("A1").SpillParent',
        'Set rng = Worksheets(1).Range("A1").SpillingToRange',
        "Set rng = moduleRange.SpillingToRange",
        "Set rng = .SpillingToRange",
        ".Formula2 = _",
        "v = Application.WorksheetFunction.Unique(rng)",
        "v = WorksheetFunction.Sort(rng)",
        "Debug.Print cell.SavedAsArray",
    ]


def test_the_template_has_the_problem_this_guards_against():
    """xlwings' own runtime calls WorksheetFunction.Unique early-bound."""
    runtime = olevba_modules(addin.xlwings_template())["xlwings"]
    assert [text for _, text in early_bound_uses(runtime)] == [
        'Application.WorksheetFunction.Unique ("")'
    ]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = addin.build_addin(tmp_path_factory.mktemp("compat") / addin.ADDIN_FILENAME)
    return olevba_modules(out.path)


def test_no_module_of_the_built_add_in_binds_a_dynamic_array_member_early(built):
    assert set(built) >= {"xlwings", addin.RIBBON_MODULE, addin.UDF_VBA_MODULE}
    for name, code in built.items():
        assert early_bound_uses(code) == [], name
    # The members are still used, late-bound.
    assert 'CallByName(cell, "HasSpill", VbGet)' in built[addin.RIBBON_MODULE]
    assert 'CallByName(cell, "SpillingToRange", VbGet)' in built[addin.RIBBON_MODULE]
    assert 'CallByName Application.WorksheetFunction, "Unique"' in built["xlwings"]


def test_a_planted_violation_in_a_built_add_in_is_caught(tmp_path, monkeypatch):
    body = addin._RIBBON_BODY.replace(
        'spills = CallByName(cell, "HasSpill", VbGet)', "spills = cell.HasSpill"
    )
    assert body != addin._RIBBON_BODY
    monkeypatch.setattr(addin, "_RIBBON_BODY", body)
    out = addin.build_addin(tmp_path / addin.ADDIN_FILENAME)
    ribbon = olevba_modules(out.path)[addin.RIBBON_MODULE]
    assert [text for _, text in early_bound_uses(ribbon)] == ["spills = cell.HasSpill"]


def test_recalculate_rebuilds_so_name_errors_relink(built):
    from test_addin_security import procedures

    recalculate = procedures(built[addin.RIBBON_MODULE])["Recalculate"]
    assert "Application.CalculateFullRebuild" in recalculate
    assert not re.search(r"Application\.CalculateFull\s*$", recalculate, re.MULTILINE)


def test_the_ribbon_part_and_its_relationship_match(tmp_path):
    """A 2006/01 customUI.xml, pointed at by the 2006 relationship type (MS-OI29500)."""
    import zipfile
    from xml.etree import ElementTree

    out = addin.build_addin(tmp_path / addin.ADDIN_FILENAME, udf_modules=addin.UDF_MODULES)
    with zipfile.ZipFile(out.path) as z:
        names = z.namelist()
        rels = ElementTree.fromstring(z.read("_rels/.rels"))
        ui = ElementTree.fromstring(z.read("customUI/customUI.xml"))
    with zipfile.ZipFile(addin.xlwings_template()) as z:
        template_rels = z.read("_rels/.rels").decode()
    assert ui.tag == "{http://schemas.microsoft.com/office/2006/01/customui}customUI"
    ns = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    ribbon = [
        r.attrib for r in rels.iter(f"{ns}Relationship") if "ui/extensibility" in r.get("Type")
    ]
    assert ribbon == [
        {
            "Id": ribbon[0]["Id"],
            "Type": "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
            "Target": "customUI/customUI.xml",
        }
    ]
    assert "customUI/customUI14.xml" not in names
    # xlwings' template pairs the same part with the 2007 type (what this fixes).
    assert "office/2007/relationships/ui/extensibility" in template_rels


def test_no_temporary_bas_file_is_left_behind(tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "temp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    addin.generate_udf_wrappers(addin.UDF_MODULES)
    assert list(scratch.iterdir()) == []


def test_references_carry_no_personal_path(tmp_path):
    from pyopenvba import ExcelFile

    out = addin.build_addin(tmp_path / addin.ADDIN_FILENAME)
    with ExcelFile(str(out.path)) as book:
        references = book.vba_project().references
    with ExcelFile(str(addin.xlwings_template())) as book:
        template = book.vba_project().references
    assert any("users" in str(r).lower() for r in template)  # what this fixes
    assert [r.name for r in references] == ["Office"]  # IRibbonControl needs it
    assert not any("users" in str(r).lower() for r in references)


def test_two_builds_are_byte_identical(tmp_path):
    first = addin.build_addin(tmp_path / "a" / addin.ADDIN_FILENAME).path.read_bytes()
    second = addin.build_addin(tmp_path / "b" / addin.ADDIN_FILENAME).path.read_bytes()
    assert first == second
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(first)) as z:
        stamps = {info.date_time for info in z.infolist()}
    with zipfile.ZipFile(addin.xlwings_template()) as z:
        assert stamps == {info.date_time for info in z.infolist()}  # the template's, fixed


def test_the_vba_sources_ship_as_package_data():
    """Found through importlib.resources, as in an installed wheel, and used as they are."""
    from importlib.resources import files

    folder = files("xlfrontier.excel").joinpath("vba")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".bas"))
    assert names == ["ribbon_body.bas", "this_workbook.bas", "xlwings_runtime.bas"]
    ribbon = folder.joinpath("ribbon_body.bas").read_text(encoding="utf-8")
    assert ribbon.replace("\r\n", "\n") == addin._RIBBON_BODY
    assert "Public Sub Recalculate(control As IRibbonControl)" in ribbon
    assert 'CallByName(cell, "HasSpill", VbGet)' in ribbon


def test_pyproject_ships_the_vba_folder():
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path

    import xlfrontier

    pyproject = Path(xlfrontier.__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.is_file():  # pragma: no cover - installed without the source tree
        pytest.skip("no pyproject.toml next to the package")
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    assert "excel/vba/*.bas" in data["tool"]["setuptools"]["package-data"]["xlfrontier"]


# ------------------------------------------------------------------------------ Diagnose


def test_diagnose_is_wired_to_its_callback(built, tmp_path):
    import zipfile
    from xml.etree import ElementTree

    from test_addin import parse_vba, public_subs

    out = addin.build_addin(tmp_path / addin.ADDIN_FILENAME)
    with zipfile.ZipFile(out.path) as z:
        ui = ElementTree.fromstring(z.read("customUI/customUI.xml"))
    ns = {"ui": "http://schemas.microsoft.com/office/2006/01/customui"}
    [tab] = ui.findall("ui:ribbon/ui:tabs/ui:tab", ns)
    assert tab.get("label") == "Portfolio"
    buttons = {b.get("label"): b.get("onAction") for b in tab.iter(f"{{{ns['ui']}}}button")}
    assert buttons["Diagnose"] == f"{addin.RIBBON_MODULE}.Diagnose"
    sub = public_subs(parse_vba(addin.RIBBON_MODULE, built[addin.RIBBON_MODULE]))["Diagnose"]
    assert [(p.name, p.declared) for p in sub.params] == [("control", "IRibbonControl")]


def test_diagnose_checks_before_python_then_runs_the_doctor(built):
    from test_addin_security import procedures

    procs = procedures(built[addin.RIBBON_MODULE])
    diagnose = procs["Diagnose"]
    order = [
        "If Not fso.FileExists(conf) Then",  # config file present
        'interpreter = GetConfig("INTERPRETER_WIN", "")',  # readable, interpreter set
        "If Not fso.FileExists(interpreter) Then",
        "#If Win64 Then",  # Excel's bitness
        'dllName = "xlwings" & bitness & "-" & XLWINGS_VERSION & ".dll"',  # where XLPyLoadDLL looks
        "inStartup = (StrComp(ThisWorkbook.Path, Application.StartupPath, vbTextCompare) = 0)",
        'console = fso.BuildPath(fso.GetParentFolderName(interpreter), "python.exe")',
        "code = shell.Run(command, 0, True)",  # hidden, waited for
        "text = text & vbLf & InExcelCheck()",
    ]
    positions = [diagnose.index(step) for step in order]
    assert positions == sorted(positions)
    assert diagnose.count("DiagnoseStop ") == 5  # one sentence per blocking failure
    assert diagnose.count("Exit Sub") == 5
    command = re.search(r"command = (.*?)\n\s*Application\.StatusBar", diagnose, re.S).group(1)
    assert re.sub(r"\s*_\n\s*", " ", command) == (
        'Quoted(console) & " -m xlfrontier doctor --excel-bitness " & bitness & '
        '" --addin " & Quoted(ThisWorkbook.FullName) & " --startup-path " & '
        'Quoted(Application.StartupPath) & " --report " & Quoted(report)'
    )
    # Late-bound: no early-bound library type anywhere in the module.
    assert 'Set shell = CreateObject("WScript.Shell")' in diagnose
    assert 'CreateObject("ADODB.Stream")' in diagnose
    assert not re.search(
        r"As\s+(New\s+)?(WshShell|IWshRuntimeLibrary|Scripting\.|ADODB\.)", diagnose
    )
    assert 'stream.Charset = "utf-8"' in diagnose
    assert "MINVAR_WEIGHTS({0.1;0.1},{0.04,0;0,0.04},0.1)" in procs["InExcelCheck"]


@pytest.mark.parametrize(
    "path", [r"C:\Program Files\A&B ^C (x)\python.exe", r"C:\Users\Zoë O'Neil\AppData\x.xlam"]
)
def test_diagnose_quotes_each_path_for_create_process(built, path):
    from pyopenvba.apps.excel import ExcelApplication
    from test_addin_security import procedures, windows_argv

    quoted = procedures(built[addin.RIBBON_MODULE])["Quoted"]
    source = (
        'Attribute VB_Name = "Q"\nPrivate Const APP_TITLE As String = "xlfrontier"\n'
        + quoted
        + "\nPublic Function Joined(p As String) As String\n"
        + '    Joined = Quoted("C:\\py.exe") & " -m x --addin " & Quoted(p)\n'
        + "End Function\n"
    )
    app = ExcelApplication()
    app.add_module(source.replace("\n", "\r\n"), name="Q")
    line = app.run("Joined", path)
    assert windows_argv(line) == ["C:\\py.exe", "-m", "x", "--addin", path]
