"""Cold start: a fresh Python process that imports a library and solves one problem.

Run from the project root::

    python -m benchmarks.cold_start [--runs 7] [--importtime]

Each library is timed in its own fresh interpreter (``subprocess``), on the real 20-stock
problem (minimum variance at the midpoint target return, long-only), saved beforehand to an
``.npz`` file so that no CSV parsing is timed. Two numbers per run:

* **end to end**: wall time of the whole child process, measured by the parent (interpreter
  start-up, imports, loading the ``.npz``, the solve, interpreter exit) — what a user waits for;
* **import + solve**: measured inside the child from its first statement to the end of the
  solve (includes importing numpy, which every candidate needs);
* **process CPU**: user + system CPU time of the child (``getrusage``), which other load on a
  busy machine hardly affects.

One untimed warm-up run per library first (byte-code compilation, OS file cache); then the
libraries alternate, and the medians are reported. ``--importtime`` prints the slowest imports
of ``import xlfrontier`` (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

_PRELUDE = "import time\n_t0 = time.perf_counter()\n"
_EPILOGUE = "\nprint(repr(time.perf_counter() - _t0))\n"
SCRIPTS = {
    "xlfrontier": """
import numpy as np
import xlfrontier
_d = np.load({path!r})
_solve = getattr(xlfrontier, "min_variance", None)
if _solve is None:
    from xlfrontier.core.optimize import min_variance as _solve
_res = _solve(_d["mu"], _d["cov"], float(_d["target"]))
assert abs(float(_res.weights.sum()) - 1.0) < 1e-9
""",
    "PyPortfolioOpt": """
import numpy as np
from pypfopt import EfficientFrontier
_d = np.load({path!r})
_ef = EfficientFrontier(_d["mu"], _d["cov"])
_ef.efficient_return(float(_d["target"]))
""",
    "python (no imports)": "\n",
}


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = "1"
    addin = str(ROOT / "addin")
    if importlib.util.find_spec("xlfrontier") is None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (addin, env.get("PYTHONPATH")) if p)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _problem_file(directory: Path) -> Path:
    import numpy as np

    from benchmarks.problems import real_problem, reference_gmv

    p = real_problem()
    gmv = reference_gmv(p.cov, [])
    target = 0.5 * (float(p.mu @ gmv.x) + float(p.mu.max()))
    path = directory / "problem.npz"
    np.savez(path, mu=p.mu, cov=p.cov, target=target)
    return path


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return math.nan
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _one(script: str, env: dict[str, str]) -> tuple[float, float, float]:
    """(process wall time, in-process import+solve time, process CPU time) of one run."""
    c0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - c0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    return wall, float(proc.stdout.strip().splitlines()[-1]), cpu


def run(runs: int = 7) -> dict[str, dict[str, Any]]:
    """Median cold-start times per library: ``{lib: {process, in_process, runs[, note]}}``."""
    env = _child_env()
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = _problem_file(Path(tmp))
        scripts = {
            lib: _PRELUDE + body.format(path=str(path)) + _EPILOGUE for lib, body in SCRIPTS.items()
        }
        live = {}
        for lib, script in scripts.items():  # warm-up, and find what is installed
            try:
                _one(script, env)
                live[lib] = script
            except RuntimeError as err:
                out[lib] = {"process": None, "note": f"failed: {err}"}
        samples: dict[str, list[tuple[float, float, float]]] = {lib: [] for lib in live}
        for _ in range(runs):
            for lib, script in live.items():
                samples[lib].append(_one(script, env))
        for lib, runs_ in samples.items():
            out[lib] = {
                "process": statistics.median(r[0] for r in runs_),
                "in_process": statistics.median(r[1] for r in runs_),
                "cpu": statistics.median(r[2] for r in runs_),
                "runs": len(runs_),
            }
    return dict(sorted(out.items(), key=lambda kv: list(SCRIPTS).index(kv[0])))


def import_profile(top: int = 15) -> str:
    """The slowest modules (cumulative µs) of ``import xlfrontier`` in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import xlfrontier"],
        env=_child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        self_us, cum_us, name = (x.strip() for x in line.split(":", 1)[1].split("|", 2))
        if self_us.isdigit():
            rows.append((int(cum_us), int(self_us), name))
    rows.sort(reverse=True)
    lines = ["| module | cumulative | self |", "|---|---|---|"]
    lines += [
        f"| `{name}` | {cum / 1e3:.1f} ms | {s / 1e3:.1f} ms |" for cum, s, name in rows[:top]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the cold-start table (and optionally the import profile)."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.cold_start",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--runs", type=int, default=7, help="timed runs per library (default 7)")
    ap.add_argument(
        "--importtime",
        action="store_true",
        help="also show the slowest imports of `import xlfrontier`",
    )
    a = ap.parse_args(argv)
    from benchmarks.bench_core import cold_table

    print(cold_table(run(a.runs)))
    if a.importtime:
        print()
        print(import_profile())


if __name__ == "__main__":
    main()
