"""Input diagnostics: the report of :func:`check_inputs` (private; see :mod:`.estimation`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from xlfrontier.core._estimation_args import VOLATILITY_UNITS_LIMIT, FloatArray
from xlfrontier.core._messages import fmt_pct
from xlfrontier.core._validation import PSD_TOL, SYMMETRY_TOL, as_bounds
from xlfrontier.core._validation import as_vector as _as_vector
from xlfrontier.exceptions import InputError

# CHECK_INPUTS thresholds (documented in check_inputs).
_COND_WARN = 1e6
_COND_SINGULAR = 1e12
_MU_PERCENT = 1.0
_RATIO_HIGH = 2.0
_RATIO_LOW = 0.005


class InputCheck(NamedTuple):
    """One line of :func:`check_inputs`: the check, ``"OK"``/``"WARN"``/``"ERROR"``, detail."""

    check: str
    status: str
    detail: str


_RANK = {"OK": 0, "WARN": 1, "ERROR": 2}


@dataclass(frozen=True)
class InputReport:
    """Result of :func:`check_inputs`.

    Attributes
    ----------
    checks : tuple of InputCheck
        ``(check, status, detail)`` lines in a fixed order.
    """

    checks: tuple[InputCheck, ...]

    @property
    def status(self) -> str:
        """The worst status: ``"ERROR"``, else ``"WARN"``, else ``"OK"``."""
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default="OK")

    @property
    def ok(self) -> bool:
        """Whether no check failed with ``"ERROR"``."""
        return self.status != "ERROR"

    def rows(self) -> list[tuple[str, str, str]]:
        """Return the lines as plain tuples, e.g. to spill into three worksheet columns."""
        return [tuple(c) for c in self.checks]  # type: ignore[misc]

    def with_errors(self, errors: Mapping[str, str]) -> InputReport:
        """Return the report with the named checks failed.

        For problems found before the checks could see them, e.g. while reading worksheet
        cells (text in a number cell): each named check's line becomes an ``"ERROR"`` with
        the given detail, where it stands; a check the report has no line for is appended, in
        the order given. CHECK_INPUTS reports its conversion errors this way.

        Parameters
        ----------
        errors : mapping of str to str
            Check name (``"mu"``, ``"cov"``, ``"bounds"``...) to the detail text.

        Returns
        -------
        InputReport
            A new report; this one is unchanged.

        Raises
        ------
        Nothing

        Examples
        --------
        >>> import numpy as np
        >>> from xlfrontier import check_inputs
        >>> report = check_inputs([0.05, 0.08], np.diag([0.01, 0.04]))
        >>> failed = report.with_errors({"bounds": 'upper has the text "abc"'})
        >>> failed.status, failed["bounds"].detail
        ('ERROR', 'upper has the text "abc"')
        >>> [c.check for c in failed.checks] == [c.check for c in report.checks]
        True
        """
        lines = [
            InputCheck(c.check, "ERROR", errors[c.check]) if c.check in errors else c
            for c in self.checks
        ]
        present = {c.check for c in self.checks}
        lines += [InputCheck(k, "ERROR", v) for k, v in errors.items() if k not in present]
        return InputReport(tuple(lines))

    def __getitem__(self, check: str) -> InputCheck:
        """Return the line of the named check."""
        for c in self.checks:
            if c.check == check:
                return c
        raise KeyError(check)


def _parse_matrix(cov: ArrayLike) -> FloatArray:
    try:
        c = np.array(cov, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError("cov must contain numbers only", "cov") from err
    if c.ndim == 0 or (c.ndim == 1 and c.size == 1):
        c = c.reshape(1, 1)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.size == 0:
        raise InputError(f"cov must be a square matrix, got shape {c.shape}", "cov")
    bad = ~np.isfinite(c)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"cov has a missing or non-finite value at row {i + 1}, column {j + 1}", "cov"
        )
    return c


def check_inputs(
    mu: ArrayLike,
    cov: ArrayLike,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> InputReport:
    """Diagnose optimiser inputs (the CHECK_INPUTS worksheet function); never raises.

    Lines, in order (a line is left out when an earlier ERROR makes it meaningless):

    ``mu``, ``cov``, ``sizes``
        Numbers only, no blanks, ``cov`` square and matching ``mu``.
    ``symmetric``
        ERROR when ``cov_ij`` and ``cov_ji`` differ by more than 1e-8 relative (the worst pair
        is named); smaller differences are rounding, which the optimisers average away.
    ``variances``
        ERROR for a negative variance; WARN for zero variance (a riskless asset makes the
        matrix singular and its correlations undefined).
    ``correlations``
        ERROR when an implied correlation ``cov_ij / sqrt(cov_ii cov_jj)`` lies outside
        [-1, 1] (beyond 1e-9); the worst pair is named.
    ``positive semi-definite``
        ERROR when the smallest eigenvalue is below ``-1e-10`` times the largest (the
        optimisers' test); the smallest eigenvalue is shown; NEAREST_PSD is suggested.
    ``condition number``
        Largest / smallest eigenvalue. WARN above 1e6 (weights react strongly to small input
        changes; shrinkage helps) and as "singular" above 1e12.
    ``mu units``
        WARN when the median ``|mu|`` is at least 1 (100% a period): percentages typed as whole
        numbers (8 instead of 0.08).
    ``cov units``
        WARN when the median volatility ``sqrt(cov_ii)`` is at least 2 (200%): variances of
        percentages (400 for a 20% volatility) instead of decimals (0.04).
    ``periodicity``
        Compares ``q = mean|mu| / sqrt(median cov_ii)``. For consistent inputs with ``p``
        periods a year, ``q ≈ SR / sqrt(p)`` where ``SR`` is a typical annual return-to-risk
        ratio (0.1 to 1): 0.1–1 annual, 0.006–0.06 daily. Annual ``mu`` with a daily ``cov``
        gives ``q ≈ 16 SR`` and daily ``mu`` with an annual ``cov`` ``q ≈ SR / 252``.
        WARN when ``q > 2`` ("mu annual, cov per-period?") or ``q < 0.005`` ("mu per-period,
        cov annual?"). A heuristic: extreme but consistent inputs can trigger it.
    ``bounds``
        ERROR when the bounds cannot hold a portfolio (a lower above its upper, lower bounds
        summing above 100% or upper bounds below 100%); ``None``/blank means lower 0 and no
        upper limit.

    Parameters
    ----------
    mu : array_like of shape (n_assets,)
        Expected returns.
    cov : array_like of shape (n_assets, n_assets)
        Covariance matrix.
    lower, upper : float or array_like of shape (n_assets,), optional
        Weight bounds as for the optimisers.

    Returns
    -------
    InputReport

    Raises
    ------
    Nothing
        Every problem is a line of the report.

    Examples
    --------
    >>> import numpy as np
    >>> mu = np.array([0.04, 0.08, 0.11])
    >>> cov = np.array([[0.0025, 0.0015, 0.0010],
    ...                 [0.0015, 0.0225, 0.0180],
    ...                 [0.0010, 0.0180, 0.0484]])
    >>> from xlfrontier import check_inputs
    >>> report = check_inputs(mu, cov)
    >>> report["positive semi-definite"].status
    'OK'
    >>> check_inputs(mu * 100, cov)["mu units"].status
    'WARN'
    """
    lines: list[InputCheck] = []

    def add(check: str, status: str, detail: str) -> None:
        # Messages of absurd inputs (1e300 bounds) can outgrow a cell.
        cut = detail if len(detail) <= 255 else detail[:254] + "…"
        lines.append(InputCheck(check, status, cut))

    m: FloatArray | None = None
    try:
        m = _as_vector(mu, "mu")
        add("mu", "OK", f"{m.size} expected returns")
    except InputError as err:
        add("mu", "ERROR", str(err))
    c: FloatArray | None = None
    try:
        c = _parse_matrix(cov)
        add("cov", "OK", f"{c.shape[0]}x{c.shape[0]} matrix")
    except InputError as err:
        add("cov", "ERROR", str(err))
    n = m.size if m is not None else (c.shape[0] if c is not None else None)
    if m is not None and c is not None:
        if c.shape[0] != m.size:
            add(
                "sizes",
                "ERROR",
                f"cov is {c.shape[0]}x{c.shape[0]} but mu has {m.size} values: it must be "
                f"{m.size}x{m.size}, in the same asset order",
            )
            c = None
        else:
            add("sizes", "OK", f"{m.size} assets")
    if c is not None:
        with np.errstate(all="ignore"):
            _check_matrix(c, m, add)
    if n is not None:
        if lower is None and upper is None:
            add("bounds", "OK", "default: long only (weights at least 0), no upper limit")
        else:
            with np.errstate(all="ignore"):
                try:
                    lo, up = as_bounds(lower, upper, n)
                    add(
                        "bounds",
                        "OK",
                        f"lower bounds sum to {fmt_pct(float(lo.sum()))}, upper bounds to "
                        f"{fmt_pct(float(up.sum()))}: weights can add up to 100%",
                    )
                except InputError as err:
                    add("bounds", "ERROR", str(err))
    return InputReport(tuple(lines))


def _check_matrix(
    c: FloatArray, m: FloatArray | None, add: Callable[[str, str, str], None]
) -> None:
    """Add the matrix lines of :func:`check_inputs` (``c`` square and finite)."""
    n = c.shape[0]
    # Every test below is scale-free: run them on c / max|c| so that entries near the float
    # limit (1e308) neither overflow (c + cᵀ, eigenvalues) nor underflow (1e-308).
    scale = float(np.abs(c).max()) or 1.0
    c_raw, c = c, c / scale
    asym = np.abs(c - c.T)
    worst = float(asym.max())
    if worst > SYMMETRY_TOL:
        i, j = map(int, np.unravel_index(int(asym.argmax()), asym.shape))
        add(
            "symmetric",
            "ERROR",
            f"no: row {i + 1}, column {j + 1} is {c_raw[i, j]:.6g} but row {j + 1}, column "
            f"{i + 1} is {c_raw[j, i]:.6g}",
        )
        return
    add(
        "symmetric",
        "OK",
        "yes" if worst == 0 else f"yes (rounding differences {worst * scale:.1e})",
    )
    c = 0.5 * (c + c.T)
    var = np.diag(c_raw)
    if (var < 0).any():
        i = int(np.flatnonzero(var < 0)[0])
        add("variances", "ERROR", f"asset {i + 1} has a negative variance {var[i]:.4g}")
        return
    zero = np.flatnonzero(var == 0)
    if zero.size:
        names = ", ".join(str(i + 1) for i in zero[:5]) + (", ..." if zero.size > 5 else "")
        add(
            "variances",
            "WARN",
            f"zero variance for asset {names}: a riskless asset makes cov singular",
        )
    else:
        add("variances", "OK", "all positive")
    sd = np.sqrt(np.diag(c))  # scaled volatilities: correlations are scale-free
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = c / np.outer(sd, sd)
    corr[np.outer(sd, sd) == 0] = 0.0
    # A covariance next to a zero variance is an infinite correlation.
    corr[(np.outer(sd, sd) == 0) & (c != 0)] = np.inf
    np.fill_diagonal(corr, 0.0)
    k = np.unravel_index(int(np.abs(corr).argmax()), corr.shape)
    big = float(abs(corr[k]))
    if big > 1.0 + 1e-9:
        i, j = sorted(int(v) for v in k)
        shown = "infinite" if not math.isfinite(corr[k]) else f"{corr[k]:.4g}"
        add(
            "correlations",
            "ERROR",
            f"assets {i + 1} and {j + 1} have correlation {shown}: a covariance cannot exceed "
            f"the product of the volatilities",
        )
    else:
        add(
            "correlations",
            "OK",
            f"all between -1 and 1 (largest |correlation| {big:.3g})" if n > 1 else "one asset",
        )
    eig = np.linalg.eigvalsh(c)  # of the scaled matrix: shown times the scale
    top = max(float(np.abs(eig).max()), 1e-300)
    psd = eig[0] >= -PSD_TOL * top
    smallest = float(eig[0]) * scale
    if psd:
        add("positive semi-definite", "OK", f"yes: smallest eigenvalue {smallest:.3g}")
        if eig[0] <= 0 or eig[-1] / eig[0] > _COND_SINGULAR:
            add(
                "condition number",
                "WARN",
                "singular (above 1e12): some portfolio has almost no risk; unstable weights",
            )
        else:
            cond = float(eig[-1] / eig[0])
            if cond > _COND_WARN:
                add(
                    "condition number",
                    "WARN",
                    f"{cond:.3g}: weights react strongly to small input changes; consider "
                    f"shrinkage (COV_MATRIX with ledoit_wolf)",
                )
            else:
                add("condition number", "OK", f"{cond:.3g}")
    else:
        add(
            "positive semi-definite",
            "ERROR",
            f"no: smallest eigenvalue {smallest:.3g}; repair cov with NEAREST_PSD",
        )
    med_var = float(np.median(var))
    vol = math.sqrt(med_var)
    if m is not None:
        med_mu = float(np.median(np.abs(m)))
        if med_mu >= _MU_PERCENT:
            add(
                "mu units",
                "WARN",
                f"median |mu| is {med_mu:.4g} ({fmt_pct(med_mu)}): percent typed as whole "
                f"numbers? enter 8% as 0.08",
            )
        else:
            add("mu units", "OK", f"decimals (median |mu| {fmt_pct(med_mu)})")
    if vol >= VOLATILITY_UNITS_LIMIT:
        add(
            "cov units",
            "WARN",
            f"median volatility is {vol:.4g} ({fmt_pct(vol)}): variances of percentages? a 20% "
            f"volatility is a variance of 0.04",
        )
    else:
        add("cov units", "OK", f"decimals (median volatility {fmt_pct(vol)})")
    if m is not None:
        top_mu = float(np.abs(m).max()) or 1.0
        mean_mu = float((np.abs(m) / top_mu).mean()) * top_mu  # no overflow summing 1e308s
        if vol == 0 or mean_mu == 0:
            add("periodicity", "OK", "not checked (zero mu or zero variances)")
            return
        q = mean_mu / vol
        if q > _RATIO_HIGH:
            add(
                "periodicity",
                "WARN",
                f"average |mu| is {q:.3g} times the typical volatility: mu annual but cov "
                f"daily/weekly? annualise cov (x252 for daily data)",
            )
        elif q < _RATIO_LOW:
            add(
                "periodicity",
                "WARN",
                f"average |mu| is only {q:.2g} times the typical volatility: mu daily but cov "
                f"annual? annualise mu (x252 for daily data)",
            )
        else:
            add("periodicity", "OK", f"consistent (average |mu| / volatility {q:.3g})")
