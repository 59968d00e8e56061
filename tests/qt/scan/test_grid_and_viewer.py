"""The results as a grid (same rows, filter and selection as the table, verdict badges) and the full-size
viewer with zoom and pan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent

from desktop.qt.common import verdict_style
from desktop.qt.scan.results.results_summary import SLIDER_STEPS
from tests.qt.conftest import write_gray_images
from tests.qt.helpers import SCAN_TIMEOUT_MS, drop_paths, open_window

pytestmark = pytest.mark.usefixtures("bundled_models")


def _scanned(qtbot: Any, folder: Path) -> Any:
    window = open_window(qtbot)
    with qtbot.waitSignal(window.scan_page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(window.scan_page, [folder])
    return window


def test_the_grid_shows_the_filtered_rows_with_verdict_badges_and_shares_the_selection(
    qtbot: Any, tmp_path: Path
) -> None:
    write_gray_images(tmp_path / "g", [0, 60, 128, 255])
    window = _scanned(qtbot, tmp_path / "g")
    results = window.scan_page.results
    results.grid_button.click()
    assert results.view_kind == "grid" and results.grid.isVisible()
    assert results.grid.model() is results.proxy  # same rows, same filter
    results.filter_bar.verdict_combo.setCurrentIndex(results.filter_bar.verdict_combo.findText("AI-generated"))
    assert results.proxy.rowCount() == 1

    # the badge is painted in the verdict's colour (the tiny detector scores white 255 as AI)
    results.grid.resize(600, 400)
    qtbot.waitUntil(lambda: window.scan_page.loader.pixmap(results.proxy.index(0, 0).data(
        Qt.ItemDataRole.UserRole + 1).path, 128) is not None, timeout=10_000)
    image = results.grid.viewport().grab().toImage()
    badge = verdict_style.colour("ai")
    assert any(QColor(image.pixel(x, y)) == badge for x in range(0, 160) for y in range(0, 170))

    # selecting in the grid selects in the table and shows the detail pane
    results.grid.setCurrentIndex(results.proxy.index(0, 0))
    assert window.scan_page.detail.row is not None and window.scan_page.detail.row.path.endswith("_255.png")
    assert [r.path for r, _ in results.selected_rows()] == [window.scan_page.detail.row.path]

    # moving the threshold relabels the badges too (the grid repaints on relabel)
    results.filter_bar.verdict_combo.setCurrentIndex(0)
    with qtbot.waitSignal(results.filter_bar.threshold_changed, timeout=2000):
        results.filter_bar.threshold_slider.setValue(int(0.05 * SLIDER_STEPS))
    results.table_button.click()
    assert results.view_kind == "table" and results.table.isVisible()


def _viewer_on(qtbot: Any, folder: Path, height: int, width: int) -> Any:
    """A folder of one grey image scanned, its row selected and "Full size" clicked: the window."""
    folder.mkdir()
    Image.fromarray(np.full((height, width, 3), 200, np.uint8)).save(folder / "image.png")
    window = _scanned(qtbot, folder)
    page = window.scan_page
    page.results.select_proxy_row(0)
    with qtbot.waitSignal(page.loader.image_ready, timeout=10_000):
        page.detail.full_size_button.click()
    return window


def test_the_viewer_opens_at_full_size_and_zooms_with_the_wheel(qtbot: Any, tmp_path: Path) -> None:
    viewer = _viewer_on(qtbot, tmp_path / "big", 900, 1400).scan_page.viewer  # a child of the window
    qtbot.waitUntil(lambda: "1400 × 900 px" in viewer.info.text(), timeout=10_000)
    view = viewer.view
    assert view.image_item.pixmap().width() == 1400  # the file's own size, not the 1024 px preview
    assert view.zoom == pytest.approx(1.0)  # opens at 100 %
    centre = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(centre, view.viewport().mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    view.wheelEvent(wheel)
    assert view.zoom == pytest.approx(1.25 ** 2)
    view.fit()
    assert view.zoom < 1.0
    assert viewer.heatmap_check.isEnabled()  # the tiny detector outputs a patch map
    viewer.close()


def test_a_viewer_still_open_when_the_window_goes_raises_nothing(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent

    window = _viewer_on(qtbot, tmp_path / "one", 300, 400)
    page = window.scan_page
    destroyed: list[bool] = []
    page.viewer.destroyed.connect(lambda: destroyed.append(True))
    window.close()  # the viewer is not closed first: the page and its image loader go with the window
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: bool(destroyed), timeout=5_000)  # an exception in the viewer's clean-up fails the test
