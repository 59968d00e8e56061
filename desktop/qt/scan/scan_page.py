"""The Scan area: drop or open images, watch the scan, read and act on the results.

Assembles the widgets and runs the scan queue; scanning itself is the engine's (via ScanWorker).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from desktop.qt.common.settings import AppSettings
from desktop.qt.common.status_banner import StatusBannerWidget
from desktop.qt.models.model_service import AUTO, AUTO_LABEL, ModelChoice, ModelService
from desktop.qt.scan import engine_adapter
from desktop.qt.scan.detail.detail_pane import DetailPaneWidget
from desktop.qt.scan.detail.image_viewer import ImageViewerDialog
from desktop.qt.scan.drop_overlay import DropOverlayWidget
from desktop.qt.scan.drop_paths import local_paths, split_existing
from desktop.qt.scan.empty_state import EmptyStateWidget
from desktop.qt.scan.file_actions import FileActionsController
from desktop.qt.scan.history_dialog import HistoryDialog
from desktop.qt.scan.history_loader import HistoryLoader
from desktop.qt.scan.results.results_model import ROW_ROLE
from desktop.qt.scan.results.results_panel import ResultsPanelWidget
from desktop.qt.scan.scan_controls import ScanProgressWidget, ScanToolbarWidget
from desktop.qt.scan.scan_worker import ScanRequest, ScanWorker
from desktop.qt.scan.thumbnails import ThumbnailLoader
from spec.images import SCAN_EXTENSIONS


class ScanPage(QWidget):
    scan_finished = Signal(object)  # ScanFinished, after the rows are in the table
    scan_failed = Signal(str)
    history_loaded = Signal(int)  # scan id whose rows are now shown
    status_message = Signal(str)  # short line for the window's status bar

    def __init__(self, settings: AppSettings, models: ModelService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.settings = settings
        self.models = models
        self.loader = ThumbnailLoader(self)
        self.worker = ScanWorker(models.cache.get, self)
        self.queue: list[ScanRequest] = []
        self._contract_thresholds: Any = None
        self._detector: Any = None  # the loaded Detector or Router of the rows on screen
        self._rows_model = ""  # model path of the rows on screen (for relabelling)
        self._showing_results = False
        # Scans asked for before the model list arrived (`pixelpatrol FOLDER`, an early drop): run once it does.
        self._models_listed = False
        self._waiting: list[tuple[list[str], int | None]] = []
        self._last_paths: list[str] = []  # what the rows on screen scanned (for "Rescan with the new model")
        self.results_stale = False  # the rows on screen were scored by another model than the chosen one
        self.skipped: Any = None  # desktop.core.scan.walk.Skipped of the scans on screen

        layout = QVBoxLayout(self)
        self.toolbar = ScanToolbarWidget()
        self.toolbar.recursive_check.setChecked(settings.recursive)
        layout.addWidget(self.toolbar)
        self.banner = StatusBannerWidget()
        layout.addWidget(self.banner)
        self.trust_label = QLabel("")
        self.trust_label.setWordWrap(True)
        self.trust_label.setObjectName("trustLabel")
        self.trust_label.setToolTip("How far the verdicts can be trusted: each model's accuracy measured on images "
                                    "it never trained on (from its model card). 'likely' verdicts are not proof.")
        layout.addWidget(self.trust_label)
        self.progress = ScanProgressWidget()
        self.progress.hide()
        layout.addWidget(self.progress)

        self.stack = QStackedWidget()
        self.empty_state = EmptyStateWidget()
        self.empty_state.set_recent(settings.recent_folders)
        self.stack.addWidget(self.empty_state)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.results = ResultsPanelWidget(self.loader)
        self.detail = DetailPaneWidget(self.loader)
        self.detail.evidence_view.setAcceptDrops(False)
        self.splitter.addWidget(self.results)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.stack.addWidget(self.splitter)
        layout.addWidget(self.stack, 1)
        self.file_actions = FileActionsController(self)
        self.history = HistoryLoader(self)
        self.history.loaded.connect(self._on_history_loaded)
        self.history.failed.connect(self._on_history_failed)
        self.drop_overlay = DropOverlayWidget(self)
        self._connect()

    def _connect(self) -> None:
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

    # --- models --------------------------------------------------------------------------------
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

    def _run_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        if not self.toolbar.current_model():
            self.progress.hide()
            self.banner.show_message(
                "Nothing was scanned: no usable detector model was found. Import one in the Models tab.", "error"
            )
            return
        for paths, resume_scan_id in waiting:  # the first starts, the others queue behind it
            self.start_scan(paths, resume_scan_id)

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

    def _update_stale(self) -> None:
        """Rows scored by another model than the chosen one are stale: say so and offer to rescan."""
        chosen = self.toolbar.current_model()
        stale = bool(
            chosen and self._rows_model and chosen != self._rows_model and self._last_paths
            and self.results.model.rowCount() and not self.worker.busy
        )
        was, self.results_stale = self.results_stale, stale
        if stale:
            self.banner.show_message(
                f"These results were scored by {self.toolbar.label_for(self._rows_model)}; the model is now "
                f"{self.toolbar.label_for(chosen)}. Rescan to see its verdicts (with its own thresholds).",
                "warning",
                action=("Rescan with this model", self._on_banner_rescan_clicked),
            )
        elif was:
            self.banner.clear()

    def _on_banner_rescan_clicked(self) -> None:
        self.rescan()

    def rescan(self) -> bool:
        """Scan what the rows on screen scanned again, with the chosen model."""
        return bool(self._last_paths) and self.start_scan(list(self._last_paths))

    def _on_models_detector_ready(self, ref: str, detector: Any) -> None:
        if ref == self.toolbar.current_model():
            self.toolbar.set_device(detector.device.upper(), detector.device_reason)
        if not self._rows_model or ref == self._rows_model:
            self._rows_model = ref
            from desktop.core.models.routing import (  # onnxruntime: imported lazily
                trust_for_row,
                trust_summary,
            )

            self._detector = detector
            self._contract_thresholds = detector.thresholds
            self.detail.set_trust_lookup(lambda row: trust_for_row(detector, row.model, row.width, row.height))
            self.trust_label.setText(trust_summary(detector))
            default = detector.thresholds.decision
            saved = self.settings.threshold_for(ref)  # another model's threshold never carries over
            self.results.filter_bar.set_threshold(saved if saved is not None else default, default=default)
            self._apply_threshold()

    def _on_models_detector_failed(self, ref: str, reason: str) -> None:
        if ref == self.toolbar.current_model() or not ref:
            self.toolbar.set_device("—", "model not loaded")
            self.banner.show_message(f"The model cannot be used: {reason}", "error")

    # --- threshold -----------------------------------------------------------------------------
    def _on_threshold_changed(self, value: float) -> None:
        self.settings.threshold = value
        self.settings.threshold_model = self._rows_model
        self._apply_threshold()

    def _apply_threshold(self) -> None:
        from desktop.core.models.contract import remap_thresholds, verdict_for

        thresholds = self._contract_thresholds
        value = self.results.filter_bar.threshold()
        if thresholds is None:
            self.results.set_labeller(None, value)
            return
        remapped = remap_thresholds(thresholds, value)  # once, not per row
        detector = self._detector
        if detector is None:
            self.results.set_labeller(lambda row: verdict_for(float(row.score), remapped), value,
                                      lambda s: verdict_for(s, remapped))
        else:
            from desktop.core.scan.verdicts import relabel

            self.results.set_labeller(
                lambda row: relabel(detector, float(row.score), row.model, row.width, row.height, row.reason,
                                    row.evidence, value)[0], value, lambda s: verdict_for(s, remapped))
        self.detail.set_verdict(self._current_verdict())

    def _current_verdict(self) -> str:
        selected = self.results.selected_rows()
        return selected[0][1] if selected else ""

    # --- starting scans ------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Scan a folder")
        if folder:
            self.start_scan([folder])

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Scan images",
            "",
            f"Images ({' '.join('*' + ext for ext in sorted(SCAN_EXTENSIONS))});;All files (*)",
        )
        if files:
            self.start_scan(files)

    def scan_demo(self) -> None:
        from desktop.core.paths import demo_dir

        self.start_scan([str(demo_dir())])

    def start_scan(self, paths: list[str], resume_scan_id: int | None = None) -> bool:
        existing, missing = split_existing([os.path.abspath(p) for p in paths])
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            self.banner.show_message(f"Not found, skipped: {shown}", "error")
        if not existing:
            return False
        model = self.toolbar.current_model()
        if not model and not self._models_listed:  # started before the model list arrived: run it then
            self._waiting.append((existing, resume_scan_id))
            self.stack.setCurrentWidget(self.splitter)
            self.progress.begin("Loading the models…")
            self.progress.show()
            self.status_message.emit(f"Loading the models; {len(existing)} item(s) will be scanned next")
            return True
        if not model:
            self.banner.show_message(
                "Choose a detector model first (none is installed or loaded yet).", "error"
            )
            return False
        if not missing:
            self.banner.clear()
        # the slider is the rows' model's; another model starts at its own (or its remembered) threshold
        same = model == self._rows_model and self._contract_thresholds is not None
        request = ScanRequest(
            existing,
            model,
            self.toolbar.recursive_check.isChecked(),
            self.results.filter_bar.threshold() if same else self.settings.threshold_for(model),
            resume_scan_id,
        )
        self.settings.add_recent([p for p in existing if Path(p).is_dir()] or existing[:1])
        if self.worker.busy:
            self.queue.append(request)
            self.status_message.emit(f"Queued {len(existing)} item(s); {len(self.queue)} scan(s) waiting")
            return True
        self._start(request, fresh=True)
        return True

    def _start(self, request: ScanRequest, fresh: bool) -> None:
        if fresh:  # a scan started while idle shows only its own rows; queued scans add to them
            self.results.model.clear()
            self.detail.show_row(None, "")
            self._last_paths = list(request.paths)
            self.skipped = None
            self.results.set_skipped("")
        else:
            self._last_paths += [p for p in request.paths if p not in self._last_paths]
        if self.results_stale:
            self.results_stale = False
            self.banner.clear()
        if request.model != self._rows_model:
            self._rows_model = request.model
            # the engine's own verdicts until the new model's thresholds arrive, never the old model's
            self._contract_thresholds = self._detector = None
            self._apply_threshold()
            self.models.prepare(request.model)  # thresholds for relabelling come with it
        self.stack.setCurrentWidget(self.splitter)
        self.progress.begin("Starting…")
        self.progress.show()
        self.worker.start(request)

    def cancel_scan(self) -> None:
        self.queue.clear()
        if self.worker.busy:
            self.progress.set_cancelling()
            self.worker.cancel()

    def _on_worker_started(self, event: Any) -> None:
        self.toolbar.set_device(event.device.upper(), event.device_reason)
        self.status_message.emit(f"Scanning with {event.model_name}")

    def _on_worker_skipped_counted(self, skipped: Any) -> None:
        # a queued scan adds its rows, and what it skipped, to the last one's
        self.skipped = skipped if self.skipped is None else self.skipped.merged(skipped)
        details = self.skipped.details()
        if self.skipped.hidden:
            details += "\n(hidden: names starting with a dot, or marked hidden; they are not scanned)"
        self.results.set_skipped(self.skipped.text(), details)

    def _on_worker_finished(self, event: Any) -> None:
        self.results.model.resort()
        self.results.refresh_summary()
        state = "Cancelled" if event.cancelled else "Finished"
        errors = f", {event.errors:,} could not be read (see the Error column)" if event.errors else ""
        skipped = self.skipped.text() if self.skipped is not None and not event.cancelled else ""
        self.status_message.emit(f"{state}: {event.done:,} files{errors}" + (f"; {skipped}" if skipped else ""))
        self._next_or_idle()
        self._update_stale()  # the model was changed while the scan ran
        self.scan_finished.emit(event)

    def _on_worker_failed(self, reason: str) -> None:
        self.banner.show_message(f"The scan could not run: {reason}", "error")
        self._next_or_idle()
        self.scan_failed.emit(reason)

    def _next_or_idle(self) -> None:
        if self.queue:
            self._start(self.queue.pop(0), fresh=False)
            return
        self.progress.hide()
        if self.results.model.rowCount() == 0 and not self.worker.busy:
            self.stack.setCurrentWidget(self.empty_state)
            self.empty_state.set_recent(self.settings.recent_folders)

    # --- history -------------------------------------------------------------------------------
    def show_history(self) -> None:
        dialog = HistoryDialog(self)
        dialog.reopen_requested.connect(self.open_scan)
        dialog.resume_requested.connect(self.resume_scan)
        dialog.open()

    def open_scan(self, scan_id: int, resume: bool = False) -> bool:
        """Show a stored scan's rows (read in the background); `resume` continues it afterwards."""
        if self.worker.busy:
            self.banner.show_message(
                "Wait for the running scan to end (or cancel it) before opening another.", "warning"
            )
            return False
        self.status_message.emit(f"Opening scan {scan_id}…")
        self.history.load(scan_id, resume)
        return True

    def resume_scan(self, scan_id: int) -> bool:
        return self.open_scan(scan_id, resume=True)

    def _on_history_loaded(self, scan_id: int, record: Any, rows: list[Any], resume: bool) -> None:
        if record is None:
            self.banner.show_message(f"Scan {scan_id} is no longer in the history.", "error")
            return
        if self.worker.busy:  # a scan was started while the rows were being read
            return
        self.results.model.clear()
        self.detail.show_row(None, "")
        self.results.model.append_rows(rows)
        self.stack.setCurrentWidget(self.splitter)
        if record.model_path and record.model_path != self._rows_model:
            self._rows_model, self._contract_thresholds, self._detector = record.model_path, None, None
            self.models.prepare(record.model_path)
        self._last_paths = list(record.paths)
        self._apply_threshold()
        self._update_stale()
        self.status_message.emit(f"Opened scan {scan_id}: {len(rows):,} rows ({record.status})")
        self.history_loaded.emit(scan_id)
        if resume:
            recursive = bool(record.options.get("recursive", True))
            threshold = self.results.filter_bar.threshold()
            self._start(
                ScanRequest(list(record.paths), record.model_path, recursive, threshold, scan_id), fresh=False
            )

    def _on_history_failed(self, scan_id: int, reason: str) -> None:
        self.banner.show_message(f"Scan {scan_id} could not be read from the history: {reason}", "error")

    def offer_resume(self) -> None:
        """At startup: a scan cut off by a crash or kill offers to continue."""
        try:
            interrupted = [r for r in engine_adapter.list_scans() if r.status == "interrupted"]
        except Exception:
            return
        if interrupted:
            r = interrupted[0]
            where = r.paths[0] if r.paths else "?"
            self.banner.show_message(
                f"A scan of {where} was cut off after {r.done:,} files.",
                "warning",
                action=("Resume", lambda: self._resume_quietly(r.id)),
            )

    def _on_file_actions_paths_moved(self, moved: dict[str, str]) -> None:
        self.results.model.replace_paths(moved)
        self.results.refresh_summary()

    def _on_detail_reveal_requested(self) -> None:
        if self.detail.row is not None:
            self.file_actions.reveal(self.detail.row.path)

    def _resume_quietly(self, scan_id: int) -> None:
        self.resume_scan(scan_id)

    # --- actions -------------------------------------------------------------------------------
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

        self.loader.image_ready.connect(on_image)
        viewer.destroyed.connect(lambda: self.loader.image_ready.disconnect(on_image))
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

    def shutdown(self) -> None:
        self.cancel_scan()
        self.worker.wait()
        self.loader.shutdown()
        self.detail.shutdown()
        self.history.shutdown()
