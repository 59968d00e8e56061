"""A JPEG fed to a one-row "multiscale" model is decoded in two cheap passes: the crops' rows at full
resolution (the file's exact pixels) and the whole image DCT-scaled for the whole view."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from desktop.core.models.contract import ModelContract, contract_from_dict
from desktop.core.models.detector import Detector
from desktop.core.scan import decode
from desktop.core.scan.decode import jpeg_split_rows, jpeg_top_rows, load_image, preprocess, to_rgb
from desktop.core.scan.engine import decode_file
from desktop.core.scan.evidence import read_evidence
from desktop.core.scan.verdicts import assess
from tests.helpers import images, tiny_models


@pytest.fixture
def one_crop() -> ModelContract:
    """A 32 px multiscale model with one native crop (top-left) plus the whole view, as realworld-detector."""
    data = tiny_models.detector_contract("m", 32, grid=None, feed_mode="multiscale")
    data["feed"]["max_patches"] = 1
    return contract_from_dict(data)


def _photo_like(size: tuple[int, int], seed: int = 3) -> Image.Image:
    """Smooth shapes plus fine noise: content whose scaled decode differs a little from a full one."""
    noise = images.noise(seed, (size[0] // 8, size[1] // 8)).resize(size, Image.Resampling.BICUBIC)
    grain = np.random.default_rng(seed).integers(-12, 13, (size[1], size[0], 3))
    arr = np.clip(np.asarray(noise.filter(ImageFilter.GaussianBlur(2)), dtype=int) + grain, 0, 255)
    return Image.fromarray(arr.astype(np.uint8))


@pytest.fixture
def top_rows_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts the scan asked `jpeg_top_rows` for: the split path was taken once per entry."""
    calls: list[int] = []

    def spy(fh: io.BufferedReader, rows: int) -> Image.Image:
        calls.append(rows)
        return jpeg_top_rows(fh, rows)

    monkeypatch.setattr(decode, "jpeg_top_rows", spy)
    return calls


def _full_decode(path: Path, contract: ModelContract) -> np.ndarray:
    with Image.open(path) as img:
        img.load()
        crops, _ = preprocess(to_rgb(ImageOps.exif_transpose(img) or img), contract)
    return crops


@pytest.mark.parametrize("size", [(640, 480), (480, 700), (1000, 130), (1000, 120)])
def test_split_decode_keeps_the_crops_exact_and_the_whole_view_close(tmp_path: Path, one_crop: ModelContract,
                                                                      size: tuple[int, int],
                                                                      top_rows_calls: list[int]) -> None:
    path = images.write(tmp_path / "p.jpg", _photo_like(size), quality=92)
    decoded = load_image(path, one_crop)
    reference = _full_decode(path, one_crop)
    assert decoded.crops is not None and decoded.crops.shape == reference.shape
    assert (decoded.width, decoded.height) == size and decoded.grid == (1, 1)
    assert np.array_equal(decoded.crops[:-1], reference[:-1])  # native pixels, bit for bit
    diff = np.abs(decoded.crops[-1].astype(int) - reference[-1].astype(int))
    if jpeg_split_rows(*size, one_crop) is None:  # too small to gain: one full decode, as before
        assert size == (1000, 120) and diff.max() == 0 and top_rows_calls == []
    else:
        assert top_rows_calls == [32]
        # these fine-grained pictures are harder on the scaled decode than photos (mean 0.16 on 400 of them)
        assert diff.mean() < 2.0 and diff.max() < 40


def test_split_applies_only_where_it_saves_work(one_crop: ModelContract) -> None:
    assert jpeg_split_rows(640, 480, one_crop) == 32
    assert jpeg_split_rows(120, 120, one_crop) is None  # the scaled decode would not be smaller than 2 x view
    assert jpeg_split_rows(20, 20, one_crop) is None  # smaller than a crop: whole view only
    four = contract_from_dict(tiny_models.detector_contract("m4", 32, grid=None, feed_mode="multiscale"))
    assert jpeg_split_rows(640, 480, four) is None  # a 2 x 2 grid needs the bottom rows too
    resize = contract_from_dict(tiny_models.detector_contract("r", 32, grid=None))
    assert jpeg_split_rows(640, 480, resize) is None


