"""After the last epoch of a GAN run: measure EMA and raw generator, export both graphs with their
contracts (parity-checked), pick the discriminator's thresholds, write the model card."""

from __future__ import annotations

import datetime as _dt
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from training.data.preprocess import to_model_input
from training.gan.evaluate import MEASURE_ROWS, NOT_COMPARABLE, balanced_labels
from training.gan.export import (
    discriminator_contract,
    discriminator_function,
    generator_contract,
    generator_function,
)
from training.gan.images import fixed_latents
from training.gan.model import GanTrainer
from training.gan.recipe import (
    GanConfig,
    GanDataset,
    discriminator_thresholds,
    make_measure,
    resolve_classifier,
)
from training.ship.card import card_head, write_markdown
from training.ship.onnx import export_function
from training.ship.provenance import device_description, git_commit

log = logging.getLogger(__name__)


def final_measures(trainer: GanTrainer, cfg: GanConfig, data: GanDataset) -> dict[str, dict[str, float]]:
    """The same measures as per epoch, on ``final_samples`` latents, for the EMA and the raw G."""
    out: dict[str, dict[str, float]] = {}
    for key, ema in (("ema", True), ("raw", False)):
        fn = make_measure(cfg, data, cfg.final_samples, ema=ema, seed=11)
        if fn is not None:
            out[key] = fn(trainer)
    return out


def export_gan(
    trainer: GanTrainer,
    cfg: GanConfig,
    data: GanDataset,
    run_dir: Path,
    names: tuple[str, str],
    titles: tuple[str, str],
    card: dict[str, Any],
    ema: bool = True,
) -> dict[str, Any]:
    """Write ``<generator name>.onnx`` (the EMA or the raw generator) and ``<discriminator name>.onnx``."""
    spec = trainer.spec
    gen_name, disc_name = names
    gen_card = {**card, "data": data.info}
    fn, sig = generator_function(trainer.ema_generator if ema else trainer.generator, spec)
    gen_path = run_dir / f"{gen_name}.onnx"
    z = fixed_latents(16, spec.latent_dim, 99)
    feeds: dict[str, np.ndarray] = {"z": z}
    if spec.conditional:
        feeds["label"] = balanced_labels(16, spec.num_classes)
    gen_contract = generator_contract(spec, gen_name, titles[0], data.label_names, gen_card)
    gen_diff = export_function(fn, sig, gen_contract, gen_path, feeds)

    # Discriminator: thresholds from its scores on real validation images vs EMA samples.
    n = min(len(data.val_images), 2000)
    real = data.val_images[:n]
    fake = trainer.generate(
        fixed_latents(n, spec.latent_dim, 5),
        balanced_labels(n, spec.num_classes) if spec.conditional else None,
    )
    dfn, dsig = discriminator_function(trainer.discriminator, spec)
    real_scores = np.concatenate(
        [np.asarray(dfn(image=to_model_input(real[i : i + 500]))["score"])[:, 0] for i in range(0, n, 500)]
    )
    fake_scores = np.concatenate(
        [np.asarray(dfn(image=to_model_input(fake[i : i + 500]))["score"])[:, 0] for i in range(0, n, 500)]
    )
    thresholds, bal_acc = discriminator_thresholds(real_scores, fake_scores)
    disc_card = {
        **card,
        "data": data.info,
        "validation": {
            "split": f"{n} real validation images vs {n} samples of the shipped generator",
            "metrics": {
                "balanced_accuracy": bal_acc,
                "mean_score_real": float(real_scores.mean()),
                "mean_score_generated": float(fake_scores.mean()),
            },
        },
    }
    disc_path = run_dir / f"{disc_name}.onnx"
    disc_contract = discriminator_contract(spec, disc_name, titles[1], data.label_names, thresholds, disc_card)
    disc_diff = export_function(dfn, dsig, disc_contract, disc_path, {"image": to_model_input(real[:16])})
    return {
        "generator": str(gen_path),
        "discriminator": str(disc_path),
        "parity_max_abs_diff": {"generator": gen_diff, "discriminator": disc_diff},
        "discriminator_thresholds": thresholds,
        "discriminator_balanced_accuracy": bal_acc,
    }


