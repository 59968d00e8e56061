"""The GAN's own Keras layers (registered for serialisation): the projection discriminator's head and the
per-class scale and shift of conditional batch norm."""

from __future__ import annotations

from typing import Any

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="pixelpatrol")
class ProjectionHead(layers.Layer):  # type: ignore[misc]
    """``logit = psi(h) + <embed(y), h>`` (projection discriminator); without classes just ``psi(h)``."""

    def __init__(self, num_classes: int, features: int, spectral_norm: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.features = features
        self.spectral_norm = spectral_norm
        dense = layers.Dense(1)
        self.psi = layers.SpectralNormalization(dense) if spectral_norm else dense
        self.psi.build((None, features))
        self.embed = layers.Embedding(num_classes, features) if num_classes else None
        if self.embed is not None:
            self.embed.build((None,))

    def call(self, h: Any, labels: Any = None, training: bool = False) -> Any:
        logit = self.psi(h, training=training) if self.spectral_norm else self.psi(h)
        if self.embed is None or labels is None:
            return logit
        return logit + keras.ops.sum(self.embed(labels) * h, axis=-1, keepdims=True)

    def all_class_logits(self, h: Any) -> Any:
        """[N, D] features -> [N, num_classes] logits, one per class (for the class-free export)."""
        assert self.embed is not None
        return self.psi(h) + keras.ops.matmul(h, keras.ops.transpose(self.embed.embeddings))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "features": self.features,
            "spectral_norm": self.spectral_norm,
        }


@keras.saving.register_keras_serializable(package="pixelpatrol")
class ClassAffine(layers.Layer):  # type: ignore[misc]
    """``h * (1 + gamma[y]) + beta[y]``: the per-class scale and shift of conditional batch norm (starts as identity)."""

    def __init__(self, num_classes: int, channels: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.channels = channels
        self.gamma = layers.Embedding(num_classes, channels, embeddings_initializer="zeros", name="gamma")
        self.beta = layers.Embedding(num_classes, channels, embeddings_initializer="zeros", name="beta")
        self.gamma.build((None,))
        self.beta.build((None,))

    def call(self, inputs: Any) -> Any:
        h, label = inputs
        g = keras.ops.reshape(self.gamma(label), (-1, 1, 1, self.channels))
        b = keras.ops.reshape(self.beta(label), (-1, 1, 1, self.channels))
        return h * (1.0 + g) + b

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes, "channels": self.channels}
