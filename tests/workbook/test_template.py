"""The template generator: structure, formulas, charts, stored values, determinism.

The workbook is read back from its XML parts (zipfile + ElementTree), so these checks need no
spreadsheet library and see exactly what Excel will read.
"""

from __future__ import annotations

import inspect
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest

from xlfrontier import udfs
from xlfrontier.core import efficient_frontier, global_min_variance, max_sharpe, min_variance
from xlfrontier.exceptions import InputError
from xlfrontier.workbook import template
from xlfrontier.workbook.template import (
    SAMPLE,
    TEMPLATE_FILENAME,
    Assumptions,
    build_workbook,
    label_positions,
    read_assumptions_csv,
)

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "workbook_templates" / TEMPLATE_FILENAME

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
}

# Built-in Excel functions a formula may use, with (min, max) argument counts.
BUILTIN_ARITY = {
    "IF": (2, 3),
    "MMULT": (2, 2),
    "TRANSPOSE": (1, 1),
    "SQRT": (1, 1),
    "INDEX": (2, 3),
    "ROWS": (1, 1),
    "MAX": (1, 255),
    "SUM": (1, 255),
}

SHEETS = ["Start", "Inputs", "Optimizer", "Frontier", "Prices"]
N = SAMPLE.n_assets
POINTS = SAMPLE.frontier_points


# --------------------------------------------------------------------------------------------
# Reading the package back
# --------------------------------------------------------------------------------------------


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def parse_cell(ref: str) -> tuple[int, int]:
    m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)", ref)
    assert m, ref
    return int(m.group(2)) - 1, col_index(m.group(1))


def parse_range(text: str) -> tuple[str, tuple[int, int, int, int]]:
    """``'Sheet'!$A$1:$B$2`` -> ("Sheet", (r0, c0, r1, c1))."""
    sheet, _, cells = text.lstrip("=").rpartition("!")
    first, _, last = cells.partition(":")
    r0, c0 = parse_cell(first)
    r1, c1 = parse_cell(last) if last else (r0, c0)
    return sheet.strip("'"), (r0, c0, r1, c1)


def addin_links(z: zipfile.ZipFile, wb: ET.Element, target: dict[str, str]) -> list[int]:
    """Indexes ``k`` of the external links that point at xlfrontier.xlam in XLSTART."""
    out = []
    refs = wb.findall("m:externalReferences/m:externalReference", NS)
    for k, ref in enumerate(refs, start=1):
        part = "xl/" + target[ref.get(f"{{{NS['r']}}}id")]
        rels_part = part.replace("externalLinks/", "externalLinks/_rels/") + ".rels"
        rels = ET.fromstring(z.read(rels_part)).findall("rel:Relationship", NS)
        if [(r.get("Type"), r.get("Target"), r.get("TargetMode")) for r in rels] == [
            (template.XLSTART_LINK_TYPE, "xlfrontier.xlam", "External")
        ]:
            out.append(k)
    return out


