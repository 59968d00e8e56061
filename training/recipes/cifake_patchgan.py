"""Recipe ``cifake-patchgan``: a PatchGAN-style real-vs-AI classifier.

Rescaling, a stem of ``stem`` 3x3 convs at full resolution (batch norm after the first), then
downsampling blocks (4x4 stride-2 conv, batch norm, LeakyReLU, dropout) to a ``rows x cols`` map of
patch logits (4x4 for 32x32 input; each cell has a 42-pixel receptive field centred on its 8x8
patch, so it also sees the context around it). Outputs: ``score`` [N, 1] = mean of the patch
probabilities (the image-level P(AI)) and ``patch_map`` [N, 4, 4, 1] (the app's heatmap). Loss:
binary cross-entropy on ``score`` plus ``patch_weight`` x BCE of every patch against the image label.
"""

from __future__ import annotations

from typing import Any

from training.detector.fit import DetectorConfig, bn_momentum
from training.recipes import RecipeContext

NAME = "cifake-patchgan"
# Session 5: width 24, a second full-resolution conv (stem 2), dropout 0.1 and 18 epochs reached 97.0 %
# balanced accuracy; width 16, stem 1, dropout 0.15, 15 epochs had 95.7 % (docs/training.md).
DEFAULT_MODEL: dict[str, Any] = {
    "width": 24,
    "stem": 2,
    "blocks": 3,
    "dropout": 0.1,
    "patch_weight": 0.5,
    "bn_momentum": "auto",
}
CARD = {
    "title": "CIFAKE PatchGAN",
    "summary": "PatchGAN-style classifier: scores each part of a 32x32 image as real photo (CIFAR-10) vs AI "
    "(Stable Diffusion 1.4 as in CIFAKE; the project's GANs when trained with gan_fakes) and averages the patch "
    "scores into the image score. Joined by whole-image CNNs (ensemble_with, experts_with), each CNN's logit is "
    "combined with every patch's logit, so the heatmap keeps the PatchGAN's pattern, shifted by what the CNNs say.",
    "intended_use": "Scoring CIFAKE-like small images and showing where in the image the AI evidence sits "
    "(patch_map heatmap).",
    "not_for": "Decisions about people or evidence; localising edits in large photos (a large photo is resized "
    "to 32x32, so each patch covers a big region); other generators - not measured.",
    "limits": "Measured on CIFAKE-style 32x32 images (CIFAR-10 photos vs Stable Diffusion 1.4) and, when trained "
    "with gan_fakes, on samples of the project's own conditional GAN (latents never trained on); other generators "
    "were not measured and may be missed. Validation has flattered held-out data before: the PatchGAN alone "
    "measured 97.10 % balanced accuracy here and 96.65 % on the project's held-out set (CIFAR-10 test photos + "
    "held-out CIFAKE fakes), so expect about half a point less on unseen CIFAKE-like images. JPEG re-encoding "
    "costs the project's GAN samples much more than that (the per-kind line under the robustness table).",
}


def build_model(model_opts: dict[str, Any], lr: float, decay_steps: int | None = None) -> Any:
    import keras
    from keras import layers as L

    opts = {**DEFAULT_MODEL, **model_opts}
    momentum = bn_momentum(opts["bn_momentum"], decay_steps)
    width, blocks, dropout = int(opts["width"]), int(opts["blocks"]), float(opts["dropout"])
    inp = keras.Input((32, 32, 3), name="image")
    h = L.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inp)
    h = L.Conv2D(width, 3, padding="same")(h)
    h = L.LeakyReLU(0.2)(h)
    for _ in range(int(opts["stem"]) - 1):  # more full-resolution convs before downsampling
        h = L.Conv2D(width, 3, padding="same", use_bias=False)(h)
        h = L.BatchNormalization(momentum=momentum)(h)
        h = L.LeakyReLU(0.2)(h)
    for i in range(blocks):
        h = L.Conv2D(width * 2 ** (i + 1), 4, strides=2, padding="same", use_bias=False)(h)
        h = L.BatchNormalization(momentum=momentum)(h)
        h = L.LeakyReLU(0.2)(h)
        h = L.Dropout(dropout)(h)
    logits = L.Conv2D(1, 3, padding="same", name="patch_logits")(h)
    patch_map = L.Activation("sigmoid", name="patch_map")(logits)
    score = L.GlobalAveragePooling2D(name="score")(patch_map)
    model = keras.Model(inp, [score, patch_map], name="cifake_patchgan")
    schedule: Any = lr
    if decay_steps:
        schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss={"score": "binary_crossentropy", "patch_map": "binary_crossentropy"},
        loss_weights={"score": 1.0, "patch_map": float(opts["patch_weight"])},
        metrics={"score": ["accuracy", keras.metrics.AUC(name="auc")]},
    )
    return model


def _targets_for(blocks: int) -> Any:
    side = 32 // 2**blocks

    def fn(y: Any) -> Any:
        import tensorflow as tf

        return {
            "score": y[:, None],
            "patch_map": tf.broadcast_to(y[:, None, None, None], [tf.shape(y)[0], side, side, 1]),
        }

    return fn


def run(ctx: RecipeContext) -> dict[str, Any] | None:
    from training.detector.ship import train_and_ship
    from training.recipes.options import apply_options

    cfg = apply_options(
        DetectorConfig(epochs=18, model=dict(DEFAULT_MODEL), monitor="val_score_auc", lr=2e-3), ctx
    )
    if cfg.augment.cutmix:
        # every patch would be trained towards the image's mixed label, also patches wholly inside or outside the
        # pasted box: the patch map (the app's heatmap) would learn to blur where the fake is. Mixup blends whole
        # images, so one target for every patch is right there.
        raise ValueError("augment.cutmix is not supported for the PatchGAN (its patches would get the whole "
                         "image's mixed label); use augment.mixup")
    side = 32 // 2 ** int(cfg.model.get("blocks", DEFAULT_MODEL["blocks"]))
    outputs = {
        "score": {
            "name": "score",
            "meaning": "probability that the image is AI-generated (mean of patch_map)",
            "shape": [None, 1],
        },
        "patch_map": {
            "name": "patch_map",
            "meaning": "per-patch probability of AI, rows x cols",
            "shape": [None, side, side, 1],
        },
    }
    return train_and_ship(
        ctx,
        cfg,
        NAME,
        build_model,
        CARD,
        targets=_targets_for(int(cfg.model.get("blocks", 3))),
        outputs=outputs,
        metrics=("score_accuracy", "score_auc"),
    )
