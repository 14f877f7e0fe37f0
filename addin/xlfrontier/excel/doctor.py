r"""``xlfrontier doctor``: check, in the order a support person would, why the add-in may fail.

The checks run in the Python that starts them (from the ribbon's **Diagnose** button, the
Python of the add-in's settings file)::

    python -m xlfrontier doctor [--excel-bitness 32|64] [--addin PATH] [--startup-path PATH]
                                [--report FILE]

1. ``Python``: which interpreter runs (path, version, 32/64-bit), against Excel's bitness.
2. ``xlwings``: installed, and the version xlfrontier's package metadata pins (the add-in's VBA
   names xlwings' DLL by that version).
3. ``xlwings DLL``: ``xlwings64-<version>.dll`` (or ``32``) where the add-in's VBA loads it:
   xlwings' ``XLPyLoadDLL`` tries the folder of ``INTERPRETER_WIN``, then its parent.
4. ``settings file``: ``%USERPROFILE%\.xlfrontier\xlfrontier.conf``, then its keys
   ``INTERPRETER_WIN`` (an existing file, the Python running these checks), ``UDF MODULES``
   (``xlfrontier.udfs``) and ``ADD_WORKBOOK_TO_PYTHONPATH`` (must not be True: Python would
   import modules from the folder of any workbook opened).
5. ``xlwings UDF server``: xlwings' Windows UDF machinery imports (it needs pywin32).
6. ``xlfrontier.udfs`` imports, and ``MINVAR_WEIGHTS`` returns the Merton closed-form weights
   of a small problem whose optimum has no bound active.
7. ``add-in location``: the add-in is in Excel's start-up folder (XLSTART) or in a trusted
   location (read from the registry).

Output: one line per check, ``OK|FAIL|SKIP  <check>: <detail>``, and after a failure a last
line ``What to do: <one sentence>`` for the first one. Exit code 0 when no check fails (SKIP
does not fail), 1 otherwise. Off Windows the checks that need Windows say SKIP and why.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import ntpath
import os
import re
import struct
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlfrontier.excel.addin import (
    ADDIN_FILENAME,
    HELP_URL,
    PROJECT_NAME,
    UDF_MODULES,
    default_config_path,
    read_config,
)

__all__ = [
    "FAIL",
    "OK",
    "SKIP",
    "Check",
    "DoctorReport",
    "TrustedLocations",
    "add_doctor_command",
    "run_checks",
]

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"

#: The registry key (under HKEY_CURRENT_USER) of Excel's own trusted locations; 16.0 is every
#: Excel from 2016 to Microsoft 365.
TRUSTED_LOCATIONS_KEY = r"Software\Microsoft\Office\16.0\Excel\Security\Trusted Locations"
#: The same, set by group policy (takes precedence in the Trust Center).
TRUSTED_LOCATIONS_POLICY_KEY = (
    r"Software\Policies\Microsoft\Office\16.0\Excel\Security\Trusted Locations"
)
#: Office-wide policy: ``Allow User Locations`` = 0 leaves only the policy's locations.
COMMON_TRUSTED_LOCATIONS_POLICY_KEY = (
    r"Software\Policies\Microsoft\Office\16.0\Common\Security\Trusted Locations"
)

_REPORT_ISSUE = (
    f"Run install.ps1 again; if this check still fails, report it at {HELP_URL}/issues "
    "with this output."
)
_REINSTALL = "Run install.ps1 again"
_MIN_PYTHON = (3, 10)


@dataclass(frozen=True)
class Check:
    """The outcome of one check.

    Attributes
    ----------
    name : str
        What was checked (``"Python"``, ``"xlwings DLL"``, ...).
    status : str
        :data:`OK`, :data:`FAIL` or :data:`SKIP`.
    detail : str
        What was found, on one line.
    fix : str
        For a failure, one plain sentence saying what to do.
    """

    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def line(self) -> str:
        """Return ``STATUS  name: detail``, on one line."""
        detail = " ".join(self.detail.split())
        return f"{self.status}  {self.name}: {detail}"


@dataclass(frozen=True)
class DoctorReport:
    """All checks, in the order they ran."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks do not fail)."""
        return all(c.status != FAIL for c in self.checks)

    @property
    def first_failure(self) -> Check | None:
        """Return the first failed check, whose fix the report ends with."""
        return next((c for c in self.checks if c.status == FAIL), None)

    def lines(self) -> list[str]:
        """Return the report: one line per check, then ``What to do: ...`` after a failure."""
        out = [c.line for c in self.checks]
        failed = self.first_failure
        if failed is not None:
            out.append(f"What to do: {failed.fix or _REPORT_ISSUE}")
        return out

    def text(self) -> str:
        """:meth:`lines` joined with newlines (and a final one)."""
        return "\n".join(self.lines()) + "\n"


