"""Typed access to the app's persistent settings (QSettings), isolated for tests.

Where settings live: `PIXELPATROL_SETTINGS` (an .ini path) wins; else, when `PIXELPATROL_HOME` is set
(tests, portable installs), `$PIXELPATROL_HOME/settings.ini`; else the platform's native store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8


def open_settings() -> QSettings:
    explicit = os.environ.get("PIXELPATROL_SETTINGS")
    home = os.environ.get("PIXELPATROL_HOME")
    if explicit:
        return QSettings(explicit, QSettings.Format.IniFormat)
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        return QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("PixelPatrol", "PixelPatrol")


class AppSettings:
    """The handful of values the app remembers between runs; one instance per window."""

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store if store is not None else open_settings()

    # window geometry and splitters are opaque Qt blobs
    def blob(self, key: str) -> QByteArray | None:
        value = self._store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_blob(self, key: str, value: QByteArray) -> None:
        self._store.setValue(key, value)

    @property
    def recent_folders(self) -> list[str]:
        value: Any = self._store.value("scan/recent", [])
        if isinstance(value, str):  # QSettings returns a bare str for one-item lists in ini files
            value = [value]
        return [str(v) for v in value or [] if v]

    def add_recent(self, paths: list[str]) -> None:
        recent = [p for p in self.recent_folders if p not in paths]
        self._store.setValue("scan/recent", (list(paths) + recent)[:MAX_RECENT])

    @property
    def model(self) -> str | None:
        value = self._store.value("scan/model")
        return str(value) if value else None

    @model.setter
    def model(self, value: str | None) -> None:
        self._store.setValue("scan/model", value or "")

    @property
    def threshold(self) -> float | None:
        value = self._store.value("scan/threshold")
        try:
            t = float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None
        return t if t is not None and 0.0 < t < 1.0 else None

    @threshold.setter
    def threshold(self, value: float | None) -> None:
        self._store.setValue("scan/threshold", "" if value is None else f"{value:.4f}")

    @property
    def threshold_model(self) -> str | None:
        """The model the saved threshold was chosen for: another model starts at its own threshold."""
        value = self._store.value("scan/threshold_model")
        return str(value) if value else None

    @threshold_model.setter
    def threshold_model(self, value: str | None) -> None:
        self._store.setValue("scan/threshold_model", value or "")

    def threshold_for(self, model: str) -> float | None:
        """The saved threshold when it was chosen for `model` (or before models were remembered), else None."""
        owner = self.threshold_model
        return self.threshold if owner is None or owner == model else None

    @property
    def recursive(self) -> bool:
        return str(self._store.value("scan/recursive", "true")).lower() in ("true", "1")

    @recursive.setter
    def recursive(self, value: bool) -> None:
        self._store.setValue("scan/recursive", "true" if value else "false")

    def sync(self) -> None:
        self._store.sync()
