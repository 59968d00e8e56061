"""What the real-world detector sees, and the augmentation that hides format, size and compression.

At scan time an image becomes ``max_patches`` native-resolution crops on an evenly spread grid plus one
*whole-image view* (the central square, side = the shorter side, resized to the crop size). The scan
engine's ``desktop/core/scan/decode.py:preprocess`` ("multiscale" feed) and :func:`inference_views` here must
give the same arrays for the same decoded pixels; a test checks it. (The pixels themselves differ in one
case: for a large baseline JPEG the engine takes the whole-image view from a DCT-scaled decode, the crops
still from the file's exact pixels; `decode.py:jpeg_split_rows`. Measured through the app in session 20:
AUROC unchanged to the third decimal. Training decodes in full.)

Training sees the same two kinds of view, made from a randomly *processed* copy of each image:
random downscaling and JPEG re-encoding applied to both labels alike, with probabilities that depend on
the source's format, never on its label, so that "PNG", "large", "compressed once" or "compressed twice"
say nothing about whether an image is AI-generated (see :func:`process`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from training.data.preprocess import RESAMPLE, FeedSpec, patch_boxes

DOWNSCALE_FILTERS = ("box", "bilinear", "bicubic", "lanczos")
# P(JPEG re-encode) by the source's format: lossless sources (mostly AI PNGs) are compressed more often
# than JPEG sources (mostly real photos), so that the share of images carrying JPEG traces, and of those
# carrying two generations of them, is alike in both labels.
JPEG_PROB = {"JPEG": 0.5, "MPO": 0.5, "WEBP": 0.7}
JPEG_PROB_LOSSLESS = 0.9


@dataclass(frozen=True)
class Augment:
    downscale_prob: float = 0.5
    min_scale: float = 0.35
    quality: tuple[int, int] = (60, 100)
    max_side: int = 1536  # larger images are cut to a random window this big first (speed; native pixels kept)


def to_rgb(img: Image.Image) -> Image.Image:
    """Any mode -> RGB; transparency composited on white (as the scan engine does)."""
    if img.mode == "RGB":
        return img
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, rgba).convert("RGB")
    return img.convert("RGB")


def open_rgb(path: str) -> tuple[Image.Image, str]:
    """Decode a file as the scan engine does (EXIF orientation applied, RGB); returns (image, format)."""
    with Image.open(path) as img:
        fmt = img.format or "?"
        img.load()
        oriented = ImageOps.exif_transpose(img) or img
        return to_rgb(oriented), fmt


def global_view(img: Image.Image, size: int, resample: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """The whole-image view: a square of the shorter side (central at scan time; at training time a random
    square of 80-100 % of it), resized to ``size`` x ``size``."""
    w, h = img.size
    side = min(w, h)
    if rng is None:
        x0, y0 = (w - side) // 2, (h - side) // 2
    else:
        side = max(1, round(side * rng.uniform(0.8, 1.0)))
        x0 = int(rng.integers(0, w - side + 1))
        y0 = int(rng.integers(0, h - side + 1))
    square = img.crop((x0, y0, x0 + side, y0 + side))
    if side != size:
        # scan time: the engine's call exactly (desktop/core/scan/decode.py:whole_view, REDUCING_GAP)
        square = square.resize((size, size), RESAMPLE[resample], reducing_gap=None if rng is not None else 2.0)
    return np.asarray(square, dtype=np.uint8)


def inference_views(img: Image.Image, feed: FeedSpec) -> np.ndarray:
    """Scan-time views of one RGB image: native crops on the grid, then the whole-image view (uint8 [V,h,w,3]).

    An image smaller than one crop gets the whole-image view only.
    """
    w, h = img.size
    views = []
    if w >= feed.width and h >= feed.height:
        pixels = np.asarray(img, dtype=np.uint8)
        for x0, y0, x1, y1 in patch_boxes(w, h, feed):
            views.append(pixels[y0:y1, x0:x1])
    views.append(global_view(img, feed.width, feed.resample))
    return np.stack(views)


def jpeg_prob(fmt: str) -> float:
    return JPEG_PROB.get(fmt.upper(), JPEG_PROB_LOSSLESS)


def process(img: Image.Image, fmt: str, rng: np.random.Generator, aug: Augment, crop: int
            ) -> tuple[Image.Image, dict[str, float]]:
    """A randomly downscaled and/or JPEG re-encoded copy, as the web does to both real and AI images.

    Returns the copy and what was done (for the shortcut check): scale, jpeg (0/1), quality.
    """
    w, h = img.size
    if max(w, h) > aug.max_side:  # a random window, native pixels (decode cost only)
        cw, ch = min(w, aug.max_side), min(h, aug.max_side)
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        img = img.crop((x0, y0, x0 + cw, y0 + ch))
        w, h = img.size
    scale = 1.0
    if rng.random() < aug.downscale_prob:
        lo = max(aug.min_scale, crop / min(w, h))
        if lo < 1.0:
            scale = float(np.exp(rng.uniform(np.log(lo), 0.0)))
            size = (max(crop, round(w * scale)), max(crop, round(h * scale)))
            img = img.resize(size, RESAMPLE[DOWNSCALE_FILTERS[int(rng.integers(len(DOWNSCALE_FILTERS)))]])
    quality = 0
    if rng.random() < jpeg_prob(fmt):
        # a random offset of the 8x8 block grid relative to the crops taken later
        dx, dy = int(rng.integers(0, 8)), int(rng.integers(0, 8))
        if img.size[0] - dx >= crop and img.size[1] - dy >= crop:
            img = img.crop((dx, dy, img.size[0], img.size[1]))
        quality = int(rng.integers(aug.quality[0], aug.quality[1] + 1))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, subsampling=int(rng.choice([0, 2])) if quality < 90 else 0)
        buf.seek(0)
        img = Image.open(buf)
        img.load()
        img = img.convert("RGB")
    return img, {"scale": scale, "jpeg": float(quality > 0), "quality": float(quality)}


def training_views(img: Image.Image, rng: np.random.Generator, crop: int, n_native: int, resample: str
                   ) -> np.ndarray:
    """``n_native`` random native crops and one random whole-image view of an (already processed) image."""
    w, h = img.size
    if w < crop or h < crop:
        img = img.resize((max(w, crop), max(h, crop)), RESAMPLE["bicubic"])
        w, h = img.size
    pixels = np.asarray(img, dtype=np.uint8)
    views = []
    for _ in range(n_native):
        x0, y0 = int(rng.integers(0, w - crop + 1)), int(rng.integers(0, h - crop + 1))
        views.append(pixels[y0:y0 + crop, x0:x0 + crop])
    views.append(global_view(img, crop, resample, rng))
    return np.stack(views)
