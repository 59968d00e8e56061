"""What the user can do with result rows: open, reveal, copy paths, copy/move flagged (with undo), export.

File operations go through the engine (`desktop.core.scan.actions`, `desktop.core.scan.export`); this class only
asks the questions and reports the outcome. The dialog functions are attributes so tests can answer them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from desktop.qt.scan import engine_adapter


def _ask_folder(parent: QWidget, title: str) -> str | None:
    return QFileDialog.getExistingDirectory(parent, title) or None


def _ask_save_path(parent: QWidget, title: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(
        parent, title, "pixelpatrol-results.csv", "CSV (*.csv);;JSON (*.json);;JSON lines (*.jsonl)"
    )
    return path or None


def _confirm(parent: QWidget, title: str, text: str) -> bool:
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


class FileActionsController(QObject):
    message = Signal(str, str)  # text, level ("info" | "warning" | "error")
    paths_moved = Signal(dict)  # old path -> new path after a move or an undo
    undo_available = Signal(bool)

    def __init__(self, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self._parent = parent_widget
        self.ask_folder: Callable[[QWidget, str], str | None] = _ask_folder
        self.ask_save_path: Callable[[QWidget, str], str | None] = _ask_save_path
        self.confirm: Callable[[QWidget, str, str], bool] = _confirm
        self.last_log: Path | None = None

    # --- one or many rows ----------------------------------------------------------------------
    def open_paths(self, paths: Sequence[str]) -> None:
        for path in paths[:20]:  # never launch hundreds of viewers by accident
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def reveal(self, path: str) -> None:
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])
        elif sys.platform == "win32":
            subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))

    def copy_paths(self, paths: Sequence[str]) -> None:
        QGuiApplication.clipboard().setText("\n".join(paths))
        self.message.emit(
            f"Copied {len(paths):,} path{'s' if len(paths) != 1 else ''} to the clipboard", "info"
        )

    # --- copy / move flagged ---------------------------------------------------------------------
    def transfer(self, paths: Sequence[str], move: bool) -> Path | None:
        """Copy or move `paths` to a folder the user picks; returns the log that undo replays."""
        verb = "Move" if move else "Copy"
        if not paths:
            self.message.emit(
                f"Nothing to {verb.lower()}: no flagged images are selected or shown", "warning"
            )
            return None
        target = self.ask_folder(self._parent, f"{verb} {len(paths):,} flagged images to…")
        if not target:
            return None
        text = (
            f"{verb} {len(paths):,} image{'s' if len(paths) != 1 else ''} to\n{target}?\n\n"
            "Files already there are never overwritten (a new name is used). "
            + ("You can undo the move afterwards." if move else "")
        )
        if not self.confirm(self._parent, f"{verb} flagged images", text):
            return None
        try:
            result = engine_adapter.transfer_files(paths, target, move=move)
        except Exception as exc:
            self.message.emit(f"{verb} failed: {exc}", "error")
            return None
        done, failed = result.done, result.failed
        if move:
            self.last_log = result.log_path
            self.undo_available.emit(result.log_path is not None)
            self.paths_moved.emit(result.moved)
        level = "warning" if failed else "info"
        extra = (
            f"; {len(failed)} could not be {'moved' if move else 'copied'} ({failed[0]})" if failed else ""
        )
        self.message.emit(
            f"{'Moved' if move else 'Copied'} {done:,} image{'s' if done != 1 else ''} to "
            f"{target}{extra}. Log: {result.log_path}",
            level,
        )
        return result.log_path

    def undo_last_move(self) -> None:
        if self.last_log is None:
            return
        try:
            restored, failed, moved_back = engine_adapter.undo_transfer(self.last_log)
        except Exception as exc:
            self.message.emit(f"Undo failed: {exc}", "error")
            return
        self.last_log = None
        self.undo_available.emit(False)
        self.paths_moved.emit(moved_back)
        extra = f"; {len(failed)} could not be put back ({failed[0]})" if failed else ""
        self.message.emit(
            f"Put {restored:,} image{'s' if restored != 1 else ''} back where they were{extra}",
            "warning" if failed else "info",
        )

    # --- export --------------------------------------------------------------------------------
    def export(self, rows: Sequence[Any], verdicts: Sequence[str]) -> Path | None:
        if not rows:
            self.message.emit("Nothing to export yet", "warning")
            return None
        target = self.ask_save_path(self._parent, f"Export {len(rows):,} rows")
        if not target:
            return None
        try:
            path = engine_adapter.export_rows(rows, verdicts, Path(target))
        except Exception as exc:
            self.message.emit(f"Export failed: {exc}", "error")
            return None
        self.message.emit(f"Exported {len(rows):,} rows to {path}", "info")
        return path
