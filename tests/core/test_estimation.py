"""Estimation of μ and Σ from prices: cross-checks, published formulas, invariants, errors.

Independent references and the conventions they are compared under:

- pandas 3 ``pct_change()`` (``fill_method=None``: a blank on either side gives a blank) for
  complete data; for blanks inside a history our policy (return over the gap, blank on the
  blank row) equals ``prices.ffill().pct_change().where(prices.notna())``.
- pandas ``DataFrame.cov()``: pairwise-complete, ``ddof=1``. ``DataFrame.mean()``: mean of the
  values present.
- pandas ``ewm(span=s).mean()`` / ``.cov()`` on the last date: ``adjust=True`` (weights
  ``(1-α)^age``, α = 2/(s+1)), ``ignore_na=False`` (ages count rows, blanks included),
  ``bias=False`` (factor ``(Σw)²/((Σw)² − Σw²)``), pairs over rows where both have data. Rows
  blank in every column are dropped first on both sides (our documented policy).
- scikit-learn ``LedoitWolf`` (``assume_centered=False``): divide-by-T sample covariance,
  scaled-identity target.
- Ledoit & Wolf (2004) "Honey, I shrunk the sample covariance matrix" (J. Portfolio Management
  30(4), formulas of section 2 and appendix): a loop-over-pairs transcription below.
- Higham (2002): the 3x3 example of section 4 solved in closed form, and an SDP (cvxpy) for
  the nearest correlation matrix.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xlfrontier.core.estimation import (
    COV_METHODS,
    VOLATILITY_UNITS_LIMIT,
    CovarianceEstimate,
    InputReport,
    check_inputs,
    corr_from_cov,
    corr_matrix,
    cov_from_corr,
    cov_matrix,
    estimate_cov,
    mean_returns,
    nearest_psd,
    repair_psd,
    returns_from_prices,
)
from xlfrontier.exceptions import InfeasibleError, InputError

DATA = Path(__file__).resolve().parents[1] / "data"
RTOL = 1e-12


@pytest.fixture(scope="module")
def sp500() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_20_prices.csv.gz", index_col=0, parse_dates=True)


@pytest.fixture(scope="module")
def pypfopt_prices() -> pd.DataFrame:
    return pd.read_csv(DATA / "pypfopt_stock_prices.csv.gz", index_col=0, parse_dates=True)


@pytest.fixture(scope="module")
def holey(pypfopt_prices: pd.DataFrame) -> pd.DataFrame:
    """The PyPortfolioOpt prices (late listings) plus holidays and a fully blank row."""
    p = pypfopt_prices.iloc[-1500:].copy()
    rng = np.random.default_rng(7)
    hole = rng.random(p.shape) < 0.01
    hole[:, 0] = False  # keep one complete column next to the gappy ones
    p = p.mask(hole)
    p.iloc[700] = np.nan
    return p


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def random_prices(t: int, n: int, seed: int, missing: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((t, 1)) * 0.01
    r = factor * rng.uniform(0.5, 1.5, n) + rng.standard_normal((t, n)) * 0.02
    p = 100.0 * np.exp(np.cumsum(r, axis=0))
    if missing:
        p[rng.random(p.shape) < missing] = np.nan
        starts = rng.integers(0, t // 3, n)
        for j in range(1, n, 3):
            p[: starts[j], j] = np.nan
    return p


def is_psd(c: np.ndarray, tol: float = 1e-10) -> bool:
    e = np.linalg.eigvalsh(c)
    return bool(e[0] >= -tol * max(1.0, abs(e[-1])))


# --------------------------------------------------------------------------------------------
# Returns
# --------------------------------------------------------------------------------------------


def test_simple_returns_equal_pandas_pct_change(sp500: pd.DataFrame) -> None:
    r = returns_from_prices(sp500.to_numpy())
    assert r.shape == (len(sp500) - 1, 20)
    np.testing.assert_array_equal(r, sp500.pct_change().to_numpy()[1:])


def test_log_returns(sp500: pd.DataFrame) -> None:
    r = returns_from_prices(sp500.to_numpy(), method="log")
    np.testing.assert_allclose(r, np.log(sp500 / sp500.shift(1)).to_numpy()[1:], rtol=0, atol=0)
    np.testing.assert_allclose(np.expm1(r), returns_from_prices(sp500.to_numpy()), rtol=1e-13)


def test_returns_span_gaps_leading_blanks_stay_blank(holey: pd.DataFrame) -> None:
    r = returns_from_prices(holey.to_numpy())
    expected = holey.ffill().pct_change().where(holey.notna()).to_numpy()[1:]
    np.testing.assert_array_equal(np.isnan(r), np.isnan(expected))
    np.testing.assert_allclose(r, expected, rtol=1e-15, equal_nan=True)
    # the compounded return over the whole history is kept exactly despite the holes
    for j in range(holey.shape[1]):
        col = holey.iloc[:, j].dropna()
        growth = np.nanprod(1.0 + r[:, j])
        assert math.isclose(growth, col.iloc[-1] / col.iloc[0], rel_tol=1e-11)


def test_returns_of_a_single_column_and_a_list() -> None:
    np.testing.assert_allclose(returns_from_prices([100.0, 110.0, 99.0]), [[0.1], [-0.1]])
    r = returns_from_prices([[1.0, np.nan], [2.0, 4.0], [np.nan, 5.0], [3.0, 6.0]])
    np.testing.assert_allclose(r, [[1.0, np.nan], [np.nan, 0.25], [0.5, 0.2]], equal_nan=True)


@pytest.mark.parametrize(
    ("prices", "match"),
    [
        ([[1.0, 2.0], [0.0, 2.0]], r"zero or negative price \(0\) at row 2, column 1"),
        ([[1.0, 2.0], [1.0, -2.5]], r"zero or negative price \(-2.5\) at row 2, column 2"),
        ([[1.0, "abc"], [1.0, 2.0]], r"prices must contain numbers only"),
        ([[1.0, np.inf], [1.0, 2.0]], r"infinite value at row 1, column 2"),
        ([[1.0, 2.0]], r"at least 2 rows"),
        ([], r"prices is empty"),
        (np.ones((2, 2, 2)), r"must be a table"),
        ([[1e-300], [1e300]], r"impossible factor at row 2"),
    ],
)
def test_returns_errors(prices: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        returns_from_prices(prices)  # type: ignore[arg-type]


def test_returns_unknown_method() -> None:
    with pytest.raises(InputError, match=r'method "pct_chg" is not known: use one of simple, log'):
        returns_from_prices([[1.0], [2.0]], method="pct_chg")
    np.testing.assert_array_equal(
        returns_from_prices([[1.0], [2.0]], method=" Logarithmic "), [[math.log(2.0)]]
    )


# --------------------------------------------------------------------------------------------
# Expected returns
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sp500", "holey"])
def test_arithmetic_mean_equals_pandas(name: str, request: pytest.FixtureRequest) -> None:
    prices: pd.DataFrame = request.getfixturevalue(name)
    ret = prices.ffill().pct_change().where(prices.notna()).dropna(how="all")
    mu = mean_returns(prices.to_numpy(), periods_per_year=252)
    np.testing.assert_allclose(mu, ret.mean().to_numpy() * 252, rtol=RTOL)
    # the same from returns (blank rows and all)
    mu_r = mean_returns(returns_from_prices(prices.to_numpy()), is_returns=True)
    np.testing.assert_allclose(mu_r, mu, rtol=RTOL)


@pytest.mark.parametrize("name", ["sp500", "holey"])
def test_geometric_mean_is_cagr_over_the_history(name: str, request: pytest.FixtureRequest) -> None:
    prices: pd.DataFrame = request.getfixturevalue(name)
    rows = prices.dropna(how="all").reset_index(drop=True)
    expected = []
    for c in rows:
        s = rows[c].dropna()
        periods = s.index[-1] - s.index[0]  # rows spanned, holidays included
        expected.append((s.iloc[-1] / s.iloc[0]) ** (52 / periods) - 1)
    mu = mean_returns(prices.to_numpy(), periods_per_year=52, method="CAGR")
    np.testing.assert_allclose(mu, expected, rtol=1e-11)
    mu_r = mean_returns(
        returns_from_prices(prices.to_numpy()), 52, method="geometric", is_returns=True
    )
    # A returns table cannot show that an asset's first return spans a blank right after its
    # first price (it looks like a later listing): those columns count one period less.
    first = rows.notna().to_numpy().argmax(axis=0)
    blank_after_first = rows.isna().to_numpy()[first + 1, np.arange(rows.shape[1])]
    assert (name == "holey") == blank_after_first.any()
    same = ~blank_after_first
    np.testing.assert_allclose(mu_r[same], mu[same], rtol=1e-11)
    assert np.all(np.abs(mu_r[~same] / mu[~same] - 1) > 1e-6)


@pytest.mark.parametrize(("name", "span"), [("sp500", 500), ("sp500", 1), ("holey", 60)])
def test_ewma_mean_equals_pandas(name: str, span: float, request: pytest.FixtureRequest) -> None:
    prices: pd.DataFrame = request.getfixturevalue(name)
    ret = prices.ffill().pct_change().where(prices.notna()).dropna(how="all")
    expected = ret.ewm(span=span).mean().iloc[-1].to_numpy() * 12
    mu = mean_returns(prices.to_numpy(), 12, method="ewma", span=span)
    np.testing.assert_allclose(mu, expected, rtol=RTOL)
    if span == 1:  # α = 1: only the newest return counts
        np.testing.assert_array_equal(mu, ret.iloc[-1].to_numpy() * 12)


def test_mean_defaults_and_blank_options() -> None:
    p = random_prices(300, 4, seed=1)
    base = mean_returns(p)
    np.testing.assert_array_equal(mean_returns(p, None, None, None, None), base)  # type: ignore[arg-type]
    np.testing.assert_array_equal(mean_returns(p, method=""), base)
    np.testing.assert_allclose(mean_returns(p, periods_per_year=12), base * 12 / 252, rtol=1e-15)
    ew_default = mean_returns(p, method="ewma")
    np.testing.assert_array_equal(ew_default, mean_returns(p, method="EWM", span=500))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": [[1.0, 2.0], [1.1, np.nan]]}, r"column 2 of prices has 1 price: at least 2"),
        ({"data": [[np.nan], [np.nan]]}, r"column 1 of prices has 0 prices"),
        ({"data": [[np.nan], [np.nan]], "is_returns": True}, r"has 0 values: at least 1"),
        (
            {"data": [[0.1], [np.nan], [-1.5]], "is_returns": True, "method": "geometric"},
            r"returns has -1.5 at row 3, column 1: a loss of 100% or more",
        ),
        ({"data": [[1.0], [2.0]], "periods_per_year": 0}, r"periods_per_year must be a positive"),
        ({"data": [[1.0], [2.0]], "periods_per_year": "daily"}, r"periods_per_year must be a"),
        ({"data": [[1.0], [2.0]], "periods_per_year": [252, 12]}, r"single positive number"),
        ({"data": [[1.0], [2.0]], "periods_per_year": np.nan}, r"positive number"),
        ({"data": [[1.0], [2.0]], "method": "ewma", "span": 0.5}, r"span must be at least 1"),
        ({"data": [[1.0], [2.0]], "method": "median"}, r"use one of arithmetic, geometric, ewma"),
        ({"data": [[1.0], [2.0]], "method": 3}, r"method must be text"),
        ({"data": [[1.0], [2.0]], "is_returns": "yes"}, r"is_returns must be TRUE or FALSE"),
        ({"data": [[1.0], [-2.0]]}, r"zero or negative price \(-2\) at row 2, column 1"),
        ({"data": [[1e-300], [1e300]], "method": "geometric"}, r"impossible factor"),
        ({"data": [[1.0], [1e150]], "method": "geometric"}, r"too large to compute"),
        ({"data": [[1e308], [1e308]], "is_returns": True}, r"too large to compute"),
    ],
)
def test_mean_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        mean_returns(**kwargs)


def test_ewma_mean_without_recent_data() -> None:
    # pandas would carry the last EWMA value forward; weights below 1e-100 of the newest
    # row's are treated as no data instead.
    p = np.full((3000, 2), np.nan)
    p[:, 0] = 100.0
    p[:10, 1] = 50.0 + np.arange(10)
    with pytest.raises(InputError, match=r"column 2 has no data recent enough for span 3"):
        mean_returns(p, method="ewma", span=3)
    p[-2, 1] = 60.0  # a recent price, but the newest row is blank
    with pytest.raises(InputError, match=r"column 2 has no data recent enough for span 1"):
        mean_returns(p, method="ewma", span=1)


# --------------------------------------------------------------------------------------------
# Covariance: sample and EWMA against pandas
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sp500", "pypfopt_prices", "holey"])
def test_sample_cov_equals_pandas(name: str, request: pytest.FixtureRequest) -> None:
    prices: pd.DataFrame = request.getfixturevalue(name)
    ret = prices.ffill().pct_change().where(prices.notna())
    est = estimate_cov(prices.to_numpy())
    assert rel(est.cov, ret.cov().to_numpy() * 252) < RTOL
    assert est.method == "sample"
    assert est.shrinkage == 0.0
    assert est.n_obs == len(ret.dropna(how="all"))
    common = ret.notna().astype(int)
    assert est.min_pair_obs == int((common.T @ common).to_numpy().min())
    assert est.repair is None  # these pairwise matrices are PSD already
    np.testing.assert_array_equal(est.cov, est.cov.T)


def test_sample_cov_random_holes_equals_pandas() -> None:
    p = random_prices(400, 12, seed=3, missing=0.05)
    ret = pd.DataFrame(p).ffill().pct_change().where(pd.DataFrame(p).notna())
    c = cov_matrix(p, periods_per_year=1)
    assert rel(c, ret.cov().to_numpy()) < RTOL
    # returns in, blank rows included, give the same matrix
    c_r = cov_matrix(returns_from_prices(p), periods_per_year=1, is_returns=True)
    assert rel(c_r, c) < RTOL


@pytest.mark.parametrize(
    ("name", "span"), [("sp500", 500), ("sp500", 1.5), ("holey", 60), ("holey", 1.5)]
)
def test_ewma_cov_equals_pandas(name: str, span: float, request: pytest.FixtureRequest) -> None:
    prices: pd.DataFrame = request.getfixturevalue(name)
    ret = prices.ffill().pct_change().where(prices.notna()).dropna(how="all")
    expected = ret.ewm(span=span).cov().loc[ret.index[-1]].to_numpy()
    est = estimate_cov(prices.to_numpy(), 1, method="exponential", span=span)
    assert est.method == "ewma"
    assert est.span == span
    if est.repair is None:
        assert rel(est.cov, expected) < RTOL
    else:
        # with holes and a span of 1.5 the pairwise matrix is not PSD: repaired, reported
        assert (name, span) == ("holey", 1.5)
        lam = np.linalg.eigvalsh(expected)[0]
        assert lam < 0
        assert est.repair.min_eigenvalue_before == pytest.approx(lam, rel=1e-9)
        np.testing.assert_allclose(np.diag(est.cov), np.diag(expected), rtol=RTOL)
        assert is_psd(est.cov)


def test_annualisation_scales_linearly() -> None:
    p = random_prices(300, 5, seed=2)
    for method in ("sample", "ewma", "ledoit_wolf", "ledoit_wolf_identity"):
        np.testing.assert_allclose(
            cov_matrix(p, 52, method), 52 * cov_matrix(p, 1, method), rtol=1e-14
        )


# --------------------------------------------------------------------------------------------
# Ledoit-Wolf shrinkage
# --------------------------------------------------------------------------------------------


def test_ledoit_wolf_identity_equals_scikit_learn(sp500: pd.DataFrame) -> None:
    from sklearn.covariance import LedoitWolf

    p = sp500.to_numpy()
    lw = LedoitWolf().fit(returns_from_prices(p))
    est = estimate_cov(p, periods_per_year=1, method="ledoit_wolf_identity")
    assert abs(est.shrinkage - lw.shrinkage_) < 1e-12
    assert rel(est.cov, lw.covariance_) < RTOL


@pytest.mark.parametrize(("t", "n", "seed"), [(30, 50, 0), (60, 8, 1), (500, 40, 2)])
def test_ledoit_wolf_identity_random_equals_scikit_learn(t: int, n: int, seed: int) -> None:
    from sklearn.covariance import LedoitWolf

    r = np.random.default_rng(seed).standard_normal((t, n)) * 0.02 + 0.001
    lw = LedoitWolf().fit(r)
    est = estimate_cov(r, 1, "scaled identity", is_returns=True)
    assert 0 < est.shrinkage <= 1
    assert abs(est.shrinkage - lw.shrinkage_) < 1e-12
    assert rel(est.cov, lw.covariance_) < RTOL
    assert np.linalg.eigvalsh(est.cov)[0] > 0  # well conditioned even with T < n


def lw_constant_correlation_reference(r: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit & Wolf (2004), written out pair by pair.

    With complete data this is the paper's estimator: ``s_ij`` and ``π̂, ρ̂, γ̂`` divide by T,
    ``δ = max(0, min(1, (π̂ − ρ̂)/γ̂ / T))``. With blanks it is the documented generalisation:
    ``s_ij`` over the pair's common dates with the pair's means, variances over each asset's
    whole history, ``y`` centred on the asset's own mean, and every term of ``π̂`` and ``ρ̂``
    divided by its pair's count ``T_ij`` instead of T.
    """
    n = r.shape[1]
    ok = ~np.isnan(r)
    y = np.where(ok, r - np.nanmean(r, axis=0), 0.0)
    s = np.empty((n, n))
    cnt = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            c = ok[:, i] & ok[:, j]
            a, b = r[c, i], r[c, j]
            cnt[i, j] = c.sum()
            s[i, j] = np.sum((a - a.mean()) * (b - b.mean())) / c.sum()
    r_bar = sum(
        s[i, j] / math.sqrt(s[i, i] * s[j, j]) for i in range(n) for j in range(n) if i != j
    )
    r_bar /= n * (n - 1)
    f = np.array(
        [
            [s[i, i] if i == j else r_bar * math.sqrt(s[i, i] * s[j, j]) for j in range(n)]
            for i in range(n)
        ]
    )
    pi_t = 0.0
    rho_t = 0.0
    for i in range(n):
        for j in range(n):
            c = ok[:, i] & ok[:, j]
            dev = y[c, i] * y[c, j] - s[i, j]
            pi_ij = np.sum(dev**2) / cnt[i, j]
            pi_t += pi_ij / cnt[i, j]
            if i == j:
                rho_t += pi_ij / cnt[i, j]
            else:
                th_iiij = np.sum((y[c, i] ** 2 - s[i, i]) * dev) / cnt[i, j]
                th_jjij = np.sum((y[c, j] ** 2 - s[j, j]) * dev) / cnt[i, j]
                rho_t += (
                    (r_bar / 2)
                    * (
                        math.sqrt(s[j, j] / s[i, i]) * th_iiij
                        + math.sqrt(s[i, i] / s[j, j]) * th_jjij
                    )
                    / cnt[i, j]
                )
    gamma = sum((f[i, j] - s[i, j]) ** 2 for i in range(n) for j in range(n))
    delta = max(0.0, min(1.0, (pi_t - rho_t) / gamma))
    return delta * f + (1 - delta) * s, delta