@dataclass(frozen=True)
class TrustedLocations:
    """Excel's trusted locations, as the registry lists them.

    Attributes
    ----------
    folders : tuple of (str, bool)
        Each trusted folder (environment variables expanded) and whether its subfolders are
        trusted too.
    allow_network : bool
        Whether trusted locations on the network are allowed (they are ignored otherwise).
    all_disabled : bool
        Whether a policy disables every trusted location.
    user_locations : bool
        False when a policy allows only the locations it sets ("Allow mix of policy and user
        locations" disabled): Office's own, XLSTART included, then do not count, and
        ``folders`` holds the policy's only.
    """

    folders: tuple[tuple[str, bool], ...] = ()
    allow_network: bool = False
    all_disabled: bool = False
    user_locations: bool = True


@dataclass
class _Context:
    windows: bool
    env: Mapping[str, str]
    excel_bits: int | None
    addin: str | None
    startup_path: str | None
    config_path: Path
    config: dict[str, str] | None  # None: no file; keys upper-case (xlwings matches any case)
    trusted: Callable[[], TrustedLocations]
    found: dict[str, Any] = field(default_factory=dict)  # what one check hands to a later one


# --------------------------------------------------------------------------------------------
# Lookups that tests replace
# --------------------------------------------------------------------------------------------


def _installed_version(distribution: str) -> str | None:
    """Return the installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _pinned_version(distribution: str, dependency: str) -> str | None:
    """Return the ``==`` version ``distribution`` requires of ``dependency``, or None."""
    try:
        requirements = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    pattern = re.compile(rf"^\s*{re.escape(dependency)}\s*==\s*([^\s;,]+)\s*(?:;.*)?$", re.I)
    for requirement in requirements:
        match = pattern.match(requirement)
        if match and "extra ==" not in requirement:
            return match.group(1)
    return None


def _python_bits() -> int:
    return struct.calcsize("P") * 8


def _read_trusted_locations() -> TrustedLocations:
    """Read Excel's trusted locations from HKEY_CURRENT_USER (user settings and policies)."""
    # Typed as Any: mypy checks on Linux too, where winreg's stubs are empty.
    winreg: Any = importlib.import_module("winreg")

    def value(key: Any, name: str) -> Any:
        try:
            return winreg.QueryValueEx(key, name)[0]
        except OSError:
            return None

    def locations(key: Any) -> list[tuple[str, bool]]:
        found: list[tuple[str, bool]] = []
        index = 0
        while True:
            try:
                sub = winreg.EnumKey(key, index)
            except OSError:
                return found
            index += 1
            try:
                with winreg.OpenKey(key, sub) as location:
                    path = value(location, "Path")
                    subfolders = value(location, "AllowSubfolders")
            except OSError:
                continue
            if path:
                found.append((winreg.ExpandEnvironmentStrings(str(path)), bool(subfolders)))

    user_locations = True
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, COMMON_TRUSTED_LOCATIONS_POLICY_KEY) as key:
            allowed = value(key, "Allow User Locations")
            user_locations = allowed is None or bool(allowed)
    except OSError:
        pass
    folders: list[tuple[str, bool]] = []
    allow_network = all_disabled = False
    for key_path, is_policy in (
        (TRUSTED_LOCATIONS_KEY, False),
        (TRUSTED_LOCATIONS_POLICY_KEY, True),
    ):
        try:
            key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, key_path)
        except OSError:
            continue
        with key:
            allow_network = allow_network or bool(value(key, "AllowNetworkLocations"))
            all_disabled = all_disabled or bool(value(key, "AllLocationsDisabled"))
            if is_policy or user_locations:
                folders += locations(key)
    return TrustedLocations(tuple(folders), allow_network, all_disabled, user_locations)


