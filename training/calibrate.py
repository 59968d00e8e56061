"""Make a detector's score a probability, and average it over the mirror image, inside the graph.

- :func:`logit_model`: the network up to its logit (a ``score`` Dense with a sigmoid is split into the
  same Dense without one; a network that already ends in a logit is kept).
- :func:`fit_temperature`: the temperature T minimising the negative log-likelihood of
  ``sigmoid(logit / T)`` on validation (Guo et al. 2017); one scalar, so the ranking (AUROC) is unchanged.
- :func:`scoring_model`: ``score = sigmoid(mean(logit(x), logit(mirror(x))) / T)``, the graph that is
  exported, so the app gets test-time augmentation and calibration with no code of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.preprocess import to_model_input

T_GRID = np.exp(np.linspace(np.log(0.2), np.log(5.0), 81))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x, np.float64))))


def view_scores(logits: Sequence[np.ndarray], temperature: float) -> np.ndarray:
    """Per sample, the mean over its views of ``sigmoid(logit / T)`` (NaN for a sample with no views)."""
    return np.asarray([float(np.mean(sigmoid(lg / temperature))) if len(lg) else np.nan for lg in logits])


def fit_temperature(logits: Sequence[np.ndarray] | np.ndarray, y: np.ndarray) -> float:
    """T on a log grid from 0.2 to 5 minimising NLL; ``logits`` per sample (an array of views each, or
    one number each)."""
    per_sample = [np.atleast_1d(np.asarray(lg, np.float64)) for lg in logits]
    best, best_t = np.inf, 1.0
    for t in T_GRID:
        p = np.clip(view_scores(per_sample, float(t)), 1e-6, 1 - 1e-6)
        nll = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        if nll < best:
            best, best_t = nll, float(t)
    return best_t


def logit_model(model: Any) -> Any:
    """``model`` without its final sigmoid: the logit of P(AI)."""
    import keras

    try:
        head = model.get_layer("score")
    except ValueError:
        head = None
    if not isinstance(head, keras.layers.Dense) or head.activation is not keras.activations.sigmoid:
        raise ValueError(f"{model.name}: no 'score' Dense layer with a sigmoid to take the logit from")
    dense = keras.layers.Dense(head.units, name="logit")
    logit = dense(head.input)
    dense.set_weights(head.get_weights())
    return keras.Model(model.inputs, logit, name=f"{model.name}_logit")


def _mirror_layer() -> Any:
    import keras

    @keras.saving.register_keras_serializable(package="pixelpatrol")
    class MirrorImage(keras.layers.Layer):  # type: ignore[misc]
        """NHWC image flipped left to right (exports to ONNX as a reversed slice)."""

        def call(self, x: Any) -> Any:
            return keras.ops.flip(x, axis=2)

    return MirrorImage


def scoring_model(logits: Any, temperature: float = 1.0, mirror: bool = False) -> Any:
    """The exported graph: ``score = sigmoid(mean logit over (image[, mirror image]) / temperature)``."""
    import keras

    inp = keras.Input(tuple(logits.inputs[0].shape[1:]), name="image")
    views = [logits(inp)]
    if mirror:
        views.append(logits(_mirror_layer()(name="mirror")(inp)))
    mean = views[0] if len(views) == 1 else keras.layers.Average(name="mean_logit")(views)
    scaled = keras.layers.Rescaling(1.0 / temperature, name="temperature")(mean)
    score = keras.layers.Activation("sigmoid", name="score")(scaled)
    return keras.Model(inp, score, name=f"{logits.name.removesuffix('_logit')}_scored")


def predict_logits(logits: Any, images: np.ndarray, mirror: bool, batch: int = 512) -> np.ndarray:
    """[N, views] logits of uint8 images (views: the image, and its mirror image with ``mirror``)."""
    x = to_model_input(images)
    out = [np.asarray(logits.predict(x, batch_size=batch, verbose=0), np.float64).reshape(len(x))]
    if mirror:
        out.append(np.asarray(logits.predict(x[:, :, ::-1], batch_size=batch, verbose=0), np.float64).reshape(len(x)))
    return np.stack(out, axis=1)


def calibrate(model: Any, images: np.ndarray, y: np.ndarray, *, mirror: bool, fit: bool) -> tuple[Any, dict[str, Any]]:
    """The scoring model for ``model`` and what calibration measured on (images, y): ECE of the plain
    score, of the mirror-averaged score, and after temperature scaling."""
    from training.evaluate import expected_calibration_error as ece
    from training.evaluate import roc_auc

    lm = logit_model(model)
    lg = predict_logits(lm, images, mirror)
    plain = sigmoid(lg[:, 0])
    averaged = sigmoid(lg.mean(axis=1))
    temperature = fit_temperature(lg.mean(axis=1), y) if fit else 1.0
    calibrated = sigmoid(lg.mean(axis=1) / temperature)
    report = {
        "mirror_average": mirror,
        "temperature": round(temperature, 4),
        "fitted_on": f"{len(y)} validation images",
        "ece_plain": round(ece(y, plain), 5),
        "ece_mirror_average": round(ece(y, averaged), 5),
        "ece_calibrated": round(ece(y, calibrated), 5),
        "auroc_plain": round(roc_auc(y, plain), 5),
        "auroc_mirror_average": round(roc_auc(y, averaged), 5),
    }
    return scoring_model(lm, temperature, mirror), report
