"""Fixtures shared by the workbook tests: one build of the default template per session."""

from __future__ import annotations

import pytest
from test_template import Book

from xlfrontier.workbook.template import TEMPLATE_FILENAME, build_workbook


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """``(path, build result, Book)`` of a freshly built default template (read-only)."""
    path = tmp_path_factory.mktemp("template") / TEMPLATE_FILENAME
    result = build_workbook(path)
    return path, result, Book(path)


@pytest.fixture(scope="session")
def book(built):
    """The parsed default template."""
    return built[2]
