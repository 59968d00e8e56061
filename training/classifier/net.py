"""The small CIFAR-10 classifier: network, batch augmentation and its training loop.

It is shipped for two jobs: measuring generators (its penultimate ``features`` span the space the
Fréchet distance is computed in; its ``probs`` say whether a requested "ship" looks like a ship) and
labelling generated images in the app's gallery. A VGG-style net of ~170k parameters is what a
2-core CPU trains to ~80 % in a quarter of an hour; on a GPU raise ``width`` and ``epochs``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import layers

FEATURES_DIM = 128


def _conv_bn_relu(h: Any, channels: int) -> Any:
    h = layers.Conv2D(channels, 3, padding="same", use_bias=False)(h)
    h = layers.BatchNormalization()(h)
    return layers.ReLU()(h)


def build_classifier(width: int = 24, num_classes: int = 10, size: int = 32) -> keras.Model:
    """float32 RGB in [0, 255] (N, size, size, 3) -> [probs (N, C), features (N, 128)]."""
    image = keras.Input((size, size, 3), name="image")
    h = layers.Rescaling(1.0 / 127.5, offset=-1.0)(image)
    h = _conv_bn_relu(h, width)
    h = layers.MaxPooling2D()(h)
    h = _conv_bn_relu(h, 2 * width)
    h = _conv_bn_relu(h, 2 * width)
    h = layers.MaxPooling2D()(h)
    h = _conv_bn_relu(h, 4 * width)
    h = _conv_bn_relu(h, 4 * width)
    h = layers.MaxPooling2D()(h)
    h = _conv_bn_relu(h, 8 * width)
    h = layers.GlobalAveragePooling2D()(h)
    features = layers.Dense(FEATURES_DIM, activation="relu", name="features")(h)
    logits = layers.Dense(num_classes, name="logits")(layers.Dropout(0.3)(features))
    probs = layers.Softmax(name="probs")(logits)
    return keras.Model(image, [probs, features], name="cifar10_classifier")


def augment_batch(images: np.ndarray, rng: np.random.Generator, shift: int = 3) -> np.ndarray:
    """Random horizontal flip and a random translation of up to ``shift`` px (reflect-padded)."""
    n, h, w, _ = images.shape
    flip = np.asarray(rng.random(size=n)) < 0.5
    out = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
    if shift:
        padded = np.pad(out, ((0, 0), (shift, shift), (shift, shift), (0, 0)), mode="reflect")
        dy = np.asarray(rng.integers(0, 2 * shift + 1, size=n))
        dx = np.asarray(rng.integers(0, 2 * shift + 1, size=n))
        rows = dy[:, None] + np.arange(h)[None]
        cols = dx[:, None] + np.arange(w)[None]
        out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return np.ascontiguousarray(out)


def training_model(model: keras.Model) -> keras.Model:
    """The same layers with only the ``probs`` output, for ``fit``."""
    return keras.Model(model.input, model.outputs[0])


def compile_for_training(
    model: keras.Model, steps: int, lr: float = 3e-3, weight_decay: float = 5e-4
) -> keras.Model:
    """AdamW with a short linear warm-up and a cosine decay over ``steps`` (one-cycle style: fast)."""
    warmup = max(1, min(steps // 10, 500))
    schedule = keras.optimizers.schedules.CosineDecay(
        lr / 10, max(1, steps - warmup), alpha=0.01, warmup_target=lr, warmup_steps=warmup
    )
    train_model = training_model(model)
    train_model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return train_model


def predict_probs(model: keras.Model, images: np.ndarray, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """uint8 NHWC -> (probs, features) as float32 arrays."""
    probs, feats = [], []
    for i in range(0, len(images), batch):
        p, f = model(np.asarray(images[i : i + batch], np.float32), training=False)
        probs.append(np.asarray(p))
        feats.append(np.asarray(f))
    if not probs:
        return np.zeros((0, model.outputs[0].shape[-1]), np.float32), np.zeros((0, FEATURES_DIM), np.float32)
    return np.concatenate(probs), np.concatenate(feats)


def fit_epoch(
    train_model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    batch_size: int,
    on_batch: Callable[[int, int, dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[dict[str, float], bool]:
    """One epoch over shuffled, augmented batches; returns (mean loss/accuracy, stopped early)."""
    order = rng.permutation(len(images))
    steps = math.ceil(len(order) / batch_size)
    loss_sum = acc_sum = 0.0
    seen = 0
    for step in range(steps):
        idx = np.sort(order[step * batch_size : (step + 1) * batch_size])
        x = augment_batch(np.asarray(images[idx]), rng).astype(np.float32)
        y = np.asarray(labels[idx], np.int64)
        train_model.reset_metrics()  # so the returned values are this batch's, not a running mean
        loss, acc = train_model.train_on_batch(x, y, return_dict=False)
        loss_sum += float(loss) * len(idx)
        acc_sum += float(acc) * len(idx)
        seen += len(idx)
        if on_batch is not None:
            on_batch(step + 1, steps, {"loss": float(loss), "accuracy": float(acc)})
        if should_stop is not None and should_stop():
            return {"loss": loss_sum / seen, "accuracy": acc_sum / seen}, True
    return {"loss": loss_sum / max(seen, 1), "accuracy": acc_sum / max(seen, 1)}, False
