"""The one training-side preprocessing function, and how images of another size are fitted.

Every model PixelPatrol trains starts with a ``Rescaling`` layer, so the graph input is float32 RGB
in [0, 255] (NHWC). :func:`to_model_input` is therefore the single place where a uint8 batch
becomes what a model expects; training, evaluation and the export parity check all call it, and
the scan engine's own function must produce the same array for the same decoded pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

RESAMPLE = {
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 NHWC RGB (or one HWC image) -> float32 NHWC in [0, 255], as fed to the graph."""
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"expected uint8 images shaped (N, H, W, 3), got {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {arr.dtype}")
    return arr.astype(np.float32)


@dataclass(frozen=True)
class FeedSpec:
    """How an image of arbitrary size becomes model inputs; written into the ONNX contract."""

    height: int = 32
    width: int = 32
    mode: str = "resize"  # "resize" (whole image) or "patches" (native-resolution crops on a grid)
    resample: str = "bilinear"
    max_patches: int = 16
    aggregate: str = "mean"

    def __post_init__(self) -> None:
        if self.mode not in ("resize", "patches", "multiscale"):
            raise ValueError(f"feed mode must be 'resize', 'patches' or 'multiscale', not {self.mode!r}")
        if self.resample not in RESAMPLE:
            raise ValueError(f"resample must be one of {sorted(RESAMPLE)}, not {self.resample!r}")
        if self.aggregate not in ("mean", "max", "top25"):
            raise ValueError(f"aggregate must be mean, max or top25, not {self.aggregate!r}")
        if self.height < 1 or self.width < 1 or self.max_patches < 1:
            raise ValueError("feed height, width and max_patches must be positive")

    def contract(self) -> dict[str, object]:
        out: dict[str, object] = {"mode": self.mode, "resample": self.resample}
        if self.mode in ("patches", "multiscale"):
            out.update(max_patches=self.max_patches, aggregate=self.aggregate)
        return out


def fit_image(img: Image.Image, feed: FeedSpec) -> list[np.ndarray]:
    """One decoded image -> list of uint8 HxWx3 arrays following ``feed`` (one for resize mode)."""
    rgb = img.convert("RGB")
    w, h = rgb.size
    if (w, h) == (feed.width, feed.height):
        return [np.asarray(rgb, dtype=np.uint8)]
    if feed.mode == "resize" or w < feed.width or h < feed.height:
        resized = rgb.resize((feed.width, feed.height), RESAMPLE[feed.resample])
        return [np.asarray(resized, dtype=np.uint8)]
    return [np.asarray(rgb.crop(box), dtype=np.uint8) for box in patch_boxes(w, h, feed)]


def patch_boxes(w: int, h: int, feed: FeedSpec) -> list[tuple[int, int, int, int]]:
    """An evenly spread grid of at most ``feed.max_patches`` native-resolution crops."""
    cols = max(1, min(w // feed.width, int(np.ceil(np.sqrt(feed.max_patches)))))
    rows = max(1, min(h // feed.height, feed.max_patches // cols))
    xs = np.linspace(0, w - feed.width, cols).round().astype(int)
    ys = np.linspace(0, h - feed.height, rows).round().astype(int)
    return [(int(x), int(y), int(x) + feed.width, int(y) + feed.height) for y in ys for x in xs]
