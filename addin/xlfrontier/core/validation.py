"""The Excel layer's seam into the core: the core helpers it shares, in one documented place.

The worksheet functions (``udfs.py``, ``excel/``) use the core's public API
(:mod:`xlfrontier.core`) and, for the few rules they must apply exactly as the core does,
this module, never the core's private modules. Python users have no need for it.

* :func:`as_bounds`: per-asset weight bounds, broadcast and checked as the optimisers check
  them (the same messages).
* :func:`fmt_pct`, :func:`fmt_pct_pair`: numbers as percentages in messages.
* :func:`clean_weights`: the weight-cleaning rule (bounds exactly, no dust, no ``-0.0``);
  worksheet outputs use its ``output=True`` rule.
"""

from __future__ import annotations

from xlfrontier.core._messages import fmt_pct, fmt_pct_pair
from xlfrontier.core._validation import as_bounds
from xlfrontier.core._weights import clean_weights

__all__ = ["as_bounds", "clean_weights", "fmt_pct", "fmt_pct_pair"]
