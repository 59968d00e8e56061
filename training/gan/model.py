"""GAN machinery shared by the ``dcgan`` and ``faces-dcgan`` recipes: the two networks, one
adversarial training step, an exponential moving average of the generator and sample grids.

Choices, and why:

- **Hinge loss** (Lim & Ye 2017, used by SNGAN/BigGAN): bounded gradients for a confident D, the
  most robust default for small DCGANs.
- **Spectral normalisation** on every D layer (Miyato et al. 2018) keeps D Lipschitz so G's
  gradients stay informative; it costs one power iteration per layer and step.
- **Projection conditioning** in D (Miyato & Koyama 2018): ``logit = psi(h) + <embed(y), h>``;
  G is conditioned by concatenating a class embedding to the latent.
- **EMA of G's weights** (Yazici et al. 2019): sampling from the average is usually sharper and
  more stable than the last iterate; both are measured at the end of a run.
- **DiffAugment** (Zhao et al. 2020, translation + colour): the same differentiable augmentation
  on real and fake before D; helps when data are few (the 9.7k faces), optional.
- **Auxiliary classifier** (AC-GAN, Odena et al. 2017; beside the projection as in ReACGAN, Kang et al.
  2021), optional (``aux_class_weight``): a linear head on D's features learns the class of *real*
  images only (cross-entropy), and G is also rewarded when that head reads the requested class in its
  sample. Real-only training of the head keeps D from learning G's own class cues; the measure that
  judges class fidelity is a separate classifier, never this head.

Images inside the networks are float32 NHWC in [-1, 1]; conversion to and from uint8 happens only
in ``training/gan/images.py`` (:func:`to_gan_range` / :func:`to_uint8`), with latents and sample grids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from training.gan.images import to_uint8
from training.gan.layers import ClassAffine, ProjectionHead


@dataclass(frozen=True)
class GanSpec:
    image_size: int = 32
    channels: int = 3
    latent_dim: int = 128
    num_classes: int = 0  # 0: unconditional
    g_width: int = 32  # channels of G's last block; doubled per block towards 4x4
    d_width: int = 32  # channels of D's first block; doubled per downsampling
    spectral_norm: bool = True
    # How G doubles the resolution: "transpose" (4x4 stride-2 transposed conv, the DCGAN default) or "resize"
    # (nearest-neighbour upsampling, then a 3x3 conv: no checkerboard artefacts; Odena et al. 2016).
    upsample: str = "transpose"
    # Conditional batch norm in G's upsampling blocks (conditional GANs only): normalise without a learned affine,
    # then scale and shift by per-class vectors (de Vries et al. 2017; SNGAN/BigGAN's G conditioning).
    cond_bn: bool = False

    def __post_init__(self) -> None:
        if self.upsample not in ("transpose", "resize"):
            raise ValueError(f"upsample must be 'transpose' or 'resize', got {self.upsample!r}")
        n = self.image_size
        if n < 8 or n & (n - 1):
            raise ValueError(f"image_size must be a power of two >= 8, got {n}")
        if self.latent_dim < 1 or self.g_width < 1 or self.d_width < 1 or self.num_classes < 0:
            raise ValueError("latent_dim, g_width and d_width must be positive, num_classes >= 0")

    @property
    def n_blocks(self) -> int:
        return int(math.log2(self.image_size // 4))

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0


# ---------------------------------------------------------------- networks


def build_generator(spec: GanSpec, name: str = "generator") -> keras.Model:
    """(z [N, latent], label [N] int) -> image [N, S, S, C] in [-1, 1] (tanh)."""
    z = keras.Input((spec.latent_dim,), name="z")
    inputs: list[keras.KerasTensor] = [z]
    h = z
    if spec.conditional:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        emb = layers.Embedding(spec.num_classes, min(spec.latent_dim, 64), name="class_embedding")(label)
        h = layers.Concatenate()([z, emb])
    top = spec.g_width * 2**spec.n_blocks
    h = layers.Dense(4 * 4 * top, use_bias=False)(h)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = layers.Reshape((4, 4, top))(h)
    for i in range(spec.n_blocks):
        ch = spec.g_width * 2 ** (spec.n_blocks - 1 - i)
        if spec.upsample == "resize":
            h = layers.UpSampling2D(2, interpolation="nearest")(h)
            h = layers.Conv2D(ch, 3, padding="same", use_bias=False)(h)
        else:
            h = layers.Conv2DTranspose(ch, 4, strides=2, padding="same", use_bias=False)(h)
        if spec.cond_bn and spec.conditional:
            h = layers.BatchNormalization(center=False, scale=False)(h)
            h = ClassAffine(spec.num_classes, ch)([h, label])
        else:
            h = layers.BatchNormalization()(h)
        h = layers.ReLU()(h)
    out = layers.Conv2D(spec.channels, 3, padding="same", activation="tanh", name="image")(h)
    return keras.Model(inputs if spec.conditional else z, out, name=name)


def _sn(layer: layers.Layer, spec: GanSpec) -> layers.Layer:
    return layers.SpectralNormalization(layer) if spec.spectral_norm else layer


def build_discriminator_trunk(spec: GanSpec, name: str = "d_trunk") -> keras.Model:
    """image in [-1, 1] -> sum-pooled features [N, D]; no normalisation besides spectral norm."""
    x = keras.Input((spec.image_size, spec.image_size, spec.channels), name="image")
    h = _sn(layers.Conv2D(spec.d_width, 3, padding="same"), spec)(x)
    h = layers.LeakyReLU(0.2)(h)
    for i in range(spec.n_blocks):
        ch = spec.d_width * 2 ** (i + 1)
        h = _sn(layers.Conv2D(ch, 4, strides=2, padding="same"), spec)(h)
        h = layers.LeakyReLU(0.2)(h)
    # Sum pooling (SNGAN/BigGAN), not the mean: with spectrally normalised layers the mean over the
    # 4x4 map shrinks the features 16-fold and leaves D too weak to reach the hinge margins.
    h = layers.GlobalAveragePooling2D()(h)
    h = layers.Rescaling(16.0, name="sum_pool")(h)
    return keras.Model(x, h, name=name)


@dataclass
class Discriminator:
    trunk: keras.Model
    head: ProjectionHead

    def logits(self, images: Any, labels: Any | None, training: bool = False) -> Any:
        h = self.trunk(images, training=training)
        return self.head(h, labels, training=training)

    @property
    def trainable_variables(self) -> list[Any]:
        return [*self.trunk.trainable_variables, *self.head.trainable_variables]

    @property
    def variables(self) -> list[Any]:
        return [*self.trunk.variables, *self.head.variables]


def build_discriminator(spec: GanSpec) -> Discriminator:
    trunk = build_discriminator_trunk(spec)
    head = ProjectionHead(
        spec.num_classes, int(trunk.output_shape[-1]), spec.spectral_norm, name="projection"
    )
    return Discriminator(trunk, head)


# ---------------------------------------------------------------- augmentation


def diff_augment(x: tf.Tensor, seed: tf.Tensor | None = None) -> tf.Tensor:
    """DiffAugment 'color,translation' (Zhao et al. 2020) on [-1, 1] images; differentiable in x."""
    n = tf.shape(x)[0]
    x = x + (tf.random.uniform([n, 1, 1, 1]) - 0.5)  # brightness
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * (tf.random.uniform([n, 1, 1, 1]) * 2.0) + mean  # saturation
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * (tf.random.uniform([n, 1, 1, 1]) + 0.5) + mean  # contrast
    size = tf.shape(x)[1]
    shift = tf.cast(tf.cast(size, tf.float32) * 0.125 + 0.5, tf.int32)
    pad = tf.pad(x, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
    ox = tf.random.uniform([], 0, 2 * shift + 1, dtype=tf.int32)
    oy = tf.random.uniform([], 0, 2 * shift + 1, dtype=tf.int32)
    return pad[:, oy : oy + size, ox : ox + size, :]


# ---------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainSpec:
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    ema_decay: float = 0.999
    ema_start: int = 500  # steps before the average starts (early weights are noise)
    diffaugment: bool = False
    aux_class_weight: float = 0.0  # > 0: AC-GAN auxiliary class loss (conditional GANs only)

    def __post_init__(self) -> None:
        if self.aux_class_weight < 0:
            raise ValueError("aux_class_weight must be >= 0")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("ema_decay must be in [0, 1)")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ValueError("learning rates must be positive")


class GanTrainer:
    """Holds G, D, G's EMA and both optimisers; :meth:`train_step` is one D step then one G step."""

    def __init__(self, spec: GanSpec, train: TrainSpec) -> None:
        self.spec = spec
        self.train = train
        self.generator = build_generator(spec)
        self.ema_generator = build_generator(spec, name="ema_generator")
        self.ema_generator.set_weights(self.generator.get_weights())
        self.discriminator = build_discriminator(spec)
        self.aux_head: layers.Dense | None = None
        if train.aux_class_weight > 0 and spec.conditional:
            self.aux_head = layers.Dense(spec.num_classes, name="aux_classifier")
            self.aux_head.build((None, int(self.discriminator.trunk.output_shape[-1])))
        self.g_opt = keras.optimizers.Adam(train.lr_g, beta_1=train.beta_1, beta_2=train.beta_2)
        self.d_opt = keras.optimizers.Adam(train.lr_d, beta_1=train.beta_1, beta_2=train.beta_2)
        self.g_opt.build(self.generator.trainable_variables)
        self.d_opt.build(self._d_trainable())
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="gan_step")
        self._step_fn = tf.function(self._train_step, reduce_retracing=True)
        self._lr_scale: float | None = None  # last scale set; None: not set since construction

    def set_lr_scale(self, scale: float) -> None:
        """Both learning rates = their configured value x ``scale`` (the optimisers' learning-rate
        variables, read by the compiled step, so no retracing; assigned only when it changes)."""
        if scale != self._lr_scale:
            self.g_opt.learning_rate = self.train.lr_g * scale
            self.d_opt.learning_rate = self.train.lr_d * scale
            self._lr_scale = scale

    def _d_trainable(self) -> list[Any]:
        aux = self.aux_head.trainable_variables if self.aux_head is not None else []
        return [*self.discriminator.trainable_variables, *aux]

    # -- state ------------------------------------------------------------
    def _state_variables(self) -> list[Any]:
        return [
            *self.generator.variables,
            *self.ema_generator.variables,
            *self.discriminator.variables,
            *(self.aux_head.variables if self.aux_head is not None else []),
            *self.g_opt.variables,
            *self.d_opt.variables,
            self.step,
        ]

    def save(self, path: Path) -> None:
        arrays = {f"v{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(self._state_variables())}
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)

    def load(self, path: Path) -> None:
        with np.load(path) as f:
            variables = self._state_variables()
            if len(f.files) != len(variables):
                raise ValueError(
                    f"{path}: checkpoint has {len(f.files)} arrays, this GAN has {len(variables)}"
                )
            for i, v in enumerate(variables):
                arr = f[f"v{i:04d}"]
                if tuple(arr.shape) != tuple(v.shape):
                    raise ValueError(f"{path}: variable {v.name} is {v.shape}, checkpoint has {arr.shape}")
                v.assign(arr)

    # -- one step ---------------------------------------------------------
    def train_step(self, real: np.ndarray, labels: np.ndarray | None) -> dict[str, float]:
        """``real`` float32 in [-1, 1]; returns d_loss, g_loss, d_real, d_fake (mean sigmoid(D))."""
        y = tf.constant(labels if labels is not None else np.zeros(len(real)), dtype=tf.int32)
        out = self._step_fn(tf.constant(real, tf.float32), y)
        return {k: float(v) for k, v in out.items()}

    def _d_out(self, images: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
        """D's adversarial logit and, with the auxiliary head, its class logits (same augmented view)."""
        if self.train.diffaugment:
            images = diff_augment(images)
        h = self.discriminator.trunk(images, training=True)
        logits = self.discriminator.head(h, y if self.spec.conditional else None, training=True)
        return logits, (self.aux_head(h) if self.aux_head is not None else None)

    def _class_loss(self, class_logits: tf.Tensor | None, y: tf.Tensor) -> tf.Tensor:
        if class_logits is None:
            return tf.constant(0.0)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=class_logits)
        return self.train.aux_class_weight * tf.reduce_mean(ce)

    def _train_step(self, real: tf.Tensor, y: tf.Tensor) -> dict[str, tf.Tensor]:
        n = tf.shape(real)[0]
        g_inputs = self._g_inputs(tf.random.normal([n, self.spec.latent_dim]), y)
        with tf.GradientTape() as tape:
            fake = self.generator(g_inputs, training=True)
            real_logits, real_classes = self._d_out(real, y)
            fake_logits, _ = self._d_out(tf.stop_gradient(fake), y)
            d_class_loss = self._class_loss(real_classes, y)
            d_loss = (
                tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
                + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
                + d_class_loss
            )
        d_vars = self._d_trainable()
        self.d_opt.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars, strict=True))

        g_inputs = self._g_inputs(tf.random.normal([n, self.spec.latent_dim]), y)
        with tf.GradientTape() as tape:
            fake = self.generator(g_inputs, training=True)
            g_logits, g_classes = self._d_out(fake, y)
            g_class_loss = self._class_loss(g_classes, y)
            g_loss = -tf.reduce_mean(g_logits) + g_class_loss
        g_vars = self.generator.trainable_variables
        self.g_opt.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars, strict=True))

        self.step.assign_add(1)
        # Before ema_start the average simply follows G; afterwards it lags with ema_decay.
        decay = tf.where(self.step > self.train.ema_start, self.train.ema_decay, 0.0)
        for ema_v, v in zip(self.ema_generator.variables, self.generator.variables, strict=True):
            ema_v.assign(decay * ema_v + (1.0 - decay) * v)
        out = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }
        if real_classes is not None and g_classes is not None:
            out["d_class_loss"] = d_class_loss
            out["g_class_loss"] = g_class_loss
        return out

    def _g_inputs(self, z: tf.Tensor, y: tf.Tensor) -> Any:
        return [z, y] if self.spec.conditional else z

    # -- sampling ---------------------------------------------------------
    def generate(
        self, z: np.ndarray, labels: np.ndarray | None = None, ema: bool = True, batch: int = 500
    ) -> np.ndarray:
        """float32 latents (+ int labels) -> uint8 NHWC images."""
        gen = self.ema_generator if ema else self.generator
        out = []
        for i in range(0, len(z), batch):
            zi = z[i : i + batch].astype(np.float32)
            if self.spec.conditional:
                assert labels is not None, "a conditional generator needs a label per latent"
                args: Any = [zi, labels[i : i + batch].astype(np.int32)]
            else:
                args = zi
            out.append(to_uint8(np.asarray(gen(args, training=False))))
        return (
            np.concatenate(out)
            if out
            else np.zeros((0, self.spec.image_size, self.spec.image_size, 3), np.uint8)
        )
