"""The ``xlfrontier`` command line: main job, template, recalc, exit codes, start-up cost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xlfrontier import cli
from xlfrontier._resources import find_templates_dir
from xlfrontier.core import efficient_frontier, global_min_variance, max_sharpe
from xlfrontier.workbook.template import SAMPLE, TEMPLATE_FILENAME

REPO = Path(__file__).resolve().parents[2]
ADDIN = REPO / "addin"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sample():
    mu = np.array(SAMPLE.expected_returns)
    cov = np.outer(SAMPLE.volatilities, SAMPLE.volatilities) * np.array(SAMPLE.correlations)
    return mu, cov, np.array(SAMPLE.min_weights), np.array(SAMPLE.max_weights)


def test_main_job_writes_the_workbook_and_prints_the_results(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys)
    assert code == 0, err
    assert err == ""
    assert (tmp_path / cli.DEFAULT_OUTPUT).is_file()
    assert f"Wrote {cli.DEFAULT_OUTPUT}" in out
    mu, cov, lo, up = sample()
    gmv = global_min_variance(cov, lo, up, mu=mu)
    tangency = max_sharpe(mu, cov, SAMPLE.risk_free_rate, lo, up)
    lines = out.splitlines()
    row = next(line for line in lines if line.strip().startswith("Expected return"))
    assert row.split()[-3:] == [
        f"{gmv.expected_return:.2%}",
        f"{tangency.expected_return:.2%}",
        "6.00%",
    ]
    row = next(line for line in lines if line.strip().startswith("Sharpe ratio"))
    assert row.split()[-2] == f"{tangency.sharpe_ratio:.3f}"
    assert "Feasible target returns" in out
    assert "Inputs from Assumptions: sample data" in out
    assert "offers only Assumptions" not in out
    # The frontier table: one line per point, from the GMV to the highest return.
    frontier = efficient_frontier(mu, cov, lo, up).sample(SAMPLE.frontier_points)
    start = next(i for i, line in enumerate(lines) if line.startswith("Efficient frontier"))
    table = lines[start + 2 :]
    assert len(table) == SAMPLE.frontier_points
    assert table[0].split()[:2] == [f"{frontier.returns[0]:.2%}", f"{frontier.volatilities[0]:.2%}"]
    assert table[-1].split()[:2] == [
        f"{frontier.returns[-1]:.2%}",
        f"{frontier.volatilities[-1]:.2%}",
    ]
    assert "US Treasuries 40%" in table[0]
    # Running again replaces the workbook and says so.
    code, out, _ = run(capsys, "run")
    assert code == 0
    assert "(replaced)" in out


def test_run_options(capsys, tmp_path):
    out_file = tmp_path / "custom.xlsx"
    code, out, err = run(
        capsys,
        "--quiet",
        "--out",
        str(out_file),
        "--points",
        "9",
        "--rf",
        "2%",
        "--target",
        "0.055",
        "--static",
    )
    assert code == 0, err
    assert out.strip() == str(out_file)
    code, out, _ = run(capsys, "run", "--out", str(tmp_path), "--points", "5")
    assert code == 0
    assert (tmp_path / cli.DEFAULT_OUTPUT).is_file()
    assert "Efficient frontier (5 portfolios" in out


def test_unreachable_target_is_reported_with_exit_1(capsys, tmp_path):
    code, out, err = run(capsys, "--target", "20%", "--out", str(tmp_path / "t.xlsx"))
    assert code == 1
    assert "Some results are errors" in err
    assert "#INFEASIBLE! r: target return 20% is above the highest attainable" in err
    assert "more cells that depend on these" in err
    assert "Traceback" not in out + err
    assert (tmp_path / "t.xlsx").is_file()  # written, with the error texts in the cells


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "60"], "looks like a percentage"),
        (["--rf", "abc"], "is not a rate"),
        (["--points", "1"], "points must be between 2 and"),
        (["recalc", "a.xlsx", "--out", "b.xlsx", "--in-place"], "not allowed with argument"),
        (["frobnicate"], "invalid choice"),
        (["--inputs-from", "bonds"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit, match=r"^2$") as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


TWO_ASSETS_CSV = (
    "asset,expected_return,volatility,min_weight,max_weight,Stocks,Bonds\n"
    "Stocks,7%,16%,,,1,0.2\nBonds,4%,5%,,,0.2,1\n"
)


def test_assets_csv(capsys, tmp_path):
    good = tmp_path / "assets.csv"
    good.write_text(TWO_ASSETS_CSV, encoding="utf-8")
    code, out, err = run(capsys, "--assets", str(good), "--out", str(tmp_path / "a.xlsx"))
    assert code == 0, err
    assert "2 assets" in out
    assert "Assets read from assets.csv" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("asset,expected_return\nStocks,7%\n", encoding="utf-8")
    code, out, err = run(capsys, "--assets", str(bad), "--out", str(tmp_path / "b.xlsx"))
    assert code == 1
    assert err.startswith("xlfrontier run: error: bad.csv")
    assert not (tmp_path / "b.xlsx").exists()
    code, _, err = run(capsys, "--assets", str(tmp_path / "missing.csv"))
    assert code == 1
    assert "cannot read" in err
    assert "Traceback" not in err


def test_inputs_from_prices(capsys, tmp_path):
    from xlfrontier.core.estimation import cov_matrix, mean_returns
    from xlfrontier.workbook.template import SAMPLE_PRICES

    code, out, err = run(capsys, "--inputs-from", "prices", "--out", str(tmp_path / "p.xlsx"))
    assert code == 0, err
    prices = np.array(SAMPLE_PRICES.prices, dtype=float)
    mu, cov = mean_returns(prices, 12), cov_matrix(prices, 12)
    lo, up = np.array(SAMPLE_PRICES.min_weights), np.array(SAMPLE_PRICES.max_weights)
    gmv = global_min_variance(cov, lo, up, mu=mu)
    tangency = max_sharpe(mu, cov, SAMPLE.risk_free_rate, lo, up)
    assert out.splitlines()[0].endswith("target return 18.00%")
    assert "Inputs from Prices: estimated from the Prices sheet (121 dates" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("Expected return"))
    assert row.split()[-3:] == [
        f"{gmv.expected_return:.2%}",
        f"{tangency.expected_return:.2%}",
        "18.00%",
    ]
    assert any(line.strip().startswith("MSFT ") for line in out.splitlines())


def test_prices_csv(capsys, tmp_path):
    assets = tmp_path / "assets.csv"
    assets.write_text(TWO_ASSETS_CSV, encoding="utf-8")
    two = tmp_path / "two.csv"
    two.write_text(
        "date,SPY,AGG\n"
        + "".join(f"2023-{m:02d}-28,{100 + m * (-1) ** m},{50 + 0.2 * m}\n" for m in range(1, 13)),
        encoding="utf-8",
    )
    three = tmp_path / "three.csv"
    three.write_text(
        "date,A,B,C\n"
        + "".join(f"2023-{m:02d}-28,{10 + m},{20 - m / 3},{7 + m % 4}\n" for m in range(1, 13)),
        encoding="utf-8",
    )
    book = str(tmp_path / "b.xlsx")
    code, out, err = run(capsys, "--assets", str(assets), "--prices", str(two), "--out", book)
    assert code == 0, err
    assert "offers only Assumptions" not in out
    code, out, err = run(
        capsys,
        "--assets",
        str(assets),
        "--prices",
        str(two),
        "--inputs-from",
        "prices",
        "--out",
        book,
        "--force",  # replaces the workbook of the first run
    )
    assert code == 0, err
    assert "    SPY " in out
    # Another number of assets: the workbook is written, the switch offers only Assumptions.
    code, out, err = run(
        capsys, "--assets", str(assets), "--prices", str(three), "--out", book, "--force"
    )
    assert code == 0, err
    assert (
        "'Inputs from' offers only Assumptions: the Prices sheet has 3 assets, the asset "
        "table 2 (give --prices with 2 price columns to switch)"
    ) in out
    code, _, err = run(capsys, "--prices", str(three), "--inputs-from", "prices", "--out", book)
    assert code == 1
    assert "needs as many price columns as assets: the prices have 3, the asset table 10" in err
    code, _, err = run(capsys, "--prices", str(tmp_path / "missing.csv"), "--out", book)
    assert code == 1
    assert "cannot read" in err
    assert "Traceback" not in err


def test_bad_output_path(capsys, tmp_path):
    code, _, err = run(capsys, "--out", str(tmp_path / "book.csv"))
    assert code == 1
    assert "must be an .xlsx file" in err
    code, _, err = run(capsys, "--out", str(tmp_path / "no" / "such" / "dir" / "b.xlsx"))
    assert code == 1
    assert "cannot write" in err


def test_template_command(capsys, tmp_path):
    code, out, _ = run(capsys, "template", "--out", str(tmp_path))
    assert code == 0
    written = tmp_path / TEMPLATE_FILENAME
    assert out.strip() == f"Wrote the template: {written}"
    assert written.read_bytes() == (REPO / "workbook_templates" / TEMPLATE_FILENAME).read_bytes()
    code, _, err = run(capsys, "template", "--out", str(tmp_path / "x.txt"))
    assert code == 1
    assert "give an .xlsx file" in err


def test_template_default_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO / "tests")
    assert find_templates_dir(Path.cwd()) == REPO / "workbook_templates"
    monkeypatch.chdir(tmp_path)
    assert find_templates_dir(Path.cwd()) is None


def test_template_command_outside_a_checkout_writes_into_the_current_directory(
    capsys, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "template")
    assert code == 0
    assert out.strip() == f"Wrote the template: {tmp_path / TEMPLATE_FILENAME}"
    assert (tmp_path / TEMPLATE_FILENAME).is_file()


def test_recalc_command(capsys, tmp_path):
    pytest.importorskip("formulas")
    book = tmp_path / "book.xlsx"
    book.write_bytes((REPO / "workbook_templates" / TEMPLATE_FILENAME).read_bytes())
    code, out, err = run(capsys, "recalc", str(book))
    assert code == 0, err
    assert out.startswith("Recalculated 80 formulas of book.xlsx -> ")
    assert (tmp_path / "book.recalc.xlsx").is_file()
    code, out, _ = run(capsys, "recalc", str(book), "--out", str(tmp_path / "other.xlsx"))
    assert code == 0
    assert (tmp_path / "other.xlsx").is_file()
    before = book.stat().st_mtime_ns
    code, _, _ = run(capsys, "recalc", str(book), "--in-place")
    assert code == 0
    assert book.stat().st_mtime_ns != before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"plain text", "not a zip package"),
    ],
)
def test_recalc_bad_files_exit_1(capsys, tmp_path, content, message):
    path = tmp_path / "book.xlsx"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "recalc", str(path))
    assert code == 1
    assert err.startswith("xlfrontier recalc: error:")
    assert message in err
    assert "Traceback" not in out + err


def test_recalc_without_formulas_package(capsys, tmp_path, monkeypatch):
    book = tmp_path / "book.xlsx"
    book.write_bytes((REPO / "workbook_templates" / TEMPLATE_FILENAME).read_bytes())
    monkeypatch.setitem(sys.modules, "formulas", None)  # import formulas -> ImportError
    code, _, err = run(capsys, "recalc", str(book))
    assert code == 1
    assert 'pip install "xlfrontier[recalc]"' in err


def test_addin_commands_are_optional(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "xlfrontier.excel.addin", None)
    with pytest.raises(SystemExit, match=r"^0$") as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "addin" not in capsys.readouterr().out.split("options:")[0].split("COMMAND")[-1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ADDIN), env.get("PYTHONPATH")]))
    return env


def test_console_start_up_is_lazy():
    code = (
        "import sys, xlfrontier.cli as c; p = c._parser(); "
        "heavy = ('xlsxwriter', 'formulas', 'xlwings', 'pandas', 'openpyxl', 'lxml'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    ).stdout
    assert out.strip() == "[]"


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "xlfrontier.cli", "--version"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("xlfrontier ")
