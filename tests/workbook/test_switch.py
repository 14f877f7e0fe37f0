"""The Inputs sheet's "Inputs from" switch: one cell re-targets Optimizer, Frontier and charts.

Structure (the switch cell, the used-inputs names and formulas, that Optimizer and Frontier read
nothing else), the values stored for either route, the fallback when the routes have different
numbers of assets, and recalculations (the ``formulas`` package with our functions) that flip
the cell to Prices and back and compare with the core run directly on the estimates.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from _edit import assert_same_values, set_cell, values
from test_template import NS, Book, parse_range, sample_subset

from xlfrontier.core import efficient_frontier, global_min_variance, max_sharpe, min_variance
from xlfrontier.core.estimation import cov_matrix, mean_returns
from xlfrontier.exceptions import InputError
from xlfrontier.workbook.template import (
    INPUTS_FROM,
    SAMPLE,
    SAMPLE_PRICES,
    InputsSheet,
    build_workbook,
    read_prices_csv,
)

N = SAMPLE.n_assets
PRICES = np.array(SAMPLE_PRICES.prices, dtype=float)
LOWER = np.array(SAMPLE_PRICES.min_weights, dtype=float)
UPPER = np.array(SAMPLE_PRICES.max_weights, dtype=float)
RF = SAMPLE.risk_free_rate
TOL = 1e-9

# Names of the two routes' inputs: Optimizer and Frontier must read none of them directly.
ROUTE_NAMES = {
    "labels",
    "mu",
    "vols",
    "corr",
    "cov_input",
    "cov",
    "lower",
    "upper",
    "target",
    "prices",
    "prices_labels",
    "mu_prices",
    "cov_prices",
    "vol_prices",
    "prices_lower",
    "prices_upper",
    "prices_target",
}
USED = ("labels_used", "mu_used", "vol_used", "lower_used", "upper_used", "cov_used")


def prices_problem():
    """μ and Σ estimated by the core from the sample prices, and the Prices sheet's bounds."""
    return mean_returns(PRICES, 12), cov_matrix(PRICES, 12), LOWER, UPPER


def assumptions_problem():
    mu = np.array(SAMPLE.expected_returns)
    cov = np.outer(SAMPLE.volatilities, SAMPLE.volatilities) * np.array(SAMPLE.correlations)
    return mu, cov, np.array(SAMPLE.min_weights), np.array(SAMPLE.max_weights)


def identifiers(formula: str) -> set[str]:
    text = re.sub(r'"[^"]*"', '""', formula)
    text = re.sub(r"'[^']*'!|[A-Za-z]+!", "", text)  # sheet prefixes
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", text))
    return {w for w in words if not re.fullmatch(r"\$?[A-Z]{1,3}\$?\d+", w)}


def cell_of(book: Book, name: str) -> str:
    return book.names[name].split("!")[1].replace("$", "")


# --------------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------------


def test_switch_cell_is_a_validated_list_under_the_covariance_switch(book):
    sheet, (r0, c0, r1, c1) = parse_range(book.names["inputs_from"])
    _, (cr, cc, _, _) = parse_range(book.names["cov_source"])
    assert (sheet, r1 - r0, c1 - c0) == ("Inputs", 0, 0)
    assert (r0, c0) == (cr + 1, cc)  # the next setting, same column
    assert book.cells["Inputs"][(r0, c0)]["value"] == "Assumptions"
    assert book.cells["Inputs"][(r0, c0)]["unlocked"]
    assert book.cells["Inputs"][(r0, 1)]["value"] == "Inputs from"
    rules = book.sheet_xml["Inputs"].findall("m:dataValidations/m:dataValidation", NS)
    rule = next(v for v in rules if v.get("sqref") == cell_of(book, "inputs_from"))
    assert rule.get("type") == "list"
    assert rule.find("m:formula1", NS).text == '"Assumptions,Prices"'
    assert INPUTS_FROM == ("Assumptions", "Prices")
    note = book.cells["Inputs"][(r0, 4)]["value"]
    _, (ur, _, _, _) = parse_range(book.names["labels_used"])
    assert f"Inputs in use: row {ur - 1}" in note  # 1-based row of the block's title


