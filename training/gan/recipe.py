"""What the two GAN recipes share besides the loop: config, data, per-epoch measures, final
evaluation (EMA vs raw generator), export of generator and discriminator, and the model card.

``recipes/dcgan.py`` and ``recipes/faces_dcgan.py`` only choose defaults; ``gan/flow.py`` wires this to a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.gan.images import fixed_latents
from training.gan.model import GanSpec, GanTrainer, TrainSpec
from training.gan.train import GanData

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLASSIFIER = REPO_ROOT / "onnx_models" / "cifar10-classifier.onnx"


@dataclass
class GanConfig:
    data: list[str] = field(default_factory=list)
    conditional: bool = True
    epochs: int = 15
    batch_size: int = 64
    seed: int = 0
    val_fraction: float = 0.1
    limit: int | None = None  # at most this many training images (quick runs, tests)
    image_size: int = 32
    latent_dim: int = 128
    g_width: int = 16
    d_width: int = 16
    spectral_norm: bool = True
    upsample: str = "transpose"  # or "resize": nearest upsampling + 3x3 conv in G (no checkerboard)
    cond_bn: bool = False  # conditional batch norm in G's blocks (per-class scale and shift; conditional runs)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    ema_decay: float = 0.999
    ema_start: int = 500
    diffaugment: bool = False
    aux_class_weight: float = 0.0  # > 0: AC-GAN auxiliary class loss beside the projection (conditional)
    lr_decay_start: int | None = None  # epochs at full learning rate, then linear decay to 0 at `epochs`
    classifier: str | None = None  # classifier ONNX for the per-epoch measures; None: the shipped one
    measure_samples: int = 1000  # generated images per epoch measure (0: no measures)
    final_samples: int = 2500

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError("epochs must be >= 1 and batch_size >= 2")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError("val_fraction must be in (0, 1)")
        if self.lr_decay_start is not None and not 0 <= self.lr_decay_start < self.epochs:
            raise ValueError(
                f"lr_decay_start must be in [0, epochs={self.epochs}), got {self.lr_decay_start}"
            )
        self.gan_spec()  # validates sizes
        self.train_spec()

    def gan_spec(self, num_classes: int = 10) -> GanSpec:
        return GanSpec(
            image_size=self.image_size,
            latent_dim=self.latent_dim,
            num_classes=num_classes if self.conditional else 0,
            g_width=self.g_width,
            d_width=self.d_width,
            spectral_norm=self.spectral_norm,
            upsample=self.upsample,
            cond_bn=self.cond_bn,
        )

    def train_spec(self) -> TrainSpec:
        return TrainSpec(
            lr_g=self.lr_g,
            lr_d=self.lr_d,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            ema_decay=self.ema_decay,
            ema_start=self.ema_start,
            diffaugment=self.diffaugment,
            aux_class_weight=self.aux_class_weight,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GanDataset:
    train: GanData
    val_images: np.ndarray
    val_labels: np.ndarray | None
    label_names: list[str]
    info: dict[str, Any]


def load_gan_data(cfg: GanConfig) -> GanDataset:
    from training.data.loading import labelled_split, load_images, load_labeled
    from training.data.preprocess import FeedSpec

    if not cfg.data:
        raise ValueError("no training data: pass --data PATH (a folder or zip of images)")
    feed = FeedSpec(cfg.image_size, cfg.image_size)
    ds = load_labeled(cfg.data, feed) if cfg.conditional else load_images(cfg.data, feed)
    train_idx, val_idx, info = labelled_split(ds, cfg.data, cfg.val_fraction, cfg.seed, cfg.limit)
    labels = ds.labels[train_idx] if cfg.conditional else None
    return GanDataset(
        GanData(np.asarray(ds.images[train_idx]), labels),
        np.asarray(ds.images[val_idx]),
        ds.labels[val_idx] if cfg.conditional else None,
        list(ds.label_names),
        info,
    )


def resolve_classifier(cfg: GanConfig) -> Path | None:
    path = Path(cfg.classifier) if cfg.classifier else DEFAULT_CLASSIFIER
    if path.is_file():
        return path
    log.warning("no classifier at %s: generator quality measures are skipped", path)
    return None


def make_measure(
    cfg: GanConfig, data: GanDataset, n: int, ema: bool = True, seed: int = 7
) -> Callable[[GanTrainer], dict[str, float]] | None:
    """A function trainer -> measures (Fréchet distance, two-sample and class accuracy, each with
    its real-vs-real reference), on ``n`` fixed latents against halves of the validation images."""
    from training.gan.evaluate import OnnxClassifier, balanced_labels, measure, split_halves

    path = resolve_classifier(cfg)
    if path is None or n <= 0 or len(data.val_images) < 4:
        return None
    clf = OnnxClassifier(path)
    real = split_halves(data.val_images, data.val_labels, min(n, len(data.val_images) // 2), seed)
    count = len(real.a)
    z = fixed_latents(count, cfg.latent_dim, seed + 1)
    gen_labels = balanced_labels(count, len(data.label_names)) if cfg.conditional else None
    use_class_acc = cfg.conditional and clf.labels == data.label_names

    def run(trainer: GanTrainer) -> dict[str, float]:
        images = trainer.generate(z, gen_labels, ema=ema)
        return measure(images, gen_labels if use_class_acc else None, real, clf, seed)

    return run


def discriminator_thresholds(
    real_scores: np.ndarray, fake_scores: np.ndarray
) -> tuple[dict[str, float], float]:
    """Decision threshold on P(real) with the best balanced accuracy (real val vs generated), and
    band edges spread around it; returns (thresholds, balanced accuracy at the decision)."""
    cands = np.unique(np.concatenate([real_scores, fake_scores]))
    best_t, best_acc = 0.5, 0.0
    for t in np.quantile(cands, np.linspace(0.01, 0.99, 99)):
        acc = 0.5 * (float((real_scores >= t).mean()) + float((fake_scores < t).mean()))
        if acc > best_acc:
            best_t, best_acc = float(t), acc
    d = min(max(best_t, 0.02), 0.98)
    thresholds = {
        "decision": d,
        "real": d * 0.1,
        "likely_real": d * 0.6,
        "likely_ai": d + (1 - d) * 0.4,
        "ai": d + (1 - d) * 0.9,
    }
    return thresholds, best_acc


def apply_context(cfg: GanConfig, ctx: Any) -> GanConfig:
    """CLI flags (``--data/--epochs/--batch-size/--limit/--seed``; ``--lr`` sets both learning rates)
    and ``--set key=value`` for any :class:`GanConfig` field."""
    from training.recipes.options import apply_flat

    result: GanConfig = apply_flat(cfg, ctx, ("lr_g", "lr_d"))
    return result


METRIC_NAMES = [
    "d_loss",
    "g_loss",
    "d_real",
    "d_fake",
    "images_per_s",
    "frechet",
    "frechet_real",
    "two_sample_acc",
    "two_sample_acc_real",
    "class_acc",
    "class_acc_real",
]