@pytest.mark.parametrize("name", ["sp500", "holey"])
def test_ledoit_wolf_constant_correlation_equals_published_formula(
    name: str, request: pytest.FixtureRequest
) -> None:
    prices: pd.DataFrame = request.getfixturevalue(name)
    p = prices.to_numpy()
    ref, delta = lw_constant_correlation_reference(returns_from_prices(p))
    est = estimate_cov(p, periods_per_year=1, method="Ledoit-Wolf")
    assert est.method == "ledoit_wolf_constant_correlation"
    assert 0 < est.shrinkage < 1
    assert abs(est.shrinkage - delta) < 1e-12
    assert rel(est.cov, ref) < RTOL


@pytest.mark.parametrize(("t", "n", "seed"), [(15, 25, 4), (40, 6, 5), (250, 30, 6)])
def test_ledoit_wolf_constant_correlation_random(t: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((t, 1)) * 0.01 + rng.standard_normal((t, n)) * 0.02
    ref, delta = lw_constant_correlation_reference(r)
    est = estimate_cov(r, 1, "lw", is_returns=True)
    assert abs(est.shrinkage - delta) < 1e-12
    assert rel(est.cov, ref) < RTOL
    assert np.linalg.eigvalsh(est.cov)[0] > 0


def test_shrinkage_needs_no_more_dates_than_assets_but_sample_does() -> None:
    r = np.random.default_rng(8).standard_normal((10, 20)) * 0.01
    with pytest.raises(InputError, match=r"only 10 return periods for 20 assets.*ledoit_wolf"):
        cov_matrix(r, is_returns=True)
    with pytest.raises(InputError, match=r"the ewma covariance needs more periods than assets"):
        cov_matrix(r, method="ewma", is_returns=True)
    for method in ("ledoit_wolf", "ledoit_wolf_identity"):
        assert np.linalg.eigvalsh(cov_matrix(r, method=method, is_returns=True))[0] > 0


def test_zero_variance_asset_in_constant_correlation_target() -> None:
    r = np.random.default_rng(9).standard_normal((100, 4)) * 0.01
    r[:, 2] = 0.001  # a constant return: zero variance
    est = estimate_cov(r, 1, "ledoit_wolf", is_returns=True)
    np.testing.assert_array_equal(est.cov[2], 0.0)
    np.testing.assert_array_equal(cov_matrix(r, 1, is_returns=True)[2], 0.0)
    assert np.isfinite(est.cov).all()
    ref, delta = lw_constant_correlation_reference(r[:, [0, 1, 3]])
    # with the riskless column excluded from the average correlation, the others are unchanged
    assert abs(est.shrinkage - delta) < 1e-12
    assert rel(est.cov[np.ix_([0, 1, 3], [0, 1, 3])], ref) < RTOL


# --------------------------------------------------------------------------------------------
# The missing-history policy
# --------------------------------------------------------------------------------------------


def test_pairwise_policy_keeps_each_assets_own_history(pypfopt_prices: pd.DataFrame) -> None:
    p = pypfopt_prices.to_numpy()
    c = cov_matrix(p, periods_per_year=1)
    ret = pypfopt_prices.pct_change()
    # each variance uses the asset's whole history; a common window would cut AAPL to BABA's
    np.testing.assert_allclose(np.diag(c), ret.var().to_numpy(), rtol=RTOL)
    window = ret.dropna()
    assert len(window) < 0.25 * len(ret)
    assert abs(c[1, 1] / window.iloc[:, 1].var() - 1) > 0.05


def test_rows_blank_in_every_column_are_not_periods() -> None:
    p = random_prices(200, 4, seed=15, missing=0.02)
    with_blanks = np.insert(p, [50, 50, 120], np.nan, axis=0)
    for method in ("sample", "ewma", "ledoit_wolf", "ledoit_wolf_identity"):
        np.testing.assert_array_equal(
            cov_matrix(with_blanks, method=method, span=30), cov_matrix(p, method=method, span=30)
        )
    for method in ("arithmetic", "geometric", "ewma"):
        np.testing.assert_array_equal(
            mean_returns(with_blanks, method=method, span=30),
            mean_returns(p, method=method, span=30),
        )


def test_corr_matrix_of_a_constant_price_is_an_error() -> None:
    p = random_prices(50, 3, seed=16)
    p[:, 1] = 10.0
    np.testing.assert_array_equal(cov_matrix(p)[1], 0.0)
    with pytest.raises(InputError, match=r"zero variance for asset 2: its correlations are"):
        corr_matrix(p)


def non_psd_pairwise_prices() -> np.ndarray:
    """Three assets whose pairwise-complete covariance is not PSD.

    Asset 1 and 2 move together in the first half, 2 and 3 in the second, 1 and 3 against
    each other in a third window: correlations (+, +, −) that no joint history could give.
    """
    rng = np.random.default_rng(11)
    t = 90
    f = rng.standard_normal(t) * 0.01
    noise = rng.standard_normal((t, 3)) * 0.001
    r = np.full((t, 3), np.nan)
    r[:30, 0], r[:30, 1] = f[:30], f[:30]
    r[30:60, 1], r[30:60, 2] = f[30:60], f[30:60]
    r[60:, 0], r[60:, 2] = f[60:], -f[60:]
    r = r + noise
    p = np.vstack([np.ones((1, 3)), np.exp(np.nancumsum(r, axis=0))])
    return np.where(np.vstack([[True] * 3, ~np.isnan(r)]), p, np.nan)


def test_non_psd_pairwise_estimate_is_repaired_and_reported() -> None:
    p = non_psd_pairwise_prices()
    raw = pd.DataFrame(returns_from_prices(p)).cov().to_numpy() * 252
    assert np.linalg.eigvalsh(raw)[0] < -1e-3
    for method in ("sample", "ewma"):
        est = estimate_cov(p, method=method, span=50)
        assert est.repaired
        assert est.repair is not None
        assert est.repair.min_eigenvalue_before < 0
        assert est.repair.iterations > 0
        assert est.repair.converged
        assert is_psd(est.cov)
        if method == "sample":
            np.testing.assert_allclose(np.diag(est.cov), np.diag(raw), rtol=RTOL)
            assert est.repair.min_eigenvalue_before == pytest.approx(np.linalg.eigvalsh(raw)[0])
            assert est.repair.frobenius_distance == pytest.approx(np.linalg.norm(raw - est.cov))


def test_pair_without_common_dates() -> None:
    p = np.full((10, 3), np.nan)
    p[:, 0] = np.linspace(1, 2, 10)
    p[:5, 1] = np.linspace(1, 2, 5)
    p[6:, 2] = np.linspace(1, 2, 4)
    with pytest.raises(InputError, match=r"columns 2 and 3 have fewer than 2 return dates in"):
        cov_matrix(p)
    with pytest.raises(InputError, match=r"columns 2 and 3 have fewer than 2 return dates in"):
        cov_matrix(p, method="ledoit_wolf")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": [[1.0, 2.0], [1.1, 2.1]]}, r"column 1 of prices has 2 prices: at least 3"),
        ({"data": [[0.1], [0.2]], "is_returns": True, "method": "ewma", "span": 1}, r"more than 1"),
        ({"data": [[1.0], [2.0], [3.0]], "method": "shrunk"}, r"use one of sample, ewma, ledoit"),
        ({"data": [[1.0], [2.0], [3.0]], "periods_per_year": -12}, r"got -12"),
        ({"data": [["x"], [2.0], [3.0]]}, r"prices must contain numbers only"),
        ({"data": [[1.0], [np.nan], [1e200]], "is_returns": True}, r"too large to compute"),
    ],
)
def test_cov_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        cov_matrix(**kwargs)


