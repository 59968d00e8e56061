"""Recipe ``dcgan``: class-conditional DCGAN on CIFAR-10 (generator + projection discriminator).

Defaults are the shipped CPU run: small widths so that a 2-core CPU finishes ~10 epochs in about an
hour. On a GPU raise ``g_width``/``d_width`` to 64 and ``epochs`` to 100+. The flow is
``training/gan/flow.py``, shared with ``faces-dcgan``.
"""

from __future__ import annotations

from typing import Any

from training.gan.flow import Naming, run_gan
from training.gan.recipe import GanConfig
from training.recipes import RecipeContext

NAME = "dcgan"


def default_config() -> GanConfig:
    return GanConfig(conditional=True, image_size=32, g_width=16, d_width=16, epochs=12)


CIFAR_NAMING = Naming(
    generator="dcgan-cifar10-generator",
    discriminator="dcgan-cifar10-discriminator",
    generator_title="Class-conditional DCGAN, CIFAR-10 (generator)",
    discriminator_title="Class-conditional DCGAN, CIFAR-10 (discriminator)",
    summary="Class-conditional DCGAN generating {size}x{size} CIFAR-10-like images of a requested class "
    "(hinge loss, projection discriminator; {stabilisers}).",
    intended_use="Making labelled synthetic CIFAR-10-like images for the gallery, demos and tests of detectors.",
    not_for="Realistic images of any kind; data augmentation of benchmarks; the discriminator is not an AI-image "
    "detector for photos (it only knows this generator and CIFAR-10).",
    training_data="CIFAR-10 train (JPEG q75 copies, Krizhevsky 2009) minus a seeded 10 % validation split",
    licence="CIFAR-10 has no formal licence; cite Krizhevsky 2009.",
)


def run(ctx: RecipeContext) -> dict[str, Any] | None:
    return run_gan(ctx, default_config(), CIFAR_NAMING)
