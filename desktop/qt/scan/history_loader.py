"""Reads a stored scan (record + rows) off the GUI thread: 100k rows from SQLite take a second or two."""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop.qt.scan import engine_adapter


class _Relay(QObject):
    loaded = Signal(int, object, list, bool)  # scan id, ScanRecord | None, rows, resume afterwards
    failed = Signal(int, str)


class _LoadTask(QRunnable):
    def __init__(self, relay: _Relay, scan_id: int, resume: bool) -> None:
        super().__init__()
        self._relay, self._scan_id, self._resume = relay, scan_id, resume

    def run(self) -> None:
        with contextlib.suppress(RuntimeError):  # loader deleted at shutdown
            try:
                record, rows = engine_adapter.load_scan(self._scan_id)
            except Exception as exc:
                self._relay.failed.emit(self._scan_id, str(exc) or type(exc).__name__)
                return
            self._relay.loaded.emit(self._scan_id, record, rows, self._resume)


class HistoryLoader(QObject):
    loaded = Signal(int, object, list, bool)
    failed = Signal(int, str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.loaded.connect(self.loaded)
        self._relay.failed.connect(self.failed)

    def load(self, scan_id: int, resume: bool = False) -> None:
        self._pool.start(_LoadTask(self._relay, scan_id, resume))

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone()
