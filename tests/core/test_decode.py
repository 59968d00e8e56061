from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from desktop.core.models.contract import ModelContract, contract_from_dict
from desktop.core.scan.decode import load_image, preprocess, to_rgb
from tests.helpers import images, tiny_models


@pytest.fixture(scope="module")
def contract() -> ModelContract:
    return contract_from_dict(tiny_models.detector_contract())


@pytest.fixture(scope="module")
def patches_contract() -> ModelContract:
    return contract_from_dict(tiny_models.detector_contract(feed_mode="patches"))


def _mean(path: Path, contract: ModelContract) -> float:
    decoded = load_image(path, contract)
    assert decoded.error is None, decoded.error
    assert decoded.crops is not None and decoded.crops.shape == (1, 32, 32, 3)
    return float(decoded.crops.mean())


@pytest.mark.parametrize(("ext", "fmt", "args"), [
    (".jpg", "JPEG", {"quality": 95}), (".png", "PNG", {}), (".webp", "WEBP", {"lossless": True}),
    (".bmp", "BMP", {}), (".tif", "TIFF", {}), (".gif", "GIF", {}),
])
def test_common_formats_decode_to_model_crops(tmp_path: Path, contract: ModelContract, ext: str, fmt: str,
                                              args: dict[str, object]) -> None:
    path = images.write(tmp_path / f"grey{ext}", images.solid(180, (100, 60)), **args)
    decoded = load_image(path, contract)
    assert (decoded.format, decoded.width, decoded.height, decoded.error) == (fmt, 100, 60, None)
    assert decoded.crops is not None and abs(float(decoded.crops.mean()) - 180) < 3


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
def test_avif_decodes(tmp_path: Path, contract: ModelContract) -> None:
    path = images.write(tmp_path / "a.avif", images.solid(200, (64, 64)), quality=95)
    assert abs(_mean(path, contract) - 200) < 6


def test_heic_decodes_through_pillow_heif(tmp_path: Path, contract: ModelContract) -> None:
    path = images.write(tmp_path / "a.heic", images.solid(200, (64, 64)), quality=95)
    assert load_image(path, contract).format == "HEIF"
    assert abs(_mean(path, contract) - 200) < 6


def test_gif_uses_first_frame(tmp_path: Path, contract: ModelContract) -> None:
    path = tmp_path / "anim.gif"
    images.solid(20).save(path, save_all=True, append_images=[images.solid(230)], duration=100, loop=0)
    assert _mean(path, contract) < 30


def test_large_jpeg_is_draft_decoded_but_reports_full_size(tmp_path: Path, contract: ModelContract) -> None:
    path = images.write(tmp_path / "big.jpg", images.solid(90, (4000, 3000)), quality=90)
    decoded = load_image(path, contract)
    assert (decoded.width, decoded.height) == (4000, 3000)
    assert abs(_mean(path, contract) - 90) < 3


def test_zero_byte_file_is_an_error_row(tmp_path: Path, contract: ModelContract) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert load_image(path, contract).error == "empty file (0 bytes)"


def test_truncated_jpeg_is_reported(tmp_path: Path, contract: ModelContract) -> None:
    decoded = load_image(images.write_truncated_jpeg(tmp_path / "cut.jpg"), contract)
    assert decoded.error is not None and "truncated" in decoded.error
    assert decoded.crops is None


def test_text_file_with_image_extension_is_reported(tmp_path: Path, contract: ModelContract) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture")
    assert load_image(path, contract).error == "not an image: the content is not a recognised image format"


def test_png_with_jpeg_extension_is_decoded_by_content(tmp_path: Path, contract: ModelContract) -> None:
    path = images.write(tmp_path / "really_png.jpg", images.solid(40), format="PNG")
    decoded = load_image(path, contract)
    assert decoded.format == "PNG" and decoded.error is None


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path, contract: ModelContract) -> None:
    cmyk = Image.new("CMYK", (40, 40), (0, 0, 0, 0))  # no ink: white
    path = images.write(tmp_path / "cmyk.jpg", cmyk, quality=95)
    assert Image.open(path).mode == "CMYK"
    assert _mean(path, contract) > 245


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path, contract: ModelContract) -> None:
    arr = np.full((32, 32), 32896, np.uint16)  # 0x8080: mid grey in 16 bits
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    assert Image.open(path).mode.startswith("I")
    assert abs(_mean(path, contract) - 128) <= 1


