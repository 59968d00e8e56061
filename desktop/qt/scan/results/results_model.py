"""The results table: one row per scanned file, appended in chunks, relabelled live, sorted in place.

Sorting happens here (Python's sort on a key list) rather than in QSortFilterProxyModel, whose
per-comparison `data()` calls into Python would take seconds at 100k rows; the proxy only filters.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from enum import IntEnum
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from desktop.qt.common import verdict_style
from desktop.qt.scan.thumbnails import ThumbnailLoader

Index = QModelIndex | QPersistentModelIndex
Labeller = Callable[[Any], str]  # a row -> its verdict id (the row's own model, evidence, threshold)

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the ScanRow itself
VERDICT_ROLE = Qt.ItemDataRole.UserRole + 2  # current verdict id, "error" for failed files
SCORE_ROLE = Qt.ItemDataRole.UserRole + 3  # float score or None


class Column(IntEnum):
    THUMB = 0
    NAME = 1
    FOLDER = 2
    SCORE = 3
    VERDICT = 4
    SIZE = 5
    DIMENSIONS = 6
    FORMAT = 7
    ERROR = 8
    MODEL = 9


HEADERS = ("", "Name", "Folder", "Score", "Verdict", "Size", "Dimensions", "Format", "Error", "Model")


def verdict_tooltip(row: Any) -> str | None:
    """Why this verdict: the model that scored the row, the reason, the file's own evidence."""
    parts = []
    if getattr(row, "model", None):
        parts.append(f"Model: {row.model}")
    if getattr(row, "reason", None):
        parts.append(f"Why: {row.reason}")
    if getattr(row, "evidence", None):
        parts.append(f"Evidence: {row.evidence}")
    return "\n".join(parts) or None


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class ResultsModel(QAbstractTableModel):
    counts_changed = Signal()

    def __init__(self, thumbnails: ThumbnailLoader | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self._verdicts: list[str] = []
        self._labeller: Labeller | None = None
        self._thumbnails = thumbnails
        self._row_of_path: dict[str, int] | None = None
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._sorted_state: tuple[Any, ...] | None = None
        self._relabels = 0  # bumps on every relabel, so a verdict sort knows it is stale
        self._counts: Counter[str] = Counter()
        self._bins: dict[str, np.ndarray] = {}  # per verdict, the histogram's counts (kept as rows come)
        if thumbnails is not None:
            thumbnails.thumbnail_ready.connect(self._on_thumbnails_thumbnail_ready)

    # --- Qt model interface ------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = index.row()
        row = self._rows[r]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, self._verdicts[r], col)
        if role == Qt.ItemDataRole.DecorationRole and col == Column.THUMB and self._thumbnails is not None:
            return self._thumbnails.pixmap(row.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col in (Column.NAME, Column.FOLDER):
                return row.path
            if col == Column.ERROR:
                return row.error
            if col == Column.VERDICT:  # what the band means, then why this row is in it
                return "\n".join(t for t in (verdict_style.describe(self._verdicts[r]), verdict_tooltip(row)) if t)
            if col in (Column.SCORE, Column.MODEL):
                return verdict_tooltip(row)
        if role == ROW_ROLE:
            return row
        if role == VERDICT_ROLE:
            return self._verdicts[r]
        if role == SCORE_ROLE:
            return row.score
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (Column.SIZE, Column.SCORE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(row: Any, verdict: str, col: int) -> str | None:
        path = str(row.path)
        if col == Column.NAME:
            return os.path.basename(path)
        if col == Column.FOLDER:
            return os.path.dirname(path)
        if col == Column.SCORE:
            return "" if row.score is None else f"{row.score:.3f}"
        if col == Column.VERDICT:
            return verdict_style.label(verdict)
        if col == Column.SIZE:
            return human_size(row.size)
        if col == Column.DIMENSIONS:
            return f"{row.width} × {row.height}" if row.width and row.height else ""
        if col == Column.FORMAT:
            return row.format or ""
        if col == Column.ERROR:
            return row.error or ""
        if col == Column.MODEL:
            return getattr(row, "model", None) or ""
        return None

    # --- content -------------------------------------------------------------------------------
    def rows(self) -> list[Any]:
        return list(self._rows)

    def row_at(self, r: int) -> Any:
        return self._rows[r]

    def verdict_at(self, r: int) -> str:
        return self._verdicts[r]

    def clear(self) -> None:
        self.beginResetModel()
        # the sort column stays (the header still shows it) and applies again when this scan finishes
        self._rows, self._verdicts, self._row_of_path, self._sorted_state = [], [], None, None
        self._counts = Counter()
        self._bins = {}
        self.endResetModel()
        self.counts_changed.emit()

    def append_rows(self, rows: Sequence[Any]) -> None:
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        new_verdicts = [self._verdict_of(row) for row in rows]
        self._verdicts.extend(new_verdicts)
        self._counts.update(new_verdicts)
        for verdict, bins in score_bins(rows, new_verdicts, range(len(rows))).items():
            self._bins[verdict] = self._bins[verdict] + bins if verdict in self._bins else bins
        if self._row_of_path is not None:
            for i, row in enumerate(rows, first):
                self._row_of_path[row.path] = i
        self.endInsertRows()
        self.counts_changed.emit()

    @property
    def labeller(self) -> Labeller | None:
        return self._labeller

    def replace_paths(self, moved: dict[str, str]) -> int:
        """Rows follow files the user moved (and moved back), so open/reveal keep working."""
        changed = 0
        names = {os.path.basename(p) for p in moved}  # the engine logs resolved paths (symlinks followed)
        for i, row in enumerate(self._rows):
            new = moved.get(row.path)
            if new is None and os.path.basename(row.path) in names:
                new = moved.get(os.path.realpath(row.path))
            if new is not None:
                self._rows[i] = dataclasses.replace(row, path=new)
                changed += 1
        if changed:
            self._row_of_path = None
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(HEADERS) - 1))
        return changed

    def set_labeller(self, labeller: Labeller | None) -> None:
        """Relabel every row with `labeller(row)` (None: the verdict the engine stored)."""
        self._labeller = labeller
        if not self._rows:
            return
        self._verdicts = [self._verdict_of(row) for row in self._rows]
        self._counts = Counter(self._verdicts)
        self._bins = score_bins(self._rows, self._verdicts, range(len(self._rows)))
        self._relabels += 1
        # the score bar is drawn in the verdict's colour: both columns change
        self.dataChanged.emit(self.index(0, Column.SCORE), self.index(len(self._rows) - 1, Column.VERDICT))
        if self._sort is not None and self._sort[0] == Column.VERDICT:
            self.sort(*self._sort)
        self.counts_changed.emit()

    def _verdict_of(self, row: Any) -> str:
        if row.score is None or row.error:
            return verdict_style.ERROR
        if self._labeller is not None:
            return self._labeller(row)
        return row.verdict or verdict_style.ERROR

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys((*verdict_style.ORDER, verdict_style.ERROR), 0)
        out.update(self._counts)
        return out

    def verdict_bins(self, rows: Iterable[int] | None = None) -> dict[str, np.ndarray]:
        """Per verdict the rows show, how many scores fall in each of the histogram's BINS bins: of all rows
        (kept up to date as rows come: the histogram asks every quarter second during a scan), or of the
        numbered ones (a filter). Rows without a score are left out."""
        if rows is None:
            return dict(self._bins)
        return score_bins(self._rows, self._verdicts, rows)

    # --- sorting -------------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column < 0:  # "unsorted": keep arrival order
            self._sort = None
            return
        state = (column, order, len(self._rows), self._relabels)
        if (column, order) == self._sort and state == self._sorted_state:
            return  # QTableView.sortByColumn asks twice (direct call + header signal)
        self._sort = (column, order)
        self._sorted_state = state
        if len(self._rows) < 2:
            return
        keys = self._sort_keys(column)
        # One pass to make the keys, then C-level comparisons; missing values (errors, unknown sizes)
        # stay at the bottom whichever way the sort goes.
        present = [i for i, k in enumerate(keys) if k is not None]
        missing = [i for i, k in enumerate(keys) if k is None]
        present.sort(key=keys.__getitem__, reverse=order == Qt.SortOrder.DescendingOrder)
        order_idx = present + missing
        self.layoutAboutToBeChanged.emit()
        self._rows = [self._rows[i] for i in order_idx]
        self._verdicts = [self._verdicts[i] for i in order_idx]
        self._row_of_path = None
        persistent = self.persistentIndexList()
        if persistent:
            new_of_old = [0] * len(order_idx)
            for new, old in enumerate(order_idx):
                new_of_old[old] = new
            self.changePersistentIndexList(
                persistent, [self.index(new_of_old[p.row()], p.column()) for p in persistent]
            )
        self.layoutChanged.emit()

    def resort(self) -> None:
        if self._sort is not None:
            self.sort(*self._sort)

    def _sort_keys(self, column: int) -> list[Any]:
        rows = self._rows
        if column == Column.VERDICT:
            rank = {v: i for i, v in enumerate(verdict_style.ORDER)}
            return [rank.get(v) for v in self._verdicts]  # errors (no rank) go last
        if column == Column.SCORE:
            return [r.score for r in rows]
        if column == Column.SIZE:
            return [r.size for r in rows]
        if column == Column.DIMENSIONS:
            return [(r.width * r.height) if r.width and r.height else None for r in rows]
        if column == Column.FORMAT:
            return [r.format.lower() if r.format else None for r in rows]
        if column == Column.ERROR:
            return [r.error.lower() if r.error else None for r in rows]
        if column == Column.FOLDER:
            return [os.path.dirname(r.path).lower() for r in rows]
        if column == Column.THUMB:
            return [r.path.lower() for r in rows]
        basename = os.path.basename
        return [basename(r.path).lower() for r in rows]

    # --- thumbnails ----------------------------------------------------------------------------
    def _on_thumbnails_thumbnail_ready(self, path: str) -> None:
        if self._row_of_path is None:
            self._row_of_path = {row.path: i for i, row in enumerate(self._rows)}
        r = self._row_of_path.get(path)
        if r is not None:
            idx = self.index(r, Column.THUMB)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


BINS = 20  # the score histogram's bins over [0, 1]


def score_bins(rows: Sequence[Any], verdicts: Sequence[str], indices: Iterable[int]) -> dict[str, np.ndarray]:
    """For the rows numbered by ``indices``, per verdict, the count of scores in each of BINS bins over [0, 1]."""
    grouped: dict[str, list[float]] = {}
    for i in indices:
        score = rows[i].score
        if score is not None:
            grouped.setdefault(verdicts[i], []).append(float(score))
    return {v: np.histogram(np.asarray(s, np.float64), bins=BINS, range=(0.0, 1.0))[0] for v, s in grouped.items()}
