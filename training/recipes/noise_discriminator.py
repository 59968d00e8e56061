"""Recipe ``noise-discriminator``: real CIFAR-10 images vs random noise (a sanity model).

Conv + LeakyReLU blocks and a sigmoid ``score`` = P(real). Noise comes in three kinds, equally
often, so the task is not only "is it grainy": i.i.d. uniform pixels, Gaussian pixels around a random
colour, and smooth noise (a random 4x4 or 8x8 image upsampled bilinearly). Data: ``--data`` = CIFAR-10
in any supported layout (tarball, ``data_batch_*``, class folders or a zip of them); noise is made
with the run's seed, as many noise images as real ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.data.loading import ImageData, load_labeled
from training.detector.fit import DetectorConfig
from training.recipes import RecipeContext

NAME = "noise-discriminator"
DEFAULT_MODEL: dict[str, Any] = {"width": 32}
CARD = {
    "title": "Noise discriminator (CIFAR-10 vs noise)",
    "summary": "Tiny discriminator: probability that a 32x32 image is a real photo (CIFAR-10) rather than random "
    "noise (uniform, Gaussian or smooth).",
    "intended_use": "A sanity model for the app and tests: flags images that are pure noise or blank-ish.",
    "not_for": "Detecting AI-generated images: a generated photo-like image scores as real here.",
}


def make_noise(n: int, seed: int, size: int = 32) -> np.ndarray:
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    kinds = rng.integers(0, 3, n)
    for i, k in enumerate(kinds):
        if k == 0:
            out[i] = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        elif k == 1:
            mean, std = rng.uniform(30, 225, 3), rng.uniform(5, 80)
            out[i] = np.clip(rng.normal(mean, std, (size, size, 3)), 0, 255).astype(np.uint8)
        else:
            side = int(rng.choice([4, 8]))
            small = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            out[i] = np.asarray(Image.fromarray(small).resize((size, size), Image.Resampling.BILINEAR))
    return out


def build_model(model_opts: dict[str, Any], lr: float, decay_steps: int | None = None) -> Any:
    import keras
    from keras import layers as L

    width = int({**DEFAULT_MODEL, **model_opts}["width"])
    inp = keras.Input((32, 32, 3), name="image")
    h = L.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inp)
    for i in range(3):
        h = L.Conv2D(width * 2**i, 4, strides=2, padding="same")(h)
        h = L.LeakyReLU(0.2)(h)
    h = L.GlobalAveragePooling2D()(h)
    out = L.Dense(1, activation="sigmoid", name="score")(h)
    model = keras.Model(inp, out, name="noise_discriminator")
    model.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model


def load(cfg: DetectorConfig) -> ImageData:
    real = load_labeled(cfg.data, cfg.feed)
    rng = np.random.default_rng(cfg.seed)
    n = len(real) if cfg.limit is None else min(len(real), cfg.limit)
    pick = np.sort(rng.choice(len(real), n, replace=False))
    noise = make_noise(n, cfg.seed + 7)
    images = np.concatenate([np.asarray(real.images[pick]), noise])
    labels = np.r_[np.ones(n, np.int64), np.zeros(n, np.int64)]
    info = {**real.info, "noise_images": n, "real_images": n}
    return ImageData(images, labels, np.full(2 * n, -1, np.int64), np.arange(2 * n), ["noise", "real"], info)


def run(ctx: RecipeContext) -> dict[str, Any] | None:
    from training.detector.ship import train_and_ship
    from training.recipes.options import apply_options

    cfg = apply_options(DetectorConfig(epochs=2, limit=20000, model=dict(DEFAULT_MODEL), patience=None), ctx)
    outputs = {
        "score": {
            "name": "score",
            "meaning": "probability that the input is real (a photo, not noise)",
            "shape": [None, 1],
        }
    }
    return train_and_ship(
        ctx,
        cfg,
        NAME,
        build_model,
        CARD,
        load=load,
        outputs=outputs,
        kind="discriminator",
        labels=("noise", "real"),
    )
