"""Cell painters: the score as a bar and the verdict as a coloured band."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop.qt.common import verdict_style
from desktop.qt.scan.results.results_model import SCORE_ROLE, VERDICT_ROLE

Index = QModelIndex | QPersistentModelIndex


def _text_colour_on(background: QColor) -> QColor:
    return QColor("#111111") if background.lightnessF() > 0.55 else QColor("#ffffff")


def paint_badge(painter: QPainter, rect: QRect, colour: QColor, text: str) -> None:
    """A verdict badge: ``text`` centred on a rounded rectangle of ``colour`` (the table and the grid)."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(rect, 6, 6)
    painter.setPen(_text_colour_on(colour))
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)


class ScoreBarDelegate(QStyledItemDelegate):
    """A horizontal bar whose length is P(AI) and whose colour is the row's verdict band."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        score = index.data(SCORE_ROLE)
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else None
        text = option.text
        option.text = ""
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        if score is None:
            return
        rect = option.rect.adjusted(4, 6, -4, -6)
        painter.save()
        track = QColor(option.palette.mid().color())
        track.setAlpha(70)
        painter.fillRect(rect, track)
        bar = QRect(rect)
        bar.setWidth(max(1, round(rect.width() * max(0.0, min(1.0, float(score))))))
        painter.fillRect(bar, verdict_style.colour(index.data(VERDICT_ROLE)))
        painter.setPen(option.palette.text().color())
        painter.drawText(
            rect.adjusted(4, 0, -4, 0), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text
        )
        painter.restore()


class VerdictDelegate(QStyledItemDelegate):
    """The verdict text on a rounded chip in its band colour."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        self.initStyleOption(option, index)
        text = option.text
        option.text = ""
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        colour = verdict_style.colour(index.data(VERDICT_ROLE))
        rect = option.rect.adjusted(3, 5, -3, -5)
        painter.save()
        paint_badge(painter, rect, colour, text)
        painter.restore()
