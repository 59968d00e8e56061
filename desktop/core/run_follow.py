"""Following a training run's ``metrics.jsonl`` as it grows (the protocol in ``spec/metrics.py``).

Qt-free. :class:`MetricsReader` reads only the bytes added since the last call, keeps a partial
last line until its newline arrives, and reports lines that are not protocol events instead of
stopping. :class:`RunHistory` folds events into per-metric series whose arrays grow by doubling,
so a live plot can hand numpy views to its curves without copying every point.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spec.metrics import EVENTS, PROTOCOL_VERSION, STOP_FILE

MAX_LINE = 1 << 20  # a "line" longer than this without a newline is not the protocol


@dataclass(frozen=True)
class LineProblem:
    """A line of the metrics file that was skipped, and why."""

    line_number: int
    reason: str

    def __str__(self) -> str:
        return f"metrics.jsonl line {self.line_number}: {self.reason}"


def parse_line(text: str) -> dict[str, Any]:
    """One protocol event from one line; ValueError says why the line is not one."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"not a JSON object but {type(record).__name__}")
    event = record.get("event")
    if not isinstance(event, str):
        raise ValueError("no 'event' field")
    version = record.get("v")
    if version != PROTOCOL_VERSION:
        raise ValueError(f"protocol version {version!r} (this app reads version {PROTOCOL_VERSION})")
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    return record


class MetricsReader:
    """Incremental reader of one ``metrics.jsonl`` (the file may not exist yet, or be replaced)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self._line_number = 0
        self._identity: tuple[int, int] | None = None
        self.behind = False

    def read_new(self, max_bytes: int = -1) -> tuple[list[dict[str, Any]], list[LineProblem]]:
        """Events completed since the last call, and the lines skipped among them.

        ``max_bytes`` bounds one call's work (a GUI catching up with a long file reads it in slices);
        ``behind`` then says whether more is waiting.
        """
        try:
            with self.path.open("rb") as fh:
                stat = Path(fh.name).stat()
                identity = (stat.st_dev, stat.st_ino)
                if self._identity is not None and (identity != self._identity or stat.st_size < self._offset):
                    self._reset()  # the file was replaced or truncated: start over
                self._identity = identity
                fh.seek(self._offset)
                chunk = fh.read(max_bytes)
                self.behind = 0 < max_bytes <= len(chunk) and stat.st_size > self._offset + len(chunk)
        except FileNotFoundError:
            return [], []
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # b"" when the chunk ended on a newline
        events: list[dict[str, Any]] = []
        problems: list[LineProblem] = []
        if len(self._partial) > MAX_LINE:
            self._line_number += 1
            problems.append(LineProblem(self._line_number, f"longer than {MAX_LINE} bytes without a newline"))
            self._partial = b""
        for raw in lines:
            self._line_number += 1
            if not raw.strip():
                continue
            try:
                events.append(parse_line(raw.decode("utf-8")))
            except UnicodeDecodeError:
                problems.append(LineProblem(self._line_number, "not UTF-8 text"))
            except ValueError as exc:
                problems.append(LineProblem(self._line_number, str(exc)))
        return events, problems

    def _reset(self) -> None:
        self._offset, self._partial, self._line_number = 0, b"", 0

    @property
    def waiting_partial(self) -> bool:
        """True while a last line without its newline is held back."""
        return bool(self._partial)


class GrowingSeries:
    """x/y float arrays that double their capacity when full; ``x``/``y`` are views of the filled part."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, np.float64)
        self._y = np.empty(capacity, np.float64)
        self.size = 0

    def append(self, x: float, y: float) -> None:
        if self.size == len(self._x):
            self._x = np.resize(self._x, 2 * len(self._x))
            self._y = np.resize(self._y, 2 * len(self._y))
        self._x[self.size] = x
        self._y[self.size] = y
        self.size += 1

    def truncate_after(self, x: float) -> None:
        """Drop points with x beyond ``x`` (a resumed run repeats what came after its checkpoint)."""
        self.size = int(np.searchsorted(self._x[: self.size], x, side="right"))

    @property
    def capacity(self) -> int:
        return len(self._x)

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]


@dataclass
class Progress:
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0
    started_at: float | None = None  # protocol time of the latest run_start
    latest_at: float | None = None
    start_position: float = 0.0  # epochs done when the latest session started

    @property
    def position(self) -> float:
        """Epochs done, fractional."""
        return (self.epoch - 1) + (self.step / self.steps if self.steps else 1.0) if self.epoch else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.started_at is None or self.latest_at is None or not self.epochs:
            return None
        done = self.position - self.start_position
        elapsed = self.latest_at - self.started_at
        if done <= 0 or elapsed <= 0:
            return None
        return max(0.0, (self.epochs - self.position) * elapsed / done)


