"""CSV files as Excel saves them on any locale (``run --assets`` and ``--prices``).

Real bytes: Windows-1252 ("CSV (Comma delimited)" on Windows), UTF-8 with and without BOM,
UTF-16 ("Unicode Text"), ``;``-separated files with decimal commas (German, French, Italian,
Spanish... locales), thousands separators. Ambiguous files are refused, never guessed.
"""

from __future__ import annotations

import codecs
from dataclasses import replace
from pathlib import Path

import pytest

from xlfrontier import cli
from xlfrontier.exceptions import InputError
from xlfrontier.workbook._csvfile import parse_number, read_csv_table
from xlfrontier.workbook.template import read_assumptions_csv, read_prices_csv

ASSETS_HEADER = "asset,expected_return,volatility,min_weight,max_weight"
# The same three assets, as Excel writes them in the US (comma, decimal point, UTF-8)...
ASSETS_US = (
    f"{ASSETS_HEADER},Société Générale,Nestlé,Bund €\r\n"
    "Société Générale,7.5%,0.16,,0.4,1,0.25,-0.1\r\n"
    "Nestlé,4%,5.5%,0.05,,0.25,1,0.125\r\n"
    "Bund €,2.5%,4%,,,-0.1,0.125,1\r\n"
)
# ...and in Germany or France ("CSV (Trennzeichen-getrennt)": semicolons, decimal commas,
# Windows-1252).
ASSETS_EU = ASSETS_US.replace(",", ";").replace(".", ",")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def same_assets(a, b) -> None:
    assert replace(a, source="") == replace(b, source="")


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("0.07", ".", 0.07),
        (" 7% ", ".", 0.07),
        ("-0.1", ".", -0.1),
        ("1e-3", ".", 0.001),
        ("1,234.5", ".", 1234.5),
        ("1,234,567", ".", 1234567.0),
        ("1'234.50", ".", 1234.5),
        ("0,07", ",", 0.07),
        ("7,5 %", ",", 0.075),
        ("-0,125", ",", -0.125),
        ("1.234,5", ",", 1234.5),
        ("1.234.567,25", ",", 1234567.25),
        ("1 234,5", ",", 1234.5),
        ("1\u00a0234,5", ",", 1234.5),  # no-break space: what French Excel writes
        ("1\u202f234,5", ",", 1234.5),
        ("1,5E-03", ",", 0.0015),
        ("12", ",", 12.0),
    ],
)
def test_parse_number(text, decimal, value):
    assert parse_number(text, decimal) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "decimal"),
    [
        ("0,07", "."),  # the other mark, not a thousands group
        ("1,23.4", "."),  # a group of two digits
        ("1.234.5", ","),
        ("0.5", ","),
        ("1_000", "."),
        ("12 34", "."),
        ("abc", "."),
        ("", ","),
    ],
)
def test_parse_number_refuses(text, decimal):
    with pytest.raises(ValueError, match=r"."):
        parse_number(text, decimal)


# --------------------------------------------------------------------------------------------
# Encodings, separators, decimal marks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ASSETS_US.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + ASSETS_US.encode("utf-8"), "utf-8"),
        (ASSETS_US.encode("cp1252"), "cp1252"),
        (ASSETS_US.replace(",", "\t").encode("utf-16"), "utf-16"),  # Excel's "Unicode Text"
        (ASSETS_EU.encode("cp1252"), "cp1252"),
        (codecs.BOM_UTF8 + ASSETS_EU.encode("utf-8"), "utf-8"),
    ],
    ids=["utf8", "utf8-bom", "cp1252", "utf16-tabs", "eu-cp1252", "eu-utf8-bom"],
)
def test_every_dialect_reads_the_same_assets(tmp_path, data, encoding):
    reference = read_assumptions_csv(write(tmp_path / "us.csv", ASSETS_US))
    assert reference.names == ("Société Générale", "Nestlé", "Bund €")
    assert reference.expected_returns == (0.075, 0.04, 0.025)
    path = tmp_path / "assets.csv"
    path.write_bytes(data)
    assert read_csv_table(path, "assets").encoding == encoding
    same_assets(read_assumptions_csv(path), reference)


