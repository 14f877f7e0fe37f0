"""The Excel-facing layer of xlfrontier: range conversion and cell-text errors.

The worksheet functions themselves live in :mod:`xlfrontier.udfs` (the module the add-in
registers). They are thin: :mod:`xlfrontier.excel._convert` turns the values Excel hands over
(tuples of tuples, ``None`` for blank cells, error codes, the "missing argument" marker) into
numpy arrays and cleans the results on the way back; :mod:`xlfrontier.excel._errors` turns
every exception into one short cell text; :mod:`xlfrontier.excel._com` is the one table of
Excel's error values as COM passes them, and :mod:`xlfrontier.excel.limits` the size limits
of the functions (also used by the template). Nothing here does numerics: that is
:mod:`xlfrontier.core`.
"""

from __future__ import annotations

__all__: list[str] = []
