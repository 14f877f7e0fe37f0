r"""``xlfrontier doctor``: it passes on a clean Linux install and names each broken precondition.

The Windows checks run here on a simulated install (``windows=True``): a virtual environment
in a temporary folder with ``Scripts\pythonw.exe`` and xlwings' DLL, the settings file under a
temporary ``USERPROFILE``, the add-in in a temporary XLSTART, and ``sys.executable`` pointed at
that environment. Each test breaks one thing and checks the line and the sentence the doctor
prints for it.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xlfrontier import cli
from xlfrontier.excel import doctor
from xlfrontier.excel.addin import ADDIN_FILENAME, UDF_MODULES

ROOT = Path(__file__).resolve().parents[2]
BITS = struct.calcsize("P") * 8
LINE = re.compile(r"^(OK|FAIL|SKIP)  ([^:]+): (\S.*)$")
# The pin as pyproject.toml declares it (the doctor reads it from the installed metadata).
PIN = re.search(r'^\s*"xlwings==([^"]+)",', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


def _parse(text):
    """Map check name -> (status, detail); and the 'What to do' sentence (or None)."""
    lines = text.rstrip("\n").split("\n")
    fix = None
    if lines[-1].startswith("What to do: "):
        fix = lines.pop()[len("What to do: ") :]
    checks = {}
    for line in lines:
        match = LINE.match(line)
        assert match, line
        checks[match.group(2)] = (match.group(1), match.group(3))
    return checks, fix


# --------------------------------------------------------------------------------------------
# A simulated Windows install
# --------------------------------------------------------------------------------------------


class Install:
    """A simulated per-user install; ``run()`` runs the doctor against it."""

    def __init__(self, tmp_path, monkeypatch):
        self.monkeypatch = monkeypatch
        self.venv = tmp_path / "local" / "xlfrontier" / "venv"
        (self.venv / "Scripts").mkdir(parents=True)
        (self.venv / "pyvenv.cfg").write_text("home = C:\\Python312\n")
        self.pythonw = self.venv / "Scripts" / "pythonw.exe"
        self.pythonw.write_bytes(b"")
        python = self.venv / "Scripts" / "python.exe"
        python.write_bytes(b"")
        self.dll = self.venv / f"xlwings{BITS}-{PIN}.dll"
        self.dll.write_bytes(b"")
        self.home = tmp_path / "home"
        self.config = self.home / ".xlfrontier" / "xlfrontier.conf"
        self.config.parent.mkdir(parents=True)
        self.xlstart = tmp_path / "roaming" / "Microsoft" / "Excel" / "XLSTART"
        self.xlstart.mkdir(parents=True)
        self.addin = self.xlstart / ADDIN_FILENAME
        self.addin.write_bytes(b"PK")
        self.env = {
            "USERPROFILE": str(self.home),
            "LOCALAPPDATA": str(tmp_path / "local"),
            "APPDATA": str(tmp_path / "roaming"),
        }
        self.trusted = doctor.TrustedLocations()
        monkeypatch.setattr(sys, "executable", str(python))
        self.write_config(
            {
                # As 'xlfrontier addin config' writes it: relative to a user-folder variable.
                "INTERPRETER_WIN": "%LOCALAPPDATA%/xlfrontier/venv/Scripts/pythonw.exe",
                "UDF MODULES": UDF_MODULES,
            }
        )

    def write_config(self, settings):
        lines = [f'"{key}","{value}"' for key, value in settings.items()]
        self.config.write_bytes("".join(line + "\r\n" for line in lines).encode("ascii"))

    def run(self, **kwargs):
        options = {"addin": self.addin, "startup_path": self.xlstart}
        options.update(kwargs)
        report = doctor.run_checks(
            windows=True, env=self.env, trusted_locations=lambda: self.trusted, **options
        )
        checks, fix = _parse(report.text())
        assert report.ok == (fix is None)
        return checks, fix


@pytest.fixture
def install(tmp_path, monkeypatch):
    return Install(tmp_path, monkeypatch)


def _first_failure(checks):
    return next(name for name, (status, _) in checks.items() if status == "FAIL")


# --------------------------------------------------------------------------------------------
# Through the real entry point
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="the clean install checked here is Linux")
def test_clean_linux_install_passes_with_the_skips_it_names(tmp_path):
    """``python -m xlfrontier doctor`` in a fresh process: exit 0, Windows checks skipped."""
    report = tmp_path / "out" / "doctor.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("USERPROFILE", "APPDATA", "PYTHONPATH")}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT / "addin"), OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "xlfrontier", "doctor", "--report", str(report)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    checks, fix = _parse(done.stdout)
    assert fix is None
    assert list(checks) == [
        "Python",
        "xlwings",
        "xlwings DLL",
        "settings file",
        "INTERPRETER_WIN",
        "UDF MODULES",
        "ADD_WORKBOOK_TO_PYTHONPATH",
        "xlwings UDF server",
        UDF_MODULES,
        "MINVAR_WEIGHTS",
        "add-in location",
    ]
    status = {name: s for name, (s, _) in checks.items()}
    assert {n for n, s in status.items() if s == "OK"} == {
        "Python",
        "xlwings",
        UDF_MODULES,
        "MINVAR_WEIGHTS",
    }
    assert {n for n, s in status.items() if s == "SKIP"} == {
        "xlwings DLL",
        "settings file",
        "INTERPRETER_WIN",
        "UDF MODULES",
        "ADD_WORKBOOK_TO_PYTHONPATH",
        "xlwings UDF server",
        "add-in location",
    }
    assert checks["settings file"][1].startswith(f"none at {tmp_path}")
    assert "only on Windows" in checks["xlwings UDF server"][1]
    assert checks["add-in location"][1].startswith("no Excel here")
    assert f"{BITS}-bit (Excel's bitness not given)" in checks["Python"][1]
    assert checks["xlwings"][1] == f"{PIN}, the version xlfrontier pins"
    # The report file holds the same text, as UTF-8.
    assert report.read_bytes().decode("utf-8").splitlines() == done.stdout.splitlines()


def test_a_failure_exits_1_and_ends_the_report_with_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    other = 32 if BITS == 64 else 64
    report = tmp_path / "report.txt"
    code = cli.main(["doctor", "--excel-bitness", str(other), "--report", str(report)])
    assert code == 1
    out = capsys.readouterr().out
    checks, fix = _parse(out)
    assert checks["Python"][0] == "FAIL"
    assert f"but Excel is {other}-bit" in checks["Python"][1]
    if other == 32:
        assert fix.startswith("Install 64-bit Office (SciPy and pandas")
    else:
        assert fix.startswith("Install a 64-bit Python 3.10+ from python.org")
    assert report.read_text(encoding="utf-8") == out


def test_the_same_bitness_passes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    code = cli.main(["doctor", "--excel-bitness", str(BITS)])
    out = capsys.readouterr().out
    assert code == (0 if sys.platform != "win32" else code)
    checks, _ = _parse(out)
    assert checks["Python"] == (
        "OK",
        f"{sys.executable}, Python {sys.version.split()[0]}, {BITS}-bit, like Excel",
    )


def test_an_unwritable_report_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["doctor", "--report", str(blocker / "report.txt")]) == 1
    assert re.search(r"^xlfrontier doctor: cannot write .*report\.txt", capsys.readouterr().err)


def test_bad_bitness_is_a_usage_error(capsys):
    with pytest.raises(SystemExit, match="2"):
        cli.main(["doctor", "--excel-bitness", "16"])
    assert "invalid choice: 16" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The simulated Windows install: healthy, then one thing broken at a time
# --------------------------------------------------------------------------------------------


def test_a_healthy_windows_install_passes_every_check(install):
    checks, fix = install.run(excel_bitness=BITS)
    assert fix is None
    assert {s for s, _ in checks.values()} == {"OK"}
    assert checks["xlwings DLL"][1] == f"{install.dll.name} in {install.venv}"
    interpreter = checks["INTERPRETER_WIN"][1]
    assert interpreter.startswith("%LOCALAPPDATA%/xlfrontier/venv/Scripts/pythonw.exe = ")
    assert interpreter.endswith(f"{install.pythonw}, the Python running these checks")
    assert checks["ADD_WORKBOOK_TO_PYTHONPATH"] == ("OK", "not set (off)")
    assert checks["add-in location"][1].endswith("in Excel's start-up folder (trusted)")


def test_missing_settings_file(install):
    install.config.unlink()
    checks, fix = install.run()
    assert _first_failure(checks) == "settings file"
    assert checks["settings file"] == ("FAIL", f"none at {install.config}")
    assert fix == (
        "Run install.ps1 again, or run 'xlfrontier addin config', to write the settings file."
    )
    for key in ("INTERPRETER_WIN", "UDF MODULES", "ADD_WORKBOOK_TO_PYTHONPATH"):
        assert checks[key] == ("SKIP", "no settings file")


def test_settings_without_interpreter(install):
    install.write_config({"UDF MODULES": UDF_MODULES})
    checks, fix = install.run()
    assert _first_failure(checks) == "INTERPRETER_WIN"
    assert checks["INTERPRETER_WIN"] == ("FAIL", "not set: the add-in cannot find Python")
    assert fix == (
        "Run install.ps1 again, or run 'xlfrontier addin config', so that INTERPRETER_WIN "
        "names the Python of the xlfrontier environment."
    )


def test_interpreter_pointing_nowhere(install):
    gone = install.venv.parent / "old-venv" / "Scripts" / "pythonw.exe"
    install.write_config({"INTERPRETER_WIN": str(gone), "UDF MODULES": UDF_MODULES})
    checks, fix = install.run()
    # The DLL is looked for next to that interpreter, too: both lines say so.
    assert checks["xlwings DLL"][0] == "FAIL"
    assert str(gone.parent) in checks["xlwings DLL"][1]
    assert checks["INTERPRETER_WIN"] == (
        "FAIL",
        f"{gone} does not exist: the add-in cannot start Python",
    )
    assert fix.startswith("Run install.ps1 again: the DLL comes with xlwings")


def test_interpreter_of_another_environment(install, tmp_path):
    other = tmp_path / "other" / "Scripts" / "pythonw.exe"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"")
    (other.parent.parent / "pyvenv.cfg").write_text("")
    (other.parent.parent / install.dll.name).write_bytes(b"")
    install.write_config({"INTERPRETER_WIN": str(other), "UDF MODULES": UDF_MODULES})
    checks, fix = install.run()
    assert _first_failure(checks) == "INTERPRETER_WIN"
    assert "is not the Python running these checks" in checks["INTERPRETER_WIN"][1]
    assert fix == (
        f'Run "{other}" -m xlfrontier doctor, or click Diagnose on the Portfolio tab, to check '
        "the Python the add-in uses."
    )


def test_dll_missing(install):
    install.dll.unlink()
    checks, fix = install.run()
    assert _first_failure(checks) == "xlwings DLL"
    assert checks["xlwings DLL"][1] == (
        f"{install.dll.name} is in neither {install.venv / 'Scripts'} nor {install.venv} "
        "(the folders of the Python the settings file names)"
    )
    assert fix == (
        f"Run install.ps1 again: the DLL comes with xlwings {PIN} in the Python environment "
        "the settings file names."
    )


def test_dll_next_to_a_base_python_is_found(install):
    """A plain install keeps the DLL beside python.exe (XLPyLoadDLL's first folder)."""
    install.dll.rename(install.venv / "Scripts" / install.dll.name)
    checks, _ = install.run()
    assert checks["xlwings DLL"] == ("OK", f"{install.dll.name} in {install.venv / 'Scripts'}")


def test_32_bit_excel_with_64_bit_python(install):
    if BITS != 64:
        pytest.skip("needs a 64-bit Python")
    checks, fix = install.run(excel_bitness=32)
    assert _first_failure(checks) == "Python"
    assert checks["Python"][1].endswith(
        "64-bit, but Excel is 32-bit: the add-in needs a Python of Excel's bitness"
    )
    # 32-bit Excel's VBA loads the 32-bit DLL, which a 64-bit environment lacks.
    assert checks["xlwings DLL"][0] == "FAIL"
    assert f"xlwings32-{PIN}.dll" in checks["xlwings DLL"][1]
    assert fix == (
        "Install 64-bit Office (SciPy and pandas, which xlfrontier needs, have no 32-bit "
        "Windows packages), then run install.ps1 again."
    )


@pytest.mark.parametrize("installed", ["0.33.1", None])
def test_wrong_or_missing_xlwings(install, monkeypatch, installed):
    real = doctor._installed_version
    monkeypatch.setattr(
        doctor,
        "_installed_version",
        lambda name: installed if name == "xlwings" else real(name),
    )
    checks, fix = install.run()
    assert _first_failure(checks) == "xlwings"
    if installed is None:
        assert checks["xlwings"] == ("FAIL", "not installed in this Python")
        assert fix == (
            "Run install.ps1 again: it installs xlfrontier with the xlwings version its "
            "add-in needs."
        )
    else:
        assert checks["xlwings"] == (
            "FAIL",
            f"0.33.1 installed, but the add-in is built for xlwings {PIN}",
        )
        assert fix == (
            f"Run install.ps1 again (or run: pip install xlwings=={PIN} in this Python), so "
            "that the add-in and xlwings match."
        )


def test_the_pin_comes_from_the_package_metadata():
    assert doctor._pinned_version("xlfrontier", "xlwings") == PIN
    assert doctor._pinned_version("xlfrontier", "no-such-dependency") is None
    assert doctor._pinned_version("no-such-distribution-xyz", "xlwings") is None


def test_udf_modules_wrong(install):
    install.write_config({"INTERPRETER_WIN": str(install.pythonw), "UDF MODULES": "portfolio_udfs"})
    checks, fix = install.run()
    assert _first_failure(checks) == "UDF MODULES"
    assert checks["UDF MODULES"] == (
        "FAIL",
        "is 'portfolio_udfs'; the add-in's functions need 'xlfrontier.udfs'",
    )
    assert fix == "Run 'xlfrontier addin config' (or install.ps1) again to set UDF MODULES to " + (
        "xlfrontier.udfs."
    )


@pytest.mark.parametrize(
    ("value", "status"), [("True", "FAIL"), ("true", "FAIL"), ("False", "OK"), ("0", "OK")]
)
def test_workbook_folder_on_python_path_fails(install, value, status):
    install.write_config(
        {
            "INTERPRETER_WIN": str(install.pythonw),
            "UDF MODULES": UDF_MODULES,
            "add_workbook_to_pythonpath": value,  # xlwings matches keys in any case
        }
    )
    checks, fix = install.run()
    assert checks["ADD_WORKBOOK_TO_PYTHONPATH"][0] == status
    if status == "FAIL":
        assert checks["ADD_WORKBOOK_TO_PYTHONPATH"][1] == (
            f"is {value}: Python would import .py files from the folder of every workbook you open"
        )
        assert fix == (
            f'Change that line of {install.config} to "ADD_WORKBOOK_TO_PYTHONPATH","False" '
            "(or run install.ps1 again)."
        )
    else:
        assert checks["ADD_WORKBOOK_TO_PYTHONPATH"][1] == f"{value} (off)"
        assert fix is None


def test_module_not_importable(install, monkeypatch):
    monkeypatch.setitem(sys.modules, UDF_MODULES, None)  # import now raises ImportError
    checks, fix = install.run()
    assert _first_failure(checks) == UDF_MODULES
    assert checks[UDF_MODULES][1].startswith(
        "does not import: ModuleNotFoundError: import of xlfrontier.udfs halted"
    )
    assert checks["MINVAR_WEIGHTS"] == ("SKIP", f"{UDF_MODULES} does not import")
    assert fix == (
        "Run install.ps1 again: the xlfrontier package in this Python is missing or broken."
    )


def test_udf_server_without_pywin32(install, monkeypatch):
    monkeypatch.setitem(sys.modules, "xlwings.com_server", None)
    checks, fix = install.run()
    assert _first_failure(checks) == "xlwings UDF server"
    assert checks["xlwings UDF server"][1].startswith(
        "does not import: ModuleNotFoundError: import of xlwings.com_server halted"
    )
    assert fix == (
        "Run install.ps1 again: it installs xlwings with pywin32, which the functions need."
    )


def test_udfs_without_xlwings_marks_fail_on_windows(install, monkeypatch):
    import types

    plain = types.ModuleType(UDF_MODULES)
    plain.__all__ = ["MINVAR_WEIGHTS"]
    plain.MINVAR_WEIGHTS = lambda mu, cov, r: [[1.0]]
    monkeypatch.setitem(sys.modules, UDF_MODULES, plain)
    checks, _ = install.run()
    assert checks[UDF_MODULES] == (
        "FAIL",
        "imports (1 worksheet functions), but none carries xlwings' worksheet-function marks",
    )


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("#INPUT! cov is not square", "'#INPUT! cov is not square'"),
        ([[0.34], [0.34], [0.32]], "0.340000, 0.340000, 0.320000"),
    ],
)
def test_a_wrong_test_answer_fails(install, monkeypatch, answer, shown):
    import xlfrontier.udfs

    monkeypatch.setattr(xlfrontier.udfs, "MINVAR_WEIGHTS", lambda mu, cov, r: answer)
    checks, fix = install.run()
    assert _first_failure(checks) == "MINVAR_WEIGHTS"
    assert checks["MINVAR_WEIGHTS"][1].startswith(f"a 3-asset test returned {shown}")
    assert fix.startswith("Run install.ps1 again; if this check still fails, report it at")


