"""The cifar10-classifier recipe on tiny data: trains, exports kind 'classifier', resumes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tests.helpers import generators
from training.classifier.net import augment_batch


def test_augment_batch_keeps_shape_and_only_flips_or_shifts() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    out = augment_batch(images, rng, shift=0)
    assert out.shape == images.shape and out.dtype == np.uint8
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images, strict=True)]
    same = [np.array_equal(o, i) for o, i in zip(out, images, strict=True)]
    assert all(f or s for f, s in zip(flipped, same, strict=True)) and 10 < sum(flipped) < 54
    shifted = augment_batch(images, rng, shift=2)
    assert shifted.shape == images.shape and not np.array_equal(shifted, images)


@pytest.mark.slow
def test_classifier_recipe_trains_exports_probs_and_features_and_resumes(tmp_path: Path) -> None:
    import onnxruntime as ort

    from training.cli import run_cli

    data = generators.write_class_folders(tmp_path / "classes", size=32, per_class=10)
    out = tmp_path / "run"
    argv = [
        "cifar10-classifier",
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "8",
    ]
    argv += ["--set", "width=2"]
    stream = io.StringIO()
    assert run_cli(argv, stream=stream) == 0
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events if e["event"] in ("run_start", "epoch_end", "export", "finish")] == [
        "run_start",
        "epoch_end",
        "export",
        "finish",
    ]
    assert "val_accuracy" in next(e for e in events if e["event"] == "epoch_end")["metrics"]
    sess = ort.InferenceSession(str(out / "cifar10-classifier.onnx"), providers=["CPUExecutionProvider"])
    meta = json.loads(sess.get_modelmeta().custom_metadata_map["pixelpatrol"])
    assert meta["kind"] == "classifier" and meta["labels"] == generators.CLASSES
    x = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    probs, feats = sess.run(
        [meta["outputs"]["probs"]["name"], meta["outputs"]["features"]["name"]], {"image": x}
    )
    assert probs.shape == (3, 3) and feats.shape == (3, 128)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert "Reproduce" in (out / "cifar10-classifier.md").read_text()

    stream = io.StringIO()
    again = [("2" if a == "1" and argv[i - 1] == "--epochs" else a) for i, a in enumerate(argv)]
    assert run_cli([*again, "--resume"], stream=stream) == 0
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [2]
