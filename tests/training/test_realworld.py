"""The real-world detector's pipeline on tiny data: shortcut removal, pack -> train -> resume -> finish
(calibrate, export with the contract), and the same score from the scan engine and the training code."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.realworld import pack as pack_module
from training.realworld.shortcuts import check, logistic_auroc
from training.realworld.train import format_weights
from training.ship.evaluate import roc_auc

FIELDS = ["file", "label", "source_repo", "commit", "source_path", "generator", "kind", "sha256", "bytes",
          "width", "height", "format", "licence"]


def _texture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    small = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC)).astype(int)
    return np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)


def _fixture(root: Path, n: int = 40) -> Path:
    """AI mostly as 256 px PNGs, real mostly as JPEGs of varied sizes (the sources' shortcut), same content."""
    rng = np.random.default_rng(0)
    rows = []
    for label in ("ai", "real"):
        folder = root / "images" / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            if label == "ai":
                w = h = 256
                fmt, ext = ("PNG", "png") if i % 10 < 7 else ("JPEG", "jpg")
            else:
                w, h = int(rng.integers(160, 420)), int(rng.integers(160, 420))
                fmt, ext = ("JPEG", "jpg") if i % 10 < 8 else ("PNG", "png")
            arr = _texture(rng, w, h)
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
            data = buf.getvalue()
            path = folder / f"{label}{i:03d}.{ext}"
            path.write_bytes(data)
            rows.append({"file": str(path.relative_to(root)), "label": label, "source_repo": f"test/{label}",
                         "commit": "0" * 40, "source_path": path.name, "generator": "gen-a" if label == "ai" else "",
                         "kind": "", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "width": w,
                         "height": h, "format": fmt, "licence": "test"})
    with open(root / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_format_weights_equalise_the_lossy_share_per_label() -> None:
    label = np.array([1] * 10 + [0] * 10)
    lossy = np.array([1] * 2 + [0] * 8 + [1] * 9 + [0] * 1, bool)
    w = format_weights(label, lossy)
    for k in (0, 1):
        sel = label == k
        assert np.isclose((w[sel] * lossy[sel]).sum() / w[sel].sum(), lossy.mean())
        assert np.isclose(w[sel].sum(), sel.sum())


def test_logistic_auroc_finds_a_real_signal_and_not_a_fake_one() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400).astype(float)
    signal = np.stack([y + rng.normal(0, 0.3, 400)], 1)
    noise = rng.normal(0, 1, (400, 3))
    assert logistic_auroc(signal[:200], y[:200], signal[200:], y[200:]) > 0.95
    assert abs(logistic_auroc(noise[:200], y[:200], noise[200:], y[200:]) - 0.5) < 0.12
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.5, 0.5, 0.9])) == pytest.approx(0.875)


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _fixture(tmp_path_factory.mktemp("rw-data"))
    out = tmp_path_factory.mktemp("rw-pack")
    # every image in train or val (the fixture's sources are not held-out ones)
    old = pack_module.VAL_FRACTION
    pack_module.VAL_FRACTION = 0.4
    try:
        pack_module.pack(root, out, crop=112, versions=2, n_native=1, workers=1)
    finally:
        pack_module.VAL_FRACTION = old
    return out


def test_packing_hides_format_and_size_from_a_metadata_only_model(packed: Path) -> None:
    summary = json.loads((packed / "pack.json").read_text())
    assert summary["images"] == 80 and not summary["skipped"]
    result = check(packed)
    assert result["raw_files_auroc"] > 0.75  # the fixture's files give the label away by format and size
    assert abs(result["processed_views_as_trained_auroc"] - 0.5) < 0.12  # what the detector is trained on


