"""Driving the real window in tests: open it, drop paths on it, wait for scans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from desktop.qt.common.settings import AppSettings
from desktop.qt.shell.main_window import MainWindow

SCAN_TIMEOUT_MS = 60_000


def open_window(qtbot: Any) -> MainWindow:
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    window.show()
    page = window.scan_page
    qtbot.waitUntil(lambda: page.toolbar.current_model() != "", timeout=20_000)
    qtbot.waitUntil(lambda: page._contract_thresholds is not None, timeout=20_000)
    return window


def drop_paths(target: QWidget, paths: list[Path]) -> QDropEvent:
    """A real drag-enter + drop with file URLs, sent to `target` (Qt passes it up to the widget taking drops)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(target.width() / 2, target.height() / 2)
    enter = QDragEnterEvent(
        pos.toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, drop)
    return drop


def table_rows(window: MainWindow) -> dict[str, tuple[Any, str]]:
    model = window.scan_page.results.model
    return {
        Path(model.row_at(r).path).name: (model.row_at(r), model.verdict_at(r))
        for r in range(model.rowCount())
    }
