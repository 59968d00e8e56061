"""A run's per-epoch sample grids with an epoch slider, so a person sees the generator learn."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from desktop.core.run_follow import read_history
from spec.metrics import METRICS_FILE


def find_grids(run_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, PNG) from the run's `images` events, else from samples/*epoch*N*.png."""
    grids: dict[int, Path] = {}
    if (run_dir / METRICS_FILE).is_file():
        history, _ = read_history(run_dir / METRICS_FILE)
        for epoch, rel, _caption in history.images:
            if (run_dir / rel).is_file():
                grids[epoch] = run_dir / rel
    if not grids:
        for p in sorted((run_dir / "samples").glob("*.png")):
            m = re.search(r"(\d+)", p.stem)
            if m:
                grids[int(m.group(1))] = p
    return sorted(grids.items())


class EpochGridsWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grids: list[tuple[int, Path]] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        choose = QPushButton("Open a GAN run folder…")
        choose.clicked.connect(self._on_choose_clicked)
        self.caption = QLabel("No run opened.")
        bar.addWidget(choose)
        bar.addWidget(self.caption, 1)
        layout.addLayout(bar)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.image, 1)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self._on_slider_changed)
        layout.addWidget(self.slider)

    def open_run(self, run_dir: str | Path) -> int:
        self.run_dir = Path(run_dir)
        self.grids = find_grids(self.run_dir)
        self.slider.setEnabled(len(self.grids) > 1)
        self.slider.setRange(0, max(0, len(self.grids) - 1))
        if not self.grids:
            self.caption.setText(f"{self.run_dir.name}: no sample grids (GAN recipes write samples/epoch_N.png)")
            self.image.clear()
        else:
            self.slider.setValue(len(self.grids) - 1)
            self._on_slider_changed(self.slider.value())
        return len(self.grids)

    def _on_slider_changed(self, value: int) -> None:
        if not 0 <= value < len(self.grids):
            return
        epoch, path = self.grids[value]
        pix = QPixmap(str(path))
        self.caption.setText(f"{self.run_dir.name} — epoch {epoch} ({value + 1} of {len(self.grids)})")
        side = max(256, min(self.image.width(), self.image.height()))
        self.image.setPixmap(pix.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                        Qt.TransformationMode.FastTransformation))

    def _on_choose_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "GAN run folder")
        if folder:
            self.open_run(folder)
