"""Refuse to serve worksheet functions from a copy of xlfrontier that is not the installed one.

xlwings can put the active workbook's folder and ``<workbook>.zip`` first on ``sys.path``
(``ADD_WORKBOOK_TO_PYTHONPATH``, off in the configuration xlfrontier writes and in the add-in's
defaults). A folder ``xlfrontier`` or a ``Report.zip`` holding one next to ``Report.xlsx``
would then be imported instead of the installed package. :func:`check_installed` runs first
thing in :mod:`xlfrontier.udfs` and raises when the package was not loaded from where it is
installed, so that every worksheet function shows one clear message instead of answers from
unknown code.

"Installed" means the package folder sits directly in

- a ``site-packages`` folder of the running interpreter (``pip install``), or
- a folder named by the ``PYTHONPATH`` environment variable (set by the user, not by a
  workbook: how the test suite and a source checkout run), or
- the project folder of an editable install of the ``xlfrontier`` distribution
  (``pip install -e``), whose metadata is looked up in those ``site-packages`` folders only:
  a ``*.dist-info`` planted beside a workbook does not count.

Anything else, a zip archive included, is refused. This is a second line of defence: code in
a planted package's ``__init__`` has run before any check can; the first line is that the
add-in never puts a workbook's folder on ``sys.path`` unless the user's own file asks for it.
"""

from __future__ import annotations

import json
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from xlfrontier.exceptions import DisplacedPackageError

__all__ = ["DisplacedPackageError", "check_installed", "displacement", "installed_roots"]

_DISTRIBUTION = "xlfrontier"
# What a cell shows of the path (a cell holds 255 characters in all).
_PATH_CHARS = 90


def _site_dirs() -> list[str]:
    # Some old virtualenvs' site module has no getsitepackages.
    dirs = [*getattr(site, "getsitepackages", list)(), site.getusersitepackages()]
    paths = sysconfig.get_paths()
    dirs += [paths["purelib"], paths["platlib"]]
    return [d for d in dirs if d]


def _same(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    child = Path(os.path.normcase(os.path.realpath(path)))
    parent = Path(os.path.normcase(os.path.realpath(root)))
    return child == parent or parent in child.parents


def _editable_roots(site_dirs: Iterable[str]) -> list[str]:
    """Project folders of editable installs of xlfrontier recorded in ``site_dirs``."""
    roots = []
    for dist in metadata.distributions(name=_DISTRIBUTION, path=list(site_dirs)):
        try:
            direct = json.loads(dist.read_text("direct_url.json") or "{}")
        except ValueError:
            continue
        url = direct.get("url", "")
        if direct.get("dir_info", {}).get("editable") and url.startswith("file:"):
            parsed = urlparse(url)
            path = f"//{parsed.netloc}{parsed.path}" if parsed.netloc else parsed.path
            roots.append(url2pathname(path))
    return roots


def installed_roots(
    environ: Mapping[str, str] | None = None, site_dirs: Iterable[str] | None = None
) -> tuple[list[str], list[str]]:
    """Return (folders the package may sit directly in, editable project folders).

    Parameters
    ----------
    environ : mapping, optional
        Environment variables (default: ``os.environ``); its ``PYTHONPATH`` counts.
    site_dirs : iterable of str, optional
        The ``site-packages`` folders (default: those of the running interpreter).
    """
    environ = os.environ if environ is None else environ
    sites = list(_site_dirs() if site_dirs is None else site_dirs)
    return _direct_roots(environ, sites), _editable_roots(sites)


def _direct_roots(environ: Mapping[str, str], sites: list[str]) -> list[str]:
    """Folders the package may sit directly in: ``sites`` and the ``PYTHONPATH`` folders."""
    return [*sites, *(p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p)]


def displacement(
    package_file: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    site_dirs: Iterable[str] | None = None,
) -> str | None:
    """Return the cell message if ``package_file`` is not the installed package, else None.

    Parameters
    ----------
    package_file : str or None
        ``xlfrontier.__file__`` (the package's ``__init__.py``).
    environ, site_dirs
        As for :func:`installed_roots`.
    """
    where = str(package_file or "an unknown place")
    if package_file and Path(package_file).is_file():  # a zip member is no file
        folder = Path(package_file).resolve().parent
        environ = os.environ if environ is None else environ
        sites = list(_site_dirs() if site_dirs is None else site_dirs)
        if any(_same(folder.parent, root) for root in _direct_roots(environ, sites)):
            return None
        # Only then read the installed metadata (the usual pip install never gets here).
        if any(_inside(folder, root) for root in _editable_roots(sites)):
            return None
        where = str(folder)
    if len(where) > _PATH_CHARS:
        where = "..." + where[-(_PATH_CHARS - 3) :]
    return (
        f"xlfrontier refuses to run: it was loaded from {where}, not from where it is "
        "installed. Delete that copy (it may have come with a download), then Restart Python."
    )


def _refusal(message: str) -> Exception:
    """Return the exception whose text Excel shows in each cell.

    Raised inside the xlwings server, pywin32's ``COMException`` reaches the VBA wrapper with
    exactly this description, which the wrapper puts into the cell; any other exception would
    arrive as "Unexpected Python Error: <class ...>".
    """
    try:
        from win32com.server.exception import (  # type: ignore[import-untyped]
            COMException,
        )
    except ImportError:
        return DisplacedPackageError(message)
    factory: Any = COMException  # pywin32's class, or a test stand-in
    if isinstance(COMException, type) and issubclass(COMException, BaseException):
        error: Exception = factory(description=message, source="xlfrontier")
        return error
    return DisplacedPackageError(message)  # a stand-in for pywin32 (tests off Windows)


def check_installed(package_file: str | None = None) -> None:
    """Raise unless the running xlfrontier package is the installed one.

    Parameters
    ----------
    package_file : str, optional
        The package's ``__init__.py`` (default: ``xlfrontier.__file__``).

    Raises
    ------
    DisplacedPackageError
        (``COMException`` inside the xlwings server on Windows) with the cell message.
    """
    if package_file is None:
        package_file = getattr(sys.modules.get("xlfrontier"), "__file__", None)
    message = displacement(package_file)
    if message is not None:
        raise _refusal(message)
