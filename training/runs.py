"""Run directories and the live metrics protocol (``metrics.jsonl``; spec/metrics.py, docs/metrics-protocol.md).

A run directory holds ``config.json``, ``metrics.jsonl`` (one JSON object per line, flushed at
once), ``state.json`` (what ``--resume`` needs), checkpoints, evaluation results, plots and the
exported ``.onnx``. :class:`Run` writes the protocol, watches for a stop request (SIGINT/SIGTERM
or a ``STOP`` file in the run directory) and draws a progress bar on a terminal's stderr. Its
``on_batch``/``on_epoch``/``on_images``/``should_stop`` methods are the hooks a training loop
calls (they match ``training.gan.train.GanHooks``).
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import IO, Any

from spec.metrics import (
    COMMON_FIELDS,
    EVENTS,
    FINISH_STATUSES,
    METRICS_FILE,
    PROTOCOL_VERSION,
    REQUIRED_FIELDS,
    STOP_FILE,
)


def validate_event(record: dict[str, Any]) -> None:
    """Raise ValueError when ``record`` is not a valid protocol event of this version."""
    missing = [f for f in COMMON_FIELDS if f not in record]
    if missing:
        raise ValueError(f"protocol event lacks {missing}: {record}")
    if record["v"] != PROTOCOL_VERSION:
        raise ValueError(f"protocol version {record['v']} != {PROTOCOL_VERSION}")
    event = record["event"]
    if event not in REQUIRED_FIELDS:
        raise ValueError(f"unknown event {event!r}")
    missing = [f for f in REQUIRED_FIELDS[event] if f not in record]
    if missing:
        raise ValueError(f"{event} event lacks {missing}")
    if (
        "metrics" in REQUIRED_FIELDS[event]
        and event != "run_start"
        and not isinstance(record["metrics"], dict)
    ):
        raise ValueError(f"{event}.metrics must be an object")
    if event == "finish" and record["status"] not in FINISH_STATUSES:
        raise ValueError(f"finish.status {record['status']!r} not in {FINISH_STATUSES}")


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


class Protocol:
    """Writes protocol events to ``metrics.jsonl`` and, optionally, a stream (the CLI's stdout)."""

    def __init__(self, path: Path, stream: IO[str] | None = None, batch_interval_s: float = 0.5) -> None:
        self.path = path
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the run
        self._stream = stream
        self.batch_interval_s = batch_interval_s
        self._last_batch = -1e9

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        if event not in EVENTS:
            raise ValueError(f"unknown protocol event {event!r}")
        record = {"v": PROTOCOL_VERSION, "event": event, "time": round(time.time(), 3), **_clean(fields)}
        validate_event(record)
        line = json.dumps(record, separators=(",", ":"), allow_nan=False)
        for out in (self._file, self._stream):
            if out is not None:
                try:
                    out.write(line + "\n")
                    out.flush()
                except (BrokenPipeError, ValueError):  # the reader went away; the file still has it
                    if out is self._stream:
                        self._stream = None
        return record

    def batch(self, force: bool = False, **fields: Any) -> bool:
        """A batch event, at most one per ``batch_interval_s`` unless ``force`` (last batch)."""
        now = time.monotonic()
        if not force and now - self._last_batch < self.batch_interval_s:
            return False
        self._last_batch = now
        self.emit("batch", **fields)
        return True

    def close(self) -> None:
        self._file.close()


class StopRequest:
    """Set by SIGINT/SIGTERM or by a ``STOP`` file in the run directory; a second SIGINT aborts."""

    def __init__(self, run_dir: Path) -> None:
        self.stop_file = run_dir / STOP_FILE
        self._flag = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if os.name == "nt" or not _main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self._flag and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self._flag = True
        print(f"\nstop requested ({signal.Signals(signum).name}); ending after this batch", file=sys.stderr)

    def request(self) -> None:
        self._flag = True

    @property
    def requested(self) -> bool:
        if not self._flag and self.stop_file.exists():
            self._flag = True
        return self._flag


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal (no tqdm)."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._t0 = time.monotonic()
        self._last = 0.0

    def update(self, epoch: int, epochs: int, step: int, steps: int, metrics: dict[str, float]) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and step < steps):
            return
        self._last = now
        width = 24
        done = int(width * step / max(steps, 1))
        shown = " ".join(f"{k} {v:.4f}" for k, v in list(metrics.items())[:4])
        rate = step / max(now - self._t0, 1e-9)
        self.stream.write(
            f"\repoch {epoch}/{epochs} [{'#' * done}{'.' * (width - done)}] {step}/{steps} {shown} {rate:.1f} it/s "
        )
        self.stream.flush()

    def new_epoch(self) -> None:
        if self.enabled:
            self.stream.write("\n")
        self._t0 = time.monotonic()


