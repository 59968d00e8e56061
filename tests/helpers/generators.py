"""Tiny data and tiny ONNX models for the generator tests (built in tmp dirs, nothing committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ["circle", "square", "stripes"]


def write_class_folders(root: Path, size: int = 16, per_class: int = 16) -> Path:
    """3 class folders of PNGs with class-typical shapes plus per-image noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    c0, r = size / 2, size / 3
    shapes = [
        (yy - c0) ** 2 + (xx - c0) ** 2 < r * r,
        (abs(yy - c0) < r) & (abs(xx - c0) < r),
        (xx // 2) % 2 == 0,
    ]
    for c, mask in enumerate(shapes):
        (root / CLASSES[c]).mkdir(parents=True)
        for i in range(per_class):
            img = rng.integers(0, 60, (size, size, 3)) + mask[..., None] * (150 + 30 * c)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / CLASSES[c] / f"{i:02d}.png")
    return root


def write_face_like_folder(root: Path, count: int = 24, size: int = 40) -> Path:
    """Unlabelled images (a bright ellipse on a dark background, jittered) in one folder."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:size, :size]
    root.mkdir(parents=True)
    for i in range(count):
        cy, cx = size / 2 + rng.normal(0, 2, 2)
        mask = ((yy - cy) / (size / 3)) ** 2 + ((xx - cx) / (size / 4)) ** 2 < 1
        img = rng.integers(0, 40, (size, size, 3)) + mask[..., None] * np.array([180, 140, 120])
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / f"face_{i:03d}.jpg", quality=90)
    return root


def build_tiny_classifier(path: Path, size: int = 16) -> Path:
    from training.classifier.export import export_classifier
    from training.classifier.net import build_classifier

    model = build_classifier(width=2, num_classes=len(CLASSES), size=size)
    images = np.random.default_rng(0).integers(0, 256, (4, size, size, 3), dtype=np.uint8)
    export_classifier(model, path, CLASSES, {"summary": "test"}, images, name="tiny-classifier")
    return path


def build_tiny_generator(path: Path, size: int = 16) -> Path:
    from training.gan.export import generator_contract, generator_function
    from training.gan.images import fixed_latents
    from training.gan.model import GanSpec, GanTrainer, TrainSpec
    from training.ship.onnx import export_function

    spec = GanSpec(image_size=size, latent_dim=8, num_classes=len(CLASSES), g_width=2, d_width=2)
    trainer = GanTrainer(spec, TrainSpec())
    fn, signature = generator_function(trainer.ema_generator, spec)
    contract = generator_contract(spec, "tiny-gen", "tiny", CLASSES, {"summary": "test"})
    feeds = {"z": fixed_latents(4, spec.latent_dim, 0), "label": np.arange(4, dtype=np.int64) % len(CLASSES)}
    export_function(fn, signature, contract, path, feeds)
    return path
