"""`pixelpatrol scan` on a folder scans an image that lost its extension and says what it skipped, and why."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from desktop.cli import main
from tests.helpers import images


def test_scan_includes_an_extensionless_jpeg_and_the_summary_names_what_was_skipped(
    tmp_path: Path, tiny_detector_path: Path, pixelpatrol_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "pics"
    images.write(root / "dark.png", images.solid(20))
    images.write(root / "download", images.solid(240), format="JPEG", quality=95)  # a JPEG without extension
    (root / "notes.txt").write_text("not an image")
    images.write(root / ".thumb.png", images.solid(20))

    assert main(["scan", str(root), "--model", str(tiny_detector_path)]) == 0
    out, err = capsys.readouterr()
    rows = {Path(r["path"]).name: r for r in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"dark.png", "download"}
    assert rows["download"]["verdict"] == "ai" and rows["download"]["error"] == ""
    assert "2 images" in err
    assert "skipped: 1 not an image, 1 hidden; --hidden includes hidden files" in err
