"""Constrained problems (issue 11): seeded random problems against a polished reference.

Every problem has general rows ``lo ≤ A w ≤ hi`` (sector groups with min and max, overlapping
region x sector groups, dense exposure rows, equalities; ``_reference.constrained_case``) on
top of the budget and the per-asset bounds. Each answer is checked

(a) against the reference: cvxpy + Clarabel at 1e-12 tolerances, polished to a certified KKT
    point (``_reference.polish_qp``: accurate to rounding), at a relative objective error of
    1e-12; where polishing cannot certify (a degenerate active set), against Clarabel itself
    one-sided at 1e-8, the tighter claim then resting on (b);
(b) by an independent certificate recomputed from the weights (``check_constrained``):
    rows within their limits to 1e-12, stationarity ``2Σw − ημ − γ1 − Aᵀλ − z = 0`` with
    ``λ = constraint_multipliers``, signs and complementarity;
(c) the frontier's corners against single solves at their returns (0 failed points).

The default run covers ~275 problems here and ~200 in ``test_constrained_degenerate`` (about
a minute together); ``XLFRONTIER_SLOW=1`` ten times as many plus 5,000 more (~10,000).
Tests that need the constrained engine skip, saying so, until
it has landed; the reference's own tests always run.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest
from _reference import (
    CLARABEL_OBJ_RTOL,
    CONS_KINDS,
    DEGENERATE_KINDS,
    PRIMAL_TOL,
    ConsCase,
    as_result,
    check_constrained,
    clarabel_c_max_sharpe,
    clarabel_c_min_variance,
    cons_return_range,
    constrained_case,
    is_feasible,
    polished_max_return,
    polished_max_sharpe,
    polished_max_utility,
    polished_min_variance,
    return_tol_from_volatility,
)

import xlfrontier
from xlfrontier.core.constraints import LinearConstraints
from xlfrontier.exceptions import (
    InfeasibleError,
    InputError,
    TargetOutOfRangeError,
    UnboundedError,
)

ENGINE = "constraints" in inspect.signature(xlfrontier.min_variance).parameters
needs_engine = pytest.mark.skipif(
    not ENGINE, reason="the constrained engine (issue 11, constraints=) has not landed yet"
)
SLOW = bool(os.environ.get("XLFRONTIER_SLOW"))
OBJ_RTOL = 1e-12  # against a certified (polished) reference: the accuracy target
SIZES = (2, 3, 4, 5, 6, 8, 11, 15, 20, 30, 45)
BOUNDS = ("long_only", "upper", "lower", "box", "short_half")


def budget(full: int) -> int:
    """Seeds per test: half of ``full`` in the slow run (CI's time), a tenth otherwise."""
    return full // 2 if SLOW else max(2, full // 10)


def _size(seed: int) -> int:
    return SIZES[seed % len(SIZES)]


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------
def _terms(w: np.ndarray, cov: np.ndarray) -> float:
    """``|w|ᵀ|Σ||w|``: the size of the terms summed in ``wᵀΣw`` (its rounding scale)."""
    return float(np.abs(w) @ np.abs(cov) @ np.abs(w))


def _var_floor(w: np.ndarray, w2: np.ndarray, cov: np.ndarray) -> float:
    """Absolute floor of a variance comparison: the rounding of ``wᵀΣw`` (``1e-13·|w|ᵀ|Σ||w|``)
    plus a volatility of ``1e-12·sqrt(max|Σ|)·‖w‖₁`` (a riskless optimum computes to ±1e-35,
    not 0)."""
    w1 = max(float(np.abs(w).sum()), float(np.abs(w2).sum()))
    return 1e-13 * max(_terms(w, cov), _terms(w2, cov)) + 1e-24 * float(np.abs(cov).max()) * w1 * w1


def _duality_gap(res) -> float:
    """First-order variance change from ``res``'s certified limit misses: Σ|λ|·primal."""
    lam = float(np.abs(res.constraint_multipliers).sum()) + float(
        np.abs(res.bound_multipliers).sum()
    )
    return lam * float(res.kkt.primal)


def assert_variance_matches(
    v: float, ref, certified: bool, w: np.ndarray, cov: np.ndarray, where: str
) -> None:
    """1e-12 relative against a certified reference; one-sided 1e-8 against Clarabel.

    The absolute floor is :func:`_var_floor`.
    """
    v_ref = ref.variance
    floor = _var_floor(w, ref.weights, cov)
    if certified:
        assert abs(v - v_ref) <= OBJ_RTOL * max(v, v_ref) + floor, (
            f"variance {v!r} vs polished reference {v_ref!r} "
            f"(rel {abs(v - v_ref) / max(v, v_ref, 1e-300):.2e}) [{where}]"
        )
    else:
        assert v <= v_ref + CLARABEL_OBJ_RTOL * max(v, v_ref) + floor, (
            f"variance {v!r} above Clarabel's {v_ref!r} [{where}]"
        )


def _cons(case: ConsCase) -> LinearConstraints:
    return case.constraints()


def _targets(case: ConsCase, r_gmv: float) -> list[float]:
    """Returns to solve at: both ends of the feasible range, the GMV return, points between."""
    lo, hi = cons_return_range(case)
    out = [lo, hi] if np.isfinite(lo) and np.isfinite(hi) else []
    if np.isfinite(hi):
        out += [r_gmv + q * (hi - r_gmv) for q in (0.3, 0.8)]
    if np.isfinite(lo):
        out.append(lo + 0.5 * (r_gmv - lo))
    return out


# --------------------------------------------------------------------------------------------
# One problem: every objective, reference and certificate
# --------------------------------------------------------------------------------------------
def _has_arbitrage(case: ConsCase) -> bool:
    """Whether a direction ``d`` with ``Σd = 0`` and ``1ᵀd = 0`` earns ``μᵀd > 0`` for ever.

    An LP independent of the engine: ``d`` may grow a weight only without an upper bound and
    shrink it only without a lower bound, and must keep every row that has a limit on the
    side it moves (a row with both limits fixed).
    """
    from scipy.optimize import linprog

    n = case.mu.size
    eq = [case.cov, np.ones((1, n))]
    both = np.isfinite(case.c_lower) & np.isfinite(case.c_upper)
    eq.append(case.A[both])
    ub = [case.A[np.isfinite(case.c_upper) & ~both], -case.A[np.isfinite(case.c_lower) & ~both]]
    A_ub = np.vstack(ub)
    bounds = [
        (-1.0 if np.isneginf(lo) else 0.0, 1.0 if np.isposinf(up) else 0.0)
        for lo, up in zip(case.lower, case.upper, strict=True)
    ]
    A_eq = np.vstack(eq)
    res = linprog(
        -case.mu,
        A_ub=A_ub if A_ub.size else None,
        b_ub=np.zeros(A_ub.shape[0]) if A_ub.size else None,
        A_eq=A_eq,
        b_eq=np.zeros(A_eq.shape[0]),
        bounds=bounds,
        method="highs",
    )
    scale = float(np.abs(case.mu).max()) or 1.0
    return res.status == 0 and -res.fun > 1e-9 * scale


def check_case(case: ConsCase, reference: bool = True, frontier: bool = True) -> int:
    """Solve ``case`` with every objective; certify and compare. Returns the answers checked.

    ``reference=False`` checks certificates only (no Clarabel). ``frontier`` traces the
    constrained frontier and checks its corners against single solves at their returns.
    """
    mu, cov, lo, up = case.mu, case.cov, case.lower, case.upper
    cons = _cons(case)
    where = case.label
    checked = 0

    if _has_arbitrage(case):
        # A riskless direction that earns a return and no limit stops: every objective that
        # rewards return is unbounded, as without rows.
        with pytest.raises(UnboundedError, match="arbitrage"):
            xlfrontier.global_min_variance(cov, lo, up, mu=mu, constraints=cons)
        return 1
    gmv = xlfrontier.global_min_variance(cov, lo, up, mu=mu, constraints=cons)
    check_constrained(gmv, case, kind="gmv", where=f"{where} gmv")
    checked += 1
    if reference:
        ref, pol = polished_min_variance(case)
        assert_variance_matches(gmv.variance, ref, pol.certified, gmv.weights, cov, where)

    for r in _targets(case, gmv.expected_return):
        res = xlfrontier.min_variance(mu, cov, r, lo, up, constraints=cons)
        tag = f"{where} target={r!r}"
        check_constrained(res, case, target_return=r, where=tag)
        checked += 1
        if reference:
            ref, pol = polished_min_variance(case, r)
            assert_variance_matches(res.variance, ref, pol.certified, res.weights, cov, tag)

    r_lo, r_hi = cons_return_range(case)
    if not np.isfinite(r_hi):
        # unlimited short selling that the rows do not bound: the frontier ends in a ray
        ef = xlfrontier.efficient_frontier(mu, cov, lo, up, constraints=cons)
        assert not ef.is_bounded, where
        assert ef.max_return == np.inf, where
        for i, c in enumerate(ef.corners):
            check_constrained(c, case, kind="efficient", where=f"{where} corner {i}")
        # Below the GMV return the tangency is finite without rows; with rows the last
        # segment's asymptote may meet the return axis higher, and then the ratio keeps
        # rising along the ray: check that claim on the frontier itself.
        rf = gmv.expected_return - 0.01
        try:
            res = xlfrontier.max_sharpe(mu, cov, rf, lo, up, constraints=cons)
        except UnboundedError as err:
            assert "not attained" in str(err), (err, where)  # noqa: PT017 - a branch, not a check
            far = [ef.at_return(ef.corner_returns[-1] + d) for d in (1.0, 10.0, 100.0)]
            ratios = [(p.expected_return - rf) / p.volatility for p in far]
            best = max(
                (c.expected_return - rf) / c.volatility for c in ef.corners if c.volatility > 0
            )
            assert ratios[0] < ratios[1] < ratios[2], (ratios, where)
            assert ratios[2] > best, (ratios, best, where)
            return checked + len(ef.corners) + 1
        check_constrained(res, case, risk_free_rate=rf, where=f"{where} sharpe")
        if reference:
            ref, pol = polished_max_sharpe(case, rf)
            sr_ref = (ref.expected_return - rf) / np.sqrt(max(ref.variance, 1e-300))
            tol = (OBJ_RTOL if pol.certified else CLARABEL_OBJ_RTOL) * max(1.0, abs(sr_ref))
            assert abs(res.sharpe_ratio - sr_ref) <= tol, (res.sharpe_ratio, sr_ref, where)
        return checked + len(ef.corners) + 1

    delta = 3.0
    res = xlfrontier.max_utility(mu, cov, delta, lo, up, constraints=cons)
    check_constrained(res, case, kind="efficient", where=f"{where} utility")
    checked += 1
    if reference:
        ref, pol = polished_max_utility(case, delta)
        u = float(mu @ res.weights) - 0.5 * delta * res.variance
        u_ref = float(mu @ ref.weights) - 0.5 * delta * ref.variance
        scale = float(np.abs(mu) @ np.abs(ref.weights)) + 0.5 * delta * _terms(ref.weights, cov)
        tol = (OBJ_RTOL if pol.certified else CLARABEL_OBJ_RTOL) * scale
        assert u >= u_ref - tol, f"utility {u!r} below reference {u_ref!r} [{where}]"
        if pol.certified:
            assert abs(u - u_ref) <= tol, f"utility {u!r} vs polished {u_ref!r} [{where}]"

    # every feasible portfolio has a positive excess return over this rate, unless a riskless
    # portfolio is feasible: then the rate must lie above the best riskless return (else the
    # Sharpe ratio is unbounded, an input error)
    rf = r_lo - 0.01
    if float(gmv.volatility) <= 1e-7 * np.sqrt(float(np.abs(cov).max()) or 1.0):
        riskless = xlfrontier.efficient_frontier(mu, cov, lo, up, constraints=cons)
        vols = np.asarray(riskless.corner_volatilities)
        rets = np.asarray(riskless.corner_returns)
        rf = float(rets[vols <= 1e-7 * np.sqrt(float(np.abs(cov).max()))].max()) + 0.005
    if np.isfinite(rf) and r_hi - max(gmv.expected_return, rf) > 1e-3:
        res = xlfrontier.max_sharpe(mu, cov, rf, lo, up, constraints=cons)
        check_constrained(res, case, risk_free_rate=rf, where=f"{where} sharpe")
        checked += 1
        if reference and res.volatility > 0:
            ref, pol = polished_max_sharpe(case, rf)
            sr_ref = (ref.expected_return - rf) / np.sqrt(max(ref.variance, 1e-300))
            tol = (OBJ_RTOL if pol.certified else CLARABEL_OBJ_RTOL) * max(1.0, abs(sr_ref))
            assert res.sharpe_ratio >= sr_ref - tol, (
                f"Sharpe {res.sharpe_ratio!r} below reference {sr_ref!r} [{where}]"
            )
            if pol.certified:
                assert abs(res.sharpe_ratio - sr_ref) <= tol, (res.sharpe_ratio, sr_ref, where)

    if not frontier:
        return checked
    ef = xlfrontier.efficient_frontier(mu, cov, lo, up, constraints=cons)
    corners = ef.corners
    assert len(corners) >= 1, where
    assert np.all(np.diff(ef.corner_returns) > 0), f"corner returns not increasing [{where}]"
    assert ef.corner_returns[-1] == pytest.approx(r_hi, rel=1e-12, abs=1e-13), where
    # every corner is certified; each is solved again on its own (all of them when the
    # reference runs, else about eight spread along the path)
    step = 1 if reference else max(1, len(corners) // 8)
    for i, c in enumerate(corners):
        tag = f"{where} corner {i}"
        check_constrained(c, case, kind="efficient", where=tag)
        if i % step and i != len(corners) - 1:
            continue
        single = xlfrontier.min_variance(mu, cov, c.expected_return, lo, up, constraints=cons)
        floor = _var_floor(c.weights, single.weights, cov)
        # Two certified points at one return differ in variance by up to their multipliers
        # times their limits' misses (weak duality): first order in the certified primal
        # residual, not rounding of wᵀΣw. Large shadow prices (overlapping rows) make it
        # ~5e-12 relative at a 4e-15 miss (constrained_case(5, 8, "overlap"), corner 8).
        floor += _duality_gap(c) + _duality_gap(single)
        assert abs(c.variance - single.variance) <= OBJ_RTOL * single.variance + floor, (
            f"corner variance {c.variance!r} vs single solve {single.variance!r} [{tag}]"
        )
        checked += 1
        if reference and i % 3 == 0:
            ref, pol = polished_min_variance(case, c.expected_return)
            assert_variance_matches(c.variance, ref, pol.certified, c.weights, cov, tag)

    # a volatility between the GMV and the top: max_return lands on the frontier
    v_lo, v_hi = ef.corner_volatilities[0], ef.corner_volatilities[-1]
    if v_hi - v_lo > 1e-6 * max(v_hi, 1e-300):
        sigma = v_lo + 0.5 * (v_hi - v_lo)
        res = xlfrontier.max_return(mu, cov, sigma, lo, up, constraints=cons)
        tag = f"{where} sigma={sigma!r}"
        check_constrained(res, case, kind="efficient", where=tag)
        assert res.volatility <= sigma * (1 + 1e-12), tag
        checked += 1
        if reference:
            ref, pol = polished_max_return(case, sigma)
            scale = float(np.abs(mu) @ np.abs(res.weights))
            tol = return_tol_from_volatility(res) if pol is not None and pol.certified else None
            tol = CLARABEL_OBJ_RTOL * scale if tol is None else max(tol, 1e-12 * scale)
            assert abs(res.expected_return - ref.expected_return) <= tol, (
                f"return {res.expected_return!r} at volatility {sigma!r} vs reference "
                f"{ref.expected_return!r} [{tag}]"
            )
    return checked


# Known misses, each pinned by test_known_misses (strict xfail): (seed, kind).
KNOWN_MISSES = {(1281, "sectors")}


def _run(kinds, seeds, bounds=BOUNDS, reference=True, frontier=True) -> int:
    checked = 0
    for kind in kinds:
        for seed in seeds:
            if (seed, kind) in KNOWN_MISSES:
                continue
            b = bounds[seed % len(bounds)]
            checked += check_case(constrained_case(seed, _size(seed), kind, b), reference, frontier)
    return checked


# --------------------------------------------------------------------------------------------
# The reference itself (no engine needed)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", CONS_KINDS + DEGENERATE_KINDS)
def test_generators_are_feasible_and_reproducible(kind):
    for seed in range(4):
        case = constrained_case(seed, _size(seed + 3), kind, BOUNDS[seed % len(BOUNDS)])
        again = constrained_case(seed, _size(seed + 3), kind, BOUNDS[seed % len(BOUNDS)])
        assert is_feasible(case), case.label
        np.testing.assert_array_equal(case.A, again.A)
        np.testing.assert_array_equal(case.c_lower, again.c_lower)
        np.testing.assert_array_equal(case.cov, again.cov)
        assert case.A.shape == (case.m, case.n)
        assert len(set(case.names)) == case.m, case.names  # names are unique
        # the input class accepts every generated table
        assert _cons(case).m == case.m


@pytest.mark.parametrize("kind", CONS_KINDS + DEGENERATE_KINDS[:-1])
def test_polished_reference_is_certified_and_beats_clarabel(kind):
    """Polishing certifies on every non-tie family, and is never worse than Clarabel."""
    for seed in range(3):
        case = constrained_case(seed, _size(seed + 5), kind, BOUNDS[seed % len(BOUNDS)])
        r_lo, r_hi = cons_return_range(case)
        for target in (None, r_lo + 0.7 * (r_hi - r_lo)):
            raw = clarabel_c_min_variance(case, target)
            ref, pol = polished_min_variance(case, target, guess=raw.weights)
            assert pol.certified, f"{case.label} target={target}: {pol.why}"
            res = as_result(case, pol, target is not None)
            check_constrained(res, case, target_return=target, where=case.label)
            floor = 1e-13 * _terms(raw.weights, case.cov)
            assert ref.variance <= raw.variance + floor, (ref.variance, raw.variance)
            assert abs(ref.variance - raw.variance) <= CLARABEL_OBJ_RTOL * raw.variance + 1e-11


def test_polished_sharpe_agrees_with_clarabel():
    for seed in range(6):
        case = constrained_case(seed, _size(seed), "mixed", BOUNDS[seed % len(BOUNDS)])
        rf = cons_return_range(case)[0] - 0.01
        ref, pol = polished_max_sharpe(case, rf)
        assert pol.certified, pol.why
        raw, _ = clarabel_c_max_sharpe(case, rf)
        sr = [(s.expected_return - rf) / np.sqrt(s.variance) for s in (ref, raw)]
        assert sr[0] >= sr[1] - 1e-12
        assert sr[0] - sr[1] <= 1e-8 * sr[0]


def test_certificate_checker_rejects_wrong_answers():
    """The checker must fail on a wrong multiplier, a violated row and a missing flag."""
    case = constrained_case(1, 12, "sectors", "long_only")
    ref, pol = polished_min_variance(case)
    good = as_result(case, pol, with_target=False)
    check_constrained(good, case, kind="gmv")
    binding = np.flatnonzero(good.at_min | good.at_max)
    assert binding.size, "the example needs a binding group"
    j = int(binding[0])
    lam = good.constraint_multipliers.copy()
    lam[j] = -2.0 * lam[j] if lam[j] != 0 else 1.0
    bad = as_result(case, pol, with_target=False)
    bad.constraint_multipliers = lam
    with pytest.raises(AssertionError, match=r"stationarity|wrong sign"):
        check_constrained(bad, case, kind="gmv")
    bad = as_result(case, pol, with_target=False)
    bad.at_min = np.zeros_like(bad.at_min)
    bad.at_max = np.zeros_like(bad.at_max)
    bad.binding_constraints = ()
    with pytest.raises(AssertionError, match=r"wrong sign/unflagged|equality row"):
        check_constrained(bad, case, kind="gmv")
    w = ref.weights.copy()
    k = int(np.flatnonzero(case.A[j])[0])
    shift = 1e-9 if good.at_max[j] else -1e-9
    w[k] += shift
    w[int(np.argmax(w * (case.A[j] == 0)))] -= shift
    bad = as_result(case, pol, with_target=False)
    bad.weights = w
    with pytest.raises(AssertionError, match="constraint rows violated"):
        check_constrained(bad, case, kind="gmv")
    assert PRIMAL_TOL < 1e-9


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------
@needs_engine
@pytest.mark.parametrize("kind", CONS_KINDS)
def test_random_constrained_problems(kind):
    """Every objective and the frontier, against the polished reference and by certificate."""
    assert _run([kind], range(budget(150))) > 0


@needs_engine
@pytest.mark.parametrize("kind", CONS_KINDS)
def test_random_constrained_certificates_only(kind):
    """Many more problems, certified and corner-checked without the reference (fast)."""
    assert _run([kind], range(1000, 1000 + budget(400)), reference=False) > 0


@needs_engine
@pytest.mark.xfail(
    strict=True,
    reason="known miss: near-tied returns at a vertex with shadow prices ~2500; frontier "
    "corner 5 and a single solve at its return differ by 1.1e-11 in two weights, variance "
    "1.35e-11 relative (the single solve is lower, both certify with zero residuals)",
)
@pytest.mark.parametrize(("seed", "kind"), sorted(KNOWN_MISSES))
def test_known_misses(seed, kind):
    check_case(constrained_case(seed, _size(seed), kind, BOUNDS[seed % len(BOUNDS)]), False)


@needs_engine
def test_short_selling_unlimited_with_groups():
    """Unlimited shorting: rows bound the portfolio or the frontier is unbounded."""
    for seed in range(budget(60)):
        case = constrained_case(seed, _size(seed), "sectors", "short_inf")
        check_case(case, reference=seed % 4 == 0)


@needs_engine
def test_max_sharpe_with_unlimited_shorting_and_a_binding_cap():
    """The frontier ends in a ray that moves a capped row's slack; the tangency is finite.

    Raised ``ValueError: matmul ... size 3 is different from 4`` (the ray in the lifted
    space met the 3 returns).
    """
    mu = np.array([0.05, 0.08, 0.11])
    cov = np.diag([0.02, 0.04, 0.09])
    cons = LinearConstraints([[0, 0, 1]], None, [0.1], names=["Cap"])
    res = xlfrontier.max_sharpe(mu, cov, 0.0, -np.inf, np.inf, constraints=cons)
    assert res.binding_constraints == ("Cap",)  # unconstrained, the third asset holds 21%
    case = ConsCase(
        mu,
        cov,
        np.full(3, -np.inf),
        np.full(3, np.inf),
        "cap",
        True,
        {},
        np.array([[0.0, 0.0, 1.0]]),
        np.array([-np.inf]),
        np.array([0.1]),
        ("Cap",),
    )
    check_constrained(res, case, risk_free_rate=0.0)
    ref, pol = polished_max_sharpe(case, 0.0)
    assert pol.certified
    np.testing.assert_allclose(res.weights, ref.weights, atol=1e-14)


@needs_engine
def test_sector_limits_bind_with_shadow_prices():
    """A hand-checkable case: two sectors, the cheap-risk one capped at 40%."""
    cov = np.diag([0.01, 0.012, 0.09, 0.1])
    cons = LinearConstraints(
        [[1, 1, 0, 0], [0, 0, 1, 1]], [0.0, 0.0], [0.4, 1.0], names=["Bonds", "Equity"]
    )
    res = xlfrontier.global_min_variance(cov, constraints=cons)
    assert res.constraint_names == ("Bonds", "Equity")
    assert res.binding_constraints == ("Bonds",)
    assert res.at_max.tolist() == [True, False]
    assert res.constraint_values[0] == pytest.approx(0.4, abs=1e-15)
    # raising the Bonds cap lowers the variance: a negative shadow price at the maximum
    assert res.constraint_multipliers[0] < 0
    assert res.constraint_multipliers[1] == 0
    eps = 1e-6
    looser = LinearConstraints(cons.A, cons.lower, [0.4 + eps, 1.0], names=cons.names)
    dv = xlfrontier.global_min_variance(cov, constraints=looser).variance - res.variance
    assert dv / eps == pytest.approx(res.constraint_multipliers[0], rel=1e-4)
    # the unconstrained optimum holds 81% in bonds
    free = xlfrontier.global_min_variance(cov)
    assert free.weights[:2].sum() > 0.8
    assert free.constraint_multipliers.shape == (0,)


@needs_engine
def test_infeasible_limits_raise_in_finance_words():
    cons = LinearConstraints(
        [[1, 1, 0], [0, 0, 1]], [0.6, 0.5], [1.0, 1.0], names=["Equity", "Bonds"]
    )
    with pytest.raises(InfeasibleError, match=r"Equity|Bonds") as err:
        xlfrontier.global_min_variance(np.eye(3) * 0.04, constraints=cons)
    assert err.value.argument == "constraints"
    with pytest.raises(InfeasibleError, match=r"Equity|Bonds"):
        xlfrontier.efficient_frontier(
            np.array([0.05, 0.07, 0.03]), np.eye(3) * 0.04, constraints=cons
        )


@needs_engine
def test_target_outside_the_constrained_range_names_the_range():
    case = constrained_case(4, 8, "sectors", "long_only")
    r_lo, r_hi = cons_return_range(case)
    with pytest.raises(TargetOutOfRangeError) as err:
        xlfrontier.min_variance(
            case.mu, case.cov, r_hi + 0.01, case.lower, case.upper, constraints=case.constraints()
        )
    got = err.value.feasible_range
    assert got[0] == pytest.approx(r_lo, abs=1e-12)
    assert got[1] == pytest.approx(r_hi, abs=1e-12)
    unconstrained_hi = float(case.mu.max())
    assert r_hi < unconstrained_hi - 1e-6  # the groups, not the bounds, set the range


@needs_engine
def test_wrong_number_of_coefficients_is_an_input_error():
    cons = LinearConstraints([[1.0, 1.0]], [0.0], [0.5])
    with pytest.raises(InputError, match="coefficients per row"):
        xlfrontier.global_min_variance(np.eye(3) * 0.04, constraints=cons)


# --------------------------------------------------------------------------------------------
# A published example: MATLAB Financial Toolbox, "Constraint Specification Using a Portfolio
# Object" (INTC, XON, RD; short selling to 10%, at most 110% per asset; Energy at most 80%,
# Technology at most 70%). Its inputs are published; the exact answers below follow from them.
# --------------------------------------------------------------------------------------------
MATLAB_MU = np.array([0.1, 0.2, 0.15])
MATLAB_COV = np.array([[0.005, -0.010, 0.004], [-0.010, 0.040, -0.002], [0.004, -0.002, 0.023]])
MATLAB_LO, MATLAB_UP = np.full(3, -0.1), np.full(3, 1.1)


def _matlab_case() -> ConsCase:
    a = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    return ConsCase(
        MATLAB_MU,
        MATLAB_COV,
        MATLAB_LO,
        MATLAB_UP,
        "MATLAB constraint specification",
        True,
        {},
        a,
        np.zeros(2),
        np.array([0.7, 0.8]),
        ("Technology", "Energy"),
    )


def test_matlab_example_reference():
    """The reference: the top of the frontier is 18.5% (Energy full at 80%, XON 90%, RD −10%)."""
    case = _matlab_case()
    r_hi = cons_return_range(case)[1]
    assert r_hi == pytest.approx(0.2 * 0.9 + 0.15 * -0.1 + 0.1 * 0.2, abs=1e-15)
    ref, pol = polished_min_variance(case)
    assert pol.certified
    # the unconstrained GMV puts ~80% in INTC: the 70% Technology cap binds at the GMV
    assert ref.weights[0] == pytest.approx(0.7, abs=1e-14)


@needs_engine
def test_matlab_example_frontier():
    case = _matlab_case()
    cons = case.constraints()
    ef = xlfrontier.efficient_frontier(
        MATLAB_MU, MATLAB_COV, MATLAB_LO, MATLAB_UP, constraints=cons
    )
    assert ef.max_return == pytest.approx(0.185, abs=1e-15)
    np.testing.assert_allclose(ef.corners[-1].weights, [0.2, 0.9, -0.1], atol=1e-15)
    assert ef.corners[0].weights[0] == pytest.approx(0.7, abs=1e-15)
    assert "Technology" in ef.corners[0].binding_constraints
    # eight portfolios evenly spaced in return, as in the example, each a certified optimum
    s = ef.sample(8)
    for r, w in zip(s.returns, s.weights, strict=True):
        res = xlfrontier.min_variance(
            MATLAB_MU, MATLAB_COV, r, MATLAB_LO, MATLAB_UP, constraints=cons
        )
        check_constrained(res, case, target_return=r)
        np.testing.assert_allclose(w, res.weights, atol=1e-12)
        ref, pol = polished_min_variance(case, r)
        assert pol.certified
        assert_variance_matches(res.variance, ref, True, res.weights, MATLAB_COV, f"r={r}")
    check_case(case)


@needs_engine
@pytest.mark.slow
def test_random_constrained_problems_many():
    """1,500 more problems (every family), referenced every 5th: ~1.5 CPU-minutes."""
    if not SLOW:
        pytest.skip("slow: run with XLFRONTIER_SLOW=1")
    for seed in range(20_000, 21_500):
        kind = (CONS_KINDS + DEGENERATE_KINDS)[seed % (len(CONS_KINDS) + len(DEGENERATE_KINDS))]
        case = constrained_case(seed, _size(seed // 7), kind, BOUNDS[seed % len(BOUNDS)])
        check_case(case, reference=seed % 5 == 0)