def test_used_formulas_choose_by_the_switch(book):
    def formula(name: str) -> str:
        sheet, (r0, c0, _, _) = parse_range(book.names[name])
        return book.cells[sheet][(r0, c0)]["formula"]

    assert formula("labels_used") == ('IF(inputs_from="Prices",TRANSPOSE(prices_labels),labels)')
    assert formula("mu_used") == (
        'IF(inputs_from="Prices",TRANSPOSE(IF(mu_prices="","",mu_prices)),IF(mu="","",mu))'
    )
    for bound in ("lower", "upper"):
        assert formula(f"{bound}_used") == (
            f'IF(inputs_from="Prices",TRANSPOSE(IF(prices_{bound}="","",prices_{bound})),'
            f'IF({bound}="","",{bound}))'
        )
    assert formula("cov_used") == 'IF(inputs_from="Prices",cov_prices,cov)'
    assert formula("target_used") == 'IF(inputs_from="Prices",prices_target,target)'
    _, (first, _, _, _) = parse_range(book.names["vol_used"])
    k = f"ROWS(B${first + 1}:B{first + 1})"
    assert formula("vol_used") == f"SQRT(INDEX(cov_used,{k},{k}))"
    for name in ("labels_used", "mu_used", "lower_used", "upper_used", "cov_used"):
        sheet, box = parse_range(book.names[name])
        cell = book.cells[sheet][box[:2]]
        assert cell["dynamic"], name  # spills in Excel 365
        assert parse_range("X!" + cell["array"])[1] == box, name


def test_optimizer_and_frontier_read_only_the_used_names(book):
    seen = set()
    for sheet, rc, cell in book.formulas():
        if sheet not in ("Optimizer", "Frontier"):
            continue
        words = identifiers(cell["formula"])
        assert not words & ROUTE_NAMES, (sheet, rc, cell["formula"])
        seen |= words
    assert {"mu_used", "cov_used", "lower_used", "upper_used", "labels_used"} <= seen
    assert {"target_used", "vol_used", "inputs_from"} <= seen
    # FRONTIER_RANGE on Inputs too.
    texts = [c["formula"] for s, _, c in book.formulas() if s == "Inputs"]
    assert "FRONTIER_RANGE(mu_used,cov_used,lower_used,upper_used)" in texts


def test_charts_read_the_frontier_table_and_the_used_inputs(book):
    allowed = [parse_range(book.names[name]) for name in USED]
    for chart in book.charts.values():
        for f in chart.iter(f"{{{NS['c']}}}f"):
            sheet, (r0, c0, r1, c1) = parse_range(f.text)
            if sheet == "Frontier":
                continue
            inside = [
                name
                for name, (s, (a0, b0, a1, b1)) in zip(USED, allowed, strict=True)
                if s == sheet and a0 <= r0 and r1 <= a1 and b0 <= c0 and c1 <= b1
            ]
            assert inside, f.text
    # The Frontier's chart points and CML read the Optimizer's results and vol_used only.
    for (row, col), cell in book.cells["Frontier"].items():
        if cell["formula"] and not cell["array"]:
            assert not identifiers(cell["formula"]) & ROUTE_NAMES, (row, col)


def test_stored_values_of_the_used_inputs_are_the_assumptions(book):
    mu, cov, lo, up = assumptions_problem()
    assert list(book.name_block("labels_used").ravel()) == list(SAMPLE.names)
    np.testing.assert_allclose(book.numbers("mu_used").ravel(), mu)
    np.testing.assert_allclose(book.numbers("lower_used").ravel(), lo)
    np.testing.assert_allclose(book.numbers("upper_used").ravel(), up)
    np.testing.assert_allclose(book.numbers("cov_used"), cov, rtol=1e-12)
    np.testing.assert_allclose(book.numbers("vol_used").ravel(), np.sqrt(np.diag(cov)))
    assert book.name_block("target_used")[0, 0] == SAMPLE.target_return
    texts = [c["value"] for c in book.cells["Optimizer"].values()] + [
        c["value"] for c in book.cells["Frontier"].values()
    ]
    assert texts.count("Inputs from: Assumptions") == 2


def test_built_on_prices_stores_the_core_results_on_the_estimates(tmp_path):
    result = build_workbook(tmp_path / "prices.xlsx", inputs_from="Prices")
    assert result.errors == []
    other = Book(tmp_path / "prices.xlsx")
    mu, cov, lo, up = prices_problem()
    assert other.name_block("inputs_from")[0, 0] == "Prices"
    assert list(other.name_block("labels_used").ravel()) == list(SAMPLE_PRICES.tickers)
    np.testing.assert_allclose(other.numbers("mu_used").ravel(), mu, rtol=1e-12)
    np.testing.assert_allclose(other.numbers("cov_used"), cov, rtol=1e-12)
    np.testing.assert_allclose(other.numbers("upper_used").ravel(), up)
    expected = {
        "gmv": global_min_variance(cov, lo, up, mu=mu),
        "maxsharpe": max_sharpe(mu, cov, RF, lo, up),
        "target": min_variance(mu, cov, SAMPLE_PRICES.target_return, lo, up),
    }
    for key, res in expected.items():
        np.testing.assert_allclose(other.numbers(f"w_{key}").ravel(), res.weights, atol=TOL)
    # Same layout either way: the switch moves nothing.
    assert other.names == Book(build_workbook(tmp_path / "a.xlsx").path).names