class Book:
    """Cells (value, formula, array ref, style, unlocked), names and charts of an .xlsx.

    A cell's ``formula`` is the text Excel shows with the add-in loaded: a call linked to the
    add-in (``[1]!FRONTIER_RANGE(...)``, when external link 1 is xlfrontier.xlam in XLSTART)
    reads ``FRONTIER_RANGE(...)``; ``stored`` is the text in the file.
    """

    def __init__(self, path: Path) -> None:
        z = zipfile.ZipFile(path)
        self.parts = set(z.namelist())
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", NS)}
        self.addin_links = addin_links(z, wb, target)
        linked = re.compile("|".join(re.escape(f"[{k}]!") for k in self.addin_links) or "(?!)")
        self.sheet_names = [s.get("name") for s in wb.findall("m:sheets/m:sheet", NS)]
        self.names = {d.get("name"): d.text for d in wb.findall("m:definedNames/m:definedName", NS)}
        self.calc = wb.find("m:calcPr", NS).attrib
        strings = []
        if "xl/sharedStrings.xml" in self.parts:
            sst = ET.fromstring(z.read("xl/sharedStrings.xml"))
            strings = [
                "".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                for si in sst.findall("m:si", NS)
            ]
        styles = ET.fromstring(z.read("xl/styles.xml"))
        xfs = styles.findall("m:cellXfs/m:xf", NS)
        unlocked = {
            i
            for i, xf in enumerate(xfs)
            if (p := xf.find("m:protection", NS)) is not None and p.get("locked") == "0"
        }
        self.cells: dict[str, dict[tuple[int, int], dict]] = {}
        self.sheet_xml = {}
        for sheet in wb.findall("m:sheets/m:sheet", NS):
            part = "xl/" + target[sheet.get(f"{{{NS['r']}}}id")]
            root = ET.fromstring(z.read(part))
            self.sheet_xml[sheet.get("name")] = root
            cells = self.cells.setdefault(sheet.get("name"), {})
            for c in root.iter(f"{{{NS['m']}}}c"):
                v = c.find("m:v", NS)
                f = c.find("m:f", NS)
                kind = c.get("t", "n")
                value = None
                if v is not None and v.text is not None:
                    value = (
                        strings[int(v.text)]
                        if kind == "s"
                        else v.text
                        if kind in ("str", "e")
                        else v.text == "1"
                        if kind == "b"
                        else float(v.text)
                    )
                elif kind == "inlineStr":  # as written by xlfrontier recalc
                    value = "".join(t.text or "" for t in c.iter(f"{{{NS['m']}}}t"))
                stored = f.text if f is not None else None
                cells[parse_cell(c.get("r"))] = {
                    "value": value,
                    "formula": linked.sub("", stored) if stored is not None else None,
                    "stored": stored,
                    "array": f.get("ref") if f is not None and f.get("t") == "array" else None,
                    "dynamic": c.get("cm") == "1",
                    "unlocked": int(c.get("s", "0")) in unlocked,
                }
        self.charts = {
            name: ET.fromstring(z.read(name))
            for name in sorted(self.parts)
            if re.fullmatch(r"xl/charts/chart\d+\.xml", name)
        }

    def value(self, sheet: str, rc: tuple[int, int]):
        return self.cells[sheet].get(rc, {}).get("value")

    def block(self, ref: str) -> np.ndarray:
        sheet, (r0, c0, r1, c1) = parse_range(ref)
        return np.array(
            [[self.value(sheet, (r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)],
            dtype=object,
        )

    def name_block(self, name: str) -> np.ndarray:
        return self.block(self.names[name])

    def numbers(self, name: str) -> np.ndarray:
        return self.name_block(name).astype(float)

    def formulas(self):
        for sheet, cells in self.cells.items():
            for rc, cell in cells.items():
                if cell["formula"] is not None:
                    yield sheet, rc, cell


def calls(formula: str) -> list[tuple[str, int]]:
    """(function name, number of arguments) of every call in a formula."""
    text = re.sub(r'"[^"]*"', '""', formula)
    out = []
    for m in re.finditer(r"([A-Z][A-Z0-9_.]*)\(", text):
        depth, args, i, empty = 1, 1, m.end(), True
        while depth:
            ch = text[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 1:
                args += 1
            if depth and not ch.isspace():
                empty = False
            i += 1
        out.append((m.group(1), 0 if empty else args))
    return out


# --------------------------------------------------------------------------------------------
# Determinism and the committed file
# --------------------------------------------------------------------------------------------


def test_generation_is_byte_identical(built, tmp_path):
    path, _, _ = built
    again = tmp_path / "again.xlsx"
    build_workbook(again)
    assert again.read_bytes() == path.read_bytes()


def test_committed_template_matches_generator(built):
    assert COMMITTED.is_file(), "run `xlfrontier template` to write workbook_templates/"
    assert COMMITTED.read_bytes() == built[0].read_bytes(), (
        "workbook_templates/xlfrontier_template.xlsx is stale: regenerate it with "
        "`xlfrontier template`"
    )


def test_generate_template_into_a_directory(tmp_path):
    path = template.generate_template(tmp_path)
    assert path == tmp_path / TEMPLATE_FILENAME
    assert path.is_file()


# --------------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------------


def test_sheets_and_metadata(book):
    assert book.sheet_names == SHEETS
    # No forced full recalculation on open: the stored results stay visible without the add-in.
    assert "fullCalcOnLoad" not in book.calc
    assert "xl/metadata.xml" in book.parts  # dynamic-array metadata


def test_defined_names(book):
    expected = {
        "mu": ("Inputs", N, 1),
        "vols": ("Inputs", N, 1),
        "lower": ("Inputs", N, 1),
        "upper": ("Inputs", N, 1),
        "labels": ("Inputs", N, 1),
        "vol_used": ("Inputs", N, 1),
        "corr": ("Inputs", N, N),
        "cov": ("Inputs", N, N),
        "cov_input": ("Inputs", N, N),
        "rf": ("Inputs", 1, 1),
        "target": ("Inputs", 1, 1),
        "points": ("Inputs", 1, 1),
        "cov_source": ("Inputs", 1, 1),
        "inputs_from": ("Inputs", 1, 1),
        "labels_used": ("Inputs", N, 1),
        "mu_used": ("Inputs", N, 1),
        "lower_used": ("Inputs", N, 1),
        "upper_used": ("Inputs", N, 1),
        "cov_used": ("Inputs", N, N),
        "target_used": ("Inputs", 1, 1),
        "w_gmv": ("Optimizer", N, 1),
        "w_maxsharpe": ("Optimizer", N, 1),
        "w_target": ("Optimizer", N, 1),
        "frontier_table": ("Frontier", POINTS + 1, 3 + N),
    }
    for name, (sheet, rows, cols) in expected.items():
        assert name in book.names, name
        got_sheet, (r0, c0, r1, c1) = parse_range(book.names[name])
        assert (got_sheet, r1 - r0 + 1, c1 - c0 + 1) == (sheet, rows, cols), name


def test_inputs_hold_the_sample(book):
    assert list(book.name_block("labels").ravel()) == list(SAMPLE.names)
    np.testing.assert_allclose(book.numbers("mu").ravel(), SAMPLE.expected_returns)
    np.testing.assert_allclose(book.numbers("vols").ravel(), SAMPLE.volatilities)
    np.testing.assert_allclose(book.numbers("corr"), SAMPLE.correlations)
    np.testing.assert_allclose(book.numbers("lower").ravel(), SAMPLE.min_weights)
    np.testing.assert_allclose(book.numbers("upper").ravel(), SAMPLE.max_weights)
    assert book.name_block("rf")[0, 0] == SAMPLE.risk_free_rate
    assert book.name_block("target")[0, 0] == SAMPLE.target_return
    assert book.name_block("points")[0, 0] == SAMPLE.frontier_points
    assert (book.name_block("cov_input") == None).all()  # noqa: E711 (object array)


def test_input_cells_unlocked_and_sheets_protected(book):
    for name in (
        "mu",
        "vols",
        "lower",
        "upper",
        "labels",
        "corr",
        "cov_input",
        "rf",
        "target",
        "points",
        "cov_source",
        "inputs_from",
    ):
        sheet, (r0, c0, r1, c1) = parse_range(book.names[name])
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                assert book.cells[sheet][(r, c)]["unlocked"], (name, r, c)
    for sheet, _, cell in book.formulas():
        assert not cell["unlocked"], sheet
    for sheet in ("Inputs", "Optimizer", "Frontier"):
        protection = book.sheet_xml[sheet].find("m:sheetProtection", NS)
        assert protection is not None, sheet
        assert protection.get("password") is None, sheet
    assert book.sheet_xml["Start"].find("m:sheetProtection", NS) is None


def test_percent_formats_and_validation(built):
    path, _, book = built
    styles = zipfile.ZipFile(path).read("xl/styles.xml").decode()
    assert 'formatCode="0.00%"' in styles
    inputs = book.sheet_xml["Inputs"]
    validations = inputs.findall("m:dataValidations/m:dataValidation", NS)
    kinds = {v.get("type") for v in validations}
    assert {"decimal", "whole", "list"} <= kinds
    covered = " ".join(v.get("sqref") for v in validations)
    for name in ("rf", "target", "points", "cov_source", "inputs_from", "mu", "corr", "lower"):
        first = book.names[name].split("!")[1].split(":")[0].replace("$", "")
        assert first in covered, name


def test_every_formula_uses_known_functions_with_valid_arity(book):
    seen = set()
    for sheet, rc, cell in book.formulas():
        for func, nargs in calls(cell["formula"]):
            seen.add(func)
            if func in BUILTIN_ARITY:
                low, high = BUILTIN_ARITY[func]
            else:
                assert func in udfs.__all__, f"{sheet}!{rc}: unknown function {func}"
                params = inspect.signature(getattr(udfs, func)).parameters.values()
                low = sum(p.default is inspect.Parameter.empty for p in params)
                high = len(params)
            assert low <= nargs <= high, f"{sheet}!{rc}: {func} with {nargs} arguments"
    assert set(template.BUILTINS) >= seen - set(udfs.__all__)
    # The catalog the issue lists for the template is all there.
    assert {
        "EFFICIENT_FRONTIER",
        "GMV_WEIGHTS",
        "MAXSHARPE_WEIGHTS",
        "MINVAR_WEIGHTS",
        "RISK_CONTRIBUTIONS",
        "PORTFOLIO_EXPLAIN",
        "PORTFOLIO_STATS",
        "FRONTIER_RANGE",
        "PORTFOLIO_RETURN",
        "PORTFOLIO_VOL",
        "PORTFOLIO_SHARPE",
    } <= seen


def test_array_results_are_dynamic_arrays_over_their_result(book, built):
    _, result, _ = built
    anchors = {(s, rc): cell for s, rc, cell in book.formulas() if cell["array"]}
    for sheet, rc, cell in book.formulas():
        udf_calls = [f for f, _ in calls(cell["formula"]) if f in udfs.__all__]
        if udf_calls:  # scalars too (PORTFOLIO_RETURN...): one-cell dynamic arrays, no "@"
            assert (sheet, rc) in anchors, f"{sheet}!{rc} must be a dynamic array"
    for (sheet, _rc), cell in anchors.items():
        assert cell["dynamic"], sheet  # cm="1": Excel spills instead of adding "@"
    frontier_anchor = next(
        c for (s, _), c in anchors.items() if c["formula"].startswith("EFFICIENT_FRONTIER")
    )
    _, (r0, c0, r1, c1) = parse_range("X!" + frontier_anchor["array"])
    assert (r1 - r0 + 1, c1 - c0 + 1) == result.tables["frontier"].shape == (POINTS + 1, 3 + N)


def test_formula_texts(book):
    texts = {cell["formula"] for _, _, cell in book.formulas()}
    assert (
        "EFFICIENT_FRONTIER(mu_used,cov_used,points,lower_used,upper_used,rf,labels_used)" in texts
    )
    assert "MINVAR_WEIGHTS(mu_used,cov_used,target_used,lower_used,upper_used)" in texts
    assert "MAXSHARPE_WEIGHTS(mu_used,cov_used,rf,lower_used,upper_used)" in texts
    assert "GMV_WEIGHTS(cov_used,lower_used,upper_used)" in texts
    assert "PORTFOLIO_EXPLAIN(mu_used,cov_used,target_used,lower_used,upper_used)" in texts
    assert "FRONTIER_RANGE(mu_used,cov_used,lower_used,upper_used)" in texts
    # COV_FROM_CORR refuses a negative volatility; MMULT(vols,TRANSPOSE(vols))*corr did not.
    assert 'IF(cov_source="Covariance matrix",cov_input,COV_FROM_CORR(corr,vols))' in texts


# --------------------------------------------------------------------------------------------
# Stored values against the core
# --------------------------------------------------------------------------------------------


def sample_problem():
    mu = np.array(SAMPLE.expected_returns)
    vols = np.array(SAMPLE.volatilities)
    cov = np.outer(vols, vols) * np.array(SAMPLE.correlations)
    return mu, cov, np.array(SAMPLE.min_weights), np.array(SAMPLE.max_weights)


def test_sample_correlation_is_positive_definite():
    corr = np.array(SAMPLE.correlations)
    np.testing.assert_array_equal(corr, corr.T)
    np.testing.assert_array_equal(np.diag(corr), 1.0)
    assert np.linalg.eigvalsh(corr).min() > 0.03
    assert 8 <= SAMPLE.n_assets <= 12


def test_no_errors_in_the_sample(built):
    assert built[1].errors == []


def test_stored_covariance(book):
    _, cov, _, _ = sample_problem()
    np.testing.assert_allclose(book.numbers("cov"), cov, rtol=1e-12)
    np.testing.assert_allclose(book.numbers("vol_used").ravel(), SAMPLE.volatilities, rtol=1e-12)


def test_stored_portfolios_equal_the_core(book):
    mu, cov, lo, up = sample_problem()
    rf, target = SAMPLE.risk_free_rate, SAMPLE.target_return
    expected = {
        "gmv": global_min_variance(cov, lo, up, mu=mu),
        "maxsharpe": max_sharpe(mu, cov, rf, lo, up),
        "target": min_variance(mu, cov, target, lo, up),
    }
    for key, res in expected.items():
        np.testing.assert_allclose(book.numbers(f"w_{key}").ravel(), res.weights, atol=1e-9)
        assert book.name_block(f"{key}_return")[0, 0] == pytest.approx(
            res.expected_return, abs=1e-10
        )
        assert book.name_block(f"{key}_vol")[0, 0] == pytest.approx(res.volatility, abs=1e-10)
        sharpe = (res.expected_return - rf) / res.volatility
        assert book.name_block(f"{key}_sharpe")[0, 0] == pytest.approx(sharpe, abs=1e-8)
    # Max Sharpe really is the best Sharpe on the frontier table.
    table = book.name_block("frontier_table")
    assert book.name_block("maxsharpe_sharpe")[0, 0] >= max(table[1:, 2]) - 1e-12


def test_stored_frontier_equals_the_core(book):
    mu, cov, lo, up = sample_problem()
    sample = efficient_frontier(mu, cov, lo, up).sample(POINTS)
    table = book.name_block("frontier_table")
    assert list(table[0]) == ["Return", "Volatility", "Sharpe", *SAMPLE.names]
    body = table[1:].astype(float)
    np.testing.assert_allclose(body[:, 0], sample.returns, atol=1e-12)
    np.testing.assert_allclose(body[:, 1], sample.volatilities, atol=1e-10)
    np.testing.assert_allclose(
        body[:, 2], (sample.returns - SAMPLE.risk_free_rate) / sample.volatilities, atol=1e-8
    )
    np.testing.assert_allclose(body[:, 3:], sample.weights, atol=1e-9)
    np.testing.assert_allclose(body[:, 3:].sum(axis=1), 1.0, atol=1e-9)


def test_stored_risk_contributions_and_explain(built):
    _, result, _ = built
    for key in ("gmv", "maxsharpe", "target"):
        rc = result.tables[f"rc_{key}"].astype(float).ravel()
        assert rc.sum() == pytest.approx(1.0, abs=1e-9)
    explain = result.tables["target_explain"]
    assert explain[0, 0] == "Objective"
    assert "optimal" in explain[:, 1].tolist()


def test_chart_points_and_capital_market_line(book):
    rf = SAMPLE.risk_free_rate
    sharpe = book.name_block("maxsharpe_sharpe")[0, 0]
    chart = book.charts["xl/charts/chart1.xml"]
    series = chart.findall(".//c:ser", NS)
    cml = next(s for s in series if s.find("c:tx//c:v", NS).text == "Capital market line")
    xs = book.block(cml.find("c:xVal//c:f", NS).text).astype(float).ravel()
    ys = book.block(cml.find("c:yVal//c:f", NS).text).astype(float).ravel()
    assert xs[0] == 0.0
    assert ys[0] == pytest.approx(rf)
    assert ys[1] == pytest.approx(rf + sharpe * xs[1])
    assert xs[1] >= max(SAMPLE.volatilities) - 1e-12


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def series_refs(chart: ET.Element) -> list[dict]:
    out = []
    for ser in chart.findall(".//c:ser", NS):
        entry = {}
        name_ref = ser.find("c:tx/c:strRef/c:f", NS)
        entry["name"] = name_ref.text if name_ref is not None else ser.find("c:tx/c:v", NS).text
        for key, tag in (("x", "c:xVal"), ("y", "c:yVal"), ("cat", "c:cat"), ("val", "c:val")):
            f = ser.find(f"{tag}//c:f", NS)
            if f is not None:
                entry[key] = f.text
        out.append(entry)
    return out


def test_frontier_chart_series(book):
    charts = book.charts
    assert len(charts) == 2
    scatter = charts["xl/charts/chart1.xml"]
    assert scatter.find(".//c:scatterChart", NS) is not None
    refs = series_refs(scatter)
    sheet, (r0, c0, r1, _) = parse_range(book.names["frontier_table"])
    body = (r0 + 1, r1)
    curve = refs[0]
    assert curve["name"] == "Efficient frontier"
    assert parse_range(curve["x"]) == (sheet, (body[0], c0 + 1, body[1], c0 + 1))  # Volatility
    assert parse_range(curve["y"]) == (sheet, (body[0], c0, body[1], c0))  # Return
    assert refs[1]["name"] == "Capital market line"
    # The three portfolios: chart-point cells that are formulas pointing at the stats cells.
    for ser, key in zip(refs[2:5], ("gmv", "maxsharpe", "target"), strict=True):
        for axis, stat in (("x", "vol"), ("y", "return")):
            psheet, (pr, pc, _, _) = parse_range(ser[axis])
            formula = book.cells[psheet][(pr, pc)]["formula"]
            assert parse_range(formula) == parse_range(book.names[f"{key}_{stat}"]), ser
    # One labelled series per asset, bound to the asset's cells of the used inputs on Inputs.
    _, (lr, lc, _, _) = parse_range(book.names["labels_used"])
    _, (vr, vc, _, _) = parse_range(book.names["vol_used"])
    _, (mr, mc, _, _) = parse_range(book.names["mu_used"])
    assets = refs[5:]
    assert len(assets) == N
    for i, ser in enumerate(assets):
        assert parse_range(ser["name"]) == ("Inputs", (lr + i, lc, lr + i, lc))
        assert parse_range(ser["x"]) == ("Inputs", (vr + i, vc, vr + i, vc))
        assert parse_range(ser["y"]) == ("Inputs", (mr + i, mc, mr + i, mc))
    labels = scatter.findall(".//c:ser/c:dLbls/c:showSerName", NS)
    assert len(labels) == N
    assert all(x.get("val") == "1" for x in labels)


def test_weights_chart_series(book):
    area = book.charts["xl/charts/chart2.xml"]
    grouping = area.find(".//c:areaChart/c:grouping", NS)
    assert grouping.get("val") == "stacked"
    sheet, (r0, c0, r1, _) = parse_range(book.names["frontier_table"])
    refs = series_refs(area)
    assert len(refs) == N
    for j, ser in enumerate(refs):
        col = c0 + 3 + j
        assert parse_range(ser["name"]) == (sheet, (r0, col, r0, col))
        assert parse_range(ser["cat"]) == (sheet, (r0 + 1, c0, r1, c0))
        assert parse_range(ser["val"]) == (sheet, (r0 + 1, col, r1, col))


def test_chart_caches_hold_the_stored_values(book):
    for chart in book.charts.values():
        for ref in chart.iter(f"{{{NS['c']}}}numRef"):
            values = book.block(ref.find("c:f", NS).text).ravel()
            cached = {
                int(pt.get("idx")): float(pt.find("c:v", NS).text)
                for pt in ref.findall("c:numCache/c:pt", NS)
            }
            assert len(cached) == len(values)
            np.testing.assert_allclose(
                [cached[i] for i in range(len(values))], values.astype(float), rtol=1e-12
            )


# --------------------------------------------------------------------------------------------
# Other inputs
# --------------------------------------------------------------------------------------------


def test_pasted_covariance_and_errors_in_cells(book, tmp_path):
    _, cov, _, _ = sample_problem()
    pasted = replace(
        SAMPLE, covariance=tuple(map(tuple, cov * 1.21)), target_return=0.30
    )  # volatilities +10%; unreachable target
    result = build_workbook(tmp_path / "pasted.xlsx", pasted)
    other = Book(tmp_path / "pasted.xlsx")
    assert other.name_block("cov_source")[0, 0] == "Covariance matrix"
    np.testing.assert_allclose(other.numbers("cov"), cov * 1.21, rtol=1e-12)
    np.testing.assert_allclose(
        other.numbers("vol_used").ravel(), np.array(SAMPLE.volatilities) * 1.1, rtol=1e-12
    )
    target_errors = [e for e in result.errors if "#INFEASIBLE!" in e]
    assert target_errors
    assert "30%" in target_errors[0]
    assert other.name_block("w_target")[0, 0].startswith("#INFEASIBLE!")
    # The layout does not depend on the results: the same names, the same places.
    assert other.names == book.names


def test_static_workbook_has_values_and_no_formulas(tmp_path):
    build_workbook(tmp_path / "static.xlsx", static=True)
    book = Book(tmp_path / "static.xlsx")
    assert list(book.formulas()) == []
    assert book.name_block("frontier_table")[0, 0] == "Return"
    assert isinstance(book.name_block("w_gmv")[0, 0], float)


def sample_subset(keep: list[int], **changes) -> object:
    """The sample assumptions restricted to the assets ``keep``, with other fields changed."""
    return replace(
        SAMPLE,
        names=tuple(SAMPLE.names[i] for i in keep),
        expected_returns=tuple(SAMPLE.expected_returns[i] for i in keep),
        volatilities=tuple(SAMPLE.volatilities[i] for i in keep),
        correlations=tuple(tuple(SAMPLE.correlations[i][j] for j in keep) for i in keep),
        **changes,
    )


def test_fewer_assets_and_points(tmp_path):
    small = sample_subset(
        [0, 3, 7, 8], min_weights=(None,) * 4, max_weights=(None,) * 4, frontier_points=7
    )
    result = build_workbook(tmp_path / "small.xlsx", small)
    assert result.errors == []
    book = Book(tmp_path / "small.xlsx")
    assert book.name_block("frontier_table").shape == (8, 7)
    assert (book.name_block("lower") == None).all()  # noqa: E711 (object array)
    refs = series_refs(book.charts["xl/charts/chart2.xml"])
    assert len(refs) == 4


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            {
                "names": ("A",),
                "expected_returns": (0.05,),
                "volatilities": (0.1,),
                "correlations": ((1.0,),),
                "min_weights": (None,),
                "max_weights": (None,),
            },
            "at least 2 assets",
        ),
        ({"expected_returns": (0.05,) * 3}, "expected_returns has 3 values for 10 assets"),
        ({"correlations": ((1.0,),)}, "correlations must be a 10x10 matrix"),
        ({"frontier_points": 1}, "between 2 and"),
        ({"names": ("A",) * 10}, "unique"),
    ],
)
def test_assumptions_are_checked(change, match, tmp_path):
    with pytest.raises(InputError, match=match):
        build_workbook(tmp_path / "bad.xlsx", replace(SAMPLE, **change))


