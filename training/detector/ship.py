"""Train a detector recipe end to end: data, optional tuning, fit, then evaluation and export."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from training.data.loading import ImageData, load_real_fake, split_train_val, subsample
from training.detector.fit import DetectorConfig, Split, fit_detector
from training.recipes import RecipeContext

log = logging.getLogger(__name__)


def make_split(cfg: DetectorConfig, data: ImageData) -> Split:
    train, val = split_train_val(data, cfg.val_fraction, cfg.seed)
    train = subsample(train, cfg.limit, cfg.seed)
    if cfg.limit is not None:
        val = subsample(val, max(cfg.limit // 4, 2), cfg.seed)
    info = {
        **data.info,
        "train_samples": len(train),
        "val_samples": len(val),
        "label_names": data.label_names,
    }
    log.info("train %d / validation %d samples", len(train), len(val))
    return Split(data.images, data.labels, train, val, info, data.groups)


def _start(cfg: DetectorConfig, split: Split, model: Any) -> Any:
    """A new model, or one carrying the weights of ``cfg.init_from`` (fine-tuning)."""
    if cfg.init_from:
        from training.detector.warm_start import warm_start

        sample = np.asarray(split.images[np.sort(split.train)[:: max(1, len(split.train) // 4096)]])
        warm_start(model, cfg.init_from, sample)
    return model


def train_and_ship(
    ctx: RecipeContext,
    cfg: DetectorConfig,
    name: str,
    build_model: Callable[..., Any],
    card: dict[str, str],
    *,
    tuner_space: Callable[[Any, DetectorConfig], Any] | None = None,
    load: Callable[[DetectorConfig], ImageData] | None = None,
    targets: Callable[[Any], Any] | None = None,
    outputs: dict[str, Any] | tuple[str, ...] = ("score",),
    metrics: tuple[str, ...] = ("accuracy", "auc"),
    kind: str = "detector",
    labels: tuple[str, str] = ("real", "ai"),
) -> dict[str, Any] | None:
    if not cfg.data:
        raise ValueError(f"{name}: no data given (--data PATH, repeatable)")
    ctx.run.config["resolved"] = cfg.as_dict()
    (ctx.run.dir / "config.json").write_text(json.dumps({**ctx.run.config}, indent=2, default=str))
    data = load(cfg) if load else load_real_fake(cfg.data, cfg.feed, need_classes=1 if cfg.gan_fake_paths else 2)
    if cfg.pinned_real_paths:
        from training.data.gan_fakes import with_pinned_reals
        from training.data.loading import load_images

        data = with_pinned_reals(data, load_images(cfg.pinned_real_paths, cfg.feed))
    if cfg.gan_fake_paths and cfg.gan_fake_count:
        from training.data.gan_fakes import with_gan_fakes

        data = with_gan_fakes(data, cfg.gan_fake_paths, cfg.gan_fake_count, cfg.gan_fake_jpeg)
    split = make_split(cfg, data)
    steps = math.ceil(len(split.train) / cfg.batch_size)
    model_opts, lr = dict(cfg.model), cfg.lr
    tuned = ctx.run.load_state().get("tuned") if ctx.resume else None
    if cfg.tune and tuner_space is not None and tuned is None:
        from training.detector.tune import hyperband

        tuned = hyperband(ctx, cfg, split, tuner_space, targets=targets)
        ctx.run.save_state({**ctx.run.load_state(), "tuned": tuned})
    if tuned:
        model_opts.update({k: v for k, v in tuned.items() if k != "lr"})
        lr = float(tuned.get("lr", lr))
    result = fit_detector(
        ctx.run,
        cfg,
        split,
        lambda: _start(cfg, split, build_model(model_opts, lr, steps * cfg.epochs)),
        targets=targets,
        metrics=metrics,
    )
    if tuned:  # keep "tuned" in the state the callback rewrote
        ctx.run.save_state({**ctx.run.load_state(), "tuned": tuned})
    if not result["completed"]:
        log.info("stopped after %d epoch(s); continue with --resume", result["epochs_done"])
        return None
    from training.detector.finish import finish_detector

    return finish_detector(
        ctx, cfg, split, name, card, result, outputs=outputs, tuned=tuned, kind=kind, labels=labels
    )
