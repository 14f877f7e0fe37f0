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
