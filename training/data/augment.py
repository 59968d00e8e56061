"""Training-time augmentations as tf.data maps on single uint8 HWC images.

Flip and small translations add content variety. JPEG re-encoding at a random quality, a slight
blur and resize jitter fight the known failure of real-vs-AI detectors: keying on how an image was
compressed or resized instead of what it shows. Each is applied with its own probability so the
clean distribution still dominates (CIFAKE's real and fake images share JPEG q75 tables).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class AugmentSpec:
    flip: bool = True
    translate: int = 2  # pixels, reflect-padded random crop
    jpeg_p: float = 0.2
    jpeg_quality: tuple[int, int] = (60, 95)
    blur_p: float = 0.05
    resize_p: float = 0.05
    resize_min: float = 0.75  # down to this fraction of the side, then back up
    # Batch-level mixing (make_mix_fn), off by default: the share of training samples blended with another sample
    # of the batch (mixup) or given a box cut from it (cutmix), the label mixed in the same proportion; the
    # proportion is drawn from Beta(mix_alpha, mix_alpha).
    mixup: float = 0.0
    cutmix: float = 0.0
    mix_alpha: float = 1.0

    def __post_init__(self) -> None:
        for name in ("jpeg_p", "blur_p", "resize_p", "mixup", "cutmix"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability, got {getattr(self, name)}")
        if self.mixup + self.cutmix > 1.0:
            raise ValueError(f"mixup + cutmix is the share of samples mixed: at most 1, got {self.mixup + self.cutmix}")
        if not self.mix_alpha > 0:
            raise ValueError(f"mix_alpha must be positive, got {self.mix_alpha}")
        if not 0 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"bad jpeg_quality range {self.jpeg_quality}")
        if not 0.1 <= self.resize_min <= 1.0:
            raise ValueError("resize_min must be in [0.1, 1]")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


NO_AUGMENT = AugmentSpec(flip=False, translate=0, jpeg_p=0.0, blur_p=0.0, resize_p=0.0)


def make_augment_fn(spec: AugmentSpec, height: int, width: int) -> Any:
    """Returns ``f(image_uint8_hwc, seed_pair) -> image_uint8_hwc`` for ``tf.data.Dataset.map``."""
    import tensorflow as tf

    kernel = tf.constant([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, 3, 1])

    def blur(img: Any) -> Any:
        x = tf.cast(img, tf.float32)[None]
        x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
        x = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID")[0]
        return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)

    def resize_jitter(img: Any, seed: Any) -> Any:
        f = tf.random.stateless_uniform([], seed, spec.resize_min, 1.0)
        size = tf.cast(tf.round(f * tf.constant([height, width], tf.float32)), tf.int32)
        small = tf.image.resize(tf.cast(img, tf.float32), size, method="area")
        back = tf.image.resize(small, [height, width], method="bilinear")
        return tf.cast(tf.clip_by_value(tf.round(back), 0, 255), tf.uint8)

    def jpeg(img: Any, seed: Any) -> Any:
        q = tf.random.stateless_uniform([], seed, spec.jpeg_quality[0], spec.jpeg_quality[1] + 1, tf.int32)
        return tf.image.adjust_jpeg_quality(img, q)

    def fn(img: Any, seed: Any) -> Any:
        seeds = tf.random.experimental.stateless_split(seed, 8)
        if spec.flip:
            img = tf.image.stateless_random_flip_left_right(img, seeds[0])
        if spec.translate:
            t = spec.translate
            padded = tf.pad(img, [[t, t], [t, t], [0, 0]], mode="REFLECT")
            img = tf.image.stateless_random_crop(padded, [height, width, 3], seeds[1])
        u = tf.random.stateless_uniform([3], seeds[2])
        if spec.resize_p > 0:
            img = tf.cond(u[0] < spec.resize_p, lambda: resize_jitter(img, seeds[3]), lambda: img)
        if spec.blur_p > 0:
            img = tf.cond(u[1] < spec.blur_p, lambda: blur(img), lambda: img)
        if spec.jpeg_p > 0:
            img = tf.cond(u[2] < spec.jpeg_p, lambda: jpeg(img, seeds[4]), lambda: img)
        return tf.ensure_shape(img, [height, width, 3])

    return fn


def make_mix_fn(spec: AugmentSpec) -> Any:
    """Returns ``f(images_nhwc, labels_n, seed_pair) -> (float32 images, float32 labels)`` for a batched
    ``tf.data.Dataset.map``: each sample is, with probability ``spec.mixup``, blended with a partner drawn from the
    same batch (``lam * x + (1 - lam) * partner``), or with probability ``spec.cutmix`` given a box of the partner
    whose area is ``1 - lam`` (side fraction ``sqrt(1 - lam)``, clipped at the border); its label is mixed by the
    same weights (for cutmix: the box's actual area). ``lam ~ Beta(mix_alpha, mix_alpha)`` per sample."""
    import tensorflow as tf

    def fn(images: Any, labels: Any, seed: Any) -> Any:
        seeds = tf.random.experimental.stateless_split(seed, 6)
        x = tf.cast(images, tf.float32)
        y = tf.cast(labels, tf.float32)
        n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        partner = tf.argsort(tf.random.stateless_uniform([n], seeds[0]))
        x2, y2 = tf.gather(x, partner), tf.gather(y, partner)
        g1 = tf.random.stateless_gamma([n], seeds[1], alpha=spec.mix_alpha)
        g2 = tf.random.stateless_gamma([n], seeds[2], alpha=spec.mix_alpha)
        lam = g1 / tf.maximum(g1 + g2, 1e-12)
        u = tf.random.stateless_uniform([n], seeds[3])
        do_mixup = u < spec.mixup
        do_cut = tf.logical_and(u >= spec.mixup, u < spec.mixup + spec.cutmix)
        # cutmix box: centre uniform, sides sqrt(1 - lam) of the image's, clipped at the border
        side = tf.sqrt(1.0 - lam)
        centre = tf.random.stateless_uniform([n, 2], seeds[4])
        hw = tf.cast(tf.stack([h, w]), tf.float32)
        lo = tf.cast(tf.round(tf.clip_by_value(centre - side[:, None] / 2, 0.0, 1.0) * hw), tf.int32)
        hi = tf.cast(tf.round(tf.clip_by_value(centre + side[:, None] / 2, 0.0, 1.0) * hw), tf.int32)
        rows, cols = tf.range(h)[None, :], tf.range(w)[None, :]
        in_rows = tf.logical_and(rows >= lo[:, :1], rows < hi[:, :1])  # (n, h)
        in_cols = tf.logical_and(cols >= lo[:, 1:], cols < hi[:, 1:])  # (n, w)
        box = tf.cast(tf.logical_and(in_rows[:, :, None], in_cols[:, None, :]), tf.float32)  # (n, h, w)
        blend = tf.where(do_mixup, 1.0 - lam, 0.0)[:, None, None] * tf.ones_like(box)
        pixel = tf.where(do_cut[:, None, None], box, blend)  # the partner's share of each pixel, (n, h, w)
        weight = tf.reshape(tf.reduce_mean(pixel, axis=[1, 2]), [-1] + [1] * (len(y.shape) - 1))  # ... of the label
        return x * (1.0 - pixel[..., None]) + x2 * pixel[..., None], y * (1.0 - weight) + y2 * weight

    return fn