# --------------------------------------------------------------------------------------------
# CSV of assets
# --------------------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_read_assumptions_csv(tmp_path):
    path = write_csv(
        tmp_path / "assets.csv",
        [
            [
                "asset",
                "expected_return",
                "volatility",
                "min_weight",
                "max_weight",
                "Stocks",
                "Bonds",
                "Gold",
            ],
            ["Stocks", "7%", "16%", "", "95%", "1", "0.1", "0.05"],
            ["Bonds", "0.04", "0.05", "0.1", "", "0.1", "1", "0.2"],
            ["Gold", "4.5%", "15%", "", "", "0.05", "0.2", "1"],
        ],
    )
    a = read_assumptions_csv(path)
    assert a.names == ("Stocks", "Bonds", "Gold")
    assert a.expected_returns == pytest.approx((0.07, 0.04, 0.045))
    assert a.min_weights == (None, 0.1, None)
    assert a.max_weights[0] == pytest.approx(0.95)
    assert a.max_weights[1:] == (None, None)
    assert a.correlations[0] == pytest.approx((1.0, 0.1, 0.05))
    assert a.risk_free_rate == SAMPLE.risk_free_rate
    assert build_workbook(tmp_path / "assets.xlsx", a).errors == []


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([["name", "mu"], ["A", "1"], ["B", "2"]], "header must start with"),
        (
            [
                ["asset", "expected_return", "volatility", "min_weight", "max_weight", "A"],
                ["A", "1", "1", "", "", "1"],
                ["B", "1", "1", "", "", "1"],
            ],
            "2 correlation columns",
        ),
        (
            [
                ["asset", "expected_return", "volatility", "min_weight", "max_weight", "B", "A"],
                ["A", "1", "1", "", "", "1", "0"],
                ["B", "1", "1", "", "", "0", "1"],
            ],
            "headed by the asset names in the order of the rows",
        ),
        (
            [
                ["asset", "expected_return", "volatility", "min_weight", "max_weight", "A", "B"],
                ["A", "x", "0.1", "", "", "1", "0"],
                ["B", "0.1", "0.1", "", "", "0", "1"],
            ],
            "row 2: expected_return 'x' is not a number",
        ),
        (
            [
                ["asset", "expected_return", "volatility", "min_weight", "max_weight", "A", "B"],
                ["A", "0.1", "0.1", "", "", "1", ""],
                ["B", "0.1", "0.1", "", "", "0", "1"],
            ],
            "row 2: B is blank",
        ),
        (
            [["asset", "expected_return", "volatility", "min_weight", "max_weight", "A", "B"]],
            "at least 2 asset rows",
        ),
    ],
)
def test_bad_csv(rows, match, tmp_path):
    with pytest.raises(InputError, match=match):
        read_assumptions_csv(write_csv(tmp_path / "bad.csv", rows))


