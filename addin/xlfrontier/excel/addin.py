r"""Build the ``xlfrontier.xlam`` Excel add-in and write its configuration file.

The add-in is built from source, never committed: :func:`build_addin` starts from the ribbon
add-in template inside the *installed* xlwings (the file ``xlwings quickstart NAME --addin
--ribbon`` copies), because its VBA runtime names the xlwings DLL by version and must match the
xlwings that serves the functions. On top of that template it

- sets ``PROJECT_NAME`` to ``"xlfrontier"``, so the add-in reads its settings from
  ``%USERPROFILE%\.xlfrontier\xlfrontier.conf`` (written by :func:`write_config`) and the
  template's config sheet, renamed ``_xlfrontier.conf``, stays inactive;
- adds the module ``xlwings_udfs`` with the VBA wrappers of every worksheet function of
  :mod:`xlfrontier.udfs`, as written by xlwings' own "Import Functions" code
  (:func:`xlwings.udfs.import_udfs`, run against a recording stand-in for the workbook), so
  the functions work in any open workbook without "Trust access to the VBA project";
- adds ``xlfrontier_functions``, which replays on every start the ``Application.MacroOptions``
  calls that "Import Functions" makes (function-wizard descriptions and category);
- replaces the template's ribbon with the **Portfolio** tab and its callbacks
  (module ``RibbonXlfrontier``).

The VBA is written with pyOpenVBA (pure Python), so the build runs on Linux CI as well as on
the user's machine. Same inputs give byte-identical output.

Command line (wired into ``xlfrontier`` by :func:`add_addin_commands`)::

    xlfrontier addin build [--out build/xlfrontier.xlam]
    xlfrontier addin config [--venv DIR] [--template XLSX] [--path CONF] [--print]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import locale
import ntpath
import os
import re
import struct
import sys
import tempfile
import types
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlfrontier.exceptions import AddinConfigError, AddinError
from xlfrontier.workbook._output import atomic_write

__all__ = [
    "ADDIN_FILENAME",
    "ADDIN_READS",
    "CHECK_FUNCTION",
    "CONFIG_KEYS",
    "HELP_URL",
    "PROJECT_NAME",
    "REGISTER_VBA_MODULE",
    "RIBBON_BUTTONS",
    "RIBBON_MODULE",
    "UDF_MODULES",
    "UDF_VBA_MODULE",
    "VBA_PROJECT_NAME",
    "AddinBuild",
    "AddinConfigError",
    "AddinError",
    "MacroOption",
    "RibbonButton",
    "UdfWrappers",
    "add_addin_commands",
    "build_addin",
    "config_text",
    "default_config_path",
    "generate_udf_wrappers",
    "main",
    "portable_path",
    "read_config",
    "register_vba",
    "ribbon_vba",
    "ribbon_xml",
    "write_config",
    "xlwings_template",
]

#: File name of the add-in (a ``.xlam`` name makes xlwings' wrappers use ``ActiveWorkbook``).
ADDIN_FILENAME = "xlfrontier.xlam"
#: The add-in's xlwings project name: its settings file is
#: ``%USERPROFILE%\.xlfrontier\xlfrontier.conf``.
PROJECT_NAME = "xlfrontier"
#: The Python module(s) whose worksheet functions the add-in wraps (";"-separated, as xlwings).
UDF_MODULES = "xlfrontier.udfs"
#: The VBA project's name, as the VBA editor and ``Application.Run`` show it.
VBA_PROJECT_NAME = "xlfrontier"
#: VBA module holding the generated wrappers (the name "Import Functions" uses).
UDF_VBA_MODULE = "xlwings_udfs"
#: VBA module replaying the function-wizard help on every start.
REGISTER_VBA_MODULE = "xlfrontier_functions"
#: VBA module holding the ribbon callbacks.
RIBBON_MODULE = "RibbonXlfrontier"
#: The worksheet function behind the "Check inputs" button, when the UDF module defines it.
CHECK_FUNCTION = "CHECK_INPUTS"
#: Opened by the "Help" button unless the config file sets ``XLFRONTIER_HELP``.
HELP_URL = "https://github.com/xlfrontier/xlfrontier"

#: Keys this module writes into the config file (xlwings' three, then ours).
CONFIG_KEYS = (
    "INTERPRETER_WIN",
    "UDF MODULES",
    "ADD_WORKBOOK_TO_PYTHONPATH",
    "XLFRONTIER_TEMPLATE",
)
#: Every key the add-in's VBA reads, all from the user's config file only (``GetConfig``).
#: ``XLFRONTIER_HELP`` is read but never written.
ADDIN_READS = (
    "INTERPRETER_WIN",
    "ADD_WORKBOOK_TO_PYTHONPATH",
    "PYTHONPATH",
    "ONEDRIVE_CONSUMER_WIN",
    "ONEDRIVE_COMMERCIAL_WIN",
    "SHAREPOINT_WIN",
    "SHOW CONSOLE",
    "DEBUG UDFS",
    "SHOW_ERROR_POPUPS",
    "XLFRONTIER_TEMPLATE",
    "XLFRONTIER_HELP",
)
_TEMPLATE_KEY = "XLFRONTIER_TEMPLATE"

_TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
_TEMPLATE_RIBBON_MODULE = "RibbonMyAddin"
_TEMPLATE_PROJECT_NAME = "myaddin"
_CUSTOM_UI_PART = "customUI/customUI.xml"
_WORKBOOK_PART = "xl/workbook.xml"
_VBA_PROJECT_PART = "xl/vbaProject.bin"
_SHEET_PART = "xl/worksheets/sheet1.xml"
_PACKAGE_RELS_PART = "_rels/.rels"
# Relationship types of the ribbon part: customUI.xml (2006/01) and customUI14.xml (2009/07).
_UI_REL_2006 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
_UI_REL_2007 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
_SHARED_STRINGS_PART = "xl/sharedStrings.xml"
_EMPTY_SHARED_STRINGS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" '
    'uniqueCount="0" />'
)
#: Name of the add-in's one (hidden, empty) worksheet.
_SHEET_NAME = "xlfrontier"
_CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
# The pywin32 modules xlwings.udfs imports at module level (stood in for off Windows).
_PYWIN32_IMPORTS = ("pythoncom", "pywintypes", "win32com", "win32com.client")
# The user folders whose %VARIABLE% keeps a non-ASCII user name out of the config file.
_PORTABLE_VARIABLES = (
    "LOCALAPPDATA",
    "APPDATA",
    "OneDriveCommercial",
    "OneDriveConsumer",
    "OneDrive",
    "USERPROFILE",
)


def _vba_resource(name: str) -> str:
    """Return a VBA source file shipped with the package (``xlfrontier/excel/vba/<name>``)."""
    from importlib.resources import files

    text = files("xlfrontier.excel").joinpath("vba").joinpath(name).read_text(encoding="utf-8")
    return text.replace("\r\n", "\n")


# --------------------------------------------------------------------------------------------
# The ribbon
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RibbonButton:
    """One button of the Portfolio tab; ``callback`` is a Sub of :data:`RIBBON_MODULE`."""

    group: str
    id: str
    label: str
    image_mso: str
    callback: str
    screentip: str
    supertip: str
    size: str = "large"


RIBBON_BUTTONS: tuple[RibbonButton, ...] = (
    RibbonButton(
        "Calculate",
        "xlfRecalculate",
        "Recalculate",
        "CalculateNow",
        "Recalculate",
        "Recalculate everything",
        "Rebuilds and recalculates every formula of the open workbooks, so cells showing "
        "#NAME? for xlfrontier functions link to the add-in again.",
    ),
    RibbonButton(
        "Calculate",
        "xlfRestartPython",
        "Restart Python",
        "RecurrenceEdit",
        "RestartPython",
        "Restart Python",
        "Stops the Python process behind the functions; the next recalculation starts "
        "a fresh one. Use it after an update or when results look stuck.",
    ),
    RibbonButton(
        "Workbook",
        "xlfNewFromTemplate",
        "New from template",
        "FileNew",
        "NewFromTemplate",
        "New workbook from the xlfrontier template",
        "Opens a fresh, unsaved copy of the template; the template itself is never changed.",
    ),
    RibbonButton(
        "Workbook",
        "xlfFreezeValues",
        "Freeze values",
        "PasteValues",
        "FreezeValues",
        "Save a values-only copy",
        "Saves a copy of the active workbook with every formula replaced by its value, "
        "for colleagues without the add-in. The original is not changed.",
    ),
    RibbonButton(
        "Inputs",
        "xlfCheckInputs",
        "Check inputs",
        "AcceptInvitation",
        "CheckInputs",
        "Check the selected inputs",
        "Runs the input diagnostics on the selected ranges (hold Ctrl to select "
        "expected returns and the covariance matrix).",
    ),
    RibbonButton(
        "Help",
        "xlfDiagnose",
        "Diagnose",
        "ZoomCurrent100",
        "Diagnose",
        "Diagnose the add-in",
        "Checks, in order, the settings file, the Python it names, the xlwings DLL, Excel's "
        "and Python's bitness, where the add-in is installed and a test calculation, and says "
        "what to do about the first problem.",
    ),
    RibbonButton(
        "Help",
        "xlfHelp",
        "Help",
        "Help",
        "ShowHelp",
        "xlfrontier help",
        "Opens the xlfrontier documentation.",
    ),
)


def ribbon_xml(buttons: Sequence[RibbonButton] = RIBBON_BUTTONS) -> str:
    """Return the ``customUI.xml`` of the add-in: one tab "Portfolio".

    Parameters
    ----------
    buttons : sequence of RibbonButton
        The buttons, grouped in order of first appearance of their ``group``.

    Returns
    -------
    str
        The XML (Office 2007 customUI schema, the one the xlwings template uses).
    """
    from xml.sax.saxutils import quoteattr

    groups: dict[str, list[RibbonButton]] = {}
    for button in buttons:
        groups.setdefault(button.group, []).append(button)
    lines = [
        f'<customUI xmlns="{_CUSTOM_UI_NS}">',
        "  <ribbon>",
        "    <tabs>",
        '      <tab id="xlfrontierTab" label="Portfolio">',
    ]
    for group, members in groups.items():
        group_id = "xlfrontierGroup" + re.sub(r"\W", "", group)
        lines.append(f"        <group id={quoteattr(group_id)} label={quoteattr(group)}>")
        for b in members:
            lines.append(
                f"          <button id={quoteattr(b.id)} label={quoteattr(b.label)}"
                f" size={quoteattr(b.size)} imageMso={quoteattr(b.image_mso)}"
                f" onAction={quoteattr(RIBBON_MODULE + '.' + b.callback)}"
                f" screentip={quoteattr(b.screentip)} supertip={quoteattr(b.supertip)} />"
            )
        lines.append("        </group>")
    lines += ["      </tab>", "    </tabs>", "  </ribbon>", "</customUI>", ""]
    return "\r\n".join(lines)


# The ribbon callbacks: vba/ribbon_body.bas. Everything that varies (module names, the
# Check-inputs signature) is a constant that ribbon_vba() writes above that body; the file has
# no other substitution. Helpers are Private so that they appear neither as worksheet
# functions nor in the Macros dialog.
_RIBBON_BODY = _vba_resource("ribbon_body.bas")


@dataclass(frozen=True)
class MacroOption:
    """One ``Application.MacroOptions`` call of xlwings' "Import Functions" (function wizard)."""

    function: str
    description: str
    category: str
    argument_descriptions: tuple[str, ...] | None


