"""One image at full size in its own window: wheel to zoom (under the cursor), drag to pan, the heatmap on top."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeyEvent, QPainter, QPixmap, QTransform, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.qt.scan.detail.preview import heatmap_image

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 64.0


class ZoomableImageView(QGraphicsView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(self.palette().dark())
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.heat_item = QGraphicsPixmapItem()
        self.heat_item.setOpacity(0.45)
        self.heat_item.setZValue(1)
        self.scene().addItem(self.image_item)
        self.scene().addItem(self.heat_item)
        self.zoom = 1.0

    def set_image(self, image: QImage, patch_map: Any = None) -> None:
        pixmap = QPixmap.fromImage(image)
        self.image_item.setPixmap(pixmap)
        # pixels stay pixels when enlarged past 2x (a 32x32 image is a grid of blocks, not a blur)
        self.image_item.setTransformationMode(Qt.TransformationMode.FastTransformation)
        if patch_map is not None and not pixmap.isNull():
            heat = QPixmap.fromImage(heatmap_image(patch_map))
            self.heat_item.setPixmap(heat)
            self.heat_item.setTransform(QTransform.fromScale(pixmap.width() / heat.width(),
                                                             pixmap.height() / heat.height()))
        else:
            self.heat_item.setPixmap(QPixmap())
        self.scene().setSceneRect(self.image_item.boundingRect())

    def set_zoom(self, zoom: float) -> None:
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self.setTransform(QTransform.fromScale(self.zoom, self.zoom))

    def fit(self) -> None:
        rect = self.image_item.boundingRect()
        if rect.isEmpty():
            return
        view = self.viewport().rect()
        self.set_zoom(min(view.width() / rect.width(), view.height() / rect.height()))
        self.centerOn(self.image_item)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * ZOOM_STEP ** steps)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_zoom(self.zoom * ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.set_zoom(self.zoom / ZOOM_STEP)
        elif key == Qt.Key.Key_1:
            self.set_zoom(1.0)
        elif key in (Qt.Key.Key_0, Qt.Key.Key_F):
            self.fit()
        else:
            super().keyPressEvent(event)


class ImageViewerDialog(QDialog):
    """Opens at full size (100 %); the wheel zooms, a drag pans; 1 = 100 %, 0 or F = fit, + and - zoom."""

    def __init__(self, path: str, title: str, patch_map: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle(title)
        self.resize(1000, 760)
        self._patch_map = patch_map
        layout = QVBoxLayout(self)
        self.view = ZoomableImageView()
        self.view.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        layout.addWidget(self.view, 1)
        bar = QHBoxLayout()
        self.heatmap_check = QCheckBox("Patch heatmap")
        self.heatmap_check.setChecked(False)
        self.heatmap_check.setEnabled(patch_map is not None)
        self.heatmap_check.toggled.connect(self.view.heat_item.setVisible)
        self.view.heat_item.setVisible(False)
        bar.addWidget(self.heatmap_check)
        fit = QPushButton("Fit")
        fit.clicked.connect(self.view.fit)
        actual = QPushButton("100 %")
        actual.clicked.connect(lambda: self.view.set_zoom(1.0))
        bar.addWidget(fit)
        bar.addWidget(actual)
        self.info = QLabel("Loading the full-size image…")
        bar.addWidget(self.info, 1)
        bar.addWidget(QLabel("Wheel: zoom · drag: pan · 1: 100 % · 0: fit"))
        layout.addLayout(bar)

    def set_image(self, image: QImage) -> None:
        """The decoded file; a smaller copy of it (the detail pane's preview, decoded too) never replaces it."""
        if not image.isNull() and image.width() <= self.view.image_item.pixmap().width():
            return
        if image.isNull():
            self.info.setText("The image could not be decoded")
            return
        self.view.set_image(image, self._patch_map)
        self.view.set_zoom(1.0)
        self.info.setText(f"{image.width()} × {image.height()} px")
