"""Device checks (issue 19): on a machine where CUDA really works (an NVIDIA GPU, its driver, onnxruntime-gpu), a
session runs on the GPU and everything it scores equals the CPU's within 1e-4: a shipped model's scores, a whole
scan's rows and the Ray engine's rows. Skipped, with the reason, everywhere else (no GPU has been lent so far:
`scripts/device_check.sh` is the prepared run for one that is)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.models.detector import Detector
from desktop.core.models.runtime import device
from desktop.core.scan.engine import scan
from desktop.core.scan.events import RowsReady, ScanOptions, ScanRow
from desktop.core.scan.store import ResultStore
from tests.helpers import images

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "onnx_models" / "cifake-cnn.onnx"
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def cuda(tiny_detector_path: Path) -> None:
    """Skips unless a CUDA session can be made here (what `--device cuda` itself checks)."""
    if (why := device.cuda_ruled_out()) is not None:
        pytest.skip(why)
    probe = Detector.load(tiny_detector_path, device="cuda")
    if probe.device != "cuda":
        pytest.skip(probe.device_reason)


def _rows(folder: Path, detector: Detector, store: ResultStore) -> dict[str, ScanRow]:
    events = scan([folder], detector, ScanOptions(use_cache=False), store=store)
    return {r.path: r for e in events if isinstance(e, RowsReady) for r in e.rows}


def test_a_shipped_model_scores_the_same_on_the_gpu(cuda: None) -> None:
    gpu, cpu = Detector.load(SHIPPED, device="cuda"), Detector.load(SHIPPED, device="cpu")
    assert gpu.device == "cuda" and gpu.session.get_providers()[0] == device.CUDA
    batch = np.random.default_rng(0).integers(0, 256, (256, 32, 32, 3)).astype(np.uint8)
    on_gpu, _ = gpu.predict(batch)
    on_cpu, _ = cpu.predict(batch)
    assert np.abs(on_gpu - on_cpu).max() < TOLERANCE


def test_a_scan_on_the_gpu_gives_the_cpu_rows(cuda: None, tmp_path: Path, tiny_detector_path: Path,
                                              store: ResultStore) -> None:
    images.write_tree(tmp_path / "t", 40)
    (tmp_path / "t" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    on_gpu = _rows(tmp_path / "t", Detector.load(tiny_detector_path, device="cuda"), store)
    on_cpu = _rows(tmp_path / "t", Detector.load(tiny_detector_path, device="cpu"), store)
    assert on_gpu.keys() == on_cpu.keys() and len(on_gpu) == 41
    for path, row in on_gpu.items():
        twin = on_cpu[path]
        assert (row.verdict, row.error, row.model) == (twin.verdict, twin.error, twin.model)
        assert (row.score is None) == (twin.score is None)
        if row.score is not None and twin.score is not None:
            assert abs(row.score - twin.score) < TOLERANCE


def test_the_ray_engine_on_the_gpu_gives_the_local_rows(cuda: None, tmp_path: Path, tiny_detector_path: Path,
                                                        pixelpatrol_home: Path) -> None:
    ray = pytest.importorskip("ray", reason="the cluster extra (ray[data]) is not installed")
    images.write_tree(tmp_path / "t", 24)
    local, on_ray = tmp_path / "local.csv", tmp_path / "ray.csv"
    model = ["--model", str(tiny_detector_path)]
    assert main(["scan", str(tmp_path / "t"), *model, "--device", "cpu", "--no-cache", "--out", str(local), "-q"]) == 0
    ray.init(include_dashboard=False, log_to_driver=False)  # the node's own GPUs
    try:
        assert main(["scan", str(tmp_path / "t"), *model, "--device", "cuda", "--engine", "ray",
                     "--out", str(on_ray), "-q"]) == 0
    finally:
        ray.shutdown()
    expected = {r["path"]: r for r in csv.DictReader(local.open())}
    got = {r["path"]: r for r in csv.DictReader(on_ray.open())}
    assert got.keys() == expected.keys()
    for path, row in got.items():
        assert row["verdict"] == expected[path]["verdict"]
        assert abs(float(row["score"]) - float(expected[path]["score"])) < TOLERANCE