def test_switch_offers_only_assumptions_for_another_number_of_assets(tmp_path):
    small = sample_subset(
        [0, 3, 7, 8], min_weights=(None,) * 4, max_weights=(None, 0.5, None, None)
    )
    result = build_workbook(tmp_path / "small.xlsx", small)
    assert result.errors == []
    assert result.inputs_from_choices == ("Assumptions",)
    book = Book(tmp_path / "small.xlsx")
    rules = book.sheet_xml["Inputs"].findall("m:dataValidations/m:dataValidation", NS)
    rule = next(v for v in rules if v.get("sqref") == cell_of(book, "inputs_from"))
    assert rule.find("m:formula1", NS).text == '"Assumptions"'
    _, (r0, _, _, _) = parse_range(book.names["inputs_from"])
    note = book.cells["Inputs"][(r0, 4)]["value"]
    assert note.startswith("only Assumptions: the Prices sheet has 10 assets, this table 4")
    # The used inputs are the asset table, without a Prices branch that could not fit.
    for sheet, _, cell in book.formulas():
        if sheet == "Inputs":
            assert not identifiers(cell["formula"]) & {"inputs_from", "mu_prices", "cov_prices"}
    # Blank bounds stay blank (the functions' defaults), not 0.
    assert list(book.name_block("upper_used").ravel()) == [None, 0.5, None, None]
    with pytest.raises(InputError, match="the prices have 10 assets, the asset table 4"):
        build_workbook(tmp_path / "no.xlsx", small, inputs_from="Prices")
    # With a price history of four assets both routes are there again.
    lines = ["date,W,X,Y,Z"] + [
        f"2021-{m:02d}-28,{10 + m},{20 - 0.4 * m},{5 + m % 3},{8 + 0.1 * m * m}"
        for m in range(1, 13)
    ]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    four = read_prices_csv(tmp_path / "p.csv")
    result = build_workbook(tmp_path / "four.xlsx", small, prices=four, inputs_from="Prices")
    assert result.inputs_from_choices == INPUTS_FROM
    assert result.errors == []
    assert list(result.tables["frontier"][0, 3:]) == ["W", "X", "Y", "Z"]


def test_bad_inputs_from(tmp_path):
    with pytest.raises(InputError, match="inputs from 'Bonds': choose Assumptions or Prices"):
        build_workbook(tmp_path / "bad.xlsx", inputs_from="Bonds")


# --------------------------------------------------------------------------------------------
# Recalculation: flip the switch
# --------------------------------------------------------------------------------------------


def recalc(path: Path, out: Path):
    pytest.importorskip("formulas")
    from xlfrontier.workbook.recalc import recalc_workbook

    return recalc_workbook(path, out)


@pytest.fixture(scope="module")
def switched(built, tmp_path_factory):
    """The template with 'Inputs from' set to Prices, recalculated."""
    path, _, book = built
    work = tmp_path_factory.mktemp("switched")
    edited = set_cell(path, work / "edited.xlsx", "Inputs", cell_of(book, "inputs_from"), "Prices")
    result = recalc(edited, work / "prices.xlsx")
    return result, Book(result.path)


