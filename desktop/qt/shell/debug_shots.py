"""`--screenshot`: drive the real window to a state, grab it to a PNG, quit (docs/screenshots)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from desktop.qt.shell.main_window import MainWindow


class ScreenshotDirector(QObject):
    def __init__(
        self, window: MainWindow, out: str, when: str, paths: list[str], model: str | None, size: str,
        select: str | None = None,
    ) -> None:
        super().__init__(window)
        self.window, self.out, self.when, self.paths, self.model = window, out, when, paths, model
        self.select = select
        w, h = (int(v) for v in size.lower().split("x"))
        window.resize(w, h)
        self._rows_at_shot = 0
        self._shot = False

    def start(self) -> None:
        page = self.window.scan_page
        if self.when == "ready" or not self.paths:
            QTimer.singleShot(1500, self._shoot)
            return
        if self.model:
            page.models.models_listed.connect(lambda _c: self._pick_model())
        page.toolbar.model_chosen.connect(self._maybe_start)
        if self.when == "scanning":
            page.results.model.rowsInserted.connect(self._on_rows)
        else:
            page.scan_finished.connect(lambda _e: QTimer.singleShot(800, self._select_and_shoot))
        QTimer.singleShot(60000, self._shoot)  # never hang

    def _pick_model(self) -> None:
        combo = self.window.scan_page.toolbar.model_combo
        for i in range(combo.count()):
            if combo.itemData(i) == self.model or combo.itemText(i).startswith(str(self.model)):
                combo.setCurrentIndex(i)

    _started = False

    def _maybe_start(self, path: str) -> None:
        if self._started or not path or (self.model and path != self.model):
            return
        self._started = True
        QTimer.singleShot(300, lambda: self.window.scan_page.start_scan(self.paths))

    def _on_rows(self, *_: Any) -> None:
        page = self.window.scan_page
        if page.results.model.rowCount() >= 200 and not self._rows_at_shot:
            self._rows_at_shot = page.results.model.rowCount()
            QTimer.singleShot(1500, self._shoot)

    def _select_and_shoot(self) -> None:
        results = self.window.scan_page.results
        # the most AI-looking row, so the heatmap and evidence pane have something to show
        from PySide6.QtCore import Qt

        from desktop.qt.scan.results.results_model import Column

        results.table.sortByColumn(Column.SCORE, Qt.SortOrder.DescendingOrder)
        chosen = 0
        if self.select:  # --select NAME: that file's row instead
            for i in range(results.proxy.rowCount()):
                if results.proxy.index(i, Column.NAME).data() == self.select:
                    chosen = i
                    break
        results.select_proxy_row(chosen)
        self._polls = 0
        QTimer.singleShot(300, self._shoot_when_detail_ready)

    def _shoot_when_detail_ready(self) -> None:
        detail = self.window.scan_page.detail
        ready = (
            not detail.preview.image_rect().isNull() and "Reading" not in detail.evidence_view.toPlainText()
        )
        self._polls += 1
        if ready or self._polls > 50:
            QTimer.singleShot(300, self._shoot)
        else:
            QTimer.singleShot(200, self._shoot_when_detail_ready)

    def _shoot(self) -> None:
        if self._shot:
            return
        self._shot = True
        self.window.grab().save(self.out)
        print(f"screenshot saved: {self.out}", flush=True)
        self.window.scan_page.cancel_scan()
        self.window.scan_page.worker.resume()
        self.window.close()
        QApplication.quit()
