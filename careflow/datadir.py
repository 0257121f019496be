"""Where careflow keeps its local state (the SQLite database, the dev server's files).

The directory is resolved once, to an absolute path, when the settings are built, so every
command finds the same database whatever folder it is run from:

1. ``CAREFLOW_DATA_DIR`` when set (a relative value is taken from the current folder);
2. else the nearest ``.careflow/`` folder in the current folder or one of its parents (a
   project that ran ``careflow dev`` or ``careflow migrate`` there);
3. else ``.careflow/`` in the careflow source checkout this package runs from (what
   ``make run`` uses), when there is one;
4. else ``$XDG_DATA_HOME/careflow``, by default ``~/.local/share/careflow``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DATA_DIR_NAME", "DATA_DIR_RULE", "default_data_dir", "source_checkout"]

DATA_DIR_NAME = ".careflow"

DATA_DIR_RULE = (
    "CAREFLOW_DATA_DIR, else the nearest .careflow/ in this folder or a parent, "
    "else .careflow/ in the careflow checkout, else ~/.local/share/careflow"
)
"""The resolution order in one line, for help texts and error messages."""


def source_checkout() -> Path | None:
    """The careflow source checkout this package runs from (editable install), if any."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "careflow").is_dir() else None


_FIND = Path("<find>")


def default_data_dir(
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    checkout: Path | None = _FIND,
) -> Path:
    """The data directory when ``CAREFLOW_DATA_DIR`` is not set (steps 2 to 4 above).

    Args:
        cwd: Folder to search from; the current folder by default.
        environ: Environment for ``XDG_DATA_HOME`` and ``HOME``; ``os.environ`` by default.
        checkout: The source checkout (None: there is none); :func:`source_checkout` by
            default.

    Returns:
        An absolute path; nothing is created.
    """
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DATA_DIR_NAME).is_dir():
            return folder / DATA_DIR_NAME
    root = source_checkout() if checkout is _FIND else checkout
    if root is not None:
        return root.resolve() / DATA_DIR_NAME
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore a relative value
        base = Path(xdg)
    else:
        base = Path(env.get("HOME") or Path.home()) / ".local" / "share"
    return (base / "careflow").resolve()
