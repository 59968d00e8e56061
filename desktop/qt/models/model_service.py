"""The app's one live model registry, off the GUI thread (onnxruntime is imported only here, lazily).

Adapter over `desktop.core.models` and `desktop.core.models.registry`: listing, adding and removing models.
Every change lists the models again and emits `models_listed`, which the Scan model menu, the Models
tab and the Gallery all follow, so a model registered from Training is scannable at once. Loaded
detectors are cached by the digest of the file's content, never by its path: a file replaced at the
same path is loaded again, and its old session is dropped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

AUTO = "auto"  # the default scan: per-image routing (desktop.core.models.routing)
AUTO_LABEL = "Automatic — the right model for each image"


@dataclass(frozen=True)
class ModelChoice:
    """What the pickers show for one model file."""

    label: str
    path: str
    name: str
    kind: str
    error: str | None
    summary: str = ""
    origin: str = ""  # "bundled" | "user"
    entry: Any = field(default=None, compare=False, repr=False)  # the core ModelEntry (card, contract)


def choice_from_entry(entry: Any) -> ModelChoice:
    contract = getattr(entry, "contract", None)
    name = getattr(entry, "name", None) or (contract.name if contract is not None else "")
    path = str(getattr(entry, "path", ""))
    title = contract.title if contract is not None else (name or path)
    kind = contract.kind if contract is not None else getattr(entry, "kind", "") or ""
    summary = str(contract.card.get("summary", "")) if contract is not None else ""
    origin = str(getattr(entry, "source", "") or "")
    label = f"{title} ({name})" if name and name not in title else title
    if origin == "user":
        label += " · yours"
    return ModelChoice(label=label, path=path, name=name, kind=kind, error=getattr(entry, "error", None),
                       summary=summary, origin=origin, entry=entry)


def list_choices() -> list[ModelChoice]:
    from desktop.core.models.catalog import list_models

    return [choice_from_entry(e) for e in list_models()]


_DEVICE: list[str] = []  # probed once per process (a CUDA probe costs seconds)


def device_text(probe_model: Path | None = None) -> str:
    """Where models run here: what onnxruntime actually chose for a real model, with the reason."""
    if _DEVICE:
        return _DEVICE[0]
    if probe_model is None:
        return "not probed yet"
    from desktop.core.models.detector import create_session

    try:
        _session, used, reason = create_session(probe_model, "auto")
    except Exception as exc:
        return f"unknown ({exc})"
    _DEVICE.append("GPU — " + reason if used == "cuda" else f"CPU — {reason}")
    return _DEVICE[0]


class DetectorCache:
    """Thread-safe: `get(ref)` loads once per file content (sha256), whatever the path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_digest: dict[str, Any] = {}
        self._auto: tuple[tuple[str, ...], Any] | None = None

    def get(self, ref: str) -> Any:
        from desktop.core.models.catalog import resolve_model
        from desktop.core.models.detector import Detector, file_digest

        if not ref:
            raise ValueError("no model chosen: put a .onnx model in the models folder (see the Models tab)")
        if ref == AUTO:
            return self._get_auto()
        path = Path(resolve_model(ref))
        try:
            digest = file_digest(path)
        except OSError as exc:
            raise ValueError(f"{path}: cannot be read ({exc})") from None
        with self._lock:
            detector = self._by_digest.get(digest)
            if detector is None:
                detector = Detector.load(path)
                # An older content of the same file is never scored again: drop its session.
                for old in [d for d, det in self._by_digest.items() if str(det.path) == str(path)]:
                    del self._by_digest[old]
                self._by_digest[detector.digest] = detector
        return detector

    def _get_auto(self) -> Any:
        """The default scan's router, loaded again whenever the routable models change (by content)."""
        from desktop.core.models.catalog import list_models
        from desktop.core.models.detector import file_digest
        from desktop.core.models.routing import load_for_scan, routable

        key = tuple(sorted(file_digest(e.path) for e in routable(list_models())))
        with self._lock:
            if self._auto is not None and self._auto[0] == key:
                return self._auto[1]
        router = load_for_scan(AUTO)
        with self._lock:
            self._auto = (key, router)
        return router

    def forget(self, path: str | Path) -> None:
        """Drop sessions loaded from `path` (a removed model)."""
        with self._lock:
            for old in [d for d, det in self._by_digest.items() if str(det.path) == str(path)]:
                del self._by_digest[old]

    @property
    def digests(self) -> list[str]:
        with self._lock:
            return list(self._by_digest)


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
    """The registry the whole window shares: `refresh`, `add`, `remove`; answers with `models_listed`."""

    models_listed = Signal(list)  # list[ModelChoice]
    detector_ready = Signal(str, object)  # ref, Detector
    detector_failed = Signal(str, str)  # ref, one-line reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = DetectorCache()
        self.choices: list[ModelChoice] = []
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.listed.connect(self._on_relay_listed)
        self._relay.loaded.connect(self.detector_ready)
        self._relay.failed.connect(self.detector_failed)

    def _on_relay_listed(self, choices: list[ModelChoice]) -> None:
        self.choices = choices
        self.models_listed.emit(choices)

    def refresh(self) -> None:
        relay = self._relay

        def work() -> None:
            try:
                choices = list_choices()
            except Exception as exc:
                relay.failed.emit("", f"could not list models: {exc}")
                choices = []
            usable = [Path(c.path) for c in choices if c.error is None]
            if usable:
                device_text(usable[0])  # the Models tab's "Runs on" line
            relay.listed.emit(choices)

        self._pool.start(_Task(work))

    def add(self, path: str | Path, name: str | None = None) -> Any:
        """Register a model file (a copy in the user's models folder); every view is refreshed.

        Returns `desktop.core.models.registry.Added`; raises `ModelError` with the reason it cannot be added.
        """
        from desktop.core.models.registry import add_model

        added = add_model(Path(path), name)
        self.refresh()
        return added

    def remove(self, path: str | Path) -> Path:
        """Delete one of the user's models; its sessions are dropped and every view is refreshed."""
        from desktop.core.models.registry import remove_model

        removed = remove_model(Path(path))
        self.cache.forget(removed)
        self.refresh()
        return removed

    def prepare(self, ref: str) -> None:
        """Load `ref` in the background; answers with detector_ready or detector_failed."""
        relay, cache = self._relay, self.cache

        def work() -> None:
            try:
                relay.loaded.emit(ref, cache.get(ref))
            except Exception as exc:
                from desktop.core.models.detector import first_line  # loaded already: cache.get imports it

                relay.failed.emit(ref, first_line(exc))

        self._pool.start(_Task(work))

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone()
