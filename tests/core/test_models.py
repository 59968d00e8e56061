from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.core.models.catalog import default_model, list_models, resolve_model
from desktop.core.models.detector import Detector, ModelError
from tests.helpers import tiny_models


def test_detector_scores_follow_pixels_like_the_graph_says(tiny_detector_path: Path) -> None:
    detector = Detector.load(tiny_detector_path, device="cpu")
    batch = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    scores, maps = detector.predict(batch)
    np.testing.assert_allclose(scores, tiny_models.expected_brightness_score(batch.astype(np.float32)), rtol=1e-5)
    assert maps is not None and maps.shape == (5, 4, 4)
    assert detector.device == "cpu" and detector.device_reason == "CPU requested"
    assert len(detector.digest) == 64


def test_detector_without_patch_map_returns_none(tiny_detector_no_patch_path: Path) -> None:
    scores, maps = Detector.load(tiny_detector_no_patch_path, device="cpu").predict(
        np.zeros((2, 32, 32, 3), np.uint8))
    assert maps is None and scores.shape == (2,)


def test_cuda_request_without_gpu_falls_back_to_cpu_with_reason(tiny_detector_path: Path) -> None:
    detector = Detector.load(tiny_detector_path, device="cuda")
    if detector.device == "cuda":
        pytest.skip("a CUDA GPU is present")
    assert detector.device == "cpu"
    assert detector.device_reason.startswith("CUDA not available")


def test_cuda_probe_prints_nothing_on_stderr_or_stdout(tiny_detector_path: Path) -> None:
    code = ("from desktop.core.models.detector import Detector; "
            f"d = Detector.load({str(tiny_detector_path)!r}, device='auto'); import sys; sys.exit(0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == ""


def test_model_without_contract_is_refused_in_one_line(no_contract_model_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        Detector.load(no_contract_model_path, device="cpu")
    assert "\n" not in str(info.value) and str(no_contract_model_path) in str(info.value)
    assert "contract" in str(info.value)


def test_model_with_missing_output_is_refused(missing_output_model_path: Path) -> None:
    with pytest.raises(ModelError, match="not in the graph"):
        Detector.load(missing_output_model_path)


def test_generator_cannot_be_used_to_scan(tiny_generator_path: Path) -> None:
    with pytest.raises(ModelError, match="generator"):
        Detector.load(tiny_generator_path)


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Detector.load(bad)
    with pytest.raises(ModelError, match="not found"):
        Detector.load(tmp_path / "missing.onnx")


def test_list_and_resolve_models_from_bundled_and_user_dirs(
    pixelpatrol_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = tmp_path / "pp_bundled_models"
    tiny_models.build_detector(bundled / "a.onnx", name="zeta")
    measured = tiny_models.detector_contract("cifake-cnn")
    measured["trust"] = {"auroc": 0.99, "measured_on": "its validation"}  # the best measured: the default
    tiny_models.build_model_with_contract(bundled / "b.onnx", measured)
    (bundled / "broken.onnx").write_bytes(b"junk")
    user = pixelpatrol_home / "data" / "models"
    tiny_models.build_detector(user / "mine.onnx", name="mine")
    entries = list_models()
    assert [(e.source, e.name) for e in entries] == [
        ("bundled", "zeta"), ("bundled", "cifake-cnn"), ("bundled", "broken"), ("user", "mine")]
    assert entries[2].error is not None and entries[2].contract is None
    default = default_model(entries)
    assert default is not None and default.name == "cifake-cnn"
    assert resolve_model(None) == bundled / "b.onnx"
    assert resolve_model("mine") == user / "mine.onnx"
    assert resolve_model(str(user / "mine.onnx")) == user / "mine.onnx"
    with pytest.raises(ModelError, match="no model named 'nope'"):
        resolve_model("nope")


def test_no_model_installed_gives_clear_message(pixelpatrol_home: Path) -> None:
    with pytest.raises(ModelError, match="no detector model installed"):
        resolve_model(None)
