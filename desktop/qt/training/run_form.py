"""The 'new run' form: recipe, data (checked before starting), main parameters, output folder."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QWidget,
)

from spec.images import TRAINING_EXTENSIONS
from spec.recipes import RECIPES

ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")


def check_data(entry: str) -> str | None:
    """Why a --data entry ([ROLE=]PATH) cannot be used, or None."""
    role, sep, path_text = entry.partition("=")
    if not sep or role not in ("real", "fake"):
        path_text = entry
    path = Path(path_text).expanduser()
    if not path.exists():
        return f"{path}: does not exist"
    if path.is_file():
        if not path.name.lower().endswith(ARCHIVES):
            return f"{path}: not a folder, .zip or tarball"
        return None
    for n, p in enumerate(path.rglob("*")):
        if p.suffix.lower() in TRAINING_EXTENSIONS:
            return None
        if n > 20_000:
            break
    return f"{path}: no images found in this folder"


class RunForm(QWidget):
    def __init__(self, runs_root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_root = runs_root
        form = QFormLayout(self)
        self.recipe = QComboBox()
        for key, info in RECIPES.items():
            self.recipe.addItem(f"{info.title} — {key}", key)
            self.recipe.setItemData(self.recipe.count() - 1, info.summary, Qt.ItemDataRole.ToolTipRole)
        form.addRow("Recipe", self.recipe)
        self.data = QListWidget()
        self.data.setMaximumHeight(70)
        form.addRow("Data", self.data)
        buttons = QHBoxLayout()
        self.role = QComboBox()
        self.role.addItems(["mixed", "real=", "fake="])
        self.role.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.role.setToolTip("real=/fake= for folders of only real or only AI images")
        add_folder, add_file, remove = QPushButton("Folder…"), QPushButton("Zip…"), QPushButton("Remove")
        add_folder.clicked.connect(self._on_add_folder_clicked)
        add_file.clicked.connect(self._on_add_file_clicked)
        remove.clicked.connect(lambda: [self.data.takeItem(self.data.row(i)) for i in self.data.selectedItems()])
        for w in (self.role, add_folder, add_file, remove):
            buttons.addWidget(w)
        form.addRow("", buttons)
        self.epochs = QSpinBox(minimum=1, maximum=10_000, value=5)
        self.batch_size = QSpinBox(minimum=1, maximum=4096, value=128)
        self.lr = QDoubleSpinBox(decimals=5, minimum=0.0, maximum=1.0, singleStep=0.0001, value=0.0)
        self.lr.setSpecialValueText("recipe default")
        self.limit = QSpinBox(minimum=0, maximum=10_000_000, value=0)
        self.limit.setSpecialValueText("all")
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.lr)
        form.addRow("Samples", self.limit)
        out_row = QHBoxLayout()
        self.out = QLineEdit()
        self.out.setPlaceholderText("new folder under " + str(runs_root))
        browse = QPushButton("…")
        browse.clicked.connect(self._on_browse_clicked)
        out_row.addWidget(self.out)
        out_row.addWidget(browse)
        form.addRow("Output", out_row)

    def add_data(self, entry: str) -> None:
        self.data.addItem(entry)

    def show_record(self, recipe: str, args: list[str]) -> None:
        """Fill the form with a recorded run's recipe, data, epochs and batch size (what Resume runs)."""
        index = self.recipe.findData(recipe)
        if index >= 0:
            self.recipe.setCurrentIndex(index)
        self.data.clear()
        for flag, value in pairwise(args):
            if flag == "--data":
                self.add_data(value)
            elif flag == "--epochs" and value.isdigit():
                self.epochs.setValue(int(value))
            elif flag == "--batch-size" and value.isdigit():
                self.batch_size.setValue(int(value))

    def _prefix(self) -> str:
        return "" if self.role.currentIndex() == 0 else self.role.currentText()

    def _on_add_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Training data folder")
        if folder:
            self.add_data(self._prefix() + folder)

    def _on_add_file_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Training data archive", "", "Archives (*.zip *.tar *.tar.gz *.tgz)")
        if path:
            self.add_data(self._prefix() + path)

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run folder (a new, empty folder)")
        if folder:
            self.out.setText(folder)

    def run_dir(self) -> Path:
        text = self.out.text().strip()
        if text:
            return Path(text).expanduser()
        return self.runs_root / f"{self.recipe.currentData()}-{time.strftime('%Y%m%d-%H%M%S')}"

    def problems(self, resume: bool = False) -> list[str]:
        """Everything wrong with the form, checked before a process is started."""
        out: list[str] = []
        run_dir = self.run_dir()
        holds_run = (run_dir / "config.json").exists()
        if resume and not holds_run:
            out.append(f"{run_dir}: no run to resume there (no config.json)")
        if not resume:
            if holds_run:  # the page offers "continue" or "new folder" before asking the form
                out.append(f"{run_dir}: already holds a run; choose another folder or Resume")
            entries = [self.data.item(i).text() for i in range(self.data.count())]
            if not entries:
                out.append("no training data: add a folder or zip")
            out += [p for p in map(check_data, entries) if p]
        return out

    def arguments(self, resume: bool = False) -> list[str]:
        args = [str(self.recipe.currentData()), "--out", str(self.run_dir())]
        if resume:
            return [*args, "--resume"]
        for i in range(self.data.count()):
            args += ["--data", self.data.item(i).text()]
        args += ["--epochs", str(self.epochs.value()), "--batch-size", str(self.batch_size.value())]
        if self.lr.value() > 0:
            args += ["--lr", f"{self.lr.value():g}"]
        if self.limit.value() > 0:
            args += ["--limit", str(self.limit.value())]
        return args
