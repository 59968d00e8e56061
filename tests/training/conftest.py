"""Tiny synthetic datasets for the training tests (made in tmp dirs, a few KB each)."""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@pytest.fixture(autouse=True)
def _train_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoded-dataset caches go to a temporary folder, never ~/.cache."""
    monkeypatch.setenv("PIXELPATROL_TRAIN_CACHE", str(tmp_path_factory.mktemp("train-cache")))


def smooth_image(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC))


def grainy_image(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    base = smooth_image(rng, size).astype(int)
    return np.clip(base + rng.integers(-60, 61, base.shape), 0, 255).astype(np.uint8)


def jpeg_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def cifake_name(idx: int, cls: int) -> str:
    return f"{idx:04d}.jpg" if cls == 0 else f"{idx:04d} ({cls + 1}).jpg"


def write_cifake_zip(
    path: Path,
    per_class: int,
    seed: int = 0,
    prefix: str = "",
    classes: int = 3,
    kinds: tuple[str, ...] = ("REAL", "FAKE"),
) -> Path:
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w") as zf:
        for kind in kinds:
            make = smooth_image if kind == "REAL" else grainy_image
            for cls in range(classes):
                for i in range(per_class):
                    zf.writestr(f"{prefix}{kind}/{cifake_name(i, cls)}", jpeg_bytes(make(rng)))
    return path


@pytest.fixture
def cifake_zip(tmp_path: Path) -> Path:
    """REAL/… and FAKE/… in one zip, 3 classes x 12 images each."""
    return write_cifake_zip(tmp_path / "cifake.zip", 12)


@pytest.fixture
def cifake_split_zips(tmp_path: Path) -> list[Path]:
    """The shared/data layout: cifake_train_REAL.zip and cifake_train_FAKE.zip."""
    return [
        write_cifake_zip(tmp_path / "cifake_train_REAL.zip", 10, seed=1, kinds=("REAL",)),
        write_cifake_zip(tmp_path / "cifake_train_FAKE.zip", 10, seed=2, kinds=("FAKE",)),
    ]


@pytest.fixture
def cifake_kaggle_dir(tmp_path: Path) -> Path:
    """Kaggle layout: train/REAL, train/FAKE, test/REAL, test/FAKE as folders."""
    rng = np.random.default_rng(3)
    root = tmp_path / "cifake"
    for split, n in (("train", 8), ("test", 3)):
        for kind in ("REAL", "FAKE"):
            d = root / split / kind
            d.mkdir(parents=True)
            make = smooth_image if kind == "REAL" else grainy_image
            for cls in range(2):
                for i in range(n):
                    (d / cifake_name(i, cls)).write_bytes(jpeg_bytes(make(rng)))
    return root


@pytest.fixture
def class_folders(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    root = tmp_path / "cifar"
    for cls in CLASSES[:3]:
        (root / "train" / cls).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(smooth_image(rng)).save(root / "train" / cls / f"{i:04d}.png")
    return root


@pytest.fixture
def cifar_tarball(tmp_path: Path) -> Path:
    """The official python layout: cifar-10-batches-py/data_batch_1 + test_batch in a .tar.gz."""
    rng = np.random.default_rng(5)
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name, n in (("data_batch_1", 20), ("test_batch", 5)):
            data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            blob = pickle.dumps({b"data": data, b"labels": [i % 10 for i in range(n)]})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    return path
