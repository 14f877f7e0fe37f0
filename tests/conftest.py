"""Make ``addin/`` importable when xlfrontier is not installed (plain checkout)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_ADDIN = Path(__file__).resolve().parents[1] / "addin"
if importlib.util.find_spec("xlfrontier") is None and str(_ADDIN) not in sys.path:
    sys.path.insert(0, str(_ADDIN))
