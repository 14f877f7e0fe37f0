"""LibreOffice renders the template and a values-only copy to PDF and PNG without errors.

LibreOffice recalculates array formulas when it opens a file, and it has no xlfrontier
functions, so in the live template the spilled cells show ``#NAME?`` (Excel with the add-in,
or without it until an input changes, shows the stored values). The charts are therefore
checked on the values-only workbook (``xlfrontier run --static``): the Frontier page must show
the frontier curve, the markers and the stacked weights in their colours.

Skipped when ``soffice`` or the poppler tools are not installed (``.ci/run`` installs
``libreoffice-calc-nogui`` and ``poppler-utils``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from xlfrontier.workbook.template import PALETTE, SAMPLE, SAMPLE_PRICES, build_workbook

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("soffice", "pdftoppm", "pdftotext")),
        reason="LibreOffice (soffice) and poppler-utils are not installed",
    ),
]

EXPORT = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Both workbooks rendered by one LibreOffice run (one page per sheet)."""
    work = tmp_path_factory.mktemp("render")
    build_workbook(work / "live.xlsx")
    build_workbook(work / "static.xlsx", static=True)
    return _render(work)


def _render(work: Path, names: tuple[str, ...] = ("live", "static")) -> dict[str, Path]:
    profile = (work / "profile").as_uri()  # own profile: no lock on the user's
    proc = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            EXPORT,
            "--outdir",
            str(work / "pdf"),
            *(str(work / f"{name}.xlsx") for name in names),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    pdfs = {name: work / "pdf" / f"{name}.pdf" for name in names}
    for path in pdfs.values():
        assert path.is_file(), proc.stdout + proc.stderr
        assert path.stat().st_size > 10_000
    return pdfs


def page_text(pdf: Path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def page_pixels(pdf: Path, page: int, out: Path) -> np.ndarray:
    """The page as an RGB array (pdftoppm PPM), after also writing the PNG one looks at."""
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "70",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(out),
        ],
        check=True,
    )
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "70",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(out),
        ],
        check=True,
    )
    data = out.with_suffix(".ppm").read_bytes()
    header = data.split(maxsplit=4)  # P6 width height maxval pixels
    assert header[0] == b"P6"
    width, height = int(header[1]), int(header[2])
    return np.frombuffer(header[4][: width * height * 3], dtype=np.uint8).reshape(height, width, 3)


def colour_share(pixels: np.ndarray, hex_colour: str, tol: int = 12) -> float:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    close = np.abs(pixels.astype(int) - rgb).max(axis=2) <= tol
    return float(close.mean())


def test_one_page_per_sheet(rendered):
    for pdf in rendered.values():
        info = subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
        ).stdout
        assert re.search(r"^Pages:\s+5$", info, re.MULTILINE), info


def test_live_template_renders_its_text(rendered):
    start = page_text(rendered["live"], 1)
    assert "xlfrontier: Markowitz efficient frontier" in start
    assert "EFFICIENT_FRONTIER(mu, cov, [points]" in start
    inputs = page_text(rendered["live"], 2)
    for name in SAMPLE.names:
        assert name in inputs
    assert "6.80%" in inputs
    assert "16.00%" in inputs


def test_static_frontier_page_shows_the_charts(rendered, tmp_path):
    text = page_text(rendered["static"], 4)
    assert "#NAME?" not in text
    for words in (
        "Efficient frontier",
        "Weights along the frontier",
        "Volatility (annual)",
        "Capital market line",
        "Maximum Sharpe",
        "Minimum variance",
        "Emerging-market equity",
    ):
        assert words in text, words
    pixels = page_pixels(rendered["static"], 4, tmp_path / "frontier")
    assert (tmp_path / "frontier.png").stat().st_size > 20_000
    # The charts sit side by side at the top of the page: the XY chart left, the weights right.
    # (In the live file LibreOffice shows #NAME? in the table, and these areas stay nearly
    # empty: a curve share of ~0.0005 (legend and titles) and no bands at all.)
    height, width, _ = pixels.shape
    charts = pixels[int(0.06 * height) : int(0.40 * height)]
    xy, area = charts[:, : int(0.47 * width)], charts[:, int(0.47 * width) :]
    assert colour_share(xy, "#1F3864") > 0.0015  # the frontier curve
    assert colour_share(xy, "#A6A6A6") > 0.003  # the asset points
    # Every asset that holds at least 10% at three or more frontier points has a visible band.
    table = build_workbook(tmp_path / "again.xlsx", static=True).tables["frontier"]
    weights = table[1:, 3:].astype(float)
    held = np.flatnonzero((weights >= 0.10).sum(axis=0) >= 3)
    assert len(held) >= 6
    for k in held:
        floor = 0.03 if PALETTE[k] == "#7F7F7F" else 0.01  # grey: also the axis text colour
        assert colour_share(area, PALETTE[k]) > floor, SAMPLE.names[k]


def test_static_optimizer_page(rendered):
    text = page_text(rendered["static"], 3)
    for words in (
        "Portfolios",
        "Weights",
        "Maximum Sharpe",
        "Target return",
        "Risk contributions",
        "PORTFOLIO_EXPLAIN",
        "Certified optimal",
    ):
        assert words in text, words
    assert "#NAME?" not in text


