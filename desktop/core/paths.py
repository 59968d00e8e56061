"""Where PixelPatrol keeps things.

User files live in platform directories (platformdirs). `PIXELPATROL_HOME` replaces all of them
with sub-folders of one directory, so tests never touch a real profile. Bundled files are found
next to the package (a checkout or an installed tree) or in a PyInstaller bundle, never relative
to the working directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "pixelpatrol"
HOME_ENV = "PIXELPATROL_HOME"
BUNDLED_MODELS_ENV = "PIXELPATROL_BUNDLED_MODELS"  # tests: point the bundled models at another folder


def _home_override() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    home = _home_override()
    return _ensure(home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))


def user_config_dir() -> Path:
    home = _home_override()
    return _ensure(home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)))


def user_cache_dir() -> Path:
    home = _home_override()
    return _ensure(home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)))


def user_models_dir() -> Path:
    """Models the user added (and models trained in the app): `<data dir>/models`."""
    return _ensure(user_data_dir() / "models")


def default_store_path() -> Path:
    return user_data_dir() / "pixelpatrol.sqlite3"


def _bundle_root() -> Path | None:
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if meipass else None


def repo_root() -> Path:
    """The directory that holds the `desktop` package (a checkout, or site-packages when installed)."""
    return Path(__file__).resolve().parents[2]


def bundled_models_dir() -> Path:
    """`onnx_models/` shipped with the app; may not exist (e.g. an install without bundled models)."""
    override = os.environ.get(BUNDLED_MODELS_ENV)
    if override:
        return Path(override).expanduser()
    bundle = _bundle_root()
    if bundle is not None:
        return bundle / "onnx_models"
    return repo_root() / "onnx_models"


def demo_dir() -> Path:
    """The demo image folder packaged with `desktop` (may not exist)."""
    bundle = _bundle_root()
    if bundle is not None:
        return bundle / "desktop" / "demo"
    from importlib import resources

    return Path(str(resources.files("desktop") / "demo"))