@dataclass(frozen=True)
class UdfWrappers:
    """What xlwings' "Import Functions" produces for a UDF module, without Excel.

    Attributes
    ----------
    vba : str
        The text of the ``xlwings_udfs`` module (the file "Import Functions" imports, with its
        ``Attribute VB_Name`` line, CRLF line ends).
    macro_options : tuple of MacroOption
        The ``Application.MacroOptions`` calls, in the order xlwings makes them.
    functions : dict of str to dict
        Each function's ``__xlfunc__`` metadata (argument names, optional flags...).
    modules : dict of str to str
        The Python module each function comes from.
    """

    vba: str
    macro_options: tuple[MacroOption, ...]
    functions: Mapping[str, Mapping[str, Any]]
    modules: Mapping[str, str]


@dataclass(frozen=True)
class AddinBuild:
    """Result of :func:`build_addin`."""

    path: Path
    functions: tuple[str, ...]
    xlwings_version: str
    check_inputs: bool


def _vba_string(text: str) -> str:
    """Return a VBA expression for ``text``: quoted literals, ``ChrW`` for anything not ASCII.

    The module text stays ASCII, so it survives any VBA project code page.
    """
    parts: list[str] = []
    literal: list[str] = []
    for ch in text:
        if " " <= ch <= "~":
            literal.append('""' if ch == '"' else ch)
            continue
        if literal:
            parts.append('"' + "".join(literal) + '"')
            literal = []
        named = {"\n": "vbLf", "\r": "vbCr", "\t": "vbTab"}.get(ch)
        if named:
            parts.append(named)
        else:  # VBA strings are UTF-16: a character beyond the BMP is a surrogate pair
            units = ch.encode("utf-16-le")
            codes = [int.from_bytes(units[i : i + 2], "little") for i in range(0, len(units), 2)]
            parts += [f"ChrW({code})" for code in codes]
    if literal or not parts:
        parts.append('"' + "".join(literal) + '"')
    return " & ".join(parts)


