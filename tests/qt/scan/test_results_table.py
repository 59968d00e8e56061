"""The results table: live relabelling by threshold, verdict and text filters, sorting any column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.core.models.contract import verdict_for
from desktop.core.scan.events import ScanRow
from desktop.qt.scan.results.results_model import Column, ResultsModel
from desktop.qt.scan.results.results_proxy import ResultsFilterProxy
from desktop.qt.scan.results.results_summary import SLIDER_STEPS
from tests.qt.conftest import write_gray_images
from tests.qt.helpers import SCAN_TIMEOUT_MS, drop_paths, open_window

LEVELS = [0, 60, 110, 128, 140, 180, 230, 255]


@pytest.fixture
def scanned(qtbot: Any, tmp_path: Path, bundled_models: Path) -> Any:
    write_gray_images(tmp_path / "g", LEVELS)
    window = open_window(qtbot)
    with qtbot.waitSignal(window.scan_page.scan_finished, timeout=SCAN_TIMEOUT_MS):
        drop_paths(window.scan_page, [tmp_path / "g"])
    return window


def _shown_names(window: Any) -> list[str]:
    return [Path(row.path).name for row, _ in window.scan_page.results.shown_rows()]


def _verdict_of(window: Any, level: int) -> str:
    model = window.scan_page.results.model
    return next(
        model.verdict_at(r)
        for r in range(model.rowCount())
        if model.row_at(r).path.endswith(f"_{level:03d}.png")
    )


def test_threshold_slider_relabels_verdicts_without_rescanning(qtbot: Any, scanned: Any) -> None:
    page = scanned.scan_page
    bar = page.results.filter_bar
    assert _verdict_of(scanned, 128) == "uncertain"  # score 0.5 at the model's decision 0.5
    assert _verdict_of(scanned, 180) == "likely_ai"
    before_scan_rows = [r for r, _ in page.results.shown_rows()]
    with qtbot.waitSignal(bar.threshold_changed, timeout=2000):
        bar.threshold_slider.setValue(int(0.1 * SLIDER_STEPS))  # everything above 0.1 now leans AI
    assert _verdict_of(scanned, 128) == "likely_ai"  # band edges moved around the new decision point
    thresholds = page._contract_thresholds
    for row, verdict in page.results.shown_rows():
        assert verdict == verdict_for(row.score, thresholds, 0.1)
    assert [r for r, _ in page.results.shown_rows()] == before_scan_rows  # same rows, new labels
    counts = page.results.model.counts()
    assert counts["ai"] + counts["likely_ai"] > 4
    assert scanned.settings.threshold == pytest.approx(0.1)
    with qtbot.waitSignal(bar.threshold_changed, timeout=2000):
        bar.threshold_slider.setValue(int(0.9 * SLIDER_STEPS))
    assert _verdict_of(scanned, 180) == "uncertain"  # was likely_ai at the model's threshold
    for row, verdict in page.results.shown_rows():
        assert verdict == verdict_for(row.score, thresholds, 0.9)


def test_filter_by_verdict_and_by_text(scanned: Any) -> None:
    results = scanned.scan_page.results
    combo = results.filter_bar.verdict_combo
    combo.setCurrentIndex(combo.findText("Flagged (likely AI or AI)"))
    flagged = _shown_names(scanned)
    assert flagged and all(int(n[-7:-4]) >= 160 for n in flagged)
    results.filter_bar.search_edit.setText("_255")
    assert _shown_names(scanned) == ["img_00007_255.png"]
    combo.setCurrentIndex(combo.findText("Real"))
    assert _shown_names(scanned) == []
    results.filter_bar.search_edit.clear()
    combo.setCurrentIndex(combo.findText("All results"))
    assert len(_shown_names(scanned)) == len(LEVELS)


def test_clicking_headers_sorts_by_score_and_by_name(scanned: Any) -> None:
    table = scanned.scan_page.results.table
    table.sortByColumn(Column.SCORE, Qt.SortOrder.DescendingOrder)
    scores = [row.score for row, _ in scanned.scan_page.results.shown_rows()]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0.95
    table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
    names = _shown_names(scanned)
    assert names == sorted(names)


def _row(i: int, score: float | None, size: int | None = 10) -> ScanRow:
    return ScanRow(
        f"/x/f{i:03d}.jpg",
        score,
        None if score is None else "uncertain",
        8,
        8,
        "JPEG",
        size,
        0,
        None if score is not None else "cannot decode",
    )


def test_sort_keeps_missing_values_last_and_selection_follows_the_row(qtbot: Any) -> None:
    model = ResultsModel()
    proxy = ResultsFilterProxy(model)
    model.append_rows([_row(0, 0.2), _row(1, None, None), _row(2, 0.9), _row(3, 0.5)])
    keep = model.index(2, Column.NAME)
    from PySide6.QtCore import QPersistentModelIndex

    tracked = QPersistentModelIndex(keep)
    proxy.sort(Column.SCORE, Qt.SortOrder.DescendingOrder)
    assert [model.row_at(r).score for r in range(4)] == [0.9, 0.5, 0.2, None]
    assert model.row_at(tracked.row()).path.endswith("f002.jpg")
    proxy.sort(Column.SIZE, Qt.SortOrder.AscendingOrder)
    assert model.row_at(3).size is None


def test_rows_arrive_in_chunks_and_large_tables_count_correctly(qtbot: Any) -> None:
    model = ResultsModel()
    proxy = ResultsFilterProxy(model)
    for chunk in range(20):
        model.append_rows([_row(chunk * 5000 + i, ((chunk * 5000 + i) % 1000) / 1000) for i in range(5000)])
    assert model.rowCount() == proxy.rowCount() == 100_000
    proxy.sort(Column.SCORE, Qt.SortOrder.AscendingOrder)
    assert model.row_at(0).score == 0.0 and model.row_at(99_999).score == 0.999
    assert sum(model.counts().values()) == 100_000


def test_a_discriminator_is_relabelled_with_its_default_bands(qtbot: Any, tmp_path: Path, bundled_models: Path
                                                              ) -> None:
    """A discriminator's contract has no thresholds: the slider must use the detector's own (default) bands,
    not fall back to no relabelling (the bug: scan_page read contract.thresholds)."""
    from desktop.core.models.detector import DEFAULT_THRESHOLDS, Detector
    from tests.helpers import tiny_models

    contract = tiny_models.detector_contract("tiny-disc", kind="discriminator")
    del contract["thresholds"]
    disc = Detector.load(tiny_models.build_model_with_contract(tmp_path / "disc.onnx", contract), device="cpu")
    window = open_window(qtbot)
    page = window.scan_page
    page._rows_model = ""
    page._on_models_detector_ready(str(disc.path), disc)
    assert page._contract_thresholds == DEFAULT_THRESHOLDS
    rows = [ScanRow(str(tmp_path / f"{i}.png"), s, "uncertain", 8, 8, "PNG", 1, 1, None, model="tiny-disc")
            for i, s in enumerate((0.01, 0.99))]
    page.results.model.append_rows(rows)
    with qtbot.waitSignal(page.results.filter_bar.threshold_changed, timeout=2000):
        page.results.filter_bar.threshold_slider.setValue(int(0.5 * SLIDER_STEPS) + 1)
    assert [page.results.model.verdict_at(r) for r in range(2)] == ["real", "ai"]