# --------------------------------------------------------------------------------------------
# Path helpers
# --------------------------------------------------------------------------------------------


def _expand(value: str, env: Mapping[str, str]) -> str:
    """Expand ``%VAR%`` as Windows' ExpandEnvironmentStrings does (unknown names stay)."""
    upper = {k.upper(): v for k, v in env.items()}
    return re.sub(r"%([^%]+)%", lambda m: upper.get(m.group(1).upper(), m.group(0)), value)


def _looks_windows(path: str) -> bool:
    return bool(re.match(r"^[A-Za-z]:[\\/]|^\\\\", path)) or "\\" in path


def _same_folder(a: str, b: str, windows: bool) -> bool:
    if windows:
        return ntpath.normcase(ntpath.normpath(a)).rstrip("\\") == ntpath.normcase(
            ntpath.normpath(b)
        ).rstrip("\\")
    return os.path.normpath(a) == os.path.normpath(b)


def _inside(path: str, folder: str, subfolders: bool, windows: bool) -> bool:
    """Whether ``path``'s folder is ``folder`` (or below it, when subfolders are trusted)."""
    mod = ntpath if windows else os.path
    parent = mod.dirname(mod.normpath(path))
    root = mod.normpath(folder)
    if windows:
        parent, root = ntpath.normcase(parent), ntpath.normcase(root)
    root = root.rstrip("\\/")
    if parent == root:
        return True
    sep = "\\" if windows else os.sep
    return subfolders and parent.startswith(root + sep)


def _environment_root(interpreter: Path) -> Path:
    """Return the environment an interpreter belongs to: a venv's root, or its folder."""
    folder = interpreter.parent
    if folder.name.lower() in ("scripts", "bin") and (folder.parent / "pyvenv.cfg").is_file():
        return folder.parent
    if folder.name.lower() == "bin":  # a POSIX base install: <prefix>/bin/python
        return folder.parent
    return folder


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------


def _check_python(ctx: _Context) -> Check:
    bits = _python_bits()
    version = ".".join(str(v) for v in sys.version_info[:3])
    detail = f"{sys.executable}, Python {version}, {bits}-bit"
    if sys.version_info[:2] < _MIN_PYTHON:
        return Check(
            "Python",
            FAIL,
            f"{detail}: xlfrontier needs Python 3.10 or newer",
            "Install Python 3.10 or newer from https://www.python.org/downloads/ and run "
            "install.ps1 again.",
        )
    if ctx.excel_bits is None:
        return Check("Python", OK, f"{detail} (Excel's bitness not given)")
    if ctx.excel_bits != bits:
        # SciPy (>= 1.10) and pandas publish no 32-bit Windows wheels: a 32-bit Python
        # cannot install xlfrontier, so 32-bit Excel needs 64-bit Office instead.
        fix = (
            "Install 64-bit Office (SciPy and pandas, which xlfrontier needs, have no 32-bit "
            "Windows packages), then run install.ps1 again."
            if ctx.excel_bits == 32
            else "Install a 64-bit Python 3.10+ from python.org and run install.ps1 -Python "
            "<path to that python.exe>."
        )
        return Check(
            "Python",
            FAIL,
            f"{detail}, but Excel is {ctx.excel_bits}-bit: the add-in needs a Python of "
            "Excel's bitness",
            fix,
        )
    return Check("Python", OK, f"{detail}, like Excel")