def test_ewma_cov_without_recent_common_data() -> None:
    p = np.full((3000, 2), np.nan)
    p[:, 0] = 100.0 * np.exp(np.cumsum(np.random.default_rng(1).standard_normal(3000) * 0.01))
    p[:10, 1] = 50.0 + np.arange(10)
    with pytest.raises(InputError, match=r"too little recent data for span 2"):
        cov_matrix(p, method="ewma", span=2)


def test_method_aliases_map_to_canonical_names() -> None:
    assert set(COV_METHODS.values()) == {
        "sample",
        "ewma",
        "ledoit_wolf_constant_correlation",
        "ledoit_wolf_identity",
    }
    p = random_prices(120, 3, seed=4)
    for alias, canonical in COV_METHODS.items():
        assert estimate_cov(p, method=alias.upper().replace("_", " ")).method == canonical


# --------------------------------------------------------------------------------------------
# Correlation <-> covariance
# --------------------------------------------------------------------------------------------


def test_corr_matrix_equals_pandas_on_complete_data(sp500: pd.DataFrame) -> None:
    corr = corr_matrix(sp500.to_numpy())
    np.testing.assert_allclose(corr, sp500.pct_change().corr().to_numpy(), rtol=0, atol=1e-14)
    assert np.all(np.diag(corr) == 1.0)


