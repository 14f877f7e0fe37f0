"""Every public function documents its parameters, result and errors, with an example that runs.

The examples are the docstrings' ``Examples`` sections, run here as doctests (no Windows-only
module is imported: only the package root, the numerical core and the resource locator).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re

import pytest

import xlfrontier
import xlfrontier.core

PUBLIC = sorted(
    {
        name
        for name in (*xlfrontier.__all__, *xlfrontier.core.__all__)
        if inspect.isfunction(getattr(xlfrontier, name))
    }
)
MODULES = sorted(
    [
        "xlfrontier",
        "xlfrontier._resources",
        "xlfrontier.exceptions",
        *(
            f"xlfrontier.core.{m.name}"
            for m in pkgutil.iter_modules(xlfrontier.core.__path__)
            if not m.ispkg
        ),
    ]
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _run(tests: list[doctest.DocTest]) -> tuple[int, int, str]:
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    return result.failed, result.attempted, "".join(report)


def test_the_public_api_is_covered():
    assert len(PUBLIC) >= 20
    assert {"min_variance", "efficient_frontier", "estimate_cov", "check_inputs"} <= set(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_has_parameters_returns_raises_and_examples(name):
    doc = inspect.getdoc(getattr(xlfrontier, name)) or ""
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert re.search(rf"^{section}\n-{{{len(section)}}}$", doc, re.M), f"{name}: {section}"


@pytest.mark.parametrize("name", PUBLIC)
def test_examples_run(name):
    func = getattr(xlfrontier, name)
    tests = doctest.DocTestFinder(recurse=False).find(func, name, globs={})
    failed, attempted, report = _run(tests)
    assert attempted >= 2, name
    assert failed == 0, report


@pytest.mark.parametrize("module", MODULES)
def test_module_doctests_run(module):
    """Every other example in the core's docstrings (classes, methods) runs too."""
    tests = doctest.DocTestFinder().find(importlib.import_module(module))
    failed, _, report = _run(tests)
    assert failed == 0, report
