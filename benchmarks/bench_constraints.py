"""Benchmark constrained problems (issue 11): 11 sector groups with min and max, plus bounds.

Run from the project root::

    python -m benchmarks.bench_constraints                  # n = 50, 200, 500, 1000
    python -m benchmarks.bench_constraints --quick          # smoke test: n = 20 and 50
    python -m benchmarks.bench_constraints --sizes 50 200 --clock cpu --out results.md

Same conventions as ``bench_core`` (whose helpers it reuses): BLAS pinned to one thread,
every peer in the same run, medians of repeated calls, ratios peer time / xlfrontier time.
See ``benchmarks/README.md`` for the methodology.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # pin BLAS before numpy is loaded (see bench_core)
    for _var in (
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        os.environ[_var] = "1"

import argparse
import contextlib
import importlib
import inspect
import math
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg

from benchmarks import bench_core as bc
from benchmarks import problems as bp

SIZES = (50, 200, 500, 1000)
N_SECTORS = 11
TASKS = ("min_variance", "gmv")
TASK_LABEL = {"min_variance": "min var @ target", "gmv": "GMV"}
SINGLE = ("xlfrontier", "pypfopt", "daqp", "clarabel", "clarabel_resolve")
LABEL = {
    "xlfrontier": "xlfrontier",
    "pypfopt": "PyPortfolioOpt EF",
    "daqp": "daqp",
    "clarabel": "Clarabel (build+solve)",
    "clarabel_resolve": "Clarabel (re-solve)",
    "xlfrontier_exact": "xlfrontier exact frontier",
    "xlfrontier_sample": "xlfrontier frontier+sample",
    "daqp_loop": "daqp × points",
    "pypfopt_loop": "PyPortfolioOpt efficient_return × points",
}
# the reference: Clarabel at high accuracy, then polished on its active set (see README)
REF_OPTIONS = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "max_iter": 400}
FAIL_VIOLATION = 1e-6
ACCURACY_TARGET = 1e-12


# --------------------------------------------------------------------------------------------
# Problems: bench_core's factor models with 11 sectors (min and max each) and per-asset caps
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsProblem:
    """A long-only factor-model problem with caps and sector limits.

    ``0 ≤ w ≤ cap`` (cap = min(1, 5/n)), ``1ᵀw = 1`` and ``lo_g ≤ Σ_{i∈g} w_i ≤ hi_g`` for 11
    sectors (seeded assignment, every sector non-empty), with ``lo_g = ½·s_g`` and
    ``hi_g = 1.5·s_g + 2%`` for the sector's share ``s_g`` of the assets.
    """

    name: str
    mu: np.ndarray
    cov: np.ndarray
    cap: np.ndarray
    sectors: np.ndarray  # (n,) sector index per asset
    A: np.ndarray  # (11, n) membership
    lo: np.ndarray
    hi: np.ndarray
    max_return: float

    @property
    def n(self) -> int:
        return int(self.mu.shape[0])


def cons_problem(n: int) -> ConsProblem:
    """The bench_core factor model with ``n`` assets, sector limits and caps added."""
    base = bp.factor_problem(n)
    rng = np.random.default_rng([bp.SEED, n, N_SECTORS])
    sectors = rng.permutation(np.arange(n) % N_SECTORS)
    a = (sectors[None, :] == np.arange(N_SECTORS)[:, None]).astype(float)
    share = a.sum(axis=1) / n
    lo, hi = 0.5 * share, np.minimum(1.0, 1.5 * share + 0.02)
    cap = np.full(n, min(1.0, 5.0 / n))
    from scipy.optimize import linprog

    lp = linprog(
        -base.mu,
        A_ub=np.vstack([a, -a]),
        b_ub=np.concatenate([hi, -lo]),
        A_eq=np.ones((1, n)),
        b_eq=[1.0],
        bounds=list(zip(np.zeros(n), cap, strict=True)),
        method="highs",
    )
    assert lp.status == 0, lp.message
    return ConsProblem(f"sectors-{n}", base.mu, base.cov, cap, sectors, a, lo, hi, -lp.fun)


# --------------------------------------------------------------------------------------------
# Reference: Clarabel at 1e-12, polished (KKT on its active set, extended-precision refinement)
# --------------------------------------------------------------------------------------------
def _rows(p: ConsProblem, target: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every condition as ``lo ≤ C w ≤ hi``: budget, (target), sectors, bounds."""
    n = p.n
    c = [np.ones((1, n))]
    lo, hi = [np.ones(1)], [np.ones(1)]
    if target is not None:
        c.append(p.mu[None, :])
        lo.append(np.array([target]))
        hi.append(np.array([target]))
    c += [p.A, np.eye(n)]
    lo += [p.lo, np.zeros(n)]
    hi += [p.hi, p.cap]
    return np.vstack(c), np.concatenate(lo), np.concatenate(hi)


