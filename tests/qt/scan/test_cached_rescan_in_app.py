"""A rescan in the app: the rows come from the cache, copied inside the store and read back in the scan's thread
(desktop/core/scan/store_copy.py), and the table, counts and histogram show what the first scan showed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.qt.conftest import write_gray_images
from tests.qt.helpers import SCAN_TIMEOUT_MS, open_window, table_rows

pytestmark = pytest.mark.usefixtures("bundled_models")

LEVELS = [0, 30, 60, 100, 128, 150, 180, 220, 255] * 70  # 630 files: more than one chunk of 500


def test_a_rescan_shows_the_first_scans_rows_from_the_cache(qtbot: Any, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    write_gray_images(folder, LEVELS)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    window = open_window(qtbot)
    page = window.scan_page
    runs = []
    for _ in range(2):
        with qtbot.waitSignal(page.scan_finished, timeout=SCAN_TIMEOUT_MS) as finished:
            assert page.start_scan([str(folder)])
        runs.append((finished.args[0], table_rows(window)))
    (first, first_rows), (again, again_rows) = runs
    assert again.done == first.done == len(LEVELS) + 1
    assert again_rows.keys() == first_rows.keys()
    assert all(row.cached for row, _ in again_rows.values())
    assert not any(row.cached for row, _ in first_rows.values())
    for name, (row, verdict) in again_rows.items():
        twin, twin_verdict = first_rows[name]
        assert (row.score, row.error, row.model, row.reason, verdict) == (
            twin.score, twin.error, twin.model, twin.reason, twin_verdict)
    assert again_rows["broken.png"][0].error
