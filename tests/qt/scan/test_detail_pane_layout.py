"""The detail pane keeps its width for long file names and explains the heatmap's colours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtGui import QColor, QImage

from desktop.core.scan.events import ScanRow
from desktop.qt.scan.detail.detail_pane import DetailPaneWidget
from desktop.qt.scan.detail.preview import HeatmapLegendWidget
from desktop.qt.scan.thumbnails import ThumbnailLoader


def _row(path: str, patch_map: Any = None) -> ScanRow:
    return ScanRow(path, 0.8, "likely_ai", 32, 32, "PNG", 1234, 0, None, patch_map=patch_map)


def test_a_long_file_name_wraps_instead_of_widening_the_pane(qtbot: Any, tmp_path: Path) -> None:
    loader = ThumbnailLoader()
    pane = DetailPaneWidget(loader)
    qtbot.addWidget(pane)
    pane.show_row(_row(str(tmp_path / "short.png")), "likely_ai")
    short = pane.minimumSizeHint().width()
    pane.show_row(_row(str(tmp_path / ("a_very_long_generated_file_name" * 8 + ".png"))), "likely_ai")
    assert pane.minimumSizeHint().width() == short
    pane.shutdown()
    loader.shutdown()


def test_the_heatmap_has_a_colour_legend_only_when_there_is_a_heatmap(qtbot: Any, tmp_path: Path) -> None:
    loader = ThumbnailLoader()
    pane = DetailPaneWidget(loader)
    qtbot.addWidget(pane)
    pane.show()
    pane.show_row(_row(str(tmp_path / "a.png"), np.full((4, 4), 0.9, np.float32)), "likely_ai")
    assert pane.heatmap_legend.isVisible() and "probability of AI" in pane.heatmap_legend.toolTip()
    pane.show_row(_row(str(tmp_path / "b.png")), "likely_ai")
    assert not pane.heatmap_legend.isVisible()
    pane.shutdown()
    loader.shutdown()


def test_the_legend_runs_from_green_to_red(qtbot: Any) -> None:
    legend = HeatmapLegendWidget()
    qtbot.addWidget(legend)
    legend.resize(300, legend.sizeHint().height())
    image: QImage = legend.grab().toImage()
    y = legend.fontMetrics().height() // 2 + 2
    xs = [x for x in range(image.width()) if QColor(image.pixel(x, y)).saturation() > 150]
    left, right = QColor(image.pixel(xs[2], y)), QColor(image.pixel(xs[-3], y))
    assert left.green() > 200 and left.red() < 60
    assert right.red() > 200 and right.green() < 60