def test_missing_csv(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_assumptions_csv(tmp_path / "nope.csv")


# --------------------------------------------------------------------------------------------
# Asset label placement
# --------------------------------------------------------------------------------------------


def test_label_positions_avoid_overlaps():
    # Two assets at the same height, close together: the left one's label must not run right
    # into the other point.
    points = np.array([[0.17, 0.072], [0.205, 0.072], [0.05, 0.04]])
    pos = label_positions(
        points, ["Developed ex-US equity", "US small-cap", "Bonds"], np.empty((0, 2))
    )
    assert pos[0] != "right"
    assert pos[2] == "right"
    assert label_positions(np.array([[np.nan, np.nan]]), ["x"], np.empty((0, 2))) == ["right"]


def test_label_positions_suit_both_routes_of_the_switch():
    # Alone, the label goes right. In the other scene (the other route of the switch, same
    # label, same series) the right side is crowded: a position good in both is chosen.
    points, names = np.array([[0.10, 0.05]]), ["MSFT"]
    scale = np.array([[0.30, 0.20]])
    assert label_positions(points, names, scale) == ["right"]
    crowd = np.array([[0.10 + 0.004 * i, 0.05] for i in range(1, 12)])
    other = (np.array([[0.10, 0.05]]), ["MSFT"], np.vstack([scale, crowd]))
    assert label_positions(points, names, scale, also=[other]) != ["right"]
    # A scene without finite points does not count.
    empty = (np.array([[np.nan, np.nan]]), ["MSFT"], np.empty((0, 2)))
    assert label_positions(points, names, scale, also=[empty]) == ["right"]


def test_assumptions_defaults():
    a = Assumptions(
        names=("A", "B"),
        expected_returns=(0.05, 0.07),
        volatilities=(0.1, 0.2),
        correlations=((1.0, 0.3), (0.3, 1.0)),
        min_weights=(None, None),
        max_weights=(None, None),
    )
    a.check()
    np.testing.assert_allclose(a.covariance_matrix(), [[0.01, 0.006], [0.006, 0.04]])
