"""Fixtures of the Excel-layer tests; the machinery is in ``_udf_harness`` (a plain module).

Fixtures: ``call(name, *args)`` runs ``XLPython().CallUDF("xlfrontier.udfs", name, args)``,
exactly what the generated VBA does; ``xl_udfs`` is the ``xlwings.udfs`` module; ``udf_module``
is ``xlfrontier.udfs``.
"""

from __future__ import annotations

import pytest
from _udf_harness import UDF_MODULE, XL_UDFS, call_udf


@pytest.fixture
def call():
    return call_udf


@pytest.fixture
def xl_udfs():
    return XL_UDFS


@pytest.fixture
def udf_module():
    return UDF_MODULE