def test_pack_train_resume_finish_and_the_engine_scores_as_training_does(packed: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    import keras

    from desktop.core.models.detector import Detector
    from desktop.core.scan.decode import load_image
    from training.data.preprocess import FeedSpec
    from training.realworld import finish as finish_module
    from training.realworld.train import train
    from training.realworld.views import inference_views, open_rgb

    run = tmp_path / "run"
    train(packed, run, epochs=1, steps=2, batch=8, lr=1e-3, weight_decay=1e-4, width=8, resume=False, seed=0)
    state = train(packed, run, epochs=2, steps=2, batch=8, lr=1e-3, weight_decay=1e-4, width=8, resume=True, seed=0)
    assert state["epoch"] == 2
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    result = finish_module.finish(run, packed, tmp_path / "out", patch_options=(1, 4), max_band="likely", command="test")
    onnx_path = Path(result["export"]["path"])
    det = Detector.load(onnx_path, device="cpu")
    assert det.contract.feed.mode == "multiscale" and det.contract.trust.max_band == "likely"
    assert det.contract.domain is not None and det.contract.domain.contains(4000, 3000)
    assert 0.2 <= result["temperature"] <= 5.0
    # same file, same score: engine (decode + onnxruntime) vs training (views + Keras + calibration)
    rows = list(csv.DictReader((packed / "images.csv").read_text(encoding="utf-8").splitlines()))
    root = Path(json.loads((packed / "pack.json").read_text())["root"])
    path = root / rows[-1]["file"]
    decoded = load_image(path, det.contract)
    assert decoded.crops is not None
    engine = det.score_images([decoded.crops], [decoded.grid])[0][0]
    assert result["patches"] in (1, 4)
    feed = FeedSpec(112, 112, "multiscale", "bilinear", result["patches"], "mean")
    img, _ = open_rgb(str(path))
    views = inference_views(img, feed)
    assert np.array_equal(views, decoded.crops)
    trained = keras.models.load_model(run / "best.keras", safe_mode=False)
    logits = np.asarray(trained(views.astype(np.float32), training=False)).reshape(-1)
    expected = float(np.mean(1 / (1 + np.exp(-logits / result["temperature"]))))
    assert engine == pytest.approx(expected, abs=1e-4)


def test_quantized_export_keeps_the_contract_and_scores_close(packed: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from desktop.core.models.detector import Detector
    from training.realworld import finish as finish_module
    from training.realworld.net import build
    from training.realworld.quantize import quantize

    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "state.json"):
        (run / name).write_text(json.dumps({"epochs": 1, "steps": 1, "batch": 8, "lr": 1e-3, "weight_decay": 0,
                                            "width": 8, "seed": 0, "params": 0, "epoch": 1, "best_epoch": 1}))
    (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 0.7}) + "\n")
    build(size=112, width=8).save(run / "best.keras")
    result = finish_module.finish(run, packed, tmp_path / "fp32", patch_options=(1,), max_band="likely", command="t")
    views = np.load(packed / "views.npy", mmap_mode="r")
    int8 = tmp_path / "int8.onnx"
    report = quantize(Path(result["export"]["path"]), int8, np.asarray(views[:32]), np.asarray(views[32:64]))
    assert report["check_views"] == 32 and report["max_abs_diff"] < 0.25
    a = Detector.load(result["export"]["path"], device="cpu")
    b = Detector.load(int8, device="cpu")
    assert b.contract.name == a.contract.name and b.contract.feed == a.contract.feed
    assert b.contract.thresholds == a.contract.thresholds
    assert "int8" in str(b.contract.card.get("quantization"))


def test_realworld_recipe_trains_from_two_folders_with_the_run_protocol(tmp_path: Path,
                                                                       capfd: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tensorflow")
    from desktop.core.models.detector import Detector
    from training.cli import main

    root = _fixture(tmp_path / "data", n=40)
    run = tmp_path / "run"
    code = main(["realworld-detector", "--data", f"real={root / 'images' / 'real'}", "--data",
                 f"fake={root / 'images' / 'ai'}", "--epochs", "1", "--batch-size", "8", "--seed", "3",
                 "--set", "width=8", "--out", str(run), "--name", "Desk A"])
    assert code == 0
    capfd.readouterr()
    events = [json.loads(line)["event"] for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    assert events[0] == "run_start" and "epoch_end" in events and "export" in events and events[-1] == "finish"
    det = Detector.load(run / "desk-a.onnx", device="cpu")
    assert det.contract.name == "desk-a" and det.contract.feed.mode == "multiscale"
    assert "own training folders" in det.contract.trust.measured_on and det.contract.trust.max_band == "likely"
