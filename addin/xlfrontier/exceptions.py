"""Exceptions raised by xlfrontier: every exception class of the package is defined here.

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
    ├── SolverError (RuntimeError)         an internal failure (a bug: please report it)
    ├── AddinError                         the add-in cannot be built or configured
    │   └── AddinConfigError (ValueError)  a value the xlwings config file cannot hold
    ├── WorkbookError (ValueError)         a workbook cannot be recalculated
    └── OutputError                        an output path cannot be written safely
        └── OutputExistsError              the output exists and --force was not given
    DisplacedPackageError (ImportError)    xlfrontier imported from outside its installation
    CommandError                           the xlfrontier command: a problem the user can fix
    └── CommandExistsError                 (exit code 3) the output exists

The add-in, workbook and command errors are re-exported by the modules that raise them
(:mod:`xlfrontier.excel.addin`, :mod:`xlfrontier.workbook.recalc`...), their old homes.
"""

from __future__ import annotations

__all__ = [
    "AddinConfigError",
    "AddinError",
    "CommandError",
    "CommandExistsError",
    "DisplacedPackageError",
    "InfeasibleError",
    "InputError",
    "NoPositiveExcessReturnError",
    "NotPositiveSemidefiniteError",
    "OutputError",
    "OutputExistsError",
    "SolverError",
    "TargetOutOfRangeError",
    "UnboundedError",
    "WorkbookError",
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


class AddinError(XlfrontierError):
    """The add-in cannot be built or configured (message says what to do)."""


class AddinConfigError(AddinError, ValueError):
    """A value cannot be written to the config file in the format xlwings reads."""


class WorkbookError(XlfrontierError, ValueError):
    """The file cannot be recalculated: missing, not an .xlsx, damaged, or no formulas."""


class OutputError(XlfrontierError):
    """The output path cannot be written safely (a symbolic link, a folder...)."""


class OutputExistsError(OutputError):
    """The output file exists and may not be replaced without ``--force``."""


class DisplacedPackageError(ImportError):
    """xlfrontier was imported from somewhere other than where it is installed."""


class CommandError(Exception):
    """A problem the user of the ``xlfrontier`` command can fix; one message, exit code 1."""

    exit_code = 1


class CommandExistsError(CommandError):
    """The ``xlfrontier`` command's output exists and may not be replaced; exit code 3."""

    exit_code = 3