def test_corr_matrix_with_holes_is_consistent_with_cov_matrix(holey: pd.DataFrame) -> None:
    # pandas' DataFrame.corr uses each pair's own standard deviations; ours divides the
    # pairwise covariance by the full-history ones, so that COV_FROM_CORR(CORR_MATRIX, vols)
    # gives back COV_MATRIX exactly.
    p = holey.to_numpy()
    corr = corr_matrix(p)
    cov = cov_matrix(p)
    np.testing.assert_allclose(cov_from_corr(corr, np.sqrt(np.diag(cov))), cov, rtol=1e-13)
    assert np.abs(corr).max() <= 1.0


def test_cov_corr_round_trip() -> None:
    rng = np.random.default_rng(12)
    a = rng.standard_normal((6, 6))
    cov = a @ a.T
    corr = corr_from_cov(cov)
    vols = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(cov_from_corr(corr, vols), cov, rtol=1e-13)
    np.testing.assert_array_equal(np.diag(corr), 1.0)
    np.testing.assert_array_equal(corr, corr.T)
    np.testing.assert_allclose(
        cov_from_corr([[1, 0.5], [0.5, 1]], [0.1, 0.2]), [[0.01, 0.01], [0.01, 0.04]], rtol=1e-15
    )


@pytest.mark.parametrize("seed", range(5))
def test_cov_from_corr_is_vols_corr_vols(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    x = rng.standard_normal((n, n + 2))
    c = x @ x.T
    d = np.sqrt(np.diag(c))
    corr = c / np.outer(d, d)
    vols = rng.uniform(0.0, 2.0, n)
    vols[0] = 2.0  # 200%: the largest volatility COV_FROM_CORR accepts
    want = np.diag(vols) @ corr @ np.diag(vols)
    got = cov_from_corr(corr, vols, max_volatility=VOLATILITY_UNITS_LIMIT)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(cov_from_corr(corr, vols), got)


@pytest.mark.parametrize(
    ("vols", "match"),
    [
        ([20.0, 30.0], r"^vols has 30, which is 3000%: volatilities are decimals, so type 0\.3 "),
        ([0.2, 2.5], r"^vols has 2\.5, which is 250%: .* type 0\.025 or 2\.5%$"),
        ([2.000001, 0.1], r"^vols has 2, which is 200%"),
    ],
)
def test_cov_from_corr_refuses_percent_volatilities(vols: list[float], match: str) -> None:
    """With decimals asked for, a volatility above 200% is a percentage typed as a whole number.

    The rule COV_FROM_CORR applies; without ``max_volatility`` any units are accepted.
    """
    corr = [[1.0, 0.5], [0.5, 1.0]]
    with pytest.raises(InputError, match=match):
        cov_from_corr(corr, vols, max_volatility=VOLATILITY_UNITS_LIMIT)
    np.testing.assert_allclose(
        cov_from_corr(corr, vols), np.array(corr) * np.outer(vols, vols), rtol=1e-15
    )
    assert VOLATILITY_UNITS_LIMIT == 2.0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([[1, 0.5], [0.5, 0.9]], [0.1, 0.2]), r"corr must have 1 on the diagonal; row 2"),
        (([[1, 1.2], [1.2, 1]], [0.1, 0.2]), r"corr has 1.2 at row 1, column 2"),
        (([[1, 0.5], [0.4, 1]], [0.1, 0.2]), r"corr is not symmetric"),
        (([[1, 0.5], [0.5, 1]], [0.1, -0.2]), r"negative volatility at position 2"),
        (([[1, 0.5], [0.5, 1]], [0.1, 0.2, 0.3]), r"corr is 2x2 but there are 3"),
        (([[1, 0.5], [0.5, 1]], [0.1, np.nan]), r"vols has a missing"),
    ],
)
def test_cov_from_corr_errors(args: tuple, match: str) -> None:
    with pytest.raises(InputError, match=match):
        cov_from_corr(*args)


