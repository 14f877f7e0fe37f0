"""What a compiled kernel would buy: the long-only corner loop in NumPy and compiled with numba.

An experiment behind the two speed targets of issue 2 that pure Python misses, for the
decision on a compiled dependency. numba is **not** a dependency of xlfrontier; install it into
the environment to run the compiled half (``pip install numba``; without it only the NumPy
half runs).

Both halves run the same stripped-down loop: the critical-line trace of the long-only frontier
(``min ½wᵀΣw − t·μᵀw``, ``1ᵀw = 1``, ``w ≥ 0``) from the GMV working set, with an explicit
inverse of the free assets' KKT matrix, a rank-one downdate when a free weight reaches 0 and
a bordering update when a multiplier changes sign. It has none of the engine's safeguards
(no zero-curvature steps, drift checks or corner bookkeeping), so the NumPy half is the floor
of the NumPy approach. Its corners are checked against the engine's (``xlfrontier.core``).

Usage::

    python -m benchmarks.compiled_kernel             # n = 50, 200, 500
    python -m benchmarks.compiled_kernel --cold      # also numba's fresh-process costs

Times are medians of process CPU time, BLAS pinned to one thread.
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from benchmarks import problems as bp

try:
    import numba
except ImportError:  # the NumPy half runs without it
    numba = None

ROOT = Path(__file__).resolve().parents[1]
CACHE_VAR = "XLFRONTIER_NUMBA_CACHE"  # "1": numba caches compiled code (NUMBA_CACHE_DIR)


def inputs(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Scaled ``Σ`` and ``μ`` and the GMV free set of ``factor_problem(n)`` (engine units)."""
    from xlfrontier.core._path import PathSolver
    from xlfrontier.core._validation import validate_problem

    p = bp.factor_problem(n)
    ps = PathSolver(validate_problem(p.mu, p.cov))
    return ps._cov_hat, ps._mu_hat, np.array(ps._up.free, dtype=np.int64)


def engine_corners(n: int) -> NDArray[np.float64]:
    """The engine's corner ``t`` values (scaled units) for ``factor_problem(n)``."""
    from xlfrontier.core._path import PathSolver
    from xlfrontier.core._validation import validate_problem

    p = bp.factor_problem(n)
    ps = PathSolver(validate_problem(p.mu, p.cov))
    return ps.extend_upper().t / ps._t_scale()


def trace_numpy(S, mu, free0):
    """The corner loop with NumPy calls; returns corner ``t`` (m,) and weights (m, n)."""
    n = S.shape[0]
    free = [int(i) for i in free0]
    k = len(free)
    idx = np.array(free)
    M = np.zeros((n + 1, n + 1))
    K = np.zeros((k + 1, k + 1))
    K[0, 1:] = K[1:, 0] = 1.0
    K[1:, 1:] = S[np.ix_(idx, idx)]
    M[: k + 1, : k + 1] = np.linalg.inv(K)
    Ra = np.zeros((n + 1, n))  # (1, Σ rows of the free assets)
    Ra[0] = 1.0
    Ra[1 : k + 1] = S[idx]
    B = np.zeros((n + 1, 2))  # right-hand sides (budget; μ_F)
    B[0, 0] = 1.0
    B[1 : k + 1, 1] = mu[idx]
    bound = np.ones(n, dtype=bool)
    bound[idx] = False
    t, ts, ws = 0.0, [], []
    for _ in range(10 * n):
        k1 = k + 1
        Mk = M[:k1, :k1]
        Y = Mk @ B[:k1]
        Zt = Y.T @ Ra[:k1]
        z0, z1 = Zt[0], Zt[1] - mu
        w = np.zeros(n)
        w[idx] = Y[1:, 0] + t * Y[1:, 1]
        ts.append(t)
        ws.append(w)
        cf, wf0 = Y[1:, 1], Y[1:, 0]
        tol_c = 1e-12 * max(1.0, float(np.abs(cf).max()))
        tol_z = 1e-12 * max(1.0, float(np.abs(z1).max()))
        dec = cf < -tol_c
        c1 = np.divide(wf0, cf, out=np.full(k, -np.inf), where=dec)
        j1 = int(c1.argmax())
        t1 = -c1[j1] if dec[j1] else np.inf
        lv = bound & (z1 < -tol_z)
        c2 = np.divide(z0, z1, out=np.full(n, -np.inf), where=lv)
        j2 = int(c2.argmax())
        t2 = -c2[j2] if lv[j2] else np.inf
        if t1 == np.inf and t2 == np.inf:
            break
        if t1 <= t2:  # free asset j1 reaches 0: downdate, last row/column into its place
            t = max(t, t1)
            q, r = j1 + 1, k
            Mk -= np.outer(Mk[:, q], Mk[q] / Mk[q, q])
            i = free[j1]
            if q != r:
                Mk[q], Mk[:, q] = Mk[r], Mk[:, r]
                Ra[q], B[q] = Ra[r], B[r]
                free[j1] = free[-1]
            free.pop()
            bound[i] = True
            k -= 1
        else:  # asset j2 leaves its bound: bordering update
            t = max(t, t2)
            i = j2
            kv = Ra[:k1, i]
            v = Mk @ kv
            s = S[i, i] - kv @ v
            Mk += np.outer(v, v / s)
            M[:k1, k1] = M[k1, :k1] = -v / s
            M[k1, k1] = 1.0 / s
            Ra[k1], B[k1, 1] = S[i], mu[i]
            free.append(i)
            bound[i] = False
            k += 1
        idx = np.array(free)
    return np.array(ts), np.array(ws)


