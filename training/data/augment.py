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

    def __post_init__(self) -> None:
        for name in ("jpeg_p", "blur_p", "resize_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability, got {getattr(self, name)}")
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
