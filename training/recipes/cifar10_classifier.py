"""Recipe ``cifar10-classifier``: the small CIFAR-10 classifier that measures generators (the flow is
``training/classifier/train.py``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from training.classifier.train import METRIC_NAMES, ClassifierConfig, apply_context, export, train

NAME = "cifar10-classifier"


def run(ctx: Any) -> dict[str, Any] | None:
    cfg = apply_context(ClassifierConfig(), ctx)
    ctx.run.config["resolved"] = asdict(cfg)
    (ctx.run.dir / "config.json").write_text(json.dumps(ctx.run.config, indent=2, default=str))
    started = False

    def on_batch(epoch: int, step: int, steps: int, m: dict[str, float]) -> None:
        nonlocal started
        if not started:  # start once the data are loaded and the resume point is known
            started = True
            ctx.run.start(cfg.epochs, METRIC_NAMES, initial_epoch=epoch - 1)
        ctx.run.on_batch(epoch, step, steps, m)

    trainer, data, finished = train(
        cfg, ctx.run.dir, ctx.resume, on_batch, ctx.run.on_epoch, ctx.run.should_stop
    )
    if not started:
        ctx.run.start(cfg.epochs, METRIC_NAMES, initial_epoch=trainer.epoch)
    if not finished:
        return None
    result = export(trainer, data, ctx.run.dir, ctx.command)
    ctx.run.evaluation("validation", {k: v for k, v in result.items() if k != "onnx"})
    ctx.run.exported(
        Path(result["onnx"]), kind="classifier", parity_max_abs_diff=result["parity_max_abs_diff"]
    )
    return {"val_accuracy": result["val_accuracy"], "onnx": result["onnx"]}
