"""Make a detector's score a probability, and average it over the mirror image, inside the graph.

- :func:`logit_model`: the network up to its logit (a ``score`` Dense with a sigmoid is split into the
  same Dense without one; a network that already ends in a logit is kept).
- :func:`fit_temperature`: the temperature T minimising the negative log-likelihood of
  ``sigmoid(logit / T)`` on validation (Guo et al. 2017); one scalar, so the ranking (AUROC) is unchanged.
- :func:`fit_scaling`: T and a bias b minimising the *class-balanced* negative log-likelihood of
  ``sigmoid(logit / T + b)``: the score is then the probability for a folder holding as many AI images as
  photos, whatever mix the validation split has (it has the project's GAN samples as a second kind of fake:
  63 % fakes). Validation's own mix is no one's folder: fitted on it, the score leaned towards "AI" by that mix.
- :func:`scoring_model`: ``score = sigmoid(mean(logit(x), logit(mirror(x))) / T + b)``, the graph that is
  exported, so the app gets test-time augmentation and calibration with no code of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.data.preprocess import to_model_input

PRIORS = ("validation", "balanced")  # what ``calibrate(prior=...)`` (the recipes' ``calibrate_prior``) accepts
T_GRID = np.exp(np.linspace(np.log(0.2), np.log(5.0), 81))


def check_prior(prior: str) -> None:
    """One line for a ``calibrate_prior`` that is not one of ``PRIORS`` (checked in the config, before any work)."""
    if prior not in PRIORS:
        raise ValueError(f"calibrate_prior must be {' or '.join(map(repr, PRIORS))}, got {prior!r}")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x, np.float64))))


def view_scores(logits: Sequence[np.ndarray] | np.ndarray, temperature: float) -> np.ndarray:
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
    """``model`` without its final sigmoid: the logit of P(AI) [N, 1], or a patch model's logit map
    [N, rows, cols, 1] (the layer ``patch_logits``; its score is the mean patch probability)."""
    import keras

    names = {layer.name for layer in model.layers}
    if model.outputs[0].name.startswith("logit") or model.layers[-1].name == "logit":
        return model  # already a logit (an ensemble)
    if "patch_logits" in names:
        return keras.Model(model.inputs, model.get_layer("patch_logits").output, name=f"{model.name}_logit")
    head = model.get_layer("score") if "score" in names else None
    if not isinstance(head, keras.layers.Dense) or head.activation is not keras.activations.sigmoid:
        raise ValueError(f"{model.name}: no 'score' Dense layer with a sigmoid to take the logit from")
    dense = keras.layers.Dense(head.units, name="logit")
    logit = dense(head.input)
    dense.set_weights(head.get_weights())
    return keras.Model(model.inputs, logit, name=f"{model.name}_logit")


def mix_weights(y: np.ndarray, photos_per_fake: float) -> np.ndarray:
    """Per sample, the weight that makes the photos (y = 0) weigh ``photos_per_fake`` times the fakes (y = 1):
    validation scores read as a folder of that mix (ECE under another mix; 1.0: each class weighs half)."""
    y = np.asarray(y, np.float64)
    return np.where(y == 1, 1.0 / max(float(y.sum()), 1.0), photos_per_fake / max(float(len(y) - y.sum()), 1.0))


def fit_scaling(logits: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """(T, b) minimising the weighted negative log-likelihood of ``mean over cells of sigmoid(logit / T + b)``,
    ``logits`` [N, cells] (one cell each for a whole-image model, the patches of a patch model); ``weights``
    per sample (default: each class weighing half). A grid over T (0.2 to 5) and b (-4 to 4), then a finer one
    around the best."""
    z = np.asarray(logits, np.float64).reshape(len(y), -1)
    y = np.asarray(y, np.float64)
    w = mix_weights(y, 1.0) if weights is None else np.asarray(weights, np.float64)

    def nll(t: float, b: float) -> float:
        p = np.clip(sigmoid(z / t + b).mean(axis=1), 1e-6, 1 - 1e-6)
        return float(-(w * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / w.sum())

    def best(ts: np.ndarray, bs: np.ndarray) -> tuple[float, float]:
        return min((nll(float(t), float(b)), float(t), float(b)) for t in ts for b in bs)[1:]

    t, b = best(T_GRID, np.linspace(-4.0, 4.0, 33))
    step = float(np.log(T_GRID[1] / T_GRID[0]))
    return best(np.exp(np.linspace(np.log(t) - 2 * step, np.log(t) + 2 * step, 21)), np.linspace(b - 0.25, b + 0.25, 51))


def ensemble_logits(models: Sequence[Any], combine: str = "mean") -> Any:
    """One graph combining the logits of ``models`` (same input; each with a sigmoid ``score`` Dense head, or a
    patch model's logit map): their mean, or their maximum (the image is as AI as its most suspicious member
    says: experts for different kinds of fake). When a patch model is first, the result is a logit map: each
    image-level logit is added to every patch (a PatchGAN joined by CNNs keeps its heatmap, shifted by what the
    CNNs say about the whole image). When a whole-image model is first, a patch model among the others joins by
    the logit of its own score (the mean patch probability) and the result stays one logit per image."""
    import keras

    if len(models) < 2:
        raise ValueError("an ensemble needs at least two models")
    members = [logit_model(m) for m in models]
    shape = tuple(members[0].inputs[0].shape[1:])
    if any(tuple(m.inputs[0].shape[1:]) != shape for m in members):
        raise ValueError("ensemble members take different input shapes")
    maps = {tuple(m.outputs[0].shape[1:]) for m in members if len(m.outputs[0].shape) == 4}
    if len(maps) > 1:
        raise ValueError(f"ensemble members give patch maps of different shapes: {sorted(maps)}")
    for i, m in enumerate(members):
        m.name = f"member_{i}"  # unique sub-model names in one graph
    inp = keras.Input(shape, name="image")
    outs = [m(inp) for m in members]
    if maps and len(outs[0].shape) == 2:  # a whole-image model first: a patch member joins by its score's logit
        outs = [o if len(o.shape) == 2 else _score_logit_layer()(name=f"member_{i}_score_logit")(o)
                for i, o in enumerate(outs)]
        maps = set()
    if maps:  # [N, 1] logits as [N, 1, 1, 1], broadcast over the map's patches
        outs = [o if len(o.shape) == 4 else keras.layers.Reshape((1, 1, 1), name=f"member_{i}_per_patch")(o)
                for i, o in enumerate(outs)]
    layer = keras.layers.Maximum if combine == "max" else keras.layers.Average
    return keras.Model(inp, layer(name="logit")(outs), name="ensemble")


def _score_logit_layer() -> Any:
    import keras

    @keras.saving.register_keras_serializable(package="pixelpatrol")
    class ScoreLogit(keras.layers.Layer):  # type: ignore[misc]
        """A logit map [N, rows, cols, 1] to the logit of its mean patch probability [N, 1] (the patch model's
        own score, as a logit): log(mean sigmoid(z)) - log(mean sigmoid(-z)), computed as two log-sum-exps of
        -softplus, so a confident map does not round to a probability of exactly 0 or 1."""

        def call(self, z: Any) -> Any:
            from keras import ops

            flat = ops.reshape(z, (-1, int(np.prod(z.shape[1:]))))
            return ops.logsumexp(-ops.softplus(-flat), axis=1, keepdims=True) - ops.logsumexp(
                -ops.softplus(flat), axis=1, keepdims=True)

    return ScoreLogit


def offset_logits(model: Any, offset: float) -> Any:
    """``model``'s logit plus a constant (an expert made less eager: its false alarms on the first kind of image
    cost accuracy there, its confident calls on its own kind stay above the decision)."""
    import keras

    lm = logit_model(model)
    inp = keras.Input(tuple(lm.inputs[0].shape[1:]), name="image")
    out = keras.layers.Rescaling(1.0, offset=float(offset), name="logit")(lm(inp))
    return keras.Model(inp, out, name=f"{lm.name.removesuffix('_logit')}_offset")


def _mirror_layer() -> Any:
    import keras

    @keras.saving.register_keras_serializable(package="pixelpatrol")
    class MirrorImage(keras.layers.Layer):  # type: ignore[misc]
        """NHWC tensor flipped left to right (exports to ONNX as a reversed slice)."""

        def call(self, x: Any) -> Any:
            return keras.ops.flip(x, axis=2)

    return MirrorImage


def scoring_model(logits: Any, temperature: float = 1.0, mirror: bool = False, bias: float = 0.0) -> Any:
    """The exported graph: ``sigmoid(mean logit over (image[, mirror image]) / temperature + bias)`` as ``score``;
    for a logit map, the mirror image's map is flipped back first, ``patch_map`` is that sigmoid per patch
    and ``score`` its mean."""
    import keras

    inp = keras.Input(tuple(logits.inputs[0].shape[1:]), name="image")
    is_map = len(logits.outputs[0].shape) == 4
    views = [logits(inp)]
    if mirror:
        flip = _mirror_layer()
        mirrored = logits(flip(name="mirror")(inp))
        views.append(flip(name="mirror_back")(mirrored) if is_map else mirrored)
    mean = views[0] if len(views) == 1 else keras.layers.Average(name="mean_logit")(views)
    scaled = keras.layers.Rescaling(1.0 / temperature, offset=float(bias), name="temperature")(mean)
    name = logits.name.removesuffix("_logit") + "_scored"
    if not is_map:
        return keras.Model(inp, keras.layers.Activation("sigmoid", name="score")(scaled), name=name)
    patch_map = keras.layers.Activation("sigmoid", name="patch_map")(scaled)
    score = keras.layers.GlobalAveragePooling2D(name="score")(patch_map)
    return keras.Model(inp, [score, patch_map], name=name)


def predict_logits(logits: Any, images: np.ndarray, mirror: bool, batch: int = 512) -> np.ndarray:
    """[N, views, cells] logits of uint8 images (views: the image, and its mirror image with ``mirror``;
    cells: 1, or the patches of a logit map, the mirror image's flipped back to line up)."""
    x = to_model_input(images)
    out = [np.asarray(logits.predict(x, batch_size=batch, verbose=0), np.float64)]
    if mirror:
        m = np.asarray(logits.predict(x[:, :, ::-1], batch_size=batch, verbose=0), np.float64)
        out.append(m[:, :, ::-1] if m.ndim == 4 else m)
    return np.stack([o.reshape(len(x), -1) for o in out], axis=1)


def calibrate(model: Any, images: np.ndarray, y: np.ndarray, *, mirror: bool, fit: bool,
              prior: str = "validation") -> tuple[Any, dict[str, Any]]:
    """The scoring model for ``model`` and what calibration measured on (images, y): ECE of the plain
    score, of the mirror-averaged score, and after calibration, on validation's own mix of classes and
    reweighted to equal classes and to twice as many photos as fakes. ``prior``: "validation" fits T alone on
    the split as it is; "balanced" fits T and a bias with each class weighing half (:func:`fit_scaling`)."""
    from training.ship.evaluate import expected_calibration_error as ece
    from training.ship.evaluate import roc_auc

    lm = logit_model(model)
    lg = predict_logits(lm, images, mirror)
    plain = view_scores(lg[:, 0], 1.0)
    averaged_logits = lg.mean(axis=1)  # [N, cells]
    averaged = view_scores(averaged_logits, 1.0)
    check_prior(prior)
    temperature, bias = 1.0, 0.0
    if fit and prior == "balanced":
        temperature, bias = fit_scaling(averaged_logits, y)
    elif fit:
        temperature = fit_temperature(averaged_logits, y)
    calibrated = sigmoid(averaged_logits / temperature + bias).mean(axis=1)
    mixes = {"balanced": 1.0, "two_photos_per_fake": 2.0}  # photos per fake in a folder of another mix
    report = {
        "mirror_average": mirror,
        "temperature": round(temperature, 4),
        "bias": round(bias, 4),
        "prior": prior if fit else None,
        "fitted_on": f"{len(y)} validation images" + (", each class weighing half" if fit and prior == "balanced" else ""),
        "ece_plain": round(ece(y, plain), 5),
        "ece_mirror_average": round(ece(y, averaged), 5),
        "ece_calibrated": round(ece(y, calibrated), 5),
        **{f"ece_calibrated_{k}": round(ece(y, calibrated, weights=mix_weights(y, r)), 5) for k, r in mixes.items()},
        "auroc_plain": round(roc_auc(y, plain), 5),
        "auroc_mirror_average": round(roc_auc(y, averaged), 5),
    }
    return scoring_model(lm, temperature, mirror, bias), report
