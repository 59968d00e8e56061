"""The highlight over the Scan area while files are dragged over it: where a drop goes, and what it does."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget


class DropOverlayWidget(QWidget):
    """Covers its parent (following its size), lets every mouse event through, paints only while shown."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._covered = parent
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.text = ""
        parent.installEventFilter(self)
        self.hide()

    def show_for(self, count: int) -> None:
        what = "this folder or image" if count == 1 else f"these {count:,} items"
        self.text = f"Drop to scan {what}"
        self.setGeometry(self._covered.rect())
        self.raise_()
        self.show()
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._covered and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._covered.rect())
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = QColor(self.palette().highlight().color())
        fill = QColor(accent)
        fill.setAlpha(40)
        rect = QRect(self.rect()).adjusted(4, 4, -4, -4)
        painter.setBrush(fill)
        pen = QPen(accent, 3, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, 10, 10)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        pill = metrics.boundingRect(self.text).adjusted(-18, -10, 18, 10)
        pill.moveCenter(rect.center())
        painter.setPen(pen)
        painter.setBrush(self.palette().base())  # the words stay readable over any rows
        painter.drawRoundedRect(pill, 12, 12)
        painter.setPen(accent.darker(130))
        painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), self.text)
        painter.end()