def test_switching_to_prices_reruns_everything_on_the_estimates(switched):
    result, book = switched
    assert result.errors == []
    assert result.resized == []  # same number of assets: no spill changes size
    mu, cov, lo, up = prices_problem()
    assert list(book.name_block("labels_used").ravel()) == list(SAMPLE_PRICES.tickers)
    np.testing.assert_allclose(book.numbers("mu_used").ravel(), mu, rtol=1e-12)
    np.testing.assert_allclose(book.numbers("cov_used"), cov, rtol=1e-12)
    np.testing.assert_allclose(book.numbers("lower_used").ravel(), lo)
    np.testing.assert_allclose(book.numbers("upper_used").ravel(), up)
    assert book.name_block("target_used")[0, 0] == SAMPLE_PRICES.target_return
    # The Optimizer's three portfolios: what the core gives directly on the estimates.
    expected = {
        "gmv": global_min_variance(cov, lo, up, mu=mu),
        "maxsharpe": max_sharpe(mu, cov, RF, lo, up),
        "target": min_variance(mu, cov, SAMPLE_PRICES.target_return, lo, up),
    }
    for key, res in expected.items():
        w = book.numbers(f"w_{key}").ravel()
        np.testing.assert_allclose(w, res.weights, atol=TOL, err_msg=key)
        assert w.max() <= UPPER.max() + 1e-12
        assert book.name_block(f"{key}_return")[0, 0] == pytest.approx(res.expected_return, abs=TOL)
        assert book.name_block(f"{key}_vol")[0, 0] == pytest.approx(res.volatility, abs=TOL)
    # Not the Assumptions answer any more.
    _, a_cov, a_lo, a_up = assumptions_problem()
    assert not np.allclose(
        book.numbers("w_gmv").ravel(), global_min_variance(a_cov, a_lo, a_up).weights, atol=0.01
    )
    # The Frontier table, headed by the tickers.
    sample = efficient_frontier(mu, cov, lo, up).sample(SAMPLE.frontier_points)
    table = book.name_block("frontier_table")
    assert list(table[0]) == ["Return", "Volatility", "Sharpe", *SAMPLE_PRICES.tickers]
    body = table[1:].astype(float)
    np.testing.assert_allclose(body[:, 0], sample.returns, atol=TOL)
    np.testing.assert_allclose(body[:, 1], sample.volatilities, atol=TOL)
    np.testing.assert_allclose(body[:, 3:], sample.weights, atol=TOL)
    # FRONTIER_RANGE on Inputs: the feasible target returns of the route in use.
    r0 = InputsSheet.RANGE_ROW
    assert book.value("Inputs", (r0 + 1, 2)) == pytest.approx(sample.returns[0], abs=TOL)
    assert book.value("Inputs", (r0 + 2, 2)) == pytest.approx(sample.returns[-1], abs=TOL)
    for sheet in ("Optimizer", "Frontier"):
        assert book.cells[sheet][(2, 1)]["value"] == "Inputs from: Prices"


def test_switched_charts_show_the_tickers_and_the_estimates(switched):
    _, book = switched
    scatter = book.charts["xl/charts/chart1.xml"]
    names = [
        ser.find("c:tx/c:strRef/c:strCache/c:pt/c:v", NS)
        for ser in scatter.findall(".//c:ser", NS)[5:]
    ]
    assert [n.text for n in names] == list(SAMPLE_PRICES.tickers)
    mu, cov, _, _ = prices_problem()
    ys = [float(ser.find("c:yVal//c:v", NS).text) for ser in scatter.findall(".//c:ser", NS)[5:]]
    xs = [float(ser.find("c:xVal//c:v", NS).text) for ser in scatter.findall(".//c:ser", NS)[5:]]
    np.testing.assert_allclose(ys, mu, rtol=1e-12)
    np.testing.assert_allclose(xs, np.sqrt(np.diag(cov)), rtol=1e-12)
    area = book.charts["xl/charts/chart2.xml"]
    legend = [
        ser.find("c:tx/c:strRef/c:strCache/c:pt/c:v", NS).text
        for ser in area.findall(".//c:ser", NS)
    ]
    assert legend == list(SAMPLE_PRICES.tickers)


def test_switched_workbook_equals_one_built_on_prices(switched, tmp_path):
    result, _ = switched
    build_workbook(tmp_path / "prices.xlsx", inputs_from="Prices")
    assert_same_values(values(tmp_path / "prices.xlsx"), values(result.path))


def test_switching_back_gives_the_assumptions_results(built, switched, tmp_path):
    path, _, book = built
    result, _ = switched
    back = set_cell(
        result.path, tmp_path / "back.xlsx", "Inputs", cell_of(book, "inputs_from"), "Assumptions"
    )
    again = recalc(back, tmp_path / "back_out.xlsx")
    assert again.errors == []
    assert_same_values(values(path), values(again.path))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (0.40, "#INFEASIBLE! r: target return 40% is above the highest attainable 22.63%"),
        (0.06, "#INFEASIBLE! r: target return 6% is below the lowest attainable"),
    ],
)
def test_prices_target_out_of_range_shows_the_tagged_message(
    built, switched, tmp_path, target, message
):
    _, _, book = built
    result, _ = switched
    edited = set_cell(
        result.path, tmp_path / "t.xlsx", "Prices", cell_of(book, "prices_target"), target
    )
    out = recalc(edited, tmp_path / "t_out.xlsx")
    other = Book(out.path)
    cell = other.name_block("w_target")[0, 0]
    assert cell.startswith(message), cell
    # Only the target portfolio and what reads it are errors; the rest still works.
    assert out.errors
    assert all(e.split("!")[0] in ("Optimizer", "Frontier") for e in out.errors), out.errors
    assert isinstance(other.name_block("w_gmv")[0, 0], float)
    assert isinstance(other.name_block("frontier_table")[1, 0], float)