def _vba_assign(variable: str, text: str, width: int = 300) -> list[str]:
    """VBA statements that build ``text`` in ``variable`` a piece at a time.

    Each piece's expression stays under ``width`` characters, far from VBA's 1023-character
    line limit, however many characters need ``ChrW``.
    """
    pieces: list[str] = []
    start = 0
    for end in range(1, len(text) + 1):
        if len(_vba_string(text[start:end])) > width and end - 1 > start:
            pieces.append(text[start : end - 1])
            start = end - 1
    pieces.append(text[start:])
    lines = [f"    {variable} = {_vba_string(pieces[0])}"]
    lines += [f"    {variable} = {variable} & {_vba_string(p)}" for p in pieces[1:]]
    return lines


def _check_signature(functions: Mapping[str, Mapping[str, Any]], name: str) -> tuple[int, int, str]:
    """Return (min ranges, max ranges or -1, argument names) for the Check-inputs function.

    ``(0, 0, "")`` when the UDF module has no usable function of that name.
    """
    info = functions.get(name)
    if info is None or info.get("sub"):
        return 0, 0, ""
    args = info["args"]
    # An argument filled in by VBA (e.g. xlwings' reserved ``caller``) shifts the positions of
    # the others: such a signature cannot be fed from the selection.
    if any(a.get("vba") or a["name"] == "caller" for a in args):
        return 0, 0, ""
    required = sum(1 for a in args if "optional" not in a and not a["vararg"])
    most = -1 if any(a["vararg"] for a in args) else len(args)
    return max(required, 1), most, ", ".join(a["name"] for a in args)


def ribbon_vba(
    functions: Mapping[str, Mapping[str, Any]],
    *,
    modules: Mapping[str, str] | None = None,
    udf_modules: str = UDF_MODULES,
    check_function: str = CHECK_FUNCTION,
    help_url: str = HELP_URL,
) -> str:
    """Return the VBA module with the ribbon callbacks (module :data:`RIBBON_MODULE`).

    Parameters
    ----------
    functions : mapping of str to dict
        ``__xlfunc__`` metadata of the worksheet functions (:attr:`UdfWrappers.functions`);
        decides whether "Check inputs" calls ``check_function`` or explains it is missing.
    modules : mapping of str to str, optional
        The Python module of each function (:attr:`UdfWrappers.modules`).
    udf_modules : str
        The Python module(s) of the functions; the first one when ``modules`` does not say.
    check_function : str
        Name of the worksheet function that diagnoses inputs.
    help_url : str
        Default page of the Help button.

    Returns
    -------
    str
        Module source with its ``Attribute VB_Name`` line, CRLF line ends, ASCII only.
    """
    low, high, names = _check_signature(functions, check_function)
    module = (modules or {}).get(check_function) or udf_modules.split(";")[0]
    header = [
        f'Attribute VB_Name = "{RIBBON_MODULE}"',
        "' Ribbon callbacks of the xlfrontier add-in (the Portfolio tab).",
        "' Generated by xlfrontier.excel.addin: edits here are lost on the next build.",
        "Option Explicit",
        "",
        'Private Const APP_TITLE As String = "xlfrontier"',
        f"Private Const UDF_MODULE As String = {_vba_string(module)}",
        f"Private Const HELP_URL As String = {_vba_string(help_url)}",
        'Private Const HELP_KEY As String = "XLFRONTIER_HELP"',
        f'Private Const TEMPLATE_KEY As String = "{_TEMPLATE_KEY}"',
        '\' The worksheet function behind Check inputs ("" when the UDF module has none),',
        "' how many selected ranges it takes (-1: no upper limit) and its argument names.",
        f"Private Const CHECK_FUNCTION As String = {_vba_string(check_function if names else '')}",
        f"Private Const CHECK_MIN_RANGES As Long = {low}",
        f"Private Const CHECK_MAX_RANGES As Long = {high}",
        f"Private Const CHECK_ARGUMENTS As String = {_vba_string(names)}",
        "",
        "Private lastStatus As String",
    ]
    text = "\n".join(header) + "\n" + _RIBBON_BODY
    return _crlf(text)


def register_vba(macro_options: Sequence[MacroOption]) -> str:
    """Return the VBA module that replays "Import Functions"' ``MacroOptions`` calls.

    ``Workbook_Open`` of the add-in calls ``RegisterFunctions`` so that the function wizard
    shows each function's description, category and argument help, as after "Import
    Functions". Errors are ignored: the functions work without their descriptions.
    """
    lines = [
        f'Attribute VB_Name = "{REGISTER_VBA_MODULE}"',
        "' Function-wizard help: the Application.MacroOptions calls xlwings' Import Functions",
        "' makes, generated by xlfrontier.excel.addin: edits here are lost on the next build.",
        "Option Explicit",
        "",
        "Public Sub RegisterFunctions()",
        "    Dim description As String",
        "    Dim arguments() As Variant",
        "    On Error Resume Next",
    ]
    for opt in macro_options:
        lines.append("")
        lines += _vba_assign("description", opt.description)
        call = (
            f'    Application.MacroOptions Macro:="\'" & ThisWorkbook.Name & "\'!{opt.function}",'
            f" Description:=description, Category:={_vba_string(opt.category)}"
        )
        if opt.argument_descriptions:
            lines.append(f"    ReDim arguments(0 To {len(opt.argument_descriptions) - 1})")
            for i, doc in enumerate(opt.argument_descriptions):
                lines += _vba_assign(f"arguments({i})", doc)
            call += ", ArgumentDescriptions:=arguments"
        lines.append(call)
    lines += [
        "",
        "    ' MacroOptions marks the add-in as changed; there is nothing to save.",
        "    ThisWorkbook.Saved = True",
        "End Sub",
        "",
    ]
    return _crlf("\n".join(lines))


# The add-in's ThisWorkbook module: vba/this_workbook.bas, as is.
_THIS_WORKBOOK_BODY = _vba_resource("this_workbook.bas")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


# --------------------------------------------------------------------------------------------
# The UDF wrappers, generated by xlwings itself
# --------------------------------------------------------------------------------------------