# ---------------------------------------------------------------------------- numba half
# Plain loops only: inside numba, np.linalg and 2-D products need SciPy's BLAS bindings. The
# three functions are compiled at the end of this section when numba is installed.


def _gj_inv(A):
    """Gauss-Jordan inverse with partial pivoting (the KKT matrix is symmetric indefinite)."""
    m = A.shape[0]
    a = A.copy()
    inv = np.eye(m)
    for c in range(m):
        p = c
        for r in range(c + 1, m):
            if abs(a[r, c]) > abs(a[p, c]):
                p = r
        for j in range(m):
            a[c, j], a[p, j] = a[p, j], a[c, j]
            inv[c, j], inv[p, j] = inv[p, j], inv[c, j]
        d = 1.0 / a[c, c]
        for j in range(m):
            a[c, j] *= d
            inv[c, j] *= d
        for r in range(m):
            f = a[r, c]
            if r != c and f != 0.0:
                for j in range(m):
                    a[r, j] -= f * a[c, j]
                    inv[r, j] -= f * inv[c, j]
    return inv


def _grow(a, rows):
    """``a`` with at least ``rows`` rows (doubling; new rows zero)."""
    if a.shape[0] >= rows:
        return a
    out = np.zeros((max(rows, 2 * a.shape[0]), *a.shape[1:]))
    out[: a.shape[0]] = a
    return out


def _trace_loops(S, mu, free0):
    """:func:`trace_numpy` as loops (compiled with numba below).

    Workspaces grow with the free set and the corner count: zeroing full n×n arrays up front
    would cost more than the loop itself at n = 500.
    """
    n = S.shape[0]
    k = free0.size
    cap = min(n + 1, 2 * k + 32)
    M = np.zeros((cap, cap))
    Ra = np.zeros((cap, n))
    B = np.zeros((cap, 2))
    free = np.empty(n, np.int64)
    bound = np.ones(n, np.bool_)
    K = np.zeros((k + 1, k + 1))
    for a in range(k):
        free[a] = free0[a]
        bound[free0[a]] = False
        K[0, a + 1] = K[a + 1, 0] = 1.0
    for a in range(k):
        for b in range(k):
            K[a + 1, b + 1] = S[free[a], free[b]]
    M[: k + 1, : k + 1] = _gj_inv(K)
    Ra[0, :] = 1.0
    B[0, 0] = 1.0
    for a in range(k):
        Ra[a + 1, :] = S[free[a], :]
        B[a + 1, 1] = mu[free[a]]
    ts = np.empty(10 * n + 1)
    W = np.zeros((64, n))
    Y = np.empty((n + 1, 2))
    z0 = np.empty(n)
    z1 = np.empty(n)
    v = np.empty(n + 1)
    u = np.empty(n + 1)
    t = 0.0
    cnt = 0
    for _ in range(10 * n):
        k1 = k + 1
        for a in range(k1):
            s0 = 0.0
            s1 = 0.0
            for b in range(k1):
                s0 += M[a, b] * B[b, 0]
                s1 += M[a, b] * B[b, 1]
            Y[a, 0] = s0
            Y[a, 1] = s1
        z0[:] = 0.0
        z1[:] = 0.0
        for a in range(k1):
            for j in range(n):
                z0[j] += Y[a, 0] * Ra[a, j]
                z1[j] += Y[a, 1] * Ra[a, j]
        ts[cnt] = t
        W = _grow(W, cnt + 1)
        for a in range(k):
            W[cnt, free[a]] = Y[a + 1, 0] + t * Y[a + 1, 1]
        cnt += 1
        mc = 1.0
        for a in range(k):
            mc = max(mc, abs(Y[a + 1, 1]))
        mz = 1.0
        for j in range(n):
            z1[j] -= mu[j]
            mz = max(mz, abs(z1[j]))
        j1, best1 = -1, -np.inf
        for a in range(k):
            cf = Y[a + 1, 1]
            if cf < -1e-12 * mc and Y[a + 1, 0] / cf > best1:
                best1, j1 = Y[a + 1, 0] / cf, a
        j2, best2 = -1, -np.inf
        for j in range(n):
            if bound[j] and z1[j] < -1e-12 * mz and z0[j] / z1[j] > best2:
                best2, j2 = z0[j] / z1[j], j
        t1 = -best1 if j1 >= 0 else np.inf
        t2 = -best2 if j2 >= 0 else np.inf
        if j1 < 0 and j2 < 0:
            break
        if t1 <= t2:
            t = max(t, t1)
            q, r = j1 + 1, k
            for a in range(k1):
                v[a] = M[a, q]
                u[a] = M[q, a] / M[q, q]
            for a in range(k1):
                for b in range(k1):
                    M[a, b] -= v[a] * u[b]
            i = free[j1]
            if q != r:
                for b in range(k1):
                    M[q, b] = M[r, b]
                for a in range(k1):
                    M[a, q] = M[a, r]
                Ra[q, :] = Ra[r, :]
                B[q, 0], B[q, 1] = B[r, 0], B[r, 1]
                free[j1] = free[k - 1]
            bound[i] = True
            k -= 1
        else:
            t = max(t, t2)
            i = j2
            if k1 + 1 > M.shape[0]:
                cap = min(n + 1, 2 * M.shape[0])
                M2 = np.zeros((cap, cap))
                M2[:k1, :k1] = M[:k1, :k1]
                M = M2
                Ra = _grow(Ra, cap)
                B = _grow(B, cap)
            s = S[i, i]
            for a in range(k1):
                acc = 0.0
                for b in range(k1):
                    acc += M[a, b] * Ra[b, i]
                v[a] = acc
                s -= Ra[a, i] * acc
            for a in range(k1):
                u[a] = v[a] / s
            for a in range(k1):
                for b in range(k1):
                    M[a, b] += v[a] * u[b]
                M[a, k1] = M[k1, a] = -u[a]
            M[k1, k1] = 1.0 / s
            Ra[k1, :] = S[i, :]
            B[k1, 0], B[k1, 1] = 0.0, mu[i]
            free[k] = i
            bound[i] = False
            k += 1
    return ts[:cnt].copy(), W[:cnt].copy()


