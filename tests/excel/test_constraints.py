"""The constraints table of the worksheet functions, and GROUP_CONSTRAINTS (issue 11).

Arguments are Excel-shaped, as in ``test_udfs.py``: tuples of row tuples, ``None`` for a blank
cell, error values as COM delivers them. The parser (:func:`xlfrontier.excel._convert.
as_constraints`) is tested directly for what it builds and through ``XLPython().CallUDF`` for
the cell text of every refusal; the solves are checked against scipy (SLSQP), not against the
core.
"""

from __future__ import annotations

import numpy as np
import pytest
from _udf_harness import UDF_MODULE, call_udf
from scipy.optimize import minimize

import xlfrontier
from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.excel import _convert as cv
from xlfrontier.excel.limits import MAX_CONSTRAINTS
from xlfrontier.exceptions import InputError

MISSING = -2147352572
NA = -2146826246  # #N/A
MU = ((0.10,), (0.20,), (0.15,))
COV = ((0.04, 0.006, 0.01), (0.006, 0.09, 0.012), (0.01, 0.012, 0.0625))
MU_NP = np.array([0.10, 0.20, 0.15])
COV_NP = np.array(COV)


def assert_message(out, tag, *fragments):
    assert isinstance(out, str), out
    assert out.startswith(tag + " "), out
    assert len(out) <= 255, out
    assert "\n" not in out, out
    assert "Traceback" not in out, out
    for f in fragments:
        assert f in out, (f, out)


def minvar(*constraints):
    """MINVAR_WEIGHTS(MU, COV, 15%) with the given constraints argument, through CallUDF."""
    return call_udf("MINVAR_WEIGHTS", MU, COV, 0.15, MISSING, MISSING, *constraints)


# -- the parser ------------------------------------------------------------------------------


def test_a_table_with_header_blanks_and_spare_rows():
    table = (
        ("Name", "Min", "Max", "Bonds", "Equity", "EM"),
        ("Equity", 0.4, 0.7, None, 1.0, 1.0),
        ("Beta", "none", 1.1, 0.2, 1.0, 1.3),
        (None, 0.05, None, 1.0, None, None),
        (None, None, None, None, None, None),  # spare rows selected below the table
        ("", " ", None, None, None, None),
    )
    c = cv.as_constraints(table, 3)
    assert isinstance(c, LinearConstraints)
    assert c.names == ("Equity", "Beta", "row 4")  # a blank name: the row's place in the range
    np.testing.assert_array_equal(c.A, [[0, 1, 1], [0.2, 1, 1.3], [1, 0, 0]])
    np.testing.assert_array_equal(c.lower, [0.4, -np.inf, 0.05])
    np.testing.assert_array_equal(c.upper, [0.7, 1.1, np.inf])


def test_no_table_means_no_constraints():
    blank_rows = ((None,) * 6, ("",) * 6)
    header_only = (("Name", "Min", "Max", "a", "b", "c"), (None,) * 6)
    for value in (None, MISSING, "", blank_rows, header_only):
        assert cv.as_constraints(value, 3) is None, value
    # A blank range of any width (nothing was typed yet) is no constraints, not a shape error.
    assert cv.as_constraints(((None, None),), 3) is None


def test_an_omitted_or_blank_constraints_argument_changes_nothing():
    plain = call_udf("MINVAR_WEIGHTS", MU, COV, 0.15)
    assert minvar(MISSING) == minvar(None) == minvar(((None,) * 6,) * 3) == plain
    assert call_udf("PORTFOLIO_EXPLAIN", MU, COV, 0.15, MISSING, MISSING, MISSING) == call_udf(
        "PORTFOLIO_EXPLAIN", MU, COV, 0.15
    )


def test_python_values_and_a_ready_made_constraints_object():
    c = cv.as_constraints([["Equity", 0.4, 0.7, 0, 1, 1]], 3)
    assert c.names == ("Equity",)
    np.testing.assert_array_equal(
        cv.as_constraints(np.array([[0.0, 0.1, 0.9, 1, 1, 0]]), 3).A, [[1, 1, 0]]
    )
    assert cv.as_constraints(c, 3) is c
    with pytest.raises(InputError, match="constraints have 3 coefficients per row but there are 4"):
        cv.as_constraints(c, 4)


