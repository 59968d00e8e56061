"""Models: every model the app can use (bundled, user folder), its card and device; import/remove.

Importing copies a file into the user models folder only after its contract checks out; a broken
or foreign ONNX file is refused with the reason. The user's original file is never changed.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)


def import_model(source: Path) -> tuple[Path | None, str | None]:
    """Copy a checked model into the user models folder: (destination, None) or (None, reason)."""
    from desktop.core.models import inspect_model
    from desktop.core.paths import user_models_dir

    if not source.is_file():
        return None, f"{source}: file not found"
    entry = inspect_model(source)
    if entry.error or entry.contract is None:
        reason = entry.error or "no contract"
        if "no 'pixelpatrol'" in reason.lower() or "metadata" in reason.lower():
            reason += " — this ONNX file was not made for PixelPatrol (no model contract)"
        return None, reason
    dest = user_models_dir() / f"{entry.contract.name}.onnx"
    if dest.exists() and dest.resolve() == source.resolve():
        return dest, None
    if dest.exists():
        return None, f"a model named '{entry.contract.name}' is already in {dest.parent}; remove it first"
    tmp = dest.with_suffix(".onnx.part")
    shutil.copyfile(source, tmp)
    tmp.replace(dest)
    return dest, None


_DEVICE: list[str] = []  # probed once per process (a CUDA probe costs seconds)


def device_text(probe_model: Path | None = None) -> str:
    """Where models run here: what onnxruntime actually chose for a real model, with the reason."""
    if _DEVICE:
        return _DEVICE[0]
    if probe_model is None:
        return "not probed yet"
    from desktop.core.models import create_session

    try:
        _session, used, reason = create_session(probe_model, "auto")
    except Exception as exc:
        return f"unknown ({exc})"
    _DEVICE.append("GPU — " + reason if used == "cuda" else f"CPU — {reason}")
    return _DEVICE[0]


def card_html(entry: Any) -> str:
    if entry.contract is None:
        return f"<h3>{entry.path.name}</h3><p style='color:#b00'><b>Cannot be used:</b> {entry.error}</p>"
    c = entry.contract
    rows = [("Kind", c.kind), ("Source", f"{entry.source} — {entry.path}")]
    if c.input is not None:
        i = c.input
        rows.append(("Input", f"{i.name} {i.layout} {i.height}×{i.width}×{i.channels} {i.color}, values {i.value_range}"))
    if c.generator_inputs is not None:
        g = c.generator_inputs
        rows.append(("Inputs", f"latent {g.latent_name} [{g.latent_dim}]" + (f" + class {g.label_name}" if g.label_name else "")))
    for role, out in c.outputs.items():
        rows.append((f"Output {role}", f"{out.name}: {out.meaning or out.extra.get('value_range', '')}"))
    if c.labels:
        rows.append(("Labels", ", ".join(c.labels)))
    card = dict(c.card)
    for key in ("summary", "intended_use", "not_for", "training_data", "date", "device", "params", "command"):
        if key in card:
            rows.append((key.replace("_", " ").capitalize(), str(card[key])))
    val = card.get("validation")
    if isinstance(val, dict) and isinstance(val.get("metrics"), dict):
        rows.append(("Metrics", ", ".join(f"{k} {v}" for k, v in val["metrics"].items())))
    if c.thresholds is not None:
        t = c.thresholds
        rows.append(("Thresholds", f"decision {t.decision:.3f} (bands {t.real:.2f} / {t.likely_real:.2f} / "
                                   f"{t.likely_ai:.2f} / {t.ai:.2f})"))
    rows.append(("Runs on", device_text()))
    body = "".join(f"<tr><td valign=top><b>{k}</b></td><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f"<h3>{_esc(c.title)} <small>({_esc(c.name)})</small></h3><table cellspacing=4>{body}</table>"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Relay(QObject):
    listed = Signal(list)


class _ListTask(QRunnable):
    def __init__(self, relay: _Relay) -> None:
        super().__init__()
        self.relay = relay

    def run(self) -> None:
        from desktop.core.models import list_models

        entries = list_models()
        usable = [e.path for e in entries if e.contract is not None]
        if usable:
            device_text(usable[0])
        with contextlib.suppress(RuntimeError):  # page closed meanwhile
            self.relay.listed.emit(entries)


class ModelsManagePage(QWidget):
    """The Models tab. `changed` asks the rest of the app to list models again."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[Any] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.import_button, self.remove_button = QPushButton("Import model…"), QPushButton("Remove")
        self.import_button.clicked.connect(self._on_import_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.remove_button.setEnabled(False)
        self.folder_label = QLabel()
        bar.addWidget(self.import_button)
        bar.addWidget(self.remove_button)
        bar.addWidget(self.folder_label, 1)
        layout.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Model", "Kind", "Source", "Status"])
        self.tree.setRootIsDecorated(False)
        self.tree.currentItemChanged.connect(self._on_tree_current_changed)
        split.addWidget(self.tree)
        self.card = QTextBrowser()
        split.addWidget(self.card)
        split.setSizes([520, 600])
        layout.addWidget(split, 1)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self._relay = _Relay(self)
        self._relay.listed.connect(self.set_entries)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def set_choices(self, _choices: list[Any]) -> None:
        """Called when the app lists models; reads the full entries (cards) in the background."""
        self.refresh()

    def refresh(self) -> None:
        self._pool.start(_ListTask(self._relay))

    def set_entries(self, entries: list[Any]) -> None:
        from desktop.core.paths import bundled_models_dir, user_models_dir

        self.folder_label.setText(f"Bundled: {bundled_models_dir()}   ·   Yours: {user_models_dir()}")
        self.entries = entries
        self.tree.clear()
        for e in entries:
            c = e.contract
            item = QTreeWidgetItem([c.title if c else e.path.name, c.kind if c else "?", e.source,
                                    "ok" if c else "broken: " + str(e.error).split(": ", 1)[-1]])
            item.setToolTip(3, e.error or "")
            item.setData(0, Qt.ItemDataRole.UserRole, str(e.path))
            self.tree.addTopLevelItem(item)
        for col in range(4):
            self.tree.resizeColumnToContents(col)
        first = self.tree.topLevelItem(0)
        if first is not None:
            self.tree.setCurrentItem(first)
        else:
            self.card.setHtml("<p>No models yet. Import a PixelPatrol .onnx file, or train one.</p>")

    def _current(self) -> Any | None:
        item = self.tree.currentItem()
        path = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return next((e for e in self.entries if str(e.path) == path), None)

    def _on_tree_current_changed(self, *_: Any) -> None:
        entry = self._current()
        self.remove_button.setEnabled(entry is not None and entry.source == "user")
        if entry is not None:
            self.card.setHtml(card_html(entry))

    def import_file(self, path: Path) -> bool:
        dest, error = import_model(path)
        if error:
            self.message.setText(f"<span style='color:#b00'>Not imported: {_esc(error)}</span>")
            return False
        self.message.setText(f"Imported {path.name} as {dest}")
        self.refresh()
        self.changed.emit()
        return True

    def _on_import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", "", "ONNX models (*.onnx)")
        if path:
            self.import_file(Path(path))

    def remove_current(self, confirm: bool = True) -> bool:
        entry = self._current()
        if entry is None or entry.source != "user":
            return False
        if confirm and QMessageBox.question(self, "Remove model", f"Delete {entry.path.name} from your "
                                            "models folder?") != QMessageBox.StandardButton.Yes:
            return False
        entry.path.unlink(missing_ok=True)
        self.message.setText(f"Removed {entry.path.name}")
        self.refresh()
        self.changed.emit()
        return True

    def _on_remove_clicked(self) -> None:
        self.remove_current()

    def shutdown(self) -> None:
        self._pool.waitForDone()


__all__ = ["ModelsManagePage", "card_html", "import_model"]
