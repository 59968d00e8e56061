"""Models: every model the app can use (bundled, user folder), its card and device; import/remove.

The page shows the app's one registry (`ModelService`): importing or removing here, or registering a
trained model in Training, lists the models again for the Scan menu, this tab and the Gallery at once.
Importing copies a file into the user models folder only after its contract checks out; a broken or
foreign ONNX file is refused with the reason, a name clash is resolved with a suffix and said so. The
user's original file is never changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
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

from desktop.qt.models.model_service import ModelChoice, ModelService, device_text


def import_model(source: Path, name: str | None = None) -> tuple[Path | None, str | None]:
    """Copy a checked model into the user models folder: (destination, None) or (None, reason).

    Kept for callers without the app's registry; the window uses `ModelService.add`.
    """
    from desktop.core.models.detector import ModelError
    from desktop.core.models.registry import add_model

    try:
        return add_model(source, name).path, None
    except ModelError as exc:
        return None, str(exc)


def card_html(entry: Any) -> str:
    if entry.contract is None:
        return f"<h3>{entry.path.name}</h3><p style='color:#b00'><b>Cannot be used:</b> {entry.error}</p>"
    c = entry.contract
    rows = [("Kind", c.kind), ("Origin", f"{entry.source} — {entry.path}")]
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
    for key in ("summary", "intended_use", "not_for", "training_data", "date", "device", "params", "command",
                "thresholds_from"):
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


class ModelsManagePage(QWidget):
    """The Models tab over the app's registry (its own one when none is given). `changed`: after an
    import or a remove (the registry has already been asked to list the models again)."""

    changed = Signal()

    def __init__(self, models: ModelService | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models or ModelService(self)
        self.models.models_listed.connect(self.set_choices)
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
        self.tree.setHeaderLabels(["Model", "Name", "Kind", "Origin", "Status"])
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

    def set_choices(self, choices: list[ModelChoice]) -> None:
        """The registry listed the models: show them (entries carry the cards)."""
        self.set_entries([c.entry for c in choices if c.entry is not None])

    def refresh(self) -> None:
        self.models.refresh()

    def set_entries(self, entries: list[Any]) -> None:
        from desktop.core.paths import bundled_models_dir, user_models_dir

        self.folder_label.setText(f"Bundled: {bundled_models_dir()}   ·   Yours: {user_models_dir()}")
        current = self._current()
        self.entries = entries
        self.tree.clear()
        chosen = None
        for e in entries:
            c = e.contract
            item = QTreeWidgetItem([c.title if c else e.path.name, e.name, c.kind if c else "?", e.source,
                                    "ok" if c else "broken: " + str(e.error).split(": ", 1)[-1]])
            item.setToolTip(4, e.error or "")
            item.setData(0, Qt.ItemDataRole.UserRole, str(e.path))
            self.tree.addTopLevelItem(item)
            if current is not None and e.path == current.path:
                chosen = item
        for col in range(5):
            self.tree.resizeColumnToContents(col)
        first = chosen or self.tree.topLevelItem(0)
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

    def import_file(self, path: Path, name: str | None = None) -> bool:
        from desktop.core.models.detector import ModelError

        try:
            added = self.models.add(path, name)
        except ModelError as exc:
            self.message.setText(f"<span style='color:#b00'>Not imported: {_esc(str(exc))}</span>")
            return False
        if added.already:
            self.message.setText(_esc(f"Not copied again: {path.name} is {added.note}"))
            return False
        note = f" ({added.note})" if added.note else ""
        self.message.setText(_esc(f"Imported {path.name} as '{added.name}' — {added.path}{note}"))
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
        from desktop.core.models.detector import ModelError

        try:
            self.models.remove(entry.path)
        except ModelError as exc:
            self.message.setText(f"<span style='color:#b00'>Not removed: {_esc(str(exc))}</span>")
            return False
        self.message.setText(_esc(f"Removed {entry.name} ({entry.path.name})"))
        self.changed.emit()
        return True

    def _on_remove_clicked(self) -> None:
        self.remove_current()

    def shutdown(self) -> None:
        if self.models.parent() is self:
            self.models.shutdown()


__all__ = ["ModelsManagePage", "card_html", "device_text", "import_model"]
