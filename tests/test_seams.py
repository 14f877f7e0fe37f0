"""The core's seams: one implementation per rule, and the boundaries around the core.

Each rule the package applies in several places (the KKT certificate, the Sharpe ratio, whether
a target is in range, weight cleaning) has one implementation; these tests pin it down and
check that its callers agree with it exactly. The boundary tests check that code outside the
core reaches it only through its public modules, and that every exception class lives in
:mod:`xlfrontier.exceptions`.
"""

from __future__ import annotations

import ast
import math
import pathlib

import numpy as np
import pytest

import xlfrontier
from xlfrontier import exceptions
from xlfrontier.core._evaluate import target_in_range
from xlfrontier.core._weights import clean_weights
from xlfrontier.core.metrics import sharpe_ratio
from xlfrontier.core.results import certify

PACKAGE = pathlib.Path(xlfrontier.__file__).parent
MU = np.array([0.04, 0.08, 0.11])
COV = np.array([[0.0025, 0.0015, 0.0010], [0.0015, 0.0225, 0.0180], [0.0010, 0.0180, 0.0484]])


def _certify(w, cov, eta=0.0, state=None, mu=None, target=None):
    n = w.size
    mu = np.zeros(n) if mu is None else mu
    state = np.zeros(n, dtype=np.int8) if state is None else state
    return certify(
        w,
        cov @ w,
        eta,
        state,
        mu,
        np.zeros(n),
        np.full(n, np.inf),
        var_max=float(cov.diagonal().max()),
        mu_absmax=float(np.abs(mu).max()),
        target=target,
    )


def test_certify_accepts_the_analytic_gmv_and_measures_a_wrong_portfolio():
    cov = np.diag([1.0, 4.0])
    gmv = _certify(np.array([0.8, 0.2]), cov)  # w ∝ Σ⁻¹1: Σw = (0.8, 0.8)
    assert gmv.budget_multiplier == pytest.approx(1.6)
    assert gmv.kkt.is_optimal(1e-15)
    assert gmv.status == "optimal"
    # Equal weights: 2Σw = (1, 4), γ = 2.5, z = ∓1.5 on free assets, scale max|2Σw| = 4.
    bad = _certify(np.array([0.5, 0.5]), cov)
    assert bad.budget_multiplier == pytest.approx(2.5)
    assert bad.kkt.dual == pytest.approx(1.5 / 4.0)
    assert bad.status == "inaccurate"
    np.testing.assert_array_equal(bad.bound_multipliers, [0.0, 0.0])  # zero on free assets


def test_certify_counts_a_missed_target_as_primal_violation():
    w = np.array([0.8, 0.2])
    cert = _certify(w, np.diag([1.0, 4.0]), mu=np.array([0.05, 0.10]), target=0.07)
    assert cert.kkt.primal == pytest.approx(0.07 - 0.06)


def test_certify_is_what_the_optimisers_report():
    res = xlfrontier.min_variance(MU, COV, 0.07)
    state = np.where(res.at_lower, -1, np.where(res.at_upper, 1, 0)).astype(np.int8)
    cert = certify(
        res.weights,
        COV @ res.weights,
        res.return_multiplier,
        state,
        MU,
        np.zeros(3),
        np.full(3, np.inf),
        var_max=float(COV.diagonal().max()),
        mu_absmax=float(np.abs(MU).max()),
        long_only=True,
        target=0.07,
    )
    assert cert.kkt == res.kkt
    assert cert.budget_multiplier == res.budget_multiplier
    np.testing.assert_array_equal(cert.bound_multipliers, res.bound_multipliers)


def test_one_sharpe_ratio_everywhere():
    assert sharpe_ratio(0.08, 0.15, 0.02) == (0.08 - 0.02) / 0.15
    assert math.isnan(sharpe_ratio(0.08, 0.0, 0.02))
    arr = sharpe_ratio(np.array([0.08, 0.05]), np.array([0.15, 0.0]), 0.02)
    assert arr[0] == sharpe_ratio(0.08, 0.15, 0.02)
    assert math.isnan(arr[1])
    res = xlfrontier.max_sharpe(MU, COV, 0.02)
    assert res.sharpe_ratio == sharpe_ratio(res.expected_return, res.volatility, 0.02)
    sample = xlfrontier.efficient_frontier(MU, COV).sample(7)
    expected = [
        sharpe_ratio(r, v, 0.02) for r, v in zip(sample.returns, sample.volatilities, strict=True)
    ]
    assert sample.sharpe_ratios(0.02).tolist() == expected
    w = [0.5, 0.3, 0.2]
    assert xlfrontier.portfolio_sharpe(w, MU, COV, 0.02) == sharpe_ratio(
        xlfrontier.portfolio_return(w, MU), xlfrontier.portfolio_volatility(w, COV), 0.02
    )