class _RecordingWorkbook:
    """Stands in for the COM workbook that :func:`xlwings.udfs.import_udfs` writes into.

    ``import_udfs`` writes the wrapper module to a temporary ``.bas`` file and imports it with
    ``VBProject.VBComponents.Import``; this records that file's text and the
    ``Application.MacroOptions`` calls instead.
    """

    def __init__(self, name: str) -> None:
        self.Name = name
        self.module_text: str | None = None
        self.macro_options: list[MacroOption] = []
        components = _RecordingComponents(self)
        self.VBProject = types.SimpleNamespace(VBComponents=components)
        self.Application = types.SimpleNamespace(
            Version="16.0", MacroOptions=self._macro_options, Run=self._run
        )

    def _macro_options(self, macro: str, **options: Any) -> None:
        function = macro.rpartition("!")[2]
        docs = options.get("ArgumentDescriptions")
        self.macro_options.append(
            MacroOption(
                function=function,
                description=str(options.get("Description") or ""),
                category=str(options.get("Category") or ""),
                argument_descriptions=tuple(str(d) for d in docs) if docs else None,
            )
        )

    def _run(self, macro: str, path: str) -> None:  # the fallback import_udfs may use
        self.VBProject.VBComponents.Import(path)


class _RecordingComponents:
    def __init__(self, book: _RecordingWorkbook) -> None:
        self._book = book

    def __call__(self, name: str) -> None:  # VBComponents("xlwings_udfs"): none yet
        return None

    def Remove(self, component: object) -> None:
        return None

    def Import(self, path: str) -> None:
        # import_udfs writes the file in text mode, i.e. in the locale's encoding.
        raw = Path(path).read_bytes()
        self._book.module_text = raw.decode(locale.getpreferredencoding(False))
        # import_udfs leaves its temporary .bas file behind (delete=False): not our builds.
        Path(path).unlink(missing_ok=True)


@contextlib.contextmanager
def _xlwings_udf_tools() -> Iterator[types.ModuleType]:
    """Yield :mod:`xlwings.udfs` with xlwings' real UDF decorators bound to ``xlwings.func``...

    On Windows this is a plain import. Elsewhere xlwings binds no-op decorators and
    ``xlwings.udfs`` cannot be imported, because it imports pywin32 at module level, although
    generating VBA touches no COM. There, empty placeholder modules stand in for the four
    pywin32 names it imports, only for the duration; everything is put back afterwards.
    """
    import xlwings

    names = ("func", "arg", "ret", "script", "sub", "udfs")
    missing = object()
    saved: dict[str, Any] = {n: getattr(xlwings, n, missing) for n in names}
    placeholders: list[str] = []
    try:
        try:
            import xlwings.udfs as udfs
        except ImportError:
            for name in _PYWIN32_IMPORTS:
                if name not in sys.modules:
                    sys.modules[name] = types.ModuleType(name)
                    placeholders.append(name)
            pythoncom = sys.modules["pythoncom"]
            pywintypes = sys.modules["pywintypes"]
            client = sys.modules["win32com.client"]
            for module, attr, value in (
                (pythoncom, "CoInitialize", lambda: None),
                (pywintypes, "com_error", type("com_error", (Exception,), {})),
                (client, "Dispatch", None),
            ):
                if not hasattr(module, attr):
                    setattr(module, attr, value)
            import xlwings.udfs as udfs
        # Rebinding xlwings' decorators (no-ops off Windows) to the real ones: dynamic.
        xlwings.func, xlwings.arg, xlwings.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret  # type: ignore[assignment]
        xlwings.script = xlwings.sub = udfs.xlsub  # type: ignore[assignment]
        yield udfs
    finally:
        for n, value in saved.items():
            if value is missing:
                if hasattr(xlwings, n):
                    delattr(xlwings, n)
            else:
                setattr(xlwings, n, value)
        if placeholders:
            sys.modules.pop("xlwings.udfs", None)
            for name in placeholders:
                sys.modules.pop(name, None)


def _has_udfs(module: types.ModuleType) -> bool:
    return any(hasattr(getattr(module, a), "__xlfunc__") for a in dir(module))


def _load_udf_module(name: str) -> types.ModuleType:
    """Import ``name`` so that its functions carry xlwings' ``__xlfunc__`` metadata.

    A module imported earlier while the decorators were no-ops (anything but Windows) has none:
    a private copy is then executed with the real decorators bound, leaving the imported
    module as it was.
    """
    module = importlib.import_module(name)
    if _has_udfs(module):
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:  # pragma: no cover - import_module just found it
        raise AddinError(f"cannot reload {name}")
    fresh = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = fresh  # dataclasses and friends look the module up while it runs
    try:
        spec.loader.exec_module(fresh)
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
    return fresh


def generate_udf_wrappers(
    udf_modules: str = UDF_MODULES, *, addin_name: str = ADDIN_FILENAME
) -> UdfWrappers:
    """Generate the VBA wrappers of a UDF module exactly as xlwings' "Import Functions" does.

    Runs :func:`xlwings.udfs.import_udfs` against a recording stand-in for the add-in
    workbook, so the text is xlwings' own (for an ``.xlam`` name the wrappers pass
    ``ActiveWorkbook``), and works without Excel or pywin32.

    Parameters
    ----------
    udf_modules : str
        Python module(s) with the worksheet functions, ";"-separated.
    addin_name : str
        File name of the add-in the wrappers are for.

    Returns
    -------
    UdfWrappers

    Raises
    ------
    AddinError
        If the modules define no worksheet function.
    """
    names = [n for n in udf_modules.split(";") if n]
    book = _RecordingWorkbook(addin_name)
    with _xlwings_udf_tools() as udfs:
        modules = {n: _load_udf_module(n) for n in names}
        # import_udfs finds the modules through xlwings' cache; seeding it keeps it from
        # looking for code embedded in the (COM) workbook.
        saved_cache = {n: udfs.udf_modules.get(n) for n in names}
        saved_pro = udfs.__pro__
        try:
            for n, module in modules.items():
                udfs.udf_modules[n] = {"filename": None, "filetime": None, "module": module}
            udfs.__pro__ = False  # type: ignore[attr-defined]  # PRO would read a config sheet of the workbook over COM
            with contextlib.redirect_stdout(io.StringIO()):
                udfs.import_udfs(";".join(names), book)
        finally:
            udfs.__pro__ = saved_pro  # type: ignore[attr-defined]
            for n, entry in saved_cache.items():
                if entry is None:
                    udfs.udf_modules.pop(n, None)
                else:
                    udfs.udf_modules[n] = entry
    functions: dict[str, Mapping[str, Any]] = {}
    owners: dict[str, str] = {}
    for name, module in modules.items():
        for attr in dir(module):
            info = getattr(getattr(module, attr), "__xlfunc__", None)
            if info is not None:
                functions[info["name"]] = info
                owners[info["name"]] = name
    if not functions or book.module_text is None:
        raise AddinError(
            f"no worksheet functions found in {udf_modules}: decorate them with @xlwings.func"
        )
    return UdfWrappers(_crlf(book.module_text), tuple(book.macro_options), functions, owners)


