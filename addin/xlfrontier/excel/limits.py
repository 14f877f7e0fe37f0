"""Size limits of the worksheet functions, in one place.

The Excel layer enforces them (:mod:`xlfrontier.excel._convert`, :mod:`xlfrontier.udfs`) and
the template generator (:mod:`xlfrontier.workbook.template`) uses the same numbers for its
input checks and data validation, because its Frontier table is an ``EFFICIENT_FRONTIER``
formula. Documented for users in ``docs/readme/excel-functions.md`` ("Limits"). The module
imports nothing, so the core stays free of Excel and the template can import it cheaply.
"""

from __future__ import annotations

__all__ = ["MAX_ASSETS", "MAX_CELLS", "MAX_CONSTRAINTS", "MAX_POINTS", "MIN_POINTS"]

#: Cells in one range argument (20 years of daily prices of ~1000 assets).
MAX_CELLS = 5_000_000
#: Assets in one optimisation.
MAX_ASSETS = 1000
#: Rows of a ``constraints`` table (after blank rows and the header are left out).
MAX_CONSTRAINTS = 1000
#: Rows of a frontier table: ``EFFICIENT_FRONTIER``'s ``points`` and the template's
#: "Frontier points" setting are whole numbers from MIN_POINTS to MAX_POINTS.
MIN_POINTS = 2
MAX_POINTS = 1000