def violation(w: np.ndarray, p: ConsProblem, target: float | None) -> float:
    """Worst violation of budget, target, bounds and sector limits (weight/return units)."""
    c, lo, hi = _rows(p, target)
    cw = c.astype(np.longdouble) @ w.astype(np.longdouble)
    return float(max(np.max(lo - cw), np.max(cw - hi), 0.0))


@dataclass
class Ref:
    """Reference weights and objective; ``certified`` when the polished KKT point checks."""

    w: np.ndarray
    objective: float
    certified: bool


def reference(
    p: ConsProblem, target: float | None, candidates: list[np.ndarray] | None = None
) -> Ref:
    """Clarabel at 1e-12 tolerances, polished to the exact KKT point of its active set.

    When Clarabel's active set does not certify, the solvers' answers (``candidates``) are
    tried as guesses of the active set (the polished point is certified independently of
    where its guess came from, as in ``problems.reference_solve``).
    """
    cp = bc._require_clarabel()
    x = cp.Variable(p.n)
    cons = [cp.sum(x) == 1, x >= 0, x <= p.cap, p.A @ x >= p.lo, p.A @ x <= p.hi]
    if target is not None:
        cons.append(p.mu @ x == target)
    prob = cp.Problem(cp.Minimize(cp.quad_form(x, cp.psd_wrap(p.cov))), cons)
    with bc._quiet():
        prob.solve(solver="CLARABEL", **REF_OPTIONS)
    guess = np.asarray(x.value, dtype=float)
    c, lo, hi = _rows(p, target)
    for g in [guess, *(candidates or [])]:
        if g is None or not np.all(np.isfinite(g)):
            continue
        for tol in (1e-7, 1e-9, 1e-6):
            w = _polish(p.cov, c, lo, hi, g, tol)
            if w is not None:
                return Ref(w, bp.variance(w, p.cov), True)
    return Ref(guess, bp.variance(guess, p.cov), False)


def _polish(
    cov: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray, guess: np.ndarray, tol: float
) -> np.ndarray | None:
    """KKT solve with the rows within ``tol`` of a limit active; None unless certified."""
    n = cov.shape[0]
    cx = c @ guess
    eq = lo == hi
    at_lo = (np.abs(cx - lo) <= tol) & ~eq
    at_hi = (np.abs(cx - hi) <= tol) & ~eq & ~at_lo
    idx = np.flatnonzero(eq | at_lo | at_hi)
    ca = c[idx]
    k = np.block([[2.0 * cov, -ca.T], [ca, np.zeros((idx.size, idx.size))]])
    rhs = np.concatenate([np.zeros(n), np.where(at_hi, hi, lo)[idx]])
    z = scipy.linalg.lstsq(k, rhs)[0]
    kl = k.astype(np.longdouble)
    for _ in range(2):
        r = np.asarray(rhs.astype(np.longdouble) - kl @ z.astype(np.longdouble), dtype=float)
        z = z + scipy.linalg.lstsq(k, r)[0]
    w, lam = z[:n], z[n:]
    if float(np.max(np.maximum(lo - c @ w, c @ w - hi))) > 1e-14:
        return None
    sign = np.where(at_lo[idx], np.maximum(-lam, 0), 0) + np.where(
        at_hi[idx], np.maximum(lam, 0), 0
    )
    scale = float(np.abs(2.0 * cov @ w).max())
    if float(sign.max(initial=0.0)) > 1e-12 * scale:
        from scipy.optimize import lsq_linear  # dependent active rows: pick signed multipliers

        lb = np.where(at_lo[idx], 0.0, -np.inf)
        ub = np.where(at_hi[idx], 0.0, np.inf)
        lam = lsq_linear(ca.T, 2.0 * cov @ w, bounds=(lb, ub), method="bvls", tol=1e-15).x
    if float(np.abs(2.0 * cov @ w - ca.T @ lam).max()) > 1e-12 * scale:
        return None
    return w