# --------------------------------------------------------------------------------------------
# Building the .xlam
# --------------------------------------------------------------------------------------------


def xlwings_template() -> Path:
    """Return the ribbon add-in template inside the installed xlwings.

    Raises
    ------
    AddinError
        If the installed xlwings has none.
    """
    import xlwings

    path = Path(xlwings.__file__).parent / _TEMPLATE_NAME
    if not path.is_file():
        raise AddinError(
            f"xlwings {xlwings.__version__} has no {_TEMPLATE_NAME}; install the xlwings "
            "version xlfrontier pins (pip install --force-reinstall xlfrontier)"
        )
    return path


def _rename_vba_project(project_bin: bytes, name: str) -> bytes:
    """Rename the VBA project inside ``vbaProject.bin`` (pyOpenVBA has no call for it).

    [MS-OVBA] keeps the name twice: the ``Name="…"`` line of the ``PROJECT`` stream (§2.3.1.2)
    and the PROJECTNAME record (Id 0x0004) of the compressed ``VBA/dir`` stream (§2.3.4.2.1.6),
    which follows SYSKIND, the optional COMPATVERSION, LCID, LCIDINVOKE and CODEPAGE. Both are
    rewritten; the modules part of ``dir`` is untouched, and pyOpenVBA has already emptied the
    ``_VBA_PROJECT`` performance cache, so Office compiles from source.
    """
    from pyopenvba.cfb import CFB
    from pyopenvba.vba import compress, decompress

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,127}", name):
        raise AddinError(f"{name!r} is not a valid VBA project name")
    cfb = CFB.from_bytes(project_bin)
    project = cfb.get_stream("PROJECT").decode("latin-1")
    project, count = re.subn(r'(?m)^Name="[^"]*"\r?$', f'Name="{name}"\r', project)
    if count != 1:
        raise AddinError("the add-in's PROJECT stream has no single Name line")
    cfb.write_stream("PROJECT", project.encode("latin-1"))
    info = bytearray(decompress(cfb.get_stream_in_storage("VBA", "dir")))
    pos = 0
    while True:
        if pos + 6 > len(info):
            raise AddinError("the add-in's VBA dir stream has no PROJECTNAME record")
        record, size = struct.unpack_from("<HI", info, pos)
        if record == 0x0004:
            info[pos : pos + 6 + size] = struct.pack("<HI", 0x0004, len(name)) + name.encode()
            break
        if record not in (0x0001, 0x004A, 0x0002, 0x0014, 0x0003):
            raise AddinError(f"unexpected record {record:#06x} before the VBA project name")
        pos += 6 + size
    cfb.write_stream_in_storage("VBA", "dir", compress(bytes(info)))
    return cfb.to_bytes()


def _rewrite_package(template: bytes, edits: Mapping[str, bytes]) -> bytes:
    """Copy a zip package, replacing some parts; entry order and timestamps are kept."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = edits.get(info.filename, None)
            if data is None:
                data = src.read(info.filename)
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            copy.external_attr = info.external_attr
            copy.create_system = info.create_system
            dst.writestr(copy, data)
    return out.getvalue()


def _package_edits(template: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(template)) as src:
        names = src.namelist()
        for part in (_CUSTOM_UI_PART, _SHEET_PART, _SHARED_STRINGS_PART, _PACKAGE_RELS_PART):
            if part not in names:
                raise AddinError(f"the xlwings template has no {part}")
        workbook = src.read(_WORKBOOK_PART).decode("utf-8")
        sheet = src.read(_SHEET_PART).decode("utf-8")
        rels = src.read(_PACKAGE_RELS_PART).decode("utf-8")
    # The ribbon: our customUI.xml is in the Office 2007 schema (2006/01 namespace), which every
    # Excel from 2007 on reads. MS-OI29500 / MS-CUSTOMUI pair that part with the 2006
    # relationship type; the 2007 type, which xlwings' template uses, is reserved for a
    # 2009/07 customUI14.xml, and Excel 2007 ignores a ribbon linked by it (xlwings issue #1039).
    rels, count = re.subn(
        rf'Type="{re.escape(_UI_REL_2007)}" Target="{re.escape(_CUSTOM_UI_PART)}"',
        f'Type="{_UI_REL_2006}" Target="{_CUSTOM_UI_PART}"',
        rels,
    )
    if count != 1:
        raise AddinError("the xlwings template's ribbon relationship has an unexpected layout")
    # The template's one sheet is xlwings' config table ("_myaddin.conf"). The add-in never
    # reads settings from a sheet; the sheet stays (an add-in needs one), renamed and emptied
    # so that nobody mistakes it for a place to configure the add-in.
    workbook, count = re.subn(
        rf'name="_{_TEMPLATE_PROJECT_NAME}\.conf"', f'name="{_SHEET_NAME}"', workbook
    )
    if count != 1:
        raise AddinError(f"the xlwings template has no sheet _{_TEMPLATE_PROJECT_NAME}.conf")
    # The template author's folder, recorded by Excel when the template was saved.
    workbook, count = re.subn(r"<mc:AlternateContent\b.*?</mc:AlternateContent>", "", workbook)
    if count != 1:
        raise AddinError("the xlwings template's workbook.xml has an unexpected layout")
    sheet, count = re.subn(r"<sheetData>.*</sheetData>", "<sheetData />", sheet, flags=re.DOTALL)
    sheet, count2 = re.subn(r'<dimension ref="[^"]*" />', '<dimension ref="A1" />', sheet)
    if count != 1 or count2 != 1:
        raise AddinError("the xlwings template's config sheet has an unexpected layout")
    return {
        _CUSTOM_UI_PART: ribbon_xml().encode("utf-8"),
        _WORKBOOK_PART: workbook.encode("utf-8"),
        _SHEET_PART: sheet.encode("utf-8"),
        _SHARED_STRINGS_PART: _EMPTY_SHARED_STRINGS.encode("utf-8"),
        _PACKAGE_RELS_PART: rels.encode("utf-8"),
    }


# The xlwings runtime module of the template, patched procedure by procedure (never by
# fragile in-line string edits). Replaced by the same-named procedures of
# vba/xlwings_runtime.bas (added when new): every settings lookup and the interpreter.
_RUNTIME_REPLACED = ("GetConfig", "XLPyCommand", "XLPyLoadDLL", "has_dynamic_array")
# Removed: the lookups in sheets and in the workbook's folder, and every entry point that
# starts Python or imports code outside the UDF server (RunPython, frozen executables, the
# "Import Functions" button that names modules after the workbook or its ".py" sheets).
_RUNTIME_REMOVED = (
    "GetConfigFromSheet",
    "GetDirectoryConfigFilePath",
    "RunPython",
    "ExecuteMac",
    "ExecuteWindows",
    "RunFrozenPython",
    "GetUdfModules",
    "ImportPythonUDFsBase",
    "ImportPythonUDFs",
    "ImportPythonUDFsToAddin",
    "ImportXlwingsUdfsModule",
    "SaveConfigToFile",
)
# The only procedures of the patched runtime that may touch another workbook: XLPyCommand
# passes the active workbook's name to prepare_sys_path when the user's file asks for it;
# ShowError writes an error sheet when the user's file turns pop-ups off (xlwings' behaviour).
_RUNTIME_ACTIVE_WORKBOOK = frozenset({"XLPyCommand", "ShowError", "GetFullName"})
_PROCEDURE_HEADER = re.compile(
    r"^[ \t]*(?:(?:Public|Private|Friend)[ \t]+)?(?:Static[ \t]+)?"
    r"(?:Function|Sub|Property[ \t]+(?:Get|Let|Set))[ \t]+(\w+)",
    re.IGNORECASE,
)
_PROCEDURE_END = re.compile(r"^[ \t]*End[ \t]+(?:Function|Sub|Property)\b", re.IGNORECASE)
_DIRECTIVE_IF = re.compile(r"^[ \t]*#If\b", re.IGNORECASE)
_DIRECTIVE_END_IF = re.compile(r"^[ \t]*#End[ \t]*If\b", re.IGNORECASE)


def _procedure_spans(lines: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Map each procedure name (lower case) to its line span ``[start, end)``.

    A span includes a conditional-compilation block wrapped around the header (xlwings
    writes ``#If App = ... Then`` / one header / ``#Else`` / another header / ``#End If``)
    or around the whole procedure.

    Raises
    ------
    AddinError
        If a procedure is declared twice or its span leaves a ``#If`` unbalanced.
    """
    spans: dict[str, tuple[int, int]] = {}
    i = 0
    while i < len(lines):
        header = _PROCEDURE_HEADER.match(lines[i])
        if not header:
            i += 1
            continue
        name = header.group(1).lower()
        start = i
        end = next((j for j in range(i, len(lines)) if _PROCEDURE_END.match(lines[j])), None)
        if end is None:
            raise AddinError(f"the VBA procedure {header.group(1)} has no End line")
        end += 1
        if start > 0 and _DIRECTIVE_IF.match(lines[start - 1]):
            start -= 1

        def balance(a: int, b: int) -> int:
            return sum(
                bool(_DIRECTIVE_IF.match(x)) - bool(_DIRECTIVE_END_IF.match(x)) for x in lines[a:b]
            )

        if balance(start, end) == 1 and end < len(lines) and _DIRECTIVE_END_IF.match(lines[end]):
            end += 1
        if balance(start, end) != 0:
            raise AddinError(f"cannot isolate the VBA procedure {header.group(1)}")
        if name in spans:
            raise AddinError(f"the VBA procedure {header.group(1)} is declared twice")
        spans[name] = (start, end)
        i = end
    return spans


