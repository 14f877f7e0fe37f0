"""The two CSV readers share one reading of rows and number cells (``_csvfile.CsvTable``).

The messages below are the readers' exact texts; they were the same before the shared
``require_rows``/``cell_number``/``error`` took over the readers' own copies.
"""

from __future__ import annotations

import re

import pytest

from xlfrontier.exceptions import InputError
from xlfrontier.workbook._csvfile import read_csv_table
from xlfrontier.workbook.template import read_assumptions_csv, read_prices_csv

HEAD = "asset,expected_return,volatility,min_weight,max_weight,A,B\n"


def assets(tmp_path, body):
    path = tmp_path / "assets.csv"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def prices(tmp_path, body):
    path = tmp_path / "prices.csv"
    path.write_text("date,A,B\n" + body, encoding="utf-8")
    return path


def refused(read, path, message, argument):
    with pytest.raises(InputError, match=f"^{re.escape(message)}$") as err:
        read(path)
    assert err.value.argument == argument


def test_too_few_rows(tmp_path):
    refused(
        read_assumptions_csv,
        assets(tmp_path, "A,0.1,0.1,,,1,0\n"),
        "assets.csv: need a header row and at least 2 asset rows",
        "assets",
    )
    refused(
        read_prices_csv,
        prices(tmp_path, "2024-01-31,1,2\n2024-02-29,1,2\n"),
        "prices.csv: need a header row and at least 3 rows of prices",
        "prices",
    )


def test_a_cell_that_is_not_a_number(tmp_path):
    refused(
        read_assumptions_csv,
        assets(tmp_path, 'A,"0,1",0.1,,,1,0\nB,0.1,0.1,,,0,1\n'),
        "assets.csv row 2: expected_return '0,1' is not a number: this file's decimal mark is "
        "'.' (columns are separated by commas)",
        "assets",
    )
    refused(
        read_prices_csv,
        prices(tmp_path, "2024-01-31,1,x\n2024-02-29,1,2\n2024-03-29,1,2\n"),
        "prices.csv row 2: B 'x' is not a number",
        "prices",
    )


def test_blank_cells(tmp_path):
    refused(
        read_assumptions_csv,
        assets(tmp_path, "A,0.1, ,,,1,0\nB,0.1,0.1,,,0,1\n"),
        "assets.csv row 2: volatility is blank",
        "assets",
    )
    # A blank price is no price on that date; blank bounds are the defaults.
    history = read_prices_csv(prices(tmp_path, "2024-01-31,1, \n2024-02-29,1,2\n2024-03-29,1,2\n"))
    assert history.prices[0] == (1.0, None)
    a = read_assumptions_csv(assets(tmp_path, "A,0.1,0.1,,,1,0\nB,0.1,0.1, ,5%,0,1\n"))
    assert (a.min_weights, a.max_weights) == ((None, None), (None, 0.05))


def test_values_each_reader_refuses(tmp_path):
    refused(
        read_assumptions_csv,
        assets(tmp_path, "A,inf,0.1,,,1,0\nB,0.1,0.1,,,0,1\n"),
        "assets.csv row 2: expected_return must be finite",
        "assets",
    )
    refused(
        read_prices_csv,
        prices(tmp_path, "2024-01-31,1,2\n2024-02-29, -1 ,2\n2024-03-29,1,2\n"),
        "prices.csv row 3: A -1: prices must be positive",
        "prices",
    )


def test_the_table_knows_its_file(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("date;A;B\n2024-01-31;1,5;2\n", encoding="utf-8")
    table = read_csv_table(path, "prices")
    assert (table.name, table.argument, table.delimiter, table.decimal) == (
        "prices.csv",
        "prices",
        ";",
        ",",
    )
    assert table.cell_number(" 1,5 ", 2, "A") == 1.5
    assert table.cell_number("", 2, "A", blank_ok=True) is None
    with pytest.raises(InputError, match=r"^prices.csv row 2: A is blank$"):
        table.cell_number("  ", 2, "A")
    with pytest.raises(InputError, match=r"^prices.csv: need a header row and at least 3 days$"):
        table.require_rows(3, "3 days")
    table.require_rows(1, "1 day")
