"""Build hook: ship the template workbook inside the package.

The generator writes the template to the repository's ``workbook_templates/`` (outside the
package, so that it is easy to find and open); the wheel needs a copy inside the package for
``xlfrontier._resources.template_file()``, the ribbon's **New from template** and
``install.ps1 -Wheel``. All other metadata is in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATE = Path("workbook_templates") / "xlfrontier_template.xlsx"


class BuildPyWithTemplate(build_py):
    """``build_py`` that also copies the template into ``xlfrontier/workbook_templates/``."""

    def run(self) -> None:
        """Build the package, then add the template (not for editable installs)."""
        super().run()
        if self.editable_mode:  # an editable install reads it from the checkout
            return
        if not TEMPLATE.is_file():
            raise FileNotFoundError(f"{TEMPLATE} is missing: run `xlfrontier template` first")
        target = Path(self.build_lib) / "xlfrontier" / TEMPLATE
        self.mkpath(str(target.parent))
        self.copy_file(str(TEMPLATE), str(target))


setup(cmdclass={"build_py": BuildPyWithTemplate})
