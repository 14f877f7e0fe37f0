"""Imported first by :mod:`xlfrontier.udfs`: refuses a copy of xlfrontier not installed here.

See :mod:`xlfrontier.excel._provenance`. Importing this module raises
:class:`~xlfrontier.exceptions.DisplacedPackageError` (``COMException`` inside the
xlwings server) when the running ``xlfrontier`` package was loaded from anywhere but its
installed location, so :mod:`xlfrontier.udfs` cannot be imported from such a copy.
"""

from __future__ import annotations

from pathlib import Path

from xlfrontier.excel._provenance import check_installed

# This file's own package, not whatever sys.modules["xlfrontier"] is.
check_installed(str(Path(__file__).resolve().parents[1] / "__init__.py"))
