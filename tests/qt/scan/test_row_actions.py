"""Acting on results: export round-trips, copy/move flagged (asks, never overwrites, undo)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from desktop.core.models.contract import verdict_for
from tests.qt.conftest import write_gray_images
from tests.qt.helpers import SCAN_TIMEOUT_MS, drop_paths, open_window

LEVELS = [0, 30, 128, 200, 255, 250]


@pytest.fixture
def scanned(qtbot: Any, tmp_path: Path, bundled_models: Path) -> Any:
    write_gray_images(tmp_path / "in", LEVELS)
    broken = tmp_path / "in" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really")
    window = open_window(qtbot)
    with qtbot.waitSignal(window.scan_page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(window.scan_page, [tmp_path / "in"])
    return window


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_export_writes_what_the_table_shows_and_reads_back(scanned: Any, tmp_path: Path, suffix: str) -> None:
    page = scanned.scan_page
    out = tmp_path / f"results{suffix}"
    page.file_actions.ask_save_path = lambda *_: str(out)
    page.results.export_button.click()
    if suffix == ".csv":
        with out.open(newline="", encoding="utf-8") as fh:
            records = list(csv.DictReader(fh))
    else:
        records = json.loads(out.read_text(encoding="utf-8"))
        records = records["rows"] if isinstance(records, dict) else records
    shown = {row.path: (row, verdict) for row, verdict in page.results.shown_rows()}
    assert {r["path"] for r in records} == set(shown)
    for rec in records:
        row, verdict = shown[rec["path"]]
        if row.error:
            assert rec["error"] and not rec["score"]
        else:
            assert float(rec["score"]) == pytest.approx(row.score, abs=1e-6)
            assert rec["verdict"] == verdict


def test_export_uses_the_users_threshold_labels(scanned: Any, tmp_path: Path, qtbot: Any) -> None:
    page = scanned.scan_page
    with qtbot.waitSignal(page.results.filter_bar.threshold_changed, timeout=2000):
        page.results.filter_bar.threshold_slider.setValue(50)  # 0.05: nearly everything leans AI
    out = tmp_path / "t.json"
    page.file_actions.ask_save_path = lambda *_: str(out)
    page.results.export_button.click()
    records = json.loads(out.read_text(encoding="utf-8"))
    records = records["rows"] if isinstance(records, dict) else records
    mid = next(r for r in records if r["path"].endswith("_128.png"))
    assert mid["verdict"] == "likely_ai"  # the engine stored "uncertain" at the model's own threshold
    for rec in records:
        if rec["score"] is not None:
            assert rec["verdict"] == verdict_for(rec["score"], page._contract_thresholds, 0.05)


def test_move_flagged_asks_first_never_overwrites_and_undo_puts_files_back(
    scanned: Any, tmp_path: Path
) -> None:
    page = scanned.scan_page
    target = tmp_path / "flagged"
    target.mkdir()
    clash = target / "img_00004_255.png"
    clash.write_bytes(b"someone else's file")
    questions: list[str] = []
    page.file_actions.ask_folder = lambda *_: str(target)
    page.file_actions.confirm = lambda _p, _t, text: questions.append(text) or True
    flagged = page.results.flagged_paths()
    assert sorted(Path(p).name for p in flagged) == [
        "img_00003_200.png",
        "img_00004_255.png",
        "img_00005_250.png",
    ]

    page.results.move_flagged_button.click()

    assert len(questions) == 1 and "Move 3 images" in questions[0]
    assert not any(Path(p).exists() for p in flagged)
    assert clash.read_bytes() == b"someone else's file"  # not overwritten
    assert len(list(target.iterdir())) == 4
    assert page.results.undo_button.isEnabled()
    paths_in_table = {row.path for row, _ in page.results.shown_rows()}
    assert all(
        Path(p).exists() for p in paths_in_table if not p.endswith("broken.jpg")
    )  # rows follow the files
    assert sum(p.startswith(str(target)) for p in paths_in_table) == 3

    page.results.undo_button.click()

    assert all(Path(p).exists() for p in flagged)
    assert [p.name for p in target.iterdir()] == ["img_00004_255.png"]
    assert sorted(page.results.flagged_paths()) == sorted(flagged)  # and back again
    assert clash.read_bytes() == b"someone else's file"
    assert not page.results.undo_button.isEnabled()


def test_declining_the_question_moves_nothing(scanned: Any, tmp_path: Path) -> None:
    page = scanned.scan_page
    page.file_actions.ask_folder = lambda *_: str(tmp_path / "nowhere")
    page.file_actions.confirm = lambda *_: False
    flagged = page.results.flagged_paths()
    page.results.move_flagged_button.click()
    assert all(Path(p).exists() for p in flagged)
    assert not (tmp_path / "nowhere").exists()


def test_copy_path_puts_the_selected_paths_on_the_clipboard(scanned: Any) -> None:
    from PySide6.QtGui import QGuiApplication

    page = scanned.scan_page
    page.results.select_proxy_row(0)
    page.detail.copy_button.click()
    assert QGuiApplication.clipboard().text() == page.results.selected_rows()[0][0].path