def test_the_test_call_answer_is_merton_closed_form():
    """The expected weights are a frontier portfolio: budget 1, return r, interior."""
    mu = [row[0] for row in doctor._TEST_MU]
    w = np.array(doctor._merton_weights(mu, doctor._TEST_COV, doctor._TEST_TARGET))
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert w @ mu == pytest.approx(doctor._TEST_TARGET, abs=1e-14)
    assert (w > 0).all()  # no bound active: the add-in's long-only answer must equal it
    # First-order condition: Σw is a combination of 1 and μ.
    basis = np.column_stack([np.ones(3), mu])
    coef, *_ = np.linalg.lstsq(basis, np.asarray(doctor._TEST_COV) @ w, rcond=None)
    assert np.allclose(basis @ coef, np.asarray(doctor._TEST_COV) @ w, atol=1e-14)


def test_addin_missing(install):
    install.addin.unlink()
    checks, fix = install.run()
    assert checks["add-in location"] == ("FAIL", f"{install.addin} does not exist")
    assert fix == (
        "Run install.ps1 again: it copies the add-in to Excel's start-up folder (XLSTART)."
    )


def test_addin_outside_xlstart_and_trusted_locations(install, tmp_path):
    elsewhere = tmp_path / "Downloads" / ADDIN_FILENAME
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"PK")
    checks, fix = install.run(addin=elsewhere)
    assert checks["add-in location"] == (
        "FAIL",
        f"{elsewhere} is neither in XLSTART ({install.xlstart}) nor in a trusted location: "
        "its macros are blocked",
    )
    assert fix == (
        "Run install.ps1 again, which puts the add-in in XLSTART, or add its folder under "
        "File > Options > Trust Center > Trusted Locations."
    )
    # The same file in a folder the registry lists as trusted passes ...
    install.trusted = doctor.TrustedLocations(((str(elsewhere.parent), False),))
    checks, fix = install.run(addin=elsewhere)
    assert checks["add-in location"] == (
        "OK",
        f"{elsewhere}, in the trusted location {elsewhere.parent}",
    )
    # ... but not below it unless subfolders are trusted, nor when a policy disables them all.
    install.trusted = doctor.TrustedLocations(((str(tmp_path), False),))
    assert install.run(addin=elsewhere)[0]["add-in location"][0] == "FAIL"
    install.trusted = doctor.TrustedLocations(((str(tmp_path), True),))
    assert install.run(addin=elsewhere)[0]["add-in location"][0] == "OK"
    install.trusted = doctor.TrustedLocations(((str(tmp_path), True),), all_disabled=True)
    assert install.run(addin=elsewhere)[0]["add-in location"][0] == "FAIL"


