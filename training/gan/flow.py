"""The GAN recipes' shared flow (``dcgan``, ``faces-dcgan``): configuration from the run context, training,
measuring and shipping both networks. A recipe only chooses defaults and a :class:`Naming`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from training.gan.recipe import GanConfig
from training.gan.train import GanHooks
from training.recipes import RecipeContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Naming:
    generator: str
    discriminator: str
    generator_title: str
    discriminator_title: str
    summary: str
    intended_use: str
    not_for: str
    training_data: str
    licence: str

    def for_config(self, cfg: GanConfig) -> Naming:
        """Fill ``{size}`` and ``{stabilisers}`` in the texts from the configuration actually trained."""
        parts = ["spectral-norm discriminator" if cfg.spectral_norm else "plain discriminator"]
        parts += ["DiffAugment"] if cfg.diffaugment else []
        parts += ["resize-conv generator"] if cfg.upsample == "resize" else []
        parts += ["auxiliary class loss"] if cfg.conditional and cfg.aux_class_weight > 0 else []
        parts += ["EMA generator"]
        values = {"size": cfg.image_size, "stabilisers": ", ".join(parts)}
        return replace(self, **{f.name: getattr(self, f.name).format(**values) for f in fields(self)})


def run_gan(ctx: RecipeContext, defaults: GanConfig, naming: Naming) -> dict[str, Any] | None:
    """The recipe body shared with ``faces-dcgan``: config from the context, train, ship."""
    from training.gan.recipe import apply_context

    cfg = apply_context(defaults, ctx)
    naming = naming.for_config(cfg)
    # ctx.command is the command that started the run plus every resume (training/cli.py).
    ctx.run.config["resolved"] = cfg.as_dict()
    (ctx.run.dir / "config.json").write_text(json.dumps(ctx.run.config, indent=2, default=str))
    result = train_and_export_gan(cfg, ctx.run.dir, ctx.resume, ctx.run, naming, ctx.command, start=ctx.run.start)
    if result is not None:
        parity = result["parity_max_abs_diff"]
        ctx.run.evaluation("validation", result["measures"])
        ctx.run.exported(Path(result["generator"]), kind="generator", parity_max_abs_diff=parity["generator"])
        ctx.run.exported(
            Path(result["discriminator"]), kind="discriminator", parity_max_abs_diff=parity["discriminator"]
        )
    return result


def train_and_export_gan(
    cfg: GanConfig,
    run_dir: Path,
    resume: bool,
    hooks: GanHooks,
    naming: Naming,
    command: str,
    start: Callable[..., None] | None = None,
) -> dict[str, Any] | None:
    """Train (or continue), then measure, export and write the card; None when stopped early."""
    import keras

    from training.gan.finish import base_card, export_gan, final_measures, save_json, write_card_markdown
    from training.gan.model import GanTrainer
    from training.gan.recipe import load_gan_data, make_measure
    from training.gan.train import Progress, restore_state, train_gan

    keras.utils.set_random_seed(cfg.seed)  # weight init and the noise in each step
    data = load_gan_data(cfg)
    trainer = GanTrainer(cfg.gan_spec(len(data.label_names)), cfg.train_spec())
    progress = restore_state(trainer, run_dir) if resume else Progress()
    if resume:
        log.info("resuming at epoch %d, batch %d", progress.epoch + 1, progress.step_in_epoch)
    measure = make_measure(cfg, data, cfg.measure_samples)
    if start is not None:
        from training.gan.recipe import METRIC_NAMES

        start(cfg.epochs, METRIC_NAMES, initial_epoch=progress.epoch, images_dir="samples", data=data.info)
    progress = train_gan(
        trainer,
        data.train,
        run_dir,
        cfg.epochs,
        cfg.batch_size,
        hooks,
        seed=cfg.seed,
        progress=progress,
        measure=measure,
        lr_decay_start=cfg.lr_decay_start,
    )
    if progress.epoch < cfg.epochs:
        return None
    measures = final_measures(trainer, cfg, data)
    card = base_card(cfg, naming.summary, naming.intended_use, naming.not_for, naming.training_data, command)
    card["licence"] = naming.licence
    card["epochs"] = progress.epoch
    card["steps"] = int(trainer.step.numpy())
    card["measures"] = measures
    card["params"] = int(trainer.generator.count_params())
    # Ship the EMA unless the raw generator measures better: on short runs the average still
    # carries the early, worse generators (decay 0.999 remembers ~1000 steps).
    ema, raw = measures.get("ema", {}), measures.get("raw", {})
    use_ema = not ("frechet" in ema and "frechet" in raw and raw["frechet"] < ema["frechet"])
    card["shipped_weights"] = "ema" if use_ema else "raw"
    exported = export_gan(
        trainer,
        cfg,
        data,
        run_dir,
        (naming.generator, naming.discriminator),
        (naming.generator_title, naming.discriminator_title),
        card,
        ema=use_ema,
    )
    from training.gan.finish import write_discriminator_card
    from training.gan.train import write_grid

    grid = write_grid(trainer, run_dir / f"{naming.generator}-samples.png", ema=use_ema)
    extra = [
        f"- **Licence of the training data:** {naming.licence}",
        f"- **Epochs / steps:** {progress.epoch} / {card['steps']} (batch {cfg.batch_size})",
        f"- **Generator parameters:** {card['params']:,}",
        f"- **Discriminator** (`{naming.discriminator}.onnx`): balanced accuracy "
        f"{exported['discriminator_balanced_accuracy']:.1%} telling real validation images from this generator's "
        f"samples at P(real) >= {exported['discriminator_thresholds']['decision']:.3f}.",
        f"- **ONNX parity** (max abs diff Keras vs onnxruntime): {exported['parity_max_abs_diff']}",
        f"- **Sample grid:** the shipped ({card['shipped_weights']}) generator on fixed latents (seed 1234)"
        + (
            ", one row per class in label order, the same latent down each column."
            if cfg.conditional
            else "."
        ),
    ]
    write_card_markdown(
        run_dir / f"{naming.generator}.md", naming.generator_title, card, measures, extra, grid
    )
    write_discriminator_card(
        run_dir / f"{naming.discriminator}.md", naming.discriminator_title, card, exported, naming.licence
    )
    result = {"measures": measures, **exported, "grid": str(grid)}
    save_json(run_dir / "evaluation.json", result)
    return result
