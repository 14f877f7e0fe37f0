"""Worksheet functions called from many threads at once give the answers they give alone.

Excel may evaluate cells on several calculation threads, and the xlwings server answers each
``CallUDF`` as it comes. Nothing in the functions may share mutable state between calls: a
cache, a module-level scratch array or a warning filter changed mid-call would show up here as
an answer that differs from the same call made on its own.

A fixed, seeded list of calls (valid problems of several sizes, frontier tables, statistics,
estimation, and bad inputs that must give their message) is first answered one call at a
time; then ``THREADS`` threads each make every call ``ROUNDS`` times in their own shuffled
order, all starting together. Every concurrent answer must equal the sequential one exactly
(same floats bit for bit, same texts).
"""

from __future__ import annotations

import os
import random
import threading

import numpy as np
from _udf_harness import call_udf

THREADS = 8
# CI (XLFRONTIER_SLOW=1) makes 8 threads x 12 rounds x 57 calls = 5,472 concurrent calls.
ROUNDS = 12 if os.environ.get("XLFRONTIER_SLOW") else 3


def _problem(rng: np.random.Generator, n: int) -> tuple[tuple, tuple]:
    """``mu`` as a column and a full-rank ``cov`` as rows, as COM delivers ranges."""
    f = rng.normal(size=(n, n + 2)) * 0.1
    cov = f @ f.T / (n + 2) + np.diag(rng.uniform(0.001, 0.01, n))
    mu = rng.uniform(0.02, 0.15, n)
    return tuple((float(m),) for m in mu), tuple(tuple(float(x) for x in row) for row in cov)


def _calls() -> list[tuple]:
    rng = np.random.default_rng(20261204)
    calls: list[tuple] = []
    for n in (3, 5, 8, 12, 20):
        mu, cov = _problem(rng, n)
        w = tuple((1.0 / n,) for _ in range(n))
        mid = float(np.mean([m[0] for m in mu]))
        prices = tuple(
            tuple(float(p) for p in row)
            for row in 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, (40, n)), axis=0))
        )
        calls += [
            ("MINVAR_WEIGHTS", mu, cov, mid),
            ("MINVAR_WEIGHTS", mu, cov, mid, -0.5, 0.6),
            ("GMV_WEIGHTS", cov),
            ("MAXSHARPE_WEIGHTS", mu, cov, 0.01),
            ("TARGETVOL_WEIGHTS", mu, cov, 0.2),
            ("UTILITY_WEIGHTS", mu, cov, 3.0),
            ("EFFICIENT_FRONTIER", mu, cov, 15),
            ("FRONTIER_CORNERS", mu, cov),
            ("PORTFOLIO_STATS", w, mu, cov, 0.01),
            ("CHECK_INPUTS", mu, cov),
        ]
        if n <= 8:
            calls.append(("COV_MATRIX", prices, 252))
    # Bad inputs: each must give its own message every time.
    mu, cov = _problem(rng, 4)
    calls += [
        ("MINVAR_WEIGHTS", mu, cov, 0.9),  # target out of reach
        ("MINVAR_WEIGHTS", mu, ((1.0, 2.0),), 0.1),  # wrong shape
        ("PORTFOLIO_STATS", ((1.0,), (-1.0,), (0.0,)), ((0.1,), (0.2,), (0.15,)),
         ((0.04, 0.1, 0.012), (0.1, 0.09, 0.02), (0.012, 0.02, 0.0625))),  # not PSD
        ("GMV_WEIGHTS", cov, 0.3, 0.2),  # lower above upper
    ]  # fmt: skip
    return calls


def _frozen(answer):
    """A hashable, exactly comparable form of an answer (floats by their bits)."""
    if isinstance(answer, (list, tuple)):
        return tuple(_frozen(a) for a in answer)
    if isinstance(answer, float):
        return ("f", answer.hex())
    return (type(answer).__name__, answer)


def test_concurrent_calls_give_the_sequential_answers():
    calls = _calls()
    expected = [_frozen(call_udf(*c)) for c in calls]
    # The bad inputs answer with text, the rest with numbers: the check below compares both.
    assert sum(e[0] == "str" for e in expected) == 4
    start = threading.Barrier(THREADS)
    mismatches: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    done = [0] * THREADS

    def worker(k: int) -> None:
        order = [i for _ in range(ROUNDS) for i in range(len(calls))]
        random.Random(k).shuffle(order)
        try:
            start.wait()
            for i in order:
                if _frozen(call_udf(*calls[i])) != expected[i]:
                    mismatches.append((calls[i][0], i))
                done[k] += 1
        except BaseException as err:  # reported below, not lost in the thread
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert not mismatches, mismatches[:10]
    assert sum(done) == THREADS * ROUNDS * len(calls)
