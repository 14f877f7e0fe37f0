"""The frontier-table limit, at its boundary, through the worksheet function.

``xlfrontier.excel.limits`` defines it once; ``EFFICIENT_FRONTIER`` (here called as the
generated VBA calls it, and as plain Python) takes 2 to MAX_POINTS rows and refuses one more
with a message.
"""

from __future__ import annotations

import argparse

import pytest

from conftest import UDF_MODULE, call_udf
from xlfrontier import cli
from xlfrontier.excel import _convert as cv
from xlfrontier.excel import limits
from xlfrontier.workbook import template

MU = ((0.10,), (0.20,), (0.15,))
COV = ((0.04, 0.006, 0.01), (0.006, 0.09, 0.012), (0.01, 0.012, 0.0625))
MESSAGE = "#INPUT! points must be between 2 and 1,000 (the number of frontier rows)"


def test_one_rule_for_everyone():
    assert (limits.MIN_POINTS, limits.MAX_POINTS) == (2, 1000)
    assert cv.MAX_POINTS is limits.MAX_POINTS
    assert template.MAX_POINTS is limits.MAX_POINTS
    assert template.MIN_POINTS is limits.MIN_POINTS


@pytest.mark.parametrize("via", [call_udf, lambda name, *a: getattr(UDF_MODULE, name)(*a)])
def test_the_limit_itself_works(via):
    table = via("EFFICIENT_FRONTIER", MU, COV, float(limits.MAX_POINTS))
    assert len(table) == limits.MAX_POINTS + 1  # header row + one row per point
    assert table[0][:3] == ["Return", "Volatility", "Sharpe"]
    returns = [row[0] for row in table[1:]]
    assert returns == sorted(returns)
    assert returns[-1] == pytest.approx(0.20)


@pytest.mark.parametrize("via", [call_udf, lambda name, *a: getattr(UDF_MODULE, name)(*a)])
def test_one_more_gives_the_message(via):
    text = via("EFFICIENT_FRONTIER", MU, COV, float(limits.MAX_POINTS + 1))
    assert text == f"{MESSAGE}, got 1001"


@pytest.mark.parametrize(
    ("points", "rows"), [(limits.MIN_POINTS, 3), (limits.MIN_POINTS - 1, None)]
)
def test_the_lower_end(points, rows):
    table = call_udf("EFFICIENT_FRONTIER", MU, COV, float(points))
    if rows is None:
        assert table == f"{MESSAGE}, got 1"
    else:
        assert len(table) == rows


def test_the_wizard_help_states_the_limit():
    info = UDF_MODULE.EFFICIENT_FRONTIER.__xlfunc__["argmap"]["points"]
    assert info["doc"] == "Number of rows, 2 to 1000 (default 20)"


def test_the_command_line_takes_the_same_range():
    assert cli._points(str(limits.MAX_POINTS)) == limits.MAX_POINTS
    assert cli._points(str(limits.MIN_POINTS)) == limits.MIN_POINTS
    for wrong in (limits.MAX_POINTS + 1, limits.MIN_POINTS - 1):
        with pytest.raises(argparse.ArgumentTypeError, match="points must be between 2 and 1000"):
            cli._points(str(wrong))
