"""The shared train -> evaluate -> export flow of the binary detectors (cifake-cnn, cifake-patchgan,
noise-discriminator). A recipe supplies a model builder and a :class:`DetectorConfig`; this module
loads data, splits it, streams augmented batches, fits with the run hooks, then (lazily) evaluates
the best checkpoint and exports it with the model contract.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from training.data.augment import AugmentSpec
from training.data.preprocess import FeedSpec

log = logging.getLogger(__name__)


# Batch-norm moving statistics start at mean 0 / variance 1, and Keras' default momentum 0.99 keeps
# 0.99**n of that start after n steps. Where a layer's real variance is far below 1 (small conv weights on
# [0, 1] inputs), a run of a few hundred steps (a --tune trial, a --limit run) evaluates with a variance several times too
# large: measured on a 3-epoch, 12,000-image CNN run, validation accuracy was 50 % in inference mode and
# 92 % after re-estimating the statistics. Short runs therefore use 0.9 (PyTorch's default), which
# forgets the start within ~50 steps; runs of SHORT_RUN_STEPS or more keep 0.99 (the shipped models).
SHORT_RUN_STEPS = 2000


def bn_momentum(option: Any, total_steps: int | None) -> float:
    """The batch-norm momentum for a model option ``"auto"`` or a number; ``total_steps`` None = unknown
    (a tuner trial), treated as short."""
    if option != "auto":
        value = float(option)
        if not 0.0 <= value < 1.0:
            raise ValueError(f"bn_momentum must be in [0, 1), got {option!r}")
        return value
    return 0.99 if total_steps is not None and total_steps >= SHORT_RUN_STEPS else 0.9


def _comma_list(text: str | None) -> list[str]:
    """``--set key=a.keras,b.keras`` as a list of non-empty, stripped items."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]


