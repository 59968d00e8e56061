"""The results as a grid of thumbnails (same rows, same filter, same selection as the table), each with its
verdict as a coloured badge, like a photo browser's grid."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from desktop.qt.common import verdict_style
from desktop.qt.scan.results.delegates import paint_badge
from desktop.qt.scan.results.results_model import ROW_ROLE, VERDICT_ROLE, Column
from desktop.qt.scan.thumbnails import GRID_SIZE, ThumbnailLoader

Index = QModelIndex | QPersistentModelIndex
CELL = QSize(GRID_SIZE + 16, GRID_SIZE + 40)


class ResultsGridDelegate(QStyledItemDelegate):
    """Thumbnail, a badge 'Likely AI 83 %' in the verdict's colour, the file name under it."""

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = loader

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return CELL

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row = index.data(ROW_ROLE)
        verdict = index.data(VERDICT_ROLE)
        if row is None:
            return
        painter.save()
        rect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, option.palette.highlight())
        box = QRect(rect.left() + (rect.width() - GRID_SIZE) // 2, rect.top() + 4, GRID_SIZE, GRID_SIZE)
        pixmap = self._loader.pixmap(row.path, GRID_SIZE)
        if pixmap is not None and not pixmap.isNull():
            size = pixmap.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(box.left() + (box.width() - size.width()) // 2,
                           box.top() + (box.height() - size.height()) // 2, size.width(), size.height())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, size.width() <= 2 * pixmap.width())
            painter.drawPixmap(target, pixmap)
        else:
            painter.fillRect(box, option.palette.alternateBase())
        colour = verdict_style.colour(verdict)
        score = f" {100 * float(row.score):.0f} %" if row.score is not None else ""
        text = verdict_style.label(verdict) + score
        fm = option.fontMetrics
        badge = QRect(box.left() + 4, box.bottom() - fm.height() - 6, fm.horizontalAdvance(text) + 12, fm.height() + 4)
        paint_badge(painter, badge, colour, text)
        name_rect = QRect(rect.left() + 2, box.bottom() + 4, rect.width() - 4, fm.height() + 2)
        painter.setPen(option.palette.highlightedText().color() if selected else option.palette.text().color())
        name = fm.elidedText(os.path.basename(row.path), Qt.TextElideMode.ElideMiddle, name_rect.width())
        painter.drawText(name_rect, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), name)
        painter.restore()


class ResultsGridView(QListView):
    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # no per-item size pass: 100k cells stay cheap
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setGridSize(CELL)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)  # the table shows whole rows
        self.setItemDelegate(ResultsGridDelegate(loader, self))
        # THUMB: the column whose dataChanged (a thumbnail arrived, a relabel) repaints a cell
        self.setModelColumn(Column.THUMB)

    def dataChanged(self, top_left: Index, bottom_right: Index, roles: Sequence[int] = ()) -> None:
        super().dataChanged(top_left, bottom_right, list(roles))
        if top_left.column() != Column.THUMB:  # a relabel (verdict, score columns): the badges change
            self.viewport().update()