def _split_procedures(text: str) -> dict[str, str]:
    """Cut a file of procedures (comments between them ignored) into {name: source}."""
    lines = text.split("\n")
    return {
        name: "\n".join(lines[start:end]) for name, (start, end) in _procedure_spans(lines).items()
    }


def _code_only(line: str) -> str:
    """Return a VBA line without its string literals and comment (for identifier searches)."""
    line = re.sub(r'"(?:[^"]|"")*"', '""', line)
    return line.split("'", 1)[0]


def _references(source: str, name: str) -> list[str]:
    """Lines of ``source`` whose code (not comments or strings) names ``name``."""
    word = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
    return [line for line in source.split("\n") if word.search(_code_only(line))]


def _runtime_source(source: str, xlwings_version: str) -> str:
    """Return the template's xlwings runtime module, patched for xlfrontier.

    The project name becomes ``xlfrontier``; ``Option Private Module`` keeps its public
    procedures (``RunPython``-like helpers, ``ReadFile``...) out of reach of worksheet formulas
    in other workbooks; the procedures of :data:`_RUNTIME_REPLACED` are replaced and those of
    :data:`_RUNTIME_REMOVED` removed, each found by its header (see module comments).

    Raises
    ------
    AddinError
        If the template is for another xlwings version or any expected procedure or
        declaration is missing: the build stops rather than ship xlwings' lookups.
    """
    found = re.search(r'XLWINGS_VERSION As String = "([^"]*)"', source)
    if not found or found.group(1) != xlwings_version:
        raise AddinError(
            f"the add-in template's VBA is for xlwings {found.group(1) if found else '?'} but "
            f"xlwings {xlwings_version} is installed: its DLL would not be found. Build from "
            "the template of the installed xlwings."
        )
    newline = "\r\n" if "\r\n" in source else "\n"
    text = source.replace("\r\n", "\n")
    text, count = re.subn(r'(PROJECT_NAME As String = )"[^"]*"', rf'\g<1>"{PROJECT_NAME}"', text)
    if count != 1:
        raise AddinError("the add-in template's VBA declares no PROJECT_NAME")
    text, count = re.subn(
        r'\A(Attribute VB_Name = "[^"]*"\n)', r"\1Option Private Module\n", text, count=1
    )
    if count != 1:
        raise AddinError("the add-in template's VBA runtime does not start with its name")

    lines = text.split("\n")
    spans = _procedure_spans(lines)
    replacements = _split_procedures(_vba_resource("xlwings_runtime.bas"))
    edits: dict[int, tuple[int, str | None]] = {}
    for name in (*_RUNTIME_REPLACED, *_RUNTIME_REMOVED):
        span = spans.get(name.lower())
        if span is None:
            raise AddinError(
                f"the xlwings {xlwings_version} runtime has no procedure {name}: its settings "
                "lookup cannot be replaced, so the add-in is not built"
            )
        edits[span[0]] = (span[1], replacements.get(name.lower()))
    added = [src for n, src in replacements.items() if n not in spans]
    if {n.lower() for n in _RUNTIME_REPLACED} - set(replacements):
        raise AddinError("vba/xlwings_runtime.bas lacks a replacement procedure")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i in edits:
            end, replacement = edits[i]
            if replacement is not None:
                out.append(replacement)
            i = end
        else:
            out.append(lines[i])
            i += 1
    text = "\n".join(out).rstrip("\n") + "\n\n" + "\n\n".join(added) + "\n"
    _check_runtime(text)
    return text.replace("\n", newline)


