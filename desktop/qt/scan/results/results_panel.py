"""The results table with its filter bar, row actions and summary (counts + histogram)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.qt.common import verdict_style
from desktop.qt.scan.results.delegates import ScoreBarDelegate, VerdictDelegate
from desktop.qt.scan.results.results_grid import ResultsGridView
from desktop.qt.scan.results.results_model import ROW_ROLE, VERDICT_ROLE, Column, Labeller, ResultsModel
from desktop.qt.scan.results.results_proxy import ResultsFilterProxy
from desktop.qt.scan.results.results_summary import (
    ResultsFilterBarWidget,
    ScoreHistogramWidget,
    VerdictCountsWidget,
)
from desktop.qt.scan.thumbnails import THUMB_SIZE, ThumbnailLoader

SUMMARY_MS = 250


class ResultsTableView(QTableView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # arrival order first
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setIconSize(self.iconSize().scaled(THUMB_SIZE, THUMB_SIZE, Qt.AspectRatioMode.IgnoreAspectRatio))
        vh = self.verticalHeader()
        vh.hide()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: no per-row size queries
        vh.setDefaultSectionSize(THUMB_SIZE + 6)
        self.setItemDelegateForColumn(Column.SCORE, ScoreBarDelegate(self))
        self.setItemDelegateForColumn(Column.VERDICT, VerdictDelegate(self))
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    def set_default_widths(self) -> None:
        widths = {
            Column.THUMB: THUMB_SIZE + 12,
            Column.NAME: 180,
            Column.FOLDER: 140,
            Column.SCORE: 110,
            Column.VERDICT: 100,
            Column.SIZE: 70,
            Column.DIMENSIONS: 86,
            Column.FORMAT: 56,
            Column.MODEL: 120,
        }
        for col, width in widths.items():
            self.setColumnWidth(col, width)
        header = self.horizontalHeader()
        # the model that scored a row belongs beside its verdict (the column was added last in the model)
        header.moveSection(header.visualIndex(Column.MODEL), header.visualIndex(Column.VERDICT) + 1)
        header.setStretchLastSection(True)


class ResultsPanelWidget(QWidget):
    current_row_changed = Signal(object, str)  # ScanRow | None, verdict
    selection_changed = Signal()

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsModel(loader, self)
        self.proxy = ResultsFilterProxy(self.model, self)
        self._threshold = 0.5

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.filter_bar = ResultsFilterBarWidget()
        self.filter_bar.search_edit.setAcceptDrops(False)  # a dropped folder is a scan, not filter text
        self.filter_bar.verdicts_changed.connect(self.proxy.set_verdicts)
        self.filter_bar.text_changed.connect(self.proxy.set_text)
        # the counts and the histogram describe the rows the filter shows
        self.filter_bar.verdicts_changed.connect(lambda _v: self.refresh_summary())
        self.filter_bar.text_changed.connect(lambda _t: self._on_model_counts_changed())
        layout.addWidget(self.filter_bar)

        actions = QHBoxLayout()
        self.copy_flagged_button = QPushButton("Copy flagged…")
        self.move_flagged_button = QPushButton("Move flagged…")
        self.undo_button = QPushButton("Undo move")
        self.undo_button.setEnabled(False)
        self.export_button = QPushButton("Export…")
        for b, tip in (
            (self.copy_flagged_button, "Copy the selected (or else all shown) likely-AI and AI images"),
            (self.move_flagged_button, "Move them instead; can be undone"),
            (self.undo_button, "Put the last moved images back"),
            (self.export_button, "Save the shown rows as CSV, JSON or JSON lines"),
        ):
            b.setToolTip(tip)
            actions.addWidget(b)
        self.skipped_label = QLabel()  # what the scan passed over, and why
        self.skipped_label.hide()
        actions.addSpacing(12)
        actions.addWidget(self.skipped_label)
        actions.addStretch(1)
        self.table_button = QPushButton("Table")
        self.grid_button = QPushButton("Grid")
        for b, tip in ((self.table_button, "The results as a table: one row per image"),
                       (self.grid_button, "The results as a grid of thumbnails, each with its verdict badge")):
            b.setCheckable(True)
            b.setAutoExclusive(True)
            b.setToolTip(tip)
            actions.addWidget(b)
        self.table_button.setChecked(True)
        self.table_button.clicked.connect(lambda: self.set_view("table"))
        self.grid_button.clicked.connect(lambda: self.set_view("grid"))
        layout.addLayout(actions)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.table = ResultsTableView()
        self.table.setModel(self.proxy)
        self.table.set_default_widths()
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        # the grid shows the same rows through the same filter, and shares the table's selection
        self.grid = ResultsGridView(loader)
        self.grid.setModel(self.proxy)
        self.grid.setSelectionModel(self.table.selectionModel())
        self.views = QStackedWidget()
        self.views.addWidget(self.table)
        self.views.addWidget(self.grid)
        self.splitter.addWidget(self.views)
        summary = QWidget()
        row = QHBoxLayout(summary)
        row.setContentsMargins(0, 4, 0, 0)
        self.counts = VerdictCountsWidget()
        row.addWidget(self.counts)
        self.histogram = ScoreHistogramWidget()
        row.addWidget(self.histogram, 1)
        self.splitter.addWidget(summary)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        layout.addWidget(self.splitter, 1)

        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(SUMMARY_MS)
        self._summary_timer.timeout.connect(self.refresh_summary)
        self.model.counts_changed.connect(self._on_model_counts_changed)

    def set_skipped(self, text: str, details: str = "") -> None:
        """What the scan passed over and why ("" hides the line); `details` (the tooltip) names a few files."""
        self.skipped_label.setText(f"<i>{text[:1].upper() + text[1:]}</i>" if text else "")
        self.skipped_label.setToolTip(details)
        self.skipped_label.setVisible(bool(text))

    def set_view(self, kind: str) -> None:
        """'table' or 'grid'."""
        grid = kind == "grid"
        self.views.setCurrentWidget(self.grid if grid else self.table)
        (self.grid_button if grid else self.table_button).setChecked(True)
        current = self.table.selectionModel().currentIndex()
        if current.isValid():
            (self.grid if grid else self.table).scrollTo(current)

    @property
    def view_kind(self) -> str:
        return "grid" if self.views.currentWidget() is self.grid else "table"

    def _on_model_counts_changed(self) -> None:
        # throttle, not debounce: rows arrive every 100 ms during a scan, so a restarted timer never fired
        if not self._summary_timer.isActive():
            self._summary_timer.start()

    # --- content -------------------------------------------------------------------------------
    def set_labeller(self, labeller: Labeller | None, threshold: float) -> None:
        """`labeller(row)` relabels the rows (the histogram's bars follow: they stack the rows' own verdicts)."""
        self._threshold = threshold
        self.model.set_labeller(labeller)
        self.proxy.refilter()
        self.refresh_summary()
        self._emit_current()

    def refresh_summary(self) -> None:
        self._summary_timer.stop()
        if self.proxy.filtering:
            counts, bins = self.proxy.shown_counts_and_bins()
            self.counts.set_counts(counts, of=self.model.rowCount())
        else:
            counts, bins = self.model.counts(), self.model.verdict_bins()
            self.counts.set_counts(counts)
        if self.histogram.isVisible() or self.model.rowCount():
            self.histogram.set_bins(bins, self._threshold)

    # --- selection -----------------------------------------------------------------------------
    def selected_rows(self) -> list[tuple[Any, str]]:
        # by selection ranges, not selectedRows(): the grid selects one cell per row
        ranges = self.table.selectionModel().selection()
        proxy_rows = {r for i in range(ranges.size()) for r in range(ranges.at(i).top(), ranges.at(i).bottom() + 1)}
        rows = sorted({self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in proxy_rows})
        return [(self.model.row_at(r), self.model.verdict_at(r)) for r in rows]

    def shown_rows(self) -> list[tuple[Any, str]]:
        out = []
        for i in range(self.proxy.rowCount()):
            r = self.proxy.mapToSource(self.proxy.index(i, 0)).row()
            out.append((self.model.row_at(r), self.model.verdict_at(r)))
        return out

    def flagged_paths(self) -> list[str]:
        """Flagged among the selection, or among the shown rows when nothing is selected."""
        rows = self.selected_rows() or self.shown_rows()
        return [row.path for row, verdict in rows if verdict in verdict_style.FLAGGED]

    def select_proxy_row(self, i: int) -> None:
        index = self.proxy.index(i, Column.NAME)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)

    def _on_table_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._emit_current(current)

    def _emit_current(self, current: QModelIndex | None = None) -> None:
        index = current if current is not None else self.table.selectionModel().currentIndex()
        if index is None or not index.isValid():
            self.current_row_changed.emit(None, "")
            return
        self.current_row_changed.emit(index.data(ROW_ROLE), index.data(VERDICT_ROLE))
