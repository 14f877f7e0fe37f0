"""The VBA that xlwings' "Import Functions" writes for the catalog, generated on Linux.

``generate_vba_wrapper`` is the text generator; ``import_udfs`` is the whole Python side of the
ribbon button, here with a MagicMock workbook that records the imported ``.bas`` file and the
``Application.MacroOptions`` calls (function-wizard description, category, argument help).
"""

from __future__ import annotations

import io
import re
import types
from unittest import mock

import pytest
from _udf_harness import MODULE_NAME, UDF_MODULE, XL_UDFS

FUNCTIONS = UDF_MODULE.__all__


def wrapper_text(book_name):
    module = XL_UDFS.get_udf_module(MODULE_NAME, None)
    buf = io.StringIO()
    XL_UDFS.generate_vba_wrapper(MODULE_NAME, module, buf, types.SimpleNamespace(Name=book_name))
    return buf.getvalue()


def declared_args(info):
    return ", ".join(("Optional " if "optional" in a else "") + a["name"] for a in info["args"])


@pytest.fixture(scope="module")
def imported():
    """Run import_udfs against a fake add-in workbook; return (bas text, MacroOptions calls)."""
    XL_UDFS.get_udf_module(MODULE_NAME, None)  # cached: no workbook (COM) lookup
    seen = {}
    wb = mock.MagicMock()
    wb.Name = "xlfrontier.xlam"
    wb.Application.Version = "16.0"

    def import_file(path):
        with open(path, encoding="utf-8") as f:
            seen["bas"] = f.read()

    wb.VBProject.VBComponents.Import.side_effect = import_file
    with mock.patch("builtins.print"):
        XL_UDFS.import_udfs(MODULE_NAME, wb)
    calls = {c.args[0]: c.kwargs for c in wb.Application.MacroOptions.call_args_list}
    return seen["bas"], calls


def test_every_function_is_declared_with_its_arguments():
    text = wrapper_text("xlfrontier.xlam")
    declared = re.findall(r"^Function (\w+)\((.*)\)$", text, flags=re.MULTILINE)
    assert sorted(name for name, _ in declared) == sorted(FUNCTIONS)
    assert "Sub " not in text
    for name, args in declared:
        info = getattr(UDF_MODULE, name).__xlfunc__
        assert args == declared_args(info)
        call = (
            f'{name} = XLPy.CallUDF("{MODULE_NAME}", "{name}", '
            f"Array({', '.join(a['name'] for a in info['args'])}), ActiveWorkbook, "
            f"Application.Caller)"
        )
        assert call in text
        assert f"{name} = Err.Description" in text


def test_minvar_declaration_reads_as_documented():
    text = wrapper_text("xlfrontier.xlam")
    assert (
        "Function MINVAR_WEIGHTS(mu, cov, r, Optional lower, Optional upper, Optional constraints)"
    ) in text
    assert (
        "Function EFFICIENT_FRONTIER(mu, cov, Optional points, Optional lower, "
        "Optional upper, Optional rf, Optional labels, Optional constraints)"
    ) in text
    assert "Function GROUP_CONSTRAINTS(groups, limits)" in text


def test_a_workbook_wrapper_uses_this_workbook():
    text = wrapper_text("Template.xlsm")
    assert "ActiveWorkbook" not in text
    assert text.count("ThisWorkbook, Application.Caller)") == len(FUNCTIONS)


def test_import_functions_writes_the_module_and_registers_wizard_help(imported):
    bas, calls = imported
    assert bas.startswith('Attribute VB_Name = "xlwings_udfs"')
    assert len(re.findall(r"^Function ", bas, flags=re.MULTILINE)) == len(FUNCTIONS)
    assert sorted(calls) == sorted(f"'xlfrontier.xlam'!{name}" for name in FUNCTIONS)
    for name in FUNCTIONS:
        f = getattr(UDF_MODULE, name)
        opts = calls[f"'xlfrontier.xlam'!{name}"]
        assert opts["Category"] == "xlfrontier"
        assert opts["Description"] == f.__doc__  # not truncated: at most 255 characters
        assert opts["ArgumentDescriptions"] == [a["doc"] for a in f.__xlfunc__["args"]]
        assert all(0 < len(d) <= 255 for d in opts["ArgumentDescriptions"])
