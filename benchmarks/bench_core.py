"""Benchmark the xlfrontier core against PyPortfolioOpt, cvxpy+Clarabel and daqp.

Run from the project root::

    python -m benchmarks.bench_core                 # full run (several minutes)
    python -m benchmarks.bench_core --quick         # smoke test, < 1 minute
    python -m benchmarks.bench_core --sizes 10 200 --out results.md

BLAS is pinned to one thread (environment variables set below, before numpy is imported, and
``threadpoolctl`` when installed). See ``benchmarks/README.md`` for the methodology.
"""

from __future__ import annotations

import os

# Pin BLAS to one thread; must happen before numpy is loaded. Only when run as a script: an
# importing process (the smoke test) keeps its environment, and run() limits the BLAS pools
# with threadpoolctl instead.
if __name__ == "__main__":
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
import importlib.metadata
import importlib.util
import math
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import problems as bp

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("min_variance", "gmv", "max_sharpe")
TASK_LABEL = {"min_variance": "min var @ target", "gmv": "GMV", "max_sharpe": "max Sharpe"}
SOLVERS = ("xlfrontier", "pypfopt", "daqp", "clarabel", "clarabel_resolve")
SOLVER_LABEL = {
    "xlfrontier": "xlfrontier",
    "pypfopt": "PyPortfolioOpt EF",
    "daqp": "daqp",
    "clarabel": "Clarabel (build+solve)",
    "clarabel_resolve": "Clarabel (re-solve)",
    "xlfrontier_exact": "xlfrontier exact frontier",
    "xlfrontier_sample": "xlfrontier frontier+sample",
    "cla": "PyPortfolioOpt CLA",
    "daqp_loop": "daqp × points",
    "clarabel_loop": "Clarabel × points",
}
CLARABEL_OPTIONS = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "max_iter": 200}
FAIL_VIOLATION = 1e-6  # an answer violating a constraint by more than this counts as failed
ACCURACY_TARGET = 1e-12


# --------------------------------------------------------------------------------------------
# Configuration and bookkeeping
# --------------------------------------------------------------------------------------------


@dataclass
class Config:
    """Run settings."""

    sizes: list[int]
    real: bool = True
    points: int = 50
    budget: float = 1.0  # seconds of repeated timing per measurement
    min_reps: int = 3
    max_reps: int = 2000
    long_call: float = 10.0  # a call this slow is measured once
    skip_above: float = 120.0  # skip a call predicted to take longer than this
    frontier_cap: float = 60.0  # beyond this, time a subset of the frontier targets
    subset: int = 5
    solvers: tuple[str, ...] = ("xlfrontier", "pypfopt", "daqp", "clarabel", "cla")
    cold_start: bool = True
    quick: bool = False
    clock: str = "wall"
    out: Path | None = None


@dataclass
class Timing:
    """Median wall time of repeated calls."""

    median: float = math.nan
    reps: int = 0
    estimated: bool = False  # extrapolated from a subset of the frontier targets
    note: str = ""  # "skipped (...)", "not installed", "error: ..."

    @property
    def ok(self) -> bool:
        return self.reps > 0 and math.isfinite(self.median)


@dataclass
class Accuracy:
    """Worst accuracy over a set of answers (single solves or frontier points)."""

    rel_objective: float = 0.0
    violation: float = 0.0
    failed: int = 0
    attempted: int = 0
    note: str = ""

    def add(self, rel: float, viol: float, failed: bool) -> None:
        self.attempted += 1
        if failed:
            self.failed += 1
            return
        self.rel_objective = max(self.rel_objective, abs(rel))
        self.violation = max(self.violation, viol)


@dataclass
class Results:
    """Everything measured in one run."""

    config: Config
    single: dict[tuple[str, str, str], Timing] = field(default_factory=dict)  # (prob, task, solver)
    frontier: dict[tuple[str, str], Timing] = field(default_factory=dict)  # (prob, solver)
    acc_single: dict[tuple[str, str], Accuracy] = field(default_factory=dict)  # (prob, solver)
    acc_frontier: dict[tuple[str, str], Accuracy] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    cold: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)


# The clock used for every measurement: wall time by default; ``--clock cpu`` switches to this
# process's CPU time, which is far less sensitive to other load on a shared machine (every
# solver here runs single-threaded, so on a quiet machine the two agree).
_CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_now = time.perf_counter


def set_clock(name: str) -> None:
    """Select the clock for all measurements: ``"wall"`` or ``"cpu"``."""
    global _now
    _now = _CLOCK[name]


class Unavailable(RuntimeError):
    """A solver package is not installed."""


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence peers' warnings (pytest runs with warnings as errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def measure(fn: Callable[[], Any], cfg: Config) -> tuple[Timing, Any]:
    """Median wall time of ``fn()``; the first call is a warm-up unless it is slow.

    Repetitions fill ``cfg.budget`` seconds, at least ``cfg.min_reps`` and at most
    ``cfg.max_reps``; a call slower than ``cfg.long_call`` is timed once.
    """
    with _quiet():
        t0 = _now()
        out = fn()
        first = _now() - t0
        if first >= cfg.long_call:
            return Timing(first, 1), out
        times = [first] if first >= 1.0 else []
        reps = min(cfg.max_reps, max(cfg.min_reps, math.ceil(cfg.budget / max(first, 1e-7))))
        while len(times) < reps:
            t0 = _now()
            fn()
            times.append(_now() - t0)
    return Timing(statistics.median(times), len(times)), out