def _check_xlwings(ctx: _Context) -> Check:
    installed = _installed_version("xlwings")
    pinned = _pinned_version("xlfrontier", "xlwings")
    ctx.found["xlwings"] = pinned or installed
    if installed is None:
        return Check(
            "xlwings",
            FAIL,
            "not installed in this Python",
            f"{_REINSTALL}: it installs xlfrontier with the xlwings version its add-in needs.",
        )
    if pinned is None:
        return Check(
            "xlwings",
            SKIP,
            f"{installed} installed; the version xlfrontier pins is unknown (xlfrontier is not "
            "installed as a package in this Python)",
        )
    if installed != pinned:
        return Check(
            "xlwings",
            FAIL,
            f"{installed} installed, but the add-in is built for xlwings {pinned}",
            f"{_REINSTALL} (or run: pip install xlwings=={pinned} in this Python), so that "
            "the add-in and xlwings match.",
        )
    return Check("xlwings", OK, f"{installed}, the version xlfrontier pins")


def _configured_interpreter(ctx: _Context) -> str | None:
    value = (ctx.config or {}).get("INTERPRETER_WIN", "") or (ctx.config or {}).get(
        "INTERPRETER", ""
    )
    return _expand(value, ctx.env) if value else None


def _check_dll(ctx: _Context) -> Check:
    name = "xlwings DLL"
    if not ctx.windows:
        return Check(name, SKIP, "xlwings' DLL exists only on Windows (the Windows wheel)")
    version = ctx.found.get("xlwings")
    if version is None:
        return Check(name, SKIP, "xlwings is not installed")
    bits = ctx.excel_bits or _python_bits()
    dll = f"xlwings{bits}-{version}.dll"
    configured = _configured_interpreter(ctx)
    interpreter = configured or sys.executable
    if not Path(interpreter).is_absolute():
        return Check(name, SKIP, f"INTERPRETER_WIN is {interpreter!r}, not a path")
    # xlwings' XLPyLoadDLL: LoadLibrary(ParentFolder(PYTHON_WIN) & "\" & DLL), then the
    # parent's parent (a virtual environment: <venv>\Scripts\pythonw.exe, DLL in <venv>).
    first = Path(interpreter).parent
    folders = (first, first.parent)
    for folder in folders:
        if (folder / dll).is_file():
            return Check(name, OK, f"{dll} in {folder}")
    whose = "the Python the settings file names" if configured else "this Python"
    return Check(
        name,
        FAIL,
        f"{dll} is in neither {folders[0]} nor {folders[1]} (the folders of {whose})",
        f"{_REINSTALL}: the DLL comes with xlwings {version} in the Python environment the "
        "settings file names.",
    )


def _check_config_file(ctx: _Context) -> Check:
    name = "settings file"
    if ctx.config is None:
        if not ctx.windows:
            return Check(
                name,
                SKIP,
                f"none at {ctx.config_path} (only the add-in on Windows reads it; "
                "'xlfrontier addin config' writes it)",
            )
        return Check(
            name,
            FAIL,
            f"none at {ctx.config_path}",
            f"{_REINSTALL}, or run 'xlfrontier addin config', to write the settings file.",
        )
    return Check(name, OK, f"{ctx.config_path} ({len(ctx.config)} settings)")


