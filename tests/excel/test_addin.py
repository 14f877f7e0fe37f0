"""The add-in builds on Linux, and the file holds what Excel needs.

Checked here, without Excel:

- the package is sound (pyOpenVBA's ``check_file``) and olevba, an independent reader, reads
  back every VBA module, each with the text the builder meant to write;
- ``xlwings_udfs`` is exactly what xlwings' own "Import Functions" writes (``import_udfs``
  called here directly, with a mock workbook), for a sample module and for
  ``xlfrontier.udfs``, also when the build runs in a fresh process without the pywin32 stubs
  (as ``xlfrontier addin build`` does on Linux CI);
- the function-wizard module replays the same ``MacroOptions`` calls, checked by running it in
  pyOpenVBA's VBA interpreter;
- the ribbon XML is well formed and every ``onAction`` names a Public Sub with the ribbon
  signature; every module parses as VBA;
- ``PROJECT_NAME`` and the VBA project name, the xlwings version and DLL name, the emptied
  config sheet, determinism
  (the security of the patched runtime: tests/excel/test_addin_security.py);
- the Freeze-values and Check-inputs logic, run in pyOpenVBA's simulated Excel (VBA semantics
  as pyOpenVBA implements them, not Excel's: see the README's list of what needs Excel);
- the config file: keys, format (read back with xlwings' own Python reader), ASCII, the
  ``%VARIABLE%`` form for non-ASCII user names, updates in place.

Not checked here: that Excel opens the file, compiles the VBA and shows the ribbon.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path
from unittest import mock
from xml.etree import ElementTree

import pytest

pytest.importorskip("pyopenvba")
pytest.importorskip("oletools")

import xlwings

with warnings.catch_warnings():
    # oletools 0.60 calls pyparsing's deprecated enablePackrat() when imported.
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser
from pyopenvba import ExcelFile, check_file
from pyopenvba.apps.excel import ExcelApplication
from pyopenvba.cfb import CFB
from pyopenvba.interpreter import parse_module

import xlfrontier
from xlfrontier.excel import addin

SAMPLE_MODULE = "xlf_addin_sample_udfs"
SAMPLE_SOURCE = '''\
"""Worksheet functions for the add-in builder tests (not part of xlfrontier)."""

import xlwings as xw


@xw.func(category="xlfrontier")
@xw.arg("mu", doc="Expected returns \u03bc, one per asset")
@xw.arg("cov", doc='Covariance \u03a3 ("square")')
def SAMPLE_WEIGHTS(mu, cov, target=0.1):
    """Minimum-variance weights \u2013 for a target return.

    Second line.
    """
    return mu


@xw.func
def CHECK_INPUTS(mu, cov, rf=0.0):
    return [["ok"]]


@xw.func(volatile=True, call_in_wizard=False)
def SAMPLE_SUM(*values):
    return sum(values)
'''
EXPECTED_MODULES = {
    "ThisWorkbook",
    "Dictionary",
    "Sheet2",
    "xlwings",
    addin.UDF_VBA_MODULE,
    addin.REGISTER_VBA_MODULE,
    addin.RIBBON_MODULE,
}


# ------------------------------------------------------------------------------ helpers


def _xl_udfs():
    """``xlwings.udfs`` as the stub harness left it (tests/excel/conftest.py)."""
    module = sys.modules.get("xlwings.udfs")
    if module is None:  # no conftest set the harness up: do it here
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import win32_stubs

        module = win32_stubs.install()[1]
    return module


def xlwings_import_functions(module_name):
    """What xlwings' own "Import Functions" writes into an add-in named xlfrontier.xlam.

    Returns the text of the .bas file it imports (CRLF, as on Windows) and its
    ``Application.MacroOptions`` calls.
    """
    xl_udfs = _xl_udfs()
    seen = {}
    book = mock.MagicMock(Name="xlfrontier.xlam")
    book.Application.Version = "16.0"
    book.VBProject.VBComponents.Import.side_effect = lambda p: seen.setdefault(
        "bas", Path(p).read_bytes()
    )
    decorators = {"func": xl_udfs.xlfunc, "arg": xl_udfs.xlarg, "ret": xl_udfs.xlret}
    with mock.patch.multiple(xlwings, **decorators):
        xl_udfs.get_udf_module(module_name, None)  # imports (real decorators) and caches it
    with contextlib.redirect_stdout(io.StringIO()):
        xl_udfs.import_udfs(module_name, book)
    text = seen["bas"].decode("ascii").replace("\r\n", "\n").replace("\n", "\r\n")
    return text, book.Application.MacroOptions.call_args_list


def olevba_modules(path):
    """Every VBA module of ``path`` as olevba reads it: {module name: source}."""
    parser = VBA_Parser(str(path))
    try:
        return {Path(vba_file).stem: code for _, _, vba_file, code in parser.extract_macros()}
    finally:
        parser.close()


def parse_vba(name, code):
    """Parse with pyOpenVBA's VBA parser (raises VBACompileError on invalid VBA).

    Its preprocessor does not accept a comment after a ``#Const`` directive, which VBA does
    (xlwings writes ``#Const App = "Microsoft Excel" 'Adjust when...``): that comment goes.
    """
    code = re.sub(r"(?m)^([ \t]*#[^'\r\n]*?)[ \t]*'[^\r\n]*(?=\r?$)", r"\1", code)
    kind = "standard" if "VB_Base" not in code.split("\n", 3)[1] else "class"
    return parse_module(code, name=name, kind=kind)


def public_subs(module):
    return {p.name: p for p in module.procedures if p.scope == "public" and p.kind == "sub"}


def _python_path(*extra):
    roots = [str(Path(xlfrontier.__file__).resolve().parents[1]), *map(str, extra)]
    return os.pathsep.join([*roots, os.environ.get("PYTHONPATH", "")])


def _fresh_build(out, udf_modules, *extra_path):
    """``python -m xlfrontier.excel.addin build`` in a new interpreter: no pywin32 stubs."""
    env = {**os.environ, "PYTHONPATH": _python_path(*extra_path)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "xlfrontier.excel.addin",
            "build",
            "--out",
            str(out),
            "--udf-modules",
            udf_modules,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample_udfs")
    (folder / f"{SAMPLE_MODULE}.py").write_text(SAMPLE_SOURCE, encoding="utf-8")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    sys.modules.pop(SAMPLE_MODULE, None)
    _xl_udfs().udf_modules.pop(SAMPLE_MODULE, None)


@pytest.fixture(scope="module")
def sample_build(sample_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample_build") / addin.ADDIN_FILENAME
    return addin.build_addin(out, udf_modules=SAMPLE_MODULE)


@pytest.fixture(scope="module")
def sample_modules(sample_build):
    return olevba_modules(sample_build.path)


@pytest.fixture(scope="module")
def real_udfs():
    try:
        return importlib.import_module(addin.UDF_MODULES)
    except ImportError as err:  # pragma: no cover - until xlfrontier.udfs exists
        pytest.skip(f"{addin.UDF_MODULES} is not importable: {err}")


@pytest.fixture(scope="module")
def real_build(real_udfs, tmp_path_factory):
    return addin.build_addin(tmp_path_factory.mktemp("real_build") / addin.ADDIN_FILENAME)


@pytest.fixture(scope="module")
def real_modules(real_build):
    return olevba_modules(real_build.path)


@pytest.fixture(scope="module")
def template_modules():
    return olevba_modules(addin.xlwings_template())


# ------------------------------------------------------------------------------ the file


def test_build_writes_a_sound_xlam(sample_build):
    report = check_file(sample_build.path)
    assert report.ok, report.issues
    with zipfile.ZipFile(sample_build.path) as z:
        types = z.read("[Content_Types].xml").decode()
        rels = z.read("_rels/.rels").decode()
    assert "application/vnd.ms-excel.addin.macroEnabled.main+xml" in types
    assert 'Target="customUI/customUI.xml"' in rels
    assert sample_build.functions == ("CHECK_INPUTS", "SAMPLE_SUM", "SAMPLE_WEIGHTS")
    assert sample_build.xlwings_version == xlwings.__version__
    assert sample_build.check_inputs


def test_olevba_reads_every_module_as_written(sample_build, sample_modules, template_modules):
    assert set(sample_modules) == EXPECTED_MODULES
    wrappers = addin.generate_udf_wrappers(SAMPLE_MODULE)
    assert sample_modules[addin.UDF_VBA_MODULE] == wrappers.vba
    assert sample_modules[addin.REGISTER_VBA_MODULE] == addin.register_vba(wrappers.macro_options)
    assert wrappers.modules == dict.fromkeys(wrappers.functions, SAMPLE_MODULE)
    assert sample_modules[addin.RIBBON_MODULE] == addin.ribbon_vba(
        wrappers.functions, modules=wrappers.modules
    )
    assert "Private Sub Workbook_Open()\r\n" in sample_modules["ThisWorkbook"]
    for name in ("Dictionary", "Sheet2"):  # the template's own modules, untouched
        assert sample_modules[name] == template_modules[name]


def test_the_xlwings_runtime_changes_only_where_it_must(sample_modules, template_modules):
    """Settings lookups replaced, workbook entry points removed, everything else xlwings'."""
    from test_addin_security import procedures

    ours, theirs = procedures(sample_modules["xlwings"]), procedures(template_modules["xlwings"])
    replaced = set(addin._RUNTIME_REPLACED)
    assert set(theirs) - set(ours) == set(addin._RUNTIME_REMOVED)
    assert set(ours) - set(theirs) == {"ConfigFlag", "ConfiguredInterpreter"}
    for name in set(ours) & set(theirs):
        assert (ours[name] == theirs[name]) == (name not in replaced), name
    assert 'Public Const PROJECT_NAME As String = "xlfrontier"' in sample_modules["xlwings"]
    assert sample_modules["xlwings"].startswith(
        'Attribute VB_Name = "xlwings"\nOption Private Module\n'
    )


def test_runtime_matches_the_installed_xlwings(sample_modules):
    runtime = sample_modules["xlwings"]
    version = xlwings.__version__
    assert f'XLWINGS_VERSION As String = "{version}"' in runtime
    assert f'"xlwings64-{version}.dll"' in runtime
    assert f'"xlwings32-{version}.dll"' in runtime
    # Settings come from %USERPROFILE%\.xlfrontier\xlfrontier.conf.
    assert 'Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"' in (
        runtime
    )
    assert all("myaddin" not in code.lower() for code in sample_modules.values())


def test_the_config_sheet_is_gone(sample_build):
    with zipfile.ZipFile(sample_build.path) as z:
        workbook = ElementTree.fromstring(z.read("xl/workbook.xml"))
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    names = [s.get("name") for s in workbook.iterfind("m:sheets/m:sheet", ns)]
    # The add-in's one sheet is empty; settings are never read from a sheet.
    assert names == ["xlfrontier"]
    assert "<sheetData />" in sheet
    assert 'count="0"' in strings
    assert "felix" not in ElementTree.tostring(workbook, encoding="unicode").lower()


def test_the_vba_project_is_named_xlfrontier(sample_build):
    # The name sits in the PROJECT stream and in the dir stream's PROJECTNAME record; read the
    # first as text and the second through pyOpenVBA's own dir-stream parser.
    with zipfile.ZipFile(sample_build.path) as z:
        project_bin = z.read("xl/vbaProject.bin")
    text = CFB.from_bytes(project_bin).get_stream("PROJECT").decode("latin-1")
    assert re.findall(r'(?m)^Name="([^"]*)"\r$', text) == [addin.VBA_PROJECT_NAME]
    with ExcelFile(sample_build.path) as book:
        assert book.vba_project().name == "xlfrontier"
    assert "MyAddin" not in text


def test_a_project_name_vba_cannot_take_is_refused():
    with zipfile.ZipFile(addin.xlwings_template()) as z:
        project_bin = z.read("xl/vbaProject.bin")
    with pytest.raises(addin.AddinError, match="not a valid VBA project name"):
        addin._rename_vba_project(project_bin, "x-frontier")


def test_build_is_deterministic(sample_dir, sample_build, tmp_path):
    again = addin.build_addin(tmp_path / addin.ADDIN_FILENAME, udf_modules=SAMPLE_MODULE)
    assert again.path.read_bytes() == sample_build.path.read_bytes()


# ------------------------------------------------------------------------------ UDF wrappers


def test_wrappers_equal_xlwings_import_functions(sample_modules):
    expected, _ = xlwings_import_functions(SAMPLE_MODULE)
    assert sample_modules[addin.UDF_VBA_MODULE] == expected
    # An add-in's wrappers hand Python the workbook that calls them.
    assert "ActiveWorkbook, Application.Caller" in expected
    assert "ThisWorkbook" not in expected
    for name in ("SAMPLE_WEIGHTS", "CHECK_INPUTS", "SAMPLE_SUM"):
        assert f"Function {name}(" in expected


def test_wrappers_of_xlfrontier_udfs_equal_xlwings_import_functions(real_udfs, real_modules):
    expected, _ = xlwings_import_functions(addin.UDF_MODULES)
    assert real_modules[addin.UDF_VBA_MODULE] == expected
    # Generated from whatever the module defines, not from a list.
    names = sorted(
        getattr(real_udfs, a).__xlfunc__["name"]
        for a in dir(real_udfs)
        if hasattr(getattr(real_udfs, a), "__xlfunc__")
    )
    declared = re.findall(r"(?m)^Function (\w+)\(", expected)
    assert sorted(declared) == names
    assert "MINVAR_WEIGHTS" in names


def test_fresh_process_without_stubs_builds_the_same(sample_dir, sample_modules, tmp_path):
    done = _fresh_build(tmp_path / "x.xlam", SAMPLE_MODULE, sample_dir)
    assert done.returncode == 0, done.stderr
    assert "3 worksheet functions" in done.stdout
    fresh = olevba_modules(tmp_path / "x.xlam")
    assert fresh == sample_modules


def test_fresh_process_builds_xlfrontier_udfs_the_same(real_modules, tmp_path):
    done = _fresh_build(tmp_path / "x.xlam", addin.UDF_MODULES)
    assert done.returncode == 0, done.stderr
    assert (
        olevba_modules(tmp_path / "x.xlam")[addin.UDF_VBA_MODULE]
        == (real_modules[addin.UDF_VBA_MODULE])
    )


def test_off_windows_generation_leaves_no_trace(sample_dir):
    """In a process without the stubs: placeholders and real decorators are gone afterwards."""
    script = textwrap.dedent(f"""
        import sys, xlwings
        noop = xlwings.func
        import {SAMPLE_MODULE} as m
        from xlfrontier.excel import addin
        w = addin.generate_udf_wrappers("{SAMPLE_MODULE}")
        assert sorted(w.functions) == ["CHECK_INPUTS", "SAMPLE_SUM", "SAMPLE_WEIGHTS"]
        assert xlwings.func is noop
        assert not any(n in sys.modules for n in ("pythoncom", "pywintypes", "win32com",
                                                   "xlwings.udfs"))
        assert not hasattr(m.SAMPLE_WEIGHTS, "__xlfunc__")  # the imported module is untouched
        print("clean")
    """)
    env = {**os.environ, "PYTHONPATH": _python_path(sample_dir)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"


def test_function_wizard_help_replays_import_functions(sample_modules):
    """Run RegisterFunctions in pyOpenVBA's interpreter; MacroOptions is recorded instead."""
    _, calls = xlwings_import_functions(SAMPLE_MODULE)
    source = sample_modules[addin.REGISTER_VBA_MODULE]
    source = source.replace("Application.MacroOptions ", "RecordMacroOptions ")
    source = source.replace("ThisWorkbook.Name", '"xlfrontier.xlam"')
    source = source.replace("ThisWorkbook.Saved = True", "")
    source += textwrap.dedent("""\
        Private Sub RecordMacroOptions(Macro As String, Description As String, _
                                       Category As String, Optional ArgumentDescriptions As Variant)
            Dim i As Long
            Debug.Print "MACRO" & vbTab & Macro
            Debug.Print "DESCRIPTION" & vbTab & Description
            Debug.Print "CATEGORY" & vbTab & Category
            If Not IsMissing(ArgumentDescriptions) Then
                For i = LBound(ArgumentDescriptions) To UBound(ArgumentDescriptions)
                    Debug.Print "ARG" & vbTab & ArgumentDescriptions(i)
                Next i
            End If
        End Sub
    """).replace("\n", "\r\n")
    app = ExcelApplication()
    app.add_module(source, name=addin.REGISTER_VBA_MODULE)
    app.run("RegisterFunctions")
    printed = "\n".join(app.interpreter.console)
    expected = []
    for call in calls:
        options = call.kwargs
        expected += [
            f"MACRO\t{call.args[0]}",
            f"DESCRIPTION\t{options['Description']}",
            f"CATEGORY\t{options['Category']}",
        ]
        expected += [f"ARG\t{doc}" for doc in options["ArgumentDescriptions"] or ()]
    assert printed == "\n".join(expected)
    assert "\u03bc" in printed
    assert "\u2013" in printed
    assert all(code.isascii() for code in sample_modules.values())


def test_function_wizard_text_of_any_length_and_alphabet_round_trips():
    """Long non-ASCII texts stay within VBA's line limit and come back exactly."""
    text = ('Say "\u03bc\u03c3\u00e9" \u2013 \U0001f4c8\n\t' * 30)[:255]
    option = addin.MacroOption("F", text, "Cat\u00e9gorie", (text, "", "plain"))
    source = addin.register_vba([option])
    assert source.isascii()
    assert max(map(len, source.splitlines())) < 400  # VBA refuses lines over 1023
    source = source.replace("Application.MacroOptions ", "RecordMacroOptions ")
    source = source.replace("ThisWorkbook.Saved = True", "")
    source += (
        "Private Sub RecordMacroOptions(Macro As String, Description As String, _\r\n"
        "        Category As String, ArgumentDescriptions As Variant)\r\n"
        "    Debug.Print Description\r\n"
        "    Debug.Print Category\r\n"
        '    Debug.Print Join(ArgumentDescriptions, "|")\r\n'
        "End Sub\r\n"
    )
    source = source.replace("ThisWorkbook.Name", '"x.xlam"')
    app = ExcelApplication()
    app.add_module(source, name=addin.REGISTER_VBA_MODULE)
    app.run("RegisterFunctions")
    # VBA strings are UTF-16: the emoji arrives as the surrogate pair the module spells out.
    printed = [
        line.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        for line in app.interpreter.console
    ]
    assert printed == [text, "Cat\u00e9gorie", f"{text}||plain"]


# ------------------------------------------------------------------------------ ribbon


def test_ribbon_xml_is_well_formed_with_the_portfolio_tab(sample_build):
    with zipfile.ZipFile(sample_build.path) as z:
        xml = z.read("customUI/customUI.xml")
    root = ElementTree.fromstring(xml)
    ns = {"ui": "http://schemas.microsoft.com/office/2006/01/customui"}
    tabs = root.findall("ui:ribbon/ui:tabs/ui:tab", ns)
    assert [t.get("label") for t in tabs] == ["Portfolio"]
    buttons = tabs[0].findall(".//ui:button", ns)
    assert [b.get("label") for b in buttons] == [
        "Recalculate",
        "Restart Python",
        "New from template",
        "Freeze values",
        "Check inputs",
        "Diagnose",
        "Help",
    ]
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    assert all(b.get("imageMso") and b.get("supertip") for b in buttons)


def test_every_on_action_names_a_ribbon_callback(sample_build, sample_modules):
    with zipfile.ZipFile(sample_build.path) as z:
        root = ElementTree.fromstring(z.read("customUI/customUI.xml"))
    actions = [e.get("onAction") for e in root.iter() if e.get("onAction")]
    assert len(actions) == len(addin.RIBBON_BUTTONS)
    modules = {name: parse_vba(name, code) for name, code in sample_modules.items()}
    for action in actions:
        module_name, _, procedure = action.partition(".")
        assert module_name == addin.RIBBON_MODULE
        sub = public_subs(modules[module_name]).get(procedure)
        assert sub is not None, action
        assert [(p.name, p.declared, p.by_val, p.optional) for p in sub.params] == [
            ("control", "IRibbonControl", False, False)
        ]


def test_every_module_parses_and_no_public_name_is_ambiguous(real_modules):
    parsed = {name: parse_vba(name, code) for name, code in real_modules.items()}
    standard = [m for m in parsed.values() if m.kind == "standard"]
    seen = {}
    for module in standard:
        for procedure in module.procedures:
            if procedure.scope == "public" and not procedure.is_property:
                # The same Public name in two standard modules makes unqualified calls
                # (and worksheet formulas) ambiguous.
                assert procedure.name.lower() not in seen, (procedure.name, module.name)
                seen[procedure.name.lower()] = module.name
    assert {"minvar_weights", "recalculate", "registerfunctions", "killpy"} <= set(seen)


def test_check_inputs_is_wired_only_when_the_function_exists(sample_modules, real_modules):
    ribbon = sample_modules[addin.RIBBON_MODULE]
    assert 'Private Const CHECK_FUNCTION As String = "CHECK_INPUTS"' in ribbon
    assert "Private Const CHECK_MIN_RANGES As Long = 2" in ribbon
    assert "Private Const CHECK_MAX_RANGES As Long = 3" in ribbon
    assert 'Private Const CHECK_ARGUMENTS As String = "mu, cov, rf"' in ribbon
    assert f'Private Const UDF_MODULE As String = "{SAMPLE_MODULE}"' in ribbon
    real_has_it = "Function CHECK_INPUTS(" in real_modules[addin.UDF_VBA_MODULE]
    wired = 'CHECK_FUNCTION As String = "CHECK_INPUTS"' in real_modules[addin.RIBBON_MODULE]
    assert wired == real_has_it


def test_help_url_is_the_project_homepage():
    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(xlfrontier.__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.is_file():  # pragma: no cover - installed without the source tree
        pytest.skip("no pyproject.toml next to the package")
    urls = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["urls"]
    assert urls["Homepage"] == addin.HELP_URL


# ------------------------------------------------------------------------------ VBA behaviour
# The ribbon module runs in pyOpenVBA's simulated Excel. A public shim appended to the module
# reaches its private helpers; XLPy is a VBA class that records the call.

_FAKE_XLPY = """\
Public Function CallUDF(moduleName, functionName, args, book, caller)
    Dim i As Long, text As String
    Dim result(0 To 1, 0 To 1) As Variant
    text = moduleName & "|" & functionName & "|" & (UBound(args) - LBound(args) + 1)
    For i = LBound(args) To UBound(args)
        text = text & "|" & args(i).Address
    Next i
    Debug.Print text
    result(0, 0) = "mu": result(0, 1) = "ok"
    result(1, 0) = "cov": result(1, 1) = "not symmetric"
    CallUDF = result
End Function
"""
_XLWINGS_STANDIN = """\
Public Function XLPy() As Object
    Set XLPy = New FakeXLPy
End Function
"""
_SHIM = """
Public Function TestFreezeWorkbook() As String
    TestFreezeWorkbook = FreezeWorkbook(ActiveWorkbook)
End Function

Public Sub TestCheckInputs()
    CheckInputs Nothing
End Sub
"""


def _simulated_excel(ribbon_source):
    app = ExcelApplication()
    app.add_workbook()
    app.add_module(ribbon_source + _SHIM.replace("\n", "\r\n"), name=addin.RIBBON_MODULE)
    app.add_module(_FAKE_XLPY, name="FakeXLPy", kind="class")
    app.add_module(_XLWINGS_STANDIN, name="xlwings")
    return app


def _run_setup(app, body):
    app.add_module("Sub Setup()\n" + textwrap.dedent(body) + "End Sub\n", name="Setup")
    app.run("Setup")


def test_freeze_replaces_formulas_by_values_in_the_copy(sample_modules):
    app = _simulated_excel(sample_modules[addin.RIBBON_MODULE])
    _run_setup(
        app,
        '''\
        Range("A1").Value = 1
        Range("A2").Value = 2
        Range("B1").Formula = "=A1*10"
        Range("C1").Formula = "=""1/2"""
        Range("C2").Formula = "=""=A1"""
        Range("D1").Formula2 = "=SEQUENCE(3)"
        Range("F1:F2").FormulaArray = "=A1:A2*2"
        Range("G1").Formula = "=A1/0"
        Range("H1").Value = "kept"
    ''',
    )
    assert app.run("TestFreezeWorkbook") == ""
    app.add_module(
        "Function FormulaCells() As String\n"
        "    Dim cell As Range\n"
        "    For Each cell In ActiveSheet.UsedRange.Cells\n"
        "        If cell.HasFormula Then FormulaCells = FormulaCells & cell.Address(False, False)\n"
        "    Next cell\n"
        "End Function\n",
        name="Probe",
    )
    assert app.run("FormulaCells") == ""
    rows = app.sheet(1).rows()
    assert rows[0][:4] == [1.0, 10.0, "1/2", 1.0]  # "1/2" stays text, not a date
    assert rows[1][2] == "=A1"  # text that looks like a formula stays text
    assert [r[3] for r in rows] == [1.0, 2.0, 3.0]  # the whole spill range
    assert [rows[0][5], rows[1][5]] == [2.0, 4.0]  # a legacy array formula
    assert str(rows[0][6]) == "#DIV/0!"
    assert rows[0][7] == "kept"


def test_freeze_keeps_protection_and_reports_password_sheets(sample_modules):
    app = _simulated_excel(sample_modules[addin.RIBBON_MODULE])
    _run_setup(
        app,
        """\
        Range("A1").Formula = "=1+1"
        ActiveSheet.Protect AllowFormattingCells:=True
        Worksheets.Add
        ActiveSheet.Name = "Locked"
        ActiveSheet.Range("A1").Formula = "=2+2"
        ActiveSheet.Protect Password:="secret"
    """,
    )
    assert app.run("TestFreezeWorkbook") == "\n  Locked"
    app.add_module(
        "Function State() As String\n"
        '    With Worksheets("Sheet1")\n'
        '        State = .Range("A1").Formula & "|" & .ProtectContents & "|" & '
        '.Protection.AllowFormattingCells & "|" & .Protection.AllowSorting\n'
        "    End With\n"
        '    State = State & "|" & Worksheets("Locked").Range("A1").Formula\n'
        "End Function\n",
        name="Probe",
    )
    assert app.run("State") == "2|True|True|False|=2+2"


def test_check_inputs_passes_the_selected_ranges(sample_modules):
    app = _simulated_excel(sample_modules[addin.RIBBON_MODULE])
    _run_setup(app, 'Range("A1:A3,C1:E3").Select\n')
    app.run("TestCheckInputs")
    assert app.interpreter.console == [f"{SAMPLE_MODULE}|CHECK_INPUTS|2|$A$1:$A$3|$C$1:$E$3"]
    [(kind, prompt, title, _)] = app.interpreter.dialogs
    assert (kind, title) == ("MsgBox", "xlfrontier: CHECK_INPUTS")
    assert prompt == "mu | ok\ncov | not symmetric\n"


def test_check_inputs_asks_for_the_right_number_of_ranges(sample_modules):
    app = _simulated_excel(sample_modules[addin.RIBBON_MODULE])
    _run_setup(app, 'Range("A1:A3").Select\n')
    app.run("TestCheckInputs")
    assert app.interpreter.console == []  # Python not called
    [(_, prompt, _, _)] = app.interpreter.dialogs
    assert "in this order: mu, cov, rf" in prompt


def test_check_inputs_without_the_function_explains(sample_modules):
    ribbon = addin.ribbon_vba({})
    app = _simulated_excel(ribbon)
    _run_setup(app, 'Range("A1:A3,C1:E3").Select\n')
    app.run("TestCheckInputs")
    assert app.interpreter.console == []
    [(_, prompt, _, _)] = app.interpreter.dialogs
    assert "need the estimation functions" in prompt


# ------------------------------------------------------------------------------ build errors


def test_out_must_be_an_xlam(tmp_path):
    with pytest.raises(addin.AddinError, match=r"\.xlam"):
        addin.build_addin(tmp_path / "x.xlsm", udf_modules=SAMPLE_MODULE)


def test_a_module_without_functions_is_refused(tmp_path, monkeypatch):
    (tmp_path / "xlf_addin_empty_udfs.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(addin.AddinError, match="no worksheet functions"):
        addin.build_addin(tmp_path / "x.xlam", udf_modules="xlf_addin_empty_udfs")
    assert not (tmp_path / "x.xlam").exists()
    sys.modules.pop("xlf_addin_empty_udfs", None)


def test_a_template_for_another_xlwings_is_refused(sample_dir, tmp_path):
    other = tmp_path / "other.xlam"
    other.write_bytes(addin.xlwings_template().read_bytes())
    with ExcelFile(other) as book:
        runtime = book.get_module("xlwings")
        book.set_module("xlwings", runtime.replace(xlwings.__version__, "0.0.1"))
        book.save()
    with pytest.raises(addin.AddinError, match=r"xlwings 0\.0\.1 .* DLL would not be found"):
        addin.build_addin(tmp_path / "x.xlam", udf_modules=SAMPLE_MODULE, template=other)


def test_cli_reports_errors_with_exit_status_1(tmp_path, capsys):
    assert addin.main(["build", "--out", str(tmp_path / "x.txt")]) == 1
    assert "must be an .xlam" in capsys.readouterr().err


# ------------------------------------------------------------------------------ config file

WINDOWS_ENV = {
    "USERPROFILE": "C:\\Users\\Zo\u00eb",
    "LOCALAPPDATA": "C:\\Users\\Zo\u00eb\\AppData\\Local",
    "APPDATA": "C:\\Users\\Zo\u00eb\\AppData\\Roaming",
    "OneDrive": "C:\\Users\\Zo\u00eb\\OneDrive - Soci\u00e9t\u00e9",
}
VENV = WINDOWS_ENV["LOCALAPPDATA"] + "\\xlfrontier\\venv"
TEMPLATE = WINDOWS_ENV["OneDrive"] + "\\Documents\\xlfrontier\\xlfrontier_template.xlsx"


def test_config_text_is_what_xlwings_reads():
    text = addin.config_text(VENV, template=TEMPLATE, env=WINDOWS_ENV)
    assert text == (
        '"INTERPRETER_WIN","%LOCALAPPDATA%\\xlfrontier\\venv\\Scripts\\pythonw.exe"\r\n'
        '"UDF MODULES","xlfrontier.udfs"\r\n'
        '"ADD_WORKBOOK_TO_PYTHONPATH","False"\r\n'
        '"XLFRONTIER_TEMPLATE","%OneDrive%\\Documents\\xlfrontier\\xlfrontier_template.xlsx"\r\n'
    )
    assert text.isascii()


def test_written_config_reads_back_with_xlwings_own_reader(tmp_path):
    path = addin.write_config(
        VENV, path=tmp_path / ".xlfrontier" / "xlfrontier.conf", env=WINDOWS_ENV
    )
    assert path.read_bytes().endswith(b'"\r\n')
    with mock.patch.object(xlwings, "USER_CONFIG_FILE", str(path)):
        from xlwings.utils import read_user_config

        settings = read_user_config()
    assert settings == {
        "interpreter_win": "%LOCALAPPDATA%\\xlfrontier\\venv\\Scripts\\pythonw.exe",
        "udf modules": "xlfrontier.udfs",
        "add_workbook_to_pythonpath": "False",
    }
    assert set(addin.read_config(path)) <= set(addin.CONFIG_KEYS)


def test_rewriting_the_config_updates_in_place_and_keeps_other_settings(tmp_path):
    path = tmp_path / "xlfrontier.conf"
    path.write_bytes(
        b'"SHOW CONSOLE","True"\r\n"INTERPRETER_WIN","C:\\old\\python.exe"\r\n'
        b'"ADD_WORKBOOK_TO_PYTHONPATH","True"\r\n'
    )
    addin.write_config(VENV, path=path, env=WINDOWS_ENV)
    addin.write_config(VENV, path=path, env=WINDOWS_ENV)
    assert addin.read_config(path) == {
        "INTERPRETER_WIN": "%LOCALAPPDATA%\\xlfrontier\\venv\\Scripts\\pythonw.exe",
        "UDF MODULES": "xlfrontier.udfs",
        # Turned off again: files beside a workbook must not replace xlfrontier's code.
        "ADD_WORKBOOK_TO_PYTHONPATH": "False",
        "SHOW CONSOLE": "True",
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (VENV, "%LOCALAPPDATA%\\xlfrontier\\venv"),
        ("c:/users/zo\u00eb/appdata/roaming/x", "%APPDATA%\\x"),  # case and slashes
        (WINDOWS_ENV["USERPROFILE"], "%USERPROFILE%"),
        ("C:\\Users\\Zo\u00ebX\\venv", "C:\\Users\\Zo\u00ebX\\venv"),  # not inside the folder
        ("D:\\Tools\\venv", "D:\\Tools\\venv"),
    ],
)
def test_portable_path(path, expected):
    assert addin.portable_path(path, WINDOWS_ENV) == expected


def test_a_non_ascii_path_outside_the_user_folders_is_refused():
    with pytest.raises(addin.AddinConfigError, match="ASCII"):
        addin.config_text("D:\\\u00c9quipe\\venv", env=WINDOWS_ENV)


def test_default_config_path_is_where_the_vba_looks():
    path = addin.default_config_path({"USERPROFILE": "/home/zoe"})
    assert path == Path("/home/zoe/.xlfrontier/xlfrontier.conf")


def test_config_command_prints_or_writes(tmp_path, capsys, monkeypatch):
    for key, value in WINDOWS_ENV.items():
        monkeypatch.setenv(key, value)
    assert addin.main(["config", "--venv", VENV, "--print"]) == 0
    assert capsys.readouterr().out.startswith('"INTERPRETER_WIN","%LOCALAPPDATA%\\xlfrontier')
    target = tmp_path / "c" / "xlfrontier.conf"
    written = ["config", "--venv", VENV, "--template", TEMPLATE, "--path", str(target)]
    assert addin.main(written) == 0
    assert addin.read_config(target)["XLFRONTIER_TEMPLATE"].startswith("%OneDrive%\\Documents")
    assert addin.main(["config", "--venv", "D:\\\u00c9quipe\\venv", "--path", str(target)]) == 1
    assert "ASCII" in capsys.readouterr().err
