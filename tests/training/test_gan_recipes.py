"""The GAN recipes end to end on tiny data: a few steps, a sample grid, measures, export, card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tests.helpers import generators
from training.gan.evaluate import OnnxGenerator
from training.gan.flow import train_and_export_gan
from training.gan.recipe import GanConfig
from training.recipes.dcgan import CIFAR_NAMING
from training.recipes.faces_dcgan import FACES_NAMING


class _Hooks:
    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []
        self.images: list[Path] = []

    def on_batch(self, epoch: int, step: int, steps: int, metrics: dict[str, float]) -> None:
        pass

    def on_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs.append(metrics)

    def on_images(self, epoch: int, path: Path, caption: str) -> None:
        self.images.append(path)

    def should_stop(self) -> bool:
        return False


def _tiny(data: Path, classifier: Path, **kw: object) -> GanConfig:
    base: dict[str, object] = dict(
        data=[str(data)],
        epochs=1,
        batch_size=8,
        image_size=16,
        latent_dim=8,
        g_width=2,
        d_width=2,
        classifier=str(classifier),
        measure_samples=6,
        final_samples=6,
        ema_start=0,
    )
    base.update(kw)
    return GanConfig(**base)  # type: ignore[arg-type]


def test_dcgan_recipe_trains_measures_exports_and_generator_honours_class_and_seed(tmp_path: Path) -> None:
    data = generators.write_class_folders(tmp_path / "classes", size=16, per_class=20)
    clf = generators.build_tiny_classifier(tmp_path / "clf.onnx")
    hooks = _Hooks()
    run = tmp_path / "run"
    run.mkdir()
    result = train_and_export_gan(_tiny(data, clf), run, False, hooks, CIFAR_NAMING, "pixelpatrol-train dcgan ...")
    assert result is not None
    assert [p.name for p in hooks.images] == ["epoch_0001.png"] and hooks.images[0].is_file()
    metrics = hooks.epochs[0]
    for key in (
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "frechet",
        "frechet_real",
        "two_sample_acc",
        "class_acc",
    ):
        assert key in metrics, key
    gen = OnnxGenerator(run / "dcgan-cifar10-generator.onnx")
    assert gen.conditional and gen.labels == generators.CLASSES
    labels = np.array([0, 1, 2], np.int64)
    a, b = gen.sample(3, seed=4, labels=labels), gen.sample(3, seed=4, labels=labels)
    assert np.array_equal(a, b)  # same seed -> same image
    z = np.repeat(np.random.default_rng(4).standard_normal((1, gen.latent_dim)), 3, axis=0).astype(np.float32)
    (raw,) = gen.session.run(["image"], {"z": z, "label": labels})
    assert (
        np.abs(raw[0] - raw[1]).max() > 1e-4 and np.abs(raw[1] - raw[2]).max() > 1e-4
    )  # class changes the image
    disc = json.loads((run / "evaluation.json").read_text())
    assert Path(disc["discriminator"]).is_file()
    assert max(disc["parity_max_abs_diff"].values()) <= 1e-4
    card = (run / "dcgan-cifar10-generator.md").read_text()
    assert "real vs real" in card and "NOT comparable" in card and "pixelpatrol-train dcgan" in card


def test_faces_recipe_is_unconditional_and_card_states_non_commercial_licence(tmp_path: Path) -> None:
    data = generators.write_face_like_folder(tmp_path / "faces", count=48, size=40)
    clf = generators.build_tiny_classifier(tmp_path / "clf.onnx")
    run = tmp_path / "run"
    run.mkdir()
    cfg = _tiny(data, clf, conditional=False, diffaugment=True)
    result = train_and_export_gan(cfg, run, False, _Hooks(), FACES_NAMING, "pixelpatrol-train faces-dcgan ...")
    assert result is not None
    gen = OnnxGenerator(run / "faces-generator.onnx")
    assert not gen.conditional and gen.sample(2, seed=1).shape == (2, 16, 16, 3)
    assert "NON-COMMERCIAL" in (run / "faces-generator.md").read_text()
    assert "class_acc" not in result["measures"]["ema"]


@pytest.mark.slow
def test_dcgan_cli_streams_protocol_with_images_events_and_resume_continues(tmp_path: Path) -> None:
    import io

    from training.cli import run_cli

    data = generators.write_class_folders(tmp_path / "classes", size=16, per_class=20)
    clf = generators.build_tiny_classifier(tmp_path / "clf.onnx")
    out = tmp_path / "run"
    sets = [
        "image_size=16",
        "latent_dim=8",
        "g_width=2",
        "d_width=2",
        f"classifier={clf}",
        "measure_samples=6",
    ]
    argv = ["dcgan", "--data", str(data), "--out", str(out), "--batch-size", "8", "--epochs", "1"]
    argv += [x for s in [*sets, "final_samples=6"] for x in ("--set", s)]
    stream = io.StringIO()
    assert run_cli(argv, stream=stream) == 0
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    kinds = [e["event"] for e in events]
    assert (
        kinds[0] == "run_start"
        and kinds[-1] == "finish"
        and "evaluation" in kinds
        and kinds.count("export") == 2
    )
    images = [e for e in events if e["event"] == "images"]
    assert images and (out / images[0]["path"]).is_file()
    epoch = next(e for e in events if e["event"] == "epoch_end")
    assert {"d_loss", "g_loss", "d_real", "d_fake", "frechet"} <= set(epoch["metrics"])

    stream = io.StringIO()
    again = [("2" if a == "1" and argv[i - 1] == "--epochs" else a) for i, a in enumerate(argv)]
    assert run_cli([*again, "--resume"], stream=stream) == 0  # --epochs 2: one more epoch
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert events[0]["initial_epoch"] == 1
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [2]
    card = (out / "dcgan-cifar10-generator.md").read_text()
    reproduce = card.split("## Reproduce", 1)[1].split("```")[1].strip().splitlines()
    # the command that started the run, then the resume that finished it
    assert len(reproduce) == 2 and "--resume" not in reproduce[0] and reproduce[1].endswith("--resume")
    assert json.loads((out / "config.json").read_text())["resumed_with"] == [reproduce[1]]