def _check_interpreter(ctx: _Context) -> Check:
    name = "INTERPRETER_WIN"
    if ctx.config is None:
        return Check(name, SKIP, "no settings file")
    raw = ctx.config.get("INTERPRETER_WIN", "")
    fix_set = (
        f"{_REINSTALL}, or run 'xlfrontier addin config', so that INTERPRETER_WIN names the "
        "Python of the xlfrontier environment."
    )
    if not raw:
        return Check(name, FAIL, "not set: the add-in cannot find Python", fix_set)
    path = _expand(raw, ctx.env)
    shown = raw if path == raw else f"{raw} = {path}"
    if not ctx.windows and _looks_windows(path):
        return Check(name, SKIP, f"{shown}: a Windows path, checked on Windows")
    if not Path(path).is_absolute() or not Path(path).is_file():
        return Check(
            name,
            FAIL,
            f"{shown} does not exist: the add-in cannot start Python",
            f"{_REINSTALL}: the Python environment the settings file names is gone.",
        )
    running = Path(sys.executable)
    if not _same_folder(
        str(_environment_root(Path(path))), str(_environment_root(running)), ctx.windows
    ):
        return Check(
            name,
            FAIL,
            f"{shown} is not the Python running these checks ({running}): the results above "
            "describe another Python",
            f'Run "{path}" -m xlfrontier doctor, or click Diagnose on the Portfolio tab, to '
            "check the Python the add-in uses.",
        )
    return Check(name, OK, f"{shown}, the Python running these checks")


def _check_udf_modules(ctx: _Context) -> Check:
    name = "UDF MODULES"
    if ctx.config is None:
        return Check(name, SKIP, "no settings file")
    value = ctx.config.get("UDF MODULES", "").strip()
    if value != UDF_MODULES:
        found = f"is {value!r}" if value else "not set"
        return Check(
            name,
            FAIL,
            f"{found}; the add-in's functions need {UDF_MODULES!r}",
            f"Run 'xlfrontier addin config' (or install.ps1) again to set UDF MODULES to "
            f"{UDF_MODULES}.",
        )
    return Check(name, OK, value)


def _check_workbook_path(ctx: _Context) -> Check:
    name = "ADD_WORKBOOK_TO_PYTHONPATH"
    if ctx.config is None:
        return Check(name, SKIP, "no settings file")
    value = ctx.config.get(name)
    if value is None:
        return Check(name, OK, "not set (off)")
    # xlwings' prepare_sys_path adds the workbook's folder only for "true", in any case.
    if value.strip().lower() == "true":
        return Check(
            name,
            FAIL,
            f"is {value}: Python would import .py files from the folder of every workbook you open",
            f'Change that line of {ctx.config_path} to "{name}","False" (or run install.ps1 '
            "again).",
        )
    return Check(name, OK, f"{value} (off)")


def _check_udf_server(ctx: _Context) -> Check:
    name = "xlwings UDF server"
    if not ctx.windows:
        return Check(name, SKIP, "xlwings' Windows UDF server (pywin32) runs only on Windows")
    try:
        importlib.import_module("xlwings.udfs")
        importlib.import_module("xlwings.com_server")
    except Exception as err:
        return Check(
            name,
            FAIL,
            f"does not import: {type(err).__name__}: {err}",
            f"{_REINSTALL}: it installs xlwings with pywin32, which the functions need.",
        )
    return Check(name, OK, "xlwings.udfs and xlwings.com_server import (pywin32 present)")


def _check_udf_module(ctx: _Context) -> Check:
    name = UDF_MODULES
    try:
        module = importlib.import_module(UDF_MODULES)
    except Exception as err:
        return Check(
            name,
            FAIL,
            f"does not import: {type(err).__name__}: {err}",
            f"{_REINSTALL}: the xlfrontier package in this Python is missing or broken.",
        )
    functions = [n for n in getattr(module, "__all__", ()) if callable(getattr(module, n, None))]
    ctx.found["udfs"] = module
    detail = f"imports ({len(functions)} worksheet functions)"
    if ctx.windows:
        registered = [n for n in functions if hasattr(getattr(module, n), "__xlfunc__")]
        if not registered:
            return Check(
                name,
                FAIL,
                f"{detail}, but none carries xlwings' worksheet-function marks",
                f"{_REINSTALL}: xlwings in this Python does not register worksheet functions.",
            )
    else:
        detail += "; xlwings' worksheet-function marks are checked on Windows only"
    return Check(name, OK, detail)