if numba is not None:
    _jit = numba.njit(cache=os.environ.get(CACHE_VAR) == "1")
    _gj_inv, _grow, _trace_loops = _jit(_gj_inv), _jit(_grow), _jit(_trace_loops)


def _median_cpu(f, budget: float = 1.0) -> float:
    times: list[float] = []
    end = time.process_time() + budget
    while time.process_time() < end or len(times) < 5:
        t0 = time.process_time()
        f()
        times.append(time.process_time() - t0)
    return statistics.median(times)


_COLD = """
import time, json
import numpy as np
t1 = time.process_time()
import numba
out = {"import numba": time.process_time() - t1}
if MODE != "import":
    from benchmarks.compiled_kernel import _trace_loops
    d = np.load(PATH)
    t3 = time.process_time()
    _trace_loops(d["S"], d["mu"], d["free0"])
    out["first call"] = time.process_time() - t3
print(json.dumps(out))
"""


def cold(runs: int = 3) -> dict[str, float]:
    """numba's costs in fresh processes: import, first call compiled, first call from cache.

    The first round writes the cache (and warms the file cache); medians of the later rounds.
    """
    S, mu, free0 = inputs(50)
    res: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "in.npz")
        np.savez(path, S=S, mu=mu, free0=free0)
        for mode in ("import", "compile", "cached", *(("import", "compile", "cached") * runs)):
            cache = "1" if mode == "cached" else "0"
            env = dict(os.environ, NUMBA_CACHE_DIR=tmp, PYTHONPATH=str(ROOT), **{CACHE_VAR: cache})
            code = f"MODE = {mode!r}\nPATH = {path!r}\n" + _COLD
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            for key, val in json.loads(out.stdout).items():
                res.setdefault(f"{mode}: {key}", []).append(val)
    return {key: statistics.median(vals[1:]) for key, vals in res.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    ap.add_argument("--cold", action="store_true", help="also numba's fresh-process costs")
    args = ap.parse_args(argv)
    nb = _trace_loops if numba is not None else None
    print("| n | corners | NumPy loop | µs per corner | numba | µs per corner | ratio |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:
        S, mu, free0 = inputs(n)
        t_np, w_np = trace_numpy(S, mu, free0)
        ref = engine_corners(n)
        assert t_np.size == ref.size, (n, t_np.size, ref.size)
        np.testing.assert_allclose(t_np, ref, rtol=1e-9, atol=1e-12)
        a = _median_cpu(lambda S=S, mu=mu, f=free0: trace_numpy(S, mu, f))
        m = t_np.size
        row = f"| {n} | {m} | {a * 1e6:.0f} µs | {a * 1e6 / m:.1f} |"
        if nb is not None:
            t_nb, w_nb = nb(S, mu, free0)
            np.testing.assert_allclose(t_nb, t_np, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(w_nb, w_np, rtol=0, atol=1e-10)
            b = _median_cpu(lambda S=S, mu=mu, f=free0: nb(S, mu, f))
            row += f" {b * 1e6:.1f} µs | {b * 1e6 / m:.2f} | {a / b:.1f}× |"
        else:
            row += " – | – | – |"
        print(row, flush=True)
    if nb is None:
        print("\nnumba is not installed: `pip install numba` for the compiled half.")
    elif args.cold:
        print("\nnumba in a fresh process (n = 50; median process CPU time):")
        for key, val in cold().items():
            print(f"- {key}: {val * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
