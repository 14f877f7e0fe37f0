"""install.ps1: it parses, checks every native command, and calls the Python commands right.

There is no PowerShell here: the script is parsed with tree-sitter-powershell, and its steps
that do real work call ``xlfrontier addin build`` / ``addin config``, whose behaviour is tested
in tests/excel/test_addin.py. These tests tie the script to those commands (the arguments it
passes are accepted by the real argument parser) and check the rules the script must keep.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

tree_sitter = pytest.importorskip("tree_sitter")
tree_sitter_powershell = pytest.importorskip("tree_sitter_powershell")

from xlfrontier.excel import addin  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "install.ps1"
SOURCE = SCRIPT.read_bytes()
TEXT = SOURCE.decode("utf-8")


def _tree():
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(SOURCE)


def _nodes(node, kind):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == kind:
            yield n
        stack.extend(reversed(n.children))


def _problems(root):
    out, stack = [], [root]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            out.append(f"{n.start_point[0] + 1}:{n.start_point[1] + 1}: {n.type}")
        elif n.has_error:
            stack.extend(n.children)
    return out


def _function_body(name):
    match = re.search(rf"(?ms)^function {name} \{{\n(.*?)^\}}\n", TEXT)
    assert match, name
    return match.group(1)


def test_parses_without_errors():
    assert _problems(_tree().root_node) == []


def test_a_syntax_error_would_be_caught():
    """The check is not vacuous: tree-sitter flags a broken copy of the script."""
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    broken = SOURCE.replace(b"function Wait-ExcelClosed {", b"function Wait-ExcelClosed {{", 1)
    assert _problems(parser.parse(broken).root_node)


def test_every_native_command_has_its_exit_code_checked():
    """Each `& program` is followed by a $LASTEXITCODE test before the next one runs."""
    root = _tree().root_node
    calls = [
        n.start_byte
        for n in _nodes(root, "command")
        if n.children and n.children[0].type == "command_invokation_operator"
    ]
    checks = [n.start_byte for n in _nodes(root, "variable") if n.text == b"$LASTEXITCODE"]
    assert len(calls) == 3  # Invoke-Checked, the Python probe, the venv health check
    for i, start in enumerate(calls):
        end = calls[i + 1] if i + 1 < len(calls) else len(SOURCE)
        assert any(start < c < end for c in checks), SOURCE[start : start + 60]
    # Everything else that runs a program goes through Invoke-Checked, never by bare name.
    bare = {n.text.decode().lower() for n in _nodes(root, "command_name")}
    assert not bare & {"py", "python", "pythonw", "pip", "xlfrontier"}


def test_python_commands_are_the_ones_the_cli_accepts():
    parser = argparse.ArgumentParser()
    addin.add_addin_commands(parser.add_subparsers(dest="command"))

    def arguments(literal):
        items = re.findall(r"'([^']*)'|(\$\w+)", literal)
        return [quoted or "C:\\placeholder" for quoted, _ in items]

    build = re.search(r"Invoke-Checked \$VenvCli @\(('addin', 'build'[^)]*)\)", TEXT)
    assert build
    args = parser.parse_args(arguments(build.group(1)))
    assert (args.addin_command, args.func.__name__) == ("build", "_cmd_build")

    config = re.search(r"\$configArgs = @\(('addin', 'config'[^)]*)\)", TEXT)
    extra = re.search(r"\$configArgs \+= @\(([^)]*)\)", TEXT)
    assert config
    assert extra
    assert "Invoke-Checked $VenvCli $configArgs" in TEXT
    args = parser.parse_args(arguments(config.group(1)) + arguments(extra.group(1)))
    assert (args.addin_command, args.venv, args.template) == (
        "config",
        "C:\\placeholder",
        "C:\\placeholder",
    )


def test_key_steps_are_there_in_order():
    install = _function_body("Install-Xlfrontier")
    steps = [
        "Find-BasePython",  # Python >= 3.10 via the py launcher
        "Wait-ExcelClosed",
        "'-m', 'venv', $VenvDir",
        "[addin]",
        "'addin', 'build'",
        "Copy-Item -LiteralPath $BuiltAddin -Destination $AddinTarget",
        "Unblock-File -LiteralPath $AddinTarget",
        "Copy-Item -LiteralPath $templateSource -Destination $TemplateTarget",
        "Invoke-Checked $VenvCli $configArgs",
        "Next steps:",
    ]
    positions = [install.find(step) for step in steps]
    assert all(p >= 0 for p in positions), dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions)
    assert "$MinimumPython = [version]'3.10'" in TEXT
    assert "$exe = 'py'" in TEXT
    assert "$launcherArgs = @('-3')" in TEXT
    assert "$output = & $exe @launcherArgs -c $probe" in TEXT
    assert "Get-Process -Name 'EXCEL'" in TEXT
    assert "$ErrorActionPreference = 'Stop'" in TEXT


def test_paths_agree_with_the_python_side():
    assert "$InstallRoot = Join-Path $env:LOCALAPPDATA $AppName" in TEXT
    assert "$AppName = 'xlfrontier'" in TEXT
    assert addin.PROJECT_NAME == "xlfrontier"
    # The config file is where the add-in's VBA looks (PROJECT_NAME under %USERPROFILE%).
    assert '$ConfigDir = Join-Path $env:USERPROFILE ".$AppName"' in TEXT
    assert '$ConfigFile = Join-Path $ConfigDir "$AppName.conf"' in TEXT
    assert addin.default_config_path({"USERPROFILE": "/u"}).parts[-2:] == (
        ".xlfrontier",
        "xlfrontier.conf",
    )
    assert f"'build\\{addin.ADDIN_FILENAME}'" in TEXT
    assert "'Microsoft\\Excel\\XLSTART'" in TEXT
    assert f"'{addin.ADDIN_FILENAME}'" in TEXT
    # The template goes where "New from template" looks when the config names none.
    ribbon = addin.ribbon_vba({})
    assert 'SpecialFolders("MyDocuments") & _\r\n' in ribbon
    assert '"\\xlfrontier\\xlfrontier_template.xlsx"' in ribbon
    assert "[Environment]::GetFolderPath('MyDocuments')" in TEXT
    assert "'xlfrontier_template.xlsx'" in TEXT
    assert "'workbook_templates\\xlfrontier_template.xlsx'" in TEXT


def _assignments():
    """Map each path variable to the variable it is under (``$A = Join-Path $B '...'``)."""
    parents = {}
    for name, parent in re.findall(r"(?m)^\$(\w+) = Join-Path (?:\()?\$(?:env:)?(\w+)", TEXT):
        parents[name] = parent
    return parents


def _under(variable, folders, parents):
    while variable is not None:
        if variable in folders:
            return True
        variable = parents.get(variable)
    return False


def test_uninstall_removes_exactly_what_install_adds():
    install = _function_body("Install-Xlfrontier")
    uninstall = _function_body("Uninstall-Xlfrontier")
    parents = _assignments()
    written = set(re.findall(r"-Destination \$(\w+)", install))
    written |= set(re.findall(r"'--out', \$(\w+)", install))
    written |= set(re.findall(r"'-m', 'venv', \$(\w+)", install))
    written.add("ConfigFile")  # written by `xlfrontier addin config`
    assert written == {"AddinTarget", "TemplateTarget", "BuiltAddin", "VenvDir", "ConfigFile"}
    removed = set(re.findall(r"Remove-IfPresent \$(\w+)", uninstall))
    emptied = set(re.findall(r"Remove-IfEmpty \$(\w+)", uninstall))
    assert all(_under(v, removed, parents) for v in written), (written, removed)
    # Nothing beyond that: whole folders go only when they are ours alone.
    assert removed == {"AddinTarget", "ConfigFile", "TemplateTarget", "InstallRoot"}
    assert emptied == {"ConfigDir", "DocumentsDir"}  # the user's own files there stay
    assert "Remove-IfPresent $XlStartDir" not in TEXT


def test_per_user_and_nothing_global():
    for forbidden in (
        "HKLM:",
        "Set-ExecutionPolicy",
        "RunAs",
        "-Scope AllUsers",
        "ProgramFiles",
        "[Environment]::SetEnvironmentVariable",
        "setx",
    ):
        assert forbidden.lower() not in TEXT.lower(), forbidden


def test_functions_keep_param_on_its_own_line():
    """tree-sitter-powershell misreads ``function f { param($x) $x }`` (see the shared note)."""
    assert not re.search(r"param\([^)]*\)[ \t]*[^\s#]", TEXT.replace("param(\n", ""))


# --------------------------------------------------------------------------------------------
# -Check and the doctor's verdict
# --------------------------------------------------------------------------------------------


def _main_block():
    match = re.search(r"(?ms)^try \{\n(.*)^\}\ncatch \{", TEXT)
    assert match
    return match.group(1)


def test_check_switch_is_declared_and_documented():
    param = re.search(r"(?ms)^param\(\n(.*?)^\)\n", TEXT).group(1)
    assert "[switch]$Check," in param
    assert ".\\install.ps1 -Check" in TEXT  # the help's example
    assert "-Check prints the doctor's full report" in TEXT


def test_doctor_arguments_are_the_ones_the_cli_accepts():
    from xlfrontier import cli

    assert (SCRIPT.parent / "addin" / "xlfrontier" / "__main__.py").is_file()  # python -m
    base = re.search(r"\$doctorArgs = @\(('-m', 'xlfrontier', 'doctor'[^)]*)\)", TEXT)
    extra = re.search(r"\$doctorArgs \+= @\(('--excel-bitness', \"\$bits\")\)", TEXT)
    assert base
    assert extra
    items = re.findall(r"'([^']*)'|(\$\w+)", base.group(1))
    argv = [quoted or "C:\\Temp\\report.txt" for quoted, _ in items]
    assert argv[:3] == ["-m", "xlfrontier", "doctor"]
    for bits in ("32", "64"):
        args = cli._parser().parse_args([*argv[2:], "--excel-bitness", bits])
        assert (args.command, args.report.name, args.excel_bitness) == (
            "doctor",
            "C:\\Temp\\report.txt",
            int(bits),
        )
    # Excel's bitness comes from Click-to-Run's platform, 0 (omitted) when unknown.
    bitness = _function_body("Get-ExcelBitness")
    assert "'x64' { return 64 }" in bitness
    assert "'x86' { return 32 }" in bitness
    assert "if ($bits -ne 0) {" in _function_body("Invoke-Doctor")


def test_doctor_exit_code_1_is_a_verdict_not_an_installer_error():
    doctor_body = _function_body("Invoke-Doctor")
    assert (
        "Invoke-Checked $VenvPython $doctorArgs -AllowedExitCodes @(0, 1) | Out-Null\n"
        "        $passed = ($LASTEXITCODE -eq 0)"
    ) in doctor_body
    assert "return $passed" in doctor_body
    checked = _function_body("Invoke-Checked")
    assert "[int[]]$AllowedExitCodes = @(0)" in checked  # every other call: 0 only
    assert "if ($AllowedExitCodes -notcontains $LASTEXITCODE) {" in checked
    # The report is read back as UTF-8 from the file the doctor writes, then removed.
    assert "Get-Content -LiteralPath $report -Encoding UTF8" in doctor_body
    assert "Remove-Item -LiteralPath $report" in doctor_body


def test_the_verdict_filters_match_the_doctor_output_format():
    """The script picks lines with -like 'FAIL*' etc.: the doctor's lines must start so."""
    import fnmatch

    from xlfrontier.excel import doctor

    report = doctor.DoctorReport(
        (
            doctor.Check("Python", doctor.OK, "C:\\py\\python.exe, 64-bit"),
            doctor.Check("xlwings DLL", doctor.SKIP, "not Windows"),
            doctor.Check("settings file", doctor.FAIL, "none", "Run install.ps1 again."),
        )
    )
    patterns = re.findall(r"\$line -like '([^']*)'", _function_body("Invoke-Doctor"))
    assert set(patterns) == {"FAIL*", "What to do:*", "OK*", "SKIP*"}
    shown = [
        line
        for line in report.lines()
        if fnmatch.fnmatchcase(line, "FAIL*") or fnmatch.fnmatchcase(line, "What to do:*")
    ]
    assert shown == ["FAIL  settings file: none", "What to do: Run install.ps1 again."]


