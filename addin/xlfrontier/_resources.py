"""Where the files that ship beside the code are: one place for the template workbook's folder.

In a checkout the template lives in the repository's ``workbook_templates/`` (the generator
writes it there); a built wheel carries a copy inside the package
(``xlfrontier/workbook_templates/``, put there by ``setup.py`` at build time).
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES_FOLDER = "workbook_templates"
TEMPLATE_FILENAME = "xlfrontier_template.xlsx"

_PACKAGE = Path(__file__).resolve().parent


def find_templates_dir(start: str | Path | None = None) -> Path | None:
    """Return ``workbook_templates/`` of the xlfrontier checkout containing ``start``.

    Parameters
    ----------
    start : str or Path, optional
        Where to start looking, upwards; default: this installed package's folder.

    Returns
    -------
    Path or None
        The folder, or None when ``start`` is not inside an xlfrontier checkout (a folder with
        ``workbook_templates/`` and a ``pyproject.toml`` naming the project ``xlfrontier``).

    Unreadable ``pyproject.toml`` files are skipped.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     print(find_templates_dir(empty))
    None
    """
    here = Path(start).resolve() if start is not None else _PACKAGE
    for folder in (here, *here.parents):
        project = folder / "pyproject.toml"
        if (folder / TEMPLATES_FOLDER).is_dir() and project.is_file():
            try:
                if 'name = "xlfrontier"' in project.read_text(encoding="utf-8"):
                    return folder / TEMPLATES_FOLDER
            except OSError:
                continue
    return None


def template_file() -> Path | None:
    """Return the template workbook that ships with this installation.

    The copy inside the installed package (a wheel) comes first, then the checkout's
    ``workbook_templates/`` (a source tree on ``PYTHONPATH`` or an editable install).

    Returns
    -------
    Path or None
        The ``xlfrontier_template.xlsx`` file, or None if neither exists.

    Examples
    --------
    >>> path = template_file()
    >>> path is None or path.name == "xlfrontier_template.xlsx"
    True
    """
    bundled = _PACKAGE / TEMPLATES_FOLDER / TEMPLATE_FILENAME
    if bundled.is_file():
        return bundled
    folder = find_templates_dir()
    if folder is not None and (folder / TEMPLATE_FILENAME).is_file():
        return folder / TEMPLATE_FILENAME
    return None