def test_a_number_typed_as_a_name_reads_as_shown():
    c = cv.as_constraints(((2020.0, None, 0.5, 1.0, None, None),), 3)
    assert c.names == ("2020",)


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        (
            (("Equity", 0.4, 0.7, 1.0, 1.0),),
            ["constraints has 5 columns but 6 are expected for 3 assets", "Name, Min, Max"],
        ),
        ((("Equity",),), ["constraints has 1 column but 6 are expected for 3 assets"]),
        ("Equity", ["constraints has 1 column but 6 are expected"]),
        (
            # Transposed: one column per constraint, 3 + n rows.
            (("Equity", "Beta"), (0.4, None), (0.7, 1.1), (0.0, 0.2), (1.0, 1.0), (1.0, 1.3)),
            ["constraints has 2 columns but 6 are expected", "it looks transposed"],
        ),
        (
            (("Equity", 0.4, "abc", 1.0, 1.0, None),),
            ["constraints row 'Equity': Max 'abc' is not a number", "leave it blank for no limit"],
        ),
        (
            (("Equity", NA, 0.7, 1.0, 1.0, None),),
            ["constraints row 'Equity': Min (the error #N/A) is not a number"],
        ),
        (
            (("Equity", True, 0.7, 1.0, 1.0, None),),
            ["constraints row 'Equity': Min (the logical value TRUE) is not a number"],
        ),
        (
            # "short" means no lower limit: it is refused as a maximum, like for bounds.
            (("Equity", None, "short", 1.0, 1.0, None),),
            ["constraints row 'Equity': Max 'short' is not a number"],
        ),
        (
            # Numbers stored as text are data, not a header row.
            (("Equity", "40%", "70%", 1.0, 1.0, None),),
            ["constraints row 'Equity': Min '40%' is not a number"],
        ),
        (
            (("Equity", 0.4, 0.7, 1.0, "x", None),),
            ["constraints row 'Equity': asset 2 (column 5) 'x' is not a number", "blank = 0"],
        ),
        (
            (("Name", "Min", "Max", "a", "b", "c"), (None, 0.1, 0.7, 1.0, NA, None)),
            ["constraints row 2: asset 2 (column 5) (the error #N/A) is not a number"],
        ),
        (
            (("Equity", 0.4, 0.7, 1.0, 1e11, None),),
            ["constraints row 'Equity': asset 2 (column 5) holds 1e+11", "check the units"],
        ),
        (
            (("Equity", 0.4, 1e11, 1.0, 1.0, None),),
            ["constraints row 'Equity': Max 1e+11 is too large; leave it blank for no limit"],
        ),
        (
            (("Equity", 0.7, 0.4, 1.0, 1.0, None),),
            ["constraints row 'Equity': Min 0.7 is above Max 0.4; swap them"],
        ),
        (
            (("Equity", 0.4, 0.7, 1.0, 1.0, None), ("equity ", None, 0.5, 1.0, None, None)),
            ["constraints rows 1 and 2 are both named 'equity'", "give each row its own name"],
        ),
        (
            ((NA, 0.4, 0.7, 1.0, 1.0, None),),
            ["constraints row 1: its Name is the error #N/A; fix that cell"],
        ),
    ],
)
def test_every_refusal_is_one_message_naming_the_row(table, fragments):
    assert_message(minvar(table), "#INPUT!", *fragments)


def test_refusals_are_input_errors_on_the_constraints_argument():
    with pytest.raises(InputError, match=r"constraints row 'Equity': Max 'abc' is not a number"):
        cv.as_constraints((("Equity", 0.4, "abc", 1.0, 1.0, None),), 3)
    with pytest.raises(InputError, match=r"constraints has 5 columns but 6 are expected") as err:
        cv.as_constraints((("Equity", 0.4, 0.7, 1.0, 1.0),), 3)
    assert err.value.argument == "constraints"


def test_too_many_rows_are_refused():
    table = tuple((f"c{k}", None, 1.0, 1.0) for k in range(MAX_CONSTRAINTS + 1))
    with pytest.raises(
        InputError, match=f"constraints has 1,001 rows, more than the {MAX_CONSTRAINTS:,}"
    ):
        cv.as_constraints(table, 1)


