"""A GAN's images outside the networks: uint8 <-> [-1, 1], reproducible latents, sample grids."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from training.gan.model import GanSpec


def to_gan_range(images: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [-1, 1]."""
    return images.astype(np.float32) / 127.5 - 1.0


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> uint8 (rounded, clipped)."""
    scaled = np.rint((np.asarray(images, np.float32) + 1.0) * 127.5)
    out: np.ndarray = np.clip(scaled, 0, 255).astype(np.uint8)
    return out


def fixed_latents(n: int, latent_dim: int, seed: int) -> np.ndarray:
    """Standard-normal latents reproducible from ``seed`` (the same draw in training, export and app)."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def grid_inputs(spec: GanSpec, seed: int, cols: int = 10) -> tuple[np.ndarray, np.ndarray | None]:
    """Latents (and labels) for a sample grid: one row per class, the same ``cols`` latents in every row
    so a column shows one latent across classes; unconditional grids are ``cols`` x ``cols``."""
    rows = spec.num_classes if spec.conditional else cols
    z_row = fixed_latents(cols, spec.latent_dim, seed)
    if not spec.conditional:
        return fixed_latents(rows * cols, spec.latent_dim, seed), None
    z = np.tile(z_row, (rows, 1))
    labels = np.repeat(np.arange(rows, dtype=np.int64), cols)
    return z, labels


def save_grid(images: np.ndarray, cols: int, path: Path, scale: int = 1, pad: int = 1) -> Path:
    """uint8 NHWC -> one PNG, ``cols`` images per row, separated by ``pad`` white pixels."""
    n, h, w, c = images.shape
    rows = math.ceil(n / cols)
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i, img in enumerate(images):
        r, k = divmod(i, cols)
        canvas[
            pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w
        ] = img
    pil = Image.fromarray(canvas)
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pil.save(tmp, format="PNG")
    tmp.replace(path)
    return path
