from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.training.conftest import jpeg_bytes, smooth_image, write_cifake_zip
from training.data.loading import load_images, load_labeled, load_real_fake, split_train_val
from training.data.preprocess import FeedSpec
from training.data.sources import DataError, cifake_class

FEED = FeedSpec()


def test_cifake_class_comes_from_the_file_name() -> None:
    assert cifake_class("REAL/0001.jpg") == 0
    assert cifake_class("FAKE/1000 (2).jpg") == 1
    assert cifake_class("train/FAKE/5499 (10).jpg") == 9
    assert cifake_class("x/weird.jpg") == -1


def test_cifake_zip_loads_labels_and_classes(cifake_zip: Path) -> None:
    d = load_real_fake([str(cifake_zip)], FEED)
    assert d.images.shape == (72, 32, 32, 3) and d.images.dtype == np.uint8
    assert np.bincount(d.labels).tolist() == [36, 36]
    assert sorted(set(d.groups.tolist())) == [0, 1, 2]
    assert isinstance(d.images, np.memmap)


def test_split_zips_like_shared_data(cifake_split_zips: list[Path]) -> None:
    d = load_real_fake([str(p) for p in cifake_split_zips], FEED)
    assert np.bincount(d.labels).tolist() == [30, 30]


def test_kaggle_layout_trains_only_on_the_train_split(cifake_kaggle_dir: Path) -> None:
    train = load_real_fake([str(cifake_kaggle_dir)], FEED, split="train")
    test = load_real_fake([str(cifake_kaggle_dir)], FEED, split="test")
    assert len(train) == 32 and len(test) == 12


def test_role_sources_of_large_images_are_resized_or_cropped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for role in ("real", "fake"):
        (tmp_path / role).mkdir()
        for i in range(3):
            Image.fromarray(np.tile(smooth_image(rng), (3, 4, 1))).save(
                tmp_path / role / f"{i}.png"
            )  # 96x128
    specs = [f"real={tmp_path / 'real'}", f"fake={tmp_path / 'fake'}"]
    resized = load_real_fake(specs, FEED)
    patches = load_real_fake(specs, FeedSpec(mode="patches", max_patches=4))
    assert len(resized) == 6
    assert len(patches) == 24 and len(set(patches.origins.tolist())) == 6


def test_duplicates_are_dropped_and_never_straddle_the_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    blobs = [jpeg_bytes(smooth_image(rng)) for _ in range(40)]
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for i, b in enumerate(blobs):
            zf.writestr(f"REAL/{i:04d}.jpg", b)
            zf.writestr(f"FAKE/{i:04d}.jpg", jpeg_bytes(smooth_image(rng)))
        for i in range(10):  # byte copies under other names
            zf.writestr(f"REAL/{1000 + i:04d}.jpg", blobs[i])
    d = load_real_fake([str(tmp_path / "d.zip")], FEED)
    assert d.info["duplicates_dropped"] == 10 and len(d) == 80
    train, val = split_train_val(d, 0.25, seed=3)
    assert set(train).isdisjoint(val) and len(train) + len(val) == len(d)
    pixels = {d.images[i].tobytes() for i in train}
    assert not any(d.images[i].tobytes() in pixels for i in val)
    again = split_train_val(d, 0.25, seed=3)
    assert np.array_equal(again[1], val)


def test_second_load_reuses_the_cache(cifake_zip: Path, caplog: pytest.LogCaptureFixture) -> None:
    load_real_fake([str(cifake_zip)], FEED)
    with caplog.at_level(logging.INFO, logger="training.data.loading"):
        load_real_fake([str(cifake_zip)], FEED)
    assert "using cached dataset" in caplog.text


def test_cifar_tarball_and_class_folders(cifar_tarball: Path, class_folders: Path) -> None:
    t = load_labeled([str(cifar_tarball)], FEED)
    assert len(t) == 20 and t.label_names[0] == "airplane"
    f = load_labeled([str(class_folders)], FEED)
    assert len(f) == 18 and np.bincount(f.labels).tolist() == [6, 6, 6]


def test_gan_image_folder_center_crops(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((50, 80, 3), np.uint8)).save(tmp_path / "a.png")
    d = load_images([str(tmp_path)], FeedSpec(height=16, width=16))
    assert d.images.shape == (1, 16, 16, 3)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_real_fake([str(tmp_path / "nope.zip")], FEED)


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        load_real_fake([str(tmp_path / "empty")], FEED)


def test_single_class_source_is_a_clear_error(tmp_path: Path) -> None:
    z = write_cifake_zip(tmp_path / "real_only.zip", 4, kinds=("REAL",))
    with pytest.raises(DataError, match="only one class"):
        load_real_fake([str(z)], FEED)


def test_source_without_real_fake_folders_is_a_clear_error(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "x.png")
    with pytest.raises(DataError, match="REAL or FAKE"):
        load_real_fake([str(tmp_path)], FEED)


def test_unreadable_images_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    z = write_cifake_zip(tmp_path / "c.zip", 3, classes=1)
    with zipfile.ZipFile(z, "a") as zf:
        zf.writestr("FAKE/9999.jpg", b"\xff\xd8not really a jpeg")
    with caplog.at_level(logging.WARNING, logger="training.data.loading"):
        d = load_real_fake([str(z)], FEED)
    assert len(d) == 6 and d.info["unreadable"] == 1
    assert "unreadable" in caplog.text and "9999.jpg" in caplog.text


def test_all_images_unreadable_is_a_clear_error(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        zf.writestr("REAL/0001.jpg", b"garbage")
        zf.writestr("FAKE/0001.jpg", b"garbage")
    with pytest.raises(DataError, match="no readable images"):
        load_real_fake([str(tmp_path / "bad.zip")], FEED)


def test_truncated_cifar_tarball_is_a_clear_error(cifar_tarball: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(cifar_tarball.read_bytes()[:300])
    with pytest.raises(DataError):
        load_labeled([str(cut)], FEED)
