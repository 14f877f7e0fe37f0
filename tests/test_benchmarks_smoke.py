"""Smoke test of the benchmark harness: quick mode on n = 10 (not a timed test).

Peers that are not installed are reported as such by the harness and simply left out; only
xlfrontier's accuracy is asserted (timings are never asserted here).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

bench_core = pytest.importorskip("benchmarks.bench_core")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str, Path]:
    out = tmp_path_factory.mktemp("bench") / "bench.md"
    cfg = bench_core.parse_args(
        [
            "--quick",
            "--sizes",
            "10",
            "--no-real",
            "--no-cold-start",
            "--budget",
            "0.01",
            "--out",
            str(out),
        ]
    )
    res = bench_core.run(cfg)
    text = bench_core.report(res)
    out.write_text(text, encoding="utf-8")
    return res, text, out


def test_table_is_produced(quick_run: tuple) -> None:
    res, text, out = quick_run
    assert out.read_text(encoding="utf-8") == text
    for heading in ("## Single solves", "## Efficient frontier", "## Accuracy", "## Targets"):
        assert heading in text
    rows = [line for line in text.splitlines() if line.startswith("| 10 | factor-10 |")]
    assert len(rows) >= 3 + 1 + 1  # three single-solve tasks, the frontier, accuracy
    for task in ("min_variance", "gmv", "max_sharpe"):
        assert res.single[("factor-10", task, "xlfrontier")].ok, task
    assert res.frontier[("factor-10", "xlfrontier_sample")].ok


def test_xlfrontier_accuracy_meets_targets(quick_run: tuple) -> None:
    res, _, _ = quick_run
    single = res.acc_single[("factor-10", "xlfrontier")]
    frontier = res.acc_frontier[("factor-10", "xlfrontier")]
    assert single.attempted == 3
    assert frontier.attempted == res.config.points
    for acc in (single, frontier):
        assert acc.failed == 0
        assert acc.rel_objective <= bench_core.ACCURACY_TARGET
        assert acc.violation <= bench_core.ACCURACY_TARGET
    status = {c.name: c.status for c in bench_core.checks(res)}
    assert all(v == "PASS" for k, v in status.items() if k.startswith("accuracy")), status


def test_main_cli_writes_out_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "table.md"
    args = "--quick --sizes 10 --no-real --no-cold-start --solvers xlfrontier --out"
    text = bench_core.main([*args.split(), str(out)])
    assert out.read_text(encoding="utf-8") == text
    assert "| 10 | factor-10 | min var @ target |" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5e-6, "5 µs"),
        (0.0009996, "1 ms"),  # rounds up into the next unit
        (0.00123, "1.23 ms"),
        (0.9996, "1 s"),  # was "1e+03 ms"
        (12.34, "12.3 s"),
        (1291.4, "1,291 s"),
        (float("nan"), "–"),
    ],
)
def test_time_format_picks_the_unit_after_rounding(seconds, text):
    assert bench_core._fmt_seconds(seconds) == text


@pytest.mark.parametrize("n", [10, 50])
def test_compiled_kernel_experiment_traces_the_engines_corners(n):
    # The experiment's stripped-down loop must be the engine's algorithm: same corners.
    ck = pytest.importorskip("benchmarks.compiled_kernel")
    S, mu, free0 = ck.inputs(n)
    t, w = ck.trace_numpy(S, mu, free0)
    np.testing.assert_allclose(t, ck.engine_corners(n), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (w >= -1e-12).all()


# -- the constrained benchmark (issue 11): 11 sectors with min and max, plus caps ------------


@pytest.fixture(scope="module")
def cons_run() -> tuple[object, str]:
    bench = pytest.importorskip("benchmarks.bench_constraints")
    cfg = bench.parse_args(["--quick", "--sizes", "20", "--points", "10", "--budget", "0.01"])
    res = bench.run(cfg)
    return res, bench.report(res)


def test_constrained_benchmark_tables(cons_run: tuple) -> None:
    res, text = cons_run
    for heading in ("## Single solves", "## Efficient frontier", "## Accuracy", "## Targets"):
        assert heading in text
    assert sum(line.startswith("| 20 | ") for line in text.splitlines()) >= 2 + 1 + 1
    problem = "sectors-20"
    assert res.sizes == {problem: 20}
    for task in ("gmv", "min_variance"):
        assert res.single[(problem, task, "xlfrontier")].ok, task


def test_constrained_benchmark_xlfrontier_accuracy(cons_run: tuple) -> None:
    bench = pytest.importorskip("benchmarks.bench_constraints")
    res, _ = cons_run
    single = res.acc_single[("sectors-20", "xlfrontier")]
    frontier = res.acc_frontier[("sectors-20", "xlfrontier")]
    assert single.attempted == 2
    assert frontier.attempted == res.config.points
    for acc in (single, frontier):
        assert acc.failed == 0
        assert acc.rel_objective <= bench.ACCURACY_TARGET
        assert acc.violation <= bench.ACCURACY_TARGET
    assert not [n for n in res.notes if "NOT certified" in n]  # every reference certified


def test_constrained_benchmark_problem_is_feasible_with_binding_sectors() -> None:
    bench = pytest.importorskip("benchmarks.bench_constraints")
    p = bench.cons_problem(50)
    assert p.A.shape == (11, 50)
    assert np.all(p.A.sum(axis=0) == 1)  # every asset in exactly one sector
    assert np.all(p.lo < p.hi)
    ref = bench.reference(p, None)
    assert ref.certified
    assert bench.violation(ref.w, p, None) <= 1e-14
    # the limits matter: some sector sits at a limit at the GMV portfolio
    g = p.A @ ref.w
    assert np.any(np.isclose(g, p.lo, atol=1e-12) | np.isclose(g, p.hi, atol=1e-12))
