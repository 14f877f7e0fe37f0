"""The constraints API: LinearConstraints' validation and group_constraints.

Every error path is checked with its message (cell text); the built rows are checked entry by
entry against the labels they come from.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from xlfrontier import LinearConstraints, group_constraints
from xlfrontier.exceptions import InputError


# ------------------------------------------------------------------------- LinearConstraints
def test_linear_constraints_holds_rows_limits_and_names():
    c = LinearConstraints([[1, 1, 0], [0.9, 1.2, 0.0]], [0.4, 0.95], [0.7, 1.05], ["Eq", "Beta"])
    assert c.m == 2
    assert c.n_assets == 3
    assert c.names == ("Eq", "Beta")
    np.testing.assert_array_equal(c.values([0.2, 0.3, 0.5]), [0.5, 0.9 * 0.2 + 1.2 * 0.3])
    np.testing.assert_array_equal(c.is_equality, [False, False])


def test_linear_constraints_defaults_and_no_limit_spellings():
    c = LinearConstraints([[1, 0], [0, 1], [1, 1]], [None, np.nan, 1.0], [0.5, None, 1.0])
    assert c.names == ("constraint 1", "constraint 2", "constraint 3")
    np.testing.assert_array_equal(c.lower, [-np.inf, -np.inf, 1.0])
    np.testing.assert_array_equal(c.upper, [0.5, np.inf, 1.0])
    np.testing.assert_array_equal(c.is_equality, [False, False, True])
    none = LinearConstraints([[1.0, 2.0]])
    assert (none.lower, none.upper) == (-np.inf, np.inf)


def test_linear_constraints_broadcasts_a_single_limit_and_fills_blank_names():
    c = LinearConstraints([[1, 0], [0, 1]], 0.1, 0.9, names=["  Eq ", ""])
    np.testing.assert_array_equal(c.lower, [0.1, 0.1])
    np.testing.assert_array_equal(c.upper, [0.9, 0.9])
    assert c.names == ("Eq", "constraint 2")


def test_linear_constraints_is_frozen():
    c = LinearConstraints([[1.0, 0.0]], 0.1, 0.9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.A = np.zeros((1, 2))  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        c.A[0, 0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        c.lower[0] = 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"A": [["a", 1]]}, "constraint coefficients must be numbers"),
        ({"A": np.zeros((2, 2, 2))}, "must be a table: one row per limit"),
        ({"A": [[1, 0], [0, 1]], "lower": ["x", 0]}, "constraint lower limits must be numbers"),
        ({"A": [[1, 0], [0, 1]], "lower": [0, 0, 0]}, "3 lower limits for 2 constraint rows"),
        ({"A": [[1, 0], [0, 1]], "upper": [1, 1, 1]}, "3 upper limits for 2 constraint rows"),
        ({"A": [[1, 0]], "names": ["a", "b"]}, "2 constraint names for 1 constraint rows"),
        ({"A": [[1, np.nan]], "names": ["Beta"]}, "'Beta': every coefficient must be a finite"),
        ({"A": [[1, np.inf]]}, "'constraint 1': every coefficient must be a finite"),
        ({"A": [[1, 0]], "lower": [np.inf]}, r"minimum cannot be \+infinity"),
        ({"A": [[1, 0]], "upper": [-np.inf]}, "nor its maximum -infinity"),
        ({"A": [[1, 0]], "lower": 0.7, "upper": 0.4}, "minimum 0.7 is above maximum 0.4; swap"),
        ({"A": [[1, 0], [0, 1]], "names": ["Eq", " eq"]}, "name 'eq' is used twice"),
    ],
)
def test_linear_constraints_refuses_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match) as err:
        LinearConstraints(**kwargs)
    assert err.value.argument == "constraints"


def test_check_assets_names_both_counts():
    c = LinearConstraints([[1.0, 0.0, 1.0]])
    c.check_assets(3)
    with pytest.raises(InputError, match="3 coefficients per row but there are 4 assets"):
        c.check_assets(4)


# ------------------------------------------------------------------------- group_constraints
def test_groups_from_one_label_column():
    c = group_constraints(
        ["Equity", "Bonds", "Equity", "Cash"], {"Equity": (0.4, 0.7), "Cash": (None, 0.1)}
    )
    np.testing.assert_array_equal(c.A, [[1, 0, 1, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(c.lower, [0.4, -np.inf])
    np.testing.assert_array_equal(c.upper, [0.7, 0.1])
    assert c.names == ("Equity", "Cash")


def test_groups_follow_the_order_of_the_limits_not_of_the_labels():
    c = group_constraints(["A", "B", "C"], {"C": (0, 1), "A": (0, 1), "B": (0, 1)})
    assert c.names == ("C", "A", "B")
    np.testing.assert_array_equal(c.A, np.eye(3)[[2, 0, 1]])


def test_groups_from_several_classifications():
    labels = [["Europe", "Tech"], ["US", "Tech"], ["Europe", "Banks"], ["Asia", None]]
    c = group_constraints(labels, {"Tech": (None, 0.5), "Europe": (0.2, None), "Asia": (0, 0.1)})
    np.testing.assert_array_equal(c.A, [[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]])


def test_a_name_in_two_columns_counts_the_asset_once():
    c = group_constraints([["Core", "Core"], ["Core", "x"]], {"Core": (0.1, 0.9)})
    np.testing.assert_array_equal(c.A, [[1, 1]])


def test_assets_without_a_group():
    c = group_constraints(["Eq", None, "", float("nan"), "  ", "Eq"], {"Eq": (0.1, 0.6)})
    np.testing.assert_array_equal(c.A, [[1, 0, 0, 0, 0, 1]])


def test_labels_compare_stripped_and_case_insensitively():
    c = group_constraints(["Equity ", " EQUITY", "equity", "Bonds"], {" eQuity": (0.1, 0.8)})
    np.testing.assert_array_equal(c.A, [[1, 1, 1, 0]])
    assert c.names == ("eQuity",)  # named as the key is written


def test_number_labels_read_as_excel_shows_them():
    c = group_constraints(np.array([1.0, 2.0, 1.0, 3.5]), {1: (0, 0.5), "3.5": (None, 0.2)})
    np.testing.assert_array_equal(c.A, [[1, 0, 1, 0], [0, 0, 0, 1]])
    assert c.names == ("1", "3.5")


def test_none_and_nan_mean_no_limit():
    c = group_constraints(
        ["A", "B", "C"], {"A": (None, None), "B": (np.nan, 0.3), "C": [0.1, None]}
    )
    np.testing.assert_array_equal(c.lower, [-np.inf, -np.inf, 0.1])
    np.testing.assert_array_equal(c.upper, [np.inf, 0.3, np.inf])


def test_no_limits_gives_no_rows():
    c = group_constraints(["A", "B"], {})
    assert c.A.shape == (0, 2)


def test_unknown_group_is_named_with_the_groups_that_exist():
    with pytest.raises(
        InputError,
        match=r"group 'Emerging' is not in the asset groups: the "
        r"groups are Equity, Bonds; check the spelling",
    ) as err:
        group_constraints(["Equity", "Bonds", "Equity"], {"Equity": (0, 1), "Emerging": (0, 1)})
    assert err.value.argument == "constraints"


def test_a_long_list_of_groups_is_cut_short():
    labels = [f"G{i}" for i in range(12)]
    with pytest.raises(InputError, match=r"groups are G0, G1, .*G7 and 4 more; check"):
        group_constraints(labels, {"X": (0, 1)})


def test_unknown_group_when_no_asset_has_one():
    with pytest.raises(InputError, match="no asset has a group; check the group labels"):
        group_constraints([None, ""], {"Equity": (0, 1)})


@pytest.mark.parametrize(
    ("limits", "match"),
    [
        ({"Eq": ("10%", 0.5)}, "group 'Eq': its minimum must be a number"),
        ({"Eq": (0.1, True)}, "group 'Eq': its maximum must be a number"),
        ({"Eq": 0.3}, r"group 'Eq': give its limits as a \(min, max\) pair"),
        ({"Eq": "0.1,0.3"}, r"group 'Eq': give its limits as a \(min, max\) pair"),
        ({"Eq": (0.1, 0.2, 0.3)}, r"give its limits as a \(min, max\) pair"),
        ({"Eq": (0.7, 0.4)}, "group 'Eq': minimum 70% is above maximum 40%; swap them"),
        ({"Eq": (0.1, 0.5), " eq ": (0.2, 0.3)}, "group 'eq' is given twice in the limits"),
        ({None: (0.1, 0.5)}, "a group in the limits has no name"),
        ({"  ": (0.1, 0.5)}, "a group in the limits has no name"),
        ({"Eq": (np.inf, None)}, r"minimum cannot be \+infinity"),
    ],
)
def test_group_limits_refused(limits, match):
    with pytest.raises(InputError, match=match):
        group_constraints(["Eq", "Bd"], limits)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ("Equity", "one label per asset, or a table with one row per asset"),
        (np.zeros((2, 2, 2), dtype=object), "one label per asset, or a table"),
        ([["a", "b"], ["c"]], "one label per asset, or a table"),
    ],
)
def test_label_shapes_refused(labels, match):
    with pytest.raises(InputError, match=match):
        group_constraints(labels, {"a": (0, 1)})


def test_label_rows_checked_against_the_assets_when_known():
    group_constraints([["a", "x"], ["b", "y"]], {"a": (0, 1)}, n_assets=2)
    with pytest.raises(
        InputError,
        match="1 row of group labels for 3 assets: the table looks "
        r"transposed \(one row per asset",
    ):
        group_constraints([["a", "b", "c"]], {"a": (0, 1)}, n_assets=3)
    with pytest.raises(InputError, match="2 rows of group labels for 3 assets: give one row"):
        group_constraints(["a", "b"], {"a": (0, 1)}, n_assets=3)


def test_wrong_label_count_is_caught_by_the_asset_check():
    c = group_constraints(["a", "b"], {"a": (0, 1)})
    with pytest.raises(InputError, match="2 coefficients per row but there are 3 assets"):
        c.check_assets(3)
