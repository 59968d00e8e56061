"""Polls one run directory's ``metrics.jsonl`` and hands the new events to the page (a run started
here, from a terminal, or on another machine writing to a shared disk all look the same)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.run_follow import MetricsReader, RunHistory
from spec.metrics import METRICS_FILE

POLL_MS = 250
SLICE_BYTES = 256 * 1024  # ~1,000 lines (~60 ms): a long file is caught up in slices, the GUI stays live


class MetricsFollower(QObject):
    events_read = Signal(set)  # the event kinds just folded into `history`
    problem_found = Signal(str)  # one skipped line, with its number and reason

    def __init__(self, run_dir: str | Path, parent: QObject | None = None, poll_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.history = RunHistory()
        self.problems: list[str] = []
        self._reader = MetricsReader(self.run_dir / METRICS_FILE)
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def poll(self) -> None:
        try:
            events, problems = self._reader.read_new(SLICE_BYTES)
        except OSError as exc:  # unreadable share, permissions: say so once per poll, keep trying
            self.problem_found.emit(f"cannot read {self._reader.path}: {exc.strerror or exc}")
            return
        for problem in problems:
            self.problems.append(str(problem))
            self.problem_found.emit(str(problem))
        if events:
            self.events_read.emit(self.history.apply(events))
        if self._reader.behind and self._timer.isActive():
            QTimer.singleShot(0, self, self.poll)
