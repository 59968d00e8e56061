from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from desktop.core.scan.actions import transfer_files, undo
from desktop.core.scan.events import ScanRow
from desktop.core.scan.evidence import read_evidence
from desktop.core.scan.export import format_for, write_rows
from tests.helpers import images


def test_exif_camera_and_generator_software_are_evidence(tmp_path: Path) -> None:
    image = images.solid(100)
    exif = image.getexif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Canon", "EOS R5", "Adobe Firefly 3"
    path = images.write(tmp_path / "e.jpg", image, exif=exif.tobytes())
    ev = read_evidence(path)
    assert ev.camera == "Canon EOS R5" and ev.software == "Adobe Firefly 3"
    assert "EXIF camera: Canon EOS R5" in ev.hints
    assert any("names an image generator" in h for h in ev.hints)
    assert ev.c2pa is None and ev.error is None


def test_png_text_chunks_of_generators_are_found(tmp_path: Path) -> None:
    info = PngInfo()
    info.add_text("parameters", "a cat, Steps: 20, Sampler: Euler a, CFG scale: 7")
    info.add_text("prompt", json.dumps({"3": {"class_type": "KSampler"}}))
    info.add_itxt("workflow", json.dumps({"nodes": []}), zip=True)
    path = images.write(tmp_path / "sd.png", images.solid(1), pnginfo=info)
    ev = read_evidence(path)
    assert ev.text["parameters"].startswith("a cat")
    assert {"text chunk 'parameters': Stable Diffusion web UI parameters", "text chunk 'prompt': ComfyUI prompt",
            "text chunk 'workflow': ComfyUI workflow"} <= set(ev.hints)


def test_evidence_of_a_plain_or_broken_file_is_empty_not_an_exception(tmp_path: Path) -> None:
    plain = read_evidence(images.write(tmp_path / "p.png", images.solid(3)))
    assert plain.hints == [] and plain.c2pa is None and plain.error is None
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    assert read_evidence(bad).error is not None


def _row(path: str, score: float | None, error: str | None = None) -> ScanRow:
    return ScanRow(path, score, None if score is None else "ai", 1, 2, "PNG", 3, 4, error,
                   np.zeros((2, 2), np.float32))


def test_export_formats_round_trip(tmp_path: Path) -> None:
    rows = [_row("/a/ü.png", 0.91234567), _row("/b.jpg", None, "empty file (0 bytes)")]
    assert write_rows(rows, tmp_path / "r.json") == 2
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data[0]["path"] == "/a/ü.png" and data[0]["score"] == 0.912346 and data[1]["error"]
    write_rows([], tmp_path / "e.json")
    assert json.loads((tmp_path / "e.json").read_text()) == []
    assert format_for("x.NDJSON") == "jsonl"
    with pytest.raises(ValueError, match="unknown output format"):
        format_for("x.txt")


def test_copy_never_overwrites_and_undo_removes_only_unchanged_copies(tmp_path: Path) -> None:
    src = tmp_path / "src"
    a = images.write(src / "a.png", images.solid(1))
    b = images.write(src / "sub" / "a.png", images.solid(2))
    dest = tmp_path / "flagged"
    images.write(dest / "a.png", images.solid(3))  # already there: must survive
    result = transfer_files([a, b, src / "missing.png"], dest, "copy", log_dir=tmp_path / "logs")
    assert (result.done, result.failed) == (2, 1)
    assert sorted(p.name for p in dest.iterdir()) == ["a (1).png", "a (2).png", "a.png"]
    assert np.asarray(Image.open(dest / "a.png")).mean() == 3 and a.exists() and b.exists()
    log = json.loads(result.log_path.read_text())
    assert log["action"] == "copy" and [i["status"] for i in log["items"]] == ["ok", "ok", "error"]
    images.write(dest / "a (2).png", images.solid(9))  # the user edited one copy
    undone = undo(result.log_path)
    assert (undone.done, undone.failed) == (1, 1)
    assert sorted(p.name for p in dest.iterdir()) == ["a (2).png", "a.png"]
    with pytest.raises(ValueError, match="already undone"):
        undo(result.log_path)


def test_move_and_undo_restore_the_original_places(tmp_path: Path) -> None:
    a = images.write(tmp_path / "in" / "x.jpg", images.solid(5), quality=90)
    original = a.read_bytes()
    result = transfer_files([a], tmp_path / "out", "move", log_dir=tmp_path / "logs")
    assert result.done == 1 and not a.exists() and (tmp_path / "out" / "x.jpg").read_bytes() == original
    assert undo(result.log_path).done == 1
    assert a.read_bytes() == original and not (tmp_path / "out" / "x.jpg").exists()