def _check_runtime(text: str) -> None:
    """Refuse a patched runtime that still reads settings from anywhere but the user's file."""
    for name in _RUNTIME_REMOVED:
        if _references(text, name):
            raise AddinError(f"the patched xlwings runtime still calls {name}")
    lines = text.replace("\r\n", "\n").split("\n")
    allowed = {n.lower() for n in _RUNTIME_ACTIVE_WORKBOOK}
    for name, (start, end) in _procedure_spans(lines).items():
        body = "\n".join(lines[start:end])
        if _references(body, "ActiveWorkbook") and name not in allowed:
            raise AddinError(f"the patched xlwings runtime reads the active workbook in {name}")
        # The config name is built in one place only: the path of the user's file.
        conf = [x for x in lines[start:end] if ".conf" in x and not _is_comment(x)]
        if conf and name != "getconfigfilepath":
            raise AddinError(f"the patched xlwings runtime names a config file in {name}")


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("'")


def build_addin(
    out: str | os.PathLike[str] = Path("build") / ADDIN_FILENAME,
    *,
    udf_modules: str = UDF_MODULES,
    template: str | os.PathLike[str] | None = None,
    help_url: str = HELP_URL,
) -> AddinBuild:
    """Build the add-in from xlwings' ribbon add-in template.

    Parameters
    ----------
    out : path-like
        Where to write the add-in; must end in ``.xlam``. Written atomically (a temporary file
        next to it, then renamed), its folder created if need be.
    udf_modules : str
        Python module(s) whose worksheet functions get VBA wrappers.
    template : path-like, optional
        The ribbon add-in template; by default the one inside the installed xlwings. Its VBA
        must be for the installed xlwings version.
    help_url : str
        Page the Help button opens unless the config file sets ``XLFRONTIER_HELP``.

    Returns
    -------
    AddinBuild

    Raises
    ------
    AddinError
        If the template, the UDF module or pyOpenVBA is not usable.
    """
    import xlwings

    out = Path(out)
    if out.suffix.lower() != ".xlam":
        raise AddinError(f"the add-in must be an .xlam file, not {out.name}")
    try:
        from pyopenvba import ExcelFile
    except ImportError as err:
        raise AddinError(
            "building the add-in needs pyOpenVBA: pip install 'xlfrontier[addin]'"
        ) from err

    template_path = Path(template) if template is not None else xlwings_template()
    template_bytes = template_path.read_bytes()
    wrappers = generate_udf_wrappers(udf_modules, addin_name=ADDIN_FILENAME)
    staged_bytes = _rewrite_package(template_bytes, _package_edits(template_bytes))

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlfrontier-addin-") as tmp:
        staged = Path(tmp) / ADDIN_FILENAME
        staged.write_bytes(staged_bytes)
        built = Path(tmp) / ("built-" + ADDIN_FILENAME)
        with ExcelFile(staged) as book:
            project = book.vba_project()
            book.set_module(
                "xlwings", _runtime_source(book.get_module("xlwings"), xlwings.__version__)
            )
            if _TEMPLATE_RIBBON_MODULE in project.module_names():
                project.delete_module(_TEMPLATE_RIBBON_MODULE)
            project.add_module(UDF_VBA_MODULE, wrappers.vba)
            project.add_module(REGISTER_VBA_MODULE, register_vba(wrappers.macro_options))
            project.add_module(
                RIBBON_MODULE,
                ribbon_vba(
                    wrappers.functions,
                    modules=wrappers.modules,
                    udf_modules=udf_modules,
                    help_url=help_url,
                ),
            )
            book.set_module("ThisWorkbook", _crlf(_THIS_WORKBOOK_BODY))
            # The template's Microsoft Forms reference points into its author's temp folder
            # (C:\Users\...\VBE\MSForms.exd) and no module uses a form.
            book.remove_reference("MSForms")
            book.save(built)
        package = built.read_bytes()
        with zipfile.ZipFile(io.BytesIO(package)) as src:
            project_bin = src.read(_VBA_PROJECT_PART)
        package = _rewrite_package(
            package, {_VBA_PROJECT_PART: _rename_vba_project(project_bin, VBA_PROJECT_NAME)}
        )
        with atomic_write(out) as temp:  # never a half-written add-in, nor a planted link
            temp.write_bytes(package)
    _, _, check_names = _check_signature(wrappers.functions, CHECK_FUNCTION)
    return AddinBuild(
        path=out,
        functions=tuple(sorted(wrappers.functions)),
        xlwings_version=xlwings.__version__,
        check_inputs=bool(check_names),
    )


# --------------------------------------------------------------------------------------------
# The config file
# --------------------------------------------------------------------------------------------

_CONFIG_LINE = re.compile(r'^"([^"]*)","([^"]*)"$')


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    r"""Return ``%USERPROFILE%\.xlfrontier\xlfrontier.conf``, where the add-in looks.

    The add-in's VBA builds this path from ``Environ("USERPROFILE")`` and ``PROJECT_NAME``.
    """
    env = os.environ if env is None else env
    home = env.get("USERPROFILE")
    base = Path(home) if home else Path.home()
    return base / f".{PROJECT_NAME}" / f"{PROJECT_NAME}.conf"


