"""What a new user meets first (issue 16): opening the app on a folder, changing the model, the threshold's
reset, the score bar's colour, files without an extension and what a scan skipped."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from desktop.qt.common.settings import AppSettings
from desktop.qt.scan.results.results_model import Column
from desktop.qt.scan.results.results_summary import SLIDER_STEPS
from desktop.qt.shell.main_window import MainWindow
from tests.helpers import images, tiny_models
from tests.qt.conftest import write_gray_images
from tests.qt.helpers import SCAN_TIMEOUT_MS, drop_paths, open_window, table_rows

pytestmark = pytest.mark.usefixtures("bundled_models")

LEVELS = [0, 60, 128, 180, 255]
# the same brightness graph under stricter thresholds: a model whose own decision point is 0.8
STRICT = {"decision": 0.8, "real": 0.3, "likely_real": 0.6, "likely_ai": 0.9, "ai": 0.97}


def _window_before_models_are_listed(qtbot: Any) -> MainWindow:
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    window.show()
    assert window.scan_page.toolbar.current_model() == ""  # the model list is read in the background
    return window


def test_opening_the_app_on_a_folder_scans_it_once_the_models_are_listed(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "f", LEVELS)
    window = _window_before_models_are_listed(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
        assert page.start_scan([str(tmp_path / "f")])  # what `pixelpatrol FOLDER` does at once
    assert finished.args[0].done == len(LEVELS)
    assert len(table_rows(window)) == len(LEVELS)
    assert not page.banner.isVisible()


def test_a_drop_in_the_first_moment_is_scanned_too(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "a", [10, 20])
    write_gray_images(tmp_path / "b", [250], prefix="bright")
    window = _window_before_models_are_listed(qtbot)
    page = window.scan_page
    with qtbot.waitSignals([page.scan_finished, page.scan_finished], timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [tmp_path / "a"])
        drop_paths(page, [tmp_path / "b"])  # both wait; the second then queues behind the first
    qtbot.waitUntil(lambda: not page.worker.busy and not page.queue, timeout=SCAN_TIMEOUT_MS)
    assert len(table_rows(window)) == 3


def test_no_usable_model_at_start_says_nothing_was_scanned(qtbot: Any, tmp_path: Path) -> None:
    for f in Path(os.environ["PIXELPATROL_BUNDLED_MODELS"]).iterdir():
        f.unlink()
    write_gray_images(tmp_path / "f", [10])
    window = _window_before_models_are_listed(qtbot)
    page = window.scan_page
    page.start_scan([str(tmp_path / "f")])
    qtbot.waitUntil(lambda: "Nothing was scanned" in page.banner.text, timeout=20_000)
    assert not page.worker.busy and not page.progress.isVisible()


def test_changing_the_model_marks_the_results_stale_and_offers_a_rescan_with_its_thresholds(
    qtbot: Any, tmp_path: Path, bundled_models: Path
) -> None:
    strict = tiny_models.build_model_with_contract(
        bundled_models / "tiny-strict.onnx", tiny_models.detector_contract("tiny-strict", thresholds=STRICT)
    )
    write_gray_images(tmp_path / "g", LEVELS)
    window = open_window(qtbot)
    page, bar, combo = window.scan_page, window.scan_page.results.filter_bar, window.scan_page.toolbar.model_combo
    first = str(bundled_models / "tiny-detector.onnx")
    combo.setCurrentIndex(combo.findData(first))
    qtbot.waitUntil(lambda: bar.threshold() == pytest.approx(0.5), timeout=20_000)
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [tmp_path / "g"])
    with qtbot.waitSignal(bar.threshold_changed, timeout=2000):
        bar.threshold_slider.setValue(int(0.2 * SLIDER_STEPS))  # the user's threshold for the first model
    assert not page.results_stale

    combo.setCurrentIndex(combo.findData(str(strict)))
    assert page.results_stale
    assert page.banner.isVisible() and "scored by" in page.banner.text
    assert page.banner.action_button.isVisible()
    assert {r.model for r, _ in table_rows(window).values()} == {"tiny-detector"}  # old rows stay, marked

    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        page.banner.action_button.click()  # "Rescan with this model"
    assert not page.results_stale and not page.banner.isVisible()
    rows = table_rows(window)
    assert len(rows) == len(LEVELS) and {r.model for r, _ in rows.values()} == {"tiny-strict"}
    qtbot.waitUntil(lambda: bar.threshold() == pytest.approx(0.8), timeout=20_000)  # its own, not 0.2
    verdicts = {name.rsplit("_", 1)[1].split(".")[0]: v for name, (_, v) in table_rows(window).items()}
    assert verdicts["180"] == "uncertain"  # score 0.83: likely AI at 0.5, uncertain under the strict bands

    combo.setCurrentIndex(combo.findData(first))  # back to the first model: its own threshold again
    assert page.results_stale
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        assert page.rescan()
    qtbot.waitUntil(lambda: bar.threshold() == pytest.approx(0.2), timeout=20_000)


def test_double_click_on_the_threshold_number_resets_it_to_the_models(qtbot: Any) -> None:
    window = open_window(qtbot)
    bar = window.scan_page.results.filter_bar
    with qtbot.waitSignal(bar.threshold_changed, timeout=2000):
        bar.threshold_slider.setValue(int(0.3 * SLIDER_STEPS))
    assert "(model)" not in bar.threshold_label.text()
    with qtbot.waitSignal(bar.threshold_changed, timeout=2000) as changed:
        qtbot.mouseDClick(bar.threshold_label, Qt.MouseButton.LeftButton)
    assert changed.args[0] == pytest.approx(0.5) and bar.threshold() == pytest.approx(0.5)
    assert bar.threshold_label.text() == "0.500 (model)"
    assert window.settings.threshold == pytest.approx(0.5)


def test_moving_the_threshold_repaints_the_score_bars_in_the_new_verdict_colour(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "g", LEVELS)
    window = open_window(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [tmp_path / "g"])
    changed: list[tuple[int, int]] = []

    def on_changed(top: QModelIndex, bottom: QModelIndex, *_: Any) -> None:
        changed.append((top.column(), bottom.column()))

    page.results.model.dataChanged.connect(on_changed)
    with qtbot.waitSignal(page.results.filter_bar.threshold_changed, timeout=2000):
        page.results.filter_bar.threshold_slider.setValue(int(0.1 * SLIDER_STEPS))
    # the bar is painted in the verdict's colour (ScoreBarDelegate): its cells must be repainted too
    assert any(left <= Column.SCORE <= right for left, right in changed)
    assert any(left <= Column.VERDICT <= right for left, right in changed)


def test_an_extensionless_image_is_scanned_and_the_summary_says_what_was_skipped(qtbot: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write_gray_images(folder, [20, 40])
    images.write(folder / "download", images.solid(240), format="JPEG", quality=95)
    (folder / "notes.txt").write_text("not an image")
    images.write(folder / ".thumb.png", images.solid(20))
    window = open_window(qtbot)
    page = window.scan_page
    messages: list[str] = []
    page.status_message.connect(messages.append)
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [folder])
    rows = table_rows(window)
    assert set(rows) == {"img_00000_020.png", "img_00001_040.png", "download"}
    assert rows["download"][1] == "ai" and rows["download"][0].error is None
    label = page.results.skipped_label
    assert not label.isHidden()
    assert "Skipped: 1 not an image, 1 hidden" in label.text()
    assert "notes.txt" in label.toolTip() and ".thumb.png" in label.toolTip()
    assert "skipped: 1 not an image, 1 hidden" in messages[-1]


def test_the_model_box_lists_detectors_only_and_says_what_each_is(
    qtbot: Any, bundled_models: Path, tiny_generator_path: Path, tiny_discriminator_path: Path,
    no_contract_model_path: Path,
) -> None:
    import shutil

    for src in (tiny_generator_path, tiny_discriminator_path, no_contract_model_path):
        shutil.copy(src, bundled_models / src.name)
    window = open_window(qtbot)
    toolbar = window.scan_page.toolbar
    combo = toolbar.model_combo
    paths = [str(combo.itemData(i)) for i in range(combo.count())]
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert str(bundled_models / "tiny-detector.onnx") in paths
    assert str(bundled_models / tiny_generator_path.name) not in paths  # for the Gallery, not for scanning
    assert str(bundled_models / tiny_discriminator_path.name) not in paths
    assert not any("unusable" in t for t in texts)
    broken = paths.index(str(bundled_models / no_contract_model_path.name))
    assert texts[broken].endswith("(cannot be used)")
    assert combo.itemData(broken, Qt.ItemDataRole.ToolTipRole).startswith("Cannot be used: ")
    detector = paths.index(str(bundled_models / "tiny-detector.onnx"))
    assert "Brightness-based test model" in combo.itemData(detector, Qt.ItemDataRole.ToolTipRole)
    assert "Gallery" in combo.toolTip() and "GPU" in toolbar.device_label.toolTip()


def test_the_verdict_counts_and_histogram_follow_the_filter(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "g", LEVELS)  # 0, 60: real-ish; 128 uncertain; 180 likely AI; 255 AI
    window = open_window(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [tmp_path / "g"])
    results = page.results
    assert results.counts.total_label.text() == "Total: 5"
    flagged = results.filter_bar.verdict_combo.findText("Flagged (likely AI or AI)")
    results.filter_bar.verdict_combo.setCurrentIndex(flagged)
    assert results.counts.total_label.text() == "Shown: 2 of 5 (filtered)"
    assert results.counts.labels["real"].text().endswith(": 0")
    assert results.counts.labels["ai"].text().endswith(": 1")
    assert int(results.histogram.counts.sum()) == 2
    results.filter_bar.verdict_combo.setCurrentIndex(0)
    results.filter_bar.search_edit.setText("_255")
    qtbot.waitUntil(lambda: results.counts.total_label.text() == "Shown: 1 of 5 (filtered)", timeout=2000)
    results.filter_bar.search_edit.clear()
    qtbot.waitUntil(lambda: results.counts.total_label.text() == "Total: 5", timeout=2000)


def test_ctrl_f_focuses_the_filter_box_from_any_tab(qtbot: Any) -> None:
    from PySide6.QtGui import QKeySequence

    window = open_window(qtbot)
    window.activateWindow()
    window.tabs.setCurrentWidget(window.models_page)
    assert window.find_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Find)
    window.find_action.trigger()
    assert window.tabs.currentWidget() is window.scan_page
    edit = window.scan_page.results.filter_bar.search_edit
    qtbot.waitUntil(lambda: edit.hasFocus() or QApplication.focusWidget() is edit, timeout=2000)


def test_about_names_the_version_and_each_models_data_licence(
    qtbot: Any, bundled_models: Path, tiny_generator_path: Path
) -> None:
    import shutil

    from desktop import __version__

    contract = tiny_models.detector_contract("faces-like")
    contract["card"]["training_data"] = "UTKFace crop_part1"
    contract["card"]["licence"] = "UTKFace is available for NON-COMMERCIAL RESEARCH PURPOSES ONLY"
    tiny_models.build_model_with_contract(bundled_models / "faces-like.onnx", contract)
    shutil.copy(tiny_generator_path, bundled_models / tiny_generator_path.name)
    window = open_window(qtbot)
    qtbot.waitUntil(lambda: len(window.models.choices) == 3, timeout=20_000)
    dialog = window.show_about()
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    assert f"PixelPatrol {__version__}" in text
    assert "UTKFace crop_part1" in text and "NON-COMMERCIAL RESEARCH PURPOSES ONLY" in text
    assert "tiny-generator" in text and "not stated in the card" in text
    assert "MIT" in text and "offline" in text
    dialog.close()


def test_the_scan_area_is_highlighted_while_files_are_dragged_over_it(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent

    write_gray_images(tmp_path / "d", [10])
    window = open_window(qtbot)
    page = window.scan_page
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "d"))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page.empty_state, enter)
    assert page.drop_overlay.isVisible() and page.drop_overlay.text == "Drop to scan this folder or image"
    assert page.drop_overlay.geometry() == page.rect()
    QApplication.sendEvent(page, QDragLeaveEvent())
    assert not page.drop_overlay.isVisible()
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page.empty_state, [tmp_path / "d"])
    assert not page.drop_overlay.isVisible()  # the drop itself ends the highlight


def test_verdict_cells_and_counts_explain_their_band(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "g", [255])
    window = open_window(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [tmp_path / "g"])
    model = page.results.model
    tip = model.data(model.index(0, Column.VERDICT), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("AI-generated: the score is above the model's 'AI' threshold")
    assert "Model: tiny-detector" in tip
    assert "cannot tell" in page.results.counts.labels["uncertain"].toolTip()