# A small problem whose minimum-variance portfolio at r = 15% has no bound active, so the
# add-in's answer must equal Merton's closed form (computed below, independently).
_TEST_MU = ((0.10,), (0.20,), (0.15,))  # a column, as Excel hands a range over
_TEST_COV = ((0.04, 0.006, 0.01), (0.006, 0.09, 0.012), (0.01, 0.012, 0.0625))
_TEST_TARGET = 0.15
_TEST_TOLERANCE = 1e-9


def _merton_weights(mu: Sequence[float], cov: Sequence[Sequence[float]], r: float) -> list[float]:
    r"""Minimum-variance weights with return ``r``, budget one, no bounds (Merton 1972).

    :math:`w = \Sigma^{-1}(\lambda 1 + \gamma\mu)` with :math:`A = 1^T\Sigma^{-1}1`,
    :math:`B = 1^T\Sigma^{-1}\mu`, :math:`C = \mu^T\Sigma^{-1}\mu`, :math:`D = AC - B^2`,
    :math:`\lambda = (C - Br)/D`, :math:`\gamma = (Ar - B)/D`.
    """
    import numpy as np

    m = np.asarray(mu, dtype=float).ravel()
    s = np.asarray(cov, dtype=float)
    ones = np.ones_like(m)
    inv_ones = np.linalg.solve(s, ones)
    inv_mu = np.linalg.solve(s, m)
    a, b, c = ones @ inv_ones, ones @ inv_mu, m @ inv_mu
    d = a * c - b * b
    return list((c - b * r) / d * inv_ones + (a * r - b) / d * inv_mu)


def _check_test_call(ctx: _Context) -> Check:
    name = "MINVAR_WEIGHTS"
    module = ctx.found.get("udfs")
    if module is None:
        return Check(name, SKIP, f"{UDF_MODULES} does not import")
    expected = _merton_weights([row[0] for row in _TEST_MU], _TEST_COV, _TEST_TARGET)
    answer = module.MINVAR_WEIGHTS(_TEST_MU, _TEST_COV, _TEST_TARGET)
    try:
        got = [float(row[0]) for row in answer]
    except (TypeError, ValueError, IndexError):
        got = None
    shown = ", ".join(f"{w:.4f}" for w in expected)
    if got is None or len(got) != len(expected):
        return Check(
            name, FAIL, f"a 3-asset test returned {answer!r}, expected {shown}", _REPORT_ISSUE
        )
    error = max(abs(g - e) for g, e in zip(got, expected, strict=True))
    if not error <= _TEST_TOLERANCE:
        return Check(
            name,
            FAIL,
            f"a 3-asset test returned {', '.join(f'{w:.6f}' for w in got)}, expected {shown} "
            f"(Merton's closed form; largest difference {error:.1e})",
            _REPORT_ISSUE,
        )
    return Check(
        name, OK, f"a 3-asset test gives {shown}, as Merton's closed form (difference {error:.0e})"
    )


def _default_startup_path(ctx: _Context) -> str | None:
    appdata = ctx.env.get("APPDATA")
    return ntpath.join(appdata, "Microsoft", "Excel", "XLSTART") if appdata else None