def test_top_rows_decode_only_those_rows_and_equal_a_full_decode(tmp_path: Path) -> None:
    path = images.write(tmp_path / "p.jpg", _photo_like((320, 240)), quality=90, subsampling=2)
    with Image.open(path) as img:
        full = np.asarray(img.convert("RGB"))
    with path.open("rb") as fh:
        top = jpeg_top_rows(fh, 40)
    assert top.size == (320, 40)
    assert np.array_equal(np.asarray(top.convert("RGB")), full[:40])
    with path.open("rb") as fh:  # every row: libjpeg finishes cleanly
        assert np.array_equal(np.asarray(jpeg_top_rows(fh, 240).convert("RGB")), full)


def test_top_rows_of_a_stream_cut_before_them_raise(tmp_path: Path) -> None:
    buf = io.BytesIO()
    _photo_like((320, 240)).save(buf, "JPEG", quality=95)
    cut = io.BytesIO(buf.getvalue()[: len(buf.getvalue()) // 4])
    with pytest.raises(OSError, match="truncated"):
        jpeg_top_rows(cut, 200)


def test_truncated_large_jpeg_is_still_an_error_row(tmp_path: Path, one_crop: ModelContract) -> None:
    path = images.write(tmp_path / "p.jpg", _photo_like((640, 480)), quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])  # the crops' rows are intact, the rest is missing
    decoded = load_image(path, one_crop)
    assert decoded.crops is None and decoded.error is not None and "truncated" in decoded.error


def test_mpo_first_picture_takes_the_split_too(tmp_path: Path, one_crop: ModelContract,
                                              top_rows_calls: list[int]) -> None:
    path = tmp_path / "p.mpo"
    _photo_like((640, 480)).save(path, save_all=True, append_images=[_photo_like((640, 480), 5)], quality=90)
    decoded = load_image(path, one_crop)
    reference = _full_decode(path, one_crop)
    assert decoded.format == "MPO" and decoded.crops is not None and top_rows_calls == [32]
    assert np.array_equal(decoded.crops[:-1], reference[:-1])
    assert np.abs(decoded.crops[-1].astype(int) - reference[-1].astype(int)).mean() < 2.0
    with path.open("rb") as fh:
        assert jpeg_top_rows(fh, 32).size == (640, 32)


def test_progressive_jpeg_takes_one_full_decode(tmp_path: Path, one_crop: ModelContract,
                                                top_rows_calls: list[int]) -> None:
    path = tmp_path / "p.jpg"
    _photo_like((640, 480)).save(path, quality=90, progressive=True)
    decoded = load_image(path, one_crop)
    assert decoded.crops is not None and np.array_equal(decoded.crops, _full_decode(path, one_crop))
    assert top_rows_calls == []


def test_rotated_grey_and_cmyk_jpegs_take_the_full_decode_or_stay_exact(tmp_path: Path, one_crop: ModelContract,
                                                                   top_rows_calls: list[int]) -> None:
    for mode in ("L", "CMYK"):
        other = images.write(tmp_path / f"{mode}.jpg", _photo_like((640, 480)).convert(mode), quality=90)
        decoded = load_image(other, one_crop)
        reference = _full_decode(other, one_crop)
        assert decoded.crops is not None and np.array_equal(decoded.crops[:-1], reference[:-1])
    assert top_rows_calls == [32, 32]  # grey and CMYK JPEGs take the split
    image = _photo_like((640, 480))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise: the top-left crop comes from another corner of the file
    rotated = tmp_path / "r.jpg"
    image.save(rotated, quality=90, exif=exif)
    decoded = load_image(rotated, one_crop)
    assert (decoded.width, decoded.height) == (480, 640)
    assert decoded.crops is not None and np.array_equal(decoded.crops, _full_decode(rotated, one_crop))
    assert top_rows_calls == [32, 32]  # the turned one did not


def test_split_file_keeps_one_open_and_its_evidence(tmp_path: Path, top_rows_calls: list[int]) -> None:
    """The scan's decode_file on a large camera JPEG: split, read through one open file, and the evidence found
    (camera make, an AI editor named in Software) is what reading the evidence on its own finds."""
    contract = tiny_models.detector_contract("m", 32, grid=None, feed_mode="multiscale")
    contract["feed"]["max_patches"] = 1
    detector = Detector.load(tiny_models.build_model_with_contract(tmp_path / "m.onnx", contract), device="cpu")
    image = _photo_like((800, 600))
    exif = image.getexif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Canon", "EOS R5", "Adobe Firefly 3"
    path = images.write(tmp_path / "camera.jpg", image, quality=90, exif=exif.tobytes())
    decoded = decode_file(str(path), detector)
    assert top_rows_calls == [32] and decoded.error is None and decoded.crops is not None
    assert decoded.finding == assess(read_evidence(path)) and decoded.finding is not None
    assert decoded.finding.camera
