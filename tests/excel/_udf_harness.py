"""Run the UDFs through xlwings' own Windows machinery, on Linux (a plain helper module).

``win32_stubs.install()`` puts stub pywin32 modules into ``sys.modules`` so that xlwings
imports its Windows engine and binds its real ``func``/``arg``/``ret`` decorators; then
``xlfrontier.udfs`` is imported (or re-imported) so that every UDF carries its ``__xlfunc__``
metadata. The stubs are removed again right away: the xlwings modules that need them already
hold their references, and the rest of the test session must not see a fake pywin32 (or
``ctypes.windll``).

``call_udf(name, *args)`` runs ``XLPython().CallUDF("xlfrontier.udfs", name, args)``, exactly
what the generated VBA does; ``XL_UDFS`` is the ``xlwings.udfs`` module; ``UDF_MODULE`` is
``xlfrontier.udfs``. Test modules import these directly; ``conftest.py`` wraps them as fixtures.
"""

from __future__ import annotations

import ctypes
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import win32_stubs

_FAKE_MODULES = (
    "pywintypes",
    "pythoncom",
    "win32com",
    "win32api",
    "win32con",
    "win32gui",
    "win32process",
    "win32event",
    "win32timezone",
)


def _install_then_confine():
    import xlwings

    saved = {name: getattr(xlwings, name) for name in ("func", "arg", "ret", "script", "sub")}
    had = {name: hasattr(ctypes, name) for name in ("windll", "oledll")}
    before = set(sys.modules)
    _xw, xl_udfs, com_server = win32_stubs.install()
    try:
        module = sys.modules.get("xlfrontier.udfs")
        if module is None:
            module = importlib.import_module("xlfrontier.udfs")
        elif not hasattr(module.MINVAR_WEIGHTS, "__xlfunc__"):
            module = importlib.reload(module)  # imported earlier with the no-op decorators
    finally:
        for name in list(sys.modules):
            if name not in before and name.split(".")[0] in _FAKE_MODULES:
                del sys.modules[name]
        for name, had_it in had.items():
            if not had_it and hasattr(ctypes, name):
                delattr(ctypes, name)
        for name, value in saved.items():
            setattr(xlwings, name, value)
    return xl_udfs, com_server, module


XL_UDFS, COM_SERVER, UDF_MODULE = _install_then_confine()
MODULE_NAME = "xlfrontier.udfs"
# Register the module as not reloadable (filetime None): xlwings reloads a UDF module whose
# file changed, and a reload now would bind the no-op decorators again.
XL_UDFS.udf_modules[MODULE_NAME] = {
    "filename": UDF_MODULE.__file__,
    "filetime": None,
    "module": UDF_MODULE,
}


def call_udf(name, *args):
    """Call a UDF as the generated VBA does: ``XLPy.CallUDF(module, name, Array(args...))``."""
    return COM_SERVER.XLPython().CallUDF(MODULE_NAME, name, args)