def base_card(
    cfg: GanConfig, summary: str, intended: str, not_for: str, training_data: str, command: str
) -> dict[str, Any]:
    return {
        "summary": summary,
        "intended_use": intended,
        "not_for": not_for,
        "training_data": training_data,
        "command": command,
        "commit": git_commit(),
        "date": _dt.date.today().isoformat(),
        "device": device_description(),
        "config": cfg.as_dict(),
    }


def write_card_markdown(
    path: Path,
    title: str,
    card: dict[str, Any],
    measures: dict[str, dict[str, float]],
    extra: list[str],
    grid: Path | None,
) -> Path:
    lines = card_head(title, card, [("Training data", card["training_data"])])
    if measures:
        lines += ["## Measured (validation images the GAN never trained on)", ""]
        shipped = card.get("shipped_weights", "ema")
        heads = (
            "EMA generator" + (" (shipped)" if shipped == "ema" else ""),
            "raw generator" + (" (shipped)" if shipped == "raw" else ""),
        )
        lines += [f"| measure | {heads[0]} | {heads[1]} | real vs real |", "|---|---|---|---|"]
        ema, raw = measures.get("ema", {}), measures.get("raw", {})
        for title_, key, ref, fmt in MEASURE_ROWS:
            if key in ema:
                raw_v = fmt.format(raw[key]) if key in raw else "-"
                lines.append(f"| {title_} | {fmt.format(ema[key])} | {raw_v} | {fmt.format(ema[ref])} |")
        lines += ["", f"Shipped: the {shipped} weights (lower Fréchet distance of the two on these samples)."]
        lines += [
            "",
            f"Samples: {int(ema.get('n_generated', 0))} generated vs {int(ema.get('n_real', 0))} real.",
            "",
        ]
        lines += [NOT_COMPARABLE, ""]
    lines += extra
    if grid is not None:
        lines += ["", f"![sample grid]({grid.name})", ""]
    return write_markdown(path, lines)


def write_discriminator_card(
    path: Path, title: str, card: dict[str, Any], exported: dict[str, Any], licence: str
) -> Path:
    t = exported["discriminator_thresholds"]
    own = {
        **card,
        "intended_use": f"{card['intended_use']} Inspecting what the GAN's critic found real.",
        "not_for": "detecting AI-generated photos in general; it has only ever seen the GAN's training images "
        "and this one generator's samples.",
    }
    intro = [
        "The discriminator trained together with the generator, exported like a detector: input `image` float32 RGB "
        "in [0, 255] (NHWC, scaling inside the graph); `class_scores` [N, C] = sigmoid of the projection logit under "
        "each class; `score` [N, 1] = their maximum = a probability-like score that the image is a REAL training-style "
        "image (hinge loss: not calibrated). Note the direction: high = real, unlike the detectors' P(AI)."
    ]
    facts = [
        ("Training data", f"{card['training_data']}. {licence}"),
        ("Measured", f"balanced accuracy {exported['discriminator_balanced_accuracy']:.1%} telling real validation "
                     f"images from the shipped generator's samples at the decision threshold {t['decision']:.3f} on "
                     "`score`."),
        ("Thresholds (on P(real))", json.dumps({k: round(v, 4) for k, v in t.items()})),
        ("ONNX parity", f"max abs diff {exported['parity_max_abs_diff']['discriminator']:.2e}"),
    ]
    lines = card_head(title, own, facts, intro)
    return write_markdown(path, lines)


def save_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, default=str))


__all__ = [
    "base_card",
    "export_gan",
    "final_measures",
    "resolve_classifier",
    "save_json",
    "write_card_markdown",
]
