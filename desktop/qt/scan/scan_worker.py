"""Runs the engine's `scan()` generator in a QThread and forwards its events as throttled signals.

The thread only pulls events into a buffer; a 10 Hz timer on the GUI thread drains it, merging
consecutive row batches and keeping only the newest progress. So a fast model cannot flood the
event loop, and a slow one still shows each batch within 100 ms. Pause = stop pulling (the engine's
prefetch queue is bounded); cancel = `should_stop()` turns True. Never `terminate()`.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal

DRAIN_MS = 100


@dataclass(frozen=True)
class ScanRequest:
    paths: list[str]
    model: str  # name or path, resolved by the engine
    recursive: bool = True
    threshold: float | None = None
    resume_scan_id: int | None = None


class _ScanThread(QThread):
    def __init__(self, request: ScanRequest, load_detector: Callable[[str], Any], parent: QObject) -> None:
        super().__init__(parent)
        self.request = request
        self._load_detector = load_detector
        self._lock = threading.Lock()
        self._buffer: list[Any] = []
        self._running = threading.Event()
        self._running.set()
        self.holding = threading.Event()
        self.failure: str | None = None
        self.skipped: Any = None  # desktop.core.scan.walk.Skipped, counted after a scan that was not cancelled

    def take(self) -> list[Any]:
        with self._lock:
            events, self._buffer = self._buffer, []
        return events

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self.requestInterruption()
        self._running.set()  # wake a paused loop so it can see the request

    def run(self) -> None:
        from desktop.core.models.detector import first_line
        from desktop.core.scan.engine import scan
        from desktop.core.scan.events import ScanOptions
        from desktop.core.scan.store import ResultStore

        req = self.request
        store: ResultStore | None = None
        try:
            detector = self._load_detector(req.model)
            # One core is left to the window: on 2 cores, decode threads on both starved the GUI thread of
            # the GIL (stalls of 100-300 ms in benchmarks/bench_ui.py).
            workers = max(1, (os.cpu_count() or 2) - 1)
            options = ScanOptions(recursive=req.recursive, threshold=req.threshold, workers=workers)
            store = ResultStore()
            events = scan(
                req.paths,
                detector,
                options,
                store=store,
                resume_scan_id=req.resume_scan_id,
                should_stop=self.isInterruptionRequested,
            )
            for event in events:
                with self._lock:
                    self._buffer.append(event)
                if not self._running.is_set():
                    self.holding.set()  # paused: nothing more is pulled until resume or cancel
                    self._running.wait()
                    self.holding.clear()
            if not self.isInterruptionRequested():
                from desktop.core.scan.walk import skipped_files

                # a second listing (no decoding): what the scan passed over, by reason, for the summary
                self.skipped = skipped_files(req.paths, req.recursive, should_stop=self.isInterruptionRequested)
        except Exception as exc:
            self.failure = first_line(exc)
            traceback.print_exc()
        finally:
            if store is not None:
                store.close()


class ScanWorker(QObject):
    """One scan at a time; `start()` again after `finished`/`failed`."""

    started = Signal(object)  # ScanStarted
    total_counted = Signal(int)
    rows_ready = Signal(list)  # list[ScanRow]
    progress_changed = Signal(object)  # Progress
    finished = Signal(object)  # ScanFinished
    failed = Signal(str)  # could not scan at all (bad model, missing folder): one clear line
    paused_changed = Signal(bool)
    skipped_counted = Signal(object)  # desktop.core.scan.walk.Skipped, just before `finished`

    def __init__(self, load_detector: Callable[[str], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._load_detector = load_detector
        self._thread: _ScanThread | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)
        self._paused = False
        self._pending_finish: Any = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self, request: ScanRequest) -> None:
        if self._thread is not None:
            raise RuntimeError("a scan is already running")
        self._paused = False
        self._pending_finish = None
        self._thread = _ScanThread(request, self._load_detector, self)
        self._thread.finished.connect(self._on_thread_finished)
        self._thread.start()
        self._timer.start()

    def pause(self) -> None:
        if self._thread is not None and not self._paused:
            self._paused = True
            self._thread.pause()
            self.paused_changed.emit(True)

    def resume(self) -> None:
        if self._thread is not None and self._paused:
            self._paused = False
            self._thread.resume()
            self.paused_changed.emit(False)

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()
            if self._paused:
                self._paused = False
                self.paused_changed.emit(False)

    def wait(self, ms: int = 30000) -> bool:
        """Block until the thread ends (shutdown only; the GUI never waits on a running scan)."""
        thread = self._thread
        return thread.wait(ms) if thread is not None else True

    def _drain(self) -> None:
        if self._thread is None:
            return
        self._emit(self._thread.take())

    def _emit(self, events: Sequence[Any]) -> None:
        from desktop.core.scan.events import Progress, RowsReady, ScanFinished, ScanStarted, TotalCounted

        rows: list[Any] = []
        progress = None
        for event in events:
            if isinstance(event, RowsReady):
                rows.extend(event.rows)
                continue
            if rows:  # keep the order of non-row events relative to rows
                self.rows_ready.emit(rows)
                rows = []
            if isinstance(event, Progress):
                progress = event
            elif isinstance(event, ScanStarted):
                self.started.emit(event)
            elif isinstance(event, TotalCounted):
                self.total_counted.emit(event.total)
            elif isinstance(event, ScanFinished):
                if progress is not None:
                    self.progress_changed.emit(progress)
                    progress = None
                self._pending_finish = event
        if rows:
            self.rows_ready.emit(rows)
        if progress is not None:
            self.progress_changed.emit(progress)

    def _on_thread_finished(self) -> None:
        thread = self._thread
        assert thread is not None
        self._timer.stop()
        self._emit(thread.take())
        finish, failure = self._pending_finish, thread.failure
        self._thread = None
        self._paused = False
        # `finished` is emitted from the thread just before it exits; wait for the exit itself before
        # deleting the QThread, or Qt may destroy a thread that is still running.
        thread.wait(5000)
        thread.deleteLater()
        if failure is not None:
            self.failed.emit(failure)
        elif finish is not None:
            if thread.skipped is not None:
                self.skipped_counted.emit(thread.skipped)
            self.finished.emit(finish)
        else:
            self.failed.emit("the scan stopped without finishing")
