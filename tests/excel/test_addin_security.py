"""A workbook must never choose what the add-in runs.

Read back from the *built* add-in with olevba (an independent reader), without Excel:

- every setting comes from ``%USERPROFILE%\\.xlfrontier\\xlfrontier.conf`` or a fixed default:
  no lookup touches the active workbook, its folder or a sheet named after the config;
- the interpreter is ``INTERPRETER_WIN`` of that file only, quoted for ``cmd.exe``, refused
  when it cannot be quoted safely; ``ADD_WORKBOOK_TO_PYTHONPATH`` defaults to off;
- no procedure of the runtime can be called from a worksheet formula of another workbook.

Then the command line the built VBA writes (run in pyOpenVBA's interpreter) goes through an
emulation of ``cmd.exe /K`` and of the Windows argument parser, and the Python program it
holds runs here, in a folder holding a planted ``xlfrontier`` package and ``Report.zip``: the
planted code is not imported (xlwings' own command, run the same way, imports it). With the
setting turned on by the user, a planted copy is refused by :mod:`xlfrontier.udfs`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xlwings

pytest.importorskip("pyopenvba")
pytest.importorskip("oletools")

from pyopenvba.apps.excel import ExcelApplication
from test_addin import olevba_modules, parse_vba

import xlfrontier
from xlfrontier.excel import _provenance, addin

PACKAGE_DIR = Path(xlfrontier.__file__).resolve().parent
REPO_ADDIN = PACKAGE_DIR.parent
CONF = r"C:\Users\u\.xlfrontier\xlfrontier.conf"
MARKER = "PLANTED-CODE-RAN"

# ------------------------------------------------------------------------------ VBA reading

_HEADER = re.compile(
    r"^\s*(?:(?:Public|Private|Friend)\s+)?(?:Static\s+)?(Function|Sub|Property\s+\w+)\s+(\w+)",
    re.IGNORECASE,
)


def procedures(code):
    """{name: source} of every procedure of a module (independent of the builder's parser)."""
    found, name, body = {}, None, []
    for line in code.replace("\r\n", "\n").split("\n"):
        header = _HEADER.match(line)
        if name is None and header:
            name, body = header.group(2), []
        if name is not None:
            body.append(line)
            if re.match(r"^\s*End\s+(Function|Sub|Property)\b", line, re.IGNORECASE):
                found[name] = "\n".join(body)
                name = None
    return found


def code_lines(source):
    """Lines with string literals emptied and comments dropped."""
    out = []
    for line in source.split("\n"):
        line = re.sub(r'"(?:[^"]|"")*"', '""', line)
        out.append(line.split("'", 1)[0])
    return out


def all_procedures(modules):
    return {(m, n): src for m, code in modules.items() for n, src in procedures(code).items()}


def config_keys_read(modules):
    """Every key passed to GetConfig, with the Private Const names of a module resolved."""
    keys = {}
    for code in modules.values():
        consts = dict(re.findall(r'Const (\w+) As String = "([^"]*)"', code))
        calls = r"(?<!Function )GetConfig\(\s*([^,)]+)\s*(?:,\s*([^,)]+))?"
        flags = [(k, '"False"') for k in re.findall(r"(?<!Function )ConfigFlag\(([^)]*)\)", code)]
        for arg, default in re.findall(calls, code) + flags:
            arg = arg.strip()
            if arg == "configKey":  # inside ConfigFlag (checked below)
                continue
            key = arg.strip('"') if arg.startswith('"') else consts.get(arg, arg)
            keys.setdefault(key, set()).add((default or "").strip())
    return keys


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = addin.build_addin(tmp_path_factory.mktemp("security") / addin.ADDIN_FILENAME)
    return olevba_modules(out.path)


@pytest.fixture(scope="module")
def template():
    return olevba_modules(addin.xlwings_template())


# ------------------------------------------------------------------------------ static checks


def test_the_template_reads_settings_from_the_active_workbook(template):
    """What this file guards against is really in xlwings' runtime (so the checks can fail)."""
    get_config = procedures(template["xlwings"])["GetConfig"]
    assert 'SheetExists(ActiveWorkbook, PROJECT_NAME & ".conf")' in get_config
    assert "GetDirectoryConfigFilePath()" in get_config


def test_get_config_reads_only_the_user_file(built):
    procs = procedures(built["xlwings"])
    body = "\n".join(code_lines(procs["GetConfig"]))
    calls = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", body)) - {"GetConfig"}
    assert calls == {"GetConfigFromFile", "GetConfigFilePath", "ExpandEnvironmentStrings"}
    for word in ("ActiveWorkbook", "ThisWorkbook", "Sheets", "Worksheets", "Path", "Directory"):
        assert not re.search(rf"\b{word}\b", body), word
    # The one file: %USERPROFILE%\.xlfrontier\xlfrontier.conf.
    path = procs["GetConfigFilePath"]
    assert (
        'GetConfigFilePath = Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & '
        'PROJECT_NAME & ".conf"'
    ) in path
    assert 'Public Const PROJECT_NAME As String = "xlfrontier"' in built["xlwings"]


def test_no_module_looks_up_a_config_sheet_or_folder_file(built):
    for (module, name), source in all_procedures(built).items():
        code = "\n".join(code_lines(source))
        for gone in ("GetConfigFromSheet", "GetDirectoryConfigFilePath", "GetDirectoryPath"):
            assert not re.search(rf"\b{gone}\b", code) or name == gone, (module, name)
        raw = "\n".join(x for x in source.split("\n") if not x.lstrip().startswith("'"))
        if ".conf" in raw:
            assert (module, name) == ("xlwings", "GetConfigFilePath")
        if re.search(r"\bActiveWorkbook\b", code):
            # The runtime's error sheet (when the user's file turns pop-ups off), the wrappers
            # handing Python the calling workbook, the ribbon's own commands, and XLPyCommand
            # below: none reads a setting.
            assert (module, name) in {
                ("xlwings", "XLPyCommand"),
                ("xlwings", "ShowError"),
            } or module in {addin.UDF_VBA_MODULE, addin.RIBBON_MODULE}, (module, name)
            # Never as the source of a setting: no GetConfig argument names a workbook.
            for args in re.findall(r"GetConfig\(([^)]*)\)", code):
                assert "Workbook" not in args, (module, name)
        # The add-in's own folder only for Diagnose's "is it in XLSTART?" check.
        if re.search(r"ThisWorkbook\.Path\b", code):
            assert (module, name) == (addin.RIBBON_MODULE, "Diagnose")


def test_the_interpreter_comes_from_the_user_file_only(built, template):
    procs = procedures(built["xlwings"])
    interpreter = procs["ConfiguredInterpreter"]
    keys = re.findall(r"GetConfig\(([^)]*)\)", interpreter)
    assert keys == ['"INTERPRETER_WIN", ""']
    for name in ("XLPyCommand", "XLPyLoadDLL"):
        code = "\n".join(code_lines(procs[name]))
        assert "interpreter = ConfiguredInterpreter()" in code
        assert not re.search(r'GetConfig\(""(INTERPRETER|CONDA)', procs[name])
    runtime = built["xlwings"]
    for legacy in ('"CONDA PATH"', '"CONDA ENV"', 'GetConfig("INTERPRETER",', '"LICENSE_KEY"'):
        assert legacy not in runtime, legacy
        # ...all of which xlwings' own runtime reads:
    assert all(k in template["xlwings"] for k in ('"CONDA PATH"', 'GetConfig("INTERPRETER",'))


def test_add_workbook_to_pythonpath_defaults_off(built, template):
    flag = procedures(built["xlwings"])["ConfigFlag"]
    assert 'GetConfig(configKey, "False")' in flag
    keys = config_keys_read(built)
    assert keys["ADD_WORKBOOK_TO_PYTHONPATH"] == {'"False"'}
    assert config_keys_read(template)["ADD_WORKBOOK_TO_PYTHONPATH"] == {'"true"'}
    # The workbook's name reaches Python only inside the branch the user's file turns on.
    command = procedures(built["xlwings"])["XLPyCommand"].split("\n")
    branch = next(i for i, x in enumerate(command) if "ADD_WORKBOOK_TO_PYTHONPATH" in x)
    end = next(i for i in range(branch, len(command)) if command[i].strip() == "Else")
    uses = [i for i, x in enumerate(command) if "ActiveWorkbook" in x]
    assert uses
    assert all(branch < i < end for i in uses)
    text = addin.config_text(r"C:\venv", env={})
    assert '"ADD_WORKBOOK_TO_PYTHONPATH","False"\r\n' in text


def test_the_keys_the_add_in_reads_are_the_documented_ones(built):
    assert set(config_keys_read(built)) == set(addin.ADDIN_READS)


def test_no_runtime_procedure_is_callable_from_a_worksheet(built, template):
    """A formula such as =RunFrozenPython("calc.exe") in any workbook must not reach the add-in.

    Public Functions of a standard module are worksheet functions of every open workbook,
    unless the module has ``Option Private Module``. Only the UDF wrappers may be public.
    """
    wrappers = set(re.findall(r"(?m)^Function (\w+)\(", built[addin.UDF_VBA_MODULE]))
    reachable = set()
    for name, code in built.items():
        module = parse_vba(name, code)
        if module.kind != "standard" or "private module" in {o.lower() for o in module.options}:
            continue
        reachable |= {
            p.name for p in module.procedures if p.scope == "public" and p.kind == "function"
        }
    assert reachable == wrappers
    exposed = {p.name for p in parse_vba("xlwings", template["xlwings"]).procedures}
    assert {"RunPython", "RunFrozenPython", "SaveConfigToFile"} <= exposed  # the old risk
    for gone in ("RunPython", "RunFrozenPython", "SaveConfigToFile", "ImportPythonUDFs"):
        assert gone not in procedures(built["xlwings"])


def test_a_runtime_without_the_expected_lookup_is_not_built(template):
    runtime = template["xlwings"].replace("Function GetConfigFromSheet(", "Function Other(")
    with pytest.raises(addin.AddinError, match="has no procedure GetConfigFromSheet"):
        addin._runtime_source(runtime, xlwings.__version__)
    runtime = template["xlwings"].replace("Function XLPyCommand()", "Function XLPyCmd()")
    with pytest.raises(addin.AddinError, match="has no procedure XLPyCommand"):
        addin._runtime_source(runtime, xlwings.__version__)


@pytest.mark.parametrize(
    ("kept", "problem"),
    [
        ("GetConfigFromSheet", "names a config file in getconfigfromsheet"),
        ("ImportXlwingsUdfsModule", "reads the active workbook in importxlwingsudfsmodule"),
    ],
)
def test_a_runtime_still_reading_a_workbook_is_not_built(template, monkeypatch, kept, problem):
    removed = tuple(n for n in addin._RUNTIME_REMOVED if n != kept)
    monkeypatch.setattr(addin, "_RUNTIME_REMOVED", removed)
    with pytest.raises(addin.AddinError, match=problem):
        addin._runtime_source(template["xlwings"], xlwings.__version__)


# ------------------------------------------------------------------------------ the command line


def cmd_k(command_line):
    """What ``cmd.exe /K`` runs: its quote rule 2, ``^`` escapes, operators refused."""
    head, _, rest = command_line.partition(" /K ")
    assert head.split()[0] == "cmd.exe"
    # cmd /? rule 2: more than two quotes, the first one leading: the outer pair goes.
    assert rest.count('"') > 2
    assert rest.startswith('"')
    last = rest.rindex('"')
    rest = rest[1:last] + rest[last + 1 :]
    out, quoted, i = [], False, 0
    while i < len(rest):
        ch = rest[i]
        assert ch != "%", "cmd.exe would expand %...% anywhere on the line"
        if ch == '"':
            quoted = not quoted
            out.append(ch)
        elif not quoted and ch == "^":
            i += 1
            out.append(rest[i])
        else:
            assert quoted or ch not in "&|<>", f"unquoted {ch} would split the command"
            out.append(ch)
        i += 1
    return "".join(out)


def windows_argv(line):
    """The arguments a Windows C program (python.exe) parses from its command line."""
    args, i, n = [], 0, len(line)
    if line.startswith('"'):  # the program name: up to the next quote, no escapes
        end = line.index('"', 1)
        args.append(line[1:end])
        i = end + 1
    else:
        end = len(line.split(None, 1)[0])
        args.append(line[:end])
        i = end
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            return args
        cur, quoted = [], False
        while i < n and (quoted or line[i] not in " \t"):
            if line[i] == "\\":
                j = i
                while j < n and line[j] == "\\":
                    j += 1
                if j < n and line[j] == '"':
                    cur.append("\\" * ((j - i) // 2))
                    if (j - i) % 2:
                        cur.append('"')
                        j += 1
                else:
                    cur.append("\\" * (j - i))
                i = j
            elif line[i] == '"':
                quoted = not quoted
                i += 1
            else:
                cur.append(line[i])
                i += 1
        args.append("".join(cur))


def test_emulators_follow_the_documented_rules():
    assert cmd_k('cmd.exe /K ""C:\\a b\\p.exe" -c "x"" ') == '"C:\\a b\\p.exe" -c "x" '
    assert cmd_k('cmd.exe /K ""p" "a"^&"b""') == '"p" "a"&"b"'
    with pytest.raises(AssertionError, match="unquoted &"):
        cmd_k('cmd.exe /K ""p" "a"&"b""')
    assert windows_argv(r'"C:\a b\p.exe" -c "say \"hi\"" a\\b c\\\"d') == [
        r"C:\a b\p.exe",
        "-c",
        'say "hi"',
        r"a\\b",
        'c\\"d',
    ]


def _stubbed_command(runtime, config, active_full_name, missing=()):
    """Run the runtime's XLPyCommand in pyOpenVBA's Excel with the config file stubbed."""
    procs = procedures(runtime)
    keep = [n for n in ("XLPyCommand", "ConfiguredInterpreter", "ConfigFlag") if n in procs]
    cases = "\n".join(f'        Case "{k.upper()}": GetConfig = "{v}"' for k, v in config.items())
    missing_cases = "\n".join(f'    If FileSpec = "{m}" Then FileExists = False' for m in missing)
    stubs = f"""
Function GetConfig(configKey As String, Optional default As String = "", _
                   Optional source As String = "") As Variant
    Select Case UCase(configKey)
{cases}
        Case Else
            ' A Boolean, as VBA's own coercion makes of "False" in xlwings' comparisons.
            If default = "False" Then GetConfig = False Else GetConfig = default
    End Select
End Function

Function GetConfigFilePath() As String
    GetConfigFilePath = "{CONF}"
End Function

Function FileExists(ByVal FileSpec As String) As Boolean
    FileExists = True
{missing_cases}
End Function

Function CheckConda(CondaPath As String) As Boolean
    CheckConda = True
End Function

Public Function Probe() As String
    On Error GoTo failed
    Probe = XLPyCommand()
    Exit Function
failed:
    Probe = "ERROR: " & Err.Description
End Function
"""
    source = 'Attribute VB_Name = "Runtime"\n' + "\n\n".join(procs[n] for n in keep) + stubs
    app = ExcelApplication()
    book = app.add_workbook()
    folder, _, name = active_full_name.rpartition("/")
    book.path, book.name = folder + "/", name
    app.add_module(source.replace("\n", "\r\n"), name="Runtime")
    return app.run("Probe")


INTERPRETER = r"C:\Program Files\A&B ^C (x86)\venv\Scripts\pythonw.exe"


def test_the_interpreter_path_survives_cmd_exe_quoting(built):
    command = _stubbed_command(built["xlwings"], {"INTERPRETER_WIN": INTERPRETER}, "/x/R.xlsx")
    assert command.startswith("cmd.exe ")
    argv = windows_argv(cmd_k(command))
    assert argv[:3] == [INTERPRETER, "-B", "-c"]
    assert len(argv) == 4
    assert 'prepare_sys_path("false;;;;;;")' in argv[3]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (r"C:\Users\a%b%\venv\Scripts\pythonw.exe", "contains %"),
        (r"C:\Users\wow!\venv\Scripts\pythonw.exe", "contains !"),
        (r"C:\Users\a" + '"' + r"b\pythonw.exe", 'contains "'),
        (r"venv\Scripts\pythonw.exe", "must be a full path"),
        (r"C:\tools\run.bat", "must name python.exe or pythonw.exe"),
        ("", "INTERPRETER_WIN is missing from " + CONF.replace("\\", "\\\\")),
    ],
)
def test_an_interpreter_that_cannot_be_quoted_safely_is_refused(built, path, problem):
    value = path.replace('"', '""')
    command = _stubbed_command(built["xlwings"], {"INTERPRETER_WIN": value}, "/x/R.xlsx")
    assert command.startswith("ERROR: ")
    assert re.search(problem, command), command


def test_a_missing_interpreter_is_named(built):
    path = r"C:\gone\Scripts\pythonw.exe"
    command = _stubbed_command(
        built["xlwings"], {"INTERPRETER_WIN": path}, "/x/R.xlsx", missing=[path]
    )
    assert command == f"ERROR: The Python set in {CONF} does not exist: {path}. Re-run install.ps1."


# ------------------------------------------------------------------------------ planted packages


def _plant_malicious(folder):
    """A folder package and a Report.zip, each an xlfrontier whose import leaves a marker."""
    code = f"open({str(folder / MARKER)!r}, 'a').write('x')\n"
    (folder / "xlfrontier").mkdir()
    (folder / "xlfrontier" / "__init__.py").write_text(code, encoding="utf-8")
    (folder / "xlfrontier" / "udfs.py").write_text(code, encoding="utf-8")
    with zipfile.ZipFile(folder / "Report.zip", "w") as z:
        z.writestr("xlfrontier/__init__.py", code)
        z.writestr("xlfrontier/udfs.py", code)
    (folder / "Report.xlsx").write_bytes(b"")


def _run_program(argv, cwd, probe):
    """Run the Python program of the command line here; ``probe`` replaces xlwings.serve."""
    program = argv[3]
    serve = "xlwings.serve('$(CLSID)')"
    assert program.endswith(serve)
    program = program[: -len(serve)] + probe
    env = {**os.environ, "PYTHONPATH": str(REPO_ADDIN)}  # the test setup's installed location
    return subprocess.run(
        [sys.executable, *argv[1:3], program],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PROBE = "import xlfrontier.udfs;print(xlfrontier.__file__)"


def _command_argv(runtime, folder, config):
    command = _stubbed_command(
        runtime, {"INTERPRETER_WIN": INTERPRETER, **config}, f"{folder}/Report.xlsx"
    )
    return windows_argv(cmd_k(command))


def test_xlwings_own_command_imports_a_planted_package(template, tmp_path):
    """The hole, reproduced: xlwings' runtime puts the workbook's folder first on sys.path."""
    _plant_malicious(tmp_path)
    argv = _command_argv(template["xlwings"], tmp_path, {})
    done = _run_program(argv, tmp_path, "import xlfrontier;print(xlfrontier.__file__)")
    assert done.stdout.strip() == str(tmp_path / "xlfrontier" / "__init__.py")
    assert (tmp_path / MARKER).exists()


def test_the_add_in_command_never_imports_a_planted_package(built, tmp_path):
    """Neither beside the workbook, nor in <workbook>.zip, nor in the current folder."""
    _plant_malicious(tmp_path)
    argv = _command_argv(built["xlwings"], tmp_path, {})
    done = _run_program(argv, tmp_path, PROBE)  # cwd: the planted folder itself
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == PACKAGE_DIR / "__init__.py"
    assert not (tmp_path / MARKER).exists()


def _plant_copy(folder):
    """A faithful copy of the package beside the workbook, folder and zip."""
    shutil.copytree(PACKAGE_DIR, folder / "xlfrontier", ignore=shutil.ignore_patterns("*.pyc"))
    with zipfile.ZipFile(folder / "Report.zip", "w") as z:
        for file in sorted(PACKAGE_DIR.rglob("*.py")):
            z.write(file, "xlfrontier/" + file.relative_to(PACKAGE_DIR).as_posix())
    (folder / "Report.xlsx").write_bytes(b"")


REFUSAL_PROBE = (
    "import xlfrontier\n"
    "try:\n"
    "    import xlfrontier.udfs\n"
    "except ImportError as err:\n"
    "    print('REFUSED', xlfrontier.__file__, '|', err)\n"
    "else:\n"
    "    print('SERVED', xlfrontier.__file__)\n"
)


@pytest.mark.parametrize("where", ["folder", "zip"])
def test_a_planted_copy_is_refused_when_the_user_turns_the_folder_on(built, tmp_path, where):
    _plant_copy(tmp_path)
    # prepare_sys_path puts both first in a set's (random) order: keep one.
    if where == "zip":
        shutil.rmtree(tmp_path / "xlfrontier")
    else:
        (tmp_path / "Report.zip").unlink()
    argv = _command_argv(built["xlwings"], tmp_path, {"ADD_WORKBOOK_TO_PYTHONPATH": "True"})
    assert 'prepare_sys_path("true;' in argv[3]
    done = _run_program(argv, tmp_path.parent, "exec(" + repr(REFUSAL_PROBE) + ")")
    assert done.returncode == 0, done.stderr
    verdict, _, message = done.stdout.strip().partition(" | ")
    expected = tmp_path / ("xlfrontier" if where == "folder" else "Report.zip/xlfrontier")
    assert verdict == f"REFUSED {expected / '__init__.py'}"
    assert message.startswith("xlfrontier refuses to run: it was loaded from ")
    assert "not from where it is installed" in message
    assert len(message) <= 255


# ------------------------------------------------------------------------------ installed where


def _package(root):
    (root / "xlfrontier").mkdir(parents=True)
    init = root / "xlfrontier" / "__init__.py"
    init.write_text("", encoding="utf-8")
    return str(init)


def _dist_info(site_dir, **direct_url):
    info = site_dir / "xlfrontier-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: xlfrontier\nVersion: 0.1.0\n")
    if direct_url:
        (info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")


def test_a_pip_install_is_trusted(tmp_path):
    site_dir = tmp_path / "venv" / "site-packages"
    init = _package(site_dir)
    _dist_info(site_dir)
    assert _provenance.displacement(init, environ={}, site_dirs=[str(site_dir)]) is None


def test_an_editable_install_is_trusted_and_a_planted_dist_info_is_not(tmp_path):
    site_dir = tmp_path / "venv" / "site-packages"
    site_dir.mkdir(parents=True)
    project = tmp_path / "checkout"
    init = _package(project / "addin")
    url = project.as_uri()
    _dist_info(site_dir, url=url, dir_info={"editable": True})
    assert _provenance.displacement(init, environ={}, site_dirs=[str(site_dir)]) is None
    # The same metadata beside a workbook is not looked at.
    downloads = tmp_path / "Downloads"
    planted = _package(downloads)
    _dist_info(downloads, url=downloads.as_uri(), dir_info={"editable": True})
    message = _provenance.displacement(planted, environ={}, site_dirs=[str(site_dir)])
    assert message is not None
    assert str(downloads / "xlfrontier") in message


def test_the_pythonpath_variable_is_trusted(tmp_path):
    init = _package(tmp_path / "src")
    env = {"PYTHONPATH": os.pathsep.join(["", str(tmp_path / "src")])}
    assert _provenance.displacement(init, environ=env, site_dirs=[]) is None
    message = _provenance.displacement(init, environ={}, site_dirs=[])
    assert message is not None


def test_a_zip_member_is_never_trusted(tmp_path):
    archive = tmp_path / "Report.zip"
    message = _provenance.displacement(
        f"{archive}/xlfrontier/__init__.py",
        environ={"PYTHONPATH": str(archive)},
        site_dirs=[str(archive)],
    )
    assert message is not None
    assert "Report.zip" in message


def test_a_long_path_is_shortened_to_fit_a_cell(tmp_path):
    init = _package(tmp_path / ("deep" * 60))
    message = _provenance.displacement(init, environ={}, site_dirs=[])
    assert message is not None
    assert len(message) <= 255
    assert "...deep" in message


def test_the_running_package_is_the_installed_one():
    assert _provenance.displacement(xlfrontier.__file__) is None
    _provenance.check_installed(xlfrontier.__file__)  # does not raise


def test_check_installed_raises_the_cell_message(tmp_path):
    init = _package(tmp_path / "elsewhere")
    with pytest.raises(_provenance.DisplacedPackageError, match="xlfrontier refuses to run"):
        _provenance.check_installed(init)


# ------------------------------------------------------------------------------ install.ps1


def test_install_stops_only_this_environments_servers():
    text = (REPO_ADDIN.parent / "install.ps1").read_text(encoding="utf-8")
    body = re.search(r"(?ms)^function Stop-LeftoverServers \{\n(.*?)^\}\n", text)
    assert body, "install.ps1 has no Stop-LeftoverServers"
    body = body.group(1)
    # Our venv's Scripts folder, matched on the executable or the command line's first word...
    assert "$scripts = (Join-Path $VenvDir 'Scripts')" in body
    ignore_case = "[System.StringComparison]::OrdinalIgnoreCase"
    assert f"$_.ExecutablePath.StartsWith($scripts, {ignore_case})" in body
    assert "$_.CommandLine.TrimStart('\"').StartsWith($scripts," in body
    # ...plus the base interpreter a venv launcher starts as its child; nothing else.
    assert "($launchers -contains $_.ParentProcessId)" in body
    stops = re.findall(r"foreach \(\$server in ([^)]*\))\)", body)
    assert stops == ["@($children + $ours)"]
