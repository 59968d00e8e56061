"""Build the PyInstaller one-folder bundle and run the frozen executable (slow: minutes).

Runs when a build Python is available: `PIXELPATROL_BUILD_PYTHON` (a venv with `.[package]` and no
TensorFlow), or the current interpreter if it has PyInstaller. Otherwise skipped.

    PIXELPATROL_BUILD_PYTHON=/work/buildenv-cpu/bin/python .venv/bin/python -m pytest -m slow tests/packaging
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "desktop" / "demo"


def _build_python() -> str | None:
    explicit = os.environ.get("PIXELPATROL_BUILD_PYTHON")
    if explicit:
        return explicit
    return sys.executable if importlib.util.find_spec("PyInstaller") is not None else None


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = _build_python()
    if python is None:
        pytest.skip("PyInstaller is not installed (set PIXELPATROL_BUILD_PYTHON to a build venv)")
    out = tmp_path_factory.mktemp("bundle")
    subprocess.run(
        [python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", str(out / "dist"),
         "--workpath", str(out / "work"), str(ROOT / "packaging" / "pixelpatrol.spec")],
        check=True, cwd=out, timeout=1800,
    )
    exe = out / "dist" / "pixelpatrol" / "pixelpatrol"
    assert exe.is_file()
    return exe


def _run(exe: Path, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Run from an unrelated folder: packaged files must be found through the bundle, not the CWD.
    full_env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run([str(exe), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_bundle_leaves_out_tensorflow_and_training_packages(bundle: Path) -> None:
    internal = bundle.parent / "_internal"
    for name in ("tensorflow", "keras", "tf2onnx", "onnx", "h5py", "matplotlib", "training"):
        assert not (internal / name).exists(), f"{name} was bundled"
    assert (internal / "onnx_models").is_dir()
    assert (internal / "desktop" / "demo").is_dir()
    assert (internal / "desktop" / "assets").is_dir()


@pytest.mark.slow
def test_frozen_app_opens_its_window_in_smoke_mode(bundle: Path, tmp_path: Path) -> None:
    result = _run(bundle, ["--smoke"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "smoke: window shown" in result.stdout


@pytest.mark.slow
def test_frozen_app_scans_the_demo_folder_with_its_bundled_model(bundle: Path, tmp_path: Path) -> None:
    demo = bundle.parent / "_internal" / "desktop" / "demo"
    out_csv = tmp_path / "scan.csv"
    result = _run(bundle, ["scan", str(demo), "--out", str(out_csv), "--device", "cpu", "-q"], tmp_path,
                  PIXELPATROL_HOME=str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    with out_csv.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(list(DEMO.glob("*.jpg")))
    assert all(not (r.get("error") or "").strip() for r in rows), rows
