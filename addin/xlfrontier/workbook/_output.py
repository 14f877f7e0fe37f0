"""Writing output files safely: never half a file, never over a file the user did not give up.

Every command that writes a workbook (``run``, ``template``, ``recalc``) goes through
:func:`atomic_write`: the file is written to a temporary file in the destination folder and
renamed over the target only when it is complete, so a failure midway (disk full, a killed
process) leaves the previous file as it was and no temporary file behind.

Which existing files may be replaced is decided by :func:`check_output`: a file named by the
user (``--out mine.xlsx``) only with ``--force``; a file whose name xlfrontier chose (the default
output) also when it is one xlfrontier wrote and nobody saved since. The generator marks its
workbooks with the custom document property :data:`OWNER_PROPERTY`, whose value is the
``dcterms:modified`` stamp it wrote: Excel and LibreOffice update that stamp when they save, so
a workbook the user edited and saved no longer counts as xlfrontier's. A symbolic link is never
written through.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from xlfrontier.exceptions import OutputError, OutputExistsError

__all__ = [
    "OWNER_PROPERTY",
    "OutputError",
    "OutputExistsError",
    "atomic_write",
    "check_output",
    "owner_stamp",
    "written_by_xlfrontier",
]

#: Custom document property that marks a workbook written by xlfrontier (value: the
#: ``dcterms:modified`` stamp written with it).
OWNER_PROPERTY = "xlfrontier_output"

_CUSTOM_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
_DCTERMS_MODIFIED = "{http://purl.org/dc/terms/}modified"


def owner_stamp(modified: dt.datetime) -> str:
    """Return the value of :data:`OWNER_PROPERTY` for a workbook last modified at ``modified``.

    The format is XlsxWriter's ``dcterms:modified`` text (``2024-01-01T00:00:00Z``).
    """
    return modified.strftime("%Y-%m-%dT%H:%M:%SZ")


def written_by_xlfrontier(path: str | Path) -> bool:
    """Return whether ``path`` is a workbook written by xlfrontier and not saved since.

    True when its custom property :data:`OWNER_PROPERTY` equals its ``dcterms:modified`` stamp;
    False for anything else (another workbook, a damaged file, not a workbook at all).
    """
    try:
        with zipfile.ZipFile(path) as package:
            custom = ElementTree.fromstring(package.read("docProps/custom.xml"))
            core = ElementTree.fromstring(package.read("docProps/core.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError, EOFError):
        return False
    modified = core.find(_DCTERMS_MODIFIED)
    stamp = "" if modified is None else (modified.text or "").strip()
    if not stamp:
        return False
    for prop in custom.iter(f"{_CUSTOM_NS}property"):
        if prop.get("name") == OWNER_PROPERTY:
            return "".join(prop.itertext()).strip() == stamp
    return False


def check_output(path: Path, *, force: bool, named_by_user: bool) -> bool:
    """Check that a command may write ``path``; return whether it replaces a file.

    Parameters
    ----------
    path : Path
        The file the command is about to write.
    force : bool
        The user passed ``--force``: an existing file may be replaced.
    named_by_user : bool
        The user typed this file name (``--out mine.xlsx``). When False (xlfrontier chose the
        name), an existing file is replaced also when :func:`written_by_xlfrontier` says it is
        xlfrontier's own unchanged output.

    Raises
    ------
    OutputError
        When ``path`` is a symbolic link (even with ``force``: the link would be replaced by a
        file and its target left as it was), or exists and is not a file.
    OutputExistsError
        When ``path`` exists and may not be replaced.
    """
    if path.is_symlink() or path.resolve().parent != path.parent.resolve():
        raise OutputError(
            f"{path} is a symbolic link: xlfrontier does not write through links; give the "
            f"path of the file itself"
        )
    if not path.exists():
        return False
    if not path.is_file():
        raise OutputError(f"{path} exists and is not a file: choose another output")
    if force:
        return True
    if named_by_user:
        raise OutputExistsError(
            f"{path} already exists: pass --force to replace it, or choose another --out"
        )
    if written_by_xlfrontier(path):
        return True
    raise OutputExistsError(
        f"{path} already exists and was not written by xlfrontier, or was saved since: "
        f"pass --force to replace it, or choose another --out"
    )


@contextlib.contextmanager
def atomic_write(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it over ``target`` when the block succeeds.

    The temporary file is created empty (exclusively, with a random name, so no existing file
    or planted link is followed) in the folder of ``target``; the caller writes the whole file
    there. On success it replaces ``target`` in one step (:func:`os.replace`), keeping the
    permissions of the file it replaces. On any exception it is removed and ``target`` is left
    as it was.

    Raises
    ------
    OSError
        When the folder does not exist or cannot be written, or ``target`` is read-only.
    """
    target = Path(target)
    if target.exists() and not os.access(target, os.W_OK):
        raise PermissionError(13, "the file is read-only", str(target))
    temp = _create_temp(target)
    try:
        yield temp
        if target.is_file():
            shutil.copymode(target, temp)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _create_temp(target: Path) -> Path:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temp, flags, 0o666))  # 0o666 & ~umask, like a plain open()
        except FileExistsError:
            continue
        return temp
    raise FileExistsError(17, "no free temporary file name", str(target.parent))
