"""The scan reads a file's evidence from the file it has open for decoding: one open per file, and the same
finding as reading the evidence on its own (`read_evidence`), PNG chunks after the image data left out by
both."""

from __future__ import annotations

import builtins
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL.PngImagePlugin import PngInfo

from desktop.core.models.detector import Detector
from desktop.core.scan.engine import decode_file
from desktop.core.scan.evidence import read_evidence
from desktop.core.scan.verdicts import assess
from tests.helpers import images


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _files(root: Path) -> list[Path]:
    camera = images.solid(100, (48, 40))
    exif = camera.getexif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Canon", "EOS R5", "Adobe Firefly 3"
    info = PngInfo()
    info.add_text("parameters", "a cat, Steps: 20, Sampler: Euler a")
    sd = images.write(root / "sd.png", images.solid(200, (40, 40)), pnginfo=info)
    late = images.write(root / "late.png", images.solid(50, (40, 40)))
    data = late.read_bytes()  # a generator's parameters after the image data: not read, by either path
    late.write_bytes(data[:-12] + _chunk(b"tEXt", b"parameters\x00a dog") + data[-12:])
    return [images.write(root / "camera.jpg", camera, exif=exif.tobytes()), sd, late,
            images.write(root / "plain.webp", images.solid(30, (40, 40)))]


def test_decode_and_evidence_share_one_open_and_agree_with_read_evidence(
    tmp_path: Path, tiny_detector_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    detector = Detector.load(tiny_detector_path, device="cpu")
    files = _files(tmp_path)
    expected = {str(f): assess(read_evidence(f)) for f in files}
    assert expected[str(files[1])].decides == "ai" and expected[str(files[2])].decides is None
    opened: list[str] = []
    real_open = builtins.open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    decoded = [decode_file(str(f), detector) for f in files]
    monkeypatch.undo()
    assert sorted(opened) == sorted(str(f) for f in files)  # each file once: decode and evidence together
    for d in decoded:
        assert d.error is None and d.finding == expected[d.path]
    assert decoded[0].finding is not None and decoded[0].finding.camera
    assert decoded[1].finding is not None and decoded[1].finding.decides == "ai"


def test_evidence_that_fails_never_fails_the_file(tmp_path: Path, tiny_detector_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    detector = Detector.load(tiny_detector_path, device="cpu")
    path = images.write(tmp_path / "a.png", images.solid(90, (40, 40)))

    def broken(*args: object) -> None:
        raise RuntimeError("a C2PA reader that crashes")

    monkeypatch.setattr("desktop.core.scan.evidence.evidence_of_open_file", broken)
    d = decode_file(str(path), detector)
    assert d.error is None and d.crops is not None and d.finding is None
