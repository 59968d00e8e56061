"""The Scan page and the scan history: reopen a stored scan's rows, resume one, offer to resume at startup.

A layer of the Scan page (scan_layout -> scan_thresholds -> scan_runs -> scan_history -> scan_page). The
rows are read in the background (HistoryLoader); reopened rows take their own model's thresholds, and a
resumed scan continues with the rows of the stored one on screen.
"""

from __future__ import annotations

from typing import Any

from desktop.qt.scan import engine_adapter
from desktop.qt.scan.history_dialog import HistoryDialog
from desktop.qt.scan.scan_runs import ScanPageRuns
from desktop.qt.scan.scan_worker import ScanRequest


class ScanPageHistory(ScanPageRuns):
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
            threshold = self.results.filter_bar.user_threshold()
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

    def _resume_quietly(self, scan_id: int) -> None:
        self.resume_scan(scan_id)