@dataclass
class RunHistory:
    """Everything the app shows about one run, folded from its events."""

    batch: dict[str, GrowingSeries] = field(default_factory=dict)  # per-batch metrics, x = epochs done
    epoch: dict[str, GrowingSeries] = field(default_factory=dict)  # epoch_end metrics, x = epoch
    progress: Progress = field(default_factory=Progress)
    recipe: str = ""
    images: list[tuple[int, str, str]] = field(default_factory=list)  # (epoch, relative path, caption)
    evaluation: dict[str, Any] | None = None
    exports: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    status: str = "waiting"  # waiting | running | completed | stopped | failed | ...
    events_seen: int = 0

    def apply(self, events: list[dict[str, Any]]) -> set[str]:
        """Fold events in; returns the names of the event kinds seen (what a view must refresh)."""
        kinds: set[str] = set()
        for ev in events:
            self.events_seen += 1
            kind = str(ev["event"])
            kinds.add(kind)
            getattr(self, f"_on_{kind}")(ev)
        return kinds

    def _on_run_start(self, ev: dict[str, Any]) -> None:
        self.recipe = str(ev.get("recipe", self.recipe))
        self.status = "running"
        initial = _number(ev.get("initial_epoch")) or 0.0
        if ev.get("resumed"):
            for series in (*self.batch.values(), *self.epoch.values()):
                series.truncate_after(initial)
        p = self.progress
        p.epochs = int(_number(ev.get("epochs")) or p.epochs)
        # A resume of a run whose epochs are all done only evaluates and exports: stay at the last epoch.
        next_epoch = int(initial) + 1 if not p.epochs or initial < p.epochs else p.epochs
        p.epoch, p.step, p.steps = next_epoch, 0, int(_number(ev.get("steps_per_epoch")) or 0)
        p.started_at = p.latest_at = _number(ev.get("time"))
        p.start_position = initial

    def _on_batch(self, ev: dict[str, Any]) -> None:
        p = self.progress
        p.epoch = int(_number(ev.get("epoch")) or p.epoch)
        p.step = int(_number(ev.get("step")) or 0)
        p.steps = int(_number(ev.get("steps")) or p.steps)
        p.latest_at = _number(ev.get("time")) or p.latest_at
        _add(self.batch, p.position, ev.get("metrics"))

    def _on_epoch_end(self, ev: dict[str, Any]) -> None:
        p = self.progress
        p.epoch = int(_number(ev.get("epoch")) or p.epoch)
        p.epochs = int(_number(ev.get("epochs")) or p.epochs)
        p.step = p.steps
        p.latest_at = _number(ev.get("time")) or p.latest_at
        _add(self.epoch, float(p.epoch), ev.get("metrics"))

    def _on_images(self, ev: dict[str, Any]) -> None:
        self.images.append((int(_number(ev.get("epoch")) or 0), str(ev.get("path", "")), str(ev.get("caption", ""))))

    def _on_evaluation(self, ev: dict[str, Any]) -> None:
        self.evaluation = ev

    def _on_export(self, ev: dict[str, Any]) -> None:
        self.exports.append(ev)

    def _on_error(self, ev: dict[str, Any]) -> None:
        self.errors.append(str(ev.get("message", "error")))

    def _on_finish(self, ev: dict[str, Any]) -> None:
        self.status = str(ev.get("status", "finished"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _add(table: dict[str, GrowingSeries], x: float, metrics: Any) -> None:
    if not isinstance(metrics, dict):
        return
    for name, value in metrics.items():
        y = _number(value)
        if y is not None:
            table.setdefault(str(name), GrowingSeries()).append(x, y)


def request_stop(run_dir: str | Path) -> Path:
    """Ask a running trainer to stop after its current batch (it checks for this file)."""
    path = Path(run_dir) / STOP_FILE
    path.write_text("stop requested by PixelPatrol\n", encoding="utf-8")
    return path


def read_history(path: str | Path) -> tuple[RunHistory, list[LineProblem]]:
    """A whole metrics file at once (finished runs, comparisons)."""
    reader = MetricsReader(path)
    history = RunHistory()
    events, problems = reader.read_new()
    history.apply(events)
    return history, problems
