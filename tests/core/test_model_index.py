"""The model index keeps what onnxruntime read from a model file by (path, size, mtime), and is only ever a
shortcut: a changed, fresh or unknown file, a damaged index and a new onnxruntime all mean onnxruntime is
asked again. The device is known without a session only where CUDA cannot work."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import onnxruntime
import pytest

from desktop.core.models.catalog import inspect_model
from desktop.core.models.detector import Detector, file_digest
from desktop.core.models.runtime import device, model_index
from tests.helpers import tiny_models


def _settled(path: Path, seconds_ago: int = 3600) -> Path:
    then = time.time_ns() - seconds_ago * 10**9
    os.utime(path, ns=(then, then))
    return path


@pytest.fixture
def model(tmp_path: Path, tiny_detector_path: Path, pixelpatrol_home: Path) -> Path:
    return _settled(Path(shutil.copy(tiny_detector_path, tmp_path / "m.onnx")))


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model files onnxruntime loads from now on."""
    made: list[str] = []
    real = onnxruntime.InferenceSession

    def counting(path: str, *args: object, **kwargs: object) -> onnxruntime.InferenceSession:
        made.append(path)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(onnxruntime, "InferenceSession", counting)
    return made


def test_a_known_model_loads_without_onnxruntime_with_the_same_contract_and_digest(
    model: Path, sessions: list[str]
) -> None:
    fresh = Detector.load(model, device="cpu")
    assert sessions == [str(model)] and fresh.has_session
    again = Detector.load(model, device="cpu")
    assert sessions == [str(model)] and not again.has_session
    assert again.contract == fresh.contract and again.digest == fresh.digest == file_digest(model)
    assert (again.device, again.device_reason, again.batch_size) == (fresh.device, fresh.device_reason,
                                                                     fresh.batch_size)
    assert inspect_model(model).contract == fresh.contract and sessions == [str(model)]


def test_the_session_is_made_when_the_first_image_is_scored(model: Path, sessions: list[str]) -> None:
    import numpy as np

    Detector.load(model, device="cpu")
    lazy = Detector.load(model, device="cpu")
    sessions.clear()
    scores, _maps = lazy.predict(np.full((2, 32, 32, 3), 240, np.uint8))
    assert sessions == [str(model)] and lazy.has_session and scores.shape == (2,)
    np.testing.assert_allclose(scores, Detector.load(model, device="cpu").predict(
        np.full((2, 32, 32, 3), 240, np.uint8))[0], rtol=1e-6)


def test_a_changed_model_file_is_read_again(model: Path, tmp_path: Path, sessions: list[str]) -> None:
    first = Detector.load(model, device="cpu")
    tiny_models.build_detector(model, name="renamed-model")  # new content, same path
    _settled(model, 1800)
    second = Detector.load(model, device="cpu")
    assert len(sessions) == 2 and second.name == "renamed-model" and second.digest != first.digest
    assert Detector.load(model, device="cpu").name == "renamed-model" and len(sessions) == 2


def test_a_model_written_in_the_last_seconds_is_not_kept(model: Path, sessions: list[str]) -> None:
    os.utime(model)  # now: a second write within the file system's clock tick could go unseen
    Detector.load(model, device="cpu")
    assert model_index.lookup(model) is None
    Detector.load(model, device="cpu")
    assert len(sessions) == 2


def test_a_damaged_or_foreign_index_is_ignored_and_replaced(model: Path, sessions: list[str]) -> None:
    Detector.load(model, device="cpu")
    index = model_index._index_path()
    index.write_text("{ not json")
    assert model_index.lookup(model) is None
    Detector.load(model, device="cpu")
    assert model_index.lookup(model) is not None and len(sessions) == 2
    index.write_text('{"version": 1, "runtime": [0, 0], "models": {}}')  # another onnxruntime wrote it
    assert model_index.lookup(model) is None


def test_an_index_that_cannot_be_written_never_fails_a_load(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sessions: list[str]
) -> None:
    monkeypatch.setattr(model_index, "_index_path", lambda: tmp_path / "gone" / "model-index.json")
    assert Detector.load(model, device="cpu").name == "tiny-detector"
    assert Detector.load(model, device="cpu").has_session and len(sessions) == 2  # asked again, no harm
    assert not list(tmp_path.glob("**/.model-index-*"))


def test_cuda_is_ruled_out_without_a_driver_and_probed_with_one(
    model: Path, monkeypatch: pytest.MonkeyPatch, sessions: list[str]
) -> None:
    monkeypatch.setattr(device, "_LINUX_DRIVER_FILES", ())
    monkeypatch.setattr(device.sys, "platform", "linux")
    assert device.cuda_ruled_out() is not None
    Detector.load(model, device="cpu")  # known from now on
    sessions.clear()
    lazy = Detector.load(model, device="auto")
    assert lazy.device == "cpu" and lazy.device_reason.startswith("CUDA not available") and sessions == []
    # With a driver (or what looks like one) CUDA is probed with a real session, as before.
    monkeypatch.setattr(device, "_no_driver", lambda: None)
    monkeypatch.setattr(device, "_cuda_failure", None)
    probed = Detector.load(model, device="cuda")
    assert sessions and probed.has_session
    if probed.device != "cuda":
        assert probed.device_reason.startswith("CUDA not available")
    with pytest.raises(ValueError, match="device must be one of"):
        Detector.load(model, device="tpu")
