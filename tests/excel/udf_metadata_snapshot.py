"""Snapshot of everything xlwings sees of the worksheet functions.

``snapshot()`` returns, for the catalog in :mod:`xlfrontier.udfs`: every function's
``__xlfunc__`` metadata (argument names, positions, conversion options, optional flags,
function-wizard help), the ``Application.MacroOptions`` calls and the VBA wrapper module text
that xlwings' "Import Functions" writes (the text the add-in build embeds), all produced by
:func:`xlfrontier.excel.addin.generate_udf_wrappers`.

``tests/excel/data/udf_metadata.json`` was written by running this file
(``python tests/excel/udf_metadata_snapshot.py``) on the code *before* the argument help was
factored into a table (commit aba1e36); ``test_udf_metadata.py`` asserts that the current code
still produces exactly that. Do not regenerate it to make the test pass: a difference means
Excel would see different functions. It was regenerated once, deliberately, for issue 11: the
new ``GROUP_CONSTRAINTS`` and a trailing optional ``constraints`` argument on the nine
optimisation functions (and ``PORTFOLIO_EXPLAIN``'s longer description), nothing else.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parent / "data" / "udf_metadata.json"


def snapshot() -> dict[str, Any]:
    """Return the xlwings view of :mod:`xlfrontier.udfs` as JSON-ready data."""
    from xlfrontier.excel import addin

    wrappers = addin.generate_udf_wrappers()
    return {
        "functions": {name: wrappers.functions[name] for name in sorted(wrappers.functions)},
        "macro_options": [dataclasses.asdict(m) for m in wrappers.macro_options],
        "vba": wrappers.vba,
    }


def as_json(data: dict[str, Any]) -> str:
    """Canonical JSON text of a snapshot (sorted keys, tuples as lists)."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(as_json(snapshot()), encoding="utf-8", newline="\n")
    print(f"wrote {FIXTURE}")
