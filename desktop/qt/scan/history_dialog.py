"""Past scans from the engine's store: reopen results, resume a scan that was cut off, delete."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.qt.scan import engine_adapter


def describe_scan(record: Any) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started_at))
    paths = record.paths
    what = paths[0] if len(paths) == 1 else f"{paths[0]} and {len(paths) - 1} more" if paths else "(nothing)"
    errors = f", {record.errors:,} errors" if record.errors else ""
    return f"{when} · {record.status} · {record.done:,} files{errors} · {record.model_name} · {what}"


class HistoryDialog(QDialog):
    reopen_requested = Signal(int)
    resume_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Scan history")
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Earlier scans (newest first). Results open instantly from the local database.")
        )
        self.list_widget = QListWidget()
        self.list_widget.itemDoubleClicked.connect(lambda _item: self._on_reopen())
        self.list_widget.currentItemChanged.connect(lambda *_: self._update_buttons())
        layout.addWidget(self.list_widget, 1)
        buttons = QHBoxLayout()
        self.reopen_button = QPushButton("Open results")
        self.reopen_button.clicked.connect(self._on_reopen)
        self.resume_button = QPushButton("Resume scan")
        self.resume_button.setToolTip("Continue a scan that was cut off; files already done are skipped")
        self.resume_button.clicked.connect(self._on_resume)
        self.delete_button = QPushButton("Delete from history")
        self.delete_button.clicked.connect(self._on_delete)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        for b in (self.reopen_button, self.resume_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        self.list_widget.clear()
        try:
            records = engine_adapter.list_scans()
        except Exception as exc:
            self.list_widget.addItem(f"The history could not be read: {exc}")
            records = []
        for record in records:
            item = QListWidgetItem(describe_scan(record))
            item.setData(Qt.ItemDataRole.UserRole, record)
            self.list_widget.addItem(item)
        if self.list_widget.count():
            self.list_widget.setCurrentRow(0)
        self._update_buttons()

    def _current(self) -> Any:
        item = self.list_widget.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _update_buttons(self) -> None:
        record = self._current()
        self.reopen_button.setEnabled(record is not None)
        self.delete_button.setEnabled(record is not None and record.status != "running")
        self.resume_button.setEnabled(record is not None and record.status in ("interrupted", "cancelled"))

    def _on_reopen(self) -> None:
        record = self._current()
        if record is not None:
            self.reopen_requested.emit(record.id)
            self.accept()

    def _on_resume(self) -> None:
        record = self._current()
        if record is not None:
            self.resume_requested.emit(record.id)
            self.accept()

    def _on_delete(self) -> None:
        record = self._current()
        if record is not None:
            engine_adapter.delete_scan(record.id)
            self.refresh()