@pytest.mark.parametrize(
    ("cov", "match"),
    [
        ([[0.04, 0.0], [0.0, 0.0]], r"zero variance for asset 2"),
        ([[0.04, 0.01], [0.01, -0.01]], r"negative variance"),
        ([[0.04, 0.01, 0.0]], r"must be a square matrix"),
        ([[0.04, np.nan], [0.01, 0.09]], r"missing or non-finite value at row 1, column 2"),
    ],
)
def test_corr_from_cov_errors(cov: list, match: str) -> None:
    with pytest.raises(InputError, match=match):
        corr_from_cov(cov)


def test_corr_from_invalid_cov_is_not_clipped() -> None:
    corr = corr_from_cov([[1.0, 2.0], [2.0, 1.0]])
    assert corr[0, 1] == 2.0  # reported by CHECK_INPUTS, not hidden


# --------------------------------------------------------------------------------------------
# Nearest PSD (Higham)
# --------------------------------------------------------------------------------------------


def test_higham_example_in_closed_form() -> None:
    # Higham (2002) §4: A = [[1,1,0],[1,1,1],[0,1,1]]. By symmetry the answer is
    # [[1,a,b],[a,1,a],[b,a,1]] with 1 + b = 2a² on the PSD boundary; minimising
    # 4(a−1)² + 2b² gives 4a³ − a − 1 = 0.
    a = next(float(z.real) for z in np.roots([4, 0, -1, -1]) if abs(z.imag) < 1e-12)
    b = 2 * a * a - 1
    rep = repair_psd([[1, 1, 0], [1, 1, 1], [0, 1, 1]], tol=1e-14)
    expected = np.array([[1, a, b], [a, 1, a], [b, a, 1]])
    np.testing.assert_allclose(rep.matrix, expected, rtol=0, atol=1e-13)
    assert a == pytest.approx(0.7606898534, abs=1e-10)
    assert rep.frobenius_distance == pytest.approx(math.sqrt(4 * (a - 1) ** 2 + 2 * b * b))
    assert rep.correlation_distance == pytest.approx(rep.frobenius_distance)
    assert rep.min_eigenvalue_before == pytest.approx(1 - math.sqrt(2))
    assert rep.converged
    assert rep.changed