def test_palette_with_transparency_is_composited_on_white(tmp_path: Path, contract: ModelContract) -> None:
    image = Image.new("P", (32, 32), 0)
    image.putpalette([0, 0, 0] * 256)
    image.info["transparency"] = 0
    path = images.write(tmp_path / "clear.png", image, transparency=0)
    assert Image.open(path).mode == "P"
    assert _mean(path, contract) > 250
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert np.asarray(to_rgb(rgba)).min() == 255


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # the app ignores it globally
def test_decompression_bomb_becomes_an_error_row(tmp_path: Path, contract: ModelContract,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = images.write(tmp_path / "huge.png", images.solid(0, (3000, 1000)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000_000)  # over the limit: Pillow only warns
    decoded = load_image(path, contract)
    assert decoded.error is not None and "too large" in decoded.error and decoded.crops is None
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # over twice the limit: Pillow raises
    decoded = load_image(path, contract)
    assert decoded.error is not None and "decompression bomb" in decoded.error


def test_exif_orientation_is_applied(tmp_path: Path, contract: ModelContract) -> None:
    decoded = load_image(images.write_exif_rotated_jpeg(tmp_path / "rot.jpg"), contract)
    assert (decoded.width, decoded.height) == (32, 64)
    assert decoded.crops is not None
    crop = decoded.crops[0].astype(float)
    # Rotated 90 degrees clockwise: the stored left (black) half is now on top.
    assert crop[:12].mean() < 40 and crop[-12:].mean() > 215


def test_unreadable_file_is_reported(tmp_path: Path, contract: ModelContract,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = images.write(tmp_path / "secret.png", images.solid(10))
    if os.geteuid() != 0:
        path.chmod(0)
        try:
            assert load_image(path, contract).error == "permission denied: the file cannot be read"
        finally:
            path.chmod(0o644)
    # As root permissions are not enforced, so also exercise the same path with the error injected.
    import builtins

    real_open = builtins.open

    def deny(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", deny)
    decoded = load_image(path, contract)
    assert decoded.error == "permission denied: the file cannot be read" and decoded.transient


def test_broken_symlink_and_vanished_file_are_reported(tmp_path: Path, contract: ModelContract) -> None:
    link = tmp_path / "link.jpg"
    link.symlink_to(tmp_path / "nowhere.jpg")
    assert load_image(link, contract).error == "broken symbolic link (its target does not exist)"
    gone = images.write(tmp_path / "gone.jpg", images.solid(1))
    gone.unlink()
    assert load_image(gone, contract).error == "file not found (deleted or moved during the scan?)"


def test_non_ascii_file_names_decode(tmp_path: Path, contract: ModelContract) -> None:
    path = images.write(tmp_path / "фото 日本 é.png", images.solid(77))
    assert abs(_mean(path, contract) - 77) < 1


def test_patches_mode_keeps_native_resolution(patches_contract: ModelContract, tmp_path: Path) -> None:
    arr = np.zeros((64, 128, 3), np.uint8)
    arr[:, 64:] = 255
    crops, grid = preprocess(Image.fromarray(arr), patches_contract)
    # max_patches 4: 2 columns x 2 rows of native 32x32 crops; left ones black, right ones white.
    assert grid == (2, 2) and crops.shape == (4, 32, 32, 3)
    assert crops[0].max() == 0 and crops[1].min() == 255
    small, small_grid = preprocess(Image.new("RGB", (20, 20), (9, 9, 9)), patches_contract)
    assert small.shape == (1, 32, 32, 3) and small_grid == (1, 1)
    path = images.write(tmp_path / "wide.jpg", Image.fromarray(arr), quality=95)
    decoded = load_image(path, patches_contract)  # JPEG: no draft in patches mode
    assert decoded.grid == (2, 2) and decoded.crops is not None and decoded.crops.shape == (4, 32, 32, 3)


def test_preprocess_matches_training_side_fit_image(contract: ModelContract,
                                                    patches_contract: ModelContract) -> None:
    training = pytest.importorskip("training.data.preprocess")
    image = images.noise(3, (97, 61))
    for c in (contract, patches_contract):
        ours, _ = preprocess(image, c)
        spec = training.FeedSpec(height=32, width=32, mode=c.feed.mode, resample=c.feed.resample,
                                 max_patches=c.feed.max_patches, aggregate=c.feed.aggregate)
        theirs = np.stack(training.fit_image(image, spec))
        np.testing.assert_array_equal(ours, theirs)