# --------------------------------------------------------------------------------------------
# Adapters: a zero-argument callable producing weights (n,)
# --------------------------------------------------------------------------------------------
def _xlfrontier() -> Any:
    mod = bc._xlfrontier()[0]
    if "constraints" not in inspect.signature(mod.min_variance).parameters:
        raise bc.Unavailable("xlfrontier without constraints= (issue 11 engine not landed)")
    cmod = importlib.import_module("xlfrontier.core.constraints")
    fr = importlib.import_module("xlfrontier.core.frontier")
    return mod, fr, cmod


def _limits(p: ConsProblem) -> Any:
    _, _, cmod = _xlfrontier()
    names = [f"Sector {g + 1}" for g in range(N_SECTORS)]
    return cmod.LinearConstraints(p.A, p.lo, p.hi, names=names)


def _ok(res: Any) -> np.ndarray:
    if getattr(res, "status", "optimal") != "optimal":
        raise bc.Failed(res.status)
    return res.weights


def xlf_single(p: ConsProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    opt, _, _ = _xlfrontier()
    cons = _limits(p)  # built once, like the other peers' inputs
    if task == "gmv":
        return lambda: _ok(opt.global_min_variance(p.cov, 0.0, p.cap, constraints=cons))
    return lambda: _ok(opt.min_variance(p.mu, p.cov, target, 0.0, p.cap, constraints=cons))


def pypfopt_single(p: ConsProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    ef_cls = bc._import("pypfopt").EfficientFrontier
    mapper = {i: int(s) for i, s in enumerate(p.sectors)}
    lower = {g: float(p.lo[g]) for g in range(N_SECTORS)}
    upper = {g: float(p.hi[g]) for g in range(N_SECTORS)}
    bounds = [(0.0, float(u)) for u in p.cap]

    def run() -> np.ndarray:
        ef = ef_cls(p.mu, p.cov, weight_bounds=bounds)
        ef.add_sector_constraints(mapper, lower, upper)
        if task == "gmv":
            ef.min_volatility()
        else:
            ef.efficient_return(target)
        return np.asarray(ef.weights, dtype=np.float64)

    return run


def _daqp_data(p: ConsProblem, target: float | None) -> tuple:
    """``min ½xᵀΣx``: simple bounds first, then the sector rows, the budget (and target)."""
    n = p.n
    eq_rows = [np.ones(n)] + ([p.mu] if target is not None else [])
    eq_rhs = [1.0] + ([target] if target is not None else [])
    a = np.ascontiguousarray(np.vstack([p.A, *eq_rows]))
    bu = np.concatenate([p.cap, p.hi, eq_rhs])
    bl = np.concatenate([np.zeros(n), p.lo, eq_rhs])
    sense = np.zeros(n + a.shape[0], dtype=np.int32)
    sense[n + N_SECTORS :] = 5  # equality rows
    return p.cov, np.zeros(n), a, bu, bl, sense


def daqp_single(p: ConsProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    daqp = bc._import("daqp")
    data = _daqp_data(p, target if task == "min_variance" else None)

    def run() -> np.ndarray:
        x, _, flag, _ = daqp.solve(*data)
        if flag < 1:
            raise bc.Failed(f"daqp exitflag {flag}")
        return np.asarray(x, dtype=np.float64)

    return run


def _clarabel_problem(p: ConsProblem, task: str) -> tuple[Any, Any, Any]:
    cp = bc._require_clarabel()
    x = cp.Variable(p.n)
    par = cp.Parameter() if task == "min_variance" else None
    cons = [cp.sum(x) == 1, x >= 0, x <= p.cap, p.A @ x >= p.lo, p.A @ x <= p.hi]
    if par is not None:
        cons.append(p.mu @ x == par)
    return cp.Problem(cp.Minimize(cp.quad_form(x, cp.psd_wrap(p.cov))), cons), x, par


def _clarabel_solve(prob: Any, x: Any) -> np.ndarray:
    prob.solve(solver="CLARABEL", **bc.CLARABEL_OPTIONS)
    if prob.status not in ("optimal", "optimal_inaccurate") or x.value is None:
        raise bc.Failed(f"Clarabel status {prob.status}")
    return np.asarray(x.value, dtype=np.float64)


def clarabel_single(p: ConsProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    bc._require_clarabel()

    def run() -> np.ndarray:
        prob, x, par = _clarabel_problem(p, task)
        if par is not None:
            par.value = target
        return _clarabel_solve(prob, x)

    return run


def clarabel_resolve_single(p: ConsProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    prob, x, par = _clarabel_problem(p, task)
    if par is not None:
        par.value = target
    with bc._quiet(), contextlib.suppress(bc.Failed):
        _clarabel_solve(prob, x)
    return lambda: _clarabel_solve(prob, x)


ADAPTERS = {
    "xlfrontier": xlf_single,
    "pypfopt": pypfopt_single,
    "daqp": daqp_single,
    "clarabel": clarabel_single,
    "clarabel_resolve": clarabel_resolve_single,
}


def xlf_frontier(p: ConsProblem, points: int, sample: bool) -> Callable[[], Any]:
    _, fr, _ = _xlfrontier()
    cons = _limits(p)
    if not sample:
        return lambda: fr.efficient_frontier(p.mu, p.cov, 0.0, p.cap, constraints=cons)

    def run() -> tuple[np.ndarray, np.ndarray]:
        s = fr.efficient_frontier(p.mu, p.cov, 0.0, p.cap, constraints=cons).sample(points)
        return np.asarray(s.returns), np.asarray(s.weights)

    return run


def loop_frontier(
    p: ConsProblem, solver: str, targets: np.ndarray, clock: list[float] | None = None
) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """One independent solve per target (daqp on prebuilt arrays; PyPortfolioOpt built anew)."""
    if solver == "daqp":
        daqp = bc._import("daqp")
        h, f, a, bu, bl, sense = _daqp_data(p, 0.0)

        def solve(r: float) -> np.ndarray:
            bu[-1] = bl[-1] = r
            x, _, flag, _ = daqp.solve(h, f, a, bu, bl, sense)
            if flag < 1:
                raise bc.Failed(f"daqp exitflag {flag}")
            return x

    else:
        solve = None  # built per target below

    def run() -> tuple[np.ndarray, np.ndarray]:
        t0 = bc._now()
        out = np.full((targets.size, p.n), np.nan)
        for k, r in enumerate(targets):
            with contextlib.suppress(Exception):
                out[k] = solve(r) if solve is not None else pypfopt_single(p, "min_variance", r)()
            if clock is not None:
                clock.append(bc._now() - t0)
        return targets, out

    return run


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
@dataclass
class Config:
    """Run settings (timing fields as in ``bench_core.Config``)."""

    sizes: list[int]
    points: int = 50
    budget: float = 1.0
    min_reps: int = 3
    max_reps: int = 2000
    long_call: float = 10.0
    skip_above: float = 120.0
    frontier_cap: float = 60.0
    subset: int = 5
    solvers: tuple[str, ...] = ("xlfrontier", "pypfopt", "daqp", "clarabel")
    quick: bool = False
    clock: str = "wall"
    out: Path | None = None


@dataclass
class Results:
    """Everything measured in one run (keys as in ``bench_core.Results``)."""

    config: Config
    single: dict[tuple[str, str, str], bc.Timing] = field(default_factory=dict)
    frontier: dict[tuple[str, str], bc.Timing] = field(default_factory=dict)
    acc_single: dict[tuple[str, str], bc.Accuracy] = field(default_factory=dict)
    acc_frontier: dict[tuple[str, str], bc.Accuracy] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def _enabled(cfg: Config, solver: str) -> bool:
    return solver.replace("_resolve", "").replace("_loop", "") in cfg.solvers


def _score(w: np.ndarray | None, p: ConsProblem, target: float | None, ref: Ref) -> tuple:
    if w is None or w.shape != (p.n,) or not np.all(np.isfinite(w)):
        return math.nan, math.nan, True
    viol = violation(w, p, target)
    rel = (bp.variance(w, p.cov) - ref.objective) / ref.objective
    return rel, viol, viol > FAIL_VIOLATION


def run_single(p: ConsProblem, cfg: Config, res: Results, pred: bc.Predictor) -> float:
    """Time and score GMV and the min variance at the target; returns the GMV return."""
    target = math.nan
    gmv_ret = math.nan
    for task in ("gmv", "min_variance"):
        answers: dict[str, np.ndarray | None] = {}
        for solver in SINGLE:
            if not _enabled(cfg, solver):
                continue
            key = (p.name, task, solver)
            est = pred.predict(f"{solver}:{task}", p.n)
            if est > cfg.skip_above:
                res.single[key] = bc.Timing(note=f"skipped (est. {est:.0f} s)")
                continue
            try:
                timing, w = bc.measure(ADAPTERS[solver](p, task, target), cfg)
            except bc.Unavailable as err:
                res.single[key] = bc.Timing(note="not installed")
                if str(err) not in res.notes:
                    res.notes.append(f"{LABEL[solver]}: {err}")
                continue
            except Exception as err:
                res.single[key] = bc.Timing(note=f"failed ({type(err).__name__})")
                answers[solver] = None
                bc._log(f"  {p.name} {task} {solver}: {type(err).__name__}: {err}")
                continue
            res.single[key] = timing
            pred.record(f"{solver}:{task}", p.n, timing.median)
            answers[solver] = np.asarray(w, dtype=np.float64)
            bc._log(f"  {p.name:12s} {TASK_LABEL[task]:17s} {solver:17s} {bc._fmt_time(timing)}")
        ref = reference(p, None if task == "gmv" else target, list(answers.values()))
        if not ref.certified:
            res.notes.append(f"{p.name} {TASK_LABEL[task]}: reference NOT certified")
        if task == "gmv":
            gmv_ret = float(p.mu @ ref.w)
            target = 0.5 * (gmv_ret + p.max_return)
        for solver, w in answers.items():
            acc = res.acc_single.setdefault((p.name, solver), bc.Accuracy())
            acc.add(*_score(w, p, None if task == "gmv" else target, ref))
    return gmv_ret


def run_frontier(
    p: ConsProblem, cfg: Config, res: Results, pred: bc.Predictor, gmv_ret: float
) -> None:
    """Time and score the frontier of ``cfg.points`` returns from the GMV to the top."""
    targets = np.linspace(gmv_ret, p.max_return, cfg.points)
    outputs: dict[str, Any] = {}
    jobs: list[tuple[str, Callable[[], Callable[[], Any]]]] = [
        ("xlfrontier_exact", lambda: xlf_frontier(p, cfg.points, False)),
        ("xlfrontier_sample", lambda: xlf_frontier(p, cfg.points, True)),
        ("daqp_loop", lambda: loop_frontier(p, "daqp", targets)),
        ("pypfopt_loop", lambda: loop_frontier(p, "pypfopt", targets)),
    ]
    for name, make in jobs:
        if not _enabled(cfg, name.split("_")[0]):
            continue
        key = (p.name, name)
        est = pred.predict(f"frontier:{name}", p.n)
        try:
            if name.endswith("_loop") and est > cfg.frontier_cap:
                # too slow to repeat: once on an evenly spread subset, scaled (bench_core's rule)
                idx = np.unique(np.linspace(0, cfg.points - 1, cfg.subset).round().astype(int))
                clock: list[float] = []
                with bc._quiet():
                    out = loop_frontier(p, name.split("_")[0], targets[idx], clock)()
                per = (clock[-1] - clock[0]) / max(len(clock) - 1, 1)
                timing = bc.Timing(clock[0] + per * (cfg.points - 1), 1, estimated=True)
            else:
                timing, out = bc.measure(make(), cfg)
        except bc.Unavailable as err:
            res.frontier[key] = bc.Timing(note="not installed")
            if str(err) not in " ".join(res.notes):
                res.notes.append(f"{LABEL[name]}: {err}")
            continue
        except Exception as err:
            res.frontier[key] = bc.Timing(note=f"failed ({type(err).__name__})")
            bc._log(f"  {p.name} frontier {name}: {type(err).__name__}: {err}")
            continue
        outputs[name] = out
        res.frontier[key] = timing
        pred.record(f"frontier:{name}", p.n, timing.median)
        bc._log(f"  {p.name:12s} frontier {name:27s} {bc._fmt_time(timing)}")

    refs: dict[float, Ref] = {}
    answers: dict[float, list[np.ndarray]] = {}  # every solver's weights at each return
    for name in ("xlfrontier_sample", "daqp_loop", "pypfopt_loop"):
        if name in outputs:
            for r, w in zip(*outputs[name], strict=True):
                answers.setdefault(round(float(r), 15), []).append(w)
    for name in ("xlfrontier_sample", "daqp_loop", "pypfopt_loop"):
        if name not in outputs:
            continue
        rs, ws = outputs[name]
        solver = name.split("_")[0]
        acc = res.acc_frontier.setdefault((p.name, solver), bc.Accuracy())
        for r, w in zip(rs, ws, strict=True):
            key = round(float(r), 15)
            if key not in refs:
                refs[key] = reference(p, float(r), answers.get(key))
                if not refs[key].certified:
                    res.notes.append(f"{p.name} frontier r={r:.6g}: reference NOT certified")
            acc.add(*_score(w if np.all(np.isfinite(w)) else None, p, float(r), refs[key]))
        if rs.size != cfg.points:
            acc.note = "timing subset"


def run(cfg: Config) -> Results:
    """Run the whole benchmark (BLAS pools limited to one thread)."""
    bc.set_clock(cfg.clock)
    try:
        with bc._one_blas_thread():
            res = Results(cfg)
            with bc._quiet():
                for mod in ("pypfopt", "cvxpy", "daqp"):
                    with contextlib.suppress(ImportError):
                        importlib.import_module(mod)
                with contextlib.suppress(bc.Unavailable):
                    _xlfrontier()
            res.env = bc.environment()
            pred = bc.Predictor()
            for n in cfg.sizes:
                p = cons_problem(n)
                bc._log(f"{p.name} (n={p.n})")
                res.sizes[p.name] = p.n
                gmv_ret = run_single(p, cfg, res, pred)
                run_frontier(p, cfg, res, pred, gmv_ret)
            with contextlib.suppress(OSError):
                res.env["load average (end)"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
            return res
    finally:
        bc.set_clock("wall")


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def _ordered(res: Results) -> list[str]:
    return sorted(res.sizes, key=lambda name: res.sizes[name])


def table_single(res: Results) -> str:
    cols = [s for s in SINGLE if _enabled(res.config, s)]
    head = ["n", "task", *(LABEL[s] for s in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in _ordered(res):
        for task in TASKS:
            base = res.single.get((name, task, "xlfrontier"))
            row = [str(res.sizes[name]), TASK_LABEL[task]]
            for s in cols:
                t = res.single.get((name, task, s))
                cell = bc._fmt_time(t)
                if s != "xlfrontier":
                    cell += bc._fmt_ratio(bc._ratio(t, base))
                row.append(cell)
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def table_frontier(res: Results) -> str:
    pts = res.config.points
    cols = [
        c
        for c in ("xlfrontier_exact", "xlfrontier_sample", "daqp_loop", "pypfopt_loop")
        if _enabled(res.config, c.split("_")[0])
    ]
    label = {
        **LABEL,
        "xlfrontier_sample": f"xlfrontier frontier+sample({pts})",
        "daqp_loop": f"{pts} × daqp",
        "pypfopt_loop": f"{pts} × PyPortfolioOpt efficient_return",
    }
    head = ["n", *(label[c] for c in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in _ordered(res):
        base = res.frontier.get((name, "xlfrontier_sample"))
        row = [str(res.sizes[name])]
        for c in cols:
            t = res.frontier.get((name, c))
            cell = bc._fmt_time(t)
            if c.endswith("_loop"):
                cell += bc._fmt_ratio(bc._ratio(t, base))
            row.append(cell)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def table_accuracy(res: Results) -> str:
    label = {**LABEL, "clarabel": "Clarabel (1e-10)", "clarabel_resolve": "Clarabel re-solve"}
    head = ["n", "solver", "single: rel. obj. error", "single: violation", "single: failed"]
    head += ["frontier: rel. obj. error", "frontier: violation", "frontier: failed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in _ordered(res):
        for s in SINGLE:
            a, f = res.acc_single.get((name, s)), res.acc_frontier.get((name, s))
            if a is None and f is None:
                continue
            row = [str(res.sizes[name]), label[s]]
            for acc in (a, f):
                if acc is None or acc.attempted == 0:
                    row += ["–", "–", "–"]
                    continue
                ok = acc.attempted > acc.failed
                fails = f"{acc.failed}/{acc.attempted}" + (f" ({acc.note})" if acc.note else "")
                row += [
                    bc._fmt_err(acc.rel_objective) if ok else "–",
                    bc._fmt_err(acc.violation) if ok else "–",
                    fails,
                ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _check_ratios(
    res: Results,
    table: str,
    peer: str,
    threshold: float,
    sizes: Callable[[int], bool],
    base: str = "xlfrontier",
) -> tuple[str, str]:
    """Worst ratio ``peer / base`` over the sizes (bench_core's rule, this run's tasks)."""
    worst: tuple[float, str] | None = None
    missing = []
    for name in _ordered(res):
        if not sizes(res.sizes[name]):
            continue
        if table == "single":
            pairs = [
                (
                    res.single.get((name, t, peer)),
                    res.single.get((name, t, base)),
                    f"n={res.sizes[name]} {TASK_LABEL[t]}",
                )
                for t in TASKS
            ]
        else:
            pairs = [
                (
                    res.frontier.get((name, peer)),
                    res.frontier.get((name, base)),
                    f"n={res.sizes[name]}",
                )
            ]
        for pt, bt, where in pairs:
            r = bc._ratio(pt, bt)
            if not math.isfinite(r):
                why = (pt.note if pt is not None and pt.note else "") or (
                    bt.note if bt is not None and bt.note else "not run"
                )
                missing.append(f"{where} [{why}]")
                continue
            if worst is None or r < worst[0]:
                worst = (r, where)
    if worst is None:
        return "n/a", "not measured" + (f" ({', '.join(missing)})" if missing else "")
    detail = f"worst {worst[0]:.3g}× ({worst[1]})"
    if missing:
        detail += f"; no ratio for: {', '.join(missing)}"
    return ("PASS" if worst[0] >= threshold else "FAIL"), detail


def checks(res: Results) -> list[bc.Check]:
    """The issue's targets (issue 11): PASS / FAIL / n/a."""
    out = [
        bc.Check(
            "single solves ≥20× faster than PyPortfolioOpt EF (every n)",
            *_check_ratios(res, "single", "pypfopt", 20.0, lambda n: True),
        ),
        bc.Check(
            "single solves no slower than daqp (n ≥ 200)",
            *_check_ratios(res, "single", "daqp", 1.0, lambda n: n >= 200),
        ),
        bc.Check(
            f"frontier({res.config.points}) ≥10× faster than {res.config.points} daqp solves "
            "(n ≥ 200)",
            *_check_ratios(
                res, "frontier", "daqp_loop", 10.0, lambda n: n >= 200, base="xlfrontier_sample"
            ),
        ),
    ]
    big = [name for name in _ordered(res) if res.sizes[name] == 1000]
    t = res.frontier.get((big[0], "xlfrontier_exact")) if big else None
    out.append(
        bc.Check(
            "exact frontier n = 1000 with 11 sectors < 0.5 s",
            ("PASS" if t.median < 0.5 else "FAIL") if t is not None and t.ok else "n/a",
            bc._fmt_seconds(t.median)
            if t is not None and t.ok
            else ("n = 1000 not run" if not big else "not measured"),
        )
    )
    worst_rel = worst_viol = 0.0
    fails = attempted = 0
    for d in (res.acc_single, res.acc_frontier):
        for (_, s), a in d.items():
            if s == "xlfrontier":
                worst_rel = max(worst_rel, a.rel_objective)
                worst_viol = max(worst_viol, a.violation)
                fails += a.failed
                attempted += a.attempted
    for what, value, ok in (
        ("rel. objective error ≤ 1e-12", f"worst {worst_rel:.1e}", worst_rel <= ACCURACY_TARGET),
        ("constraint violation ≤ 1e-12", f"worst {worst_viol:.1e}", worst_viol <= ACCURACY_TARGET),
        ("zero failed points", f"{fails} failed", fails == 0),
    ):
        status = ("PASS" if ok else "FAIL") if attempted else "n/a"
        detail = f"{value} over {attempted} answers" if attempted else "xlfrontier not measured"
        out.append(bc.Check(f"accuracy: {what}", status, detail))
    return out


def report(res: Results) -> str:
    """The markdown report."""
    cfg = res.config
    env = "; ".join(f"{k} {v}" for k, v in res.env.items())
    parts = [
        "# xlfrontier constrained benchmark (11 sectors with min and max, plus caps)",
        "",
        f"Environment: {env}.",
        "",
        f"Mode: {'quick' if cfg.quick else 'full'}; median {cfg.clock} time of repeated calls; "
        "¹ = timed once; ≈ = a subset of the frontier targets timed once and scaled; (k×) = "
        "peer time / xlfrontier time. Problems: bench_core's factor models, long-only with "
        "caps min(1, 5/n), 11 sectors with limits ½ and 1.5× their share (+2%); target = "
        "midpoint of [GMV return, constrained max return].",
        "",
        "## Single solves",
        "",
        table_single(res),
        "",
        f"## Efficient frontier ({cfg.points} points from the GMV to the constrained max return)",
        "",
        table_frontier(res),
        "",
        "## Accuracy (vs Clarabel at 1e-12, polished to a certified KKT point)",
        "",
        table_accuracy(res),
        "",
        "## Targets (issue 11)",
        "",
        "| target | status | detail |",
        "|---|---|---|",
        *(f"| {c.name} | {c.status} | {c.detail} |" for c in checks(res)),
    ]
    if res.notes:
        parts += ["", "Notes:", "", *(f"- {n}" for n in res.notes)]
    return "\n".join(parts) + "\n"


def parse_args(argv: list[str] | None = None) -> Config:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="n = 20 and 50, short timing budget")
    ap.add_argument("--sizes", type=int, nargs="+")
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--budget", type=float, help="seconds of repeated timing per cell")
    ap.add_argument("--solvers", default="xlfrontier,pypfopt,daqp,clarabel")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    cfg = Config(
        sizes=a.sizes or ([20, 50] if a.quick else list(SIZES)),
        points=a.points,
        quick=a.quick,
        solvers=tuple(s.strip() for s in a.solvers.split(",") if s.strip()),
        clock=a.clock,
        out=a.out,
    )
    if a.quick:
        cfg.budget, cfg.max_reps, cfg.long_call = 0.05, 50, 2.0
        cfg.skip_above, cfg.frontier_cap, cfg.subset = 10.0, 5.0, 3
    if a.budget is not None:
        cfg.budget = a.budget
    return cfg


def main(argv: list[str] | None = None) -> str:
    """Run, print the markdown report (and write it to ``--out``)."""
    cfg = parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = report(run(cfg))
    print(text)
    if cfg.out is not None:
        cfg.out.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
