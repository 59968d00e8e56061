"""Scanning by drag-and-drop through the real main window, with a tiny real ONNX detector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.qt.conftest import expected_verdict, write_gray_images
from tests.qt.helpers import SCAN_TIMEOUT_MS, drop_paths, open_window, table_rows

pytestmark = pytest.mark.usefixtures("bundled_models")

LEVELS = [0, 40, 100, 128, 150, 200, 255]


def test_dropping_a_folder_scans_it_to_completion_with_the_right_rows(qtbot: Any, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_gray_images(folder, LEVELS[:4])
    write_gray_images(folder / "sub", LEVELS[4:], prefix="deep")
    (folder / "notes.txt").write_text("not an image")
    window = open_window(qtbot)
    page = window.scan_page
    assert page.stack.currentWidget() is page.empty_state

    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
        drop_paths(page.empty_state, [folder])  # any widget of the Scan area takes the drop

    event = finished.args[0]
    assert not event.cancelled and event.done == len(LEVELS) and event.errors == 0
    rows = table_rows(window)
    assert len(rows) == len(LEVELS)
    for name, (row, verdict) in rows.items():
        level = int(name.rsplit("_", 1)[1].split(".")[0])
        assert verdict == expected_verdict(level), name
        assert (row.width, row.height, row.error) == (32, 32, None)
    assert page.stack.currentWidget() is page.splitter
    assert not page.progress.isVisible()
    assert page.results.counts.total_label.text() == f"Total: {len(LEVELS)}"
    assert int(page.results.histogram.counts.sum()) == len(LEVELS)
    assert str(folder) in window.settings.recent_folders


def test_include_subfolders_off_scans_only_the_top_level(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "top", [10, 20])
    write_gray_images(tmp_path / "top" / "sub", [30, 40, 50])
    window = open_window(qtbot)
    page = window.scan_page
    page.toolbar.recursive_check.setChecked(False)
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [tmp_path / "top"])
    assert len(table_rows(window)) == 2


def test_drop_during_a_scan_is_queued_and_its_rows_are_added(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "a", [0] * 300)
    write_gray_images(tmp_path / "b", [255] * 5, prefix="bright")
    window = open_window(qtbot)
    page = window.scan_page
    drop_paths(page, [tmp_path / "a"])
    assert page.worker.busy
    page.worker.pause()  # hold the first scan so the second drop certainly lands while it runs
    drop_paths(page, [tmp_path / "b"])
    assert len(page.queue) == 1
    with qtbot.waitSignals([page.scan_finished, page.scan_finished], timeout=SCAN_TIMEOUT_MS):
        page.worker.resume()
    qtbot.waitUntil(lambda: not page.worker.busy and not page.queue, timeout=SCAN_TIMEOUT_MS)
    verdicts = [v for _, v in table_rows(window).values()]
    assert len(verdicts) == 305
    assert verdicts.count("ai") == 5 and verdicts.count("real") == 300


def test_cancel_mid_scan_stops_early_and_keeps_the_rows_done(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "many", [60] * 1500)
    window = open_window(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.worker.started, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [tmp_path / "many"])
        page.worker.pause()  # the thread stops pulling right after its first event
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
        page.progress.cancel_button.click()
        assert not page.progress.cancel_button.isEnabled()  # the button reacts at once
    event = finished.args[0]
    assert event.cancelled
    assert event.done < 1500
    assert page.results.model.rowCount() == event.done
    assert not page.worker.busy


def test_pause_button_toggles_to_resume_and_back(qtbot: Any, tmp_path: Path) -> None:
    write_gray_images(tmp_path / "p", [90] * 400)
    window = open_window(qtbot)
    page = window.scan_page
    drop_paths(page, [tmp_path / "p"])
    page.progress.pause_button.click()
    assert page.worker.paused and page.progress.pause_button.text() == "Resume"
    # the thread stops pulling after at most one more event; once that is drained, nothing arrives
    thread = page.worker._thread
    assert thread is not None  # 400 files cannot be done in the moment between drop and click
    qtbot.waitUntil(lambda: thread.holding.is_set() and not thread._buffer, timeout=5000)
    rows_when_paused = page.results.model.rowCount()
    with qtbot.assertNotEmitted(page.worker.rows_ready, wait=500):
        pass
    assert page.results.model.rowCount() == rows_when_paused < 400
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        page.progress.pause_button.click()
        assert not page.worker.paused and page.progress.pause_button.text() == "Pause"
    assert page.results.model.rowCount() == 400


def test_missing_folder_is_a_banner_message_not_a_crash(qtbot: Any, tmp_path: Path) -> None:
    window = open_window(qtbot)
    page = window.scan_page
    drop_paths(page, [tmp_path / "gone"])
    assert page.banner.isVisible() and page.banner.level == "error"
    assert "Not found" in page.banner.text and "gone" in page.banner.text
    assert not page.worker.busy


def test_window_survives_a_folder_of_broken_files_and_lists_each_reason(qtbot: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "text.png").write_bytes(b"this is not a png at all")
    good = write_gray_images(bad, [255])[0]
    (bad / "truncated.jpg").write_bytes(good.read_bytes()[:40])
    (bad / "garbage.webp").write_bytes(bytes(range(256)) * 4)
    window = open_window(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
        drop_paths(page, [bad])
    assert finished.args[0].errors == 4
    rows = table_rows(window)
    assert len(rows) == 5
    for name in ("empty.jpg", "text.png", "truncated.jpg", "garbage.webp"):
        row, verdict = rows[name]
        assert verdict == "error" and row.error, name
    assert page.results.counts.labels["error"].text().endswith(": 4")
    assert not page.banner.isVisible()  # errors are rows, not dialogs or banners


def test_a_bad_model_is_a_clear_message_in_the_window(
    qtbot: Any, tmp_path: Path, no_contract_model_path: Path
) -> None:
    write_gray_images(tmp_path / "x", [10])
    window = open_window(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.scan_failed, timeout=SCAN_TIMEOUT_MS) as failed:
        page.toolbar.model_combo.addItem("broken", str(no_contract_model_path))
        page.toolbar.model_combo.setCurrentIndex(page.toolbar.model_combo.count() - 1)
        drop_paths(page, [tmp_path / "x"])
    assert "Traceback" not in failed.args[0]
    assert page.banner.isVisible() and page.banner.level == "error"
    assert "contract" in page.banner.text.lower() or "pixelpatrol" in page.banner.text.lower()
