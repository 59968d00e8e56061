"""The recipe catalogue: what ``pixelpatrol-train list`` prints and the app's run form offers.

The trainer's registry (``training.recipes``) maps each name to the function that runs it and
refuses a name that is not here; the app, which cannot import the trainer, reads this list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecipeInfo:
    name: str
    title: str  # a few words for a menu
    summary: str  # one line for `pixelpatrol-train list`


def _catalogue(*infos: RecipeInfo) -> dict[str, RecipeInfo]:
    return {info.name: info for info in infos}


# In the order the app's form lists them.
RECIPES: dict[str, RecipeInfo] = _catalogue(
    RecipeInfo(
        "noise-discriminator",
        "Noise discriminator (sanity model)",
        "discriminator telling real CIFAR-10 images from random noise (sanity model)",
    ),
    RecipeInfo(
        "cifake-cnn",
        "CIFAKE CNN (real vs AI)",
        "real-vs-AI CNN on CIFAKE (Rescaling, early stopping, best checkpoint; --tune: Keras Tuner Hyperband)",
    ),
    RecipeInfo(
        "realworld-detector",
        "Real-world detector (full-size photos vs AI images)",
        "native-resolution NPR-style detector for photos, art and modern AI images (real= and fake= folders)",
    ),
    RecipeInfo(
        "cifake-patchgan",
        "PatchGAN detector (score map)",
        "PatchGAN-style real-vs-AI classifier: patch score map + image score (mean of the map)",
    ),
    RecipeInfo(
        "dcgan",
        "DCGAN, CIFAR-10 conditional",
        "class-conditional DCGAN on CIFAR-10 (hinge, spectral-norm projection D, EMA G); ships G and D",
    ),
    RecipeInfo(
        "faces-dcgan",
        "Faces GAN (64×64)",
        "unconditional DCGAN, 64x64, on a folder/zip of faces (DiffAugment, EMA G)",
    ),
    RecipeInfo(
        "cifar10-classifier",
        "CIFAR-10 classifier",
        "small CIFAR-10 classifier (probs + features); measures generators and labels gallery images",
    ),
)
