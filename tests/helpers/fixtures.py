"""Shared pytest fixtures: tiny real ONNX models (built once per session) and an isolated home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import tiny_models


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny_models")


@pytest.fixture(scope="session")
def tiny_detector_path(tiny_models_dir: Path) -> Path:
    return tiny_models.build_detector(tiny_models_dir / "tiny-detector.onnx")


@pytest.fixture(scope="session")
def tiny_detector_no_patch_path(tiny_models_dir: Path) -> Path:
    return tiny_models.build_detector_without_patch_map(tiny_models_dir / "tiny-nopatch.onnx")


@pytest.fixture(scope="session")
def tiny_patches_detector_path(tiny_models_dir: Path) -> Path:
    return tiny_models.build_patches_detector(tiny_models_dir / "tiny-patches.onnx")


@pytest.fixture(scope="session")
def no_contract_model_path(tiny_models_dir: Path) -> Path:
    return tiny_models.build_model_without_contract(tiny_models_dir / "no-contract.onnx")


@pytest.fixture(scope="session")
def missing_output_model_path(tiny_models_dir: Path) -> Path:
    return tiny_models.build_model_with_missing_output(tiny_models_dir / "missing-output.onnx")


@pytest.fixture(scope="session")
def tiny_generator_path(tiny_models_dir: Path) -> Path:
    return tiny_models.build_generator(tiny_models_dir / "tiny-generator.onnx")


@pytest.fixture(scope="session")
def tiny_discriminator_path(tiny_models_dir: Path) -> Path:
    return tiny_models.build_discriminator(tiny_models_dir / "tiny-discriminator.onnx")


@pytest.fixture
def pixelpatrol_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private PIXELPATROL_HOME and an empty bundled-models folder, so no test sees real user files."""
    home = tmp_path / "pp_home"
    bundled = tmp_path / "pp_bundled_models"
    bundled.mkdir()
    monkeypatch.setenv("PIXELPATROL_HOME", str(home))
    monkeypatch.setenv("PIXELPATROL_BUNDLED_MODELS", str(bundled))
    yield home