def test_nearest_correlation_agrees_with_an_sdp_solver() -> None:
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(13)
    cases = [np.array([[2.0, -1, 0, 0], [-1, 2, -1, 0], [0, -1, 2, -1], [0, 0, -1, 2]]) / 2]
    for n in (5, 8):
        b = rng.uniform(-1, 1, (n, n))
        b = (b + b.T) / 2
        np.fill_diagonal(b, 1)
        cases.append(b)
    for a in cases:
        n = a.shape[0]
        x = cp.Variable((n, n), symmetric=True)
        cp.Problem(cp.Minimize(cp.sum_squares(x - a)), [x >> 0, cp.diag(x) == 1]).solve(
            solver=cp.CLARABEL
        )
        ours = nearest_psd(a)
        np.testing.assert_allclose(ours, x.value, atol=1e-5)
        # the SDP solver is accurate to ~1e-6 in the matrix; the objective is sharper
        assert np.linalg.norm(ours - a) <= np.linalg.norm(x.value - a) + 1e-8


def clip_and_rescale(a: np.ndarray) -> np.ndarray:
    """The naive repair: clip negative eigenvalues of the correlation matrix, rescale to 1s."""
    lam, v = np.linalg.eigh(a)
    x = (v * np.maximum(lam, 0)) @ v.T
    d = np.sqrt(np.diag(x))
    return x / np.outer(d, d)


@pytest.mark.parametrize("seed", range(6))
def test_higham_is_closer_than_eigenvalue_clipping(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 30))
    # an invalid correlation matrix: a valid one with some entries overwritten
    c = np.corrcoef(rng.standard_normal((n, 2 * n)))
    while np.linalg.eigvalsh(c)[0] >= 0:  # overwrite entries until it is invalid
        i, j = rng.choice(n, 2, replace=False)
        c[i, j] = c[j, i] = rng.choice([-0.95, 0.95])
    vols = rng.uniform(0.05, 0.6, n)
    cov = cov_from_corr(c, vols)
    rep = repair_psd(cov)
    x = rep.matrix
    assert is_psd(x, 1e-12)
    np.testing.assert_array_equal(x, x.T)
    np.testing.assert_allclose(np.diag(x), vols**2, rtol=1e-14)
    naive = clip_and_rescale(c)
    # Compared where both are correlation matrices: the quantity Higham minimises.
    ours = corr_from_cov(x)
    assert np.linalg.norm(ours - c) <= np.linalg.norm(naive - c) + 1e-9
    assert rep.correlation_distance == pytest.approx(np.linalg.norm(ours - c), rel=1e-9)
    assert rep.min_eigenvalue_after >= -1e-12


def test_psd_input_is_returned_unchanged() -> None:
    cov = cov_matrix(random_prices(200, 6, seed=14))
    rep = repair_psd(cov)
    assert rep.iterations == 0
    assert not rep.changed
    np.testing.assert_array_equal(rep.matrix, cov)


def test_min_eigenvalue_floor_and_zero_variance_asset() -> None:
    a = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    rep = repair_psd(a, min_eigenvalue=1e-4)
    assert np.linalg.eigvalsh(rep.matrix)[0] >= 1e-4 * (1 - 1e-6)
    np.testing.assert_array_equal(np.diag(rep.matrix), 1.0)
    # a zero variance keeps zero covariances
    cov = np.array([[0.04, 0.01, 0.003], [0.01, 0.09, 0.0], [0.003, 0.0, 0.0]])
    rep = repair_psd(cov)
    assert rep.changed
    np.testing.assert_array_equal(rep.matrix[2], 0.0)
    np.testing.assert_array_equal(rep.matrix[:2, :2], cov[:2, :2])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"matrix": [[1, 0.5], [0.4, 1]]}, r"matrix is not symmetric: row \d, column \d"),
        ({"matrix": [[1, 0.5, 1], [0.5, 1, 1]]}, r"must be a square matrix"),
        ({"matrix": [[-1, 0.5], [0.5, 1]]}, r"negative variance"),
        ({"matrix": [[1, 0.5], [0.5, np.inf]]}, r"non-finite value at row 2, column 2"),
        ({"matrix": np.eye(2), "min_eigenvalue": 1.0}, r"min_eigenvalue must be at least 0"),
        ({"matrix": np.eye(2), "tol": 0.0}, r"tol must be positive"),
    ],
)
def test_nearest_psd_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        nearest_psd(**kwargs)


