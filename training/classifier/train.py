"""Training the CIFAR-10 classifier that measures generators and labels generated images in the gallery:
data, the resumable trainer, evaluation, export as kind ``classifier`` (``probs`` + ``features``) and its
card. The recipe ``cifar10-classifier`` (``training/recipes/cifar10_classifier.py``) wires it to a run."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.ship.card import card_head, limits_lines, write_markdown

log = logging.getLogger(__name__)
MODEL_NAME = "cifar10-classifier"  # the exported file and the model inside it
WEIGHTS = "classifier.weights.h5"
OPT_STATE = "classifier_optimizer.npz"
PROGRESS = "classifier_progress.json"


@dataclass
class ClassifierConfig:
    data: list[str] = field(default_factory=list)
    epochs: int = 8
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    width: int = 24
    seed: int = 0
    val_fraction: float = 0.1
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.width < 1:
            raise ValueError("epochs, batch_size and width must be positive")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError("val_fraction must be in (0, 1)")


@dataclass
class ClassifierData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    label_names: list[str]
    info: dict[str, Any]


def load_data(cfg: ClassifierConfig) -> ClassifierData:
    from training.data.loading import labelled_split, load_labeled
    from training.data.preprocess import FeedSpec

    if not cfg.data:
        raise ValueError(
            "no training data: pass --data PATH (CIFAR-10 class folders, a zip of them or the pickles)"
        )
    ds = load_labeled(cfg.data, FeedSpec(32, 32))
    tr, va, info = labelled_split(ds, cfg.data, cfg.val_fraction, cfg.seed, cfg.limit)
    return ClassifierData(
        np.asarray(ds.images[tr]),
        ds.labels[tr],
        np.asarray(ds.images[va]),
        ds.labels[va],
        list(ds.label_names),
        info,
    )


class ClassifierTrainer:
    """Model, compiled training view and resumable state (weights, optimizer, finished epochs)."""

    def __init__(self, cfg: ClassifierConfig, num_classes: int, steps_per_epoch: int) -> None:
        from training.classifier.net import build_classifier, compile_for_training

        self.cfg = cfg
        self.model = build_classifier(cfg.width, num_classes)
        self.train_model = compile_for_training(
            self.model, cfg.epochs * steps_per_epoch, cfg.lr, cfg.weight_decay
        )
        self.train_model.optimizer.build(self.train_model.trainable_variables)
        self.epoch = 0

    def save(self, run_dir: Path) -> None:
        self.model.save_weights(run_dir / WEIGHTS)
        opt = {f"v{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(self.train_model.optimizer.variables)}
        np.savez(run_dir / OPT_STATE, **opt)  # type: ignore[arg-type]
        (run_dir / PROGRESS).write_text(json.dumps({"epoch": self.epoch}))

    def restore(self, run_dir: Path) -> bool:
        if not (run_dir / PROGRESS).exists():
            return False
        self.model.load_weights(run_dir / WEIGHTS)
        with np.load(run_dir / OPT_STATE) as f:
            for i, v in enumerate(self.train_model.optimizer.variables):
                v.assign(f[f"v{i:04d}"])
        self.epoch = int(json.loads((run_dir / PROGRESS).read_text())["epoch"])
        return True


def evaluate(model: Any, data: ClassifierData) -> dict[str, Any]:
    from training.classifier.net import predict_probs

    probs, _ = predict_probs(model, data.x_val)
    pred = probs.argmax(1)
    k = len(data.label_names)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (data.y_val, pred), 1)
    per_class = {data.label_names[c]: float(confusion[c, c] / max(confusion[c].sum(), 1)) for c in range(k)}
    return {
        "val_accuracy": float((pred == data.y_val).mean()),
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
    }


def train(
    cfg: ClassifierConfig,
    run_dir: Path,
    resume: bool,
    on_batch: Callable[[int, int, int, dict[str, float]], None],
    on_epoch: Callable[[int, dict[str, float]], None],
    should_stop: Callable[[], bool],
) -> tuple[ClassifierTrainer, ClassifierData, bool]:
    """Train (or continue) for ``cfg.epochs``; returns (trainer, data, finished)."""
    import keras

    from training.classifier.net import fit_epoch

    keras.utils.set_random_seed(cfg.seed)
    data = load_data(cfg)
    steps = math.ceil(len(data.x_train) / cfg.batch_size)
    trainer = ClassifierTrainer(cfg, len(data.label_names), steps)
    if resume and trainer.restore(run_dir):
        log.info("resumed after epoch %d", trainer.epoch)
    while trainer.epoch < cfg.epochs:
        epoch = trainer.epoch + 1
        rng = np.random.default_rng([cfg.seed, epoch])

        def batch_cb(step: int, total: int, m: dict[str, float], epoch: int = epoch) -> None:
            on_batch(epoch, step, total, m)

        logs, stopped = fit_epoch(
            trainer.train_model, data.x_train, data.y_train, rng, cfg.batch_size, batch_cb, should_stop
        )
        if stopped:  # an epoch is the unit of resume here: the partial epoch is redone
            trainer.save(run_dir)
            return trainer, data, False
        trainer.epoch = epoch
        trainer.save(run_dir)
        metrics = {
            "loss": logs["loss"],
            "accuracy": logs["accuracy"],
            "val_accuracy": evaluate(trainer.model, data)["val_accuracy"],
        }
        on_epoch(epoch, metrics)
    return trainer, data, True


def export(trainer: ClassifierTrainer, data: ClassifierData, run_dir: Path, command: str) -> dict[str, Any]:
    from training.classifier.export import export_classifier
    from training.ship.provenance import device_description, git_commit

    result = evaluate(trainer.model, data)
    card = {
        "summary": "Small VGG-style CNN for the 10 CIFAR-10 classes; its 128-d penultimate features are the "
        "space PixelPatrol's generator Fréchet distances are measured in.",
        "intended_use": "Measuring CIFAR-10-like generators; labelling generated 32x32 images in the gallery.",
        "not_for": "Photos that are not 32x32 CIFAR-like objects; any decision about people; detecting AI images.",
        "training_data": "CIFAR-10 train (50,000 JPEG q75 copies; Krizhevsky 2009), seeded 10 % per class held out",
        "data": data.info,
        "validation": {
            "split": f"seeded {data.info['val_fraction']:.0%} per class, seed {data.info['seed']}",
            "metrics": result,
        },
        "command": command,
        "commit": git_commit(),
        "date": _dt.date.today().isoformat(),
        "device": device_description(),
        "params": int(trainer.model.count_params()),
        "config": asdict(trainer.cfg),
    }
    path = run_dir / f"{MODEL_NAME}.onnx"
    diff = export_classifier(trainer.model, path, data.label_names, card, data.x_val[:64], name=MODEL_NAME)
    result.update(onnx=str(path), parity_max_abs_diff=diff, params=card["params"])
    (run_dir / "evaluation.json").write_text(json.dumps(result, indent=1))
    write_card(run_dir / f"{MODEL_NAME}.md", card, result)
    return result


def write_card(path: Path, card: dict[str, Any], result: dict[str, Any]) -> Path:
    per_class = " | ".join(f"{k} {v:.1%}" for k, v in result["per_class_accuracy"].items())
    intro = [
        "Kind `classifier`: input `image` float32 RGB [0, 255] NHWC 32x32 (scaling inside the graph); outputs "
        "`probs` [N, 10] softmax over the CIFAR-10 classes and `features` [N, 128] (penultimate layer)."
    ]
    facts = [
        ("Training data", f"{card['training_data']} ({card['data']['train_images']:,} train / "
                          f"{card['data']['val_images']:,} validation images). CIFAR-10 has no formal licence; cite "
                          "Krizhevsky 2009."),
        ("Parameters", f"{card['params']:,}"),
    ]
    lines = [
        *card_head("CIFAR-10 classifier", card, facts, intro),
        "## Measured on the validation split",
        "",
        f"- **Accuracy:** {result['val_accuracy']:.2%}",
        f"- **Per class:** {per_class}",
        f"- **ONNX parity** (max abs diff of probs/features, Keras vs onnxruntime, 64 validation images): "
        f"{result['parity_max_abs_diff']:.2e}",
        "",
        *limits_lines("The validation images are JPEG q75 copies like the training images; accuracy on the project's "
                      "held-out test set or on other image sources was not measured."),
    ]
    return write_markdown(path, lines)


METRIC_NAMES = ["loss", "accuracy", "val_accuracy"]


def apply_context(cfg: ClassifierConfig, ctx: Any) -> ClassifierConfig:
    from training.recipes.options import apply_flat

    result: ClassifierConfig = apply_flat(cfg, ctx)
    return result
