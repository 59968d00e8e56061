"""Read-only list of the models the app can see (bundled and user folder), with their card summary."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from desktop.qt.model_service import ModelChoice


class ModelsPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.folder_label = QLabel()
        self.folder_label.setWordWrap(True)
        layout.addWidget(self.folder_label)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Model", "Kind", "File", "Summary or problem"])
        self.tree.setRootIsDecorated(False)
        layout.addWidget(self.tree, 1)
        note = QLabel(
            "Adding, comparing and testing models here comes with the next issue; for now this list is "
            "read-only. `pixelpatrol models` prints the full model cards."
        )
        note.setWordWrap(True)
        note.setEnabled(False)
        layout.addWidget(note)

    def set_choices(self, choices: list[ModelChoice]) -> None:
        from desktop.core.paths import bundled_models_dir, user_models_dir

        self.folder_label.setText(
            f"Bundled models: {bundled_models_dir()}<br>Your models: {user_models_dir()}"
        )
        self.tree.clear()
        for c in choices:
            item = QTreeWidgetItem([c.label, c.kind or "?", c.path, c.error or c.summary])
            item.setToolTip(3, c.error or c.summary)
            self.tree.addTopLevelItem(item)
        for col in range(3):
            self.tree.resizeColumnToContents(col)
        if not choices:
            self.tree.addTopLevelItem(
                QTreeWidgetItem(
                    [
                        "No models found",
                        "",
                        "",
                        "Put .onnx files with a PixelPatrol contract in one of the folders above",
                    ]
                )
            )
