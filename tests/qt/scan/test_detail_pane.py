"""The detail pane: preview with the patch heatmap, and metadata shown as evidence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin
from PySide6.QtGui import QKeySequence

from tests.qt.helpers import SCAN_TIMEOUT_MS, drop_paths, open_window

ROOT = Path(__file__).resolve().parents[3]


def _png_with_prompt(path: Path) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat astronaut, Steps: 20, Sampler: Euler a, Model: sd_xl_base_1.0")
    Image.fromarray(np.full((64, 48, 3), 200, np.uint8)).save(path, pnginfo=info)
    return path


def test_selected_row_shows_preview_heatmap_and_generator_text(
    qtbot: Any, tmp_path: Path, bundled_models: Path
) -> None:
    folder = tmp_path / "meta"
    folder.mkdir()
    _png_with_prompt(folder / "prompted.png")
    window = open_window(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [folder])
    page.results.select_proxy_row(0)
    detail = page.detail
    assert detail.row is not None and detail.row.path.endswith("prompted.png")
    assert detail.row.patch_map is not None
    qtbot.waitUntil(
        lambda: detail.preview.has_heatmap and not detail.preview.image_rect().isNull(), timeout=10_000
    )
    assert detail.heatmap_check.isEnabled()
    detail.heatmap_check.setChecked(False)
    assert not detail.preview.heatmap_visible
    detail.opacity_slider.setValue(80)
    assert abs(detail.preview.heatmap_opacity - 0.8) < 1e-9
    qtbot.waitUntil(lambda: "parameters" in detail.evidence_view.toPlainText(), timeout=10_000)
    text = detail.evidence_view.toPlainText()
    assert "cat astronaut" in text
    assert "Score" in detail.summary_label.text()  # the verdict sits beside the evidence, not replaced by it


def test_ctrl_o_opens_a_folder(qtbot: Any, bundled_models: Path) -> None:
    window = open_window(qtbot)
    assert window.open_folder_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)


def test_importing_the_app_leaves_onnxruntime_and_pyqtgraph_unloaded() -> None:
    code = (
        "import sys, desktop.qt.shell.app, desktop.qt.shell.main_window; "
        "print([m for m in ('onnxruntime', 'pyqtgraph') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