def portable_path(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> str:
    r"""Write a Windows path relative to a user folder variable when it lies in one.

    ``C:\Users\Zoë\AppData\Local\xlfrontier\venv`` becomes
    ``%LOCALAPPDATA%\xlfrontier\venv``; xlwings expands such variables when it reads the config
    (``WScript.Shell.ExpandEnvironmentStrings``), and the file stays ASCII whatever the user
    name. The longest matching folder wins; paths elsewhere are returned normalised.

    Parameters
    ----------
    path : path-like
        A Windows path.
    env : mapping, optional
        Environment variables (default: ``os.environ``).
    """
    env = os.environ if env is None else env
    text = ntpath.normpath(os.fspath(path))
    best: tuple[int, str] | None = None
    for var in _PORTABLE_VARIABLES:
        value = env.get(var)
        if not value:
            continue
        root = ntpath.normpath(value).rstrip("\\")
        if not root:
            continue
        head = text[: len(root)]
        rest = text[len(root) :]
        inside = head.casefold() == root.casefold() and (not rest or rest.startswith("\\"))
        if inside and (best is None or len(root) > best[0]):
            best = (len(root), f"%{var}%{rest}")
    return best[1] if best else text


def _config_value(key: str, value: str) -> str:
    if not value.isascii() or any(ch in value for ch in '"\r\n'):
        raise AddinConfigError(
            f"cannot write {key}={value!r} to the xlwings config file: it must be plain ASCII "
            "without quotes. Put the folder under your user profile (its %VARIABLE% form is "
            "written instead) or choose a folder with an ASCII name."
        )
    return value


def config_text(
    venv: str | os.PathLike[str],
    *,
    udf_modules: str = UDF_MODULES,
    template: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    keep: Mapping[str, str] | None = None,
) -> str:
    r"""Return the config file for the add-in, in the format xlwings' VBA reads.

    One ``"KEY","VALUE"`` line per setting, as VBA's ``Write #`` writes them and ``Input #``
    reads them back, CRLF line ends, ASCII.

    Parameters
    ----------
    venv : path-like
        The virtual environment serving the functions; the interpreter is
        ``<venv>\Scripts\pythonw.exe`` (xlwings finds its DLL in ``<venv>``).
    udf_modules : str
        Value of ``UDF MODULES``.
    template : path-like, optional
        The workbook template for "New from template" (``XLFRONTIER_TEMPLATE``).
    env : mapping, optional
        Environment for :func:`portable_path` (default: ``os.environ``).
    keep : mapping, optional
        Other settings to carry over (e.g. a user's ``SHOW CONSOLE``), written after ours.

    Raises
    ------
    AddinConfigError
        If a value cannot be written as ASCII without quotes.
    """
    settings = {
        "INTERPRETER_WIN": portable_path(
            ntpath.join(os.fspath(venv), "Scripts", "pythonw.exe"), env
        ),
        "UDF MODULES": udf_modules,
        # Never the workbook's folder or <workbook>.zip first on sys.path (files beside a
        # workbook must not replace our code); also the add-in's default.
        "ADD_WORKBOOK_TO_PYTHONPATH": "False",
    }
    if template is not None:
        settings[_TEMPLATE_KEY] = portable_path(template, env)
    ours = {k.casefold() for k in settings}
    for key, value in (keep or {}).items():
        if key.casefold() not in ours:
            settings[key] = value
    lines = [f'"{_config_value("key", k)}","{_config_value(k, v)}"' for k, v in settings.items()]
    return "".join(line + "\r\n" for line in lines)


def read_config(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a config file written by xlwings or :func:`write_config` (``{}`` if absent).

    Lines that are not ``"KEY","VALUE"`` are ignored.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    settings: dict[str, str] = {}
    for line in path.read_bytes().decode("latin-1").splitlines():
        match = _CONFIG_LINE.match(line.strip())
        if match:
            settings[match.group(1)] = match.group(2)
    return settings


def write_config(
    venv: str | os.PathLike[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    udf_modules: str = UDF_MODULES,
    template: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    r"""Write (or update in place) the add-in's config file.

    Settings this function does not manage, found in an existing file, are kept.

    Parameters
    ----------
    venv : path-like, optional
        The virtual environment serving the functions (default: the running one,
        ``sys.prefix``).
    path : path-like, optional
        The config file (default: :func:`default_config_path`).
    udf_modules, template, env
        As for :func:`config_text`.

    Returns
    -------
    Path
        The file written.
    """
    target = Path(path) if path is not None else default_config_path(env)
    text = config_text(
        venv if venv is not None else sys.prefix,
        udf_modules=udf_modules,
        template=template,
        env=env,
        keep=read_config(target),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text.encode("ascii"))
    return target


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        result = build_addin(args.out, udf_modules=args.udf_modules, template=args.xlwings_template)
    except (AddinError, OSError) as err:
        print(f"xlfrontier addin build: {err}", file=sys.stderr)
        return 1
    print(
        f"Built {result.path} with {len(result.functions)} worksheet functions from "
        f"{args.udf_modules} (xlwings {result.xlwings_version})"
    )
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    try:
        if args.print_only:
            text = config_text(
                args.venv if args.venv is not None else sys.prefix,
                udf_modules=args.udf_modules,
                template=args.template,
            )
            # The console adds its own line ends.
            sys.stdout.write(text.replace("\r\n", "\n"))
            return 0
        written = write_config(
            args.venv, path=args.path, udf_modules=args.udf_modules, template=args.template
        )
    except (AddinError, OSError) as err:
        print(f"xlfrontier addin config: {err}", file=sys.stderr)
        return 1
    print(f"Wrote {written}")
    return 0


def add_addin_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``addin build`` and ``addin config`` to a command line.

    Each leaf parser sets ``func``: call ``args.func(args)``, which returns the exit status.

    Parameters
    ----------
    subparsers
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``addin`` parser.
    """
    addin = subparsers.add_parser(
        "addin",
        help="build and configure the Excel add-in",
        description="Build the xlfrontier Excel add-in and write its configuration.",
    )
    commands = addin.add_subparsers(dest="addin_command", metavar="COMMAND")
    commands.required = True

    build = commands.add_parser(
        "build",
        help="build xlfrontier.xlam from the installed xlwings' add-in template",
        description="Build the add-in: xlwings' ribbon add-in template, the VBA wrappers of "
        "every worksheet function, and the Portfolio ribbon tab.",
    )
    build.add_argument(
        "--out",
        type=Path,
        default=Path("build") / ADDIN_FILENAME,
        help="where to write the add-in (default: %(default)s)",
    )
    build.add_argument(
        "--udf-modules",
        default=UDF_MODULES,
        help="Python module(s) with the worksheet functions, ';'-separated (default: %(default)s)",
    )
    build.add_argument(
        "--xlwings-template",
        type=Path,
        default=None,
        help="xlwings ribbon add-in template (default: the one in the installed xlwings)",
    )
    build.set_defaults(func=_cmd_build)

    config = commands.add_parser(
        "config",
        help=r"write %%USERPROFILE%%\.xlfrontier\xlfrontier.conf",
        description="Write the add-in's settings file in the format xlwings reads: the Python "
        "interpreter, the UDF module and the workbook template. Other settings in an existing "
        "file are kept.",
    )
    config.add_argument(
        "--venv",
        default=None,
        help="virtual environment serving the functions (default: the running one)",
    )
    config.add_argument(
        "--template",
        default=None,
        help="workbook template opened by 'New from template' (default: none written; the "
        r"add-in then looks in Documents\xlfrontier)",
    )
    config.add_argument("--udf-modules", default=UDF_MODULES, help="default: %(default)s")
    config.add_argument(
        "--path",
        type=Path,
        default=None,
        help=r"config file (default: %%USERPROFILE%%\.xlfrontier\xlfrontier.conf)",
    )
    config.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the settings instead of writing the file",
    )
    config.set_defaults(func=_cmd_config)
    return addin


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m xlfrontier.excel.addin build|config ...``."""
    parser = argparse.ArgumentParser(prog="python -m xlfrontier.excel.addin")
    add_addin_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["addin", *(argv if argv is not None else sys.argv[1:])])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