def test_a_check_that_crashes_is_reported_not_raised(install, monkeypatch):
    def broken(*args):
        raise RuntimeError("metadata unreadable")

    monkeypatch.setattr(doctor, "_pinned_version", broken)
    checks, fix = install.run()
    assert checks["xlwings"] == (
        "FAIL",
        "the check itself failed: RuntimeError: metadata unreadable",
    )
    assert fix.startswith("Run install.ps1 again; if this check still fails, report it at")


def test_environment_variables_expand_like_windows():
    env = {"LocalAppData": r"C:\Users\Zoë\AppData\Local"}
    assert doctor._expand(r"%LOCALAPPDATA%\x\%NOPE%", env) == (
        r"C:\Users\Zoë\AppData\Local\x\%NOPE%"
    )


def test_a_detail_never_breaks_the_one_line_format():
    check = doctor.Check("x", doctor.FAIL, "two\nlines\r\n  here", "fix")
    assert check.line == "FAIL  x: two lines here"


def test_a_policy_disabling_all_trusted_locations_blocks_xlstart_too(install):
    install.trusted = doctor.TrustedLocations(all_disabled=True)
    checks, fix = install.run()
    assert checks["add-in location"] == (
        "FAIL",
        f"{install.addin}: a policy of your organisation disables every trusted location, "
        "XLSTART included, so the add-in's macros are blocked",
    )
    assert fix == (
        "Ask your IT department to allow Excel's start-up folder (XLSTART) as a trusted location."
    )


