"""The Prices sheet: a real price sample, μ and Σ estimated from it, the route's own bounds.

Checks the embedded sample against the daily data in ``tests/data``, the sheet's structure
(names, inputs, validation, formulas), the stored values against the core and against
pandas, a recalculation (the ``formulas`` package with our functions) after switching the
covariance method to Ledoit-Wolf, and reading a price history from CSV. The switch that runs
the Optimizer and Frontier on these estimates is tested in ``test_switch.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _edit import set_cell
from test_template import NS, Book, parse_range

from xlfrontier.core import efficient_frontier
from xlfrontier.core.estimation import corr_matrix, cov_matrix, mean_returns
from xlfrontier.exceptions import InputError
from xlfrontier.workbook import sample_prices
from xlfrontier.workbook.template import (
    SAMPLE,
    SAMPLE_PRICES,
    PricesSheet,
    build_workbook,
    read_prices_csv,
)

REPO = Path(__file__).resolve().parents[2]
DAILY = REPO / "tests" / "data" / "sp500_20_prices.csv.gz"

TICKERS = sample_prices.TICKERS
N = len(TICKERS)
DATES = [d for d, _ in sample_prices.MONTH_END_PRICES]
PRICES = np.array([p for _, p in sample_prices.MONTH_END_PRICES], dtype=float)
LOWER = np.array(SAMPLE_PRICES.min_weights, dtype=float)
UPPER = np.array(SAMPLE_PRICES.max_weights, dtype=float)


def frame() -> pd.DataFrame:
    return pd.DataFrame(PRICES, index=pd.to_datetime(DATES), columns=list(TICKERS))


# --------------------------------------------------------------------------------------------
# The embedded sample
# --------------------------------------------------------------------------------------------


def test_sample_is_small_and_clean():
    assert N == SAMPLE.n_assets == 10  # as many as the asset classes: the switch works
    assert 110 <= len(DATES) <= 130
    assert sorted(DATES) == DATES
    assert len(set(DATES)) == len(DATES)
    assert np.isfinite(PRICES).all()
    assert (PRICES > 0).all()
    # One date per month, ten years.
    months = [d[:7] for d in DATES]
    assert len(set(months)) == len(months)
    assert months[0] == "2012-11"
    assert months[-1] == "2022-11"


def test_sample_equals_the_daily_data():
    daily = pd.read_csv(DAILY, index_col=0, parse_dates=True)[list(TICKERS)]
    monthly = daily.groupby(daily.index.to_period("M")).tail(1).loc["2012-11":"2022-11"]
    assert [f"{d:%Y-%m-%d}" for d in monthly.index] == DATES
    np.testing.assert_array_equal(monthly.to_numpy(), PRICES)


# --------------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------------


def test_prices_sheet_names(book):
    assert book.sheet_names[-1] == "Prices"
    t = len(DATES)
    expected = {
        "prices": (t, N),
        "prices_dates": (t, 1),
        "prices_labels": (1, N),
        "prices_periods": (1, 1),
        "prices_mean_method": (1, 1),
        "prices_cov_method": (1, 1),
        "prices_lower": (1, N),
        "prices_upper": (1, N),
        "prices_target": (1, 1),
        "mu_prices": (1, N),
        "vol_prices": (1, N),
        "cov_prices": (N, N),
        "corr_prices": (N, N),
    }
    for name, (rows, cols) in expected.items():
        assert name in book.names, name
        sheet, (r0, c0, r1, c1) = parse_range(book.names[name])
        assert (sheet, r1 - r0 + 1, c1 - c0 + 1) == ("Prices", rows, cols), name
    # The route's own portfolios and frontier are gone: the main sheets run on the estimates.
    prices_names = {k for k, v in book.names.items() if v.startswith("Prices!")}
    assert prices_names == set(expected)


def test_prices_inputs_hold_the_sample_and_are_unlocked(book):
    np.testing.assert_array_equal(book.numbers("prices"), PRICES)
    assert list(book.name_block("prices_labels").ravel()) == list(TICKERS)
    serials = book.numbers("prices_dates").ravel()
    excel_epoch = pd.Timestamp("1899-12-30")
    got = [f"{excel_epoch + pd.Timedelta(days=int(s)):%Y-%m-%d}" for s in serials]
    assert got == DATES
    assert book.name_block("prices_periods")[0, 0] == 12
    assert book.name_block("prices_mean_method")[0, 0] == "arithmetic"
    assert book.name_block("prices_cov_method")[0, 0] == "sample"
    np.testing.assert_array_equal(book.numbers("prices_lower").ravel(), LOWER)
    np.testing.assert_array_equal(book.numbers("prices_upper").ravel(), UPPER)
    assert (LOWER == 0).all()
    assert (UPPER == 0.25).all()
    assert book.name_block("prices_target")[0, 0] == SAMPLE_PRICES.target_return == 0.18
    for name in (
        "prices",
        "prices_dates",
        "prices_labels",
        "prices_periods",
        "prices_mean_method",
        "prices_cov_method",
        "prices_lower",
        "prices_upper",
        "prices_target",
    ):
        _, (r0, c0, r1, c1) = parse_range(book.names[name])
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                assert book.cells["Prices"][(r, c)]["unlocked"], (name, r, c)
    assert book.sheet_xml["Prices"].find("m:sheetProtection", NS) is not None


def test_method_cells_are_validated_lists(book):
    validations = book.sheet_xml["Prices"].findall("m:dataValidations/m:dataValidation", NS)
    by_cell = {v.get("sqref").split(":")[0]: v for v in validations}
    for name, options in (
        ("prices_cov_method", PricesSheet.COV_METHODS),
        ("prices_mean_method", PricesSheet.MEAN_METHODS),
    ):
        cell = book.names[name].split("!")[1].replace("$", "")
        rule = by_cell[cell]
        assert rule.get("type") == "list"
        listed = rule.find("m:formula1", NS).text.strip('"').split(",")
        assert listed == list(options)
        assert "ledoit_wolf" in PricesSheet.COV_METHODS
    for name in ("prices_periods", "prices_target"):
        cell = book.names[name].split("!")[1].replace("$", "")
        assert cell in by_cell, name
    boxes = [parse_range("X!" + ref)[1] for v in validations for ref in v.get("sqref").split()]
    for name in ("prices_lower", "prices_upper"):
        _, (r0, c0, r1, c1) = parse_range(book.names[name])
        assert any(b[0] <= r0 and r1 <= b[2] and b[1] <= c0 and c1 <= b[3] for b in boxes), name
    prices_first = book.names["prices"].split("!")[1].split(":")[0].replace("$", "")
    assert prices_first in by_cell


def test_prices_formula_texts(book):
    texts = {cell["formula"] for s, _, cell in book.formulas() if s == "Prices"}
    assert "MEAN_RETURNS(prices,prices_periods,prices_mean_method)" in texts
    assert "COV_MATRIX(prices,prices_periods,prices_cov_method)" in texts
    assert "CORR_MATRIX(prices,prices_cov_method)" in texts
    assert "FRONTIER_RANGE(mu_prices,cov_prices,prices_lower,prices_upper)" in texts
    assert "SQRT(INDEX(cov_prices,1,1))" in texts
    # No optimisation on this sheet any more: the Optimizer and Frontier do it on the switch.
    optimisers = ("GMV_WEIGHTS", "MAXSHARPE_WEIGHTS", "MINVAR_WEIGHTS", "EFFICIENT_FRONTIER")
    assert not [t for t in texts if any(f in t for f in optimisers)]
    # The Prices route is self-contained: besides rf it reads nothing of the Inputs sheet.
    inputs_names = {
        "mu",
        "cov",
        "vols",
        "corr",
        "lower",
        "upper",
        "labels",
        "target",
        "points",
        "inputs_from",
    }
    for text in texts:
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r'"[^"]*"', "", text)))
        assert not words & inputs_names, text
        assert "Inputs!" not in text


def test_attribution_is_visible(book):
    for sheet in ("Prices", "Start"):
        texts = " ".join(
            str(c["value"]) for c in book.cells[sheet].values() if isinstance(c["value"], str)
        )
        assert "skfolio" in texts, sheet
        assert "BSD-3-Clause" in texts, sheet
    start = " ".join(
        str(c["value"]) for c in book.cells["Start"].values() if isinstance(c["value"], str)
    )
    assert "Prices: " in start  # the link in "Go to"
    assert "MEAN_RETURNS" in start


# --------------------------------------------------------------------------------------------
# Stored values
# --------------------------------------------------------------------------------------------


def test_no_errors(built):
    assert built[1].errors == []


def test_stored_estimates_equal_the_core_and_pandas(book):
    mu = mean_returns(PRICES, 12)
    cov = cov_matrix(PRICES, 12)
    np.testing.assert_allclose(book.numbers("mu_prices").ravel(), mu, rtol=1e-12)
    np.testing.assert_allclose(book.numbers("cov_prices"), cov, rtol=1e-12)
    np.testing.assert_allclose(book.numbers("corr_prices"), corr_matrix(PRICES), rtol=1e-12)
    np.testing.assert_allclose(
        book.numbers("vol_prices").ravel(), np.sqrt(np.diag(cov)), rtol=1e-12
    )
    # Independently: pandas, simple monthly returns, annualised by 12.
    returns = frame().pct_change().iloc[1:]
    np.testing.assert_allclose(book.numbers("mu_prices").ravel(), returns.mean() * 12, rtol=1e-10)
    np.testing.assert_allclose(book.numbers("cov_prices"), returns.cov() * 12, rtol=1e-10)
    np.testing.assert_allclose(book.numbers("corr_prices"), returns.corr(), rtol=1e-10)
    # Plausible for large US stocks, 2012-2022.
    vols = book.numbers("vol_prices").ravel()
    assert ((vols > 0.10) & (vols < 0.40)).all()


def test_stored_feasible_range_equals_the_core(built):
    mu, cov = mean_returns(PRICES, 12), cov_matrix(PRICES, 12)
    ends = efficient_frontier(mu, cov, LOWER, UPPER).sample(2)
    table = built[1].tables["frontier_range_prices"]
    assert table[1, 1] == pytest.approx(ends.returns[0], abs=1e-12)
    assert table[2, 1] == pytest.approx(ends.returns[-1], abs=1e-12)
    # The default target of the route lies inside it (the sample's 6% would not).
    assert table[1, 1] < SAMPLE_PRICES.target_return < table[2, 1]
    assert not table[1, 1] < SAMPLE.target_return < table[2, 1]


def test_static_prices_sheet(tmp_path):
    build_workbook(tmp_path / "static.xlsx", static=True)
    book = Book(tmp_path / "static.xlsx")
    assert [c for s, _, c in book.formulas() if s == "Prices"] == []
    np.testing.assert_allclose(book.numbers("cov_prices"), cov_matrix(PRICES, 12), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Recalculation with the method switched
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["sample", "ledoit_wolf", "ledoit_wolf_identity"])
def test_recalc_with_the_chosen_covariance_method(built, tmp_path, method):
    pytest.importorskip("formulas")
    openpyxl = pytest.importorskip("openpyxl")
    from xlfrontier.workbook.recalc import recalc_workbook

    path, _, book = built
    cell = book.names["prices_cov_method"].split("!")[1].replace("$", "")
    edited = set_cell(path, tmp_path / "edited.xlsx", "Prices", cell, method)
    result = recalc_workbook(edited, tmp_path / "out.xlsx")
    assert result.errors == []
    wb = openpyxl.load_workbook(result.path, data_only=True)

    def block(name: str) -> np.ndarray:
        sheet, ref = wb.defined_names[name].attr_text.split("!")
        return np.array(
            [[c.value for c in row] for row in wb[sheet][ref.replace("$", "")]], dtype=float
        )

    cov = cov_matrix(PRICES, 12, method)
    mu = mean_returns(PRICES, 12)
    np.testing.assert_allclose(block("cov_prices"), cov, rtol=1e-10)
    np.testing.assert_allclose(block("corr_prices"), corr_matrix(PRICES, method), rtol=1e-10)
    np.testing.assert_allclose(block("vol_prices").ravel(), np.sqrt(np.diag(cov)), rtol=1e-10)
    # FRONTIER_RANGE of the route follows the method: its rows are labelled in column L+.
    ends = efficient_frontier(mu, cov, LOWER, UPPER).sample(2)
    ws = wb["Prices"]
    row_of = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for label, want in (
        ("Lowest (minimum variance)", ends.returns[0]),
        ("Highest", ends.returns[-1]),
    ):
        cell = row_of[label]
        got = ws.cell(row=cell.row, column=cell.column + 1).value
        assert got == pytest.approx(want, abs=1e-10), label
    if method == "sample":  # the round trip reproduces every stored value of the sheet
        stored = openpyxl.load_workbook(path, data_only=True)["Prices"]
        for row in wb["Prices"].iter_rows():
            for c in row:
                want = stored[c.coordinate].value
                if isinstance(want, float):
                    assert c.value == pytest.approx(want, rel=1e-9, abs=1e-12), c.coordinate
                else:
                    assert c.value == want, c.coordinate
    else:  # shrinkage changes the matrix
        assert not np.allclose(cov, cov_matrix(PRICES, 12))


# --------------------------------------------------------------------------------------------
# A price history from CSV (xlfrontier run --prices)
# --------------------------------------------------------------------------------------------


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_prices_csv_from_the_shared_sample(tmp_path):
    monthly = frame().iloc[:, :4]
    monthly.index = monthly.index.strftime("%Y-%m-%d")
    monthly.index.name = "Date"
    path = tmp_path / "prices.csv"
    monthly.to_csv(path)
    history = read_prices_csv(path)
    assert history.tickers == TICKERS[:4]
    assert list(history.dates) == DATES
    np.testing.assert_array_equal(np.array(history.prices, dtype=float), PRICES[:, :4])
    assert history.periods_per_year == 12  # month-end dates
    assert history.min_weights == history.max_weights == (None,) * 4
    assert history.source == "Prices read from prices.csv."
    # The default target is the middle of the feasible range, rounded to 0.5%.
    ends = efficient_frontier(mean_returns(PRICES[:, :4], 12), cov_matrix(PRICES[:, :4], 12))
    low, high = ends.sample(2).returns
    assert low <= history.target_return <= high
    assert history.target_return == pytest.approx((low + high) / 2, abs=0.0025 + 1e-12)
    assert round(history.target_return * 200, 9).is_integer()


def test_read_prices_csv_blanks_times_and_frequency(tmp_path):
    path = write_csv(
        tmp_path / "daily.csv",
        "date,A,B\n"
        "2024-01-02 00:00:00,10,20\n"
        "2024-01-03,,21\n"
        "2024-01-04,10.5,20.5\n"
        "2024-01-05,10.4,\n"
        "2024-01-08,10.6,20.7\n",
    )
    history = read_prices_csv(path)
    assert history.dates[0] == "2024-01-02"
    assert history.prices[1] == (None, 21.0)
    assert history.prices[3] == (10.4, None)
    assert history.periods_per_year == 252
    weekly = write_csv(
        tmp_path / "weekly.csv",
        "date,A,B\n2024-01-05,1,2\n2024-01-12,1.1,2.1\n2024-01-19,1.2,2\n2024-01-26,1.1,2.2\n",
    )
    assert read_prices_csv(weekly).periods_per_year == 52


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("date,A,B\n2024-01-31,1,2\n", "at least 3 rows"),
        ("when,A,B\n2024-01-31,1,2\n2024-02-29,1,2\n2024-03-29,1,2\n", "header must be date"),
        ("date,A\n2024-01-31,1\n2024-02-29,1\n2024-03-29,1\n", "header must be date"),
        ("date,A,A\n2024-01-31,1,2\n2024-02-29,1,2\n2024-03-29,1,2\n", "unique"),
        ("date,A,B\n31/01/2024,1,2\n2024-02-29,1,2\n2024-03-29,1,2\n", "row 2: .*YYYY-MM-DD"),
        ("date,A,B\n2024-01-31,1,x\n2024-02-29,1,2\n2024-03-29,1,2\n", "row 2: B 'x' is not"),
        ("date,A,B\n2024-01-31,1,2\n2024-02-29,0,2\n2024-03-29,1,2\n", "row 3: A 0: prices must"),
        ("date,A,B\n2024-01-31,1,2,3\n2024-02-29,1,2\n2024-03-29,1,2\n", "4 columns, expected 3"),
        ("date,A,B\n2024-02-29,1,2\n2024-01-31,1,2\n2024-03-29,1,2\n", "strictly increasing"),
    ],
)
def test_bad_prices_csv(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        read_prices_csv(write_csv(tmp_path / "bad.csv", text))


def test_missing_prices_csv(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_prices_csv(tmp_path / "nope.csv")


def test_prices_of_another_size_are_written_with_their_own_layout(tmp_path):
    prices = read_prices_csv(
        write_csv(
            tmp_path / "p.csv",
            "date,A,B,C\n"
            + "".join(
                f"2020-{m:02d}-28,{10 + m},{20 - m * 0.5},{5 + (m % 3)}\n" for m in range(1, 13)
            ),
        )
    )
    result = build_workbook(tmp_path / "three.xlsx", prices=prices)
    assert result.errors == []
    book = Book(tmp_path / "three.xlsx")
    assert list(book.name_block("prices_labels").ravel()) == ["A", "B", "C"]
    _, (r0, c0, r1, c1) = parse_range(book.names["cov_prices"])
    assert (r1 - r0 + 1, c1 - c0 + 1) == (3, 3)
    assert c0 == PricesSheet.right_col(3) + 1  # the matrices move with the number of assets
    np.testing.assert_allclose(
        book.numbers("cov_prices"), cov_matrix(np.array(prices.prices, dtype=float), 12)
    )
    start = " ".join(
        str(c["value"]) for c in book.cells["Start"].values() if isinstance(c["value"], str)
    )
    assert "Prices read from p.csv." in start
    assert "skfolio" not in start
