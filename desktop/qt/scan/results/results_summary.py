"""Above the table: filter by verdict and text, the threshold slider, counts per verdict, a score histogram."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QSlider, QVBoxLayout, QWidget

from desktop.qt.common import verdict_style, warm_up
from desktop.qt.scan.results.results_model import BINS

SLIDER_STEPS = 1000

# (label, verdict ids or None for all)
FILTERS: list[tuple[str, frozenset[str] | None]] = [
    ("All results", None),
    ("Flagged (likely AI or AI)", frozenset(verdict_style.FLAGGED)),
    *[(verdict_style.label(v), frozenset({v})) for v in reversed(verdict_style.ORDER)],
    ("Errors", frozenset({verdict_style.ERROR})),
]


class ThresholdLabel(QLabel):
    """The threshold's number; a double-click asks for the model's own threshold back."""

    double_clicked = Signal()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


class ResultsFilterBarWidget(QWidget):
    verdicts_changed = Signal(object)  # frozenset[str] | None
    text_changed = Signal(str)
    threshold_changed = Signal(float)  # debounced while dragging

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.verdict_combo = QComboBox()
        for label, verdicts in FILTERS:
            self.verdict_combo.addItem(label, verdicts)
        self.verdict_combo.currentIndexChanged.connect(
            lambda i: self.verdicts_changed.emit(self.verdict_combo.itemData(i))
        )
        layout.addWidget(self.verdict_combo)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Filter by name, folder or error…")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.text_changed)
        layout.addWidget(self.search_edit, 2)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Threshold:"))
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(1, SLIDER_STEPS - 1)
        self.threshold_slider.setMinimumWidth(140)
        self.threshold_slider.setToolTip(
            "Moves the decision point between real and AI; verdicts are relabelled "
            "without rescanning. Double-click the number to reset."
        )
        layout.addWidget(self.threshold_slider, 1)
        self.threshold_label = ThresholdLabel()
        self.threshold_label.setMinimumWidth(90)
        self.threshold_label.setToolTip("Double-click to reset to the model's own threshold")
        self.threshold_label.double_clicked.connect(self.reset_threshold)
        layout.addWidget(self.threshold_label)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(80)
        self._debounce.timeout.connect(lambda: self.threshold_changed.emit(self.threshold()))
        self.threshold_slider.valueChanged.connect(self._on_threshold_slider_changed)
        self._default = 0.5
        self.set_threshold(0.5, default=0.5)

    def threshold(self) -> float:
        return self.threshold_slider.value() / SLIDER_STEPS

    def user_threshold(self) -> float | None:
        """The slider's value when the user moved it off the model's own threshold, else None: each model keeps
        its own bands (an Automatic scan's rows come from models whose decisions differ)."""
        t = self.threshold()
        return None if abs(t - self._default) < 0.5 / SLIDER_STEPS else t

    def set_threshold(self, value: float, default: float | None = None) -> None:
        """Move the slider without waiting for the debounce (used when loading a model or settings)."""
        if default is not None:
            self._default = default
        self.threshold_slider.blockSignals(True)
        self.threshold_slider.setValue(round(value * SLIDER_STEPS))
        self.threshold_slider.blockSignals(False)
        self._update_label()

    def reset_threshold(self) -> None:
        """Back to the model's threshold, applied at once (no debounce)."""
        self._debounce.stop()
        self.set_threshold(self._default)
        self.threshold_changed.emit(self.threshold())

    def _on_threshold_slider_changed(self, _value: int) -> None:
        self._update_label()
        self._debounce.start()

    def _update_label(self) -> None:
        t = self.threshold()
        marker = " (model)" if abs(t - self._default) < 0.5 / SLIDER_STEPS else ""
        self.threshold_label.setText(f"{t:.3f}{marker}")


class VerdictCountsWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.labels: dict[str, QLabel] = {}
        for verdict in (*reversed(verdict_style.ORDER), verdict_style.ERROR):
            label = QLabel()
            colour = verdict_style.colour(verdict).name()
            label.setToolTip(verdict_style.describe(verdict))
            label.setProperty("verdict", verdict)
            label.setText(f"<span style='color:{colour}'>■</span> {verdict_style.label(verdict)}: 0")
            layout.addWidget(label)
            self.labels[verdict] = label
        self.total_label = QLabel("Total: 0")
        layout.addWidget(self.total_label)
        layout.addStretch(1)

    def set_counts(self, counts: dict[str, int], of: int | None = None) -> None:
        """Counts per verdict; `of`: the number of rows in all, when a filter shows only some."""
        for verdict, label in self.labels.items():
            colour = verdict_style.colour(verdict).name()
            label.setText(
                f"<span style='color:{colour}'>■</span> {verdict_style.label(verdict)}: "
                f"{counts.get(verdict, 0):,}"
            )
        shown = sum(counts.values())
        self.total_label.setText(f"Total: {shown:,}" if of is None else f"Shown: {shown:,} of {of:,} (filtered)")


class ScoreHistogramWidget(QWidget):
    """Score distribution (pyqtgraph, imported on first use): per bin, the rows stacked by the verdict each
    row shows, in the verdicts' colours. Where rows come from several models (the Automatic scan), one score
    can be "likely real" for one model and "AI" for another: the bars show what the table shows, never one
    model's bands applied to all. One bar item per verdict, updated in place."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._plot: Any = None
        self._bars: dict[str, Any] = {}
        self._line: Any = None
        self.counts = np.zeros(BINS, dtype=np.int64)  # all verdicts together, per bin
        self.stacks: dict[str, np.ndarray] = {}  # per verdict, per bin
        self._pending: tuple[Any, ...] | None = None
        self.setMinimumHeight(110)

    def _ensure_plot(self) -> None:
        if self._plot is not None:
            return
        import pyqtgraph as pg

        palette = self.palette()
        plot = pg.PlotWidget(background=palette.base().color())
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setXRange(0, 1, padding=0.02)
        text = palette.text().color()
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setPen(text)
            plot.getAxis(axis).setTextPen(text)
        plot.setLabel("bottom", "score (P AI)")
        edges = np.linspace(0, 1, BINS + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        for verdict in verdict_style.ORDER:
            self._bars[verdict] = pg.BarGraphItem(x=centres, height=np.zeros(BINS), width=1.0 / BINS * 0.9,
                                                  brush=verdict_style.colour(verdict), pen=None)
            plot.addItem(self._bars[verdict])
        self._line = pg.InfiniteLine(pos=0.5, angle=90, pen=pg.mkPen(text, style=Qt.PenStyle.DashLine))
        plot.addItem(self._line)
        self._layout.addWidget(plot)
        self._plot = plot

    def set_bins(self, bins_by_verdict: Mapping[str, np.ndarray], threshold: float) -> None:
        """Per verdict the rows show, their score counts in each bin (``score_bins``); bars stacked real
        (bottom) to AI (top)."""
        self.stacks = {v: np.asarray(bins_by_verdict.get(v, np.zeros(BINS)), np.int64) for v in verdict_style.ORDER}
        self.counts = np.sum(list(self.stacks.values()), axis=0).astype(np.int64)
        if not warm_up.ready("pyqtgraph"):  # draw when the background import is done, never wait for it
            self._pending = (bins_by_verdict, threshold)
            QTimer.singleShot(200, self._draw_pending)
            return
        self._ensure_plot()
        base = np.zeros(BINS)
        for verdict in verdict_style.ORDER:
            self._bars[verdict].setOpts(y0=base.copy(), height=self.stacks[verdict])
            base = base + self.stacks[verdict]
        self._line.setValue(threshold)

    def _draw_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self.set_bins(*pending)
