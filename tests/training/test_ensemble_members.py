"""`scripts/ensemble_members.py`: an exported ensemble (mean of members, maximum with an offset expert, mirror-
averaged, temperature-scaled) taken apart into one detector per network, each scoring what its network scored,
and put back together to the exported score."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.training.test_finetune_calibrate import detector_contract

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

ROOT = Path(__file__).resolve().parents[2]


def _script() -> object:
    spec = importlib.util.spec_from_file_location("ensemble_members", ROOT / "scripts" / "ensemble_members.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nonzero_biases(rng: np.random.Generator, *models: object) -> None:
    """Trained-like models: no bias is zero (an export drops a zero bias's Add)."""
    for m in models:
        for layer in m.layers:  # type: ignore[attr-defined]
            if getattr(layer, "bias", None) is not None:
                layer.bias.assign(rng.normal(0, 0.5, layer.bias.shape).astype(np.float32))


def _images_zip(path: Path, x: np.ndarray) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for i, img in enumerate(x):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, "PNG")
            z.writestr(f"img{i:03d}.png", buf.getvalue())
    return path


def test_members_come_out_as_standalone_detectors_and_recombine_to_the_shipped_score(tmp_path: Path) -> None:
    import onnxruntime as ort

    from training.detector.calibrate import (
        calibrate,
        ensemble_logits,
        logit_model,
        offset_logits,
        predict_logits,
    )
    from training.recipes.cifake_cnn import build_model
    from training.ship.onnx import export_keras

    rng = np.random.default_rng(12)
    x = rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(48) % 2).astype(float)
    a, b, c = (build_model({"width": w, "dense": 8}, 1e-3) for w in (8, 4, 6))
    _nonzero_biases(rng, a, b, c)
    logits = [predict_logits(logit_model(m), x, False).reshape(-1) for m in (a, b, c)]
    graph = ensemble_logits([ensemble_logits([a, b], "mean"), offset_logits(c, -2.0)], "max")
    scored, report = calibrate(graph, x, y, mirror=True, fit=True)
    model = Path(export_keras(scored, tmp_path / "cifake-cnn.onnx", detector_contract(), x[:16])["path"])
    images = _images_zip(tmp_path / "images.zip", x)

    for offset, expert in ((0.0, logits[2] - 2.0), (-2.0, logits[2])):  # left in, or taken out as trained
        out = tmp_path / f"members{offset}"
        argv = [str(model), "--out", str(out), "--images", str(images), "--count", "48", "--expert-offset", str(offset)]
        assert _script().main(argv) == 0  # type: ignore[attr-defined]
        files = sorted(p.name for p in out.iterdir())
        assert files == ["cifake-cnn-expert0.onnx", "cifake-cnn-member0.onnx", "cifake-cnn-member1.onnx"]
        for name, want in (("member0", logits[0]), ("member1", logits[1]), ("expert0", expert)):
            session = ort.InferenceSession(str(out / f"cifake-cnn-{name}.onnx"), providers=["CPUExecutionProvider"])
            (score,) = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})
            assert np.allclose(score[:, 0], 1 / (1 + np.exp(-want)), atol=1e-5)
    assert report["temperature"] > 0


def test_a_patch_model_comes_out_with_its_map_from_either_kind_of_join(tmp_path: Path) -> None:
    """A PatchGAN joined by a CNN (a logit map: the shipped `cifake-patchgan`) and a CNN joined by a PatchGAN (the
    PatchGAN by its score's logit): the PatchGAN comes out as the PatchGAN recipe's model gives it (score and a
    [N, rows, cols, 1] map), and the members put back together give the exported output."""
    import onnxruntime as ort

    from training.detector.calibrate import calibrate, ensemble_logits, offset_logits
    from training.recipes.cifake_cnn import build_model as build_cnn
    from training.recipes.cifake_patchgan import build_model as build_patch
    from training.ship.onnx import export_keras

    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(40) % 2).astype(float)
    cnn, patch, expert = build_cnn({"width": 6, "dense": 8}, 1e-3), build_patch({"width": 8}, 1e-3), build_cnn(
        {"width": 4, "dense": 8}, 1e-3)
    _nonzero_biases(rng, cnn, patch, expert)
    want_score, want_map = (np.asarray(o) for o in patch(x.astype(np.float32), training=False))
    images = _images_zip(tmp_path / "images.zip", x)
    for first, stem in ((patch, "cifake-patchgan"), (cnn, "cifake-cnn")):
        second = cnn if first is patch else patch
        graph = ensemble_logits([ensemble_logits([first, second], "mean"), offset_logits(expert, -2.0)], "max")
        scored, _ = calibrate(graph, x, y, mirror=True, fit=True, prior="balanced")
        contract = detector_contract()
        if first is patch:
            contract["outputs"]["patch_map"] = {"name": "patch_map", "meaning": "P(AI) per patch",
                                                "shape": [None, 4, 4, 1]}
        model = Path(export_keras(scored, tmp_path / f"{stem}.onnx", contract, x[:16])["path"])
        out = tmp_path / stem
        argv = [str(model), "--out", str(out), "--images", str(images), "--count", "40", "--expert-offset", "-2"]
        assert _script().main(argv) == 0  # type: ignore[attr-defined]
        member = 0 if first is patch else 1
        session = ort.InferenceSession(str(out / f"{stem}-member{member}.onnx"), providers=["CPUExecutionProvider"])
        score, patch_map = session.run(["score", "patch_map"], {"image": x.astype(np.float32)})
        assert patch_map.shape == want_map.shape
        assert np.allclose(patch_map, want_map, atol=1e-5) and np.allclose(score, want_score, atol=1e-5)


def test_a_plain_model_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from training.recipes.cifake_cnn import build_model
    from training.ship.onnx import export_keras

    x = np.random.default_rng(3).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    model = export_keras(build_model({"width": 4, "dense": 8}, 1e-3), tmp_path / "plain.onnx", detector_contract(),
                         x)["path"]
    images = tmp_path / "i.zip"
    with zipfile.ZipFile(images, "w") as z:
        buf = io.BytesIO()
        Image.fromarray(x[0]).save(buf, "PNG")
        z.writestr("a.png", buf.getvalue())
    assert _script().main([str(model), "--out", str(tmp_path / "m"), "--images", str(images)]) == 1  # type: ignore[attr-defined]
    assert "no ensemble members found" in capsys.readouterr().err