def _check_location(ctx: _Context) -> Check:
    name = "add-in location"
    startup = ctx.startup_path or (_default_startup_path(ctx) if ctx.windows else None)
    addin = ctx.addin
    if addin is None and ctx.windows and startup:
        addin = ntpath.join(startup, ADDIN_FILENAME)
    if addin is None:
        return Check(
            name, SKIP, "no Excel here (give --addin and --startup-path to check a location)"
        )
    if not Path(addin).is_file():
        return Check(
            name,
            FAIL,
            f"{addin} does not exist",
            f"{_REINSTALL}: it copies the add-in to Excel's start-up folder (XLSTART).",
        )
    # On Windows the registry says whether trusted locations count at all (a policy can
    # disable every one, XLSTART included) and whether network folders may be trusted.
    trusted = ctx.trusted() if ctx.windows else TrustedLocations()
    if trusted.all_disabled:
        return Check(
            name,
            FAIL,
            f"{addin}: a policy of your organisation disables every trusted location, "
            "XLSTART included, so the add-in's macros are blocked",
            "Ask your IT department to allow Excel's start-up folder (XLSTART) as a trusted "
            "location.",
        )
    if startup and _inside(addin, startup, False, ctx.windows) and trusted.user_locations:
        if not (ctx.windows and startup.startswith("\\\\")):
            return Check(name, OK, f"{addin}, in Excel's start-up folder (trusted)")
        if not trusted.allow_network:
            return Check(
                name,
                FAIL,
                f"{addin} is in XLSTART, but XLSTART is on a network share, which Excel "
                "does not trust",
                "Ask your IT department to allow trusted locations on the network for Excel, "
                "or to keep %APPDATA% on the local disk.",
            )
        return Check(name, OK, f"{addin}, in XLSTART on a network share that Excel trusts")
    if not ctx.windows:
        return Check(
            name,
            SKIP,
            f"{addin} is not in {startup or 'XLSTART'}; trusted locations are read from the "
            "Windows registry",
        )
    for folder, subfolders in trusted.folders:
        if _inside(addin, folder, subfolders, True):
            if folder.startswith("\\\\") and not trusted.allow_network:
                continue
            return Check(name, OK, f"{addin}, in the trusted location {folder}")
    if startup and _inside(addin, startup, False, True):
        return Check(
            name,
            FAIL,
            f"{addin} is in XLSTART, but a policy of your organisation trusts only the "
            "locations it sets, and XLSTART is not one of them",
            f"Ask your IT department to add {startup} to the trusted locations their policy sets.",
        )
    return Check(
        name,
        FAIL,
        f"{addin} is neither in XLSTART ({startup}) nor in a trusted location: its macros "
        "are blocked",
        f"{_REINSTALL}, which puts the add-in in XLSTART, or add its folder under File > "
        "Options > Trust Center > Trusted Locations.",
    )


# In the order a support person would go; the names are the ones the checks report under.
_CHECKS: tuple[tuple[str, Callable[[_Context], Check]], ...] = (
    ("Python", _check_python),
    ("xlwings", _check_xlwings),
    ("xlwings DLL", _check_dll),
    ("settings file", _check_config_file),
    ("INTERPRETER_WIN", _check_interpreter),
    ("UDF MODULES", _check_udf_modules),
    ("ADD_WORKBOOK_TO_PYTHONPATH", _check_workbook_path),
    ("xlwings UDF server", _check_udf_server),
    (UDF_MODULES, _check_udf_module),
    ("MINVAR_WEIGHTS", _check_test_call),
    ("add-in location", _check_location),
)


