"""xlwings sees the same worksheet functions as before the argument help was tabulated.

The fixture ``data/udf_metadata.json`` holds every function's ``__xlfunc__`` metadata, the
function-wizard ``MacroOptions`` calls and the VBA wrapper module of the add-in build, written
from the code before the refactoring (see ``udf_metadata_snapshot.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from udf_metadata_snapshot import FIXTURE, as_json, snapshot

from conftest import UDF_MODULE


@pytest.fixture(scope="module")
def before():
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def now():
    return json.loads(as_json(snapshot()))


def test_the_catalog_is_the_same(before, now):
    assert sorted(now["functions"]) == sorted(before["functions"])
    assert len(now["functions"]) >= 20


@pytest.mark.parametrize("part", ["args", "argmap", "ret", "category", "name", "volatile"])
def test_every_function_has_the_same_xlfunc_metadata(before, now, part):
    for name, info in before["functions"].items():
        assert now["functions"][name][part] == info[part], name


def test_the_whole_metadata_is_the_same(before, now):
    assert now["functions"] == before["functions"]


def test_function_wizard_help_is_the_same(before, now):
    assert now["macro_options"] == before["macro_options"]


def test_vba_wrappers_are_the_same(before, now):
    assert now["vba"] == before["vba"]


def test_no_function_declares_its_arguments_one_by_one():
    source = Path(UDF_MODULE.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    assert not [line for line in lines if line.startswith("@xw.arg")]
    assert len([line for line in lines if line.startswith("@_arguments(")]) == len(
        UDF_MODULE.__all__
    )


def test_an_argument_without_help_is_a_programming_error():
    def SOME_FUNCTION(mu, novel=None):
        return mu

    with pytest.raises(TypeError, match="SOME_FUNCTION: argument novel needs its help text"):
        UDF_MODULE._arguments()(SOME_FUNCTION)
    declared = UDF_MODULE._arguments(novel="A new input")(SOME_FUNCTION)
    assert declared is SOME_FUNCTION


def test_help_for_an_argument_the_function_lacks_is_refused():
    def SOME_FUNCTION(mu):
        return mu

    with pytest.raises(TypeError, match="SOME_FUNCTION has no argument cov, rf"):
        UDF_MODULE._arguments(rf="x", cov="y")(SOME_FUNCTION)
