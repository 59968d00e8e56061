"""The large preview of one image with the model's patch heatmap over it."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


def heatmap_image(patch_map: Any) -> QImage:
    """rows x cols P(AI) in 0..1 -> a rows x cols RGBA image, green (real) through yellow to red (AI)."""
    grid = np.asarray(patch_map, dtype=np.float32)
    while grid.ndim > 2:  # tolerate (rows, cols, 1) and a leading batch axis
        grid = grid[..., 0] if grid.shape[-1] == 1 else grid[0]
    grid = np.clip(np.nan_to_num(grid, nan=0.5), 0.0, 1.0)
    red = np.clip(2.0 * grid, 0, 1)
    green = np.clip(2.0 * (1.0 - grid), 0, 1)
    rgba = np.stack([red, green, np.zeros_like(grid), np.ones_like(grid)], axis=-1)
    data = np.ascontiguousarray((rgba * 255).astype(np.uint8))
    h, w = grid.shape
    return QImage(data.data, w, h, w * 4, QImage.Format.Format_RGBA8888).copy()


class HeatmapLegendWidget(QWidget):
    """The heatmap's colour scale: each patch's P(AI), from 0 (real, green) through 0.5 (yellow) to 1 (AI, red)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ramp = heatmap_image(np.linspace(0.0, 1.0, 256, dtype=np.float32)[None, :])
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(
            "Heatmap colours: each patch's probability of AI generation, as the model scored that part of the "
            "image alone. Green 0 (looks real) · yellow 0.5 (undecided) · red 1 (looks AI-generated)."
        )

    def sizeHint(self) -> QSize:
        return QSize(220, self.fontMetrics().height() * 2 + 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        fm = self.fontMetrics()
        left_text, right_text = "real 0", "1 AI"
        bar = QRect(fm.horizontalAdvance(left_text) + 6, 2, 0, fm.height())
        bar.setRight(self.width() - fm.horizontalAdvance(right_text) - 7)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(bar, self._ramp)
        painter.setPen(self.palette().text().color())
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        centre = Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRect(0, bar.top(), bar.left() - 4, bar.height()),
                         int(Qt.AlignmentFlag.AlignRight | centre), left_text)
        painter.drawText(QRect(bar.right() + 5, bar.top(), self.width(), bar.height()),
                         int(Qt.AlignmentFlag.AlignLeft | centre), right_text)
        scale = QRect(bar.left(), bar.bottom() + 2, bar.width(), fm.height())
        painter.drawText(scale, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop),
                         "0.5 — each patch's P(AI)")
        painter.end()


class PreviewWidget(QWidget):
    double_clicked = Signal()  # open the image at full size

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Double-click to open the image at full size (zoom with the wheel, drag to pan)")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)
        self._pixmap: QPixmap | None = None
        self._heatmap: QImage | None = None
        self._message = "Select a row to see the image"
        self.heatmap_visible = True
        self.heatmap_opacity = 0.45

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    @property
    def has_heatmap(self) -> bool:
        return self._heatmap is not None

    def set_message(self, text: str) -> None:
        self._pixmap, self._heatmap, self._message = None, None, text
        self.update()

    def set_image(self, image: QImage, patch_map: Any = None) -> None:
        self._pixmap = QPixmap.fromImage(image) if not image.isNull() else None
        self._message = "" if self._pixmap is not None else "No preview: the file could not be decoded"
        self.set_patch_map(patch_map)

    def set_patch_map(self, patch_map: Any) -> None:
        self._heatmap = heatmap_image(patch_map) if patch_map is not None else None
        self.update()

    def set_heatmap_visible(self, visible: bool) -> None:
        self.heatmap_visible = visible
        self.update()

    def set_heatmap_opacity(self, opacity: float) -> None:
        self.heatmap_opacity = max(0.0, min(1.0, opacity))
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._pixmap is not None and event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def image_rect(self) -> QRect:
        if self._pixmap is None:
            return QRect()
        size = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if self._pixmap is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(
                self.rect(), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._message
            )
            return
        target = self.image_rect()
        # Tiny images (32x32) are shown as their pixels, not a blur; photos are smoothed.
        upscale = target.width() > 2 * self._pixmap.width()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not upscale)
        painter.drawPixmap(target, self._pixmap)
        if self._heatmap is not None and self.heatmap_visible:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # patches stay blocks
            painter.setOpacity(self.heatmap_opacity)
            painter.drawImage(target, self._heatmap)
        painter.end()