def test_cp1252_bytes_are_what_excel_writes(tmp_path):
    path = write(tmp_path / "a.csv", ASSETS_EU, "cp1252")
    raw = path.read_bytes()
    assert b"Soci\xe9t\xe9 G\xe9n\xe9rale" in raw
    assert b"Bund \x80" in raw  # the euro sign is 0x80 in Windows-1252
    table = read_csv_table(path, "assets")
    assert (table.encoding, table.delimiter, table.decimal) == ("cp1252", ";", ",")
    assert table.rows[0][5:] == ["Société Générale", "Nestlé", "Bund €"]


def test_separator_is_the_first_one_in_the_header(tmp_path):
    # A semicolon file whose names hold commas; a comma file whose (quoted) names hold ';'.
    eu = write(tmp_path / "eu.csv", "date;Nestlé, SA;ABB\n2024-01-31;1,5;2\n")
    assert read_csv_table(eu, "prices").rows[0] == ["date", "Nestlé, SA", "ABB"]
    us = write(tmp_path / "us.csv", 'date,"Nestlé; SA",ABB\n2024-01-31,1.5,2\n')
    table = read_csv_table(us, "prices")
    assert table.rows[0] == ["date", "Nestlé; SA", "ABB"]
    assert (table.delimiter, table.decimal) == (",", ".")
    # A semicolon file with decimal points (Swiss locales): read from the numbers.
    ch = write(tmp_path / "ch.csv", "date;A;B\n2024-01-31;1'234.50;2\n2024-02-29;1.5;2\n")
    table = read_csv_table(ch, "prices")
    assert (table.delimiter, table.decimal) == (";", ".")
    assert table.number(table.rows[1][1]) == 1234.5


def test_eu_prices_with_thousands_separators(tmp_path):
    us_rows = "".join(
        f"2023-{m:02d}-28,{1000 + 37.25 * m},{50 + 0.5 * m},{2000 * m + 0.75}\n"
        for m in range(1, 13)
    )
    us = write(tmp_path / "us.csv", "date,SAP,Nestlé,Hermès €\n" + us_rows)

    def eu(x: float) -> str:  # 1234.5 -> "1.234,5" (German Excel with a thousands format)
        return f"{x:,}".replace(",", " ").replace(".", ",").replace(" ", ".")

    eu_rows = "".join(
        f"2023-{m:02d}-28;{eu(1000 + 37.25 * m)};{eu(50 + 0.5 * m)};{eu(2000 * m + 0.75)}\r\n"
        for m in range(1, 13)
    )
    path = write(tmp_path / "eu.csv", "date;SAP;Nestlé;Hermès €\r\n" + eu_rows, "cp1252")
    assert b";1.037,25;50,5;2.000,75\r\n" in path.read_bytes()
    got, want = read_prices_csv(path), read_prices_csv(us)
    assert got.tickers == ("SAP", "Nestlé", "Hermès €")
    assert got.prices == want.prices
    assert got.dates == want.dates
    fr = write(tmp_path / "fr.csv", "date;A;B;C\n" + eu_rows.replace(".", "\u00a0"), "cp1252")
    assert b";1\xa0037,25;" in fr.read_bytes()
    assert read_prices_csv(fr).prices == want.prices


# --------------------------------------------------------------------------------------------
# Refused, with what to change
# --------------------------------------------------------------------------------------------

