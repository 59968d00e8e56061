"""Scan history (reopen, resume a cut-off scan), remembered settings, and the real app in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from desktop.core.models.detector import Detector
from desktop.core.scan.engine import scan
from desktop.core.scan.events import ScanFinished
from desktop.core.scan.store import ResultStore
from desktop.qt.common.settings import AppSettings
from tests.qt.conftest import write_gray_images
from tests.qt.helpers import SCAN_TIMEOUT_MS, drop_paths, open_window, table_rows

ROOT = Path(__file__).resolve().parents[3]


def test_reopening_a_past_scan_shows_its_rows(qtbot: Any, tmp_path: Path, bundled_models: Path) -> None:
    write_gray_images(tmp_path / "first", [0, 255, 128])
    write_gray_images(tmp_path / "second", [10])
    window = open_window(qtbot)
    page = window.scan_page
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS) as first:
        drop_paths(page, [tmp_path / "first"])
    before = {name: verdict for name, (_, verdict) in table_rows(window).items()}
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(page, [tmp_path / "second"])
    assert len(table_rows(window)) == 1

    with qtbot.waitSignal(page.history_loaded, timeout=5000):
        page.open_scan(first.args[0].scan_id)
    assert {name: verdict for name, (_, verdict) in table_rows(window).items()} == before


def test_history_dialog_lists_scans_newest_first(qtbot: Any, tmp_path: Path, bundled_models: Path) -> None:
    from desktop.qt.scan.history_dialog import HistoryDialog

    write_gray_images(tmp_path / "a", [0])
    window = open_window(qtbot)
    with qtbot.waitSignal(window.scan_page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(window.scan_page, [tmp_path / "a"])
    dialog = HistoryDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.list_widget.count() == 1
    assert (
        "finished" in dialog.list_widget.item(0).text()
        and str(tmp_path / "a") in dialog.list_widget.item(0).text()
    )
    with qtbot.waitSignal(dialog.reopen_requested) as reopen:
        dialog.reopen_button.click()
    assert isinstance(reopen.args[0], int)


def test_a_cut_off_scan_offers_resume_and_finishes_the_rest(
    qtbot: Any, tmp_path: Path, bundled_models: Path
) -> None:
    folder = tmp_path / "big"
    write_gray_images(folder, [255] * 300)
    detector = Detector.load(bundled_models / "tiny-detector.onnx")
    store = ResultStore()
    events = scan([folder], detector, store=store)
    for event in events:  # take the first rows, then abandon the generator like a crash would
        if getattr(event, "rows", None):
            break
    events.close()
    store.close()
    assert [s.status for s in ResultStore().list_scans()] == ["interrupted"]

    window = open_window(qtbot)
    page = window.scan_page
    assert page.banner.isVisible() and "cut off" in page.banner.text
    with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
        page.banner.action_button.click()
    assert isinstance(finished.args[0], ScanFinished) and not finished.args[0].cancelled
    assert len(table_rows(window)) == 300
    assert {v for _, v in table_rows(window).values()} == {"ai"}


def test_window_remembers_size_threshold_and_recent_folders(
    qtbot: Any, tmp_path: Path, bundled_models: Path
) -> None:
    write_gray_images(tmp_path / "r", [0])
    window = open_window(qtbot)
    window.resize(1111, 707)
    with qtbot.waitSignal(window.scan_page.results.filter_bar.threshold_changed, timeout=2000):
        window.scan_page.results.filter_bar.threshold_slider.setValue(700)
    with qtbot.waitSignal(window.scan_page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(window.scan_page, [tmp_path / "r"])
    window.close()

    settings = AppSettings()
    assert settings.threshold == pytest.approx(0.7)
    assert settings.recent_folders[0] == str(tmp_path / "r")
    again = open_window(qtbot)
    assert again.height() == 707  # (the offscreen screen is 800 px wide, so Qt clamps the width on restore)
    assert again.scan_page.results.filter_bar.threshold() == pytest.approx(0.7)
    assert Path(os.environ["PIXELPATROL_HOME"], "settings.ini").is_file()  # isolated per test


def test_the_real_app_starts_and_quits_in_smoke_mode(tmp_path: Path, bundled_models: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-m", "desktop", "gui", "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "smoke: window shown" in result.stdout
    assert "Traceback" not in result.stderr