class Predictor:
    """Predict a solver's run time at a larger n from its slowest earlier run (cubic scaling)."""

    def __init__(self) -> None:
        self.history: dict[str, tuple[int, float]] = {}

    def record(self, key: str, n: int, seconds: float) -> None:
        if math.isfinite(seconds) and seconds >= 0.02:
            old = self.history.get(key)
            if old is None or n >= old[0]:
                self.history[key] = (n, seconds)

    def predict(self, key: str, n: int) -> float:
        if key not in self.history:
            return 0.0
        n0, t0 = self.history[key]
        return t0 * (n / n0) ** 3 if n > n0 else t0


# --------------------------------------------------------------------------------------------
# Solver adapters: each returns a zero-argument callable producing weights (n,) or (p, n)
# --------------------------------------------------------------------------------------------


def _import(name: str) -> Any:
    try:
        with _quiet():
            return importlib.import_module(name)
    except ImportError as err:
        raise Unavailable(f"{name} not installed") from err


def _xlfrontier() -> Any:
    """The xlfrontier core (``addin/`` is put on the path when the package is not installed)."""
    addin = str(ROOT / "addin")
    if importlib.util.find_spec("xlfrontier") is None and addin not in sys.path:
        sys.path.insert(0, addin)
    try:
        opt = importlib.import_module("xlfrontier.core.optimize")
        fr = importlib.import_module("xlfrontier.core.frontier")
    except ImportError as err:
        raise Unavailable(f"xlfrontier core not importable ({err})") from err
    return opt, fr


class Failed(RuntimeError):
    """A solver returned no usable answer."""


