"""Small image files with known content, written into a test's tmp_path (nothing committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def solid(value: int, size: tuple[int, int] = (32, 32)) -> Image.Image:
    """A uniform grey RGB image (width, height)."""
    return Image.new("RGB", size, (value, value, value))


def noise(seed: int, size: tuple[int, int] = (32, 32)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def write(path: Path, image: Image.Image, **save_args: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **save_args)
    return path


def write_tree(root: Path, count: int, size: tuple[int, int] = (32, 32), per_folder: int = 100) -> list[Path]:
    """`count` distinct JPEGs spread over sub-folders."""
    out = []
    for i in range(count):
        out.append(write(root / f"d{i // per_folder:03d}" / f"img{i:05d}.jpg", noise(i, size), quality=90))
    return out


def write_truncated_jpeg(path: Path, size: tuple[int, int] = (256, 256)) -> Path:
    write(path, noise(7, size), quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_exif_rotated_jpeg(path: Path) -> Path:
    """Stored 64 wide x 32 high: left half black, right half white; EXIF orientation 6 (rotate 90 CW)."""
    arr = np.zeros((32, 64, 3), np.uint8)
    arr[:, 32:] = 255
    image = Image.fromarray(arr)
    exif = image.getexif()
    exif[0x0112] = 6
    return write(path, image, exif=exif.tobytes(), quality=95)
