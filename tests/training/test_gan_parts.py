"""GAN machinery on tiny tensors: networks, checkpoint, grid, export contract and the epoch loop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from PIL import Image

from training.gan.export import (
    discriminator_contract,
    discriminator_function,
    generator_contract,
    generator_function,
)
from training.gan.images import fixed_latents, grid_inputs, to_gan_range
from training.gan.model import GanSpec, GanTrainer, TrainSpec
from training.gan.train import GanData, Progress, restore_state, train_gan, write_grid
from training.ship.onnx import export_function

SPEC = GanSpec(image_size=16, latent_dim=8, num_classes=3, g_width=4, d_width=4)


def _trained(spec: GanSpec = SPEC, steps: int = 3) -> GanTrainer:
    trainer = GanTrainer(spec, TrainSpec(ema_start=0, ema_decay=0.5))
    rng = np.random.default_rng(0)
    for _ in range(steps):
        real = to_gan_range(rng.integers(0, 256, (8, spec.image_size, spec.image_size, 3), dtype=np.uint8))
        trainer.train_step(real, rng.integers(0, max(spec.num_classes, 1), 8) if spec.conditional else None)
    return trainer


class _Hooks:
    def __init__(self, stop_after: int | None = None) -> None:
        self.batches = 0
        self.epochs: list[tuple[int, dict[str, float]]] = []
        self.images: list[Path] = []
        self.stop_after = stop_after

    def on_batch(self, epoch: int, step: int, steps: int, metrics: dict[str, float]) -> None:
        self.batches += 1

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs.append((epoch, metrics))

    def on_images(self, epoch: int, path: Path, caption: str) -> None:
        self.images.append(path)

    def should_stop(self) -> bool:
        return self.stop_after is not None and self.batches >= self.stop_after


def test_gan_spec_rejects_image_size_that_is_not_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        GanSpec(image_size=24)


def test_generator_makes_images_in_tanh_range_and_train_step_reports_losses() -> None:
    trainer = GanTrainer(SPEC, TrainSpec())
    z = fixed_latents(4, SPEC.latent_dim, 0)
    out = np.asarray(trainer.generator([z, np.array([0, 1, 2, 0], np.int32)], training=False))
    assert out.shape == (4, 16, 16, 3)
    assert out.min() >= -1.0 and out.max() <= 1.0
    metrics = trainer.train_step(to_gan_range(np.zeros((4, 16, 16, 3), np.uint8)), np.array([0, 1, 2, 0]))
    assert set(metrics) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in metrics.values())
    assert 0.0 <= metrics["d_real"] <= 1.0 and 0.0 <= metrics["d_fake"] <= 1.0


def test_checkpoint_round_trip_restores_identical_samples_and_step(tmp_path: Path) -> None:
    trainer = _trained()
    trainer.save(tmp_path / "state.npz")
    z, labels = grid_inputs(SPEC, 5, cols=4)
    before = trainer.generate(z, labels)
    fresh = GanTrainer(SPEC, TrainSpec(ema_start=0, ema_decay=0.5))
    fresh.load(tmp_path / "state.npz")
    assert np.array_equal(fresh.generate(z, labels), before)
    assert int(fresh.step.numpy()) == 3


def test_checkpoint_of_another_architecture_is_refused(tmp_path: Path) -> None:
    _trained().save(tmp_path / "state.npz")
    other = GanTrainer(GanSpec(image_size=16, latent_dim=8, num_classes=3, g_width=8, d_width=4), TrainSpec())
    with pytest.raises(ValueError, match="checkpoint"):
        other.load(tmp_path / "state.npz")


def test_sample_grid_has_one_row_per_class(tmp_path: Path) -> None:
    path = write_grid(_trained(steps=1), tmp_path / "grid.png")
    with Image.open(path) as im:
        # 10 columns x 3 classes of 16 px tiles, 1 px gaps, drawn at 2x
        assert im.size == ((10 * 17 + 1) * 2, (3 * 17 + 1) * 2)


def test_exported_generator_honours_seed_and_class(tmp_path: Path) -> None:
    import onnxruntime as ort

    trainer = _trained()
    fn, signature = generator_function(trainer.ema_generator, SPEC)
    path = tmp_path / "g.onnx"
    z = fixed_latents(3, SPEC.latent_dim, 42)
    label = np.array([0, 1, 2], np.int64)
    contract = generator_contract(SPEC, "g", "G", ["a", "b", "c"], {})
    assert export_function(fn, signature, contract, path, {"z": z, "label": label}) <= 1e-4
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = json.loads(sess.get_modelmeta().custom_metadata_map["pixelpatrol"])
    assert meta["kind"] == "generator" and meta["inputs"]["label"]["name"] == "label"
    assert meta["outputs"]["image"]["value_range"] == [-1, 1]
    same_z = np.repeat(z[:1], 3, axis=0)
    (by_class,) = sess.run(["image"], {"z": same_z, "label": label})
    (again,) = sess.run(["image"], {"z": fixed_latents(3, SPEC.latent_dim, 42), "label": label})
    (first,) = sess.run(["image"], {"z": z, "label": label})
    assert np.array_equal(again, first)  # same seed -> same image
    assert np.abs(by_class[0] - by_class[1]).max() > 1e-4  # same latent, other class -> other image
    assert np.abs(by_class[1] - by_class[2]).max() > 1e-4


def test_exported_discriminator_scores_like_a_detector_with_parity(tmp_path: Path) -> None:
    trainer = _trained()
    fn, signature = discriminator_function(trainer.discriminator, SPEC)
    thresholds = {"decision": 0.5, "real": 0.05, "likely_real": 0.3, "likely_ai": 0.7, "ai": 0.95}
    contract = discriminator_contract(SPEC, "d", "D", ["a", "b", "c"], thresholds, {})
    images = np.random.default_rng(1).uniform(0, 255, (5, 16, 16, 3)).astype(np.float32)
    assert export_function(fn, signature, contract, tmp_path / "d.onnx", {"image": images}) <= 1e-4
    out = fn(image=images)
    score, per_class = np.asarray(out["score"]), np.asarray(out["class_scores"])
    assert score.shape == (5, 1) and per_class.shape == (5, 3)
    np.testing.assert_allclose(score[:, 0], per_class.max(axis=1))
    assert contract["input"]["value_range"] == [0, 255] and "REAL" in contract["outputs"]["score"]["meaning"]


def test_train_gan_stops_mid_epoch_and_resume_continues_from_that_batch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = GanData(rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8), rng.integers(0, 3, 40))
    trainer = GanTrainer(SPEC, TrainSpec())
    hooks = _Hooks(stop_after=3)
    progress = train_gan(trainer, data, tmp_path, epochs=2, batch_size=8, hooks=hooks)
    assert progress == Progress(epoch=0, step_in_epoch=3) and hooks.epochs == []

    resumed = GanTrainer(SPEC, TrainSpec())
    progress = restore_state(resumed, tmp_path)
    assert progress == Progress(0, 3) and int(resumed.step.numpy()) == 3
    hooks = _Hooks()
    done = train_gan(resumed, data, tmp_path, epochs=2, batch_size=8, hooks=hooks, progress=progress)
    assert done == Progress(2, 0)
    assert hooks.batches == (5 - 3) + 5  # rest of epoch 1, then all of epoch 2
    assert [e for e, _ in hooks.epochs] == [1, 2]
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(hooks.epochs[0][1])
    assert [p.name for p in hooks.images] == ["epoch_0001.png", "epoch_0002.png"]
    assert int(resumed.step.numpy()) == 10


def test_unconditional_gan_trains_and_exports_without_label_input(tmp_path: Path) -> None:
    spec = GanSpec(image_size=8, latent_dim=4, num_classes=0, g_width=2, d_width=2)
    trainer = _trained(spec, steps=2)
    fn, signature = generator_function(trainer.ema_generator, spec)
    contract = generator_contract(spec, "u", "U", [], {})
    assert "label" not in contract["inputs"] and "labels" not in contract
    path = tmp_path / "u.onnx"
    assert export_function(fn, signature, contract, path, {"z": fixed_latents(2, 4, 0)}) <= 1e-4


def test_lr_scale_is_constant_then_falls_linearly_without_reaching_zero_on_a_trained_step() -> None:
    from training.gan.train import lr_scale

    assert [lr_scale(s, 10, None) for s in (0, 9)] == [1.0, 1.0]
    assert [lr_scale(s, 10, 6) for s in (0, 5, 6, 8, 9)] == [1.0, 1.0, 1.0, 0.5, 0.25]
    assert lr_scale(10, 10, 6) == 0.0


def test_train_gan_decays_both_learning_rates_and_a_resume_continues_the_schedule(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = GanData(rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8), rng.integers(0, 3, 40))
    train = TrainSpec(lr_g=2e-4, lr_d=4e-4)
    (tmp_path / "c").mkdir(), (tmp_path / "d").mkdir()
    constant = GanTrainer(SPEC, train)
    train_gan(constant, data, tmp_path / "c", epochs=2, batch_size=8, hooks=_Hooks())
    assert float(constant.g_opt.learning_rate) == pytest.approx(2e-4)

    trainer = GanTrainer(SPEC, train)  # 5 steps per epoch; decay over steps 5..9
    stopped = train_gan(trainer, data, tmp_path / "d", 2, 8, _Hooks(stop_after=7), lr_decay_start=1)
    assert stopped == Progress(epoch=1, step_in_epoch=2)
    assert float(trainer.g_opt.learning_rate) == pytest.approx(2e-4 * 4 / 5)  # step 6 trained last
    resumed = GanTrainer(SPEC, train)
    progress = restore_state(resumed, tmp_path / "d")
    train_gan(resumed, data, tmp_path / "d", 2, 8, _Hooks(), progress=progress, lr_decay_start=1)
    assert float(resumed.g_opt.learning_rate) == pytest.approx(2e-4 / 5)
    assert float(resumed.d_opt.learning_rate) == pytest.approx(4e-4 / 5)


def test_auxiliary_class_head_learns_real_classes_and_its_state_is_checkpointed(tmp_path: Path) -> None:
    # Three classes told apart by colour alone: with aux_class_weight the D head must learn them from real
    # images (well above the 1/3 of chance), report its losses, and survive a save/load.
    rng = np.random.default_rng(1)
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    train = TrainSpec(ema_start=0, aux_class_weight=1.0, lr_d=2e-3)
    trainer = GanTrainer(SPEC, train)
    for _ in range(40):
        y = rng.integers(0, 3, 16)
        real = np.broadcast_to(colours[y][:, None, None, :], (16, 16, 16, 3)).copy()
        metrics = trainer.train_step(to_gan_range(real), y)
    assert {"d_class_loss", "g_class_loss"} <= set(metrics)
    y = np.arange(30) % 3
    images = to_gan_range(np.broadcast_to(colours[y][:, None, None, :], (30, 16, 16, 3)).copy())
    assert trainer.aux_head is not None
    logits = np.asarray(trainer.aux_head(trainer.discriminator.trunk(images, training=False)))
    assert float(np.mean(logits.argmax(axis=1) == y)) > 0.9
    trainer.save(tmp_path / "state.npz")
    fresh = GanTrainer(SPEC, train)
    fresh.load(tmp_path / "state.npz")
    again = np.asarray(fresh.aux_head(fresh.discriminator.trunk(images, training=False)))  # type: ignore[misc]
    assert np.allclose(again, logits)
    with pytest.raises(ValueError, match="checkpoint"):
        GanTrainer(SPEC, TrainSpec()).load(tmp_path / "state.npz")  # no head: another architecture


def test_auxiliary_class_weight_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="aux_class_weight"):
        TrainSpec(aux_class_weight=-1.0)


def test_resize_conv_generator_has_no_transposed_conv_and_exports_with_parity(tmp_path: Path) -> None:
    import keras

    spec = GanSpec(image_size=16, latent_dim=4, num_classes=0, g_width=2, d_width=2, upsample="resize")
    trainer = _trained(spec, steps=2)
    kinds = {type(layer).__name__ for layer in trainer.generator.layers}
    assert "UpSampling2D" in kinds and "Conv2DTranspose" not in kinds
    assert trainer.generate(fixed_latents(3, 4, 0)).shape == (3, 16, 16, 3)
    fn, signature = generator_function(trainer.ema_generator, spec)
    path = tmp_path / "r.onnx"
    assert export_function(fn, signature, generator_contract(spec, "r", "R", [], {}), path,
                           {"z": fixed_latents(2, 4, 0)}) <= 1e-4
    with pytest.raises(ValueError, match="upsample"):
        GanSpec(upsample="bilinear")
    assert isinstance(trainer.generator, keras.Model)


def test_conditional_batch_norm_learns_per_class_scales_checkpoints_and_exports_with_parity(tmp_path: Path) -> None:
    spec = GanSpec(image_size=16, latent_dim=8, num_classes=3, g_width=4, d_width=4, cond_bn=True)
    trainer = _trained(spec, steps=3)
    affine = [layer for layer in trainer.generator.layers if type(layer).__name__ == "ClassAffine"]
    assert len(affine) == spec.n_blocks
    gamma = affine[0].gamma.embeddings.numpy()
    assert gamma.shape == (3, 4 * 2 ** (spec.n_blocks - 1)) and np.abs(gamma).max() > 0  # trained away from identity
    trainer.save(tmp_path / "state.npz")
    z3, labels3 = grid_inputs(spec, 3, cols=2)
    fresh = GanTrainer(spec, TrainSpec(ema_start=0, ema_decay=0.5))
    fresh.load(tmp_path / "state.npz")
    assert np.array_equal(fresh.generate(z3, labels3), trainer.generate(z3, labels3))
    fn, signature = generator_function(trainer.ema_generator, spec)
    onnx_path = tmp_path / "c.onnx"
    z = fixed_latents(3, spec.latent_dim, 1)
    label = np.array([0, 1, 2], np.int64)
    assert export_function(fn, signature, generator_contract(spec, "c", "C", ["a", "b", "c"], {}), onnx_path,
                           {"z": z, "label": label}) <= 1e-4
    # Without conditioning labels the option is inert: an unconditional spec keeps plain batch norm.
    plain = _trained(GanSpec(image_size=16, latent_dim=4, num_classes=0, g_width=2, d_width=2, cond_bn=True), steps=1)
    assert not any(type(layer).__name__ == "ClassAffine" for layer in plain.generator.layers)
