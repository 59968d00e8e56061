"""The recipe registry: ``pixelpatrol-train NAME`` looks NAME up here.

A recipe is a function ``run(ctx: RecipeContext) -> dict | None`` in some module, registered
below as ``"module:function"`` so that listing recipes never imports TensorFlow. Its name, title and
one-line summary live in the catalogue ``spec/recipes.py``, which the app's run form reads too. It:

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

from spec.recipes import RECIPES as CATALOGUE
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


def register(name: str, target: str) -> None:
    """Make recipe ``name`` of the catalogue (spec/recipes.py, which the app reads) runnable."""
    if name in RECIPES:
        raise ValueError(f"recipe {name!r} registered twice")
    if name not in CATALOGUE:
        raise ValueError(f"recipe {name!r} is not in the catalogue the app offers (spec/recipes.py)")
    RECIPES[name] = Recipe(name, target, CATALOGUE[name].summary)


def get(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown recipe {name!r}; known: {', '.join(sorted(RECIPES))}") from None


register("cifake-cnn", "training.recipes.cifake_cnn:run")
register("cifake-patchgan", "training.recipes.cifake_patchgan:run")
register("realworld-detector", "training.recipes.realworld:run")
register("noise-discriminator", "training.recipes.noise_discriminator:run")
register("cifar10-classifier", "training.recipes.cifar10_classifier:run")
register("dcgan", "training.recipes.dcgan:run")
register("faces-dcgan", "training.recipes.faces_dcgan:run")
