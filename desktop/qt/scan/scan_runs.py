"""Running scans from the Scan page: choosing what to scan, the queue, the worker's events, stale results.

A layer of the Scan page (scan_layout -> scan_thresholds -> scan_runs -> scan_history -> scan_page). A scan
asked for while one runs queues behind it (and adds its rows); one asked for before the model list
arrived waits for it. Rows scored by another model than the chosen one are stale and offer a rescan.
Scanning itself is the engine's, in ScanWorker's thread.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from desktop.qt.scan.drop_paths import split_existing
from desktop.qt.scan.scan_thresholds import ScanPageThresholds
from desktop.qt.scan.scan_worker import ScanRequest
from spec.images import SCAN_EXTENSIONS


class ScanPageRuns(ScanPageThresholds):
    # --- stale results -------------------------------------------------------------------------
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
            self.results.filter_bar.user_threshold() if same else self.settings.threshold_for(model),
            resume_scan_id,
        )
        self.settings.add_recent([p for p in existing if Path(p).is_dir()] or existing[:1])
        if self.worker.busy:
            self.queue.append(request)
            self.status_message.emit(f"Queued {len(existing)} item(s); {len(self.queue)} scan(s) waiting")
            return True
        self._start(request, fresh=True)
        return True

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

    # --- the worker's events -------------------------------------------------------------------
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