# -- percentages typed as whole numbers ------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        (("Equity", None, 60.0, 1.0, 1.0, None), "Max 60 is 6000% of the portfolio"),
        (("Equity", 40.0, None, 1.0, 1.0, None), "Min 40 is 4000% of the portfolio"),
        ((None, None, 25.0, 1.0, None, None), "constraints row 1: Max 25 is 2500%"),
    ],
)
def test_group_limits_typed_as_whole_percentages_get_advice(row, fragment):
    out = minvar((row,))
    assert_message(out, "#INPUT!", fragment, "group limits are decimals")
    assert_message(minvar((row,)), "#INPUT!", f"type {max(x for x in row[1:3] if x) / 100:g}")
    c = cv.as_constraints((row,), 3)
    with pytest.raises(InputError, match="group limits are decimals"):
        cv.check_percent_constraints(c, np.zeros(3))


def test_percent_check_leaves_exposures_levered_groups_and_fractions_alone():
    beta = cv.as_constraints((("Duration", None, 6.0, 2.0, 7.5, 4.0),), 3)
    cv.check_percent_constraints(beta, np.zeros(3))  # an exposure, not a sum of weights
    group = cv.as_constraints((("Equity", None, 60.0, 1.0, 1.0, None),), 3)
    cv.check_percent_constraints(group, np.full(3, -np.inf))  # short selling: 60x is meant
    fine = cv.as_constraints((("Equity", 0.4, 1.5, 1.0, 1.0, None),), 3)
    cv.check_percent_constraints(fine, np.zeros(3))  # at most 100% anyway: merely loose
    cv.check_percent_constraints(None, np.zeros(3))


# -- GROUP_CONSTRAINTS -----------------------------------------------------------------------


def test_group_constraints_one_classification():
    groups = (("Bonds",), ("Equity",), ("Equity",))
    limits = (("Group", "Min", "Max"), ("Equity", 0.4, 0.7), ("Bonds", None, 0.5), (None,) * 3)
    out = call_udf("GROUP_CONSTRAINTS", groups, limits)
    assert out == [["Equity", 0.4, 0.7, 0.0, 1.0, 1.0], ["Bonds", "", 0.5, 1.0, 0.0, 0.0]]
    # A single row of labels is the same classification.
    assert call_udf("GROUP_CONSTRAINTS", (("Bonds", "Equity", "Equity"),), limits) == out
    # The spilled table is a constraints argument as it stands (blank limits = no limit).
    c = cv.as_constraints(tuple(tuple(r) for r in out), 3)
    np.testing.assert_array_equal(c.lower, [0.4, -np.inf])
    np.testing.assert_array_equal(c.upper, [0.7, 0.5])


def test_group_constraints_two_classifications_and_blank_labels():
    groups = (("Equity", "US"), ("Equity", None), ("Bonds", "US"), (None, "EU"))
    limits = (("Equity", 0.3, None), ("US", None, 0.6), ("EU", 0.05, 0.2))
    out = call_udf("GROUP_CONSTRAINTS", groups, limits)
    assert out == [
        ["Equity", 0.3, "", 1.0, 1.0, 0.0, 0.0],
        ["US", "", 0.6, 1.0, 0.0, 1.0, 0.0],
        ["EU", 0.05, 0.2, 0.0, 0.0, 0.0, 1.0],
    ]


def test_group_constraints_refusals():
    groups = (("Equity",), ("Bonds",), ("Bonds",))
    assert_message(
        call_udf("GROUP_CONSTRAINTS", groups, (("Cash", 0.1, 0.2),)),
        "#INPUT!",
        "limits: group 'Cash' is not in the asset groups",
        "Equity, Bonds",
    )
    assert_message(
        call_udf("GROUP_CONSTRAINTS", groups, (("Cash", 0.1),)),
        "#INPUT!",
        "limits has 2 columns but 3 are expected: Group, Min, Max",
    )
    assert_message(
        call_udf("GROUP_CONSTRAINTS", groups, (("Bonds", 0.1, 0.5), ("bonds", None, 0.4))),
        "#INPUT!",
        "limits rows 1 and 2 are both for 'bonds'",
    )
    assert_message(
        call_udf("GROUP_CONSTRAINTS", groups, ((None, 0.1, 0.5),)),
        "#INPUT!",
        "limits row 1 has limits but no group name",
    )
    assert_message(
        call_udf("GROUP_CONSTRAINTS", groups, (("Bonds", "lots", 0.5),)),
        "#INPUT!",
        "limits row 'Bonds': Min 'lots' is not a number",
    )
    assert_message(
        call_udf("GROUP_CONSTRAINTS", groups, (("Bonds", 0.6, 0.5),)),
        "#INPUT!",
        "limits row 'Bonds': Min 0.6 is above Max 0.5; swap them",
    )
    assert_message(
        call_udf("GROUP_CONSTRAINTS", (("Equity",), (NA,)), (("Equity", 0.1, 0.5),)),
        "#INPUT!",
        "groups has the error #N/A in row 2",
    )
    assert_message(
        call_udf("GROUP_CONSTRAINTS", groups, ((None,) * 3,)),
        "#INPUT!",
        "limits has no group",
    )
    assert_message(call_udf("GROUP_CONSTRAINTS", None, None), "#INPUT!", "groups is missing")
    assert_message(call_udf("GROUP_CONSTRAINTS", groups, None), "#INPUT!", "limits is missing")


