"""The recipe registry: ``pixelpatrol-train NAME`` looks NAME up here.

A recipe is a function ``run(ctx: RecipeContext) -> dict | None`` in some module, registered
below as ``"module:function"`` so that listing recipes never imports TensorFlow. It:

- reads its data from ``ctx.data`` (list of ``PATH`` or ``role=PATH`` strings), its defaults from
  its own config dataclass, overridden by ``ctx.epochs``/``ctx.batch_size``/``ctx.lr``/``ctx.limit``
  /``ctx.seed`` when not None and by ``ctx.options`` (``--set key=value``, strings);
- calls ``ctx.run.start(...)`` once, then ``ctx.run.on_batch / on_epoch / on_images`` while training,
  checks ``ctx.run.should_stop()`` after every batch and ends cleanly (checkpoint, state) when true;
- continues from its checkpoint when ``ctx.resume`` (the epoch count goes on);
- when finished, emits ``ctx.run.evaluation(...)`` and ``ctx.run.exported(...)`` and returns a
  JSON-able summary; returns None when it was stopped before finishing.

The CLI writes ``finish`` (and ``error`` on an exception); recipes never do.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from training.runs import Run


@dataclass
class RecipeContext:
    run: Run
    data: list[str]
    seed: int = 0
    resume: bool = False
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    limit: int | None = None
    tune: bool = False
    options: dict[str, str] = field(default_factory=dict)
    command: str = ""


@dataclass(frozen=True)
class Recipe:
    name: str
    target: str  # "package.module:function"
    summary: str

    def load(self) -> Callable[[RecipeContext], dict[str, Any] | None]:
        module, _, func = self.target.partition(":")
        fn: Callable[[RecipeContext], dict[str, Any] | None] = getattr(importlib.import_module(module), func)
        return fn


RECIPES: dict[str, Recipe] = {}


def register(name: str, target: str, summary: str) -> None:
    if name in RECIPES:
        raise ValueError(f"recipe {name!r} registered twice")
    RECIPES[name] = Recipe(name, target, summary)


def get(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown recipe {name!r}; known: {', '.join(sorted(RECIPES))}") from None


register(
    "cifake-cnn",
    "training.recipes.cifake_cnn:run",
    "real-vs-AI CNN on CIFAKE (Rescaling, early stopping, best checkpoint; --tune: Keras Tuner Hyperband)",
)
register(
    "cifake-patchgan",
    "training.recipes.cifake_patchgan:run",
    "PatchGAN-style real-vs-AI classifier: patch score map + image score (mean of the map)",
)
register(
    "noise-discriminator",
    "training.recipes.noise_discriminator:run",
    "discriminator telling real CIFAR-10 images from random noise (sanity model)",
)
register(
    "cifar10-classifier",
    "training.recipes.cifar10_classifier:run",
    "small CIFAR-10 classifier (probs + features); measures generators and labels gallery images",
)
register(
    "dcgan",
    "training.recipes.dcgan:run",
    "class-conditional DCGAN on CIFAR-10 (hinge, spectral-norm projection D, EMA G); ships G and D",
)
register(
    "faces-dcgan",
    "training.recipes.faces_dcgan:run",
    "unconditional DCGAN, 64x64, on a folder/zip of faces (DiffAugment, EMA G)",
)
