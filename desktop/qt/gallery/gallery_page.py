"""The Gallery tab: generate images from a generator model (count, seed, class, truncation, or an
interpolation strip), judge them with a discriminator and a detector, enlarge, save as PNG."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QSize, Qt, QThreadPool
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.qt.gallery.epoch_grids import EpochGridsWidget
from desktop.qt.gallery.generate_worker import GenerateRelay, GenerateRequest, GenerateTask
from desktop.qt.gallery.images_model import GeneratedImagesModel, to_qimage


class GalleryPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = GeneratedImagesModel(self)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._cancel = threading.Event()
        self.relay = GenerateRelay(self)
        self.relay.started.connect(self._on_relay_started)
        self.relay.images_ready.connect(self.model.append_items)
        self.relay.judged.connect(self.model.set_judgements)
        self.relay.failed.connect(lambda text: self.status.setText(f"<span style='color:#b00'>{text}</span>"))
        self.relay.finished.connect(self._on_relay_finished)
        self.generated = 0

        controls = QFormLayout()
        self.generator, self.discriminator, self.detector = QComboBox(), QComboBox(), QComboBox()
        controls.addRow("Generator", self.generator)
        self.provenance = QLabel()  # which generator and checkpoint makes the images (from its card)
        self.provenance.setWordWrap(True)
        self.provenance.setStyleSheet("color: palette(placeholder-text)")
        controls.addRow(self.provenance)
        controls.addRow("Discriminator", self.discriminator)
        controls.addRow("AI-image detector", self.detector)
        self.count = QSpinBox(minimum=1, maximum=100_000, value=64)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.label = QComboBox()
        self.truncation = QDoubleSpinBox(minimum=0.0, maximum=5.0, singleStep=0.1, value=0.0)
        self.truncation.setSpecialValueText("off")
        controls.addRow("Count", self.count)
        controls.addRow("Seed", self.seed)
        controls.addRow("Class", self.label)
        controls.addRow("Truncation", self.truncation)
        self.interpolate = QCheckBox("Interpolate to seed")
        self.interpolate.setToolTip("Walk in a straight line through the generator's noise, from Seed to this seed")
        # never narrower than its text (it was clipped beside the spin box)
        self.interpolate.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        self.seed_b = QSpinBox(minimum=0, maximum=2**31 - 1, value=1)
        row = QHBoxLayout()
        row.addWidget(self.interpolate)
        row.addWidget(self.seed_b)
        controls.addRow(row)  # the whole width: the label was clipped in the field column
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self.generate)
        self.save_selected = QPushButton("Save selection…")
        self.save_all = QPushButton("Save all…")
        self.save_selected.clicked.connect(lambda: self._on_save_clicked(selected_only=True))
        self.save_all.clicked.connect(lambda: self._on_save_clicked(selected_only=False))
        controls.addRow(self.generate_button)
        controls.addRow(self.save_selected, self.save_all)
        controls.addRow(self.status)
        left = QWidget()
        left.setLayout(controls)
        left.setMaximumWidth(380)
        left.setMinimumWidth(360)  # the model names stay readable

        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setUniformItemSizes(True)  # no per-item size pass: thousands of cells stay cheap
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setIconSize(QSize(96, 96))
        self.view.setSpacing(4)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setWordWrap(True)
        # room for what is said under an image (caption, discriminator, detector, its verdict), so that no line is
        # elided: with uniform item sizes every cell gets this size
        fm = self.view.fontMetrics()
        self.model.cell = QSize(max(132, fm.horizontalAdvance("discriminator: 100 % real") + 8), 100 + 5 * fm.lineSpacing())
        self.view.setGridSize(self.model.cell + QSize(8, 8))
        self.view.doubleClicked.connect(self.enlarge)
        self.view.clicked.connect(self._on_view_clicked)
        gen_tab = QWidget()
        gen_layout = QHBoxLayout(gen_tab)
        gen_layout.addWidget(left)
        gen_layout.addWidget(self.view, 1)
        self.epochs = EpochGridsWidget()
        tabs = QTabWidget()
        tabs.addTab(gen_tab, "Generate")
        tabs.addTab(self.epochs, "Training samples by epoch")
        QVBoxLayout(self).addWidget(tabs)
        self.tabs = tabs
        self.generator.currentIndexChanged.connect(self._on_generator_changed)

    # -- models
    def set_choices(self, choices: list[Any]) -> None:
        """ModelChoice list from the app (kind, path, label); fills the three pickers."""
        for combo, kinds, none_text in ((self.generator, ("generator",), None),
                                        (self.discriminator, ("discriminator",), "(none)"),
                                        (self.detector, ("detector",), "(none)")):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            if none_text:
                combo.addItem(none_text, "")
            for c in choices:
                if c.error is None and c.kind in kinds:
                    combo.addItem(c.label, c.path)
            index = combo.findData(current)
            combo.setCurrentIndex(index if index >= 0 else (1 if none_text and combo.count() > 1 else 0))
            combo.blockSignals(False)
        self._on_generator_changed()
        if self.generator.count() == 0:
            self.status.setText("No generator model found: put one (e.g. dcgan-cifar10-generator.onnx) in the "
                                "models folder or import it in the Models tab.")
        self.generate_button.setEnabled(self.generator.count() > 0)

    def _on_generator_changed(self, *_: Any) -> None:
        path = self.generator.currentData()
        self.label.clear()
        self.label.addItem("cycle through classes", None)
        self.provenance.setText("")
        if not path:
            return
        try:
            from desktop.core.models.generate import Generator, provenance_text

            gen = Generator.load(path, device="cpu")
        except Exception as exc:
            self.status.setText(str(exc))
            return
        self.provenance.setText(provenance_text(gen.contract, path))
        for i, name in enumerate(gen.class_names if gen.conditional else ()):
            self.label.addItem(name, i)
        self.label.setEnabled(gen.conditional)

    # -- generating
    def generate(self) -> None:
        path = self.generator.currentData()
        if not path:
            self.status.setText("Choose a generator first.")
            return
        self._cancel.set()
        self._pool.waitForDone()
        self._cancel = threading.Event()
        request = GenerateRequest(
            generator=path, count=self.count.value(), seed=self.seed.value(), label=self.label.currentData(),
            truncation=self.truncation.value() or None, discriminator=self.discriminator.currentData() or "",
            detector=self.detector.currentData() or "",
            interpolate_to=self.seed_b.value() if self.interpolate.isChecked() else None,
        )
        self.generate_button.setEnabled(False)
        self.status.setText("Generating…")
        self._pool.start(GenerateTask(request, self.relay, self._cancel))

    def _on_relay_started(self, gen: Any) -> None:
        self.model.set_items([], gen.class_names if gen.conditional else ())

    def _on_relay_finished(self, count: int) -> None:
        self.generated = count
        self.generate_button.setEnabled(True)
        self.status.setText(f"{count} images. Double-click to enlarge; select and save as PNG.")

    # -- viewing and saving
    def _on_view_clicked(self, index: QModelIndex) -> None:
        self.status.setText(f"{self.model.caption(index.row())} — {self.model.judgements[index.row()]}")

    def enlarge(self, index: QModelIndex) -> QDialog:
        item = self.model.items[index.row()]
        dialog = QDialog(self)
        dialog.setWindowTitle(self.model.caption(index.row()))
        layout = QVBoxLayout(dialog)
        picture = QLabel()
        picture.setPixmap(QPixmap.fromImage(to_qimage(item.pixels)).scaled(
            384, 384, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
        layout.addWidget(picture)
        layout.addWidget(QLabel(self.model.judgements[index.row()]))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def save(self, folder: str | Path, selected_only: bool) -> list[Path]:
        from desktop.core.models.generate import save_images

        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes()) if selected_only \
            else range(len(self.model.items))
        items = [self.model.items[r] for r in rows]
        if not items:
            self.status.setText("Nothing to save: generate images (and select some) first.")
            return []
        saved = save_images(items, folder, self.model.class_names)
        self.status.setText(f"Saved {len(saved)} PNG files to {folder} (seed and class in each file and in "
                            "pixelpatrol-generated.jsonl).")
        return saved

    def _on_save_clicked(self, selected_only: bool) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save generated images to")
        if folder:
            self.save(folder, selected_only)

    def shutdown(self) -> None:
        self._cancel.set()
        self._pool.waitForDone()