def run_checks(
    *,
    excel_bitness: int | None = None,
    addin: str | os.PathLike[str] | None = None,
    startup_path: str | os.PathLike[str] | None = None,
    windows: bool | None = None,
    env: Mapping[str, str] | None = None,
    trusted_locations: Callable[[], TrustedLocations] | None = None,
) -> DoctorReport:
    r"""Run every check, in order; a check that raises is reported as failed, never raised.

    Parameters
    ----------
    excel_bitness : {32, 64}, optional
        Excel's bitness (the Diagnose button passes it); compared with Python's.
    addin : path-like, optional
        The add-in file (default on Windows: ``XLSTART\xlfrontier.xlam``).
    startup_path : path-like, optional
        Excel's start-up folder, ``Application.StartupPath`` (default on Windows:
        ``%APPDATA%\Microsoft\Excel\XLSTART``).
    windows : bool, optional
        Run the Windows checks (default: whether this is Windows).
    env : mapping, optional
        Environment variables (default: ``os.environ``): ``USERPROFILE`` locates the settings
        file, ``%VAR%`` in its values is expanded from it.
    trusted_locations : callable, optional
        Returns Excel's trusted locations (default: read from the registry).

    Returns
    -------
    DoctorReport
    """
    env = os.environ if env is None else env
    config_path = default_config_path(env)
    try:
        config = (
            {k.upper(): v for k, v in read_config(config_path).items()}
            if config_path.is_file()
            else None
        )
    except OSError:
        config = None
    ctx = _Context(
        windows=sys.platform == "win32" if windows is None else windows,
        env=env,
        excel_bits=excel_bitness,
        addin=os.fspath(addin) if addin is not None else None,
        startup_path=os.fspath(startup_path) if startup_path is not None else None,
        config_path=config_path,
        config=config,
        trusted=trusted_locations or _read_trusted_locations,
    )
    checks = []
    for name, check in _CHECKS:
        try:
            checks.append(check(ctx))
        except Exception as err:  # the doctor must report, not crash
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"the check itself failed: {type(err).__name__}: {err}",
                    _REPORT_ISSUE,
                )
            )
    return DoctorReport(tuple(checks))


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _print(text: str) -> None:
    """Print, replacing what the console's code page cannot show (a path, a user name).

    Under ``pythonw.exe`` (how the add-in may start the checks) there is no console:
    ``sys.stdout`` is None and only the report file is written.
    """
    out = sys.stdout
    if out is None:
        return
    try:
        out.write(text)
    except UnicodeEncodeError:
        encoding = out.encoding or "ascii"
        out.write(text.encode(encoding, "replace").decode(encoding))
    out.flush()


def _cmd_doctor(args: argparse.Namespace) -> int:
    report = run_checks(
        excel_bitness=args.excel_bitness, addin=args.addin, startup_path=args.startup_path
    )
    text = report.text()
    _print(text)
    if args.report is not None:
        try:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(text, encoding="utf-8")
        except OSError as err:
            print(
                f"xlfrontier doctor: cannot write {args.report}: {err.strerror or err}",
                file=sys.stderr,
            )
            return 1
    return 0 if report.ok else 1


def add_doctor_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``doctor`` to a command line; ``args.func(args)`` runs it and returns the exit code.

    Parameters
    ----------
    subparsers
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``doctor`` parser.
    """
    doctor = subparsers.add_parser(
        "doctor",
        help="check why the Excel add-in does not work (what the Diagnose button runs)",
        description="Check, in order: the Python that runs, xlwings and its DLL, the add-in's "
        rf"settings file (%%USERPROFILE%%\.{PROJECT_NAME}\{PROJECT_NAME}.conf), that the "
        "worksheet functions import and give a known answer, and where the add-in is. Prints "
        "one line per check (OK, FAIL or SKIP) and what to do about the first failure. Exit "
        "code 0 when nothing fails, 1 otherwise.",
    )
    doctor.add_argument(
        "--excel-bitness",
        type=int,
        choices=(32, 64),
        default=None,
        help="Excel's bitness, compared with Python's",
    )
    doctor.add_argument(
        "--addin", default=None, metavar="PATH", help="the add-in file (default: XLSTART's)"
    )
    doctor.add_argument(
        "--startup-path",
        default=None,
        metavar="PATH",
        help="Excel's start-up folder (default: %%APPDATA%%\\Microsoft\\Excel\\XLSTART)",
    )
    doctor.add_argument(
        "--report", type=Path, default=None, metavar="FILE", help="also write the report here"
    )
    doctor.set_defaults(func=_cmd_doctor)
    return doctor
