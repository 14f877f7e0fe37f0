"""The template workbook: generate it, and recalculate a filled copy without Excel.

- :mod:`xlfrontier.workbook.template` writes the workbook (sheets Start, Inputs, Optimizer,
  Frontier, Prices) with XlsxWriter. Every formula cell also stores the value the worksheet
  functions give for it, so the numbers and charts show before any recalculation. The Inputs
  sheet's "Inputs from" cell switches the Optimizer and Frontier between the typed assumptions
  and the estimates of the Prices sheet.
- :mod:`xlfrontier.workbook.recalc` evaluates the formulas of an existing workbook with the
  ``formulas`` package (the optional ``recalc`` extra) and writes the values into a copy.

Both are imported lazily by the command line (:mod:`xlfrontier.cli`); importing this package
costs nothing.
"""

from __future__ import annotations

__all__: list[str] = []
