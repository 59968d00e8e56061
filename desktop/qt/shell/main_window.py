"""The one window: menus, the four areas as tabs, remembered geometry. It only assembles."""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import QMainWindow, QTabWidget, QWidget

from desktop.qt.common import warm_up
from desktop.qt.common.settings import AppSettings
from desktop.qt.gallery.gallery_page import GalleryPage
from desktop.qt.models.model_service import ModelChoice, ModelService
from desktop.qt.models.models_manage import ModelsManagePage
from desktop.qt.scan.scan_page import ScanPage
from desktop.qt.shell.about_dialog import AboutDialog
from desktop.qt.training.training_page import TrainingPage


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.setWindowTitle("PixelPatrol")
        self.setWindowIcon(_app_icon())
        self.models = ModelService(self)
        self.scan_page = ScanPage(self.settings, self.models)
        # One registry for every tab: adding or removing a model anywhere re-lists it everywhere.
        self.models_page = ModelsManagePage(self.models)
        self.training_page = TrainingPage(self.models)
        self.training_page.model_registered.connect(self._on_training_model_registered)
        self.gallery_page = GalleryPage()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.scan_page, "Scan")
        self.tabs.addTab(self.training_page, "Training")
        self.tabs.addTab(self.gallery_page, "Gallery")
        self.tabs.addTab(self.models_page, "Models")
        self.setCentralWidget(self.tabs)
        self._build_menus()
        self.scan_page.status_message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.models.models_listed.connect(self._on_models_listed)
        self._restore()
        self.models.refresh()
        warm_up.start("pyqtgraph")
        self.scan_page.offer_resume()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_folder = QAction("&Open folder…", self, shortcut=QKeySequence(QKeySequence.StandardKey.Open))
        open_folder.triggered.connect(self._on_open_folder_triggered)
        file_menu.addAction(open_folder)
        open_files = QAction("Open &images…", self, shortcut=QKeySequence("Ctrl+Shift+O"))
        open_files.triggered.connect(self.scan_page.choose_files)
        file_menu.addAction(open_files)
        demo = QAction("Scan the &demo folder", self)
        demo.triggered.connect(self.scan_page.scan_demo)
        file_menu.addAction(demo)
        history = QAction("Scan &history…", self, shortcut=QKeySequence("Ctrl+H"))
        history.triggered.connect(self.scan_page.show_history)
        file_menu.addAction(history)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.open_folder_action = open_folder

        find = QAction("&Filter results", self, shortcut=QKeySequence(QKeySequence.StandardKey.Find))
        find.setToolTip("Type part of a file name, folder or error to show only those rows")
        find.triggered.connect(self._on_find_triggered)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(find)
        self.find_action = find

        help_menu = self.menuBar().addMenu("&Help")
        cards = QAction("Model &cards", self)
        cards.triggered.connect(lambda: self.tabs.setCurrentWidget(self.models_page))
        help_menu.addAction(cards)
        about = QAction("&About PixelPatrol", self)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)
        self.about_action = about

    def _on_find_triggered(self) -> None:
        self.tabs.setCurrentWidget(self.scan_page)
        edit = self.scan_page.results.filter_bar.search_edit
        edit.setFocus()
        edit.selectAll()

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self.models.choices, self)
        dialog.open()
        return dialog

    def _on_open_folder_triggered(self) -> None:
        self.tabs.setCurrentWidget(self.scan_page)
        self.scan_page.choose_folder()

    def _on_models_listed(self, choices: list[ModelChoice]) -> None:
        self.scan_page.set_model_choices(choices)  # the Models tab follows the registry itself
        self.gallery_page.set_choices(choices)

    def _on_training_model_registered(self, path: str) -> None:
        """"Use this model in Scan": the Scan menu selects it when the registry lists it (next)."""
        self.settings.model = path

    def _restore(self) -> None:
        geometry = self.settings.blob("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        for key, splitter in (
            ("window/results_splitter", self.scan_page.splitter),
            ("window/table_splitter", self.scan_page.results.splitter),
        ):
            state = self.settings.blob(key)
            if state is not None:
                splitter.restoreState(state)
        header = self.settings.blob("window/table_header")
        if header is not None:
            self.scan_page.results.table.horizontalHeader().restoreState(header)

    def save_state(self) -> None:
        self.settings.set_blob("window/geometry", self.saveGeometry())
        self.settings.set_blob("window/results_splitter", self.scan_page.splitter.saveState())
        self.settings.set_blob("window/table_splitter", self.scan_page.results.splitter.saveState())
        header: QByteArray = self.scan_page.results.table.horizontalHeader().saveState()
        self.settings.set_blob("window/table_header", header)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self.scan_page.shutdown()
        self.training_page.shutdown()
        self.gallery_page.shutdown()
        self.models_page.shutdown()
        self.models.shutdown()
        super().closeEvent(event)


def _app_icon() -> QIcon:
    from desktop.qt.shell.resources import asset_path

    path = asset_path("icon.png")
    return QIcon(str(path)) if path is not None else QIcon()
