"""xlwings sees the same worksheet functions as before the argument help was tabulated.

The fixture ``data/udf_metadata.json`` holds every function's ``__xlfunc__`` metadata, the
function-wizard ``MacroOptions`` calls and the VBA wrapper module of the add-in build, written
from the code before the refactoring (see ``udf_metadata_snapshot.py``).
"""

from __future__ import annotations

import json

import pytest
from udf_metadata_snapshot import FIXTURE, as_json, snapshot


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
