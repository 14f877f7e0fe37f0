"""Problems large enough for the large-matrix code paths, and inputs left untouched.

From n = 96 the Cholesky factorisations go through LAPACK directly, from 150 free assets the
single solves use Cholesky + Schur complement on scratch submatrices factored in place, and
one-shot solves use the caller's covariance without copying it. These tests cross those
thresholds: answers agree with quadprog, every result carries its certificate, and no public
function modifies the arrays it was given (a factorisation in place of the caller's matrix
would corrupt later calls silently).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from _reference import (
    QUADPROG_OBJ_RTOL,
    Case,
    check_certificate,
    quadprog_max_utility,
    quadprog_min_variance,
    random_bounds,
    random_pd_cov,
    rel_diff,
)

from xlfrontier.core.frontier import efficient_frontier
from xlfrontier.core.optimize import (
    global_min_variance,
    max_return,
    max_sharpe,
    max_utility,
    min_variance,
)

SIZES = (100, 160, 320)


def _case(seed: int, n: int, bounds: str) -> Case:
    rng = np.random.default_rng([seed, n, len(bounds)])
    cov = random_pd_cov(rng, n, n_factors=5)
    mu = 0.02 + 0.5 * np.sqrt(np.diag(cov)) * rng.uniform(0.2, 1.0, size=n)
    lo, up = random_bounds(rng, n, bounds)
    return Case(mu, cov, lo, up, f"large(seed={seed}, n={n}, bounds={bounds!r})")


def _singular_case(seed: int, n: int) -> Case:
    rng = np.random.default_rng([seed, n, 99])
    f = rng.normal(0.0, 0.1, size=(n, n // 4)) + 0.05
    cov = f @ f.T
    cov = 0.5 * (cov + cov.T)
    mu = rng.normal(0.08, 0.04, size=n)
    return Case(mu, cov, np.zeros(n), np.full(n, np.inf), f"low-rank n={n}", pd=False)


def _calls(case: Case):
    mu, cov, lo, up = case.mu, case.cov, case.lower, case.upper
    r_mid = float(np.quantile(mu, 0.7))
    return {
        "min_variance": lambda: min_variance(mu, cov, r_mid, lo, up),
        "gmv": lambda: global_min_variance(cov, lo, up),
        "gmv_mu": lambda: global_min_variance(cov, lo, up, mu=mu),
        "max_sharpe": lambda: max_sharpe(mu, cov, 0.01, lo, up),
        "max_utility": lambda: max_utility(mu, cov, 3.0, lo, up),
        "max_return": lambda: max_return(mu, cov, 0.2, lo, up),
        "frontier": lambda: efficient_frontier(mu, cov, lo, up).sample(7),
    }


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kind", ["pd_long_only", "pd_box", "singular"])
def test_inputs_are_not_modified(n, kind):
    case = _singular_case(1, n) if kind == "singular" else _case(1, n, kind[3:])
    before = {k: np.copy(getattr(case, k)) for k in ("mu", "cov", "lower", "upper")}
    for name, call in _calls(case).items():
        with contextlib.suppress(ValueError):  # out-of-range target: only inputs matter here
            call()
        for k, v in before.items():
            assert np.array_equal(getattr(case, k), v), f"{name} modified {k} ({case.label})"


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("bounds", ["long_only", "box", "upper"])
def test_large_single_solves_vs_quadprog(n, bounds):
    case = _case(2, n, bounds)
    mu, cov, lo, up = case.mu, case.cov, case.lower, case.upper
    gmv = global_min_variance(cov, lo, up)
    check_certificate(gmv, None, cov, lo, up, kind="gmv", where=case.label)
    ref = quadprog_min_variance(case)
    assert rel_diff(gmv.variance, ref.variance) <= QUADPROG_OBJ_RTOL, case.label
    ef = efficient_frontier(mu, cov, lo, up)
    for q in (0.2, 0.5, 0.8):
        r = ef.min_return + q * (ef.max_return - ef.min_return)
        res = min_variance(mu, cov, r, lo, up)
        check_certificate(res, mu, cov, lo, up, target_return=r, where=case.label)
        ref = quadprog_min_variance(case, r)
        assert rel_diff(res.variance, ref.variance) <= QUADPROG_OBJ_RTOL, (case.label, q)
        on_path = ef.at_return(r)
        assert rel_diff(on_path.variance, ref.variance) <= QUADPROG_OBJ_RTOL, (case.label, q)
    util = max_utility(mu, cov, 4.0, lo, up)
    check_certificate(util, mu, cov, lo, up, where=case.label)
    ref = quadprog_max_utility(case, 4.0)
    obj = float(mu @ util.weights) - 2.0 * util.variance
    ref_obj = float(mu @ ref.weights) - 2.0 * ref.variance
    assert obj >= ref_obj - 1e-12 * max(1.0, abs(ref_obj)), case.label
    ms = max_sharpe(mu, cov, 0.01, lo, up)
    check_certificate(ms, mu, cov, lo, up, risk_free_rate=0.01, where=case.label)
    assert ms.sharpe_ratio == pytest.approx(ef.max_sharpe(0.01).sharpe_ratio, rel=1e-12)


@pytest.mark.parametrize("n", SIZES)
def test_large_frontier_corners_certified(n):
    case = _case(3, n, "long_only")
    ef = efficient_frontier(case.mu, case.cov)
    assert len(ef.corners) >= 3
    for c in ef.corners:
        check_certificate(c, case.mu, case.cov, case.lower, case.upper, where=case.label)
    s = ef.sample(25)
    np.testing.assert_allclose(s.weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert s.weights.min() >= 0.0
    np.testing.assert_allclose(
        s.volatilities**2, np.einsum("ij,jk,ik->i", s.weights, case.cov, s.weights), rtol=1e-12
    )
