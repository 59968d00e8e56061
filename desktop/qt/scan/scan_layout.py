"""The Scan page's widgets and state: what it shows, how it is laid out, and what the rows on screen came from.

The bottom of the page's layers (scan_layout -> scan_thresholds -> scan_runs -> scan_history -> scan_page):
it builds the toolbar, banner, trust line, progress, the empty state and the results/detail splitter, and
holds the state the layers above share. It connects nothing; `ScanPage` wires the signals.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from desktop.qt.common.settings import AppSettings
from desktop.qt.common.status_banner import StatusBannerWidget
from desktop.qt.models.model_service import ModelService
from desktop.qt.scan.detail.detail_pane import DetailPaneWidget
from desktop.qt.scan.drop_overlay import DropOverlayWidget
from desktop.qt.scan.empty_state import EmptyStateWidget
from desktop.qt.scan.file_actions import FileActionsController
from desktop.qt.scan.history_loader import HistoryLoader
from desktop.qt.scan.results.results_panel import ResultsPanelWidget
from desktop.qt.scan.scan_controls import ScanProgressWidget, ScanToolbarWidget
from desktop.qt.scan.scan_worker import ScanRequest, ScanWorker
from desktop.qt.scan.thumbnails import ThumbnailLoader


class ScanPageLayout(QWidget):
    scan_finished = Signal(object)  # ScanFinished, after the rows are in the table
    scan_failed = Signal(str)
    history_loaded = Signal(int)  # scan id whose rows are now shown
    status_message = Signal(str)  # short line for the window's status bar

    def __init__(self, settings: AppSettings, models: ModelService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.settings = settings
        self.models = models
        self.loader = ThumbnailLoader(self)
        self.worker = ScanWorker(models.cache.get, self)
        self.queue: list[ScanRequest] = []
        self._contract_thresholds: Any = None
        self._detector: Any = None  # the loaded Detector or Router of the rows on screen
        self._rows_model = ""  # model path of the rows on screen (for relabelling)
        self._showing_results = False
        # Scans asked for before the model list arrived (`pixelpatrol FOLDER`, an early drop): run once it does.
        self._models_listed = False
        self._waiting: list[tuple[list[str], int | None]] = []
        self._last_paths: list[str] = []  # what the rows on screen scanned (for "Rescan with the new model")
        self.results_stale = False  # the rows on screen were scored by another model than the chosen one
        self.skipped: Any = None  # desktop.core.scan.walk.Skipped of the scans on screen

        layout = QVBoxLayout(self)
        self.toolbar = ScanToolbarWidget()
        self.toolbar.recursive_check.setChecked(settings.recursive)
        layout.addWidget(self.toolbar)
        self.banner = StatusBannerWidget()
        layout.addWidget(self.banner)
        self.trust_label = QLabel("")
        self.trust_label.setWordWrap(True)
        self.trust_label.setObjectName("trustLabel")
        self.trust_label.setToolTip("How far the verdicts can be trusted: each model's accuracy measured on images "
                                    "it never trained on (from its model card). 'likely' verdicts are not proof.")
        layout.addWidget(self.trust_label)
        self.progress = ScanProgressWidget()
        self.progress.hide()
        layout.addWidget(self.progress)

        self.stack = QStackedWidget()
        self.empty_state = EmptyStateWidget()
        self.empty_state.set_recent(settings.recent_folders)
        self.stack.addWidget(self.empty_state)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.results = ResultsPanelWidget(self.loader)
        self.detail = DetailPaneWidget(self.loader)
        self.detail.evidence_view.setAcceptDrops(False)
        self.splitter.addWidget(self.results)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.stack.addWidget(self.splitter)
        layout.addWidget(self.stack, 1)
        self.file_actions = FileActionsController(self)
        self.history = HistoryLoader(self)
        self.drop_overlay = DropOverlayWidget(self)
