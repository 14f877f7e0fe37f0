"""The package as shipped: one version, licence and changelog, the template found by one rule."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import xlfrontier
from xlfrontier import _resources
from xlfrontier.workbook.template import TEMPLATE_FILENAME

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_version_is_written_once():
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "xlfrontier.__version__"
    }
    assert re.fullmatch(r"\d+\.\d+\.\d+", xlfrontier.__version__)


def test_cli_reports_the_version():
    out = subprocess.run(
        [sys.executable, "-c", "from xlfrontier.cli import main; main(['--version'])"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(Path(xlfrontier.__file__).parents[1])},
        check=False,
    )
    assert out.stdout.strip() == f"xlfrontier {xlfrontier.__version__}"


def test_changelog_lists_the_current_version():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert releases[0] == "Unreleased"
    assert releases[1] == xlfrontier.__version__


def test_license_is_mit_as_the_metadata_says():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 xlfrontier developers\n")


def test_package_data_globs_match_real_files():
    package = REPO / "addin" / "xlfrontier"
    for pattern in PYPROJECT["tool"]["setuptools"]["package-data"]["xlfrontier"]:
        assert list(package.glob(pattern)), pattern


def test_template_is_found_in_a_checkout():
    assert _resources.TEMPLATE_FILENAME == TEMPLATE_FILENAME
    assert _resources.find_templates_dir() == REPO / "workbook_templates"
    assert _resources.find_templates_dir(REPO / "tests" / "core") == REPO / "workbook_templates"
    assert _resources.template_file() == REPO / "workbook_templates" / TEMPLATE_FILENAME


def test_template_inside_the_package_comes_first(tmp_path, monkeypatch):
    """A wheel's copy (``xlfrontier/workbook_templates/``) wins over any checkout."""
    folder = tmp_path / _resources.TEMPLATES_FOLDER
    folder.mkdir()
    (folder / TEMPLATE_FILENAME).write_bytes(b"wheel copy")
    monkeypatch.setattr(_resources, "_PACKAGE", tmp_path)
    assert _resources.template_file() == folder / TEMPLATE_FILENAME
    # Neither a packaged copy nor a checkout: None.
    monkeypatch.setattr(_resources, "_PACKAGE", tmp_path / "elsewhere")
    assert _resources.template_file() is None


def test_a_foreign_project_is_not_a_checkout(tmp_path):
    (tmp_path / "workbook_templates").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n', encoding="utf-8")
    assert _resources.find_templates_dir(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "xlfrontier"\n', encoding="utf-8")
    assert _resources.find_templates_dir(tmp_path) == tmp_path / "workbook_templates"


def test_install_ps1_finds_the_template_inside_an_installed_wheel():
    text = (REPO / "install.ps1").read_text(encoding="utf-8")
    packaged = f"xlfrontier\\{_resources.TEMPLATES_FOLDER}\\{_resources.TEMPLATE_FILENAME}"
    assert f"(Join-Path $VenvDir 'Lib\\site-packages\\{packaged}')" in text


def test_readme_worksheet_example_shows_what_the_functions_return():
    """The README's numbers are the core's answers, formatted as the README shows them."""
    import numpy as np
    import pytest

    from xlfrontier import TargetOutOfRangeError, max_sharpe, min_variance

    text = (REPO / "README.md").read_text(encoding="utf-8")
    mu = np.array([0.04, 0.08, 0.11])
    cov = np.array([[0.0025, 0.0015, 0.0010], [0.0015, 0.0225, 0.0180], [0.0010, 0.0180, 0.0484]])
    for name, m, row in zip(("Bonds", "Equities", "Emerging"), mu, cov, strict=True):
        cells = " | ".join(f"{x:.4f}" for x in row)
        assert f"| {name} | {m:.0%} | {cells} |" in text
    res = min_variance(mu, cov, 0.07)
    for w in res.weights:
        assert f"| {w:.2%} |" in text
    assert f"| Volatility | {res.volatility:.2%} |" in text
    assert f"| Variance | {res.variance:.5f} |" in text
    assert f"| Sharpe ratio | {(res.expected_return - 0.02) / res.volatility:.3f} |" in text
    assert f"array([{', '.join(f'{w:.4f}' for w in res.weights)}])" in text
    tangency = max_sharpe(mu, cov, 0.02).weights
    assert f"({' / '.join(f'{w:.2%}' for w in tangency)})" in text
    with pytest.raises(TargetOutOfRangeError, match="above the highest attainable") as err:
        min_variance(mu, cov, 0.15)
    assert f"`#INFEASIBLE! r: {err.value}`" in text
