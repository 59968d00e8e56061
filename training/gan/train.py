"""The epoch loop shared by the GAN recipes, independent of how a run reports.

The recipe passes :class:`GanHooks` that turn batches, epochs and sample grids into protocol events
and answer "stop now?"; the loop owns the order of things: train an epoch, checkpoint, write the
fixed-seed grid, measure, report. A stop request ends the epoch early with a checkpoint, so
``--resume`` continues from the last batch trained rather than the last finished epoch's start.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from training.gan.images import grid_inputs, save_grid, to_gan_range
from training.gan.model import GanTrainer

CHECKPOINT = "gan_state.npz"
PROGRESS = "gan_progress.json"
GRID_SEED = 1234  # the gallery's fixed latents; the same in every epoch and run


class GanHooks(Protocol):
    def on_batch(self, epoch: int, step: int, steps: int, metrics: dict[str, float]) -> None: ...
    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None: ...
    def on_images(self, epoch: int, path: Path, caption: str) -> None: ...
    def should_stop(self) -> bool: ...


@dataclass
class GanData:
    images: np.ndarray  # uint8 NHWC (memory-mapped is fine)
    labels: np.ndarray | None  # int (N,) for conditional GANs


@dataclass
class Progress:
    epoch: int = 0  # finished epochs
    step_in_epoch: int = 0  # batches done in the unfinished epoch

    def save(self, run_dir: Path) -> None:
        tmp = run_dir / (PROGRESS + ".tmp")
        tmp.write_text(json.dumps({"epoch": self.epoch, "step_in_epoch": self.step_in_epoch}))
        tmp.replace(run_dir / PROGRESS)

    @classmethod
    def load(cls, run_dir: Path) -> Progress:
        p = run_dir / PROGRESS
        if not p.exists():
            return cls()
        d = json.loads(p.read_text())
        return cls(int(d["epoch"]), int(d["step_in_epoch"]))


def save_state(trainer: GanTrainer, run_dir: Path, progress: Progress) -> None:
    trainer.save(run_dir / CHECKPOINT)
    progress.save(run_dir)


def restore_state(trainer: GanTrainer, run_dir: Path) -> Progress:
    """Load the last checkpoint of a run directory; a fresh :class:`Progress` when there is none."""
    if not (run_dir / CHECKPOINT).exists():
        return Progress()
    trainer.load(run_dir / CHECKPOINT)
    return Progress.load(run_dir)


def write_grid(trainer: GanTrainer, path: Path, ema: bool = True) -> Path:
    cols = 10 if trainer.spec.conditional else 8
    z, labels = grid_inputs(trainer.spec, GRID_SEED, cols=cols)
    scale = 2 if trainer.spec.image_size <= 32 else 1
    return save_grid(trainer.generate(z, labels, ema=ema), cols, path, scale=scale)


def lr_scale(step: int, total_steps: int, decay_start_step: int | None) -> float:
    """Learning-rate factor for global step ``step`` (0-based, the step about to be trained):
    1 until ``decay_start_step``, then falling linearly towards 0 at ``total_steps`` (the last step
    still trains, at ``1 / (total_steps - decay_start_step)``). ``None``: constant 1."""
    if decay_start_step is None or step < decay_start_step or total_steps <= decay_start_step:
        return 1.0
    return max(0.0, (total_steps - step) / (total_steps - decay_start_step))


def train_gan(
    trainer: GanTrainer,
    data: GanData,
    run_dir: Path,
    epochs: int,
    batch_size: int,
    hooks: GanHooks,
    seed: int = 0,
    progress: Progress | None = None,
    measure: Callable[[GanTrainer], dict[str, float]] | None = None,
    lr_decay_start: int | None = None,
) -> Progress:
    """Train until ``epochs`` are done or a stop is requested; returns where it ended.

    ``lr_decay_start``: after that many epochs both learning rates fall linearly to 0 at the end of
    epoch ``epochs`` (SNGAN's schedule); the factor depends only on the global step, so a resumed run
    continues the same schedule."""
    progress = progress or Progress()
    n = len(data.images)
    steps = n // batch_size  # drop the ragged last batch: BN statistics of a 3-image batch are noise
    if steps < 1:
        raise ValueError(f"{n} training images are fewer than one batch of {batch_size}")
    decay_at = None if lr_decay_start is None else lr_decay_start * steps
    while progress.epoch < epochs:
        epoch = progress.epoch + 1
        # One permutation per epoch, derived from (seed, epoch): a resumed epoch sees the same order.
        order = np.random.default_rng([seed, epoch]).permutation(n)
        sums: dict[str, float] = {}
        done = 0
        t0 = time.monotonic()
        for step in range(progress.step_in_epoch, steps):
            trainer.set_lr_scale(lr_scale((epoch - 1) * steps + step, epochs * steps, decay_at))
            idx = np.sort(order[step * batch_size : (step + 1) * batch_size])
            real = to_gan_range(np.asarray(data.images[idx]))
            labels = None if data.labels is None else np.asarray(data.labels[idx])
            m = trainer.train_step(real, labels)
            for k, v in m.items():
                sums[k] = sums.get(k, 0.0) + v
            done += 1
            progress.step_in_epoch = step + 1
            hooks.on_batch(epoch, step + 1, steps, m)
            if hooks.should_stop():
                save_state(trainer, run_dir, progress)
                return progress
        metrics = {k: v / max(done, 1) for k, v in sums.items()}
        metrics["images_per_s"] = done * batch_size / max(time.monotonic() - t0, 1e-9)
        progress = Progress(epoch, 0)
        save_state(trainer, run_dir, progress)
        grid = write_grid(trainer, run_dir / "samples" / f"epoch_{epoch:04d}.png")
        caption = "EMA generator, fixed latents" + (", one row per class" if trainer.spec.conditional else "")
        hooks.on_images(epoch, grid, caption)
        if measure is not None:
            metrics.update(measure(trainer))
        hooks.on_epoch(epoch, {k: float(v) for k, v in metrics.items() if math.isfinite(float(v))})
    return progress
