"""The Prices sheet: a real price sample, μ and Σ estimated from it, and its own portfolios.

Checks the embedded sample against the shared data, the sheet's structure (names, inputs,
validation, formulas), the stored values against the core and against pandas, and a
recalculation (the ``formulas`` package with our functions) after switching the covariance
method to Ledoit-Wolf.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_template import NS, Book, parse_range

from xlfrontier.core import efficient_frontier, global_min_variance, max_sharpe
from xlfrontier.core.estimation import corr_matrix, cov_matrix, mean_returns
from xlfrontier.workbook import sample_prices
from xlfrontier.workbook.template import SAMPLE, TEMPLATE_FILENAME, PricesSheet, build_workbook

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "sp500_20_prices.csv.gz"

TICKERS = sample_prices.TICKERS
N = len(TICKERS)
DATES = [d for d, _ in sample_prices.MONTH_END_PRICES]
PRICES = np.array([p for _, p in sample_prices.MONTH_END_PRICES], dtype=float)
RF = SAMPLE.risk_free_rate
UPPER = PricesSheet.MAX_WEIGHT
POINTS = PricesSheet.POINTS


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("prices") / TEMPLATE_FILENAME
    result = build_workbook(path)
    return path, result, Book(path)


@pytest.fixture(scope="module")
def book(built):
    return built[2]


def frame() -> pd.DataFrame:
    return pd.DataFrame(PRICES, index=pd.to_datetime(DATES), columns=list(TICKERS))


# --------------------------------------------------------------------------------------------
# The embedded sample
# --------------------------------------------------------------------------------------------


def test_sample_is_small_and_clean():
    assert 6 <= N <= 10
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


@pytest.mark.skipif(not SHARED.is_file(), reason="shared data not available")
def test_sample_equals_the_shared_data():
    daily = pd.read_csv(SHARED, index_col=0, parse_dates=True)[list(TICKERS)]
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
        "prices_upper": (1, 1),
        "prices_points": (1, 1),
        "mu_prices": (1, N),
        "vol_prices": (1, N),
        "cov_prices": (N, N),
        "corr_prices": (N, N),
        "w_gmv_prices": (1, N),
        "w_maxsharpe_prices": (1, N),
        "gmv_prices_return": (1, 1),
        "gmv_prices_vol": (1, 1),
        "gmv_prices_sharpe": (1, 1),
        "maxsharpe_prices_return": (1, 1),
        "maxsharpe_prices_vol": (1, 1),
        "maxsharpe_prices_sharpe": (1, 1),
        "frontier_prices": (POINTS + 1, 3 + N),
    }
    for name, (rows, cols) in expected.items():
        assert name in book.names, name
        sheet, (r0, c0, r1, c1) = parse_range(book.names[name])
        assert (sheet, r1 - r0 + 1, c1 - c0 + 1) == ("Prices", rows, cols), name


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
    assert book.name_block("prices_upper")[0, 0] == UPPER
    assert book.name_block("prices_points")[0, 0] == POINTS
    for name in (
        "prices",
        "prices_dates",
        "prices_labels",
        "prices_periods",
        "prices_mean_method",
        "prices_cov_method",
        "prices_upper",
        "prices_points",
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
    for name in ("prices_periods", "prices_points", "prices_upper"):
        cell = book.names[name].split("!")[1].replace("$", "")
        assert cell in by_cell, name
    prices_first = book.names["prices"].split("!")[1].split(":")[0].replace("$", "")
    assert prices_first in by_cell


def test_prices_formula_texts(book):
    texts = {cell["formula"] for s, _, cell in book.formulas() if s == "Prices"}
    assert "MEAN_RETURNS(prices,prices_periods,prices_mean_method)" in texts
    assert "COV_MATRIX(prices,prices_periods,prices_cov_method)" in texts
    assert "CORR_MATRIX(prices,prices_cov_method)" in texts
    assert "TRANSPOSE(GMV_WEIGHTS(cov_prices,,prices_upper))" in texts
    assert "MAXSHARPE_WEIGHTS(mu_prices,cov_prices,rf,,prices_upper)" in texts
    assert (
        "EFFICIENT_FRONTIER(mu_prices,cov_prices,prices_points,,prices_upper,rf,prices_labels)"
        in texts
    )
    assert "SQRT(INDEX(cov_prices,1,1))" in texts
    # The Prices route is self-contained: besides rf it reads nothing of the Inputs sheet.
    inputs_names = {"mu", "cov", "vols", "corr", "lower", "upper", "labels", "target", "points"}
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


def test_stored_portfolios_equal_the_core(book):
    mu, cov = mean_returns(PRICES, 12), cov_matrix(PRICES, 12)
    expected = {
        "gmv": global_min_variance(cov, 0.0, UPPER, mu=mu),
        "maxsharpe": max_sharpe(mu, cov, RF, 0.0, UPPER),
    }
    for key, res in expected.items():
        w = book.numbers(f"w_{key}_prices").ravel()
        np.testing.assert_allclose(w, res.weights, atol=1e-9)
        assert w.sum() == pytest.approx(1.0, abs=1e-9)
        assert w.min() >= -1e-12
        assert w.max() <= UPPER + 1e-12
        assert book.name_block(f"{key}_prices_return")[0, 0] == pytest.approx(
            res.expected_return, abs=1e-10
        )
        assert book.name_block(f"{key}_prices_vol")[0, 0] == pytest.approx(
            res.volatility, abs=1e-10
        )
        assert book.name_block(f"{key}_prices_sharpe")[0, 0] == pytest.approx(
            (res.expected_return - RF) / res.volatility, abs=1e-8
        )
    sample = efficient_frontier(mu, cov, 0.0, UPPER).sample(POINTS)
    table = book.name_block("frontier_prices")
    assert list(table[0]) == ["Return", "Volatility", "Sharpe", *TICKERS]
    body = table[1:].astype(float)
    np.testing.assert_allclose(body[:, 0], sample.returns, atol=1e-12)
    np.testing.assert_allclose(body[:, 1], sample.volatilities, atol=1e-10)
    np.testing.assert_allclose(body[:, 3:], sample.weights, atol=1e-9)
    assert book.name_block("maxsharpe_prices_sharpe")[0, 0] >= body[:, 2].max() - 1e-12


def test_static_prices_sheet(tmp_path):
    build_workbook(tmp_path / "static.xlsx", static=True)
    book = Book(tmp_path / "static.xlsx")
    assert [c for s, _, c in book.formulas() if s == "Prices"] == []
    np.testing.assert_allclose(book.numbers("cov_prices"), cov_matrix(PRICES, 12), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Recalculation with the method switched
# --------------------------------------------------------------------------------------------


def set_text(src: Path, dest: Path, sheet_index: int, cell: str, text: str) -> Path:
    """Copy ``src`` with one cell replaced by an inline string (a user choosing from a list)."""
    z = zipfile.ZipFile(src)
    part = f"xl/worksheets/sheet{sheet_index}.xml"
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == part:
                body = data.decode()
                cell_re = re.compile(rf'<c r="{cell}"( s="\d+")?( t="\w+")?(/>|>.*?</c>)')
                assert cell_re.search(body), cell
                body = cell_re.sub(
                    rf'<c r="{cell}"\1 t="inlineStr"><is><t>{text}</t></is></c>', body, count=1
                )
                data = body.encode()
            out.writestr(zipfile.ZipInfo(info.filename, info.date_time), data)
    return dest


@pytest.mark.parametrize("method", ["sample", "ledoit_wolf", "ledoit_wolf_identity"])
def test_recalc_with_the_chosen_covariance_method(built, tmp_path, method):
    pytest.importorskip("formulas")
    openpyxl = pytest.importorskip("openpyxl")
    from xlfrontier.workbook.recalc import recalc_workbook

    path, _, book = built
    cell = book.names["prices_cov_method"].split("!")[1].replace("$", "")
    index = book.sheet_names.index("Prices") + 1
    edited = set_text(path, tmp_path / "edited.xlsx", index, cell, method)
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
    gmv = global_min_variance(cov, 0.0, UPPER, mu=mu)
    np.testing.assert_allclose(block("w_gmv_prices").ravel(), gmv.weights, atol=1e-9)
    ms = max_sharpe(mu, cov, RF, 0.0, UPPER)
    np.testing.assert_allclose(block("w_maxsharpe_prices").ravel(), ms.weights, atol=1e-9)
    sample = efficient_frontier(mu, cov, 0.0, UPPER).sample(POINTS)
    sheet, ref = wb.defined_names["frontier_prices"].attr_text.split("!")
    rows = [[c.value for c in row] for row in wb[sheet][ref.replace("$", "")]]
    np.testing.assert_allclose(np.array(rows[1:], dtype=float)[:, 1], sample.volatilities)
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