# --------------------------------------------------------------------------------------------
# CHECK_INPUTS
# --------------------------------------------------------------------------------------------


def statuses(rep: InputReport) -> dict[str, str]:
    return {c.check: c.status for c in rep.checks}


def test_check_inputs_clean(sp500: pd.DataFrame) -> None:
    p = sp500.to_numpy()
    rep = check_inputs(mean_returns(p), cov_matrix(p), 0.0, 0.2)
    assert rep.status == "OK", rep.rows()
    assert rep.ok
    assert list(statuses(rep)) == [
        "mu",
        "cov",
        "sizes",
        "symmetric",
        "variances",
        "correlations",
        "positive semi-definite",
        "condition number",
        "mu units",
        "cov units",
        "periodicity",
        "bounds",
    ]
    assert re.match(r"lower bounds sum to 0(\.00)?%, upper bounds to 400%", rep["bounds"].detail)
    assert all(len(d) <= 255 for _, _, d in rep.rows())


def test_check_inputs_periodicity(sp500: pd.DataFrame) -> None:
    p = sp500.to_numpy()
    mu, cov = mean_returns(p), cov_matrix(p)
    daily_mu, daily_cov = mean_returns(p, 1), cov_matrix(p, 1)
    assert check_inputs(daily_mu, daily_cov)["periodicity"].status == "OK"
    rep = check_inputs(mu, daily_cov)
    assert rep["periodicity"].status == "WARN"
    assert "mu annual but cov daily/weekly?" in rep["periodicity"].detail
    rep = check_inputs(daily_mu, cov)
    assert rep["periodicity"].status == "WARN"
    assert "mu daily but cov annual?" in rep["periodicity"].detail


CLEAN_MU = [0.05, 0.08, 0.1]
CLEAN_COV = [[0.04, 0.006, 0.01], [0.006, 0.09, 0.02], [0.01, 0.02, 0.16]]


@pytest.mark.parametrize(
    ("mu", "cov", "bounds", "check", "status", "match"),
    [
        ([5, 8, 10], CLEAN_COV, {}, "mu units", "WARN", r"median \|mu\| is 8 \(800%\)"),
        (CLEAN_MU, np.array(CLEAN_COV) * 1e4, {}, "cov units", "WARN", r"median volatility is 30"),
        (
            CLEAN_MU,
            [[0.04, 0.1, 0], [0.1, 0.09, 0], [0, 0, 0.16]],
            {},
            "correlations",
            "ERROR",
            r"assets 1 and 2 have correlation 1.667",
        ),
        (
            CLEAN_MU,
            [[0.04, 0.05, 0], [0.05, 0.09, 0.02], [0, 0.02, 0.16]],
            {},
            "positive semi-definite",
            "OK",
            r"yes",
        ),
        (
            CLEAN_MU,
            [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]],
            {},
            "positive semi-definite",
            "ERROR",
            r"no: smallest eigenvalue -0.\d+; repair cov with NEAREST_PSD",
        ),
        (
            CLEAN_MU,
            [[0.04, 0.006, 0.01], [0.006, 0.09, 0.02], [0.01, 0.03, 0.16]],
            {},
            "symmetric",
            "ERROR",
            r"row 2, column 3 is 0.02 but row 3, column 2 is 0.03",
        ),
        (
            CLEAN_MU,
            [[0.04, 0, 0], [0, 0.0, 0], [0, 0, 0.16]],
            {},
            "variances",
            "WARN",
            r"zero variance for asset 2",
        ),
        (
            CLEAN_MU,
            [[0.04, 0, 0], [0, 0.0, 0.01], [0, 0.01, 0.16]],
            {},
            "correlations",
            "ERROR",
            r"assets 2 and 3 have correlation infinite",
        ),
        (
            CLEAN_MU,
            [[0.04, 0, 0], [0, -0.01, 0], [0, 0, 0.16]],
            {},
            "variances",
            "ERROR",
            r"asset 2 has a negative variance",
        ),
        (
            CLEAN_MU,
            [[1, 1 - 1e-8, 0], [1 - 1e-8, 1, 0], [0, 0, 1]],
            {},
            "condition number",
            "WARN",
            r"weights react strongly",
        ),
        (CLEAN_MU, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], {}, "condition number", "WARN", r"singular"),
        (CLEAN_MU, CLEAN_COV, {"lower": 0.4}, "bounds", "ERROR", r"lower bounds sum to 120%"),
        (
            CLEAN_MU,
            CLEAN_COV,
            {"upper": [0.3, 0.3, 0.3]},
            "bounds",
            "ERROR",
            r"upper bounds sum to 90%",
        ),
        (
            CLEAN_MU,
            CLEAN_COV,
            {"lower": [0, 0.5, 0], "upper": [1, 0.4, 1]},
            "bounds",
            "ERROR",
            r"asset 2: lower bound 50% is above its upper bound 40%",
        ),
        (
            CLEAN_MU,
            CLEAN_COV,
            {"upper": [0.5, np.nan, 0.5]},
            "bounds",
            "OK",
            r"upper bounds to unbounded",
        ),
        ([0.05, 0.08], CLEAN_COV, {}, "sizes", "ERROR", r"cov is 3x3 but mu has 2 values"),
        ([0.05, "x", 0.1], CLEAN_COV, {}, "mu", "ERROR", r"mu must contain numbers only"),
        ([0.05, np.nan, 0.1], CLEAN_COV, {}, "mu", "ERROR", r"position 2"),
        (
            CLEAN_MU,
            [[0.04, np.nan, 0], [0, 0.09, 0], [0, 0, 0.16]],
            {},
            "cov",
            "ERROR",
            r"row 1, column 2",
        ),
        (CLEAN_MU, [0.04, 0.09, 0.16], {}, "cov", "ERROR", r"must be a square matrix"),
        ([0.0, 0.0, 0.0], CLEAN_COV, {}, "periodicity", "OK", r"not checked"),
    ],
)
def test_check_inputs_flags(
    mu: object, cov: object, bounds: dict, check: str, status: str, match: str
) -> None:
    rep = check_inputs(mu, cov, **bounds)  # type: ignore[arg-type]
    line = rep[check]
    assert line.status == status, rep.rows()
    assert re.search(match, line.detail), line.detail
    assert rep.ok == (rep.status != "ERROR")


