"""The strip above the results: what to scan with, and how far a running scan has got."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


DEVICE_TIP = ("Where the model runs: the GPU (CUDA) when it really works on this computer, else the CPU. "
              "The verdicts are the same on both; only the speed differs.")


class ScanToolbarWidget(QWidget):
    open_folder_requested = Signal()
    history_requested = Signal()
    model_chosen = Signal(str)  # model path ("" when none)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.open_button = QPushButton("Open folder…")
        self.open_button.setToolTip(
            "Scan a folder (Ctrl+O). You can also drop folders or images anywhere here."
        )
        self.open_button.clicked.connect(self.open_folder_requested)
        layout.addWidget(self.open_button)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Model:"))
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(30)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.addItem("Looking for models…", "")
        self.model_combo.setEnabled(False)
        self.model_combo.currentIndexChanged.connect(self._on_model_combo_changed)
        self.model_combo.setToolTip(
            "The detector that scores the images. Only detectors are listed here: the other models "
            "(generators, classifiers) are in the Gallery tab; all of them, with their cards, in the Models tab."
        )
        layout.addWidget(self.model_combo)
        self.device_label = QLabel("Device: —")
        self.device_label.setEnabled(False)
        self.device_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.device_label.setMinimumWidth(120)
        self.device_label.setToolTip(DEVICE_TIP)
        layout.addWidget(self.device_label, 1)
        self.recursive_check = QCheckBox("Include subfolders")
        self.recursive_check.setChecked(True)
        layout.addWidget(self.recursive_check)
        self.history_button = QPushButton("History…")
        self.history_button.setToolTip(
            "Reopen the results of an earlier scan, or resume one that was cut off"
        )
        self.history_button.clicked.connect(self.history_requested)
        layout.addWidget(self.history_button)

    def set_models(self, entries: Sequence[tuple[Any, ...]], preferred: str | None) -> None:
        """entries: (label, path, error or None[, what it is]); broken files are listed, not selectable."""
        combo = self.model_combo
        combo.blockSignals(True)
        combo.clear()
        first_ok = preferred_i = -1
        for label, path, error, *about in entries:
            combo.addItem(label if error is None else f"{label} (cannot be used)", path)
            i = combo.count() - 1
            tip = f"Cannot be used: {error}" if error is not None else (about[0] if about and about[0] else "")
            if tip:
                combo.setItemData(i, tip, 3)  # ToolTipRole
            if error is not None:
                item: Any = combo.model().item(i)  # type: ignore[attr-defined]
                item.setEnabled(False)
                continue
            first_ok = i if first_ok < 0 else first_ok
            if preferred and preferred in (path, label):
                preferred_i = i
        chosen = preferred_i if preferred_i >= 0 else first_ok
        if combo.count() == 0 or chosen < 0:
            combo.insertItem(0, "No usable model found", "")
            chosen = 0
        combo.setCurrentIndex(chosen)
        combo.setEnabled(True)
        combo.blockSignals(False)
        self.model_chosen.emit(str(combo.currentData() or ""))

    def current_model(self) -> str:
        return str(self.model_combo.currentData() or "")

    def label_for(self, ref: str) -> str:
        """The menu's name for a model (its file name when the menu does not list it)."""
        i = self.model_combo.findData(ref)
        if i >= 0:
            return self.model_combo.itemText(i)
        from pathlib import Path

        return Path(ref).stem or ref

    def _on_model_combo_changed(self, _index: int) -> None:
        self.model_chosen.emit(self.current_model())

    def set_device(self, text: str, reason: str) -> None:
        self.device_label.setText(f"Device: {text}" + (f" — {reason}" if reason else ""))
        self.device_label.setToolTip(f"{DEVICE_TIP}\n\nNow: {text}" + (f" — {reason}" if reason else ""))


class ScanProgressWidget(QWidget):
    pause_requested = Signal()
    resume_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        layout.addWidget(self.bar, 2)
        self.stats_label = QLabel()
        self.stats_label.setMinimumWidth(260)
        layout.addWidget(self.stats_label, 1)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self._on_pause_button_clicked)
        layout.addWidget(self.pause_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout.addWidget(self.cancel_button)
        self._paused = False
        self._total: int | None = None
        self._done = 0

    def begin(self, label: str) -> None:
        self._paused, self._total, self._done = False, None, 0
        self.pause_button.setText("Pause")
        self.pause_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.bar.setRange(0, 0)  # busy until the background count arrives
        self.bar.setFormat(label)
        self.stats_label.setText("Counting files…")

    def set_total(self, total: int) -> None:
        self._total = total
        self._show()

    def set_progress(self, done: int, total: int | None, rate: float, eta: float | None) -> None:
        self._done = done
        if total is not None:
            self._total = total
        self._show()
        state = "paused · " if self._paused else ""
        eta_text = format_duration(eta) if eta is not None else "—"
        self.stats_label.setText(f"{state}{rate:,.0f} images/s · ETA {eta_text}")

    def _show(self) -> None:
        if self._total:
            self.bar.setRange(0, self._total)
            self.bar.setValue(min(self._done, self._total))
            self.bar.setFormat(f"{self._done:,} / {self._total:,} files")
        else:
            self.bar.setRange(0, 0)
            self.bar.setFormat(f"{self._done:,} files")

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.stats_label.setText("Paused")

    def set_cancelling(self) -> None:
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.stats_label.setText("Cancelling… (finishing the current batch)")

    def _on_pause_button_clicked(self) -> None:
        (self.resume_requested if self._paused else self.pause_requested).emit()