@dataclass
class DetectorConfig:
    data: list[str] = field(default_factory=list)
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    val_fraction: float = 0.1
    limit: int | None = None  # at most this many training samples (quick runs, tests)
    # Early stopping on the monitored value. 5, not 3: validation AUC is noisy while the cosine schedule's
    # learning rate is high; three shipped runs came within one epoch of stopping at patience 3.
    patience: int | None = 5
    monitor: str = "val_auc"
    monitor_mode: str = "max"
    feed: FeedSpec = field(default_factory=FeedSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    model: dict[str, Any] = field(default_factory=dict)  # recipe-specific architecture options
    tune: bool = False
    tune_epochs: int = 4
    tune_limit: int | None = 20000
    # Fine-tuning and the project's own fakes (training/detector/warm_start.py, training/data/gan_fakes.py):
    init_from: str | None = None  # an exported ONNX of the same architecture to start from
    gan_fakes: str | None = None  # generator ONNX files (comma-separated) whose samples are extra fakes
    gan_fake_count: int = 20000
    # The fraction of those samples stored as JPEG (quality 60-95, fixed per sample): the photos are all JPEGs and the
    # samples PNG-clean, so without it "no JPEG traces" is a shortcut to "GAN", and a GAN image saved as JPEG is missed.
    gan_fake_jpeg: float = 0.0
    # Photos (zips/folders, comma-separated) added as reals on a side fixed by position (gan_fakes.with_pinned_reals):
    # the pictures a generator among gan_fakes imitates, e.g. the faces GAN's UTKFace photos.
    pinned_reals: str | None = None
    # Export (training/detector/calibrate.py): average the logits of the image and its mirror image inside the
    # graph, and divide them by a temperature fitted on validation so that the score is a probability.
    tta_flip: bool = False
    calibrate: bool = False
    # "validation": T alone, fitted on the validation split's own mix of classes; "balanced": T and a bias fitted
    # with each class weighing half, so the score is a probability for a folder of as many fakes as photos.
    calibrate_prior: str = "validation"
    # Which validation images the calibration is fitted on: "all", or "cifake" (CIFAKE alone, when the project's
    # GAN samples and pinned photos are in the split: they have other proportions of easy and hard images, and the
    # held-out bar measures CIFAKE)
    calibrate_on: str = "all"
    # Checkpoints (.keras, comma-separated) of other runs on the same data whose logits are averaged with this
    # run's best model into one exported graph (training/detector/calibrate.py: ensemble_logits).
    ensemble_with: str | None = None
    ensemble_combine: str = "mean"  # "mean" of the logits, or "max": AI when any member says AI
    # Checkpoints (.keras, comma-separated) of experts for other kinds of fake, joined after the ensemble above by
    # the maximum of the logits: max(mean(this run's model, ensemble_with...), experts_with...).
    experts_with: str | None = None
    experts_offset: float = 0.0  # added to each expert's logit before the maximum (chosen on validation)
    # Training (training/detector/ema.py): an exponential moving average of the weights, shipped when it measures
    # at least as well as the best epoch; and the seed of the initial weights, shuffling and augmentation when it
    # should differ from ``seed`` (which also draws the validation split: ensemble members must share it).
    ema_decay: float | None = None
    train_seed: int | None = None

    def __post_init__(self) -> None:
        from training.detector.calibrate import check_prior

        check_prior(self.calibrate_prior)
        if self.calibrate_on not in ("all", "cifake"):
            raise ValueError(f"calibrate_on must be all or cifake, got {self.calibrate_on!r}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.epochs < (0 if self.init_from else 1):
            raise ValueError("epochs must be at least 1 (0 only with init_from: ship that model as it is)")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be positive, got {self.lr}")
        if self.limit is not None and self.limit < 2:
            raise ValueError("limit must be at least 2")
        if self.ensemble_combine not in ("mean", "max"):
            raise ValueError(f"ensemble_combine must be mean or max, got {self.ensemble_combine!r}")
        if self.gan_fake_count < 0:
            raise ValueError("gan_fake_count cannot be negative")
        if not 0.0 <= self.gan_fake_jpeg <= 1.0:
            raise ValueError(f"gan_fake_jpeg must be a fraction in [0, 1], got {self.gan_fake_jpeg}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")

    @property
    def fit_seed(self) -> int:
        """The seed of initial weights, shuffling and augmentation (``train_seed``, else ``seed``)."""
        return self.seed if self.train_seed is None else self.train_seed

    @property
    def ensemble_paths(self) -> list[str]:
        return _comma_list(self.ensemble_with)

    @property
    def expert_paths(self) -> list[str]:
        return _comma_list(self.experts_with)

    @property
    def gan_fake_paths(self) -> list[str]:
        return _comma_list(self.gan_fakes)

    @property
    def pinned_real_paths(self) -> list[str]:
        return _comma_list(self.pinned_reals)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Split:
    images: np.ndarray  # uint8 memmap, all samples
    labels: np.ndarray
    train: np.ndarray  # sample indices
    val: np.ndarray
    info: dict[str, Any]
    groups: np.ndarray | None = None  # per sample, as ImageData.groups (GAN fakes: >= gan_fakes.GAN_GROUP)


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    idx: np.ndarray,
    batch_size: int,
    *,
    augment: AugmentSpec | None,
    seed: int,
    shuffle: bool,
    targets: Callable[[Any], Any] | None = None,
) -> Any:
    """A tf.data pipeline of (float32 0..255 NHWC, target) batches from the uint8 cache."""
    import tensorflow as tf

    from training.data.augment import make_augment_fn

    x = np.asarray(images[np.sort(idx)])  # one read of the memmap; 32x32 sets fit in RAM
    y = labels[np.sort(idx)].astype(np.float32)
    h, w = x.shape[1:3]
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if augment is not None:
        fn = make_augment_fn(augment, h, w)
        counter = tf.data.Dataset.counter()
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda xy, i: (fn(xy[0], tf.stack([tf.cast(seed, tf.int64), i])), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    ds = ds.batch(batch_size)
    if augment is not None and (augment.mixup or augment.cutmix):
        from training.data.augment import make_mix_fn

        # seeds (seed, -1 - batch position), apart from the per-image ones (seed, image position). Like those, they
        # repeat by position each epoch; the reshuffle changes which images meet at each position.
        mix = make_mix_fn(augment)
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.counter())).map(
            lambda xy, i: mix(xy[0], xy[1], tf.stack([tf.cast(seed, tf.int64), -1 - i])),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    tgt = targets or (lambda yb: yb[:, None])
    ds = ds.map(lambda a, b: (tf.cast(a, tf.float32), tgt(b)), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(2)


def validation_dataset(split: Split, cfg: DetectorConfig, targets: Callable[[Any], Any] | None = None) -> Any:
    """The validation images as batches of 512, unaugmented, in index order."""
    return make_dataset(
        split.images, split.labels, split.val, 512, augment=None, seed=cfg.seed, shuffle=False, targets=targets
    )


def fit_detector(
    run: Any,
    cfg: DetectorConfig,
    split: Split,
    build: Callable[[], Any],
    targets: Callable[[Any], Any] | None = None,
    metrics: tuple[str, ...] = ("accuracy", "auc"),
) -> dict[str, Any]:
    """Fit (or continue) a compiled model from ``build()``; returns a summary of how training ended."""
    import math

    from training.keras_run import LAST, RunCallback, load_checkpoint

    steps = math.ceil(len(split.train) / cfg.batch_size)
    state = run.load_state() if run.resume else {}
    initial_epoch = int(state.get("epochs_done", 0))
    last = run.dir / LAST
    if run.resume and last.exists():
        model = load_checkpoint(last)
        log.info("resumed from %s after %d epoch(s)", last, initial_epoch)
    else:
        import keras

        keras.utils.set_random_seed(cfg.fit_seed)  # the initial weights
        model = build()
    train_ds = make_dataset(
        split.images,
        split.labels,
        split.train,
        cfg.batch_size,
        augment=cfg.augment,
        seed=cfg.fit_seed + initial_epoch,
        shuffle=True,
        targets=targets,
    )
    val_ds = validation_dataset(split, cfg, targets)
    cb = RunCallback(run, steps, cfg.monitor, cfg.monitor_mode, cfg.patience)
    base = ["loss", *metrics]
    metric_names = [*base, *[f"val_{m}" for m in base]]
    run.start(
        cfg.epochs,
        metric_names,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps,
        train_samples=len(split.train),
        val_samples=len(split.val),
        monitor=cfg.monitor,
        params=int(model.count_params()),
    )
    # An early-stopped run resumed with a larger patience (or --set patience=none) trains on.
    still_stopped = bool(state.get("early_stopped")) and (
        cfg.patience is not None and int(state.get("wait", 0)) >= cfg.patience
    )
    finished = initial_epoch >= cfg.epochs or still_stopped
    if finished and not last.exists():  # epochs=0: the start model (init_from) is the model to ship
        model.save(last)
    if not finished:
        callbacks: list[Any] = [cb]
        if cfg.ema_decay is not None:
            from training.detector.ema import WeightAverage

            callbacks.insert(0, WeightAverage(run.dir, cfg.ema_decay, val_ds, run.resume))  # saved before `cb`
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=cfg.epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=0,
        )
        cb.save_final()
    completed = cb.epochs_done >= cfg.epochs or cb.early_stopped or still_stopped
    return {
        "model": model,
        # A --time-limit-min end is planned: finish (evaluate, export) with the best checkpoint so far.
        "completed": (completed and not cb.stopped_by_request) or (run.time_limit_hit and cb.epochs_done > 0),
        "time_limited": run.time_limit_hit,
        "stopped": cb.stopped_by_request,
        "early_stopped": cb.early_stopped,
        "epochs_done": cb.epochs_done,
        "best_epoch": cb.best_epoch,
        "best_value": cb.best,
    }
