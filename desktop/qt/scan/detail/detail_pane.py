"""The selected image: preview with heatmap, its score and verdict, and the evidence beside them."""

from __future__ import annotations

import contextlib
import html
import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.qt.common import verdict_style
from desktop.qt.scan.detail.evidence_view import evidence_html
from desktop.qt.scan.detail.preview import HeatmapLegendWidget, PreviewWidget
from desktop.qt.scan.results.results_model import human_size
from desktop.qt.scan.thumbnails import ThumbnailLoader

PREVIEW_SIDE = 1024


class _EvidenceRelay(QObject):
    ready = Signal(str, str)  # path, html


class _EvidenceTask(QRunnable):
    def __init__(self, relay: _EvidenceRelay, path: str) -> None:
        super().__init__()
        self._relay, self._path = relay, path

    def run(self) -> None:
        text = evidence_html(self._path)
        with contextlib.suppress(RuntimeError):  # pane deleted meanwhile
            self._relay.ready.emit(self._path, text)


def _breakable(text: str) -> str:
    """HTML-escaped, with break chances after separators and every 20 characters of a long word."""
    out = []
    run = 0
    for ch in text:
        out.append(html.escape(ch))
        run = 0 if ch in " /\\_-." else run + 1
        if ch in "/\\_-." or run >= 20:
            out.append("\u200b")
            run = 0
    return "".join(out)


class DetailPaneWidget(QWidget):
    open_requested = Signal()
    reveal_requested = Signal()
    copy_path_requested = Signal()
    full_size_requested = Signal()

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._row: Any = None
        self._verdict = ""
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _EvidenceRelay(self)
        self._relay.ready.connect(self._on_evidence_ready)
        loader.image_ready.connect(self._on_loader_image_ready)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        self.preview = PreviewWidget()
        layout.addWidget(self.preview, 3)

        heat = QHBoxLayout()
        self.heatmap_check = QCheckBox("Patch heatmap")
        self.heatmap_check.setChecked(True)
        self.heatmap_check.setToolTip(
            "Where in the image the model saw signs of AI generation (red) or of a "
            "real photo (green). Only for models that output a patch map."
        )
        self.heatmap_check.toggled.connect(self.preview.set_heatmap_visible)
        heat.addWidget(self.heatmap_check)
        self.opacity_label = QLabel("Opacity")
        heat.addWidget(self.opacity_label)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(45)
        self.opacity_slider.valueChanged.connect(lambda v: self.preview.set_heatmap_opacity(v / 100))
        heat.addWidget(self.opacity_slider, 1)
        layout.addLayout(heat)
        self.heatmap_legend = HeatmapLegendWidget()
        layout.addWidget(self.heatmap_legend)

        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        # a long file name wraps inside the pane instead of widening it
        self.summary_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary_label.setMinimumWidth(120)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary_label)

        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self.open_requested)
        self.reveal_button = QPushButton("Show in folder")
        self.reveal_button.clicked.connect(self.reveal_requested)
        self.copy_button = QPushButton("Copy path")
        self.copy_button.clicked.connect(self.copy_path_requested)
        self.full_size_button = QPushButton("Full size…")
        self.full_size_button.setToolTip("The image at full size in its own window: zoom and pan (or double-click it)")
        self.full_size_button.clicked.connect(self.full_size_requested)
        self.preview.double_clicked.connect(self.full_size_requested)
        for b in (self.open_button, self.reveal_button, self.copy_button, self.full_size_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)

        layout.addWidget(QLabel("<b>Evidence</b> (metadata found in the file — context, not the verdict)"))
        self.evidence_view = QTextBrowser()
        self.evidence_view.setOpenLinks(False)
        layout.addWidget(self.evidence_view, 2)
        self.show_row(None, "")

    @property
    def row(self) -> Any:
        return self._row

    def show_row(self, row: Any, verdict: str) -> None:
        self._row, self._verdict = row, verdict
        has_row = row is not None
        for b in (self.open_button, self.reveal_button, self.copy_button, self.full_size_button):
            b.setEnabled(has_row)
        if row is None:
            self.preview.set_message("Select a row to see the image, its heatmap and its metadata")
            self.summary_label.setText("")
            self.evidence_view.setHtml("")
            self._update_heatmap_controls()
            return
        self.preview.set_message("Loading…")
        self._loader.request_image(row.path, PREVIEW_SIDE)
        self._update_summary()
        self.evidence_view.setHtml("<i>Reading metadata…</i>")
        self._pool.start(_EvidenceTask(self._relay, row.path))
        self._update_heatmap_controls()

    def set_trust_lookup(self, lookup: Callable[[Any], str] | None) -> None:
        """`lookup(row)` -> one sentence: which model scored the row and how far it can be trusted."""
        self._trust_lookup = lookup
        self._update_summary()

    def set_verdict(self, verdict: str) -> None:
        self._verdict = verdict
        self._update_summary()

    def _update_heatmap_controls(self) -> None:
        has_map = self._row is not None and getattr(self._row, "patch_map", None) is not None
        self.heatmap_check.setEnabled(has_map)
        self.opacity_slider.setEnabled(has_map)
        self.heatmap_legend.setVisible(has_map)
        self.opacity_label.setVisible(has_map)
        self.opacity_slider.setVisible(has_map)
        self.heatmap_check.setText(
            "Patch heatmap" if has_map or self._row is None else "Patch heatmap (none from the model that scored it)"
        )

    def _update_summary(self) -> None:
        row = self._row
        if row is None:
            return
        name = _breakable(os.path.basename(row.path))
        lines = [f"<b>{name}</b><br><span>{_breakable(os.path.dirname(row.path))}</span>"]
        if row.error:
            lines.append(f"<b>Could not be analysed:</b> {html.escape(row.error)}")
        else:
            colour = verdict_style.colour(self._verdict).name()
            lines.append(
                f"Score <b>{row.score:.3f}</b> (probability of AI generation) — "
                f"<b style='color:{colour}'>{verdict_style.label(self._verdict)}</b>"
            )
            reason = getattr(row, "reason", None)
            if reason:
                lines.append(f"<b>Why:</b> {html.escape(reason)}")
            lookup = getattr(self, "_trust_lookup", None)
            if lookup is not None:
                lines.append(f"<b>Trust:</b> {html.escape(lookup(row))}")
            elif getattr(row, "model", None):
                lines.append(f"<b>Model:</b> {html.escape(row.model)}")
        facts = [
            f"{row.width} × {row.height}" if row.width and row.height else "",
            row.format or "",
            human_size(row.size),
            "from cache" if getattr(row, "cached", False) else "",
        ]
        lines.append(" · ".join(f for f in facts if f))
        self.summary_label.setText("<br>".join(lines))

    def _on_loader_image_ready(self, path: str, image: QImage) -> None:
        if self._row is not None and path == self._row.path:
            self.preview.set_image(image, getattr(self._row, "patch_map", None))

    def _on_evidence_ready(self, path: str, text: str) -> None:
        if self._row is not None and path == self._row.path:
            self.evidence_view.setHtml(text)

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone()
