"""xlfrontier: exact Markowitz portfolio optimisation, for Excel worksheet functions.

The numerical core (:mod:`xlfrontier.core`) is re-exported here::

    from xlfrontier import min_variance
    res = min_variance(mu, cov, target_return=0.07)
    res.weights, res.volatility, res.kkt
"""

from __future__ import annotations

from xlfrontier.core import *  # noqa: F403
from xlfrontier.core import __all__ as _core_all
from xlfrontier.exceptions import (
    InfeasibleError,
    InputError,
    NoPositiveExcessReturnError,
    NotPositiveSemidefiniteError,
    SolverError,
    TargetOutOfRangeError,
    UnboundedError,
    XlfrontierError,
)

# The one place the version is written: pyproject.toml reads it (setuptools dynamic version).
__version__ = "0.1.0"

__all__ = [
    *_core_all,
    "InfeasibleError",
    "InputError",
    "NoPositiveExcessReturnError",
    "NotPositiveSemidefiniteError",
    "SolverError",
    "TargetOutOfRangeError",
    "UnboundedError",
    "XlfrontierError",
    "__version__",
]
