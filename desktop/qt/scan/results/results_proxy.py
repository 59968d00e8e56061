"""Filters the results by verdict and by text; sorting is forwarded to the source model."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from desktop.qt.scan.results.results_model import ResultsModel

Index = QModelIndex | QPersistentModelIndex


class ResultsFilterProxy(QSortFilterProxyModel):
    def __init__(self, source: ResultsModel, parent: Any = None) -> None:
        super().__init__(parent)
        # No dynamic re-filtering on dataChanged: thumbnails arriving must not re-filter 100k rows.
        self.setDynamicSortFilter(False)
        self.setSourceModel(source)
        self._source = source
        self._verdicts: frozenset[str] | None = None
        self._text = ""

    def _filter_change(self, apply: Callable[[], None]) -> None:
        # Qt 6.9+ wants begin/endFilterChange (invalidateRowsFilter is deprecated there); older Qt lacks them.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            apply()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            apply()
            self.invalidateRowsFilter()

    def set_verdicts(self, verdicts: set[str] | frozenset[str] | None) -> None:
        """Show only these verdict ids (None: all)."""
        self._filter_change(
            lambda: setattr(self, "_verdicts", None if verdicts is None else frozenset(verdicts))
        )

    def set_text(self, text: str) -> None:
        self._filter_change(lambda: setattr(self, "_text", text.strip().lower()))

    def refilter(self) -> None:
        """After a relabel: verdict filters depend on the current labels."""
        if self._verdicts is not None:
            self._filter_change(lambda: None)

    @property
    def filtering(self) -> bool:
        return self._verdicts is not None or bool(self._text)

    def shown_counts_and_bins(self) -> tuple[dict[str, int], dict[str, np.ndarray]]:
        """Verdict counts, and the histogram's bins per verdict, of the rows the filter shows (for the summary)."""
        parent = QModelIndex()
        shown = [r for r in range(self._source.rowCount()) if self.filterAcceptsRow(r, parent)]
        counts: dict[str, int] = {}
        for r in shown:
            verdict = self._source.verdict_at(r)
            counts[verdict] = counts.get(verdict, 0) + 1
        return counts, self._source.verdict_bins(shown)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._verdicts is not None and self._source.verdict_at(source_row) not in self._verdicts:
            return False
        if self._text:
            row = self._source.row_at(source_row)
            haystack = row.path.lower() if not row.error else (row.path + " " + row.error).lower()
            if self._text not in haystack and self._text not in os.path.basename(row.path).lower():
                return False
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._source.sort(column, order)