def test_policy_only_locations_must_list_xlstart(install):
    install.trusted = doctor.TrustedLocations(user_locations=False)
    checks, fix = install.run()
    assert checks["add-in location"][0] == "FAIL"
    assert "trusts only the locations it sets" in checks["add-in location"][1]
    assert fix == (
        f"Ask your IT department to add {install.xlstart} to the trusted locations their "
        "policy sets."
    )
    listed = ((str(install.xlstart), False),)
    install.trusted = doctor.TrustedLocations(listed, user_locations=False)
    assert install.run()[0]["add-in location"] == (
        "OK",
        f"{install.addin}, in the trusted location {install.xlstart}",
    )


def test_xlstart_on_a_network_share(install, tmp_path, monkeypatch):
    """A redirected %APPDATA% puts XLSTART on a share: trusted only if network locations are."""
    share = r"\\server\profiles\zoe\AppData\Roaming\Microsoft\Excel\XLSTART"
    monkeypatch.chdir(tmp_path)
    # On Linux a UNC path is one odd file name relative to the current folder: enough for
    # the doctor to find "the file" and compare its folder with Windows path rules.
    addin = share + "\\" + ADDIN_FILENAME
    Path(addin).write_bytes(b"PK")
    checks, fix = install.run(addin=addin, startup_path=share)
    assert checks["add-in location"] == (
        "FAIL",
        f"{addin} is in XLSTART, but XLSTART is on a network share, which Excel does not trust",
    )
    assert fix == (
        "Ask your IT department to allow trusted locations on the network for Excel, or to "
        "keep %APPDATA% on the local disk."
    )
    install.trusted = doctor.TrustedLocations(allow_network=True)
    assert install.run(addin=addin, startup_path=share)[0]["add-in location"][0] == "OK"


