"""Turning a drop (or a file dialog) into the list of local paths to scan."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData


def local_paths(mime: QMimeData | None) -> list[str]:
    """Local files and folders in a drop, in order, without duplicates; remote URLs are ignored."""
    if mime is None or not mime.hasUrls():
        return []
    seen: dict[str, None] = {}
    for url in mime.urls():
        if url.isLocalFile():
            path = url.toLocalFile()
            if path:
                seen[str(Path(path))] = None
    return list(seen)


def split_existing(paths: list[str]) -> tuple[list[str], list[str]]:
    existing = [p for p in paths if Path(p).exists()]
    missing = [p for p in paths if not Path(p).exists()]
    return existing, missing