def test_every_install_ends_with_the_doctor_and_check_alone_changes_nothing():
    main = _main_block()
    assert "$checkOnly = $Check -and (Test-Path -LiteralPath $VenvPython)" in main
    install = main.index("if (-not $checkOnly) {\n            Install-Xlfrontier")
    verdict = main.index("if (-not (Invoke-Doctor -Full:$Check)) {\n            exit 1")
    assert install < verdict
    assert main.index("Uninstall-Xlfrontier") < install  # -Uninstall never runs the doctor
    assert "throw '-Check and -Uninstall cannot be combined.'" in main
    # The install's own closing text points at the checks, not at macro settings.
    install_body = _function_body("Install-Xlfrontier")
    assert "Portfolio > Diagnose" in install_body
    assert "Disable all macros without notification" not in TEXT


def test_the_registry_is_only_read():
    """Excel's bitness is read from HKEY_LOCAL_MACHINE; nothing is ever written there."""
    assert TEXT.count("HKEY_LOCAL_MACHINE") == 1
    assert "Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue" in TEXT
    for writer in ("Set-ItemProperty", "New-ItemProperty", "Remove-ItemProperty", "reg.exe"):
        assert writer.lower() not in TEXT.lower(), writer
    assert not re.search(r"New-Item[^\n]*Registry::", TEXT)