class _FakeWinreg:
    """Enough of ``winreg`` over a dict: {key path: (values, {subkey: values})}."""

    HKEY_CURRENT_USER = "HKCU"

    def __init__(self, tree, env):
        self.tree, self.env = tree, env

    class _Key:
        def __init__(self, values, subkeys):
            self.values, self.subkeys = values, subkeys

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def OpenKey(self, parent, path):
        if parent == self.HKEY_CURRENT_USER:
            if path not in self.tree:
                raise FileNotFoundError(path)
            values, subkeys = self.tree[path]
            return self._Key(values, subkeys)
        if path not in parent.subkeys:
            raise FileNotFoundError(path)
        return self._Key(parent.subkeys[path], {})

    def EnumKey(self, key, index):
        names = list(key.subkeys)
        if index >= len(names):
            raise OSError("no more items")
        return names[index]

    def QueryValueEx(self, key, name):
        if name not in key.values:
            raise FileNotFoundError(name)
        return key.values[name], 1

    def ExpandEnvironmentStrings(self, text):
        return doctor._expand(text, self.env)


def test_trusted_locations_are_read_from_the_registry(monkeypatch):
    user = {
        "Location0": {"Path": r"%APPDATA%\Microsoft\Excel\XLSTART", "Description": "startup"},
        "Location2": {"Path": r"D:\Models", "AllowSubfolders": 1},
        "Location9": {"Description": "no path: ignored"},
    }
    policy = {"Location1": {"Path": r"\\server\addins", "AllowSubfolders": 0}}
    tree = {
        doctor.TRUSTED_LOCATIONS_KEY: ({"AllowNetworkLocations": 0}, user),
        doctor.TRUSTED_LOCATIONS_POLICY_KEY: ({"AllowNetworkLocations": 1}, policy),
    }
    env = {"APPDATA": r"C:\Users\Zoe\AppData\Roaming"}
    monkeypatch.setitem(sys.modules, "winreg", _FakeWinreg(tree, env))
    assert doctor._read_trusted_locations() == doctor.TrustedLocations(
        (
            (r"C:\Users\Zoe\AppData\Roaming\Microsoft\Excel\XLSTART", False),
            (r"D:\Models", True),
            (r"\\server\addins", False),
        ),
        allow_network=True,
        all_disabled=False,
        user_locations=True,
    )
    # A policy allowing only its own locations drops the user's (and Office's) ones ...
    tree[doctor.COMMON_TRUSTED_LOCATIONS_POLICY_KEY] = ({"Allow User Locations": 0}, {})
    # ... and one disabling them all is reported as such.
    tree[doctor.TRUSTED_LOCATIONS_POLICY_KEY][0]["AllLocationsDisabled"] = 1
    assert doctor._read_trusted_locations() == doctor.TrustedLocations(
        ((r"\\server\addins", False),),
        allow_network=True,
        all_disabled=True,
        user_locations=False,
    )
    # No keys at all (Excel never started): nothing trusted, nothing disabled.
    tree.clear()
    assert doctor._read_trusted_locations() == doctor.TrustedLocations()


def test_without_a_console_only_the_report_is_written(tmp_path, monkeypatch):
    """pythonw.exe has no console (sys.stdout is None): the report file still comes out."""
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.setattr(sys, "stdout", None)
    report = tmp_path / "report.txt"
    code = cli.main(["doctor", "--report", str(report)])
    checks, fix = _parse(report.read_text(encoding="utf-8"))
    assert code == (0 if fix is None else 1)
    assert checks["MINVAR_WEIGHTS"][0] == "OK"


def test_a_console_that_cannot_show_a_character_gets_a_replacement(monkeypatch):
    import io

    raw = io.BytesIO()
    console = io.TextIOWrapper(raw, encoding="cp1252", errors="strict")
    monkeypatch.setattr(sys, "stdout", console)
    doctor._print("OK  settings file: C:\\Users\\Łukasz\\.xlfrontier\\xlfrontier.conf\n")
    assert raw.getvalue() == b"OK  settings file: C:\\Users\\?ukasz\\.xlfrontier\\xlfrontier.conf\n"