def test_check_inputs_report_shape() -> None:
    rep = check_inputs(CLEAN_MU, CLEAN_COV)
    assert all(isinstance(row, tuple) and len(row) == 3 for row in rep.rows())
    assert rep["mu"].check == "mu"
    with pytest.raises(KeyError, match=r"^'nonsense'$"):
        rep["nonsense"]


def test_input_report_with_errors_fails_the_named_lines() -> None:
    """How CHECK_INPUTS reports what it could not read: in place, or appended in order."""
    rep = check_inputs(CLEAN_MU, CLEAN_COV)
    assert rep.status == "OK"
    failed = rep.with_errors({"mu": 'mu has the text "x" in row 2', "later": "second"})
    assert [c.check for c in failed.checks] == [*(c.check for c in rep.checks), "later"]
    assert failed["mu"] == ("mu", "ERROR", 'mu has the text "x" in row 2')
    assert failed["later"] == ("later", "ERROR", "second")
    assert failed.status == "ERROR"
    assert not failed.ok
    unchanged = [c for c in failed.checks if c.check not in ("mu", "later")]
    assert unchanged == [c for c in rep.checks if c.check != "mu"]
    assert rep["mu"].status == "OK"  # the original report is untouched
    assert rep.with_errors({}) == rep


def test_input_report_with_errors_on_an_empty_report() -> None:
    empty = InputReport(())
    assert empty.status == "OK"
    rep = empty.with_errors({"mu": "first", "cov": "second", "bounds": "third"})
    assert rep.rows() == [
        ("mu", "ERROR", "first"),
        ("cov", "ERROR", "second"),
        ("bounds", "ERROR", "third"),
    ]
    assert rep.status == "ERROR"


# --------------------------------------------------------------------------------------------
# Robustness: only InputError for bad input (hypothesis)
# --------------------------------------------------------------------------------------------

messy = st.one_of(
    st.floats(min_value=0.01, max_value=1e4),
    st.sampled_from([np.nan, np.nan, 0.0, -1.0, np.inf, 1e-300, 1e300]),
)
tables = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=8), elements=messy
)
wild = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
    elements=st.floats(allow_nan=True, allow_infinity=True),
)


@st.composite
def excel_ranges(draw: st.DrawFn) -> list[list[object]]:
    """What a worksheet range can hold: blanks (None), text, booleans, numbers; maybe ragged."""
    rows, cols = draw(st.integers(1, 7)), draw(st.integers(1, 4))
    cell = st.one_of(
        st.none(),
        st.floats(0.01, 1e3),
        st.sampled_from(["", "n/a", "#N/A", "1.5", 0, -5, True]),
    )
    table = [[draw(cell) for _ in range(cols)] for _ in range(rows)]
    if draw(st.booleans()) and rows > 1:
        table[-1] = table[-1][:-1] or [None, None]
    return table


options = st.fixed_dictionaries(
    {
        "periods_per_year": st.sampled_from([None, 252, 12, 0, -1, np.nan, "x"]),
        "method": st.sampled_from([None, "", "sample", "ewma", "lw", "identity", "bogus"]),
        "span": st.sampled_from([None, 1, 1.5, 20, 0, "x"]),
        "is_returns": st.sampled_from([None, False, True, 1, "TRUE"]),
    }
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_cov_result(c: np.ndarray) -> None:
    assert np.isfinite(c).all()
    np.testing.assert_array_equal(c, c.T)
    assert is_psd(c, 1e-9)


@FAST
@given(data=st.one_of(tables, wild, excel_ranges()), opts=options)
def test_estimators_raise_only_input_errors(data: np.ndarray, opts: dict) -> None:
    cov_method = opts["method"]
    mean_method = {"sample": "arithmetic", "lw": "geometric", "identity": "ewma"}.get(
        cov_method, cov_method
    )
    try:
        c = estimate_cov(data, **opts)
    except InputError:
        pass
    else:
        assert isinstance(c, CovarianceEstimate)
        check_cov_result(c.cov)
    try:
        mu = mean_returns(data, **{**opts, "method": mean_method})
    except InputError:
        pass
    else:
        assert np.isfinite(mu).all()
    try:
        r = returns_from_prices(data, method=opts["method"] and "log")
    except InputError:
        pass
    else:
        assert r.shape[0] == len(data) - 1


@FAST
@given(
    a=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 6)),
        elements=st.one_of(
            st.floats(-2, 2), st.sampled_from([np.nan, np.inf, 0.0, 1.0, 1e300, 1e-300])
        ),
    ),
    symmetrise=st.booleans(),
)
def test_matrix_functions_raise_only_input_errors(a: np.ndarray, symmetrise: bool) -> None:
    if symmetrise and a.shape[0] == a.shape[1]:
        a = np.triu(a) + np.triu(a, 1).T
    try:
        x = nearest_psd(a)
    except InputError:
        pass
    else:
        assert np.isfinite(x).all()
        np.testing.assert_array_equal(np.diag(x), np.diag(a))
        d = np.sqrt(np.diag(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.where(np.outer(d, d) > 0, x / np.outer(d, d), np.eye(len(d)))
        if np.isfinite(corr).all():
            assert np.linalg.eigvalsh(corr)[0] >= -1e-9
    for f in (corr_from_cov, lambda m: cov_from_corr(m, np.ones(len(m)))):
        try:
            out = f(a)
        except InputError:
            pass
        else:
            assert out.shape == a.shape
    rep = check_inputs(a[0], a, lower=a[0], upper=None)
    assert rep.status in ("OK", "WARN", "ERROR")
    assert all(s in ("OK", "WARN", "ERROR") for _, s, _ in rep.rows())


@FAST
@given(mu=wild, cov=wild, lower=st.one_of(st.none(), wild), upper=st.one_of(st.none(), wild))
def test_check_inputs_never_raises(
    mu: np.ndarray, cov: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None
) -> None:
    rep = check_inputs(mu, cov, lower, upper)
    assert rep.checks
    assert all(len(d) <= 255 for _, _, d in rep.rows())


def test_bounds_error_classes_are_input_errors() -> None:
    # CHECK_INPUTS reports infeasible bounds instead of raising them
    assert issubclass(InfeasibleError, InputError)
    assert check_inputs(CLEAN_MU, CLEAN_COV, lower=1.0)["bounds"].status == "ERROR"