def xlf_single(p: bp.BenchProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    opt, _ = _xlfrontier()

    def check(res: Any) -> np.ndarray:
        if getattr(res, "status", "optimal") != "optimal":
            raise Failed(res.status)
        return res.weights

    if task == "gmv":
        return lambda: check(opt.global_min_variance(p.cov))
    if task == "min_variance":
        return lambda: check(opt.min_variance(p.mu, p.cov, target))
    return lambda: check(opt.max_sharpe(p.mu, p.cov, p.rf))


def pypfopt_single(p: bp.BenchProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    pypfopt = _import("pypfopt")
    ef_cls = pypfopt.EfficientFrontier

    def run() -> np.ndarray:
        # One EfficientFrontier per solve: its objects are single-use, so construction
        # (building the cvxpy problem) is part of every solve; default solver (OSQP here).
        ef = ef_cls(p.mu, p.cov)
        if task == "gmv":
            ef.min_volatility()
        elif task == "min_variance":
            ef.efficient_return(target)
        else:
            ef.max_sharpe(risk_free_rate=p.rf)
        return np.asarray(ef.weights, dtype=np.float64)

    return run


def _daqp_data(p: bp.BenchProblem, rows: np.ndarray, rhs: np.ndarray) -> tuple:
    """Prebuilt daqp inputs: ``min ½xᵀΣx  s.t. x ≥ 0, rows·x = rhs`` (simple bounds first)."""
    n, m = p.n, rows.shape[0]
    bupper = np.concatenate([np.full(n, np.inf), rhs])
    blower = np.concatenate([np.zeros(n), rhs])
    sense = np.concatenate([np.zeros(n, dtype=np.int32), np.full(m, 5, dtype=np.int32)])
    return p.cov, np.zeros(n), np.ascontiguousarray(rows), bupper, blower, sense


def daqp_single(p: bp.BenchProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    daqp = _import("daqp")
    if task == "gmv":
        data = _daqp_data(p, np.ones((1, p.n)), np.ones(1))
    elif task == "min_variance":
        data = _daqp_data(p, np.vstack([np.ones(p.n), p.mu]), np.array([1.0, target]))
    else:  # homogenised max Sharpe: min yᵀΣy s.t. (μ−rf)ᵀy = 1, y ≥ 0; w = y / 1ᵀy
        data = _daqp_data(p, (p.mu - p.rf)[None, :], np.ones(1))

    def run() -> np.ndarray:
        x, _, flag, _ = daqp.solve(*data)
        if flag < 1:
            raise Failed(f"daqp exitflag {flag}")
        x = np.asarray(x, dtype=np.float64)
        return x / x.sum() if task == "max_sharpe" else x

    return run


def _require_clarabel() -> Any:
    cp = _import("cvxpy")
    if "CLARABEL" not in cp.installed_solvers():
        raise Unavailable("Clarabel not installed")
    return cp


def _clarabel_problem(p: bp.BenchProblem, task: str) -> tuple[Any, Any, Any]:
    """cvxpy problem (``psd_wrap`` skips cvxpy's eigenvalue check) and its target parameter."""
    cp = _require_clarabel()
    x = cp.Variable(p.n)
    target = cp.Parameter() if task == "min_variance" else None
    risk = cp.quad_form(x, cp.psd_wrap(p.cov))
    if task == "gmv":
        cons = [cp.sum(x) == 1, x >= 0]
    elif task == "min_variance":
        cons = [cp.sum(x) == 1, p.mu @ x == target, x >= 0]
    else:
        cons = [(p.mu - p.rf) @ x == 1, x >= 0]
    return cp.Problem(cp.Minimize(risk), cons), x, target


def _clarabel_solve(prob: Any, x: Any, task: str) -> np.ndarray:
    prob.solve(solver="CLARABEL", **CLARABEL_OPTIONS)
    if prob.status not in ("optimal", "optimal_inaccurate") or x.value is None:
        raise Failed(f"Clarabel status {prob.status}")
    w = np.asarray(x.value, dtype=np.float64)
    return w / w.sum() if task == "max_sharpe" else w


def clarabel_single(p: bp.BenchProblem, task: str, target: float) -> Callable[[], np.ndarray]:
    _require_clarabel()

    def run() -> np.ndarray:
        prob, x, par = _clarabel_problem(p, task)
        if par is not None:
            par.value = target
        return _clarabel_solve(prob, x, task)

    return run


def clarabel_resolve_single(
    p: bp.BenchProblem, task: str, target: float
) -> Callable[[], np.ndarray]:
    """Re-solve of a problem built (and canonicalised) once: parameter update + solve."""
    prob, x, par = _clarabel_problem(p, task)
    if par is not None:
        par.value = target
    with _quiet(), contextlib.suppress(Failed):
        _clarabel_solve(prob, x, task)

    def run() -> np.ndarray:
        if par is not None:
            par.value = target
        return _clarabel_solve(prob, x, task)

    return run


SINGLE_ADAPTERS = {
    "xlfrontier": xlf_single,
    "pypfopt": pypfopt_single,
    "daqp": daqp_single,
    "clarabel": clarabel_single,
    "clarabel_resolve": clarabel_resolve_single,
}


# Frontier adapters return a callable producing (targets (p,), weights (p, n)); a failed point
# is a row of NaN.


def xlf_frontier(p: bp.BenchProblem, points: int, sample: bool) -> Callable[[], Any]:
    _, fr = _xlfrontier()
    if not sample:
        return lambda: fr.efficient_frontier(p.mu, p.cov)

    def run() -> tuple[np.ndarray, np.ndarray]:
        s = fr.efficient_frontier(p.mu, p.cov).sample(points)
        return np.asarray(s.returns), np.asarray(s.weights)

    return run


def cla_frontier(p: bp.BenchProblem, points: int) -> Callable[[], Any]:
    cla_cls = _import("pypfopt").CLA

    def run() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cla = cla_cls(p.mu, p.cov)
        _, _, weights = cla.efficient_frontier(points=points)
        pts = np.array([np.ravel(w) for w in weights]).reshape(-1, p.n)
        corners = np.array([np.ravel(w) for w in cla.w]).reshape(-1, p.n)
        return pts @ p.mu, pts, corners

    return run


def daqp_frontier(
    p: bp.BenchProblem, targets: np.ndarray, clock: list[float] | None = None
) -> Callable[[], Any]:
    """Independent daqp solves; ``clock`` (when given) receives the cumulative time per point."""
    daqp = _import("daqp")
    h, f, a, bu, bl, sense = _daqp_data(p, np.vstack([np.ones(p.n), p.mu]), np.array([1.0, 0.0]))

    def run() -> tuple[np.ndarray, np.ndarray]:
        t0 = _now()
        out = np.full((targets.size, p.n), np.nan)
        for k, r in enumerate(targets):
            bu[-1] = bl[-1] = r
            x, _, flag, _ = daqp.solve(h, f, a, bu, bl, sense)
            if flag >= 1:
                out[k] = x
            if clock is not None:
                clock.append(_now() - t0)
        return targets, out

    return run


def clarabel_frontier(
    p: bp.BenchProblem, targets: np.ndarray, clock: list[float] | None = None
) -> Callable[[], Any]:
    """One cvxpy problem with a parameter target, built once and solved per point."""
    _require_clarabel()

    def run() -> tuple[np.ndarray, np.ndarray]:
        t0 = _now()
        prob, x, par = _clarabel_problem(p, "min_variance")
        out = np.full((targets.size, p.n), np.nan)
        for k, r in enumerate(targets):
            par.value = r
            with contextlib.suppress(Exception):
                out[k] = _clarabel_solve(prob, x, "min_variance")
            if clock is not None:
                clock.append(_now() - t0)
        return targets, out

    return run


# --------------------------------------------------------------------------------------------
# Accuracy against the references
# --------------------------------------------------------------------------------------------


def _violation(w: np.ndarray, p: bp.BenchProblem, target: float | None) -> float:
    wl = w.astype(np.longdouble)
    v = max(abs(float(wl.sum() - 1)), max(0.0, -float(w.min())))
    if target is not None:
        v = max(v, abs(float(p.mu.astype(np.longdouble) @ wl - np.longdouble(target))))
    return v


def _score(
    w: np.ndarray | None, p: bp.BenchProblem, task: str, target: float | None, ref_obj: float
) -> tuple[float, float, bool]:
    """(relative objective error, max violation, failed) of answer ``w``."""
    if w is None or w.shape != (p.n,) or not np.all(np.isfinite(w)):
        return math.nan, math.nan, True
    viol = _violation(w, p, target if task == "min_variance" else None)
    if task == "max_sharpe":
        rel = (bp.sharpe_ratio(w, p.mu, p.cov, p.rf) - ref_obj) / ref_obj
    else:
        rel = (bp.variance(w, p.cov) - ref_obj) / ref_obj
    return rel, viol, viol > FAIL_VIOLATION


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _solver_enabled(cfg: Config, solver: str) -> bool:
    base = "clarabel" if solver == "clarabel_resolve" else solver
    return base in cfg.solvers


def run_single(p: bp.BenchProblem, cfg: Config, res: Results, pred: Predictor) -> dict[str, float]:
    """Time and score the three single solves; returns the references' key numbers."""
    info: dict[str, float] = {}
    target = math.nan
    for task in ("gmv", "min_variance", "max_sharpe"):  # the target needs the GMV return
        answers: dict[str, np.ndarray | None] = {}
        for solver in SOLVERS:
            key = (p.name, task, solver)
            if not _solver_enabled(cfg, solver):
                continue
            est = pred.predict(f"{solver}:{task}", p.n)
            if est > cfg.skip_above:
                res.single[key] = Timing(note=f"skipped (est. {est:.0f} s)")
                continue
            try:
                fn = SINGLE_ADAPTERS[solver](p, task, target)
                timing, w = measure(fn, cfg)
            except Unavailable as err:
                res.single[key] = Timing(note="not installed")
                res.notes.append(f"{SOLVER_LABEL[solver]}: {err}")
                continue
            except Exception as err:  # a failed solve is a result, not a crash
                res.single[key] = Timing(note=f"failed ({type(err).__name__})")
                answers[solver] = None
                _log(f"  {p.name} {task} {solver}: {type(err).__name__}: {err}")
                continue
            res.single[key] = timing
            pred.record(f"{solver}:{task}", p.n, timing.median)
            answers[solver] = np.asarray(w, dtype=np.float64)
            _log(f"  {p.name:12s} {TASK_LABEL[task]:17s} {solver:17s} {_fmt_time(timing)}")

        order = ("daqp", "clarabel", "xlfrontier", "clarabel_resolve", "pypfopt")
        cands = [(s, answers[s]) for s in order if answers.get(s) is not None]
        if task == "gmv":
            ref = bp.reference_gmv(p.cov, cands)
            ref_obj = ref.objective
            info["gmv_return"] = float(p.mu @ ref.x)
            target = 0.5 * (info["gmv_return"] + float(p.mu.max()))
            info["target"] = target
        elif task == "min_variance":
            ref = bp.reference_min_variance(p.mu, p.cov, target, cands)
            ref_obj = ref.objective
        else:
            ref, _, ref_obj = bp.reference_max_sharpe(p.mu, p.cov, p.rf, cands)
        if not ref.certified:
            res.notes.append(f"{p.name} {TASK_LABEL[task]}: reference NOT certified")
        for solver, w in answers.items():
            acc = res.acc_single.setdefault((p.name, solver), Accuracy())
            acc.add(*_score(w, p, task, target, ref_obj))
    return info


def run_frontier(
    p: bp.BenchProblem, cfg: Config, res: Results, pred: Predictor, gmv_return: float
) -> None:
    """Time and score the 50-point frontier."""
    targets = np.linspace(gmv_return, float(p.mu.max()), cfg.points)
    ref_cache: dict[float, bp.Reference] = {}

    def reference(r: float, cands: list[tuple[str, np.ndarray]]) -> bp.Reference:
        if r not in ref_cache:
            ref_cache[r] = bp.reference_min_variance(p.mu, p.cov, r, cands)
            if not ref_cache[r].certified:
                res.notes.append(f"{p.name} frontier point r={r:.6g}: reference NOT certified")
        return ref_cache[r]

    def score(solver: str, rs: np.ndarray, ws: np.ndarray, extra: list | None = None) -> None:
        acc = res.acc_frontier.setdefault((p.name, solver), Accuracy())
        for k, (r, w) in enumerate(zip(rs, ws, strict=True)):
            cands = [(solver, w)] + [
                (s, o[1][k])
                for s, o in (extra or [])
                if o[1].shape[0] == rs.size and np.all(np.isfinite(o[1][k]))
            ]
            ref = reference(float(r), [c for c in cands if np.all(np.isfinite(c[1]))])
            acc.add(*_score(w, p, "min_variance", float(r), ref.objective))

    outputs: dict[str, Any] = {}
    subsets: set[str] = set()  # solvers whose frontier was timed (and scored) on a subset
    jobs: list[tuple[str, Callable[[], Callable[[], Any]], str]] = [
        ("xlfrontier_exact", lambda: xlf_frontier(p, cfg.points, False), "xlfrontier"),
        ("xlfrontier_sample", lambda: xlf_frontier(p, cfg.points, True), "xlfrontier"),
        ("cla", lambda: cla_frontier(p, cfg.points), "cla"),
        ("daqp_loop", lambda: daqp_frontier(p, targets), "daqp"),
        ("clarabel_loop", lambda: clarabel_frontier(p, targets), "clarabel"),
    ]
    for name, make, base in jobs:
        key = (p.name, name)
        if base not in cfg.solvers:
            continue
        est = pred.predict(f"frontier:{name}", p.n)
        if name == "cla" and est > cfg.skip_above:
            res.frontier[key] = Timing(note=f"skipped (est. {est:.0f} s)")
            continue
        try:
            if name in ("daqp_loop", "clarabel_loop") and est > cfg.frontier_cap:
                # Too slow to repeat: time once on an evenly spread subset of the targets.
                # Estimate = first point (including the build and, for cvxpy, the
                # canonicalisation) + mean time of the other points x (points - 1).
                idx = np.unique(np.linspace(0, cfg.points - 1, cfg.subset).round().astype(int))
                maker = daqp_frontier if name == "daqp_loop" else clarabel_frontier
                clock: list[float] = []
                with _quiet():
                    rs, ws = maker(p, targets[idx], clock)()
                per_point = (clock[-1] - clock[0]) / max(len(clock) - 1, 1)
                timing = Timing(clock[0] + per_point * (cfg.points - 1), 1, estimated=True)
                outputs[name] = (rs, ws)
                subsets.add(name.replace("_loop", ""))
            else:
                timing, out = measure(make(), cfg)
                outputs[name] = out
        except Unavailable as err:
            res.frontier[key] = Timing(note="not installed")
            res.notes.append(f"{SOLVER_LABEL[name]}: {err}")
            continue
        except Exception as err:
            res.frontier[key] = Timing(note=f"failed ({type(err).__name__})")
            _log(f"  {p.name} frontier {name}: {type(err).__name__}: {err}")
            continue
        res.frontier[key] = timing
        pred.record(f"frontier:{name}", p.n, timing.median)
        _log(f"  {p.name:12s} frontier {name:27s} {_fmt_time(timing)}")

    # Accuracy. Peers share the same targets; xlfrontier and CLA are scored at their own returns.
    peers = [(s, outputs[s]) for s in ("daqp_loop", "clarabel_loop") if s in outputs]
    if "xlfrontier_sample" in outputs:
        rs, ws = outputs["xlfrontier_sample"]
        score("xlfrontier", rs, ws, [o for o in peers if o[1][0].size == rs.size])
        if rs.size == cfg.points:
            dev = float(np.max(np.abs(rs - targets)))
            if dev > 1e-12 * max(1.0, float(np.abs(targets).max())):
                res.notes.append(
                    f"{p.name}: xlfrontier sample returns differ from the "
                    f"reference grid by up to {dev:.2g}"
                )
        else:
            res.notes.append(f"{p.name}: xlfrontier sample returned {rs.size} points")
    for name, out in peers:
        rs, ws = out
        others = [o for o in peers if o[0] != name and o[1][0].size == rs.size]
        score(name.replace("_loop", ""), rs, ws, others)
        if name.replace("_loop", "") in subsets:
            res.acc_frontier[(p.name, name.replace("_loop", ""))].note = "timing subset"
    if "cla" in outputs:
        rs, ws, corners = outputs["cla"]
        allw = np.vstack([ws, corners]) if ws.size else corners
        score("cla", allw @ p.mu, allw)
        acc = res.acc_frontier[(p.name, "cla")]
        acc.note = f"{ws.shape[0]} pts + {corners.shape[0]} corners"
        if ws.shape[0] != cfg.points:
            res.notes.append(
                f"{p.name}: PyPortfolioOpt CLA.efficient_frontier(points="
                f"{cfg.points}) returned {ws.shape[0]} points "
                f"({corners.shape[0]} turning points)"
            )


def environment() -> dict[str, str]:
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "numpy": np.__version__,
    }
    for pkg in ("scipy", "pyportfolioopt", "cvxpy", "clarabel", "daqp", "osqp", "xlfrontier"):
        try:
            env[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            env[pkg] = "not installed" if pkg != "xlfrontier" else "source tree"
    try:
        from threadpoolctl import threadpool_info

        pools = threadpool_info()
        env["BLAS threads (threadpoolctl)"] = (
            ", ".join(f"{d['prefix']}={d['num_threads']}" for d in pools) or "none loaded"
        )
    except ImportError:
        env["BLAS threads"] = (
            "unverified (no threadpoolctl); OPENBLAS_NUM_THREADS="
            + os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        )
    with contextlib.suppress(OSError):
        env["load average"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return env


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Limit every loaded BLAS/OpenMP pool to one thread (when threadpoolctl is installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


def run(cfg: Config) -> Results:
    """Run the whole benchmark."""
    set_clock(cfg.clock)
    try:
        with _one_blas_thread():
            return _run(cfg)
    finally:
        set_clock("wall")


def _run(cfg: Config) -> Results:
    res = Results(cfg)
    with _quiet():
        # Import peers up front so import time never lands in a measurement.
        for mod in ("pypfopt", "cvxpy", "daqp"):
            with contextlib.suppress(ImportError):
                importlib.import_module(mod)
        with contextlib.suppress(Unavailable):
            _xlfrontier()
    res.env = environment()
    pred = Predictor()
    for p in bp.load_problems(cfg.sizes, real=cfg.real):
        _log(f"{p.name} (n={p.n})")
        res.sizes[p.name] = p.n
        info = run_single(p, cfg, res, pred)
        run_frontier(p, cfg, res, pred, info["gmv_return"])
    if cfg.cold_start:
        from benchmarks import cold_start

        _log("cold start")
        res.cold = cold_start.run(runs=3 if cfg.quick else 7)
    with contextlib.suppress(OSError):
        res.env["load average (end)"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return res


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _fmt_seconds(t: float) -> str:
    if not math.isfinite(t):
        return "–"
    if round(t * 1e6) < 1000:
        return f"{t * 1e6:.0f} µs"
    r = float(f"{t:.3g}")  # the unit after rounding: 0.9996 s is "1 s", not "1e+03 ms"
    if r < 1.0:
        return f"{r * 1e3:.3g} ms"
    return f"{r:.3g} s" if r < 1000 else f"{t:,.0f} s"


def _fmt_time(t: Timing | None) -> str:
    if t is None:
        return "–"
    if not t.ok:
        return t.note or "–"
    mark = ("≈" if t.estimated else "") + _fmt_seconds(t.median)
    return mark + ("¹" if t.reps == 1 and not t.estimated else "")


def _ratio(peer: Timing | None, base: Timing | None) -> float:
    if peer is None or base is None or not peer.ok or not base.ok:
        return math.nan
    return peer.median / base.median


def _fmt_ratio(r: float) -> str:
    if not math.isfinite(r):
        return ""
    return f" ({r:.3g}×)" if r < 100 else f" ({r:,.0f}×)"


def _fmt_err(x: float) -> str:
    return "–" if not math.isfinite(x) else ("0" if x == 0 else f"{x:.1e}")


def _ordered(res: Results) -> list[str]:
    return sorted(res.sizes, key=lambda name: (res.sizes[name], name))


def table_single(res: Results) -> str:
    cols = [s for s in SOLVERS if _solver_enabled(res.config, s)]
    head = ["n", "problem", "task", *(SOLVER_LABEL[s] for s in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in _ordered(res):
        for task in TASKS:
            base = res.single.get((name, task, "xlfrontier"))
            row = [str(res.sizes[name]), name, TASK_LABEL[task]]
            for s in cols:
                t = res.single.get((name, task, s))
                cell = _fmt_time(t)
                if s != "xlfrontier":
                    cell += _fmt_ratio(_ratio(t, base))
                row.append(cell)
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def table_frontier(res: Results) -> str:
    names = ["xlfrontier_exact", "xlfrontier_sample", "cla", "daqp_loop", "clarabel_loop"]
    base_of = {
        "xlfrontier_exact": "xlfrontier",
        "xlfrontier_sample": "xlfrontier",
        "cla": "cla",
        "daqp_loop": "daqp",
        "clarabel_loop": "clarabel",
    }
    cols = [c for c in names if base_of[c] in res.config.solvers]
    pts = res.config.points
    label = {
        **SOLVER_LABEL,
        "xlfrontier_sample": f"xlfrontier frontier+sample({pts})",
        "cla": f"CLA efficient_frontier({pts})",
        "daqp_loop": f"{pts} × daqp",
        "clarabel_loop": f"{pts} × Clarabel (1 build)",
    }
    head = ["n", "problem", *(label[c] for c in cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in _ordered(res):
        base = res.frontier.get((name, "xlfrontier_sample"))
        row = [str(res.sizes[name]), name]
        for c in cols:
            t = res.frontier.get((name, c))
            cell = _fmt_time(t)
            if c not in ("xlfrontier_exact", "xlfrontier_sample"):
                cell += _fmt_ratio(_ratio(t, base))
            row.append(cell)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def table_accuracy(res: Results) -> str:
    order = ["xlfrontier", "pypfopt", "daqp", "clarabel", "clarabel_resolve", "cla"]
    label = {**SOLVER_LABEL, "cla": "PyPortfolioOpt CLA", "clarabel": "Clarabel"}
    head = [
        "n",
        "problem",
        "solver",
        "single: rel. obj. error",
        "single: violation",
        "single: failed",
        "frontier: rel. obj. error",
        "frontier: violation",
        "frontier: failed",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in _ordered(res):
        for s in order:
            a = res.acc_single.get((name, s))
            f = res.acc_frontier.get((name, s))
            if a is None and f is None:
                continue
            row = [str(res.sizes[name]), name, label[s]]
            for acc in (a, f):
                if acc is None or acc.attempted == 0:
                    row += ["–", "–", "–"]
                    continue
                fails = f"{acc.failed}/{acc.attempted}"
                if acc.note:
                    fails += f" ({acc.note})"
                ok = acc.attempted > acc.failed
                row += [
                    _fmt_err(acc.rel_objective) if ok else "–",
                    _fmt_err(acc.violation) if ok else "–",
                    fails,
                ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


@dataclass
class Check:
    """One target from the issue."""

    name: str
    status: str  # PASS / FAIL / n/a
    detail: str


def _check_ratios(
    res: Results,
    table: str,
    peer: str,
    threshold: float,
    sizes: Callable[[int], bool],
    base: str = "xlfrontier",
) -> tuple[str, str]:
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
                    f"{name} {TASK_LABEL[t]}",
                )
                for t in TASKS
            ]
        else:
            pairs = [(res.frontier.get((name, peer)), res.frontier.get((name, base)), name)]
        for pt, bt, where in pairs:
            r = _ratio(pt, bt)
            if not math.isfinite(r):
                why = pt.note if pt is not None and pt.note else "not run"
                missing.append(f"{where} [{why}]")
                continue
            if worst is None or r < worst[0]:
                worst = (r, where)
    if worst is None:
        return "n/a", "not measured" + (f" ({', '.join(missing)})" if missing else "")
    status = "PASS" if worst[0] >= threshold else "FAIL"
    detail = f"worst {worst[0]:.3g}× ({worst[1]})"
    if missing:
        detail += f"; no ratio for: {', '.join(missing)}"
    return status, detail


def checks(res: Results) -> list[Check]:
    out = []
    out.append(
        Check(
            "single solves ≥20× faster than PyPortfolioOpt EF (every n)",
            *_check_ratios(res, "single", "pypfopt", 20.0, lambda n: True),
        )
    )
    out.append(
        Check(
            "single solves no slower than daqp (n ≥ 200)",
            *_check_ratios(res, "single", "daqp", 1.0, lambda n: n >= 200),
        )
    )
    out.append(
        Check(
            "single solves within 3× of daqp (n ≤ 50)",
            *_check_ratios(res, "single", "daqp", 1 / 3, lambda n: n <= 50),
        )
    )
    out.append(
        Check(
            f"frontier({res.config.points}) ≥100× faster than CLA (n ≥ 50)",
            *_check_ratios(
                res, "frontier", "cla", 100.0, lambda n: n >= 50, base="xlfrontier_sample"
            ),
        )
    )
    out.append(
        Check(
            f"frontier({res.config.points}) ≥10× faster than {res.config.points} daqp "
            "solves (n ≥ 200)",
            *_check_ratios(
                res, "frontier", "daqp_loop", 10.0, lambda n: n >= 200, base="xlfrontier_sample"
            ),
        )
    )
    big = [name for name in _ordered(res) if res.sizes[name] == 2000]
    t = res.frontier.get((big[0], "xlfrontier_exact")) if big else None
    if t is not None and t.ok:
        out.append(
            Check(
                "exact frontier n = 2000 < 1 s",
                "PASS" if t.median < 1.0 else "FAIL",
                _fmt_seconds(t.median),
            )
        )
    else:
        out.append(
            Check(
                "exact frontier n = 2000 < 1 s",
                "n/a",
                "n = 2000 not run" if not big else "not measured",
            )
        )
    worst_rel = worst_viol = 0.0
    fails = attempted = 0
    for d in (res.acc_single, res.acc_frontier):
        for (_, s), a in d.items():
            if s != "xlfrontier":
                continue
            worst_rel = max(worst_rel, a.rel_objective)
            worst_viol = max(worst_viol, a.violation)
            fails += a.failed
            attempted += a.attempted
    if attempted:
        out.append(
            Check(
                "accuracy: rel. objective error ≤ 1e-12",
                "PASS" if worst_rel <= ACCURACY_TARGET else "FAIL",
                f"worst {worst_rel:.1e} over {attempted} answers",
            )
        )
        out.append(
            Check(
                "accuracy: constraint violation ≤ 1e-12",
                "PASS" if worst_viol <= ACCURACY_TARGET else "FAIL",
                f"worst {worst_viol:.1e}",
            )
        )
        out.append(
            Check(
                "accuracy: zero failed points",
                "PASS" if fails == 0 else "FAIL",
                f"{fails} failed of {attempted}",
            )
        )
    else:
        out += [
            Check(f"accuracy: {w}", "n/a", "xlfrontier not measured")
            for w in (
                "rel. objective error ≤ 1e-12",
                "constraint violation ≤ 1e-12",
                "zero failed points",
            )
        ]
    if res.cold and "xlfrontier" in res.cold:
        c = res.cold["xlfrontier"]
        if c.get("process") is not None:
            # Checked on the process wall time, or on its CPU time in --clock cpu mode.
            cpu = res.config.clock == "cpu" and math.isfinite(c.get("cpu", math.nan))
            basis = c["cpu"] if cpu else c["process"]
            out.append(
                Check(
                    "cold start ≤ 200 ms (fresh process, import + solve)",
                    "PASS" if basis <= 0.2 else "FAIL",
                    f"{_fmt_seconds(basis)} process {'CPU' if cpu else 'wall'} time "
                    f"({_fmt_seconds(c['in_process'])} import+solve inside)",
                )
            )
        else:
            out.append(Check("cold start ≤ 200 ms", "n/a", c.get("note", "failed")))
    else:
        out.append(Check("cold start ≤ 200 ms", "n/a", "not run (python -m benchmarks.cold_start)"))
    return out


def report(res: Results) -> str:
    cfg = res.config
    parts = ["# xlfrontier core benchmark", ""]
    parts.append("Environment: " + "; ".join(f"{k} {v}" for k, v in res.env.items()) + ".")
    parts.append("")
    parts.append(
        f"Mode: {'quick' if cfg.quick else 'full'}; median "
        f"{'process CPU' if cfg.clock == 'cpu' else 'wall'} time of repeated calls "
        f"(≥{cfg.min_reps} reps, ~{cfg.budget:g} s per cell); ¹ = timed once (call ≥ "
        f"{cfg.long_call:g} s); ≈ = {cfg.subset} of {cfg.points} frontier targets timed once "
        f"and scaled; (k×) = peer time / xlfrontier time. Long-only (w ≥ 0, 1ᵀw = 1); target "
        f"return = midpoint of [GMV return, max μ]; rf = {bp.RISK_FREE_RATE:g}."
    )
    parts += ["", "## Single solves", "", table_single(res), ""]
    parts += [
        f"## Efficient frontier ({cfg.points} points, evenly spaced in return from the GMV "
        "to the max-return portfolio)",
        "",
        table_frontier(res),
        "",
    ]
    parts += [
        "## Accuracy (vs certified extended-precision KKT reference)",
        "",
        table_accuracy(res),
        "",
    ]
    if res.cold:
        parts += [
            "## Cold start (fresh process: import + load data + one min-variance solve)",
            "",
            cold_table(res.cold),
            "",
        ]
    parts += ["## Targets", "", "| target | status | detail |", "|---|---|---|"]
    parts += [f"| {c.name} | {c.status} | {c.detail} |" for c in checks(res)]
    if res.notes:
        parts += ["", "Notes:", ""] + [f"- {n}" for n in dict.fromkeys(res.notes)]
    return "\n".join(parts) + "\n"


def cold_table(cold: dict[str, Any]) -> str:
    lines = [
        "| library | end to end (process wall) | import + solve (inside) | process CPU | runs |",
        "|---|---|---|---|---|",
    ]
    for lib, c in cold.items():
        if c.get("process") is None:
            lines.append(f"| {lib} | {c.get('note', 'failed')} | | | |")
            continue
        lines.append(
            f"| {lib} | {_fmt_seconds(c['process'])} | {_fmt_seconds(c['in_process'])} | "
            f"{_fmt_seconds(c.get('cpu', math.nan))} | {c['runs']} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> Config:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_core",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: n = 10, 50 and the real data, few repetitions (< 1 min)",
    )
    ap.add_argument("--sizes", type=int, nargs="+", help="factor-model sizes (default: all)")
    ap.add_argument("--no-real", action="store_true", help="skip the real 20-stock problem")
    ap.add_argument("--points", type=int, default=50, help="frontier points (default 50)")
    ap.add_argument("--budget", type=float, help="seconds of repeated timing per cell")
    ap.add_argument(
        "--solvers",
        default="xlfrontier,pypfopt,daqp,clarabel,cla",
        help="comma-separated subset of xlfrontier,pypfopt,daqp,clarabel,cla",
    )
    ap.add_argument(
        "--cold-start",
        dest="cold",
        action="store_true",
        default=None,
        help="also measure cold start (default: on in full mode, off in quick)",
    )
    ap.add_argument("--no-cold-start", dest="cold", action="store_false")
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time (default) or process CPU time (robust on a busy machine)",
    )
    ap.add_argument("--out", type=Path, help="also write the markdown report here")
    a = ap.parse_args(argv)
    sizes = a.sizes or ([10, 50] if a.quick else list(bp.SIZES))
    cfg = Config(
        sizes=sizes,
        real=not a.no_real,
        points=a.points,
        quick=a.quick,
        solvers=tuple(s.strip() for s in a.solvers.split(",") if s.strip()),
    )
    if a.quick:
        cfg.budget, cfg.max_reps, cfg.long_call = 0.05, 50, 2.0
        cfg.skip_above, cfg.frontier_cap, cfg.subset = 10.0, 5.0, 3
    if a.budget is not None:
        cfg.budget = a.budget
    cfg.cold_start = (not a.quick) if a.cold is None else a.cold
    cfg.out = a.out
    cfg.clock = a.clock
    return cfg


def main(argv: list[str] | None = None) -> str:
    """Run the benchmark, print the markdown report (and write it to ``--out``)."""
    cfg = parse_args(argv)
    res = run(cfg)
    text = report(res)
    print(text)
    if cfg.out is not None:
        cfg.out.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