def test_static_prices_page(rendered, tmp_path):
    text = page_text(rendered["static"], 5)
    for words in (
        "Prices",
        "Covariance matrix (annual, COV_MATRIX)",
        "Correlation matrix",
        "Feasible target returns",
        "Min weight",
        "Max weight",
        "AAPL",
        "WMT",
        "2012-11-30",
        "2022-11-30",
        "skfolio",
        "BSD-3-Clause",
    ):
        assert words in text, words
    assert "#NAME?" not in text
    assert "#INPUT!" not in text
    page_pixels(rendered["static"], 5, tmp_path / "prices")
    assert (tmp_path / "prices.png").stat().st_size > 20_000


# --------------------------------------------------------------------------------------------
# The switch: the Frontier page after 'Inputs from' is set to Prices
# --------------------------------------------------------------------------------------------


def values_only(src: Path, dest: Path) -> Path:
    """Copy a recalculated workbook with its formulas dropped and their values kept.

    LibreOffice recalculates array formulas on open and has no xlfrontier functions; without
    the formulas it shows the values ``xlfrontier recalc`` computed, as Excel with the add-in
    would.
    """
    from lxml import etree

    m = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", info.filename):
                root = etree.fromstring(data)
                for c in root.iter(f"{m}c"):
                    f = c.find(f"{m}f")
                    if f is None:
                        continue
                    c.remove(f)
                    c.attrib.pop("cm", None)
                    v = c.find(f"{m}v")
                    if c.get("t") == "str":  # a formula's text result: make it a plain string
                        c.set("t", "inlineStr")
                        c.remove(v)
                        etree.SubElement(etree.SubElement(c, f"{m}is"), f"{m}t").text = v.text
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            out.writestr(zipfile.ZipInfo(info.filename, info.date_time), data)
    return dest


@pytest.fixture(scope="module")
def switched_render(tmp_path_factory) -> Path:
    """The live template, 'Inputs from' set to Prices, recalculated, values only, rendered."""
    pytest.importorskip("formulas")
    from _edit import set_cell
    from test_switch import cell_of
    from test_template import Book

    from xlfrontier.workbook.recalc import recalc_workbook

    work = tmp_path_factory.mktemp("render_switch")
    build_workbook(work / "template.xlsx")
    switch = cell_of(Book(work / "template.xlsx"), "inputs_from")
    edited = set_cell(work / "template.xlsx", work / "edited.xlsx", "Inputs", switch, "Prices")
    result = recalc_workbook(edited, work / "recalculated.xlsx")
    assert result.errors == []
    values_only(result.path, work / "switched.xlsx")
    return _render(work, ("switched",))["switched"]


def test_switched_frontier_page_shows_the_stocks(switched_render, tmp_path_factory):
    text = page_text(switched_render, 4)
    assert "#NAME?" not in text
    assert "Inputs from: Prices" in text
    for words in ("Efficient frontier", "Weights along the frontier", "Capital market line"):
        assert words in text, words
    for ticker in SAMPLE_PRICES.tickers:  # chart labels, legend and table headers
        assert re.search(rf"\b{ticker}\b", text), ticker
    for name in SAMPLE.names:  # the asset classes are gone from the page
        assert name not in text, name
    out = tmp_path_factory.mktemp("render_switch_png") / "frontier_prices"
    pixels = page_pixels(switched_render, 4, out)
    assert out.with_suffix(".png").stat().st_size > 20_000
    height, width, _ = pixels.shape
    charts = pixels[int(0.06 * height) : int(0.40 * height)]
    xy, area = charts[:, : int(0.47 * width)], charts[:, int(0.47 * width) :]
    # The long-only frontier of ten stocks with a 25% cap is short (vol 12% to 17.5%): a
    # smaller curve share than on the asset classes' page, still twice that of the legend and
    # title alone (~0.0005 when the chart has no data).
    assert colour_share(xy, "#1F3864") > 0.0009  # the frontier curve
    assert colour_share(xy, "#A6A6A6") > 0.002  # the ten stock points
    table = build_workbook(tmp_path_factory.mktemp("again") / "p.xlsx", inputs_from="Prices")
    weights = table.tables["frontier"][1:, 3:].astype(float)
    held = np.flatnonzero((weights >= 0.10).sum(axis=0) >= 3)
    assert len(held) >= 5
    for k in held:
        floor = 0.03 if PALETTE[k] == "#7F7F7F" else 0.01
        assert colour_share(area, PALETTE[k]) > floor, SAMPLE_PRICES.tickers[k]


def test_switched_optimizer_and_inputs_pages(switched_render):
    optimizer = page_text(switched_render, 3)
    assert "Inputs from: Prices" in optimizer
    assert "Certified optimal" in optimizer
    assert "MSFT" in optimizer
    assert "#NAME?" not in optimizer
    inputs = page_text(switched_render, 2)
    assert "Inputs used by the Optimizer and Frontier" in inputs
    assert "18.00%" in inputs  # the Prices route's target in use
