"""``--set key=value`` overrides applied to a recipe's config dataclass (typed by the field's default)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from training.data.augment import AugmentSpec
from training.data.preprocess import FeedSpec
from training.detector.fit import DetectorConfig
from training.recipes import RecipeContext


def _coerce(value: str, like: Any) -> Any:
    if isinstance(like, bool):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected a boolean, got {value!r}")
    if isinstance(like, int):
        return int(value)
    if isinstance(like, float):
        return float(value)
    if isinstance(like, tuple):
        return tuple(type(like[0])(v) for v in value.split(","))
    if like is None and value.lower() == "none":
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _field_value(f: dataclasses.Field[Any], value: str, like: Any) -> Any:
    """``none`` clears an optional field (``patience=none``: no early stopping); other values are typed
    like the field's current value."""
    if value.lower() == "none":
        if "None" not in str(f.type):
            raise ValueError(f"option {f.name!r} cannot be none")
        return None
    return _coerce(value, like)


def context_changes(ctx: RecipeContext, lr_fields: tuple[str, ...] = ("lr",)) -> dict[str, Any]:
    """What the command line's own flags change in any recipe's config: ``--data``, ``--seed``, ``--epochs``,
    ``--batch-size``, ``--limit`` and ``--lr`` (into each of ``lr_fields``: a GAN has two rates)."""
    changes: dict[str, Any] = {"seed": ctx.seed}
    if ctx.data:
        changes["data"] = list(ctx.data)
    for key in ("epochs", "batch_size", "limit"):
        if getattr(ctx, key) is not None:
            changes[key] = getattr(ctx, key)
    if ctx.lr is not None:
        changes.update(dict.fromkeys(lr_fields, ctx.lr))
    return changes


def apply_flat(cfg: Any, ctx: RecipeContext, lr_fields: tuple[str, ...] = ("lr",)) -> Any:
    """A flat config dataclass (GANs, the CIFAR-10 classifier) with the command line applied: its flags,
    then ``--set key=value`` for any field."""
    return dataclasses.replace(cfg, **{**context_changes(ctx, lr_fields), **flat_options(cfg, ctx.options)})


def apply_options(cfg: DetectorConfig, ctx: RecipeContext) -> DetectorConfig:
    """Context flags, then ``model.KEY``, ``augment.KEY``, ``feed.KEY`` and plain config keys."""
    changes: dict[str, Any] = {**context_changes(ctx), "tune": ctx.tune}
    model = dict(cfg.model)
    aug: dict[str, Any] = {}
    feed: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(DetectorConfig)}
    for key, value in ctx.options.items():
        group, _, sub = key.partition(".")
        if group == "model" and sub:
            model[sub] = _coerce(value, model.get(sub, ""))
        elif group == "augment" and sub in AugmentSpec.__dataclass_fields__:
            aug[sub] = _coerce(value, getattr(cfg.augment, sub))
        elif group == "feed" and sub in FeedSpec.__dataclass_fields__:
            feed[sub] = _coerce(value, getattr(cfg.feed, sub))
        elif key == "augment" and value.lower() in ("off", "none", "false"):
            aug = {"flip": False, "translate": 0, "jpeg_p": 0.0, "blur_p": 0.0, "resize_p": 0.0}
        elif key in fields and key not in ("feed", "augment", "model"):
            changes[key] = _field_value(fields[key], value, getattr(cfg, key))
        else:
            raise ValueError(f"unknown option {key!r} for this recipe")
    changes["model"] = model
    if aug:
        changes["augment"] = dataclasses.replace(cfg.augment, **aug)
    if feed:
        changes["feed"] = dataclasses.replace(cfg.feed, **feed)
    return dataclasses.replace(cfg, **changes)


def flat_options(cfg: Any, options: dict[str, str]) -> dict[str, Any]:
    """``--set key=value`` for a flat config dataclass (GANs, the CIFAR-10 classifier): any field but
    ``data``, typed by the field's current value; ``none`` clears an optional field."""
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    changes: dict[str, Any] = {}
    for key, value in options.items():
        if key not in fields or key == "data":
            raise ValueError(f"unknown option {key!r}; options: {', '.join(sorted(set(fields) - {'data'}))}")
        changes[key] = _field_value(fields[key], value, getattr(cfg, key))
    return changes
