"""Packaged files (icon) found next to the package or in a PyInstaller bundle, never via the cwd."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path


def asset_path(name: str) -> Path | None:
    meipass = getattr(sys, "_MEIPASS", None)
    base = (
        Path(meipass) / "desktop" / "assets" if meipass else Path(str(resources.files("desktop") / "assets"))
    )
    path = base / name
    return path if path.is_file() else None