class Run:
    """One training run in ``run_dir``; the hooks a training loop calls and the protocol it writes."""

    def __init__(
        self,
        run_dir: str | Path,
        recipe: str,
        config: dict[str, Any],
        *,
        resume: bool = False,
        stream: IO[str] | None = None,
        progress: ProgressBar | None = None,
        time_limit_s: float | None = None,
    ) -> None:
        self.dir = Path(run_dir).expanduser()
        self.recipe = recipe
        self.resume = resume
        self._check_dir(config)
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.stop_file_present():
            (self.dir / STOP_FILE).unlink()  # a stale stop request from the previous session
        self.config = config
        if not resume or not (self.dir / "config.json").exists():
            (self.dir / "config.json").write_text(json.dumps(_clean(config), indent=2))
        self.protocol = Protocol(self.dir / METRICS_FILE, stream)
        self.stop = StopRequest(self.dir)
        self.progress = progress or ProgressBar()
        self.epochs = 0
        self.started = time.monotonic()
        self.time_limit_s = time_limit_s
        self.last_checkpoint: str | None = None
        self.time_limit_hit = False  # a planned end: recipes still evaluate and export
        self._last_batch: tuple[int, int, int] | None = None  # (epoch, step, steps) of the latest batch

    def _check_dir(self, config: dict[str, Any]) -> None:
        cfg = self.dir / "config.json"
        if self.resume:
            if not cfg.exists():
                raise FileNotFoundError(f"--resume: {self.dir} holds no run (no config.json)")
            old = json.loads(cfg.read_text())
            if old.get("recipe") != self.recipe:
                raise ValueError(f"--resume: {self.dir} is a {old.get('recipe')!r} run, not {self.recipe!r}")
        elif cfg.exists():
            raise FileExistsError(f"{self.dir} already holds a run; pass --resume or choose another --out")

    def stop_file_present(self) -> bool:
        return (self.dir / STOP_FILE).exists()

    # -- hooks called by training loops
    def start(self, epochs: int, metrics: list[str], initial_epoch: int = 0, **extra: Any) -> None:
        self.epochs = epochs
        self.stop.install()
        self.protocol.emit(
            "run_start",
            recipe=self.recipe,
            run_dir=str(self.dir),
            epochs=epochs,
            initial_epoch=initial_epoch,
            resumed=self.resume,
            metrics=metrics,
            pid=os.getpid(),
            **extra,
        )

    def on_batch(self, epoch: int, step: int, steps: int, metrics: dict[str, float]) -> None:
        """``epoch`` 1-based, ``step`` 1-based within the epoch."""
        self._last_batch = (epoch, step, steps)
        self.protocol.batch(force=step >= steps, epoch=epoch, step=step, steps=steps, metrics=metrics)
        self.progress.update(epoch, self.epochs, step, steps, metrics)

    def cut_short(self, epoch: int) -> bool:
        """Whether a stop (or the time limit) ended ``epoch`` before its last batch."""
        last = self._last_batch
        stopping = self.time_limit_hit or self.stop.requested
        return stopping and last is not None and last[0] == epoch and last[1] < last[2]

    def on_epoch(self, epoch: int, metrics: dict[str, float], **extra: Any) -> None:
        """An ``epoch_end`` event; none for an epoch a stop cut short (Keras still validates it, but a
        point for part of an epoch is not the epoch's, and the log counts it as not done)."""
        self.progress.new_epoch()
        if self.cut_short(epoch):
            assert self._last_batch is not None
            print(f"epoch {epoch} stopped at step {self._last_batch[1]}/{self._last_batch[2]}: not recorded as an "
                  "epoch (resume repeats it)", file=sys.stderr)
            return
        self.protocol.emit(
            "epoch_end",
            epoch=epoch,
            epochs=self.epochs,
            metrics=metrics,
            elapsed_s=round(time.monotonic() - self.started, 2),
            **extra,
        )

    def on_images(self, epoch: int, path: Path, caption: str) -> None:
        rel = Path(path).resolve().relative_to(self.dir.resolve()) if Path(path).is_absolute() else Path(path)
        self.protocol.emit("images", epoch=epoch, path=rel.as_posix(), caption=caption)

    def should_stop(self) -> bool:
        if self.time_limit_s is not None and time.monotonic() - self.started > self.time_limit_s:
            if not self.time_limit_hit:
                print("time limit reached; ending after this batch", file=sys.stderr)
            self.time_limit_hit = True
            return True
        return self.stop.requested

    # -- results
    def evaluation(self, split: str, metrics: dict[str, Any], **extra: Any) -> None:
        self.protocol.emit("evaluation", split=split, metrics=metrics, **extra)

    def exported(self, path: Path, **extra: Any) -> None:
        self.protocol.emit("export", path=str(path), **extra)

    def error(self, exc: BaseException) -> None:
        self.protocol.emit(
            "error",
            message=f"{type(exc).__name__}: {exc}",
            type=type(exc).__name__,
            traceback="".join(traceback.format_exception(exc))[-4000:],
            checkpoint=self.last_checkpoint,
        )

    def finish(self, status: str, **extra: Any) -> None:
        self.stop.uninstall()
        self.protocol.emit(
            "finish", status=status, elapsed_s=round(time.monotonic() - self.started, 2), **extra
        )
        self.protocol.close()

    # -- state for --resume
    def save_state(self, state: dict[str, Any]) -> None:
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(_clean(state), indent=1))
        tmp.replace(self.dir / "state.json")

    def load_state(self) -> dict[str, Any]:
        p = self.dir / "state.json"
        return json.loads(p.read_text()) if p.exists() else {}
