"""Exceptions raised by xlfrontier.

Every message is written to be shown in a spreadsheet cell: short, in finance words, naming the
argument that is wrong and saying how to fix it. Input problems subclass :class:`ValueError` so
that generic callers can catch them as such.

Hierarchy::

    XlfrontierError
    ├── InputError (ValueError)            bad data in an argument
    │   ├── NotPositiveSemidefiniteError   covariance with a negative eigenvalue
    │   ├── InfeasibleError                no portfolio satisfies the constraints
    │   │   └── TargetOutOfRangeError      target return/volatility outside the feasible range
    │   └── NoPositiveExcessReturnError    max Sharpe when nothing beats the risk-free rate
    ├── UnboundedError (ValueError)        the objective has no finite optimum
    └── SolverError (RuntimeError)         an internal failure (a bug: please report it)
"""

from __future__ import annotations

__all__ = [
    "InfeasibleError",
    "InputError",
    "NoPositiveExcessReturnError",
    "NotPositiveSemidefiniteError",
    "SolverError",
    "TargetOutOfRangeError",
    "UnboundedError",
    "XlfrontierError",
]


class XlfrontierError(Exception):
    """Base class of every error raised by xlfrontier."""


class InputError(XlfrontierError, ValueError):
    """An argument holds data the optimiser cannot use.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    argument : str, optional
        Name of the offending argument (``"mu"``, ``"cov"``, ``"lower"``...).
    """

    def __init__(self, message: str, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class NotPositiveSemidefiniteError(InputError):
    """The covariance matrix has a clearly negative eigenvalue.

    Attributes
    ----------
    min_eigenvalue : float
        The smallest eigenvalue of the (symmetrised) covariance matrix.
    """

    def __init__(self, message: str, min_eigenvalue: float, argument: str = "cov") -> None:
        super().__init__(message, argument)
        self.min_eigenvalue = min_eigenvalue


class InfeasibleError(InputError):
    """No portfolio satisfies the constraints (e.g. bounds that cannot sum to one)."""


class TargetOutOfRangeError(InfeasibleError):
    """A target return or volatility lies outside what the bounds allow.

    Attributes
    ----------
    quantity : {"return", "volatility"}
        What the target is.
    target : float
        The requested value.
    feasible_range : tuple of float
        ``(low, high)``: the targets that can be met (``high`` may be ``inf``).
    """

    def __init__(
        self,
        message: str,
        quantity: str,
        target: float,
        feasible_range: tuple[float, float],
        argument: str | None = None,
    ) -> None:
        super().__init__(message, argument)
        self.quantity = quantity
        self.target = target
        self.feasible_range = feasible_range


class NoPositiveExcessReturnError(InputError):
    """Maximum Sharpe is undefined: no feasible portfolio earns more than the risk-free rate."""


class UnboundedError(XlfrontierError, ValueError):
    """The problem has no finite optimum (e.g. unlimited short selling with a riskless spread)."""


class SolverError(XlfrontierError, RuntimeError):
    """The solver failed on a valid problem. This is a bug: please report the inputs."""
