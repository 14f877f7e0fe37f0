"""Stub pywin32 modules so that xlwings' real Windows UDF machinery runs on Linux.

Recipe verified in ``shared/notes/xlwings-linux-testing.md``: with these stubs, xlwings imports
its Windows engine, ``xlwings.udfs`` (``call_udf``, ``generate_vba_wrapper``, ``import_udfs``)
and ``xlwings.com_server`` (``XLPython().CallUDF``, the entry point the generated VBA uses), and
binds the real ``func``/``arg``/``ret`` decorators instead of the Linux no-ops.

Call :func:`install` before importing any module that defines UDFs.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import sys
import types
from unittest import mock


class _AutoModule(types.ModuleType):
    """A module whose unknown attributes are MagicMocks."""

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        v = mock.MagicMock(name=f"{self.__name__}.{name}")
        setattr(self, name, v)
        return v


def _mod(name, **attrs):
    m = _AutoModule(name)
    m.__path__ = []
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def _install_fakes():
    class TimeType(dt.datetime):
        pass

    class com_error(Exception):  # pywin32's name
        pass

    _mod(
        "pywintypes",
        TimeType=TimeType,
        com_error=com_error,
        error=com_error,
        IID=lambda s: s,
        _xlw_stub=True,
    )

    class PyIDispatch:
        pass

    _mod(
        "pythoncom",
        __file__="pythoncom-stub",
        IID_IDispatch="IID_IDispatch",
        TypeIIDs={"IID_IDispatch": PyIDispatch},
        CoInitialize=lambda: None,
    )

    class CDispatch:
        pass

    class DispatchBaseClass:
        pass

    class CoClassBaseClass:
        pass

    def dispatch(*a, **k):
        raise RuntimeError("no COM on Linux")

    w = _mod("win32com")
    w.client = _mod(
        "win32com.client",
        CDispatch=CDispatch,
        DispatchBaseClass=DispatchBaseClass,
        CoClassBaseClass=CoClassBaseClass,
        Dispatch=dispatch,
        DispatchEx=dispatch,
    )
    w.client.gencache = _mod("win32com.client.gencache")
    w.server = _mod("win32com.server")

    def unwrap(ob):
        raise ValueError("not wrapped")  # like pywin32: FromVariant then returns ob

    w.server.util = _mod("win32com.server.util", unwrap=unwrap, wrap=lambda ob, *a, **k: ob)
    w.server.policy = _mod("win32com.server.policy", DefaultPolicy=object)
    w.server.dispatcher = _mod("win32com.server.dispatcher")
    w.server.exception = _mod("win32com.server.exception")
    for n in ("win32api", "win32con", "win32gui", "win32process", "win32event"):
        _mod(n)

    class TimeZoneInfo:
        @staticmethod
        def utc():
            return dt.timezone.utc

    _mod("win32timezone", TimeZoneInfo=TimeZoneInfo)
    for a in ("windll", "oledll"):
        if not hasattr(ctypes, a):
            setattr(ctypes, a, mock.MagicMock())


def install():
    """Install the stubs (idempotent) and return ``(xlwings, xlwings.udfs, xlwings.com_server)``."""
    if not getattr(sys.modules.get("pywintypes"), "_xlw_stub", False):
        _install_fakes()
    import xlwings

    with mock.patch.object(ctypes, "PyDLL", mock.MagicMock()):
        import xlwings._xlwindows as xlwin
    if "excel" not in [e.name for e in xlwings.engines]:
        xlwings.engines.add(xlwings.Engine(impl=xlwin.engine))
    import xlwings.com_server as com_server
    import xlwings.udfs as udfs

    xlwings.func, xlwings.arg, xlwings.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
    xlwings.script = xlwings.sub = udfs.xlsub
    return xlwings, udfs, com_server
