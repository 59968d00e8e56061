"""Recipe ``faces-dcgan``: the DCGAN machinery, unconditional, 64x64 by default, on any folder or zip
of face images (shipped: the UTKFace ``crop_part1`` aligned crops, deduplicated by content hash).

UTKFace is licensed for **non-commercial research only**; so is everything trained on it here.
DiffAugment is off by default (with widths 8 it collapsed; `--set diffaugment=true` turns it on) and the
EMA is shorter (runs are short on a CPU). The generator upsamples by nearest neighbour + 3x3 convolution
(``upsample=resize``), as the shipped 64x64 model does.
"""

from __future__ import annotations

from typing import Any

from training.gan.flow import Naming, run_gan
from training.gan.recipe import GanConfig
from training.recipes import RecipeContext

NAME = "faces-dcgan"


def default_config() -> GanConfig:
    return GanConfig(
        conditional=False,
        image_size=64,
        # Widths 8 with DiffAugment collapsed to one texture within the first epoch (docs/generators.md);
        # widths 16 without it keep their variety at 64x64 and learn faces at 32x32.
        g_width=16,
        d_width=16,
        diffaugment=False,
        # Transposed convolutions left a checkerboard, dashes and blotches at 64x64; nearest upsampling + 3x3
        # convolution is what the shipped 64x64 generator uses (session 11, docs/generators.md).
        upsample="resize",
        ema_decay=0.995,
        ema_start=200,
        epochs=10,
        measure_samples=500,
        final_samples=480,
    )


FACES_NAMING = Naming(
    generator="faces-generator",
    discriminator="faces-discriminator",
    generator_title="Faces DCGAN, {size}x{size} (generator)",
    discriminator_title="Faces DCGAN, {size}x{size} (discriminator)",
    summary="Unconditional DCGAN generating {size}x{size} face crops like UTKFace's aligned faces "
    "(hinge loss, {stabilisers}).",
    intended_use="Non-commercial research and demos only: synthetic faces for the gallery and for testing detectors.",
    not_for="Any commercial use (training-data licence); identifying, profiling or judging people; realistic portraits.",
    training_data="UTKFace crop_part1 (Zhang, Song & Qi, CVPR 2017), 9,674 unique aligned face crops resized to {size}x{size}, "
    "minus a seeded 10 % validation split",
    licence="UTKFace is available for NON-COMMERCIAL RESEARCH PURPOSES ONLY; the copyright of the images belongs to their "
    "original owners. Cite Zhang, Song & Qi, 'Age Progression/Regression by Conditional Adversarial Autoencoder', "
    "CVPR 2017 (arXiv:1702.08423).",
)


def run(ctx: RecipeContext) -> dict[str, Any] | None:
    return run_gan(ctx, default_config(), FACES_NAMING)
