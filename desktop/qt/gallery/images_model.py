"""A list model of generated images: pixmaps made lazily when a cell is drawn (QPixmapCache), so a
grid of thousands stays fast; the text under each image says what the discriminator and detector say."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QImage, QPixmap, QPixmapCache

if TYPE_CHECKING:  # onnxruntime stays unloaded until a generator is used
    from desktop.core.models.generate import GeneratedImage

THUMB = 96
Index = QModelIndex | QPersistentModelIndex


def to_qimage(pixels: Any) -> QImage:
    h, w, _ = pixels.shape
    return QImage(pixels.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class GeneratedImagesModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: list[GeneratedImage] = []
        self.judgements: list[str] = []
        self.class_names: tuple[str, ...] = ()
        self._batch = 0  # part of the pixmap cache key; a new batch never reuses old pixmaps
        self.cell: QSize | None = None  # every cell's size (the view's uniform items), so no line is elided

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        item = self.items[row]
        if role == Qt.ItemDataRole.DisplayRole:
            # one thing per line, the detector's verdict on its own: "detector: 98 % AI" / "(Likely AI)"
            return f"{self.caption(row)}\n" + self.judgements[row].replace(" · ", "\n").replace(" % AI (", " % AI\n(")
        if role == Qt.ItemDataRole.DecorationRole:
            key = f"pp-gen-{self._batch}-{row}"
            pix = QPixmap()
            if not QPixmapCache.find(key, pix) or pix.isNull():
                pix = QPixmap.fromImage(to_qimage(item.pixels)).scaled(
                    THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
                QPixmapCache.insert(key, pix)
            return pix
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{item.model}, seed {item.seed}, truncation {item.truncation or 'off'}"
        if role == Qt.ItemDataRole.SizeHintRole:
            return self.cell or QSize(THUMB + 44, THUMB + 60)
        return None

    def caption(self, row: int) -> str:
        item = self.items[row]
        cls = self.class_names[item.label] if item.label is not None and item.label < len(self.class_names) else ""
        step = f" t={item.step:.2f}" if item.step is not None else ""
        return f"seed {item.seed}{' · ' + cls if cls else ''}{step}"

    def set_items(self, items: list[GeneratedImage], class_names: tuple[str, ...]) -> None:
        self.beginResetModel()
        self._batch += 1
        self.items, self.class_names = list(items), class_names
        self.judgements = ["…"] * len(items)
        self.endResetModel()

    def append_items(self, items: list[GeneratedImage]) -> None:
        if not items:
            return
        start = len(self.items)
        self.beginInsertRows(QModelIndex(), start, start + len(items) - 1)
        self.items += items
        self.judgements += ["…"] * len(items)
        self.endInsertRows()

    def set_judgements(self, start: int, texts: list[str]) -> None:
        self.judgements[start : start + len(texts)] = texts
        self.dataChanged.emit(self.index(start), self.index(start + len(texts) - 1), [Qt.ItemDataRole.DisplayRole])
