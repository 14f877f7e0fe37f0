"""Latency of the worksheet functions as Excel calls them: a full ``XLPython().CallUDF``.

Each timed call goes through xlwings' own COM entry point (run on Linux under the pywin32
stubs of ``tests/excel/win32_stubs.py``): argument conversion of the Excel-shaped ranges,
validation, the solve, and writing the result back, exactly what the generated VBA triggers.
The core alone (numpy arrays in, result object out) is timed beside it, call for call in
alternation so that both see the same machine load; the difference is the cost of the Excel
layer. BLAS is pinned to one thread, as in a single Excel calculation.

Usage::

    .venv/bin/python benchmarks/bench_udfs.py            # prints a markdown table
    .venv/bin/python benchmarks/bench_udfs.py --seconds 0.5

Data: a seeded one-factor model (betas 0.5-1.5, specific volatility 15-35%), long-only, the
target return at the 70% quantile of mu; EFFICIENT_FRONTIER with its default 20 points. The
constrained case (issue 11) passes a constraints table of 11 sector groups, each with a minimum
(2%) and a maximum (25%), assets assigned to sectors in turn, as the sheet holds it (Name | Min |
Max | 0/1 per asset).
Targets: MINVAR_WEIGHTS at n = 50 in at most 1 ms (median), with and without the 11 groups.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "excel"))
if (ROOT / "addin").as_posix() not in sys.path:
    sys.path.insert(0, str(ROOT / "addin"))

import win32_stubs  # noqa: E402

_, XL_UDFS, COM_SERVER = win32_stubs.install()
import xlfrontier.udfs as udfs  # noqa: E402
from xlfrontier.core.constraints import LinearConstraints  # noqa: E402
from xlfrontier.core.frontier import efficient_frontier  # noqa: E402
from xlfrontier.core.optimize import min_variance  # noqa: E402

MODULE = "xlfrontier.udfs"
SIZES = (10, 50, 200)
TARGET_MS = 1.0
SECTORS = 11
GROUPED = "MINVAR_WEIGHTS + 11 groups"


def factor_model(n: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    beta = rng.uniform(0.5, 1.5, n)
    idio = rng.uniform(0.15, 0.35, n)
    cov = 0.04 * np.outer(beta, beta) + np.diag(idio**2)
    mu = 0.02 + 0.06 * beta + rng.normal(0, 0.01, n)
    return mu, cov


def excel_column(v: np.ndarray) -> tuple:
    return tuple((float(x),) for x in v)


def excel_block(m: np.ndarray) -> tuple:
    return tuple(tuple(float(x) for x in row) for row in m)


def sector_table(n: int) -> tuple[tuple, LinearConstraints]:
    """The 11-sector constraints table as Excel passes it, and the same constraints for the core.

    Asset i is in sector i mod 11; every sector between 2% and 25% of the portfolio.
    """
    a = np.zeros((SECTORS, n))
    a[np.arange(n) % SECTORS, np.arange(n)] = 1.0
    names = [f"Sector {k + 1}" for k in range(SECTORS)]
    lower, upper = np.full(SECTORS, 0.02), np.full(SECTORS, 0.25)
    rows = tuple(
        (name, float(lo), float(hi), *(float(x) for x in row))
        for name, lo, hi, row in zip(names, lower, upper, a, strict=True)
    )
    return rows, LinearConstraints(a, lower, upper, names)


def timeit_pair(f, g, seconds: float, min_runs: int = 30) -> tuple[list[float], list[float]]:
    """Per-call wall times in ms of ``f`` and ``g``, alternated so both see the same load."""
    for _ in range(3):
        f()
        g()
    tf, tg = [], []
    clock = time.perf_counter_ns
    start = time.perf_counter()
    while len(tf) < min_runs or time.perf_counter() - start < seconds:
        t0 = clock()
        f()
        t1 = clock()
        g()
        t2 = clock()
        tf.append((t1 - t0) / 1e6)
        tg.append((t2 - t1) / 1e6)
    return tf, tg


def p90(xs: list[float]) -> float:
    return float(np.quantile(xs, 0.9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    opts = parser.parse_args()

    server = COM_SERVER.XLPython()
    XL_UDFS.udf_modules[MODULE] = {"filename": udfs.__file__, "filetime": None, "module": udfs}

    rows = []
    for n in SIZES:
        mu, cov = factor_model(n)
        r = float(np.quantile(mu, 0.7))
        mu_x, cov_x = excel_column(mu), excel_block(cov)
        cases = [
            (
                "MINVAR_WEIGHTS",
                (mu_x, cov_x, r),
                lambda mu=mu, cov=cov, r=r: min_variance(mu, cov, r),
            ),
            (
                "EFFICIENT_FRONTIER",
                (mu_x, cov_x),
                lambda mu=mu, cov=cov: efficient_frontier(mu, cov).sample(udfs.DEFAULT_POINTS),
            ),
        ]
        if n > SECTORS:  # every sector has members
            table, cons = sector_table(n)
            cases.insert(
                1,
                (
                    GROUPED,
                    (mu_x, cov_x, r, None, None, table),
                    lambda mu=mu, cov=cov, r=r, cons=cons: min_variance(
                        mu, cov, r, constraints=cons
                    ),
                ),
            )
        for name, args, core in cases:
            function = name.split()[0]
            out = server.CallUDF(MODULE, function, args)
            if isinstance(out, str):
                raise SystemExit(f"{name} n={n} failed: {out}")
            udf_ms, core_ms = timeit_pair(
                lambda function=function, args=args: server.CallUDF(MODULE, function, args),
                core,
                opts.seconds,
            )
            rows.append(
                (
                    name,
                    n,
                    statistics.median(udf_ms),
                    p90(udf_ms),
                    statistics.median(core_ms),
                    len(udf_ms),
                )
            )

    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, BLAS threads = 1\n"
    )
    print(
        "| function | n | CallUDF median (ms) | CallUDF p90 (ms) | core only median (ms) "
        "| Excel layer (ms) | runs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, n, med, q90, core, runs in rows:
        print(
            f"| `{name}` | {n} | {med:.3f} | {q90:.3f} | {core:.3f} | {med - core:.3f} | {runs} |"
        )
    print()
    for case in ("MINVAR_WEIGHTS", GROUPED):
        target = next(med for name, n, med, *_ in rows if name == case and n == 50)
        verdict = "met" if target <= TARGET_MS else "NOT met"
        print(f"Target: {case} at n = 50 <= {TARGET_MS:g} ms median: {verdict} ({target:.3f} ms).")


if __name__ == "__main__":
    main()
