"""Graphs exported for the GAN recipes and their parity checks.

- Generator: inputs ``z`` float32 [N, latent] (standard normal) and, when conditional, ``label`` int64
  [N]; output ``image`` float32 NHWC in [-1, 1] (tanh). The EMA weights are exported.
- Discriminator: shaped like a detector so the app can run it as one: input ``image`` float32 RGB in
  [0, 255] NHWC, scaling inside the graph. The projection discriminator needs a class, so the graph
  scores the image under every class: ``class_scores`` [N, C] = sigmoid(logit(x, c)), and ``score``
  [N, 1] = the highest of them, i.e. "how real does it look as the best-matching CIFAR-10 class".
  With the hinge loss the logit is not a calibrated probability; ``meaning`` says so.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from training.gan.model import Discriminator, GanSpec


def generator_function(generator: Any, spec: GanSpec) -> tuple[Any, list[tf.TensorSpec]]:
    z_spec = tf.TensorSpec([None, spec.latent_dim], tf.float32, name="z")
    if spec.conditional:
        signature = [z_spec, tf.TensorSpec([None], tf.int64, name="label")]

        def fn(z: tf.Tensor, label: tf.Tensor) -> dict[str, tf.Tensor]:
            # Out-of-range labels would index past the embedding; clamp instead of failing inside ORT.
            y = tf.clip_by_value(tf.cast(label, tf.int32), 0, spec.num_classes - 1)
            return {"image": tf.identity(generator([z, y], training=False), name="image")}

        return tf.function(fn, input_signature=signature), signature

    def fn_u(z: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"image": tf.identity(generator(z, training=False), name="image")}

    return tf.function(fn_u, input_signature=[z_spec]), [z_spec]


def discriminator_function(disc: Discriminator, spec: GanSpec) -> tuple[Any, list[tf.TensorSpec]]:
    signature = [
        tf.TensorSpec([None, spec.image_size, spec.image_size, spec.channels], tf.float32, name="image")
    ]

    def fn(image: tf.Tensor) -> dict[str, tf.Tensor]:
        h = disc.trunk(image / 127.5 - 1.0, training=False)
        logits = disc.head.all_class_logits(h) if spec.conditional else disc.head(h, None, training=False)
        scores = tf.sigmoid(logits)
        return {
            "score": tf.identity(tf.reduce_max(scores, axis=1, keepdims=True), name="score"),
            "class_scores": tf.identity(scores, name="class_scores"),
        }

    return tf.function(fn, input_signature=signature), signature


def generator_contract(
    spec: GanSpec, name: str, title: str, labels: list[str], card: dict[str, Any]
) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "latent": {"name": "z", "dim": spec.latent_dim, "distribution": "standard normal"}
    }
    if spec.conditional:
        inputs["label"] = {"name": "label", "dtype": "int64"}
    out: dict[str, Any] = {
        "contract_version": 1,
        "name": name,
        "kind": "generator",
        "title": title,
        "inputs": inputs,
        "outputs": {
            "image": {
                "name": "image",
                "layout": "NHWC",
                "height": spec.image_size,
                "width": spec.image_size,
                "channels": spec.channels,
                "value_range": [-1, 1],
                "meaning": "generated RGB image; pixel = (value + 1) * 127.5",
            }
        },
        "card": card,
    }
    if spec.conditional:
        out["labels"] = labels
    return out


def discriminator_contract(
    spec: GanSpec,
    name: str,
    title: str,
    labels: list[str],
    thresholds: dict[str, float],
    card: dict[str, Any],
) -> dict[str, Any]:
    meaning = (
        "probability-like score that the image is a REAL training image (sigmoid of the hinge-loss "
        "discriminator logit, highest over the classes; not calibrated)"
    )
    outputs: dict[str, Any] = {"score": {"name": "score", "meaning": meaning, "shape": [None, 1]}}
    outputs["class_scores"] = {
        "name": "class_scores",
        "meaning": "the same score under each class's projection, [N, C]",
        "shape": [None, max(spec.num_classes, 1)],
    }
    return {
        "contract_version": 1,
        "name": name,
        "kind": "discriminator",
        "title": title,
        "input": {
            "name": "image",
            "layout": "NHWC",
            "height": spec.image_size,
            "width": spec.image_size,
            "channels": spec.channels,
            "dtype": "float32",
            "color": "RGB",
            "value_range": [0, 255],
        },
        "feed": {"mode": "resize", "resample": "bilinear"},
        "outputs": outputs,
        "labels": ["generated", "real"],
        "class_labels": labels,
        "thresholds": thresholds,
        "card": card,
    }
