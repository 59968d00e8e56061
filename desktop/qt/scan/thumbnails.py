"""Image decoding for thumbnails and previews, off the GUI thread.

A small QThreadPool decodes to QImage (safe outside the GUI thread); the GUI thread turns it into a
QPixmap and keeps it in QPixmapCache. Newest requests run first, so the rows in view win.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap, QPixmapCache

THUMB_SIZE = 40
GRID_SIZE = 128  # the results grid's thumbnails
_KEYS = {THUMB_SIZE: "thumb:", GRID_SIZE: "grid:"}


def read_image(path: str, max_side: int) -> QImage:
    """Decode `path` scaled to fit `max_side` (0 = full size); a null QImage when it cannot be read.

    Pillow rather than QImageReader: it reads what the scanner reads (HEIC via pillow-heif too), can
    decode JPEGs at reduced size (`draft`), and says nothing on stderr about broken files (their rows do).
    """
    try:
        from PIL import Image, ImageOps

        _register_heif()
        with Image.open(path) as opened:
            opened.seek(0)
            if max_side:
                opened.draft("RGB", (max_side, max_side))
            im = ImageOps.exif_transpose(opened)
            if max_side:
                im.thumbnail((max_side, max_side))
            rgba = im.convert("RGBA")
            data = rgba.tobytes()
            return QImage(data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888).copy()
    except Exception:
        return QImage()


_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        _heif_registered = True
        with contextlib.suppress(ImportError):
            import pillow_heif

            pillow_heif.register_heif_opener()


class _Relay(QObject):
    loaded = Signal(str, int, QImage)


class _DecodeTask(QRunnable):
    def __init__(self, relay: _Relay, path: str, max_side: int) -> None:
        super().__init__()
        self._relay, self._path, self._max_side = relay, path, max_side

    def run(self) -> None:
        image = read_image(self._path, self._max_side)
        with contextlib.suppress(RuntimeError):  # the loader was deleted while this ran (window closed)
            self._relay.loaded.emit(self._path, self._max_side, image)


class ThumbnailLoader(QObject):
    """`pixmap(path)` answers from the cache or asks for a decode; `thumbnail_ready(path)` follows."""

    thumbnail_ready = Signal(str)
    image_ready = Signal(str, QImage)  # full previews (request_image)

    def __init__(self, parent: Any = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._relay = _Relay(self)
        self._relay.loaded.connect(self._on_relay_loaded)
        self._pending: set[str] = set()
        self._priority = itertools.count()
        self._failed: set[str] = set()
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), 128 * 1024))  # KiB; grid thumbnails too

    def pixmap(self, path: str, side: int = THUMB_SIZE) -> QPixmap | None:
        """The cached thumbnail (`side`: THUMB_SIZE for the table, GRID_SIZE for the grid), or None and a
        decode is queued; `thumbnail_ready(path)` follows."""
        found = QPixmap()
        if QPixmapCache.find(_KEYS[side] + path, found):
            return found
        if path in self._failed:
            return None
        key = path if side == THUMB_SIZE else f"{side}:{path}"
        if key not in self._pending:
            self._pending.add(key)
            self._start(path, side)
        return None

    def request_image(self, path: str, max_side: int) -> None:
        self._start(path, max_side)

    def _start(self, path: str, max_side: int) -> None:
        self._pool.start(_DecodeTask(self._relay, path, max_side), min(next(self._priority), 2**30))

    def _on_relay_loaded(self, path: str, max_side: int, image: QImage) -> None:
        if max_side not in _KEYS:
            self.image_ready.emit(path, image)
            return
        self._pending.discard(path if max_side == THUMB_SIZE else f"{max_side}:{path}")
        if image.isNull():
            self._failed.add(path)
        else:
            QPixmapCache.insert(_KEYS[max_side] + path, QPixmap.fromImage(image))
        self.thumbnail_ready.emit(path)

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone()
