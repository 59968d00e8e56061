"""Export of the CIFAR-10 classifier as kind ``classifier`` (outputs ``probs`` and ``features``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from training.data.preprocess import to_model_input
from training.ship.onnx import export_function


def classifier_function(model: keras.Model) -> tuple[Any, list[tf.TensorSpec]]:
    _, h, w, c = model.input.shape
    signature = [tf.TensorSpec([None, h, w, c], tf.float32, name="image")]

    def fn(image: tf.Tensor) -> dict[str, tf.Tensor]:
        probs, features = model(image, training=False)
        return {"probs": tf.identity(probs, name="probs"), "features": tf.identity(features, name="features")}

    return tf.function(fn, input_signature=signature), signature


def classifier_contract(
    model: keras.Model, name: str, title: str, labels: list[str], card: dict[str, Any]
) -> dict[str, Any]:
    _, h, w, c = model.input.shape
    feat_dim = int(model.outputs[1].shape[-1])
    return {
        "contract_version": 1,
        "name": name,
        "kind": "classifier",
        "title": title,
        "input": {
            "name": "image",
            "layout": "NHWC",
            "height": int(h),
            "width": int(w),
            "channels": int(c),
            "dtype": "float32",
            "color": "RGB",
            "value_range": [0, 255],
        },
        "feed": {"mode": "resize", "resample": "bilinear"},
        "outputs": {
            "probs": {
                "name": "probs",
                "meaning": "softmax over the classes in `labels`",
                "shape": [None, len(labels)],
            },
            "features": {
                "name": "features",
                "meaning": "penultimate-layer activations (ReLU), the space generator Fréchet distances use",
                "shape": [None, feat_dim],
            },
        },
        "labels": labels,
        "card": card,
    }


def export_classifier(
    model: keras.Model,
    path: Path,
    labels: list[str],
    card: dict[str, Any],
    parity_images: np.ndarray,
    name: str = "cifar10-classifier",
) -> float:
    """Convert, write the contract and check parity on real images (uint8); returns the max abs diff."""
    fn, signature = classifier_function(model)
    contract = classifier_contract(model, name, "CIFAR-10 classifier", labels, card)
    return export_function(fn, signature, contract, path, {"image": to_model_input(parity_images)})
