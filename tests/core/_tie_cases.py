"""Degenerate test problems shared by the core and worksheet tests (ties on the frontier path).

Nothing here imports the solver under test.
"""

from __future__ import annotations

import numpy as np
from _reference import Case

# Issue 17, item 8: long-only with caps of 0.5, rank-4 covariance, two riskless assets.
ISSUE_MU = np.array([0.253, 0.1322, 0.0804, 0.0786, 0.1986, 0.2209, 0.2591, -0.035])
ISSUE_COV = np.array(
    [
        [0.077492, -0.030134, 0, -0.042148, 0, -0.138018, 0.08439, -0.068964],
        [-0.030134, 0.093665, 0, 0.127438, 0, 0.013785, -0.006783, 0.078],
        [0.0] * 8,
        [-0.042148, 0.127438, 0, 0.194324, 0, 0.013506, -0.005718, 0.116508],
        [0.0] * 8,
        [-0.138018, 0.013785, 0, 0.013506, 0, 0.26803, -0.164736, 0.094455],
        [0.08439, -0.006783, 0, -0.005718, 0, -0.164736, 0.101322, -0.056583],
        [-0.068964, 0.078, 0, 0.116508, 0, 0.094455, -0.056583, 0.097785],
    ]
)


def tie_case(seed: int) -> Case:
    """A seeded problem built for degenerate ties (2 to 12 assets).

    Covariance ``F Fᵀ`` from a factor matrix with entries on a 0.05 grid and rank 0 to n,
    with some rows zeroed (riskless assets) and some repeated (copies of an asset, with the
    same return); returns on a 1% grid with repeats; one bound value for many assets (0.5,
    1/3, 0.25, a floor of 0.05 or −0.5, unlimited shorting) so that several assets reach
    their bounds at the same point. Always feasible.
    """
    rng = np.random.default_rng([seed, 17])
    n = int(rng.integers(2, 13))
    rank = int(rng.integers(0, n + 1))
    f = rng.integers(-4, 5, size=(n, max(rank, 1))) * 0.05
    if rank == 0:
        f[:] = 0.0
    mu = rng.integers(-3, 12, size=n) * 0.01
    if rng.random() < 0.5:  # tied returns
        m = int(rng.integers(2, n + 1))
        mu[rng.choice(n, m, replace=False)] = mu[0]
    riskless = rng.random(n) < rng.choice([0.0, 0.25, 0.5])
    f[riskless] = 0.0
    if n >= 3 and rng.random() < 0.4:  # copies of an asset
        src = int(rng.integers(n))
        for j in rng.choice([i for i in range(n) if i != src], int(rng.integers(1, 3))):
            f[j] = f[src]
            mu[j] = mu[src]
    up_kind = rng.choice(["none", "half", "half", "third", "quarter", "mixed"])
    cap = {"none": np.inf, "half": 0.5, "third": 1 / 3, "quarter": 0.25, "mixed": 0.5}[up_kind]
    up = np.full(n, cap)
    if up_kind == "mixed":
        up = rng.choice([0.25, 0.5, 1.0, np.inf], size=n)
    lo_kind = rng.choice(["zero", "zero", "floor", "short", "short_inf"])
    lo = np.zeros(n)
    if lo_kind == "floor":
        lo = np.where(rng.random(n) < 0.5, 0.05, 0.0)
    elif lo_kind == "short":
        lo = np.full(n, -0.5)
    elif lo_kind == "short_inf":
        lo = np.full(n, -np.inf)
        up = np.where(np.isfinite(up), up, 1.0)  # bounded above: no unbounded ray
    if up.sum() < 1.0:  # make room for the budget, keeping the ties among the rest
        up[int(rng.integers(n))] = np.inf
    if lo.sum() > 1.0:
        lo[:] = 0.0
    cov = f @ f.T
    label = f"tie_case({seed}) n={n} rank={rank} up={up_kind} lo={lo_kind}"
    return Case(mu, cov, lo, up, label, pd=False, extra={"factor": f})


def vertex_case(seed: int) -> Case:
    """A seeded problem whose frontier starts at a degenerate vertex (2 to 12 assets).

    Caps of exactly 1/2, 1/3 or 1/4 for every asset (the budget is met with several assets at
    their caps), returns of 0, 5% or 10% only, a covariance ``F Fᵀ`` with entries of ``F`` in
    {−0.1, 0, 0.1} and rank at most 4, some riskless assets; sometimes a floor of minus the
    cap or unlimited shorting.
    """
    rng = np.random.default_rng([seed, 99])
    n = int(rng.integers(2, 13))
    rank = int(rng.integers(0, min(n, 4) + 1))
    f = rng.integers(-1, 2, size=(n, max(rank, 1))) * 0.1
    if rank == 0:
        f[:] = 0.0
    f[rng.random(n) < 0.3] = 0.0
    mu = rng.choice([0.0, 0.05, 0.1], size=n)
    cap = 1.0 / int(rng.integers(2, 5))
    up = np.full(n, cap) if n * cap >= 1 else np.full(n, np.inf)
    lo = np.zeros(n) if rng.random() < 0.7 else np.full(n, -cap)
    if rng.random() < 0.2:
        lo, up = np.full(n, -np.inf), np.full(n, max(cap, 1.0 / n))
    if up.sum() < 1:
        up[0] = np.inf
    label = f"vertex_case({seed}) n={n} rank={rank} cap={cap:.3g}"
    return Case(mu, f @ f.T, lo, up, label, pd=False, extra={"factor": f})
