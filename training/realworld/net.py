"""The real-world detector's network: raw pixels and their NPR residual, a small residual CNN.

NPR (Tan et al., CVPR 2024): ``x - up(down(x))`` with nearest-neighbour resampling by 2 exposes the local
correlations that generators' upsampling layers leave between neighbouring pixels. The raw pixels go in
beside it so that the whole-image view can also use colour and composition. A lossless space-to-depth
step halves the resolution before the first convolution (keeping every pixel), so the net fits a 2-core
CPU budget: ~0.9 M parameters, ~0.14 GMAC per 112 x 112 view.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="pixelpatrol")
class NPR(layers.Layer):  # type: ignore[misc]
    """uint8-valued RGB -> [raw in [-1, 1], 4 x (x - nearest_up(nearest_down(x)))], 6 channels."""

    def call(self, x: Any) -> Any:
        x = x * (2.0 / 255.0) - 1.0
        down = x[:, ::2, ::2, :]
        up = ops.repeat(ops.repeat(down, 2, axis=1), 2, axis=2)
        return ops.concatenate([x, 4.0 * (x - up)], axis=-1)


@keras.saving.register_keras_serializable(package="pixelpatrol")
class SpaceToDepth(layers.Layer):  # type: ignore[misc]
    """[N, H, W, C] -> [N, H/2, W/2, 4C], lossless."""

    def call(self, t: Any) -> Any:
        h, w, c = t.shape[1], t.shape[2], t.shape[3]
        t = ops.reshape(t, (-1, h // 2, 2, w // 2, 2, c))
        t = ops.transpose(t, (0, 1, 3, 2, 4, 5))
        return ops.reshape(t, (-1, h // 2, w // 2, 4 * c))


def build(size: int = 112, width: int = 32, dropout: float = 0.2, bn_momentum: float = 0.99) -> Any:
    def conv_bn(x: Any, ch: int, stride: int = 1) -> Any:
        x = layers.Conv2D(ch, 3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=bn_momentum)(x)
        return layers.ReLU()(x)

    def res_block(x: Any, ch: int) -> Any:
        y = conv_bn(x, ch)
        y = layers.Conv2D(ch, 3, padding="same", use_bias=False)(y)
        y = layers.BatchNormalization(momentum=bn_momentum, gamma_initializer="zeros")(y)
        return layers.ReLU()(layers.Add()([x, y]))

    inp = keras.Input((size, size, 3), name="image")
    x = NPR(name="npr")(inp)
    x = SpaceToDepth(name="space_to_depth")(x)
    x = conv_bn(x, width)  # size/2
    x = conv_bn(x, width * 3 // 2, 2)  # size/4
    x = res_block(x, width * 3 // 2)
    x = conv_bn(x, width * 3, 2)  # size/8
    x = res_block(x, width * 3)
    x = conv_bn(x, width * 5, 2)  # size/16
    x = res_block(x, width * 5)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    logit = layers.Dense(1, name="logit")(x)
    return keras.Model(inp, logit, name="realworld_detector")