def test_group_label_and_limit_parsers():
    assert cv.as_group_labels((("a", "b", 3.0),)) == [["a"], ["b"], ["3"]]
    assert cv.as_group_labels((("a", None), (" b ", "x"))) == [["a", None], ["b", "x"]]
    assert cv.as_group_limits((("Group", "Min", "Max"), ("a", None, 0.5), ("b", "none", None))) == {
        "a": (None, 0.5),
        "b": (None, None),
    }
    with pytest.raises(InputError, match="groups has the error #N/A in row 1, column 2"):
        cv.as_group_labels((("a", NA), ("b", "c")))
    with pytest.raises(InputError, match="groups has 1,001 assets, more than the 1,000"):
        cv.as_group_labels(tuple(("a",) for _ in range(1001)))


# -- end to end -----------------------------------------------------------------------------


def slsqp_min_variance(mu, cov, r, a, lo, hi):
    """Independent reference: minimum variance at return r, long only, lo ≤ A w ≤ hi."""
    n = mu.size
    cons = [
        {"type": "eq", "fun": lambda w: w.sum() - 1.0},
        {"type": "eq", "fun": lambda w: mu @ w - r},
    ]
    for j in range(a.shape[0]):
        if np.isfinite(lo[j]):
            cons.append({"type": "ineq", "fun": lambda w, j=j: a[j] @ w - lo[j]})
        if np.isfinite(hi[j]):
            cons.append({"type": "ineq", "fun": lambda w, j=j: hi[j] - a[j] @ w})
    res = minimize(
        lambda w: w @ cov @ w,
        np.full(n, 1.0 / n),
        jac=lambda w: 2 * cov @ w,
        method="SLSQP",
        bounds=[(0.0, None)] * n,
        constraints=cons,
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert res.success, res.message
    return res.x


EQUITY_CAP = (
    ("Name", "Min", "Max", "Bonds", "Growth", "Value"),
    ("Risky", None, 0.55, None, 1.0, 1.0),
)


def test_minvar_with_a_group_limit_matches_an_independent_solver():
    out = minvar(EQUITY_CAP)
    w = np.array(out, dtype=float).ravel()
    ref = slsqp_min_variance(MU_NP, COV_NP, 0.15, np.array([[0, 1.0, 1.0]]), [-np.inf], [0.55])
    np.testing.assert_allclose(w, ref, atol=1e-7)
    assert w[1] + w[2] <= 0.55 + 1e-12
    # Without the limit the risky pair holds more: the limit binds.
    free = np.array(minvar(), dtype=float).ravel()
    assert free[1] + free[2] > 0.55


def test_every_optimisation_function_takes_the_constraints_table():
    for name, args in [
        ("GMV_WEIGHTS", (COV, MISSING, MISSING)),
        ("MAXSHARPE_WEIGHTS", (MU, COV, 0.02, MISSING, MISSING)),
        ("TARGETVOL_WEIGHTS", (MU, COV, 0.25, MISSING, MISSING)),
        ("UTILITY_WEIGHTS", (MU, COV, 3.0, MISSING, MISSING)),
    ]:
        w = np.array(call_udf(name, *args, EQUITY_CAP), dtype=float).ravel()
        assert w.sum() == pytest.approx(1.0, abs=1e-12), name
        assert w[1] + w[2] <= 0.55 + 1e-12, name
    table = call_udf(
        "EFFICIENT_FRONTIER", MU, COV, 5, MISSING, MISSING, MISSING, MISSING, EQUITY_CAP
    )
    for row in table[1:]:
        assert row[4] + row[5] <= 0.55 + 1e-12
    corners = call_udf("FRONTIER_CORNERS", MU, COV, MISSING, MISSING, MISSING, EQUITY_CAP)
    assert all(r[4] + r[5] <= 0.55 + 1e-12 for r in corners[1:])
    rng = call_udf("FRONTIER_RANGE", MU, COV, MISSING, MISSING, EQUITY_CAP)
    top = rng[2][1]
    # The best return with at most 55% in the risky pair: 55% in the 20% asset, 45% in bonds.
    assert top == pytest.approx(0.55 * 0.20 + 0.45 * 0.10, abs=1e-12)


def test_portfolio_explain_lists_each_constraint_with_its_shadow_price():
    out = call_udf("PORTFOLIO_EXPLAIN", MU, COV, 0.15, MISSING, MISSING, EQUITY_CAP)
    plain = call_udf("PORTFOLIO_EXPLAIN", MU, COV, 0.15, MISSING, MISSING)
    assert len({len(r) for r in out}) == 1
    assert len(out) == len(plain) + 3  # a blank row, a header, one row per constraint
    assert [r[0] for r in out[: len(plain)]] == [r[0] for r in plain]  # the same rows first
    assert out[len(plain)] == [""] * 6
    assert out[len(plain) + 1] == ["Constraint", "Value", "Min", "Max", "Binding", "Shadow price"]
    name, value, lo, hi, binds, price = out[-1]
    assert (name, value, lo, hi, binds) == ("Risky", 0.55, "none", 0.55, "at max")
    assert price < 0  # raising the maximum lowers the variance
    # The shadow price is d variance / d Max: check by finite differences.
    h = 1e-5
    var = []
    for cap in (0.55 - h, 0.55 + h):
        table = (EQUITY_CAP[0], ("Risky", None, cap, None, 1.0, 1.0))
        var.append(call_udf("PORTFOLIO_EXPLAIN", MU, COV, 0.15, MISSING, MISSING, table)[5][1])
    assert price == pytest.approx((var[1] - var[0]) / (2 * h), rel=1e-5)


def test_limits_that_cannot_hold_name_the_constraint_row():
    table = (("Risky", 0.9, None, None, 1.0, 1.0), ("Bonds", 0.3, None, 1.0, None, None))
    out = minvar(table)
    assert_message(out, "#INFEASIBLE!")
    assert "Risky" in out or "Bonds" in out, out


def test_group_constraints_feed_the_optimisers():
    groups = (("Bonds",), ("Equity",), ("Equity",))
    row = call_udf("GROUP_CONSTRAINTS", groups, (("Equity", None, 0.55),))
    assert row == ["Equity", "", 0.55, 0.0, 1.0, 1.0]  # one row: CallUDF hands Excel a flat list
    assert minvar((tuple(row),)) == minvar(EQUITY_CAP)


def test_an_answer_that_breaks_a_limit_never_reaches_the_cell(monkeypatch):
    """The boundary's own check covers the constraint rows, as it does budget and bounds."""
    unconstrained = xlfrontier.min_variance(MU_NP, COV_NP, 0.15)
    assert unconstrained.weights[1:].sum() > 0.55  # it breaks the cap below
    monkeypatch.setattr(UDF_MODULE, "min_variance", lambda *a, **k: unconstrained)
    assert_message(
        minvar(EQUITY_CAP),
        "#BUG!",
        "solver failure: the optimiser's answer failed the budget/bounds/constraints check",
    )
    assert minvar() == call_udf("MINVAR_WEIGHTS", MU, COV, 0.15)  # no table: no row check


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("GMV_WEIGHTS", (((0.0,) * 3,) * 3,)),
        ("MAXSHARPE_WEIGHTS", (((0.0,), (0.0,), (0.25,)), ((0.0,) * 3,) * 3, MISSING)),
    ],
)
def test_riskless_assets_with_a_constraint_row_are_answered(name, first):
    # Found by test_fuzz_extreme_magnitudes: the engine's start raised SolverError here.
    out = call_udf(name, *first, "none", MISSING, (("Equity", None, 0.5, 0.0, 0.0, 1.0),))
    assert not (isinstance(out, str) and out.startswith("#BUG!")), out
