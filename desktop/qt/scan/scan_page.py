"""The Scan area: drop or open images, watch the scan, read and act on the results.

ScanPage is the top of the page's layers, each in its own module: scan_layout (the widgets and the state
they share) -> scan_thresholds (the rows' model: thresholds, slider, relabelling) -> scan_runs (starting
scans, the queue, the worker's events) -> scan_history (reopen, resume) -> here: the signal wiring, the
model list, what is done with rows (open, reveal, full size, export), drops and shutdown. Scanning itself
is the engine's (via ScanWorker).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

from desktop.qt.common.settings import AppSettings
from desktop.qt.models.model_service import AUTO, AUTO_LABEL, ModelChoice, ModelService
from desktop.qt.scan.detail.image_viewer import ImageViewerDialog
from desktop.qt.scan.drop_paths import local_paths
from desktop.qt.scan.results.results_model import ROW_ROLE
from desktop.qt.scan.scan_history import ScanPageHistory


class ScanPage(ScanPageHistory):
    def __init__(self, settings: AppSettings, models: ModelService, parent: QWidget | None = None) -> None:
        super().__init__(settings, models, parent)
        self._connect()

    def _connect(self) -> None:
        self.history.loaded.connect(self._on_history_loaded)
        self.history.failed.connect(self._on_history_failed)
        tb, es, res, det, w = self.toolbar, self.empty_state, self.results, self.detail, self.worker
        tb.open_folder_requested.connect(self.choose_folder)
        tb.history_requested.connect(self.show_history)
        tb.model_chosen.connect(self._on_toolbar_model_chosen)
        tb.recursive_check.toggled.connect(lambda on: setattr(self.settings, "recursive", on))
        es.open_folder_requested.connect(self.choose_folder)
        es.open_files_requested.connect(self.choose_files)
        es.demo_requested.connect(self.scan_demo)
        es.recent_requested.connect(lambda p: self.start_scan([p]))
        self.progress.pause_requested.connect(w.pause)
        self.progress.resume_requested.connect(w.resume)
        self.progress.cancel_requested.connect(self.cancel_scan)
        w.started.connect(self._on_worker_started)
        w.total_counted.connect(self.progress.set_total)
        w.rows_ready.connect(res.model.append_rows)
        w.progress_changed.connect(
            lambda p: self.progress.set_progress(p.done, p.total, p.rate_per_s, p.eta_s)
        )
        w.paused_changed.connect(self.progress.set_paused)
        w.skipped_counted.connect(self._on_worker_skipped_counted)
        w.finished.connect(self._on_worker_finished)
        w.failed.connect(self._on_worker_failed)
        res.filter_bar.threshold_changed.connect(self._on_threshold_changed)
        res.current_row_changed.connect(det.show_row)
        res.copy_flagged_button.clicked.connect(
            lambda: self.file_actions.transfer(res.flagged_paths(), move=False)
        )
        res.move_flagged_button.clicked.connect(
            lambda: self.file_actions.transfer(res.flagged_paths(), move=True)
        )
        res.undo_button.clicked.connect(self.file_actions.undo_last_move)
        res.export_button.clicked.connect(self._on_export_clicked)
        det.open_requested.connect(lambda: self.file_actions.open_paths(self._selected_paths()))
        det.reveal_requested.connect(self._on_detail_reveal_requested)
        det.copy_path_requested.connect(lambda: self.file_actions.copy_paths(self._selected_paths()))
        det.full_size_requested.connect(lambda: self.show_full_size(self.detail.row))
        res.table.doubleClicked.connect(lambda index: self.show_full_size(index.data(ROW_ROLE)))
        res.grid.doubleClicked.connect(lambda index: self.show_full_size(index.data(ROW_ROLE)))
        self.file_actions.message.connect(self._on_actions_message)
        self.file_actions.undo_available.connect(res.undo_button.setEnabled)
        self.file_actions.paths_moved.connect(self._on_file_actions_paths_moved)
        self.models.detector_ready.connect(self._on_models_detector_ready)
        self.models.detector_failed.connect(self._on_models_detector_failed)

    # --- the model list ------------------------------------------------------------------------
    def set_model_choices(self, choices: list[ModelChoice]) -> None:
        # Detectors only (and broken files, with why): generators and classifiers are for the Gallery tab.
        entries: list[tuple[str, str, str | None, str]] = [
            (c.label, c.path, c.error, c.summary) for c in choices if c.error or c.kind == "detector"
        ]
        if any(e[2] is None for e in entries):
            entries.insert(0, (AUTO_LABEL, AUTO, None, "Each image goes to the detector made for images like it"))
        self.toolbar.set_models(entries, self.settings.model or AUTO)
        if not any(e[2] is None for e in entries):
            self.banner.show_message(
                "No usable detector model was found. Import a PixelPatrol .onnx model in the "
                "Models tab, or train one in Training: it is listed here at once.",
                "warning",
            )
        self._models_listed = True
        self._run_waiting()

    def _on_toolbar_model_chosen(self, path: str) -> None:
        if not path:
            self.toolbar.set_device("—", "no model")
            return
        self.settings.model = path
        self.toolbar.set_device("…", "loading the model")
        if not self.results.model.rowCount() and not self.worker.busy:
            self._rows_model = ""  # nothing on screen: the slider follows the chosen model at once
        self.models.prepare(path)
        self._update_stale()

    # --- actions -------------------------------------------------------------------------------
    def _on_file_actions_paths_moved(self, moved: dict[str, str]) -> None:
        self.results.model.replace_paths(moved)
        self.results.refresh_summary()

    def _on_detail_reveal_requested(self) -> None:
        if self.detail.row is not None:
            self.file_actions.reveal(self.detail.row.path)

    def _selected_paths(self) -> list[str]:
        rows = self.results.selected_rows()
        if rows:
            return [row.path for row, _ in rows]
        return [self.detail.row.path] if self.detail.row is not None else []

    def show_full_size(self, row: Any) -> ImageViewerDialog | None:
        """The row's image at full size in its own window (zoom, pan, its heatmap)."""
        if row is None or row.error:
            return None
        viewer = ImageViewerDialog(row.path, os.path.basename(row.path), getattr(row, "patch_map", None), self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def on_image(path: str, image: Any) -> None:
            if path == row.path:
                viewer.set_image(image)

        def forget() -> None:
            with contextlib.suppress(RuntimeError):  # the window went first, and its image loader with it
                self.loader.image_ready.disconnect(on_image)

        self.loader.image_ready.connect(on_image)
        viewer.destroyed.connect(forget)
        self.loader.request_image(row.path, 0)  # 0: full size
        viewer.show()
        self.viewer = viewer
        return viewer

    def _on_export_clicked(self) -> None:
        shown = self.results.shown_rows()
        self.file_actions.export([r for r, _ in shown], [v for _, v in shown])

    def _on_actions_message(self, text: str, level: str) -> None:
        if level == "info":
            self.status_message.emit(text)
        else:
            self.banner.show_message(text, level)

    # --- drops ---------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.drop_overlay.show_for(len(paths))

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_overlay.hide()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.start_scan(paths)

    # --- closing -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.cancel_scan()
        self.worker.wait()
        self.loader.shutdown()
        self.detail.shutdown()
        self.history.shutdown()
