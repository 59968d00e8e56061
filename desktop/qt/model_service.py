"""Finding and loading models off the GUI thread (onnxruntime is imported only here, lazily).

Adapter over `desktop.core.models`: `list_models()`, `resolve_model()`, `Detector.load()`. Loaded
detectors are cached by path so the scan thread and the device label share one session.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


@dataclass(frozen=True)
class ModelChoice:
    """What the pickers show for one model file."""

    label: str
    path: str
    name: str
    kind: str
    error: str | None
    summary: str = ""


def choice_from_entry(entry: Any) -> ModelChoice:
    contract = getattr(entry, "contract", None)
    name = getattr(entry, "name", None) or (contract.name if contract is not None else "")
    path = str(getattr(entry, "path", ""))
    title = contract.title if contract is not None else (name or path)
    kind = contract.kind if contract is not None else getattr(entry, "kind", "") or ""
    summary = str(contract.card.get("summary", "")) if contract is not None else ""
    label = f"{title} ({name})" if name and name not in title else title
    return ModelChoice(
        label=label, path=path, name=name, kind=kind, error=getattr(entry, "error", None), summary=summary
    )


def list_choices() -> list[ModelChoice]:
    from desktop.core.models import list_models

    return [choice_from_entry(e) for e in list_models()]


class DetectorCache:
    """Thread-safe: `get(ref)` loads once per resolved path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[str, Any] = {}

    def get(self, ref: str) -> Any:
        from desktop.core.models import Detector, resolve_model

        if not ref:
            raise ValueError("no model chosen: put a .onnx model in the models folder (see the Models tab)")
        resolved = resolve_model(ref)
        path = str(getattr(resolved, "path", resolved))
        with self._lock:
            detector = self._by_path.get(path)
            if detector is None:
                detector = Detector.load(path)
                self._by_path[path] = detector
        return detector


class _Relay(QObject):
    listed = Signal(list)
    loaded = Signal(str, object)
    failed = Signal(str, str)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], None]) -> None:
        super().__init__()
        self._fn = fn

    def run(self) -> None:
        with contextlib.suppress(RuntimeError):  # relay deleted at shutdown
            self._fn()


class ModelService(QObject):
    models_listed = Signal(list)  # list[ModelChoice]
    detector_ready = Signal(str, object)  # ref, Detector
    detector_failed = Signal(str, str)  # ref, one-line reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = DetectorCache()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.listed.connect(self.models_listed)
        self._relay.loaded.connect(self.detector_ready)
        self._relay.failed.connect(self.detector_failed)

    def refresh(self) -> None:
        relay = self._relay

        def work() -> None:
            try:
                choices = list_choices()
            except Exception as exc:
                relay.failed.emit("", f"could not list models: {exc}")
                choices = []
            relay.listed.emit(choices)

        self._pool.start(_Task(work))

    def prepare(self, ref: str) -> None:
        """Load `ref` in the background; answers with detector_ready or detector_failed."""
        relay, cache = self._relay, self.cache

        def work() -> None:
            try:
                relay.loaded.emit(ref, cache.get(ref))
            except Exception as exc:
                relay.failed.emit(
                    ref, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                )

        self._pool.start(_Task(work))

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone()
