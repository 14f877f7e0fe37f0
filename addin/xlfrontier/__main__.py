"""``python -m xlfrontier``: the ``xlfrontier`` command (what the add-in's Diagnose button runs)."""

from __future__ import annotations

import sys

from xlfrontier.cli import main

sys.exit(main())
