"""Asset labels typed as numbers become short headers, like text labels (at most 255 characters).

Called the way Excel calls the worksheet functions (``XLPython().CallUDF``): a number in a
label cell arrives as a float, and ``1e300`` used to become a 301-digit header.
"""

from __future__ import annotations

import pytest

from conftest import call_udf

MISSING = -2147352572  # VBA: optional argument not supplied
MU = ((0.10,), (0.20,), (0.15,))
COV = ((0.04, 0.006, 0.01), (0.006, 0.09, 0.012), (0.01, 0.012, 0.0625))


@pytest.mark.parametrize(
    ("label", "header"),
    [
        (1e300, "1e+300"),
        (-1e300, "-1e+300"),
        (123456789012345678.0, "1.2345678901234568e+17"),
        (999999999999999.0, "999999999999999"),  # whole numbers below 1e15 keep their digits
        (2020.0, "2020"),
        (0.1, "0.1"),
        (1 / 3, "0.3333333333333333"),
        ("x" * 300, "x" * 255),
    ],
)
def test_number_labels_are_short_headers(label, header):
    labels = ((label, "Bonds", 7.0),)
    frontier = call_udf("EFFICIENT_FRONTIER", MU, COV, 3, MISSING, MISSING, MISSING, labels)
    assert frontier[0][3:] == [header, "Bonds", "7"]
    corners = call_udf("FRONTIER_CORNERS", MU, COV, MISSING, MISSING, labels)
    assert corners[0][3:] == [header, "Bonds", "7"]
    assert all(len(h) <= 255 for h in frontier[0][3:])