def test_target_range_slack_for_each_caller():
    # Returns and volatilities: 1e-12 relative to the target, at least 1e-12.
    assert target_in_range(0.2 + 0.9e-12, 0.0, 0.2)
    assert not target_in_range(0.2 + 1.1e-12, 0.0, 0.2)
    assert target_in_range(-0.9e-12, 0.0, 0.2)
    # Compared with far limits (min_variance's LP range), the slack grows with the limits.
    assert not target_in_range(-0.5e-9, 0.0, 1e3)
    assert target_in_range(-0.5e-9, 0.0, 1e3, with_limits=True)
    # A variance (max_return): relative to the variance itself, plus an absolute rounding level.
    assert not target_in_range(0.01 * (1 - 2e-12), 0.01, np.inf, floor=0.0, with_limits=True)
    assert target_in_range(0.01 * (1 - 0.5e-12), 0.01, np.inf, floor=0.0, with_limits=True)
    assert target_in_range(-1e-15, 0.0, np.inf, floor=0.0, with_limits=True, atol=1e-14)
    assert not target_in_range(math.nan, 0.0, 1.0)


def test_the_optimisers_use_the_range_rule():
    ef = xlfrontier.efficient_frontier(MU, COV)
    top = ef.max_return
    assert ef.at_return(top + 0.5e-12).expected_return == pytest.approx(top, abs=1e-15)
    with pytest.raises(exceptions.TargetOutOfRangeError, match="above the highest attainable"):
        ef.at_return(top + 2e-12)
    with pytest.raises(exceptions.TargetOutOfRangeError, match="below the lowest attainable"):
        xlfrontier.max_return(MU, COV, ef.min_volatility * (1 - 1e-9))


def test_weight_cleaning_rules():
    lo, up = np.zeros(3), np.array([0.5, np.inf, np.inf])
    w = np.array([0.5 + 1e-13, 0.3, 0.2 - 1e-13 + 1e-12])
    out, _, at_upper = clean_weights(w, lo, up, fix_budget=True)
    assert out[0] == 0.5  # put on its upper bound
    assert at_upper.tolist() == [True, False, False]
    # The budget drift (1e-12) and what the snap moved went to the largest free weight.
    assert abs(out.sum() - 1.0) <= 2e-16
    assert out[1] != w[1]
    assert out[2] == w[2]
    # The output rule: dust relative to the largest weight goes, -0.0 becomes 0.0.
    big = np.array([1e3 - 1e-10, -1e-10, -0.0])
    cleaned = clean_weights(big, output=True)[0]
    assert cleaned.tolist() == [1e3 - 1e-10, 0.0, 0.0]
    assert math.copysign(1.0, cleaned[2]) == 1.0


def test_the_excel_layer_reaches_the_core_only_through_public_modules():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            private = [n for n in names if n.startswith("xlfrontier.core._")]
            if any(not n.startswith("xlfrontier.core.__") for n in private):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_every_exception_class_lives_in_exceptions():
    defined = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                base_names = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if any(b.endswith(("Error", "Exception")) for b in base_names):
                    defined.append((path.name, node.name))
    assert {f for f, _ in defined} == {"exceptions.py"}, defined


def test_moved_exceptions_keep_their_old_names_and_bases():
    from xlfrontier import cli
    from xlfrontier.excel import _provenance, addin
    from xlfrontier.workbook import _output, recalc

    assert addin.AddinError is exceptions.AddinError
    assert addin.AddinConfigError is exceptions.AddinConfigError
    assert issubclass(exceptions.AddinConfigError, (exceptions.AddinError, ValueError))
    assert _provenance.DisplacedPackageError is exceptions.DisplacedPackageError
    assert issubclass(exceptions.DisplacedPackageError, ImportError)
    assert recalc.WorkbookError is exceptions.WorkbookError
    assert issubclass(exceptions.WorkbookError, (exceptions.XlfrontierError, ValueError))
    assert _output.OutputExistsError is exceptions.OutputExistsError
    assert issubclass(exceptions.OutputExistsError, exceptions.OutputError)
    assert cli._UserError.exit_code == cli.EXIT_ERROR
    assert cli._ExistsError.exit_code == cli.EXIT_EXISTS