SAVE_AS = r"in Excel, save it as 'CSV UTF-8 \(Comma delimited\) \(\*\.csv\)'"


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            b"date;A;B\n2024-01-31;1,5;2\n2024-02-29;1.5;2\n2024-03-29;1;2\n",
            r"p.csv mixes decimal marks: '1,5' \(row 2\) has a decimal comma, '1.5' \(row 3\) a "
            r"decimal point: use one throughout, or " + SAVE_AS,
        ),
        (
            b"date;A;B\n2024-01-31;1.234;2\n2024-02-29;1.300;2\n2024-03-29;1;2\n",
            r"p.csv row 2: '1.234' could be 1.234 or 1234 and no other number shows the decimal "
            r"mark: write 1234 without a thousands separator if that is meant, or " + SAVE_AS,
        ),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            r"p.csv is an Excel workbook, not a CSV file: " + SAVE_AS,
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            r"p.csv is an Excel workbook, not a CSV file",
        ),
        (
            b"date,A\x81,B\n2024-01-31,1,2\n",
            r"cannot read p.csv: it is neither UTF-8 nor Windows-1252 \(ANSI\) text \(byte 0x81 "
            r"at position 6\): " + SAVE_AS,
        ),
        (
            "date,A,B\n".encode("utf-16-le"),  # UTF-16 without its byte-order mark
            r"cannot read p.csv: .*\(it holds NUL characters\): " + SAVE_AS,
        ),
    ],
    ids=["mixed-marks", "ambiguous", "xlsx", "xls", "undefined-byte", "utf16-no-bom"],
)
def test_unreadable_files_say_what_to_change(tmp_path, data, match):
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=match):
        read_prices_csv(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            'date,A,B\n2024-01-31,1,"2,5"\n2024-02-29,1,2\n2024-03-29,1,2\n',
            r"row 2: B '2,5' is not a number: this file's decimal mark is '.' \(columns are "
            r"separated by commas\)",
        ),
        (
            "date;A;B\n2024-01-31;1,5;2.5\n2024-02-29;1;2\n2024-03-29;1;2\n",
            r"mixes decimal marks",
        ),
        (
            "date;A;B\n31.01.2024;1,5;2\n2024-02-29;1;2\n2024-03-29;1;2\n",
            r"row 2: date '31.01.2024' is not YYYY-MM-DD: format the date column as yyyy-mm-dd",
        ),
    ],
    ids=["decimal-comma-in-a-comma-file", "mixed-marks", "eu-date"],
)
def test_bad_numbers_and_dates_in_eu_files(tmp_path, text, match):
    with pytest.raises(InputError, match=match):
        read_prices_csv(write(tmp_path / "p.csv", text))


def test_a_decimal_point_in_a_decimal_comma_file_is_explained(tmp_path):
    text = ASSETS_EU.replace("0,125;1", "0.125;1", 1)  # one cell typed the other way
    with pytest.raises(InputError, match=r"mixes decimal marks: '7,5%' \(row 2\)"):
        read_assumptions_csv(write(tmp_path / "a.csv", text, "cp1252"))


# --------------------------------------------------------------------------------------------
# A negative volatility (it would flip the sign of every correlation of the asset)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [(ASSETS_US.replace("5.5%", "-5.5%"), "-5.5%"), (ASSETS_EU.replace("5,5%", "-5,5%"), "-5,5%")],
)
def test_negative_volatility_is_refused_with_its_row(tmp_path, text, shown):
    path = write(tmp_path / "a.csv", text, "cp1252")
    with pytest.raises(
        InputError,
        match=rf"a.csv row 3: volatility {shown} of Nestlé is negative: type it without the "
        rf"minus sign \(a volatility is at least 0\)",
    ):
        read_assumptions_csv(path)


def test_zero_volatility_is_accepted(tmp_path):
    path = write(tmp_path / "a.csv", ASSETS_US.replace("4%,,,-0.1", "0,,,-0.1"))
    assert read_assumptions_csv(path).volatilities[2] == 0.0


def test_run_with_european_files(capsys, tmp_path):
    assets = write(tmp_path / "assets.csv", ASSETS_EU, "cp1252")
    rows = "".join(
        f"2023-{m:02d}-28;{100 + m * (-1) ** m},5;{50 + 0.2 * m:.1f};{20 + m % 3},25\r\n".replace(
            ".", ","
        )
        for m in range(1, 13)
    )
    prices = write(tmp_path / "prices.csv", "date;SGO;NESN;BUND\r\n" + rows, "cp1252")
    book = tmp_path / "b.xlsx"
    code = cli.main(
        [
            "run",
            "--assets",
            str(assets),
            "--prices",
            str(prices),
            "--target",
            "4%",
            "--out",
            str(book),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "3 assets" in out
    assert "    Société Générale " in out
    assert "    Bund € " in out
    assert book.is_file()
    bad = write(tmp_path / "bad.csv", ASSETS_EU.replace("5,5%", "-5,5%"), "cp1252")
    code = cli.main(["run", "--assets", str(bad), "--out", str(tmp_path / "c.xlsx")])
    _, err = capsys.readouterr()
    assert code == 1
    assert err == (
        "xlfrontier run: error: bad.csv row 3: volatility -5,5% of Nestlé is negative: type it "
        "without the minus sign (a volatility is at least 0)\n"
    )
    assert not (tmp_path / "c.xlsx").exists()
